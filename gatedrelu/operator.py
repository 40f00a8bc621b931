r"""The matrix-free masked operator of the convex gated ReLU program.

For masks ``M`` (n, P) (``D_i = diag(M[:, i])``) and inputs ``X`` (n, d):

* forward  ``A(U) = sum_i D_i X u_i``: ``U`` (P, d) -> (n,), or ``U`` (P, d, c) -> (n, c);
* adjoint  ``A^T(r) = (X^T D_i r)_i``: ``r`` (n,) -> (P, d), or ``r`` (n, c) -> (P, d, c).

Both cost one ``n x d x P (x c)`` matrix product. The ``n x (P d)`` design ``[D_1 X, ..., D_P X]``
is never formed (``docs/math.md``, "The blocked, bit-packed operator"):

* **Masks** are boolean ``(n, P)``, or bit-packed along the samples: ``uint8`` of shape
  ``(ceil(n / 8), P)``, bit ``j`` (little-endian) of byte ``k`` being row ``8 k + j``
  (:func:`pack_masks`). The pattern axis stays the last one in both layouts, so gathering,
  padding and sharding patterns work the same way.
* **Row blocks.** The rows are processed in blocks of ``B`` (a multiple of 8): each block's masks
  are unpacked, applied with ``where`` to the block's ``X_b U^T`` and reduced, so the
  temporaries are ``B x P (x c)``, not ``n x P``. ``B`` is chosen from the device memory
  (:func:`block_rows`) and can be set (:func:`set_block_size`); a problem that fits one block
  runs the unblocked formula. The blocking depends only on ``(n, P, c, dtype)``, never on the
  mask layout, so packed and boolean masks give bit-identical results.
* **Devices.** Inside :func:`sharded` (a mesh with axes ``("samples", "patterns")``), forward and
  adjoint run per device on its rows and patterns (``shard_map``); the forward map sums over the
  ``patterns`` axis and the adjoint over the ``samples`` axis.

These functions are pure and traceable; call them inside ``jax.jit``. Called with numpy arrays
only, ``forward``, ``adjoint`` and ``group_norms`` compute with numpy instead (no compilation:
small problems certified many times, as in cross-validation, would otherwise compile once per
shape).
"""

from __future__ import annotations

import contextlib
import numbers

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
    "pack_masks",
    "unpack_masks",
    "mask_row_blocks",
    "is_packed",
    "mask_columns",
    "mask_column_sums",
    "block_rows",
    "set_block_size",
    "check_block_size",
    "sharded",
    "use_packed",
]

#: Bytes of block temporaries per device when the device does not report its memory (CPU).
#: Blocks that stay near the cache are faster than large ones: in a sweep at n 200,000, d 100,
#: 2,000 gates, blocks of 256 to 512 rows took 7 to 9 % less per FISTA iteration than the
#: 1,968 rows of a 64 MiB budget on one core, and 488 rows (16 MiB) 19 % less on two;
#: ``benchmarks/results/scale.md`` has the committed before/after figures.
CPU_BLOCK_BYTES = 16 * 2**20
#: Fraction of an accelerator's memory (``memory_stats()["bytes_limit"]``) given to the block
#: temporaries.
DEVICE_BLOCK_FRACTION = 1 / 16
#: Solves (``solve_group_lasso``) pass bit-packed masks to the solvers when the problem has at
#: least this many samples and ``n * P`` entries (below that, boolean masks are small and the
#: numpy fast path is quicker without unpacking).
PACK_MIN_SAMPLES = 8192
PACK_MIN_ENTRIES = 2**25

_BLOCK_SIZE = None  # set_block_size's override
_MESH = None  # the mesh of ``sharded``


def xp_of(*arrays):
    """numpy when every argument is a numpy array or scalar, else ``jax.numpy``."""
    if all(isinstance(a, (np.ndarray, np.generic, float, int)) for a in arrays):
        return np
    return jnp


# --------------------------------------------------------------------------- mask layouts


def is_packed(M) -> bool:
    """Whether ``M`` holds bit-packed masks (``uint8``, see :func:`pack_masks`)."""
    return M.dtype == np.uint8


def pack_masks(M) -> np.ndarray:
    """Boolean masks (n, P) -> bit-packed ``uint8`` (ceil(n / 8), P), little-endian along rows."""
    M = np.asarray(M)
    if M.ndim != 2 or M.dtype != bool:
        raise ValueError(f"masks must be a boolean array of shape (n, P); got {M.dtype} {M.shape}.")
    return np.packbits(M, axis=0, bitorder="little")


def unpack_masks(M, n: int) -> np.ndarray:
    """Masks as a boolean (n, P) array (``M`` packed or already boolean)."""
    M = np.asarray(M)
    if not is_packed(M):
        return M
    return np.unpackbits(M, axis=0, count=n, bitorder="little").view(bool)


def mask_columns(M, index, n: int) -> np.ndarray:
    """Boolean masks of the patterns ``index``, shape (n, len(index))."""
    return unpack_masks(np.asarray(M)[:, index], n)


def mask_row_blocks(M, n: int, block: int):
    """Yield ``(start, Mb)``: the boolean masks (rows, P) of rows ``start:start+rows`` in blocks
    of ``block`` rows (rounded down to a multiple of 8, at least 8), for boolean or packed ``M``."""
    block = max(8, int(block) // 8 * 8)
    for s in range(0, n, block):
        e = min(s + block, n)
        yield s, (M[s:e] if not is_packed(M) else unpack_masks(M[s // 8:(e + 7) // 8], e - s))


def mask_column_sums(M, w, block: int | None = None) -> np.ndarray:
    """``M^T w`` (shape (P,), float64) for boolean or packed masks, ``w`` of shape (n,).

    Rows go in blocks of ``block`` (a multiple of 8; default: ``CPU_BLOCK_BYTES`` of the float
    copy that the product makes of a boolean block: 65,536 rows of 2,000 patterns were 1 GiB)."""
    w = np.asarray(w, np.float64)
    n = w.shape[0]
    if block is None:
        block = CPU_BLOCK_BYTES // (8 * max(1, M.shape[1]))
    out = np.zeros(M.shape[1])
    for s, Mb in mask_row_blocks(M, n, block):
        out += w[s:s + Mb.shape[0]] @ Mb
    return out


def _jnp_unpack(Mb, rows: int):
    """Packed block (ceil(rows / 8), P) -> boolean (rows, P), traced."""
    shifts = jnp.arange(8, dtype=jnp.uint8)[None, :, None]
    bits = (Mb[:, None, :] >> shifts) & jnp.uint8(1)
    return bits.reshape(-1, Mb.shape[1])[:rows].astype(bool)


def _rows(M, start, rows: int, xp, dynamic: bool = False):
    """Boolean masks of rows ``start:start+rows`` (``start`` a multiple of 8)."""
    if xp is np:
        if not is_packed(M):
            return M[start:start + rows]
        return unpack_masks(M[start // 8:(start + rows + 7) // 8], rows)
    if not is_packed(M):
        if dynamic:
            return jax.lax.dynamic_slice_in_dim(M, start, rows, 0)
        return M[start:start + rows]
    nbytes = (rows + 7) // 8
    if dynamic:
        return _jnp_unpack(jax.lax.dynamic_slice_in_dim(M, start // 8, nbytes, 0), rows)
    return _jnp_unpack(M[start // 8:start // 8 + nbytes], rows)


# --------------------------------------------------------------------------- block size


def check_block_size(block_size) -> int:
    """A positive integer, or a ValueError that says what was given."""
    if (isinstance(block_size, (bool, np.bool_)) or not isinstance(block_size, numbers.Integral)
            or block_size < 1):
        raise ValueError(
            f"block_size must be a positive integer (rows per block), got {block_size!r}."
        )
    return int(block_size)


def set_block_size(block_size=None) -> None:
    """Rows per block of the operator (rounded up to a multiple of 8); ``None``: automatic.

    Compiled functions traced before the change are dropped (``jax.clear_caches``), so that the
    next solve is traced with the new size.
    """
    global _BLOCK_SIZE
    _BLOCK_SIZE = None if block_size is None else check_block_size(block_size)
    jax.clear_caches()


def _block_budget() -> int:
    try:
        stats = jax.devices()[0].memory_stats()
    except Exception:  # pragma: no cover - backends without memory statistics
        stats = None
    if stats and stats.get("bytes_limit"):
        return int(stats["bytes_limit"] * DEVICE_BLOCK_FRACTION)
    return CPU_BLOCK_BYTES


def block_rows(n: int, P: int, c: int = 1, itemsize: int = 8, block_size=None) -> int:
    """Rows per block: ``block_size`` (or :func:`set_block_size`'s) rounded up to a multiple of
    8, else the largest multiple of 8 whose ``B x P x c`` temporaries (the product, its masked
    copy and the boolean masks) fit the device's budget; ``n`` when one block holds every row."""
    if block_size is None:
        block_size = _BLOCK_SIZE
    if block_size is not None:
        B = -(-check_block_size(block_size) // 8) * 8
    else:
        per_row = max(1, P * c * (2 * itemsize + 1))
        B = max(8, (_block_budget() // per_row) // 8 * 8)
    return n if B >= n else B


# --------------------------------------------------------------------------- dense kernels


def _forward_dense(X, M, U, xp):
    if U.ndim == 2:
        # numpy: a contiguous right factor (OpenBLAS can take 100x longer on a transposed one
        # when its threads compete for the cores)
        XU = X @ (np.ascontiguousarray(U.T) if xp is np else U.T)  # (n, P)
        return xp.sum(xp.where(M, XU, 0), axis=1)
    P, d, c = U.shape
    XU = (X @ xp.transpose(U, (1, 0, 2)).reshape(d, P * c)).reshape(-1, P, c)
    return xp.sum(xp.where(M[:, :, None], XU, 0), axis=1)


def _adjoint_dense(X, M, r, xp):
    if r.ndim == 1:
        return xp.where(M, r[:, None], 0).T @ X
    n, c = r.shape
    P = M.shape[1]
    W = xp.where(M[:, :, None], r[:, None, :], 0).reshape(n, P * c)
    return xp.transpose((W.T @ X).reshape(P, c, -1), (0, 2, 1))


# --------------------------------------------------------------------------- blocked maps


def _forward_local(X, M, U, block_size=None):
    xp = xp_of(X, M, U)
    n = X.shape[0]
    c = 1 if U.ndim == 2 else U.shape[2]
    B = block_rows(n, M.shape[1], c, X.dtype.itemsize, block_size)
    if B >= n:
        return _forward_dense(X, _rows(M, 0, n, xp), U, xp)
    nfull, rem = divmod(n, B)
    if xp is np:
        out = np.empty((n,) + U.shape[2:], np.result_type(X, U))
        for s in range(0, n, B):
            e = min(s + B, n)
            out[s:e] = _forward_dense(X[s:e], _rows(M, s, e - s, np), U, np)
        return out

    def body(_, j):
        s = j * B
        Xb = jax.lax.dynamic_slice_in_dim(X, s, B, 0)
        return None, _forward_dense(Xb, _rows(M, s, B, jnp, dynamic=True), U, jnp)

    _, out = jax.lax.scan(body, None, jnp.arange(nfull))
    out = out.reshape((nfull * B,) + out.shape[2:])
    if rem:
        s = nfull * B
        out = jnp.concatenate([out, _forward_dense(X[s:], _rows(M, s, rem, jnp), U, jnp)])
    return out


def _adjoint_local(X, M, r, block_size=None):
    xp = xp_of(X, M, r)
    n = X.shape[0]
    c = 1 if r.ndim == 1 else r.shape[1]
    B = block_rows(n, M.shape[1], c, X.dtype.itemsize, block_size)
    if B >= n:
        return _adjoint_dense(X, _rows(M, 0, n, xp), r, xp)
    nfull, rem = divmod(n, B)
    if xp is np:
        acc = None
        for s in range(0, n, B):
            e = min(s + B, n)
            g = _adjoint_dense(X[s:e], _rows(M, s, e - s, np), r[s:e], np)
            acc = g if acc is None else acc + g
        return acc

    def body(acc, j):
        s = j * B
        Xb = jax.lax.dynamic_slice_in_dim(X, s, B, 0)
        rb = jax.lax.dynamic_slice_in_dim(r, s, B, 0)
        return acc + _adjoint_dense(Xb, _rows(M, s, B, jnp, dynamic=True), rb, jnp), None

    shape = (M.shape[1], X.shape[1]) + r.shape[1:]
    acc0 = jnp.zeros(shape, jnp.result_type(X, r))
    acc, _ = jax.lax.scan(body, acc0, jnp.arange(nfull))
    if rem:
        s = nfull * B
        acc = acc + _adjoint_dense(X[s:], _rows(M, s, rem, jnp), r[s:], jnp)
    return acc


# --------------------------------------------------------------------------- devices


@contextlib.contextmanager
def sharded(mesh):
    """Within this context, traced forward and adjoint maps run per device of ``mesh`` (axes
    ``("samples", "patterns")``): ``X``, ``y`` and the rows of ``M`` split over ``samples``,
    ``U`` and the columns of ``M`` over ``patterns``. ``None``: no change."""
    global _MESH
    if mesh is None:
        yield
        return
    if tuple(mesh.axis_names) != ("samples", "patterns"):
        raise ValueError(f"the mesh must have axes ('samples', 'patterns'); got {mesh.axis_names}.")
    prev, _MESH = _MESH, mesh
    try:
        yield
    finally:
        _MESH = prev


def _specs(ndim_u):
    from jax.sharding import PartitionSpec as PS

    extra = (None,) * (ndim_u - 1)
    return PS("samples", None), PS("samples", "patterns"), PS("patterns", *extra), extra


def _forward_sharded(X, M, U, block_size):
    from jax import shard_map
    from jax.sharding import PartitionSpec as PS

    sx, sm, su, extra = _specs(U.ndim)

    def local(Xl, Ml, Ul):
        return jax.lax.psum(_forward_local(Xl, Ml, Ul, block_size), "patterns")

    return shard_map(local, mesh=_MESH, in_specs=(sx, sm, su),
                     out_specs=PS("samples", *extra[1:]))(X, M, U)


def _adjoint_sharded(X, M, r, block_size):
    from jax import shard_map
    from jax.sharding import PartitionSpec as PS

    sx, sm, su, extra = _specs(r.ndim + 1)

    def local(Xl, Ml, rl):
        return jax.lax.psum(_adjoint_local(Xl, Ml, rl, block_size), "samples")

    return shard_map(local, mesh=_MESH, in_specs=(sx, sm, PS("samples", *extra[1:])),
                     out_specs=su)(X, M, r)


# --------------------------------------------------------------------------- public maps


def forward(X, M, U, *, block_size=None):
    """``A(U) = sum_i D_i X u_i``.

    Parameters
    ----------
    X : array of shape (n, d)
    M : bool array of shape (n, P), or packed uint8 of shape (ceil(n / 8), P)
    U : array of shape (P, d) or (P, d, c)
    block_size : int, optional
        Rows per block (default: :func:`block_rows`).

    Returns
    -------
    array of shape (n,) or (n, c)
    """
    if _MESH is not None and xp_of(X, M, U) is jnp:
        return _forward_sharded(X, M, U, block_size)
    return _forward_local(X, M, U, block_size)


def adjoint(X, M, r, *, block_size=None):
    """``A^T(r) = (X^T D_i r)_i``.

    Parameters
    ----------
    X : array of shape (n, d)
    M : bool array of shape (n, P), or packed uint8 of shape (ceil(n / 8), P)
    r : array of shape (n,) or (n, c)
    block_size : int, optional
        Rows per block (default: :func:`block_rows`).

    Returns
    -------
    array of shape (P, d) or (P, d, c)
    """
    if _MESH is not None and xp_of(X, M, r) is jnp:
        return _adjoint_sharded(X, M, r, block_size)
    return _adjoint_local(X, M, r, block_size)


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
    # active patterns per row: the forward map of ones (blocked, any mask layout)
    ones = jnp.ones((n, 1), X.dtype)
    per_row = forward(ones, M, jnp.ones((M.shape[1], 1), X.dtype))
    return jnp.max(per_row) * xnorm2 / n


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


def use_packed(patterns, n_samples: int) -> bool:
    """Whether solves pass ``patterns.packed_masks`` to the solvers: an ActivationPatterns with at
    least ``PACK_MIN_SAMPLES`` samples and ``PACK_MIN_ENTRIES`` mask entries, computed on
    ``n_samples`` rows (smaller problems keep boolean masks and the numpy fast path)."""
    n = getattr(patterns, "n_samples", None)
    return (n == n_samples and hasattr(patterns, "packed_masks") and n >= PACK_MIN_SAMPLES
            and n * patterns.n_patterns >= PACK_MIN_ENTRIES)
