"""Shared helpers of the benchmarks: timing, peak memory in a fresh process, JSON results.

Benchmarks measure against the official tools in the same run and print ratios; results go to
``benchmarks/results/<name>.json`` (not tracked by git).
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import platform
import resource
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

RESULTS_DIR = Path(__file__).resolve().parent / "results"
ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

__all__ = [
    "RESULTS_DIR",
    "load_default_adapter",
    "machine_info",
    "median_time",
    "peak_rss_mb",
    "run_in_fresh_process",
    "sample_tweets",
    "write_results",
]


def machine_info() -> dict[str, Any]:
    import torch

    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "cpus": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "load_average_1m": os.getloadavg()[0],
    }


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MB (Linux ru_maxrss is in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def median_time(fn: Callable[[], Any], repeats: int = 3) -> tuple[float, list[float]]:
    """Median wall seconds of ``fn()`` over ``repeats`` runs, and all the runs."""
    runs = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - t0)
    return statistics.median(runs), runs


def _child(fn: Callable[..., Any], args: tuple, conn: Any) -> None:
    try:
        t0 = time.perf_counter()
        value = fn(*args)
        conn.send(
            {
                "ok": True,
                "value": value,
                "seconds": time.perf_counter() - t0,
                "peak_rss_mb": peak_rss_mb(),
            }
        )
    except BaseException as e:  # report, never hang the parent
        conn.send({"ok": False, "error": f"{type(e).__name__}: {e}", "peak_rss_mb": peak_rss_mb()})
    finally:
        conn.close()


def run_in_fresh_process(
    fn: Callable[..., Any], *args: Any, memory_limit_gb: float | None = None
) -> dict[str, Any]:
    """Run ``fn(*args)`` in a fresh (spawned) process; return its value, seconds and peak RSS.

    ``fn`` must be importable (a module-level function). ``memory_limit_gb`` caps the child's
    address space so a runaway baseline fails instead of exhausting the machine.
    """
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_limited, args=(fn, args, child, memory_limit_gb))
    proc.start()
    child.close()
    try:
        result = parent.recv()
    except EOFError:
        result = {"ok": False, "error": f"child died (exit code {proc.exitcode})"}
    proc.join()
    return result


def _limited(fn: Callable[..., Any], args: tuple, conn: Any, memory_limit_gb: float | None) -> None:
    if memory_limit_gb:
        limit = int(memory_limit_gb * 1024**3)
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    _child(fn, args, conn)


def load_default_adapter(**kwargs: Any):
    """The fine-tuned default model (run `make model` first)."""
    import torch

    from captum_ext.adapters import TextClassifierAdapter

    torch.set_num_threads(min(2, os.cpu_count() or 2))
    return TextClassifierAdapter.from_pretrained(None, **kwargs)


def sample_tweets(n: int, *, seed: int = 0, min_words: int = 4) -> list[str]:
    """``n`` Sentiment140 tweets (label-balanced, seeded) with at least ``min_words`` words."""
    from captum_ext.data import default_data_path, load_sentiment140

    ds = load_sentiment140(default_data_path())
    pool = ds.sample(min(len(ds), n * 4), seed=seed)
    texts = [t for t in pool.texts if len(t.split()) >= min_words]
    return texts[:n]


def write_results(name: str, payload: dict[str, Any]) -> Path:
    """Write ``benchmarks/results/<name>.json`` with the machine info, and return its path."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{name}.json"
    payload = {"benchmark": name, "machine": machine_info(), **payload}
    path.write_text(json.dumps(payload, indent=2, default=float) + "\n", encoding="utf-8")
    print(f"wrote {path}")
    return path
