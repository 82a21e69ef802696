r"""Agreement between two explanations of the same text: pure functions, arrays in, numbers out.

Every function takes two score vectors ``a`` and ``b`` over the same words (one score per word,
higher = more important) and returns a float.

Conventions (the same for every function here):

* **What is ranked.** The functions rank the values they are given, highest first. Metrics from
  Krishna et al. (2022) take ``by="abs"`` (default, the paper's convention: importance is the
  magnitude of a score, its direction is checked separately by the sign metrics) or
  ``by="value"`` (rank the signed values: "pushes most towards the target class" first; this is
  :meth:`captum_ext.result.WordAttribution.ranking` for signed methods). The correlations
  (:func:`kendall_tau_b`, :func:`spearman_rho`) use the values as given: pass magnitudes if you want
  magnitudes compared.
* **Ties.** Kendall's τ-b and Spearman's ρ correct for ties exactly as ``scipy.stats.kendalltau``
  (``variant="b"``) and ``scipy.stats.spearmanr`` (average ranks) do. Top-k sets and rankings
  (feature, rank, sign, signed-rank agreement and rank-biased overlap) break ties by word order
  (a stable sort, as ``WordAttribution.ranking()`` does). Pairwise rank agreement compares the
  sign of ``a[i] - a[j]`` with that of ``b[i] - b[j]``: a pair tied in both agrees, a pair tied in
  one only disagrees.
* **Degenerate input.** A correlation is undefined (``nan``) when either vector is constant or has
  fewer than 2 entries. ``k`` larger than the number of words is clipped to it (a 3-word text is
  compared on all 3 words).

References:
    Krishna et al. 2022, "The Disagreement Problem in Explainable Machine Learning: A Practitioner's
    Perspective", https://arxiv.org/abs/2202.01602 (feature, rank, sign, signed-rank and pairwise
    rank agreement, rank correlation). Webber, Moffat and Zobel 2010, "A Similarity Measure for
    Indefinite Rankings", ACM TOIS 28(4) (rank-biased overlap).

Examples::

    >>> import numpy as np
    >>> from captum_ext.metrics.agreement import kendall_tau_b, feature_agreement
    >>> a = np.array([0.9, 0.1, -0.5, 0.0])
    >>> b = np.array([0.8, 0.2, -0.4, 0.05])
    >>> round(kendall_tau_b(a, b), 3)
    1.0
    >>> feature_agreement(a, b, k=2)  # top-2 by magnitude: {0, 2} in both
    1.0
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
from scipy import stats

from captum_ext.errors import InputError
from captum_ext.validation import check_scalar

__all__ = [
    "RankBy",
    "agreement_scores",
    "feature_agreement",
    "kendall_tau_b",
    "pairwise_rank_agreement",
    "rank_agreement",
    "rank_biased_overlap",
    "rank_correlation",
    "rankdata_average",
    "sign_agreement",
    "signed_rank_agreement",
    "spearman_rho",
    "top_k",
]

RankBy = Literal["abs", "value"]

ArrayLike = Sequence[float] | np.ndarray


def _pair(a: ArrayLike, b: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(a, dtype=np.float64).reshape(-1)
    y = np.asarray(b, dtype=np.float64).reshape(-1)
    if x.shape != y.shape:
        raise InputError(
            f"a and b must score the same words: got {x.shape[0]} and {y.shape[0]} scores."
        )
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        raise InputError("a and b must be finite: got nan or inf scores.")
    return x, y


def _key(x: np.ndarray, by: RankBy) -> np.ndarray:
    if by == "abs":
        return np.abs(x)
    if by == "value":
        return x
    raise InputError(f"by must be 'abs' or 'value', got {by!r}.")


def _check_k(k: int, n: int) -> int:
    return int(min(check_scalar(k, "k", int, min_val=1), n))


def rankdata_average(x: ArrayLike) -> np.ndarray:
    """Ranks 1..n of ``x`` in increasing order, tied values sharing their average rank.

    ``scipy.stats.rankdata(x, method="average")``.

    Examples::

        >>> rankdata_average([10.0, 30.0, 20.0, 20.0])
        array([1. , 4. , 2.5, 2.5])
    """
    return np.asarray(stats.rankdata(np.asarray(x, dtype=np.float64).reshape(-1)), dtype=np.float64)


def kendall_tau_b(a: ArrayLike, b: ArrayLike) -> float:
    r"""Kendall's τ-b between two score vectors (ties corrected).

    :math:`\tau_b = (n_c - n_d) / \sqrt{(n_0 - n_1)(n_0 - n_2)}` with :math:`n_c, n_d` the
    concordant and discordant pairs, :math:`n_0 = n(n-1)/2` and :math:`n_1, n_2` the pairs tied in
    ``a`` and in ``b``: ``scipy.stats.kendalltau(a, b, variant="b").statistic``.

    Args:
        a (array-like): scores of the words by one method.
        b (array-like): scores of the same words by another method.

    Returns:
        float: in [-1, 1]; 1 for the same order, -1 for the reversed order; ``nan`` if either
        vector is constant or has fewer than 2 entries.

    Examples::

        >>> kendall_tau_b([1, 2, 3, 4], [1, 2, 3, 4]), kendall_tau_b([1, 2, 3, 4], [4, 3, 2, 1])
        (1.0, -1.0)
        >>> round(kendall_tau_b([1, 2, 2, 3], [1, 2, 3, 3]), 4)
        0.8
    """
    x, y = _pair(a, b)
    if _degenerate(x, y):
        return float("nan")
    tau = float(stats.kendalltau(x, y, variant="b").statistic)
    # scipy divides by two square roots: a fully (dis)concordant pair of rankings gives
    # ±(1 - 2⁻⁵³); τ-b is ±1 exactly there (n_c - n_d = ±(n_0 - n_1) = ±(n_0 - n_2))
    return float(np.clip(np.sign(tau) if abs(abs(tau) - 1.0) < 1e-12 else tau, -1.0, 1.0))


def spearman_rho(a: ArrayLike, b: ArrayLike) -> float:
    """Spearman's ρ: the Pearson correlation of the average ranks (ties share their mean rank).

    ``scipy.stats.spearmanr(a, b).statistic``.

    Args:
        a (array-like): scores of the words by one method.
        b (array-like): scores of the same words by another method.

    Returns:
        float: in [-1, 1]; ``nan`` if either vector is constant or has fewer than 2 entries.

    Examples::

        >>> spearman_rho([0.1, 0.5, 0.9], [1, 2, 3]), spearman_rho([0.1, 0.5, 0.9], [3, 2, 1])
        (1.0, -1.0)
    """
    x, y = _pair(a, b)
    if _degenerate(x, y):
        return float("nan")
    return float(np.clip(stats.spearmanr(x, y).statistic, -1.0, 1.0))


def _degenerate(x: np.ndarray, y: np.ndarray) -> bool:
    """Fewer than 2 entries or a constant vector: the correlation is undefined (``nan``), returned
    without scipy's ``ConstantInputWarning``."""
    return x.shape[0] < 2 or bool(np.ptp(x) == 0) or bool(np.ptp(y) == 0)


def top_k(scores: ArrayLike, k: int, by: RankBy = "abs") -> np.ndarray:
    """Indices of the ``k`` most important words, most important first (ties: word order).

    Args:
        scores (array-like): one score per word.
        k (int): how many (clipped to the number of words).
        by (str, optional): ``"abs"`` ranks by magnitude, ``"value"`` by signed value.
            Default: ``"abs"``

    Returns:
        np.ndarray: ``min(k, n)`` word indices.

    Examples::

        >>> top_k([0.1, -0.9, 0.5], 2)
        array([1, 2])
        >>> top_k([0.1, -0.9, 0.5], 2, by="value")
        array([2, 0])
    """
    x = np.asarray(scores, dtype=np.float64).reshape(-1)
    k = _check_k(k, x.shape[0])
    return np.argsort(-_key(x, by), kind="stable")[:k]


def feature_agreement(a: ArrayLike, b: ArrayLike, k: int, by: RankBy = "abs") -> float:
    """Feature agreement at k (Krishna et al. 2022): the share of top-k words the two have in common.

    ``|top_k(a) ∩ top_k(b)| / k``.

    Examples::

        >>> feature_agreement([4, 3, 2, 1], [3, 4, 1, 2], k=2)
        1.0
        >>> feature_agreement([4, 3, 2, 1], [1, 2, 3, 4], k=2)
        0.0
    """
    x, y = _pair(a, b)
    k = _check_k(k, x.shape[0])
    return len(set(top_k(x, k, by).tolist()) & set(top_k(y, k, by).tolist())) / k


def rank_agreement(a: ArrayLike, b: ArrayLike, k: int, by: RankBy = "abs") -> float:
    """Rank agreement at k (Krishna et al. 2022): the share of positions 1..k holding the same word.

    Examples::

        >>> rank_agreement([4, 3, 2, 1], [4, 2, 3, 1], k=3)  # position 1 agrees only
        0.3333333333333333
    """
    x, y = _pair(a, b)
    k = _check_k(k, x.shape[0])
    return float(np.mean(top_k(x, k, by) == top_k(y, k, by)))


def sign_agreement(a: ArrayLike, b: ArrayLike, k: int, by: RankBy = "abs") -> float:
    """Sign agreement at k (Krishna et al. 2022): top-k words common to both and of the same sign, / k.

    The sign of a zero score is 0 (agrees only with another 0).

    Examples::

        >>> sign_agreement([0.9, -0.8, 0.1], [0.7, 0.6, 0.0], k=2)  # word 1 flips sign
        0.5
    """
    x, y = _pair(a, b)
    k = _check_k(k, x.shape[0])
    common = set(top_k(x, k, by).tolist()) & set(top_k(y, k, by).tolist())
    return sum(1 for i in common if np.sign(x[i]) == np.sign(y[i])) / k


def signed_rank_agreement(a: ArrayLike, b: ArrayLike, k: int, by: RankBy = "abs") -> float:
    """Signed rank agreement at k (Krishna et al. 2022): same word at the same position with the same
    sign, as a share of the k positions.

    Examples::

        >>> signed_rank_agreement([0.9, -0.8, 0.1], [0.95, 0.6, 0.0], k=2)
        0.5
    """
    x, y = _pair(a, b)
    k = _check_k(k, x.shape[0])
    ta, tb = top_k(x, k, by), top_k(y, k, by)
    same = (ta == tb) & (np.sign(x[ta]) == np.sign(y[tb]))
    return float(np.mean(same))


def _features(features: Sequence[int] | np.ndarray | None, n: int) -> np.ndarray:
    if features is None:
        return np.arange(n)
    f = np.unique(np.asarray(features, dtype=np.int64).reshape(-1))
    if f.size and (f.min() < 0 or f.max() >= n):
        raise InputError(f"features must be word indices in [0, {n - 1}], got {f.tolist()}.")
    return f


def pairwise_rank_agreement(
    a: ArrayLike,
    b: ArrayLike,
    features: Sequence[int] | np.ndarray | None = None,
    by: RankBy = "abs",
) -> float:
    """Pairwise rank agreement (Krishna et al. 2022): the share of word pairs ordered alike.

    Over every pair ``i < j`` of ``features``, compares the sign of ``key(a)[i] - key(a)[j]`` with
    that of ``key(b)[i] - key(b)[j]`` (a pair tied in both agrees; tied in one only, disagrees).

    Args:
        a, b (array-like): scores of the same words.
        features (sequence of int, optional): the words of interest. Default: all words.
        by (str, optional): ``"abs"`` or ``"value"``. Default: ``"abs"``

    Returns:
        float: in [0, 1]; ``nan`` with fewer than 2 features.

    Examples::

        >>> pairwise_rank_agreement([3, 2, 1], [3, 1, 2])  # pairs (0,1) (0,2) agree, (1,2) not
        0.6666666666666666
    """
    x, y = _pair(a, b)
    f = _features(features, x.shape[0])
    if f.shape[0] < 2:
        return float("nan")
    kx, ky = _key(x, by)[f], _key(y, by)[f]
    iu = np.triu_indices(f.shape[0], k=1)
    dx = np.sign(kx[:, None] - kx[None, :])[iu]
    dy = np.sign(ky[:, None] - ky[None, :])[iu]
    return float(np.mean(dx == dy))


def rank_correlation(
    a: ArrayLike,
    b: ArrayLike,
    features: Sequence[int] | np.ndarray | None = None,
    by: RankBy = "abs",
) -> float:
    """Rank correlation (Krishna et al. 2022): Spearman's ρ of the importance ranks over ``features``.

    With ``features=None`` and ``by="value"`` it is :func:`spearman_rho` of ``a`` and ``b``.

    Examples::

        >>> rank_correlation([0.9, -0.5, 0.1, 0.0], [0.8, -0.6, 0.2, 0.3], features=[0, 1, 2])
        1.0
    """
    x, y = _pair(a, b)
    f = _features(features, x.shape[0])
    return spearman_rho(_key(x, by)[f], _key(y, by)[f])


def rank_biased_overlap(a: ArrayLike, b: ArrayLike, p: float = 0.9, by: RankBy = "abs") -> float:
    r"""Rank-biased overlap of the two full rankings (Webber et al. 2010), extrapolated.

    Both vectors rank the same n words (ties broken by word order). With :math:`X_d` the overlap
    of the two top-d lists, :math:`\mathrm{RBO}_{ext} = \frac{X_n}{n} p^n + \frac{1-p}{p}
    \sum_{d=1}^{n} \frac{X_d}{d} p^d` (Webber et al. eq. 32 for lists of equal length). Identical
    rankings give 1; the top of the ranking weighs most (with p = 0.9, the top 10 words carry
    about 86% of the weight). Two rankings of the same few words cannot score 0: the reversed
    ranking of 6 words scores 0.68 (the overlap at depth n is complete), so read RBO against the
    random-pair baseline the harness reports.

    Args:
        a, b (array-like): scores of the same words.
        p (float, optional): persistence in (0, 1). Default: 0.9
        by (str, optional): ``"abs"`` or ``"value"``. Default: ``"abs"``

    Returns:
        float: in [0, 1].

    Examples::

        >>> rank_biased_overlap([3, 2, 1], [3, 2, 1])
        1.0
        >>> round(rank_biased_overlap([3, 2, 1], [2, 3, 1]), 6)  # p^3 + (1-p)(p + p^2)
        0.9
    """
    x, y = _pair(a, b)
    check_scalar(p, "p", min_val=0, max_val=1, include_boundaries="neither")
    n = x.shape[0]
    if n == 0:
        return float("nan")
    ra = np.argsort(-_key(x, by), kind="stable")
    rb = np.argsort(-_key(y, by), kind="stable")
    seen_a: set[int] = set()
    seen_b: set[int] = set()
    overlap = 0
    total = 0.0
    for d in range(1, n + 1):
        ia, ib = int(ra[d - 1]), int(rb[d - 1])
        if ia == ib:
            overlap += 1
        else:
            overlap += (ia in seen_b) + (ib in seen_a)
        seen_a.add(ia)
        seen_b.add(ib)
        total += overlap / d * p**d
    return float(min(1.0, overlap / n * p**n + (1 - p) / p * total))


def agreement_scores(
    a: ArrayLike,
    b: ArrayLike,
    *,
    k: int = 5,
    by: RankBy = "abs",
    p: float = 0.9,
    signs: bool = True,
) -> dict[str, float]:
    """Every agreement metric of this module for one pair of explanations.

    Kendall's τ-b and Spearman's ρ are computed on the ranking keys (``|a|`` for ``by="abs"``, ``a``
    for ``by="value"``); the pairwise rank agreement and the rank correlation over the words of
    interest ``top_k(a) ∪ top_k(b)``.

    Args:
        a, b (array-like): scores of the same words by two methods.
        k (int, optional): size of the top-k sets. Default: 5
        by (str, optional): ``"abs"`` (Krishna et al.) or ``"value"``. Default: ``"abs"``
        p (float, optional): rank-biased overlap persistence. Default: 0.9
        signs (bool, optional): compute the sign metrics (``False`` gives ``nan`` for them, e.g.
            when a method only gives magnitudes). Default: True

    Returns:
        dict: ``kendall_tau``, ``spearman``, ``feature_agreement``, ``rank_agreement``,
        ``sign_agreement``, ``signed_rank_agreement``, ``pairwise_rank_agreement``,
        ``rank_correlation``, ``rbo``.

    Examples::

        >>> s = agreement_scores([0.9, 0.5, 0.1], [0.9, 0.5, 0.1], k=2)
        >>> s["kendall_tau"], s["feature_agreement"], s["rbo"]
        (1.0, 1.0, 1.0)
    """
    x, y = _pair(a, b)
    kx, ky = _key(x, by), _key(y, by)
    interest = np.union1d(top_k(x, k, by), top_k(y, k, by))
    nan = float("nan")
    return {
        "kendall_tau": kendall_tau_b(kx, ky),
        "spearman": spearman_rho(kx, ky),
        "feature_agreement": feature_agreement(x, y, k, by),
        "rank_agreement": rank_agreement(x, y, k, by),
        "sign_agreement": sign_agreement(x, y, k, by) if signs else nan,
        "signed_rank_agreement": signed_rank_agreement(x, y, k, by) if signs else nan,
        "pairwise_rank_agreement": pairwise_rank_agreement(x, y, interest, by),
        "rank_correlation": rank_correlation(x, y, interest, by),
        "rbo": rank_biased_overlap(x, y, p, by),
    }
