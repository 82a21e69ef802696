"""Benchmarks of the sample-level methods (representer points, kNN, mislabeled-tweet audit).

Usage (heavy parts under the shared CPU lock)::

    flock /tmp/cpu.lock .venv/bin/python benchmarks/bench_influence.py mislabeled [--cross-fit 2,4]
    flock /tmp/cpu.lock .venv/bin/python benchmarks/bench_influence.py fit-time
    flock /tmp/cpu.lock .venv/bin/python benchmarks/bench_influence.py knn-time
    flock /tmp/cpu.lock .venv/bin/python benchmarks/bench_influence.py fidelity

``mislabeled`` flips the labels of 5% of a 10,000-tweet Sentiment140 training sample, fine-tunes
the default encoder on it once (cached in the user cache, outside the repository), caches the
head-input features and ranks the training tweets by each audit signal. ``--cross-fit K[,K...]``
adds ``out_of_sample_finetuned``: the same fine-tuning recipe on K folds (each tweet predicted by
a model that never saw it; fold models cached in the user cache), alone and in ``combined``.
Results: ``benchmarks/results/influence_mislabeled.json`` (written after every K).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

N_TRAIN = 10_000
FLIP_FRACTION = 0.05
N_HELD_OUT = 2_000
SEED = 0
MAX_LENGTH = 64
FRACTIONS = (0.01, 0.025, 0.05, 0.10)
RESULTS_NAME = "influence_mislabeled"


def bench_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_cache_dir("captum-ext")) / "bench" / "influence"


def flip_data(seed: int = SEED):
    """The noisy training sample, the flipped row mask and a clean held-out set."""
    from captum_ext.data import TextDataset, default_data_path, load_sentiment140, split_dataset

    ds = load_sentiment140(default_data_path())
    pool, _, held_out = split_dataset(ds, test_size=N_HELD_OUT, val_size=0, seed=seed)
    clean = pool.sample(N_TRAIN, seed=seed)
    rng = np.random.default_rng([seed, 5])
    flipped = np.zeros(len(clean), dtype=bool)
    flipped[rng.choice(len(clean), size=int(FLIP_FRACTION * len(clean)), replace=False)] = True
    labels = np.where(flipped, 1 - clean.labels, clean.labels)
    noisy = TextDataset(clean.texts, labels, clean.label_names, source=clean.source)
    return noisy, flipped, clean, held_out


def prepare_flip_model(seed: int = SEED) -> Path:
    """Fine-tune once on the flipped sample (cached); return the model directory."""
    from captum_ext.train.finetune import finetune

    out = bench_dir() / f"flip5-seed{seed}"
    if (out / "metrics.json").is_file() and not (out / "checkpoint").exists():
        return out
    noisy, _, _, _ = flip_data(seed)
    t0 = time.perf_counter()
    # test_size=0: train on exactly the noisy sample (accuracy is measured on the clean held-out
    # split by the benchmark itself).
    finetune(
        noisy,
        out,
        n_train=None,
        epochs=1,
        seed=seed,
        max_length=MAX_LENGTH,
        batch_size=32,
        test_size=0,
        num_threads=1,  # 2 threads spin-wait badly when the cores are shared
    )
    print(f"fine-tuned {out} in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    return out


def _adapter(model_dir: Path):
    from captum_ext.adapters import TextClassifierAdapter

    return TextClassifierAdapter.from_pretrained(model_dir, max_length=MAX_LENGTH, batch_size=64)


def _precisions(scores: np.ndarray, flipped: np.ndarray) -> dict:
    from captum_ext.influence import precision_at

    return {f"precision_top{f * 100:g}": precision_at(scores, flipped, f) for f in FRACTIONS}


def _cleanlab(labels: np.ndarray, probs: np.ndarray, flipped: np.ndarray) -> dict:
    """cleanlab's label quality ranking and ``find_label_issues`` on out-of-sample probabilities."""
    from cleanlab.filter import find_label_issues
    from cleanlab.rank import get_label_quality_scores

    quality = get_label_quality_scores(labels, probs)
    issues = find_label_issues(labels, probs)
    return {
        "quality": _precisions(-quality, flipped),
        "find_label_issues": {
            "n_flagged": int(issues.sum()),
            "precision": float(flipped[issues].mean()) if issues.any() else None,
            "recall": float(issues[flipped].mean()),
        },
    }


def bench_cross_fit(audit, noisy, flipped, clean, k: int, seed: int, precision: str) -> dict:
    """``out_of_sample_finetuned`` with ``k`` folds: fine-tune (cached) and score."""
    from captum_ext.influence import MislabelAudit, cross_fit_finetune, rank_average

    t0 = time.perf_counter()
    cf = cross_fit_finetune(
        noisy,
        n_folds=k,
        random_state=seed,
        max_length=MAX_LENGTH,
        batch_size=32,
        epochs=1,
        precision=precision,  # the recipe of the audited model
        num_threads=1,
        cache_dir=bench_dir() / "crossfit",
        show_progress=True,
    )
    cf_seconds = time.perf_counter() - t0
    # the product path: MislabelAudit with the precomputed probabilities (same cached features)
    both = MislabelAudit(
        audit.adapter,
        noisy,
        cache_dir=bench_dir() / "features",
        features=audit.representer.train_features_,
        finetuned_probs=cf.probs,
    ).fit()
    labels = noisy.labels
    rows = np.arange(len(labels))
    pred = cf.probs.argmax(1)
    fold_metrics = [
        json.loads((d / "metrics.json").read_text(encoding="utf-8")) for d in cf.model_dirs
    ]
    out: dict = {
        "n_folds": k,
        "signals": {
            "out_of_sample_finetuned": _precisions(
                both.scores_["out_of_sample_finetuned"], flipped
            ),
            "combined (4 signals)": _precisions(both.scores_["combined"], flipped),
        },
        # not shipped: pairs, to see what the fold models add to each in-sample signal
        "ablations": {
            "out_of_sample_finetuned + representer": _precisions(
                rank_average(both.scores_["out_of_sample_finetuned"], both.scores_["representer"]),
                flipped,
            ),
            "out_of_sample_finetuned + knn": _precisions(
                rank_average(both.scores_["out_of_sample_finetuned"], both.scores_["knn"]), flipped
            ),
        },
        "fold_models": {
            "accuracy_vs_clean_labels": float((pred == clean.labels).mean()),
            "accuracy_vs_noisy_labels": float((pred == labels).mean()),
            "predicts_flipped_label_of_flipped": float((pred[flipped] == labels[flipped]).mean()),
            # the same rate on the tweets we did not flip: Sentiment140's own labels it rejects
            "rejects_label_of_unflipped": float((pred[~flipped] != labels[~flipped]).mean()),
            "n_label_rejected": {
                "flipped": int((pred != labels)[flipped].sum()),
                "unflipped": int((pred != labels)[~flipped].sum()),
            },
            "mean_p_given_label_flipped": float(cf.probs[rows, labels][flipped].mean()),
            "train_sizes": [m["sizes"]["train"] for m in fold_metrics],
            "finetune_cpu_seconds": [m["timing"].get("cpu_seconds") for m in fold_metrics],
            "finetune_wall_seconds": [m["timing"]["wall_seconds"] for m in fold_metrics],
            "resumed_from_step": [m["resumed_from_step"] for m in fold_metrics],
        },
        "seconds_this_run": round(cf_seconds, 1),
        "fine_tuned_this_run": cf.n_finetuned,
        "run_dir": str(cf.run_dir),
    }
    try:
        out["cleanlab"] = _cleanlab(labels, cf.probs, flipped)
    except ImportError:
        out["cleanlab"] = "not installed"
    return out


def bench_mislabeled(seed: int = SEED, cross_fit: tuple[int, ...] = ()) -> dict:
    """Precision of each audit signal in the top 5% (and 10%) of the flipped training sample."""
    from _common import write_results

    from captum_ext.influence import MislabelAudit, RepresenterPoints

    t_start = time.perf_counter()
    noisy, flipped, clean, held_out = flip_data(seed)
    model_dir = prepare_flip_model(seed)
    adapter = _adapter(model_dir)
    cache = bench_dir() / "features"
    t0 = time.perf_counter()
    audit = MislabelAudit(adapter, noisy, cache_dir=cache, show_progress=True).fit()
    audit_seconds = time.perf_counter() - t0
    labels = noisy.labels
    rows = np.arange(len(labels))
    scores = dict(audit.scores_)
    scores["model_loss"] = 1.0 - audit.model_probs_[rows, labels]  # in-sample |y - p|
    natural = clean.labels  # Sentiment140's own (noisy) labels, before our flips
    rng = np.random.default_rng(seed)
    scores["random"] = rng.random(len(labels))
    report: dict = {"n_train": len(noisy), "n_flipped": int(flipped.sum()), "signals": {}}
    for name, sc in scores.items():
        report["signals"][name] = _precisions(sc, flipped)
    # what outranks the flips: the top-ranked tweets that were not flipped (Sentiment140's own
    # emoticon labels are often wrong)
    top = audit.ranking("combined")[: int(0.05 * len(labels))]
    report["top_not_flipped_examples"] = [
        {"label": noisy.label_names[labels[i]], "text": noisy.texts[i]}
        for i in top
        if not flipped[i]
    ][:8]
    # cleanlab on the same cross-fitted out-of-sample probabilities
    try:
        lab = _cleanlab(labels, audit.oos_probs_, flipped)
        report["signals"]["cleanlab_quality"] = lab["quality"]
        report["cleanlab_find_label_issues"] = lab["find_label_issues"]
    except ImportError:
        report["cleanlab"] = "not installed"
    # held-out accuracy (clean labels) and representer fidelity
    rp = RepresenterPoints(
        adapter, noisy, target="model", cache_dir=cache, features=audit.representer.train_features_
    )
    rp.fit()
    held = rp.extractor.for_texts(held_out.texts, show_progress=True)
    report["held_out_accuracy"] = float((held.logits.argmax(1) == held_out.labels).mean())
    report["train_flipped_fit"] = {
        "model_agrees_with_flipped_label": float(
            (audit.model_probs_.argmax(1)[flipped] == labels[flipped]).mean()
        ),
        "model_agrees_with_original_label_of_flipped": float(
            (audit.model_probs_.argmax(1)[flipped] == natural[flipped]).mean()
        ),
        "model_rejects_label_of_unflipped": float(
            (audit.model_probs_.argmax(1)[~flipped] != labels[~flipped]).mean()
        ),
    }
    report["audit_seconds"] = round(audit_seconds, 1)
    report["model_dir"] = str(model_dir)
    report["cross_fit"] = {}
    metrics = json.loads((model_dir / "metrics.json").read_text(encoding="utf-8"))
    for k in cross_fit:
        write_results(RESULTS_NAME, report | {"wall_seconds": time.perf_counter() - t_start})
        report["cross_fit"][f"K={k}"] = bench_cross_fit(
            audit, noisy, flipped, clean, k, seed, metrics["hyperparameters"]["precision"]
        )
        print(json.dumps(report["cross_fit"][f"K={k}"]), file=sys.stderr)
    report["wall_seconds"] = round(time.perf_counter() - t_start, 1)
    write_results(RESULTS_NAME, report)
    return report


def large_features(n: int = 100_000, seed: int = SEED) -> tuple[np.ndarray, np.ndarray, object]:
    """``n`` head features built from the real cached ones of the flipped-sample model (each
    real training feature repeated, plus small Gaussian noise), their noisy labels, and the
    model's head. Computing 100,000 real features takes over half an hour on this CPU."""
    noisy, _, _, _ = flip_data(seed)
    adapter = _adapter(prepare_flip_model(seed))
    from captum_ext.influence import HeadFeatureExtractor

    ex = HeadFeatureExtractor(adapter, cache_dir=bench_dir() / "features")
    real = np.asarray(ex.for_texts(noisy.texts).features, dtype=np.float64)
    rng = np.random.default_rng(seed)
    pick = np.concatenate([np.arange(len(real))] * (n // len(real) + 1))[:n]
    feats = real[pick] + rng.normal(scale=0.05 * real.std(), size=(n, real.shape[1]))
    return feats.astype(np.float32), noisy.labels[pick], ex.head


def _sgd(x, y, l2, init, tol, budget, seed=SEED, batch=256, lr=0.5):
    """Minibatch SGD with momentum on the same objective, the same stopping rule (checked once
    an epoch) and a time budget."""
    from captum_ext.influence._solver import l2_softmax_grad

    rng = np.random.default_rng(seed)
    w = init.copy()
    v = np.zeros_like(w)
    n = len(x)
    t0 = time.perf_counter()
    epochs = 0
    while True:
        _, g = l2_softmax_grad(w, x, y, l2)
        gmax = float(np.abs(g).max())
        if gmax <= 2 * l2 * tol * float(np.abs(w).max()):
            return {
                "seconds": time.perf_counter() - t0,
                "epochs": epochs,
                "grad_max": gmax,
                "converged": True,
            }
        if time.perf_counter() - t0 > budget:
            return {
                "seconds": time.perf_counter() - t0,
                "epochs": epochs,
                "grad_max": gmax,
                "converged": False,
            }
        order = rng.permutation(n)
        step = lr / (1 + epochs) ** 0.5
        for s in range(0, n, batch):
            b = order[s : s + batch]
            _, gb = l2_softmax_grad(w, x[b], y[b], l2)
            v = 0.9 * v + gb
            w = w - step * v
        epochs += 1


def bench_fit_time(n: int = 100_000, budget: float = 30.0) -> dict:
    """Representer fit (L-BFGS warm-started from the head, + Newton polish) on ``n`` features,
    beside minibatch SGD to the same tolerance."""
    from captum_ext.influence._solver import add_intercept, fit_l2_softmax
    from captum_ext.influence.features import softmax

    feats, labels, head = large_features(n)
    w0 = np.concatenate(
        [head.weight.detach().double().numpy(), head.bias.detach().double().numpy()[:, None]], 1
    )
    t0 = time.perf_counter()
    x = add_intercept(feats)
    prep = time.perf_counter() - t0
    out: dict = {
        "n": n,
        "dim": int(feats.shape[1]),
        "l2": 1e-3,
        "design_matrix_seconds": round(prep, 2),
        "runs": [],
    }
    for target in ("labels", "model"):
        y = np.eye(2)[labels] if target == "labels" else softmax(x @ w0.T)
        for tol in (1e-3, 1e-6):
            w, info = fit_l2_softmax(x, y, 1e-3, init=w0, tol=tol, num_threads=None)
            sgd = _sgd(x, y, 1e-3, w0, tol, budget)
            out["runs"].append(
                {
                    "target": target,
                    "tol": tol,
                    "lbfgs_seconds": round(info.seconds, 2),
                    "lbfgs_iterations": info.n_iter,
                    "lbfgs_converged": info.converged,
                    "lbfgs_message": info.message,
                    "sgd_seconds": round(sgd["seconds"], 2),
                    "sgd_epochs": sgd["epochs"],
                    "sgd_converged": sgd["converged"],
                    "sgd_grad_max": sgd["grad_max"],
                    "lbfgs_grad_max": info.grad_max,
                }
            )
            print(json.dumps(out["runs"][-1]), file=sys.stderr)
    return out


def bench_knn_time(n: int = 100_000, n_queries: int = 1000, k: int = 10) -> dict:
    """Exact top-k for ``n_queries`` real held-out features over ``n`` training features."""
    from captum_ext.influence import HeadFeatureExtractor, exact_top_k
    from captum_ext.influence.knn import faiss_top_k

    feats, _, _ = large_features(n)
    _, _, _, held_out = flip_data()
    ex = HeadFeatureExtractor(_adapter(prepare_flip_model()), cache_dir=bench_dir() / "features")
    queries = np.asarray(ex.for_texts(held_out.texts).features)[:n_queries]
    out: dict = {"n": n, "n_queries": len(queries), "k": k, "runs": []}
    for metric in ("cosine", "dot", "euclidean"):
        t0 = time.perf_counter()
        idx, _ = exact_top_k(queries, feats, k, metric)
        exact_s = time.perf_counter() - t0
        run = {"metric": metric, "exact_seconds": round(exact_s, 2)}
        try:
            t0 = time.perf_counter()
            fidx, _ = faiss_top_k(queries, feats, k, metric)
            run["faiss_seconds"] = round(time.perf_counter() - t0, 2)
            run["faiss_same_top_k"] = float((np.sort(fidx, 1) == np.sort(idx, 1)).all(1).mean())
        except Exception as exc:  # faiss is optional
            run["faiss"] = f"unavailable: {exc}"
        out["runs"].append(run)
    return out


def bench_fidelity(model_dir: str | None = None, n_train: int | None = None) -> dict:
    """Representer fidelity (target = model outputs) on a model's training and test tweets."""
    from captum_ext.influence import RepresenterPoints
    from captum_ext.train import model_splits

    folder = Path(model_dir) if model_dir else None
    if folder is None:
        from captum_ext.adapters.loading import default_model_dir

        folder = default_model_dir()
    metrics = json.loads((folder / "metrics.json").read_text())
    train, test = model_splits(folder)
    if n_train is not None and n_train < len(train):
        train = train.sample(n_train, seed=SEED)
    hp = metrics["hyperparameters"]
    from captum_ext.adapters import TextClassifierAdapter

    adapter = TextClassifierAdapter.from_pretrained(folder, max_length=hp["max_length"])
    out: dict = {
        "model_dir": str(folder),
        "n_train": len(train),
        "n_held_out": len(test),
        "runs": [],
    }
    for l2 in (1e-2, 1e-3, 1e-4):
        rp = RepresenterPoints(
            adapter, train, l2=l2, cache_dir=bench_dir() / "features", show_progress=True
        ).fit()
        fid = rp.fidelity(held_out=test.texts)
        out["runs"].append({"l2": l2, "fit_seconds": round(rp.solver_info_.seconds, 2), **fid})
        print(json.dumps(out["runs"][-1]), file=sys.stderr)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "what", choices=["prepare", "mislabeled", "fit-time", "knn-time", "fidelity"]
    )
    parser.add_argument("--model", default=None, help="fidelity: model directory (default model)")
    parser.add_argument("--threads", type=int, default=1, help="torch and BLAS threads (default 1)")
    parser.add_argument(
        "--cross-fit",
        default="",
        metavar="K[,K...]",
        help="mislabeled: also fine-tune on K folds for out_of_sample_finetuned, e.g. 2,4 "
        "(K-1 fine-tunings of the 10,000 tweets each; cached)",
    )
    args = parser.parse_args(argv)
    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(args.threads)
    threadpool_limits(args.threads)  # numpy/scipy BLAS too (OpenBLAS spin-waits when shared)
    if args.what == "prepare":
        print(json.dumps({"model_dir": str(prepare_flip_model())}))
    elif args.what == "mislabeled":
        ks = tuple(int(k) for k in args.cross_fit.split(",") if k.strip())
        print(json.dumps(bench_mislabeled(cross_fit=ks), indent=1))
    elif args.what == "fit-time":
        print(json.dumps(bench_fit_time(), indent=1))
    elif args.what == "knn-time":
        print(json.dumps(bench_knn_time(), indent=1))
    elif args.what == "fidelity":
        print(json.dumps(bench_fidelity(args.model), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
