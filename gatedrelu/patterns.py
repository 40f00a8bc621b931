r"""Gates and activation patterns.

A gate :math:`g \in \mathbb{R}^d` induces the activation pattern :math:`1[X g \ge 0] \in \{0,1\}^n`
on the training inputs. Many gates give the same pattern; in the convex program neurons with
the same pattern merge into one group, so only the distinct non-zero patterns ``D_1..D_P`` matter.
We keep, for each, a representative gate (the first sampled gate that produced it) and a count
``c_i`` of the sampled gates that produced it. ``c_i / m`` are the finite-width NTK weights
(see ``docs/math.md``, "The NTK is one choice of weights").

Deduplication is streamed over chunks of gates (``X @ gates`` at most ``CHUNK_BYTES`` at a time):
only the distinct masks, bit-packed, and one pattern index per sampled gate are kept, so 10^5
gates need no more memory than their distinct masks, ``n P / 8`` bytes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._validation import as_float_array, check_int, check_random_state

__all__ = ["ActivationPatterns", "PackedMasks", "sample_gates", "activation_patterns", "gate_masks",
           "check_patterns", "SinglePatternWarning", "single_pattern_message"]


class SinglePatternWarning(UserWarning):
    """Every gate gives the same activation pattern on the training data: the network is a
    linear model (typically features far from zero, which put every sample on the same side of
    every gate)."""


def single_pattern_message(patterns, X, *, n_gates=None, names=None,
                           remedy="standardise X (e.g. StandardScaler).", far=10.0):
    """Why every gate gives one activation pattern, or None when they give several: the message
    of the estimators' :class:`SinglePatternWarning` and of the CLI's warning.

    Parameters
    ----------
    patterns : ActivationPatterns
        The patterns of the fit.
    X : ndarray of shape (n_samples, n_features)
        The features the gates saw (without the bias column).
    n_gates : int, optional
        The number of gates to report (default ``patterns.n_gates``); below 2, None.
    names : sequence of str, optional
        Feature names (default: "feature j").
    remedy : str
        What to do when the features are far from zero.
    far : float
        A feature is far from zero when ``|mean| / std`` exceeds this (0: always explain).
    """
    n_gates = patterns.n_gates if n_gates is None else n_gates
    if patterns.n_patterns != 1 or n_gates < 2:
        return None
    message = (f"all {n_gates} gates give the same activation pattern on the training data, so "
               "the network is a linear model.")
    X = np.asarray(X, np.float64)
    if X.ndim != 2 or X.shape[1] == 0:
        return message
    std = X.std(axis=0)
    offset = np.abs(X.mean(axis=0)) / np.where(std > 0, std, 1.0)
    j = int(np.argmax(offset))
    if offset[j] > far:
        name = f"feature {j}" if names is None else f"column {names[j]!r}"
        return message + (
            f" The features are far from zero ({name}: mean {X[:, j].mean():.3g}, standard "
            f"deviation {std[j]:.3g}), which puts every sample on the same side of every gate: "
            + remedy)
    return message + " Sample more gates (n_gates) or add a bias (fit_intercept=True)."


def sample_gates(n_features: int, n_gates: int, *, random_state=None, dtype=np.float64) -> np.ndarray:
    """Sample i.i.d. standard Gaussian gate vectors.

    Parameters
    ----------
    n_features : int
        Dimension ``d`` of the gates (include the bias column if the data has one).
    n_gates : int
        Number ``m`` of gates.
    random_state : None, int or numpy.random.Generator
    dtype : numpy dtype, default float64

    Returns
    -------
    gates : ndarray of shape (n_features, n_gates)
    """
    n_features = check_int(n_features, "n_features")
    n_gates = check_int(n_gates, "n_gates")
    try:
        dt = np.dtype(dtype)
    except TypeError as exc:
        raise TypeError(f"dtype must be a numpy floating dtype, got {dtype!r}.") from exc
    if not np.issubdtype(dt, np.floating):
        raise ValueError(
            f"dtype must be a floating dtype (float32 or float64), got {dt}: Gaussian gates "
            "cast to integers would be truncated (most of them to 0)."
        )
    rng = check_random_state(random_state)
    return rng.standard_normal((n_features, n_gates)).astype(dt, copy=False)


def gate_masks(X, gates) -> np.ndarray:
    """Activation masks ``1[X g >= 0]`` of shape (n_samples, n_gates) as booleans."""
    return (np.asarray(X) @ np.asarray(gates)) >= 0


@dataclass(frozen=True)
class ActivationPatterns:
    """Distinct non-zero activation patterns of a set of gates on the data.

    Attributes
    ----------
    gates : ndarray of shape (n_features, n_patterns)
        One representative gate per pattern (the first sampled gate that produced it).
    masks : ndarray of shape (n_samples, n_patterns), bool
        ``masks[:, i]`` is the diagonal of ``D_i``. Stored bit-packed (:attr:`packed_masks`, 8
        per byte) and unpacked on access; a boolean array or a :class:`PackedMasks` can be given.
    counts : ndarray of shape (n_patterns,), int
        Number of sampled gates that produced each pattern.
    ntk_weights : ndarray of shape (n_patterns,)
        ``counts / n_gates``: the finite-width NTK weights on the training data.
    sampled_gates : ndarray of shape (n_features, n_gates)
        Every input gate (needed for the finite-width NTK at new points).
    gate_pattern : ndarray of shape (n_gates,), int
        Pattern index of each sampled gate, ``-1`` for gates whose pattern is all zero. With
        ``sampled_gates`` this is all the finite NTK needs at new points: the ``n x n_gates``
        table of per-gate patterns is never kept.
    """

    gates: np.ndarray
    masks: np.ndarray
    counts: np.ndarray
    ntk_weights: np.ndarray
    sampled_gates: np.ndarray
    gate_pattern: np.ndarray

    def __post_init__(self):
        _check_fields(self)

    @property
    def packed_masks(self) -> np.ndarray:
        """Bit-packed masks, ``uint8`` of shape (ceil(n_samples / 8), n_patterns), little-endian
        along the samples (:func:`gatedrelu.operator.pack_masks`)."""
        return self.__dict__["_packed"].packed

    @property
    def n_samples(self) -> int:
        """Number ``n`` of samples the patterns were computed on."""
        return self.__dict__["_packed"].n_samples

    @property
    def n_patterns(self) -> int:
        """Number ``P`` of distinct non-zero patterns."""
        return self.packed_masks.shape[1]

    @property
    def n_gates(self) -> int:
        """Number ``m`` of sampled gates."""
        return self.sampled_gates.shape[1]

    def masks_at(self, X) -> np.ndarray:
        """Masks of the representative gates at new points, shape (n_new, n_patterns)."""
        return gate_masks(X, self.gates)

    def subset(self, index) -> ActivationPatterns:
        """Patterns restricted to ``index`` (gates mapped to a dropped pattern get ``-1``)."""
        index = np.asarray(index)
        if index.dtype == bool:
            if index.shape != (self.n_patterns,):
                raise ValueError(
                    f"index is a boolean mask of shape {index.shape}; it must have one entry per "
                    f"pattern, shape ({self.n_patterns},)."
                )
            index = np.flatnonzero(index)
        elif index.size and not np.issubdtype(index.dtype, np.integer):
            raise ValueError(f"index must be integers or a boolean mask, got dtype {index.dtype}.")
        if index.ndim != 1:
            raise ValueError(f"index must be 1-dimensional, got shape {index.shape}.")
        if index.size and (index.min() < -self.n_patterns or index.max() >= self.n_patterns):
            raise ValueError(
                f"index has entries from {index.min()} to {index.max()}, outside the "
                f"{self.n_patterns} patterns."
            )
        index = index.astype(np.int64) % max(self.n_patterns, 1)
        remap = np.full(self.n_patterns + 1, -1, dtype=np.int64)
        remap[index] = np.arange(index.size)
        return ActivationPatterns(
            gates=self.gates[:, index],
            masks=PackedMasks(np.ascontiguousarray(self.packed_masks[:, index]), self.n_samples),
            counts=self.counts[index],
            ntk_weights=self.ntk_weights[index],
            sampled_gates=self.sampled_gates,
            gate_pattern=remap[self.gate_pattern],
        )


class PackedMasks:
    """Bit-packed masks ``packed`` (ceil(n_samples / 8), P) of ``n_samples`` rows; what
    :class:`ActivationPatterns` stores (pass one as ``masks=`` to avoid unpacking)."""

    __slots__ = ("packed", "n_samples")

    def __init__(self, packed, n_samples: int):
        packed = np.asarray(packed)
        if packed.dtype != np.uint8 or packed.ndim != 2 or packed.shape[0] != (n_samples + 7) // 8:
            raise ValueError(
                f"packed masks must be uint8 of shape (ceil(n_samples / 8), P) = "
                f"({(n_samples + 7) // 8}, P); got {packed.dtype} {packed.shape}."
            )
        self.packed, self.n_samples = packed, int(n_samples)


#: Unpacked masks are cached up to this many entries (repeated access to small problems' masks
#: stays free); larger ones are unpacked on every access.
_CACHE_ENTRIES = 2**24


def _get_masks(self) -> np.ndarray:
    cached = self.__dict__.get("_unpacked")
    if cached is not None:
        return cached
    p = self.__dict__["_packed"]
    M = np.unpackbits(p.packed, axis=0, count=p.n_samples, bitorder="little").view(bool)
    if M.size <= _CACHE_ENTRIES:
        M.flags.writeable = False
        self.__dict__["_unpacked"] = M
    return M


def _set_masks(self, value) -> None:
    # called once, by the dataclass __init__ (object.__setattr__ honours this property)
    if isinstance(value, PackedMasks):
        packed = value
    else:
        M = np.asarray(value)
        if M.ndim != 2:
            raise ValueError(f"masks must be a 2-d boolean array (n_samples, n_patterns); got shape {M.shape}.")
        if M.dtype != bool:
            if not np.isin(M, (0, 1)).all():
                raise ValueError(f"masks must be boolean (or 0/1); got dtype {M.dtype}.")
            M = M.astype(bool)
        packed = PackedMasks(np.packbits(M, axis=0, bitorder="little"), M.shape[0])
    self.__dict__["_packed"] = packed
    self.__dict__.pop("_unpacked", None)


ActivationPatterns.masks = property(
    _get_masks, _set_masks,
    doc="Boolean masks (n_samples, n_patterns), unpacked from :attr:`packed_masks`.")


#: Sampling evaluates ``X @ gates`` on chunks of gates of at most this many bytes.
CHUNK_BYTES = 32 * 2**20


def _check_fields(patterns) -> None:
    """The fields of an ActivationPatterns agree in their numbers of patterns and gates."""
    P = patterns.n_patterns
    gates, sampled = np.asarray(patterns.gates), np.asarray(patterns.sampled_gates)
    if gates.ndim != 2 or gates.shape[1] != P:
        raise ValueError(
            f"gates must have shape (n_features, n_patterns) with n_patterns = {P} (the masks' "
            f"columns); got {gates.shape}: gates and masks come from different patterns."
        )
    for name in ("counts", "ntk_weights"):
        shape = np.shape(getattr(patterns, name))
        if shape != (P,):
            raise ValueError(f"{name} must have shape (n_patterns,) = ({P},); got {shape}.")
    if sampled.ndim != 2 or sampled.shape[0] != gates.shape[0]:
        raise ValueError(
            f"sampled_gates must have shape (n_features, n_gates) with n_features = "
            f"{gates.shape[0]} (as gates); got {sampled.shape}."
        )
    if np.shape(patterns.gate_pattern) != (sampled.shape[1],):
        raise ValueError(
            f"gate_pattern must have shape (n_gates,) = ({sampled.shape[1]},); got "
            f"{np.shape(patterns.gate_pattern)}."
        )


def check_patterns(patterns, X: np.ndarray) -> None:
    """Refuse activation patterns that do not belong to ``X``.

    An :class:`ActivationPatterns` must have gates of ``X``'s dimension, as many gates as masks,
    and masks equal to ``1[X g >= 0]`` for its own gates ``g`` (the solver would otherwise fit
    one network and :meth:`ActivationPatterns.masks_at` predict with another). Entries within
    rounding of ``X g = 0`` may differ (``8 d eps |x| |g|``). Plain boolean masks carry no gates
    and are accepted as they are.

    Parameters
    ----------
    patterns : ActivationPatterns or bool array of shape (n_samples, n_patterns)
    X : ndarray of shape (n_samples, n_features)
        The validated data the patterns are used with (with the bias column if any).

    Raises
    ------
    ValueError
        Naming the mismatch: the gates' dimension, the numbers of gates and masks, or how many
        activations differ and where the first one is.
    """
    if not isinstance(patterns, ActivationPatterns):
        return
    _check_fields(patterns)
    n, d = X.shape
    G = np.asarray(patterns.gates)
    if G.shape[0] != d:
        raise ValueError(
            f"patterns come from gates of dimension {G.shape[0]}, but X has {d} columns "
            "(with the bias column if the data has one); compute the patterns on this X: "
            "activation_patterns(X, gates)."
        )
    if patterns.n_samples != n:
        raise ValueError(
            f"patterns were computed on {patterns.n_samples} samples but X has {n} rows."
        )
    eps = max(float(np.finfo(X.dtype).eps), float(np.finfo(np.result_type(G.dtype, np.float32)).eps))
    G = G.astype(X.dtype, copy=False)
    with np.errstate(over="ignore", invalid="ignore"):
        slack = 8 * d * eps * np.linalg.norm(X, axis=1)[:, None]
        gnorm = np.linalg.norm(G, axis=0)
    packed = patterns.packed_masks
    P = G.shape[1]
    step = max(1, min(P, CHUNK_BYTES // max(1, n * X.dtype.itemsize)))
    bad, first = 0, None
    for start in range(0, P, step):
        stop = min(start + step, P)
        with np.errstate(over="ignore", invalid="ignore"):
            Z = X @ G[:, start:stop]
            M = np.unpackbits(packed[:, start:stop], axis=0, count=n, bitorder="little").view(bool)
            differ = (Z >= 0) != M
            if not differ.any():
                continue
            # rounding may flip the sign of X g near 0; overflowed products say nothing
            differ &= np.isfinite(Z) & (np.abs(Z) > slack * gnorm[start:stop])
        count = int(np.count_nonzero(differ))
        if count and first is None:
            i, j = np.argwhere(differ)[0]
            first = (int(i), start + int(j))
        bad += count
    if bad:
        raise ValueError(
            f"patterns do not belong to X: {bad} of the {n} x {P} activations differ from "
            f"1[X g >= 0] for the patterns' own gates (first at sample {first[0]}, pattern "
            f"{first[1]}), so they were computed on other data. Compute them on this X: "
            "activation_patterns(X, gates)."
        )


def activation_patterns(X, gates, *, chunk_size: int = 4096) -> ActivationPatterns:
    """Distinct non-zero activation patterns of ``gates`` on ``X``.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Inputs as the solver sees them (with the bias column if any).
    gates : array-like of shape (n_features, n_gates)
    chunk_size : int, default 4096
        At most this many gates are processed at a time, and fewer when
        ``n_samples * chunk_size`` values of ``X @ gates`` would exceed ``CHUNK_BYTES``
        (32 MiB): the temporary memory stays bounded whatever ``n_samples``.

    Returns
    -------
    ActivationPatterns
        Patterns in order of first appearance among the gates; duplicates merged, the all-zero
        pattern dropped; masks kept bit-packed (``n_samples * n_patterns / 8`` bytes).
    """
    X = as_float_array(X, "X")
    G = as_float_array(gates, "gates", dtype=X.dtype)
    if G.shape[0] != X.shape[1]:
        raise ValueError(
            f"gates must have shape (n_features, n_gates) = ({X.shape[1]}, m); got {G.shape}."
        )
    chunk_size = check_int(chunk_size, "chunk_size")
    n, m = X.shape[0], G.shape[1]
    chunk_size = max(1, min(chunk_size, CHUNK_BYTES // max(1, n * X.dtype.itemsize)))
    index_of: dict[bytes, int] = {}
    rep_gate: list[int] = []
    packed_masks: list[np.ndarray] = []
    gate_pattern = np.empty(m, dtype=np.int64)
    zero_key = np.packbits(np.zeros(n, dtype=bool), bitorder="little").tobytes()
    for start in range(0, m, chunk_size):
        stop = min(start + chunk_size, m)
        # (chunk, ceil(n/8)): row j holds gate start + j's pattern
        packed = np.packbits(gate_masks(X, G[:, start:stop]).T, axis=1, bitorder="little")
        # rows as opaque byte strings (np.unique(axis=0) builds a structured dtype with one
        # field per byte, which numpy keeps: hundreds of MB for wide rows)
        rows = np.ascontiguousarray(packed).view(np.dtype((np.void, packed.shape[1]))).ravel()
        uniq, first, inverse = np.unique(rows, return_index=True, return_inverse=True)
        local = np.empty(len(uniq), dtype=np.int64)
        # Visit new patterns in order of first appearance so that numbering is deterministic.
        for k in np.argsort(first, kind="stable"):
            key = uniq[k].tobytes()
            if key == zero_key:
                local[k] = -1
                continue
            idx = index_of.get(key)
            if idx is None:
                idx = len(rep_gate)
                index_of[key] = idx
                rep_gate.append(start + int(first[k]))
                packed_masks.append(np.frombuffer(key, np.uint8))  # shares the key's bytes
            local[k] = idx
        gate_pattern[start:stop] = local[inverse.ravel()]
    P = len(rep_gate)
    if P == 0:
        raise ValueError(
            "Every gate gives the all-zero activation pattern on X; sample more gates or add a "
            "bias column (fit_intercept=True)."
        )
    index_of.clear()
    packed = np.ascontiguousarray(np.stack(packed_masks).T)  # (ceil(n/8), P)
    del packed_masks
    counts = np.bincount(gate_pattern[gate_pattern >= 0], minlength=P).astype(np.int64)
    return ActivationPatterns(
        gates=G[:, rep_gate].copy(),
        masks=PackedMasks(packed, n),
        counts=counts,
        ntk_weights=(counts / m).astype(X.dtype),
        sampled_gates=G,
        gate_pattern=gate_pattern,
    )
