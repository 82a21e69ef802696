r"""Model-parameter randomisation (Adebayo et al. 2018; Quantus' ``MPRT``): the explanation of
the same text and class when the classifier head and then the top layers are re-initialised
(cascading, :mod:`captum_ext.metrics.randomise`), compared with the trained model's.

The value is the absolute Spearman correlation between the trained model's word importance and
the one at the deepest randomisation level (``randomisation_levels[-1]``, default ``"all"``),
corrected for chance (:func:`~captum_ext.metrics.similarity.chance_corrected_abs`): 0 is as
similar as two unrelated rankings of the text's words, 1 is the same ranking. Short texts make
raw rank correlations large by chance (two unrelated rankings of 3 words have |ρ| ≥ 0.5 always),
so the raw |ρ| would fail every method on tweets of a few words. The raw ρ of every level is kept
in the record's details. Lower is better: an explanation that barely changes when the model is
destroyed is not explaining the model. The absolute value follows Adebayo et al., who compare
absolute rank correlations, so a method whose scores merely flip sign does not pass for one that
changed.
Adebayo et al. 2018, "Sanity Checks for Saliency Maps", https://arxiv.org/abs/1810.03292.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from captum_ext.metrics.protocol import Variant, VariantMetric, register_metric
from captum_ext.metrics.similarity import chance_corrected_abs, importance_spearman

#: Default cascade: the head alone, then the head and every encoder layer.
DEFAULT_LEVELS: tuple[str, ...] = ("head", "all")


class Randomisation(VariantMetric):
    name = "randomisation"
    label = "|ρ| with randomised model, above chance ↓"
    family = "randomisation"
    higher_is_better = False
    description = (
        "absolute rank correlation with the explanation of a model whose head and encoder layers "
        "were re-initialised, corrected for chance (0: unrelated, 1: the same ranking)"
    )
    reference = "Adebayo et al. 2018 (cascading model randomisation); Quantus MPRT"

    def _levels(self, settings: Mapping[str, Any]) -> list[str]:
        return list(settings.get("randomisation_levels") or DEFAULT_LEVELS)

    def variants(
        self, text: str, target: int, probs: np.ndarray, settings: Mapping[str, Any], seed: int
    ) -> list[Variant]:
        return [Variant(f"model:{lv}", text, target, model=lv) for lv in self._levels(settings)]

    def score(self, original: Any, variants: Mapping[str, Any]) -> float:
        names = [n for n in variants if n.startswith("model:")]
        if not names:
            return float("nan")
        deepest = variants[names[-1]]
        n = len(np.intersect1d(original.seen_words(), deepest.seen_words()))
        return chance_corrected_abs(importance_spearman(original, deepest), n)

    def details(self, original: Any, variants: Mapping[str, Any]) -> dict[str, Any]:
        return {
            n: importance_spearman(original, wa)
            for n, wa in variants.items()
            if n.startswith("model:")
        }


register_metric(Randomisation())
