"""Speed side by side in one run, against what a user writes without captum-ext (issue 15's table).

Rows (same model, same tweets, one process, one after the other):

- ``perturbations``: 300 LIME-style perturbations (random word deletions) per tweet through a
  plain batched predictor (tokenise 64 at a time, pad, ``no_grad``) vs the adapter in fp32 vs the
  adapter in bf16 (autocast), with max |Δp| of bf16 vs fp32;
- ``ig``: Captum ``LayerIntegratedGradients`` called text by text (``n_steps=50``, the loop a user
  writes) vs ``ig`` (batched across texts) in fp32 and in the ``auto`` precision;
- ``lime``: official ``LimeTextExplainer`` (1,000 samples) with the plain predictor and with the
  adapter, vs ``lime`` at the same ``n_samples`` (batched across texts), with the model rows of
  official LIME with the adapter and of ``lime`` (distinct rows, the adapter de-duplicates);
- ``shap``: ``shap.Explainer`` with the plain predictor and SHAP's defaults vs ``shap-partition``.

Ratios are baseline seconds / captum-ext seconds (> 1: captum-ext is faster). The 1-minute load
average is printed beside each row: figures taken while other jobs run must be re-measured on an
idle machine. ferret-xai is compared in bench_ferret.py (see docs/methods.md, "Speed").

    flock /tmp/cpu.lock .venv/bin/python benchmarks/bench_speed.py --n 20
    .venv/bin/python benchmarks/bench_speed.py --n 2 --sections ig       # smoke

Results: ``benchmarks/results/bench_speed.json``.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import load_default_adapter, sample_tweets, write_results

SECTIONS = ("perturbations", "ig", "lime", "shap")


def plain_predictor(adapter, batch_size: int = 64):
    """What a user writes: tokenise a batch, pad to its longest, softmax under ``no_grad``."""
    import numpy as np
    import torch

    model, tok = adapter.model, adapter.tokenizer

    def predict(texts) -> np.ndarray:
        texts = list(texts)
        out = []
        for s in range(0, len(texts), batch_size):
            enc = tok(
                texts[s : s + batch_size],
                return_tensors="pt",
                padding=True,
                truncation=True,
                max_length=adapter.max_length,
            ).to(adapter.device)
            with torch.no_grad():
                out.append(torch.softmax(model(**enc).logits, -1).cpu().numpy())
        return np.concatenate(out)

    return predict


def perturbations(texts: list[str], n: int, seed: int = 0) -> list[str]:
    import numpy as np

    rng = np.random.default_rng(seed)
    out = []
    for t in texts:
        words = re.split(r"(\W+)", t)
        for _ in range(n):
            keep = rng.random(len(words)) > 0.3
            out.append("".join(w for w, k in zip(words, keep, strict=True) if k) or t)
    return out


def timed(fn) -> tuple[float, Any]:
    t0 = time.perf_counter()
    value = fn()
    return time.perf_counter() - t0, value


def row(name: str, baseline: str, t_base: float, ours: str, t_ours: float) -> dict[str, Any]:
    r = {
        "work": name,
        "baseline": baseline,
        "baseline_s": t_base,
        "ours": ours,
        "ours_s": t_ours,
        "ratio": t_base / t_ours if t_ours else float("nan"),
        "load_average_1m": os.getloadavg()[0],
    }
    print(
        f"{name:14s} {baseline:34s} {t_base:7.2f} s | {ours:28s} {t_ours:7.2f} s | "
        f"{r['ratio']:5.2f}x | load {r['load_average_1m']:.2f}",
        flush=True,
    )
    return r


def main(argv: list[str] | None = None) -> int:
    import numpy as np

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=20, help="tweets (default 20)")
    p.add_argument("--sections", default=",".join(SECTIONS))
    p.add_argument("--lime-samples", type=int, default=1000)
    args = p.parse_args(argv)
    sections = [s for s in args.sections.split(",") if s]

    adapter = load_default_adapter()
    texts = sample_tweets(args.n, seed=15, min_words=12)
    plain = plain_predictor(adapter)
    plain(texts[:2])
    adapter.predict_proba(texts[:2])  # warm-up
    print(f"{len(texts)} tweets, device {adapter.device}, load average {os.getloadavg()[0]:.2f}")
    rows: list[dict[str, Any]] = []

    if "perturbations" in sections:
        batch = perturbations(texts, 300)
        t_plain, p_plain = timed(lambda: plain(batch))
        with adapter.using_precision("fp32"):
            t32, p32 = timed(lambda: adapter.predict_proba(batch))
        with adapter.using_precision("auto") as concrete:
            t16, p16 = timed(lambda: adapter.predict_proba(batch))
        rows.append(
            row(f"{len(batch)} perturb.", "plain batched predictor", t_plain, "adapter fp32", t32)
        )
        r = row(
            f"{len(batch)} perturb.", "plain batched predictor", t_plain, f"adapter {concrete}", t16
        )
        r["max_dp_vs_fp32"] = float(np.abs(p16 - p32).max())
        r["max_dp_plain_vs_adapter"] = float(np.abs(p_plain - p32).max())
        rows.append(r)

    if "ig" in sections:
        from captum.attr import LayerIntegratedGradients

        from captum_ext.methods import make_explainer

        def captum_loop() -> None:
            lig = LayerIntegratedGradients(adapter.forward_func("probs"), adapter.embedding_layer)
            for t in texts:
                ids, mask = adapter.captum_inputs(t)
                lig.attribute(
                    ids, adapter.baselines(ids), additional_forward_args=(mask,), target=1,
                    n_steps=50, internal_batch_size=50,
                )  # fmt: skip

        with adapter.using_precision("fp32"):
            t_loop, _ = timed(captum_loop)
        for prec in ("fp32", "auto"):
            ig = make_explainer("ig", adapter, precision=prec)
            t_ig, res = timed(lambda ig=ig: ig.explain_many(texts, targets=[1] * len(texts)))
            rows.append(
                row("IG 50 steps", "Captum LayerIG loop (fp32)", t_loop,
                    f"ig ({res[0].settings['precision']})", t_ig)
            )  # fmt: skip

    if "lime" in sections:
        from lime.lime_text import LimeTextExplainer

        from captum_ext.methods import make_explainer

        n = args.lime_samples

        def official(fn) -> None:
            for t in texts:
                LimeTextExplainer(
                    class_names=list(adapter.labels), random_state=0
                ).explain_instance(t, fn, labels=(1,), num_samples=n)

        t_off_plain, _ = timed(lambda: official(plain))
        before = adapter.n_forward_rows
        with adapter.using_precision("fp32"):
            t_off_ad, _ = timed(lambda: official(adapter.predict_proba))
        rows_off = adapter.n_forward_rows - before  # distinct rows (the adapter de-duplicates)
        for prec in ("fp32", "auto"):
            lime = make_explainer("lime", adapter, n_samples=n, precision=prec)
            before = adapter.n_forward_rows
            t_lime, res = timed(
                lambda lime=lime: lime.explain_many(texts, targets=[1] * len(texts), random_state=0)
            )
            rows_lime = adapter.n_forward_rows - before
            label = f"lime ({res[0].settings['precision']})"
            rows.append(row(f"LIME {n}", "official + plain predictor", t_off_plain, label, t_lime))
            r = row(f"LIME {n}", "official + our adapter (fp32)", t_off_ad, label, t_lime)
            # at equal n_samples lime evaluates no more distinct rows than official LIME
            # (row_budget="official"): the load-independent half of the ratio
            r["model_rows_baseline"], r["model_rows_ours"] = rows_off, rows_lime
            print(f"{'':14s} model rows: official + adapter {rows_off}, {label} {rows_lime}")
            rows.append(r)

    if "shap" in sections:
        import shap

        from captum_ext.methods import make_explainer

        def shap_defaults() -> None:
            explainer = shap.Explainer(plain, shap.maskers.Text(adapter.tokenizer))
            explainer(texts)

        t_shap, _ = timed(shap_defaults)
        for prec in ("fp32", "auto"):
            sp = make_explainer("shap-partition", adapter, precision=prec)
            t_sp, res = timed(lambda sp=sp: sp.explain_many(texts, targets=[1] * len(texts)))
            rows.append(
                row("SHAP Partition", "shap defaults + plain predictor", t_shap,
                    f"shap-partition ({res[0].settings['precision']})", t_sp)
            )  # fmt: skip

    print(f"load average at end: {os.getloadavg()[0]:.2f}")
    write_results("bench_speed", {"n_tweets": len(texts), "rows": rows})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
