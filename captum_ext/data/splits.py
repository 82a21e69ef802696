"""Deterministic, stratified, leak-free train/validation/test splits of a :class:`TextDataset`.

Identical tweets (compared case- and whitespace-insensitively, as the uncased model sees them) are
reduced to their first copy before splitting, so no test tweet is also a training tweet.
"""

from __future__ import annotations

import logging
import math
import numbers
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from captum_ext.errors import InputError

if TYPE_CHECKING:
    from captum_ext.data.sentiment140 import TextDataset

__all__ = ["DataSplits", "split_dataset"]

logger = logging.getLogger("captum_ext.data")


@dataclass(frozen=True)
class DataSplits:
    """The three disjoint parts of a dataset returned by :func:`split_dataset`.

    Unpacks as ``train, val, test = split_dataset(ds)``.
    """

    train: TextDataset
    val: TextDataset
    test: TextDataset

    def __iter__(self) -> Iterator[TextDataset]:
        return iter((self.train, self.val, self.test))

    def __repr__(self) -> str:
        return (
            f"DataSplits(train={len(self.train)}, val={len(self.val)}, test={len(self.test)}, "
            f"source={self.train.source!r})"
        )


def split_dataset(
    ds: TextDataset,
    *,
    test_size: float | int = 0.1,
    val_size: float | int = 0.1,
    seed: int = 0,
) -> DataSplits:
    r"""Split ``ds`` into train, validation and test parts, stratified by label.

    Duplicate tweets (same text after lower-casing and collapsing whitespace) are dropped first,
    keeping the first copy, so the parts never share a tweet. Each label contributes to the
    validation and test parts in proportion to its frequency (largest-remainder rounding, so the
    part sizes are exact). The rows of every part come in a seeded random order.

    Args:
        ds (TextDataset): The dataset to split, e.g. from :func:`load_sentiment140`.
        test_size (float or int, optional): A fraction in ``[0, 1)`` of the (de-duplicated) rows,
            rounded up, or an absolute number of rows. Default: 0.1
        val_size (float or int, optional): Same as ``test_size`` for the validation part;
            ``0`` gives an empty validation part. Default: 0.1
        seed (int, optional): Seed of the shuffles; the same seed gives the same parts.
            Default: 0

    Returns:
        DataSplits: ``train``, ``val`` and ``test`` datasets with their own fingerprints.

    Raises:
        InputError: A size that is negative, not a number, a fraction ``>= 1``, a count larger
            than the dataset, or sizes that leave no training rows.

    Examples::

        >>> from captum_ext.data import TextDataset, split_dataset
        >>> ds = TextDataset([f"tweet {i}" for i in range(20)], [i % 2 for i in range(20)],
        ...                  ("negative", "positive"))
        >>> train, val, test = split_dataset(ds, test_size=0.2, val_size=2, seed=0)
        >>> len(train), len(val), len(test)
        (14, 2, 4)
        >>> sorted(test.labels.tolist())
        [0, 0, 1, 1]
    """
    keep, n_dropped, n_conflicts = _first_copies(ds.texts, ds.labels)
    if n_dropped:
        logger.warning(
            "split_dataset: dropped %d duplicate tweets before splitting "
            "(%d with a conflicting label; the first copy was kept)",
            n_dropped,
            n_conflicts,
        )
    n = len(keep)
    n_test = _resolve_size(test_size, n, "test_size")
    n_val = _resolve_size(val_size, n, "val_size")
    if n_test + n_val >= n:
        raise InputError(
            f"test_size={test_size!r} and val_size={val_size!r} take {n_test} + {n_val} of the "
            f"{n} distinct rows and leave no training rows; use smaller sizes."
        )

    rng = np.random.default_rng(seed)
    kept_labels = ds.labels[keep]
    classes = np.unique(kept_labels)
    by_class = [rng.permutation(keep[kept_labels == c]) for c in classes]
    sizes = [len(idx) for idx in by_class]
    test_counts = _proportional_counts(sizes, n_test)
    val_counts = _proportional_counts(
        [s - t for s, t in zip(sizes, test_counts, strict=True)], n_val
    )

    parts: dict[str, list[np.ndarray]] = {"train": [], "val": [], "test": []}
    for idx, t, v in zip(by_class, test_counts, val_counts, strict=True):
        parts["test"].append(idx[:t])
        parts["val"].append(idx[t : t + v])
        parts["train"].append(idx[t + v :])
    out = {}
    for name in ("train", "val", "test"):
        merged = np.concatenate(parts[name]) if parts[name] else np.empty(0, dtype=np.int64)
        out[name] = ds.subset(rng.permutation(merged))
    logger.info(
        "split %d rows (seed %d) into train %d, val %d, test %d",
        n,
        seed,
        len(out["train"]),
        len(out["val"]),
        len(out["test"]),
    )
    return DataSplits(train=out["train"], val=out["val"], test=out["test"])


def _first_copies(texts: Sequence[str], labels: np.ndarray) -> tuple[np.ndarray, int, int]:
    """Indices of the first copy of every distinct tweet, in order.

    Tweets are compared lower-cased with whitespace runs collapsed (``" ".join(t.lower().split())``),
    as the uncased model and its tokenizer see them.

    Returns:
        (keep, n_dropped, n_conflicts): ``n_conflicts`` counts dropped copies whose label differs
        from the kept copy's label.
    """
    keys = [" ".join(text.lower().split()) for text in texts]
    # reversed, so each key ends up mapped to the index of its first copy
    first_of_key = {
        key: i for i, key in zip(range(len(keys) - 1, -1, -1), reversed(keys), strict=True)
    }
    keep = np.sort(np.fromiter(first_of_key.values(), dtype=np.int64, count=len(first_of_key)))
    first = np.fromiter((first_of_key[key] for key in keys), dtype=np.int64, count=len(keys))
    labels = np.asarray(labels)
    dropped = first != np.arange(len(keys))
    n_conflicts = int(np.count_nonzero(labels[first[dropped]] != labels[dropped]))
    return keep, len(keys) - len(keep), n_conflicts


def _proportional_counts(sizes: Sequence[int], total: int) -> list[int]:
    """Split ``total`` over groups in proportion to ``sizes`` (largest remainder, exact sum).

    Ties in the remainder go to the earlier group, so the result is deterministic.
    """
    n = sum(sizes)
    if n == 0:
        return [0 for _ in sizes]
    floors = [total * s // n for s in sizes]
    rests = [total * s % n for s in sizes]
    order = sorted(range(len(sizes)), key=lambda i: (-rests[i], i))
    for i in order[: total - sum(floors)]:
        floors[i] += 1
    return floors


def _balanced_counts(sizes: Sequence[int], total: int) -> list[int]:
    """Split ``total`` as evenly as possible over the non-empty groups, capped by their sizes.

    A group smaller than its share gives all it has and the rest is spread over the others;
    odd rows go to the smaller groups first (ties: earlier group).
    """
    counts = [0 for _ in sizes]
    active = sorted((i for i, s in enumerate(sizes) if s > 0), key=lambda i: (sizes[i], i))
    remaining = total
    for pos, i in enumerate(active):
        share = -(-remaining // (len(active) - pos))  # ceil
        counts[i] = min(sizes[i], share)
        remaining -= counts[i]
    return counts


def _resolve_size(value: float | int, n: int, name: str) -> int:
    accepted = f"a fraction in [0, 1) or a number of rows in [0, {n}]"
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InputError(f"{name} must be {accepted}, got {value!r}.")
    if isinstance(value, numbers.Integral):
        count = int(value)
        if not 0 <= count <= n:
            raise InputError(f"{name} must be {accepted}, got {count}.")
        return count
    fraction = float(value)
    if not 0.0 <= fraction < 1.0:
        hint = (
            f" (for a number of rows pass an int: {name}={int(fraction)})" if fraction >= 1 else ""
        )
        raise InputError(f"{name} must be {accepted}, got {fraction!r}{hint}.")
    # round first so 0.1 * 100 = 10.000000000000002 does not become 11
    return math.ceil(round(fraction * n, 9))
