"""Cross-validated gated ReLU estimators, in the manner of scikit-learn's ``LassoCV``.

:class:`GatedReLURegressorCV` and :class:`GatedReLUClassifierCV` choose the weight decay
``alpha`` of a :class:`~gatedrelu.GatedReLURegressor` / :class:`~gatedrelu.GatedReLUClassifier`
by K-fold cross-validation, then refit on all the data at the chosen ``alpha_``.

How one fit works:

1. The gates are sampled once, from ``random_state``, exactly as
   ``GatedReLURegressor(random_state=...)`` samples them (or ``gates`` is used as given), so a
   manual :class:`~sklearn.model_selection.GridSearchCV` over ``GatedReLURegressor(alpha=a,
   random_state=rs)`` sees the same gates in every fold.
2. Without an explicit ``alphas``, the grid is geometric from ``alpha_max`` of the full training
   data down to ``eps * alpha_max`` (``n_alphas`` values), as in ``LassoCV``.
3. Each fold computes the activation patterns of those gates on its training rows and runs one
   warm-started regularisation path (:func:`gatedrelu.group_lasso_path`) over the grid; the
   held-out rows are predicted through the masks of the gates on them, as ``predict`` does.
   Folds run in parallel with joblib (threads by default); the result does not depend on
   ``n_jobs``.
4. ``alpha_`` maximises the mean validation score over the folds (the largest ``alpha``, i.e. the
   sparser network, among ties), and a :class:`~gatedrelu.GatedReLURegressor` (or classifier) with
   the same gates is fitted on all the data at ``alpha_``; its fitted attributes are copied.
"""

from __future__ import annotations

import numbers
import reprlib
from types import SimpleNamespace

import jax
import numpy as np
from joblib import Parallel, delayed
from sklearn.base import ClassifierMixin, RegressorMixin, is_classifier
from sklearn.metrics import mean_squared_error
from sklearn.model_selection import check_cv
from sklearn.utils.validation import column_or_1d, validate_data

from . import group_lasso as _group_lasso
from ._validation import (
    as_float_array,
    check_int,
    check_nonnegative,
    check_option,
    check_positive,
    check_sample_weight,
)
from .estimators import (
    CLASSIFIER_LOSSES,
    GatedBase,
    GatedReLUClassifier,
    GatedReLURegressor,
    _ClassifierOutputs,
    _GatedReLUMixin,
    add_bias,
    blas_threads,
    datafit_name,
    decode_scores,
    default_tol,
    encode_labels,
    target_scale,
)
from .operator import forward
from .patterns import activation_patterns, gate_masks
from .problem import make_penalty

__all__ = ["GatedReLURegressorCV", "GatedReLUClassifierCV"]

#: Fitted attributes copied from the refit estimator.
_REFIT_ATTRIBUTES = (
    "coef_",
    "intercept_",
    "target_scale_",
    "gates_",
    "patterns_",
    "n_iter_",
    "dual_gap_",
    "objective_",
    "n_active_neurons_",
)


# --------------------------------------------------------------------------- validation helpers


def _check_alphas(alphas) -> np.ndarray:
    """A non-empty 1-d grid of finite values > 0, sorted in decreasing order (float64)."""
    if np.ndim(alphas) == 1 and np.size(alphas) == 0:
        raise ValueError(
            "alphas is empty; give at least one value, or None for the automatic grid."
        )
    grid = as_float_array(alphas, "alphas", ndim=1, dtype=np.float64)
    if np.any(grid <= 0):
        raise ValueError(f"alphas must all be > 0; got {float(grid.min())}.")
    return np.sort(grid)[::-1]


def _check_n_jobs(n_jobs):
    if n_jobs is None:
        return None
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, numbers.Integral):
        raise TypeError(f"n_jobs must be None or an integer, got {type(n_jobs).__name__}.")
    if n_jobs == 0:
        raise ValueError("n_jobs must be None or a non-zero integer (-1: all cores), got 0.")
    return int(n_jobs)


def _check_verbose(verbose) -> int:
    if isinstance(verbose, (bool, np.bool_)):
        return int(verbose)
    return check_int(verbose, "verbose", minimum=0)


def _check_splits(cv, X, y, classifier: bool) -> list:
    """Train/test index pairs of ``cv`` (``check_cv`` semantics), with clear errors."""
    try:
        splitter = check_cv(cv, y, classifier=classifier)
        splits = [(np.asarray(tr), np.asarray(te)) for tr, te in splitter.split(X, y)]
    except (ValueError, TypeError) as exc:
        error = ValueError if isinstance(exc, ValueError) else TypeError
        raise error(f"Invalid cv={cv!r}: {exc}") from exc
    if not splits:
        raise ValueError(f"Invalid cv={cv!r}: it produced no train/test split.")
    n = X.shape[0]
    for k, pair in enumerate(splits):
        splits[k] = train, test = tuple(_split_index(idx, n, cv, k, part)
                                        for idx, part in zip(pair, ("training", "test")))
        if train.size == 0 or test.size == 0:
            raise ValueError(
                f"Invalid cv={cv!r}: split {k} has {train.size} training and {test.size} test "
                "rows; every split needs both."
            )
    return splits


def _split_index(idx: np.ndarray, n: int, cv, k: int, part: str) -> np.ndarray:
    """Row indices in ``[0, n)`` of one side of split ``k`` (a boolean mask of length n too)."""
    if idx.dtype == bool:
        if idx.shape != (n,):
            raise ValueError(f"Invalid cv={reprlib.repr(cv)}: the {part} mask of split {k} has shape "
                             f"{idx.shape}; a boolean mask needs one entry per sample, ({n},).")
        return np.flatnonzero(idx)
    if idx.size == 0:
        return idx.astype(np.intp)
    if idx.ndim != 1 or not np.issubdtype(idx.dtype, np.integer):
        raise ValueError(f"Invalid cv={reprlib.repr(cv)}: the {part} indices of split {k} must be a 1-d "
                         f"array of integers; got {idx.dtype} of shape {idx.shape}.")
    if idx.min() < 0 or idx.max() >= n:
        bad = int(idx.max() if idx.max() >= n else idx.min())
        raise ValueError(f"Invalid cv={reprlib.repr(cv)}: split {k} has {part} index {bad}, outside the "
                         f"{n} samples (indices 0 to {n - 1}).")
    return idx


def fold_scorer(estimator, X, y, loss="squared"):
    """``score(coef, gates, classes, test, w_test)`` of a fold's network with the scikit-learn
    scorer ``estimator.scoring`` (greater is better) on the rows ``test`` of ``X`` (n, p) and
    ``y``, or None for ``scoring=None``. The network is scored as a fitted
    :class:`~gatedrelu.GatedReLURegressor` (or classifier with ``loss`` and the fold's
    ``classes``) of these coefficients and gates, so every scorer name and callable works."""
    scoring = getattr(estimator, "scoring", None)
    if scoring is None:
        return None
    if isinstance(scoring, (list, tuple, set, dict)):
        raise ValueError(f"Invalid scoring={scoring!r}: alpha is chosen by one metric; give a "
                         "scorer name (e.g. 'r2', 'neg_log_loss') or a callable.")
    from sklearn.metrics import check_scoring

    from .estimators import GatedReLUClassifier, GatedReLURegressor

    classifier = is_classifier(estimator)
    cls = GatedReLUClassifier if classifier else GatedReLURegressor
    params = dict(fit_intercept=estimator.fit_intercept, **({"loss": loss} if classifier else {}))
    try:
        scorer = check_scoring(cls(**params), scoring=scoring)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"Invalid scoring={scoring!r}: {' '.join(str(exc).split())}") from exc

    def score(coef, gates, classes, test, w_test, intercept=0.0, scale=1.0):
        # a fold's solution in the units of the targets it was fitted on (``scale``: what the
        # fold divided them by; ``intercept``: its profiled intercept)
        view = cls(**params)
        view.coef_, view.gates_, view.n_features_in_ = coef * scale, gates, X.shape[1]
        view.intercept_ = np.asarray(intercept) * scale
        if classes is not None:
            view.classes_ = classes
        kwargs = {} if w_test is None else {"sample_weight": w_test}
        return float(scorer(view, X[test], y[test], **kwargs))

    return score


# --------------------------------------------------------------------------- one fold


def _fold_scores(task, Xb, y, T, train, test, gates, alphas, solver, tol, max_iter,
                 sample_weight=None, penalty="group_l2", loss="squared", datafit=None,
                 scorer=None):
    """Validation scores of one fold along the path, shape (n_alphas,).

    ``task`` is "regression" (``T`` is the float target; score: mean squared error) or
    "classification" (``y`` the labels, re-coded for ``loss`` on the fold's training rows as
    :class:`~gatedrelu.GatedReLUClassifier` does; score: accuracy). With ``sample_weight``, the
    fold's training rows are weighted in the loss and its validation score is the weighted one.
    ``scorer`` (a :func:`fold_scorer`) replaces the default score (greater is better).
    ``datafit`` is the loss's datafit name (``"squared_intercept"`` with an intercept; default
    ``loss``). A regression fold divides its training targets by their own scale
    (:func:`~gatedrelu.estimators.target_scale`), as :class:`~gatedrelu.GatedReLURegressor`
    fitted on them does, so ``alphas`` are in the regressor's units.
    """
    datafit = loss if datafit is None else datafit
    w_test = None if sample_weight is None else sample_weight[test]
    if sample_weight is not None:  # zero weights are removed rows (see drop_unweighted)
        train = train[sample_weight[train] > 0]
        if train.size == 0:
            raise ValueError("A cross-validation fold cannot be fitted: every one of its "
                             "training rows has sample_weight 0.")
    w_train = None if sample_weight is None else sample_weight[train]
    Xb_train, Xb_test = Xb[train], Xb[test]
    fold = SimpleNamespace()
    if task == "classification":
        try:
            T_train = encode_labels(fold, y[train], loss).astype(Xb.dtype)
        except ValueError as exc:
            raise ValueError(f"A cross-validation fold cannot be fitted: {exc}") from exc
        scale = 1.0
    else:
        scale = target_scale(T[train], w_train, datafit)
        T_train = T[train] / T.dtype.type(scale)
    patterns = activation_patterns(Xb_train, gates)
    try:
        results = _group_lasso.group_lasso_path(
            Xb_train, T_train, patterns, alphas=alphas, tol=tol, max_iter=max_iter,
            solver=solver, sample_weight=w_train, penalty=penalty, loss=datafit,
        )
    except ValueError as exc:
        if "sample_weight" not in str(exc):
            raise
        raise ValueError(f"A cross-validation fold cannot be fitted: {exc}") from exc
    masks_test = gate_masks(Xb_test, patterns.gates)
    scores = np.empty(len(results))
    for k, res in enumerate(results):
        if scorer is not None:
            scores[k] = scorer(res.coef, patterns.gates, getattr(fold, "classes_", None), test,
                               w_test, res.intercept, scale)
            continue
        with jax.enable_x64(True):
            pred = np.asarray(forward(Xb_test, masks_test, res.coef.astype(Xb.dtype, copy=False)))
        pred = (pred + np.asarray(res.intercept, pred.dtype)) * pred.dtype.type(scale)
        if task == "classification":
            # accuracy_score's validation cost 2 ms per call, a tenth of a default CV fit
            scores[k] = np.average(y[test] == decode_scores(fold.classes_, pred), weights=w_test)
        else:
            scores[k] = mean_squared_error(T[test], pred, sample_weight=w_test)
    return scores


# --------------------------------------------------------------------------- estimators


class _GatedReLUCVBase(GatedBase):
    """Fit logic shared by the two cross-validated estimators."""

    #: "regression" or "classification"
    _task = ""
    #: the estimator refitted on all the data at ``alpha_``
    _refit_class = None

    def __init__(
        self,
        n_gates=100,
        *,
        alphas=None,
        n_alphas=20,
        eps=1e-3,
        cv=None,
        fit_intercept=True,
        gates=None,
        solver="auto",
        tol=None,
        max_iter=None,
        n_jobs=None,
        random_state=None,
        verbose=0,
        penalty="group_l2",
        l1_ratio=1.0,
        feature_weight=None,
        scoring=None,
        linear=True,
    ):
        self.scoring = scoring
        self.linear = linear
        self.penalty = penalty
        self.l1_ratio = l1_ratio
        self.feature_weight = feature_weight
        self.n_gates = n_gates
        self.alphas = alphas
        self.n_alphas = n_alphas
        self.eps = eps
        self.cv = cv
        self.fit_intercept = fit_intercept
        self.gates = gates
        self.solver = solver
        self.tol = tol
        self.max_iter = max_iter
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.verbose = verbose

    # prediction and the network are exactly those of GatedReLURegressor / GatedReLUClassifier
    _forward = _GatedReLUMixin._forward
    to_network = _GatedReLUMixin.to_network

    def _validate_cv_params(self, dtype):
        check_int(self.n_gates, "n_gates")
        if not isinstance(self.fit_intercept, (bool, np.bool_)):
            raise TypeError(f"fit_intercept must be a bool, got {self.fit_intercept!r}.")
        if not isinstance(self.linear, (bool, np.bool_)):
            raise TypeError(f"linear must be a bool, got {self.linear!r}.")
        solver = check_option(self.solver, "solver", _group_lasso.SOLVERS)
        tol = default_tol(dtype) if self.tol is None else check_nonnegative(self.tol, "tol")
        if self.max_iter is not None:
            check_int(self.max_iter, "max_iter")
        check_int(self.n_alphas, "n_alphas")
        eps = check_positive(self.eps, "eps")
        if eps >= 1:
            raise ValueError(f"eps must be in (0, 1), got {eps}.")
        alphas = None if self.alphas is None else _check_alphas(self.alphas)
        return solver, tol, alphas, _check_n_jobs(self.n_jobs), _check_verbose(self.verbose)

    def _loss(self) -> str:
        """The datafit (classifiers override it with their ``loss``)."""
        return "squared"

    def _refit_params(self) -> dict:
        """Extra parameters passed on to the refitted estimator (classifiers: their ``loss``)."""
        return {}

    def _fit_cv(self, X, y, T, sample_weight=None):
        """Cross-validate on ``X`` (n, p), labels or targets ``y``, coded targets ``T``; refit."""
        with blas_threads(X.shape[0]):
            return self._fit_cv_threads(X, y, T, sample_weight)

    def _fit_cv_threads(self, X, y, T, sample_weight=None):
        solver, tol, alphas, n_jobs, verbose = self._validate_cv_params(X.dtype)
        penalty = make_penalty(self.penalty, l1_ratio=self.l1_ratio,
                               feature_weight=self.feature_weight)
        loss = self._loss()
        datafit = datafit_name(loss, self.fit_intercept)
        w = check_sample_weight(sample_weight, X.shape[0])
        Xb = add_bias(X, self.fit_intercept)
        gates = self._gates_of(Xb)  # sampled once: every fold and the refit share them
        splits = _check_splits(self.cv, X, y, is_classifier(self))
        if alphas is None:
            # in the refit's units: regression targets divided by their scale
            scale = 1.0 if is_classifier(self) else target_scale(T, w, datafit)
            amax = _group_lasso.alpha_max(Xb, T / T.dtype.type(scale),
                                          activation_patterns(Xb, gates), loss=datafit,
                                          penalty=penalty, sample_weight=w)
            if amax > 0:
                alphas = amax * np.geomspace(1.0, self.eps, self.n_alphas)
            else:  # y is orthogonal to every masked feature: U = 0 for every alpha (as LassoCV)
                alphas = np.full(self.n_alphas, np.finfo(np.float64).resolution)
        task = self._task
        scorer = fold_scorer(self, X, y, loss)
        paths = Parallel(n_jobs=n_jobs, verbose=verbose, prefer="threads")(
            delayed(_fold_scores)(
                task, Xb, y, T, train, test, gates, alphas, solver, tol, self.max_iter, w,
                penalty, loss, datafit, scorer,
            )
            for train, test in splits
        )
        path = np.stack(paths, axis=1)  # (n_alphas, n_folds)
        mean = path.mean(axis=1)
        # argmin/argmax return the first best index: the largest alpha among ties
        higher = task == "classification" or scorer is not None
        best = int(np.argmax(mean) if higher else np.argmin(mean))

        self.alphas_ = alphas
        self.alpha_ = float(alphas[best])
        if higher:
            self.score_path_ = path
        else:
            self.mse_path_ = path
        refit = self._refit_class(
            n_gates=self.n_gates,
            alpha=self.alpha_,
            fit_intercept=self.fit_intercept,
            gates=gates,
            solver=solver,
            tol=tol,
            max_iter=self.max_iter,
            penalty=self.penalty,
            l1_ratio=self.l1_ratio,
            feature_weight=self.feature_weight,
            linear=self.linear,
            **self._refit_params(),
        ).fit(X, y, sample_weight=sample_weight)
        for name in _REFIT_ATTRIBUTES:
            setattr(self, name, getattr(refit, name))
        return self


class GatedReLURegressorCV(RegressorMixin, _GatedReLUCVBase):
    """Gated ReLU regression network with ``alpha`` chosen by cross-validation.

    The analogue of scikit-learn's ``LassoCV`` for :class:`~gatedrelu.GatedReLURegressor`: every
    fold runs one warm-started regularisation path over the grid of ``alpha`` with the same gates,
    ``alpha_`` minimises the mean validation mean squared error, and the network is refitted on all
    the data at ``alpha_`` (see :mod:`gatedrelu.cv`).

    Parameters
    ----------
    n_gates : int, default=100
        Number of Gaussian gate vectors sampled once from ``random_state`` (ignored if ``gates``
        is given); every fold and the refit use the same gates.
    alphas : array-like of shape (n_alphas,), default=None
        The grid of weight decays to try (values > 0, any order; sorted decreasingly), in units
        of the targets' scale as :class:`~gatedrelu.GatedReLURegressor`'s ``alpha`` (each fold
        divides its training targets by their own scale). None: a geometric grid of
        ``n_alphas`` values from ``alpha_max`` of the full training data (standardised
        targets) down to ``eps * alpha_max``.
    n_alphas : int, default=20
        Size of the automatic grid (used when ``alphas`` is None).
    eps : float, default=1e-3
        Ratio of the smallest to the largest ``alpha`` of the automatic grid, in (0, 1).
    cv : int, cross-validation generator, iterable or None, default=None
        Anything :func:`sklearn.model_selection.check_cv` accepts: None for 5-fold ``KFold``, an
        int for that many folds, a splitter, or an iterable of (train, test) index arrays. With
        an int or None the fitted estimator can be saved by :func:`gatedrelu.save_model`.
    fit_intercept : bool, default=True
        Append a constant column so every neuron has its own bias; gates then have
        ``n_features + 1`` entries, bias last.
    gates : array-like of shape (n_features [+ 1], n_gates), default=None
        User-supplied gate vectors, used instead of sampling.
    solver : str, default="auto"
        Solver of the paths and of the refit, one of ``gatedrelu.group_lasso.SOLVERS``.
    tol : float, default=None
        Relative duality-gap tolerance of every solve; None means 1e-6 for float64 input and 1e-5
        for float32.
    max_iter : int, default=None
        Iteration limit of the solver (None: the solver's default).
    n_jobs : int, default=None
        Number of folds solved in parallel by joblib (threads unless a joblib backend says
        otherwise); None means 1, -1 all cores. The result does not depend on it.
    random_state : int, numpy Generator or None, default=None
        Seed of the gate sampling, the same as ``GatedReLURegressor(random_state=...)``.
    verbose : int or bool, default=0
        Verbosity of joblib's progress messages over the folds (the solvers stay quiet).
    penalty : str or Penalty, default="group_l2"
        The regulariser, as in :class:`~gatedrelu.GatedReLURegressor`; the automatic grid starts
        at its ``alpha_max``.
    l1_ratio : float in (0, 1], default=1.0
        Ridge mixing of the penalty, as in :class:`~gatedrelu.GatedReLURegressor` (fixed: only
        ``alpha`` is cross-validated).
    feature_weight : float >= 0, default=None
        Weight of the feature groups of ``penalty="group_l2+feature"``, as in
        :class:`~gatedrelu.GatedReLURegressor`.
    scoring : str, callable or None, default=None
        How the folds score each ``alpha``: None is the validation mean squared error (the
        smallest wins); otherwise a scikit-learn scorer name (``"r2"``,
        ``"neg_mean_absolute_error"``, ...) or a callable ``scorer(estimator, X, y)``, greater is
        better, applied to each fold's network as a fitted :class:`~gatedrelu.GatedReLURegressor`.
    linear : bool, default=True
        The linear part (the always-on zero gate), as in :class:`~gatedrelu.GatedReLURegressor`.

    Attributes
    ----------
    alpha_ : float
        The chosen weight decay.
    alphas_ : ndarray of shape (n_alphas,)
        The grid, in decreasing order.
    mse_path_ : ndarray of shape (n_alphas, n_folds)
        Validation mean squared error of every ``alpha`` (row) on every fold (column); with
        several outputs, averaged uniformly over them (``scoring=None`` only).
    score_path_ : ndarray of shape (n_alphas, n_folds)
        With ``scoring``: its value for every ``alpha`` and fold.
    coef_ : ndarray of shape (n_patterns, n_features [+ 1]) or (n_patterns, n_features [+ 1], n_outputs)
        Group-lasso coefficients of the refit on all the data at ``alpha_``.
    intercept_ : float or ndarray of shape (n_outputs,)
        Unpenalised intercept of the refit.
    target_scale_ : float
        The scale the refit divided the targets by.
    gates_ : ndarray of shape (n_features [+ 1], n_patterns)
        Representative gate of each activation pattern on the full data.
    patterns_ : ActivationPatterns
        Activation patterns of the gates on the full training data.
    n_iter_ : int
        Iterations of the refit.
    dual_gap_ : float
        Absolute duality gap of the refit at ``coef_``.
    objective_ : float
        Group-lasso objective of the refit at ``coef_``.
    n_active_neurons_ : int
        Number of non-zero groups of the refit.
    n_features_in_ : int
        Number of features seen in ``fit``.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of the features seen in ``fit``, when ``X`` has string column names.

    See Also
    --------
    GatedReLURegressor : the estimator at a fixed ``alpha``.
    GatedReLUClassifierCV : the classifier counterpart.
    """

    _task = "regression"
    _refit_class = GatedReLURegressor

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

    def fit(self, X, y, sample_weight=None):
        """Choose ``alpha_`` by cross-validation, then refit on all the data.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training inputs.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Targets.
        sample_weight : array-like of shape (n_samples,), optional
            Non-negative weights of the samples in the loss and in the validation scores.

        Returns
        -------
        self : GatedReLURegressorCV
            The fitted estimator.
        """
        X, y = validate_data(
            self, X, y, dtype=[np.float64, np.float32], multi_output=True, y_numeric=True
        )
        T = y.astype(X.dtype, copy=False)
        return self._fit_cv(X, T, T, sample_weight)

    def predict(self, X):
        """Predictions of the refitted network.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            Predicted targets.
        """
        return self._forward(X)


class GatedReLUClassifierCV(_ClassifierOutputs, ClassifierMixin, _GatedReLUCVBase):
    """Gated ReLU classifier with ``alpha`` chosen by cross-validation.

    The analogue of scikit-learn's ``LassoCV`` for :class:`~gatedrelu.GatedReLUClassifier`
    (with its ``loss``: the squared loss on targets coded +1/-1 by default, or the logistic or
    multinomial loss, which give ``predict_proba``): every fold runs one warm-started regularisation path
    over the grid of ``alpha`` with the same gates, ``alpha_`` maximises the mean validation
    accuracy, and the network is refitted on all the data at ``alpha_`` (see :mod:`gatedrelu.cv`).
    With an integer or None ``cv`` the folds are stratified, as
    :func:`sklearn.model_selection.check_cv` does for classifiers. Each fold codes the labels of
    its own training rows, exactly as a :class:`~gatedrelu.GatedReLUClassifier` fitted on them
    would.

    Parameters
    ----------
    n_gates : int, default=100
        Number of Gaussian gate vectors sampled once from ``random_state`` (ignored if ``gates``
        is given); every fold and the refit use the same gates.
    alphas : array-like of shape (n_alphas,), default=None
        The grid of weight decays to try (values > 0, any order; sorted decreasingly). None: a
        geometric grid of ``n_alphas`` values from ``alpha_max`` of the full training data (with
        its +1/-1 targets) down to ``eps * alpha_max``.
    n_alphas : int, default=20
        Size of the automatic grid (used when ``alphas`` is None).
    eps : float, default=1e-3
        Ratio of the smallest to the largest ``alpha`` of the automatic grid, in (0, 1).
    cv : int, cross-validation generator, iterable or None, default=None
        Anything :func:`sklearn.model_selection.check_cv` accepts: None for 5-fold
        ``StratifiedKFold``, an int for that many stratified folds, a splitter, or an iterable of
        (train, test) index arrays. With an int or None the fitted estimator can be saved by
        :func:`gatedrelu.save_model`.
    fit_intercept : bool, default=True
        Append a constant column so every neuron has its own bias; gates then have
        ``n_features + 1`` entries, bias last.
    gates : array-like of shape (n_features [+ 1], n_gates), default=None
        User-supplied gate vectors, used instead of sampling.
    solver : str, default="auto"
        Solver of the paths and of the refit, one of ``gatedrelu.group_lasso.SOLVERS``.
    tol : float, default=None
        Relative duality-gap tolerance of every solve; None means 1e-6 for float64 input and 1e-5
        for float32.
    max_iter : int, default=None
        Iteration limit of the solver (None: the solver's default).
    n_jobs : int, default=None
        Number of folds solved in parallel by joblib (threads unless a joblib backend says
        otherwise); None means 1, -1 all cores. The result does not depend on it.
    random_state : int, numpy Generator or None, default=None
        Seed of the gate sampling, the same as ``GatedReLUClassifier(random_state=...)``.
    verbose : int or bool, default=0
        Verbosity of joblib's progress messages over the folds (the solvers stay quiet).
    penalty : str or Penalty, default="group_l2"
        The regulariser, as in :class:`~gatedrelu.GatedReLURegressor`; the automatic grid starts
        at its ``alpha_max``.
    l1_ratio : float in (0, 1], default=1.0
        Ridge mixing of the penalty, as in :class:`~gatedrelu.GatedReLURegressor` (fixed: only
        ``alpha`` is cross-validated).
    feature_weight : float >= 0, default=None
        Weight of the feature groups of ``penalty="group_l2+feature"``, as in
        :class:`~gatedrelu.GatedReLURegressor`.
    linear : bool, default=True
        The linear part (the always-on zero gate), as in :class:`~gatedrelu.GatedReLUClassifier`.
    loss : {"squared", "logistic", "multinomial"}, default="squared"
        The loss, as in :class:`~gatedrelu.GatedReLUClassifier`: ``"logistic"`` for two classes,
        ``"multinomial"`` (softmax cross-entropy) for any number; both give ``predict_proba``.
        The folds, the automatic grid's ``alpha_max`` and the refit use it.
    scoring : str, callable or None, default=None
        How the folds score each ``alpha`` (greater is better): None is the accuracy; otherwise a
        scikit-learn scorer name (``"neg_log_loss"`` with a probabilistic ``loss``,
        ``"balanced_accuracy"``, ...) or a callable ``scorer(estimator, X, y)``, applied to each
        fold's network as a fitted :class:`~gatedrelu.GatedReLUClassifier`.

    Attributes
    ----------
    alpha_ : float
        The chosen weight decay.
    alphas_ : ndarray of shape (n_alphas,)
        The grid, in decreasing order.
    score_path_ : ndarray of shape (n_alphas, n_folds)
        Validation accuracy (or ``scoring``) of every ``alpha`` (row) on every fold (column);
        also readable as ``scores_path_``.
    classes_ : ndarray of shape (n_classes,)
        The class labels.
    coef_ : ndarray of shape (n_patterns, n_features [+ 1]) or (n_patterns, n_features [+ 1], n_classes)
        Group-lasso coefficients of the refit on all the data at ``alpha_`` (one output for two
        classes, except with ``loss="multinomial"``).
    gates_ : ndarray of shape (n_features [+ 1], n_patterns)
        Representative gate of each activation pattern on the full data.
    patterns_ : ActivationPatterns
        Activation patterns of the gates on the full training data.
    n_iter_ : int
        Iterations of the refit.
    dual_gap_ : float
        Absolute duality gap of the refit at ``coef_``.
    objective_ : float
        Group-lasso objective of the refit at ``coef_``.
    n_active_neurons_ : int
        Number of non-zero groups of the refit.
    n_features_in_ : int
        Number of features seen in ``fit``.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of the features seen in ``fit``, when ``X`` has string column names.

    See Also
    --------
    GatedReLUClassifier : the estimator at a fixed ``alpha``.
    GatedReLURegressorCV : the regression counterpart.
    """

    _task = "classification"
    _refit_class = GatedReLUClassifier

    def __init__(
        self,
        n_gates=100,
        *,
        alphas=None,
        n_alphas=20,
        eps=1e-3,
        cv=None,
        fit_intercept=True,
        gates=None,
        solver="auto",
        tol=None,
        max_iter=None,
        n_jobs=None,
        random_state=None,
        verbose=0,
        penalty="group_l2",
        l1_ratio=1.0,
        feature_weight=None,
        linear=True,
        loss="squared",
        scoring=None,
    ):
        super().__init__(
            n_gates, alphas=alphas, n_alphas=n_alphas, eps=eps, cv=cv,
            fit_intercept=fit_intercept, gates=gates, solver=solver, tol=tol, max_iter=max_iter,
            n_jobs=n_jobs, random_state=random_state, verbose=verbose, penalty=penalty,
            l1_ratio=l1_ratio, feature_weight=feature_weight, scoring=scoring, linear=linear,
        )
        self.loss = loss

    def _loss(self) -> str:
        return check_option(self.loss, "loss", CLASSIFIER_LOSSES)

    def _refit_params(self) -> dict:
        return {"loss": self.loss}

    @property
    def scores_path_(self) -> np.ndarray:
        """Alias of ``score_path_``: ndarray of shape (n_alphas, n_folds)."""
        return self.score_path_

    def fit(self, X, y, sample_weight=None):
        """Choose ``alpha_`` by cross-validation, then refit on all the data.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training inputs.
        y : array-like of shape (n_samples,)
            Class labels.
        sample_weight : array-like of shape (n_samples,), optional
            Non-negative weights of the samples in the loss and in the validation scores.

        Returns
        -------
        self : GatedReLUClassifierCV
            The fitted estimator.
        """
        loss = self._loss()
        X, y = validate_data(self, X, y, dtype=[np.float64, np.float32])
        y = column_or_1d(y, warn=True)
        T = encode_labels(self, y, loss).astype(X.dtype)
        return self._fit_cv(X, y, T, sample_weight)
