"""Every script in ``examples/`` runs on the real default model and produces what it promises.

Each script runs in its own process, as a user runs it (``python examples/NAME.py --out DIR``),
writing into a temporary directory. The checks are on what a reader of the output would look
at: the printed results and the files written.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"

# script → (extra arguments, phrases its output must contain, files it must write into --out)
CASES: dict[str, tuple[list[str], list[str], list[str]]] = {
    "quickstart.py": (
        [],
        ["held-out accuracy", "ig ", "lime-official", "shap-partition", "top words"],
        ["compare.html", "heatmap.png", "heatmap.svg"],
    ),
    "captum_dropin.py": (
        [],
        ["convergence delta", "LayerIntegratedGradients top words", "TextLime attributions (1, "],
        ["visualize_text.html"],
    ),
    "lime_ngrams_trees.py": (
        ["--sample-size", "6"],
        ["strongest bigrams", "tree surrogate", "SP-LIME picked 3 of 6 tweets"],
        ["tree.png", "tree.svg", "sp.jsonl"],
    ),
    "training_tweets.py": (
        ["--n-train", "400"],
        ["proponent", "kNN:", "audit combined"],
        ["representer.png"],
    ),
    "agreement.py": (
        [],
        ["ig", "occlusion", "verdict: ", "believe"],
        ["records.jsonl", "kendall_tau.png"],
    ),
    "own_checkpoint.py": (
        [],
        ["saved a checkpoint directory", "labels=('sad', 'happy')", "occlusion", "command line"],
        ["my-sentiment-bert/config.json", "my-sentiment-bert/model.safetensors"],
    ),
}


@pytest.fixture(scope="module")
def default_model():
    from captum_ext.adapters.loading import default_model_dir

    path = default_model_dir()
    if not (path / "model.safetensors").is_file():
        pytest.fail(f"no fine-tuned default model at {path}: run `make model` first.")
    return path


def test_every_example_is_tested():
    assert sorted(p.name for p in EXAMPLES.glob("*.py")) == sorted(CASES)


@pytest.mark.parametrize("script", sorted(CASES))
def test_example_runs(script, default_model, tmp_path):
    args, phrases, files = CASES[script]
    out = tmp_path / "out"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "MPLBACKEND": "Agg"}
    proc = subprocess.run(
        [sys.executable, str(EXAMPLES / script), "--out", str(out), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, f"{script} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}"
    for phrase in phrases:
        assert phrase in proc.stdout, f"{script} did not print {phrase!r}:\n{proc.stdout}"
    for name in files:
        path = out / name
        assert path.is_file() and path.stat().st_size > 0, f"{script} did not write {name}"
    assert "Traceback" not in proc.stderr
