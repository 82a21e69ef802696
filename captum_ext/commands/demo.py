"""``captum-ext demo``: explain the three example tweets with every method, write an HTML page."""

from __future__ import annotations

import argparse

from captum_ext.commands._common import add_model_args, load_adapter, method_list


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "demo",
        help="explain the three example tweets with every method, then say which to believe",
        description="Explain the three example tweets with every registered method, print the "
        "top words, end with the verdict (which methods to believe on this model, from the "
        "harness's metrics and sanity checks) and write OUT/index.html, OUT/results.jsonl and "
        "the comparison run with its report in OUT/compare/.",
    )
    p.add_argument("--out", default="out/demo", help="output directory (default out/demo)")
    p.add_argument("--methods", default=None, help="comma-separated method names (default: all)")
    p.add_argument("--seed", type=int, default=0, help="random_state of stochastic methods")
    add_model_args(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from captum_ext.demo import run_demo
    from captum_ext.validation import check_output_dir

    methods = method_list(args.methods)
    out = check_output_dir(args.out, "--out")
    run_demo(load_adapter(args), out, methods=methods, random_state=args.seed)
    return 0
