"""Maps of contextual embeddings: sentence, word or word-piece vectors of any layer in 2-D.

:func:`embedding_map` reads the hidden states of one layer through the adapter (layer 0 is the
embedding layer's output, layer ``n`` the last encoder layer, ``-1`` the last), projects them to
two dimensions (PCA by default; t-SNE from scikit-learn; UMAP when ``umap-learn`` is installed)
and returns an :class:`EmbeddingMap` that plots them (PNG/SVG), coloured by label or by word, and
writes a self-contained HTML scatter whose points show their text on hover (the texts are
HTML-escaped; nothing is fetched at view time).

Examples::

    >>> from captum_ext.adapters import TextClassifierAdapter
    >>> from captum_ext.internals import embedding_map
    >>> adapter = TextClassifierAdapter.from_pretrained()  # doctest: +SKIP
    >>> texts = ["so happy today", "what a lovely day", "i hate mondays", "so sad and tired"]
    >>> m = embedding_map(adapter, texts, [1, 1, 0, 0], layer=-1)  # doctest: +SKIP
    >>> m.save_html("sentences.html").is_file()  # doctest: +SKIP
    True
    >>> fig = m.plot("sentences.png")  # doctest: +SKIP
"""

from __future__ import annotations

import html
import json
import os
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import Tensor, nn

from captum_ext.errors import InputError
from captum_ext.internals._model import pooled_hidden_states, token_rows
from captum_ext.internals._plotting import plain_label, pyplot, save_figure

__all__ = [
    "EmbeddingMap",
    "embedding_map",
    "project",
    "resolve_layer",
    "sentence_embeddings",
    "token_embeddings",
]

PROJECTIONS: tuple[str, ...] = ("pca", "tsne", "umap")
LEVELS: tuple[str, ...] = ("sentence", "word", "token")
_PALETTE = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
    "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f",
)  # fmt: skip
_OTHER = "#c8c8c8"


def resolve_layer(layer: int, n_layers: int) -> int:
    """``layer`` as an index into the ``n_layers + 1`` hidden states (negative counts from the end)."""
    if not isinstance(layer, (int, np.integer)) or isinstance(layer, bool):
        raise InputError(f"layer must be an int, got {type(layer).__name__}.")
    n = n_layers + 1
    if not -n <= layer < n:
        raise InputError(
            f"layer must be in [0, {n_layers}] (0 = embeddings, {n_layers} = last layer) or "
            f"negative from the end, got {layer}."
        )
    return int(layer) % n


def _n_layers(adapter: Any) -> int:
    return int(adapter.model.config.num_hidden_layers)


def sentence_embeddings(
    adapter: Any,
    texts: Sequence[str],
    *,
    layer: int = -1,
    pooling: str = "mean",
    batch_size: int | None = None,
    show_progress: bool = False,
) -> np.ndarray:
    """One vector per text from hidden layer ``layer``: ``(n_texts, hidden)`` float32.

    Args:
        adapter (TextClassifierAdapter): the model wrapper.
        texts (list of str): the texts.
        layer (int, optional): 0 = embeddings, ..., ``n_layers`` = last; negative from the end.
            Default: -1
        pooling (str, optional): ``"mean"`` over the non-special tokens or ``"cls"``.
            Default: ``"mean"``
        batch_size (int, optional): texts per pass. Default: the adapter's.
        show_progress (bool, optional): a progress bar. Default: False
    """
    li = resolve_layer(layer, _n_layers(adapter))
    rows = token_rows(adapter, texts)
    feats = pooled_hidden_states(
        adapter, rows, pooling=pooling, batch_size=batch_size, show_progress=show_progress
    )
    return feats[:, li, :]


def token_embeddings(
    adapter: Any,
    texts: Sequence[str],
    *,
    layer: int = -1,
    level: str = "word",
    batch_size: int | None = None,
    show_progress: bool = False,
) -> tuple[np.ndarray, pd.DataFrame]:
    """Contextual vectors of every word (mean of its pieces) or word-piece of the texts.

    Special tokens are left out.

    Returns:
        tuple: ``(vectors (m, hidden) float32, frame)`` with one row per vector: ``text_index``,
        ``position`` (word index, or token position for ``level="token"``), ``token`` (the word
        or word-piece) and ``text``.
    """
    if level not in ("word", "token"):
        raise InputError(f"level must be 'word' or 'token', got {level!r}.")
    li = resolve_layer(layer, _n_layers(adapter))
    encs = [adapter.encode(t) for t in texts] if not isinstance(texts, str) else None
    if not encs:
        raise InputError("texts must be a non-empty list of strings.")
    rows = [list(e.input_ids) for e in encs]
    width = max(len(r) for r in rows)

    def fn(model: nn.Module, ids: Tensor, mask: Tensor) -> Tensor:
        hs = model(input_ids=ids, attention_mask=mask, output_hidden_states=True).hidden_states[li]
        return torch.nn.functional.pad(hs.float(), (0, 0, 0, width - hs.shape[1]))

    hidden = adapter.map_batches(rows, fn, batch_size=batch_size, show_progress=show_progress)
    vectors: list[np.ndarray] = []
    records: list[dict[str, Any]] = []
    for i, enc in enumerate(encs):
        if level == "token":
            for pos, w in enumerate(enc.token_to_word):
                if w is None:
                    continue
                vectors.append(hidden[i, pos])
                records.append(
                    {"text_index": i, "position": pos, "token": enc.tokens[pos], "text": enc.text}
                )
        else:
            for w, positions in enumerate(enc.word_token_positions):
                if not positions:
                    continue
                vectors.append(hidden[i, positions].mean(axis=0))
                records.append(
                    {"text_index": i, "position": w, "token": enc.words[w], "text": enc.text}
                )
    if not vectors:
        raise InputError("the texts have no tokens besides special tokens.")
    return np.stack(vectors).astype(np.float32), pd.DataFrame.from_records(records)


def project(
    X: np.ndarray,
    method: str = "pca",
    *,
    n_components: int = 2,
    random_state: int | None = 0,
    **kwargs: Any,
) -> np.ndarray:
    """Project rows of ``X`` to ``n_components`` dimensions.

    Args:
        X (np.ndarray): ``(n, d)`` vectors.
        method (str, optional): ``"pca"`` (scikit-learn PCA), ``"tsne"`` (scikit-learn TSNE,
            perplexity capped below ``n``) or ``"umap"`` (needs ``pip install umap-learn``).
            Default: ``"pca"``
        n_components (int, optional): output dimensions. Default: 2
        random_state (int, optional): seed. Default: 0
        **kwargs: passed to the projector.

    Returns:
        np.ndarray: ``(n, n_components)``.
    """
    return _project(X, method, n_components=n_components, random_state=random_state, **kwargs)[0]


def _project(
    X: np.ndarray, method: str, *, n_components: int, random_state: int | None, **kwargs: Any
) -> tuple[np.ndarray, list[float]]:
    """Coordinates and (PCA only) the explained variance ratio of each axis."""
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[0] < 2:
        raise InputError(f"X must be (n >= 2, d) vectors, got shape {X.shape}.")
    if method == "pca":
        from sklearn.decomposition import PCA

        k = min(n_components, X.shape[0], X.shape[1])
        pca = PCA(n_components=k, random_state=random_state, **kwargs)
        out = pca.fit_transform(X)
        if k < n_components:
            out = np.pad(out, ((0, 0), (0, n_components - k)))
        return out, [float(v) for v in pca.explained_variance_ratio_]
    if method == "tsne":
        from sklearn.manifold import TSNE

        kwargs.setdefault("perplexity", float(min(30.0, max(1.0, (X.shape[0] - 1) / 3))))
        kwargs.setdefault("init", "pca")
        tsne = TSNE(n_components=n_components, random_state=random_state, **kwargs)
        return tsne.fit_transform(X), []
    if method == "umap":
        try:
            import umap
        except ImportError:
            raise InputError(
                "method='umap' needs the umap-learn package: pip install umap-learn "
                "(or use method='pca' or 'tsne')."
            ) from None
        kwargs.setdefault("n_neighbors", min(15, X.shape[0] - 1))
        reducer = umap.UMAP(n_components=n_components, random_state=random_state, **kwargs)
        return np.asarray(reducer.fit_transform(X)), []
    raise InputError(f"method must be one of {', '.join(PROJECTIONS)}, got {method!r}.")


@dataclass
class EmbeddingMap:
    """2-D positions of embeddings with what they stand for.

    Attributes:
        coords: ``(n_points, 2)`` projected positions.
        frame: one row per point: ``text`` (hover text), ``color`` (the category it is coloured
            by), and for word/token maps ``token``, ``text_index``, ``position``.
        layer: the hidden layer (0 = embeddings).
        level: ``"sentence"``, ``"word"`` or ``"token"``.
        method: the projection.
        color_by: ``"label"`` or ``"word"``.
        explained_variance: PCA's explained variance ratio of the two axes (PCA only).
    """

    coords: np.ndarray
    frame: pd.DataFrame
    layer: int
    level: str
    method: str
    color_by: str
    explained_variance: list[float] = field(default_factory=list)

    def to_frame(self) -> pd.DataFrame:
        """``frame`` with the coordinates as columns ``x`` and ``y``."""
        df = self.frame.copy()
        df.insert(0, "y", self.coords[:, 1])
        df.insert(0, "x", self.coords[:, 0])
        return df

    def to_dict(self) -> dict[str, Any]:
        return {
            "layer": self.layer,
            "level": self.level,
            "method": self.method,
            "color_by": self.color_by,
            "explained_variance": self.explained_variance,
            "points": json.loads(self.to_frame().to_json(orient="records", force_ascii=False)),
        }

    def _colors(self) -> tuple[list[str], dict[str, str]]:
        cats = [str(c) for c in self.frame["color"]]
        order = [c for c, _ in Counter(cats).most_common() if c != "other"][: len(_PALETTE)]
        cmap = {c: _PALETTE[i] for i, c in enumerate(order)}
        if any(c not in cmap for c in cats):
            cmap["other"] = _OTHER
        return [cmap.get(c, _OTHER) for c in cats], cmap

    def _title(self) -> str:
        layer = "embeddings" if self.layer == 0 else f"layer {self.layer}"
        return (
            f"{self.level} embeddings, {layer}, {self.method.upper()}, coloured by {self.color_by}"
        )

    def plot(self, path: str | os.PathLike | None = None, *, annotate: bool | None = None) -> Any:
        """Scatter plot; saved to ``path`` (PNG/SVG by suffix) if given. Returns the figure.

        ``annotate`` writes each word next to its point (default: for word/token maps of at most
        60 points).
        """
        plt = pyplot()
        colors, cmap = self._colors()
        fig, ax = plt.subplots(figsize=(7, 6))
        ax.scatter(self.coords[:, 0], self.coords[:, 1], c=colors, s=14, alpha=0.75, linewidths=0)
        if annotate is None:
            annotate = self.level != "sentence" and len(self.coords) <= 60
        if annotate and "token" in self.frame:
            for (x, y), tok in zip(self.coords, self.frame["token"], strict=True):
                ax.annotate(plain_label(tok), (x, y), fontsize=7, alpha=0.8)
        handles = [
            plt.Line2D([], [], marker="o", ls="", color=col, label=plain_label(cat))
            for cat, col in cmap.items()
        ]
        ax.legend(handles=handles, fontsize=8, loc="best", title=self.color_by)
        ax.set_title(self._title(), fontsize=10)
        if self.explained_variance:
            ev = self.explained_variance
            ax.set_xlabel(f"PC1 ({ev[0]:.0%})")
            ax.set_ylabel(f"PC2 ({ev[1]:.0%})" if len(ev) > 1 else "PC2")
        if path is not None:
            save_figure(fig, path)
        return fig

    def to_html(self, *, width: int = 820, height: int = 620) -> str:
        """A self-contained HTML page: an inline SVG scatter; hover a point to read its text.

        Every text shown is HTML-escaped; there are no scripts and no external resources.
        """
        colors, cmap = self._colors()
        pad = 30
        xy = self.coords[:, :2].astype(np.float64)
        lo, hi = xy.min(axis=0), xy.max(axis=0)
        span = np.where(hi - lo > 0, hi - lo, 1.0)
        px = pad + (xy[:, 0] - lo[0]) / span[0] * (width - 2 * pad)
        py = height - pad - (xy[:, 1] - lo[1]) / span[1] * (height - 2 * pad)
        hover = self.frame["text"].astype(str).tolist()
        tokens = self.frame["token"].astype(str).tolist() if "token" in self.frame else None
        cats = self.frame["color"].astype(str).tolist()
        circles = []
        for i in range(len(xy)):
            tip = f"[{cats[i]}] " + (f"{tokens[i]} | " if tokens else "") + hover[i]
            circles.append(
                f'<circle cx="{px[i]:.1f}" cy="{py[i]:.1f}" r="4" fill="{colors[i]}" '
                f'fill-opacity="0.75"><title>{html.escape(tip)}</title></circle>'
            )
        legend = "".join(
            f'<span class="key"><span class="dot" style="background:{col}"></span>'
            f"{html.escape(cat)}</span>"
            for cat, col in cmap.items()
        )
        return _HTML_TEMPLATE.format(
            title=html.escape(self._title()),
            legend=legend,
            width=width,
            height=height,
            n=len(xy),
            circles="\n".join(circles),
        )

    def save_html(self, path: str | os.PathLike, **kwargs: Any) -> Path:
        path = Path(path)
        path.write_text(self.to_html(**kwargs), encoding="utf-8")
        return path


def embedding_map(
    adapter: Any,
    texts: Sequence[str],
    labels: Sequence[int] | np.ndarray | None = None,
    *,
    layer: int = -1,
    level: str = "sentence",
    method: str = "pca",
    color_by: str = "label",
    words: Sequence[str] | None = None,
    pooling: str = "mean",
    random_state: int | None = 0,
    batch_size: int | None = None,
    show_progress: bool = False,
) -> EmbeddingMap:
    """Project the embeddings of one layer to 2-D and keep what each point stands for.

    Args:
        adapter (TextClassifierAdapter): the model wrapper.
        texts (list of str): the texts.
        labels (array of int, optional): class index of each text (colours with
            ``color_by="label"``); None uses the model's predicted class. Default: None
        layer (int, optional): 0 = embeddings ... ``n_layers`` = last; negative from the end.
            Default: -1
        level (str, optional): ``"sentence"`` (one point per text), ``"word"`` or ``"token"``
            (one point per word or word-piece). Default: ``"sentence"``
        method (str, optional): ``"pca"``, ``"tsne"`` or ``"umap"``. Default: ``"pca"``
        color_by (str, optional): ``"label"`` or ``"word"`` (word/token maps: the word; only
            ``words``, or the 9 most frequent, get their own colour). Default: ``"label"``
        words (list of str, optional): for word/token maps, keep only these words
            (case-insensitive). Default: all
        pooling (str, optional): sentence vectors, ``"mean"`` or ``"cls"``. Default: ``"mean"``
        random_state (int, optional): projection seed. Default: 0
        batch_size (int, optional): texts per pass. Default: the adapter's.
        show_progress (bool, optional): a progress bar. Default: False

    Returns:
        EmbeddingMap

    Examples::

        >>> from captum_ext.adapters import TextClassifierAdapter
        >>> from captum_ext.internals import embedding_map
        >>> adapter = TextClassifierAdapter.from_pretrained()  # doctest: +SKIP
        >>> m = embedding_map(adapter, ["so happy", "so sad", "great", "awful"], [1, 0, 1, 0])  # doctest: +SKIP
        >>> m.to_frame().columns.tolist()  # doctest: +SKIP
        ['x', 'y', 'text', 'label', 'color', 'label_source']
    """
    if level not in LEVELS:
        raise InputError(f"level must be one of {', '.join(LEVELS)}, got {level!r}.")
    if color_by not in ("label", "word"):
        raise InputError(f"color_by must be 'label' or 'word', got {color_by!r}.")
    if method not in PROJECTIONS:
        raise InputError(f"method must be one of {', '.join(PROJECTIONS)}, got {method!r}.")
    if isinstance(texts, str):
        raise InputError("texts must be a list of strings, got a single str; wrap it: [text].")
    texts = list(texts)
    li = resolve_layer(layer, _n_layers(adapter))
    if labels is None:
        y = adapter.predict_proba(texts).argmax(axis=1)
        label_source = "predicted"
    else:
        y = np.asarray(labels)
        if y.shape != (len(texts),):
            raise InputError(f"labels must be one per text: got shape {y.shape} for {len(texts)}.")
        label_source = "given"
    names = [adapter.labels[int(v)] if 0 <= int(v) < adapter.num_labels else str(v) for v in y]
    if level == "sentence":
        if color_by == "word":
            raise InputError("color_by='word' needs level='word' or 'token'.")
        X = sentence_embeddings(
            adapter,
            texts,
            layer=li,
            pooling=pooling,
            batch_size=batch_size,
            show_progress=show_progress,
        )
        frame = pd.DataFrame({"text": texts, "label": names, "color": names})
    else:
        X, frame = token_embeddings(
            adapter,
            texts,
            layer=li,
            level=level,
            batch_size=batch_size,
            show_progress=show_progress,
        )
        frame["label"] = [names[i] for i in frame["text_index"]]
        if words is not None:
            wanted = {w.lower() for w in words}
            keep = frame["token"].str.lower().isin(wanted).to_numpy()
            if not keep.any():
                raise InputError(f"none of words={sorted(wanted)} occurs in the texts.")
            X, frame = X[keep], frame[keep].reset_index(drop=True)
        if color_by == "label":
            frame["color"] = frame["label"]
        else:
            lower = frame["token"].str.lower()
            top = (
                {w.lower() for w in words}
                if words is not None
                else {w for w, _ in Counter(lower).most_common(len(_PALETTE) - 1)}
            )
            frame["color"] = [w if w in top else "other" for w in lower]
    if len(X) < 2:
        raise InputError(f"need at least 2 points to project, got {len(X)}.")
    frame["label_source"] = label_source
    coords, explained = _project(X, method, n_components=2, random_state=random_state)
    return EmbeddingMap(
        coords=np.asarray(coords, dtype=np.float64),
        frame=frame,
        layer=li,
        level=level,
        method=method,
        color_by=color_by,
        explained_variance=explained,
    )


_HTML_TEMPLATE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>{title}</title>
<style>
body {{ font-family: Helvetica, Arial, sans-serif; margin: 1.5em; color: #222; }}
h1 {{ font-size: 1.1em; font-weight: normal; }}
.key {{ margin-right: 1em; font-size: 0.9em; white-space: nowrap; }}
.dot {{ display: inline-block; width: 10px; height: 10px; border-radius: 50%; margin-right: 4px; }}
svg {{ border: 1px solid #ddd; background: #fff; }}
circle:hover {{ stroke: #000; stroke-width: 1.5; }}
.note {{ color: #666; font-size: 0.85em; }}
</style></head>
<body>
<h1>{title}</h1>
<div>{legend}</div>
<div class="note">{n} points; hover a point to read its text.</div>
<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}">
{circles}
</svg>
</body></html>
"""
