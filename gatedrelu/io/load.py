"""Loading: a model file back to a fitted estimator (or pipeline), after every check."""

from __future__ import annotations

from ..patterns import ActivationPatterns
from .archive import _Archive
from .checks import _call_validation, _check_fitted_state, _probe
from .format import (
    _PATTERN_FIELDS,
    ESTIMATORS,
    ModelFileError,
    _check_attribute_name,
    _class_of,
    _described,
    _estimator_specs,
    _expected_entries,
    _require,
    _version,
)


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
