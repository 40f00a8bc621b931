r"""The IRLS loop of :func:`gatedrelu.mkl.irls`: reweighting steps, their accelerated
candidates (projected Newton, Anderson) and the certificate of every iterate; and the checks and
set-up shared by the functions of :mod:`gatedrelu.mkl` (validated float64 problem, the kernel
ridge solver of a route, results cast back to the input dtype).

The mathematics is in :mod:`gatedrelu.mkl` and ``docs/math.md`` ("From the NTK to the optimal
kernel"); the kernel ridge solves come from :mod:`gatedrelu.linalg` (any route: the loop only
calls ``factor``, ``solve`` and ``newton_hessian``).
"""

from __future__ import annotations

import dataclasses
import time
import warnings
from dataclasses import dataclass
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import scipy.linalg
import scipy.optimize
from sklearn.exceptions import ConvergenceWarning

from ._validation import as_float_array, check_int, check_option, check_positive, check_targets
from .linalg import METHODS, choose_method, kernel_objective, make_ridge
from .operator import adjoint, group_norms
from .patterns import check_patterns
from .problem import GroupL2, Quadratic
from .problem.certificate import certify as _gl_certify

__all__ = ["MKLResult", "IRLSLoop"]  # and the problem checks and set-up shared with mkl.py

#: eps is kept below ``(EPS_GAP_FRACTION * gap / (alpha * P))^2``, so that the smoothing changes
#: the objective by at most this fraction of the current duality gap.
EPS_GAP_FRACTION = 0.1
#: Accelerated candidates may shrink a weight by at most this factor relative to the plain step
#: (and Anderson's may not grow it by more).
TRUST_RATIO = 10.0
#: Weights never fall below this fraction of the largest weight (no exact zeros, which the
#: multiplicative update could not revive).
WEIGHT_FLOOR = 1e-30
#: Newton candidates start once the relative gap is below NEWTON_GAP, on the kernels whose weight
#: is at least NEWTON_REL times the largest or whose constraint ``||X^T D_i a|| <= 1`` is violated,
#: if there are at most NEWTON_MAX_SIZE of them.
NEWTON_GAP = 1e-2
NEWTON_REL = 1e-3
NEWTON_MAX_SIZE = 500
#: IRLS stops (with a ConvergenceWarning) when the relative gap has not decreased by 10% in this
#: many iterations: the floor of what the kernel ridge solves can certify.
STALL_ITER = 100


@dataclass(frozen=True)
class MKLResult:
    """Iterates and solution of :func:`irls`.

    Row ``k`` of every history belongs to iteration ``k`` (``k = 0`` is the start): kernel
    weights ``eta_k``, the kernel ridge solution ``a_k`` for them and its group coefficients
    ``U_k = (eta_k,i X^T D_i a_k)_i``.

    Attributes
    ----------
    weights : ndarray of shape (P,)
        Final kernel weights ``eta`` (those that produced ``coef`` and ``dual_coef``).
    coef : ndarray of shape (P, d) or (P, d, c)
        Group-lasso coefficients ``u_i = eta_i X^T D_i a`` of the equivalent network.
    dual_coef : ndarray of shape (n,) or (n, c)
        Kernel ridge coefficients ``a = (K_eta + n alpha I)^{-1} y``.
    objective : float
        Group-lasso objective ``F(coef)``.
    dual_gap : float
        Absolute group-lasso duality gap at ``coef`` (bounds ``F(coef) - F*``).
    n_iter : int
        Number of reweighting steps done.
    converged : bool
        Whether ``dual_gap <= tol * objective``.
    objective_history : ndarray of shape (n_iter + 1,)
        ``F(U_k)``.
    kernel_objective_history : ndarray of shape (n_iter + 1,)
        ``J(eta_k)`` (``>= F*``; ``>= F(U_k)``).
    smoothed_objective_history : ndarray of shape (n_iter + 1,)
        ``J_eps_k(eta_k) = J(eta_k) + (alpha/2) eps_k sum_i 1/eta_k,i``: non-increasing.
    gap_history : ndarray of shape (n_iter + 1,)
        Duality gap at ``U_k``.
    eps_history : ndarray of shape (n_iter + 1,)
        Smoothing ``eps_k`` used in the update ``eta_{k+1} = sqrt(||u_k||^2 + eps_k)``.
    weights_history : ndarray of shape (n_iter + 1, P)
        ``eta_k``; row 0 is the start (``scale * shape``).
    scale : float
        Scale ``t`` of the start ``eta_0 = t mu`` (``sum(eta_0)``).
    alpha : float
    method : {"cholesky", "cg", "features"}
        Kernel ridge route used (:mod:`gatedrelu.linalg`).
    n_solves : int
        Kernel ridge solves done (``n_iter + 1`` plus the rejected extrapolations).
    """

    weights: np.ndarray
    coef: np.ndarray
    dual_coef: np.ndarray
    objective: float
    dual_gap: float
    n_iter: int
    converged: bool
    objective_history: np.ndarray
    kernel_objective_history: np.ndarray
    smoothed_objective_history: np.ndarray
    gap_history: np.ndarray
    eps_history: np.ndarray
    weights_history: np.ndarray
    scale: float
    alpha: float
    method: str
    n_solves: int = 0

    @property
    def relative_gap(self) -> float:
        """``dual_gap / objective`` (0 when both are 0)."""
        return self.dual_gap / self.objective if self.objective > 0 else 0.0

class _Iterate(NamedTuple):
    """One kernel-ridge solve and its certificate; arrays in numpy, shapes for y of shape (n,)."""

    eta: np.ndarray  # (P,) kernel weights
    factor: object  # Cholesky factor of K_eta + n alpha I, or None (CG)
    a: np.ndarray  # (n[, c]) dual coefficients
    AtA: np.ndarray  # (P, d[, c]) X^T D_i a
    U: np.ndarray  # (P, d[, c]) eta_i X^T D_i a
    norms: np.ndarray  # (P,) ||u_i||
    F: float  # F(U)
    gap: float  # duality gap at U
    J: float  # J(eta)


@jax.jit
def _certify(X, M, y, eta, a, alpha):
    """Everything IRLS needs from ``a``: ``X^T D_i a``, ``U``, group norms, ``F(U)``, gap, ``J``.

    ``F`` and the gap are the group-lasso certificate every solver reports
    (:func:`gatedrelu.problem.certificate.certify`).
    """
    AtA = adjoint(X, M, a)
    U = eta.reshape((-1,) + (1,) * (AtA.ndim - 1)) * AtA
    _, _, F, gap = _gl_certify(Quadratic(), GroupL2(), X, M, y, U, alpha)
    return AtA, U, group_norms(U), F, gap, kernel_objective(y, a, eta, alpha)


def _anderson(etas, targets):
    """Anderson (type II) extrapolation of the fixed-point map ``eta -> target`` from its history.

    ``etas``, ``targets``: lists of (P,) arrays, oldest first. Returns ``target_k - dG gamma``
    with ``gamma = argmin ||f_k - dF gamma||``, ``f = target - eta``.
    """
    G = np.stack(targets)
    R = G - np.stack(etas)
    gamma = np.linalg.lstsq(np.diff(R, axis=0).T, R[-1], rcond=None)[0]
    return G[-1] - np.diff(G, axis=0).T @ gamma


def _bounded_newton(H, g, x0):
    """``argmin_{x >= 0} g.(x - x0) + (x - x0)^T H (x - x0) / 2`` as a bounded least squares."""
    k = H.shape[0]
    H = H + (1e-13 * np.trace(H) / k + np.finfo(float).tiny) * np.eye(k)
    R = np.linalg.cholesky(H).T  # H = R^T R
    b = scipy.linalg.solve_triangular(R, H @ x0 - g, trans="T")
    return scipy.optimize.lsq_linear(R, b, bounds=(0, np.inf), tol=1e-12).x


class IRLSLoop:
    """The IRLS outer loop (plain Python around compiled products and dense factorisations)."""

    verbose = 0

    def __init__(self, X, M, y, alpha, ridge, eps0, eps_decay, anderson, newton):
        self.X, self.M, self.y, self.alpha = X, M, y, alpha
        self.ridge = ridge
        self.eps0, self.eps_decay = eps0, eps_decay
        self.anderson, self.newton = anderson, newton
        self.jargs = tuple(jnp.asarray(v) for v in (X, M, y)) + (jnp.asarray(alpha, X.dtype),)
        self.n_solves = 0

    def evaluate(self, eta, a0=None) -> _Iterate:
        factor = self.ridge.factor(eta)
        a = self.ridge.solve(eta, factor, self.y, a0)
        Xj, Mj, yj, alphaj = self.jargs
        out = _certify(Xj, Mj, yj, jnp.asarray(eta), jnp.asarray(a), alphaj)
        AtA, U, norms, F, gap, J = (np.asarray(v) for v in out)
        self.n_solves += 1
        return _Iterate(eta, factor, a, AtA, U, norms, float(F), max(float(gap), 0.0), float(J))

    def smoothed_J(self, it: _Iterate, eps: float) -> float:
        """``J_eps(eta) = J(eta) + (alpha/2) eps sum_i 1/eta_i``."""
        if eps == 0:
            return it.J
        with np.errstate(divide="ignore"):
            return it.J + 0.5 * self.alpha * eps * float(np.sum(1.0 / it.eta))

    def smoothed_F(self, it: _Iterate, eps: float) -> float:
        """``F_eps(U) = F(U) + alpha sum_i (sqrt(||u_i||^2 + eps) - ||u_i||)``."""
        return it.F + self.alpha * float(np.sum(np.sqrt(it.norms**2 + eps) - it.norms))

    def newton_candidate(self, it: _Iterate, plain: np.ndarray, base: np.ndarray):
        """``base`` with the weights of ``S`` replaced by the bounded Newton step."""
        P = it.eta.shape[0]
        s2 = np.sum(it.AtA.reshape(P, -1) ** 2, axis=1)  # ||X^T D_i a||^2
        S = np.flatnonzero((it.eta >= NEWTON_REL * it.eta.max()) | (s2 > 1))
        if S.size == 0 or S.size > NEWTON_MAX_SIZE:
            return None
        H = self.ridge.newton_hessian(it.eta, it.factor, it.AtA, S)  # Hessian of J / alpha
        g = 0.5 * (1.0 - s2[S])  # gradient of J / alpha
        try:
            x = _bounded_newton(H, g, it.eta[S])
        except (np.linalg.LinAlgError, ValueError):
            return None
        cand = base.copy()
        cand[S] = np.maximum(x, plain[S] / TRUST_RATIO)
        return cand

    def run(self, eta, scale, tol, max_iter) -> MKLResult:
        alpha, dt = self.alpha, self.X.dtype
        P = eta.shape[0]
        eps = self.eps0 * (float(eta.sum()) / P) ** 2 / self.eps_decay
        hist = {key: [] for key in ("F", "J", "Jeps", "gap", "eps", "eta")}
        memory_eta, memory_target = [], []
        start = time.perf_counter()
        it = self.evaluate(eta)
        k = 0
        best = np.inf, 0  # best relative gap and its iteration
        while True:
            eps = min(eps * self.eps_decay, (EPS_GAP_FRACTION * it.gap / (alpha * P)) ** 2)
            J_eps = self.smoothed_J(it, eps)
            for key, value in zip(hist, (it.F, it.J, J_eps, it.gap, eps, it.eta)):
                hist[key].append(value)
            converged = it.gap <= tol * it.F
            relative = it.gap / max(it.F, np.finfo(float).tiny)
            if relative < 0.9 * best[0]:
                best = relative, k
            stalled = k - best[1] >= STALL_ITER
            done = converged or k == max_iter or stalled
            if self.verbose and (self.verbose > 1 or k % 10 == 0 or done):
                print(f"[irls] iter {k:4d}  F {it.F:.10g}  rel gap {relative:.2e}  eps {eps:.1e}  "
                      f"{time.perf_counter() - start:.2f} s", flush=True)
            if done:
                break
            # Plain IRLS step: exact minimisation of G_eps(U_k, .), so J_eps(plain) <= F_eps(U_k).
            floor = WEIGHT_FLOOR * float(it.eta.max())
            plain = np.maximum(np.sqrt(it.norms**2 + eps), floor).astype(dt)
            F_eps = self.smoothed_F(it, eps)
            # Accelerated candidates, best first: Newton on the large weights over Anderson's
            # extrapolation of the others, then Anderson's alone.
            candidates = []
            base = plain
            if self.anderson > 0:
                memory_eta = (memory_eta + [it.eta])[-(self.anderson + 1) :]
                memory_target = (memory_target + [plain])[-(self.anderson + 1) :]
                if len(memory_eta) > 1:
                    base = _anderson(memory_eta, memory_target)
                    base = np.clip(base, plain / TRUST_RATIO, plain * TRUST_RATIO)
                    candidates.append(base)
            if self.newton and it.gap <= NEWTON_GAP * it.F:
                cand = self.newton_candidate(it, plain, base)
                if cand is not None:
                    candidates.insert(0, cand)
            new = None
            for cand in candidates:
                cand = np.maximum(cand, floor).astype(dt)
                trial = self.evaluate(cand, it.a)
                if self.smoothed_J(trial, eps) <= J_eps and self.smoothed_F(trial, eps) <= F_eps:
                    new = trial
                    break
                # Safeguard: restart the extrapolation.
                memory_eta, memory_target = memory_eta[-1:], memory_target[-1:]
            it = new if new is not None else self.evaluate(plain, it.a)
            k += 1
        if stalled and not converged:
            warnings.warn(
                f"IRLS stalled: the relative duality gap {relative:.3e} (tol={tol:.1e}) did not "
                f"decrease by 10% in {STALL_ITER} iterations. The kernel system "
                "K_eta + n alpha I is probably too ill-conditioned to certify tol in float64 "
                "(increase tol or alpha).",
                ConvergenceWarning,
                stacklevel=3,
            )
        elif not converged and max_iter > 0:
            warnings.warn(
                f"IRLS reached max_iter={max_iter} with duality gap {it.gap:.3e} (relative "
                f"{relative:.3e} > tol={tol:.1e}). Increase max_iter or tol.",
                ConvergenceWarning,
                stacklevel=3,
            )
        return MKLResult(
            weights=np.asarray(it.eta),
            coef=it.U,
            dual_coef=it.a,
            objective=it.F,
            dual_gap=it.gap,
            n_iter=k,
            converged=bool(converged),
            objective_history=np.asarray(hist["F"]),
            kernel_objective_history=np.asarray(hist["J"]),
            smoothed_objective_history=np.asarray(hist["Jeps"]),
            gap_history=np.asarray(hist["gap"]),
            eps_history=np.asarray(hist["eps"]),
            weights_history=np.stack(hist["eta"]),
            scale=float(scale),
            alpha=alpha,
            method=self.ridge.method,
            n_solves=self.n_solves,
        )


# --------------------------------------------------------------------------- problem checks and set-up


def _check_patterns(patterns, X: np.ndarray):
    masks = getattr(patterns, "masks", None)
    gates = getattr(patterns, "gates", None)
    if masks is None or gates is None:
        raise TypeError(
            "patterns must be an ActivationPatterns (from activation_patterns or "
            f"enumerate_patterns); got {type(patterns).__name__}."
        )
    masks = np.asarray(masks)
    if masks.ndim != 2 or masks.dtype != bool or masks.shape[0] != X.shape[0]:
        raise ValueError(
            f"patterns.masks must be a boolean array of shape (n_samples, n_patterns) with "
            f"n_samples = {X.shape[0]}; got dtype {masks.dtype} and shape {masks.shape}."
        )
    if masks.shape[1] == 0:
        raise ValueError("patterns is empty: at least one activation pattern is needed.")
    check_patterns(patterns, X)
    return patterns, np.ascontiguousarray(masks)


def _check_problem(X, y, patterns, alpha):
    """Validated float64 ``X``, ``y``, the patterns, their masks and ``alpha``.

    Everything is computed in float64: the n x n kernel system squares the conditioning of the
    problem, so float32 solves could not certify small duality gaps. Results are cast back to
    the input dtype by the callers.
    """
    X = as_float_array(X, "X")
    y = check_targets(y, X.shape[0], X.dtype)
    patterns, M = _check_patterns(patterns, X)
    return X.astype(np.float64), y.astype(np.float64), patterns, M, check_positive(alpha, "alpha")


def _check_weights(weights, P: int, dtype, name: str = "weights") -> np.ndarray:
    w = np.asarray(weights)
    if w.ndim != 1 or w.shape[0] != P:
        raise ValueError(f"{name} must have shape (n_patterns,) = ({P},); got {w.shape}.")
    w = as_float_array(w, name, ndim=1, dtype=dtype)
    if np.any(w < 0):
        raise ValueError(f"{name} must be nonnegative; got minimum {w.min()}.")
    return w


def _make_ridge(X, patterns, M, y, alpha, method, cholesky_max_n, cg_tol, cg_max_iter):
    """The kernel ridge solver of ``method`` (``"auto"``: :func:`gatedrelu.linalg.choose_method`)."""
    method = check_option(method, "method", METHODS)
    method = choose_method(method, X.shape[0], M.shape[1], X.shape[1],
                           check_int(cholesky_max_n, "cholesky_max_n"))
    return make_ridge(X, patterns, M, y, alpha, method, check_positive(cg_tol, "cg_tol"),
                      check_int(cg_max_iter, "cg_max_iter"))


def _cast(result: MKLResult, dtype) -> MKLResult:
    """``result`` with its arrays in ``dtype`` (the input's)."""
    if dtype == np.float64:
        return result
    return dataclasses.replace(
        result,
        **{
            name: getattr(result, name).astype(dtype)
            for name in ("weights", "coef", "dual_coef", "weights_history")
        },
    )
