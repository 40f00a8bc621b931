r"""Statistics for comparing methods over repeated splits and over data sets.

Two levels, with scipy.stats distributions (the formulas are written out below):

* **Per data set** (:func:`paired_comparison`): the accuracies of two methods on the same
  seeds (the same splits) are paired. The splits overlap (every seed draws its training set
  from the same data), so the differences are positively correlated and the naive paired
  t-test is too liberal. The **corrected resampled t-test** of Nadeau and Bengio (2003)
  inflates the variance of the mean difference from ``s^2 / k`` to
  ``(1/k + n_test/n_train) s^2`` (``k`` splits, ``s^2`` the sample variance of the
  differences); the interval and the p-value use ``t`` with ``k - 1`` degrees of freedom.
  Beside it, an **equivalence test** (TOST, two one-sided tests, Schuirmann 1987) with the same
  variance asks whether the difference lies within ``+-margin``: a "no difference" is then
  either *equivalent* (TOST rejects) or *inconclusive* (neither test rejects). Accuracies are
  multiples of ``1 / n_test``; differences are rounded to that lattice (``resolution``), so
  rounding noise of 1e-16 is a tie, not a win.
* **Over data sets**: :func:`holm` adjusts the per-data-set p-values of one comparison for the
  number of data sets (Holm 1979); :func:`mean_interval` gives the mean of the per-data-set
  differences with its t interval and its TOST p-value (the data sets are independent);
  :func:`friedman_nemenyi` ranks methods (Friedman test, Nemenyi critical difference
  ``CD = q_alpha sqrt(k (k + 1) / (6 N))``, Demšar 2006) and :func:`distinct_methods` first
  drops the methods that are identical to another one on most data sets (they would share
  ranks and make the test count one method twice). :func:`cd_diagram` draws the
  critical-difference diagram.

Too few repetitions or data sets for a test (``MIN_REPEATS``, ``MIN_DATASETS``) give NaN
p-values and a verdict that says so ("too few"), never a p-value that cannot mean anything.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

__all__ = [
    "MIN_REPEATS",
    "MIN_DATASETS",
    "PairedComparison",
    "corrected_ttest",
    "tost",
    "paired_comparison",
    "holm",
    "with_holm",
    "mean_interval",
    "distinct_methods",
    "RankTest",
    "friedman_nemenyi",
    "nemenyi_q",
    "cd_diagram",
]

#: Fewest paired repetitions (splits) for which a per-data-set test is reported.
MIN_REPEATS = 5
#: Fewest data sets for which tests across data sets (mean interval, Friedman) are reported
#: (Demšar 2006 recommends N > 10 for the Friedman chi-square approximation).
MIN_DATASETS = 10


def corrected_ttest(d, *, test_fraction: float = 0.0, level: float = 0.05):
    """Mean of the paired differences ``d``, its interval and the two-sided p-value.

    Parameters
    ----------
    d : array-like of shape (k,)
        Differences on ``k`` splits.
    test_fraction : float, default 0.0
        ``n_test / n_train`` of the splits: the Nadeau-Bengio correction; 0 gives the ordinary
        paired t-test (independent repetitions).
    level : float, default 0.05
        ``1 - `` the confidence of the interval.

    Returns
    -------
    mean, ci_low, ci_high, p_value, se : float
        ``se = s sqrt(1/k + test_fraction)``. NaN interval, p and se for ``k < 2``; p = 1 and
        a zero-width interval when every difference is equal to the mean (``s = 0``, no
        evidence of any spread: the difference is exactly the mean on every split; with a
        non-zero mean p = 0).
    """
    d = np.asarray(d, dtype=float).ravel()
    k = d.size
    mean = float(d.mean())
    if k < 2:
        return mean, math.nan, math.nan, math.nan, math.nan
    se = float(np.std(d, ddof=1)) * math.sqrt(1.0 / k + test_fraction)
    if se == 0:
        return mean, mean, mean, (1.0 if mean == 0 else 0.0), 0.0
    q = float(stats.t.ppf(1 - level / 2, k - 1))
    p = float(2 * stats.t.sf(abs(mean) / se, k - 1))
    return mean, mean - q * se, mean + q * se, p, se


def tost(mean: float, se: float, dof: int, margin: float) -> float:
    """p-value of the two one-sided tests that the true difference lies in ``(-margin, margin)``.

    ``max(P(T >= (mean + margin) / se), P(T <= (mean - margin) / se))`` with ``T ~ t(dof)``:
    the larger of the two one-sided p-values (Schuirmann 1987). Equivalence at level ``a`` is
    the same as the ``1 - 2a`` interval lying inside ``(-margin, margin)``. NaN if ``se`` is.
    """
    if not margin > 0:
        raise ValueError(f"margin must be positive, got {margin}.")
    if math.isnan(se) or dof < 1:
        return math.nan
    if se == 0:
        return 0.0 if abs(mean) < margin else 1.0
    lower = float(stats.t.sf((mean + margin) / se, dof))
    upper = float(stats.t.cdf((mean - margin) / se, dof))
    return max(lower, upper)


@dataclass(frozen=True)
class PairedComparison:
    """Method A against method B on one data set, over paired splits.

    Attributes
    ----------
    n : int
        Number of paired splits (seeds).
    mean_diff : float
        Mean of ``a - b`` (rounded to ``resolution`` split by split).
    ci_low, ci_high : float
        Interval of the mean difference (corrected t; NaN for ``n < 2``).
    p_value : float
        Two-sided p-value of the corrected t-test, unadjusted (NaN when ``n < MIN_REPEATS``).
    tost_p : float
        p-value of the equivalence test within ``+-margin`` (NaN when ``n < MIN_REPEATS``).
    margin : float
        Equivalence margin.
    equivalence_bound : float
        Smallest margin at which TOST at ``level`` would declare equivalence: the larger
        absolute end of the ``1 - 2 level`` interval.
    identical : bool
        Every difference is zero (within ``resolution``).
    verdict : str
        "tie" (identical on every split: p = 1), "win" / "loss" (significantly better /
        worse at ``level``), "equivalent" (TOST rejects), "inconclusive" (neither test
        rejects), or "too few" (fewer than ``MIN_REPEATS`` splits:
        no test). :func:`with_holm` recomputes it from Holm-adjusted p-values.
    p_adjusted, tost_p_adjusted : float
        Holm-adjusted p-values (equal to the raw ones until :func:`with_holm` is applied).
    """

    n: int
    mean_diff: float
    ci_low: float
    ci_high: float
    p_value: float
    tost_p: float
    margin: float
    equivalence_bound: float
    identical: bool
    verdict: str
    p_adjusted: float = math.nan
    tost_p_adjusted: float = math.nan
    higher_is_better: bool = True
    level: float = 0.05


def _paired(a, b) -> tuple[np.ndarray, np.ndarray]:
    a = np.asarray(a, dtype=float).ravel()
    b = np.asarray(b, dtype=float).ravel()
    if a.shape != b.shape:
        raise ValueError(f"paired scores need the same length; got {a.size} and {b.size}.")
    if a.size == 0:
        raise ValueError("no paired scores to compare.")
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        raise ValueError("scores contain NaN or infinite values.")
    return a, b


def _check_level(level: float) -> float:
    if not 0 < level < 0.5:
        raise ValueError(f"level must be in (0, 0.5), got {level}.")
    return float(level)


def _verdict(c: PairedComparison, p: float, p_tost: float) -> str:
    if c.identical:
        return "tie"
    if math.isnan(p):
        return "too few"
    if p < c.level and c.mean_diff != 0:
        better = c.mean_diff > 0 if c.higher_is_better else c.mean_diff < 0
        return "win" if better else "loss"
    return "equivalent" if p_tost < c.level else "inconclusive"


def paired_comparison(a, b, *, test_fraction: float = 0.0, resolution: float = 0.0,
                      margin: float = 0.005, level: float = 0.05,
                      higher_is_better: bool = True) -> PairedComparison:
    """Compare paired scores ``a`` and ``b`` (one per split) of two methods.

    Parameters
    ----------
    a, b : array-like of shape (n,)
        Scores of the two methods on the same ``n`` splits.
    test_fraction : float, default 0.0
        ``n_test / n_train`` of the splits (Nadeau-Bengio correction; 0: independent
        repetitions, the ordinary paired t-test).
    resolution : float, default 0.0
        Scores are multiples of it (``1 / n_test`` for an accuracy): differences are rounded
        to this lattice, so floating-point noise is not a difference. 0: no rounding.
    margin : float, default 0.005
        Equivalence margin of the TOST (0.005 = half a percentage point of accuracy).
    level : float, default 0.05
        Significance level of both tests; the interval has confidence ``1 - level``.
    higher_is_better : bool, default True
        Accuracy (True) or an error (False).
    """
    level = _check_level(level)
    if not test_fraction >= 0:
        raise ValueError(f"test_fraction must be >= 0, got {test_fraction}.")
    if not resolution >= 0:
        raise ValueError(f"resolution must be >= 0, got {resolution}.")
    a, b = _paired(a, b)
    d = a - b
    if resolution > 0:
        d = np.round(d / resolution) * resolution
    n = d.size
    mean, low, high, p, se = corrected_ttest(d, test_fraction=test_fraction, level=level)
    identical = bool(np.all(d == 0))
    if identical:
        p, p_tost, bound = 1.0, 0.0, 0.0
    elif n < MIN_REPEATS:
        p = p_tost = bound = math.nan
    else:
        p_tost = tost(mean, se, n - 1, margin)
        q = float(stats.t.ppf(1 - level, n - 1))
        bound = abs(mean) + q * se
    c = PairedComparison(n, mean, low, high, p, p_tost, float(margin), bound, identical, "",
                         p, p_tost, bool(higher_is_better), level)
    return _replace_verdict(c, p, p_tost)


def _replace_verdict(c: PairedComparison, p: float, p_tost: float) -> PairedComparison:
    from dataclasses import replace

    return replace(c, p_adjusted=p, tost_p_adjusted=p_tost, verdict=_verdict(c, p, p_tost))


def holm(p_values) -> np.ndarray:
    """Holm's step-down adjustment of ``m`` p-values (family-wise error at the level).

    The ``j``-th smallest (``j = 1..m``) becomes ``max_{i <= j} min(1, (m - i + 1) p_(i))``;
    NaN p-values are left out of the family and stay NaN.
    """
    p = np.asarray(p_values, dtype=float).ravel()
    out = np.full(p.shape, np.nan)
    ok = np.flatnonzero(~np.isnan(p))
    m = ok.size
    if m == 0:
        return out
    order = ok[np.argsort(p[ok], kind="stable")]
    adjusted = np.minimum(1.0, (m - np.arange(m)) * p[order])
    out[order] = np.maximum.accumulate(adjusted)
    return out


def with_holm(comparisons) -> list:
    """The comparisons of one pair of methods over data sets, with Holm-adjusted p-values
    (both the difference test and the equivalence test) and their verdicts."""
    comparisons = list(comparisons)
    p = holm([c.p_value for c in comparisons])
    q = holm([c.tost_p for c in comparisons])
    return [_replace_verdict(c, float(pi), float(qi)) if not c.identical else c
            for c, pi, qi in zip(comparisons, p, q, strict=True)]


def mean_interval(d, *, margin: float = 0.005, level: float = 0.05) -> dict:
    """Mean of independent differences (one per data set) with its t interval, the two-sided
    t-test p-value, the TOST p-value within ``+-margin`` and the Wilcoxon signed-rank p-value.

    Returns a dict with ``n``, ``mean``, ``ci_low``, ``ci_high``, ``p``, ``tost_p``,
    ``equivalence_bound``, ``wilcoxon_p`` and ``margin``; the tests are NaN with fewer than
    ``MIN_DATASETS`` values (``testable`` is False).
    """
    level = _check_level(level)
    d = np.asarray(d, dtype=float).ravel()
    out = {"n": int(d.size), "margin": float(margin), "testable": d.size >= MIN_DATASETS,
           "mean": float(d.mean()) if d.size else math.nan}
    nan = dict.fromkeys(("ci_low", "ci_high", "p", "tost_p", "equivalence_bound", "wilcoxon_p"),
                        math.nan)
    if not out["testable"]:
        return {**out, **nan}
    mean, low, high, p, se = corrected_ttest(d, level=level)
    q = float(stats.t.ppf(1 - level, d.size - 1))
    wil = (float(stats.wilcoxon(d, zero_method="zsplit").pvalue) if np.any(d != 0) else 1.0)
    return {**out, "ci_low": low, "ci_high": high, "p": p,
            "tost_p": tost(mean, se, d.size - 1, margin),
            "equivalence_bound": abs(mean) + q * se, "wilcoxon_p": wil}


def distinct_methods(per_dataset, methods, *, resolution=0.0):
    """Methods that are not identical to an earlier one on most data sets.

    Parameters
    ----------
    per_dataset : list of dict
        For each data set, ``{method: array of scores over the splits}``.
    methods : sequence of str
        In order of preference: of two identical methods the earlier is kept.
    resolution : float or sequence of float, default 0.0
        Per data set (or one for all): scores closer than half of it are equal.

    Returns
    -------
    kept : list of str
    dropped : dict
        ``{dropped method: (the kept method it equals, data sets where equal, data sets)}``.
    """
    methods = list(methods)
    res = np.broadcast_to(np.asarray(resolution, dtype=float), (len(per_dataset),))
    kept, dropped = [], {}
    for m in methods:
        twin = None
        for k in kept:
            both = [(e[m], e[k], r) for e, r in zip(per_dataset, res, strict=True)
                    if m in e and k in e]
            same = sum(
                bool(np.all(np.abs(np.asarray(x) - np.asarray(y)) <= max(r / 2, 1e-12)))
                for x, y, r in both)
            if both and same > len(both) / 2:
                twin = (k, same, len(both))
                break
        if twin is None:
            kept.append(m)
        else:
            dropped[m] = twin
    return kept, dropped


def nemenyi_q(k: int, level: float = 0.05) -> float:
    """``q_alpha`` of the Nemenyi test for ``k`` methods (Demšar 2006, Table 5a for 0.05)."""
    if k < 2:
        raise ValueError(f"the Nemenyi test needs at least 2 methods, got {k}.")
    return float(stats.studentized_range.ppf(1 - level, k, np.inf) / np.sqrt(2))


@dataclass(frozen=True)
class RankTest:
    """Friedman test and Nemenyi critical difference over data sets.

    Attributes
    ----------
    methods : tuple of str
    average_ranks : ndarray of shape (k,)
        Rank 1 is the best method on a data set (ties share the average rank).
    friedman_statistic, friedman_p : float
        scipy's Friedman chi-square test that all methods perform alike (NaN for k < 3 or
        fewer than ``MIN_DATASETS`` data sets: too few for the test).
    critical_difference : float
        Nemenyi CD at ``level``.
    n_datasets : int
    level : float
    """

    methods: tuple
    average_ranks: np.ndarray
    friedman_statistic: float
    friedman_p: float
    critical_difference: float
    n_datasets: int
    level: float

    def significantly_different(self, a: str, b: str) -> bool:
        """Whether the average ranks of ``a`` and ``b`` differ by more than the CD."""
        i, j = self.methods.index(a), self.methods.index(b)
        return bool(abs(self.average_ranks[i] - self.average_ranks[j]) > self.critical_difference)


def friedman_nemenyi(scores, methods, *, level: float = 0.05, higher_is_better: bool = True,
                     resolution=0.0) -> RankTest:
    """Average ranks, Friedman test and Nemenyi CD of ``scores`` (n_datasets, n_methods).

    ``resolution`` (one value, or one per data set): scores are rounded to multiples of it
    before ranking, so that values equal up to floating-point noise share their rank.
    """
    scores = np.asarray(scores, dtype=float)
    methods = tuple(methods)
    if scores.ndim != 2 or scores.shape[1] != len(methods):
        raise ValueError(
            f"scores must have shape (n_datasets, {len(methods)}) for {len(methods)} methods; "
            f"got {scores.shape}."
        )
    if scores.shape[0] < 2:
        raise ValueError("ranking methods needs at least 2 data sets.")
    if not np.all(np.isfinite(scores)):
        raise ValueError("scores contain NaN or infinite values.")
    res = np.broadcast_to(np.asarray(resolution, dtype=float), (scores.shape[0],))[:, None]
    scores = np.where(res > 0, np.round(scores / np.where(res > 0, res, 1.0)) * res, scores)
    signed = -scores if higher_is_better else scores
    ranks = np.vstack([stats.rankdata(row) for row in signed])
    k, N = len(methods), scores.shape[0]
    if k >= 3 and N >= MIN_DATASETS:
        res = stats.friedmanchisquare(*scores.T)
        statistic, p = float(res.statistic), float(res.pvalue)
    else:
        statistic = p = float("nan")
    cd = nemenyi_q(k, level) * np.sqrt(k * (k + 1) / (6.0 * N))
    return RankTest(methods, ranks.mean(axis=0), statistic, p, float(cd), N, level)


# The critical-difference diagram is drawn with the other figures; its name stays here too.
from .plotting import cd_diagram  # noqa: E402
