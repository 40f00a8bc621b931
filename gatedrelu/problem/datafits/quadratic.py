r"""Squared loss averaged over samples: ``f(z) = 1/(2n) ||z - y||^2`` (Frobenius for (n, c))."""

from __future__ import annotations

import numpy as np

from ...operator import xp_of
from ._base import Datafit

__all__ = ["Quadratic", "DATAFIT"]


class Quadratic(Datafit):
    r"""Squared loss averaged over samples: ``f(z) = 1/(2n) ||z - y||^2`` (Frobenius for (n, c)).

    * gradient ``(z - y) / n``, Lipschitz constant ``1/n`` in ``z``;
    * dual value ``<theta, y> - (n/2) ||theta||^2``, which is ``n``-strongly concave;
    * dual point ``(y - z) / n``, the residual over ``n``;
    * sample weights scale the rows of ``X`` and ``y`` by ``sqrt(w_k)`` (exact for this loss, so
      every solver, Newton's included, solves weighted problems unchanged).
    """

    name = "squared"
    #: The gradient is affine in the predictions, so an extrapolated point's gradient is the
    #: same combination of the gradients (FISTA then needs one adjoint per iteration).
    affine_gradient = True
    scalable_targets = True

    @staticmethod
    def value(z, y):
        n = y.shape[0]
        r = z - y
        return 0.5 * xp_of(r).vdot(r, r) / n

    @staticmethod
    def gradient(z, y):
        return (z - y) / y.shape[0]

    @staticmethod
    def bregman(z_new, z, y):
        """``f(z_new) - f(z) - <grad f(z), z_new - z>``, computed without cancellation."""
        dz = z_new - z
        return 0.5 * xp_of(dz).vdot(dz, dz) / y.shape[0]

    @staticmethod
    def lipschitz(y):
        """Lipschitz constant of the gradient in ``z``."""
        return 1.0 / y.shape[0]

    @staticmethod
    def dual_point(z, y):
        return (y - z) / y.shape[0]

    @staticmethod
    def dual_value(theta, y):
        n = y.shape[0]
        xp = xp_of(theta, y)
        return xp.vdot(theta, y) - 0.5 * n * xp.vdot(theta, theta)

    @staticmethod
    def dual_strong_concavity(y):
        return float(y.shape[0])

    @staticmethod
    def cvxpy_value(pred, y):
        import cvxpy as cp

        return cp.sum_squares(pred - y) / (2 * y.shape[0])

    @staticmethod
    def check_targets(y):
        return None  # any finite real targets

    @staticmethod
    def example_targets(scores, rng):
        return scores + 0.1 * rng.standard_normal(scores.shape)

    @staticmethod
    def apply_weights(X, y, w):
        s = np.sqrt(w).astype(X.dtype)
        return X * s[:, None], y * s.reshape((-1,) + (1,) * (y.ndim - 1))


DATAFIT = Quadratic
