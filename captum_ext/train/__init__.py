"""Fine-tuning: turn a BERT encoder into a sentiment classifier on CPU, resumably.

Examples::

    >>> from captum_ext.train import finetune
    >>> result = finetune(None, "runs/model", n_train=200, max_length=32)  # doctest: +SKIP
    >>> result.metrics["sizes"]["train"]  # doctest: +SKIP
    200
"""

from captum_ext.train.checkpoint import CheckpointError
from captum_ext.train.finetune import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_EPOCHS,
    DEFAULT_LR,
    DEFAULT_MAX_LENGTH,
    DEFAULT_N_TRAIN,
    DEFAULT_TEST_SIZE,
    FinetuneResult,
    finetune,
    model_splits,
)

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "DEFAULT_EPOCHS",
    "DEFAULT_LR",
    "DEFAULT_MAX_LENGTH",
    "DEFAULT_N_TRAIN",
    "DEFAULT_TEST_SIZE",
    "CheckpointError",
    "FinetuneResult",
    "finetune",
    "model_splits",
]
