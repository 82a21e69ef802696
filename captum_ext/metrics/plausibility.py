r"""Plausibility: how well an explanation matches a human rationale (ERASER's agreement metrics).

Pure functions over word-level arrays. A human rationale is a 0/1 vector over the words of a text
(1 = the annotator marked the word). An explanation is turned into a hard rationale by taking its
top-k words, with k the number of words the human marked (ERASER's convention when no threshold is
given); AUPRC uses the soft scores directly.

* token F1: F1 of the predicted word set against the human word set;
* IOU F1: spans are maximal runs of consecutive marked words; a predicted span matches a human
  span when their intersection over union is at least 0.5; F1 of matched spans (precision over
  predicted spans, recall over human spans);
* AUPRC: average precision of the scores ranking the human-marked words first
  (``sklearn.metrics.average_precision_score``'s definition: sum over thresholds of
  (R_n - R_{n-1}) P_n; tied scores form one threshold).

Reference: DeYoung et al. 2020, "ERASER: A Benchmark to Evaluate Rationalized NLP Models",
https://arxiv.org/abs/1911.03429.

Examples::

    >>> from captum_ext.metrics.plausibility import token_f1
    >>> token_f1([1, 1, 0, 0], [1, 0, 1, 0])
    0.5
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from captum_ext.errors import InputError
from captum_ext.metrics.agreement import RankBy, top_k

__all__ = ["auprc", "iou_f1", "plausibility_scores", "rationale_spans", "token_f1"]


def _mask(x: Sequence[int] | np.ndarray, name: str) -> np.ndarray:
    m = np.asarray(x).reshape(-1)
    if m.size and not np.all((m == 0) | (m == 1)):
        raise InputError(f"{name} must be a 0/1 vector over the words, got values {np.unique(m)}.")
    return m.astype(bool)


def token_f1(predicted: Sequence[int] | np.ndarray, human: Sequence[int] | np.ndarray) -> float:
    """F1 of the predicted word set against the human rationale (0/1 vectors over the words).

    Returns 0 when one set is empty and the other not, 1 when both are empty.

    Examples::

        >>> token_f1([1, 1, 0], [1, 1, 0]), token_f1([0, 0, 1], [1, 1, 0])
        (1.0, 0.0)
    """
    p, h = _mask(predicted, "predicted"), _mask(human, "human")
    if p.shape != h.shape:
        raise InputError(f"predicted ({p.shape[0]}) and human ({h.shape[0]}) must be as long.")
    tp = int(np.sum(p & h))
    if not p.any() and not h.any():
        return 1.0
    if tp == 0:
        return 0.0
    precision, recall = tp / int(p.sum()), tp / int(h.sum())
    return 2 * precision * recall / (precision + recall)


def rationale_spans(mask: Sequence[int] | np.ndarray) -> list[tuple[int, int]]:
    """Maximal runs of marked words as ``(start, end)`` word ranges (end exclusive).

    Examples::

        >>> rationale_spans([1, 1, 0, 1, 0, 1])
        [(0, 2), (3, 4), (5, 6)]
    """
    m = _mask(mask, "mask")
    spans: list[tuple[int, int]] = []
    start = None
    for i, v in enumerate(m.tolist() + [False]):
        if v and start is None:
            start = i
        elif not v and start is not None:
            spans.append((start, i))
            start = None
    return spans


def iou_f1(
    predicted: Sequence[int] | np.ndarray,
    human: Sequence[int] | np.ndarray,
    threshold: float = 0.5,
) -> float:
    """ERASER's IOU F1: spans match when their word-level intersection over union >= ``threshold``.

    Examples::

        >>> iou_f1([1, 1, 0, 0, 0, 0], [1, 1, 1, 0, 0, 1])  # (0,2) matches (0,3): IOU 2/3
        0.6666666666666666
    """
    p, h = rationale_spans(predicted), rationale_spans(human)
    if len(_mask(predicted, "predicted")) != len(_mask(human, "human")):
        raise InputError("predicted and human must be 0/1 vectors over the same words.")
    if not p and not h:
        return 1.0
    if not p or not h:
        return 0.0

    def iou(a: tuple[int, int], b: tuple[int, int]) -> float:
        inter = max(0, min(a[1], b[1]) - max(a[0], b[0]))
        return inter / ((a[1] - a[0]) + (b[1] - b[0]) - inter)

    matched_p = sum(1 for a in p if any(iou(a, b) >= threshold for b in h))
    matched_h = sum(1 for b in h if any(iou(a, b) >= threshold for a in p))
    precision, recall = matched_p / len(p), matched_h / len(h)
    if precision + recall == 0:
        return 0.0
    return 2 * precision * recall / (precision + recall)


def auprc(scores: Sequence[float] | np.ndarray, human: Sequence[int] | np.ndarray) -> float:
    """Average precision of ``scores`` for retrieving the human-marked words.

    Same definition as ``sklearn.metrics.average_precision_score(human, scores)``; ``nan`` when the
    human marked no word.

    Examples::

        >>> auprc([0.9, 0.1, 0.8, 0.2], [1, 0, 1, 0])
        1.0
    """
    s = np.asarray(scores, dtype=np.float64).reshape(-1)
    h = _mask(human, "human")
    if s.shape != h.shape:
        raise InputError(f"scores ({s.shape[0]}) and human ({h.shape[0]}) must be as long.")
    n_pos = int(h.sum())
    if n_pos == 0:
        return float("nan")
    order = np.argsort(-s, kind="stable")
    s_sorted, h_sorted = s[order], h[order]
    # the last index of each run of tied scores is a threshold
    last = np.r_[np.flatnonzero(s_sorted[1:] != s_sorted[:-1]), s.shape[0] - 1]
    tp = np.cumsum(h_sorted)[last]
    precision = tp / (last + 1)
    recall = tp / n_pos
    prev = np.r_[0.0, recall[:-1]]
    return float(np.sum((recall - prev) * precision))


def plausibility_scores(
    scores: Sequence[float] | np.ndarray, human: Sequence[int] | np.ndarray, by: RankBy = "value"
) -> dict[str, float]:
    """Token F1, IOU F1 and AUPRC of one explanation against one human rationale.

    The hard rationale is the top-k words by ``by`` (``"value"``: the most positive scores,
    ``"abs"``: the largest magnitudes), k = number of human-marked words.

    Examples::

        >>> plausibility_scores([0.9, 0.1, 0.8, 0.2], [1, 0, 1, 0])
        {'token_f1': 1.0, 'iou_f1': 1.0, 'auprc': 1.0}
    """
    s = np.asarray(scores, dtype=np.float64).reshape(-1)
    h = _mask(human, "human")
    k = int(h.sum())
    predicted = np.zeros(s.shape[0], dtype=int)
    if k:
        predicted[top_k(s, k, by)] = 1
    key = s if by == "value" else np.abs(s)
    return {
        "token_f1": token_f1(predicted, h),
        "iou_f1": iou_f1(predicted, h),
        "auprc": auprc(key, h),
    }
