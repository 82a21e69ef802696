"""Plausibility metrics against scikit-learn and hand-computed values."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, f1_score

from captum_ext.errors import InputError
from captum_ext.metrics.plausibility import (
    auprc,
    iou_f1,
    plausibility_scores,
    rationale_spans,
    token_f1,
)


@pytest.mark.parametrize("seed", range(15))
def test_auprc_matches_sklearn_with_ties(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(3, 30))
    human = rng.integers(0, 2, n)
    human[0] = 1
    scores = rng.integers(0, 5, n).astype(float)  # many ties
    assert auprc(scores, human) == pytest.approx(average_precision_score(human, scores))


@pytest.mark.parametrize("seed", range(10))
def test_token_f1_matches_sklearn(seed):
    rng = np.random.default_rng(50 + seed)
    pred, human = rng.integers(0, 2, 12), rng.integers(0, 2, 12)
    human[0] = pred[1] = 1
    assert token_f1(pred, human) == pytest.approx(f1_score(human, pred))


def test_iou_f1_by_hand():
    human = [1, 1, 1, 0, 0, 1, 1, 0]  # spans (0,3), (5,7)
    assert rationale_spans(human) == [(0, 3), (5, 7)]
    # predicted (0,2): IOU 2/3 with (0,3) -> match; (6,8): IOU 1/3 with (5,7) -> no match
    pred = [1, 1, 0, 0, 0, 0, 1, 1]
    p, r = 1 / 2, 1 / 2
    assert iou_f1(pred, human) == pytest.approx(2 * p * r / (p + r))
    assert iou_f1(human, human) == 1.0
    assert iou_f1([0, 0], [0, 0]) == 1.0
    assert iou_f1([1, 0], [0, 0]) == 0.0


def test_plausibility_scores_top_k_by_number_of_marked_words():
    s = plausibility_scores([0.1, 0.9, 0.8, -2.0], [0, 1, 0, 1])
    # by value the top-2 are words 1 and 2: one of two right
    assert s["token_f1"] == pytest.approx(0.5)
    s_abs = plausibility_scores([0.1, 0.9, 0.8, -2.0], [0, 1, 0, 1], by="abs")
    assert s_abs["token_f1"] == 1.0 and s_abs["auprc"] == 1.0
    assert np.isnan(auprc([0.1, 0.2], [0, 0]))


def test_bad_masks_raise():
    with pytest.raises(InputError):
        token_f1([0, 2], [0, 1])
    with pytest.raises(InputError):
        auprc([0.1], [1, 0])
