r"""Masking kernels, the neural tangent kernel and exact pattern enumeration in 2-D.

The MKL view (``docs/math.md``, "The MKL view"). Each activation pattern ``D_i`` gives a
masking kernel ``K_i = D_i X X^T D_i``. For weights :math:`\eta \ge 0`

.. math::

    K_\eta = \sum_i \eta_i K_i = (X X^\top) \odot (M \,\mathrm{diag}(\eta)\, M^\top),

where ``M`` (n, P) is the boolean mask matrix. The ``P`` matrices ``K_i`` are never formed: the
mask product is accumulated over chunks of patterns, so the temporaries are ``n x chunk_size``.
At new points ``X2`` (n2, d) the masks come from the representative gates,
``M2 = 1[X2 G >= 0]``, and the cross kernel (n2, n) is ``(X2 X^T) * (M2 diag(eta) M^T)``.

The NTK is one choice of weights (``docs/math.md``, "The NTK is one choice of weights"). The
network :math:`f(x) = m^{-1/2} \sum_j 1[g_j \cdot x \ge 0] (x \cdot w_j) v_j`, ``v_j = +-1`` fixed
and the first layer trained, has the finite-width NTK

.. math::

    \Theta(x, x') = \frac1m \sum_{j=1}^m 1[g_j \cdot x \ge 0]\, 1[g_j \cdot x' \ge 0]\; x \cdot x'.

On the training data it is ``K_eta`` with ``eta_i = c_i / m``. At a new point two gates with the
same training pattern can disagree, so the cross kernel needs every sampled gate: with
``F[k, i]`` the fraction of the gates of pattern ``i`` that are active at ``X2[k]``,
``Theta(X2, X) = (X2 X^T) * (F diag(eta) M^T)``. (Gates whose training pattern is all zero
contribute nothing to it, since they are inactive at every training point.) As ``m -> infinity``,
``Theta(x, x') -> x.x' (pi - angle(x, x')) / (2 pi)``, because the probability that a Gaussian
gate is active at both ``x`` and ``x'`` is ``(pi - angle) / (2 pi)``.

Exact enumeration. If ``rank(X) = 2`` (e.g. 1-D data with a bias column), ``1[X g >= 0]``
depends on ``g`` only through its projection onto the 2-D row space of ``X``, and that projection
of a standard Gaussian is rotationally symmetric. Each sample ``x_k`` cuts the circle of
directions at the two angles where ``g . x_k = 0``; the at most ``2n`` arcs between consecutive
cuts are the cells of the arrangement, and the Gaussian measure of a cell is its angle divided
by ``2 pi``. These are the infinite-width NTK weights, and with them ``K_eta`` equals the
closed-form NTK on the training data.
"""

from __future__ import annotations

import numpy as np

from ._validation import as_float_array, check_int
from .patterns import ActivationPatterns, gate_masks

__all__ = ["masking_kernel", "finite_ntk_kernel", "ntk_kernel", "enumerate_patterns"]

_DEFAULT_CHUNK = 1024


def _check_data(X, patterns, X2):
    """Validate ``X`` (n, d), ``patterns`` computed on it and optional ``X2`` (n2, d)."""
    X = as_float_array(X, "X")
    n, d = X.shape
    if not isinstance(patterns, ActivationPatterns):
        masks = np.asarray(patterns)
        if masks.ndim != 2 or masks.dtype != bool:
            raise TypeError(
                "patterns must be an ActivationPatterns (from activation_patterns or "
                "enumerate_patterns) or a boolean mask array of shape (n_samples, n_patterns); "
                f"got {type(patterns).__name__}"
                + (f" of dtype {masks.dtype} and shape {masks.shape}." if masks.ndim else ".")
            )
        if masks.shape[0] != n:
            raise ValueError(f"the masks have {masks.shape[0]} rows but X has {n} samples.")
        if X2 is not None:
            raise ValueError(
                "a kernel at new points X2 needs the gates of the patterns: pass an "
                "ActivationPatterns instead of a raw mask array."
            )
        return X, None, masks, None
    masks = np.asarray(patterns.masks)
    gates = np.asarray(patterns.gates)
    if masks.ndim != 2 or masks.shape[0] != n:
        raise ValueError(
            f"patterns.masks has shape {masks.shape} but X has {n} samples; "
            "the patterns must be computed on X."
        )
    if gates.ndim != 2 or gates.shape != (d, masks.shape[1]):
        raise ValueError(
            f"patterns.gates must have shape (n_features, n_patterns) = ({d}, {masks.shape[1]}); "
            f"got {gates.shape}."
        )
    if X2 is not None:
        X2 = as_float_array(X2, "X2", dtype=X.dtype)
        if X2.shape[1] != d:
            raise ValueError(f"X2 has {X2.shape[1]} features but X has {d}.")
    return X, X2, masks.astype(bool, copy=False), gates


def _check_weights(weights, n_patterns: int, dtype) -> np.ndarray:
    """Nonnegative finite weights of shape (n_patterns,), cast to ``dtype``."""
    w = np.asarray(weights)
    if w.ndim != 1 or w.shape[0] != n_patterns:
        raise ValueError(f"weights must have shape (n_patterns,) = ({n_patterns},); got {w.shape}.")
    w = as_float_array(w, "weights", ndim=1, dtype=np.float64)
    if np.any(w < 0):
        raise ValueError(f"weights must be nonnegative; got minimum {w.min()}.")
    return w.astype(dtype)


def masking_kernel(X, patterns, weights, X2=None, *, chunk_size: int = _DEFAULT_CHUNK) -> np.ndarray:
    """Weighted sum of masking kernels ``K_eta = (X X^T) * (M diag(eta) M^T)``.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Training inputs as the solver sees them (bias column included).
    patterns : ActivationPatterns or bool ndarray of shape (n_samples, n_patterns)
        Patterns computed on ``X``: ``masks`` of shape (n_samples, n_patterns) and ``gates`` of
        shape (n_features, n_patterns). A raw mask array is enough for the kernel on ``X``
        itself; ``X2`` needs the gates.
    weights : array-like of shape (n_patterns,)
        Nonnegative kernel weights ``eta``.
    X2 : array-like of shape (n_new, n_features), optional
        New points. Their masks come from the representative gates, ``1[X2 @ gates >= 0]``.
    chunk_size : int, default 1024
        Number of patterns processed at a time; temporaries are (n_samples, chunk_size).

    Returns
    -------
    K : ndarray of shape (n_samples, n_samples), or (n_new, n_samples) if ``X2`` is given
        Dtype of ``X`` (float32 stays float32).
    """
    X, X2, M, G = _check_data(X, patterns, X2)
    eta = _check_weights(weights, M.shape[1], X.dtype)
    chunk_size = check_int(chunk_size, "chunk_size")
    left_X = X if X2 is None else X2
    S = np.zeros((left_X.shape[0], X.shape[0]), dtype=X.dtype)
    for start in range(0, M.shape[1], chunk_size):
        sl = slice(start, start + chunk_size)
        right = M[:, sl].astype(X.dtype)  # (n, chunk)
        left = right if X2 is None else gate_masks(X2, G[:, sl]).astype(X.dtype)  # (n2, chunk)
        S += (left * eta[sl]) @ right.T
    S *= left_X @ X.T
    return S


def finite_ntk_kernel(X, patterns, X2=None, *, chunk_size: int = _DEFAULT_CHUNK) -> np.ndarray:
    """Finite-width NTK of the gated ReLU network whose gates are ``patterns.sampled_gates``.

    ``Theta(x, x') = (1/m) sum_j 1[g_j.x >= 0] 1[g_j.x' >= 0] x.x'`` over every sampled gate.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Training inputs as the solver sees them (bias column included).
    patterns : ActivationPatterns
        Patterns computed on ``X`` (e.g. by ``activation_patterns``).
    X2 : array-like of shape (n_new, n_features), optional
        New points.
    chunk_size : int, default 1024
        Number of patterns, and of gates, processed at a time; temporaries are
        (n_new, chunk_size).

    Returns
    -------
    K : ndarray of shape (n_samples, n_samples), or (n_new, n_samples) if ``X2`` is given
        Without ``X2`` this is ``masking_kernel(X, patterns, patterns.ntk_weights)``.

    Notes
    -----
    At new points each pattern ``i`` contributes with the fraction of its own sampled gates that
    are active there (every gate is used, not only the representative), times
    ``patterns.ntk_weights[i]``. For ``activation_patterns`` this is exactly the sum over gates
    with weight ``1/m``; for ``enumerate_patterns`` (one gate per cell, exact weights) it is the
    masking cross kernel with the exact cell measures. A pattern without any sampled gate (only in
    hand-built patterns) falls back to its representative gate.
    """
    if not isinstance(patterns, ActivationPatterns):
        raise TypeError(
            "finite_ntk_kernel needs an ActivationPatterns (its NTK weights count the sampled "
            f"gates of each pattern), got {type(patterns).__name__}; for given weights use "
            "masking_kernel(X, masks, weights)."
        )
    if X2 is None:
        return masking_kernel(X, patterns, patterns.ntk_weights, chunk_size=chunk_size)
    X, X2, M, G = _check_data(X, patterns, X2)
    P = M.shape[1]
    eta = _check_weights(patterns.ntk_weights, P, X.dtype)
    chunk_size = check_int(chunk_size, "chunk_size")
    sampled = np.asarray(patterns.sampled_gates)
    gate_pattern = np.asarray(patterns.gate_pattern)
    if sampled.ndim != 2 or sampled.shape[0] != X.shape[1] or gate_pattern.shape != (sampled.shape[1],):
        raise ValueError(
            f"patterns.sampled_gates {sampled.shape} and gate_pattern {gate_pattern.shape} must have "
            f"shapes (n_features, n_gates) and (n_gates,) with n_features = {X.shape[1]}."
        )
    # Gates with a non-zero training pattern, sorted by pattern so that each pattern's gates
    # are contiguous (gates of all-zero patterns are inactive on X and contribute nothing).
    active = np.flatnonzero(gate_pattern >= 0)
    order = active[np.argsort(gate_pattern[active], kind="stable")]
    sorted_pattern = gate_pattern[order]
    n_gates_of = np.bincount(sorted_pattern, minlength=P)

    S = np.zeros((X2.shape[0], X.shape[0]), dtype=X.dtype)
    for start in range(0, P, chunk_size):
        stop = min(start + chunk_size, P)
        # F[k, i - start]: number of gates of pattern i active at X2[k], accumulated over
        # chunks of those gates.
        F = np.zeros((X2.shape[0], stop - start), dtype=X.dtype)
        lo, hi = np.searchsorted(sorted_pattern, [start, stop])
        for g0 in range(lo, hi, chunk_size):
            g1 = min(g0 + chunk_size, hi)
            p = sorted_pattern[g0:g1]
            A = gate_masks(X2, sampled[:, order[g0:g1]]).astype(X.dtype)  # (n2, chunk)
            seg = np.flatnonzero(np.r_[True, p[1:] != p[:-1]])
            F[:, p[seg] - start] += np.add.reduceat(A, seg, axis=1)
        n_of = n_gates_of[start:stop]
        F /= np.maximum(n_of, 1).astype(X.dtype)
        empty = np.flatnonzero(n_of == 0)
        if empty.size:
            F[:, empty] = gate_masks(X2, G[:, start + empty])
        S += (F * eta[start:stop]) @ M[:, start:stop].T.astype(X.dtype)
    S *= X2 @ X.T
    return S


def ntk_kernel(X, X2=None) -> np.ndarray:
    """Infinite-width NTK ``Theta(x, x') = x.x' (pi - angle(x, x')) / (2 pi)``.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    X2 : array-like of shape (n_new, n_features), optional

    Returns
    -------
    K : ndarray of shape (n_samples, n_samples), or (n_new, n_samples) if ``X2`` is given
        Dtype of ``X``. Rows with zero norm give zero kernel values. The angle comes from the
        cosine, except for nearly parallel or antipodal pairs (``|cos| > 1 - 1e-4``), where the
        arccos would lose half the digits (an error of about ``sqrt(eps)``): there it is
        ``2 arcsin(||x/|x| -+ x'/|x'| || / 2)``, accurate to rounding (duplicated rows, or
        rows scaled by sample weights, then give identical kernel values).
    """
    X = as_float_array(X, "X")
    if X2 is not None:
        X2 = as_float_array(X2, "X2", dtype=X.dtype)
        if X2.shape[1] != X.shape[1]:
            raise ValueError(f"X2 has {X2.shape[1]} features but X has {X.shape[1]}.")
    # K(cX) = c^2 K(X): data far from unit scale go through a power-of-two rescaling, exact,
    # so that dot products and norms neither overflow (inputs near 1e200) nor underflow
    big_x, big_2 = float(np.max(np.abs(X))), 0.0 if X2 is None else float(np.max(np.abs(X2)))
    big, name = (big_2, "X2") if big_2 > big_x else (big_x, "X")
    e = int(np.round(np.log2(big))) if big > 0 else 0
    if abs(e) > 20:
        c = X.dtype.type(2.0 ** -e)
        K = ntk_kernel(X * c, None if X2 is None else X2 * c)
        with np.errstate(over="ignore"):
            K = K * X.dtype.type(2.0 ** e) * X.dtype.type(2.0 ** e)
        if not np.all(np.isfinite(K)):
            raise ValueError(
                f"{name} has entries up to {big:.3g}: the NTK values (about x.x', {big:.1e}^2) exceed "
                f"the range of {X.dtype} (max {np.finfo(X.dtype).max:.1e}). Scale X down "
                "(e.g. StandardScaler); the NTK is homogeneous of degree 2, K(cX) = c^2 K(X)."
            )
        return K
    left = X if X2 is None else X2
    dot = left @ X.T
    norm = np.linalg.norm(X, axis=1)
    norm_left = norm if X2 is None else np.linalg.norm(X2, axis=1)
    denom = np.outer(norm_left, norm)
    cos = np.divide(dot, denom, out=np.zeros_like(dot), where=denom > 0)
    if X2 is None:
        np.fill_diagonal(cos, 1.0)  # exact angle 0 on the diagonal
    angle = np.arccos(np.clip(cos, -1.0, 1.0))
    rows, cols = np.nonzero((np.abs(cos) > 1 - 1e-4) & (denom > 0))
    if rows.size:
        unit_left = left[rows] / norm_left[rows, None]
        unit = X[cols] / norm[cols, None]
        parallel = cos[rows, cols] > 0
        chord = np.linalg.norm(np.where(parallel[:, None], unit_left - unit, unit_left + unit), axis=1)
        half = 2 * np.arcsin(np.minimum(chord / 2, 1.0))
        angle[rows, cols] = np.where(parallel, half, np.pi - half)
    return (dot * (np.pi - angle) / (2 * np.pi)).astype(X.dtype, copy=False)


def enumerate_patterns(X) -> ActivationPatterns:
    """Every activation pattern of positive measure, with exact NTK weights, for rank-2 ``X``.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Inputs as the solver sees them, of rank exactly 2 (e.g. 1-D data with a bias column,
        shape (n_samples, 2)).

    Returns
    -------
    ActivationPatterns
        Patterns in order of their arc on the circle of gate directions in the row space.
        ``gates`` (n_features, P): the arc midpoints, unit vectors in the row space of ``X``.
        ``masks`` (n_samples, P). ``ntk_weights`` (P,): the **exact** Gaussian measure of each
        cell (arc angle / (2 pi)), the infinite-width NTK weights, not sampled fractions; they sum
        to one minus the measure of the all-zero pattern, which is dropped. ``counts`` (P,) is all
        ones and ``sampled_gates`` equals ``gates`` with ``gate_pattern = arange(P)``: each
        representative gate stands for its whole cell.

    Raises
    ------
    ValueError
        If ``rank(X) != 2``.

    Notes
    -----
    Cut angles closer than ``1000 * eps`` (of the dtype of ``X``) are merged, so duplicated,
    parallel and antipodal samples give no spurious zero-width cells. Patterns of measure zero
    (a gate lying exactly on the common boundary of two antipodal samples) are not listed; no
    sampled gate produces them.
    """
    X = as_float_array(X, "X")
    n, d = X.shape
    X64 = X.astype(np.float64)
    _, s, Vt = np.linalg.svd(X64, full_matrices=False)
    eps = np.finfo(X.dtype).eps
    rank = int(np.sum(s > s[0] * max(n, d) * eps)) if s[0] > 0 else 0
    if rank != 2:
        raise ValueError(
            "exact enumeration is supported only for inputs of effective dimension 2 "
            f"(rank-2 X, e.g. 1-D data with a bias column); got rank {rank}."
        )
    basis = Vt[:2]  # (2, d) orthonormal basis of the row space
    Z = X64 @ basis.T  # (n, 2) coordinates of the samples in it
    radius = np.linalg.norm(Z, axis=1)
    nonzero = radius > s[0] * max(n, d) * eps
    # Gate direction u(phi) = (cos phi, sin phi) has u.z_k = 0 at phi = atan2(z_k) +- pi/2.
    theta = np.arctan2(Z[nonzero, 1], Z[nonzero, 0])
    cuts = np.sort(np.mod(np.concatenate([theta + np.pi / 2, theta - np.pi / 2]), 2 * np.pi))
    tol = 1e3 * eps
    # Merge cuts closer than tol (also across 2 pi); arcs run from each kept cut to the next.
    keep = np.r_[True, np.diff(cuts) > tol]
    cuts = cuts[keep]
    if cuts.size > 1 and cuts[0] + 2 * np.pi - cuts[-1] <= tol:
        cuts = cuts[:-1]
    lengths = np.diff(np.r_[cuts, cuts[0] + 2 * np.pi])  # (n_arcs,), sum 2 pi
    mids = cuts + lengths / 2
    gates = (basis.T @ np.stack([np.cos(mids), np.sin(mids)])).astype(X.dtype)  # (d, n_arcs)
    arc_masks = gate_masks(X, gates)  # (n, n_arcs)
    weights = lengths / (2 * np.pi)

    index_of: dict[bytes, int] = {}
    rep: list[int] = []
    merged: list[float] = []
    for a in range(arc_masks.shape[1]):
        if not arc_masks[:, a].any():
            continue  # the all-zero pattern and its measure are dropped
        key = np.packbits(arc_masks[:, a]).tobytes()
        idx = index_of.get(key)
        if idx is None:
            index_of[key] = len(rep)
            rep.append(a)
            merged.append(weights[a])
        else:
            merged[idx] += weights[a]
    P = len(rep)
    G = np.ascontiguousarray(gates[:, rep])
    return ActivationPatterns(
        gates=G,
        masks=np.ascontiguousarray(arc_masks[:, rep]),
        counts=np.ones(P, dtype=np.int64),
        ntk_weights=np.asarray(merged, dtype=X.dtype),
        sampled_gates=G,
        gate_pattern=np.arange(P, dtype=np.int64),
    )
