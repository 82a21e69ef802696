"""``lime`` evaluates no more distinct model rows than official LIME at equal ``n_samples``, and
its row budget keeps official LIME's answer (issue 15, "LIME rows")."""

from __future__ import annotations

import contextlib
import re

import numpy as np
import pytest
from test_text_lime import linear_logit, rule_adapter, tid

from captum_ext.attr import TextLime
from captum_ext.attr.perturbation import (
    cosine_distance_to_original,
    expected_distinct_official,
    lime_kernel,
    sample_kernel,
    sample_lime,
)
from captum_ext.methods import make_explainer

# tweets with punctuation, emoji and repeated words: our words outnumber official LIME's tokens
TWEETS = [
    "@friend i hate mondays so much, worst day of the week!! going back to bed now",
    "not bad at all =) see you at the party tonight my friend, can't wait to see you",
    "ugh my phone broke again... so so annoyed, the new one arrives next week i hope",
]


@contextlib.contextmanager
def distinct_rows(adapter):
    """Collects every distinct token row the model is asked for inside the block."""
    seen: set[tuple[int, ...]] = set()
    original = adapter.predict_ids

    def predict_ids(rows, *, output="probs", show_progress=False):
        seen.update(tuple(int(t) for t in r) for r in rows)
        return original(rows, output=output, show_progress=show_progress)

    adapter.predict_ids = predict_ids
    try:
        yield seen
    finally:
        del adapter.predict_ids


def _official(adapter, text, n, seed):
    from lime.lime_text import LimeTextExplainer

    return LimeTextExplainer(class_names=list(adapter.labels), random_state=seed).explain_instance(
        text, adapter.predict_proba, labels=(1,), num_features=100, num_samples=n
    )


def test_expected_distinct_rows_of_official_lime():
    """The closed form against official LIME's own draws (``sample_lime`` is call for call
    official LIME's, tested in test_text_lime.py)."""
    for d, n in [(5, 200), (12, 500), (16, 1000)]:
        counts = [
            len(np.unique(sample_lime(d, n, np.random.RandomState(s)).masks, axis=0))
            for s in range(40)
        ]
        sem = np.std(counts) / np.sqrt(len(counts)) + 1e-9
        assert abs(np.mean(counts) - expected_distinct_official(d, n)) < 4 * sem + 0.5


@pytest.mark.parametrize("sampler", ["kernel", "lime"])
def test_budgeted_samplers_stay_within_the_budget_and_keep_the_total_weight(sampler):
    d, n, budget = 14, 800, 500.0

    def kern(x):
        return lime_kernel(x, 25.0)

    for s in range(3):
        if sampler == "kernel":
            free = sample_kernel(d, n, np.random.default_rng(s), kern, cosine_distance_to_original)
            nb = sample_kernel(
                d, n, np.random.default_rng(s), kern, cosine_distance_to_original,
                max_distinct=budget,
            )  # fmt: skip
            total = nb.sample_weight.sum()
            assert total == pytest.approx(free.sample_weight.sum(), rel=1e-9)
        else:
            free = sample_lime(d, n, np.random.RandomState(s))
            nb = sample_lime(d, n, np.random.RandomState(s), max_distinct=budget)
            # a prefix of official LIME's own draws, standing for all n of them
            np.testing.assert_array_equal(nb.masks, free.masks[: len(nb.masks)])
            assert nb.sample_weight.sum() == pytest.approx(n)
        assert len(np.unique(free.masks, axis=0)) > budget  # the budget binds here
        assert len(np.unique(nb.masks, axis=0)) <= budget
        assert nb.n_samples == n


def test_lime_evaluates_no_more_rows_than_official_lime(adapter):
    """At equal n_samples, averaged over seeds, on tweets where our words outnumber official
    LIME's tokens; without the row budget (the previous default) it evaluates more."""
    n, seeds = 300, range(3)
    ours = make_explainer("lime", adapter, n_samples=n)
    unbudgeted = make_explainer("lime", adapter, n_samples=n, row_budget=None)
    for text in TWEETS:
        assert len(adapter.encode(text).words) > len({t for t in re.split(r"\W+", text) if t})
        counts: dict[str, list[int]] = {"official": [], "ours": [], "unbudgeted": []}
        for seed in seeds:
            with distinct_rows(adapter) as seen:
                _official(adapter, text, n, seed)
            counts["official"].append(len(seen))
            for name, explainer in (("ours", ours), ("unbudgeted", unbudgeted)):
                with distinct_rows(adapter) as seen:
                    wa = explainer.explain(text, target=1, random_state=seed)
                counts[name].append(len(seen))
                assert wa.extras["n_samples"] == n
        mean = {k: float(np.mean(v)) for k, v in counts.items()}
        assert mean["ours"] <= mean["official"], (text, counts)
        assert mean["unbudgeted"] > mean["official"], (text, counts)


def _rule_model():
    weights = {"not": 1.0, "bad": -2.0, "good": 1.5, "weak": -1.0, "film": 0.4, "acting": 0.7}
    lin = linear_logit(weights)

    def fn(row):  # nonlinear: "not" flips "bad"
        return [0.0, lin(row)[1] + (3.0 if tid("not") in row and tid("bad") in row else 0.0)]

    return rule_adapter(fn)


@pytest.mark.parametrize("sampler", ["kernel", "lime"])
def test_row_budget_agrees_with_official_lime_on_many_samples(sampler):
    """Same features, kernel and estimand as official LIME: the budgeted neighbourhood gives
    official LIME's ranking (weights correlated > 0.99, same top 4) with no more model rows."""
    from scipy.stats import spearmanr

    adapter = _rule_model()
    text = "the film was not bad but the ending was weak and the acting good"
    n = 4000
    ref: dict[str, list[float]] = {}
    official_rows = []
    for seed in range(3):
        with distinct_rows(adapter) as seen:
            exp = _official(adapter, text, n, seed)
        official_rows.append(len(seen))
        for name, w in exp.as_list(label=1):
            ref.setdefault(name, []).append(w)
    official = {k: float(np.mean(v)) for k, v in ref.items()}
    lime = TextLime.lime_compatible(
        adapter, sampler=sampler, estimator="greg", row_budget="official"
    )
    with distinct_rows(adapter) as seen:
        wa = lime.explain(text, target=1, n_samples=n, random_state=0)
    assert len(seen) <= np.mean(official_rows)
    got = dict(wa.extras["lime_weights"])
    names = sorted(official)
    a = np.array([official[k] for k in names])
    b = np.array([got[k] for k in names])
    assert np.corrcoef(a, b)[0, 1] > 0.99
    assert spearmanr(a, b).statistic > 0.9

    def top(weights):
        return set(sorted(weights, key=lambda k: -abs(weights[k]))[:4])

    assert top(got) == top(official)


def test_short_text_with_more_features_than_official_still_gets_a_fit():
    """Official LIME sees 2 features in "very very good"; ours are 3 positional words: the
    budget never drops below the masks a fit of our features needs."""
    adapter = rule_adapter(linear_logit({"very": 1.0, "good": 2.0}))
    wa = TextLime(adapter, "ols", output="log_odds", random_state=0).explain(
        "very very good", n_samples=200
    )
    np.testing.assert_allclose(wa.scores, [1.0, 1.0, 2.0], atol=1e-6)


def test_row_budget_is_checked_and_recorded(adapter):
    from captum_ext.errors import InputError

    with pytest.raises(InputError, match="row_budget"):
        TextLime(adapter, row_budget="twice")
    assert TextLime(adapter).settings()["row_budget"] == "official"
    assert TextLime.lime_compatible(adapter).settings()["row_budget"] is None
