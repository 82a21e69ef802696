"""Every CLI command on tiny random checkpoints of every encoder family (issue 13).

BERT, RoBERTa, DistilBERT, ELECTRA, ALBERT, DeBERTa-v2, XLM-R, MPNet and ModernBERT, each with
2 classes named ``LABEL_0``/``LABEL_1`` (transformers' defaults; ``--label-map`` says which is
which) and 3 classes named negative/neutral/positive. Every command must work or end with the
one-line error (exit 2, no traceback). The data is a small Sentiment140-style CSV with neutral
rows. Runs in-process; about a minute per family on the 2-core machine.
"""

from __future__ import annotations

import traceback

import pytest
from model_factory import FAMILIES, NEG_TWEETS, NEU_TWEETS, POS_TWEETS, build_checkpoint

from captum_ext.cli import main
from captum_ext.data import default_data_path

# "sick" inside a longer pre-token ("sick!!") for `embeddings --word sick`
POS = [*POS_TWEETS, "sick show, loved it!!"]
NEG = [*NEG_TWEETS, "feeling sick!! =("]
NEU = list(NEU_TWEETS)

pytestmark = pytest.mark.integration


CONFIGS = {
    "2-default-names": dict(n_labels=2, id2label=None, label_map="negative=0,positive=1"),
    "3-named": dict(n_labels=3, id2label=["negative", "neutral", "positive"], label_map=None),
}


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    d = tmp_path_factory.mktemp("family_data")
    rows = [("4", t) for t in POS] + [("0", t) for t in NEG] + [("2", t) for t in NEU]
    f = d / "tweets.csv"
    f.write_text("".join(f'{p},"{t}"\n' for p, t in rows), encoding="utf-8")
    queries = d / "queries.txt"
    queries.write_text("what a lovely day\nthe bus is late\n", encoding="utf-8")
    return f, queries


def commands(model: str, data, label_map: str | None, out) -> dict[str, list[str]]:
    csv, queries = data
    m = ["--model", model, *(["--label-map", label_map] if label_map else [])]
    d = ["--data", str(csv)]
    return {
        "methods": ["methods"],
        "explain": ["explain", "sick show, loved it!!", "--method", "occlusion", "--json", *m],
        "explain-target": [
            "explain",
            "not bad at all",
            "--method",
            "ig",
            "--target",
            "positive",
            "--json",
            *m,
        ],
        "compare": [
            "compare",
            "--text",
            "what a lovely day",
            "--text",
            "sick of it",
            "--methods",
            "occlusion,ig,lime",
            "--set",
            "lime.n_samples=50",
            "--stability-texts",
            "0",
            "--sanity-texts",
            "1",
            "--out",
            str(out / "compare"),
            "--no-progress",
            *m,
        ],
        "pick": ["pick", *d, "--n", "8", "--budget", "2", *m],
        "influence": ["influence", "what a lovely day", *d, "--k", "2", "--json", *m],
        "influence-knn": ["influence", "what a lovely day", *d, "--method", "knn", "--k", "2", *m],
        "audit": ["audit", *d, "--k", "3", "--folds", "2", "--out", str(out / "audit.csv"), *m],
        "audit-queries": [
            "audit",
            *d,
            "--method",
            "knn",
            "--queries",
            str(queries),
            "--k",
            "2",
            *m,
        ],
        "attention": ["attention", "not bad at all =)", "--out", str(out / "attention"), *m],
        "embeddings": ["embeddings", *d, "--n", "12", "--out", str(out / "emb"), "--quiet", *m],
        "embeddings-word": [
            "embeddings",
            "--word",
            "sick",
            *d,
            "--out",
            str(out / "wic"),
            "--quiet",
            *m,
        ],
        "heads": [
            "heads",
            *d,
            "--n",
            "6",
            "--n-eval",
            "12",
            "--steps",
            "2",
            "--out",
            str(out / "heads"),
            "--quiet",
            *m,
        ],
        "probe": [
            "probe",
            *d,
            "--n",
            "20",
            "--cv",
            "2",
            "--no-cache",
            "--out",
            str(out / "probe"),
            "--quiet",
            *m,
        ],
        "behaviour": [
            "behaviour",
            "--explain",
            "occlusion",
            "--max-explanations",
            "2",
            "--out",
            str(out / "behaviour"),
            "--quiet",
            *m,
        ],
        # the hand-labelled fixture of the shared sample, through the model's labels
        "evaluate": ["evaluate", "--parts", "human", "--data", str(default_data_path()), *m],
        "max-length-too-long": ["explain", "hello", "--max-length", "514", *m],
        "finetune": [
            "finetune",
            *d,
            "--base",
            model,
            "--out",
            str(out / "ft"),
            "--epochs",
            "1",
            "--max-length",
            "16",
            "--batch-size",
            "8",
        ],
    }


@pytest.mark.parametrize("config", list(CONFIGS))
@pytest.mark.parametrize("family", FAMILIES)
def test_every_command_works_or_fails_in_one_line(family, config, data, tmp_path, capsys):
    cfg = CONFIGS[config]
    model = build_checkpoint(
        tmp_path / "model", family, n_labels=cfg["n_labels"], id2label=cfg["id2label"]
    )
    outcomes: dict[str, str] = {}
    for name, argv in commands(str(model), data, cfg["label_map"], tmp_path).items():
        try:
            code = main(argv)
        except BaseException as e:  # a traceback: the defect this test looks for
            outcomes[name] = f"CRASH {type(e).__name__}: {e}\n{traceback.format_exc(limit=-3)}"
            continue
        err = capsys.readouterr().err
        lines = [ln for ln in err.splitlines() if ln.startswith("error: ")]
        if code == 0:
            outcomes[name] = "ok"
        elif code == 2 and len(lines) == 1 and "Traceback" not in err:
            outcomes[name] = lines[0]
        else:
            outcomes[name] = f"exit {code}: {err[-500:]}"
    bad = {k: v for k, v in outcomes.items() if v != "ok" and not v.startswith("error: ")}
    assert not bad, bad
    assert outcomes["max-length-too-long"].startswith("error: ")
    failed = {k: v for k, v in outcomes.items() if v.startswith("error: ")}
    # besides the too-long max_length, the one-line error seen is a command a family does not
    # support (heads on ALBERT's shared layers)
    allowed = {"max-length-too-long", "heads"}
    assert set(failed) <= allowed, failed
    if "heads" in failed:
        assert "is not a BERT-like encoder" in failed["heads"], failed["heads"]


@pytest.mark.parametrize("family", ["roberta", "xlm-roberta", "mpnet"])
def test_max_length_is_checked_against_the_position_offset(family, tmp_path, capsys):
    """RoBERTa-style position ids start after the padding index: 2 positions fewer."""
    model = build_checkpoint(tmp_path / "m", family)  # 132 position embeddings
    assert main(["explain", "hello", "--model", str(model), "--max-length", "131"]) == 2
    assert "limit of 130" in capsys.readouterr().err
    long_text = " ".join(["word"] * 200)
    assert (
        main(
            [
                "explain",
                long_text,
                "--model",
                str(model),
                "--max-length",
                "130",
                "--method",
                "occlusion",
                "--json",
            ]
        )
        == 0
    )
