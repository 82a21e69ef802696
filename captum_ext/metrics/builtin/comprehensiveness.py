r"""Comprehensiveness (ERASER AOPC): how much deleting the top words lowers the explained class.

:math:`\frac{1}{|B|}\sum_{q \in B} p(x) - p(x \setminus r_{k(q)})` over the bins ``B``
(:data:`~captum_ext.metrics.faithfulness.ERASER_BINS`); higher is more faithful. DeYoung et al.
2020, "ERASER: A Benchmark to Evaluate Rationalized NLP Models", https://arxiv.org/abs/1911.03429.
"""

from __future__ import annotations

import numpy as np

from captum_ext.metrics.faithfulness import ERASER_BINS, aopc, bin_sizes, delete_words
from captum_ext.metrics.protocol import RowContext, RowMetric, register_metric


class Comprehensiveness(RowMetric):
    name = "comprehensiveness"
    label = "comprehensiveness ↑"
    family = "faithfulness"
    higher_is_better = True
    description = "AOPC drop of the explained class when the top 1/5/10/20/50% words are deleted"
    reference = "DeYoung et al. 2020 (ERASER)"

    def rows(self, ctx: RowContext) -> list[list[int]]:
        ks = bin_sizes(ctx.n_words, ctx.settings.get("bins", ERASER_BINS))
        return [delete_words(ctx.input_ids, ctx.token_to_word, ctx.order[:k]) for k in ks]

    def score(self, ctx: RowContext, p_full: float, values: np.ndarray) -> float:
        return aopc(p_full, values)


register_metric(Comprehensiveness())
