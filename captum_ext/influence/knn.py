r"""Feature-similarity nearest neighbours of a text among the training tweets.

The counterpart of TrustAI's ``FeatureSimilarityModel`` and of Captum's
:class:`captum.influence.SimilarityInfluence`, on the classifier head's input (computed with the
attention mask, which ``SimilarityInfluence`` cannot pass for the training data): the ``k``
training tweets whose features are most similar (cosine, dot product) or closest (Euclidean) to a
test tweet's, as supporting evidence with their labels and whether they agree with the
prediction. Two audits use the same search:

* sparse data: test tweets whose nearest training tweets are least similar (little support);
* label disagreement: training tweets whose nearest training neighbours mostly carry another
  label (candidate label errors).

The search is exact, in chunks of training rows so memory stays bounded (a float32 pass finds
candidates, the final scores and order are recomputed in float64), or uses a FAISS flat index
when ``index="faiss"`` and the optional ``faiss-cpu`` package is installed.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import torch
from captum.influence import DataInfluence
from captum.influence._utils.common import KMostInfluentialResults
from torch import Tensor

from captum_ext.errors import InputError
from captum_ext.influence.features import CachedFeatures, HeadFeatureExtractor
from captum_ext.influence.representer import (
    Inputs,
    _check_train,
    _train_features,
    captum_influence_args,
    check_k,
    query_features,
)
from captum_ext.influence.results import InfluenceResult
from captum_ext.validation import check_scalar

if TYPE_CHECKING:
    import pandas as pd

    from captum_ext.adapters import TextClassifierAdapter
    from captum_ext.data import TextDataset

__all__ = ["FeatureSimilarityKNN", "exact_top_k", "similarity"]

Metric = Literal["cosine", "dot", "euclidean"]
_METRICS = ("cosine", "dot", "euclidean")


def _check_metric(metric: str) -> str:
    if metric not in _METRICS:
        raise InputError(f"metric must be one of {', '.join(_METRICS)}, got {metric!r}.")
    return metric


def _normalise(x: np.ndarray | Tensor) -> Any:
    if isinstance(x, Tensor):
        return x / x.norm(dim=1, keepdim=True).clamp_min(1e-30)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-30)


def similarity(queries: np.ndarray, keys: np.ndarray, metric: Metric = "cosine") -> np.ndarray:
    """``(n_queries, n_keys)`` similarities (cosine, dot) or Euclidean distances, float64.

    Zero vectors have cosine similarity 0 with everything.
    """
    _check_metric(metric)
    q = np.asarray(queries, dtype=np.float64)
    k = np.asarray(keys, dtype=np.float64)
    if metric == "cosine":
        return _normalise(q) @ _normalise(k).T
    if metric == "dot":
        return q @ k.T
    d2 = (q * q).sum(1)[:, None] + (k * k).sum(1)[None, :] - 2.0 * (q @ k.T)
    return np.sqrt(np.maximum(d2, 0.0))


def exact_top_k(
    queries: np.ndarray,
    keys: np.ndarray,
    k: int,
    metric: Metric = "cosine",
    *,
    nearest: bool = True,
    exclude: np.ndarray | None = None,
    chunk_size: int = 16384,
    query_chunk_size: int = 1024,
    device: str | torch.device = "cpu",
) -> tuple[np.ndarray, np.ndarray]:
    r"""Exact ``k`` nearest (or farthest) keys of each query, in bounded memory.

    Keys are scanned in chunks of ``chunk_size`` rows (a memory map works), with a running top
    list per query; candidates found in float32 are re-scored in float64, so the result equals a
    brute-force float64 search up to exact ties.

    Args:
        queries (np.ndarray): ``(n_queries, dim)``.
        keys (np.ndarray): ``(n_keys, dim)``.
        k (int): Neighbours per query, ``1 <= k <= n_keys`` (minus excluded).
        metric (str, optional): ``"cosine"``, ``"dot"`` (larger is nearer) or ``"euclidean"``
            (smaller is nearer). Default: ``"cosine"``
        nearest (bool, optional): Nearest (True) or farthest (False). Default: True
        exclude (np.ndarray, optional): ``(n_queries,)`` one key index per query to leave out
            (the query itself, when queries are the keys). Default: None
        chunk_size (int, optional): Key rows per chunk. Default: 16384
        query_chunk_size (int, optional): Query rows per chunk. Default: 1024
        device (str or torch.device, optional): where the float32 chunk products and top lists
            are computed (the model's device: a GPU scans keys there). Default: ``"cpu"``

    Returns:
        tuple: ``(indices, scores)``, each ``(n_queries, k)``, nearest first; scores are
        similarities, or distances for ``"euclidean"``.

    Examples::

        >>> import numpy as np
        >>> from captum_ext.influence.knn import exact_top_k
        >>> keys = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
        >>> idx, sim = exact_top_k(np.array([[1.0, 0.1]]), keys, k=2)
        >>> idx.tolist(), sim.round(3).tolist()
        ([[0, 2]], [[0.995, 0.774]])
    """
    _check_metric(metric)
    n_keys = int(keys.shape[0])
    n_excl = 0 if exclude is None else 1
    if n_keys - n_excl < 1:
        raise InputError("the training set is empty: give at least one training text.")
    k = check_k(k, n_keys - n_excl)
    q_all = np.array(queries, dtype=np.float32)  # a writable copy (memory maps are read-only)
    # larger "sign * score" is nearer
    sign = (1.0 if metric != "euclidean" else -1.0) * (1.0 if nearest else -1.0)
    extra = min(k + 16, n_keys)  # float32 candidates re-scored in float64
    out_idx = np.empty((len(q_all), k), dtype=np.int64)
    out_val = np.empty((len(q_all), k))
    for qs in range(0, len(q_all), query_chunk_size):
        q = torch.from_numpy(q_all[qs : qs + query_chunk_size]).to(device)
        if metric == "cosine":
            q = _normalise(q)
        q_sq = (q * q).sum(1, keepdim=True)
        best_val = torch.full((len(q), 0), -float("inf"), device=q.device)
        best_idx = torch.zeros((len(q), 0), dtype=torch.long, device=q.device)
        for ks in range(0, n_keys, chunk_size):
            kc = torch.from_numpy(np.array(keys[ks : ks + chunk_size], dtype=np.float32)).to(device)
            if metric == "cosine":
                kc = _normalise(kc)
            scores = q @ kc.T
            if metric == "euclidean":
                scores = q_sq + (kc * kc).sum(1)[None, :] - 2.0 * scores  # squared distance
            scores = scores * sign
            if exclude is not None:
                ex = torch.as_tensor(exclude[qs : qs + len(q)], device=q.device) - ks
                rows = torch.nonzero((ex >= 0) & (ex < kc.shape[0])).reshape(-1)
                scores[rows, ex[rows]] = -float("inf")
            take = min(extra, scores.shape[1])
            val, idx = torch.topk(scores, take, dim=1)
            best_val = torch.cat([best_val, val], dim=1)
            best_idx = torch.cat([best_idx, idx + ks], dim=1)
            if best_val.shape[1] > extra:
                val, pos = torch.topk(best_val, extra, dim=1)
                best_val, best_idx = val, torch.gather(best_idx, 1, pos)
        # exact float64 re-scoring of the candidates
        cand = best_idx.cpu().numpy()
        qd = np.asarray(queries[qs : qs + len(q)], dtype=np.float64)
        vals = _pair_scores(qd, keys, cand, metric)
        vals[~np.isfinite(best_val.cpu().numpy())] = np.nan
        key = np.where(np.isnan(vals), -np.inf, sign * vals)
        order = np.lexsort((cand, -key), axis=1)[:, :k] if cand.size else cand
        out_idx[qs : qs + len(q)] = np.take_along_axis(cand, order, axis=1)
        out_val[qs : qs + len(q)] = np.take_along_axis(vals, order, axis=1)
    return out_idx, out_val


def _pair_scores(q: np.ndarray, keys: np.ndarray, cand: np.ndarray, metric: str) -> np.ndarray:
    """float64 score of each query with each of its own candidate keys ``(n, m)``."""
    uniq, inverse = np.unique(cand, return_inverse=True)
    kc = np.asarray(keys[uniq], dtype=np.float64)[inverse.reshape(cand.shape)]  # (n, m, d)
    if metric == "cosine":
        return np.einsum(
            "nd,nmd->nm", _normalise(q), _normalise(kc.reshape(-1, q.shape[1])).reshape(kc.shape)
        )
    if metric == "dot":
        return np.einsum("nd,nmd->nm", q, kc)
    diff = kc - q[:, None, :]
    return np.sqrt(np.einsum("nmd,nmd->nm", diff, diff))


def faiss_top_k(
    queries: np.ndarray, keys: np.ndarray, k: int, metric: Metric = "cosine"
) -> tuple[np.ndarray, np.ndarray]:
    """The same search with a FAISS flat (exact) index; needs the optional ``faiss-cpu``."""
    try:
        import faiss
    except ImportError:
        raise InputError(
            "index='faiss' needs the optional faiss-cpu package: pip install faiss-cpu, or use "
            "index='exact'."
        ) from None
    _check_metric(metric)
    k = check_k(k, int(keys.shape[0]))
    q = np.ascontiguousarray(queries, dtype=np.float32)
    x = np.ascontiguousarray(keys, dtype=np.float32)
    if metric == "cosine":
        q, x = _normalise(q).astype(np.float32), _normalise(x).astype(np.float32)
    index = (
        faiss.IndexFlatL2(x.shape[1]) if metric == "euclidean" else faiss.IndexFlatIP(x.shape[1])
    )
    index.add(x)
    scores, idx = index.search(q, k)
    if metric == "euclidean":
        scores = np.sqrt(np.maximum(scores, 0.0))
    return idx.astype(np.int64), scores.astype(np.float64)


class FeatureSimilarityKNN(DataInfluence):
    r"""Nearest training tweets in the classifier head's feature space (TrustAI's
    ``FeatureSimilarityModel``), as a :class:`captum.influence.DataInfluence`.

    :meth:`influence` returns Captum's ``KMostInfluentialResults`` (indices and similarities,
    ``(n_inputs, k)``: TracIn's result type; ``SimilarityInfluence`` returns the same two tensors
    in a ``{layer: ...}`` dict, which for one layer holds nothing more) and takes Captum's
    argument names (``k`` or ``top_k``, ``proponents``, ``additional_forward_args``); :meth:`explain` adds the training texts, labels and agreement with the
    prediction; :meth:`sparse_audit` and :meth:`label_disagreement` rank texts for review.

    Args:
        adapter (TextClassifierAdapter): The model.
        train_dataset (TextDataset): The training tweets and labels searched.
        metric (str, optional): ``"cosine"``, ``"dot"`` or ``"euclidean"``. Default: ``"cosine"``
        index (str, optional): ``"exact"`` (chunked, bounded memory) or ``"faiss"`` (flat FAISS
            index, needs ``faiss-cpu``). Default: ``"exact"``
        layer (str, optional): The head module, see :class:`HeadFeatureExtractor`.
        cache_dir (str or Path, optional): Feature cache folder. Default: None (user cache).
        features (CachedFeatures, optional): Training features computed before (same model and
            texts). Default: None
        chunk_size (int, optional): Training rows per search chunk. Default: 16384
        batch_size (int, optional): Texts per forward pass. Default: None (the adapter's).
        show_progress (bool, optional): Progress bar while computing features. Default: False

    Examples::

        >>> from captum_ext.adapters import TextClassifierAdapter
        >>> from captum_ext.data import default_data_path, load_sentiment140
        >>> from captum_ext.influence import FeatureSimilarityKNN
        >>> adapter = TextClassifierAdapter.from_pretrained()  # doctest: +SKIP
        >>> train = load_sentiment140(default_data_path()).sample(500, seed=0)  # doctest: +SKIP
        >>> knn = FeatureSimilarityKNN(adapter, train).fit()  # doctest: +SKIP
        >>> frame = knn.explain(["best dinner in a long time"], k=3).to_frame()  # doctest: +SKIP
        >>> frame[["rank", "train_index", "train_label", "agrees"]]  # doctest: +SKIP
           rank  train_index train_label  agrees
        0     1          195    positive    True
        1     2          157    positive    True
        2     3          425    positive    True
        >>> knn.label_disagreement(k=10)[["index", "label", "neighbour_majority"]].head(3)  # doctest: +SKIP
           index     label neighbour_majority
        0     38  positive           negative
        1     94  positive           negative
        2    118  positive           negative
    """

    def __init__(
        self,
        adapter: TextClassifierAdapter,
        train_dataset: TextDataset,
        *,
        metric: Metric = "cosine",
        index: Literal["exact", "faiss"] = "exact",
        layer: str | None = None,
        cache_dir: str | os.PathLike[str] | None = None,
        features: CachedFeatures | None = None,
        chunk_size: int = 16384,
        batch_size: int | None = None,
        show_progress: bool = False,
    ) -> None:
        _check_metric(metric)
        if index not in ("exact", "faiss"):
            raise InputError(f"index must be 'exact' or 'faiss', got {index!r}.")
        check_scalar(chunk_size, "chunk_size", min_val=1)
        train_dataset = _check_train(train_dataset, adapter)
        self.model = adapter.model
        self.train_dataset = train_dataset
        self.adapter = adapter
        self.metric = metric
        self.index = index
        self.chunk_size = chunk_size
        self.show_progress = show_progress
        self.extractor = HeadFeatureExtractor(
            adapter, layer=layer, cache_dir=cache_dir, batch_size=batch_size
        )
        self._given_features = features

    def _device(self) -> torch.device:
        """Where the kNN search runs: the model's device (``"meta"`` has no data: the CPU)."""
        device = torch.device(self.adapter.device)
        return torch.device("cpu") if device.type == "meta" else device

    def fit(self) -> FeatureSimilarityKNN:
        """Compute (or load) the training features; returns ``self``."""
        self.train_features_ = _train_features(
            self.extractor, self.train_dataset, self._given_features, self.show_progress
        )
        return self

    def _check_fitted(self) -> None:
        if not hasattr(self, "train_features_"):
            self.fit()

    def search(
        self,
        features: np.ndarray,
        k: int,
        *,
        nearest: bool = True,
        exclude: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` training rows for query ``features`` ``(n, dim)``: ``(indices, scores)``."""
        self._check_fitted()
        keys = self.train_features_.features
        if self.index == "faiss" and nearest and exclude is None:
            return faiss_top_k(features, keys, k, self.metric)
        return exact_top_k(
            features, keys, k, self.metric, nearest=nearest, exclude=exclude,
            chunk_size=self.chunk_size, device=self._device(),
        )  # fmt: skip

    def influence(  # type: ignore[override]
        self,
        inputs: Inputs,
        k: int | None = 5,
        proponents: bool = True,
        show_progress: bool = False,
        *,
        top_k: int | None = None,
        additional_forward_args: Any = None,
    ) -> Tensor | KMostInfluentialResults:
        r"""The ``k`` most similar (``proponents=True``) or least similar training tweets.

        Called as Captum's sample-level methods are: TracIn's ``influence(inputs, k=...,
        proponents=...)`` or ``SimilarityInfluence``'s ``influence(inputs, top_k=...,
        additional_forward_args=...)``.

        Args:
            inputs (str, list of str, TextDataset, Tensor or tuple of Tensors): Test texts,
                token ids, or ``(input_ids, attention_mask)``.
            k (int, optional): Neighbours per input; None returns the full ``(n_inputs,
                n_train)`` similarity (distance for ``"euclidean"``) matrix. Default: 5
            proponents (bool, optional): Most similar (True) or least similar. Default: True
            show_progress (bool, optional): Unused (the search is one pass). Default: False
            top_k (int, optional): ``SimilarityInfluence``'s name for ``k``. Default: None
            additional_forward_args (Tensor or tuple, optional): the attention mask of token-id
                ``inputs``. Default: None

        Returns:
            Captum's ``KMostInfluentialResults(indices, influence_scores)`` (TracIn's result
            type) of shape ``(n_inputs, k)`` (scores: similarities, or distances for
            ``"euclidean"``), or the full matrix. ``SimilarityInfluence`` returns the same two
            tensors in a ``{layer: (indices, similarities)}`` dict; here there is one layer
            (the classifier head's input), so the named tuple is returned directly.
        """
        inputs, k = captum_influence_args(inputs, k, top_k, additional_forward_args, k_default=5)
        self._check_fitted()
        _texts, feats, _logits = query_features(self.extractor, inputs)
        if k is None:
            return torch.as_tensor(similarity(feats, self.train_features_.features, self.metric))
        idx, scores = self.search(feats, k, nearest=proponents)
        return KMostInfluentialResults(torch.as_tensor(idx), torch.as_tensor(scores))

    def explain(self, inputs: Inputs, k: int = 5, proponents: bool = True) -> InfluenceResult:
        """The ``k`` nearest training tweets of each input with texts, labels, agreement with
        the prediction and the support (mean top-``k`` similarity): an :class:`InfluenceResult`."""
        self._check_fitted()
        texts, feats, logits = query_features(self.extractor, inputs)
        idx, scores = self.search(feats, k, nearest=proponents)
        predicted = logits.argmax(axis=1)
        agree = self.train_dataset.labels[idx] == predicted[:, None]
        return InfluenceResult(
            method="knn",
            kind="neighbours" if proponents else "farthest",
            texts=texts,
            indices=idx,
            scores=scores,
            train=self.train_dataset,
            predicted=predicted,
            target=predicted,
            extras={
                "support": scores.mean(axis=1),
                "agreement_rate": agree.mean(axis=1),
                "settings": self.settings(),
            },
        )

    def settings(self) -> dict[str, Any]:
        return {
            "metric": self.metric,
            "index": self.index,
            "layer": self.extractor.layer_name,
            "n_train": len(self.train_dataset),
        }

    # -- audits -----------------------------------------------------------------------------
    def sparse_audit(self, inputs: Inputs, k: int = 10) -> pd.DataFrame:
        """Test texts ranked by how little the training data supports them.

        Support is the mean similarity to the ``k`` nearest training tweets (for
        ``"euclidean"``, the negative mean distance); the least supported come first.

        Returns:
            pandas.DataFrame: ``rank``, ``index``, ``text``, ``predicted``, ``support``,
            ``nearest_similarity``, ``neighbour_agreement`` (fraction of the neighbours whose
            label is the predicted class), ``neighbours`` (their indices).
        """
        import pandas as pd

        self._check_fitted()
        texts, feats, logits = query_features(self.extractor, inputs)
        idx, scores = self.search(feats, k)
        support = scores.mean(axis=1) if self.metric != "euclidean" else -scores.mean(axis=1)
        predicted = logits.argmax(axis=1)
        order = np.argsort(support, kind="stable")
        names = self.train_dataset.label_names
        return pd.DataFrame(
            {
                "rank": np.arange(1, len(order) + 1),
                "index": order,
                "text": [texts[i] for i in order],
                "predicted": [names[int(predicted[i])] for i in order],
                "support": support[order],
                "nearest_similarity": scores[order, 0],
                "neighbour_agreement": (self.train_dataset.labels[idx] == predicted[:, None]).mean(
                    axis=1
                )[order],
                "neighbours": [idx[i].tolist() for i in order],
            }
        )

    def neighbour_label_disagreement(
        self, k: int = 10
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """For every training tweet, how much its ``k`` nearest *other* training tweets carry
        another label.

        Returns:
            tuple: ``(disagreement, fraction, neighbours)``: the similarity-weighted share of
            neighbours with another label (weights: cosine/dot similarity clipped at 0, or
            ``1 / (1 + distance)``), the plain share, and the neighbour indices ``(n_train, k)``.
        """
        self._check_fitted()
        feats = self.train_features_.features
        n = len(feats)
        k = check_k(k, n - 1)
        idx = np.empty((n, k), dtype=np.int64)
        sim = np.empty((n, k))
        step = 4096
        for s in range(0, n, step):
            rows = np.arange(s, min(s + step, n))
            idx[rows], sim[rows] = exact_top_k(
                feats[rows], feats, k, self.metric, exclude=rows, chunk_size=self.chunk_size,
                device=self._device(),
            )  # fmt: skip
        labels = self.train_dataset.labels
        other = labels[idx] != labels[:, None]
        if self.metric == "euclidean":
            weight = 1.0 / (1.0 + sim)
        else:
            weight = np.clip(sim, 0.0, None) + 1e-12
        weighted = (weight * other).sum(axis=1) / weight.sum(axis=1)
        return weighted, other.mean(axis=1), idx

    def label_disagreement(self, k: int = 10) -> pd.DataFrame:
        """Training tweets ranked by how many of their ``k`` nearest training neighbours carry
        another label (candidate label errors first).

        Returns:
            pandas.DataFrame: ``rank``, ``index``, ``text``, ``label``, ``disagreement``
            (similarity-weighted), ``other_label_fraction``, ``neighbour_majority`` (the most common neighbour label), ``neighbours``.
        """
        import pandas as pd

        disagreement, fraction, idx = self.neighbour_label_disagreement(k)
        labels = self.train_dataset.labels
        names = self.train_dataset.label_names
        majority = np.array(
            [np.bincount(labels[row], minlength=len(names)).argmax() for row in idx]
        )
        order = np.argsort(-disagreement, kind="stable")
        return pd.DataFrame(
            {
                "rank": np.arange(1, len(order) + 1),
                "index": order,
                "text": [self.train_dataset.texts[i] for i in order],
                "label": [names[int(labels[i])] for i in order],
                "disagreement": disagreement[order],
                "other_label_fraction": fraction[order],
                "neighbour_majority": [names[int(majority[i])] for i in order],
                "neighbours": [idx[i].tolist() for i in order],
            }
        )
