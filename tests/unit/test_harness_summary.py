"""Summary tables and the report from hand-made records (no model), the CLI on a tiny model."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from captum_ext.cli import main
from captum_ext.errors import DataError, InputError
from captum_ext.harness import load_run, load_texts, summarize, write_report
from captum_ext.harness.summary import metric_frame
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
    return {"kind": "metrics", "text_id": tid, "method": method, "seed": 0, "target": 1,
            "p_full": 0.8, "seconds": 0.01, "n_words": n,
            "values": {"comprehensiveness": comp, "sufficiency": suff, "deletion_auc": 0.8 - comp},
            "details": {"deletion_curve": list(np.linspace(0.8, 0.8 - comp, n + 1)),
                        "deletion_ks": ks}}  # fmt: skip


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


def test_metric_frame_and_verdict(records):
    s = summarize(records, methods=["alpha", "beta", "gamma"])
    f = s.metrics
    assert set(f["metric"]) >= {"comprehensiveness", "sufficiency", "deletion_auc", "stability"}
    t = s.metric_table.set_index("method")
    assert list(s.metric_table["method"])[0] == "random"
    comp = f[(f.metric == "comprehensiveness") & (f.method == "alpha")]["value"]
    assert t.loc["alpha", "comprehensiveness"] == pytest.approx(comp.mean())
    v = s.verdict.set_index("method")
    assert v.loc["alpha", "verdict"] == "believe" and v.loc["alpha", "tier"] == 1
    assert v.loc["beta", "better_than_random"] == "2/3"  # comprehensiveness and deletion only
    assert v.loc["gamma", "verdict"] == "do not use"
    assert "not better than random" in v.loc["gamma", "reasons"]
    assert list(s.verdict["method"])[0] == "alpha" and list(s.verdict["method"])[-1] == "gamma"
    assert v.loc["beta", "stability"] > 0.5  # seed 1 of beta on 3 texts is nearly seed 0
    assert s.headline.startswith("Believe alpha")
    assert "do not use gamma (not better than random)" in s.headline


def test_metric_frame_keeps_only_the_asked_methods(records):
    f = metric_frame(records, methods=["alpha"])
    assert set(f["method"]) == {"alpha", "random"}


def test_report_is_escaped_and_complete(records, tmp_path):
    s = summarize(records, methods=["alpha", "beta", "gamma"], settings={"model": "<i>m</i>"})
    files = write_report(s, tmp_path, records=records, texts={"0000": TEXT})
    page = files["html"].read_text(encoding="utf-8")
    assert "<script" not in page  # no script element at all: the tweet's tag is shown as text
    assert ">&lt;</span>" in page and "alert" in page
    assert "<i>m</i>" not in page and "&lt;i&gt;m&lt;/i&gt;" in page
    assert "<b>budget</b>" not in page and "&lt;b&gt;budget&lt;/b&gt;" in page
    assert page.count('class="captum-ext-compare"') == 12
    # 4 heatmaps, the deletion curves and the critical-difference diagram
    assert page.count("data:image/png;base64,") == 6
    # the answer comes first: headline, ranked table, then the metrics and the texts
    assert page.index('class="headline"') < page.index("<h2>Metrics</h2>") < page.index(
        "<h2>Texts</h2>")  # fmt: skip
    data = json.loads(files["summary"].read_text(encoding="utf-8"))
    assert list(data)[:2] == ["title", "verdict"]
    assert [v["method"] for v in data["verdict"]["methods"]] == ["alpha", "beta", "gamma"]
    assert data["verdict"]["headline"] == s.judgement.headline
    assert "seconds" not in json.dumps(data["verdict"])  # timings live in timing.json
    assert data["budgets"][0]["settings (budgets)"].startswith("n_samples=100")
    assert (tmp_path / "agreement_matrices.csv").is_file()
    assert (tmp_path / "timing.json").is_file()
    assert (tmp_path / "verdict.md").read_text().startswith(s.judgement.headline)


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
    # attributions, seeds 1 and 2 of lime on the first text, metrics with random, variants
    assert len(lines) == 2 * 2 + 2 + 2 * 3 + 2 * 2
    kinds = [json.loads(line)["kind"] for line in lines]
    assert kinds.count("variants") == 4 and kinds.count("metrics") == 6
    assert "verdict: " in printed
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


def test_same_seed_same_summary_json_byte_for_byte(tiny_bert_dir, tmp_path, one_thread):
    """Two fresh runs (not a resume) with the same seed write the same summary.json."""
    outs = []
    for name in ("first", "second"):
        out = tmp_path / name
        argv = ["compare", "--text", "so happy today", "--text", "i hate mondays =(",
                "--text", "not bad at all", "--methods", "occlusion,lime,ig",
                "--set", "lime.n_samples=60", "--set", "ig.n_steps=8", "--stability-texts", "1",
                "--sanity-texts", "2", "--model", str(tiny_bert_dir), "--out", str(out),
                "--no-progress"]  # fmt: skip
        assert main(argv) == 0
        outs.append((out / "summary.json").read_bytes())
    assert outs[0] == outs[1]
    data = json.loads(outs[0])
    assert data["verdict"]["headline"]
    assert {m["method"] for m in data["verdict"]["methods"]} == {"occlusion", "lime", "ig"}
