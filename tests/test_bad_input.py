"""Bad input met by a new user (issue 19, items 5-15): each case ends in a clear error naming the
parameter and the value, or in a result checked against an independent reference (the same
problem solved at unit scale, a direct evaluation, the unscaled data)."""

import csv
import dataclasses
import re
import unicodedata
import warnings
from math import comb

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import KFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from gatedrelu import (
    ConvexReLUClassifier,
    ConvexReLURegressor,
    GatedReLUClassifierCV,
    GatedReLURegressor,
    GatedReLURegressorCV,
    MKLClassifier,
    MKLPathClassifierCV,
    MKLPathRegressorCV,
    MKLRegressor,
    activation_patterns,
    alpha_max,
    duality_gap,
    irls,
    ntk_kernel,
    sample_gates,
    solve_convex_relu,
    solve_group_lasso,
)
from gatedrelu._validation import ProblemTooLargeError
from gatedrelu.cli import main as cli_main
from gatedrelu.distributed import local_masks, make_mesh, solve_distributed
from gatedrelu.io import ModelFileError, load_model, save_model
from gatedrelu.patterns import SinglePatternWarning, single_pattern_message
from tests.helpers import planted_problem


@pytest.fixture(scope="module")
def data():
    return planted_problem(n=40, d=3, m=20, intercept=True, seed=2)


# --------------------------------------------------------------------------- item 13: patterns


def test_patterns_of_other_data_are_refused(data):
    X, y, p = data
    X_other = np.random.default_rng(7).standard_normal(X.shape)
    X_other[:, -1] = 1.0
    for solve in (solve_group_lasso, solve_convex_relu, irls):
        with pytest.raises(ValueError, match=r"patterns do not belong to X: \d+ of the 40 x"):
            solve(X_other, y, p, 0.01)


def test_patterns_from_gates_of_another_dimension_are_refused(data):
    X, y, p = data
    with pytest.raises(ValueError, match="gates of dimension 4, but X has 3 columns"):
        solve_group_lasso(X[:, 1:], y, p, 0.01)


def test_patterns_whose_gates_and_masks_disagree_in_number_are_refused(data):
    X, y, p = data
    with pytest.raises(ValueError, match=rf"n_patterns = {p.n_patterns} .* got \(4, 3\)"):
        dataclasses.replace(p, gates=p.gates[:, :3])
    broken = dataclasses.replace(p)
    object.__setattr__(broken, "gates", p.gates[:, :3])  # forced past the constructor
    with pytest.raises(ValueError, match="gates and masks come from different patterns"):
        solve_group_lasso(X, y, broken, 0.01)


def test_patterns_of_the_same_data_pass_also_with_ties_and_in_float32(data):
    X, y, p = data
    # a gate orthogonal to a sample: X g = 0 up to rounding on that row (mask 1 by definition)
    r = np.random.default_rng(0).standard_normal(X.shape[1])
    g = r - (r @ X[0]) / (X[0] @ X[0]) * X[0]
    q = activation_patterns(X, np.c_[g, p.gates])
    assert solve_group_lasso(X, y, q, 0.05 * alpha_max(X, y, q)).converged
    X32, y32 = X.astype(np.float32), y.astype(np.float32)
    assert solve_group_lasso(X32, y32, p, 0.05 * alpha_max(X, y, p), tol=1e-5).converged


# --------------------------------------------------------------------------- item 7: tiny targets


def test_tiny_targets_give_the_certified_zero_model():
    X, y, _ = planted_problem(n=40, d=3, m=20, seed=1)
    Xb = np.c_[X, np.ones(len(X))]
    # an absolute alpha of 1e-3 >> alpha_max: the exact zero model
    p = activation_patterns(Xb, sample_gates(4, 20, random_state=0))
    res = solve_convex_relu(Xb, y * 1e-170, p, 1e-3)
    assert res.converged and np.all(res.coef == 0)
    # the estimators' alpha is in units of the targets' scale: the tiny targets give the
    # unit-scale fit times 1e-170, with no ZeroDivisionError on the way
    for Est in (GatedReLURegressor, ConvexReLURegressor):
        unit = Est(n_gates=20, random_state=0).fit(X, y)
        tiny = Est(n_gates=20, random_state=0).fit(X, y * 1e-170)
        np.testing.assert_allclose(tiny.predict(X) * 1e170, unit.predict(X), rtol=1e-5,
                                   atol=1e-5 * np.abs(unit.predict(X)).max())


def test_tiny_targets_below_alpha_max_give_the_scaled_unit_solution(data):
    X, y, p = data
    alpha = 0.05 * alpha_max(X, y, p)
    ref = solve_group_lasso(X, y, p, alpha, tol=1e-9)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tiny = solve_group_lasso(X, y * 1e-170, p, alpha * 1e-170, tol=1e-9)
    # the objective (~1e-340) is below the smallest float; the coefficients are exact
    assert tiny.converged and tiny.objective == 0
    np.testing.assert_allclose(tiny.coef * 1e170, ref.coef, atol=1e-6 * np.abs(ref.coef).max())


# --------------------------------------------------------------------------- item 8: weights


def test_weights_whose_sum_overflows_give_the_solve_of_the_smaller_weights(data):
    X, y, p = data
    w = np.random.default_rng(3).uniform(0.5, 1.0, len(y))
    alpha = 0.05 * alpha_max(X, y, p, sample_weight=w)
    ref = solve_group_lasso(X, y, p, alpha, sample_weight=w, tol=1e-9)
    big = solve_group_lasso(X, y, p, alpha, sample_weight=w * 1e307, tol=1e-9)
    assert big.converged and np.any(big.coef != 0)
    assert big.objective == pytest.approx(ref.objective, rel=1e-9)
    np.testing.assert_allclose(big.coef, ref.coef, atol=1e-7 * np.abs(ref.coef).max())
    a = GatedReLURegressor(n_gates=10, random_state=0).fit(X, y, sample_weight=w * 1e307)
    b = GatedReLURegressor(n_gates=10, random_state=0).fit(X, y, sample_weight=w)
    np.testing.assert_allclose(a.predict(X), b.predict(X), rtol=1e-6, atol=1e-8)


# --------------------------------------------------------------------------- item 5: model files


@pytest.mark.parametrize("pipeline", [False, True], ids=["bare", "pipeline"])
@pytest.mark.parametrize("Est", [ConvexReLURegressor, ConvexReLUClassifier])
def test_convex_relu_models_load_back_and_predict_the_same(tmp_path, Est, pipeline):
    X, y, _ = planted_problem(n=40, d=3, m=20, seed=5)
    t = y if Est is ConvexReLURegressor else np.where(y > np.median(y), "hi", "lo")
    model = Est(n_gates=15, alpha=1e-2, random_state=0)
    model = make_pipeline(StandardScaler(), model) if pipeline else model
    model.fit(X, t)
    loaded = load_model(save_model(model, tmp_path / "m.npz"))
    Xt = np.random.default_rng(1).standard_normal((25, 3))
    np.testing.assert_array_equal(loaded.predict(Xt), model.predict(Xt))
    if Est is ConvexReLUClassifier:
        np.testing.assert_array_equal(loaded.decision_function(Xt), model.decision_function(Xt))


def test_convex_relu_model_files_with_the_wrong_coefficient_layout_are_refused(tmp_path):
    X, y, _ = planted_problem(n=40, d=3, m=20, seed=5)
    model = ConvexReLURegressor(n_gates=15, alpha=1e-2, random_state=0).fit(X, y)
    model.coef_ = model.coef_[0]  # (P, d): the gated ReLU layout, not [V, W]
    save_model(model, tmp_path / "m.npz")
    P, d = model.gates_.shape[1], model.gates_.shape[0]
    with pytest.raises(ModelFileError, match=rf"coef_ has shape \({P}, {d}\).*need \(2, {P}, {d}, ...\)"):
        load_model(tmp_path / "m.npz")


# --------------------------------------------------------------------------- item 6: CLI columns


def _csv(path, header, rows):
    with open(path, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows([header, *rows])
    return path


@pytest.fixture(scope="module")
def cli_model(tmp_path_factory):
    """A CLI model fitted on features 'a', 'b', 'é' (composed, NFC) and target 'y'."""
    tmp = tmp_path_factory.mktemp("cli")
    X, y, _ = planted_problem(n=30, d=3, m=10, seed=6)
    names = ["a", "b", unicodedata.normalize("NFC", "\u00e9")]
    path = _csv(tmp / "train.csv", [*names, "y"], [[*(repr(float(v)) for v in x), repr(float(t))] for x, t in zip(X, y)])
    assert cli_main(["fit", "--data", str(path), "--target", "y", "--n-gates", "10",
                     "--out", str(tmp)]) == 0
    return tmp / "model.npz", X


def test_predict_refuses_a_header_that_renames_some_features(cli_model, tmp_path, capsys):
    model, X = cli_model
    data = _csv(tmp_path / "p.csv", ["a", "b", "t"], [[repr(float(v)) for v in x] for x in X[:4]])
    capsys.readouterr()
    assert cli_main(["predict", "--model-file", str(model), "--data", str(data),
                     "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "'é' is missing and 't' is not a feature of the model" in err
    assert not (tmp_path / "predictions.csv").exists()


def test_predict_explains_names_that_differ_only_in_unicode_form(cli_model, tmp_path, capsys):
    model, X = cli_model
    nfd = unicodedata.normalize("NFD", "\u00e9")
    data = _csv(tmp_path / "p.csv", ["a", "b", nfd], [[repr(float(v)) for v in x] for x in X[:4]])
    capsys.readouterr()
    assert cli_main(["predict", "--model-file", str(model), "--data", str(data),
                     "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "U+0065 U+0301" in err and "U+00E9" in err and "NFD" in err


def test_predict_takes_columns_by_position_only_when_no_name_is_shared(cli_model, tmp_path):
    model, X = cli_model
    data = _csv(tmp_path / "p.csv", ["p", "q", "r"], [[repr(float(v)) for v in x] for x in X[:4]])
    assert cli_main(["predict", "--model-file", str(model), "--data", str(data),
                     "--out", str(tmp_path)]) == 0
    with open(tmp_path / "predictions.csv") as fh:
        written = [float(row[0]) for row in list(csv.reader(fh))[1:]]
    np.testing.assert_array_equal(written, load_model(model).predict(X[:4]))


# --------------------------------------------------------------------------- item 10: distributed


def test_solve_distributed_refuses_nonfinite_targets(data):
    X, y, p = data
    for bad in (np.nan, np.inf):
        y_bad = y.copy()
        y_bad[3] = bad
        with pytest.raises(ValueError, match=r"y contains 1 NaN or infinite value"):
            solve_distributed(X, y_bad, local_masks(X, p.sampled_gates), 0.01)


def test_solve_distributed_warns_with_the_gap_when_unfinished(data):
    X, y, p = data
    M = local_masks(X, p.sampled_gates, packed=False)
    with pytest.warns(ConvergenceWarning, match=r"after 3 of max_iter=3 iterations with duality "
                                                r"gap (\S+) \(relative (\S+) > tol=1.0e-10\)") as rec:
        r = solve_distributed(X, y, M, 0.01, max_iter=3, tol=1e-10)
    assert not r.converged
    gap = float(re.search(r"duality gap (\S+)", str(rec[0].message)).group(1))
    assert gap == pytest.approx(r.dual_gap, rel=1e-3)
    # the gap reported is the full-problem gap of the returned coefficients at the scaled
    # residual; the public duality_gap may be smaller (the refined dual point), never larger
    from gatedrelu.problem import Problem, certify_numpy

    plain = certify_numpy(Problem(X, M, y, 0.01), r.coef, refine=False).dual_gap
    assert plain == pytest.approx(r.dual_gap, rel=1e-6)
    assert duality_gap(X, y, M, r.coef, 0.01) <= r.dual_gap * (1 + 1e-9)


def test_solve_distributed_rescales_extreme_data_exactly(data):
    X, y, p = data
    M = local_masks(X, p.sampled_gates, packed=False)
    ref = solve_distributed(X, y, M, 0.01, tol=1e-9)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        big = solve_distributed(X * 1e200, y * 1e-100, M, 0.01 * 1e100, tol=1e-9)
    assert ref.converged and big.converged
    assert big.objective == pytest.approx(ref.objective * 1e-200, rel=1e-7)
    np.testing.assert_allclose(big.coef * 1e300, ref.coef, atol=1e-6 * np.abs(ref.coef).max())


# --------------------------------------------------------------------------- item 11: MKL path CV


@pytest.mark.parametrize("Est", [MKLPathRegressorCV, MKLPathClassifierCV])
def test_mkl_path_cv_refuses_extreme_scales_as_the_mkl_estimators(Est):
    X, y, _ = planted_problem(n=40, d=3, m=10, seed=8)
    t = y if Est is MKLPathRegressorCV else y > np.median(y)
    for bad in (X * 1e100, X * 1e-100):
        with pytest.raises(ValueError, match=r"X has root-mean-square .* the MKL estimators"):
            Est(n_gates=10).fit(bad, t)
    with pytest.raises(TypeError, match="fit_intercept must be a bool, got 'yes'"):
        Est(n_gates=10, fit_intercept="yes").fit(X, t)


def test_mkl_path_cv_names_the_fold_whose_training_rows_miss_a_class():
    X, y, _ = planted_problem(n=40, d=3, m=10, seed=8)
    labels = np.r_[np.zeros(30, int), np.ones(10, int)]  # the last fold holds every 1
    with pytest.raises(ValueError, match=r"fold 3 cannot be fitted: its 30 training rows hold "
                                         r"only class 0 of the 2 classes of y"):
        MKLPathClassifierCV(n_gates=10, cv=KFold(4)).fit(X, labels)


@pytest.mark.parametrize("pipeline", [False, True], ids=["bare", "pipeline"])
@pytest.mark.parametrize("Est", [MKLPathRegressorCV, MKLPathClassifierCV])
def test_mkl_path_cv_models_load_back_and_predict_the_same(tmp_path, Est, pipeline):
    X, y, _ = planted_problem(n=40, d=3, m=10, seed=8)
    t = y if Est is MKLPathRegressorCV else np.where(y > np.median(y), "hi", "lo")
    model = Est(n_gates=10, n_alphas=2, iterates=(0, 2, "optimal"), cv=3, random_state=0)
    model = make_pipeline(StandardScaler(), model) if pipeline else model
    model.fit(X, t)
    loaded = load_model(save_model(model, tmp_path / "m.npz"))
    final, ref = (loaded[-1], model[-1]) if pipeline else (loaded, model)
    assert type(final.best_estimator_) is type(ref.best_estimator_)
    assert (final.alpha_, final.iterate_) == (ref.alpha_, ref.iterate_)
    Xt = np.random.default_rng(1).standard_normal((25, 3))
    np.testing.assert_array_equal(loaded.predict(Xt), model.predict(Xt))


# --------------------------------------------------------------------------- item 9: n_gates ~ 1e8


@pytest.mark.parametrize("Est", [GatedReLURegressor, MKLRegressor, ConvexReLURegressor,
                                 GatedReLURegressorCV])
def test_a_hundred_million_gates_are_refused_before_sampling(Est):
    X, y, _ = planted_problem(n=40, d=3, m=10, seed=1)
    # Cover's count: 40 points in R^4 (bias column) have 2 sum_{k<4} C(39, k) patterns at most
    bound = 2 * sum(comb(39, k) for k in range(4))
    with pytest.raises(ProblemTooLargeError, match=rf"n_gates=100000000 exceeds the 10000000 "
                                                   rf"gates .* at most {bound} distinct"):
        Est(n_gates=10**8).fit(X, y)


def test_cli_refuses_a_hundred_million_gates_in_one_line(tmp_path, capsys):
    X, y, _ = planted_problem(n=40, d=3, m=10, seed=1)
    path = _csv(tmp_path / "d.csv", ["a", "b", "c", "y"],
                [[*(repr(float(v)) for v in x), repr(float(t))] for x, t in zip(X, y)])
    assert cli_main(["fit", "--data", str(path), "--n-gates", "1e8", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "n_gates=100000000 exceeds the 10000000 gates" in err
    assert not (tmp_path / "model.npz").exists()


# --------------------------------------------------------------------------- item 12: CLI at 1e300


def _rows(X, y):
    return [[*(repr(float(v)) for v in x), repr(float(t))] for x, t in zip(X, y)]


@pytest.mark.parametrize("where", ["X", "y"])
def test_cli_fit_on_values_near_1e300_says_what_overflows(tmp_path, capfd, where):
    X, y, _ = planted_problem(n=40, d=3, m=10, seed=1)
    X, y = (X * 1e300, y) if where == "X" else (X, y * 1e300)
    path = _csv(tmp_path / "d.csv", ["a", "b", "c", "y"], _rows(X, y))
    assert cli_main(["fit", "--data", str(path), "--n-gates", "10", "--out", str(tmp_path)]) == 2
    err = capfd.readouterr().err
    assert "RuntimeWarning" not in err and "NaN" not in err
    # y: the regressor standardises its targets; one whose scale squared overflows is refused
    expected = (f"column 'a' has values up to {abs(X[:, 0]).max():.3g}: standardising it"
                if where == "X" else "Rescale y")
    assert expected in err


def test_cli_fit_on_values_near_1e100_equals_the_unit_fit(tmp_path, capsys):
    X, y, _ = planted_problem(n=40, d=3, m=10, seed=1)
    for name, scale in (("unit", 1.0), ("big", 1e100)):
        path = _csv(tmp_path / f"{name}.csv", ["a", "b", "c", "y"], _rows(X * scale, y))
        assert cli_main(["fit", "--data", str(path), "--n-gates", "10",
                         "--out", str(tmp_path / name)]) == 0
    unit, big = (load_model(tmp_path / k / "model.npz") for k in ("unit", "big"))
    np.testing.assert_allclose(big.predict(X * 1e100), unit.predict(X), rtol=1e-6, atol=1e-9)


# --------------------------------------------------------------------------- item 15: smaller ones


def test_a_nul_byte_in_a_csv_cell_is_named(tmp_path, capsys):
    path = tmp_path / "nul.csv"
    path.write_bytes(b"a,b,y\n1,2,3\n4,5\x009,6\n7,8,9\n")
    assert cli_main(["fit", "--data", str(path), "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert f"{path}, line 3: a NUL byte" in err


def test_subset_refuses_masks_and_indices_that_do_not_fit(data):
    _, _, p = data
    P = p.n_patterns
    with pytest.raises(ValueError, match=rf"boolean mask of shape \({P - 1},\).* \({P},\)"):
        p.subset(np.ones(P - 1, dtype=bool))
    with pytest.raises(ValueError, match=rf"entries from 0 to {P}, outside the {P} patterns"):
        p.subset([0, P])
    # a valid mask keeps exactly the chosen patterns, and gates of dropped ones map to -1
    keep = np.arange(P) % 2 == 0
    q = p.subset(keep)
    np.testing.assert_array_equal(q.masks, p.masks[:, keep])
    old_to_new = np.full(P, -1)
    old_to_new[keep] = np.arange(keep.sum())
    expected = np.where(p.gate_pattern >= 0, old_to_new[p.gate_pattern], -1)
    np.testing.assert_array_equal(q.gate_pattern, expected)


@pytest.mark.parametrize("args, message", [
    (((2.5, 2),), r"mesh shape must be a pair of positive integers .* got \(2.5, 2\)"),
    (("ab",), r"mesh shape must be a pair of positive integers .* got 'ab'"),
    (((1, 1), ["cpu"]), r"devices must be None, 'all' or a list of jax.Device .* got \['cpu'\]"),
    (((1, 1), "cpu"), r"devices must be None, 'all' or a list of jax.Device .* got 'cpu'"),
])
def test_make_mesh_names_a_bad_shape_or_device(args, message):
    with pytest.raises(ValueError, match=message):
        make_mesh(*args)


@pytest.mark.parametrize("Est", [GatedReLURegressorCV, MKLPathRegressorCV])
def test_cv_split_indices_beyond_n_are_named(Est):
    X, y, _ = planted_problem(n=30, d=3, m=10, seed=1)
    with pytest.raises(ValueError, match=r"split 0 has test index 34, outside the 30 samples"):
        Est(n_gates=5, cv=[(np.arange(20), np.arange(20, 35))]).fit(X, y)
    with pytest.raises(ValueError, match=r"training mask of split 0 has shape \(20,\)"):
        Est(n_gates=5, cv=[(np.arange(20) > 5, np.arange(20, 30))]).fit(X, y)


def test_ntk_kernel_of_extreme_inputs_is_the_scaled_unit_kernel_or_an_error():
    X = np.random.default_rng(0).standard_normal((6, 3))
    K = ntk_kernel(X)
    for scale in (1e150, 1e-150):  # K(cX) = c^2 K(X), representable
        np.testing.assert_allclose(ntk_kernel(X * scale) / scale**2, K, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(ntk_kernel(X * 1e150, X[:2] * 1e150) / 1e300, K[:2], rtol=1e-12)
    with pytest.raises(ValueError, match=r"X has entries up to .*e\+200: the NTK values"):
        ntk_kernel(X * 1e200)


# --------------------------------------------------------------------------- item 14: bench --out


def test_bench_on_one_core_fails_before_any_solve(tmp_path, monkeypatch, capsys):
    import os

    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0})
    argv = ["bench", "--quick", "--problems", "R0", "--peers", "cvxpy", "--cores", "both",
            "--out", str(tmp_path)]
    with pytest.warns(FutureWarning, match="moved"):  # the harness is in benchmarks/ now
        assert cli_main(argv) == 2
    err = capsys.readouterr().err
    assert "2 cores asked for, this process may run on [0] only" in err and "--cores 1" in err
    assert not (tmp_path / "problems").exists()


# --------------------------------------------------------------------------- item 14: new user


def test_estimators_warn_when_every_gate_gives_one_pattern():
    X, y, _ = planted_problem(n=40, d=3, m=10, seed=1)
    X_far = X + np.array([0.0, 1e5, 0.0])  # every sample on the same side of every gate
    # 20 sampled gates and the linear part's zero gate
    with pytest.warns(SinglePatternWarning, match=r"all 21 gates give the same activation "
                                                  r"pattern .*\(feature 1: mean 1e\+05"):
        model = GatedReLURegressor(n_gates=20, random_state=0).fit(X_far, y)
    assert model.patterns_.n_patterns == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error", SinglePatternWarning)
        GatedReLURegressor(n_gates=20, random_state=0).fit(X, y)


def test_one_pattern_message_is_shared_and_names_the_far_feature():
    """One function says why the gates collapse, for the estimators' warning (here the convex
    ReLU one, which has no linear part) and for the CLI (column names, its own remedy)."""
    X, y, _ = planted_problem(n=40, d=3, m=10, seed=1)
    X_far = X + np.array([0.0, 0.0, -3e6])
    with pytest.warns(SinglePatternWarning, match=r"all 20 gates give the same activation "
                                                  r"pattern .*\(feature 2: mean -3e\+06"):
        model = ConvexReLURegressor(n_gates=20, random_state=0).fit(X_far, y)
    text = single_pattern_message(model.patterns_, X_far, n_gates=20, names=["a", "b", "c"],
                                  remedy="drop --no-scale to standardise them.")
    assert "(column 'c': mean -3e+06" in text and text.endswith("drop --no-scale to "
                                                                  "standardise them.")
    # one gate repeated on centred data: one pattern, and the other remedy
    Xb = np.c_[X, np.ones(40)]
    same = activation_patterns(Xb, np.repeat(np.random.default_rng(0).standard_normal((4, 1)),
                                             3, axis=1))
    assert same.n_patterns == 1
    assert single_pattern_message(same, X).endswith("Sample more gates (n_gates) or add a bias "
                                                    "(fit_intercept=True).")
    # several patterns: no message
    spread = activation_patterns(np.c_[X, np.ones(40)], np.random.default_rng(0)
                                 .standard_normal((4, 20)))
    assert spread.n_patterns > 1 and single_pattern_message(spread, X) is None


@pytest.mark.parametrize("Est", [MKLClassifier])
def test_squared_loss_classifiers_say_why_they_have_no_probabilities(Est):
    X, y, _ = planted_problem(n=40, d=3, m=10, seed=1)
    model = Est(n_gates=10, random_state=0).fit(X, y > np.median(y))
    assert not hasattr(model, "predict_proba")
    with pytest.raises(AttributeError) as info:
        model.predict_proba(X)
    assert "squared loss on +1/-1 codes, whose scores are not probabilities" in str(
        info.value.__cause__)
    assert "GatedReLUClassifier(loss='logistic')" in str(info.value.__cause__)


@pytest.mark.parametrize("kernel", ["optimal", "uniform", "irls", "ntk"])
def test_mkl_to_network_predicts_what_the_estimator_predicts(kernel):
    X, y, _ = planted_problem(n=40, d=3, m=10, seed=1)
    Xt = np.random.default_rng(2).standard_normal((15, 3))
    reg = MKLRegressor(kernel=kernel, n_gates=15, alpha=1e-2, random_state=0, tol=1e-10).fit(X, y)
    net = reg.to_network()
    np.testing.assert_allclose(net.predict(Xt), reg.predict(Xt), rtol=1e-10, atol=1e-12)
    cls = MKLClassifier(kernel=kernel, n_gates=15, alpha=1e-2, random_state=0).fit(X, y > 0)
    np.testing.assert_allclose(cls.to_network().predict(Xt), cls.decision_function(Xt),
                               rtol=1e-10, atol=1e-12)
    if kernel == "optimal":
        # the globally optimal gated ReLU network: its loss plus weight decay is the group-lasso
        # optimum of the same gates, certified by solve_group_lasso
        loss = 0.5 * np.mean((net.predict(X) - y) ** 2)
        assert loss + net.weight_decay(1e-2) == pytest.approx(reg.objective_, rel=1e-9)
        Xb = np.c_[X, np.ones(len(X))]
        ref = solve_group_lasso(Xb, y, activation_patterns(Xb, reg.gates_), 1e-2, tol=1e-10)
        assert reg.objective_ == pytest.approx(ref.objective, rel=1e-8)


@pytest.mark.parametrize("kernel", ["infinite_ntk"])
def test_mkl_to_network_says_which_kernels_have_no_network(kernel):
    X, y, _ = planted_problem(n=40, d=3, m=10, seed=1)
    model = MKLRegressor(kernel=kernel, n_gates=10, random_state=0).fit(X, y)
    with pytest.raises(ValueError, match=rf"kernel='{kernel}' has no equivalent finite network"):
        model.to_network()


def test_cv_scoring_agrees_with_the_default_scores_and_with_a_callable():
    X, y, _ = planted_problem(n=60, d=3, m=10, seed=3)
    kw = dict(n_gates=10, random_state=0, cv=3, n_alphas=5)
    default = GatedReLURegressorCV(**kw).fit(X, y)
    neg_mse = GatedReLURegressorCV(**kw, scoring="neg_mean_squared_error").fit(X, y)
    np.testing.assert_allclose(neg_mse.score_path_, -default.mse_path_, rtol=1e-12)
    assert neg_mse.alpha_ == default.alpha_
    mae = GatedReLURegressorCV(**kw, scoring="neg_mean_absolute_error").fit(X, y)
    by_hand = GatedReLURegressorCV(
        **kw, scoring=lambda est, Xt, yt: -np.mean(np.abs(est.predict(Xt) - yt))).fit(X, y)
    np.testing.assert_allclose(by_hand.score_path_, mae.score_path_, rtol=1e-12)
    labels = y > np.median(y)
    acc = GatedReLUClassifierCV(**kw).fit(X, labels)
    acc2 = GatedReLUClassifierCV(**kw, scoring="accuracy").fit(X, labels)
    np.testing.assert_array_equal(acc2.score_path_, acc.score_path_)
    path_kw = dict(n_gates=10, n_alphas=2, iterates=(0, 2), cv=3, random_state=0)
    r2 = MKLPathRegressorCV(**path_kw).fit(X, y)
    r2b = MKLPathRegressorCV(**path_kw, scoring="r2").fit(X, y)
    np.testing.assert_allclose(r2b.path_scores_, r2.path_scores_, rtol=1e-10)


def test_cv_scoring_changes_the_choice_where_it_should():
    """A scorer that rewards fewer neurons picks the largest alpha of the grid (the zero
    network), where the default validation error picks a smaller one on data with a signal;
    each choice is the best mean score of its own path."""
    X, y, _ = planted_problem(n=60, d=3, m=10, seed=3)
    kw = dict(n_gates=10, random_state=0, cv=3, n_alphas=5)

    def fewer_neurons(est, Xt, yt):
        return -float(np.count_nonzero(np.linalg.norm(est.coef_, axis=1)))

    default = GatedReLURegressorCV(**kw).fit(X, y)
    sparse = GatedReLURegressorCV(**kw, scoring=fewer_neurons).fit(X, y)
    assert default.alpha_ == default.alphas_[np.argmin(default.mse_path_.mean(axis=1))]
    assert sparse.alpha_ == sparse.alphas_[np.argmax(sparse.score_path_.mean(axis=1))]
    assert sparse.alpha_ == sparse.alphas_[0] > default.alpha_
    assert sparse.n_active_neurons_ <= default.n_active_neurons_


@pytest.mark.parametrize("scoring, message", [("nonsense", "Invalid scoring='nonsense'"),
                                              (["r2", "max_error"], "alpha is chosen by one")])
def test_cv_scoring_names_a_bad_value(scoring, message):
    X, y, _ = planted_problem(n=30, d=3, m=10, seed=3)
    for Est in (GatedReLURegressorCV, MKLPathRegressorCV):
        with pytest.raises(ValueError, match=message):
            Est(n_gates=5, cv=2, scoring=scoring).fit(X, y)
