r"""Interpretable text features, neighbourhood sampling and perturbed token rows for LIME.

A text is a row of token ids (special tokens included). Its *units* are groups of token
positions (words, or official LIME's ``\W+`` tokens); its *base features* are units, or, in
bag-of-words mode, all units with the same string; *n-gram features* are runs of 2..N adjacent
units, present when all their words are present. A neighbourhood sample is a binary mask over
the base features; :class:`FeatureSpace` turns masks into token-id rows without re-tokenising
(remove the tokens of absent features, or replace each absent word by one ``[MASK]``/``[UNK]``/
``[PAD]`` token) and into the surrogate's design matrix (one column per base feature, one per
n-gram).

Two samplers draw masks:

- ``"lime"``: exactly official LIME's draws (``LimeTextExplainer``): the number of removed
  features is uniform in ``1..d`` and the removed set uniform given its size, with the same
  ``numpy.random.RandomState`` calls, so the same seed gives the same neighbourhood.
- ``"kernel"`` (the default of :class:`~captum_ext.attr.TextLime`): the same weighted objective
  as official LIME in expectation, with less variance. The number of kept features is drawn in
  proportion to official LIME's probability times the kernel weight (importance sampling: every
  sampled row then carries the same weight, instead of most of official LIME's samples carrying
  almost none); the counts per size are allocated by systematic (stratified) sampling; within a
  size the removed sets are balanced (each feature and each pair of features removed about
  equally often); and a size with fewer distinct masks than samples is enumerated exactly, each
  mask weighted by its expected count.

Model rows cost time, sample rows do not: identical masks are evaluated once. Official LIME's
draws repeat themselves (the levels that remove most words have few distinct masks), so at
``n_samples`` it evaluates :func:`expected_distinct_official` distinct texts, fewer than
``n_samples``. Both samplers take ``max_distinct``, a budget of distinct masks: the kernel
sampler then draws the largest number of samples whose distinct masks stay within it, the lime
sampler keeps the longest prefix of its draws that does, and the drawn rows are re-weighted to
stand for ``n_samples`` (same total weight, so the ridge penalty keeps its relative strength).
With ``max_distinct=expected_distinct_official(d_official, n_samples)`` a neighbourhood
evaluates no more texts than official LIME does at the same ``n_samples``, in expectation.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from captum_ext.errors import InputError
from captum_ext.validation import check_scalar

__all__ = [
    "FeatureSpace",
    "official_level_mass",
    "Neighbourhood",
    "cosine_distance_to_original",
    "expected_distinct_official",
    "lime_kernel",
    "lime_similarity",
    "lime_units",
    "sample_kernel",
    "sample_lime",
]

#: official LIME's default word separator (``LimeTextExplainer(split_expression=r"\W+")``)
LIME_SPLIT = r"\W+"


def lime_kernel(distances: np.ndarray, kernel_width: float) -> np.ndarray:
    """Official LIME's text kernel: ``sqrt(exp(-d**2 / width**2))``."""
    d = np.asarray(distances, dtype=np.float64)
    return np.sqrt(np.exp(-(d**2) / kernel_width**2))


def lime_similarity(kernel_width: float = 25.0) -> Callable[..., float]:
    """Official LIME's text kernel as a Captum ``similarity_func``.

    ``sqrt(exp(-d² / kernel_width²))`` with ``d = 100 · cosine_distance(sample, all-ones)`` on the
    binary interpretable sample (an empty sample has distance 100), as
    ``LimeTextExplainer(kernel_width=25)`` weighs its samples: :func:`lime_kernel` of
    :func:`cosine_distance_to_original`, in Captum's signature
    ``similarity_func(original_input, perturbed_input, perturbed_interpretable_input, **kwargs)``.

    Examples::

        >>> import torch
        >>> k = lime_similarity(25.0)
        >>> round(k(None, None, torch.tensor([[1, 1, 1, 1]])), 6)
        1.0
        >>> round(k(None, None, torch.tensor([[1, 0, 0, 0]])), 4)  # d = 50
        0.1353
    """

    def similarity(
        _original: object, _perturbed: object, interpretable: object, **_: object
    ) -> float:
        if hasattr(interpretable, "detach"):  # a torch tensor
            interpretable = interpretable.detach().cpu().numpy()
        mask = np.asarray(interpretable, dtype=np.float64).reshape(1, -1)
        return float(lime_kernel(cosine_distance_to_original(mask), kernel_width)[0])

    return similarity


def cosine_distance_to_original(masks: np.ndarray) -> np.ndarray:
    """Cosine distance × 100 between each binary mask and the all-ones mask (official LIME).

    An all-zero mask has distance 100 (scikit-learn's convention for a zero vector).
    """
    masks = np.asarray(masks, dtype=np.float64)
    d = masks.shape[1]
    kept = masks.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        sim = np.where(kept > 0, kept / np.sqrt(kept * d), 0.0)
    return (1.0 - sim) * 100.0


def euclidean_distance_to_original(masks: np.ndarray) -> np.ndarray:
    """Euclidean distance between each binary mask and the all-ones mask (no scaling)."""
    masks = np.asarray(masks, dtype=np.float64)
    return np.sqrt((1.0 - masks).sum(axis=1))


_DISTANCES: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "cosine": cosine_distance_to_original,
    "euclidean": euclidean_distance_to_original,
}


def distance_function(name: str) -> Callable[[np.ndarray], np.ndarray]:
    """The distance of masks to the original text: ``"cosine"`` (×100, official) or ``"euclidean"``."""
    try:
        return _DISTANCES[name]
    except KeyError:
        raise InputError(
            f"distance must be one of {', '.join(_DISTANCES)}, got {name!r}."
        ) from None


def lime_units(
    text: str, spans: Sequence[tuple[int, int]], split_expression: str = LIME_SPLIT
) -> tuple[list[str], list[list[int]]]:
    r"""Official LIME's word tokens of ``text`` and the words (by ``spans``) each one overlaps.

    LIME splits on ``\W+``: separators (punctuation, spaces, emoji) are never perturbed. Tokens
    that overlap no word in ``spans`` (e.g. past the truncation point) are dropped.

    Returns:
        ``(tokens, words_of_token)``: each token string, and the indices of the words it overlaps.
    """
    splitter = re.compile(rf"({split_expression})|$")
    pieces = [s for s in splitter.split(text) if s]
    tokens: list[str] = []
    groups: list[list[int]] = []
    start = 0
    for piece in pieces:
        end = start + len(piece)
        if not splitter.match(piece):
            words = [i for i, (s, e) in enumerate(spans) if s < end and start < e]
            if words:
                tokens.append(piece)
                groups.append(words)
        start = end
    return tokens, groups


@dataclass
class FeatureSpace:
    """The interpretable features of one token row.

    Build it with :meth:`from_units`. Attributes:
        input_ids: the original token ids (special tokens included).
        unit_names: the string of each unit (word or LIME token), in text order.
        unit_positions: the token positions of each unit.
        base_names: one name per base feature (a unit, or in bag-of-words mode a unit string).
        base_units: the units of each base feature.
        ngrams: each n-gram feature as a tuple of base-feature indices (``n >= 2``).
        ngram_names: the n-grams' names, their words joined by spaces.
    """

    input_ids: np.ndarray
    unit_names: list[str]
    unit_positions: list[list[int]]
    base_names: list[str]
    base_units: list[list[int]]
    ngrams: list[tuple[int, ...]] = field(default_factory=list)
    ngram_names: list[str] = field(default_factory=list)

    @classmethod
    def from_units(
        cls,
        input_ids: Sequence[int],
        unit_names: Sequence[str],
        unit_positions: Sequence[Sequence[int]],
        *,
        bow: bool = False,
        max_ngram: int = 1,
    ) -> FeatureSpace:
        """Group units into base features and add n-grams of adjacent units.

        Args:
            input_ids: the token row.
            unit_names: each unit's string.
            unit_positions: each unit's token positions (units without positions are dropped).
            bow: official LIME's ``bow=True``: a string is one feature wherever it occurs.
            max_ngram: longest n-gram feature (1 = words only).
        """
        check_scalar(max_ngram, "max_ngram", min_val=1)
        keep = [i for i, pos in enumerate(unit_positions) if len(pos) > 0]
        names = [str(unit_names[i]) for i in keep]
        positions = [sorted(int(p) for p in unit_positions[i]) for i in keep]
        base_names: list[str] = []
        base_units: list[list[int]] = []
        unit_feature: list[int] = []
        index: dict[str, int] = {}
        for u, name in enumerate(names):
            if bow and name in index:
                f = index[name]
                base_units[f].append(u)
            else:
                f = len(base_names)
                index[name] = f
                base_names.append(name)
                base_units.append([u])
            unit_feature.append(f)
        ngrams: list[tuple[int, ...]] = []
        ngram_names: list[str] = []
        seen: set[tuple[int, ...]] = set()
        for n in range(2, max_ngram + 1):
            for start in range(len(names) - n + 1):
                feats = tuple(unit_feature[start : start + n])
                if len(set(feats)) < n or feats in seen:
                    continue  # "very very" would repeat a column; a repeated n-gram is one feature
                seen.add(feats)
                ngrams.append(feats)
                ngram_names.append(" ".join(names[start : start + n]))
        return cls(
            input_ids=np.asarray(input_ids, dtype=np.int64),
            unit_names=names,
            unit_positions=positions,
            base_names=base_names,
            base_units=base_units,
            ngrams=ngrams,
            ngram_names=ngram_names,
        )

    # -- sizes and names --------------------------------------------------------------------
    @property
    def n_base(self) -> int:
        """Number of base features (the mask's width)."""
        return len(self.base_names)

    @property
    def n_features(self) -> int:
        """Number of surrogate features: base features plus n-grams."""
        return self.n_base + len(self.ngrams)

    @property
    def feature_names(self) -> list[str]:
        """Names of the surrogate's features (base features, then n-grams)."""
        return self.base_names + self.ngram_names

    def position_feature(self) -> np.ndarray:
        """For each token position, its base feature, or -1 (special tokens, unperturbed)."""
        out = np.full(len(self.input_ids), -1, dtype=np.int64)
        for f, units in enumerate(self.base_units):
            for u in units:
                out[self.unit_positions[u]] = f
        return out

    def unit_scores(self, weights: np.ndarray) -> np.ndarray:
        """Per-unit scores: the unit's feature weight plus an equal share of each n-gram's weight."""
        weights = np.asarray(weights, dtype=np.float64)
        per_base = weights[: self.n_base].copy()
        for g, feats in enumerate(self.ngrams):
            per_base[list(feats)] += weights[self.n_base + g] / len(feats)
        out = np.zeros(len(self.unit_names))
        for f, units in enumerate(self.base_units):
            out[units] = per_base[f]
        return out

    # -- masks → model rows and surrogate design --------------------------------------------
    def design(self, masks: np.ndarray) -> np.ndarray:
        """The surrogate's inputs: the mask columns, then one product column per n-gram."""
        masks = np.asarray(masks, dtype=np.float64)
        if not self.ngrams:
            return masks
        cols = [masks[:, list(feats)].prod(axis=1) for feats in self.ngrams]
        return np.hstack([masks, np.stack(cols, axis=1)])

    def rows(
        self,
        masks: np.ndarray,
        *,
        replace_id: int | None = None,
        baseline: np.ndarray | None = None,
    ) -> list[list[int]]:
        """Token-id rows for binary masks (no re-tokenising).

        Args:
            masks: ``(n, n_base)`` binary masks, 1 = feature present.
            replace_id: ``None`` removes the tokens of absent features; a token id replaces each
                absent *word* by one such token (its other word-pieces are dropped).
            baseline: Captum's baselines, one token id per position: every position of an
                absent feature takes its baseline in place (rows keep their length).
        """
        masks = np.asarray(masks, dtype=bool)
        ids = self.input_ids
        pos_feat = self.position_feature()
        perturbable = pos_feat >= 0
        keep = np.ones((masks.shape[0], len(ids)), dtype=bool)
        keep[:, perturbable] = masks[:, pos_feat[perturbable]]
        if baseline is not None:
            base = np.asarray(baseline, dtype=np.int64).reshape(-1)
            if len(base) != len(ids):
                raise InputError(f"baseline has {len(base)} positions, the row {len(ids)}.")
            return np.where(keep, ids[None, :], base[None, :]).tolist()
        if replace_id is None:
            return [ids[k].tolist() for k in keep]
        first = np.zeros(len(ids), dtype=bool)
        for pos in self.unit_positions:
            first[pos[0]] = True
        out_ids = np.where(keep, ids[None, :], replace_id)
        include = keep | first[None, :]
        return [out_ids[i][include[i]].tolist() for i in range(masks.shape[0])]


@dataclass
class Neighbourhood:
    """Sampled masks and their regression weights (before the kernel, see ``kernel_factor``).

    Attributes:
        masks: ``(n, n_base)`` binary masks; row 0 is the original text (all ones).
        sample_weight: multiplicity of each row in the sample (1 for independent draws; an
            expected count for exactly enumerated masks).
        kernel_factor: the kernel is already folded into the weights (``True`` for the kernel
            sampler) or must be applied by the caller (``False`` for the lime sampler).
        n_samples: the neighbourhood size the rows stand for (the ``n_samples`` asked for; the
            rows are fewer when masks are enumerated or a ``max_distinct`` budget applies).
            Default: ``len(masks)``
    """

    masks: np.ndarray
    sample_weight: np.ndarray
    kernel_factor: bool
    n_samples: int = 0

    def __post_init__(self) -> None:
        if self.n_samples <= 0:
            self.n_samples = int(len(self.masks))


def expected_distinct_official(n_base: int, n_samples: int) -> float:
    """Expected number of distinct masks (hence model rows) among official LIME's ``n_samples``.

    Official LIME's row 0 is the text; each other row removes ``k ~ U{1..d}`` features, a uniform
    subset given ``k``. A mask removing ``k`` features has probability ``1 / (d · C(d, k))`` per
    draw, so the expected count is ``1 + Σ_k C(d, k) · (1 − (1 − 1/(d · C(d, k)))^(n − 1))``.

    Examples::

        >>> expected_distinct_official(1, 50)  # the text and the empty text
        2.0
        >>> round(expected_distinct_official(3, 1000), 6)  # all 2^3 masks
        8.0
        >>> 700 < expected_distinct_official(16, 1000) < 1000
        True
        >>> round(expected_distinct_official(510, 600), 3)  # long texts: almost every draw is new
        599.514
    """
    check_scalar(n_base, "n_base", min_val=1)
    check_scalar(n_samples, "n_samples", min_val=1)
    total = 1.0
    draws = n_samples - 1
    for k in range(1, n_base + 1):
        c = math.comb(n_base, k)
        if c > 10**12 * max(draws, 1):  # every draw at this level is a new mask (to ~1e-12)
            total += draws / n_base
            continue
        p = 1.0 / (n_base * c)
        hit = 1.0 if p >= 1.0 else -math.expm1(draws * math.log1p(-p))
        total += c * hit
    return total


def _prefix_within(masks: np.ndarray, max_distinct: float) -> int:
    """The longest prefix of ``masks`` (row 0 included) with at most ``max_distinct`` distinct rows
    (at least 2 rows when there are 2)."""
    seen: set[bytes] = set()
    for i, row in enumerate(masks):
        key = row.tobytes()
        if key not in seen:
            if len(seen) + 1 > max_distinct and i >= 2:
                return i
            seen.add(key)
    return len(masks)


def sample_lime(
    n_base: int,
    n_samples: int,
    random_state: np.random.RandomState,
    *,
    max_distinct: float | None = None,
) -> Neighbourhood:
    """Official LIME's neighbourhood (``LimeTextExplainer.__data_labels_distances``).

    Same calls on the same ``RandomState`` as official LIME, so the same seed gives the same masks.
    With ``max_distinct``, only the longest prefix of the draws with at most that many distinct
    masks is kept, its draws weighted ``(n_samples − 1) / draws`` (the row of the text keeps 1).
    """
    check_scalar(n_samples, "n_samples", min_val=1)
    sizes = random_state.randint(1, n_base + 1, n_samples - 1)
    masks = np.ones((n_samples, n_base), dtype=np.int8)
    features_range = range(n_base)
    for i, size in enumerate(sizes, start=1):
        inactive = random_state.choice(features_range, size, replace=False)
        masks[i, inactive] = 0
    weights = np.ones(n_samples)
    if max_distinct is not None:
        keep = _prefix_within(masks, max_distinct)
        if keep < n_samples:
            masks = masks[:keep]
            weights = np.ones(keep)
            weights[1:] = (n_samples - 1) / (keep - 1)
    return Neighbourhood(masks, weights, kernel_factor=False, n_samples=n_samples)


def _systematic_counts(probs: np.ndarray, n: int, u: float) -> np.ndarray:
    """Counts summing to ``n`` with expectation ``n * probs`` (systematic resampling, offset
    ``u`` uniform in [0, 1))."""
    if n <= 0:
        return np.zeros(len(probs), dtype=np.int64)
    cum = np.cumsum(probs) * n
    cum[-1] = n
    points = u + np.arange(n)
    idx = np.searchsorted(cum, points, side="right")
    return np.bincount(np.minimum(idx, len(probs) - 1), minlength=len(probs))


def level_weights(
    n_base: int, kernel: Callable[[np.ndarray], np.ndarray], distance: Callable
) -> np.ndarray:
    """Kernel weight of a mask keeping ``j`` of ``n_base`` features, for ``j = 0..n_base - 1``."""
    masks = np.zeros((n_base, n_base))
    for j in range(n_base):
        masks[j, :j] = 1.0
    return kernel(distance(masks))


def official_level_mass(n_base: int, n_samples: int, level_w: np.ndarray) -> np.ndarray:
    """Expected total regression weight of official LIME's neighbourhood at each size.

    Entry ``j`` (``j = 0..n_base``) is the summed kernel weight of the masks keeping ``j``
    features among ``n_samples`` rows: ``(n_samples - 1) / d * w_j`` for ``j < d`` and 1 for the
    original text (row 0). This is the design the linear surrogate is fitted to, in expectation.
    """
    mass = np.zeros(n_base + 1)
    mass[:n_base] = (n_samples - 1) / n_base * np.asarray(level_w, dtype=np.float64)
    mass[n_base] = 1.0
    return mass


def _balanced_block(d: int, n_removed: int, m: int, rng: np.random.Generator) -> np.ndarray:
    """``m`` masks removing ``n_removed`` of ``d`` features, balanced over features and pairs.

    Each removed set is built greedily: the next feature is the one removed least often so far
    (plus its co-removals with the features already in the set), ties broken at random. Every
    feature and every pair is then removed about equally often, so the design's Gram matrix is
    close to its expectation (less design noise in the weights), while each mask is still a
    uniform random subset by symmetry (the procedure treats all features alike).
    """
    block = np.ones((m, d), dtype=np.int8)
    used = np.zeros(d)
    pairs = np.zeros((d, d))
    for i in range(m):
        key = used + 0.5 * rng.random(d)
        chosen = np.empty(n_removed, dtype=np.int64)
        for k in range(n_removed):
            f = int(np.argmin(key))
            chosen[k] = f
            key += pairs[f]
            key[f] = np.inf
        block[i, chosen] = 0
        used[chosen] += 1
        pairs[np.ix_(chosen, chosen)] += 1
    return block


def _distinct_bound(counts: np.ndarray, n_masks: np.ndarray) -> int:
    """At most this many distinct masks: the text, plus per level its draws or its enumeration."""
    return 1 + int(np.minimum(counts, n_masks).sum())


def sample_kernel(
    n_base: int,
    n_samples: int,
    rng: np.random.Generator,
    kernel: Callable[[np.ndarray], np.ndarray],
    distance: Callable[[np.ndarray], np.ndarray],
    *,
    enumerate_exact: bool = True,
    max_distinct: float | None = None,
) -> Neighbourhood:
    """A lower-variance neighbourhood with the same expected weighted objective as official LIME.

    Official LIME keeps ``j`` features with probability ``1/d`` (``j = 0..d-1``) and weights
    the row by ``w_j = kernel(distance(j))``. Here ``j`` is drawn with probability
    ``q_j ∝ w_j / d`` and every sampled row is weighted ``c = Σ_j w_j / d``, so that
    ``E[Σ weight·loss]`` is unchanged; the row of the original text keeps weight 1. Counts per
    ``j`` are stratified; removed sets are balanced across features and pairs; a level with at most as many
    distinct masks as allocated samples is enumerated, each mask weighted by its expected count.
    The returned weights include the kernel (``kernel_factor=True``).

    With ``max_distinct``, the number of draws is the largest (at most ``n_samples − 1``) whose
    masks are at most ``max_distinct`` distinct ones (a level gives at most its draws, at most
    its ``C(d, j)`` masks), and every draw is weighted ``(n_samples − 1) / draws`` times more:
    the neighbourhood still stands for ``n_samples`` (same total weight) on fewer model rows.
    """
    check_scalar(n_samples, "n_samples", min_val=1)
    d = n_base
    w = level_weights(d, kernel, distance)
    c = float(w.mean())
    masks_out: list[np.ndarray] = [np.ones((1, d), dtype=np.int8)]
    weights_out: list[np.ndarray] = [np.ones(1)]
    if n_samples == 1:
        return Neighbourhood(masks_out[0], weights_out[0], kernel_factor=True, n_samples=1)
    if c <= 0:  # every perturbation has zero kernel weight: fall back to the official draw
        q = np.full(d, 1.0 / d)
        c_level = w * d  # per-level weight that keeps the objective (all ~0)
    else:
        q = w / w.sum()
        c_level = np.full(d, c)
    u = float(rng.random())  # the systematic offset
    n_masks = np.array([math.comb(d, j) for j in range(d)], dtype=np.float64)
    draws = n_samples - 1
    if max_distinct is not None and draws > 1:
        if _distinct_bound(_systematic_counts(q, draws, u), n_masks) > max_distinct:
            lo, hi = 1, draws  # bound(lo) <= budget (or lo == 1), bound(hi) > budget
            while hi - lo > 1:
                mid = (lo + hi) // 2
                if _distinct_bound(_systematic_counts(q, mid, u), n_masks) <= max_distinct:
                    lo = mid
                else:
                    hi = mid
            draws = lo
    scale = (n_samples - 1) / draws
    counts = _systematic_counts(q, draws, u)
    for j in range(d):
        m = int(counts[j])
        if m == 0:
            continue
        n_removed = d - j
        n_distinct = math.comb(d, j)
        if enumerate_exact and n_distinct <= m:
            block = np.ones((n_distinct, d), dtype=np.int8)
            for i, subset in enumerate(itertools.combinations(range(d), n_removed)):
                block[i, list(subset)] = 0
            masks_out.append(block)
            weights_out.append(np.full(n_distinct, scale * c_level[j] * m / n_distinct))
            continue
        masks_out.append(_balanced_block(d, n_removed, m, rng))
        weights_out.append(np.full(m, scale * c_level[j]))
    return Neighbourhood(
        np.vstack(masks_out),
        np.concatenate(weights_out),
        kernel_factor=True,
        n_samples=n_samples,
    )
