"""Running one task of the compare experiment: one data set, one seed, every method.

Split, gates, grid searches (widened at an edge), the optimum ``F*`` of the same problem and
the test predictions; one CSV row per method (:mod:`gatedrelu.experiments.compare`)."""

from __future__ import annotations

import math
import time
import warnings

import numpy as np

from .compare_config import (
    KERNELS,
    KEY_COLUMNS,
    MAX_WIDEN,
    METHODS,
    NETWORKS,
    OBJECTIVE_METHODS,
    OPTIMUM_TOL,
    PARAM_OF,
    Config,
    _grid_str,
)

# --------------------------------------------------------------------------- one task


def _ones_column(X):
    """``[X, 1]``: the bias as an input column (the kernels' program)."""
    from ..estimators import add_bias

    return add_bias(np.asarray(X), True)


def _bias_step():
    from sklearn.preprocessing import FunctionTransformer

    return FunctionTransformer(_ones_column)


def make_estimator(method: str, gates: np.ndarray, seed: int, config: Config = Config(),
                   n_classes: int = 2):
    """Pipeline (StandardScaler, classifier) and its CV grid for ``method``.

    Returns
    -------
    pipeline : sklearn.pipeline.Pipeline
    grid_name : str or None
        The parameter tuned by :class:`~sklearn.model_selection.GridSearchCV` (``"alpha"`` or
        ``"C"``); None for ``path``, which is its own cross-validation
        (:class:`gatedrelu.mkl_path_cv.MKLPathClassifierCV`, alpha and the iterate chosen
        jointly on the same stratified folds as the other methods').
    """
    from sklearn.model_selection import StratifiedKFold
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    extra = []
    if method == "path":
        from ..mkl_path_cv import MKLPathClassifierCV

        # its own scaler, fitted inside each of its folds (the pipeline's, fitted on the whole
        # training split, is undone fold by fold: standardising is affine-equivariant)
        clf = MKLPathClassifierCV(gates=gates, alphas=config.alphas, random_state=seed,
                                  cv=StratifiedKFold(config.cv, shuffle=True, random_state=seed),
                                  scaler=StandardScaler())
    elif method in KERNELS:
        from ..mkl_estimators import MKLClassifier

        clf = MKLClassifier(kernel=method, gates=gates, random_state=seed)
    elif method in ("gated_relu", "gated_relu_logistic"):
        from ..estimators import GatedReLUClassifier

        loss = ("squared" if method == "gated_relu" else
                "logistic" if n_classes == 2 else "multinomial")
        # the kernels' program: the bias a penalised input column, no free intercept, no
        # linear part (the estimator's defaults add both; then it would not solve the same
        # problem as the optimal kernel, and its objective ratio against F* would drop below 1)
        clf = GatedReLUClassifier(gates=gates, random_state=seed, loss=loss,
                                  fit_intercept=False, linear=False)
        extra = [("bias", _bias_step())]
    elif method == "convex_relu":
        from ..convex_relu import ConvexReLUClassifier

        clf = ConvexReLUClassifier(gates=gates, random_state=seed, fit_intercept=False)
        extra = [("bias", _bias_step())]
    elif method == "svc_rbf":
        from sklearn.svm import SVC

        clf = SVC(kernel="rbf", gamma="scale")
    elif method == "mlp":
        from sklearn.neural_network import MLPClassifier

        clf = MLPClassifier(hidden_layer_sizes=(100,), max_iter=500, random_state=seed)
    else:
        raise ValueError(f"Unknown method {method!r}; expected one of {', '.join(METHODS)}.")
    name = None if method == "path" else PARAM_OF[method]
    return Pipeline([("scale", StandardScaler()), *extra, ("clf", clf)]), name


def _grid(method: str, config: Config) -> tuple:
    if method == "svc_rbf":
        return config.svc_Cs
    if method == "mlp":
        return config.mlp_alphas
    return config.alphas


def split(dataset: str, seed: int, test_size: float = 0.25):
    """Stratified train/test split of a KEEL data set: ``Xtr, Xte, ytr, yte``."""
    from sklearn.model_selection import train_test_split

    from ..datasets import load_keel

    X, y = load_keel(dataset)
    return train_test_split(X, y, test_size=test_size, stratify=y, random_state=seed)


def _training_problem(pipe, Xtr, ytr):
    """Standardised training inputs with the bias column, and the +1/-1 targets the fit used."""
    from types import SimpleNamespace

    from ..estimators import add_bias, encode_labels

    Xb = add_bias(pipe.named_steps["scale"].transform(Xtr), True)
    T = encode_labels(SimpleNamespace(), ytr).astype(Xb.dtype)
    return Xb, T


def _objective(method: str, clf, Xb, T, alpha) -> float:
    """Training objective of a fitted gatedrelu classifier: ``J(eta)`` or ``F(U)``."""
    if method in ("gated_relu", "convex_relu"):
        return float(clf.objective_)
    if method == "path":
        clf = clf.best_estimator_
    weights = getattr(clf, "weights_", None)
    if method == "infinite_ntk" or weights is None:
        # Closed-form kernel: J = (alpha/2) [tr Y^T (t Theta + n alpha I)^{-1} Y + t].
        import scipy.linalg

        from ..kernels import ntk_kernel

        t = float(clf.kernel_scale_)
        K = t * ntk_kernel(Xb)
        K[np.diag_indices_from(K)] += Xb.shape[0] * alpha
        a = scipy.linalg.cho_solve(scipy.linalg.cho_factor(K, lower=True), T)
        return 0.5 * alpha * (float(np.vdot(T, a)) + t)
    from ..mkl import mkl_objective

    return mkl_objective(Xb, T, clf.patterns_, weights, alpha)


def _optimum(Xb, T, patterns, alpha) -> tuple[float, float]:
    """``(F*, certified gap)`` of the group lasso on ``patterns`` at ``alpha`` (IRLS)."""
    from ..mkl import irls

    res = irls(Xb, T, patterns, alpha, tol=OPTIMUM_TOL)
    return float(res.objective), float(res.dual_gap)


def widened(grid, value, upper: float = math.inf):
    """The grid one step wider on the side where ``value`` sits on its edge, or None.

    The step repeats the ratio of the two outermost values at that edge (10 for a
    one-point grid). Not above ``upper`` (``alpha_max`` of the training split for the
    gatedrelu methods: every larger alpha gives the same zero model).
    """
    grid = tuple(sorted(float(v) for v in grid))
    value = float(value)
    if value == grid[0] and (len(grid) == 1 or value < grid[-1]):
        step = grid[1] / grid[0] if len(grid) > 1 else 10.0
        return (grid[0] / step, *grid)
    if value == grid[-1] and value < upper:
        step = grid[-1] / grid[-2] if len(grid) > 1 else 10.0
        return (*grid, grid[-1] * step)
    return None


def _search(pipe, name, grid, Xtr, ytr, seed, config):
    """The pipeline of :func:`make_estimator` (not modified) tuned on ``grid`` by the
    protocol's CV: ``(fitted pipeline, parameter name, chosen value, chosen iterate or "",
    CV accuracy)``."""
    from sklearn.base import clone
    from sklearn.model_selection import GridSearchCV, StratifiedKFold

    if name is None:  # path: alpha and the iterate by its own K-fold CV
        best = clone(pipe).set_params(clf__alphas=grid).fit(Xtr, ytr)
        clf = best.named_steps["clf"]
        return (best, "alpha", clf.alpha_, str(clf.iterate_),
                float(clf.path_scores_.mean(axis=2).max()))
    search = GridSearchCV(
        pipe,
        {f"clf__{name}": list(grid)},
        cv=StratifiedKFold(config.cv, shuffle=True, random_state=seed),
        scoring="accuracy",
        error_score="raise",
        n_jobs=1,
    )
    search.fit(Xtr, ytr)
    return (search.best_estimator_, name, search.best_params_[f"clf__{name}"], "",
            search.best_score_)


def _alpha_max_of_split(Xtr, ytr, gates) -> float:
    """``alpha_max`` of the group lasso on the standardised training split (+1/-1 codes)."""
    from types import SimpleNamespace

    from sklearn.preprocessing import StandardScaler

    from ..estimators import add_bias, encode_labels
    from ..group_lasso import alpha_max
    from ..patterns import activation_patterns

    Xb = add_bias(StandardScaler().fit_transform(Xtr), True)
    T = encode_labels(SimpleNamespace(), ytr).astype(Xb.dtype)
    return float(alpha_max(Xb, T, activation_patterns(Xb, gates)))


def _predictions(pipe, X) -> str:
    """Predicted labels, space-separated (the ``test_predictions`` column)."""
    return " ".join(str(v) for v in pipe.predict(X))


def _fmt(value) -> str:
    return "" if value is None else repr(float(value))


def run_task(dataset: str, seed: int, config: Config = Config()) -> list[dict]:
    """Every method of ``config`` on one data set and seed; one row per method (``COLUMNS``)."""
    from ..patterns import sample_gates

    Xtr, Xte, ytr, yte = split(dataset, seed, config.test_size)
    gates = sample_gates(Xtr.shape[1] + 1, config.n_gates, random_state=seed)
    key = dict(zip(KEY_COLUMNS, (dataset, str(seed), *config.key()), strict=True))
    return fit_methods(Xtr, Xte, ytr, yte, gates, seed, config, key)


def fit_methods(Xtr, Xte, ytr, yte, gates, seed: int, config: Config = Config(),
                key: dict | None = None) -> list[dict]:
    """Every method of ``config`` tuned on ``(Xtr, ytr)`` and scored on ``(Xte, yte)``, all
    with ``gates`` (of shape (n_features + 1, m), bias last) and folds shuffled by ``seed``: the
    protocol of :func:`run_task` on any split. One row per method; ``key`` (default: the
    set-up with data set "custom") fills the key columns."""
    from sklearn.exceptions import ConvergenceWarning
    from threadpoolctl import threadpool_limits

    from ..patterns import activation_patterns

    d = Xtr.shape[1]
    n_classes = len(np.unique(ytr))
    if key is None:
        key = dict(zip(KEY_COLUMNS, ("custom", str(seed), *config.key()), strict=True))
    base = dict(key, n_train=len(ytr), n_test=len(yte), n_features=d, n_classes=n_classes)
    rows, optima = [], {}
    amax = _alpha_max_of_split(Xtr, ytr, gates)
    # One BLAS thread per task (see the module docstring).
    with threadpool_limits(limits=1, user_api="blas"), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for method in config.methods:
            t0 = time.perf_counter()
            grid = tuple(sorted(_grid(method, config)))
            # the zero model at and above alpha_max: no wider grid upwards from there
            upper = amax if method in (*KERNELS, *NETWORKS) else math.inf
            pipe, tuned = make_estimator(method, gates, seed, config, n_classes)
            for attempt in range(MAX_WIDEN + 1):
                best, name, value, iterate, cv_accuracy = _search(
                    pipe, tuned, grid, Xtr, ytr, seed, config)
                wider = widened(grid, value, upper) if attempt < MAX_WIDEN else None
                if wider is None:
                    break
                grid = wider
            seconds = time.perf_counter() - t0
            row = dict(
                base,
                method=method,
                n_patterns="",
                test_accuracy=_fmt(best.score(Xte, yte)),
                train_accuracy=_fmt(best.score(Xtr, ytr)),
                best_param_name=name,
                best_param=_fmt(value),
                best_iterate=iterate,
                param_grid=_grid_str(grid),
                test_predictions=_predictions(best, Xte),
                cv_accuracy=_fmt(cv_accuracy),
                fit_seconds=_fmt(seconds),
                objective="",
                optimum="",
                optimum_gap="",
                objective_ratio="",
            )
            if method in OBJECTIVE_METHODS:
                clf = best.named_steps["clf"]
                Xb, T = _training_problem(best, Xtr, ytr)
                patterns = activation_patterns(Xb, gates)
                if value not in optima:
                    optima[value] = _optimum(Xb, T, patterns, value)
                F_star, gap = optima[value]
                J = _objective(method, clf, Xb, T, value)
                row.update(
                    n_patterns=patterns.n_patterns,
                    objective=_fmt(J),
                    optimum=_fmt(F_star),
                    optimum_gap=_fmt(gap),
                    objective_ratio=_fmt(J / F_star),
                )
            rows.append(row)
    return rows
