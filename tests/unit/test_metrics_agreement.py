"""Agreement metrics against scipy and hand-computed values."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy import stats

from captum_ext.errors import InputError
from captum_ext.metrics.agreement import (
    agreement_scores,
    feature_agreement,
    kendall_tau_b,
    pairwise_rank_agreement,
    rank_agreement,
    rank_biased_overlap,
    rank_correlation,
    rankdata_average,
    sign_agreement,
    signed_rank_agreement,
    spearman_rho,
    top_k,
)


@pytest.mark.parametrize("seed", range(20))
def test_kendall_and_spearman_match_scipy_with_ties(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 30))
    # small integer ranges give many ties
    a = rng.integers(0, 4, n).astype(float)
    b = rng.integers(0, 5, n).astype(float)
    ref_tau = stats.kendalltau(a, b, variant="b").statistic
    ref_rho = stats.spearmanr(a, b).statistic
    tau, rho = kendall_tau_b(a, b), spearman_rho(a, b)
    if np.isnan(ref_tau):
        assert np.isnan(tau)
    else:
        assert tau == pytest.approx(ref_tau, abs=1e-12)
    if np.isnan(ref_rho):
        assert np.isnan(rho)
    else:
        assert rho == pytest.approx(ref_rho, abs=1e-12)


@pytest.mark.parametrize("seed", range(5))
def test_continuous_scores_match_scipy(seed):
    rng = np.random.default_rng(100 + seed)
    a, b = rng.normal(size=25), rng.normal(size=25)
    assert kendall_tau_b(a, b) == pytest.approx(stats.kendalltau(a, b).statistic, abs=1e-12)
    assert spearman_rho(a, b) == pytest.approx(stats.spearmanr(a, b).statistic, abs=1e-12)
    np.testing.assert_allclose(rankdata_average(a), stats.rankdata(a))


def test_rankdata_average_ties():
    np.testing.assert_array_equal(rankdata_average([3, 1, 3, 2]), stats.rankdata([3, 1, 3, 2]))


def test_kendall_hand_value():
    # a = [1,2,2,3], b = [1,2,3,3]: 6 pairs; concordant 4, discordant 0, tied-in-a 1, tied-in-b 1
    # tau_b = 4 / sqrt(5 * 5) = 0.8
    assert kendall_tau_b([1, 2, 2, 3], [1, 2, 3, 3]) == pytest.approx(0.8)


def test_constant_or_short_vectors_give_nan():
    assert np.isnan(kendall_tau_b([1, 1, 1], [1, 2, 3]))
    assert np.isnan(spearman_rho([1, 2, 3], [0, 0, 0]))
    assert np.isnan(kendall_tau_b([1], [2]))
    assert np.isnan(pairwise_rank_agreement([1, 2, 3], [3, 2, 1], features=[0]))


def test_identical_rankings_agree_perfectly():
    a = np.array([0.9, -0.7, 0.5, 0.3, -0.1, 0.05])
    s = agreement_scores(a, a * 2.0, k=3)
    assert all(v == pytest.approx(1.0) for v in s.values()), s


def test_reversed_rankings_give_the_minimum():
    n = 6
    a = np.arange(n, 0, -1, dtype=float)  # 6 5 4 3 2 1
    b = a[::-1].copy()
    s = agreement_scores(a, b, k=3, by="value")
    assert s["kendall_tau"] == -1.0
    assert s["spearman"] == pytest.approx(-1.0)
    assert s["feature_agreement"] == 0.0
    assert s["rank_agreement"] == 0.0
    assert s["sign_agreement"] == 0.0
    assert s["signed_rank_agreement"] == 0.0
    assert s["pairwise_rank_agreement"] == 0.0
    assert s["rank_correlation"] == pytest.approx(-1.0)
    # RBO: the reversed order is the least similar of all permutations
    rbos = [
        rank_biased_overlap(a, np.array(perm, dtype=float), by="value")
        for perm in itertools.permutations(range(1, n + 1))
    ]
    assert s["rbo"] == pytest.approx(min(rbos))
    # by hand: overlaps at depth d are max(0, 2d - n) = 0, 0, 0, 2, 4, 6
    p = 0.9
    hand = p**6 + (1 - p) / p * sum(x / d * p**d for d, x in enumerate([0, 0, 0, 2, 4, 6], 1))
    assert s["rbo"] == pytest.approx(hand)


def test_krishna_metrics_hand_values():
    # ranks by |score|: a -> 0, 1, 2, 3 ; b -> 1, 0, 3, 2
    a = np.array([0.9, -0.8, 0.3, 0.1])
    b = np.array([-0.7, -0.9, 0.05, 0.2])
    assert top_k(a, 2).tolist() == [0, 1]
    assert top_k(b, 2).tolist() == [1, 0]
    assert feature_agreement(a, b, 2) == 1.0
    assert rank_agreement(a, b, 2) == 0.0
    assert sign_agreement(a, b, 2) == 0.5  # word 0 flips sign, word 1 agrees
    assert signed_rank_agreement(a, b, 2) == 0.0
    assert feature_agreement(a, b, 3) == pytest.approx(2 / 3)  # {0,1,2} vs {1,0,3}
    assert rank_agreement(a, b, 4) == 0.0
    # pairwise over all 6 pairs: only (0,1) and (2,3) are swapped
    assert pairwise_rank_agreement(a, b) == pytest.approx(4 / 6)
    # by value: a -> 0, 2, 3, 1 ; b -> 3, 2, 0, 1
    assert top_k(a, 2, by="value").tolist() == [0, 2]
    assert feature_agreement(a, b, 2, by="value") == 0.5
    assert rank_agreement(a, b, 2, by="value") == 0.5
    assert rank_correlation(a, b, by="value") == pytest.approx(stats.spearmanr(a, b).statistic)
    # restricted to features {0, 1, 2} by magnitude: a ranks 0>1>2, b ranks 1>0>2 -> rho = 0.5
    assert rank_correlation(a, b, features=[0, 1, 2]) == pytest.approx(0.5)


def test_ties_in_topk_follow_word_order():
    assert top_k([0.5, 0.5, 0.5, 0.1], 2).tolist() == [0, 1]
    # pairwise: a pair tied in both agrees, tied in one only disagrees
    assert pairwise_rank_agreement([1, 1, 0], [2, 2, 0]) == 1.0
    assert pairwise_rank_agreement([1, 1, 0], [2, 1, 0]) == pytest.approx(2 / 3)


def test_k_larger_than_text_is_clipped():
    assert feature_agreement([1, 2], [2, 1], k=10) == 1.0
    assert rank_agreement([1, 2], [2, 1], k=10) == 0.0


def test_rbo_hand_values():
    p = 0.9
    # swap of the first two of three: X = 0, 2, 3
    assert rank_biased_overlap([3, 2, 1], [2, 3, 1], by="value") == pytest.approx(
        p**3 + (1 - p) / p * (0 + p**2 + p**3)
    )
    # reversed three: X = 0, 1, 3 -> 0.855
    assert rank_biased_overlap([3, 2, 1], [1, 2, 3], by="value") == pytest.approx(
        p**3 + (1 - p) / p * (0 + 0.5 * p**2 + p**3)
    )
    assert rank_biased_overlap([3, 2, 1], [1, 2, 3], by="value") == pytest.approx(0.855)
    # top-weighted: a swap at the top costs more than at the bottom
    base = [5, 4, 3, 2, 1]
    top_swap = rank_biased_overlap(base, [4, 5, 3, 2, 1], by="value")
    bottom_swap = rank_biased_overlap(base, [5, 4, 3, 1, 2], by="value")
    assert top_swap < bottom_swap < 1.0


def test_sign_metrics_can_be_disabled():
    s = agreement_scores([0.2, 0.1], [0.3, 0.1], k=1, signs=False)
    assert np.isnan(s["sign_agreement"]) and np.isnan(s["signed_rank_agreement"])


@pytest.mark.parametrize(
    "call",
    [
        lambda: kendall_tau_b([1, 2], [1, 2, 3]),
        lambda: feature_agreement([1, 2], [1, 2], k=0),
        lambda: spearman_rho([1, np.nan], [1, 2]),
        lambda: rank_biased_overlap([1, 2], [1, 2], p=1.0),
        lambda: top_k([1, 2], 1, by="rank"),
        lambda: pairwise_rank_agreement([1, 2], [1, 2], features=[5]),
    ],
)
def test_bad_input_raises_input_error(call):
    with pytest.raises(InputError):
        call()
