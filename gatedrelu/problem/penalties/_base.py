r"""What a penalty is: ``Omega(U)`` (multiplied by ``alpha`` in the objective), its prox and dual.

A penalty is a small immutable object, hashable so that it can be a static argument of
``jax.jit``. ``U`` has shape (P, d) or (P, d, c), the pattern axis first. Every method takes an
optional ``metric``: the penalty written on preconditioned variables ``v_i`` with ``u_i = T v_i``
(see :mod:`gatedrelu.solvers.working_set`); penalties that do not support it say so with
``supports_metric = False``.

What solvers and the certificate use:

* ``value(U)``, ``prox(V, thresh)`` = ``argmin_U 1/2||U - V||^2 + thresh * Omega(U)``;
* ``dual_norm(G)``: the smallest ``alpha`` with ``G`` in ``alpha * dOmega(0)``, so that
  ``alpha_max = dual_norm(A^T dual_point(0))``;
* ``dual_scale(G, alpha)`` and ``conjugate(G, alpha)``: a dual point ``theta0`` is replaced by
  ``s theta0`` with ``s = dual_scale(A^T theta0, alpha)``, and the dual objective is
  ``dual_value(s theta0) - conjugate(s A^T theta0, alpha)``, where ``conjugate`` is
  ``(alpha Omega)^*``. For a norm, the conjugate is the indicator of the dual ball, ``s`` brings
  the point into it and the conjugate is then 0; a strongly convex penalty (a ridge term) has a
  finite conjugate and needs no scaling.
* ``pattern_groups``: whether the penalty is separable over the pattern axis with per-pattern
  dual norms ``dual_group_norms`` (working sets and gap-safe screening rely on it). Group ``i``
  is zero at the optimum when ``dual_group_norms(A^T theta*)[i] < alpha``; the gap-safe test
  bounds how far that can move with ``dual_group_lipschitz`` (the Lipschitz constant of each
  group's dual norm in the Euclidean norm of its block). A pattern-separable penalty that is not
  a norm must have ``dual_scale == 1`` (its dual is unconstrained).
* ``dual_ball_point(G, radius)``: a point ``W`` with ``dual_norm(W) <= radius`` close to the
  projection of ``G`` onto that ball (the conjugate of a ridge-mixed penalty is
  ``||G - W||^2 / (2 lambda)`` at the exact projection and an upper bound at any such ``W``).
* ``scaled(k)``: ``(c, penalty')`` with ``Omega(k V) = c * Omega'(V)``, for the exact rescaling
  of data far from unit scale (:mod:`gatedrelu.problem.scaling`); ``(k, self)`` for a norm.

Adding a penalty is adding one module to this package that defines ``PENALTY = TheClass``.
"""

from __future__ import annotations

from ..._registry import Component
from ...operator import xp_of

__all__ = ["Penalty"]


class Penalty(Component):
    """Base class: equality and hash by class and parameters, and the defaults of a norm."""

    name = ""
    #: Separable over patterns, with ``dual_group_norms`` per pattern.
    pattern_groups = False
    #: ``alpha * Omega`` is a norm (its conjugate is the indicator of the dual ball).
    is_norm = True
    #: Accepts the preconditioning ``metric`` argument.
    supports_metric = False
    #: Lipschitz constant of each ``dual_group_norms`` entry in the Euclidean norm of its group
    #: (pattern-separable penalties; the gap-safe screening radius is multiplied by it).
    dual_group_lipschitz = 1.0

    def value(self, U, metric=None):  # pragma: no cover - interface
        raise NotImplementedError

    def prox(self, V, thresh, metric=None):  # pragma: no cover - interface
        raise NotImplementedError

    def dual_norm(self, G, metric=None):  # pragma: no cover - interface
        raise NotImplementedError

    def cvxpy_value(self, Us):  # pragma: no cover - interface
        """CVXPY expression; ``Us`` is a list of ``c`` variables of shape (d, P), one per output."""
        raise NotImplementedError

    def dual_scale(self, G, alpha, metric=None):
        """Factor that brings ``G = A^T theta0`` into the dual ball of radius ``alpha``."""
        xp = xp_of(G)
        dn = self.dual_norm(G, metric)
        return xp.minimum(1, alpha / xp.maximum(dn, xp.finfo(G.dtype).tiny))

    def conjugate(self, G, alpha, metric=None):
        """``(alpha Omega)^*(G)`` for a ``G`` already scaled by ``dual_scale``: 0 for a norm."""
        return 0.0

    def dual_ball_point(self, G, radius):
        """A point of the dual ball ``{W : dual_norm(W) <= radius}`` near the projection of ``G``.

        Moreau's identity gives the projection as ``G - prox(G, radius)``; it is scaled into the
        ball by the (certified) dual norm, so that the result is inside even when the prox is
        computed iteratively. Numpy or JAX, as ``G``.
        """
        xp = xp_of(G)
        W = G - self.prox(G, radius)
        dn = self.dual_norm(W)
        return W * xp.minimum(1, radius / xp.maximum(dn, xp.finfo(G.dtype).tiny))

    def scaled(self, k):
        """``(c, penalty)`` with ``Omega(k V) = c * penalty(V)`` for ``k > 0``: ``(k, self)`` for a
        norm (positively homogeneous); penalties that are not override it."""
        if not self.is_norm:  # pragma: no cover - a non-norm penalty must say how it scales
            raise NotImplementedError(f"{type(self).__name__} does not define scaled()")
        return float(k), self
