r"""The matrix-free masked operator of the convex gated ReLU program.

For masks ``M`` (n, P) (``D_i = diag(M[:, i])``) and inputs ``X`` (n, d):

* forward  ``A(U) = sum_i D_i X u_i``: ``U`` (P, d) -> (n,), or ``U`` (P, d, c) -> (n, c);
* adjoint  ``A^T(r) = (X^T D_i r)_i``: ``r`` (n,) -> (P, d), or ``r`` (n, c) -> (P, d, c).

Both cost one ``n x d x P (x c)`` matrix product. The ``n x (P d)`` design ``[D_1 X, ..., D_P X]``
is never formed: masks stay boolean and are applied with ``where`` inside the product's epilogue,
which XLA fuses with the reduction over patterns. All arrays carry the pattern axis ``P`` first or
last, so sharding ``M`` along its columns and ``U`` along its rows distributes the work across
devices; the only communication is the sum over patterns in the forward map.

These functions are pure and traceable; call them inside ``jax.jit``. Called with numpy arrays
only, ``forward``, ``adjoint`` and ``group_norms`` compute with numpy instead (no compilation:
small problems certified many times, as in cross-validation, would otherwise compile once per
shape).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

__all__ = [
    "xp_of",
    "forward",
    "adjoint",
    "group_norms",
    "lipschitz_bound",
    "power_lipschitz",
]


def xp_of(*arrays):
    """numpy when every argument is a numpy array or scalar, else ``jax.numpy``."""
    if all(isinstance(a, (np.ndarray, np.generic, float, int)) for a in arrays):
        return np
    return jnp


def forward(X, M, U):
    """``A(U) = sum_i D_i X u_i``.

    Parameters
    ----------
    X : array of shape (n, d)
    M : bool array of shape (n, P)
    U : array of shape (P, d) or (P, d, c)

    Returns
    -------
    array of shape (n,) or (n, c)
    """
    xp = xp_of(X, M, U)
    if U.ndim == 2:
        # numpy: a contiguous right factor (OpenBLAS can take 100x longer on a transposed one
        # when its threads compete for the cores)
        XU = X @ (np.ascontiguousarray(U.T) if xp is np else U.T)  # (n, P)
        return xp.sum(xp.where(M, XU, 0), axis=1)
    P, d, c = U.shape
    XU = (X @ xp.transpose(U, (1, 0, 2)).reshape(d, P * c)).reshape(-1, P, c)
    return xp.sum(xp.where(M[:, :, None], XU, 0), axis=1)


def adjoint(X, M, r):
    """``A^T(r) = (X^T D_i r)_i``.

    Parameters
    ----------
    X : array of shape (n, d)
    M : bool array of shape (n, P)
    r : array of shape (n,) or (n, c)

    Returns
    -------
    array of shape (P, d) or (P, d, c)
    """
    xp = xp_of(X, M, r)
    if r.ndim == 1:
        return xp.where(M, r[:, None], 0).T @ X
    n, c = r.shape
    P = M.shape[1]
    W = xp.where(M[:, :, None], r[:, None, :], 0).reshape(n, P * c)
    return xp.transpose((W.T @ X).reshape(P, c, -1), (0, 2, 1))


def group_norms(U):
    """Euclidean (Frobenius for (P, d, c)) norm of each group: shape (P,)."""
    xp = xp_of(U)
    sq = xp.sum(U * U, axis=tuple(range(1, U.ndim)))
    # Guarded square root: finite gradient at zero.
    safe = xp.where(sq > 0, sq, 1)
    return xp.where(sq > 0, xp.sqrt(safe), 0)


def lipschitz_bound(X, M):
    """Certified upper bound on the Lipschitz constant ``||A||^2 / n`` of the smooth part.

    ``A A^T = (X X^T) * (M M^T)`` (Schur product of PSD matrices), so by Schur's bound
    ``||A||^2 <= max_k (M M^T)_kk * ||X||_2^2 = max_k |{i: M_ki}| * ||X||_2^2``.
    """
    n = X.shape[0]
    xnorm2 = jnp.linalg.eigvalsh(X.T @ X)[-1]
    return jnp.max(jnp.sum(M, axis=1)).astype(X.dtype) * xnorm2 / n


def power_lipschitz(X, M, n_iter: int = 30):
    """Power-iteration estimate of ``||A||^2 / n`` (a lower bound that converges from below)."""
    n = X.shape[0]
    v0 = jnp.ones(n, X.dtype) + 0.1 * jnp.cos(jnp.arange(n, dtype=X.dtype))

    def body(_, v):
        w = forward(X, M, adjoint(X, M, v))
        return w / jnp.maximum(jnp.linalg.norm(w), jnp.finfo(X.dtype).tiny)

    v = jax.lax.fori_loop(0, n_iter, body, v0 / jnp.linalg.norm(v0))
    g = adjoint(X, M, v)
    return jnp.sum(g * g) / n
