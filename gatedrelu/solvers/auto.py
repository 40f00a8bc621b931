"""``solver="auto"``: pick by size, and switch when progress stalls.

* Several devices: plain FISTA, the solver that shards patterns across devices.
* Tall problems (``n >= P d``, ``P d c <= gram.MAX_VARS``) with the squared loss: the Gram
  solver (:mod:`gatedrelu.solvers.gram`: one ``n m^2`` pass, then block coordinate descent and
  Newton on the support in ``m = P d`` variables; on KEEL magic, n 4,000, 200 gates, alpha
  1e-3, it replaced 2,523 working-set iterations), the working set continuing if it stalls.
* ``n <= NEWTON_N`` and the projected Newton solver applies: Newton first (few, exact steps; it
  does not care about the scale of the features or the correlation of the groups, and it compiles
  nothing per problem shape, which matters for single fits and cross-validation). Racing a
  first-order solver against it was measured and not kept: on R0 (n 500) plain FISTA is 2.5x
  faster warm, but the race's JIT compilations made a cold diabetes fit 2.5x slower. If it stalls
  or fails (its ``n x n`` factorisations limit the gap it can certify), the working-set solver
  continues from its best iterate.
* The logistic loss with one output, or the multinomial loss with two classes (where proximal
  Newton's model is Newton's; with more classes its majorised steps were measured slower than
  the working sets: digits 20 s against 11 s of CPU), with ``n <= NEWTON_N`` or a tall
  problem: proximal Newton first
  (:mod:`gatedrelu.solvers.prox_newton`: weighted squared-loss models solved by Newton on the
  kernel weights; 4 to 13 steps where the working sets took up to 12,894 iterations at small
  alpha), the working-set solver continuing from its iterate if it stops short.
* Otherwise the working-set solver first; if it does not converge within its budget and Newton
  applies, Newton continues from its iterate.
* Datafits with a Hessian (the logistic and multinomial losses) then get Newton's method on the
  support of the answer (:mod:`gatedrelu.solvers._polish`) when the support is small: the
  predictions become exact to rounding instead of to about the square root of the gap, and the
  polished point is kept only if its full duality gap is smaller.
* Cone-constrained problems (convex ReLU networks): tiny ones (``n 2P d c <= CONE_EXACT_SIZE``)
  go to the CVXPY/Clarabel reference first, then ``cone_fista`` from its answer if it did not
  certify; small ones (``<= CONE_IPM_SIZE``) go to ``cone_fista`` (FISTA with exact projections onto the activation cones) for at most
  ``CONE_FIRST_ITERS`` iterations, then, if it has not certified ``tol``, to the CVXPY/Clarabel
  reference (projected onto the cones, certified like every answer), then to ``cone_fista``
  again from its answer. Larger ones go to ``cone_fista`` directly.
"""

from __future__ import annotations

import numpy as np

from ..problem.certificate import Problem, certify_numpy
from . import gram, newton, prox_newton
from ._base import Solver, SolverOutput

__all__ = ["SOLVER", "solve", "plan"]

#: Newton goes first up to this many samples (its step costs an n x n Cholesky factorisation).
NEWTON_N = 2500
#: Cone-constrained problems with at most this many ``n * 2P * d * c`` go to the interior-point
#: reference first: no compilation per shape, and robust at small alpha, where first-order
#: methods stall (measured on scikit-learn's estimator checks: cone_fista, like plain FISTA on
#: the group lasso, was at relative gap 1e-2 after 3,000 iterations at alpha = 1e-3 on n = 20
#: to 200, where Clarabel took 0.01 to 1 s). On scikit-learn's diabetes with the estimator's
#: defaults (n 442, d 11, 100 gates: n * 2P * d = 972,400) cone_fista was still at relative gaps
#: of 0.36 (raw) and 0.99 (standardised) after 10,000 iterations, where Clarabel certified both
#: to 1e-8 in 8 s and 26 s (one core): hence the bound of two million.
CONE_IPM_SIZE = 2_000_000
#: ... but since cone_fista runs in numpy on such sizes (no compilation) and stops on the refined
#: certificate, it goes first with this many iterations (diabetes default: 100 iterations, 0.6 s,
#: where Clarabel took 10.8 s); Clarabel takes over when it has not certified, then cone_fista
#: again from Clarabel's answer.
CONE_FIRST_ITERS = 500
#: Below this size Clarabel still goes first: it is fast there (0.01 to 1 s) and its answer,
#: projected and pruned, is exact to rounding, which scikit-learn's sample-weight equivalence
#: check (rtol 1e-7 on the predictions) needs; cone_fista's answers are exact to about the square
#: root of their gap.
CONE_EXACT_SIZE = 200_000


def plan(problem: Problem, devices=None) -> list:
    """The solvers ``auto`` runs, in order, for this problem."""
    if problem.constraint is not None:  # the cone constraints of convex ReLU networks
        size = problem.n * problem.n_groups * problem.d * problem.n_outputs
        if size <= CONE_EXACT_SIZE:
            return ["cvxpy", "cone_fista"]
        return ["cone_fista", "cvxpy", "cone_fista"] if size <= CONE_IPM_SIZE else ["cone_fista"]
    if (devices is not None and len(devices) > 1) or not problem.penalty.pattern_groups:
        return ["fista"]
    newton_ok = newton.supports(problem) is None
    if gram.pays(problem):  # tall: n >= P d, and the Gram matrix is small
        return ["gram", "working_set"]
    if newton_ok and problem.n <= NEWTON_N:
        return ["newton", "working_set"]
    exact_model = problem.n_outputs == 1 or (problem.datafit.name == "multinomial"
                                             and problem.n_outputs == 2)
    if exact_model and prox_newton.supports(problem) is None and (
            problem.n <= NEWTON_N or prox_newton.inner_solver(problem) == "gram"):
        return ["prox_newton", "working_set"]
    return ["working_set"] + (["newton"] if newton_ok else [])


def solve(problem: Problem, U0, tol, max_iter, verbose=0, lipschitz=None, devices=None,
          alpha_prev=None) -> SolverOutput:
    from . import REGISTRY

    steps = plan(problem, devices)
    cone_small = problem.n * problem.n_groups * problem.d * problem.n_outputs <= CONE_IPM_SIZE
    U, n_iter, out, used = U0, 0, None, []
    best, best_rel, best_info = U0, np.inf, None
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
        if name == "cone_fista" and len(used) == 0 and len(steps) > 1:
            budget = min(budget, CONE_FIRST_ITERS)
        if budget < 1:
            break
        try:
            out = REGISTRY[name].solve(problem, U, tol, budget, **opts)
        except RuntimeError as exc:  # Clarabel failed: the next step goes on from U
            if problem.constraint is None or name != "cvxpy":
                raise
            used.append(f"{name}: {exc}")
            continue
        used.append(f"{name}: {out.status}")
        n_iter += out.n_iter
        U = out.coef
        if out.status == "converged":
            best, best_info = U, out.info
            break
        if problem.constraint is not None:
            # certified by the gap with the step's multipliers and by the violation
            cert = certify_numpy(problem, U, out.info.get("multipliers"))
            if name == "cvxpy":
                U, cert = _prune(problem, U, out.info.get("multipliers"), cert, tol)
            if cone_small:
                U, cert, out.info = _face_polish(problem, U, cert, out.info, tol, used)
            if cert.finite and cert.relative_violation <= tol and cert.relative_gap < best_rel:
                best, best_rel, best_info = U, cert.relative_gap, out.info
            if best_rel <= tol:
                break
            continue
        cert = certify_numpy(problem, U)  # a later step may end worse: keep the best certified
        if cert.finite and cert.relative_gap < best_rel:
            best, best_rel = U, cert.relative_gap
    if problem.constraint is not None and best_info is None:  # nothing certified: the last
        best, best_info = U, out.info
    if "newton" not in steps:  # newton polishes the squared loss itself
        best = _polish(problem, best, used)
    info = dict(out.info if best_info is None else best_info, steps=used)
    return SolverOutput(coef=best, n_iter=n_iter, status=out.status, lipschitz=out.lipschitz,
                        info=info)


#: Groups of an interior-point answer smaller than one of these ratios times the largest are set
#: to zero (the largest ratio for which the certificate still holds): they are the solver's
#: tolerance, not neurons.
PRUNE_RATIOS = (1e-5, 1e-6, 1e-7, 1e-8, 1e-9)


def _prune(problem: Problem, U, multipliers, cert, tol):
    """``U`` without its negligible groups, with its certificate, when that still certifies to
    ``tol`` (else ``U`` and ``cert`` unchanged)."""
    norms = np.linalg.norm(U.reshape(U.shape[0], -1), axis=1)
    for ratio in PRUNE_RATIOS:
        small = (norms > 0) & (norms <= ratio * norms.max(initial=0.0))
        if not small.any():
            continue
        pruned = np.where(small.reshape((-1,) + (1,) * (U.ndim - 1)), 0, U).astype(U.dtype)
        after = certify_numpy(problem, pruned, multipliers)
        if (after.finite and after.relative_violation <= tol
                and after.dual_gap <= max(tol * after.objective, cert.dual_gap)):
            return pruned, after
    return U, cert


#: Face Newton is tried on the support of the answer and on its groups above these fractions of
#: the largest (an interior-point answer carries small spurious groups).
FACE_RATIOS = (0.0, 1e-5, 1e-4, 1e-3)


def _face_polish(problem: Problem, U, cert, info, tol, used: list):
    """Newton on the active face of a cone-constrained solution (:mod:`._cone_polish`), kept
    when it is feasible and certified better; returns ``(U, cert, info)``."""
    from ._cone_polish import face_newton

    norms = np.linalg.norm(U.reshape(U.shape[0], -1), axis=1)
    best = (U, cert, info)
    for ratio in FACE_RATIOS:
        start = np.where((norms < ratio * norms.max(initial=0.0)).reshape(
            (-1,) + (1,) * (U.ndim - 1)), 0, U)
        polished = face_newton(problem, start)
        if polished is None:
            continue
        V, Lam = polished
        after = certify_numpy(problem, V, Lam)
        if (after.finite and after.relative_violation <= tol
                and after.dual_gap < best[1].dual_gap):
            best = (V, after, dict(info, multipliers=Lam))
            if after.dual_gap <= 1e-12 * after.objective:
                break
    if best[0] is not U:
        used.append(f"face newton: gap {cert.dual_gap:.1e} -> {best[1].dual_gap:.1e}")
    return best


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
    summary="gram for tall problems, newton for n <= 2500, else working_set; each falls back on "
            "the next when it stalls",
    options=("verbose", "lipschitz", "devices", "alpha_prev"),
)
