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

Note: ``shap.plots.text`` escapes ``<`` and ``>`` in the words but writes class names unescaped;
for fully escaped HTML use :func:`captum_ext.viz.attribution_html`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np

from captum_ext.errors import InputError
from captum_ext.result import WordAttribution

__all__ = ["base_value", "text_pieces", "to_shap_explanation"]

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
