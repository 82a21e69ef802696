r"""Interpretable surrogate models for LIME, implementing Captum's ``Model`` interface.

:class:`LinearSurrogate` fits a weighted linear model: least squares, ridge (official LIME's
default, ``alpha=1``), or lasso / elastic net with the regularisation chosen along the path by an
information criterion (BIC by default) among the solutions with at least one non-zero weight, so
they select features instead of returning all zeros (Captum's ``SkLearnLasso(alpha=0.01)`` does on
text, Captum issues #679 and #1008). Official LIME's feature-selection modes (``"none"``,
``"forward_selection"``, ``"highest_weights"``, ``"lasso_path"``, ``"auto"``) run before the fit,
through official LIME's own code. :class:`TreeSurrogate` fits a weighted regression tree and
explains the original text by its decision path.

Both accept Captum's training format (``fit(DataLoader)`` of ``(x, y, w)`` batches, as
``captum.attr.LimeBase`` passes it), so they also serve ``captum.attr.Lime(...,
interpretable_model=LinearSurrogate("lasso"))``; and numpy arrays through ``fit_arrays``.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from captum._utils.models.model import Model
from torch import Tensor
from torch.utils.data import DataLoader

from captum_ext.errors import InputError
from captum_ext.validation import check_scalar

__all__ = [
    "FEATURE_SELECTIONS",
    "exchangeable_projection",
    "LINEAR_METHODS",
    "LinearSurrogate",
    "TreeSurrogate",
    "make_surrogate",
    "weighted_r2",
]

LINEAR_METHODS: tuple[str, ...] = ("ols", "ridge", "lasso", "elastic_net")
FEATURE_SELECTIONS: tuple[str, ...] = (
    "none",
    "forward_selection",
    "highest_weights",
    "lasso_path",
    "auto",
)
_CRITERIA = ("bic", "aic")


def weighted_r2(y: np.ndarray, pred: np.ndarray, sample_weight: np.ndarray | None = None) -> float:
    """Weighted coefficient of determination (scikit-learn's ``r2_score`` with weights).

    ``nan`` when ``y`` is constant (R² is undefined there).
    """
    y = np.asarray(y, dtype=np.float64)
    pred = np.asarray(pred, dtype=np.float64)
    w = np.ones_like(y) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    mean = np.average(y, weights=w)
    total = float(np.sum(w * (y - mean) ** 2))
    if total <= 1e-300:
        return float("nan")
    return 1.0 - float(np.sum(w * (y - pred) ** 2)) / total


def exchangeable_projection(
    level_mass: np.ndarray, alpha: float = 0.0
) -> tuple[np.ndarray, np.ndarray, list[tuple[int, int]]]:
    """Closed-form weighted projection of the features and their pairwise products onto
    ``(1, z)`` under an exchangeable design.

    The design puts total weight ``level_mass[j]`` on the masks keeping ``j`` of ``d`` features,
    spread evenly over those masks (official LIME's neighbourhood, in expectation). Weighted
    least squares of any ``g(z) = a + b·z + Σ c_jk z_j z_k`` on ``(1, z)`` (ridge ``alpha`` on
    ``z``) then has the solution ``L @ [a, b] + P @ c``, computed from four moments of the design
    without enumerating its ``2**d`` masks.

    Returns:
        ``(L, P, pairs)``: ``L`` of shape ``(d + 1, d + 1)``, ``P`` of shape
        ``(d + 1, len(pairs))`` (intercept first), and the pairs ``(j, k)``, ``j < k``.
    """
    mass = np.asarray(level_mass, dtype=np.float64)
    d = len(mass) - 1
    j = np.arange(d + 1, dtype=np.float64)
    s0 = mass.sum()
    s1 = float((mass * j / d).sum())  # Σ w z_i
    s2 = float((mass * j * (j - 1)).sum() / (d * (d - 1))) if d > 1 else 0.0  # Σ w z_i z_k
    s3 = float((mass * j * (j - 1) * (j - 2)).sum() / (d * (d - 1) * (d - 2))) if d > 2 else 0.0
    gram = np.full((d + 1, d + 1), s2)
    gram[0, :] = s1
    gram[:, 0] = s1
    gram[0, 0] = s0
    diag = np.arange(1, d + 1)
    gram[diag, diag] = s1
    ridge = gram.copy()
    ridge[diag, diag] += alpha
    pairs = [(a, b) for a in range(d) for b in range(a + 1, d)]
    cross = np.full((d + 1, len(pairs)), s3)
    cross[0, :] = s2
    for p, (a, b) in enumerate(pairs):
        cross[1 + a, p] = s2
        cross[1 + b, p] = s2
    solve = np.linalg.pinv(ridge)
    return solve @ gram, solve @ cross, pairs


def _arrays_from_loader(train_data: DataLoader) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    xs, ys, ws = [], [], []
    for batch in train_data:
        if len(batch) == 3:
            x, y, w = batch
        elif len(batch) == 2:
            (x, y), w = batch, None
        else:
            raise InputError(
                f"train_data batches must be (x, y) or (x, y, w), got {len(batch)} tensors."
            )
        xs.append(np.asarray(x.detach().cpu().numpy(), dtype=np.float64))
        ys.append(np.asarray(y.detach().cpu().numpy(), dtype=np.float64).reshape(-1))
        n = xs[-1].shape[0]
        ws.append(
            np.ones(n) if w is None else np.asarray(w.detach().cpu().numpy(), np.float64).ravel()
        )
    if not xs:
        raise InputError("train_data is empty: give at least one (x, y, w) batch.")
    return np.concatenate(xs), np.concatenate(ys), np.concatenate(ws)


def _check_xyw(
    X: np.ndarray, y: np.ndarray, sample_weight: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2:
        raise InputError(f"X must be 2-D (n_samples, n_features), got shape {X.shape}.")
    y = np.asarray(y, dtype=np.float64).reshape(-1)
    if y.shape[0] != X.shape[0]:
        raise InputError(f"X has {X.shape[0]} rows but y has {y.shape[0]} values.")
    w = np.ones(X.shape[0]) if sample_weight is None else np.asarray(sample_weight, np.float64)
    w = w.reshape(-1)
    if w.shape[0] != X.shape[0] or np.any(w < 0):
        raise InputError("sample_weight must be non-negative, one value per row of X.")
    return X, y, w


class _Surrogate(Model):
    """Shared Captum plumbing: ``fit(DataLoader)``, ``__call__`` on tensors, ``score``."""

    feature_names_: list[str] | None = None

    def fit(self, train_data: DataLoader, **kwargs: object) -> dict[str, float]:
        """Captum's entry point: fit on the ``(x, y, w)`` batches of ``train_data``.

        Returns:
            ``{"score": weighted R² on the training data}``.
        """
        X, y, w = _arrays_from_loader(train_data)
        self.fit_arrays(X, y, w)
        return {"score": self.score(X, y, w)}

    def fit_arrays(
        self, X: np.ndarray, y: np.ndarray, sample_weight: np.ndarray | None = None
    ) -> _Surrogate:
        raise NotImplementedError

    def predict(self, X: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def score(self, X: np.ndarray, y: np.ndarray, sample_weight: np.ndarray | None = None) -> float:
        """Weighted R² of the surrogate on ``(X, y)`` (official LIME's ``score``)."""
        X, y, w = _check_xyw(X, y, sample_weight)
        return weighted_r2(y, self.predict(X), w)

    def __call__(self, x: Tensor) -> Tensor:  # type: ignore[override]
        """Predict on a batch of interpretable inputs (a tensor), as Captum's ``Model`` does."""
        arr = x.detach().cpu().numpy() if isinstance(x, Tensor) else np.asarray(x)
        pred = self.predict(np.asarray(arr, dtype=np.float64).reshape(arr.shape[0], -1))
        return torch.as_tensor(pred, dtype=torch.float32)


class LinearSurrogate(_Surrogate):
    r"""A weighted linear surrogate: least squares, ridge, lasso or elastic net.

    Lasso and elastic net choose their regularisation along the regularisation path by an
    information criterion computed on the kernel-weighted data, among the solutions with at least
    one non-zero weight: they select features but are never all zero (unless the output does not
    change at all). Official LIME's feature selection runs first when ``feature_selection`` is not
    ``"none"``; weights of features it drops are 0.

    Args:
        method (str, optional): ``"ridge"``, ``"ols"``, ``"lasso"`` or ``"elastic_net"``.
            Default: ``"ridge"``
        alpha (float, optional): ridge penalty (official LIME: ``Ridge(alpha=1)``). For lasso and
            elastic net, a fixed penalty (scikit-learn's scale) instead of the criterion.
            Default: 1.0 for ridge, None (chosen by ``criterion``) for lasso and elastic net.
        l1_ratio (float, optional): elastic net mixing, 1 = lasso. Default: 0.5
        criterion (str, optional): ``"bic"`` or ``"aic"`` for choosing lasso/elastic-net
            regularisation. Default: ``"bic"``
        feature_selection (str, optional): official LIME's mode: ``"none"``,
            ``"forward_selection"``, ``"highest_weights"``, ``"lasso_path"`` or ``"auto"``
            (forward selection up to 6 features, else highest weights). Default: ``"none"``
        num_features (int, optional): features kept by ``feature_selection``. Default: 10
        random_state (int, optional): passed to official LIME's selection. Default: None

    Attributes (after fitting):
        coef_ (ndarray): one weight per feature (0 for features not selected).
        intercept_ (float): the surrogate's intercept.
        selected_ (ndarray): indices of the features the model used.
        alpha_ (float): the regularisation actually used.

    Examples::

        >>> import numpy as np
        >>> from captum_ext.attr import LinearSurrogate
        >>> X = np.array([[1, 1], [1, 0], [0, 1], [0, 0], [1, 1]], dtype=float)
        >>> y = 0.5 * X[:, 0] - 0.25 * X[:, 1] + 0.1
        >>> LinearSurrogate("ols").fit_arrays(X, y).coef_.round(3)
        array([ 0.5 , -0.25])
    """

    def __init__(
        self,
        method: str = "ridge",
        *,
        alpha: float | None = None,
        l1_ratio: float = 0.5,
        criterion: str = "bic",
        feature_selection: str = "none",
        num_features: int = 10,
        random_state: int | np.random.RandomState | None = None,
    ) -> None:
        self.method = method
        self.alpha = alpha
        self.l1_ratio = l1_ratio
        self.criterion = criterion
        self.feature_selection = feature_selection
        self.num_features = num_features
        self.random_state = random_state

    @property
    def name(self) -> str:
        return self.method

    def _validate(self) -> None:
        if self.method not in LINEAR_METHODS:
            raise InputError(
                f"method must be one of {', '.join(LINEAR_METHODS)}, got {self.method!r}."
            )
        if self.feature_selection not in FEATURE_SELECTIONS:
            raise InputError(
                f"feature_selection must be one of {', '.join(FEATURE_SELECTIONS)}, "
                f"got {self.feature_selection!r}."
            )
        if self.criterion not in _CRITERIA:
            raise InputError(f"criterion must be 'bic' or 'aic', got {self.criterion!r}.")
        check_scalar(self.alpha, "alpha", min_val=0, allow_none=True)
        check_scalar(self.l1_ratio, "l1_ratio", min_val=0, max_val=1, include_boundaries="right")
        check_scalar(self.num_features, "num_features", min_val=1)

    def fit_arrays(
        self, X: np.ndarray, y: np.ndarray, sample_weight: np.ndarray | None = None
    ) -> LinearSurrogate:
        """Fit on arrays: ``X`` (n, d) interpretable inputs, ``y`` (n,), weights (n,).

        Returns:
            self
        """
        self._validate()
        X, y, w = _check_xyw(X, y, sample_weight)
        d = X.shape[1]
        self.residuals_: np.ndarray | None = None
        self.selected_ = self._select(X, y, w)
        Xs = X[:, self.selected_]
        coef_s, intercept, alpha = self._fit_selected(Xs, y, w)
        self.coef_ = np.zeros(d)
        self.coef_[self.selected_] = coef_s
        self.intercept_ = float(intercept)
        self.alpha_ = float(alpha)
        self.n_features_in_ = d
        return self

    def fit_greg(
        self,
        X: np.ndarray,
        y: np.ndarray,
        sample_weight: np.ndarray,
        level_mass: np.ndarray,
        *,
        pair_penalty: float = 1.0,
    ) -> LinearSurrogate:
        """Fit the same ridge / least-squares surrogate with a lower-variance estimator.

        A generalised regression (GREG) estimator from survey sampling: fit a working model with
        all pairwise interactions, ``g(z) = a + b·z + Σ c_jk z_j z_k`` (weighted, ridge
        ``pair_penalty`` on ``c``), on the neighbourhood ``(X, y, sample_weight)``, then return
        the exact weighted linear fit of ``g`` under the neighbourhood's design
        (``level_mass``, see :func:`exchangeable_projection`). It estimates the same surrogate as
        an ordinary fit (their difference vanishes as the neighbourhood grows) with much less
        variance when word interactions carry most of the model's non-linearity. ``X`` must be
        the base-feature masks (no n-grams); feature selection is not supported here.

        Returns:
            self, with ``residuals_`` (``y`` minus the working model) for the intervals.
        """
        self._validate()
        if self.method not in ("ridge", "ols") or self.feature_selection != "none":
            raise InputError(
                "fit_greg needs method 'ridge' or 'ols' without feature selection, got "
                f"method={self.method!r}, feature_selection={self.feature_selection!r}."
            )
        X, y, w = _check_xyw(X, y, sample_weight)
        n, d = X.shape
        alpha = 0.0 if self.method == "ols" else (1.0 if self.alpha is None else float(self.alpha))
        lin, cross, pairs = exchangeable_projection(level_mass, alpha)
        if pairs:
            a_idx = np.array([a for a, _ in pairs])
            b_idx = np.array([b for _, b in pairs])
            design = np.hstack([np.ones((n, 1)), X, X[:, a_idx] * X[:, b_idx]])
        else:
            design = np.hstack([np.ones((n, 1)), X])
        penalty = np.concatenate([[0.0], np.full(d, 1e-10), np.full(len(pairs), pair_penalty)])
        gram = design.T @ (design * w[:, None]) + np.diag(penalty)
        coef = np.linalg.lstsq(gram, design.T @ (w * y), rcond=None)[0]
        full = lin @ coef[: d + 1] + cross @ coef[d + 1 :]
        self.selected_ = np.arange(d)
        self.coef_ = np.asarray(full[1:], dtype=np.float64)
        self.intercept_ = float(full[0])
        self.alpha_ = alpha
        self.n_features_in_ = d
        self.residuals_ = y - design @ coef
        return self

    def _select(self, X: np.ndarray, y: np.ndarray, w: np.ndarray) -> np.ndarray:
        d = X.shape[1]
        if self.feature_selection == "none" or d == 0:
            return np.arange(d)
        from lime.lime_base import LimeBase as OfficialLimeBase

        base = OfficialLimeBase(kernel_fn=None, random_state=self.random_state)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            used = base.feature_selection(X, y, w, self.num_features, self.feature_selection)
        return np.sort(np.asarray(used, dtype=np.int64).reshape(-1))

    def _fit_selected(
        self, X: np.ndarray, y: np.ndarray, w: np.ndarray
    ) -> tuple[np.ndarray, float, float]:
        from sklearn.linear_model import LinearRegression, Ridge

        if X.shape[1] == 0:
            return np.zeros(0), float(np.average(y, weights=w)), 0.0
        if self.method == "ridge":
            alpha = 1.0 if self.alpha is None else float(self.alpha)
            m = Ridge(alpha=alpha, fit_intercept=True).fit(X, y, sample_weight=w)
            return np.asarray(m.coef_, dtype=np.float64), float(m.intercept_), alpha
        if self.method == "ols":
            m = LinearRegression().fit(X, y, sample_weight=w)
            return np.asarray(m.coef_, dtype=np.float64), float(m.intercept_), 0.0
        return self._fit_sparse(X, y, w)

    def _fit_sparse(
        self, X: np.ndarray, y: np.ndarray, w: np.ndarray
    ) -> tuple[np.ndarray, float, float]:
        """Lasso / elastic net on the kernel-weighted, centred data; alpha by BIC/AIC on the path."""
        from sklearn.linear_model import enet_path

        l1_ratio = 1.0 if self.method == "lasso" else float(self.l1_ratio)
        sw = w / w.sum() * len(w)  # weights normalised to mean 1: n stays the sample count
        x_mean = np.average(X, axis=0, weights=sw)
        y_mean = float(np.average(y, weights=sw))
        root = np.sqrt(sw)[:, None]
        Xc = (X - x_mean) * root
        yc = (y - y_mean) * root[:, 0]
        n = X.shape[0]
        if float(yc @ yc) <= 1e-24:  # constant output: nothing to explain
            return np.zeros(X.shape[1]), y_mean, 0.0
        if self.alpha is not None:
            alphas = np.array([float(self.alpha)])
        else:
            alpha_max = float(np.max(np.abs(Xc.T @ yc))) / (n * l1_ratio)
            if alpha_max <= 0:
                return np.zeros(X.shape[1]), y_mean, 0.0
            alphas = alpha_max * np.logspace(0, -4, 60)[1:]  # below alpha_max: never all zero
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            alphas_out, coefs, _ = enet_path(
                Xc, yc, l1_ratio=l1_ratio, alphas=alphas, max_iter=5000, tol=1e-6
            )
        coefs = np.asarray(coefs).reshape(X.shape[1], -1)
        penalty = np.log(n) if self.criterion == "bic" else 2.0
        best, best_ic = 0, np.inf
        for k in range(coefs.shape[1]):
            df = int(np.count_nonzero(coefs[:, k]))
            if df == 0 and self.alpha is None:
                continue
            rss = float(np.sum((yc - Xc @ coefs[:, k]) ** 2))
            ic = n * np.log(max(rss, 1e-300) / n) + penalty * df
            if ic < best_ic:
                best, best_ic = k, ic
        coef = coefs[:, best]
        return coef, y_mean - float(x_mean @ coef), float(alphas_out[best])

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Surrogate prediction for interpretable inputs ``X`` (n, d)."""
        X = np.asarray(X, dtype=np.float64)
        return X @ self.coef_ + self.intercept_

    def representation(self) -> Tensor:
        """Captum's representation of a linear model: the weights, shape ``(1, n_features)``."""
        return torch.as_tensor(self.coef_, dtype=torch.float32).reshape(1, -1)

    def bias(self) -> Tensor:
        """The intercept as a one-element tensor (as Captum's ``LinearModel.bias``)."""
        return torch.tensor([self.intercept_], dtype=torch.float32)

    def confidence_intervals(
        self, X: np.ndarray, y: np.ndarray, sample_weight: np.ndarray, level: float = 0.95
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Approximate confidence intervals of the weights (sandwich / HC0 standard errors).

        For ridge and least squares on the selected features; lasso and elastic net use the
        same formula on their active set with the penalty ignored (post-selection, approximate).

        Returns:
            ``(low, high, standard_error)``, one value per feature (0 for unselected features).
        """
        from scipy.stats import norm

        X, y, w = _check_xyw(X, y, sample_weight)
        d = X.shape[1]
        se = np.zeros(d)
        cols = self.selected_ if self.method in ("ridge", "ols") else np.flatnonzero(self.coef_)
        if len(cols):
            Xs = X[:, cols]
            x_mean = np.average(Xs, axis=0, weights=w)
            Xc = Xs - x_mean
            resid = getattr(self, "residuals_", None)
            if resid is None or len(resid) != len(y):
                resid = y - self.predict(X)
            ridge = self.alpha_ if self.method == "ridge" else 0.0
            A = Xc.T @ (Xc * w[:, None]) + ridge * np.eye(len(cols))
            A_inv = np.linalg.pinv(A)
            meat = (Xc * (w * resid)[:, None]).T @ (Xc * (w * resid)[:, None])
            cov = A_inv @ meat @ A_inv
            se[cols] = np.sqrt(np.clip(np.diag(cov), 0, None))
        z = float(norm.ppf(0.5 + level / 2))
        return self.coef_ - z * se, self.coef_ + z * se, se


class TreeSurrogate(_Surrogate):
    r"""A weighted regression tree over the interpretable features.

    The tree captures interactions ("contains A and B") that a linear surrogate cannot. Its
    signed word scores are the contributions along the decision path of the original text (how
    much each split on a feature moved the prediction, Saabas' decomposition): they sum, with the
    root's value, to the tree's prediction for the original text. Impurity importances, a text
    dump and a plot are available too.

    Args:
        max_depth (int, optional): depth of the tree. Default: 4
        min_samples_leaf (int, optional): smallest leaf. Default: 5
        random_state (int, optional): scikit-learn's tie-breaking seed. Default: 0

    Examples::

        >>> import numpy as np
        >>> from captum_ext.attr import TreeSurrogate
        >>> X = np.array([[a, b, c] for a in (0, 1) for b in (0, 1) for c in (0, 1)] * 3, float)
        >>> y = X[:, 0] * X[:, 1]  # "contains A and B"
        >>> tree = TreeSurrogate(max_depth=2, min_samples_leaf=1).fit_arrays(X, y)
        >>> tree.path_contributions(np.ones(3)).round(2)
        array([0.5 , 0.25, 0.  ])
    """

    def __init__(
        self, max_depth: int | None = 4, *, min_samples_leaf: int = 5, random_state: int = 0
    ) -> None:
        self.max_depth = max_depth
        self.min_samples_leaf = min_samples_leaf
        self.random_state = random_state

    @property
    def name(self) -> str:
        return "tree"

    def fit_arrays(
        self, X: np.ndarray, y: np.ndarray, sample_weight: np.ndarray | None = None
    ) -> TreeSurrogate:
        """Fit a ``DecisionTreeRegressor`` with the kernel weights. Returns self."""
        from sklearn.tree import DecisionTreeRegressor

        check_scalar(self.max_depth, "max_depth", min_val=1, allow_none=True)
        X, y, w = _check_xyw(X, y, sample_weight)
        self.tree_model_ = DecisionTreeRegressor(
            max_depth=self.max_depth,
            min_samples_leaf=self.min_samples_leaf,
            random_state=self.random_state,
        ).fit(X, y, sample_weight=w)
        self.n_features_in_ = X.shape[1]
        self.feature_importances_ = np.asarray(
            self.tree_model_.feature_importances_, dtype=np.float64
        )
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.tree_model_.predict(np.asarray(X, dtype=np.float64))

    def representation(self) -> Tensor:
        """The tree's impurity-based feature importances, shape ``(1, n_features)``."""
        return torch.as_tensor(self.feature_importances_, dtype=torch.float32).reshape(1, -1)

    @property
    def intercept_(self) -> float:
        """The root's (weighted mean) value."""
        return float(self.tree_model_.tree_.value[0].ravel()[0])

    def decision_path(
        self, x: np.ndarray, feature_names: Sequence[str] | None = None
    ) -> list[dict[str, Any]]:
        """The splits the input ``x`` (one interpretable row) passes, root to leaf.

        Returns:
            one dict a split: ``feature`` (index), ``name``, ``present`` (the row's side),
            ``value_before`` and ``value_after`` (node values), and ``leaf`` value at the end.
        """
        t = self.tree_model_.tree_
        x = np.asarray(x, dtype=np.float64).reshape(-1)
        node, steps = 0, []
        while t.children_left[node] != -1:
            f = int(t.feature[node])
            go_left = x[f] <= t.threshold[node]
            child = t.children_left[node] if go_left else t.children_right[node]
            steps.append(
                {
                    "feature": f,
                    "name": feature_names[f] if feature_names is not None else str(f),
                    "present": bool(x[f] > t.threshold[node]),
                    "value_before": float(t.value[node].ravel()[0]),
                    "value_after": float(t.value[child].ravel()[0]),
                }
            )
            node = child
        return steps

    def path_contributions(self, x: np.ndarray) -> np.ndarray:
        """Signed contribution of each feature along ``x``'s decision path (sums to pred - root)."""
        out = np.zeros(self.n_features_in_)
        for step in self.decision_path(x):
            out[step["feature"]] += step["value_after"] - step["value_before"]
        return out

    def export_text(self, feature_names: Sequence[str] | None = None, decimals: int = 3) -> str:
        """A readable dump of the tree (scikit-learn's ``export_text``), one feature a split."""
        from sklearn.tree import export_text

        names = None if feature_names is None else [str(n) for n in feature_names]
        return export_text(self.tree_model_, feature_names=names, decimals=decimals)

    def plot(self, feature_names: Sequence[str] | None = None, ax: Any = None, **kwargs: Any):
        """Draw the tree with matplotlib (scikit-learn's ``plot_tree``); returns the axes."""
        import matplotlib.pyplot as plt
        from sklearn.tree import plot_tree

        if ax is None:
            _, ax = plt.subplots(figsize=(10, 6))
        names = None if feature_names is None else [str(n) for n in feature_names]
        plot_tree(
            self.tree_model_, feature_names=names, filled=True, impurity=False, ax=ax, **kwargs
        )
        return ax


def make_surrogate(name: str, **kwargs: Any) -> LinearSurrogate | TreeSurrogate:
    """A surrogate by name: ``"ridge"``, ``"ols"``, ``"lasso"``, ``"elastic_net"`` or ``"tree"``.

    Examples::

        >>> from captum_ext.attr.surrogates import make_surrogate
        >>> make_surrogate("lasso").method
        'lasso'
    """
    if name == "tree":
        return TreeSurrogate(**kwargs)
    if name in LINEAR_METHODS:
        return LinearSurrogate(name, **kwargs)
    raise InputError(
        f"surrogate must be one of {', '.join((*LINEAR_METHODS, 'tree', 'auto'))} or a "
        f"captum Model, got {name!r}."
    )
