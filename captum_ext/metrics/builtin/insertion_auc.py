r"""Insertion AUC: area under :math:`p(r_k)` as the top words are put back one by one into an
empty text (special tokens only).

Over the inserted fraction k/n in [0, 1] (trapezoids, at most ``max_steps`` points); higher is
more faithful. Petsiuk et al. 2018, "RISE", https://arxiv.org/abs/1806.07421 (insertion game).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from captum_ext.metrics.faithfulness import deletion_area, deletion_steps, insertion_rows
from captum_ext.metrics.protocol import RowContext, RowMetric, register_metric


class InsertionAUC(RowMetric):
    name = "insertion_auc"
    label = "insertion AUC ↑"
    family = "faithfulness"
    higher_is_better = True
    description = "area under the explained class's probability as the top words are inserted"
    reference = "Petsiuk et al. 2018 (RISE insertion)"

    def _ks(self, ctx: RowContext) -> list[int]:
        return deletion_steps(ctx.n_words, int(ctx.settings.get("max_steps", 20)))

    def rows(self, ctx: RowContext) -> list[list[int]]:
        return insertion_rows(ctx.input_ids, ctx.token_to_word, ctx.order, self._ks(ctx))

    def score(self, ctx: RowContext, p_full: float, values: np.ndarray) -> float:
        return deletion_area(self._ks(ctx), values, ctx.n_words)

    def details(self, ctx: RowContext, p_full: float, values: np.ndarray) -> dict[str, Any]:
        return {"insertion_curve": np.asarray(values).tolist()}


register_metric(InsertionAUC())
