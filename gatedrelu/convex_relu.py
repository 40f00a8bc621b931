r"""Two-layer ReLU networks trained to global optimality: the cone-constrained convex program.

For activation patterns ``D_1..D_P`` the convex program of Pilanci and Ergen (2020) is

.. math::

    \min_{v, w}\ \frac{1}{2n}\Big\|\sum_i D_i X (v_i - w_i) - y\Big\|^2
      + \alpha \sum_i \big(\|v_i\| + \|w_i\|\big)
    \quad\text{s.t.}\quad (2D_i - I) X v_i \ge 0,\ (2D_i - I) X w_i \ge 0,

whose solutions are two-layer ReLU networks ``f(x) = sum_i (x.v_i)_+ - (x.w_i)_+`` with weight
decay (``docs/math.md``, "Convex ReLU networks"): with every pattern of the data, the global
optimum of ReLU training. The constraints make the pre-activations of every neuron follow its
pattern on the training data, so that ``D_i X v_i = (X v_i)_+``.

It is solved on the problem layer as a group lasso over ``2P`` groups (masks ``[M, M]``,
``u_i = v_i`` and ``u_{P+i} = -w_i``) with the :class:`~gatedrelu.problem.constraints.cone.ConeConstraint`,
by the solvers whose ``supports`` accepts it (``"cone_fista"``, the ``"cvxpy"`` reference;
``"auto"`` picks ``cone_fista``); every answer is certified by the duality gap of the
constrained program and by its constraint violation.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import ClassifierMixin, RegressorMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from ._validation import check_int, check_nonnegative, check_option, check_positive
from .estimators import (
    ALPHA_CLS,
    ALPHA_REG,
    CLASSIFIER_LOSSES,
    GatedBase,
    _ClassifierOutputs,
    datafit_name,
    default_tol,
    drop_unweighted,
    encode_labels,
    standardisation,
)
from .group_lasso import (
    GroupLassoResult,
    _check_init,
    _check_problem,
    _run,
    _tolerance,
    make_problem,
)
from .network import ReLUNetwork, relu_network_from_coef
from .problem import Problem
from .problem.constraints.cone import ConeConstraint
from .solvers import REGISTRY, SOLVERS

__all__ = [
    "ConvexReLURegressor",
    "ConvexReLUClassifier",
    "solve_convex_relu",
    "convex_relu_problem",
    "split_coef",
    "CONE_SOLVERS",
]


def _cone_solvers() -> tuple:
    """The registered solvers that accept cone-constrained problems ("auto" first)."""
    X = np.ones((2, 1))
    probe = Problem(X, np.ones((2, 2), bool), np.ones(2), 1.0, constraint=ConeConstraint())
    return tuple(s for s in SOLVERS if REGISTRY[s].supports(probe) is None)


#: The accepted ``solver=`` values of the convex ReLU functions and estimators.
CONE_SOLVERS = _cone_solvers()


def convex_relu_problem(X, y, M, alpha, *, loss="squared", sample_weight=None) -> Problem:
    """The cone-constrained :class:`~gatedrelu.problem.Problem` of validated arrays: masks
    ``[M, M]`` (``v`` groups, then ``w`` groups) and the cone constraint.

    Sample weights scale the rows of ``X`` by ``sqrt(w_k) > 0``, which changes no sign: the
    constraints of the weighted problem are those of the unweighted one.
    """
    M2 = np.ascontiguousarray(np.hstack([M, M]))
    return make_problem(X, y, M2, alpha, loss, "group_l2", sample_weight,
                        constraint=ConeConstraint())


def split_coef(coef) -> np.ndarray:
    """``(2, P, d[, c])`` array ``[V, W]`` from the ``(2P, d[, c])`` groups ``[V, -W]``."""
    coef = np.asarray(coef)
    P = coef.shape[0] // 2
    return np.stack([coef[:P], -coef[P:]])


def solve_convex_relu(
    X,
    y,
    patterns,
    alpha,
    *,
    solver: str = "auto",
    tol: float = 1e-6,
    max_iter: int | None = None,
    init=None,
    verbose: int = 0,
    loss: str = "squared",
    sample_weight=None,
) -> GroupLassoResult:
    """Solve the convex ReLU program (cone-constrained) for fixed activation patterns.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Inputs as the network sees them (append a column of ones for biases).
    y : array-like of shape (n_samples,) or (n_samples, n_outputs)
    patterns : ActivationPatterns or bool array of shape (n_samples, n_patterns)
        The patterns ``D_i``; each gives two neurons, ``v_i`` and ``w_i``.
    alpha : float
        Weight decay (> 0), scaled as in ``docs/math.md``.
    solver : {"auto", "cone_fista", "cvxpy"}, default "auto"
        ``"cone_fista"``: FISTA with exact projections onto the activation cones (what "auto"
        runs); ``"cvxpy"``: the CVXPY/Clarabel reference.
    tol : float, default 1e-6
        The solve stops once the duality gap is at most ``tol * objective`` and the constraint
        violation at most ``tol`` times the root-mean-square of ``y``.
    max_iter : int, optional
        Iteration limit (default: the solver's own).
    init : array-like of shape (2 n_patterns, n_features[, n_outputs]) or GroupLassoResult, optional
        Warm start, in the layout of ``coef`` below (``cone_fista`` projects it onto the cones).
    verbose : int, default 0
    loss : str, default "squared"
        The datafit (``gatedrelu.problem.DATAFITS``).
    sample_weight : array-like of shape (n_samples,), optional

    Returns
    -------
    GroupLassoResult
        ``coef`` of shape (2 n_patterns, n_features[, n_outputs]) holds the groups ``[V, -W]``
        (:func:`split_coef` gives ``[V, W]``); ``objective``, ``dual_gap`` and
        ``constraint_violation`` certify it; ``info["multipliers"]`` holds the multipliers of
        the cone constraints, shape (n_samples, 2 n_patterns[, n_outputs]).

    Warns
    -----
    ConvergenceWarning
        When the relative gap or the relative constraint violation is above ``tol``; the
        message gives both.
    """
    solver = check_option(solver, "solver", CONE_SOLVERS)
    X, y, M = _check_problem(X, y, patterns)
    alpha = check_positive(alpha, "alpha")
    if max_iter is not None:
        max_iter = check_int(max_iter, "max_iter")
    if init is not None and not REGISTRY[solver].warm_start:
        raise ValueError(f"init is not used by solver={solver!r} (it does not warm-start).")
    tol = _tolerance(tol, X.dtype)
    U0 = _check_init(init, 2 * M.shape[1], X.shape[1], y, X.dtype)
    problem = convex_relu_problem(X, y, M, alpha, loss=loss, sample_weight=sample_weight)
    options = dict(verbose=check_int(verbose, "verbose", minimum=0))
    return _run(problem, solver, tol, max_iter, U0, options)


# --------------------------------------------------------------------------- estimators


class _ConvexReLUBase(GatedBase):
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

    def _loss(self) -> str:
        return "squared"

    def _fit_targets(self, X, T, sample_weight=None, standardise=False):
        solver = check_option(self.solver, "solver", CONE_SOLVERS)
        verbose = check_int(self.verbose, "verbose", minimum=0)
        # float32 input is solved in float64: the certificate of the constrained program
        # subtracts nearly equal primal and dual values, float32 leaves it at rounding noise
        X, T = X.astype(np.float64, copy=False), T.astype(np.float64, copy=False)
        tol = default_tol(X.dtype) if self.tol is None else check_nonnegative(self.tol, "tol")
        if self.max_iter is not None:
            check_int(self.max_iter, "max_iter")
        X, T, sample_weight = drop_unweighted(X, T, sample_weight)
        Xb, patterns = self._patterns(X)
        loss = datafit_name(self._loss(), self.fit_intercept)
        # as the gated ReLU regressor: targets divided by their scale, alpha in those units
        scale, offset = standardisation(T, sample_weight, loss) if standardise else (1.0, 0.0)
        res = solve_convex_relu(Xb, (T - offset) / scale, patterns, self.alpha, solver=solver,
                                tol=tol, max_iter=self.max_iter, verbose=verbose, loss=loss,
                                sample_weight=sample_weight)
        self.patterns_ = patterns
        self.gates_ = patterns.gates
        self.coef_ = split_coef(res.coef) * scale
        self.intercept_ = offset + res.intercept * scale
        self.target_scale_ = scale
        self.n_iter_ = res.n_iter
        self.dual_gap_ = res.dual_gap * scale * scale
        self.objective_ = res.objective * scale * scale
        self.constraint_violation_ = res.constraint_violation * scale
        self.n_active_neurons_ = res.n_active
        return self

    def _forward(self, X) -> np.ndarray:
        """``b + sum_i (x.v_i)_+ - (x.w_i)_+`` at the rows of ``X``."""
        check_is_fitted(self, "coef_")
        X = validate_data(self, X, reset=False, dtype=[np.float64, np.float32])
        Xb = self._bias(X.astype(np.float64, copy=False))
        V, W = self.coef_
        pre_v = np.einsum("nd,pd...->np...", Xb, V)
        pre_w = np.einsum("nd,pd...->np...", Xb, W)
        out = np.maximum(pre_v, 0).sum(axis=1) - np.maximum(pre_w, 0).sum(axis=1)
        # models saved before the intercept existed have none
        return out + np.asarray(getattr(self, "intercept_", 0.0), out.dtype)

    def to_network(self) -> ReLUNetwork:
        """The two-layer ReLU network ``f(x) = sum_i (x.v_i)_+ - (x.w_i)_+`` (active neurons).

        First-layer weights ``v_i / sqrt(||v_i||)`` and ``w_i / sqrt(||w_i||)``, output weights
        ``+sqrt(||v_i||)`` and ``-sqrt(||w_i||)``: its predictions are this estimator's (``predict``
        for the regressor, ``decision_function`` for the classifier) and its weight decay
        ``(alpha/2) sum (||first||^2 + output^2)`` is ``alpha sum_i (||v_i|| + ||w_i||)``.
        """
        check_is_fitted(self, "coef_")
        return relu_network_from_coef(self.coef_, fit_intercept=self.fit_intercept,
                                      intercept=getattr(self, "intercept_", 0.0))


class ConvexReLURegressor(RegressorMixin, _ConvexReLUBase):
    """Two-layer ReLU regression network trained to its global optimum (for the sampled
    activation patterns) by the cone-constrained convex program.

    ``predict`` is the ReLU network ``f(x) = b + sum_i (x.v_i)_+ - (x.w_i)_+`` with an
    unpenalised intercept ``b`` (with ``fit_intercept``); on the training data it equals the
    convex model's predictions (the constraints hold), and ``objective_`` is the network's squared
    loss ``1/(2n) ||f(X) - y||^2`` plus its weight decay. As :class:`~gatedrelu.GatedReLURegressor`
    the targets are standardised inside (``docs/math.md``, "Scale-free regularisation"): ``alpha``
    is measured in units of their standard deviation, so ``y -> c y + k`` gives the predictions
    ``c f(x) + k``.

    Parameters
    ----------
    n_gates : int, default=100
        Number of Gaussian gate vectors sampled to find activation patterns (ignored if
        ``gates`` is given); each distinct pattern gives two neurons, ``v_i`` and ``w_i``.
    alpha : float, default=0.1
        Weight decay in units of the targets' standard deviation (the default of
        :class:`~gatedrelu.GatedReLURegressor`): the standardised program's objective is the loss
        averaged over samples plus ``alpha * sum_i (||v_i|| + ||w_i||)``.
    fit_intercept : bool, default=True
        Append a constant column so every neuron has its own bias (gates then have
        ``n_features + 1`` entries, bias last), and fit an unpenalised intercept ``b``.
    gates : array-like of shape (n_features [+ 1], m), default=None
        User-supplied gate vectors (they only select the activation patterns).
    solver : {"auto", "cone_fista", "cvxpy"}, default="auto"
        ``"cone_fista"`` (FISTA with exact projections onto the activation cones, what "auto"
        runs) or ``"cvxpy"`` (the CVXPY/Clarabel reference).
    tol : float, default=None
        Relative tolerance on the duality gap and on the constraint violation (relative to the
        root-mean-square of the targets); None means 1e-6. Input of any float dtype is solved
        in float64 (the constrained program's certificate needs the precision).
    max_iter : int, default=None
        Iteration limit of the solver (None: the solver's default).
    random_state : int, numpy Generator or None, default=None
        Seed of the gate sampling.
    verbose : int, default=0
        Print the solver's summary.

    Attributes
    ----------
    coef_ : ndarray of shape (2, n_patterns, n_features [+ 1]) or (2, n_patterns, n_features [+ 1], n_outputs)
        ``coef_[0]`` the weights ``v_i``, ``coef_[1]`` the weights ``w_i`` (in units of ``y``).
    intercept_ : float or ndarray of shape (n_outputs,)
        The unpenalised intercept ``b`` (0.0 without ``fit_intercept``).
    target_scale_ : float
        The scale the targets were divided by (``alpha`` is in these units).
    gates_ : ndarray of shape (n_features [+ 1], n_patterns)
        Representative gate of each pattern.
    patterns_ : ActivationPatterns
        Activation patterns of the gates on the training data.
    n_iter_ : int
        Iterations of the solver.
    dual_gap_ : float
        Absolute duality gap at ``coef_`` (an upper bound on its suboptimality), in units of
        ``y`` squared.
    objective_ : float
        Objective (loss plus weight decay ``alpha target_scale_ sum_i (||v_i|| + ||w_i||)``)
        at ``coef_`` and ``intercept_``, in units of ``y`` squared.
    constraint_violation_ : float
        Largest violation of the cone constraints at ``coef_``, in units of the predictions
        (rounding error when converged).
    n_active_neurons_ : int
        Number of non-zero ``v_i`` and ``w_i``.
    n_features_in_ : int
        Number of features seen in ``fit``.
    """

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
        return self._fit_targets(X, y.astype(X.dtype, copy=False), sample_weight,
                                 standardise=True)

    def predict(self, X):
        """Network output of shape (n_samples,) or (n_samples, n_outputs)."""
        return self._forward(X)


class ConvexReLUClassifier(_ClassifierOutputs, ClassifierMixin, _ConvexReLUBase):
    """Two-layer ReLU classifier trained to its global optimum (for the sampled activation
    patterns) by the cone-constrained convex program.

    The loss is chosen by ``loss``, as for :class:`~gatedrelu.GatedReLUClassifier`: the squared
    loss on +1/-1 codes (a single column for two classes, one column per class otherwise; with
    ``fit_intercept`` an unpenalised intercept), the logistic loss (two classes) or the softmax
    cross-entropy (``"multinomial"``); the two probabilistic losses give ``predict_proba``.

    Parameters
    ----------
    n_gates : int, default=100
        Number of Gaussian gate vectors sampled to find activation patterns (ignored if
        ``gates`` is given); each distinct pattern gives two neurons, ``v_i`` and ``w_i``.
    alpha : float, default=0.03
        Weight decay (the default of :class:`~gatedrelu.GatedReLUClassifier`), scaled as in
        ``docs/math.md``: the objective is the loss averaged over samples plus
        ``alpha * sum_i (||v_i|| + ||w_i||)``.
    fit_intercept : bool, default=True
        Append a constant column so every neuron has its own bias; gates then have
        ``n_features + 1`` entries, bias last.
    gates : array-like of shape (n_features [+ 1], m), default=None
        User-supplied gate vectors (they only select the activation patterns).
    solver : {"auto", "cone_fista", "cvxpy"}, default="auto"
        ``"cone_fista"`` (FISTA with exact projections onto the activation cones, what "auto"
        runs) or ``"cvxpy"`` (the CVXPY/Clarabel reference).
    tol : float, default=None
        Relative tolerance on the duality gap and on the constraint violation (relative to the
        root-mean-square of the targets); None means 1e-6. Input of any float dtype is solved
        in float64 (the constrained program's certificate needs the precision).
    max_iter : int, default=None
        Iteration limit of the solver (None: the solver's default).
    random_state : int, numpy Generator or None, default=None
        Seed of the gate sampling.
    verbose : int, default=0
        Print the solver's summary.
    loss : {"squared", "logistic", "multinomial"}, default="squared"
        The datafit (``docs/math.md``); ``"logistic"`` needs two classes.

    Attributes
    ----------
    coef_ : ndarray of shape (2, n_patterns, n_features [+ 1]) or (2, n_patterns, n_features [+ 1], n_outputs)
        ``coef_[0]`` the weights ``v_i``, ``coef_[1]`` the weights ``w_i``.
    intercept_ : float or ndarray of shape (n_outputs,)
        The unpenalised intercept of the squared loss with ``fit_intercept`` (else 0.0).
    gates_ : ndarray of shape (n_features [+ 1], n_patterns)
        Representative gate of each pattern.
    patterns_ : ActivationPatterns
        Activation patterns of the gates on the training data.
    n_iter_ : int
        Iterations of the solver.
    dual_gap_ : float
        Absolute duality gap at ``coef_`` (an upper bound on its suboptimality).
    objective_ : float
        Objective (loss plus weight decay) at ``coef_``.
    constraint_violation_ : float
        Largest violation of the cone constraints at ``coef_``, in units of the predictions
        (rounding error when converged).
    n_active_neurons_ : int
        Number of non-zero ``v_i`` and ``w_i``.
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
        loss="squared",
    ):
        super().__init__(
            n_gates=n_gates, alpha=alpha, fit_intercept=fit_intercept, gates=gates,
            solver=solver, tol=tol, max_iter=max_iter, random_state=random_state,
            verbose=verbose,
        )
        self.loss = loss

    def _loss(self) -> str:
        return check_option(self.loss, "loss", CLASSIFIER_LOSSES)

    def fit(self, X, y, sample_weight=None):
        """Fit on X of shape (n_samples, n_features) and class labels y of shape (n_samples,).

        ``sample_weight`` (n_samples,), optional: non-negative weights of the samples in the loss.
        """
        loss = self._loss()
        X, y = validate_data(self, X, y, dtype=[np.float64, np.float32])
        T = encode_labels(self, y, loss).astype(X.dtype)
        return self._fit_targets(X, T, sample_weight)
