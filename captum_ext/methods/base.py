"""The base of every token-level method: text in, :class:`WordAttribution` out."""

from __future__ import annotations

import contextlib
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
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

    @contextlib.contextmanager
    def model_precision(self) -> Iterator[str]:
        """A block whose model calls run in :meth:`requested_precision` (yields the concrete one),
        with the weights' gradients off (:meth:`TextClassifierAdapter.frozen_parameters`:
        attributions need input gradients only)."""
        with (
            self.adapter.frozen_parameters(),
            self.adapter.using_precision(self.requested_precision()) as concrete,
        ):
            yield concrete

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
        text_pair: str | None = None,
    ) -> WordAttribution:
        """Explain the model's output on ``text`` for ``target`` (default: the predicted class).

        Args:
            text (str): the text to explain.
            target (int or str, optional): class index or label name. Default: predicted class.
            random_state (int, optional): seed of stochastic methods. Default: None
            text_pair (str, optional): the second text of a text pair (e.g. NLI's hypothesis):
                the words of both texts are scored, the [SEP] between them is never perturbed.
                Default: None

        Returns:
            :class:`~captum_ext.result.WordAttribution`
        """
        text = validate_text(text)
        encoding = self.adapter.encode(text, text_pair)
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
        text_pairs: Sequence[str | None] | None = None,
    ) -> list[WordAttribution]:
        """Explain several texts (methods that can batch across texts override this).

        ``text_pairs`` gives each text's second text (``None`` for a single text)."""
        targets = list(targets) if targets is not None else [None] * len(texts)
        pairs = list(text_pairs) if text_pairs is not None else [None] * len(texts)
        it = zip(texts, targets, pairs, strict=True)
        if show_progress:
            from tqdm.auto import tqdm

            it = tqdm(it, total=len(texts), desc=self.name, unit="text")
        return [self.explain(t, target=g, random_state=random_state, text_pair=b) for t, g, b in it]

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
        if word_scores.size and not np.any(word_scores):
            extras.setdefault("notes", []).append(_all_zero_note(self.name, encoding))
        settings = dict(self.settings)
        with self.adapter.using_precision(self.requested_precision()) as concrete:
            settings["precision"] = concrete  # read only: no model call, nothing to freeze
        if self.stochastic:
            settings["random_state"] = random_state
        return WordAttribution(
            text=encoding.text,
            text_pair=encoding.text_pair,
            segments=list(encoding.segments) if encoding.is_pair else None,
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


def _all_zero_note(method: str, encoding: TextEncoding) -> str:
    """Why every word of a result scores exactly 0, said in the result (``extras["notes"]``)
    rather than left for the user to read as "no word matters"."""
    unk = set()
    tok = getattr(encoding, "tokens", None) or []
    for t in tok:
        if t.upper() in ("[UNK]", "<UNK>") or t == "<unk>":
            unk.add(t)
    if unk:
        why = (
            f"the tokenizer maps words of this text to {sorted(unk)[0]} (unknown to the "
            "model), and the method saw no effect it could attribute to them"
        )
    elif len(encoding.words) <= 2:
        why = (
            f"with {len(encoding.words)} word(s) the method found no change in the output it "
            "could attribute (e.g. a tree surrogate with nothing to split on)"
        )
    else:
        why = "the model's output did not change under the method's perturbations or gradients"
    return f"every word scores 0 with {method}: {why}; this is not evidence that no word matters."
