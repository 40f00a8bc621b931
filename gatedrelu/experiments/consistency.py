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

import math
import os
import time
import warnings
from dataclasses import asdict, dataclass

import numpy as np

from .._validation import check_int, check_nonnegative, check_positive
from ._runner import ResultsFile, run_tasks

__all__ = [
    "Config",
    "PlantedCase",
    "make_case",
    "fit_group_lasso",
    "fit_ntk",
    "tune_ntk_alpha",
    "run_case",
    "run",
    "fit_slope",
    "summarize",
    "markdown",
    "plot",
]

HELP = "Consistency of the optimal kernel (group lasso) vs the NTK on a planted gated ReLU teacher"

N_VALUES = (100, 200, 400, 800, 1600, 3200, 6400)
N_SEEDS = 8
QUICK_N_VALUES = (100, 200, 400, 800)
QUICK_SEEDS = 2
METHODS = ("group_lasso", "ntk")
CSV_NAME, PNG_NAME, MD_NAME = "consistency.csv", "consistency.png", "consistency.md"

#: Columns of ``consistency.csv``; the task key is (n, seed) plus the set-up parameters.
COLUMNS = [
    "n",
    "seed",
    "method",
    "d",
    "s",
    "sigma",
    "n_gates",
    "alpha_constant",
    "n_test",
    "threshold",
    "alpha",
    "P",
    "n_true_groups",
    "true_norm_sum",
    "prediction_error",
    "out_of_sample_error",
    "support_precision",
    "support_recall",
    "exact_support",
    "n_selected",
    "n_nonzero",
    "objective",
    "fit_seconds",
]
KEY_COLUMNS = ["n", "seed", "d", "s", "sigma", "n_gates", "alpha_constant", "n_test", "threshold"]


@dataclass(frozen=True)
class Config:
    """Set-up of the experiment (everything but ``n`` and the seed)."""

    d: int = 5  # input features; the solver sees d + 1 with the bias column
    s: int = 4  # teacher neurons (active groups)
    sigma: float = 0.5  # noise standard deviation
    n_gates: int = 200  # sampled gates m (the dictionary)
    alpha_constant: float = 0.5  # c in alpha = c sigma sqrt((d + 1 + log P) / n)
    n_test: int = 2000  # fresh inputs for the out-of-sample error
    threshold: float = 0.1  # support: groups with ||u_i|| > threshold
    tol: float = 1e-6  # relative duality gap of the group-lasso solve

    def __post_init__(self):
        check_int(self.d, "d")
        check_int(self.s, "s")
        check_nonnegative(self.sigma, "sigma")
        check_int(self.n_gates, "n_gates")
        if self.s > self.n_gates:
            raise ValueError(
                f"s={self.s} teacher neurons need at least as many gates; got {self.n_gates}."
            )
        check_positive(self.alpha_constant, "alpha_constant")
        check_int(self.n_test, "n_test")
        check_nonnegative(self.threshold, "threshold")
        check_positive(self.tol, "tol")


@dataclass(frozen=True)
class PlantedCase:
    """One planted problem at sample size ``n`` (arrays include the bias column, ``d' = d + 1``)."""

    X: np.ndarray  # (n, d') training inputs
    y: np.ndarray  # (n,) noisy targets
    f_true: np.ndarray  # (n,) noiseless targets A(U_true)
    X_test: np.ndarray  # (n_test, d') fresh inputs
    f_test: np.ndarray  # (n_test,) noiseless teacher outputs there
    patterns: object  # ActivationPatterns of all sampled gates on X
    coef_true: np.ndarray  # (P, d') U_true
    support: np.ndarray  # (P,) bool, groups with u_true_i != 0
    teacher_gates: np.ndarray  # (s,) int, indices of the teacher's gates among the sampled ones
    teacher: object  # PlantedTeacher, acts on inputs without the bias column
    alpha: float


def _with_bias(X: np.ndarray) -> np.ndarray:
    return np.hstack([X, np.ones((X.shape[0], 1))])


def make_case(
    n: int, seed: int, config: Config = Config(), *, alpha: float | None = None
) -> PlantedCase:
    """The planted problem of ``(n, seed)``; ``alpha`` overrides the theory-scaled default.

    The gates and the teacher depend only on ``seed``, the training data on ``(seed, n)`` and the
    test inputs on ``seed``.
    """
    from ..datasets import make_planted
    from ..patterns import activation_patterns, sample_gates

    n = check_int(n, "n", minimum=2)
    seed = check_int(seed, "seed", minimum=0)
    d1 = config.d + 1
    rng = np.random.default_rng([seed, 0])
    gates = sample_gates(d1, config.n_gates, random_state=rng)  # (d', m)
    chosen = np.sort(rng.choice(config.n_gates, config.s, replace=False))
    # make_planted's one sample is discarded: only its teacher (W, v, the given gates) is used.
    _, _, teacher = make_planted(
        1,
        config.d,
        n_hidden=config.s,
        noise=0.0,
        activation="gated",
        fit_intercept=True,
        gates=gates[:, chosen],
        random_state=rng,
    )
    data = np.random.default_rng([seed, 1, n])
    X0 = data.standard_normal((n, config.d))
    f_true = teacher.predict(X0)
    y = f_true + config.sigma * data.standard_normal(n)
    Xt0 = np.random.default_rng([seed, 2]).standard_normal((config.n_test, config.d))

    X = _with_bias(X0)
    patterns = activation_patterns(X, gates)
    P = patterns.n_patterns
    coef_true = np.zeros((P, d1))
    for j, g in enumerate(chosen):
        i = patterns.gate_pattern[g]
        if i >= 0:  # a gate inactive on every training point contributes nothing
            coef_true[i] += teacher.W[:, j] * teacher.v[j]
    support = np.linalg.norm(coef_true, axis=1) > 0
    if alpha is None:
        if config.sigma == 0:
            raise ValueError("sigma = 0 gives alpha = 0: pass alpha explicitly.")
        alpha = config.alpha_constant * config.sigma * math.sqrt((d1 + math.log(P)) / n)
    return PlantedCase(
        X=X,
        y=y,
        f_true=f_true,
        X_test=_with_bias(Xt0),
        f_test=teacher.predict(Xt0),
        patterns=patterns,
        coef_true=coef_true,
        support=support,
        teacher_gates=chosen,
        teacher=teacher,
        alpha=check_positive(alpha, "alpha"),
    )


def masked_predict(X: np.ndarray, masks: np.ndarray, coef: np.ndarray) -> np.ndarray:
    """``sum_i 1[mask_i] (X u_i)``: (n, d'), (n, P) bool, (P, d') -> (n,)."""
    return np.einsum("np,np->n", masks, X @ coef.T)


def fit_group_lasso(case: PlantedCase, tol: float = 1e-6):
    """Group lasso fit: (coef (P, d'), fitted (n,), test predictions (n_test,), objective)."""
    from ..group_lasso import solve_group_lasso

    p = case.patterns
    res = solve_group_lasso(case.X, case.y, p, case.alpha, tol=tol, max_iter=100_000)
    fitted = masked_predict(case.X, p.masks, res.coef)
    test = masked_predict(case.X_test, p.masks_at(case.X_test), res.coef)
    return res.coef, fitted, test, res.objective


#: The NTK's own alpha: multiples 2^k of the theory-scaled alpha of the group lasso, chosen by
#: exact leave-one-out error of the kernel ridge fit on the training data; the grid widens by
#: one factor of 2 while the choice sits on an edge (at most ``NTK_MAX_WIDEN`` times).
NTK_ALPHA_FACTORS = tuple(2.0**k for k in range(-8, 5))
NTK_MAX_WIDEN = 8


def _ntk_loo(lam, V, y, t, nalpha) -> float:
    """Leave-one-out mean squared error of kernel ridge with ``t K`` (``K = V diag(lam) V^T``)
    and ridge ``n alpha``: residuals ``(y_i - f_i) / (1 - H_ii)``, ``H = t K (t K + n alpha
    I)^{-1}``."""
    h = t * lam / (t * lam + nalpha)
    fitted = V @ (h * (V.T @ y))
    leverage = (V * V) @ h
    return float(np.mean(((y - fitted) / (1.0 - leverage)) ** 2))


def tune_ntk_alpha(lam, V, y, base_alpha: float, mu_mass: float = 1.0):
    """The NTK's alpha by exact leave-one-out over ``base_alpha * NTK_ALPHA_FACTORS`` (widened
    at an edge); returns ``(alpha, scale t)``, the scale being ``argmin_t J(t mu)`` at it."""
    from ..mkl import scale_from_spectrum

    n = V.shape[0]
    lam = np.maximum(lam, 0.0)
    factors = list(NTK_ALPHA_FACTORS)
    scores = {}
    for _ in range(NTK_MAX_WIDEN + 1):
        for f in factors:
            if f not in scores:
                t = scale_from_spectrum(lam, V, y, base_alpha * f, mass=mu_mass)
                scores[f] = (_ntk_loo(lam, V, y, t, n * base_alpha * f), t)
        best = min(factors, key=lambda f: scores[f][0])
        if best == factors[0]:
            factors.insert(0, factors[0] / 2)
        elif best == factors[-1]:
            factors.append(factors[-1] * 2)
        else:
            break
    return base_alpha * best, scores[best][1]


def fit_ntk(case: PlantedCase, alpha: float | None = None):
    """NTK kernel ridge at the J-optimal scale, with its own alpha.

    ``alpha`` None: chosen by leave-one-out on the training data (:func:`tune_ntk_alpha`), not
    the group lasso's ``case.alpha``. Returns ``(fitted (n,), test predictions (n_test,),
    J(t mu_NTK) at case.alpha (the training-side comparison with the group lasso's F on the
    same problem), the alpha used)``.
    """
    from ..kernels import finite_ntk_kernel, masking_kernel
    from ..mkl import kernel_shape, scale_from_spectrum

    p, n = case.patterns, case.X.shape[0]
    mu = kernel_shape(p, "ntk")  # ntk_weights / sum(ntk_weights)
    K = masking_kernel(case.X, p, mu)
    lam, V = np.linalg.eigh(0.5 * (K + K.T))
    lam = np.maximum(lam, 0.0)
    # the training objective on the group lasso's problem: J(t* mu) at case.alpha
    t0 = scale_from_spectrum(lam, V, case.y, case.alpha, mass=float(mu.sum()))
    z = V.T @ case.y
    ridge0 = t0 * lam + n * case.alpha
    J = 0.5 * case.alpha * (float(np.sum(z**2 / ridge0)) + t0 * float(mu.sum()))
    if alpha is None:
        alpha, t = tune_ntk_alpha(lam, V, case.y, case.alpha, float(mu.sum()))
    else:
        t = scale_from_spectrum(lam, V, case.y, check_positive(alpha, "alpha"),
                                mass=float(mu.sum()))
    a = V @ (z / (t * lam + n * alpha))  # (t K + n alpha I)^{-1} y
    fitted = t * (K @ a)
    cross = finite_ntk_kernel(case.X, p, case.X_test) * (t / float(np.sum(p.ntk_weights)))
    return fitted, cross @ a, J, float(alpha)


def _support_metrics(coef, case: PlantedCase, threshold: float) -> dict:
    norms = np.linalg.norm(coef, axis=1)
    selected = norms > threshold
    hits = int(np.sum(selected & case.support))
    return dict(
        support_precision=hits / selected.sum() if selected.any() else float("nan"),
        support_recall=hits / case.support.sum(),
        exact_support=int(np.array_equal(selected, case.support)),
        n_selected=int(selected.sum()),
        n_nonzero=int(np.count_nonzero(norms)),
    )


def run_case(n: int, seed: int, config: Config = Config()) -> list[dict]:
    """Rows of ``consistency.csv`` for one (n, seed): one per method."""
    case = make_case(n, seed, config)
    base = dict(
        n=n,
        seed=seed,
        d=config.d,
        s=config.s,
        sigma=config.sigma,
        n_gates=config.n_gates,
        alpha_constant=config.alpha_constant,
        n_test=config.n_test,
        threshold=config.threshold,
        alpha=case.alpha,
        P=case.patterns.n_patterns,
        n_true_groups=int(case.support.sum()),
        true_norm_sum=float(np.linalg.norm(case.coef_true, axis=1).sum()),
    )
    nan = float("nan")
    rows = []
    for method in METHODS:
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            if method == "group_lasso":
                coef, fitted, test, obj = fit_group_lasso(case, config.tol)
                support = _support_metrics(coef, case, config.threshold)
            else:
                fitted, test, obj, ntk_alpha = fit_ntk(case)
                support = dict.fromkeys(
                    (
                        "support_precision",
                        "support_recall",
                        "exact_support",
                        "n_selected",
                        "n_nonzero",
                    ),
                    nan,
                )
        rows.append(
            dict(
                base,
                **({"alpha": ntk_alpha} if method == "ntk" else {}),
                method=method,
                prediction_error=float(np.mean((fitted - case.f_true) ** 2)),
                out_of_sample_error=float(np.mean((test - case.f_test) ** 2)),
                objective=obj,
                fit_seconds=time.perf_counter() - t0,
                **support,
            )
        )
    return rows


# --------------------------------------------------------------------------- analysis


def _rows_of(rows, config: Config, n_values, seeds) -> list[dict]:
    """The rows of this set-up and grid, values parsed to floats (``method`` stays a string)."""
    want = {k: str(v) for k, v in asdict(config).items() if k in KEY_COLUMNS}
    n_set, seed_set = {str(n) for n in n_values}, {str(s) for s in seeds}
    out = []
    for r in rows:
        if r["n"] in n_set and r["seed"] in seed_set and all(r[k] == v for k, v in want.items()):
            out.append({k: (v if k == "method" else float(v)) for k, v in r.items()})
    return out


def fit_slope(n, err) -> tuple[float, float]:
    """Least-squares slope of ``log err`` on ``log n`` and its standard error (NaN if undefined).

    :func:`scipy.stats.linregress`; the guards are ours: non-finite errors are dropped, fewer
    than two distinct ``n`` give NaN, and two points give a NaN standard error (linregress
    reports 0 there, although no residual degree of freedom is left).
    """
    from scipy.stats import linregress

    x, y = np.log(np.asarray(n, float)), np.log(np.asarray(err, float))
    ok = np.isfinite(y)
    x, y = x[ok], y[ok]
    if np.unique(x).size < 2:
        return float("nan"), float("nan")
    fit = linregress(x, y)
    if x.size <= 2:
        return float(fit.slope), float("nan")
    return float(fit.slope), float(fit.stderr)


def summarize(rows: list[dict], config: Config) -> dict:
    """Per-n means and standard errors, slopes, theory lines and support recovery (parsed rows)."""
    ns = sorted({int(r["n"]) for r in rows})
    out = {"n": ns, "methods": {}, "theory": {}, "support": {}}

    def stats(values):
        v = np.asarray(values, float)
        v = v[np.isfinite(v)]
        if v.size == 0:
            return float("nan"), float("nan")
        return float(v.mean()), float(v.std(ddof=1) / math.sqrt(v.size)) if v.size > 1 else 0.0

    for method in METHODS:
        mr = [r for r in rows if r["method"] == method]
        entry = {}
        for col in ("prediction_error", "out_of_sample_error"):
            by_n = [stats([r[col] for r in mr if r["n"] == n]) for n in ns]
            entry[col] = {
                "mean": [b[0] for b in by_n],
                "sem": [b[1] for b in by_n],
                "slope": fit_slope([r["n"] for r in mr], [r[col] for r in mr]),
            }
        entry["fit_seconds"] = float(sum(r["fit_seconds"] for r in mr))
        out["methods"][method] = entry
    gl = [r for r in rows if r["method"] == "group_lasso"]
    d1 = config.d + 1
    fast, slow, seeds = [], [], []
    for n in ns:
        rn = [r for r in gl if r["n"] == n]
        seeds.append(len(rn))
        # s (d' + log P) sigma^2 / n, s = number of true groups (config.s unless patterns merge)
        fast.append(
            float(
                np.mean(
                    [r["n_true_groups"] * (d1 + math.log(r["P"])) * r["sigma"] ** 2 / n for r in rn]
                )
            )
        )
        slow.append(float(np.mean([r["alpha"] * r["true_norm_sum"] for r in rn])))
    out["seeds"] = seeds
    out["theory"] = {"restricted_eigenvalue": fast, "slow_rate": slow}
    for col in ("support_precision", "support_recall", "exact_support", "n_selected", "n_nonzero"):
        out["support"][col] = [stats([r[col] for r in gl if r["n"] == n])[0] for n in ns]
    out["P"] = [float(np.mean([r["P"] for r in gl if r["n"] == n])) for n in ns]
    out["alpha"] = [float(np.mean([r["alpha"] for r in gl if r["n"] == n])) for n in ns]
    ntk = {(r["n"], r["seed"]): r["objective"] for r in rows if r["method"] == "ntk"}
    pairs = [(ntk[(r["n"], r["seed"])], r["objective"]) for r in gl if (r["n"], r["seed"]) in ntk]
    out["ntk_objective_above"] = (sum(j >= f * (1 - config.tol) for j, f in pairs), len(pairs))
    return out


def _fmt_slope(slope) -> str:
    m, se = slope
    return (
        "n/a"
        if not np.isfinite(m)
        else (f"{m:.2f}" if not np.isfinite(se) else f"{m:.2f} ± {se:.2f}")
    )


def _table(header: list, rows: list) -> list[str]:
    """A markdown table as lines, by :meth:`pandas.DataFrame.to_markdown` (tabulate); the
    cells are preformatted strings, so every column is left-aligned as they are written."""
    import pandas as pd

    frame = pd.DataFrame(rows, columns=header)
    return frame.to_markdown(index=False, tablefmt="pipe", colalign=["left"] * len(header)
                             ).splitlines()


def markdown(summary: dict, config: Config, *, last_run: tuple | None = None) -> str:
    """``consistency.md``: slopes against theory, errors and support recovery per n."""
    d1 = config.d + 1
    names = {"group_lasso": "group lasso (optimal kernel)", "ntk": "NTK kernel ridge"}
    lines = [
        "# Consistency: optimal kernel (group lasso) vs NTK",
        "",
        f"Planted gated ReLU teacher with s = {config.s} neurons whose gates are among the "
        f"m = {config.n_gates} sampled gates; d = {config.d} features plus bias (groups of size "
        f"d' = {d1}), noise sigma = {config.sigma}, alpha = {config.alpha_constant} * sigma * "
        f"sqrt((d' + log P) / n), seeds per n: {', '.join(map(str, summary['seeds']))}, "
        f"{config.n_test} test points. Errors are against the noiseless teacher.",
        "",
        "## Fitted log-log slopes (± standard error) vs theory",
        "",
        "Theory (docs/math.md): -1 under a group restricted-eigenvalue condition "
        "(s (d' + log P) sigma^2 / n), -1/2 without it (alpha * sum ||u_true_i||).",
        "",
    ]
    lines += _table(
        ["method", "in-sample slope", "out-of-sample slope", "theory"],
        [
            [names[m], _fmt_slope(summary["methods"][m]["prediction_error"]["slope"]),
             _fmt_slope(summary["methods"][m]["out_of_sample_error"]["slope"]), "-1 (RE) / -0.5"]
            for m in METHODS
        ],
    )
    lines += [
        "",
        "## Mean errors per n (± standard error over seeds)",
        "",
    ]
    table = []
    gl, ntk = summary["methods"]["group_lasso"], summary["methods"]["ntk"]
    th = summary["theory"]
    for k, n in enumerate(summary["n"]):
        cells = [
            f"{e[c]['mean'][k]:.4g} ± {e[c]['sem'][k]:.2g}"
            for c in ("prediction_error",)
            for e in (gl, ntk)
        ] + [
            f"{e[c]['mean'][k]:.4g} ± {e[c]['sem'][k]:.2g}"
            for c in ("out_of_sample_error",)
            for e in (gl, ntk)
        ]
        table.append([str(n), f"{summary['P'][k]:.0f}", f"{summary['alpha'][k]:.3g}", *cells,
                      f"{th['restricted_eigenvalue'][k]:.4g}", f"{th['slow_rate'][k]:.4g}"])
    lines += _table(
        ["n", "P", "alpha", "GL in-sample", "NTK in-sample", "GL out-of-sample",
         "NTK out-of-sample", "s(d'+log P)σ²/n", "α Σ‖u_true‖"],
        table,
    )
    sup = summary["support"]
    lines += [
        "",
        f"## Support recovery of the group lasso (selected: ||u_i|| > {config.threshold:g}; "
        "true norms are 1)",
        "",
    ]
    lines += _table(
        ["n", "precision", "recall", "exact support (fraction of seeds)", "selected groups",
         "non-zero groups"],
        [
            [str(n), f"{sup['support_precision'][k]:.3f}", f"{sup['support_recall'][k]:.3f}",
             f"{sup['exact_support'][k]:.2f}", f"{sup['n_selected'][k]:.1f}",
             f"{sup['n_nonzero'][k]:.1f}"]
            for k, n in enumerate(summary["n"])
        ],
    )
    above, total = summary["ntk_objective_above"]
    lines += [
        "",
        f"J(t mu_NTK) >= F(U_GL) (up to the solver tolerance) in {above} of {total} problems "
        "(the NTK never beats the optimal kernel on the training objective).",
        "",
        f"Fit time summed over tasks: group lasso {gl['fit_seconds']:.1f} s, NTK "
        f"{ntk['fit_seconds']:.1f} s"
        + (
            f"; the last invocation ran {last_run[0]} of {last_run[1]} tasks in "
            f"{last_run[2]:.1f} s wall time (n_jobs = {last_run[3]})."
            if last_run is not None
            else "."
        ),
        "",
    ]
    return "\n".join(lines)


def plot(summary: dict, config: Config, path: str) -> None:
    """Write the log-log figure: errors vs n for both methods with theory lines, and support."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .compare import plain_log_axis

    ns = np.asarray(summary["n"], float)
    fig, axes = plt.subplots(1, 3, figsize=(16, 4.8), constrained_layout=True)
    styles = {"group_lasso": ("C0", "o", "group lasso"), "ntk": ("C3", "s", "NTK")}
    titles = {
        "prediction_error": "in-sample error (1/n)||f̂(X) − f(X)||²",
        "out_of_sample_error": "out-of-sample error on fresh inputs",
    }
    th = summary["theory"]
    for ax, col in zip(axes[:2], ("prediction_error", "out_of_sample_error")):
        for m in METHODS:
            colour, marker, label = styles[m]
            e = summary["methods"][m][col]
            mean, sem = np.asarray(e["mean"]), np.asarray(e["sem"])
            lower = np.minimum(sem, 0.9 * mean)  # keep error bars positive on the log scale
            ax.errorbar(
                ns,
                mean,
                yerr=[lower, sem],
                color=colour,
                marker=marker,
                capsize=3,
                label=f"{label} (slope {_fmt_slope(e['slope'])})",
            )
        ax.plot(ns, th["restricted_eigenvalue"], "k--", lw=1, label="s(d'+log P)σ²/n (slope −1)")
        ax.plot(ns, th["slow_rate"], "k:", lw=1.3, label="α Σ‖u_true,i‖ (slope −1/2)")
        ax.set_xscale("log")
        ax.set_yscale("log")
        plain_log_axis(ax, "x")
        plain_log_axis(ax, "y")
        ax.set_xlabel("n (training samples)")
        ax.set_ylabel("mean squared error vs noiseless teacher")
        ax.set_title(titles[col], fontsize=10)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8, loc="lower left")
    ax = axes[2]
    sup = summary["support"]
    ax.plot(ns, sup["support_precision"], "o-", label="precision")
    ax.plot(ns, sup["support_recall"], "s-", label="recall")
    ax.plot(ns, sup["exact_support"], "^-", label="exact support (fraction)")
    ax.set_xscale("log")
    plain_log_axis(ax, "x")
    ax.set_ylim(-0.05, 1.05)
    ax.set_xlabel("n (training samples)")
    ax.set_title(f"group-lasso support recovery (‖u_i‖ > {config.threshold:g})", fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    fig.suptitle(
        f"Planted gated ReLU teacher: s={config.s}, d={config.d}+bias, m={config.n_gates} gates, "
        f"σ={config.sigma}, α={config.alpha_constant}·σ·√((d'+log P)/n); mean ± s.e. over seeds",
        fontsize=10,
    )
    fig.savefig(path, dpi=120)
    plt.close(fig)


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
