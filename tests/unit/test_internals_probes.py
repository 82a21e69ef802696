"""Layer probes: a planted linear feature, control tasks, tweet properties, the feature cache."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from shared_fixtures import one_thread  # noqa: F401 (autouse fixture)

from captum_ext.adapters import TextClassifierAdapter
from captum_ext.errors import InputError
from captum_ext.internals import (
    FeatureCache,
    control_labels,
    layer_features,
    probe,
    probe_layers,
    tweet_properties,
)


def _random_texts(n: int, seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    vocab = [f"w{i}" for i in range(300)]
    return [" ".join(rng.choice(vocab, size=rng.integers(4, 12))) for _ in range(n)]


def test_planted_linear_feature_probe_near_100_control_near_chance():
    rng = np.random.default_rng(0)
    n, d = 800, 24
    texts = _random_texts(n, 1)
    X = rng.normal(size=(n, 3, d))
    direction = rng.normal(size=d)
    y = (X[:, 2] @ direction > 0).astype(int)  # planted in layer 2 only
    yc = control_labels(texts, y, random_state=0)
    df = probe_layers(X, y, control=yc, cv=5, random_state=0)
    assert df["layer"].tolist() == [0, 1, 2]
    assert df.loc[2, "score"] >= 0.95
    assert abs(df.loc[0, "score"] - 0.5) < 0.08 and abs(df.loc[1, "score"] - 0.5) < 0.08
    # the control labels depend on random word types, not on the features: chance everywhere
    assert np.all(np.abs(df["control_score"] - 0.5) < 0.08)
    assert df.loc[2, "selectivity"] > 0.35
    assert np.allclose(df["selectivity"], df["score"] - df["control_score"])


def test_probe_is_seeded():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(200, 2, 8))
    y = (X[:, 1, 0] + 0.5 * rng.normal(size=200) > 0).astype(int)
    a = probe_layers(X, y, random_state=1)
    b = probe_layers(X, y, random_state=1)
    c = probe_layers(X, y, random_state=2)
    assert a.equals(b)
    assert not a["score"].equals(c["score"])


def test_probe_matches_sklearn_cross_val_score():
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    rng = np.random.default_rng(5)
    X = rng.normal(size=(300, 10))
    y = (X[:, 0] - X[:, 3] + rng.normal(size=300) > 0).astype(int)
    ours = probe_layers(X, y, cv=4, random_state=7)
    ref = cross_val_score(
        make_pipeline(
            StandardScaler(), LogisticRegression(C=1.0, max_iter=2000, class_weight="balanced")
        ),
        X,
        y,
        cv=StratifiedKFold(4, shuffle=True, random_state=7),
        scoring="balanced_accuracy",
    )
    assert ours.loc[0, "score"] == pytest.approx(ref.mean(), abs=1e-9)
    assert ours.loc[0, "score_std"] == pytest.approx(ref.std(), abs=1e-9)


def test_control_labels_structure_and_base_rate():
    texts = _random_texts(1000, 2)
    y = np.r_[np.ones(300, int), np.zeros(700, int)]
    yc = control_labels(texts, y, random_state=0)
    assert abs(yc.mean() - 0.3) <= 0.05 * 0.3
    # with rare word types (as in tweets) a rare task's rate is matched closely too
    zipf = [f"{t} rare{i}" for i, t in enumerate(texts)]
    rare = control_labels(zipf, np.r_[np.ones(20, int), np.zeros(980, int)], random_state=0)
    assert 19 <= rare.sum() <= 21  # 2% +- 5% of it
    assert np.array_equal(yc, control_labels(texts, y, random_state=0))
    assert not np.array_equal(yc, control_labels(texts, y, random_state=1))
    # a function of word identity: "contains one of a set S of word types"; S = the types that
    # occur only in positive texts must explain every positive text
    words = [set(t.split()) for t in texts]
    in_neg = set().union(*(w for w, c in zip(words, yc, strict=True) if c == 0))
    S = set().union(*words) - in_neg
    assert all(bool(w & S) == bool(c) for w, c in zip(words, yc, strict=True))
    with pytest.raises(InputError, match="binary"):
        control_labels(texts, np.arange(1000) % 3)


def test_tweet_properties_by_hand():
    texts = [
        "@bob not today =(",
        "lovely day",
        "see http://bit.ly/x at 10:30",
        "i can't even",
        "XD so funny",
        "mail me@home.com nope",
        "love you &lt;3",
        "nothing ^_^",
    ]
    df = tweet_properties(texts).astype(int)
    assert df.values.tolist() == [
        [1, 1, 1],
        [0, 0, 0],
        [0, 0, 0],
        [1, 0, 0],
        [0, 0, 1],
        [1, 0, 0],
        [0, 0, 1],
        [1, 0, 1],
    ]


@pytest.fixture(scope="module")
def adapter(tiny_bert_dir):
    return TextClassifierAdapter.from_pretrained(tiny_bert_dir)


TWEETS = [
    "@amy not today =(",
    "what a lovely day",
    "i can't believe it :)",
    "@joe see you soon",
    "no way this happened",
    "so tired",
]


def test_layer_features_are_mean_pooled_hidden_states(adapter, tmp_path):
    feats, info = layer_features(adapter, TWEETS, cache=tmp_path)
    assert feats.shape == (len(TWEETS), 3, 32) and info["cache"] == "miss"
    for i, t in enumerate(TWEETS):
        hs = adapter.hidden_states(t)  # (layers + 1, L, H), [CLS] first, [SEP] last
        np.testing.assert_allclose(feats[i], hs[:, 1:-1].mean(axis=1), atol=1e-5)


def test_features_cached_on_disk_and_model_not_called_again(adapter, tmp_path):
    feats, info = layer_features(adapter, TWEETS, cache=tmp_path)
    rows_before = adapter.n_forward_rows
    again, info2 = layer_features(adapter, TWEETS, cache=tmp_path)
    assert info2["cache"] == "hit" and info2["key"] == info["key"]
    assert adapter.n_forward_rows == rows_before
    np.testing.assert_array_equal(again, feats)
    _, other = layer_features(adapter, TWEETS[:-1], cache=tmp_path)
    assert other["cache"] == "miss" and other["key"] != info["key"]
    _, off = layer_features(adapter, TWEETS, cache=False)
    assert off["cache"] == "off"


def test_cache_key_changes_with_the_model(tiny_bert_dir, tmp_path):
    a = TextClassifierAdapter.from_pretrained(tiny_bert_dir)
    b = TextClassifierAdapter.from_pretrained(tiny_bert_dir)
    with torch.no_grad():
        b.model.bert.encoder.layer[0].output.dense.bias.add_(0.01)
    _, ia = layer_features(a, TWEETS, cache=tmp_path)
    _, ib = layer_features(b, TWEETS, cache=tmp_path)
    assert ib["cache"] == "miss" and ia["key"] != ib["key"]


def test_feature_cache_refuses_bad_keys_and_ignores_corrupt_files(tmp_path):
    cache = FeatureCache(tmp_path)
    with pytest.raises(InputError, match="cache key"):
        cache.path("../escape")
    cache.put("k", np.ones((2, 3)))
    np.testing.assert_array_equal(cache.get("k"), np.ones((2, 3)))
    cache.path("k").write_bytes(b"not a numpy file")
    assert cache.get("k") is None


def test_probe_end_to_end_on_tiny_bert(adapter, tmp_path):
    texts = TWEETS * 5
    labels = [0, 1, 1, 1, 0, 0] * 5
    res = probe(adapter, texts, labels, cv=2, cache=tmp_path)
    assert set(res.frame["task"]) == {"sentiment", "negation", "mention", "emoticon"}
    assert len(res.frame) == 4 * 3
    assert {"score", "control_score", "selectivity", "positive_rate"} <= set(res.frame)
    d = res.to_dict()
    assert d["features"]["cache"] == "miss" and len(d["layers"]) == 12
    res.plot(tmp_path / "p.png")
    assert (tmp_path / "p.png").stat().st_size > 0
    with pytest.raises(InputError, match="unknown task 'sentiment'"):
        probe(adapter, texts, None, tasks=["sentiment"], cache=False)
