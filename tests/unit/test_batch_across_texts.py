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


def _forward_rows(adapter, fn):
    """Rows the model evaluates in ``fn()`` and the number of forward calls."""
    calls = []
    handle = adapter.model.register_forward_hook(lambda m, i, o: calls.append(o.logits.shape[0]))
    try:
        out = fn()
    finally:
        handle.remove()
    return out, len(calls), sum(calls)


@pytest.mark.parametrize(
    "name,settings",
    [
        ("lime", {"n_samples": 60}),
        ("lime", {"n_samples": 60, "sampler": "lime", "texts_per_call": 2}),
        ("lime-ngram", {"n_samples": 60}),
        ("lime-tree", {"n_samples": 60}),
        ("lime", {"n_samples": 60, "adaptive": True}),  # draws after fitting: text by text
        ("occlusion", {}),
        ("occlusion", {"mode": "remove", "texts_per_call": 2}),
    ],
)
def test_perturbation_rows_batched_across_texts_equal_text_by_text(adapter, name, settings):
    """explain_many puts the perturbed rows of several texts in one length-sorted adapter call;
    each text's neighbourhood is drawn as when it is explained alone (same seed)."""
    explainer = make_explainer(name, adapter, **settings)
    targets = [1, 0, 1, 0, 1]
    batched, calls, rows = _forward_rows(
        adapter, lambda: explainer.explain_many(TEXTS, targets=targets, random_state=3)
    )
    alone_calls = alone_rows = 0
    for text, target, wa in zip(TEXTS, targets, batched, strict=True):
        one, c, r = _forward_rows(
            adapter, lambda t=text, g=target: explainer.explain(t, target=g, random_state=3)
        )
        alone_calls, alone_rows = alone_calls + c, alone_rows + r
        np.testing.assert_allclose(wa.scores, one.scores, rtol=1e-5, atol=1e-7)
        np.testing.assert_allclose(wa.probs, one.probs, rtol=1e-5, atol=1e-7)
        for key in ("n_samples", "n_evaluations", "n_draws"):
            assert wa.extras.get(key) == one.extras.get(key)
    if not settings.get("adaptive"):
        assert calls < alone_calls  # fewer, fuller batches
    assert rows <= alone_rows


def test_lime_batched_rows_match_each_text_drawn_alone(adapter):
    """Same rows: the union of the texts' own neighbourhoods, nothing more."""
    lime = make_explainer("lime", adapter, n_samples=80)
    seen_batched: set = set()
    seen_alone: set = set()
    original = adapter.predict_ids

    def recorder(seen):
        def predict_ids(rows, **kw):
            seen.update(tuple(r) for r in rows)
            return original(rows, **kw)

        return predict_ids

    adapter.predict_ids = recorder(seen_batched)
    try:
        lime.explain_many(TEXTS, random_state=0)
        adapter.predict_ids = recorder(seen_alone)
        for t in TEXTS:
            lime.explain(t, random_state=0)
    finally:
        del adapter.predict_ids
    assert seen_batched == seen_alone
