"""scikit-learn estimators for kernel ridge with masking kernels: NTK, uniform, optimal (MKL).

Every estimator fits kernel ridge regression (squared loss; +1/-1 one-hot targets for
classification) with the kernel ``K_eta = sum_i eta_i D_i X X^T D_i`` of the activation
patterns of its gates (``docs/math.md``, "The MKL view"). The ``kernel`` parameter chooses the
weights ``eta``:

``"ntk"``
    The finite-width NTK of the sampled gates, ``eta = t * c_i / m`` (normalised). Predictions
    at new points use every sampled gate (:func:`gatedrelu.finite_ntk_kernel`), so they are
    those of kernel ridge with the NTK of the sampled network.
``"infinite_ntk"``
    The closed-form infinite-width NTK (:func:`gatedrelu.ntk_kernel`, a probability measure over
    gates, total weight 1) scaled by ``t``. No gates are used.
``"uniform"``
    ``eta = t / P`` on the patterns of the sampled gates.
``"optimal"``
    The optimal MKL weights found by :func:`gatedrelu.mkl.irls`; the fit equals the globally
    optimal gated ReLU network (:class:`gatedrelu.GatedReLURegressor`) for the same gates.
``"path"``
    IRLS from the NTK weights on a training part of the data; the iterate along this
    lazy-to-rich path of kernels with the best validation score is chosen, and its shape is
    refitted (with its optimal scale) on all the data.

For fixed shapes ``mu`` (sum 1) the scale ``t`` minimises the MKL objective ``J(t mu)``, so
``alpha`` means the same objective ``(alpha/2) [y^T (K + n alpha I)^{-1} y + sum(eta)]`` for every
kernel and ``J(t mu) >= F*``, the optimum reached by ``"optimal"``. ``alpha`` is absolute (in the
units of the targets, +1/-1 codes for the classifiers): the MKL estimators neither centre nor
scale ``y``.

Large n: every kernel but ``"infinite_ntk"`` solves its kernel ridge systems in the ``P d``
feature space when ``P d < n`` (``method="auto"``, :mod:`gatedrelu.linalg`), never forming an
``n x n`` matrix, and predicts through the equivalent network (:meth:`to_network`), never through
an ``n_train x n_test`` kernel. The fitting code shared by the regressor and the classifier is in
:mod:`gatedrelu.mkl_base`.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import ClassifierMixin, RegressorMixin
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import validate_data

from .estimators import decode_scores, encode_labels, no_probabilities

# _network, _weigh and irls_iterate are imported from here by the path CV and the benchmarks.
from .mkl_base import (  # noqa: F401
    KERNELS,
    _classification_score,
    _MKLMixin,
    _network,
    _regression_score,
    _weigh,
    irls_iterate,
)

__all__ = ["MKLRegressor", "MKLClassifier", "KERNELS"]



class MKLRegressor(RegressorMixin, _MKLMixin):
    """Kernel ridge regression with masking kernels: NTK, uniform, optimal MKL, or the path.

    Parameters
    ----------
    kernel : {"ntk", "infinite_ntk", "uniform", "optimal", "path", "irls"}, default="optimal"
        Kernel weights (see :mod:`gatedrelu.mkl_estimators`); "irls" is the ``n_irls``-th
        iterate of IRLS from the NTK weights.
    n_gates : int, default=100
        Number of Gaussian gate vectors sampled (ignored if ``gates`` is given, and by
        ``"infinite_ntk"``).
    alpha : float, default=1e-3
        Regularisation of the group lasso (``docs/math.md``); kernel ridge with ridge
        ``n * alpha`` on the kernel ``K_eta``.
    fit_intercept : bool, default=True
        Append a constant column (each neuron's bias; gates get ``n_features + 1`` entries).
    gates : array-like of shape (n_features [+ 1], m), default=None
        User-supplied gates, used instead of sampling.
    tol : float, default=None
        Relative duality-gap tolerance of IRLS ("optimal", "path"); None: 1e-6 for float64 input,
        1e-5 for float32.
    max_iter : int, default=None
        IRLS iteration limit (None: 500).
    random_state : int, numpy Generator or None, default=None
        Seed of the gates and of the validation split of "path".
    validation_fraction : float, default=0.2
        Share of the samples held out to choose the kernel along the path ("path" only).
    n_path : int, default=10
        Number of IRLS iterates compared on the validation part ("path" only), spaced
        geometrically in the iteration number; the first (NTK) and last (optimal) are included.
    verbose : int, default=0
        Print the IRLS iterations ("optimal", "path"): objective and relative duality gap as
        they fall; 1 prints every 10th iteration, 2 every one.
    n_irls : int, default=10
        Number of IRLS steps from the NTK weights for ``kernel="irls"`` (0: the NTK shape with
        its optimal scale, on the representative gates).
    method : {"auto", "cholesky", "cg", "features"}, default="auto"
        How each kernel ridge system is solved (:mod:`gatedrelu.linalg`): in the sample space
        (``"cholesky"``: the n x n kernel; ``"cg"``: matrix-free conjugate gradients) or as
        ridge regression on the ``P d`` masked features (``"features"``: a ``P d x P d`` system,
        nothing n x n). The results are the same to rounding. ``"auto"``: ``"features"`` when
        ``P d < n_samples`` and ``P d <= 6000`` (``P`` patterns, ``d`` features with the bias
        column), else ``"cholesky"`` up to 3000 samples, else ``"cg"``. Not used by
        ``"infinite_ntk"``, which has no finite features (always an n x n Cholesky).

    Attributes
    ----------
    weights_ : ndarray of shape (n_patterns,) or None
        Kernel weights ``eta`` (None for "infinite_ntk").
    kernel_scale_ : float
        Total weight ``t = sum(weights_)`` (for "infinite_ntk" the scale of the closed-form NTK).
    patterns_ : ActivationPatterns or None
        Activation patterns of the gates on the training data (for "path": of the representative
        gates of the training part, on all the data). None for "infinite_ntk".
    gates_ : ndarray of shape (n_features [+ 1], n_patterns) or None
        Representative gate of each pattern.
    coef_ : ndarray of shape (n_patterns, n_features [+ 1][, n_outputs]) or None
        Group coefficients ``u_i = eta_i X^T D_i a`` of the equivalent gated ReLU network: its
        predictions on the training data are the kernel ridge fitted values. For "ntk",
        predictions at new points use every sampled gate (``to_network()``). None for
        "infinite_ntk" (no finite network).
    dual_coef_ : ndarray of shape (n_samples,) or (n_samples, n_outputs)
        Kernel ridge coefficients ``a = (K_eta + n alpha I)^{-1} y``.
    X_fit_ : ndarray of shape (n_samples, n_features [+ 1])
        Training inputs (with the bias column), needed by the kernels at new points; with
        ``sample_weight``, the rows of positive weight scaled by ``sqrt(w)`` (mean-1 weights).
    n_iter_ : int
        Kernel ridge fits along the IRLS path: IRLS iterations + 1 ("optimal"; for "path" those
        of the IRLS run on the training part), 1 for fixed kernels.
    objective_ : float or None
        Group-lasso objective ``F(coef_)`` of the equivalent network. None for
        "infinite_ntk": that kernel has no finite set of groups, so there is no group-lasso
        objective (nor ``coef_`` or ``dual_gap_``); its MKL objective is ``kernel_objective_``.
    dual_gap_ : float or None
        Group-lasso duality gap of ``coef_``: how far this kernel is from the optimal one.
    kernel_objective_ : float
        The MKL objective ``J(weights_) = (alpha/2) [y^T dual_coef_ + sum(weights_)]``
        (``docs/math.md``, "The MKL view"): ``>= objective_ >= F*``, equal to ``F*`` at the
        optimal kernel. For "infinite_ntk", ``J(t mu)`` of the closed-form NTK (mass 1).
    method_ : str
        The kernel ridge route used ("cholesky", "cg" or "features").
    kernel_ : str
        The fitted ``kernel``.
    path_index_ : int or None
        "path": the chosen IRLS iterate (0 is the NTK).
    path_candidates_ : ndarray of int or None
        "path": the IRLS iterates compared on the validation part.
    path_scores_ : ndarray or None
        "path": validation score of each candidate (mean squared error for regression, minus
        the accuracy for classification, ties broken by the squared error; lower is better).
    n_features_in_ : int
        Number of features seen in ``fit``.
    """

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

    def fit(self, X, y, sample_weight=None):
        """Fit on X of shape (n_samples, n_features) and y of shape (n_samples[, n_outputs]).

        ``sample_weight`` (n_samples,), optional: non-negative weights of the samples in the
        squared loss (integer weights equal repeated rows).
        """
        X, y = validate_data(
            self, X, y, dtype=[np.float64, np.float32], multi_output=True, y_numeric=True
        )
        return self._fit_targets(X, y.astype(X.dtype, copy=False), _regression_score,
                                 sample_weight)

    def predict(self, X):
        """Predictions of shape (n_samples,) or (n_samples, n_outputs)."""
        return self._decision(X)


class MKLClassifier(ClassifierMixin, _MKLMixin):
    """Kernel ridge classifier with masking kernels: NTK, uniform, optimal MKL, or the path.

    Squared loss on one-hot targets coded +1/-1 (a single +1/-1 column for two classes). Its
    scores are not probabilities, so there is no ``predict_proba``: accessing it raises an
    AttributeError that says so (``hasattr(clf, "predict_proba")`` is False, as for
    scikit-learn's ``RidgeClassifier``). For probabilities use
    ``GatedReLUClassifier(loss="logistic")`` (or ``"multinomial"``), or wrap this estimator in
    :class:`~sklearn.calibration.CalibratedClassifierCV`.

    Parameters
    ----------
    kernel : {"ntk", "infinite_ntk", "uniform", "optimal", "path", "irls"}, default="optimal"
        Kernel weights (see :mod:`gatedrelu.mkl_estimators`); "irls" is the ``n_irls``-th
        iterate of IRLS from the NTK weights.
    n_gates : int, default=100
        Number of Gaussian gate vectors sampled (ignored if ``gates`` is given, and by
        ``"infinite_ntk"``).
    alpha : float, default=1e-3
        Regularisation of the group lasso (``docs/math.md``); kernel ridge with ridge
        ``n * alpha`` on the kernel ``K_eta``.
    fit_intercept : bool, default=True
        Append a constant column (each neuron's bias; gates get ``n_features + 1`` entries).
    gates : array-like of shape (n_features [+ 1], m), default=None
        User-supplied gates, used instead of sampling.
    tol : float, default=None
        Relative duality-gap tolerance of IRLS ("optimal", "path"); None: 1e-6 for float64 input,
        1e-5 for float32.
    max_iter : int, default=None
        IRLS iteration limit (None: 500).
    random_state : int, numpy Generator or None, default=None
        Seed of the gates and of the validation split of "path".
    validation_fraction : float, default=0.2
        Share of the samples held out to choose the kernel along the path ("path" only).
    n_path : int, default=10
        Number of IRLS iterates compared on the validation part ("path" only), spaced
        geometrically in the iteration number; the first (NTK) and last (optimal) are included.
    verbose : int, default=0
        Print the IRLS iterations ("optimal", "path"): objective and relative duality gap as
        they fall; 1 prints every 10th iteration, 2 every one.
    n_irls : int, default=10
        Number of IRLS steps from the NTK weights for ``kernel="irls"`` (0: the NTK shape with
        its optimal scale, on the representative gates).
    method : {"auto", "cholesky", "cg", "features"}, default="auto"
        How each kernel ridge system is solved (:mod:`gatedrelu.linalg`): in the sample space
        (``"cholesky"``: the n x n kernel; ``"cg"``: matrix-free conjugate gradients) or as
        ridge regression on the ``P d`` masked features (``"features"``: a ``P d x P d`` system,
        nothing n x n). The results are the same to rounding. ``"auto"``: ``"features"`` when
        ``P d < n_samples`` and ``P d <= 6000`` (``P`` patterns, ``d`` features with the bias
        column), else ``"cholesky"`` up to 3000 samples, else ``"cg"``. Not used by
        ``"infinite_ntk"``, which has no finite features (always an n x n Cholesky).

    Attributes
    ----------
    weights_ : ndarray of shape (n_patterns,) or None
        Kernel weights ``eta`` (None for "infinite_ntk").
    kernel_scale_ : float
        Total weight ``t = sum(weights_)`` (for "infinite_ntk" the scale of the closed-form NTK).
    patterns_ : ActivationPatterns or None
        Activation patterns of the gates on the training data (for "path": of the representative
        gates of the training part, on all the data). None for "infinite_ntk".
    gates_ : ndarray of shape (n_features [+ 1], n_patterns) or None
        Representative gate of each pattern.
    coef_ : ndarray of shape (n_patterns, n_features [+ 1][, n_outputs]) or None
        Group coefficients ``u_i = eta_i X^T D_i a`` of the equivalent gated ReLU network: its
        predictions on the training data are the kernel ridge fitted values. For "ntk",
        predictions at new points use every sampled gate (``to_network()``). None for
        "infinite_ntk" (no finite network).
    dual_coef_ : ndarray of shape (n_samples,) or (n_samples, n_outputs)
        Kernel ridge coefficients ``a = (K_eta + n alpha I)^{-1} y``.
    X_fit_ : ndarray of shape (n_samples, n_features [+ 1])
        Training inputs (with the bias column), needed by the kernels at new points; with
        ``sample_weight``, the rows of positive weight scaled by ``sqrt(w)`` (mean-1 weights).
    n_iter_ : int
        Kernel ridge fits along the IRLS path: IRLS iterations + 1 ("optimal"; for "path" those
        of the IRLS run on the training part), 1 for fixed kernels.
    objective_ : float or None
        Group-lasso objective ``F(coef_)`` of the equivalent network. None for
        "infinite_ntk": that kernel has no finite set of groups, so there is no group-lasso
        objective (nor ``coef_`` or ``dual_gap_``); its MKL objective is ``kernel_objective_``.
    dual_gap_ : float or None
        Group-lasso duality gap of ``coef_``: how far this kernel is from the optimal one.
    kernel_objective_ : float
        The MKL objective ``J(weights_) = (alpha/2) [y^T dual_coef_ + sum(weights_)]``
        (``docs/math.md``, "The MKL view"): ``>= objective_ >= F*``, equal to ``F*`` at the
        optimal kernel. For "infinite_ntk", ``J(t mu)`` of the closed-form NTK (mass 1).
    method_ : str
        The kernel ridge route used ("cholesky", "cg" or "features").
    kernel_ : str
        The fitted ``kernel``.
    path_index_ : int or None
        "path": the chosen IRLS iterate (0 is the NTK).
    path_candidates_ : ndarray of int or None
        "path": the IRLS iterates compared on the validation part.
    path_scores_ : ndarray or None
        "path": validation score of each candidate (mean squared error for regression, minus
        the accuracy for classification, ties broken by the squared error; lower is better).
    n_features_in_ : int
        Number of features seen in ``fit``.
    classes_ : ndarray of shape (n_classes,)
        The class labels.
    """

    def fit(self, X, y, sample_weight=None):
        """Fit on X of shape (n_samples, n_features) and class labels y of shape (n_samples,).

        ``sample_weight`` (n_samples,), optional: non-negative weights of the samples in the
        squared loss (integer weights equal repeated rows).
        """
        X, y = validate_data(self, X, y, dtype=[np.float64, np.float32])
        T = encode_labels(self, y).astype(X.dtype)
        return self._fit_targets(X, T, _classification_score, sample_weight)

    def decision_function(self, X):
        """Scores of shape (n_samples,) for two classes, else (n_samples, n_classes)."""
        return self._decision(X)

    @available_if(no_probabilities)
    def predict_proba(self, X):  # pragma: no cover - never available (see no_probabilities)
        raise NotImplementedError

    def predict(self, X):
        """Predicted class labels of shape (n_samples,)."""
        scores = self._decision(X)
        return decode_scores(self.classes_, scores)
