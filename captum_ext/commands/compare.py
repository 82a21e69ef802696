"""``captum-ext compare``: run every method on the same texts, measure agreement and faithfulness."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from captum_ext.commands._common import (
    add_engine_args,
    add_model_args,
    add_target_arg,
    engine_from_args,
    load_adapter,
    method_list,
    resolve_target,
)


def _parse_setting(value: str) -> tuple[str, str, Any]:
    from captum_ext.errors import InputError

    name, sep, raw = value.partition("=")
    method, dot, key = name.partition(".")
    if not sep or not dot or not method or not key:
        raise InputError(
            f"--set {value!r} must look like METHOD.SETTING=VALUE, e.g. --set lime-official.n_samples=500."
        )
    try:
        parsed: Any = json.loads(raw)
    except ValueError:
        parsed = raw  # a bare string such as gausslegendre
    return method, key, parsed


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "compare",
        help="compare every method on the same texts: agreement, faithfulness, verdict, report",
        description="Run every registered method (or --methods) on the same texts, measure how "
        "much they agree and how faithful each is against a random baseline, and write "
        "records.jsonl (resumable: run the same command again to continue), summary.json, "
        "heatmaps, a faithfulness table and report.html into --out.",
    )
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument(
        "--data",
        metavar="PATH",
        help="Sentiment140 folder or CSV (--n tweets drawn at random, balanced), a .txt file "
        '(one text a line) or a .jsonl file (a "text" field a line)',
    )
    src.add_argument(
        "--text", action="append", metavar="TEXT", help="a text to compare on (repeatable)"
    )
    p.add_argument(
        "--text-pair",
        action="append",
        metavar="TEXT",
        help="the second text of the pair of each --text, in order (repeatable); with --data, "
        'pairs come from a "text_pair" field (.jsonl) or column (.csv with text,text_pair)',
    )
    p.add_argument("--n", type=int, default=None, help="number of texts (default: all)")
    p.add_argument(
        "--methods",
        default=None,
        help="comma-separated method names (default: every method of `captum-ext methods`)",
    )
    p.add_argument("--out", required=True, metavar="DIR", help="run directory (created; resumed)")
    p.add_argument(
        "--set",
        dest="settings",
        action="append",
        default=[],
        metavar="METHOD.SETTING=VALUE",
        help="override a method's budget, e.g. --set lime-official.n_samples=500 (repeatable)",
    )
    p.add_argument("--seed", type=int, default=0, help="random_state (default 0)")
    add_target_arg(p)
    p.add_argument("--k", type=int, default=5, help="top-k of the agreement metrics (default 5)")
    p.add_argument(
        "--rank-by",
        choices=("target", "magnitude"),
        default="target",
        help="rank words by signed score towards the target (default) or by |score|",
    )
    p.add_argument(
        "--stability-seeds",
        default="1,2",
        help="extra seeds for stochastic methods, comma-separated, '' for none (default 1,2)",
    )
    p.add_argument(
        "--stability-texts",
        type=int,
        default=20,
        help="texts the extra seeds run on (default 20)",
    )
    p.add_argument("--n-random", type=int, default=5, help="random rankings per text (default 5)")
    p.add_argument("--no-faithfulness", action="store_true", help="skip the faithfulness scores")
    p.add_argument(
        "--sanity-texts",
        type=int,
        default=20,
        help="texts (the first ones) the randomisation, random-logit and robustness checks run "
        "on; 0 skips them (default 20)",
    )
    p.add_argument(
        "--randomisation-levels",
        default="head,all",
        help="cascade of the randomisation check: head, top<k>, all, comma-separated "
        "(default head,all)",
    )
    p.add_argument(
        "--ground-truth",
        type=int,
        default=0,
        metavar="N",
        help="the ground-truth stage on N planted test texts: a copy of the model is fine-tuned "
        "with a planted shortcut token (a few minutes, cached) and each method's recall@1 of the "
        "token is scored (default 0: off)",
    )
    p.add_argument(
        "--ground-truth-data",
        default=None,
        metavar="PATH",
        help="labelled tweets to plant the shortcut into (default: the Sentiment140 sample)",
    )
    p.add_argument(
        "--metrics",
        default=None,
        help="comma-separated metric names (default: every registered metric; see docs/harness.md)",
    )
    p.add_argument(
        "--chunk-size", type=int, default=8, help="texts per explain_many batch (default 8)"
    )
    p.add_argument(
        "--html-texts",
        type=int,
        default=100,
        help="texts shown word by word in report.html (default 100)",
    )
    p.add_argument("--no-progress", action="store_true", help="hide the progress bars")
    add_engine_args(p, what="texts (whole chunks) written into the same resumable --out")
    add_model_args(p)
    p.set_defaults(func=run)


def _run_ray(
    args: argparse.Namespace,
    texts: list[str],
    methods: list[str] | None,
    settings: dict[str, dict[str, Any]],
    seeds: list[int],
) -> None:
    """Fill --out with Ray actors; the in-process ``compare`` then finds every record there."""
    from captum_ext.engines.ray_compare import run_compare_ray
    from captum_ext.harness.runner import RunConfig
    from captum_ext.methods import list_methods
    from captum_ext.metrics.faithfulness import ERASER_BINS

    config = RunConfig(  # exactly the config `compare` builds from these options
        methods=methods or [m.name for m in list_methods()],
        method_settings=settings,
        random_state=int(args.seed),
        stability_seeds=seeds,
        stability_texts=int(args.stability_texts),
        faithfulness=not args.no_faithfulness,
        bins=[float(b) for b in ERASER_BINS],
        n_random=int(args.n_random),
        chunk_size=int(args.chunk_size),
    )
    run_compare_ray(
        texts,
        out_dir=args.out,
        model=args.model,
        model_name=args.model or "default",
        config=config,
        adapter_kwargs={
            "max_length": args.max_length,
            "batch_size": args.batch_size,
            "device": args.device,
            "precision": args.precision,
        },
        workers=args.workers,
        threads_per_worker=args.threads_per_worker,
        gpus_per_worker=args.gpus_per_worker,
        address=args.address,
    )


def run(args: argparse.Namespace) -> int:
    from captum_ext.errors import InputError
    from captum_ext.harness import compare
    from captum_ext.harness.api import load_texts
    from captum_ext.methods import get_method
    from captum_ext.validation import check_output_dir, check_scalar, check_seed

    methods = method_list(args.methods)  # fail fast on an unknown name, before loading the model
    settings: dict[str, dict[str, Any]] = {}
    for value in args.settings:
        method, key, parsed = _parse_setting(value)
        get_method(method)
        settings.setdefault(method, {})[key] = parsed
    try:
        seeds = [int(s) for s in args.stability_seeds.split(",") if s.strip()]
    except ValueError:
        raise InputError(
            f"--stability-seeds must be comma-separated integers, got {args.stability_seeds!r}."
        ) from None
    for s in seeds:
        check_seed(s, "--stability-seeds")
    for name in ("n", "k", "chunk_size", "n_random"):
        check_scalar(getattr(args, name), f"--{name.replace('_', '-')}", min_val=1, allow_none=True)
    for name in ("stability_texts", "html_texts"):
        check_scalar(getattr(args, name), f"--{name.replace('_', '-')}", min_val=0)
    check_output_dir(args.out, "--out")
    use_ray = engine_from_args(args) is not None  # checks the engine options and that Ray is here
    if args.data is not None:
        texts = load_texts(args.data, args.n, random_state=args.seed)
    else:
        texts = args.text[: args.n] if args.n else args.text
        if args.text_pair is not None:
            from captum_ext.adapters.alignment import join_pair

            if len(args.text_pair) != len(texts or []):
                raise InputError(
                    f"--text-pair given {len(args.text_pair)} time(s) for {len(texts or [])} "
                    "--text: give one --text-pair per --text."
                )
            texts = [join_pair(t, b) for t, b in zip(texts, args.text_pair, strict=True)]
    if use_ray:
        _run_ray(args, texts, methods, settings, seeds)
    from captum_ext.metrics.protocol import get_metric
    from captum_ext.metrics.randomise import randomisation_levels

    randomisation_levels(
        [x.strip() for x in args.randomisation_levels.split(",") if x.strip()],
        name="--randomisation-levels",
    )
    check_scalar(args.sanity_texts, "--sanity-texts", int, min_val=0)
    check_scalar(args.ground_truth, "--ground-truth", int, min_val=0)
    if args.metrics is not None:
        names = [m.strip() for m in args.metrics.split(",") if m.strip()]
        if not names:
            raise InputError(
                f"--metrics {args.metrics!r} names no metric: give comma-separated metric names "
                "(docs/harness.md lists them), or leave --metrics out for all."
            )
        for name in names:
            get_metric(name)  # an unknown name fails before the model is loaded
    adapter = load_adapter(args)
    target = resolve_target(args, adapter)
    summary = compare(
        texts,
        methods=methods,
        adapter=adapter,
        model=args.model or "default",
        out_dir=args.out,
        method_settings=settings,
        targets=None if target is None else [target] * len(texts),
        k=args.k,
        rank_by=args.rank_by,
        random_state=args.seed,
        stability_seeds=seeds,
        stability_texts=args.stability_texts,
        faithfulness=not args.no_faithfulness,
        n_random=args.n_random,
        sanity_texts=args.sanity_texts,
        randomisation_levels=[x.strip() for x in args.randomisation_levels.split(",") if x.strip()],
        metrics=args.metrics,
        ground_truth=args.ground_truth,
        ground_truth_data=args.ground_truth_data,
        chunk_size=args.chunk_size,
        html_texts=args.html_texts,
        show_progress=not args.no_progress,
    )
    out = sys.stdout
    out.write(f"{len(summary.results)} texts x {len(summary.methods)} methods -> {args.out}\n")
    out.write(f"verdict: {summary.headline}\n")
    for _, row in summary.verdict.iterrows():
        out.write(f"  {row['rank']:>2}. {row['sentence']}\n")
    if summary.judgement is not None:
        for note in summary.judgement.notes:
            out.write(f"  note: {note}\n")
        n_flag = len(summary.judgement.flagged)
        if n_flag:
            ids = ", ".join(summary.judgement.flagged["text_id"].head(10))
            out.write(
                f"  {n_flag} text(s) where the believed methods disagree on the top words "
                f"(no single explanation is reliable there): {ids}\n"
            )
    files = summary.settings.get("files", {})
    if "html" in files:
        out.write(f"report: {files['html']}\n")
    return 0
