r"""Proximal Newton for the logistic and multinomial losses: a sequence of weighted squared-loss
group lassos (``docs/math.md``, "Proximal Newton for the logistic loss").

At the current predictions ``z0 = A(U)`` the logistic datafit (``docs/math.md``, "Logistic and
multinomial losses") is replaced by its second-order model, which is a weighted squared loss,

    f(z) ~ f(z0) + g.(z - z0) + 1/2 sum_k h_k (z_k - z0_k)^2
         = (1/2n) sum_k w_k (z_k - t_k)^2 + const,    w_k = n h_k,  t_k = z0_k - g_k / h_k,

with ``g`` and ``h`` the gradient and the (diagonal) Hessian of ``f`` in ``z``. For several
outputs (the multinomial loss, whose Hessian is one ``(c, c)`` block ``diag(p) - p p^T`` per
sample) the model keeps one curvature per sample, the largest
eigenvalue of its block (:func:`curvature`): ``(1/2n) sum_k w_k ||z_k - t_k||^2``, a multi-output
squared loss with sample weights, which the same inner solvers take. For two classes it is
Newton's model exactly on the directions that change the loss (the block is ``2p(1-p)`` times a
projector); for more classes it bounds the Hessian, and the line search keeps every step a
descent (the steps are then those of a majorisation, linear rather than quadratic; after the
first step the curvature along the last step replaces the largest eigenvalue, a secant scaling
that cut the outer steps on digits from 269 to 60, still slower than the working sets there, so
``solver="auto"`` uses this solver for one logistic output and two classes only). That model plus
``alpha Omega`` is the group lasso (GL) with sample weights, i.e. with the rows of ``X`` and the
targets ``t`` scaled by ``sqrt(w_k)`` (:class:`~gatedrelu.problem.datafits.Quadratic`), which the
projected Newton solver on the kernel weights (:mod:`gatedrelu.solvers.newton`) solves in a few
steps even at small ``alpha`` (the Gram solver on tall problems, ``working_set`` beyond both). Its answer ``V`` gives the
direction ``V - U``; a backtracking line search on the true objective (Armijo, with the model's
decrease ``g.(A(V) - z0) + alpha (Omega(V) - Omega(U))``) takes the step, as in glmnet's and
adelie's IRLS for generalised linear models (Lee, Sun and Saunders 2014 for the proximal Newton
method and its convergence).

Curvatures below ``H_FLOOR`` times the largest are raised to it (a confidently classified sample
has ``h_k`` near 0 and a huge working target; the line search keeps every step a descent
whatever the model). Inner solves are asked for a relative gap a hundredth of the outer one
(at most 1e-3). The outer loop stops on the logistic duality gap of the full problem
(:func:`gatedrelu.problem.certificate.certify_numpy`), ``gap <= tol F``.

Why: at small ``alpha`` the logistic loss is badly conditioned (near-separable data make the
weights large); first-order working sets took 12,894 iterations (6.2 s) at ``alpha = 1e-4`` on
the KEEL breast data (207 samples, 40 features, 200 gates), where a few Newton steps suffice.
"""

from __future__ import annotations

import numpy as np

from ..operator import forward
from ..problem.certificate import Problem, certify_numpy
from ..problem.datafits import Quadratic
from ._base import Solver, SolverOutput

__all__ = ["SOLVER", "solve", "supports"]

#: Smallest curvature, relative to the largest, in the quadratic model.
H_FLOOR = 1e-8
#: Armijo's sufficient-decrease fraction and the step reduction of the line search.
ARMIJO, SHRINK, MAX_HALVINGS = 0.25, 0.5, 40
#: Several outputs: the model's curvature of a sample is the Hessian's along the last step (a
#: secant scaling), at least this fraction of the block's largest eigenvalue. On digits (10
#: classes, n 1,347, 100 gates) it took 60 outer steps where the largest eigenvalue alone took 269.
SECANT_FLOOR = 0.01


def supports(problem: Problem):
    if problem.datafit.name not in ("logistic", "multinomial"):
        return "prox_newton solves the logistic and multinomial losses only"
    if problem.constraint is not None:
        return "prox_newton does not handle constraints"
    if problem.datafit.name == "logistic" and problem.y.ndim != 1:
        return "prox_newton solves single-output logistic problems (and multinomial ones)"
    inner = inner_solver(problem)
    return None if inner is not None else "no inner solver handles the penalty of this problem"


def curvature(h, n: int):
    """One curvature per sample, shape (n,): the Hessian's own for one logistic output, the
    largest eigenvalue of the (c, c) block for the multinomial loss, so that the model's curvature
    ``w_k I`` bounds the Hessian's at ``z0`` (exact for two classes on the directions that change
    the loss)."""
    h = np.asarray(h)
    if h.ndim == 3:
        return np.linalg.eigvalsh(h)[:, -1]
    return h.reshape(n, -1).max(axis=1)


def _inner(sub: Problem):
    """The solver of the quadratic model: gram on tall problems, else newton where it applies,
    else working_set."""
    from . import REGISTRY
    from .gram import pays

    if pays(sub):
        return "gram"
    for name in ("newton", "working_set"):
        if REGISTRY[name].supports(sub) is None:
            return name
    return None


def inner_solver(problem: Problem):
    """The name of the solver of ``problem``'s quadratic models (None when none applies)."""
    return _inner(_model(problem, np.zeros(problem.y.shape), np.ones(problem.n)))


def _model(problem: Problem, t, w) -> Problem:
    """The weighted squared-loss problem ``(1/2n) sum_k w_k ||A(U)_k - t_k||^2 + alpha Omega``
    (``t`` of the targets' shape)."""
    s = np.sqrt(w).astype(problem.X.dtype)
    st = s.reshape((-1,) + (1,) * (np.ndim(t) - 1))
    return Problem(problem.X * s[:, None], problem.M, (t * st).astype(problem.X.dtype),
                   problem.alpha, Quadratic(), problem.penalty)


def solve(problem: Problem, U0, tol: float, max_iter: int, verbose: int = 0) -> SolverOutput:
    from . import REGISTRY

    datafit, penalty, alpha = problem.datafit, problem.penalty, problem.alpha
    X, M, y = problem.X, problem.M, problem.y
    dt = X.dtype
    U = np.asarray(U0, dt)
    cert = certify_numpy(problem, U)
    F = cert.objective
    status, steps, inner_iters = "max_iter", 0, 0
    dz = None
    for steps in range(1, max_iter + 1):
        if cert.finite and cert.dual_gap <= tol * cert.objective:
            status, steps = "converged", steps - 1
            break
        z0 = np.asarray(forward(X, M, U), dt)
        g = datafit.gradient(z0, y)
        n = problem.n
        hess = datafit.hessian(z0, y)
        h = curvature(hess, n)
        if dz is not None and np.ndim(hess) == 3:
            # the curvature along the last step, sample by sample (a secant scaling), within
            # [SECANT_FLOOR, 1] times the largest eigenvalue
            dd = np.sum(dz * dz, axis=1)
            r = np.einsum("kp,kpq,kq->k", dz, hess, dz) / np.maximum(dd, np.finfo(float).tiny)
            h = np.where(dd > 0, np.clip(r, SECANT_FLOOR * h, h), h)
        h = np.maximum(h, H_FLOOR * h.max())
        sub = _model(problem, z0 - g / h.reshape((-1,) + (1,) * (g.ndim - 1)), n * h)
        name = _inner(sub)
        inner_tol = min(1e-3, max(1e-2 * cert.relative_gap, 1e-13))
        out = REGISTRY[name].solve(sub, U, inner_tol, REGISTRY[name].default_max_iter)
        inner_iters += out.n_iter
        V = np.asarray(out.coef, dt)
        zV = np.asarray(forward(X, M, V), dt)
        decrease = float(np.vdot(g, zV - z0)) + alpha * float(penalty.value(V) - penalty.value(U))
        if not decrease < 0:  # the model predicts no descent: the point is optimal to rounding
            status = "stalled"
            break
        step = 1.0
        for _ in range(MAX_HALVINGS):
            trial = U + step * (V - U)
            F_trial = float(datafit.value(z0 + step * (zV - z0), y)) + alpha * float(penalty.value(trial))
            if F_trial <= F + ARMIJO * step * decrease:
                break
            step *= SHRINK
        else:
            status = "backtracking exhausted"
            break
        U = trial.astype(dt)
        dz = step * (zV - z0)
        cert = certify_numpy(problem, U)
        F = cert.objective
        if verbose:
            print(f"[prox_newton] step {steps}: {name} {out.n_iter} iterations, step size "
                  f"{step:.3g}, F {F:.10g}, rel gap {cert.relative_gap:.3e}", flush=True)
        if not cert.finite:
            status = "not finite"
            break
    else:
        if cert.finite and cert.dual_gap <= tol * cert.objective:
            status = "converged"
    return SolverOutput(coef=U, n_iter=steps, status=status,
                        info={"inner_iterations": inner_iters})


SOLVER = Solver(
    name="prox_newton",
    solve=solve,
    supports=supports,
    default_max_iter=100,
    summary="proximal Newton for the logistic and multinomial losses: weighted squared-loss group "
            "lassos solved by newton or gram (working_set beyond them), with a line search",
    options=("verbose",),
)
