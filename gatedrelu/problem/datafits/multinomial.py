r"""Softmax cross-entropy averaged over samples: ``f(Z) = (1/n) sum_k (w_k lse(z_k) - <y_k, z_k>)``.

Targets are one-hot rows ``y_k`` of shape (n, K), ``K >= 2`` (rows of class probabilities are
accepted too); ``w_k = sum_j y_kj`` is the row's weight, so sample weights are folded in by
scaling the rows. Groups are (d, K) matrices with Frobenius norms. The conjugate, dual and gap are
derived in ``docs/math.md`` ("Logistic and multinomial losses").
"""

from __future__ import annotations

import numpy as np

from ...operator import xp_of
from ._base import Datafit, xlogx

__all__ = ["Multinomial", "DATAFIT", "log_softmax", "softmax"]


def _shifted(z):
    """``(z - max_j z, log sum_j exp(z - max_j z))`` row by row: no overflow."""
    xp = xp_of(z)
    shifted = z - xp.max(z, axis=1, keepdims=True)
    return shifted, xp.log(xp.sum(xp.exp(shifted), axis=1))


def log_softmax(z):
    """Row-wise ``z_j - log sum_l exp(z_l)`` without overflow (numpy or JAX)."""
    shifted, lse = _shifted(z)
    return shifted - lse[:, None]


def softmax(z):
    """Row-wise softmax without overflow (numpy or JAX)."""
    return xp_of(z).exp(log_softmax(z))


class Multinomial(Datafit):
    r"""Softmax cross-entropy: ``f(Z) = (1/n) sum_k (w_k lse(z_k) - <y_k, z_k>)``, ``w_k = sum_j y_kj``.

    * gradient ``(w_k softmax(z_k) - y_k) / n``, Lipschitz constant ``max_k w_k / (2 n)`` (the
      Hessian ``diag(p) - p p^T`` of the log-sum-exp has eigenvalues at most 1/2), Hessian blocks
      ``w_k (diag(p) - p p^T) / n`` (the support Newton polish of ``solver="auto"``);
    * dual value ``-(1/n) sum_k [sum_j q_kj log q_kj - w_k log w_k]`` with ``q_k = y_k - n
      theta_k >= 0`` and ``sum_j q_kj = w_k`` (``-inf`` outside), which is ``2 n / max_k
      w_k``-strongly concave on its domain;
    * dual point ``(y_k - w_k softmax(z_k)) / n``, i.e. ``q_k = w_k softmax(z_k)``; scaled by a
      factor ``t`` in (0, 1], ``q_k = (1 - t) y_k + t w_k softmax(z_k)`` stays in the domain;
    * sample weights scale the rows of the targets (``y_k = w_k e_{class}``).
    """

    name = "multinomial"
    classification = True

    @staticmethod
    def value(z, y):
        xp = xp_of(z, y)
        shifted, lse = _shifted(z)
        # w lse(z) - <y, z> = <y, max z - z> + w log sum exp(z - max z): two non-negative terms
        return (xp.sum(y * -shifted) + xp.vdot(xp.sum(y, axis=1), lse)) / y.shape[0]

    @staticmethod
    def gradient(z, y):
        xp = xp_of(z, y)
        return (xp.sum(y, axis=1, keepdims=True) * softmax(z) - y) / y.shape[0]

    @staticmethod
    def dual_point(z, y):
        xp = xp_of(z, y)
        return (y - xp.sum(y, axis=1, keepdims=True) * softmax(z)) / y.shape[0]

    @staticmethod
    def bregman(z_new, z, y):
        r"""An upper bound on ``f(z_new) - f(z) - <grad f(z), z_new - z>``, exact to first order
        in the step and free of cancellation (FISTA's step-size test only needs an upper bound).

        Per row, with ``p = softmax(z)`` and ``delta = z_new - z``, the divergence is
        ``int_0^1 (1 - t) Var_{p_t}(delta) dt`` with ``p_t = softmax(z + t delta)``; since
        ``p_t <= p exp(t r)`` entrywise (``r`` the range of ``delta``), it is at most
        ``Var_p(delta) exp(r) / 2``. The direct form ``log sum_j p_j exp(delta_j - max delta) +
        max delta - <p, delta>``, plus a bound on its rounding error, is used where it is smaller.
        """
        xp = xp_of(z_new, z, y)
        eps = xp.finfo(z.dtype).eps
        K = y.shape[1]
        w = xp.sum(y, axis=1)
        logp = log_softmax(z)
        p = xp.exp(logp)
        delta = z_new - z
        mean = xp.sum(p * delta, axis=1)
        var = xp.sum(p * (delta - mean[:, None]) ** 2, axis=1)
        top = xp.max(delta, axis=1)
        r = top - xp.min(delta, axis=1)
        bound = xp.where(r < 30, 0.5 * var * xp.exp(xp.minimum(r, 30)), xp.inf)
        direct = xp.log(xp.sum(xp.exp(logp + delta - top[:, None]), axis=1)) + (top - mean)
        direct = direct + 4 * eps * (K + xp.max(xp.abs(delta), axis=1))
        return xp.vdot(w, xp.minimum(bound, direct)) / y.shape[0]

    @staticmethod
    def hessian(z, y):
        """The Hessian in ``z``, one (K, K) block per sample: ``w_k (diag(p) - p p^T) / n`` with
        ``p = softmax(z_k)``; shape (n, K, K)."""
        p = softmax(z)
        w = np.sum(y, axis=1)[:, None, None] / y.shape[0]
        return w * (p[:, :, None] * np.eye(y.shape[1]) - p[:, :, None] * p[:, None, :])

    @staticmethod
    def lipschitz(y):
        """``max_k w_k / (2 n)``."""
        xp = xp_of(y)
        big = xp.max(xp.sum(y, axis=1))
        return float(big) / (2 * y.shape[0]) if xp is np else big / (2 * y.shape[0])

    @staticmethod
    def dual_value(theta, y):
        xp = xp_of(theta, y)
        n, K = y.shape
        eps = xp.finfo(theta.dtype).eps
        w = xp.sum(y, axis=1)
        q = y - n * theta
        # the domain is q >= 0 with rows summing to w; scaled dual points are inside up to
        # rounding, which this tolerance absorbs
        tol = 16 * K * eps * (w + n * xp.sum(xp.abs(theta), axis=1))
        inside = xp.all(q >= -tol[:, None]) & xp.all(xp.abs(xp.sum(q, axis=1) - w) <= tol)
        q = xp.maximum(q, 0)
        ent = xp.sum(xlogx(q)) - xp.sum(xlogx(w))
        return xp.where(inside, -ent / n, -xp.inf)

    @staticmethod
    def dual_strong_concavity(y):
        """``2 n / max_k w_k``: on ``sum_j q_j = w`` the negative entropy has curvature
        ``sum_j d_j^2 / q_j >= (sum_j |d_j|)^2 / w >= 2 ||d||^2 / w`` for ``sum_j d_j = 0``."""
        return 2.0 * y.shape[0] / float(np.max(np.sum(y, axis=1)))

    @staticmethod
    def cvxpy_value(pred, y):
        import cvxpy as cp

        y = np.asarray(y, dtype=np.float64)
        n = y.shape[0]
        return (cp.sum(cp.multiply(y.sum(axis=1), cp.log_sum_exp(pred, axis=1)))
                - cp.sum(cp.multiply(y, pred))) / n

    @staticmethod
    def check_targets(y):
        y = np.asarray(y)
        if y.ndim != 2 or y.shape[1] < 2:
            raise ValueError(
                "loss='multinomial' needs one-hot targets of shape (n_samples, n_classes) with "
                f"n_classes >= 2; got shape {y.shape}. Encode labels with "
                "sklearn.preprocessing.LabelBinarizer (two columns for two classes), or use "
                "GatedReLUClassifier(loss='multinomial'), which encodes labels itself."
            )
        rows = y.sum(axis=1)
        bad = np.any(y < 0, axis=1) | (np.abs(rows - 1) > 1e-6)
        if np.any(bad):
            k = int(np.flatnonzero(bad)[0])
            raise ValueError(
                "loss='multinomial' needs one-hot rows (or rows of class probabilities: "
                f"non-negative, summing to 1); {int(bad.sum())} row(s) are not, e.g. row {k} = "
                f"{np.array2string(y[k], precision=3, threshold=6)}. Pass sample weights as "
                "sample_weight."
            )

    @staticmethod
    def example_targets(scores, rng):
        """One-hot labels drawn from ``softmax(scores)``; 1-D scores give two classes."""
        S = np.asarray(scores, dtype=np.float64)
        S = np.stack([S, np.zeros_like(S)], axis=1) if S.ndim == 1 else S
        if S.shape[1] == 1:
            S = np.hstack([S, np.zeros_like(S)])
        P = np.exp(S - S.max(axis=1, keepdims=True))
        P /= P.sum(axis=1, keepdims=True)
        labels = (rng.random((len(S), 1)) > np.cumsum(P, axis=1)).sum(axis=1)
        return np.eye(S.shape[1])[np.minimum(labels, S.shape[1] - 1)]

    @staticmethod
    def apply_weights(X, y, w):
        return X, y * w.astype(y.dtype)[:, None]


DATAFIT = Multinomial
