r"""Rank training tweets by how likely their label is wrong, from signals a user can inspect.

Sentiment140's labels come from emoticons, so many are wrong. Three signals, all computed on the
cached head-input features (no extra forward passes), each "larger = more suspicious":

* ``representer``: :math:`|\alpha_{i,y_i}|` of representer points fitted to the labels
  (:class:`~captum_ext.influence.RepresenterPoints` with ``target="labels"``), proportional to
  :math:`1 - p_{y_i}` of the refitted head: the in-sample loss. For a binary softmax head this
  is nearly the model's own in-sample loss ranking, a baseline.
* ``knn``: the similarity-weighted fraction of the ``k`` nearest other training tweets whose
  label differs (:class:`~captum_ext.influence.FeatureSimilarityKNN`).
* ``out_of_sample``: :math:`1 - \hat p_{y_i}` where :math:`\hat p` comes from heads cross-fitted
  on the features (each tweet predicted by a head that never saw it), the *self-confidence* of
  confident learning (Northcutt, Jiang and Chuang, JAIR 2021); ``cleanlab`` uses the same
  out-of-sample probabilities.

``combined`` averages the signals' percentile ranks (each in [0, 1]), so no single scale
dominates and a tweet must look wrong to several signals to rank first.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from captum_ext.errors import InputError
from captum_ext.influence._solver import add_intercept, fit_l2_softmax
from captum_ext.influence.features import CachedFeatures, softmax
from captum_ext.influence.knn import FeatureSimilarityKNN
from captum_ext.influence.representer import RepresenterPoints

if TYPE_CHECKING:
    import pandas as pd

    from adapters import TextClassifierAdapter
    from captum_ext.data import TextDataset

__all__ = [
    "AUDIT_METHODS",
    "MislabelAudit",
    "cross_fitted_probs",
    "precision_at",
    "rank_average",
]

AUDIT_METHODS = ("representer", "knn", "out_of_sample", "combined")
AuditMethod = Literal["representer", "knn", "out_of_sample", "combined"]


def cross_fitted_probs(
    features: np.ndarray,
    labels: np.ndarray,
    *,
    num_labels: int | None = None,
    n_folds: int = 5,
    l2: float = 1e-3,
    fit_intercept: bool = True,
    random_state: int = 0,
    tol: float = 1e-4,
) -> np.ndarray:
    """Out-of-sample class probabilities from L2 softmax heads cross-fitted on features.

    The rows are split into ``n_folds`` stratified folds; each fold is predicted by a head fitted
    on the other folds (:func:`~captum_ext.influence._solver.fit_l2_softmax`), so no tweet's own
    label enters its prediction (the ``pred_probs`` confident learning and ``cleanlab`` expect).

    Args:
        features (np.ndarray): ``(n, dim)`` features.
        labels (np.ndarray): ``(n,)`` integer labels.
        num_labels (int, optional): Number of classes. Default: None (``labels.max() + 1``).
        n_folds (int, optional): Folds, ``2 <= n_folds <= n``. Default: 5
        l2 (float, optional): L2 penalty of each head. Default: 1e-3
        fit_intercept (bool, optional): Fit a bias. Default: True
        random_state (int, optional): Seeds the folds. Default: 0
        tol (float, optional): Solver tolerance (relative stationarity). Default: 1e-4

    Returns:
        np.ndarray: ``(n, num_labels)`` probabilities.

    Examples::

        >>> import numpy as np
        >>> from captum_ext.influence import cross_fitted_probs
        >>> rng = np.random.default_rng(0)
        >>> y = np.repeat([0, 1], 50)
        >>> x = rng.normal(size=(100, 3)) + 2.0 * y[:, None]
        >>> p = cross_fitted_probs(x, y, n_folds=5)
        >>> bool((p.argmax(1) == y).mean() > 0.9)
        True
    """
    from sklearn.model_selection import StratifiedKFold

    labels = np.asarray(labels, dtype=np.int64)
    n = len(labels)
    if isinstance(n_folds, bool) or not isinstance(n_folds, int) or not 2 <= n_folds <= n:
        raise InputError(f"n_folds must be an int in [2, {n}], got {n_folds!r}.")
    c = int(num_labels if num_labels is not None else labels.max() + 1)
    counts = np.bincount(labels, minlength=c)
    if counts[counts > 0].min() < n_folds:
        raise InputError(
            f"n_folds={n_folds} is larger than the smallest class ({counts[counts > 0].min()} "
            "texts): use fewer folds or more data."
        )
    x = add_intercept(features) if fit_intercept else np.asarray(features, np.float64)
    y = np.eye(c)[labels]
    out = np.empty((n, c))
    folds = StratifiedKFold(n_splits=n_folds, shuffle=True, random_state=random_state)
    for train_idx, test_idx in folds.split(x, labels):
        w, _ = fit_l2_softmax(x[train_idx], y[train_idx], l2, tol=tol)
        out[test_idx] = softmax(x[test_idx] @ w.T)
    return out


def rank_average(*scores: np.ndarray) -> np.ndarray:
    """The mean percentile rank (in (0, 1], ties averaged) of several score arrays."""
    from scipy.stats import rankdata

    if not scores:
        raise InputError("rank_average needs at least one score array.")
    return np.mean([rankdata(s) / len(s) for s in scores], axis=0)


def precision_at(scores: np.ndarray, is_error: np.ndarray, fraction: float = 0.05) -> float:
    """Precision of the top ``fraction`` of rows by ``scores`` (largest first) at finding
    ``is_error`` rows (ties broken by row order).

    Examples::

        >>> import numpy as np
        >>> from captum_ext.influence import precision_at
        >>> precision_at(np.array([0.9, 0.1, 0.8, 0.2]), np.array([1, 0, 0, 0]), 0.5)
        0.5
    """
    n_top = max(1, int(round(fraction * len(scores))))
    top = np.argsort(-np.asarray(scores), kind="stable")[:n_top]
    return float(np.asarray(is_error, dtype=bool)[top].mean())


class MislabelAudit:
    r"""Find training tweets whose label is probably wrong.

    Computes the three signals described in :mod:`captum_ext.influence.audit` on one cached
    feature matrix and ranks the tweets by any of them or by their combination.

    Args:
        adapter (TextClassifierAdapter): The model fine-tuned on ``train_dataset``.
        train_dataset (TextDataset): The training tweets and their (noisy) labels.
        k (int, optional): Neighbours of the kNN signal. Default: 10
        metric (str, optional): kNN metric. Default: ``"cosine"``
        l2 (float, optional): L2 penalty of the representer fit and the cross-fitted heads.
            Default: 1e-3
        n_folds (int, optional): Folds of the cross-fitted heads. Default: 5
        random_state (int, optional): Seeds the folds. Default: 0
        cache_dir (str or Path, optional): Feature cache folder. Default: None (user cache).
        features (CachedFeatures, optional): Training features computed before. Default: None
        show_progress (bool, optional): Progress bar while computing features. Default: False

    Attributes (after :meth:`fit`):
        scores_ (dict): ``{method: (n_train,) scores}`` for every method in
            :data:`AUDIT_METHODS`, larger = more suspicious.
        oos_probs_ (np.ndarray): ``(n_train, C)`` cross-fitted out-of-sample probabilities.
        model_probs_ (np.ndarray): ``(n_train, C)`` the model's own probabilities.
        neighbours_ (np.ndarray): ``(n_train, k)`` kNN indices.

    Examples::

        >>> from adapters import TextClassifierAdapter
        >>> from captum_ext.data import default_data_path, load_sentiment140
        >>> from captum_ext.influence import MislabelAudit
        >>> adapter = TextClassifierAdapter.from_pretrained()  # doctest: +SKIP
        >>> train = load_sentiment140(default_data_path()).sample(2000, seed=0)  # doctest: +SKIP
        >>> audit = MislabelAudit(adapter, train).fit()  # doctest: +SKIP
        >>> audit.to_frame("combined", top=20)  # doctest: +SKIP
    """

    def __init__(
        self,
        adapter: TextClassifierAdapter,
        train_dataset: TextDataset,
        *,
        k: int = 10,
        metric: str = "cosine",
        l2: float = 1e-3,
        n_folds: int = 5,
        random_state: int = 0,
        cache_dir: str | os.PathLike[str] | None = None,
        features: CachedFeatures | None = None,
        show_progress: bool = False,
    ) -> None:
        self.representer = RepresenterPoints(
            adapter,
            train_dataset,
            target="labels",
            l2=l2,
            cache_dir=cache_dir,
            features=features,
            show_progress=show_progress,
        )
        self.knn = FeatureSimilarityKNN(
            adapter,
            train_dataset,
            metric=metric,  # type: ignore[arg-type]
            cache_dir=cache_dir,
            features=features,
            show_progress=show_progress,
        )
        self.adapter = adapter
        self.train_dataset = train_dataset
        self.k = k
        self.l2 = l2
        self.n_folds = n_folds
        self.random_state = random_state

    def fit(self, methods: tuple[str, ...] = AUDIT_METHODS) -> MislabelAudit:
        """Compute the signals (all by default); returns ``self``."""
        for m in methods:
            _check_method(m)
        want = set(methods)
        if "combined" in want:
            want |= {"representer", "knn", "out_of_sample"}
        labels = self.train_dataset.labels
        rows = np.arange(len(labels))
        self.representer.fit()
        feats = self.representer.train_features_
        self.knn.train_features_ = feats  # one feature matrix for every signal
        self.model_probs_ = feats.probs
        self.scores_: dict[str, np.ndarray] = {}
        if "representer" in want:
            self.alpha_ = self.representer.alpha_[rows, labels]
            self.scores_["representer"] = np.abs(self.alpha_)
        if "knn" in want:
            self.scores_["knn"], _, self.neighbours_ = self.knn.neighbour_label_disagreement(self.k)
        if "out_of_sample" in want:
            self.oos_probs_ = cross_fitted_probs(
                feats.features,
                labels,
                num_labels=self.adapter.num_labels,
                n_folds=self.n_folds,
                l2=self.l2,
                random_state=self.random_state,
            )
            self.scores_["out_of_sample"] = 1.0 - self.oos_probs_[rows, labels]
        if "combined" in want:
            self.scores_["combined"] = rank_average(
                self.scores_["representer"], self.scores_["knn"], self.scores_["out_of_sample"]
            )
        return self

    def ranking(self, method: AuditMethod = "combined") -> np.ndarray:
        """Training row indices, most suspicious first."""
        _check_method(method)
        if not hasattr(self, "scores_") or method not in self.scores_:
            self.fit((method,))
        return np.argsort(-self.scores_[method], kind="stable")

    def to_frame(self, method: AuditMethod = "combined", top: int | None = None) -> pd.DataFrame:
        """The ranked tweets with the evidence for each.

        Columns: ``rank``, ``index``, ``text``, ``label``, ``suggested`` (the other label most
        supported by the out-of-sample head, or the model), ``score`` (of ``method``), then each
        computed signal (``representer`` = :math:`|\\alpha|`, ``alpha`` signed, ``knn`` =
        weighted neighbour disagreement, ``out_of_sample`` = 1 - out-of-sample p(label)),
        ``model_p_label`` (the model's probability of the given label) and ``neighbours`` (the
        three nearest training tweets' indices).
        """
        import pandas as pd

        order = self.ranking(method)
        if top is not None:
            if isinstance(top, bool) or not isinstance(top, int) or top < 1:
                raise InputError(f"top must be a positive int, got {top!r}.")
            order = order[:top]
        labels = self.train_dataset.labels
        names = self.train_dataset.label_names
        probs = getattr(self, "oos_probs_", self.model_probs_)
        masked = probs.copy()
        masked[np.arange(len(labels)), labels] = -1.0
        suggested = masked.argmax(axis=1)
        frame: dict[str, Any] = {
            "rank": np.arange(1, len(order) + 1),
            "index": order,
            "text": [self.train_dataset.texts[i] for i in order],
            "label": [names[int(labels[i])] for i in order],
            "suggested": [names[int(suggested[i])] for i in order],
            "score": self.scores_[method][order],
        }
        for name in ("representer", "knn", "out_of_sample"):
            if name in self.scores_:
                frame[name] = self.scores_[name][order]
        if hasattr(self, "alpha_"):
            frame["alpha"] = self.alpha_[order]
        frame["model_p_label"] = self.model_probs_[order, labels[order]]
        if hasattr(self, "neighbours_"):
            frame["neighbours"] = [self.neighbours_[i, :3].tolist() for i in order]
        return pd.DataFrame(frame)


def _check_method(method: str) -> None:
    if method not in AUDIT_METHODS:
        raise InputError(f"method must be one of {', '.join(AUDIT_METHODS)}, got {method!r}.")
