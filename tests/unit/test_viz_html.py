"""Escaped HTML views (captum_ext.viz.html)."""

from __future__ import annotations

import html
import re

import numpy as np
import pytest

from captum_ext.errors import InputError
from captum_ext.result import WordAttribution
from captum_ext.viz.html import HTMLFragment, attribution_html, compare_html, html_page, score_color

EVIL = 'lol <script>alert(1)</script> and <img src=x onerror=alert(1)> "quoted" & done'


def _words(text: str) -> tuple[list[str], list[tuple[int, int]]]:
    """Split like a BERT pre-tokenizer would: runs of word chars, or single punctuation."""
    found = [(m.group(), m.span()) for m in re.finditer(r"\w+|[^\w\s]", text)]
    return [w for w, _ in found], [s for _, s in found]


def make_wa(text: str = EVIL, method: str = "ig", seed: int = 0, **kw) -> WordAttribution:
    words, spans = _words(text)
    rng = np.random.default_rng(seed)
    return WordAttribution(
        text=text,
        words=words,
        spans=spans,
        scores=kw.pop("scores", rng.normal(size=len(words))),
        target=kw.pop("target", 1),
        labels=kw.pop("labels", ("negative", "positive")),
        probs=np.array([0.3, 0.7]),
        method=method,
        **kw,
    )


RAW_TAGS = ["<script", "</script", "<img", "onerror=alert(1)>"]


def assert_no_raw_tags(out: str) -> None:
    for tag in RAW_TAGS:
        assert tag not in out, f"raw {tag!r} survived in HTML output"


def visible_text(out: str) -> str:
    """What a browser would show: tags removed, entities decoded."""
    return html.unescape(re.sub(r"<[^>]+>", "", out))


def test_attribution_html_escapes_and_keeps_text():
    out = attribution_html(make_wa())
    assert isinstance(out, HTMLFragment) and isinstance(out, str)
    assert_no_raw_tags(out)
    assert "&lt;script&gt;" not in out  # each punctuation is its own coloured word...
    assert "&lt;" in out and "&gt;" in out and "&amp;" in out and "&quot;" in out
    # ...and the visible text is exactly the tweet (plus header and legend).
    assert EVIL in visible_text(out)
    assert out._repr_html_() == str(out)


def test_one_span_per_word_coloured_by_sign():
    wa = make_wa("good bad meh", scores=np.array([2.0, -1.0, 0.0]))
    out = attribution_html(wa, header=False, legend=False)
    spans = re.findall(
        r'<span style="background-color:([^;]+);[^"]*" title="([^"]*)">([^<]*)</span>', out
    )
    assert [s[2] for s in spans] == ["good", "bad", "meh"]
    assert spans[0][0] == "rgba(22,150,70,0.850)"  # full green for the largest |score|
    assert spans[1][0] == "rgba(214,39,40,0.425)"  # red, half
    assert spans[2][0] == "rgba(0,0,0,0.000)"
    assert spans[0][1] == "good: +2"


def test_unsigned_uses_magnitude_colour():
    wa = make_wa("good bad", scores=np.array([0.2, 0.4]), signed=False)
    out = attribution_html(wa, header=False, legend=False)
    assert "rgba(31,119,180,0.850)" in out and "rgba(31,119,180,0.425)" in out


def test_method_label_and_tooltips_escaped():
    wa = make_wa(
        "a <b>", method="<img src=x onerror=alert(1)>", labels=("<script>n", 'p"><script>')
    )
    out = attribution_html(wa) + compare_html([wa, make_wa("a <b>", method="x")])
    assert_no_raw_tags(out)
    assert '"><script>' not in out


def test_compare_html_rows_and_scales():
    a = make_wa("good bad", method="ig", scores=np.array([1.0, -0.5]))
    b = make_wa("good bad", method="lime", scores=np.array([0.1, -0.1]))
    row = compare_html([a, b])
    shared = compare_html([a, b], scale="shared")
    assert row.count("<tr>") == 3
    # row scale: lime's 0.1 is its max -> full colour; shared: 0.1/1.0 of it
    assert row.count("rgba(22,150,70,0.850)") >= 2
    assert "rgba(22,150,70,0.085)" in shared
    assert_no_raw_tags(compare_html([make_wa(), make_wa(method="lime", seed=1)]))


def test_compare_html_rejects_bad_input():
    with pytest.raises(InputError, match="same text"):
        compare_html([make_wa("a b"), make_wa("a c")])
    with pytest.raises(InputError, match="at least one"):
        compare_html([])
    with pytest.raises(InputError, match="scale"):
        attribution_html(make_wa(), scale=-1.0)


def test_html_page_and_save(tmp_path):
    frag = attribution_html(make_wa())
    page = html_page(frag, title="<script>t</script>")
    assert page.startswith("<!DOCTYPE html>") and '<meta charset="utf-8">' in page
    assert_no_raw_tags(page)
    path = tmp_path / "x.html"
    frag.save(str(path))
    assert path.read_text(encoding="utf-8") == html_page(frag)


def test_score_color_clips_and_handles_nan():
    assert score_color(5.0, 1.0) == score_color(1.0, 1.0)
    assert score_color(float("nan"), 1.0) == "rgba(0,0,0,0.000)"


def test_notebook_reprs_escape_and_scroll():
    from types import SimpleNamespace

    import pandas as pd

    from captum_ext.data import TextDataset
    from captum_ext.influence import InfluenceResult
    from captum_ext.viz.html import summary_html

    evil = "<script>alert(1)</script>"
    train = TextDataset(["good", evil, "great"], [1, 0, 1])
    res = InfluenceResult("knn", "neighbours", [f"nice {evil}"], np.array([[1, 0]]),
                          np.array([[0.9, 0.8]]), train, np.array([1]), np.array([1]))
    out = res._repr_html_()
    assert "<script>" not in out and "&lt;script&gt;" in out
    assert "overflow-x:auto" in out and "great" not in out  # only the ranked texts
    summary = SimpleNamespace(
        methods=["ig", evil],
        headline=f"Believe {evil}.",
        verdict=pd.DataFrame({"method": [evil], "verdict": ["believe"]}),
        agreement_summary=pd.DataFrame(),
        metric_table=pd.DataFrame({"method": ["ig"], "aopc": [0.25]}),
    )
    html = summary_html(summary)
    assert "<script>" not in html and html.count("&lt;script&gt;") == 3
    assert "aopc" in html and "agreement" not in html  # empty tables left out


def test_lime_result_repr_and_frames():
    from captum_ext.attr.text_lime import LimeResult

    lime = LimeResult(
        feature_names=["<b>", "day"], weights=np.array([0.1, -0.3]), intercept=0.5, score=0.8,
        local_pred=0.3, model_pred=0.35, target=1, output="probs", surrogate="ridge",
        n_samples=100, n_evaluations=50, unit_scores=np.array([0.1, -0.3]), n_base=2,
    )
    frame = lime.to_frame()
    assert list(frame.feature) == ["day", "<b>"] and list(frame.weight) == [-0.3, 0.1]
    out = lime._repr_html_()
    assert "&lt;b&gt;" in out and "<b><b>" not in out
    assert "model f(x) 0.35" in out and "surrogate g(x) 0.3" in out
    wa = WordAttribution(text="good day", words=["good", "day"], spans=[(0, 4), (5, 8)],
                         scores=np.array([0.3, -0.5]), target=1, labels=("negative", "positive"),
                         probs=np.array([0.1, 0.9]), method="ig")
    assert wa.to_frame().to_dict("list") == {
        "word": ["good", "day"], "start": [0, 5], "end": [4, 8], "score": [0.3, -0.5],
        "rank": [2, 1],
    }
