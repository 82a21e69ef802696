"""Text pairs: every method scores the words of both texts, the [SEP] between them is kept."""

from __future__ import annotations

import contextlib

import numpy as np
import pytest
from family_zoo import tiny_adapter
from shared_fixtures import one_thread  # noqa: F401 (autouse fixture)

from captum_ext.methods import list_methods, make_explainer
from captum_ext.result import WordAttribution

TEXT, PAIR = "is the dinner good?", "best dinner i have had  in a long time"
BUDGET = {"n_samples": 60, "max_evals": 60, "n_steps": 8, "nt_samples": 4}


@pytest.fixture(scope="module")
def adapter():
    a = tiny_adapter("bert")
    assert a.model.config.type_vocab_size == 2
    return a


@contextlib.contextmanager
def rows_seen(adapter):
    rows: list[tuple[list[int], list[int]]] = []
    emb = adapter.model.bert.embeddings

    def hook(module, args, kwargs, output):
        ids = kwargs["input_ids"]
        types = kwargs.get("token_type_ids")
        for r in range(ids.shape[0]):
            rows.append((ids[r].tolist(), None if types is None else types[r].tolist()))

    h = emb.register_forward_hook(hook, with_kwargs=True)
    try:
        yield rows
    finally:
        h.remove()


def test_pair_encoding_matches_the_tokenizer(adapter):
    enc = adapter.encode(TEXT, PAIR)
    ref = adapter.tokenizer(TEXT, PAIR)
    assert enc.input_ids == ref["input_ids"]
    assert set(enc.segments) == {0, 1}
    for w, (s, e) in enumerate(enc.spans):
        assert enc.words[w] == enc.segment_text(enc.segments[w])[s:e]
    probs = adapter.predict_ids([enc.input_ids])[0]
    import torch

    with torch.no_grad():
        logits = adapter.model(**adapter.tokenizer(TEXT, PAIR, return_tensors="pt")).logits
    np.testing.assert_allclose(probs, torch.softmax(logits, -1)[0].numpy(), atol=1e-6)


@pytest.mark.parametrize("name", [m.name for m in list_methods()])
def test_every_method_explains_a_pair(adapter, name):
    spec = next(m for m in list_methods() if m.name == name)
    settings = {k: v for k, v in BUDGET.items() if k in spec.defaults}
    enc = adapter.encode(TEXT, PAIR)
    sep = adapter.tokenizer.sep_token_id
    with rows_seen(adapter) as rows:
        wa = make_explainer(name, adapter, **settings).explain(TEXT, text_pair=PAIR, random_state=0)
    assert wa.text == TEXT and wa.text_pair == PAIR
    assert wa.words == enc.words and wa.segments == enc.segments
    seg = np.array(wa.segments)
    assert np.isfinite(wa.scores).all()
    assert np.any(wa.scores[seg == 0] != 0) and np.any(wa.scores[seg == 1] != 0)
    assert rows
    for ids, types in rows:
        # the boundary is never perturbed: [CLS] first, two [SEP], types switch after the first
        assert ids[0] == adapter.tokenizer.cls_token_id and ids.count(sep) == 2
        first = ids.index(sep)
        assert types is not None and set(types[: first + 1]) == {0}
        assert set(types[first + 1 : ids.index(sep, first + 1) + 1]) == {1}
    back = WordAttribution.from_dict(wa.to_dict())
    assert back.text_pair == PAIR and back.segments == wa.segments
    html = wa.to_html()
    assert "[SEP]" in html and "segment-1" in html


def test_public_json_marks_each_words_text(adapter):
    wa = make_explainer("occlusion", adapter).explain(TEXT, text_pair=PAIR)
    out = wa.to_public_json()
    assert out["text_pair"] == PAIR
    for rec in out["words"]:
        src = PAIR if rec["segment"] else TEXT
        assert src[rec["start"] : rec["end"]] == rec["word"]


# -- command line and harness ---------------------------------------------------------------
@pytest.fixture(scope="module")
def pair_model_dir(tmp_path_factory, adapter):
    path = tmp_path_factory.mktemp("tiny_pair_bert")
    adapter.model.save_pretrained(path, safe_serialization=True)
    adapter.tokenizer.save_pretrained(path)
    return path


def test_cli_explain_text_pair(pair_model_dir, capsys):
    import json

    from captum_ext.cli import main

    code = main(
        [
            "explain",
            TEXT,
            "--text-pair",
            PAIR,
            "--method",
            "occlusion",
            "--json",
            "--model",
            str(pair_model_dir),
        ]
    )
    assert code == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["text_pair"] == PAIR
    assert {w["segment"] for w in out["words"]} == {0, 1}


def test_load_texts_reads_pairs_from_jsonl_and_csv(tmp_path):
    import json

    from captum_ext.adapters.alignment import split_pair
    from captum_ext.harness.api import load_texts

    jl = tmp_path / "pairs.jsonl"
    jl.write_text(json.dumps({"text": TEXT, "text_pair": PAIR}) + "\n", encoding="utf-8")
    csv_path = tmp_path / "pairs.csv"
    csv_path.write_text(f'text,text_pair\n"{TEXT}","{PAIR}"\n', encoding="utf-8")
    for path in (jl, csv_path):
        (joined,) = load_texts(path)
        assert split_pair(joined) == (TEXT, PAIR)


def test_compare_on_pairs(pair_model_dir, tmp_path, capsys):
    import json

    from captum_ext.cli import main

    data = tmp_path / "pairs.jsonl"
    data.write_text(
        json.dumps({"text": TEXT, "text_pair": PAIR})
        + "\n"
        + json.dumps({"text": "so sad today", "text_pair": "not bad at all"})
        + "\n",
        encoding="utf-8",
    )
    for source in (["--data", str(data)], ["--text", TEXT, "--text-pair", PAIR]):
        out = tmp_path / f"run{len(source)}"
        code = main(
            [
                "compare",
                *source,
                "--methods",
                "occlusion,ig,shap-partition",
                "--out",
                str(out),
                "--model",
                str(pair_model_dir),
                "--no-progress",
                "--set",
                "ig.n_steps=4",
                "--set",
                "shap-partition.max_evals=40",
                "--stability-seeds",
                "0",
            ]
        )
        assert code == 0, capsys.readouterr().err
        capsys.readouterr()
        report = (out / "report.html").read_text(encoding="utf-8")
        assert "[SEP]" in report
