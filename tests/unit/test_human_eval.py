"""The hand-labelled fixture's loader (hash checks) and the evaluation's label mapping.

The shipped fixture is checked for its shape and counts (no data needed); the loader and
:func:`evaluate_model` run on a planted data folder and fixture, with stub and tiny random models
whose classes are in either order: labels go through the model's ``id2label``, never by index.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
from model_factory import NEG_TWEETS, POS_TWEETS, build_checkpoint, label_swapped_copy

from captum_ext.data import TextDataset
from captum_ext.data.human_eval import (
    HUMAN_LABELS_FILE,
    evaluate_model,
    human_labelled_dataset,
    lexicon_agreement_set,
    load_human_labels,
    read_human_labels,
    text_hash,
    wilson_interval,
)
from captum_ext.errors import DataError, InputError


def test_shipped_fixture_shape_and_counts():
    rows = read_human_labels()
    assert len(rows) == 300 and len({(r.file, r.line) for r in rows}) == 300
    assert sum(r.file == "positive.txt" for r in rows) == 150
    counts = {lab: sum(r.label == lab for r in rows) for lab in ("negative", "positive", "neither")}
    assert counts == {"negative": 101, "positive": 92, "neither": 107}
    # references only: no tweet text in the shipped file
    header = HUMAN_LABELS_FILE.read_text(encoding="utf-8").splitlines()[0]
    assert header == "file,line,sha256_12,label"
    assert all(len(r.sha) == 12 and r.text == "" for r in rows)


def _plant(tmp_path: Path, labels: dict[tuple[str, int], str]) -> tuple[Path, Path]:
    """A data folder (the shared tweets, one a line, a blank line in each file) and a fixture
    CSV labelling the given ``(file, line)`` rows."""
    data = tmp_path / "s140"
    data.mkdir()
    files = {"negative.txt": NEG_TWEETS, "positive.txt": POS_TWEETS}
    lines = {}
    for name, tweets in files.items():
        lines[name] = ["", *tweets]  # line 1 blank: line numbers count every line
        (data / name).write_text("\n".join(f"  {t} " for t in lines[name]) + "\n", encoding="utf-8")
    fixture = tmp_path / "labels.csv"
    with fixture.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["file", "line", "sha256_12", "label"])
        for (name, line), label in labels.items():
            w.writerow([name, line, text_hash(lines[name][line - 1].strip()), label])
    return data, fixture


LABELS = {
    ("negative.txt", 2): "negative",  # "so sad today"
    ("negative.txt", 5): "negative",  # "worst day ever"
    ("negative.txt", 6): "positive",  # "no thanks": hand label differs from the emoticon label
    ("positive.txt", 2): "positive",  # "so happy today"
    ("positive.txt", 3): "neither",  # "great game tonight"
}


def test_loader_reads_texts_and_checks_hashes(tmp_path):
    data, fixture = _plant(tmp_path, LABELS)
    rows = load_human_labels(data, path=fixture)
    assert [r.text for r in rows] == [
        "so sad today",
        "worst day ever",
        "no thanks",
        "so happy today",
        "great game tonight",
    ]
    assert [r.emoticon_label for r in rows][2:4] == ["negative", "positive"]
    ds = human_labelled_dataset(rows)
    assert ds.label_names == ("negative", "positive")
    assert ds.texts == ["so sad today", "worst day ever", "no thanks", "so happy today"]
    assert ds.labels.tolist() == [0, 0, 1, 1]

    # the data changed under the fixture: a line edited, the file shortened
    (data / "negative.txt").write_text("\nso sad today\nhmm\n", encoding="utf-8")
    with pytest.raises(
        DataError, match=r"2 of the 5 hand-labelled tweets differ.*first: negative.txt:5\)"
    ):
        load_human_labels(data, path=fixture)
    with pytest.raises(DataError, match="cannot read negative.txt"):
        load_human_labels(tmp_path / "nowhere", path=fixture)


@pytest.mark.parametrize(
    "row, fragment",
    [
        (["neutral.txt", "1", "0" * 12, "negative"], "line 2 is not FILE,LINE,HASH,LABEL"),
        (["negative.txt", "0", "0" * 12, "negative"], "line 2"),
        (["negative.txt", "1", "0" * 12, "meh"], "LABEL one of"),
        (["negative.txt", "1", "0" * 5, "negative"], "line 2"),
    ],
)
def test_malformed_fixture_rows(tmp_path, row, fragment):
    f = tmp_path / "bad.csv"
    f.write_text("file,line,sha256_12,label\n" + ",".join(row) + "\n", encoding="utf-8")
    with pytest.raises(DataError, match=fragment):
        read_human_labels(f)
    f.write_text("text,label\nhi,positive\n", encoding="utf-8")
    with pytest.raises(DataError, match="header must be"):
        read_human_labels(f)


class KeywordModel:
    """A stub adapter that knows sentiment words, with its classes in a given order."""

    def __init__(self, labels):
        self.labels = tuple(labels)

    def predict_proba(self, texts):
        pos = next(i for i, lab in enumerate(self.labels) if lab.lower().startswith("pos"))
        out = np.full((len(texts), len(self.labels)), 0.1)
        for row, text in enumerate(texts):
            happy = any(w in text for w in ("happy", "great", "thanks", "love"))
            out[row, pos if happy else 1 - pos] = 0.9
        return out


@pytest.mark.parametrize("labels", [("negative", "positive"), ("POSITIVE", "NEGATIVE")])
def test_human_accuracy_goes_through_the_model_labels(tmp_path, labels):
    data, fixture = _plant(tmp_path, LABELS)
    report = evaluate_model(KeywordModel(labels), data=data, fixture=fixture, parts=["human"])
    human = report["human"]
    # "no thanks" is hand-labelled positive and the stub calls it positive: 4 of 4
    assert (human["n"], human["correct"], human["neither"]) == (4, 4, 1)
    assert human["agreement_with_emoticon"] == pytest.approx(3 / 4)
    assert set(human["per_class"]) == {labels[0], labels[1]}
    assert report["emoticon_test"] is None and report["lexicon"] is None
    assert any("no metrics.json" in note for note in report["notes"])


def test_generic_labels_need_a_label_map(tmp_path):
    data, fixture = _plant(tmp_path, LABELS)
    stub = KeywordModel(("pos_class", "LABEL_1"))
    with pytest.raises(InputError, match="--label-map"):
        evaluate_model(stub, data=data, fixture=fixture, parts=["human"])
    report = evaluate_model(
        stub, data=data, fixture=fixture, parts=["human"], label_map="positive=0,negative=1"
    )
    assert report["human"]["correct"] == 4
    with pytest.raises(InputError, match="parts must be"):
        evaluate_model(stub, data=data, fixture=fixture, parts=["bogus"], label_map="pos=0,neg=1")


def test_label_swapped_tiny_model_scores_the_same(tmp_path):
    from captum_ext.adapters import TextClassifierAdapter

    labels = {("negative.txt", i): "negative" for i in range(2, 14)}
    labels.update({("positive.txt", i): "positive" for i in range(2, 14)})
    data, fixture = _plant(tmp_path, labels)
    src = build_checkpoint(tmp_path / "m", "bert", id2label=["negative", "positive"], seed=3)
    swapped = label_swapped_copy(src, tmp_path / "swapped")
    reports = [
        evaluate_model(
            TextClassifierAdapter.from_pretrained(d), data=data, fixture=fixture, parts=["human"]
        )["human"]
        for d in (src, swapped)
    ]
    assert reports[0]["n"] == 24
    assert reports[0]["correct"] == reports[1]["correct"]
    assert reports[0]["per_class"] == reports[1]["per_class"]


def test_lexicon_agreement_set_keeps_agreeing_tweets():
    pytest.importorskip("vaderSentiment")
    texts = [
        "I love this, what a great and happy day",  # positive, agrees
        "I hate this awful horrible day",  # positive label, lexicon says negative: dropped
        "the bus leaves at ten",  # no polarity: dropped
        "this is terrible, I hate it so much",  # negative, agrees
        "worst, saddest, most awful news",  # negative, agrees
        "so happy, love you all, best friends",  # positive, agrees
    ]
    ds = TextDataset(texts, [1, 1, 1, 0, 0, 1], ("negative", "positive"))
    full = lexicon_agreement_set(ds, n=100)
    assert sorted(full.texts) == sorted([texts[0], texts[3], texts[4], texts[5]])
    assert dict(zip(full.texts, full.labels.tolist(), strict=True))[texts[3]] == 0
    two = lexicon_agreement_set(ds, n=2)
    assert sorted(two.labels.tolist()) == [0, 1]
    left_out = lexicon_agreement_set(ds, n=100, exclude={"i love this, what a great and happy day"})
    assert texts[0] not in left_out.texts and len(left_out) == 3
    # a model's class order does not matter: the set is in data labels
    swapped = TextDataset(texts, [0, 0, 0, 1, 1, 0], ("positive", "negative"))
    assert sorted(lexicon_agreement_set(swapped, n=100).texts) == sorted(full.texts)


def test_wilson_interval_matches_the_formula():
    lo, hi = wilson_interval(174, 193)
    assert lo == pytest.approx(0.8514, abs=1e-4) and hi == pytest.approx(0.9361, abs=1e-4)
    assert np.isnan(wilson_interval(0, 0)[0])


def test_accuracy_lines_name_each_part_and_skip_what_did_not_run():
    from captum_ext.data.human_eval import format_accuracy_lines

    part = {"accuracy": 174 / 193, "correct": 174, "n": 193, "ci95": [0.851, 0.936]}
    report = {"emoticon_test": None, "human": part, "lexicon": {"accuracy": None}}
    assert format_accuracy_lines(report) == [
        "hand labels (positive/negative rows)   accuracy 0.902  (174/193, 95% CI 0.851-0.936)"
    ]
    lines = format_accuracy_lines(report, show_skipped=True)
    assert lines[0].startswith("emoticon labels, held-out split") and lines[0].endswith("skipped")
    assert len(lines) == 3 and lines[2].endswith("skipped")
