"""scikit-learn estimators for globally optimal gated ReLU networks.

The estimators are thin shells: ``fit`` validates, builds the gates and activation patterns,
calls :func:`gatedrelu.solve_group_lasso` and stores the result in attributes ending in ``_``.
The shared plumbing (bias column, gates, target coding) lives in :class:`GatedBase` so the MKL
estimators reuse it.
"""

from __future__ import annotations

import jax
import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data

from ._validation import (
    check_gate_count,
    check_int,
    check_nonnegative,
    check_option,
    check_positive,
    check_sample_weight,
)
from .group_lasso import SOLVERS, solve_group_lasso
from .network import GatedReLUNetwork, network_from_coef
from .operator import forward
from .patterns import (
    SinglePatternWarning,
    activation_patterns,
    gate_masks,
    sample_gates,
    single_pattern_message,
)
from .problem import make_penalty
from .problem.datafits.logistic import softplus
from .problem.datafits.multinomial import log_softmax

__all__ = ["GatedReLURegressor", "GatedReLUClassifier", "GatedBase", "default_tol", "CLASSIFIER_LOSSES"]

#: The ``loss`` values of the classifiers: the squared loss on +1/-1 codes, the logistic loss
#: (two classes) and the softmax cross-entropy (any number of classes).
CLASSIFIER_LOSSES = ("squared", "logistic", "multinomial")
#: The losses whose scores are log-odds, so that the classifiers have ``predict_proba``.
_PROBABILISTIC = ("logistic", "multinomial")


#: Default ``alpha`` of the regressors, in units of the targets' scale, and of the classifiers
#: (+1/-1 codes), chosen by measurement on held-out splits (``benchmarks/bench_defaults.py``,
#: ``docs/benchmarks.md``, "Defaults").
ALPHA_REG = 0.1
ALPHA_CLS = 0.03


def default_tol(dtype) -> float:
    """Default relative duality-gap tolerance: 1e-6 in float64, 1e-5 in float32."""
    return 1e-5 if np.dtype(dtype) == np.float32 else 1e-6


#: Fits with at most this many samples run their BLAS calls on one thread: their matrices (n x n
#: kernels and their factors, small Gram blocks) are too small to share, and the two OpenBLAS pools
#: of numpy and scipy, spinning on two cores, made a default GatedReLUClassifierCV fit of
#: breast_cancer 9x slower on two cores than on one (benchmarks/results/user_fits.md). The limit
#: holds for the whole fit (every fold and the refit), so results do not depend on ``n_jobs``.
ONE_THREAD_N = 2500


def blas_threads(n_samples: int):
    """A context manager: one BLAS thread for fits of at most ``ONE_THREAD_N`` samples."""
    from contextlib import nullcontext

    from threadpoolctl import threadpool_limits

    return threadpool_limits(1, user_api="blas") if n_samples <= ONE_THREAD_N else nullcontext()


def add_bias(X: np.ndarray, fit_intercept: bool) -> np.ndarray:
    """Append the constant column that gives every neuron its own bias."""
    if not fit_intercept:
        return X
    return np.hstack([X, np.ones((X.shape[0], 1), X.dtype)])


class GatedBase(BaseEstimator):
    """Parameters and plumbing shared by the gated ReLU and MKL estimators."""

    def _validate_gate_params(self):
        check_int(self.n_gates, "n_gates")
        check_positive(self.alpha, "alpha")
        if not isinstance(self.fit_intercept, (bool, np.bool_)):
            raise TypeError(f"fit_intercept must be a bool, got {self.fit_intercept!r}.")
        linear = getattr(self, "linear", False)
        if not isinstance(linear, (bool, np.bool_)):
            raise TypeError(f"linear must be a bool, got {linear!r}.")

    def _make_gates(self, Xb: np.ndarray) -> np.ndarray:
        """User gates (validated) or ``n_gates`` Gaussian gates from ``random_state``."""
        d = Xb.shape[1]
        if self.gates is None:
            check_gate_count(self.n_gates, Xb.shape[0], d, Xb.dtype)  # before allocating
            return sample_gates(d, self.n_gates, random_state=self.random_state, dtype=Xb.dtype)
        G = np.asarray(self.gates)
        if G.dtype == object or not (np.issubdtype(G.dtype, np.number) or G.dtype == bool):
            raise ValueError(f"gates must be numeric, got dtype {G.dtype}.")
        if np.iscomplexobj(G):
            raise ValueError(f"gates must be real, got complex dtype {G.dtype}.")
        if G.ndim != 2 or G.shape[0] != d or G.shape[1] < 1:
            extra = " (n_features + 1: bias entry last, since fit_intercept=True)" if self.fit_intercept else ""
            raise ValueError(
                f"gates must have shape ({d}, n_gates){extra}; got {G.shape}."
            )
        if not np.all(np.isfinite(G)):
            raise ValueError("gates contains NaN or infinite values.")
        return G.astype(Xb.dtype)

    def _gates_of(self, Xb: np.ndarray) -> np.ndarray:
        """The gates of a fit: :meth:`_make_gates`, with the always-on zero gate first when
        ``linear`` (its group is the linear part ``x -> x.u``; ``docs/math.md``, "Linear part")."""
        G = self._make_gates(Xb)
        if getattr(self, "linear", False) and not np.any(~np.any(G != 0, axis=0)):
            G = np.hstack([np.zeros((G.shape[0], 1), G.dtype), G])
        return G

    def _patterns(self, X: np.ndarray):
        self._validate_gate_params()
        Xb = add_bias(X, self.fit_intercept)
        patterns = activation_patterns(Xb, self._gates_of(Xb))
        warn_single_pattern(patterns, X)
        return Xb, patterns

    def _bias(self, X) -> np.ndarray:
        return add_bias(X, self.fit_intercept)


class _GatedReLUMixin(GatedBase):
    def __init__(
        self,
        n_gates=100,
        alpha=1e-3,
        *,
        fit_intercept=True,
        gates=None,
        solver="auto",
        tol=None,
        max_iter=None,
        random_state=None,
        verbose=0,
        penalty="group_l2",
        l1_ratio=1.0,
        feature_weight=None,
        linear=True,
    ):
        self.n_gates = n_gates
        self.alpha = alpha
        self.fit_intercept = fit_intercept
        self.gates = gates
        self.solver = solver
        self.tol = tol
        self.max_iter = max_iter
        self.random_state = random_state
        self.verbose = verbose
        self.penalty = penalty
        self.l1_ratio = l1_ratio
        self.feature_weight = feature_weight
        self.linear = linear

    def _loss(self) -> str:
        """The datafit of this estimator (classifiers override it with their ``loss``)."""
        return "squared"

    def _fit_targets(self, X, T, sample_weight=None, standardise=False):
        solver = check_option(self.solver, "solver", SOLVERS)
        penalty = make_penalty(self.penalty, l1_ratio=self.l1_ratio,
                               feature_weight=self.feature_weight)
        verbose = check_int(self.verbose, "verbose", minimum=0)
        tol = default_tol(X.dtype) if self.tol is None else check_nonnegative(self.tol, "tol")
        if self.max_iter is not None:
            check_int(self.max_iter, "max_iter")
        X, T, sample_weight = drop_unweighted(X, T, sample_weight)
        Xb, patterns = self._patterns(X)
        loss = datafit_name(self._loss(), self.fit_intercept)
        scale, offset = standardisation(T, sample_weight, loss) if standardise else (1.0, 0.0)
        with blas_threads(X.shape[0]):
            res = solve_group_lasso(
                Xb, (T - offset) / T.dtype.type(scale), patterns, self.alpha, solver=solver,
                tol=tol, max_iter=self.max_iter, verbose=verbose, loss=loss, penalty=penalty,
                sample_weight=sample_weight,
            )
        self.patterns_ = patterns
        self.gates_ = patterns.gates
        self.coef_ = (res.coef * T.dtype.type(scale)).astype(T.dtype, copy=False)
        self.intercept_ = offset + res.intercept * scale
        self.target_scale_ = scale
        self.n_iter_ = res.n_iter
        self.dual_gap_ = res.dual_gap * scale * scale
        self.objective_ = res.objective * scale * scale
        self.n_active_neurons_ = res.n_active
        return self

    def _forward(self, X) -> np.ndarray:
        check_is_fitted(self, "coef_")
        X = validate_data(self, X, reset=False, dtype=[np.float64, np.float32])
        Xb = self._bias(X)
        masks = gate_masks(Xb, self.gates_)
        with jax.enable_x64(True):
            scores = np.asarray(forward(Xb, masks, self.coef_.astype(Xb.dtype, copy=False)))
        # models saved before the intercept existed have none
        intercept = getattr(self, "intercept_", 0.0)
        return scores + np.asarray(intercept, scores.dtype) if np.any(intercept) else scores

    def to_network(self) -> GatedReLUNetwork:
        """The equivalent non-convex two-layer gated ReLU network (active neurons only).

        Its ``predict`` equals this estimator's ``predict`` (regressor) or ``decision_function``
        (classifier; for two classes with ``loss="multinomial"`` the network has two outputs and
        ``decision_function`` is their difference), and its weight decay equals the group-lasso
        penalty.
        """
        check_is_fitted(self, "coef_")
        return network_from_coef(self.coef_, self.gates_, fit_intercept=self.fit_intercept,
                                 intercept=getattr(self, "intercept_", 0.0))





class GatedReLURegressor(RegressorMixin, _GatedReLUMixin):
    """Two-layer gated ReLU regression network trained to its global optimum.

    Parameters
    ----------
    n_gates : int, default=100
        Number of Gaussian gate vectors sampled (ignored if ``gates`` is given).
    alpha : float, default=0.1
        Weight decay in units of the targets' scale (``docs/math.md``, "Intercept, scale-free
        regularisation and linear part"): the targets are centred and divided by their
        (weighted) root-mean-square ``target_scale_`` before solving ``1/(2n) ||f(X) + b -
        y||^2 + alpha * sum_i ||u_i||``; equivalently the fit solves that program on the user's
        ``y`` at ``alpha * target_scale_``. So ``c * y + k`` gives ``c * predictions + k``.
    fit_intercept : bool, default=True
        Fit an unpenalised intercept ``intercept_`` and append a constant column so every
        neuron has its own bias; gates then have ``n_features + 1`` entries, bias last. False:
        neither (a homogeneous network).
    gates : array-like of shape (n_features [+ 1], m), default=None
        User-supplied gate vectors, used instead of sampling.
    solver : {"auto", "working_set", "newton", "fista", "cvxpy"}, default="auto"
        ``"auto"`` picks by problem size and switches solver when progress stalls;
        ``"working_set"`` (FISTA on working sets with gap-safe screening), ``"newton"``
        (projected Newton on the kernel weights, n <= 4000), ``"fista"`` (plain accelerated
        proximal gradient) and ``"cvxpy"`` (the exact CVXPY/Clarabel reference) force one.
        Every solver stops on the same certified duality gap.
    tol : float, default=None
        Relative duality-gap tolerance; None means 1e-6 for float64 input and 1e-5 for float32.
    max_iter : int, default=None
        Iteration limit of the solver (None: the solver's default).
    random_state : int, numpy Generator or None, default=None
        Seed of the gate sampling.
    verbose : int, default=0
        Print the solver's progress (the duality gap as it falls).
    penalty : str or Penalty, default="group_l2"
        The regulariser ``Omega``, a name of ``gatedrelu.problem.PENALTIES`` or a penalty object:
        ``"group_l2"`` is neuron sparsity (one group per activation pattern), ``"feature"`` input
        sparsity (one group per input feature, across all neurons: unused inputs get exactly
        zero weights), ``"group_l2+feature"`` both, ``sum_i ||u_i|| + feature_weight * sum_j
        ||U[:, j]||``. See the penalties guide; a name keeps the estimator savable.
    l1_ratio : float in (0, 1], default=1.0
        Mixes a ridge term into the penalty: ``alpha * (l1_ratio * Omega(U) + (1 - l1_ratio)/2
        * ||U||_F^2)`` (elastic-net mixing); 1 is the plain penalty.
    feature_weight : float >= 0, default=None
        Weight of the feature groups of ``penalty="group_l2+feature"`` (None means 1.0; 0 gives
        ``"group_l2"``); an error with any other penalty.
    linear : bool, default=True
        Add a linear part (skip connection): the zero gate, always on, is put first among the
        gates, and its group ``coef_[0]`` is the linear term ``x . u_0``, penalised like a
        neuron. The model class then contains the linear model.

    Attributes
    ----------
    coef_ : ndarray of shape (n_patterns, n_features [+ 1]) or (n_patterns, n_features [+ 1], n_outputs)
        Group-lasso coefficients ``u_i``, one group per activation pattern (with ``linear``,
        ``coef_[0]`` is the linear part), in the units of ``y``.
    intercept_ : float or ndarray of shape (n_outputs,)
        The unpenalised intercept ``b`` (0.0 with ``fit_intercept=False``).
    target_scale_ : float
        The scale the targets were divided by (their weighted RMS after centring).
    gates_ : ndarray of shape (n_features [+ 1], n_patterns)
        Representative gate of each pattern (with ``linear``, ``gates_[:, 0]`` is zero).
    patterns_ : ActivationPatterns
        Activation patterns of the gates on the training data.
    n_iter_ : int
        Iterations of the solver.
    dual_gap_ : float
        Absolute duality gap at ``coef_`` (in squared units of ``y``).
    objective_ : float
        Objective at ``coef_`` and ``intercept_`` of the program on ``y`` at ``alpha *
        target_scale_``.
    n_active_neurons_ : int
        Number of non-zero groups.
    n_features_in_ : int
        Number of features seen in ``fit``.
    """

    def __init__(
        self,
        n_gates=100,
        alpha=ALPHA_REG,
        *,
        fit_intercept=True,
        gates=None,
        solver="auto",
        tol=None,
        max_iter=None,
        random_state=None,
        verbose=0,
        penalty="group_l2",
        l1_ratio=1.0,
        feature_weight=None,
        linear=True,
    ):
        super().__init__(
            n_gates=n_gates, alpha=alpha, fit_intercept=fit_intercept, gates=gates,
            solver=solver, tol=tol, max_iter=max_iter, random_state=random_state,
            verbose=verbose, penalty=penalty, l1_ratio=l1_ratio, feature_weight=feature_weight,
            linear=linear,
        )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

    def fit(self, X, y, sample_weight=None):
        """Fit on X of shape (n_samples, n_features) and y of shape (n_samples[, n_outputs]).

        ``sample_weight`` (n_samples,), optional: non-negative weights of the samples in the loss
        (integer weights equal repeated rows).
        """
        X, y = validate_data(
            self, X, y, dtype=[np.float64, np.float32], multi_output=True, y_numeric=True
        )
        return self._fit_targets(X, y.astype(X.dtype, copy=False), sample_weight, standardise=True)

    def predict(self, X):
        """Predictions of shape (n_samples,) or (n_samples, n_outputs)."""
        return self._forward(X)


class _ClassifierOutputs:
    """Scores, labels and probabilities of a fitted gated ReLU classifier, per ``loss``.

    Shared by :class:`GatedReLUClassifier` and :class:`~gatedrelu.GatedReLUClassifierCV`; needs
    ``_forward``, ``classes_`` and the ``loss`` parameter.
    """

    def _has_proba(self) -> bool:
        return getattr(self, "loss", "squared") in _PROBABILISTIC

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        if getattr(self, "loss", "squared") == "logistic":
            tags.classifier_tags.multi_class = False  # two classes only
        return tags

    def __getattr__(self, name):
        # reached only when normal lookup fails: say why predict_proba is missing
        if name in ("predict_proba", "predict_log_proba"):
            loss = self.__dict__.get("loss", "squared")
            if loss not in _PROBABILISTIC:
                raise AttributeError(
                    f"{type(self).__name__} with loss={loss!r} has no {name}: "
                    + ("the squared loss fits +1/-1 codes, not probabilities. "
                       if loss == "squared" else
                       f"loss must be one of {', '.join(map(repr, CLASSIFIER_LOSSES))}. ")
                    + "Use loss='logistic' (two classes) or loss='multinomial', or calibrate the "
                    "scores with sklearn.calibration.CalibratedClassifierCV, e.g. "
                    f"CalibratedClassifierCV({type(self).__name__}(), method='sigmoid')."
                )
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def decision_function(self, X):
        """Scores of the network.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs.

        Returns
        -------
        scores : ndarray of shape (n_samples,) or (n_samples, n_classes)
            For two classes one score per sample, positive for ``classes_[1]`` (with
            ``loss="logistic"`` or ``"multinomial"`` it is the log-odds of ``classes_[1]``: the
            difference of the two outputs for ``"multinomial"``); otherwise one score per class
            (``"multinomial"``: unnormalised log-probabilities).
        """
        scores = self._forward(X)
        if scores.ndim == 2 and scores.shape[1] == 2 and len(self.classes_) == 2:
            return scores[:, 1] - scores[:, 0]  # multinomial: the log-odds of classes_[1]
        return scores

    def predict(self, X):
        """Predicted class labels.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            Class labels, from ``classes_``: the sign of the score for two classes, the
            arg max otherwise.
        """
        scores = self.decision_function(X)  # NotFittedError before classes_ is looked up
        return decode_scores(self.classes_, scores)

    @available_if(_has_proba)
    def predict_proba(self, X):
        """Class probabilities (``loss="logistic"`` or ``"multinomial"`` only).

        The sigmoid of the score for ``"logistic"``, the softmax of the scores for
        ``"multinomial"`` (``docs/math.md``). With ``loss="squared"`` this method does not exist;
        calibrate such a classifier with ``sklearn.calibration.CalibratedClassifierCV``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Probabilities of the classes in the order of ``classes_`` (float64); rows sum to 1.
        """
        return np.exp(self.predict_log_proba(X))

    @available_if(_has_proba)
    def predict_log_proba(self, X):
        """Logarithms of the class probabilities (``loss="logistic"`` or ``"multinomial"``).

        Computed without overflow or underflow (log-sigmoid / log-softmax of the scores), so very
        confident predictions keep finite logarithms.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Inputs.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
            In the order of ``classes_`` (float64).
        """
        # in float64 whatever the input: probabilities near 1 keep their distance to 1, so that
        # predict_proba = exp(predict_log_proba) and its logarithm agree to rounding
        scores = self._forward(X).astype(np.float64)
        if scores.ndim == 1:  # logistic: P(classes_[1]) = sigmoid(score)
            return np.stack([-softplus(scores), -softplus(-scores)], axis=1)
        return log_softmax(scores)


class GatedReLUClassifier(_ClassifierOutputs, ClassifierMixin, _GatedReLUMixin):
    """Two-layer gated ReLU classifier trained to its global optimum.

    The loss is chosen by ``loss``: the squared loss on targets coded +1/-1 (a single +1/-1
    column for two classes, one-hot columns for more; the default), the logistic loss (two
    classes) or the softmax cross-entropy (``"multinomial"``, any number of classes). The two
    probabilistic losses give ``predict_proba``; see ``docs/math.md`` for each loss, its dual and
    its certificate.

    Parameters
    ----------
    n_gates : int, default=100
        Number of Gaussian gate vectors sampled (ignored if ``gates`` is given).
    alpha : float, default=0.03
        Weight decay, scaled as in ``docs/math.md``: the objective is the loss averaged over
        samples plus ``alpha * sum_i ||u_i||``, e.g. ``1/(2n) ||f(X) + b - y||^2 + alpha *
        sum_i ||u_i||`` for the squared loss (on +1/-1 codes, so no target scale).
    fit_intercept : bool, default=True
        Append a constant column so every neuron has its own bias (gates then have
        ``n_features + 1`` entries, bias last) and, with the squared loss, fit an unpenalised
        intercept ``intercept_`` (the logistic and multinomial losses have the neurons' biases
        only).
    gates : array-like of shape (n_features [+ 1], m), default=None
        User-supplied gate vectors, used instead of sampling.
    solver : {"auto", "working_set", "newton", "fista", "cvxpy"}, default="auto"
        ``"auto"`` picks by problem size and switches solver when progress stalls;
        ``"working_set"`` (FISTA on working sets with gap-safe screening), ``"newton"``
        (projected Newton on the kernel weights, n <= 4000, squared loss only), ``"fista"``
        (plain accelerated proximal gradient) and ``"cvxpy"`` (the exact CVXPY/Clarabel
        reference) force one. Every solver stops on the same certified duality gap.
    tol : float, default=None
        Relative duality-gap tolerance; None means 1e-6 for float64 input and 1e-5 for float32.
    max_iter : int, default=None
        Iteration limit of the solver (None: the solver's default).
    random_state : int, numpy Generator or None, default=None
        Seed of the gate sampling.
    verbose : int, default=0
        Print the solver's progress (the duality gap as it falls).
    penalty : str or Penalty, default="group_l2"
        The regulariser ``Omega``, a name of ``gatedrelu.problem.PENALTIES`` or a penalty object:
        ``"group_l2"`` is neuron sparsity (one group per activation pattern), ``"feature"`` input
        sparsity (one group per input feature, across all neurons: unused inputs get exactly
        zero weights), ``"group_l2+feature"`` both, ``sum_i ||u_i|| + feature_weight * sum_j
        ||U[:, j]||``. See the penalties guide; a name keeps the estimator savable.
    l1_ratio : float in (0, 1], default=1.0
        Mixes a ridge term into the penalty: ``alpha * (l1_ratio * Omega(U) + (1 - l1_ratio)/2
        * ||U||_F^2)`` (elastic-net mixing); 1 is the plain penalty.
    feature_weight : float >= 0, default=None
        Weight of the feature groups of ``penalty="group_l2+feature"`` (None means 1.0; 0 gives
        ``"group_l2"``); an error with any other penalty.
    linear : bool, default=True
        Add a linear part: the always-on zero gate first among the gates, its group
        ``coef_[0]`` the linear term, penalised like a neuron.
    loss : {"squared", "logistic", "multinomial"}, default="squared"
        ``"squared"``: ``1/(2n) ||f(X) - Y||^2`` on +1/-1 codes (no ``predict_proba``; calibrate
        with ``sklearn.calibration.CalibratedClassifierCV``). ``"logistic"``: ``(1/n) sum_k
        log(1 + exp(-y_k f(x_k)))`` with ``y_k`` = +1/-1, two classes only, one output.
        ``"multinomial"``: the softmax cross-entropy on one-hot targets, one output per class
        (two for two classes). Sample weights enter every loss as a weighted mean.

    Attributes
    ----------
    coef_ : ndarray of shape (n_patterns, n_features [+ 1]) or (n_patterns, n_features [+ 1], n_outputs)
        Group-lasso coefficients ``u_i``, one group per activation pattern (``n_outputs`` is 1
        for two classes except with ``loss="multinomial"``, else the number of classes; with
        ``linear``, ``coef_[0]`` is the linear part).
    intercept_ : float or ndarray of shape (n_outputs,)
        The unpenalised intercept of the scores (squared loss with ``fit_intercept``; else 0.0).
    target_scale_ : float
        1.0 (the codes are not rescaled).
    gates_ : ndarray of shape (n_features [+ 1], n_patterns)
        Representative gate of each pattern.
    patterns_ : ActivationPatterns
        Activation patterns of the gates on the training data.
    n_iter_ : int
        Iterations of the solver.
    dual_gap_ : float
        Absolute duality gap at ``coef_``.
    objective_ : float
        Objective (loss plus penalty) at ``coef_``.
    n_active_neurons_ : int
        Number of non-zero groups.
    n_features_in_ : int
        Number of features seen in ``fit``.
    classes_ : ndarray of shape (n_classes,)
        The class labels.
    """

    def __init__(
        self,
        n_gates=100,
        alpha=ALPHA_CLS,
        *,
        fit_intercept=True,
        gates=None,
        solver="auto",
        tol=None,
        max_iter=None,
        random_state=None,
        verbose=0,
        penalty="group_l2",
        l1_ratio=1.0,
        feature_weight=None,
        linear=True,
        loss="squared",
    ):
        super().__init__(
            n_gates=n_gates, alpha=alpha, fit_intercept=fit_intercept, gates=gates,
            solver=solver, tol=tol, max_iter=max_iter, random_state=random_state,
            verbose=verbose, penalty=penalty, l1_ratio=l1_ratio, feature_weight=feature_weight,
            linear=linear,
        )
        self.loss = loss

    def _loss(self) -> str:
        return check_option(self.loss, "loss", CLASSIFIER_LOSSES)

    def fit(self, X, y, sample_weight=None):
        """Fit on X of shape (n_samples, n_features) and class labels y of shape (n_samples,).

        ``sample_weight`` (n_samples,), optional: non-negative weights of the samples in the loss
        (integer weights equal repeated rows).
        """
        loss = self._loss()
        X, y = validate_data(self, X, y, dtype=[np.float64, np.float32])
        T = encode_labels(self, y, loss).astype(X.dtype)
        return self._fit_targets(X, T, sample_weight)


def datafit_name(loss: str, fit_intercept: bool) -> str:
    """The datafit of an estimator's ``loss``: with ``fit_intercept``, the squared loss gets its
    unpenalised intercept (``"squared_intercept"``, ``docs/math.md``, "Intercept"); the logistic
    and multinomial losses keep the neurons' biases only."""
    return "squared_intercept" if loss == "squared" and fit_intercept else loss


def target_scale(T, sample_weight, loss: str) -> float:
    """The scale ``sigma`` by which a regressor divides its targets (``docs/math.md``, "Scale-free
    regularisation"): the weighted root-mean-square of the targets, centred when the loss has an
    intercept, over every output; 1.0 for constant (or zero) targets. ``y -> c y`` gives
    ``sigma -> |c| sigma``, so the standardised problem, hence the network up to the factor
    ``c``, does not change."""
    T = np.asarray(T, dtype=np.float64).reshape(T.shape[0], -1)
    w = np.ones(T.shape[0]) if sample_weight is None else np.asarray(sample_weight, np.float64)
    w = w / w.sum()
    if loss == "squared_intercept":
        T = T - w @ T
    big = np.max(np.abs(T)) if T.size else 0.0
    if not np.isfinite(big) or big == 0:
        return 1.0
    sigma = big * float(np.sqrt(w @ np.mean((T / big) ** 2, axis=1)))  # no overflow near 1e300
    return sigma if np.isfinite(sigma) and sigma > 0 else 1.0


def standardisation(T, sample_weight, loss: str):
    """``(scale, offset)`` by which a regressor standardises its targets, ``(T - offset) /
    scale`` (``docs/math.md``, "Scale-free regularisation"): the :func:`target_scale` and, for
    the loss with an intercept, the weighted mean (else 0.0). Exact: the intercept absorbs the
    offset and ``alpha`` is measured in units of the scale."""
    scale = target_scale(T, sample_weight, loss)
    if scale > np.sqrt(np.finfo(T.dtype).max / 8):
        raise ValueError(
            f"y has root-mean-square {scale:.3g}: the objective in the units of y (about "
            f"{scale:.1e}^2) exceeds the range of {T.dtype}, so no objective or duality "
            "gap can be reported. Rescale y (e.g. divide it by its standard deviation)."
        )
    offset = 0.0
    if loss == "squared_intercept":
        w = None if sample_weight is None else sample_weight / sample_weight.sum()
        offset = np.average(T, axis=0, weights=w).astype(T.dtype)
    return scale, offset


def drop_unweighted(X, T, sample_weight):
    """Remove the rows of weight 0, so that a zero weight is exactly removing the row.

    Zero-weight rows do not enter the loss, but they would still split activation patterns (two
    gates that differ only on such a row would count as two patterns) and so change the fitted
    network away from the training rows. Returns ``(X, T, w)`` with ``w`` validated and of mean 1
    over the rows kept (or None).
    """
    w = check_sample_weight(sample_weight, X.shape[0])
    if w is None or np.all(w > 0):
        return X, T, w
    keep = w > 0
    return X[keep], T[keep], check_sample_weight(w[keep], int(keep.sum()))


def encode_labels(estimator, y, loss="squared") -> np.ndarray:
    """Set ``estimator.classes_`` and return the targets of ``loss`` for the labels ``y``.

    ``"squared"``: +1/-1 codes, (n,) for two classes, else one-hot +1/-1 columns (n, K);
    ``"logistic"``: +1/-1 of shape (n,) (two classes only); ``"multinomial"``: one-hot 0/1 of
    shape (n, K), two columns for two classes.
    """
    loss = check_option(loss, "loss", CLASSIFIER_LOSSES)
    y = column_or_1d(y, warn=True)
    check_classification_targets(y)
    binarizer = LabelBinarizer(neg_label=-1, pos_label=1)
    T = binarizer.fit_transform(y)
    estimator.classes_ = binarizer.classes_
    K = len(estimator.classes_)
    if K < 2:
        raise ValueError(
            f"Classifier needs samples of at least 2 classes in the data; got 1 class "
            f"({estimator.classes_[0]!r})."
        )
    if loss == "logistic" and K > 2:
        raise ValueError(
            f"Only binary classification is supported with loss='logistic'; y has {K} classes. "
            "Use loss='multinomial' (the softmax cross-entropy) for more than two."
        )
    if loss == "multinomial":
        onehot = (T > 0).astype(float)
        return np.hstack([1 - onehot, onehot]) if K == 2 else onehot
    return T[:, 0] if T.shape[1] == 1 else T


def decode_scores(classes, scores) -> np.ndarray:
    """Class labels from decision scores (sign for two classes, argmax otherwise)."""
    if scores.ndim == 1:
        return classes[(scores > 0).astype(int)]
    return classes[np.argmax(scores, axis=1)]


def warn_single_pattern(patterns, X) -> None:
    """A :class:`~gatedrelu.patterns.SinglePatternWarning` when every gate gives the same
    activation pattern on ``X`` (n_samples, n_features): the network is then a linear model
    (:func:`~gatedrelu.patterns.single_pattern_message` says why and what to do)."""
    message = single_pattern_message(patterns, X)
    if message is not None:
        import warnings

        warnings.warn(message, SinglePatternWarning, stacklevel=4)


def no_probabilities(estimator) -> bool:
    """The ``available_if`` check of ``predict_proba`` on the squared-loss classifiers (MKL,
    convex ReLU): never available; the AttributeError's cause says why and what has them."""
    raise AttributeError(
        f"{type(estimator).__name__} has no predict_proba: it fits the squared loss on +1/-1 "
        "codes, whose scores are not probabilities. Use GatedReLUClassifier(loss='logistic') "
        "(two classes) or loss='multinomial' for probabilities, or wrap this estimator in "
        "sklearn.calibration.CalibratedClassifierCV."
    )
