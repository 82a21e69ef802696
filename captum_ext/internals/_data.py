"""Private: labelled tweets the model did not see while it was fine-tuned.

Head importance, pruning curves and probes are measured on held-out tweets. A checkpoint written
by ``captum-ext finetune`` records its split (seed, test size, number of training tweets and the
training set's fingerprint) in ``metrics.json``; the training tweets are rebuilt from it exactly
(the fingerprint is checked) and left out. For other checkpoints nothing is known and all tweets
are used (said in the returned note).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import numpy as np

__all__: list[str] = []  # private module

logger = logging.getLogger("captum_ext.internals")


def _key(text: str) -> str:
    return " ".join(text.lower().split())


def held_out_dataset(
    data: str | os.PathLike | None,
    model_dir: str | os.PathLike | None,
    label_model: Any,
) -> tuple[Any, str]:
    """``(dataset without the model's training tweets, note)``, with the data's own label order
    (sample it, then ``label_model.align``); every label maps onto a class of the model
    (``label_model``: :class:`~captum_ext.labels.LabelModel`; neutral rows kept when the model
    has a neutral class)."""
    from captum_ext.adapters.loading import default_model_dir
    from captum_ext.data import default_data_path
    from captum_ext.errors import InputError
    from captum_ext.labels import load_for_model
    from captum_ext.train import model_splits

    ds = load_for_model(default_data_path() if data is None else data, label_model, align=False)
    mdir = Path(model_dir) if model_dir is not None else default_model_dir()
    metrics_path = mdir / "metrics.json"
    if not metrics_path.is_file():
        return ds, f"no {metrics_path}: the model's training tweets are unknown, none left out"
    try:
        train, _ = model_splits(mdir)
    except InputError as e:
        return ds, f"could not rebuild the model's training split ({e}): none left out"
    seen = {_key(t) for t in train.texts}
    keep = np.array([_key(t) not in seen for t in ds.texts], dtype=bool)
    note = f"left out the model's {len(train)} training tweets ({int(keep.sum())} remain)"
    return ds.subset(keep), note
