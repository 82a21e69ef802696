r"""Correlation with leave-one-out: Spearman's ρ between the explanation's importance and the
effect of deleting each word alone, :math:`p(x) - p(x \setminus w_i)`, over the seen words.

Signed methods are compared with the signed effect, magnitude-only methods with its absolute
value. Higher is more faithful. scipy.stats.spearmanr; leave-one-out as in Li et al. 2016,
"Understanding Neural Networks through Representation Erasure", https://arxiv.org/abs/1612.08220.
The random baseline is 0 by construction and is not scored.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from captum_ext.metrics.faithfulness import delete_words
from captum_ext.metrics.protocol import RowContext, RowMetric, register_metric


class LeaveOneOutCorrelation(RowMetric):
    name = "loo_spearman"
    label = "ρ with leave-one-out ↑"
    family = "faithfulness"
    higher_is_better = True
    description = "Spearman correlation of the importance with the effect of deleting each word"
    reference = "Li et al. 2016 (erasure); scipy.stats.spearmanr"
    has_random_baseline = False

    def rows(self, ctx: RowContext) -> list[list[int]]:
        return [delete_words(ctx.input_ids, ctx.token_to_word, [w]) for w in sorted(ctx.order)]

    def score(self, ctx: RowContext, p_full: float, values: np.ndarray) -> float:
        words = sorted(ctx.order)
        effect = p_full - np.asarray(values, dtype=np.float64)
        mine = np.array([ctx.importance[w] for w in words], dtype=np.float64)
        if not ctx.signed:
            effect = np.abs(effect)
        if len(words) < 2 or not np.all(np.isfinite(mine)):
            return float("nan")
        if np.ptp(mine) == 0 or np.ptp(effect) == 0:
            return float("nan")
        return float(stats.spearmanr(mine, effect).statistic)


register_metric(LeaveOneOutCorrelation())
