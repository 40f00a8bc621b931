r"""The lazy-to-rich kernel path, chosen jointly with ``alpha`` by K-fold cross-validation.

IRLS from the NTK weights (``docs/math.md``, "From the NTK to the optimal kernel") walks from
the network's NTK (iterate 0, the lazy end) to the optimal MKL kernel (the last iterate, the rich
end). :class:`MKLPathRegressorCV` and :class:`MKLPathClassifierCV` choose a point of that path
and ``alpha`` together:

1. the gates are sampled once (``random_state``) and shared by every fold and the refit;
2. for every fold and every ``alpha`` of the grid, one IRLS run from the NTK weights on the
   fold's training rows gives the whole path (each iterate warm-starts the next); the iterate
   ``k`` of the candidate list ``iterates`` (beyond the end of a converged run: its last
   iterate, the optimal kernel) is scored on the fold's validation rows with the estimator's
   ``score`` (R^2 or accuracy, as :class:`~sklearn.model_selection.GridSearchCV` would);
3. ``(alpha_, iterate_)`` maximise the mean score over the folds (the first in the order of the
   grid among ties, as GridSearchCV), and ``MKLRegressor(kernel="irls", n_irls=iterate_)`` is
   refitted on all the data.

Both end points are candidates (iterate 0 is the NTK, ``"optimal"`` the converged end), so the
path can lose to the better of them only through the noise of the selection itself.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import ClassifierMixin, RegressorMixin, clone, is_classifier
from sklearn.metrics import accuracy_score, r2_score
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted, validate_data

from ._validation import check_int, check_positive, check_sample_weight
from .cv import _check_splits, fold_scorer
from .estimators import GatedBase, add_bias, decode_scores, encode_labels, no_probabilities
from .group_lasso import alpha_max
from .mkl import DEFAULT_MAX_ITER, kernel_fits
from .mkl_base import _network, _weigh, irls_iterate
from .mkl_estimators import MKLClassifier, MKLRegressor
from .patterns import activation_patterns, gate_masks
from .problem.scaling import check_moderate_scale

__all__ = ["MKLPathRegressorCV", "MKLPathClassifierCV", "DEFAULT_ITERATES"]

#: Candidate iterates: the NTK (0), geometric steps along the path, and the optimal end.
DEFAULT_ITERATES = (0, 1, 2, 4, 8, 16, 32, "optimal")


def _check_iterates(iterates, max_iter: int) -> tuple:
    out = []
    for k in iterates:
        if k == "optimal":
            out.append(max_iter)
        else:
            out.append(check_int(k, "every iterate", minimum=0))
    if not out:
        raise ValueError("iterates is empty.")
    if len(set(out)) != len(out):
        raise ValueError(f"iterates contains duplicates: {list(iterates)!r}.")
    return tuple(out)


class _MKLPathCVBase(GatedBase):
    _refit_class = None

    def __init__(
        self,
        n_gates=100,
        *,
        alphas=None,
        n_alphas=6,
        eps=1e-3,
        iterates=DEFAULT_ITERATES,
        cv=None,
        fit_intercept=True,
        gates=None,
        tol=None,
        max_iter=None,
        random_state=None,
        scaler=None,
        scoring=None,
        method="auto",
    ):
        self.method = method
        self.scaler = scaler
        self.scoring = scoring
        self.n_gates = n_gates
        self.alphas = alphas
        self.n_alphas = n_alphas
        self.eps = eps
        self.iterates = iterates
        self.cv = cv
        self.fit_intercept = fit_intercept
        self.gates = gates
        self.tol = tol
        self.max_iter = max_iter
        self.random_state = random_state

    def _validate_hyperparameters(self):
        """The parameter checks of ``fit`` (also run on loading a model file): the MKL
        estimators' own checks (``_validate_mkl_params`` of the refitted estimator) for the
        parameters they share, then the grid's."""
        self._refit()._validate_mkl_params()
        max_iter = DEFAULT_MAX_ITER if self.max_iter is None else int(self.max_iter)
        if self.alphas is None:
            check_int(self.n_alphas, "n_alphas")
            if check_positive(self.eps, "eps") >= 1:
                raise ValueError(f"eps must be in (0, 1), got {self.eps}.")
        return max_iter, _check_iterates(self.iterates, max_iter)

    def _refit(self, **params):
        return self._refit_class(
            kernel="irls", n_gates=self.n_gates, fit_intercept=self.fit_intercept,
            tol=self.tol, max_iter=self.max_iter, random_state=self.random_state,
            method=self.method, **params,
        )

    def _fit_path_cv(self, X, y, T, sample_weight=None):
        max_iter, iterates = self._validate_hyperparameters()
        w = check_sample_weight(sample_weight, X.shape[0])
        check_moderate_scale(X, "X", "the MKL estimators")
        if not is_classifier(self):
            check_moderate_scale(T, "y", "the MKL estimators")
        # The scaler is fitted on all the data for alpha_max and the refit, and on each
        # fold's training rows for that fold (so no fold sees its validation rows' statistics).
        self.scaler_ = self._fit_scaler(X, w)
        Xb = add_bias(self._scale(self.scaler_, X), self.fit_intercept)
        gates = self._make_gates(Xb)
        if self.alphas is None:
            n_alphas, eps = int(self.n_alphas), float(self.eps)
            amax = alpha_max(Xb, T, activation_patterns(Xb, gates), sample_weight=w)
            if not amax > 0:
                raise ValueError("alpha_max is 0: y is orthogonal to every masked feature.")
            alphas = amax * np.geomspace(1.0, eps, n_alphas + 1)[1:]  # alpha_max itself fits 0
        else:
            alphas = np.asarray(self.alphas, dtype=float).ravel()
            if alphas.size == 0:
                raise ValueError("alphas is empty.")
            for a in alphas:
                check_positive(float(a), "every alpha")
        splits = _check_splits(self.cv, X, y, is_classifier(self))
        template = self._refit(gates=gates)
        options = template._irls_options(Xb.dtype)
        options["max_iter"] = max(iterates)
        scores = np.empty((alphas.size, len(iterates), len(splits)))
        for f, (train, test) in enumerate(splits):
            fold = clone(template)
            w_test = None if w is None else w[test]
            if w is not None:  # zero weights remove rows; the others scale them (MKLRegressor)
                train = train[w[train] > 0]
            held = np.unique(y[train]).tolist() if is_classifier(self) else [0, 1]
            if len(held) < 2:
                raise ValueError(
                    f"Cross-validation fold {f} cannot be fitted: its {train.size} training rows"
                    + ("" if w is None else " of positive weight")
                    + (f" hold only class {held[0]!r} of the {np.unique(y).size} classes of y; "
                       "use fewer folds (cv) or a stratified split." if held else " are none."))
            if is_classifier(self):
                T_train = encode_labels(fold, y[train]).astype(Xb.dtype)
            else:
                T_train = T[train]
            Xs = X
            if self.scaler_ is not None:
                fold_scaler = self._fit_scaler(X[train], None if w is None else w[train])
                Xs = self._scale(fold_scaler, X)
                Xb = add_bias(Xs, self.fit_intercept)
            scorer = fold_scorer(self, Xs, y)  # on the fold's scaled inputs
            patterns = activation_patterns(Xb[train], gates)
            masks_test = gate_masks(Xb[test], patterns.gates)
            w_train = None if w is None else check_sample_weight(w[train], train.size)
            X_train, T_train = _weigh(Xb[train], T_train, w_train)
            for a, alpha in enumerate(alphas):
                path = irls_iterate(X_train, T_train, patterns, alpha, max(iterates), **options)
                # the kernel ridge fit of eta_k: what IRLS stopped at iterate k returns
                fits = kernel_fits(X_train, T_train, patterns, alpha,
                                   [path.weights_history[min(k, path.n_iter)] for k in iterates],
                                   method=self.method)
                for j, coef in enumerate(fit.coef for fit in fits):
                    if scorer is not None:
                        scores[a, j, f] = scorer(coef, patterns.gates,
                                                 getattr(fold, "classes_", None), test, w_test)
                        continue
                    pred = _network(Xb[test], masks_test, coef)
                    if is_classifier(self):
                        scores[a, j, f] = accuracy_score(y[test], decode_scores(fold.classes_, pred),
                                                         sample_weight=w_test)
                    else:
                        scores[a, j, f] = r2_score(T[test], pred, sample_weight=w_test)
        mean = scores.mean(axis=2)
        best = int(np.argmax(mean.ravel()))  # first best in (alpha, iterate) grid order
        a, j = divmod(best, len(iterates))
        self.alphas_ = alphas
        self.iterates_ = iterates
        self.path_scores_ = scores
        self.alpha_ = float(alphas[a])
        self.iterate_ = int(iterates[j])
        self.best_estimator_ = self._refit(gates=gates, alpha=self.alpha_, n_irls=self.iterate_).fit(
            self._scale(self.scaler_, X), y, sample_weight=sample_weight)
        self.n_features_in_ = self.best_estimator_.n_features_in_
        self.n_iter_ = self.best_estimator_.n_iter_
        return self

    def _fit_scaler(self, X, w):
        """A clone of ``scaler`` fitted on ``X`` (rows weighted by ``w`` when it takes
        weights), or None without a scaler."""
        if self.scaler is None:
            return None
        scaler = clone(self.scaler)
        return scaler.fit(X) if w is None else scaler.fit(X, sample_weight=w)

    @staticmethod
    def _scale(scaler, X):
        return X if scaler is None else np.asarray(scaler.transform(X), dtype=X.dtype)

    def _decision(self, X):
        check_is_fitted(self, "best_estimator_")
        if self.scaler_ is not None:
            X = validate_data(self, X, reset=False, dtype=[np.float64, np.float32])
            X = self._scale(self.scaler_, X)
        return self.best_estimator_._decision(X)


class MKLPathRegressorCV(RegressorMixin, _MKLPathCVBase):
    """Kernel ridge regression on the IRLS path from the NTK, point and ``alpha`` chosen by CV.

    Parameters
    ----------
    n_gates : int, default=100
        Gaussian gates sampled once from ``random_state`` (ignored if ``gates`` is given).
    alphas : array-like, default=None
        The ``alpha`` grid; None: ``n_alphas`` values on a geometric grid below ``alpha_max``
        of the full data, down to ``eps * alpha_max``.
    n_alphas : int, default=6
    eps : float, default=1e-3
    iterates : sequence of int or "optimal", default=(0, 1, 2, 4, 8, 16, 32, "optimal")
        Candidate IRLS iterates; 0 is the NTK, "optimal" the end of the converged path.
    cv : int, cross-validation generator or iterable, default=None
        As in scikit-learn (None: 5-fold).
    fit_intercept : bool, default=True
    gates : array-like of shape (n_features [+ 1], m), default=None
    tol : float, default=None
        Relative duality-gap tolerance of IRLS (None: 1e-6 for float64 input).
    max_iter : int, default=None
        IRLS iteration limit, which is also what "optimal" means (None: 500).
    random_state : int, numpy Generator or None, default=None
    scaler : transformer or None, default=None
        E.g. ``StandardScaler()``: cloned and fitted on the training rows of each fold (the
        fold's validation rows are transformed with those statistics), and on all the data for
        ``alpha_max`` and the refit. Use it instead of a scaler in a ``Pipeline`` in front,
        whose statistics would include every fold's validation rows.
    scoring : str, callable or None, default=None
        How the folds score each candidate (greater is better): None is R^2; otherwise a
        scikit-learn scorer name or a callable ``scorer(estimator, X, y)``.
    method : {"auto", "cholesky", "cg", "features"}, default="auto"
        Kernel ridge route of every fit, as in :class:`~gatedrelu.MKLRegressor` (``"auto"``:
        the ``P d`` feature space when ``P d < n``).

    Attributes
    ----------
    alpha_ : float
        The chosen ``alpha``.
    iterate_ : int
        The chosen IRLS iterate (0: the NTK).
    alphas_ : ndarray of shape (n_alphas,)
    iterates_ : tuple of int
        The candidate iterates ("optimal" as ``max_iter``).
    path_scores_ : ndarray of shape (n_alphas, n_iterates, n_folds)
        Validation R^2 (or ``scoring``) of every candidate on every fold.
    best_estimator_ : MKLRegressor
        ``MKLRegressor(kernel="irls", n_irls=iterate_, alpha=alpha_)`` fitted on all the data
        (transformed by ``scaler_``).
    scaler_ : transformer or None
        ``scaler`` fitted on all the data.
    n_iter_ : int
        IRLS fits of the refitted model.
    n_features_in_ : int
        Number of features seen in ``fit``.
    """

    _refit_class = MKLRegressor

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

    def fit(self, X, y, sample_weight=None):
        """Choose ``(alpha_, iterate_)`` by cross-validation, then refit on all the data.

        ``sample_weight`` (n_samples,), optional: weights of the samples in the loss and in the
        validation scores.
        """
        X, y = validate_data(self, X, y, dtype=[np.float64, np.float32], multi_output=True,
                             y_numeric=True)
        T = y.astype(X.dtype, copy=False)
        return self._fit_path_cv(X, T, T, sample_weight)

    def predict(self, X):
        """Predictions of the refitted kernel ridge model."""
        return self._decision(X)


class MKLPathClassifierCV(ClassifierMixin, _MKLPathCVBase):
    """Kernel ridge classifier on the IRLS path from the NTK, point and ``alpha`` chosen by CV.

    Squared loss on +1/-1 coded targets, as :class:`~gatedrelu.MKLClassifier`; the folds are
    scored by accuracy. As there, the scores are not probabilities and ``predict_proba`` raises
    an AttributeError that says so.

    Parameters
    ----------
    n_gates : int, default=100
        Gaussian gates sampled once from ``random_state`` (ignored if ``gates`` is given).
    alphas : array-like, default=None
        The ``alpha`` grid; None: ``n_alphas`` values on a geometric grid below ``alpha_max``
        of the full data (with its +1/-1 targets), down to ``eps * alpha_max``.
    n_alphas : int, default=6
    eps : float, default=1e-3
    iterates : sequence of int or "optimal", default=(0, 1, 2, 4, 8, 16, 32, "optimal")
        Candidate IRLS iterates; 0 is the NTK, "optimal" the end of the converged path.
    cv : int, cross-validation generator or iterable, default=None
        As in scikit-learn (None: stratified 5-fold).
    fit_intercept : bool, default=True
    gates : array-like of shape (n_features [+ 1], m), default=None
    tol : float, default=None
    max_iter : int, default=None
    random_state : int, numpy Generator or None, default=None
    scaler : transformer or None, default=None
        E.g. ``StandardScaler()``: cloned and fitted on the training rows of each fold (the
        fold's validation rows are transformed with those statistics), and on all the data for
        ``alpha_max`` and the refit. Use it instead of a scaler in a ``Pipeline`` in front,
        whose statistics would include every fold's validation rows.
    scoring : str, callable or None, default=None
        How the folds score each candidate (greater is better): None is the accuracy; otherwise
        a scikit-learn scorer name (``"balanced_accuracy"``, ...) or a callable
        ``scorer(estimator, X, y)``.
    method : {"auto", "cholesky", "cg", "features"}, default="auto"
        Kernel ridge route of every fit, as in :class:`~gatedrelu.MKLRegressor` (``"auto"``:
        the ``P d`` feature space when ``P d < n``).

    Attributes
    ----------
    alpha_ : float
    iterate_ : int
    alphas_ : ndarray of shape (n_alphas,)
    iterates_ : tuple of int
    path_scores_ : ndarray of shape (n_alphas, n_iterates, n_folds)
        Validation accuracy (or ``scoring``) of every candidate on every fold.
    best_estimator_ : MKLClassifier
    scaler_ : transformer or None
        ``scaler`` fitted on all the data.
    classes_ : ndarray of shape (n_classes,)
    n_iter_ : int
        IRLS fits of the refitted model.
    n_features_in_ : int
        Number of features seen in ``fit``.
    """

    _refit_class = MKLClassifier

    def fit(self, X, y, sample_weight=None):
        """Choose ``(alpha_, iterate_)`` by cross-validation, then refit on all the data.

        ``sample_weight`` (n_samples,), optional: weights of the samples in the loss and in the
        validation scores.
        """
        X, y = validate_data(self, X, y, dtype=[np.float64, np.float32])
        T = encode_labels(self, y).astype(X.dtype)
        return self._fit_path_cv(X, y, T, sample_weight)

    def decision_function(self, X):
        """Scores of the refitted model."""
        return self._decision(X)

    @available_if(no_probabilities)
    def predict_proba(self, X):  # pragma: no cover - never available (see no_probabilities)
        raise NotImplementedError

    def predict(self, X):
        """Predicted class labels."""
        scores = self._decision(X)  # raises NotFittedError before classes_ is looked up
        return decode_scores(self.classes_, scores)
