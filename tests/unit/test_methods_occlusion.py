"""Leave-one-out occlusion against manual leave-one-out predictions and Captum's FeatureAblation."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from shared_fixtures import one_thread  # noqa: F401 (autouse fixture)

from captum_ext.adapters import TextClassifierAdapter
from captum_ext.errors import InputError
from captum_ext.methods import get_method, make_explainer
from captum_ext.methods.occlusion import occlude_word

TEXTS = [
    "just got home from dinner  best dinner i have had in a long time! =(",
    "wow",
    "I'm so scared of change, that I keep overthinking everything.",
    "@CynthiaLasVegas Thanks so much!!! Really appreciate that",
]


def model_probs(adapter, ids: list[int]) -> np.ndarray:
    with torch.no_grad():
        logits = adapter.model(input_ids=torch.tensor([ids])).logits
    return torch.softmax(logits.double(), -1)[0].numpy()


@pytest.mark.parametrize("mode", ["pad", "mask", "remove"])
@pytest.mark.parametrize("target", [0, 1])
def test_occlusion_equals_manual_leave_one_out(adapter, mode, target):
    text = TEXTS[0]
    enc = adapter.encode(text)
    tok = adapter.tokenizer
    full = model_probs(adapter, enc.input_ids)[target]
    expected = []
    for w in range(len(enc.words)):
        ids = []
        for i, t in enumerate(enc.input_ids):
            if enc.token_to_word[i] != w:
                ids.append(t)
            elif mode != "remove":
                ids.append(tok.pad_token_id if mode == "pad" else tok.mask_token_id)
        expected.append(full - model_probs(adapter, ids)[target])
    # fp32: the reference runs the model in fp32 (the family default is "auto": bf16 on a
    # native-bf16 CPU)
    wa = make_explainer("occlusion", adapter, mode=mode, precision="fp32").explain(
        text, target=target
    )
    np.testing.assert_allclose(wa.scores, expected, atol=1e-6)
    assert wa.signed and wa.target == target and wa.extras["full_output"] == pytest.approx(full)


def test_pad_occlusion_equals_captum_feature_ablation(adapter):
    from captum.attr import FeatureAblation

    text = TEXTS[2]
    enc = adapter.encode(text)
    ids, mask = adapter.captum_inputs(text)
    fmask = torch.tensor([[-1 if w is None else w for w in enc.token_to_word]])
    fmask = torch.where(fmask < 0, torch.zeros_like(fmask), fmask)  # specials: baseline = self
    with torch.no_grad():
        attr = FeatureAblation(adapter.forward_func()).attribute(
            ids,
            baselines=adapter.baselines(ids),
            target=1,
            additional_forward_args=(mask,),
            feature_mask=fmask,
        )
    # FeatureAblation gives each token its feature's effect: read one token per word
    first_token = [pos[0] for pos in enc.word_token_positions]
    ref = attr[0, first_token].numpy()
    wa = make_explainer("occlusion", adapter, precision="fp32").explain(text, target=1)
    np.testing.assert_allclose(wa.scores, ref, atol=1e-6)


def test_logit_output(adapter):
    text = TEXTS[3]
    enc = adapter.encode(text)
    with torch.no_grad():
        full = adapter.model(input_ids=torch.tensor([enc.input_ids])).logits[0, 0].item()
        w = 1
        ids = occlude_word(enc.input_ids, enc.word_token_positions[w], "pad", 0)
        cut = adapter.model(input_ids=torch.tensor([ids])).logits[0, 0].item()
    wa = make_explainer("occlusion", adapter, output="logits").explain(text, target=0)
    assert wa.scores[w] == pytest.approx(full - cut, abs=1e-5)


def test_explain_many_equals_explain_across_calls(adapter):
    occ = make_explainer("occlusion", adapter, texts_per_call=3)  # chunks of 3 and 1
    targets = [None, 1, "negative", 0]
    rows_before = adapter.n_forward_rows
    many = occ.explain_many(TEXTS, targets=targets)
    batched_rows = adapter.n_forward_rows - rows_before
    for wa, text, target in zip(many, TEXTS, targets, strict=True):
        one = occ.explain(text, target=target)
        assert wa.words == one.words and wa.target == one.target
        np.testing.assert_allclose(wa.scores, one.scores, atol=1e-6)
    # one row a word plus one a text at most (de-duplication may save some), plus the predictions
    n_words = sum(len(adapter.encode(t).words) for t in TEXTS)
    assert batched_rows <= n_words + 2 * len(TEXTS)


def test_truncated_words_score_zero(adapter):
    small = TextClassifierAdapter(adapter.model, adapter.tokenizer, max_length=8)
    text = "one two three four five six seven eight nine ten"
    with pytest.warns(UserWarning, match="max_length"):
        wa = make_explainer("occlusion", small).explain(text, target=1)
    kept = 6  # 8 minus [CLS] and [SEP]
    assert np.all(wa.scores[kept:] == 0) and wa.extras["n_words_truncated"] == 10 - kept
    assert np.any(wa.scores[:kept] != 0)


def test_occlude_word_modes():
    assert occlude_word([101, 5, 6, 7, 102], [2], "mask", 103) == [101, 5, 103, 7, 102]
    assert occlude_word([101, 5, 6, 7, 102], [1, 2, 3], "remove", None) == [101, 102]


def test_spec_and_bad_settings(adapter):
    spec = get_method("occlusion")
    assert spec.signed and not spec.stochastic and spec.defaults["mode"] == "pad"
    with pytest.raises(InputError, match="mode must be one of pad, mask, remove, got 'zero'"):
        make_explainer("occlusion", adapter, mode="zero")
    with pytest.raises(InputError, match="texts_per_call must be >= 1"):
        make_explainer("occlusion", adapter, texts_per_call=0)
