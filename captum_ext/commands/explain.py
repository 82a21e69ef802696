"""``captum-ext explain``: the prediction and one method's word scores for texts."""

from __future__ import annotations

import argparse

from captum_ext.commands._common import (
    add_model_args,
    add_target_arg,
    load_adapter,
    print_json,
    read_texts,
    resolve_target,
)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "explain",
        help="explain texts with one method",
        description="Print the prediction and the word scores of one method. With --json, one "
        "JSON object per text (one line each). Control characters of a text are shown escaped "
        "(\\x1b) in the table.",
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
    add_target_arg(p)
    p.add_argument(
        "--seed", type=int, default=0, help="random_state of stochastic methods (default 0)"
    )
    p.add_argument(
        "--text-pair",
        metavar="TEXT",
        default=None,
        help="second text of a text pair (e.g. an NLI hypothesis, a title for a query): the "
        "words of both texts are scored; with --text-file, the pair of every line",
    )
    p.add_argument("--top", type=int, default=10, help="words shown without --json (default 10)")
    p.add_argument("--json", action="store_true", help="print JSON objects instead of a table")
    add_model_args(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from captum_ext.adapters import validate_text
    from captum_ext.methods import get_method, make_explainer
    from captum_ext.terminal import escape_control as esc

    get_method(args.method)  # fail fast on an unknown name, before loading the model
    texts = [validate_text(t) for t in read_texts(args)]
    pair = None if args.text_pair is None else validate_text(args.text_pair, "--text-pair")
    adapter = load_adapter(args)
    explainer = make_explainer(args.method, adapter)
    target = resolve_target(args, adapter)
    # explain_many: methods that batch across texts share their model calls (IG, gradients,
    # occlusion, attention, the LIME rows); chunks of 32 texts keep the output streaming
    results = (
        wa
        for start in range(0, len(texts), 32)
        for wa in explainer.explain_many(
            texts[start : start + 32],
            targets=[target] * len(texts[start : start + 32]),
            random_state=args.seed,
            text_pairs=None if pair is None else [pair] * len(texts[start : start + 32]),
        )
    )
    for wa in results:
        if args.json:
            print_json(wa.to_public_json())
            continue
        probs = ", ".join(f"{lab} {p:.3f}" for lab, p in zip(wa.labels, wa.probs, strict=True))
        print(f"text:       {esc(wa.text)}")
        if wa.text_pair is not None:
            print(f"text pair:  {esc(wa.text_pair)}")
        print(f"prediction: {esc(wa.predicted_label)} ({esc(probs)})")
        print(f"method:     {wa.method}, explaining {wa.target_label!r}")
        for i in wa.ranking()[: args.top]:
            side = f"  [text {'pair' if wa.segment_of(i) else ''}]".replace(" ]", "]")
            print(f"  {wa.scores[i]:+.4f}  {esc(wa.words[i])}{side if wa.text_pair else ''}")
        for note in _notes(wa):
            print(f"note:       {note}")
        print()
    return 0


def _notes(wa) -> list[str]:
    """Notes the method left in the result (e.g. why every score is 0)."""
    notes = (getattr(wa, "extras", None) or {}).get("notes") or []
    return [str(n) for n in notes]
