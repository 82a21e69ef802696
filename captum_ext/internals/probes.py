r"""Layer probes (diagnostic classifiers) with control tasks: which layers know what?

A *probe* is a linear classifier trained on a layer's sentence vectors (mean of the token vectors,
special tokens left out) to predict a property of the text: its sentiment, or whether it contains
a negation, an @mention or an emoticon-like token. One probe per layer, embeddings included,
gives a layer-wise curve.

High probe accuracy alone does not show that a layer *encodes* a property: a flexible probe can
learn almost anything. Hewitt and Liang (2019, "Designing and Interpreting Probes with Control
Tasks", https://arxiv.org/abs/1909.03368) therefore pair each task with a *control task* whose
labels are a random function of word identity, and report **selectivity** = task score minus
control score. Their control labels each word *type* randomly; our properties are sentence-level
("contains X"), so the control is the same shape with X random: a seeded random set of word types
is chosen so that "contains one of these words" has the task's base rate (see
:func:`control_labels`). A probe that only memorises lexical identity scores as well on the control
as on the task (selectivity near 0); a layer that really encodes the property gives a large gap.

Scores are cross-validated (stratified K folds, seeded) balanced accuracy by default, so chance is
0.5 for every binary task whatever its base rate. Features are computed once per model and data
and cached on disk (:func:`layer_features`), keyed by a fingerprint of the model's weights and of
the texts; a second run reads them back instead of running the model.

Examples::

    >>> from captum_ext.adapters import TextClassifierAdapter
    >>> from captum_ext.internals import probe
    >>> adapter = TextClassifierAdapter.from_pretrained()  # doctest: +SKIP
    >>> from captum_ext.data import default_data_path, load_sentiment140
    >>> data = load_sentiment140(default_data_path()).sample(200, seed=0)  # doctest: +SKIP
    >>> texts, labels = data.texts, data.labels  # doctest: +SKIP
    >>> res = probe(adapter, texts, labels)  # doctest: +SKIP
    >>> res.frame.pivot(index="layer", columns="task", values="selectivity").round(2)  # doctest: +SKIP
    task   emoticon  mention  negation  sentiment
    layer
    0          -0.1     0.29      0.25       0.04
    1          -0.1     0.35      0.27      -0.01
    2          -0.1     0.30      0.27       0.16
    3          -0.1     0.30      0.29       0.20
    4          -0.2     0.32      0.23       0.20
    5          -0.2     0.35      0.25       0.16
    6          -0.1     0.47      0.27       0.14
    >>> fig = res.plot("probes.png")  # doctest: +SKIP
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from captum_ext.errors import InputError
from captum_ext.internals._model import (
    model_fingerprint,
    pooled_hidden_states,
    texts_fingerprint,
    token_rows,
)
from captum_ext.internals._plotting import pyplot, save_figure
from captum_ext.validation import check_scalar

__all__ = [
    "PROPERTIES",
    "FeatureCache",
    "ProbeResults",
    "control_labels",
    "default_cache_dir",
    "layer_features",
    "probe",
    "probe_layers",
    "tweet_properties",
]

logger = logging.getLogger("captum_ext.internals")

NEGATION_WORDS = frozenset(
    """not no never nothing nobody none nowhere neither nor cannot without dont doesnt didnt isnt
    arent wasnt werent cant couldnt wont wouldnt shouldnt aint hasnt havent hadnt mustnt neednt
    nope nah""".split()
)
_NEGATION_RE = re.compile(
    r"(?<![\w@#])(?:" + "|".join(sorted(NEGATION_WORDS)) + r"|\w+n['’]t)(?!\w)", re.IGNORECASE
)
_MENTION_RE = re.compile(r"(?<![\w@])@\w+")
# eyes [:;=] (nose) mouth, or eyes [xX8] (nose) a closed set of mouths, reversed faces, <3, ^_^,
# -_-, T_T, o_O; never glued to a word (no times 10:30, no URLs http://)
_EMOTICON_RE = re.compile(
    r"(?<![\w:;=/])(?:"
    r"[:;=][-o^'’]?[)(\]\[dDpP/\\|*oO3$@]+"
    r"|[xX8][-']?[)(dDpP]+"
    r"|[)(\]\[dD][-']?[:;=]"
    r"|(?:<|&lt;)3+"
    r"|\^[_.-]?\^"
    r"|-_-"
    r"|[tT]_[tT]"
    r"|[oO0]_[oO0]"
    r")(?![\w/])"
)

#: Sentence properties of tweets: name → detector ``text -> bool``.
PROPERTIES: dict[str, Callable[[str], bool]] = {
    "negation": lambda t: _NEGATION_RE.search(t) is not None,
    "mention": lambda t: _MENTION_RE.search(t) is not None,
    "emoticon": lambda t: _EMOTICON_RE.search(t) is not None,
}

_WORD_RE = re.compile(r"\w+|[^\w\s]")


def tweet_properties(texts: Sequence[str]) -> pd.DataFrame:
    """Boolean columns ``negation``, ``mention``, ``emoticon``, one row per text.

    Examples::

        >>> tweet_properties(["@bob not today =(", "lovely day"]).astype(int).values.tolist()
        [[1, 1, 1], [0, 0, 0]]
    """
    return pd.DataFrame({name: [bool(f(t)) for t in texts] for name, f in PROPERTIES.items()})


def control_labels(
    texts: Sequence[str],
    labels: Sequence[int] | np.ndarray,
    *,
    random_state: int = 0,
    tolerance: float = 0.05,
) -> np.ndarray:
    """Control-task labels (Hewitt & Liang 2019) for a binary sentence-level task.

    The label of a text is 1 if it contains one of a random set of word types (lower-cased
    ``\\w+`` runs and punctuation marks). Types are drawn in a seeded random order and added
    while the share of texts they cover stays within ``tolerance`` (relative) of the task's
    positive rate, so the control has (about) the task's base rate and, like the task, is a
    function of which words occur, but of randomly chosen ones. (If every remaining type would
    overshoot, the rate stays a little below the task's; rare types, common in tweets, make fine
    steps.)

    Args:
        texts (list of str): the texts.
        labels (array of 0/1): the task labels (only their positive rate is used).
        random_state (int, optional): seed of the word-type draw. Default: 0
        tolerance (float, optional): allowed gap between the control's and the task's positive
            rates, relative to the task's rate (0.05: a 2% rate gives 1.9% to 2.1%; at least one
            text). Default: 0.05

    Returns:
        np.ndarray: 0/1 labels, one per text.

    Examples::

        >>> texts = [f"w{i} x{i}" for i in range(100)]  # 200 word types, one text each
        >>> control = control_labels(texts, [1, 0] * 50)
        >>> bool(abs(control.mean() - 0.5) <= 0.05 * 0.5)  # the task's rate, within tolerance
        True
    """
    y = np.asarray(labels)
    if y.shape != (len(texts),):
        raise InputError(f"labels must be one per text: got shape {y.shape} for {len(texts)}.")
    values = set(np.unique(y).tolist())
    if not values <= {0, 1}:
        raise InputError(f"control tasks need binary 0/1 labels, got values {sorted(values)}.")
    n = len(texts)
    target = float(y.mean())
    index: dict[str, list[int]] = {}
    for i, t in enumerate(texts):
        for w in set(_WORD_RE.findall(t.lower())):
            index.setdefault(w, []).append(i)
    types = sorted(index)
    order = np.random.default_rng(random_state).permutation(len(types))
    covered = np.zeros(n, dtype=bool)
    count = 0
    slack = max(tolerance * target * n, 1.0)
    hi = target * n + slack
    lo = target * n - slack
    for k in order:
        if count >= lo:
            break
        docs = index[types[k]]
        new = sum(1 for d in docs if not covered[d])
        if new and count + new <= hi:
            covered[docs] = True
            count += new
    return covered.astype(np.int64)


def default_cache_dir() -> Path:
    """Where layer features are cached: ``<user cache>/captum-ext/features``."""
    from platformdirs import user_cache_path

    return user_cache_path("captum-ext") / "features"


class FeatureCache:
    """Arrays on disk keyed by a string; ``.npy`` files (never pickled) with a JSON side-car.

    Args:
        directory (str or Path, optional): the folder. Default: :func:`default_cache_dir`
    """

    def __init__(self, directory: str | os.PathLike | None = None) -> None:
        self.directory = Path(directory) if directory is not None else default_cache_dir()

    def path(self, key: str) -> Path:
        if not re.fullmatch(r"[\w.-]+", key):
            raise InputError(f"cache key must be letters, digits, '.', '_' or '-', got {key!r}.")
        return self.directory / f"{key}.npy"

    def get(self, key: str) -> np.ndarray | None:
        path = self.path(key)
        if not path.is_file():
            return None
        try:
            return np.load(path, allow_pickle=False, mmap_mode=None)
        except (OSError, ValueError) as e:  # a truncated or foreign file: recompute
            logger.warning("ignoring unreadable cache file %s (%s)", path, e)
            return None

    def put(self, key: str, array: np.ndarray, meta: dict[str, Any] | None = None) -> Path:
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.path(key)
        tmp = path.with_suffix(f".tmp{os.getpid()}.npy")
        np.save(tmp, np.ascontiguousarray(array), allow_pickle=False)
        os.replace(tmp, path)
        if meta is not None:
            path.with_suffix(".json").write_text(json.dumps(meta, indent=1), encoding="utf-8")
        return path


def layer_features(
    adapter: Any,
    texts: Sequence[str],
    *,
    pooling: str = "mean",
    cache: FeatureCache | str | os.PathLike | None | bool = None,
    batch_size: int | None = None,
    show_progress: bool = False,
) -> tuple[np.ndarray, dict[str, Any]]:
    """Sentence vectors of every layer, ``(n_texts, n_layers + 1, hidden)`` float32, cached.

    Args:
        adapter (TextClassifierAdapter): the model wrapper.
        texts (list of str): the texts.
        pooling (str, optional): ``"mean"`` of the non-special tokens or ``"cls"``.
            Default: ``"mean"``
        cache (FeatureCache, path, None or False, optional): where to cache; None uses
            :func:`default_cache_dir`; False disables caching. Default: None
        batch_size (int, optional): texts per pass. Default: the adapter's.
        show_progress (bool, optional): a progress bar. Default: False

    Returns:
        tuple: ``(features, info)``; ``info`` has ``cache`` (``"hit"``, ``"miss"`` or
        ``"off"``), ``key``, ``path`` and ``seconds``.
    """
    if isinstance(texts, str) or len(texts) == 0:
        raise InputError("texts must be a non-empty list of strings.")
    t0 = time.perf_counter()
    store: FeatureCache | None
    if cache is False:
        store = None
    elif isinstance(cache, FeatureCache):
        store = cache
    else:
        store = FeatureCache(cache if cache not in (None, True) else None)  # type: ignore[arg-type]
    key = ""
    if store is not None:
        key = f"layers-{model_fingerprint(adapter)}-{texts_fingerprint(texts)}-{pooling}"
        cached = store.get(key)
        if cached is not None and cached.shape[0] == len(texts):
            return cached, {
                "cache": "hit",
                "key": key,
                "path": str(store.path(key)),
                "seconds": time.perf_counter() - t0,
            }
    rows = token_rows(adapter, texts)
    feats = pooled_hidden_states(
        adapter,
        rows,
        pooling=pooling,
        batch_size=batch_size,
        show_progress=show_progress,
        desc="layer features",
    )
    info: dict[str, Any] = {"cache": "off", "key": key, "path": None}
    if store is not None:
        meta = {"n_texts": len(texts), "shape": list(feats.shape), "pooling": pooling}
        info.update(cache="miss", path=str(store.put(key, feats, meta)))
    info["seconds"] = time.perf_counter() - t0
    return feats, info


def _folds(y: np.ndarray, cv: int, random_state: int) -> list[tuple[np.ndarray, np.ndarray]] | None:
    from sklearn.model_selection import StratifiedKFold

    counts = np.bincount(y, minlength=2)
    if len(counts) < 2 or counts.min() < cv:
        return None
    return list(StratifiedKFold(cv, shuffle=True, random_state=random_state).split(y, y))


def _score(y_true: np.ndarray, y_pred: np.ndarray, scoring: str) -> float:
    if scoring == "accuracy":
        return float((y_true == y_pred).mean())
    recalls = [float((y_pred[y_true == c] == c).mean()) for c in np.unique(y_true)]
    return float(np.mean(recalls))


def probe_layers(
    features: np.ndarray,
    labels: Sequence[int] | np.ndarray,
    *,
    control: Sequence[int] | np.ndarray | None = None,
    cv: int = 5,
    C: float = 1.0,
    scoring: str = "balanced_accuracy",
    random_state: int = 0,
) -> pd.DataFrame:
    """Cross-validated linear probe (standardised logistic regression) on every layer.

    Args:
        features (np.ndarray): ``(n, n_layers, dim)`` (or ``(n, dim)`` for one layer).
        labels (array of int): the task labels.
        control (array of int, optional): control-task labels (stratified folds of their own, same seed). Default: None
        cv (int, optional): stratified folds. Default: 5
        C (float, optional): inverse L2 strength of the logistic regression. Default: 1.0
        scoring (str, optional): ``"balanced_accuracy"`` (chance 0.5 for binary tasks) or
            ``"accuracy"``. Default: ``"balanced_accuracy"``
        random_state (int, optional): seed of the folds. Default: 0

    Returns:
        pandas.DataFrame: one row per layer: ``layer``, ``score``, ``score_std``,
        ``control_score``, ``control_std``, ``selectivity`` (``score - control_score``), ``n``,
        ``base_rate`` (share of the most frequent class). Scores are NaN when a class has fewer
        than ``cv`` examples.
    """
    from sklearn.linear_model import LogisticRegression
    from threadpoolctl import threadpool_limits

    X = np.asarray(features)
    if X.ndim == 2:
        X = X[:, None, :]
    if X.ndim != 3:
        raise InputError(f"features must be (n, n_layers, dim), got shape {X.shape}.")
    y = np.asarray(labels).astype(np.int64)
    if y.shape != (X.shape[0],):
        raise InputError(f"labels must be one per row of features: {y.shape} for {X.shape[0]}.")
    if scoring not in ("balanced_accuracy", "accuracy"):
        raise InputError(f"scoring must be 'balanced_accuracy' or 'accuracy', got {scoring!r}.")
    check_scalar(cv, "cv", min_val=2)
    yc = None if control is None else np.asarray(control).astype(np.int64)
    tasks = [("task", y, _folds(y, cv, random_state))]
    if yc is not None:
        tasks.append(("control", yc, _folds(yc, cv, random_state)))
    base_rate = float(np.bincount(y).max() / len(y))
    records = []
    # one BLAS thread: small problems, and 2 threads on a shared 2-core machine are 10x slower
    with threadpool_limits(1):
        for layer in range(X.shape[1]):
            Xl = X[:, layer, :].astype(np.float64)
            rec: dict[str, Any] = {"layer": layer, "n": len(y), "base_rate": base_rate}
            for name, target, folds in tasks:
                scores = []
                for train, test in folds or []:
                    mu = Xl[train].mean(axis=0)
                    sd = Xl[train].std(axis=0)
                    sd[sd == 0] = 1.0
                    clf = LogisticRegression(C=C, max_iter=2000, class_weight="balanced")
                    clf.fit((Xl[train] - mu) / sd, target[train])
                    scores.append(_score(target[test], clf.predict((Xl[test] - mu) / sd), scoring))
                prefix = "" if name == "task" else "control_"
                rec[f"{prefix}score"] = float(np.mean(scores)) if scores else float("nan")
                rec[f"{prefix}std" if prefix else "score_std"] = (
                    float(np.std(scores)) if scores else float("nan")
                )
            records.append(rec)
    df = pd.DataFrame.from_records(records)
    if yc is not None:
        df["selectivity"] = df["score"] - df["control_score"]
    return df


@dataclass
class ProbeResults:
    """Layer-wise probe scores of several tasks.

    Attributes:
        frame: one row per (task, layer): ``task``, ``layer`` (0 = embeddings), ``score``,
            ``score_std``, ``control_score``, ``control_std``, ``selectivity``, ``n``,
            ``positive_rate``, ``base_rate``.
        scoring: the score (``"balanced_accuracy"`` or ``"accuracy"``).
        settings: cv, C, pooling, seed.
        features_info: the feature cache info of :func:`layer_features`.
        seconds: wall time of the feature extraction and of the probes.
    """

    frame: pd.DataFrame
    scoring: str
    settings: dict[str, Any] = field(default_factory=dict)
    features_info: dict[str, Any] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)

    def best_layers(self) -> pd.DataFrame:
        """Per task, the layer of highest score and the layer of highest selectivity."""
        rows = []
        for task, df in self.frame.groupby("task", sort=False):
            ok = df.dropna(subset=["score"])
            if ok.empty:
                continue
            best = ok.loc[ok["score"].idxmax()]
            row = {"task": task, "best_layer": int(best["layer"]), "best_score": best["score"]}
            if "selectivity" in ok and ok["selectivity"].notna().any():
                sel = ok.loc[ok["selectivity"].idxmax()]
                row.update(
                    most_selective_layer=int(sel["layer"]), max_selectivity=sel["selectivity"]
                )
            rows.append(row)
        return pd.DataFrame(rows)

    def to_dict(self) -> dict[str, Any]:
        return {
            "scoring": self.scoring,
            "settings": self.settings,
            "features": {k: v for k, v in self.features_info.items()},
            "seconds": self.seconds,
            "layers": json.loads(self.frame.to_json(orient="records")),
            "best": json.loads(self.best_layers().to_json(orient="records")),
        }

    def plot(self, path: str | os.PathLike | None = None) -> Any:
        """Score (solid) and control score (dashed) per layer for every task."""
        plt = pyplot()
        fig, axes = plt.subplots(1, 2, figsize=(11, 4))
        for i, (task, df) in enumerate(self.frame.groupby("task", sort=False)):
            color = f"C{i}"
            axes[0].plot(df["layer"], df["score"], "o-", color=color, label=task)
            if "control_score" in df:
                axes[0].plot(df["layer"], df["control_score"], "x--", color=color, alpha=0.6)
                axes[1].plot(df["layer"], df["selectivity"], "o-", color=color, label=task)
        axes[0].set_title(f"probe {self.scoring} (dashed: control task)", fontsize=10)
        axes[1].set_title("selectivity = task - control", fontsize=10)
        for ax in axes:
            ax.set_xlabel("layer (0 = embeddings)")
            ax.legend(fontsize=8)
            ax.grid(alpha=0.3)
        fig.tight_layout()
        if path is not None:
            save_figure(fig, path)
        return fig


def probe(
    adapter: Any,
    texts: Sequence[str],
    labels: Sequence[int] | np.ndarray | None = None,
    *,
    tasks: Sequence[str] | None = None,
    control: bool = True,
    cv: int = 5,
    C: float = 1.0,
    scoring: str = "balanced_accuracy",
    pooling: str = "mean",
    random_state: int = 0,
    cache: FeatureCache | str | os.PathLike | None | bool = None,
    batch_size: int | None = None,
    show_progress: bool = False,
) -> ProbeResults:
    """Probe every layer for sentiment and tweet properties, each with its control task.

    Args:
        adapter (TextClassifierAdapter): the model wrapper.
        texts (list of str): the tweets.
        labels (array of int, optional): sentiment labels (task ``"sentiment"``); None leaves
            that task out. Default: None
        tasks (list of str, optional): among ``"sentiment"``, ``"negation"``, ``"mention"``,
            ``"emoticon"``. Default: all available
        control (bool, optional): also run each task's control task. Default: True
        cv (int, optional): stratified folds. Default: 5
        C (float, optional): inverse L2 strength. Default: 1.0
        scoring (str, optional): ``"balanced_accuracy"`` or ``"accuracy"``.
            Default: ``"balanced_accuracy"``
        pooling (str, optional): ``"mean"`` or ``"cls"`` sentence vectors. Default: ``"mean"``
        random_state (int, optional): seed of folds and control tasks. Default: 0
        cache (optional): feature cache, see :func:`layer_features`. Default: None (user cache)
        batch_size (int, optional): texts per pass. Default: the adapter's.
        show_progress (bool, optional): progress bars. Default: False

    Returns:
        ProbeResults
    """
    available = (["sentiment"] if labels is not None else []) + list(PROPERTIES)
    tasks = list(available if tasks is None else tasks)
    for t in tasks:
        if t not in available:
            hint = " (give labels for the sentiment task)" if t == "sentiment" else ""
            raise InputError(f"unknown task {t!r}: choose from {', '.join(available)}{hint}.")
    if not tasks:
        raise InputError("tasks is empty: give at least one task.")
    texts = list(texts)
    t0 = time.perf_counter()
    feats, info = layer_features(
        adapter,
        texts,
        pooling=pooling,
        cache=cache,
        batch_size=batch_size,
        show_progress=show_progress,
    )
    t_feat = time.perf_counter() - t0
    props = tweet_properties(texts)
    frames = []
    it: Any = tasks
    if show_progress:
        from tqdm.auto import tqdm

        it = tqdm(tasks, desc="probes", unit="task")
    for k, task in enumerate(it):
        if task == "sentiment":
            y = np.asarray(labels).astype(np.int64)
            if y.shape != (len(texts),):
                raise InputError(f"labels must be one per text: {y.shape} for {len(texts)}.")
        else:
            y = props[task].to_numpy().astype(np.int64)
        yc = None
        if control and len(np.unique(y)) == 2 and set(np.unique(y)) <= {0, 1}:
            yc = control_labels(texts, y, random_state=random_state + 1000 * k)
        df = probe_layers(
            feats, y, control=yc, cv=cv, C=C, scoring=scoring, random_state=random_state
        )
        df.insert(0, "task", task)
        df["positive_rate"] = float(y.mean()) if set(np.unique(y)) <= {0, 1} else float("nan")
        if yc is not None:
            df["control_positive_rate"] = float(yc.mean())
        frames.append(df)
    return ProbeResults(
        frame=pd.concat(frames, ignore_index=True),
        scoring=scoring,
        settings={
            "cv": cv,
            "C": C,
            "pooling": pooling,
            "random_state": random_state,
            "n_texts": len(texts),
        },
        features_info=info,
        seconds={"features": t_feat, "probes": time.perf_counter() - t0 - t_feat},
    )
