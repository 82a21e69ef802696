"""Which sample-level method to believe: every registered method judged on a planted-shortcut model.

Usage (under the shared CPU lock)::

    flock /tmp/cpu.lock .venv/bin/python benchmarks/bench_influence_judge.py [--n-data 4000]

Builds the ground truth itself: a label-balanced Sentiment140 sample, a nonce token planted into
30% of its positive training tweets, the default model fine-tuned further on it
(:func:`captum_ext.train.planted.plant_shortcut`; cached in the user cache, so a rerun skips
it). Then every sample-level method (representer, knn, tracincp, tracincp-fast) is judged on the
planted model (:func:`captum_ext.influence.judge_sample_methods`): for held-out negative tweets
with the token inserted, the share of the top-10 training tweets that carry the token, beside the
base rate; test-dependence and label agreement on unrelated held-out tweets; and the
model-randomisation check. Results: ``benchmarks/results/influence_judge.json``.
"""

from __future__ import annotations

import argparse
import time

from _common import load_default_adapter, write_results

RESULTS_NAME = "influence_judge"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n-data", type=int, default=4000, help="Sentiment140 tweets sampled")
    parser.add_argument("--n-planted-tests", type=int, default=20, help="test texts with token")
    parser.add_argument("--n-tests", type=int, default=10, help="unrelated test texts")
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--fraction", type=float, default=0.3)
    parser.add_argument("--methods", default=None, help="comma-separated (default: all)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    from captum_ext.adapters import TextClassifierAdapter
    from captum_ext.data import default_data_path, load_sentiment140
    from captum_ext.influence import judge_sample_methods
    from captum_ext.train.planted import plant_shortcut

    t0 = time.perf_counter()
    load_default_adapter()  # sets the thread count; fails early without the default model
    full = load_sentiment140(default_data_path())
    data = full.sample(args.n_data, seed=args.seed)
    planted = plant_shortcut(
        data, None, fraction=args.fraction, n_test=args.n_planted_tests, seed=args.seed,
        show_progress=False,
    )  # fmt: skip
    print(
        f"planted {planted.token!r} -> {planted.planted_label} in {int(planted.carries.sum())} of "
        f"{len(planted.train)} training tweets (base rate {planted.base_rate:.1%}); "
        f"{'cached' if planted.cached else f'built in {planted.build_seconds:.0f} s'}; "
        f"shortcut rate {planted.shortcut_rate:.0%} on {len(planted.test_texts)} test texts; "
        f"clean held-out accuracy {planted.clean_accuracy:.3f}",
        flush=True,
    )
    adapter = TextClassifierAdapter.from_pretrained(planted.model_dir)
    seen = {" ".join(t.lower().split()) for t in data.texts}
    pool = full.sample(args.n_tests * 20, seed=args.seed + 1)
    unrelated = [
        t for t in pool.texts if len(t.split()) >= 4 and " ".join(t.lower().split()) not in seen
    ][: args.n_tests]
    methods = args.methods.split(",") if args.methods else None
    judged = judge_sample_methods(
        adapter, planted.train, unrelated, methods=methods, k=args.k, planted=planted,
        seed=args.seed,
    )  # fmt: skip
    print()
    print(judged.to_text())
    print()
    k = args.k
    print(f"share of the top-{k} training tweets carrying {planted.token!r} (base rate "
          f"{planted.base_rate:.1%}), per test text on average:")  # fmt: skip
    for row in judged.table.to_dict("records"):
        print(f"  {row['method']:<14} {row['planted_share']:6.1%}  "
              f"({row['planted_share'] * k:.1f} of {k})")  # fmt: skip
    total = time.perf_counter() - t0
    path = write_results(
        RESULTS_NAME,
        {
            "settings": vars(args),
            "planted": {
                "token": planted.token,
                "planted_label": planted.planted_label,
                "n_train": len(planted.train),
                "n_carrying": int(planted.carries.sum()),
                "base_rate": planted.base_rate,
                "n_test_texts": len(planted.test_texts),
                "shortcut_rate": planted.shortcut_rate,
                "clean_accuracy": planted.clean_accuracy,
                "build_seconds": planted.build_seconds,
                "cached": planted.cached,
                "fingerprint": planted.fingerprint,
            },
            "judgement": judged.to_dict(),
            "wall_seconds": total,
        },
    )
    print(f"\nwall time {total:.0f} s; results: {path}")


if __name__ == "__main__":
    main()
