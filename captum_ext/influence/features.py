r"""The classifier head's input for many texts, computed once and cached on disk.

Sample-level methods (representer points, feature-similarity kNN, the mislabeled-tweet audit) all
work on one representation of each tweet: the vector the classification head reads. For BERT that
is the input of ``model.classifier`` (the pooled ``[CLS]`` state after dropout, which is the
identity at evaluation); for other models it is the input of the last ``nn.Linear`` whose
``out_features`` equals the number of labels (RoBERTa's ``classifier.out_proj``).

Features are computed through :meth:`captum_ext.adapters.TextClassifierAdapter.map_batches` (the adapter
stays the only code that calls the model), with the attention mask, in length-sorted batches.
For a dataset they are written to disk chunk by chunk as they are computed, so an interrupted run
resumes where it stopped and memory is bounded by the chunk, not the dataset. The cache key is a
fingerprint of the model (its weights, its head, ``max_length`` and tokenizer) and a fingerprint
of the texts; a cache made by another model or for other texts is refused with a clear error.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import Tensor, nn

from captum_ext.adapters.head import find_head
from captum_ext.errors import DataError, InputError
from captum_ext.validation import check_scalar

if TYPE_CHECKING:
    from captum_ext.adapters import TextClassifierAdapter
    from captum_ext.data import TextDataset
    from captum_ext.engines import RayEngine

__all__ = [
    "CachedFeatures",
    "HeadFeatureExtractor",
    "default_feature_cache_dir",
    "find_head",
    "texts_fingerprint",
]

logger = logging.getLogger("captum_ext.influence")

_META = "meta.json"
_FEATURES = "features.npy"
_LOGITS = "logits.npy"
_FORMAT = 1


def default_feature_cache_dir() -> Path:
    """The user cache folder for feature caches (``platformdirs``), e.g.
    ``~/.cache/captum-ext/features`` on Linux."""
    import platformdirs

    return Path(platformdirs.user_cache_dir("captum-ext")) / "features"


def texts_fingerprint(texts: Sequence[str]) -> str:
    """16 hex characters of SHA-256 over the texts in order (labels are not part of it: the
    features depend on the texts only)."""
    digest = hashlib.sha256()
    for text in texts:
        raw = text.encode("utf-8")
        digest.update(len(raw).to_bytes(8, "little"))
        digest.update(raw)
    return digest.hexdigest()[:16]


@dataclass(frozen=True, eq=False)
class CachedFeatures:
    """Head-input features of a list of texts, with the fingerprints that identify them.

    Attributes:
        features (np.ndarray): ``(n_texts, dim)`` float32 (a read-only memory map when loaded
            from the disk cache).
        logits (np.ndarray): ``(n_texts, num_labels)``, the model's logits for the same texts
            (computed in the same forward pass).
        model_fingerprint (str): Fingerprint of the model that computed them.
        data_fingerprint (str): :func:`texts_fingerprint` of the texts.
        layer (str): Name of the head module whose input they are.
        path (Path or None): The cache folder, None when computed without cache.
    """

    features: np.ndarray = field(repr=False)
    logits: np.ndarray = field(repr=False)
    model_fingerprint: str
    data_fingerprint: str
    layer: str
    path: Path | None = None

    def __len__(self) -> int:
        return int(self.features.shape[0])

    @property
    def dim(self) -> int:
        return int(self.features.shape[1])

    @property
    def probs(self) -> np.ndarray:
        """The model's softmax outputs ``(n_texts, num_labels)``."""
        return softmax(self.logits)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> CachedFeatures:
        """Open a finished cache folder (written by :meth:`HeadFeatureExtractor.for_texts`).

        Raises:
            DataError: The folder is missing, unfinished or not a feature cache.
        """
        folder = Path(path).expanduser()
        meta = _read_meta(folder)
        if meta is None or not all((folder / f).is_file() for f in (_FEATURES, _LOGITS)):
            raise DataError(
                "not a finished feature cache (no meta.json and features.npy): compute it with "
                "HeadFeatureExtractor.for_texts(...) or pass another folder.",
                path=str(folder),
            )
        feats = np.load(folder / _FEATURES, mmap_mode="r")
        if feats.shape != (meta["n"], meta["dim"]):
            raise DataError(
                f"features.npy has shape {feats.shape} but meta.json says ({meta['n']}, "
                f"{meta['dim']}): the cache is corrupt; delete the folder to recompute it.",
                path=str(folder),
            )
        logits = np.load(folder / _LOGITS).astype(np.float64)
        return cls(
            features=feats,
            logits=logits,
            model_fingerprint=meta["model_fingerprint"],
            data_fingerprint=meta["data_fingerprint"],
            layer=meta["layer"],
            path=folder,
        )

    def check(self, *, model_fingerprint: str, data_fingerprint: str | None = None) -> None:
        """Raise :class:`DataError` unless these features come from that model (and texts)."""
        where = f" at {self.path}" if self.path else ""
        if self.model_fingerprint != model_fingerprint:
            raise DataError(
                f"the feature cache{where} was computed by another model (fingerprint "
                f"{self.model_fingerprint}, this model is {model_fingerprint}): recompute the "
                "features with this model (delete the cache or pass another cache_dir)."
            )
        if data_fingerprint is not None and self.data_fingerprint != data_fingerprint:
            raise DataError(
                f"the feature cache{where} was computed for other texts (fingerprint "
                f"{self.data_fingerprint}, these texts are {data_fingerprint}): recompute the "
                "features for these texts (delete the cache or pass another cache_dir)."
            )


class HeadFeatureExtractor:
    r"""The input of a text classifier's head, batched and cached.

    Args:
        adapter (TextClassifierAdapter): The model; its ``map_batches`` runs every forward pass.
        layer (str, optional): Qualified name of the module whose *input* is the feature.
            Default: None, the last ``nn.Linear`` with ``out_features == num_labels``
            (``classifier`` for BERT), see :func:`find_head`.
        cache_dir (str or Path, optional): Folder holding one sub-folder per (model, texts) pair.
            Default: None, :func:`default_feature_cache_dir`.
        batch_size (int, optional): Texts per forward pass. Default: None, the adapter's.
        chunk_size (int, optional): Rows written to disk at once (the unit of resuming).
            Default: 2048
        show_progress (bool, optional): Show a tqdm bar over texts. Default: False
        engine (RayEngine, optional): compute the missing chunks of :meth:`for_texts` on Ray
            actors (:class:`~captum_ext.engines.RayEngine`: one model per actor, which must be
            this adapter's model); the driver writes each chunk as it arrives, so the cache is
            the one the in-process engine writes and either engine resumes the other's.
            Default: None (this process)

    Examples::

        >>> from captum_ext.adapters import TextClassifierAdapter
        >>> from captum_ext.influence import HeadFeatureExtractor
        >>> adapter = TextClassifierAdapter.from_pretrained()  # doctest: +SKIP
        >>> extractor = HeadFeatureExtractor(adapter)  # doctest: +SKIP
        >>> extractor.layer_name  # doctest: +SKIP
        'classifier'
        >>> extractor(["so happy today", "what a bad day"]).shape  # doctest: +SKIP
        (2, 384)
        >>> cached = extractor.for_texts(["so happy today", "what a bad day"])  # doctest: +SKIP
    """

    def __init__(
        self,
        adapter: TextClassifierAdapter,
        *,
        layer: str | None = None,
        cache_dir: str | os.PathLike[str] | None = None,
        batch_size: int | None = None,
        chunk_size: int = 2048,
        show_progress: bool = False,
        engine: RayEngine | None = None,
    ) -> None:
        check_scalar(chunk_size, "chunk_size", min_val=1)
        check_scalar(batch_size, "batch_size", min_val=1, allow_none=True)
        self.adapter = adapter
        model = adapter.model
        if layer is None:
            self.layer_name, self.head = find_head(model, adapter.num_labels)
        else:
            modules = dict(model.named_modules())
            if layer not in modules:
                raise InputError(
                    f"layer={layer!r} is not a module of the model: use a qualified name such as "
                    f"{find_head(model, adapter.num_labels)[0]!r}."
                )
            self.layer_name, self.head = layer, modules[layer]
        self.cache_dir = (
            default_feature_cache_dir() if cache_dir is None else Path(cache_dir).expanduser()
        )
        self.batch_size = batch_size
        self.chunk_size = int(chunk_size)
        self.show_progress = show_progress
        self.engine = engine
        self._fingerprint: str | None = None

    # -- identity ---------------------------------------------------------------------------
    @property
    def model_fingerprint(self) -> str:
        """16 hex characters of SHA-256 over the weights, the architecture, the head layer,
        ``max_length`` and the tokenizer's vocabulary: what the features depend on."""
        if self._fingerprint is None:
            digest = hashlib.sha256()
            model = self.adapter.model
            header = {
                "class": type(model).__name__,
                "layer": self.layer_name,
                "max_length": self.adapter.max_length,
                "vocab": len(self.adapter.tokenizer),
            }
            digest.update(json.dumps(header, sort_keys=True).encode())
            for name, tensor in sorted(model.state_dict().items()):
                t = tensor.detach().cpu().contiguous()
                digest.update(f"{name}:{t.dtype}:{tuple(t.shape)}".encode())
                digest.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
            vocab = self.adapter.tokenizer.get_vocab()
            digest.update(json.dumps(sorted(vocab.items())[:: max(1, len(vocab) // 997)]).encode())
            self._fingerprint = digest.hexdigest()[:16]
        return self._fingerprint

    # -- computing --------------------------------------------------------------------------
    def _batch_fn(self, bar: Any = None):
        head = self.head

        def fn(model: nn.Module, ids: Tensor, mask: Tensor) -> Tensor:
            captured: list[Tensor] = []

            def hook(_module: nn.Module, args: tuple[Any, ...]) -> None:
                captured.append(args[0])

            handle = head.register_forward_pre_hook(hook)
            try:
                logits = model(input_ids=ids, attention_mask=mask).logits
            finally:
                handle.remove()
            if not captured:
                raise InputError(
                    f"the layer {self.layer_name!r} was not called in the forward pass: pass "
                    "layer= naming the classification head."
                )
            feats = captured[-1]
            if feats.dim() != 2 or feats.shape[0] != ids.shape[0]:
                raise InputError(
                    f"the input of layer {self.layer_name!r} has shape {tuple(feats.shape)}, not "
                    "(batch, features): pass layer= naming a sequence-level head."
                )
            if bar is not None:
                bar.update(int(ids.shape[0]))
            return torch.cat([feats.float(), logits.float()], dim=1)

        return fn

    def _rows(self, texts: Sequence[str]) -> list[list[int]]:
        rows, n_trunc = self.adapter._ids_for(list(texts))
        if n_trunc:
            logger.info(
                "%d text(s) longer than max_length=%d were truncated",
                n_trunc,
                self.adapter.max_length,
            )
        return rows

    def __call__(
        self, texts: Sequence[str] | str, *, show_progress: bool | None = None
    ) -> np.ndarray:
        """Features of ``texts`` (not cached): ``(n, dim)`` float32."""
        return self.features_and_logits(texts, show_progress=show_progress)[0]

    def features_and_logits(
        self, texts: Sequence[str] | str, *, show_progress: bool | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Features ``(n, dim)`` and the model's logits ``(n, num_labels)`` of ``texts``, from
        one forward pass (not cached)."""
        texts = _text_list(texts)
        if not texts:
            raise InputError("no texts to compute features for: give at least one text.")
        from tqdm.auto import tqdm

        show = self.show_progress if show_progress is None else show_progress
        with tqdm(total=len(texts), desc="features", unit="text", disable=not show) as bar:
            return self._compute_rows(self._rows(texts), bar)

    def from_ids(
        self, input_ids: Tensor, attention_mask: Tensor | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Features and logits of tokenised, padded rows ``(n, L)`` (padding removed by the
        mask), e.g. ``adapter.captum_inputs(text)``."""
        if not isinstance(input_ids, Tensor) or input_ids.dim() != 2:
            raise InputError(
                "input_ids must be a tensor of shape (n, seq_len), got "
                f"{tuple(getattr(input_ids, 'shape', ())) or type(input_ids).__name__}."
            )
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        lengths = attention_mask.sum(dim=1).tolist()
        rows = [r[: int(n)].tolist() for r, n in zip(input_ids, lengths, strict=True)]
        return self._compute_rows(rows, None)

    def _compute_rows(self, rows: list[list[int]], bar: Any) -> tuple[np.ndarray, np.ndarray]:
        out = self.adapter.map_batches(rows, self._batch_fn(bar), batch_size=self.batch_size)
        c = self.adapter.num_labels
        return np.ascontiguousarray(out[:, :-c], np.float32), out[:, -c:].astype(np.float64)

    def for_texts(
        self,
        texts: Sequence[str] | TextDataset,
        *,
        show_progress: bool | None = None,
    ) -> CachedFeatures:
        """Features of many texts, read from the disk cache or computed into it, resumably.

        The cache folder is ``cache_dir/<model fingerprint>-<texts fingerprint>``; rows are
        computed in chunks of ``chunk_size`` and each finished chunk is written at once, so an
        interrupted call continues from the last finished chunk when called again. The finished
        cache is one ``features.npy`` (returned memory-mapped) and ``meta.json``.

        Args:
            texts (list of str or TextDataset): The texts (a dataset's ``texts``).
            show_progress (bool, optional): Override the extractor's ``show_progress``.

        Returns:
            CachedFeatures: the features with their fingerprints and cache folder.

        Raises:
            InputError: No texts.
            DataError: ``cache_dir`` itself is a finished cache made by another model or for
                other texts.
        """
        texts = _text_list(getattr(texts, "texts", texts))
        if not texts:
            raise InputError("no texts to compute features for: the training set is empty.")
        data_fp = texts_fingerprint(texts)
        model_fp = self.model_fingerprint
        # A cache folder passed directly (rather than a parent of caches) must match.
        direct = _read_meta(self.cache_dir)
        if direct is not None:
            cached = _load_cache(self.cache_dir)
            cached.check(model_fingerprint=model_fp, data_fingerprint=data_fp)
            return cached
        folder = self.cache_dir / f"{model_fp}-{data_fp}"
        if (folder / _META).is_file():
            cached = _load_cache(folder)
            cached.check(model_fingerprint=model_fp, data_fingerprint=data_fp)
            return cached
        return self._build(folder, texts, model_fp, data_fp, show_progress)

    def _build_on_ray(
        self, parts: Path, texts: list[str], todo: list[int], model_fp: str, bar: Any
    ) -> None:
        """Compute the chunks ``todo`` on the engine's actors; each is saved as it arrives."""
        assert self.engine is not None
        payloads = [
            {
                "index": i,
                "texts": texts[i * self.chunk_size : (i + 1) * self.chunk_size],
                "layer": self.layer_name,
                "batch_size": self.batch_size,
                "model_fingerprint": model_fp,
            }
            for i in todo
        ]

        def save(result: tuple[int, np.ndarray, np.ndarray]) -> None:
            i, feats, logits = result
            _save_chunk(parts, i, feats, logits)
            bar.update(len(feats))

        self.engine.map(_feature_chunk, payloads, on_result=save, adapter=self.adapter)

    def _build(
        self,
        folder: Path,
        texts: list[str],
        model_fp: str,
        data_fp: str,
        show_progress: bool | None,
    ) -> CachedFeatures:
        from tqdm.auto import tqdm

        parts = folder / "chunks"
        parts.mkdir(parents=True, exist_ok=True)
        plan = {"chunk_size": self.chunk_size, "n": len(texts), "model": model_fp, "data": data_fp}
        plan_file = parts / "plan.json"
        if plan_file.is_file() and _read_json(plan_file) != plan:
            shutil.rmtree(parts)  # chunks of another chunking (or a corrupt plan): start over
            parts.mkdir(parents=True)
        _write_json(plan_file, plan)
        n_chunks = (len(texts) + self.chunk_size - 1) // self.chunk_size
        done = {i for i in range(n_chunks) if _chunk_ok(parts / f"{i:06d}.npy")}
        n_done = sum(min(self.chunk_size, len(texts) - i * self.chunk_size) for i in done)
        if done:
            logger.info("resuming feature cache %s: %d of %d rows done", folder, n_done, len(texts))
        show = self.show_progress if show_progress is None else show_progress
        with tqdm(
            total=len(texts), initial=n_done, desc="features", unit="text", disable=not show
        ) as bar:
            todo = [i for i in range(n_chunks) if i not in done]
            if self.engine is not None:
                self._build_on_ray(parts, texts, todo, model_fp, bar)
                todo = []
            for i in todo:
                chunk = texts[i * self.chunk_size : (i + 1) * self.chunk_size]
                feats, logits = self._compute_rows(self._rows(chunk), bar)
                _save_chunk(parts, i, feats, logits)
        # assemble the chunks into one memory-mappable file, chunk by chunk
        c = self.adapter.num_labels
        first = np.load(parts / f"{0:06d}.npy", mmap_mode="r")
        dim = int(first.shape[1]) - c
        del first
        tmp_out = folder / f".{_FEATURES}.{uuid.uuid4().hex[:8]}.tmp"
        out = np.lib.format.open_memmap(
            tmp_out, mode="w+", dtype=np.float32, shape=(len(texts), dim)
        )
        logits = np.empty((len(texts), c), dtype=np.float32)
        for i in range(n_chunks):
            block = np.load(parts / f"{i:06d}.npy")
            out[i * self.chunk_size : (i + 1) * self.chunk_size] = block[:, :dim]
            logits[i * self.chunk_size : (i + 1) * self.chunk_size] = block[:, dim:]
        out.flush()
        del out
        np.save(folder / _LOGITS, logits)
        os.replace(tmp_out, folder / _FEATURES)
        meta = {
            "format": _FORMAT,
            "model_fingerprint": model_fp,
            "data_fingerprint": data_fp,
            "layer": self.layer_name,
            "n": len(texts),
            "dim": dim,
            "max_length": self.adapter.max_length,
            "model_class": type(self.adapter.model).__name__,
            "name_or_path": str(getattr(self.adapter.model, "name_or_path", "")),
        }
        _write_json(folder / _META, meta)
        shutil.rmtree(parts, ignore_errors=True)
        return CachedFeatures.load(folder)


def _save_chunk(parts: Path, i: int, feats: np.ndarray, logits: np.ndarray) -> None:
    """Write chunk ``i`` in one step (a temporary file renamed): whole or not at all."""
    tmp = parts / f".{i:06d}.{uuid.uuid4().hex[:8]}.npy"
    np.save(tmp, np.concatenate([feats, logits.astype(np.float32)], axis=1))
    os.replace(tmp, parts / f"{i:06d}.npy")


def _feature_chunk(worker: Any, payload: dict[str, Any]) -> tuple[int, np.ndarray, np.ndarray]:
    """A Ray task: features and logits of one chunk on the worker's adapter (the extractor is
    built once per actor and must have the driver's model fingerprint)."""
    key = ("features", payload["layer"], payload["batch_size"])
    extractor = worker.memo.get(key)
    if extractor is None:
        extractor = HeadFeatureExtractor(
            worker.adapter, layer=payload["layer"], batch_size=payload["batch_size"]
        )
        worker.memo[key] = extractor
    if extractor.model_fingerprint != payload["model_fingerprint"]:
        raise InputError(
            f"a Ray worker's model has fingerprint {extractor.model_fingerprint}, not the "
            f"driver's {payload['model_fingerprint']}: pass --model a checkpoint directory every "
            "worker sees, with the same --max-length."
        )
    feats, logits = extractor._compute_rows(extractor._rows(payload["texts"]), None)
    return payload["index"], feats, logits


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax in float64, stable."""
    z = np.asarray(logits, dtype=np.float64)
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def _text_list(texts: Any) -> list[str]:
    if isinstance(texts, str):
        texts = [texts]
    out = list(texts)
    for i, t in enumerate(out):
        if not isinstance(t, str):
            raise InputError(f"texts[{i}] must be a string, got {type(t).__name__}.")
    return out


def _read_json(path: Path) -> Any:
    """The JSON in ``path``, or None when it is unreadable or not JSON (a corrupt cache file)."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _chunk_ok(path: Path) -> bool:
    """Whether a finished chunk file can be read back (a corrupt one is computed again)."""
    if not path.is_file():
        return False
    try:
        block = np.load(path, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError):
        logger.warning("feature cache chunk %s is unreadable: computing it again", path)
        return False
    return block.ndim == 2


def _load_cache(folder: Path) -> CachedFeatures:
    """:meth:`CachedFeatures.load`, with a corrupt cache reported as a :class:`DataError`."""
    try:
        return CachedFeatures.load(folder)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise DataError(
            f"the feature cache is unreadable ({type(exc).__name__}): delete this folder or "
            "pass another --cache-dir, and it is computed again.",
            path=str(folder),
        ) from None


def _read_meta(folder: Path) -> dict[str, Any] | None:
    try:
        meta = json.loads((folder / _META).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(meta, dict) or meta.get("format") != _FORMAT:
        return None
    return meta


def _write_json(path: Path, obj: Any) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    tmp.write_text(json.dumps(obj, indent=1, sort_keys=True), encoding="utf-8")
    os.replace(tmp, path)
