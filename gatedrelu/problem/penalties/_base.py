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
  dual norms ``dual_group_norms`` (working sets and gap-safe screening rely on it).

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
