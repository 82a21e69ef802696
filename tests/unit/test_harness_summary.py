"""Summary tables and the report from hand-made records (no model), the CLI on a tiny model."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch

from captum_ext.cli import main
from captum_ext.errors import DataError, InputError
from captum_ext.harness import load_run, load_texts, summarize, write_report
from captum_ext.harness.summary import faithfulness_table, verdict_table
from captum_ext.metrics.agreement import kendall_tau_b, rank_biased_overlap, spearman_rho
from captum_ext.result import WordAttribution

TEXT = 'so <script>alert("x")</script> happy'
WORDS = ["so", "<", "script", ">", "alert", '("', "x", '")', "</", "script", ">", "happy"]


def _spans(text, words):
    spans, pos = [], 0
    for w in words:
        s = text.index(w, pos)
        spans.append((s, s + len(w)))
        pos = s + len(w)
    return spans


def _wa(method, scores, signed=True, text=TEXT, words=WORDS, seed=0):
    return WordAttribution(
        text=text,
        words=list(words),
        spans=_spans(text, words),
        scores=np.asarray(scores, dtype=float),
        target=1,
        labels=("negative", "positive"),
        probs=np.array([0.2, 0.8]),
        method=method,
        settings={"n_samples": 100, "note": "<b>budget</b>"},
        token_to_word=[None, *range(len(words)), None],
        signed=signed,
    )


def _attr_record(tid, wa, seed=0):
    return {"kind": "attribution", "text_id": tid, "method": wa.method, "seed": seed,
            "seconds": 0.5, "batch": 1, "result": wa.to_dict()}  # fmt: skip


def _faith_record(tid, method, comp, suff, n=12):
    ks = list(range(n + 1))
    return {"kind": "faithfulness", "text_id": tid, "method": method, "seed": 0, "target": 1,
            "p_full": 0.8, "seconds": 0.01,
            "metrics": {"comprehensiveness": comp, "sufficiency": suff, "deletion_auc": 0.8 - comp,
                        "deletion_curve": list(np.linspace(0.8, 0.8 - comp, n + 1)),
                        "deletion_ks": ks, "ks": [1, 1, 2, 3, 6], "n_words": n,
                        "loo_spearman": 0.5, "loo_kendall": 0.4}}  # fmt: skip


@pytest.fixture
def records():
    rng = np.random.default_rng(0)
    recs = []
    for t in range(12):
        tid = f"{t:04d}"
        base = rng.normal(size=len(WORDS))
        a = _wa("alpha", base)
        b = _wa("beta", base + rng.normal(scale=0.3, size=len(WORDS)))
        c = _wa("gamma", np.abs(rng.normal(size=len(WORDS))), signed=False)
        recs += [_attr_record(tid, a), _attr_record(tid, b), _attr_record(tid, c)]
        if t < 3:
            recs.append(_attr_record(tid, _wa("beta", base + 0.01), seed=1))
        recs += [
            _faith_record(tid, "random", 0.10 + 0.01 * rng.normal(), 0.40),
            _faith_record(tid, "alpha", 0.50 + 0.05 * rng.normal(), 0.05),
            _faith_record(tid, "beta", 0.30 + 0.05 * rng.normal(), 0.40 + 0.01 * rng.normal()),
            _faith_record(tid, "gamma", 0.10 + 0.02 * rng.normal(), 0.40 + 0.02 * rng.normal()),
        ]
    return recs


def test_pairwise_agreement_uses_the_metric_functions(records):
    s = summarize(records, methods=["alpha", "beta", "gamma"])
    row = s.agreement[(s.agreement.text_id == "0000") & (s.agreement.method_a == "alpha")
                      & (s.agreement.method_b == "beta")].iloc[0]  # fmt: skip
    a, b = s.results["0000"]["alpha"].scores, s.results["0000"]["beta"].scores
    assert row["kendall_tau"] == pytest.approx(kendall_tau_b(a, b))
    assert row["spearman"] == pytest.approx(spearman_rho(a, b))
    assert row["rbo"] == pytest.approx(rank_biased_overlap(a, b, by="value"))
    # an unsigned method has no sign agreement; its scores are compared by magnitude
    g = s.agreement[(s.agreement.method_a == "alpha") & (s.agreement.method_b == "gamma")]
    assert g["sign_agreement"].isna().all()
    row_g = g[g.text_id == "0000"].iloc[0]
    assert row_g["kendall_tau"] == pytest.approx(
        kendall_tau_b(a, np.abs(s.results["0000"]["gamma"].scores))
    )
    # magnitude ranking changes the keys of the signed methods
    s_mag = summarize(records, methods=["alpha", "beta"], rank_by="magnitude")
    row_m = s_mag.agreement[s_mag.agreement.text_id == "0000"].iloc[0]
    assert row_m["kendall_tau"] == pytest.approx(kendall_tau_b(np.abs(a), np.abs(b)))


def test_agreement_summary_mean_spread_and_matrix(records):
    s = summarize(records, methods=["alpha", "beta", "gamma"])
    per_text = s.agreement[(s.agreement.method_a == "alpha") & (s.agreement.method_b == "beta")]
    summ = s.agreement_summary.set_index(["method_a", "method_b", "metric"])
    got = summ.loc[("alpha", "beta", "kendall_tau")]
    assert got["mean"] == pytest.approx(per_text["kendall_tau"].mean())
    assert got["std"] == pytest.approx(per_text["kendall_tau"].std())
    assert got["n"] == 12
    assert ("random", "random", "kendall_tau") in summ.index
    assert abs(summ.loc[("random", "random", "kendall_tau"), "mean"]) < 0.15
    m = s.matrix("kendall_tau")
    assert m.loc["alpha", "beta"] == m.loc["beta", "alpha"] == pytest.approx(got["mean"])
    assert m.loc["alpha", "alpha"] == 1.0
    # beta ran with two seeds on 3 texts: its diagonal is its self-agreement
    assert m.loc["beta", "beta"] == pytest.approx(
        s.stability.set_index("method").loc["beta", "kendall_tau"]
    )
    assert s.stability.set_index("method").loc["beta", "n_texts"] == 3
    with pytest.raises(InputError):
        s.matrix("nope")


def test_faithfulness_table_and_verdict(records):
    s = summarize(records, methods=["alpha", "beta", "gamma"])
    t = s.faithfulness_table.set_index("method")
    assert list(s.faithfulness_table["method"])[0] == "random"
    f = s.faithfulness
    paired = (f[f.method == "alpha"].set_index("text_id")["comprehensiveness"]
              - f[f.method == "random"].set_index("text_id")["comprehensiveness"])  # fmt: skip
    assert t.loc["alpha", "comprehensiveness_gain"] == pytest.approx(paired.mean())
    assert t.loc["alpha", "comprehensiveness_gain_low"] <= paired.mean() <= t.loc[
        "alpha", "comprehensiveness_gain_high"]  # fmt: skip
    v = s.verdict.set_index("method")["verdict"]
    assert v["alpha"] == "faithful"
    assert v["beta"] == "partly faithful"  # better comprehensiveness, random sufficiency
    assert v["gamma"] == "not better than random"
    assert list(s.verdict["method"]) == ["alpha", "beta", "gamma"]  # most faithful first
    assert (
        "alpha: faithful. Comprehensiveness 0.5"
        in s.verdict.set_index("method").loc["alpha", "sentence"]
    )


def test_verdict_needs_a_gain_of_at_least_one_point():
    frame = pd.DataFrame(
        [{"text_id": str(i), "method": m, "comprehensiveness": c + 1e-4 * i, "sufficiency": 0.5,
          "deletion_auc": 0.5, "loo_spearman": 0.0}
         for i in range(20) for m, c in (("random", 0.1), ("tiny", 0.105))]
    )  # fmt: skip
    v = verdict_table(faithfulness_table(frame))
    assert v.set_index("method").loc["tiny", "verdict"] == "not better than random"


def test_report_is_escaped_and_complete(records, tmp_path):
    s = summarize(records, methods=["alpha", "beta", "gamma"], settings={"model": "<i>m</i>"})
    files = write_report(s, tmp_path, records=records, texts={"0000": TEXT})
    page = files["html"].read_text(encoding="utf-8")
    assert "<script" not in page  # no script element at all: the tweet's tag is shown as text
    assert ">&lt;</span>" in page and "alert" in page
    assert "<i>m</i>" not in page and "&lt;i&gt;m&lt;/i&gt;" in page
    assert "<b>budget</b>" not in page and "&lt;b&gt;budget&lt;/b&gt;" in page
    assert page.count('class="captum-ext-compare"') == 12
    assert page.count("data:image/png;base64,") == 5  # 4 heatmaps and the deletion curves
    data = json.loads(files["summary"].read_text(encoding="utf-8"))
    assert [v["method"] for v in data["verdict"]] == ["alpha", "beta", "gamma"]
    assert data["budgets"][0]["settings (budgets)"].startswith("n_samples=100")
    assert (tmp_path / "agreement_matrices.csv").is_file()
    assert (tmp_path / "faithfulness.md").read_text().startswith("| method |")


def test_html_texts_limits_the_page(records, tmp_path):
    s = summarize(records, methods=["alpha", "beta"])
    page = write_report(s, tmp_path, html_texts=2)["html"].read_text(encoding="utf-8")
    assert page.count('class="captum-ext-compare"') == 2
    assert "The first 2 of 12 texts" in page


def test_load_texts_shapes(tmp_path):
    txt = tmp_path / "t.txt"
    txt.write_text("one\n\ntwo\nthree\n", encoding="utf-8")
    assert load_texts(txt) == ["one", "two", "three"]
    assert load_texts(txt, 2) == ["one", "two"]
    jl = tmp_path / "t.jsonl"
    jl.write_text('{"text": "a"}\n{"text": "b", "label": 1}\n', encoding="utf-8")
    assert load_texts(jl) == ["a", "b"]
    jl.write_text('{"text": "a"}\n{"txt": "b"}\n', encoding="utf-8")
    with pytest.raises(DataError, match="line 2"):
        load_texts(jl)
    with pytest.raises(DataError):
        load_texts(tmp_path / "missing.txt")
    folder = tmp_path / "s140"
    folder.mkdir()
    (folder / "positive.txt").write_text("good\ngreat\nlovely\n", encoding="utf-8")
    (folder / "negative.txt").write_text("bad\nawful\nsad\n", encoding="utf-8")
    four = load_texts(folder, 4, random_state=0)
    assert len(four) == 4 and load_texts(folder, 4, random_state=0) == four
    assert len(set(four) & {"good", "great", "lovely"}) == 2  # balanced
    with pytest.raises(InputError):
        load_texts(folder, 0)


@pytest.fixture
def one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def test_cli_compare_writes_the_run_and_resumes(tiny_bert_dir, tmp_path, capsys, one_thread):
    out = tmp_path / "run"
    argv = ["compare", "--text", "so <b>happy</b> today", "--text", "i hate mondays =(",
            "--methods", "occlusion,lime-official", "--set", "lime-official.n_samples=50",
            "--stability-texts", "1", "--model", str(tiny_bert_dir), "--out", str(out),
            "--no-progress"]  # fmt: skip
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "2 texts x 2 methods" in printed and "report.html" in printed
    lines = (out / "records.jsonl").read_text(encoding="utf-8").splitlines()
    # attributions, seeds 1 and 2 of lime on the first text, references, scores with random
    assert len(lines) == 2 * 2 + 2 + 2 + 2 * 3
    assert main(argv) == 0  # resumed: nothing to do
    assert (out / "records.jsonl").read_text(encoding="utf-8").splitlines() == lines
    s = load_run(out)
    assert s.methods == ["occlusion", "lime-official"]
    manifest = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert manifest["method_settings"]["lime-official"] == {"n_samples": 50}


def test_cli_user_errors(tiny_bert_dir, tmp_path, capsys):
    base = ["compare", "--text", "hi", "--out", str(tmp_path / "o"), "--model", str(tiny_bert_dir)]
    assert main([*base, "--methods", "nope"]) == 2
    assert "unknown method 'nope'" in capsys.readouterr().err
    assert main([*base, "--set", "occlusion-mode=pad"]) == 2
    assert "METHOD.SETTING=VALUE" in capsys.readouterr().err
    assert main([*base, "--k", "0"]) == 2
    assert main(["compare", "--data", str(tmp_path / "none.txt"), "--out", str(tmp_path)]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["compare", "--text", " ", "--out", str(tmp_path / "o2"), "--model",
                 str(tiny_bert_dir), "--methods", "occlusion"]) == 2  # fmt: skip
    assert "empty" in capsys.readouterr().err


def test_plausibility_table_against_the_metric_functions(records):
    from captum_ext.metrics.plausibility import plausibility_scores

    # a person marked "happy" (the last word) in every text
    start = TEXT.index("happy")
    rationales = {f"{t:04d}": [(start, start + 5)] for t in range(12)}
    s = summarize(records, methods=["alpha", "gamma"], rationales=rationales)
    table = s.plausibility.set_index("method")
    assert table.loc["alpha", "n_texts"] == 12
    human = np.zeros(len(WORDS), dtype=int)
    human[-1] = 1
    expected = np.mean(
        [plausibility_scores(s.results[t]["alpha"].scores, human)["auprc"] for t in s.results]
    )
    assert table.loc["alpha", "auprc"] == pytest.approx(expected)
    assert summarize(records, methods=["alpha"]).plausibility.empty


def test_jsonl_rationales_reach_the_report(tiny_bert_dir, tmp_path, one_thread):
    from captum_ext.adapters import TextClassifierAdapter
    from captum_ext.harness import compare, load_rationales

    data = tmp_path / "r.jsonl"
    rows = [{"text": "what a lovely day", "rationale_spans": [[7, 13]]}, {"text": "so sad"}]
    data.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    assert load_rationales(data) == [[(7, 13)], None]
    adapter = TextClassifierAdapter.from_pretrained(tiny_bert_dir)
    s = compare(data=data, adapter=adapter, methods="occlusion", out_dir=tmp_path / "run",
                show_progress=False)  # fmt: skip
    assert s.plausibility["n_texts"].tolist() == [1]
    assert "Plausibility" in (tmp_path / "run" / "report.html").read_text(encoding="utf-8")
    assert load_run(tmp_path / "run").plausibility.equals(s.plausibility)
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"text": "abc", "rationale_spans": [[2, 9]]}) + "\n")
    with pytest.raises(DataError, match="outside the text"):
        load_rationales(bad)
