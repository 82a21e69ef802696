"""One wrapper around a Hugging Face sequence classifier for Captum, SHAP and official LIME.

This is the only code that calls the model. Batching, length-sorting, de-duplication,
``inference_mode``, truncation and the device live here.
"""

from __future__ import annotations

import contextlib
import logging
import os
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, Literal, cast

import numpy as np
import torch
from torch import Tensor, nn

from captum_ext.adapters.alignment import (
    TextEncoding,
    encode_text,
    split_pair,
    token_words,
    truncate_ids,
)
from captum_ext.adapters.precision import (
    autocast,
    check_precision,
    resolve_precision,
)
from captum_ext.errors import InputError
from captum_ext.validation import check_device, check_output, check_scalar, text_has_content

__all__ = ["TextClassifierAdapter", "validate_text"]

logger = logging.getLogger("captum_ext.adapters")

Output = Literal["probs", "logits", "log_odds"]


def validate_text(text: Any, name: str = "text") -> str:
    """Return ``text`` if it is a non-blank string, else raise a clear :class:`InputError`."""
    if not isinstance(text, str):
        raise InputError(f"{name} must be a string, got {type(text).__name__}.")
    if not text.strip():
        raise InputError(f"{name} is empty or whitespace only: give a text with at least one word.")
    if not text_has_content(text):
        raise InputError(
            f"{name} has control characters only ({text!r}): give a text with at least one word."
        )
    return text


def _as_text_list(texts: Any, name: str = "texts") -> list[str]:
    if isinstance(texts, str):
        return [texts]
    if isinstance(texts, np.ndarray):
        texts = texts.reshape(-1).tolist()
    texts = list(texts)
    for i, t in enumerate(texts):
        if not isinstance(t, str):
            raise InputError(f"{name}[{i}] must be a string, got {type(t).__name__}.")
    return texts


def _accepts(model: nn.Module, name: str) -> bool:
    import inspect

    try:
        return name in inspect.signature(model.forward).parameters
    except (TypeError, ValueError):
        return False


def _position_padding_idx(model: nn.Module) -> int | None:
    """The ``padding_idx`` of the model's position embeddings, if its positions are numbered
    from the non-pad tokens (RoBERTa family) and it accepts explicit ``position_ids``."""
    if not _accepts(model, "position_ids"):
        return None
    for name, module in model.named_modules():
        if name.split(".")[-1] == "position_embeddings" and isinstance(module, nn.Embedding):
            return None if module.padding_idx is None else int(module.padding_idx)
    return None


def _uses_token_types(model: nn.Module, tokenizer: Any) -> bool:
    """Whether the model has segment embeddings the tokenizer fills (BERT, ALBERT, ELECTRA)."""
    return (
        int(getattr(model.config, "type_vocab_size", 0) or 0) > 1
        and "token_type_ids" in getattr(tokenizer, "model_input_names", ())
        and getattr(tokenizer, "sep_token_id", None) is not None
        and _accepts(model, "token_type_ids")
    )


def _counting(
    fn: Callable[[Any], np.ndarray], show_progress: bool
) -> Callable[[Any], np.ndarray]:
    """``fn`` with one progress bar (tqdm) counting the inputs it evaluated over all calls."""
    if not show_progress:
        return fn
    bar: Any = None

    def counted(inputs: Any) -> np.ndarray:
        nonlocal bar
        out = fn(inputs)
        if bar is None:
            from tqdm.auto import tqdm

            bar = tqdm(desc="texts evaluated", unit="text", mininterval=0, miniters=1)
        bar.update(len(out))
        return out

    return counted


class TextClassifierAdapter:
    """A Hugging Face sequence classifier packaged for Captum, SHAP and official LIME.

    Args:
        model (transformers.PreTrainedModel): a sequence classifier (``AutoModelForSequenceClassification``).
        tokenizer: its fast tokenizer.
        max_length (int, optional): word-pieces per text, special tokens included; longer texts
            are truncated with a warning. Default: the smaller of 128 and the model's limit.
        batch_size (int, optional): texts per forward pass. Default: 64
        device (str or torch.device, optional): where the model runs; ``"auto"`` picks CUDA when
            a GPU is present, else the CPU. Default: ``"auto"``
        precision (str, optional): precision of forwards and gradients, ``"fp32"``, ``"bf16"``,
            ``"fp16"`` (``torch.autocast``; the weights stay fp32) or ``"auto"`` (bf16 on a CPU
            with native bf16, bf16/fp16 on CUDA, else fp32). Default: None, which is fp32 for
            direct calls and each method family's measured default inside a method
            (:attr:`precision` says what is in force; every result records it in its settings)

    Examples::

        >>> from captum_ext.adapters import TextClassifierAdapter
        >>> adapter = TextClassifierAdapter.from_pretrained()  # doctest: +SKIP
        >>> adapter.predict_proba(["what a lovely day", "i hate mondays"]).round(2)  # doctest: +SKIP
        array([[0.05, 0.95],
               [0.96, 0.04]])
    """

    def __init__(
        self,
        model: nn.Module,
        tokenizer: Any,
        *,
        max_length: int | None = None,
        batch_size: int = 64,
        device: str | torch.device = "auto",
        precision: str | None = None,
    ) -> None:
        if not getattr(tokenizer, "is_fast", False):
            raise InputError(
                "tokenizer must be a fast (Rust) Hugging Face tokenizer: word alignment needs "
                "character offsets. Load it with AutoTokenizer.from_pretrained(..., use_fast=True)."
            )
        check_scalar(batch_size, "batch_size", min_val=1)
        model_limit = int(getattr(model.config, "max_position_embeddings", 512) or 512)
        if getattr(model.config, "model_type", "") in (
            "roberta",
            "xlm-roberta",
            "camembert",
            "mpnet",
        ):
            model_limit -= 2  # position ids start after the padding index
        if max_length is None:
            max_length = min(128, model_limit)
        check_scalar(max_length, "max_length", min_val=3)
        if max_length > model_limit:
            raise InputError(
                f"max_length={max_length} exceeds the model's limit of {model_limit} word-pieces."
            )
        self.device = check_device(device)
        self.precision_request = None if precision is None else check_precision(precision)
        self._precision_scope: list[str] = []
        self.model = model.to(self.device).eval()
        self.tokenizer = tokenizer
        self.max_length = int(max_length)
        self.batch_size = int(batch_size)
        self.pad_token_id = int(tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0)
        id2label = getattr(model.config, "id2label", None) or {}
        n = int(getattr(model.config, "num_labels", len(id2label) or 2))
        self.labels: tuple[str, ...] = tuple(str(id2label.get(i, f"LABEL_{i}")) for i in range(n))
        self.n_forward_rows = 0  # rows the model has evaluated, for benchmarks
        self._position_padding_idx = _position_padding_idx(model)
        self._token_types = _uses_token_types(model, tokenizer)
        self._encoding_cache: dict[tuple[str, str | None], TextEncoding] = {}

    # -- construction -----------------------------------------------------------------------
    @classmethod
    def from_pretrained(
        cls,
        path: str | os.PathLike | None = None,
        *,
        max_length: int | None = None,
        batch_size: int = 64,
        device: str | torch.device = "auto",
        attn_implementation: str | None = None,
        precision: str | None = None,
    ) -> TextClassifierAdapter:
        """Load a local checkpoint directory (``None``: the fine-tuned default model).

        Loading is offline and safetensors-only: nothing is unpickled.
        """
        from captum_ext.adapters.loading import load_classifier

        check_device(device)  # before the model is read: a bad device fails fast and clearly
        model, tokenizer = load_classifier(
            path, attn_implementation=attn_implementation, device=device
        )
        return cls(
            model,
            tokenizer,
            max_length=max_length,
            batch_size=batch_size,
            device=device,
            precision=precision,
        )

    @classmethod
    def from_pipeline(
        cls,
        pipe: Any,
        *,
        max_length: int | None = None,
        batch_size: int = 64,
        device: str | torch.device | None = None,
    ) -> TextClassifierAdapter:
        """Wrap a transformers ``text-classification`` pipeline (its model and tokenizer).

        The pipeline's model and tokenizer are used as they are (nothing is reloaded or copied);
        the adapter runs on the pipeline's device unless ``device`` says otherwise. Class names
        come from the model's ``id2label``, as the pipeline's own ``label`` fields do.

        Examples::

            >>> from transformers import pipeline
            >>> from captum_ext.adapters import TextClassifierAdapter
            >>> from captum_ext.adapters.loading import default_model_dir
            >>> pipe = pipeline("text-classification", model=str(default_model_dir()))  # doctest: +SKIP
            >>> adapter = TextClassifierAdapter.from_pipeline(pipe)  # doctest: +SKIP
            >>> adapter.labels  # doctest: +SKIP
            ('negative', 'positive')
        """
        model = getattr(pipe, "model", None)
        tokenizer = getattr(pipe, "tokenizer", None)
        task = getattr(pipe, "task", "text-classification") or "text-classification"
        if model is None or tokenizer is None or not hasattr(model, "config"):
            raise InputError(
                f"pipe must be a transformers text-classification pipeline with a model and a "
                f"tokenizer, got {type(pipe).__name__}: build it with pipeline("
                "'text-classification', model=..., tokenizer=...)."
            )
        if task not in ("text-classification", "sentiment-analysis"):
            raise InputError(
                f"pipe is a {task!r} pipeline: give a 'text-classification' pipeline "
                "(a sequence classifier)."
            )
        if device is None:
            device = getattr(pipe, "device", None) or "cpu"
        return cls(model, tokenizer, max_length=max_length, batch_size=batch_size, device=device)

    # -- precision --------------------------------------------------------------------------
    @property
    def precision(self) -> str:
        """The concrete precision (``fp32``/``bf16``/``fp16``) of the model calls made now."""
        requested = (
            self._precision_scope[-1] if self._precision_scope else self.precision_request or "fp32"
        )
        return resolve_precision(requested, self.device)

    @contextlib.contextmanager
    def using_precision(self, precision: str | None) -> Iterator[str]:
        """Within the block, model calls run in ``precision`` (``None``: unchanged).

        Yields the concrete precision in force. Methods wrap their model calls in it.
        """
        if precision is None:
            yield self.precision
            return
        self._precision_scope.append(check_precision(precision))
        try:
            yield self.precision
        finally:
            self._precision_scope.pop()

    @contextlib.contextmanager
    def frozen_parameters(self) -> Iterator[None]:
        """Within the block the model's parameters do not require gradients (restored after).

        Attribution needs gradients with respect to inputs or activations, never weights; with
        the weights' ``requires_grad`` on, every backward pass also computes each layer's weight
        gradient (about a third of a forward-and-backward's work) and throws it away. Methods
        run their model calls in this block; nesting is harmless (an inner block finds nothing
        to freeze).
        """
        params = [p for p in self.model.parameters() if p.requires_grad]
        for p in params:
            p.requires_grad_(False)
        try:
            yield
        finally:
            for p in params:
                p.requires_grad_(True)

    def _autocast(self) -> contextlib.AbstractContextManager[None]:
        return autocast(self.precision, self.device)

    # -- labels and targets -----------------------------------------------------------------
    @property
    def num_labels(self) -> int:
        return len(self.labels)

    def resolve_target(self, target: int | str | None, probs: np.ndarray | None = None) -> int:
        """Turn a label name, index or ``None`` (the predicted class) into a class index."""
        if target is None:
            if probs is None:
                raise InputError("target is None and no prediction was given to choose it from.")
            return int(np.argmax(probs))
        if isinstance(target, (int, np.integer)) and not isinstance(target, bool):
            if 0 <= int(target) < self.num_labels:
                return int(target)
        elif isinstance(target, str):
            lowered = [lab.lower() for lab in self.labels]
            if target.lower() in lowered:
                return lowered.index(target.lower())
            if target.strip().isdigit() and int(target) < self.num_labels:
                return int(target)
        raise InputError(
            f"target {target!r} is not a label of this model: use one of "
            f"{', '.join(self.labels)} (or an index 0..{self.num_labels - 1})."
        )

    # -- tokenisation -----------------------------------------------------------------------
    def encode(self, text: str, text_pair: str | None = None) -> TextEncoding:
        """Tokenise one text (or a text pair) with word alignment (cached; warns if it was
        truncated).

        A pair is encoded the model's way (``[CLS] text [SEP] text_pair [SEP]`` for BERT, with
        token types); its words are those of both segments (see
        :class:`~captum_ext.adapters.alignment.TextEncoding`). A ``text`` that joins a pair with
        :func:`~captum_ext.adapters.alignment.join_pair` is that pair (how the comparison
        harness, which handles strings, passes pairs to every method).
        """
        if text_pair is None and isinstance(text, str):
            text, text_pair = split_pair(text)
        text = validate_text(text)
        if text_pair is not None:
            text_pair = validate_text(text_pair, "text_pair")
        key = (text, text_pair)
        enc = self._encoding_cache.get(key)
        if enc is None:
            enc = encode_text(self.tokenizer, text, self.max_length, text_pair=text_pair)
            if len(self._encoding_cache) > 4096:
                self._encoding_cache.clear()
            self._encoding_cache[key] = enc
        if enc.truncated:
            warnings.warn(
                f"text has {enc.n_pieces} word-pieces, more than max_length={self.max_length} "
                f"allows: only its first {enc.n_words_kept} of {len(enc.words)} words are seen "
                "by the model (their scores are 0).",
                stacklevel=2,
            )
        return enc

    def _ids_for(self, texts: Sequence[str]) -> tuple[list[list[int]], int]:
        """Token ids of many texts, truncated exactly as :meth:`encode` truncates (at a word
        boundary), and how many were truncated. Batch-tokenised in Rust: no alignment work.

        A text that contains :data:`~captum_ext.adapters.alignment.PAIR_SEPARATOR` is the
        text pair on either side of it (the string form of a pair for string-based tools such as
        official LIME).
        """
        parts = [split_pair(t) for t in texts]
        rows: list[list[int]] = [[] for _ in texts]
        n_trunc = 0
        for is_pair in (False, True):
            idx = [i for i, (_, b) in enumerate(parts) if (b is not None) == is_pair]
            if not idx:
                continue
            firsts = [parts[i][0] for i in idx]
            seconds = [parts[i][1] for i in idx] if is_pair else None
            encs = self.tokenizer(
                firsts, seconds, return_special_tokens_mask=True, truncation=False, verbose=False
            )
            for j, i in enumerate(idx):
                rows[i], cut = truncate_ids(
                    encs["input_ids"][j],
                    encs["special_tokens_mask"][j],
                    encs.word_ids(j),
                    self.max_length,
                    encs.sequence_ids(j),
                )
                n_trunc += cut
        return rows, n_trunc

    # -- the model calls --------------------------------------------------------------------
    def _pad(self, rows: Sequence[Sequence[int]]) -> tuple[Tensor, Tensor]:
        width = max(len(r) for r in rows)
        # built on the host (cheap element writes), then moved to the model's device in one copy
        ids = torch.full((len(rows), width), self.pad_token_id, dtype=torch.long, device="cpu")
        mask = torch.zeros((len(rows), width), dtype=torch.long, device="cpu")
        for i, r in enumerate(rows):
            ids[i, : len(r)] = torch.as_tensor(r, dtype=torch.long, device="cpu")
            mask[i, : len(r)] = 1
        return ids.to(self.device), mask.to(self.device)

    def iter_batches(
        self, rows: Sequence[Sequence[int]], batch_size: int | None = None
    ) -> Iterator[tuple[np.ndarray, Tensor, Tensor]]:
        """Yield ``(row_indices, input_ids, attention_mask)`` batches of similar lengths.

        Rows are sorted by length (longest first, so memory peaks at once) to cut padding.
        """
        bs = batch_size or self.batch_size
        order = np.argsort([-len(r) for r in rows], kind="stable")
        for start in range(0, len(order), bs):
            idx = order[start : start + bs]
            ids, mask = self._pad([rows[i] for i in idx])
            yield idx, ids, mask

    def map_batches(
        self,
        rows: Sequence[Sequence[int]],
        fn: Callable[[nn.Module, Tensor, Tensor], Tensor | np.ndarray],
        *,
        batch_size: int | None = None,
        show_progress: bool = False,
        desc: str = "model",
    ) -> np.ndarray:
        """Apply ``fn(model, input_ids, attention_mask) -> per-row array`` over length-sorted batches.

        Runs under ``torch.inference_mode()``; returns the rows' outputs in the input order as one
        array. The extension point for code that needs more than class probabilities (hidden
        states, attentions, the classifier head's input).
        """
        if len(rows) == 0:
            raise InputError("no inputs to evaluate: give at least one text.")
        out: np.ndarray | None = None
        batches = self.iter_batches(rows, batch_size)
        if show_progress:
            from tqdm.auto import tqdm

            bs = batch_size or self.batch_size
            batches = tqdm(batches, total=(len(rows) + bs - 1) // bs, desc=desc, unit="batch")
        with torch.inference_mode():
            for idx, ids, mask in batches:
                with self._autocast():
                    res = fn(self.model, ids, mask)
                arr = (
                    res.detach().float().cpu().numpy()
                    if isinstance(res, Tensor)
                    else np.asarray(res)
                )
                if out is None:
                    out = np.empty((len(rows), *arr.shape[1:]), dtype=arr.dtype)
                out[idx] = arr
                self.n_forward_rows += len(idx)
        assert out is not None
        return out

    def model_inputs(self, ids: Tensor, mask: Tensor) -> dict[str, Tensor]:
        """The keyword arguments of a model call on ``ids`` (right-padded, ``mask`` 1 on tokens).

        Besides ``input_ids`` and ``attention_mask``:

        - ``position_ids`` for models that number positions from the non-pad tokens
          (RoBERTa, XLM-R, CamemBERT, MPNet ...: position embeddings with a ``padding_idx``):
          positions come from ``mask``, so a word replaced by [PAD] in place (occlusion,
          Integrated Gradients' baseline, Captum's Lime/KernelShap, TextLime's pad perturbation)
          leaves every other token at its position, as the model would number the text unpadded;
        - ``token_type_ids`` for models with segment embeddings: 1 after the first [SEP] (the
          second segment of a text pair), 0 before; all 0 for a single text.
        """
        kw: dict[str, Tensor] = {"input_ids": ids, "attention_mask": mask}
        if self._position_padding_idx is not None:
            kw["position_ids"] = torch.cumsum(mask, dim=1) * mask + self._position_padding_idx
        if self._token_types:
            sep = (ids == self.tokenizer.sep_token_id).long()
            kw["token_type_ids"] = ((torch.cumsum(sep, dim=1) - sep) > 0).long() * mask
        return kw

    def _logits_fn(self, model: nn.Module, ids: Tensor, mask: Tensor) -> Tensor:
        return model(**self.model_inputs(ids, mask)).logits

    def predict_ids(
        self,
        rows: Sequence[Sequence[int]],
        *,
        output: Output = "probs",
        show_progress: bool = False,
    ) -> np.ndarray:
        """Class scores for token-id rows; identical rows are evaluated once.

        Args:
            rows: token-id lists (special tokens included), each at most ``max_length`` long.
            output: ``"probs"`` (softmax), ``"logits"`` or ``"log_odds"`` (log p - log(1 - p)).

        Returns:
            ``np.ndarray`` of shape ``(len(rows), num_labels)``, float64.
        """
        keys = [tuple(int(t) for t in r) for r in rows]
        unique: dict[tuple[int, ...], int] = {}
        inverse = np.fromiter(
            (unique.setdefault(k, len(unique)) for k in keys), np.int64, len(keys)
        )
        uniq_rows = list(unique.keys())
        for r in uniq_rows:
            if len(r) > self.max_length:
                raise InputError(
                    f"a row has {len(r)} tokens, more than max_length={self.max_length}: truncate it first."
                )
        logits = self.map_batches(uniq_rows, self._logits_fn, show_progress=show_progress)
        return self._transform(logits.astype(np.float64), output)[inverse]

    @staticmethod
    def _transform(logits: np.ndarray, output: Output) -> np.ndarray:
        if check_output(output) == "logits":
            return logits
        shifted = logits - logits.max(axis=1, keepdims=True)
        log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        if output == "probs":
            return np.exp(log_probs)
        # log_odds: log p - log(1 - p), computed stably from log-probabilities
        return log_probs - np.log(-np.expm1(np.minimum(log_probs, -1e-12)))

    def predict_proba(
        self,
        texts: Iterable[str] | str,
        *,
        output: Output = "probs",
        show_progress: bool = False,
    ) -> np.ndarray:
        """Class probabilities of texts: batched, length-sorted, de-duplicated, truncated.

        This is the ``classifier_fn`` of official LIME (``LimeTextExplainer.explain_instance`` and
        ``SubmodularPick``) and the model callable of SHAP. Memory is bounded by ``batch_size``,
        not by the number of texts.

        Args:
            texts: a list (or numpy array) of strings, or one string.
            output: ``"probs"`` (default), ``"logits"`` or ``"log_odds"``.

        Returns:
            ``np.ndarray`` of shape ``(n_texts, num_labels)``.
        """
        texts = _as_text_list(texts)
        if not texts:
            return np.zeros((0, self.num_labels))
        unique: dict[str, int] = {}
        inverse = np.fromiter(
            (unique.setdefault(t, len(unique)) for t in texts), np.int64, len(texts)
        )
        uniq = list(unique.keys())
        rows: list[list[int]] = []
        n_trunc = 0
        for start in range(0, len(uniq), 1024):  # tokenise in chunks: bounded memory
            chunk, n = self._ids_for(uniq[start : start + 1024])
            rows.extend(chunk)
            n_trunc += n
        if n_trunc:
            warnings.warn(
                f"{n_trunc} text(s) had more than max_length={self.max_length} word-pieces and were "
                "truncated.",
                stacklevel=2,
            )
        return self.predict_ids(rows, output=output, show_progress=show_progress)[inverse]

    __call__ = predict_proba

    # -- inside the model -------------------------------------------------------------------
    @contextlib.contextmanager
    def eager_attention(self) -> Iterator[None]:
        """Switch the model to eager attention for the block (SDPA returns no attention weights)."""
        config = self.model.config
        previous = getattr(config, "_attn_implementation", None)
        if previous in (None, "eager") or not hasattr(self.model, "set_attn_implementation"):
            yield
            return
        model: Any = self.model  # a transformers PreTrainedModel
        model.set_attn_implementation("eager")
        try:
            yield
        finally:
            model.set_attn_implementation(previous)

    def attentions(self, text: str) -> np.ndarray:
        """Attention weights of one text: ``(n_layers, n_heads, seq_len, seq_len)``, rows sum to 1.

        Token positions are those of ``encode(text).input_ids``.
        """
        enc = self.encode(text)

        def fn(model: nn.Module, ids: Tensor, mask: Tensor) -> Tensor:
            out = model(**self.model_inputs(ids, mask), output_attentions=True)
            return torch.stack(out.attentions, dim=1)  # (batch, layers, heads, L, L)

        with self.eager_attention():
            return self.map_batches([enc.input_ids], fn)[0].astype(np.float64)

    def hidden_states(self, text: str) -> np.ndarray:
        """Hidden states of one text: ``(n_layers + 1, seq_len, hidden)`` (embeddings first)."""
        enc = self.encode(text)

        def fn(model: nn.Module, ids: Tensor, mask: Tensor) -> Tensor:
            out = model(**self.model_inputs(ids, mask), output_hidden_states=True)
            return torch.stack(out.hidden_states, dim=1)

        return self.map_batches([enc.input_ids], fn)[0].astype(np.float64)

    # -- Captum -----------------------------------------------------------------------------
    @property
    def embedding_layer(self) -> nn.Module:
        """The input (word) embedding layer: the ``layer`` of ``LayerIntegratedGradients``."""
        model: Any = self.model  # a transformers PreTrainedModel
        return cast(nn.Module, model.get_input_embeddings())

    def forward_func(self, output: Output = "probs") -> Callable[..., Tensor]:
        """A Captum forward function ``f(input_ids, attention_mask=None) -> (batch, num_labels)``.

        Gradients flow (no ``inference_mode``), so it serves gradient methods; perturbation
        methods may call it too. ``output`` chooses probabilities (default), logits or log-odds.

        Examples::

            >>> from captum.attr import LayerIntegratedGradients
            >>> from captum_ext.adapters import TextClassifierAdapter
            >>> adapter = TextClassifierAdapter.from_pretrained()  # doctest: +SKIP
            >>> lig = LayerIntegratedGradients(adapter.forward_func(), adapter.embedding_layer)  # doctest: +SKIP
            >>> ids, mask = adapter.captum_inputs("not bad at all")  # doctest: +SKIP
            >>> attr = lig.attribute(ids, adapter.baselines(ids), additional_forward_args=(mask,), target=1)  # doctest: +SKIP
            >>> attr.shape  # (batch, tokens, embedding width)  # doctest: +SKIP
            torch.Size([1, 6, 384])
        """
        check_output(output)
        model = self.model

        def forward(input_ids: Tensor, attention_mask: Tensor | None = None) -> Tensor:
            if attention_mask is None:
                attention_mask = torch.ones_like(input_ids)
            if attention_mask.shape[0] != input_ids.shape[0]:
                attention_mask = attention_mask.expand(input_ids.shape[0], -1)
            with self._autocast():
                logits = model(**self.model_inputs(input_ids, attention_mask)).logits.float()
            self.n_forward_rows += int(input_ids.shape[0])
            if output == "logits":
                return logits
            log_probs = torch.log_softmax(logits, dim=-1)
            if output == "probs":
                return log_probs.exp()
            return log_probs - torch.log(-torch.expm1(torch.clamp(log_probs, max=-1e-12)))

        # lets TextLime(adapter.forward_func()) batch through the adapter, as TextLime(adapter)
        forward.__dict__.update(adapter=self, output=output)
        return forward

    def captum_inputs(self, text: str) -> tuple[Tensor, Tensor]:
        """``(input_ids, attention_mask)`` of one text, each of shape ``(1, seq_len)``."""
        enc = self.encode(text)
        ids = torch.tensor([enc.input_ids], dtype=torch.long, device=self.device)
        return ids, torch.ones_like(ids)

    def baselines(self, input_ids: Tensor) -> Tensor:
        """Reference ids: special tokens ([CLS], [SEP]) kept, every other position [PAD]."""
        special = torch.zeros_like(input_ids, dtype=torch.bool)
        for tok in set(self.tokenizer.all_special_ids) - {self.pad_token_id}:
            special |= input_ids == tok
        return torch.where(special, input_ids, torch.full_like(input_ids, self.pad_token_id))

    def word_feature_mask(self, input_ids: Tensor | TextEncoding) -> Tensor:
        """Captum ``feature_mask`` of token ids: one group per word, special tokens in group 0.

        Word ``i`` (from the word-piece markers: a ``##`` piece joins the previous one; for a
        :class:`TextEncoding`, its own word alignment) is group ``i + 1``; [CLS], [SEP] and [PAD]
        are group 0, their own group. Give it with
        :meth:`baselines` (which keeps the special tokens), so that switching group 0 off changes
        nothing; :class:`~captum_ext.attr.TextLime` never perturbs nor scores special tokens.

        Examples::

            >>> from captum_ext.adapters import TextClassifierAdapter
            >>> adapter = TextClassifierAdapter.from_pretrained()  # doctest: +SKIP
            >>> ids, mask = adapter.captum_inputs("tweets rock")  # doctest: +SKIP
            >>> adapter.word_feature_mask(ids)  # [CLS] t ##wee ##ts rock [SEP]  # doctest: +SKIP
            tensor([[0, 1, 1, 1, 2, 0]])
        """
        if isinstance(input_ids, TextEncoding):
            words = input_ids.token_to_word
            return torch.tensor([[0 if w is None else w + 1 for w in words]], device=self.device)
        ids = torch.as_tensor(input_ids)
        if ids.dim() not in (1, 2):
            raise InputError(
                f"input_ids must be (seq_len,) or (batch, seq_len) token ids, got {tuple(ids.shape)}."
            )
        rows = ids.reshape(-1, ids.shape[-1]).tolist()
        mask = [[0 if w is None else w + 1 for w in token_words(self.tokenizer, r)] for r in rows]
        return torch.tensor(mask, dtype=torch.long, device=ids.device).reshape(ids.shape)

    # -- SHAP -------------------------------------------------------------------------------
    def shap_masker(self, **kwargs: Any):
        """A ``shap.maskers.Text`` on this adapter's encoding (masks token ids in place with
        ``[MASK]``, special tokens never masked; see :mod:`captum_ext.adapters.shap_text`)."""
        from captum_ext.adapters.shap_text import EncodingTextMasker

        return EncodingTextMasker(self, **kwargs)

    def shap_explainer(
        self,
        *,
        algorithm: str = "partition",
        output: Output = "probs",
        show_progress: bool = False,
        **kwargs: Any,
    ):
        """A ``shap.Explainer`` over this model with class names as ``output_names``.

        Call it with texts and a batch size larger than SHAP's default of 5, e.g.
        ``explainer(texts, batch_size=64)``: same values here, much faster. Its masker
        (``explainer.masker``) masks the adapter's token ids in place, so every kept token keeps
        its position; a text pair is explained through ``explainer.masker.register(encoding)``.
        ``show_progress`` counts the rows the model evaluates, over all calls.
        """
        import shap

        from captum_ext.viz.shap_interop import fix_shap_text_colours

        def rows_fn(rows: Any) -> np.ndarray:
            return self.predict_ids([[int(t) for t in r] for r in rows], output=output)

        f = _counting(rows_fn, show_progress)

        fix_shap_text_colours()  # shap.plots.text colours on NumPy 2 (shap <= 0.51.0)
        return shap.Explainer(
            f,
            self.shap_masker(),
            output_names=list(self.labels),
            algorithm=algorithm,
            **kwargs,
        )

    def predictor(
        self, *, output: Output = "probs", show_progress: bool = False
    ) -> Callable[[Any], np.ndarray]:
        """:meth:`predict_proba` as a plain function of texts: official LIME's ``classifier_fn``,
        ``SubmodularPick``'s, SHAP's model.

        With ``show_progress=True`` one progress bar (tqdm) counts the texts evaluated over all
        calls: official LIME and ``SubmodularPick`` call it once per explained text.

        Examples::

            >>> from captum_ext.adapters import TextClassifierAdapter
            >>> from lime.lime_text import LimeTextExplainer
            >>> adapter = TextClassifierAdapter.from_pretrained()  # doctest: +SKIP
            >>> exp = LimeTextExplainer().explain_instance(
            ...     "what a lovely day", adapter.predictor(show_progress=True))  # doctest: +SKIP
        """
        check_output(output)

        def predict(texts: Any) -> np.ndarray:
            return self.predict_proba(_as_text_list(texts), output=output)

        return _counting(predict, show_progress)

    # -- official LIME ----------------------------------------------------------------------
    @property
    def classifier_fn(self) -> Callable[[list[str]], np.ndarray]:
        """``classifier_fn`` for official ``LimeTextExplainer`` and ``SubmodularPick``
        (:meth:`predict_proba`; ``predictor(show_progress=True)`` shows progress)."""
        return self.predict_proba

    def __repr__(self) -> str:
        name = getattr(self.model.config, "_name_or_path", "") or type(self.model).__name__
        return (
            f"TextClassifierAdapter(model={name!r}, labels={self.labels}, "
            f"max_length={self.max_length}, batch_size={self.batch_size}, device={str(self.device)!r}, "
            f"precision={self.precision!r})"
        )
