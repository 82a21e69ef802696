"""Methods that batch several texts into one padded Captum call equal the text-by-text results."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from captum.attr import LayerIntegratedGradients

from captum_ext.methods import make_explainer

TEXTS = [
    "what a lovely day",
    "i hate mondays so much, worst day of the week",
    "ok",
    "not bad at all =) see you at the party tonight my friend",
    "meh",
]


def _captum_ig(adapter, text, target, n_steps):
    """Reference: Captum's LayerIntegratedGradients on one unpadded text, as the README shows."""
    ids, mask = adapter.captum_inputs(text)
    lig = LayerIntegratedGradients(adapter.forward_func("probs"), adapter.embedding_layer)
    attr, delta = lig.attribute(
        ids,
        adapter.baselines(ids),
        additional_forward_args=(mask,),
        target=target,
        n_steps=n_steps,
        method="gausslegendre",
        return_convergence_delta=True,
    )
    return attr.sum(-1)[0].detach().numpy(), float(delta.abs().item())


@pytest.mark.parametrize("batch_size,internal", [(2, 200), (8, 3), (8, 1000)])
def test_ig_batched_equals_captum_per_text(adapter, batch_size, internal):
    ig = make_explainer(
        "ig", adapter, n_steps=10, batch_size=batch_size, internal_batch_size=internal
    )
    targets = [0, 1, 1, 0, 1]
    batched = ig.explain_many(TEXTS, targets=targets)
    for text, target, wa in zip(TEXTS, targets, batched, strict=True):
        ref, ref_delta = _captum_ig(adapter, text, target, 10)
        np.testing.assert_allclose(wa.token_scores, ref, rtol=1e-4, atol=1e-6)
        assert wa.extras["convergence_delta"] == pytest.approx(ref_delta, abs=1e-5)
        single = ig.explain(text, target=target)
        np.testing.assert_allclose(wa.scores, single.scores, rtol=1e-4, atol=1e-6)


def test_ig_batches_fewer_forward_calls(adapter):
    calls = []
    handle = adapter.model.register_forward_hook(lambda m, i, o: calls.append(1))
    try:
        make_explainer("ig", adapter, n_steps=10, batch_size=8).explain_many(TEXTS)
        batched = len(calls)
        calls.clear()
        ig = make_explainer("ig", adapter, n_steps=10, batch_size=1)
        for t in TEXTS:
            ig.explain(t)
        per_text = len(calls)
    finally:
        handle.remove()
    assert batched < per_text


def test_ig_batch_settings_are_checked(adapter):
    from captum_ext.errors import InputError

    with pytest.raises(InputError, match="batch_size"):
        make_explainer("ig", adapter, batch_size=0)
    with pytest.raises(InputError, match="internal_batch_size"):
        make_explainer("ig", adapter, internal_batch_size=0)


def test_torch_grad_state_restored(adapter):
    make_explainer("ig", adapter, n_steps=4).explain_many(TEXTS[:2])
    assert torch.is_grad_enabled()


@pytest.mark.parametrize("batch_size,nt_batch", [(2, 3), (8, 20)])
def test_smoothgrad_batched_equals_noise_tunnel_per_text(adapter, batch_size, nt_batch):
    sg = make_explainer(
        "smoothgrad", adapter, nt_samples=5, batch_size=batch_size, nt_samples_batch_size=nt_batch
    )
    targets = [1, 0, 1, 1, 0]
    batched = sg.explain_many(TEXTS, targets=targets, random_state=7)
    for text, target, wa in zip(TEXTS, targets, batched, strict=True):
        one = sg.explain(text, target=target, random_state=7)  # Captum NoiseTunnel(Saliency)
        assert wa.extras["stdev"] == pytest.approx(one.extras["stdev"], rel=1e-6)
        np.testing.assert_allclose(wa.token_scores, one.token_scores, rtol=1e-4, atol=1e-9)
        assert wa.settings["random_state"] == 7


def test_smoothgrad_batched_leaves_global_rng_alone(adapter):
    sg = make_explainer("smoothgrad", adapter, nt_samples=3)
    torch.manual_seed(0)
    x = torch.rand(1)
    torch.manual_seed(0)
    sg.explain_many(TEXTS[:3], random_state=1)
    assert torch.rand(1) == x
