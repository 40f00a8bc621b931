r"""Consistency: the optimal kernel (group lasso) against the NTK on a planted gated ReLU teacher.

``docs/math.md``, "Consistency". Planted model

.. math::

    y = A(U_\mathrm{true}) + \sigma \varepsilon, \qquad
    A(U) = \sum_i D_i X u_i, \quad \varepsilon \sim N(0, I_n),

where ``U_true`` has ``s`` active groups of size ``d' = d + 1`` (features plus bias) among the
``P`` patterns of the sampled gates. Standard group-lasso theory with
``alpha ~ sigma sqrt((d' + log P) / n)`` bounds the prediction error
``(1/n)||A(U_hat - U_true)||^2`` by order ``s (d' + log P) sigma^2 / n`` under a group restricted
eigenvalue condition (log-log slope -1 in ``n``), and by order ``alpha sum_i ||u_true_i||``
without it (slope -1/2).

Set-up (one seed)
-----------------
* Dictionary: ``m = n_gates`` Gaussian gates in ``R^{d'}``, fixed per seed for every ``n``.
* Teacher: ``s`` of those gates, chosen uniformly at random, are the teacher's gates; first-layer
  weights and output signs come from :func:`gatedrelu.datasets.make_planted` (``activation=
  "gated"``, ``fit_intercept=True``, the given gates): unit-norm ``w_j``, ``v_j = (-1)^j``. The
  teacher is fixed per seed for every ``n``, so ``||u_true_i|| = 1`` on each active group.
* Data at sample size ``n``: ``x ~ N(0, I_d)`` drawn afresh, the bias column appended, ``y`` =
  teacher output plus ``sigma`` times Gaussian noise. The teacher's gates are among the sampled
  gates, so its patterns are in the dictionary: ``U_true[i] = sum_{j: pattern(g_j) = i} w_j v_j``
  gives ``A(U_true) = teacher(X)`` exactly.
* Test set: ``n_test`` fresh inputs per seed (the same for every ``n``), noiseless targets.
* ``alpha = alpha_constant * sigma * sqrt((d' + log P) / n)`` with ``P`` the number of distinct
  patterns on the training inputs, for the group lasso (the rate theory's choice). The NTK
  tunes its own alpha (kernel ridge needs another regularisation than the group lasso): the
  multiple ``2^k`` of that alpha with the smallest exact leave-one-out error of its fit on
  the training data (:func:`tune_ntk_alpha`; ``k`` from -8 to 4, widened at an edge).

Methods
-------
``group_lasso``
    The optimal kernel: :func:`gatedrelu.solve_group_lasso` (relative gap ``tol``). Predictions at
    new points use the masks of the representative gates, ``1[X_new g_i >= 0]``.
``ntk``
    Kernel ridge regression with the finite-width NTK weights ``eta = t mu_NTK`` at the scale
    ``t = argmin_t J(t mu_NTK)`` (:func:`gatedrelu.mkl.optimal_scale`), at its own
    leave-one-out alpha (the ``alpha`` column of its rows):
    ``a = (K_eta + n alpha I)^{-1} y``, fitted values ``K_eta a``, predictions at new points
    ``Theta_eta(X_new, X) a`` with the NTK cross kernel over every sampled gate
    (:func:`gatedrelu.finite_ntk_kernel`). This is what ``MKLRegressor(kernel="ntk")`` fits.

Measures (columns of ``consistency.csv``)
-----------------------------------------
``prediction_error``
    In-sample ``(1/n)||f_hat(X) - A(U_true)||^2`` (fitted values minus noiseless truth).
``out_of_sample_error``
    ``mean((f_hat(X_test) - teacher(X_test))^2)`` on the test set.
``support_precision``, ``support_recall``, ``exact_support``, ``n_selected``, ``n_nonzero``
    Group lasso only (NaN for the NTK, whose groups are all non-zero): selected groups are those
    with ``||u_i|| > threshold`` (default 0.1, a tenth of the true norms, which are 1);
    precision and recall of the true patterns among them (precision is NaN when nothing is
    selected), whether the selected set is exactly the true one, how many are selected and how
    many are non-zero at all.
``alpha``, ``P``, ``n_true_groups``, ``true_norm_sum``
    The regularisation used, the number of patterns, the number of groups with ``u_true_i != 0``
    (``s`` unless two teacher gates share a pattern on X) and ``sum_i ||u_true_i||``.
``objective``
    Group lasso: ``F(U_hat)``; NTK: ``J(t mu_NTK)`` at the group lasso's alpha, the same
    problem (never below ``F*``, ``docs/math.md``), whatever alpha its predictions use.

Choices
-------
* Default grid: ``n`` in 100, 200, ..., 6400 (doubling), ``d = 5`` (plus bias), ``s = 4``,
  ``m = 200`` gates (``P`` = 199-200 patterns), ``sigma = 0.5``, 8 seeds, 2000 test points
  (about 10 minutes with ``--n-jobs 2`` on 2 cores; the NTK's n x n eigendecomposition at
  n = 6400 dominates).
  ``--quick``: ``n`` in 100..800, 2 seeds (a subset of the default tasks, so a later default
  run in the same folder reuses them).
* ``alpha_constant = 0.5``, chosen once from a pilot (``n`` in 100, 400, 800, 1600, seeds 0-2,
  constants 0.25, 0.5, 1, 2): 1 and 2 are dominated by shrinkage bias (errors 1.5-3 times
  larger); 0.25 lowers the error by about 20% but selects twice as many spurious groups.
* Theory lines are drawn with constant 1 (no fitted constant): ``s (d' + log P) sigma^2 / n`` and
  ``alpha * sum_i ||u_true_i||``, averaged over seeds.
* Slopes are least-squares fits of ``log error`` on ``log n`` over every (n, seed) row, with
  their standard errors (:func:`scipy.stats.linregress`).

Outputs in ``--out``: ``consistency.csv`` (resumable: finished (n, seed) tasks are kept and
skipped on a rerun; the other set-up parameters are part of the key, so runs with another
set-up add rows and the plot and summary use only the rows of the current one; a result is
reused only when computed by the same gatedrelu version and code, and ``--fresh`` recomputes
them all),
``consistency.png`` and ``consistency.md``.
"""

from __future__ import annotations

import os
import time

from .._validation import check_int
from ._runner import ResultsFile, run_tasks
from .consistency_report import (  # re-exported: the experiment's names in one place
    _fmt_slope,
    _rows_of,
    fit_slope,
    markdown,
    summarize,
)
from .consistency_run import (  # re-exported: the experiment's names in one place
    COLUMNS,
    CSV_NAME,
    KEY_COLUMNS,
    MD_NAME,
    METHODS,
    N_SEEDS,
    N_VALUES,
    NTK_ALPHA_FACTORS,
    NTK_MAX_WIDEN,
    PNG_NAME,
    QUICK_N_VALUES,
    QUICK_SEEDS,
    Config,
    PlantedCase,
    fit_group_lasso,
    fit_ntk,
    make_case,
    masked_predict,
    run_case,
    tune_ntk_alpha,
)
from .plotting import plot_consistency as plot

#: The experiment's public names: the set-up and one task
#: (:mod:`~gatedrelu.experiments.consistency_run`), the summary and report
#: (:mod:`~gatedrelu.experiments.consistency_report`), the figure
#: (:func:`~gatedrelu.experiments.plotting.plot_consistency`, here ``plot``), re-exported here,
#: and the driver.
__all__ = [
    "COLUMNS",
    "CSV_NAME",
    "Config",
    "HELP",
    "KEY_COLUMNS",
    "MD_NAME",
    "METHODS",
    "NTK_ALPHA_FACTORS",
    "NTK_MAX_WIDEN",
    "N_SEEDS",
    "N_VALUES",
    "PNG_NAME",
    "PlantedCase",
    "QUICK_N_VALUES",
    "QUICK_SEEDS",
    "add_arguments",
    "fit_group_lasso",
    "fit_ntk",
    "fit_slope",
    "main",
    "make_case",
    "markdown",
    "masked_predict",
    "plot",
    "run",
    "run_case",
    "summarize",
    "tune_ntk_alpha",
]

HELP = "Consistency of the optimal kernel (group lasso) vs the NTK on a planted gated ReLU teacher"


# --------------------------------------------------------------------------- driver


def _task_runner(config: Config):
    def fn(task):
        n, seed = task
        return run_case(n, seed, config)

    return fn


def run(
    n_values=N_VALUES,
    seeds=range(N_SEEDS),
    config: Config = Config(),
    *,
    out_dir: str = ".",
    n_jobs: int = 1,
    progress: bool = True,
    fresh: bool = False,
) -> dict:
    """Run the (n, seed) tasks not reusable from ``out_dir/consistency.csv``, then write PNG
    and MD.

    Results are reused when computed by the same gatedrelu version and code with the same
    set-up (:mod:`gatedrelu.experiments._runner`); ``fresh=True`` recomputes them all.
    Returns the summary dict (see :func:`summarize`) with ``counts`` (tasks run, reused,
    recomputed).
    """
    n_values = sorted({check_int(n, "n", minimum=2) for n in n_values})
    seeds = sorted({check_int(s, "seed", minimum=0) for s in seeds})
    if not seeds:
        raise ValueError("at least one seed is needed.")
    os.makedirs(out_dir, exist_ok=True)
    results = ResultsFile(os.path.join(out_dir, CSV_NAME), COLUMNS, KEY_COLUMNS, fresh=fresh)
    fixed = [getattr(config, k) for k in KEY_COLUMNS[2:]]
    tasks = [(n, s) for n in n_values for s in seeds]
    t0 = time.perf_counter()
    counts = run_tasks(
        tasks,
        lambda t: (t[0], t[1], *fixed),
        _task_runner(config),
        results,
        n_jobs=n_jobs,
        desc="consistency",
        progress=progress,
    )
    wall = time.perf_counter() - t0
    rows = _rows_of(results.rows(), config, n_values, seeds)
    summary = summarize(rows, config)
    with open(os.path.join(out_dir, MD_NAME), "w") as fh:
        fh.write(markdown(summary, config, last_run=(counts.ran, len(tasks), wall, n_jobs)))
    plot(summary, config, os.path.join(out_dir, PNG_NAME))
    summary["wall_seconds"], summary["tasks_run"], summary["counts"] = wall, counts.ran, counts
    return summary


def add_arguments(parser) -> None:
    c = Config()
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"n in {', '.join(map(str, QUICK_N_VALUES))}, {QUICK_SEEDS} seeds "
        "(a few minutes on 2 cores)",
    )
    parser.add_argument(
        "--n-values",
        type=int,
        nargs="+",
        metavar="N",
        default=None,
        help=f"sample sizes (default {' '.join(map(str, N_VALUES))})",
    )
    parser.add_argument(
        "--seeds",
        type=int,
        default=None,
        metavar="K",
        help=f"number of seeds 0..K-1 (default {N_SEEDS}, --quick {QUICK_SEEDS})",
    )
    parser.add_argument(
        "--n-features", type=int, default=c.d, help=f"d, without the bias (default {c.d})"
    )
    parser.add_argument(
        "--n-teacher", type=int, default=c.s, help=f"teacher neurons s (default {c.s})"
    )
    parser.add_argument(
        "--n-gates", type=int, default=c.n_gates, help=f"sampled gates m (default {c.n_gates})"
    )
    parser.add_argument(
        "--sigma", type=float, default=c.sigma, help=f"noise level (default {c.sigma})"
    )
    parser.add_argument(
        "--alpha-constant",
        type=float,
        default=c.alpha_constant,
        help=f"c in alpha = c sigma sqrt((d+1+log P)/n) (default {c.alpha_constant})",
    )
    parser.add_argument(
        "--n-test", type=int, default=c.n_test, help=f"test points (default {c.n_test})"
    )
    parser.add_argument(
        "--threshold",
        type=float,
        default=c.threshold,
        help=f"support: groups with ||u_i|| > threshold (default {c.threshold})",
    )
    parser.add_argument(
        "--n-jobs", type=int, default=1, help="parallel tasks (default 1; -1: all cores)"
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument(
        "--fresh",
        action="store_true",
        help="recompute every task (default: reuse the results in --out computed by the same "
        "gatedrelu version and code with the same set-up)",
    )


def main(args) -> int:
    config = Config(
        d=args.n_features,
        s=args.n_teacher,
        sigma=args.sigma,
        n_gates=args.n_gates,
        alpha_constant=args.alpha_constant,
        n_test=args.n_test,
        threshold=args.threshold,
    )
    n_values = args.n_values or (QUICK_N_VALUES if args.quick else N_VALUES)
    n_seeds = args.seeds if args.seeds is not None else (QUICK_SEEDS if args.quick else N_SEEDS)
    n_seeds = check_int(n_seeds, "--seeds")
    if args.n_jobs == 0:
        raise ValueError("--n-jobs must be a positive number or -1.")
    out = str(args.out)
    summary = run(
        n_values,
        range(n_seeds),
        config,
        out_dir=out,
        n_jobs=args.n_jobs,
        progress=not args.no_progress,
        fresh=args.fresh,
    )
    c = summary["counts"]
    print(f"{c.reused} of {c.ran + c.reused} task(s) reused, {c.ran} computed "
          f"({c.stale} recomputed); --fresh recomputes all.")
    for m in METHODS:
        e = summary["methods"][m]
        print(
            f"{m}: in-sample slope {_fmt_slope(e['prediction_error']['slope'])}, "
            f"out-of-sample slope {_fmt_slope(e['out_of_sample_error']['slope'])}"
        )
    print(f"Results written to {os.path.join(out, CSV_NAME)}, {PNG_NAME} and {MD_NAME}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    import argparse
    import sys

    ap = argparse.ArgumentParser(description=HELP)
    ap.add_argument("--out", default=".")
    add_arguments(ap)
    sys.exit(main(ap.parse_args()))
