"""Tokenise once, keep character offsets, map word-pieces to words.

A *word* is what the tokenizer's pre-tokenizer yields (for BERT: runs of letters/digits, and each
punctuation character on its own, so ``"don't"`` is ``don``, ``'``, ``t`` and ``"=("`` is ``=``,
``(``). Every method's scores are mapped onto these words through character spans, so rankings
from LIME (which splits on ``\\W+``), SHAP (token segments) and Captum (word-pieces) compare on the
same units.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

__all__ = [
    "TextEncoding",
    "encode_text",
    "special_token_ids",
    "token_words",
    "truncate_ids",
    "word_boundary_cut",
    "words_overlapping",
]


@dataclass(frozen=True)
class TextEncoding:
    """One text tokenised for the model, with the word-piece ↔ word alignment.

    Attributes:
        text: the original text.
        input_ids: token ids including the model's special tokens, truncated to ``max_length``.
        tokens: the token strings of ``input_ids``.
        token_to_word: for each token, the index of its word, or ``None`` for special tokens.
        words: every word of the text (also those past the truncation point).
        spans: ``(start, end)`` character span of each word in ``text``.
        n_words_kept: how many words (from the start) the truncated ``input_ids`` still contain.
        n_pieces: word-pieces of the whole text without special tokens (before truncation).
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

    @property
    def truncated(self) -> bool:
        """Whether some words did not fit into ``max_length`` word-pieces."""
        return self.n_words_kept < len(self.words)

    @property
    def word_token_positions(self) -> list[list[int]]:
        """For each word, the positions of its tokens in ``input_ids`` (empty if truncated away)."""
        out: list[list[int]] = [[] for _ in self.words]
        for pos, w in enumerate(self.token_to_word):
            if w is not None:
                out[w].append(pos)
        return out


def encode_text(tokenizer, text: str, max_length: int) -> TextEncoding:
    """Tokenise ``text`` for ``tokenizer`` (a fast Hugging Face tokenizer), truncating to ``max_length``.

    Words are read from the full text so that a truncated text still lists all its words; only
    the first ``n_words_kept`` of them have tokens in ``input_ids``.
    """
    enc = tokenizer(
        text,
        add_special_tokens=True,
        return_offsets_mapping=True,
        return_special_tokens_mask=True,
        truncation=False,
        verbose=False,
    )
    all_ids: list[int] = list(enc["input_ids"])
    all_special: list[int] = list(enc["special_tokens_mask"])
    content = [i for i, sp in enumerate(all_special) if not sp]
    ids = [all_ids[i] for i in content]
    offsets: list[tuple[int, int]] = [tuple(enc["offset_mapping"][i]) for i in content]
    all_word_ids = enc.word_ids()
    word_ids = [all_word_ids[i] for i in content]

    # Group pieces into words by the pre-tokenizer's word index.
    words: list[str] = []
    spans: list[tuple[int, int]] = []
    piece_word: list[int] = []
    last_wid: int | None = None
    for (start, end), wid in zip(offsets, word_ids, strict=True):
        if wid != last_wid or not words:
            words.append(text[start:end])
            spans.append((start, end))
            last_wid = wid
        else:
            s0, e0 = spans[-1]
            spans[-1] = (s0, max(end, e0))
            words[-1] = text[s0 : spans[-1][1]]
        piece_word.append(len(words) - 1)

    budget = max(0, max_length - (len(all_ids) - len(ids)))
    n_kept = word_boundary_cut(piece_word, budget)
    kept_piece_word = piece_word[:n_kept]
    n_words_kept = (kept_piece_word[-1] + 1) if kept_piece_word else 0
    full_ids, special = _with_specials(all_ids, all_special, content, n_kept)
    token_to_word: list[int | None] = []
    it = iter(kept_piece_word)
    for is_special in special:
        token_to_word.append(None if is_special else next(it))
    tokens = tokenizer.convert_ids_to_tokens(full_ids)
    return TextEncoding(
        text=text,
        input_ids=list(full_ids),
        tokens=list(tokens),
        token_to_word=token_to_word,
        words=words,
        spans=spans,
        n_words_kept=n_words_kept,
        n_pieces=len(ids),
        special_mask=list(special),
    )


def _with_specials(
    all_ids: Sequence[int], special: Sequence[int], content: Sequence[int], n_kept: int
) -> tuple[list[int], list[int]]:
    """Keep the special tokens before and after the content and the first ``n_kept`` content pieces."""
    if not content:
        return list(all_ids), list(special)
    first, last = content[0], content[-1]
    keep = list(range(first)) + list(content[:n_kept]) + list(range(last + 1, len(all_ids)))
    return [all_ids[i] for i in keep], [special[i] for i in keep]


def truncate_ids(
    all_ids: Sequence[int], special: Sequence[int], word_ids: Sequence[int | None], max_length: int
) -> tuple[list[int], bool]:
    """Truncate one encoded text (special tokens included) to ``max_length`` at a word boundary."""
    if len(all_ids) <= max_length:
        return list(all_ids), False
    content = [i for i, sp in enumerate(special) if not sp]
    budget = max(0, max_length - (len(all_ids) - len(content)))
    n_kept = word_boundary_cut([word_ids[i] for i in content], budget)
    return _with_specials(all_ids, special, content, n_kept)[0], True


def word_boundary_cut(piece_word: Sequence[int | None], budget: int) -> int:
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
