"""Figures of captum_ext.viz.plots: data drawn = data given (hand-computed), PNG/SVG/HTML out."""

from __future__ import annotations

import base64
import re

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor  # noqa: E402

from captum_ext.errors import InputError  # noqa: E402
from captum_ext.result import WordAttribution  # noqa: E402
from captum_ext.viz.plots import (  # noqa: E402
    PlotFigure,
    plot_agreement_heatmap,
    plot_deletion_curves,
    plot_representer,
    plot_tree_surrogate,
    plot_word_heatmap,
)

EVIL = "lol <script>alert(1)</script> $5 and <img src=x onerror=alert(1)> ok"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def words_of(text: str):
    found = [(m.group(), m.span()) for m in re.finditer(r"\w+|[^\w\s]", text)]
    return [w for w, _ in found], [s for _, s in found]


def wa(method: str, scores, text: str = "not bad at all", **kw) -> WordAttribution:
    words, spans = words_of(text)
    return WordAttribution(
        text=text,
        words=words,
        spans=spans,
        scores=np.asarray(scores, dtype=float),
        target=1,
        labels=("negative", "positive"),
        probs=np.array([0.2, 0.8]),
        method=method,
        **kw,
    )


def evil_figures():
    n = len(words_of(EVIL)[0])
    rng = np.random.default_rng(0)
    X = rng.integers(0, 2, (60, 3)).astype(float)
    tree = DecisionTreeRegressor(max_depth=2, random_state=0).fit(X, X[:, 0] + X[:, 1])
    return {
        "heat": plot_word_heatmap(
            [wa("<script>ig", rng.normal(size=n), EVIL), wa("lime", rng.normal(size=n), EVIL)]
        ),
        "agree": plot_agreement_heatmap(np.eye(2), ["<img src=x onerror=alert(1)>", "$x$"]),
        "deletion": plot_deletion_curves([0, 0.5, 1], {"<script>": [1, 0.5, 0.2]}),
        "tree": plot_tree_surrogate(tree, ["<script>", "$5", "<img src=x>"], x=[1, 1, 1]),
        "representer": plot_representer([1.0, -1.0], [EVIL, "<b>bold</b> $1 and $2"]),
    }


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def test_every_plot_writes_png_and_svg_and_escaped_html(tmp_path):
    for name, fig in evil_figures().items():
        assert isinstance(fig, PlotFigure)
        png, svg = tmp_path / f"{name}.png", tmp_path / f"{name}.svg"
        fig.save(png)
        fig.save(svg)
        assert png.read_bytes().startswith(PNG_MAGIC) and png.stat().st_size > 2000, name
        text = svg.read_text(encoding="utf-8")
        assert "<svg" in text and svg.stat().st_size > 2000, name
        for tag in ("<script", "<img", "<b>"):
            assert tag not in text, (name, tag)
    # HTML: an <img> with the figure as a data URI; the alt text is escaped
    fig = evil_figures()["representer"]
    for fmt, magic in (("png", PNG_MAGIC), ("svg", b"<?xml")):
        out = fig.to_html(fmt, alt="<script>alert(1)</script>")
        assert out.startswith('<img alt="&lt;script&gt;alert(1)&lt;/script&gt;"')
        assert out.count("<") == 1  # one tag, everything else is base64 or escaped
        data = out.split("base64,", 1)[1].rstrip('">')
        assert base64.b64decode(data).startswith(magic)
    html = fig._repr_html_()
    assert html.startswith("<img") and "<script" not in html and 'alt="Training tweets' in html


def test_word_heatmap_draws_row_scaled_scores():
    a = wa("ig", [0.4, -0.2, 0.0, 0.1])
    b = wa("lime", [1.0, 2.0, -4.0, 0.0])
    fig = plot_word_heatmap([a, b])
    ax = fig.axes[0]
    drawn = np.asarray(ax.images[0].get_array())
    np.testing.assert_allclose(drawn, [[1.0, -0.5, 0.0, 0.25], [0.25, 0.5, -1.0, 0.0]])
    assert [t.get_text() for t in ax.get_xticklabels()] == ["not", "bad", "at", "all"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["ig", "lime"]
    cells = [t.get_text() for t in ax.texts]
    assert len(cells) == 8 and cells[1] == "−.50"
    shared = np.asarray(plot_word_heatmap([a, b], scale="shared").axes[0].images[0].get_array())
    np.testing.assert_allclose(shared, np.array([[0.4, -0.2, 0.0, 0.1], [1, 2, -4, 0]]) / 4)


def test_word_heatmap_labels_are_literal():
    ax = plot_word_heatmap([wa("a$b$", [1.0, 2.0, 3.0], "$5 $")]).axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["\\$", "5", "\\$"]
    assert ax.get_yticklabels()[0].get_text() == "a\\$b\\$"


def test_word_heatmap_errors():
    with pytest.raises(InputError, match="same text"):
        plot_word_heatmap([wa("a", [1, 2, 3, 4]), wa("b", [1, 2], "so bad")])
    with pytest.raises(InputError, match="at least one"):
        plot_word_heatmap([])
    with pytest.raises(InputError, match="scale"):
        plot_word_heatmap([wa("a", [1, 2, 3, 4])], scale="col")


def test_agreement_heatmap_from_array_and_dataframe():
    import pandas as pd

    m = np.array([[1.0, 0.3], [0.3, np.nan]])
    fig = plot_agreement_heatmap(
        pd.DataFrame(m, index=["ig", "lime"], columns=["ig", "lime"]),
        metric="top-3 overlap",
        vmin=0,
        vmax=1,
    )
    ax = fig.axes[0]
    drawn = ax.images[0].get_array()
    assert drawn.mask.tolist() == [[False, False], [False, True]]
    np.testing.assert_allclose(drawn.data[:1], m[:1])
    assert sorted(t.get_text() for t in ax.texts) == ["0.30", "0.30", "1.00"]
    assert fig.axes[1].get_ylabel() == "top-3 overlap"  # the colour bar
    with pytest.raises(InputError, match="square"):
        plot_agreement_heatmap(np.ones((2, 3)), ["a", "b"])
    with pytest.raises(InputError, match="methods has 3 names"):
        plot_agreement_heatmap(np.eye(2), ["a", "b", "c"])
    with pytest.raises(InputError, match="methods must name"):
        plot_agreement_heatmap(np.eye(2))


def test_deletion_curves_mean_band_and_area():
    x = [0.0, 0.5, 1.0]
    many = np.array([[1.0, 0.4, 0.0], [0.8, 0.2, 0.2]])
    fig = plot_deletion_curves(x, {"ig": many, "random": [1.0, 0.9, 0.5]})
    ax = fig.axes[0]
    ig_line, rnd_line = ax.lines
    np.testing.assert_allclose(ig_line.get_ydata(), [0.9, 0.3, 0.1])
    np.testing.assert_allclose(rnd_line.get_xdata(), x)
    # area by hand: trapezoid of the mean curve
    ig_area = 0.5 * (0.9 + 0.3) / 2 + 0.5 * (0.3 + 0.1) / 2
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == [f"ig (area {ig_area:.2f})", "random (area 0.82)"]
    assert len(ax.collections) == 1  # one ±SE band, for the method with several texts
    band = ax.collections[0].get_paths()[0].vertices[:, 1]
    se = np.std(many, axis=0, ddof=1) / np.sqrt(2)
    assert np.isclose(band.max(), (many.mean(0) + se).max())
    with pytest.raises(InputError, match=r"curves\['ig'\] has shape \(2,\)"):
        plot_deletion_curves(x, {"ig": [1, 2]})
    with pytest.raises(InputError, match="at least one method"):
        plot_deletion_curves(x, {})


def test_tree_surrogate_questions_and_highlighted_path():
    X = np.array([[a, b] for a in (0, 1) for b in (0, 1)] * 5, dtype=float)
    tree = DecisionTreeRegressor(max_depth=2, random_state=0).fit(X, X[:, 0] * X[:, 1])
    fig = plot_tree_surrogate(tree, ["not", "bad"], x=[1, 1], value_label="P(positive)")
    ax = fig.axes[0]
    boxes = [t for t in ax.texts if "n =" in t.get_text()]
    assert len(boxes) == tree.tree_.node_count
    questions = [t.get_text().split("\n")[0] for t in boxes if "contains" in t.get_text()]
    assert sorted(questions) == sorted(
        f"contains “{['not', 'bad'][f]}”?" for f in tree.tree_.feature if f >= 0
    )
    # the highlighted path (green edges) runs root -> the leaf of x = [1, 1], value 1.0
    leaf = int(tree.apply(np.array([[1.0, 1.0]]))[0])
    highlighted = [t for t in boxes if t.get_bbox_patch().get_linewidth() == 1.5]
    assert len(highlighted) == len(tree.decision_path(np.array([[1.0, 1.0]])).indices)
    assert any(
        t.get_text().startswith(f"P(positive) = {tree.tree_.value[leaf].item():.3f}")
        for t in highlighted
    )
    with pytest.raises(InputError, match="feature_names has 1 names"):
        plot_tree_surrogate(tree, ["not"])
    with pytest.raises(InputError, match="fitted scikit-learn decision tree"):
        plot_tree_surrogate(object(), ["a"])


def test_tree_surrogate_classifier_and_wrapper():
    X = np.array([[0.0], [1.0]] * 10)
    clf = DecisionTreeClassifier(random_state=0).fit(X, ["neg", "pos"] * 10)

    class Holder:  # like captum_ext.attr.TreeSurrogate
        tree_model_ = clf

    ax = plot_tree_surrogate(Holder(), ["great"]).axes[0]
    texts = [t.get_text() for t in ax.texts]
    assert any(t.startswith("pos (100%)") for t in texts)
    assert any(t.startswith("contains “great”?\nneg (50%)") for t in texts)


def test_representer_picks_proponents_and_opponents():
    scores = [0.5, -0.1, 2.0, -3.0, 0.0, 1.0, -0.2]
    texts = [f"t{i}" for i in range(7)]
    labels = ["positive", "negative"] * 3 + ["positive"]
    ax = plot_representer(scores, texts, labels=labels, k=2).axes[0]
    ticks = [t.get_text() for t in ax.get_yticklabels()]
    # top: largest proponents first; bottom: the most negative opponent last
    assert ticks == ["[positive] t2", "[negative] t5", "[positive] t6", "[negative] t3"]
    widths = [p.get_width() for p in ax.patches]
    assert widths == [2.0, 1.0, -0.2, -3.0]
    with pytest.raises(InputError, match="align them"):
        plot_representer([1.0], ["a", "b"])
    with pytest.raises(InputError, match="nothing to show"):
        plot_representer([0.0], ["a"])


def test_draws_into_given_axes():
    fig, axes = plt.subplots(1, 2)
    out = plot_deletion_curves([0, 1], {"ig": [1, 0]}, ax=axes[1])
    assert out is fig and len(axes[1].lines) == 1 and not axes[0].lines
