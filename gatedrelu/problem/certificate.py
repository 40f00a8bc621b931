r"""Objective, dual point, duality gap and ``alpha_max`` for any datafit x penalty: one place.

For ``F(U) = f(A(U)) + alpha * Omega(U)`` (``docs/math.md``) and a primal point ``U``:

* ``theta0 = dual_point(A(U))`` (``-grad f``; for the squared loss the residual over ``n``);
* it is scaled into the dual feasible set, ``theta = s theta0`` with
  ``s = penalty.dual_scale(A^T theta0, alpha)`` (``min(1, alpha / Omega^*(A^T theta0))`` for a
  norm);
* ``gap(U) = F(U) - [dual_value(theta) - (alpha Omega)^*(A^T theta)] >= 0`` bounds
  ``F(U) - F*`` (the conjugate term is 0 for a norm penalty).

``alpha_max = penalty.dual_norm(A^T dual_point(0))``: ``U = 0`` is optimal iff
``alpha >= alpha_max``.
Every solver stops on this gap and every result reports it, recomputed here.

A problem with a ``constraint`` ``C(U) >= 0`` (the cone constraints of convex ReLU networks) is
certified by :func:`certify_constrained`: the dual point is ``(theta0, Lambda)`` with multipliers
``Lambda >= 0`` (from the solver; 0 when none are given), ``A^T theta0`` becomes
``A^T theta0 + C^T Lambda`` and both are scaled together into the dual feasible set; the
certificate also reports the largest constraint violation (``docs/math.md``, "Convex ReLU
networks").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
import scipy.linalg

from ..operator import adjoint, forward, is_packed, mask_columns, xp_of
from .datafits import Quadratic
from .penalties import GroupL2

__all__ = ["Problem", "certify", "refined_dual", "curvature", "certify_constrained", "certify_numpy", "alpha_max_of", "Certificate",
           "dual_objective", "refined_constrained_gap"]


@dataclass(frozen=True)
class Problem:
    """One instance of the convex program, as every solver receives it (validated arrays).

    Attributes
    ----------
    X : ndarray of shape (n, d)
        Inputs as the network sees them (bias column included).
    M : bool ndarray of shape (n, P)
        Activation patterns ``D_i = diag(M[:, i])``.
    y : ndarray of shape (n,) or (n, c)
        Targets, in X's dtype.
    alpha : float
        Regularisation strength.
    datafit, penalty : objects of :mod:`gatedrelu.problem.datafits` / ``penalties``
    constraint : object or None
        A constraint of :mod:`gatedrelu.problem.constraints`: linear constraints on the groups (the cone constraints of convex ReLU networks); only
        solvers whose ``supports`` accepts them solve such a problem.
    """

    X: np.ndarray
    M: np.ndarray
    y: np.ndarray
    alpha: float
    datafit: object = field(default_factory=Quadratic)
    penalty: object = field(default_factory=GroupL2)
    constraint: object = None

    @property
    def n(self) -> int:
        return self.X.shape[0]

    @property
    def d(self) -> int:
        return self.X.shape[1]

    @property
    def n_groups(self) -> int:
        return self.M.shape[1]

    @property
    def n_outputs(self) -> int:
        return 1 if self.y.ndim == 1 else self.y.shape[1]

    @property
    def coef_shape(self) -> tuple:
        return (self.n_groups, self.d) if self.y.ndim == 1 else (self.n_groups, self.d, self.y.shape[1])


def dual_objective(datafit, penalty, theta0, Atheta0, y, alpha, metric=None):
    """Dual objective at the feasible rescaling of ``theta0`` (``Atheta0 = A^T theta0``)."""
    s = penalty.dual_scale(Atheta0, alpha, metric)
    return datafit.dual_value(s * theta0, y) - penalty.conjugate(s * Atheta0, alpha, metric)


def certify(datafit, penalty, X, M, y, U, alpha, metric=None):
    """Traceable certificate at ``U`` (``metric``: preconditioned variables, see the penalty).

    Returns
    -------
    z : (n[, c]) predictions ``A(U)``
    Atheta0 : (P, d[, c]) ``A^T dual_point(z)`` (minus the gradient of the datafit in ``U``)
    F : () objective
    gap : () duality gap
    """
    z = forward(X, M, U)
    theta0 = datafit.dual_point(z, y)
    Atheta0 = adjoint(X, M, theta0)
    F = datafit.value(z, y) + alpha * penalty.value(U, metric)
    return z, Atheta0, F, F - dual_objective(datafit, penalty, theta0, Atheta0, y, alpha, metric)


_certify_jit = jax.jit(certify, static_argnums=(0, 1))


def certify_constrained(datafit, penalty, constraint, X, M, y, U, multipliers, alpha):
    """Traceable certificate at ``U`` of a problem with ``constraint(U) >= 0`` and multipliers
    ``multipliers`` (clipped at 0): the Lagrangian dual point ``(theta0, Lambda)`` is scaled
    jointly into the dual feasible set ``Omega^*(A^T theta + C^T Lambda) <= alpha``.

    Returns
    -------
    z : (n[, c]) predictions ``A(U)``
    G : (P, d[, c]) ``A^T theta0 + C^T Lambda``
    F : () objective (of ``U``, feasible or not)
    gap : () ``F - dual value``: bounds ``F(U) - F*`` from above (``F* >= dual value``)
    violation : () the largest constraint violation ``max(0, -min C(U))``
    """
    xp = xp_of(X, U, multipliers)
    z = forward(X, M, U)
    theta0 = datafit.dual_point(z, y)
    G = adjoint(X, M, theta0) + constraint.adjoint(X, M, xp.maximum(multipliers, 0))
    F = datafit.value(z, y) + alpha * penalty.value(U)
    gap = F - dual_objective(datafit, penalty, theta0, G, y, alpha)
    return z, G, F, gap, constraint.violation(X, M, U)


_certify_constrained_jit = jax.jit(certify_constrained, static_argnums=(0, 1, 2))


#: The refined dual point forms the masked directions of the support in row blocks of at most
#: this many entries.
REFINE_BLOCK = 2**22


def curvature(datafit, z, y):
    """The datafit's curvature in the predictions, one value per sample, shape (n,): its
    diagonal Hessian (the largest entry over outputs; for a (c, c) block per sample, its largest
    diagonal entry), or its Lipschitz constant where it defines no Hessian."""
    if datafit.hessian is None:
        return np.full(y.shape[0], float(datafit.lipschitz(y)))
    H = np.asarray(datafit.hessian(np.asarray(z, np.float64), np.asarray(y, np.float64)))
    if H.ndim == 3:
        H = np.diagonal(H, axis1=1, axis2=2)
    return H.reshape(y.shape[0], -1).max(axis=1)


def refined_dual(datafit, penalty, X, M, y, U, z, theta0, Atheta0, alpha, adjoint_fn=None):
    r"""A better dual point than ``theta0`` for the group-L2 penalty: ``(theta1, A^T theta1)``, or
    None when it does not apply (another penalty, an empty support).

    Scaling ``theta0 = -grad f`` into the dual feasible set loses a term of first order in the
    distance to the optimum (the scale is set by the support's groups, where ``||A_i^T theta0||``
    exceeds ``alpha`` by that much), so the plain gap is about the square root of the
    suboptimality. The smallest correction ``delta`` of ``theta0`` with
    ``<v_i, A_i^T (theta0 + delta)> = alpha`` on the support (``v_i = u_i / ||u_i||``) removes
    that term: ``delta = B c`` with ``B = [D_i X v_i]_{i in S}`` and ``(B^T B) c = alpha - <v_i,
    A_i^T theta0>``; the remaining violation is of second order, and the usual scaling makes the
    point feasible (``docs/math.md``, "Cheap certificates"). Numpy, float64, ``O(n |S| d c +
    n |S|^2 c)`` and one adjoint (``adjoint_fn(delta)`` if given, else
    :func:`gatedrelu.operator.adjoint`); the directions are formed in row blocks.
    """
    if not isinstance(penalty, GroupL2):
        return None
    U = np.asarray(U, np.float64)
    P, d = U.shape[:2]
    n = X.shape[0]
    c = 1 if U.ndim == 2 else U.shape[2]
    U3 = U.reshape(P, d, c)
    G3 = np.asarray(Atheta0, np.float64).reshape(P, d, c)
    norms = np.sqrt(np.einsum("pdc,pdc->p", U3, U3))
    S = np.flatnonzero(norms > 0)
    s = S.size
    if s == 0 or s > n * c:
        return None
    V = U3[S] / norms[S, None, None]
    excess = alpha - np.einsum("sdc,sdc->s", V, G3[S])
    # the correction is smallest in the dual's own metric, diag(h)^{-1}: where the datafit is
    # flat (h ~ 0: a confidently classified sample, whose dual coordinate sits at the edge of
    # its domain) it does not move
    h = curvature(datafit, z, y)
    h = (h / max(float(h.max()), np.finfo(float).tiny))[:, None]
    rows = max(8, REFINE_BLOCK // (s * c) // 8 * 8)

    Vm = np.ascontiguousarray(V.transpose(1, 0, 2).reshape(d, s * c))

    def directions(start, stop):  # (rows c, s): D_i X v_i on rows start:stop, one GEMM
        Xb = np.asarray(X[start:stop], np.float64)
        Mb = mask_columns(M[start // 8:(stop + 7) // 8] if is_packed(M) else M[start:stop], S,
                          stop - start)
        B = (Xb @ Vm).reshape(stop - start, s, c) * Mb[:, :, None]
        return B.transpose(0, 2, 1).reshape(-1, s)

    # a datafit with a free intercept has its dual on the subspace s^T theta = 0 (each output):
    # the correction is taken there, P B c with (B^T P B) c = excess
    centre = getattr(datafit, "centre", None)
    if centre is not None:
        sv = getattr(datafit, "sqrt_weights", None)
        sv = np.ones(n) if sv is None else np.asarray(sv, np.float64)
        Bs = np.zeros((c, s))
    gram = np.zeros((s, s))
    for start in range(0, n, rows):
        stop = min(start + rows, n)
        B = directions(start, stop)
        gram += B.T @ (B * np.repeat(h[start:stop, 0], c)[:, None])
        if centre is not None:
            Bs += (B.reshape(stop - start, c, s) * sv[start:stop, None, None]).sum(axis=0)
    if centre is not None:
        gram -= Bs.T @ Bs / float(sv @ sv)
    try:
        coef = scipy.linalg.solve(gram + 1e-13 * np.trace(gram) / s * np.eye(s), excess,
                                  assume_a="pos")
    except (np.linalg.LinAlgError, ValueError):
        return None
    delta = np.empty((n, c))
    for start in range(0, n, rows):
        stop = min(start + rows, n)
        delta[start:stop] = (directions(start, stop) @ coef).reshape(-1, c) * h[start:stop]
    if centre is not None:
        delta = centre(delta)
    theta0 = np.asarray(theta0, np.float64)
    delta = delta.reshape(theta0.shape)
    if adjoint_fn is None:
        G1 = np.asarray(Atheta0, np.float64) + adjoint(np.asarray(X, np.float64), M, delta)
    else:
        G1 = np.asarray(Atheta0, np.float64) + np.asarray(adjoint_fn(delta), np.float64)
    return theta0 + delta, G1


@dataclass(frozen=True)
class Certificate:
    """Objective and duality gap of a point, as plain floats, plus the per-group dual norms."""

    objective: float
    dual_gap: float
    dual_norms: np.ndarray | None  # (P,) ||A_i^T theta0|| (screening, KKT) for pattern groups
    finite: bool
    #: Constrained problems: the largest violation ``max(0, -min C(U))`` (units of predictions),
    #: and the same over the constraint's scale (the RMS of the targets), compared with ``tol``.
    constraint_violation: float = 0.0
    relative_violation: float = 0.0

    @property
    def relative_gap(self) -> float:
        return self.dual_gap / self.objective if self.objective > 0 else 0.0


#: Problems with at most this many ``n * P * d * c`` are certified with numpy (no compilation per
#: shape); larger ones with the compiled JAX function...
NUMPY_SIZE = 2_000_000
#: ... except on a CPU backend up to this size, where numpy's products are as fast and a first
#: call compiles nothing (R1 of the benchmark, 1.25e8, certified cold as warm). Beyond it the
#: compiled, blocked JAX maps are faster and lighter (n 200,000, d 100, 2,000 gates: numpy's
#: ``where`` adjoint took several times longer per call).
NUMPY_CPU_SIZE = 500_000_000


def refine_pays(gap: float, objective: float, tol: float) -> bool:
    """Whether the refined dual point may certify ``tol`` where the plain gap does not: its gap
    is about the suboptimality, the plain one about its square root, so it is tried from a plain
    relative gap of ``REFINE_BELOW * sqrt(tol)`` (at most ``REFINE_MAX``) down to ``tol``."""
    return tol * objective < gap <= min(REFINE_BELOW * np.sqrt(tol), REFINE_MAX) * objective


#: See :func:`refine_pays`.
REFINE_BELOW = 3.0
REFINE_MAX = 1e-2


def certify_numpy(problem: Problem, U, multipliers=None, refine: bool = True,
                  tol: float | None = None) -> Certificate:
    """The certificate of ``U`` for ``problem``, computed in the problem's dtype.

    ``refine``: also try the dual point of :func:`refined_dual` (with ``tol``: only where
    :func:`refine_pays`) and report the smaller gap (both
    are valid bounds); ``dual_norms`` are those of the dual point that gave it.

    ``multipliers``: for a constrained problem, the solver's ``Lambda >= 0`` (the constraint's
    ``multiplier_shape``); None means 0, a valid but looser dual point.
    """
    if problem.constraint is not None:
        return _certify_constrained_numpy(problem, U, multipliers)
    if multipliers is not None:
        raise ValueError("multipliers were given for a problem without constraints.")
    dt = problem.X.dtype
    size = problem.n * problem.n_groups * problem.d * problem.n_outputs
    if size <= NUMPY_SIZE or (size <= NUMPY_CPU_SIZE and jax.default_backend() == "cpu"):
        alpha = dt.type(problem.alpha)
        z, Atheta0, F, gap = certify(problem.datafit, problem.penalty, problem.X, problem.M,
                                     problem.y, np.asarray(U, dt), alpha)
        F, gap = float(F), float(gap)
        if refine and np.isfinite(gap) and gap > 0 and (tol is None or refine_pays(gap, F, tol)):
            theta0 = problem.datafit.dual_point(z, problem.y)
            better = refined_dual(problem.datafit, problem.penalty, problem.X, problem.M,
                                  problem.y, U, z, theta0, Atheta0, float(problem.alpha))
            if better is not None:
                y64 = np.asarray(problem.y, np.float64)
                with np.errstate(all="ignore"):
                    gap1 = F - float(dual_objective(problem.datafit, problem.penalty, better[0],
                                                    better[1], y64, float(problem.alpha)))
                if np.isfinite(gap1) and gap1 < gap:
                    gap, Atheta0 = max(gap1, 0.0), better[1]
        norms = _pattern_norms(problem.penalty, Atheta0)
    else:
        with jax.enable_x64(True):
            _, Atheta0, F, gap = _certify_jit(
                problem.datafit,
                problem.penalty,
                jnp.asarray(problem.X),
                jnp.asarray(problem.M),
                jnp.asarray(problem.y),
                jnp.asarray(U, dt),
                jnp.asarray(problem.alpha, dt),
            )
            norms = _pattern_norms(problem.penalty, Atheta0)
    F, gap = float(F), float(gap)
    finite = bool(np.isfinite(F) and np.isfinite(gap) and np.all(np.isfinite(U)))
    return Certificate(F, gap, norms, finite)


def refined_constrained_gap(problem: Problem, U, z, theta0, G, F: float, gap: float) -> float:
    """The smaller of ``gap`` and the gap at the refined dual point of a cone-constrained
    problem: :func:`refined_dual` with ``G = A^T theta0 + C^T Lambda`` in place of
    ``A^T theta0`` (``docs/math.md``, "Convex ReLU networks", "The certificate"); the
    multipliers are kept and scaled with ``theta1``, so the point is dual feasible."""
    better = refined_dual(problem.datafit, problem.penalty, problem.X, problem.M, problem.y,
                          np.asarray(U, np.float64), z, theta0, G, float(problem.alpha))
    if better is None:
        return gap
    y64 = np.asarray(problem.y, np.float64)
    with np.errstate(all="ignore"):
        gap1 = F - float(dual_objective(problem.datafit, problem.penalty, better[0], better[1],
                                        y64, float(problem.alpha)))
    return max(gap1, 0.0) if np.isfinite(gap1) and gap1 < gap else gap


def _certify_constrained_numpy(problem: Problem, U, multipliers) -> Certificate:
    dt = problem.X.dtype
    c = problem.constraint
    shape = c.multiplier_shape(problem)
    if multipliers is None:
        Lam = np.zeros(shape, dt)
    else:
        Lam = np.asarray(multipliers, dt)
        if Lam.shape != shape:
            raise ValueError(f"multipliers must have shape {shape}; got {Lam.shape}.")
    args = (problem.X, problem.M, problem.y, np.asarray(U, dt), Lam)
    size = problem.n * problem.n_groups * problem.d * problem.n_outputs
    if size <= NUMPY_SIZE or (size <= NUMPY_CPU_SIZE and jax.default_backend() == "cpu"):
        z, G, F, gap, viol = certify_constrained(problem.datafit, problem.penalty, c, *args,
                                                 dt.type(problem.alpha))
        norms = _pattern_norms(problem.penalty, G)
        F, gap = float(F), float(gap)
        if np.isfinite(gap) and gap > 0 and gap <= REFINE_MAX * F:
            gap = refined_constrained_gap(problem, U, z, problem.datafit.dual_point(z, problem.y),
                                          G, F, gap)
    else:
        with jax.enable_x64(True):
            _, G, F, gap, viol = _certify_constrained_jit(
                problem.datafit, problem.penalty, c, *map(jnp.asarray, args),
                jnp.asarray(problem.alpha, dt))
            norms = _pattern_norms(problem.penalty, G)
    F, gap, viol = float(F), float(gap), float(viol)
    finite = bool(np.isfinite(F) and np.isfinite(gap) and np.isfinite(viol)
                  and np.all(np.isfinite(U)) and np.all(np.isfinite(Lam)))
    return Certificate(F, gap, norms, finite, viol, viol / c.violation_scale(problem.y))


def _pattern_norms(penalty, Atheta0):
    if not penalty.pattern_groups:
        return None
    return np.asarray(penalty.dual_group_norms(Atheta0))


@partial(jax.jit, static_argnums=(0, 1))
def _alpha_max(datafit, penalty, X, M, y):
    theta0 = datafit.dual_point(jnp.zeros_like(y), y)
    return penalty.dual_norm(adjoint(X, M, theta0))


def alpha_max_of(X, M, y, datafit=None, penalty=None) -> float:
    """``alpha_max`` of validated arrays (see :func:`gatedrelu.alpha_max` for the public one)."""
    datafit = Quadratic() if datafit is None else datafit
    penalty = GroupL2() if penalty is None else penalty
    n_out = 1 if np.ndim(y) == 1 else np.shape(y)[1]
    size = np.shape(X)[0] * np.shape(M)[1] * np.shape(X)[1] * n_out
    if size <= NUMPY_CPU_SIZE and jax.default_backend() == "cpu":  # nothing to compile
        X, M, y = np.asarray(X), np.asarray(M), np.asarray(y)
        theta0 = datafit.dual_point(np.zeros_like(y), y)
        return float(penalty.dual_norm(adjoint(X, M, theta0)))
    with jax.enable_x64(True):
        return float(_alpha_max(datafit, penalty, jnp.asarray(X), jnp.asarray(M), jnp.asarray(y)))
