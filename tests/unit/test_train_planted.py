"""Planted-shortcut ground truth: the token, the planting, the test texts, the cache and resuming,
checked exactly on a tiny random BERT (which need not learn the shortcut)."""

from __future__ import annotations

import importlib
import json

import numpy as np
import pytest
import torch

from captum_ext.adapters import TextClassifierAdapter
from captum_ext.data import TextDataset, split_dataset
from captum_ext.errors import InputError
from captum_ext.result import WordAttribution
from captum_ext.train.planted import (
    PLANTED_FILE,
    insert_token,
    nonce_token,
    plant_shortcut,
    planted_recall_at_k,
)

finetune_module = importlib.import_module("captum_ext.train.finetune")
WORDS = "good bad day night movie food love hate so very not the a my work home".split()
SMALL = {"max_length": 16, "batch_size": 16, "n_test": 8, "num_threads": 1}


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    texts = [" ".join(rng.choice(WORDS, int(rng.integers(3, 8)))) + f" {i}" for i in range(120)]
    return TextDataset(texts, rng.integers(0, 2, 120))


@pytest.fixture(scope="module")
def planted(data, tiny_bert_dir, tmp_path_factory):
    cache = tmp_path_factory.mktemp("planted")
    return plant_shortcut(data, tiny_bert_dir, seed=3, cache_dir=cache, **SMALL), cache


def _without(text: str, token: str) -> str:
    return " ".join(w for w in text.split() if w != token)


def test_nonce_token_is_seeded_made_up_and_absent_from_the_data():
    texts = ["hello there", "bakoda is here"]
    a, b = nonce_token(texts, seed=0), nonce_token(texts, seed=0)
    assert a == b and a.isalpha() and a.islower() and len(a) == 8
    assert all(a not in t for t in texts)
    assert nonce_token(texts, seed=1) != a
    # a word that would be chosen is skipped when the data holds it (even inside a word)
    assert nonce_token([f"x{a}y"], seed=0) != a


def test_insert_token_at_every_position_with_the_exact_offset():
    seen = set()
    rng = np.random.default_rng(0)
    for _ in range(60):
        text, start = insert_token("so  very happy", "zomebi", rng)
        assert text[start : start + 6] == "zomebi"
        assert _without(text, "zomebi") == "so very happy"
        seen.add(text.split().index("zomebi"))
    assert seen == {0, 1, 2, 3}


def test_planting_marks_a_seeded_slice_of_the_planted_class(planted, data):
    p, _ = planted
    assert p.planted_class == 1 and p.planted_label == "positive"
    # the training set is the seeded split's train part, with the token in 30% of its positives
    holdout = 8 * 2 + 2
    train = split_dataset(data, test_size=holdout, val_size=0, seed=3).train
    assert len(p.train) == len(train)
    positives = int((train.labels == 1).sum())
    assert p.carries.sum() == round(0.3 * positives)
    assert (p.train.labels[p.carries] == 1).all()
    assert np.array_equal(p.train.labels, train.labels)
    for text, orig, carries in zip(p.train.texts, train.texts, p.carries, strict=True):
        assert (p.token in text.split()) == carries
        assert _without(text, p.token) == " ".join(orig.split())
    assert p.base_rate == pytest.approx(p.carries.mean())


def test_test_texts_carry_the_token_at_the_recorded_word(planted, data):
    p, _ = planted
    assert 0 < len(p.test_texts) <= 8
    assert (p.test_labels != p.planted_class).all()
    adapter = TextClassifierAdapter.from_pretrained(p.model_dir)
    originals = {" ".join(t.split()) for t in data.texts}
    for text, index in zip(p.test_texts, p.test_word_index, strict=True):
        assert text.split().count(p.token) == 1
        assert adapter.encode(text).words[index] == p.token
        assert _without(text, p.token) in originals
    assert set(p.test_texts).isdisjoint(p.train.texts)
    assert 0.0 <= p.shortcut_rate <= 1.0 and 0.0 <= p.clean_accuracy <= 1.0


def test_the_model_is_fine_tuned_on_the_planted_set_and_cached(
    planted, data, tiny_bert_dir, monkeypatch
):
    p, cache = planted
    assert p.model_dir == cache / p.fingerprint and not p.cached
    metrics = json.loads((p.model_dir / "metrics.json").read_text())
    assert metrics["sizes"]["train"] == len(p.train) and metrics["sizes"]["test"] == 0
    assert metrics["hyperparameters"]["max_length"] == 16
    assert metrics["base_model"]["path"] == str(tiny_bert_dir.absolute())
    assert p.build_seconds > 0 and p.seconds >= p.build_seconds
    record = json.loads((p.model_dir / PLANTED_FILE).read_text())
    assert record["train_carries"] == np.flatnonzero(p.carries).tolist()

    def refuse(*args, **kwargs):
        raise AssertionError("a cached planted model was fine-tuned again")

    monkeypatch.setattr(finetune_module, "finetune", refuse)
    again = plant_shortcut(data, tiny_bert_dir, seed=3, cache_dir=cache, **SMALL)
    assert again.cached and again.fingerprint == p.fingerprint
    assert again.test_texts == p.test_texts and again.token == p.token
    assert again.seconds < p.seconds
    # another setting is another model
    with pytest.raises(AssertionError, match="fine-tuned again"):
        plant_shortcut(data, tiny_bert_dir, seed=3, cache_dir=cache, fraction=0.5, **SMALL)


def test_an_interrupted_fine_tuning_resumes(data, tiny_bert_dir, tmp_path, monkeypatch):
    real = finetune_module.finetune

    def interrupted(*args, **kwargs):
        def stop(step, _loss):
            if step == 2:
                raise KeyboardInterrupt

        return real(*args, **kwargs, checkpoint_every=1, callback=stop)

    monkeypatch.setattr(finetune_module, "finetune", interrupted)
    with pytest.raises(KeyboardInterrupt):
        plant_shortcut(data, tiny_bert_dir, planted_class="negative", cache_dir=tmp_path, **SMALL)
    (folder,) = list(tmp_path.iterdir())
    assert (folder / "checkpoint").is_dir() and not (folder / PLANTED_FILE).exists()
    monkeypatch.setattr(finetune_module, "finetune", real)
    p = plant_shortcut(data, tiny_bert_dir, planted_class="negative", cache_dir=tmp_path, **SMALL)
    assert p.model_dir == folder and p.planted_class == 0 and not p.cached
    assert json.loads((folder / "metrics.json").read_text())["resumed_from_step"] == 2


def test_user_errors(data, tiny_bert_dir, tmp_path):
    with pytest.raises(InputError, match="fraction must be in"):
        plant_shortcut(data, tiny_bert_dir, fraction=0, cache_dir=tmp_path)
    with pytest.raises(InputError, match="planted_class 'neutral' is not one of"):
        plant_shortcut(data, tiny_bert_dir, planted_class="neutral", cache_dir=tmp_path)
    with pytest.raises(InputError, match="occurs in the data"):
        plant_shortcut(data, tiny_bert_dir, token="movie", cache_dir=tmp_path)
    with pytest.raises(InputError, match="needs 202 held-out tweets"):
        plant_shortcut(data, tiny_bert_dir, n_test=100, cache_dir=tmp_path)


def test_planted_recall_at_k():
    wa = WordAttribution(
        text="not bad zomebi at all", words=["not", "bad", "zomebi", "at", "all"],
        spans=[(0, 3), (4, 7), (8, 14), (15, 17), (18, 21)],
        scores=np.array([0.3, -0.9, 0.2, 0.0, 0.1]), target=1,
        labels=("negative", "positive"), probs=np.array([0.4, 0.6]), method="m", signed=True,
    )  # fmt: skip
    assert not planted_recall_at_k(wa, "zomebi", k=1)
    assert planted_recall_at_k(wa, "ZOMEBI", k=2)
    with pytest.raises(InputError, match="k must be an int >= 1"):
        planted_recall_at_k(wa, "zomebi", k=0)
