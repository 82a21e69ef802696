"""Griffe extension: read Captum-style docstrings as Google-style Markdown.

Our docstrings follow Captum: ``Examples::`` then a blank line and indented ``>>>`` lines, and
Sphinx roles such as ``:class:`~captum_ext.result.WordAttribution``` or ``:math:`\\alpha```.
Griffe's Google parser wants ``Examples:`` followed directly by the indented lines, and Markdown
knows no roles. Rewriting both lets the API reference render the examples as highlighted Python
sessions and the roles as inline code.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

_EXAMPLES = re.compile(r"^(\s*)Examples::\s*\n(\s*\n)+", re.MULTILINE)
_ROLE = re.compile(r":(?:class|func|meth|mod|attr|data|exc|obj|math|ref):`~?([^`]+)`")


class CaptumExamples(griffe.Extension):
    def on_instance(self, *, obj: Any, **kwargs: Any) -> None:
        doc = getattr(obj, "docstring", None)
        if doc is None:
            return
        value = doc.value
        if "Examples::" in value:
            value = _EXAMPLES.sub(r"\1Examples:\n", value)
        if ":`" in value:
            value = _ROLE.sub(r"`\1`", value)
        doc.value = value
