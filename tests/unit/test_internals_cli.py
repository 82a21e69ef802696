"""The attention / embeddings / heads / probe / behaviour subcommands on a tiny model."""

from __future__ import annotations

import json

import pytest
from shared_fixtures import one_thread  # noqa: F401 (autouse fixture)

from captum_ext.cli import main


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("s140")
    pos = [f"@fan{i} what a lovely day number {i} :)" for i in range(40)]
    neg = [f"not a good day {i}, so tired =(" for i in range(40)]
    (d / "positive.txt").write_text("\n".join(pos) + "\n", encoding="utf-8")
    (d / "negative.txt").write_text("\n".join(neg) + "\n", encoding="utf-8")
    return d


def _run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_attention_command(tiny_bert_dir, tmp_path, capsys):
    code, out, _ = _run(
        capsys, "attention", "not bad <b>", "--model", str(tiny_bert_dir), "--out", str(tmp_path)
    )
    assert code == 0
    summary = json.loads(out)
    assert summary["shape"][:2] == [2, 2]
    for name in ("attention_layer0.png", "head_view.html", "attention_bertviz.json"):
        assert (tmp_path / name).is_file()


def test_heads_probe_embeddings_commands(tiny_bert_dir, data_dir, tmp_path, capsys):
    common = ["--model", str(tiny_bert_dir), "--data", str(data_dir), "--quiet"]
    code, out, _ = _run(
        capsys, "heads", *common, "--n", "20", "--n-eval", "20", "--steps", "2",
        "--out", str(tmp_path / "h"),
    )  # fmt: skip
    assert code == 0
    s = json.loads(out)
    assert set(s["prunable"]) == {"gradient", "masking", "random"}
    assert (tmp_path / "h" / "pruning_curve.png").is_file()
    assert len(json.loads((tmp_path / "h" / "heads.json").read_text())["pruning_curve"]) == 9
    code, out, _ = _run(
        capsys, "probe", *common, "--n", "40", "--cv", "2", "--tasks", "sentiment,mention",
        "--cache-dir", str(tmp_path / "cache"), "--out", str(tmp_path / "p"),
    )  # fmt: skip
    assert code == 0 and json.loads(out)["cache"] == "miss"
    assert (tmp_path / "p" / "probes.csv").is_file()
    code, out, _ = _run(
        capsys, "embeddings", *common, "--n", "30", "--layer", "1", "--format", "svg",
        "--out", str(tmp_path / "e"),
    )  # fmt: skip
    assert code == 0 and json.loads(out)["n_points"] == 30
    assert (tmp_path / "e" / "embeddings_sentence_layer1_pca.html").is_file()
    code, out, _ = _run(
        capsys, "embeddings", "--word", "sick", "--model", str(tiny_bert_dir),
        "--out", str(tmp_path / "w"),
    )  # fmt: skip
    assert code == 0 and json.loads(out)["n_contexts"] == 6
    assert (tmp_path / "w" / "word_in_context.png").is_file()
    code, out, _ = _run(
        capsys, "embeddings", "--word", "day", *common, "--contexts", "8",
        "--out", str(tmp_path / "w2"),
    )  # fmt: skip
    assert code == 0 and json.loads(out)["n_contexts"] == 8
    saved = json.loads((tmp_path / "w2" / "word_in_context.json").read_text())
    assert set(saved["groups"]) <= {"negative", "positive"} and "8 of the 80" in saved["note"]


def test_behaviour_command(tiny_bert_dir, tmp_path, capsys):
    code, out, _ = _run(
        capsys, "behaviour", "--model", str(tiny_bert_dir), "--max-explanations", "3",
        "--quiet", "--out", str(tmp_path),
    )  # fmt: skip
    assert code == 0
    s = json.loads(out)
    assert s["n_cases"] >= 500 and len(s["failure_rates"]) == 12
    assert (tmp_path / "report.html").is_file() and (tmp_path / "results.json").is_file()


@pytest.mark.parametrize(
    "argv,message",
    [
        (["behaviour", "--suite", "nope", "--out", "x"], "unknown suite 'nope'"),
        (["behaviour", "--explain", "nope", "--out", "x"], "unknown method 'nope'"),
        (["heads", "--n", "0", "--out", "x"], "--n must be >= 1"),
        (["attention", "   ", "--out", "x"], "empty"),
    ],
)
def test_user_errors_are_one_line(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, _, err = _run(capsys, *argv)
    assert code == 2
    assert err.startswith("error: ") and message in err and err.count("\n") == 1
