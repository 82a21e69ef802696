"""``captum-ext pick`` on a tiny model: picked tweets, JSON lines, resume, user errors."""

from __future__ import annotations

import json

from captum_ext.cli import main


def _data(tmp_path):
    folder = tmp_path / "s140"
    folder.mkdir()
    (folder / "positive.txt").write_text(
        "\n".join(f"what a lovely day number {i} with friends" for i in range(10)) + "\n"
    )
    (folder / "negative.txt").write_text(
        "\n".join(f"i hate mondays and rain number {i}" for i in range(10)) + "\n"
    )
    return folder


def test_pick_prints_picked_tweets_and_resumes(tmp_path, tiny_bert_dir, capsys):
    data = _data(tmp_path)
    store = tmp_path / "sp.jsonl"
    args = ["pick", "--data", str(data), "--n", "12", "--budget", "2", "--sample-size", "4",
            "--n-samples", "40", "--model", str(tiny_bert_dir), "--store", str(store),
            "--no-progress"]  # fmt: skip
    assert main(args) == 0
    out = capsys.readouterr().out
    assert out.count("\n1. [") == 0 and out.startswith("1. [")
    assert "picked 2 of 4 explained tweets" in out
    assert main([*args, "--json"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2
    first = json.loads(lines[0])
    assert first["rank"] == 1 and first["label"] in ("negative", "positive")
    assert 1 <= len(first["features"]) <= 10
    assert len(store.read_text().splitlines()) == 5  # header + 4 explanations, not recomputed


def test_pick_user_errors(tmp_path, tiny_bert_dir, capsys):
    data = _data(tmp_path)
    assert main(["pick", "--data", str(data), "--n", "500", "--model", str(tiny_bert_dir)]) == 2
    assert "--n 500" in capsys.readouterr().err
    assert main(["pick", "--data", str(data), "--budget", "0"]) == 2
    assert "--budget must be >= 1" in capsys.readouterr().err
