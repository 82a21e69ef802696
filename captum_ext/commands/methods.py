"""``captum-ext methods``: list the registered methods."""

from __future__ import annotations

import argparse

from captum_ext.commands._common import print_json


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "methods",
        help="list the explanation methods",
        description="List the registered token-level methods.",
    )
    p.add_argument("--json", action="store_true", help="print a JSON list")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from captum_ext.methods import list_methods

    specs = list_methods()
    if args.json:
        print_json([s.to_dict() for s in specs])
        return 0
    width = max(len(s.name) for s in specs)
    for s in specs:
        flags = ("signed" if s.signed else "magnitude") + (", stochastic" if s.stochastic else "")
        print(f"{s.name:<{width}}  {s.family:<12} {flags:<20} {s.description}")
    return 0
