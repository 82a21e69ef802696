"""Adapter predictor: peak memory and speed on perturbed tweets vs. the seed study's naive predictor.

Acceptance (issue 3): 5,000 perturbed tweets in one ``predict_proba`` call stay under 1.5 GB peak
RSS with the default model. The naive predictor (one unbatched call that keeps gradients, as in
the seed study whose SP-LIME ran an 85 GB machine out of memory) is measured beside it at smaller
sizes, each in a fresh process with a memory cap.

    .venv/bin/python benchmarks/bench_adapter.py            # full: 5,000 texts
    .venv/bin/python benchmarks/bench_adapter.py --quick    # 1,000 texts
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import load_default_adapter, run_in_fresh_process, sample_tweets, write_results


def perturbed_texts(n: int, seed: int = 0) -> list[str]:
    """LIME-style perturbations: random word removals from real tweets (distinct strings)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    base = sample_tweets(50, seed=seed, min_words=8)
    out: set[str] = set()
    while len(out) < n:
        words = base[int(rng.integers(len(base)))].split()
        keep = rng.random(len(words)) > rng.uniform(0.1, 0.9)
        out.add(" ".join(w for w, k in zip(words, keep, strict=True) if k) or words[0])
    return sorted(out)[:n]


def ours(n: int) -> dict:
    import time

    adapter = load_default_adapter()
    texts = perturbed_texts(n)
    t0 = time.perf_counter()
    probs = adapter.predict_proba(texts)
    return {
        "n": n,
        "predict_seconds": time.perf_counter() - t0,
        "mean_p_pos": float(probs[:, 1].mean()),
    }


def naive(n: int) -> dict:
    """The seed study's predictor: all texts in one padded batch, gradients kept."""
    import time

    import torch

    from captum_ext.adapters.loading import default_model_dir, load_classifier

    torch.set_num_threads(2)
    model, tok = load_classifier(default_model_dir())
    texts = perturbed_texts(n)
    t0 = time.perf_counter()
    enc = tok(texts, padding=True, truncation=True, max_length=128, return_tensors="pt")
    probs = torch.softmax(model(**enc).logits, -1).detach().numpy()
    return {
        "n": n,
        "predict_seconds": time.perf_counter() - t0,
        "mean_p_pos": float(probs[:, 1].mean()),
    }


def _seconds(run: dict) -> float | None:
    return run["value"]["predict_seconds"] if run.get("ok") else None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="up to 1,000 texts instead of 5,000")
    args = ap.parse_args()
    sizes = [250, 1000] if args.quick else [500, 1000, 2000, 5000]
    naive_sizes = [250, 500] if args.quick else [500, 1000, 2000]
    n = sizes[-1]
    ours_runs = {}
    for m in sizes:
        print(f"ours: {m} perturbed tweets in one predict_proba call (fresh process)")
        ours_runs[m] = run_in_fresh_process(ours, m)
        print(ours_runs[m])
    naive_runs = {}
    for m in naive_sizes:
        print(f"naive predictor: {m} texts (fresh process, 16 GB cap)")
        naive_runs[m] = run_in_fresh_process(naive, m, memory_limit_gb=16)
        print(naive_runs[m])
    r_ours = ours_runs[n]
    ok = bool(r_ours.get("ok")) and r_ours["peak_rss_mb"] < 1536
    rows = []
    for m in sorted(set(sizes) | set(naive_sizes)):
        o, v = ours_runs.get(m, {}), naive_runs.get(m, {})
        row = {
            "n": m,
            "ours_peak_rss_mb": o.get("peak_rss_mb"),
            "ours_seconds": _seconds(o) if o else None,
            "naive_ok": v.get("ok") if v else None,
            "naive_peak_rss_mb": v.get("peak_rss_mb") if v.get("ok") else None,
            "naive_seconds": _seconds(v) if v else None,
            "naive_error": v.get("error") if v else None,
        }
        if row["ours_peak_rss_mb"] and row["naive_peak_rss_mb"]:
            row["memory_ratio_naive_over_ours"] = row["naive_peak_rss_mb"] / row["ours_peak_rss_mb"]
        if row["ours_seconds"] and row["naive_seconds"]:
            row["speed_ratio_naive_over_ours"] = row["naive_seconds"] / row["ours_seconds"]
        rows.append(row)
    peaks = [ours_runs[m]["peak_rss_mb"] for m in sizes if ours_runs[m].get("ok")]
    summary = {
        "n_texts": n,
        "ours_peak_rss_mb": r_ours.get("peak_rss_mb"),
        "ours_seconds": _seconds(r_ours),
        "target_peak_rss_mb": 1536,
        "meets_target": ok,
        "ours_peak_growth_mb": max(peaks) - min(peaks) if peaks else None,
        "by_size": rows,
    }
    write_results(
        "adapter",
        {
            "summary": summary,
            "ours_runs": {str(k): v for k, v in ours_runs.items()},
            "naive_runs": {str(k): v for k, v in naive_runs.items()},
        },
    )
    print()
    for r in rows:
        line = f"n={r['n']:>5}: ours "
        line += f"{r['ours_peak_rss_mb']:.0f} MB" if r["ours_peak_rss_mb"] else "-"
        if r["ours_seconds"]:
            line += f" {r['ours_seconds']:.1f} s"
        if r["naive_peak_rss_mb"]:
            line += f" | naive {r['naive_peak_rss_mb']:.0f} MB {r['naive_seconds']:.1f} s"
            line += f" | memory naive/ours {r['memory_ratio_naive_over_ours']:.1f}x"
            line += f", time naive/ours {r['speed_ratio_naive_over_ours']:.2f}x"
        elif r["naive_ok"] is False:
            line += f" | naive failed: {r['naive_error']}"
        print(line)
    print(
        f"ours: {n} texts, peak RSS {summary['ours_peak_rss_mb']:.0f} MB (target < 1536 MB): "
        f"{'OK' if ok else 'MISS'}; peak grows by {summary['ours_peak_growth_mb']:.0f} MB "
        f"from {sizes[0]} to {n} texts"
    )


if __name__ == "__main__":
    main()
