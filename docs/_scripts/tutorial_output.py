"""Helpers for the executed tutorials: save figures into the built site and embed them.

Used from hidden lines (``# markdown-exec: hide``) of ``python exec="on" html="1"`` blocks::

    fig = plot_word_heatmap([ig, lime, shap])
    print(tutorial_output.figure(fig, "heatmap"))  # markdown-exec: hide

The figure is written as PNG and SVG next to the page being built
(``site/<page dir>/figures/<page>-<name>.png``) and an ``<img>`` pointing at the PNG is returned.
The docs-site test checks every such image loads with a nonzero size.
"""

from __future__ import annotations

import html as _html
import warnings
from pathlib import Path, PurePosixPath
from typing import Any

_state: dict[str, Any] = {"site_dir": None, "page": None}
DPI = 110  # of the PNGs


def configure(*, site_dir: str) -> None:
    _state["site_dir"] = Path(site_dir)


def start_page(dest_path: str) -> None:
    """Record the output path (relative to the site) of the page markdown-exec is about to run."""
    _state["page"] = PurePosixPath(dest_path.replace("\\", "/"))


def _target(name: str, suffix: str) -> tuple[Path, str]:
    if _state["site_dir"] is None or _state["page"] is None:
        raise RuntimeError("tutorial_output is used outside an mkdocs build (hooks.py sets it up)")
    page: PurePosixPath = _state["page"]
    rel = f"figures/{page.stem}-{name}.{suffix}"
    path = Path(_state["site_dir"]) / page.parent / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    return path, rel


def figure(fig: Any, name: str, *, alt: str | None = None, caption: str | None = None) -> str:
    """Save a matplotlib figure as PNG and SVG in the site; return HTML embedding the PNG."""
    import matplotlib.text

    png, png_rel = _target(name, "png")
    svg, svg_rel = _target(name, "svg")
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Glyph .* missing from font")
        fig.savefig(png, dpi=DPI, bbox_inches="tight")
        fig.savefig(svg, bbox_inches="tight")
    sizes = [
        float(t.get_fontsize())
        for t in fig.findobj(matplotlib.text.Text)
        if t.get_visible() and t.get_text().strip()
    ]
    # the smallest label in px at the PNG's natural size (the docs test scales it as shown)
    min_px = min(sizes) * DPI / 72.0 if sizes else 0.0
    import matplotlib.pyplot as plt

    plt.close(fig)
    if alt is None:
        alt = caption or name.replace("-", " ")
    cap = _html.escape(caption) + " · " if caption else ""
    return (
        f'<figure class="tutorial-figure">'
        f'<img src="{png_rel}" alt="{_html.escape(alt, quote=True)}" loading="eager"'
        f' data-min-font-px="{min_px:.2f}">'
        f'<figcaption>{cap}<a href="{svg_rel}">SVG</a></figcaption></figure>'
    )


def html(fragment: str) -> str:
    """Wrap an HTML fragment (already escaped by captum_ext.viz) for the page."""
    return f'<div class="tutorial-output">{fragment}</div>'


def text(value: Any) -> str:
    """Pre-formatted, escaped text output (for blocks that also emit HTML)."""
    return f'<pre class="tutorial-output"><code>{_html.escape(str(value))}</code></pre>'
