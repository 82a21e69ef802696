"""``finetune`` on any number of classes from a ``text,label`` file, end to end on a tiny BERT:
finetune -> explain -> compare, then influence and audit on the 3-class model's own data."""

from __future__ import annotations

import json

import pytest
from model_factory import NEG_TWEETS, NEU_TWEETS, POS_TWEETS, write_labelled_csv
from shared_fixtures import one_thread  # noqa: F401

from captum_ext.cli import main

POS, NEG, NEU = POS_TWEETS, NEG_TWEETS, NEU_TWEETS

TRAIN = ("--epochs", "1", "--max-length", "16", "--batch-size", "8")


@pytest.fixture(scope="module")
def three_class(tiny_bert_dir, tmp_path_factory):
    d = tmp_path_factory.mktemp("three")
    rows = [(t, "positive") for t in POS] + [(t, "Neutral") for t in NEU]
    rows += [(t, "negative") for t in NEG]
    data = write_labelled_csv(d / "three.csv", rows)
    out = d / "model"
    assert (
        main(
            [
                "finetune",
                "--data",
                str(data),
                "--base",
                str(tiny_bert_dir),
                "--out",
                str(out),
                *TRAIN,
            ]
        )
        == 0
    )
    return data, out


def test_finetune_makes_one_class_per_label_with_a_scaled_test_split(three_class):
    _, out = three_class
    config = json.loads((out / "config.json").read_text())
    assert config["id2label"] == {"0": "negative", "1": "Neutral", "2": "positive"}
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["sizes"]["test"] == 4  # 10% of 36 texts, rounded up (not 2000)
    assert metrics["data"]["classes"] == ["negative", "Neutral", "positive"]


def test_three_class_model_explains_and_compares(three_class, tmp_path, capsys):
    _, out = three_class
    assert (
        main(
            [
                "explain",
                "so happy today",
                "--model",
                str(out),
                "--method",
                "occlusion",
                "--target",
                "neutral",
                "--json",
            ]
        )
        == 0
    )
    obj = json.loads(capsys.readouterr().out)
    assert set(obj["prediction"]["probs"]) == {"negative", "Neutral", "positive"}
    assert obj["target"] == "Neutral"
    assert (
        main(
            [
                "compare",
                "--text",
                "so happy today",
                "--text",
                "the bus leaves at ten",
                "--methods",
                "occlusion,ig",
                "--model",
                str(out),
                "--out",
                str(tmp_path / "c"),
                "--no-progress",
            ]
        )
        == 0
    )
    assert (tmp_path / "c" / "report.html").is_file()


def test_three_class_influence_and_audit_on_the_model_own_data(three_class, tmp_path, capsys):
    _, out = three_class
    assert (
        main(
            [
                "influence",
                "so happy today",
                "--model",
                str(out),
                "--k",
                "2",
                "--fidelity-n",
                "0",
                "--json",
            ]
        )
        == 0
    )
    entry = json.loads(capsys.readouterr().out)
    labels = {p["label"] for p in entry["proponents"]}
    assert labels <= {"negative", "Neutral", "positive"}
    assert (
        main(
            [
                "audit",
                "--model",
                str(out),
                "--folds",
                "2",
                "--k",
                "3",
                "--out",
                str(tmp_path / "a.csv"),
            ]
        )
        == 0
    )
    import pandas as pd

    frame = pd.read_csv(tmp_path / "a.csv")
    assert set(frame["label"]) == {"negative", "Neutral", "positive"}
    assert frame["model_p_label"].between(0, 1).all()


def test_numeric_labels_need_label_map(tiny_bert_dir, tmp_path, capsys):
    rows = [(t, "2") for t in POS] + [(t, "1") for t in NEU] + [(t, "0") for t in NEG]
    data = write_labelled_csv(tmp_path / "coded.csv", rows)
    code = main(
        [
            "finetune",
            "--data",
            str(data),
            "--base",
            str(tiny_bert_dir),
            "--out",
            str(tmp_path / "m"),
            *TRAIN,
        ]
    )
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "--label-map" in err
    assert (
        main(
            [
                "finetune",
                "--data",
                str(data),
                "--base",
                str(tiny_bert_dir),
                "--out",
                str(tmp_path / "m"),
                "--label-map",
                "0=negative,1=neutral,2=positive",
                "--test-size",
                "0.25",
                *TRAIN,
            ]
        )
        == 0
    )
    metrics = json.loads((tmp_path / "m" / "metrics.json").read_text())
    assert metrics["data"]["classes"] == ["negative", "neutral", "positive"]
    assert metrics["sizes"]["test"] == 9
