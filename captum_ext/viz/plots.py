"""Figures where people would rather look than read: word heat strip, agreement heatmap,
deletion curves, tree surrogate, representer proponents/opponents.

Every function draws with matplotlib's Agg canvas (no display, no global pyplot state) and returns
a :class:`PlotFigure`: a ``matplotlib.figure.Figure`` that also

- renders in notebooks (``_repr_html_``: an ``<img>`` with the PNG inline),
- saves PNG or SVG (``fig.save("x.png")``, ``fig.save("x.svg")``; format from the suffix),
- gives HTML for a page (``fig.to_html()``, PNG or SVG as a data URI: self-contained, and the
  SVG's own ``<style>`` cannot leak into the page).

Pass ``ax=`` to draw into your own axes instead (the function then returns ``ax.figure``).
Labels taken from data (words, texts, method names) are shown literally: ``$`` does not start
matplotlib's mathtext.
"""

from __future__ import annotations

import base64
import html
import io
import os
import textwrap
import warnings
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import LinearSegmentedColormap, TwoSlopeNorm
from matplotlib.figure import Figure

from captum_ext.errors import InputError
from captum_ext.result import WordAttribution
from captum_ext.validation import check_scalar
from captum_ext.viz.html import one_text

__all__ = [
    "PlotFigure",
    "plot_agreement_heatmap",
    "plot_deletion_curves",
    "plot_representer",
    "plot_tree_surrogate",
    "plot_word_heatmap",
]

# green towards the target, red away from it: the colours of captum_ext.viz.html
_GREEN = "#169646"
_RED = "#d62728"
_BLUE = "#1f77b4"
ATTRIBUTION_CMAP = LinearSegmentedColormap.from_list("captum_ext_attr", [_RED, "#ffffff", _GREEN])


class PlotFigure(Figure):
    """A matplotlib ``Figure`` with an Agg canvas that saves PNG/SVG and renders in notebooks.

    Examples::

        >>> import os, tempfile
        >>> fig = PlotFigure(figsize=(2, 1))
        >>> _ = fig.add_subplot().plot([0, 1], [1, 0])
        >>> d = tempfile.mkdtemp()
        >>> fig.save(os.path.join(d, "line.png")); fig.save(os.path.join(d, "line.svg"))
        >>> os.path.getsize(os.path.join(d, "line.png")) > 0
        True
        >>> fig.to_html(alt="a <line>").startswith('<img alt="a &lt;line&gt;"')
        True
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("layout", "constrained")
        super().__init__(*args, **kwargs)
        FigureCanvasAgg(self)

    def save(self, path: str | os.PathLike, *, dpi: int = 150) -> None:
        """Write the figure; the format comes from the suffix (``.png``, ``.svg``, ``.pdf``)."""
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Glyph .* missing from font")
            self.savefig(path, dpi=dpi, bbox_inches="tight")

    def to_bytes(self, fmt: Literal["png", "svg"] = "png", *, dpi: int = 100) -> bytes:
        """The figure encoded as PNG or SVG."""
        buf = io.BytesIO()
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Glyph .* missing from font")
            self.savefig(buf, format=fmt, dpi=dpi, bbox_inches="tight")
        return buf.getvalue()

    def to_html(
        self, fmt: Literal["png", "svg"] = "png", *, alt: str | None = None, dpi: int = 100
    ) -> str:
        """An ``<img>`` holding the figure as a data URI (self-contained; ``alt`` is escaped)."""
        if fmt not in ("png", "svg"):
            raise InputError(f"fmt must be 'png' or 'svg', got {fmt!r}.")
        mime = "image/png" if fmt == "png" else "image/svg+xml"
        data = base64.b64encode(self.to_bytes(fmt, dpi=dpi)).decode("ascii")
        if alt is None:
            alt = self.get_suptitle() or next((a.get_title() for a in self.axes), "") or "figure"
        return (
            f'<img alt="{html.escape(alt, quote=True)}" style="max-width:100%;height:auto;" '
            f'src="data:{mime};base64,{data}">'
        )

    def _repr_html_(self) -> str:
        return self.to_html("png")


def _plain(text: Any) -> str:
    """A label matplotlib shows literally (``$`` would start mathtext)."""
    return str(text).replace("$", r"\$")


def _shorten(text: str, width: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[: max(width - 1, 1)] + "…"


def _new_axes(ax: Axes | None, figsize: tuple[float, float]) -> tuple[Figure, Axes]:
    if ax is not None:
        return ax.figure, ax  # type: ignore[return-value]
    fig = PlotFigure(figsize=figsize)
    return fig, fig.add_subplot()


# -- word heat strip ------------------------------------------------------------------------------
def plot_word_heatmap(
    attributions: Sequence[WordAttribution],
    *,
    scale: Literal["row", "shared"] = "row",
    annotate: bool | None = None,
    max_words: int = 60,
    ax: Axes | None = None,
) -> Figure:
    """Word heat strip: one row per method, one column per word of the same text.

    Args:
        attributions (sequence of WordAttribution): results for one text (e.g. IG, LIME, SHAP).
        scale (str, optional): ``"row"`` divides each row by its largest absolute score (compares
            rankings across methods with different units); ``"shared"`` uses one scale for all
            rows. Default: ``"row"``
        annotate (bool, optional): print the (scaled) score in each cell. Default: when the text
            has at most 25 words
        max_words (int, optional): show at most this many words (the first ones). Default: 60
        ax (matplotlib Axes, optional): draw here instead of a new figure. Default: None

    Returns:
        PlotFigure (or ``ax.figure``)

    Raises:
        InputError: no results, or results for different texts.

    Examples::

        >>> import numpy as np
        >>> from captum_ext.result import WordAttribution
        >>> def wa(method, scores):
        ...     return WordAttribution(text="not bad at all", words=["not", "bad", "at", "all"],
        ...         spans=[(0, 3), (4, 7), (8, 10), (11, 14)], scores=np.array(scores),
        ...         target=1, labels=("negative", "positive"), probs=np.array([0.2, 0.8]),
        ...         method=method)
        >>> fig = plot_word_heatmap([wa("ig", [0.4, 0.3, 0.0, 0.1]),
        ...                          wa("lime", [0.2, -0.1, 0.0, 0.05])])
        >>> [t.get_text() for t in fig.axes[0].get_yticklabels()]
        ['ig', 'lime']
    """
    rows = one_text(attributions, "Plot one text at a time.")
    if scale not in ("row", "shared"):
        raise InputError(f"scale must be 'row' or 'shared', got {scale!r}.")
    check_scalar(max_words, "max_words", min_val=1)
    words = rows[0].words[:max_words]
    n = len(words)
    matrix = np.vstack([np.nan_to_num(wa.scores[:n]) for wa in rows])
    if scale == "row":
        denom = np.abs(matrix).max(axis=1, keepdims=True)
    else:
        denom = np.full((len(rows), 1), np.abs(matrix).max())
    matrix = np.divide(matrix, denom, out=np.zeros_like(matrix), where=denom > 0)
    if annotate is None:
        annotate = n <= 25

    fig, ax = _new_axes(ax, (max(4.0, 0.55 * n + 1.5), 0.55 * len(rows) + 1.6))
    ax.imshow(matrix, cmap=ATTRIBUTION_CMAP, vmin=-1, vmax=1, aspect="auto")
    ax.set_xticks(range(n), [_plain(w) for w in words], rotation=60, ha="right")
    ax.set_yticks(range(len(rows)), [_plain(wa.method) for wa in rows])
    if annotate:
        for i in range(len(rows)):
            for j in range(n):
                v = matrix[i, j]
                ax.text(
                    j,
                    i,
                    f"{v:.2f}".replace("0.", ".").replace("-.", "−."),
                    ha="center",
                    va="center",
                    fontsize=7,
                    color="white" if abs(v) > 0.6 else "black",
                )
    ax.set_xticks(np.arange(-0.5, n, 1), minor=True)
    ax.set_yticks(np.arange(-0.5, len(rows), 1), minor=True)
    ax.grid(which="minor", color="white", linewidth=1)
    ax.tick_params(which="minor", length=0)
    wa0 = rows[0]
    ax.set_title(
        _plain(
            f"target {wa0.target_label} · predicted {wa0.predicted_label} "
            f"({wa0.probs[wa0.predicted]:.2f}) · scale: {scale}"
        ),
        fontsize=9,
    )
    return fig


# -- agreement heatmap ----------------------------------------------------------------------------
def plot_agreement_heatmap(
    matrix: Any,
    methods: Sequence[str] | None = None,
    *,
    metric: str = "agreement",
    vmin: float = -1.0,
    vmax: float = 1.0,
    annotate: bool = True,
    ax: Axes | None = None,
) -> Figure:
    """Method × method agreement matrix (e.g. mean Kendall τ or top-k overlap) as a heatmap.

    Args:
        matrix (array-like or pandas.DataFrame): square ``(n_methods, n_methods)`` values; NaN
            cells are left blank. A DataFrame gives the method names from its index.
        methods (sequence of str, optional): method names (required for an array). Default: None
        metric (str, optional): colour bar label, e.g. ``"Kendall τ"``. Default: "agreement"
        vmin, vmax (float, optional): colour range (use 0, 1 for overlaps). Default: -1, 1
        annotate (bool, optional): print the values. Default: True
        ax (matplotlib Axes, optional): draw here instead of a new figure. Default: None

    Returns:
        PlotFigure (or ``ax.figure``)

    Raises:
        InputError: a matrix that is not square or names that do not match it.

    Examples::

        >>> import numpy as np
        >>> m = np.array([[1.0, 0.4, 0.2], [0.4, 1.0, 0.6], [0.2, 0.6, 1.0]])
        >>> fig = plot_agreement_heatmap(m, ["ig", "lime", "shap"], metric="Kendall τ")
        >>> [t.get_text() for t in fig.axes[0].get_xticklabels()]
        ['ig', 'lime', 'shap']
    """
    if hasattr(matrix, "index") and hasattr(matrix, "to_numpy"):
        if methods is None:
            methods = [str(m) for m in matrix.index]
        matrix = matrix.to_numpy()
    m = np.asarray(matrix, dtype=np.float64)
    if m.ndim != 2 or m.shape[0] != m.shape[1] or m.shape[0] == 0:
        raise InputError(f"matrix must be square (n_methods, n_methods), got shape {m.shape}.")
    if methods is None:
        raise InputError("methods must name the rows of the matrix (or pass a DataFrame).")
    methods = [str(x) for x in methods]
    if len(methods) != m.shape[0]:
        raise InputError(
            f"methods has {len(methods)} names but the matrix is {m.shape[0]}×{m.shape[0]}."
        )
    if not vmax > vmin:
        raise InputError(f"vmax must be > vmin, got vmin={vmin}, vmax={vmax}.")
    k = len(methods)
    fig, ax = _new_axes(ax, (1.0 * k + 2.5, 0.9 * k + 1.5))
    cmap = ATTRIBUTION_CMAP if vmin < 0 < vmax else "Greens"
    norm = TwoSlopeNorm(0.0, vmin, vmax) if vmin < 0 < vmax else None
    im = ax.imshow(
        np.ma.masked_invalid(m),
        cmap=cmap,
        norm=norm,
        vmin=None if norm else vmin,
        vmax=None if norm else vmax,
    )
    labels = [_plain(x) for x in methods]
    ax.set_xticks(range(k), labels, rotation=45, ha="right")
    ax.set_yticks(range(k), labels)
    if annotate:
        span = vmax - vmin
        for i in range(k):
            for j in range(k):
                if np.isfinite(m[i, j]):
                    strong = abs(m[i, j] - (vmin + vmax) / 2) > 0.3 * span
                    ax.text(
                        j,
                        i,
                        f"{m[i, j]:.2f}",
                        ha="center",
                        va="center",
                        fontsize=9,
                        color="white" if strong else "black",
                    )
    fig.colorbar(im, ax=ax, label=_plain(metric), shrink=0.8)
    ax.set_title(_plain(f"{metric} between methods"), fontsize=10)
    return fig


# -- deletion curves ------------------------------------------------------------------------------
def plot_deletion_curves(
    fractions: Sequence[float] | np.ndarray,
    curves: Mapping[str, Sequence[float] | np.ndarray],
    *,
    ylabel: str = "P(target)",
    title: str = "Deletion curves (lower area = more faithful)",
    ax: Axes | None = None,
) -> Figure:
    """Model output as the top-ranked words are deleted, one line per method.

    Args:
        fractions (array-like): x values, the fraction of words deleted, shape ``(n_steps,)``.
        curves (mapping str -> array-like): per method, the output at each fraction: shape
            ``(n_steps,)`` for one text, or ``(n_texts, n_steps)`` for many (plotted as the mean
            with a ±1 standard error band).
        ylabel (str, optional): y axis label. Default: "P(target)"
        title (str, optional): plot title. Default: "Deletion curves (lower area = more faithful)"
        ax (matplotlib Axes, optional): draw here instead of a new figure. Default: None

    Returns:
        PlotFigure (or ``ax.figure``); the legend gives each method's area under the mean curve
        (trapezoid rule over ``fractions``).

    Raises:
        InputError: no curves, or a curve whose length does not match ``fractions``.

    Examples::

        >>> x = [0.0, 0.25, 0.5, 0.75, 1.0]
        >>> fig = plot_deletion_curves(x, {"ig": [0.9, 0.5, 0.3, 0.2, 0.2],
        ...                                "random": [[0.9, 0.8, 0.6, 0.4, 0.2],
        ...                                           [0.9, 0.7, 0.7, 0.3, 0.2]]})
        >>> [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
        ['ig (area 0.39)', 'random (area 0.57)']
    """
    x = np.asarray(fractions, dtype=np.float64).reshape(-1)
    if x.size < 2:
        raise InputError(f"fractions must hold at least 2 values, got {x.size}.")
    if not curves:
        raise InputError("curves must hold at least one method, got none.")
    fig, ax = _new_axes(ax, (6.0, 4.0))
    for name, values in curves.items():
        y = np.asarray(values, dtype=np.float64)
        if y.ndim == 1:
            y = y[None, :]
        if y.ndim != 2 or y.shape[1] != x.size:
            raise InputError(
                f"curves[{name!r}] has shape {np.shape(values)}, expected ({x.size},) or "
                f"(n_texts, {x.size}) to match fractions."
            )
        mean = np.nanmean(y, axis=0)
        area = float(np.sum((x[1:] - x[:-1]) * (mean[1:] + mean[:-1]) / 2.0))
        (line,) = ax.plot(
            x, mean, marker="o", markersize=3, label=_plain(f"{name} (area {area:.2f})")
        )
        if y.shape[0] > 1:
            se = np.nanstd(y, axis=0, ddof=1) / np.sqrt(np.sum(np.isfinite(y), axis=0))
            ax.fill_between(x, mean - se, mean + se, color=line.get_color(), alpha=0.2, lw=0)
    ax.set_xlabel("fraction of words deleted (most important first)")
    ax.set_ylabel(_plain(ylabel))
    ax.set_title(_plain(title), fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return fig


# -- tree surrogate -------------------------------------------------------------------------------
def _sk_tree(tree: Any) -> Any:
    for attr in ("tree_model_", "estimator_", "model_"):
        inner = getattr(tree, attr, None)
        if inner is not None and hasattr(inner, "tree_"):
            return inner
    if hasattr(tree, "tree_"):
        return tree
    raise InputError(
        f"tree must be a fitted scikit-learn decision tree (or an object holding one in "
        f"tree_model_, e.g. captum_ext.attr.TreeSurrogate), got {type(tree).__name__}."
    )


def plot_tree_surrogate(
    tree: Any,
    feature_names: Sequence[str],
    *,
    x: Sequence[float] | np.ndarray | None = None,
    class_names: Sequence[str] | None = None,
    value_label: str = "value",
    ax: Axes | None = None,
) -> Figure:
    """A tree surrogate over word-presence features, drawn as "contains 'word'?" questions.

    Each split asks whether a feature (a word or n-gram) is present (> threshold); the left
    branch is "no", the right "yes". Nodes show the value (regression: the surrogate's prediction;
    classification: the majority class and its share) and the number of samples. ``x`` (one row
    of features, e.g. all ones for the original text) highlights its decision path.

    Args:
        tree: a fitted ``sklearn.tree.DecisionTreeRegressor``/``Classifier``, or an object
            holding one in ``tree_model_`` (``captum_ext.attr.TreeSurrogate``).
        feature_names (sequence of str): name of each feature (words, n-grams).
        x (array-like, optional): a feature row whose path to highlight. Default: None
        class_names (sequence of str, optional): class names of a classifier tree. Default: None
        value_label (str, optional): what a regression value is, e.g. ``"P(positive)"``.
            Default: "value"
        ax (matplotlib Axes, optional): draw here instead of a new figure. Default: None

    Returns:
        PlotFigure (or ``ax.figure``)

    Raises:
        InputError: not a fitted tree, or ``feature_names``/``x`` of the wrong length.

    Examples::

        >>> import numpy as np
        >>> from sklearn.tree import DecisionTreeRegressor
        >>> X = np.array([[a, b] for a in (0, 1) for b in (0, 1)] * 5, dtype=float)
        >>> y = X[:, 0] * X[:, 1]
        >>> tree = DecisionTreeRegressor(max_depth=2).fit(X, y)
        >>> fig = plot_tree_surrogate(tree, ["not", "bad"], x=[1, 1], value_label="P(positive)")
        >>> any("bad" in t.get_text() for t in fig.axes[0].texts)
        True
    """
    est = _sk_tree(tree)
    t = est.tree_
    n_features = int(t.n_features)
    names = [str(f) for f in feature_names]
    if len(names) != n_features:
        raise InputError(
            f"feature_names has {len(names)} names but the tree was fitted on {n_features} "
            "features."
        )
    xs = None if x is None else np.asarray(x, dtype=np.float64).reshape(-1)
    if xs is not None and xs.size != n_features:
        raise InputError(f"x has {xs.size} values, expected one per feature ({n_features}).")
    classes = None if class_names is None else [str(c) for c in class_names]
    if classes is None and hasattr(est, "classes_"):
        classes = [str(c) for c in est.classes_]

    left, right = t.children_left, t.children_right
    # layout: leaves get consecutive x slots in order, a parent sits between its children
    pos: dict[int, tuple[float, int]] = {}
    counter = [0]

    def place(node: int, depth: int) -> float:
        if left[node] == -1:
            pos[node] = (float(counter[0]), depth)
            counter[0] += 1
        else:
            xl = place(int(left[node]), depth + 1)
            xr = place(int(right[node]), depth + 1)
            pos[node] = ((xl + xr) / 2.0, depth)
        return pos[node][0]

    place(0, 0)
    n_leaves = counter[0]
    depth = max(d for _, d in pos.values())

    path: set[int] = set()
    if xs is not None:
        node = 0
        path.add(node)
        while left[node] != -1:
            node = int(left[node] if xs[t.feature[node]] <= t.threshold[node] else right[node])
            path.add(node)

    def node_text(node: int) -> str:
        value = np.asarray(t.value[node]).reshape(-1)
        samples = int(t.n_node_samples[node])
        if value.size == 1:
            body = f"{_plain(value_label)} = {value[0]:.3f}"
        else:
            share = value / value.sum() if value.sum() > 0 else value
            c = int(np.argmax(share))
            label = classes[c] if classes and c < len(classes) else str(c)
            body = f"{_plain(label)} ({share[c]:.0%})"
        body += f"\nn = {samples}"
        if left[node] != -1:
            body = f"contains “{_plain(_shorten(names[t.feature[node]], 24))}”?\n" + body
        return body

    fig, ax = _new_axes(ax, (max(5.0, 1.9 * n_leaves), 1.5 * (depth + 1) + 0.5))
    for node, (px, d) in pos.items():
        if left[node] != -1:
            for child, edge in ((int(left[node]), "no"), (int(right[node]), "yes")):
                cx, cd = pos[child]
                on_path = node in path and child in path
                ax.plot(
                    [px, cx],
                    [-d, -cd],
                    color=_GREEN if on_path else "#999999",
                    lw=2.5 if on_path else 1,
                    zorder=1,
                )
                ax.text(
                    (px + cx) / 2,
                    (-d - cd) / 2,
                    edge,
                    ha="center",
                    va="center",
                    fontsize=7,
                    color="#555555",
                    bbox={"boxstyle": "round,pad=0.1", "fc": "white", "ec": "none"},
                    zorder=2,
                )
        leaf = left[node] == -1
        ax.text(
            px,
            -d,
            node_text(node),
            ha="center",
            va="center",
            fontsize=8,
            zorder=3,
            bbox={
                "boxstyle": "round,pad=0.4",
                "fc": "#e9f5ee" if node in path else ("#f7f7f7" if leaf else "white"),
                "ec": _GREEN if node in path else "#777777",
                "lw": 1.5 if node in path else 0.8,
            },
        )
    ax.set_xlim(-0.7, n_leaves - 0.3)
    ax.set_ylim(-depth - 0.6, 0.6)
    ax.axis("off")
    ax.set_title(
        "Tree surrogate" + (" (highlighted: the explained text)" if xs is not None else ""),
        fontsize=10,
    )
    return fig


# -- representer proponents / opponents -----------------------------------------------------------
def plot_representer(
    scores: Sequence[float] | np.ndarray,
    texts: Sequence[str],
    *,
    labels: Sequence[str] | None = None,
    k: int = 5,
    title: str = "Training tweets that push the prediction (proponents) and against it (opponents)",
    max_chars: int = 60,
    ax: Axes | None = None,
) -> Figure:
    """Proponents (largest positive scores) and opponents (most negative) as horizontal bars.

    Args:
        scores (array-like): one influence score per training text (representer values, or
            any signed score), shape ``(n,)``.
        texts (sequence of str): the training texts, aligned with ``scores``.
        labels (sequence of str, optional): each text's training label, shown in brackets (a
            proponent with the other label is a hint of a mislabeled tweet). Default: None
        k (int, optional): how many of each. Default: 5
        title (str, optional): plot title.
        max_chars (int, optional): texts are cut to this many characters. Default: 60
        ax (matplotlib Axes, optional): draw here instead of a new figure. Default: None

    Returns:
        PlotFigure (or ``ax.figure``)

    Raises:
        InputError: ``scores``, ``texts`` and ``labels`` of different lengths, or ``k < 1``.

    Examples::

        >>> fig = plot_representer([0.9, -0.4, 0.2, -0.8], ["love it", "awful", "fine", "$5 lost"],
        ...                        labels=["positive", "negative", "positive", "negative"], k=1)
        >>> [t.get_text() for t in fig.axes[0].get_yticklabels()]
        ['[positive] love it', '[negative] \\\\$5 lost']
    """
    s = np.asarray(scores, dtype=np.float64).reshape(-1)
    texts = [str(t) for t in texts]
    if s.size != len(texts):
        raise InputError(f"scores has {s.size} values but texts has {len(texts)}: align them.")
    if labels is not None and len(labels) != len(texts):
        raise InputError(f"labels has {len(labels)} values but texts has {len(texts)}: align them.")
    check_scalar(k, "k", min_val=1)
    order = np.argsort(-s, kind="stable")
    pro = [int(i) for i in order[:k] if s[i] > 0]
    opp = [int(i) for i in order[::-1][:k] if s[i] < 0]
    chosen = (
        pro + opp[::-1]
    )  # proponents on top (largest first), opponents below (most negative last)
    if not chosen:
        raise InputError("scores has no non-zero value: nothing to show.")

    def label(i: int) -> str:
        tag = f"[{labels[i]}] " if labels is not None else ""
        return _plain(tag + _shorten(texts[i], max_chars))

    fig, ax = _new_axes(ax, (8.0, 0.42 * len(chosen) + 1.4))
    y = np.arange(len(chosen))[::-1]
    values = s[chosen]
    ax.barh(y, values, color=[_GREEN if v > 0 else _RED for v in values], height=0.7)
    ax.set_yticks(y, [label(i) for i in chosen], fontsize=8)
    ax.axvline(0, color="black", lw=0.8)
    for yi, v in zip(y, values, strict=True):
        ax.text(
            v,
            yi,
            f" {v:+.3g} ",
            va="center",
            ha="left" if v > 0 else "right",
            fontsize=7,
            color=_GREEN if v > 0 else _RED,
        )
    ax.set_xlabel("influence score")
    ax.set_title(_plain(textwrap.fill(title, 70)), fontsize=10)
    ax.margins(x=0.2)
    return fig
