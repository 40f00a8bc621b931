r"""The group lasso on the Gram matrix of the masked features: the solver for tall problems.

When there are more samples than masked features (``n >= m = P d``; e.g. KEEL magic: n 16,000,
d 11, 200 gates, m 2,211), the squared loss is a quadratic in ``m c`` variables whose data enter
only through

    Q = Phi^T Phi / n  (m x m),   B = Phi^T Y / n  (m x c),   Phi = [D_1 X, ..., D_P X]

(``Phi`` and ``Y`` centred by the datafit's projector for the free intercept, ``docs/math.md``,
"Intercept"). One pass over the data forms them (``n m^2`` flops, in row blocks: no ``n x m``
array beyond a block), after which nothing costs more than ``m^2 c`` per sweep:

1. **Block coordinate descent** over the groups with the majorised step of each block,
   ``v_i <- prox_{alpha / L_i}(v_i - g_i / L_i)``, ``L_i = lambda_max(Q_ii)``, the gradient
   ``G = Q V - B`` updated in place (``m d c`` per changed group). It finds the support.
2. **Newton on the support** ``A`` (every ``v_i != 0``, where the objective is smooth): the
   Hessian ``Q_AA (x) I_c + alpha blockdiag((I - u_i u_i^T) / ||v_i||)`` (as the kernel Newton
   solver's polish, ``docs/math.md``), one Cholesky factorisation of ``|A| d c`` variables, and an
   Armijo search on the exact objective change ``t <G, S> + t^2/2 <S, Q S> + alpha Delta Omega``
   (no cancellation). It converges quadratically once the support is right.
3. After each sweep-and-Newton round, the full-problem certificate of the data
   (:func:`~gatedrelu.problem.certificate.certify_numpy`) decides the stop: ``gap <= tol F``.
   The Gram quantities never certify anything. As for the kernel Newton solver, the plain gap
   of the scaled residual is used, not the refined one (``refine=False``): it is about the square
   root of the suboptimality, so a stop at ``tol`` leaves predictions exact to about ``tol``
   (scikit-learn's sample-weight equivalence), and Newton's quadratic convergence makes the
   extra round cheap.

Where it pays: the first-order working sets need thousands of iterations at small ``alpha``
(each ``4 n m c`` flops); Newton on kernel weights needs ``n x n`` factorisations. Measured on
KEEL magic (``benchmarks/results/solver3.md``).
"""

from __future__ import annotations

import numpy as np
import scipy.linalg

from ..operator import CPU_BLOCK_BYTES, mask_row_blocks
from ..problem.certificate import Problem, certify_numpy
from ._base import Solver, SolverOutput

__all__ = ["SOLVER", "solve", "supports", "pays", "gram"]

#: Largest number of variables ``m c = P d c`` (Q is m x m float64: 4000^2 x 8 = 128 MB; one
#: Newton step factorises at most that many variables).
MAX_VARS = 4000
#: Armijo constant of the Newton line search, and its step halvings.
_ARMIJO = 1e-4
_MAX_HALVINGS = 30
#: Levenberg-Marquardt damping of the support Hessian, relative to its mean diagonal (groups
#: whose masked features are collinear make ``Q_AA`` singular).
_DAMP = 1e-12
#: Stop (stalled) when the certified gap has not fallen by 10% in this many rounds.
_STALL = 20
#: Row blocks of the masked features while forming the Gram matrix (a GEMM operand).
GRAM_BLOCK_BYTES = 4 * CPU_BLOCK_BYTES


def supports(problem: Problem):
    """None when the solver applies, else the reason it does not."""
    if problem.datafit.name not in ("squared", "squared_intercept"):
        return "gram solves the squared loss (with or without a free intercept) only"
    if problem.penalty.name != "group_l2":
        return "gram solves the group-L2 penalty only"
    if problem.constraint is not None:
        return "gram does not handle constraints"
    m = problem.n_groups * problem.d
    if m * problem.n_outputs > MAX_VARS:
        return (f"gram forms the P d x P d Gram matrix and handles P d c <= {MAX_VARS} "
                f"(P d c = {m * problem.n_outputs})")
    return None


def pays(problem: Problem) -> bool:
    """Whether ``auto`` should use it: it applies and the problem is tall (``n >= P d``: forming
    the Gram matrix then costs less than a handful of first-order iterations save, and its Newton
    steps factorise less than the kernel Newton solver's ``n x n``)."""
    return supports(problem) is None and problem.n >= problem.n_groups * problem.d


def gram(problem: Problem):
    """``(Q, B)``: the Gram matrix ``Phi^T Phi / n`` (m, m) and ``Phi^T Y / n`` (m, c) of the
    centred masked features, in float64, formed in row blocks of ``GRAM_BLOCK_BYTES``."""
    X = np.asarray(problem.X, np.float64)
    n, d = X.shape
    P = problem.n_groups
    m = P * d
    Y = np.asarray(problem.y, np.float64).reshape(n, -1)
    centre = getattr(problem.datafit, "centre", None)
    if centre is not None:
        # the centring vector s (ones, or sqrt of the weights) and the s-weighted column means of
        # Phi: mu = Phi^T s / s^T s, per group M^T (s o X) (no n x m array)
        s = getattr(problem.datafit, "sqrt_weights", None)
        s = np.ones(n) if s is None else np.asarray(s, np.float64)
        Y = centre(Y)
        mu = np.zeros((P, d))
        for start, Mb in mask_row_blocks(problem.M, n, CPU_BLOCK_BYTES // (8 * P)):
            sl = slice(start, start + Mb.shape[0])
            mu += Mb.T.astype(np.float64) @ (s[sl, None] * X[sl])
        mu = mu.ravel() / float(s @ s)
    Q = np.zeros((m, m))
    B = np.zeros((m, Y.shape[1]))
    for start, Mb in mask_row_blocks(problem.M, n, GRAM_BLOCK_BYTES // (8 * m)):
        sl = slice(start, start + Mb.shape[0])
        Phi = (Mb[:, :, None] * X[sl, None, :]).reshape(-1, m)
        if centre is not None:
            Phi -= s[sl, None] * mu[None, :]
        Q += Phi.T @ Phi
        B += Phi.T @ Y[sl]
    return Q / n, B / n


def _block_lipschitz(Q, P: int, d: int) -> np.ndarray:
    """``lambda_max(Q_ii)`` of each diagonal block, shape (P,)."""
    blocks = Q.reshape(P, d, P, d)[np.arange(P), :, np.arange(P), :]  # (P, d, d)
    return np.maximum(np.linalg.eigvalsh(blocks)[:, -1], np.finfo(float).tiny)


def _sweep(Q, V, G, L, alpha: float, d: int) -> None:
    """One pass of majorised block coordinate descent over the groups, in place. ``V``, ``G``:
    (m, c)."""
    for i in range(L.size):
        sl = slice(i * d, (i + 1) * d)
        v = V[sl]
        z = v - G[sl] / L[i]
        nz = np.sqrt(np.sum(z * z))
        shrink = 1.0 - alpha / (L[i] * nz) if nz > 0 else 0.0
        new = z * shrink if shrink > 0 else np.zeros_like(z)
        delta = new - v
        if not np.any(delta):
            continue
        G += Q[sl].T @ delta  # Q symmetric: the rows of the block are its columns
        V[sl] = new


def _penalty(V, d: int, alpha: float) -> float:
    return alpha * float(np.sum(np.linalg.norm(V.reshape(-1, d * V.shape[1]), axis=1)))


def _newton_direction(Q, V, G, A, alpha: float, d: int):
    """The damped Newton direction on the groups ``A`` (all non-zero in ``V``): ``(rows, S)``
    with ``S`` of shape (|A| d, c), or None when the factorisation fails."""
    c = V.shape[1]
    k = d * c
    rows = (A[:, None] * d + np.arange(d)).ravel()  # the support's rows of V
    groups = V[rows].reshape(A.size, k)
    norms = np.linalg.norm(groups, axis=1)
    unit = groups / norms[:, None]
    grad = G[rows].reshape(A.size, k) + alpha * unit
    QA = Q[np.ix_(rows, rows)]
    H = np.kron(QA, np.eye(c)) if c > 1 else QA.copy()
    for j in range(A.size):
        blk = slice(j * k, (j + 1) * k)
        H[blk, blk] += alpha * (np.eye(k) - np.outer(unit[j], unit[j])) / norms[j]
    H[np.diag_indices_from(H)] += _DAMP * max(float(np.trace(H)) / H.shape[0], np.finfo(float).tiny)
    try:
        step = -scipy.linalg.cho_solve(scipy.linalg.cho_factor(H, check_finite=False),
                                       grad.ravel(), check_finite=False)
    except (np.linalg.LinAlgError, ValueError):
        return None
    return rows, step.reshape(rows.size, c)


def _newton(Q, V, G, alpha: float, d: int) -> bool:
    """One damped Newton step on the support of ``V`` with an Armijo search, in place; returns
    whether a step was taken.

    Groups that the step carries through zero (``<v_i, v_i + s_i> <= 0``) want to leave the
    support, which the smooth model cannot say (its curvature ``alpha / ||v_i||`` grows without
    bound on the way) and which cuts the line search short. Then a second direction is tried:
    those groups set to zero and Newton's step on the remaining support from there; the better of
    the two searches is taken."""
    c = V.shape[1]
    norms = np.linalg.norm(V.reshape(-1, d * c), axis=1)
    A = np.flatnonzero(norms > 0)
    if A.size == 0:
        return False
    first = _newton_direction(Q, V, G, A, alpha, d)
    if first is None:
        return False
    rows, S = first
    best = _search(Q, V, G, rows, S, alpha, d)
    groups = V[rows].reshape(A.size, -1)
    crossing = np.sum(groups * (groups + S.reshape(A.size, -1)), axis=1) <= 0
    if crossing.any() and not crossing.all():
        # the point with the crossing groups at zero, and Newton's step on the rest from there
        W, GW = V.copy(), G.copy()
        drop = (A[crossing][:, None] * d + np.arange(d)).ravel()
        GW -= Q[:, drop] @ W[drop]
        W[drop] = 0.0
        second = _newton_direction(Q, W, GW, A[~crossing], alpha, d)
        if second is not None:
            D = W - V
            D[second[0]] += second[1]
            trial = _search(Q, V, G, rows, D[rows], alpha, d)
            if trial[0] is not None and (best[0] is None or trial[0] < best[0]):
                best = trial
    change, t, D, QD = best
    if change is None:
        return False
    V[rows] += t * D
    G += t * QD
    return True


def _search(Q, V, G, rows, D, alpha: float, d: int):
    """Armijo backtracking along ``D`` (on the rows ``rows`` of ``V``) on the exact objective
    change; returns ``(change, t, D, Q[:, rows] D)``, ``change`` None when it fails."""
    QD = Q[:, rows] @ D  # (m, c)
    lin = float(np.sum(G[rows] * D))
    quad = float(np.sum(D * QD[rows]))
    base = _penalty(V[rows], d, alpha)
    t = 1.0
    for _ in range(_MAX_HALVINGS):
        change = t * lin + 0.5 * t * t * quad + _penalty(V[rows] + t * D, d, alpha) - base
        if change < 0 and change <= _ARMIJO * t * (lin + _base_slope(V, rows, D, d, alpha)):
            return change, t, D, QD
        t *= 0.5
    return None, None, D, QD


def _base_slope(V, rows, D, d: int, alpha: float) -> float:
    """The directional derivative of the penalty at ``V[rows]`` along ``D`` (a group at zero
    contributes ``alpha ||d_i||``)."""
    c = V.shape[1]
    groups = V[rows].reshape(-1, d * c)
    Dg = D.reshape(-1, d * c)
    norms = np.linalg.norm(groups, axis=1)
    nz = norms > 0
    return alpha * (float(np.sum(groups[nz] * Dg[nz] / norms[nz, None]))
                    + float(np.sum(np.linalg.norm(Dg[~nz], axis=1))))


def solve(problem: Problem, U0, tol: float, max_iter: int, verbose: int = 0) -> SolverOutput:
    """Block coordinate descent and Newton on the support, on the Gram matrix, until the full
    duality gap of the data is ``<= tol * F``; ``max_iter`` bounds the rounds."""
    shape, dt = problem.coef_shape, problem.X.dtype
    P, d, c = problem.n_groups, problem.d, problem.n_outputs
    U0 = np.asarray(U0)
    cert = certify_numpy(problem, U0.astype(dt), refine=False)
    if cert.finite and cert.dual_gap <= tol * cert.objective:
        return SolverOutput(coef=U0.astype(dt), n_iter=0, status="converged")
    Q, B = gram(problem)
    alpha = float(problem.alpha)
    V = np.asarray(U0, np.float64).reshape(P * d, c).copy()
    G = Q @ V - B
    L = _block_lipschitz(Q, P, d)
    best_U, best = U0.astype(dt), (cert.relative_gap if cert.finite else np.inf)
    status, since, rounds = "max_iter", 0, 0
    for rounds in range(1, max_iter + 1):
        _sweep(Q, V, G, L, alpha, d)
        stepped = _newton(Q, V, G, alpha, d)
        U = V.reshape(shape).astype(dt)
        cert = certify_numpy(problem, U, refine=False)
        if verbose:
            print(f"[gram] round {rounds:3d}  F {cert.objective:.10g}  rel gap "
                  f"{cert.relative_gap:.2e}  support {int(np.count_nonzero(np.any(V.reshape(P, -1), axis=1)))}"
                  f"  newton {'yes' if stepped else 'no'}", flush=True)
        if cert.finite and cert.relative_gap < best:
            since = 0 if cert.relative_gap < 0.9 * best else since + 1
            best_U, best = U, cert.relative_gap
        else:
            since += 1
        if cert.finite and cert.dual_gap <= tol * cert.objective:
            status = "converged"
            break
        if since >= _STALL:
            status = "stalled"
            break
        # keep the gradient exact to rounding: Newton's in-place updates accumulate error
        if rounds % 10 == 0:
            G = Q @ V - B
    return SolverOutput(coef=best_U, n_iter=rounds, status=status)


SOLVER = Solver(
    name="gram",
    solve=solve,
    supports=supports,
    default_max_iter=500,
    summary="block coordinate descent and Newton on the support, on the P d x P d Gram matrix "
            "of the masked features, for tall problems (n >= P d, P d c <= 4000)",
)
