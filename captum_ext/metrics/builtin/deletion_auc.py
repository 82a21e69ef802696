r"""Deletion AUC: area under :math:`p(x \setminus r_k)` as the top words are deleted one by one.

Over the removed fraction k/n in [0, 1] (trapezoids, at most ``max_steps`` points); lower is more
faithful. Petsiuk et al. 2018, "RISE", https://arxiv.org/abs/1806.07421 (deletion game).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from captum_ext.metrics.faithfulness import delete_words, deletion_area, deletion_steps
from captum_ext.metrics.protocol import RowContext, RowMetric, register_metric


class DeletionAUC(RowMetric):
    name = "deletion_auc"
    label = "deletion AUC ↓"
    family = "faithfulness"
    higher_is_better = False
    description = "area under the explained class's probability as the top words are deleted"
    reference = "Petsiuk et al. 2018 (RISE deletion)"

    def _ks(self, ctx: RowContext) -> list[int]:
        return deletion_steps(ctx.n_words, int(ctx.settings.get("max_steps", 20)))

    def rows(self, ctx: RowContext) -> list[list[int]]:
        return [delete_words(ctx.input_ids, ctx.token_to_word, ctx.order[:k]) for k in self._ks(ctx)]

    def score(self, ctx: RowContext, p_full: float, values: np.ndarray) -> float:
        return deletion_area(self._ks(ctx), values, ctx.n_words)

    def details(self, ctx: RowContext, p_full: float, values: np.ndarray) -> dict[str, Any]:
        return {"deletion_curve": np.asarray(values).tolist(), "deletion_ks": self._ks(ctx)}


register_metric(DeletionAUC())
