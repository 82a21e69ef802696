"""The default model on the hand-labelled fixture: held out, intact, and above a floor.

The floor, 0.85, is the lower end of the 95% Wilson interval of the default model that the
fixture was made for (174 of 193, 0.902): a model as good as that one falls below it on these
193 tweets with a probability of about 1%, while a model that had lost its grip on sentiment
(or read its classes in the wrong order) fails it by far.
"""

from __future__ import annotations

import pytest

from captum_ext.data.human_eval import evaluate_model, lexicon_scores, load_human_labels

pytestmark = pytest.mark.integration

HUMAN_FLOOR = 0.85


def test_fixture_matches_the_shared_sample():
    rows = load_human_labels()  # every hash checked
    assert len(rows) == 300 and all(r.text for r in rows)
    polar = [r for r in rows if r.label != "neither"]
    agree = sum(r.label == r.emoticon_label for r in polar)
    assert (len(polar), agree) == (193, 184)  # the figures the docs quote


def test_default_model_on_hand_labels(real_adapter, default_model_path):
    report = evaluate_model(real_adapter, model_dir=default_model_path, parts=["human"])
    human = report["human"]
    # the fixture was drawn from the default fine-tune's held-out split: none trained on
    assert human["left_out_trained"] == 0, report["notes"]
    assert human["n"] == 193
    assert human["accuracy"] >= HUMAN_FLOOR, human
    for name, part in human["per_class"].items():
        assert part["accuracy"] >= 0.75, (name, human)


def test_lexicon_agreement_is_near_human_on_the_fixture():
    """The lexicon-agreement rule (emoticon label and |VADER compound| >= 0.5 agree) picks
    tweets whose hand label, when they have one, is the same: 86 of 87 on the fixture."""
    pytest.importorskip("vaderSentiment")
    rows = load_human_labels()
    scores = lexicon_scores([r.text for r in rows])
    chosen = [
        r
        for r, s in zip(rows, scores, strict=True)
        if (s >= 0.5 and r.emoticon_label == "positive")
        or (s <= -0.5 and r.emoticon_label == "negative")
    ]
    polar = [r for r in chosen if r.label != "neither"]
    agree = sum(r.label == r.emoticon_label for r in polar)
    assert (len(chosen), len(polar), agree) == (98, 87, 86)
