"""Hostile inputs: every command x bad paths, seeds, devices, stdin, stores, caches, texts.

Each case of :mod:`hostile_cases` (the table ``benchmarks/hostile_sweep.py`` also runs through
real processes) must end with exit status 2 and exactly one stderr line ``error: ...`` naming the
option, without a traceback. The cases run in-process through :func:`captum_ext.cli.main` (the
console script's code path minus interpreter start-up), with ``sys.stdin`` replaced by what the
case pipes in: ``None`` for a closed stdin (what Python sets when descriptor 0 is closed, as with
``0<&-``) or a byte stream decoded as the console would. Two cases also run as real processes.

Unwritable paths are simulated so that the test holds as root (``chmod`` does not stop root):
a path under a regular file, and a path on ``/proc``, where nothing can be created.
"""

from __future__ import annotations

import io
import subprocess
import sys

import pytest
import torch
from hostile_cases import Case, all_cases, make_workspace

from captum_ext.cli import main

DATA = "/work/shared/data/sentiment140"
CASES = [c for c in all_cases() if c.expect in ("error", "no-cuda") and not c.slow]


@pytest.fixture(scope="module")
def ws(tmp_path_factory, tiny_bert_dir):
    from pathlib import Path

    data = DATA if Path(DATA).is_dir() else None
    if data is None:
        pytest.skip("the Sentiment140 sample is not on this machine")
    return make_workspace(tmp_path_factory.mktemp("hostile"), tiny_bert_dir, data)


def _stdin(case: Case):
    if case.stdin == "closed":
        return None
    data = case.stdin if isinstance(case.stdin, bytes) else (case.stdin or "").encode()
    return io.TextIOWrapper(io.BytesIO(data), encoding="utf-8")


def test_table_covers_every_command_and_many_kinds():
    from captum_ext.cli import _COMMAND_MODULES, build_parser

    commands = set(build_parser()._subparsers._group_actions[0].choices)  # type: ignore[union-attr]
    assert len(_COMMAND_MODULES) == 10
    table = {c.argv[0] for c in CASES}
    assert commands - {"behavior", "methods"} <= table
    kinds = {c.id.split("-", 1)[1] for c in CASES}
    assert len(kinds) >= 40, len(kinds)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_hostile_input_one_line_error(case, ws, capsys, monkeypatch):
    if case.expect == "no-cuda" and torch.cuda.is_available():
        pytest.skip("CUDA is available here: --device cuda is valid")
    monkeypatch.chdir(ws["w"])
    monkeypatch.setattr(sys, "stdin", _stdin(case))
    code = main(case.fill(ws))
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert code == 2, (code, err)
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err
    for fragment in case.fragments:
        assert fragment in lines[0], (fragment, lines[0])


@pytest.mark.parametrize(
    "stdin, fragment",
    [("closed", "(standard input) is closed"), (b"\xff\xfe\x00bad\n", "not UTF-8")],
    ids=["closed", "binary"],
)
def test_real_process_stdin(stdin, fragment, tiny_bert_dir):
    """``captum-ext explain --text-file - 0<&-`` and ``< /bin/ls`` in a real process."""
    argv = [sys.executable, "-m", "captum_ext.cli", "explain", "--text-file", "-"]
    argv += ["--model", str(tiny_bert_dir)]
    if stdin == "closed":
        proc = subprocess.run(
            ["sh", "-c", 'exec "$@" 0<&-', "sh", *argv], capture_output=True, timeout=300
        )
    else:
        proc = subprocess.run(argv, input=stdin, capture_output=True, timeout=300)
    err = proc.stderr.decode()
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert proc.returncode == 2 and len(lines) == 1 and lines[0].startswith("error: "), err
    assert fragment in lines[0] and "--text-file" in lines[0]


def test_explain_table_escapes_control_characters(tiny_bert_dir, capsys):
    """A tweet's ESC/BEL/BS never reach the terminal raw (terminal injection)."""
    text = "nice \x1b[31mday\x07 ok\x08"
    code = main(["explain", text, "--method", "occlusion", "--model", str(tiny_bert_dir)])
    out = capsys.readouterr().out
    assert code == 0
    assert not any(ch in out for ch in "\x1b\x07\x08")
    assert "\\x1b[31mday\\x07" in out


def test_nul_lines_skipped_with_a_note(tiny_bert_dir, tmp_path, capsys):
    f = tmp_path / "t.txt"
    f.write_bytes(b"nice day\n\x00\x00\nbad day\n")
    code = main(["explain", "--text-file", str(f), "--method", "occlusion", "--json",
                 "--model", str(tiny_bert_dir)])  # fmt: skip
    captured = capsys.readouterr()
    assert code == 0
    assert len(captured.out.strip().splitlines()) == 2
    assert "note: skipped --text-file line 2: control characters only" in captured.err


def test_unwritable_out_under_proc_and_under_a_file(tmp_path):
    """The two ways the table makes a path unwritable for root too, checked directly."""
    from captum_ext.errors import InputError
    from captum_ext.validation import check_output_dir, check_output_file

    (tmp_path / "f").write_text("x")
    for bad in ("/proc/captum-ext-test/out", tmp_path / "f" / "sub"):
        with pytest.raises(InputError, match="--out"):
            check_output_dir(bad, "--out")
        with pytest.raises(InputError, match="--store"):
            check_output_file(bad, "--store")


def test_check_output_dir_write_probe(tmp_path, monkeypatch):
    """A folder the OS reports unwritable (os.access) is refused before any work."""
    import os

    from captum_ext.errors import InputError
    from captum_ext.validation import check_output_dir

    monkeypatch.setattr(os, "access", lambda *a, **k: False)
    with pytest.raises(InputError, match="cannot write in"):
        check_output_dir(tmp_path / "run", "--out")
