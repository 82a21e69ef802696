"""Word alignment on tokenizers of every style: the text's own characters, never empty.

The tokenizers are trained on Sentiment140 tweets (``tests/family_zoo.py``). Expected words come
from references independent of our alignment: GPT-2's pre-tokenizer regular expression for the
byte-level tokenizers, whitespace splitting for the ``▁`` (Metaspace) tokenizers.
"""

from __future__ import annotations

import pytest
import regex
from family_zoo import FAMILIES, README_TWEET, tiny_adapter, tiny_tokenizer, tweets
from shared_fixtures import one_thread  # noqa: F401 (autouse fixture)

from captum_ext.adapters.alignment import encode_text, find_word

TRICKY = [
    README_TWEET,
    "  i worry  about it ",
    "that concert was sick!! best night ever",
    "I don't  like it\tat all",
    "@CynthiaLasVegas   Thanks so much!!!",
    "café crème brûlée 😀😀",
]

# GPT-2's pre-tokenizer pattern (what tokenizers' ByteLevel pre-tokenizer splits with)
GPT2_SPLIT = regex.compile(
    r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
)


def reference_words(family: str, text: str) -> list[str] | None:
    if family in ("roberta", "gpt2-bytelevel"):
        return [p.strip() for p in GPT2_SPLIT.findall(text) if p.strip()]
    if family in ("xlm-roberta", "albert", "deberta-v2"):
        return text.split()
    return None


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("text", TRICKY)
def test_words_are_the_texts_own_characters(family, text):
    enc = encode_text(tiny_tokenizer(family), text, 64)
    assert enc.words, enc.tokens
    last_end = 0
    for word, (start, end) in zip(enc.words, enc.spans, strict=True):
        assert word, f"empty word in {enc.words}"
        assert end > start
        assert word == text[start:end]
        assert word == word.strip(), f"whitespace around {word!r}"
        assert start >= last_end  # in order, not overlapping
        last_end = end
    # every content token belongs to a word, special tokens to none
    assert all(
        (w is None) == bool(sp) for w, sp in zip(enc.token_to_word, enc.special_mask, strict=True)
    )
    expected = reference_words(family, text)
    if expected is not None:
        assert enc.words == expected


@pytest.mark.parametrize("family", FAMILIES)
def test_no_empty_or_space_led_word_on_a_thousand_tweets(family):
    tok = tiny_tokenizer(family)
    n_double_space = 0
    for text in tweets()[:1000]:
        n_double_space += "  " in text
        enc = encode_text(tok, text, 512)
        assert all(w and w == w.strip() for w in enc.words), (text, enc.words)
        expected = reference_words(family, text)
        if expected is not None:
            assert enc.words == expected, text
    assert n_double_space > 100  # the sample exercises the double-space case


def test_roberta_readme_tweet_has_no_empty_word_in_an_explanation():
    from captum_ext.methods import make_explainer

    adapter = tiny_adapter("roberta")
    wa = make_explainer("occlusion", adapter).explain(README_TWEET)
    assert "" not in wa.words
    assert wa.words[4:6] == ["dinner", "best"]  # the double space is no word
    assert len(wa.scores) == len(wa.words)


@pytest.mark.parametrize("family", ["albert", "xlm-roberta", "deberta-v2"])
def test_find_word_inside_a_longer_pretoken(family):
    enc = encode_text(tiny_tokenizer(family), "that concert was sick!! sickness", 64)
    assert "sick!!" in enc.words
    hits = find_word(enc, "Sick")
    assert len(hits) == 1  # not inside "sickness"
    w, positions = hits[0]
    assert enc.words[w] == "sick!!"
    # only the pieces of "sick", not those of "!!"
    assert "".join(enc.tokens[p] for p in positions).replace("▁", "") == "sick"


@pytest.mark.parametrize("family", ["albert", "xlm-roberta"])
def test_word_in_context_finds_sick_before_punctuation(family):
    from captum_ext.internals import EXAMPLE_CONTEXTS, word_in_context

    adapter = tiny_adapter(family)
    texts, groups = EXAMPLE_CONTEXTS["sick"]
    assert any("sick!!" in t for t in texts)
    wic = word_in_context(adapter, "sick", texts, groups)
    assert len(wic.texts) == len(texts)
    assert wic.vectors.shape[:2] == (len(texts), adapter.model.config.num_hidden_layers + 1)


def test_truncated_pair_keeps_a_prefix_of_words():
    tok = tiny_tokenizer("bert")
    enc = encode_text(tok, "first segment here", 10, text_pair="second segment is much longer now")
    assert len(enc.input_ids) <= 10
    assert enc.input_ids.count(tok.sep_token_id) == 2  # the boundary survives truncation
    kept = [w for w in enc.token_to_word if w is not None]
    assert kept == sorted(kept) and set(kept) == set(range(enc.n_words_kept))
    assert enc.segments[: enc.n_words_kept].count(0) == 3
