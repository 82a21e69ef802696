"""The same word in different tweets: how far apart are its contextual vectors, layer by layer?

"sick" means ill in one tweet and great in another; "bad" reads differently under "not". The
embedding layer gives every occurrence of a word (almost) the same vector (only the position
embedding differs); the encoder layers mix in the context. :func:`word_in_context` collects the
vector of the word in each text at every layer (the mean of its word-pieces) and
:class:`WordInContext` reports the cosine and Euclidean distances between occurrences per layer,
as a table and a plot; with ``groups`` (e.g. the sense of each occurrence) it separates distances
within a group from distances between groups.

Examples::

    >>> from captum_ext.adapters import TextClassifierAdapter
    >>> from captum_ext.internals import EXAMPLE_CONTEXTS, word_in_context
    >>> adapter = TextClassifierAdapter.from_pretrained()  # doctest: +SKIP
    >>> texts, groups = EXAMPLE_CONTEXTS["sick"]
    >>> wic = word_in_context(adapter, "sick", texts, groups)  # doctest: +SKIP
    >>> wic.summary()[["layer", "cosine_within", "cosine_between"]].round(2)  # doctest: +SKIP
       layer  cosine_within  cosine_between
    0      0           0.03            0.03
    1      1           0.09            0.08
    2      2           0.10            0.10
    3      3           0.10            0.11
    4      4           0.09            0.15
    5      5           0.07            0.12
    6      6           0.17            0.32
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import Tensor, nn

from captum_ext.adapters.alignment import find_word
from captum_ext.errors import InputError
from captum_ext.internals._plotting import plain_label, pyplot, save_figure

__all__ = ["EXAMPLE_CONTEXTS", "WordInContext", "word_in_context"]

#: Example contexts: word → (texts, group of each occurrence).
EXAMPLE_CONTEXTS: dict[str, tuple[list[str], list[str]]] = {
    "sick": (
        [
            "i feel so sick today, staying in bed",
            "home sick with the flu again",
            "my little brother is sick and throwing up",
            "that concert was sick!! best night ever",
            "sick new skateboard, love it",
            "dude your guitar solo was sick",
        ],
        ["ill", "ill", "ill", "great", "great", "great"],
    ),
    "bad": (
        [
            "this movie is bad",
            "what a bad day at work",
            "bad service and cold food",
            "this movie is not bad",
            "not bad for a monday",
            "honestly the food was not bad at all",
        ],
        ["plain", "plain", "plain", "negated", "negated", "negated"],
    ),
}


@dataclass
class WordInContext:
    """Contextual vectors of one word across texts, at every layer.

    Attributes:
        word: the word (lower-cased as matched).
        texts: the text of each occurrence.
        word_index: the word's index among the words of its text.
        groups: a group name per occurrence (``None`` if not given).
        vectors: ``(n_occurrences, n_layers + 1, hidden)``; layer 0 is the embedding layer.
    """

    word: str
    texts: list[str]
    word_index: list[int]
    groups: list[str] | None
    vectors: np.ndarray

    @property
    def n_layers(self) -> int:
        """Hidden-state layers including the embeddings (``n_layers + 1`` of the model)."""
        return int(self.vectors.shape[1])

    def distances(self, metric: str = "cosine") -> np.ndarray:
        """Pairwise distances between occurrences at every layer: ``(n_layers + 1, n, n)``.

        Args:
            metric (str, optional): ``"cosine"`` (1 - cosine similarity) or ``"euclidean"``.
                Default: ``"cosine"``
        """
        V = self.vectors.astype(np.float64)
        if metric == "cosine":
            norms = np.linalg.norm(V, axis=-1, keepdims=True)
            U = np.divide(V, norms, out=np.zeros_like(V), where=norms > 0)
            sim = np.einsum("ild,jld->lij", U, U)
            return np.clip(1.0 - sim, 0.0, 2.0)
        if metric == "euclidean":
            diff = V[:, None, :, :] - V[None, :, :, :]
            return np.sqrt((diff**2).sum(-1)).transpose(2, 0, 1)
        raise InputError(f"metric must be 'cosine' or 'euclidean', got {metric!r}.")

    def to_frame(self) -> pd.DataFrame:
        """One row per layer and pair ``i < j``: ``layer``, ``i``, ``j``, ``text_i``, ``text_j``,
        ``group_i``, ``group_j``, ``same_group``, ``cosine``, ``euclidean``."""
        cos, euc = self.distances("cosine"), self.distances("euclidean")
        n = len(self.texts)
        ii, jj = np.triu_indices(n, k=1)
        frames = []
        for layer in range(self.n_layers):
            df = pd.DataFrame(
                {
                    "layer": layer,
                    "i": ii,
                    "j": jj,
                    "text_i": [self.texts[i] for i in ii],
                    "text_j": [self.texts[j] for j in jj],
                    "cosine": cos[layer, ii, jj],
                    "euclidean": euc[layer, ii, jj],
                }
            )
            if self.groups is not None:
                df.insert(5, "group_i", [self.groups[i] for i in ii])
                df.insert(6, "group_j", [self.groups[j] for j in jj])
                df.insert(7, "same_group", df["group_i"] == df["group_j"])
            frames.append(df)
        return pd.concat(frames, ignore_index=True)

    def summary(self) -> pd.DataFrame:
        """Per layer: mean cosine and Euclidean distance over all pairs, and with ``groups`` the
        means within groups and between groups (``*_within``, ``*_between``) and their gap."""
        df = self.to_frame()
        out = df.groupby("layer")[["cosine", "euclidean"]].mean().reset_index()
        if self.groups is not None and df["same_group"].any() and (~df["same_group"]).any():
            for same, suffix in ((True, "within"), (False, "between")):
                part = df[df["same_group"] == same].groupby("layer")[["cosine", "euclidean"]].mean()
                out[f"cosine_{suffix}"] = part["cosine"].to_numpy()
                out[f"euclidean_{suffix}"] = part["euclidean"].to_numpy()
            out["cosine_gap"] = out["cosine_between"] - out["cosine_within"]
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "word": self.word,
            "texts": self.texts,
            "word_index": self.word_index,
            "groups": self.groups,
            "summary": self.summary().to_dict(orient="records"),
            "pairs": self.to_frame().to_dict(orient="records"),
        }

    def plot(self, path: str | os.PathLike | None = None) -> Any:
        """Cosine and Euclidean distance per layer (mean, and within/between groups if given)."""
        plt = pyplot()
        s = self.summary()
        fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
        for ax, metric in zip(axes, ("cosine", "euclidean"), strict=True):
            if f"{metric}_within" in s:
                ax.plot(s["layer"], s[f"{metric}_within"], "o-", label="same group")
                ax.plot(s["layer"], s[f"{metric}_between"], "s-", label="different groups")
            ax.plot(s["layer"], s[metric], "k--", alpha=0.6, label="all pairs")
            ax.set_xlabel("layer (0 = embeddings)")
            ax.set_ylabel(f"{metric} distance")
            ax.set_xticks(list(s["layer"]))
            ax.legend(fontsize=8)
        fig.suptitle(f"'{plain_label(self.word)}' in {len(self.texts)} contexts", fontsize=10)
        fig.tight_layout()
        if path is not None:
            save_figure(fig, path)
        return fig


def word_in_context(
    adapter: Any,
    word: str,
    texts: Sequence[str],
    groups: Sequence[str] | None = None,
    *,
    all_occurrences: bool = False,
    batch_size: int | None = None,
) -> WordInContext:
    """Contextual vectors of ``word`` in each text, at every layer.

    Args:
        adapter (TextClassifierAdapter): the model wrapper.
        word (str): one word as the tokenizer's pre-tokenizer splits text, matched
            case-insensitively, also inside a longer pre-token (``"sick"`` in the sentencepiece
            word ``"sick!!"``: its vector is then the mean of the word-pieces of ``"sick"``).
        texts (list of str): texts that contain the word.
        groups (list of str, optional): a group per text (e.g. the word's sense). Default: None
        all_occurrences (bool, optional): use every occurrence in a text, not only the first.
            Default: False
        batch_size (int, optional): texts per pass. Default: the adapter's.

    Returns:
        WordInContext

    Raises:
        InputError: ``word`` is not a single word, or a text does not contain it.
    """
    if not isinstance(word, str) or not word.strip():
        raise InputError("word must be a non-empty string.")
    if len(adapter.encode(word).words) != 1:
        raise InputError(
            f"word={word!r} is {len(adapter.encode(word).words)} words for this tokenizer: give "
            "one word (no spaces or punctuation)."
        )
    if isinstance(texts, str) or len(texts) < 2:
        raise InputError("texts must be a list of at least 2 texts containing the word.")
    if groups is not None and len(groups) != len(texts):
        raise InputError(f"groups must have one entry per text: {len(groups)} for {len(texts)}.")
    target = word.strip().lower()
    encs = [adapter.encode(t) for t in texts]
    occ: list[tuple[int, int, list[int]]] = []  # (text index, word index, token positions)
    for i, enc in enumerate(encs):
        hits = find_word(enc, target)
        if not hits:
            raise InputError(f"texts[{i}] does not contain the word {word!r}: {texts[i]!r}.")
        occ.extend((i, w, pos) for w, pos in (hits if all_occurrences else hits[:1]))
    rows = [list(e.input_ids) for e in encs]
    width = max(len(r) for r in rows)

    def fn(model: nn.Module, ids: Tensor, mask: Tensor) -> Tensor:
        out = model(input_ids=ids, attention_mask=mask, output_hidden_states=True)
        hs = torch.stack(out.hidden_states, dim=1).float()  # (B, layers+1, L, H)
        return torch.nn.functional.pad(hs, (0, 0, 0, width - hs.shape[2]))

    hidden = adapter.map_batches(rows, fn, batch_size=batch_size)
    vectors = np.stack([hidden[i][:, pos, :].mean(axis=1) for i, _, pos in occ])
    return WordInContext(
        word=target,
        texts=[texts[i] for i, _, _ in occ],
        word_index=[w for _, w, _ in occ],
        groups=None if groups is None else [str(groups[i]) for i, _, _ in occ],
        vectors=vectors.astype(np.float64),
    )
