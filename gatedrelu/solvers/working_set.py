r"""Working sets with gap-safe screening around the compiled FISTA loop.

Outer loop (Python), at the current full iterate ``U``:

1. **Certify** with one full forward and adjoint (:func:`gatedrelu.problem.certify_numpy`):
   objective, duality gap and the per-group dual norms ``||A_i^T theta0||``. Stop when
   ``gap <= tol * F``. This is the only place the solver pays for all ``P`` groups.
2. **Gap-safe screening** (Ndiaye et al. 2017). The dual is ``mu``-strongly concave
   (``mu = n`` for the squared loss), so ``||theta* - theta|| <= sqrt(2 gap / mu)`` for the
   feasible ``theta``, and group ``i`` is zero at every optimum when
   ``||A_i^T theta|| + sqrt(2 gap / mu) ||D_i X||_2 < alpha``. ``||D_i X||_2`` is bounded above
   by ``min(||X||_2, ||D_i X||_F)``. Screened groups are set to zero and never revisited.
3. **Working set**: the non-zero groups plus the groups that violate the KKT conditions most
   (largest ``||A_i^T theta0||``), at least twice the support (as skglm). On a path, the first
   working set is the support plus the strong-rule set ``||A_i^T theta0|| >= 2 alpha - alpha_prev``
   (Tibshirani et al. 2012), a heuristic that step 1 checks on the full problem.
4. **Inner solve**: FISTA on the restricted problem (columns of ``M`` gathered, padded with empty
   patterns to a power of two so that few shapes compile), warm-started, until its own gap is
   below ``max(inner_ratio * outer relative gap, tol / 2)``. When the working set holds every
   surviving group, the inner solve goes straight to ``tol / 2``.
5. **Preconditioning** (scaling robustness). When the feature covariance ``C = X^T X / n`` is
   ill-conditioned (raw features on different scales, offsets against the bias column), inner
   solves run on whitened variables ``u_i = T v_i`` with ``T = C^{-1/2}``: the operator sees
   ``X T`` and the penalty ``||T v_i||`` keeps the problem exactly the same (its prox is solved
   by a 1-D root search per group, see :class:`gatedrelu.problem.GroupL2`). The outer certificate
   is always computed on the original ``U``.
6. **Support polish** (datafits with a Hessian: logistic, multinomial): once the relative gap
   is below ``POLISH_GAP``, Newton's method on the current support
   (:mod:`gatedrelu.solvers._polish`), kept when the full gap certifies it better; a right
   support ends the solve there, a wrong one costs one small factorisation.
7. **Mixed precision**: for float64 problems, while the outer relative gap is above
   ``10 * MIXED_TOL``, inner solves run in float32 to at most ``MIXED_TOL`` (twice the
   matrix-product throughput on CPUs, more on GPUs); the float64 outer certificate decides, and
   the last inner solves polish in float64.
"""

from __future__ import annotations

import numpy as np

from ..operator import mask_column_sums
from ..problem.certificate import Problem, certify_numpy
from . import metric_fista
from ._base import Solver, SolverOutput
from .fista import NUMPY_SIZE, STATUS, _bucket, run_numpy

__all__ = ["SOLVER", "solve", "group_operator_bounds", "gap_safe_screen"]

#: Inner solvers: spike-deflated metric FISTA (numpy; the default), or the compiled FISTA loop
#: (used anyway with whitening or several devices).
INNER_SOLVERS = ("metric_fista", "fista")
#: Smallest working set.
P0 = 16
#: A working set of more than this fraction of the surviving groups becomes all of them (one
#: inner solve to ``tol`` instead of several restarts; R1 at 0.05 alpha_max, where the support
#: is a quarter of the groups: 141 -> 50 inner iterations).
FULL_FRACTION = 0.4
#: Inner tolerance as a fraction of the outer relative gap (celer uses 0.3).
INNER_RATIO = 0.1
MAX_OUTER = 200
#: Inner solves are preconditioned when cond(X^T X) exceeds this.
PRECONDITION_COND = 1e3
#: float64 problems run inner solves in float32 (to this relative gap at most) while the outer
#: relative gap is above ten times this.
MIXED_TOL = 1e-5


def group_operator_bounds(X, M) -> np.ndarray:
    """Upper bounds on ``||D_i X||_2`` for every group: ``min(||X||_2, ||D_i X||_F)``, shape (P,)."""
    X64 = X.astype(np.float64, copy=False)
    spectral = np.sqrt(max(np.linalg.eigvalsh(X64.T @ X64)[-1], 0.0))
    frob = np.sqrt(mask_column_sums(M, np.einsum("ij,ij->i", X64, X64)))  # M bool or packed
    # a tiny relative margin covers rounding in the bound itself
    return np.minimum(spectral, frob) * (1 + 1e-12)


def gap_safe_screen(dual_norms, dual_gap, bounds, alpha, mu, penalty=None) -> np.ndarray:
    """Groups that are zero at every optimum, by the gap-safe sphere test; bool array (P,).

    Parameters
    ----------
    dual_norms : ndarray of shape (P,)
        The penalty's ``dual_group_norms(A^T theta0)`` at the current point
        (``Certificate.dual_norms``; ``||A_i^T theta0||`` for the group-L2 penalty).
    dual_gap : float
        Duality gap at the current point.
    bounds : ndarray of shape (P,)
        Upper bounds on ``||D_i X||_2`` (:func:`group_operator_bounds`).
    alpha : float
    mu : float
        Strong concavity of the dual (``n`` for the squared loss).
    penalty : Penalty, optional
        A pattern-separable penalty (default: group L2). For a norm the certificate's dual point
        is ``theta0`` scaled by ``min(1, alpha / max_i dual_norms)``; a penalty that is not a
        norm (a ridge term mixed in) has an unconstrained dual and uses ``theta0`` itself. The
        radius is multiplied by ``penalty.dual_group_lipschitz`` (``1 / l1_ratio`` for a ridge
        mix, whose dual group norms are the base ones over ``l1_ratio``). ``docs/math.md``,
        "Penalties", proves that no group that is non-zero at the optimum is discarded.
    """
    if penalty is None or penalty.is_norm:
        scale = min(1.0, alpha / max(float(np.max(dual_norms)), np.finfo(float).tiny))
    else:
        scale = 1.0
    lipschitz = 1.0 if penalty is None else float(penalty.dual_group_lipschitz)
    radius = np.sqrt(2 * max(dual_gap, 0.0) / mu)
    return scale * dual_norms + radius * lipschitz * bounds < alpha


#: Singular directions of X below this fraction of the largest are treated as its null space.
NULL_RATIO = 1e-10


def whitening(X, threshold=PRECONDITION_COND):
    """``(Q, sig)`` with ``T = Q diag(sig) Q^T = (X^T X / n)^{-1/2}`` on the row space of ``X``,
    or None when ``X`` is well conditioned there (``cond ** 2 <= threshold``).

    Computed from the SVD of ``X`` (not from ``X^T X``, which would square the condition number).
    Directions with singular values below ``NULL_RATIO`` of the largest (the null space of a
    rank-deficient ``X``: duplicated rows, collinear columns) carry no data, only rounding: they
    are scaled as the largest direction (``sig = sqrt(n) / s_max``) instead of amplified by
    ``1 / s``, which turned rounding noise into huge columns of ``X T`` and broke float32 solves.
    Any invertible ``T`` gives exactly the same problem; this one only conditions it.
    """
    X64 = X.astype(np.float64, copy=False)
    n, d = X64.shape
    # X = Q R: R (d, d) has X's singular values and right singular vectors, at O(n d^2) time and
    # O(n d) memory (the full SVD of X would form an n x n matrix: 298 GiB at n = 200,000)
    R = np.linalg.qr(X64, mode="r") if n > d else X64
    _, s, Vt = np.linalg.svd(R, full_matrices=True)  # Vt (d, d): a basis of all of R^d
    s = np.concatenate([s, np.zeros(Vt.shape[0] - s.size)])  # n < d: the rest is null space
    top = max(float(s[0]), np.finfo(float).tiny)
    null = s < NULL_RATIO * top
    if null.all() or (top / s[~null][-1]) ** 2 <= threshold:
        return None
    return Vt.T, np.sqrt(X64.shape[0]) / np.where(null, top, s)


def _to_metric(U, Q, scale):
    """``U`` -> ``T' U`` along the feature axis, ``T' = Q diag(scale) Q^T``."""
    rotated = np.einsum("de,pd...->pe...", Q, U)
    rotated *= scale.reshape((1, -1) + (1,) * (U.ndim - 2))
    return np.einsum("ed,pd...->pe...", Q, rotated)


#: Datafits with a Hessian (logistic, multinomial) try Newton's method on the support of the
#: iterate once the relative gap is below this (once per support): a correct support gives the
#: exact solution at once, instead of the FISTA iterations from here down to ``tol``.
POLISH_GAP = 1e-4


def _polish_support(problem, U, cert, polished: set):
    """``(U, cert)`` after :func:`gatedrelu.solvers._polish.support_newton` on the support of
    ``U``, if that support was not tried yet and the full gap certifies the result better."""
    from ._polish import support_newton

    support = np.flatnonzero(np.linalg.norm(U.reshape(U.shape[0], -1), axis=1) > 0)
    key = support.tobytes()
    if problem.datafit.hessian is None or key in polished:
        return U, cert
    polished.add(key)
    V = support_newton(problem, U)
    if V is None:
        return U, cert
    cert_v = certify_numpy(problem, V)
    if cert_v.finite and cert_v.dual_gap < cert.dual_gap:
        return V.astype(U.dtype), cert_v
    return U, cert


def solve(
    problem: Problem,
    U0,
    tol,
    max_iter,
    lipschitz=None,
    verbose=0,
    alpha_prev=None,
    screen=True,
    inner_ratio=INNER_RATIO,
    mixed_precision=True,
    precondition=True,
    devices=None,
    inner_solver="metric_fista",
) -> SolverOutput:
    """Working-set FISTA with gap-safe screening; ``max_iter`` counts inner iterations."""
    P = problem.n_groups
    alpha = problem.alpha
    U = np.array(U0, dtype=problem.X.dtype, copy=True)
    bounds = group_operator_bounds(problem.X, problem.M)
    mu = problem.datafit.dual_strong_concavity(problem.y)
    alive = np.ones(P, bool)
    if inner_solver not in INNER_SOLVERS:
        raise ValueError(f"inner_solver must be one of {', '.join(map(repr, INNER_SOLVERS))}; "
                         f"got {inner_solver!r}.")
    L = lipschitz
    L_bulk = None  # the metric solver's bulk step, carried from one working set to the next
    n_iter, n_outer, ws_size, status = 0, 0, P0, "max_iter"
    history = []
    prev_rel, last_was_float32 = np.inf, False
    metric = whitening(problem.X) if precondition and problem.penalty.supports_metric else None
    X_in = problem.X if metric is None else (problem.X @ _to_metric(np.eye(problem.d), *metric)).astype(problem.X.dtype)
    # float32 pays on large matrix products only; small problems run in numpy (fista.NUMPY_SIZE)
    mixed = (mixed_precision and problem.X.dtype == np.float64
             and problem.n * P * problem.d * problem.n_outputs > NUMPY_SIZE)
    X32, y32 = (X_in.astype(np.float32), problem.y.astype(np.float32)) if mixed else (None, None)
    polished = set()  # supports already polished
    can_polish = (problem.datafit.hessian is not None and problem.X.dtype == np.float64
                  and tol < POLISH_GAP)
    for n_outer in range(MAX_OUTER + 1):
        # always with the refined dual point: the inner solves use it (refine_pays), and an outer
        # gap without it can stay above theirs, which then return at once (a stall)
        cert = certify_numpy(problem, U)
        if not cert.finite:
            status = "not finite"
            break
        if cert.dual_gap > tol * cert.objective and cert.relative_gap <= POLISH_GAP:
            U, cert = _polish_support(problem, U, cert, polished)
        rel = cert.relative_gap
        history.append((n_iter, cert.objective, cert.dual_gap))
        if verbose:
            print(f"[working_set] outer {n_outer:3d}  inner its {n_iter:6d}  F {cert.objective:.10g}  "
                  f"rel gap {rel:.2e}  ws {ws_size}  screened {P - int(alive.sum())}", flush=True)
        if cert.dual_gap <= tol * cert.objective:
            status = "converged"
            if screen and cert.dual_norms is not None:  # reported: provably zero at the end
                alive &= ~gap_safe_screen(cert.dual_norms, cert.dual_gap, bounds, alpha, mu,
                                          problem.penalty)
            break
        if n_iter >= max_iter:
            status = "max_iter"
            break
        if n_outer == MAX_OUTER:
            status = f"{MAX_OUTER} working-set updates"
            break
        dual_norms = cert.dual_norms
        if screen:
            newly = alive & gap_safe_screen(dual_norms, cert.dual_gap, bounds, alpha, mu,
                                              problem.penalty)
            alive &= ~newly
            U[newly] = 0
        support = alive & (np.linalg.norm(U.reshape(P, -1), axis=1) > 0)
        score = np.where(support, np.inf, dual_norms)
        score[~alive] = -np.inf
        n_alive = int(alive.sum())
        if n_outer == 0 and alpha_prev is not None:
            strong = alive & (dual_norms >= 2 * alpha - alpha_prev)
            ws_size = max(P0, int((support | strong).sum()))
        else:
            ws_size = max(P0, 2 * int(support.sum()))
        # every KKT violator of the current dual point is a candidate, up to twice the support
        if n_outer > 0 and ws_size > FULL_FRACTION * n_alive:  # the whole surviving set
            ws_size = n_alive
        ws_size = min(ws_size, n_alive)
        ws = np.sort(np.argsort(-score, kind="stable")[:ws_size])
        k = ws.size
        use_metric = inner_solver == "metric_fista" and metric is None and (
            devices is None or len(devices) == 1)
        kp = k if use_metric else _bucket(k, P)  # numpy compiles nothing: no padding
        M_ws = np.zeros((problem.M.shape[0], kp), problem.M.dtype)  # boolean or packed rows
        M_ws[:, :k] = problem.M[:, ws]
        U_ws = np.zeros((kp,) + U.shape[1:], U.dtype)
        U_ws[:k] = U[ws] if metric is None else _to_metric(U[ws], metric[0], 1 / metric[1])
        inner_tol = 0.5 * tol if k == n_alive else max(inner_ratio * rel, 0.5 * tol)
        if can_polish and not polished:  # stop at the polish threshold first
            inner_tol = max(inner_tol, 0.5 * POLISH_GAP)
        if mixed and last_was_float32 and rel > 0.5 * prev_rel:
            mixed = False  # float32 stopped paying: its rounding limits the float64 gap here
        prev_rel, last_was_float32 = rel, False
        if mixed and (use_metric or rel > 10 * MIXED_TOL):
            # the metric solver keeps its objective and gap in float64: its float32 iterations
            # go on to tol, and the float64 outer certificate decides
            last_was_float32 = True
            inner_tol = inner_tol if use_metric else max(inner_tol, MIXED_TOL)
            inner = Problem(X32, M_ws, y32, alpha, problem.datafit, problem.penalty)
            U_ws = U_ws.astype(np.float32)
        else:
            inner = Problem(X_in, M_ws, problem.y, alpha, problem.datafit, problem.penalty)
        if use_metric:
            U_new, its, L_new, code, _, _ = metric_fista.run(inner, U_ws, inner_tol,
                                                             max_iter - n_iter, L_bulk)
            L_bulk = L_new
        else:
            U_new, its, L_new, code, _, _ = run_numpy(inner, U_ws, inner_tol, max_iter - n_iter,
                                                      L, devices=devices, metric=metric)
        n_iter += its
        if code in (3, 4):
            if inner.X.dtype == np.float32:  # float32 failed (overflow?): finish in float64
                mixed = False
                continue
            status = STATUS[code]
            break
        if not use_metric:
            L = L_new
        V = U_new[:k].astype(U.dtype)
        U[ws] = V if metric is None else _to_metric(V, metric[0], metric[1])
    info = {"n_outer": n_outer, "n_screened": int(P - alive.sum()), "history": history,
            "preconditioned": metric is not None}
    return SolverOutput(coef=U, n_iter=n_iter, status=status, lipschitz=L, info=info)


def supports(problem: Problem):
    if problem.constraint is not None:
        return "working_set does not handle constraints"
    if not problem.penalty.pattern_groups:
        return (f"working sets select patterns, and the penalty {problem.penalty.name!r} is not "
                "separable over patterns")
    return None


SOLVER = Solver(
    name="working_set",
    solve=solve,
    supports=supports,
    default_max_iter=20_000,
    summary="FISTA on a working set of groups grown by KKT violation, with gap-safe screening",
    options=("verbose", "lipschitz", "alpha_prev", "screen", "mixed_precision", "precondition",
             "devices", "inner_solver"),
)
