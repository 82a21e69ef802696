r"""Soft sufficiency (Zhao & Aletras 2023): each word deleted at random with probability one minus
its importance scaled to [0, 1] (important words are likely kept); the mean drop
:math:`p(x) - p(\tilde x)` over ``n_soft`` draws. Lower is more faithful.

Zhao & Aletras 2023, "Incorporating Attribution Importance for Improving Faithfulness Metrics",
ACL, https://aclanthology.org/2023.acl-long.261.
"""

from __future__ import annotations

import numpy as np

from captum_ext.metrics.builtin.soft_comprehensiveness import soft_probabilities
from captum_ext.metrics.faithfulness import soft_rows
from captum_ext.metrics.protocol import RowContext, RowMetric, register_metric


class SoftSufficiency(RowMetric):
    name = "soft_sufficiency"
    label = "soft sufficiency ↓"
    family = "faithfulness"
    higher_is_better = False
    description = "mean drop when each word is deleted with probability = 1 - its scaled importance"
    reference = "Zhao & Aletras 2023"

    def rows(self, ctx: RowContext) -> list[list[int]]:
        words, p = soft_probabilities(ctx)
        n = int(ctx.settings.get("n_soft", 10))
        # another stream than soft comprehensiveness's: the two draws are independent
        return soft_rows(ctx.input_ids, ctx.token_to_word, words, 1.0 - p, n, ctx.seed + 1)

    def score(self, ctx: RowContext, p_full: float, values: np.ndarray) -> float:
        return float(np.mean(p_full - np.asarray(values, dtype=np.float64)))


register_metric(SoftSufficiency())
