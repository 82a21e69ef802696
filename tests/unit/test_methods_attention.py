"""attention-last and attention-rollout against the model's own attentions and a numpy rollout."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from shared_fixtures import one_thread  # noqa: F401 (autouse fixture)
from transformers import AutoModelForSequenceClassification

from captum_ext.aggregation import aggregate_to_words
from captum_ext.errors import InputError
from captum_ext.methods import get_method, make_explainer

TEXTS = [
    "just got home from dinner  best dinner i have had in a long time! =(",
    "wow",
    "@CynthiaLasVegas Thanks so much!!! Really appreciate that",
]


@pytest.fixture(scope="module")
def eager_model(tiny_bert_dir):
    return AutoModelForSequenceClassification.from_pretrained(
        tiny_bert_dir, attn_implementation="eager"
    ).eval()


def own_attentions(eager_model, adapter, text) -> np.ndarray:
    ids = torch.tensor([adapter.encode(text).input_ids])
    with torch.no_grad():
        out = eager_model(input_ids=ids, output_attentions=True)
    return np.stack([a[0].numpy() for a in out.attentions]).astype(np.float64)  # (l, h, L, L)


def numpy_rollout(att: np.ndarray) -> np.ndarray:
    """Abnar & Zuidema (2020) by hand: heads averaged, 0.5 A + 0.5 I, rows renormalised,
    multiplied from the first layer up."""
    n_layers, _, length, _ = att.shape
    rollout = np.eye(length)
    for layer in range(n_layers):
        a = att[layer].mean(axis=0)
        a = 0.5 * a + 0.5 * np.eye(length)
        a = a / a.sum(axis=1, keepdims=True)
        rollout = a @ rollout
    return rollout


def words_of(adapter, text, token_scores):
    enc = adapter.encode(text)
    return aggregate_to_words(token_scores, enc.token_to_word, len(enc.words))


def test_attention_last_is_last_layer_cls_row_averaged_over_heads(adapter, eager_model):
    text = TEXTS[0]
    ref = own_attentions(eager_model, adapter, text)[-1].mean(axis=0)[0]
    wa = make_explainer("attention-last", adapter).explain(text)
    np.testing.assert_allclose(wa.token_scores, ref, atol=1e-6)
    np.testing.assert_allclose(wa.scores, words_of(adapter, text, ref), atol=1e-6)
    special = ref[0] + ref[-1]
    assert wa.extras["special_tokens_share"] == pytest.approx(special, abs=1e-6)
    assert wa.scores.sum() + special == pytest.approx(1.0, abs=1e-5)
    assert wa.signed is False


def test_attention_rollout_equals_numpy_rollout(adapter, eager_model):
    text = TEXTS[2]
    ref = numpy_rollout(own_attentions(eager_model, adapter, text))[0]
    wa = make_explainer("attention-rollout", adapter).explain(text)
    np.testing.assert_allclose(wa.token_scores, ref, atol=1e-6)
    np.testing.assert_allclose(wa.scores, words_of(adapter, text, ref), atol=1e-6)


@pytest.mark.parametrize("name", ["attention-last", "attention-rollout"])
def test_padded_batches_equal_one_by_one(adapter, name):
    ex = make_explainer(name, adapter, batch_size=2)  # texts of unequal lengths share a batch
    many = ex.explain_many(TEXTS, show_progress=False)
    for wa, text in zip(many, TEXTS, strict=True):
        one = ex.explain(text)
        assert wa.words == one.words
        np.testing.assert_allclose(wa.token_scores, one.token_scores, atol=1e-6)
        np.testing.assert_allclose(wa.probs, one.probs, rtol=1e-6)
    # the adapter's attention implementation is restored afterwards
    assert adapter.model.config._attn_implementation != "eager"


@pytest.mark.parametrize("name", ["attention-last", "attention-rollout"])
def test_target_is_recorded_but_changes_nothing(adapter, name):
    ex = make_explainer(name, adapter)
    a = ex.explain(TEXTS[0], target=0)
    b = ex.explain(TEXTS[0], target="positive")
    assert (a.target, b.target) == (0, 1)
    np.testing.assert_array_equal(a.scores, b.scores)


def test_specs_and_bad_settings(adapter):
    for name in ("attention-last", "attention-rollout"):
        spec = get_method(name)
        assert spec.family == "attention" and not spec.signed and not spec.stochastic
    with pytest.raises(InputError, match="batch_size must be >= 1, got 0"):
        make_explainer("attention-rollout", adapter, batch_size=0)
