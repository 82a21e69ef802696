"""captum-lime and captum-kernelshap reproduce Captum's own Lime / KernelShap called directly."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from captum._utils.models.linear_model import SkLearnRidge
from captum.attr import KernelShap, Lime
from shared_fixtures import one_thread  # noqa: F401 (autouse fixture)
from sklearn.metrics.pairwise import cosine_distances

from captum_ext.errors import InputError
from captum_ext.methods import get_method, make_explainer

TEXT = "just got home from dinner  best dinner i have had in a long time! =("


def official_lime_kernel(_inp, _pert, sample, **_):
    """LimeTextExplainer's weighting, written from lime_base / lime_text (kernel_width=25)."""
    x = sample.numpy().reshape(1, -1).astype(float)
    d = cosine_distances(x, np.ones_like(x))[0, 0] * 100
    return math.sqrt(math.exp(-(d**2) / 25.0**2))


def word_mask(adapter, text):
    enc = adapter.encode(text)
    return torch.tensor([[0 if w is None else w for w in enc.token_to_word]])


def captum_reference(adapter, attr, text, target, n_samples, seed):
    ids, mask = adapter.captum_inputs(text)
    torch.manual_seed(seed)
    with torch.no_grad():
        coefs = attr.attribute(
            ids,
            baselines=adapter.baselines(ids),
            target=target,
            additional_forward_args=(mask,),
            feature_mask=word_mask(adapter, text),
            n_samples=n_samples,
            perturbations_per_eval=16,
            return_input_shape=False,
        )
    return coefs.reshape(-1).numpy()


@pytest.mark.parametrize("target", [0, 1])
def test_captum_lime_reproduces_captum_lime(adapter, target):
    lime = Lime(
        adapter.forward_func(),
        interpretable_model=SkLearnRidge(alpha=1.0),
        similarity_func=official_lime_kernel,
    )
    ref = captum_reference(adapter, lime, TEXT, target, n_samples=150, seed=5)
    wa = make_explainer("captum-lime", adapter, n_samples=150).explain(
        TEXT, target=target, random_state=5
    )
    np.testing.assert_allclose(wa.scores, ref, atol=2e-5)
    assert np.any(wa.scores != 0)  # the ridge surrogate does not zero the weights
    assert wa.signed and wa.settings["random_state"] == 5 and "intercept" in wa.extras


def test_captum_kernelshap_reproduces_captum_kernelshap(adapter):
    ref = captum_reference(
        adapter, KernelShap(adapter.forward_func()), TEXT, 1, n_samples=120, seed=9
    )
    wa = make_explainer("captum-kernelshap", adapter, n_samples=120).explain(
        TEXT, target=1, random_state=9
    )
    np.testing.assert_allclose(wa.scores, ref, atol=2e-5)


def test_kernelshap_is_efficient(adapter):
    # the full and empty coalitions weigh 1e6: scores add up to f(x) - f(baseline)
    ids, mask = adapter.captum_inputs(TEXT)
    with torch.no_grad():
        out = adapter.forward_func()(torch.cat([ids, adapter.baselines(ids)]))[:, 0]
    wa = make_explainer("captum-kernelshap", adapter, n_samples=100).explain(
        TEXT, target=0, random_state=1
    )
    assert wa.scores.sum() == pytest.approx((out[0] - out[1]).item(), abs=1e-3)
    assert wa.extras["base_value"] == pytest.approx(out[1].item(), abs=1e-3)


def test_kernelshap_single_word_is_exact(adapter):
    ids, _ = adapter.captum_inputs("wow")
    with torch.no_grad():
        out = adapter.forward_func()(torch.cat([ids, adapter.baselines(ids)]))[:, 1]
    wa = make_explainer("captum-kernelshap", adapter, precision="fp32").explain(
        "wow", target=1, random_state=0
    )  # fp32, as the forward above
    assert wa.scores[0] == pytest.approx((out[0] - out[1]).item(), abs=1e-6)
    assert wa.extras["exact"] is True


@pytest.mark.parametrize("name", ["captum-lime", "captum-kernelshap"])
def test_seeds_and_no_global_rng_side_effect(adapter, name):
    ex = make_explainer(name, adapter, n_samples=60)
    a = ex.explain(TEXT, random_state=2).scores
    b = ex.explain(TEXT, random_state=2).scores
    c = ex.explain(TEXT, random_state=3).scores
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)
    torch.manual_seed(0)
    x = torch.rand(1)
    torch.manual_seed(0)
    ex.explain(TEXT, random_state=2)
    assert torch.rand(1) == x


def test_perturbed_rows_go_through_predict_ids_deduplicated(adapter):
    # 3 words: at most 2**3 distinct coalitions, whatever n_samples is
    ex = make_explainer("captum-kernelshap", adapter, n_samples=200)
    before = adapter.n_forward_rows
    ex.explain("so very happy", random_state=0)
    assert adapter.n_forward_rows - before <= 2**3 + 1


def test_specs_and_bad_settings(adapter):
    for name in ("captum-lime", "captum-kernelshap"):
        spec = get_method(name)
        assert spec.signed and spec.stochastic and spec.source == "captum"
        assert spec.defaults["n_samples"] == 300
    with pytest.raises(InputError, match="n_samples must be >= 2, got 1"):
        make_explainer("captum-lime", adapter, n_samples=1)
    with pytest.raises(InputError, match="kernel_width must be > 0"):
        make_explainer("captum-lime", adapter, kernel_width=0)
