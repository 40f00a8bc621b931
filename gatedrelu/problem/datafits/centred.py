r"""Squared loss with a free, unpenalised intercept, profiled out: ``f(z) = 1/(2n) ||P (z - y)||^2``.

The model is ``A(U) + 1 b^T`` with an intercept ``b`` (one per output) that the penalty does not
touch. For the squared loss the best ``b`` has a closed form, the (weighted) mean of the residual
``y - A(U)``, and what is left is the squared loss of the *centred* residual: ``P`` is the
orthogonal projector onto the complement of the centring vector ``s`` (``s = 1`` without sample
weights, ``s_k = sqrt(w_k)`` with weights of mean 1, in the coordinates where the weights are
folded into the rows, ``docs/math.md``, "Intercept").

* gradient ``P (z - y) / n``, Lipschitz constant ``1/n`` (``P`` is a projector);
* dual value ``<theta, y> - (n/2) ||theta||^2`` on the subspace ``s^T theta = 0`` (``-inf`` off
  it: the conjugate of the unpenalised intercept's direction), ``n``-strongly concave;
* dual point ``P (y - z) / n``, on the subspace by construction, and so is any multiple of it:
  the certificate's scaling keeps it feasible, and the gap stays exact;
* :meth:`intercept` gives the profiled ``b`` of the predictions ``z``.
"""

from __future__ import annotations

import hashlib

import numpy as np

from ...operator import xp_of
from ._base import Datafit

__all__ = ["CentredQuadratic", "DATAFIT"]


class CentredQuadratic(Datafit):
    r"""Squared loss of the centred residual, ``1/(2n) ||P (z - y)||^2``: the squared loss with an
    unpenalised intercept profiled out (``loss="squared_intercept"``).

    Parameters
    ----------
    sqrt_weights : ndarray of shape (n,) or None
        The centring vector ``s``: None for ``s = 1`` (no sample weights); with sample weights
        ``w`` of mean 1, ``sqrt(w)`` (set by :meth:`weighted` when the problem is built).
    """

    name = "squared_intercept"
    affine_gradient = True
    scalable_targets = True
    #: Whether the model has an unpenalised intercept (given by :meth:`intercept`).
    has_intercept = True

    def __init__(self, sqrt_weights=None):
        if sqrt_weights is None:
            self.sqrt_weights, self._key = None, None
        else:
            s = np.array(sqrt_weights, dtype=np.float64).ravel()
            s.setflags(write=False)
            self.sqrt_weights = s
            self._key = (s.size, hashlib.sha1(s.tobytes()).hexdigest())

    def _params(self) -> tuple:
        return (self._key,)

    # -- the projector --------------------------------------------------------------------
    def _s(self, r):
        """``s`` shaped to broadcast against ``r`` (n[, c]), in ``r``'s dtype (None for ones)."""
        if self.sqrt_weights is None:
            return None
        xp = xp_of(r)
        return xp.asarray(self.sqrt_weights, dtype=r.dtype).reshape((-1,) + (1,) * (r.ndim - 1))

    def centre(self, r):
        """``P r``: ``r`` minus its projection on ``s`` (column by column)."""
        s = self._s(r)
        xp = xp_of(r)
        if s is None:
            return r - xp.mean(r, axis=0)
        return r - s * (xp.sum(s * r, axis=0) / xp.sum(s * s))

    def centre_kernel(self, K):
        """``P K P`` for a symmetric (n, n) numpy ``K``, in place (returns ``K``): ``K - s v^T -
        v s^T + (s^T v / s^T s) s s^T`` with ``v = K s / s^T s``."""
        if self.sqrt_weights is None:
            mu = K.mean(axis=0)
            K -= mu[None, :]
            K -= (mu - mu.mean())[:, None]
            return K
        s = np.asarray(self.sqrt_weights, K.dtype)
        ss = float(s @ s)
        v = K @ s / ss
        v -= (0.5 * float(s @ v) / ss) * s  # K - s v'^T - v' s^T with v' = v - (s^T v / 2ss) s
        K -= np.outer(s, v)
        K -= np.outer(v, s)
        return K

    def intercept(self, z, y):
        """The profiled intercept ``b = s^T (y - z) / s^T s`` (the weighted mean residual in the
        original coordinates), of shape () or (c,)."""
        r = y - z
        s = self._s(r)
        xp = xp_of(r)
        if s is None:
            return xp.mean(r, axis=0)
        return xp.sum(s * r, axis=0) / xp.sum(s * s)

    # -- the datafit ----------------------------------------------------------------------
    def value(self, z, y):
        r = self.centre(z - y)
        return 0.5 * xp_of(r).vdot(r, r) / y.shape[0]

    def gradient(self, z, y):
        return self.centre(z - y) / y.shape[0]

    def dual_point(self, z, y):
        return self.centre(y - z) / y.shape[0]

    def bregman(self, z_new, z, y):
        """``f(z_new) - f(z) - <grad f(z), z_new - z> = ||P dz||^2 / (2n)`` (no cancellation)."""
        dz = self.centre(z_new - z)
        return 0.5 * xp_of(dz).vdot(dz, dz) / y.shape[0]

    @staticmethod
    def lipschitz(y):
        return 1.0 / y.shape[0]

    def dual_value(self, theta, y):
        """``<theta, y> - (n/2) ||theta||^2`` on the subspace ``s^T theta = 0``, else ``-inf``.

        Dual points are centred residuals, on the subspace up to the rounding of the centring,
        which is relative to the *uncentred* residual (large when the targets have a large
        offset). The value is taken at ``P theta`` (exactly the formula for a centred point),
        and a point is refused only when it is off the subspace by more than rounding can
        explain: ``|s^T theta| > sqrt(eps) ||s|| ||theta||`` in some column.
        """
        xp = xp_of(theta, y)
        n = y.shape[0]
        s = self._s(theta)
        if s is None:
            s = xp.ones((n,) + (1,) * (theta.ndim - 1), dtype=theta.dtype)
        drift = xp.abs(xp.sum(s * theta, axis=0))
        size = xp.sqrt(xp.sum(s * s)) * xp.sqrt(xp.sum(theta * theta, axis=0))
        inside = xp.all(drift <= xp.sqrt(xp.finfo(theta.dtype).eps) * size + xp.finfo(theta.dtype).tiny)
        theta = self.centre(theta)
        value = xp.vdot(theta, y) - 0.5 * n * xp.vdot(theta, theta)
        return xp.where(inside, value, -xp.inf)

    @staticmethod
    def dual_strong_concavity(y):
        return float(y.shape[0])

    def cvxpy_value(self, pred, y):
        import cvxpy as cp

        n = y.shape[0]
        s = np.ones(n) if self.sqrt_weights is None else self.sqrt_weights
        r = pred - y
        if y.ndim == 1:
            centred = r - (s @ r) * s / (s @ s)
        else:
            centred = r - np.reshape(s, (n, 1)) @ cp.reshape(s @ r, (1, y.shape[1]), order="C") / (s @ s)
        return cp.sum_squares(centred) / (2 * n)

    @staticmethod
    def check_targets(y):
        return None  # any finite real targets

    @staticmethod
    def example_targets(scores, rng):
        return scores + 3.0 + 0.1 * rng.standard_normal(scores.shape)  # an offset to absorb

    @staticmethod
    def apply_weights(X, y, w):
        s = np.sqrt(w).astype(X.dtype)
        return X * s[:, None], y * s.reshape((-1,) + (1,) * (y.ndim - 1))

    def weighted(self, w):
        """The datafit of the ``w``-weighted problem (``w`` of mean 1): centring along
        ``sqrt(w)``."""
        return CentredQuadratic(np.sqrt(np.asarray(w, dtype=np.float64)))


DATAFIT = CentredQuadratic
