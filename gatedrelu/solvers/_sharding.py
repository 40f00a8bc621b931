"""Placing a problem's arrays on devices; several devices shard the activation patterns."""

from __future__ import annotations

import jax
import numpy as np

from .._validation import check_option

__all__ = ["place", "check_devices"]


def place(X, M, y, U0, devices):
    """Device arrays; with several devices, patterns are sharded across them.

    ``M`` is split by columns and ``U`` by rows (the pattern axis), ``X`` and ``y`` are
    replicated; XLA then partitions the compiled loop and the only communication is the sum over
    patterns in the forward map. ``P`` is padded to a multiple of the device count with all-zero
    patterns, whose groups stay exactly zero. Returns ``(arrays, pad)``.
    """
    if devices is None or len(devices) == 1:
        dev = None if devices is None else devices[0]
        return tuple(jax.device_put(a, dev) for a in (X, M, y, U0)), 0
    from jax.sharding import Mesh, NamedSharding, PartitionSpec

    k = len(devices)
    pad = (-M.shape[1]) % k
    if pad:
        M = np.hstack([M, np.zeros((M.shape[0], pad), bool)])
        U0 = np.concatenate([U0, np.zeros((pad,) + U0.shape[1:], U0.dtype)])
    mesh = Mesh(np.asarray(devices), ("patterns",))
    rep = NamedSharding(mesh, PartitionSpec())
    cols = NamedSharding(mesh, PartitionSpec(None, "patterns"))
    rows = NamedSharding(mesh, PartitionSpec("patterns"))
    placed = (
        jax.device_put(X, rep),
        jax.device_put(M, cols),
        jax.device_put(y, rep),
        jax.device_put(U0, rows),
    )
    return placed, pad


def check_devices(devices):
    """None, "all" or a non-empty list of jax.Device -> None or a list of devices."""
    if devices is None:
        return None
    if isinstance(devices, str):
        check_option(devices, "devices", ("all",))
        return list(jax.devices())
    devices = list(devices)
    if not devices or not all(isinstance(d, jax.Device) for d in devices):
        raise ValueError("devices must be None, 'all' or a non-empty list of jax.Device objects.")
    return devices
