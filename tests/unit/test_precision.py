"""Precision of forwards and gradients: resolution, autocast, what methods and records say."""

from __future__ import annotations

import argparse

import numpy as np
import pytest
import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer

from captum_ext.adapters import TextClassifierAdapter
from captum_ext.adapters import precision as prec
from captum_ext.errors import InputError
from captum_ext.methods import family_precision, make_explainer

TEXTS = ["what a lovely day", "i hate mondays so much", "not bad at all =)"]


@pytest.fixture(scope="module")
def model_and_tok(tiny_bert_dir):
    model = AutoModelForSequenceClassification.from_pretrained(tiny_bert_dir).eval()
    return model, AutoTokenizer.from_pretrained(tiny_bert_dir)


def _make(model_and_tok, **kw):
    model, tok = model_and_tok
    return TextClassifierAdapter(model, tok, max_length=64, device="cpu", **kw)


def _reference_probs(model, tok, text, dtype):
    """The plain Hugging Face call under torch's own CPU autocast (None: fp32)."""
    enc = tok(text, return_tensors="pt")
    with torch.no_grad():
        if dtype is None:
            logits = model(**enc).logits
        else:
            with torch.autocast("cpu", dtype=dtype):
                logits = model(**enc).logits
    return torch.softmax(logits.float(), -1)[0].numpy()


def test_check_precision_rejects_unknown(model_and_tok):
    with pytest.raises(InputError, match="precision must be one of"):
        prec.check_precision("fp8")
    with pytest.raises(InputError, match="precision must be one of"):
        _make(model_and_tok, precision="float16")
    with pytest.raises(InputError, match="precision must be one of"):
        make_explainer("ig", _make(model_and_tok), precision="half")


@pytest.mark.parametrize("native", [True, False])
def test_auto_on_cpu_follows_native_bf16(monkeypatch, native):
    monkeypatch.setattr(prec, "cpu_has_native_bf16", lambda: native)
    assert prec.resolve_precision("auto", "cpu") == ("bf16" if native else "fp32")
    assert prec.resolve_precision("fp16", "cpu") == "fp16"  # explicit wins over hardware


@pytest.mark.parametrize("bf16_ok,expected", [(True, "bf16"), (False, "fp16")])
def test_auto_on_cuda(monkeypatch, bf16_ok, expected):
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: bf16_ok)
    assert prec.resolve_precision("auto", "cuda") == expected


def test_cpu_bf16_detection_reads_cpuinfo_flags():
    flags = ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            flags = next((ln for ln in fh if ln.startswith("flags")), "")
    except OSError:
        pass
    expected = any(f in flags.split() for f in ("avx512_bf16", "amx_bf16"))
    assert prec.cpu_has_native_bf16() == expected


def test_device_auto_picks_cuda_when_present(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert prec.resolve_device("auto") == torch.device("cuda")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert prec.resolve_device("auto") == torch.device("cpu")
    with pytest.raises(InputError, match="device"):
        prec.resolve_device("gpu-please")


@pytest.mark.parametrize("precision,dtype", [("bf16", torch.bfloat16), ("fp16", torch.float16)])
def test_half_precision_predictions_match_torch_autocast(model_and_tok, precision, dtype):
    model, tok = model_and_tok
    adapter = _make(model_and_tok, precision=precision)
    assert adapter.precision == precision
    got = adapter.predict_proba(TEXTS)
    ref = np.stack([_reference_probs(model, tok, t, dtype) for t in TEXTS])
    fp32 = np.stack([_reference_probs(model, tok, t, None) for t in TEXTS])
    np.testing.assert_allclose(got, ref, atol=2e-3)  # padding within a batch: same to rounding
    assert np.abs(got - fp32).max() > 0  # it really ran in half precision
    assert np.abs(got - fp32).max() < 0.05


def test_using_precision_scopes_and_restores(model_and_tok):
    adapter = _make(model_and_tok)
    assert adapter.precision == "fp32"
    fp32 = adapter.predict_proba(TEXTS)
    with adapter.using_precision("bf16") as concrete:
        assert concrete == "bf16" and adapter.precision == "bf16"
        bf16 = adapter.predict_proba(TEXTS)
    assert adapter.precision == "fp32"
    assert not np.array_equal(fp32, bf16)
    np.testing.assert_array_equal(adapter.predict_proba(TEXTS), fp32)


def test_gradients_flow_in_bf16(model_and_tok):
    adapter = _make(model_and_tok, precision="bf16")
    ids, mask = adapter.captum_inputs(TEXTS[0])
    embeds = adapter.embedding_layer(ids).detach().requires_grad_(True)
    handle = adapter.embedding_layer.register_forward_hook(lambda _m, _i, _o: embeds)
    try:
        out = adapter.forward_func("probs")(ids, mask)
    finally:
        handle.remove()
    assert out.dtype == torch.float32  # logits are cast back before the softmax
    out[0, 1].backward()
    assert embeds.grad is not None and torch.isfinite(embeds.grad).all()
    assert embeds.grad.abs().sum() > 0


def test_method_precision_resolution_and_record(model_and_tok):
    plain = _make(model_and_tok)
    ig = make_explainer("ig", plain, n_steps=4)
    wa = ig.explain(TEXTS[0])
    assert wa.settings["precision"] == prec.resolve_precision(family_precision("ig"), "cpu")
    # the adapter's explicit precision applies to every method ...
    wa = make_explainer("ig", _make(model_and_tok, precision="bf16"), n_steps=4).explain(TEXTS[0])
    assert wa.settings["precision"] == "bf16"
    # ... and a method's own precision wins over it
    wa = make_explainer(
        "occlusion", _make(model_and_tok, precision="bf16"), precision="fp32"
    ).explain(TEXTS[0])
    assert wa.settings["precision"] == "fp32"


def test_measured_family_defaults(model_and_tok, monkeypatch):
    """Perturbation methods default to auto (bf16 where it is native), the others to fp32
    (docs/methods.md "Precision"); a CPU without bf16 units runs every family in fp32."""
    plain = _make(model_and_tok)
    assert family_precision("occlusion") == family_precision("lime") == "auto"
    assert family_precision("ig") == family_precision("attention-last") == "fp32"
    occ = make_explainer("occlusion", plain)
    native = prec.cpu_has_native_bf16()
    assert occ.explain(TEXTS[0]).settings["precision"] == ("bf16" if native else "fp32")
    monkeypatch.setattr(prec, "cpu_has_native_bf16", lambda: False)
    assert occ.explain(TEXTS[0]).settings["precision"] == "fp32"


def test_the_drop_in_textlime_runs_in_the_adapters_precision(model_and_tok):
    """TextLime is the drop-in class: its explain() calls the model as its attribute() and
    official LIME given the adapter do (fp32 unless the adapter says otherwise), not in the
    "lime" method family's default."""
    from captum_ext.attr import TextLime

    wa = TextLime(_make(model_and_tok), random_state=0).explain(TEXTS[0], n_samples=20)
    assert wa.settings["precision"] == "fp32"
    wa = TextLime(_make(model_and_tok, precision="bf16"), random_state=0).explain(
        TEXTS[0], n_samples=20
    )
    assert wa.settings["precision"] == "bf16"


def test_ig_in_bf16_close_to_fp32_and_differs(model_and_tok):
    adapter = _make(model_and_tok)
    fp32 = make_explainer("ig", adapter, n_steps=8, precision="fp32").explain(TEXTS[1])
    bf16 = make_explainer("ig", adapter, n_steps=8, precision="bf16").explain(TEXTS[1])
    assert not np.array_equal(fp32.scores, bf16.scores)
    scale = np.abs(fp32.scores).max()
    assert np.abs(fp32.scores - bf16.scores).max() < 0.25 * scale + 1e-6


def test_batched_methods_record_precision(model_and_tok):
    adapter = _make(model_and_tok)
    results = make_explainer("saliency", adapter, precision="bf16").explain_many(TEXTS)
    assert [r.settings["precision"] for r in results] == ["bf16"] * len(TEXTS)


def test_shared_predictions_does_not_mix_precisions(model_and_tok):
    from captum_ext.harness.runner import shared_predictions

    adapter = _make(model_and_tok)
    rows = [adapter.encode(t).input_ids for t in TEXTS]
    with shared_predictions(adapter) as counts:
        a = adapter.predict_ids(rows)
        with adapter.using_precision("bf16"):
            b = adapter.predict_ids(rows)
    assert counts["evaluated"] == 2 * len(rows)
    assert not np.array_equal(a, b)


def test_compare_records_precision(model_and_tok):
    from captum_ext.harness.runner import RunConfig, run_compare

    adapter = _make(model_and_tok, precision="bf16")
    store = run_compare(
        TEXTS[:2],
        adapter,
        config=RunConfig(methods=["occlusion"], faithfulness=False),
        show_progress=False,
    )
    recs = store.records("attribution")
    assert recs and {r.precision for r in recs} == {"bf16"}
    assert {r.attribution.settings["precision"] for r in recs} == {"bf16"}


def test_cli_precision_option_reaches_the_adapter(tiny_bert_dir):
    from captum_ext.commands._common import add_model_args, load_adapter

    parser = argparse.ArgumentParser()
    add_model_args(parser)
    args = parser.parse_args(["--model", str(tiny_bert_dir), "--precision", "bf16"])
    adapter = load_adapter(args)
    assert adapter.precision == "bf16" and adapter.device.type in ("cpu", "cuda")
    with pytest.raises(SystemExit):
        parser.parse_args(["--precision", "fp8"])
