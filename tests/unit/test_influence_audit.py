# ruff: noqa: F811  (pytest fixtures imported from test_influence_support)
"""The mislabeled-tweet audit and the ``influence`` / ``audit`` commands."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from test_influence_support import one_thread, planted  # noqa: F401

from captum_ext.adapters import TextClassifierAdapter
from captum_ext.cli import main
from captum_ext.data import TextDataset
from captum_ext.errors import InputError
from captum_ext.influence import MislabelAudit, cross_fitted_probs, precision_at, rank_average


@pytest.fixture(scope="module")
def audit(planted, tmp_path_factory):
    adapter = TextClassifierAdapter.from_pretrained(planted["dir"])
    noisy = TextDataset(planted["texts"], planted["noisy"])
    return MislabelAudit(adapter, noisy, cache_dir=tmp_path_factory.mktemp("f")).fit()


@pytest.mark.parametrize("method", ["representer", "knn", "out_of_sample", "combined"])
def test_planted_flips_rank_first(audit, planted, method):
    flipped = planted["flipped"]
    n_flipped = int(flipped.sum())
    top = audit.ranking(method)[:n_flipped]
    assert flipped[top].mean() >= 0.8, method
    assert precision_at(audit.scores_[method], flipped, n_flipped / len(flipped)) >= 0.8
    # far above random (5%)
    assert flipped[audit.ranking(method)[:5]].all()


def test_audit_table_carries_the_evidence(audit, planted):
    frame = audit.to_frame("combined", top=10)
    assert list(frame.columns[:6]) == ["rank", "index", "text", "label", "suggested", "score"]
    for col in ("representer", "alpha", "knn", "out_of_sample", "model_p_label", "neighbours"):
        assert col in frame.columns
    labels = planted["noisy"]
    for row in frame.itertuples():
        assert row.text == planted["texts"][row.index]
        assert row.label == ("positive" if labels[row.index] else "negative")
        assert row.suggested != row.label
        assert abs(row.alpha) == pytest.approx(row.representer)
    assert (frame["score"].diff().dropna() <= 0).all()


def test_cross_fitted_probs_equal_scikit_learn_cross_val_predict():
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    rng = np.random.default_rng(0)
    y = np.repeat([0, 1, 2], 40)
    x = rng.normal(size=(120, 4)) + y[:, None]
    lam = 1e-2
    ours = cross_fitted_probs(x, y, n_folds=4, l2=lam, fit_intercept=False, tol=1e-10)
    n_fit = 90  # rows each head is fitted on
    ref = cross_val_predict(
        LogisticRegression(C=1 / (2 * lam * n_fit), fit_intercept=False, tol=1e-12, max_iter=5000),
        x,
        y,
        cv=StratifiedKFold(4, shuffle=True, random_state=0),
        method="predict_proba",
    )
    np.testing.assert_allclose(ours, ref, atol=1e-5)


def test_rank_average_and_precision_by_hand():
    np.testing.assert_allclose(
        rank_average(np.array([3.0, 1.0, 2.0]), np.array([1.0, 2.0, 3.0])),
        [(1 + 1 / 3) / 2, (1 / 3 + 2 / 3) / 2, (2 / 3 + 1) / 2],
    )
    assert precision_at(np.array([5, 4, 3, 2, 1]), np.array([1, 0, 1, 0, 0]), 0.4) == 0.5
    with pytest.raises(InputError, match="n_folds"):
        cross_fitted_probs(np.ones((4, 2)), np.array([0, 1, 0, 1]), n_folds=1)
    with pytest.raises(InputError, match="smallest class"):
        cross_fitted_probs(np.ones((4, 2)), np.array([0, 0, 0, 1]), n_folds=2)
    with pytest.raises(InputError, match="method must be one of"):
        MislabelAudit.ranking(object.__new__(MislabelAudit), "loss")  # type: ignore[arg-type]


# -- command line -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def data_dir(planted, tmp_path_factory):
    folder = tmp_path_factory.mktemp("s140")
    texts, labels = planted["texts"][:120], planted["noisy"][:120]
    (folder / "positive.txt").write_text(
        "\n".join(t for t, y in zip(texts, labels, strict=True) if y) + "\n", encoding="utf-8"
    )
    (folder / "negative.txt").write_text(
        "\n".join(t for t, y in zip(texts, labels, strict=True) if not y) + "\n", encoding="utf-8"
    )
    return folder


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_influence_command_json(planted, data_dir, tmp_path, capsys):
    common = ["--model", str(planted["dir"]), "--data", str(data_dir), "--cache-dir", str(tmp_path)]
    code, out, err = _run(
        capsys, "influence", "great happy day", "--k", "3", "--json", "--held-out",
        str(data_dir), "--fidelity-n", "20", *common,
    )  # fmt: skip
    assert code == 0, err
    obj = json.loads(out)
    assert obj["fidelity"]["held_out"]["n"] == 20
    assert obj["method"] == "representer"
    assert len(obj["proponents"]) == 3 and len(obj["opponents"]) == 3
    assert obj["proponents"][0]["score"] >= obj["proponents"][-1]["score"]
    assert obj["opponents"][0]["score"] <= obj["opponents"][-1]["score"]
    assert obj["fidelity"]["train"]["pearson"] > 0.99
    assert set(obj["proponents"][0]) >= {"index", "text", "label", "score", "agrees", "alpha"}
    code, out, err = _run(
        capsys, "influence", "great happy day", "--method", "knn", "--k", "2", "--json", *common
    )
    assert code == 0, err
    obj = json.loads(out)
    assert len(obj["neighbours"]) == 2 and "fidelity" not in obj
    code, out, _ = _run(capsys, "influence", "great happy day", "--k", "2", *common)
    assert code == 0 and "proponents (representer, k=2):" in out


def test_audit_command_writes_ranked_csv_and_json(planted, data_dir, tmp_path, capsys):
    common = ["--model", str(planted["dir"]), "--data", str(data_dir), "--cache-dir", str(tmp_path)]
    out_csv = tmp_path / "audit.csv"
    code, _, err = _run(capsys, "audit", "--method", "combined", "--out", str(out_csv), *common)
    assert code == 0, err
    frame = pd.read_csv(out_csv)
    assert len(frame) == 120 and frame["rank"].tolist()[:3] == [1, 2, 3]
    assert {"text", "label", "suggested", "score", "knn", "out_of_sample"} <= set(frame.columns)
    code, out, err = _run(
        capsys, "audit", "--method", "knn", "--format", "json", "--top", "5", *common
    )
    assert code == 0, err
    rows = json.loads(out)
    assert len(rows) == 5 and rows[0]["score"] >= rows[-1]["score"]
    queries = tmp_path / "queries.txt"
    queries.write_text("good day\nzebra quantum xylophone\n", encoding="utf-8")
    code, out, err = _run(
        capsys, "audit", "--method", "knn", "--queries", str(queries), "--k", "3", *common
    )
    assert code == 0, err
    assert "support" in out.splitlines()[0]


def test_commands_report_user_errors_in_one_line(planted, data_dir, tmp_path, capsys):
    common = ["--model", str(planted["dir"]), "--cache-dir", str(tmp_path)]
    code, _, err = _run(capsys, "influence", "good", "--k", "500", "--data", str(data_dir), *common)
    assert code == 2 and err.startswith("error: k=500 is larger than the training set (120")
    code, _, err = _run(capsys, "influence", "good", *common)  # tiny model has no metrics.json
    assert code == 2 and "pass --data PATH" in err
    code, _, err = _run(
        capsys,
        "audit",
        "--method",
        "combined",
        "--queries",
        "x.txt",
        "--data",
        str(data_dir),
        *common,
    )
    assert code == 2 and "--queries" in err and "\n" == err[-1] and err.count("\n") == 1


def test_commands_default_to_the_models_own_training_set(planted, data_dir, tmp_path, capsys):
    """Without --data the training set is rebuilt from the model's metrics.json."""
    import shutil

    from captum_ext.data import load_sentiment140, split_dataset

    model = tmp_path / "model"
    shutil.copytree(planted["dir"], model)
    split = split_dataset(load_sentiment140(data_dir), test_size=20, val_size=0, seed=3)
    metrics = {
        "seed": 3,
        "data": {"source": str(data_dir), "train_fingerprint": split.train.fingerprint},
        "hyperparameters": {"n_train": 80, "test_size": 20, "val_size": 0},
    }
    metrics["data"]["train_fingerprint"] = split.train.sample(80, seed=3).fingerprint
    (model / "metrics.json").write_text(json.dumps(metrics))
    common = ["--model", str(model), "--cache-dir", str(tmp_path / "f")]
    code, out, err = _run(capsys, "influence", "good day", "--k", "2", "--json", *common)
    assert code == 0, err
    obj = json.loads(out)
    assert obj["settings"]["n_train"] == 80
    assert obj["fidelity"]["held_out"]["n"] == 20  # the model's own test split
    metrics["data"]["train_fingerprint"] = "0" * 16
    (model / "metrics.json").write_text(json.dumps(metrics))
    code, _, err = _run(capsys, "audit", "--method", "representer", *common)
    assert code == 2 and "does not match" in err
