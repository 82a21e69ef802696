# ruff: noqa: F811  (pytest fixtures imported from test_influence_support)
"""Out-of-sample predictions of models fine-tuned on folds (cross_fit_finetune), their use in
MislabelAudit (out_of_sample_finetuned) and ``captum-ext audit --cross-fit``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from scipy.stats import rankdata
from test_influence_support import one_thread, planted  # noqa: F401

import captum_ext.influence.crossfit as crossfit
from captum_ext.adapters import TextClassifierAdapter
from captum_ext.adapters.loading import load_classifier
from captum_ext.cli import main
from captum_ext.data import TextDataset
from captum_ext.errors import InputError
from captum_ext.influence import (
    MislabelAudit,
    cross_fit_finetune,
    precision_at,
    rank_average,
    stratified_folds,
)

# A short fine-tuning that learns the planted rule (3 epochs of ~150 tweets: ~0.5 s a fold).
SETTINGS = {
    "epochs": 3,
    "max_length": 16,
    "batch_size": 8,
    "lr": 1e-2,
    "precision": "fp32",
    "num_threads": 1,
    "freeze_embeddings": False,
    "checkpoint_every": 2,
    "show_progress": False,
}


@pytest.fixture(scope="module")
def noisy(planted) -> TextDataset:
    return TextDataset(planted["texts"], planted["noisy"])


@pytest.fixture(scope="module")
def base(tiny_bert_dir) -> Path:
    return tiny_bert_dir


@pytest.fixture(scope="module")
def result(noisy, base, tmp_path_factory):
    return cross_fit_finetune(
        noisy, n_folds=2, base=base, cache_dir=tmp_path_factory.mktemp("cf"), **SETTINGS
    )


def _reference_probs(model_dir: Path, texts: list[str]) -> np.ndarray:
    """The fold model's probabilities computed without the adapter (plain transformers)."""
    model, tokenizer = load_classifier(model_dir)
    batch = tokenizer(texts, padding=True, truncation=True, max_length=16, return_tensors="pt")
    with torch.no_grad():
        return torch.softmax(model(**batch).logits, -1).double().numpy()


def test_every_tweet_is_predicted_by_a_model_that_never_saw_it(result, noisy):
    folds = result.folds
    assert result.probs.shape == (300, 2) and np.isfinite(result.probs).all()
    assert sorted(np.unique(folds).tolist()) == [0, 1]
    for k, model_dir in enumerate(result.model_dirs):
        held = result.fold_rows(k)
        np.testing.assert_array_equal(held, np.flatnonzero(folds == k))
        seen = noisy.subset(np.flatnonzero(folds != k))
        metrics = json.loads((model_dir / "metrics.json").read_text())
        # the fold model was fine-tuned on exactly the other folds, none of fold k
        assert metrics["data"]["fingerprint"] == seen.fingerprint
        assert metrics["sizes"]["train"] == len(seen) == 300 - len(held)
        assert not set(seen.texts) & {noisy.texts[i] for i in held}
        # fold k's probabilities are that model's, recomputed independently
        held_texts = [noisy.texts[i] for i in held]
        ref = _reference_probs(model_dir, held_texts)
        np.testing.assert_allclose(result.probs[held], ref, atol=1e-5)
        # ... and not the other fold model's (which did see these tweets)
        other = _reference_probs(result.model_dirs[1 - k], held_texts)
        assert np.abs(other - ref).max() > 1e-3
    # stratified: each fold holds half of each class
    for c in (0, 1):
        per_fold = np.bincount(folds[noisy.labels == c], minlength=2)
        assert abs(per_fold[0] - per_fold[1]) <= 1


def test_folds_match_scikit_learn_and_keep_duplicates_together():
    from sklearn.model_selection import StratifiedKFold

    rng = np.random.default_rng(3)
    labels = rng.integers(0, 3, 60)
    texts = [f"tweet number {i}" for i in range(60)]
    ours = stratified_folds(texts, labels, 4, random_state=5)
    ref = np.empty(60, dtype=int)
    for k, (_, held) in enumerate(
        StratifiedKFold(4, shuffle=True, random_state=5).split(np.zeros(60), labels)
    ):
        ref[held] = k
    np.testing.assert_array_equal(ours, ref)
    # a copy (case and spaces differ) goes with its first copy, whatever fold it would get
    dup = stratified_folds([*texts, "Tweet  NUMBER 7"], np.append(labels, labels[7]), 4, 5)
    assert dup[-1] == dup[7]
    np.testing.assert_array_equal(dup[:60], ours)


def test_planted_flips_rank_first_and_cleanlab_agrees(result, noisy, planted):
    flipped = planted["flipped"]
    labels = noisy.labels
    score = 1.0 - result.probs[np.arange(len(labels)), labels]
    n_flipped = int(flipped.sum())  # 15 of 300
    assert precision_at(score, flipped, n_flipped / len(labels)) >= 0.7
    # the reference: cleanlab's self-confidence ranking of the same pred_probs
    from cleanlab.filter import find_label_issues
    from cleanlab.rank import get_label_quality_scores

    quality = get_label_quality_scores(labels, result.probs, method="self_confidence")
    np.testing.assert_allclose(rankdata(-quality), rankdata(score))
    issues = find_label_issues(labels, result.probs, filter_by="prune_by_noise_rate")
    assert issues.sum() >= 5 and flipped[issues].mean() >= 0.6


def test_rerun_reads_the_cache_without_fine_tuning(result, noisy, base, monkeypatch):
    def forbidden(*args, **kwargs):
        raise AssertionError("the cached folds must not be fine-tuned or predicted again")

    monkeypatch.setattr(crossfit, "finetune", forbidden)
    monkeypatch.setattr(crossfit, "_predict_fold", forbidden)
    again = cross_fit_finetune(
        noisy, n_folds=2, base=base, cache_dir=result.run_dir.parent, **SETTINGS
    )
    assert again.n_finetuned == 0 and again.run_dir == result.run_dir
    np.testing.assert_array_equal(again.probs, result.probs)
    np.testing.assert_array_equal(again.folds, result.folds)


class Interrupt(Exception):
    pass


def test_an_interrupted_run_resumes_inside_the_fold(result, noisy, base, tmp_path, monkeypatch):
    real = crossfit.finetune
    calls: list[int] = []

    def stop_in_second_fold(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:

            def callback(step: int, loss: float) -> None:
                if step == 5:
                    raise Interrupt

            kwargs["callback"] = callback
        return real(*args, **kwargs)

    monkeypatch.setattr(crossfit, "finetune", stop_in_second_fold)
    with pytest.raises(Interrupt):
        cross_fit_finetune(noisy, n_folds=2, base=base, cache_dir=tmp_path, **SETTINGS)
    run_dir = next(tmp_path.iterdir())
    assert (run_dir / "fold-0.npz").is_file() and not (run_dir / "fold-1.npz").exists()
    assert (run_dir / "fold-1" / "checkpoint").is_dir()

    calls.clear()
    monkeypatch.setattr(crossfit, "finetune", lambda *a, **kw: calls.append(1) or real(*a, **kw))
    resumed = cross_fit_finetune(noisy, n_folds=2, base=base, cache_dir=tmp_path, **SETTINGS)
    assert len(calls) == 1 and resumed.n_finetuned == 1  # fold 0 was not fine-tuned again
    metrics = json.loads((resumed.model_dirs[1] / "metrics.json").read_text())
    assert metrics["resumed_from_step"] == 4  # the last checkpoint before the interruption
    # the same probabilities as the uninterrupted run
    np.testing.assert_allclose(resumed.probs, result.probs, atol=1e-5)


def test_bad_arguments_raise_clear_errors(noisy, base, tmp_path, planted):
    kw = {"base": base, "cache_dir": tmp_path, **SETTINGS}
    with pytest.raises(InputError, match="n_folds must be an int >= 2"):
        cross_fit_finetune(noisy, n_folds=1, **kw)
    with pytest.raises(InputError, match="n_folds must be an int >= 2"):
        cross_fit_finetune(noisy, n_folds="2", **kw)  # type: ignore[arg-type]
    few = TextDataset(["a b", "c d", "e f", "g h", "i j"], [0, 0, 0, 1, 1])
    with pytest.raises(InputError, match=r"n_folds=3 is larger than the smallest class \(2"):
        cross_fit_finetune(few, n_folds=3, **kw)
    # duplicates count once
    dup = TextDataset(["a b", "A  b", "c d", "e f", "g h"], [1, 1, 0, 0, 0])
    with pytest.raises(InputError, match="smallest class"):
        cross_fit_finetune(dup, n_folds=2, **kw)
    with pytest.raises(InputError, match="TextDataset"):
        cross_fit_finetune(list(noisy.texts), n_folds=2, **kw)  # type: ignore[arg-type]
    with pytest.raises(InputError, match="empty"):
        cross_fit_finetune(TextDataset([], np.zeros(0, dtype=int)), n_folds=2, **kw)
    with pytest.raises(InputError, match="unknown fine-tuning setting.*warmup"):
        cross_fit_finetune(noisy, n_folds=2, seed=3, **kw)
    with pytest.raises(InputError, match="lr must be"):
        cross_fit_finetune(noisy, n_folds=2, **(kw | {"lr": 5.0}))
    with pytest.raises(InputError, match="random_state"):
        cross_fit_finetune(noisy, n_folds=2, random_state=0.5, **kw)  # type: ignore[arg-type]
    finetuned = tmp_path / "finetuned"
    finetuned.mkdir()
    (finetuned / "metrics.json").write_text(json.dumps({"created_by": "captum_ext.train.finetune"}))
    with pytest.raises(InputError, match="saw the labels of every fold"):
        cross_fit_finetune(noisy, n_folds=2, **(kw | {"base": finetuned}))
    a_file = tmp_path / "file"
    a_file.write_text("x")
    with pytest.raises(InputError, match="is a file"):
        cross_fit_finetune(noisy, n_folds=2, **(kw | {"cache_dir": a_file}))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file", "finetuned"], "nothing trained"


# -- MislabelAudit ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def audited(planted, noisy, base, result, tmp_path_factory):
    adapter = TextClassifierAdapter.from_pretrained(planted["dir"])
    settings = {k: v for k, v in SETTINGS.items() if k != "show_progress"}
    audit = MislabelAudit(
        adapter,
        noisy,
        cache_dir=tmp_path_factory.mktemp("f"),
        cross_fit=2,
        finetune_settings=settings | {"base": base, "cache_dir": result.run_dir.parent},
    )
    return audit.fit()


def test_audit_adds_the_finetuned_signal_to_combined(audited, result, noisy):
    rows = np.arange(len(noisy))
    assert audited.crossfit_.run_dir == result.run_dir  # the same settings: the cached folds
    np.testing.assert_array_equal(audited.finetuned_probs_, result.probs)
    np.testing.assert_allclose(
        audited.scores_["out_of_sample_finetuned"], 1.0 - result.probs[rows, noisy.labels]
    )
    signals = ["representer", "knn", "out_of_sample", "out_of_sample_finetuned"]
    by_hand = np.mean([rankdata(audited.scores_[s]) / len(rows) for s in signals], axis=0)
    np.testing.assert_allclose(audited.scores_["combined"], by_hand)
    frame = audited.to_frame("out_of_sample_finetuned", top=5)
    assert "out_of_sample_finetuned" in frame.columns
    np.testing.assert_allclose(
        frame["score"], np.sort(audited.scores_["out_of_sample_finetuned"])[::-1][:5]
    )


def test_audit_finetuned_signal_is_opt_in(audited, noisy, monkeypatch):
    monkeypatch.setattr(crossfit, "finetune", None)  # nothing may be fine-tuned here
    adapter = audited.adapter
    feats = audited.representer.train_features_
    plain = MislabelAudit(adapter, noisy, features=feats).fit()
    assert "out_of_sample_finetuned" not in plain.scores_
    np.testing.assert_allclose(
        plain.scores_["combined"],
        rank_average(*(plain.scores_[s] for s in ("representer", "knn", "out_of_sample"))),
    )
    with pytest.raises(InputError, match="needs cross_fit=K"):
        plain.fit(("out_of_sample_finetuned",))
    given = MislabelAudit(adapter, noisy, features=feats, finetuned_probs=audited.finetuned_probs_)
    given.fit()
    np.testing.assert_allclose(given.scores_["combined"], audited.scores_["combined"])
    bad = MislabelAudit(adapter, noisy, features=feats, finetuned_probs=np.ones((3, 2)) / 2)
    with pytest.raises(InputError, match=r"shape \(n_train, num_labels\) = \(300, 2\)"):
        bad.fit()
    bad.finetuned_probs = np.full((300, 2), 2.0)
    with pytest.raises(InputError, match="probabilities in"):
        bad.fit(("out_of_sample_finetuned",))


# -- command line -------------------------------------------------------------------------------
def test_audit_command_cross_fit(planted, base, tmp_path, capsys):
    data = tmp_path / "s140"
    data.mkdir()
    texts, labels = planted["texts"][:80], planted["noisy"][:80]
    for name, y in (("positive.txt", 1), ("negative.txt", 0)):
        rows = [t for t, lab in zip(texts, labels, strict=True) if lab == y]
        (data / name).write_text("\n".join(rows) + "\n", encoding="utf-8")
    common = [
        "--model", str(planted["dir"]), "--data", str(data), "--cache-dir", str(tmp_path / "c"),
        "--max-length", "16",
    ]  # fmt: skip
    out_csv = tmp_path / "audit.csv"
    code = main(
        ["audit", "--method", "knn", "--cross-fit", "2", "--cross-fit-base", str(base),
         "--out", str(out_csv), *common]
    )  # fmt: skip
    assert code == 0, capsys.readouterr().err
    frame = pd.read_csv(out_csv)
    assert len(frame) == 80 and {"knn", "out_of_sample_finetuned"} <= set(frame.columns)
    assert (
        0 <= frame["out_of_sample_finetuned"].min() <= frame["out_of_sample_finetuned"].max() <= 1
    )
    run_dirs = list((tmp_path / "c" / "crossfit").iterdir())  # fold models under --cache-dir
    assert len(run_dirs) == 1
    settings = json.loads((run_dirs[0] / "settings.json").read_text())
    assert settings["n_folds"] == 2 and settings["finetune"]["max_length"] == 16
    assert settings["base_model"] == str(base)

    code = main(["audit", "--method", "out_of_sample_finetuned", *common])
    err = capsys.readouterr().err
    assert code == 2 and "--cross-fit K" in err and err.count("\n") == 1
    code = main(["audit", "--cross-fit", "1", "--cross-fit-base", str(base), *common])
    err = capsys.readouterr().err
    assert code == 2 and "n_folds must be an int >= 2" in err


def test_audit_command_trains_fold_models_like_the_audited_model(base, tmp_path):
    """Without options, the fold models take the audited model's fine-tuning settings."""
    import argparse

    from captum_ext.commands.influence import _finetune_settings

    model = tmp_path / "model"
    model.mkdir()
    hp = {"epochs": 2, "max_length": 40, "batch_size": 16, "lr": 3e-4, "precision": "fp32"}
    hp |= {"warmup_ratio": 0.1, "weight_decay": 0.0, "freeze_embeddings": True, "n_train": 9}
    metrics = {"hyperparameters": hp, "base_model": {"path": str(base)}}
    (model / "metrics.json").write_text(json.dumps(metrics))
    adapter = argparse.Namespace(max_length=128)
    args = argparse.Namespace(
        model=str(model), max_length=None, cross_fit_base=None, cache_dir=None
    )
    expected = {k: v for k, v in hp.items() if k != "n_train"} | {"base": base}
    assert _finetune_settings(args, adapter) == expected
    args = argparse.Namespace(
        model=str(model), max_length=24, cross_fit_base="enc", cache_dir=str(tmp_path)
    )
    assert _finetune_settings(args, adapter) == expected | {
        "max_length": 24,
        "base": "enc",
        "cache_dir": tmp_path / "crossfit",
    }
    args = argparse.Namespace(
        model=str(tmp_path), max_length=None, cross_fit_base=None, cache_dir=None
    )
    assert _finetune_settings(args, adapter) == {"max_length": 128}  # no metrics.json
