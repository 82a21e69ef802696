"""The one aggregation of word-piece scores to word scores.

Every method that scores word-pieces (Integrated Gradients, saliency, attention, ...) turns them
into word scores here and nowhere else. ``sum`` (the default) keeps completeness: the word scores
add up to the same total as the piece scores. ``mean`` and ``max`` (largest absolute value, sign
kept) are available on request. Special tokens ([CLS], [SEP]) belong to no word and are dropped.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, cast

import numpy as np

from captum_ext.errors import InputError
from captum_ext.validation import check_choice

__all__ = ["AGGREGATIONS", "Aggregation", "aggregate_to_words", "check_aggregation"]

Aggregation = Literal["sum", "mean", "max"]
AGGREGATIONS: tuple[str, ...] = ("sum", "mean", "max")


def check_aggregation(how: str, name: str = "aggregation") -> Aggregation:
    """Return ``how`` if it names an aggregation (``"sum"``, ``"mean"``, ``"max"``); else raise.

    Examples::

        >>> check_aggregation("mean")
        'mean'
    """
    return cast(Aggregation, check_choice(how, name, AGGREGATIONS))


def aggregate_to_words(
    token_scores: Sequence[float] | np.ndarray,
    token_to_word: Sequence[int | None],
    n_words: int,
    how: Aggregation = "sum",
) -> np.ndarray:
    """Aggregate per-token scores into per-word scores.

    Args:
        token_scores: one score per token (special tokens included).
        token_to_word: the word index of each token, ``None`` for special tokens.
        n_words: number of words; words without tokens (truncated away) score 0.
        how: ``"sum"`` (default), ``"mean"``, or ``"max"`` (the value of largest magnitude).

    Returns:
        ``np.ndarray`` of shape ``(n_words,)``.

    Examples::

        >>> aggregate_to_words([0.0, 1.0, 2.0, -4.0, 0.0], [None, 0, 0, 1, None], 2)
        array([ 3., -4.])
        >>> aggregate_to_words([0.0, 1.0, -3.0, 0.0], [None, 0, 0, None], 1, how="max")
        array([-3.])
    """
    check_aggregation(how, "how")
    scores = np.asarray(token_scores, dtype=np.float64).reshape(-1)
    if scores.shape[0] != len(token_to_word):
        raise InputError(
            f"token_scores has {scores.shape[0]} entries but token_to_word has {len(token_to_word)}."
        )
    out = np.zeros(n_words, dtype=np.float64)
    counts = np.zeros(n_words, dtype=np.int64)
    for s, w in zip(scores, token_to_word, strict=True):
        if w is None:
            continue
        counts[w] += 1
        if how == "max":
            if counts[w] == 1 or abs(s) > abs(out[w]):
                out[w] = s
        else:
            out[w] += s
    if how == "mean":
        nz = counts > 0
        out[nz] /= counts[nz]
    return out
