r"""Out-of-sample predictions from models fine-tuned on folds (K-fold cross-fitting).

Confident learning (Northcutt, Jiang and Chuang, JAIR 2021) ranks training examples by the
probability a model gives their label when the model never saw them: ``pred_probs`` obtained by
K-fold cross-validated *training*. A model fine-tuned on all the data memorises part of its label
errors, and heads refitted on its features inherit that (the features saw the noisy labels); a
model fine-tuned without the tweet cannot have memorised it.

:func:`cross_fit_finetune` splits a :class:`~captum_ext.data.TextDataset` into ``n_folds``
stratified, seeded folds (identical tweets always share a fold), fine-tunes the base encoder on
the other folds with :func:`captum_ext.train.finetune` (the same recipe as ``captum-ext
finetune``), and predicts the held-out fold through :class:`captum_ext.adapters.TextClassifierAdapter`.
The fold models and their held-out predictions are cached on disk, keyed by the data
fingerprint, the settings and the fold: an interrupted run resumes (within a fold, from
``finetune``'s training checkpoint) and a rerun reads the cache without fine-tuning.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import logging
import os
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from captum_ext.errors import InputError
from captum_ext.train.checkpoint import write_json_atomic
from captum_ext.train.finetune import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_EPOCHS,
    DEFAULT_LR,
    DEFAULT_MAX_LENGTH,
    MODEL_SETTINGS,
    finetune,
)
from captum_ext.validation import check_scalar, check_seed

if TYPE_CHECKING:
    from captum_ext.data import TextDataset

__all__ = [
    "CrossFitResult",
    "cross_fit_finetune",
    "default_crossfit_cache_dir",
    "stratified_folds",
]

logger = logging.getLogger("captum_ext.influence")

DEFAULT_N_FOLDS = 4
# finetune() arguments a user may set besides the explicit ones; the rest (data, out_dir,
# n_train, seed, test/val sizes, restart, show_progress) are fixed by the cross-fitting.
_EXTRA_FINETUNE_ARGS = ("warmup_ratio", "weight_decay", "freeze_embeddings", "checkpoint_every")
# settings that change a fold model (checkpoint_every and num_threads do not)
_KEYED = MODEL_SETTINGS
_FINETUNE_DEFAULTS = {
    name: inspect.signature(finetune).parameters[name].default for name in _EXTRA_FINETUNE_ARGS
}
_FORMAT = 1


def default_crossfit_cache_dir() -> Path:
    """The user cache folder of fold models (``platformdirs``), e.g.
    ``~/.cache/captum-ext/crossfit`` on Linux."""
    import platformdirs

    return Path(platformdirs.user_cache_dir("captum-ext")) / "crossfit"


@dataclass(frozen=True)
class CrossFitResult:
    """What :func:`cross_fit_finetune` returns.

    Attributes:
        probs (np.ndarray): ``(n, C)`` out-of-sample class probabilities: row ``i`` predicted by
            the model of fold ``folds[i]``, which was fine-tuned without that fold.
        folds (np.ndarray): ``(n,)`` fold index of every row.
        model_dirs (tuple of Path): The fold models (``model_dirs[k]`` never saw fold ``k``).
        run_dir (Path): The cache folder of this data and these settings.
        settings (dict): The resolved fine-tuning settings, the seed, the folds and the
            fingerprints of the data and the base encoder (the cache key is a hash of it).
        n_finetuned (int): Fold models fine-tuned (or resumed) by this call; 0 for a cached
            rerun.
        seconds (float): Wall time of this call.
    """

    probs: np.ndarray
    folds: np.ndarray
    model_dirs: tuple[Path, ...]
    run_dir: Path
    settings: dict[str, Any] = field(repr=False)
    n_finetuned: int = 0
    seconds: float = 0.0

    def fold_rows(self, fold: int) -> np.ndarray:
        """Row indices held out from (and predicted by) the model of ``fold``."""
        return np.flatnonzero(self.folds == fold)


def stratified_folds(
    texts: list[str], labels: np.ndarray, n_folds: int, random_state: int = 0
) -> np.ndarray:
    """Fold index of every row: stratified by label, seeded, duplicates in one fold.

    Identical tweets (lower-cased, whitespace collapsed: the rule of
    :func:`captum_ext.data.split_dataset`) are one group placed by its first copy, so no tweet
    has a copy in its fold model's training data. Without duplicates the folds are those of
    ``sklearn.model_selection.StratifiedKFold(n_folds, shuffle=True, random_state=...)``.

    Args:
        texts (list of str): The rows' texts.
        labels (np.ndarray): ``(n,)`` integer labels.
        n_folds (int): Number of folds, from 2 to the smallest class's count of distinct tweets.
        random_state (int, optional): Seed of the shuffle. Default: 0

    Returns:
        np.ndarray: ``(n,)`` ints in ``[0, n_folds)``.

    Raises:
        InputError: ``n_folds`` below 2, or above the smallest class's count.

    Examples::

        >>> import numpy as np
        >>> from captum_ext.influence.crossfit import stratified_folds
        >>> folds = stratified_folds(["a", "b", "c", "d", "A"], np.array([0, 0, 1, 1, 0]), 2)
        >>> folds.tolist()[0] == folds.tolist()[4]  # "A" is a copy of "a"
        True
        >>> sorted(np.bincount(folds[:4]).tolist())
        [2, 2]
    """
    from sklearn.model_selection import StratifiedKFold

    labels = np.asarray(labels, dtype=np.int64)
    first = _first_copy_of(texts)
    groups = np.unique(first)
    group_labels = labels[groups]
    _check_n_folds(n_folds, group_labels)
    _check_seed(random_state)
    conflicts = int(np.count_nonzero(labels != labels[first]))
    if conflicts:
        logger.warning(
            "stratified_folds: %d duplicate tweets carry another label than their first copy; "
            "each stays in its first copy's fold",
            conflicts,
        )
    fold_of_group = np.empty(len(groups), dtype=np.int64)
    splitter = StratifiedKFold(n_splits=n_folds, shuffle=True, random_state=random_state)
    for k, (_, held) in enumerate(splitter.split(np.zeros(len(groups)), group_labels)):
        fold_of_group[held] = k
    return fold_of_group[np.searchsorted(groups, first)]


def cross_fit_finetune(
    dataset: TextDataset,
    *,
    n_folds: int = DEFAULT_N_FOLDS,
    random_state: int = 0,
    base: str | os.PathLike[str] | None = None,
    epochs: int = DEFAULT_EPOCHS,
    max_length: int = DEFAULT_MAX_LENGTH,
    batch_size: int = DEFAULT_BATCH_SIZE,
    lr: float = DEFAULT_LR,
    precision: str = "auto",
    num_threads: int | None = None,
    predict_batch_size: int = 64,
    cache_dir: str | os.PathLike[str] | None = None,
    show_progress: bool = True,
    **finetune_kwargs: Any,
) -> CrossFitResult:
    r"""Out-of-sample probabilities of every tweet from models fine-tuned on the other folds.

    The rows are split by :func:`stratified_folds`; for each fold ``k`` the base encoder is
    fine-tuned with a fresh head on all rows outside fold ``k`` (:func:`captum_ext.train.finetune`
    with ``n_train=None, test_size=0, val_size=0, seed=random_state``), and the rows of fold
    ``k`` are predicted by that model through :class:`captum_ext.adapters.TextClassifierAdapter` (same
    ``max_length``). The result is the ``pred_probs`` of confident learning: feed it to
    :class:`~captum_ext.influence.MislabelAudit` (``finetuned_probs=``) or to ``cleanlab``.

    Cost: ``n_folds`` fine-tunes on ``(n_folds - 1) / n_folds`` of the data each, i.e.
    ``n_folds - 1`` times the fine-tuning of the whole set, plus one pass of prediction.

    Cache: ``cache_dir / <key> / fold-<k>/`` holds fold ``k``'s model (the ``finetune`` output
    folder, with its ``metrics.json``) and ``fold-<k>.npz`` its held-out rows and
    probabilities; ``<key>`` is a hash of ``settings`` (data and base-encoder fingerprints,
    resolved fine-tuning settings, ``n_folds``, ``random_state``). A fold interrupted while
    fine-tuning continues from its last training checkpoint; finished folds are read back.
    One run at a time per cache folder.

    Args:
        dataset (TextDataset): The labelled tweets (noisy labels included): every row gets a
            prediction.
        n_folds (int, optional): Folds ``K``, from 2 to the smallest class's count of distinct
            tweets. Default: 4
        random_state (int, optional): Seeds the folds and each fine-tuning (head, data order,
            dropout). Default: 0
        base (str or Path, optional): The encoder to fine-tune, a local checkpoint directory.
            It must not be a model fine-tuned on these labels (it would have seen the held-out
            folds): a folder with a ``captum-ext finetune`` ``metrics.json`` is refused.
            Default: None, :func:`captum_ext.adapters.loading.base_encoder_dir` (MiniLM-L6).
        epochs (int, optional): Passes over the training folds. Default: 1
        max_length (int, optional): Word-pieces per tweet, in fine-tuning and prediction.
            Default: 48
        batch_size (int, optional): Tweets per optimizer step. Default: 32
        lr (float, optional): Peak learning rate. Default: 1e-4
        precision (str, optional): ``"auto"``, ``"fp32"`` or ``"bf16"`` (see ``finetune``).
            Default: ``"auto"``
        num_threads (int, optional): torch threads during the call (restored after); None keeps
            torch's setting. Default: None
        predict_batch_size (int, optional): Tweets per forward pass when predicting the
            held-out folds. Default: 64
        cache_dir (str or Path, optional): Root folder of the fold models. Default: None,
            :func:`default_crossfit_cache_dir`.
        show_progress (bool, optional): Progress bars (folds, fine-tuning, prediction).
            Default: True
        **finetune_kwargs: ``warmup_ratio``, ``weight_decay``, ``freeze_embeddings`` or
            ``checkpoint_every``, passed to ``finetune`` (its defaults otherwise).

    Returns:
        CrossFitResult: ``probs`` ``(n, C)``, ``folds``, ``model_dirs``, ``settings``, ...

    Raises:
        InputError: ``dataset`` is not a TextDataset or is empty, ``n_folds`` is not in
            ``[2, smallest class count]``, a fine-tuning setting is out of range or unknown,
            ``base`` is an already fine-tuned model, or ``cache_dir`` is a file.
        ModelLoadError: The base encoder cannot be loaded.

    Examples::

        >>> from captum_ext.data import default_data_path, load_sentiment140
        >>> from captum_ext.influence import cross_fit_finetune
        >>> train = load_sentiment140(default_data_path()).sample(2000, seed=0)
        >>> result = cross_fit_finetune(train, n_folds=2, max_length=32)  # doctest: +SKIP
        >>> result.probs.shape  # doctest: +SKIP
        (2000, 2)
        >>> # each row predicted by the model that did not see its fold
        >>> bool((result.folds[result.fold_rows(0)] == 0).all())  # doctest: +SKIP
        True
    """
    import torch
    from tqdm.auto import tqdm

    from captum_ext.data import TextDataset
    from captum_ext.train.finetune import (
        checkpoint_fingerprint,
        resolve_precision,
        validate_settings,
    )

    t_start = time.perf_counter()
    if not isinstance(dataset, TextDataset):
        raise InputError(
            f"dataset must be a captum_ext.data.TextDataset, got {type(dataset).__name__}; "
            "build one with TextDataset(texts, labels) or load_sentiment140(path)."
        )
    if len(dataset) == 0:
        raise InputError("dataset is empty: cross-fitting needs labelled tweets.")
    unknown = sorted(set(finetune_kwargs) - set(_EXTRA_FINETUNE_ARGS))
    if unknown:
        raise InputError(
            f"unknown fine-tuning setting(s) {', '.join(unknown)}; accepted besides the named "
            f"arguments: {', '.join(_EXTRA_FINETUNE_ARGS)}."
        )
    _check_int("predict_batch_size", predict_batch_size)
    extra = {
        name: finetune_kwargs.get(name, _FINETUNE_DEFAULTS[name]) for name in _EXTRA_FINETUNE_ARGS
    }
    validate_settings(
        n_train=None,
        epochs=epochs,
        max_length=max_length,
        batch_size=batch_size,
        lr=lr,
        warmup_ratio=extra["warmup_ratio"],
        weight_decay=extra["weight_decay"],
        precision=precision,
        num_threads=num_threads,
        checkpoint_every=extra["checkpoint_every"],
    )
    folds = stratified_folds(dataset.texts, dataset.labels, n_folds, random_state)
    base_dir = _base_dir(base)
    resolved = {
        "epochs": epochs,
        "max_length": max_length,
        "batch_size": batch_size,
        "lr": lr,
        "warmup_ratio": extra["warmup_ratio"],
        "weight_decay": extra["weight_decay"],
        "freeze_embeddings": bool(extra["freeze_embeddings"]),
        "precision": resolve_precision(precision),
    }
    settings: dict[str, Any] = {
        "format": _FORMAT,
        "data_fingerprint": dataset.fingerprint,
        "label_names": list(dataset.label_names),
        "n": len(dataset),
        "n_folds": n_folds,
        "random_state": random_state,
        "base_model": str(base_dir),
        "base_fingerprint": checkpoint_fingerprint(base_dir),
        "finetune": {k: resolved[k] for k in _KEYED},
    }
    key = hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:16]
    root = default_crossfit_cache_dir() if cache_dir is None else Path(cache_dir).expanduser()
    if root.exists() and not root.is_dir():
        raise InputError(f"cache_dir {root} is a file: pass a folder (it is created if missing).")
    run_dir = root.absolute() / key
    run_dir.mkdir(parents=True, exist_ok=True)
    write_json_atomic(run_dir / "settings.json", settings)

    n = len(dataset)
    probs = np.full((n, len(dataset.label_names)), np.nan)
    model_dirs = tuple(run_dir / f"fold-{k}" for k in range(n_folds))
    n_finetuned = 0
    old_threads = torch.get_num_threads()
    if num_threads is not None:
        torch.set_num_threads(num_threads)
    try:
        for k in tqdm(range(n_folds), desc="cross-fitting", unit="fold", disable=not show_progress):
            held = np.flatnonzero(folds == k)
            cached = _read_fold(run_dir / f"fold-{k}.npz", held)
            if cached is None:
                if not _finished(model_dirs[k]):
                    logger.info("fine-tuning fold %d of %d (%s)", k + 1, n_folds, model_dirs[k])
                    finetune(
                        dataset.subset(np.flatnonzero(folds != k)),
                        model_dirs[k],
                        n_train=None,
                        seed=random_state,
                        base=base_dir,
                        test_size=0,
                        val_size=0,
                        num_threads=num_threads,
                        show_progress=show_progress,
                        **{name: resolved[name] for name in _KEYED},
                        checkpoint_every=extra["checkpoint_every"],
                    )
                    n_finetuned += 1
                cached = _predict_fold(
                    model_dirs[k], [dataset.texts[i] for i in held], max_length,
                    predict_batch_size, show_progress,
                )  # fmt: skip
                _write_fold(run_dir / f"fold-{k}.npz", held, cached)
            probs[held] = cached
    finally:
        torch.set_num_threads(old_threads)
    return CrossFitResult(
        probs=probs,
        folds=folds,
        model_dirs=model_dirs,
        run_dir=run_dir,
        settings=settings,
        n_finetuned=n_finetuned,
        seconds=time.perf_counter() - t_start,
    )


# -- helpers ------------------------------------------------------------------------------------


def _first_copy_of(texts: list[str]) -> np.ndarray:
    """Index of the first copy of each row's tweet (the duplicate rule of ``split_dataset``)."""
    first: dict[str, int] = {}
    return np.fromiter(
        (first.setdefault(" ".join(t.lower().split()), i) for i, t in enumerate(texts)),
        dtype=np.int64,
        count=len(texts),
    )


def _check_int(name: str, value: Any, low: int = 1) -> None:
    check_scalar(value, name, int, min_val=low)


def _check_seed(random_state: Any) -> None:
    check_seed(random_state)


def _check_n_folds(n_folds: Any, group_labels: np.ndarray) -> None:
    counts = np.bincount(group_labels)
    smallest = int(counts[counts > 0].min()) if counts.size else 0
    check_scalar(
        n_folds,
        "n_folds",
        int,
        min_val=2,
        hint="(each tweet is predicted by a model trained on the other folds)",
    )
    if int(n_folds) > smallest:
        raise InputError(
            f"n_folds={n_folds} is larger than the smallest class ({smallest} distinct tweets): "
            "every fold needs a tweet of every class; use fewer folds or more data."
        )


def _base_dir(base: str | os.PathLike[str] | None) -> Path:
    from captum_ext.adapters.loading import base_encoder_dir
    from captum_ext.train.finetune import METRICS_FILE, read_metrics

    folder = (base_encoder_dir() if base is None else Path(base).expanduser()).absolute()
    if read_metrics(folder / METRICS_FILE) is not None:
        raise InputError(
            f"base {folder} is a model fine-tuned by captum-ext finetune: its weights saw the "
            "labels of every fold, so its predictions would not be out of sample. Pass the "
            "encoder it started from (its metrics.json names it under base_model.path), or "
            "None for the default MiniLM-L6 encoder."
        )
    return folder


def _finished(model_dir: Path) -> bool:
    from captum_ext.train.finetune import CHECKPOINT_DIR, METRICS_FILE, read_metrics

    return (
        read_metrics(model_dir / METRICS_FILE) is not None
        and not (model_dir / CHECKPOINT_DIR).exists()
    )


def _predict_fold(
    model_dir: Path, texts: list[str], max_length: int, batch_size: int, show_progress: bool
) -> np.ndarray:
    from captum_ext.adapters import TextClassifierAdapter

    adapter = TextClassifierAdapter.from_pretrained(
        model_dir, max_length=max_length, batch_size=batch_size
    )
    return adapter.predict_proba(texts, show_progress=show_progress)


def _read_fold(path: Path, rows: np.ndarray) -> np.ndarray | None:
    """The cached held-out probabilities of a fold, or None if absent or for other rows."""
    try:
        with np.load(path) as z:
            if np.array_equal(z["rows"], rows) and z["probs"].shape[0] == len(rows):
                return np.asarray(z["probs"], dtype=np.float64)
    except (OSError, KeyError, ValueError):
        return None
    logger.warning("%s holds predictions for other rows: predicting the fold again", path)
    return None


def _write_fold(path: Path, rows: np.ndarray, probs: np.ndarray) -> None:
    tmp = path.with_name(f".{path.stem}.{uuid.uuid4().hex[:8]}.tmp.npz")
    np.savez(tmp, rows=rows, probs=probs)
    os.replace(tmp, path)
