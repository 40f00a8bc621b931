r"""Multiple kernel learning (MKL) with masking kernels: from the NTK to the optimal kernel.

The MKL view (``docs/math.md``, "The MKL view"). For kernel weights :math:`\eta \ge 0` on the
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

Textbook IRLS is a diagonally scaled gradient method on ``J`` (its fixed point equation is
``||X^T D_i a|| = 1`` on the support) and converges sublinearly on realistic problems: inactive
kernels with a nearly tight constraint decay like ``rho^k``, ``rho -> 1``, and weakly active
ones grow by factors close to 1. :func:`irls` therefore also tries, at every step, a projected
Newton step on the large weights and an Anderson extrapolation of the reweighting map, and keeps
one only if both smoothed objectives still decrease; otherwise it takes the plain step. Both
monotonicity guarantees above hold for every accepted step.
"""

from __future__ import annotations

import dataclasses
import time
import warnings
from dataclasses import dataclass
from functools import partial
from typing import Literal, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import scipy.linalg
import scipy.optimize
from sklearn.exceptions import ConvergenceWarning

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
from .patterns import ActivationPatterns, check_patterns
from .problem import GroupL2, Quadratic
from .problem.certificate import alpha_max_of
from .problem.certificate import certify as _gl_certify

__all__ = [
    "MKLResult",
    "mkl_objective",
    "optimal_scale",
    "kernel_shape",
    "scale_shape",
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
DEFAULT_MAX_ITER = 500
#: eps is kept below ``(EPS_GAP_FRACTION * gap / (alpha * P))^2``, so that the smoothing changes
#: the objective by at most this fraction of the current duality gap.
EPS_GAP_FRACTION = 0.1
#: Accelerated candidates may shrink a weight by at most this factor relative to the plain step
#: (and Anderson's may not grow it by more).
TRUST_RATIO = 10.0
#: Weights never fall below this fraction of the largest weight (no exact zeros, which the
#: multiplicative update could not revive).
WEIGHT_FLOOR = 1e-30
#: Newton candidates start once the relative gap is below NEWTON_GAP, on the kernels whose weight
#: is at least NEWTON_REL times the largest or whose constraint ``||X^T D_i a|| <= 1`` is violated,
#: if there are at most NEWTON_MAX_SIZE of them.
NEWTON_GAP = 1e-2
NEWTON_REL = 1e-3
NEWTON_MAX_SIZE = 500
#: ``alpha >= (1 - ZERO_RTOL) alpha_max`` returns the exact zero model (rounding of alpha_max).
ZERO_RTOL = 1e-12
#: IRLS stops (with a ConvergenceWarning) when the relative gap has not decreased by 10% in this
#: many iterations: the floor of what the n x n solves can certify.
STALL_ITER = 100


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
    n_solves : int
        Kernel ridge solves done (``n_iter + 1`` plus the rejected extrapolations).
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
    n_solves: int = 0

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
    check_patterns(patterns, X)
    return patterns, np.ascontiguousarray(masks)


def _check_problem(X, y, patterns, alpha):
    """Validated float64 ``X``, ``y``, the patterns, their masks and ``alpha``.

    Everything is computed in float64: the n x n kernel system squares the conditioning of the
    problem, so float32 solves could not certify small duality gaps. Results are cast back to
    the input dtype by the callers.
    """
    X = as_float_array(X, "X")
    y = check_targets(y, X.shape[0], X.dtype)
    patterns, M = _check_patterns(patterns, X)
    return X.astype(np.float64), y.astype(np.float64), patterns, M, check_positive(alpha, "alpha")


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
    if not isinstance(patterns, ActivationPatterns):
        raise TypeError(
            "kernel_shape needs an ActivationPatterns (from activation_patterns or "
            f"enumerate_patterns), got {type(patterns).__name__}: the NTK shape counts the "
            "sampled gates of each pattern."
        )
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
        ``J(eta) >= F*`` with equality at ``eta_i = ||u*_i||`` (``docs/math.md``).
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
    s = scipy.optimize.brentq(
        lambda s: slope(np.exp(s)), np.log(t_lo), np.log(t_hi), xtol=1e-12, rtol=1e-14
    )
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
        The minimiser: exactly 0 when the derivative at ``t = 0`` is non-negative
        (``y^T K y <= mass (n alpha)^2``: ``y`` is better fitted by nothing than by this
        kernel, the zero model), a tiny positive ``t`` (``1e-12`` of the upper bound) when the
        minimiser is positive but below that; 0 if ``y`` is zero.
    """
    K = as_float_array(K, "K", dtype=np.float64)
    if K.shape[0] != K.shape[1]:
        raise ValueError(f"K must be square; got shape {K.shape}.")
    y = check_targets(y, K.shape[0], np.float64)
    alpha = check_positive(alpha, "alpha")
    mass = check_positive(mass, "mass")
    if not np.any(y):
        return 0.0
    lam, V = np.linalg.eigh(0.5 * (K + K.T))
    return scale_from_spectrum(lam, V, y, alpha, mass=mass)


def scale_from_spectrum(lam, V, y, alpha, *, mass: float = 1.0) -> float:
    """:func:`optimal_scale` from the eigendecomposition ``K = V diag(lam) V^T`` (reused
    over several ``alpha``); ``y`` of shape (n,) or (n, n_outputs), float64."""
    n = V.shape[0]
    nalpha = n * alpha
    if not np.any(y):
        return 0.0
    lam = np.maximum(lam, 0.0)
    z2 = (V.T @ y.reshape(n, -1)) ** 2
    z2 = z2.sum(axis=1)  # (n,)

    def slope(t):
        return mass - float(np.sum(z2 * lam / (t * lam + nalpha) ** 2))

    if slope(0.0) >= 0:  # the minimum is at t = 0: the zero model
        return 0.0
    return _root_in_log(slope, *_scale_bracket(y, nalpha, mass))


# --------------------------------------------------------------------------- linear solvers


@jax.jit
def _certify(X, M, y, eta, a, alpha):
    """Everything IRLS needs from ``a``: ``X^T D_i a``, ``U``, group norms, ``F(U)``, gap, ``J``.

    ``F`` and the gap are the group-lasso certificate every solver reports
    (:func:`gatedrelu.problem.certificate.certify`).
    """
    AtA = adjoint(X, M, a)
    U = eta.reshape((-1,) + (1,) * (AtA.ndim - 1)) * AtA
    _, _, F, gap = _gl_certify(Quadratic(), GroupL2(), X, M, y, U, alpha)
    norms = group_norms(U)
    J = 0.5 * alpha * (jnp.vdot(y, a) + jnp.sum(eta))
    return AtA, U, norms, F, gap, J


@partial(jax.jit, static_argnames=("maxiter",))
def _pcg(X, M, eta, b, x0, nalpha, rtol, maxiter):
    """Jacobi-preconditioned CG for ``(K_eta + n alpha I) x = b``, ``K_eta v = A diag(eta) A^T v``.

    ``b`` of shape (n,) or (n, k): the k systems share the operator and are solved as one system
    with the block-diagonal operator. Stops when ``||b - (K + n alpha I) x|| <= rtol ||b||``
    (Frobenius) or after ``maxiter`` iterations. Returns ``(x, n_iter)``.
    """

    def matvec(v):
        AtV = adjoint(X, M, v)
        return forward(X, M, eta.reshape((-1,) + (1,) * (AtV.ndim - 1)) * AtV) + nalpha * v

    # diag(K_eta)_k = ||x_k||^2 sum_i eta_i M_ki
    diag = jnp.sum(X * X, axis=1) * (M.astype(X.dtype) @ eta) + nalpha
    diag = diag.reshape((-1,) + (1,) * (b.ndim - 1))
    stop = (rtol * jnp.linalg.norm(b)) ** 2

    r0 = b - matvec(x0)
    z0 = r0 / diag

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
        return x, r, z, z + (rz_new / rz) * p, rz_new, k + 1

    init = (x0, r0, z0, z0, jnp.vdot(r0, z0), jnp.asarray(0, jnp.int32))
    x, *_, k = jax.lax.while_loop(cond, body, init)
    return x, k


class _KernelRidge:
    """``(K_eta + n alpha I)^{-1} B`` by dense Cholesky or by matrix-free CG."""

    def __init__(self, X, patterns, M, y, alpha, method, cg_tol, cg_max_iter):
        self.X, self.patterns, self.y, self.alpha = X, patterns, y, alpha
        self.nalpha = X.shape[0] * alpha
        self.method = method
        self.cg_tol, self.cg_max_iter = cg_tol, cg_max_iter
        self.cg_iters = 0
        if method == "cg":
            self.Xj, self.Mj = jnp.asarray(X), jnp.asarray(M)

    def factor(self, eta: np.ndarray):
        """Cholesky factor of ``K_eta + n alpha I`` (None for CG)."""
        if self.method == "cg":
            return None
        K = _kernel_with_ridge(self.X, self.patterns, eta, self.nalpha)
        return scipy.linalg.cho_factor(K, lower=True, overwrite_a=True, check_finite=False)

    def solve(self, eta: np.ndarray, factor, b: np.ndarray, x0=None) -> np.ndarray:
        if factor is not None:
            return scipy.linalg.cho_solve(factor, b, check_finite=False)
        dt = self.X.dtype
        x0 = np.zeros_like(b) if x0 is None else x0
        n_cols = b.shape[1] if b.ndim == 2 else 0
        if n_cols > 1 and b is not self.y:
            # Pad blocks of right-hand sides to a power of two: fewer shapes to compile.
            width = 1 << (n_cols - 1).bit_length()
            b = np.pad(b, ((0, 0), (0, width - n_cols)))
            x0 = np.pad(x0, ((0, 0), (0, width - n_cols)))
        x, k = _pcg(
            self.Xj,
            self.Mj,
            jnp.asarray(eta, dt),
            jnp.asarray(b, dt),
            jnp.asarray(x0, dt),
            jnp.asarray(self.nalpha, dt),
            jnp.asarray(self.cg_tol, dt),
            self.cg_max_iter,
        )
        self.cg_iters += int(k)
        x = np.asarray(x)
        return x[:, :n_cols] if n_cols > 1 and x.shape[1] != n_cols else x

    def scale(self, mu: np.ndarray) -> float:
        """``argmin_t J(t mu)`` for a shape ``mu``."""
        mass = float(mu.sum())
        if not np.any(self.y):
            return 0.0
        if self.method == "cholesky":
            return optimal_scale(
                masking_kernel(self.X, self.patterns, mu), self.y, self.alpha, mass=mass
            )
        # Matrix-free: (2/alpha) dJ/dt = mass - a^T K_mu a, with K_mu a = (Y - n alpha a) / t;
        # at t = 0, a = Y / (n alpha) and a^T K_mu a = sum_i mu_i ||X^T D_i a||^2.
        a0 = np.asarray(adjoint(self.Xj, self.Mj, jnp.asarray(self.y / self.nalpha)))
        if mass - float(np.sum(mu * np.sum(a0.reshape(mu.size, -1) ** 2, axis=1))) >= 0:
            return 0.0
        last = {"a": None}

        def slope(t):
            a = self.solve(t * mu, None, self.y, last["a"])
            last["a"] = a
            return mass - float(np.vdot(a, self.y - self.nalpha * a)) / t

        return _root_in_log(slope, *_scale_bracket(self.y, self.nalpha, mass))


# --------------------------------------------------------------------------- IRLS


def _scaled_shape(ridge: _KernelRidge, mu: np.ndarray, dtype):
    mu = np.asarray(mu, dtype=np.float64)
    mu = (mu / mu.sum()).astype(dtype)
    t = ridge.scale(mu)
    return (t * mu).astype(dtype), float(t)


def scale_shape(
    X,
    y,
    patterns,
    alpha,
    shape="ntk",
    *,
    method: Method = "auto",
    cholesky_max_n: int = CHOLESKY_MAX_N,
    cg_tol: float = 1e-10,
    cg_max_iter: int = 10_000,
):
    """Kernel weights ``t * mu`` of a shape, with the scale ``t = argmin_t J(t mu)``.

    Parameters
    ----------
    X, y, patterns, alpha : as in :func:`irls`
    shape : {"ntk", "uniform"} or array-like of shape (n_patterns,), default "ntk"
        A named shape (:func:`kernel_shape`) or nonnegative weights (normalised to sum 1).
    method, cholesky_max_n, cg_tol, cg_max_iter : as in :func:`irls`

    Returns
    -------
    weights : ndarray of shape (n_patterns,)
        ``t * mu`` (so ``weights.sum() == t``).
    t : float
    """
    dtype = np.float32 if np.asarray(X).dtype == np.float32 else np.float64
    X, y, patterns, M, alpha = _check_problem(X, y, patterns, alpha)
    method = check_option(method, "method", METHODS)
    if method == "auto":
        method = "cholesky" if X.shape[0] <= check_int(cholesky_max_n, "cholesky_max_n") else "cg"
    if isinstance(shape, str):
        mu = kernel_shape(patterns, shape)
    else:
        mu = _check_weights(shape, M.shape[1], np.float64, "shape")
        if not mu.sum() > 0:
            raise ValueError("shape must have a positive sum.")
    with jax.enable_x64(True):
        ridge = _KernelRidge(
            X,
            patterns,
            M,
            y,
            alpha,
            method,
            check_positive(cg_tol, "cg_tol"),
            check_int(cg_max_iter, "cg_max_iter"),
        )
        weights, t = _scaled_shape(ridge, mu, X.dtype)
    return weights.astype(dtype), t


class _Iterate(NamedTuple):
    """One kernel-ridge solve and its certificate; arrays in numpy, shapes for y of shape (n,)."""

    eta: np.ndarray  # (P,) kernel weights
    factor: object  # Cholesky factor of K_eta + n alpha I, or None (CG)
    a: np.ndarray  # (n[, c]) dual coefficients
    AtA: np.ndarray  # (P, d[, c]) X^T D_i a
    U: np.ndarray  # (P, d[, c]) eta_i X^T D_i a
    norms: np.ndarray  # (P,) ||u_i||
    F: float  # F(U)
    gap: float  # duality gap at U
    J: float  # J(eta)


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
    anderson: int = 10,
    newton: bool = True,
    method: Method = "auto",
    cholesky_max_n: int = CHOLESKY_MAX_N,
    cg_tol: float = 1e-10,
    cg_max_iter: int = 10_000,
    verbose: int = 0,
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
        of a previous result); it must be nonnegative.
    tol : float, default 1e-6
        Stop once the group-lasso duality gap of ``U_k`` is ``<= tol * F(U_k)``.
    max_iter : int, default 500
        Maximum number of reweighting steps; 0 returns the kernel ridge fit of the start
        (a fixed kernel with its optimal scale) without warning.
    eps0 : float, default 1e-2
        First smoothing ``eps``, relative to ``(sum(eta_0) / P)^2``.
    eps_decay : float, default 0.5
        ``eps_k = min(eps_decay * eps_{k-1}, (0.1 gap_k / (alpha P))^2)``: geometric decrease,
        and never more smoothing bias than a tenth of the current gap
        (``F_eps - F <= alpha P sqrt(eps)``).
    anderson : int, default 10
        Memory of the Anderson extrapolation of the IRLS map (0: none).
    newton : bool, default True
        Propose projected Newton steps on the large kernel weights once the relative gap is
        below 1e-2.
    method : {"auto", "cholesky", "cg"}, default "auto"
        Linear solver: dense Cholesky of the n x n kernel, or Jacobi-preconditioned conjugate
        gradients on the matrix-free product ``K_eta v = A diag(eta) A^T v`` (warm-started from
        the previous ``a``). ``"auto"``: Cholesky if ``n_samples <= cholesky_max_n``.
    cholesky_max_n : int, default 3000
    cg_tol : float, default 1e-10
        Relative residual at which CG stops.
    cg_max_iter : int, default 10000
        CG iterations per solve.
    verbose : int, default 0
        Print one line per IRLS iteration (objective, relative gap, smoothing, which step was
        taken, elapsed time); ``verbose=1`` prints every 10th iteration and the last one.

    Returns
    -------
    MKLResult

    Warns
    -----
    ConvergenceWarning
        If ``max_iter >= 1`` steps did not bring the relative gap below ``tol``, or if the gap
        stalled (no 10% decrease in 100 steps: the floor the n x n solves can certify, about
        ``cond(K_eta + n alpha I) * 1e-16``); the message gives the gap reached.

    Notes
    -----
    Everything is computed in float64 (float32 solves of the kernel system cannot certify small
    gaps); ``weights``, ``coef`` and ``dual_coef`` are returned in the dtype of ``X``.

    Every step first computes the plain IRLS update ``eta_i = sqrt(||u_i||^2 + eps)``, exact
    minimisation of ``G_eps(U_k, .)``, which guarantees ``J_eps(eta_{k+1}) <= F_eps(U_k)``. Plain
    IRLS is a diagonally scaled gradient method on ``J`` and is slow (sublinear) where it
    matters: inactive kernels whose constraint ``||X^T D_i a*|| <= 1`` is nearly tight decay
    like ``rho^k`` with ``rho`` close to 1, and weakly active kernels grow by a factor close to
    1 per step. So two accelerated candidates are tried first, each accepted only if it keeps
    both ``J_eps`` and ``F_eps`` from increasing (else the plain step is taken):

    1. projected Newton: with ``S`` the kernels with a large weight or a violated constraint,
       minimise the second-order model of ``J`` over ``eta_S >= 0`` (Hessian
       ``alpha <K_i a, (K_eta + n alpha I)^{-1} K_j a>``, a bounded least-squares problem of
       size ``|S|``), the other weights taking the plain step;
    2. Anderson extrapolation (type II, memory ``anderson``) of the map ``eta_k -> eta_{k+1}``.

    Accelerated candidates change a weight by at most a factor 10 downwards (and Anderson's by
    at most 10 upwards) relative to the plain step. Each step costs one kernel build
    ``O(n^2 P)`` and Cholesky ``O(n^3)`` per solve tried (or CG iterations of ``O(n d P)``) plus
    three ``O(n d P)`` products to certify ``U_k``.
    """
    dtype = np.float32 if np.asarray(X).dtype == np.float32 else np.float64
    X, y, patterns, M, alpha = _check_problem(X, y, patterns, alpha)
    n, P = M.shape
    tol = check_nonnegative(tol, "tol")
    max_iter = check_int(max_iter, "max_iter", minimum=0)
    eps0 = check_nonnegative(eps0, "eps0")
    eps_decay = check_positive(eps_decay, "eps_decay")
    if eps_decay > 1:
        raise ValueError(f"eps_decay must be in (0, 1]; got {eps_decay}.")
    anderson = check_int(anderson, "anderson", minimum=0)
    if not isinstance(newton, (bool, np.bool_)):
        raise TypeError(f"newton must be a bool, got {newton!r}.")
    method = check_option(method, "method", METHODS)
    cholesky_max_n = check_int(cholesky_max_n, "cholesky_max_n")
    cg_tol = check_positive(cg_tol, "cg_tol")
    cg_max_iter = check_int(cg_max_iter, "cg_max_iter")
    verbose = check_int(verbose, "verbose", minimum=0)
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
        loop = _IRLSLoop(X, M, y, alpha, ridge, eps0, eps_decay, anderson, newton)
        loop.verbose = verbose
        at_zero = alpha >= (1 - ZERO_RTOL) * alpha_max_of(X, M, y)
        if isinstance(init, str):
            eta, scale = _scaled_shape(ridge, kernel_shape(patterns, init), X.dtype)
            if scale == 0 and max_iter > 0 and not at_zero:
                # The shape alone fits nothing at this alpha but the optimum is not zero:
                # start from the kernel of the group with the largest correlation, whose
                # scale is positive for every alpha below alpha_max (a zero start would
                # stay at zero under the multiplicative update).
                eta, scale = _scaled_shape(ridge, _top_group_shape(X, M, y), X.dtype)
        else:
            eta = _check_weights(init, P, X.dtype, "init")
            scale = float(eta.sum())
        if at_zero and (isinstance(init, str) or max_iter > 0):
            # At or above alpha_max the unique optimum is U = 0, eta = 0: return it exactly
            # (and its certificate), not wherever iterations from a tiny scale would stop.
            eta, scale = np.zeros(P, X.dtype), 0.0
            max_iter = 0
        result = loop.run(eta, scale, tol, max_iter)
    if dtype == np.float64:
        return result
    return dataclasses.replace(
        result,
        **{
            name: getattr(result, name).astype(dtype)
            for name in ("weights", "coef", "dual_coef", "weights_history")
        },
    )


def _top_group_shape(X, M, y) -> np.ndarray:
    """The shape ``e_i`` of the group with the largest ``||X^T D_i y||``, whose zero threshold
    ``||X^T D_i y|| / n`` is ``alpha_max`` itself."""
    norms = np.asarray(group_norms(adjoint(jnp.asarray(X), jnp.asarray(M), jnp.asarray(y))))
    mu = np.zeros(M.shape[1])
    mu[int(np.argmax(norms))] = 1.0
    return mu


def _anderson(etas, targets):
    """Anderson (type II) extrapolation of the fixed-point map ``eta -> target`` from its history.

    ``etas``, ``targets``: lists of (P,) arrays, oldest first. Returns ``target_k - dG gamma``
    with ``gamma = argmin ||f_k - dF gamma||``, ``f = target - eta``.
    """
    G = np.stack(targets)
    R = G - np.stack(etas)
    gamma = np.linalg.lstsq(np.diff(R, axis=0).T, R[-1], rcond=None)[0]
    return G[-1] - np.diff(G, axis=0).T @ gamma


def _bounded_newton(H, g, x0):
    """``argmin_{x >= 0} g.(x - x0) + (x - x0)^T H (x - x0) / 2`` as a bounded least squares."""
    k = H.shape[0]
    H = H + (1e-13 * np.trace(H) / k + np.finfo(float).tiny) * np.eye(k)
    R = np.linalg.cholesky(H).T  # H = R^T R
    b = scipy.linalg.solve_triangular(R, H @ x0 - g, trans="T")
    return scipy.optimize.lsq_linear(R, b, bounds=(0, np.inf), tol=1e-12).x


class _IRLSLoop:
    """The IRLS outer loop (plain Python around compiled products and dense factorisations)."""

    verbose = 0

    def __init__(self, X, M, y, alpha, ridge, eps0, eps_decay, anderson, newton):
        self.X, self.M, self.y, self.alpha = X, M, y, alpha
        self.ridge = ridge
        self.eps0, self.eps_decay = eps0, eps_decay
        self.anderson, self.newton = anderson, newton
        self.jargs = tuple(jnp.asarray(v) for v in (X, M, y)) + (jnp.asarray(alpha, X.dtype),)
        self.n_solves = 0

    def evaluate(self, eta, a0=None) -> _Iterate:
        factor = self.ridge.factor(eta)
        a = self.ridge.solve(eta, factor, self.y, a0)
        Xj, Mj, yj, alphaj = self.jargs
        out = _certify(Xj, Mj, yj, jnp.asarray(eta), jnp.asarray(a), alphaj)
        AtA, U, norms, F, gap, J = (np.asarray(v) for v in out)
        self.n_solves += 1
        return _Iterate(eta, factor, a, AtA, U, norms, float(F), max(float(gap), 0.0), float(J))

    def smoothed_J(self, it: _Iterate, eps: float) -> float:
        """``J_eps(eta) = J(eta) + (alpha/2) eps sum_i 1/eta_i``."""
        if eps == 0:
            return it.J
        with np.errstate(divide="ignore"):
            return it.J + 0.5 * self.alpha * eps * float(np.sum(1.0 / it.eta))

    def smoothed_F(self, it: _Iterate, eps: float) -> float:
        """``F_eps(U) = F(U) + alpha sum_i (sqrt(||u_i||^2 + eps) - ||u_i||)``."""
        return it.F + self.alpha * float(np.sum(np.sqrt(it.norms**2 + eps) - it.norms))

    def newton_candidate(self, it: _Iterate, plain: np.ndarray, base: np.ndarray):
        """``base`` with the weights of ``S`` replaced by the bounded Newton step."""
        P = it.eta.shape[0]
        s2 = np.sum(it.AtA.reshape(P, -1) ** 2, axis=1)  # ||X^T D_i a||^2
        S = np.flatnonzero((it.eta >= NEWTON_REL * it.eta.max()) | (s2 > 1))
        if S.size == 0 or S.size > NEWTON_MAX_SIZE:
            return None
        n = self.X.shape[0]
        # W[:, j] = K_i a = D_i X (X^T D_i a) for i = S[j], shape (n, |S|, c)  (c = 1 for y (n,))
        G = it.AtA[S].reshape(S.size, self.X.shape[1], -1)
        W = self.M[:, S, None] * np.einsum("nd,sdc->nsc", self.X, G)
        CW = self.ridge.solve(it.eta, it.factor, W.reshape(n, -1)).reshape(W.shape)
        H = np.einsum("nsc,ntc->st", W, CW)  # Hessian of J, divided by alpha
        g = 0.5 * (1.0 - s2[S])  # gradient of J / alpha
        try:
            x = _bounded_newton(H, g, it.eta[S])
        except (np.linalg.LinAlgError, ValueError):
            return None
        cand = base.copy()
        cand[S] = np.maximum(x, plain[S] / TRUST_RATIO)
        return cand

    def run(self, eta, scale, tol, max_iter) -> MKLResult:
        alpha, dt = self.alpha, self.X.dtype
        P = eta.shape[0]
        eps = self.eps0 * (float(eta.sum()) / P) ** 2 / self.eps_decay
        hist = {key: [] for key in ("F", "J", "Jeps", "gap", "eps", "eta")}
        memory_eta, memory_target = [], []
        start = time.perf_counter()
        it = self.evaluate(eta)
        k = 0
        best = np.inf, 0  # best relative gap and its iteration
        while True:
            eps = min(eps * self.eps_decay, (EPS_GAP_FRACTION * it.gap / (alpha * P)) ** 2)
            J_eps = self.smoothed_J(it, eps)
            for key, value in zip(hist, (it.F, it.J, J_eps, it.gap, eps, it.eta)):
                hist[key].append(value)
            converged = it.gap <= tol * it.F
            relative = it.gap / max(it.F, np.finfo(float).tiny)
            if relative < 0.9 * best[0]:
                best = relative, k
            stalled = k - best[1] >= STALL_ITER
            done = converged or k == max_iter or stalled
            if self.verbose and (self.verbose > 1 or k % 10 == 0 or done):
                print(f"[irls] iter {k:4d}  F {it.F:.10g}  rel gap {relative:.2e}  eps {eps:.1e}  "
                      f"{time.perf_counter() - start:.2f} s", flush=True)
            if done:
                break
            # Plain IRLS step: exact minimisation of G_eps(U_k, .), so J_eps(plain) <= F_eps(U_k).
            floor = WEIGHT_FLOOR * float(it.eta.max())
            plain = np.maximum(np.sqrt(it.norms**2 + eps), floor).astype(dt)
            F_eps = self.smoothed_F(it, eps)
            # Accelerated candidates, best first: Newton on the large weights over Anderson's
            # extrapolation of the others, then Anderson's alone.
            candidates = []
            base = plain
            if self.anderson > 0:
                memory_eta = (memory_eta + [it.eta])[-(self.anderson + 1) :]
                memory_target = (memory_target + [plain])[-(self.anderson + 1) :]
                if len(memory_eta) > 1:
                    base = _anderson(memory_eta, memory_target)
                    base = np.clip(base, plain / TRUST_RATIO, plain * TRUST_RATIO)
                    candidates.append(base)
            if self.newton and it.gap <= NEWTON_GAP * it.F:
                cand = self.newton_candidate(it, plain, base)
                if cand is not None:
                    candidates.insert(0, cand)
            new = None
            for cand in candidates:
                cand = np.maximum(cand, floor).astype(dt)
                trial = self.evaluate(cand, it.a)
                if self.smoothed_J(trial, eps) <= J_eps and self.smoothed_F(trial, eps) <= F_eps:
                    new = trial
                    break
                # Safeguard: restart the extrapolation.
                memory_eta, memory_target = memory_eta[-1:], memory_target[-1:]
            it = new if new is not None else self.evaluate(plain, it.a)
            k += 1
        if stalled and not converged:
            warnings.warn(
                f"IRLS stalled: the relative duality gap {relative:.3e} (tol={tol:.1e}) did not "
                f"decrease by 10% in {STALL_ITER} iterations. The kernel system "
                "K_eta + n alpha I is probably too ill-conditioned to certify tol in float64 "
                "(increase tol or alpha).",
                ConvergenceWarning,
                stacklevel=3,
            )
        elif not converged and max_iter > 0:
            warnings.warn(
                f"IRLS reached max_iter={max_iter} with duality gap {it.gap:.3e} (relative "
                f"{relative:.3e} > tol={tol:.1e}). Increase max_iter or tol.",
                ConvergenceWarning,
                stacklevel=3,
            )
        return MKLResult(
            weights=np.asarray(it.eta),
            coef=it.U,
            dual_coef=it.a,
            objective=it.F,
            dual_gap=it.gap,
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
            method=self.ridge.method,
            n_solves=self.n_solves,
        )


# --------------------------------------------------------------------------- Figure 1


@dataclass(frozen=True)
class Figure1Data:
    """Data of Figure 1: IRLS from the exact NTK weights to the optimal kernel, 1-D data.

    Attributes
    ----------
    x : ndarray of shape (n,)
        The 1-D inputs; the solver sees ``X = [x, 1]``.
    y : ndarray of shape (n,)
    alpha : float
    patterns : ActivationPatterns
        Every pattern of the arrangement (:func:`gatedrelu.enumerate_patterns`), with the exact
        infinite-width NTK weights.
    optimum : float
        ``F*`` from CVXPY/Clarabel (``solve_group_lasso(solver="cvxpy")``).
    ntk_start : float
        ``J(t* mu_NTK)``, the best the (infinite-width) NTK can do on the training objective.
    ntk_scale : float
        ``t*``.
    plain : MKLResult
        Textbook IRLS (no acceleration).
    accelerated : MKLResult
        IRLS with the Newton and Anderson candidates (the default of :func:`irls`).
    """

    x: np.ndarray
    y: np.ndarray
    alpha: float
    patterns: object
    optimum: float
    ntk_start: float
    ntk_scale: float
    plain: MKLResult
    accelerated: MKLResult


def figure1_data(
    n: int = 5,
    alpha: float = 0.01,
    *,
    random_state=0,
    tol: float = 1e-10,
    plain_max_iter: int = 300,
) -> Figure1Data:
    """Compute Figure 1: IRLS from the NTK to the optimal kernel on 1-D data.

    ``n`` inputs ``x ~ N(0, 1)`` (sorted) with a bias column and targets ``y ~ N(0, 1)``; every
    activation pattern is enumerated, so the start ``eta_0 = t* mu_NTK`` is the exact
    infinite-width NTK with its optimal scale and the optimum is the global optimum of the
    gated ReLU network over all gates.

    Parameters
    ----------
    n : int, default 5
    alpha : float, default 0.01
    random_state : None, int or numpy Generator, default 0
    tol : float, default 1e-10
        Relative gap at which the accelerated IRLS stops.
    plain_max_iter : int, default 300
        Iterations of textbook IRLS shown (it converges sublinearly; no warning is given).

    Returns
    -------
    Figure1Data
    """
    from ._validation import check_random_state
    from .group_lasso import solve_group_lasso
    from .kernels import enumerate_patterns

    n = check_int(n, "n", minimum=2)
    alpha = check_positive(alpha, "alpha")
    rng = check_random_state(random_state)
    x = np.sort(rng.standard_normal(n))
    y = rng.standard_normal(n)
    X = np.column_stack([x, np.ones(n)])
    patterns = enumerate_patterns(X)
    optimum = solve_group_lasso(X, y, patterns, alpha, solver="cvxpy").objective
    weights, t = scale_shape(X, y, patterns, alpha, "ntk")
    ntk_start = mkl_objective(X, y, patterns, weights, alpha)
    accelerated = irls(X, y, patterns, alpha, init="ntk", tol=tol)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        plain = irls(
            X,
            y,
            patterns,
            alpha,
            init="ntk",
            tol=tol,
            max_iter=plain_max_iter,
            anderson=0,
            newton=False,
        )
    return Figure1Data(x, y, alpha, patterns, optimum, ntk_start, t, plain, accelerated)


def plot_figure1(data: Figure1Data | None = None, path="docs/figures/figure1_irls.png"):
    """Plot Figure 1 and save it to ``path`` (PNG, Agg backend).

    Left: the MKL objective ``J(eta_k)`` of the IRLS iterates, from the NTK start to the CVXPY
    optimum. Right: relative suboptimality ``(J(eta_k) - F*) / F*`` on a log scale, for
    textbook and accelerated IRLS, with ``F*`` the lowest of the CVXPY optimum and the final
    IRLS objectives (Clarabel is accurate to about 1e-9 relative).

    Parameters
    ----------
    data : Figure1Data, optional
        Default: ``figure1_data()``.
    path : str or path-like, default "docs/figures/figure1_irls.png"

    Returns
    -------
    matplotlib.figure.Figure
    """
    import os

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    data = figure1_data() if data is None else data
    # Clarabel is accurate to about 1e-9 relative, IRLS to its tol: measure against the best.
    F_star = min(data.optimum, data.accelerated.objective, data.plain.objective)
    fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(10, 3.8))
    runs = (("IRLS", data.plain, "tab:blue"), ("accelerated IRLS", data.accelerated, "tab:orange"))
    for label, res, color in runs:
        J = res.kernel_objective_history
        ax0.plot(np.arange(J.size), J, color=color, lw=1.5, label=label)
        sub = np.maximum((J - F_star) / F_star, 1e-16)
        ax1.semilogy(np.arange(J.size), sub, color=color, lw=1.5, label=label)
    ax0.axhline(F_star, color="k", ls="--", lw=1, label="optimum (CVXPY)")
    ax0.plot(
        [0], [data.ntk_start], "o", color="tab:red", ms=7, label="NTK, optimal scale", zorder=5
    )
    ax0.set_xscale("symlog", linthresh=1)
    ax0.set_xlabel("iteration")
    ax0.set_ylabel(r"MKL objective $J(\eta_k)$")
    ax0.set_title(f"Kernel path from the NTK (n = {data.x.size}, 1-D + bias)")
    ax0.legend(frameon=False, fontsize=8)
    ax1.axhline(1e-6, color="gray", ls=":", lw=1)
    ax1.plot([0], [(data.ntk_start - F_star) / F_star], "o", color="tab:red", ms=7, zorder=5)
    ax1.set_xlabel("iteration")
    ax1.set_ylabel(r"$(J(\eta_k) - F^\star) / F^\star$ (best $F^\star$ found)")
    ax1.set_title("Relative suboptimality")
    ax1.legend(frameon=False, fontsize=8)
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.fspath(path)) or ".", exist_ok=True)
    fig.savefig(path, dpi=150)
    return fig
