"""The device path without a GPU: every tensor a method builds must be on the model's device.

Stand-in: the model stays on the CPU while torch's default device is ``meta``. A tensor built
inside a method without ``device=`` then lands on ``meta`` (no data) and the first operation that
mixes it with the model's CPU tensors, or reads it, fails; a tensor built on the model's device (or
explicitly on the host) works. On a GPU the same mistake is a CPU tensor meeting a CUDA one.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from captum_ext.methods import list_methods, make_explainer

TEXTS = ["what a lovely day", "i hate mondays so much"]

# Captum itself builds these on the default device and moves them (`torch.tensor(step_sizes)
# .to(grad.device)` in IntegratedGradients, `torch.bernoulli(probs).to(device)` in Lime's
# sampler, a `Binomial` distribution in KernelShap): correct on a GPU, but meta has no data to
# copy. Our side of these methods goes through the adapter, which the other methods exercise.
CAPTUM_INTERNAL = {"ig", "captum-lime", "captum-kernelshap"}


@pytest.fixture
def meta_default():
    torch.set_default_device("meta")
    try:
        yield
    finally:
        torch.set_default_device(None)


def test_standin_catches_a_tensor_without_device(adapter, meta_default):
    ids, mask = adapter.captum_inputs(TEXTS[0])
    with pytest.raises((NotImplementedError, RuntimeError)):
        (ids + torch.ones(ids.shape, dtype=torch.long)).sum().item()


@pytest.mark.parametrize(
    "method", sorted(m.name for m in list_methods() if m.name not in CAPTUM_INTERNAL)
)
def test_methods_build_no_host_only_tensors(adapter, method, meta_default):
    settings = {"n_samples": 20} if "lime" in method else {}
    settings = {"max_evals": 20} if method == "shap-partition" else settings
    results = make_explainer(method, adapter, **settings).explain_many(TEXTS, random_state=0)
    assert [r.text for r in results] == TEXTS
    assert all(np.isfinite(r.scores).all() for r in results)


def test_internals_and_knn_build_no_host_only_tensors(adapter, meta_default):
    from captum_ext.influence.knn import exact_top_k
    from captum_ext.internals._model import pooled_hidden_states
    from captum_ext.internals.heads import gradient_head_importance, masking_head_importance

    labels = [0, 1]
    assert np.isfinite(gradient_head_importance(adapter, TEXTS, labels)).all()
    imp, _acc, _base = masking_head_importance(adapter, TEXTS, labels)
    assert np.isfinite(imp).all()
    rows = [adapter.encode(t).input_ids for t in TEXTS]
    assert pooled_hidden_states(adapter, rows).shape[0] == 2
    rng = np.random.default_rng(0)
    idx, _ = exact_top_k(rng.random((3, 4)), rng.random((10, 4)), 2, exclude=np.arange(3))
    assert idx.shape == (3, 2)
