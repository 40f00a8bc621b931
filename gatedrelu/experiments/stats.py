r"""Statistics for comparing methods over repeated splits and over data sets (Demšar 2006).

Two levels, both with scipy.stats (no hand-written tests):

* **Per data set** (:func:`paired_comparison`): the accuracies of two methods on the same
  seeds (the same splits) are paired; the mean difference gets a Student-t confidence interval
  and a Wilcoxon signed-rank p-value. The verdict is "win" or "loss" only when the difference is
  significant at ``level``, else "tie": raw counts of better/worse means are reported separately.
* **Across data sets** (:func:`friedman_nemenyi`): average ranks of every method over the data
  sets, the Friedman test that all methods are equivalent, and the Nemenyi critical difference
  ``CD = q_alpha sqrt(k (k + 1) / (6 N))`` (``q_alpha`` the studentized range quantile over
  ``sqrt(2)``): two methods whose average ranks differ by less than CD are not significantly
  different. :func:`cd_diagram` draws the critical-difference diagram.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

__all__ = [
    "PairedComparison",
    "paired_comparison",
    "RankTest",
    "friedman_nemenyi",
    "nemenyi_q",
    "cd_diagram",
]


@dataclass(frozen=True)
class PairedComparison:
    """Method A against method B on one data set, over paired repetitions.

    Attributes
    ----------
    n : int
        Number of paired repetitions (seeds).
    mean_diff : float
        Mean of ``a - b``.
    ci_low, ci_high : float
        Student-t confidence interval of the mean difference (NaN for ``n < 2``).
    p_value : float
        Two-sided Wilcoxon signed-rank p-value (1.0 when every difference is zero).
    verdict : str
        "win" (A significantly better), "loss" (significantly worse) or "tie".
    """

    n: int
    mean_diff: float
    ci_low: float
    ci_high: float
    p_value: float
    verdict: str


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


def paired_comparison(a, b, *, level: float = 0.05, higher_is_better: bool = True) -> PairedComparison:
    """Compare paired scores ``a`` and ``b`` (one per repetition) of two methods.

    Parameters
    ----------
    a, b : array-like of shape (n,)
        Scores of the two methods on the same ``n`` splits.
    level : float, default 0.05
        Significance level of the Wilcoxon test and ``1 - `` the confidence of the interval.
    higher_is_better : bool, default True
        Accuracy (True) or an error (False).
    """
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}.")
    a, b = _paired(a, b)
    d = a - b
    n = d.size
    mean = float(d.mean())
    if n >= 2:
        sem = float(stats.sem(d))
        half = float(stats.t.ppf(1 - level / 2, n - 1)) * sem
        low, high = mean - half, mean + half
    else:
        low = high = float("nan")
    if np.all(d == 0):
        p = 1.0
    else:
        # exact distribution for small n without ties, normal approximation otherwise
        p = float(stats.wilcoxon(d, zero_method="zsplit", alternative="two-sided").pvalue)
    better = mean > 0 if higher_is_better else mean < 0
    verdict = "tie" if not p < level or mean == 0 else ("win" if better else "loss")
    return PairedComparison(n, mean, low, high, p, verdict)


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
        scipy's Friedman chi-square test that all methods perform alike (NaN for k < 3).
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


def friedman_nemenyi(scores, methods, *, level: float = 0.05, higher_is_better: bool = True) -> RankTest:
    """Average ranks, Friedman test and Nemenyi CD of ``scores`` (n_datasets, n_methods)."""
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
    signed = -scores if higher_is_better else scores
    ranks = np.vstack([stats.rankdata(row) for row in signed])
    k, N = len(methods), scores.shape[0]
    if k >= 3:
        res = stats.friedmanchisquare(*scores.T)
        statistic, p = float(res.statistic), float(res.pvalue)
    else:
        statistic = p = float("nan")
    cd = nemenyi_q(k, level) * np.sqrt(k * (k + 1) / (6.0 * N))
    return RankTest(methods, ranks.mean(axis=0), statistic, p, float(cd), N, level)


def cd_diagram(test: RankTest, path=None, *, labels: dict | None = None):
    """Critical-difference diagram: methods on the average-rank axis, with bars joining the
    groups whose ranks differ by less than CD. Returns the matplotlib figure (saved to ``path``
    when given)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = labels or {}
    order = np.argsort(test.average_ranks)
    ranks = test.average_ranks[order]
    names = [labels.get(test.methods[i], test.methods[i]) for i in order]
    k = len(names)
    fig, ax = plt.subplots(figsize=(7, 1.2 + 0.3 * k))
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
    ax.set_title(
        f"Average ranks over {test.n_datasets} data sets (Friedman p = {test.friedman_p:.2g}, "
        f"Nemenyi at {test.level:g})", fontsize=9)
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=150)
    return fig
