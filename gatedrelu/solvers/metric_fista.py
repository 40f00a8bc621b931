r"""Spike-deflated variable-metric FISTA: the step of every direction, not of the largest one.

The Hessian ``A^T H A`` of a gated-ReLU design (``A = [D_1 X, ..., D_P X]``, ``H`` the curvature
of the datafit in the predictions) has a few outlier eigenvalues above a flat bulk
(``docs/math.md``, "The metric solver"): the **mean mode** (every group moving together,
``u_i = a``: ``d`` directions, Rayleigh quotient ``X^T diag(h c^2) X / P`` with ``c`` the number of
active patterns per sample) and the **ReLU mode** (``u_i`` along ``X^T D_i 1``). Plain FISTA
takes the step ``1 / L`` of the largest one in every direction. Here the metric is

    Q = L_b I + Z S Z^T,     S = (A Z)^T H (A Z)  (exact, (m, m)),

with ``Z`` an orthonormal basis of those modes (``m = d + 1`` columns per output) and ``L_b`` the
bulk step found by backtracking. Each iteration:

* a gradient step in the metric, ``V = W - Q^{-1} grad f(W)`` (``Q^{-1}`` by the Woodbury
  identity: an ``(m, m)`` matrix);
* the prox of the penalty in the metric (Becker and Fadili, 2012): ``U = prox_{alpha / L_b}(V -
  Z S gamma / L_b)`` where ``gamma = Z^T (U - V)`` solves a monotone equation of size ``m c``,
  by semismooth Newton warm-started from the last ``gamma`` (one to three steps);
* the step is accepted when ``f(A U) - f(A W) - <grad, U - W> <= ||U - W||_Q^2 / 2`` (for the
  squared loss ``||A (U - W)||^2 / 2n``, exact in float32), else ``L_b`` grows;
* momentum restarts when ``<W - U, U - U_prev>_Q > 0``.

Correctness does not depend on ``Z``: a missing outlier only raises ``L_b`` by backtracking, and
the answer is certified by the same duality gap as every solver. Two things make the certified
answer cost little more than the answer:

* **the refined dual point** (:func:`gatedrelu.problem.certificate.refined_dual`): the plain gap
  is about the square root of the suboptimality; the refined one, tried once the plain gap is
  near ``sqrt(tol)``, about the suboptimality itself (one more adjoint);
* optionally (``anderson_tail=True``), **a tail** once the support has not changed for
  ``TAIL_STABLE`` iterations: proximal gradient steps at a fixed metric with Anderson
  extrapolation every ``ANDERSON`` steps, kept when it lowers the objective. Off by default: on
  R1 (``benchmarks/``) it took 57 / 96 / 1499 iterations to a certified 1e-6 at 0.05 / 0.01 /
  0.001 ``alpha_max``, against 52 / 99 / 401 for restarted FISTA to the end.

Masks enter as a dense 0/1 operand of matrix products (``forward = rowsum(X o (M U))``,
``adjoint = M^T (r o X)``), formed once per solve, in row blocks for large problems. Penalties
without ``prox_metric_terms`` (the Jacobian of their prox) run with ``Z`` empty: plain FISTA.
Everything is numpy: no compilation, so a first call costs what the next one does.
"""

from __future__ import annotations

import math

import numpy as np

from ..operator import is_packed, unpack_masks
from ..problem.certificate import Problem, curvature, dual_objective, refine_pays, refined_dual
from ._base import Solver, SolverOutput

__all__ = ["SOLVER", "solve", "run", "MaskedMaps"]

#: Values of the status code (the same as :data:`gatedrelu.solvers.fista.STATUS`).
STATUS = {0: "running", 1: "converged", 2: "max_iter", 3: "not finite", 4: "backtracking exhausted"}
#: Every iteration first tries a bulk step this much longer than the last accepted one.
_GROW = 1.05
_BACKTRACK = 1.5
_MAX_BACKTRACK = 60
#: The refined dual point (:func:`gatedrelu.problem.certificate.refined_dual`, one more adjoint)
#: is tried where :func:`gatedrelu.problem.certificate.refine_pays`...
#: ... every this many iterations, and at every one once its last gap was within 10 tol.
REFINE_EVERY = 4
#: The tail (fixed-step proximal gradient with Anderson extrapolation) starts once the support
#: has not changed for this many iterations; Anderson extrapolates from this many + 1 iterates.
TAIL_STABLE = 8
ANDERSON = 5
#: Bytes of the dense float masks kept for one solve; larger problems unpack row blocks per call.
DENSE_MASK_BYTES = 2**28
#: Power iterations for the first bulk step (a lower estimate: backtracking corrects it).
POWER_ITERS = 6
#: A float32 solve whose gap has not halved in this many iterations stops (status "max_iter"):
#: its rounding limits the gap, and the caller (the working set) goes on in float64.
STALL_ITERS = 200
#: Semismooth Newton steps of the metric prox at most, and its relative tolerance.
PROX_STEPS = 12


class MaskedMaps:
    """``forward`` and ``adjoint`` of one problem with the masks as a float matrix operand.

    Parameters
    ----------
    X : ndarray of shape (n, d)
    M : bool ndarray of shape (n, k) or bit-packed uint8 (ceil(n / 8), k)
    block_bytes : int
        The float masks are kept whole when they take at most this many bytes; otherwise each
        call unpacks row blocks of that size.
    """

    def __init__(self, X, M, block_bytes: int = DENSE_MASK_BYTES):
        self.X = X
        self.n, self.d = X.shape
        self.k = M.shape[1]
        dt = X.dtype
        row_bytes = max(1, self.k * dt.itemsize)
        if self.n * row_bytes <= block_bytes:
            self.blocks = [(0, self.n, unpack_masks(M, self.n).astype(dt))]
            self._M = None
        else:
            B = max(8, (block_bytes // row_bytes) // 8 * 8)
            self.blocks = [(s, min(s + B, self.n), None) for s in range(0, self.n, B)]
            self._M = M
        self.counts = np.zeros(self.n, dt)  # active patterns per sample
        for s, e, Mb in self._iter():
            self.counts[s:e] = Mb.sum(axis=1)

    def _iter(self):
        for s, e, Mb in self.blocks:
            if Mb is None:
                M = self._M
                Mb = (unpack_masks(M[s // 8:(e + 7) // 8], e - s) if is_packed(M)
                      else M[s:e]).astype(self.X.dtype)
            yield s, e, Mb

    def forward(self, U):
        """``A(U)`` for ``U`` of shape (k, d, c): shape (n, c)."""
        k, d, c = U.shape
        out = np.empty((self.n, c), np.result_type(self.X, U))
        U2 = U.reshape(k, d * c)
        for s, e, Mb in self._iter():
            T = Mb @ U2  # (rows, d c)
            Xb = self.X[s:e]
            if c == 1:
                out[s:e, 0] = np.einsum("nd,nd->n", T, Xb)
            else:
                out[s:e] = np.einsum("nd,ndc->nc", Xb, T.reshape(-1, d, c))
        return out

    def adjoint(self, R):
        """``A^T(R)`` for ``R`` of shape (n, c): shape (k, d, c)."""
        c = R.shape[1]
        out = np.zeros((self.k, self.d * c), np.result_type(self.X, R))
        for s, e, Mb in self._iter():
            Xb = self.X[s:e]
            B = Xb * R[s:e] if c == 1 else (Xb[:, :, None] * R[s:e, None, :]).reshape(e - s, -1)
            out += Mb.T @ B
        return out.reshape(self.k, self.d, c)


class Metric:
    """``Q = L I + Z S Z^T`` on groups of shape (k, d, c), ``Z = [mean mode, extra columns E]``.

    ``Z^T U`` has shape (m, c), ``m = d + e``: rows ``0..d-1`` are ``sum_i u_i / sqrt(k)`` (the
    mean mode), the others ``sum_i E_i^T u_i``; ``S`` (m, m) acts on each output alike.
    """

    def __init__(self, k: int, d: int, E, S, dtype):
        self.k, self.d = k, d
        self.E = E  # (k, d, e), orthonormal and orthogonal to the mean mode; e may be 0
        self.m = 0 if S is None else S.shape[0]
        self.S = S
        if S is not None:
            lam, V = np.linalg.eigh(S.astype(np.float64))
            self.lam, self.V = np.maximum(lam, 0), V
        self.dtype = dtype
        self._L = None

    @property
    def empty(self) -> bool:
        return self.m == 0

    def zt(self, U):
        """``Z^T U``: (m, c)."""
        rk = 1 / math.sqrt(self.k)
        parts = [U.sum(axis=0) * rk]
        if self.E.shape[2]:
            parts.append(np.einsum("kde,kdc->ec", self.E, U))
        return np.concatenate(parts)

    def z(self, G):
        """``Z G`` for ``G`` of shape (m, c): (k, d, c)."""
        rk = 1 / math.sqrt(self.k)
        G = np.asarray(G, self.dtype)
        out = np.broadcast_to(G[None, : self.d] * self.dtype.type(rk),
                              (self.k, self.d, G.shape[1])).copy()
        if self.E.shape[2]:
            out += np.einsum("kde,ec->kdc", self.E, G[self.d:])
        return out

    def _C(self, L):
        """``I / L - (L I + S)^{-1}`` (m, m), cached per ``L``."""
        if self._L != L:
            self._L = L
            self._Cm = ((self.V * (1 / L - 1 / (L + self.lam))) @ self.V.T).astype(self.dtype)
        return self._Cm

    def inv(self, G, L):
        """``Q^{-1} G``."""
        if self.empty:
            return G / L
        return G / L - self.z(self._C(L) @ self.zt(G))

    def dot(self, A, B, L):
        """``<A, B>_Q``."""
        val = L * float(np.vdot(A, B))
        if not self.empty:
            val += float(np.vdot(self.zt(A), self.S @ self.zt(B)))
        return val


def build_metric(maps: MaskedMaps, h, c: int, relu_mode: bool = True, centre=None) -> Metric:
    """The mean mode (closed form) and the ReLU mode of the working set, with their exact Gram
    ``S = (A Z)^T diag(h) (A Z)`` (``h``: the datafit's curvature per sample, shape (n,);
    ``centre``: a datafit's projector ``P`` (free intercept), then ``S = (P A Z)^T (P A Z)``)."""
    X, k, d, dt = maps.X, maps.k, maps.d, maps.X.dtype
    AZ = [maps.counts[:, None] * X / math.sqrt(k)]  # A (1_k e_j^T / sqrt k) = c o X_j / sqrt k
    E = np.zeros((k, d, 0), dt)
    if relu_mode and k > 1:
        R = maps.adjoint(np.ones((maps.n, 1), dt))[:, :, 0]  # (X^T D_i 1)_i
        R -= R.mean(axis=0)  # orthogonal to the mean mode
        nrm = float(np.linalg.norm(R))
        if nrm > 1e-6 * math.sqrt(k) * float(np.linalg.norm(X)):  # else inside the mean mode
            E = (R / nrm)[:, :, None]
            AZ.append(maps.forward(E))
    AZ = np.hstack(AZ).astype(np.float64)
    if centre is not None:
        AZ = centre(AZ)
    S = AZ.T @ (np.asarray(h, np.float64)[:, None] * AZ)
    return Metric(k, d, E, S, dt)


def _prox_metric(penalty, metric: Metric, V, thresh, L, gamma, tol):
    """``argmin_U ||U - V||_Q^2 / 2 + thresh L Omega(U)`` by semismooth Newton in ``gamma``;
    returns ``(U, gamma)``."""
    if metric.empty or gamma is None:
        return _prox(penalty, V, thresh), gamma
    m, c = gamma.shape
    S = metric.S
    Sc = np.kron(S, np.eye(c)) if c > 1 else S
    ztV = metric.zt(V)
    scale = float(np.linalg.norm(ztV)) + float(np.linalg.norm(gamma)) + np.finfo(float).tiny
    best = None
    res_prev = np.inf
    step = None
    for _ in range(PROX_STEPS):
        g_try = gamma if step is None else gamma - step
        Y = V - metric.z(S @ g_try) / L
        U, a, b, act = penalty.prox_metric_terms(Y, thresh)
        Phi = g_try - (metric.zt(U) - ztV)
        res = float(np.linalg.norm(Phi))
        if step is not None and res > res_prev and not res <= tol * scale:
            step = step / 2  # damped: the residual must fall
            if float(np.linalg.norm(step)) <= tol * scale:
                break
            continue
        gamma, res_prev, best = g_try, res, U
        if res <= tol * scale:
            break
        # Jacobian of Phi: I + Z^T J Z (S (x) I_c) / L, J = blockdiag(a_i I + b_i y_i y_i^T)
        A = _mean_metric_gram(metric, a)
        W = metric_group_coords(metric, Y, act)  # (s, m c)
        ZJZ = np.kron(A, np.eye(c)) if c > 1 else A
        if W.shape[0]:
            ZJZ = ZJZ + W.T @ (b[act][:, None] * W)
        Jac = np.eye(m * c) + ZJZ @ Sc / L
        try:
            step = np.linalg.solve(Jac, Phi.reshape(-1)).reshape(m, c)
        except np.linalg.LinAlgError:
            break
    return best, gamma


def _mean_metric_gram(metric: Metric, a):
    """``sum_i a_i Z_i^T Z_i`` (m, m) for per-group weights ``a`` (k,)."""
    k, d = metric.k, metric.d
    e = metric.E.shape[2]
    A = np.zeros((d + e, d + e))
    A[:d, :d] = np.eye(d) * (float(a.sum()) / k)
    if e:
        cross = np.einsum("k,kde->de", a, metric.E) / math.sqrt(k)
        A[:d, d:] = cross
        A[d:, :d] = cross.T
        A[d:, d:] = np.einsum("k,kde,kdf->ef", a, metric.E, metric.E)
    return A


def metric_group_coords(metric: Metric, Y, act):
    """``vec(Z_i^T y_i)`` for the groups ``act``: shape (s, m c)."""
    k = metric.k
    Ya = Y[act]  # (s, d, c)
    parts = [Ya / math.sqrt(k)]
    if metric.E.shape[2]:
        parts.append(np.einsum("kde,kdc->kec", metric.E[act], Ya))
    return np.concatenate(parts, axis=1).reshape(Ya.shape[0], metric.m * Y.shape[2])


def _prox(penalty, V, thresh):
    """The penalty's prox on (k, d, c) groups (its own shape convention: (k, d) for c = 1)."""
    if V.shape[2] == 1:
        return np.asarray(penalty.prox(V[:, :, 0], thresh))[:, :, None]
    return np.asarray(penalty.prox(V, thresh))


def _user(A, single: bool):
    return A[:, :, 0] if single else A


def _refined_gap(problem, maps, U, Z, G, F, single):
    """The gap at :func:`gatedrelu.problem.certificate.refined_dual`'s dual point (inf when it
    does not apply)."""
    y = problem.y
    pred = Z[:, 0] if single else Z
    theta0 = problem.datafit.dual_point(pred, y)
    better = refined_dual(problem.datafit, problem.penalty, problem.X, problem.M, y,
                          _user(U, single), pred, theta0, _user(G, single), float(problem.alpha),
                          lambda r: _user(maps.adjoint(np.asarray(r, maps.X.dtype).reshape(
                              maps.n, -1)), single))
    if better is None:
        return math.inf
    gap = F - float(dual_objective(problem.datafit, problem.penalty, better[0], better[1],
                                   np.asarray(y, np.float64), float(problem.alpha)))
    return max(gap, 0.0) if math.isfinite(gap) else math.inf


def run(problem: Problem, U0, tol, max_iter, lipschitz=None, metric_on: bool = True,
        refine: bool = True, verbose: int = 0, anderson_tail: bool = False):
    """Variable-metric FISTA on ``problem`` from ``U0``; returns
    ``(U, n_iter, L_b, status_code, F, gap)`` like :func:`gatedrelu.solvers.fista.run_numpy`.

    ``lipschitz``: a bulk step from an earlier solve (``L_b``); None estimates it.
    """
    X, y, datafit, penalty = problem.X, problem.y, problem.datafit, problem.penalty
    dt = X.dtype
    single = y.ndim == 1
    Y = y[:, None] if single else y
    c = Y.shape[1]
    alpha = dt.type(problem.alpha)
    eps, tiny = float(np.finfo(dt).eps), float(np.finfo(dt).tiny)
    maps = MaskedMaps(X, problem.M)
    U = np.array(U0, dt).reshape(maps.k, maps.d, c)

    def pred(Z):
        return Z[:, 0] if single else Z

    # products in the problem's dtype; objective and gap in float64 (float32 iterations,
    # float64 certificates)
    y64, a64 = np.asarray(y, np.float64), float(problem.alpha)

    def dual_point(Z):
        return np.asarray(datafit.dual_point(pred(Z), y), dt).reshape(-1, c)

    def objective(Z, U):
        return (float(datafit.value(pred(Z).astype(np.float64), y64))
                + a64 * float(penalty.value(_user(U, single).astype(np.float64))))

    # (a datafit whose dual has a domain, e.g. rows summing to zero, is evaluated in the dtype
    # its dual point was computed in)
    acc = np.dtype(np.float64) if datafit.affine_gradient else dt

    def dual_value(theta, G):
        return float(dual_objective(datafit, penalty, pred(theta).astype(acc),
                                    _user(G, single).astype(acc), y.astype(acc), acc.type(a64)))

    with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
        Z = maps.forward(U)
        use_metric = metric_on and hasattr(penalty, "prox_metric_terms")
        h = curvature(datafit, pred(Z), y)
        if use_metric:
            metric = build_metric(maps, h, c,
                                  centre=getattr(datafit, "centre", None))
        else:
            metric = Metric(maps.k, maps.d, np.zeros((maps.k, maps.d, 0), dt), None, dt)
        gamma = np.zeros((metric.m, c)) if not metric.empty else None
        if lipschitz is not None and lipschitz > 0:
            L = float(lipschitz)
        else:
            L = _bulk_estimate(maps, metric, h, c, dt)
        L = max(L, tiny)
        theta = dual_point(Z)
        G = maps.adjoint(theta)
        F = objective(Z, U)
        gap = F - dual_value(theta, G)
        tail = []  # (U, Z, G) of the tail's iterates, for Anderson extrapolation
        U_prev, Z_prev, G_prev = U, Z, G
        t, n_iter, stable, in_tail, last_refined = 1.0, 0, 0, False, math.inf
        if refine and refine_pays(gap, F, tol):  # a warm start
            last_refined = _refined_gap(problem, maps, U, Z, G, F, single)
            gap = min(gap, last_refined)
        best_gap, best_iter = gap, 0
        support = _support(U)
        status = 0 if np.isfinite(F) and np.isfinite(gap) else 3
        affine = datafit.affine_gradient
        while status == 0 and n_iter < max_iter and gap > tol * F:
            t_next = 0.5 * (1 + math.sqrt(1 + 4 * t * t))
            beta = dt.type((t - 1) / t_next)
            W = U + beta * (U - U_prev)
            ZW = Z + beta * (Z - Z_prev)
            GW = G + beta * (G - G_prev) if affine else maps.adjoint(dual_point(ZW))
            L_try = L if in_tail else L / _GROW  # the tail keeps its map fixed
            for k_bt in range(_MAX_BACKTRACK + 1):
                V = W + metric.inv(GW, L_try)
                U_new, g_new = _prox_metric(penalty, metric, V, float(alpha) / L_try, L_try,
                                            gamma, 1e-3 * math.sqrt(eps))
                Z_new = maps.forward(U_new)
                D = U_new - W
                breg = float(datafit.bregman(pred(Z_new), pred(ZW), y))
                qd = metric.dot(D, D, L_try)
                finite = math.isfinite(breg) and bool(np.all(np.isfinite(Z_new)))
                ok = finite and breg <= 0.5 * qd * (1 + 8 * eps) + tiny
                if ok or k_bt == _MAX_BACKTRACK:
                    break
                if finite:
                    dd = max(float(np.vdot(D, D)), tiny)
                    need = (2 * breg - (qd - L_try * dd)) / dd
                    L_try = max(L_try * _BACKTRACK, need)
                else:
                    L_try *= 1e10
            n_iter += 1
            theta_new = dual_point(Z_new)
            G_new = maps.adjoint(theta_new)
            F_new = objective(Z_new, U_new)
            gap_new = F_new - dual_value(theta_new, G_new)
            if not (math.isfinite(F_new) and math.isfinite(gap_new)):
                status = 3
            elif not ok:
                status = 4
            if status:
                break
            restart = metric.dot(W - U_new, U_new - U, L_try) > 0
            if L_try != L and in_tail:  # the map changed: the tail's history no longer fits
                tail = []
            U_prev, U, Z_prev, Z, G_prev, G = U, U_new, Z, Z_new, G, G_new
            gamma, F, gap, L = g_new, F_new, gap_new, L_try
            t = 1.0 if (restart or in_tail) else t_next
            # the support settles: proximal gradient at a fixed step, whose iterates follow a
            # linear recursion that Anderson extrapolation accelerates (primal and dual)
            new_support = _support(U)
            stable = stable + 1 if np.array_equal(new_support, support) else 0
            support = new_support
            if in_tail and stable == 0:
                in_tail, tail = False, []
            elif not in_tail and stable >= TAIL_STABLE and anderson_tail:
                in_tail, tail = True, []
                U_prev, Z_prev, G_prev = U, Z, G
            if in_tail:
                tail.append((U, Z, G))
                if len(tail) == ANDERSON + 1:
                    jump = _anderson(tail, datafit, penalty, alpha, y, pred, maps, affine,
                                     dual_point, objective, F)
                    tail = []
                    if jump is not None:
                        U, Z, G, F = jump
                        U_prev, Z_prev, G_prev = U, Z, G
                        theta = dual_point(Z)
                        gap = F - dual_value(theta, G)
            if (refine and refine_pays(gap, F, tol)
                    and (n_iter % REFINE_EVERY == 0 or last_refined <= 10 * tol * F)):
                last_refined = _refined_gap(problem, maps, U, Z, G, F, single)
                gap = min(gap, last_refined)
            if gap < 0.5 * best_gap:
                best_gap, best_iter = gap, n_iter
            elif dt == np.float32 and n_iter - best_iter >= STALL_ITERS:  # rounding limits it
                break
            if verbose > 1:
                print(f"[metric_fista] it {n_iter:5d} F {F:.12g} gap {gap:.3e} L_b {L:.3g} "
                      f"{'tail' if in_tail else ''}")
    if status == 0:
        status = 1 if gap <= tol * F else 2
    return _user(U, single), n_iter, L, status, float(F), float(gap)


def _support(U):
    return np.einsum("kdc,kdc->k", U, U) > 0


def _anderson(tail, datafit, penalty, alpha, y, pred, maps, affine, dual_point, objective, F):
    """Anderson extrapolation of the tail's iterates ``tail = [(U_j, Z_j, G_j)]``: the
    combination ``sum c_j U_j`` whose differences cancel best; returned as ``(U, Z, G, F)``
    when its objective is lower than ``F``, else None. ``Z`` and (for an affine gradient) ``G``
    are the same combination of the stored products; otherwise ``G`` costs one adjoint."""
    K = len(tail) - 1
    Dm = np.stack([(tail[j + 1][0] - tail[j][0]).ravel() for j in range(K)]).astype(np.float64)
    gram = Dm @ Dm.T
    try:
        w = np.linalg.solve(gram + 1e-14 * np.trace(gram) * np.eye(K), np.ones(K))
    except np.linalg.LinAlgError:
        return None
    if not np.all(np.isfinite(w)) or w.sum() == 0:
        return None
    w = w / w.sum()
    dt = tail[0][0].dtype
    U = sum(dt.type(wj) * tj[0] for wj, tj in zip(w, tail[1:]))
    Z = sum(dt.type(wj) * tj[1] for wj, tj in zip(w, tail[1:]))
    F_e = objective(Z, U)
    if not (math.isfinite(F_e) and F_e < F):
        return None
    if affine:
        G = sum(dt.type(wj) * tj[2] for wj, tj in zip(w, tail[1:]))
    else:
        G = maps.adjoint(dual_point(Z))
    return U, Z, G, F_e


def _bulk_estimate(maps: MaskedMaps, metric: Metric, h, c, dt):
    """Power iterations on the Hessian with the metric's directions projected out: a lower
    estimate of the bulk step (backtracking raises it where needed)."""
    rng = np.random.default_rng(0)
    V = rng.standard_normal((maps.k, maps.d, c)).astype(dt)
    hh = np.asarray(h, dt)[:, None]
    lam = 0.0
    for _ in range(POWER_ITERS):
        if not metric.empty:
            V = V - metric.z(metric.zt(V))
        nv = float(np.linalg.norm(V))
        if nv == 0:
            break
        V = V / nv
        HV = maps.adjoint(hh * maps.forward(V))
        lam = float(np.vdot(V, HV))
        V = HV
    return lam


def solve(problem: Problem, U0, tol, max_iter, lipschitz=None, verbose=0) -> SolverOutput:
    """Metric FISTA over every group."""
    U, n_iter, L, code, F, gap = run(problem, U0, tol, max_iter, lipschitz, verbose=verbose)
    if verbose:
        print(f"[metric_fista] {n_iter} iterations, F {F:.10g}, gap {gap:.3e}, {STATUS[code]}",
              flush=True)
    return SolverOutput(coef=U, n_iter=n_iter, status=STATUS[code], lipschitz=L)


def supports(problem: Problem):
    if problem.constraint is not None:
        return "metric_fista does not handle constraints"
    return None


SOLVER = Solver(
    name="metric_fista",
    solve=solve,
    supports=supports,
    default_max_iter=10_000,
    summary="FISTA in a metric that deflates the mean and ReLU modes of the design (numpy)",
    options=("verbose", "lipschitz"),
)
