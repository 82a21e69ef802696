"""The head-input feature extractor and its disk cache (tiny random BERT)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import make_tiny_bert
from test_influence_support import one_thread  # noqa: F401
from torch import nn

from captum_ext.adapters import TextClassifierAdapter
from captum_ext.data import TextDataset
from captum_ext.errors import CaptumExtError, DataError, InputError
from captum_ext.influence import (
    CachedFeatures,
    HeadFeatureExtractor,
    RepresenterPoints,
    find_head,
    texts_fingerprint,
)

TEXTS = [
    "hello world",
    "i am so happy today!! what a lovely day it is",
    "bad",
    "what a terrible, awful day it was, i want to go home",
    "ok",
    "@someone thanks so much!!! http://t.co/x",
    "don't worry",
]


@pytest.fixture(scope="module")
def adapter(tiny_bert_dir):
    return TextClassifierAdapter.from_pretrained(tiny_bert_dir, batch_size=3)


def test_features_are_the_classifier_input_computed_with_the_mask(adapter):
    feats, logits = HeadFeatureExtractor(adapter).features_and_logits(TEXTS)
    model = adapter.model
    # reference: each text alone (no padding): BERT's classifier reads the pooled output
    with torch.no_grad():
        for i, text in enumerate(TEXTS):
            ids = torch.tensor([adapter.encode(text).input_ids])
            pooled = model.bert(input_ids=ids).pooler_output[0].numpy()
            np.testing.assert_allclose(feats[i], pooled, atol=1e-5)
            ref_logits = model(input_ids=ids).logits[0].numpy()
            np.testing.assert_allclose(logits[i], ref_logits, atol=1e-5)
    np.testing.assert_allclose(logits, adapter.predict_proba(TEXTS, output="logits"), atol=1e-5)
    assert feats.dtype == np.float32 and feats.shape == (len(TEXTS), model.config.hidden_size)


def test_from_ids_matches_texts(adapter):
    ex = HeadFeatureExtractor(adapter)
    ids, mask = adapter.captum_inputs(TEXTS[1])
    feats, logits = ex.from_ids(ids, mask)
    np.testing.assert_allclose(feats[0], ex([TEXTS[1]])[0], atol=1e-6)


def test_find_head_takes_the_last_linear_with_num_labels_outputs(adapter):
    assert find_head(adapter.model, 2)[0] == "classifier"

    class RobertaLikeHead(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.body = nn.Linear(4, 2)  # same width as the head, but not last
            self.dense = nn.Linear(2, 8)
            self.out_proj = nn.Linear(8, 2)

    assert find_head(RobertaLikeHead(), 2)[0] == "out_proj"
    with pytest.raises(InputError, match="out_features == num_labels"):
        find_head(nn.Sequential(nn.Linear(4, 5)), 2)
    with pytest.raises(InputError, match="layer='nope' is not a module"):
        HeadFeatureExtractor(adapter, layer="nope")


def test_cache_is_reused_without_forward_passes(adapter, tmp_path):
    ex = HeadFeatureExtractor(adapter, cache_dir=tmp_path, chunk_size=3)
    first = ex.for_texts(TEXTS)
    assert first.path is not None and first.path.parent == tmp_path
    before = adapter.n_forward_rows
    again = ex.for_texts(TEXTS)
    assert adapter.n_forward_rows == before
    np.testing.assert_array_equal(np.asarray(again.features), np.asarray(first.features))
    np.testing.assert_allclose(np.asarray(first.features), ex(TEXTS), atol=1e-5)
    np.testing.assert_allclose(first.probs.sum(1), 1.0)
    assert again.data_fingerprint == texts_fingerprint(TEXTS)
    loaded = CachedFeatures.load(first.path)
    assert loaded.model_fingerprint == ex.model_fingerprint


def test_interrupted_cache_resumes_from_the_last_finished_chunk(adapter, tmp_path):
    ex = HeadFeatureExtractor(adapter, cache_dir=tmp_path, chunk_size=2)
    real = ex._compute_rows
    calls = {"n": 0}

    def flaky(rows, bar):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return real(rows, bar)

    ex._compute_rows = flaky  # type: ignore[method-assign]
    with pytest.raises(KeyboardInterrupt):
        ex.for_texts(TEXTS)
    before = adapter.n_forward_rows
    resumed = HeadFeatureExtractor(adapter, cache_dir=tmp_path, chunk_size=2).for_texts(TEXTS)
    assert adapter.n_forward_rows - before == len(TEXTS) - 4  # two chunks were already saved
    np.testing.assert_allclose(np.asarray(resumed.features), ex(TEXTS), atol=1e-5)


def test_cache_from_another_model_is_refused(adapter, tmp_path):
    other_dir = make_tiny_bert(tmp_path / "other", seed=1)
    other = TextClassifierAdapter.from_pretrained(other_dir)
    ex_a = HeadFeatureExtractor(adapter, cache_dir=tmp_path / "cache")
    ex_b = HeadFeatureExtractor(other, cache_dir=tmp_path / "cache")
    assert ex_a.model_fingerprint != ex_b.model_fingerprint
    cached = ex_a.for_texts(TEXTS)
    # the cache folder itself, handed to the other model
    with pytest.raises(DataError, match="computed by another model"):
        HeadFeatureExtractor(other, cache_dir=cached.path).for_texts(TEXTS)
    # precomputed features handed to a method of the other model
    train = TextDataset(TEXTS, [0, 1, 0, 0, 1, 1, 1])
    with pytest.raises(DataError, match="computed by another model"):
        RepresenterPoints(other, train, features=cached).fit()
    with pytest.raises(DataError, match="computed for other texts"):
        RepresenterPoints(adapter, train.subset([0, 1, 2]), features=cached).fit()
    assert issubclass(DataError, CaptumExtError)


def test_bad_inputs(adapter, tmp_path):
    ex = HeadFeatureExtractor(adapter, cache_dir=tmp_path)
    with pytest.raises(InputError, match="empty"):
        ex.for_texts([])
    with pytest.raises(InputError, match="at least one text"):
        ex([])
    with pytest.raises(InputError, match="chunk_size"):
        HeadFeatureExtractor(adapter, chunk_size=0)
    with pytest.raises(DataError, match="not a finished feature cache"):
        CachedFeatures.load(tmp_path / "missing")


@pytest.mark.parametrize("name", ["results", "knn", "audit"])
def test_docstring_examples_run(name):
    import doctest
    import importlib

    module = importlib.import_module(f"captum_ext.influence.{name}")
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0
