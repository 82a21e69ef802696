"""The adapter: alignment on tricky text, the batched predictor, Captum, SHAP and official LIME."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer

from captum_ext.adapters import TextClassifierAdapter
from captum_ext.errors import InputError


@pytest.fixture(scope="module")
def adapter(tiny_bert_dir):
    model = AutoModelForSequenceClassification.from_pretrained(tiny_bert_dir)
    tok = AutoTokenizer.from_pretrained(tiny_bert_dir)
    return TextClassifierAdapter(model, tok, max_length=64, batch_size=4)


def _unbatched_probs(adapter, text):
    """Reference: the model called on one text the plain Hugging Face way."""
    enc = adapter.tokenizer(
        text, return_tensors="pt", truncation=True, max_length=adapter.max_length
    )
    with torch.no_grad():
        logits = adapter.model(**enc).logits
    return torch.softmax(logits, -1)[0].numpy()


# -- alignment ------------------------------------------------------------------------------
TRICKY = [
    "I don't  like it",
    "café crème brûlée",
    "love it 😀😀 so much",
    "@CynthiaLasVegas   Thanks so much!!!",
    "see http://twitpic.com/2y1zl - wow",
    "bad bad bad bad",
    "Ünïcödé ÀÉÎ",
    "hello\tworld\nagain",
]


@pytest.mark.parametrize("text", TRICKY)
def test_words_are_substrings_at_their_spans(adapter, text):
    enc = adapter.encode(text)
    assert enc.words, "every non-blank text has words"
    for word, (s, e) in zip(enc.words, enc.spans, strict=True):
        assert text[s:e] == word
        assert word.strip() == word and word
    # spans are ordered and do not overlap
    ends = [e for _, e in enc.spans]
    starts = [s for s, _ in enc.spans]
    assert all(e <= s2 for e, s2 in zip(ends, starts[1:], strict=False))
    # every non-special token belongs to a word, words in order
    assert [w for w in enc.token_to_word if w is not None] == sorted(
        w for w in enc.token_to_word if w is not None
    )
    assert enc.token_to_word[0] is None and enc.token_to_word[-1] is None
    assert enc.tokens[0] == "[CLS]" and enc.tokens[-1] == "[SEP]"


def test_alignment_splits_like_bert_pretokenizer(adapter):
    enc = adapter.encode("I don't  like it =(")
    assert enc.words == ["I", "don", "'", "t", "like", "it", "=", "("]
    assert enc.spans[4] == (9, 13)  # offsets count the double space


def test_repeated_words_each_have_own_span(adapter):
    enc = adapter.encode("bad bad bad")
    assert enc.spans == [(0, 3), (4, 7), (8, 11)]


def test_accents_map_to_original_characters(adapter):
    text = "café crème"
    enc = adapter.encode(text)
    assert enc.words == ["café", "crème"]
    assert enc.tokens[1:-1] and all("é" not in t for t in enc.tokens)  # normalised pieces


def test_emoji_is_a_word_with_unk_piece(adapter):
    enc = adapter.encode("love 😀")
    assert enc.words == ["love", "😀"]
    assert "[UNK]" in enc.tokens


def test_long_text_truncates_at_word_boundary_with_warning(adapter):
    text = " ".join(["wonderful"] * 200 + ["unbelievably"] * 400)  # > 512 word-pieces
    with pytest.warns(UserWarning, match="max_length"):
        enc = adapter.encode(text)
    assert enc.n_pieces > 512
    assert len(enc.input_ids) <= adapter.max_length
    assert enc.truncated and enc.n_words_kept < len(enc.words)
    kept = {w for w in enc.token_to_word if w is not None}
    assert kept == set(range(enc.n_words_kept))  # whole words only
    with pytest.warns(UserWarning, match="truncated"):
        probs = adapter.predict_proba([text])
    np.testing.assert_allclose(probs[0], adapter.predict_ids([enc.input_ids])[0], atol=1e-6)


# -- predictor ------------------------------------------------------------------------------
def test_predict_proba_matches_unbatched_reference(adapter):
    texts = ["short", "a somewhat longer text here", "short", "mid length text", "x y"]
    probs = adapter.predict_proba(texts)
    assert probs.shape == (5, 2)
    np.testing.assert_allclose(probs.sum(1), 1.0, atol=1e-9)
    for t, p in zip(texts, probs, strict=True):
        np.testing.assert_allclose(p, _unbatched_probs(adapter, t), atol=1e-5)


def test_predict_proba_deduplicates(adapter):
    before = adapter.n_forward_rows
    probs = adapter.predict_proba(["same text"] * 50 + ["other"])
    assert adapter.n_forward_rows - before == 2
    np.testing.assert_allclose(probs[0], probs[49])


def test_predict_proba_batch_size_does_not_change_results(adapter, tiny_bert_dir):
    texts = [f"text number {i} " + "word " * (i % 7) for i in range(23)]
    a1 = adapter.predict_proba(texts)
    other = TextClassifierAdapter(adapter.model, adapter.tokenizer, max_length=64, batch_size=23)
    np.testing.assert_allclose(a1, other.predict_proba(texts), atol=1e-5)


def test_predict_proba_accepts_numpy_and_single_string(adapter):
    p1 = adapter.predict_proba(np.array(["good", "bad"]))
    p2 = adapter.predict_proba("good")
    np.testing.assert_allclose(p1[0], p2[0])


def test_outputs_logits_and_log_odds_consistent(adapter):
    t = ["hello there"]
    p = adapter.predict_proba(t)[0]
    lo = adapter.predict_proba(t, output="log_odds")[0]
    np.testing.assert_allclose(lo, np.log(p) - np.log1p(-p), atol=1e-6)
    logits = adapter.predict_proba(t, output="logits")[0]
    np.testing.assert_allclose(np.exp(logits) / np.exp(logits).sum(), p, atol=1e-9)


def test_predict_ids_rejects_overlong_rows(adapter):
    with pytest.raises(InputError, match="max_length"):
        adapter.predict_ids([[101] + [2000] * 100 + [102]])


@pytest.mark.parametrize("bad", ["", "   ", "\n\t"])
def test_blank_text_is_a_clear_error(adapter, bad):
    with pytest.raises(InputError, match="empty or whitespace"):
        adapter.encode(bad)


def test_resolve_target(adapter):
    probs = np.array([0.3, 0.7])
    assert adapter.resolve_target(None, probs) == 1
    assert adapter.resolve_target("negative") == 0
    assert adapter.resolve_target("POSITIVE") == 1
    assert adapter.resolve_target(0) == 0
    assert adapter.resolve_target("1") == 1
    with pytest.raises(
        InputError, match="not a label of this model: use one of negative, positive"
    ):
        adapter.resolve_target("neutral")
    with pytest.raises(InputError):
        adapter.resolve_target(2)


def test_fast_tokenizer_required(tiny_bert_dir):
    model = AutoModelForSequenceClassification.from_pretrained(tiny_bert_dir)

    class Slow:
        is_fast = False

    with pytest.raises(InputError, match="fast"):
        TextClassifierAdapter(model, Slow())


# -- Captum ---------------------------------------------------------------------------------
def test_layer_integrated_gradients_completeness(adapter):
    from captum.attr import LayerIntegratedGradients

    ids, mask = adapter.captum_inputs("not bad at all, really good")
    base = adapter.baselines(ids)
    assert base[0, 0] == 101 and base[0, -1] == 102 and (base[0, 1:-1] == 0).all()
    lig = LayerIntegratedGradients(adapter.forward_func("probs"), adapter.embedding_layer)
    attr, delta = lig.attribute(
        ids,
        base,
        additional_forward_args=(mask,),
        target=1,
        n_steps=64,
        return_convergence_delta=True,
    )
    assert attr.shape[:2] == ids.shape
    f = adapter.forward_func("probs")
    with torch.no_grad():
        gap = (f(ids, mask)[0, 1] - f(base, mask)[0, 1]).item()
    assert abs(attr.sum().item() - gap) < 1e-3 * max(1.0, abs(gap)) + 1e-6
    assert abs(delta.item()) < 1e-3


def test_forward_func_outputs(adapter):
    ids, mask = adapter.captum_inputs("good")
    p = adapter.forward_func("probs")(ids, mask)
    lg = adapter.forward_func("logits")(ids, mask)
    torch.testing.assert_close(torch.softmax(lg, -1), p)
    with pytest.raises(InputError):
        adapter.forward_func("nope")


# -- SHAP -----------------------------------------------------------------------------------
def test_shap_explanation_plots(adapter):
    import matplotlib

    matplotlib.use("Agg")
    import shap

    explainer = adapter.shap_explainer()
    sv = explainer(["not bad at all", "what a day"], max_evals=40, batch_size=32, silent=True)
    assert isinstance(sv, shap.Explanation)
    assert list(sv.output_names) == ["negative", "positive"]
    # values + base value reproduce the model output (SHAP's efficiency property)
    for i, text in enumerate(["not bad at all", "what a day"]):
        total = sv[i].values.sum(0) + sv[i].base_values
        np.testing.assert_allclose(total, adapter.predict_proba([text])[0], atol=1e-5)
    html = shap.plots.text(sv[0, :, 1], display=False)
    assert "not" in html and "bad" in html
    shap.plots.bar(sv[0, :, 1], show=False)
    matplotlib.pyplot.close("all")


# -- official LIME --------------------------------------------------------------------------
def test_official_lime_with_classifier_fn(adapter):
    from lime.lime_text import LimeTextExplainer

    text = "just got home from dinner best dinner"
    exp = LimeTextExplainer(class_names=list(adapter.labels), random_state=0).explain_instance(
        text, adapter.classifier_fn, num_features=10, num_samples=100
    )
    words = {w for w, _ in exp.as_list()}
    assert words == set(text.split())


def test_official_submodular_pick_with_classifier_fn(adapter):
    from lime import submodular_pick
    from lime.lime_text import LimeTextExplainer

    texts = ["good day", "bad day today", "so happy now", "awful news again"]
    sp = submodular_pick.SubmodularPick(
        LimeTextExplainer(class_names=list(adapter.labels), random_state=0),
        texts,
        adapter.classifier_fn,
        method="full",
        num_exps_desired=2,
        num_features=3,
        num_samples=50,
    )
    assert len(sp.V) == 2


def test_predictor_shows_progress_over_all_calls(adapter, capsys):
    """SubmodularPick through adapter.predictor(show_progress=True): one bar counting texts."""
    from lime import submodular_pick
    from lime.lime_text import LimeTextExplainer

    texts = ["good day", "bad day today", "so happy now"]
    fn = adapter.predictor(show_progress=True)
    sp = submodular_pick.SubmodularPick(
        LimeTextExplainer(class_names=list(adapter.labels), random_state=0),
        texts, fn, method="full", num_exps_desired=1, num_features=3, num_samples=40,
    )  # fmt: skip
    assert len(sp.V) == 1
    err = capsys.readouterr().err
    assert "texts evaluated" in err and "120" in err  # 3 explanations x 40 samples
    np.testing.assert_array_equal(fn(texts), adapter.predict_proba(texts))
    assert "123" in capsys.readouterr().err  # the same bar counts on
    quiet = adapter.predictor()
    quiet(texts)
    assert "texts evaluated" not in capsys.readouterr().err
    sv = adapter.shap_explainer(show_progress=True)(["good day"], batch_size=64)
    assert sv.values.shape[-1] == adapter.num_labels
    assert "texts evaluated" in capsys.readouterr().err


def test_no_warning_for_normal_texts(adapter):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        adapter.predict_proba(["a normal tweet :)", "another one"])
