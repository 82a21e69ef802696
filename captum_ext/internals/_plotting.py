"""Private plotting helpers for the internals modules (matplotlib, headless)."""

from __future__ import annotations

import json
import os
from typing import Any

__all__: list[str] = []  # private module


def pyplot() -> Any:
    """``matplotlib.pyplot`` on a non-interactive backend unless one was chosen already."""
    import matplotlib

    if matplotlib.get_backend().lower() not in (
        "agg",
        "svg",
        "pdf",
        "module://matplotlib_inline.backend_inline",
    ):
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plain_label(text: str) -> str:
    """A label matplotlib shows literally: ``$`` would start mathtext."""
    return str(text).replace("$", r"\$")


def save_figure(fig: Any, path: str | os.PathLike, *, dpi: int = 120) -> None:
    """Save (PNG, SVG or PDF from the suffix) and close the figure."""
    plt = pyplot()
    fig.savefig(path, dpi=dpi, bbox_inches="tight")
    plt.close(fig)


def script_json(obj: Any) -> str:
    """JSON safe to embed in ``<script type="application/json">`` (no ``</script>`` breakout)."""
    return (
        json.dumps(obj, ensure_ascii=False, allow_nan=False)
        .replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )
