"""Ray engine throughput: 1 worker x 1 torch thread vs 2 workers x 1 thread (issue 15).

Sections (default model, Sentiment140 tweets, one local Ray with 2 CPUs started here):

- ``compare``: :func:`~captum_ext.engines.ray_compare.run_compare_ray` on ``--n`` tweets with
  ``--methods`` (faithfulness metrics on; no stability seeds or sanity checks, which run on the
  first texts only and would unbalance the shards), chunks of ``--chunk-size`` texts;
- ``features``: the influence feature cache (``HeadFeatureExtractor(..., engine=).for_texts``)
  of ``--n-features`` tweets, chunks of 256.

Each configuration first runs a small warm-up job, so its actors have loaded the model (the Ray
session is started here, so the engine keeps them warm), then times the job: texts/second is
steady-state throughput, actor start-up excluded (printed separately as ``cold_s``). The ratio is
2-worker texts/s over 1-worker texts/s (expected >= 1.7 on 2 idle cores).

Then a paper estimate of a GPU-cluster run from the measured 1-worker throughput, with every
assumption printed (``--gpu-speedup``: one GPU worker's throughput over one CPU thread's, an
assumption unless you measured it; ``--gpus``; ``--gpu-hour-usd``; the parallel efficiency is
the measured 2-worker ratio / 2, assumed to hold at cluster scale).

    flock /tmp/cpu.lock .venv/bin/python benchmarks/bench_ray.py --n 20 --n-features 2000
    .venv/bin/python benchmarks/bench_ray.py --n 4 --n-features 64 --methods occlusion \
        --model TINY_CHECKPOINT                                                        # smoke

Results: ``benchmarks/results/bench_ray.json``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import sample_tweets, write_results

SECTIONS = ("compare", "features")
# dataset-sized jobs the estimate is made for (issue 15): the verdict on 10,000 tweets, the
# feature cache (and so the audit) of the full 1.6 M-tweet corpus
JOBS = {"compare": 10_000, "features": 1_600_000}


def _engine(workers: int, model: str | None, max_length: int | None):
    from captum_ext.engines import RayEngine

    return RayEngine(
        model=model,
        adapter_kwargs={"max_length": max_length, "device": "cpu"},
        workers=workers,
        threads_per_worker=1,
    )


def _compare_job(engine, texts: list[str], methods: list[str], chunk_size: int) -> None:
    from captum_ext.engines.ray_compare import run_compare_ray
    from captum_ext.harness.runner import RunConfig

    config = RunConfig(
        methods=methods, stability_seeds=[], stability_texts=0, sanity_texts=0,
        chunk_size=chunk_size,
    )  # fmt: skip
    with tempfile.TemporaryDirectory() as out:
        run_compare_ray(
            texts, out_dir=out, model=engine.model, config=config,
            adapter_kwargs=dict(engine.adapter_kwargs), workers=engine.workers,
            threads_per_worker=1,
        )  # fmt: skip


def _features_job(engine, adapter, texts: list[str], chunk_size: int) -> None:
    from captum_ext.influence import HeadFeatureExtractor

    with tempfile.TemporaryDirectory() as cache:
        HeadFeatureExtractor(
            adapter, cache_dir=cache, chunk_size=chunk_size, engine=engine
        ).for_texts(texts)


def measure(section: str, workers: int, args: argparse.Namespace, texts, warm) -> dict[str, Any]:
    """Texts/second of one section with ``workers`` single-thread actors (steady state)."""
    from captum_ext.adapters import TextClassifierAdapter
    from captum_ext.engines._ray import release_actors

    try:
        engine = _engine(workers, args.model, args.max_length)
        adapter = TextClassifierAdapter.from_pretrained(
            args.model, max_length=args.max_length, device="cpu"
        )
        methods = [m.strip() for m in args.methods.split(",") if m.strip()]

        def job(batch: list[str], chunk_size: int) -> None:
            if section == "compare":
                _compare_job(engine, batch, methods, chunk_size)
            else:
                _features_job(engine, adapter, batch, chunk_size)

        t0 = time.perf_counter()
        # one text per chunk: at least `workers` shards, so every actor loads the model now (and
        # is kept warm: this script started Ray)
        job(warm, 1)
        cold = time.perf_counter() - t0
        t0 = time.perf_counter()
        job(texts, args.chunk_size if section == "compare" else 256)
        seconds = time.perf_counter() - t0
    finally:
        release_actors()
    row = {
        "workers": workers,
        "threads_per_worker": 1,
        "texts": len(texts),
        "seconds": seconds,
        "texts_per_s": len(texts) / seconds,
        "cold_s": cold,
        "load_average_1m": os.getloadavg()[0],
    }
    print(
        f"  {section:<9} {workers} worker(s) x 1 thread: {row['texts_per_s']:9.2f} texts/s "
        f"({len(texts)} texts in {seconds:.1f} s; warm-up incl. actor start {cold:.1f} s; "
        f"load {row['load_average_1m']:.2f})"
    )
    return row


def estimate(section: str, one: dict, ratio: float, args: argparse.Namespace) -> dict[str, Any]:
    """A paper estimate of the dataset-sized job on ``--gpus`` GPU workers."""
    n = JOBS[section]
    efficiency = min(1.0, ratio / 2.0)
    per_gpu = one["texts_per_s"] * args.gpu_speedup
    cluster = per_gpu * args.gpus * efficiency
    hours = n / cluster / 3600
    cpu_hours = n / one["texts_per_s"] / 3600
    out = {
        "texts": n,
        "assumptions": {
            "cpu_thread_texts_per_s": one["texts_per_s"],
            "gpu_speedup_over_one_cpu_thread": args.gpu_speedup,
            "gpus": args.gpus,
            "parallel_efficiency": efficiency,
            "gpu_hour_usd": args.gpu_hour_usd,
            "excluded": "cluster start-up, model load per actor, data transfer, the driver's "
            "summary (compare) or audit fit (features)",
        },
        "one_cpu_thread_hours": cpu_hours,
        "cluster_hours": hours,
        "cluster_usd": hours * args.gpus * args.gpu_hour_usd,
    }
    print(
        f"  {section}: {n:,} texts on {args.gpus} GPUs ~ {hours:.2f} h, ~ "
        f"${out['cluster_usd']:.0f} (one CPU thread: {cpu_hours:.1f} h)"
    )
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--n", type=int, default=20, help="tweets of the compare job (default 20)")
    p.add_argument(
        "--n-features", type=int, default=2000, help="tweets of the features job (default 2000)"
    )
    p.add_argument("--methods", default="occlusion,lime,ig", help="compare's methods")
    p.add_argument("--chunk-size", type=int, default=2, help="compare's chunk size (default 2)")
    p.add_argument("--max-length", type=int, default=None, help="word-pieces per text")
    p.add_argument(
        "--model", default=None, help="checkpoint directory (default: the default model)"
    )
    p.add_argument("--sections", default=",".join(SECTIONS), help="compare,features")
    p.add_argument("--gpus", type=int, default=8, help="GPUs of the estimated cluster (8)")
    p.add_argument(
        "--gpu-speedup",
        type=float,
        default=30.0,
        help="ASSUMED throughput of one GPU worker over one CPU thread (default 30; replace it "
        "with a figure measured on your GPU)",
    )
    p.add_argument("--gpu-hour-usd", type=float, default=2.0, help="price of a GPU hour (2.0)")
    args = p.parse_args(argv)
    sections = [s.strip() for s in args.sections.split(",") if s.strip()]
    for s in sections:
        if s not in SECTIONS:
            p.error(f"--sections: unknown section {s!r}; choose from {', '.join(SECTIONS)}")
    import torch

    torch.set_num_threads(1)  # the driver only writes; the actors compute
    import ray

    # one local Ray for every run (2 CPUs: the 1-worker runs use one); started here, so the
    # engine keeps each configuration's actors warm between its warm-up and its timed job
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    pool = sample_tweets(max(args.n, args.n_features) + 8, seed=0)
    results: dict[str, Any] = {"settings": vars(args), "sections": {}}
    print(f"bench_ray: 1 vs 2 single-thread Ray workers on {os.cpu_count()} CPUs")
    for section in sections:
        n = args.n if section == "compare" else args.n_features
        texts, warm = pool[:n], pool[-4:]
        rows = [measure(section, w, args, texts, warm) for w in (1, 2)]
        ratio = rows[1]["texts_per_s"] / rows[0]["texts_per_s"]
        print(f"  {section}: 2 workers / 1 worker = {ratio:.2f}x (target >= 1.7x on 2 idle cores)")
        results["sections"][section] = {
            "runs": rows,
            "ratio_2_over_1": ratio,
            "gpu_cluster_estimate": estimate(section, rows[0], ratio, args),
        }
    ray.shutdown()
    write_results("bench_ray", results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
