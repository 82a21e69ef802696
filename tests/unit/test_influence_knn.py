# ruff: noqa: F811  (pytest fixtures imported from test_influence_support)
"""Feature-similarity kNN against brute force (scipy) and Captum's SimilarityInfluence."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from captum.influence import DataInfluence, SimilarityInfluence
from captum.influence._core.similarity_influence import euclidean_distance
from scipy.spatial.distance import cdist
from test_influence_support import one_thread, planted  # noqa: F401
from torch import nn
from torch.utils.data import TensorDataset

from captum_ext.adapters import TextClassifierAdapter
from captum_ext.data import TextDataset
from captum_ext.errors import InputError
from captum_ext.influence import FeatureSimilarityKNN, exact_top_k

METRICS = ("cosine", "dot", "euclidean")


def brute_force(q: np.ndarray, x: np.ndarray, metric: str) -> np.ndarray:
    """Scores from scipy, larger = nearer."""
    q, x = q.astype(np.float64), x.astype(np.float64)
    if metric == "cosine":
        return 1.0 - cdist(q, x, "cosine")
    if metric == "dot":
        return q @ x.T
    return -cdist(q, x, "euclidean")


@pytest.mark.parametrize("metric", METRICS)
@pytest.mark.parametrize("nearest", [True, False])
def test_exact_top_k_matches_brute_force(metric, nearest):
    rng = np.random.default_rng(0)
    keys = rng.normal(size=(997, 12)).astype(np.float32)
    queries = rng.normal(size=(37, 12)).astype(np.float32)
    idx, scores = exact_top_k(
        queries, keys, 9, metric, nearest=nearest, chunk_size=100, query_chunk_size=8
    )
    ref = brute_force(queries, keys, metric) * (1 if nearest else -1)
    ref_idx = np.argsort(-ref, axis=1, kind="stable")[:, :9]
    np.testing.assert_array_equal(idx, ref_idx)
    ref_scores = np.take_along_axis(ref * (1 if nearest else -1), ref_idx, axis=1)
    if metric == "euclidean":
        ref_scores = -ref_scores  # distances
    np.testing.assert_allclose(scores, ref_scores, rtol=1e-10, atol=1e-10)


def test_exact_top_k_can_leave_each_query_out():
    rng = np.random.default_rng(1)
    keys = rng.normal(size=(50, 4))
    idx, _ = exact_top_k(keys, keys, 3, "euclidean", exclude=np.arange(50), chunk_size=7)
    assert not (idx == np.arange(50)[:, None]).any()
    ref = cdist(keys, keys)
    np.fill_diagonal(ref, np.inf)
    np.testing.assert_array_equal(idx, np.argsort(ref, axis=1, kind="stable")[:, :3])


class _IdsAndMask(nn.Module):
    """Lets Captum feed (ids, mask) pairs stacked as one tensor per example."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, packed: torch.Tensor) -> torch.Tensor:
        return self.model(input_ids=packed[:, 0], attention_mask=packed[:, 1]).logits


def _dot(test: torch.Tensor, train: torch.Tensor) -> torch.Tensor:
    return test.reshape(len(test), -1) @ train.reshape(len(train), -1).T


@pytest.fixture(scope="module")
def adapter(planted):
    return TextClassifierAdapter.from_pretrained(planted["dir"])


@pytest.fixture(scope="module")
def train(planted):
    return TextDataset(planted["texts"][:120], planted["labels"][:120])


@pytest.mark.parametrize("metric", METRICS)
def test_knn_matches_captums_similarity_influence(adapter, train, planted, metric, tmp_path):
    knn = FeatureSimilarityKNN(adapter, train, metric=metric, cache_dir=tmp_path / "f").fit()
    tests = planted["held_out"][:6]
    ours = knn.influence(tests, k=4)

    # Captum on the same layer: BERT's pooler output is the classifier's input (eval mode)
    def packed(texts):
        ids, mask = adapter._pad(adapter._ids_for(texts)[0])
        return torch.stack([ids, mask], dim=1)

    wrapper = _IdsAndMask(adapter.model).eval()
    captum_metric = {"cosine": None, "dot": _dot, "euclidean": euclidean_distance}[metric]
    kwargs = {} if captum_metric is None else {"similarity_metric": captum_metric}
    sim = SimilarityInfluence(
        wrapper,
        # two layers: with a single one, Captum 0.9 wraps LayerActivation's list in a list
        ["model.bert.pooler", "model.classifier"],
        TensorDataset(packed(train.texts)),
        str(tmp_path / "captum"),
        model_id=metric,
        similarity_direction="min" if metric == "euclidean" else "max",
        batch_size=40,
        **kwargs,
    )
    ref_idx, ref_val = sim.influence(packed(tests), top_k=4)["model.bert.pooler"]
    torch.testing.assert_close(ours.indices, ref_idx.long())
    torch.testing.assert_close(ours.influence_scores, ref_val.double(), rtol=1e-4, atol=1e-4)
    assert isinstance(knn, DataInfluence)
    # the same call as SimilarityInfluence's: top_k, token ids with additional_forward_args
    same = knn.influence(tests, top_k=4)
    torch.testing.assert_close(same.indices, ref_idx.long())
    ids, mask = adapter.captum_inputs(tests[0])
    one = knn.influence(ids, top_k=4, additional_forward_args=(mask,), proponents=True)
    torch.testing.assert_close(one.indices, ref_idx[:1].long())


def test_faiss_index_gives_the_exact_neighbours(adapter, train, planted, tmp_path):
    pytest.importorskip("faiss")  # optional dependency
    exact = FeatureSimilarityKNN(adapter, train, cache_dir=tmp_path).influence(
        planted["held_out"][:5], k=3
    )
    fast = FeatureSimilarityKNN(adapter, train, index="faiss", cache_dir=tmp_path).influence(
        planted["held_out"][:5], k=3
    )
    torch.testing.assert_close(fast.indices, exact.indices)
    torch.testing.assert_close(fast.influence_scores, exact.influence_scores, rtol=1e-5, atol=1e-5)


def test_explain_reports_labels_agreement_and_support(adapter, train, planted, tmp_path):
    knn = FeatureSimilarityKNN(adapter, train, cache_dir=tmp_path)
    res = knn.explain(planted["held_out"][:3], k=4)
    frame = res.to_frame()
    assert list(frame["rank"][:4]) == [1, 2, 3, 4]
    labels = train.labels[res.indices]
    np.testing.assert_array_equal(
        frame["agrees"].to_numpy().reshape(3, 4), labels == res.predicted[:, None]
    )
    np.testing.assert_allclose(res.extras["support"], res.scores.mean(axis=1))
    # the trained tiny model's neighbours mostly carry its predicted label
    assert frame["agrees"].mean() > 0.7


def test_sparse_audit_orders_by_mean_top_k_similarity(adapter, train, planted, tmp_path):
    knn = FeatureSimilarityKNN(adapter, train, cache_dir=tmp_path).fit()
    queries = planted["held_out"][:8] + ["zebra quantum xylophone", "#### ????"]
    frame = knn.sparse_audit(queries, k=5)
    q = knn.extractor(queries)
    ref = np.sort(brute_force(q, np.asarray(knn.train_features_.features), "cosine"), axis=1)
    support = ref[:, ::-1][:, :5].mean(axis=1)
    np.testing.assert_array_equal(frame["index"].to_numpy(), np.argsort(support, kind="stable"))
    np.testing.assert_allclose(frame["support"].to_numpy(), np.sort(support), rtol=1e-9)


def test_label_disagreement_ranks_planted_flips_first(adapter, planted, tmp_path):
    train = TextDataset(planted["texts"], planted["noisy"])
    knn = FeatureSimilarityKNN(adapter, train, cache_dir=tmp_path)
    frame = knn.label_disagreement(k=10)
    top = frame["index"].to_numpy()[: planted["flipped"].sum()]
    assert planted["flipped"][top].mean() >= 0.8
    assert (frame["disagreement"].diff().dropna() <= 0).all()
    row = frame.iloc[0]
    assert row["text"] == train.texts[row["index"]]


def test_bad_inputs(adapter, train, tmp_path):
    knn = FeatureSimilarityKNN(adapter, train.subset(list(range(10))), cache_dir=tmp_path)
    with pytest.raises(InputError, match="k=11 is larger than the training set"):
        knn.influence(["good day"], k=11)
    with pytest.raises(InputError, match="metric must be one of"):
        FeatureSimilarityKNN(adapter, train, metric="manhattan")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="index must be"):
        FeatureSimilarityKNN(adapter, train, index="annoy")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="train_dataset is empty"):
        FeatureSimilarityKNN(adapter, train.subset([]))
    with pytest.raises(InputError, match="larger than the training set"):
        exact_top_k(np.ones((1, 2)), np.ones((3, 2)), 3, exclude=np.array([0]))
    with pytest.raises(InputError, match="empty"):
        exact_top_k(np.ones((1, 2)), np.ones((0, 2)), 1)
