"""The base of every token-level method: text in, :class:`WordAttribution` out."""

from __future__ import annotations

import contextlib
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from captum_ext.adapters.alignment import TextEncoding
from captum_ext.adapters.hf import TextClassifierAdapter, validate_text
from captum_ext.adapters.precision import check_precision
from captum_ext.aggregation import aggregate_to_words, check_aggregation
from captum_ext.methods.registry import family_precision
from captum_ext.result import WordAttribution

__all__ = ["Scores", "TextExplainer"]


@dataclass
class Scores:
    """What a method computes for one text, before it is packed into a :class:`WordAttribution`.

    Give ``word_scores`` directly, or ``token_scores`` (one per token of ``encoding.input_ids``)
    and let the shared aggregation turn them into words.
    """

    word_scores: np.ndarray | None = None
    token_scores: np.ndarray | None = None
    extras: dict[str, Any] = field(default_factory=dict)


class TextExplainer(ABC):
    """A token-level explanation method bound to an adapter.

    Subclasses set ``name``, ``signed`` and implement :meth:`_explain`; :meth:`explain` validates
    the text, tokenises it once, predicts, resolves the target and builds the result, so every
    method reports the same fields the same way.

    Args:
        adapter (TextClassifierAdapter): the model wrapper (the only code that calls the model).
        aggregation (str, optional): word-piece → word aggregation, ``"sum"``, ``"mean"`` or
            ``"max"``. Default: ``"sum"``
        precision (str, optional): precision of the method's model calls, ``"fp32"``, ``"bf16"``,
            ``"fp16"`` or ``"auto"``. Default: None: the adapter's ``precision`` if it was given,
            else the method family's measured default (:func:`~captum_ext.methods.registry.
            family_precision`). The concrete precision used is recorded in the result's settings.
        **settings: method settings, stored in the result.
    """

    name: str = "base"
    signed: bool = True
    stochastic: bool = False

    def __init__(
        self,
        adapter: TextClassifierAdapter,
        *,
        aggregation: str = "sum",
        precision: str | None = None,
        **settings: Any,
    ) -> None:
        self.adapter = adapter
        self.aggregation = check_aggregation(aggregation)
        self.precision = None if precision is None else check_precision(precision)
        self.settings: dict[str, Any] = {"aggregation": aggregation, **settings}

    def requested_precision(self) -> str:
        """The precision this method asks for: its own, else the adapter's, else its family's."""
        if self.precision is not None:
            return self.precision
        if self.adapter.precision_request is not None:
            return self.adapter.precision_request
        return family_precision(self.name)

    def model_precision(self) -> contextlib.AbstractContextManager[str]:
        """A block whose model calls run in :meth:`requested_precision` (yields the concrete one)."""
        return self.adapter.using_precision(self.requested_precision())

    @abstractmethod
    def _explain(
        self, encoding: TextEncoding, target: int, probs: np.ndarray, random_state: int | None
    ) -> Scores:
        """Compute the scores of one encoded text for class ``target``."""

    def explain(
        self,
        text: str,
        *,
        target: int | str | None = None,
        random_state: int | None = None,
    ) -> WordAttribution:
        """Explain the model's output on ``text`` for ``target`` (default: the predicted class).

        Args:
            text (str): the text to explain.
            target (int or str, optional): class index or label name. Default: predicted class.
            random_state (int, optional): seed of stochastic methods. Default: None

        Returns:
            :class:`~captum_ext.result.WordAttribution`
        """
        text = validate_text(text)
        encoding = self.adapter.encode(text)
        probs = self.adapter.predict_ids([encoding.input_ids])[0]
        target_idx = self.adapter.resolve_target(target, probs)
        with self.model_precision():
            scores = self._explain(encoding, target_idx, probs, random_state)
        return self._pack(encoding, target_idx, probs, scores, random_state)

    def explain_many(
        self,
        texts: Sequence[str],
        *,
        targets: Sequence[int | str | None] | None = None,
        random_state: int | None = None,
        show_progress: bool = False,
    ) -> list[WordAttribution]:
        """Explain several texts (methods that can batch across texts override this)."""
        targets = list(targets) if targets is not None else [None] * len(texts)
        it = zip(texts, targets, strict=True)
        if show_progress:
            from tqdm.auto import tqdm

            it = tqdm(it, total=len(texts), desc=self.name, unit="text")
        return [self.explain(t, target=g, random_state=random_state) for t, g in it]

    def _pack(
        self,
        encoding: TextEncoding,
        target: int,
        probs: np.ndarray,
        scores: Scores,
        random_state: int | None,
    ) -> WordAttribution:
        n_words = len(encoding.words)
        if scores.word_scores is None:
            if scores.token_scores is None:
                raise RuntimeError(f"method {self.name} returned neither word nor token scores")
            word_scores = aggregate_to_words(
                scores.token_scores, encoding.token_to_word, n_words, self.aggregation
            )
        else:
            word_scores = np.asarray(scores.word_scores, dtype=np.float64)
        extras = dict(scores.extras)
        if encoding.truncated:
            # the model never sees words past max_length: they score 0 whatever the method says
            # (LIME's bag-of-words weights would otherwise spill onto their repeats)
            word_scores = word_scores.copy()
            word_scores[encoding.n_words_kept :] = 0.0
            extras["n_words_truncated"] = n_words - encoding.n_words_kept
        settings = dict(self.settings)
        with self.model_precision() as concrete:
            settings["precision"] = concrete
        if self.stochastic:
            settings["random_state"] = random_state
        return WordAttribution(
            text=encoding.text,
            words=list(encoding.words),
            spans=list(encoding.spans),
            scores=word_scores,
            target=target,
            labels=self.adapter.labels,
            probs=probs,
            method=self.name,
            settings=settings,
            tokens=list(encoding.tokens),
            token_scores=scores.token_scores,
            token_to_word=list(encoding.token_to_word),
            signed=self.signed,
            extras=extras,
        )
