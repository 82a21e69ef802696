"""The resumable store and runner: an interrupted run resumes to exactly the uninterrupted rows."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from captum_ext.adapters import TextClassifierAdapter
from captum_ext.errors import DataError, InputError
from captum_ext.harness import RunConfig, run_compare
from captum_ext.harness.store import ErrorRecord, ResultStore, record_key

TEXTS = [
    "I really want to apply for a au pair job, but I'm so scared of change",
    "@CynthiaLasVegas   Thanks so much!!! Really appreciate that",
    "just got home from dinner  best dinner i have had in a long time =(",
    "not bad at all",
    "i hate mondays",
]


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)  # 2 threads on an oversubscribed 2-core machine crawl
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="module")
def adapter(tiny_bert_dir):
    return TextClassifierAdapter.from_pretrained(tiny_bert_dir)


def _config(**kw):
    base = dict(
        methods=["occlusion", "lime-official", "ig"],
        method_settings={"lime-official": {"n_samples": 60}, "ig": {"n_steps": 8}},
        stability_seeds=[1],
        stability_texts=2,
        n_random=3,
        chunk_size=2,
    )
    base.update(kw)
    return RunConfig(**base)


def _rows(path):
    """Records without the wall-clock field, in file order."""
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        rec = json.loads(line)
        rec.pop("seconds", None)
        out.append(rec)
    return out


class _Killed(Exception):
    pass


@pytest.fixture(scope="module")
def reference_rows(adapter, tmp_path_factory):
    out = tmp_path_factory.mktemp("uninterrupted")
    store = run_compare(TEXTS, adapter, out_dir=out, config=_config(), show_progress=False)
    kinds = [r.kind for r in store.records()]
    # 3 methods x 5 texts, 1 extra seed x 2 texts for lime, 5 x (3 + random) row-metric
    # records, 5 x 3 variant-metric records (randomisation, random logit, robustness)
    assert kinds.count("attribution") == 15 + 2
    assert kinds.count("metrics") == 20
    assert kinds.count("variants") == 15
    return _rows(out / "records.jsonl")


# 3 chunk writes in the reference run: texts 0-1, 2-3, 4
@pytest.mark.parametrize("kill_after", [0, 1, 2])
def test_resume_after_kill_gives_the_uninterrupted_rows(
    adapter, tmp_path, monkeypatch, reference_rows, kill_after
):
    """A kill between two chunk writes (a kill cannot split a write), then a resume."""
    calls = {"n": 0}
    real_extend = ResultStore.extend

    def dying_extend(self, records):
        if calls["n"] == kill_after:
            raise _Killed(f"killed after {kill_after} chunks")
        calls["n"] += 1
        real_extend(self, records)

    monkeypatch.setattr(ResultStore, "extend", dying_extend)
    with pytest.raises(_Killed):
        run_compare(TEXTS, adapter, out_dir=tmp_path, config=_config(), show_progress=False)
    n_saved = len(_rows(tmp_path / "records.jsonl")) if kill_after else 0
    assert 0 <= n_saved < len(reference_rows)

    computed = []
    monkeypatch.setattr(
        ResultStore,
        "extend",
        lambda self, recs: (computed.extend(record_key(r) for r in recs), real_extend(self, recs)),
    )
    run_compare(TEXTS, adapter, out_dir=tmp_path, config=_config(), show_progress=False)
    rows = _rows(tmp_path / "records.jsonl")
    assert len(computed) == len(reference_rows) - n_saved  # nothing computed twice
    assert [record_key(r) for r in rows] == [record_key(r) for r in reference_rows]
    assert rows == reference_rows  # bit-identical numbers: the same batches were computed


def test_reference_run_writes_one_record_batch_per_chunk(adapter, tmp_path, monkeypatch):
    sizes = []
    real_extend = ResultStore.extend
    monkeypatch.setattr(
        ResultStore, "extend", lambda self, recs: (sizes.append(len(recs)), real_extend(self, recs))
    )
    run_compare(TEXTS, adapter, out_dir=tmp_path, config=_config(), show_progress=False)
    # per text: 3 methods, 4 row-metric records (random + 3 methods), 3 variant-metric records;
    # lime's extra seed on the first 2 texts
    assert sizes == [2 * 10 + 2, 2 * 10, 10]


def test_rerun_of_a_finished_run_computes_nothing(adapter, tmp_path, monkeypatch):
    run_compare(TEXTS[:2], adapter, out_dir=tmp_path, config=_config(), show_progress=False)
    before = (tmp_path / "records.jsonl").read_bytes()
    monkeypatch.setattr(
        "captum_ext.harness.runner.make_explainer",
        lambda *a, **k: pytest.fail("an explainer was built for a finished run"),
    )
    monkeypatch.setattr(
        "captum_ext.harness.runner._score_chunk",
        lambda *a, **k: pytest.fail("faithfulness was scored again for a finished run"),
    )
    monkeypatch.setattr(
        "captum_ext.harness.runner._variant_chunk",
        lambda *a, **k: pytest.fail("sanity checks ran again for a finished run"),
    )
    run_compare(TEXTS[:2], adapter, out_dir=tmp_path, config=_config(), show_progress=False)
    assert (tmp_path / "records.jsonl").read_bytes() == before


def test_adding_a_method_keeps_the_old_results(adapter, tmp_path):
    run_compare(TEXTS[:2], adapter, out_dir=tmp_path, config=_config(methods=["occlusion"]),
                show_progress=False)  # fmt: skip
    first = _rows(tmp_path / "records.jsonl")
    store = run_compare(
        TEXTS[:2], adapter, out_dir=tmp_path, config=_config(methods=["occlusion", "ig"]),
        show_progress=False,
    )  # fmt: skip
    rows = _rows(tmp_path / "records.jsonl")
    assert rows[: len(first)] == first
    assert {r.method for r in store.records("metrics")} == {"random", "occlusion", "ig"}
    assert {r.method for r in store.records("variants")} == {"occlusion", "ig"}
    manifest = json.loads((tmp_path / "run.json").read_text())
    assert manifest["methods"] == ["occlusion", "ig"]


def test_a_torn_last_line_is_cut_and_recomputed(adapter, tmp_path, reference_rows):
    cfg = _config()
    run_compare(TEXTS, adapter, out_dir=tmp_path, config=cfg, show_progress=False)
    path = tmp_path / "records.jsonl"
    lines = path.read_bytes().split(b"\n")[:-1]
    # the last chunk (text 0004: 3 attributions, 4 row-metric and 3 variant-metric records) torn
    # in its first line, as a power loss during its write would leave it
    keep = len(lines) - 10
    torn = b"\n".join(lines[:keep]) + b"\n" + lines[keep][: len(lines[keep]) // 2]
    path.write_bytes(torn)
    assert len(ResultStore(path)) == keep
    assert path.read_bytes() == b"\n".join(lines[:keep]) + b"\n"
    run_compare(TEXTS, adapter, out_dir=tmp_path, config=cfg, show_progress=False)
    assert _rows(path) == reference_rows


def test_a_corrupt_middle_line_is_an_error(tmp_path):
    path = tmp_path / "records.jsonl"
    good = json.dumps(
        {"kind": "error", "text_id": "0", "method": "ig", "seed": 0, "seconds": 0.1, "error": "E"}
    )
    path.write_text(good + "\n{broken\n" + good + "\n", encoding="utf-8")
    with pytest.raises(DataError, match="line 2"):
        ResultStore(path)


def test_resume_with_other_texts_or_budgets_is_refused(adapter, tmp_path):
    run_compare(TEXTS[:2], adapter, out_dir=tmp_path, config=_config(methods=["occlusion"]),
                show_progress=False)  # fmt: skip
    with pytest.raises(InputError, match="text 0001 differs"):
        run_compare([TEXTS[0], "another text"], adapter, out_dir=tmp_path,
                    config=_config(methods=["occlusion"]), show_progress=False)  # fmt: skip
    with pytest.raises(InputError, match="settings"):
        run_compare(
            TEXTS[:2], adapter, out_dir=tmp_path,
            config=_config(methods=["occlusion"], method_settings={"occlusion": {"mode": "mask"}}),
            show_progress=False,
        )  # fmt: skip


def test_a_failing_text_is_recorded_as_an_error_not_retried(adapter, tmp_path):
    # official LIME cannot perturb a text without letters; the other texts go on
    texts = ["so happy today", "!!! ??? ...", "i hate mondays"]
    store = run_compare(texts, adapter, out_dir=tmp_path,
                        config=_config(methods=["lime-official", "occlusion"], stability_texts=0),
                        show_progress=False)  # fmt: skip
    errors = store.records("error")
    assert [(e.text_id, e.method) for e in errors] == [("0001", "lime-official")]
    assert isinstance(errors[0], ErrorRecord) and "InputError" in errors[0].error
    assert ("metrics", "0001", "occlusion", 0) in store
    assert ("metrics", "0001", "lime-official", 0) not in store
    assert ("variants", "0001", "lime-official", 0) not in store
    n = len(store)
    again = run_compare(texts, adapter, out_dir=tmp_path,
                        config=_config(methods=["lime-official", "occlusion"], stability_texts=0),
                        show_progress=False)  # fmt: skip
    assert len(again) == n


def test_bad_arguments(adapter):
    with pytest.raises(InputError):
        run_compare([], adapter, config=_config(), show_progress=False)
    with pytest.raises(InputError, match="empty"):
        run_compare(["  "], adapter, config=_config(), show_progress=False)
    from captum_ext.errors import UnknownMethodError

    with pytest.raises(UnknownMethodError):
        run_compare(["hi"], adapter, config=_config(method_settings={"nope": {}}),
                    show_progress=False)  # fmt: skip

    with pytest.raises(UnknownMethodError):
        run_compare(["hi"], adapter, config=RunConfig(methods=["nope"]), show_progress=False)


def test_a_killed_cli_process_resumes_to_the_uninterrupted_rows(tiny_bert_dir, tmp_path):
    """SIGKILL a real `captum-ext compare` process mid-run, resume it, compare with a clean run."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from captum_ext.cli import main

    def argv(out):
        args = ["compare", "--methods", "occlusion,lime-official", "--set",
                "lime-official.n_samples=400", "--chunk-size", "1", "--stability-texts", "2",
                "--model", str(tiny_bert_dir), "--out", str(out), "--no-progress"]  # fmt: skip
        for t in TEXTS:
            args += ["--text", t]
        return args

    clean, killed = tmp_path / "clean", tmp_path / "killed"
    assert main(argv(clean)) == 0
    total = len(_rows(clean / "records.jsonl"))

    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    code = "import sys, torch; torch.set_num_threads(1); from captum_ext.cli import main; sys.exit(main(sys.argv[1:]))"
    proc = subprocess.Popen([sys.executable, "-c", code, *argv(killed)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    records = killed / "records.jsonl"
    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None:
        if records.exists() and records.stat().st_size > 0:
            proc.send_signal(signal.SIGKILL)
            break
        time.sleep(0.01)
    proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL, "the process finished before it could be killed"
    n_before = len(ResultStore(records))
    assert 0 < n_before < total
    assert main(argv(killed)) == 0
    assert _rows(records) == _rows(clean / "records.jsonl")


def test_resume_with_another_model_is_refused(adapter, tmp_path):
    from captum_ext.harness.runner import model_fingerprint

    before = model_fingerprint(adapter)
    run_compare(TEXTS[:1], adapter, out_dir=tmp_path, config=_config(methods=["occlusion"]),
                show_progress=False)  # fmt: skip
    classifier = adapter.model.classifier.weight
    saved = classifier.detach().clone()
    with torch.no_grad():
        classifier[0, 0] += 0.5  # "fine-tuned again"
    try:
        assert model_fingerprint(adapter) != before
        with pytest.raises(InputError, match="another model"):
            run_compare(TEXTS[:1], adapter, out_dir=tmp_path,
                        config=_config(methods=["occlusion"]), show_progress=False)  # fmt: skip
    finally:
        with torch.no_grad():
            classifier.copy_(saved)
    assert model_fingerprint(adapter) == before


def test_shared_predictions_scores_a_row_once(adapter):
    from captum_ext.harness.runner import shared_predictions

    rows = [adapter.encode(t).input_ids for t in TEXTS[:3]]
    plain = adapter.predict_ids(rows)
    before = adapter.n_forward_rows
    with shared_predictions(adapter) as counts:
        first = adapter.predict_ids(rows)
        again = adapter.predict_ids([rows[1], rows[0]])
        probs = adapter.predict_proba([TEXTS[2]])  # predict_proba goes through predict_ids
        logits = adapter.predict_ids(rows[:1], output="logits")
    assert counts == {"requested": 3 + 2 + 1 + 1, "evaluated": 3 + 1}
    assert adapter.n_forward_rows - before == 4
    np.testing.assert_array_equal(first, plain)
    np.testing.assert_array_equal(again, plain[[1, 0]])
    np.testing.assert_array_equal(probs, plain[[2]])
    assert not np.allclose(logits, plain[:1])
    assert "predict_ids" not in vars(adapter)  # the wrapper is gone after the block
    with pytest.raises(_Killed):
        with shared_predictions(adapter):
            raise _Killed
    assert "predict_ids" not in vars(adapter)


# -- typed records -----------------------------------------------------------------------------

V2_RUN = Path(__file__).parent / "data" / "harness_v2_run"


def _word_attribution():
    from captum_ext.result import WordAttribution

    return WordAttribution(
        text="not bad", words=["not", "bad"], spans=[(0, 3), (4, 7)], scores=[0.25, -0.5],
        target=1, labels=("negative", "positive"), probs=[0.3, 0.7], method="ig",
        settings={"n_steps": 8, "precision": "fp32"}, token_to_word=[None, 0, 1, None],
    )  # fmt: skip


# one JSON object per kind, keys in the order the runner and the ground-truth stage write them
RECORD_DICTS = {
    "attribution": {"kind": "attribution", "text_id": "0000", "method": "ig", "seed": 0,
                    "seconds": 0.5, "batch": 2, "precision": "fp32",
                    "result": _word_attribution().to_dict()},
    "error": {"kind": "error", "text_id": "0001", "method": "lime", "seed": 1, "seconds": 0.01,
              "error": "InputError: no word"},
    "metrics": {"kind": "metrics", "text_id": "0000", "method": "random", "seed": 0, "target": 1,
                "p_full": 0.7, "seconds": 0.02, "n_words": 2,
                "values": {"comprehensiveness": 0.1, "loo_spearman": None},
                "details": {"deletion_curve": [0.7, 0.4, 0.2], "deletion_ks": [0, 1, 2]}},
    "variants": {"kind": "variants", "text_id": "0000", "method": "ig", "seed": 0, "target": 1,
                 "seconds": 0.3, "values": {"randomisation": 0.2},
                 "details": {"randomisation": {"head": 0.2}}},
    "ground_truth": {"kind": "ground_truth", "text_id": "gt-0000", "method": "ig", "seed": 0,
                     "seconds": 0.25, "values": {"planted_recall": None},
                     "error": "RuntimeError: x", "planted": {"token": "zorblat", "learnt": True}},
}  # fmt: skip


@pytest.mark.parametrize("kind", sorted(RECORD_DICTS))
def test_each_record_kind_round_trips_to_the_same_json(kind, tmp_path):
    from captum_ext.harness import store as store_module

    d = RECORD_DICTS[kind]
    rec = store_module.as_record(d)
    assert type(rec).kind == rec.kind == kind and rec.kind in store_module.RECORD_KINDS
    assert list(rec.to_dict().items()) == list(d.items())  # same keys, same order, same values
    assert rec.to_json() == json.dumps(d, ensure_ascii=False)
    assert type(rec).from_json(rec.to_json()) == rec
    assert type(rec).from_dict(d) == rec
    assert rec.key == record_key(d)
    # the store writes what the dict-based store wrote: json.dumps of the object, one a line
    path = tmp_path / "records.jsonl"
    ResultStore(path).append(rec)
    ResultStore(path).extend([d])
    line = json.dumps(d, ensure_ascii=False) + "\n"
    assert path.read_text(encoding="utf-8") == line * 2
    assert ResultStore(path).records() == [rec, rec]
    assert list(store_module.read_records(path)) == [rec, rec]
    other = store_module.ErrorRecord if kind != "error" else store_module.MetricsRecord
    with pytest.raises(DataError, match=f"expected a record of kind '{other.kind}', got '{kind}'"):
        other.from_dict(d)


def test_the_attribution_record_parses_its_result_once():
    from captum_ext.harness.store import AttributionRecord, as_record

    rec = as_record(RECORD_DICTS["attribution"])
    assert isinstance(rec, AttributionRecord)
    wa = rec.attribution
    assert wa is rec.attribution  # parsed once, then kept
    ref = _word_attribution()
    np.testing.assert_array_equal(wa.scores, ref.scores)
    assert wa.words == ref.words and wa.target == 1 and wa.settings == ref.settings
    # an attribution written before precisions were recorded (early version-2 runs) reads too
    old = {k: v for k, v in RECORD_DICTS["attribution"].items() if k != "precision"}
    assert as_record(old).precision is None


def test_an_unknown_kind_or_a_bad_field_is_an_error_naming_the_file(tmp_path):
    from captum_ext.harness.store import as_record, read_records

    good = json.dumps(RECORD_DICTS["error"])
    for bad, message in (
        ({"kind": "faithfulness", "text_id": "0", "method": "ig", "seed": 0},
         "unknown record kind 'faithfulness'"),
        ({**RECORD_DICTS["error"], "error": None, "extra": 1}, "unexpected extra"),
        ({k: v for k, v in RECORD_DICTS["metrics"].items() if k != "values"}, "missing values"),
    ):  # fmt: skip
        for lines in ([good, json.dumps(bad), good], [good, json.dumps(bad)]):  # middle, last
            path = tmp_path / "records.jsonl"
            path.write_text("\n".join(lines) + "\n", encoding="utf-8")
            with pytest.raises(DataError, match=f"records.jsonl, line 2: .*{message}"):
                ResultStore(path)
            with pytest.raises(DataError, match=f"records.jsonl, line 2: .*{message}"):
                list(read_records(path))
            assert path.read_text(encoding="utf-8") == "\n".join(lines) + "\n"  # not cut
        with pytest.raises(DataError, match=message):
            as_record(bad)
        with pytest.raises(DataError, match=message):
            ResultStore().append(bad)


def test_a_v2_run_folder_written_before_typed_records_reads_back_and_resumes(
    adapter, tmp_path, monkeypatch
):
    """``data/harness_v2_run`` was written by the dict-based store (manifest version 2): its
    records read back as typed records whose JSON is each line byte for byte, and a resumed run
    on it computes nothing."""
    from captum_ext.harness import load_run
    from captum_ext.harness.runner import model_fingerprint
    from captum_ext.harness.store import RECORD_KINDS, AttributionRecord, as_record
    from captum_ext.result import WordAttribution

    run = tmp_path / "run"
    run.mkdir()
    for name in ("run.json", "records.jsonl"):
        (run / name).write_bytes((V2_RUN / name).read_bytes())
    lines = (run / "records.jsonl").read_text(encoding="utf-8").splitlines()
    store = ResultStore(run / "records.jsonl")
    assert [r.to_json() for r in store] == lines
    assert {r.kind for r in store} == set(RECORD_KINDS)
    for rec, line in zip(store, lines, strict=True):
        d = json.loads(line)
        assert rec.key == record_key(d)
        assert rec.to_json() == as_record(d).to_json()
        if isinstance(rec, AttributionRecord):
            ref = WordAttribution.from_dict(d["result"])
            np.testing.assert_array_equal(rec.attribution.scores, ref.scores)
            assert rec.attribution.words == ref.words
    assert load_run(run).metric_table["method"].tolist() == ["random", "occlusion", "lime-official"]

    # resume (the tiny model's weights sum differently across machines: adopt its fingerprint)
    manifest = json.loads((run / "run.json").read_text(encoding="utf-8"))
    manifest["model_fingerprint"] = model_fingerprint(adapter)
    (run / "run.json").write_text(json.dumps(manifest), encoding="utf-8")
    texts = [t["text"] for t in manifest["texts"]]
    config = RunConfig(**{k: manifest[k] for k in RunConfig.__dataclass_fields__})
    before = (run / "records.jsonl").read_bytes()
    for name in ("make_explainer", "_score_chunk", "_variant_chunk"):
        monkeypatch.setattr(
            f"captum_ext.harness.runner.{name}",
            lambda *a, _n=name, **k: pytest.fail(f"{_n} was called on a finished v2 run"),
        )
    run_compare(texts, adapter, out_dir=run, config=config, show_progress=False)
    assert (run / "records.jsonl").read_bytes() == before
