"""The Ray engine of the feature cache, ``audit``, ``influence`` and ``pick``.

Equal results to the in-process engine, a job that dies after some shards resumes computing only
the missing ones (nothing lost, nothing twice), and without Ray a one-line error. One local Ray
(2 CPUs) serves the whole module; Ray is the optional extra ``captum-ext[ray]``: without it only
the error test runs.
"""

from __future__ import annotations

import json
import sys

import numpy as np
import pandas as pd
import pytest
from model_factory import NEG_TWEETS, POS_TWEETS
from test_influence_support import one_thread  # noqa: F401  (one torch thread, as the actors)

from captum_ext.cli import main

# positive tweets at even positions, negative at odd ones
TEXTS = [t for pair in zip(POS_TWEETS[:5], NEG_TWEETS[:5], strict=True) for t in pair]
KWARGS = {"max_length": 64, "batch_size": 64, "device": "auto"}  # what the CLI passes


@pytest.fixture(scope="module")
def ray_session():
    """One local Ray with 2 CPUs for the module (the engines use it rather than start one)."""
    ray = pytest.importorskip("ray")
    started = not ray.is_initialized()
    if started:
        ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    if started:
        from captum_ext.engines._ray import release_actors

        release_actors()
        ray.shutdown()


def _engine(tiny_bert_dir, **kw):
    from captum_ext.engines import RayEngine

    return RayEngine(model=str(tiny_bert_dir), adapter_kwargs=KWARGS, workers=2, **kw)


def _dies_after(monkeypatch, n_done: int) -> list[list]:
    """Make the next ``RayEngine.map`` die after its first ``n_done`` shards were stored (the
    shards are cut as the real job cuts them; the others never run); returns the payloads each
    later (real) call was given."""
    from captum_ext.engines import RayEngine

    real = RayEngine.map
    calls: list[list] = []
    state = {"dying": True}

    def fake(self, fn, payloads, *, on_result=None, adapter=None):
        payloads = list(payloads)
        if state["dying"]:
            state["dying"] = False
            assert len(payloads) > n_done
            real(self, fn, payloads[:n_done], on_result=on_result, adapter=adapter)
            raise RuntimeError("killed")
        calls.append(payloads)
        return real(self, fn, payloads, on_result=on_result, adapter=adapter)

    monkeypatch.setattr(RayEngine, "map", fake)
    return calls


# -- the feature cache ------------------------------------------------------------------------
def test_feature_cache_killed_job_resumes_to_the_in_process_cache(
    ray_session, adapter, tiny_bert_dir, tmp_path, monkeypatch
):
    from captum_ext.influence import HeadFeatureExtractor

    texts = TEXTS * 2  # 20 texts, chunks of 4: 5 chunks
    local = HeadFeatureExtractor(adapter, cache_dir=tmp_path / "local", chunk_size=4)
    ref = local.for_texts(texts)
    calls = _dies_after(monkeypatch, 2)
    ray_x = HeadFeatureExtractor(
        adapter, cache_dir=tmp_path / "ray", chunk_size=4, engine=_engine(tiny_bert_dir)
    )
    with pytest.raises(RuntimeError, match="killed"):
        ray_x.for_texts(texts)
    parts = next((tmp_path / "ray").iterdir()) / "chunks"
    saved = sorted(p.name for p in parts.glob("0*.npy"))
    assert len(saved) == 2  # the two chunks that arrived before the kill, whole
    got = ray_x.for_texts(texts)  # the rerun
    from captum_ext.engines._ray import _WARM

    assert len(_WARM["actors"]) == 2  # kept warm for the next job of this model
    assert len(calls) == 1
    redone = sorted(p["index"] for p in calls[0])
    assert redone == sorted(set(range(5)) - {int(s[:6]) for s in saved})  # only the missing
    assert got.path.name == ref.path.name  # same fingerprints: either engine resumes the other
    np.testing.assert_allclose(got.features, ref.features, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(got.logits, ref.logits, rtol=1e-6, atol=1e-7)


# -- pick -------------------------------------------------------------------------------------
def _sp(adapter, store, **kw):
    from captum_ext.attr import SubmodularPick, TextLime

    lime = TextLime(adapter, units="lime", bow=True, feature_selection="auto", random_state=0)
    return SubmodularPick(
        lime, TEXTS, method="full", num_exps_desired=3, n_samples=40, random_state=0,
        store=store, **kw,
    )  # fmt: skip


def _by_index(explanations) -> dict:
    from dataclasses import asdict

    return {e.index: asdict(e) for e in explanations}


def _close(a, b, where=""):
    if isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for k in a:
            _close(a[k], b[k], f"{where}.{k}")
    elif isinstance(a, list):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _close(x, y, f"{where}[{i}]")
    elif isinstance(a, float):
        assert b == pytest.approx(a, rel=1e-5, abs=1e-7), where
    else:
        assert a == b, where


def test_pick_killed_job_resumes_to_the_in_process_pick(
    ray_session, adapter, tiny_bert_dir, tmp_path, monkeypatch
):
    ref = _sp(adapter, tmp_path / "local.jsonl")
    calls = _dies_after(monkeypatch, 2)
    store = tmp_path / "ray.jsonl"
    with pytest.raises(RuntimeError, match="killed"):
        _sp(adapter, store, engine=_engine(tiny_bert_dir))
    before = [json.loads(x)["index"] for x in store.read_text().splitlines()[1:]]
    assert 0 < len(before) < len(TEXTS)  # two shards stored, whole
    sp = _sp(adapter, store, engine=_engine(tiny_bert_dir))
    assert sp.n_resumed == len(before)
    redone = sorted(i for p in calls[0] for i, _ in p["items"])
    assert redone == sorted(set(range(len(TEXTS))) - set(before))  # only the missing
    indices = [json.loads(x)["index"] for x in store.read_text().splitlines()[1:]]
    assert sorted(indices) == list(range(len(TEXTS)))  # nothing lost, nothing twice
    _close(_by_index(ref.explanations), _by_index(sp.explanations))
    assert sp.picked_indices == ref.picked_indices


def test_explainer_travels_without_its_model(ray_session, adapter, tiny_bert_dir):
    from captum_ext.adapters import TextClassifierAdapter
    from captum_ext.attr import TextLime
    from captum_ext.engines._ray import attach_adapter, detach_adapter

    lime = TextLime(adapter, units="lime", bow=True, random_state=0)
    blob = detach_adapter(lime, adapter)
    weights = sum(p.numel() for p in adapter.model.parameters()) * 4
    assert len(blob) < weights / 20  # the model stayed behind
    other = TextClassifierAdapter.from_pretrained(tiny_bert_dir, **KWARGS)
    copy = attach_adapter(blob, other)
    assert copy.adapter is other
    a = lime.explain(TEXTS[0], n_samples=40, random_state=3)
    b = copy.explain(TEXTS[0], n_samples=40, random_state=3)
    np.testing.assert_allclose(a.scores, b.scores, rtol=1e-6)
    assert other.n_forward_rows > 0 and copy.forward_func is not lime.forward_func


# -- command line -----------------------------------------------------------------------------
def _data(tmp_path):
    folder = tmp_path / "s140"
    folder.mkdir()
    (folder / "positive.txt").write_text("\n".join(TEXTS[::2]) + "\n", encoding="utf-8")
    (folder / "negative.txt").write_text("\n".join(TEXTS[1::2]) + "\n", encoding="utf-8")
    return folder


def test_audit_and_pick_commands_give_the_same_output_on_ray(
    ray_session, tiny_bert_dir, tmp_path, capsys
):
    data = _data(tmp_path)
    model = ["--model", str(tiny_bert_dir), "--max-length", "64"]
    frames = {}
    for engine in ("local", "ray"):
        out = tmp_path / f"{engine}.csv"
        argv = ["audit", "--data", str(data), "--k", "3", "--folds", "2", "--out", str(out),
                "--cache-dir", str(tmp_path / f"cache-{engine}"), "--engine", engine, *model]  # fmt: skip
        assert main(argv) == 0, capsys.readouterr().err
        frames[engine] = pd.read_csv(out)
    pd.testing.assert_frame_equal(frames["local"], frames["ray"], rtol=1e-5)
    assert len(frames["ray"]) == len(TEXTS)

    outs = {}
    for engine in ("local", "ray"):
        argv = ["pick", "--data", str(data), "--n", "10", "--budget", "2", "--sample-size", "6",
                "--n-samples", "40", "--json", "--no-progress", "--engine", engine,
                "--store", str(tmp_path / f"sp-{engine}.jsonl"), *model]  # fmt: skip
        assert main(argv) == 0, capsys.readouterr().err
        outs[engine] = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert [o["index"] for o in outs["ray"]] == [o["index"] for o in outs["local"]]
    _close(outs["local"], outs["ray"])


@pytest.mark.parametrize(
    "argv",
    [
        ["pick", "--data", "DATA"],
        ["audit", "--data", "DATA"],
        ["influence", "good day", "--data", "DATA"],
        ["compare", "--text", "good day", "--out", "OUT"],
    ],
)
def test_engine_ray_without_ray_says_what_to_install(argv, tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray raises ImportError
    argv = [str(tmp_path / "s140") if a == "DATA" else a for a in argv]
    argv = [str(tmp_path / "out") if a == "OUT" else a for a in argv]
    _data(tmp_path)
    assert main([*argv, "--engine", "ray"]) == 2
    err = capsys.readouterr().err.strip()
    assert "pip install 'captum-ext[ray]'" in err and "\n" not in err


def test_engine_options_are_checked(tmp_path, capsys):
    pick = ["pick", "--data", str(_data(tmp_path))]
    for extra, fragment in [
        (["--address", "auto"], "--address joins a Ray cluster: it needs --engine ray"),
        (["--engine", "ray", "--workers", "0"], "--workers must be an integer >= 1"),
        (["--engine", "ray", "--threads-per-worker", "0"], "--threads-per-worker must be"),
        (["--engine", "ray", "--gpus-per-worker", "-1"], "--gpus-per-worker must be >= 0"),
    ]:
        assert main([*pick, *extra]) == 2
        err = capsys.readouterr().err.strip()
        assert fragment in err and "\n" not in err, err


def test_a_worker_with_another_model_fails_the_job_in_one_line(
    ray_session, adapter, tmp_path, tmp_path_factory
):
    from conftest import make_tiny_bert

    from captum_ext.errors import InputError
    from captum_ext.influence import HeadFeatureExtractor

    other = make_tiny_bert(tmp_path_factory.mktemp("other_bert"), seed=1)
    x = HeadFeatureExtractor(adapter, cache_dir=tmp_path, engine=_engine(other))
    with pytest.raises(InputError, match="another model") as err:
        x.for_texts(TEXTS)
    assert "\n" not in str(err.value)
