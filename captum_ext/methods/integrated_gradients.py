"""Integrated Gradients on the word embeddings (Captum's ``LayerIntegratedGradients``)."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from captum.attr import LayerIntegratedGradients

from captum_ext.adapters.hf import Output, TextClassifierAdapter
from captum_ext.methods._many import BatchedTextExplainer, Prepared
from captum_ext.methods.base import Scores
from captum_ext.methods.registry import MethodSpec, register_method
from captum_ext.validation import check_scalar

__all__ = ["IntegratedGradientsExplainer"]


class IntegratedGradientsExplainer(BatchedTextExplainer):
    """Integrated Gradients (Sundararajan et al. 2017, https://arxiv.org/abs/1703.01365).

    Captum's ``LayerIntegratedGradients`` on the input embedding layer, from a baseline that keeps
    [CLS]/[SEP] and pads every other position. A token's score is its attribution summed over the
    embedding dimensions; word scores sum their tokens. The convergence delta (completeness error:
    sum of attributions minus ``f(x) - f(baseline)``) is reported in ``extras``.

    Args:
        adapter: the model wrapper.
        n_steps (int, optional): Riemann steps of the path integral. Default: 50
        method (str, optional): Captum's integral approximation. Default: ``"gausslegendre"``
        output (str, optional): what is explained, ``"probs"``, ``"logits"`` or ``"log_odds"``.
            Default: ``"probs"``
        internal_batch_size (int, optional): rows (path points x texts) per forward pass,
            Captum's ``internal_batch_size``. Default: 200
        batch_size (int, optional): texts per Captum call in ``explain_many``: their steps go
            through the model together in length-sorted, padded batches with an attention mask
            (each row's gradient is its own, so the scores equal the text-by-text ones to
            floating-point rounding). Default: 8

    Examples::

        >>> from captum_ext.adapters import TextClassifierAdapter
        >>> from captum_ext.methods import make_explainer
        >>> adapter = TextClassifierAdapter.from_pretrained()  # doctest: +SKIP
        >>> ig = make_explainer("ig", adapter, n_steps=32)  # doctest: +SKIP
        >>> ig.explain("not bad at all").top_words(2)  # doctest: +SKIP
        ['not', 'all']
    """

    name = "ig"

    def __init__(
        self,
        adapter: TextClassifierAdapter,
        *,
        n_steps: int = 50,
        method: str = "gausslegendre",
        output: Output = "probs",
        internal_batch_size: int = 200,
        batch_size: int = 8,
        **kw: Any,
    ) -> None:
        check_scalar(n_steps, "n_steps", min_val=1)
        check_scalar(batch_size, "batch_size", min_val=1)
        check_scalar(internal_batch_size, "internal_batch_size", min_val=1)
        super().__init__(
            adapter,
            n_steps=n_steps,
            method=method,
            output=output,
            internal_batch_size=internal_batch_size,
            batch_size=batch_size,
            baseline="[CLS] [PAD]... [SEP]",
            **kw,
        )
        self.n_steps = n_steps
        self.method = method
        self.internal_batch_size = internal_batch_size
        self.batch_size = batch_size
        self.texts_per_call = batch_size * 4  # enough texts for length-sorting to pay off
        self._lig = LayerIntegratedGradients(adapter.forward_func(output), adapter.embedding_layer)

    def _explain_batch(self, items: list[Prepared]) -> list[Scores]:
        rows = [p.encoding.input_ids for p in items]
        out: list[Scores] = [Scores()] * len(rows)
        for idx, ids, mask in self.adapter.iter_batches(rows, self.batch_size):
            with torch.enable_grad():
                attributions, delta = self._lig.attribute(
                    ids,
                    baselines=self.adapter.baselines(ids),
                    additional_forward_args=(mask,),
                    target=[items[i].target for i in idx],
                    n_steps=self.n_steps,
                    method=self.method,
                    # Captum splits the steps so that a forward pass holds at most this many rows
                    # (at least one step of every text)
                    internal_batch_size=max(self.internal_batch_size, len(idx)),
                    return_convergence_delta=True,
                )
            scores = attributions.detach().sum(dim=-1).float().cpu().numpy().astype(np.float64)
            deltas = delta.detach().abs().float().cpu().numpy()
            for j, i in enumerate(idx):
                out[i] = Scores(
                    token_scores=scores[j, : len(rows[i])],
                    extras={"convergence_delta": float(deltas[j])},
                )
        return out


register_method(
    MethodSpec(
        name="ig",
        factory=IntegratedGradientsExplainer,
        description="Integrated Gradients on the word embeddings (Captum LayerIntegratedGradients)",
        family="gradient",
        signed=True,
        stochastic=False,
        source="captum",
        defaults={"n_steps": 50, "batch_size": 8, "internal_batch_size": 200},
    )
)
