"""Errors a user can fix.

Every error that the command line should print as one clear line (no traceback) derives from
:class:`CaptumExtError`. Messages name the argument or file, the value received and the fix, in the
style of scikit-learn: ``ValueError: n_samples must be >= 2, got 0.``
"""

from __future__ import annotations

__all__ = [
    "CaptumExtError",
    "DataError",
    "InputError",
    "ModelLoadError",
    "UnknownMethodError",
]


class CaptumExtError(Exception):
    """Base class of errors caused by user input (bad text, file, option or model)."""


class InputError(CaptumExtError, ValueError):
    """An argument has a value the function cannot use (empty text, unknown label, k too large)."""


class DataError(CaptumExtError, ValueError):
    """A data file cannot be read: names the file, the line and the fix."""

    def __init__(self, message: str, *, path: str | None = None, line: int | None = None) -> None:
        where = ""
        if path is not None:
            where = f"{path}"
            if line is not None:
                where += f", line {line}"
            where += ": "
        super().__init__(where + message)
        self.path = path
        self.line = line


class ModelLoadError(CaptumExtError, OSError):
    """A model directory is missing, incomplete or corrupt."""


class UnknownMethodError(CaptumExtError, KeyError):
    """A method name that is not in the registry."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""
