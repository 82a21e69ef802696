"""``captum-ext`` command line: parse arguments, call the library, print.

Each subcommand lives in ``captum_ext/commands/<name>.py`` with ``register(subparsers)``; adding a
command is one module plus one line in ``_COMMAND_MODULES``. User errors (bad text, file, option
or model) print one line ``error: ...`` and exit with status 2, without a traceback.
"""

from __future__ import annotations

import os

# Before torch is imported (by any subcommand): idle OpenMP threads sleep instead of spinning.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse  # noqa: E402
import importlib  # noqa: E402
import logging  # noqa: E402
import sys  # noqa: E402
import warnings  # noqa: E402

from captum_ext import __version__  # noqa: E402
from captum_ext.errors import CaptumExtError  # noqa: E402

__all__ = ["build_parser", "main"]

_COMMAND_MODULES: tuple[str, ...] = (
    "captum_ext.commands.methods",
    "captum_ext.commands.explain",
    "captum_ext.commands.pick",
    "captum_ext.commands.influence",
    "captum_ext.commands.demo",
    "captum_ext.commands.compare",
    "captum_ext.commands.finetune",
    "captum_ext.commands.internals",
    "captum_ext.commands.behaviour",
    "captum_ext.commands.evaluate",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="captum-ext",
        description="Explain text classifiers with Captum, SHAP and LIME, and compare the explanations.",
    )
    parser.add_argument("--version", action="version", version=f"captum-ext {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for mod in _COMMAND_MODULES:
        importlib.import_module(mod).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    if not args.verbose:
        warnings.filterwarnings("ignore", category=FutureWarning)
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()
    from captum_ext.commands._common import check_common_args

    try:
        check_common_args(args)  # --seed, --device, ... before any work
        return int(args.func(args) or 0)
    except CaptumExtError as e:
        print(f"error: {_one_line(str(e))}", file=sys.stderr)
        return 2
    except OSError as e:
        if e.filename is None or isinstance(e, BrokenPipeError):
            raise
        # a file the command reads or writes mid-run (disk full, a path made read-only):
        # paths given as options are checked up front by captum_ext.validation
        print(
            f"error: cannot read or write {e.filename} ({e.strerror or type(e).__name__}): "
            "check the path and free space, then run the command again.",
            file=sys.stderr,
        )
        return 2
    except KeyboardInterrupt:
        print(
            "interrupted (completed work is saved where the command supports resuming)",
            file=sys.stderr,
        )
        return 130
    except BrokenPipeError:
        return 0


def _one_line(message: str) -> str:
    """The message on one line, control characters escaped (a user's text can hold any)."""
    from captum_ext.terminal import escape_control

    return escape_control(" ".join(message.splitlines()))


if __name__ == "__main__":
    sys.exit(main())
