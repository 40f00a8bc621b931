"""Statistics that hold: the compare experiment's tests against simulations and closed forms.

* The corrected resampled t-test (Nadeau and Bengio 2003) is calibrated under a null simulated
  the way the experiment resamples: many overlapping 75/25 splits of *one* data set, two
  nearest-centroid classifiers of equal generalisation error (on two exchangeable halves of
  the features). Its rejection rate over 400 simulated experiments is near 5 %; the plain
  paired t-test on the same differences rejects far too often.
* A planted difference is found; identical methods tie with p = 1.
* Holm's adjustment and the TOST follow their definitions; runs too small for a test say so.
* The committed CSV: the report is rebuilt from it without running anything, its certificate
  failures are named with a reason, and the optimal kernel agrees with the gated ReLU network
  wherever both solved the same problem, except where the run's IRLS did not return the zero
  model (fixed since; ``tests/test_mkl_zero_model.py``).
"""

from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from gatedrelu.experiments import compare
from gatedrelu.experiments.stats import (
    MIN_DATASETS,
    corrected_ttest,
    distinct_methods,
    friedman_nemenyi,
    holm,
    mean_interval,
    paired_comparison,
    tost,
    with_holm,
)

CSV = Path(__file__).resolve().parents[1] / "benchmarks/results/compare/compare.csv"


def _centroid_accuracy(Xtr, ytr, Xte, yte):
    c0, c1 = Xtr[ytr == 0].mean(axis=0), Xtr[ytr == 1].mean(axis=0)
    pred = ((Xte - c1) ** 2).sum(axis=1) < ((Xte - c0) ** 2).sum(axis=1)
    return np.mean(pred == yte)


def _resampled_differences(rng, n=120, k=10, test_size=0.25, shift=0.0):
    """One simulated experiment: a data set of n points, k overlapping random splits, the
    accuracy difference of a nearest-centroid classifier on features 0-1 and one on features
    2-3 (equally informative unless ``shift``), per split. Returns (differences, n_test,
    n_train)."""
    y = rng.integers(0, 2, n)
    X = rng.standard_normal((n, 4))
    sign = (2 * y - 1)[:, None]
    X[:, :2] += (0.5 + shift) * sign
    X[:, 2:] += 0.5 * sign
    n_test = round(test_size * n)
    d = []
    for _ in range(k):
        perm = rng.permutation(n)
        te, tr = perm[:n_test], perm[n_test:]
        a = _centroid_accuracy(X[tr][:, :2], y[tr], X[te][:, :2], y[te])
        b = _centroid_accuracy(X[tr][:, 2:], y[tr], X[te][:, 2:], y[te])
        d.append(a - b)
    return np.array(d), n_test, n - n_test


def test_corrected_test_is_calibrated_and_the_plain_test_is_not():
    rng = np.random.default_rng(0)
    reps = 400
    corrected = plain = 0
    for _ in range(reps):
        d, n_test, n_train = _resampled_differences(rng)
        corrected += corrected_ttest(d, test_fraction=n_test / n_train)[3] < 0.05
        plain += corrected_ttest(d)[3] < 0.05
    # near the nominal 5 % (binomial sd 1.1 % at 400 experiments)
    assert 0.02 <= corrected / reps <= 0.09, corrected / reps
    # the uncorrected test ignores the overlap of the splits: far above 5 %
    assert plain / reps > 0.15, plain / reps


def test_planted_difference_is_found_with_the_protocols_comparison():
    rng = np.random.default_rng(1)
    d, n_test, n_train = _resampled_differences(rng, n=600, shift=1.0)
    a = 0.7 + d  # paired accuracies with the simulated differences
    res = paired_comparison(a, a - d, test_fraction=n_test / n_train, resolution=1 / n_test)
    assert res.verdict == "win" and res.p_value < 0.01 and res.ci_low > 0
    flipped = paired_comparison(a - d, a, test_fraction=n_test / n_train,
                                resolution=1 / n_test)
    assert flipped.verdict == "loss"


def test_identical_methods_tie_with_p_one_even_with_rounding_noise():
    a = np.random.default_rng(2).integers(20, 40, 10) / 40
    res = paired_comparison(a, a + 1e-16 * (np.arange(10) % 3 - 1), test_fraction=1 / 3,
                            resolution=1 / 40)
    assert res.verdict == "tie" and res.p_value == 1.0 and res.mean_diff == 0.0
    assert res.identical and res.equivalence_bound == 0.0


def test_corrected_interval_is_the_plain_one_inflated():
    d = np.array([0.01, 0.03, -0.02, 0.04, 0.0, 0.02, 0.01, -0.01])
    k, frac = d.size, 1 / 3
    mean, low, high, p, se = corrected_ttest(d, test_fraction=frac)
    assert se == pytest.approx(d.std(ddof=1) * np.sqrt(1 / k + frac))
    assert high - mean == pytest.approx(stats.t.ppf(0.975, k - 1) * se)
    assert p == pytest.approx(2 * stats.t.sf(abs(mean) / se, k - 1))
    # frac = 0 is scipy's paired t-test
    assert corrected_ttest(d)[3] == pytest.approx(stats.ttest_1samp(d, 0).pvalue)


def test_tost_is_the_interval_inside_the_margin():
    rng = np.random.default_rng(3)
    for _ in range(50):
        d = 0.004 * rng.standard_normal(12) + rng.uniform(-0.004, 0.004)
        mean, _, _, _, se = corrected_ttest(d)
        lo90, hi90 = stats.t.interval(0.90, d.size - 1, loc=mean, scale=se)
        inside = -0.005 < lo90 and hi90 < 0.005
        assert (tost(mean, se, d.size - 1, 0.005) < 0.05) == inside


def test_holm_matches_its_definition():
    p = np.array([0.01, 0.04, 0.03, 0.005, np.nan, 0.5])
    got = holm(p)
    # by hand: m = 5 non-NaN; sorted 0.005, 0.01, 0.03, 0.04, 0.5
    expected = {3: 5 * 0.005, 0: 4 * 0.01, 2: 3 * 0.03, 1: max(3 * 0.03, 2 * 0.04), 5: 0.5}
    for i, v in expected.items():
        assert got[i] == pytest.approx(v)
    assert np.isnan(got[4])
    assert np.all(got[~np.isnan(got)] >= p[~np.isnan(p)])


def test_holm_turns_a_chance_rejection_into_a_non_rejection():
    """25 data sets, one with p = 0.016 (monk-2's uncorrected value): significant alone,
    not after Holm over the family."""
    base = paired_comparison(np.r_[np.full(9, 0.8), 0.9], np.full(10, 0.8))
    comps = [base] * 24
    one = paired_comparison([0.82, 0.83, 0.81, 0.84, 0.82, 0.80, 0.83, 0.82, 0.81, 0.83],
                            np.full(10, 0.8))
    assert one.verdict == "win"
    adjusted = with_holm([*comps, one])
    assert adjusted[-1].p_adjusted == pytest.approx(min(1.0, 25 * one.p_value))
    if 25 * one.p_value >= 0.05:
        assert adjusted[-1].verdict != "win"


def test_too_small_runs_report_no_p_values():
    res = paired_comparison([0.8, 0.9], [0.7, 0.85], resolution=0.05)
    assert res.verdict == "too few" and np.isnan(res.p_value) and np.isnan(res.tost_p)
    across = mean_interval([0.01, -0.02, 0.0])
    assert not across["testable"] and np.isnan(across["p"]) and np.isnan(across["wilcoxon_p"])
    scores = np.random.default_rng(4).uniform(0.5, 0.9, (3, 4))
    assert np.isnan(friedman_nemenyi(scores, "abcd").friedman_p)
    assert not np.isnan(friedman_nemenyi(np.tile(scores, (4, 1)), "abcd").friedman_p)
    assert MIN_DATASETS <= 12


def test_distinct_methods_drops_a_method_identical_on_most_data_sets():
    rng = np.random.default_rng(5)
    per = []
    for k in range(5):
        x = rng.integers(0, 20, 4) / 20
        # b equals a on 3 of 5 data sets, c never
        per.append({"a": x, "b": x if k < 3 else x + 0.05, "c": x + 0.1})
    kept, dropped = distinct_methods(per, ["a", "b", "c"], resolution=1 / 20)
    assert kept == ["a", "c"] and dropped == {"b": ("a", 3, 5)}


# --------------------------------------------------------------------------- committed CSV


@pytest.fixture(scope="module")
def committed(tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    return compare.report_csv(str(CSV), str(out), datasets=list(compare.DATASETS),
                              seeds=range(compare.N_SEEDS))


def test_committed_report_is_rebuilt_from_the_csv(committed):
    text = (CSV.parent / compare.MD_NAME).read_text()
    assert committed["markdown"] == text


def test_committed_certificates_are_checked_not_asserted(committed):
    cert = committed["certificates"]
    assert cert["solves"] == 522
    failed = {(d, k, a): why for d, k, a, _, why in cert["failures"]}
    assert set(failed) == {("heart", 8, 1.0), ("housevotes", 8, 1e-4)}
    assert "zero model" in failed[("heart", 8, 1.0)]
    assert "Reference optimum F* certified to a relative duality gap of 1e-08 on 520 of 522" \
        in committed["markdown"]


def test_committed_optimal_kernel_agrees_with_the_gated_network(committed):
    """Where both chose the same alpha (same convex problem), the test accuracies agree, except
    within one test sample (a boundary point at a 1e-6 gap) or where the optimum is the zero
    model, which this run's IRLS did not return exactly. The CSV has no predictions, so this
    is the check its columns allow (runs made now record ``test_predictions``)."""
    chk = committed["same_problem"]
    assert chk["runs"] == 250 and chk["by"] == "accuracy"
    assert chk["same_alpha"] >= 230
    n_test = {d: e["n_test"] for d, e in committed["datasets"].items()}
    for ds, _seed, _alpha, acc_opt, acc_net, _, zero in chk["disagreements"]:
        assert zero or round(abs(acc_opt - acc_net) * n_test[ds]) <= 1
    assert len(chk["disagreements"]) <= 3


def test_committed_headline_numbers(committed):
    c = committed["pairs"][("optimal", "ntk")]
    x = c["across"]
    assert x["mean"] == pytest.approx(0.0, abs=5e-4)
    assert x["ci_low"] < 0 < x["ci_high"] and x["ci_high"] - x["ci_low"] < 0.01
    assert x["tost_p"] < 0.05  # equivalent within +-0.5 pp across data sets
    assert c["verdicts"]["win"] == c["verdicts"]["loss"] == 0
    assert "uniform" in committed["dropped"] and committed["dropped"]["uniform"][0] == "ntk"
    assert committed["ranks"].friedman_p > 0.05


def test_grids_widen_one_step_at_the_edge_they_were_chosen_on():
    assert compare.widened((0.01, 0.1, 1.0), 0.01) == pytest.approx((0.001, 0.01, 0.1, 1.0))
    assert compare.widened((0.01, 0.1, 1.0), 1.0) == pytest.approx((0.01, 0.1, 1.0, 10.0))
    assert compare.widened((0.01, 0.1, 1.0), 0.1) is None
    # not above alpha_max: every larger alpha is the same zero model
    assert compare.widened((0.01, 0.1, 1.0), 1.0, upper=0.8) is None
    assert compare.widened((3.0,), 3.0) == pytest.approx((0.3, 3.0))


def test_report_only_needs_an_existing_csv(tmp_path, capsys):
    from gatedrelu.cli import main as cli_main

    assert cli_main(["compare", "--report-only", "--out", str(tmp_path)]) == 2
    assert "--report-only needs the results of a run" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())  # nothing was run or written
