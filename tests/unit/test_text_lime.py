"""TextLime against references: true coefficients, official LIME, exact enumeration, rules."""

from __future__ import annotations

import itertools
import math
import warnings
from collections.abc import Callable, Sequence
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from conftest import base_tokenizer
from torch import nn

from captum_ext.adapters import TextClassifierAdapter
from captum_ext.attr import LinearSurrogate, TextLime
from captum_ext.attr.perturbation import (
    FeatureSpace,
    cosine_distance_to_original,
    level_weights,
    lime_kernel,
    official_level_mass,
    sample_kernel,
    sample_lime,
)
from captum_ext.attr.surrogates import exchangeable_projection
from captum_ext.errors import InputError

# -- a rule-based "model" behind the real adapter --------------------------------------------


class RuleModel(nn.Module):
    """A classifier whose logits are a Python function of each row's token ids (specials kept).

    It has the parts of a Hugging Face model the adapter uses (``config``, ``forward`` returning
    ``.logits``), so explanations run the real path through ``TextClassifierAdapter``.
    """

    def __init__(self, fn: Callable[[list[int]], Sequence[float]], num_labels: int = 2) -> None:
        super().__init__()
        self.fn = fn
        self.calls = 0
        self.config = SimpleNamespace(
            max_position_embeddings=512,
            num_labels=num_labels,
            id2label={0: "negative", 1: "positive"},
            model_type="bert",
            _name_or_path="rule",
        )
        self.embeddings = nn.Embedding(30522, 2)

    def get_input_embeddings(self) -> nn.Module:
        return self.embeddings

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, **_: object):
        self.calls += int(input_ids.shape[0])
        rows = [ids[m.bool()].tolist() for ids, m in zip(input_ids, attention_mask, strict=True)]
        return SimpleNamespace(logits=torch.tensor([list(self.fn(r)) for r in rows]))


_TOKENIZER = None


def tokenizer():
    global _TOKENIZER
    if _TOKENIZER is None:
        _TOKENIZER = base_tokenizer()
    return _TOKENIZER


def tid(word: str) -> int:
    return int(tokenizer().convert_tokens_to_ids(word))


def rule_adapter(fn: Callable[[list[int]], Sequence[float]], **kw) -> TextClassifierAdapter:
    return TextClassifierAdapter(RuleModel(fn), tokenizer(), **kw)


def linear_logit(coefs: dict[str, float]) -> Callable[[list[int]], list[float]]:
    ids = {tid(w): c for w, c in coefs.items()}

    def fn(row: list[int]) -> list[float]:
        return [0.0, sum(ids.get(t, 0.0) for t in row)]

    return fn


# -- perturbation ----------------------------------------------------------------------------


def test_token_removal_equals_retokenising_the_kept_words():
    adapter = rule_adapter(lambda r: [0.0, 0.0])
    text = "i keep overthinking everything but tomorrow is another day"
    enc = adapter.encode(text)
    lime = TextLime(adapter)
    space, _ = lime.space_for(enc)
    rng = np.random.default_rng(0)
    masks = rng.integers(0, 2, size=(20, space.n_base))
    for mask, row in zip(masks, space.rows(masks), strict=True):
        kept = " ".join(w for w, m in zip(enc.words, mask, strict=True) if m)
        assert row == tokenizer()(kept)["input_ids"]


def test_replacement_puts_one_token_per_absent_word():
    adapter = rule_adapter(lambda r: [0.0, 0.0])
    enc = adapter.encode("overthinking everything")  # over ##thinking every ##thing
    space, _ = TextLime(adapter).space_for(enc)
    mask_id = tokenizer().mask_token_id
    (row,) = space.rows(np.array([[0, 1]]), replace_id=mask_id)
    assert row == tokenizer()("[MASK] everything")["input_ids"]


def test_cosine_distance_matches_scikit_learn():
    from scipy.sparse import csr_matrix
    from sklearn.metrics.pairwise import pairwise_distances

    masks = np.random.default_rng(1).integers(0, 2, size=(50, 7)).astype(float)
    masks[0] = 1
    masks[1] = 0
    ref = pairwise_distances(csr_matrix(masks), csr_matrix(masks)[0], metric="cosine").ravel()
    np.testing.assert_allclose(cosine_distance_to_original(masks), ref * 100, atol=1e-9)


def test_lime_sampler_draws_official_neighbourhood():
    """Same RandomState calls as LimeTextExplainer.__data_labels_distances."""
    from lime.lime_text import IndexedString, LimeTextExplainer

    text = "a b c d e f g h"
    seen: list[list[str]] = []

    def classifier(texts):
        seen.extend(texts)
        return np.tile([0.5, 0.5], (len(texts), 1))

    LimeTextExplainer(random_state=3).explain_instance(text, classifier, num_samples=40)
    nb = sample_lime(8, 40, np.random.RandomState(3))
    words = IndexedString(text).inverse_vocab
    ours = [" ".join(w for w, m in zip(words, row, strict=True) if m) for row in nb.masks]
    assert ours == [" ".join(t.split()) for t in seen]


def test_kernel_sampler_estimates_official_objective_with_less_error():
    """Reference: the exact expected official-LIME ridge solution, by enumerating every mask."""
    d, n = 8, 600
    rng = np.random.default_rng(0)
    b = rng.normal(size=d)
    inter = rng.normal(size=(d, d)) * (rng.random((d, d)) < 0.3)

    def f(z):
        z = np.asarray(z, float)
        return 1 / (1 + np.exp(-(z @ b + np.einsum("ni,ij,nj->n", z, inter, z) * 0.5)))

    def kern(x):
        return lime_kernel(x, 25.0)

    # exact: official draws k removed ~ U{1..d}, then a uniform subset; row 0 is the original
    all_masks = np.array(list(itertools.product([0, 1], repeat=d)))
    removed = d - all_masks.sum(1)
    p = np.where(removed > 0, 1.0 / d / np.array([math.comb(d, k) for k in removed]), 0.0)
    X = np.vstack([np.ones((1, d)), all_masks])
    w = np.concatenate([[1.0], (n - 1) * p * kern(cosine_distance_to_original(all_masks))])
    from sklearn.linear_model import Ridge

    exact = Ridge(alpha=1.0).fit(X, f(X), sample_weight=w).coef_

    def err(nb):
        ww = nb.sample_weight * (
            1 if nb.kernel_factor else kern(cosine_distance_to_original(nb.masks))
        )
        coef = Ridge(alpha=1.0).fit(nb.masks, f(nb.masks), sample_weight=ww).coef_
        return np.sum((coef - exact) ** 2)

    ours = [
        err(sample_kernel(d, n, np.random.default_rng(s), kern, cosine_distance_to_original))
        for s in range(30)
    ]
    official = [err(sample_lime(d, n, np.random.RandomState(s))) for s in range(30)]
    # unbiased and at least twice as accurate (mean squared error) at the same n
    assert np.mean(ours) < 0.5 * np.mean(official)
    assert np.mean(ours) < 0.01 * np.sum(exact**2)


def _official_exact(d, n, f, alpha=1.0):
    """Reference: official LIME's expected ridge fit, every mask enumerated with its weight."""
    from sklearn.linear_model import Ridge

    all_masks = np.array(list(itertools.product([0, 1], repeat=d)))
    removed = d - all_masks.sum(1)
    p = np.where(removed > 0, 1.0 / d / np.array([math.comb(d, k) for k in removed]), 0.0)
    X = np.vstack([np.ones((1, d)), all_masks])
    w = np.concatenate(
        [[1.0], (n - 1) * p * lime_kernel(cosine_distance_to_original(all_masks), 25)]
    )
    m = Ridge(alpha=alpha).fit(X, f(X), sample_weight=w)
    return m.coef_, m.intercept_


def test_exchangeable_projection_equals_enumeration():
    d, n = 6, 500
    rng = np.random.default_rng(0)
    a, b, c = 0.3, rng.normal(size=d), rng.normal(size=(d, d))

    def g(z):
        z = np.asarray(z, float)
        return a + z @ b + np.einsum("ni,ij,nj->n", z, np.triu(c, 1), z)

    coef, intercept = _official_exact(d, n, g)
    mass = official_level_mass(
        d, n, level_weights(d, lambda x: lime_kernel(x, 25), cosine_distance_to_original)
    )
    lin, cross, pairs = exchangeable_projection(mass, alpha=1.0)
    got = lin @ np.concatenate([[a], b]) + cross @ np.array([c[j, k] for j, k in pairs])
    np.testing.assert_allclose(got[1:], coef, atol=1e-10)
    assert got[0] == pytest.approx(intercept, abs=1e-10)


def test_greg_estimates_official_lime_with_much_less_error():
    """Same expected answer as official LIME (exact enumeration), a fraction of its error."""
    d, n = 9, 500
    rng = np.random.default_rng(1)
    b = rng.normal(size=d)
    inter = np.triu(rng.normal(size=(d, d)) * (rng.random((d, d)) < 0.3), 1)

    def f(z):
        z = np.asarray(z, float)
        return 1 / (1 + np.exp(-(z @ b + np.einsum("ni,ij,nj->n", z, inter, z))))

    exact, _ = _official_exact(d, n, f)

    def kern(x):
        return lime_kernel(x, 25.0)

    mass = official_level_mass(d, n, level_weights(d, kern, cosine_distance_to_original))
    greg, official = [], []
    for s in range(20):
        nb = sample_kernel(d, n, np.random.default_rng(s), kern, cosine_distance_to_original)
        sur = LinearSurrogate("ridge").fit_greg(nb.masks, f(nb.masks), nb.sample_weight, mass)
        greg.append(np.sum((sur.coef_ - exact) ** 2))
        nb = sample_lime(d, n, np.random.RandomState(s))
        w = kern(cosine_distance_to_original(nb.masks))
        coef = LinearSurrogate("ridge").fit_arrays(nb.masks, f(nb.masks), w).coef_
        official.append(np.sum((coef - exact) ** 2))
    assert np.mean(greg) < 0.25 * np.mean(official)


# -- surrogates --------------------------------------------------------------------------------


@pytest.mark.parametrize("sampler", ["kernel", "lime"])
def test_linear_model_over_word_indicators_gives_true_coefficients(sampler):
    coefs = {"great": 2.0, "awful": -3.0, "movie": 0.5, "plot": 0.0, "the": 0.25}
    adapter = rule_adapter(linear_logit(coefs))
    text = "the movie had a great cast and an awful plot"
    lime = TextLime(adapter, "ols", output="log_odds", sampler=sampler, random_state=0)
    wa = lime.explain(text, target=1, n_samples=400)
    truth = np.array([coefs.get(w, 0.0) for w in wa.words])
    np.testing.assert_allclose(wa.scores, truth, atol=1e-6)
    assert wa.extras["score"] == pytest.approx(1.0)
    assert wa.extras["local_pred"] == pytest.approx(wa.extras["model_pred"], abs=1e-6)
    ridge = TextLime(adapter, "ridge", output="log_odds", sampler=sampler, random_state=0)
    np.testing.assert_allclose(
        ridge.explain(text, target=1, n_samples=2000).scores, truth, atol=0.1
    )


def test_lime_compatible_mode_matches_official_lime_on_same_neighbourhood():
    from lime.lime_text import LimeTextExplainer

    weights = {"not": 1.0, "bad": -2.0, "good": 1.5, "weak": -1.0, "the": 0.2}
    lin = linear_logit(weights)

    def fn(row):  # nonlinear: "not" flips "bad"
        z = lin(row)[1] + (3.0 if tid("not") in row and tid("bad") in row else 0.0)
        return [0.0, z]

    adapter = rule_adapter(fn)
    text = "the film was not bad but the ending was weak and the acting good"
    for seed in (0, 1):
        official = LimeTextExplainer(class_names=["negative", "positive"], random_state=seed)
        exp = official.explain_instance(
            text, adapter.predict_proba, labels=(1,), num_features=100, num_samples=500
        )
        ours = TextLime.lime_compatible(adapter, random_state=seed).explain(
            text, target=1, n_samples=500
        )
        ref = dict(exp.as_list(label=1))
        got = {name: w for name, w in ours.extras["lime_weights"]}
        assert set(got) == set(ref)
        for name in ref:
            assert got[name] == pytest.approx(ref[name], abs=1e-9)
        assert ours.extras["intercept"] == pytest.approx(exp.intercept[1], abs=1e-9)
        assert ours.extras["score"] == pytest.approx(exp.score, abs=1e-9)
        assert ours.extras["local_pred"] == pytest.approx(float(exp.local_pred[0]), abs=1e-9)


def test_lime_compatible_feature_selection_matches_official():
    from lime.lime_text import LimeTextExplainer

    adapter = rule_adapter(linear_logit({"not": 1.0, "bad": -2.0, "good": 1.5, "weak": -1.0}))
    text = "the film was not bad but the ending was weak and the acting good"
    for mode, k in (("forward_selection", 3), ("highest_weights", 4), ("lasso_path", 3)):
        official = LimeTextExplainer(random_state=0, feature_selection=mode)
        exp = official.explain_instance(
            text, adapter.predict_proba, labels=(1,), num_features=k, num_samples=300
        )
        ours = TextLime.lime_compatible(
            adapter, random_state=0, feature_selection=mode, num_features=k
        ).explain(text, target=1, n_samples=300)
        got = {n: w for n, w in ours.extras["lime_weights"] if w != 0}
        ref = dict(exp.as_list(label=1))
        assert set(got) == set(ref), mode
        for name in ref:
            assert got[name] == pytest.approx(ref[name], abs=1e-9)


def test_tree_surrogate_finds_both_words_of_an_and_rule():
    a, b = tid("pizza"), tid("tonight")

    def fn(row):
        return [0.0, 4.0 if a in row and b in row else -4.0]

    adapter = rule_adapter(fn)
    text = "we will have pizza with friends tonight after the long game"
    wa = TextLime(adapter, "tree", random_state=0, max_depth=3).explain(text, n_samples=800)
    assert set(wa.top_words(2)) == {"pizza", "tonight"}
    assert wa.extras["surrogate"] == "tree"
    path = [step["name"] for step in wa.extras["decision_path"]]
    assert set(path[:2]) == {"pizza", "tonight"}
    assert "pizza" in wa.extras["tree_text"] and "tonight" in wa.extras["tree_text"]
    top2 = sorted(wa.extras["features"], key=lambda f: -f["importance"])[:2]
    assert {f["name"] for f in top2} == {"pizza", "tonight"}


def test_tree_plot_draws(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    adapter = rule_adapter(linear_logit({"good": 2.0}))
    lime = TextLime(adapter, "tree", random_state=0)
    result, _ = lime.explain_encoding(adapter.encode("a good day"), 1, n_samples=100)
    ax = result.model.plot(result.feature_names)
    ax.figure.savefig(tmp_path / "tree.png")
    assert (tmp_path / "tree.png").stat().st_size > 0


def test_bigram_model_ranks_the_bigram_first():
    n, b = tid("not"), tid("bad")

    def fn(row):
        hit = any(x == n and y == b for x, y in itertools.pairwise(row))
        return [0.0, 3.0 if hit else -1.0]

    adapter = rule_adapter(fn)
    text = "honestly the soup was not bad at all and the service was quick"
    wa = TextLime(adapter, max_ngram=2, random_state=0).explain(text, target=1, n_samples=1000)
    assert wa.extras["lime_weights"][0][0] == "not bad"
    assert wa.extras["ngram_weights"][0][0] == "not bad"
    assert set(wa.top_words(2)) == {"not", "bad"}


@pytest.mark.parametrize("method", ["lasso", "elastic_net"])
def test_lasso_and_elastic_net_select_the_true_words(method):
    coefs = {"great": 2.0, "awful": -3.0, "movie": 0.8}
    adapter = rule_adapter(linear_logit(coefs))
    text = "the movie had a great cast and an awful plot with long scenes"
    wa = TextLime(adapter, method, output="log_odds", random_state=0).explain(text, n_samples=1000)
    nonzero = {w for w, s in zip(wa.words, wa.scores, strict=True) if s != 0}
    assert {"great", "awful", "movie"} <= nonzero
    if method == "lasso":
        assert nonzero == {"great", "awful", "movie"}


@pytest.mark.parametrize("method", ["lasso", "elastic_net"])
def test_sparse_surrogates_are_non_zero_on_lime_data_and_match_scikit_learn(method):
    """On probabilities of a saturated-ish model, Captum's Lasso(alpha=0.01) is all zero; ours is
    not, and at its chosen alpha it equals scikit-learn's estimator on the same weighted data."""
    from sklearn.linear_model import ElasticNet, Lasso

    adapter = rule_adapter(linear_logit({"thanks": 3.0, "so": 0.3, "much": 0.4}))
    text = "thanks so much really appreciate that look forward to more of your tweets"
    lime = TextLime(adapter, random_state=0)
    space, _ = lime.space_for(adapter.encode(text))
    nb = sample_lime(space.n_base, 1000, np.random.RandomState(0))
    X = nb.masks.astype(float)
    y = adapter.predict_ids(space.rows(nb.masks))[:, 1]
    w = lime_kernel(cosine_distance_to_original(X), 25.0)
    sur = LinearSurrogate(method).fit_arrays(X, y, w)
    assert np.count_nonzero(sur.coef_) >= 1
    sw = w / w.sum() * len(w)
    ref_cls = Lasso(alpha=sur.alpha_) if method == "lasso" else ElasticNet(alpha=sur.alpha_)
    ref = ref_cls.set_params(tol=1e-10, max_iter=100_000).fit(X, y, sample_weight=sw)
    np.testing.assert_allclose(sur.coef_, ref.coef_, atol=2e-5)
    assert sur.intercept_ == pytest.approx(ref.intercept_, abs=2e-5)


def test_auto_surrogate_reports_the_held_out_fidelity_and_picks_the_tree_for_an_and_rule():
    a, b = tid("pizza"), tid("tonight")
    adapter = rule_adapter(lambda r: [0.0, 5.0 if a in r and b in r else -5.0])
    text = "we will have pizza with friends tonight after the long game"
    wa = TextLime(adapter, "auto", random_state=0).explain(text, target=1, n_samples=1000)
    fid = wa.extras["surrogate_fidelity"]
    assert set(fid) == {"ridge", "lasso", "elastic_net", "tree"}
    assert wa.extras["surrogate"] == max(fid, key=fid.get) == "tree"


def test_captum_lime_accepts_our_surrogate_through_its_model_interface():
    from captum.attr import Lime

    lin = nn.Linear(6, 1)
    with torch.no_grad():
        lin.weight.copy_(torch.tensor([[1.0, -2.0, 0.0, 0.5, 0.0, 3.0]]))
        lin.bias.zero_()
    torch.manual_seed(0)
    lime = Lime(lin, interpretable_model=LinearSurrogate("lasso"))
    attr = lime.attribute(torch.ones(1, 6), baselines=torch.zeros(1, 6), n_samples=200)
    np.testing.assert_allclose(attr.numpy()[0], [1.0, -2.0, 0.0, 0.5, 0.0, 3.0], atol=0.05)


def test_confidence_intervals_cover_the_exact_weights():
    """Reference: the exact expected official-LIME ridge solution (every mask enumerated)."""
    d, n = 6, 300
    b = np.random.default_rng(0).normal(size=d)

    def f(z):
        return 1 / (1 + np.exp(-(np.asarray(z, float) @ b)))

    all_masks = np.array(list(itertools.product([0, 1], repeat=d)))
    removed = d - all_masks.sum(1)
    p = np.where(removed > 0, 1.0 / d / np.array([math.comb(d, k) for k in removed]), 0.0)
    Xe = np.vstack([np.ones((1, d)), all_masks])
    we = np.concatenate(
        [[1.0], (n - 1) * p * lime_kernel(cosine_distance_to_original(all_masks), 25)]
    )
    exact = LinearSurrogate("ridge").fit_arrays(Xe, f(Xe), we).coef_
    covered = []
    for s in range(100):
        nb = sample_lime(d, n, np.random.RandomState(s))
        X = nb.masks.astype(float)
        w = lime_kernel(cosine_distance_to_original(X), 25.0)
        sur = LinearSurrogate("ridge").fit_arrays(X, f(X), w)
        low, high, _ = sur.confidence_intervals(X, f(X), w)
        covered.append(np.mean((low <= exact) & (exact <= high)))
    assert 0.85 < np.mean(covered) <= 1.0


# -- the Captum API ---------------------------------------------------------------------------


def test_attribute_returns_input_shape_each_piece_carries_its_word_score():
    adapter = rule_adapter(linear_logit({"t": 1.0, "##wee": 1.0, "everything": -1.0}))
    ids, mask = adapter.captum_inputs("tweets everything")  # t ##wee ##ts everything
    lime = TextLime(adapter, "ols", output="log_odds", random_state=0)
    attr = lime.attribute(ids, target=1, additional_forward_args=(mask,), n_samples=100)
    assert attr.shape == ids.shape
    np.testing.assert_allclose(attr[0].numpy(), [0.0, 2.0, 2.0, 2.0, -1.0, 0.0], atol=1e-5)
    coefs = lime.attribute(ids, target=1, n_samples=100, return_input_shape=False)
    np.testing.assert_allclose(coefs.numpy(), [[2.0, -1.0]], atol=1e-5)
    assert lime.last_results_[0].score == pytest.approx(1.0)


def test_attribute_batch_with_padding_and_feature_mask():
    adapter = rule_adapter(linear_logit({"good": 1.0, "bad": -1.0, "day": 0.5}))
    tok = tokenizer()
    enc = tok(["good day", "bad bad day today"], padding=True, return_tensors="pt")
    ids, mask = enc["input_ids"], enc["attention_mask"]
    lime = TextLime(adapter, "ols", output="log_odds", random_state=0)
    attr = lime.attribute(ids, target=[1, 1], additional_forward_args=(mask,), n_samples=200)
    assert attr.shape == ids.shape
    np.testing.assert_allclose(attr[0, :4].numpy(), [0, 1.0, 0.5, 0], atol=1e-5)
    assert float(attr[0, 4:].abs().sum()) == 0.0  # padding
    np.testing.assert_allclose(attr[1].numpy(), [0, -1.0, -1.0, 0.5, 0, 0], atol=1e-5)
    # a feature mask grouping both "bad" into one feature (values < 0 are never perturbed)
    fm = torch.tensor([[-1, 0, 0, 1, 2, -1]])
    attr2 = lime.attribute(ids[1:], target=1, feature_mask=fm, n_samples=200)
    np.testing.assert_allclose(attr2[0].numpy(), [0, -2.0, -2.0, 0.5, 0, 0], atol=1e-5)


def test_scalar_baseline_replaces_like_the_pad_perturbation():
    seen: list[list[int]] = []

    def fn(row):
        seen.append(row)
        return [0.0, 0.0]

    adapter = rule_adapter(fn)
    ids, _ = adapter.captum_inputs("good day")
    TextLime(adapter, random_state=0).attribute(ids, baselines=0, target=1, n_samples=20)
    assert all(len(r) == 4 for r in seen)  # removal would shorten rows
    assert any(0 in r for r in seen)


def test_seed_gives_identical_results_and_other_seeds_differ():
    adapter = rule_adapter(
        lambda r: [0.0, math.tanh(sum((t % 7) - 3 for t in r) / 10) + 0.1 * (tid("day") in r)]
    )
    text = "what a long strange day it has been for all of us here"
    lime = TextLime(adapter)
    a = lime.explain(text, random_state=5, n_samples=300)
    b = lime.explain(text, random_state=5, n_samples=300)
    c = lime.explain(text, random_state=6, n_samples=300)
    np.testing.assert_array_equal(a.scores, b.scores)
    assert not np.array_equal(a.scores, c.scores)
    assert a.settings["random_state"] == 5


def test_each_distinct_perturbation_is_evaluated_once():
    adapter = rule_adapter(linear_logit({"good": 1.0}))
    model = adapter.model
    wa = TextLime(adapter, random_state=0).explain("good day", n_samples=500)
    # 2 words: at most 4 distinct texts (+1 prediction of the original by explain)
    assert wa.extras["n_evaluations"] <= 4
    assert model.calls <= 5


def test_adaptive_sampling_stops_when_top_k_separate():
    coefs = {"great": 2.0, "awful": -3.0, "movie": 0.5}
    adapter = rule_adapter(linear_logit(coefs))
    lime = TextLime(adapter, adaptive=True, top_k=2, output="log_odds", random_state=0)
    wa = lime.explain("the movie had a great cast and an awful plot", target=1, n_samples=5000)
    assert wa.extras["top_k_separated"] is True
    assert wa.extras["n_samples"] < 5000
    assert set(wa.top_words(3)) >= {"great"}


# -- edge cases -------------------------------------------------------------------------------


def test_one_word_text():
    adapter = rule_adapter(linear_logit({"great": 2.0}))
    wa = TextLime(adapter, random_state=0).explain("great", n_samples=50)
    assert wa.words == ["great"] and wa.scores[0] > 0


def test_repeated_words_positional_and_bag_of_words():
    adapter = rule_adapter(linear_logit({"very": 1.0, "good": 2.0}))
    text = "very very good"
    pos = TextLime(adapter, "ols", output="log_odds", random_state=0).explain(text, n_samples=200)
    np.testing.assert_allclose(pos.scores, [1.0, 1.0, 2.0], atol=1e-6)
    bow = TextLime(adapter, "ols", output="log_odds", bow=True, random_state=0)
    res = bow.explain(text, n_samples=200)
    np.testing.assert_allclose(res.scores, [2.0, 2.0, 2.0], atol=1e-6)  # one feature: both "very"
    assert [n for n, _ in res.extras["lime_weights"]].count("very") == 1


def test_constant_model_warns_and_gives_zero_weights():
    adapter = rule_adapter(lambda r: [0.0, 1.0])
    with pytest.warns(UserWarning, match="same model output"):
        wa = TextLime(adapter, random_state=0).explain("nothing matters here", n_samples=100)
    assert np.all(wa.scores == 0)
    assert wa.extras["intercept"] == pytest.approx(1 / (1 + math.exp(-1)))


def test_text_longer_than_512_word_pieces():
    adapter = rule_adapter(linear_logit({"good": 1.0}), max_length=512)
    text = " ".join(["good", "day"] * 400)  # 800 words
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        wa = TextLime(adapter, "ols", output="logits", random_state=0).explain(
            text, target=1, n_samples=600
        )
    assert any("max_length" in str(w.message) for w in caught)
    kept = wa.extras["n_words_truncated"]
    assert kept == 800 - 510
    np.testing.assert_allclose(wa.scores[:510:2], 1.0, atol=1e-4)
    assert np.all(wa.scores[510:] == 0)


def test_bad_arguments_raise_input_errors():
    adapter = rule_adapter(lambda r: [0.0, 1.0])
    with pytest.raises(InputError, match="perturbation"):
        TextLime(adapter, perturbation="drop")
    with pytest.raises(InputError, match="surrogate"):
        TextLime(adapter, interpretable_model="forest")
    with pytest.raises(InputError, match="n_samples"):
        TextLime(adapter).explain("a b", n_samples=0)
    with pytest.raises(InputError, match="no feature"):
        TextLime(adapter, units="lime").explain("!!! ???")
    with pytest.raises(InputError, match="2-D"):
        TextLime(adapter).attribute(torch.tensor([1, 2, 3]))


def test_registry_methods_and_extras():
    from captum_ext.methods import make_explainer

    adapter = rule_adapter(linear_logit({"not": -1.0, "bad": -1.0}))
    for name in ("lime", "lime-ngram", "lime-tree"):
        wa = make_explainer(name, adapter, n_samples=200).explain("not bad at all", random_state=0)
        assert wa.method == name
        for key in ("intercept", "local_pred", "model_pred", "score", "surrogate", "lime_weights"):
            assert key in wa.extras
        assert wa.to_json()  # JSON-ready extras
    wa = make_explainer("lime-ngram", adapter, n_samples=200).explain("not bad at all")
    assert any(n == "not bad" for n, _ in wa.extras["ngram_weights"])


def test_feature_space_ngrams_skip_repeats():
    space = FeatureSpace.from_units(
        [101, 1, 2, 1, 3, 102], ["a", "b", "a", "c"], [[1], [2], [3], [4]], bow=True, max_ngram=2
    )
    assert space.base_names == ["a", "b", "c"]
    assert space.ngram_names == ["a b", "b a", "a c"]
    assert space.ngrams == [(0, 1), (1, 0), (0, 2)]
