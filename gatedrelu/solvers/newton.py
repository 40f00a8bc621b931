r"""Projected Newton on the kernel weights: the second-order solver for small and ill-conditioned
problems.

The MKL view (``docs/math.md``) writes the group lasso as a smooth convex program over kernel
weights ``eta >= 0``::

    J(eta) = (alpha/2) [ tr Y^T S^{-1} Y + sum_i eta_i ],   S = K_eta + n alpha I,
    K_eta = sum_i eta_i D_i X X^T D_i,   min_{eta >= 0} J = F*,

whose solution gives ``u_i = eta_i X^T D_i a`` with ``a = S^{-1} Y``. With ``B_c = [K_i a_c]_i``
(n x P per output):

* gradient ``dJ/deta_i = (alpha/2) (1 - ||X^T D_i a||^2)``; it is ``>= 0`` exactly when the dual
  constraint of group ``i`` holds at ``theta = alpha a``;
* Hessian ``alpha sum_c B_c^T S^{-1} B_c`` (positive semidefinite).

Bertsekas' projected Newton method (1982) takes Newton steps on the free weights and projected
gradient steps on the weights at their bound ``eta_i = 0`` with a positive gradient, with an
Armijo search along the projection arc. It is affine-invariant in ``eta``, so neither the scale
of the features nor the correlation of the groups slows it; each step costs one ``n x n``
Cholesky factorisation and ``O(n^2 |free|)`` for the Hessian, so it is meant for ``n`` up to a few
thousand (``supports``). Every iterate's gap is estimated for free from the kernel identities
(the residual is ``n alpha a``); when the estimate reaches ``tol``, the full group-lasso duality
gap of its ``U`` (:mod:`gatedrelu.problem.certificate`) decides, and the solver stops on it: on the plain gap of the
scaled residual, not the refined one (``refine=False``), which is about the square root of the
suboptimality, so that a stop at ``tol`` leaves predictions exact to about ``tol`` (scikit-learn's
sample-weight equivalence check compares fits at ``rtol=1e-7``); Newton's quadratic convergence
makes the extra steps cheap.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg

from ..problem.certificate import Certificate, Problem, certify_numpy
from ._base import Solver, SolverOutput

__all__ = ["SOLVER", "solve", "supports"]

#: Largest n handled (an n x n factorisation per step: 4000^2 float64 = 128 MB).
MAX_N = 4000
#: Largest number of patterns (the Hessian is P x P over the free weights).
MAX_P = 6000
#: The support polish forms a Gram matrix of this many columns at most (|A| d c).
MAX_POLISH = 4000
#: Polish once the weights' Newton iterate has a relative gap below this and stops improving it
#: tenfold per step; at most MAX_POLISHES times per solve.
POLISH_GAP = 1e-3
MAX_POLISHES = 4
#: Armijo constant and step halvings of the line search.
_ARMIJO = 1e-4
_MAX_HALVINGS = 40
#: Stop (stalled) when the best relative gap has not fallen by 10% for this many steps, or
#: when J has not decreased (relative 1e-15) for _FLAT steps.
_STALL = 30
_FLAT = 3


def supports(problem: Problem):
    """None when the solver applies, else the reason it does not."""
    if problem.datafit.name not in CENTRED_OR_PLAIN or problem.penalty.name != "group_l2":
        return ("newton solves the squared loss (with or without a free intercept) with the "
                "group-L2 penalty only")
    if problem.constraint is not None:
        return "newton does not handle constraints"
    if problem.n > MAX_N:
        return f"newton factorises n x n kernels and handles n <= {MAX_N} (n = {problem.n})"
    if problem.n_groups > MAX_P:
        return f"newton handles at most {MAX_P} patterns (P = {problem.n_groups})"
    return None


#: The squared loss, and the squared loss with a free intercept profiled out (its projector
#: ``P`` centres the targets and the kernel: ``S = P K_eta P + n alpha I``, ``docs/math.md``).
CENTRED_OR_PLAIN = ("squared", "squared_intercept")


def _centring(problem: Problem):
    """``P r`` of the datafit (centring of the targets and of the kernel's rows and columns),
    or the identity for the plain squared loss."""
    return getattr(problem.datafit, "centre", lambda r: r)


class _Kernel:
    """``S = P K_eta P + n alpha I`` (``P`` the datafit's centring, the identity without an
    intercept), its Cholesky factor and ``a = S^{-1} Y`` for given weights (``Y`` centred)."""

    def __init__(self, X, Mf, Y, alpha, centre_kernel=None):
        self.X, self.Mf, self.Y, self.alpha = X, Mf, Y, alpha
        self.centre_kernel = centre_kernel
        self.n = X.shape[0]
        self.XXt = X @ X.T
        self.nalpha = self.n * alpha

    def evaluate(self, eta):
        """``(J, chol, a)`` at ``eta``; ``J = inf`` when the factorisation fails."""
        free = eta > 0
        Mw = self.Mf[:, free]
        K = self.XXt * ((Mw * eta[free]) @ Mw.T)
        if self.centre_kernel is not None:
            K = self.centre_kernel(K)  # P K P, in place
        K[np.diag_indices_from(K)] += self.nalpha
        try:
            chol = scipy.linalg.cholesky(K, lower=True, check_finite=False, overwrite_a=True)
        except np.linalg.LinAlgError:
            return np.inf, None, None
        a = scipy.linalg.cho_solve((chol, True), self.Y, check_finite=False)
        J = 0.5 * self.alpha * (float(np.sum(self.Y * a)) + float(eta.sum()))
        return (J if np.isfinite(J) else np.inf), chol, a


def _adjoint(X, Mf, a):
    """``X^T D_i a`` for every group: (P, d, c) for ``a`` of shape (n, c)."""
    return np.stack([(Mf * a[:, [k]]).T @ X for k in range(a.shape[1])], axis=-1)


def _kernel_certificate(alpha: float, a, Y, eta, G) -> Certificate:
    """Objective and duality gap of ``U = eta G`` from the kernel identities, with no pass over the
    data: ``S a = Y`` makes the (centred) residual ``Y - A(U) = n alpha a``, and ``A^T`` of it is
    ``n alpha G``, so ``F = (n alpha^2 / 2) ||a||^2 + alpha sum_i eta_i ||G_i||`` and the dual point
    ``alpha a`` scaled by ``min(1, 1 / max ||G_i||)`` gives the gap. Exact up to the rounding of
    the factorisation: an estimate that decides when to pay for the real certificate."""
    n = a.shape[0]
    gn = np.sqrt(np.sum(G * G, axis=(1, 2)))
    aa = float(np.sum(a * a))
    F = 0.5 * n * alpha * alpha * aa + alpha * float(eta @ gn)
    s = alpha * min(1.0, 1.0 / max(float(gn.max(initial=0.0)), np.finfo(float).tiny))
    gap = F - (s * float(np.sum(a * Y)) - 0.5 * n * s * s * aa)
    return Certificate(F, gap, None, bool(np.isfinite(F) and np.isfinite(gap)))


def _initial_weights(problem: Problem, U0, kern: _Kernel, Y):
    norms = np.linalg.norm(U0.reshape(U0.shape[0], -1), axis=1)
    if np.any(norms > 0):
        return norms.astype(np.float64)
    # Uniform shape with the scale that minimises J(t mu) for a flat spectrum lam = tr K_mu / n:
    # J ~ (alpha/2)(||Y||^2 / (t lam + n alpha) + t)  =>  t = (||Y|| / sqrt(lam) - n alpha) / lam.
    P = problem.n_groups
    lam = float(np.sum(np.diag(kern.XXt) * kern.Mf.sum(axis=1))) / (P * kern.n)
    lam = max(lam, np.finfo(float).tiny)
    t = (np.linalg.norm(Y) / np.sqrt(lam) - kern.nalpha) / lam
    t = max(t, 1e-3 * np.linalg.norm(Y) / np.sqrt(lam) / lam)
    return np.full(P, t / P)


def _primal_polish(problem: Problem, U, max_steps: int = 15):
    """Newton's method on the support of ``U``, where the objective is smooth.

    On ``A = {i : u_i != 0}`` the restricted objective ``1/(2n)||Phi_A u - y||^2 +
    alpha sum_{i in A} ||u_i||`` is twice differentiable, with Hessian
    ``Phi_A^T Phi_A / n + alpha blockdiag((I - v_i v_i^T) / ||u_i||)``, ``v_i = u_i / ||u_i||``.
    Once the weights' Newton method has found the support, a few of these steps give the
    coefficients to machine precision, which the kernel form cannot (its accuracy is limited by
    the conditioning of ``K_eta + n alpha I``). Returns the polished ``U`` or None.
    """
    P = U.shape[0]
    norms = np.linalg.norm(U.reshape(P, -1), axis=1)
    A = np.flatnonzero(norms > 0)
    n, d = problem.X.shape
    c = problem.n_outputs
    if A.size == 0 or A.size * d * c > MAX_POLISH:
        return None
    X = problem.X.astype(np.float64, copy=False)
    centre = _centring(problem)
    Y = centre(problem.y.astype(np.float64, copy=False).reshape(n, c))
    alpha = float(problem.alpha)
    Phi = centre((problem.M[:, A, None] * X[:, None, :]).reshape(n, A.size * d))  # (n, |A| d)
    Q = Phi.T @ Phi / n
    b = Phi.T @ Y / n  # (|A| d, c)
    V = U[A].astype(np.float64).reshape(A.size * d, c)

    def value(R, V):
        return 0.5 * float(np.sum(R * R)) / n + alpha * float(
            np.sum(np.linalg.norm(V.reshape(A.size, d * c), axis=1))
        )

    R = Phi @ V - Y
    F = value(R, V)
    for _ in range(max_steps):
        groups = V.reshape(A.size, d * c)
        gn = np.linalg.norm(groups, axis=1)
        if np.any(gn == 0):
            return None  # left the smooth region
        unit = groups / gn[:, None]
        grad = (Q @ V - b).reshape(A.size, d * c) + alpha * unit
        # Hessian in the (group, feature, output) order: kron(Q, I_c) + penalty blocks
        H = np.kron(Q, np.eye(c)) if c > 1 else Q.copy()
        m = d * c
        for j in range(A.size):
            sl = slice(j * m, (j + 1) * m)
            H[sl, sl] += alpha * (np.eye(m) - np.outer(unit[j], unit[j])) / gn[j]
        try:
            cf = scipy.linalg.cho_factor(H, check_finite=False)
            step = -scipy.linalg.cho_solve(cf, grad.ravel(), check_finite=False)
        except (np.linalg.LinAlgError, ValueError):
            return None
        dec = -float(grad.ravel() @ step)
        if not np.isfinite(dec) or dec <= 1e-30 * max(abs(F), 1e-300):
            break
        step = step.reshape(V.shape)
        Phi_step = Phi @ step
        t = 1.0
        for _ in range(30):
            V_new, R_new = V + t * step, R + t * Phi_step
            F_new = value(R_new, V_new)
            if F_new <= F - 1e-4 * t * dec:
                break
            t *= 0.5
        else:
            break
        V, R, F = V_new, R_new, F_new
        if dec < 1e-20 * max(abs(F), 1e-300):
            break
    out = np.zeros_like(U)
    out[A] = V.reshape((A.size,) + U.shape[1:]).astype(U.dtype)
    return out


def solve(problem: Problem, U0, tol: float, max_iter: int, verbose: int = 0) -> SolverOutput:
    """Projected Newton on ``eta`` until the full duality gap is ``<= tol * F``."""
    # No BLAS thread limit here: limits are process-wide, and solves in parallel threads (CV folds
    # with n_jobs) setting and lifting one under each other's feet made results depend on n_jobs.
    return _solve(problem, U0, tol, max_iter, verbose)


def _solve(problem: Problem, U0, tol: float, max_iter: int, verbose: int = 0) -> SolverOutput:
    U0 = np.asarray(U0)
    if not np.any(U0):  # e.g. alpha >= alpha_max (a warm start is certified by the loop's first step)
        start = certify_numpy(problem, U0, refine=False)
        if start.finite and start.dual_gap <= tol * start.objective:
            return SolverOutput(coef=U0, n_iter=0, status="converged")
    X = problem.X.astype(np.float64, copy=False)
    centre = _centring(problem)
    Y = centre(problem.y.astype(np.float64, copy=False).reshape(problem.n, -1))
    Mf = problem.M.astype(np.float64)
    alpha = float(problem.alpha)
    kern = _Kernel(X, Mf, Y, alpha, getattr(problem.datafit, "centre_kernel", None))
    eta = _initial_weights(problem, U0, kern, Y)
    J, chol, a = kern.evaluate(eta)
    best_U, best = None, (np.inf, np.inf)  # (relative gap, gap) of the best certified iterate
    since_best, status, n_iter, flat = 0, "max_iter", 0, 0
    F_prev, polish_after, polishes = np.inf, 0, 0
    lm, exact = 1e-12, False
    shape = problem.coef_shape
    for n_iter in range(max_iter + 1):
        if chol is None:
            status = "factorisation failed"
            break
        G = _adjoint(X, Mf, a)  # (P, d, c)
        U = (eta[:, None, None] * G).reshape(shape).astype(problem.X.dtype)
        # the kernel identities estimate the certificate for free; the real one (a pass over the
        # data) is paid when the estimate says converged, and at every step once it disagreed
        cert = certify_numpy(problem, U, refine=False) if exact else _kernel_certificate(
            alpha, a, Y, eta, G)
        if not exact and cert.finite and cert.dual_gap <= tol * cert.objective:
            cert = certify_numpy(problem, U, refine=False)
            exact = not cert.dual_gap <= tol * cert.objective
        if verbose:
            print(f"[newton] it {n_iter:3d}  F {cert.objective:.10g}  rel gap {cert.relative_gap:.2e}  "
                  f"active {int(np.count_nonzero(eta))}", flush=True)
        F_change = abs(F_prev - cert.objective) / max(abs(cert.objective), np.finfo(float).tiny)
        F_prev = cert.objective
        # Polish once the weights' iterate stops improving the gap fast (its accuracy floor), or
        # when the objective has settled while the gap lags; at most MAX_POLISHES times.
        # A polish with more variables (|A| d c) than samples costs more than ten Newton steps:
        # then it waits for the floor (three steps without a 10% better gap).
        if np.count_nonzero(eta) * problem.d * problem.n_outputs > problem.n:
            want_polish = since_best >= 3 or flat >= 1 or (F_change < 1e-8 and since_best >= 1)
        else:
            slowing = since_best >= 1 or (best[0] < np.inf and cert.relative_gap > 0.1 * best[0])
            want_polish = (cert.relative_gap < POLISH_GAP and slowing) or F_change < 1e-8
        if (cert.finite and want_polish and n_iter >= polish_after and polishes < MAX_POLISHES
                and not cert.dual_gap <= tol * cert.objective):
            polish_after, polishes = n_iter + 3, polishes + 1  # retried every third step
            polished = _primal_polish(problem, U)
            if polished is not None:
                pc = certify_numpy(problem, polished, refine=False)
                if verbose:
                    print(f"[newton]   support polish: rel gap {pc.relative_gap:.2e}", flush=True)
                if pc.finite and pc.relative_gap < cert.relative_gap:
                    U, cert = polished, pc
        if cert.finite and cert.relative_gap < best[0]:
            if cert.relative_gap < 0.9 * best[0]:
                since_best = 0
            best, best_U = (cert.relative_gap, cert.dual_gap), U
        else:
            since_best += 1
        if cert.finite and cert.dual_gap <= tol * cert.objective:
            status = "converged"
            break
        if since_best >= _STALL or flat >= _FLAT:
            status = "stalled"
            break
        if n_iter == max_iter:
            break
        # gradient and projected-Newton active set
        q = np.sum(G * G, axis=(1, 2))
        g = 0.5 * alpha * (1 - q)
        eps_k = min(1e-3 * max(eta.max(), 1e-300), float(np.linalg.norm(eta - np.maximum(eta - g, 0))))
        bound = (eta <= eps_k) & (g > 0)
        free = ~bound
        # Hessian on the free weights: alpha * sum_c (L^{-1} B_c)^T (L^{-1} B_c)
        idx = np.flatnonzero(free)
        H = np.zeros((idx.size, idx.size))
        for k in range(Y.shape[1]):
            B = centre(Mf[:, idx] * (X @ G[idx, :, k].T))  # P K_i a
            W = scipy.linalg.solve_triangular(chol, B, lower=True, check_finite=False)
            H += W.T @ W
        H *= alpha
        # Levenberg-Marquardt damping, relative to the mean curvature: groups that share almost
        # all their samples make H nearly singular (the weights are then not unique), and an
        # undamped step along that null space is long and useless.
        damp = lm * max(float(np.trace(H)) / max(idx.size, 1), np.finfo(float).tiny)
        direction = np.zeros_like(eta)
        try:
            cf = scipy.linalg.cho_factor(H + damp * np.eye(idx.size), check_finite=False)
            direction[idx] = -scipy.linalg.cho_solve(cf, g[idx], check_finite=False)
        except np.linalg.LinAlgError:
            direction[idx] = -g[idx] / np.maximum(np.diag(H) + damp, np.finfo(float).tiny)
        # the bound weights go to their bound (projection of any gradient step)
        direction[bound] = -eta[bound]
        step, accepted = 1.0, False
        for _ in range(_MAX_HALVINGS):
            trial = np.maximum(eta + step * direction, 0)
            if bound.any():
                trial[bound] = 0.0
            decrease = float(g @ (eta - trial))
            J_new, chol_new, a_new = kern.evaluate(trial)
            if J_new <= J - _ARMIJO * max(decrease, 0.0):
                accepted = True
                break
            step *= 0.5
        if not accepted:
            if lm < 1e2:
                lm *= 100.0
                continue
            status = "line search failed"
            break
        lm = max(lm / 10, 1e-12) if step == 1.0 else min(lm * 10, 1e2)
        flat = flat + 1 if J - J_new <= 1e-15 * abs(J) else 0
        eta, J, chol, a = trial, J_new, chol_new, a_new
    coef = best_U if best_U is not None else np.zeros(shape, problem.X.dtype)
    return SolverOutput(coef=coef, n_iter=n_iter, status=status)


SOLVER = Solver(
    name="newton",
    solve=solve,
    supports=supports,
    default_max_iter=200,
    summary="projected Newton on the MKL kernel weights (n x n Cholesky), for n <= 4000",
)
