"""``solver="auto"``: pick by size, and switch when progress stalls.

* Several devices: plain FISTA, the solver that shards patterns across devices.
* ``n <= NEWTON_N`` and the projected Newton solver applies: Newton first (few, exact steps; it
  does not care about the scale of the features or the correlation of the groups, and it compiles
  nothing per problem shape, which matters for single fits and cross-validation). Racing a
  first-order solver against it was measured and not kept: on R0 (n 500) plain FISTA is 2.5x
  faster warm, but the race's JIT compilations made a cold diabetes fit 2.5x slower. If it stalls
  or fails (its ``n x n`` factorisations limit the gap it can certify), the working-set solver
  continues from its best iterate.
* Otherwise the working-set solver first; if it does not converge within its budget and Newton
  applies, Newton continues from its iterate.
* Datafits with a Hessian (the logistic and multinomial losses) then get Newton's method on the
  support of the answer (:mod:`gatedrelu.solvers._polish`) when the support is small: the
  predictions become exact to rounding instead of to about the square root of the gap, and the
  polished point is kept only if its full duality gap is smaller.
"""

from __future__ import annotations

import numpy as np

from ..problem.certificate import Problem, certify_numpy
from . import newton
from ._base import Solver, SolverOutput

__all__ = ["SOLVER", "solve", "plan"]

#: Newton goes first up to this many samples (its step costs an n x n Cholesky factorisation).
NEWTON_N = 2500


def plan(problem: Problem, devices=None) -> list:
    """The solvers ``auto`` runs, in order, for this problem."""
    if (devices is not None and len(devices) > 1) or not problem.penalty.pattern_groups:
        return ["fista"]
    newton_ok = newton.supports(problem) is None
    if newton_ok and problem.n <= NEWTON_N:
        return ["newton", "working_set"]
    return ["working_set"] + (["newton"] if newton_ok else [])


def solve(problem: Problem, U0, tol, max_iter, verbose=0, lipschitz=None, devices=None,
          alpha_prev=None) -> SolverOutput:
    from . import REGISTRY

    steps = plan(problem, devices)
    U, n_iter, out, used = U0, 0, None, []
    best, best_rel = U0, np.inf
    for name in steps:
        opts = {"verbose": verbose}
        if name == "fista":
            opts.update(lipschitz=lipschitz, devices=devices)
        elif name == "working_set":
            opts.update(lipschitz=lipschitz if out is None else (out.lipschitz or lipschitz),
                        alpha_prev=alpha_prev)
        budget = max_iter - n_iter  # max_iter bounds the iterations of all steps together
        if name == "newton":
            budget = min(budget, newton.SOLVER.default_max_iter)
        if budget < 1:
            break
        out = REGISTRY[name].solve(problem, U, tol, budget, **opts)
        used.append(f"{name}: {out.status}")
        n_iter += out.n_iter
        U = out.coef
        if out.status == "converged":
            best = U
            break
        cert = certify_numpy(problem, U)  # a later step may end worse: keep the best certified
        if cert.finite and cert.relative_gap < best_rel:
            best, best_rel = U, cert.relative_gap
    if "newton" not in steps:  # newton polishes the squared loss itself
        best = _polish(problem, best, used)
    out.info = dict(out.info, steps=used)
    return SolverOutput(coef=best, n_iter=n_iter, status=out.status, lipschitz=out.lipschitz,
                        info=out.info)


def _polish(problem: Problem, U, used: list):
    """Newton on the support of ``U`` for datafits with a Hessian (:mod:`._polish`); kept only
    when the full duality gap certifies it better."""
    from ._polish import support_newton

    polished = support_newton(problem, U)
    if polished is None:
        return U
    before, after = certify_numpy(problem, U), certify_numpy(problem, polished)
    if after.finite and after.dual_gap < before.dual_gap:
        used.append(f"support newton: gap {before.dual_gap:.1e} -> {after.dual_gap:.1e}")
        return polished
    return U


def supports(problem: Problem):
    from . import REGISTRY

    reasons = [REGISTRY[name].supports(problem) for name in plan(problem)]
    return None if any(r is None for r in reasons) else "; ".join(reasons)


SOLVER = Solver(
    name="auto",
    solve=solve,
    supports=supports,
    default_max_iter=20_000,
    summary="newton for n <= 2500, else working_set; each falls back on the other when it stalls",
    options=("verbose", "lipschitz", "devices", "alpha_prev"),
)
