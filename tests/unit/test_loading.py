"""captum_ext.adapters.loading: offline, pickle-free loading of classifiers and clear errors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import platformdirs
import pytest
import torch
from transformers import BertForSequenceClassification, BertModel

from captum_ext.adapters.loading import (
    MODEL_DIR_ENV,
    base_encoder_dir,
    default_model_dir,
    load_classifier,
    new_classifier_from_encoder,
)
from captum_ext.errors import CaptumExtError, InputError, ModelLoadError


@pytest.fixture
def model_copy(tiny_bert_dir: Path, tmp_path: Path) -> Path:
    """A private copy of the tiny classifier that a test may damage."""
    return Path(shutil.copytree(tiny_bert_dir, tmp_path / "model"))


@pytest.fixture
def tiny_encoder_dir(tiny_bert_dir: Path, tmp_path: Path) -> Path:
    """A bare tiny BertModel (architectures ["BertModel"], no head), like the base encoder."""
    clf = BertForSequenceClassification.from_pretrained(tiny_bert_dir)
    out = tmp_path / "encoder"
    clf.bert.save_pretrained(out)
    shutil.copy(tiny_bert_dir / "tokenizer.json", out)
    shutil.copy(tiny_bert_dir / "tokenizer_config.json", out)
    return out


def test_base_encoder_dir_is_the_shipped_minilm() -> None:
    d = base_encoder_dir()
    config = json.loads((d / "config.json").read_text())
    assert config["hidden_size"] == 384 and config["num_hidden_layers"] == 6
    assert (d / "vocab.txt").is_file() and (d / "model.safetensors").is_file()


def test_default_model_dir_in_user_cache_and_env_override(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv(MODEL_DIR_ENV, raising=False)
    assert default_model_dir() == platformdirs.user_cache_path("captum-ext") / "models" / "default"
    monkeypatch.setenv(MODEL_DIR_ENV, str(tmp_path / "elsewhere"))
    assert default_model_dir() == tmp_path / "elsewhere"


def test_load_round_trip_matches_transformers(tiny_bert_dir: Path) -> None:
    model, tokenizer = load_classifier(tiny_bert_dir)
    assert isinstance(model, BertForSequenceClassification)
    assert not model.training
    assert tokenizer.is_fast
    assert model.config.id2label == {0: "negative", 1: "positive"}
    reference = BertForSequenceClassification.from_pretrained(tiny_bert_dir).eval()
    batch = tokenizer(["so happy today", "worst day ever :("], padding=True, return_tensors="pt")
    with torch.no_grad():
        torch.testing.assert_close(model(**batch).logits, reference(**batch).logits)


def test_default_path_is_used_when_none(
    monkeypatch: pytest.MonkeyPatch, tiny_bert_dir: Path
) -> None:
    monkeypatch.setenv(MODEL_DIR_ENV, str(tiny_bert_dir))
    model, _ = load_classifier()
    assert model.config.hidden_size == 32


def test_eager_attention_gives_attention_weights(tiny_bert_dir: Path) -> None:
    model, tokenizer = load_classifier(tiny_bert_dir, attn_implementation="eager")
    out = model(**tokenizer(["hello there"], return_tensors="pt"), output_attentions=True)
    assert len(out.attentions) == 2
    assert out.attentions[0].shape[1] == 2  # heads


def test_loading_never_unpickles(monkeypatch: pytest.MonkeyPatch, tiny_bert_dir: Path) -> None:
    def no_pickle(*args: object, **kwargs: object) -> None:
        raise AssertionError("torch.load was called")

    monkeypatch.setattr(torch, "load", no_pickle)
    load_classifier(tiny_bert_dir)


# --- errors ----------------------------------------------------------------------------------


def _message(excinfo: pytest.ExceptionInfo[BaseException]) -> str:
    text = str(excinfo.value)
    assert "\n" not in text, "errors are one line"
    return text


def test_missing_default_model_says_how_to_create_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(MODEL_DIR_ENV, str(tmp_path / "nothing"))
    with pytest.raises(ModelLoadError) as excinfo:
        load_classifier()
    msg = _message(excinfo)
    assert msg.startswith(f"no fine-tuned default model at {tmp_path / 'nothing'}")
    assert "`captum-ext finetune`" in msg and "`make demo`" in msg


def test_missing_directory_says_pass_model(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError) as excinfo:
        load_classifier(tmp_path / "nope")
    msg = _message(excinfo)
    assert str(tmp_path / "nope") in msg and "does not exist" in msg
    assert "pass --model DIR pointing at a Hugging Face checkpoint directory" in msg


def test_a_file_instead_of_a_directory(tmp_path: Path) -> None:
    f = tmp_path / "model.safetensors"
    f.write_bytes(b"x")
    with pytest.raises(ModelLoadError, match="is a file: pass --model DIR"):
        load_classifier(f)


def test_no_config(model_copy: Path) -> None:
    (model_copy / "config.json").unlink()
    with pytest.raises(ModelLoadError) as excinfo:
        load_classifier(model_copy)
    assert "has no config.json" in _message(excinfo)


def test_pickled_weights_are_refused(monkeypatch: pytest.MonkeyPatch, model_copy: Path) -> None:
    state = BertForSequenceClassification.from_pretrained(model_copy).state_dict()
    (model_copy / "model.safetensors").unlink()
    torch.save(state, model_copy / "pytorch_model.bin")  # a real pickle, never to be read

    def no_pickle(*args: object, **kwargs: object) -> None:
        raise AssertionError("torch.load was called")

    monkeypatch.setattr(torch, "load", no_pickle)
    with pytest.raises(ModelLoadError) as excinfo:
        load_classifier(model_copy)
    msg = _message(excinfo)
    assert "pytorch_model.bin" in msg and "refused" in msg and "pickled" in msg
    assert "save_pretrained" in msg and "model.safetensors" in msg


def test_no_weights_at_all(model_copy: Path) -> None:
    (model_copy / "model.safetensors").unlink()
    with pytest.raises(ModelLoadError) as excinfo:
        load_classifier(model_copy)
    assert "has no model.safetensors" in _message(excinfo)


@pytest.mark.parametrize("damage", ["truncate", "garbage"])
def test_corrupt_weights(model_copy: Path, damage: str) -> None:
    weights = model_copy / "model.safetensors"
    data = weights.read_bytes()
    weights.write_bytes(data[: len(data) // 2] if damage == "truncate" else b"\x00garbage" * 50)
    with pytest.raises(ModelLoadError) as excinfo:
        load_classifier(model_copy)
    msg = _message(excinfo)
    assert msg.startswith(f"cannot load the model in {model_copy}")
    assert "corrupt" in msg


def test_config_that_is_not_json(model_copy: Path) -> None:
    (model_copy / "config.json").write_text('{"model_type": "bert", ')
    with pytest.raises(ModelLoadError) as excinfo:
        load_classifier(model_copy)
    assert "config.json is not valid JSON" in _message(excinfo)


def test_config_with_unknown_model_type(model_copy: Path) -> None:
    config = json.loads((model_copy / "config.json").read_text())
    config["model_type"] = "no-such-model"
    (model_copy / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelLoadError) as excinfo:
        load_classifier(model_copy)
    assert "cannot load the model" in _message(excinfo)


def test_weights_that_do_not_match_the_config(model_copy: Path) -> None:
    config = json.loads((model_copy / "config.json").read_text())
    config["hidden_size"] = 64
    (model_copy / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelLoadError, match="cannot load the model"):
        load_classifier(model_copy)


def test_bare_encoder_is_not_a_classifier() -> None:
    with pytest.raises(ModelLoadError) as excinfo:
        load_classifier(base_encoder_dir())
    msg = _message(excinfo)
    assert "holds a BertModel, not a sequence classifier" in msg
    assert "captum-ext finetune --base" in msg


def test_encoder_weights_without_architectures_are_not_a_classifier(
    tiny_encoder_dir: Path,
) -> None:
    config = json.loads((tiny_encoder_dir / "config.json").read_text())
    del config["architectures"]
    (tiny_encoder_dir / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelLoadError) as excinfo:
        load_classifier(tiny_encoder_dir)
    msg = _message(excinfo)
    assert "not a fine-tuned sequence classifier" in msg and "classifier." in msg


def test_missing_tokenizer(model_copy: Path) -> None:
    for name in ("tokenizer.json", "tokenizer_config.json", "vocab.txt"):
        (model_copy / name).unlink(missing_ok=True)
    with pytest.raises(ModelLoadError) as excinfo:
        load_classifier(model_copy)
    assert "has no tokenizer files" in _message(excinfo)


def test_bad_device(tiny_bert_dir: Path) -> None:
    with pytest.raises(InputError, match="device must be like 'cpu'"):
        load_classifier(tiny_bert_dir, device="gpu-please")


def test_errors_are_captum_ext_errors() -> None:
    assert issubclass(ModelLoadError, CaptumExtError)


# --- a fresh head on an encoder ---------------------------------------------------------------


def test_new_classifier_keeps_the_encoder_and_seeds_the_head(tiny_encoder_dir: Path) -> None:
    encoder = BertModel.from_pretrained(tiny_encoder_dir)
    a, tokenizer = new_classifier_from_encoder(tiny_encoder_dir, seed=0)
    b, _ = new_classifier_from_encoder(tiny_encoder_dir, seed=0)
    c, _ = new_classifier_from_encoder(tiny_encoder_dir, seed=1)
    assert tokenizer.is_fast
    assert a.training
    assert a.config.id2label == {0: "negative", 1: "positive"}
    assert a.config.label2id == {"negative": 0, "positive": 1}
    torch.testing.assert_close(
        a.bert.encoder.layer[1].output.dense.weight, encoder.encoder.layer[1].output.dense.weight
    )
    torch.testing.assert_close(a.classifier.weight, b.classifier.weight)
    assert not torch.equal(a.classifier.weight, c.classifier.weight)
    # the head is initialised like transformers does it: N(0, initializer_range), zero bias
    assert torch.count_nonzero(a.classifier.bias) == 0
    assert 0.2 * encoder.config.initializer_range < a.classifier.weight.std() < 5 * 0.02


def test_new_classifier_leaves_global_rng_alone(tiny_encoder_dir: Path) -> None:
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    new_classifier_from_encoder(tiny_encoder_dir, seed=7)
    torch.testing.assert_close(torch.rand(3), expected)


def test_new_classifier_replaces_a_head_of_another_size(tiny_bert_dir: Path) -> None:
    model, _ = new_classifier_from_encoder(
        tiny_bert_dir, num_labels=3, id2label={0: "neg", 1: "neu", 2: "pos"}
    )
    assert model.classifier.out_features == 3
    assert model.config.id2label == {0: "neg", 1: "neu", 2: "pos"}


def test_new_classifier_errors(tmp_path: Path, tiny_encoder_dir: Path) -> None:
    with pytest.raises(ModelLoadError, match="encoder directory .* does not exist"):
        new_classifier_from_encoder(tmp_path / "nope")
    with pytest.raises(InputError, match="num_labels must be >= 2, got 1"):
        new_classifier_from_encoder(tiny_encoder_dir, num_labels=1)
    with pytest.raises(InputError, match="id2label must have the keys 0..1"):
        new_classifier_from_encoder(tiny_encoder_dir, id2label={1: "a", 2: "b"})
