"""The foundation on the real default model: predictions, the three methods, the CLI contract."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from captum_ext.data import EXAMPLE_TWEETS, default_data_path, load_sentiment140, split_dataset
from captum_ext.methods import make_explainer


def test_default_model_is_accurate_on_held_out_tweets(real_adapter, default_model_path):
    """Recompute accuracy on (part of) the held-out split recorded in metrics.json."""
    metrics = json.loads((default_model_path / "metrics.json").read_text())
    ds = load_sentiment140(default_data_path())
    assert ds.fingerprint == metrics["data"]["fingerprint"], "model was trained on other data"
    splits = split_dataset(
        ds,
        test_size=metrics["sizes"]["test"],
        val_size=metrics["sizes"]["val"],
        seed=metrics["seed"],
    )
    assert splits.test.fingerprint == metrics["data"]["test_fingerprint"]
    test = splits.test.subset(np.arange(600))
    acc = float((real_adapter.predict_proba(test.texts).argmax(1) == test.labels).mean())
    assert acc >= 0.77, acc  # 600 tweets: ±0.016 standard error around the recorded figure
    assert abs(acc - metrics["test_accuracy"]) < 0.06


def test_example_tweets_predictions(real_adapter):
    probs = real_adapter.predict_proba(list(EXAMPLE_TWEETS))
    assert probs.shape == (3, 2)
    assert real_adapter.labels == ("negative", "positive")
    assert probs[1, 1] > 0.8  # "Thanks so much!!! Really appreciate that..."
    assert probs[0, 0] > 0.5  # "... so fucking scared of change ..."


def test_ig_completeness_on_real_model(real_adapter):
    wa = make_explainer("ig", real_adapter).explain(EXAMPLE_TWEETS[2])
    assert wa.extras["convergence_delta"] < 0.02
    assert len(wa.words) == len(real_adapter.encode(EXAMPLE_TWEETS[2]).words)


@pytest.mark.parametrize("method", ["ig", "lime-official", "shap-partition"])
def test_cli_explain_json_contract(default_model_path, method):
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "captum_ext.cli",
            "explain",
            "--method",
            method,
            "--json",
            "--model",
            str(default_model_path),
            "--text-file",
            "-",
        ],
        input="\n".join(EXAMPLE_TWEETS[1:]) + "\n",
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 2
    for line, text in zip(lines, EXAMPLE_TWEETS[1:], strict=True):
        obj = json.loads(line)
        assert obj["text"] == text and obj["method"] == method
        assert obj["prediction"]["label"] in ("negative", "positive")
        assert abs(sum(obj["prediction"]["probs"].values()) - 1) < 1e-6
        for w in obj["words"]:
            assert text[w["start"] : w["end"]] == w["word"]


def test_predictor_memory_does_not_grow_with_texts(real_adapter):
    """5,000 distinct perturbed tweets in one call: peak RSS stays bounded (the benchmark reports
    the figure); here a coarse guard that the predictor does not keep activations around."""
    import resource

    rng = np.random.default_rng(0)
    words = EXAMPLE_TWEETS[2].split()
    texts = [" ".join(w for w in words if rng.random() > 0.3) or "x" for _ in range(5000)]
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    real_adapter.predict_proba(texts)
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    assert after - before < 500, f"peak RSS grew by {after - before:.0f} MB"
