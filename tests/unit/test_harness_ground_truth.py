"""The ground-truth stage of the harness: records, resume and the verdict's use of them (the
planting and fine-tuning themselves are tested in test_train_planted.py; here a planted model is
stood in by the tiny model with a token the test knows)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from captum_ext.data import TextDataset
from captum_ext.harness import ResultStore, summarize
from captum_ext.harness.ground_truth import run_ground_truth
from captum_ext.train import planted as planted_module
from captum_ext.train.planted import PlantedShortcut


@pytest.fixture
def fake_plant(tiny_bert_dir, monkeypatch):
    calls = []

    def plant(data, model, *, n_test, seed, show_progress):
        calls.append((len(data), n_test, seed))
        texts = [f"zorblat is {w} today" for w in ("fine", "bad", "ok", "here", "gone")][:n_test]
        return PlantedShortcut(
            model_dir=Path(tiny_bert_dir), token="zorblat", planted_class=1,
            planted_label="positive", train=data, carries=np.zeros(len(data), bool),
            test_texts=texts, test_word_index=[0] * len(texts),
            test_labels=np.zeros(len(texts), np.int64), shortcut_rate=0.9, clean_accuracy=0.8,
            seconds=0.1, build_seconds=12.5, cached=False, fingerprint="f", settings={},
        )  # fmt: skip

    monkeypatch.setattr(planted_module, "plant_shortcut", plant)
    return calls


def test_records_resume_and_summary(adapter, fake_plant):
    torch.set_num_threads(1)
    data = TextDataset(["good day", "bad day", "nice", "awful"] * 5, np.array([1, 0, 1, 0] * 5),
                       ("negative", "positive"))  # fmt: skip
    store = ResultStore()
    info = run_ground_truth(adapter, store, methods=["occlusion", "ig"],
                            method_settings={"ig": {"n_steps": 8}}, data=data, n_texts=3,
                            n_train=10, random_state=0)  # fmt: skip
    assert fake_plant == [(10, 3, 0)]  # a seeded sample of n_train tweets was planted into
    assert info["learnt"] and info["token"] == "zorblat" and info["build_seconds"] == 12.5
    recs = store.records("ground_truth")
    assert len(recs) == 6 and {r.text_id for r in recs} == {"gt-0000", "gt-0001", "gt-0002"}
    for r in recs:
        assert r.values["planted_recall"] in (0.0, 1.0)
    # the value is recall@1 of the token, recomputed here from the method's own explanation
    from captum_ext.methods import make_explainer

    wa = make_explainer("occlusion", adapter).explain("zorblat is fine today", target=1)
    got = next(r for r in recs if r.method == "occlusion" and r.text_id == "gt-0000")
    assert got.values["planted_recall"] == float(wa.top_words(1)[0] == "zorblat")
    # resumed: nothing computed again
    run_ground_truth(adapter, store, methods=["occlusion", "ig"], method_settings={},
                     data=data, n_texts=3, n_train=10)  # fmt: skip
    assert len(store.records("ground_truth")) == 6
    frame = summarize(store.records(), methods=["occlusion", "ig"]).metrics
    sub = frame[frame["metric"] == "planted_recall"]
    assert len(sub) == 6 and set(sub["family"]) == {"ground_truth"}


def test_an_unlearnt_shortcut_is_left_out(adapter, fake_plant, monkeypatch):
    original = planted_module.plant_shortcut

    def weak(*a, **k):
        p = original(*a, **k)
        return PlantedShortcut(**{**p.__dict__, "shortcut_rate": 0.3})

    monkeypatch.setattr(planted_module, "plant_shortcut", weak)
    data = TextDataset(["good day", "bad day"] * 5, np.array([1, 0] * 5), ("negative", "positive"))
    store = ResultStore()
    info = run_ground_truth(adapter, store, methods=["occlusion"], method_settings={}, data=data,
                            n_texts=2)  # fmt: skip
    assert not info["learnt"]
    frame = summarize(store.records(), methods=["occlusion"]).metrics
    assert not (frame["metric"] == "planted_recall").any()
