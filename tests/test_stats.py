"""The comparison statistics against closed forms, scipy and Monte Carlo.

* identical methods give a tie with p = 1; a planted difference is detected;
* the t interval covers the true mean difference at its nominal rate, and the t-test rejects
  a true null at most at its level (Monte Carlo, with binomial tolerances; the corrected
  version for overlapping splits is checked in ``tests/test_compare_stats.py``);
* the Nemenyi q values equal Demšar (2006), Table 5a; ranks, the Friedman test and CD follow
  their definitions.
"""

import numpy as np
import pytest
from scipy import stats

from gatedrelu.experiments.stats import cd_diagram, friedman_nemenyi, nemenyi_q, paired_comparison


def test_identical_methods_tie_with_p_one():
    a = np.random.default_rng(0).uniform(0.6, 0.9, 10)
    res = paired_comparison(a, a.copy())
    assert res.verdict == "tie" and res.p_value == 1.0 and res.mean_diff == 0.0


def test_planted_difference_is_detected_with_its_interval():
    rng = np.random.default_rng(1)
    b = rng.uniform(0.6, 0.8, 12)
    a = b + 0.05 + 0.01 * rng.standard_normal(12)
    res = paired_comparison(a, b)
    assert res.verdict == "win" and res.p_value < 0.01
    assert res.ci_low < 0.05 < res.ci_high
    assert paired_comparison(b, a).verdict == "loss"
    # for an error, lower is better
    assert paired_comparison(a, b, higher_is_better=False).verdict == "loss"


def test_interval_coverage_and_test_size_by_monte_carlo():
    rng = np.random.default_rng(2)
    reps, n, mu = 600, 10, 0.02
    covered = rejected = 0
    for _ in range(reps):
        d = mu + 0.03 * rng.standard_normal(n)
        res = paired_comparison(d, np.zeros(n))
        covered += res.ci_low <= mu <= res.ci_high
        null = paired_comparison(0.03 * rng.standard_normal(n), np.zeros(n))
        rejected += null.verdict in ("win", "loss")
    # binomial(600, 0.95): sd 0.009; allow 4 sd
    assert abs(covered / reps - 0.95) < 0.036
    # independent repetitions: the t-test at 0.05 rejects a true null at most 5% (+ 4 sd)
    assert rejected / reps < 0.05 + 0.036


def test_nemenyi_q_matches_demsar_table():
    table = {2: 1.960, 3: 2.343, 4: 2.569, 5: 2.728, 6: 2.850, 7: 2.949, 8: 3.031, 9: 3.102, 10: 3.164}
    for k, q in table.items():
        assert nemenyi_q(k) == pytest.approx(q, abs=1.5e-3)


def test_friedman_nemenyi_follows_the_definitions(tmp_path):
    rng = np.random.default_rng(3)
    N, methods = 15, ("a", "b", "c", "d")
    scores = rng.uniform(0.5, 0.9, (N, 4))
    scores[:, 0] += 0.5  # a is best everywhere
    res = friedman_nemenyi(scores, methods)
    expected_ranks = np.mean([stats.rankdata(-row) for row in scores], axis=0)
    np.testing.assert_allclose(res.average_ranks, expected_ranks)
    assert res.average_ranks[0] == 1.0
    assert res.friedman_p == pytest.approx(stats.friedmanchisquare(*scores.T).pvalue)
    assert res.critical_difference == pytest.approx(2.569 * np.sqrt(4 * 5 / (6 * N)), rel=1e-3)
    worst = methods[int(np.argmax(res.average_ranks))]
    assert res.significantly_different("a", worst)
    fig = cd_diagram(res, tmp_path / "cd.png")
    assert (tmp_path / "cd.png").stat().st_size > 1000
    fig.clf()


def test_identical_methods_are_not_significantly_different_in_rank():
    rng = np.random.default_rng(4)
    col = rng.uniform(0.5, 0.9, 20)
    res = friedman_nemenyi(np.c_[col, col, rng.uniform(0.5, 0.9, 20)], ("x", "y", "z"))
    assert not res.significantly_different("x", "y")
    assert res.average_ranks[0] == res.average_ranks[1]


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: paired_comparison([1, 2], [1]), "same length"),
        (lambda: paired_comparison([], []), "no paired scores"),
        (lambda: paired_comparison([np.nan], [1.0]), "NaN"),
        (lambda: paired_comparison([1.0], [1.0], level=2), "level"),
        (lambda: friedman_nemenyi(np.ones((3, 2)), ("a", "b", "c")), "shape"),
        (lambda: friedman_nemenyi(np.ones((1, 2)), ("a", "b")), "at least 2 data sets"),
        (lambda: nemenyi_q(1), "at least 2 methods"),
    ],
)
def test_bad_input(call, message):
    with pytest.raises(ValueError, match=message):
        call()
