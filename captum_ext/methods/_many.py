"""Shared preparation for methods that batch across texts (``explain_many`` overrides)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from adapters.alignment import TextEncoding
from adapters.hf import TextClassifierAdapter, validate_text
from captum_ext.errors import InputError

__all__ = ["Prepared", "chunks", "prepare_many"]


@dataclass(frozen=True)
class Prepared:
    """One text ready to explain: its encoding, predicted probabilities and resolved target."""

    encoding: TextEncoding
    probs: np.ndarray
    target: int


def prepare_many(
    adapter: TextClassifierAdapter,
    texts: Sequence[str],
    targets: Sequence[int | str | None] | None,
) -> list[Prepared]:
    """Validate and encode ``texts``, predict them in one batched call and resolve the targets.

    Does what :meth:`TextExplainer.explain` does before ``_explain``, for many texts at once.
    """
    texts = list(texts)
    if not texts:
        return []
    if targets is None:
        targets = [None] * len(texts)
    targets = list(targets)
    if len(targets) != len(texts):
        raise InputError(
            f"targets has {len(targets)} entries but texts has {len(texts)}: give one target a "
            "text, or None for the predicted classes."
        )
    encodings = [adapter.encode(validate_text(t, name=f"texts[{i}]")) for i, t in enumerate(texts)]
    probs = adapter.predict_ids([e.input_ids for e in encodings])
    return [
        Prepared(enc, p, adapter.resolve_target(g, p))
        for enc, p, g in zip(encodings, probs, targets, strict=True)
    ]


def chunks(n: int, size: int) -> Iterator[range]:
    """Consecutive index ranges of at most ``size`` covering ``range(n)``."""
    for start in range(0, n, size):
        yield range(start, min(n, start + size))
