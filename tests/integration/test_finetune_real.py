"""A short real fine-tune of the shipped MiniLM encoder on the shared Sentiment140 sample."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from captum_ext.adapters.loading import base_encoder_dir, load_classifier
from captum_ext.data import default_data_path, load_sentiment140, split_dataset
from captum_ext.train import finetune

pytestmark = pytest.mark.integration


def test_short_real_finetune_finishes_loads_and_learns(tmp_path: Path) -> None:
    data = load_sentiment140(default_data_path())
    out = tmp_path / "minilm"
    result = finetune(
        data,
        out,
        n_train=640,
        max_length=32,
        test_size=400,
        lr=2e-4,
        warmup_ratio=0.1,
        show_progress=False,
    )

    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["sizes"]["train"] == 640 and metrics["sizes"]["test"] == 400
    assert metrics["base_model"]["path"] == str(base_encoder_dir())
    assert metrics["data"]["fingerprint"] == data.fingerprint
    # 20 steps on 640 tweets already beat chance clearly on 400 held-out tweets
    assert result.test_accuracy > 0.6, metrics

    model, tokenizer = load_classifier(out)
    assert model.config.id2label == {0: "negative", 1: "positive"}
    assert model.config.hidden_size == 384 and model.config.num_hidden_layers == 6
    test = split_dataset(data, test_size=400, val_size=0, seed=0).test
    batch = tokenizer(test.texts, padding=True, truncation=True, max_length=32, return_tensors="pt")
    with torch.inference_mode():
        pred = model(**batch).logits.argmax(-1).numpy()
    assert float((pred == test.labels).mean()) == pytest.approx(result.test_accuracy)
