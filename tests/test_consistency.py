"""The consistency experiment: planted problem, measured errors, resumable CSV and the CLI."""

import csv

import numpy as np
import pytest
import scipy.optimize

from gatedrelu.experiments import consistency as cons
from gatedrelu.group_lasso import solve_group_lasso

SMALL = cons.Config(d=3, s=3, sigma=0.3, n_gates=25, n_test=150)


def _csv_rows(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def test_teacher_patterns_are_sampled_and_y_is_planted_output_plus_noise():
    n, seed, cfg = 80, 3, SMALL
    case = cons.make_case(n, seed, cfg)
    p = case.patterns
    # the teacher's gates are sampled gates, and their patterns are dictionary patterns
    for j, g in enumerate(case.teacher_gates):
        assert np.array_equal(case.teacher.gates[:, j], p.sampled_gates[:, g])
        i = p.gate_pattern[g]
        assert i >= 0
        assert np.array_equal(p.masks[:, i], case.X @ p.sampled_gates[:, g] >= 0)
        assert case.support[i]
    assert case.support.sum() == cfg.s
    np.testing.assert_allclose(np.linalg.norm(case.coef_true[case.support], axis=1), 1.0)
    # independent recomputation: the data stream of (seed, n), the teacher neuron by neuron
    rng = np.random.default_rng([seed, 1, n])
    X0 = rng.standard_normal((n, cfg.d))
    noise = rng.standard_normal(n)
    Xb = np.hstack([X0, np.ones((n, 1))])
    np.testing.assert_array_equal(case.X, Xb)
    f = sum(
        (Xb @ case.teacher.gates[:, j] >= 0) * (Xb @ case.teacher.W[:, j]) * case.teacher.v[j]
        for j in range(cfg.s)
    )
    # A(U_true) through the dictionary's masks, group by group
    A_true = sum(p.masks[:, i] * (Xb @ case.coef_true[i]) for i in range(p.n_patterns))
    np.testing.assert_allclose(A_true, f, atol=1e-12)
    np.testing.assert_allclose(case.f_true, f, atol=1e-12)
    np.testing.assert_allclose(case.y, f + cfg.sigma * noise, atol=1e-12)
    P = p.n_patterns
    assert case.alpha == pytest.approx(
        cfg.alpha_constant * cfg.sigma * np.sqrt((cfg.d + 1 + np.log(P)) / n)
    )


def _ntk_reference(case, alpha=None):
    """NTK kernel ridge built gate by gate, with the scale found by a generic 1-D minimiser
    (at ``alpha``, default the group lasso's)."""
    p, X, Xt, y = case.patterns, case.X, case.X_test, case.y
    alpha = case.alpha if alpha is None else alpha
    n, m = X.shape[0], p.n_gates
    G = p.sampled_gates
    theta = sum(np.outer(X @ G[:, j] >= 0, X @ G[:, j] >= 0) for j in range(m)) * (X @ X.T) / m
    cross = sum(np.outer(Xt @ G[:, j] >= 0, X @ G[:, j] >= 0) for j in range(m)) * (Xt @ X.T) / m
    mass = np.mean(p.gate_pattern >= 0)  # sum of the NTK weights c_i / m
    K_mu = theta / mass  # kernel of the shape mu, sum(mu) = 1

    def J(log_t):
        t = np.exp(log_t)
        return 0.5 * alpha * (y @ np.linalg.solve(t * K_mu + n * alpha * np.eye(n), y) + t)

    log_t = scipy.optimize.minimize_scalar(
        J, bounds=(-20, 20), method="bounded", options={"xatol": 1e-10}
    ).x
    t = np.exp(log_t)
    a = np.linalg.solve(t * K_mu + n * alpha * np.eye(n), y)
    return t * K_mu @ a, t * cross / mass @ a, J(log_t)


def test_measured_errors_match_independent_recomputation():
    n, seed = 70, 1
    rows = {r["method"]: r for r in cons.run_case(n, seed, SMALL)}
    case = cons.make_case(n, seed, SMALL)
    # group lasso: the CVXPY reference, predictions from the explicit expanded design
    ref = solve_group_lasso(case.X, case.y, case.patterns, case.alpha, solver="cvxpy").coef
    design = np.hstack(
        [case.patterns.masks[:, [i]] * case.X for i in range(case.patterns.n_patterns)]
    )
    fitted = design @ ref.ravel()
    Mt = case.X_test @ case.patterns.gates >= 0
    test = np.hstack([Mt[:, [i]] * case.X_test for i in range(Mt.shape[1])]) @ ref.ravel()
    gl = rows["group_lasso"]
    assert gl["prediction_error"] == pytest.approx(np.mean((fitted - case.f_true) ** 2), rel=1e-4)
    assert gl["out_of_sample_error"] == pytest.approx(np.mean((test - case.f_test) ** 2), rel=1e-4)
    norms = np.linalg.norm(ref, axis=1)
    selected = norms > SMALL.threshold
    assert gl["n_selected"] == selected.sum()
    assert gl["support_recall"] == pytest.approx(
        (selected & case.support).sum() / case.support.sum()
    )
    # NTK: gate-by-gate kernels and a generic minimiser of J(t mu), at its own alpha; its
    # objective is J on the group lasso's problem (at the group lasso's alpha)
    ntk = rows["ntk"]
    assert ntk["alpha"] != gl["alpha"]
    fitted, test, _ = _ntk_reference(case, ntk["alpha"])
    J = _ntk_reference(case)[2]
    assert ntk["prediction_error"] == pytest.approx(np.mean((fitted - case.f_true) ** 2), rel=1e-5)
    assert ntk["out_of_sample_error"] == pytest.approx(np.mean((test - case.f_test) ** 2), rel=1e-5)
    assert ntk["objective"] == pytest.approx(J, rel=1e-8)
    assert ntk["objective"] >= gl["objective"] * (1 - 1e-6)  # J(t mu_NTK) >= F*
    assert np.isnan(ntk["support_precision"])


def test_ntk_alpha_is_the_leave_one_out_minimiser():
    """The NTK tunes its own alpha: the grid value with the smallest leave-one-out error,
    recomputed here by refitting the kernel ridge n times per candidate (scale t fixed by the
    full fit, as the closed form assumes)."""
    case = cons.make_case(40, 2, cons.Config(d=2, s=2, n_gates=15, n_test=50))
    from gatedrelu.kernels import masking_kernel
    from gatedrelu.mkl import kernel_shape, optimal_scale

    K = masking_kernel(case.X, case.patterns, kernel_shape(case.patterns, "ntk"))
    n, y = len(case.y), case.y
    lam, V = np.linalg.eigh(K)
    chosen, t_chosen = cons.tune_ntk_alpha(lam, V, y, case.alpha)
    errors = {}
    for f in cons.NTK_ALPHA_FACTORS:
        alpha = case.alpha * f
        t = optimal_scale(K, y, alpha)
        err = []
        for i in range(n):
            keep = np.arange(n) != i
            a = np.linalg.solve(t * K[np.ix_(keep, keep)] + n * alpha * np.eye(n - 1), y[keep])
            err.append((y[i] - t * K[i, keep] @ a) ** 2)
        errors[alpha] = np.mean(err)
    best = min(errors, key=errors.get)
    assert best not in (min(errors), max(errors))  # inside the grid: no widening needed
    assert chosen == pytest.approx(best)
    assert t_chosen == pytest.approx(optimal_scale(K, y, chosen), rel=1e-8)


def test_noiseless_tiny_alpha_fits_the_teacher():
    case = cons.make_case(
        100, 0, cons.Config(d=3, s=3, sigma=0.0, n_gates=25, n_test=100), alpha=1e-6
    )
    coef, fitted, _, _ = cons.fit_group_lasso(case, tol=1e-8)
    assert np.mean((fitted - case.f_true) ** 2) < 1e-8
    assert np.mean(case.f_true**2) > 0.1  # the teacher is not trivially zero
    with pytest.raises(ValueError, match="alpha"):
        cons.make_case(100, 0, cons.Config(sigma=0.0))


def test_fit_slope_on_an_exact_power_law():
    n = np.array([100, 200, 400, 800])
    slope, se = cons.fit_slope(np.repeat(n, 2), np.repeat(3.0 / n, 2))
    assert slope == pytest.approx(-1.0)
    assert se == pytest.approx(0.0, abs=1e-12)


N_VALUES, SEEDS = (100, 200, 400), (0, 1)
GRID = cons.Config(d=3, s=3, sigma=0.5, n_gates=20, n_test=200)


@pytest.fixture(scope="module")
def grid_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("consistency")
    summary = cons.run(N_VALUES, SEEDS, GRID, out_dir=str(out), progress=False)
    return out, summary


@pytest.mark.slow
def test_group_lasso_error_decreases_with_n(grid_run):
    _, summary = grid_run
    gl = summary["methods"]["group_lasso"]["prediction_error"]
    slope, _ = gl["slope"]
    assert slope < 0
    assert gl["mean"][-1] < gl["mean"][0]


@pytest.mark.slow
def test_csv_has_required_columns_and_one_row_per_task_and_method(grid_run):
    out, _ = grid_run
    rows = _csv_rows(out / cons.CSV_NAME)
    required = {
        "n",
        "method",
        "prediction_error",
        "seed",
        "alpha",
        "out_of_sample_error",
        "support_precision",
        "support_recall",
        "exact_support",
        "P",
        "s",
        "d",
        "sigma",
    }
    assert required <= set(rows[0])
    keys = sorted((int(r["n"]), r["method"], int(r["seed"])) for r in rows)
    assert keys == sorted((n, m, s) for n in N_VALUES for m in cons.METHODS for s in SEEDS)
    assert all(float(r["prediction_error"]) >= 0 for r in rows)
    assert (out / cons.PNG_NAME).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "slope" in (out / cons.MD_NAME).read_text()


@pytest.mark.slow
def test_resumed_run_adds_no_duplicate_rows(grid_run, monkeypatch):
    out, _ = grid_run
    before = _csv_rows(out / cons.CSV_NAME)
    calls = []
    real = cons.run_case
    monkeypatch.setattr(cons, "run_case", lambda *a, **k: calls.append(a) or real(*a, **k))
    cons.run(N_VALUES, SEEDS, GRID, out_dir=str(out), progress=False)
    assert calls == []
    assert _csv_rows(out / cons.CSV_NAME) == before
    # a larger grid runs only the new tasks
    cons.run(N_VALUES, (0, 1, 2), GRID, out_dir=str(out), progress=False)
    assert sorted(a[:2] for a in calls) == [(n, 2) for n in N_VALUES]
    after = _csv_rows(out / cons.CSV_NAME)
    assert len(after) == len(before) + len(N_VALUES) * len(cons.METHODS)
    assert after[: len(before)] == before


@pytest.mark.slow
def test_cli_quick_writes_csv_and_png(tmp_path):
    from gatedrelu.cli import main

    argv = [
        "consistency",
        "--quick",
        "--n-values",
        "40",
        "80",
        "--seeds",
        "1",
        "--n-gates",
        "15",
        "--n-features",
        "3",
        "--n-teacher",
        "2",
        "--n-test",
        "50",
        "--no-progress",
        "--out",
        str(tmp_path),
    ]
    assert main(argv) == 0
    rows = _csv_rows(tmp_path / cons.CSV_NAME)
    assert len(rows) == 2 * len(cons.METHODS)
    assert (tmp_path / cons.PNG_NAME).stat().st_size > 0
    assert (tmp_path / cons.MD_NAME).exists()
    assert main(["consistency", "--sigma", "-1", "--out", str(tmp_path)]) == 2


def test_fit_slope_matches_an_independent_least_squares_fit():
    rng = np.random.default_rng(0)
    n = np.repeat([100, 200, 400, 800, 1600], 3)
    err = 5.0 * n**-0.8 * np.exp(0.2 * rng.standard_normal(n.size))
    slope, se = cons.fit_slope(n, err)
    x, y = np.log(n), np.log(err)
    (b, a), cov = np.polyfit(x, y, 1, cov="unscaled")
    resid = y - (a + b * x)
    assert slope == pytest.approx(b, rel=1e-12)
    assert se == pytest.approx(np.sqrt(cov[0, 0] * resid @ resid / (n.size - 2)), rel=1e-10)
    # two points: a slope but no standard error; one n: neither; NaN errors are dropped
    assert np.isnan(cons.fit_slope([100, 200], [1.0, 0.5])[1])
    assert cons.fit_slope([100, 200], [1.0, 0.5])[0] == pytest.approx(-1.0)
    assert np.isnan(cons.fit_slope([100, 100], [1.0, 0.5])[0])
    assert cons.fit_slope([100, 200, 400], [1.0, 0.5, np.nan])[0] == pytest.approx(-1.0)


@pytest.mark.slow
def test_cli_reuses_then_fresh_recomputes(tmp_path, capsys):
    from gatedrelu.cli import main

    argv = ["consistency", "--n-values", "40", "--seeds", "1", "--n-gates", "10",
            "--n-features", "2", "--n-teacher", "2", "--n-test", "20", "--no-progress",
            "--out", str(tmp_path)]
    assert main(argv) == 0
    assert "0 of 1 task(s) reused, 1 computed" in capsys.readouterr().out
    assert main(argv) == 0
    assert "1 of 1 task(s) reused, 0 computed" in capsys.readouterr().out
    assert main([*argv, "--fresh"]) == 0
    assert "0 of 1 task(s) reused, 1 computed (1 recomputed)" in capsys.readouterr().out
    rows = _csv_rows(tmp_path / cons.CSV_NAME)
    assert len(rows) == len(cons.METHODS)  # replaced, not duplicated
