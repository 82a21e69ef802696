"""captum-ext ``compare`` against ferret-xai's ``Benchmark`` on the same tweets and methods.

ferret-xai (0.4.2, the newest release) explains a text with Partition SHAP, LIME, Gradient,
Gradient x Input, Integrated Gradients and IG x Input, then scores every explanation with AOPC
comprehensiveness/sufficiency and leave-one-out correlation. The captum-ext side runs
``compare`` with the matching registered methods (shap-partition, lime, saliency,
input-x-gradient, ig) at their defaults, twice: with ferret's three metrics only (AOPC
comprehensiveness, sufficiency, leave-one-out correlation; no extra seeds, no sanity checks), the
like-for-like figure, and with compare's defaults (every metric family: faithfulness,
randomisation and random-logit checks, robustness, stability across seeds), more work per text
than ferret does. Both use the fine-tuned default model, the same Sentiment140 tweets and the
same number of torch threads, one after the other in this run; the printed ratio is ferret's
seconds over ours.

ferret-xai pins ``transformers<5``, ``numpy<2``, ``captum<0.8`` and ``shap<0.45``, so it cannot be
installed beside captum-ext: it runs in its own virtual environment (``--setup`` builds one at
``--ferret-venv``, from PyPI, with the CPU torch wheel of ``constraints.txt``). Without that
environment the benchmark prints why it skips and writes the reason to its JSON.

Usage::

    .venv/bin/python benchmarks/bench_ferret.py --setup           # once: build ferret's venv
    flock /tmp/cpu.lock .venv/bin/python benchmarks/bench_ferret.py --n 20
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import RESULTS_DIR, ROOT, machine_info, write_results

DEFAULT_VENV = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / (
    "captum-ext/ferret-venv"
)
METHODS = ["shap-partition", "lime", "saliency", "input-x-gradient", "ig"]
#: the two captum-ext runs: ferret's work (its three faithfulness evaluators, no extra seeds or
#: sanity checks) and compare's defaults (every metric family, extra seeds on 20 texts).
RUNS = {
    "like-for-like": {
        "metrics": ("comprehensiveness", "sufficiency", "loo_spearman"),
        "stability_texts": 0,
        "sanity_texts": 0,
    },
    "defaults": {},
}


def setup(venv: Path) -> None:
    """Build ferret-xai's own environment (pyarrow<19: newer pyarrow needs NumPy 2)."""
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q"]
    subprocess.run(
        [*pip, "-c", str(ROOT / "constraints.txt"), "ferret-xai==0.4.2", "pyarrow<19"], check=True
    )


def run_ferret(python: Path, model_dir: str, texts: list[str], threads: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        job = Path(tmp) / "job.json"
        job.write_text(json.dumps({"model": model_dir, "texts": texts, "threads": threads}))
        t0 = time.perf_counter()
        proc = subprocess.run(
            [str(python), str(Path(__file__).with_name("_ferret_child.py")), str(job)],
            capture_output=True,
            text=True,
            env={**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"},
        )
        wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"ferret failed:\n{proc.stderr[-3000:]}")
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    out["wall_seconds"] = wall
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--n", type=int, default=20, help="tweets (default 20)")
    p.add_argument("--threads", type=int, default=2, help="torch threads on both sides")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--ferret-venv", type=Path, default=DEFAULT_VENV)
    p.add_argument("--setup", action="store_true", help="build ferret's venv, then exit")
    p.add_argument(
        "--runs",
        default="like-for-like,defaults",
        help="captum-ext runs, comma-separated: like-for-like (ferret's three metrics, no extra "
        "seeds or sanity checks), defaults (every metric family)",
    )
    p.add_argument(
        "--ferret-json",
        type=Path,
        default=None,
        help="reuse ferret's seconds from an earlier bench_ferret.json (same --n and --seed)",
    )
    args = p.parse_args(argv)

    if args.setup:
        setup(args.ferret_venv)
        print(f"ferret-xai installed in {args.ferret_venv}")
        return 0
    python = args.ferret_venv / "bin" / "python"
    if not python.exists():
        reason = (
            f"ferret-xai's venv not found at {args.ferret_venv}: ferret-xai 0.4.2 pins "
            "transformers<5 and numpy<2, so it needs its own environment; build it with "
            "`benchmarks/bench_ferret.py --setup`."
        )
        print(f"skipped: {reason}")
        write_results("bench_ferret", {"skipped": reason})
        return 0

    import torch

    torch.set_num_threads(args.threads)
    from captum_ext.adapters import TextClassifierAdapter
    from captum_ext.adapters.loading import default_model_dir
    from captum_ext.data import default_data_path
    from captum_ext.harness import compare, load_texts

    texts = load_texts(default_data_path(), args.n, random_state=args.seed)
    model_dir = str(default_model_dir())
    machine = machine_info()

    if args.ferret_json is not None:
        earlier = json.loads(args.ferret_json.read_text())
        if earlier.get("n_tweets") != len(texts) or earlier.get("seed", 0) != args.seed:
            raise SystemExit(f"--ferret-json: {args.ferret_json} is for other tweets")
        ferret = {**earlier["ferret"], "wall_seconds": earlier["ferret"]["process_wall_seconds"]}
        ferret["reused_from"] = str(args.ferret_json)
    else:
        ferret = run_ferret(python, model_dir, texts, args.threads)
    ferret_s = ferret["explain_seconds"] + ferret["evaluate_seconds"]
    wanted = [r.strip() for r in args.runs.split(",") if r.strip()]
    unknown = sorted(set(wanted) - set(RUNS))
    if unknown:
        raise SystemExit(f"--runs: unknown {unknown}; choose from {sorted(RUNS)}")

    adapter = TextClassifierAdapter.from_pretrained(model_dir)
    runs = {}
    for name in wanted:
        extra = RUNS[name]
        out = RESULTS_DIR / f"ferret_compare_{args.n}_{name}"
        shutil.rmtree(out, ignore_errors=True)
        rows0 = adapter.n_forward_rows
        t0 = time.perf_counter()
        summary = compare(
            texts, adapter=adapter, methods=METHODS, out_dir=out, random_state=args.seed,
            show_progress=False, **extra,
        )  # fmt: skip
        seconds = time.perf_counter() - t0
        runs[name] = {
            "settings": {k: list(v) if isinstance(v, tuple) else v for k, v in extra.items()},
            "seconds": seconds,
            "model_rows": adapter.n_forward_rows - rows0,
            "ratio_ferret_over_ours": ferret_s / seconds,
            "headline": summary.headline,
        }

    payload = {
        "command": "benchmarks/bench_ferret.py " + " ".join(sys.argv[1:] if argv is None else argv),
        "n_tweets": len(texts),
        "seed": args.seed,
        "machine_at_start": machine,
        "ferret": {
            "version": "0.4.2",
            "explainers": ferret["explainers"],
            "evaluators": ferret["evaluators"],
            "explain_seconds": ferret["explain_seconds"],
            "evaluate_seconds": ferret["evaluate_seconds"],
            "seconds": ferret_s,
            "process_wall_seconds": ferret["wall_seconds"],
            "reused_from": ferret.get("reused_from"),
        },
        "captum_ext": {"methods": METHODS, "runs": runs},
        "target_ratio": 2.5,
    }
    write_results("bench_ferret", payload)
    print(f"{len(texts)} tweets, {args.threads} torch threads, load average at start "
          f"{machine['load_average_1m']:.1f}")  # fmt: skip
    print(f"ferret-xai Benchmark (6 explainers + 3 faithfulness evaluators): {ferret_s:8.1f} s "
          f"(explain {ferret['explain_seconds']:.1f} s, evaluate {ferret['evaluate_seconds']:.1f} s)")  # fmt: skip
    for name, run in runs.items():
        print(f"captum-ext compare, {name:<38}{run['seconds']:8.1f} s  "
              f"ratio ferret / ours {run['ratio_ferret_over_ours']:.2f}x (target >= 2.5x)")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
