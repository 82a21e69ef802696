"""The command line: the JSON contract and one-line errors (exit 2, no traceback) for bad input."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from captum_ext.cli import main


def run_cli(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "captum_ext.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=300,
    )


def assert_one_line_error(proc, *fragments: str) -> None:
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    lines = [line for line in proc.stderr.strip().splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    assert "Traceback" not in proc.stderr
    for f in fragments:
        assert f in lines[0], (f, lines[0])


class _Result:
    def __init__(self, returncode: int, stderr: str) -> None:
        self.returncode, self.stderr = returncode, stderr


@pytest.fixture
def cli(capsys):
    """Run ``main(args)`` in-process (the same code path as the console script, minus start-up)."""

    def run(*args: str) -> _Result:
        code = main(list(args))
        return _Result(code, capsys.readouterr().err)

    return run


def test_console_entry_point_one_line_error():
    """One real process: ``python -m captum_ext.cli`` prints one line and exits 2."""
    assert_one_line_error(run_cli("explain", "   "), "empty or whitespace")


def test_methods_json(capsys):
    assert main(["methods", "--json"]) == 0
    names = [m["name"] for m in json.loads(capsys.readouterr().out)]
    assert {"ig", "lime-official", "shap-partition"} <= set(names)


def test_explain_json_contract(tiny_bert_dir, capsys):
    assert main(["explain", "not bad at all", "--model", str(tiny_bert_dir), "--json"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1
    obj = json.loads(out[0])
    assert set(obj) == {"text", "prediction", "method", "target", "words"}
    assert obj["method"] == "ig" and obj["text"] == "not bad at all"
    assert [w["word"] for w in obj["words"]] == ["not", "bad", "at", "all"]


def test_explain_many_texts_from_file(tiny_bert_dir, tmp_path, capsys):
    f = tmp_path / "t.txt"
    f.write_text("good day\n\nbad day\n", encoding="utf-8")
    assert main(["explain", "--text-file", str(f), "--model", str(tiny_bert_dir), "--json"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert [json.loads(x)["text"] for x in lines] == ["good day", "bad day"]


def test_explain_table_output(tiny_bert_dir, capsys):
    assert main(["explain", "good day", "--model", str(tiny_bert_dir), "--target", "negative"]) == 0
    out = capsys.readouterr().out
    assert "prediction:" in out and "explaining 'negative'" in out


@pytest.mark.parametrize("text", ["", "   "])
def test_empty_text(text, tiny_bert_dir, cli):
    assert_one_line_error(
        cli("explain", text, "--model", str(tiny_bert_dir)), "empty or whitespace"
    )


def test_unknown_method(tiny_bert_dir, cli):
    assert_one_line_error(
        cli("explain", "hi", "--method", "nope", "--model", str(tiny_bert_dir)),
        "unknown method 'nope'",
        "captum-ext methods",
    )


def test_unknown_target(tiny_bert_dir, cli):
    assert_one_line_error(
        cli("explain", "hi", "--target", "neutral", "--model", str(tiny_bert_dir)),
        "'neutral'",
        "negative, positive",
    )


def test_missing_model_dir(tmp_path, cli):
    assert_one_line_error(
        cli("explain", "hi", "--model", str(tmp_path / "nope")), str(tmp_path / "nope")
    )


def test_corrupt_model_dir(tiny_bert_dir, tmp_path, cli):
    import shutil

    bad = tmp_path / "bad"
    shutil.copytree(tiny_bert_dir, bad)
    (bad / "model.safetensors").write_bytes(b"not a safetensors file")
    assert_one_line_error(cli("explain", "hi", "--model", str(bad)), str(bad))


def test_malformed_data_file(tmp_path, cli):
    bad = tmp_path / "bad.csv"
    bad.write_text('"4","hello"\n"7","oops"\n', encoding="utf-8")
    proc = cli("finetune", "--data", str(bad), "--out", str(tmp_path / "m"))
    assert_one_line_error(proc, str(bad), "line 2")


def test_missing_text_file(tiny_bert_dir, tmp_path, cli):
    assert_one_line_error(
        cli("explain", "--text-file", str(tmp_path / "none.txt"), "--model", str(tiny_bert_dir)),
        "--text-file",
    )
