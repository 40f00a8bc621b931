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

Large n. Every kernel ridge solve goes through :mod:`gatedrelu.linalg`, which solves it in the
sample space (n x n Cholesky, or matrix-free CG) or, when ``P d < n``, as ridge regression on the
``P d`` features ``[sqrt(eta_i) D_i X]_i`` (``method="features"``, the default there): the same
``a``, ``U``, ``J`` and certificate, without any n x n matrix. The module structure: the linear
algebra in :mod:`gatedrelu.linalg`, the IRLS loop in :mod:`gatedrelu.mkl_irls`, the functions
users call here; Figure 1 is :mod:`gatedrelu.experiments.figure1` (re-exported here).
"""

from __future__ import annotations

import warnings
from typing import Literal

import jax
import jax.numpy as jnp
import numpy as np

from ._validation import (
    check_int,
    check_nonnegative,
    check_option,
    check_positive,
)
from .group_lasso import TOL_FLOOR_EPS
from .kernels import masking_kernel
from .linalg import (
    CHOLESKY_MAX_N,
    FeatureRidge,
    choose_method,
    kernel_objective,
    optimal_scale,
    ridge_solve,
    scale_from_spectrum,
)
from .mkl_irls import (
    IRLSLoop,
    MKLResult,
    _cast,
    _check_problem,
    _check_weights,
    _make_ridge,
)
from .operator import adjoint, group_norms
from .patterns import ActivationPatterns
from .problem.certificate import alpha_max_of

__all__ = [
    "MKLResult",
    "mkl_objective",
    "optimal_scale",
    "scale_from_spectrum",
    "kernel_shape",
    "scale_shape",
    "fixed_kernel",
    "irls",
    "figure1_data",  # noqa: F822 - lazily from gatedrelu.experiments.figure1 (__getattr__)
    "plot_figure1",  # noqa: F822
]

Init = Literal["ntk", "uniform"]
INITS = ("ntk", "uniform")
Method = Literal["auto", "cholesky", "cg", "features"]
DEFAULT_MAX_ITER = 500
#: ``alpha >= (1 - ZERO_RTOL) alpha_max`` returns the exact zero model (rounding of alpha_max).
ZERO_RTOL = 1e-12
#: Moved to :mod:`gatedrelu.experiments.figure1`; still importable from here.
_FIGURE1 = ("Figure1Data", "figure1_data", "plot_figure1")


def __getattr__(name):
    if name in _FIGURE1:
        from .experiments import figure1

        return getattr(figure1, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")




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


def mkl_objective(X, y, patterns, weights, alpha, *, method="auto") -> float:
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
    method : {"auto", "cholesky", "features"}, default "auto"
        The kernel ridge solve: the dense n x n Cholesky factorisation, or the ``P d`` feature
        space (:mod:`gatedrelu.linalg`); "auto" takes the features when ``P d < n`` (and
        ``P d <= 6000``), else Cholesky. Both are exact to rounding.

    Returns
    -------
    float
        ``J(eta) >= F*`` with equality at ``eta_i = ||u*_i||`` (``docs/math.md``).
    """
    X, y, patterns, M, alpha = _check_problem(X, y, patterns, alpha)
    eta = _check_weights(weights, M.shape[1], X.dtype)
    method = check_option(method, "method", ("auto", "cholesky", "features"))
    if choose_method(method, X.shape[0], M.shape[1], X.shape[1]) == "features":
        ridge = FeatureRidge(X, M, y, alpha)
        a = ridge.solve(eta, ridge.factor(eta), y)
    else:
        a = ridge_solve(masking_kernel(X, patterns, eta), y, X.shape[0] * alpha)
    return float(kernel_objective(y, a, eta, alpha))


# --------------------------------------------------------------------------- fixed kernels and IRLS


def _shape_of(shape, patterns, P: int) -> np.ndarray:
    """A named shape (:func:`kernel_shape`) or nonnegative weights of positive sum (float64)."""
    if isinstance(shape, str):
        return kernel_shape(patterns, shape)
    mu = _check_weights(shape, P, np.float64, "shape")
    if not mu.sum() > 0:
        raise ValueError("shape must have a positive sum.")
    return mu


def _scaled_shape(ridge, mu: np.ndarray, dtype):
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
    mu = _shape_of(shape, patterns, M.shape[1])
    with jax.enable_x64(True):
        ridge = _make_ridge(X, patterns, M, y, alpha, method, cholesky_max_n, cg_tol, cg_max_iter)
        weights, t = _scaled_shape(ridge, mu, X.dtype)
    return weights.astype(dtype), t


def fixed_kernel(
    X,
    y,
    patterns,
    alpha,
    shape="ntk",
    *,
    tol: float = 1e-6,
    method: Method = "auto",
    cholesky_max_n: int = CHOLESKY_MAX_N,
    cg_tol: float = 1e-10,
    cg_max_iter: int = 10_000,
) -> MKLResult:
    """Kernel ridge with a fixed kernel shape at its optimal scale, certified.

    The weights are ``eta = t mu`` with ``t = argmin_t J(t mu)`` (:func:`scale_shape`); one kernel
    ridge solve gives ``a``, the network ``u_i = eta_i X^T D_i a`` and its group-lasso duality
    gap (how far this kernel is from the optimal one). The same as ``irls(..., init=shape,
    max_iter=0)`` for a named shape, with one solver for the scale and the fit (the feature
    route forms its Gram matrix once).

    Parameters
    ----------
    X, y, patterns, alpha : as in :func:`irls`
    shape : {"ntk", "uniform"} or array-like of shape (n_patterns,), default "ntk"
        A named shape (:func:`kernel_shape`) or nonnegative weights (normalised to sum 1).
    tol : float, default 1e-6
        ``converged`` is ``dual_gap <= tol * objective`` (whether this kernel is optimal).
    method, cholesky_max_n, cg_tol, cg_max_iter : as in :func:`irls`

    Returns
    -------
    MKLResult
        With ``n_iter = 0``; the zero model at or above ``alpha_max``.
    """
    dtype = np.float32 if np.asarray(X).dtype == np.float32 else np.float64
    X, y, patterns, M, alpha = _check_problem(X, y, patterns, alpha)
    tol = check_nonnegative(tol, "tol")
    mu = _shape_of(shape, patterns, M.shape[1])
    with jax.enable_x64(True):
        ridge = _make_ridge(X, patterns, M, y, alpha, method, cholesky_max_n, cg_tol, cg_max_iter)
        loop = IRLSLoop(X, M, y, alpha, ridge, 0.0, 1.0, 0, False)
        if alpha >= (1 - ZERO_RTOL) * alpha_max_of(X, M, y):
            eta, t = np.zeros(M.shape[1], X.dtype), 0.0
        else:
            eta, t = _scaled_shape(ridge, mu, X.dtype)
        result = loop.run(eta, t, tol, 0)
    return _cast(result, dtype)


def kernel_fits(X, y, patterns, alpha, weights, *, method: Method = "auto",
                cholesky_max_n: int = CHOLESKY_MAX_N, cg_tol: float = 1e-10,
                cg_max_iter: int = 10_000) -> list:
    """Certified kernel ridge fits of several weight vectors on one problem (one solver, so
    the feature route forms its Gram matrix once): ``irls(..., init=w, max_iter=0)`` for each
    row ``w`` of ``weights`` (array-like of shape (k, n_patterns)). Returns a list of
    :class:`MKLResult`."""
    dtype = np.float32 if np.asarray(X).dtype == np.float32 else np.float64
    X, y, patterns, M, alpha = _check_problem(X, y, patterns, alpha)
    rows = [_check_weights(w, M.shape[1], X.dtype) for w in weights]
    with jax.enable_x64(True):
        ridge = _make_ridge(X, patterns, M, y, alpha, method, cholesky_max_n, cg_tol, cg_max_iter)
        loop = IRLSLoop(X, M, y, alpha, ridge, 0.0, 1.0, 0, False)
        return [_cast(loop.run(eta, float(eta.sum()), 0.0, 0), dtype) for eta in rows]


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
    method : {"auto", "cholesky", "cg", "features"}, default "auto"
        Kernel ridge route (:mod:`gatedrelu.linalg`): dense Cholesky of the n x n kernel;
        Jacobi-preconditioned conjugate gradients on the matrix-free product ``K_eta v = A
        diag(eta) A^T v`` (warm-started from the previous ``a``); or ridge regression in the
        ``P d`` feature space (a ``P d x P d`` Cholesky factorisation per solve, nothing ``n x
        n``). ``"auto"``: features if ``P d < n`` and ``P d <= 6000``, else Cholesky if
        ``n_samples <= cholesky_max_n``, else CG (:func:`gatedrelu.linalg.choose_method`).
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
    ``O(n^2 P)`` and Cholesky ``O(n^3)`` per solve tried (or CG iterations of ``O(n d P)``, or
    with features one ``O((P d)^3)`` Cholesky after a one-off ``O(n (P d)^2)`` Gram matrix) plus
    three ``O(n d P)`` products to certify ``U_k``.
    """
    dtype = np.float32 if np.asarray(X).dtype == np.float32 else np.float64
    X, y, patterns, M, alpha = _check_problem(X, y, patterns, alpha)
    P = M.shape[1]
    tol = check_nonnegative(tol, "tol")
    max_iter = check_int(max_iter, "max_iter", minimum=0)
    eps0 = check_nonnegative(eps0, "eps0")
    eps_decay = check_positive(eps_decay, "eps_decay")
    if eps_decay > 1:
        raise ValueError(f"eps_decay must be in (0, 1]; got {eps_decay}.")
    anderson = check_int(anderson, "anderson", minimum=0)
    if not isinstance(newton, (bool, np.bool_)):
        raise TypeError(f"newton must be a bool, got {newton!r}.")
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

    with jax.enable_x64(True):
        ridge = _make_ridge(X, patterns, M, y, alpha, method, cholesky_max_n, cg_tol, cg_max_iter)
        loop = IRLSLoop(X, M, y, alpha, ridge, eps0, eps_decay, anderson, newton)
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
    return _cast(result, dtype)


def _top_group_shape(X, M, y) -> np.ndarray:
    """The shape ``e_i`` of the group with the largest ``||X^T D_i y||``, whose zero threshold
    ``||X^T D_i y|| / n`` is ``alpha_max`` itself."""
    norms = np.asarray(group_norms(adjoint(jnp.asarray(X), jnp.asarray(M), jnp.asarray(y))))
    mu = np.zeros(M.shape[1])
    mu[int(np.argmax(norms))] = 1.0
    return mu
