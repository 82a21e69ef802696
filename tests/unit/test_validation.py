"""captum_ext.validation: the checks every function and command uses, against what they replace."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from captum_ext.errors import InputError
from captum_ext.validation import (
    SEED_MAX,
    check_choice,
    check_device,
    check_method_names,
    check_scalar,
    check_seed,
    check_store_file,
    read_text_lines,
)


@pytest.mark.parametrize(
    ("value", "kw", "message"),
    [
        (0, {"min_val": 1}, "n must be >= 1, got 0."),
        (0.0, {"min_val": 0, "include_boundaries": "neither"}, "n must be > 0, got 0.0."),
        (
            1.5,
            {"min_val": 0, "max_val": 1, "include_boundaries": "right"},
            r"n must be in (0, 1], got 1.5.",
        ),
        (
            1,
            {"min_val": 0, "max_val": 1, "include_boundaries": "left"},
            "n must be in [0, 1), got 1.",
        ),
        (math.nan, {"min_val": 0}, "n must be >= 0, got nan."),
        ("5", {"min_val": 1}, "n must be a number >= 1, got '5'."),
        (None, {"min_val": 1}, "n must be a number >= 1, got None."),
        (True, {"min_val": 1}, "n must be a number >= 1, got True."),
    ],
)
def test_check_scalar_messages(value, kw, message):
    with pytest.raises(InputError) as exc:
        check_scalar(value, "n", **kw)
    assert str(exc.value) == message


def test_check_scalar_accepts_what_the_inline_checks_accepted():
    assert check_scalar(np.int64(3), "k", int, min_val=1) == 3
    assert check_scalar(2.5, "n_samples", min_val=1) == 2.5  # untyped checks stay untyped
    assert check_scalar(None, "alpha", min_val=0, allow_none=True) is None
    with pytest.raises(InputError, match="k must be an int >= 1, got 2.0"):
        check_scalar(2.0, "k", int, min_val=1)


def test_check_seed_is_numpys_range():
    assert check_seed(0) == 0 and check_seed(SEED_MAX) == SEED_MAX
    np.random.RandomState(SEED_MAX)  # the reference accepts the bound
    for bad in (-1, SEED_MAX + 1, 2**40):
        with pytest.raises(ValueError):
            np.random.RandomState(bad)  # and refuses what check_seed refuses
        with pytest.raises(InputError, match="--seed must be an int in"):
            check_seed(bad, "--seed")


def test_check_device():
    assert check_device("cpu") == torch.device("cpu")
    with pytest.raises(InputError, match="--device must be like 'cpu'"):
        check_device("bogus", "--device")
    with pytest.raises(InputError, match="holds no data"):
        check_device("meta", "--device")
    if not torch.cuda.is_available():
        with pytest.raises(InputError, match="CUDA is not available here: pass --device cpu"):
            check_device("cuda", "--device")
    else:  # pragma: no cover - a GPU machine
        with pytest.raises(InputError, match="CUDA device"):
            check_device(f"cuda:{torch.cuda.device_count()}", "--device")


def test_from_pretrained_checks_the_device_before_loading(tmp_path):
    from captum_ext.adapters import TextClassifierAdapter

    with pytest.raises(InputError, match="device must be like"):
        TextClassifierAdapter.from_pretrained(tmp_path / "no-model", device="bogus")


def test_choice_and_method_names():
    assert check_choice("a", "x", ("a", "b")) == "a"
    with pytest.raises(InputError, match="x must be one of a, b, got"):
        check_choice(["a"], "x", ("a", "b"))  # unhashable: a clear error, not a TypeError
    for empty in ("", ",", " , ,"):
        with pytest.raises(InputError, match="--methods .* names no method"):
            check_method_names(empty)
    assert check_method_names(None) is None


def test_store_and_text_files(tmp_path):
    bad = tmp_path / "store.jsonl"
    bad.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(InputError, match="--store .* is not a UTF-8 JSONL store"):
        check_store_file(bad)
    with pytest.raises(InputError, match="--queries .* does not exist"):
        read_text_lines(tmp_path / "missing.txt", "--queries")
    (tmp_path / "crlf.txt").write_bytes(b"\xef\xbb\xbfnice day\r\nbad\x0cday\r\n")
    # a BOM is dropped, CRLF ends a line, a form feed inside a line does not split it
    assert read_text_lines(tmp_path / "crlf.txt") == ["nice day", "bad\x0cday"]


def test_shap_partition_is_deterministic_as_registered(adapter):
    from captum_ext.methods import get_method, make_explainer

    assert get_method("shap-partition").stochastic is False
    exp = make_explainer("shap-partition", adapter, max_evals=20)
    a = exp.explain("not a good day at all", random_state=0)
    b = exp.explain("not a good day at all", random_state=12345)
    np.testing.assert_array_equal(a.scores, b.scores)


def test_finetune_checkpoints_by_time(tiny_bert_dir, tmp_path, monkeypatch):
    """A run shorter than ``checkpoint_every`` steps still leaves a checkpoint after
    ``checkpoint_seconds`` (a kill then resumes instead of restarting)."""
    import json

    from captum_ext.data import TextDataset
    from captum_ext.train import finetune

    texts = [f"tweet {i} {'good' if i % 2 else 'bad'} day" for i in range(96)]
    data = TextDataset(texts, np.arange(96) % 2, ("negative", "positive"))

    class Stop(Exception):
        pass

    def stop(done, loss):
        if done == 3:
            raise Stop

    kw = dict(base=tiny_bert_dir, n_train=None, epochs=1, max_length=16, batch_size=8,
              test_size=16, val_size=0, show_progress=False, precision="fp32", num_threads=1,
              checkpoint_every=1000)  # fmt: skip
    with pytest.raises(Stop):
        finetune(data, tmp_path / "run", **kw, checkpoint_seconds=1e-9, callback=stop)
    state = json.loads((tmp_path / "run" / "checkpoint" / "state.json").read_text())
    assert state["step"] == 3
    with pytest.raises(Stop):
        finetune(data, tmp_path / "steps", **kw, checkpoint_seconds=None, callback=stop)
    assert not (tmp_path / "steps" / "checkpoint").exists()
