"""Saliency, input x gradient and SmoothGrad against hand-computed torch.autograd gradients."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from shared_fixtures import one_thread  # noqa: F401 (autouse fixture)

from captum_ext.aggregation import aggregate_to_words
from captum_ext.errors import InputError
from captum_ext.methods import get_method, make_explainer

TEXTS = [
    "just got home from dinner  best dinner i have had in a long time! =(",
    "wow",
    "@CynthiaLasVegas Thanks so much!!! Really appreciate that",
]


def autograd_grads(adapter, text, target, output="probs", noise=None):
    """Gradient of the target output w.r.t. the word embeddings, computed by hand.

    Returns ``(grads, embeds)`` of shape ``(n, L, H)``; ``noise`` (``(n, L, H)``) is added to the
    embeddings first (one row per noisy copy).
    """
    model = adapter.model
    ids = torch.tensor([adapter.encode(text).input_ids])
    emb = model.get_input_embeddings()(ids).detach()
    if noise is not None:
        emb = emb.repeat(noise.shape[0], 1, 1) + noise
    emb.requires_grad_(True)
    logits = model(inputs_embeds=emb, attention_mask=torch.ones(emb.shape[:2])).logits
    if output == "logits":
        out = logits[:, target]
    else:
        out = torch.softmax(logits, dim=-1)[:, target]
    (grad,) = torch.autograd.grad(out.sum(), emb)
    return grad, emb.detach()


def words_of(adapter, text, token_scores):
    enc = adapter.encode(text)
    return aggregate_to_words(token_scores, enc.token_to_word, len(enc.words))


@pytest.mark.parametrize("target", [0, 1])
@pytest.mark.parametrize("output", ["probs", "logits"])
def test_saliency_is_l1_norm_of_autograd_gradient(adapter, target, output):
    grad, _ = autograd_grads(adapter, TEXTS[0], target, output)
    ref_tokens = grad[0].abs().sum(-1).numpy()
    wa = make_explainer("saliency", adapter, output=output).explain(TEXTS[0], target=target)
    np.testing.assert_allclose(wa.token_scores, ref_tokens, rtol=1e-5, atol=1e-10)
    np.testing.assert_allclose(wa.scores, words_of(adapter, TEXTS[0], ref_tokens), rtol=1e-5)
    assert wa.signed is False and wa.target == target and np.all(wa.scores >= 0)


def test_saliency_l2_norm(adapter):
    grad, _ = autograd_grads(adapter, TEXTS[0], 1)
    wa = make_explainer("saliency", adapter, norm="l2").explain(TEXTS[0], target=1)
    np.testing.assert_allclose(wa.token_scores, grad[0].norm(dim=-1).numpy(), rtol=1e-5)


@pytest.mark.parametrize("target", [0, 1])
def test_input_x_gradient_matches_autograd(adapter, target):
    grad, emb = autograd_grads(adapter, TEXTS[0], target)
    ref_tokens = (grad[0] * emb[0]).sum(-1).numpy()
    wa = make_explainer("input-x-gradient", adapter).explain(TEXTS[0], target=target)
    np.testing.assert_allclose(wa.token_scores, ref_tokens, rtol=1e-5, atol=1e-10)
    np.testing.assert_allclose(
        wa.scores, words_of(adapter, TEXTS[0], ref_tokens), rtol=1e-5, atol=1e-10
    )
    assert wa.signed is True


@pytest.mark.parametrize("name", ["saliency", "input-x-gradient"])
def test_batched_explain_many_equals_one_by_one(adapter, name):
    ex = make_explainer(name, adapter, batch_size=2)  # padded batches of unequal lengths
    targets = [0, "positive", None]
    many = ex.explain_many(TEXTS, targets=targets)
    for wa, text, target in zip(many, TEXTS, targets, strict=True):
        one = ex.explain(text, target=target)
        assert wa.words == one.words and wa.target == one.target
        np.testing.assert_allclose(wa.token_scores, one.token_scores, rtol=1e-4, atol=1e-9)
        np.testing.assert_allclose(wa.probs, one.probs, rtol=1e-6)


def test_smoothgrad_is_mean_abs_gradient_over_the_same_noise(adapter):
    text, target, n, seed = TEXTS[0], 1, 6, 11
    sg = make_explainer("smoothgrad", adapter, nt_samples=n, noise_level=0.5)
    wa = sg.explain(text, target=target, random_state=seed)
    sigma = wa.extras["stdev"]
    ids = torch.tensor([adapter.encode(text).input_ids])
    emb = adapter.model.get_input_embeddings()(ids).detach()
    # sigma rule: noise norm = noise_level x mean embedding norm
    assert sigma == pytest.approx(0.5 * emb.norm(dim=-1).mean().item() / emb.shape[-1] ** 0.5)
    # the noise NoiseTunnel draws right after seeding: one normal draw of shape (n, L, H)
    torch.manual_seed(seed)
    noise = torch.normal(0, torch.tensor(sigma).repeat(n, *emb.shape[1:]))
    grad, _ = autograd_grads(adapter, text, target, noise=noise)
    ref_tokens = grad.abs().mean(0).sum(-1).numpy()
    np.testing.assert_allclose(wa.token_scores, ref_tokens, rtol=1e-4, atol=1e-10)
    assert wa.settings["random_state"] == seed and wa.signed is False


def test_smoothgrad_without_noise_is_saliency(adapter):
    sg = make_explainer("smoothgrad", adapter, nt_samples=3, stdevs=0.0)
    sal = make_explainer("saliency", adapter)
    a = sg.explain(TEXTS[2], target=0, random_state=0)
    b = sal.explain(TEXTS[2], target=0)
    np.testing.assert_allclose(a.token_scores, b.token_scores, rtol=1e-5, atol=1e-10)


def test_smoothgrad_seeds(adapter):
    sg = make_explainer("smoothgrad", adapter, nt_samples=4)
    a = sg.explain(TEXTS[0], random_state=3).scores
    b = sg.explain(TEXTS[0], random_state=3).scores
    c = sg.explain(TEXTS[0], random_state=4).scores
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)
    # seeding does not leak: the global torch RNG is untouched
    torch.manual_seed(0)
    x = torch.rand(1)
    torch.manual_seed(0)
    sg.explain(TEXTS[0], random_state=3)
    assert torch.rand(1) == x


def test_specs_and_defaults():
    assert get_method("saliency").signed is False
    assert get_method("input-x-gradient").signed is True
    sg = get_method("smoothgrad")
    assert sg.signed is False and sg.stochastic is True and sg.defaults["nt_samples"] == 20
    for name in ("saliency", "input-x-gradient", "smoothgrad"):
        assert get_method(name).family == "gradient" and get_method(name).source == "captum"


@pytest.mark.parametrize(
    ("name", "settings", "match"),
    [
        ("saliency", {"norm": "l3"}, "norm must be 'l1' or 'l2', got 'l3'"),
        ("saliency", {"output": "prob"}, "output must be 'probs', 'logits' or 'log_odds'"),
        ("input-x-gradient", {"batch_size": 0}, "batch_size must be >= 1, got 0"),
        ("smoothgrad", {"nt_samples": 0}, "nt_samples must be >= 1, got 0"),
        ("smoothgrad", {"noise_level": -1.0}, "noise_level must be >= 0, got -1.0"),
    ],
)
def test_bad_settings_are_clear(adapter, name, settings, match):
    with pytest.raises(InputError, match=match):
        make_explainer(name, adapter, **settings)
