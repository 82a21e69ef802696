"""The verdict is a pure function of per-text metric values: synthetic inputs with a known answer,
the Friedman test and Nemenyi's critical difference against scipy and Demšar (2006)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from captum_ext.harness.verdict import (
    critical_difference,
    faithfulness_ranks,
    friedman_tiers,
    make_verdict,
    paired_gain,
)

FAITH = {"comprehensiveness": True, "sufficiency": False, "deletion_auc": False}


def _frame(means, n_texts=40, noise=0.05, seed=0, extra=None):
    """Per-text faithfulness values: ``means[method] = quality`` (higher = more faithful)."""
    rng = np.random.default_rng(seed)
    rows = []
    for t in range(n_texts):
        text_effect = rng.normal(scale=0.1)
        for m, q in means.items():
            for metric, hib in FAITH.items():
                v = q + text_effect + rng.normal(scale=noise)
                rows.append({"text_id": f"{t:03d}", "method": m, "metric": metric,
                             "family": "faithfulness", "higher_is_better": hib,
                             "value": v if hib else 1 - v})  # fmt: skip
        for m, checks in (extra or {}).items():
            for metric, (family, hib, value) in checks.items():
                rows.append({"text_id": f"{t:03d}", "method": m, "metric": metric,
                             "family": family, "higher_is_better": hib,
                             "value": value + rng.normal(scale=0.02)})  # fmt: skip
    return pd.DataFrame(rows)


def test_critical_difference_matches_demsar_table():
    # Demšar 2006, Table 5(a): q_0.05 = 2.343 (k=3), 2.569 (k=4), 3.164 (k=10)
    for k, q in ((3, 2.343), (4, 2.569), (10, 3.164)):
        assert critical_difference(k, 30) == pytest.approx(q * np.sqrt(k * (k + 1) / 180), rel=2e-3)


def test_friedman_matches_scipy_and_tiers_follow_the_cd():
    rng = np.random.default_rng(1)
    ranks = pd.DataFrame({"a": rng.normal(1.5, 0.5, 30), "b": rng.normal(1.6, 0.5, 30),
                          "c": rng.normal(3.0, 0.5, 30)})  # fmt: skip
    tiers, info = friedman_tiers(ranks)
    assert info["friedman_p"] == pytest.approx(
        stats.friedmanchisquare(ranks["a"], ranks["b"], ranks["c"]).pvalue)  # fmt: skip
    assert tiers["a"] == tiers["b"] == 1 and tiers["c"] == 2
    same = pd.DataFrame({"a": np.ones(10), "b": np.ones(10)})
    assert set(friedman_tiers(same)[0]) == {1}  # no difference: one tier


def test_faithfulness_ranks_respect_each_metrics_direction():
    f = _frame({"good": 0.6, "bad": 0.2}, n_texts=3, noise=0.0)
    r = faithfulness_ranks(f, ["good", "bad"])
    assert (r["good"] == 1.0).all() and (r["bad"] == 2.0).all()


def test_paired_gain_interval():
    g, lo, hi = paired_gain(np.full(20, 0.3), np.full(20, 0.1), True)
    assert g == pytest.approx(0.2) and lo == pytest.approx(0.2) and hi == pytest.approx(0.2)
    g, lo, hi = paired_gain(np.array([0.1, 0.2]), np.array([0.3, 0.3]), False)
    assert g == pytest.approx(0.15) and lo <= g <= hi


def test_tiers_separate_and_a_copy_of_the_best_shares_its_tier():
    f = _frame({"best": 0.6, "copy_of_best": 0.6, "mid": 0.45, "weak": 0.3, "random": 0.1})
    v = make_verdict(f)
    t = v.table.set_index("method")
    assert t.loc["best", "tier"] == t.loc["copy_of_best", "tier"] == 1
    assert t.loc["mid", "tier"] > 1 and t.loc["weak", "tier"] > t.loc["mid", "tier"]
    assert list(v.table["method"])[:2] in (["best", "copy_of_best"], ["copy_of_best", "best"])
    assert t.loc["best", "verdict"] == "believe" and t.loc["mid", "verdict"].startswith("tier ")
    assert v.headline.startswith("Believe ") and "randomisation not checked" in v.headline
    assert not v.indicative


def test_a_method_that_fails_randomisation_is_do_not_use_whatever_its_faithfulness():
    checks = {"randomisation": ("randomisation", False, 0.1),
              "random_logit": ("randomisation", False, -0.9)}  # fmt: skip
    extra = {"best": checks, "ok": checks,
             "copycat": {"randomisation": ("randomisation", False, 0.9),
                         "random_logit": ("randomisation", False, -0.9)},
             "classless": {"randomisation": ("randomisation", False, 0.1),
                           "random_logit": ("randomisation", False, 1.0)}}  # fmt: skip
    f = _frame({"best": 0.6, "ok": 0.58, "copycat": 0.62, "classless": 0.6, "random": 0.1},
               extra=extra)  # fmt: skip
    v = make_verdict(f)
    t = v.table.set_index("method")
    assert t.loc["copycat", "verdict"] == "do not use"
    assert "fails randomisation" in t.loc["copycat", "reasons"]
    assert t.loc["classless", "verdict"] == "do not use"
    assert "fails random logit" in t.loc["classless", "reasons"]
    assert t.loc["best", "verdict"] == "believe"
    assert list(v.table["method"])[-2:] in (["copycat", "classless"], ["classless", "copycat"])
    assert "pass randomisation" in v.headline
    assert "do not use" in v.headline and "copycat" in v.headline.split("do not use")[1]


def test_not_better_than_random_needs_a_real_gain():
    f = _frame({"tiny": 0.105, "random": 0.1}, noise=0.001)
    v = make_verdict(f)
    assert v.table.set_index("method").loc["tiny", "verdict"] == "do not use"


def test_few_texts_are_indicative_only_without_intervals():
    f = _frame({"a": 0.6, "b": 0.3, "random": 0.1}, n_texts=4)
    v = make_verdict(f)
    assert v.indicative and "Indicative only: 4 texts." in v.headline
    assert all("Indicative only" in s for s in v.table["sentence"])


def test_flagged_texts_are_where_the_believed_methods_disagree():
    f = _frame({"a": 0.6, "b": 0.6, "random": 0.1})
    top = {"001": {"a": [0, 1], "b": [2, 3]}, "002": {"a": [0, 1], "b": [0, 1]},
           "003": {"a": [0, 1], "b": [0, 4]}}  # fmt: skip
    v = make_verdict(f, top_words=top)
    assert v.flagged["text_id"].tolist() == ["001"]
    assert v.flagged["agreement"].iloc[0] == 0.0


def test_a_metric_whose_best_method_is_not_tier_1_is_noted():
    f = _frame({"a": 0.6, "b": 0.6, "c": 0.3, "random": 0.1}, n_texts=200)
    # on deletion AUC alone, c is the best: the verdict must say it weighted all metrics
    f.loc[(f.metric == "deletion_auc") & (f.method == "c"), "value"] = -1.0
    v = make_verdict(f)
    assert v.table.set_index("method").loc["c", "tier"] > 1
    assert any(n.startswith("deletion_auc alone ranks c first") for n in v.notes)


def test_same_input_same_verdict():
    f = _frame({"a": 0.6, "b": 0.5, "random": 0.1})
    a = json.dumps(make_verdict(f).to_dict(), sort_keys=True)
    assert a == json.dumps(make_verdict(f.sample(frac=1, random_state=3)).to_dict(), sort_keys=True)


def test_a_method_that_misses_the_planted_shortcut_is_do_not_use():
    gt = {m: {"planted_recall": ("ground_truth", True, v)}
          for m, v in (("finds", 1.0), ("misses", 0.1))}  # fmt: skip
    f = _frame({"finds": 0.6, "misses": 0.6, "random": 0.1}, extra=gt)
    v = make_verdict(f)
    t = v.table.set_index("method")
    assert t.loc["finds", "verdict"] == "believe"
    assert t.loc["misses", "verdict"] == "do not use"
    assert "misses the planted shortcut" in t.loc["misses", "reasons"]
    assert "find the planted shortcut" in v.headline


def test_cost_note_does_not_call_a_method_that_reused_rows_the_cheapest():
    from captum_ext.harness.verdict import _cost_note

    table = pd.DataFrame(
        {
            "method": ["lime", "lime-ngram", "occlusion", "ig"],
            "seconds": [4.0, 0.5, 0.2, 1.0],
            "reused_rows": [0.08, 0.97, 0.0, np.nan],
        }
    )
    note = _cost_note(table, ["lime", "lime-ngram", "ig"], slow_ratio=3.0)
    assert note.startswith("Cost: ig is the cheapest believed method; lime 4×")
    assert "lime-ngram reused most of its model rows" in note
    # without the column (runs made before it), seconds alone decide, as before
    note = _cost_note(table.drop(columns="reused_rows"), ["lime", "lime-ngram"], slow_ratio=3.0)
    assert note.startswith("Cost: lime-ngram is the cheapest believed method; lime 8×")
