"""``TextClassifierAdapter.from_pipeline``: a transformers text-classification pipeline."""

from __future__ import annotations

import numpy as np
import pytest
from family_zoo import tiny_model, tiny_tokenizer
from shared_fixtures import one_thread  # noqa: F401 (autouse fixture)
from transformers import pipeline

from captum_ext.adapters import TextClassifierAdapter
from captum_ext.errors import InputError
from captum_ext.methods import make_explainer

TEXTS = ["what a lovely day", "i hate mondays  so much", "not bad at all!!"]


@pytest.fixture(scope="module", params=["bert", "roberta"])
def pipe(request):
    tok = tiny_tokenizer(request.param)
    labels = {0: "neg", 1: "neu", 2: "pos"}
    model = tiny_model(
        request.param,
        tok,
        num_labels=3,
        id2label=labels,
        label2id={v: k for k, v in labels.items()},
    )
    return pipeline("text-classification", model=model, tokenizer=tok, device="cpu")


def test_probabilities_match_the_pipeline(pipe):
    adapter = TextClassifierAdapter.from_pipeline(pipe)
    assert adapter.model is pipe.model and adapter.tokenizer is pipe.tokenizer
    assert adapter.labels == ("neg", "neu", "pos")
    ours = adapter.predict_proba(TEXTS)
    for text, row in zip(TEXTS, ours, strict=True):
        ref = {d["label"]: d["score"] for d in pipe(text, top_k=None)}
        np.testing.assert_allclose([ref[lab] for lab in adapter.labels], row, atol=1e-5)


def test_every_method_runs_on_a_pipeline(pipe):
    adapter = TextClassifierAdapter.from_pipeline(pipe, max_length=32)
    wa = make_explainer("occlusion", adapter).explain(TEXTS[1], target="pos")
    assert wa.labels[wa.target] == "pos" and len(wa.scores) == len(wa.words)


def test_not_a_classification_pipeline_is_a_clear_error():
    with pytest.raises(InputError, match="text-classification pipeline"):
        TextClassifierAdapter.from_pipeline(object())
