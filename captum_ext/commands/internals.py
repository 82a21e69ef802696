"""``captum-ext attention | embeddings | heads | probe``: inside the model, figures + JSON to --out.

Thin: parse, call :mod:`captum_ext.internals`, write files, print one JSON summary line.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from captum_ext.commands._common import (
    add_model_args,
    label_model,
    load_adapter,
    print_json,
    read_texts,
)
from captum_ext.errors import InputError
from captum_ext.validation import check_cache_dir, check_output_dir, check_scalar


def register(sub: argparse._SubParsersAction) -> None:
    # -- attention ---------------------------------------------------------------------------
    p = sub.add_parser(
        "attention",
        help="attention maps of a text: heatmaps, offline head view, bertviz export",
        description="Per layer and head attention of one text: heatmaps (PNG/SVG), an offline "
        "HTML head view, attention.json and attention_bertviz.json (bertviz head_view/model_view "
        "format), written to --out.",
    )
    p.add_argument("text", help="the text")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder")
    p.add_argument("--format", choices=("png", "svg"), default="png", help="heatmap format")
    add_model_args(p)
    p.set_defaults(func=run_attention)

    # -- embeddings --------------------------------------------------------------------------
    p = sub.add_parser(
        "embeddings",
        help="2-D map of contextual embeddings of one layer (or --word: a word in context)",
        description="Project the sentence, word or word-piece embeddings of one layer of "
        "held-out tweets (PCA, t-SNE or UMAP) to a PNG/SVG plot and a self-contained HTML page "
        "with the texts on hover. With --word W: the cosine and Euclidean distances between the "
        "vectors of W in different tweets, per layer (table + plot).",
    )
    _add_data_args(p, default_n=1000)
    p.add_argument(
        "--layer", type=int, default=-1, help="0 = embeddings, N = last layer (default -1)"
    )
    p.add_argument("--level", choices=("sentence", "word", "token"), default="sentence")
    p.add_argument("--method", choices=("pca", "tsne", "umap"), default="pca")
    p.add_argument("--color-by", choices=("label", "word"), default="label")
    p.add_argument("--words", default=None, help="comma-separated words to keep (word/token level)")
    p.add_argument(
        "--text-file",
        metavar="FILE",
        help="texts to map instead of --data (one a line; with --word: 'group<TAB>text' lines)",
    )
    p.add_argument(
        "--word",
        default=None,
        help="word-in-context analysis of this word (built-in examples for 'sick' and 'bad' "
        "when no --text-file is given; else tweets of --data containing it)",
    )
    p.add_argument(
        "--contexts",
        type=int,
        default=40,
        help="with --word and --data: tweets containing the word to compare (default 40)",
    )
    p.add_argument("--format", choices=("png", "svg"), default="png")
    p.set_defaults(func=run_embeddings)

    # -- heads -------------------------------------------------------------------------------
    p = sub.add_parser(
        "heads",
        help="head importance (Michel et al. 2019) and the pruning curve",
        description="Importance of every attention head on --n held-out tweets, by gradient "
        "(one pass) and by masking each head, their rank correlation, and the accuracy on "
        "--n-eval other held-out tweets as the least important heads are masked, 0-100%.",
    )
    _add_data_args(p, default_n=1000)
    p.add_argument("--n-eval", type=int, default=2000, help="held-out tweets of the pruning curve")
    p.add_argument("--no-masking", action="store_true", help="gradient importance only")
    p.add_argument(
        "--steps", type=int, default=10, help="pruning-curve steps from 0 to 100%% (default 10)"
    )
    p.add_argument("--format", choices=("png", "svg"), default="png")
    p.set_defaults(func=run_heads)

    # -- probe -------------------------------------------------------------------------------
    p = sub.add_parser(
        "probe",
        help="linear probes per layer (sentiment, negation, @mention, emoticon) + control tasks",
        description="A cross-validated linear probe per layer (embeddings + every encoder "
        "layer) for sentiment and tweet properties, each with a Hewitt & Liang control task; "
        "selectivity = task - control. Features are cached on disk.",
    )
    _add_data_args(p, default_n=5000)
    p.add_argument(
        "--tasks",
        default="sentiment,negation,mention,emoticon",
        help="comma-separated tasks (default all)",
    )
    p.add_argument("--cv", type=int, default=5, help="cross-validation folds (default 5)")
    p.add_argument("--pooling", choices=("mean", "cls"), default="mean")
    p.add_argument("--cache-dir", default=None, help="feature cache (default: user cache)")
    p.add_argument("--no-cache", action="store_true", help="do not read or write the cache")
    p.add_argument("--format", choices=("png", "svg"), default="png")
    p.set_defaults(func=run_probe)


def _add_data_args(p: argparse.ArgumentParser, *, default_n: int) -> None:
    p.add_argument(
        "--data",
        metavar="PATH",
        default=None,
        help="Sentiment140 folder or CSV (default: the shared sample); tweets the model was "
        "fine-tuned on are left out",
    )
    p.add_argument("--n", type=int, default=default_n, help=f"tweets to use (default {default_n})")
    p.add_argument("--seed", type=int, default=0, help="seed of the sample (default 0)")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    add_model_args(p)


def _out(args: argparse.Namespace) -> Path:
    return check_output_dir(args.out, "--out")


def _positive(name: str, value: int) -> None:
    check_scalar(value, name, min_val=1)


def _tweets(args: argparse.Namespace, n: int, adapter: Any) -> tuple[Any, str]:
    """``n`` held-out tweets (label-balanced, seeded) and a note on what was left out; their
    labels are the model's class indices (mapped by name or ``--label-map``)."""
    from captum_ext.internals._data import held_out_dataset

    lm = label_model(args, adapter)
    ds, note = held_out_dataset(args.data, args.model, lm)
    if n > len(ds):
        raise InputError(f"--n {n} is more than the {len(ds)} held-out tweets: use a smaller --n.")
    # sampled in the data's label order, so the tweets do not depend on the model's class order
    return lm.align(ds.sample(n, seed=args.seed)), note


def _write_json(path: Path, obj: Any) -> Path:
    path.write_text(json.dumps(obj, indent=1, ensure_ascii=False, default=float), encoding="utf-8")
    return path


def run_attention(args: argparse.Namespace) -> int:
    from captum_ext.adapters import validate_text
    from captum_ext.internals import attention_maps

    text = validate_text(args.text)
    out = _out(args)
    adapter = load_adapter(args)
    maps = attention_maps(adapter, text)
    files = maps.save(out, fmt=args.format)
    print_json(
        {
            "command": "attention",
            "text": text,
            "tokens": maps.tokens,
            "shape": list(maps.weights.shape),
            "files": {k: str(v) for k, v in files.items()},
        }
    )
    return 0


def _read_lines(path: str, with_groups: bool) -> tuple[list[str], list[str] | None]:
    lines = read_texts(argparse.Namespace(text=None, text_file=path))
    if with_groups and lines and all("\t" in ln for ln in lines):
        groups, texts = zip(*(ln.split("\t", 1) for ln in lines), strict=True)
        return list(texts), list(groups)
    return lines, None


def run_embeddings(args: argparse.Namespace) -> int:
    from captum_ext.internals import EXAMPLE_CONTEXTS, embedding_map, word_in_context

    _positive("--n", args.n)
    out = _out(args)
    if args.word is not None:
        note = ""
        adapter = load_adapter(args)
        if args.text_file:
            texts, groups = _read_lines(args.text_file, with_groups=True)
        elif args.word.lower() in EXAMPLE_CONTEXTS and args.data is None:
            texts, groups = EXAMPLE_CONTEXTS[args.word.lower()]
            note = f"built-in example contexts of {args.word!r}"
        else:
            import re

            import numpy as np

            from captum_ext.internals._data import held_out_dataset

            ds, note = held_out_dataset(args.data, args.model, label_model(args, adapter))
            pattern = re.compile(rf"(?<![^\W_]){re.escape(args.word.lower())}(?![^\W_])")
            hits = [i for i, t in enumerate(ds.texts) if pattern.search(t.lower())]
            if len(hits) < 2:
                raise InputError(f"fewer than 2 tweets contain {args.word!r}: use --text-file.")
            rng = np.random.default_rng(args.seed)
            pick = [hits[i] for i in rng.permutation(len(hits))[: args.contexts]]
            texts = [ds.texts[i] for i in pick]
            groups = [ds.label_names[int(ds.labels[i])] for i in pick]
            note += f"; {len(pick)} of the {len(hits)} tweets containing {args.word!r}, by label"
        wic = word_in_context(adapter, args.word, texts, groups)
        wic.plot(out / f"word_in_context.{args.format}")
        wic.to_frame().to_csv(out / "word_in_context_pairs.csv", index=False)
        wic.summary().to_csv(out / "word_in_context.csv", index=False)
        _write_json(out / "word_in_context.json", {**wic.to_dict(), "note": note})
        print_json(
            {
                "command": "embeddings",
                "word": wic.word,
                "n_contexts": len(wic.texts),
                "summary": wic.summary().to_dict(orient="records"),
                "out": str(out),
            }
        )
        return 0
    adapter = load_adapter(args)
    if args.text_file:
        texts, _ = _read_lines(args.text_file, with_groups=False)
        labels, note = None, "texts from --text-file, coloured by the predicted label"
    else:
        ds, note = _tweets(args, args.n, adapter)
        texts, labels = ds.texts, ds.labels
    words = [w.strip() for w in args.words.split(",") if w.strip()] if args.words else None
    t0 = time.perf_counter()
    emap = embedding_map(
        adapter,
        texts,
        labels,
        layer=args.layer,
        level=args.level,
        method=args.method,
        color_by=args.color_by,
        words=words,
        random_state=args.seed,
        show_progress=not args.quiet,
    )
    stem = f"embeddings_{args.level}_layer{emap.layer}_{args.method}"
    emap.plot(out / f"{stem}.{args.format}")
    emap.save_html(out / f"{stem}.html")
    emap.to_frame().to_csv(out / f"{stem}.csv", index=False)
    _write_json(out / f"{stem}.json", {**emap.to_dict(), "note": note})
    print_json(
        {
            "command": "embeddings",
            "layer": emap.layer,
            "level": emap.level,
            "method": emap.method,
            "n_points": len(emap.coords),
            "explained_variance": emap.explained_variance,
            "seconds": round(time.perf_counter() - t0, 2),
            "note": note,
            "out": str(out),
        }
    )
    return 0


def run_heads(args: argparse.Namespace) -> int:
    import numpy as np

    from captum_ext.internals.heads import (
        head_importance,
        plot_pruning_curves,
        prunable_fraction,
        pruning_curve,
    )

    _positive("--n", args.n)
    _positive("--n-eval", args.n_eval)
    _positive("--steps", args.steps)
    out = _out(args)
    adapter = load_adapter(args)
    pool, note = _tweets(args, args.n + args.n_eval, adapter)
    imp_set = pool.subset(np.arange(args.n))
    eval_set = pool.subset(np.arange(args.n, args.n + args.n_eval))
    progress = not args.quiet
    imp = head_importance(
        adapter,
        imp_set.texts,
        imp_set.labels,
        masking=not args.no_masking,
        show_progress=progress,
    )
    fractions = np.linspace(0, 1, args.steps + 1)
    t0 = time.perf_counter()
    curves = [
        pruning_curve(
            adapter,
            imp.gradient_normalized,
            eval_set.texts,
            eval_set.labels,
            fractions=fractions,
            show_progress=progress,
        ).assign(ranking="gradient")
    ]
    if imp.masking_loss is not None:
        curves.append(
            pruning_curve(
                adapter,
                imp.masking_loss,
                eval_set.texts,
                eval_set.labels,
                fractions=fractions,
                show_progress=progress,
            ).assign(ranking="masking")
        )
    curves.append(
        pruning_curve(
            adapter,
            imp.gradient,
            eval_set.texts,
            eval_set.labels,
            fractions=fractions,
            random_state=args.seed,
            show_progress=progress,
        ).assign(ranking="random")
    )
    import pandas as pd

    curve = pd.concat(curves, ignore_index=True)
    t_curve = time.perf_counter() - t0
    imp.plot(out / f"head_importance.{args.format}")
    imp.to_frame().to_csv(out / "head_importance.csv", index=False)
    curve.to_csv(out / "pruning_curve.csv", index=False)
    plot_pruning_curves(curve, out / f"pruning_curve.{args.format}")
    summary = {
        "command": "heads",
        "n_importance": len(imp_set),
        "n_eval": len(eval_set),
        "seconds": {**imp.seconds, "pruning_curves": t_curve},
        "rank_correlation": imp.rank_correlation() if imp.masking_loss is not None else None,
        "prunable": prunable_fraction(curve),
        "note": note,
        "out": str(out),
    }
    _write_json(
        out / "heads.json",
        {**summary, "importance": imp.to_dict(), "pruning_curve": curve.to_dict(orient="records")},
    )
    print_json(summary)
    return 0


def _skipped_tasks(frame: Any, cv: int) -> dict[str, str]:
    """Tasks without a single score (a class with fewer tweets than folds), with the reason."""
    out: dict[str, str] = {}
    for task, df in frame.groupby("task", sort=False):
        if df["score"].notna().any():
            continue
        n = int(df["n"].iloc[0])
        rarer = n - round(float(df["base_rate"].iloc[0]) * n)  # base_rate: the larger class
        out[str(task)] = (
            f"{task}: its rarer class has {rarer} of {n} tweets, fewer than the "
            f"--cv {cv} folds need"
        )
    return out


def run_probe(args: argparse.Namespace) -> int:
    from captum_ext.internals import probe

    _positive("--n", args.n)
    check_scalar(args.cv, "--cv", int, min_val=2)
    tasks = [t.strip() for t in args.tasks.split(",") if t.strip()]
    if not tasks:
        raise InputError(f"--tasks {args.tasks!r} names no task: give comma-separated task names.")
    out = _out(args)
    if not args.no_cache:
        check_cache_dir(args.cache_dir, "--cache-dir")
    adapter = load_adapter(args)
    ds, note = _tweets(args, args.n, adapter)
    cache: Any = False if args.no_cache else args.cache_dir
    res = probe(
        adapter,
        ds.texts,
        ds.labels,
        tasks=tasks,
        cv=args.cv,
        pooling=args.pooling,
        random_state=args.seed,
        cache=cache,
        show_progress=not args.quiet,
    )
    skipped = _skipped_tasks(res.frame, args.cv)
    if skipped and len(skipped) == res.frame["task"].nunique():
        raise InputError(
            f"no probe could be computed on --n {args.n} tweets ({'; '.join(skipped.values())}): "
            "use a larger --n or a smaller --cv."
        )
    for why in skipped.values():
        print(f"note: skipped task {why}", file=sys.stderr)
    res.plot(out / f"probes.{args.format}")
    res.frame.to_csv(out / "probes.csv", index=False)
    _write_json(out / "probes.json", {**res.to_dict(), "note": note})
    print_json(
        {
            "command": "probe",
            "n": len(ds),
            "cache": res.features_info.get("cache"),
            "seconds": res.seconds,
            "best": res.best_layers().to_dict(orient="records"),
            "skipped": skipped,
            "note": note,
            "out": str(out),
        }
    )
    return 0
