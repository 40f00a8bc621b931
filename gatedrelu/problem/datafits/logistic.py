r"""Logistic loss averaged over samples: ``f(z) = (1/n) sum_k |y_k| log(1 + exp(-s_k z_k))``.

Targets are labels ``y_k = s_k in {-1, +1}`` (one column, or ``c`` independent columns); sample
weights are folded into them, ``y_k = s_k w_k``, so the magnitude of a target is its weight and
its sign its label. The conjugate, dual and gap are derived in ``docs/math.md`` ("Logistic and
multinomial losses").
"""

from __future__ import annotations

import numpy as np

from ...operator import xp_of
from ._base import Datafit, xlogx

__all__ = ["Logistic", "DATAFIT", "softplus", "sigmoid"]


def softplus(t):
    """``log(1 + exp(t))`` without overflow (numpy or JAX)."""
    return xp_of(t).logaddexp(0, t)


def sigmoid(t):
    """``1 / (1 + exp(-t))`` to full relative precision on both tails (numpy or JAX)."""
    return xp_of(t).exp(-softplus(-t))


class Logistic(Datafit):
    r"""Logistic loss: ``f(z) = (1/n) sum_k c_k log(1 + exp(-s_k z_k))``, ``c_k = |y_k|``,
    ``s_k = sign(y_k)`` (sums over every entry for (n, c) targets: independent binary outputs).

    * gradient ``-(y_k / n) sigma(-s_k z_k)``, Lipschitz constant ``max_k c_k / (4 n)``, diagonal
      Hessian ``c_k sigma (1 - sigma) / n`` (the support Newton polish of ``solver="auto"``);
    * dual value ``-(1/n) sum_k [a_k log a_k + (c_k - a_k) log(c_k - a_k) - c_k log c_k]`` with
      ``a_k = n s_k theta_k`` in ``[0, c_k]`` (``-inf`` outside), which is
      ``4 n / max_k c_k``-strongly concave;
    * dual point ``(y_k / n) sigma(-s_k z_k)``, i.e. ``a_k = c_k sigma(-s_k z_k)``: any factor in
      (0, 1] keeps it in the domain;
    * sample weights multiply the targets (``y_k = s_k w_k``); a zero weight drops the sample.
    """

    name = "logistic"
    classification = True

    @staticmethod
    def value(z, y):
        xp = xp_of(z, y)
        return xp.sum(xp.abs(y) * softplus(-xp.sign(y) * z)) / y.shape[0]

    @staticmethod
    def gradient(z, y):
        xp = xp_of(z, y)
        return -(y * sigmoid(-xp.sign(y) * z)) / y.shape[0]

    @staticmethod
    def dual_point(z, y):
        xp = xp_of(z, y)
        return (y * sigmoid(-xp.sign(y) * z)) / y.shape[0]

    @staticmethod
    def bregman(z_new, z, y):
        r"""An upper bound on ``f(z_new) - f(z) - <grad f(z), z_new - z>``, exact to first order
        in the step and free of cancellation (FISTA's step-size test only needs an upper bound).

        Per entry, with ``u = -s z`` and ``delta = u_new - u``, the divergence of the softplus is
        ``delta^2 int_0^1 (1 - t) h''(u + t delta) dt <= delta^2/2 max h''`` over the segment
        (``h'' = sigma (1 - sigma)`` peaks at 0 with 1/4); the direct difference, plus a bound on
        its rounding error, is used where it is smaller (long steps).
        """
        xp = xp_of(z_new, z, y)
        eps = xp.finfo(z.dtype).eps
        c, s = xp.abs(y), xp.sign(y)
        u, u_new = -s * z, -s * z_new
        delta = u_new - u
        p = sigmoid(u)
        p_new = sigmoid(u_new)
        curv = xp.where(u * u_new <= 0, 0.25, xp.maximum(p * sigmoid(-u), p_new * sigmoid(-u_new)))
        bound = 0.5 * curv * delta * delta
        h, h_new = softplus(u), softplus(u_new)
        direct = h_new - h - p * delta
        direct = direct + 4 * eps * (h_new + h + xp.abs(p * delta))
        return xp.sum(c * xp.minimum(bound, direct)) / y.shape[0]

    @staticmethod
    def hessian(z, y):
        """The Hessian in ``z``, diagonal: ``c_k sigma(u_k) sigma(-u_k) / n`` with
        ``u_k = -s_k z_k``, of ``y``'s shape."""
        u = -np.sign(y) * z
        return np.abs(y) * sigmoid(u) * sigmoid(-u) / y.shape[0]

    @staticmethod
    def lipschitz(y):
        """``max_k |y_k| / (4 n)``: ``h'' <= 1/4`` for the softplus."""
        xp = xp_of(y)
        big = xp.max(xp.abs(y))
        return float(big) / (4 * y.shape[0]) if xp is np else big / (4 * y.shape[0])

    @staticmethod
    def dual_value(theta, y):
        xp = xp_of(theta, y)
        n = y.shape[0]
        eps = xp.finfo(theta.dtype).eps
        c = xp.abs(y)
        a = n * xp.sign(y) * theta
        nt = n * xp.abs(theta)
        # the domain is 0 <= a <= c (theta = 0 where y = 0); scaled dual points are inside up to
        # rounding, which this tolerance absorbs
        tol = 32 * eps * (c + nt)
        inside = xp.all((a >= -tol) & (nt <= c + tol))
        a = xp.clip(a, 0, c)
        ent = xlogx(a) + xlogx(c - a) - xlogx(c)
        return xp.where(inside, -xp.sum(ent) / n, -xp.inf)

    @staticmethod
    def dual_strong_concavity(y):
        """``4 n / max_k |y_k|``: the entropy term has curvature ``c / (a (c - a)) >= 4 / c``."""
        return 4.0 * y.shape[0] / float(np.max(np.abs(y)))

    @staticmethod
    def cvxpy_value(pred, y):
        import cvxpy as cp

        y = np.asarray(y, dtype=np.float64)
        return cp.sum(cp.multiply(np.abs(y), cp.logistic(cp.multiply(-np.sign(y), pred)))) / y.shape[0]

    @staticmethod
    def check_targets(y):
        y = np.asarray(y)
        bad = ~((y == 1) | (y == -1))
        if np.any(bad):
            seen = np.unique(y[bad])[:5]
            raise ValueError(
                "loss='logistic' needs targets in {-1, +1}; got "
                f"{int(bad.sum())} other value(s), e.g. {', '.join(f'{v:g}' for v in seen)}. "
                "Code labels as 2 * y - 1 (or use GatedReLUClassifier(loss='logistic'), which "
                "encodes labels itself) and pass weights as sample_weight."
            )

    @staticmethod
    def example_targets(scores, rng):
        """Labels ``+1`` with probability ``sigma(scores)`` (noisy, so never separable)."""
        return np.where(rng.random(scores.shape) < 1 / (1 + np.exp(-scores)), 1.0, -1.0)

    @staticmethod
    def apply_weights(X, y, w):
        return X, y * w.astype(y.dtype).reshape((-1,) + (1,) * (y.ndim - 1))


DATAFIT = Logistic
