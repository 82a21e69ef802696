"""The default model's accuracy on emoticon, hand-checked and lexicon-agreed labels (issue 13).

Sentiment140's labels come from emoticons; this scores the fine-tuned default model (or
``--model DIR``) on three test sets of the shared sample, none of them tweets it trained on:

1. the emoticon-labelled held-out split of its fine-tune (2,000 tweets, from its metrics.json);
2. the hand-labelled fixture ``captum_ext/data/human_labels.csv`` (its positive/negative rows);
3. the lexicon-agreement set: tweets whose emoticon label agrees with VADER's polarity
   (|compound| >= 0.5; needs ``pip install vaderSentiment``, in the dev extra).

    .venv/bin/python benchmarks/eval_default_model.py
    .venv/bin/python benchmarks/eval_default_model.py --model runs/my-model --lexicon-n 4000

Writes ``benchmarks/results/eval_default_model.json`` (the full report of
:func:`captum_ext.data.human_eval.evaluate_model`). The forwards are a few thousand tweets: a
minute or two on the 2-core machine.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import load_default_adapter, write_results

#: the hand-labelled accuracy the default model must reach (tests/integration/test_human_eval_real.py)
HUMAN_FLOOR = 0.85


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--model", default=None, help="checkpoint folder (default: the default model)"
    )
    parser.add_argument(
        "--lexicon-n", type=int, default=2000, help="lexicon set size (default 2000)"
    )
    args = parser.parse_args(argv)

    from captum_ext.adapters.loading import default_model_dir
    from captum_ext.data.human_eval import evaluate_model, format_accuracy_lines

    model_dir = Path(args.model) if args.model else default_model_dir()
    t0 = time.perf_counter()
    if args.model is None:
        adapter = load_default_adapter()
    else:
        from captum_ext.adapters import TextClassifierAdapter

        adapter = TextClassifierAdapter.from_pretrained(model_dir)
    report = evaluate_model(adapter, model_dir=model_dir, lexicon_n=args.lexicon_n)
    seconds = time.perf_counter() - t0
    for line in format_accuracy_lines(report, show_skipped=True):
        print(line)
    human = report["human"]
    print(
        f"hand-labelled fixture: {human['fixture_rows']} tweets, {human['n']} with a polarity, "
        f"{human['neither']} neither; agreement with the emoticon labels "
        f"{human['agreement_with_emoticon']:.3f}; floor {HUMAN_FLOOR}"
    )
    for note in report["notes"]:
        print(f"note: {note}")
    write_results(
        "eval_default_model",
        {"report": report, "seconds": seconds, "human_floor": HUMAN_FLOOR,
         "human_floor_met": human["accuracy"] >= HUMAN_FLOOR},
    )  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
