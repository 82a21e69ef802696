"""Per-tweet time of the registry's Captum, occlusion and attention methods at their default budgets.

Runs each method's ``explain_many`` on the same Sentiment140 tweets with the default model (or,
with ``--base``, the base encoder with a random head: same size, same cost) and reports seconds
per tweet and the extrapolation to the 200 tweets of the agreement harness. Take the CPU lock:

    flock /tmp/cpu.lock .venv/bin/python benchmarks/bench_methods.py            # 20 tweets
    flock /tmp/cpu.lock .venv/bin/python benchmarks/bench_methods.py --n 50 --methods occlusion
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import sample_tweets, write_results

METHODS = (
    "saliency",
    "input-x-gradient",
    "smoothgrad",
    "occlusion",
    "captum-lime",
    "captum-kernelshap",
    "attention-last",
    "attention-rollout",
)


def load_adapter(base: bool, threads: int):
    import torch

    from captum_ext.adapters import TextClassifierAdapter
    from captum_ext.adapters.loading import default_model_dir, new_classifier_from_encoder

    torch.set_num_threads(threads)
    if base or not default_model_dir().is_dir():
        model, tok = new_classifier_from_encoder(seed=0)
        return TextClassifierAdapter(model.eval(), tok), "base encoder + random head"
    return TextClassifierAdapter.from_pretrained(None), str(default_model_dir())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20, help="tweets (default 20)")
    parser.add_argument("--methods", default=",".join(METHODS), help="comma-separated names")
    parser.add_argument("--base", action="store_true", help="base encoder with a random head")
    parser.add_argument("--threads", type=int, default=2, help="torch threads (default 2)")
    args = parser.parse_args()

    from captum_ext.methods import get_method, make_explainer

    adapter, model_name = load_adapter(args.base, args.threads)
    tweets = sample_tweets(args.n, seed=0)
    n_pieces = [len(adapter.encode(t).input_ids) for t in tweets]
    make_explainer("occlusion", adapter).explain_many(tweets[:2])  # warm-up
    rows = {}
    for name in args.methods.split(","):
        explainer = make_explainer(name, adapter)
        rows_before = adapter.n_forward_rows
        t0 = time.perf_counter()
        explainer.explain_many(tweets, random_state=0)
        seconds = time.perf_counter() - t0
        rows[name] = {
            "defaults": get_method(name).defaults,
            "seconds": seconds,
            "per_tweet": seconds / len(tweets),
            "for_200_tweets_min": seconds / len(tweets) * 200 / 60,
            "model_rows_per_tweet": (adapter.n_forward_rows - rows_before) / len(tweets),
        }
        print(
            f"{name:18s} {seconds / len(tweets):7.3f} s/tweet   "
            f"{rows[name]['for_200_tweets_min']:6.2f} min/200   "
            f"{rows[name]['model_rows_per_tweet']:7.1f} rows/tweet",
            flush=True,
        )
    total = sum(r["for_200_tweets_min"] for r in rows.values())
    print(f"{'total':18s} {total:6.2f} min for 200 tweets")
    write_results(
        "bench_methods",
        {
            "model": model_name,
            "n_tweets": len(tweets),
            "mean_tokens": sum(n_pieces) / len(n_pieces),
            "methods": rows,
            "total_200_min": total,
        },
    )


if __name__ == "__main__":
    main()
