r"""Penalties ``Omega(U)`` of the convex program (multiplied by ``alpha`` in the objective).

A penalty is a small stateless, hashable object with the named methods solvers need: its value,
the prox of every group at once (vectorised over the group axis, the first axis of ``U``), its
dual norm through the per-group dual norms, and the distance of ``-grad`` to ``alpha`` times its
subdifferential (the KKT violation used by working sets). Shapes: ``U`` is (P, d) or (P, d, c),
group axis first.
"""

from __future__ import annotations

import jax.numpy as jnp

from ..operator import group_norms

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
    def value(U):
        return jnp.sum(group_norms(U))

    @staticmethod
    def group_values(U):
        """Per-group contribution ``||u_i||``, shape (P,)."""
        return group_norms(U)

    @staticmethod
    def prox(V, thresh):
        """Block soft-thresholding ``argmin_U 1/2||U - V||^2 + thresh * Omega(U)``."""
        norms = group_norms(V)
        shrink = jnp.where(norms > thresh, 1 - thresh / jnp.where(norms > 0, norms, 1), 0)
        return V * shrink.reshape((-1,) + (1,) * (V.ndim - 1))

    @staticmethod
    def dual_group_norms(G):
        """Per-group dual norms ``||g_i||``, shape (P,); the dual norm is their maximum."""
        return group_norms(G)

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
