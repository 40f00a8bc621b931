r"""Cone constraints of the convex ReLU program (``docs/math.md``, "Convex ReLU networks").

The exact convex reformulation of a two-layer ReLU network with weight decay has, for every
activation pattern ``D_i``, two groups ``v_i`` and ``w_i`` and the constraints
``(2 D_i - I) X v_i >= 0`` and ``(2 D_i - I) X w_i >= 0``: the pre-activation of the neuron has
exactly the sign pattern ``D_i`` on the training data, so ``D_i X v_i = (X v_i)_+``.

It is encoded on the problem layer's groups as follows: the masks are ``[M, M]`` (``2P``
groups), ``u_i = v_i`` for the first ``P`` groups and ``u_{P+i} = -w_i`` for the last ``P``, so that
the predictions ``sum_i D_i X (v_i - w_i) = A(U)`` and the penalty ``sum_i ||v_i|| + ||w_i||`` are
the group lasso's, unchanged. The constraint on group ``j`` is then

    c_j(U) = s_j (2 D_j - I) X u_j >= 0,     s_j = +1 (j < P), -1 (j >= P).

Its values ``C(U)`` and multipliers ``Lambda >= 0`` have the masks' layout, (n, 2P) or
(n, 2P, c). The Lagrangian is ``F(U) - <Lambda, C(U)>`` and the dual constraint of group ``j`` is
``||X^T (D_j theta + s_j (2 D_j - I) lambda_j)|| <= alpha``: the certificate adds ``C^T Lambda``
to ``A^T theta`` (:func:`gatedrelu.problem.certificate.certify_constrained`).
"""

from __future__ import annotations

import numpy as np

from ..._registry import Component
from ...operator import xp_of

__all__ = ["ConeConstraint", "CONSTRAINT", "cone_projection"]


class ConeConstraint(Component):
    """``s_j (2 D_j - I) X u_j >= 0`` for the ``2P`` groups of a convex ReLU program.

    Stateless: the signs ``s_j`` follow from the number of groups (``+1`` on the first half,
    ``-1`` on the second), and the problem's masks must be two copies of the same ``P`` patterns
    (:meth:`check`).
    """

    name = "cone"

    # -- structure ---------------------------------------------------------------------------
    @staticmethod
    def check(M) -> None:
        """Raise a ValueError unless the masks are ``[M_P, M_P]`` (an even number of groups)."""
        M = np.asarray(M)
        if M.ndim != 2 or M.shape[1] % 2:
            raise ValueError(
                "the cone constraint needs masks [M, M] with 2P columns (v-groups then "
                f"w-groups); got shape {M.shape}."
            )
        P = M.shape[1] // 2
        if not np.array_equal(M[:, :P], M[:, P:]):
            raise ValueError(
                "the cone constraint needs masks [M, M]: the w-groups (last P columns) must "
                "repeat the patterns of the v-groups (first P columns)."
            )

    @staticmethod
    def orthant(M, dtype):
        """``S[k, j] = s_j (2 M[k, j] - 1)`` of shape (n, 2P): the sign each group's
        pre-activation must have on each sample."""
        xp = xp_of(M)
        half = M.shape[1] // 2
        s = xp.concatenate([xp.ones(half, dtype), -xp.ones(M.shape[1] - half, dtype)])
        return xp.where(M, s, -s).astype(dtype)

    # -- values and adjoint ------------------------------------------------------------------
    @staticmethod
    def preactivations(X, U):
        """``X u_j`` for every group: (n, 2P) or (n, 2P, c)."""
        xp = xp_of(X, U)
        if U.ndim == 2:
            return X @ U.T
        P, d, c = U.shape
        return (X @ xp.transpose(U, (1, 0, 2)).reshape(d, P * c)).reshape(-1, P, c)

    @classmethod
    def values(cls, X, M, U):
        """``C(U)``: ``c_j = s_j (2 D_j - I) X u_j`` of shape (n, 2P) or (n, 2P, c)."""
        S = cls.orthant(M, X.dtype)
        Z = cls.preactivations(X, U)
        return Z * (S if U.ndim == 2 else S[:, :, None])

    @classmethod
    def adjoint(cls, X, M, Lam):
        """``C^T Lambda``: ``X^T (s_j (2 D_j - I) lambda_j)`` for every group, (2P, d[, c])."""
        xp = xp_of(X, M, Lam)
        S = cls.orthant(M, X.dtype)
        if Lam.ndim == 2:
            return (Lam * S).T @ X
        n, P, c = Lam.shape
        W = (Lam * S[:, :, None]).reshape(n, P * c)
        return xp.transpose((W.T @ X).reshape(P, c, -1), (0, 2, 1))

    @classmethod
    def violation(cls, X, M, U):
        """Largest violation ``max(0, max_{j,k} -c_j(U)_k)``, in units of the predictions."""
        xp = xp_of(X, M, U)
        C = cls.values(X, M, U)
        return xp.maximum(-xp.min(C), 0) if C.size else xp.zeros((), X.dtype)

    @staticmethod
    def violation_scale(y) -> float:
        """The scale a violation is measured against: the root-mean-square of the targets (the
        predictions' units), so that ``relative violation <= tol`` is scale-free."""
        y = np.asarray(y, dtype=np.float64)
        m = float(np.max(np.abs(y))) if y.size else 0.0
        if m == 0 or not np.isfinite(m):
            return 1.0
        return m * float(np.sqrt(np.mean((y / m) ** 2)))

    @staticmethod
    def multiplier_shape(problem) -> tuple:
        """Shape of ``Lambda``: the masks' (n, 2P), with ``c`` appended for multi-output."""
        n, P = problem.M.shape
        return (n, P) if problem.y.ndim == 1 else (n, P, problem.y.shape[1])

    @classmethod
    def project(cls, X, M, U):
        """``U`` with every group that violates its constraints replaced by its Euclidean
        projection onto its cone (numpy, :func:`cone_projection` per violated group and output).

        Used to make an interior-point answer (feasible only to its tolerance) exactly feasible;
        for an almost feasible group the change is of the order of its violation.
        """
        X = np.asarray(X, np.float64)
        U = np.array(U, dtype=np.float64)
        S = cls.orthant(np.asarray(M), np.float64)
        cols = U[..., None] if U.ndim == 2 else U  # (Q, d, c)
        for j in range(U.shape[0]):
            C = S[:, j:j + 1] * X  # (n, d) constraint rows of group j
            for c in range(cols.shape[2]):
                if np.any(C @ cols[j, :, c] < 0):
                    cols[j, :, c] = cone_projection(C, cols[j, :, c])[0]
        return cols[..., 0] if U.ndim == 2 else cols

    # -- reference model ---------------------------------------------------------------------
    @classmethod
    def cvxpy_constraints(cls, X, M, Us):
        """CVXPY constraints ``C(U) >= 0``, one per output; ``Us`` are (d, 2P) variables."""
        import cvxpy as cp

        S = cls.orthant(np.asarray(M), np.float64)
        return [cp.multiply(S, X @ U) >= 0 for U in Us]


def cone_projection(C, v, max_iter=None):
    """``(Pi_K(v), mu)`` for ``K = {u : C u >= 0}``: ``Pi_K(v) = v + C^T mu`` with ``mu >= 0``
    minimising ``||v + C^T mu||`` (Lawson and Hanson's active-set method, numpy).

    At most ``d`` multipliers are positive, so the active set stays small; the stopping test is
    feasibility to a few machine epsilons of ``||C|| max(||u||, ||v||)`` (``u = v + C^T mu`` is
    computed with an error of the order of ``eps ||v||`` even when ``Pi_K(v)`` is near 0), and
    the method also stops after ``2 d`` steps in a row that do not decrease ``||u||``, which
    every step does strictly in exact arithmetic: rounding would otherwise make it add and drop
    the same constraints until ``max_iter`` (measured: 900 steps per projection on standardised
    iris, whose duplicate rows make ``C`` rank-deficient).
    """
    n, d = C.shape
    mu = np.zeros(n)
    P = []
    u = v.astype(np.float64).copy()
    tol = 64 * np.finfo(np.float64).eps * max(np.sqrt(np.max(np.sum(C * C, axis=1))), 1e-300)
    scale = max(np.linalg.norm(u), 1e-300)
    smallest, stalled = np.inf, 0
    for _ in range(max_iter or 10 * (n + d)):
        size = np.linalg.norm(u)
        stalled = 0 if size < smallest else stalled + 1
        smallest = min(smallest, size)
        if stalled > 2 * d:  # rounding level reached
            break
        w = -(C @ u)
        if P:
            w[P] = -np.inf
        k = int(np.argmax(w))
        if w[k] <= tol * max(size, scale) or len(P) >= n:
            break
        P.append(k)
        while True:  # least squares on the active set, stepping back while a multiplier < 0
            R = C[P]
            z = np.linalg.lstsq(R.T, -v, rcond=None)[0]
            if np.all(z > 0):
                mu[:] = 0
                mu[P] = z
                break
            cur = mu[P]
            neg = z <= 0
            t = np.min(cur[neg] / (cur[neg] - z[neg]))
            new = cur + t * (z - cur)
            mu[:] = 0
            mu[P] = new
            P = [i for i, m in zip(P, new) if m > 0]
            if not P:
                break
        u = v + C.T @ mu
    return u, mu


CONSTRAINT = ConeConstraint
