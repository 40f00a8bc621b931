r"""Penalties ``Omega(U)`` of the convex program (multiplied by ``alpha`` in the objective).

A penalty is a small stateless, hashable object with the named methods solvers need (each takes an optional ``metric``: the penalty written on
preconditioned variables ``v_i`` with ``u_i = T v_i``, see :mod:`gatedrelu.solvers.working_set`): its value,
the prox of every group at once (vectorised over the group axis, the first axis of ``U``), its
dual norm through the per-group dual norms, and the distance of ``-grad`` to ``alpha`` times its
subdifferential (the KKT violation used by working sets). Shapes: ``U`` is (P, d) or (P, d, c),
group axis first.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from ..operator import group_norms, xp_of

__all__ = ["GroupL2", "PENALTIES"]


class GroupL2:
    r"""Group lasso over neurons: ``Omega(U) = sum_i ||u_i||_2`` (Frobenius for (d, c) groups).

    Its dual norm is ``max_i ||g_i||``, so ``alpha * Omega`` has the dual constraint
    ``||X^T D_i theta|| <= alpha`` for every pattern ``i``.
    """

    name = "group_l2"

    def __hash__(self):
        return hash(self.name)

    def __eq__(self, other):
        return type(other) is type(self)

    @staticmethod
    def value(U, metric=None):
        """``sum_i ||u_i||``; with ``metric = (Q, sig)``, ``sum_i ||T v_i||`` for ``U = V``."""
        return xp_of(U).sum(GroupL2.group_values(U, metric))

    @staticmethod
    def group_values(U, metric=None):
        """Per-group contribution ``||u_i||`` (or ``||T v_i||`` with a metric), shape (P,)."""
        if metric is None:
            return group_norms(U)
        Q, sig = metric
        return group_norms(_scale_rows(_rotate(Q, U), sig))

    @staticmethod
    def prox(V, thresh, metric=None):
        """``argmin_U 1/2||U - V||^2 + thresh * Omega(U)``, vectorised over groups.

        Without a metric: block soft-thresholding. With ``metric = (Q, sig)`` (the variables are
        ``v_i`` with ``u_i = T v_i``, ``T = Q diag(sig) Q^T`` symmetric positive definite), the
        penalty is ``||T v_i||`` and the prox solves, in the rotated coordinates ``w = Q^T v``,
        ``w = (I + s diag(sig)^2)^{-1} z`` with the ``s > 0`` at which ``s ||diag(sig) w|| =
        thresh`` (an increasing function of ``s``; bisection in ``log s``), or ``w = 0`` when
        ``||diag(sig)^{-1} z|| <= thresh``.
        """
        if metric is None:
            norms = group_norms(V)
            shrink = jnp.where(norms > thresh, 1 - thresh / jnp.where(norms > 0, norms, 1), 0)
            return V * shrink.reshape((-1,) + (1,) * (V.ndim - 1))
        Q, sig = metric
        Z = _rotate(Q, V)  # (P, d[, c]) in the eigenbasis
        zero = group_norms(_scale_rows(Z, 1 / sig)) <= thresh
        sig2 = sig * sig
        # s ||diag(sig) w(s)|| rises from 0 (s -> 0) to ||diag(1/sig) z|| (s -> inf)
        big = jnp.maximum(group_norms(_scale_rows(Z, sig)), jnp.finfo(V.dtype).tiny)
        lo = jnp.log(thresh / big) - 1.0
        hi = lo + 2 * jnp.log(jnp.max(sig) / jnp.min(sig)) + 60.0

        def f(log_s):
            s = jnp.exp(log_s).reshape((-1,) + (1,) * (Z.ndim - 1))
            W = Z / (1 + s * _expand(sig2, Z))
            return jnp.exp(log_s) * group_norms(_scale_rows(W, sig)) - thresh

        def body(_, bounds):
            lo, hi = bounds
            mid = 0.5 * (lo + hi)
            up = f(mid) > 0
            return jnp.where(up, lo, mid), jnp.where(up, mid, hi)

        lo, hi = jax.lax.fori_loop(0, 80, body, (lo, hi))
        s = jnp.exp(0.5 * (lo + hi)).reshape((-1,) + (1,) * (Z.ndim - 1))
        W = Z / (1 + s * _expand(sig2, Z))
        W = jnp.where(zero.reshape((-1,) + (1,) * (Z.ndim - 1)), 0, W)
        return _rotate(Q.T, W)

    @staticmethod
    def dual_group_norms(G, metric=None):
        """Per-group dual norms ``||g_i||`` (``||T^{-1} g_i||`` with a metric), shape (P,)."""
        if metric is None:
            return group_norms(G)
        Q, sig = metric
        return group_norms(_scale_rows(_rotate(Q, G), 1 / sig))

    @staticmethod
    def subdiff_distance(U, G, alpha):
        """Distance of ``G = -grad`` to ``alpha * d Omega(U)``, per group, shape (P,).

        ``u_i = 0``: ``max(||g_i|| - alpha, 0)``; otherwise ``||g_i - alpha u_i / ||u_i|| ||``.
        """
        norms = group_norms(U)
        shape = (-1,) + (1,) * (U.ndim - 1)
        direction = U / jnp.where(norms > 0, norms, 1).reshape(shape)
        active = group_norms(G - alpha * direction)
        inactive = jnp.maximum(group_norms(G) - alpha, 0)
        return jnp.where(norms > 0, active, inactive)

    @staticmethod
    def cvxpy_value(U_stacked):
        """CVXPY expression: ``U_stacked`` of shape (d * c, P), one column per group."""
        import cvxpy as cp

        return cp.sum(cp.norm(U_stacked, 2, axis=0))


#: Registered penalties by name.
PENALTIES = {"group_l2": GroupL2}


def _expand(vec, Z):
    """A per-feature vector (d,) broadcast against groups of shape (P, d[, c])."""
    return vec.reshape((1, -1) + (1,) * (Z.ndim - 2))


def _scale_rows(Z, vec):
    return Z * _expand(vec, Z)


def _rotate(Q, U):
    """``Q^T u_i`` for every group: (P, d[, c])."""
    return jnp.einsum("de,pd...->pe...", Q, U)
