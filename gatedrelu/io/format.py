"""The model file's format: its names and limits, :class:`ModelFileError` and the metadata schema.

The specification is the docstring of :mod:`gatedrelu.io`."""

from __future__ import annotations

import dataclasses
import importlib
import json
import re

import numpy as np

from ..patterns import ActivationPatterns

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
    from .. import __version__

    return __version__


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


def _is_pipeline(obj) -> bool:
    return type(obj).__name__ == "Pipeline" and type(obj).__module__.startswith("sklearn.")


def _check_attribute_name(key, cls, params, error) -> None:
    if (
        not isinstance(key, str)
        or not _NAME_RE.match(key)
        or key.startswith("__")
        or key in params
        or hasattr(cls, key)
    ):
        raise error(f"Attribute name {key!r} cannot be stored in or restored from a model file.")
