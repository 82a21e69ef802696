"""Behavioural tests on toy models whose behaviour is known, through TextClassifierAdapter."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch
from shared_fixtures import one_thread  # noqa: F401 (autouse fixture)
from torch import nn

from captum_ext.adapters import TextClassifierAdapter
from captum_ext.behaviour import (
    DIR,
    INV,
    LEXICON,
    MFT,
    Suite,
    add_typo,
    default_suite,
    expand,
    run_suite,
)
from captum_ext.errors import InputError


class BagOfWords(nn.Module):
    """logit(positive) - logit(negative) = sum of per-token weights; most tokens weigh 0.

    With weight 0 for "@", user names, URLs and "not", the model ignores @mentions, URLs and
    negation exactly (a sum of zeros does not move), whatever else the text says.
    """

    def __init__(self, tokenizer, weights: dict[str, float]) -> None:
        super().__init__()
        from transformers import PretrainedConfig

        self.config = PretrainedConfig(
            num_labels=2,
            id2label={0: "negative", 1: "positive"},
            label2id={"negative": 0, "positive": 1},
            max_position_embeddings=512,
        )
        self.embeddings = nn.Embedding(len(tokenizer), 1)
        with torch.no_grad():
            self.embeddings.weight.zero_()
            for word, w in weights.items():
                (tid,) = tokenizer.convert_tokens_to_ids([word])
                self.embeddings.weight[tid, 0] = w

    def get_input_embeddings(self) -> nn.Module:
        return self.embeddings

    def forward(self, input_ids=None, attention_mask=None, **kwargs):
        from transformers.modeling_outputs import SequenceClassifierOutput

        s = (self.embeddings(input_ids)[..., 0] * attention_mask).sum(dim=1) + 0.1
        return SequenceClassifierOutput(logits=torch.stack([-s / 2, s / 2], dim=1))


def _sentiment_weights(not_weight: float = 0.0) -> dict[str, float]:
    w = {word: 2.0 for word in LEXICON["pos_adj"] + LEXICON["pos_verb"]}
    w.update({word: -2.0 for word in LEXICON["neg_adj"] + LEXICON["neg_verb"]})
    w["not"] = not_weight
    return w


@pytest.fixture(scope="module")
def tokenizer():
    from conftest import base_tokenizer

    return base_tokenizer()


@pytest.fixture(scope="module")
def ignores_not(tokenizer):
    return TextClassifierAdapter(BagOfWords(tokenizer, _sentiment_weights()), tokenizer)


@pytest.fixture(scope="module")
def reads_not(tokenizer):
    return TextClassifierAdapter(BagOfWords(tokenizer, _sentiment_weights(-5.0)), tokenizer)


@pytest.fixture(scope="module")
def suite():
    return default_suite(random_state=0)


def _tests(suite, *names):
    return Suite("part", [t for t in suite.tests if t.name in names])


def test_default_suite_size_and_types(suite):
    s = suite.summary()
    assert suite.n_cases >= 500
    assert set(s["type"]) == {"MFT", "INV", "DIR"}
    assert set(s["capability"]) >= {"vocabulary", "negation", "robustness"}
    for cap in ("vocabulary", "negation"):
        assert {"MFT", "DIR"} <= set(s[s["capability"] == cap]["type"])
    same = default_suite(random_state=0)
    other = default_suite(random_state=1)
    assert [t.texts() for t in same.tests] == [t.texts() for t in suite.tests]
    assert [t.texts() for t in other.tests] != [t.texts() for t in suite.tests]


def test_inv_on_a_model_that_ignores_mentions_and_urls_has_no_failures(ignores_not, suite):
    part = _tests(suite, "robustness.add_mention", "robustness.add_url")
    res = run_suite(ignores_not, part, explain=None)
    rates = res.summary().set_index("test")["failure_rate"]
    assert rates["robustness.add_mention"] == 0.0 and rates["robustness.add_url"] == 0.0
    # the perturbation is real: every perturbed text differs and has the mention / URL
    mention = next(t for t in part.tests if t.name == "robustness.add_mention")
    assert all(b.startswith("@") and b != a for a, b in mention.pairs)


def test_dir_on_a_model_that_ignores_not_fails(ignores_not, reads_not, suite):
    part = _tests(suite, "negation.insert_not_pos", "negation.not_pos_adj", "vocab.pos_adj")
    res = run_suite(ignores_not, part, explain=None)
    rates = res.summary().set_index("test")["failure_rate"]
    assert rates["negation.insert_not_pos"] == 1.0  # p(positive) does not move at all
    assert rates["negation.not_pos_adj"] == 1.0  # "is not great" stays positive
    assert rates["vocab.pos_adj"] == 0.0  # it does read sentiment words
    fixed = run_suite(reads_not, part, explain=None).summary().set_index("test")["failure_rate"]
    assert fixed["negation.insert_not_pos"] == 0.0 and fixed["negation.not_pos_adj"] == 0.0


def test_every_failure_is_linked_to_its_explanation(ignores_not, suite, tmp_path):
    part = _tests(suite, "negation.insert_not_pos", "robustness.add_mention")
    res = run_suite(ignores_not, part, explain="ig", explain_settings={"n_steps": 8})
    failed = [c for c in res.cases if not c.passed]
    assert len(failed) == 60
    for c in failed:
        exp = res.explanations[f"{c.test}#{c.index}"]
        assert exp["text"] == c.explain_text == c.texts[1]  # the perturbed text
        assert exp["target"] == "positive" and exp["method"] == "ig"
        scores = {w["word"]: w["score"] for w in exp["words"]}
        # the model used the adjective, not "not" (weight 0 there: IG gives it 0)
        assert scores["not"] == pytest.approx(0.0, abs=1e-6)
        adj = c.meta["adj"]
        assert scores[adj] > 0.0
    df = res.failures()
    assert len(df) == 60 and df["top_words"].str.len().gt(0).all()
    files = res.save(tmp_path)
    page = files["html"].read_text()
    assert page.count('id="fail-negation.insert_not_pos-') == 60
    assert 'href="#test-negation.insert_not_pos"' in page
    assert "<script" not in page
    data = files["json"].read_text()
    assert '"explanation": {' in data and '"n_failures": 60' in data


def test_report_escapes_case_texts(ignores_not, tmp_path):
    t = MFT(
        "mft.html",
        "vocabulary",
        "<b>desc</b>",
        ["<img src=x onerror=alert(1)> great"],
        ["negative"],
    )
    res = run_suite(ignores_not, Suite("s", [t]), explain="ig", explain_settings={"n_steps": 4})
    page = res.to_html()
    assert "<img" not in page and "<b>desc" not in page
    assert "&lt;img" in page and "&lt;b&gt;desc" in page


def test_check_logic_by_hand():
    labels = ("negative", "positive")
    probs = {
        "a": np.array([0.2, 0.8]),
        "b": np.array([0.25, 0.75]),
        "c": np.array([0.6, 0.4]),
        "d": np.array([0.15, 0.85]),
    }
    mft = MFT("m", "x", "d", ["a", "c"], ["positive", 1])
    assert [r.passed for r in mft.evaluate(probs, labels)] == [True, False]
    inv = INV("i", "x", "d", [("a", "b"), ("a", "c")])
    assert [r.passed for r in inv.evaluate(probs, labels)] == [True, False]
    strict = INV("i2", "x", "d", [("a", "b")], max_change=0.01)
    assert [r.passed for r in strict.evaluate(probs, labels)] == [False]
    # p(positive): a→b -0.05, a→d +0.05, a→c -0.4
    down = DIR("d1", "x", "d", [("a", "b"), ("a", "d"), ("a", "c")], label=1, direction="down")
    assert [r.passed for r in down.evaluate(probs, labels)] == [True, False, True]
    need = DIR("d2", "x", "d", [("a", "b"), ("a", "c")], label="positive", direction="down",
               min_change=0.1)  # fmt: skip
    assert [r.passed for r in need.evaluate(probs, labels)] == [False, True]
    tol = DIR("d3", "x", "d", [("a", "b"), ("a", "c")], label=1, direction="up", min_change=-0.1)
    assert [r.passed for r in tol.evaluate(probs, labels)] == [True, False]


def test_expand_and_perturbations():
    full = expand("{a} and {b} and {a}", a=["x", "y"], b=["1", "2", "3"])
    assert [t for t, _ in full] == [
        "x and 1 and x",
        "x and 2 and x",
        "x and 3 and x",
        "y and 1 and y",
        "y and 2 and y",
        "y and 3 and y",
    ]
    some = expand("{a}{b}", n=4, random_state=3, a=list("abcdef"), b=list("123456"))
    assert len({t for t, _ in some}) == 4
    assert some == expand("{a}{b}", n=4, random_state=3, a=list("abcdef"), b=list("123456"))
    with pytest.raises(InputError, match="needs values"):
        expand("{a} {c}", a=["x"])
    rng = np.random.default_rng(0)
    for text in ["this movie is great", "i love the concert"]:
        typo = add_typo(text, rng)
        diff = [i for i, (x, y) in enumerate(zip(text, typo, strict=True)) if x != y]
        assert len(diff) == 2 and diff[1] == diff[0] + 1
        assert sorted(text) == sorted(typo)
        assert re.match(r"\w", typo[diff[0] - 1])  # never the first letter of a word
    assert add_typo("a b c", rng) == "a b c"


def test_suite_errors(ignores_not):
    with pytest.raises(InputError, match="same name"):
        Suite("s", [MFT("t", "x", "d", ["a"], [1]), MFT("t", "x", "d", ["b"], [0])])
    with pytest.raises(InputError, match="direction"):
        DIR("d", "x", "d", [("a", "b")], label=1, direction="sideways")
    with pytest.raises(InputError, match="no tests"):
        run_suite(ignores_not, Suite("s", []))
    with pytest.raises(InputError, match="the model has no neutral class"):
        run_suite(ignores_not, Suite("s", [MFT("t", "x", "d", ["a"], ["neutral"])]), explain=None)
