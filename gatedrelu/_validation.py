"""Input validation shared by every public entry point.

One place checks arrays, options and hyperparameters so that every function gives the same
clear message for the same mistake.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable

import numpy as np

__all__ = [
    "as_float_array",
    "check_targets",
    "check_option",
    "check_positive",
    "check_nonnegative",
    "check_int",
    "check_random_state",
    "float_dtype",
    "check_sample_weight",
    "ProblemTooLargeError",
    "available_memory",
    "check_problem_size",
    "check_gate_count",
    "estimate_problem_bytes",
    "MAX_GATES",
]


def float_dtype(*arrays) -> np.dtype:
    """The floating dtype to compute in: float32 only if every array is float32."""
    dtypes = [np.asarray(a).dtype for a in arrays if a is not None]
    if dtypes and all(dt == np.float32 for dt in dtypes):
        return np.dtype(np.float32)
    return np.dtype(np.float64)


def as_float_array(X, name: str = "X", *, ndim: int = 2, dtype=None) -> np.ndarray:
    """Convert ``X`` to a finite floating array of the given number of dimensions.

    Parameters
    ----------
    X : array-like
    name : str
        Name used in error messages.
    ndim : int
        Required number of dimensions.
    dtype : numpy dtype, optional
        Target dtype; by default float32 stays float32 and everything else becomes float64.
    """
    try:
        arr = np.asarray(X)
    except Exception as exc:  # pragma: no cover - numpy's own message is kept
        raise ValueError(f"{name} could not be converted to an array: {exc}") from exc
    if arr.dtype == object or not (
        np.issubdtype(arr.dtype, np.number) or np.issubdtype(arr.dtype, np.bool_)
    ):
        raise ValueError(f"{name} must be numeric, got dtype {arr.dtype}.")
    if np.iscomplexobj(arr):
        raise ValueError(f"{name} must be real, got complex dtype {arr.dtype}.")
    if arr.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-dimensional, got shape {arr.shape}.")
    if arr.size == 0 or 0 in arr.shape:
        raise ValueError(f"{name} is empty (shape {arr.shape}); at least one sample is needed.")
    if dtype is None:
        dtype = np.float32 if arr.dtype == np.float32 else np.float64
    arr = np.ascontiguousarray(arr, dtype=dtype)
    if not np.all(np.isfinite(arr)):
        bad = int(np.size(arr) - np.count_nonzero(np.isfinite(arr)))
        raise ValueError(f"{name} contains {bad} NaN or infinite value(s); all entries must be finite.")
    return arr


def check_targets(y, n_samples: int, dtype) -> np.ndarray:
    """Validate targets of shape (n,) or (n, c) against ``n_samples`` rows."""
    y_arr = np.asarray(y)
    if y_arr.ndim not in (1, 2):
        raise ValueError(f"y must have shape (n_samples,) or (n_samples, n_outputs), got {y_arr.shape}.")
    y_arr = as_float_array(y_arr, "y", ndim=y_arr.ndim, dtype=dtype)
    if y_arr.shape[0] != n_samples:
        raise ValueError(
            f"X and y have inconsistent numbers of samples: {n_samples} and {y_arr.shape[0]}."
        )
    return y_arr


def check_option(value, name: str, allowed: Iterable[str]) -> str:
    """Return ``value`` if it is one of ``allowed``, else raise a ValueError listing them."""
    allowed = tuple(allowed)
    if not isinstance(value, str) or value not in allowed:
        raise ValueError(f"Unknown {name} {value!r}; expected one of {', '.join(map(repr, allowed))}.")
    return value


def _check_real(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}.")
    value = float(value)
    if not np.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}.")
    return value


def check_positive(value, name: str) -> float:
    """A finite number > 0."""
    value = _check_real(value, name)
    if value <= 0:
        raise ValueError(f"{name} must be > 0, got {value}.")
    return value


def check_nonnegative(value, name: str) -> float:
    """A finite number >= 0."""
    value = _check_real(value, name)
    if value < 0:
        raise ValueError(f"{name} must be >= 0, got {value}.")
    return value


#: Iteration counts and sizes run through int32 loop counters in the compiled solvers.
INT32_MAX = 2**31 - 1


def check_int(value, name: str, minimum: int = 1, maximum: int = INT32_MAX) -> int:
    """An integer in ``[minimum, maximum]``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__}.")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}.")
    if value > maximum:
        raise ValueError(f"{name} must be <= {maximum}, got {value}.")
    return int(value)


def check_random_state(random_state) -> np.random.Generator:
    """A numpy Generator from None, an int, a Generator or a legacy RandomState."""
    if isinstance(random_state, np.random.Generator):
        return random_state
    if isinstance(random_state, np.random.RandomState):
        return np.random.default_rng(random_state.randint(0, 2**31 - 1))
    if isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool):
        if random_state < 0:
            raise ValueError(f"random_state must be a non-negative integer, got {random_state}.")
        return np.random.default_rng(int(random_state))
    if random_state is None:
        return np.random.default_rng()
    raise TypeError(
        f"random_state must be None, an int or a numpy Generator, got {type(random_state).__name__}."
    )


def check_sample_weight(sample_weight, n_samples: int) -> np.ndarray | None:
    """Validated sample weights of shape (n_samples,), normalised to mean 1, or None.

    scikit-learn's semantics: the weighted loss is ``(1/sum w) sum_k w_k l_k``, so integer weights
    equal repeated rows and a zero weight equals removing the row.
    """
    if sample_weight is None:
        return None
    w = np.asarray(sample_weight)
    if w.ndim == 0:
        w = np.full(n_samples, w)
    if w.dtype == object or not (np.issubdtype(w.dtype, np.number) or np.issubdtype(w.dtype, np.bool_)):
        raise ValueError(f"sample_weight must be numeric, got dtype {w.dtype}.")
    if np.iscomplexobj(w):
        raise ValueError("sample_weight must be real.")
    if w.ndim != 1 or w.shape[0] != n_samples:
        raise ValueError(
            f"sample_weight must have shape ({n_samples},) (one weight per sample); got {w.shape}."
        )
    w = w.astype(np.float64)
    if not np.all(np.isfinite(w)):
        raise ValueError("sample_weight contains NaN or infinite values; weights must be finite.")
    if np.any(w < 0):
        raise ValueError(f"sample_weight must be >= 0; got {int(np.sum(w < 0))} negative weight(s).")
    top = float(w.max())
    if top <= 0:
        raise ValueError("sample_weight sums to zero: at least one sample needs a positive weight.")
    w = w / top  # the sum of weights near 1e307 would overflow to inf (and the weights to 0)
    return w * (n_samples / float(w.sum()))


# ---------------------------------------------------------------------------------------------
# Problem size against the available memory
# ---------------------------------------------------------------------------------------------


class ProblemTooLargeError(ValueError):
    """A problem whose estimated memory exceeds what is available (the message gives both)."""


def available_memory() -> int | None:
    """Bytes of memory this process can still use, or None when it cannot be told.

    Linux: ``MemAvailable`` of ``/proc/meminfo``, lowered to the cgroup's ``memory.max`` minus
    ``memory.current`` when a limit is set; elsewhere the physical memory from
    :func:`os.sysconf`. No third-party package (psutil) is needed.
    """
    import os

    avail = None
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    avail = int(line.split()[1]) * 1024
                    break
    except (OSError, ValueError, IndexError):
        pass
    if avail is None:
        try:
            avail = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (ValueError, OSError, AttributeError):
            return None
    try:
        with open("/sys/fs/cgroup/memory.max") as fh:
            limit = fh.read().strip()
        if limit != "max":
            with open("/sys/fs/cgroup/memory.current") as fh:
                used = int(fh.read().strip())
            avail = min(avail, max(int(limit) - used, 0))
    except (OSError, ValueError):
        pass
    return int(avail)


def _arrangement_bound(n: int, d: int) -> int:
    """Most distinct activation patterns ``n`` points in ``R^d`` can have under hyperplanes
    through the origin: ``2 sum_{k<d} C(n-1, k)`` (Cover's count), capped to avoid huge ints."""
    from math import comb

    total = 0
    for k in range(min(d, n)):
        total += comb(n - 1, k)
        if total > 2**62:
            return 2**63
    return 2 * total


def estimate_problem_bytes(n_samples: int, n_features: int, n_gates: int, dtype=np.float64,
                           *, n_outputs: int = 1) -> int:
    """Estimated peak memory (bytes) of a gated ReLU fit on ``n_samples x n_features`` data.

    Counted: the sampled gates (``d x m`` floats), the gate-to-pattern map (``m`` int64), the
    masks (``n x P`` bool) and the solver's working arrays: about six copies of the
    coefficients (``P x d x c``) and two ``n x P x c`` products, with
    ``P = min(m, 2 sum_{k<d} C(n-1, k))`` patterns at most (``d`` counts the bias column).
    The estimate errs on the low side of the true peak (the data itself and compiled code are
    not counted), so a refusal is never a false alarm by more than a small factor.
    """
    item = np.dtype(dtype).itemsize
    n, d, m, c = int(n_samples), int(n_features), int(n_gates), max(int(n_outputs), 1)
    P = min(m, _arrangement_bound(n, d))
    return int(item * d * m + 8 * m + n * P + item * (6 * P * d * c + 2 * n * P * c))


def _human(nbytes: float) -> str:
    for unit in ("bytes", "KB", "MB", "GB", "TB", "PB"):
        if nbytes < 1000 or unit == "PB":
            return f"{nbytes:.0f} {unit}" if unit == "bytes" else f"{nbytes:.3g} {unit}"
        nbytes /= 1000
    return f"{nbytes:.3g} PB"  # pragma: no cover


def check_problem_size(n_samples: int, n_features: int, n_gates: int, dtype=np.float64, *,
                       n_outputs: int = 1, available: int | None = None) -> int:
    """Refuse, with a clear error, a fit whose estimated memory exceeds the available memory.

    Parameters
    ----------
    n_samples, n_features : int
        Shape of the data as the solver sees it (``n_features`` with the bias column).
    n_gates : int
        Number of sampled gates ``m``.
    dtype : numpy dtype, default float64
    n_outputs : int, default 1
    available : int, optional
        Bytes available (default: :func:`available_memory`; no check when it cannot be told).

    Returns
    -------
    nbytes : int
        The estimate of :func:`estimate_problem_bytes`.

    Raises
    ------
    ProblemTooLargeError
        A ``ValueError`` naming n, d, n_gates, the estimate and the available memory.
    """
    n_samples = check_int(n_samples, "n_samples", maximum=2**62)
    n_features = check_int(n_features, "n_features", maximum=2**62)
    n_gates = check_int(n_gates, "n_gates", maximum=2**62)
    nbytes = estimate_problem_bytes(n_samples, n_features, n_gates, dtype, n_outputs=n_outputs)
    if available is None:
        available = available_memory()
    if available is not None and nbytes > available:
        raise ProblemTooLargeError(
            f"n_gates={n_gates} on {n_samples} samples x {n_features} features needs about "
            f"{_human(nbytes)} of memory (gates, activation patterns and solver arrays), but "
            f"about {_human(available)} is available; use fewer gates (n_gates) or samples."
        )
    return nbytes


#: Most gates sampled: their ``d x m`` matrix and the pattern deduplication, which visits every
#: gate, take minutes beyond this, whatever the memory.
MAX_GATES = 10**7


def check_gate_count(n_gates: int, n_samples: int, n_features: int, dtype=np.float64, *,
                     n_outputs: int = 1) -> None:
    """Refuse, before anything is allocated, more than :data:`MAX_GATES` gates or a problem
    whose memory estimate exceeds the available memory (:func:`check_problem_size`).

    Parameters
    ----------
    n_gates : int
    n_samples, n_features : int
        Shape of the data as the solver sees it (``n_features`` with the bias column).
    dtype : numpy dtype, default float64
    n_outputs : int, default 1

    Raises
    ------
    ProblemTooLargeError
        A ``ValueError`` naming ``n_gates`` and the limit it exceeds.
    """
    check_problem_size(n_samples, n_features, n_gates, dtype, n_outputs=n_outputs)
    if n_gates > MAX_GATES:
        bound = _arrangement_bound(int(n_samples), int(n_features))
        useful = (f"; {n_samples} samples in {n_features} dimensions have at most {bound} "
                  "distinct activation patterns, so more gates add nothing" if bound < n_gates
                  else "")
        size = _human(np.dtype(dtype).itemsize * n_features * n_gates)
        raise ProblemTooLargeError(
            f"n_gates={n_gates} exceeds the {MAX_GATES} gates gatedrelu samples at most (their "
            f"{n_features} x {n_gates} matrix alone takes {size}, and finding their activation "
            f"patterns takes minutes){useful}. Use fewer gates (n_gates)."
        )
