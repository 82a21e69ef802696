# ruff: noqa: F811  (pytest fixtures imported from test_influence_support)
"""Representer points against the representer theorem, scikit-learn and Captum's contract."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from captum.influence import DataInfluence
from captum.influence._utils.common import KMostInfluentialResults
from scipy.special import softmax
from test_influence_support import one_thread, planted  # noqa: F401

from captum_ext.adapters import TextClassifierAdapter
from captum_ext.data import TextDataset
from captum_ext.errors import InputError
from captum_ext.influence import RepresenterPoints
from captum_ext.influence._solver import add_intercept, fit_l2_softmax, l2_softmax_grad


@pytest.fixture(scope="module")
def adapter(planted):
    return TextClassifierAdapter.from_pretrained(planted["dir"])


@pytest.fixture(scope="module")
def train(planted):
    return TextDataset(planted["texts"], planted["labels"])


@pytest.fixture(scope="module")
def fitted(adapter, train, tmp_path_factory):
    cache = tmp_path_factory.mktemp("features")
    return {
        t: RepresenterPoints(adapter, train, target=t, l2=1e-3, tol=1e-10, cache_dir=cache).fit()
        for t in ("model", "labels")
    }


@pytest.mark.parametrize("target", ["model", "labels"])
def test_decomposition_reproduces_the_refitted_heads_logits(fitted, planted, target):
    rp = fitted[target]
    feats = rp.extractor(planted["held_out"])
    head_logits = add_intercept(feats) @ rp.weight_.T
    # sum over training tweets of alpha_ic * (f_i . f_t + 1), class by class
    n_test = len(feats)
    for c in range(2):
        values = rp.representer_values(feats, np.full(n_test, c))
        assert values.shape == (n_test, len(rp.train_dataset))
        np.testing.assert_allclose(values.sum(axis=1), head_logits[:, c], rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(rp.rebuilt_logits(feats), head_logits, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("target", ["model", "labels"])
def test_alpha_is_the_closed_form_at_the_solvers_stationary_point(fitted, train, target):
    rp = fitted[target]
    x = add_intercept(np.asarray(rp.train_features_.features))
    n, lam = len(x), rp.l2
    y = rp.train_probs_ if target == "model" else np.eye(2)[train.labels]
    # stationary: the gradient of the objective, computed independently, vanishes
    _, grad = l2_softmax_grad(rp.weight_, x, y, lam)
    assert np.abs(grad).max() <= 1e-10 * 2 * lam * np.abs(rp.weight_).max() * 10
    # alpha_i = -(1 / (2 lambda n)) dL/dz_i with dL/dz = softmax(z) - y
    alpha = -(softmax(x @ rp.weight_.T, axis=1) - y) / (2 * lam * n)
    np.testing.assert_allclose(rp.alpha_, alpha, rtol=1e-12, atol=1e-15)
    # the representer theorem: W = sum_i alpha_i f_i^T
    np.testing.assert_allclose(rp.alpha_.T @ x, rp.weight_, rtol=1e-8, atol=1e-12)


def test_label_fit_equals_scikit_learn_logistic_regression(fitted, train):
    from sklearn.linear_model import LogisticRegression

    rp = fitted["labels"]
    x = add_intercept(np.asarray(rp.train_features_.features))
    n, lam = len(x), rp.l2
    # sklearn: C * sum_i CE + 0.5 ||W||^2, i.e. lambda = 1 / (2 C n); bias as a feature
    lr = LogisticRegression(C=1.0 / (2 * lam * n), fit_intercept=False, tol=1e-12, max_iter=10_000)
    lr.fit(x, train.labels)
    # binary sklearn keeps one weight vector w = W_1 - W_0 (penalised as such: compare margins)
    margin = x @ (rp.weight_[1] - rp.weight_[0])
    sk_margin = x @ lr.coef_[0]
    # our multinomial parameterisation splits w in two halves: same margins, lambda doubled
    lr2 = LogisticRegression(C=2.0 / (2 * lam * n), fit_intercept=False, tol=1e-12, max_iter=10_000)
    sk2 = x @ lr2.fit(x, train.labels).coef_[0]
    np.testing.assert_allclose(margin, sk2, rtol=1e-5, atol=1e-6)
    assert not np.allclose(margin, sk_margin, rtol=1e-3)  # the factor 2 matters


def test_model_target_is_faithful_on_held_out_tweets(fitted, planted):
    report = fitted["model"].fidelity(held_out=planted["held_out"])
    assert set(report) == {"train", "held_out"}
    assert report["held_out"]["pearson"] >= 0.99
    assert report["train"]["pearson"] >= 0.99
    assert report["held_out"]["mad"] < 0.02
    assert report["held_out"]["n"] == len(planted["held_out"])


def test_labels_target_alpha_follows_the_label(fitted, train):
    rp = fitted["labels"]
    rows = np.arange(len(train))
    a_label = rp.alpha_[rows, train.labels]
    assert (a_label >= 0).all()  # y - p >= 0 on the labelled class
    p_label = rp.fitted_probs_[rows, train.labels]
    np.testing.assert_allclose(a_label, (1 - p_label) / (2 * rp.l2 * len(train)), rtol=1e-12)


def test_influence_follows_captums_data_influence_contract(fitted, planted):
    rp = fitted["model"]
    assert isinstance(rp, DataInfluence)
    tests = planted["held_out"][:4]
    full = rp.influence(tests)
    assert isinstance(full, torch.Tensor) and full.shape == (4, len(rp.train_dataset))
    pro = rp.influence(tests, k=5)
    opp = rp.influence(tests, k=5, proponents=False)
    assert isinstance(pro, KMostInfluentialResults) and pro.indices.shape == (4, 5)
    order = torch.argsort(full, dim=1, descending=True)
    torch.testing.assert_close(pro.influence_scores, torch.gather(full, 1, order[:, :5]))
    torch.testing.assert_close(
        opp.influence_scores, torch.gather(full, 1, torch.argsort(full, dim=1)[:, :5])
    )
    assert (pro.influence_scores[:, 0] >= pro.influence_scores[:, -1]).all()
    # the same from token ids (Captum's inputs)
    ids, mask = rp.adapter.captum_inputs(tests[0])
    res = rp.influence((ids, mask), k=5)
    torch.testing.assert_close(res.indices, pro.indices[:1])


def test_influence_takes_captums_argument_names(fitted, planted):
    """SimilarityInfluence's ``top_k``/``additional_forward_args``, TracIn's ``proponents``."""
    rp = fitted["model"]
    tests = planted["held_out"][:3]
    by_k = rp.influence(tests, k=4, proponents=False)
    by_top_k = rp.influence(tests, top_k=4, proponents=False)
    assert isinstance(by_top_k, KMostInfluentialResults)
    torch.testing.assert_close(by_top_k.indices, by_k.indices)
    torch.testing.assert_close(by_top_k.influence_scores, by_k.influence_scores)
    ids, mask = rp.adapter.captum_inputs(tests[0])
    res = rp.influence(ids, top_k=4, proponents=False, additional_forward_args=(mask,))
    torch.testing.assert_close(res.indices, by_k.indices[:1])
    with pytest.raises(InputError, match="give one"):
        rp.influence(tests, k=3, top_k=4)
    with pytest.raises(InputError, match="attention mask"):
        rp.influence(tests, top_k=3, additional_forward_args=(mask,))


def test_explain_gives_a_table_with_training_texts_and_labels(fitted, planted):
    rp = fitted["model"]
    res = rp.explain(planted["held_out"][:2], k=3)
    frame = res.to_frame()
    assert len(frame) == 6
    for row in frame.itertuples():
        assert row.train_text == rp.train_dataset.texts[row.train_index]
        assert row.train_label == (
            "positive" if rp.train_dataset.labels[row.train_index] else "negative"
        )
    predicted = rp.train_probs_.argmax(1)[res.indices]
    np.testing.assert_array_equal(
        res.extras["train_predicted"], np.array(["negative", "positive"])[predicted]
    )
    d = res.to_dict()["results"][0]
    assert d["proponents"][0]["train_predicted"] in ("negative", "positive")
    assert [p["rank"] for p in d["proponents"]] == [1, 2, 3]
    assert d["predicted"] in ("negative", "positive")
    np.testing.assert_allclose(res.captum().influence_scores.numpy(), res.scores)


def test_bad_inputs(adapter, train, tmp_path):
    rp = RepresenterPoints(adapter, train.subset(list(range(20))), cache_dir=tmp_path)
    with pytest.raises(InputError, match="k=21 is larger than the training set"):
        rp.influence(["good day"], k=21)
    with pytest.raises(InputError, match="k must be a positive int"):
        rp.influence(["good day"], k=0)
    with pytest.raises(InputError, match="not a label of this model"):
        rp.influence(["good day"], k=2, target="neutral")
    with pytest.raises(InputError, match="empty or whitespace"):
        rp.influence(["  "], k=2)
    with pytest.raises(InputError, match="train_dataset is empty"):
        RepresenterPoints(adapter, train.subset([]))
    with pytest.raises(InputError, match="l2 must be a float > 0"):
        RepresenterPoints(adapter, train, l2=0.0)
    with pytest.raises(InputError, match="target must be 'model'"):
        RepresenterPoints(adapter, train, target="loss")  # type: ignore[arg-type]
    three = TextDataset(["a", "b", "c"], [0, 1, 2], ("neg", "pos", "neutral"))
    with pytest.raises(InputError, match="'neutral' matches no class of the model"):
        RepresenterPoints(adapter, three)
    with pytest.raises(InputError, match="must be a captum_ext.data.TextDataset"):
        RepresenterPoints(adapter, ["good", "bad"])  # type: ignore[arg-type]


def test_solver_matches_a_long_gradient_descent_on_a_toy_problem():
    rng = np.random.default_rng(0)
    x = add_intercept(rng.normal(size=(40, 3)))
    y = softmax(rng.normal(size=(40, 3)), axis=1)
    w, info = fit_l2_softmax(x, y, 0.05, tol=1e-12)
    assert info.converged
    # plain gradient descent from zero, many steps (a reference that shares no code path)
    v = np.zeros_like(w)
    for _ in range(20_000):
        z = x @ v.T
        q = softmax(z, axis=1)
        v -= 0.5 * (((q - y).T @ x) / len(x) + 2 * 0.05 * v)
    np.testing.assert_allclose(w, v, atol=1e-8)
