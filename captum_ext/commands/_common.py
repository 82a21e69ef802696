"""Options and helpers shared by subcommands (thin: the library does the work)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

__all__ = ["add_model_args", "load_adapter", "method_list", "print_json", "read_texts"]


def add_model_args(parser: argparse.ArgumentParser) -> None:
    """``--model``, ``--max-length``, ``--batch-size``, ``--device``, ``--precision``."""
    g = parser.add_argument_group("model")
    g.add_argument(
        "--model",
        metavar="DIR",
        default=None,
        help="local Hugging Face checkpoint directory (default: the fine-tuned default model "
        "in the user cache, created by `captum-ext finetune` or `make demo`)",
    )
    g.add_argument(
        "--max-length", type=int, default=None, help="word-pieces per text (default 128)"
    )
    g.add_argument("--batch-size", type=int, default=64, help="texts per forward pass (default 64)")
    g.add_argument(
        "--device",
        default="auto",
        help="torch device: auto (CUDA when a GPU is present, else cpu), cpu, cuda, cuda:1 ... "
        "(default auto)",
    )
    g.add_argument(
        "--precision",
        choices=("fp32", "bf16", "fp16", "auto"),
        default=None,
        help="precision of forwards and gradients (torch.autocast): fp32, bf16, fp16 or auto "
        "(bf16 on a CPU with native bf16, bf16/fp16 on CUDA, else fp32). Default: each method "
        "family's measured default (see `captum-ext methods --json`), fp32 elsewhere",
    )


def method_list(value: str | None) -> list[str] | None:
    """Registered method names from ``--methods a,b,c`` (``None``: every method).

    Unknown names fail here, before the model is loaded (``UnknownMethodError``).
    """
    if not value:
        return None
    from captum_ext.methods import get_method

    names = [m.strip() for m in value.split(",") if m.strip()]
    for name in names:
        get_method(name)
    return names


def load_adapter(args: argparse.Namespace, *, attn_implementation: str | None = None):
    """The adapter for the model options of ``args``."""
    from captum_ext.adapters import TextClassifierAdapter

    return TextClassifierAdapter.from_pretrained(
        args.model,
        max_length=args.max_length,
        batch_size=args.batch_size,
        device=args.device,
        attn_implementation=attn_implementation,
        precision=getattr(args, "precision", None),
    )


def read_texts(args: argparse.Namespace) -> list[str]:
    """Texts from ``args.text`` (list or str), ``--text-file`` or standard input (one per line)."""
    from captum_ext.errors import InputError

    texts: list[str] = []
    text = getattr(args, "text", None)
    if isinstance(text, str):
        texts.append(text)
    elif text:
        texts.extend(text)
    path = getattr(args, "text_file", None)
    if path == "-":
        texts.extend(line.rstrip("\n") for line in sys.stdin if line.strip())
    elif path:
        try:
            with open(path, encoding="utf-8") as fh:
                texts.extend(line.rstrip("\n") for line in fh if line.strip())
        except FileNotFoundError:
            raise InputError(f"--text-file {path} does not exist.") from None
        except UnicodeDecodeError as e:
            raise InputError(
                f"--text-file {path} is not UTF-8 ({e.reason}): save it as UTF-8."
            ) from None
    if not texts and path is None and text is None and not sys.stdin.isatty():
        texts.extend(line.rstrip("\n") for line in sys.stdin if line.strip())
    if not texts:
        raise InputError("no text given: pass TEXT, --text-file FILE, or pipe texts on stdin.")
    return texts


def print_json(obj: Any) -> None:
    """One JSON object on one line."""
    sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")
