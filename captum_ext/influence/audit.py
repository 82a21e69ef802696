r"""Rank training tweets by how likely their label is wrong, from signals a user can inspect.

Sentiment140's labels come from emoticons, so many are wrong. Three signals computed on the
cached head-input features (no extra forward passes), and an opt-in fourth that fine-tunes
models on folds, each "larger = more suspicious":

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
* ``out_of_sample_finetuned`` (opt-in: ``cross_fit=K`` or ``finetuned_probs=``):
  :math:`1 - \hat p_{y_i}` where :math:`\hat p` comes from encoders *fine-tuned* on the other
  ``K - 1`` folds (:func:`~captum_ext.influence.cross_fit_finetune`), the K-fold
  cross-validated training of confident learning. The other signals all rest on the audited
  model, which memorised part of the label errors it was trained on; these models never saw the
  tweet. Costs ``K - 1`` fine-tunings of the whole set (cached on disk).

``combined`` averages the computed signals' percentile ranks (each in [0, 1]; the fourth one
when it is computed), so no single scale dominates and a tweet must look wrong to several
signals to rank first.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from captum_ext.errors import InputError
from captum_ext.influence._solver import add_intercept, fit_l2_softmax
from captum_ext.influence.features import CachedFeatures, softmax
from captum_ext.influence.knn import FeatureSimilarityKNN
from captum_ext.influence.representer import RepresenterPoints, _check_train
from captum_ext.validation import check_scalar

if TYPE_CHECKING:
    import pandas as pd

    from captum_ext.adapters import TextClassifierAdapter
    from captum_ext.data import TextDataset

__all__ = [
    "AUDIT_METHODS",
    "MislabelAudit",
    "cross_fitted_probs",
    "precision_at",
    "rank_average",
]

# The methods fit() always computes; the opt-in one (it fine-tunes cross_fit models) is
# computed only when enabled or asked for.
AUDIT_METHODS = ("representer", "knn", "out_of_sample", "combined")
_OPT_IN = "out_of_sample_finetuned"
_ALL_METHODS = (*AUDIT_METHODS[:-1], _OPT_IN, "combined")
_SIGNALS = _ALL_METHODS[:-1]
AuditMethod = Literal["representer", "knn", "out_of_sample", "out_of_sample_finetuned", "combined"]


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
    check_scalar(n_folds, "n_folds", int, min_val=2, max_val=n)
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

    Computes the signals described in :mod:`captum_ext.influence.audit` (three on one cached
    feature matrix; ``out_of_sample_finetuned`` from models fine-tuned on folds, when
    ``cross_fit`` or ``finetuned_probs`` is given) and ranks the tweets by any of them or by
    their combination.

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
        show_progress (bool, optional): Progress bars (features; fine-tuning with
            ``cross_fit``). Default: False
        cross_fit (int, optional): Enables ``out_of_sample_finetuned``: fine-tune the base
            encoder on ``cross_fit - 1`` of ``cross_fit`` folds, ``cross_fit`` times, with
            :func:`~captum_ext.influence.cross_fit_finetune` (seeded by ``random_state``;
            fold models cached in the user cache). Default: None (not computed)
        finetune_settings (dict, optional): Keyword arguments of
            :func:`~captum_ext.influence.cross_fit_finetune` (``base``, ``epochs``,
            ``max_length``, ``batch_size``, ``lr``, ``precision``, ``num_threads``,
            ``cache_dir``, ...); use the audited model's own fine-tuning settings. Default:
            None (``cross_fit_finetune``'s defaults, ``max_length`` of the adapter)
        finetuned_probs (np.ndarray, optional): ``(n_train, C)`` out-of-sample probabilities
            computed before (``cross_fit_finetune(...).probs``, or any ``pred_probs`` from
            models that did not see the row); enables ``out_of_sample_finetuned`` without
            fine-tuning. Default: None

    Attributes (after :meth:`fit`):
        scores_ (dict): ``{method: (n_train,) scores}`` for every method computed (those of
            :data:`AUDIT_METHODS`, and ``out_of_sample_finetuned`` when enabled), larger = more
            suspicious.
        oos_probs_ (np.ndarray): ``(n_train, C)`` cross-fitted out-of-sample probabilities.
        finetuned_probs_ (np.ndarray): ``(n_train, C)`` probabilities of the fold-fine-tuned
            models (with ``cross_fit`` or ``finetuned_probs``).
        crossfit_ (CrossFitResult): The folds and fold models (with ``cross_fit``).
        model_probs_ (np.ndarray): ``(n_train, C)`` the model's own probabilities.
        neighbours_ (np.ndarray): ``(n_train, k)`` kNN indices.

    Examples::

        >>> from captum_ext.adapters import TextClassifierAdapter
        >>> from captum_ext.data import default_data_path, load_sentiment140
        >>> from captum_ext.influence import MislabelAudit
        >>> adapter = TextClassifierAdapter.from_pretrained()  # doctest: +SKIP
        >>> train = load_sentiment140(default_data_path()).sample(500, seed=0)  # doctest: +SKIP
        >>> audit = MislabelAudit(adapter, train).fit()  # doctest: +SKIP
        >>> audit.to_frame("combined", top=3)[["index", "label", "suggested"]]  # doctest: +SKIP
           index     label suggested
        0    479  negative  positive
        1    214  positive  negative
        2    403  positive  negative
        >>> # + out-of-sample predictions of 4 encoders fine-tuned on 3/4 of the tweets each
        >>> audit = MislabelAudit(adapter, train, cross_fit=4,
        ...                       finetune_settings={"max_length": 64}).fit()  # doctest: +SKIP
        >>> audit.to_frame("out_of_sample_finetuned", top=3)[["index", "label", "suggested"]]  # doctest: +SKIP
           index     label suggested
        0    415  negative  positive
        1    113  negative  positive
        2     99  negative  positive
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
        cross_fit: int | None = None,
        finetune_settings: Mapping[str, Any] | None = None,
        finetuned_probs: np.ndarray | None = None,
    ) -> None:
        train_dataset = _check_train(train_dataset, adapter)  # labels = the model's classes
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
        self.show_progress = show_progress
        self.cross_fit = cross_fit
        self.finetune_settings = dict(finetune_settings or {})
        self.finetuned_probs = finetuned_probs

    @property
    def uses_finetuned(self) -> bool:
        """Whether ``out_of_sample_finetuned`` is enabled (``cross_fit`` or ``finetuned_probs``)."""
        return self.cross_fit is not None or self.finetuned_probs is not None

    def fit(self, methods: tuple[str, ...] | None = None) -> MislabelAudit:
        """Compute the signals; returns ``self``.

        Args:
            methods (tuple of str, optional): Methods to compute, of :data:`AUDIT_METHODS` and
                ``"out_of_sample_finetuned"``. Default: None, :data:`AUDIT_METHODS` and, when
                enabled (``cross_fit`` or ``finetuned_probs``), ``out_of_sample_finetuned``.
        """
        if methods is None:
            methods = tuple(m for m in _ALL_METHODS if m != _OPT_IN or self.uses_finetuned)
        for m in methods:
            _check_method(m)
        want = set(methods)
        if "combined" in want:
            want |= {"representer", "knn", "out_of_sample"}
            if self.uses_finetuned:
                want.add(_OPT_IN)
        if _OPT_IN in want and not self.uses_finetuned:
            raise InputError(
                f"method {_OPT_IN!r} needs cross_fit=K (fine-tunes K models on the folds; "
                "--cross-fit K on the command line) or finetuned_probs=<(n, C) array>."
            )
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
        if _OPT_IN in want:
            self.finetuned_probs_ = self._finetuned_probs()
            self.scores_[_OPT_IN] = 1.0 - self.finetuned_probs_[rows, labels]
        if "combined" in want:
            self.scores_["combined"] = rank_average(
                *(self.scores_[m] for m in _SIGNALS if m in self.scores_)
            )
        return self

    def _finetuned_probs(self) -> np.ndarray:
        n, c = len(self.train_dataset), self.adapter.num_labels
        if self.finetuned_probs is not None:
            probs = np.asarray(self.finetuned_probs, dtype=np.float64)
            if probs.shape != (n, c):
                raise InputError(
                    f"finetuned_probs must have shape (n_train, num_labels) = ({n}, {c}), got "
                    f"{probs.shape}."
                )
            if not np.isfinite(probs).all() or probs.min() < 0 or probs.max() > 1:
                raise InputError(
                    "finetuned_probs must be probabilities in [0, 1] (softmax outputs), got "
                    "values out of range or not finite."
                )
            return probs
        from captum_ext.influence.crossfit import cross_fit_finetune

        settings = {"max_length": self.adapter.max_length} | self.finetune_settings
        self.crossfit_ = cross_fit_finetune(
            self.train_dataset,
            n_folds=self.cross_fit,  # type: ignore[arg-type]
            random_state=self.random_state,
            show_progress=self.show_progress,
            **settings,
        )
        return self.crossfit_.probs

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
        weighted neighbour disagreement, ``out_of_sample`` = 1 - out-of-sample p(label) of the
        cross-fitted heads, ``out_of_sample_finetuned`` = the same from the fold-fine-tuned
        models), ``model_p_label`` (the model's probability of the given label) and
        ``neighbours`` (the three nearest training tweets' indices). ``suggested`` uses the
        fold-fine-tuned models when computed, else the heads, else the model.
        """
        import pandas as pd

        order = self.ranking(method)
        if top is not None:
            check_scalar(top, "top", int, min_val=1, expected="a positive int")
            order = order[:top]
        labels = self.train_dataset.labels
        names = self.train_dataset.label_names
        probs = getattr(self, "finetuned_probs_", getattr(self, "oos_probs_", self.model_probs_))
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
        for name in _SIGNALS:
            if name in self.scores_:
                frame[name] = self.scores_[name][order]
        if hasattr(self, "alpha_"):
            frame["alpha"] = self.alpha_[order]
        frame["model_p_label"] = self.model_probs_[order, labels[order]]
        if hasattr(self, "neighbours_"):
            frame["neighbours"] = [self.neighbours_[i, :3].tolist() for i in order]
        return pd.DataFrame(frame)


def _check_method(method: str) -> None:
    if method not in _ALL_METHODS:
        raise InputError(f"method must be one of {', '.join(_ALL_METHODS)}, got {method!r}.")
