"""Options and helpers shared by subcommands (thin: the library does the work)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

__all__ = [
    "add_engine_args",
    "add_model_args",
    "engine_from_args",
    "add_target_arg",
    "check_common_args",
    "label_model",
    "load_adapter",
    "method_list",
    "print_json",
    "read_texts",
    "resolve_target",
]


def add_model_args(parser: argparse.ArgumentParser) -> None:
    """``--model``, ``--max-length``, ``--batch-size``, ``--device``, ``--precision``,
    ``--label-map``."""
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
    g.add_argument(
        "--label-map",
        metavar="MAP",
        default=None,
        help="which model class each data label (or negative/neutral/positive) is, when the "
        "names do not say it: DATA=CLASS pairs (CLASS a class name or index), e.g. "
        "negative=0,positive=1, or a JSON object (default: match by name and common aliases)",
    )


def add_engine_args(parser: argparse.ArgumentParser, *, what: str) -> None:
    """``--engine {local,ray}``, ``--address``, ``--workers``, ``--threads-per-worker``,
    ``--gpus-per-worker`` (docs/harness.md, "Ray"); ``what`` says what the actors compute."""
    eng = parser.add_argument_group("engine")
    eng.add_argument(
        "--engine",
        choices=("local", "ray"),
        default="local",
        help=f"local: this process (default); ray: {what} sharded across Ray actors, one model "
        "each (pip install 'captum-ext[ray]')",
    )
    eng.add_argument(
        "--address",
        default=None,
        help="Ray cluster to join (auto, ray://HOST:10001); default: start a local Ray",
    )
    eng.add_argument("--workers", type=int, default=2, help="Ray actors (default 2)")
    eng.add_argument(
        "--threads-per-worker", type=int, default=1, help="torch threads per actor (default 1)"
    )
    eng.add_argument(
        "--gpus-per-worker", type=float, default=0.0, help="GPUs per actor (default 0)"
    )


def engine_from_args(args: argparse.Namespace) -> Any:
    """The :class:`~captum_ext.engines.RayEngine` of ``--engine ray`` (its actors load the model
    options of ``args``), or None for ``--engine local``. Without Ray installed: a one-line
    error naming ``pip install 'captum-ext[ray]'``."""
    if getattr(args, "engine", "local") != "ray":
        if getattr(args, "address", None) is not None:
            from captum_ext.errors import InputError

            raise InputError("--address joins a Ray cluster: it needs --engine ray.")
        return None
    from captum_ext.engines import RayEngine

    return RayEngine(
        model=args.model,
        adapter_kwargs={
            "max_length": args.max_length,
            "batch_size": args.batch_size,
            "device": args.device,
            "precision": getattr(args, "precision", None),
        },
        workers=args.workers,
        threads_per_worker=args.threads_per_worker,
        gpus_per_worker=args.gpus_per_worker,
        address=args.address,
    )


def method_list(value: str | None, option: str = "--methods") -> list[str] | None:
    """Registered method names from ``--methods a,b,c`` (``None``: every method).

    An empty list (``","``) and unknown names fail here, before the model is loaded.
    """
    from captum_ext.methods import get_method
    from captum_ext.validation import check_method_names

    names = check_method_names(value, option)
    for name in names or ():
        get_method(name)
    return names


def check_common_args(args: argparse.Namespace) -> None:
    """Check the options many commands share, before any work: ``--seed`` (numpy's range),
    ``--device`` (exists here), ``--batch-size``, ``--max-length`` and the form of
    ``--label-map`` (its classes are checked against the model by :func:`load_adapter`). Called
    by :func:`captum_ext.cli.main` for every command."""
    from captum_ext.labels import parse_label_map
    from captum_ext.validation import check_device, check_scalar, check_seed

    if getattr(args, "seed", None) is not None:
        check_seed(args.seed, "--seed")
    if getattr(args, "batch_size", None) is not None:
        check_scalar(args.batch_size, "--batch-size", int, min_val=1)
    if getattr(args, "max_length", None) is not None:
        check_scalar(args.max_length, "--max-length", int, min_val=3)
    if getattr(args, "device", None) is not None:
        check_device(args.device, "--device")
    if getattr(args, "label_map", None) is not None:
        parse_label_map(args.label_map)


def load_adapter(args: argparse.Namespace, *, attn_implementation: str | None = None):
    """The adapter for the model options of ``args``; a ``--label-map`` naming a class the model
    does not have is an error here, whether or not the command goes on to use it."""
    from captum_ext.adapters import TextClassifierAdapter

    adapter = TextClassifierAdapter.from_pretrained(
        args.model,
        max_length=args.max_length,
        batch_size=args.batch_size,
        device=args.device,
        attn_implementation=attn_implementation,
        precision=getattr(args, "precision", None),
    )
    if getattr(args, "label_map", None) is not None:
        label_model(args, adapter)
    return adapter


def label_model(args: argparse.Namespace, adapter: Any):
    """The adapter's :class:`~captum_ext.labels.LabelModel` with ``--label-map``."""
    from captum_ext.labels import LabelModel

    return LabelModel.of(adapter, getattr(args, "label_map", None))


def add_target_arg(parser: argparse.ArgumentParser) -> None:
    """``--target``: the class to explain."""
    parser.add_argument(
        "--target",
        default=None,
        help="class to explain: a class name, an index, or negative/neutral/positive (aliases and "
        "--label-map apply) (default: the predicted class)",
    )


def resolve_target(args: argparse.Namespace, adapter: Any) -> int | None:
    """``--target`` as a class index (None: the predicted class), asked of the label model."""
    target = getattr(args, "target", None)
    if target is None:
        return None
    if str(target).strip().isdigit():
        return int(adapter.resolve_target(str(target).strip()))
    found = label_model(args, adapter).find(target, codes=False)
    return int(adapter.resolve_target(target)) if found is None else found


def read_texts(args: argparse.Namespace, *, option: str = "--text-file") -> list[str]:
    """Texts from ``args.text`` (list or str), ``args.text_file`` (``-``: stdin) or piped
    standard input, one per line; errors name ``option`` (``--text-file``, ``--queries``).

    Lines of control characters only (a NUL line) are left out with a note on stderr; no text
    left is an error naming where the texts were looked for.
    """
    from captum_ext.errors import InputError
    from captum_ext.validation import read_stdin_lines, read_text_lines, stdin_is_interactive

    texts: list[str] = []
    skipped: list[str] = []
    text = getattr(args, "text", None)
    if isinstance(text, str):
        texts.append(text)
    elif text:
        texts.extend(text)
    path = getattr(args, "text_file", None)
    if path:
        texts.extend(read_text_lines(path, option, skipped))
    elif path is None and text is None and not stdin_is_interactive():
        texts.extend(read_stdin_lines("standard input", skipped))
    if not texts:
        what = "only blank lines or control characters" if skipped else "no text"
        if path:
            raise InputError(f"{option} {path} has {what}: give one text a line.")
        if skipped:
            raise InputError(f"standard input has {what}: pipe one text a line.")
        raise InputError("no text given: pass TEXT, --text-file FILE, or pipe texts on stdin.")
    for note in skipped:
        print(f"note: skipped {note}", file=sys.stderr)
    return texts


def print_json(obj: Any) -> None:
    """One JSON object on one line."""
    sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")
