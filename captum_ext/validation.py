"""One place that checks what a user passes: numbers, choices, seeds, devices, paths, texts.

In the style of scikit-learn's :func:`sklearn.utils.check_scalar`: every check returns the value it
accepted and raises :class:`~captum_ext.errors.InputError` with one line that names the argument
(the keyword of a function, or the command-line option such as ``--out``), the value received
and the fix. The command line prints that line as ``error: ...`` and exits with status 2.

Examples::

    >>> from captum_ext.validation import check_scalar, check_choice, check_seed
    >>> check_scalar(5, "n_samples", int, min_val=1)
    5
    >>> check_scalar(1, "n_samples", int, min_val=2)
    Traceback (most recent call last):
    ...
    captum_ext.errors.InputError: n_samples must be an int >= 2, got 1.
    >>> check_scalar(1.5, "l1_ratio", min_val=0, max_val=1, include_boundaries="right")
    Traceback (most recent call last):
    ...
    captum_ext.errors.InputError: l1_ratio must be in (0, 1], got 1.5.
    >>> check_choice("log_odds", "output", ("probs", "logits", "log_odds"))
    'log_odds'
    >>> check_seed(-1, "--seed")
    Traceback (most recent call last):
    ...
    captum_ext.errors.InputError: --seed must be an int in [0, 4294967295] (numpy's seed range), got -1.
"""

from __future__ import annotations

import numbers
import os
import sys
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Literal

from captum_ext.errors import InputError

__all__ = [
    "OUTPUTS",
    "SEED_MAX",
    "check_cache_dir",
    "check_choice",
    "check_device",
    "check_method_names",
    "check_not_device",
    "check_output",
    "check_output_dir",
    "check_output_file",
    "check_scalar",
    "check_seed",
    "check_store_file",
    "read_stdin_lines",
    "read_text_lines",
    "stdin_is_interactive",
    "text_has_content",
]

OUTPUTS: tuple[str, ...] = ("probs", "logits", "log_odds")
"""What a model's score can be: probabilities, logits or log-odds of the target class."""

SEED_MAX: int = 2**32 - 1
"""The largest seed numpy's legacy ``RandomState`` (and so official LIME and SHAP) accepts."""

_TYPE_WORDS: dict[Any, str] = {int: "an int", float: "a float", numbers.Integral: "an int"}


# -- numbers and choices --------------------------------------------------------------------------
def check_scalar(
    x: Any,
    name: str,
    target_type: type | tuple[type, ...] = numbers.Real,
    *,
    min_val: float | None = None,
    max_val: float | None = None,
    include_boundaries: Literal["both", "left", "right", "neither"] = "both",
    allow_none: bool = False,
    hint: str = "",
    expected: str | None = None,
) -> Any:
    """``x`` if it is a ``target_type`` within the bounds, else an :class:`InputError`.

    Args:
        x: the value to check.
        name (str): what the user calls it (a keyword such as ``n_samples`` or an option such as
            ``--n``), used in the message.
        target_type (type or tuple): accepted types; ``int`` means any integral number (numpy
            integers too), ``float`` any real number. ``bool`` is never a number here. An
            explicit type is named in the message ("an int >= 1"). Default: any real number.
        min_val, max_val (float, optional): bounds (``None``: unbounded).
        include_boundaries (str): which bounds are allowed values: ``"both"`` (default),
            ``"left"``, ``"right"`` or ``"neither"``.
        allow_none (bool): accept ``None`` (returned as is). Default: False
        hint (str): why or what to do, added to the message (e.g. ``"(the representer theorem
            needs it)"``).
        expected (str, optional): what ``x`` must be, in words, for the message of a value
            out of range (e.g. ``"a positive int"``). Default: from the type and bounds.

    Returns:
        ``x`` unchanged.

    Examples::

        >>> check_scalar(3, "k", int, min_val=1)
        3
        >>> check_scalar(True, "k", int, min_val=1)
        Traceback (most recent call last):
        ...
        captum_ext.errors.InputError: k must be an int >= 1, got True.
        >>> check_scalar(0, "k", int, min_val=1, expected="a positive int")
        Traceback (most recent call last):
        ...
        captum_ext.errors.InputError: k must be a positive int, got 0.
        >>> check_scalar(0.0, "kernel_width", min_val=0, include_boundaries="neither")
        Traceback (most recent call last):
        ...
        captum_ext.errors.InputError: kernel_width must be > 0, got 0.0.
    """
    if x is None and allow_none:
        return x
    types = target_type if isinstance(target_type, tuple) else (target_type,)
    types = tuple(
        numbers.Integral if t is int else numbers.Real if t is float else t for t in types
    )
    left = include_boundaries in ("both", "left")
    right = include_boundaries in ("both", "right")
    if min_val is not None and max_val is not None:
        span = f"in {'[' if left else '('}{min_val}, {max_val}{']' if right else ')'}"
    elif min_val is not None:
        span = f"{'>=' if left else '>'} {min_val}"
    elif max_val is not None:
        span = f"{'<=' if right else '<'} {max_val}"
    else:
        span = ""
    tail = (f" {hint}" if hint else "") + (" or None" if allow_none else "")
    word = _TYPE_WORDS.get(target_type, "a number")
    if isinstance(x, bool) or not isinstance(x, types):
        raise InputError(f"{name} must be {word}{' ' + span if span else ''}{tail}, got {x!r}.")
    if expected is not None:
        span = expected
    elif target_type is not numbers.Real:  # an explicit type is named in every message
        span = f"{word} {span}" if span else word
    v: Any = x  # a number now (the isinstance check above narrows x to `object` for mypy)
    bad = False
    if min_val is not None:
        bad = not (v >= min_val if left else v > min_val)
    if max_val is not None and not bad:
        bad = not (v <= max_val if right else v < max_val)
    if bad or v != v:  # NaN fails every comparison
        raise InputError(f"{name} must be {span}{tail}, got {x!r}.")
    return x


def check_choice(x: Any, name: str, choices: Sequence[Any], *, hint: str = "") -> Any:
    """``x`` if it is one of ``choices``, else an :class:`InputError` listing them.

    Examples::

        >>> check_choice("mean", "how", ("sum", "mean", "max"))
        'mean'
        >>> check_choice("avg", "how", ("sum", "mean", "max"))
        Traceback (most recent call last):
        ...
        captum_ext.errors.InputError: how must be one of sum, mean, max, got 'avg'.
    """
    try:
        ok = x in choices
    except TypeError:  # an unhashable value against a set
        ok = False
    if not ok:
        listed = ", ".join(str(c) for c in choices)
        raise InputError(f"{name} must be one of {listed}{' ' + hint if hint else ''}, got {x!r}.")
    return x


def check_output(output: Any, name: str = "output") -> str:
    """``output`` if it is ``"probs"``, ``"logits"`` or ``"log_odds"`` (:data:`OUTPUTS`).

    Examples::

        >>> check_output("probs")
        'probs'
        >>> check_output("prob")
        Traceback (most recent call last):
        ...
        captum_ext.errors.InputError: output must be 'probs', 'logits' or 'log_odds', got 'prob'.
    """
    if output not in OUTPUTS:
        raise InputError(f"{name} must be 'probs', 'logits' or 'log_odds', got {output!r}.")
    return str(output)


def check_seed(seed: Any, name: str = "random_state") -> int:
    """``seed`` as an int in ``[0, 2**32 - 1]``: what numpy, official LIME and SHAP accept.

    Examples::

        >>> check_seed(0)
        0
        >>> check_seed(2**32, "--seed")
        Traceback (most recent call last):
        ...
        captum_ext.errors.InputError: --seed must be an int in [0, 4294967295] (numpy's seed range), got 4294967296.
    """
    check_scalar(seed, name, int, min_val=0, max_val=SEED_MAX, hint="(numpy's seed range)")
    return int(seed)


def check_device(device: Any, name: str = "device") -> Any:
    """``device`` as a :class:`torch.device` that exists on this machine (``"auto"``: CUDA when
    a GPU is present, else the CPU).

    Rejects names torch does not know (``bogus``), CUDA or MPS where there is none, a CUDA index
    past the last GPU and the ``meta`` device (no data), each with the fix.

    Examples::

        >>> check_device("cpu")
        device(type='cpu')
        >>> check_device("auto").type in ("cpu", "cuda")
        True
        >>> check_device("bogus", "--device")
        Traceback (most recent call last):
        ...
        captum_ext.errors.InputError: --device must be like 'cpu' or 'cuda:0', got 'bogus'.
    """
    import torch

    if isinstance(device, str) and device == "auto":  # CUDA when a GPU is present, else the CPU
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError, ValueError) as exc:
        raise InputError(f"{name} must be like 'cpu' or 'cuda:0', got {device!r}.") from exc
    cli = name.startswith("--")
    cpu = f"{name} cpu" if cli else f"{name}='cpu'"
    given = f"{name} {device!r}" if cli else f"{name}={device!r}"
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise InputError(f"{given} but CUDA is not available here: pass {cpu}.")
        count = torch.cuda.device_count()
        if dev.index is not None and dev.index >= count:
            raise InputError(
                f"{given} but this machine has {count} CUDA device(s): "
                f"use an index in [0, {count - 1}]."
            )
        return dev
    if dev.type == "meta":
        raise InputError(f"{name}='meta' holds no data: pass {cpu}.")
    if dev.type != "cpu":
        try:
            torch.zeros(1, device=dev)
        except Exception as exc:  # each backend raises its own type when it is missing
            raise InputError(
                f"{given} is not available here ({type(exc).__name__}): pass {cpu}."
            ) from None
    return dev


def check_method_names(value: str | None, name: str = "--methods") -> list[str] | None:
    """Names from a comma-separated list (``None``: not given). A list that names nothing
    (``","``, ``""``) is an error, not "every method".

    Examples::

        >>> check_method_names("ig, lime")
        ['ig', 'lime']
        >>> check_method_names(",,")
        Traceback (most recent call last):
        ...
        captum_ext.errors.InputError: --methods ',,' names no method: give comma-separated names from `captum-ext methods`, or leave --methods out for all.
    """
    if value is None:
        return None
    names = [m.strip() for m in value.split(",") if m.strip()]
    if not names:
        raise InputError(
            f"{name} {value!r} names no method: give comma-separated names from "
            f"`captum-ext methods`, or leave {name} out for all."
        )
    return names


# -- paths ----------------------------------------------------------------------------------------
def _reason(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__


def _probe_writable(folder: Path, name: str, path: Path) -> None:
    """Create and delete a file in ``folder``: the only test that holds for root, read-only
    mounts and ``/proc`` alike (``os.access`` is checked first for a clear reason)."""
    if not os.access(folder, os.W_OK | os.X_OK):
        raise InputError(
            f"{name} {path}: cannot write in {folder} (permission denied): give a path you "
            "can write to."
        )
    try:
        fd, tmp = tempfile.mkstemp(prefix=".captum-ext-write-test-", dir=folder)
    except OSError as exc:
        raise InputError(
            f"{name} {path}: cannot write in {folder} ({_reason(exc)}): give a path you can "
            "write to."
        ) from None
    os.close(fd)
    os.unlink(tmp)


def check_output_dir(path: str | os.PathLike[str], name: str = "--out") -> Path:
    """The folder ``path``, created if needed and checked writable.

    Errors (one line, naming ``name``): ``path`` is a file; a parent is a file; it cannot be
    created or written (read-only, permission, ``/proc``).

    Examples::

        >>> import tempfile, pathlib
        >>> d = pathlib.Path(tempfile.mkdtemp())
        >>> check_output_dir(d / "run").is_dir()
        True
        >>> (d / "f").write_text("x")
        1
        >>> check_output_dir(d / "f", "--out")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        captum_ext.errors.InputError: --out .../f exists and is not a folder: give a folder path.
    """
    p = Path(path).expanduser()
    if p.exists() and not p.is_dir():
        raise InputError(f"{name} {p} exists and is not a folder: give a folder path.")
    try:
        p.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise InputError(
            f"{name} {p} cannot be created: a part of the path is a file; give a folder path."
        ) from None
    except NotADirectoryError:
        raise InputError(
            f"{name} {p} cannot be created: a part of the path is a file; give a folder path."
        ) from None
    except OSError as exc:
        raise InputError(
            f"{name} {p} cannot be created ({_reason(exc)}): give a folder you can write to."
        ) from None
    _probe_writable(p, name, p)
    return p


def check_cache_dir(path: str | os.PathLike[str] | None, name: str = "--cache-dir") -> Path | None:
    """:func:`check_output_dir` for a cache folder (``None``: the default cache, not checked)."""
    return None if path is None else check_output_dir(path, name)


def check_output_file(path: str | os.PathLike[str], name: str = "--out") -> Path:
    """A file path that can be written: not a folder, its folder created and writable.

    Examples::

        >>> import tempfile, pathlib
        >>> d = pathlib.Path(tempfile.mkdtemp())
        >>> check_output_file(d / "sub" / "a.csv").parent.is_dir()
        True
        >>> check_output_file(d, "--out")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        captum_ext.errors.InputError: --out ... is a folder: give a file path, e.g. .../out.txt.
    """
    p = Path(path).expanduser()
    if p.is_dir():
        raise InputError(f"{name} {p} is a folder: give a file path, e.g. {p / 'out.txt'}.")
    parent = p.parent
    if parent.exists() and not parent.is_dir():
        raise InputError(f"{name} {p}: {parent} is a file, not a folder: give a file path.")
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(
            f"{name} {p}: cannot create {parent} ({_reason(exc)}): give a path you can write to."
        ) from None
    _probe_writable(parent, name, p)
    if p.exists() and not os.access(p, os.W_OK):
        raise InputError(f"{name} {p} is not writable: give a path you can write to.")
    return p


def check_store_file(path: str | os.PathLike[str] | None, name: str = "--store") -> Path | None:
    """A resumable store file (JSONL): writable as :func:`check_output_file`, and, when it
    exists, a UTF-8 file (the content itself is checked by its reader)."""
    if path is None:
        return None
    p = check_output_file(path, name)
    if p.exists():
        if not os.access(p, os.R_OK):
            raise InputError(f"{name} {p} is not readable: give a store you can read.")
        try:
            with open(p, encoding="utf-8") as fh:
                for _ in fh:
                    pass
        except UnicodeDecodeError:
            raise InputError(
                f"{name} {p} is not a UTF-8 JSONL store (corrupt or another file): "
                "pass a new --store path, or delete the file to start again."
            ) from None
    return p


# -- texts ----------------------------------------------------------------------------------------
def text_has_content(text: str) -> bool:
    """Whether ``text`` has a character that is not white space or a control character.

    Examples::

        >>> text_has_content("nice day"), text_has_content("\\x00\\x07 \\t")
        (True, False)
    """
    return any(not (ch.isspace() or (ord(ch) < 32 or 0x7F <= ord(ch) < 0xA0)) for ch in text)


def _lines(raw: Iterable[str], name: str, skipped: list[str] | None) -> list[str]:
    out: list[str] = []
    for n, line in enumerate(raw, start=1):
        if not line.strip():
            continue
        if not text_has_content(line):
            if skipped is not None:
                skipped.append(f"{name} line {n}: control characters only")
            continue
        out.append(line)
    return out


def check_not_device(path: str | os.PathLike[str], name: str) -> Path:
    """``path`` unless it is a device or socket (``/dev/zero`` would be read for ever): a
    regular file, a folder or a pipe (``<(cmd)``) pass.

    Examples::

        >>> check_not_device("/dev/zero", "--text-file")
        Traceback (most recent call last):
        ...
        captum_ext.errors.InputError: --text-file /dev/zero is a device, not a file: give a UTF-8 text file.
    """
    import stat

    p = Path(path).expanduser()
    try:
        mode = p.stat().st_mode
    except OSError:
        return p  # missing or unreadable: the reader says which
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) or stat.S_ISSOCK(mode):
        raise InputError(f"{name} {p} is a device, not a file: give a UTF-8 text file.")
    return p


def read_stdin_lines(name: str = "standard input", skipped: list[str] | None = None) -> list[str]:
    """The non-blank lines of standard input, decoded as strict UTF-8.

    A closed standard input (``0<&-``) and bytes that are not UTF-8 are clear errors, not a
    traceback; lines of control characters only are left out and named in ``skipped``.
    """
    stream = sys.stdin
    if stream is None:
        raise InputError(f"{name} is closed: pass TEXT or --text-file FILE.")
    buffer = getattr(stream, "buffer", None)
    try:
        if buffer is not None:
            data = buffer.read()
            text = data.decode("utf-8")
        else:
            text = stream.read()
    except UnicodeDecodeError as e:
        raise InputError(
            f"{name} is not UTF-8 ({e.reason} at byte {e.start}): pipe UTF-8 text, one text a line."
        ) from None
    except (OSError, ValueError) as exc:  # closed descriptor, a folder redirected in, ...
        raise InputError(f"{name} cannot be read ({exc}): pass TEXT or --text-file FILE.") from None
    if text.startswith("\ufeff"):
        text = text[1:]
    return _lines(text.replace("\r\n", "\n").split("\n"), name, skipped)


def stdin_is_interactive() -> bool:
    """Whether standard input is a terminal (or closed): then texts are not read from it."""
    stream = sys.stdin
    if stream is None:
        return True
    try:
        return stream.isatty()
    except (OSError, ValueError):
        return True


def read_text_lines(
    path: str | os.PathLike[str], name: str = "--text-file", skipped: list[str] | None = None
) -> list[str]:
    """The non-blank lines of the UTF-8 file ``path`` (``-``: standard input).

    Errors name ``name``: missing file, a folder, unreadable, not UTF-8. Lines of control
    characters only (a NUL line) are left out and named in ``skipped``.

    Examples::

        >>> import tempfile, pathlib
        >>> f = pathlib.Path(tempfile.mkdtemp()) / "t.txt"
        >>> _ = f.write_text("nice day\\n\\n\\x00\\nbad day\\n", encoding="utf-8")
        >>> skipped = []
        >>> read_text_lines(f, skipped=skipped), skipped
        (['nice day', 'bad day'], ['--text-file line 3: control characters only'])
        >>> read_text_lines(f.parent, "--queries")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        captum_ext.errors.InputError: --queries ... is a folder: give a UTF-8 text file, one text a line.
    """
    if str(path) == "-":
        return read_stdin_lines(f"{name} - (standard input)", skipped)
    p = check_not_device(path, name)
    if p.is_dir():
        raise InputError(f"{name} {p} is a folder: give a UTF-8 text file, one text a line.")
    try:
        with open(p, encoding="utf-8") as fh:
            text = fh.read()
    except FileNotFoundError:
        raise InputError(
            f"{name} {p} does not exist: give a UTF-8 text file, one text a line."
        ) from None
    except UnicodeDecodeError as e:
        raise InputError(f"{name} {p} is not UTF-8 ({e.reason}): save it as UTF-8.") from None
    except OSError as exc:
        raise InputError(
            f"{name} {p} cannot be read ({_reason(exc)}): give a UTF-8 text file you can read."
        ) from None
    if text.startswith("\ufeff"):
        text = text[1:]
    return _lines(text.split("\n"), name, skipped)
