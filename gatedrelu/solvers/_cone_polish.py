r"""Newton's method on the active face of a convex ReLU solution (squared loss, with or without
its free intercept; small problems).

At a solution of the cone-constrained program (``docs/math.md``, "Convex ReLU networks") every
non-zero group ``u_j`` lies on a face of its cone: the constraints ``A_j`` that hold with
equality (samples at which the neuron's kink sits) define the subspace ``u_j = N_j z_j`` with
``N_j`` an orthonormal basis of the null space of ``C_{A_j}``. On that face the problem is a
smooth group lasso in the ``z_j`` (the norms are smooth away from 0),

    1/(2n) ||sum_j D_j X N_j z_j - y||^2 + alpha sum_j ||z_j||,

which Newton's method solves to rounding in a few steps. The multipliers then follow from the
optimality conditions: on the active constraints of a non-zero group by least squares
(``C_{A_j}^T lambda = alpha u_j / ||u_j|| - X^T D_j theta``), and for a zero group as the
non-negative least squares multipliers of the projection of ``X^T D_j theta`` onto its cone
(the smallest dual norm, ``||Pi_K(X^T D_j theta)||``). The caller keeps the polished point only
if it is feasible and its certificate is better: an interior-point answer (relative gap about
1e-9, predictions accurate to about its square root) becomes exact to rounding.
"""

from __future__ import annotations

import numpy as np

from ..problem.constraints.cone import ConeConstraint, cone_projection

__all__ = ["face_newton"]

#: Largest number of reduced variables (the Hessian is dense).
MAX_VARS = 2000


def face_newton(problem, U, max_steps: int = 30):
    """``(U, multipliers)`` polished on the active face of ``U``, or None when it does not apply
    (not the squared loss, no support, too many variables, or a degenerate face)."""
    if (problem.datafit.name not in ("squared", "squared_intercept")
            or problem.penalty.name != "group_l2"
            or not isinstance(problem.constraint, ConeConstraint)):
        return None
    # with a free intercept the loss is that of the centred residual, ||P (z - y)||^2 / (2n):
    # the face problem's design and targets are centred (P is a projector)
    centre = getattr(problem.datafit, "centre", None)
    X, M, y, alpha = problem.X.astype(np.float64), problem.M, problem.y, float(problem.alpha)
    n, d = X.shape
    Y = y.reshape(n, -1).astype(np.float64)
    c = Y.shape[1]
    U3 = np.asarray(U, np.float64).reshape(U.shape[0], d, c)
    S = ConeConstraint.orthant(M, np.float64)  # (n, Q)
    norms = np.linalg.norm(U3.reshape(U3.shape[0], -1), axis=1)
    support = np.flatnonzero(norms > 0)
    if support.size == 0:
        return None
    xnorm = np.sqrt(np.max(np.sum(X * X, axis=1)))
    # one face per group and output: the constraints apply to each column of u_j
    cols, blocks, active, starts = [], [], [], [0]
    for j in support:
        C = S[:, [j]] * X
        vals = C @ U3[j]  # (n, c)
        for p in range(c):
            A = np.flatnonzero(np.abs(vals[:, p]) <= 1e-7 * xnorm * norms[j])
            if A.size:
                _, sv, Vt = np.linalg.svd(C[A], full_matrices=True)
                rank = int(np.sum(sv > 1e-9 * sv.max(initial=0.0)))
            else:
                Vt, rank = np.eye(d), 0
            N = Vt[rank:].T  # (d, r) orthonormal basis of the face of column p
            cols.append((j, p, N))
            active.append(A)
            starts.append(starts[-1] + N.shape[1])
        blocks.append(len(cols))  # the columns of group j end here
    m1 = starts[-1]
    if m1 == 0 or m1 > MAX_VARS or n * c * m1 > 50 * MAX_VARS**2:
        return None
    # lifted design: row (k, p), column block (j, p): D_j X N_jp
    Psi = np.zeros((n, c, m1))
    for (j, p, N), a0, a1 in zip(cols, starts[:-1], starts[1:]):
        Psi[:, p, a0:a1] = M[:, [j]] * (X @ N)
    if centre is not None:
        Psi = centre(Psi.reshape(n, c * m1)).reshape(n, c, m1)
        Y = centre(Y)
    Psi = Psi.reshape(n * c, m1)
    yv = Y.reshape(n * c)
    K = Psi.T @ Psi / n
    groups = []  # (start, stop) of every group's variables
    first = 0
    for end in blocks:
        groups.append((starts[first], starts[end]))
        first = end
    if any(b0 == b1 for b0, b1 in groups):
        return None  # a group whose every column is pinned to 0: not on a face
    z = np.concatenate([N.T @ U3[j][:, p] for j, p, N in cols])

    def objective(z):
        r = Psi @ z - yv
        return 0.5 * (r @ r) / n + alpha * sum(np.linalg.norm(z[g0:g1]) for g0, g1 in groups)

    F = objective(z)
    for _ in range(max_steps):
        g = Psi.T @ (Psi @ z - yv) / n
        H = K.copy()
        for g0, g1 in groups:
            zz = z[g0:g1]
            nz = np.linalg.norm(zz)
            if nz == 0:
                return None
            g[g0:g1] += alpha * zz / nz
            e = zz / nz
            H[g0:g1, g0:g1] += alpha * (np.eye(g1 - g0) - np.outer(e, e)) / nz
        try:
            step = np.linalg.solve(H, -g)
        except np.linalg.LinAlgError:
            return None
        t = 1.0
        while t > 1e-10:
            z_new = z + t * step
            F_new = objective(z_new)
            if F_new <= F + 1e-4 * t * (g @ step):
                break
            t *= 0.5
        else:
            break
        done = F - F_new <= 1e-15 * abs(F)
        z, F = z_new, F_new
        if done:
            break
    # back to the groups, and the multipliers of the certificate
    out = np.zeros_like(U3)
    for (j, p, N), a0, a1 in zip(cols, starts[:-1], starts[1:]):
        out[j][:, p] = N @ z[a0:a1]
    theta = (Y - (Psi @ z).reshape(n, c)) / n  # (n, c)
    Lam = np.zeros((n, U3.shape[0], c))
    in_support = np.zeros(U3.shape[0], bool)
    in_support[support] = True
    for (j, p, _), A in zip(cols, active):
        if A.size == 0:
            continue
        C = S[:, [j]] * X
        target = alpha * out[j][:, p] / np.linalg.norm(out[j]) - X.T @ (M[:, j] * theta[:, p])
        lam, *_ = np.linalg.lstsq(C[A].T, target, rcond=None)
        Lam[A, j, p] = np.maximum(lam, 0)
    for j in np.flatnonzero(~in_support):
        C = S[:, [j]] * X
        g = X.T @ (M[:, [j]] * theta)
        for p in range(c):
            if np.any(C @ g[:, p] < 0):  # the correlation leaves the cone: project it
                Lam[:, j, p] = cone_projection(C, g[:, p])[1]
    out = out.astype(problem.X.dtype).reshape(np.shape(U))
    Lam = Lam.astype(problem.X.dtype)
    return out, (Lam[..., 0] if problem.y.ndim == 1 else Lam)
