"""Gradient methods on the word embeddings: saliency, input × gradient and SmoothGrad.

All three differentiate the adapter's Captum forward function (``adapter.forward_func(output)``,
the target class probability by default) with respect to the output of the word-embedding layer
(``adapter.embedding_layer``, before position embeddings and LayerNorm), then reduce each token's
embedding-sized vector to one number and sum tokens into words with the shared aggregation.

- ``saliency`` (Simonyan et al. 2014): ``|∂f_t/∂e_i|`` summed over the embedding dimensions
  (the L1 norm of the gradient, which is Captum's ``Saliency`` with ``abs=True`` followed by a sum;
  ``norm="l2"`` gives the Euclidean norm instead). Magnitudes only (``signed=False``).
- ``input-x-gradient`` (Shrikumar et al. 2016): ``Σ_d e_{i,d} · ∂f_t/∂e_{i,d}``, signed: a positive
  score means the token's embedding pushes ``f_t`` up (relative to a zero embedding, to first order).
- ``smoothgrad`` (Smilkov et al. 2017): Captum's ``NoiseTunnel`` over ``Saliency``, the mean of
  ``|∂f_t/∂ẽ|`` over ``nt_samples`` noisy copies ``ẽ = e + N(0, σ²)`` of the embeddings, summed over
  the dimensions like saliency. Magnitudes only, stochastic (seeded by ``random_state``).

Saliency and input × gradient use Captum's ``LayerGradientXActivation`` on the embedding layer and
batch across texts in ``explain_many`` (padded batches with an attention mask: each row's gradient
is its own). SmoothGrad needs noise on a float input, which token ids are not, so it hands Captum a
forward function over embeddings: the adapter's forward function with the embedding layer's output
replaced by the given tensor (a forward hook, as Captum's own layer methods do).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from captum.attr import LayerGradientXActivation, NoiseTunnel, Saliency
from torch import Tensor

from captum_ext.adapters.alignment import TextEncoding
from captum_ext.adapters.hf import Output, TextClassifierAdapter
from captum_ext.errors import InputError
from captum_ext.methods._many import BatchedTextExplainer, Prepared
from captum_ext.methods.base import Scores
from captum_ext.methods.registry import MethodSpec, register_method
from captum_ext.validation import check_output, check_scalar

__all__ = [
    "InputXGradientExplainer",
    "SaliencyExplainer",
    "SmoothGradExplainer",
    "embedding_forward_func",
]

_NORMS = ("l1", "l2")


def _reduce_norm(grads: Tensor, norm: str) -> Tensor:
    """``(..., H)`` gradients → ``(...,)`` magnitudes: L1 (sum of ``|g|``) or L2 norm."""
    if norm == "l1":
        return grads.abs().sum(dim=-1)
    return grads.norm(dim=-1)


def embedding_forward_func(
    adapter: TextClassifierAdapter, output: Output = "probs"
) -> Callable[[Tensor, Tensor, Tensor], Tensor]:
    """A forward function over word embeddings: ``f(embeds, input_ids, attention_mask)``.

    Runs ``adapter.forward_func(output)`` on ``input_ids`` with the output of
    ``adapter.embedding_layer`` replaced by ``embeds`` (shape ``input_ids.shape + (hidden,)``), so
    float-input Captum methods (``Saliency``, ``NoiseTunnel``) see the embeddings as their input.

    Examples::

        >>> from captum_ext.adapters import TextClassifierAdapter
        >>> from captum_ext.methods.gradients import embedding_forward_func
        >>> adapter = TextClassifierAdapter.from_pretrained()  # doctest: +SKIP
        >>> f = embedding_forward_func(adapter)  # doctest: +SKIP
        >>> ids, mask = adapter.captum_inputs("what a lovely day")  # doctest: +SKIP
        >>> f(adapter.embedding_layer(ids), ids, mask).shape  # doctest: +SKIP
        torch.Size([1, 2])
    """
    forward = adapter.forward_func(output)
    layer = adapter.embedding_layer

    def f(embeds: Tensor, input_ids: Tensor, attention_mask: Tensor) -> Tensor:
        handle = layer.register_forward_hook(lambda _m, _i, _o: embeds)
        try:
            return forward(input_ids, attention_mask)
        finally:
            handle.remove()

    return f


class _LayerGradientExplainer(BatchedTextExplainer):
    """Captum ``LayerGradientXActivation`` on the embedding layer, batched across texts."""

    multiply_by_inputs: bool = False

    def __init__(
        self,
        adapter: TextClassifierAdapter,
        *,
        output: Output = "probs",
        batch_size: int = 16,
        **kw: Any,
    ) -> None:
        check_output(output)
        check_scalar(batch_size, "batch_size", min_val=1)
        super().__init__(adapter, output=output, batch_size=batch_size, **kw)
        self.output = output
        self.batch_size = batch_size
        self.texts_per_call = batch_size * 4  # enough rows for length-sorting to pay off
        self._layer_attr = LayerGradientXActivation(
            adapter.forward_func(output),
            adapter.embedding_layer,
            multiply_by_inputs=self.multiply_by_inputs,
        )

    def _reduce(self, attributions: Tensor) -> Tensor:
        """``(batch, L, H)`` layer attributions → ``(batch, L)`` token scores."""
        raise NotImplementedError

    def _explain_batch(self, items: list[Prepared]) -> list[Scores]:
        rows = [p.encoding.input_ids for p in items]
        out: list[Scores] = [Scores()] * len(rows)
        # length-sorted padded batches with an attention mask: each row's gradient is its own
        for idx, ids, mask in self.adapter.iter_batches(rows, self.batch_size):
            with torch.enable_grad():
                attributions = self._layer_attr.attribute(
                    ids,
                    target=[items[i].target for i in idx],
                    additional_forward_args=(mask,),
                )
            scores = self._reduce(attributions.detach()).cpu().numpy().astype(np.float64)
            for j, i in enumerate(idx):
                out[i] = Scores(token_scores=scores[j, : len(rows[i])])
        return out


class SaliencyExplainer(_LayerGradientExplainer):
    """Gradient saliency (Simonyan et al. 2014, https://arxiv.org/abs/1312.6034) on word embeddings.

    A token's score is the norm of the gradient of the target output with respect to its word
    embedding: ``Σ_d |∂f_t/∂e_{i,d}|`` (L1, the default, which is Captum's ``Saliency`` summed over
    the embedding dimensions) or ``‖∂f_t/∂e_i‖₂`` (``norm="l2"``). Magnitudes only
    (``signed=False``): a large score says the output is sensitive to the word, not in which
    direction. Computed with Captum's ``LayerGradientXActivation(multiply_by_inputs=False)``.

    Args:
        adapter: the model wrapper.
        output (str, optional): what is differentiated for the target class, ``"probs"``,
            ``"logits"`` or ``"log_odds"``. Default: ``"probs"``
        norm (str, optional): ``"l1"`` or ``"l2"`` over the embedding dimensions. Default: ``"l1"``
        batch_size (int, optional): texts per backward pass in ``explain_many``. Default: 16

    Examples::

        >>> from captum_ext.adapters import TextClassifierAdapter
        >>> from captum_ext.methods import make_explainer
        >>> adapter = TextClassifierAdapter.from_pretrained()  # doctest: +SKIP
        >>> sal = make_explainer("saliency", adapter)  # doctest: +SKIP
        >>> sal.explain("what a lovely day").top_words(1)  # doctest: +SKIP
        ['lovely']
    """

    name = "saliency"
    signed = False
    multiply_by_inputs = False

    def __init__(
        self,
        adapter: TextClassifierAdapter,
        *,
        output: Output = "probs",
        norm: str = "l1",
        batch_size: int = 16,
        **kw: Any,
    ) -> None:
        if norm not in _NORMS:
            raise InputError(f"norm must be 'l1' or 'l2', got {norm!r}.")
        super().__init__(adapter, output=output, batch_size=batch_size, norm=norm, **kw)
        self.norm = norm

    def _reduce(self, attributions: Tensor) -> Tensor:
        return _reduce_norm(attributions, self.norm)


class InputXGradientExplainer(_LayerGradientExplainer):
    """Input × gradient (Shrikumar et al. 2016, https://arxiv.org/abs/1605.01713) on word embeddings.

    A token's score is ``Σ_d e_{i,d} · ∂f_t/∂e_{i,d}``, the first-order change of the target output
    when its word embedding is replaced by zeros. Signed: a positive score pushes the prediction
    towards the target class. Captum's ``LayerGradientXActivation`` on the embedding layer, summed
    over the embedding dimensions.

    A caveat for BERT-like models, whose embedding block is ``LayerNorm(e + p + s)`` (word,
    position, segment): LayerNorm is invariant to shifting and scaling its input, so the gradient
    ``g`` at its input is orthogonal to that input and ``g·e = −g·(p + s)``. The score measures
    the gradient along the position and segment embeddings rather than the word, and on a model
    driven by one planted word it does not rank that word first (see
    ``tests/unit/test_methods_signs.py``). Integrated Gradients, which integrates from a [PAD]
    baseline instead of taking one first-order step, does.

    Args:
        adapter: the model wrapper.
        output (str, optional): ``"probs"``, ``"logits"`` or ``"log_odds"``. Default: ``"probs"``
        batch_size (int, optional): texts per backward pass in ``explain_many``. Default: 16

    Examples::

        >>> from captum_ext.adapters import TextClassifierAdapter
        >>> from captum_ext.methods import make_explainer
        >>> adapter = TextClassifierAdapter.from_pretrained()  # doctest: +SKIP
        >>> ixg = make_explainer("input-x-gradient", adapter)  # doctest: +SKIP
        >>> ixg.explain("what a lovely day", target="positive").top_words(1)  # doctest: +SKIP
        ['day']
    """

    name = "input-x-gradient"
    signed = True
    multiply_by_inputs = True

    def _reduce(self, attributions: Tensor) -> Tensor:
        return attributions.sum(dim=-1)


class SmoothGradExplainer(BatchedTextExplainer):
    """SmoothGrad (Smilkov et al. 2017, https://arxiv.org/abs/1706.03825) on word embeddings.

    Captum's ``NoiseTunnel(Saliency)`` with ``nt_type="smoothgrad"``: the element-wise mean of
    ``|∂f_t/∂ẽ|`` over ``nt_samples`` noisy copies ``ẽ = e + N(0, σ²)`` of the text's word embeddings
    (every position, special tokens included), reduced over the embedding dimensions like saliency
    (L1 by default). Magnitudes only (``signed=False``); stochastic, seeded by ``random_state``.

    The noise scale: Smilkov et al. set σ to 10–20 % of the input's range; a transformer's
    embedding range is set by a few outlier dimensions, so here σ is relative to the embedding
    *size* instead: ``σ = noise_level · mean_i ‖e_i‖₂ / √H``, which makes the expected noise norm
    ``noise_level`` times the mean word-embedding norm. ``stdevs`` sets σ directly instead. The
    default, 1.0, is the smallest level at which SmoothGrad differs from plain saliency on the
    default model (Spearman ρ with saliency 0.99 at 0.2, 0.98 at 0.5, 0.87 at 1.0; seed-to-seed
    ρ 0.90 at 20 samples; 8 tweets).

    Args:
        adapter: the model wrapper.
        nt_samples (int, optional): noisy copies per text. Default: 20
        noise_level (float, optional): noise norm relative to the embedding norm. Default: 1.0
        stdevs (float, optional): absolute σ (overrides ``noise_level``). Default: None
        output (str, optional): ``"probs"``, ``"logits"`` or ``"log_odds"``. Default: ``"probs"``
        norm (str, optional): ``"l1"`` or ``"l2"`` over the embedding dimensions. Default: ``"l1"``
        nt_samples_batch_size (int, optional): noisy copies per backward pass (times
            ``batch_size`` in ``explain_many``). Default: 20
        batch_size (int, optional): texts per backward pass in ``explain_many``: their noisy
            copies go through the model together in length-sorted, padded batches, each text with
            the noise a text-by-text run draws (its own σ, the seed's normal draw of shape
            ``(nt_samples, L, H)``), so the scores equal ``explain``'s (Captum's ``NoiseTunnel``)
            to rounding. Default: 4

    Examples::

        >>> from captum_ext.adapters import TextClassifierAdapter
        >>> from captum_ext.methods import make_explainer
        >>> adapter = TextClassifierAdapter.from_pretrained()  # doctest: +SKIP
        >>> sg = make_explainer("smoothgrad", adapter, nt_samples=10)  # doctest: +SKIP
        >>> sg.explain("what a lovely day", random_state=0).top_words(1)  # doctest: +SKIP
        ['lovely']
    """

    name = "smoothgrad"
    signed = False
    stochastic = True

    def __init__(
        self,
        adapter: TextClassifierAdapter,
        *,
        nt_samples: int = 20,
        noise_level: float = 1.0,
        stdevs: float | None = None,
        output: Output = "probs",
        norm: str = "l1",
        nt_samples_batch_size: int = 20,
        batch_size: int = 4,
        **kw: Any,
    ) -> None:
        check_output(output)
        check_scalar(batch_size, "batch_size", min_val=1)
        check_scalar(nt_samples, "nt_samples", min_val=1)
        check_scalar(nt_samples_batch_size, "nt_samples_batch_size", min_val=1)
        check_scalar(noise_level, "noise_level", min_val=0)
        check_scalar(stdevs, "stdevs", min_val=0, allow_none=True, hint="(None: noise_level)")
        if norm not in _NORMS:
            raise InputError(f"norm must be 'l1' or 'l2', got {norm!r}.")
        super().__init__(
            adapter,
            nt_samples=nt_samples,
            noise_level=noise_level,
            stdevs=stdevs,
            output=output,
            norm=norm,
            nt_samples_batch_size=nt_samples_batch_size,
            batch_size=batch_size,
            **kw,
        )
        self.batch_size = batch_size
        self.texts_per_call = batch_size * 4
        self._embedding_forward = embedding_forward_func(adapter, output)
        self.nt_samples = nt_samples
        self.noise_level = float(noise_level)
        self.stdevs = None if stdevs is None else float(stdevs)
        self.output = output
        self.norm = norm
        self.nt_samples_batch_size = nt_samples_batch_size
        self._nt = NoiseTunnel(Saliency(self._embedding_forward))

    def noise_stdev(self, embeds: Tensor) -> float:
        """σ for one text's word embeddings ``(1, L, H)`` (see the class docstring)."""
        if self.stdevs is not None:
            return self.stdevs
        hidden = embeds.shape[-1]
        return float(self.noise_level * embeds.norm(dim=-1).mean().item() / hidden**0.5)

    def _explain(
        self, encoding: TextEncoding, target: int, probs: np.ndarray, random_state: int | None
    ) -> Scores:
        ids = torch.tensor([encoding.input_ids], dtype=torch.long, device=self.adapter.device)
        mask = torch.ones_like(ids)
        with torch.no_grad():
            embeds = self.adapter.embedding_layer(ids).detach()
        sigma = self.noise_stdev(embeds)
        with torch.random.fork_rng(devices=[]), torch.enable_grad():
            if random_state is not None:
                torch.manual_seed(random_state)
            grads = self._nt.attribute(
                embeds,
                nt_type="smoothgrad",
                nt_samples=self.nt_samples,
                nt_samples_batch_size=self.nt_samples_batch_size,
                stdevs=sigma,
                target=target,
                additional_forward_args=(ids, mask),
                abs=True,
            )
        token_scores = _reduce_norm(grads.detach(), self.norm)[0].cpu().numpy().astype(np.float64)
        return Scores(token_scores=token_scores, extras={"stdev": sigma})

    def _explain_batch(self, items: list[Prepared]) -> list[Scores]:
        return self._explain_batch_seeded(items, None)

    def _explain_batch_seeded(
        self, items: list[Prepared], random_state: int | None
    ) -> list[Scores]:
        if len(items) == 1:  # one text: Captum's NoiseTunnel itself
            p = items[0]
            return [self._explain(p.encoding, p.target, p.probs, random_state)]
        rows = [p.encoding.input_ids for p in items]
        out: list[Scores] = [Scores()] * len(rows)
        n = self.nt_samples
        for idx, ids, mask in self.adapter.iter_batches(rows, self.batch_size):
            with torch.no_grad():
                clean = self.adapter.embedding_layer(ids).detach()  # (B, W, H)
            noisy, sigmas = [], []
            for j, i in enumerate(idx):
                length = len(rows[i])
                sigma = self.noise_stdev(clean[j : j + 1, :length])
                # the draw NoiseTunnel makes for this text alone after torch.manual_seed(seed)
                gen = torch.Generator(device="cpu")
                if random_state is not None:
                    gen.manual_seed(random_state)
                else:
                    gen.seed()
                std = torch.tensor(sigma, device="cpu").repeat(n, length, clean.shape[-1])
                noise = torch.zeros((n, *clean.shape[1:]), dtype=clean.dtype, device="cpu")
                noise[:, :length] = torch.normal(0.0, std, generator=gen)
                noisy.append(clean[j : j + 1] + noise.to(clean.device))
                sigmas.append(sigma)
            embeds = torch.cat(noisy)  # (B * n, W, H): text j's copies at rows j*n ... j*n+n-1
            row_ids = ids.repeat_interleave(n, dim=0)
            row_mask = mask.repeat_interleave(n, dim=0)
            row_targets = torch.tensor(
                [items[i].target for i in idx], device=ids.device
            ).repeat_interleave(n)
            grads = torch.empty_like(embeds)
            step = self.nt_samples_batch_size * len(idx)
            for s in range(0, embeds.shape[0], step):
                e = embeds[s : s + step].clone().requires_grad_(True)
                with torch.enable_grad():
                    outputs = self._embedding_forward(
                        e, row_ids[s : s + step], row_mask[s : s + step]
                    )
                    picked = outputs.gather(1, row_targets[s : s + step, None]).sum()
                    (g,) = torch.autograd.grad(picked, e)
                grads[s : s + step] = g.detach()
            mean_abs = grads.abs().reshape(len(idx), n, *grads.shape[1:]).mean(dim=1)
            scores = _reduce_norm(mean_abs, self.norm).float().cpu().numpy().astype(np.float64)
            for j, i in enumerate(idx):
                out[i] = Scores(token_scores=scores[j, : len(rows[i])], extras={"stdev": sigmas[j]})
        return out


_GRADIENT_DEFAULTS = {"output": "probs"}

register_method(
    MethodSpec(
        name="saliency",
        factory=SaliencyExplainer,
        description="gradient saliency |d f_t / d e| on the word embeddings, L1 over dimensions",
        family="gradient",
        signed=False,
        stochastic=False,
        source="captum",
        defaults={**_GRADIENT_DEFAULTS, "norm": "l1", "batch_size": 16},
    )
)

register_method(
    MethodSpec(
        name="input-x-gradient",
        factory=InputXGradientExplainer,
        description="input x gradient on the word embeddings (Captum LayerGradientXActivation)",
        family="gradient",
        signed=True,
        stochastic=False,
        source="captum",
        defaults={**_GRADIENT_DEFAULTS, "batch_size": 16},
    )
)

register_method(
    MethodSpec(
        name="smoothgrad",
        factory=SmoothGradExplainer,
        description="SmoothGrad: Captum NoiseTunnel over Saliency on the word embeddings",
        family="gradient",
        signed=False,
        stochastic=True,
        source="captum",
        defaults={
            **_GRADIENT_DEFAULTS,
            "nt_samples": 20,
            "noise_level": 1.0,
            "norm": "l1",
            "batch_size": 4,
        },
    )
)
