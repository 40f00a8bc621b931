"""Placing a problem's arrays on devices: a mesh of samples x patterns.

Several devices form a 2-D mesh with axes ``("samples", "patterns")``: ``X``, ``y`` and the rows
of the masks are split over ``samples``, ``U`` and the columns of the masks over ``patterns``.
Within :func:`gatedrelu.operator.sharded` the forward map then sums over ``patterns`` and the
adjoint over ``samples`` (``docs/math.md``, "The blocked, bit-packed operator"). A plain list of
devices is the mesh ``(1, k)``: patterns sharded, data replicated.
"""

from __future__ import annotations

import contextlib
import numbers

import jax
import numpy as np

from .._validation import check_option

__all__ = ["place", "check_devices", "make_mesh", "DeviceGrid", "mesh_scope", "mesh_of"]

AXES = ("samples", "patterns")


class DeviceGrid(list):
    """The devices of a mesh, flattened (a list, so ``len`` counts them), with its ``shape``
    ``(n_sample_shards, n_pattern_shards)``."""

    def __init__(self, devices, shape):
        super().__init__(devices)
        self.shape = tuple(int(s) for s in shape)


def _check_shape(shape, count):
    entries = tuple(shape) if isinstance(shape, (tuple, list, np.ndarray)) else None
    if entries is None or not all(isinstance(s, numbers.Integral) and not isinstance(s, bool)
                                  for s in entries):
        raise ValueError(f"mesh shape must be a pair of positive integers (samples, patterns); "
                         f"got {shape!r}.")
    shape = tuple(int(s) for s in entries)
    if len(shape) != 2 or min(shape) < 1:
        raise ValueError(f"mesh shape must be a pair of positive integers (samples, patterns); got {shape!r}.")
    if shape[0] * shape[1] != count:
        raise ValueError(
            f"mesh shape {shape} needs {shape[0] * shape[1]} devices but {count} are given: "
            f"choose (samples, patterns) with samples * patterns = {count}."
        )
    return shape


def make_mesh(shape, devices=None):
    """A :class:`jax.sharding.Mesh` of ``shape = (samples, patterns)`` over ``devices``
    (default: every device of every process, ``jax.devices()``), axes ``("samples", "patterns")``.

    Raises a ValueError when ``samples * patterns`` is not the number of devices.
    """
    from jax.sharding import Mesh

    if devices is None or (isinstance(devices, str) and devices == "all"):
        devices = jax.devices()
    elif isinstance(devices, str) or not all(isinstance(d, jax.Device) for d in devices):
        raise ValueError(f"devices must be None, 'all' or a list of jax.Device objects (e.g. "
                         f"jax.devices()); got {devices!r}.")
    devices = list(devices)
    shape = _check_shape(shape, len(devices))
    return Mesh(np.asarray(devices, dtype=object).reshape(shape), AXES)


def mesh_of(devices):
    """The mesh of a :class:`DeviceGrid` (or list of devices), None for one device."""
    if devices is None or len(devices) == 1:
        return None
    from jax.sharding import Mesh

    shape = getattr(devices, "shape", (1, len(devices)))
    return Mesh(np.asarray(list(devices), dtype=object).reshape(shape), AXES)


@contextlib.contextmanager
def mesh_scope(devices):
    """:func:`gatedrelu.operator.sharded` on the mesh of ``devices`` (nothing for one)."""
    from ..operator import sharded

    with sharded(mesh_of(devices)):
        yield


def place(X, M, y, U0, devices):
    """Device arrays; with several devices, sharded over the mesh (see the module docstring).

    ``P`` is padded to a multiple of the pattern shards with all-zero patterns, whose groups stay
    exactly zero. ``n`` must be a multiple of the sample shards (padding rows would change the
    loss, an average over samples); packed masks whose row shards do not hold whole bytes are
    unpacked. Returns ``(arrays, pad)``.
    """
    if devices is None or len(devices) == 1:
        dev = None if devices is None else devices[0]
        return tuple(jax.device_put(a, dev) for a in (X, M, y, U0)), 0
    from jax.sharding import NamedSharding, PartitionSpec as PS

    from ..operator import is_packed, unpack_masks

    mesh = mesh_of(devices)
    ks, kp = mesh.devices.shape
    n = X.shape[0]
    if n % ks:
        raise ValueError(
            f"n_samples = {n} is not a multiple of the {ks} sample shards of the device mesh "
            f"{(ks, kp)}: use a mesh with fewer sample shards, or drop {n % ks} rows."
        )
    if is_packed(M) and (n // ks) % 8:
        M = unpack_masks(M, n)
    pad = (-M.shape[1]) % kp
    if pad:
        M = np.concatenate([M, np.zeros((M.shape[0], pad), M.dtype)], axis=1)
        U0 = np.concatenate([U0, np.zeros((pad,) + U0.shape[1:], U0.dtype)])
    extra = (None,) * (U0.ndim - 1)
    placed = (
        jax.device_put(X, NamedSharding(mesh, PS("samples", None))),
        jax.device_put(M, NamedSharding(mesh, PS("samples", "patterns"))),
        jax.device_put(y, NamedSharding(mesh, PS("samples", *extra[1:]))),
        jax.device_put(U0, NamedSharding(mesh, PS("patterns", *extra))),
    )
    return placed, pad


def check_devices(devices):
    """None, "all", a non-empty list of jax.Device, or a mesh (a :class:`jax.sharding.Mesh` with
    axes ``("samples", "patterns")``, e.g. from :func:`make_mesh`) -> None or a DeviceGrid."""
    if devices is None:
        return None
    from jax.sharding import Mesh

    if isinstance(devices, str):
        check_option(devices, "devices", ("all",))
        devices = list(jax.devices())
        return DeviceGrid(devices, (1, len(devices)))
    if isinstance(devices, Mesh):
        if tuple(devices.axis_names) != AXES:
            raise ValueError(f"a device mesh must have axes {AXES}; got {tuple(devices.axis_names)}.")
        return DeviceGrid(devices.devices.ravel().tolist(), devices.devices.shape)
    if isinstance(devices, DeviceGrid):
        return devices
    devices = list(devices)
    if not devices or not all(isinstance(d, jax.Device) for d in devices):
        raise ValueError("devices must be None, 'all', a device mesh (gatedrelu.distributed.make_mesh) "
                         "or a non-empty list of jax.Device objects.")
    return DeviceGrid(devices, (1, len(devices)))
