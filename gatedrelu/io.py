"""Saving and loading fitted gatedrelu estimators in a safe format (no pickle).

A model file is one ``.npz`` archive written by :func:`numpy.savez_compressed`. It is read back
entry by entry, never with pickle, so loading a file never runs code from it: it holds plain
numeric, bool and unicode arrays and one JSON document. Only the gatedrelu estimators named in
:data:`ESTIMATORS`, and scikit-learn ``Pipeline`` objects made of the transformers in
:data:`TRANSFORMERS` followed by one of them (``StandardScaler`` then an estimator: what
``gatedrelu fit`` saves), can be saved and loaded; every class is looked up in those fixed
tables by name, never imported from a name found in the file.

File format
-----------
``format_version`` 1 holds one estimator; ``format_version`` 2 (written only for a pipeline)
holds a pipeline. Archive entries:

``metadata``
    1-d ``uint8`` array: a UTF-8 JSON object

    .. code-block:: text

        {
          "format": "gatedrelu-model",
          "format_version": 1,
          "gatedrelu_version": "0.1.0",             # informative only
          "estimator": "GatedReLUClassifier",       # a key of ESTIMATORS
          "params": {"alpha": 0.001, ...},          # get_params(deep=False), array params left out
          "array_params": ["gates"],                # params stored as "param.<name>" arrays
          "attributes": {                           # every instance attribute that is not a param
            "coef_":      {"kind": "array"},               # array "attr.coef_"
            "classes_":   {"kind": "object_str_array"},    # unicode "attr.classes_", dtype object on load
            "n_iter_":    {"kind": "scalar", "value": 57}, # Python bool / int / float / str
            "dual_gap_":  {"kind": "numpy_scalar"},        # 0-d array "attr.dual_gap_", numpy scalar on load
            "foo_":       {"kind": "none"},
            "history_":   {"kind": "json", "value": [...], "tuple": false},  # list/tuple/dict of JSON values
            "patterns_":  {"kind": "activation_patterns",
                           "fields": ["gates", "masks", ...]}  # arrays "attr.patterns_.<field>"
          },
          "arrays": {"attr.coef_": {"dtype": "<f8", "shape": [12, 4]}, ...},  # every array entry
          "extra": {...}                             # caller's JSON object (the CLI's data description)
        }

    A pipeline (``format_version`` 2) has ``"estimator": "Pipeline"``, ``params`` (the
    pipeline's own, ``steps`` left out) and ``"steps": [{"name": "scale", "estimator":
    "StandardScaler", "params": ..., "array_params": ..., "attributes": ...}, ...]``, one object
    per step as above; the arrays of step ``k`` are named ``step<k>.param.<name>`` and
    ``step<k>.attr.<name>``.

``param.<name>``
    An array-valued constructor parameter (user ``gates``).
``attr.<name>``
    An array-valued (or numpy-scalar) fitted attribute. Arrays keep their dtype and shape exactly;
    allowed dtypes are bool, integer, float, complex, bytes and unicode. String class labels are a
    unicode array; object arrays of strings (labels given as Python objects, or
    ``feature_names_in_``) are stored as unicode and turned back into object arrays.
``attr.<name>.<field>``
    One field of an :class:`~gatedrelu.patterns.ActivationPatterns` attribute.

``attr.<name>.`` followed by the entries above
    A fitted estimator of :data:`ESTIMATORS` held as an attribute (``best_estimator_`` of the
    MKL path CV estimators), one level deep: its metadata object has ``"kind": "estimator"``
    and the ``estimator``, ``params``, ``array_params`` and ``attributes`` of an estimator.

Anything else in an estimator (a Generator, a callable, a deeper nested estimator) cannot be saved:
:func:`save_model` raises a ``TypeError`` naming the attribute, so every file written can be
read back. Array-likes that are not numpy arrays (JAX arrays) are saved as, and load as, numpy
arrays. A ``random_state`` given as a Generator is saved as ``None`` with a warning: it only
matters for refitting.

Loading checks
--------------
:func:`load_model` raises :class:`ModelFileError` (a ``ValueError``) for any file that is not a
valid model file, and never another exception (a missing file raises the usual
``FileNotFoundError``). Before anything is inflated: the zip directory is read, the metadata
entry (at most :data:`MAX_METADATA_BYTES`) is parsed, every entry the metadata does not
describe is refused unread, and each entry's declared uncompressed size is checked against its
compressed size (at most :data:`MAX_RATIO` times, beyond :data:`FREE_BYTES`), against the
available memory, and against the shape and dtype its ``.npy`` header declares (only the header
is inflated for this), so a zip bomb or a header claiming 10^12 elements is refused without
allocating. After reading: every array must have the dtype and shape the metadata records,
float arrays must be finite (except the diagnostics in :data:`NONFINITE_OK`), the structure
must be consistent (``n_features_in_``, ``feature_names_in_``, the activation patterns, the
gates, ``coef_`` of a floating dtype), every parameter goes through the estimator's own
validation, and the loaded model must predict finite values of the right shape on a few probe
inputs.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import os
import re
import warnings
import zipfile
import zlib
from pathlib import Path

import numpy as np

from .patterns import ActivationPatterns

__all__ = [
    "ESTIMATORS",
    "FORMAT",
    "FORMAT_VERSION",
    "ModelFileError",
    "TRANSFORMERS",
    "load_model",
    "read_metadata",
    "save_model",
]

FORMAT = "gatedrelu-model"
#: The newest format version this gatedrelu reads and writes (1: an estimator, 2: a pipeline).
FORMAT_VERSION = 2

#: Estimators that can be saved and loaded: class name -> module that defines it.
ESTIMATORS = {
    "GatedReLURegressor": "gatedrelu.estimators",
    "GatedReLUClassifier": "gatedrelu.estimators",
    "GatedReLURegressorCV": "gatedrelu.cv",
    "GatedReLUClassifierCV": "gatedrelu.cv",
    "MKLRegressor": "gatedrelu.mkl_estimators",
    "MKLClassifier": "gatedrelu.mkl_estimators",
    "ConvexReLURegressor": "gatedrelu.convex_relu",
    "ConvexReLUClassifier": "gatedrelu.convex_relu",
    "MKLPathRegressorCV": "gatedrelu.mkl_path_cv",
    "MKLPathClassifierCV": "gatedrelu.mkl_path_cv",
}
#: Transformers that may precede an estimator of :data:`ESTIMATORS` in a saved ``Pipeline``.
TRANSFORMERS = {"StandardScaler": "sklearn.preprocessing"}

#: Largest metadata entry read (bytes, uncompressed).
MAX_METADATA_BYTES = 16 * 2**20
#: Entries up to this size (bytes, uncompressed) are not held to :data:`MAX_RATIO`.
FREE_BYTES = 64 * 2**20
#: Largest ratio of declared uncompressed to compressed size of a larger entry. Real model
#: arrays (masks, coefficients) compress by well under 100; a zip bomb by about 1000.
MAX_RATIO = 200
#: Float attributes that may hold NaN or inf in a valid model (diagnostics, not predictions).
NONFINITE_OK = frozenset(
    {"mse_path_", "scores_path_", "path_scores_", "cv_scores_", "cv_results_", "dual_gap_"}
)

_METADATA_KEY = "metadata"
_ARRAY_DTYPE_KINDS = "biufcSU"
_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_PATTERN_FIELDS = tuple(f.name for f in dataclasses.fields(ActivationPatterns))
#: Leading axes of ``coef_`` before (n_patterns, n_features): the convex ReLU estimators store
#: the two weight sets ``[V, W]`` of every pattern, shape (2, P, d[, c]).
_COEF_LEAD = {"ConvexReLURegressor": (2,), "ConvexReLUClassifier": (2,)}


class ModelFileError(ValueError):
    """The file is not a valid gatedrelu model file (the message says what is wrong)."""


# ---------------------------------------------------------------------------------------------
# Saving
# ---------------------------------------------------------------------------------------------


def save_model(estimator, path, *, extra: dict | None = None) -> Path:
    """Save a fitted gatedrelu estimator, or a pipeline ending in one, to one ``.npz`` file.

    Parameters
    ----------
    estimator : fitted estimator or sklearn.pipeline.Pipeline
        An instance of one of :data:`ESTIMATORS` (not a subclass), or a ``Pipeline`` of
        transformers from :data:`TRANSFORMERS` followed by one (see the module docstring).
    path : str or path-like
        File written, exactly as given (no suffix is added); ``.npz`` is the conventional
        suffix. The file is written as ``<path>.tmp`` and then renamed, so an existing file is
        replaced only once the new one is complete.
    extra : dict, optional
        JSON-serialisable information stored alongside (read it back with
        :func:`read_metadata`).

    Returns
    -------
    path : pathlib.Path

    Raises
    ------
    TypeError
        If the estimator is not a saveable gatedrelu estimator or pipeline, or holds an
        attribute or parameter of a type the format cannot store.
    sklearn.exceptions.NotFittedError
        If the estimator is not fitted.
    """
    from sklearn.utils.validation import check_is_fitted

    if extra is not None:
        if not isinstance(extra, dict):
            raise TypeError(f"extra must be a dict, got {type(extra).__name__}.")
        extra = _json_value(extra, "extra")
    arrays: dict[str, np.ndarray] = {}
    metadata = {
        "format": FORMAT,
        "gatedrelu_version": _version(),
    }
    if _is_pipeline(estimator):
        steps = estimator.steps
        if not steps:
            raise TypeError("Cannot save an empty Pipeline.")
        metadata["format_version"] = 2
        metadata["estimator"] = "Pipeline"
        check_is_fitted(estimator)
        specs = []
        for k, step in enumerate(steps):
            if not (isinstance(step, tuple) and len(step) == 2 and isinstance(step[0], str)
                    and _NAME_RE.match(step[0])):
                raise TypeError(f"Pipeline step {k} must be (identifier, estimator); got {step!r}.")
            name, est = step
            table = ESTIMATORS if k == len(steps) - 1 else TRANSFORMERS
            _check_saveable(est, table, f"Pipeline step {name!r}")
            check_is_fitted(est)
            specs.append({"name": name, **_encode_estimator(est, f"step{k}.", arrays)})
        params = {k: v for k, v in estimator.get_params(deep=False).items() if k != "steps"}
        metadata["params"] = {k: _json_value(v, f"Pipeline parameter {k!r}")
                              for k, v in params.items()}
        metadata["steps"] = specs
    else:
        _check_saveable(estimator, ESTIMATORS, "")
        check_is_fitted(estimator)
        metadata["format_version"] = 1
        metadata["estimator"] = type(estimator).__name__
        metadata.update(_encode_estimator(estimator, "", arrays))
    metadata["arrays"] = {
        key: {"dtype": arr.dtype.str, "shape": list(arr.shape)} for key, arr in arrays.items()
    }
    metadata["extra"] = extra if extra is not None else {}
    text = json.dumps(metadata, indent=1, sort_keys=True)
    arrays[_METADATA_KEY] = np.frombuffer(text.encode("utf-8"), dtype=np.uint8)

    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    try:
        with open(tmp, "wb") as fh:
            np.savez_compressed(fh, **arrays)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def _is_pipeline(obj) -> bool:
    return type(obj).__name__ == "Pipeline" and type(obj).__module__.startswith("sklearn.")


def _check_saveable(est, table: dict, where: str) -> None:
    name = type(est).__name__
    if name not in table or _class_of(name, table) is not type(est):
        what = "the gatedrelu estimators" if table is ESTIMATORS else "the transformers"
        allowed = ", ".join(table)
        raise TypeError(
            f"Only {what} {allowed} can be saved"
            + (f" as {where}" if where else " (or a Pipeline of StandardScaler and one)")
            + f"; got {name}."
        )


def _encode_estimator(estimator, prefix: str, arrays: dict, nested_ok: bool = True) -> dict:
    """``params``, ``array_params`` and ``attributes`` of one estimator; arrays into ``arrays``;
    with ``nested_ok``, an attribute may be a fitted estimator of :data:`ESTIMATORS` (one level:
    ``best_estimator_`` of the MKL path CV estimators)."""
    params = estimator.get_params(deep=False)
    json_params, array_params = {}, []
    for key, value in params.items():
        if key == "random_state" and isinstance(
            value, (np.random.Generator, np.random.RandomState)
        ):
            warnings.warn(
                "random_state is a numpy Generator; it is saved as None (it only matters for "
                "refitting). Use an int seed to keep it.",
                UserWarning,
                stacklevel=3,
            )
            value = None
        if _is_array(value):
            arrays[f"{prefix}param.{key}"] = _plain_array(np.asarray(value), f"parameter {key!r}")
            array_params.append(key)
        else:
            json_params[key] = _json_value(value, f"parameter {key!r}")

    attributes = {}
    for key, value in vars(estimator).items():
        if key in params:
            continue
        _check_attribute_name(key, type(estimator), params, TypeError)
        attributes[key] = _encode_attribute(key, value, arrays, prefix, nested_ok)
    return {"estimator": type(estimator).__name__, "params": json_params,
            "array_params": array_params, "attributes": attributes}


def _encode_attribute(key: str, value, arrays: dict, prefix: str = "",
                      nested_ok: bool = False) -> dict:
    """Metadata entry of one fitted attribute; its arrays go into ``arrays``."""
    what = f"attribute {key!r}"
    entry = f"{prefix}attr.{key}"
    if value is None:
        return {"kind": "none"}
    if isinstance(value, ActivationPatterns):
        for field in _PATTERN_FIELDS:
            arrays[f"{entry}.{field}"] = _plain_array(
                np.asarray(getattr(value, field)), f"{what} field {field!r}"
            )
        return {"kind": "activation_patterns", "fields": list(_PATTERN_FIELDS)}
    if type(value) in (bool, int, float, str):
        return {"kind": "scalar", "value": value}
    if isinstance(value, np.generic):
        arrays[entry] = _plain_array(np.asarray(value), what)
        return {"kind": "numpy_scalar"}
    if _is_array(value):
        arr = np.asarray(value)
        if arr.dtype == object:
            if not all(isinstance(v, str) for v in arr.flat):
                raise TypeError(
                    f"Cannot save {what}: an object array whose entries are not all str."
                )
            arrays[entry] = arr.astype(str) if arr.size else arr.astype("U1")
            return {"kind": "object_str_array"}
        arrays[entry] = _plain_array(arr, what)
        return {"kind": "array"}
    if isinstance(value, (list, tuple, dict)):
        return {
            "kind": "json",
            "value": _json_value(value, what),
            "tuple": isinstance(value, tuple),
        }
    name = type(value).__name__
    if nested_ok and name in ESTIMATORS and _class_of(name) is type(value):
        return {"kind": "estimator", **_encode_estimator(value, f"{entry}.", arrays, False)}
    raise TypeError(
        f"Cannot save {what} of type {type(value).__name__}: a model file holds arrays, "
        "ActivationPatterns, None, scalars, JSON lists/dicts and (one level deep) fitted "
        "gatedrelu estimators only."
    )


def _is_array(value) -> bool:
    return isinstance(value, np.ndarray) or (
        not isinstance(value, (str, bytes, np.generic, list, tuple, dict))
        and hasattr(value, "__array__")
        and hasattr(value, "shape")
        and hasattr(value, "dtype")
    )


def _plain_array(arr: np.ndarray, what: str) -> np.ndarray:
    if arr.dtype.kind not in _ARRAY_DTYPE_KINDS or arr.dtype.fields is not None:
        raise TypeError(f"Cannot save {what}: arrays of dtype {arr.dtype} are not supported.")
    return arr


def _json_value(value, what: str):
    """``value`` as plain JSON types (numpy scalars become Python scalars; tuples lists)."""
    if value is None or type(value) in (bool, int, float, str):
        return value
    if isinstance(value, np.generic) and value.dtype.kind in "biufU":
        return value.item()
    if isinstance(value, (list, tuple)):
        return [_json_value(v, what) for v in value]
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {k: _json_value(v, what) for k, v in value.items()}
    raise TypeError(f"Cannot save {what}: {type(value).__name__} values are not JSON-serialisable.")


def _check_attribute_name(key, cls, params, error) -> None:
    if (
        not isinstance(key, str)
        or not _NAME_RE.match(key)
        or key.startswith("__")
        or key in params
        or hasattr(cls, key)
    ):
        raise error(f"Attribute name {key!r} cannot be stored in or restored from a model file.")


# ---------------------------------------------------------------------------------------------
# Loading
# ---------------------------------------------------------------------------------------------


def load_model(path):
    """Load an estimator (or pipeline) saved by :func:`save_model`.

    Parameters
    ----------
    path : str or path-like

    Returns
    -------
    estimator
        A fitted estimator of the saved class (or a ``Pipeline``), with the saved parameters
        and fitted attributes; its predictions equal those of the saved estimator.

    Raises
    ------
    ModelFileError
        If the file is not a valid model file; the message says what is wrong (see "Loading
        checks" in the module docstring).
    FileNotFoundError
        If ``path`` does not exist.
    """
    try:
        with _Archive(path) as archive:
            metadata = archive.metadata()
            expected = _expected_entries(metadata, path)
            archive.check_entries(expected)
            described = metadata.get("arrays")
            arrays = {key: archive.read(key, _described(described, key, path))
                      for key in expected}
        estimator = _build(metadata, arrays, path)
        _probe(estimator, path)
        return estimator
    except (ModelFileError, FileNotFoundError):
        raise
    except MemoryError as exc:
        raise ModelFileError(f"{path}: the model file does not fit in memory ({exc}).") from exc
    except Exception as exc:  # noqa: BLE001 - every failure of a bad file is a ModelFileError
        message = " ".join(str(exc).split())
        raise ModelFileError(
            f"{path}: not a valid gatedrelu model file ({type(exc).__name__}: {message})."
        ) from exc


def read_metadata(path) -> dict:
    """The validated JSON metadata of a model file (see the module docstring), as a dict."""
    try:
        with _Archive(path) as archive:
            return archive.metadata()
    except (ModelFileError, FileNotFoundError):
        raise
    except Exception as exc:  # noqa: BLE001
        raise ModelFileError(f"{path}: not a readable gatedrelu model file ({exc}).") from exc


class _Archive:
    """A model file's zip directory; entries are read one at a time, after their checks."""

    def __init__(self, path):
        self.path = path
        self.fh = open(path, "rb")  # a missing file raises FileNotFoundError as usual
        try:
            magic = self.fh.read(4)
            if not magic:
                raise ModelFileError(f"{path}: not a gatedrelu model file (the file is empty).")
            if magic != b"PK\x03\x04":
                raise ModelFileError(
                    f"{path}: not a gatedrelu model file (not an .npz archive: no zip signature)."
                )
            self.fh.seek(0)
            try:
                self.zip = zipfile.ZipFile(self.fh)
            except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError) as exc:
                raise self._corrupt(exc) from exc
            self.infos = {}
            for info in self.zip.infolist():
                if info.filename in self.infos:
                    raise ModelFileError(f"{path}: duplicate archive entry {info.filename!r}.")
                self.infos[info.filename] = info
        except BaseException:
            self.fh.close()
            raise

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.zip.close()
        self.fh.close()

    def _corrupt(self, exc) -> ModelFileError:
        return ModelFileError(
            f"{self.path}: not a readable gatedrelu model file (corrupt or truncated .npz: {exc})."
        )

    def metadata(self) -> dict:
        info = self.infos.get(_METADATA_KEY + ".npy")
        if info is None:
            raise ModelFileError(
                f"{self.path}: not a gatedrelu model file (no {_METADATA_KEY!r} entry)."
            )
        if info.file_size > MAX_METADATA_BYTES:
            raise ModelFileError(
                f"{self.path}: the metadata entry declares {info.file_size} bytes (more than "
                f"{MAX_METADATA_BYTES}); refused without inflating it."
            )
        raw = self.read(_METADATA_KEY, None)
        return _parse_metadata(raw, self.path)

    def check_entries(self, expected: set) -> None:
        """Refuse, before reading any, entries the metadata does not describe, or lacks."""
        present = {name[:-4] for name in self.infos if name.endswith(".npy")}
        odd = [name for name in self.infos if not name.endswith(".npy")]
        unexpected = sorted((present - expected - {_METADATA_KEY}) | set(odd))
        if unexpected:
            raise ModelFileError(
                f"{self.path}: unexpected entries {', '.join(map(repr, unexpected))} not "
                "described by the metadata (refused unread)."
            )
        missing = sorted(expected - present)
        if missing:
            raise ModelFileError(f"{self.path}: the model file has no entry {missing[0]!r}.")

    def read(self, key: str, described: dict | None) -> np.ndarray:
        """Entry ``key``: sizes and header checked first, then inflated without pickle."""
        info = self.infos[key + ".npy"]
        where = f"{self.path}: entry {key!r}"
        if info.file_size > FREE_BYTES and info.file_size > MAX_RATIO * max(info.compress_size, 1):
            raise ModelFileError(
                f"{where} declares {info.file_size} bytes uncompressed from "
                f"{info.compress_size} compressed (ratio above {MAX_RATIO}: a zip bomb?); "
                "refused without inflating it."
            )
        from ._validation import available_memory

        avail = available_memory()
        if avail is not None and info.file_size > avail:
            raise ModelFileError(
                f"{where} declares {info.file_size} bytes, more than the {avail} bytes of "
                "available memory; refused without inflating it."
            )
        try:
            with self.zip.open(info) as fp:
                version = np.lib.format.read_magic(fp)
                if version == (1, 0):
                    shape, fortran, dtype = np.lib.format.read_array_header_1_0(fp)
                elif version in ((2, 0), (3, 0)):
                    shape, fortran, dtype = np.lib.format.read_array_header_2_0(fp)
                else:  # pragma: no cover - read_magic refuses other versions
                    raise ValueError(f"unsupported .npy version {version}")
                header_size = fp.tell()
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
            raise self._corrupt(exc) from exc
        except ValueError as exc:
            raise ModelFileError(f"{where} has an invalid .npy header ({exc}).") from exc
        if dtype.hasobject or dtype.fields is not None:
            raise ModelFileError(
                f"{self.path}: the file holds pickled or object arrays, which are never loaded "
                "(a gatedrelu model file has only plain arrays)."
            )
        if dtype.kind not in _ARRAY_DTYPE_KINDS:
            raise ModelFileError(f"{where} has dtype {dtype}, which model files do not use.")
        count = 1
        for dim in shape:
            count *= int(dim)
        nbytes = count * dtype.itemsize
        if header_size + nbytes != info.file_size:
            raise ModelFileError(
                f"{where}: its .npy header describes an array of shape {tuple(shape)} "
                f"({nbytes} bytes), but the entry holds {info.file_size - header_size} bytes; "
                "refused without allocating it."
            )
        if described is not None and (
            described.get("dtype") != dtype.str or described.get("shape") != list(shape)
        ):
            raise ModelFileError(
                f"{where} has dtype {dtype.str} and shape {list(shape)}, but the metadata "
                f"records dtype {described.get('dtype')} and shape {described.get('shape')}."
            )
        try:
            with self.zip.open(info) as fp:
                return np.lib.format.read_array(fp, allow_pickle=False)
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
            raise self._corrupt(exc) from exc
        except ValueError as exc:
            if "pickle" in str(exc) or "Object arrays" in str(exc):
                raise ModelFileError(
                    f"{self.path}: the file holds pickled or object arrays, which are never "
                    "loaded (a gatedrelu model file has only plain arrays)."
                ) from exc
            raise self._corrupt(exc) from exc


def _described(described, key: str, path) -> dict | None:
    """The metadata's record of entry ``key`` (``None`` for files without ``arrays``)."""
    if described is None:
        return None
    spec = described.get(key)
    if not isinstance(spec, dict):
        raise ModelFileError(f"{path}: the metadata's 'arrays' does not describe {key!r}.")
    return spec


def _estimator_specs(metadata: dict, path) -> list[tuple[str, dict, dict]]:
    """``(array-name prefix, estimator spec, class table)`` for the estimator or each step."""
    if metadata["estimator"] != "Pipeline":
        return [("", metadata, ESTIMATORS)]
    steps = _require(metadata, "steps", list, path)
    if not steps:
        raise ModelFileError(f"{path}: the pipeline has no steps.")
    out = []
    for k, step in enumerate(steps):
        if not isinstance(step, dict):
            raise ModelFileError(f"{path}: pipeline step {k} is not a JSON object.")
        table = ESTIMATORS if k == len(steps) - 1 else TRANSFORMERS
        name = step.get("estimator")
        if not isinstance(name, str) or name not in table:
            role = "last step (an estimator)" if table is ESTIMATORS else "transformer step"
            raise ModelFileError(
                f"{path}: pipeline step {k} has class {name!r}; a {role} can be one of "
                f"{', '.join(table)}."
            )
        step_name = step.get("name")
        if not isinstance(step_name, str) or not _NAME_RE.match(step_name):
            raise ModelFileError(f"{path}: pipeline step {k} has an invalid name {step_name!r}.")
        out.append((f"step{k}.", step, table))
    return out


def _expected_entries(metadata: dict, path) -> set:
    """Names of every array entry the metadata describes."""
    keys = set()
    for prefix, spec, _ in _estimator_specs(metadata, path):
        _spec_entries(prefix, spec, path, keys, nested_ok=True)
    described = metadata.get("arrays")
    if described is not None:
        if not isinstance(described, dict):
            raise ModelFileError(f"{path}: the metadata's 'arrays' is not a JSON object.")
        if set(described) != keys:
            odd = sorted(set(described) ^ keys)
            raise ModelFileError(
                f"{path}: the metadata's 'arrays' and its attributes disagree about "
                f"{', '.join(map(repr, odd[:5]))}."
            )
    return keys


def _spec_entries(prefix: str, spec: dict, path, keys: set, nested_ok: bool) -> None:
    """Add the array entries of one estimator's metadata ``spec`` to ``keys``."""
    _require(spec, "params", dict, path)
    for key in _require(spec, "array_params", list, path):
        if not isinstance(key, str) or not _NAME_RE.match(key):
            raise ModelFileError(f"{path}: array_params must be a list of names.")
        keys.add(f"{prefix}param.{key}")
    for key, attr in _require(spec, "attributes", dict, path).items():
        if not isinstance(attr, dict) or "kind" not in attr:
            raise ModelFileError(f"{path}: the metadata of attribute {key!r} has no 'kind'.")
        if not isinstance(key, str) or not _NAME_RE.match(key):
            raise ModelFileError(
                f"{path}: Attribute name {key!r} cannot be stored in or restored from a "
                "model file."
            )
        if attr["kind"] in ("numpy_scalar", "array", "object_str_array"):
            keys.add(f"{prefix}attr.{key}")
        elif attr["kind"] == "activation_patterns":
            fields = attr.get("fields")
            if not isinstance(fields, list) or sorted(fields) != sorted(_PATTERN_FIELDS):
                raise ModelFileError(
                    f"{path}: attribute {key!r} has ActivationPatterns fields {fields!r}; "
                    f"expected {list(_PATTERN_FIELDS)}."
                )
            keys.update(f"{prefix}attr.{key}.{f}" for f in _PATTERN_FIELDS)
        elif attr["kind"] == "estimator":
            if not nested_ok:
                raise ModelFileError(
                    f"{path}: attribute {key!r} is an estimator inside a nested estimator; a "
                    "model file nests one level only.")
            _spec_entries(f"{prefix}attr.{key}.", attr, path, keys, nested_ok=False)


def _build(metadata: dict, arrays: dict, path):
    """The estimator (or pipeline) from the metadata and the checked arrays."""
    specs = _estimator_specs(metadata, path)
    built = [_build_one(spec, table, prefix, arrays, path) for prefix, spec, table in specs]
    if metadata["estimator"] != "Pipeline":
        return built[0]
    from sklearn.pipeline import Pipeline

    params = _require(metadata, "params", dict, path)
    allowed = {"memory", "verbose", "transform_input"}
    unknown = sorted(set(params) - allowed)
    if unknown:
        raise ModelFileError(f"{path}: {', '.join(map(repr, unknown))} are not Pipeline parameters.")
    if params.get("memory") is not None:
        raise ModelFileError(f"{path}: a saved pipeline must have memory=None.")
    known = Pipeline([("a", "passthrough")]).get_params(deep=False)
    params = {k: v for k, v in params.items() if k in known}
    steps = [(spec["name"], est) for (_, spec, _), est in zip(specs, built, strict=True)]
    names = [name for name, _ in steps]
    if len(set(names)) != len(names):
        raise ModelFileError(f"{path}: the pipeline's step names are not distinct: {names}.")
    pipeline = Pipeline(steps, **params)
    _call_validation(pipeline, path, "Pipeline")
    for (name, est), nxt in zip(steps, steps[1:]):
        n_in = getattr(nxt[1], "n_features_in_", None)
        n_out = getattr(est, "n_features_in_", None)  # the scalers keep the number of features
        if n_in is not None and n_out is not None and n_in != n_out:
            raise ModelFileError(
                f"{path}: pipeline step {name!r} outputs {n_out} features, but step "
                f"{nxt[0]!r} expects {n_in}."
            )
    return pipeline


def _build_one(spec: dict, table: dict, prefix: str, arrays: dict, path, nested_ok=True):
    cls = _class_of(spec.get("estimator"), table, path)
    params = dict(_require(spec, "params", dict, path))
    for key in _require(spec, "array_params", list, path):
        params[key] = arrays[f"{prefix}param.{key}"]
    known = cls().get_params(deep=False)
    unknown = sorted(set(params) - set(known))
    if unknown:
        raise ModelFileError(
            f"{path}: {', '.join(map(repr, unknown))} are not parameters of {cls.__name__} in "
            f"gatedrelu {_version()} (file written by gatedrelu "
            f"{spec.get('gatedrelu_version', '?')})."
        )
    estimator = cls(**params)
    _call_validation(estimator, path, cls.__name__)
    for key, attr in _require(spec, "attributes", dict, path).items():
        _check_attribute_name(key, cls, known, lambda msg: ModelFileError(f"{path}: {msg}"))
        setattr(estimator, key, _decode_attribute(key, attr, prefix, arrays, path, nested_ok))
    _check_fitted_state(estimator, path)
    return estimator


def _decode_attribute(key: str, spec: dict, prefix: str, arrays: dict, path, nested_ok=False):
    kind = spec["kind"]
    entry = f"{prefix}attr.{key}"
    if kind == "none":
        return None
    if kind == "scalar":
        value = spec.get("value")
        if not isinstance(value, (bool, int, float, str)):
            raise ModelFileError(f"{path}: attribute {key!r} is not a scalar.")
        return value
    if kind == "json":
        value = spec.get("value")
        return tuple(value) if spec.get("tuple") and isinstance(value, list) else value
    if kind == "numpy_scalar":
        arr = arrays[entry]
        if arr.ndim != 0:
            raise ModelFileError(f"{path}: attribute {key!r} should be 0-dimensional.")
        return arr[()]
    if kind == "array":
        return arrays[entry]
    if kind == "object_str_array":
        arr = arrays[entry]
        if arr.dtype.kind != "U":
            raise ModelFileError(f"{path}: attribute {key!r} should be a unicode array.")
        return arr.astype(object)
    if kind == "activation_patterns":
        try:
            return ActivationPatterns(**{f: arrays[f"{entry}.{f}"] for f in _PATTERN_FIELDS})
        except ValueError as exc:  # fields that disagree in their numbers of patterns
            raise ModelFileError(f"{path}: attribute {key!r} is inconsistent: {exc}") from exc
    if kind == "estimator" and nested_ok:
        nested = _build_one(spec, ESTIMATORS, f"{entry}.", arrays, path, nested_ok=False)
        _probe(nested, path)
        return nested
    raise ModelFileError(f"{path}: attribute {key!r} has unknown kind {kind!r}.")


# --------------------------------------------------------------------------- loaded-model checks


def _call_validation(estimator, path, name: str) -> None:
    """Every parameter through the estimator's own validation (without fitting).

    An estimator may define ``_validate_hyperparameters()`` (no arguments, raising ValueError
    or TypeError); otherwise scikit-learn's ``_validate_params`` (parameter constraints) and
    the validation methods gatedrelu's estimators run at the start of ``fit`` are called:
    ``_validate_cv_params``, else ``_validate_mkl_params``, else ``_validate_gate_params``,
    and the ``solver``/``tol``/``max_iter``/``verbose``/``penalty``/``loss`` checks of ``fit``.
    """
    try:
        hook = getattr(estimator, "_validate_hyperparameters", None)
        if callable(hook):
            hook()
            return
        if getattr(type(estimator), "_parameter_constraints", None):
            estimator._validate_params()
        # the most specific one: the MKL and CV checks include the gate checks they need
        if callable(getattr(estimator, "_validate_cv_params", None)):
            estimator._validate_cv_params(np.dtype(np.float64))
        elif callable(getattr(estimator, "_validate_mkl_params", None)):
            estimator._validate_mkl_params()
        elif callable(getattr(estimator, "_validate_gate_params", None)):
            estimator._validate_gate_params()
        _validate_common_params(estimator)
    except (ValueError, TypeError) as exc:
        message = " ".join(str(exc).split())
        raise ModelFileError(f"{path}: invalid parameter of {name}: {message}") from exc


def _validate_common_params(estimator) -> None:
    """The parameter checks gatedrelu's estimators make inline in ``fit``."""
    from ._validation import check_int, check_nonnegative, check_option

    params = estimator.get_params(deep=False)
    if type(estimator).__module__.startswith("sklearn."):
        return
    if "solver" in params:
        from .group_lasso import SOLVERS

        check_option(params["solver"], "solver", SOLVERS)
    if params.get("tol") is not None:
        check_nonnegative(params["tol"], "tol")
    if params.get("max_iter") is not None:
        check_int(params["max_iter"], "max_iter")
    if "verbose" in params:
        check_int(params["verbose"], "verbose", minimum=0)
    if "penalty" in params:
        from .problem import make_penalty

        kwargs = {k: params[k] for k in ("l1_ratio", "feature_weight") if k in params}
        make_penalty(params["penalty"], **kwargs)
    if callable(getattr(estimator, "_loss", None)):
        estimator._loss()


def _check_fitted_state(est, path) -> None:
    """Fitted attributes consistent with each other; floats finite."""
    where = f"{path}: {type(est).__name__}"
    for key, value in vars(est).items():
        if key in NONFINITE_OK or not key.endswith("_"):
            continue
        arrays = (
            [(f"{key}.{f}", np.asarray(getattr(value, f))) for f in _PATTERN_FIELDS]
            if isinstance(value, ActivationPatterns)
            else [(key, value)] if isinstance(value, (np.ndarray, np.generic)) else []
        )
        for name, arr in arrays:
            if arr.dtype.kind in "fc" and not np.all(np.isfinite(arr)):
                raise ModelFileError(f"{where}.{name} holds NaN or infinite values.")
    n_features = getattr(est, "n_features_in_", None)
    if n_features is not None and (isinstance(n_features, bool)
                                   or not isinstance(n_features, (int, np.integer))
                                   or n_features < 1):
        raise ModelFileError(f"{where}.n_features_in_ must be a positive integer; got "
                             f"{n_features!r}.")
    names = getattr(est, "feature_names_in_", None)
    if names is not None and n_features is not None and len(names) != n_features:
        raise ModelFileError(
            f"{where}: n_features_in_ = {n_features} disagrees with the {len(names)} names of "
            "feature_names_in_."
        )
    for key in ("coef_", "gates_"):
        value = getattr(est, key, None)
        if value is not None and not (isinstance(value, np.ndarray) and value.dtype.kind == "f"):
            dtype = getattr(value, "dtype", type(value).__name__)
            raise ModelFileError(f"{where}.{key} must be a floating-point array; got {dtype}.")
    patterns = getattr(est, "patterns_", None)
    if isinstance(patterns, ActivationPatterns):
        _check_patterns(patterns, est, where)


def _check_patterns(p: ActivationPatterns, est, where: str) -> None:
    G, M = np.asarray(p.gates), np.asarray(p.masks)
    if G.ndim != 2 or M.ndim != 2 or M.dtype != bool or G.dtype.kind != "f":
        raise ModelFileError(
            f"{where}.patterns_: gates must be a 2-d float array and masks a 2-d bool array; "
            f"got {G.dtype} {G.shape} and {M.dtype} {M.shape}."
        )
    d, P = G.shape
    m = np.asarray(p.sampled_gates).shape[-1] if np.ndim(p.sampled_gates) == 2 else -1
    expected = {
        "masks": (M.shape[0], P),
        "counts": (P,),
        "ntk_weights": (P,),
        "sampled_gates": (d, m),
        "gate_pattern": (m,),
    }
    for field, shape in expected.items():
        actual = np.shape(getattr(p, field))
        if actual != shape:
            raise ModelFileError(
                f"{where}.patterns_.{field} has shape {actual}; with {P} patterns of "
                f"{d}-dimensional gates it should be {shape}."
            )
    gp = np.asarray(p.gate_pattern)
    if gp.dtype.kind not in "iu" or (gp.size and (gp.min() < -1 or gp.max() >= P)):
        raise ModelFileError(f"{where}.patterns_.gate_pattern must be integers in [-1, {P}).")
    gates = getattr(est, "gates_", None)
    if isinstance(gates, np.ndarray) and gates.shape != G.shape:
        raise ModelFileError(
            f"{where}.gates_ has shape {gates.shape}, the patterns' gates {G.shape}."
        )
    n_features = getattr(est, "n_features_in_", None)
    fit_intercept = getattr(est, "fit_intercept", None)
    if isinstance(n_features, (int, np.integer)) and isinstance(fit_intercept, (bool, np.bool_)):
        if d != n_features + bool(fit_intercept):
            raise ModelFileError(
                f"{where}: n_features_in_ = {n_features} (plus {int(bool(fit_intercept))} bias "
                f"column) disagrees with the {d}-dimensional gates."
            )
    coef = getattr(est, "coef_", None)
    lead = _COEF_LEAD.get(type(est).__name__, ())
    need = (*lead, P, d)
    if isinstance(coef, np.ndarray) and coef.ndim >= 2 and coef.shape[:len(need)] != need:
        raise ModelFileError(
            f"{where}.coef_ has shape {coef.shape}; {P} patterns of {d}-dimensional gates "
            f"need ({', '.join(map(str, need))}, ...)."
        )


def _probe(model, path) -> None:
    """The loaded model predicts finite values of the right shape on a few probe inputs."""
    n_features = getattr(model, "n_features_in_", None)
    if not isinstance(n_features, (int, np.integer)) or isinstance(n_features, bool):
        return
    rng = np.random.default_rng(0)
    X = np.vstack([np.zeros(n_features), np.ones(n_features), -np.ones(n_features),
                   rng.standard_normal((3, n_features))])
    if getattr(model, "feature_names_in_", None) is not None:
        import pandas as pd

        X = pd.DataFrame(X, columns=list(model.feature_names_in_))
    final = model[-1] if _is_pipeline(model) else model
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            pred = np.asarray(model.predict(X))
            scores = (np.asarray(model.decision_function(X))
                      if hasattr(model, "decision_function") else None)
        except Exception as exc:  # noqa: BLE001 - any failure means an inconsistent file
            message = " ".join(str(exc).split())
            raise ModelFileError(
                f"{path}: the loaded model cannot predict ({type(exc).__name__}: {message}); "
                "its arrays are inconsistent."
            ) from exc
    if pred.shape[0] != len(X) or pred.ndim > 2:
        raise ModelFileError(
            f"{path}: the loaded model predicts shape {pred.shape} for {len(X)} samples."
        )
    classes = getattr(final, "classes_", None)
    if classes is not None:
        if not np.all(np.isin(pred, np.asarray(classes))):
            raise ModelFileError(f"{path}: the loaded classifier predicts labels not in classes_.")
    elif pred.dtype.kind not in "fiu" or not np.all(np.isfinite(pred)):
        raise ModelFileError(
            f"{path}: the loaded model predicts non-finite or non-real values ({pred.dtype})."
        )
    if scores is not None and (scores.dtype.kind not in "fiu" or not np.all(np.isfinite(scores))):
        raise ModelFileError(f"{path}: the loaded model's decision_function is not finite.")


# --------------------------------------------------------------------------- metadata


def _parse_metadata(raw, path) -> dict:
    if raw is None:
        raise ModelFileError(f"{path}: not a gatedrelu model file (no {_METADATA_KEY!r} entry).")
    if raw.dtype != np.uint8 or raw.ndim != 1:
        raise ModelFileError(f"{path}: the {_METADATA_KEY!r} entry is not a uint8 byte string.")
    try:
        metadata = json.loads(raw.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise ModelFileError(f"{path}: the metadata is not valid JSON ({exc}).") from exc
    if not isinstance(metadata, dict):
        raise ModelFileError(f"{path}: the metadata is not a JSON object.")
    if metadata.get("format") != FORMAT:
        raise ModelFileError(
            f"{path}: not a gatedrelu model file (format {metadata.get('format')!r}, "
            f"expected {FORMAT!r})."
        )
    version = metadata.get("format_version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ModelFileError(f"{path}: invalid format_version {version!r}.")
    if version > FORMAT_VERSION:
        raise ModelFileError(
            f"{path}: format_version {version} was written by a newer gatedrelu "
            f"({metadata.get('gatedrelu_version', '?')}); this gatedrelu ({_version()}) reads "
            f"format_version <= {FORMAT_VERSION}. Upgrade gatedrelu to load it."
        )
    name = metadata.get("estimator")
    if not isinstance(name, str):
        raise ModelFileError(
            f"{path}: the metadata's 'estimator' must be a class name (a JSON string); got "
            f"{type(name).__name__} {name!r}."
        )
    if name == "Pipeline":
        if version < 2:
            raise ModelFileError(f"{path}: a pipeline needs format_version 2, got {version}.")
    elif name not in ESTIMATORS:
        raise ModelFileError(
            f"{path}: unknown estimator class {name!r}; model files can hold "
            f"{', '.join(ESTIMATORS)} (or a Pipeline ending in one)."
        )
    if not isinstance(metadata.get("extra", {}), dict):
        raise ModelFileError(f"{path}: the metadata's 'extra' is not a JSON object.")
    return metadata


def _require(metadata: dict, key: str, kind: type, path):
    value = metadata.get(key)
    if not isinstance(value, kind):
        raise ModelFileError(f"{path}: the metadata's {key!r} is missing or not a {kind.__name__}.")
    return value


def _class_of(name, table: dict = ESTIMATORS, path=None):
    """The class ``name`` from the fixed table ``table`` (:data:`ESTIMATORS` by default)."""
    prefix = f"{path}: " if path is not None else ""
    module_name = table.get(name) if isinstance(name, str) else None
    if module_name is None:
        raise ModelFileError(f"{prefix}unknown estimator class {name!r}; known: {', '.join(table)}.")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ModelFileError(
            f"{prefix}{name} needs {module_name}, which cannot be imported here: {exc}"
        ) from exc
    cls = getattr(module, name, None)
    if not isinstance(cls, type):
        raise ModelFileError(f"{prefix}{module_name} does not define {name}.")
    return cls


_estimator_class = _class_of  # the former name


def _version() -> str:
    from . import __version__

    return __version__
