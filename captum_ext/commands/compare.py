"""``captum-ext compare``: run every method on the same texts, measure agreement and faithfulness."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from captum_ext.commands._common import add_model_args, load_adapter, method_list


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
        "--chunk-size", type=int, default=8, help="texts per explain_many batch (default 8)"
    )
    p.add_argument(
        "--html-texts",
        type=int,
        default=100,
        help="texts shown word by word in report.html (default 100)",
    )
    p.add_argument("--no-progress", action="store_true", help="hide the progress bars")
    eng = p.add_argument_group("engine")
    eng.add_argument(
        "--engine",
        choices=("local", "ray"),
        default="local",
        help="local: this process (default); ray: texts sharded across Ray actors, one model "
        "each, writing into the same resumable --out (pip install 'captum-ext[ray]')",
    )
    eng.add_argument(
        "--address",
        default=None,
        help="Ray cluster to join (auto, ray://HOST:10001); default: start a local Ray",
    )
    eng.add_argument("--workers", type=int, default=2, help="Ray actors (default 2)")
    eng.add_argument(
        "--threads-per-worker", type=int, default=1, help="torch threads per actor (default 1)"
    )
    eng.add_argument(
        "--gpus-per-worker", type=float, default=0.0, help="GPUs per actor (default 0)"
    )
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
    for name in ("n", "k", "chunk_size", "n_random"):
        value = getattr(args, name)
        if value is not None and value < 1:
            raise InputError(f"--{name.replace('_', '-')} must be >= 1, got {value}.")
    if args.data is not None:
        texts = load_texts(args.data, args.n, random_state=args.seed)
    else:
        texts = args.text[: args.n] if args.n else args.text
    if args.engine == "ray":
        _run_ray(args, texts, methods, settings, seeds)
    adapter = load_adapter(args)
    summary = compare(
        texts,
        methods=methods,
        adapter=adapter,
        model=args.model or "default",
        out_dir=args.out,
        method_settings=settings,
        k=args.k,
        rank_by=args.rank_by,
        random_state=args.seed,
        stability_seeds=seeds,
        stability_texts=args.stability_texts,
        faithfulness=not args.no_faithfulness,
        n_random=args.n_random,
        chunk_size=args.chunk_size,
        html_texts=args.html_texts,
        show_progress=not args.no_progress,
    )
    out = sys.stdout
    out.write(f"{len(summary.results)} texts x {len(summary.methods)} methods -> {args.out}\n")
    for sentence in summary.verdict["sentence"]:
        out.write(f"  {sentence}\n")
    files = summary.settings.get("files", {})
    if "html" in files:
        out.write(f"report: {files['html']}\n")
    return 0
