"""Similarity of two explanations of the same text (the randomisation checks' measure)."""

from __future__ import annotations

import functools
import itertools
import math
from typing import Any

import numpy as np
from scipy import stats

__all__ = ["chance_abs_spearman", "chance_corrected_abs", "importance_spearman"]


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


@functools.cache
def chance_abs_spearman(n: int) -> float:
    """E|ρ| of Spearman's ρ between two unrelated rankings of ``n`` items (no ties): exact over
    every permutation up to 8 items, the normal approximation √(2 / (π (n − 1))) beyond
    (ρ is approximately N(0, 1/(n − 1)) under independence).

    Examples::

        >>> round(chance_abs_spearman(3), 4)  # ρ in {1, .5, .5, -.5, -.5, -1}
        0.6667
        >>> round(chance_abs_spearman(30), 3)
        0.148
    """
    if n < 2:
        return float("nan")
    if n <= 8:
        base = np.arange(n, dtype=np.float64)
        denom = n * (n * n - 1)
        total = 0.0
        count = 0
        for perm in itertools.permutations(range(n)):
            d = base - np.asarray(perm, dtype=np.float64)
            total += abs(1.0 - 6.0 * float(np.dot(d, d)) / denom)
            count += 1
        return total / count
    return math.sqrt(2.0 / (math.pi * (n - 1)))


def chance_corrected_abs(rho: float, n: int) -> float:
    """``|ρ|`` rescaled so that 0 is the similarity of two unrelated rankings of ``n`` words
    (:func:`chance_abs_spearman`) and 1 is identical (or exactly reversed) rankings; ``nan`` below
    3 words, where rankings cannot be told from chance.

    Examples::

        >>> chance_corrected_abs(1.0, 5), chance_corrected_abs(float("nan"), 5)
        (1.0, nan)
        >>> round(chance_corrected_abs(chance_abs_spearman(12), 12), 6)
        0.0
    """
    if n < 3 or not np.isfinite(rho):
        return float("nan")
    c = chance_abs_spearman(n)
    return float((abs(rho) - c) / (1.0 - c))
