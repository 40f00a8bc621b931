"""Reporting the consistency experiment: the fitted rates, the summary and ``consistency.md``.

Pure functions of the CSV rows (:mod:`gatedrelu.experiments.consistency`); the figure is
:func:`gatedrelu.experiments.plotting.plot_consistency`."""

from __future__ import annotations

import math
from dataclasses import asdict

import numpy as np

from .consistency_run import KEY_COLUMNS, METHODS, Config

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
