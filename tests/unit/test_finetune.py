"""captum_ext.train.finetune on a tiny random BERT: files, evaluation, resume, refusals."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file
from transformers import BertForSequenceClassification

from captum_ext.adapters.loading import load_classifier
from captum_ext.data import TextDataset, split_dataset
from captum_ext.errors import InputError
from captum_ext.train import FinetuneResult, finetune
from captum_ext.train.finetune import _batch_plan, _lr_at

POSITIVE = ["love", "great", "happy", "awesome", "thanks", "lovely", "best", "fun"]
NEGATIVE = ["hate", "awful", "sad", "terrible", "sorry", "worst", "bored", "sick"]
PLACES = ["work", "school", "home", "the gym", "the beach", "town", "class", "lunch", "bed", "tv"]


@pytest.fixture(scope="module")
def tiny_data() -> TextDataset:
    """160 distinct short tweets whose label is given by one sentiment word."""
    texts: list[str] = []
    labels: list[int] = []
    for i, place in enumerate(PLACES):
        for j in range(len(POSITIVE)):
            texts.append(f"{POSITIVE[j]} {place} today {i}")
            labels.append(1)
            texts.append(f"{NEGATIVE[j]} {place} today {i}")
            labels.append(0)
    return TextDataset(texts, labels, ("negative", "positive"), source="synthetic")


def _kwargs(base: Path, **over: object) -> dict:
    kw: dict = {
        "base": base,
        "n_train": None,
        "epochs": 2,
        "max_length": 16,
        "batch_size": 8,
        "lr": 1e-2,
        "test_size": 32,
        "val_size": 16,
        "freeze_embeddings": False,
        "show_progress": False,
        "checkpoint_every": 4,
        "precision": "fp32",
        "num_threads": 1,  # a tiny model gains nothing from threads, and loses on a busy CPU
    }
    kw.update(over)
    return kw


def _weights(folder: Path) -> dict[str, torch.Tensor]:
    return load_file(str(folder / "model.safetensors"))


class Interrupt(Exception):
    pass


def _stop_at(step: int):
    def callback(done: int, loss: float) -> None:
        if done == step:
            raise Interrupt(f"stopped at {done}")

    return callback


def test_finetune_writes_a_loadable_model_and_metrics(
    tiny_bert_dir: Path, tiny_data: TextDataset, tmp_path: Path
) -> None:
    out = tmp_path / "run"
    result = finetune(tiny_data, out, **_kwargs(tiny_bert_dir))
    assert isinstance(result, FinetuneResult) and result.out_dir == out
    names = {p.name for p in out.iterdir()}
    assert {"model.safetensors", "config.json", "tokenizer.json", "metrics.json"} <= names
    assert "checkpoint" not in names
    assert not any(n.endswith((".bin", ".pt", ".pth", ".pkl")) for n in names)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"], "no temporary folders left"

    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics == json.loads(json.dumps(result.metrics))
    splits = split_dataset(tiny_data, test_size=32, val_size=16, seed=0)
    assert metrics["sizes"] == {
        "dataset": 160,
        "train_pool": 112,
        "train": 112,
        "val": 16,
        "test": 32,
        "steps": 2 * 14,
    }
    assert metrics["seed"] == 0
    assert metrics["data"]["fingerprint"] == tiny_data.fingerprint
    assert metrics["data"]["test_fingerprint"] == splits.test.fingerprint
    assert metrics["base_model"]["path"] == str(tiny_bert_dir)
    assert metrics["hyperparameters"]["lr"] == 1e-2
    assert metrics["hyperparameters"]["max_length"] == 16
    assert metrics["timing"]["wall_seconds"] > 0
    assert result.wall_seconds == metrics["timing"]["wall_seconds"]

    # the reported accuracies agree with an independent evaluation of the saved model
    model, tokenizer = load_classifier(out)
    for part, reported in ((splits.test, result.test_accuracy), (splits.val, result.val_accuracy)):
        batch = tokenizer(
            part.texts, padding=True, truncation=True, max_length=16, return_tensors="pt"
        )
        with torch.no_grad():
            pred = model(**batch).logits.argmax(-1).numpy()
        assert reported == pytest.approx(float(np.mean(pred == part.labels)))
    assert metrics["test_accuracy"] == result.test_accuracy
    # the task is trivially learnable: a working loop gets it right
    assert result.test_accuracy >= 0.9, metrics


def test_finetune_changes_only_what_it_trains(
    tiny_bert_dir: Path, tiny_data: TextDataset, tmp_path: Path
) -> None:
    finetune(tiny_data, tmp_path / "run", **_kwargs(tiny_bert_dir, freeze_embeddings=True))
    before = BertForSequenceClassification.from_pretrained(tiny_bert_dir).state_dict()
    after = _weights(tmp_path / "run")
    key = "bert.embeddings.word_embeddings.weight"
    torch.testing.assert_close(after[key], before[key], rtol=0, atol=0)
    layer = "bert.encoder.layer.0.attention.self.query.weight"
    assert not torch.allclose(after[layer], before[layer])


def test_same_seed_same_weights_other_seed_other_weights(
    tiny_bert_dir: Path, tiny_data: TextDataset, tmp_path: Path
) -> None:
    kw = _kwargs(tiny_bert_dir, epochs=1)
    finetune(tiny_data, tmp_path / "a", **kw)
    finetune(tiny_data, tmp_path / "b", **kw)
    finetune(tiny_data, tmp_path / "c", **{**kw, "seed": 1})
    a, b, c = (_weights(tmp_path / n) for n in "abc")
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=0, atol=0)
    assert not torch.allclose(a["classifier.weight"], c["classifier.weight"])


def test_resume_gives_the_weights_of_an_uninterrupted_run(
    monkeypatch: pytest.MonkeyPatch, tiny_bert_dir: Path, tiny_data: TextDataset, tmp_path: Path
) -> None:
    kw = _kwargs(tiny_bert_dir)  # 28 steps, checkpoints every 4, dropout on
    full = finetune(tiny_data, tmp_path / "full", **kw)

    out = tmp_path / "interrupted"
    with pytest.raises(Interrupt):
        finetune(tiny_data, out, **kw, callback=_stop_at(18))  # 2 steps past the checkpoint
    ckpt = out / "checkpoint"
    state = json.loads((ckpt / "state.json").read_text())
    assert state["step"] == 16
    assert sorted(p.suffix for p in ckpt.iterdir()) == [".json", ".safetensors", ".safetensors"]
    assert not (out / "model.safetensors").exists()

    def no_pickle(*args: object, **kwargs: object) -> None:
        raise AssertionError("torch.load was called")

    monkeypatch.setattr(torch, "load", no_pickle)
    steps: list[int] = []
    resumed = finetune(tiny_data, out, **kw, callback=lambda step, loss: steps.append(step))
    assert resumed.resumed_from_step == 16
    assert steps == list(range(17, 29))
    assert not ckpt.exists(), "the checkpoint is deleted when done"
    a, b = _weights(tmp_path / "full"), _weights(out)
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(b[key], a[key], rtol=1e-5, atol=1e-6)
    assert resumed.test_accuracy == full.test_accuracy
    assert resumed.metrics["train_loss_mean"] == pytest.approx(full.metrics["train_loss_mean"])


def test_resume_twice_across_an_epoch_boundary(
    tiny_bert_dir: Path, tiny_data: TextDataset, tmp_path: Path
) -> None:
    # frozen embeddings: the checkpoint holds the trained weights only
    kw = _kwargs(tiny_bert_dir, checkpoint_every=3, freeze_embeddings=True, precision="bf16")
    finetune(tiny_data, tmp_path / "full", **kw)
    out = tmp_path / "run"
    with pytest.raises(Interrupt):
        finetune(tiny_data, out, **kw, callback=_stop_at(7))
    with pytest.raises(Interrupt):
        finetune(tiny_data, out, **kw, callback=_stop_at(17))  # epoch 2 starts at step 15
    saved = load_file(str(next((out / "checkpoint").glob("weights-*.safetensors"))))
    assert "bert.embeddings.word_embeddings.weight" not in saved
    assert "bert.encoder.layer.0.attention.self.query.weight" in saved
    result = finetune(tiny_data, out, **kw)
    assert result.resumed_from_step == 15
    a, b = _weights(tmp_path / "full"), _weights(out)
    for key in a:
        torch.testing.assert_close(b[key], a[key], rtol=1e-5, atol=1e-6)


def test_checkpoint_from_other_settings_is_refused(
    tiny_bert_dir: Path, tiny_data: TextDataset, tmp_path: Path
) -> None:
    out = tmp_path / "run"
    kw = _kwargs(tiny_bert_dir)
    with pytest.raises(Interrupt):
        finetune(tiny_data, out, **kw, callback=_stop_at(5))
    with pytest.raises(InputError) as excinfo:
        finetune(tiny_data, out, **{**kw, "lr": 5e-3})
    msg = str(excinfo.value)
    assert "other settings or data" in msg and "lr: 0.01 -> 0.005" in msg
    assert "--restart" in msg and "new --out" in msg

    other_data = tiny_data.subset(np.arange(150))
    with pytest.raises(InputError, match="data_fingerprint"):
        finetune(other_data, out, **kw)

    result = finetune(tiny_data, out, **{**kw, "lr": 5e-3, "restart": True})
    assert result.resumed_from_step == 0
    assert result.metrics["hyperparameters"]["lr"] == 5e-3


def test_out_dir_rules(tiny_bert_dir: Path, tiny_data: TextDataset, tmp_path: Path) -> None:
    kw = _kwargs(tiny_bert_dir, epochs=1)
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    with pytest.raises(InputError, match="is not empty and holds no fine-tuning run"):
        finetune(tiny_data, foreign, **kw)
    assert (foreign / "notes.txt").read_text() == "mine"

    a_file = tmp_path / "file"
    a_file.write_text("x")
    with pytest.raises(InputError, match="is a file"):
        finetune(tiny_data, a_file, **kw)

    empty = tmp_path / "empty"
    empty.mkdir()
    first = finetune(tiny_data, empty, **kw)
    with pytest.raises(InputError, match="already holds a fine-tuned model .*--restart"):
        finetune(tiny_data, empty, **kw)
    again = finetune(tiny_data, empty, **{**kw, "seed": 3, "restart": True})
    assert again.metrics["seed"] == 3 and first.metrics["seed"] == 0
    assert json.loads((empty / "metrics.json").read_text())["seed"] == 3


def test_publish_interrupted_between_renames_recovers(
    monkeypatch: pytest.MonkeyPatch, tiny_bert_dir: Path, tiny_data: TextDataset, tmp_path: Path
) -> None:
    kw = _kwargs(tiny_bert_dir)
    out = tmp_path / "run"
    real_rename = os.rename

    def crash_before_moving_the_new_model_in(src: str, dst: str) -> None:
        if Path(src).name.startswith(".run.new-"):  # out is already moved aside
            raise KeyboardInterrupt
        real_rename(src, dst)

    module = sys.modules["captum_ext.train.finetune"]
    monkeypatch.setattr(module.os, "rename", crash_before_moving_the_new_model_in)
    with pytest.raises(KeyboardInterrupt):
        finetune(tiny_data, out, **kw)
    monkeypatch.setattr(module.os, "rename", real_rename)
    assert not out.exists()
    assert [p.name[:9] for p in tmp_path.iterdir()] == [".run.old-"]
    result = finetune(tiny_data, out, **kw)
    assert result.resumed_from_step == 24  # the last checkpoint before the end (28 steps)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]
    load_classifier(out)


@pytest.mark.parametrize("native_bf16", [True, False])
def test_auto_precision_follows_the_cpu(
    monkeypatch: pytest.MonkeyPatch,
    tiny_bert_dir: Path,
    tiny_data: TextDataset,
    tmp_path: Path,
    native_bf16: bool,
) -> None:
    module = sys.modules["captum_ext.train.finetune"]
    monkeypatch.setattr(module, "_native_bf16", lambda: native_bf16)
    kw = _kwargs(tiny_bert_dir, epochs=1)
    auto = finetune(tiny_data, tmp_path / "auto", **{**kw, "precision": "auto"})
    chosen = "bf16" if native_bf16 else "fp32"
    assert auto.metrics["hyperparameters"]["precision"] == chosen
    finetune(tiny_data, tmp_path / "fixed", **{**kw, "precision": chosen})
    other = finetune(
        tiny_data, tmp_path / "other", **{**kw, "precision": "fp32" if native_bf16 else "bf16"}
    )
    a, b, c = (_weights(tmp_path / n) for n in ("auto", "fixed", "other"))
    key = "bert.encoder.layer.0.attention.self.query.weight"
    torch.testing.assert_close(a[key], b[key], rtol=0, atol=0)
    assert not torch.equal(a[key], c[key]), "bf16 autocast changes the arithmetic"
    assert c[key].dtype == torch.float32 and other.metrics["hyperparameters"]["precision"] != chosen


@pytest.mark.parametrize(
    ("arg", "value", "pattern"),
    [
        ("epochs", 0, "epochs must be an int >= 1, got 0"),
        ("n_train", -5, "n_train must be an int >= 1, got -5"),
        ("max_length", 1024, r"max_length must be an int in \[8, 512\], got 1024"),
        ("batch_size", 2.5, "batch_size must be an int >= 1, got 2.5"),
        ("lr", 0.0, r"lr must be a float in \(0, 1\)"),
        ("precision", "fp8", "precision must be 'auto', 'fp32' or 'bf16'"),
        ("checkpoint_every", 0, "checkpoint_every must be an int >= 1"),
    ],
)
def test_bad_arguments(
    tiny_bert_dir: Path,
    tiny_data: TextDataset,
    tmp_path: Path,
    arg: str,
    value: object,
    pattern: str,
) -> None:
    with pytest.raises(InputError, match=pattern):
        finetune(tiny_data, tmp_path / "run", **_kwargs(tiny_bert_dir, **{arg: value}))
    assert not (tmp_path / "run").exists()


def test_batch_plan_covers_each_row_once_per_epoch_with_little_padding() -> None:
    rng = np.random.default_rng(0)
    lengths = rng.integers(3, 49, size=1000)
    plan = _batch_plan(lengths, batch_size=32, epochs=2, seed=0)
    per_epoch = len(plan) // 2
    assert per_epoch == 32  # 1000 rows in pools of 1600: 31 full batches and one of 8
    for epoch in range(2):
        rows = [i for batch in plan[epoch * per_epoch : (epoch + 1) * per_epoch] for i in batch]
        assert sorted(rows) == list(range(1000))
    assert plan[:per_epoch] != plan[per_epoch:], "each epoch has its own order"
    assert plan == _batch_plan(lengths, batch_size=32, epochs=2, seed=0)
    assert plan != _batch_plan(lengths, batch_size=32, epochs=2, seed=1)

    def padded(p: list[list[int]]) -> int:
        return sum(len(b) * max(lengths[b]) for b in p)

    shuffled = rng.permutation(1000)
    random_batches = [shuffled[i : i + 32].tolist() for i in range(0, 1000, 32)]
    assert padded(plan[:per_epoch]) < 0.6 * padded(random_batches)


def test_learning_rate_schedule_by_hand() -> None:
    # 10 steps, 2 of warm-up, peak 1.0
    got = [_lr_at(s, 1.0, 2, 10) for s in range(10)]
    assert got == pytest.approx([0.5, 1.0, 1.0, 7 / 8, 6 / 8, 5 / 8, 4 / 8, 3 / 8, 2 / 8, 1 / 8])
    assert _lr_at(0, 1e-4, 0, 4) == pytest.approx(1e-4)
