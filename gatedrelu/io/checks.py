"""The checks of a loaded model: parameters, fitted state, patterns and a probe prediction."""

from __future__ import annotations

import warnings

import numpy as np

from ..patterns import ActivationPatterns
from .format import _COEF_LEAD, _PATTERN_FIELDS, NONFINITE_OK, ModelFileError, _is_pipeline

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
    from .._validation import check_int, check_nonnegative, check_option

    params = estimator.get_params(deep=False)
    if type(estimator).__module__.startswith("sklearn."):
        return
    if "solver" in params:
        from ..group_lasso import SOLVERS

        check_option(params["solver"], "solver", SOLVERS)
    if params.get("tol") is not None:
        check_nonnegative(params["tol"], "tol")
    if params.get("max_iter") is not None:
        check_int(params["max_iter"], "max_iter")
    if "verbose" in params:
        check_int(params["verbose"], "verbose", minimum=0)
    if "penalty" in params:
        from ..problem import make_penalty

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
