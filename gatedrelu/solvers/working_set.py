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
5. **Mixed precision**: for float64 problems, inner solves whose tolerance is above
   ``MIXED_TOL`` run in float32 (twice the matrix-product throughput on CPUs and far more on
   GPUs); the float64 outer certificate decides, and later inner solves polish in float64.
"""

from __future__ import annotations

import numpy as np

from ..problem.certificate import Problem, certify_numpy
from ._base import Solver, SolverOutput
from .fista import STATUS, _bucket, run_numpy

__all__ = ["SOLVER", "solve", "group_operator_bounds", "gap_safe_screen"]

#: Smallest working set.
P0 = 16
#: Inner tolerance as a fraction of the outer relative gap (celer uses 0.3).
INNER_RATIO = 0.1
MAX_OUTER = 200
#: float64 problems run inner solves in float32 while the inner tolerance is above this.
MIXED_TOL = 1e-3


def group_operator_bounds(X, M) -> np.ndarray:
    """Upper bounds on ``||D_i X||_2`` for every group: ``min(||X||_2, ||D_i X||_F)``, shape (P,)."""
    X64 = X.astype(np.float64, copy=False)
    spectral = np.sqrt(max(np.linalg.eigvalsh(X64.T @ X64)[-1], 0.0))
    frob = np.sqrt(M.T.astype(np.float64) @ np.einsum("ij,ij->i", X64, X64))
    # a tiny relative margin covers rounding in the bound itself
    return np.minimum(spectral, frob) * (1 + 1e-12)


def gap_safe_screen(dual_norms, dual_gap, bounds, alpha, mu) -> np.ndarray:
    """Groups that are zero at every optimum, by the gap-safe sphere test; bool array (P,).

    Parameters
    ----------
    dual_norms : ndarray of shape (P,)
        ``||A_i^T theta0||`` at the current point (``Certificate.dual_norms``).
    dual_gap : float
        Duality gap at the current point.
    bounds : ndarray of shape (P,)
        Upper bounds on ``||D_i X||_2`` (:func:`group_operator_bounds`).
    alpha : float
    mu : float
        Strong concavity of the dual (``n`` for the squared loss).
    """
    scale = min(1.0, alpha / max(float(np.max(dual_norms)), np.finfo(float).tiny))
    radius = np.sqrt(2 * max(dual_gap, 0.0) / mu)
    return scale * dual_norms + radius * bounds < alpha


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
) -> SolverOutput:
    """Working-set FISTA with gap-safe screening; ``max_iter`` counts inner iterations."""
    P = problem.n_groups
    alpha = problem.alpha
    U = np.array(U0, dtype=problem.X.dtype, copy=True)
    bounds = group_operator_bounds(problem.X, problem.M)
    mu = problem.datafit.dual_strong_concavity(problem.n)
    alive = np.ones(P, bool)
    L = lipschitz
    n_iter, n_outer, ws_size, status = 0, 0, P0, "max_iter"
    history = []
    mixed = mixed_precision and problem.X.dtype == np.float64
    X32, y32 = (problem.X.astype(np.float32), problem.y.astype(np.float32)) if mixed else (None, None)
    for n_outer in range(MAX_OUTER + 1):
        cert = certify_numpy(problem, U)
        if not cert.finite:
            status = "not finite"
            break
        rel = cert.relative_gap
        history.append((n_iter, cert.objective, cert.dual_gap))
        if verbose:
            print(f"[working_set] outer {n_outer:3d}  inner its {n_iter:6d}  F {cert.objective:.10g}  "
                  f"rel gap {rel:.2e}  ws {ws_size}  screened {P - int(alive.sum())}", flush=True)
        if cert.dual_gap <= tol * cert.objective:
            status = "converged"
            break
        if n_iter >= max_iter or n_outer == MAX_OUTER:
            status = "max_iter"
            break
        dual_norms = cert.dual_norms
        if screen:
            newly = alive & gap_safe_screen(dual_norms, cert.dual_gap, bounds, alpha, mu)
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
        ws_size = min(ws_size, n_alive)
        ws = np.sort(np.argsort(-score, kind="stable")[:ws_size])
        k = ws.size
        kp = _bucket(k, P)
        M_ws = np.zeros((problem.n, kp), bool)
        M_ws[:, :k] = problem.M[:, ws]
        U_ws = np.zeros((kp,) + U.shape[1:], U.dtype)
        U_ws[:k] = U[ws]
        inner_tol = 0.5 * tol if k == n_alive else max(inner_ratio * rel, 0.5 * tol)
        if mixed and inner_tol >= MIXED_TOL:
            inner = Problem(X32, M_ws, y32, alpha, problem.datafit, problem.penalty)
            U_ws = U_ws.astype(np.float32)
        else:
            inner = Problem(problem.X, M_ws, problem.y, alpha, problem.datafit, problem.penalty)
        U_new, its, L, code, _, _ = run_numpy(inner, U_ws, inner_tol, max_iter - n_iter, L)
        n_iter += its
        U[ws] = U_new[:k].astype(U.dtype)
        if code in (3, 4):
            status = STATUS[code]
            break
    info = {"n_outer": n_outer, "n_screened": int(P - alive.sum()), "history": history}
    return SolverOutput(coef=U, n_iter=n_iter, status=status, lipschitz=L, info=info)


def _supports(problem: Problem):
    return None


SOLVER = Solver(
    name="working_set",
    solve=solve,
    supports=_supports,
    default_max_iter=20_000,
    summary="FISTA on a working set of groups grown by KKT violation, with gap-safe screening",
    options=("verbose", "lipschitz", "alpha_prev", "screen", "mixed_precision"),
)
