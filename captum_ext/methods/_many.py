"""Methods that explain many texts in one go: shared preparation and ``explain_many``."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from captum_ext.adapters.alignment import TextEncoding
from captum_ext.adapters.hf import TextClassifierAdapter, validate_text
from captum_ext.errors import InputError
from captum_ext.methods.base import Scores, TextExplainer
from captum_ext.result import WordAttribution

__all__ = ["BatchedTextExplainer", "Prepared", "prepare_many"]


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
    text_pairs: Sequence[str | None] | None = None,
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
    pairs = list(text_pairs) if text_pairs is not None else [None] * len(texts)
    if len(pairs) != len(texts):
        raise InputError(
            f"text_pairs has {len(pairs)} entries but texts has {len(texts)}: give one a text "
            "(None for a single text)."
        )
    encodings = [
        adapter.encode(validate_text(t, name=f"texts[{i}]"), b)
        for i, (t, b) in enumerate(zip(texts, pairs, strict=True))
    ]
    probs = adapter.predict_ids([e.input_ids for e in encodings])
    return [
        Prepared(enc, p, adapter.resolve_target(g, p))
        for enc, p, g in zip(encodings, probs, targets, strict=True)
    ]


class BatchedTextExplainer(TextExplainer):
    """A deterministic method whose model calls can be shared by several texts.

    Subclasses implement :meth:`_explain_batch` (texts in, one :class:`Scores` a text out) and
    set ``texts_per_call``; :meth:`explain` is a batch of one, :meth:`explain_many` feeds the
    texts ``texts_per_call`` at a time.
    """

    texts_per_call: int = 32

    @abstractmethod
    def _explain_batch(self, items: list[Prepared]) -> list[Scores]:
        """Scores of several prepared texts, in order."""

    def _explain_batch_seeded(
        self, items: list[Prepared], random_state: int | None
    ) -> list[Scores]:
        """:meth:`_explain_batch` with the seed (stochastic methods override this one)."""
        return self._explain_batch(items)

    def _explain(
        self, encoding: TextEncoding, target: int, probs: np.ndarray, random_state: int | None
    ) -> Scores:
        return self._explain_batch_seeded([Prepared(encoding, probs, target)], random_state)[0]

    def explain_many(
        self,
        texts: Sequence[str],
        *,
        targets: Sequence[int | str | None] | None = None,
        random_state: int | None = None,
        show_progress: bool = False,
        text_pairs: Sequence[str | None] | None = None,
    ) -> list[WordAttribution]:
        """Explain several texts, ``texts_per_call`` of them sharing the model calls.

        Args:
            texts (list of str): the texts.
            targets (list, optional): a class index or label per text. Default: predicted classes
            random_state (int, optional): the seed of stochastic methods. Default: None
            show_progress (bool, optional): show a progress bar. Default: False
            text_pairs (list, optional): each text's second text, or None. Default: None

        Returns:
            list of :class:`~captum_ext.result.WordAttribution`, one per text, in order.
        """
        prepared = prepare_many(self.adapter, texts, targets, text_pairs)
        step = self.texts_per_call
        starts = range(0, len(prepared), step)
        if show_progress:
            from tqdm.auto import tqdm

            starts = tqdm(starts, desc=self.name, unit=f"{step} texts")
        results: list[WordAttribution] = []
        for start in starts:
            part = prepared[start : start + step]
            with self.model_precision():
                part_scores = self._explain_batch_seeded(part, random_state)
            for p, scores in zip(part, part_scores, strict=True):
                results.append(self._pack(p.encoding, p.target, p.probs, scores, random_state))
        return results
