"""Acceptance benchmark of the agreement harness: N Sentiment140 tweets x every registered method.

Runs exactly what ``captum-ext compare --data <sentiment140> --n N --out DIR`` runs (every method
at its default budget, the extra seeds of the stochastic methods, faithfulness with the random
baseline, the report) on the fine-tuned default model, and reports the wall time, the time per
method and per tweet, and the model rows evaluated. The acceptance target is 200 tweets within
45 minutes on the 2-core machine.

Usage::

    flock /tmp/cpu.lock .venv/bin/python benchmarks/bench_harness.py            # 200 tweets
    .venv/bin/python benchmarks/bench_harness.py --n 10 --out /tmp/bench_small  # a quick check

The run directory is resumable: an interrupted benchmark continues with ``--resume`` (its wall
time then covers only the resumed part; the per-method seconds in the records stay complete).
Results go to ``benchmarks/results/bench_harness[_N].json``.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

from _common import RESULTS_DIR, machine_info, write_results


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--n", type=int, default=200, help="tweets (default 200)")
    p.add_argument("--methods", default=None, help="comma-separated (default: every registered)")
    p.add_argument(
        "--out", default=None, help="run directory (default benchmarks/results/harness_N)"
    )
    p.add_argument("--resume", action="store_true", help="keep an existing run directory")
    p.add_argument("--threads", type=int, default=2, help="torch threads (default 2)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--stability-texts", type=int, default=20)
    p.add_argument(
        "--sanity-texts",
        type=int,
        default=20,
        help="texts of the sanity checks (default 20; 0: none)",
    )
    p.add_argument(
        "--metrics",
        default=None,
        help="comma-separated metric names (default: every registered). Issue 15's like-for-like "
        "run with the 33-minute baseline's metrics: --metrics comprehensiveness,sufficiency,"
        "deletion_auc,loo_spearman,stability,seconds --sanity-texts 0",
    )
    p.add_argument("--chunk-size", type=int, default=8)
    p.add_argument("--no-progress", action="store_true")
    args = p.parse_args(argv)

    import torch

    torch.set_num_threads(args.threads)
    from captum_ext.adapters import TextClassifierAdapter
    from captum_ext.data import default_data_path
    from captum_ext.harness import compare, load_texts
    from captum_ext.methods import list_methods

    out = Path(args.out) if args.out else RESULTS_DIR / f"harness_{args.n}"
    if out.exists() and not args.resume:
        shutil.rmtree(out)
    methods = args.methods.split(",") if args.methods else [m.name for m in list_methods()]
    texts = load_texts(default_data_path(), args.n, random_state=args.seed)
    machine_start = machine_info()

    t0 = time.perf_counter()
    adapter = TextClassifierAdapter.from_pretrained()
    t_load = time.perf_counter() - t0
    t1 = time.perf_counter()
    summary = compare(
        texts,
        adapter=adapter,
        model="default",
        methods=methods,
        out_dir=out,
        random_state=args.seed,
        stability_texts=args.stability_texts,
        sanity_texts=args.sanity_texts,
        metrics=args.metrics.split(",") if args.metrics else None,
        chunk_size=args.chunk_size,
        show_progress=not args.no_progress,
    )
    wall = time.perf_counter() - t1

    timing = summary.timing.set_index("method")
    per_method = {}
    for m in methods:
        row = timing.loc[m] if m in timing.index else None
        extra = timing.loc[f"{m} (extra seeds)"] if f"{m} (extra seeds)" in timing.index else None
        per_method[m] = {
            "defaults": next(s.defaults for s in list_methods() if s.name == m),
            "total_seconds": float(row["total_seconds"]) if row is not None else None,
            "seconds_per_tweet": float(row["mean_seconds"]) if row is not None else None,
            "errors": int(row["errors"]) if row is not None else None,
            "extra_seed_seconds": float(extra["total_seconds"]) if extra is not None else 0.0,
        }

    def stage(name: str) -> float:
        return float(timing.loc[name, "total_seconds"]) if name in timing.index else 0.0

    faith_s = stage("faithfulness")
    sanity_s = stage("sanity checks")
    main_s = sum(v["total_seconds"] or 0.0 for v in per_method.values())
    extra_s = sum(v["extra_seed_seconds"] for v in per_method.values())
    payload = {
        "command": "benchmarks/bench_harness.py "
        + " ".join(sys.argv[1:] if argv is None else argv),
        "n_tweets": len(texts),
        "n_methods": len(methods),
        "torch_threads": args.threads,
        "machine_at_start": machine_start,
        "wall_seconds": wall,
        "wall_minutes": wall / 60,
        "model_load_seconds": t_load,
        "within_45_minutes": wall <= 45 * 60,
        "seconds_per_tweet_all_methods": main_s / max(1, len(texts)),
        "stage_seconds": {
            "explanations (main seed)": main_s,
            "explanations (extra seeds, stability)": extra_s,
            "row metrics (faithfulness)": faith_s,
            "sanity checks (randomisation, random logit, robustness)": sanity_s,
            "summary + report (rest of wall)": max(
                0.0, wall - main_s - extra_s - faith_s - sanity_s
            ),
        },
        "model_rows_evaluated": adapter.n_forward_rows,
        "per_method": per_method,
        "headline": summary.headline,
        "verdict": summary.verdict[
            ["rank", "method", "tier", "verdict", "reasons", "mean_rank", "better_than_random"]
        ].to_dict("records"),
        "run_dir": str(out),
    }
    name = "bench_harness" if args.n == 200 else f"bench_harness_{args.n}"
    write_results(name, payload)
    print(f"\n{len(texts)} tweets x {len(methods)} methods: {wall / 60:.1f} min wall "
          f"({'within' if wall <= 2700 else 'OVER'} 45 min), model load {t_load:.1f} s, "
          f"{adapter.n_forward_rows} model rows, load average at start "
          f"{machine_start['load_average_1m']:.1f}")  # fmt: skip
    print(f"{'method':<22}{'s/tweet':>10}{'total s':>10}{'extra seeds s':>15}")
    for m, v in sorted(per_method.items(), key=lambda kv: -(kv[1]["total_seconds"] or 0)):
        print(f"{m:<22}{v['seconds_per_tweet'] or 0:>10.3f}{v['total_seconds'] or 0:>10.1f}"
              f"{v['extra_seed_seconds']:>15.1f}")  # fmt: skip
    for name, s in payload["stage_seconds"].items():
        print(f"{name:<58}{s:>10.1f} s {100 * s / max(wall, 1e-9):>5.1f}%")
    print(f"verdict: {summary.headline}")
    print(summary.verdict[["rank", "method", "tier", "verdict", "mean_rank", "reasons"]]
          .to_string(index=False))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
