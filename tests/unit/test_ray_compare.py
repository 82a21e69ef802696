"""The Ray engine of compare: same records as the in-process engine; kill and rerun is exact.

Runs a local Ray with 2 single-thread workers (Ray is the optional extra ``captum-ext[ray]``;
without it this module is skipped, as the extra is not installed).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

pytest.importorskip("ray")

from captum_ext.engines.ray_compare import run_compare_ray, shard_bounds  # noqa: E402
from captum_ext.harness.runner import RunConfig, run_compare  # noqa: E402
from captum_ext.harness.store import ResultStore, record_key  # noqa: E402

TEXTS = [
    "what a lovely day",
    "i hate mondays so much",
    "not bad at all =)",
    "worst service ever, never again",
    "thanks so much for the birthday wishes",
    "ugh my head hurts and the bus is late",
    "best dinner i have had in a long time",
]
CONFIG = RunConfig(
    methods=["occlusion", "lime"],
    method_settings={"lime": {"n_samples": 40}},
    stability_seeds=[1],
    stability_texts=3,
    chunk_size=2,
    n_random=2,
)


def _comparable(store: ResultStore) -> dict:
    """Records by key, wall-clock seconds left out."""
    return {record_key(r): {k: v for k, v in r.to_dict().items() if k != "seconds"} for r in store}


def _close(a, b, where: str) -> None:
    if isinstance(a, dict):
        assert isinstance(b, dict) and a.keys() == b.keys(), where
        for k in a:
            _close(a[k], b[k], f"{where}.{k}")
    elif isinstance(a, list):
        assert isinstance(b, list) and len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _close(x, y, f"{where}[{i}]")
    elif isinstance(a, float) and not isinstance(b, str):
        # different processes and thread counts: the same numbers to float32 rounding
        assert b == pytest.approx(a, rel=1e-5, abs=1e-7, nan_ok=True), where
    else:
        assert a == b, where


def _assert_same(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for k in a:
        _close(a[k], b[k], str(k))


def test_shard_bounds_are_whole_chunks():
    assert shard_bounds(7, chunk_size=2, n_shards=8) == [(0, 2), (2, 4), (4, 6), (6, 7)]
    assert shard_bounds(1, chunk_size=8, n_shards=2) == [(0, 1)]
    # as even as whole chunks allow: 10 chunks in 8 shards, not 5 shards of 2 (3 to 2 on 2 actors)
    got = shard_bounds(20, chunk_size=2, n_shards=8)
    assert len(got) == 8 and got[0] == (0, 4) and got[-1] == (18, 20)
    assert sorted({(b - a) // 2 for a, b in got}) == [1, 2]
    for n, cs, k in [(200, 8, 8), (13, 3, 4), (5, 1, 2), (9, 2, 100)]:
        got = shard_bounds(n, chunk_size=cs, n_shards=k)
        assert got[0][0] == 0 and got[-1][1] == n
        assert all(b == c for (_, b), (c, _) in zip(got[:-1], got[1:], strict=True))  # contiguous
        assert all(a % cs == 0 for a, _ in got)  # whole chunks
        sizes = [-(-(b - a) // cs) for a, b in got]
        assert max(sizes) - min(sizes) <= 1 and sizes == sorted(sizes, reverse=True)


def test_ray_records_equal_in_process(tiny_bert_dir, tmp_path):
    from captum_ext.adapters import TextClassifierAdapter

    adapter = TextClassifierAdapter.from_pretrained(tiny_bert_dir, max_length=64)
    local = run_compare(TEXTS, adapter, out_dir=tmp_path / "local", config=CONFIG,
                        model_name=str(tiny_bert_dir), show_progress=False)  # fmt: skip
    ray_store = run_compare_ray(
        TEXTS, out_dir=tmp_path / "ray", model=tiny_bert_dir, config=CONFIG,
        adapter_kwargs={"max_length": 64}, workers=2,
    )  # fmt: skip
    _assert_same(_comparable(local), _comparable(ray_store))
    assert (tmp_path / "local" / "run.json").read_text() == (
        tmp_path / "ray" / "run.json"
    ).read_text()
    lines = (tmp_path / "ray" / "records.jsonl").read_text().splitlines()
    assert len(lines) == len({record_key(json.loads(x)) for x in lines})


def test_kill_and_rerun_loses_and_duplicates_nothing(tiny_bert_dir, tmp_path):
    from captum_ext.adapters import TextClassifierAdapter

    texts = TEXTS * 3
    ids = [f"t{i:02d}" for i in range(len(texts))]
    out = tmp_path / "run"
    script = (
        "import sys; from captum_ext.engines.ray_compare import run_compare_ray\n"
        "from captum_ext.harness.runner import RunConfig\n"
        f"cfg = RunConfig(methods=['occlusion', 'lime'], method_settings={{'lime': {{'n_samples': 40}}}}, "
        "stability_seeds=[1], stability_texts=3, chunk_size=2, n_random=2)\n"
        f"run_compare_ray({texts!r}, text_ids={ids!r}, out_dir={str(out)!r}, model={str(tiny_bert_dir)!r}, "
        "config=cfg, adapter_kwargs={'max_length': 64}, workers=2)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    proc = subprocess.Popen([sys.executable, "-c", script], env=env, start_new_session=True)
    records = out / "records.jsonl"
    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None:
        if records.exists() and records.read_text().count("\n") >= 4:
            break
        time.sleep(0.2)
    assert proc.poll() is None, "the job finished before it could be killed: give it more work"
    os.killpg(proc.pid, signal.SIGKILL)  # the driver and every process it started
    proc.wait()
    n_at_kill = records.read_text().count("\n")

    store = run_compare_ray(
        texts, text_ids=ids, out_dir=out, model=tiny_bert_dir, config=CONFIG,
        adapter_kwargs={"max_length": 64}, workers=2,
    )  # fmt: skip
    adapter = TextClassifierAdapter.from_pretrained(tiny_bert_dir, max_length=64)
    ref = run_compare(texts, adapter, text_ids=ids, config=CONFIG, show_progress=False)
    lines = [json.loads(x) for x in records.read_text().splitlines()]
    counts = Counter(record_key(r) for r in lines)
    assert max(counts.values()) == 1  # nothing duplicated
    assert n_at_kill < len(lines)  # the kill really interrupted the job
    _assert_same(_comparable(ref), _comparable(store))  # nothing lost, nothing different


def test_cli_engine_ray_then_local_resume_adds_nothing(tiny_bert_dir, tmp_path, capsys):
    from captum_ext.cli import main

    out = tmp_path / "cli"
    common = ["compare", "--text", TEXTS[0], "--text", TEXTS[1], "--text", TEXTS[2],
              "--methods", "occlusion", "--chunk-size", "2", "--n-random", "2", "--out", str(out),
              "--model", str(tiny_bert_dir), "--max-length", "64", "--no-progress"]  # fmt: skip
    assert main([*common, "--engine", "ray", "--workers", "2"]) == 0
    assert "3 texts x 1 methods" in capsys.readouterr().out
    n = len((out / "records.jsonl").read_text().splitlines())
    assert main([*common, "--engine", "local"]) == 0  # the same run: everything is there
    assert len((out / "records.jsonl").read_text().splitlines()) == n
    store = ResultStore(out / "records.jsonl")
    assert {r.text_id for r in store.records("attribution")} == {"0000", "0001", "0002"}
