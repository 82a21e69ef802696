"""Half precision vs fp32 per method family: top-5 agreement, max |Δp| and speed.

For every method (default: a few of each family) and precision, explain the same tweets with
the same seeds in fp32 and in that precision (the adapter's ``using_precision``; the weights stay
fp32, autocast does the rest) and measure:

- ``jaccard``: the top-5 words (by the method's ranking) of the two runs, Jaccard, averaged over
  tweets and then over the family's methods;
- ``max_dp``: the largest |p_fp32 - p_precision| over every class probability of the tweets and of
  all their one-word occlusions (the rows perturbation methods evaluate), model-level, so one
  figure per precision;
- ``seconds``: the wall time of each method at each precision (speed ratio vs fp32).

The rule (issue 15): a precision may be a family's default only where the family's averaged
Jaccard >= 0.95 and max |Δp| <= 0.01. This benchmark also asks that it be clearly faster than
fp32 on the machine (>= 1.5x over the family: a default that departs from the fp32 references
must buy a gain larger than timing noise, and a slower one serves nobody); it prints the table
and the defaults that follow, which go into ``FAMILY_PRECISION`` (``captum_ext/methods/registry.py``) and docs/methods.md.

    flock /tmp/cpu.lock .venv/bin/python benchmarks/bench_precision.py            # 50 tweets
    .venv/bin/python benchmarks/bench_precision.py --n 5 --precisions bf16         # smoke

Results: ``benchmarks/results/bench_precision.json``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import load_default_adapter, sample_tweets, write_results

DEFAULT_METHODS = (
    "ig,saliency,input-x-gradient,smoothgrad,"
    "occlusion,lime,lime-official,shap-partition,"
    "attention-last,attention-rollout"
)
# budgets that keep the run near 15 min on 2 CPU cores; the precision effect does not depend on them
BUDGETS: dict[str, dict[str, Any]] = {
    "ig": {"n_steps": 32},
    "lime": {"n_samples": 500},
    "lime-official": {"n_samples": 500},
    "shap-partition": {"max_evals": 300},
}
JACCARD_MIN = 0.95
DP_MAX = 0.01
SPEEDUP_MIN = 1.5


def jaccard(a: list[str], b: list[str]) -> float:
    sa, sb = set(a), set(b)
    return len(sa & sb) / len(sa | sb) if sa | sb else 1.0


def occlusion_rows(adapter, texts: list[str]) -> list[list[int]]:
    rows: list[list[int]] = []
    for t in texts:
        ids = adapter.encode(t).input_ids
        rows.append(list(ids))
        for j in range(1, len(ids) - 1):
            rows.append(ids[:j] + ids[j + 1 :])
    return rows


def max_dp(adapter, rows: list[list[int]], precision: str) -> float:
    import numpy as np

    with adapter.using_precision("fp32"):
        ref = adapter.predict_ids(rows)
    with adapter.using_precision(precision):
        got = adapter.predict_ids(rows)
    return float(np.abs(ref - got).max())


def explain_all(adapter, method: str, texts: list[str], precision: str):
    from captum_ext.methods import make_explainer

    explainer = make_explainer(method, adapter, precision=precision, **BUDGETS.get(method, {}))
    t0 = time.perf_counter()
    results = explainer.explain_many(texts, random_state=0)
    return results, time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    from captum_ext.adapters.precision import cpu_has_native_bf16, resolve_precision
    from captum_ext.methods import get_method

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=50, help="tweets (default 50)")
    p.add_argument("--methods", default=DEFAULT_METHODS)
    p.add_argument(
        "--precisions",
        default=None,
        help="default: bf16 on a CPU (fp16 autocast on a CPU without fp16 units is 2-30x slower "
        "than fp32: measured, see docs/methods.md), bf16,fp16 on CUDA",
    )
    args = p.parse_args(argv)

    adapter = load_default_adapter()
    texts = sample_tweets(args.n, seed=15)
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    if args.precisions is None:
        args.precisions = "bf16,fp16" if adapter.device.type == "cuda" else "bf16"
    precisions = [q.strip() for q in args.precisions.split(",") if q.strip()]
    load = os.getloadavg()[0]
    print(
        f"{len(texts)} tweets, device {adapter.device}, native CPU bf16: {cpu_has_native_bf16()}, "
        f"load average {load:.2f} at start"
    )

    rows = occlusion_rows(adapter, texts)
    dps = {q: max_dp(adapter, rows, q) for q in precisions}
    print(
        f"max |Δp| over {len(rows)} rows (tweets + one-word occlusions): "
        + ", ".join(f"{q} {v:.4f}" for q, v in dps.items())
    )

    per_method: list[dict[str, Any]] = []
    for m in methods:
        family = get_method(m).family
        for q in ("fp32", *precisions):  # warm-up: first calls (allocations, oneDNN kernels)
            explain_all(adapter, m, texts[:1], q)
        ref, t32 = explain_all(adapter, m, texts, "fp32")
        for q in precisions:
            got, tq = explain_all(adapter, m, texts, q)
            jac = [jaccard(a.top_words(5), b.top_words(5)) for a, b in zip(ref, got, strict=True)]
            row = {
                "method": m,
                "family": family,
                "precision": q,
                "jaccard_top5": sum(jac) / len(jac),
                "min_jaccard_top5": min(jac),
                "seconds_fp32": t32,
                "seconds": tq,
                "speedup": t32 / tq if tq else float("nan"),
                "load_average_1m": os.getloadavg()[0],
            }
            per_method.append(row)
            # written after every method: a run stopped by its time limit keeps what it measured
            write_results(
                "bench_precision",
                {"n_tweets": len(texts), "budgets": BUDGETS, "max_dp": dps,
                 "methods": per_method, "partial": True},
            )  # fmt: skip
            print(
                f"{m:18s} {q}: top-5 Jaccard {row['jaccard_top5']:.3f} (min {row['min_jaccard_top5']:.2f}), "
                f"fp32 {t32:.1f} s, {q} {tq:.1f} s ({row['speedup']:.2f}x), "
                f"load {row['load_average_1m']:.2f}",
                flush=True,
            )

    families: list[dict[str, Any]] = []
    defaults: dict[str, str] = {}
    for fam in dict.fromkeys(r["family"] for r in per_method):
        chosen = "fp32"
        for q in precisions:
            rs = [r for r in per_method if r["family"] == fam and r["precision"] == q]
            jac = sum(r["jaccard_top5"] for r in rs) / len(rs)
            speed = sum(r["seconds_fp32"] for r in rs) / sum(r["seconds"] for r in rs)
            ok = jac >= JACCARD_MIN and dps[q] <= DP_MAX
            families.append(
                {
                    "family": fam,
                    "precision": q,
                    "jaccard_top5": jac,
                    "max_dp": dps[q],
                    "speedup": speed,
                    "passes_rule": ok,
                    "methods": [r["method"] for r in rs],
                }
            )
            if ok and speed >= SPEEDUP_MIN and chosen == "fp32":
                chosen = q
        defaults[fam] = chosen

    print("\n| family | precision | top-5 Jaccard vs fp32 | max abs(Δp) | speed vs fp32 | rule |")
    print("|---|---|---|---|---|---|")
    for f in families:
        print(
            f"| {f['family']} ({', '.join(f['methods'])}) | {f['precision']} | "
            f"{f['jaccard_top5']:.3f} | {f['max_dp']:.4f} | {f['speedup']:.2f}x | "
            f"{'passes' if f['passes_rule'] else 'fails'} |"
        )
    print(
        "\ndefault per family (passes the rule and is >= 1.5x fp32's speed here): "
        + ", ".join(f"{k}: {v}" for k, v in defaults.items())
    )
    print(
        f"('bf16' here means 'auto' in FAMILY_PRECISION: "
        f"auto resolves to {resolve_precision('auto', adapter.device)} on this machine)"
    )
    print(f"load average at end: {os.getloadavg()[0]:.2f}")
    write_results(
        "bench_precision",
        {
            "n_tweets": len(texts),
            "budgets": BUDGETS,
            "max_dp": dps,
            "methods": per_method,
            "families": families,
            "defaults": defaults,
            "rule": {"jaccard_min": JACCARD_MIN, "dp_max": DP_MAX, "speedup_min": SPEEDUP_MIN},
        },
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
