"""Broadcasting helpers for per-feature scalings and rotations of (P, d[, c]) groups."""

from __future__ import annotations

from ...operator import xp_of


def expand(vec, Z):
    """A per-feature vector (d,) broadcast against groups of shape (P, d[, c])."""
    return vec.reshape((1, -1) + (1,) * (Z.ndim - 2))


def scale_rows(Z, vec):
    return Z * expand(vec, Z)


def rotate(Q, U):
    """``Q^T u_i`` for every group: (P, d[, c]) (numpy or JAX)."""
    return xp_of(Q, U).einsum("de,pd...->pe...", Q, U)
