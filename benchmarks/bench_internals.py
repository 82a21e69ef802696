"""Benchmarks of the model-internals tools on the fine-tuned default model (issue 7 acceptance).

Usage (run under the shared CPU lock; each part loads the model once)::

    flock /tmp/cpu.lock .venv/bin/python benchmarks/bench_internals.py heads
    flock /tmp/cpu.lock .venv/bin/python benchmarks/bench_internals.py probe
    flock /tmp/cpu.lock .venv/bin/python benchmarks/bench_internals.py behaviour
    flock /tmp/cpu.lock .venv/bin/python benchmarks/bench_internals.py attention

Targets: head importance of every head on 1,000 held-out tweets, gradient-based <= 60 s and
masking-based <= 10 min, with the pruning curve (does ~20% of heads go without hurting?);
the probing curve over all layers on 5,000 tweets <= 5 min with features computed once and cached;
the behavioural suite <= 2 min with per-test failure rates. Held-out tweets exclude the model's
fine-tuning tweets (rebuilt from its metrics.json). Results go to
``benchmarks/results/internals_<part>.json``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import load_default_adapter, write_results  # noqa: E402

SEED = 0


def _adapter(args: argparse.Namespace):
    import torch

    adapter = load_default_adapter()
    torch.set_num_threads(args.threads)  # load_default_adapter sets its own default
    return adapter


def _held_out(n: int, seed: int = SEED):
    from captum_ext.adapters.loading import default_model_dir
    from captum_ext.internals._data import held_out_dataset

    ds, note = held_out_dataset(None, default_model_dir())
    return ds.sample(n, seed=seed), note


def bench_heads(args: argparse.Namespace) -> dict:
    import pandas as pd

    from captum_ext.internals import (
        gradient_head_importance,
        masking_head_importance,
        normalize_by_layer,
        prunable_fraction,
        pruning_curve,
    )
    from captum_ext.internals.heads import HeadImportance, plot_pruning_curves

    pool, note = _held_out(args.n + args.n_eval)
    imp_set = pool.subset(np.arange(args.n))
    eval_set = pool.subset(np.arange(args.n, args.n + args.n_eval))
    adapter = _adapter(args)
    print(f"{note}; importance on {len(imp_set)}, pruning curve on {len(eval_set)} tweets")
    t0 = time.perf_counter()
    grad = gradient_head_importance(adapter, imp_set.texts, imp_set.labels, show_progress=True)
    t_grad = time.perf_counter() - t0
    print(f"gradient importance: {t_grad:.1f} s")
    t0 = time.perf_counter()
    loss_inc, acc_drop, base = masking_head_importance(
        adapter, imp_set.texts, imp_set.labels, show_progress=True
    )
    t_mask = time.perf_counter() - t0
    print(f"masking importance: {t_mask:.1f} s")
    imp = HeadImportance(grad, loss_inc, acc_drop, base, n_texts=len(imp_set))
    rc = imp.rank_correlation()
    print("rank correlation gradient vs masking:", rc)
    fractions = np.linspace(0, 1, 11)
    curves = []
    for name, scores, rs in (
        ("gradient", normalize_by_layer(grad), None),
        ("masking", loss_inc, None),
        ("random", grad, SEED),
    ):
        t0 = time.perf_counter()
        c = pruning_curve(
            adapter,
            scores,
            eval_set.texts,
            eval_set.labels,
            fractions=fractions,
            random_state=rs,
            show_progress=True,
        ).assign(ranking=name)
        print(f"pruning curve ({name}): {time.perf_counter() - t0:.1f} s")
        print(c[["fraction", "n_masked", "accuracy", "loss"]].to_string(index=False))
        curves.append(c)
    curve = pd.concat(curves, ignore_index=True)
    out = Path(__file__).resolve().parent / "results"
    out.mkdir(exist_ok=True)
    plot_pruning_curves(curve, out / "internals_pruning_curve.png")
    imp.plot(out / "internals_head_importance.png")
    return {
        "note": note,
        "n_importance": len(imp_set),
        "n_eval": len(eval_set),
        "n_heads": int(grad.size),
        "seconds": {"gradient": t_grad, "masking": t_mask},
        "targets": {"gradient_s": 60, "masking_s": 600},
        "base": base,
        "rank_correlation": rc,
        "prunable_within_1pt": prunable_fraction(curve, 0.01),
        "prunable_within_2pt": prunable_fraction(curve, 0.02),
        "pruning_curve": curve.to_dict(orient="records"),
        "importance": imp.to_dict(),
    }


def bench_probe(args: argparse.Namespace) -> dict:
    from captum_ext.internals import probe

    ds, note = _held_out(args.n_probe)
    adapter = _adapter(args)
    with tempfile.TemporaryDirectory() as cache:  # a cold cache: the first run computes
        t0 = time.perf_counter()
        first = probe(adapter, ds.texts, ds.labels, cache=cache, show_progress=True)
        t_first = time.perf_counter() - t0
        t0 = time.perf_counter()
        second = probe(adapter, ds.texts, ds.labels, cache=cache, show_progress=False)
        t_second = time.perf_counter() - t0
    assert second.features_info["cache"] == "hit"
    assert second.frame.equals(first.frame)
    print(f"probe on {len(ds)} tweets: {t_first:.1f} s cold, {t_second:.1f} s cached")
    print(first.frame.round(3).to_string(index=False))
    out = Path(__file__).resolve().parent / "results"
    out.mkdir(exist_ok=True)
    first.plot(out / "internals_probes.png")
    return {
        "note": note,
        "n": len(ds),
        "seconds": {
            "cold_total": t_first,
            "cold_features": first.seconds["features"],
            "cold_probes": first.seconds["probes"],
            "cached_total": t_second,
        },
        "target_s": 300,
        "cache": [first.features_info["cache"], second.features_info["cache"]],
        "best": first.best_layers().to_dict(orient="records"),
        "layers": first.frame.to_dict(orient="records"),
    }


def bench_behaviour(args: argparse.Namespace) -> dict:
    from captum_ext.behaviour import default_suite, run_suite

    adapter = _adapter(args)
    suite = default_suite(random_state=SEED)
    t0 = time.perf_counter()
    res = run_suite(adapter, suite, explain="ig", show_progress=True)
    total = time.perf_counter() - t0
    out = Path(__file__).resolve().parent / "results" / "internals_behaviour"
    res.save(out)
    s = res.summary()
    print(f"behavioural suite: {res.n_cases} cases in {total:.1f} s ({res.seconds})")
    print(s[["test", "type", "n_cases", "n_failures", "failure_rate"]].to_string(index=False))
    print(res.failures()[["id", "explained_text", "top_words"]].head(15).to_string(index=False))
    return {
        "n_cases": res.n_cases,
        "n_failures": int(s["n_failures"].sum()),
        "seconds": {"total": total, **res.seconds},
        "target_s": 120,
        "failure_rates": s[["test", "capability", "type", "n_cases", "failure_rate"]].to_dict(
            orient="records"
        ),
        "example_failures": res.failures().head(20).to_dict(orient="records"),
    }


def bench_attention(args: argparse.Namespace) -> dict:
    from captum_ext.data.examples import EXAMPLE_TWEETS
    from captum_ext.internals import attention_maps

    adapter = _adapter(args)
    out = Path(__file__).resolve().parent / "results" / "internals_attention"
    rows = []
    for i, text in enumerate(EXAMPLE_TWEETS):
        t0 = time.perf_counter()
        maps = attention_maps(adapter, text)
        t_maps = time.perf_counter() - t0
        t0 = time.perf_counter()
        maps.save(out / f"tweet{i + 1}")
        rows.append(
            {
                "tweet": i + 1,
                "tokens": len(maps.tokens),
                "shape": list(maps.weights.shape),
                "max_row_sum_error": float(np.abs(maps.weights.sum(-1) - 1).max()),
                "seconds_maps": t_maps,
                "seconds_files": time.perf_counter() - t0,
            }
        )
        print(rows[-1])
    return {"tweets": rows}


PARTS = {
    "heads": bench_heads,
    "probe": bench_probe,
    "behaviour": bench_behaviour,
    "attention": bench_attention,
}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("part", choices=[*PARTS, "all"])
    p.add_argument("--n", type=int, default=1000, help="tweets for head importance")
    p.add_argument("--n-eval", type=int, default=2000, help="held-out tweets for pruning")
    p.add_argument("--n-probe", type=int, default=5000, help="tweets for the probes")
    p.add_argument("--threads", type=int, default=2, help="torch threads (at most 2 here)")
    args = p.parse_args()
    parts = list(PARTS) if args.part == "all" else [args.part]
    for part in parts:
        payload = PARTS[part](args)
        write_results(f"internals_{part}", {"threads": args.threads, **payload})


if __name__ == "__main__":
    main()
