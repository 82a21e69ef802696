"""The metric registry and the built-in metrics, against hand-computed values and scipy."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from scipy import stats

from captum_ext.errors import InputError
from captum_ext.harness import RunConfig, run_compare, summarize
from captum_ext.metrics import protocol
from captum_ext.metrics.builtin.robustness import edit_text, mapped_top_k
from captum_ext.metrics.faithfulness import soft_keep_probabilities, soft_rows
from captum_ext.metrics.protocol import (
    FAMILIES,
    RowContext,
    RowMetric,
    get_metric,
    list_metrics,
    register_metric,
)
from captum_ext.metrics.randomise import randomised, randomised_modules
from captum_ext.metrics.similarity import importance_spearman
from captum_ext.result import WordAttribution

IDS = [101, 11, 12, 13, 14, 102]  # [CLS] w0 w1 w2 w3 [SEP]
T2W = [None, 0, 1, 2, 3, None]


def _ctx(order=(2, 0, 3, 1), importance=None, **settings):
    imp = importance or {w: float(4 - r) for r, w in enumerate(order)}
    return RowContext(IDS, T2W, list(order), imp, seed=0, signed=True, settings=settings)


def _wa(scores, text="aa bb cc dd", signed=True, method="m", probs=(0.3, 0.7), target=1):
    words = text.split()
    spans, pos = [], 0
    for w in words:
        s = text.index(w, pos)
        spans.append((s, s + len(w)))
        pos = s + len(w)
    return WordAttribution(text=text, words=words, spans=spans, scores=scores, target=target,
                           labels=("neg", "pos"), probs=list(probs), method=method,
                           signed=signed)  # fmt: skip


def test_registry_lists_every_family_with_directions():
    names = [m.name for m in list_metrics()]
    assert len(names) == len(set(names))
    families = {m.family for m in list_metrics()}
    assert families <= set(FAMILIES)
    assert {"faithfulness", "randomisation", "robustness", "stability", "cost"} <= families
    assert get_metric("comprehensiveness").higher_is_better
    assert not get_metric("sufficiency").higher_is_better
    assert not get_metric("randomisation").higher_is_better
    with pytest.raises(InputError, match="unknown metric"):
        get_metric("nope")


def test_comprehensiveness_and_sufficiency_rows_and_scores_by_hand():
    ctx = _ctx(bins=(0.25, 0.5))  # k = 1, 2 of 4 words
    comp = get_metric("comprehensiveness")
    # order 2, 0, 3, 1: word 2 (token 13) first, then word 0 (token 11)
    assert comp.rows(ctx) == [[101, 11, 12, 14, 102], [101, 12, 14, 102]]
    assert comp.score(ctx, 0.9, np.array([0.5, 0.3])) == pytest.approx((0.4 + 0.6) / 2)
    suff = get_metric("sufficiency")
    assert suff.rows(ctx) == [[101, 13, 102], [101, 11, 13, 102]]


def test_insertion_auc_by_hand():
    ctx = _ctx(max_steps=20)
    ins = get_metric("insertion_auc")
    rows = ins.rows(ctx)
    assert rows[0] == [101, 102] and rows[1] == [101, 13, 102] and rows[-1] == IDS
    # p rises 0, 1, 1, 1, 1 over inserted fractions 0, .25, ..., 1: trapezoids 0.125 + 0.75
    assert ins.score(ctx, 1.0, np.array([0.0, 1.0, 1.0, 1.0, 1.0])) == pytest.approx(0.875)


def test_soft_perturbation_deletes_each_word_with_its_probability():
    assert soft_keep_probabilities([4.0, 2.0, -1.0, 0.0]).tolist() == [1.0, 0.5, 0.0, 0.0]
    rows = soft_rows(IDS, T2W, [0, 1, 2, 3], [1.0, 0.5, 0.0, 0.2], 4000, random_state=0)
    gone = np.array([[tok not in r for tok in (11, 12, 13, 14)] for r in rows]).mean(axis=0)
    assert gone[0] == 1.0 and gone[2] == 0.0
    assert gone[1] == pytest.approx(0.5, abs=0.03) and gone[3] == pytest.approx(0.2, abs=0.03)
    assert soft_rows(IDS, T2W, [0, 1], [0.5, 0.5], 5, 7) == soft_rows(
        IDS, T2W, [0, 1], [0.5, 0.5], 5, 7
    )


def test_soft_metrics_use_importance_in_opposite_directions():
    imp = {0: 0.0, 1: 0.0, 2: 1.0, 3: 0.0}  # only word 2 matters
    ctx = _ctx(importance=imp, n_soft=3)
    sc = get_metric("soft_comprehensiveness").rows(ctx)
    ss = get_metric("soft_sufficiency").rows(ctx)
    assert all(r == [101, 11, 12, 14, 102] for r in sc)  # word 2 always deleted, others kept
    assert all(r == [101, 13, 102] for r in ss)  # only word 2 kept
    assert get_metric("soft_comprehensiveness").score(ctx, 0.9, np.array([0.1, 0.3, 0.2])) == (
        pytest.approx(0.7))  # fmt: skip


def test_leave_one_out_correlation_is_scipys_spearman():
    ctx = _ctx(importance={0: 0.1, 1: 0.5, 2: 0.3, 3: -0.2})
    loo = get_metric("loo_spearman")
    assert loo.rows(ctx)[1] == [101, 11, 13, 14, 102]  # word 1 deleted
    values = np.array([0.8, 0.2, 0.5, 0.95])
    expected = stats.spearmanr([0.1, 0.5, 0.3, -0.2], 0.9 - values).statistic
    assert loo.score(ctx, 0.9, values) == pytest.approx(expected)


def test_importance_spearman_and_robustness_mapping():
    a = _wa([0.9, 0.1, 0.5, -0.3])
    assert importance_spearman(a, _wa([0.9, 0.1, 0.5, -0.3])) == pytest.approx(1.0)
    expected = stats.spearmanr([0.9, 0.1, 0.5, -0.3], [0.1, 0.2, 0.3, 0.4]).statistic
    assert importance_spearman(a, _wa([0.1, 0.2, 0.3, 0.4])) == pytest.approx(expected)
    text, offset = edit_text("aa bb cc dd", "mention", np.random.default_rng(0))
    assert text.endswith("aa bb cc dd") and text[offset:] == "aa bb cc dd"
    # the edited text's explanation: the mention's words first, then the original words
    extra = text[:offset].split()
    edited = _wa([5.0] * len(extra) + [0.9, 0.1, 0.5, -0.3], text=text)
    top_a, top_b = mapped_top_k(a, edited, offset)
    assert top_a == top_b == {0}  # k = min(5, max(1, 4 // 3)) = 1; the mention's words ignored
    score = get_metric("robustness").score(a, {"edit:mention": _with_offset(edited, offset)})
    assert score == 1.0


def _with_offset(wa, offset):
    wa.extras["variant_offset"] = offset
    return wa


def test_random_logit_explains_another_class():
    (v,) = get_metric("random_logit").variants("aa bb", 1, np.array([0.2, 0.3, 0.5]), {}, 0)
    assert v.target in (0, 2) and v.name == f"target:{v.target}"
    assert get_metric("random_logit").score(_wa([1, 2, 3, 4]), {v.name: _wa([4, 3, 2, 1])}) == -1.0


def _tiny_model():
    from transformers import BertConfig, BertForSequenceClassification

    torch.manual_seed(0)
    cfg = BertConfig(vocab_size=40, hidden_size=8, num_hidden_layers=3, num_attention_heads=2,
                     intermediate_size=16, max_position_embeddings=32)  # fmt: skip
    return BertForSequenceClassification(cfg)


def test_randomised_levels_touch_only_their_modules_and_restore_exactly():
    model = _tiny_model()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with randomised(model, "head", seed=0):
        changed = {k for k, v in model.state_dict().items() if not torch.equal(v, before[k])}
    assert changed and all(k.startswith(("classifier", "bert.pooler")) for k in changed)
    with randomised(model, "top1", seed=0):
        changed = {k for k, v in model.state_dict().items() if not torch.equal(v, before[k])}
    assert any(k.startswith("bert.encoder.layer.2.") for k in changed)
    assert not any(k.startswith(("bert.encoder.layer.1.", "bert.embeddings")) for k in changed)
    with pytest.raises(RuntimeError):
        with randomised(model, "all", seed=0):
            raise RuntimeError("a method failed inside the block")
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())
    # the same seed gives the same randomised model
    with randomised(model, "all", seed=3):
        a = model.classifier.weight.clone()
    with randomised(model, "all", seed=3):
        assert torch.equal(model.classifier.weight, a)
    assert randomised_modules(model, "all") == [
        "classifier", "bert.pooler", "bert.encoder.layer.0", "bert.encoder.layer.1",
        "bert.encoder.layer.2"]  # fmt: skip
    with pytest.raises(InputError, match="top<k>"):
        randomised_modules(model, "middle")
    with pytest.raises(InputError, match="more layers"):
        randomised_modules(model, "top4")


class _FirstWordDrop(RowMetric):
    """A new metric as a user would add it: one class and one register call."""

    name = "first_word_drop"
    label = "drop without the top word ↑"
    family = "faithfulness"
    higher_is_better = True
    description = "p(x) - p(x without its top word)"

    def rows(self, ctx):
        from captum_ext.metrics.faithfulness import delete_words

        return [delete_words(ctx.input_ids, ctx.token_to_word, ctx.order[:1])]

    def score(self, ctx, p_full, values):
        return float(p_full - values[0])


@pytest.fixture
def extra_metric():
    metric = register_metric(_FirstWordDrop())
    yield metric
    protocol._REGISTRY.pop(metric.name)


def test_a_registered_metric_flows_through_runner_summary_and_verdict(
    extra_metric, adapter, tmp_path
):
    torch.set_num_threads(1)
    config = RunConfig(methods=["occlusion"], metrics=["first_word_drop", "comprehensiveness"],
                       sanity_texts=0, stability_texts=0)  # fmt: skip
    store = run_compare(["so happy today", "i hate mondays"], adapter, out_dir=tmp_path,
                        config=config, show_progress=False)  # fmt: skip
    recs = store.records("metrics")
    assert {r.method for r in recs} == {"random", "occlusion"}
    assert all(set(r.values) == {"first_word_drop", "comprehensiveness"} for r in recs)
    # k = 1 is comprehensiveness's first bin: the same row, so the same drop
    for r in recs:
        if r.method == "occlusion":
            assert r.values["first_word_drop"] <= r.values["comprehensiveness"] + 1.0
    s = summarize(store.records(), methods=["occlusion"])
    assert "first_word_drop" in s.metric_table.columns
    assert "first_word_drop" in set(s.metrics["metric"])
    manifest = json.loads((tmp_path / "run.json").read_text())
    assert manifest["metrics"] == ["comprehensiveness", "first_word_drop"]


def test_chance_level_of_abs_spearman_against_monte_carlo():
    from captum_ext.metrics.similarity import chance_abs_spearman, chance_corrected_abs

    rng = np.random.default_rng(0)
    for n in (3, 4, 6, 9, 15):
        mc = np.mean([abs(stats.spearmanr(np.arange(n), rng.permutation(n)).statistic)
                      for _ in range(3000)])  # fmt: skip
        assert chance_abs_spearman(n) == pytest.approx(mc, abs=0.015)
    assert chance_corrected_abs(1.0, 4) == 1.0 and chance_corrected_abs(-1.0, 4) == 1.0
    assert np.isnan(chance_corrected_abs(1.0, 2))  # 2 words: nothing to tell from chance


def test_randomisation_score_is_chance_corrected():
    rand = get_metric("randomisation")
    a = _wa([0.9, 0.1, 0.5, -0.3])
    same = {"model:all": _wa([0.9, 0.1, 0.5, -0.3])}
    assert rand.score(a, same) == pytest.approx(1.0)
    # a ranking as related to the original as two random ones on average scores about 0
    rng = np.random.default_rng(1)
    vals = [rand.score(a, {"model:all": _wa(rng.normal(size=4))}) for _ in range(2000)]
    assert np.mean(vals) == pytest.approx(0.0, abs=0.05)
    assert set(rand.details(a, same)) == {"model:all"}


def test_random_logit_reuses_the_trained_models_rows(adapter, monkeypatch):
    """The other-class explanation of a perturbation method draws the rows the main pass drew
    (same text, same seed): the harness scores none of them again, and the value is the one a
    fresh explanation of the other class gives."""
    torch.set_num_threads(1)
    evaluated = []
    original = type(adapter).predict_ids

    def counting(self, rows, **kw):
        evaluated.append(len(rows))
        return original(self, rows, **kw)

    monkeypatch.setattr(type(adapter), "predict_ids", counting)
    texts = ["so happy today", "i hate mondays so much"]

    def rows_of(metrics, sanity):
        evaluated.clear()
        config = RunConfig(methods=["lime"], metrics=metrics, sanity_texts=sanity,
                           stability_texts=0, method_settings={"lime": {"n_samples": 64}})  # fmt: skip
        store = run_compare(texts, adapter, config=config, show_progress=False)
        return sum(evaluated), store

    without, _ = rows_of(["comprehensiveness"], 0)
    with_logit, store = rows_of(["comprehensiveness", "random_logit"], 2)
    assert with_logit == without  # every other-class row was already scored
    from captum_ext.methods import make_explainer

    rec = {r.text_id: r for r in store.records("variants")}
    main = {r.text_id: r.attribution for r in store.records("attribution")}
    lime = make_explainer("lime", adapter, n_samples=64)
    for tid, text in zip(("0000", "0001"), texts, strict=True):
        other = 1 - main[tid].target
        fresh = lime.explain_many([text], targets=[other], random_state=0)[0]
        want = importance_spearman(main[tid], fresh)
        assert rec[tid].values["random_logit"] == pytest.approx(want, abs=1e-9)


def test_attribution_records_say_how_many_rows_were_reused(adapter):
    torch.set_num_threads(1)
    config = RunConfig(methods=["lime", "lime-ngram", "ig"], metrics=["comprehensiveness"],
                       sanity_texts=0, stability_texts=0,
                       method_settings={"lime": {"n_samples": 64},
                                        "lime-ngram": {"n_samples": 64}})  # fmt: skip
    store = run_compare(["so happy today", "i hate mondays so much"], adapter, config=config,
                        show_progress=False)  # fmt: skip
    reused = {(r.text_id, r.method): r.reused for r in store.records("attribution")}
    assert all(reused[(t, "ig")] is None for t in ("0000", "0001"))  # no rows asked for
    assert all(0.0 <= reused[(t, "lime")] < 0.5 for t in ("0000", "0001"))
    assert all(reused[(t, "lime-ngram")] >= 0.5 for t in ("0000", "0001"))  # lime's rows
    line = next(r for r in store.records("attribution") if r.method == "ig").to_json()
    assert '"reused"' not in line  # None is left out of the JSON (older runs read the same)
    s = summarize(store.records(), methods=config.methods)
    assert "reused_rows" in s.metric_table.columns
