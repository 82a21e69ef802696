"""The result type shared by the sample-level methods: training indices and scores per test text,
convertible to a table with the training texts and labels."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

    from captum_ext.data import TextDataset

__all__ = ["InfluenceResult"]


@dataclass(frozen=True, eq=False)
class InfluenceResult:
    r"""The ``k`` most influential (or most similar) training texts of each test text.

    The same content as Captum's ``KMostInfluentialResults`` (``indices``, ``influence_scores``),
    plus what a reader needs: the test texts and their predictions, and the training texts and
    labels the indices point to.

    Attributes:
        method (str): ``"representer"`` or ``"knn"``.
        kind (str): ``"proponents"``, ``"opponents"``, ``"neighbours"`` or ``"farthest"``.
        texts (list of str): The test texts.
        indices (np.ndarray): ``(n_texts, k)`` training-set row indices, best first.
        scores (np.ndarray): ``(n_texts, k)`` the influence score (representer value) or
            similarity of each.
        train (TextDataset): The training set the indices point into.
        predicted (np.ndarray): ``(n_texts,)`` the model's predicted class of each test text.
        target (np.ndarray): ``(n_texts,)`` the class whose score is decomposed (representer) or
            the predicted class (kNN).
        extras (dict): Per-neighbour arrays of shape ``(n_texts, k)`` (e.g. ``alpha``) and
            per-text arrays of shape ``(n_texts,)``; method settings under ``"settings"``.

    Examples::

        >>> import numpy as np
        >>> from captum_ext.data import TextDataset
        >>> from captum_ext.influence import InfluenceResult
        >>> train = TextDataset(["good", "bad", "great"], [1, 0, 1])
        >>> res = InfluenceResult("knn", "neighbours", ["nice"], np.array([[2, 0]]),
        ...                       np.array([[0.9, 0.8]]), train, np.array([1]), np.array([1]))
        >>> res.to_frame()[["rank", "train_text", "train_label", "score", "agrees"]]
           rank train_text train_label  score  agrees
        0     1      great    positive    0.9    True
        1     2       good    positive    0.8    True
    """

    method: str
    kind: str
    texts: list[str]
    indices: np.ndarray
    scores: np.ndarray
    train: TextDataset = field(repr=False)
    predicted: np.ndarray = field(repr=False)
    target: np.ndarray = field(repr=False)
    extras: dict[str, Any] = field(default_factory=dict, repr=False)

    def __len__(self) -> int:
        return len(self.texts)

    def captum(self) -> Any:
        """The same indices and scores as Captum's ``KMostInfluentialResults`` (tensors)."""
        import torch
        from captum.influence._utils.common import KMostInfluentialResults

        return KMostInfluentialResults(
            torch.as_tensor(self.indices, dtype=torch.long), torch.as_tensor(self.scores)
        )

    def to_frame(self) -> pd.DataFrame:
        """One row per (test text, rank): the training text, its label and the score.

        Columns: ``test_index``, ``test_text``, ``predicted``, ``rank`` (1 = first),
        ``train_index``, ``train_text``, ``train_label``, ``score``, ``agrees`` (the training
        label equals the test text's predicted class), then the per-neighbour extras.
        """
        import pandas as pd

        names = self.train.label_names
        n, k = self.indices.shape
        rows: dict[str, Any] = {
            "test_index": np.repeat(np.arange(n), k),
            "test_text": np.repeat(np.asarray(self.texts, dtype=object), k),
            "predicted": [names[int(c)] for c in np.repeat(self.predicted, k)],
            "rank": np.tile(np.arange(1, k + 1), n),
            "train_index": self.indices.reshape(-1),
            "train_text": [self.train.texts[int(i)] for i in self.indices.reshape(-1)],
            "train_label": [
                names[int(self.train.labels[int(i)])] for i in self.indices.reshape(-1)
            ],
            "score": self.scores.reshape(-1),
            "agrees": (
                self.train.labels[self.indices] == np.asarray(self.predicted)[:, None]
            ).reshape(-1),
        }
        for key, value in self.extras.items():
            arr = np.asarray(value) if not isinstance(value, dict) else None
            if arr is not None and arr.shape == (n, k):
                rows[key] = arr.reshape(-1)
        return pd.DataFrame(rows)

    def _repr_html_(self) -> str:
        """Notebook display: per test text, its prediction and the ranked training texts
        (escaped, scrolling tables)."""
        from captum_ext.viz.html import escape_html, table_html

        frame = self.to_frame()
        names = self.train.label_names
        parts = [f"<p><b>{escape_html(self.method)}</b> · {escape_html(self.kind)}</p>"]
        cols = [c for c in frame.columns if c not in ("test_index", "test_text", "predicted")]
        for t, text in enumerate(self.texts):
            title = f"{text}  (predicted {names[int(self.predicted[t])]})"
            parts.append(table_html(frame[frame.test_index == t][cols], title=title))
        return "".join(parts)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: one entry per test text with its ranked training texts."""
        names = self.train.label_names
        out: list[dict[str, Any]] = []
        per_neighbour = {
            key: np.asarray(v)
            for key, v in self.extras.items()
            if not isinstance(v, dict) and np.asarray(v).shape == self.indices.shape
        }
        per_text = {
            key: np.asarray(v)
            for key, v in self.extras.items()
            if not isinstance(v, dict) and np.asarray(v).shape == (len(self.texts),)
        }
        for t, text in enumerate(self.texts):
            items = []
            for r, idx in enumerate(self.indices[t].tolist()):
                item = {
                    "rank": r + 1,
                    "index": int(idx),
                    "text": self.train.texts[idx],
                    "label": names[int(self.train.labels[idx])],
                    "score": float(self.scores[t, r]),
                    "agrees": bool(self.train.labels[idx] == self.predicted[t]),
                }
                item.update({k: _py(v[t, r]) for k, v in per_neighbour.items()})
                items.append(item)
            entry: dict[str, Any] = {
                "text": text,
                "predicted": names[int(self.predicted[t])],
                "target": names[int(self.target[t])],
                "method": self.method,
                "kind": self.kind,
                self.kind: items,
            }
            entry.update({k: _py(v[t]) for k, v in per_text.items()})
            out.append(entry)
        return {"results": out, "settings": self.extras.get("settings", {})}


def _py(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    return value
