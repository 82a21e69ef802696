"""SP-LIME against official SubmodularPick: same sample, same pick; resumable; sparse."""

from __future__ import annotations

import json

import numpy as np
import pytest
from test_text_lime import linear_logit, rule_adapter

from captum_ext.attr import SubmodularPick, TextLime, coverage_pick
from captum_ext.errors import InputError


class _StubExplanation:
    """What official SubmodularPick reads from an explanation."""

    mode = "classification"

    def __init__(self, pairs, label=1):
        self.pairs = pairs
        self.label = label

    def available_labels(self):
        return [self.label]

    def as_list(self, label=1):
        return list(self.pairs)


class _StubExplainer:
    def __init__(self, table):
        self.table = table

    def explain_instance(self, text, predict_fn, num_features=10, top_labels=1, **kw):
        return _StubExplanation(self.table[text])


def _random_table(n, vocab, rng):
    table = {}
    for i in range(n):
        k = int(rng.integers(1, 6))
        words = rng.choice(vocab, size=k, replace=False)
        table[f"text {i}"] = [(str(w), float(rng.normal())) for w in words]
    return table


@pytest.mark.parametrize("seed", range(5))
def test_coverage_pick_equals_official_greedy(seed):
    from lime.submodular_pick import SubmodularPick as OfficialPick

    rng = np.random.default_rng(seed)
    vocab = [f"w{j}" for j in range(30)]
    table = _random_table(40, vocab, rng)
    data = list(table)
    official = OfficialPick(_StubExplainer(table), data, None, method="full", num_exps_desired=6)
    names = sorted({w for pairs in table.values() for w, _ in pairs})
    W = np.zeros((len(data), len(names)))
    for i, text in enumerate(data):
        for w, v in table[text]:
            W[i, names.index(w)] += v
    assert coverage_pick(W, 6) == official.V


def test_coverage_pick_breaks_ties_like_official():
    from lime.submodular_pick import SubmodularPick as OfficialPick

    table = {"a": [("x", 1.0)], "b": [("x", 1.0)], "c": [("y", 1.0)], "d": [("y", 1.0)]}
    official = OfficialPick(
        _StubExplainer(table), list(table), None, method="full", num_exps_desired=4
    )
    W = np.array([[1.0, 0], [1.0, 0], [0, 1.0], [0, 1.0]])
    assert coverage_pick(W, 4) == official.V == [3, 1, 2, 0]


def test_sample_indices_match_official_with_the_same_seed():
    from lime.submodular_pick import SubmodularPick as OfficialPick

    table = {f"t{i} good": [("good", 1.0 + i)] for i in range(30)}
    data = list(table)
    np.random.seed(7)
    official = OfficialPick(_StubExplainer(table), data, None, sample_size=8, num_exps_desired=2)
    adapter = rule_adapter(linear_logit({"good": 1.0}))
    ours = SubmodularPick(
        TextLime(adapter), data, sample_size=8, num_exps_desired=2, n_samples=20, random_state=7
    )
    official_texts = [data[int(i)] for i in np.random.RandomState(7).permutation(30)[:8]]
    assert [data[i] for i in ours.sample_indices] == official_texts
    assert len(official.explanations) == len(ours.explanations) == 8


def _data():
    words = ["good", "bad", "great", "awful", "fine", "sad"]
    rng = np.random.default_rng(0)
    return [" ".join(rng.choice(words + ["the", "day", "was"], size=6)) for _ in range(12)]


def _lime():
    adapter = rule_adapter(
        linear_logit({"good": 1.0, "bad": -1.0, "great": 2.0, "awful": -2.0, "sad": -0.5})
    )
    return TextLime(adapter, units="lime", bow=True, feature_selection="auto", num_features=3)


def test_pick_covers_words_keeps_sparse_weights_and_stores_jsonl(tmp_path):
    store = tmp_path / "sp.jsonl"
    sp = SubmodularPick(
        _lime(), _data(), method="full", num_exps_desired=3, num_features=3,
        n_samples=200, random_state=0, store=store,
    )  # fmt: skip
    assert len(sp.explanations) == 12 and len(sp.sp_explanations) == 3
    assert all(len(e.features) <= 3 for e in sp.explanations)
    assert sp.W.shape[0] == 12 and sp.W.nnz <= 36
    assert sp.picked_indices == [sp.explanations[i].index for i in sp.V]
    lines = store.read_text().splitlines()
    assert json.loads(lines[0])["kind"] == "header" and len(lines) == 13
    # the greedy pick on the stored weights is official's
    assert sp.V == coverage_pick(sp.W.toarray(), 3)


def test_interrupted_run_resumes_from_the_store(tmp_path):
    data = _data()
    full = SubmodularPick(_lime(), data, method="full", num_exps_desired=3, num_features=3,
                          n_samples=200, random_state=0)  # fmt: skip
    store = tmp_path / "sp.jsonl"
    lime = _lime()
    calls = {"n": 0}
    original = lime.explain_encoding

    def flaky(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 6:
            raise KeyboardInterrupt
        return original(*args, **kwargs)

    lime.explain_encoding = flaky
    with pytest.raises(KeyboardInterrupt):
        SubmodularPick(lime, data, method="full", num_exps_desired=3, num_features=3,
                       n_samples=200, random_state=0, store=store)  # fmt: skip
    with open(store, "a") as fh:
        fh.write('{"kind": "explanation", "index": 5, "te')  # a line cut mid-write
    calls["n"] = -100
    resumed = SubmodularPick(lime, data, method="full", num_exps_desired=3, num_features=3,
                             n_samples=200, random_state=0, store=store)  # fmt: skip
    assert resumed.n_resumed == 5
    assert calls["n"] == -100 + 7  # only the 7 missing texts were explained
    assert resumed.V == full.V
    assert [e.features for e in resumed.explanations] == [e.features for e in full.explanations]


def test_store_written_with_other_settings_is_refused(tmp_path):
    store = tmp_path / "sp.jsonl"
    data = _data()
    SubmodularPick(_lime(), data, method="full", num_exps_desired=2, n_samples=50, store=store,
                   random_state=0)  # fmt: skip
    with pytest.raises(InputError, match="other data or settings"):
        SubmodularPick(_lime(), data, method="full", num_exps_desired=2, n_samples=60,
                       store=store, random_state=0)  # fmt: skip


def test_bad_options():
    with pytest.raises(InputError, match="method"):
        SubmodularPick(_lime(), _data(), method="greedy")
    with pytest.raises(InputError, match="TextLime"):
        SubmodularPick(object(), _data())  # type: ignore[arg-type]
