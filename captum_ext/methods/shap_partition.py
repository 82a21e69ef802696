"""SHAP's Partition explainer with a ``Text`` masker, through the adapter."""

from __future__ import annotations

from typing import Any

import numpy as np

from captum_ext.adapters.alignment import TextEncoding, words_overlapping
from captum_ext.adapters.hf import Output, TextClassifierAdapter
from captum_ext.methods.base import Scores, TextExplainer
from captum_ext.methods.registry import MethodSpec, register_method
from captum_ext.validation import check_scalar

__all__ = ["ShapPartitionExplainer", "shap_values_to_words"]


def shap_values_to_words(
    segments: list[str], values: np.ndarray, text: str, spans: list[tuple[int, int]]
) -> np.ndarray:
    """Sum SHAP values of the masker's token segments into our words.

    ``shap.maskers.Text`` cuts the text into segments that, concatenated, give the text back
    (special tokens are empty segments); a segment's value goes to the word it overlaps, split
    evenly if it overlaps several, and whitespace-only segments carry nothing.
    """
    scores = np.zeros(len(spans))
    pos = 0
    for seg, val in zip(segments, values, strict=True):
        start = text.find(seg, pos) if seg else -1
        if start < 0:
            continue
        end = start + len(seg)
        pos = end
        hits = words_overlapping(spans, start, end)
        for w in hits:
            scores[w] += float(val) / len(hits)
    return scores


class ShapPartitionExplainer(TextExplainer):
    """SHAP Partition explainer (Lundberg & Lee 2017) with ``shap.maskers.Text``.

    Word scores are the Owen values of the masker's tokens summed per word. The masker works on
    the adapter's token ids (:class:`~captum_ext.adapters.shap_text.EncodingTextMasker`): a
    masked token becomes [MASK] in place, so the tokens kept keep their positions, and special
    tokens (the [SEP] of a text pair) are never masked. The explainer calls
    the model in batches of ``batch_size`` (SHAP's default of 5 is slow). Note that the batch
    size changes which nodes Partition expands under ``max_evals``, hence its values.
    Partition draws no random numbers (the masker's hierarchy comes from the text), so the
    method is registered as deterministic and ``random_state`` has no effect on it.

    Args:
        adapter: the model wrapper.
        max_evals (int, optional): model evaluations per text. Default: 500
        batch_size (int, optional): masked texts per call. Default: 64
        output (str, optional): ``"probs"``, ``"logits"`` or ``"log_odds"``. Default: ``"probs"``

    Examples::

        >>> from captum_ext.adapters import TextClassifierAdapter
        >>> from captum_ext.methods import make_explainer
        >>> adapter = TextClassifierAdapter.from_pretrained()  # doctest: +SKIP
        >>> shap_exp = make_explainer("shap-partition", adapter)  # doctest: +SKIP
        >>> round(shap_exp.explain("what a lovely day").extras["base_value"], 2)  # doctest: +SKIP
        0.91
    """

    name = "shap-partition"

    def __init__(
        self,
        adapter: TextClassifierAdapter,
        *,
        max_evals: int = 500,
        batch_size: int = 64,
        output: Output = "probs",
        **kw: Any,
    ) -> None:
        check_scalar(max_evals, "max_evals", min_val=2)
        super().__init__(adapter, max_evals=max_evals, batch_size=batch_size, output=output, **kw)
        self.max_evals = max_evals
        self.batch_size = batch_size
        self._explainer = adapter.shap_explainer(algorithm="partition", output=output)

    def _explain(
        self, encoding: TextEncoding, target: int, probs: np.ndarray, random_state: int | None
    ) -> Scores:
        key = self._explainer.masker.register(encoding)
        sv = self._explainer(
            [key], max_evals=self.max_evals, batch_size=self.batch_size, silent=True
        )[0]
        segments = [str(s) for s in sv.data]
        values = np.asarray(sv.values)[:, target]
        return Scores(
            token_scores=values.astype(np.float64),
            extras={
                "base_value": float(np.asarray(sv.base_values)[target]),
                "shap_tokens": segments,
                "shap_values": values.tolist(),
            },
        )


register_method(
    MethodSpec(
        name="shap-partition",
        factory=ShapPartitionExplainer,
        description="SHAP Partition explainer with a Text masker, batched through the adapter "
        "(deterministic: no sampling, so --seed has no effect)",
        family="perturbation",
        signed=True,
        stochastic=False,
        source="shap",
        defaults={"max_evals": 500, "batch_size": 64},
    )
)
