"""The experiments' figures, drawn with matplotlib's object-oriented API.

Every figure is a :class:`matplotlib.figure.Figure` saved with ``fig.savefig(path)``: no
``matplotlib.use``, no pyplot, so nothing here selects a backend or keeps global state (the
calling program, a script, a notebook or a test, keeps its own). matplotlib is imported inside
the functions (the ``experiments`` extra), and so are the experiments' names (labels, methods),
so that importing this module imports neither matplotlib nor an experiment.

* :func:`plain_log_axis`: plain-number labels on a log axis (every figure, and the benchmark's);
* :func:`plot`, :func:`plot_differences`: the compare experiment (``compare.png``,
  ``compare_diff.png``); :func:`cd_diagram`: its critical-difference diagram;
* :func:`plot_consistency`: the consistency experiment (``consistency.png``).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from .stats import RankTest

__all__ = ["cd_diagram", "plain_log_axis", "plot", "plot_consistency", "plot_differences"]


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
    from matplotlib.figure import Figure

    from .compare_config import LABELS, METHODS, OBJECTIVE_METHODS

    dsets = list(summary["datasets"])
    methods = summary["methods"]
    x = np.arange(len(dsets))
    fig = Figure(figsize=(max(15, 0.75 * len(dsets) + 6), 5.6), layout="constrained")
    ax, bx = fig.subplots(1, 2)
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


def plot_differences(summary: dict, path: str) -> None:
    """``compare_diff.png``: per data set, the mean accuracy difference of each pair of
    ``PAIRS`` over the seeds with its corrected interval (filled: significant after Holm;
    blue: equivalent within the dotted margin), and the estimate across data sets."""
    from matplotlib.figure import Figure

    from .compare_config import EQUIV_MARGIN, LABELS, PAIRS
    from .compare_report import _pp

    pairs = [pair for pair in PAIRS if pair in summary.get("pairs", {})]
    dsets = list(summary["datasets"])
    fig = Figure(figsize=(3.6 * max(len(pairs), 1), 1.2 + 0.28 * len(dsets)), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, max(len(pairs), 1), sharey=True))
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


def plot_consistency(summary: dict, config, path: str) -> None:
    """Write the log-log figure: errors vs n for both methods with theory lines, and support."""
    from matplotlib.figure import Figure

    from .consistency_report import _fmt_slope
    from .consistency_run import METHODS

    ns = np.asarray(summary["n"], float)
    fig = Figure(figsize=(16, 4.8), layout="constrained")
    axes = fig.subplots(1, 3)
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


def cd_diagram(test: RankTest, path=None, *, labels: dict | None = None):
    """Critical-difference diagram: methods on the average-rank axis, with bars joining the
    groups whose ranks differ by less than CD. Returns the matplotlib figure (saved to ``path``
    when given)."""
    from matplotlib.figure import Figure

    labels = labels or {}
    order = np.argsort(test.average_ranks)
    ranks = test.average_ranks[order]
    names = [labels.get(test.methods[i], test.methods[i]) for i in order]
    k = len(names)
    fig = Figure(figsize=(7, 1.2 + 0.3 * k))
    ax = fig.subplots()
    lo, hi = 1, max(k, int(np.ceil(ranks.max())))
    ax.set_xlim(lo - 0.3, hi + 0.3)
    ax.set_ylim(-(k + 2) * 0.35, 1.0)
    ax.hlines(0, lo, hi, color="k", lw=1)
    for r in range(lo, hi + 1):
        ax.vlines(r, 0, 0.1, color="k", lw=1)
        ax.text(r, 0.2, str(r), ha="center", va="bottom", fontsize=9)
    half = (k + 1) // 2
    for pos, (rank, name) in enumerate(zip(ranks, names)):
        left = pos < half
        y = -0.35 * (pos + 1 if left else k - pos)
        x_text = lo - 0.2 if left else hi + 0.2
        ax.plot([rank, rank, x_text], [0, y, y], color="k", lw=0.8)
        ax.text(x_text, y, f"{name} ({rank:.2f})", ha="right" if left else "left", va="center",
                fontsize=9)
    # cliques: maximal runs of methods within CD of each other
    cliques = []
    for i in range(k):
        j = i
        while j + 1 < k and ranks[j + 1] - ranks[i] <= test.critical_difference:
            j += 1
        if j > i and not any(a <= i and j <= b for a, b in cliques):
            cliques.append((i, j))
    for n_bar, (i, j) in enumerate(cliques):
        y = -0.12 - 0.1 * n_bar
        ax.hlines(y, ranks[i] - 0.03, ranks[j] + 0.03, color="tab:red", lw=3)
    ax.hlines(0.75, lo, lo + test.critical_difference, color="k", lw=1.5)
    ax.text(lo + test.critical_difference / 2, 0.8, f"CD = {test.critical_difference:.2f}",
            ha="center", va="bottom", fontsize=9)
    ax.set_axis_off()
    friedman = ("too few data sets for a test" if math.isnan(test.friedman_p)
                else f"Friedman p = {test.friedman_p:.2g}, Nemenyi at {test.level:g}")
    ax.set_title(f"Average ranks over {test.n_datasets} data sets ({friedman})", fontsize=9)
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=150)
    return fig
