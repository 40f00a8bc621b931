r"""A ridge term mixed into any norm penalty (elastic-net mixing, as glmnet's and adelie's ``alpha``).

``h(U) = rho * Omega(U) + (1 - rho) / 2 * ||U||_F^2`` with ``rho = l1_ratio`` in (0, 1), so that
the objective is ``f(A(U)) + alpha * h(U)``. With ``lambda = alpha (1 - rho)`` (``docs/math.md``,
"Penalties"):

* **prox** of ``t h``: the ridge part only rescales, ``prox_{t h}(V) =
  prox_{t rho / (1 + t (1 - rho)) Omega}(V / (1 + t (1 - rho)))``;
* **conjugate**: ``(alpha h)^*`` is the inf-convolution of the indicator of the dual ball of
  radius ``alpha rho`` with ``||.||^2 / (2 lambda)``, i.e. ``dist(G, alpha rho B^*)^2 / (2 lambda)``
  ``= ||prox_{alpha rho Omega}(G)||^2 / (2 lambda)`` (Moreau). It is finite everywhere, so the
  dual is unconstrained: the dual point needs no scaling (``dual_scale`` is 1). The code evaluates
  ``||G - W||^2 / (2 lambda)`` at the base penalty's ``dual_ball_point`` ``W`` (the projection,
  or a point of the ball near it), an upper bound that keeps the gap valid;
* **dual norm** (``alpha_max``): ``U = 0`` is optimal iff ``Omega^*(A^T theta0) <= alpha rho``, so
  ``dual_norm = Omega^* / rho``, and likewise the per-pattern dual norms of a pattern-separable
  base (whose gap-safe radius is then multiplied by ``1 / rho``: ``dual_group_lipschitz``).

The wrapper is not registered under a name of its own: ``make_penalty(name, l1_ratio=rho)`` (and
the estimators' ``l1_ratio``) build it around a registered norm penalty; ``l1_ratio=1`` is the
base penalty itself.
"""

from __future__ import annotations

import math

import numpy as np

from ...operator import xp_of
from ._base import Penalty

__all__ = ["ElasticNet", "check_l1_ratio"]


def check_l1_ratio(value) -> float:
    """``l1_ratio`` as a float in (0, 1], or a ValueError/TypeError naming the parameter."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"l1_ratio must be a number in (0, 1], got {value!r}.")
    value = float(value)
    if not (math.isfinite(value) and 0 < value <= 1):
        raise ValueError(f"l1_ratio must be in (0, 1] (1: no ridge term), got {value!r}.")
    return value


class ElasticNet(Penalty):
    """``l1_ratio * base(U) + (1 - l1_ratio) / 2 * ||U||_F^2`` for a norm penalty ``base``.

    Parameters
    ----------
    base : Penalty
        A norm penalty (``is_norm``), e.g. ``GroupL2()``.
    l1_ratio : float
        ``rho`` in (0, 1): the share of the norm (``l1_ratio = 1`` is ``base`` itself, built by
        :func:`~gatedrelu.problem.penalties.make_penalty` without this wrapper).
    """

    name = "elastic_net"
    is_norm = False
    supports_metric = False

    def __init__(self, base: Penalty, l1_ratio: float):
        if not isinstance(base, Penalty) or not base.is_norm:
            raise ValueError(f"the ridge term mixes into a norm penalty; got {base!r}.")
        rho = check_l1_ratio(l1_ratio)
        if rho == 1:
            raise ValueError("l1_ratio=1 has no ridge term: use the base penalty itself "
                             "(make_penalty does).")
        self.base = base
        self.l1_ratio = rho
        self.pattern_groups = base.pattern_groups
        self.dual_group_lipschitz = base.dual_group_lipschitz / rho

    def _params(self) -> tuple:
        return (self.base, self.l1_ratio)

    def value(self, U, metric=None):
        _no_metric(metric)
        xp = xp_of(U)
        rho = self.l1_ratio
        return rho * self.base.value(U) + 0.5 * (1 - rho) * xp.sum(U * U)

    def prox(self, V, thresh, metric=None):
        _no_metric(metric)
        shrink = 1 + thresh * (1 - self.l1_ratio)
        return self.base.prox(V / shrink, thresh * self.l1_ratio / shrink)

    def dual_norm(self, G, metric=None):
        _no_metric(metric)
        return self.base.dual_norm(G) / self.l1_ratio

    def dual_group_norms(self, G, metric=None):
        _no_metric(metric)
        return self.base.dual_group_norms(G) / self.l1_ratio

    def dual_scale(self, G, alpha, metric=None):
        return xp_of(G).ones((), G.dtype)

    def conjugate(self, G, alpha, metric=None):
        """``(alpha h)^*(G) <= ||G - W||^2 / (2 alpha (1 - rho))``, ``W`` in the dual ball of
        radius ``alpha rho`` (equality at the projection)."""
        _no_metric(metric)
        xp = xp_of(G)
        D = G - self.base.dual_ball_point(G, alpha * self.l1_ratio)
        return xp.sum(D * D) / (2 * alpha * (1 - self.l1_ratio))

    def dual_ball_point(self, G, radius):  # pragma: no cover - the wrapper is not a norm
        raise NotImplementedError("the elastic-net penalty is not a norm: it has no dual ball")

    def scaled(self, k):
        """``h(k V) = c * h'(V)`` with ``c = rho k + (1 - rho) k^2`` and ``rho' = rho k / c``."""
        k = float(k)
        rho = self.l1_ratio
        c = rho * k + (1 - rho) * k * k
        rho_new = rho * k / c if c > 0 and math.isfinite(c) else float("nan")
        if not (math.isfinite(c) and c > 0 and 0 < rho_new < 1):
            raise ValueError(
                f"the data are too far from unit scale (coefficient scale {k:.3g}) to rescale "
                f"the ridge term of l1_ratio={rho} exactly; standardise X and y.")
        return c, ElasticNet(self.base, rho_new)

    def cvxpy_value(self, Us):
        import cvxpy as cp

        rho = self.l1_ratio
        return rho * self.base.cvxpy_value(Us) + 0.5 * (1 - rho) * sum(cp.sum_squares(U) for U in Us)


def _no_metric(metric):
    if metric is not None:
        raise ValueError("the elastic-net penalty does not support preconditioning")
