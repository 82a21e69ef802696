"""``captum-ext explain``: the prediction and one method's word scores for texts."""

from __future__ import annotations

import argparse

from captum_ext.commands._common import add_model_args, load_adapter, print_json, read_texts


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "explain",
        help="explain texts with one method",
        description="Print the prediction and the word scores of one method. With --json, one "
        "JSON object per text (one line each).",
    )
    p.add_argument(
        "text", nargs="?", default=None, help="text to explain (or use --text-file / stdin)"
    )
    p.add_argument(
        "--text-file", metavar="FILE", help="explain every line of FILE (UTF-8; - for stdin)"
    )
    p.add_argument(
        "--method", default="ig", help="method name, see `captum-ext methods` (default ig)"
    )
    p.add_argument(
        "--target", default=None, help="class to explain, name or index (default: predicted)"
    )
    p.add_argument(
        "--seed", type=int, default=0, help="random_state of stochastic methods (default 0)"
    )
    p.add_argument("--top", type=int, default=10, help="words shown without --json (default 10)")
    p.add_argument("--json", action="store_true", help="print JSON objects instead of a table")
    add_model_args(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from captum_ext.adapters import validate_text
    from captum_ext.methods import get_method, make_explainer

    get_method(args.method)  # fail fast on an unknown name, before loading the model
    texts = [validate_text(t) for t in read_texts(args)]
    adapter = load_adapter(args)
    explainer = make_explainer(args.method, adapter)
    # explain_many: methods that batch across texts share their model calls (IG, gradients,
    # occlusion, attention); chunks of 32 texts keep the output streaming
    results = (
        wa
        for start in range(0, len(texts), 32)
        for wa in explainer.explain_many(
            texts[start : start + 32],
            targets=[args.target] * len(texts[start : start + 32]),
            random_state=args.seed,
        )
    )
    for wa in results:
        if args.json:
            print_json(wa.to_public_json())
            continue
        probs = ", ".join(f"{lab} {p:.3f}" for lab, p in zip(wa.labels, wa.probs, strict=True))
        print(f"text:       {wa.text}")
        print(f"prediction: {wa.predicted_label} ({probs})")
        print(f"method:     {wa.method}, explaining {wa.target_label!r}")
        for i in wa.ranking()[: args.top]:
            print(f"  {wa.scores[i]:+.4f}  {wa.words[i]}")
        print()
    return 0
