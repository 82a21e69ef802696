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

    from adapters.loading import default_model_dir, load_classifier

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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="1,000 texts instead of 5,000")
    args = ap.parse_args()
    n = 1000 if args.quick else 5000
    print(f"ours: {n} perturbed tweets in one call (fresh process)")
    r_ours = run_in_fresh_process(ours, n)
    print(r_ours)
    naive_runs = []
    for m in [250, 500] if args.quick else [500, 1000, 2000]:
        print(f"naive predictor: {m} texts (fresh process, 16 GB cap)")
        r = run_in_fresh_process(naive, m, memory_limit_gb=16)
        print(r)
        naive_runs.append(r)
    ok = r_ours.get("ok") and r_ours["peak_rss_mb"] < 1536
    summary = {
        "n_texts": n,
        "ours_peak_rss_mb": r_ours.get("peak_rss_mb"),
        "ours_seconds": r_ours.get("value", {}).get("predict_seconds"),
        "target_peak_rss_mb": 1536,
        "meets_target": bool(ok),
        "naive": [
            {
                "n": m["value"]["n"] if m.get("ok") else None,
                **{k: m.get(k) for k in ("ok", "peak_rss_mb", "error")},
                "seconds": m.get("value", {}).get("predict_seconds") if m.get("ok") else None,
            }
            for m in naive_runs
        ],
    }
    write_results("adapter", {"summary": summary, "ours": r_ours, "naive_runs": naive_runs})
    print(
        f"\nours: {n} texts, peak RSS {summary['ours_peak_rss_mb']:.0f} MB (target < 1536 MB): "
        f"{'OK' if ok else 'MISS'}; {summary['ours_seconds']:.1f} s"
    )
    for m in summary["naive"]:
        print(f"naive: {m}")


if __name__ == "__main__":
    main()
