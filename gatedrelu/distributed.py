r"""Solves that span several devices, processes and hosts (``docs/guide/scaling.md``).

The group lasso's arrays are laid out on a 2-D device mesh with axes ``("samples", "patterns")``
(:func:`make_mesh`): the rows of ``X``, ``y`` and the masks are split over ``samples``, the
groups ``U`` and the mask columns over ``patterns``. The forward map ``sum_i D_i X u_i`` is
computed per device on its rows and patterns and summed over ``patterns``; the adjoint
``X^T D_i r`` is summed over ``samples`` (:mod:`gatedrelu.operator`). JAX's distributed runtime
does the rest: after ``jax.distributed.initialize`` every process sees every device, and
:func:`solve_distributed` runs the compiled FISTA loop of :mod:`gatedrelu.solvers.fista` on
global arrays built from each process's own rows, so no host holds all of ``X``.

Each process passes the masks of *its* rows, ``gate_masks(X_local, gates)`` (or
:func:`local_masks`) with the same gates everywhere: the patterns are those of the gates
(duplicated patterns are allowed; they do not change the optimal value).
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from ._validation import as_float_array, check_int, check_positive, check_targets
from .operator import pack_masks
from .patterns import gate_masks
from .solvers._sharding import check_devices, make_mesh

__all__ = ["make_mesh", "local_masks", "solve_distributed", "DistributedResult"]


def local_masks(X_local, gates, *, packed: bool = True) -> np.ndarray:
    """Masks ``1[X_local gates >= 0]`` of this process's rows: bit-packed (``uint8``,
    (ceil(n_local / 8), m)) unless ``packed=False`` or ``n_local`` is not a multiple of 8."""
    M = gate_masks(X_local, gates)
    return pack_masks(M) if packed and M.shape[0] % 8 == 0 else M


class DistributedResult(dict):
    """``coef`` (P, d[, c]) (the same on every process), ``objective``, ``dual_gap`` (certified,
    ``docs/math.md``), ``relative_gap``, ``n_iter``, ``converged``, ``status``, ``lipschitz``
    (None when data far from unit scale make it unrepresentable); keys, also readable as
    attributes."""

    __getattr__ = dict.__getitem__


def _exchange_shapes(X, M, y, y_error=None):
    """Every process's ``(n_local, d, P, c, packed, itemsize)``; a ValueError naming the
    processes whose data disagree with process 0, or whose targets are invalid (``y_error``, the
    message of this process's own), raised on every process, so none waits."""
    import jax
    from jax.experimental import multihost_utils

    c = 0 if y.ndim == 1 else y.shape[1]
    n = X.shape[0]
    packed = int(M.dtype == np.uint8)
    P = M.shape[1]
    mine = np.array([n, X.shape[1], P, c, packed, X.dtype.itemsize, y_error is None], np.int64)
    if jax.process_count() == 1:
        if y_error is not None:
            raise ValueError(y_error)
        return mine[None, :-1]
    table = np.asarray(multihost_utils.process_allgather(mine)).reshape(jax.process_count(), -1)
    if y_error is not None:
        raise ValueError(f"process {jax.process_index()}: {y_error}")
    invalid = [pid for pid, row in enumerate(table) if not row[-1]]
    if invalid:
        raise ValueError(f"the targets of process(es) {', '.join(map(str, invalid))} are "
                         "invalid (each of them raised the reason).")
    table = table[:, :-1]
    names = ("n_samples", "n_features", "n_patterns", "n_outputs", "packed masks", "itemsize")
    bad = []
    for pid, row in enumerate(table):
        diff = [f"{names[k]} {row[k]} (process 0: {table[0][k]})" for k in range(len(names))
                if row[k] != table[0][k]]
        if diff:
            bad.append(f"process {pid}: " + ", ".join(diff))
    if bad:
        raise ValueError(
            "the processes hold data of different shapes; every process must pass the same number "
            "of rows, features, patterns (masks of the same gates) and outputs, in the same dtype: "
            + "; ".join(bad) + "."
        )
    return table


def solve_distributed(X_local, y_local, masks_local, alpha, *, mesh=None, tol: float = 1e-6,
                      max_iter: int = 10_000, lipschitz: float | None = None,
                      loss: str = "squared", penalty="group_l2") -> DistributedResult:
    """Solve (GL) on data split over processes by rows, with plain FISTA (one compiled loop).

    Parameters
    ----------
    X_local : array of shape (n_local, d)
        This process's rows; every process passes the same ``n_local`` (the global problem has
        ``n = n_local * jax.process_count()`` rows, in process order).
    y_local : array of shape (n_local,) or (n_local, c)
    masks_local : bool array (n_local, P) or packed uint8 (n_local / 8, P)
        The masks of this process's rows (:func:`local_masks`), for the same gates everywhere.
    alpha : float
    mesh : Mesh, device list, "all" or None
        Default: :func:`make_mesh` with ``(jax.process_count(), devices per process)``: each
        process's rows on its own devices, which split the patterns.
    tol, max_iter, lipschitz, loss, penalty : as in :func:`gatedrelu.solve_group_lasso`

    Returns
    -------
    DistributedResult
        The same on every process. Data far from unit scale are solved exactly rescaled by
        powers of two (:mod:`gatedrelu.problem.scaling`, from the RMS over all processes), as
        :func:`gatedrelu.solve_group_lasso` does.

    Raises
    ------
    ValueError
        Non-finite ``X_local`` or ``y_local``, shapes that disagree (naming the process).

    Warns
    -----
    ConvergenceWarning
        When the certified relative gap is above ``tol`` at the end (the message gives it).
    """
    import jax
    import jax.numpy as jnp
    from jax.experimental import multihost_utils
    from jax.sharding import NamedSharding, PartitionSpec as PS

    from .operator import sharded
    from .problem import get_datafit, make_penalty
    from .solvers.fista import STATUS, fista_run

    X = as_float_array(X_local, "X_local")
    y = np.asarray(y_local)
    M = np.ascontiguousarray(np.asarray(masks_local))
    if M.ndim != 2 or M.dtype not in (np.bool_, np.uint8):
        raise ValueError(f"masks_local must be bool (n_local, P) or packed uint8; got {M.dtype} {M.shape}.")
    try:  # finite, numeric; a process with bad targets says so to the others (no one waits)
        y, y_error = np.ascontiguousarray(check_targets(y, X.shape[0], X.dtype)), None
    except ValueError as exc:
        y_error = str(exc)
        y = np.zeros(X.shape[0], X.dtype)
    rows = M.shape[0] * 8 if M.dtype == np.uint8 else M.shape[0]
    if y.shape[0] != X.shape[0] or rows != (X.shape[0] if M.dtype == bool else -(-X.shape[0] // 8) * 8):
        raise ValueError(
            f"process {jax.process_index()}: X_local has {X.shape[0]} rows, y_local "
            f"{y.shape[0]} and masks_local {M.shape[0]}{' bytes' if M.dtype == np.uint8 else ''}."
        )
    alpha = check_positive(alpha, "alpha")
    tol = check_positive(tol, "tol")
    max_iter = check_int(max_iter, "max_iter")
    table = _exchange_shapes(X, M, y, y_error)
    nproc = table.shape[0]
    if mesh is None:
        mesh = make_mesh((nproc, jax.local_device_count()))
    grid = check_devices(mesh)
    from .solvers._sharding import mesh_of

    mesh = mesh_of(grid) if len(grid) > 1 else make_mesh((1, 1), list(grid))
    ks, kp = mesh.devices.shape
    n_local, d, P = X.shape[0], X.shape[1], M.shape[1]
    n = n_local * nproc
    if ks % nproc:
        raise ValueError(
            f"the mesh has {ks} sample shards for {nproc} processes: each process's rows must lie on "
            f"its own devices, so the sample shards must be a multiple of {nproc}."
        )
    if n % ks or (M.dtype == np.uint8 and (n // ks) % 8):
        raise ValueError(f"n_samples = {n} rows do not split into {ks} sample shards"
                         + (" of whole bytes of packed masks" if M.dtype == np.uint8 else "") + ".")
    if P % kp:
        raise ValueError(f"n_patterns = {P} is not a multiple of the mesh's {kp} pattern shards.")
    datafit = get_datafit(loss)
    pen = make_penalty(penalty)
    datafit.check_targets(y)
    # data far from unit scale are solved exactly rescaled, as solve_group_lasso does
    scaling, pen = _global_scaling(X, y, datafit, pen)
    if not scaling.identity:
        X = (X / X.dtype.type(scaling.sx)).astype(X.dtype)
        y = (y / X.dtype.type(scaling.sy)).astype(X.dtype)
        alpha = alpha * scaling.alpha_factor
        if lipschitz is not None:
            lipschitz = lipschitz * scaling.lipschitz_factor
    c_shape = y.shape[1:]
    U_shape = (P, d) + c_shape
    extra = (None,) * len(c_shape)
    with jax.enable_x64(True):
        dt = X.dtype

        def glob(local, spec, shape):
            return jax.make_array_from_process_local_data(NamedSharding(mesh, spec), local, shape)

        Xg = glob(X, PS("samples", None), (n, d))
        Mg = glob(M, PS("samples", "patterns"), (M.shape[0] * nproc, P))
        yg = glob(y, PS("samples", *extra), (n,) + c_shape)
        U0 = jax.device_put(np.zeros(U_shape, dt), NamedSharding(mesh, PS("patterns", None, *extra)))
        with sharded(mesh):
            state = fista_run(datafit, pen, Xg, Mg, yg, U0, jnp.asarray(alpha, dt), jnp.asarray(tol, dt),
                              jnp.asarray(max_iter, jnp.int32),
                              jnp.asarray(-1.0 if lipschitz is None else lipschitz, dt), None)
        coef = np.asarray(multihost_utils.process_allgather(state.U, tiled=True))
        F, gap = float(state.F), float(state.gap)
        code = int(state.status)
    relative = gap / F if F > 0 else 0.0  # of the scaled problem: exact (powers of two)
    converged = code == 1 and np.isfinite(F) and np.isfinite(gap)
    L = float(state.L) * scaling.sx * scaling.sx  # None when not representable
    L = L if np.isfinite(L) and L > 0 else None
    result = DistributedResult(
        coef=np.asarray(scaling.coef_from_scaled(coef), dtype=dt),
        objective=F * scaling.objective_factor, dual_gap=gap * scaling.objective_factor,
        relative_gap=relative, n_iter=int(state.n_iter), converged=bool(converged),
        status=STATUS[code], lipschitz=L)
    if not converged:
        warnings.warn(
            f"solve_distributed stopped ({STATUS[code]}) after {result.n_iter} of max_iter="
            f"{max_iter} iterations with duality gap {result.dual_gap:.3e} (relative "
            f"{relative:.3e} > tol={tol:.1e}). To fix: increase max_iter; loosen tol; "
            "standardise X (StandardScaler).",
            ConvergenceWarning,
            stacklevel=2,
        )
    return result


def _global_scaling(X, y, datafit, penalty):
    """The exact power-of-two rescaling (:func:`gatedrelu.problem.scaling.choose_scaling`) of
    the data of all processes: every process computes the same one from the gathered RMS."""
    import jax

    from .problem.scaling import choose_scaling, root_mean_square

    scalable = getattr(datafit, "scalable_targets", False)
    stats = np.array([root_mean_square(X), root_mean_square(y) if scalable else 0.0,
                      float(np.max(np.abs(y))) if scalable and y.size else 0.0])
    if jax.process_count() > 1:  # every process holds n_local rows: RMS of the RMS values
        from jax.experimental import multihost_utils

        table = np.asarray(multihost_utils.process_allgather(stats)).reshape(-1, 3)
        stats = np.array([root_mean_square(table[:, 0]), root_mean_square(table[:, 1]),
                          table[:, 2].max()])
    return choose_scaling(stats[0], stats[1], stats[2], penalty, X.dtype, scalable)
