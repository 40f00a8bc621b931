r"""The convex program of gated ReLU training: the group lasso (GL) over masked features.

.. math::

    F(U) = \frac{1}{2n} \Big\| \sum_i D_i X u_i - y \Big\|^2 + \alpha \sum_i \|u_i\|_2

with ``U`` of shape (P, d), or (P, d, c) for c outputs (Frobenius group norms). See
``docs/math.md`` for ``alpha_max``, the KKT conditions and the duality gap used to stop.

This module is the public face: it validates, builds a :class:`gatedrelu.problem.Problem`
(datafit x penalty), runs a solver of the registry :mod:`gatedrelu.solvers` ("auto",
"working_set", "newton", "fista", "cvxpy") and certifies every answer with the same full-problem
duality gap (:mod:`gatedrelu.problem.certificate`).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field, replace
from typing import Literal

import jax
import numpy as np
from sklearn.exceptions import ConvergenceWarning

from ._validation import (
    as_float_array,
    check_int,
    check_nonnegative,
    check_option,
    check_positive,
    check_sample_weight,
    check_targets,
)
from .operator import forward, use_packed
from .patterns import check_patterns
from .problem import (
    DATAFITS,
    PENALTIES,
    Problem,
    alpha_max_of,
    certify_numpy,
    get_datafit,
    make_penalty,
)
from .problem.scaling import rescale
from .solvers import REGISTRY
from .solvers import SOLVERS as _SOLVERS
from .solvers import cvxpy as _cvxpy_solver
from .solvers import newton as _newton
from .solvers._sharding import check_devices

__all__ = [
    "GroupLassoResult",
    "solve_group_lasso",
    "group_lasso_path",
    "alpha_max",
    "objective",
    "duality_gap",
]

#: The accepted ``solver=`` names (see :mod:`gatedrelu.solvers`): "auto" first.
SOLVERS = _SOLVERS
#: Every registered name (built from the registry, so a new solver file is listed here too).
Solver = Literal[SOLVERS]
#: The accepted ``loss=`` and ``penalty=`` names (see :mod:`gatedrelu.problem`).
LOSSES = tuple(DATAFITS)
PENALTY_NAMES = tuple(PENALTIES)
#: Largest ``n * P * d * c`` the cvxpy solver accepts by default.
CVXPY_MAX_SIZE = _cvxpy_solver.MAX_SIZE
#: The tolerance is at least this many machine epsilons of the working dtype (about 6e-6 in
#: float32): below that the duality gap is rounding noise.
TOL_FLOOR_EPS = 50


@dataclass(frozen=True)
class GroupLassoResult:
    """Solution of (GL), certified by the full-problem duality gap.

    Attributes
    ----------
    coef : ndarray of shape (P, d) or (P, d, c)
        Group coefficients ``u_i``.
    objective : float
        ``F(coef)``.
    dual_gap : float
        Absolute duality gap ``F(coef) - D(theta)`` (``docs/math.md``); bounds ``F(coef) - F*``.
        Computed by :mod:`gatedrelu.problem.certificate` for every solver.
    n_iter : int
        Iterations of the solver (inner iterations for working sets, Newton steps for newton).
    converged : bool
        Whether the objective and gap are finite and ``dual_gap <= tol * objective``.
    alpha : float
    lipschitz : float or None
        Final step-size constant of a first-order solver (reusable as a warm start).
    solver : str
        The solver that was asked for.
    status : str
        What the solver(s) reported, e.g. ``"newton: converged"``.
    info : dict
        Solver diagnostics (working-set outer iterations, screened groups, ...); for constrained
        problems ``info["multipliers"]`` holds the multipliers of the certificate.
    constraint_violation : float
        Constrained problems (convex ReLU): the largest constraint violation at ``coef``, in
        units of the predictions (``docs/math.md``); 0 for the group lasso.
    intercept : float or ndarray of shape (c,)
        The unpenalised intercept ``b`` of ``loss="squared_intercept"`` (the weighted mean of
        ``y - A(coef)``: predictions are ``A(coef) + b``); 0.0 for the other losses.
    """

    coef: np.ndarray
    objective: float
    dual_gap: float
    n_iter: int
    converged: bool
    alpha: float
    lipschitz: float | None = None
    solver: str = "auto"
    status: str = ""
    info: dict = field(default_factory=dict, compare=False, repr=False)
    constraint_violation: float = 0.0
    intercept: float | np.ndarray = 0.0

    @property
    def relative_gap(self) -> float:
        """``dual_gap / objective`` (0 when both are 0)."""
        return self.dual_gap / self.objective if self.objective > 0 else 0.0

    @property
    def n_active(self) -> int:
        """Number of non-zero groups (active neurons)."""
        return int(np.count_nonzero(np.linalg.norm(self.coef.reshape(self.coef.shape[0], -1), axis=1)))


# --------------------------------------------------------------------------- validation helpers


def _masks_of(patterns, n_samples: int, packed: bool = False) -> np.ndarray:
    """Boolean masks (n, P) from an ActivationPatterns or a boolean array; with ``packed``, a
    large ActivationPatterns gives its bit-packed masks (``operator.use_packed``)."""
    if packed and use_packed(patterns, n_samples):
        return patterns.packed_masks
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


def _check_problem(X, y, patterns, packed=False):
    X = as_float_array(X, "X")
    y = check_targets(y, X.shape[0], X.dtype)  # the computation follows X's dtype
    check_patterns(patterns, X)
    return X, y, _masks_of(patterns, X.shape[0], packed)


def make_problem(X, y, M, alpha, loss="squared", penalty="group_l2", sample_weight=None,
                 constraint=None, l1_ratio=1.0, feature_weight=None) -> Problem:
    """The :class:`Problem` of validated arrays: the loss checks its targets, and sample weights
    are folded into the data by the loss (``docs/math.md``, "Sample weights"); the penalty is
    built by :func:`gatedrelu.problem.make_penalty` from ``penalty``, ``l1_ratio`` and
    ``feature_weight``."""
    datafit = get_datafit(loss)
    penalty = make_penalty(penalty, l1_ratio=l1_ratio, feature_weight=feature_weight)
    datafit.check_targets(y)
    w = check_sample_weight(sample_weight, X.shape[0])
    if w is not None:
        X, y = datafit.apply_weights(X, y, w)
        X, y = np.ascontiguousarray(X), np.ascontiguousarray(y)
        datafit = datafit.weighted(w)
    return Problem(X, M, y, float(alpha), datafit, penalty, constraint)


def _check_init(init, P: int, d: int, y: np.ndarray, dtype) -> np.ndarray:
    shape = (P, d) if y.ndim == 1 else (P, d, y.shape[1])
    if init is None:
        return np.zeros(shape, dtype)
    init = np.asarray(getattr(init, "coef", init))
    if init.shape != shape:
        raise ValueError(f"init must have shape {shape} (n_patterns, n_features[, n_outputs]); got {init.shape}.")
    return as_float_array(init, "init", ndim=init.ndim, dtype=dtype)


# --------------------------------------------------------------------------- reference quantities


def _evaluate(X, y, patterns, coef, alpha, loss, penalty, sample_weight, l1_ratio, feature_weight):
    """Objective and duality gap at ``coef`` (numpy in, float out), in the input's precision."""
    X, y, M = _check_problem(X, y, patterns)
    U = _check_init(coef, M.shape[1], X.shape[1], y, X.dtype)
    cert = certify_numpy(make_problem(X, y, M, alpha, loss, penalty, sample_weight,
                                      l1_ratio=l1_ratio, feature_weight=feature_weight), U)
    return cert.objective, cert.dual_gap


def objective(X, y, patterns, coef, alpha, *, loss="squared", penalty="group_l2",
              sample_weight=None, l1_ratio=1.0, feature_weight=None) -> float:
    """The objective ``F(coef) = f(A(coef)) + alpha * Omega(coef)`` (``docs/math.md``).

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    y : array-like of shape (n_samples,) or (n_samples, n_outputs)
    patterns : ActivationPatterns or bool array of shape (n_samples, n_patterns)
    coef : array-like of shape (n_patterns, n_features[, n_outputs])
    alpha : float
    loss, penalty, sample_weight, l1_ratio, feature_weight : as in :func:`solve_group_lasso`
    """
    alpha = check_nonnegative(alpha, "alpha")
    return _evaluate(X, y, patterns, coef, alpha, loss, penalty, sample_weight, l1_ratio,
                     feature_weight)[0]


def duality_gap(X, y, patterns, coef, alpha, *, loss="squared", penalty="group_l2",
                sample_weight=None, l1_ratio=1.0, feature_weight=None) -> float:
    """Absolute duality gap at ``coef`` (``docs/math.md``): an upper bound on ``F(coef) - F*``."""
    alpha = check_positive(alpha, "alpha")
    return _evaluate(X, y, patterns, coef, alpha, loss, penalty, sample_weight, l1_ratio,
                     feature_weight)[1]


def alpha_max(X, y, patterns, *, loss="squared", penalty="group_l2", sample_weight=None,
              l1_ratio=1.0, feature_weight=None) -> float:
    """Smallest ``alpha`` for which ``U = 0`` is optimal: ``Omega^*(A^T (-grad f(0)))``.

    For the squared loss and the group-L2 penalty this is ``max_i ||X^T D_i y|| / n``; a ridge
    term (``l1_ratio < 1``) divides it by ``l1_ratio``.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    y : array-like of shape (n_samples,) or (n_samples, n_outputs)
    patterns : ActivationPatterns or bool array of shape (n_samples, n_patterns)
    loss, penalty, sample_weight, l1_ratio, feature_weight : as in :func:`solve_group_lasso`
    """
    X, y, M = _check_problem(X, y, patterns, packed=True)  # large patterns stay bit-packed
    X, y = X.astype(np.float64), y.astype(np.float64)
    p = make_problem(X, y, M, 1.0, loss, penalty, sample_weight, l1_ratio=l1_ratio,
                     feature_weight=feature_weight)
    return alpha_max_of(p.X, p.M, p.y, p.datafit, p.penalty)


# --------------------------------------------------------------------------- solve


def _check_solver_options(solver: str, **given):
    """Refuse options that the chosen solver does not use (nothing is silently ignored)."""
    accepted = REGISTRY[solver].options
    bad = [k for k, v in given.items() if v is not None and k not in accepted]
    if bad:
        users = sorted(n for n, s in REGISTRY.items() if all(k in s.options for k in bad))
        raise ValueError(
            f"{', '.join(bad)} {'is' if len(bad) == 1 else 'are'} not used by solver={solver!r}"
            + (f"; solvers that use {'it' if len(bad) == 1 else 'them'}: {', '.join(map(repr, users))}."
               if users else ".")
        )


def _tolerance(tol, dtype, stacklevel=3) -> float:
    tol = check_nonnegative(tol, "tol")
    floor = TOL_FLOOR_EPS * float(np.finfo(dtype).eps)
    if tol < floor:
        warnings.warn(
            f"tol={tol:.1e} is below what {np.dtype(dtype)} arithmetic can certify; using "
            f"{floor:.1e} ({TOL_FLOOR_EPS} machine epsilons) instead.",
            UserWarning,
            stacklevel=stacklevel,
        )
        tol = floor
    return tol


def _hint(solver: str, status: str, problem: Problem) -> str:
    if "not finite" in status:
        return ("The objective overflowed: scale X and y (e.g. StandardScaler) or check them "
                "for extreme values.")
    if solver == "cvxpy":
        return "Try solver='auto'."
    if problem.constraint is not None:
        return ("To fix: increase max_iter; loosen tol; standardise X (StandardScaler); or try "
                "solver='cvxpy' on small problems.")
    tips = ["increase max_iter", "loosen tol"]
    ratio = problem.alpha / max(_alpha_max_of_problem(problem), np.finfo(float).tiny)
    if ratio < 1e-6:
        tips.insert(0, f"alpha is {ratio:.1e} x alpha_max, so the problem is nearly "
                       "unregularised (an interpolation problem, ill-posed and slow): choose alpha "
                       "relative to alpha_max(X, y, patterns), as the CV estimators do")
    newton_ok = REGISTRY["newton"].supports(problem) is None
    if solver not in ("newton", "auto") and newton_ok:
        tips.append("try solver='newton' (second order, insensitive to conditioning)")
    tips.append("standardise X (StandardScaler): features on very different scales or far "
                "from zero make the groups nearly collinear")
    if not newton_ok and solver != "newton":
        tips.append(f"or subsample to n <= {_newton.MAX_N} "
                    "samples for the Newton solver")
    return "To fix: " + "; ".join(tips) + "."


def _alpha_max_of_problem(problem: Problem) -> float:
    X, y = problem.X.astype(np.float64), problem.y.astype(np.float64)
    return alpha_max_of(X, problem.M, y, problem.datafit, problem.penalty)


def _run(problem: Problem, solver: str, tol: float, max_iter, U0, options, stacklevel=3):
    """Run a registered solver, then certify its answer with the full-problem gap."""
    spec = REGISTRY[solver]
    why = spec.supports(problem)
    if why is not None:
        raise ValueError(f"solver={solver!r} cannot solve this problem: {why}.")
    max_iter = spec.default_max_iter if max_iter is None else max_iter
    opts = {k: v for k, v in options.items() if v is not None and k in spec.options}
    # data far from unit scale are solved exactly rescaled (powers of two), see problem/scaling.py
    scaled, scaling = rescale(problem)
    if not scaling.identity:
        U0 = scaling.coef_to_scaled(U0)
        if "lipschitz" in opts:
            opts["lipschitz"] *= scaling.lipschitz_factor
        if "alpha_prev" in opts:
            opts["alpha_prev"] *= scaling.alpha_factor
    out = spec.solve(scaled, U0, tol, max_iter, **opts)
    # constrained problems: certified by the gap with the solver's multipliers and by the
    # constraint violation (docs/math.md, "Convex ReLU networks")
    multipliers = out.info.get("multipliers") if problem.constraint is not None else None
    cert = certify_numpy(scaled, np.asarray(out.coef, dtype=problem.X.dtype), multipliers)
    if spec.warm_start and not (cert.finite and cert.dual_gap <= tol * cert.objective):
        # an unfinished solve never returns worse than where it started
        start = certify_numpy(scaled, U0)
        if (start.finite and start.relative_violation <= tol
                and (not cert.finite or start.objective < cert.objective)):
            out.coef, cert = U0, start
            out.status += " (the start was better, returned unchanged)"
    coef = np.asarray(scaling.coef_from_scaled(out.coef), dtype=problem.X.dtype)
    objective = cert.objective * scaling.objective_factor
    dual_gap = cert.dual_gap * scaling.objective_factor
    lipschitz = None
    if out.lipschitz is not None:
        with np.errstate(over="ignore", divide="ignore"):
            lipschitz = out.lipschitz * scaling.sx * scaling.sx
        lipschitz = float(lipschitz) if np.isfinite(lipschitz) and lipschitz > 0 else None
    finite = cert.finite and np.isfinite(objective) and np.all(np.isfinite(coef))
    # the relative gap of the scaled problem is exact (powers of two), also when F underflows
    converged = bool(finite and cert.dual_gap <= tol * cert.objective
                     and cert.relative_violation <= tol)
    violation = cert.constraint_violation * scaling.sy
    if multipliers is not None and not scaling.identity:
        out.info["multipliers"] = np.asarray(multipliers) * problem.X.dtype.type(scaling.sy)
    steps = out.info.get("steps")
    status = "; ".join(steps) if steps else out.status
    result = GroupLassoResult(
        coef, objective, dual_gap, int(out.n_iter), converged, problem.alpha,
        lipschitz, solver, status, out.info, violation, _intercept(scaled, out.coef, scaling),
    )
    if opts.get("verbose"):  # the certificate of the answer (a solver may stop on another gap)
        print(f"[{solver}] certified: F {objective:.10g}  rel gap {result.relative_gap:.2e}",
              flush=True)
    if not converged:
        # only a solve that used its whole budget says so (a sub-solver's own cap is a stop)
        what = (f"reached max_iter={max_iter}" if out.status == "max_iter" and out.n_iter >= max_iter
                else f"stopped ({status})")
        detail = f"(relative {result.relative_gap:.3e} > tol={tol:.1e})"
        if problem.constraint is not None:
            detail = (f"(relative {result.relative_gap:.3e}) and constraint violation "
                      f"{violation:.3e} (relative {cert.relative_violation:.3e}); both must be "
                      f"<= tol={tol:.1e}")
        warnings.warn(
            f"solver={solver!r} {what} after {out.n_iter} iterations with duality gap "
            f"{cert.dual_gap:.3e} {detail}. "
            + _hint(solver, status, scaled),
            ConvergenceWarning,
            stacklevel=stacklevel,
        )
    return result


def _intercept(problem: Problem, U, scaling):
    """The profiled intercept of a datafit that has one (in the user's units), else 0.0."""
    if not problem.datafit.has_intercept:
        return 0.0
    with jax.enable_x64(True):
        z = np.asarray(forward(problem.X, problem.M, np.asarray(U, problem.X.dtype)))
    b = np.asarray(problem.datafit.intercept(z, problem.y), dtype=problem.X.dtype) * scaling.sy
    return b if b.ndim else float(b)


def solve_group_lasso(
    X,
    y,
    patterns,
    alpha,
    *,
    solver: Solver = "auto",
    tol: float = 1e-6,
    max_iter: int | None = None,
    init=None,
    lipschitz: float | None = None,
    cvxpy_max_size: int | None = None,
    devices=None,
    verbose: int = 0,
    loss: str = "squared",
    penalty="group_l2",
    sample_weight=None,
    l1_ratio: float = 1.0,
    feature_weight: float | None = None,
) -> GroupLassoResult:
    """Solve the group lasso (GL) of a gated ReLU network with fixed gates.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Inputs as the network sees them (append a column of ones for biases).
    y : array-like of shape (n_samples,) or (n_samples, n_outputs)
    patterns : ActivationPatterns or bool array of shape (n_samples, n_patterns)
    alpha : float
        Regularisation strength (> 0), scaled as in ``docs/math.md``.
    solver : {"auto", "working_set", "newton", "fista", "cvxpy"}, default "auto"
        ``"auto"`` picks by size and switches when progress stalls (:mod:`gatedrelu.solvers.auto`);
        ``"working_set"``: FISTA on working sets with gap-safe screening; ``"newton"``: projected
        Newton on the kernel weights (n <= 4000); ``"fista"``: plain accelerated proximal
        gradient over every pattern; ``"cvxpy"``: the CVXPY/Clarabel reference.
    tol : float, default 1e-6
        Every solver stops once ``dual_gap <= tol * objective`` (the same full-problem gap).
    max_iter : int, optional
        Iteration limit (default: the solver's own; see ``gatedrelu.solvers.REGISTRY``).
    init : array-like of shape (n_patterns, n_features[, n_outputs]) or GroupLassoResult, optional
        Warm start (every solver but cvxpy).
    lipschitz : float, optional
        Initial step-size constant of the first-order solvers (e.g. ``result.lipschitz``).
    cvxpy_max_size : int, optional
        The cvxpy solver raises a ValueError when ``n * P * d * c`` exceeds this (default 5e6).
    devices : None, "all" or list of jax.Device
        ``solver="fista"`` (and ``"auto"``, which then uses fista): several devices shard the
        activation patterns across them.
    verbose : int, default 0
        Print the solver's progress (gap per outer iteration or step).
    loss : str, default "squared"
        The datafit, a name of ``gatedrelu.problem.DATAFITS`` (``docs/math.md`` gives each one's
        targets and dual); every loss is averaged over samples.
    penalty : str or Penalty, default "group_l2"
        A name of ``gatedrelu.problem.PENALTIES`` (``"group_l2"``: neuron sparsity; ``"feature"``:
        input-feature sparsity; ``"group_l2+feature"``: both) or a penalty object.
    sample_weight : array-like of shape (n_samples,), optional
        Non-negative weights: the loss becomes ``(1/sum w) sum_k w_k l_k`` (integer weights equal
        repeated rows, a zero weight equals removing the row).
    l1_ratio : float in (0, 1], default 1.0
        Below 1, a ridge term is mixed into the penalty:
        ``alpha * (l1_ratio * Omega(U) + (1 - l1_ratio)/2 * ||U||_F^2)`` (``docs/math.md``,
        "Penalties").
    feature_weight : float >= 0, optional
        The weight of the feature groups of ``penalty="group_l2+feature"`` (default 1.0).

    Returns
    -------
    GroupLassoResult

    Warns
    -----
    ConvergenceWarning
        When the certified relative gap is above ``tol`` (budget exhausted, stall, or a
        numerical failure); the message gives the gap, the solver and what to try.
    """
    solver = check_option(solver, "solver", SOLVERS)
    X, y, M = _check_problem(X, y, patterns, packed=solver != "cvxpy")
    alpha = check_positive(alpha, "alpha")
    if max_iter is not None:
        max_iter = check_int(max_iter, "max_iter")
    if lipschitz is not None:
        lipschitz = check_positive(lipschitz, "lipschitz")
    if cvxpy_max_size is not None:
        cvxpy_max_size = check_int(cvxpy_max_size, "cvxpy_max_size")
    devices = check_devices(devices)
    if init is not None and not REGISTRY[solver].warm_start:
        raise ValueError(f"init is not used by solver={solver!r} (it does not warm-start).")
    _check_solver_options(solver, lipschitz=lipschitz, devices=devices, max_size=cvxpy_max_size)
    tol = _tolerance(tol, X.dtype)
    U0 = _check_init(init, M.shape[1], X.shape[1], y, X.dtype)
    problem = make_problem(X, y, M, alpha, loss, penalty, sample_weight, l1_ratio=l1_ratio,
                           feature_weight=feature_weight)
    options = dict(lipschitz=lipschitz, devices=devices, max_size=cvxpy_max_size,
                   verbose=check_int(verbose, "verbose", minimum=0))
    return _run(problem, solver, tol, max_iter, U0, options)


def group_lasso_path(
    X,
    y,
    patterns,
    alphas=None,
    *,
    n_alphas: int = 20,
    eps: float = 1e-2,
    solver: Solver = "auto",
    tol: float = 1e-6,
    max_iter: int | None = None,
    verbose: int = 0,
    loss: str = "squared",
    penalty="group_l2",
    sample_weight=None,
    l1_ratio: float = 1.0,
    feature_weight: float | None = None,
) -> list[GroupLassoResult]:
    """Solutions of (GL) along a decreasing sequence of ``alpha``, warm-started and screened.

    Parameters
    ----------
    X, y, patterns : as in :func:`solve_group_lasso`
    alphas : array-like, optional
        Regularisation values; sorted from large to small. By default ``n_alphas`` values on a
        geometric grid from ``alpha_max`` down to ``eps * alpha_max``.
    n_alphas : int, default 20
    eps : float, default 1e-2
        Must lie in (0, 1).
    solver, tol, max_iter, verbose, loss, penalty, sample_weight, l1_ratio, feature_weight : as in
        :func:`solve_group_lasso`

    Returns
    -------
    list of GroupLassoResult, one per alpha, in decreasing order of alpha.

    Notes
    -----
    Every solve starts from the previous solution. With the working-set solver (and ``auto`` on
    large problems) the first working set at each alpha is the previous support plus the
    sequential strong-rule set, and gap-safe screening runs from the warm start; both are checked
    by the full KKT conditions before a solution is accepted. First-order solvers also reuse the
    previous step-size constant, so the power iteration runs once.
    """
    solver = check_option(solver, "solver", SOLVERS)
    X, y, M = _check_problem(X, y, patterns, packed=solver != "cvxpy")
    if alphas is None:
        n_alphas = check_int(n_alphas, "n_alphas")
        eps = check_positive(eps, "eps")
        if eps >= 1:
            raise ValueError(f"eps must be < 1, got {eps}.")
        amax = alpha_max(X, y, M, loss=loss, penalty=penalty, sample_weight=sample_weight,
                         l1_ratio=l1_ratio, feature_weight=feature_weight)
        if amax == 0:
            raise ValueError("alpha_max is 0 (y is orthogonal to every masked feature): no path.")
        alphas = amax * np.geomspace(1, eps, n_alphas)
    else:
        alphas = np.asarray(alphas, dtype=float).ravel()
        if alphas.size == 0:
            raise ValueError("alphas is empty.")
        for a in alphas:
            check_positive(float(a), "every alpha")
        alphas = np.sort(alphas)[::-1]
    if max_iter is not None:
        max_iter = check_int(max_iter, "max_iter")
    tol = _tolerance(tol, X.dtype)
    verbose = check_int(verbose, "verbose", minimum=0)
    spec = REGISTRY[solver]
    results = []
    U = _check_init(None, M.shape[1], X.shape[1], y, X.dtype)
    base = make_problem(X, y, M, 1.0, loss, penalty, sample_weight, l1_ratio=l1_ratio,
                        feature_weight=feature_weight)
    # the first first-order solve estimates its own step constant (a compiled power iteration
    # here cost 0.6 s of compilation per fold shape even where Newton solved every point)
    lipschitz, alpha_prev = None, None
    for a in alphas:
        problem = replace(base, alpha=float(a))
        options = dict(lipschitz=lipschitz, alpha_prev=alpha_prev, verbose=verbose)
        res = _run(problem, solver, tol, max_iter, U, options)
        results.append(res)
        if spec.warm_start:
            U = res.coef
        lipschitz = res.lipschitz or lipschitz
        alpha_prev = float(a)
    return results
