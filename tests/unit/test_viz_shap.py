"""WordAttribution -> shap.Explanation, checked against SHAP's own text explanations and plots."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import shap  # noqa: E402

from captum_ext.errors import InputError  # noqa: E402
from captum_ext.result import WordAttribution  # noqa: E402
from captum_ext.viz.shap_interop import base_value, text_pieces, to_shap_explanation  # noqa: E402

EVIL = "lol <script>alert(1)</script> and <img src=x onerror=alert(1)> ok"
LABELS = ("negative", "positive")


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def wa_for(text: str, scores, *, target: int = 1, method: str = "ig", **kw) -> WordAttribution:
    """Whitespace words (hand-built results, no model)."""
    words, spans, pos = [], [], 0
    for w in text.split():
        pos = text.index(w, pos)
        words.append(w)
        spans.append((pos, pos + len(w)))
        pos += len(w)
    return WordAttribution(
        text=text,
        words=words,
        spans=spans,
        scores=np.asarray(scores, dtype=float),
        target=target,
        labels=LABELS,
        probs=kw.pop("probs", np.array([0.2, 0.8])),
        method=method,
        **kw,
    )


def test_matches_shaps_own_text_explanation(adapter):
    """A shap-partition result converts back to what shap.Explainer + Text masker returned."""
    from captum_ext.methods.shap_partition import shap_values_to_words

    text = "what a lovely day for a walk"
    # one SHAP run (the first call of shap is slow): the reference, and our result built from it
    ref = adapter.shap_explainer()([text], max_evals=40, batch_size=64, silent=True)[
        0, :, "positive"
    ]
    enc = adapter.encode(text)
    probs = adapter.predict_proba([text])[0]
    wa = WordAttribution(
        text=text,
        words=enc.words,
        spans=enc.spans,
        scores=shap_values_to_words([str(d) for d in ref.data], ref.values, text, enc.spans),
        target=1,
        labels=adapter.labels,
        probs=probs,
        method="shap-partition",
        extras={"base_value": float(ref.base_values)},
    )
    ours = to_shap_explanation(wa)
    keep = [i for i, d in enumerate(ref.data) if d != ""]  # shap's [CLS]/[SEP] are empty tokens
    assert ours.shape == (len(keep),)
    assert ours.output_names == ref.output_names == "positive"
    assert list(ours.feature_names) == [ref.feature_names[i] for i in keep]
    assert list(ours.data) == [ref.data[i] for i in keep]
    np.testing.assert_allclose(ours.values, ref.values[keep], atol=1e-9)
    assert float(ours.base_values) == float(ref.base_values)
    # Partition is efficient: base + sum of values = the model's probability of the class
    assert float(ours.base_values) + ours.values.sum() == pytest.approx(probs[1], abs=1e-6)


def test_text_plot_shows_words_escaped(adapter):
    enc = adapter.encode(EVIL)
    rng = np.random.default_rng(0)
    wa = WordAttribution(
        text=EVIL,
        words=enc.words,
        spans=enc.spans,
        scores=rng.normal(size=len(enc.words)),
        target=1,
        labels=LABELS,
        probs=np.array([0.4, 0.6]),
        method="ig",
    )
    exp = to_shap_explanation(wa)
    assert "".join(exp.data) == EVIL
    out = shap.plots.text(exp, display=False)
    assert "<script>alert" not in out and "</script> and" not in out
    assert "<img" not in out and "onerror=alert(1)>" not in out
    assert "&lt;" in out and "&gt;" in out
    for word in ("lol", "alert", "onerror", "ok"):
        assert word in out


def test_waterfall_accepts_single_and_ends_at_model_output():
    wa = wa_for("what a lovely day", [0.0, 0.1, 0.5, 0.1], probs=np.array([0.2, 0.8]))
    exp = to_shap_explanation(wa)
    assert float(exp.base_values) == pytest.approx(0.8 - 0.7)
    shap.plots.waterfall(exp, show=False)
    fig = plt.gcf()
    labels = " ".join(t.get_text() for ax in fig.axes for t in ax.get_yticklabels())
    assert "lovely" in labels and "day" in labels
    ticks = " ".join(t.get_text() for ax in fig.axes for t in ax.get_xticklabels())
    assert "f(x)" in ticks and "0.8" in ticks  # f(x) = base + sum = P(positive)
    assert "0.1" in ticks  # E[f(X)] = the base value


def test_bar_one_text():
    exp = to_shap_explanation(wa_for("not bad at all", [0.3, -0.6, 0.05, 0.1]))
    ax = shap.plots.bar(exp, show=False)
    widths = sorted(round(p.get_width(), 6) for p in ax.patches)
    assert widths == sorted([0.3, -0.6, 0.05, 0.1])
    ticks = [t.get_text() for t in ax.get_yticklabels()]
    assert any("bad" in t for t in ticks)


def test_bar_dataset_averages_words_across_texts_with_different_words():
    rows = [
        wa_for("lovely day", [0.5, 0.1]),
        wa_for("a lovely lovely film", [0.0, 0.4, 0.2, -0.1]),
        wa_for("Awful day", [-0.7, 0.3], probs=np.array([0.9, 0.1])),
    ]
    exp = to_shap_explanation(rows, lowercase=True)
    assert exp.shape == (3, None)
    agg = exp.abs.mean(0)
    # hand: mean |score| over every occurrence of the word
    ref = {
        "lovely": (0.5 + 0.4 + 0.2) / 3,
        "day": (0.1 + 0.3) / 2,
        "a": 0.0,
        "film": 0.1,
        "awful": 0.7,
    }
    got = dict(zip(agg.feature_names, agg.values, strict=True))
    assert set(got) == set(ref)
    for k, v in ref.items():
        assert got[k] == pytest.approx(v)
    ax = shap.plots.bar(exp, show=False)
    assert sorted(round(p.get_width(), 6) for p in ax.patches) == sorted(
        round(v, 6) for v in ref.values()
    )
    # a dataset text plot and per-row waterfalls work too
    assert "film" in shap.plots.text(exp, display=False)
    shap.plots.waterfall(exp[2], show=False)
    np.testing.assert_allclose(exp.base_values, [0.8 - 0.6, 0.8 - 0.5, 0.1 - (-0.4)])


def test_bar_cohorts_compare_methods_on_same_texts():
    texts = [("lovely day", [0.5, 0.1], [0.2, 0.2]), ("bad film", [-0.4, 0.0], [-0.1, 0.3])]
    ig = to_shap_explanation([wa_for(t, a, method="ig") for t, a, _ in texts])
    lime = to_shap_explanation([wa_for(t, b, method="lime") for t, _, b in texts])
    ax = shap.plots.bar({"ig": ig, "lime": lime}, show=False)
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["ig [2]", "lime [2]"]


def test_rows_of_classes_give_shaps_multi_output_layout():
    neg = wa_for("lovely day", [-0.5, -0.1], target=0)
    pos = wa_for("lovely day", [0.5, 0.1], target=1)
    other = [wa_for("bad", [0.6], target=0), wa_for("bad", [-0.6], target=1)]
    exp = to_shap_explanation([[neg, pos], other])
    assert exp.shape == (2, None, 2)
    assert list(exp.output_names) == ["negative", "positive"]
    np.testing.assert_allclose(exp[0, :, "positive"].values, [0.5, 0.1])
    np.testing.assert_allclose(exp[1, :, "negative"].values, [0.6])
    shap.plots.waterfall(exp[0, :, "negative"], show=False)
    out = shap.plots.text(exp[0], display=False)  # SHAP's class selector
    assert "negative" in out and "positive" in out and "lovely" in out


def test_base_value_rules():
    wa = wa_for("good day", [0.3, 0.1], probs=np.array([0.1, 0.9]))
    assert base_value(wa) == pytest.approx(0.5)  # complete: p - sum
    assert base_value(wa, "zero") == 0.0 and base_value(wa, 0.25) == 0.25
    wa.extras["intercept"] = 0.33
    assert base_value(wa) == 0.33
    wa.extras["base_value"] = 0.42  # the method's own base value wins
    assert base_value(wa) == 0.42
    logodds = wa_for(
        "good day", [0.3, 0.1], probs=np.array([0.1, 0.9]), settings={"output": "log_odds"}
    )
    assert base_value(logodds) == pytest.approx(np.log(9.0) - 0.4)
    logits = wa_for("good day", [0.3, 0.1], settings={"output": "logits"})
    assert base_value(logits) == 0.0
    unsigned = wa_for("good day", [0.3, 0.1], signed=False)
    assert base_value(unsigned) == 0.0
    with pytest.raises(InputError, match="base_value must be"):
        base_value(wa, "median")


def test_text_pieces_rebuild_text():
    wa = wa_for("  spaced   out  ", [1.0, 2.0])
    assert text_pieces(wa) == ["  spaced   ", "out  "]


def test_errors_name_the_fix():
    with pytest.raises(InputError, match="at least one"):
        to_shap_explanation([])
    with pytest.raises(InputError, match=r"same class .*targets=\['positive'\]"):
        to_shap_explanation([wa_for("a", [1.0]), wa_for("b", [1.0], target=0)])
    with pytest.raises(InputError, match="mixes texts"):
        to_shap_explanation([[wa_for("a", [1.0]), wa_for("b", [1.0], target=0)]])
    with pytest.raises(InputError, match="more than once"):
        to_shap_explanation([[wa_for("a", [1.0]), wa_for("a", [2.0])]])
    with pytest.raises(InputError, match="not a mix"):
        to_shap_explanation([wa_for("a", [1.0]), [wa_for("a", [1.0])]])


def test_text_plot_html_has_colours_on_numpy_2():
    """shap.plots.text on our result writes CSS colours (no ``np.float64(`` reprs)."""
    import re

    wa = wa_for("what a lovely day", [0.0, -0.2, 0.5, 0.1])
    html = shap.plots.text(wa.to_shap(), display=False)
    assert "np.float64(" not in html
    colours = re.findall(r"rgba\((\d+(?:\.\d+)?), (\d+(?:\.\d+)?), (\d+(?:\.\d+)?), ([\d.]+)\)", html)
    assert colours, "no rgba(r, g, b, a) colour in shap.plots.text's HTML"
    assert any(float(a) > 0.1 for *_, a in colours)  # words are painted, not transparent
    reds = [c for c in colours if float(c[0]) > 200 and float(c[3]) > 0.1]
    blues = [c for c in colours if float(c[2]) > 200 and float(c[0]) < 100 and float(c[3]) > 0.1]
    assert reds and blues  # positive and negative scores both coloured


def test_colour_fix_is_only_installed_while_shap_has_the_bug():
    from shap.plots import _text

    from captum_ext.viz.shap_interop import _text_plot_has_numpy2_bug, fix_shap_text_colours

    assert fix_shap_text_colours() == _text_plot_has_numpy2_bug(_text)
    fake_fixed = type("M", (), {"_css_rgba": staticmethod(lambda *a: "")})
    assert not _text_plot_has_numpy2_bug(fake_fixed)


def test_bar_and_waterfall_labels_name_the_method_and_the_models_output():
    from captum_ext.viz import shap_bar, shap_waterfall

    ig = wa_for("what a lovely day", [0.0, 0.1, 0.5, 0.1], probs=np.array([0.2, 0.8]))
    ax = shap_bar(ig)
    assert ax.get_xlabel() == "ig score on the probability of positive"
    assert "SHAP" not in ax.get_xlabel()
    plt.close("all")
    many = shap_bar([ig, wa_for("lovely", [0.4], probs=np.array([0.3, 0.7]))])
    assert many.get_xlabel().startswith("mean |ig score")
    plt.close("all")
    lime = wa_for(
        "what a lovely day", [0.0, 0.1, 0.25, 0.05], method="lime", probs=np.array([0.04, 0.96]),
        extras={"intercept": 0.534, "local_pred": 0.934, "model_pred": 0.96},
    )
    ax = shap_waterfall(lime)
    ticks = [t.get_text() for a in ax.figure.axes for t in a.get_xticklabels()]
    assert "$f(x)$" not in ticks and "$g(x)$" in ticks
    assert any("model $f(x)$ = 0.960" in t and "0.934" in t for t in ticks)
    assert any("intercept = 0.534" in t for t in ticks)
    assert ax.figure.axes[0].get_xlabel() == "lime weight (surrogate) on the probability of positive"
    plt.close("all")
    ax = shap_waterfall(ig)  # not a surrogate: SHAP's f(x) is the model's output, kept
    ticks = [t.get_text() for a in ax.figure.axes for t in a.get_xticklabels()]
    assert "$f(x)$" in ticks
    plt.close("all")
