"""One label model: data labels map onto the model's id2label by name, never by position.

The invariance tests run the CLI on a tiny BERT and on a copy whose two output rows and
``id2label`` are swapped (identical predictions per class *name*): heads accuracy, embedding
colours, audit probabilities and behaviour failure rates must be the same.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from model_factory import NEG_TWEETS, POS_TWEETS, label_swapped_copy, write_labelled_csv
from shared_fixtures import one_thread  # noqa: F401

from captum_ext.cli import main
from captum_ext.data import TextDataset, load_dataset, load_labelled, load_sentiment140
from captum_ext.errors import DataError, InputError
from captum_ext.labels import LabelModel, canonical_label, parse_label_map

POS, NEG = POS_TWEETS, NEG_TWEETS



# -- the label model ----------------------------------------------------------------------------
def test_names_and_aliases_map_by_name_not_position():
    lm = LabelModel(("positive", "negative"))
    assert lm.class_index("negative") == 1 and lm.class_index("NEG") == 1 and lm.class_index("pos") == 0
    assert lm.concept("positive") == 0 and not lm.has("neutral")
    assert lm.align_indices(("negative", "positive")).tolist() == [1, 0]
    three = LabelModel(("neg", "neu", "pos"))
    assert [three.class_index(n) for n in ("negative", "neutral", "positive")] == [0, 1, 2]
    assert canonical_label("4", codes=True) == "positive" and canonical_label("4") is None


def test_label_map_forms_and_errors():
    assert parse_label_map("negative=0, positive=LABEL_1") == {
        "negative": "0",
        "positive": "LABEL_1",
    }
    assert parse_label_map('{"Neg": 1}') == {"neg": "1"}
    lm = LabelModel(("LABEL_0", "LABEL_1"), "negative=1,positive=LABEL_0")
    assert lm.concept("positive") == 0 and lm.class_index("neg") == 1
    with pytest.raises(InputError, match="no positive class"):
        LabelModel(("LABEL_0", "LABEL_1")).concept("positive")
    with pytest.raises(InputError, match="not a class of the model"):
        LabelModel(("a", "b"), "negative=7")
    with pytest.raises(InputError, match="is not DATA=CLASS"):
        parse_label_map("negative")
    ds = TextDataset(["x", "y"], [0, 1], ("negative", "positive"))
    with pytest.raises(InputError, match="'negative', 'positive' match no class"):
        LabelModel(("LABEL_0", "LABEL_1")).align(ds)


def test_align_keeps_texts_and_uses_the_model_names():
    ds = TextDataset(["good", "bad", "meh"], [2, 0, 1], ("negative", "neutral", "positive"))
    aligned = LabelModel(("pos", "neg", "neu")).align(ds)
    assert aligned.texts == ds.texts and aligned.label_names == ("pos", "neg", "neu")
    assert aligned.labels.tolist() == [0, 1, 2]


# -- labelled files -----------------------------------------------------------------------------
def test_numeric_labels_need_a_label_map(tmp_path):
    f = write_labelled_csv(tmp_path / "coded.csv", [("good", "2"), ("meh", "1"), ("bad", "0")])
    with pytest.raises(DataError, match="--label-map 0=negative,1=neutral,2=positive"):
        load_labelled(f)
    ds = load_labelled(f, label_map="0=negative,1=neutral,2=positive")
    aligned = LabelModel(("negative", "neutral", "positive"), "0=negative,1=neutral,2=positive")
    assert aligned.align(ds).labels.tolist() == [2, 1, 0]


def test_polarity_codes_and_names(tmp_path, caplog):
    f = write_labelled_csv(tmp_path / "s140.csv", [("good", "4"), ("meh", "2"), ("bad", "0")])
    ds = load_labelled(f)
    assert ds.label_names == ("negative", "neutral", "positive")
    assert ds.labels.tolist() == [2, 1, 0]
    assert "polarity codes" in caplog.text
    j = tmp_path / "d.jsonl"
    j.write_text('{"text": "fine", "label": "Neutral"}\n{"text": "ugh", "label": "neg"}\n')
    assert load_dataset(j).label_names == ("neg", "Neutral")
    pair = tmp_path / "pair.csv"
    pair.write_text("text,text_pair,label\na,b,positive\n")
    with pytest.raises(DataError, match="text_pair"):
        load_labelled(pair)


def test_polarity_text_csv_coded_012_is_refused(tmp_path):
    f = tmp_path / "p.csv"
    f.write_text("0,bad day\n1,good day\n2,a day\n")
    with pytest.raises(DataError, match="0/1/2"):
        load_sentiment140(f, keep_neutral=True)


# -- a label-swapped copy gives the same answers -------------------------------------------------
@pytest.fixture(scope="module")
def models(tiny_bert_dir, tmp_path_factory):
    swapped = label_swapped_copy(tiny_bert_dir, tmp_path_factory.mktemp("swapped"))
    return tiny_bert_dir, swapped


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    d = tmp_path_factory.mktemp("s140")
    (d / "positive.txt").write_text("\n".join(POS) + "\n", encoding="utf-8")
    (d / "negative.txt").write_text("\n".join(NEG) + "\n", encoding="utf-8")
    return d


def test_swapped_copy_predicts_the_same(models):
    from captum_ext.adapters import TextClassifierAdapter

    a, b = (TextClassifierAdapter.from_pretrained(m) for m in models)
    assert b.labels == tuple(reversed(a.labels))
    pa, pb = a.predict_proba(POS + NEG), b.predict_proba(POS + NEG)
    np.testing.assert_allclose(pa, pb[:, ::-1], atol=1e-6)


def _run(*args: str) -> None:
    assert main(list(args)) == 0


def test_swap_invariance_of_heads_embeddings_audit_behaviour(models, folder, tmp_path, capsys):
    out = {}
    for name, model in zip(("orig", "swap"), models, strict=True):
        o = tmp_path / name
        common = ("--model", str(model), "--data", str(folder))
        _run(
            "heads",
            *common,
            "--n",
            "8",
            "--n-eval",
            "16",
            "--steps",
            "2",
            "--no-masking",
            "--out",
            str(o / "heads"),
            "--quiet",
        )
        _run("embeddings", *common, "--n", "16", "--out", str(o / "emb"), "--quiet")
        _run("audit", *common, "--method", "knn", "--k", "3", "--out", str(o / "audit.csv"))
        _run(
            "behaviour",
            "--model",
            str(model),
            "--explain",
            "none",
            "--out",
            str(o / "beh"),
            "--quiet",
        )
        capsys.readouterr()
        heads = json.loads((o / "heads" / "heads.json").read_text())
        emb = pd.read_csv(next((o / "emb").glob("*.csv")))
        audit = pd.read_csv(o / "audit.csv").sort_values("index")
        beh = json.loads((o / "beh" / "results.json").read_text())
        out[name] = (heads, emb, audit, beh)
    (h0, e0, a0, b0), (h1, e1, a1, b1) = out["orig"], out["swap"]
    acc0 = [r["accuracy"] for r in h0["pruning_curve"]]
    assert acc0 == [r["accuracy"] for r in h1["pruning_curve"]]
    # not a degenerate check: labels given as class indices (the old bug) flip the accuracy
    assert e0[["text", "label"]].equals(e1[["text", "label"]])
    assert set(e0["label"]) == {"negative", "positive"}
    np.testing.assert_allclose(a0["model_p_label"], a1["model_p_label"], atol=1e-6)
    assert a0["label"].tolist() == a1["label"].tolist()
    np.testing.assert_allclose(a0["knn"], a1["knn"], atol=1e-9)
    rates0 = {t["test"]: t["failure_rate"] for t in b0["tests"]}
    rates1 = {t["test"]: t["failure_rate"] for t in b1["tests"]}
    assert rates0 == rates1


def test_heads_accuracy_follows_class_names_not_positions(models, folder):
    """The swapped copy scored with the data's label numbers as class indices (the old bug)
    gets 1 - accuracy: the invariance above is not vacuous."""
    from captum_ext.adapters import TextClassifierAdapter
    from captum_ext.internals.heads import pruning_curve

    ds = load_sentiment140(folder)
    swapped = TextClassifierAdapter.from_pretrained(models[1])
    right = LabelModel.of(swapped).align(ds).labels
    grads = np.ones((2, 2))
    good = pruning_curve(swapped, grads, ds.texts, right, fractions=[0.0])["accuracy"][0]
    bad = pruning_curve(swapped, grads, ds.texts, ds.labels, fractions=[0.0])["accuracy"][0]
    assert good == pytest.approx(1 - bad)


def test_label_names_the_model_lacks_are_one_line_errors(tiny_bert_dir, folder, tmp_path, capsys):
    from model_factory import build_checkpoint

    generic = build_checkpoint(tmp_path / "generic", "bert", n_labels=2)  # LABEL_0/LABEL_1
    code = main(
        [
            "behaviour",
            "--model",
            str(generic),
            "--explain",
            "none",
            "--out",
            str(tmp_path / "b"),
            "--quiet",
        ]
    )
    err = capsys.readouterr().err
    assert code == 2 and "no negative class" in err or "no positive class" in err
    code = main(
        [
            "heads",
            "--model",
            str(generic),
            "--data",
            str(folder),
            "--n",
            "4",
            "--n-eval",
            "4",
            "--no-masking",
            "--out",
            str(tmp_path / "h"),
            "--quiet",
        ]
    )
    assert code == 2 and "--label-map" in capsys.readouterr().err
    _run(
        "heads",
        "--model",
        str(generic),
        "--data",
        str(folder),
        "--n",
        "4",
        "--n-eval",
        "4",
        "--no-masking",
        "--out",
        str(tmp_path / "h"),
        "--quiet",
        "--label-map",
        "negative=0,positive=LABEL_1",
    )
    _run(
        "behaviour",
        "--model",
        str(generic),
        "--explain",
        "none",
        "--out",
        str(tmp_path / "b"),
        "--quiet",
        "--label-map",
        "negative=0,positive=1",
    )
