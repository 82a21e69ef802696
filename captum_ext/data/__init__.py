"""Sentiment140 data: a loader for its three shapes and leak-free, stratified splits.

Examples::

    >>> from captum_ext.data import default_data_path, load_sentiment140, split_dataset
    >>> ds = load_sentiment140(default_data_path(), limit=500)
    >>> train, val, test = split_dataset(ds, test_size=0.1, val_size=0.1, seed=0)
    >>> len(train) + len(val) + len(test) == len(ds)
    True
"""

from captum_ext.data.examples import EXAMPLE_TWEETS
from captum_ext.data.labelled import load_dataset, load_labelled
from captum_ext.data.sentiment140 import TextDataset, default_data_path, load_sentiment140
from captum_ext.data.splits import DataSplits, split_dataset

__all__ = [
    "EXAMPLE_TWEETS",
    "DataSplits",
    "TextDataset",
    "default_data_path",
    "load_dataset",
    "load_labelled",
    "load_sentiment140",
    "split_dataset",
]
