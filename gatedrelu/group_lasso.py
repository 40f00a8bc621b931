r"""The convex program of gated ReLU training: the group lasso (GL) over masked features.

.. math::

    F(U) = \frac{1}{2n} \Big\| \sum_i D_i X u_i - y \Big\|^2 + \alpha \sum_i \|u_i\|_2

with ``U`` of shape (P, d), or (P, d, c) for c outputs (Frobenius group norms). See
``shared/math.md`` for ``alpha_max``, the KKT conditions and the duality gap used to stop.

Backends
--------
``"jax"``
    Accelerated proximal gradient with adaptive restart (:mod:`gatedrelu._fista`), one compiled
    loop per solve, on whatever device JAX uses by default (CPU, GPU or TPU).
``"cvxpy"``
    The same problem as one vectorised CVXPY model solved by Clarabel: the exact reference.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Literal

import jax
import jax.numpy as jnp
import numpy as np
from sklearn.exceptions import ConvergenceWarning

from ._fista import dual_objective, fista_run
from ._validation import (
    as_float_array,
    check_int,
    check_nonnegative,
    check_option,
    check_positive,
    check_targets,
)
from .operator import adjoint, forward, group_norms, power_lipschitz

__all__ = [
    "GroupLassoResult",
    "solve_group_lasso",
    "group_lasso_path",
    "alpha_max",
    "objective",
    "duality_gap",
]

Backend = Literal["jax", "cvxpy"]
BACKENDS = ("jax", "cvxpy")
DEFAULT_MAX_ITER = {"jax": 10_000, "cvxpy": 500}
#: Largest ``n * P * d * c`` the CVXPY backend accepts by default (its canonicalisation stores a
#: coefficient of that many non-zeros and Clarabel factorises it).
CVXPY_MAX_SIZE = 5_000_000
#: An "optimal_inaccurate" Clarabel solution is accepted when its certified relative gap is below.
CVXPY_ACCEPT_GAP = 1e-8
#: The jax backend's tolerance is at least this many machine epsilons of the working dtype
#: (about 6e-6 in float32): below that the duality gap is rounding noise.
TOL_FLOOR_EPS = 50


@dataclass(frozen=True)
class GroupLassoResult:
    """Solution of (GL).

    Attributes
    ----------
    coef : ndarray of shape (P, d) or (P, d, c)
        Group coefficients ``u_i``.
    objective : float
        ``F(coef)``.
    dual_gap : float
        Absolute duality gap ``F(coef) - D(theta)`` (``shared/math.md``); bounds ``F(coef) - F*``.
    n_iter : int
        Iterations of the backend.
    converged : bool
        Whether ``dual_gap <= tol * objective`` (jax) or the solver reported optimality (cvxpy).
    alpha : float
    lipschitz : float or None
        Final step-size constant of the proximal solver (reused by warm starts).
    backend : str
    """

    coef: np.ndarray
    objective: float
    dual_gap: float
    n_iter: int
    converged: bool
    alpha: float
    lipschitz: float | None = None
    backend: str = "jax"

    @property
    def relative_gap(self) -> float:
        """``dual_gap / objective`` (0 when both are 0)."""
        return self.dual_gap / self.objective if self.objective > 0 else 0.0

    @property
    def n_active(self) -> int:
        """Number of non-zero groups (active neurons)."""
        return int(np.count_nonzero(np.linalg.norm(self.coef.reshape(self.coef.shape[0], -1), axis=1)))


# --------------------------------------------------------------------------- validation helpers


def _masks_of(patterns, n_samples: int) -> np.ndarray:
    """Boolean masks (n, P) from an ActivationPatterns or a boolean array."""
    masks = getattr(patterns, "masks", patterns)
    masks = np.asarray(masks)
    if masks.ndim != 2 or masks.dtype != bool:
        raise ValueError(
            "patterns must be an ActivationPatterns or a boolean mask array of shape "
            f"(n_samples, n_patterns); got dtype {masks.dtype} and shape {masks.shape}."
        )
    if masks.shape[0] != n_samples:
        raise ValueError(
            f"patterns were computed on {masks.shape[0]} samples but X has {n_samples} rows."
        )
    if masks.shape[1] == 0:
        raise ValueError("patterns is empty: at least one activation pattern is needed.")
    return np.ascontiguousarray(masks)


def _check_problem(X, y, patterns):
    X = as_float_array(X, "X")
    y = check_targets(y, X.shape[0], X.dtype)  # the computation follows X's dtype
    return X, y, _masks_of(patterns, X.shape[0])


def _check_init(init, P: int, d: int, y: np.ndarray, dtype) -> np.ndarray:
    shape = (P, d) if y.ndim == 1 else (P, d, y.shape[1])
    if init is None:
        return np.zeros(shape, dtype)
    init = np.asarray(getattr(init, "coef", init))
    if init.shape != shape:
        raise ValueError(f"init must have shape {shape} (n_patterns, n_features[, n_outputs]); got {init.shape}.")
    return as_float_array(init, "init", ndim=init.ndim, dtype=dtype)


# --------------------------------------------------------------------------- reference quantities


def _evaluate(X, M, y, U, alpha):
    """Objective and duality gap at ``U`` (numpy in, float out), in the input's precision."""
    with jax.enable_x64(True):
        Xj, Mj, yj, Uj = (jnp.asarray(a) for a in (X, M, y, U))
        n = X.shape[0]
        r = yj - forward(Xj, Mj, Uj)
        AtR = adjoint(Xj, Mj, r)
        F = 0.5 * jnp.vdot(r, r) / n + alpha * jnp.sum(group_norms(Uj))
        D = dual_objective(r, AtR, yj, jnp.asarray(alpha, X.dtype), n)
        return float(F), float(F - D)


def objective(X, y, patterns, coef, alpha) -> float:
    """The (GL) objective ``F(coef)``.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    y : array-like of shape (n_samples,) or (n_samples, n_outputs)
    patterns : ActivationPatterns or bool array of shape (n_samples, n_patterns)
    coef : array-like of shape (n_patterns, n_features[, n_outputs])
    alpha : float
    """
    X, y, M = _check_problem(X, y, patterns)
    U = _check_init(coef, M.shape[1], X.shape[1], y, X.dtype)
    return _evaluate(X, M, y, U, check_nonnegative(alpha, "alpha"))[0]


def duality_gap(X, y, patterns, coef, alpha) -> float:
    """Absolute duality gap at ``coef`` (``shared/math.md``): an upper bound on ``F(coef) - F*``."""
    X, y, M = _check_problem(X, y, patterns)
    U = _check_init(coef, M.shape[1], X.shape[1], y, X.dtype)
    return _evaluate(X, M, y, U, check_positive(alpha, "alpha"))[1]


def alpha_max(X, y, patterns) -> float:
    """Smallest ``alpha`` for which ``U = 0`` solves (GL): ``max_i ||X^T D_i y|| / n``.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    y : array-like of shape (n_samples,) or (n_samples, n_outputs)
    patterns : ActivationPatterns or bool array of shape (n_samples, n_patterns)
    """
    X, y, M = _check_problem(X, y, patterns)
    with jax.enable_x64(True):
        norms = group_norms(adjoint(jnp.asarray(X), jnp.asarray(M), jnp.asarray(y)))
        return float(jnp.max(norms)) / X.shape[0]


# --------------------------------------------------------------------------- backends


def _place(X, M, y, U0, devices):
    """Device arrays; with several devices, patterns are sharded across them.

    ``M`` is split by columns and ``U`` by rows (the pattern axis), ``X`` and ``y`` are
    replicated; XLA then partitions the compiled loop and the only communication is the sum over
    patterns in the forward map. ``P`` is padded to a multiple of the device count with all-zero
    patterns, whose groups stay exactly zero.
    """
    if devices is None or len(devices) == 1:
        dev = None if devices is None else devices[0]
        return tuple(jax.device_put(a, dev) for a in (X, M, y, U0)), 0
    from jax.sharding import Mesh, NamedSharding, PartitionSpec

    k = len(devices)
    pad = (-M.shape[1]) % k
    if pad:
        M = np.hstack([M, np.zeros((M.shape[0], pad), bool)])
        U0 = np.concatenate([U0, np.zeros((pad,) + U0.shape[1:], U0.dtype)])
    mesh = Mesh(np.asarray(devices), ("patterns",))
    rep = NamedSharding(mesh, PartitionSpec())
    cols = NamedSharding(mesh, PartitionSpec(None, "patterns"))
    rows = NamedSharding(mesh, PartitionSpec("patterns"))
    placed = (
        jax.device_put(X, rep),
        jax.device_put(M, cols),
        jax.device_put(y, rep),
        jax.device_put(U0, rows),
    )
    return placed, pad


def _check_devices(devices):
    if devices is None:
        return None
    if isinstance(devices, str):
        check_option(devices, "devices", ("all",))
        return list(jax.devices())
    devices = list(devices)
    if not devices or not all(isinstance(d, jax.Device) for d in devices):
        raise ValueError("devices must be None, 'all' or a non-empty list of jax.Device objects.")
    return devices


def _solve_jax(X, M, y, alpha, tol, max_iter, U0, lipschitz, devices=None):
    with jax.enable_x64(True):
        dt = X.dtype
        (Xd, Md, yd, Ud), pad = _place(X, M, y, U0, devices)
        state = fista_run(
            Xd,
            Md,
            yd,
            Ud,
            jnp.asarray(alpha, dt),
            jnp.asarray(tol, dt),
            jnp.asarray(max_iter, jnp.int32),
            jnp.asarray(-1.0 if lipschitz is None else lipschitz, dt),
        )
        coef = np.asarray(state.U)
        coef = coef[: coef.shape[0] - pad]
        F, gap, n_iter, L = float(state.F), float(state.gap), int(state.n_iter), float(state.L)
    converged = gap <= tol * F
    return GroupLassoResult(coef, F, gap, n_iter, converged, alpha, L, "jax")


def _solve_cvxpy(X, M, y, alpha, tol, max_iter, max_size):
    import cvxpy as cp

    n, d = X.shape
    P = M.shape[1]
    Y = y.reshape(n, -1)
    c = Y.shape[1]
    size = n * P * d * c
    if size > max_size:
        raise ValueError(
            f"The CVXPY backend refuses this problem: n * P * d * c = {size:,} exceeds "
            f"max_size = {max_size:,} (CVXPY would build and factorise a model of that size). "
            "Use backend='jax', or pass a larger cvxpy_max_size if you have the memory and time."
        )
    X64, Mf = X.astype(np.float64), M.astype(np.float64)
    Us = [cp.Variable((d, P)) for _ in range(c)]
    preds = [cp.sum(cp.multiply(Mf, X64 @ U), axis=1) for U in Us]
    loss = sum(cp.sum_squares(p - Y[:, k]) for k, p in enumerate(preds)) / (2 * n)
    stacked = Us[0] if c == 1 else cp.vstack(Us)
    problem = cp.Problem(cp.Minimize(loss + alpha * cp.sum(cp.norm(stacked, 2, axis=0))))
    try:
        with warnings.catch_warnings():
            # CVXPY's "may be inaccurate" is replaced below by the certified duality gap.
            warnings.filterwarnings("ignore", message="Solution may be inaccurate")
            problem.solve(
                solver=cp.CLARABEL,
                max_iter=int(max_iter),
                tol_gap_abs=1e-9,
                tol_gap_rel=1e-9,
                tol_feas=1e-9,
            )
    except cp.error.SolverError as exc:
        raise RuntimeError(f"Clarabel failed on the CVXPY model: {exc}") from exc
    if Us[0].value is None:
        raise RuntimeError(f"Clarabel returned no solution (status {problem.status}).")
    coef = np.stack([U.value.T for U in Us], axis=-1)  # (P, d, c)
    coef = (coef[..., 0] if y.ndim == 1 else coef).astype(X.dtype)
    F, gap = _evaluate(X, M, y, coef, alpha)
    n_iter = int(problem.solver_stats.num_iters or 0)
    # Clarabel often ends "optimal_inaccurate" at these tolerances although the solution is
    # excellent; judge by the certified gap instead of the status alone.
    rel = gap / F if F > 0 else 0.0
    converged = problem.status == cp.OPTIMAL or (
        problem.status == cp.OPTIMAL_INACCURATE and rel <= CVXPY_ACCEPT_GAP
    )
    if not converged:
        warnings.warn(
            f"Clarabel stopped with status {problem.status!r}; duality gap {gap:.3e} "
            f"(relative {rel:.3e}).",
            ConvergenceWarning,
            stacklevel=3,
        )
    return GroupLassoResult(coef, F, gap, n_iter, converged, alpha, None, "cvxpy")


def solve_group_lasso(
    X,
    y,
    patterns,
    alpha,
    *,
    backend: Backend = "jax",
    tol: float = 1e-6,
    max_iter: int | None = None,
    init=None,
    lipschitz: float | None = None,
    cvxpy_max_size: int = CVXPY_MAX_SIZE,
    devices=None,
) -> GroupLassoResult:
    """Solve the group lasso (GL) of a gated ReLU network with fixed gates.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Inputs as the network sees them (append a column of ones for biases).
    y : array-like of shape (n_samples,) or (n_samples, n_outputs)
    patterns : ActivationPatterns or bool array of shape (n_samples, n_patterns)
    alpha : float
        Regularisation strength (> 0), scaled as in ``shared/math.md``.
    backend : {"jax", "cvxpy"}, default "jax"
    tol : float, default 1e-6
        The jax backend stops once ``dual_gap <= tol * objective``.
    max_iter : int, optional
        Iteration limit (default 10000 for jax, 500 for Clarabel).
    init : array-like of shape (n_patterns, n_features[, n_outputs]) or GroupLassoResult, optional
        Warm start (jax backend).
    lipschitz : float, optional
        Initial step-size constant (e.g. ``result.lipschitz`` of a previous solve); by default
        estimated by power iteration inside the compiled solve. Backtracking corrects it.
    cvxpy_max_size : int
        The cvxpy backend raises a ValueError when ``n * P * d * c`` exceeds this.
    devices : None, "all" or list of jax.Device
        jax backend: None runs on JAX's default device (a GPU or TPU when JAX sees one).
        Several devices shard the activation patterns across them (data-parallel over groups).

    Returns
    -------
    GroupLassoResult

    Warns
    -----
    ConvergenceWarning
        When ``max_iter`` is reached before the relative gap falls below ``tol``; the message
        gives the gap reached.
    """
    backend = check_option(backend, "backend", BACKENDS)
    X, y, M = _check_problem(X, y, patterns)
    alpha = check_positive(alpha, "alpha")
    tol = check_nonnegative(tol, "tol")
    max_iter = DEFAULT_MAX_ITER[backend] if max_iter is None else check_int(max_iter, "max_iter")
    if backend == "cvxpy":
        if init is not None or lipschitz is not None or devices is not None:
            raise ValueError("init, lipschitz and devices are only supported by backend='jax'.")
        cvxpy_max_size = check_int(cvxpy_max_size, "cvxpy_max_size")
        return _solve_cvxpy(X, M, y, alpha, tol, max_iter, cvxpy_max_size)
    U0 = _check_init(init, M.shape[1], X.shape[1], y, X.dtype)
    floor = TOL_FLOOR_EPS * float(np.finfo(X.dtype).eps)
    if tol < floor:
        warnings.warn(
            f"tol={tol:.1e} is below what {X.dtype} arithmetic can certify; using {floor:.1e} "
            f"({TOL_FLOOR_EPS} machine epsilons) instead.",
            UserWarning,
            stacklevel=2,
        )
        tol = floor
    if lipschitz is not None:
        lipschitz = check_positive(lipschitz, "lipschitz")
    devices = _check_devices(devices)
    result = _solve_jax(X, M, y, alpha, tol, max_iter, U0, lipschitz, devices)
    if not result.converged:
        warnings.warn(
            f"The proximal solver reached max_iter={max_iter} with duality gap "
            f"{result.dual_gap:.3e} (relative {result.relative_gap:.3e} > tol={tol:.1e}). "
            "Increase max_iter or tol.",
            ConvergenceWarning,
            stacklevel=2,
        )
    return result


def group_lasso_path(
    X,
    y,
    patterns,
    alphas=None,
    *,
    n_alphas: int = 20,
    eps: float = 1e-2,
    tol: float = 1e-6,
    max_iter: int | None = None,
) -> list[GroupLassoResult]:
    """Solutions of (GL) along a decreasing sequence of ``alpha``, warm-started.

    Parameters
    ----------
    X, y, patterns : as in :func:`solve_group_lasso`
    alphas : array-like, optional
        Regularisation values; sorted from large to small. By default ``n_alphas`` values on a
        geometric grid from ``alpha_max`` down to ``eps * alpha_max``.
    n_alphas : int, default 20
    eps : float, default 1e-2
    tol, max_iter : as in :func:`solve_group_lasso`

    Returns
    -------
    list of GroupLassoResult, one per alpha, in decreasing order of alpha.

    Notes
    -----
    Every solve reuses the same compiled loop (``alpha`` is a traced argument), starts from the
    previous solution and from its step-size constant, so the power iteration runs once.
    """
    X, y, M = _check_problem(X, y, patterns)
    if alphas is None:
        n_alphas = check_int(n_alphas, "n_alphas")
        eps = check_positive(eps, "eps")
        if eps >= 1:
            raise ValueError(f"eps must be < 1, got {eps}.")
        amax = alpha_max(X, y, M)
        if amax == 0:
            raise ValueError("alpha_max is 0 (y is orthogonal to every masked feature): no path.")
        alphas = amax * np.geomspace(1, eps, n_alphas)
    else:
        alphas = np.asarray(alphas, dtype=float).ravel()
        if alphas.size == 0:
            raise ValueError("alphas is empty.")
        for a in alphas:
            check_positive(a, "every alpha")
        alphas = np.sort(alphas)[::-1]
    results = []
    init = None
    with jax.enable_x64(True):
        lipschitz = float(jax.jit(power_lipschitz)(jnp.asarray(X), jnp.asarray(M)))
    for a in alphas:
        res = solve_group_lasso(
            X, y, M, float(a), tol=tol, max_iter=max_iter, init=init, lipschitz=lipschitz
        )
        results.append(res)
        init, lipschitz = res.coef, res.lipschitz
    return results
