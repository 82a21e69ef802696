"""TextLime vs. official LIME on the same model and tweets: agreement, speed, stability, SP-LIME.

Sections (``--sections``, comma-separated; default all):

- ``agreement``: top-5 words (by |weight|, LIME's ``as_list`` order) of TextLime in
  LIME-compatible mode vs. official ``LimeTextExplainer`` (seed 0) at 5,000 samples, mean Jaccard
  over >= 20 tweets: ``compat`` (official's draws, same seed: an identity check),
  ``compat-seed1`` (official's draws, another seed), ``compat-kernel`` (our sampler and GREG
  estimator); also official vs. itself with another seed (the noise ceiling).
- ``speed``: wall time at 1,000 and 5,000 samples of official LIME (adapter predictor and a
  plain batched predictor) and TextLime, with the time spent inside the model for each
  (``--full``: 5 tweets).
- ``naive``: official LIME with the seed study's naive predictor (one unbatched call keeping
  gradients) in a fresh, memory-capped process at small sizes, extrapolated linearly.
- ``stability``: the smallest n_samples at which the top-5 words agree across 10 seeds (mean
  pairwise Jaccard >= 0.9), official vs. TextLime, and the wall time of one explanation at that
  size (time to a stable explanation). ``--full``: 20 tweets of 8 to 12 distinct LIME words, so
  that the row cache bounds the model's work by 2^12 distinct texts a tweet (longer tweets make
  the search over 10 seeds x the sample grid cost hours of model time on this CPU). The model
  rows of that explanation are recorded too (the load-independent part of its time).
  ``--decide-sampler``: this section on the ``lime`` defaults with the kernel sampler and with
  official LIME's draws (both within official LIME's distinct rows, ``row_budget="official"``)
  and without the budget; it prints which sampler reaches a stable top-5 first, the figure that
  decides ``TextLime``'s default ``sampler`` (issue 15).
- ``sp``: SP-LIME on 2,000 tweets (sample_size=20, num_features=10, 5,000 samples) in a fresh
  process: peak RSS and time; ``method="full"`` time at three sizes (``--full``: 20, 40 and 80
  tweets at 500 samples) for linearity.

Run the heavy settings under the CPU lock; the default is a short smoke run:

    .venv/bin/python benchmarks/bench_text_lime.py --quick
    flock /tmp/cpu.lock .venv/bin/python benchmarks/bench_text_lime.py --full
    flock /tmp/cpu.lock .venv/bin/python benchmarks/bench_text_lime.py --full --sections sp
    flock /tmp/cpu.lock .venv/bin/python benchmarks/bench_text_lime.py --full --decide-sampler

Results: ``benchmarks/results/bench_text_lime_<section>.json``.
"""

from __future__ import annotations

import argparse
import itertools
import os
import re
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import run_in_fresh_process, sample_tweets, write_results

SECTIONS = ("agreement", "speed", "naive", "stability", "sp")


# -- set-up ---------------------------------------------------------------------------------------
def load_adapter(base: bool = False, model: str | None = None):
    import torch

    from captum_ext.adapters import TextClassifierAdapter
    from captum_ext.adapters.loading import default_model_dir, new_classifier_from_encoder

    torch.set_num_threads(2)
    if model:
        return TextClassifierAdapter.from_pretrained(model), model
    if base or not default_model_dir().is_dir():
        if not base:
            print("no default model: using the base encoder with a random head (same cost)")
        model, tok = new_classifier_from_encoder(seed=0)
        return TextClassifierAdapter(model.eval(), tok), "base encoder + random head"
    return TextClassifierAdapter.from_pretrained(None), str(default_model_dir())


def lime_feature_count(text: str) -> int:
    """Distinct official-LIME words (``\\W+`` split, ``bow=True``)."""
    return len({t for t in re.split(r"\W+", text) if t})


def pick_tweets(
    n: int, min_features: int, seed: int = 0, max_features: int | None = None
) -> list[str]:
    """``n`` Sentiment140 tweets with ``min_features`` to ``max_features`` distinct LIME words."""
    pool = sample_tweets(n * 8, seed=seed, min_words=min_features)
    top = max_features or 10**9
    out = [t for t in pool if min_features <= lime_feature_count(t) <= top]
    if len(out) < n:
        raise SystemExit(f"only {len(out)} tweets with {min_features}..{top} LIME words")
    return out[:n]


def top_set(pairs: list[tuple[str, float]], k: int = 5) -> frozenset[str]:
    """The k feature names with the largest |weight| (pairs already in that order)."""
    return frozenset(name for name, _ in pairs[:k])


def jaccard(a: frozenset, b: frozenset) -> float:
    return len(a & b) / len(a | b) if a | b else 1.0


def mean_pairwise_jaccard(sets: list[frozenset]) -> float:
    return statistics.fmean(jaccard(a, b) for a, b in itertools.combinations(sets, 2))


class ForwardMeter:
    """Wraps ``adapter.predict_ids`` (every model call of TextLime and of official LIME through
    ``predict_proba``): seconds and rows inside the model; with ``cache`` identical rows are
    evaluated once across explanations (only for sections that count samples, not seconds)."""

    def __init__(self, adapter: Any, cache: bool = False) -> None:
        self.adapter = adapter
        self.cache: dict[tuple, Any] | None = {} if cache else None
        self.seconds = 0.0
        self.rows = 0

    def __enter__(self) -> ForwardMeter:
        import numpy as np

        original = self.adapter.predict_ids

        def predict_ids(rows, *, output="probs", show_progress=False):
            t0 = time.perf_counter()
            if self.cache is None:
                out = original(rows, output=output, show_progress=show_progress)
                self.rows += len(rows)
            else:
                keys = [(output, *map(int, r)) for r in rows]
                missing = list({k: None for k in keys if k not in self.cache})
                if missing:
                    preds = original([list(k[1:]) for k in missing], output=output)
                    self.cache.update(zip(missing, preds, strict=True))
                    self.rows += len(missing)
                out = np.stack([self.cache[k] for k in keys])
            self.seconds += time.perf_counter() - t0
            return out

        self.adapter.predict_ids = predict_ids
        return self

    def __exit__(self, *exc: Any) -> None:
        del self.adapter.predict_ids  # back to the class's method

    def reset(self) -> None:
        self.seconds, self.rows = 0.0, 0


def official_pairs(adapter, text, n, seed, target, classifier_fn=None):
    from lime.lime_text import LimeTextExplainer

    exp = LimeTextExplainer(class_names=list(adapter.labels), random_state=seed).explain_instance(
        text,
        classifier_fn or adapter.predict_proba,
        labels=(target,),
        num_features=10_000,
        num_samples=n,
    )
    return exp.as_list(label=target)


def ours_pairs(lime, adapter, text, n, seed, target):
    result, _ = lime.explain_encoding(adapter.encode(text), target, n_samples=n, random_state=seed)
    return result.ranked_features(), result


def configs(adapter) -> dict[str, Any]:
    from captum_ext.attr import TextLime

    return {
        # LIME-compatible features/estimand with official LIME's own draws
        "compat": TextLime.lime_compatible(adapter),
        # LIME-compatible features/estimand, our low-variance sampler and GREG estimator: the
        # "fewer samples" mode
        "compat-kernel": TextLime.lime_compatible(adapter, sampler="kernel", estimator="greg"),
        # ablation: the sampler alone (ordinary fit)
        "compat-kernel-direct": TextLime.lime_compatible(adapter, sampler="kernel"),
        # the `lime` method's defaults: the adapter's words (punctuation too), positional, kernel
        # sampler within official LIME's distinct rows at equal n_samples (row_budget="official")
        "default": TextLime(adapter),
        # the `lime` defaults with official LIME's draw distribution instead of the kernel
        # sampler, within the same row budget (issue 15: the sampler's default is decided by the
        # time to a stable top-5 of these two, see --decide-sampler)
        "default-lime-draws": TextLime(adapter, sampler="lime"),
        # the previous default: the kernel sampler without the row budget (n_samples draws,
        # more distinct rows than official LIME at equal n_samples)
        "default-unbudgeted": TextLime(adapter, row_budget=None),
        # the fewer-samples mode on log-odds (not squashed by a saturated model)
        "compat-kernel-logodds": TextLime.lime_compatible(
            adapter, sampler="kernel", estimator="greg", output="log_odds"
        ),
    }


def target_of(adapter, text) -> int:
    import numpy as np

    return int(np.argmax(adapter.predict_proba([text])[0]))


def warm_up(adapter) -> None:
    """Import and first-call costs (sklearn, lime, torch kernels) outside the timings."""
    text = "warming up the model and the libraries once"
    official_pairs(adapter, text, 50, 0, 1)
    for lime in configs(adapter).values():
        ours_pairs(lime, adapter, text, 50, 0, 1)


# -- sections -------------------------------------------------------------------------------------
def section_agreement(args, adapter, model_name) -> dict:
    n = args.agreement_samples
    tweets = pick_tweets(args.n_tweets, args.min_features, seed=args.seed)
    lime = configs(adapter)
    rows = []
    with ForwardMeter(adapter, cache=True):
        for i, text in enumerate(tweets):
            target = target_of(adapter, text)
            ref = top_set(official_pairs(adapter, text, n, 0, target))
            row = {"text": text, "target": target, "official": sorted(ref)}
            row["official_seed1"] = jaccard(
                ref, top_set(official_pairs(adapter, text, n, 1, target))
            )
            for name in args.agreement_configs:
                # "compat-seed1": official's draws with another seed than the reference, so the
                # agreement is not an identity (compare with official_seed1, official vs itself)
                config, seed = (name[: -len("-seed1")], 1) if name.endswith("-seed1") else (name, 0)
                pairs, _ = ours_pairs(lime[config], adapter, text, n, seed, target)
                row[name] = jaccard(ref, top_set(pairs))
            rows.append(row)
            print(
                f"[agreement {i + 1}/{len(tweets)}] official-vs-seed1 {row['official_seed1']:.2f} "
                + " ".join(f"{k} {row[k]:.2f}" for k in args.agreement_configs),
                flush=True,
            )
    summary = {
        k: statistics.fmean(r[k] for r in rows) for k in ("official_seed1", *args.agreement_configs)
    }
    print(
        "agreement (mean top-5 Jaccard with official LIME, seed 0, "
        f"{n} samples, {len(rows)} tweets): "
        + ", ".join(f"{k} {v:.3f}" for k, v in summary.items())
    )
    return {
        "model": model_name,
        "n_samples": n,
        "n_tweets": len(rows),
        "min_lime_words": args.min_features,
        "mean_jaccard": summary,
        "acceptance": {
            f"{k} >= 0.8": summary[k] >= 0.8
            for k in ("compat-seed1", "compat-kernel")
            if k in summary
        },
        "tweets": rows,
    }


def plain_batched(adapter, batch_size: int = 64):
    """A plain batched predictor: tokenise, pad each batch of 64 in input order, no sorting or
    de-duplication, inference mode (what "official LIME with a batched predictor" usually means)."""
    import numpy as np
    import torch

    def predict(texts):
        out = []
        with torch.inference_mode():
            for start in range(0, len(texts), batch_size):
                enc = adapter.tokenizer(
                    list(texts[start : start + batch_size]),
                    padding=True,
                    truncation=True,
                    max_length=adapter.max_length,
                    return_tensors="pt",
                )
                logits = adapter.model(**enc).logits
                out.append(torch.softmax(logits, -1).numpy())
        return np.concatenate(out).astype(np.float64)

    return predict


def section_speed(args, adapter, model_name) -> dict:
    tweets = pick_tweets(args.speed_tweets, args.min_features, seed=args.seed + 1)
    lime = configs(adapter)
    plain = plain_batched(adapter)
    result: dict[str, Any] = {"model": model_name, "n_tweets": len(tweets), "by_n_samples": {}}
    for n in args.speed_samples:
        tot: dict[str, dict[str, float]] = {}

        def add(name, wall, fwd, rows, tot=tot):
            t = tot.setdefault(name, {"wall": 0.0, "forward": 0.0, "rows": 0})
            t["wall"] += wall
            t["forward"] += fwd
            t["rows"] += rows

        for i, text in enumerate(tweets):
            target = target_of(adapter, text)
            with ForwardMeter(adapter) as meter:
                t0 = time.perf_counter()
                official_pairs(adapter, text, n, 0, target)
                add("official+adapter", time.perf_counter() - t0, meter.seconds, meter.rows)
            calls = {"seconds": 0.0, "rows": 0}

            def timed_plain(texts, calls=calls):
                t0 = time.perf_counter()
                out = plain(texts)
                calls["seconds"] += time.perf_counter() - t0
                calls["rows"] += len(texts)
                return out

            t0 = time.perf_counter()
            official_pairs(adapter, text, n, 0, target, classifier_fn=timed_plain)
            add("official+plain", time.perf_counter() - t0, calls["seconds"], calls["rows"])
            for name in ("compat", "compat-kernel", "default"):
                with ForwardMeter(adapter) as meter:
                    t0 = time.perf_counter()
                    ours_pairs(lime[name], adapter, text, n, 0, target)
                    add(name, time.perf_counter() - t0, meter.seconds, meter.rows)
            print(f"[speed n={n} {i + 1}/{len(tweets)}]", flush=True)
        per = {
            k: {
                "wall_per_tweet": v["wall"] / len(tweets),
                "forward_per_tweet": v["forward"] / len(tweets),
                "rows_per_tweet": v["rows"] / len(tweets),
                "wall_over_forward": v["wall"] / v["forward"],
            }
            for k, v in tot.items()
        }
        off = per["official+adapter"]["wall_per_tweet"]
        for k in per:
            per[k]["official_adapter_over_this"] = off / per[k]["wall_per_tweet"]
            per[k]["official_plain_over_this"] = (
                per["official+plain"]["wall_per_tweet"] / per[k]["wall_per_tweet"]
            )
        result["by_n_samples"][str(n)] = per
        print(f"speed at {n} samples ({len(tweets)} tweets):")
        for k, v in per.items():
            print(
                f"  {k:17s} wall {v['wall_per_tweet']:6.2f} s  forward {v['forward_per_tweet']:6.2f} s"
                f"  wall/forward {v['wall_over_forward']:.3f}  rows {v['rows_per_tweet']:7.1f}"
                f"  official+adapter/this {v['official_adapter_over_this']:.2f}x"
                f"  official+plain/this {v['official_plain_over_this']:.2f}x"
            )
    return result


def naive_official(n_samples: int, text: str) -> dict:
    """Official LIME with the seed study's predictor: every perturbed text in one padded batch,
    gradients kept (no inference mode), in this (fresh) process."""
    import torch

    from captum_ext.adapters.loading import (
        default_model_dir,
        load_classifier,
        new_classifier_from_encoder,
    )

    torch.set_num_threads(2)
    if os.environ.get("BENCH_MODEL") or default_model_dir().is_dir():
        model, tok = load_classifier(os.environ.get("BENCH_MODEL") or default_model_dir())
    else:
        model, tok = new_classifier_from_encoder(seed=0)
    model.eval()

    def predict(texts):
        enc = tok(list(texts), padding=True, truncation=True, max_length=128, return_tensors="pt")
        return torch.softmax(model(**enc).logits, -1).detach().numpy()

    from lime.lime_text import LimeTextExplainer

    t0 = time.perf_counter()
    LimeTextExplainer(random_state=0).explain_instance(
        text, predict, labels=(1,), num_samples=n_samples
    )
    return {"explain_seconds": time.perf_counter() - t0}


def section_naive(args, adapter, model_name) -> dict:
    import numpy as np

    os.environ["BENCH_MODEL"] = args.model or ""
    text = pick_tweets(1, args.min_features, seed=args.seed + 2)[0]
    rows = []
    for n in args.naive_samples:
        r = run_in_fresh_process(naive_official, n, text, memory_limit_gb=args.naive_memory_gb)
        row = {
            "n_samples": n,
            "ok": r["ok"],
            "peak_rss_mb": r.get("peak_rss_mb"),
            "explain_seconds": r.get("value", {}).get("explain_seconds") if r["ok"] else None,
            "error": r.get("error"),
        }
        rows.append(row)
        print(f"[naive] n={n}: {row}", flush=True)
    ok = [r for r in rows if r["ok"]]
    extrapolated = {}
    if len(ok) >= 2:
        xs = np.array([r["n_samples"] for r in ok], float)
        for key in ("peak_rss_mb", "explain_seconds"):
            slope, intercept = np.polyfit(xs, np.array([r[key] for r in ok], float), 1)
            extrapolated[key] = {str(n): float(intercept + slope * n) for n in (1000, 5000)} | {
                "per_sample": float(slope)
            }
    print(f"naive predictor extrapolated: {extrapolated}")
    return {"model": model_name, "text": text, "runs": rows, "extrapolated": extrapolated}


def stable_n(run, grid, seeds, threshold=0.9) -> tuple[int | None, dict[str, float]]:
    """Smallest n in ``grid`` whose top-5 sets over ``seeds`` have mean pairwise Jaccard >= 0.9."""
    curve = {}
    for n in grid:
        j = mean_pairwise_jaccard([top_set(run(n, s)) for s in seeds])
        curve[str(n)] = j
        if j >= threshold:
            return n, curve
    return None, curve


def section_stability(args, adapter, model_name) -> dict:
    tweets = pick_tweets(
        args.stability_tweets, args.min_features, seed=args.seed, max_features=args.max_features
    )
    lime = configs(adapter)
    seeds = list(range(10))
    grid = args.stability_grid
    rows = []
    for i, text in enumerate(tweets):
        target = target_of(adapter, text)
        row: dict[str, Any] = {"text": text, "target": target}
        with ForwardMeter(adapter, cache=True):
            n_off, curve_off = stable_n(
                lambda n, s, text=text, target=target: official_pairs(adapter, text, n, s, target),
                grid,
                seeds,
            )
            found = {}
            for name in args.stability_configs:
                found[name] = stable_n(
                    lambda n, s, text=text, target=target, name=name: ours_pairs(
                        lime[name], adapter, text, n, s, target
                    )[0],
                    grid,
                    seeds,
                )
        row.update(official_n=n_off, official_curve=curve_off)
        # time to a stable explanation: one uncached explanation at each method's stable size
        # (the model rows it evaluates are the load-independent part of that time)
        with ForwardMeter(adapter) as meter:
            t0 = time.perf_counter()
            official_pairs(adapter, text, n_off or grid[-1], 100, target)
            row["official_seconds"] = time.perf_counter() - t0
        row["official_rows"] = meter.rows
        line = f"[stability {i + 1}/{len(tweets)}] official n*={n_off} ({row['official_seconds']:.1f} s)"
        for name, (n_ours, curve) in found.items():
            with ForwardMeter(adapter) as meter:
                t0 = time.perf_counter()
                ours_pairs(lime[name], adapter, text, n_ours or grid[-1], 100, target)
                seconds = time.perf_counter() - t0
            row[name] = {"n": n_ours, "curve": curve, "seconds": seconds, "rows": meter.rows}
            line += f"  {name} n*={n_ours} ({seconds:.1f} s)"
        rows.append(row)
        print(line, flush=True)
    cap = grid[-1]
    off_ns = [r["official_n"] or 2 * cap for r in rows]  # not stable within the grid: > cap
    off_sec = statistics.fmean(r["official_seconds"] for r in rows)
    off_rows = statistics.fmean(r["official_rows"] for r in rows)
    summary: dict[str, Any] = {
        "official_mean_rows": off_rows,
        "official_mean_n": statistics.fmean(off_ns),
        "official_median_n": statistics.median(off_ns),
        "official_unstable_at_cap": sum(r["official_n"] is None for r in rows),
        "official_mean_seconds": off_sec,
    }
    for name in args.stability_configs:
        ns = [r[name]["n"] or 2 * cap for r in rows]
        sec = statistics.fmean(r[name]["seconds"] for r in rows)
        mean_rows = statistics.fmean(r[name]["rows"] for r in rows)
        s = {
            "mean_n": statistics.fmean(ns),
            "median_n": statistics.median(ns),
            "unstable_at_cap": sum(r[name]["n"] is None for r in rows),
            "ratio_mean_n_over_official": statistics.fmean(ns) / statistics.fmean(off_ns),
            "ratio_median_n_over_official": statistics.median(ns) / statistics.median(off_ns),
            "tweets_with_n_at_most_quarter": sum(
                o / 4 >= n for o, n in zip(off_ns, ns, strict=True)
            ),
            "mean_seconds": sec,
            "time_speedup": off_sec / sec,
            "mean_rows": mean_rows,
            "rows_speedup": off_rows / mean_rows,
        }
        s["acceptance"] = {
            "samples <= 1/4 official (mean)": s["ratio_mean_n_over_official"] <= 0.25,
            "time-to-stable >= 4x": s["time_speedup"] >= 4,
            "time-to-stable >= 2x (issue 15)": s["time_speedup"] >= 2,
        }
        summary[name] = s
        print(
            f"stability, {name} vs official over {len(rows)} tweets (10 seeds, Jaccard >= 0.9; "
            f"unstable within {cap} counted as {2 * cap}): official mean n* "
            f"{summary['official_mean_n']:.0f} (median {summary['official_median_n']}), "
            f"ours {s['mean_n']:.0f} (median {s['median_n']}): ratio "
            f"{s['ratio_mean_n_over_official']:.3f}; time to stable official {off_sec:.2f} s, "
            f"ours {sec:.2f} s = {s['time_speedup']:.1f}x; model rows to stable official "
            f"{off_rows:.0f}, ours {mean_rows:.0f} = {s['rows_speedup']:.1f}x"
        )
    candidates = [c for c in ("default", "default-lime-draws") if c in args.stability_configs]
    if len(candidates) == 2:
        # issue 15: the sampler default is the one with the shorter time to a stable top-5
        # (seconds, and the model rows behind them, which do not depend on the load)
        best = max(candidates, key=lambda c: summary[c]["time_speedup"])
        by_rows = max(candidates, key=lambda c: summary[c]["rows_speedup"])
        summary["sampler_decision"] = {
            "by_seconds": "kernel" if best == "default" else "lime",
            "by_rows": "kernel" if by_rows == "default" else "lime",
            "load_average_1m": os.getloadavg()[0],
        }
        print(
            "sampler default by time to a stable top-5 (row budget 'official' for both): "
            f"{summary['sampler_decision']['by_seconds']} by seconds, "
            f"{summary['sampler_decision']['by_rows']} by model rows "
            f"(load average {summary['sampler_decision']['load_average_1m']:.1f})"
        )
    return {
        "model": model_name,
        "grid": grid,
        "seeds": len(seeds),
        "lime_words_per_tweet": [args.min_features, args.max_features],
        "n_tweets": len(rows),
        "ours_configs": {
            "default": "TextLime(adapter): kernel sampler, row_budget='official'",
            "default-lime-draws": "TextLime(adapter, sampler='lime'): official's draws, same budget",
            "default-unbudgeted": "TextLime(adapter, row_budget=None): the previous default",
            "compat-kernel": "TextLime.lime_compatible(adapter, sampler='kernel', estimator='greg')",
            "compat-kernel-direct": "TextLime.lime_compatible(adapter, sampler='kernel')",
            "compat-kernel-logodds": "... sampler='kernel', estimator='greg', output='log_odds'",
        },
        "summary": summary,
        "tweets": rows,
    }


def sp_run(n_tweets: int, method: str, sample_size: int, n_samples: int, seed: int, store) -> dict:
    """SP-LIME with TextLime (the ``captum-ext pick`` configuration), in this process."""
    import torch

    from captum_ext.attr import SubmodularPick, TextLime

    torch.set_num_threads(2)
    adapter, _ = load_adapter(
        base=os.environ.get("BENCH_BASE") == "1", model=os.environ.get("BENCH_MODEL") or None
    )
    texts = sample_tweets(n_tweets, seed=seed, min_words=1)
    lime = TextLime(
        adapter,
        units="lime",
        bow=True,
        feature_selection="auto",
        num_features=10,
        random_state=seed,
    )
    t0 = time.perf_counter()
    sp = SubmodularPick(
        lime, texts, method=method, sample_size=sample_size, num_exps_desired=5,
        num_features=10, n_samples=n_samples, random_state=seed, store=store,
    )  # fmt: skip
    return {
        "seconds": time.perf_counter() - t0,
        "n_texts": len(texts),
        "n_explained": len(sp.explanations),
        "n_features": int(sp.W.shape[1]),
        "picked": [{"text": e.text, "top": e.top_words(5)} for e in sp.sp_explanations],
        "model_rows": adapter.n_forward_rows,
    }


def sp_linearity(sizes: list[int], n_samples: int, seed: int) -> dict:
    sp_run(2, "full", 2, n_samples, seed + 1, None)  # warm-up: imports, first forward passes
    out = {}
    for n in sizes:
        r = sp_run(n, "full", n, n_samples, seed, None)
        out[str(n)] = r["seconds"]
        print(f"[sp full] {n} tweets: {r['seconds']:.1f} s", flush=True)
    return out


def section_sp(args, adapter, model_name) -> dict:
    import numpy as np

    os.environ["BENCH_BASE"] = "1" if args.base else "0"
    os.environ["BENCH_MODEL"] = args.model or ""
    out: dict[str, Any] = {"model": model_name}
    Path(args.out_dir).mkdir(parents=True, exist_ok=True)
    store = Path(args.out_dir) / "bench_text_lime_sp_store.jsonl"
    if store.exists():
        store.unlink()
    r = run_in_fresh_process(
        sp_run, args.sp_n, "sample", args.sp_sample_size, args.sp_samples, args.seed, str(store)
    )
    out["acceptance_run"] = {
        "n_tweets": args.sp_n,
        "sample_size": args.sp_sample_size,
        "num_features": 10,
        "n_samples": args.sp_samples,
        "ok": r["ok"],
        "peak_rss_mb": r.get("peak_rss_mb"),
        "error": r.get("error"),
        **(r.get("value") or {}),
    }
    print(
        f"SP-LIME {args.sp_n} tweets, sample_size={args.sp_sample_size}, {args.sp_samples} "
        f"samples: ok={r['ok']} peak RSS {r.get('peak_rss_mb', float('nan')):.0f} MB, "
        f"{(r.get('value') or {}).get('seconds', float('nan')):.1f} s",
        flush=True,
    )
    lin = run_in_fresh_process(sp_linearity, args.sp_sizes, args.sp_full_samples, args.seed)
    if lin["ok"]:
        sizes = np.array([int(k) for k in lin["value"]], float)
        secs = np.array(list(lin["value"].values()), float)
        slope, intercept = np.polyfit(sizes, secs, 1)
        pred = intercept + slope * sizes
        r2 = 1 - float(np.sum((secs - pred) ** 2) / np.sum((secs - secs.mean()) ** 2))
        out["full_linearity"] = {
            "n_samples": args.sp_full_samples,
            "seconds": lin["value"],
            "seconds_per_tweet": {k: v / int(k) for k, v in lin["value"].items()},
            "linear_fit": {"slope_s_per_tweet": slope, "intercept_s": intercept, "r2": r2},
            "peak_rss_mb": lin["peak_rss_mb"],
        }
        print(f"SP-LIME method=full: {out['full_linearity']}")
    else:
        out["full_linearity"] = {"ok": False, "error": lin.get("error")}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="a short smoke run (default)")
    size.add_argument("--full", action="store_true", help="the acceptance settings (long)")
    parser.add_argument("--sections", default=",".join(SECTIONS), help="comma-separated")
    parser.add_argument("--base", action="store_true", help="base encoder with a random head")
    parser.add_argument("--model", help="a checkpoint directory instead of the default model")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--min-features", type=int, default=8, help="LIME words per tweet (8)")
    parser.add_argument("--n-tweets", type=int, help="agreement tweets")
    parser.add_argument("--stability-tweets", type=int)
    parser.add_argument(
        "--max-features",
        type=int,
        help="stability: at most this many LIME words per tweet (full: 12; the row cache then "
        "bounds the model's work by 2^12 distinct texts a tweet)",
    )
    parser.add_argument("--speed-tweets", type=int)
    parser.add_argument(
        "--stability-configs",
        help="comma-separated configurations for the stability section (default: full "
        "compat-kernel,compat-kernel-direct,compat-kernel-logodds; quick compat-kernel)",
    )
    parser.add_argument(
        "--decide-sampler",
        action="store_true",
        help="the stability section on the lime defaults with the kernel sampler, with official "
        "LIME's draws (both within official's distinct rows) and without the row budget: "
        "prints which sampler reaches a stable top-5 first (issue 15)",
    )
    parser.add_argument("--sp-n", type=int, help="tweets of the SP-LIME acceptance run")
    parser.add_argument("--sp-samples", type=int, help="samples per SP-LIME explanation")
    parser.add_argument("--sp-sizes", help="comma-separated sizes for method=full")
    parser.add_argument("--sp-full-samples", type=int, help="samples per explanation, method=full")
    parser.add_argument(
        "--out-dir",
        default=str(Path(__file__).resolve().parent / "results"),
        help="where the SP-LIME store goes (results JSON: benchmarks/results)",
    )
    args = parser.parse_args()
    full = args.full
    defaults = {
        "n_tweets": 20 if full else 3,
        "stability_tweets": 20 if full else 2,
        "speed_tweets": 5 if full else 2,
        "sp_n": 2000 if full else 100,
        "sp_samples": 5000 if full else 300,
        "sp_full_samples": 500 if full else 100,
        "max_features": 12 if full else None,
    }
    for k, v in defaults.items():
        if getattr(args, k) is None:
            setattr(args, k, v)
    args.sp_sample_size = 20 if full else 5
    args.sp_sizes = (
        [int(x) for x in args.sp_sizes.split(",")] if args.sp_sizes else
        ([20, 40, 80] if full else [4, 8, 16])
    )  # fmt: skip
    args.agreement_samples = 5000 if full else 500
    args.agreement_configs = (
        ["compat", "compat-seed1", "compat-kernel"]
        if full
        else ["compat", "compat-seed1", "compat-kernel", "default"]
    )
    args.speed_samples = [1000, 5000] if full else [300]
    args.naive_samples = [100, 200, 400] if full else [50, 100]
    args.naive_memory_gb = 8.0
    if args.decide_sampler:
        args.stability_configs = "default,default-lime-draws,default-unbudgeted"
        if args.sections == ",".join(SECTIONS):
            args.sections = "stability"
    if args.stability_configs:
        args.stability_configs = [c for c in args.stability_configs.split(",") if c]
    else:
        args.stability_configs = (
            ["compat-kernel", "compat-kernel-direct", "compat-kernel-logodds"]
            if full
            else ["compat-kernel"]
        )
    args.stability_grid = (
        [50, 100, 200, 400, 800, 1600, 3200, 6400] if full else [50, 100, 200, 400]
    )
    sections = [s for s in args.sections.split(",") if s]
    unknown = set(sections) - set(SECTIONS)
    if unknown:
        raise SystemExit(f"unknown sections {sorted(unknown)}; choose from {SECTIONS}")

    adapter, model_name = load_adapter(args.base, args.model)
    warm_up(adapter)
    runners = {
        "agreement": section_agreement,
        "speed": section_speed,
        "naive": section_naive,
        "stability": section_stability,
        "sp": section_sp,
    }
    for name in sections:
        t0 = time.perf_counter()
        payload = runners[name](args, adapter, model_name)
        payload["setting"] = "full" if full else "quick"
        payload["section_seconds"] = time.perf_counter() - t0
        write_results(f"bench_text_lime_{name}" + ("" if full else "_quick"), payload)


if __name__ == "__main__":
    main()
