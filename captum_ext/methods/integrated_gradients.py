"""Integrated Gradients on the word embeddings (Captum's ``LayerIntegratedGradients``)."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from captum.attr import LayerIntegratedGradients

from captum_ext.adapters.alignment import TextEncoding
from captum_ext.adapters.hf import Output, TextClassifierAdapter
from captum_ext.methods.base import Scores, TextExplainer
from captum_ext.methods.registry import MethodSpec, register_method
from captum_ext.validation import check_scalar

__all__ = ["IntegratedGradientsExplainer"]


class IntegratedGradientsExplainer(TextExplainer):
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
        internal_batch_size (int, optional): path points per forward pass. Default: 50

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
        internal_batch_size: int = 50,
        **kw: Any,
    ) -> None:
        check_scalar(n_steps, "n_steps", min_val=1)
        super().__init__(
            adapter,
            n_steps=n_steps,
            method=method,
            output=output,
            internal_batch_size=internal_batch_size,
            baseline="[CLS] [PAD]... [SEP]",
            **kw,
        )
        self.n_steps = n_steps
        self.method = method
        self.internal_batch_size = internal_batch_size
        self._lig = LayerIntegratedGradients(adapter.forward_func(output), adapter.embedding_layer)

    def _explain(
        self, encoding: TextEncoding, target: int, probs: np.ndarray, random_state: int | None
    ) -> Scores:
        ids = torch.tensor([encoding.input_ids], dtype=torch.long, device=self.adapter.device)
        mask = torch.ones_like(ids)
        attributions, delta = self._lig.attribute(
            ids,
            baselines=self.adapter.baselines(ids),
            additional_forward_args=(mask,),
            target=target,
            n_steps=self.n_steps,
            method=self.method,
            internal_batch_size=self.internal_batch_size,
            return_convergence_delta=True,
        )
        token_scores = attributions.sum(dim=-1)[0].detach().cpu().numpy().astype(np.float64)
        return Scores(
            token_scores=token_scores,
            extras={"convergence_delta": float(delta.abs().max().item())},
        )


register_method(
    MethodSpec(
        name="ig",
        factory=IntegratedGradientsExplainer,
        description="Integrated Gradients on the word embeddings (Captum LayerIntegratedGradients)",
        family="gradient",
        signed=True,
        stochastic=False,
        source="captum",
        defaults={"n_steps": 50},
    )
)
