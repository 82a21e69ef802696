"""Similarity of two explanations of the same text (the randomisation checks' measure)."""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import stats

__all__ = ["importance_spearman"]


def importance_spearman(a: Any, b: Any) -> float:
    """Spearman's ρ between two :class:`WordAttribution` s' importance over the words both saw
    (``nan`` when either is constant or fewer than 2 words); scipy.stats.spearmanr.

    Examples::

        >>> from captum_ext.result import WordAttribution
        >>> def wa(s):
        ...     return WordAttribution(text="a b c", words=list("abc"),
        ...         spans=[(0, 1), (2, 3), (4, 5)], scores=s, target=0, labels=("x", "y"),
        ...         probs=[0.5, 0.5], method="m")
        >>> importance_spearman(wa([1, 2, 3]), wa([3, 2, 1]))
        -1.0
    """
    if len(a.words) != len(b.words):
        return float("nan")
    seen = np.intersect1d(a.seen_words(), b.seen_words())
    if seen.size < 2:
        return float("nan")
    x, y = a.importance()[seen], b.importance()[seen]
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))) or np.ptp(x) == 0 or np.ptp(y) == 0:
        return float("nan")
    return float(stats.spearmanr(x, y).statistic)
