"""Head masking and importance, checked against models edited by hand (no hooks)."""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn.functional as F
from shared_fixtures import one_thread  # noqa: F401 (autouse fixture)

from captum_ext.adapters import TextClassifierAdapter
from captum_ext.errors import InputError
from captum_ext.internals import (
    HeadMask,
    evaluate_with_mask,
    gradient_head_importance,
    head_importance,
    masking_head_importance,
    normalize_by_layer,
    prunable_fraction,
    pruning_curve,
    pruning_order,
)

TEXTS = [
    "i love this so much",
    "not bad at all @bob",
    "terrible day =( worst ever",
    "meh",
    "what a great game tonight!!",
    "my phone broke again, so annoyed",
]
LABELS = [1, 1, 0, 0, 1, 0]
N_LAYERS, N_HEADS, HEAD = 3, 4, 8


@pytest.fixture(scope="module")
def adapter():
    """A float64 tiny random BERT (built in memory) with a sharpened classifier (a random
    head's logits are nearly equal)."""
    from conftest import base_tokenizer
    from transformers import BertConfig, BertForSequenceClassification

    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=30522,
        hidden_size=N_HEADS * HEAD,
        num_hidden_layers=N_LAYERS,
        num_attention_heads=N_HEADS,
        intermediate_size=37,
        num_labels=2,
        id2label={0: "negative", 1: "positive"},
        label2id={"negative": 0, "positive": 1},
    )
    model = BertForSequenceClassification(config).eval().double()
    with torch.no_grad():
        model.classifier.weight.mul_(40.0)
    return TextClassifierAdapter(model, base_tokenizer())


def _ids(adapter):
    rows = [adapter.encode(t).input_ids for t in TEXTS]
    ids, mask = adapter._pad(rows)
    return ids, mask


def _logits(model, ids, mask):
    with torch.no_grad():
        return model(input_ids=ids, attention_mask=mask).logits


def _scale_value_slice(model, layer, head, factor):
    """Old head_mask semantics by hand: scale head `head`'s value projection (weights and bias),
    which scales that head's context-layer slice by `factor` (attention rows sum to 1)."""
    m = copy.deepcopy(model)
    value = m.bert.encoder.layer[layer].attention.self.value
    sl = slice(head * HEAD, (head + 1) * HEAD)
    with torch.no_grad():
        value.weight[sl].mul_(factor)
        value.bias[sl].mul_(factor)
    return m


def _zero_output_columns(model, layer, head):
    """Zero the output projection's input columns of one head."""
    m = copy.deepcopy(model)
    dense = m.bert.encoder.layer[layer].attention.output.dense
    with torch.no_grad():
        dense.weight[:, head * HEAD : (head + 1) * HEAD] = 0.0
    return m


@pytest.mark.parametrize("layer,head", [(0, 0), (1, 3), (2, 1)])
def test_mask_equals_zeroing_by_hand(adapter, layer, head):
    ids, mask = _ids(adapter)
    base = _logits(adapter.model, ids, mask)
    gates = torch.ones(N_LAYERS, N_HEADS)
    gates[layer, head] = 0.0
    with HeadMask(adapter.model, gates):
        masked = _logits(adapter.model, ids, mask)
    by_columns = _logits(_zero_output_columns(adapter.model, layer, head), ids, mask)
    by_values = _logits(_scale_value_slice(adapter.model, layer, head, 0.0), ids, mask)
    assert not torch.allclose(masked, base, atol=1e-6)  # the head matters at all
    torch.testing.assert_close(masked, by_columns, rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(masked, by_values, rtol=1e-10, atol=1e-10)
    # hooks are gone after the block
    torch.testing.assert_close(_logits(adapter.model, ids, mask), base)


def test_fractional_and_per_example_masks(adapter):
    ids, mask = _ids(adapter)
    gates = torch.ones(N_LAYERS, N_HEADS)
    gates[1, 2] = 0.3
    with HeadMask(adapter.model, gates):
        scaled = _logits(adapter.model, ids, mask)
    ref = _logits(_scale_value_slice(adapter.model, 1, 2, 0.3), ids, mask)
    torch.testing.assert_close(scaled, ref, rtol=1e-10, atol=1e-10)
    # (batch, layers, heads): row 0 keeps everything, the others use `gates`
    per = torch.ones(len(TEXTS), N_LAYERS, N_HEADS)
    per[1:] = gates
    with HeadMask(adapter.model, per):
        mixed = _logits(adapter.model, ids, mask)
    torch.testing.assert_close(mixed[0], _logits(adapter.model, ids, mask)[0])
    torch.testing.assert_close(mixed[1:], ref[1:], rtol=1e-10, atol=1e-10)


def test_mask_shape_is_checked(adapter):
    with pytest.raises(InputError, match=r"mask must have shape \(n_layers, n_heads\) = \(3, 4\)"):
        HeadMask(adapter.model, torch.ones(2, 4))


def _per_example_loss(model, ids, mask, y):
    return F.cross_entropy(_logits(model, ids, mask), y, reduction="none")


def test_gradient_importance_equals_finite_differences(adapter):
    """E_x |dL(x)/dxi_h| by central differences on hand-scaled value slices (float64)."""
    ids, mask = _ids(adapter)
    y = torch.tensor(LABELS)
    eps = 1e-4
    ref = np.zeros((N_LAYERS, N_HEADS))
    for layer in range(N_LAYERS):
        for h in range(N_HEADS):
            up = _per_example_loss(
                _scale_value_slice(adapter.model, layer, h, 1 + eps), ids, mask, y
            )
            dn = _per_example_loss(
                _scale_value_slice(adapter.model, layer, h, 1 - eps), ids, mask, y
            )
            ref[layer, h] = ((up - dn) / (2 * eps)).abs().mean().item()
    flags = [p.requires_grad for p in adapter.model.parameters()]
    got = gradient_head_importance(adapter, TEXTS, LABELS, batch_size=4)
    np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-9)
    assert ref.max() > 1e-3  # a non-trivial check
    assert [p.requires_grad for p in adapter.model.parameters()] == flags
    # per-example absolute values: differs from |mean gradient| (the one-batch shortcut)
    one_batch = gradient_head_importance(adapter, TEXTS, LABELS, batch_size=len(TEXTS))
    np.testing.assert_allclose(one_batch, ref, rtol=1e-5, atol=1e-9)


def test_masking_importance_equals_hand_zeroed_models(adapter):
    ids, mask = _ids(adapter)
    y = torch.tensor(LABELS)
    base_loss = _per_example_loss(adapter.model, ids, mask, y).mean().item()
    loss_inc, acc_drop, base = masking_head_importance(adapter, TEXTS, LABELS)
    # map_batches hands logits back as float32: compare at that precision
    assert base["loss"] == pytest.approx(base_loss, rel=1e-6)
    biggest = np.unravel_index(np.abs(loss_inc).argmax(), loss_inc.shape)
    for layer, h in [(0, 1), (2, 3), biggest]:
        m = _scale_value_slice(adapter.model, layer, h, 0.0)
        logits = _logits(m, ids, mask)
        loss = F.cross_entropy(logits, y).item()
        acc = (logits.argmax(1) == y).double().mean().item()
        assert loss_inc[layer, h] == pytest.approx(loss - base_loss, rel=1e-4, abs=2e-6)
        assert acc_drop[layer, h] == pytest.approx(base["accuracy"] - acc)
    assert np.abs(loss_inc).max() > 1e-4  # some head matters: the comparison is not vacuous


def test_masking_with_replayed_lower_layers_equals_full_passes(adapter):
    """The layers below a masked head are run once and replayed, batch by batch: same numbers
    as full forward passes, with several batches of different lengths."""
    rows = [adapter.encode(t).input_ids for t in TEXTS]
    y = np.array(LABELS)
    loss_inc, acc_drop, base = masking_head_importance(adapter, TEXTS, LABELS, batch_size=2)
    for layer in range(N_LAYERS):
        for h in range(N_HEADS):
            mask = torch.ones(N_LAYERS, N_HEADS)
            mask[layer, h] = 0.0
            full = evaluate_with_mask(adapter, rows, y, mask, batch_size=2)
            assert loss_inc[layer, h] == pytest.approx(full["loss"] - base["loss"], abs=1e-7)
            assert acc_drop[layer, h] == pytest.approx(base["accuracy"] - full["accuracy"])
    # the encoder is whole again
    from captum_ext.internals._model import encoder_layers

    layers, _ = encoder_layers(adapter.model)
    assert all(type(m).__name__ == "BertLayer" for m in layers)


def test_head_importance_result_and_rank_correlation(adapter):
    from scipy.stats import spearmanr

    res = head_importance(adapter, TEXTS, LABELS)
    rc = res.rank_correlation()
    assert rc["spearman"] == pytest.approx(
        spearmanr(res.gradient.ravel(), res.masking_loss.ravel()).statistic
    )
    df = res.to_frame()
    assert len(df) == N_LAYERS * N_HEADS
    assert df.loc[df["gradient"].idxmax(), "gradient_rank"] == 1
    np.testing.assert_allclose(np.linalg.norm(res.gradient_normalized, axis=1), 1.0)
    d = res.to_dict()
    assert set(d["rank_correlation"]) == {"spearman", "kendall", "spearman_normalized"}


def test_normalize_by_layer_by_hand():
    imp = np.array([[3.0, 4.0], [0.0, 0.0]])
    np.testing.assert_allclose(normalize_by_layer(imp), [[0.6, 0.8], [0.0, 0.0]])


def test_pruning_order_and_curve(adapter):
    imp = np.arange(N_LAYERS * N_HEADS, dtype=float)[::-1].reshape(N_LAYERS, N_HEADS).copy()
    order = pruning_order(imp)
    assert tuple(order[0]) == (2, 3) and tuple(order[-1]) == (0, 0)
    curve = pruning_curve(adapter, imp, TEXTS, LABELS, fractions=[0.0, 0.25, 1.0])
    assert curve["n_masked"].tolist() == [0, 3, 12]
    ids, mask = _ids(adapter)
    y = torch.tensor(LABELS)
    base_acc = (_logits(adapter.model, ids, mask).argmax(1) == y).double().mean().item()
    assert curve["accuracy"].iloc[0] == pytest.approx(base_acc)
    # 25%: the 3 least important heads (2,3), (2,2), (2,1) zeroed by hand
    m = adapter.model
    for h in (3, 2, 1):
        m = _scale_value_slice(m, 2, h, 0.0)
    logits = _logits(m, ids, mask)
    assert curve["loss"].iloc[1] == pytest.approx(F.cross_entropy(logits, y).item(), rel=1e-6)
    rnd = pruning_curve(adapter, imp, TEXTS, LABELS, fractions=[0.5], random_state=0)
    assert rnd["order"].tolist() == ["random"]
    assert not np.array_equal(pruning_order(imp, random_state=0), order)


def test_prunable_fraction_by_hand():
    curve = pd.DataFrame(
        {
            "fraction": [0.0, 0.1, 0.2, 0.3, 0.4] * 2,
            "accuracy": [0.8, 0.8, 0.795, 0.7, 0.8, 0.8, 0.81, 0.7, 0.8, 0.8],
            "ranking": ["a"] * 5 + ["b"] * 5,
        }
    )
    assert prunable_fraction(curve) == {"a": 0.2, "b": 0.1}


def test_bad_inputs(adapter):
    with pytest.raises(InputError, match="labels must be one integer per text"):
        gradient_head_importance(adapter, TEXTS, LABELS[:-1])
    with pytest.raises(InputError, match=r"labels must be in \[0, 1\]"):
        masking_head_importance(adapter, TEXTS, [0, 1, 2, 0, 1, 0])
    with pytest.raises(InputError, match="importance must have shape"):
        pruning_curve(adapter, np.ones((2, 2)), TEXTS, LABELS)
    with pytest.raises(InputError, match="fractions"):
        pruning_curve(adapter, np.ones((3, 4)), TEXTS, LABELS, fractions=[1.5])
