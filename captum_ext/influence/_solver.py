"""The convex fit shared by representer points and the audit's cross-fitted heads: an
L2-regularised softmax (multinomial logistic) layer on fixed features, full-batch L-BFGS."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from captum_ext.errors import InputError
from captum_ext.validation import check_scalar

__all__ = ["SolverInfo", "add_intercept", "fit_l2_softmax", "l2_softmax_grad"]


@dataclass(frozen=True)
class SolverInfo:
    """How the fit went: iterations, final objective, max |gradient|, seconds, convergence."""

    n_iter: int
    objective: float
    grad_max: float
    seconds: float
    converged: bool
    message: str


def add_intercept(features: np.ndarray) -> np.ndarray:
    """``features`` with a constant 1 column appended, float64 (the bias becomes a weight)."""
    x = np.asarray(features, dtype=np.float64)
    return np.concatenate([x, np.ones((x.shape[0], 1))], axis=1)


def _objective(
    w: np.ndarray, x: np.ndarray, y: np.ndarray, l2: float, sample_weight: np.ndarray | None
) -> tuple[float, np.ndarray]:
    n, d = x.shape
    c = y.shape[1]
    weight = w.reshape(c, d)
    z = x @ weight.T
    z_max = z.max(axis=1, keepdims=True)
    e = np.exp(z - z_max)
    s = e.sum(axis=1, keepdims=True)
    lse = np.log(s) + z_max
    q = e / s
    # soft-target cross-entropy: sum_c y_c (lse - z_c); targets need not sum to one exactly
    per_row = (y * (lse - z)).sum(axis=1)
    r = q * y.sum(axis=1, keepdims=True) - y
    if sample_weight is None:
        loss = per_row.mean()
        grad = (r.T @ x) / n
    else:
        loss = float(sample_weight @ per_row) / n
        grad = ((r * sample_weight[:, None]).T @ x) / n
    loss += l2 * float((weight * weight).sum())
    grad += 2.0 * l2 * weight
    return float(loss), grad.reshape(-1)


def _hess_vec_fn(
    w: np.ndarray, x: np.ndarray, y: np.ndarray, l2: float, sample_weight: np.ndarray | None
):
    """A function ``v -> H v`` for the Hessian of the objective at ``w`` (flat vectors)."""
    n, d = x.shape
    c = y.shape[1]
    z = x @ w.reshape(c, d).T
    q = np.exp(z - z.max(axis=1, keepdims=True))
    q /= q.sum(axis=1, keepdims=True)
    row = y.sum(axis=1, keepdims=True)
    if sample_weight is not None:
        row = row * sample_weight[:, None]

    def hv(v: np.ndarray) -> np.ndarray:
        vv = v.reshape(c, d)
        u = x @ vv.T  # (n, C) directional change of the logits
        s = q * (u - (q * u).sum(axis=1, keepdims=True)) * row
        return ((s.T @ x) / n + 2.0 * l2 * vv).reshape(-1)

    return hv


def _newton_polish(
    w: np.ndarray,
    args: tuple,
    grad: np.ndarray,
    target: float,
    steps: int = 4,
) -> tuple[np.ndarray, float, np.ndarray, int]:
    """A few Newton steps (conjugate-gradient solves with Hessian-vector products) from a point
    near the minimum: they converge quadratically where line searches on the objective's value
    stall at float precision. A step is kept only if it shrinks the gradient."""
    loss = float("nan")
    done = 0
    for _ in range(steps):
        if float(np.abs(grad).max()) <= target:
            break
        hv = _hess_vec_fn(w, *args)
        step = _conjugate_gradient(hv, grad, rtol=1e-14, max_iter=500)
        w_new = w - step
        loss_new, grad_new = _objective(w_new, *args)
        if not float(np.abs(grad_new).max()) < float(np.abs(grad).max()):
            break
        w, loss, grad = w_new, loss_new, grad_new
        done += 1
    return w, loss, grad, done


def _conjugate_gradient(hv, b: np.ndarray, rtol: float, max_iter: int) -> np.ndarray:
    xk = np.zeros_like(b)
    r = b.copy()
    p = r.copy()
    rs = float(r @ r)
    stop = (rtol * float(np.sqrt(b @ b))) ** 2
    for _ in range(max_iter):
        if rs <= stop:
            break
        hp = hv(p)
        step = rs / float(p @ hp)
        xk += step * p
        r -= step * hp
        rs_new = float(r @ r)
        p = r + (rs_new / rs) * p
        rs = rs_new
    return xk


def l2_softmax_grad(
    weight: np.ndarray, x: np.ndarray, y: np.ndarray, l2: float
) -> tuple[float, np.ndarray]:
    """Objective and gradient ``(C, D)`` of ``mean_i CE(softmax(W x_i), y_i) + l2 ||W||^2``."""
    loss, grad = _objective(weight.reshape(-1), x, y, l2, None)
    return loss, grad.reshape(weight.shape)


def fit_l2_softmax(
    x: np.ndarray,
    y: np.ndarray,
    l2: float,
    *,
    init: np.ndarray | None = None,
    tol: float = 1e-6,
    max_iter: int = 5000,
    sample_weight: np.ndarray | None = None,
    num_threads: int | None = 1,
) -> tuple[np.ndarray, SolverInfo]:
    r"""Minimise ``(1/n) sum_i CE(softmax(W x_i), y_i) + l2 ||W||_F^2`` by full-batch L-BFGS.

    The stopping rule is the representer identity itself: at the minimum
    ``W = sum_i alpha_i x_i^T`` and the gradient is ``2 l2 (W - sum_i alpha_i x_i^T)``, so the fit
    stops when ``max |gradient| / (2 l2) <= tol * max |W|``, i.e. when the representer
    decomposition reproduces the weights to a relative error ``tol``. L-BFGS is restarted from
    its last point if it stops early while iterations remain, and finished by a few Newton steps
    (conjugate gradients on Hessian-vector products) where line searches stall at float
    precision.

    Args:
        x (np.ndarray): ``(n, D)`` features (float64; append a 1 column for a bias).
        y (np.ndarray): ``(n, C)`` targets: one-hot labels or probabilities.
        l2 (float): Regularisation strength, > 0 (makes the problem strongly convex).
        init (np.ndarray, optional): ``(C, D)`` warm start. Default: zeros.
        tol (float, optional): Relative stationarity, see above. Default: 1e-6
        max_iter (int, optional): L-BFGS iterations at most, over all restarts. Default: 5000
        sample_weight (np.ndarray, optional): ``(n,)`` weights of the rows. Default: None
        num_threads (int, optional): BLAS threads during the fit; None leaves the setting alone.
            The products here are ``(n, D) x (D, C)`` with small ``C``: memory-bound, so more
            threads gain little, and OpenBLAS threads spin-wait (20x slower measured) when the
            cores are shared with other jobs. Default: 1

    Returns:
        tuple: ``(W, info)`` with ``W`` of shape ``(C, D)`` and a :class:`SolverInfo`.
    """
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=num_threads, user_api="blas"):
        return _fit(x, y, l2, init, tol, max_iter, sample_weight)


def _fit(
    x: np.ndarray,
    y: np.ndarray,
    l2: float,
    init: np.ndarray | None,
    tol: float,
    max_iter: int,
    sample_weight: np.ndarray | None,
) -> tuple[np.ndarray, SolverInfo]:
    from scipy.optimize import minimize

    check_scalar(
        l2, "l2", min_val=0, include_boundaries="neither", hint="(the representer theorem needs it)"
    )
    check_scalar(tol, "tol", min_val=0, include_boundaries="neither")
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    c, d = y.shape[1], x.shape[1]
    w = np.zeros(c * d) if init is None else np.asarray(init, dtype=np.float64).reshape(-1).copy()
    if w.shape != (c * d,):
        raise InputError(f"init must have shape ({c}, {d}), got {np.asarray(init).shape}.")
    args = (x, y, float(l2), sample_weight)
    t0 = time.perf_counter()
    n_iter = 0
    loss, grad = _objective(w, *args)
    message = "initial point is stationary"
    for _restart in range(20):
        scale = max(float(np.abs(w).max()), 1e-12)
        if float(np.abs(grad).max()) <= 2.0 * l2 * tol * scale or n_iter >= max_iter:
            break
        # absolute gradient target for this round, from the current weight scale
        gtol = 2.0 * l2 * tol * scale
        res = minimize(
            _objective,
            w,
            args=args,
            jac=True,
            method="L-BFGS-B",
            options={"maxiter": int(max_iter - n_iter), "gtol": gtol, "ftol": 0.0, "maxcor": 30},
        )
        n_iter += int(res.nit)
        message = str(res.message)
        if res.nit == 0 and float(res.fun) >= loss:
            break  # no progress possible (float precision reached)
        w, loss, grad = res.x, float(res.fun), res.jac
    scale = max(float(np.abs(w).max()), 1e-12)
    if float(np.abs(grad).max()) > 2.0 * l2 * tol * scale:
        w, new_loss, grad, n_newton = _newton_polish(w, args, grad, 2.0 * l2 * tol * scale)
        if n_newton:
            loss = new_loss
            message += f"; {n_newton} Newton step(s)"
    seconds = time.perf_counter() - t0
    grad_max = float(np.abs(grad).max())
    scale = max(float(np.abs(w).max()), 1e-12)
    info = SolverInfo(
        n_iter=n_iter,
        objective=loss,
        grad_max=grad_max,
        seconds=seconds,
        converged=grad_max <= 2.0 * l2 * tol * scale,
        message=message,
    )
    return w.reshape(c, d), info
