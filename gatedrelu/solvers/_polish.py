r"""Newton's method on the support of a solution: machine-precision answers for smooth datafits.

First-order solvers stop at a certified duality gap, which fixes the predictions only to about
the square root of the gap. Once the support ``S`` (the non-zero groups) is right, the objective
restricted to it,

    phi(U_S) = f(A_S(U_S)) + alpha * sum_{i in S} ||u_i||,

is smooth (every ``u_i != 0``) with Hessian ``A_S^T H_f A_S + alpha blockdiag((I - v_i v_i^T) /
||u_i||)``, ``v_i = u_i / ||u_i||`` (``docs/math.md``, the Newton polish), and Newton's method
with an Armijo search converges to its minimiser quadratically. ``H_f`` comes from the datafit's
optional ``hessian`` (diagonal, or one (c, c) block per sample). The result is only kept if the
full-problem duality gap certifies it better (:mod:`gatedrelu.solvers.auto`); a wrong support
shows there.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg

from ..operator import mask_columns

__all__ = ["support_newton", "MAX_VARS", "MAX_WORK"]

#: Largest number of variables ``|S| d c`` polished (a dense Hessian of that size is factorised).
MAX_VARS = 800
#: Largest ``n (|S| d)^2 c^2``: the flops of forming the Hessian.
MAX_WORK = 3e8
_ARMIJO = 1e-4


def support_newton(problem, U, max_steps: int = 30):
    """Newton's method on the support of ``U`` (float64 problems with the group-L2 penalty and a
    datafit that defines ``hessian``); returns the polished coefficients, or None when it does
    not apply (no Hessian, empty or too large a support)."""
    datafit = problem.datafit
    if (datafit.hessian is None or problem.constraint is not None
            or problem.penalty.name != "group_l2" or problem.X.dtype != np.float64):
        return None
    X, M, y, alpha = problem.X, problem.M, problem.y, float(problem.alpha)
    U = np.asarray(U, np.float64)
    n, d = X.shape
    c = problem.n_outputs
    norms = np.linalg.norm(U.reshape(U.shape[0], -1), axis=1)
    S = np.flatnonzero(norms > 0)
    k = S.size
    m1 = k * d
    if k == 0 or m1 * c > MAX_VARS or n * float(m1 * c) ** 2 > MAX_WORK:
        return None
    Phi = (mask_columns(M, S, n)[:, :, None] * X[:, None, :]).reshape(n, m1)  # (group, feature)
    x = U[S].reshape(m1, c)  # variable (a, p) at a * c + p: group i is one contiguous block

    def predictions(x):
        z = Phi @ x
        return z[:, 0] if y.ndim == 1 else z

    def objective(x):
        return float(datafit.value(predictions(x), y)) + alpha * float(
            np.sum(np.linalg.norm(x.reshape(k, d * c), axis=1)))

    F = objective(x)
    for _ in range(max_steps):
        z = predictions(x)
        groups = x.reshape(k, d * c)
        gnorm = np.linalg.norm(groups, axis=1)
        if np.any(gnorm == 0):
            break
        grad = (Phi.T @ np.asarray(datafit.gradient(z, y)).reshape(n, c)).reshape(k, d * c)
        grad += alpha * groups / gnorm[:, None]
        h = np.asarray(datafit.hessian(z, y))
        H = np.zeros((m1, c, m1, c))
        if h.ndim == 3:  # one (c, c) block per sample
            H[:] = np.einsum("ka,kpq,kb->apbq", Phi, h, Phi, optimize=True)
        else:  # diagonal
            h = h.reshape(n, c)
            for p in range(c):
                H[:, p, :, p] = Phi.T @ (h[:, [p]] * Phi)
        H = H.reshape(m1 * c, m1 * c)
        for i in range(k):
            v = groups[i] / gnorm[i]
            block = slice(i * d * c, (i + 1) * d * c)
            H[block, block] += alpha / gnorm[i] * (np.eye(d * c) - np.outer(v, v))
        g = grad.ravel()
        try:
            step = -scipy.linalg.cho_solve(scipy.linalg.cho_factor(H), g)
        except (np.linalg.LinAlgError, ValueError):
            break
        slope = float(g @ step)
        if not slope < 0:
            break
        t, accepted = 1.0, False
        while t > 1e-10:
            x_new = x + t * step.reshape(m1, c)
            F_new = objective(x_new)
            if np.isfinite(F_new) and F_new <= F + _ARMIJO * t * slope:
                accepted = True
                break
            t *= 0.5
        if not accepted:
            break
        done = F - F_new <= 4 * np.finfo(float).eps * abs(F)
        x, F = x_new, F_new
        if done:
            break
    out = np.zeros_like(U)
    out[S] = x.reshape((k, d) + U.shape[2:])
    return out
