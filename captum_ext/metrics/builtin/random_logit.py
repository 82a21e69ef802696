r"""Random logit (Sixt et al. 2020; Quantus' ``RandomLogit``): the explanation of the same text
for another class (drawn at random, seeded, among the classes other than the explained one),
compared with the explained class's.

The value is Spearman's ρ between the two explanations' word importance; lower is better (an
explanation of "why positive" that is the same as "why negative" does not explain the class).
For signed methods on a 2-class model the other class's explanation is often the exact negative
(ρ = −1). Sixt, Granz & Landgraf 2020, "When Explanations Lie: Why Many Modified BP Attributions
Fail", https://arxiv.org/abs/1912.09818; Quantus ``RandomLogit``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from captum_ext.metrics.protocol import Variant, VariantMetric, register_metric
from captum_ext.metrics.similarity import importance_spearman


class RandomLogit(VariantMetric):
    name = "random_logit"
    label = "ρ with another class ↓"
    family = "randomisation"
    higher_is_better = False
    description = "rank correlation with the explanation of another class, drawn at random"
    reference = "Sixt et al. 2020; Quantus RandomLogit"

    def variants(
        self, text: str, target: int, probs: np.ndarray, settings: Mapping[str, Any], seed: int
    ) -> list[Variant]:
        others = [c for c in range(len(probs)) if c != target]
        if not others:
            return []
        other = others[int(np.random.default_rng(seed).integers(len(others)))]
        return [Variant(f"target:{other}", text, other)]

    def score(self, original: Any, variants: Mapping[str, Any]) -> float:
        names = [n for n in variants if n.startswith("target:")]
        if not names:
            return float("nan")
        return importance_spearman(original, variants[names[0]])


register_metric(RandomLogit())
