"""Attention maps of one text: per layer and head heatmaps, an offline head view, bertviz export.

:func:`attention_maps` runs the model once (through the adapter, with eager attention so the
weights exist) and returns :class:`AttentionMaps`, which

- plots heatmaps of every head (PNG or SVG), with the word-pieces on the axes;
- writes a head view (:meth:`AttentionMaps.head_view_html`): one HTML file with its JavaScript and
  CSS inline, so it opens offline (nothing is fetched at view time), in the spirit of bertviz's
  ``head_view``: choose a layer, toggle heads, hover a token to see where it attends;
- exports to bertviz (Vig 2019, https://github.com/jessevig/bertviz, Apache-2.0) in both of its
  forms: :meth:`AttentionMaps.bertviz_arguments` gives the arguments
  ``bertviz.head_view(attention=..., tokens=...)`` and ``bertviz.model_view`` take (a tuple with
  one ``(1, n_heads, seq_len, seq_len)`` tensor per layer, and the token strings), and
  :meth:`AttentionMaps.to_bertviz` gives the same as JSON, plus the ``params`` object bertviz's
  JavaScript reads (``{"attention": [{"name", "attn", "left_text", "right_text"}],
  "default_filter", "root_div_id", "layer", "heads", "include_layers"}``; ``attn`` is nested
  lists ``[layer][head][from_token][to_token]``), read from bertviz 1.4.1's ``head_view.py``.

Examples::

    >>> from captum_ext.adapters import TextClassifierAdapter
    >>> from captum_ext.internals import attention_maps
    >>> adapter = TextClassifierAdapter.from_pretrained()  # doctest: +SKIP
    >>> maps = attention_maps(adapter, "not bad at all")  # doctest: +SKIP
    >>> maps.weights.shape  # (layers, heads, tokens, tokens)  # doctest: +SKIP
    (6, 12, 6, 6)
    >>> maps.save_head_view("head_view.html").is_file()  # opens offline  # doctest: +SKIP
    True
    >>> args = maps.bertviz_arguments()  # doctest: +SKIP
    >>> len(args["attention"]), args["attention"][0].shape  # doctest: +SKIP
    (6, torch.Size([1, 12, 6, 6]))

In a notebook with bertviz installed, ``bertviz.head_view(**args)`` shows them.
"""

from __future__ import annotations

import html
import json
import os
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from captum_ext.errors import InputError
from captum_ext.internals._plotting import plain_label, pyplot, save_figure, script_json

__all__ = ["AttentionMaps", "attention_maps"]


@dataclass
class AttentionMaps:
    """Attention weights of every layer and head for one text.

    Attributes:
        text: the text.
        tokens: its word-pieces, special tokens included (the axes of every map).
        weights: ``(n_layers, n_heads, n_tokens, n_tokens)``; ``weights[l, h, i, j]`` is how much
            token ``i`` attends to token ``j`` in head ``h`` of layer ``l`` (rows sum to 1).
        token_to_word: word index of each token (``None`` for special tokens).
        words: the words of the text.
        labels: class names; ``probs``: the model's prediction for the text.
    """

    text: str
    tokens: list[str]
    weights: np.ndarray
    token_to_word: list[int | None] = field(default_factory=list)
    words: list[str] = field(default_factory=list)
    labels: tuple[str, ...] = ()
    probs: np.ndarray | None = None

    def __post_init__(self) -> None:
        w = np.asarray(self.weights, dtype=np.float64)
        if w.ndim != 4 or w.shape[2] != w.shape[3] or w.shape[2] != len(self.tokens):
            raise InputError(
                f"weights must be (n_layers, n_heads, {len(self.tokens)}, {len(self.tokens)}) for "
                f"{len(self.tokens)} tokens, got {w.shape}."
            )
        self.weights = w

    @property
    def n_layers(self) -> int:
        return int(self.weights.shape[0])

    @property
    def n_heads(self) -> int:
        return int(self.weights.shape[1])

    def _check(self, layer: int, head: int | None = None) -> None:
        if not -self.n_layers <= layer < self.n_layers:
            raise InputError(f"layer must be in [0, {self.n_layers - 1}], got {layer}.")
        if head is not None and not -self.n_heads <= head < self.n_heads:
            raise InputError(f"head must be in [0, {self.n_heads - 1}], got {head}.")

    # -- tables and JSON --------------------------------------------------------------------
    def to_frame(self) -> pd.DataFrame:
        """Long table: one row per (layer, head, from, to) with the token strings and the weight."""
        n_l, n_h, n, _ = self.weights.shape
        layer, head, i, j = np.indices(self.weights.shape).reshape(4, -1)
        toks = np.asarray(self.tokens, dtype=object)
        return pd.DataFrame(
            {
                "layer": layer,
                "head": head,
                "from_index": i,
                "from_token": toks[i],
                "to_index": j,
                "to_token": toks[j],
                "weight": self.weights.reshape(-1),
            }
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-able dict (the text, tokens, words, prediction and the weights as nested lists)."""
        return {
            "text": self.text,
            "tokens": list(self.tokens),
            "token_to_word": list(self.token_to_word),
            "words": list(self.words),
            "labels": list(self.labels),
            "probs": None if self.probs is None else np.asarray(self.probs).tolist(),
            "shape": list(self.weights.shape),
            "weights": self.weights.tolist(),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> AttentionMaps:
        return cls(
            text=d["text"],
            tokens=list(d["tokens"]),
            weights=np.asarray(d["weights"], dtype=np.float64),
            token_to_word=list(d.get("token_to_word", [])),
            words=list(d.get("words", [])),
            labels=tuple(d.get("labels", ())),
            probs=None if d.get("probs") is None else np.asarray(d["probs"]),
        )

    # -- bertviz ----------------------------------------------------------------------------
    def bertviz_arguments(self) -> dict[str, Any]:
        """Keyword arguments of ``bertviz.head_view`` / ``bertviz.model_view``.

        Returns:
            dict: ``{"attention": tuple of torch.Tensor (1, n_heads, n, n) one per layer,
            "tokens": list of str}``, i.e. what a Hugging Face model returns with
            ``output_attentions=True`` for a batch of one.
        """
        import torch

        return {
            "attention": tuple(
                torch.tensor(self.weights[layer][None], dtype=torch.float32)
                for layer in range(self.n_layers)
            ),
            "tokens": list(self.tokens),
        }

    def bertviz_params(
        self, *, view: str = "head", layer: int | None = None, heads: Sequence[int] | None = None
    ) -> dict[str, Any]:
        """The ``params`` object bertviz's JavaScript reads (``PYTHON_PARAMS`` in its ``.js``).

        Args:
            view (str, optional): ``"head"`` (``head_view.js``) or ``"model"``
                (``model_view.js``). Default: ``"head"``
            layer (int, optional): initially selected layer (head view). Default: 0
            heads (list of int, optional): initially shown heads (head view). Default: all

        Returns:
            dict: JSON-able.
        """
        if view not in ("head", "model"):
            raise InputError(f"view must be 'head' or 'model', got {view!r}.")
        if layer is not None:
            self._check(layer)
        attention = [
            {
                "name": None,
                "attn": self.weights.tolist(),
                "left_text": list(self.tokens),
                "right_text": list(self.tokens),
            }
        ]
        common = {
            "attention": attention,
            "default_filter": "0",
            "root_div_id": f"bertviz-{uuid.uuid4().hex}",
            "include_layers": list(range(self.n_layers)),
        }
        if view == "head":
            return {**common, "layer": layer, "heads": None if heads is None else list(heads)}
        return {
            **common,
            "display_mode": "light",
            "include_heads": list(range(self.n_heads)),
            "total_heads": self.n_heads,
        }

    def to_bertviz(self) -> dict[str, Any]:
        """Everything bertviz needs, as JSON: ``{"format", "tokens", "attention", "params"}``.

        ``attention`` is a list with one ``[1][n_heads][n][n]`` nested list per layer (turn each
        into a tensor to call ``head_view``); ``params`` is :meth:`bertviz_params`.

        Examples::

            >>> from captum_ext.adapters import TextClassifierAdapter
            >>> from captum_ext.internals import attention_maps
            >>> adapter = TextClassifierAdapter.from_pretrained()  # doctest: +SKIP
            >>> d = attention_maps(adapter, "not bad at all").to_bertviz()  # doctest: +SKIP
            >>> d["format"], d["tokens"]  # doctest: +SKIP
            ('bertviz-1.4', ['[CLS]', 'not', 'bad', 'at', 'all', '[SEP]'])

        :meth:`save` writes it to ``attention_bertviz.json``; with bertviz installed,
        ``head_view(attention=tuple(torch.tensor(a) for a in d["attention"]), tokens=d["tokens"])``
        shows it in a notebook.
        """
        return {
            "format": "bertviz-1.4",
            "tokens": list(self.tokens),
            "attention": [self.weights[layer][None].tolist() for layer in range(self.n_layers)],
            "params": self.bertviz_params(view="head"),
        }

    # -- heatmaps ---------------------------------------------------------------------------
    def plot_head(self, layer: int, head: int, ax: Any = None) -> Any:
        """One head's map as a heatmap on ``ax`` (a new figure if None); returns the axes."""
        self._check(layer, head)
        plt = pyplot()
        if ax is None:
            size = max(3.0, 0.28 * len(self.tokens) + 1.5)
            _, ax = plt.subplots(figsize=(size + 0.8, size))
        im = ax.imshow(self.weights[layer, head], cmap="Blues", vmin=0.0, vmax=1.0)
        labels = [plain_label(t) for t in self.tokens]
        ax.set_xticks(range(len(labels)), labels, rotation=90, fontsize=7)
        ax.set_yticks(range(len(labels)), labels, fontsize=7)
        ax.set_xlabel("attends to")
        ax.set_ylabel("token")
        ax.set_title(f"layer {layer} head {head}", fontsize=9)
        ax.figure.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
        return ax

    def plot_layer(self, layer: int, *, ncols: int = 4) -> Any:
        """All heads of one layer in a grid; returns the figure."""
        self._check(layer)
        plt = pyplot()
        n = len(self.tokens)
        nrows = -(-self.n_heads // ncols)
        cell = min(4.5, max(2.2, 0.1 * n + 1.2))
        vmax = float(self.weights[layer].max()) or 1.0  # one colour scale per layer
        fig, axes = plt.subplots(nrows, ncols, figsize=(cell * ncols, cell * nrows), squeeze=False)
        labels = [plain_label(t) for t in self.tokens]
        show_ticks = n <= 40
        for h, ax in enumerate(axes.reshape(-1)):
            if h >= self.n_heads:
                ax.axis("off")
                continue
            im = ax.imshow(self.weights[layer, h], cmap="Blues", vmin=0.0, vmax=vmax)
            ax.set_title(f"head {h}", fontsize=8)
            row, col = divmod(h, ncols)
            # token labels on the outer axes only: one set per row / column is enough to read
            # the grid, and fewer text objects keep large layers quick to draw
            last_row = row == nrows - 1 or h + ncols >= self.n_heads
            if show_ticks and last_row:
                ax.set_xticks(range(n), labels, rotation=90, fontsize=5)
            else:
                ax.set_xticks([])
            if show_ticks and col == 0:
                ax.set_yticks(range(n), labels, fontsize=5)
            else:
                ax.set_yticks([])
        fig.suptitle(f"layer {layer} attention (row: token, column: attended token)", fontsize=10)
        fig.tight_layout()
        fig.colorbar(im, ax=axes.ravel().tolist(), fraction=0.02, pad=0.01)
        return fig

    def save_heatmaps(
        self, out_dir: str | os.PathLike, *, fmt: str = "png", layers: Sequence[int] | None = None
    ) -> list[Path]:
        """One grid figure per layer, ``attention_layer{L}.{fmt}`` in ``out_dir``.

        Args:
            out_dir: the folder (created if missing).
            fmt (str, optional): ``"png"`` or ``"svg"``. Default: ``"png"``
            layers (list of int, optional): which layers. Default: all

        Returns:
            list of Path: the files written.
        """
        if fmt not in ("png", "svg"):
            raise InputError(f"fmt must be 'png' or 'svg', got {fmt!r}.")
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        paths = []
        for layer in range(self.n_layers) if layers is None else layers:
            self._check(layer)
            path = out / f"attention_layer{layer}.{fmt}"
            save_figure(self.plot_layer(layer), path, dpi=100)
            paths.append(path)
        return paths

    # -- offline head view ------------------------------------------------------------------
    def head_view_html(self, *, layer: int = 0, heads: Sequence[int] | None = None) -> str:
        """A self-contained HTML head view (inline JS and CSS; nothing fetched at view time).

        Tokens on the left attend to tokens on the right; line opacity is the weight, one colour
        per head. Choose the layer, toggle heads, hover a token to isolate its attention. The
        data block is bertviz's ``params`` (:meth:`bertviz_params`), so the file is also an
        export.

        Returns:
            str: the HTML document.
        """
        params = self.bertviz_params(view="head", layer=layer, heads=heads)
        pred = ""
        if self.probs is not None and self.labels:
            pred = ", ".join(
                f"{html.escape(lab)} {p:.3f}"
                for lab, p in zip(self.labels, self.probs, strict=True)
            )
        return _HEAD_VIEW_TEMPLATE.format(
            title=html.escape(self.text),
            prediction=pred,
            params=script_json(params),
            script=_HEAD_VIEW_JS,
        )

    def save_head_view(self, path: str | os.PathLike, **kwargs: Any) -> Path:
        """Write :meth:`head_view_html` to ``path``; returns the path."""
        path = Path(path)
        path.write_text(self.head_view_html(**kwargs), encoding="utf-8")
        return path

    def save(self, out_dir: str | os.PathLike, *, fmt: str = "png") -> dict[str, Path]:
        """Heatmaps, ``head_view.html``, ``attention.json`` and ``attention_bertviz.json``."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        files: dict[str, Path] = {}
        for i, p in enumerate(self.save_heatmaps(out, fmt=fmt)):
            files[f"heatmap_layer{i}"] = p
        files["head_view"] = self.save_head_view(out / "head_view.html")
        files["json"] = out / "attention.json"
        files["json"].write_text(json.dumps(self.to_dict()), encoding="utf-8")
        files["bertviz"] = out / "attention_bertviz.json"
        files["bertviz"].write_text(json.dumps(self.to_bertviz()), encoding="utf-8")
        return files


def attention_maps(adapter: Any, text: str) -> AttentionMaps:
    """Attention weights of every layer and head for ``text``, with its tokens and prediction.

    Args:
        adapter (TextClassifierAdapter): the model wrapper (switched to eager attention for the
            call, as SDPA returns no weights).
        text (str): the text.

    Returns:
        AttentionMaps

    Examples::

        >>> from captum_ext.adapters import TextClassifierAdapter
        >>> from captum_ext.internals import attention_maps
        >>> adapter = TextClassifierAdapter.from_pretrained()  # doctest: +SKIP
        >>> maps = attention_maps(adapter, "not bad at all")  # doctest: +SKIP
        >>> float(maps.weights.sum(axis=-1).round(6).min())  # rows sum to 1  # doctest: +SKIP
        1.0
    """
    enc = adapter.encode(text)
    weights = adapter.attentions(text)
    probs = adapter.predict_ids([enc.input_ids])[0]
    return AttentionMaps(
        text=text,
        tokens=list(enc.tokens),
        weights=weights,
        token_to_word=list(enc.token_to_word),
        words=list(enc.words),
        labels=tuple(adapter.labels),
        probs=probs,
    )


_HEAD_VIEW_TEMPLATE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Attention head view: {title}</title>
<style>
body {{ font-family: Helvetica, Arial, sans-serif; margin: 1.5em; color: #222; }}
h1 {{ font-size: 1.1em; font-weight: normal; max-width: 60em; }}
.controls {{ margin: 0.8em 0; user-select: none; }}
.head-box {{ display: inline-block; width: 18px; height: 18px; margin-right: 3px;
  border: 2px solid #999; cursor: pointer; vertical-align: middle; }}
.head-box.off {{ opacity: 0.15; }}
svg text {{ font-size: 13px; cursor: default; }}
svg text.hl {{ font-weight: bold; }}
.note {{ color: #666; font-size: 0.85em; }}
</style></head>
<body>
<h1>{title}</h1>
<div class="note">prediction: {prediction}</div>
<div class="controls">Layer: <select id="layer"></select>
 &nbsp; Heads: <span id="heads"></span>
 &nbsp; <button id="all" type="button">all</button> <button id="none" type="button">none</button></div>
<div class="note">Left: token; right: the tokens it attends to. Line opacity = attention weight,
colour = head. Hover a token to isolate it; click a head box to toggle it.</div>
<svg id="vis" xmlns="http://www.w3.org/2000/svg"></svg>
<script type="application/json" id="params">{params}</script>
<script>{script}</script>
</body></html>
"""

_HEAD_VIEW_JS = r"""
(function () {
  "use strict";
  var params = JSON.parse(document.getElementById("params").textContent);
  var data = params.attention[Number(params.default_filter)];
  var attn = data.attn, left = data.left_text, right = data.right_text;
  var layers = params.include_layers;
  var nHeads = attn[0].length;
  var COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b",
                "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];
  var BOX_H = 22, TEXT_W = 130, GAP = 160, TOP = 10;
  var state = { layer: params.layer == null ? 0 : layers.indexOf(params.layer),
                heads: [], hover: null };
  for (var h = 0; h < nHeads; h++) {
    state.heads.push(params.heads == null || params.heads.indexOf(h) >= 0);
  }
  var NS = "http://www.w3.org/2000/svg";
  var svg = document.getElementById("vis");
  function el(name, attrs) {
    var e = document.createElementNS(NS, name);
    for (var k in attrs) { e.setAttribute(k, attrs[k]); }
    return e;
  }
  var select = document.getElementById("layer");
  layers.forEach(function (l, i) {
    var o = document.createElement("option");
    o.value = String(i); o.textContent = String(l); select.appendChild(o);
  });
  select.value = String(state.layer);
  select.addEventListener("change", function () { state.layer = Number(select.value); render(); });
  var headsSpan = document.getElementById("heads");
  var boxes = [];
  for (var h2 = 0; h2 < nHeads; h2++) {
    (function (h) {
      var b = document.createElement("span");
      b.className = "head-box"; b.title = "head " + h;
      b.style.background = COLORS[h % COLORS.length];
      b.addEventListener("click", function () { state.heads[h] = !state.heads[h]; render(); });
      headsSpan.appendChild(b); boxes.push(b);
    })(h2);
  }
  document.getElementById("all").addEventListener("click", function () {
    state.heads = state.heads.map(function () { return true; }); render(); });
  document.getElementById("none").addEventListener("click", function () {
    state.heads = state.heads.map(function () { return false; }); render(); });
  var lines = el("g", {});
  var textNodes = { left: [], right: [] };
  function render() {
    while (svg.firstChild) { svg.removeChild(svg.firstChild); }
    var n = Math.max(left.length, right.length);
    svg.setAttribute("width", String(2 * TEXT_W + GAP + 20));
    svg.setAttribute("height", String(n * BOX_H + 2 * TOP));
    boxes.forEach(function (b, h) { b.className = "head-box" + (state.heads[h] ? "" : " off"); });
    lines = el("g", {});
    svg.appendChild(lines);
    textNodes = { left: [], right: [] };
    function texts(tokens, side) {
      tokens.forEach(function (tok, i) {
        var t = el("text", {
          x: side === "left" ? TEXT_W - 8 : TEXT_W + GAP + 8,
          y: TOP + (i + 0.5) * BOX_H + 4,
          "text-anchor": side === "left" ? "end" : "start"
        });
        t.textContent = tok;
        t.addEventListener("mouseenter", function () { state.hover = { side: side, i: i }; drawLines(); });
        t.addEventListener("mouseleave", function () { state.hover = null; drawLines(); });
        svg.appendChild(t);
        textNodes[side].push(t);
      });
    }
    texts(left, "left");
    texts(right, "right");
    drawLines();
  }
  function drawLines() {
    while (lines.firstChild) { lines.removeChild(lines.firstChild); }
    ["left", "right"].forEach(function (side) {
      textNodes[side].forEach(function (t, i) {
        var on = state.hover && state.hover.side === side && state.hover.i === i;
        t.setAttribute("class", on ? "hl" : "");
      });
    });
    var la = attn[state.layer];
    var active = [];
    state.heads.forEach(function (on, h) { if (on) { active.push(h); } });
    var x1 = TEXT_W, x2 = TEXT_W + GAP;
    var scale = state.hover ? 1 : 1 / Math.max(1, active.length / 3);
    for (var i = 0; i < left.length; i++) {
      if (state.hover && state.hover.side === "left" && state.hover.i !== i) { continue; }
      for (var j = 0; j < right.length; j++) {
        if (state.hover && state.hover.side === "right" && state.hover.i !== j) { continue; }
        for (var a = 0; a < active.length; a++) {
          var w = la[active[a]][i][j];
          if (w < 0.01) { continue; }
          lines.appendChild(el("line", {
            x1: x1, y1: TOP + (i + 0.5) * BOX_H, x2: x2, y2: TOP + (j + 0.5) * BOX_H,
            stroke: COLORS[active[a] % COLORS.length], "stroke-width": 2,
            "stroke-opacity": Math.min(1, w * scale)
          }));
        }
      }
    }
  }
  render();
})();
"""
