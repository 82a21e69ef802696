"""Private: labelled tweets the model did not see while it was fine-tuned.

Head importance, pruning curves and probes are measured on held-out tweets. A checkpoint written
by ``captum-ext finetune`` records its split (seed, test size, number of training tweets and the
training set's fingerprint) in ``metrics.json``; the training tweets are rebuilt from it exactly
(the fingerprint is checked) and left out. For other checkpoints nothing is known and all tweets
are used (said in the returned note).
"""

from __future__ import annotations

import json
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
    data: str | os.PathLike | None, model_dir: str | os.PathLike | None
) -> tuple[Any, str]:
    """``(dataset without the model's training tweets, note)``."""
    from captum_ext.adapters.loading import default_model_dir
    from captum_ext.data import default_data_path, load_sentiment140, split_dataset

    ds = load_sentiment140(default_data_path() if data is None else data)
    mdir = Path(model_dir) if model_dir is not None else default_model_dir()
    metrics_path = mdir / "metrics.json"
    if not metrics_path.is_file():
        return ds, f"no {metrics_path}: the model's training tweets are unknown, none left out"
    try:
        m = json.loads(metrics_path.read_text(encoding="utf-8"))
        hp = m["hyperparameters"]
        seed = int(m["seed"])
        want = m["data"]["train_fingerprint"]
        if m["data"].get("fingerprint") not in (None, ds.fingerprint):
            return ds, "the model was fine-tuned on other data: no tweets left out"
        splits = split_dataset(ds, test_size=hp["test_size"], val_size=hp["val_size"], seed=seed)
        n_train = hp.get("n_train")
        pool = splits.train
        train = pool if n_train is None or n_train >= len(pool) else pool.sample(n_train, seed=seed)
    except (KeyError, TypeError, ValueError) as e:
        return ds, f"could not rebuild the training split from {metrics_path} ({e}): none left out"
    if train.fingerprint != want:
        return ds, "the rebuilt training split does not match metrics.json: none left out"
    seen = {_key(t) for t in train.texts}
    keep = np.array([_key(t) not in seen for t in ds.texts])
    note = f"left out the model's {len(train)} training tweets ({int(keep.sum())} remain)"
    return ds.subset(keep), note
