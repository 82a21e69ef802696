r"""Attention-head importance and pruning (Michel, Levy and Neubig 2019).

"Are Sixteen Heads Really Better than One?" (https://arxiv.org/abs/1905.10650) scores each
attention head :math:`h` by the expected sensitivity of the loss to a gate :math:`\xi_h` that
multiplies the head's output,

.. math::  I_h = \mathbb{E}_x \left| \frac{\partial \mathcal{L}(x)}{\partial \xi_h} \right|
           \quad\text{at } \xi = 1,

computed for every head at once (one forward and backward pass per batch), and prunes the heads
of lowest importance.

transformers 5 removed ``head_mask`` and ``prune_heads``, so the gates are put back with a forward
pre-hook on each layer's attention output projection (``attention.output.dense``): its input is
the concatenation of the per-head context vectors, and the hook multiplies head :math:`h`'s slice
by :math:`\xi_h`. This is exactly the old ``head_mask`` semantics (the old code multiplied the
attention probabilities by the mask, which scales that head's context slice by the same factor).

Examples::

    >>> from captum_ext.adapters import TextClassifierAdapter
    >>> from captum_ext.internals.heads import head_importance, pruning_curve
    >>> from captum_ext.data import default_data_path, load_sentiment140
    >>> adapter = TextClassifierAdapter.from_pretrained()  # doctest: +SKIP
    >>> data = load_sentiment140(default_data_path()).sample(200, seed=0)  # doctest: +SKIP
    >>> texts, labels = data.texts[:100], data.labels[:100]  # doctest: +SKIP
    >>> imp = head_importance(adapter, texts, labels, masking=False)  # masking: 72 more passes  # doctest: +SKIP
    >>> imp.gradient.shape  # (layers, heads)  # doctest: +SKIP
    (6, 12)
    >>> pruning_curve(adapter, imp.gradient, data.texts[100:], data.labels[100:],
    ...               fractions=[0.0, 0.5, 1.0])[["fraction", "n_masked", "accuracy"]]  # doctest: +SKIP
       fraction  n_masked  accuracy
    0       0.0         0      0.87
    1       0.5        36      0.85
    2       1.0        72      0.48
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from captum_ext.errors import InputError
from captum_ext.internals._model import (
    LayerPrefixCache,
    check_labels,
    encoder_layers,
    n_layers_heads,
    token_rows,
)

__all__ = [
    "HeadImportance",
    "HeadMask",
    "evaluate_with_mask",
    "gradient_head_importance",
    "head_importance",
    "masking_head_importance",
    "normalize_by_layer",
    "plot_pruning_curves",
    "prunable_fraction",
    "pruning_curve",
    "pruning_order",
]


class HeadMask:
    r"""Gate every attention head's output with a mask value (the ``head_mask`` of old transformers).

    Installs a forward pre-hook on each layer's attention output projection that multiplies head
    ``h``'s slice of the concatenated context vectors by ``mask[layer, h]``; ``0`` removes the head,
    ``1`` keeps it, and the mask may require gradients (head importance). The hooks are removed on
    exit. ``mask`` may be replaced between forward passes.

    Args:
        model (torch.nn.Module): a BERT-like encoder classifier (``adapter.model``).
        mask (torch.Tensor or array, optional): ``(n_layers, n_heads)`` (same gates for every
            example) or ``(batch, n_layers, n_heads)`` (one set of gates per example). ``None``
            leaves the model unchanged until a mask is set. Default: None

    Examples::

        >>> import torch
        >>> from captum_ext.internals.heads import HeadMask
        >>> mask = torch.ones(6, 12); mask[0, 3] = 0  # remove head 3 of layer 0
        >>> from captum_ext.adapters import TextClassifierAdapter
        >>> adapter = TextClassifierAdapter.from_pretrained()  # doctest: +SKIP
        >>> with HeadMask(adapter.model, mask):  # doctest: +SKIP
        ...     probs = adapter.predict_proba(["not bad at all"])
        >>> probs.shape  # doctest: +SKIP
        (1, 2)
    """

    def __init__(self, model: nn.Module, mask: Tensor | np.ndarray | None = None) -> None:
        self.model = model
        self.n_layers, self.n_heads = n_layers_heads(model)
        _, self._projections = encoder_layers(model)
        self._handles: list[Any] = []
        self.mask = mask

    @property
    def mask(self) -> Tensor | None:
        return self._mask

    @mask.setter
    def mask(self, value: Tensor | np.ndarray | None) -> None:
        if value is None:
            self._mask = None
            return
        t = value if isinstance(value, Tensor) else torch.as_tensor(np.asarray(value))
        if t.shape[-2:] != (self.n_layers, self.n_heads) or t.dim() not in (2, 3):
            raise InputError(
                f"mask must have shape (n_layers, n_heads) = ({self.n_layers}, {self.n_heads}) or "
                f"(batch, {self.n_layers}, {self.n_heads}), got {tuple(t.shape)}."
            )
        self._mask = t

    def _hook(self, layer: int):
        def pre_hook(module: nn.Module, args: tuple[Any, ...]) -> tuple[Any, ...] | None:
            m = self._mask
            if m is None:
                return None
            x = args[0]  # (batch, seq, n_heads * head_size)
            gates = m[..., layer, :].to(
                device=x.device, dtype=x.dtype
            )  # (n_heads,) or (B, n_heads)
            gates = gates.repeat_interleave(x.shape[-1] // self.n_heads, dim=-1)
            gates = gates[:, None, :] if gates.dim() == 2 else gates
            return (x * gates, *args[1:])

        return pre_hook

    def __enter__(self) -> HeadMask:
        if self._handles:
            raise RuntimeError("HeadMask is already active")
        self._handles = [
            proj.register_forward_pre_hook(self._hook(i))
            for i, proj in enumerate(self._projections)
        ]
        return self

    def __exit__(self, *exc: Any) -> None:
        for h in self._handles:
            h.remove()
        self._handles = []


@contextlib.contextmanager
def _params_frozen(model: nn.Module) -> Iterator[None]:
    """No gradients for the weights (only the gates need them): less autograd work."""
    flags = [p.requires_grad for p in model.parameters()]
    try:
        for p in model.parameters():
            p.requires_grad_(False)
        yield
    finally:
        for p, f in zip(model.parameters(), flags, strict=True):
            p.requires_grad_(f)


def _prepare(adapter: Any, texts: Sequence[str], labels: Any) -> tuple[list[list[int]], np.ndarray]:
    rows = token_rows(adapter, texts)
    y = check_labels(labels, len(rows), adapter.num_labels)
    return rows, y


def normalize_by_layer(importance: np.ndarray, exponent: float = 2.0) -> np.ndarray:
    """Divide each layer's head scores by their ``exponent``-norm (Michel et al. 2019, Sec. 4.1).

    Layers whose scores are all zero stay zero.
    """
    imp = np.asarray(importance, dtype=np.float64)
    norm = np.power(np.power(np.abs(imp), exponent).sum(axis=-1, keepdims=True), 1.0 / exponent)
    return np.divide(imp, norm, out=np.zeros_like(imp), where=norm > 0)


def gradient_head_importance(
    adapter: Any,
    texts: Sequence[str],
    labels: Sequence[int] | np.ndarray,
    *,
    batch_size: int | None = None,
    show_progress: bool = False,
) -> np.ndarray:
    r"""Michel et al.'s gradient importance of every head, in one forward/backward pass per batch.

    :math:`I_h = \frac{1}{N}\sum_x |\partial \mathcal{L}(x) / \partial \xi_h|` with the gates
    :math:`\xi = 1` and :math:`\mathcal{L}` the cross-entropy of the gold label. Each example has
    its own copy of the gates, so the absolute value is taken per example (as the paper's
    expectation says), not per batch.

    Args:
        adapter (TextClassifierAdapter): the model wrapper.
        texts (list of str): labelled texts.
        labels (array of int): their class indices.
        batch_size (int, optional): texts per pass. Default: the adapter's.
        show_progress (bool, optional): a progress bar. Default: False

    Returns:
        np.ndarray: ``(n_layers, n_heads)`` importance, not normalised (see
        :func:`normalize_by_layer`).

    Examples::

        >>> from captum_ext.adapters import TextClassifierAdapter
        >>> from captum_ext.internals.heads import gradient_head_importance
        >>> adapter = TextClassifierAdapter.from_pretrained()  # doctest: +SKIP
        >>> imp = gradient_head_importance(adapter, ["so happy", "so sad"], [1, 0])  # doctest: +SKIP
        >>> imp.shape  # doctest: +SKIP
        (6, 12)
    """
    rows, y = _prepare(adapter, texts, labels)
    model = adapter.model
    n_layers, n_heads = n_layers_heads(model)
    forward = adapter.forward_func(output="logits")
    total = torch.zeros(n_layers, n_heads, dtype=torch.float64, device="cpu")
    batches = adapter.iter_batches(rows, batch_size)
    if show_progress:
        from tqdm.auto import tqdm

        bs = batch_size or adapter.batch_size
        batches = tqdm(batches, total=-(-len(rows) // bs), desc="head gradients", unit="batch")
    yt = torch.as_tensor(y, device=adapter.device)
    with _params_frozen(model), HeadMask(model) as hm, torch.enable_grad():
        for idx, ids, mask in batches:
            gates = torch.ones(
                len(idx), n_layers, n_heads, device=adapter.device, requires_grad=True
            )
            hm.mask = gates
            logits = forward(ids, mask)
            rows_t = torch.as_tensor(idx, device=adapter.device)
            loss = F.cross_entropy(logits.float(), yt[rows_t], reduction="sum")
            (grad,) = torch.autograd.grad(loss, gates)
            total += grad.detach().abs().sum(dim=0).double().cpu()
    return (total / len(rows)).numpy()


def _logits(model: nn.Module, ids: Tensor, mask: Tensor) -> Tensor:
    return model(input_ids=ids, attention_mask=mask).logits


def evaluate_with_mask(
    adapter: Any,
    rows: Sequence[Sequence[int]],
    labels: np.ndarray,
    mask: Tensor | np.ndarray | None,
    *,
    batch_size: int | None = None,
) -> dict[str, float]:
    """Accuracy and mean cross-entropy of token-id ``rows`` with the heads gated by ``mask``."""
    with HeadMask(adapter.model, mask):
        logits = adapter.map_batches(rows, _logits, batch_size=batch_size)
    return _scores(logits, labels)


def _scores(logits: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    """Accuracy and mean cross-entropy of logits for integer labels."""
    y = np.asarray(labels, dtype=np.int64)
    logits = np.asarray(logits, dtype=np.float64)
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return {
        "accuracy": float((logits.argmax(axis=1) == y).mean()),
        "loss": float(-log_probs[np.arange(len(y)), y].mean()),
    }


def masking_head_importance(
    adapter: Any,
    texts: Sequence[str],
    labels: Sequence[int] | np.ndarray,
    *,
    batch_size: int | None = None,
    show_progress: bool = False,
) -> tuple[np.ndarray, np.ndarray, dict[str, float]]:
    """Importance of every head by actually removing it: the loss increase (and accuracy drop).

    One evaluation of the whole set per head (plus one unmasked), each with a single head gated to
    0 and every other head kept. Masking a head of layer ``l`` does not change the layers below
    it, so their output is computed once per layer and replayed (about 40% less work for a
    6-layer model; the results are the same).

    Args:
        adapter (TextClassifierAdapter): the model wrapper.
        texts (list of str): labelled texts.
        labels (array of int): their class indices.
        batch_size (int, optional): texts per pass. Default: the adapter's.
        show_progress (bool, optional): a progress bar over heads. Default: False

    Returns:
        tuple: ``(loss_increase, accuracy_drop, base)``: two ``(n_layers, n_heads)`` arrays and the
        unmasked ``{"accuracy", "loss"}``.
    """
    rows, y = _prepare(adapter, texts, labels)
    n_layers, n_heads = n_layers_heads(adapter.model)
    base = evaluate_with_mask(adapter, rows, y, None, batch_size=batch_size)
    loss_inc = np.zeros((n_layers, n_heads))
    acc_drop = np.zeros((n_layers, n_heads))
    heads = [(layer, h) for layer in range(n_layers) for h in range(n_heads)]
    it: Any = heads
    if show_progress:
        from tqdm.auto import tqdm

        it = tqdm(heads, desc="masking heads", unit="head")
    cache: LayerPrefixCache | None = None
    with HeadMask(adapter.model) as gates:  # hooks on the real layers, before any is swapped
        for layer, h in it:
            if cache is None or cache.layer != layer:
                # masking a head of `layer` leaves the layers below it unchanged: run them once
                gates.mask = None
                cache = LayerPrefixCache(adapter.model, layer)
                cache.record(lambda: adapter.map_batches(rows, _logits, batch_size=batch_size))
            mask = torch.ones(n_layers, n_heads, device=adapter.device)
            mask[layer, h] = 0.0
            gates.mask = mask
            with cache.replay():
                res = _scores(adapter.map_batches(rows, _logits, batch_size=batch_size), y)
            loss_inc[layer, h] = res["loss"] - base["loss"]
            acc_drop[layer, h] = base["accuracy"] - res["accuracy"]
    return loss_inc, acc_drop, base


def pruning_order(importance: np.ndarray, *, random_state: int | None = None) -> np.ndarray:
    """Heads from least to most important as ``(k, 2)`` ``(layer, head)`` rows.

    Ties keep the (layer, head) order. With ``random_state`` the order is a seeded random
    permutation instead (the baseline a ranking must beat).
    """
    imp = np.asarray(importance, dtype=np.float64)
    if imp.ndim != 2:
        raise InputError(f"importance must be (n_layers, n_heads), got shape {imp.shape}.")
    flat = (
        np.random.default_rng(random_state).permutation(imp.size)
        if random_state is not None
        else np.argsort(imp.reshape(-1), kind="stable")
    )
    return np.stack(np.unravel_index(flat, imp.shape), axis=1)


def pruning_curve(
    adapter: Any,
    importance: np.ndarray,
    texts: Sequence[str],
    labels: Sequence[int] | np.ndarray,
    *,
    fractions: Sequence[float] | np.ndarray | None = None,
    random_state: int | None = None,
    batch_size: int | None = None,
    show_progress: bool = False,
) -> pd.DataFrame:
    """Accuracy on (held-out) texts as the least important heads are masked, 0% to 100%.

    Heads are removed in the order of :func:`pruning_order` (importance computed once, as in
    Michel et al.'s Figure 3); ``random_state`` removes them in a seeded random order instead.

    Args:
        adapter (TextClassifierAdapter): the model wrapper.
        importance (np.ndarray): ``(n_layers, n_heads)`` head scores (higher = more important).
        texts (list of str): held-out labelled texts (not those the importance came from).
        labels (array of int): their class indices.
        fractions (sequence of float, optional): fractions of all heads to mask.
            Default: 0, 0.1, ..., 1.0
        random_state (int, optional): mask in a random order with this seed. Default: None
        batch_size (int, optional): texts per pass. Default: the adapter's.
        show_progress (bool, optional): a progress bar. Default: False

    Returns:
        pandas.DataFrame: one row per fraction: ``fraction``, ``n_masked``, ``accuracy``,
        ``loss``, ``order`` (``"importance"`` or ``"random"``).
    """
    rows, y = _prepare(adapter, texts, labels)
    n_layers, n_heads = n_layers_heads(adapter.model)
    imp = np.asarray(importance, dtype=np.float64)
    if imp.shape != (n_layers, n_heads):
        raise InputError(
            f"importance must have shape ({n_layers}, {n_heads}) for this model, got {imp.shape}."
        )
    fr = np.linspace(0.0, 1.0, 11) if fractions is None else np.asarray(fractions, dtype=float)
    if fr.ndim != 1 or fr.size == 0 or fr.min() < 0 or fr.max() > 1:
        raise InputError(f"fractions must be values in [0, 1], got {fr.tolist()}.")
    order = pruning_order(imp, random_state=random_state)
    records = []
    it: Any = fr
    if show_progress:
        from tqdm.auto import tqdm

        it = tqdm(fr, desc="pruning curve", unit="step")
    for f in it:
        k = int(round(float(f) * imp.size))
        mask = torch.ones(n_layers, n_heads, device=adapter.device)
        for layer, h in order[:k]:
            mask[layer, h] = 0.0
        res = evaluate_with_mask(adapter, rows, y, mask, batch_size=batch_size)
        records.append(
            {
                "fraction": float(f),
                "n_masked": k,
                "accuracy": res["accuracy"],
                "loss": res["loss"],
                "order": "importance" if random_state is None else "random",
            }
        )
    return pd.DataFrame.from_records(records)


def prunable_fraction(curve: pd.DataFrame, tolerance: float = 0.01) -> dict[str, float]:
    """The largest fraction of heads that can be masked while accuracy stays within
    ``tolerance`` of the unpruned accuracy (at that fraction and every smaller one).

    Args:
        curve (pandas.DataFrame): :func:`pruning_curve` output; several curves may be stacked
            with a ``ranking`` column naming each.
        tolerance (float, optional): allowed accuracy drop. Default: 0.01

    Returns:
        dict: ranking name (``"importance"`` without a ``ranking`` column) → fraction.

    Examples::

        >>> import pandas as pd
        >>> c = pd.DataFrame({"fraction": [0, .1, .2, .3], "accuracy": [.8, .8, .795, .7]})
        >>> prunable_fraction(c)
        {'importance': 0.2}
    """
    if "ranking" not in curve:
        curve = curve.assign(ranking="importance")
    out = {}
    for ranking, df in curve.groupby("ranking", sort=False):
        df = df.sort_values("fraction")
        base = float(df["accuracy"].iloc[0])
        ok = (df["accuracy"] >= base - tolerance - 1e-12).to_numpy()
        k = len(ok) if ok.all() else int(ok.argmin())
        out[str(ranking)] = float(df["fraction"].iloc[k - 1]) if k else 0.0
    return out


def plot_pruning_curves(curve: pd.DataFrame, path: str | os.PathLike | None = None) -> Any:
    """Accuracy against the % of heads masked, one line per ``ranking`` (if the column exists)."""
    from captum_ext.internals._plotting import pyplot, save_figure

    plt = pyplot()
    if "ranking" not in curve:
        curve = curve.assign(ranking="importance")
    fig, ax = plt.subplots(figsize=(6, 4))
    for ranking, df in curve.groupby("ranking", sort=False):
        ax.plot(100 * df["fraction"], df["accuracy"], "o-", label=f"{ranking} order")
    ax.set_xlabel("% of heads masked (least important first)")
    ax.set_ylabel("held-out accuracy")
    ax.axhline(0.5, color="grey", lw=0.8, ls=":")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title("pruning curve", fontsize=10)
    if path is not None:
        save_figure(fig, path)
    return fig


@dataclass
class HeadImportance:
    """Head importance by gradient (Michel et al. 2019) and, optionally, by masking.

    Attributes:
        gradient: ``(n_layers, n_heads)`` :math:`E|dL/d\\xi_h|`, not normalised.
        masking_loss: ``(n_layers, n_heads)`` loss increase when the head alone is masked.
        masking_accuracy: ``(n_layers, n_heads)`` accuracy drop when the head alone is masked.
        base: unmasked ``{"accuracy", "loss"}`` on the same texts.
        n_texts: how many texts the scores average over.
        seconds: wall time of each part.
    """

    gradient: np.ndarray
    masking_loss: np.ndarray | None = None
    masking_accuracy: np.ndarray | None = None
    base: dict[str, float] = field(default_factory=dict)
    n_texts: int = 0
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def gradient_normalized(self) -> np.ndarray:
        """Gradient importance divided by each layer's L2 norm (the paper's ranking score)."""
        return normalize_by_layer(self.gradient)

    def rank_correlation(self) -> dict[str, float]:
        """Spearman and Kendall rank correlations between gradient and masking importance."""
        if self.masking_loss is None:
            raise InputError("no masking importance: call head_importance(..., masking=True).")
        from scipy.stats import kendalltau, spearmanr

        g = self.gradient.reshape(-1)
        m = self.masking_loss.reshape(-1)
        return {
            "spearman": float(spearmanr(g, m).statistic),
            "kendall": float(kendalltau(g, m).statistic),
            "spearman_normalized": float(
                spearmanr(self.gradient_normalized.reshape(-1), m).statistic
            ),
        }

    def to_frame(self) -> pd.DataFrame:
        """One row per head: ``layer``, ``head``, ``gradient``, ``gradient_normalized`` and the
        masking scores with their ranks (1 = most important)."""
        n_layers, n_heads = self.gradient.shape
        layer, head = np.divmod(np.arange(self.gradient.size), n_heads)
        df = pd.DataFrame(
            {
                "layer": layer,
                "head": head,
                "gradient": self.gradient.reshape(-1),
                "gradient_normalized": self.gradient_normalized.reshape(-1),
            }
        )
        df["gradient_rank"] = df["gradient"].rank(ascending=False, method="min").astype(int)
        if self.masking_loss is not None:
            df["masking_loss_increase"] = self.masking_loss.reshape(-1)
            df["masking_rank"] = (
                df["masking_loss_increase"].rank(ascending=False, method="min").astype(int)
            )
        if self.masking_accuracy is not None:
            df["masking_accuracy_drop"] = self.masking_accuracy.reshape(-1)
        return df

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "n_texts": self.n_texts,
            "base": self.base,
            "seconds": self.seconds,
            "gradient": self.gradient.tolist(),
            "gradient_normalized": self.gradient_normalized.tolist(),
        }
        if self.masking_loss is not None:
            d["masking_loss_increase"] = self.masking_loss.tolist()
            d["rank_correlation"] = self.rank_correlation()
        if self.masking_accuracy is not None:
            d["masking_accuracy_drop"] = self.masking_accuracy.tolist()
        return d

    def plot(self, path: str | os.PathLike | None = None) -> Any:
        """Heatmaps (layer × head) of each importance; saved to ``path`` (PNG/SVG) if given."""
        from captum_ext.internals._plotting import pyplot, save_figure

        plt = pyplot()
        panels = [("gradient (layer-normalised)", self.gradient_normalized)]
        if self.masking_loss is not None:
            panels.append(("masking: loss increase", self.masking_loss))
        fig, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 3.5), squeeze=False)
        for ax, (title, values) in zip(axes[0], panels, strict=True):
            im = ax.imshow(values, aspect="auto", cmap="viridis")
            ax.set_title(title)
            ax.set_xlabel("head")
            ax.set_ylabel("layer")
            fig.colorbar(im, ax=ax)
        fig.tight_layout()
        if path is not None:
            save_figure(fig, path)
        return fig


def head_importance(
    adapter: Any,
    texts: Sequence[str],
    labels: Sequence[int] | np.ndarray,
    *,
    masking: bool = True,
    batch_size: int | None = None,
    show_progress: bool = False,
) -> HeadImportance:
    """Gradient importance of every head, and (``masking=True``) masking importance too.

    Args:
        adapter (TextClassifierAdapter): the model wrapper.
        texts (list of str): labelled texts.
        labels (array of int): their class indices.
        masking (bool, optional): also mask each head in turn (one evaluation per head).
            Default: True
        batch_size (int, optional): texts per pass. Default: the adapter's.
        show_progress (bool, optional): progress bars. Default: False

    Returns:
        HeadImportance

    Examples::

        >>> from captum_ext.adapters import TextClassifierAdapter
        >>> from captum_ext.internals.heads import head_importance
        >>> adapter = TextClassifierAdapter.from_pretrained()  # doctest: +SKIP
        >>> texts = ["so happy today", "what a lovely day", "i hate mondays", "so sad and tired"]
        >>> imp = head_importance(adapter, texts, [1, 1, 0, 0])  # doctest: +SKIP
        >>> imp.to_frame().sort_values("gradient_rank")[["layer", "head", "masking_rank"]].head(3)  # doctest: +SKIP
            layer  head  masking_rank
        66      5     6             1
        25      2     1             7
        69      5     9             4
    """
    import time

    t0 = time.perf_counter()
    grad = gradient_head_importance(
        adapter, texts, labels, batch_size=batch_size, show_progress=show_progress
    )
    seconds = {"gradient": time.perf_counter() - t0}
    result = HeadImportance(gradient=grad, n_texts=len(texts), seconds=seconds)
    if masking:
        t0 = time.perf_counter()
        loss_inc, acc_drop, base = masking_head_importance(
            adapter, texts, labels, batch_size=batch_size, show_progress=show_progress
        )
        seconds["masking"] = time.perf_counter() - t0
        result.masking_loss, result.masking_accuracy, result.base = loss_inc, acc_drop, base
    return result
