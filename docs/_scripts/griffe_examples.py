"""Griffe extension: read Captum-style ``Examples::`` blocks as Google-style example sections.

Our docstrings follow Captum (``Examples::``, a blank line, then indented ``>>>`` lines); Griffe's
Google parser wants ``Examples:`` followed directly by the indented lines. Rewriting the header
lets the API reference render the examples as highlighted Python sessions.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

_EXAMPLES = re.compile(r"^(\s*)Examples::\s*\n(\s*\n)+", re.MULTILINE)


class CaptumExamples(griffe.Extension):
    def on_instance(self, *, obj: Any, **kwargs: Any) -> None:
        doc = getattr(obj, "docstring", None)
        if doc is not None and "Examples::" in doc.value:
            doc.value = _EXAMPLES.sub(r"\1Examples:\n", doc.value)
