"""Attention maps: against the model's own output_attentions, bertviz's format, escaped HTML."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
import torch
from shared_fixtures import one_thread  # noqa: F401 (autouse fixture)

from captum_ext.adapters import TextClassifierAdapter
from captum_ext.errors import InputError
from captum_ext.internals import AttentionMaps, attention_maps

TEXT = "@bob this is not bad at all =( </script><img src=x onerror=alert(1)>"


@pytest.fixture(scope="module")
def adapter(tiny_bert_dir):
    return TextClassifierAdapter.from_pretrained(tiny_bert_dir)


@pytest.fixture(scope="module")
def maps(adapter):
    return attention_maps(adapter, TEXT)


def test_rows_sum_to_one_and_match_output_attentions(tiny_bert_dir, adapter, maps):
    from transformers import AutoModelForSequenceClassification

    ref_model = AutoModelForSequenceClassification.from_pretrained(
        tiny_bert_dir, attn_implementation="eager"
    ).eval()
    ids = torch.tensor([adapter.encode(TEXT).input_ids])
    with torch.no_grad():
        ref = ref_model(input_ids=ids, output_attentions=True).attentions
    ref = torch.stack(ref, dim=1)[0].numpy()
    assert maps.weights.shape == ref.shape == (2, 2, len(maps.tokens), len(maps.tokens))
    np.testing.assert_allclose(maps.weights.sum(-1), 1.0, atol=1e-5)
    np.testing.assert_allclose(maps.weights, ref, atol=1e-6)
    assert maps.tokens[0] == "[CLS]" and maps.tokens[-1] == "[SEP]"


def test_attention_leaves_the_model_as_it_was(tiny_bert_dir):
    adapter = TextClassifierAdapter.from_pretrained(tiny_bert_dir)
    before = adapter.model.config._attn_implementation
    p0 = adapter.predict_proba([TEXT])[0]
    maps = attention_maps(adapter, TEXT)
    assert adapter.model.config._attn_implementation == before
    np.testing.assert_allclose(maps.probs, p0, atol=1e-6)


def test_bertviz_arguments_are_what_head_view_takes(maps):
    args = maps.bertviz_arguments()
    assert set(args) == {"attention", "tokens"}
    # bertviz.head_view(attention, tokens): a tuple with one (1, heads, n, n) tensor per layer,
    # as a model returns with output_attentions=True for a batch of one
    assert isinstance(args["attention"], tuple) and len(args["attention"]) == maps.n_layers
    for layer, t in enumerate(args["attention"]):
        assert isinstance(t, torch.Tensor)
        assert tuple(t.shape) == (1, maps.n_heads, len(maps.tokens), len(maps.tokens))
        np.testing.assert_allclose(t[0].numpy(), maps.weights[layer], atol=1e-6)
    assert args["tokens"] == maps.tokens


def test_bertviz_params_have_bertviz_141_keys(maps):
    # keys of the params dict built by bertviz 1.4.1 head_view.py / model_view.py
    head = maps.bertviz_params(view="head")
    assert set(head) == {
        "attention",
        "default_filter",
        "root_div_id",
        "layer",
        "heads",
        "include_layers",
    }
    model = maps.bertviz_params(view="model")
    assert set(model) == {
        "attention",
        "default_filter",
        "display_mode",
        "root_div_id",
        "include_layers",
        "include_heads",
        "total_heads",
    }
    (entry,) = head["attention"]
    assert set(entry) == {"name", "attn", "left_text", "right_text"}
    np.testing.assert_allclose(np.array(entry["attn"]), maps.weights)
    assert entry["left_text"] == entry["right_text"] == maps.tokens
    assert head["default_filter"] == "0" and head["include_layers"] == [0, 1]


def test_to_bertviz_json_round_trips_to_tensors(maps):
    d = json.loads(json.dumps(maps.to_bertviz()))
    tensors = tuple(torch.tensor(a) for a in d["attention"])
    assert [tuple(t.shape) for t in tensors] == [(1, 2, len(maps.tokens), len(maps.tokens))] * 2
    np.testing.assert_allclose(torch.cat(tensors).numpy(), maps.weights, atol=1e-12)


def test_head_view_is_offline_and_escaped(maps):
    page = maps.head_view_html(layer=1)
    # nothing fetched at view time: no src/href to anything, no require.js, no CDN
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)
    assert "require" not in page and "cdnjs" not in page
    # the text cannot break out: exactly our two script elements, the payload escaped
    assert page.count("</script>") == 2
    assert "<img src=x" not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page  # the title shows it as text
    params = json.loads(
        page.split('<script type="application/json" id="params">')[1].split("</script>")[0]
    )
    assert params["layer"] == 1 and params["attention"][0]["left_text"] == maps.tokens


def test_head_view_data_block_cannot_close_its_script():
    tokens = ["[CLS]", "</script><script>alert(1)</script>", "&amp;", "[SEP]"]
    m = AttentionMaps(text="x", tokens=tokens, weights=np.full((1, 1, 4, 4), 0.25))
    page = m.head_view_html()
    assert page.count("</script>") == 2 and "alert(1)</script>" not in page
    block = page.split('<script type="application/json" id="params">')[1].split("</script>")[0]
    assert json.loads(block)["attention"][0]["left_text"] == tokens


def test_save_writes_png_svg_html_and_json(tmp_path):
    rng = np.random.default_rng(0)
    w = rng.random((2, 2, 4, 4))
    maps = AttentionMaps(
        text="a $5 <b>", tokens=["[CLS]", "$", "<b>", "[SEP]"], weights=w / w.sum(-1, keepdims=True)
    )
    files = maps.save(tmp_path / "png")
    assert files["heatmap_layer0"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert files["heatmap_layer1"].is_file() and files["head_view"].is_file()
    svgs = maps.save_heatmaps(tmp_path / "svg", fmt="svg", layers=[1])
    assert [p.name for p in svgs] == ["attention_layer1.svg"]
    assert b"<svg" in svgs[0].read_bytes()[:2000]
    back = AttentionMaps.from_dict(json.loads(files["json"].read_text()))
    np.testing.assert_allclose(back.weights, maps.weights)
    assert back.tokens == maps.tokens and back.text == maps.text
    bv = json.loads(files["bertviz"].read_text())
    np.testing.assert_allclose(np.array(bv["attention"])[:, 0], maps.weights)


def test_frame_is_long_table(maps):
    df = maps.to_frame()
    n = len(maps.tokens)
    assert len(df) == 2 * 2 * n * n
    row = df[
        (df["layer"] == 1) & (df["head"] == 0) & (df["from_index"] == 2) & (df["to_index"] == 3)
    ]
    assert row["weight"].item() == pytest.approx(maps.weights[1, 0, 2, 3])
    assert row["from_token"].item() == maps.tokens[2]


def test_bad_arguments(maps):
    with pytest.raises(InputError, match="layer must be in"):
        maps.plot_layer(5)
    with pytest.raises(InputError, match="head must be in"):
        maps.plot_head(0, 9)
    with pytest.raises(InputError, match="fmt"):
        maps.save_heatmaps("x", fmt="jpg")
    with pytest.raises(InputError, match="weights must be"):
        AttentionMaps(text="a", tokens=["a", "b"], weights=np.ones((1, 1, 3, 3)))
