"""Text for a terminal: a user's tweet may hold ESC, BEL or backspace, never echoed raw.

Examples::

    >>> from captum_ext.terminal import escape_control
    >>> print(escape_control("nice\\x1b[31m day\\x07"))
    nice\\x1b[31m day\\x07
    >>> escape_control("tab\\tstays, é and 😀 too")
    'tab\\tstays, é and 😀 too'
"""

from __future__ import annotations

import re

__all__ = ["escape_control"]

# C0 controls but tab, DEL, C1 controls, and the bidi overrides that reorder what a terminal shows
_CONTROL = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def escape_control(text: str) -> str:
    """``text`` with control characters written as Python escapes (``\\x1b``, ``\\u202e``)."""
    return _CONTROL.sub(lambda m: m.group(0).encode("unicode_escape").decode("ascii"), text)
