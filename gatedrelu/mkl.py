r"""Multiple kernel learning (MKL) with masking kernels: from the NTK to the optimal kernel.

The MKL view (``shared/math.md``, "The MKL view"). For kernel weights :math:`\eta \ge 0` on the
activation patterns, ``K_eta = sum_i eta_i D_i X X^T D_i`` (:func:`gatedrelu.masking_kernel`) and

.. math::

    J(\eta) = \frac{\alpha}{2}\Big[\operatorname{tr}\, Y^\top (K_\eta + n\alpha I)^{-1} Y
              + \sum_i \eta_i\Big],
    \qquad \min_{\eta \ge 0} J(\eta) = F^\star ,

the optimum of the group lasso (GL). For fixed ``eta`` the inner problem is kernel ridge
regression: ``a = (K_eta + n alpha I)^{-1} Y``, fitted values ``K_eta a`` and group coefficients
``u_i = eta_i X^T D_i a`` of the equivalent gated ReLU network.

Fixed kernel shapes. A shape ``mu`` (``sum(mu) = 1``: the NTK weights ``c_i / m`` normalised, or
uniform ``1/P``) is turned into weights ``eta = t mu`` by the scale ``t`` that minimises the convex
function ``t -> J(t mu)`` (:func:`optimal_scale`); so ``alpha`` means the same objective for every
kernel, and ``J(t mu) >= F*`` for every shape and scale.

Iterative reweighting (:func:`irls`). From ``eta^0 = t mu``, repeat ``a = (K_eta + n alpha I)^{-1}
Y``, ``u_i = eta_i X^T D_i a``, ``eta_i <- sqrt(||u_i||^2 + eps)``. This is exact alternating
minimisation of ``G_eps(U, eta) = 1/(2n)||A(U) - Y||^2 + (alpha/2) sum_i ((||u_i||^2 + eps)/eta_i
+ eta_i)``, so with ``eps`` non-increasing both the smoothed kernel objective
``J_eps(eta) = J(eta) + (alpha/2) eps sum_i 1/eta_i`` and the smoothed group-lasso objective
``F_eps(U) = 1/(2n)||A(U) - Y||^2 + alpha sum_i sqrt(||u_i||^2 + eps)`` decrease at every step;
the unsmoothed ``F(U_k)`` decreases up to ``alpha sum_i (sqrt(||u_i||^2 + eps) - ||u_i||) <=
alpha P sqrt(eps)``. The iterates form a path of kernels from the NTK (lazy regime) to the
optimal MKL kernel (rich regime); every iterate is certified by the group-lasso duality gap of
its ``U``.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from functools import partial
from typing import Literal

import jax
import jax.numpy as jnp
import numpy as np
import scipy.linalg
import scipy.optimize
from sklearn.exceptions import ConvergenceWarning

from ._fista import dual_objective
from ._validation import (
    as_float_array,
    check_int,
    check_nonnegative,
    check_option,
    check_positive,
    check_targets,
)
from .group_lasso import TOL_FLOOR_EPS
from .kernels import masking_kernel
from .operator import adjoint, forward, group_norms

__all__ = [
    "MKLResult",
    "mkl_objective",
    "optimal_scale",
    "kernel_shape",
    "irls",
    "figure1_data",
    "plot_figure1",
]

Init = Literal["ntk", "uniform"]
INITS = ("ntk", "uniform")
Method = Literal["auto", "cholesky", "cg"]
METHODS = ("auto", "cholesky", "cg")
#: ``method="auto"`` factorises the n x n kernel up to this many samples, and uses conjugate
#: gradients on the matrix-free product beyond.
CHOLESKY_MAX_N = 3000
DEFAULT_MAX_ITER = 2000
#: eps is kept below ``(EPS_GAP_FRACTION * gap / (alpha * P))^2``, so that the smoothing changes
#: the objective by at most this fraction of the current duality gap.
EPS_GAP_FRACTION = 0.1


# --------------------------------------------------------------------------- result


@dataclass(frozen=True)
class MKLResult:
    """Iterates and solution of :func:`irls`.

    Row ``k`` of every history belongs to iteration ``k`` (``k = 0`` is the start): kernel
    weights ``eta_k``, the kernel ridge solution ``a_k`` for them and its group coefficients
    ``U_k = (eta_k,i X^T D_i a_k)_i``.

    Attributes
    ----------
    weights : ndarray of shape (P,)
        Final kernel weights ``eta`` (those that produced ``coef`` and ``dual_coef``).
    coef : ndarray of shape (P, d) or (P, d, c)
        Group-lasso coefficients ``u_i = eta_i X^T D_i a`` of the equivalent network.
    dual_coef : ndarray of shape (n,) or (n, c)
        Kernel ridge coefficients ``a = (K_eta + n alpha I)^{-1} y``.
    objective : float
        Group-lasso objective ``F(coef)``.
    dual_gap : float
        Absolute group-lasso duality gap at ``coef`` (bounds ``F(coef) - F*``).
    n_iter : int
        Number of reweighting steps done.
    converged : bool
        Whether ``dual_gap <= tol * objective``.
    objective_history : ndarray of shape (n_iter + 1,)
        ``F(U_k)``.
    kernel_objective_history : ndarray of shape (n_iter + 1,)
        ``J(eta_k)`` (``>= F*``; ``>= F(U_k)``).
    smoothed_objective_history : ndarray of shape (n_iter + 1,)
        ``J_eps_k(eta_k) = J(eta_k) + (alpha/2) eps_k sum_i 1/eta_k,i``: non-increasing.
    gap_history : ndarray of shape (n_iter + 1,)
        Duality gap at ``U_k``.
    eps_history : ndarray of shape (n_iter + 1,)
        Smoothing ``eps_k`` used in the update ``eta_{k+1} = sqrt(||u_k||^2 + eps_k)``.
    weights_history : ndarray of shape (n_iter + 1, P)
        ``eta_k``; row 0 is the start (``scale * shape``).
    scale : float
        Scale ``t`` of the start ``eta_0 = t mu`` (``sum(eta_0)``).
    alpha : float
    method : {"cholesky", "cg"}
        Linear solver used.
    """

    weights: np.ndarray
    coef: np.ndarray
    dual_coef: np.ndarray
    objective: float
    dual_gap: float
    n_iter: int
    converged: bool
    objective_history: np.ndarray
    kernel_objective_history: np.ndarray
    smoothed_objective_history: np.ndarray
    gap_history: np.ndarray
    eps_history: np.ndarray
    weights_history: np.ndarray
    scale: float
    alpha: float
    method: str

    @property
    def relative_gap(self) -> float:
        """``dual_gap / objective`` (0 when both are 0)."""
        return self.dual_gap / self.objective if self.objective > 0 else 0.0


# --------------------------------------------------------------------------- validation


def _check_patterns(patterns, X: np.ndarray):
    masks = getattr(patterns, "masks", None)
    gates = getattr(patterns, "gates", None)
    if masks is None or gates is None:
        raise TypeError(
            "patterns must be an ActivationPatterns (from activation_patterns or "
            f"enumerate_patterns); got {type(patterns).__name__}."
        )
    masks = np.asarray(masks)
    if masks.ndim != 2 or masks.dtype != bool or masks.shape[0] != X.shape[0]:
        raise ValueError(
            f"patterns.masks must be a boolean array of shape (n_samples, n_patterns) with "
            f"n_samples = {X.shape[0]}; got dtype {masks.dtype} and shape {masks.shape}."
        )
    if masks.shape[1] == 0:
        raise ValueError("patterns is empty: at least one activation pattern is needed.")
    return patterns, np.ascontiguousarray(masks)


def _check_problem(X, y, patterns, alpha):
    X = as_float_array(X, "X")
    y = check_targets(y, X.shape[0], X.dtype)
    patterns, M = _check_patterns(patterns, X)
    return X, y, patterns, M, check_positive(alpha, "alpha")


def _check_weights(weights, P: int, dtype, name: str = "weights") -> np.ndarray:
    w = np.asarray(weights)
    if w.ndim != 1 or w.shape[0] != P:
        raise ValueError(f"{name} must have shape (n_patterns,) = ({P},); got {w.shape}.")
    w = as_float_array(w, name, ndim=1, dtype=dtype)
    if np.any(w < 0):
        raise ValueError(f"{name} must be nonnegative; got minimum {w.min()}.")
    return w


def kernel_shape(patterns, kind: Init = "ntk") -> np.ndarray:
    """Normalised kernel weights ``mu`` (``sum(mu) = 1``) of a named kernel shape.

    Parameters
    ----------
    patterns : ActivationPatterns
    kind : {"ntk", "uniform"}
        ``"ntk"``: ``ntk_weights / sum(ntk_weights)`` (the finite-width NTK of the sampled
        gates, or the exact infinite-width NTK for :func:`gatedrelu.enumerate_patterns`);
        ``"uniform"``: ``1 / P``.

    Returns
    -------
    mu : ndarray of shape (n_patterns,)
    """
    kind = check_option(kind, "init", INITS)
    P = np.asarray(patterns.masks).shape[1]
    if kind == "uniform":
        return np.full(P, 1.0 / P)
    w = np.asarray(patterns.ntk_weights, dtype=np.float64)
    total = w.sum()
    if not total > 0:
        raise ValueError("patterns.ntk_weights sum to zero: the NTK shape is undefined.")
    return w / total


# --------------------------------------------------------------------------- the kernel objective


def _kernel_with_ridge(X, patterns, eta, nalpha) -> np.ndarray:
    K = masking_kernel(X, patterns, eta)
    K[np.diag_indices_from(K)] += nalpha
    return K


def mkl_objective(X, y, patterns, weights, alpha) -> float:
    """The MKL objective ``J(eta) = (alpha/2) [tr Y^T (K_eta + n alpha I)^{-1} Y + sum_i eta_i]``.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Inputs as the solver sees them (bias column included).
    y : array-like of shape (n_samples,) or (n_samples, n_outputs)
    patterns : ActivationPatterns
        Patterns computed on ``X``.
    weights : array-like of shape (n_patterns,)
        Nonnegative kernel weights ``eta``.
    alpha : float
        Regularisation (> 0) of the group lasso (GL).

    Returns
    -------
    float
        ``J(eta) >= F*`` with equality at ``eta_i = ||u*_i||`` (``shared/math.md``).
    """
    X, y, patterns, M, alpha = _check_problem(X, y, patterns, alpha)
    eta = _check_weights(weights, M.shape[1], X.dtype)
    n = X.shape[0]
    K = _kernel_with_ridge(X, patterns, eta, n * alpha)
    a = scipy.linalg.cho_solve(scipy.linalg.cho_factor(K, lower=True), y)
    return 0.5 * alpha * (float(np.vdot(y, a)) + float(eta.sum()))


def _scale_bracket(y, nalpha: float, mass: float):
    """``(t_lo, t_hi)`` with the minimiser of ``J(t mu)`` in ``[0, t_hi]``.

    With ``K_mu = V diag(lam) V^T`` and ``z = V^T Y`` the derivative of ``(2/alpha) J(t mu)`` is
    ``mass - sum_j z_j^2 lam_j / (t lam_j + n alpha)^2 >= mass - ||Y||^2 / (4 t n alpha)`` (AM-GM),
    which is >= 0 at ``t_hi = ||Y||^2 / (4 n alpha mass)``.
    """
    t_hi = float(np.vdot(y, y)) / (4 * nalpha * mass)
    return 1e-12 * t_hi, t_hi


def _root_in_log(slope, t_lo: float, t_hi: float) -> float:
    """Root of the non-decreasing ``slope(t)`` on ``[t_lo, t_hi]`` (``t_lo`` if slope >= 0 there)."""
    if slope(t_lo) >= 0:
        return t_lo
    if slope(t_hi) <= 0:
        return t_hi
    s = scipy.optimize.brentq(lambda s: slope(np.exp(s)), np.log(t_lo), np.log(t_hi), xtol=1e-12, rtol=1e-14)
    return float(np.exp(s))


def optimal_scale(K, y, alpha, *, mass: float = 1.0) -> float:
    """Scale ``t > 0`` minimising ``(alpha/2) [tr Y^T (t K + n alpha I)^{-1} Y + t * mass]``.

    For ``K = K_mu`` with ``sum(mu) = mass`` this is ``argmin_t J(t mu)``; for the infinite-width
    NTK (a probability measure over gates) ``mass = 1``. The function is convex in ``t``; its
    derivative is computed exactly from one eigendecomposition of ``K`` and its root found by
    Brent's method in ``log t``.

    Parameters
    ----------
    K : array-like of shape (n_samples, n_samples)
        Symmetric positive semidefinite kernel matrix of the shape.
    y : array-like of shape (n_samples,) or (n_samples, n_outputs)
    alpha : float
    mass : float, default 1.0
        Total weight of the shape.

    Returns
    -------
    float
        The minimiser, or a tiny positive ``t`` (``1e-12`` of the upper bound) when the
        minimum is at ``t -> 0`` (then ``y`` is better fitted by nothing than by this kernel);
        0 if ``y`` is zero.
    """
    K = as_float_array(K, "K", dtype=np.float64)
    if K.shape[0] != K.shape[1]:
        raise ValueError(f"K must be square; got shape {K.shape}.")
    y = check_targets(y, K.shape[0], np.float64)
    alpha = check_positive(alpha, "alpha")
    mass = check_positive(mass, "mass")
    n = K.shape[0]
    nalpha = n * alpha
    if not np.any(y):
        return 0.0
    lam, V = np.linalg.eigh(0.5 * (K + K.T))
    lam = np.maximum(lam, 0.0)
    z2 = (V.T @ y.reshape(n, -1)) ** 2
    z2 = z2.sum(axis=1)  # (n,)

    def slope(t):
        return mass - float(np.sum(z2 * lam / (t * lam + nalpha) ** 2))

    return _root_in_log(slope, *_scale_bracket(y, nalpha, mass))


# --------------------------------------------------------------------------- linear solvers


@jax.jit
def _certify(X, M, y, eta, a, alpha):
    """Group coefficients of ``a``, their norms, ``F(U)``, the duality gap and ``J(eta)``."""
    n = X.shape[0]
    AtA = adjoint(X, M, a)
    U = eta.reshape((-1,) + (1,) * (AtA.ndim - 1)) * AtA
    r = y - forward(X, M, U)
    AtR = adjoint(X, M, r)
    norms = group_norms(U)
    F = 0.5 * jnp.vdot(r, r) / n + alpha * jnp.sum(norms)
    gap = F - dual_objective(r, AtR, y, alpha, n)
    J = 0.5 * alpha * (jnp.vdot(y, a) + jnp.sum(eta))
    return U, norms, F, gap, J


@partial(jax.jit, static_argnames=("maxiter",))
def _pcg(X, M, eta, b, x0, nalpha, rtol, maxiter):
    """Jacobi-preconditioned CG for ``(K_eta + n alpha I) x = b``, ``K_eta v = A diag(eta) A^T v``.

    ``b`` of shape (n,) or (n, c): the c systems share the operator and are solved as one
    system with the block-diagonal operator. Stops when ``||b - (K + n alpha I) x|| <= rtol ||b||``.
    Returns ``(x, n_iter)``.
    """

    def matvec(v):
        AtV = adjoint(X, M, v)
        return forward(X, M, eta.reshape((-1,) + (1,) * (AtV.ndim - 1)) * AtV) + nalpha * v

    diag = jnp.sum(X * X, axis=1) * (M.astype(X.dtype) @ eta) + nalpha  # (n,)
    diag = diag.reshape((-1,) + (1,) * (b.ndim - 1))
    stop = (rtol * jnp.linalg.norm(b)) ** 2

    r0 = b - matvec(x0)
    z0 = r0 / diag
    rz0 = jnp.vdot(r0, z0)

    def cond(state):
        _, r, _, _, _, k = state
        return (jnp.vdot(r, r) > stop) & (k < maxiter)

    def body(state):
        x, r, z, p, rz, k = state
        Ap = matvec(p)
        step = rz / jnp.vdot(p, Ap)
        x = x + step * p
        r = r - step * Ap
        z = r / diag
        rz_new = jnp.vdot(r, z)
        p = z + (rz_new / rz) * p
        return x, r, z, p, rz_new, k + 1

    x, *_, k = jax.lax.while_loop(cond, body, (x0, r0, z0, z0, rz0, jnp.asarray(0, jnp.int32)))
    return x, k


class _KernelRidge:
    """Solves ``(K_eta + n alpha I) a = Y`` by Cholesky or by matrix-free CG (jax arrays inside)."""

    def __init__(self, X, patterns, M, y, alpha, method, cg_tol, cg_max_iter):
        self.X, self.patterns, self.y, self.alpha = X, patterns, y, alpha
        self.nalpha = X.shape[0] * alpha
        self.method = method
        self.cg_tol, self.cg_max_iter = cg_tol, cg_max_iter
        self.cg_iters = 0
        if method == "cg":
            self.Xj, self.Mj = jnp.asarray(X), jnp.asarray(M)
            self.yj = jnp.asarray(y)

    def solve(self, eta: np.ndarray, a0=None) -> np.ndarray:
        if self.method == "cholesky":
            K = _kernel_with_ridge(self.X, self.patterns, eta, self.nalpha)
            factor = scipy.linalg.cho_factor(K, lower=True, overwrite_a=True, check_finite=False)
            return scipy.linalg.cho_solve(factor, self.y, check_finite=False)
        x0 = jnp.zeros_like(self.yj) if a0 is None else jnp.asarray(a0)
        dt = self.X.dtype
        a, k = _pcg(
            self.Xj,
            self.Mj,
            jnp.asarray(eta, dt),
            self.yj,
            x0,
            jnp.asarray(self.nalpha, dt),
            jnp.asarray(self.cg_tol, dt),
            self.cg_max_iter,
        )
        self.cg_iters += int(k)
        return np.asarray(a)

    def scale(self, mu: np.ndarray) -> float:
        """``argmin_t J(t mu)`` (``sum(mu) = 1``)."""
        if not np.any(self.y):
            return 0.0
        if self.method == "cholesky":
            K = masking_kernel(self.X, self.patterns, mu)
            return optimal_scale(K, self.y, self.alpha, mass=float(mu.sum()))
        # Matrix-free: (2/alpha) dJ/dt = sum(mu) - a^T K_mu a with K_mu a = (Y - n alpha a) / t.
        state = {"a": None}

        def slope(t):
            a = self.solve(t * mu, state["a"])
            state["a"] = a
            return float(mu.sum()) - float(np.vdot(a, self.y - self.nalpha * a)) / t

        return _root_in_log(slope, *_scale_bracket(self.y, self.nalpha, float(mu.sum())))


# --------------------------------------------------------------------------- IRLS


def irls(
    X,
    y,
    patterns,
    alpha,
    *,
    init="ntk",
    tol: float = 1e-6,
    max_iter: int = DEFAULT_MAX_ITER,
    eps0: float = 1e-2,
    eps_decay: float = 0.5,
    method: Method = "auto",
    cholesky_max_n: int = CHOLESKY_MAX_N,
    cg_tol: float = 1e-10,
    cg_max_iter: int = 10_000,
) -> MKLResult:
    """Iteratively reweighted kernel ridge from a kernel shape to the optimal MKL kernel.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Inputs as the solver sees them (bias column included).
    y : array-like of shape (n_samples,) or (n_samples, n_outputs)
    patterns : ActivationPatterns
        Patterns computed on ``X``.
    alpha : float
        Regularisation (> 0) of the group lasso (GL).
    init : {"ntk", "uniform"} or array-like of shape (n_patterns,), default "ntk"
        Start. A named shape ``mu`` (:func:`kernel_shape`) is scaled by ``t = argmin J(t mu)``
        (:func:`optimal_scale`); an array is used as given (a warm start, e.g. the ``weights``
        of a previous result); it must be nonnegative with a positive sum.
    tol : float, default 1e-6
        Stop once the group-lasso duality gap of ``U_k`` is ``<= tol * F(U_k)``.
    max_iter : int, default 2000
        Maximum number of reweighting steps; 0 returns the kernel ridge fit of the start
        (a fixed kernel with its optimal scale) without warning.
    eps0 : float, default 1e-2
        First smoothing ``eps``, relative to ``(sum(eta_0) / P)^2``.
    eps_decay : float, default 0.5
        ``eps_k = min(eps_decay * eps_{k-1}, (0.1 gap_k / (alpha P))^2)``: geometric decrease,
        and never more than a tenth of the current gap of smoothing bias
        (``F_eps - F <= alpha P sqrt(eps)``).
    method : {"auto", "cholesky", "cg"}, default "auto"
        Linear solver: dense Cholesky of the n x n kernel, or Jacobi-preconditioned conjugate
        gradients on the matrix-free product ``K_eta v = A diag(eta) A^T v`` (warm-started from
        the previous ``a``). ``"auto"``: Cholesky if ``n_samples <= cholesky_max_n``.
    cholesky_max_n : int, default 3000
    cg_tol : float, default 1e-10
        Relative residual at which CG stops.
    cg_max_iter : int, default 10000
        CG iterations per solve.

    Returns
    -------
    MKLResult

    Warns
    -----
    ConvergenceWarning
        If ``max_iter >= 1`` steps did not bring the relative gap below ``tol``; the message
        gives the gap reached.

    Notes
    -----
    Each step costs one kernel build ``O(n^2 P)`` and one Cholesky ``O(n^3)`` (or a few CG
    iterations of ``O(n d P)``) plus three ``O(n d P)`` products to certify ``U_k``. The update
    is alternating minimisation of ``G_eps(U, eta)``, which makes
    ``smoothed_objective_history`` non-increasing (see the module docstring).
    """
    X, y, patterns, M, alpha = _check_problem(X, y, patterns, alpha)
    n, P = M.shape
    tol = check_nonnegative(tol, "tol")
    max_iter = check_int(max_iter, "max_iter", minimum=0)
    eps0 = check_nonnegative(eps0, "eps0")
    eps_decay = check_positive(eps_decay, "eps_decay")
    if eps_decay > 1:
        raise ValueError(f"eps_decay must be in (0, 1]; got {eps_decay}.")
    method = check_option(method, "method", METHODS)
    cholesky_max_n = check_int(cholesky_max_n, "cholesky_max_n")
    cg_tol = check_positive(cg_tol, "cg_tol")
    cg_max_iter = check_int(cg_max_iter, "cg_max_iter")
    floor = TOL_FLOOR_EPS * float(np.finfo(X.dtype).eps)
    if tol < floor:
        warnings.warn(
            f"tol={tol:.1e} is below what {X.dtype} arithmetic can certify; using {floor:.1e} "
            f"({TOL_FLOOR_EPS} machine epsilons) instead.",
            UserWarning,
            stacklevel=2,
        )
        tol = floor
    if method == "auto":
        method = "cholesky" if n <= cholesky_max_n else "cg"

    with jax.enable_x64(True):
        ridge = _KernelRidge(X, patterns, M, y, alpha, method, cg_tol, cg_max_iter)
        if isinstance(init, str):
            mu = kernel_shape(patterns, init).astype(X.dtype)
            scale = ridge.scale(mu)
            eta = (scale * mu).astype(X.dtype)
        else:
            eta = _check_weights(init, P, X.dtype, "init")
            scale = float(eta.sum())
            if not scale > 0 and np.any(y):
                raise ValueError("init weights must have a positive sum.")
        return _irls_loop(X, M, y, alpha, eta, scale, ridge, tol, max_iter, eps0, eps_decay)


def _irls_loop(X, M, y, alpha, eta, scale, ridge, tol, max_iter, eps0, eps_decay):
    P = M.shape[1]
    dt = X.dtype
    Xj, Mj, yj, alphaj = jnp.asarray(X), jnp.asarray(M), jnp.asarray(y), jnp.asarray(alpha, dt)
    eps = eps0 * (float(eta.sum()) / P) ** 2 / eps_decay
    hist = {k: [] for k in ("F", "J", "Jeps", "gap", "eps", "eta")}
    a = None
    k = 0
    while True:
        a = ridge.solve(eta, a)
        U, norms, F, gap, J = _certify(Xj, Mj, yj, jnp.asarray(eta), jnp.asarray(a), alphaj)
        F, gap, J = float(F), max(float(gap), 0.0), float(J)
        eps = min(eps * eps_decay, (EPS_GAP_FRACTION * gap / (alpha * P)) ** 2)
        with np.errstate(divide="ignore"):
            smooth = J + 0.5 * alpha * eps * float(np.sum(1.0 / eta)) if eps > 0 else J
        for key, value in zip(("F", "J", "Jeps", "gap", "eps", "eta"), (F, J, smooth, gap, eps, eta)):
            hist[key].append(value)
        converged = gap <= tol * F
        if converged or k == max_iter:
            break
        eta = np.sqrt(np.asarray(norms) ** 2 + eps).astype(dt)
        k += 1
    if not converged and max_iter > 0:
        warnings.warn(
            f"IRLS reached max_iter={max_iter} with duality gap {gap:.3e} (relative "
            f"{gap / max(F, np.finfo(float).tiny):.3e} > tol={tol:.1e}). Increase max_iter or tol.",
            ConvergenceWarning,
            stacklevel=3,
        )
    return MKLResult(
        weights=np.asarray(eta),
        coef=np.asarray(U),
        dual_coef=np.asarray(a),
        objective=F,
        dual_gap=gap,
        n_iter=k,
        converged=bool(converged),
        objective_history=np.asarray(hist["F"]),
        kernel_objective_history=np.asarray(hist["J"]),
        smoothed_objective_history=np.asarray(hist["Jeps"]),
        gap_history=np.asarray(hist["gap"]),
        eps_history=np.asarray(hist["eps"]),
        weights_history=np.stack(hist["eta"]),
        scale=float(scale),
        alpha=alpha,
        method=ridge.method,
    )
