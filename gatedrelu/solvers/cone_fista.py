r"""FISTA whose proximal step projects every group onto its activation cone (convex ReLU).

The cone-constrained program (``docs/math.md``, "Convex ReLU networks") is
``min f(A(U)) + sum_j [alpha ||u_j|| + iota_{K_j}(u_j)]`` with the polyhedral cones
``K_j = {u : s_j (2 D_j - I) X u >= 0}``. For a closed convex cone ``K`` the proximal map of
``tau ||.|| + iota_K`` is the projection followed by the group shrinkage,

    prox(v) = max(0, 1 - tau / ||Pi_K(v)||) Pi_K(v),

so FISTA applies to the constrained problem as it is, with exactly feasible iterates.

**Projections.** ``Pi_K(v) = v + C^T mu`` where ``mu >= 0`` solves the non-negative least squares
problem ``min ||v + C^T mu||`` (``C = s (2D - I) X``, one row per sample); at most ``d`` of the
``n`` multipliers are non-zero. All ``2P`` projections run at once as a Lawson-Hanson active-set
method with ``d`` slots per group, warm-started from the previous step's active sets (which
rarely change between steps, so one pass usually verifies them). Each pass costs one
pre-activation product ``X U^T``, whose last value is also the forward product of the step.
A group whose current residual ``||v + C^T mu||`` is already below ``tau`` is zero and stops
early (the residual decreases towards ``||Pi_K(v)||``). After the first pass over all groups,
the unfinished ones (at most ``B / BUFFER_FRACTION`` of them, in a rotating order) continue for
up to ``MAX_PASS`` passes on that small batch; a group still unfinished keeps its current value
for this step (feasible) and its projection resumes, warm-started, at the next step. Early
steps from a cold start, where hundreds of groups need active sets of size ``~d`` (projections
onto narrow cones land on low-dimensional faces), cost a few cheap passes instead of ``d`` full
ones; measured on n = 2000, d = 21, P = 500: 576 full-pass equivalents instead of 1084.

FISTA with these exact projections took 123 iterations where an augmented Lagrangian with a
compiled FISTA inner solve (the method of pyscnn, with the certificate below used to stop its
inner solves) took 5,000 to 20,000 (n = 100, d = 5, P = 30, alpha = alpha_max / 10, relative
gap 1e-6): its quadratic penalty on violated constraints makes the inner problems stiff, and its
iterates are only feasible in the limit.

**Certificate.** The step's multipliers ``Lambda = L mu`` satisfy the prox optimality conditions
with the gradient; with them and ``theta0 = -grad f`` at the new iterate the duality gap of the
constrained program is computed exactly as :func:`gatedrelu.problem.certificate.certify_constrained`
does. The loop stops when ``gap <= tol F`` (the iterates are feasible up to rounding; the
violation is checked as well).

The loop also tries the refined dual point (:func:`~gatedrelu.problem.certificate.refined_constrained_gap`,
``docs/math.md``, "The certificate") once its plain gap is within ``REFINE_BELOW sqrt(tol)``:
the plain gap lags at about the square root of the suboptimality (breast_cancer, the
classifier's defaults: 223 iterations to a plain 1e-6, 165 to a refined one).

**Two implementations.** Problems with ``n 2P d c <= NUMPY_SIZE`` run the iteration in numpy
(:func:`_solve_numpy`): nothing to compile (compiling the JAX loop took about 5 s of a 7 s
default fit on breast_cancer), unfinished projections continue on exactly the rows that need
them, and the least-squares systems have the size of the active sets. Larger ones run the
compiled loop, one ``lax.while_loop`` (step size by backtracking, gradient restarts, as
:mod:`gatedrelu.solvers.fista`), in chunks of ``REFINE_CHUNK`` iterations once the refined
certificate may stop it (:func:`_solve_jax`).
"""

from __future__ import annotations

from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from ..operator import adjoint, forward, power_lipschitz
from ..problem.certificate import (
    REFINE_BELOW,
    REFINE_MAX,
    certify_numpy,
    refine_pays,
    refined_constrained_gap,
)
from ..problem.constraints.cone import ConeConstraint
from ._base import Solver, SolverOutput

__all__ = ["SOLVER", "solve", "cone_fista_run", "project_cones", "STATUS"]

_GROW = 1.05
_BACKTRACK = 1.5
_MAX_BACKTRACK = 60
#: Passes of Lawson-Hanson per projection after the first, on at most B / BUFFER_FRACTION of
#: the rows; groups still unfinished keep their value for that step (warm-started next step).
MAX_PASS = 4
BUFFER_FRACTION = 8

STATUS = {0: "running", 1: "converged", 2: "max_iter", 3: "not finite",
          4: "backtracking exhausted"}


# --------------------------------------------------------------------------- projections


class Active(NamedTuple):
    """Active constraints of the ``B = 2P c`` projections: ``idx`` (B, k) sample indices (-1 for
    an empty slot) and ``mu`` (B, k) their multipliers (>= 0)."""

    idx: jax.Array
    mu: jax.Array


def _rows(X, ST, idx):
    """Constraint rows ``s_b (2 D_b - I)_kk x_k`` of the active slots, (B, k, d) (0 if empty)."""
    safe = jnp.maximum(idx, 0)
    sign = jnp.take_along_axis(ST, safe, axis=1)  # (B, k)
    R = X[safe] * sign[..., None]
    return jnp.where((idx >= 0)[..., None], R, 0)


def _ls(R, V, valid, eps):
    """``z`` minimising ``||v + R^T z||`` over the valid slots (0 on the others): Cholesky of
    ``R R^T`` with a relative ridge of one machine epsilon."""
    k = R.shape[1]
    Gm = jnp.einsum("bkd,bld->bkl", R, R)
    scale = jnp.max(jnp.diagonal(Gm, axis1=1, axis2=2), axis=1, initial=0.0)
    diag = jnp.where(valid, eps * jnp.maximum(scale, jnp.finfo(R.dtype).tiny)[:, None], 1.0)
    Gm = jnp.where(valid[:, :, None] & valid[:, None, :], Gm, 0) + diag[:, :, None] * jnp.eye(k, dtype=R.dtype)
    rhs = jnp.where(valid, -jnp.einsum("bkd,bd->bk", R, V), 0)
    z = jax.scipy.linalg.cho_solve((jnp.linalg.cholesky(Gm), True), rhs[..., None])[..., 0]
    return jnp.where(valid, z, 0)


def _pass(X, ST, V, idx, mu, add, XU_prev, eps, xmax):
    """One Lawson-Hanson pass on a batch of rows.

    ``add`` (None, or a bool per row): first adds the most violated constraint of ``XU_prev``
    (the pre-activations of the current iterate) to the rows where it is set, which must be rows
    whose multipliers are the least-squares solution on their active set (not after a step
    back), as in Lawson and Hanson; one at a time (adding several was measured to cycle, a new
    constraint's multiplier turning negative and re-entering). Then solves the least squares problem on the active set
    (stepping back and dropping slots when a multiplier would turn negative), forms the iterate
    and its pre-activations ``U X^T`` (the one product of a pass) and tests feasibility.

    Returns ``(idx, mu, U, XU, wmax, back)``.
    """
    B, k = idx.shape
    n = X.shape[0]
    rows = jnp.arange(B)[:, None]
    if add is not None:
        w = -(ST * XU_prev)
        # the active constraints hold with equality: never pick them again
        w = w.at[rows, jnp.maximum(idx, 0)].add(jnp.where(idx >= 0, -jnp.inf, 0))
        wmax = jnp.max(w, axis=1)
        kstar = jnp.min(jnp.where(w == wmax[:, None], jnp.arange(n), n - 1), axis=1)
        empty = idx < 0
        slot = jnp.argmax(empty, axis=1)
        put = (add & jnp.any(empty, axis=1))[:, None] & (jnp.arange(k)[None, :] == slot[:, None])
        idx = jnp.where(put, kstar[:, None].astype(idx.dtype), idx)
    valid = idx >= 0
    R = _rows(X, ST, idx)
    z = _ls(R, V, valid, eps)
    neg = valid & (z <= 0)
    back = jnp.any(neg, axis=1)
    # Lawson-Hanson step back from mu towards z, keeping mu >= 0; the slots reaching 0 leave
    ratio = jnp.where(neg, mu / jnp.maximum(mu - z, jnp.finfo(X.dtype).tiny), jnp.inf)
    a = jnp.clip(jnp.min(ratio, axis=1, initial=jnp.inf), 0, 1)
    mu_back = mu + a[:, None] * (z - mu)
    drop = (valid & (mu_back <= 0)) | (neg & (ratio <= a[:, None]))
    mu = jnp.where(back[:, None], jnp.where(drop, 0, mu_back), z)
    idx = jnp.where(back[:, None] & drop, -1, idx)
    U = V + jnp.einsum("bk,bkd->bd", mu, R)
    XU = U @ X.T  # (B, n) pre-activations
    w = -(ST * XU)
    w = w.at[rows, jnp.maximum(idx, 0)].add(jnp.where(idx >= 0, -jnp.inf, 0))
    wmax = jnp.max(w, axis=1)
    return idx, mu, U, XU, wmax, back


def project_cones(X, ST, V, act: Active, thresh, group_size: int, max_pass, buffer: int,
                  offset=0):
    """Project each row ``v_b`` of ``V`` (B, d) onto ``{u : ST[b] * (X u) >= 0}``.

    Lawson-Hanson on ``min_{mu >= 0} ||v + C^T mu||`` with at most ``k`` active constraints per
    row, warm-started from ``act``. A first pass re-solves every row on its warm active set
    (usually the projection: done); then the unfinished rows, at most ``buffer`` of them taken
    in a rotating order from ``offset``, continue for up to ``max_pass`` passes on that small
    batch. Rows are grouped by ``group_size`` consecutive rows (the outputs of a group): a group
    whose summed squared residual ``||v + C^T mu||^2`` is at most ``thresh^2`` stops, since its
    projection's norm is at most that (it will be shrunk to zero).

    Returns ``(U, XU, act, zero, done, passes)``: the rows (B, d), their pre-activations
    ``U X^T`` (B, n), the active sets, the rows of groups stopped early (B,), the rows finished
    (projected or zero; the others are Lawson-Hanson iterates, infeasible) and the number of
    passes (buffer passes counted as ``buffer / B`` of a pass).
    """
    n, d = X.shape
    B, k = act.idx.shape
    dtype = X.dtype
    eps = jnp.finfo(dtype).eps
    xmax = jnp.sqrt(jnp.max(jnp.sum(X * X, axis=1)))

    def group_r2(U):
        r2 = jnp.sum(U * U, axis=1).reshape(-1, group_size).sum(axis=1)
        return jnp.repeat(r2, group_size)

    def finished(U, wmax, back, idx):
        feasible = wmax <= 64 * eps * xmax * jnp.sqrt(jnp.sum(U * U, axis=1))
        full = jnp.all(idx >= 0, axis=1)
        return ~back & (feasible | full)

    idx, mu, U, XU, wmax, back = _pass(X, ST, V, act.idx, act.mu, None, None, eps, xmax)
    r2 = jnp.sum(U * U, axis=1)
    early = group_r2(U) <= thresh * thresh
    done = finished(U, wmax, back, idx) | early

    # the unfinished rows continue in a small batch (a dummy row B pads it)
    Bs = min(buffer, B)
    perm = (jnp.arange(B) + offset) % B
    pos = jnp.nonzero(~done[perm], size=Bs, fill_value=B)[0]
    sel = jnp.where(pos < B, perm[jnp.minimum(pos, B - 1)], B)
    def pad(a, v):
        return jnp.concatenate([a, jnp.full((1,) + a.shape[1:], v, a.dtype)])

    V_b, ST_b = pad(V, 0)[sel], pad(ST, 1)[sel]
    carry = (pad(idx, -1)[sel], pad(mu, 0)[sel], pad(U, 0)[sel], pad(XU, 0)[sel],
             pad(done, True)[sel], pad(r2, 0)[sel], pad(back, False)[sel], jnp.int32(0))

    def body(c):
        idx_b, mu_b, U_b, XU_b, done_b, r2_b, back_b, p = c
        i2, m2, U2, XU2, wmax2, back2 = _pass(X, ST_b, V_b, idx_b, mu_b, ~back_b, XU_b, eps,
                                              xmax)
        keep = done_b
        r2_new = jnp.where(keep, r2_b, jnp.sum(U2 * U2, axis=1))
        # group residuals: the rows of a group outside the batch keep their pass-1 values
        full_r2 = jnp.concatenate([r2, jnp.zeros(1, dtype)]).at[sel].set(r2_new)[:B]
        early_b = pad(jnp.repeat(full_r2.reshape(-1, group_size).sum(axis=1), group_size)
                      <= thresh * thresh, True)[sel]
        fin = finished(U2, wmax2, back2, i2) | early_b
        k1 = keep[:, None]
        return (jnp.where(k1, idx_b, i2), jnp.where(k1, mu_b, m2), jnp.where(k1, U_b, U2),
                jnp.where(k1, XU_b, XU2), done_b | fin, r2_new, back2, p + 1)

    def cond(c):
        return (~jnp.all(c[4])) & (c[7] < max_pass)

    idx_b, mu_b, U_b, XU_b, done_b, _, _, p = jax.lax.while_loop(cond, body, carry)
    def put(full, part):
        return pad(full, 0 if full.dtype != bool else False).at[sel].set(part)[:B]

    idx, mu, U, XU = put(idx, idx_b), put(mu, mu_b), put(U, U_b), put(XU, XU_b)
    done = put(done, done_b)
    zero = group_r2(U) <= thresh * thresh
    done = done | zero
    return U, XU, Active(idx, mu), zero, done, 1 + p * Bs / B


# --------------------------------------------------------------------------- FISTA


class ConeState(NamedTuple):
    U: jax.Array  # (Q, d[, c]) iterate (feasible up to rounding)
    U_prev: jax.Array
    Z: jax.Array  # (n, Q[, c]) pre-activations X u_j
    Z_prev: jax.Array
    G: jax.Array  # (Q, d[, c]) A^T theta0 at U
    G_prev: jax.Array
    t: jax.Array
    L: jax.Array
    act: Active  # projections' active sets (B = Q c rows)
    lam: jax.Array  # (B, k) certificate multipliers L mu on act.idx
    F: jax.Array
    gap: jax.Array
    viol: jax.Array
    n_iter: jax.Array
    passes: jax.Array  # projection passes, in total (float: buffer passes count partially)
    status: jax.Array


def _to_rows(U):
    """(Q, d) -> (Q, d); (Q, d, c) -> (Q c, d), rows ordered group-major."""
    if U.ndim == 2:
        return U
    Q, d, c = U.shape
    return jnp.transpose(U, (0, 2, 1)).reshape(Q * c, d)


def _from_rows(R, like):
    if like.ndim == 2:
        return R
    Q, d, c = like.shape
    return jnp.transpose(R.reshape(Q, c, d), (0, 2, 1))


def _cols_to_Z(UX, like):
    """(B, n) pre-activations of the rows -> the masks' layout (n, Q[, c])."""
    if like.ndim == 2:
        return UX.T
    Q, d, c = like.shape
    return UX.T.reshape(-1, Q, c)


def _expand_groups(flags, U):
    return flags.reshape((-1,) + (1,) * (U.ndim - 1))


def _expand_cols(flags, Z):
    return flags[None, :] if Z.ndim == 2 else flags[None, :, None]


def _masked_sum(M, Z):
    return jnp.sum(jnp.where(M if Z.ndim == 2 else M[:, :, None], Z, 0), axis=1)


def _step(datafit, penalty, X, M, S, ST, y, alpha, tol, vtol, max_pass, buffer, s: ConeState):
    c = 1 if s.U.ndim == 2 else s.U.shape[2]
    t_next = 0.5 * (1 + jnp.sqrt(1 + 4 * s.t**2))
    beta = (s.t - 1) / t_next
    W = s.U + beta * (s.U - s.U_prev)
    ZW = s.Z + beta * (s.Z - s.Z_prev)
    zW = _masked_sum(M, ZW)
    if datafit.affine_gradient:
        GW = s.G + beta * (s.G - s.G_prev)
    else:
        GW = adjoint(X, M, datafit.dual_point(zW, y))
    eps = jnp.finfo(X.dtype).eps
    tiny = jnp.finfo(X.dtype).tiny

    def trial(L, act):
        tau = alpha / L
        P, XP, act_new, zero, done, passes = project_cones(
            X, ST, _to_rows(W + GW / L), act, tau, c, max_pass, buffer,
            (s.n_iter % ST.shape[0]) * buffer % ST.shape[0])
        gn = jnp.sqrt(jnp.sum(P * P, axis=1).reshape(-1, c).sum(axis=1))  # (Q,)
        zero = zero.reshape(-1, c)[:, 0] | (gn <= tau)
        # a group whose projection is unfinished (pass budget) keeps its value this step; its
        # warm-started projection continues at the next one
        frozen = ~zero & ~jnp.all(done.reshape(-1, c), axis=1)
        shrink = jnp.where(zero, 0, 1 - tau / jnp.maximum(gn, tiny))
        shrink_rows = jnp.repeat(shrink, c)
        U_new = jnp.where(_expand_groups(frozen, s.U), s.U,
                          _from_rows(P * shrink_rows[:, None], s.U))
        Z_new = jnp.where(_expand_cols(frozen, s.Z), s.Z,
                          _cols_to_Z(XP * shrink_rows[:, None], s.U))
        z_new = _masked_sum(M, Z_new)
        D = U_new - W
        breg = datafit.bregman(z_new, zW, y)
        dd = jnp.vdot(D, D)
        finite = jnp.isfinite(breg) & jnp.all(jnp.isfinite(z_new))
        ok = finite & (breg <= 0.5 * L * dd * (1 + 8 * eps))
        need = jnp.where(finite, 2 * breg / jnp.maximum(dd, tiny), 0)
        return U_new, Z_new, z_new, act_new, ok, finite, need, passes, jnp.sum(frozen, dtype=jnp.int32)

    # backtracking as a do-while loop: one traced copy of the trial (compile time)
    def bt_cond(cc):
        return (~cc[1][4]) & (cc[2] < _MAX_BACKTRACK)

    def bt_body(cc):
        L, out, count = cc
        L = jnp.where(count == 0, s.L / _GROW,
                      jnp.where(out[5], jnp.maximum(L * _BACKTRACK, out[6]), L * 1e10))
        new = trial(L, out[3])
        return L, new[:7] + (new[7] + out[7], new[8]), count + 1

    dtype = X.dtype
    start = (s.U, s.Z, jnp.zeros_like(zW), s.act, jnp.array(False), jnp.array(True),
             jnp.zeros((), dtype), jnp.zeros((), dtype), jnp.int32(0))
    L, out, _ = jax.lax.while_loop(bt_cond, bt_body, (s.L, start, jnp.int32(0)))
    U_new, Z_new, z_new, act_new, ok, _, _, passes, n_frozen = out
    theta0 = datafit.dual_point(z_new, y)
    G_new = adjoint(X, M, theta0)
    lam = L * act_new.mu
    CtL = _from_rows(jnp.einsum("bk,bkd->bd", lam, _rows(X, ST, act_new.idx)), s.U)
    F = datafit.value(z_new, y) + alpha * penalty.value(U_new)
    Gc = G_new + CtL
    sc = penalty.dual_scale(Gc, alpha)
    gap = F - (datafit.dual_value(sc * theta0, y) - penalty.conjugate(sc * Gc, alpha))
    Sx = S if Z_new.ndim == 2 else S[:, :, None]
    viol = jnp.maximum(-jnp.min(Sx * Z_new), 0)
    # gradient restart, and a function-value restart (frozen groups make steps inexact)
    restart = (jnp.vdot(W - U_new, U_new - s.U) > 0) | (F > s.F)
    finite = jnp.isfinite(F) & jnp.isfinite(gap)
    status = jnp.where(~finite, 3, jnp.where(ok, 0, 4)).astype(jnp.int32)
    new = ConeState(U=U_new, U_prev=s.U, Z=Z_new, Z_prev=s.Z, G=G_new, G_prev=s.G,
                    t=jnp.where(restart, jnp.ones_like(t_next), t_next), L=L, act=act_new,
                    lam=lam, F=F, gap=gap, viol=viol, n_iter=s.n_iter + 1,
                    passes=s.passes + passes, status=status)
    kept = s._replace(n_iter=s.n_iter + 1, status=status, passes=s.passes + passes)
    return jax.tree.map(lambda a, b: jnp.where(status == 0, a, b), new, kept)


@partial(jax.jit, static_argnums=(0, 1))
def cone_fista_run(datafit, penalty, X, M, y, U0, idx0, mu0, alpha, tol, vtol, max_iter,
                   L0=0.0):
    """FISTA with cone projections from ``U0`` until ``gap <= tol F`` and
    ``violation <= vtol``, ``max_iter`` iterations or a numerical failure. ``L0 > 0``: the
    starting step constant (a continued solve), else the power-iteration bound."""
    dtype = X.dtype
    n, d = X.shape
    c = 1 if U0.ndim == 2 else U0.shape[2]
    S = ConeConstraint.orthant(M, dtype)
    ST = jnp.repeat(S.T, c, axis=0)  # (B, n) signs of every projected row
    max_pass = MAX_PASS
    B = ST.shape[0]
    buffer = max(min(B, 32), B // BUFFER_FRACTION)
    L = jnp.maximum(power_lipschitz(X, M) * (n * datafit.lipschitz(y)), jnp.finfo(dtype).tiny)
    L = jnp.where(L0 > 0, jnp.asarray(L0, dtype), L)
    # the warm start is not projected here: if it is infeasible (violation above vtol) the
    # first step projects it, if it is feasible and optimal the loop ends at once
    U = U0
    Z = ConeConstraint.preactivations(X, U0)
    act = Active(idx0, mu0)
    z = _masked_sum(M, Z)
    theta0 = datafit.dual_point(z, y)
    G = adjoint(X, M, theta0)
    F = datafit.value(z, y) + alpha * penalty.value(U)
    sc = penalty.dual_scale(G, alpha)
    gap = F - (datafit.dual_value(sc * theta0, y) - penalty.conjugate(sc * G, alpha))
    Sx = S if Z.ndim == 2 else S[:, :, None]
    zero_lam = jnp.zeros_like(act.mu)
    state = ConeState(U=U, U_prev=U, Z=Z, Z_prev=Z, G=G, G_prev=G, t=jnp.ones((), dtype), L=L,
                      act=Active(act.idx, zero_lam), lam=zero_lam, F=F, gap=gap,
                      viol=jnp.maximum(-jnp.min(Sx * Z), 0), n_iter=jnp.int32(0),
                      passes=jnp.zeros((), dtype), status=jnp.int32(0))

    def cond(s):
        return (s.status == 0) & (s.n_iter < max_iter) & ~((s.gap <= tol * s.F) & (s.viol <= vtol))

    out = jax.lax.while_loop(
        cond, lambda s: _step(datafit, penalty, X, M, S, ST, y, alpha, tol, vtol, max_pass,
                              buffer, s),
        state)
    done = (out.gap <= tol * out.F) & (out.viol <= vtol)
    final = jnp.where(out.status != 0, out.status, jnp.where(done, 1, 2)).astype(jnp.int32)
    return out._replace(status=final)


# --------------------------------------------------------------------------- numpy path


#: Problems with at most this many ``n * 2P * d * c`` run the numpy version of the same method
#: (no compilation): on scikit-learn's breast_cancer with the estimator's defaults (n 426, d 31,
#: 100 patterns: 2.6 million) compiling the JAX loop took about 5 s of a 7 s fit.
NUMPY_SIZE = 20_000_000


def _np_pass(X, ST, V, idx, mu, add, XU_prev, eps):
    """:func:`_pass` in numpy, on the rows given (``add``: None or a bool per row). The slots
    are compacted first (filled ones first, as many columns as the fullest row needs), so that
    the least-squares systems have the size of the active sets, not ``k``."""
    B, k_all = idx.shape
    rows = np.arange(B)[:, None]
    order = np.argsort(idx < 0, axis=1, kind="stable")
    k = min(k_all, int(np.max(np.sum(idx >= 0, axis=1), initial=0)) + (add is not None))
    k = max(k, 1)
    idx = np.take_along_axis(idx, order, axis=1)[:, :k]
    mu = np.take_along_axis(mu, order, axis=1)[:, :k]
    if add is not None:
        w = -(ST * XU_prev)
        w[rows, np.maximum(idx, 0)] += np.where(idx >= 0, -np.inf, 0)
        kstar = np.argmax(w, axis=1)
        empty = idx < 0
        slot = np.argmax(empty, axis=1)
        put = (add & empty.any(axis=1))[:, None] & (np.arange(k)[None, :] == slot[:, None])
        idx = np.where(put, kstar[:, None], idx)
    valid = idx >= 0
    safe = np.maximum(idx, 0)
    R = X[safe] * np.take_along_axis(ST, safe, axis=1)[..., None]
    R[~valid] = 0
    Gm = R @ R.transpose(0, 2, 1)
    scale = np.max(np.diagonal(Gm, axis1=1, axis2=2), axis=1, initial=0.0)
    diag = np.where(valid, eps * np.maximum(scale, np.finfo(X.dtype).tiny)[:, None], 1.0)
    Gm = np.where(valid[:, :, None] & valid[:, None, :], Gm, 0) + diag[:, :, None] * np.eye(k)
    rhs = np.where(valid, -np.einsum("bkd,bd->bk", R, V), 0)
    z = np.where(valid, np.linalg.solve(Gm, rhs[..., None])[..., 0], 0)
    neg = valid & (z <= 0)
    back = neg.any(axis=1)
    with np.errstate(all="ignore"):  # as the JAX version: inf where mu - z is tiny
        ratio = np.where(neg, mu / np.maximum(mu - z, np.finfo(X.dtype).tiny), np.inf)
    a = np.clip(np.min(ratio, axis=1, initial=np.inf), 0, 1)
    mu_back = mu + a[:, None] * (z - mu)
    drop = (valid & (mu_back <= 0)) | (neg & (ratio <= a[:, None]))
    mu = np.where(back[:, None], np.where(drop, 0, mu_back), z)
    idx = np.where(back[:, None] & drop, -1, idx)
    R = np.where((idx >= 0)[..., None], R, 0)
    U = V + np.einsum("bk,bkd->bd", mu, R)
    XU = U @ X.T
    w = -(ST * XU)
    w[rows, np.maximum(idx, 0)] += np.where(idx >= 0, -np.inf, 0)
    if k < k_all:
        idx = np.pad(idx, ((0, 0), (0, k_all - k)), constant_values=-1)
        mu = np.pad(mu, ((0, 0), (0, k_all - k)))
    return idx, mu, U, XU, w.max(axis=1), back


def _np_project(X, ST, V, idx, mu, thresh, group_size, xmax, max_pass):
    """:func:`project_cones` in numpy: every unfinished row continues (numpy takes the subset
    as it is) for up to ``max_pass`` passes. Returns ``(U, XU, idx, mu, zero, done, passes)``."""
    eps = np.finfo(X.dtype).eps

    def finished(U, wmax, back, idx):
        feasible = wmax <= 64 * eps * xmax * np.sqrt(np.sum(U * U, axis=1))
        return ~back & (feasible | np.all(idx >= 0, axis=1))

    def early(U):
        r2 = np.sum(U * U, axis=1).reshape(-1, group_size).sum(axis=1)
        return np.repeat(r2 <= thresh * thresh, group_size)

    idx, mu, U, XU, wmax, back = _np_pass(X, ST, V, idx, mu, None, None, eps)
    done = finished(U, wmax, back, idx) | early(U)
    passes = 1.0
    for _ in range(max_pass):
        sel = np.flatnonzero(~done)
        if sel.size == 0:
            break
        out = _np_pass(X, ST[sel], V[sel], idx[sel], mu[sel], ~back[sel], XU[sel], eps)
        idx[sel], mu[sel], U[sel], XU[sel], wmax_s, back[sel] = out
        done[sel] = finished(U[sel], wmax_s, back[sel], idx[sel])
        done |= early(U)
        passes += sel.size / V.shape[0]
    zero = early(U)
    return U, XU, idx, mu, zero, done | zero, passes


def _rows_np(U):
    return U if U.ndim == 2 else np.transpose(U, (0, 2, 1)).reshape(-1, U.shape[1])


def _from_rows_np(R, like):
    if like.ndim == 2:
        return R
    Q, d, c = like.shape
    return np.transpose(R.reshape(Q, c, d), (0, 2, 1))


def _solve_numpy(problem, U0, tol, vtol, max_iter):
    """The method of :func:`cone_fista_run` in numpy (small problems: no compilation), with
    exact projections (every unfinished row continues, up to ``3 d`` passes). Returns
    ``(U, idx, lam, n_iter, code, passes, F, gap, viol)``."""
    datafit, penalty = problem.datafit, problem.penalty
    X, M, y, alpha = problem.X, problem.M, problem.y, problem.alpha
    n, d = X.shape
    Q = M.shape[1]
    c = 1 if U0.ndim == 2 else U0.shape[2]
    eps, tiny = np.finfo(X.dtype).eps, np.finfo(X.dtype).tiny
    S = ConeConstraint.orthant(M, X.dtype)
    Sx = S if U0.ndim == 2 else S[:, :, None]
    ST = np.repeat(S.T, c, axis=0)
    Mx = M if U0.ndim == 2 else M[:, :, None]
    xmax = np.sqrt(np.max(np.sum(X * X, axis=1)))
    v = np.ones(n) + 0.1 * np.cos(np.arange(n))
    for _ in range(30):  # power iteration for ||A||^2 (as power_lipschitz)
        v = forward(X, M, adjoint(X, M, v / np.linalg.norm(v)))
    L = max(float(np.linalg.norm(v)) * float(datafit.lipschitz(y)), tiny)

    def to_Z(XU):  # (B, n) -> (n, Q[, c])
        return XU.T if U0.ndim == 2 else XU.T.reshape(n, Q, c)

    def masked_sum(Z):
        return np.sum(np.where(Mx, Z, 0), axis=1)

    def certificate(U, Z, G, idx, lam):
        z = masked_sum(Z)
        theta0 = datafit.dual_point(z, y)
        safe = np.maximum(idx, 0)
        R = X[safe] * np.take_along_axis(ST, safe, axis=1)[..., None]
        R[idx < 0] = 0
        Gc = G + _from_rows_np(np.einsum("bk,bkd->bd", lam, R), U)
        F = float(datafit.value(z, y) + alpha * penalty.value(U))
        sc = penalty.dual_scale(Gc, alpha)
        gap = F - float(datafit.dual_value(sc * theta0, y) - penalty.conjugate(sc * Gc, alpha))
        if np.isfinite(gap) and refine_pays(gap, F, tol):
            # near the end: the refined dual point certifies about the suboptimality, where the
            # plain one lags at its square root (docs/math.md, "The certificate")
            gap = refined_constrained_gap(problem, U, z, theta0, Gc, F, gap)
        return F, gap, max(float(-np.min(Sx * Z)), 0.0)

    U = np.array(U0, X.dtype)
    Z = ConeConstraint.preactivations(X, U)
    G = adjoint(X, M, datafit.dual_point(masked_sum(Z), y))
    idx = np.full((Q * c, d), -1)
    mu = np.zeros((Q * c, d), X.dtype)
    lam = np.zeros_like(mu)
    F, gap, viol = certificate(U, Z, G, idx, lam)
    U_prev, Z_prev, G_prev, t = U, Z, G, 1.0
    n_iter, code, passes = 0, 0, 0.0
    while True:
        if not (np.isfinite(F) and np.isfinite(gap)):
            code = 3
            break
        if gap <= tol * F and viol <= vtol:
            code = 1
            break
        if n_iter >= max_iter:
            code = 2
            break
        n_iter += 1
        t_next = 0.5 * (1 + np.sqrt(1 + 4 * t * t))
        beta = (t - 1) / t_next
        W = U + beta * (U - U_prev)
        ZW = Z + beta * (Z - Z_prev)
        zW = masked_sum(ZW)
        GW = (G + beta * (G - G_prev) if datafit.affine_gradient
              else adjoint(X, M, datafit.dual_point(zW, y)))
        L_try, act, ok = L / _GROW, (idx, mu), False
        for _ in range(_MAX_BACKTRACK):
            tau = alpha / L_try
            P, XP, i2, m2, zero, done, p = _np_project(
                X, ST, _rows_np(W + GW / L_try), act[0], act[1], tau, c, xmax, MAX_PASS)
            passes += p
            act = (i2, m2)
            gn = np.sqrt(np.sum(P * P, axis=1).reshape(-1, c).sum(axis=1))
            zero = zero.reshape(-1, c)[:, 0] | (gn <= tau)
            frozen = ~zero & ~np.all(done.reshape(-1, c), axis=1)  # pass budget: keep
            shrink = np.repeat(np.where(zero, 0, 1 - tau / np.maximum(gn, tiny)), c)
            fz = frozen.reshape((-1,) + (1,) * (U.ndim - 1))
            U_new = np.where(fz, U, _from_rows_np(P * shrink[:, None], U))
            Z_new = np.where(frozen[None, :] if U.ndim == 2 else frozen[None, :, None], Z,
                             to_Z(XP * shrink[:, None]))
            z_new = masked_sum(Z_new)
            D = U_new - W
            dd = float(np.vdot(D, D))
            with np.errstate(all="ignore"):
                breg = float(datafit.bregman(z_new, zW, y))
            finite = np.isfinite(breg) and np.all(np.isfinite(z_new))
            if finite and breg <= 0.5 * L_try * dd * (1 + 8 * eps):
                ok = True
                break
            L_try = max(L_try * _BACKTRACK, 2 * breg / max(dd, tiny)) if finite else L_try * 1e10
        if not ok:
            code = 4
            break
        L = L_try
        idx, mu = act
        lam = L * mu
        G_new = adjoint(X, M, datafit.dual_point(z_new, y))
        F_new, gap, viol = certificate(U_new, Z_new, G_new, idx, lam)
        restart = float(np.vdot(W - U_new, U_new - U)) > 0 or F_new > F
        U_prev, Z_prev, G_prev = U, Z, G
        U, Z, G, F = U_new, Z_new, G_new, F_new
        t = 1.0 if restart else t_next
    return U, idx, lam, n_iter, code, passes, F, gap, viol


def _dense_multipliers(idx, lam, n, Q, c):
    """Slots (B, k) -> Lambda of the masks' layout (n, Q) or (n, Q, c)."""
    B, k = idx.shape
    Lam = np.zeros((B, n), lam.dtype)
    rows = np.repeat(np.arange(B), k)
    cols = idx.ravel()
    keep = cols >= 0
    np.add.at(Lam, (rows[keep], cols[keep]), lam.ravel()[keep])
    Lam = Lam.T  # (n, B)
    return Lam if c == 0 else Lam.reshape(n, Q, c)


def solve(problem, U0, tol, max_iter, verbose=0) -> SolverOutput:
    """FISTA with cone projections on a cone-constrained problem (see the module docstring)."""
    con = problem.constraint
    con.check(problem.M)
    dt = problem.X.dtype
    n, d = problem.X.shape
    Q = problem.M.shape[1]
    c = 0 if problem.y.ndim == 1 else problem.y.shape[1]
    vtol = tol * con.violation_scale(problem.y)
    if n * Q * d * max(c, 1) <= NUMPY_SIZE:
        U, idx, lam, n_iter, code, passes, F, gap, viol = _solve_numpy(
            problem, np.asarray(U0, dt), tol, vtol, max_iter)
        Lam = _dense_multipliers(idx, lam, n, Q, c)
    else:
        U, Lam, n_iter, code, passes, F, gap, viol = _solve_jax(problem, U0, tol, vtol, max_iter)
    if verbose:
        rel = gap / F if F > 0 else 0.0
        print(f"[cone_fista] {n_iter} iterations, {passes:.0f} projection passes, F {F:.10g}, "
              f"rel gap {rel:.3e}, violation {viol:.3e}, {STATUS[code]}", flush=True)
    return SolverOutput(coef=U, n_iter=n_iter, status=STATUS[code],
                        info={"multipliers": Lam.astype(dt), "projection_passes": passes})


#: Iterations of the compiled loop between two refined certificates, once its plain gap is in
#: the window where the refined one may certify (:func:`~gatedrelu.problem.certificate.refine_pays`).
REFINE_CHUNK = 20


def _solve_jax(problem, U0, tol, vtol, max_iter):
    """The compiled loop, stopped by the refined certificate: it first runs until its plain gap
    is in the refinement window, then in chunks of ``REFINE_CHUNK`` iterations (warm-started
    from the iterate, its active sets and its step constant), certified in numpy after each."""
    dt = problem.X.dtype
    n, d = problem.X.shape
    Q = problem.M.shape[1]
    c = 0 if problem.y.ndim == 1 else problem.y.shape[1]
    B = Q * max(c, 1)
    window = max(min(REFINE_BELOW * np.sqrt(tol), REFINE_MAX), tol)
    U, idx, L = np.asarray(U0, dt), np.full((B, d), -1, np.int32), 0.0
    n_iter, passes, loop_tol, budget = 0, 0.0, window, max_iter
    with jax.enable_x64(True):
        args = (problem.datafit, problem.penalty, jnp.asarray(problem.X), jnp.asarray(problem.M),
                jnp.asarray(problem.y))
        while True:
            out = cone_fista_run(
                *args, jnp.asarray(U, dt), jnp.asarray(idx), jnp.zeros((B, d), dt),
                jnp.asarray(problem.alpha, dt), jnp.asarray(loop_tol, dt), jnp.asarray(vtol, dt),
                jnp.asarray(budget, jnp.int32), jnp.asarray(L, dt))
            U, idx, L = np.asarray(out.U), np.asarray(out.act.idx), float(out.L)
            Lam = _dense_multipliers(idx, np.asarray(out.lam), n, Q, c)
            n_iter += int(out.n_iter)
            passes += float(out.passes)
            code, F, gap, viol = int(out.status), float(out.F), float(out.gap), float(out.viol)
            if code > 2:
                break  # not finite, or backtracking exhausted
            if gap <= tol * F and viol <= vtol:
                code = 1  # certified by the loop's own (plain) gap
                break
            cert = certify_numpy(problem, U, Lam.astype(dt))  # the refined gap, where it pays
            if cert.finite and cert.dual_gap <= tol * cert.objective and viol <= vtol:
                code, gap = 1, cert.dual_gap
                break
            if n_iter >= max_iter:
                code = 2
                break
            loop_tol, budget = tol, min(REFINE_CHUNK, max_iter - n_iter)
    return U, Lam, n_iter, code, passes, F, gap, viol


def supports(problem):
    if not isinstance(problem.constraint, ConeConstraint):
        return ("cone_fista solves cone-constrained (convex ReLU) problems only; use it "
                "through gatedrelu.convex_relu")
    return None


SOLVER = Solver(
    name="cone_fista",
    solve=solve,
    supports=supports,
    default_max_iter=100_000,
    summary="FISTA with exact projections onto the activation cones, for the cone-constrained "
            "convex ReLU program",
    options=("verbose",),
)
