"""The exact reference: the same program as one vectorised CVXPY model solved by Clarabel.

The model is built from the datafit's and the penalty's CVXPY expressions, and the constraint's
(the cone constraints of convex ReLU networks), whose duals are returned as the multipliers of
the certificate; the answer is projected onto the constraint set (interior-point solutions are
feasible only to the solver's tolerance). Clarabel's own status
is not trusted alone: the public layer certifies the returned coefficients with the same duality
gap as every other solver.
"""

from __future__ import annotations

import warnings

import numpy as np

from ..problem.certificate import Problem
from ._base import Solver, SolverOutput

__all__ = ["SOLVER", "solve", "MAX_SIZE"]

#: Largest ``n * P * d * c`` accepted by default (CVXPY stores a coefficient of that many
#: non-zeros and Clarabel factorises it).
MAX_SIZE = 5_000_000


def solve(problem: Problem, U0, tol, max_iter, verbose=0, max_size=MAX_SIZE) -> SolverOutput:
    import cvxpy as cp

    X, M, y = problem.X, problem.M, problem.y
    n, d = X.shape
    P = M.shape[1]
    Y = y.reshape(n, -1).astype(np.float64)
    c = Y.shape[1]
    size = n * P * d * c
    if size > max_size:
        raise ValueError(
            f"The cvxpy solver refuses this problem: n * P * d * c = {size:,} exceeds "
            f"cvxpy_max_size = {max_size:,} (CVXPY would build and factorise a model of that "
            "size). Use solver='auto', or pass a larger cvxpy_max_size if you have the memory "
            "and time."
        )
    X64, Mf = X.astype(np.float64), M.astype(np.float64)
    Us = [cp.Variable((d, P)) for _ in range(c)]
    preds = cp.hstack([cp.reshape(cp.sum(cp.multiply(Mf, X64 @ U), axis=1), (n, 1), order="F")
                       for U in Us])
    target = Y if y.ndim == 2 else Y[:, 0]
    pred = preds if y.ndim == 2 else preds[:, 0]
    objective = problem.datafit.cvxpy_value(pred, target) + problem.alpha * problem.penalty.cvxpy_value(Us)
    constraints = [] if problem.constraint is None else problem.constraint.cvxpy_constraints(X64, M, Us)
    model = cp.Problem(cp.Minimize(objective), constraints)
    try:
        with warnings.catch_warnings():
            # "may be inaccurate" is replaced by the certified duality gap of the public layer.
            warnings.filterwarnings("ignore", message="Solution may be inaccurate")
            model.solve(
                solver=cp.CLARABEL,
                max_iter=int(max_iter),
                tol_gap_abs=1e-9,
                tol_gap_rel=1e-9,
                tol_feas=1e-9,
                verbose=bool(verbose),
            )
    except cp.error.SolverError as exc:
        raise RuntimeError(f"Clarabel failed on the CVXPY model: {exc}") from exc
    if Us[0].value is None:
        raise RuntimeError(f"Clarabel returned no solution (status {model.status}).")
    coef = np.stack([U.value.T for U in Us], axis=-1)  # (P, d, c)
    coef = (coef[..., 0] if y.ndim == 1 else coef).astype(X.dtype)
    n_iter = int(model.solver_stats.num_iters or 0)
    info = {}
    if constraints:
        # an interior-point answer is feasible only to its tolerance: project the violating
        # groups onto the constraint set (a change of the order of the violation)
        coef = problem.constraint.project(X, M, coef).astype(X.dtype)
        # the constraints' duals are the multipliers Lambda >= 0 (n, P[, c])
        duals = [np.maximum(np.asarray(con.dual_value, np.float64), 0) for con in constraints]
        info["multipliers"] = (duals[0] if y.ndim == 1 else np.stack(duals, axis=-1)).astype(X.dtype)
    return SolverOutput(coef=coef, n_iter=n_iter, status=f"clarabel: {model.status}", info=info)


def _supports(problem: Problem):
    if problem.constraint is not None and not hasattr(problem.constraint, "cvxpy_constraints"):
        return f"the {problem.constraint.name!r} constraint has no CVXPY model"
    if problem.n * problem.n_groups * problem.d * problem.n_outputs > 50 * MAX_SIZE:
        return "too large for the CVXPY reference"
    return None


SOLVER = Solver(
    name="cvxpy",
    solve=solve,
    supports=_supports,
    default_max_iter=500,
    summary="CVXPY model solved by Clarabel (interior point): the exact reference",
    options=("verbose", "max_size"),
    warm_start=False,
)
