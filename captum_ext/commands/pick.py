"""``captum-ext pick``: SP-LIME, a few tweets whose explanations cover the important words."""

from __future__ import annotations

import argparse

from captum_ext.commands._common import (
    add_engine_args,
    add_model_args,
    engine_from_args,
    load_adapter,
    print_json,
)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "pick",
        help="pick representative texts with SP-LIME (submodular pick)",
        description="Explain tweets with TextLime and pick --budget of them whose explanations "
        "cover the important words (official SubmodularPick's options, bounded memory, "
        "resumable with --store).",
    )
    p.add_argument(
        "--data", required=True, metavar="PATH", help="Sentiment140 folder or CSV to read"
    )
    p.add_argument("--n", type=int, default=2000, help="tweets drawn from the data (default 2000)")
    p.add_argument("--budget", type=int, default=5, help="tweets to pick (default 5)")
    p.add_argument(
        "--method",
        choices=("sample", "full"),
        default="sample",
        help="explain --sample-size random tweets (sample) or all --n (full); default sample",
    )
    p.add_argument(
        "--sample-size", type=int, default=20, help="tweets explained with --method sample (20)"
    )
    p.add_argument("--num-features", type=int, default=10, help="weights kept per explanation (10)")
    p.add_argument(
        "--n-samples", type=int, default=5000, help="perturbations per explanation (5000)"
    )
    p.add_argument(
        "--output",
        choices=("probs", "log_odds"),
        default="probs",
        help="explain probabilities (official) or log-odds (default probs)",
    )
    p.add_argument("--seed", type=int, default=0, help="random_state (default 0)")
    p.add_argument(
        "--store", metavar="FILE", default=None, help="JSONL file to save and resume explanations"
    )
    p.add_argument("--top", type=int, default=5, help="top words shown per tweet (default 5)")
    p.add_argument("--json", action="store_true", help="one JSON object per picked tweet")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    add_engine_args(p, what="the explanations (appended to --store as each shard arrives)")
    add_model_args(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from captum_ext.attr import SubmodularPick, TextLime
    from captum_ext.data import load_sentiment140
    from captum_ext.errors import InputError
    from captum_ext.terminal import escape_control as esc
    from captum_ext.validation import check_scalar, check_store_file

    for name in ("n", "budget", "sample_size", "num_features", "n_samples"):
        check_scalar(getattr(args, name), f"--{name.replace('_', '-')}", min_val=1)
    store = check_store_file(args.store, "--store")
    engine = engine_from_args(args)
    dataset = load_sentiment140(args.data)
    if args.n > len(dataset):
        raise InputError(f"--n {args.n} is more than the {len(dataset)} tweets in {args.data}.")
    texts = dataset.sample(args.n, seed=args.seed).texts
    adapter = load_adapter(args)
    lime = TextLime(
        adapter,
        units="lime",
        bow=True,
        output=args.output,
        feature_selection="auto",
        num_features=args.num_features,
        random_state=args.seed,
    )
    sp = SubmodularPick(
        lime,
        texts,
        method=args.method,
        sample_size=args.sample_size,
        num_exps_desired=args.budget,
        num_features=args.num_features,
        n_samples=args.n_samples,
        random_state=args.seed,
        store=store,
        show_progress=not args.no_progress,
        engine=engine,
    )
    for rank, exp in enumerate(sp.sp_explanations, start=1):
        if args.json:
            print_json(
                {
                    "rank": rank,
                    "index": exp.index,
                    "text": exp.text,
                    "label": adapter.labels[exp.label],
                    "features": [{"word": w, "weight": v} for w, v in exp.as_list()],
                    "score": exp.score,
                }
            )
            continue
        words = ", ".join(f"{w} ({v:+.3g})" for w, v in exp.as_list()[: args.top])
        print(f"{rank}. [{esc(adapter.labels[exp.label])}] {esc(exp.text)}")
        print(f"   {esc(words)}")
    if not args.json:
        explained = len(sp.explanations)
        print(
            f"picked {len(sp.sp_explanations)} of {explained} explained tweets "
            f"({sp.W.shape[1]} distinct words; {sp.n_resumed} read back from the store)"
        )
    return 0
