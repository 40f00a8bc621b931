r"""Group lasso over neurons: ``Omega(U) = sum_i ||u_i||_2``, one group per activation pattern."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from ...operator import group_norms, xp_of
from ._base import Penalty
from ._metric import expand as _expand
from ._metric import rotate as _rotate
from ._metric import scale_rows as _scale_rows

__all__ = ["GroupL2", "PENALTY"]


class GroupL2(Penalty):
    r"""Group lasso over neurons: ``Omega(U) = sum_i ||u_i||_2`` (Frobenius for (d, c) groups).

    Its dual norm is ``max_i ||g_i||``, so ``alpha * Omega`` has the dual constraint
    ``||X^T D_i theta|| <= alpha`` for every pattern ``i``.
    """

    name = "group_l2"
    pattern_groups = True
    supports_metric = True

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
        if metric is None:  # numpy or JAX
            xp = xp_of(V)
            norms = group_norms(V)
            shrink = xp.where(norms > thresh, 1 - thresh / xp.where(norms > 0, norms, 1), 0)
            return V * shrink.reshape((-1,) + (1,) * (V.ndim - 1))
        Q, sig = metric
        xp = xp_of(V, Q, sig)  # numpy (a Python loop) or JAX (a compiled loop)
        Z = _rotate(Q, V)  # (P, d[, c]) in the eigenbasis
        zero = group_norms(_scale_rows(Z, 1 / sig)) <= thresh
        sig2 = sig * sig
        # s ||diag(sig) w(s)|| rises from 0 (s -> 0) to ||diag(1/sig) z|| (s -> inf)
        big = xp.maximum(group_norms(_scale_rows(Z, sig)), xp.finfo(V.dtype).tiny)
        lo = xp.log(thresh / big) - 1.0
        hi = lo + 2 * xp.log(xp.max(sig) / xp.min(sig)) + 60.0

        def f(log_s):
            s = xp.exp(log_s).reshape((-1,) + (1,) * (Z.ndim - 1))
            W = Z / (1 + s * _expand(sig2, Z))
            return xp.exp(log_s) * group_norms(_scale_rows(W, sig)) - thresh

        def body(_, bounds):
            lo, hi = bounds
            mid = 0.5 * (lo + hi)
            up = f(mid) > 0
            return xp.where(up, lo, mid), xp.where(up, mid, hi)

        if xp is jnp:
            lo, hi = jax.lax.fori_loop(0, 80, body, (lo, hi))
        else:
            with np.errstate(over="ignore"):
                for k in range(80):
                    lo, hi = body(k, (lo, hi))
        s = xp.exp(0.5 * (lo + hi)).reshape((-1,) + (1,) * (Z.ndim - 1))
        W = Z / (1 + s * _expand(sig2, Z))
        W = xp.where(zero.reshape((-1,) + (1,) * (Z.ndim - 1)), 0, W)
        return _rotate(Q.T, W)

    @staticmethod
    def prox_metric_terms(Y, thresh):
        """Block soft-thresholding of groups ``Y`` (k, d, c) and its Jacobian, for the prox in a
        variable metric (:mod:`gatedrelu.solvers.metric_fista`): returns ``(U, a, b, active)``
        with ``dU_i/dY_i = a_i I + b_i y_i y_i^T`` (``a_i = 1 - t/||y_i||``, ``b_i = t/||y_i||^3``
        for the groups above the threshold ``t``, 0 elsewhere) and ``active`` (k,) bool."""
        norms = np.sqrt(np.einsum("kdc,kdc->k", Y, Y))
        active = norms > thresh
        safe = np.where(active, norms, 1.0)
        a = np.where(active, 1 - thresh / safe, 0.0)
        b = np.where(active, thresh / safe**3, 0.0)
        return Y * a.astype(Y.dtype)[:, None, None], a, b, active

    @staticmethod
    def dual_group_norms(G, metric=None):
        """Per-group dual norms ``||g_i||`` (``||T^{-1} g_i||`` with a metric), shape (P,)."""
        if metric is None:
            return group_norms(G)
        Q, sig = metric
        return group_norms(_scale_rows(_rotate(Q, G), 1 / sig))

    @staticmethod
    def dual_norm(G, metric=None):
        return xp_of(G).max(GroupL2.dual_group_norms(G, metric))

    @staticmethod
    def cvxpy_value(Us):
        import cvxpy as cp

        stacked = Us[0] if len(Us) == 1 else cp.vstack(Us)  # (d c, P): one column per group
        return cp.sum(cp.norm(stacked, 2, axis=0))


PENALTY = GroupL2
