"""Every method of issue 5 on tricky, truncated, one-word and empty texts, one by one and batched."""

from __future__ import annotations

import numpy as np
import pytest
from shared_fixtures import one_thread  # noqa: F401 (autouse fixture)
from transformers import AutoModelForSequenceClassification, AutoTokenizer

from captum_ext.adapters import TextClassifierAdapter
from captum_ext.errors import InputError
from captum_ext.methods import make_explainer

SMALL = {
    "saliency": {},
    "input-x-gradient": {},
    "smoothgrad": {"nt_samples": 3},
    "occlusion": {},
    "captum-lime": {"n_samples": 40},
    "captum-kernelshap": {"n_samples": 40},
    "attention-last": {},
    "attention-rollout": {},
}
TRICKY = "@user don't  go 😀 http://x.co café café"


@pytest.fixture(scope="module")
def adapter(tiny_bert_dir):
    model = AutoModelForSequenceClassification.from_pretrained(tiny_bert_dir)
    tok = AutoTokenizer.from_pretrained(tiny_bert_dir)
    return TextClassifierAdapter(model, tok, max_length=16)


@pytest.mark.parametrize("name", list(SMALL))
def test_tricky_one_word_and_truncated_texts(adapter, name):
    fresh = TextClassifierAdapter(adapter.model, adapter.tokenizer, max_length=16)  # warns anew
    ex = make_explainer(name, fresh, **SMALL[name])
    long_text = " ".join(["amazing"] * 20 + ["terrible"] * 20)
    texts = [TRICKY, "wow", long_text]
    with pytest.warns(UserWarning, match="max_length"):
        many = ex.explain_many(texts, random_state=0)
    for wa, text in zip(many, texts, strict=True):
        one = ex.explain(text, random_state=0)
        assert wa.text == text and wa.words == one.words and len(wa.scores) == len(wa.words)
        assert np.isfinite(wa.scores).all()
        np.testing.assert_allclose(wa.scores, one.scores, rtol=1e-4, atol=1e-7)
        assert wa.method == name and wa.signed == ex.signed
    truncated = many[2]
    assert truncated.extras["n_words_truncated"] == 40 - 14
    assert np.all(truncated.scores[14:] == 0) and np.any(truncated.scores[:14] != 0)


@pytest.mark.parametrize("name", list(SMALL))
def test_empty_text_and_bad_target_are_clear(adapter, name):
    ex = make_explainer(name, adapter, **SMALL[name])
    with pytest.raises(InputError, match="empty or whitespace only"):
        ex.explain("   ")
    with pytest.raises(InputError, match="is empty or whitespace only"):
        ex.explain_many(["fine", ""])
    with pytest.raises(InputError, match="use one of negative, positive"):
        ex.explain_many(["fine"], targets=["neutral"])
    assert ex.explain_many([]) == []


@pytest.mark.parametrize(
    "name", ["saliency", "input-x-gradient", "occlusion", "attention-last", "attention-rollout"]
)
def test_batched_methods_check_the_number_of_targets(adapter, name):
    ex = make_explainer(name, adapter)
    with pytest.raises(InputError, match="targets has 2 entries but texts has 1"):
        ex.explain_many(["fine"], targets=[0, 1])
