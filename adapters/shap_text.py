"""SHAP's ``Text`` masker on the adapter's own encoding: token ids in place, positions kept.

``shap.maskers.Text`` in its default string mode rebuilds each masked text as a string (masked
tokens become ``" [MASK]"``, runs of whitespace collapse) and the model re-tokenises it, so a
RoBERTa tweet with a double space loses its lone ``Ġ`` token and every later token moves to
another position; a masked ``##ing`` piece can also re-tokenise its neighbour differently.
:class:`EncodingTextMasker` masks token ids in place instead (``output_type="token_ids"``), on
the ids of :meth:`TextClassifierAdapter.encode` (truncated exactly as every other method sees
the text, text pairs included): the model gets rows of the original length with the mask token
where a token is masked, and special tokens (``[CLS]``, the ``[SEP]`` between the two texts of a
pair) are never masked.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import shap

from captum_ext.adapters.alignment import TextEncoding

__all__ = ["EncodingTextMasker", "pair_key", "token_segments"]


def pair_key(text: str, text_pair: str | None) -> str:
    """The string SHAP is given for one input (a pair is one string: SHAP masks one object)."""
    return text if text_pair is None else f"{text}\n[SEP]\n{text_pair}"


def token_segments(encoding: TextEncoding, sep_token: str | None = None) -> list[str]:
    """Each token's substring of its segment, up to the next token (SHAP's ``data``).

    Special tokens get ``""``, except a special token between the two texts of a pair, which
    gets ``sep_token`` (SHAP's partition tree keeps the two sides apart at it).
    """
    spans = encoding.token_spans
    out: list[str] = []
    seg_of = _token_segment(encoding)
    for i, span in enumerate(spans):
        if span is None:
            between = 0 < i < len(spans) - 1 and seg_of[i - 1] != seg_of[i + 1]
            out.append((sep_token or "") if encoding.is_pair and between else "")
            continue
        text = encoding.segment_text(seg_of[i])
        nxt = next(
            (s[0] for j, s in enumerate(spans[i + 1 :], i + 1) if s and seg_of[j] == seg_of[i]),
            None,
        )
        out.append(text[span[0] : max(span[1], nxt if nxt is not None else span[1])])
    return out


def _token_segment(encoding: TextEncoding) -> list[int]:
    """Segment of each token; special tokens take the segment of the token before them."""
    out: list[int] = []
    current = 0
    for w in encoding.token_to_word:
        if w is not None:
            current = encoding.word_segment(w)
        out.append(current)
    return out


class EncodingTextMasker(shap.maskers.Text):
    """A ``shap.maskers.Text`` whose tokens are the adapter's encoding of each input.

    Args:
        adapter (TextClassifierAdapter): gives the encoding of each input string (and of the
            pairs registered with :meth:`register`).
        **kwargs: ``mask_token`` / ``collapse_mask_token`` as for ``shap.maskers.Text``.
    """

    def __init__(self, adapter: Any, **kwargs: Any) -> None:
        kwargs.pop("output_type", None)
        super().__init__(adapter.tokenizer, output_type="token_ids", **kwargs)
        self.adapter = adapter
        self._registered: dict[str, TextEncoding] = {}

    def register(self, encoding: TextEncoding) -> str:
        """Make ``encoding`` (a single text or a pair) maskable; returns the string to explain."""
        key = pair_key(encoding.text, encoding.text_pair)
        if len(self._registered) > 256:
            self._registered.clear()
        self._registered[key] = encoding
        return key

    def encoding(self, s: str) -> TextEncoding:
        """The encoding behind input string ``s``."""
        return self._registered.get(s) or self.adapter.encode(s)

    def token_segments(self, s: str) -> tuple[list[str], list[int]]:  # type: ignore[override]
        enc = self.encoding(s)
        return token_segments(enc, getattr(self.tokenizer, "sep_token", None)), list(enc.input_ids)

    def _special(self, s: str) -> np.ndarray:
        return np.array(self.encoding(s).special_mask, dtype=bool)

    def __call__(self, mask: Any, s: str):  # type: ignore[override]
        mask = self._standardize_mask(mask, s) | self._special(s)
        return super().__call__(mask, s)

    def invariants(self, s: str) -> np.ndarray:  # type: ignore[override]
        return (super().invariants(s) | self._special(s)).reshape(1, -1)
