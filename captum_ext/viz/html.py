"""Escaped HTML views of word attributions: one text coloured by word, or several methods side by side.

Everything here returns an :class:`HTMLFragment`: a ``str`` (embed it in any page) that notebooks
also render (it has ``_repr_html_``). The fragments are self-contained: all styling is inline
(``style="..."``), no ``<style>`` block, no script, no external resource. Every piece of text that
comes from the data (the text, words, method names, labels, settings) goes through
:func:`html.escape`, so a tweet containing ``<script>`` or ``<img onerror=...>`` is shown as text
(Captum's own ``visualize_text`` writes words unescaped, Captum issue #1226).

Colours: for signed methods, green pushes towards the explained class and red away from it (as in
Captum's ``visualize_text``); unsigned methods (attention) are shaded blue by magnitude. Opacity is
the score divided by the largest absolute score of the row (``scale="row"``) or of all rows
(``scale="shared"``), or by a number you pass.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from typing import Any, Literal

import numpy as np

from captum_ext.errors import InputError
from captum_ext.result import WordAttribution

__all__ = [
    "HTMLFragment",
    "attribution_html",
    "compare_html",
    "html_page",
    "score_color",
]

Scale = Literal["row", "shared"] | float

_POS = (22, 150, 70)  # green: pushes towards the target class
_NEG = (214, 39, 40)  # red: pushes away from it
_MAG = (31, 119, 180)  # blue: unsigned magnitude
_MAX_ALPHA = 0.85

_FONT = "font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;"


class HTMLFragment(str):
    """An HTML string that Jupyter renders as HTML (``_repr_html_``) and that is still a ``str``.

    Examples::

        >>> frag = HTMLFragment("<b>hi</b>")
        >>> frag._repr_html_()
        '<b>hi</b>'
        >>> frag.upper()
        '<B>HI</B>'
    """

    def _repr_html_(self) -> str:
        return str(self)

    def save(self, path: str) -> None:
        """Write the fragment as a complete UTF-8 HTML page (see :func:`html_page`)."""
        with open(path, "w", encoding="utf-8") as f:
            f.write(html_page(self))


def escape_html(value: object) -> str:
    """``str(value)`` escaped for HTML text and attribute values (quotes included): the one
    escape every HTML writer of the package uses.

    Examples::

        >>> escape_html('<b title="x">&</b>')
        '&lt;b title=&quot;x&quot;&gt;&amp;&lt;/b&gt;'
    """
    return html.escape(str(value), quote=True)


_esc = escape_html


def score_color(score: float, scale: float, *, signed: bool = True) -> str:
    """CSS ``rgba(...)`` background for one score.

    Args:
        score (float): the word's score.
        scale (float): the score that gets full colour (usually the largest absolute score);
            larger scores are clipped.
        signed (bool, optional): green/red by sign if True, blue by magnitude if False.
            Default: True

    Returns:
        str: a CSS colour, transparent for a zero score or a zero scale.

    Examples::

        >>> score_color(0.5, 1.0)
        'rgba(22,150,70,0.425)'
        >>> score_color(-2.0, 1.0)
        'rgba(214,39,40,0.850)'
        >>> score_color(0.0, 1.0)
        'rgba(0,0,0,0.000)'
    """
    if not np.isfinite(score) or scale <= 0 or score == 0:
        return "rgba(0,0,0,0.000)"
    alpha = min(abs(float(score)) / float(scale), 1.0) * _MAX_ALPHA
    rgb = _MAG if not signed else (_POS if score > 0 else _NEG)
    return f"rgba({rgb[0]},{rgb[1]},{rgb[2]},{alpha:.3f})"


def one_text(attributions: Sequence[WordAttribution], fix: str) -> list[WordAttribution]:
    """The results as a list, checked to be at least one and all for the same text and words."""
    rows = list(attributions)
    if not rows:
        raise InputError("attributions must hold at least one WordAttribution, got none.")
    for wa in rows[1:]:
        if (wa.text, wa.text_pair, wa.words) != (rows[0].text, rows[0].text_pair, rows[0].words):
            raise InputError(
                f"all attributions must explain the same text; got {rows[0].text!r} "
                f"({rows[0].method}) and {wa.text!r} ({wa.method}). {fix}"
            )
    return rows


def _max_abs(wa: WordAttribution) -> float:
    finite = wa.scores[np.isfinite(wa.scores)]
    return float(np.max(np.abs(finite))) if finite.size else 0.0


def _resolve_scale(scale: Scale, rows: Sequence[WordAttribution]) -> list[float]:
    if isinstance(scale, (int, float)) and not isinstance(scale, bool):
        if not scale > 0:
            raise InputError(f"scale must be 'row', 'shared' or a number > 0, got {scale!r}.")
        return [float(scale)] * len(rows)
    if scale == "row":
        return [_max_abs(wa) for wa in rows]
    if scale == "shared":
        # Unsigned methods (attention) live on another scale than signed ones: share within kind.
        shared = {
            kind: max([_max_abs(wa) for wa in rows if wa.signed == kind], default=0.0)
            for kind in (True, False)
        }
        return [shared[wa.signed] for wa in rows]
    raise InputError(f"scale must be 'row', 'shared' or a number > 0, got {scale!r}.")


def _coloured_text(wa: WordAttribution, scale: float, *, precision: int = 3) -> str:
    """The text with each word in a coloured span; text between words kept (escaped).

    A text pair shows its two texts one after the other, separated by a grey ``[SEP]`` mark.
    """
    if wa.text_pair is None:
        return _coloured_segment(wa, wa.text, range(len(wa.words)), scale, precision)
    sides = [
        _coloured_segment(
            wa, text, [i for i in range(len(wa.words)) if wa.segment_of(i) == g], scale, precision
        )
        for g, text in enumerate((wa.text, wa.text_pair))
    ]
    sep = '<span style="color:#888;font-size:0.8em;padding:0 4px;">[SEP]</span>'
    return f'<span class="segment-0">{sides[0]}</span>{sep}<span class="segment-1">{sides[1]}</span>'


def _coloured_segment(
    wa: WordAttribution, text: str, indices: Iterable[int], scale: float, precision: int
) -> str:
    parts: list[str] = []
    pos = 0
    order = sorted(indices, key=lambda i: wa.spans[i])
    for i in order:
        start, end = wa.spans[i]
        if start < pos:  # overlapping spans (should not happen): show the word once
            continue
        parts.append(_esc(text[pos:start]))
        score = float(wa.scores[i])
        tip = f"{wa.words[i]}: {score:+.{precision}g}"
        parts.append(
            f'<span style="background-color:{score_color(score, scale, signed=wa.signed)};'
            f'border-radius:3px;padding:0 1px;" title="{_esc(tip)}">{_esc(text[start:end])}</span>'
        )
        pos = end
    parts.append(_esc(text[pos:]))
    return "".join(parts)


def _prediction(wa: WordAttribution) -> str:
    probs = ", ".join(
        f"{_esc(lab)} {float(p):.2f}" for lab, p in zip(wa.labels, wa.probs, strict=False)
    )
    return (
        f"target <b>{_esc(wa.target_label)}</b> · predicted <b>{_esc(wa.predicted_label)}</b>"
        f" ({probs})"
    )


def _legend(signed_kinds: set[bool]) -> str:
    items = []
    if True in signed_kinds:
        items.append(
            f'<span style="background-color:{score_color(1, 1)};padding:0 4px;">towards target</span>'
        )
        items.append(
            f'<span style="background-color:{score_color(-1, 1)};padding:0 4px;">'
            "away from target</span>"
        )
    if False in signed_kinds:
        items.append(
            f'<span style="background-color:{score_color(1, 1, signed=False)};'
            'padding:0 4px;">importance (unsigned)</span>'
        )
    return (
        '<div style="margin-top:4px;font-size:0.8em;color:#555;">'
        + " ".join(items)
        + " · hover a word for its score</div>"
    )


def attribution_html(
    attribution: WordAttribution,
    *,
    scale: Scale = "row",
    header: bool = True,
    legend: bool = True,
) -> HTMLFragment:
    """The text of one result with each word coloured by its score (escaped, inline CSS).

    Args:
        attribution (WordAttribution): the result to show.
        scale (str or float, optional): ``"row"`` (largest absolute score gets full colour) or a
            number (the score that gets full colour, to compare several fragments). Default: "row"
        header (bool, optional): show the method, target and prediction above the text.
            Default: True
        legend (bool, optional): show the colour legend. Default: True

    Returns:
        HTMLFragment: a ``<div>`` (a ``str`` that notebooks render).

    Examples::

        >>> import numpy as np
        >>> from captum_ext.result import WordAttribution
        >>> wa = WordAttribution(text="not <b>bad</b>", words=["not", "<", "b", ">", "bad"],
        ...     spans=[(0, 3), (4, 5), (5, 6), (6, 7), (7, 10)],
        ...     scores=np.array([0.5, 0, 0, 0, -1.0]), target=1,
        ...     labels=("negative", "positive"), probs=np.array([0.3, 0.7]), method="demo")
        >>> frag = attribution_html(wa, header=False, legend=False)
        >>> "<b>" in frag, "&lt;" in frag
        (False, True)
        >>> frag.count("<span")
        5
    """
    (row_scale,) = _resolve_scale(scale, [attribution])
    head = ""
    if header:
        head = (
            f'<div style="font-size:0.85em;color:#444;margin-bottom:2px;">'
            f"<b>{_esc(attribution.method)}</b> · {_prediction(attribution)}</div>"
        )
    body = f'<div style="line-height:1.9;white-space:pre-wrap;">{_coloured_text(attribution, row_scale)}</div>'
    foot = _legend({attribution.signed}) if legend else ""
    return HTMLFragment(
        f'<div class="captum-ext-attribution" style="{_FONT}margin:4px 0;">{head}{body}{foot}</div>'
    )


def compare_html(
    attributions: Sequence[WordAttribution],
    *,
    scale: Scale = "row",
    legend: bool = True,
) -> HTMLFragment:
    """Several methods' results for the same text, one row per method (escaped, inline CSS).

    Args:
        attributions (sequence of WordAttribution): results for one text (same ``text``), e.g.
            IG, LIME and SHAP.
        scale (str or float, optional): ``"row"`` (each method's largest absolute score gets full
            colour: compares rankings), ``"shared"`` (one scale for all signed rows: compares
            magnitudes, meaningful only if the methods share units) or a number. Default: "row"
        legend (bool, optional): show the colour legend. Default: True

    Returns:
        HTMLFragment: a ``<div>`` holding a table (a ``str`` that notebooks render).

    Raises:
        InputError: no results, or results for different texts.

    Examples::

        >>> import numpy as np
        >>> from captum_ext.result import WordAttribution
        >>> def wa(method, scores):
        ...     return WordAttribution(text="so <script>bad</script>",
        ...         words=["so", "<", "script", ">", "bad", "</", "script", ">"],
        ...         spans=[(0, 2), (3, 4), (4, 10), (10, 11), (11, 14), (14, 16), (16, 22),
        ...                (22, 23)],
        ...         scores=np.array(scores, dtype=float), target=0,
        ...         labels=("negative", "positive"), probs=np.array([0.8, 0.2]), method=method)
        >>> frag = compare_html([wa("ig", [0.1, 0, 0, 0, 0.9, 0, 0, 0]),
        ...                      wa("lime", [0.3, 0, 0, 0, 0.5, 0, 0, 0])])
        >>> "<script" in frag
        False
        >>> frag.count("<tr")
        3
    """
    rows = one_text(attributions, "Call compare_html once per text.")
    scales = _resolve_scale(scale, rows)
    cell = "padding:3px 8px;vertical-align:top;border-bottom:1px solid #e5e5e5;"
    trs = [
        f'<tr><th style="{cell}text-align:left;">method</th>'
        f'<th style="{cell}text-align:left;">{_prediction(rows[0])}</th></tr>'
    ]
    for wa, sc in zip(rows, scales, strict=True):
        target_note = ""
        if wa.target != rows[0].target:
            target_note = (
                f'<br><span style="font-size:0.8em;color:#777;">'
                f"target {_esc(wa.target_label)}</span>"
            )
        trs.append(
            f'<tr><td style="{cell}white-space:nowrap;"><b>{_esc(wa.method)}</b>{target_note}</td>'
            f'<td style="{cell}line-height:1.9;white-space:pre-wrap;">'
            f"{_coloured_text(wa, sc)}</td></tr>"
        )
    table = f'<table style="border-collapse:collapse;">{"".join(trs)}</table>'
    foot = _legend({wa.signed for wa in rows}) if legend else ""
    return HTMLFragment(
        f'<div class="captum-ext-compare" style="{_FONT}margin:4px 0;">{table}{foot}</div>'
    )


def html_page(body: str, *, title: str = "captum-ext") -> str:
    """Wrap trusted HTML (e.g. fragments from this module) in a complete UTF-8 page.

    ``body`` is inserted as is (it is HTML); ``title`` is escaped.

    Args:
        body (str): HTML to put in ``<body>``.
        title (str, optional): page title (escaped). Default: "captum-ext"

    Returns:
        str: the page.

    Examples::

        >>> page = html_page("<p>hi</p>", title="<x>")
        >>> page.startswith("<!DOCTYPE html>"), "<title>&lt;x&gt;</title>" in page
        (True, True)
    """
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{_esc(title)}</title></head>"
        f'<body style="{_FONT}max-width:60em;margin:1em auto;">\n{body}\n</body></html>\n'
    )


def table_html(frame: Any, *, title: str | None = None, max_rows: int = 50) -> HTMLFragment:
    """A pandas table as escaped HTML that scrolls sideways instead of being cut off.

    Cell values are escaped by pandas (``escape=True``); the title with :func:`escape_html`.

    Examples::

        >>> import pandas as pd
        >>> out = table_html(pd.DataFrame({"word": ["<b>"], "score": [0.5]}), title="a & b")
        >>> "<b>a &amp; b</b>" in out, "<td>&lt;b&gt;</td>" in out
        (True, True)
    """
    head = f"<b>{escape_html(title)}</b>" if title else ""
    body = frame.to_html(escape=True, max_rows=max_rows, border=0, float_format=lambda v: f"{v:.4g}")
    return HTMLFragment(f'<div class="captum-ext-table" style="overflow-x:auto;">{head}{body}</div>')


def summary_html(summary: Any) -> HTMLFragment:
    """A comparison run's :class:`~captum_ext.harness.Summary` in a notebook: the headline, the
    ranked verdict, the metric means and the agreement (escaped, scrolling)."""
    parts = [
        f"<p><b>compared:</b> {escape_html(', '.join(summary.methods))}</p>",
    ]
    headline = getattr(summary, "headline", "")
    if headline:
        parts.append(f"<p><b>{escape_html(headline)}</b></p>")
    for title, name in (
        ("verdict", "verdict"),
        ("metrics (mean over texts)", "metric_table"),
        ("agreement (mean over texts)", "agreement_summary"),
    ):
        frame = getattr(summary, name, None)
        if frame is not None and len(frame):
            parts.append(table_html(frame, title=title))
    return HTMLFragment("".join(parts))
