"""``captum-ext influence`` and ``captum-ext audit``: sample-level explanations and data audits.

``influence TEXT --method representer|knn --k 5`` prints the training tweets a prediction rests
on (representer proponents and opponents, or nearest neighbours with their labels);
``audit --data PATH --method representer|knn|out_of_sample|combined`` ranks the training tweets
whose label is probably wrong (or, with ``--queries FILE`` and ``--method knn``, the query texts
least supported by the training data) and writes CSV or JSON with the evidence for each;
``--cross-fit K`` adds ``out_of_sample_finetuned`` (K encoders fine-tuned on the other folds).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from captum_ext.commands._common import (
    add_engine_args,
    add_model_args,
    engine_from_args,
    label_model,
    load_adapter,
    print_json,
    read_texts,
)


def _add_data_args(p: argparse.ArgumentParser, *, required_hint: str) -> None:
    g = p.add_argument_group("training data")
    g.add_argument(
        "--data",
        metavar="PATH",
        default=None,
        help="labelled training tweets: a Sentiment140 folder (positive.txt/negative.txt) or CSV "
        f"({required_hint})",
    )
    g.add_argument(
        "--sample",
        type=int,
        default=None,
        metavar="N",
        help="use a label-balanced random sample of N training tweets (default: all)",
    )
    g.add_argument("--seed", type=int, default=0, help="seed of --sample and the folds (default 0)")
    g.add_argument(
        "--cache-dir",
        metavar="DIR",
        default=None,
        help="feature cache folder (default: the user cache, e.g. ~/.cache/captum-ext/features)",
    )
    g.add_argument("--progress", action="store_true", help="show progress bars")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "influence",
        help="training tweets a prediction rests on (representer points or kNN)",
        description="Print the k training tweets with the largest representer values "
        "(proponents) and the most negative (opponents), or the k nearest training tweets in "
        "the classifier's feature space, with their labels. With --json, one JSON object per "
        "text (one line each).",
    )
    p.add_argument("text", nargs="?", default=None, help="text to explain (or --text-file/stdin)")
    p.add_argument("--text-file", metavar="FILE", help="explain every line of FILE (UTF-8)")
    p.add_argument(
        "--method",
        choices=("representer", "knn"),
        default="representer",
        help="(default representer)",
    )
    p.add_argument("--k", type=int, default=5, help="training tweets shown (default 5)")
    p.add_argument(
        "--metric",
        choices=("cosine", "dot", "euclidean"),
        default="cosine",
        help="kNN similarity (default cosine)",
    )
    p.add_argument(
        "--l2", type=float, default=1e-3, help="representer L2 penalty lambda (default 1e-3)"
    )
    p.add_argument(
        "--held-out",
        metavar="PATH",
        default=None,
        help="held-out labelled tweets for the representer fidelity report (default: the model's "
        "own test split when --data is not given)",
    )
    p.add_argument(
        "--fidelity-n",
        type=int,
        default=500,
        metavar="N",
        help="held-out tweets in the fidelity report, 0 for none (default 500)",
    )
    p.add_argument(
        "--judge",
        action="store_true",
        help="instead of explaining, judge every sample-level method (representer, knn, "
        "tracincp, tracincp-fast) on this model and print which one to believe: "
        "test-dependence, model randomisation and label agreement of the top --k training "
        "tweets for the texts given, topped up to 10 with the model's held-out tweets "
        "(docs/influence.md). Runs each method twice over the training set: bound it with "
        "--sample",
    )
    p.add_argument("--json", action="store_true", help="print JSON objects instead of a table")
    _add_data_args(p, required_hint="default: the model's own training set, from its metrics.json")
    add_engine_args(p, what="the training tweets' features (the --cache-dir feature cache)")
    add_model_args(p)
    p.set_defaults(func=run_influence)

    a = sub.add_parser(
        "audit",
        help="rank training tweets whose label is probably wrong (or sparse query texts)",
        description="Rank the training tweets by how likely their label is wrong, with the "
        "evidence for each (|alpha| of representer points fitted to the labels, kNN label "
        "disagreement, cross-fitted out-of-sample probability; with --cross-fit K also the "
        "probability from K encoders fine-tuned on the other folds), as CSV (default) or JSON. "
        "With --queries FILE and --method knn: rank the query texts by how little the "
        "training data supports them (sparse-data audit).",
    )
    a.add_argument(
        "--method",
        choices=("representer", "knn", "out_of_sample", "out_of_sample_finetuned", "combined"),
        default="combined",
        help="ranking signal (default combined: the mean percentile rank of the signals "
        "computed; out_of_sample_finetuned needs --cross-fit)",
    )
    a.add_argument("--k", type=int, default=10, help="kNN neighbours (default 10)")
    a.add_argument(
        "--metric", choices=("cosine", "dot", "euclidean"), default="cosine", help="kNN metric"
    )
    a.add_argument("--l2", type=float, default=1e-3, help="L2 penalty of the fits (default 1e-3)")
    a.add_argument(
        "--folds", type=int, default=5, help="folds of the cross-fitted heads (default 5)"
    )
    a.add_argument(
        "--cross-fit",
        type=int,
        default=None,
        metavar="K",
        help="also fine-tune the base encoder K times, each on K-1 of K folds, and score every "
        "tweet by the model that did not see it (out_of_sample_finetuned; used by combined). "
        "Costs K-1 fine-tunings of the training set, with the audited model's settings from "
        "its metrics.json (else captum-ext finetune's defaults); fold models are cached (under "
        "--cache-dir/crossfit, else the user cache) so a rerun or an interrupted run resumes",
    )
    a.add_argument(
        "--cross-fit-base",
        metavar="DIR",
        default=None,
        help="encoder the fold models start from (default: the audited model's base encoder "
        "from its metrics.json, else MiniLM-L6)",
    )
    a.add_argument("--top", type=int, default=None, help="rows written (default all)")
    a.add_argument(
        "--queries", metavar="FILE", default=None, help="texts (one a line) for a sparse-data audit"
    )
    a.add_argument(
        "--format", choices=("csv", "json"), default=None, help="default: from --out, else csv"
    )
    a.add_argument("--out", metavar="FILE", default=None, help="write here (default stdout)")
    _add_data_args(a, required_hint="default: the model's own training set, from its metrics.json")
    add_engine_args(a, what="the training tweets' features (the --cache-dir feature cache)")
    add_model_args(a)
    a.set_defaults(func=run_audit)


# -- data ---------------------------------------------------------------------------------------
def training_data(args: argparse.Namespace, adapter: Any):
    """The training tweets: ``--data`` (sampled with ``--sample``), or the model's own training
    set rebuilt from ``metrics.json`` (source, seed, split sizes, ``n_train``) and checked
    against its fingerprint; their labels mapped onto the model's classes (by name or
    ``--label-map``; neutral rows kept when the model has a neutral class)."""
    from captum_ext.labels import load_for_model
    from captum_ext.validation import check_scalar

    check_scalar(args.sample, "--sample", int, min_val=1, allow_none=True)
    lm = label_model(args, adapter)
    if args.data is not None:
        ds = load_for_model(args.data, lm, align=False)
    else:
        ds = _model_splits(args.model)[0]
    if args.sample is not None and args.sample < len(ds):
        # sampled in the data's label order: the same tweets whatever the model's class order
        ds = ds.sample(args.sample, seed=args.seed)
    return lm.align(ds)


def _model_dir(model: str | None) -> Path:
    if model is not None:
        return Path(model).expanduser()
    from captum_ext.adapters.loading import default_model_dir

    return default_model_dir()


def _model_splits(model: str | None):
    """``(train, test)`` of the model's fine-tuning run (:func:`captum_ext.train.model_splits`)."""
    from captum_ext.train import model_splits

    return model_splits(_model_dir(model))


def warm_feature_cache(args: argparse.Namespace, engine: Any, adapter: Any, train: Any) -> None:
    """With ``--engine ray``: compute the training tweets' features on Ray actors into the
    ``--cache-dir`` feature cache (resumable, chunk by chunk), where the in-process methods
    then find them; nothing with ``--engine local``."""
    if engine is None:
        return
    from captum_ext.influence import HeadFeatureExtractor

    extractor = HeadFeatureExtractor(
        adapter, cache_dir=args.cache_dir, show_progress=args.progress, engine=engine
    )
    extractor.for_texts(train.texts)


# -- influence ----------------------------------------------------------------------------------
def run_influence(args: argparse.Namespace) -> int:
    from captum_ext.adapters import validate_text
    from captum_ext.influence import FeatureSimilarityKNN, RepresenterPoints
    from captum_ext.influence.representer import check_k
    from captum_ext.validation import check_cache_dir, check_scalar

    texts = [validate_text(t) for t in read_texts(args)]
    check_scalar(args.k, "--k", int, min_val=1)
    check_scalar(args.l2, "--l2", min_val=0, include_boundaries="neither")
    check_scalar(args.fidelity_n, "--fidelity-n", min_val=0)
    check_cache_dir(args.cache_dir, "--cache-dir")
    engine = engine_from_args(args)
    adapter = load_adapter(args)
    train = training_data(args, adapter)
    check_k(args.k, len(train))
    warm_feature_cache(args, engine, adapter, train)
    if args.judge:
        return _run_judge(args, adapter, train, texts)
    common = {"cache_dir": args.cache_dir, "show_progress": args.progress}
    if args.method == "representer":
        method: Any = RepresenterPoints(adapter, train, target="model", l2=args.l2, **common)
        results = [
            method.explain(texts, k=args.k),
            method.explain(texts, k=args.k, proponents=False),
        ]
        fidelity = method.fidelity(held_out=_held_out(args, adapter))
    else:
        method = FeatureSimilarityKNN(adapter, train, metric=args.metric, **common)
        results = [method.explain(texts, k=args.k)]
        fidelity = None
    probs = adapter.predict_proba(texts)
    for t, text in enumerate(texts):
        entry: dict[str, Any] = {
            "text": text,
            "prediction": {
                "label": adapter.labels[int(probs[t].argmax())],
                "probs": {lab: float(p) for lab, p in zip(adapter.labels, probs[t], strict=True)},
            },
            "method": args.method,
            "k": args.k,
        }
        for res in results:
            entry[res.kind] = res.to_dict()["results"][t][res.kind]
        entry["settings"] = results[0].extras["settings"]
        if fidelity is not None:
            entry["fidelity"] = fidelity
        if args.json:
            print_json(entry)
        else:
            _print_entry(entry)
    return 0


_JUDGE_TEXTS = 10


def _run_judge(args: argparse.Namespace, adapter: Any, train: Any, texts: list[str]) -> int:
    """``--judge``: the sample-level verdict on ``texts`` topped up with held-out tweets."""
    from captum_ext.errors import InputError
    from captum_ext.influence import judge_sample_methods

    if len(texts) < _JUDGE_TEXTS and args.data is None:
        try:
            held = _model_splits(args.model)[1].texts
        except InputError:
            held = []
        texts = texts + [t for t in held if t not in texts][: _JUDGE_TEXTS - len(texts)]
    if len(texts) < 2:
        raise InputError(
            "--judge needs at least 2 test texts: give more with --text-file FILE (the model's "
            "held-out tweets are added only without --data)."
        )
    judged = judge_sample_methods(
        adapter, train, texts, k=args.k, seed=args.seed, cache_dir=args.cache_dir
    )
    if args.json:
        print_json(judged.to_dict())
    else:
        print(judged.to_text())
    return 0


def _held_out(args: argparse.Namespace, adapter: Any) -> list[str] | None:
    """Held-out texts for the fidelity report: ``--held-out`` or, without ``--data``, the first
    ``--fidelity-n`` tweets of the model's own test split (None if neither is known)."""
    from captum_ext.errors import InputError
    from captum_ext.labels import load_for_model

    if args.fidelity_n == 0:
        return None
    if args.held_out is not None:
        return load_for_model(args.held_out, label_model(args, adapter)).texts[: args.fidelity_n]
    if args.data is not None:
        return None
    try:
        test = _model_splits(args.model)[1]
    except InputError:
        return None
    return test.texts[: args.fidelity_n] or None


def _short(text: str, width: int = 90) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _print_entry(entry: dict[str, Any]) -> None:
    from captum_ext.terminal import escape_control as esc

    pred = entry["prediction"]
    probs = ", ".join(f"{k} {v:.3f}" for k, v in pred["probs"].items())
    print(f"text:       {esc(entry['text'])}")
    print(f"prediction: {pred['label']} ({probs})")
    for kind in ("proponents", "opponents", "neighbours"):
        if kind not in entry:
            continue
        print(f"{kind} ({entry['method']}, k={entry['k']}):")
        for item in entry[kind]:
            mark = "agrees" if item["agrees"] else "differs"
            print(
                f"  {item['score']:+.4f}  [{item['label']}, {mark}] #{item['index']}  "
                f"{esc(_short(item['text']))}"
            )
    for part, f in entry.get("fidelity", {}).items():
        print(
            f"fidelity ({part.replace('_', '-')}, {f['n']} tweets): pearson {f['pearson']:.4f}, "
            f"mad {f['mad']:.4f}"
        )
    print()


# -- audit --------------------------------------------------------------------------------------
def run_audit(args: argparse.Namespace) -> int:
    from captum_ext.errors import InputError
    from captum_ext.influence import FeatureSimilarityKNN, MislabelAudit
    from captum_ext.validation import check_cache_dir, check_output_file, check_scalar

    fmt = args.format or ("json" if args.out and args.out.lower().endswith(".json") else "csv")
    check_scalar(args.top, "--top", int, min_val=1, allow_none=True)
    for name in ("k", "folds"):
        check_scalar(getattr(args, name), f"--{name}", int, min_val=1)
    check_scalar(args.l2, "--l2", min_val=0, include_boundaries="neither")
    if args.queries is not None and args.method != "knn":
        raise InputError("--queries (a sparse-data audit) needs --method knn.")
    queries = None
    if args.queries is not None:
        queries = read_texts(
            argparse.Namespace(text=None, text_file=args.queries), option="--queries"
        )
    if args.out is not None:
        check_output_file(args.out, "--out")
    check_cache_dir(args.cache_dir, "--cache-dir")
    engine = engine_from_args(args)
    adapter = load_adapter(args)
    train = training_data(args, adapter)
    warm_feature_cache(args, engine, adapter, train)
    common = {"cache_dir": args.cache_dir, "show_progress": args.progress}
    if queries is not None:
        knn = FeatureSimilarityKNN(adapter, train, metric=args.metric, **common)
        frame = knn.sparse_audit(queries, k=args.k)
        if args.top is not None:
            frame = frame.head(args.top)
    else:
        audit = MislabelAudit(
            adapter,
            train,
            k=args.k,
            metric=args.metric,
            l2=args.l2,
            n_folds=args.folds,
            random_state=args.seed,
            cross_fit=args.cross_fit,
            finetune_settings=_finetune_settings(args, adapter) if args.cross_fit else None,
            **common,
        )
        extra = ("out_of_sample_finetuned",) if args.cross_fit else ()  # a column of the table
        audit.fit((args.method, *extra))
        frame = audit.to_frame(args.method, top=args.top)
    _write_frame(frame, fmt, args.out)
    return 0


def _finetune_settings(args: argparse.Namespace, adapter: Any) -> dict[str, Any]:
    """Settings of the fold models: the audited model's own fine-tuning settings (from the
    ``metrics.json`` of ``captum-ext finetune``, when there is one), the adapter's
    ``max_length`` otherwise, ``--cross-fit-base`` and the cache folder."""
    settings: dict[str, Any] = {"max_length": adapter.max_length}
    try:
        metrics = json.loads((_model_dir(args.model) / "metrics.json").read_text(encoding="utf-8"))
        hp = metrics["hyperparameters"]
        keys = (
            "epochs max_length batch_size lr precision warmup_ratio weight_decay freeze_embeddings"
        )
        settings |= {k: hp[k] for k in keys.split() if k in hp}
        base = Path(metrics["base_model"]["path"])
        if base.is_dir():
            settings["base"] = base
    except (OSError, ValueError, KeyError, TypeError):
        pass
    if args.max_length is not None:
        settings["max_length"] = args.max_length
    if args.cross_fit_base is not None:
        settings["base"] = args.cross_fit_base
    if args.cache_dir is not None:
        settings["cache_dir"] = Path(args.cache_dir) / "crossfit"
    return settings


def _write_frame(frame, fmt: str, out: str | None) -> None:
    if fmt == "csv":
        text = frame.to_csv(index=False)
    else:
        text = frame.to_json(orient="records", force_ascii=False) + "\n"
    if out is None:
        sys.stdout.write(text)
    else:
        Path(out).write_text(text, encoding="utf-8")
