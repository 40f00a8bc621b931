r"""Accelerated proximal gradient (FISTA) with adaptive restart, for any datafit x penalty.

Every iteration costs one forward and one adjoint product and certifies its iterate with the
duality gap of :mod:`gatedrelu.problem.certificate`:

* the accepted iterate ``U+`` needs ``A(U+)`` for the step-size test and ``A^T theta0(U+)`` for
  its gap;
* for a datafit whose gradient is affine in the predictions (the squared loss), the extrapolated
  point ``Z = U + beta (U - U_prev)`` needs no product: ``A(Z)`` and ``A^T theta0(Z)`` are the
  same combination of the stored ones.

The step size starts from a power-iteration estimate of the Lipschitz constant (or the caller's
value), grows 5% per iteration and backtracks on the exact sufficient-decrease test
``f(A U+) - f(A Z) - <grad, U+ - Z> <= L/2 ||U+ - Z||^2``; momentum restarts when
``<Z - U+, U+ - U> > 0`` (O'Donoghue and Candes). The whole solve is one compiled
``lax.while_loop``; ``alpha``, ``tol``, ``max_iter`` and the warm start are traced, so paths and
working sets of the same size reuse the compiled code.

It stops when ``gap <= tol * F``, after ``max_iter`` iterations, or as soon as the objective is
not finite or backtracking is exhausted (``status`` says which).
"""

from __future__ import annotations

from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp

from ..operator import adjoint, forward, power_lipschitz
from ..problem.certificate import certify, dual_objective

__all__ = ["FistaState", "fista_run", "STATUS"]

#: A failed step-size test multiplies L by this.
_BACKTRACK_FACTOR = 1.5
#: Every iteration first tries a step this much longer than the last accepted one (R1 of the
#: benchmark: 722 -> 310 iterations at tol 1e-6).
_GROW = 1.05
_MAX_BACKTRACK = 60
#: A trial step with non-finite predictions multiplies L by this (a caller's L0 far too small).
_OVERFLOW_FACTOR = 1e10

#: Values of ``FistaState.status``.
STATUS = {0: "running", 1: "converged", 2: "max_iter", 3: "not finite", 4: "backtracking exhausted"}


class FistaState(NamedTuple):
    """Loop state; shapes for U of shape (P, d) (append ``c`` for multi-output), dtype of X."""

    U: jax.Array  # (P, d[, c]) current iterate
    U_prev: jax.Array  # (P, d[, c]) previous iterate
    Z: jax.Array  # (n[, c]) A(U)
    Z_prev: jax.Array  # (n[, c]) A(U_prev)
    G: jax.Array  # (P, d[, c]) A^T theta0(U) = minus the gradient at U
    G_prev: jax.Array  # (P, d[, c]) the same at U_prev
    t: jax.Array  # () momentum parameter
    L: jax.Array  # () current Lipschitz estimate (inverse step)
    F: jax.Array  # () objective at U
    gap: jax.Array  # () duality gap at U
    n_iter: jax.Array  # () int32 iterations done
    status: jax.Array  # () int32, a key of STATUS


def _step(datafit, penalty, X, M, y, alpha, metric, state: FistaState) -> FistaState:
    t_next = 0.5 * (1 + jnp.sqrt(1 + 4 * state.t**2))
    beta = (state.t - 1) / t_next
    W = state.U + beta * (state.U - state.U_prev)
    ZW = state.Z + beta * (state.Z - state.Z_prev)
    if datafit.affine_gradient:
        GW = state.G + beta * (state.G - state.G_prev)
    else:
        GW = adjoint(X, M, datafit.dual_point(ZW, y))
    eps = jnp.finfo(X.dtype).eps

    def trial(L):
        U_new = penalty.prox(W + GW / L, alpha / L, metric)
        Z_new = forward(X, M, U_new)
        D = U_new - W
        breg = datafit.bregman(Z_new, ZW, y)
        dd = jnp.vdot(D, D)
        finite = jnp.isfinite(breg) & jnp.all(jnp.isfinite(Z_new))
        ok = finite & (breg <= 0.5 * L * dd * (1 + 8 * eps))
        # the curvature along this step: the test fails for every L below it
        need = jnp.where(finite, 2 * breg / jnp.maximum(dd, jnp.finfo(dd.dtype).tiny), 0)
        return U_new, Z_new, ok, finite, need

    U0, Z0, ok0, fin0, need0 = trial(state.L / _GROW)

    def bt_cond(c):
        return (~c[3]) & (c[6] < _MAX_BACKTRACK)

    def bt_body(c):
        # a step so long that the predictions overflow says little about L: jump
        L = jnp.where(c[4], jnp.maximum(c[0] * _BACKTRACK_FACTOR, c[5]), c[0] * _OVERFLOW_FACTOR)
        U_new, Z_new, ok, finite, need = trial(L)
        return L, U_new, Z_new, ok, finite, need, c[6] + 1

    L, U_new, Z_new, ok, _, _, _ = jax.lax.while_loop(
        bt_cond, bt_body, (state.L / _GROW, U0, Z0, ok0, fin0, need0, jnp.int32(0))
    )
    theta0 = datafit.dual_point(Z_new, y)
    G_new = adjoint(X, M, theta0)
    F_new = datafit.value(Z_new, y) + alpha * penalty.value(U_new, metric)
    gap_new = F_new - dual_objective(datafit, penalty, theta0, G_new, y, alpha, metric)
    restart = jnp.vdot(W - U_new, U_new - state.U) > 0
    status = jnp.where(
        ~(jnp.isfinite(F_new) & jnp.isfinite(gap_new)), 3, jnp.where(ok, 0, 4)
    ).astype(jnp.int32)
    new = FistaState(
        U=U_new,
        U_prev=state.U,
        Z=Z_new,
        Z_prev=state.Z,
        G=G_new,
        G_prev=state.G,
        t=jnp.where(restart, jnp.ones_like(t_next), t_next),
        L=L,
        F=F_new,
        gap=gap_new,
        n_iter=state.n_iter + 1,
        status=status,
    )
    # a step that failed the sufficient-decrease test (backtracking exhausted) or overflowed is
    # not taken: the loop stops at the last good iterate with the failure in ``status``
    kept = state._replace(n_iter=state.n_iter + 1, status=status)
    return jax.tree.map(lambda a, b: jnp.where(status == 0, a, b), new, kept)


@partial(jax.jit, static_argnums=(0, 1))
def fista_run(datafit, penalty, X, M, y, U0, alpha, tol, max_iter, L0, metric=None):
    """Run FISTA from ``U0`` until ``gap <= tol * F``, ``max_iter``, or a numerical failure.

    Parameters
    ----------
    datafit, penalty : static problem objects
    X : array of shape (n, d)
    M : bool array of shape (n, P)
    y : array of shape (n,) or (n, c)
    U0 : array of shape (P, d) or (P, d, c)
        Warm start.
    alpha, tol : scalars of X's dtype
    max_iter : int32 scalar
    L0 : scalar
        Initial Lipschitz estimate; ``<= 0`` means "estimate it by power iteration".
    metric : None or (Q, sig)
        Preconditioned variables: ``X`` is then ``X T`` and ``U`` holds ``v_i`` with
        ``u_i = T v_i``, ``T = Q diag(sig) Q^T`` (the penalty is evaluated through ``T``).

    Returns
    -------
    FistaState
        ``status`` is 1 (converged), 2 (max_iter), 3 (objective not finite) or 4 (backtracking
        exhausted).
    """
    dtype = X.dtype
    n = X.shape[0]
    L_init = jax.lax.cond(
        L0 > 0,
        lambda: L0.astype(dtype),
        lambda: (power_lipschitz(X, M) * (n * datafit.lipschitz(y))).astype(dtype),
    )
    L_init = jnp.maximum(L_init, jnp.finfo(dtype).tiny)
    Z, G, F, gap = certify(datafit, penalty, X, M, y, U0, alpha, metric)
    state = FistaState(
        U=U0, U_prev=U0, Z=Z, Z_prev=Z, G=G, G_prev=G,
        t=jnp.ones((), dtype), L=L_init, F=F, gap=gap,
        n_iter=jnp.int32(0),
        status=jnp.where(jnp.isfinite(F) & jnp.isfinite(gap), 0, 3).astype(jnp.int32),
    )

    def cond(s):
        return (s.status == 0) & (s.n_iter < max_iter) & (s.gap > tol * s.F)

    out = jax.lax.while_loop(
        cond, lambda s: _step(datafit, penalty, X, M, y, alpha, metric, s), state
    )
    final = jnp.where(
        out.status != 0, out.status, jnp.where(out.gap <= tol * out.F, 1, 2)
    ).astype(jnp.int32)
    return out._replace(status=final)


# --------------------------------------------------------------------------- solver entry point


def _bucket(k: int, P: int) -> int:
    """Padded size of a working set of ``k`` groups: a power of two >= 16, at most ``P``."""
    size = 16
    while size < k:
        size *= 2
    return min(size, P)


#: Problems with at most this many ``n * P * d * c`` start with the same iterations in numpy
#: (:func:`fista_numpy`): compiling the loop for every new shape (a cross-validation fold, a
#: working set, an estimator check) costs one to a few seconds, more than most such solves.
NUMPY_SIZE = 1_000_000
#: A numpy iteration costs about 0.2 ms (small problems) to 2 ms (``NUMPY_SIZE``) more than a
#: compiled one: after ``min(NUMPY_ITERS, NUMPY_WORK / size)`` iterations, about the cost of
#: one compilation, a solve that has not converged continues in the compiled loop (so a hard
#: small problem pays at most about twice the best of the two).
NUMPY_ITERS = 3000
NUMPY_WORK = 5e8


def _power_lipschitz_numpy(X, M, n_iter: int = 30):
    """:func:`gatedrelu.operator.power_lipschitz` in numpy (the same start and iterations)."""
    import numpy as np

    n = X.shape[0]
    v = np.ones(n, X.dtype) + X.dtype.type(0.1) * np.cos(np.arange(n, dtype=X.dtype))
    v = v / np.linalg.norm(v)
    tiny = np.finfo(X.dtype).tiny
    for _ in range(n_iter):
        w = forward(X, M, adjoint(X, M, v))
        v = w / max(np.linalg.norm(w), tiny)
    g = adjoint(X, M, v)
    return float(np.vdot(g, g)) / n


def fista_numpy(datafit, penalty, X, M, y, U0, alpha, tol, max_iter, L0, metric=None):
    """The iterations of :func:`fista_run` (same steps, tests and status codes) in numpy, for
    small problems; returns ``(U, n_iter, L, status_code, F, gap)``. The penalty's methods are
    called with numpy arrays (a penalty written with ``jax.numpy`` only still works, op by op).
    """
    import numpy as np

    if metric is not None:
        metric = tuple(np.asarray(m, X.dtype) for m in metric)

    def prox(V, thresh):
        return penalty.prox(V, thresh, metric)

    dt = X.dtype.type
    eps, tiny = float(np.finfo(X.dtype).eps), float(np.finfo(X.dtype).tiny)
    alpha, tol = dt(alpha), float(tol)
    n = X.shape[0]
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        L = float(L0) if L0 > 0 else _power_lipschitz_numpy(X, M) * n * float(datafit.lipschitz(y))
        L = max(L, tiny)
        U = U_prev = np.asarray(U0, X.dtype)
        Z, G, F, gap = certify(datafit, penalty, X, M, y, U, alpha, metric)
        Z_prev, G_prev = Z, G
        t, n_iter = 1.0, 0
        status = 0 if np.isfinite(F) and np.isfinite(gap) else 3

        def trial(W, GW, ZW, L):
            U_new = np.asarray(prox(W + GW / dt(L), alpha / dt(L)), X.dtype)
            Z_new = forward(X, M, U_new)
            D = U_new - W
            breg = float(datafit.bregman(Z_new, ZW, y))
            dd = float(np.vdot(D, D))
            finite = bool(np.isfinite(breg) and np.all(np.isfinite(Z_new)))
            ok = finite and breg <= 0.5 * L * dd * (1 + 8 * eps)
            need = 2 * breg / max(dd, tiny) if finite else 0.0
            return U_new, Z_new, ok, finite, need

        while status == 0 and n_iter < max_iter and gap > tol * F:
            t_next = 0.5 * (1 + np.sqrt(1 + 4 * t * t))
            beta = dt((t - 1) / t_next)
            W = U + beta * (U - U_prev)
            ZW = Z + beta * (Z - Z_prev)
            if datafit.affine_gradient:
                GW = G + beta * (G - G_prev)
            else:
                GW = adjoint(X, M, datafit.dual_point(ZW, y))
            L_try = L / _GROW
            U_new, Z_new, ok, finite, need = trial(W, GW, ZW, L_try)
            k = 0
            while not ok and k < _MAX_BACKTRACK:
                L_try = max(L_try * _BACKTRACK_FACTOR, need) if finite else L_try * _OVERFLOW_FACTOR
                U_new, Z_new, ok, finite, need = trial(W, GW, ZW, L_try)
                k += 1
            n_iter += 1
            theta0 = datafit.dual_point(Z_new, y)
            G_new = adjoint(X, M, theta0)
            F_new = datafit.value(Z_new, y) + alpha * penalty.value(U_new, metric)
            gap_new = F_new - dual_objective(datafit, penalty, theta0, G_new, y, alpha, metric)
            if not (np.isfinite(F_new) and np.isfinite(gap_new)):
                status = 3
            elif not ok:
                status = 4
            if status != 0:
                break  # the failed step is not taken (as in fista_run)
            restart = float(np.vdot(W - U_new, U_new - U)) > 0
            U_prev, U, Z_prev, Z, G_prev, G = U, U_new, Z, Z_new, G, G_new
            F, gap, L = F_new, gap_new, L_try
            t = 1.0 if restart else t_next
    if status == 0:
        status = 1 if gap <= tol * F else 2
    return U, n_iter, L, status, float(F), float(gap)


def run_numpy(problem, U0, tol, max_iter, lipschitz=None, devices=None, metric=None):
    """Run FISTA on numpy inputs; returns ``(U, n_iter, L, status_code, F, gap)``.

    Small problems (``n * P * d * c <= NUMPY_SIZE``, one device) run :func:`fista_numpy` for up
    to ``min(NUMPY_ITERS, NUMPY_WORK / size)`` iterations and, if unfinished, continue in the
    compiled :func:`fista_run`; the others run :func:`fista_run`.
    """
    import numpy as np

    size = problem.n * problem.M.shape[1] * problem.d * problem.n_outputs
    if size <= NUMPY_SIZE and (devices is None or len(devices) == 1):
        budget = min(int(max_iter), NUMPY_ITERS, max(1, int(NUMPY_WORK // max(size, 1))))
        out = fista_numpy(problem.datafit, problem.penalty, problem.X, problem.M, problem.y,
                          np.asarray(U0, problem.X.dtype), problem.alpha, tol, budget,
                          -1.0 if lipschitz is None else float(lipschitz), metric)
        if out[3] != 2 or budget == int(max_iter):
            return out
        # a long solve: continue from its iterate and step size in the compiled loop
        U1, n1, L1 = out[0], out[1], out[2]
        U, n2, L, code, F, gap = _run_compiled(problem, U1, tol, int(max_iter) - n1, L1, None,
                                               metric)
        return U, n1 + n2, L, code, F, gap
    return _run_compiled(problem, U0, tol, max_iter, lipschitz, devices, metric)


def _run_compiled(problem, U0, tol, max_iter, lipschitz, devices, metric):
    """:func:`fista_run` on numpy inputs (placed on ``devices``)."""
    import numpy as np

    from ._sharding import mesh_scope, place

    with jax.enable_x64(True), mesh_scope(devices):
        dt = problem.X.dtype
        (Xd, Md, yd, Ud), pad = place(problem.X, problem.M, problem.y, np.asarray(U0, dt), devices)
        state = fista_run(
            problem.datafit,
            problem.penalty,
            Xd,
            Md,
            yd,
            Ud,
            jnp.asarray(problem.alpha, dt),
            jnp.asarray(tol, dt),
            jnp.asarray(max_iter, jnp.int32),
            jnp.asarray(-1.0 if lipschitz is None else lipschitz, dt),
            None if metric is None else tuple(jnp.asarray(m, dt) for m in metric),
        )
        U = np.asarray(state.U)
        U = U[: U.shape[0] - pad]
        return U, int(state.n_iter), float(state.L), int(state.status), float(state.F), float(state.gap)


def solve(problem, U0, tol, max_iter, lipschitz=None, devices=None, verbose=0):
    """Plain FISTA over every group."""
    U, n_iter, L, code, F, gap = run_numpy(problem, U0, tol, max_iter, lipschitz, devices)
    if verbose:
        print(f"[fista] {n_iter} iterations, F {F:.10g}, gap {gap:.3e}, {STATUS[code]}", flush=True)
    from ._base import SolverOutput

    return SolverOutput(coef=U, n_iter=n_iter, status=STATUS[code], lipschitz=L)


def supports(problem):
    if problem.constraint is not None:
        return "fista does not handle constraints"
    return None


from ._base import Solver  # noqa: E402

SOLVER = Solver(
    name="fista",
    solve=solve,
    supports=supports,
    default_max_iter=10_000,
    summary="accelerated proximal gradient over every pattern (one compiled loop; shards patterns)",
    options=("verbose", "lipschitz", "devices"),
)
