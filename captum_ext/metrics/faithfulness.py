r"""Faithfulness of an explanation: does removing the words it ranks first change the prediction?

Pure functions. The model is not called here: :func:`faithfulness_rows` builds the perturbed
inputs (token-id rows) for one text and one ranking, the caller evaluates them in one batch (the
harness uses ``adapter.predict_ids``), and :func:`faithfulness_scores` turns the probabilities of
the explained class into numbers.

**The masking operator** (one for every method): :func:`delete_words` deletes every word-piece of
the chosen words from the token ids, keeping the special tokens ([CLS], [SEP]) and the other
words in order; the shorter row is fed to the model (no [MASK] or [PAD] replacement, as in ERASER).
:func:`keep_words` keeps only the chosen words (deletes every other one). Words the model never
saw (cut by truncation) take no part.

Metrics, with :math:`p(x)` the probability of the explained class and :math:`r_k` the top-k words
of the ranking:

* comprehensiveness (DeYoung et al. 2020, ERASER) as AOPC over the bins
  :math:`B = \{1, 5, 10, 20, 50\%\}`: :math:`\frac{1}{|B|}\sum_{q \in B} p(x) - p(x \setminus r_{k(q)})`;
  higher is more faithful;
* sufficiency, the same with only :math:`r_{k(q)}` kept: :math:`p(x) - p(r_{k(q)})`; lower is more
  faithful;
* ``k(q) = min(n, max(1, ceil(q n)))`` with n the words the model saw: at least one word per bin
  (a 12-word tweet gives k = 1, 1, 2, 3, 6);
* the deletion curve: :math:`p(x \setminus r_k)` for k = 0, 1, ..., n (at most ``max_steps``
  points, evenly spaced in k beyond that), and its area over the removed fraction in [0, 1]
  (trapezoids); lower is more faithful;
* the correlation of the scores with leave-one-out, :math:`p(x) - p(x \setminus w_i)` for each
  word (:func:`leave_one_out_rows`).

Reference: DeYoung et al. 2020, "ERASER: A Benchmark to Evaluate Rationalized NLP Models",
https://arxiv.org/abs/1911.03429.

Examples::

    >>> from captum_ext.metrics.faithfulness import delete_words, keep_words
    >>> ids = [101, 7, 8, 9, 102]          # [CLS] w0 w1(2 pieces) [SEP]
    >>> t2w = [None, 0, 1, 1, None]
    >>> delete_words(ids, t2w, [1])
    [101, 7, 102]
    >>> keep_words(ids, t2w, [1])
    [101, 8, 9, 102]
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from captum_ext.errors import InputError
from captum_ext.validation import check_scalar

__all__ = [
    "ERASER_BINS",
    "FaithfulnessRows",
    "aopc",
    "bin_sizes",
    "complete_order",
    "delete_words",
    "deletion_area",
    "deletion_steps",
    "faithfulness_rows",
    "faithfulness_scores",
    "insertion_rows",
    "keep_words",
    "leave_one_out_rows",
    "random_rankings",
    "seen_words",
    "soft_keep_probabilities",
    "soft_rows",
]

#: ERASER's bins: the top 1, 5, 10, 20 and 50% of the words.
ERASER_BINS: tuple[float, ...] = (0.01, 0.05, 0.10, 0.20, 0.50)


def seen_words(token_to_word: Sequence[int | None]) -> list[int]:
    """The words that have at least one token in the row (in word order).

    Examples::

        >>> seen_words([None, 0, 0, 2, None])
        [0, 2]
    """
    return sorted({w for w in token_to_word if w is not None})


def delete_words(
    input_ids: Sequence[int], token_to_word: Sequence[int | None], words: Iterable[int]
) -> list[int]:
    """THE masking operator: the token ids with every word-piece of ``words`` deleted.

    Special tokens (``token_to_word`` is ``None``) and the other words stay, in order.

    Args:
        input_ids (sequence of int): token ids of the text, special tokens included.
        token_to_word (sequence of int or None): word index of each token.
        words (iterable of int): word indices to delete.

    Returns:
        list of int: the shorter row.

    Examples::

        >>> delete_words([101, 5, 6, 7, 102], [None, 0, 1, 2, None], {0, 2})
        [101, 6, 102]
    """
    if len(input_ids) != len(token_to_word):
        raise InputError(
            f"input_ids ({len(input_ids)}) and token_to_word ({len(token_to_word)}) must have "
            "the same length."
        )
    drop = set(int(w) for w in words)
    return [
        int(t) for t, w in zip(input_ids, token_to_word, strict=True) if w is None or w not in drop
    ]


def keep_words(
    input_ids: Sequence[int], token_to_word: Sequence[int | None], words: Iterable[int]
) -> list[int]:
    """The token ids with only ``words`` (and the special tokens) kept: :func:`delete_words` of the
    complement.

    Examples::

        >>> keep_words([101, 5, 6, 7, 102], [None, 0, 1, 2, None], [2])
        [101, 7, 102]
    """
    keep = set(int(w) for w in words)
    others = [w for w in seen_words(token_to_word) if w not in keep]
    return delete_words(input_ids, token_to_word, others)


def bin_sizes(n_words: int, bins: Sequence[float] = ERASER_BINS) -> list[int]:
    """How many top words each bin removes: ``min(n, max(1, ceil(q * n)))``.

    Examples::

        >>> bin_sizes(12)
        [1, 1, 2, 3, 6]
        >>> bin_sizes(200)
        [2, 10, 20, 40, 100]
    """
    check_scalar(n_words, "n_words", min_val=1)
    out = []
    for q in bins:
        if not 0.0 < q <= 1.0:
            raise InputError(f"bins must be fractions in (0, 1], got {q!r}.")
        # round first: 0.05 * 20 is 1.0000000000000002 in floating point
        out.append(int(min(n_words, max(1, math.ceil(round(q * n_words, 9))))))
    return out


def deletion_steps(n_words: int, max_steps: int = 50) -> list[int]:
    """The k of the deletion curve: 0, 1, ..., n, or ``max_steps + 1`` evenly spaced values of k.

    Examples::

        >>> deletion_steps(4)
        [0, 1, 2, 3, 4]
        >>> deletion_steps(10, max_steps=4)
        [0, 2, 5, 8, 10]
    """
    check_scalar(max_steps, "max_steps", min_val=1)
    if n_words <= max_steps:
        return list(range(n_words + 1))
    return sorted({int(round(x)) for x in np.linspace(0, n_words, max_steps + 1)})


@dataclass
class FaithfulnessRows:
    """Perturbed inputs of one text for one ranking (see :func:`faithfulness_rows`).

    Attributes:
        comprehensiveness: one row per bin, the top-k words deleted.
        sufficiency: one row per bin, only the top-k words kept.
        deletion: one row per k of ``deletion_ks`` (k = 0 is the full text).
        ks: words removed (kept) per bin.
        deletion_ks: k of each deletion row.
        n_words: words the model saw.
    """

    comprehensiveness: list[list[int]]
    sufficiency: list[list[int]]
    deletion: list[list[int]]
    ks: list[int]
    deletion_ks: list[int]
    n_words: int

    def all_rows(self) -> list[list[int]]:
        """Every row, comprehensiveness then sufficiency then deletion."""
        return [*self.comprehensiveness, *self.sufficiency, *self.deletion]

    def split(
        self, values: Sequence[float] | np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Split the values of :meth:`all_rows` back into the three groups."""
        v = np.asarray(values, dtype=np.float64).reshape(-1)
        nc, ns = len(self.comprehensiveness), len(self.sufficiency)
        if v.shape[0] != nc + ns + len(self.deletion):
            raise InputError(f"expected {nc + ns + len(self.deletion)} values, got {v.shape[0]}.")
        return v[:nc], v[nc : nc + ns], v[nc + ns :]


def faithfulness_rows(
    input_ids: Sequence[int],
    token_to_word: Sequence[int | None],
    ranking: Sequence[int] | np.ndarray,
    *,
    bins: Sequence[float] = ERASER_BINS,
    max_steps: int = 50,
) -> FaithfulnessRows:
    """The perturbed token-id rows needed to score one ranking of one text.

    Args:
        input_ids (sequence of int): the text's token ids (``TextEncoding.input_ids``).
        token_to_word (sequence of int or None): ``TextEncoding.token_to_word``.
        ranking (sequence of int): word indices, most important first. Words the model did not
            see are skipped; seen words missing from it are appended in word order.
        bins (sequence of float, optional): fractions of words. Default: :data:`ERASER_BINS`
        max_steps (int, optional): most points of the deletion curve after k = 0. Default: 50

    Returns:
        FaithfulnessRows

    Examples::

        >>> r = faithfulness_rows([101, 5, 6, 7, 102], [None, 0, 1, 2, None], [2, 0, 1],
        ...                       bins=(0.34, 0.67))
        >>> r.ks, r.comprehensiveness, r.sufficiency
        ([2, 3], [[101, 6, 102], [101, 102]], [[101, 5, 7, 102], [101, 5, 6, 7, 102]])
    """
    order = complete_order(token_to_word, ranking)
    n = len(order)
    ks = bin_sizes(n, bins)
    dks = deletion_steps(n, max_steps)
    return FaithfulnessRows(
        comprehensiveness=[delete_words(input_ids, token_to_word, order[:k]) for k in ks],
        sufficiency=[keep_words(input_ids, token_to_word, order[:k]) for k in ks],
        deletion=[delete_words(input_ids, token_to_word, order[:k]) for k in dks],
        ks=ks,
        deletion_ks=dks,
        n_words=n,
    )


def complete_order(
    token_to_word: Sequence[int | None], ranking: Sequence[int] | np.ndarray
) -> list[int]:
    """The seen words in the order of ``ranking``: unseen words skipped, duplicates dropped,
    seen words missing from it appended in word order.

    Examples::

        >>> complete_order([None, 0, 1, 2, None], [2, 7, 2])
        [2, 0, 1]
    """
    seen = seen_words(token_to_word)
    if not seen:
        raise InputError("the text has no word the model sees: nothing to remove.")
    seen_set = set(seen)
    order = list(dict.fromkeys(int(w) for w in ranking if int(w) in seen_set))
    placed = set(order)
    return order + [w for w in seen if w not in placed]


def insertion_rows(
    input_ids: Sequence[int],
    token_to_word: Sequence[int | None],
    order: Sequence[int],
    ks: Sequence[int],
) -> list[list[int]]:
    """The insertion curve's rows: for each k, only the first ``k`` words of ``order`` kept
    (k = 0: the special tokens alone; RISE's insertion game, Petsiuk et al. 2018, with words
    deleted rather than blurred).

    Examples::

        >>> insertion_rows([101, 5, 6, 7, 102], [None, 0, 1, 2, None], [2, 0, 1], [0, 1, 3])
        [[101, 102], [101, 7, 102], [101, 5, 6, 7, 102]]
    """
    return [keep_words(input_ids, token_to_word, order[:k]) for k in ks]


def soft_keep_probabilities(importance: Sequence[float] | np.ndarray) -> np.ndarray:
    """Importance scaled to [0, 1] for soft perturbation (Zhao & Aletras 2023): negative
    importance (evidence against the class) counts as 0, the most important word as 1.

    Examples::

        >>> soft_keep_probabilities([2.0, -1.0, 1.0]).tolist()
        [1.0, 0.0, 0.5]
        >>> soft_keep_probabilities([-1.0, 0.0]).tolist()
        [0.0, 0.0]
    """
    v = np.clip(np.asarray(importance, dtype=np.float64).reshape(-1), 0.0, None)
    top = float(v.max()) if v.size else 0.0
    return v / top if top > 0 else np.zeros_like(v)


def soft_rows(
    input_ids: Sequence[int],
    token_to_word: Sequence[int | None],
    words: Sequence[int],
    probabilities: Sequence[float] | np.ndarray,
    n_samples: int,
    random_state: int | None = None,
) -> list[list[int]]:
    """Soft perturbation: ``n_samples`` rows in each of which word ``words[i]`` is deleted with
    probability ``probabilities[i]`` (independently, seeded).

    Soft comprehensiveness deletes each word with probability equal to its scaled importance;
    soft sufficiency with one minus it (Zhao & Aletras 2023, "Incorporating Attribution
    Importance for Improving Faithfulness Metrics", ACL; they mask embedding dimensions, here
    whole words are deleted with the one masking operator, as the harness's other metrics do).

    Examples::

        >>> soft_rows([101, 5, 6, 102], [None, 0, 1, None], [0, 1], [1.0, 0.0], 2, 0)
        [[101, 6, 102], [101, 6, 102]]
    """
    if n_samples < 1:
        raise InputError(f"n_samples must be >= 1, got {n_samples}.")
    p = np.asarray(probabilities, dtype=np.float64).reshape(-1)
    if p.shape[0] != len(words):
        raise InputError(f"words ({len(words)}) and probabilities ({p.shape[0]}) must match.")
    rng = np.random.default_rng(random_state)
    draws = rng.random((n_samples, len(words))) < p
    return [
        delete_words(input_ids, token_to_word, [w for w, d in zip(words, row, strict=True) if d])
        for row in draws
    ]


def aopc(p_full: float, p_perturbed: Sequence[float] | np.ndarray) -> float:
    """Area over the perturbation curve: the mean of ``p_full - p_k`` over the bins.

    Examples::

        >>> aopc(0.9, [0.5, 0.3, 0.1])
        0.6
    """
    p = np.asarray(p_perturbed, dtype=np.float64).reshape(-1)
    if p.size == 0:
        raise InputError("p_perturbed must hold at least one probability.")
    return float(np.mean(p_full - p))


def deletion_area(ks: Sequence[int], probs: Sequence[float] | np.ndarray, n_words: int) -> float:
    """Area under the deletion curve over the removed fraction ``k / n`` in [0, 1] (trapezoids).

    Examples::

        >>> deletion_area([0, 1, 2], [1.0, 0.0, 0.0], 2)  # drops to 0 after the first word
        0.25
    """
    p = np.asarray(probs, dtype=np.float64).reshape(-1)
    x = np.asarray(ks, dtype=np.float64) / float(n_words)
    if p.shape != x.shape:
        raise InputError(f"ks ({x.shape[0]}) and probs ({p.shape[0]}) must have the same length.")
    if p.shape[0] < 2:
        return float(p[0]) if p.size else float("nan")
    return float(np.sum((x[1:] - x[:-1]) * (p[1:] + p[:-1]) / 2.0))


def faithfulness_scores(
    p_full: float, rows: FaithfulnessRows, values: Sequence[float] | np.ndarray
) -> dict[str, object]:
    """Comprehensiveness, sufficiency and deletion area of one ranking from the evaluated rows.

    Args:
        p_full (float): probability of the explained class on the whole text.
        rows (FaithfulnessRows): what :func:`faithfulness_rows` built.
        values (array-like): probability of the explained class on each row of
            ``rows.all_rows()``, in that order.

    Returns:
        dict: ``comprehensiveness`` and ``sufficiency`` (AOPC), ``comprehensiveness_bins`` and
        ``sufficiency_bins`` (per bin), ``deletion_auc``, ``deletion_curve`` (probabilities),
        ``deletion_ks``, ``ks``, ``n_words``.

    Examples::

        >>> r = faithfulness_rows([101, 5, 6, 102], [None, 0, 1, None], [1, 0], bins=(0.5, 1.0))
        >>> s = faithfulness_scores(0.9, r, [0.2, 0.5, 0.8, 0.9, 0.9, 0.2, 0.5])
        >>> round(s["comprehensiveness"], 3), round(s["sufficiency"], 3)
        (0.55, 0.05)
    """
    comp, suff, dele = rows.split(values)
    return {
        "comprehensiveness": aopc(p_full, comp),
        "sufficiency": aopc(p_full, suff),
        "comprehensiveness_bins": (p_full - comp).tolist(),
        "sufficiency_bins": (p_full - suff).tolist(),
        "deletion_auc": deletion_area(rows.deletion_ks, dele, rows.n_words),
        "deletion_curve": dele.tolist(),
        "deletion_ks": list(rows.deletion_ks),
        "ks": list(rows.ks),
        "n_words": rows.n_words,
    }


def leave_one_out_rows(
    input_ids: Sequence[int], token_to_word: Sequence[int | None]
) -> tuple[list[int], list[list[int]]]:
    """One row per seen word with that word deleted (leave-one-out with the same masking operator).

    Returns:
        tuple: ``(words, rows)``; the leave-one-out score of ``words[i]`` is
        ``p_full - p(rows[i])``.

    Examples::

        >>> leave_one_out_rows([101, 5, 6, 102], [None, 0, 1, None])
        ([0, 1], [[101, 6, 102], [101, 5, 102]])
    """
    words = seen_words(token_to_word)
    return words, [delete_words(input_ids, token_to_word, [w]) for w in words]


def random_rankings(n_words: int, n: int, random_state: int | None = None) -> list[list[int]]:
    """``n`` random orders of ``n_words`` words (the random-ranking baseline), seeded.

    Examples::

        >>> random_rankings(4, 2, random_state=0) == random_rankings(4, 2, random_state=0)
        True
    """
    check_scalar(n, "n", min_val=1)
    rng = np.random.default_rng(random_state)
    return [rng.permutation(n_words).tolist() for _ in range(n)]
