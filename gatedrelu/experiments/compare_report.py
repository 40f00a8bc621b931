"""Reporting the compare experiment: ``compare.md`` (tables, verdicts, checks) and the figures.

:func:`report_csv` rewrites the report of an existing ``compare.csv`` without running anything;
the figures are drawn by :mod:`gatedrelu.experiments.plotting`."""

from __future__ import annotations

import math
import os

import numpy as np

from .compare_config import (
    CD_NAME,
    DIFF_NAME,
    EQUIV_MARGIN,
    LABELS,
    LEVEL,
    MD_NAME,
    OBJECTIVE_METHODS,
    OPTIMUM_TOL,
    PAIRS,
    PAPER_COUNT,
    PNG_NAME,
    RATIO_TOL,
    TIE_PP,
    Config,
    _grid_str,
)
from .compare_summary import _rows_of, summarize
from .plotting import cd_diagram, plot, plot_differences
from .stats import MIN_DATASETS, MIN_REPEATS


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


def plot_all(summary: dict, out_dir: str) -> None:
    """The three figures of a run: ``compare.png``, ``compare_diff.png`` and ``compare_cd.png``
    (the last two when there are pairs to compare / at least two complete data sets)."""
    plot(summary, os.path.join(out_dir, PNG_NAME))
    if summary.get("pairs"):
        plot_differences(summary, os.path.join(out_dir, DIFF_NAME))
    if summary.get("ranks") is not None:
        cd_diagram(summary["ranks"], os.path.join(out_dir, CD_NAME), labels=LABELS)


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
