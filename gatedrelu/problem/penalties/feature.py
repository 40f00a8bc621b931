r"""Feature sparsity: a group lasso over the input features, shared by all neurons.

``Omega_F(U) = sum_j ||U[:, j]||_2`` with ``U[:, j]`` the weights of input feature ``j`` in every
group (and every output): a feature whose column is zero is not used by any neuron, so the fitted
network ignores that input. See ``docs/math.md``, "Penalties".

The bias column (the last feature when the estimators fit an intercept) is penalised like every
other column, on purpose: with it exempt, ``Omega_F`` would be a seminorm, its dual ball would
require ``sum_{k in pattern i} theta_k = 0`` for every pattern (no scaling of the residual reaches
that, so the certificate of the other penalties would not exist), and every pattern would get a
free constant, i.e. an unregularised piecewise-constant fit on the cells of the arrangement.
Penalised, the bias column is one more feature that the path can switch off.
"""

from __future__ import annotations

from ...operator import xp_of
from ._base import Penalty

__all__ = ["FeatureL2", "PENALTY", "feature_norms"]


def feature_norms(U):
    """``||U[:, j]||`` for every feature ``j`` (over groups and outputs), shape (d,)."""
    xp = xp_of(U)
    axes = (0,) + tuple(range(2, U.ndim))
    sq = xp.sum(U * U, axis=axes)
    return xp.where(sq > 0, xp.sqrt(xp.where(sq > 0, sq, 1)), 0)


def _expand(vec, U):
    """A per-feature vector (d,) broadcast against (P, d[, c])."""
    return vec.reshape((1, -1) + (1,) * (U.ndim - 2))


class FeatureL2(Penalty):
    r"""Group lasso over input features: ``Omega_F(U) = sum_j ||U[:, j]||`` (Frobenius over the
    groups and outputs of column ``j``).

    Its prox is block soft-thresholding of the columns and its dual norm is the largest column
    norm ``max_j ||G[:, j]||``. The columns cut across the activation patterns, so the penalty is
    not separable over patterns: FISTA (and ``auto``, which then uses it) and CVXPY solve it; the
    working-set and Newton solvers refuse it.
    """

    name = "feature"
    pattern_groups = False

    @staticmethod
    def value(U, metric=None):
        _no_metric(metric)
        return xp_of(U).sum(feature_norms(U))

    @staticmethod
    def prox(V, thresh, metric=None):
        """Column-wise block soft-thresholding (numpy or JAX)."""
        _no_metric(metric)
        xp = xp_of(V)
        norms = feature_norms(V)
        shrink = xp.where(norms > thresh, 1 - thresh / xp.where(norms > 0, norms, 1), 0)
        return V * _expand(shrink, V)

    @staticmethod
    def dual_norm(G, metric=None):
        _no_metric(metric)
        return xp_of(G).max(feature_norms(G))

    @staticmethod
    def cvxpy_value(Us):
        import cvxpy as cp

        stacked = Us[0] if len(Us) == 1 else cp.hstack(Us)  # (d, P c): one row per feature
        return cp.sum(cp.norm(stacked, 2, axis=1))


def _no_metric(metric):
    if metric is not None:
        raise ValueError("this penalty does not support preconditioning (supports_metric is False)")


PENALTY = FeatureL2
