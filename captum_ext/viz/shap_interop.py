"""Word attributions of any method as real ``shap.Explanation`` objects.

The Explanations have the layout SHAP's own text explainers produce (``shap.Explainer`` with a
``shap.maskers.Text``), so ``shap.plots.text``, ``shap.plots.bar`` and ``shap.plots.waterfall``
take them unchanged:

- ``values``: one score per word (ragged across texts),
- ``data``: the text cut at word starts (each word with the text up to the next word, so
  ``"".join(data) == text``; ``shap.plots.text`` shows the text back),
- ``feature_names``: the words, per row (``shap.plots.bar`` on many rows averages the same word
  across texts: ``explanation.abs.mean(0)``),
- ``output_names``: the explained class names,
- ``base_values``: see :func:`base_value`.

SHAP's plots label every number a "SHAP value" and ``base + sum`` as the model's ``f(x)``.
:func:`shap_bar` and :func:`shap_waterfall` draw the same plots with honest labels: the method and
what its numbers are (:func:`value_label`), and for a surrogate (LIME) its prediction ``g(x)``
beside the model's ``f(x)``.

``shap.plots.text`` draws no colours on NumPy 2 with SHAP up to 0.51.0, the newest release
(its HTML holds ``rgba(np.float64(255.0), ...)``, shap issue #4146, fixed by shap PR #4332 after
that release): while the installed SHAP has the bug, importing this module makes
``shap.plots.text`` format its numbers as NumPy 1 did (``numpy.printoptions(legacy="1.25")``
around the call), see :func:`fix_shap_text_colours`.

Note: ``shap.plots.text`` escapes ``<`` and ``>`` in the words but writes class names unescaped;
for fully escaped HTML use :func:`captum_ext.viz.attribution_html`.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np

from captum_ext.errors import InputError
from captum_ext.result import WordAttribution

__all__ = [
    "base_value",
    "fix_shap_text_colours",
    "shap_bar",
    "shap_waterfall",
    "text_pieces",
    "to_shap_explanation",
    "value_label",
]

BaseValue = Literal["auto", "zero", "complete"] | float


def text_pieces(attribution: WordAttribution) -> list[str]:
    """The text cut at word starts: piece ``i`` is word ``i`` plus the text up to the next word.

    Text before the first word joins the first piece, so ``"".join(pieces) == text``.

    Examples::

        >>> import numpy as np
        >>> from captum_ext.result import WordAttribution
        >>> wa = WordAttribution(text=" don't  go", words=["don", "'", "t", "go"],
        ...     spans=[(1, 4), (4, 5), (5, 6), (8, 10)], scores=np.zeros(4), target=1,
        ...     labels=("negative", "positive"), probs=np.array([0.5, 0.5]), method="demo")
        >>> text_pieces(wa)
        [' don', "'", 't  ', 'go']
    """
    spans = attribution.spans
    text = attribution.text
    pieces = []
    for i, (start, _) in enumerate(spans):
        begin = 0 if i == 0 else start
        end = spans[i + 1][0] if i + 1 < len(spans) else len(text)
        pieces.append(text[begin:end])
    return pieces


def _output_in_units(attribution: WordAttribution) -> float | None:
    """The model's output for the target in the units the method explained, if recoverable."""
    output = str(attribution.settings.get("output", "probs"))
    p = float(attribution.probs[attribution.target])
    if output == "probs":
        return p
    if output == "log_odds" and 0.0 < p < 1.0:
        return float(np.log(p) - np.log1p(-p))
    return None  # logits are not recoverable from probabilities


def base_value(attribution: WordAttribution, how: BaseValue = "auto") -> float:
    """The base value of one result: where a waterfall starts before adding the word scores.

    Args:
        attribution (WordAttribution): the result.
        how (str or float, optional): the rule.

            - ``"auto"``: the method's own base value if it has one (``extras["base_value"]``,
              e.g. ``shap-partition``: the model's output on the fully masked text; else
              ``extras["intercept"]``, e.g. ``lime-official``: the surrogate's intercept);
              otherwise ``"complete"`` for signed methods and 0 for unsigned ones.
            - ``"complete"``: the model's output for the target (probability, or log-odds if
              ``settings["output"] == "log_odds"``) minus the sum of the scores, so that
              base + sum of scores = the model's output. For IG on probabilities this is the
              output on the baseline up to the convergence delta. Falls back to 0 when the output
              is not recoverable (``settings["output"] == "logits"``).
            - ``"zero"``: 0.
            - a number: used as is.

            Default: ``"auto"``

    Returns:
        float

    Examples::

        >>> import numpy as np
        >>> from captum_ext.result import WordAttribution
        >>> wa = WordAttribution(text="good day", words=["good", "day"], spans=[(0, 4), (5, 8)],
        ...     scores=np.array([0.3, 0.1]), target=1, labels=("negative", "positive"),
        ...     probs=np.array([0.1, 0.9]), method="ig")
        >>> round(base_value(wa), 6)
        0.5
        >>> wa.extras["base_value"] = 0.42
        >>> base_value(wa), base_value(wa, "zero")
        (0.42, 0.0)
    """
    if isinstance(how, (int, float)) and not isinstance(how, bool):
        return float(how)
    if how == "zero":
        return 0.0
    if how == "auto":
        for key in ("base_value", "intercept"):
            value = attribution.extras.get(key)
            if isinstance(value, (int, float)) and np.isfinite(value):
                return float(value)
        if not attribution.signed:
            return 0.0
        how = "complete"
    if how == "complete":
        out = _output_in_units(attribution)
        return 0.0 if out is None else out - float(np.nansum(attribution.scores))
    raise InputError(f"base_value must be 'auto', 'complete', 'zero' or a number, got {how!r}.")


def _ragged(items: list[np.ndarray]) -> np.ndarray:
    """An object array of per-row arrays (kept ragged even when lengths happen to match)."""
    out = np.empty(len(items), dtype=object)
    for i, item in enumerate(items):
        out[i] = item
    return out


def _check_row(group: Sequence[WordAttribution], row: int) -> None:
    first = group[0]
    for wa in group[1:]:
        if wa.text != first.text or wa.words != first.words:
            raise InputError(
                f"attributions[{row}] mixes texts ({first.text!r} and {wa.text!r}): a row lists "
                "one result per class for the same text."
            )
    targets = [wa.target_label for wa in group]
    if len(set(targets)) != len(targets):
        raise InputError(
            f"attributions[{row}] has the class {targets} more than once: a row lists one result "
            "per class for the same text."
        )


def to_shap_explanation(
    attributions: WordAttribution | Sequence[WordAttribution] | Sequence[Sequence[WordAttribution]],
    *,
    base_values: BaseValue = "auto",
    lowercase: bool = False,
) -> Any:
    """Convert word attributions of any method to a ``shap.Explanation``.

    Three shapes of input, mirroring SHAP's text explanations:

    - one :class:`WordAttribution` → shape ``(n_words,)``, ``output_names`` = the target class
      name: ready for ``shap.plots.text``, ``shap.plots.bar`` and ``shap.plots.waterfall``;
    - a list of results for several texts, all for the same class → shape ``(n_texts, None)``
      (ragged), per-row ``feature_names``: ``shap.plots.bar(exp)`` (mean absolute score of each
      word across the texts), ``shap.plots.text(exp)``, ``shap.plots.waterfall(exp[i])``;
    - a list of rows, each a list of results for the same text, one per class (same classes in
      the same order in every row) → shape ``(n_texts, None, n_classes)`` with the class names as
      ``output_names``: index it like SHAP's own, ``exp[0, :, "positive"]``.

    Args:
        attributions: see above.
        base_values (str or float, optional): how each base value is chosen, see
            :func:`base_value`. Default: ``"auto"``
        lowercase (bool, optional): lower-case the ``feature_names`` (the words in ``data``
            keep their case), so that an uncased model's "Love" and "love" are one feature in
            a dataset bar plot. Default: False

    Returns:
        shap.Explanation

    Raises:
        InputError: no results, results for different classes in a flat list, or rows that
            mix texts or classes.

    Examples::

        >>> import matplotlib
        >>> matplotlib.use("Agg")
        >>> import numpy as np, shap
        >>> from captum_ext.result import WordAttribution
        >>> def wa(text, scores, method="ig"):
        ...     words = text.split()
        ...     spans, pos = [], 0
        ...     for w in words:
        ...         pos = text.index(w, pos); spans.append((pos, pos + len(w))); pos += len(w)
        ...     return WordAttribution(text=text, words=words, spans=spans,
        ...         scores=np.array(scores), target=1, labels=("negative", "positive"),
        ...         probs=np.array([0.2, 0.8]), method=method)
        >>> one = to_shap_explanation(wa("what a lovely day", [0.0, 0.1, 0.5, 0.1]))
        >>> one.shape, one.output_names, round(float(one.base_values), 6)
        ((4,), 'positive', 0.1)
        >>> ax = shap.plots.waterfall(one, show=False)
        >>> many = to_shap_explanation([wa("lovely day", [0.5, 0.1]),
        ...                             wa("a lovely lovely film", [0.0, 0.4, 0.2, 0.1])])
        >>> many.shape
        (2, None)
        >>> ax = shap.plots.bar(many, show=False)  # mean |score| of each word over the texts
        >>> html = shap.plots.text(many[0], display=False)
    """
    import shap

    single = isinstance(attributions, WordAttribution)
    items: list[Any] = [attributions] if single else list(attributions)  # type: ignore[arg-type]
    if not items:
        raise InputError("attributions must hold at least one WordAttribution, got none.")
    nested = not isinstance(items[0], WordAttribution)
    rows: list[list[WordAttribution]] = []
    for i, item in enumerate(items):
        group: list[Any] = [item] if isinstance(item, WordAttribution) else list(item)
        if nested == isinstance(item, WordAttribution) or not group:
            raise InputError(
                f"attributions[{i}]: give either a flat list of WordAttribution (one class) or a "
                "list of non-empty lists (one WordAttribution per class for each text), not a mix."
            )
        for wa in group:
            if not isinstance(wa, WordAttribution):
                raise InputError(
                    f"attributions[{i}] holds a {type(wa).__name__}, expected WordAttribution."
                )
        _check_row(group, i)
        rows.append(group)

    classes = [wa.target_label for wa in rows[0]]
    for i, group in enumerate(rows[1:], start=1):
        got = [wa.target_label for wa in group]
        if got != classes:
            hint = (
                "explain every text for the same class (e.g. explain_many(texts, "
                f"targets=[{classes[0]!r}] * len(texts)))"
                if not nested
                else "give the same classes in the same order in every row"
            )
            raise InputError(
                f"attributions[{i}] explains class {got if nested else got[0]!r} but "
                f"attributions[0] explains {classes if nested else classes[0]!r}: {hint}."
            )

    # Built the way SHAP's text explainers are (rows x words x classes, class names as
    # output_names), then sliced like SHAP users do (``exp[:, :, "positive"]``): a plain string
    # ``output_names`` cannot be passed to the constructor.
    values = _ragged([np.stack([wa.scores for wa in g], axis=1) for g in rows])
    bases = np.array([[base_value(wa, base_values) for wa in g] for g in rows])
    exp = shap.Explanation(
        values=values,
        base_values=bases,
        data=_ragged([np.array(text_pieces(g[0]), dtype=object) for g in rows]),
        feature_names=[[w.lower() if lowercase else w for w in g[0].words] for g in rows],
        output_names=list(classes),
    )
    if single:
        return exp[0, :, 0]
    return exp if nested else exp[:, :, 0]


# -- shap.plots.text colours on NumPy 2 -----------------------------------------------------------
def _text_plot_has_numpy2_bug(text_module: Any) -> bool:
    """The installed SHAP formats colours with NumPy scalars' repr (before shap PR #4332)."""
    return int(np.__version__.split(".")[0]) >= 2 and not hasattr(text_module, "_css_rgba")


def fix_shap_text_colours() -> bool:
    """Make ``shap.plots.text`` draw its colours on NumPy 2 when the installed SHAP has the bug.

    SHAP up to 0.51.0 writes ``tuple(numpy_array)`` into CSS, which NumPy 2 prints as
    ``rgba(np.float64(255.0), ...)``: browsers drop the colour. The fix (shap PR #4332) came after
    the newest release, so no version bound excludes the bug. While it is there, this wraps
    ``shap.plots.text`` so the call runs under ``numpy.printoptions(legacy="1.25")`` (scalars print
    as ``255.0``); nothing else changes. Called when this module is imported; idempotent.

    Returns:
        bool: whether the wrapper is installed.
    """
    import shap
    from shap.plots import _text

    if not _text_plot_has_numpy2_bug(_text):
        return False
    if getattr(_text.text, "_captum_ext_colour_fix", False):
        return True
    original = _text.text

    @functools.wraps(original)
    def text(*args: Any, **kwargs: Any) -> Any:
        with np.printoptions(legacy="1.25"):
            return original(*args, **kwargs)

    text._captum_ext_colour_fix = True  # type: ignore[attr-defined]
    _text.text = text  # the recursive calls inside shap.plots._text look it up here
    shap.plots.text = text
    return True


# -- honest labels on SHAP's bar and waterfall plots -------------------------------------------
_UNITS = {"probs": "probability", "log_odds": "log-odds", "logits": "logit"}


def _is_surrogate(attribution: WordAttribution) -> bool:
    return "local_pred" in attribution.extras


def value_label(attribution: WordAttribution) -> str:
    """What one result's numbers are: the method and the model output they explain.

    Examples::

        >>> import numpy as np
        >>> from captum_ext.result import WordAttribution
        >>> wa = WordAttribution(text="good day", words=["good", "day"], spans=[(0, 4), (5, 8)],
        ...     scores=np.array([0.3, 0.1]), target=1, labels=("negative", "positive"),
        ...     probs=np.array([0.1, 0.9]), method="lime", extras={"local_pred": 0.85})
        >>> value_label(wa)
        'lime weight (surrogate) on the probability of positive'
    """
    output = str(attribution.settings.get("output", "probs"))
    unit = _UNITS.get(output, output)
    kind = "weight (surrogate)" if _is_surrogate(attribution) else "score"
    if str(attribution.method).startswith(("shap", "captum-kernelshap")):
        kind = "SHAP value"
    if not attribution.signed:
        return f"{attribution.method} {kind} (unsigned) for {attribution.target_label}"
    return f"{attribution.method} {kind} on the {unit} of {attribution.target_label}"


def _as_list(attributions: Any) -> list[WordAttribution]:
    if isinstance(attributions, WordAttribution):
        return [attributions]
    return [a for a in attributions if isinstance(a, WordAttribution)]


def shap_bar(attributions: Any, *, show: bool = False, **kwargs: Any) -> Any:
    """``shap.plots.bar`` of our results, its axis naming the method and the unit, not "SHAP value".

    Args:
        attributions: what :func:`to_shap_explanation` takes.
        show (bool, optional): ``plt.show()`` at the end. Default: False
        **kwargs: ``shap.plots.bar``'s (``max_display`` ...) and ``base_values``/``lowercase``
            for :func:`to_shap_explanation`.

    Returns:
        matplotlib Axes

    Examples::

        >>> import matplotlib
        >>> matplotlib.use("Agg")
        >>> import numpy as np
        >>> from captum_ext.result import WordAttribution
        >>> wa = WordAttribution(text="good day", words=["good", "day"], spans=[(0, 4), (5, 8)],
        ...     scores=np.array([0.3, 0.1]), target=1, labels=("negative", "positive"),
        ...     probs=np.array([0.1, 0.9]), method="ig")
        >>> shap_bar(wa).get_xlabel()
        'ig score on the probability of positive'
    """
    import matplotlib.pyplot as plt
    import shap

    conv = {k: kwargs.pop(k) for k in ("base_values", "lowercase") if k in kwargs}
    items = _as_list(attributions)
    if not items:
        raise InputError("attributions must hold at least one WordAttribution, got none.")
    exp = to_shap_explanation(attributions, **conv)
    ax = shap.plots.bar(exp, show=False, **kwargs)
    label = value_label(items[0])
    methods = {wa.method for wa in items}
    if len(methods) > 1:
        label = label.replace(items[0].method, " / ".join(sorted(methods)), 1)
    ax.set_xlabel(f"mean |{label}|" if len(exp.shape) > 1 else label)
    if show:
        plt.show()
    return ax


def shap_waterfall(attribution: WordAttribution, *, show: bool = False, **kwargs: Any) -> Any:
    """``shap.plots.waterfall`` of one result with honest labels.

    SHAP labels the end of the waterfall ``f(x)`` (the base value plus the scores) and the start
    ``E[f(X)]``. For a surrogate (LIME) the end is the surrogate's prediction: it is labelled
    ``g(x)`` with the model's ``f(x)`` beside it, and the start ``intercept =``. The x axis names
    the method and the unit (:func:`value_label`).

    Args:
        attribution (WordAttribution): one result.
        show (bool, optional): ``plt.show()`` at the end. Default: False
        **kwargs: ``shap.plots.waterfall``'s (``max_display``) and ``base_values`` for
            :func:`to_shap_explanation`.

    Returns:
        matplotlib Axes

    Examples::

        >>> import matplotlib
        >>> matplotlib.use("Agg")
        >>> import numpy as np
        >>> from captum_ext.result import WordAttribution
        >>> wa = WordAttribution(text="good day", words=["good", "day"], spans=[(0, 4), (5, 8)],
        ...     scores=np.array([0.3, 0.1]), target=1, labels=("negative", "positive"),
        ...     probs=np.array([0.04, 0.96]), method="lime",
        ...     extras={"intercept": 0.534, "local_pred": 0.934, "model_pred": 0.96})
        >>> ax = shap_waterfall(wa)
        >>> sorted({t.get_text() for a in ax.figure.axes for t in a.get_xticklabels()
        ...         if "(x)" in t.get_text()})
        ['$ = 0.934$ (surrogate, model $f(x)$ = 0.960)', '$g(x)$']
    """
    import matplotlib.pyplot as plt
    import shap

    if not isinstance(attribution, WordAttribution):
        raise InputError(
            f"shap_waterfall takes one WordAttribution, got {type(attribution).__name__}."
        )
    conv = {k: kwargs.pop(k) for k in ("base_values",) if k in kwargs}
    exp = to_shap_explanation(attribution, **conv)
    ax = shap.plots.waterfall(exp, show=False, **kwargs)
    fig = ax.figure
    if _is_surrogate(attribution):
        model = attribution.extras.get("model_pred")
        if not isinstance(model, (int, float)):
            model = _output_in_units(attribution)
        for twin in fig.axes:
            labels = [t.get_text() for t in twin.get_xticklabels()]
            if "$f(x)$" in labels and len(labels) == 2:  # SHAP's end mark: f(x), " = value"
                note = "" if model is None else f", model $f(x)$ = {float(model):.3f}"
                labels = ["$g(x)$", f"{labels[1]} (surrogate{note})"]
                twin.set_xticklabels(labels, fontsize=12, ha="left")  # keeps SHAP's offsets
            elif len(labels) == 2 and "E[f(X)]" in labels[0]:  # the start mark
                value = labels[1].strip().replace("$", "").lstrip("= ")
                labels = ["\n", f"\nintercept = {value}"]
                twin.set_xticklabels(labels, fontsize=12, ha="left")
    fig.axes[0].set_xlabel(value_label(attribution), labelpad=30)  # below the start mark
    if show:
        plt.show()
    return ax


fix_shap_text_colours()
