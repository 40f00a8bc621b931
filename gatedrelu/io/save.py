"""Saving: an estimator (or pipeline) to one ``.npz`` file of plain arrays and JSON metadata."""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path

import numpy as np

from ..patterns import ActivationPatterns
from .format import (
    _ARRAY_DTYPE_KINDS,
    _METADATA_KEY,
    _NAME_RE,
    _PATTERN_FIELDS,
    ESTIMATORS,
    FORMAT,
    TRANSFORMERS,
    _check_attribute_name,
    _class_of,
    _is_pipeline,
    _version,
)


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
