r"""Soft comprehensiveness (Zhao & Aletras 2023): each word deleted at random with probability
equal to its importance scaled to [0, 1]; the mean drop :math:`p(x) - p(\tilde x)` over
``n_soft`` draws. Higher is more faithful.

Unlike hard top-k deletion, every word can go and the rows stay closer to the texts the model
was trained on. Zhao & Aletras 2023, "Incorporating Attribution Importance for Improving
Faithfulness Metrics", ACL, https://aclanthology.org/2023.acl-long.261 (they mask embedding
dimensions; here whole words are deleted with the harness's one masking operator).
"""

from __future__ import annotations

import numpy as np

from captum_ext.metrics.faithfulness import soft_keep_probabilities, soft_rows
from captum_ext.metrics.protocol import RowContext, RowMetric, register_metric


def soft_probabilities(ctx: RowContext) -> tuple[list[int], np.ndarray]:
    """The seen words and each one's scaled importance (shared by both soft metrics)."""
    words = sorted(ctx.order)
    return words, soft_keep_probabilities([ctx.importance[w] for w in words])


class SoftComprehensiveness(RowMetric):
    name = "soft_comprehensiveness"
    label = "soft comprehensiveness ↑"
    family = "faithfulness"
    higher_is_better = True
    description = "mean drop when each word is deleted with probability = its scaled importance"
    reference = "Zhao & Aletras 2023"

    def rows(self, ctx: RowContext) -> list[list[int]]:
        words, p = soft_probabilities(ctx)
        n = int(ctx.settings.get("n_soft", 10))
        return soft_rows(ctx.input_ids, ctx.token_to_word, words, p, n, ctx.seed)

    def score(self, ctx: RowContext, p_full: float, values: np.ndarray) -> float:
        return float(np.mean(p_full - np.asarray(values, dtype=np.float64)))


register_metric(SoftComprehensiveness())
