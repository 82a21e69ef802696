"""Hostile-input sweep: every command x bad paths, seeds, devices, stdin, stores, texts.

Runs each case of ``tests/unit/hostile_cases.py`` through the real command line (a fresh
``python -m captum_ext.cli`` process, stdin closed, binary or piped as the case says) and counts:

- tracebacks (a Python traceback on stderr: a crash instead of a one-line error),
- hangs (no exit within ``--timeout`` seconds),
- one-line errors (exit 2, exactly one stderr line starting ``error:``),
- unexpected outcomes (a case that should fail exited 0, or a one-line error missed the option
  it should name).

Acceptance (issue 16): 0 tracebacks and 0 hangs. Results go to
``benchmarks/results/hostile_sweep.json``.

    python benchmarks/hostile_sweep.py                  # a tiny random model, every case
    python benchmarks/hostile_sweep.py --model DIR -j 2 --only pick-
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "unit"))
sys.path.insert(0, str(ROOT / "tests"))

from hostile_cases import Case, all_cases, make_workspace  # noqa: E402


def run_case(case: Case, ws: dict[str, str], timeout: float, cuda: bool) -> dict:
    argv = [sys.executable, "-m", "captum_ext.cli", *case.fill(ws)]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    kw: dict = {"capture_output": True, "timeout": timeout, "env": env, "cwd": ws["w"]}
    if case.stdin == "closed":
        # the shell's `0<&-`: the process starts with file descriptor 0 closed
        argv = ["sh", "-c", 'exec "$@" 0<&-', "sh", *argv]
        kw["stdin"] = None
    else:
        data = case.stdin if isinstance(case.stdin, bytes) else (case.stdin or "").encode()
        kw["input"] = data
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(argv, **kw)
    except subprocess.TimeoutExpired:
        return {"id": case.id, "outcome": "hang", "seconds": timeout}
    err = proc.stderr.decode("utf-8", "replace")
    lines = [ln for ln in err.splitlines() if ln.strip()]
    errors = [ln for ln in lines if ln.startswith("error: ")]
    traceback = "Traceback (most recent call last)" in err
    one_line = proc.returncode == 2 and len(errors) == 1 and not traceback
    expect = case.expect
    if expect == "no-cuda":
        expect = "any" if cuda else "error"
    if traceback:
        outcome = "traceback"
    elif one_line:
        missing = [f for f in case.fragments if f not in errors[0]]
        outcome = "error" if not missing else "error-unnamed"
    elif proc.returncode == 0:
        outcome = "ok"
    else:
        outcome = f"exit-{proc.returncode}"
    unexpected = (expect == "error" and outcome != "error") or (expect == "ok" and outcome != "ok")
    return {
        "id": case.id,
        "outcome": outcome,
        "unexpected": unexpected,
        "returncode": proc.returncode,
        "stderr_tail": err[-600:] if (traceback or unexpected) else (errors[0] if errors else ""),
        "seconds": round(time.perf_counter() - t0, 2),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=None, help="checkpoint folder (default: a tiny random BERT)")
    ap.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "sentiment140"))
    ap.add_argument("--only", default=None, help="run the cases whose id contains this")
    ap.add_argument("-j", "--jobs", type=int, default=2, help="cases run at once (default 2)")
    ap.add_argument("--timeout", type=float, default=240, help="seconds before a hang (240)")
    args = ap.parse_args()
    if not Path(args.data).exists():
        args.data = "/work/shared/data/sentiment140"
    import torch

    with tempfile.TemporaryDirectory(prefix="hostile-") as tmp:
        model = args.model
        if model is None:
            from conftest import make_tiny_bert

            model = str(make_tiny_bert(Path(tmp) / "tiny"))
        ws = make_workspace(Path(tmp) / "w", model, args.data)
        cases = [c for c in all_cases() if args.only is None or args.only in c.id]
        cuda = torch.cuda.is_available()
        t0 = time.perf_counter()
        with ThreadPoolExecutor(args.jobs) as pool:
            results = list(pool.map(lambda c: run_case(c, ws, args.timeout, cuda), cases))
    counts: dict[str, int] = {}
    for r in results:
        counts[r["outcome"]] = counts.get(r["outcome"], 0) + 1
    summary = {
        "cases": len(results),
        "commands": sorted({c.argv[0] for c in cases}),
        "tracebacks": counts.get("traceback", 0),
        "hangs": counts.get("hang", 0),
        "unexpected": sum(bool(r.get("unexpected")) for r in results),
        "outcomes": counts,
        "seconds": round(time.perf_counter() - t0, 1),
    }
    out = ROOT / "benchmarks" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "hostile_sweep.json").write_text(
        json.dumps({"summary": summary, "results": results}, indent=1, ensure_ascii=False)
    )
    for r in results:
        if r["outcome"] in ("traceback", "hang") or r.get("unexpected"):
            print(f"{r['outcome']:>14}  {r['id']}: {r.get('stderr_tail', '')[-300:]!r}")
    print(json.dumps(summary))
    return 1 if summary["tracebacks"] or summary["hangs"] else 0


if __name__ == "__main__":
    sys.exit(main())
