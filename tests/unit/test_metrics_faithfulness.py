"""Faithfulness metrics: the masking operator on real tokenisations, hand values, and a random
explanation against the random-ranking baseline on a known additive model."""

from __future__ import annotations

import numpy as np
import pytest

from captum_ext.adapters.alignment import encode_text
from captum_ext.errors import InputError
from captum_ext.metrics.faithfulness import (
    ERASER_BINS,
    aopc,
    bin_sizes,
    delete_words,
    deletion_area,
    deletion_steps,
    faithfulness_rows,
    faithfulness_scores,
    keep_words,
    leave_one_out_rows,
    random_rankings,
)
from tests.conftest import base_tokenizer


@pytest.fixture(scope="module")
def tokenizer():
    return base_tokenizer()


def test_delete_words_removes_every_piece_of_a_word(tokenizer):
    enc = encode_text(tokenizer, "unbelievably good, don't go", 32)
    assert enc.words == ["unbelievably", "good", ",", "don", "'", "t", "go"]
    first = enc.word_token_positions[0]
    assert len(first) > 1  # a multi-piece word
    row = delete_words(enc.input_ids, enc.token_to_word, [0, 2])
    expected = tokenizer("good don't go")["input_ids"]
    assert row == expected
    assert row[0] == tokenizer.cls_token_id and row[-1] == tokenizer.sep_token_id
    kept = keep_words(enc.input_ids, enc.token_to_word, [0])
    assert kept == tokenizer("unbelievably")["input_ids"]
    assert delete_words(enc.input_ids, enc.token_to_word, []) == enc.input_ids


def test_truncated_words_take_no_part(tokenizer):
    enc = encode_text(tokenizer, "one two three four five six", 5)  # 3 content pieces fit
    assert enc.n_words_kept == 3
    r = faithfulness_rows(enc.input_ids, enc.token_to_word, [5, 4, 0, 1, 2], bins=(0.34, 1.0))
    assert r.n_words == 3
    # ranking of seen words: 0, 1, 2 (5 and 4 were truncated away)
    assert r.ks == [2, 3]
    assert r.comprehensiveness[0] == tokenizer("three")["input_ids"]
    assert r.sufficiency[0] == tokenizer("one two")["input_ids"]


def test_ranking_missing_words_are_appended_in_word_order():
    r = faithfulness_rows([1, 10, 11, 12, 2], [None, 0, 1, 2, None], [2], bins=(1.0,))
    assert r.deletion == [[1, 10, 11, 12, 2], [1, 10, 11, 2], [1, 11, 2], [1, 2]]


def test_bin_sizes_and_steps_by_hand():
    assert bin_sizes(1) == [1, 1, 1, 1, 1]
    assert bin_sizes(10) == [1, 1, 1, 2, 5]
    assert bin_sizes(20) == [1, 1, 2, 4, 10]
    assert bin_sizes(7, (0.5, 1.0)) == [4, 7]
    assert deletion_steps(3) == [0, 1, 2, 3]
    assert deletion_steps(100, 4) == [0, 25, 50, 75, 100]
    with pytest.raises(InputError):
        bin_sizes(5, (0.0,))
    with pytest.raises(InputError):
        bin_sizes(0)


def test_aopc_and_area_by_hand():
    assert aopc(0.8, [0.8, 0.6, 0.2]) == pytest.approx((0 + 0.2 + 0.6) / 3)
    # linear drop from 1 to 0 over the whole text: area 1/2
    assert deletion_area([0, 1, 2, 3, 4], [1, 0.75, 0.5, 0.25, 0], 4) == pytest.approx(0.5)
    # flat curve at p: area p
    assert deletion_area([0, 2, 4], [0.3, 0.3, 0.3], 4) == pytest.approx(0.3)


def _additive_prob(weights: np.ndarray, t2w, rows) -> np.ndarray:
    """A known model: p = sigmoid(sum of the weights of the words present in the row)."""
    out = []
    ids_to_word = {100 + w: w for w in range(len(weights))}
    for row in rows:
        z = sum(weights[ids_to_word[t]] for t in row if t in ids_to_word)
        out.append(1 / (1 + np.exp(-z)))
    return np.array(out)


def _score(weights, ranking):
    n = len(weights)
    ids = [1] + [100 + w for w in range(n)] + [2]
    t2w = [None, *range(n), None]
    rows = faithfulness_rows(ids, t2w, ranking)
    p_full = float(_additive_prob(weights, t2w, [ids])[0])
    probs = _additive_prob(weights, t2w, rows.all_rows())
    return faithfulness_scores(p_full, rows, probs)


def test_oracle_beats_random_and_random_explanation_matches_random_baseline():
    rng = np.random.default_rng(0)
    oracle, random_expl, baseline = [], [], []
    for t in range(300):
        n = int(rng.integers(4, 25))
        weights = rng.normal(0, 1.0, n)
        oracle.append(_score(weights, np.argsort(-weights, kind="stable"))["comprehensiveness"])
        # a random explanation: random scores, ranked like any method's
        random_scores = rng.normal(size=n)
        random_expl.append(_score(weights, np.argsort(-random_scores))["comprehensiveness"])
        # the random-ranking baseline: the mean over several random orders of this text
        perms = random_rankings(n, 8, random_state=t)
        baseline.append(np.mean([_score(weights, p)["comprehensiveness"] for p in perms]))
    oracle, random_expl, baseline = map(np.asarray, (oracle, random_expl, baseline))
    diff = random_expl - baseline
    se = diff.std(ddof=1) / np.sqrt(diff.size)
    assert abs(diff.mean()) < 3 * se + 1e-3, (diff.mean(), se)
    assert oracle.mean() > baseline.mean() + 0.1


def test_scores_by_hand_on_a_two_word_model():
    weights = np.array([3.0, -1.0])
    s = _score(weights, [0, 1])
    sig = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731
    p_full = sig(2.0)
    # n=2: bins give k = 1,1,1,1,1 -> remove word 0 every time
    assert s["ks"] == [1, 1, 1, 1, 1]
    assert s["comprehensiveness"] == pytest.approx(p_full - sig(-1.0))
    assert s["sufficiency"] == pytest.approx(p_full - sig(3.0))
    curve = [p_full, sig(-1.0), sig(0.0)]
    assert s["deletion_curve"] == pytest.approx(curve)
    assert s["deletion_auc"] == pytest.approx(
        0.5 * (curve[0] + curve[1]) / 2 + 0.5 * (curve[1] + curve[2]) / 2
    )


def test_leave_one_out_rows_and_split_errors():
    words, rows = leave_one_out_rows([1, 5, 6, 6, 2], [None, 0, 1, 1, None])
    assert words == [0, 1]
    assert rows == [[1, 6, 6, 2], [1, 5, 2]]
    r = faithfulness_rows([1, 5, 2], [None, 0, None], [0])
    with pytest.raises(InputError):
        r.split([0.1])
    with pytest.raises(InputError):
        faithfulness_rows([1, 2], [None, None], [])
    assert len(ERASER_BINS) == 5
