# ruff: noqa: F811  (pytest fixtures imported from test_influence_support)
"""TracIn through the sample-level registry, against the closed form of Pruthi et al. (2020):
at one checkpoint with learning rate 1, TracIn(z, z') = grad L(z) . grad L(z'); for a linear head
W f + b under cross-entropy the gradient is g f^T (and g for b), g = softmax(z) - onehot(y)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.special import softmax
from test_influence_support import one_thread, planted  # noqa: F401

from captum_ext.adapters import TextClassifierAdapter
from captum_ext.data import TextDataset
from captum_ext.errors import InputError, UnknownMethodError
from captum_ext.influence import HeadFeatureExtractor
from captum_ext.influence.registry import get_sample_method, list_sample_methods, make_sample_method


@pytest.fixture(scope="module")
def adapter(planted):
    return TextClassifierAdapter.from_pretrained(planted["dir"])


@pytest.fixture(scope="module")
def train(planted):
    return TextDataset(planted["texts"][:80], planted["labels"][:80])


@pytest.fixture(scope="module")
def closed_form(adapter, train, planted):
    """(f_t . f_i) and (g_t . g_i) from the head's input and the logits, independently of Captum."""
    ext = HeadFeatureExtractor(adapter)
    tests = planted["held_out"][:6]
    f_tr, z_tr = ext.features_and_logits(train.texts)
    f_te, z_te = ext.features_and_logits(tests)
    g_tr = softmax(z_tr, axis=1) - np.eye(2)[train.labels]
    g_te = softmax(z_te, axis=1) - np.eye(2)[z_te.argmax(1)]  # loss at the predicted class
    return tests, f_te.astype(np.float64) @ f_tr.T.astype(np.float64), g_te @ g_tr.T


def test_registry_lists_every_sample_method_and_refuses_unknown_names():
    names = [m.name for m in list_sample_methods()]
    assert names == ["knn", "representer", "tracincp", "tracincp-fast"]
    assert get_sample_method("tracincp").source == "captum"
    with pytest.raises(UnknownMethodError, match="choose one of knn, representer"):
        get_sample_method("tracin")


def test_tracincp_fast_equals_the_head_weight_gradient_product(adapter, train, closed_form):
    tests, ff, gg = closed_form
    scores = make_sample_method("tracincp-fast", adapter, train).influence(tests).numpy()
    np.testing.assert_allclose(scores, ff * gg, rtol=2e-4, atol=1e-5)


def test_tracincp_on_the_head_adds_the_bias_gradient(adapter, train, closed_form):
    tests, ff, gg = closed_form
    tracin = make_sample_method("tracincp", adapter, train, layers=["classifier"], batch_size=16)
    scores = tracin.influence(tests).numpy()
    np.testing.assert_allclose(scores, (ff + 1.0) * gg, rtol=2e-4, atol=1e-5)
    res = tracin.explain(tests, k=5)
    assert res.method == "tracincp" and res.indices.shape == (6, 5)
    np.testing.assert_array_equal(res.indices, np.argsort(-scores, axis=1, kind="stable")[:, :5])


def _per_example_grads(adapter, texts, labels, names):
    """Flattened gradients of each text's cross-entropy w.r.t. the parameters of the modules
    ``names``, one text at a time (no padding): plain autograd, no Captum."""
    modules = dict(adapter.model.named_modules())
    params = [p for n in names for p in modules[n].parameters()]
    rows, _ = adapter._ids_for(texts)
    out = []
    for row, y in zip(rows, labels, strict=True):
        ids = torch.tensor([row])
        logits = adapter.model(input_ids=ids, attention_mask=torch.ones_like(ids)).logits
        loss = torch.nn.functional.cross_entropy(logits, torch.tensor([int(y)]), reduction="sum")
        out.append(torch.cat([g.reshape(-1) for g in torch.autograd.grad(loss, params)]))
    return torch.stack(out).double().numpy()


def test_default_tracincp_equals_per_example_autograd_and_restores_flags(adapter, train, planted):
    tests = planted["held_out"][:4]
    flags = {n: p.requires_grad for n, p in adapter.model.named_parameters()}
    tracin = make_sample_method("tracincp", adapter, train, batch_size=16)
    assert "classifier" in tracin.layers and "bert.pooler.dense" in tracin.layers
    assert "bert.encoder.layer.1.attention.self.query" in tracin.layers
    assert not any(".layer.0." in n for n in tracin.layers)
    scores = tracin.influence(tests).numpy()
    assert {n: p.requires_grad for n, p in adapter.model.named_parameters()} == flags
    predicted = adapter.predict_proba(tests).argmax(1)
    g_te = _per_example_grads(adapter, tests, predicted, tracin.layers)
    g_tr = _per_example_grads(adapter, train.texts, train.labels, tracin.layers)
    np.testing.assert_allclose(scores, g_te @ g_tr.T, rtol=1e-3, atol=1e-4)


def test_tracin_top_k_and_errors(adapter, train, closed_form):
    tests, ff, gg = closed_form
    top = make_sample_method("tracincp-fast", adapter, train).influence(tests, k=3)
    np.testing.assert_array_equal(
        top.indices.numpy(), np.argsort(-(ff * gg), axis=1, kind="stable")[:, :3]
    )
    with pytest.raises(InputError, match="k=81 is larger"):
        make_sample_method("tracincp-fast", adapter, train).influence(tests, k=81)
    with pytest.raises(InputError, match="not nn.Linear modules of the model"):
        make_sample_method("tracincp", adapter, train, layers=["nope"])
    assert torch.is_grad_enabled()
