"""``captum-ext evaluate``: a model's accuracy on emoticon, hand-checked and lexicon-agreed labels."""

from __future__ import annotations

import argparse

from captum_ext.commands._common import add_model_args, load_adapter, print_json


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "evaluate",
        help="accuracy on Sentiment140's emoticon labels, hand-checked labels and lexicon-agreed "
        "labels",
        description="Score a negative/positive sentiment model (default: the fine-tuned default "
        "model) on three test sets of the Sentiment140 sample: the emoticon-labelled held-out "
        "split of its fine-tune (from its metrics.json), 300 tweets labelled by hand (the rows "
        "with a polarity; captum_ext/data/human_labels.csv) and up to --lexicon-n tweets whose "
        "emoticon label agrees with the VADER lexicon (needs the vaderSentiment package). Tweets "
        "the model was trained on are left out. Prints each accuracy with its count and 95% "
        "interval, or one JSON object with --json.",
    )
    p.add_argument(
        "--data",
        default=None,
        metavar="DIR",
        help="the Sentiment140 sample folder the hand labels refer to (default: "
        "../shared/data/sentiment140)",
    )
    p.add_argument(
        "--parts",
        default="emoticon,human,lexicon",
        help="which test sets, comma-separated: emoticon, human, lexicon (default: all three)",
    )
    p.add_argument(
        "--lexicon-n",
        type=int,
        default=2000,
        metavar="N",
        help="size of the lexicon-agreement set, half of each label (default 2000)",
    )
    p.add_argument(
        "--lexicon-threshold",
        type=float,
        default=0.5,
        metavar="T",
        help="|VADER compound| a tweet's lexicon polarity needs, in (0, 1) (default 0.5)",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    add_model_args(p)
    p.set_defaults(func=run)


def _parts(value: str) -> list[str]:
    from captum_ext.data.human_eval import PARTS
    from captum_ext.errors import InputError

    parts = [x.strip().lower() for x in value.split(",") if x.strip()]
    bad = [x for x in parts if x not in PARTS]
    if bad or not parts:
        raise InputError(
            f"--parts must list some of {', '.join(PARTS)} (comma-separated), got {value!r}."
        )
    return list(dict.fromkeys(parts))


def _check_data(data: str) -> None:
    from pathlib import Path

    from captum_ext.errors import InputError

    folder = Path(data).expanduser()
    missing = [n for n in ("negative.txt", "positive.txt") if not (folder / n).is_file()]
    if not folder.is_dir() or missing:
        raise InputError(
            f"--data {data} must be the Sentiment140 sample folder the hand labels refer to, "
            f"with negative.txt and positive.txt (e.g. ../shared/data/sentiment140)"
            + (f"; it has no {' or '.join(missing)}." if folder.is_dir() else "; it is no folder.")
        )


def run(args: argparse.Namespace) -> int:
    from captum_ext.adapters.loading import default_model_dir
    from captum_ext.data.human_eval import _vader, evaluate_model, format_accuracy_lines
    from captum_ext.validation import check_scalar

    parts = _parts(args.parts)
    check_scalar(args.lexicon_n, "--lexicon-n", int, min_val=2)
    check_scalar(
        args.lexicon_threshold,
        "--lexicon-threshold",
        float,
        min_val=0.0,
        max_val=1.0,
        include_boundaries="neither",
    )
    if args.data is not None:
        _check_data(args.data)
    if "lexicon" in parts:
        _vader()  # installed? before the model is loaded
    adapter = load_adapter(args)
    model_dir = args.model if args.model is not None else default_model_dir()
    report = evaluate_model(
        adapter,
        model_dir=model_dir,
        data=args.data,
        label_map=args.label_map,
        parts=parts,
        lexicon_n=args.lexicon_n,
        lexicon_threshold=args.lexicon_threshold,
    )
    if args.json:
        print_json({"command": "evaluate", **report})
        return 0
    print(f"model {report['model']}  (classes: {', '.join(report['classes'])})")
    for line in format_accuracy_lines(report):
        print(f"  {line}")
    for note in report["notes"]:
        print(f"note: {note}")
    return 0
