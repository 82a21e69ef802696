"""WordAttribution -> Captum VisualizationDataRecord, and visualize_text that escapes."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch
from captum.attr import visualization as captum_viz

from captum_ext.errors import InputError
from captum_ext.methods import make_explainer
from captum_ext.result import WordAttribution
from captum_ext.viz.captum_interop import to_visualization_record, visualize_text

EVIL = "lol <script>alert(1)</script> and <img src=x onerror=alert(1)> ok"
LABELS = ("negative", "positive")


@pytest.fixture(scope="module")
def evil_ig(adapter):
    return make_explainer("ig", adapter, n_steps=8).explain(EVIL, target="positive")


@pytest.fixture
def captum_html(monkeypatch):
    """Run Captum's real visualize_text without IPython: capture the HTML string it builds."""

    class _HTML:
        def __init__(self, data: str) -> None:
            self.data = data

    monkeypatch.setattr(captum_viz, "HAS_IPYTHON", True, raising=False)
    from captum.attr._utils import visualization as impl

    monkeypatch.setattr(impl, "HAS_IPYTHON", True)
    monkeypatch.setattr(impl, "HTML", _HTML, raising=False)
    monkeypatch.setattr(impl, "display", lambda obj: None, raising=False)
    return lambda records: impl.visualize_text(records).data


def test_record_fields_match_captum_tutorial_recipe(adapter, evil_ig):
    """Captum's BERT tutorials: summed token attributions / L2 norm, max softmax prob, sum."""
    from captum.attr import LayerIntegratedGradients

    ids, mask = adapter.captum_inputs(EVIL)
    lig = LayerIntegratedGradients(adapter.forward_func(), adapter.embedding_layer)
    attributions, delta = lig.attribute(
        ids,
        adapter.baselines(ids),
        additional_forward_args=(mask,),
        target=1,
        n_steps=8,
        return_convergence_delta=True,
    )
    attributions_sum = attributions.sum(dim=-1).squeeze(0)
    attributions_sum = attributions_sum / torch.norm(attributions_sum)
    with torch.no_grad():
        probs = adapter.forward_func()(ids, mask)[0]
    ref = captum_viz.VisualizationDataRecord(
        attributions_sum,
        torch.max(probs),
        torch.argmax(probs),
        1,
        1,
        attributions_sum.sum(),
        adapter.encode(EVIL).tokens,
        delta,
    )
    rec = to_visualization_record(evil_ig, level="token", true_label=1)
    np.testing.assert_allclose(
        rec.word_attributions.numpy(), ref.word_attributions.detach().numpy(), atol=1e-6
    )
    assert rec.pred_prob == pytest.approx(float(ref.pred_prob), abs=1e-6)
    assert rec.pred_class == LABELS[int(ref.pred_class)]
    assert rec.true_class == LABELS[ref.true_class] and rec.attr_class == LABELS[ref.attr_class]
    assert rec.attr_score == pytest.approx(float(ref.attr_score), abs=1e-6)
    assert rec.raw_input_ids == ref.raw_input_ids
    assert rec.convergence_score == pytest.approx(float(delta.abs().max()), abs=1e-6)

    words = to_visualization_record(evil_ig)
    assert words.raw_input_ids == evil_ig.words
    w = evil_ig.scores / np.linalg.norm(evil_ig.scores)
    np.testing.assert_allclose(words.word_attributions.numpy(), w, atol=1e-12)
    assert words.true_class == "n/a"


def test_normalize_options():
    wa = WordAttribution(
        text="a b",
        words=["a", "b"],
        spans=[(0, 1), (2, 3)],
        scores=np.array([3.0, -4.0]),
        target=0,
        labels=LABELS,
        probs=np.array([0.6, 0.4]),
        method="lime-official",
    )
    assert to_visualization_record(wa).word_attributions.tolist() == [0.6, -0.8]
    assert to_visualization_record(wa, normalize="max").word_attributions.tolist() == [0.75, -1.0]
    assert to_visualization_record(wa, normalize=None).word_attributions.tolist() == [3.0, -4.0]
    assert to_visualization_record(wa).convergence_score is None
    with pytest.raises(InputError, match="normalize must be"):
        to_visualization_record(wa, normalize="z")
    with pytest.raises(InputError, match="level='token' needs word-piece scores"):
        to_visualization_record(wa, level="token")
    with pytest.raises(InputError, match="out of range"):
        to_visualization_record(wa, true_label=5)


def test_captum_visualize_text_does_not_escape_ours_does(evil_ig, captum_html):
    records = [to_visualization_record(evil_ig, level="token"), to_visualization_record(evil_ig)]
    theirs = captum_html(records)
    ours = visualize_text(records)
    # Captum writes the words raw: the tweet's '<' characters are in its HTML as is
    assert re.findall(r"<(?![a-zA-Z/!])", theirs), "Captum escapes now (#1226 fixed upstream?)"
    # ours: every '<' in the document starts one of our own tags, the tweet's are &lt;
    assert not re.findall(r"<(?![a-zA-Z/!])", ours)
    for tag in ("<script", "<img", "onerror=alert(1)>"):
        assert tag not in ours
    assert ours.count("&lt;") >= 2 * 3  # '<', '</', '<' in both records
    # same table: same columns and same colours
    for col in ("True Label", "Predicted Label", "Attribution Label", "Attribution Score"):
        assert col in theirs and col in ours
    assert re.findall(r"hsl\(\d+, \d+%, \d+%\)", ours) == re.findall(
        r"hsl\(\d+, \d+%, \d+%\)", theirs
    )


def test_captum_visualize_text_emits_live_tags_from_whitespace_words(captum_html):
    """Words from ``text.split()`` (as in Captum's tutorials) carry whole tags: Captum emits them."""
    words = EVIL.split() + ["x<img src=x onerror=alert(2)>"]
    rec = captum_viz.VisualizationDataRecord(
        torch.linspace(-1, 1, len(words)),
        0.9,
        "positive",
        "positive",
        "positive",
        0.0,
        words,
        None,
    )
    theirs = captum_html([rec])
    assert "x<img src=x onerror=alert(2)>" in theirs  # a live, executing tag
    assert "<img" in theirs and "</script" in theirs
    ours = visualize_text([rec])
    for tag in ("<img", "<script", "</script", "onerror=alert(1)>"):
        assert tag not in ours
    assert html_escaped("x<img src=x onerror=alert(2)>") in ours


def html_escaped(s: str) -> str:
    import html

    return html.escape(s, quote=True)


def test_visualize_text_takes_word_attributions_and_escapes_labels():
    wa = WordAttribution(
        text="hi",
        words=["hi"],
        spans=[(0, 2)],
        scores=np.array([1.0]),
        target=0,
        labels=("<b>neg</b>", "pos"),
        probs=np.array([0.7, 0.3]),
        method="ig",
    )
    out = visualize_text([wa], legend=False)
    assert "<b>neg</b>" not in out and "&lt;b&gt;neg&lt;/b&gt;" in out
    assert "Legend" not in out and "Legend" in visualize_text([wa])
    assert out._repr_html_() == str(out)


def test_captums_visualize_text_runs_unchanged_on_our_record(evil_ig):
    """The documented call, without patches: IPython is a dependency (pyproject.toml)."""
    from captum.attr import visualization as viz  # Captum's tutorials' import

    html = viz.visualize_text([evil_ig.to_captum_record()])
    assert type(html).__name__ == "HTML"  # IPython.display.HTML
    assert "Word Importance" in html.data and "positive" in html.data
