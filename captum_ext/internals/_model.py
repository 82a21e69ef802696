"""Private helpers shared by the model-internals modules: where the heads live, token rows,
hidden states in batches, fingerprints.

Every forward pass still goes through the adapter (``map_batches``, ``iter_batches`` and
``forward_func``); these helpers only locate modules and prepare inputs.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from captum_ext.errors import InputError

__all__: list[str] = []  # private module

# Per-layer output projection of the multi-head attention (its input is the concatenated
# per-head context vectors), by encoder family.
_LAYER_PATHS: tuple[tuple[str, str], ...] = (
    ("encoder.layer", "attention.output.dense"),  # BERT, RoBERTa, ELECTRA, MiniLM, XLM-R
    ("transformer.layer", "attention.out_lin"),  # DistilBERT
)


def _get(module: nn.Module, dotted: str) -> Any:
    for part in dotted.split("."):
        module = getattr(module, part)
    return module


def layer_list(model: nn.Module) -> nn.ModuleList:
    """The ``nn.ModuleList`` of a BERT-like encoder's layers."""
    base = getattr(model, "base_model", model)
    for layers_path, proj_path in _LAYER_PATHS:
        try:
            layers = _get(base, layers_path)
            projections = [_get(layer, proj_path) for layer in layers]
        except (AttributeError, TypeError):
            continue
        if (
            isinstance(layers, nn.ModuleList)
            and len(layers)
            and all(isinstance(p, nn.Linear) for p in projections)
        ):
            return layers
    raise InputError(
        f"model {type(model).__name__} is not a BERT-like encoder: head masking needs "
        "encoder.layer[i].attention.output.dense (BERT, RoBERTa, ELECTRA) or "
        "transformer.layer[i].attention.out_lin (DistilBERT)."
    )


def encoder_layers(model: nn.Module) -> tuple[list[nn.Module], list[nn.Module]]:
    """``(layers, attention_output_projections)`` of a BERT-like encoder, one per layer."""
    layers = list(layer_list(model))
    for _, proj_path in _LAYER_PATHS:
        try:
            return layers, [_get(layer, proj_path) for layer in layers]
        except AttributeError:
            continue
    raise AssertionError("unreachable: layer_list found the projections")  # pragma: no cover


class _Identity(nn.Module):
    """Stands in for an encoder layer that is skipped: passes the hidden states through."""

    def __init__(self, like_tuple: int) -> None:
        super().__init__()
        self.like_tuple = int(like_tuple)  # the real layer's tuple length, 0: a bare tensor

    def forward(self, hidden_states: Tensor, *args: Any, **kwargs: Any) -> Any:
        if isinstance(hidden_states, tuple):  # a previous stub returned a tuple
            hidden_states = hidden_states[0]
        if not self.like_tuple:
            return hidden_states
        # the same arity as the real layer (DeBERTa-v2 unpacks (hidden_states, attentions))
        return (hidden_states, *([None] * (self.like_tuple - 1)))


class _Replay(nn.Module):
    """Stands in for encoder layer ``l - 1``: returns its recorded output, batch after batch."""

    def __init__(self, outputs: list[Any]) -> None:
        super().__init__()
        self.outputs = outputs
        self.i = 0

    def forward(self, hidden_states: Tensor, *args: Any, **kwargs: Any) -> Any:
        out = self.outputs[self.i]
        first = out[0] if isinstance(out, tuple) else out
        if first.shape[:2] != hidden_states.shape[:2]:
            raise RuntimeError("replayed layer output does not match the batch (order changed?)")
        self.i += 1
        return out


@contextlib.contextmanager
def swapped_layers(model: nn.Module, replacements: Mapping[int, nn.Module]) -> Iterator[None]:
    """Temporarily replace encoder layers by index."""
    layers = layer_list(model)
    saved = {i: layers[i] for i in replacements}
    try:
        for i, m in replacements.items():
            layers[i] = m
        yield
    finally:
        for i, m in saved.items():
            layers[i] = m


class LayerPrefixCache:
    """Run the layers below ``layer`` once, then replay their output: passes that only change
    layers ``>= layer`` (masking one of its heads) skip the unchanged bottom of the encoder.

    Usage: ``cache.record(run)`` calls ``run()`` (one pass over the batches with the layers
    ``>= layer`` skipped) and records layer ``layer - 1``'s output per batch; then inside
    ``with cache.replay():`` every pass over the same batches, in the same order, starts at
    ``layer``. For ``layer == 0`` both are no-ops.
    """

    def __init__(self, model: nn.Module, layer: int) -> None:
        self.model = model
        self.layer = layer
        self.outputs: list[Any] = []
        self.like_tuple = 0  # the layers' output tuple length (0: a bare tensor)

    def record(self, run: Any) -> None:
        if self.layer == 0:
            return
        layers = layer_list(self.model)
        probe = layers[self.layer - 1]

        skip = {i: _Identity(0) for i in range(self.layer, len(layers))}

        def hook(module: nn.Module, args: Any, output: Any) -> None:
            self.like_tuple = len(output) if isinstance(output, tuple) else 0
            for stub in skip.values():  # the skipped layers answer in the same format
                stub.like_tuple = self.like_tuple
            self.outputs.append(output)

        handle = probe.register_forward_hook(hook)
        try:
            with swapped_layers(self.model, skip):
                run()
        finally:
            handle.remove()

    @contextlib.contextmanager
    def replay(self) -> Iterator[None]:
        if self.layer == 0:
            yield
            return
        replay = _Replay(self.outputs)
        stubs: dict[int, nn.Module] = {i: _Identity(self.like_tuple) for i in range(self.layer - 1)}
        stubs[self.layer - 1] = replay
        with swapped_layers(self.model, stubs):
            yield
        if replay.i != len(self.outputs):
            raise RuntimeError("a replayed pass did not consume every recorded batch")


def n_layers_heads(model: nn.Module) -> tuple[int, int]:
    """Number of encoder layers and of attention heads per layer."""
    config = model.config
    n_heads = getattr(config, "num_attention_heads", None) or getattr(config, "n_heads", None)
    layers, _ = encoder_layers(model)
    if not n_heads:
        raise InputError(f"model config has no num_attention_heads: {type(config).__name__}.")
    return len(layers), int(n_heads)


def token_rows(adapter: Any, texts: Sequence[str]) -> list[list[int]]:
    """Token ids (special tokens included, truncated as the adapter truncates) of each text."""
    if isinstance(texts, str):
        raise InputError("texts must be a list of strings, got a single str; wrap it: [text].")
    if len(texts) == 0:
        raise InputError("texts is empty: give at least one text.")
    return [list(adapter.encode(t).input_ids) for t in texts]


def check_labels(labels: Any, n: int, n_classes: int, name: str = "labels") -> np.ndarray:
    """``labels`` as an int64 array of length ``n`` with values in ``[0, n_classes)``."""
    y = np.asarray(labels)
    if y.ndim != 1 or y.shape[0] != n:
        raise InputError(f"{name} must be one integer per text: got shape {y.shape} for {n} texts.")
    if y.size and y.dtype.kind not in "iub":
        raise InputError(f"{name} must be class indices (integers), got dtype {y.dtype}.")
    y = y.astype(np.int64)
    if y.size and (y.min() < 0 or y.max() >= n_classes):
        raise InputError(
            f"{name} must be in [0, {n_classes - 1}] (the model's classes), got values from "
            f"{y.min()} to {y.max()}."
        )
    return y


def pooled_hidden_states(
    adapter: Any,
    rows: Sequence[Sequence[int]],
    *,
    pooling: str = "mean",
    batch_size: int | None = None,
    show_progress: bool = False,
    desc: str = "hidden states",
) -> np.ndarray:
    """Sentence vectors of every layer: ``(n_texts, n_layers + 1, hidden)`` float32.

    ``pooling="mean"`` averages the non-special tokens (all tokens if a text has none),
    ``"cls"`` takes the first token.
    """
    if pooling not in ("mean", "cls"):
        raise InputError(f"pooling must be 'mean' or 'cls', got {pooling!r}.")
    special_ids = torch.tensor(
        sorted(set(adapter.tokenizer.all_special_ids)), dtype=torch.long, device=adapter.device
    )

    def fn(model: nn.Module, ids: Tensor, mask: Tensor) -> Tensor:
        out = model(input_ids=ids, attention_mask=mask, output_hidden_states=True)
        hs = torch.stack(out.hidden_states, dim=1)  # (B, layers+1, L, H)
        if pooling == "cls":
            return hs[:, :, 0, :].float()
        keep = mask.bool() & ~torch.isin(ids, special_ids.to(ids.device))
        keep = torch.where(keep.any(dim=1, keepdim=True), keep, mask.bool())
        w = keep.to(hs.dtype)[:, None, :, None]
        return ((hs * w).sum(dim=2) / w.sum(dim=2)).float()

    return adapter.map_batches(
        rows, fn, batch_size=batch_size, show_progress=show_progress, desc=desc
    ).astype(np.float32)


def model_fingerprint(adapter: Any) -> str:
    """16 hex characters of a SHA-256 over the model's config, weights and tokenizer vocabulary.

    Two adapters with the same fingerprint compute the same features (cache key).
    """
    h = hashlib.sha256()
    model = adapter.model
    config = {
        k: v
        for k, v in model.config.to_dict().items()
        if not k.startswith("_") and k != "transformers_version"
    }
    h.update(json.dumps(config, sort_keys=True, default=str).encode())
    for name, tensor in sorted(model.state_dict().items()):
        h.update(name.encode())
        h.update(tensor.detach().cpu().contiguous().view(torch.uint8).numpy().tobytes())
    h.update(str(len(adapter.tokenizer)).encode())
    h.update(str(adapter.max_length).encode())
    return h.hexdigest()[:16]


def texts_fingerprint(texts: Sequence[str]) -> str:
    """16 hex characters of a SHA-256 over the texts in order."""
    h = hashlib.sha256()
    for t in texts:
        h.update(t.encode("utf-8", "surrogatepass"))
        h.update(b"\x00")
    return h.hexdigest()[:16]
