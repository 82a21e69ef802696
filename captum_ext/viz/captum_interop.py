"""Word attributions as Captum ``VisualizationDataRecord`` objects, and an escaping ``visualize_text``.

:func:`to_visualization_record` builds the record the way Captum's text tutorials do (scores
divided by their L2 norm, so they fall in ``[-1, 1]`` where ``visualize_text`` clips its colours;
``attr_score`` is the sum of the normalised scores; ``pred_prob`` the predicted class's
probability), so ``captum.attr.visualization.visualize_text`` takes it unchanged.

Captum's ``visualize_text`` writes words into its HTML unescaped (Captum issue #1226): a tweet with
``<script>`` or ``<img onerror=...>`` is executed, not shown. :func:`visualize_text` here draws the
same table with every value escaped, needs no IPython, and returns an
:class:`~captum_ext.viz.html.HTMLFragment` (a ``str`` that notebooks render).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from captum_ext.errors import InputError
from captum_ext.result import WordAttribution
from captum_ext.viz.html import HTMLFragment
from captum_ext.viz.html import escape_html as _esc

if TYPE_CHECKING:
    from captum.attr._utils.visualization import VisualizationDataRecord

__all__ = ["to_visualization_record", "visualize_text"]

Normalize = Literal["l2", "max"] | None


def _normalise(scores: np.ndarray, how: Normalize) -> np.ndarray:
    scores = np.nan_to_num(np.asarray(scores, dtype=np.float64))
    if how is None:
        return scores
    if how == "l2":
        norm = float(np.linalg.norm(scores))
    elif how == "max":
        norm = float(np.max(np.abs(scores))) if scores.size else 0.0
    else:
        raise InputError(f"normalize must be 'l2', 'max' or None, got {how!r}.")
    return scores / norm if norm > 0 else scores


def _label(attribution: WordAttribution, value: int | str | None) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        if not 0 <= int(value) < len(attribution.labels):
            raise InputError(
                f"true_label index {value} is out of range: the model has "
                f"{len(attribution.labels)} classes {list(attribution.labels)}."
            )
        return attribution.labels[int(value)]
    return str(value)


def to_visualization_record(
    attribution: WordAttribution,
    *,
    true_label: int | str | None = None,
    normalize: Normalize = "l2",
    level: Literal["word", "token"] = "word",
) -> VisualizationDataRecord:
    """One result as Captum's ``VisualizationDataRecord``, built as Captum's tutorials build it.

    Fields: ``word_attributions`` = the scores divided by their L2 norm (a 1-D tensor);
    ``pred_prob`` = probability of the predicted class; ``pred_class`` = its name;
    ``true_class`` = ``true_label`` (name); ``attr_class`` = the explained class's name;
    ``attr_score`` = sum of the normalised scores; ``raw_input_ids`` = the words (or word-pieces
    with ``level="token"``); ``convergence_score`` = IG's ``extras["convergence_delta"]`` or None.

    Args:
        attribution (WordAttribution): the result.
        true_label (int or str, optional): the gold class (index or name), if known. Default:
            None (shown as ``"n/a"``)
        normalize (str, optional): ``"l2"`` (Captum's tutorials), ``"max"`` (largest absolute
            score becomes ±1, stronger colours) or None (raw scores; ``visualize_text`` clips
            them to ``[-1, 1]``). Default: ``"l2"``
        level (str, optional): ``"word"`` or ``"token"`` (word-pieces with special tokens;
            needs a method that scores word-pieces, e.g. IG). Default: ``"word"``

    Returns:
        captum.attr.visualization.VisualizationDataRecord

    Examples::

        >>> import numpy as np
        >>> from captum_ext.result import WordAttribution
        >>> wa = WordAttribution(text="not bad", words=["not", "bad"], spans=[(0, 3), (4, 7)],
        ...     scores=np.array([0.3, 0.4]), target=1, labels=("negative", "positive"),
        ...     probs=np.array([0.1, 0.9]), method="ig")
        >>> rec = to_visualization_record(wa, true_label="positive")
        >>> rec.word_attributions.tolist(), rec.pred_class, round(rec.attr_score, 6)
        ([0.6, 0.8], 'positive', 1.4)
    """
    if level == "word":
        scores, items = attribution.scores, list(attribution.words)
    elif level == "token":
        if attribution.token_scores is None or attribution.tokens is None:
            raise InputError(
                f"level='token' needs word-piece scores, but method {attribution.method!r} has "
                "none: use level='word' or a gradient method such as 'ig'."
            )
        scores, items = attribution.token_scores, list(attribution.tokens)
    else:
        raise InputError(f"level must be 'word' or 'token', got {level!r}.")
    # imported here: torch and captum take seconds to import, the HTML helpers need neither
    import torch
    from captum.attr._utils.visualization import VisualizationDataRecord

    normed = torch.as_tensor(_normalise(scores, normalize), dtype=torch.float64)
    delta = attribution.extras.get("convergence_delta")
    return VisualizationDataRecord(
        word_attributions=normed,
        pred_prob=float(np.max(attribution.probs)),
        pred_class=attribution.predicted_label,
        true_class=_label(attribution, true_label),
        attr_class=attribution.target_label,
        attr_score=float(normed.sum()),
        raw_input_ids=items,
        convergence_score=None if delta is None else float(delta),
    )


def _captum_color(attr: float) -> str:
    # the colours of captum.attr.visualization._get_color (green positive, red negative)
    attr = max(-1.0, min(1.0, float(attr))) if math.isfinite(attr) else 0.0
    if attr > 0:
        return f"hsl(120, 75%, {100 - int(50 * attr)}%)"
    return f"hsl(0, 75%, {100 - int(-40 * attr)}%)"




def _cell(value: object) -> str:
    return f'<td style="padding:2px 1.5em 2px 0;vertical-align:top;"><b>{_esc(value)}</b></td>'


def _words_cell(words: list[str], importances: Iterable[float]) -> str:
    marks = []
    for word, imp in zip(words, importances, strict=False):
        imp = float(imp)
        marks.append(
            f'<mark style="background-color:{_captum_color(imp)};opacity:1.0;line-height:1.75;'
            f'color:black;" title="{_esc(f"{word}: {imp:+.3f}")}">{_esc(word)}</mark>'
        )
    return f'<td style="padding:2px 0;">{" ".join(marks)}</td>'


def _as_floats(values: Any) -> list[float]:
    if hasattr(values, "detach"):  # a torch tensor
        values = values.detach().cpu().numpy()
    return np.asarray(values, dtype=np.float64).reshape(-1).tolist()


def visualize_text(
    datarecords: Iterable[VisualizationDataRecord | WordAttribution],
    legend: bool = True,
    *,
    display: bool = False,
) -> HTMLFragment:
    """Captum's ``visualize_text`` table, with every word and label HTML-escaped.

    A drop-in for ``captum.attr.visualization.visualize_text`` (same records, same columns and
    colours), that also takes :class:`WordAttribution` objects directly (converted with
    :func:`to_visualization_record` defaults) and does not need IPython.

    Args:
        datarecords (iterable): ``VisualizationDataRecord`` objects (Captum's or from
            :func:`to_visualization_record`) or ``WordAttribution`` results.
        legend (bool, optional): draw the Negative / Neutral / Positive legend. Default: True
        display (bool, optional): also display it with IPython (when installed). In a notebook
            the returned fragment renders anyway when it is a cell's last expression.
            Default: False

    Returns:
        HTMLFragment: the table (a ``str`` with ``_repr_html_``).

    Examples::

        >>> import numpy as np
        >>> from captum_ext.result import WordAttribution
        >>> wa = WordAttribution(text="<script>alert(1)</script> bad",
        ...     words=["<", "script", ">", "alert", "(", "1", ")", "</", "script", ">", "bad"],
        ...     spans=[(0, 1), (1, 7), (7, 8), (8, 13), (13, 14), (14, 15), (15, 16), (16, 18),
        ...            (18, 24), (24, 25), (26, 29)],
        ...     scores=np.linspace(-1, 1, 11), target=0, labels=("negative", "positive"),
        ...     probs=np.array([0.7, 0.3]), method="ig")
        >>> out = visualize_text([to_visualization_record(wa)])
        >>> "<script" in out, "&lt;/" in out
        (False, True)
    """
    rows = []
    for rec in datarecords:
        if isinstance(rec, WordAttribution):
            rec = to_visualization_record(rec)
        importances = _as_floats(rec.word_attributions)
        words = [str(w) for w in rec.raw_input_ids]
        if len(importances) < len(words):
            raise InputError(
                f"a record has {len(words)} words but {len(importances)} importances: give one "
                "importance per word."
            )
        rows.append(
            "<tr>"
            + _cell(rec.true_class)
            + _cell(f"{rec.pred_class} ({float(rec.pred_prob):.2f})")
            + _cell(rec.attr_class)
            + _cell(f"{float(rec.attr_score):.2f}")
            + _words_cell(words, importances)
            + "</tr>"
        )
    head = "".join(
        f'<th style="text-align:left;padding:2px 1.5em 2px 0;">{h}</th>'
        for h in (
            "True Label",
            "Predicted Label",
            "Attribution Label",
            "Attribution Score",
            "Word Importance",
        )
    )
    parts = ['<div class="captum-ext-visualize-text">']
    if legend:
        keys = " ".join(
            f'<span style="display:inline-block;width:10px;height:10px;border:1px solid;'
            f'background-color:{_captum_color(v)};"></span> {name}'
            for v, name in ((-1, "Negative"), (0, "Neutral"), (1, "Positive"))
        )
        parts.append(
            '<div style="border-top:1px solid;margin-top:5px;padding-top:5px;'
            f'display:inline-block;"><b>Legend: </b>{keys}</div>'
        )
    parts.append(f'<table style="width:100%;"><tr>{head}</tr>{"".join(rows)}</table></div>')
    out = HTMLFragment("".join(parts))
    if display:
        try:
            from IPython.display import HTML
            from IPython.display import display as ipython_display
        except ImportError as err:
            raise ImportError(
                "visualize_text(display=True) needs IPython: pip install ipython, or leave "
                "display=False and show the returned fragment."
            ) from err
        ipython_display(HTML(str(out)))
    return out
