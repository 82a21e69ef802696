# ruff: noqa: F811  (pytest fixtures imported from test_influence_support)
"""The sample-level judge: its measures against hand-computed values and scipy, the verdict on
synthetic rows whose right answer is known, the model randomisation (weights restored), and the
whole judge on a tiny trained BERT against the methods' own top-k."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch
from scipy.stats import spearmanr
from test_influence_support import one_thread, planted  # noqa: F401

from captum_ext.adapters import TextClassifierAdapter
from captum_ext.data import TextDataset
from captum_ext.errors import InputError
from captum_ext.influence import FeatureSimilarityKNN, RepresenterPoints
from captum_ext.influence.judge import (
    judge_sample_methods,
    label_agreement,
    planted_share,
    randomisation_overlap,
    rank_correlation,
    sample_verdict,
    top_k,
    unrelated_overlap,
)
from captum_ext.influence.randomise import randomised_top, top_modules


# -- measures ---------------------------------------------------------------------------------
def test_measures_equal_hand_computed_values():
    top = np.array([[0, 1, 2], [0, 1, 3], [4, 5, 6]])
    # pairs (0,1): {0,1}/{0,1,2,3} = 0.5; (0,2) and (1,2): 0
    assert unrelated_overlap(top) == pytest.approx(0.5 / 3)
    assert unrelated_overlap(np.array([[1, 2], [2, 1]])) == 1.0
    with pytest.raises(InputError, match="at least 2 test texts"):
        unrelated_overlap(top[:1])
    assert randomisation_overlap(top, np.array([[2, 1, 0], [7, 8, 9], [4, 5, 9]])) == (
        pytest.approx((1.0 + 0.0 + 2 / 4) / 3)
    )
    labels = np.array([1, 1, 0, 0, 1, 1, 1])
    # row 0 predicted 1: labels 1,1,0 -> 2; row 1 predicted 0: 1,1,0 -> 1; row 2 predicted 1: 3
    assert label_agreement(top, labels, np.array([1, 0, 1])) == pytest.approx(6 / 9)
    carries = np.zeros(7, dtype=bool)
    carries[[0, 4]] = True
    assert planted_share(top, carries) == pytest.approx(3 / 9)


def test_top_k_orders_by_score_with_ties_to_the_lower_index():
    scores = np.array([[0.1, 0.5, 0.5, -1.0], [3.0, 2.0, 1.0, 4.0]])
    assert top_k(scores, 3).tolist() == [[1, 2, 0], [3, 0, 1]]
    with pytest.raises(InputError, match="k must be in"):
        top_k(scores, 5)


def test_rank_correlation_is_scipys_spearman_averaged_over_texts():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(4, 30)), rng.normal(size=(4, 30))
    b[0] = a[0] * 2 + 1  # a monotone transform: 1
    want = np.mean([spearmanr(x, y).statistic for x, y in zip(a, b, strict=True)])
    assert rank_correlation(a, b) == pytest.approx(want)
    assert rank_correlation(a[:1], b[:1]) == pytest.approx(1.0)
    assert rank_correlation(np.ones((1, 5)), b[:1, :5]) == 0.0


# -- verdict ----------------------------------------------------------------------------------
GOOD = {"method": "good", "k": 10, "test_dependence": 0.03, "randomisation_overlap": 0.0,
        "label_agreement": 0.95, "planted_share": 0.9, "planted_base_rate": 0.15}  # fmt: skip


def test_a_method_planted_to_fail_randomisation_is_do_not_use():
    frozen = dict(GOOD, method="frozen", randomisation_overlap=0.9)
    headline, table = sample_verdict([frozen, GOOD])
    verdict = table.set_index("method")["verdict"]
    assert verdict["good"] == "believe" and verdict["frozen"] == "do not use"
    assert table.method.tolist() == ["good", "frozen"]
    assert headline.startswith("Believe good on this model (passes all 4 checks).")
    assert (
        "Do not use frozen: barely changes when the top of the model is re-initialised" in headline
    )
    assert table.set_index("method").loc["frozen", "checks_passed"] == "3/4"


def test_each_check_fails_on_its_own_and_a_copy_shares_the_verdict():
    rows = [
        GOOD,
        dict(GOOD, method="copy"),
        dict(GOOD, method="global", test_dependence=0.46),
        dict(GOOD, method="blind", planted_share=0.15),  # at the base rate
        dict(GOOD, method="mixed", label_agreement=0.5),
    ]
    headline, table = sample_verdict(rows)
    v = table.set_index("method")["verdict"].to_dict()
    assert v == {"good": "believe", "copy": "believe", "global": "do not use",
                 "blind": "do not use", "mixed": "use with care"}  # fmt: skip
    assert headline.startswith("Believe good and copy on this model")
    assert "misses the planted shortcut (15% of its top-10 carry it, base rate 15%)" in headline
    assert "Use mixed with care: only 50% of its top-10 carry the predicted label." in headline
    # the planted check passes from halfway between the base rate and 1
    assert sample_verdict([dict(GOOD, planted_share=0.575)])[1].verdict[0] == "believe"
    assert sample_verdict([dict(GOOD, planted_share=0.57)])[1].verdict[0] == "do not use"


def test_checks_that_did_not_run_are_not_counted():
    row = {"method": "m", "k": 5, "test_dependence": 0.1, "label_agreement": 0.9,
           "randomisation_overlap": float("nan")}  # fmt: skip
    headline, table = sample_verdict([row])
    assert table.checks_passed[0] == "2/2" and headline.startswith(
        "Believe m on this model (passes all 2"
    )
    headline, _ = sample_verdict([dict(row, test_dependence=0.9)])
    assert headline.startswith(
        "No sample-level method passes every check on this model; the least bad is m"
    )
    with pytest.raises(InputError):
        sample_verdict([])


# -- randomisation ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def adapter(planted):
    return TextClassifierAdapter.from_pretrained(planted["dir"])


@pytest.fixture(scope="module")
def train(planted):
    return TextDataset(planted["texts"][:120], planted["labels"][:120])


def _state(model):
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def test_randomised_top_changes_the_top_only_and_restores_the_weights(adapter):
    model = adapter.model
    before = _state(model)
    names = top_modules(model, 2, n_layers=1)
    assert names == ["classifier", "bert.pooler", "bert.encoder.layer.1"]
    rng_before = torch.random.get_rng_state()
    with randomised_top(model, num_labels=2, n_layers=1, seed=3) as got:
        assert got == names
        during = _state(model)
    assert torch.equal(torch.random.get_rng_state(), rng_before)
    changed = {k for k in before if not torch.equal(before[k], during[k])}
    assert "classifier.weight" in changed and "bert.pooler.dense.weight" in changed
    assert "bert.encoder.layer.1.attention.self.query.weight" in changed
    assert not any(k.startswith(("bert.embeddings", "bert.encoder.layer.0.")) for k in changed)
    assert all(torch.equal(before[k], v) for k, v in _state(model).items())
    # seeded: the same seed gives the same weights
    with randomised_top(model, num_labels=2, n_layers=1, seed=3):
        assert torch.equal(model.classifier.weight, during["classifier.weight"])


def test_randomised_top_restores_the_weights_after_an_exception(adapter):
    before = _state(adapter.model)
    with pytest.raises(RuntimeError, match="boom"):
        with randomised_top(adapter.model, num_labels=2, n_layers=2):
            raise RuntimeError("boom")
    assert all(torch.equal(before[k], v) for k, v in _state(adapter.model).items())
    with pytest.raises(InputError, match="n_layers=3 but the model has 2 layers"):
        top_modules(adapter.model, 2, n_layers=3)


# -- the judge --------------------------------------------------------------------------------
def test_judge_measures_what_the_methods_return(adapter, train, planted, tmp_path):
    texts = planted["held_out"][:6]
    before = _state(adapter.model)
    # a planted check on the same model: training tweets "carrying" a made-up marker
    carries = np.zeros(len(train), dtype=bool)
    carries[::4] = True
    plant = SimpleNamespace(
        model_dir=planted["dir"],
        train=train,
        carries=carries,
        test_texts=planted["held_out"][6:10],
        token="zqx",
        planted_label="positive",
    )
    judged = judge_sample_methods(
        adapter,
        train,
        texts,
        methods=["knn", "representer"],
        k=5,
        planted=plant,
        cache_dir=tmp_path,
    )
    assert all(torch.equal(before[k], v) for k, v in _state(adapter.model).items())
    rows = judged.table.set_index("method")
    knn = FeatureSimilarityKNN(adapter, train, cache_dir=tmp_path).explain(texts, k=5)
    assert rows.loc["knn", "test_dependence"] == pytest.approx(unrelated_overlap(knn.indices))
    assert rows.loc["knn", "label_agreement"] == pytest.approx(
        label_agreement(knn.indices, train.labels, knn.predicted)
    )
    knn_p = FeatureSimilarityKNN(adapter, train, cache_dir=tmp_path).explain(plant.test_texts, k=5)
    assert rows.loc["knn", "planted_share"] == pytest.approx(carries[knn_p.indices].mean())
    assert rows.loc["knn", "planted_base_rate"] == pytest.approx(0.25)
    rp = RepresenterPoints(adapter, train, cache_dir=tmp_path).explain(texts, k=5)
    assert rows.loc["representer", "test_dependence"] == pytest.approx(
        unrelated_overlap(rp.indices)
    )
    for name in ("knn", "representer"):
        assert 0.0 <= rows.loc[name, "randomisation_overlap"] <= 1.0
        assert -1.0 <= rows.loc[name, "randomisation_spearman"] <= 1.0
        assert rows.loc[name, "seconds"] > 0
    assert judged.headline.split()[0] in ("Believe", "No")
    out = judged.to_dict()
    assert out["k"] == 5 and {r["method"] for r in out["methods"]} == {"knn", "representer"}
    assert out["settings"]["planted"]["token"] == "zqx"
    assert "rand-overlap" in judged.to_text()


def test_judge_refuses_one_text_and_unknown_methods(adapter, train):
    with pytest.raises(InputError, match="at least 2 test texts"):
        judge_sample_methods(adapter, train, ["one text"])
    from captum_ext.errors import UnknownMethodError

    with pytest.raises(UnknownMethodError):
        judge_sample_methods(adapter, train, ["a", "b"], methods=["nope"])


# -- the command ------------------------------------------------------------------------------
def test_influence_judge_command(planted, tmp_path, capsys):
    import json

    from captum_ext.cli import main

    folder = tmp_path / "data"
    folder.mkdir()
    texts, labels = planted["texts"][:60], planted["labels"][:60]
    for name, y in (("positive", 1), ("negative", 0)):
        lines = [t for t, lab in zip(texts, labels, strict=True) if lab == y]
        (folder / f"{name}.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    queries = tmp_path / "q.txt"
    queries.write_text("\n".join(planted["held_out"][:4]) + "\n", encoding="utf-8")
    common = ["--model", str(planted["dir"]), "--data", str(folder), "--cache-dir", str(tmp_path)]
    code = main(
        ["influence", "--text-file", str(queries), "--judge", "--k", "3", "--json", *common]
    )
    out = capsys.readouterr()
    assert code == 0, out.err
    obj = json.loads(out.out)
    assert obj["k"] == 3 and obj["settings"]["n_texts"] == 4
    assert {r["method"] for r in obj["methods"]} == {
        "knn",
        "representer",
        "tracincp",
        "tracincp-fast",
    }
    assert obj["headline"].split()[0] in ("Believe", "No")
    code = main(["influence", "--text-file", str(queries), "--judge", "--k", "3", *common])
    out = capsys.readouterr()
    assert code == 0 and "rand-overlap" in out.out
    code = main(["influence", "just one", "--judge", *common])
    assert code == 2 and capsys.readouterr().err.startswith("error: --judge needs at least 2")
