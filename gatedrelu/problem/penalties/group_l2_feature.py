r"""Neuron and feature sparsity together: ``Omega(U) = sum_i ||u_i|| + beta * sum_j ||U[:, j]||``.

The pattern groups (rows, one per neuron) and the feature groups (columns, one per input) cross,
so neither the prox nor the dual norm has a closed form (``docs/math.md``, "Penalties"):

* **prox**: Dykstra's algorithm on the two block soft-thresholdings (rows, then columns), run
  inside ``jax.jit`` until the iterate and its split stop moving. Its invariant ``V = Y + P + Q`` with ``P``
  and ``Q`` projections onto the row and column balls also gives, at any iteration, a point
  ``P + Q`` of the dual ball (:meth:`NeuronFeatureL2.dual_ball_point`).
* **dual norm**: the inf-convolution ``Omega^*(G) = min_{G1 + G2 = G} max(max_i ||G1_i||,
  max_j ||G2_j|| / beta)``. Each element's share can be taken along ``g_ij``, so only the
  magnitudes ``s_ij = ||g_ij||^2`` matter, and by a minimax argument

      Omega^*(G)^2 = max { sum_ij s_ij a_i b_j / (a_i + b_j) : a, b >= 0, sum a + beta^2 sum b = 1 },

  a concave program in ``P + d`` variables. A log-barrier Newton method solves it; every iterate
  gives a certified lower bound (its objective) and, through the split
  ``G1_ij = b_j / (a_i + b_j) g_ij``, a certified upper bound. The method stops when the two
  agree to ``1e-13`` (relative, squared) and returns the **upper bound**, so the scaled dual
  point of the certificate is always feasible. Each Newton step solves a bipartite-Laplacian
  system by a Schur complement on the smaller side (``O(P d min(P, d))``), written so that no
  difference of nearly equal numbers is formed.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.linalg import cho_solve

from ...operator import group_norms, xp_of
from ._base import Penalty
from .feature import feature_norms

__all__ = ["NeuronFeatureL2", "PENALTY", "DYKSTRA_MAX_ITER", "DUAL_MAX_ITER"]

#: Iteration cap of Dykstra's algorithm in the prox (it stops earlier when the iterate stops moving).
DYKSTRA_MAX_ITER = 2000
#: Relative change of the Dykstra iterate and of its row part (in units of ``max |V|``) at which
#: the prox stops.
DYKSTRA_TOL = 1e-14
#: Newton steps of the dual-norm barrier method (about 40-55 are used to reach 1e-13).
DUAL_MAX_ITER = 100
#: Relative distance (of the squares) between the certified bounds at which the dual norm stops.
DUAL_TOL = 1e-13


def _rows(V, radius):
    """Projection of every row (group) onto the ball of ``radius``."""
    xp = xp_of(V)
    n = group_norms(V)
    f = xp.where(n > radius, radius / xp.where(n > 0, n, 1), 1)
    return V * f.reshape((-1,) + (1,) * (V.ndim - 1))


def _cols(V, radius):
    """Projection of every feature column onto the ball of ``radius``."""
    xp = xp_of(V)
    n = feature_norms(V)
    f = xp.where(n > radius, radius / xp.where(n > 0, n, 1), 1)
    return V * f.reshape((1, -1) + (1,) * (V.ndim - 2))


def dykstra(V, r_row, r_col, max_iter=DYKSTRA_MAX_ITER, tol=DYKSTRA_TOL):
    """Dykstra's algorithm for ``prox`` of ``r_row sum_i ||u_i|| + r_col sum_j ||U_j||`` at ``V``.

    Traceable; stops when neither ``Y`` nor ``P`` moves by more than ``tol * max |V|`` in a sweep.
    Returns ``(Y, P, Q, n_iter)``: ``Y`` the prox (to the tolerance), ``P`` and ``Q``
    the projections of the last sweep onto the row ball of radius ``r_row`` and the column ball
    of radius ``r_col``, with ``V = Y + P + Q`` at every iteration.
    """
    scale = jnp.max(jnp.abs(V))
    stop = tol * scale

    def sweep(Y, P, Q):
        W = Y + P
        P_new = _rows(W, r_row)
        Z = W - P_new
        W = Z + Q
        Q_new = _cols(W, r_col)
        return W - Q_new, P_new, Q_new

    def cond(s):
        return (s[3] < max_iter) & (s[4] > stop)

    def body(s):
        Y, P, Q, k, _ = s
        Y_new, P_new, Q_new = sweep(Y, P, Q)
        # the split moves on after the prox has settled: both must stop moving
        change = jnp.maximum(jnp.max(jnp.abs(Y_new - Y)), jnp.max(jnp.abs(P_new - P)))
        return Y_new, P_new, Q_new, k + 1, change

    Y, P, Q = sweep(V, jnp.zeros_like(V), jnp.zeros_like(V))
    change = jnp.maximum(jnp.max(jnp.abs(Y - V)), jnp.max(jnp.abs(P)))
    Y, P, Q, k, _ = jax.lax.while_loop(cond, body, (Y, P, Q, jnp.int32(1), change))
    return Y, P, Q, k


_dykstra_jit = jax.jit(dykstra, static_argnums=(3, 4))


def _exclusive_row_sums(q):
    """``sum_{k != j} q_ik`` for every ``(i, j)``, from prefix and suffix sums (no cancellation)."""
    zero = jnp.zeros_like(q[:, :1])
    pre = jnp.cumsum(jnp.concatenate([zero, q[:, :-1]], axis=1), axis=1)
    suf = jnp.cumsum(jnp.concatenate([zero, q[:, :0:-1]], axis=1), axis=1)[:, ::-1]
    return pre + suf


def _inf_convolution_sq(S, b2, tol, max_iter):
    """Certified bounds on ``min_{G1+G2=G} max(max_i ||G1_i||^2, max_j ||G2_j||^2 / b2)``.

    ``S`` (P, d): the squared magnitudes ``||g_ij||^2``, scaled to a maximum of 1 (or all 0);
    ``b2 = beta^2``. Log-barrier Newton on the concave dual in the row and column weights
    ``(a, b)`` (module docstring). Returns ``(upper, lower, n_iter)`` of the squared dual norm.
    Cost per step: ``O(P d^2 + d^3)``; call it with ``d <= P`` (transpose otherwise).
    """
    P, d = S.shape
    m = P + d
    dt = S.dtype

    def parts(a, b):
        den = a[:, None] + b[None, :]
        W = b[None, :] / den  # share of g_ij given to the row (neuron) part
        V = a[:, None] / den  # share given to the column (feature) part
        rho = jnp.sum(S * W * W, axis=1)  # ||G1_i||^2
        kap = jnp.sum(S * V * V, axis=0)  # ||G2_j||^2
        return W, V, den, rho, kap

    a = jnp.full((P,), 0.5 / P, dt)
    b = jnp.full((d,), 0.5 / d, dt) / b2
    _, _, _, rho, kap = parts(a, b)
    phi = a @ rho + b @ kap
    trivial = jnp.minimum(jnp.max(jnp.sum(S, axis=1)), jnp.max(jnp.sum(S, axis=0)) / b2)
    upper = jnp.minimum(trivial, jnp.maximum(jnp.max(rho), jnp.max(kap) / b2))

    def cond(s):
        a, b, mu, upper, lower, k, ok = s
        return ok & (k < max_iter) & (upper - lower > tol * lower)

    def body(s):
        a, b, mu, upper, lower, k, ok = s
        W, V, den, rho, kap = parts(a, b)
        nu0 = upper
        q = 2 * S * (W * V) ** 2 * den  # 2 s_ij a_i^2 b_j^2 / (a_i + b_j)^3: the Laplacian weights
        dega = jnp.sum(q, axis=1)
        # scaled gradient (d/d log a, d/d log b) of the barrier objective, shifted by nu0 * e
        ga = a * (rho - nu0) + mu
        gb = b * (kap - b2 * nu0) + mu
        ea, eb = a, b2 * b
        ia = 1 / (dega + mu)
        # Schur complement of (Laplacian + mu I) on the column block, diagonal without cancellation
        Sch = -(q.T * ia[None, :]) @ q
        diag = jnp.sum(q * (_exclusive_row_sums(q) + mu) * ia[:, None], axis=0) + mu
        Sch = Sch.at[jnp.arange(d), jnp.arange(d)].set(diag)
        cf = jnp.linalg.cholesky(Sch)

        def solve(ra, rb):
            # (Laplacian + mu I) z = Pi r on the complement of the all-ones vector
            mean = (jnp.sum(ra) + jnp.sum(rb)) / m
            ra, rb = ra - mean, rb - mean
            xb = cho_solve((cf, True), rb + q.T @ (ra * ia))
            xa = (ra + q @ xb) * ia
            mean = (jnp.sum(xa) + jnp.sum(xb)) / m
            return xa - mean, xb - mean

        zga, zgb = solve(ga, gb)
        zea, zeb = solve(ea, eb)
        e1 = jnp.sum(ea) + jnp.sum(eb)
        g1 = jnp.sum(ga) + jnp.sum(gb)
        nu = (e1 * g1 + mu * m * (ea @ zga + eb @ zgb)) / (e1 * e1 + mu * m * (ea @ zea + eb @ zeb))
        za, zb = zga - nu * zea, zgb - nu * zeb
        c = -(ea @ za + eb @ zb) / e1  # the step keeps sum a + b2 sum b fixed
        ta, tb = za + c, zb + c  # step in log coordinates
        lam2 = (ga - nu * ea) @ ta + (gb - nu * eb) @ tb
        da, db = a * ta, b * tb
        worst = jnp.maximum(jnp.max(-ta), jnp.max(-tb))
        hi = jnp.where(worst > 0, jnp.minimum(1.0, 0.99 / jnp.where(worst > 0, worst, 1)), 1.0)

        def slope(t):  # derivative of the barrier objective along the step
            an, bn = a + t * da, b + t * db
            _, _, _, r, kk = parts(an, bn)
            return da @ (r - nu0 + mu / an) + db @ (kk - b2 * nu0 + mu / bn)

        def bisect(_, lh):
            lo, h = lh
            mid = 0.5 * (lo + h)
            up = slope(mid) > 0
            return jnp.where(up, mid, lo), jnp.where(up, h, mid)

        t = jax.lax.cond(slope(hi) >= 0, lambda: hi,
                         lambda: jax.lax.fori_loop(0, 40, bisect, (jnp.zeros((), dt), hi))[0])
        a_new, b_new = a + t * da, b + t * db
        total = jnp.sum(a_new) + b2 * jnp.sum(b_new)
        a_new, b_new = a_new / total, b_new / total
        good = (jnp.all(jnp.isfinite(a_new)) & jnp.all(jnp.isfinite(b_new))
                & jnp.all(a_new > 0) & jnp.all(b_new > 0) & jnp.isfinite(lam2))
        a_new = jnp.where(good, a_new, a)
        b_new = jnp.where(good, b_new, b)
        _, _, _, rho, kap = parts(a_new, b_new)
        upper = jnp.minimum(upper, jnp.maximum(jnp.max(rho), jnp.max(kap) / b2))
        lower = jnp.maximum(lower, a_new @ rho + b_new @ kap)
        mu = jnp.where(lam2 < 0.25 * mu, 0.1 * mu, mu)
        return a_new, b_new, mu, upper, lower, k + 1, good

    state = (a, b, phi / m, upper, phi, jnp.int32(0), jnp.asarray(True))
    _, _, _, upper, lower, k, _ = jax.lax.while_loop(cond, body, state)
    return upper, lower, k


def inf_convolution_bounds(G, beta, tol=DUAL_TOL, max_iter=DUAL_MAX_ITER):
    """Certified ``(upper, lower, n_iter)`` bounds on the dual norm of
    ``sum_i ||u_i|| + beta sum_j ||U_j||`` at ``G`` (P, d[, c]); traceable.

    Computed in float64 when JAX's 64-bit mode is on (the returned bounds have ``G``'s dtype).
    """
    dt = jnp.promote_types(G.dtype, jnp.float64)
    Gw = G.astype(dt)
    S = jnp.sum(Gw.reshape(Gw.shape[0], Gw.shape[1], -1) ** 2, axis=2)  # (P, d)
    smax = jnp.max(S)
    S = S / jnp.where(smax > 0, smax, 1)
    b2 = jnp.asarray(beta, dt) ** 2
    tol = max(float(tol), 100 * float(jnp.finfo(dt).eps))
    if S.shape[1] <= S.shape[0]:
        up, lo, k = _inf_convolution_sq(S, b2, tol, max_iter)
    else:  # the Schur complement on the smaller side: Omega*(G; beta) = Omega*(G^T; 1/beta) / beta
        up, lo, k = _inf_convolution_sq(S.T, 1 / b2, tol, max_iter)
        up, lo = up / b2, lo / b2
    return (jnp.sqrt(up * smax).astype(G.dtype), jnp.sqrt(lo * smax).astype(G.dtype), k)


_bounds_jit = jax.jit(inf_convolution_bounds, static_argnums=(2, 3))


def _numpy_call(fn, *arrays, static=()):
    """Run a jitted JAX function on numpy arrays in 64-bit mode; numpy results."""
    with jax.enable_x64(True):
        out = fn(*(jnp.asarray(a) for a in arrays), *static)
        return jax.tree.map(np.asarray, out)


class NeuronFeatureL2(Penalty):
    r"""Neuron plus feature sparsity: ``sum_i ||u_i|| + feature_weight * sum_j ||U[:, j]||``.

    The prox is computed by Dykstra's algorithm and the dual norm (an inf-convolution) by a
    certified barrier method that returns an upper bound within ``1e-13`` of the exact value
    (module docstring, ``docs/math.md``). Not separable over patterns: solved by FISTA and CVXPY.

    Parameters
    ----------
    feature_weight : float, default 1.0
        ``beta > 0``: the weight of the feature groups relative to the neuron groups.
    """

    name = "group_l2+feature"
    pattern_groups = False

    def __init__(self, feature_weight=1.0):
        beta = _check_weight(feature_weight)
        self.feature_weight = beta

    def _params(self) -> tuple:
        return (self.feature_weight,)

    def value(self, U, metric=None):
        _no_metric(metric)
        xp = xp_of(U)
        return xp.sum(group_norms(U)) + self.feature_weight * xp.sum(feature_norms(U))

    def _dykstra(self, V, thresh):
        """``(Y, P, Q)`` of :func:`dykstra` at radii ``thresh`` and ``thresh * feature_weight``."""
        if isinstance(V, np.ndarray):
            t = np.asarray(thresh, V.dtype)
            Y, P, Q, _ = _numpy_call(_dykstra_jit, V, t, t * V.dtype.type(self.feature_weight),
                                     static=(DYKSTRA_MAX_ITER, DYKSTRA_TOL))
            return Y.astype(V.dtype), P.astype(V.dtype), Q.astype(V.dtype)
        thresh = jnp.asarray(thresh, V.dtype)
        Y, P, Q, _ = dykstra(V, thresh, thresh * self.feature_weight)
        return Y, P, Q

    def prox(self, V, thresh, metric=None):
        """``argmin_U 1/2||U - V||^2 + thresh * Omega(U)`` by Dykstra's algorithm."""
        _no_metric(metric)
        return self._dykstra(V, thresh)[0]

    def dual_ball_point(self, G, radius):
        """The nearer to ``G`` of two points of the dual ball of ``radius``: ``P + Q`` of
        Dykstra's algorithm (inside by construction; the projection once it has converged) and
        ``G`` scaled by the certified dual norm (``G`` itself when it is inside, where Dykstra's
        prox, zero in the limit, converges slowly if ``G`` is on the boundary)."""
        xp = xp_of(G)
        _, P, Q = self._dykstra(G, radius)
        W1 = P + Q
        W2 = G * xp.minimum(1, radius / xp.maximum(self.dual_norm(G), xp.finfo(G.dtype).tiny))
        closer = xp.sum((G - W2) ** 2) < xp.sum((G - W1) ** 2)
        return xp.where(closer, W2, W1)

    def dual_norm(self, G, metric=None):
        """A certified upper bound on ``Omega^*(G)``, within ``1e-13`` relative of it."""
        _no_metric(metric)
        if isinstance(G, np.ndarray):
            up = _numpy_call(_bounds_jit, G, np.float64(self.feature_weight),
                             static=(DUAL_TOL, DUAL_MAX_ITER))[0]
            return up.astype(G.dtype)[()]
        return inf_convolution_bounds(G, self.feature_weight)[0]

    def cvxpy_value(self, Us):
        import cvxpy as cp

        by_group = Us[0] if len(Us) == 1 else cp.vstack(Us)  # (d c, P): one column per group
        by_feature = Us[0] if len(Us) == 1 else cp.hstack(Us)  # (d, P c): one row per feature
        return (cp.sum(cp.norm(by_group, 2, axis=0))
                + self.feature_weight * cp.sum(cp.norm(by_feature, 2, axis=1)))


def _check_weight(value) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"feature_weight must be a number, got {value!r}.")
    value = float(value)
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"feature_weight must be a finite number > 0 for the 'group_l2+feature' "
                         f"penalty, got {value!r} (0 is the plain 'group_l2' penalty).")
    return value


def _no_metric(metric):
    if metric is not None:
        raise ValueError("this penalty does not support preconditioning (supports_metric is False)")


PENALTY = NeuronFeatureL2
