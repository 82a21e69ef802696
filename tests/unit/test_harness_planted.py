"""Acceptance: on a tiny BERT trained so that one planted word decides the label, every method the
harness believes ranks that word first on nearly every text, the faithfulness table shows
it, and a deliberately unfaithful control method is called not better than random."""

from __future__ import annotations

import json
import zlib

import numpy as np
import pytest
import torch

from captum_ext.adapters import TextClassifierAdapter
from captum_ext.harness import compare
from captum_ext.methods import MethodSpec, Scores, TextExplainer, list_methods, register_method
from captum_ext.methods import registry as method_registry
from tests.conftest import base_tokenizer, make_tiny_bert

PLANT = "zebra"
FILLER = (
    "the a day was long and i went to store with my friend we saw movie then came home it "
    "rained all night so tired today work tomorrow but maybe good food music game late early "
    "cold warm park city"
).split()
CONTROL = "test-random-control"
# budgets small enough for a unit test, by the names the registry's defaults use
SMALL = {"n_samples": 200, "max_evals": 200, "n_steps": 16, "nt_samples": 5}


def planted_texts(n: int, rng: np.random.Generator, label: int | None = None):
    texts, labels = [], []
    for _ in range(n):
        words = list(rng.choice(FILLER, size=int(rng.integers(4, 11))))
        y = int(rng.random() < 0.5) if label is None else label
        if y:
            words.insert(int(rng.integers(0, len(words) + 1)), PLANT)
        texts.append(" ".join(words))
        labels.append(y)
    return texts, labels


def train_planted_bert(path) -> TextClassifierAdapter:
    """A 1-layer BERT that predicts "positive" exactly when the planted word is present."""
    from transformers import BertForSequenceClassification

    make_tiny_bert(path, seed=0, num_hidden_layers=1, hidden_size=32)
    model = BertForSequenceClassification.from_pretrained(path)
    tok = base_tokenizer()
    texts, labels = planted_texts(512, np.random.default_rng(0))
    enc = tok(texts, padding=True, return_tensors="pt")
    y = torch.tensor(labels)
    torch.manual_seed(0)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    model.train()
    for _ in range(2):
        perm = torch.randperm(len(texts))
        for i in range(0, len(texts), 32):
            idx = perm[i : i + 32]
            out = model(
                input_ids=enc["input_ids"][idx],
                attention_mask=enc["attention_mask"][idx],
                labels=y[idx],
            )
            opt.zero_grad()
            out.loss.backward()
            opt.step()
    model.eval()
    model.save_pretrained(path)
    return TextClassifierAdapter.from_pretrained(path)


class RandomControl(TextExplainer):
    """Unfaithful on purpose: seeded random word scores that ignore the model."""

    name = CONTROL
    stochastic = True

    def _explain(self, encoding, target, probs, random_state):
        # a stable seed: str hashes change from process to process (PYTHONHASHSEED), which made
        # the control's luck on 10 texts, and so this module's verdict, vary between runs
        seed = zlib.crc32(f"{encoding.text}\x00{random_state}".encode())
        return Scores(word_scores=np.random.default_rng(seed).normal(size=len(encoding.words)))


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)  # 2 threads on an oversubscribed 2-core machine crawl
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="module")
def control_method():
    register_method(MethodSpec(CONTROL, RandomControl, "random scores (test control)",
                               family="control", stochastic=True))  # fmt: skip
    yield CONTROL
    method_registry._REGISTRY.pop(CONTROL, None)


@pytest.fixture(scope="module")
def planted_run(control_method, tmp_path_factory):
    adapter = train_planted_bert(tmp_path_factory.mktemp("planted_bert"))
    held_out, labels = planted_texts(200, np.random.default_rng(1))
    acc = np.mean(adapter.predict_proba(held_out).argmax(1) == np.array(labels))
    assert acc > 0.97, f"the planted model did not learn the rule (accuracy {acc:.2f})"
    texts, _ = planted_texts(10, np.random.default_rng(2), label=1)
    methods = [m.name for m in list_methods()]
    assert CONTROL in methods
    settings = {m.name: {k: v for k, v in SMALL.items() if k in m.defaults} for m in list_methods()}
    out = tmp_path_factory.mktemp("planted_run")
    summary = compare(
        texts,
        adapter=adapter,
        out_dir=out,
        method_settings=settings,
        stability_texts=3,
        stability_seeds=[1],
        sanity_texts=4,
        show_progress=False,
    )
    return summary, out


def test_faithful_methods_rank_the_planted_word_first(planted_run):
    summary, _ = planted_run
    verdict = summary.verdict.set_index("method")["verdict"]
    faithful = [m for m in summary.methods if verdict.get(m) == "believe"]
    top1 = {
        m: np.mean([per[m].top_words(1)[0] == PLANT for per in summary.results.values()])
        for m in summary.methods
    }
    assert len(faithful) >= 3, verdict.to_dict()
    for m in faithful:
        assert top1[m] >= 0.9, f"{m} is called faithful but ranks {PLANT!r} first on {top1[m]:.0%}"
    # the methods whose faithfulness is not in doubt on this model are recognised
    for m in ("occlusion", "ig", "lime-official", "shap-partition"):
        if m in verdict:
            assert verdict[m] == "believe", (m, verdict[m])
    assert summary.headline.startswith("Believe ")


def test_the_faithfulness_table_shows_it_and_the_control_is_not_faithful(planted_run):
    summary, _ = planted_run
    table = summary.metric_table.set_index("method")
    verdict = summary.verdict.set_index("method")["verdict"]
    random_comp = table.loc["random", "comprehensiveness"]
    for m in summary.methods:
        if verdict[m] == "believe":
            # removing the planted word flips the prediction: a large drop, far above random
            assert table.loc[m, "comprehensiveness"] > random_comp + 0.3
            assert table.loc[m, "sufficiency"] < table.loc["random", "sufficiency"] - 0.3
    assert verdict[CONTROL] == "do not use"
    reasons = summary.verdict.set_index("method").loc[CONTROL, "reasons"]
    assert "not better than random" in reasons
    assert abs(table.loc[CONTROL, "comprehensiveness"] - random_comp) < 0.25
    assert CONTROL in summary.headline.split("do not use", 1)[1]
    top1 = np.mean([per[CONTROL].top_words(1)[0] == PLANT for per in summary.results.values()])
    assert top1 < 0.5
    # a stochastic method's agreement with itself across seeds is measured
    stab = summary.stability.set_index("method")
    assert CONTROL in stab.index and stab.loc[CONTROL, "n_texts"] == 3


def test_the_report_states_the_verdict_and_budgets(planted_run):
    summary, out = planted_run
    data = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert {v["method"] for v in data["verdict"]["methods"]} == set(summary.methods)
    assert "deletion" in data["settings"]["masking_operator"]
    page = (out / "report.html").read_text(encoding="utf-8")
    assert "Which explanation to believe" in page and "Masking operator" in page
    shown_flagged = min(len(data["verdict"]["flagged_texts"]), 5)  # shown first, then in the detail
    assert page.count('class="captum-ext-compare"') == 10 + shown_flagged
    assert "n_samples=200" in page  # budgets are stated
    assert (out / "agreement_kendall_tau.png").stat().st_size > 0
    md = (out / "verdict.md").read_text(encoding="utf-8")
    assert md.startswith("Believe ")
    assert md.splitlines()[-1].startswith(f"| {len(summary.methods)} | {CONTROL} | do not use")
