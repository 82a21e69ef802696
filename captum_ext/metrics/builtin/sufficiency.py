r"""Sufficiency (ERASER AOPC): how much of the explained class the top words alone keep.

:math:`\frac{1}{|B|}\sum_{q \in B} p(x) - p(r_{k(q)})`; lower is more faithful. DeYoung et al.
2020, "ERASER", https://arxiv.org/abs/1911.03429.
"""

from __future__ import annotations

import numpy as np

from captum_ext.metrics.faithfulness import ERASER_BINS, aopc, bin_sizes, keep_words
from captum_ext.metrics.protocol import RowContext, RowMetric, register_metric


class Sufficiency(RowMetric):
    name = "sufficiency"
    label = "sufficiency ↓"
    family = "faithfulness"
    higher_is_better = False
    description = "AOPC drop of the explained class when only the top 1/5/10/20/50% words are kept"
    reference = "DeYoung et al. 2020 (ERASER)"

    def rows(self, ctx: RowContext) -> list[list[int]]:
        ks = bin_sizes(ctx.n_words, ctx.settings.get("bins", ERASER_BINS))
        return [keep_words(ctx.input_ids, ctx.token_to_word, ctx.order[:k]) for k in ks]

    def score(self, ctx: RowContext, p_full: float, values: np.ndarray) -> float:
        return aopc(p_full, values)


register_metric(Sufficiency())
