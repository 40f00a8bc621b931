"""Saving and loading fitted gatedrelu estimators in a safe format (no pickle).

A model file is one ``.npz`` archive written by :func:`numpy.savez_compressed` and read back with
``allow_pickle=False``, so loading a file never runs code from it: it holds plain numeric, bool
and unicode arrays and one JSON document. Only the gatedrelu estimators named in
:data:`ESTIMATORS` can be saved and loaded; the class is looked up in that fixed table by name,
never imported from a name found in the file.

File format, ``format_version`` 1
---------------------------------
Archive entries:

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
          "extra": {...}                             # caller's JSON object (the CLI's data description)
        }

``param.<name>``
    An array-valued constructor parameter (user ``gates``).
``attr.<name>``
    An array-valued (or numpy-scalar) fitted attribute. Arrays keep their dtype and shape exactly;
    allowed dtypes are bool, integer, float, complex, bytes and unicode. String class labels are a
    unicode array; object arrays of strings (labels given as Python objects, or
    ``feature_names_in_``) are stored as unicode and turned back into object arrays.
``attr.<name>.<field>``
    One field of an :class:`~gatedrelu.patterns.ActivationPatterns` attribute.

Anything else in an estimator (a Generator, a callable, a nested estimator) cannot be saved:
:func:`save_model` raises a ``TypeError`` naming the attribute, so every file written can be
read back. Array-likes that are not numpy arrays (JAX arrays) are saved as, and load as, numpy
arrays. A ``random_state`` given as a Generator is saved as ``None`` with a warning: it only
matters for refitting.

:func:`load_model` raises :class:`ModelFileError` (a ``ValueError``) for any file that is not a
valid model file: not an ``.npz`` archive, truncated, missing or unexpected entries, object
(pickled) arrays, bad JSON, a wrong ``format``, a newer ``format_version``, an unknown estimator
or parameter. A missing file raises the usual ``FileNotFoundError``.
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
from sklearn.utils.validation import check_is_fitted

from .patterns import ActivationPatterns

__all__ = [
    "ESTIMATORS",
    "FORMAT",
    "FORMAT_VERSION",
    "ModelFileError",
    "load_model",
    "read_metadata",
    "save_model",
]

FORMAT = "gatedrelu-model"
FORMAT_VERSION = 1

#: Estimators that can be saved and loaded: class name -> module that defines it.
ESTIMATORS = {
    "GatedReLURegressor": "gatedrelu.estimators",
    "GatedReLUClassifier": "gatedrelu.estimators",
    "GatedReLURegressorCV": "gatedrelu.cv",
    "GatedReLUClassifierCV": "gatedrelu.cv",
    "MKLRegressor": "gatedrelu.mkl_estimators",
    "MKLClassifier": "gatedrelu.mkl_estimators",
}

_METADATA_KEY = "metadata"
_ARRAY_DTYPE_KINDS = "biufcSU"
_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_PATTERN_FIELDS = tuple(f.name for f in dataclasses.fields(ActivationPatterns))


class ModelFileError(ValueError):
    """The file is not a valid gatedrelu model file (the message says what is wrong)."""


# ---------------------------------------------------------------------------------------------
# Saving
# ---------------------------------------------------------------------------------------------


def save_model(estimator, path, *, extra: dict | None = None) -> Path:
    """Save a fitted gatedrelu estimator to one ``.npz`` file (see the module docstring).

    Parameters
    ----------
    estimator : fitted estimator
        An instance of one of :data:`ESTIMATORS` (not a subclass).
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
        If the estimator is not a saveable gatedrelu estimator, or holds an attribute or
        parameter of a type the format cannot store.
    sklearn.exceptions.NotFittedError
        If the estimator is not fitted.
    """
    name = type(estimator).__name__
    if name not in ESTIMATORS or _estimator_class(name) is not type(estimator):
        raise TypeError(
            f"Only the gatedrelu estimators {', '.join(ESTIMATORS)} can be saved; got {name}."
        )
    check_is_fitted(estimator)
    if extra is not None:
        if not isinstance(extra, dict):
            raise TypeError(f"extra must be a dict, got {type(extra).__name__}.")
        extra = _json_value(extra, "extra")

    arrays: dict[str, np.ndarray] = {}
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
                stacklevel=2,
            )
            value = None
        if _is_array(value):
            arrays[f"param.{key}"] = _plain_array(np.asarray(value), f"parameter {key!r}")
            array_params.append(key)
        else:
            json_params[key] = _json_value(value, f"parameter {key!r}")

    attributes = {}
    for key, value in vars(estimator).items():
        if key in params:
            continue
        _check_attribute_name(key, type(estimator), params, TypeError)
        attributes[key] = _encode_attribute(key, value, arrays)

    metadata = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "gatedrelu_version": _version(),
        "estimator": name,
        "params": json_params,
        "array_params": array_params,
        "attributes": attributes,
        "extra": extra if extra is not None else {},
    }
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


def _encode_attribute(key: str, value, arrays: dict) -> dict:
    """Metadata entry of one fitted attribute; its arrays go into ``arrays``."""
    what = f"attribute {key!r}"
    if value is None:
        return {"kind": "none"}
    if isinstance(value, ActivationPatterns):
        for field in _PATTERN_FIELDS:
            arrays[f"attr.{key}.{field}"] = _plain_array(
                np.asarray(getattr(value, field)), f"{what} field {field!r}"
            )
        return {"kind": "activation_patterns", "fields": list(_PATTERN_FIELDS)}
    if type(value) in (bool, int, float, str):
        return {"kind": "scalar", "value": value}
    if isinstance(value, np.generic):
        arrays[f"attr.{key}"] = _plain_array(np.asarray(value), what)
        return {"kind": "numpy_scalar"}
    if _is_array(value):
        arr = np.asarray(value)
        if arr.dtype == object:
            if not all(isinstance(v, str) for v in arr.flat):
                raise TypeError(
                    f"Cannot save {what}: an object array whose entries are not all str."
                )
            arrays[f"attr.{key}"] = arr.astype(str) if arr.size else arr.astype("U1")
            return {"kind": "object_str_array"}
        arrays[f"attr.{key}"] = _plain_array(arr, what)
        return {"kind": "array"}
    if isinstance(value, (list, tuple, dict)):
        return {
            "kind": "json",
            "value": _json_value(value, what),
            "tuple": isinstance(value, tuple),
        }
    raise TypeError(
        f"Cannot save {what} of type {type(value).__name__}: a model file holds arrays, "
        "ActivationPatterns, None, scalars and JSON lists/dicts only."
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
    """Load an estimator saved by :func:`save_model`.

    Parameters
    ----------
    path : str or path-like

    Returns
    -------
    estimator
        A fitted estimator of the saved class, with the saved parameters and fitted attributes;
        its predictions equal those of the saved estimator.

    Raises
    ------
    ModelFileError
        If the file is not a valid model file; the message says what is wrong.
    FileNotFoundError
        If ``path`` does not exist.
    """
    arrays = _read_archive(path)
    metadata = _parse_metadata(arrays.pop(_METADATA_KEY, None), path)
    cls = _estimator_class(metadata["estimator"])

    used = set()

    def take(key: str) -> np.ndarray:
        if key not in arrays:
            raise ModelFileError(f"{path}: the model file has no entry {key!r}.")
        used.add(key)
        return arrays[key]

    params = dict(_require(metadata, "params", dict, path))
    array_params = _require(metadata, "array_params", list, path)
    for key in array_params:
        if not isinstance(key, str):
            raise ModelFileError(f"{path}: array_params must be a list of names.")
        params[key] = take(f"param.{key}")
    known = cls().get_params(deep=False)
    unknown = sorted(set(params) - set(known))
    if unknown:
        raise ModelFileError(
            f"{path}: {', '.join(map(repr, unknown))} are not parameters of {cls.__name__} in "
            f"gatedrelu {_version()} (file written by gatedrelu "
            f"{metadata.get('gatedrelu_version', '?')})."
        )
    estimator = cls(**params)

    for key, spec in _require(metadata, "attributes", dict, path).items():
        _check_attribute_name(key, cls, known, lambda msg: ModelFileError(f"{path}: {msg}"))
        setattr(estimator, key, _decode_attribute(key, spec, take, path))

    unexpected = sorted(set(arrays) - used)
    if unexpected:
        raise ModelFileError(
            f"{path}: unexpected entries {', '.join(map(repr, unexpected))} not described by "
            "the metadata."
        )
    return estimator


def read_metadata(path) -> dict:
    """The validated JSON metadata of a model file (see the module docstring), as a dict."""
    arrays = _read_archive(path, only=_METADATA_KEY)
    return _parse_metadata(arrays.get(_METADATA_KEY), path)


def _decode_attribute(key: str, spec, take, path):
    if not isinstance(spec, dict) or "kind" not in spec:
        raise ModelFileError(f"{path}: the metadata of attribute {key!r} has no 'kind'.")
    kind = spec["kind"]
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
        arr = take(f"attr.{key}")
        if arr.ndim != 0:
            raise ModelFileError(f"{path}: attribute {key!r} should be 0-dimensional.")
        return arr[()]
    if kind == "array":
        return take(f"attr.{key}")
    if kind == "object_str_array":
        arr = take(f"attr.{key}")
        if arr.dtype.kind != "U":
            raise ModelFileError(f"{path}: attribute {key!r} should be a unicode array.")
        return arr.astype(object)
    if kind == "activation_patterns":
        fields = spec.get("fields")
        if not isinstance(fields, list) or sorted(fields) != sorted(_PATTERN_FIELDS):
            raise ModelFileError(
                f"{path}: attribute {key!r} has ActivationPatterns fields {fields!r}; expected "
                f"{list(_PATTERN_FIELDS)}."
            )
        return ActivationPatterns(**{f: take(f"attr.{key}.{f}") for f in _PATTERN_FIELDS})
    raise ModelFileError(f"{path}: attribute {key!r} has unknown kind {kind!r}.")


def _read_archive(path, only: str | None = None) -> dict[str, np.ndarray]:
    """Every array of the ``.npz`` at ``path`` (or only the entry ``only``), without pickle."""
    with open(path, "rb") as fh:  # a missing file raises FileNotFoundError as usual
        magic = fh.read(4)
        if not magic:
            raise ModelFileError(f"{path}: not a gatedrelu model file (the file is empty).")
        if magic != b"PK\x03\x04":
            raise ModelFileError(
                f"{path}: not a gatedrelu model file (not an .npz archive: no zip signature)."
            )
        fh.seek(0)
        try:
            with np.load(fh, allow_pickle=False) as archive:
                keys = archive.files if only is None else [k for k in archive.files if k == only]
                return {key: archive[key] for key in keys}
        except ValueError as exc:
            if "pickle" in str(exc) or "Object arrays" in str(exc):
                raise ModelFileError(
                    f"{path}: the file holds pickled or object arrays, which are never loaded "
                    "(a gatedrelu model file has only plain arrays)."
                ) from exc
            raise ModelFileError(f"{path}: not a readable gatedrelu model file ({exc}).") from exc
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, KeyError) as exc:
            raise ModelFileError(
                f"{path}: not a readable gatedrelu model file (corrupt or truncated .npz: {exc})."
            ) from exc


def _parse_metadata(raw, path) -> dict:
    if raw is None:
        raise ModelFileError(f"{path}: not a gatedrelu model file (no {_METADATA_KEY!r} entry).")
    if raw.dtype != np.uint8 or raw.ndim != 1:
        raise ModelFileError(f"{path}: the {_METADATA_KEY!r} entry is not a uint8 byte string.")
    try:
        metadata = json.loads(raw.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
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
    if name not in ESTIMATORS:
        raise ModelFileError(
            f"{path}: unknown estimator class {name!r}; model files can hold "
            f"{', '.join(ESTIMATORS)}."
        )
    if not isinstance(metadata.get("extra", {}), dict):
        raise ModelFileError(f"{path}: the metadata's 'extra' is not a JSON object.")
    return metadata


def _require(metadata: dict, key: str, kind: type, path):
    value = metadata.get(key)
    if not isinstance(value, kind):
        raise ModelFileError(f"{path}: the metadata's {key!r} is missing or not a {kind.__name__}.")
    return value


def _estimator_class(name: str):
    """The class ``name`` from the fixed table :data:`ESTIMATORS`."""
    module_name = ESTIMATORS.get(name)
    if module_name is None:
        raise ModelFileError(f"unknown estimator class {name!r}; known: {', '.join(ESTIMATORS)}.")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ModelFileError(
            f"{name} needs {module_name}, which cannot be imported here: {exc}"
        ) from exc
    cls = getattr(module, name, None)
    if not isinstance(cls, type):
        raise ModelFileError(f"{module_name} does not define {name}.")
    return cls


def _version() -> str:
    from . import __version__

    return __version__
