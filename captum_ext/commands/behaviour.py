"""``captum-ext behaviour``: CheckList-style suite, per-test failure rates, explained failures."""

from __future__ import annotations

import argparse

from captum_ext.commands._common import add_model_args, load_adapter, print_json


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "behaviour",
        aliases=["behavior"],
        help="behavioural tests (MFT/INV/DIR) with every failure explained",
        description="Run a template-generated behavioural suite (vocabulary, negation, "
        "robustness to @mentions, URLs and typos; MFT, INV and DIR tests), report the failure "
        "rate of each test and explain every failed case with --explain (default ig). Writes "
        "results.json, failure_rates.csv, failures.csv, report.html and a plot to --out.",
    )
    p.add_argument("--suite", default="default", help="suite name (default: default)")
    p.add_argument("--seed", type=int, default=0, help="seed of the templates (default 0)")
    p.add_argument(
        "--explain",
        default="ig",
        help="method explaining failures, see `captum-ext methods`; 'none' to skip (default ig)",
    )
    p.add_argument(
        "--max-explanations", type=int, default=None, help="explain at most this many failures"
    )
    p.add_argument("--out", required=True, metavar="DIR", help="output folder")
    p.add_argument("--format", choices=("png", "svg"), default="png")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    add_model_args(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from captum_ext.behaviour import get_suite, run_suite
    from captum_ext.methods import get_method
    from captum_ext.validation import check_output_dir, check_scalar

    explain = None if args.explain.lower() == "none" else args.explain
    if explain is not None:
        get_method(explain)  # fail fast on an unknown name, before loading the model
    check_scalar(args.max_explanations, "--max-explanations", min_val=0, allow_none=True)
    suite = get_suite(args.suite, args.seed)
    out = check_output_dir(args.out, "--out")
    adapter = load_adapter(args)
    result = run_suite(
        adapter,
        suite,
        explain=explain,
        max_explanations=args.max_explanations,
        random_state=args.seed,
        show_progress=not args.quiet,
        label_map=args.label_map,
    )
    files = result.save(out, fmt=args.format)
    summary = result.summary()
    print_json(
        {
            "command": "behaviour",
            "suite": result.suite,
            "n_cases": result.n_cases,
            "n_failures": int(summary["n_failures"].sum()),
            "seconds": result.seconds,
            "failure_rates": {
                row.test: round(float(row.failure_rate), 4) for row in summary.itertuples()
            },
            "files": {k: str(v) for k, v in files.items()},
        }
    )
    return 0
