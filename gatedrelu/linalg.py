r"""Kernel ridge with masking kernels, in the sample space or in the feature space, and the
1-D search for a kernel's optimal scale.

For kernel weights ``eta >= 0`` on the patterns (``docs/math.md``, "The MKL view"),
``K_eta = sum_i eta_i D_i X X^T D_i = Phi Phi^T`` with the features
``Phi = [sqrt(eta_1) D_1 X, ..., sqrt(eta_P) D_P X]`` of shape (n, P d). Kernel ridge needs

.. math::  a = (K_\eta + n\alpha I)^{-1} Y ,

and every route below returns this same ``a``:

* ``"cholesky"``: the dense ``n x n`` kernel, factorised (``O(n^2 P d + n^3)``);
* ``"cg"``: Jacobi-preconditioned conjugate gradients on the matrix-free product
  ``K_eta v = A(eta * A^T v)`` (``O(n d P)`` per product, nothing ``n x n`` is formed);
* ``"features"``: ridge regression in the ``P d`` feature space. With ``w`` the solution of
  ``(Phi^T Phi + n alpha I) w = Phi^T Y`` (a ``P d x P d`` system), ``a = (Y - Phi w) / (n alpha)``
  (push-through identity ``Phi^T (Phi Phi^T + n alpha I)^{-1} = (Phi^T Phi + n alpha I)^{-1}
  Phi^T``), so the group coefficients are ``u_i = eta_i X^T D_i a = sqrt(eta_i) w_i`` and
  predictions are exact. ``Phi^T Phi = S H S`` with ``S = diag(sqrt(eta)) (x) I_d`` and the Gram
  matrix ``H = Z^T Z`` of the unweighted masked features ``Z = [D_i X]_i``, formed once in row
  blocks (``O(n (P d)^2)``, memory ``O((P d)^2)``); each solve is then one ``P d x P d``
  Cholesky factorisation and two ``O(n d P)`` operator products, and nothing of size ``n x n``
  or ``n x P d`` is ever held.

:func:`choose_method` picks the route (``"auto"``): features when ``P d < n`` and
``P d <= FEATURES_MAX``, else Cholesky for ``n <= CHOLESKY_MAX_N``, else conjugate gradients.

The scale of a kernel shape ``mu`` (``sum(mu) = mass``) minimises the convex function
``t -> J(t mu) = (alpha/2) [tr Y^T (t K_mu + n alpha I)^{-1} Y + t mass]``. From the spectrum
``K_mu = V diag(lam) V^T`` its derivative is ``(alpha/2) [mass - sum_j q_j / (t lam_j +
n alpha)^2]`` with ``q_j = lam_j ||V_j^T Y||^2``; the nonzero eigenvalues of ``Phi Phi^T`` and
``Phi^T Phi = W diag(lam) W^T`` are the same and there ``q_j = ||W_j^T Phi^T Y||^2``, so the
feature route finds the same root from a ``P d x P d`` eigendecomposition.
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
import scipy.linalg
import scipy.optimize

from ._validation import as_float_array, check_positive, check_targets
from .kernels import masking_kernel
from .operator import adjoint, forward

__all__ = [
    "kernel_objective",
    "ridge_solve",
    "masked_gram",
    "optimal_scale",
    "scale_from_spectrum",
    "choose_method",
    "make_ridge",
    "KernelRidge",
    "FeatureRidge",
    "METHODS",
    "CHOLESKY_MAX_N",
    "FEATURES_MAX",
]

METHODS = ("auto", "cholesky", "cg", "features")
#: ``method="auto"`` factorises the n x n kernel up to this many samples (when the feature
#: route does not apply), and uses conjugate gradients on the matrix-free product beyond.
CHOLESKY_MAX_N = 3000
#: ``method="auto"`` solves in the feature space when ``P d < n`` and ``P d`` is at most this:
#: a ``P d x P d`` float64 matrix of 6000^2 is 288 MB, and a few of them are held.
FEATURES_MAX = 6000
#: Bytes of the row blocks of masked features used to form the Gram matrix.
GRAM_BLOCK_BYTES = 32 << 20
#: Iterative refinement steps of each feature-space solve (:meth:`FeatureRidge.solve`).
REFINE = 2


def kernel_objective(y, a, eta, alpha):
    """The MKL objective ``J(eta) = (alpha/2) [tr Y^T a + sum_i eta_i]`` from the kernel ridge
    solution ``a = (K_eta + n alpha I)^{-1} Y`` (numpy or JAX arrays; ``docs/math.md``)."""
    return 0.5 * alpha * ((y * a).sum() + eta.sum())


def ridge_solve(K, B, nalpha: float) -> np.ndarray:
    """``(K + nalpha I)^{-1} B`` by a dense Cholesky factorisation (``K`` is not modified).

    Parameters
    ----------
    K : ndarray of shape (n, n)
        Symmetric positive semidefinite kernel matrix.
    B : ndarray of shape (n,) or (n, k)
    nalpha : float
        The ridge ``n alpha`` (> 0).
    """
    A = np.array(K, dtype=np.result_type(K, B, np.float32), copy=True)
    A[np.diag_indices_from(A)] += nalpha
    return scipy.linalg.cho_solve(scipy.linalg.cho_factor(A, lower=True, overwrite_a=True), B)


def masked_gram(X, M) -> np.ndarray:
    """Gram matrix ``H = Z^T Z`` of the masked features ``Z = [D_1 X, ..., D_P X]`` (n, P d).

    Block ``(i, j)`` is ``X^T D_i D_j X``. Formed in row blocks of ``GRAM_BLOCK_BYTES``, so the
    memory is ``O((P d)^2)`` plus one block, whatever ``n``.

    Parameters
    ----------
    X : ndarray of shape (n, d)
    M : bool ndarray of shape (n, P)

    Returns
    -------
    H : ndarray of shape (P d, P d), dtype of ``X``
    """
    n, d = X.shape
    P = M.shape[1]
    H = np.zeros((P * d, P * d), dtype=X.dtype)
    rows = max(1, GRAM_BLOCK_BYTES // (X.itemsize * P * d))
    for start in range(0, n, rows):
        Xb, Mb = X[start : start + rows], M[start : start + rows]
        Z = (Mb[:, :, None] * Xb[:, None, :]).reshape(Xb.shape[0], P * d)
        H += Z.T @ Z  # numpy uses the symmetric rank-k update for Z.T @ Z
    return H


# --------------------------------------------------------------------------- the scale search


def _scale_bracket(yy: float, nalpha: float, mass: float):
    """``(t_lo, t_hi)`` with the minimiser of ``J(t mu)`` in ``[0, t_hi]``.

    The derivative of ``(2/alpha) J(t mu)`` is ``mass - sum_j q_j / (t lam_j + n alpha)^2 >=
    mass - ||Y||^2 / (4 t n alpha)`` (AM-GM), which is >= 0 at ``t_hi = ||Y||^2 / (4 n alpha
    mass)``.
    """
    t_hi = yy / (4 * nalpha * mass)
    return 1e-12 * t_hi, t_hi


def _root_in_log(slope, t_lo: float, t_hi: float) -> float:
    """Root of the non-decreasing ``slope(t)`` on ``[t_lo, t_hi]`` (``t_lo`` if slope >= 0 there)."""
    if slope(t_lo) >= 0:
        return t_lo
    if slope(t_hi) <= 0:
        return t_hi
    s = scipy.optimize.brentq(
        lambda s: slope(np.exp(s)), np.log(t_lo), np.log(t_hi), xtol=1e-12, rtol=1e-14
    )
    return float(np.exp(s))


def _scale_root(lam, q, yy: float, nalpha: float, mass: float) -> float:
    """``argmin_t J(t mu)`` from the spectrum ``lam`` of ``K_mu`` and ``q_j = lam_j ||V_j^T Y||^2``."""
    lam = np.maximum(lam, 0.0)

    def slope(t):
        return mass - float(np.sum(q / (t * lam + nalpha) ** 2))

    if yy == 0 or slope(0.0) >= 0:  # the minimum is at t = 0: the zero model
        return 0.0
    return _root_in_log(slope, *_scale_bracket(yy, nalpha, mass))


def optimal_scale(K, y, alpha, *, mass: float = 1.0) -> float:
    """Scale ``t > 0`` minimising ``(alpha/2) [tr Y^T (t K + n alpha I)^{-1} Y + t * mass]``.

    For ``K = K_mu`` with ``sum(mu) = mass`` this is ``argmin_t J(t mu)``; for the infinite-width
    NTK (a probability measure over gates) ``mass = 1``. The function is convex in ``t``; its
    derivative is computed exactly from one eigendecomposition of ``K`` and its root found by
    Brent's method in ``log t``.

    Parameters
    ----------
    K : array-like of shape (n_samples, n_samples)
        Symmetric positive semidefinite kernel matrix of the shape.
    y : array-like of shape (n_samples,) or (n_samples, n_outputs)
    alpha : float
    mass : float, default 1.0
        Total weight of the shape.

    Returns
    -------
    float
        The minimiser: exactly 0 when the derivative at ``t = 0`` is non-negative
        (``y^T K y <= mass (n alpha)^2``: ``y`` is better fitted by nothing than by this
        kernel, the zero model), a tiny positive ``t`` (``1e-12`` of the upper bound) when the
        minimiser is positive but below that; 0 if ``y`` is zero.
    """
    K = as_float_array(K, "K", dtype=np.float64)
    if K.shape[0] != K.shape[1]:
        raise ValueError(f"K must be square; got shape {K.shape}.")
    y = check_targets(y, K.shape[0], np.float64)
    alpha = check_positive(alpha, "alpha")
    mass = check_positive(mass, "mass")
    if not np.any(y):
        return 0.0
    lam, V = np.linalg.eigh(0.5 * (K + K.T))
    return scale_from_spectrum(lam, V, y, alpha, mass=mass)


def scale_from_spectrum(lam, V, y, alpha, *, mass: float = 1.0) -> float:
    """:func:`optimal_scale` from the eigendecomposition ``K = V diag(lam) V^T`` (reused
    over several ``alpha``); ``y`` of shape (n,) or (n, n_outputs), float64."""
    n = V.shape[0]
    if not np.any(y):
        return 0.0
    z2 = ((V.T @ y.reshape(n, -1)) ** 2).sum(axis=1)
    return _scale_root(lam, np.maximum(lam, 0.0) * z2, float(np.vdot(y, y)), n * alpha, mass)


# --------------------------------------------------------------------------- the routes


def choose_method(method: str, n: int, P: int, d: int, cholesky_max_n: int = CHOLESKY_MAX_N) -> str:
    """The route of ``method="auto"``: ``"features"`` if ``P d < n`` and ``P d <= FEATURES_MAX``,
    else ``"cholesky"`` if ``n <= cholesky_max_n``, else ``"cg"``; other methods are returned."""
    if method != "auto":
        return method
    if P * d < n and P * d <= FEATURES_MAX:
        return "features"
    return "cholesky" if n <= cholesky_max_n else "cg"


def make_ridge(X, patterns, M, y, alpha, method, cg_tol=1e-10, cg_max_iter=10_000):
    """The kernel ridge solver of a route (not ``"auto"``): float64 ``X`` (n, d), ``M`` (n, P)
    bool, ``y`` (n[, c])."""
    if method == "features":
        return FeatureRidge(X, M, y, alpha)
    return KernelRidge(X, patterns, M, y, alpha, method, cg_tol, cg_max_iter)


@partial(jax.jit, static_argnames=("maxiter",))
def _pcg(X, M, eta, b, x0, nalpha, rtol, maxiter):
    """Jacobi-preconditioned CG for ``(K_eta + n alpha I) x = b``, ``K_eta v = A diag(eta) A^T v``.

    ``b`` of shape (n,) or (n, k): the k systems share the operator and are solved as one system
    with the block-diagonal operator. Stops when ``||b - (K + n alpha I) x|| <= rtol ||b||``
    (Frobenius) or after ``maxiter`` iterations. Returns ``(x, n_iter)``.
    """

    def matvec(v):
        AtV = adjoint(X, M, v)
        return forward(X, M, eta.reshape((-1,) + (1,) * (AtV.ndim - 1)) * AtV) + nalpha * v

    # diag(K_eta)_k = ||x_k||^2 sum_i eta_i M_ki
    diag = jnp.sum(X * X, axis=1) * (M.astype(X.dtype) @ eta) + nalpha
    diag = diag.reshape((-1,) + (1,) * (b.ndim - 1))
    stop = (rtol * jnp.linalg.norm(b)) ** 2

    r0 = b - matvec(x0)
    z0 = r0 / diag

    def cond(state):
        _, r, _, _, _, k = state
        return (jnp.vdot(r, r) > stop) & (k < maxiter)

    def body(state):
        x, r, z, p, rz, k = state
        Ap = matvec(p)
        step = rz / jnp.vdot(p, Ap)
        x = x + step * p
        r = r - step * Ap
        z = r / diag
        rz_new = jnp.vdot(r, z)
        return x, r, z, z + (rz_new / rz) * p, rz_new, k + 1

    init = (x0, r0, z0, z0, jnp.vdot(r0, z0), jnp.asarray(0, jnp.int32))
    x, *_, k = jax.lax.while_loop(cond, body, init)
    return x, k


class KernelRidge:
    """``(K_eta + n alpha I)^{-1} B`` in the sample space: dense Cholesky or matrix-free CG.

    The interface shared with :class:`FeatureRidge`: ``factor(eta)`` once per weight vector,
    ``solve(eta, factor, B, x0)`` for any right-hand sides, ``scale(mu)`` (``argmin_t
    J(t mu)``) and ``newton_hessian(eta, factor, AtA, S)``.
    """

    def __init__(self, X, patterns, M, y, alpha, method, cg_tol, cg_max_iter):
        self.X, self.M, self.patterns, self.y, self.alpha = X, M, patterns, y, alpha
        self.nalpha = X.shape[0] * alpha
        self.method = method
        self.cg_tol, self.cg_max_iter = cg_tol, cg_max_iter
        self.cg_iters = 0
        if method == "cg":
            self.Xj, self.Mj = jnp.asarray(X), jnp.asarray(M)

    def factor(self, eta: np.ndarray):
        """Cholesky factor of ``K_eta + n alpha I`` (None for CG)."""
        if self.method == "cg":
            return None
        K = masking_kernel(self.X, self.patterns, eta)
        K[np.diag_indices_from(K)] += self.nalpha
        return scipy.linalg.cho_factor(K, lower=True, overwrite_a=True, check_finite=False)

    def solve(self, eta: np.ndarray, factor, b: np.ndarray, x0=None) -> np.ndarray:
        if factor is not None:
            return scipy.linalg.cho_solve(factor, b, check_finite=False)
        dt = self.X.dtype
        x0 = np.zeros_like(b) if x0 is None else x0
        n_cols = b.shape[1] if b.ndim == 2 else 0
        if n_cols > 1 and b is not self.y:
            # Pad blocks of right-hand sides to a power of two: fewer shapes to compile.
            width = 1 << (n_cols - 1).bit_length()
            b = np.pad(b, ((0, 0), (0, width - n_cols)))
            x0 = np.pad(x0, ((0, 0), (0, width - n_cols)))
        x, k = _pcg(
            self.Xj,
            self.Mj,
            jnp.asarray(eta, dt),
            jnp.asarray(b, dt),
            jnp.asarray(x0, dt),
            jnp.asarray(self.nalpha, dt),
            jnp.asarray(self.cg_tol, dt),
            self.cg_max_iter,
        )
        self.cg_iters += int(k)
        x = np.asarray(x)
        return x[:, :n_cols] if n_cols > 1 and x.shape[1] != n_cols else x

    def scale(self, mu: np.ndarray) -> float:
        """``argmin_t J(t mu)`` for a shape ``mu``."""
        mass = float(mu.sum())
        if not np.any(self.y):
            return 0.0
        if self.method == "cholesky":
            return optimal_scale(
                masking_kernel(self.X, self.patterns, mu), self.y, self.alpha, mass=mass
            )
        # Matrix-free: (2/alpha) dJ/dt = mass - a^T K_mu a, with K_mu a = (Y - n alpha a) / t;
        # at t = 0, a = Y / (n alpha) and a^T K_mu a = sum_i mu_i ||X^T D_i a||^2.
        a0 = np.asarray(adjoint(self.Xj, self.Mj, jnp.asarray(self.y / self.nalpha)))
        if mass - float(np.sum(mu * np.sum(a0.reshape(mu.size, -1) ** 2, axis=1))) >= 0:
            return 0.0
        last = {"a": None}

        def slope(t):
            a = self.solve(t * mu, None, self.y, last["a"])
            last["a"] = a
            return mass - float(np.vdot(a, self.y - self.nalpha * a)) / t

        return _root_in_log(slope, *_scale_bracket(float(np.vdot(self.y, self.y)),
                                                   self.nalpha, mass))

    def newton_hessian(self, eta, factor, AtA, S) -> np.ndarray:
        """``sum_c <K_s a_c, (K_eta + n alpha I)^{-1} K_t a_c>`` for ``s, t`` in ``S``: the
        Hessian of ``J / alpha`` on those weights (``AtA[i] = X^T D_i a``, (P, d[, c]))."""
        n, d = self.X.shape
        G = AtA[S].reshape(S.size, d, -1)
        # W[:, j] = K_i a = D_i X (X^T D_i a) for i = S[j], shape (n, |S|, c)
        W = self.M[:, S, None] * np.einsum("nd,sdc->nsc", self.X, G)
        CW = self.solve(eta, factor, W.reshape(n, -1)).reshape(W.shape)
        return np.einsum("nsc,ntc->st", W, CW)


class FeatureRidge:
    """``(K_eta + n alpha I)^{-1} B`` through the ``P d`` features (module docstring).

    ``factor(eta)`` factorises ``S H S + n alpha I`` (``S = diag(sqrt(eta)) (x) I_d``);
    ``solve`` returns ``a = (B - Phi w) / (n alpha)`` with ``w = (S H S + n alpha I)^{-1} S Z^T
    B``. Same interface as :class:`KernelRidge`.
    """

    method = "features"

    def __init__(self, X, M, y, alpha):
        self.X, self.M, self.y, self.alpha = X, M, y, alpha
        self.n, self.d = X.shape
        self.P = M.shape[1]
        self.nalpha = self.n * alpha
        self.H = masked_gram(X, M)

    def _sqrt_weights(self, eta) -> np.ndarray:
        return np.repeat(np.sqrt(np.maximum(np.asarray(eta, np.float64), 0.0)), self.d)

    def factor(self, eta: np.ndarray):
        s = self._sqrt_weights(eta)
        G = s[:, None] * self.H * s[None, :]
        G[np.diag_indices_from(G)] += self.nalpha
        return scipy.linalg.cho_factor(G, lower=True, overwrite_a=True, check_finite=False), s

    def _apply(self, factor, b):
        """``a = (b - Phi w) / (n alpha)``, ``w = (Phi^T Phi + n alpha I)^{-1} Phi^T b``; also
        one solve in the feature space."""
        cf, s = factor
        Ztb = np.asarray(adjoint(self.X, self.M, b)).reshape(self.P * self.d, -1)
        w = scipy.linalg.cho_solve(cf, s[:, None] * Ztb, check_finite=False)
        U = (s[:, None] * w).reshape((self.P, self.d) + b.shape[1:])
        return (b - np.asarray(forward(self.X, self.M, U))) / self.nalpha

    def _kernel_product(self, factor, a):
        """``(K_eta + n alpha I) a`` matrix-free: ``Phi (Phi^T a) + n alpha a``."""
        s = factor[1]
        AtA = np.asarray(adjoint(self.X, self.M, a)).reshape(self.P * self.d, -1)
        U = (s[:, None] ** 2 * AtA).reshape((self.P, self.d) + a.shape[1:])
        return np.asarray(forward(self.X, self.M, U)) + self.nalpha * a

    def solve(self, eta: np.ndarray, factor, b: np.ndarray, x0=None) -> np.ndarray:
        """``(K_eta + n alpha I)^{-1} b`` with ``REFINE`` steps of iterative refinement on the
        n-space residual: ``a = (b - Phi w) / (n alpha)`` loses about ``||b|| / ||b - Phi w||``
        digits when the fit is close (small ``alpha``); a refinement step costs two operator
        products and brings the error back to that of a backward-stable solve."""
        a = self._apply(factor, b)
        for _ in range(REFINE):
            a = a + self._apply(factor, b - self._kernel_product(factor, a))
        return a

    def scale(self, mu: np.ndarray) -> float:
        """``argmin_t J(t mu)`` from the ``P d x P d`` spectrum of ``Phi_mu^T Phi_mu``."""
        mass = float(mu.sum())
        if not np.any(self.y):
            return 0.0
        s = self._sqrt_weights(mu)
        lam, W = np.linalg.eigh(s[:, None] * self.H * s[None, :])
        Zty = np.asarray(adjoint(self.X, self.M, self.y)).reshape(self.P * self.d, -1)
        q = ((W.T @ (s[:, None] * Zty)) ** 2).sum(axis=1)
        return _scale_root(lam, q, float(np.vdot(self.y, self.y)), self.nalpha, mass)

    def newton_hessian(self, eta, factor, AtA, S) -> np.ndarray:
        """:meth:`KernelRidge.newton_hessian` from ``H``: with ``W_s = K_s a = D_s X g_s``,
        ``Phi^T W_s = S H[:, s] g_s`` and ``W_s^T W_t = g_s^T H_st g_t``, and ``(K + n alpha
        I)^{-1} = (I - Phi (Phi^T Phi + n alpha I)^{-1} Phi^T) / (n alpha)``."""
        cf, s = factor
        d, k = self.d, S.size
        G = AtA[S].reshape(k, d, -1)  # g_s, (|S|, d, c)
        cols = (S[:, None] * d + np.arange(d)).ravel()
        HS = self.H[:, cols].reshape(self.P * d, k, d)
        B = s[:, None, None] * np.einsum("psd,sdc->psc", HS, G)  # Phi^T W, (P d, |S|, c)
        HSS = HS[cols].reshape(k, d, k, d)
        WtW = np.einsum("sdc,sdte,tec->st", G, HSS, G)
        CB = scipy.linalg.cho_solve(cf, B.reshape(self.P * d, -1), check_finite=False)
        return (WtW - np.einsum("psc,ptc->st", B, CB.reshape(B.shape))) / self.nalpha
