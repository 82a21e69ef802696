"""TextLime on the real default model: official LIME parity, log-odds, Captum API, CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest

from captum_ext.attr import TextLime
from captum_ext.data import EXAMPLE_TWEETS

pytestmark = pytest.mark.integration


def test_lime_compatible_mode_reproduces_official_lime_on_the_example_tweets(real_adapter):
    from lime.lime_text import LimeTextExplainer

    for text in EXAMPLE_TWEETS:
        probs = real_adapter.predict_proba([text])[0]
        target = int(np.argmax(probs))
        exp = LimeTextExplainer(
            class_names=list(real_adapter.labels), random_state=0
        ).explain_instance(
            text, real_adapter.predict_proba, labels=(target,), num_features=1000, num_samples=300
        )
        ours = TextLime.lime_compatible(real_adapter, random_state=0).explain(
            text, target=target, n_samples=300
        )
        ref = dict(exp.as_list(label=target))
        got = dict((n, w) for n, w in ours.extras["lime_weights"])
        assert set(got) == set(ref)
        scale = max(abs(v) for v in ref.values())
        for name, value in ref.items():  # same neighbourhood, same model outputs (float32)
            assert got[name] == pytest.approx(value, abs=1e-4 * scale + 1e-7), name
        assert ours.extras["score"] == pytest.approx(exp.score, abs=1e-3)


def test_log_odds_fixes_the_saturated_example(real_adapter):
    text = EXAMPLE_TWEETS[1]  # "Thanks so much!!! Really appreciate that..."
    probs = real_adapter.predict_proba([text])[0]
    target = int(np.argmax(probs))
    p = TextLime(real_adapter, random_state=0).explain(text, target=target, n_samples=500)
    lo = TextLime(real_adapter, output="log_odds", random_state=0).explain(
        text, target=target, n_samples=500
    )
    # the model's output in each space is what the adapter says for the original text
    assert p.extras["model_pred"] == pytest.approx(probs[target], abs=1e-5)
    expected = np.log(probs[target]) - np.log1p(-probs[target])
    assert lo.extras["model_pred"] == pytest.approx(expected, abs=1e-3)
    # the same words matter, on a scale that is not squashed by the saturation
    assert np.max(np.abs(lo.scores)) > np.max(np.abs(p.scores))


def test_attribute_on_token_ids_matches_the_text_entry_point(real_adapter):
    text = EXAMPLE_TWEETS[0]
    lime = TextLime(real_adapter, random_state=3)
    ids, mask = real_adapter.captum_inputs(text)
    attr = lime.attribute(ids, target=1, additional_forward_args=(mask,), n_samples=300)
    wa = lime.explain(text, target=1, n_samples=300)
    enc = real_adapter.encode(text)
    expected = [0.0 if w is None else wa.scores[w] for w in enc.token_to_word]
    np.testing.assert_allclose(attr[0].numpy(), expected, atol=1e-6)


def test_ngram_and_tree_methods_on_the_real_model(real_adapter):
    from captum_ext.methods import make_explainer

    text = EXAMPLE_TWEETS[2]
    wa = make_explainer("lime-ngram", real_adapter, n_samples=400).explain(text, random_state=0)
    assert wa.extras["ngram_weights"] and 0.0 <= wa.extras["score"] <= 1.0
    tree = make_explainer("lime-tree", real_adapter, n_samples=400).explain(text, random_state=0)
    assert tree.extras["surrogate"] == "tree" and tree.extras["decision_path"]
    assert tree.top_words(1)[0] in tree.extras["tree_text"]


def test_cli_explain_lime_tree_json(default_model_path, capsys):
    from captum_ext.cli import main

    assert main(["explain", "not bad at all, really", "--method", "lime-tree", "--json"]) == 0
    obj = json.loads(capsys.readouterr().out)
    assert obj["method"] == "lime-tree"
    assert [w["word"] for w in obj["words"]] == ["not", "bad", "at", "all", ",", "really"]
