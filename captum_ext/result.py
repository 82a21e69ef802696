"""The one word-level result type shared by every token-level method."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["WordAttribution"]


def _jsonable(value: Any) -> Any:
    """Turn numpy values (also nested in dicts and lists) into plain JSON values."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


@dataclass
class WordAttribution:
    """Scores of the words of one text for one target class, from one method.

    A positive score pushes the prediction towards ``target`` (for signed methods); methods that
    only give magnitudes (attention) set ``signed=False``.

    Attributes:
        text: the explained text.
        words: the words (see :mod:`captum_ext.adapters.alignment`), in order.
        spans: ``(start, end)`` character span of each word in ``text``.
        scores: one score per word, shape ``(n_words,)``.
        target: index of the explained class.
        labels: class names, indexed like ``probs``.
        probs: the model's predicted probabilities for ``text``.
        method: registry name of the method.
        settings: the method's settings (budgets, seeds, baselines...).
        tokens: word-pieces (with special tokens), if the method scored word-pieces.
        token_scores: per word-piece scores, if the method has them.
        token_to_word: word index of each token (``None`` for special tokens).
        signed: whether the sign of a score is meaningful.
        extras: method-specific results (LIME intercept and fidelity, IG convergence delta, ...).
        text_pair: the second text of a text pair (``None`` for a single text).
        segments: for a pair, each word's text (0: ``text``, 1: ``text_pair``); its span is in
            that text. ``None`` for a single text.

    Examples::

        >>> import numpy as np
        >>> wa = WordAttribution(text="not bad", words=["not", "bad"], spans=[(0, 3), (4, 7)],
        ...                      scores=np.array([0.7, 0.2]), target=1,
        ...                      labels=("negative", "positive"), probs=np.array([0.1, 0.9]),
        ...                      method="demo")
        >>> wa.top_words(1)
        ['not']
        >>> WordAttribution.from_json(wa.to_json()).words
        ['not', 'bad']
    """

    text: str
    words: list[str]
    spans: list[tuple[int, int]]
    scores: np.ndarray
    target: int
    labels: tuple[str, ...]
    probs: np.ndarray
    method: str
    settings: dict[str, Any] = field(default_factory=dict)
    tokens: list[str] | None = None
    token_scores: np.ndarray | None = None
    token_to_word: list[int | None] | None = None
    signed: bool = True
    extras: dict[str, Any] = field(default_factory=dict)
    text_pair: str | None = None
    segments: list[int] | None = None

    def __post_init__(self) -> None:
        self.scores = np.asarray(self.scores, dtype=np.float64).reshape(-1)
        self.probs = np.asarray(self.probs, dtype=np.float64).reshape(-1)
        self.spans = [(int(s), int(e)) for s, e in self.spans]
        self.labels = tuple(self.labels)
        if self.token_scores is not None:
            self.token_scores = np.asarray(self.token_scores, dtype=np.float64).reshape(-1)
        if len(self.words) != len(self.spans) or len(self.words) != self.scores.shape[0]:
            raise ValueError(
                f"words ({len(self.words)}), spans ({len(self.spans)}) and scores "
                f"({self.scores.shape[0]}) must have the same length."
            )
        if self.segments is not None:
            self.segments = [int(g) for g in self.segments]
            if len(self.segments) != len(self.words) or self.text_pair is None:
                raise ValueError("segments needs text_pair and one segment per word.")

    # -- views ------------------------------------------------------------------------------
    @property
    def target_label(self) -> str:
        """Name of the explained class."""
        return self.labels[self.target]

    @property
    def predicted(self) -> int:
        """Index of the predicted class."""
        return int(np.argmax(self.probs))

    @property
    def predicted_label(self) -> str:
        """Name of the predicted class."""
        return self.labels[self.predicted]

    def importance(self) -> np.ndarray:
        """THE importance of each word, the one definition every ranking and metric uses: the
        signed score (towards the target) for signed methods, ``|score|`` for unsigned ones.

        Examples::

            >>> wa = WordAttribution(text="not bad", words=["not", "bad"], spans=[(0, 3), (4, 7)],
            ...     scores=[-0.4, 0.2], target=1, labels=("n", "p"), probs=[0.3, 0.7], method="m")
            >>> wa.importance().tolist()
            [-0.4, 0.2]
            >>> wa.signed = False
            >>> wa.importance().tolist()
            [0.4, 0.2]
        """
        return self.scores if self.signed else np.abs(self.scores)

    def seen_words(self) -> np.ndarray:
        """THE words the model saw (at least one word-piece in its input; truncation cuts the
        others), in word order; every word when the token alignment is unknown.

        Examples::

            >>> wa = WordAttribution(text="a b c", words=["a", "b", "c"],
            ...     spans=[(0, 1), (2, 3), (4, 5)], scores=[1, 2, 3], target=0, labels=("x",),
            ...     probs=[1.0], method="m", token_to_word=[None, 0, 1, None])
            >>> wa.seen_words().tolist()
            [0, 1]
        """
        if self.token_to_word:
            seen = sorted({w for w in self.token_to_word if w is not None})
            if seen:
                return np.asarray(seen, dtype=np.int64)
        return np.arange(len(self.words))

    def ranking(self) -> np.ndarray:
        """Word indices from most to least important (by :meth:`importance`).

        Ties keep text order (stable sort).
        """
        return np.argsort(-self.importance(), kind="stable")

    def top_words(self, k: int = 5) -> list[str]:
        """The ``k`` highest-ranked words."""
        return [self.words[i] for i in self.ranking()[:k]]

    def segment_of(self, word: int) -> int:
        """The text word ``word`` belongs to (0: ``text``, 1: ``text_pair``)."""
        return self.segments[word] if self.segments is not None else 0

    def _word_records(self) -> list[dict[str, Any]]:
        out = []
        for i, (w, (s, e), v) in enumerate(zip(self.words, self.spans, self.scores, strict=True)):
            rec: dict[str, Any] = {"word": w, "start": s, "end": e, "score": float(v)}
            if self.segments is not None:
                rec["segment"] = self.segments[i]
            out.append(rec)
        return out

    # -- serialisation ----------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Everything in plain JSON types (``from_dict`` inverts it)."""
        return _jsonable(
            {
                "text": self.text,
                "method": self.method,
                "target": self.target,
                "target_label": self.target_label,
                "labels": list(self.labels),
                "probs": self.probs,
                "signed": self.signed,
                "settings": self.settings,
                "words": self._word_records(),
                "tokens": self.tokens,
                "token_scores": self.token_scores,
                "token_to_word": self.token_to_word,
                "extras": self.extras,
                **({"text_pair": self.text_pair} if self.text_pair is not None else {}),
            }
        )

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> WordAttribution:
        """Rebuild a result from :meth:`to_dict` output."""
        words = d["words"]
        return cls(
            text=d["text"],
            words=[w["word"] for w in words],
            spans=[(w["start"], w["end"]) for w in words],
            scores=np.array([w["score"] for w in words], dtype=np.float64),
            target=int(d["target"]),
            labels=tuple(d["labels"]),
            probs=np.array(d["probs"], dtype=np.float64),
            method=d["method"],
            settings=dict(d.get("settings") or {}),
            tokens=d.get("tokens"),
            token_scores=None if d.get("token_scores") is None else np.array(d["token_scores"]),
            token_to_word=d.get("token_to_word"),
            signed=bool(d.get("signed", True)),
            extras=dict(d.get("extras") or {}),
            text_pair=d.get("text_pair"),
            segments=[int(w["segment"]) for w in words] if d.get("text_pair") is not None else None,
        )

    def to_json(self, **kwargs: Any) -> str:
        """JSON text of :meth:`to_dict`."""
        return json.dumps(self.to_dict(), ensure_ascii=False, **kwargs)

    @classmethod
    def from_json(cls, text: str) -> WordAttribution:
        """Inverse of :meth:`to_json`."""
        return cls.from_dict(json.loads(text))

    # -- interop (delegations to captum_ext.viz) ---------------------------------------------
    def to_shap(self, **kwargs: Any) -> Any:
        """A ``shap.Explanation`` for ``shap.plots.text/bar/waterfall`` (see :mod:`captum_ext.viz`)."""
        from captum_ext.viz.shap_interop import to_shap_explanation

        return to_shap_explanation(self, **kwargs)

    def to_captum_record(self, **kwargs: Any) -> Any:
        """Captum's ``VisualizationDataRecord`` for ``captum.attr.visualization.visualize_text``."""
        from captum_ext.viz.captum_interop import to_visualization_record

        return to_visualization_record(self, **kwargs)

    def to_frame(self) -> Any:
        """One row per word: ``word``, ``start``, ``end`` (character span), ``score`` and
        ``rank`` (1 = the most important word by |score|), as a pandas DataFrame.

        Examples::

            >>> import numpy as np
            >>> wa = WordAttribution(text="good day", words=["good", "day"],
            ...     spans=[(0, 4), (5, 8)], scores=np.array([0.3, -0.5]), target=1,
            ...     labels=("negative", "positive"), probs=np.array([0.1, 0.9]), method="ig")
            >>> wa.to_frame()
               word  start  end  score  rank
            0  good      0    4    0.3     2
            1   day      5    8   -0.5     1
        """
        import pandas as pd

        scores = np.asarray(self.scores, dtype=np.float64)
        order = np.argsort(-np.abs(np.nan_to_num(scores)), kind="stable")
        rank = np.empty(len(scores), dtype=np.int64)
        rank[order] = np.arange(1, len(scores) + 1)
        return pd.DataFrame(
            {
                "word": list(self.words),
                "start": [int(s) for s, _ in self.spans],
                "end": [int(e) for _, e in self.spans],
                "score": scores,
                "rank": rank,
            }
        )

    def to_html(self, **kwargs: Any) -> str:
        """The text with each word coloured by its score (escaped HTML fragment)."""
        from captum_ext.viz.html import attribution_html

        return attribution_html(self, **kwargs)

    def _repr_html_(self) -> str:
        return self.to_html()

    def to_public_json(self) -> dict[str, Any]:
        """The command line's ``--json`` object: text, prediction, method, target and word scores
        (and ``notes``, when the method left one, e.g. why every score is 0)."""
        notes = {"notes": list(self.extras["notes"])} if self.extras.get("notes") else {}
        return _jsonable(
            {
                "text": self.text,
                **({"text_pair": self.text_pair} if self.text_pair is not None else {}),
                "prediction": {
                    "label": self.predicted_label,
                    "probs": {
                        lab: float(p) for lab, p in zip(self.labels, self.probs, strict=True)
                    },
                },
                "method": self.method,
                "target": self.target_label,
                "words": self._word_records(),
                **notes,
            }
        )
