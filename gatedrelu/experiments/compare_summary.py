"""Summarising the compare experiment's rows: per data set, paired verdicts, ranks and checks.

Pure functions of the CSV rows (:mod:`gatedrelu.experiments.compare`); the tables and
figures are in :mod:`~gatedrelu.experiments.compare_report`."""

from __future__ import annotations

import math

import numpy as np

from .compare_config import (
    EQUIV_MARGIN,
    KEY_COLUMNS,
    LEVEL,
    METHODS,
    OPTIMUM_TOL,
    PAIRS,
    RATIO_TOL,
    TIE_PP,
    VERDICTS,
    Config,
)
from .stats import (
    distinct_methods,
    friedman_nemenyi,
    mean_interval,
    paired_comparison,
    with_holm,
)

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
