"""Representer points, kNN and the label audit on the real fine-tuned default model.

A 1,200-tweet sample of the model's own training set and 300 of its held-out test tweets keep
this under a minute or two on the project's 2-core CPU (features cached in a temporary folder).
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from captum_ext.cli import main
from captum_ext.data import EXAMPLE_TWEETS, TextDataset
from captum_ext.influence import (
    FeatureSimilarityKNN,
    MislabelAudit,
    RepresenterPoints,
    precision_at,
)


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)  # two threads spin-wait badly when the cores are shared
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def data(default_model_path):
    from captum_ext.train import model_splits

    train, test = model_splits(default_model_path)
    train, test = train.sample(1200, seed=0), test.subset(np.arange(300))
    return train, test


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("influence_features")


def test_representer_is_faithful_on_held_out_tweets(real_adapter, data, cache):
    train, test = data
    rp = RepresenterPoints(real_adapter, train, cache_dir=cache).fit()
    report = rp.fidelity(held_out=test.texts)
    assert report["held_out"]["pearson"] >= 0.99, report
    assert report["held_out"]["agreement"] >= 0.98, report
    # fitted to the labels, alpha_i is proportional to (y_i - p_i): a clearly positive tweet rests
    # on positively labelled tweets the model agrees with, and its opponents are training tweets
    # whose label the model rejects (negatively labelled ones it sees as positive, or positively
    # labelled ones it sees as negative that lie on the other side of the feature space). So the
    # opponents' labels are mixed, but the model disagrees with nearly all of them, far above the
    # base rate of disagreement on the training sample.
    rp_labels = RepresenterPoints(real_adapter, train, target="labels", cache_dir=cache)
    pro = rp_labels.explain([EXAMPLE_TWEETS[1]], k=10)
    opp = rp_labels.explain([EXAMPLE_TWEETS[1]], k=10, proponents=False)
    assert pro.predicted[0] == 1
    assert train.labels[pro.indices[0]].mean() >= 0.8
    assert (opp.scores[0] < 0).all()
    train_pred = real_adapter.predict_proba(list(train.texts)).argmax(1)
    rejected = train_pred != train.labels
    assert rejected[opp.indices[0]].mean() >= 0.8
    assert rejected[pro.indices[0]].mean() <= 0.2
    assert rejected.mean() <= 0.3  # the base rate the opponents are compared with


def test_knn_neighbours_support_the_prediction(real_adapter, data, cache):
    train, test = data
    knn = FeatureSimilarityKNN(real_adapter, train, cache_dir=cache)
    res = knn.explain(test.texts[:100], k=10)
    # neighbours mostly carry the predicted label (the head is linear in these features)
    assert res.extras["agreement_rate"].mean() >= 0.8


def test_audit_finds_planted_label_flips(real_adapter, data, cache):
    train, _ = data
    rng = np.random.default_rng(0)
    flipped = np.zeros(len(train), dtype=bool)
    flipped[rng.choice(len(train), 60, replace=False)] = True
    noisy = TextDataset(train.texts, np.where(flipped, 1 - train.labels, train.labels))
    audit = MislabelAudit(real_adapter, noisy, cache_dir=cache).fit()
    # the model never saw these flips, so they stand out; random would give 0.05
    assert precision_at(audit.scores_["combined"], flipped, 0.05) >= 0.5


def test_influence_command_on_the_default_model(data, cache, capsys):
    # the same training sample and held-out tweets as the fixtures: features come from the cache
    code = main(["influence", EXAMPLE_TWEETS[2], "--k", "3", "--sample", "1200", "--seed", "0",
                 "--fidelity-n", "300", "--json", "--cache-dir", str(cache)])  # fmt: skip
    out = capsys.readouterr()
    assert code == 0, out.err
    obj = json.loads(out.out)
    assert len(obj["proponents"]) == 3 and len(obj["opponents"]) == 3
    assert obj["fidelity"]["train"]["pearson"] > 0.99
    assert obj["fidelity"]["held_out"]["n"] == 300 and obj["fidelity"]["held_out"]["pearson"] > 0.99
