"""Tiny tokenizers and random models of several encoder families, built locally (no hub).

Each tokenizer is trained with the ``tokenizers`` library on a few thousand Sentiment140 tweets
and handed to its family's transformers class, which builds that family's real pipeline
(normaliser, pre-tokenizer, post-processor) around the trained vocabulary:

- ``"bert"``: WordPiece, BERT's pre-tokenizer (punctuation split);
- ``"roberta"``: byte-level BPE with ``Ġ`` spaces, ``trim_offsets`` (RoBERTa);
- ``"gpt2-bytelevel"``: byte-level BPE whose offsets keep the leading space (the
  ModernBERT/GPT-NeoX style, where a word after the first reads ``" worry"``);
- ``"xlm-roberta"``, ``"albert"``, ``"deberta-v2"``: sentencepiece-style Unigram with the ``▁``
  Metaspace pre-tokenizer (words split at spaces only: ``"sick!!"`` is one pre-token).

``tiny_model(family, tokenizer)`` builds a random sequence classifier of the family for that
tokenizer; ``tiny_adapter(family)`` puts both behind a ``TextClassifierAdapter``. Everything is
cached per process (training a tokenizer takes about a second).
"""

from __future__ import annotations

import functools
import itertools
import os
from pathlib import Path

import torch

DATA = Path(os.environ.get("CAPTUM_EXT_S140", "/work/shared/data/sentiment140"))

#: The README's example tweet (a double space after "dinner").
README_TWEET = "just got home from dinner  best dinner i have had in a long time! =("

FAMILIES: tuple[str, ...] = (
    "bert",
    "roberta",
    "gpt2-bytelevel",
    "xlm-roberta",
    "albert",
    "deberta-v2",
)


@functools.cache
def tweets(n: int = 3000) -> tuple[str, ...]:
    """``n`` tweets, alternately from the positive and negative files (deterministic)."""
    with (
        open(DATA / "positive.txt", encoding="utf-8") as pos,
        open(DATA / "negative.txt", encoding="utf-8") as neg,
    ):
        pairs = zip(pos, neg, strict=False)
        lines = [t.rstrip("\n") for pair in itertools.islice(pairs, (n + 1) // 2) for t in pair]
    return tuple(lines[:n]) + (README_TWEET,)


def _unigram_vocab(texts, specials: list[str], lowercase: bool) -> list[tuple[str, float]]:
    from tokenizers import Tokenizer, normalizers, pre_tokenizers
    from tokenizers.models import Unigram
    from tokenizers.trainers import UnigramTrainer

    tok = Tokenizer(Unigram())
    if lowercase:
        tok.normalizer = normalizers.Lowercase()
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    trainer = UnigramTrainer(
        vocab_size=1200, special_tokens=specials, unk_token="<unk>", show_progress=False
    )
    tok.train_from_iterator(texts, trainer)
    vocab = json_vocab(tok)
    return [(piece, float(score)) for piece, score in vocab]


def json_vocab(tok) -> list:
    import json

    return json.loads(tok.to_str())["model"]["vocab"]


def _bpe(texts, specials: list[str]) -> tuple[dict[str, int], list[tuple[str, str]]]:
    import json

    from tokenizers import Tokenizer, pre_tokenizers
    from tokenizers.models import BPE
    from tokenizers.trainers import BpeTrainer

    tok = Tokenizer(BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    trainer = BpeTrainer(
        vocab_size=1500,
        special_tokens=specials,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(texts, trainer)
    model = json.loads(tok.to_str())["model"]
    merges = [tuple(m.split(" ")) if isinstance(m, str) else tuple(m) for m in model["merges"]]
    return model["vocab"], merges


def _wordpiece_vocab(texts) -> dict[str, int]:
    import json

    from tokenizers import Tokenizer, normalizers, pre_tokenizers
    from tokenizers.models import WordPiece
    from tokenizers.trainers import WordPieceTrainer

    tok = Tokenizer(WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    trainer = WordPieceTrainer(
        vocab_size=1500,
        special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"],
        show_progress=False,
    )
    tok.train_from_iterator(texts, trainer)
    return json.loads(tok.to_str())["model"]["vocab"]


@functools.cache
def tiny_tokenizer(family: str):
    """A fast transformers tokenizer of ``family`` trained on :func:`tweets`."""
    texts = tweets()
    if family == "bert":
        from transformers import BertTokenizer

        return BertTokenizer(vocab=_wordpiece_vocab(texts), do_lower_case=True)
    if family == "roberta":
        from transformers import RobertaTokenizer

        vocab, merges = _bpe(texts, ["<s>", "<pad>", "</s>", "<unk>", "<mask>"])
        return RobertaTokenizer(vocab=vocab, merges=merges)
    if family == "gpt2-bytelevel":
        from tokenizers import Tokenizer, decoders, pre_tokenizers, processors
        from tokenizers.models import BPE
        from transformers import PreTrainedTokenizerFast

        vocab, merges = _bpe(texts, ["[CLS]", "[PAD]", "[SEP]", "[UNK]", "[MASK]"])
        tok = Tokenizer(BPE(vocab=vocab, merges=merges))
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=False)
        tok.decoder = decoders.ByteLevel()
        tok.post_processor = processors.TemplateProcessing(
            single="[CLS] $A [SEP]",
            pair="[CLS] $A [SEP] $B [SEP]",
            special_tokens=[("[CLS]", vocab["[CLS]"]), ("[SEP]", vocab["[SEP]"])],
        )
        return PreTrainedTokenizerFast(
            tokenizer_object=tok,
            cls_token="[CLS]",
            sep_token="[SEP]",
            pad_token="[PAD]",
            unk_token="[UNK]",
            mask_token="[MASK]",
        )
    if family == "xlm-roberta":
        from transformers import XLMRobertaTokenizer

        vocab = _unigram_vocab(texts, ["<s>", "<pad>", "</s>", "<unk>", "<mask>"], False)
        return XLMRobertaTokenizer(vocab=vocab)
    if family == "albert":
        from transformers import AlbertTokenizer

        specials = ["<pad>", "<unk>", "[CLS]", "[SEP]", "[MASK]"]
        return AlbertTokenizer(vocab=_unigram_vocab(texts, specials, True))
    if family == "deberta-v2":
        from transformers import DebertaV2Tokenizer

        specials = ["[PAD]", "<unk>", "[CLS]", "[SEP]", "[MASK]"]
        vocab = _unigram_vocab(texts, specials, False)
        return DebertaV2Tokenizer(vocab=vocab, unk_token="<unk>", unk_id=1)
    raise ValueError(f"unknown family {family!r}: one of {FAMILIES}")


def tiny_model(family: str, tokenizer, *, num_labels: int = 2, seed: int = 0, **config_kw):
    """A random tiny sequence classifier of ``family`` sized for ``tokenizer``."""
    import transformers as tf

    torch.manual_seed(seed)
    common = dict(
        vocab_size=len(tokenizer),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=37,
        num_labels=num_labels,
        pad_token_id=tokenizer.pad_token_id,
        max_position_embeddings=130,
    )
    common.update(config_kw)
    if family in ("bert", "gpt2-bytelevel"):
        config = tf.BertConfig(**common)
        cls = tf.BertForSequenceClassification
    elif family == "roberta":
        common["max_position_embeddings"] += 2
        config = tf.RobertaConfig(**common)
        cls = tf.RobertaForSequenceClassification
    elif family == "xlm-roberta":
        common["max_position_embeddings"] += 2
        config = tf.XLMRobertaConfig(**common)
        cls = tf.XLMRobertaForSequenceClassification
    elif family == "albert":
        config = tf.AlbertConfig(embedding_size=16, **common)
        cls = tf.AlbertForSequenceClassification
    elif family == "deberta-v2":
        config = tf.DebertaV2Config(**common)
        cls = tf.DebertaV2ForSequenceClassification
    else:
        raise ValueError(f"unknown family {family!r}: one of {FAMILIES}")
    return cls(config).eval()


@functools.cache
def tiny_adapter(family: str, **kw):
    """``TextClassifierAdapter`` over a tiny random model and tokenizer of ``family``."""
    from captum_ext.adapters import TextClassifierAdapter

    tok = tiny_tokenizer(family)
    return TextClassifierAdapter(tiny_model(family, tok), tok, max_length=64, **kw)
