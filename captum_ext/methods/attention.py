"""Attention as explanation: last-layer [CLS] attention and attention rollout.

Both read the model's attention weights (eager attention, switched on by the adapter for the
call, ``batch_size`` texts a forward pass through ``adapter.map_batches``) and score each token by how much the [CLS] position, whose final state feeds the classifier
head, attends to it. They are magnitudes (``signed=False``) and do not depend on the class: the
target is recorded in the result but changes nothing. Attention says where information is routed,
not whether it raises or lowers a class (Jain & Wallace 2019, "Attention is not Explanation").

The share of the [CLS] row that falls on the special tokens ([CLS], [SEP]), which belong to no
word and are dropped from the word scores, is reported as ``extras["special_tokens_share"]``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from captum_ext.adapters.hf import TextClassifierAdapter
from captum_ext.methods._many import BatchedTextExplainer, Prepared
from captum_ext.methods.base import Scores
from captum_ext.methods.registry import MethodSpec, register_method
from captum_ext.validation import check_scalar

__all__ = [
    "AttentionLastExplainer",
    "AttentionRolloutExplainer",
    "attention_rollout",
    "last_layer_cls_attention",
]


def last_layer_cls_attention(attentions: Tensor) -> Tensor:
    """The [CLS] row of the last layer's attention, averaged over heads.

    Args:
        attentions (Tensor): ``(batch, layers, heads, L, L)`` attention weights (rows sum to 1).

    Returns:
        Tensor: ``(batch, L)``, how much position 0 attends to each position.

    Examples::

        >>> import torch
        >>> att = torch.softmax(torch.randn(1, 2, 3, 4, 4), dim=-1)
        >>> round(last_layer_cls_attention(att).sum().item(), 4)
        1.0
    """
    return attentions[:, -1].mean(dim=1)[:, 0, :]


def attention_rollout(attentions: Tensor) -> Tensor:
    """Attention rollout (Abnar & Zuidema 2020, https://arxiv.org/abs/2005.00928).

    Per layer, the attention averaged over heads with the residual connection added as the paper
    does, ``Â = 0.5·A + 0.5·I``, rows re-normalised to 1; then rolled out from the first layer up,
    ``R = Â_L · … · Â_2 · Â_1``. Row ``i`` of ``R`` says how much of position ``i``'s last-layer
    state comes from each input token.

    Args:
        attentions (Tensor): ``(batch, layers, heads, L, L)`` attention weights.

    Returns:
        Tensor: ``(batch, L, L)`` rollout matrices (rows sum to 1).

    Examples::

        >>> import torch
        >>> att = torch.softmax(torch.randn(2, 3, 4, 5, 5), dim=-1)
        >>> r = attention_rollout(att)
        >>> r.shape, bool(torch.allclose(r.sum(-1), torch.ones(2, 5)))
        (torch.Size([2, 5, 5]), True)
    """
    a = attentions.mean(dim=2)  # (batch, layers, L, L)
    eye = torch.eye(a.shape[-1], dtype=a.dtype, device=a.device)
    a = 0.5 * a + 0.5 * eye
    a = a / a.sum(dim=-1, keepdim=True)
    rollout = a[:, 0]
    for layer in range(1, a.shape[1]):
        rollout = a[:, layer] @ rollout
    return rollout


class _AttentionExplainer(BatchedTextExplainer):
    """Shared code: eager attention, ``batch_size`` texts a forward pass through ``map_batches``."""

    signed = False

    def __init__(self, adapter: TextClassifierAdapter, *, batch_size: int = 32, **kw: Any) -> None:
        check_scalar(batch_size, "batch_size", min_val=1)
        super().__init__(adapter, batch_size=batch_size, **kw)
        self.batch_size = batch_size
        self.texts_per_call = batch_size * 4

    @staticmethod
    def _cls_scores(attentions: Tensor) -> Tensor:
        """``(batch, layers, heads, L, L)`` → ``(batch, L)`` token scores."""
        raise NotImplementedError

    def _explain_batch(self, items: list[Prepared]) -> list[Scores]:
        rows = [p.encoding.input_ids for p in items]
        width = max(len(r) for r in rows)
        reduce = self._cls_scores
        adapter = self.adapter

        def fn(model: nn.Module, ids: Tensor, mask: Tensor) -> Tensor:
            out = model(**adapter.model_inputs(ids, mask), output_attentions=True)
            scores = reduce(torch.stack(out.attentions, dim=1).double())
            # padded positions get exactly zero attention; pad every batch to one width
            return F.pad(scores, (0, width - scores.shape[1]))

        with self.adapter.eager_attention():
            token_scores = self.adapter.map_batches(rows, fn, batch_size=self.batch_size)
        out = []
        for p, row_scores in zip(items, token_scores, strict=True):
            ts = row_scores[: len(p.encoding.input_ids)].astype(np.float64)
            special = [i for i, w in enumerate(p.encoding.token_to_word) if w is None]
            share = float(ts[special].sum())
            out.append(Scores(token_scores=ts, extras={"special_tokens_share": share}))
        return out


class AttentionLastExplainer(_AttentionExplainer):
    """Last-layer attention from [CLS], averaged over heads.

    A token's score is ``mean_h A^{(L)}_{h}[CLS, i]``, the attention the [CLS] position pays to it
    in the last layer, averaged over heads; word scores sum their word-pieces. Magnitudes only,
    class-independent (see the module docstring).

    Args:
        adapter: the model wrapper.
        batch_size (int, optional): texts per forward pass in ``explain_many``. Default: 32

    Examples::

        >>> from captum_ext.adapters import TextClassifierAdapter
        >>> from captum_ext.methods import make_explainer
        >>> adapter = TextClassifierAdapter.from_pretrained()  # doctest: +SKIP
        >>> att = make_explainer("attention-last", adapter)  # doctest: +SKIP
        >>> round(att.explain("what a lovely day").extras["special_tokens_share"], 2)  # doctest: +SKIP
        0.54
    """

    name = "attention-last"

    @staticmethod
    def _cls_scores(attentions: Tensor) -> Tensor:
        return last_layer_cls_attention(attentions)


class AttentionRolloutExplainer(_AttentionExplainer):
    """Attention rollout (Abnar & Zuidema 2020, https://arxiv.org/abs/2005.00928) from [CLS].

    A token's score is the [CLS] row of :func:`attention_rollout`: head-averaged attention with
    the residual identity (``0.5·A + 0.5·I``, rows re-normalised) multiplied through all layers.
    Word scores sum their word-pieces. Magnitudes only, class-independent.

    Args:
        adapter: the model wrapper.
        batch_size (int, optional): texts per forward pass in ``explain_many``. Default: 32

    Examples::

        >>> from captum_ext.adapters import TextClassifierAdapter
        >>> from captum_ext.methods import make_explainer
        >>> adapter = TextClassifierAdapter.from_pretrained()  # doctest: +SKIP
        >>> roll = make_explainer("attention-rollout", adapter)  # doctest: +SKIP
        >>> roll.explain("what a lovely day").top_words(1)  # doctest: +SKIP
        ['a']
    """

    name = "attention-rollout"

    @staticmethod
    def _cls_scores(attentions: Tensor) -> Tensor:
        return attention_rollout(attentions)[:, 0, :]


register_method(
    MethodSpec(
        name="attention-last",
        factory=AttentionLastExplainer,
        description="last-layer [CLS] attention averaged over heads (magnitudes, class-free)",
        family="attention",
        signed=False,
        stochastic=False,
        source="captum-ext",
        defaults={"batch_size": 32},
    )
)

register_method(
    MethodSpec(
        name="attention-rollout",
        factory=AttentionRolloutExplainer,
        description="attention rollout from [CLS] (Abnar & Zuidema 2020; magnitudes, class-free)",
        family="attention",
        signed=False,
        stochastic=False,
        source="captum-ext",
        defaults={"batch_size": 32},
    )
)
