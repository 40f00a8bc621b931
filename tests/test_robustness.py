"""No silent failure: extreme scales, bad parameters, and the invariants every solve keeps.

Each case ends in a correct result (checked against the unscaled problem) or a clear error that
names what is wrong. The hypothesis test checks, on random problems and solver settings:

* the duality gap is at least ``-1e-12 F`` (weak duality, up to rounding);
* ``converged`` implies a finite objective and gap ``<= tol * F``;
* a ConvergenceWarning that says "max_iter" implies that the iteration limit was reached;
* the objective is at most ``F(0)`` (no solver returns worse than its start);
* at ``alpha >= alpha_max`` the solution is exactly zero.
"""

import re
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.exceptions import ConvergenceWarning

from gatedrelu import (
    GatedReLURegressor,
    MKLRegressor,
    activation_patterns,
    alpha_max,
    finite_ntk_kernel,
    masking_kernel,
    objective,
    sample_gates,
    solve_group_lasso,
)
from gatedrelu.solvers import SOLVERS
from tests.helpers import GL_SOLVERS, planted_problem


@pytest.fixture(scope="module")
def data():
    X, y, p = planted_problem(n=50, d=3, m=20, intercept=True, seed=4)
    return X, y, p


@pytest.mark.parametrize("solver", [s for s in GL_SOLVERS if s != "cvxpy"])
@pytest.mark.parametrize("scale", [1e100, 1e-100, 1e250], ids=["1e100", "1e-100", "1e250"])
def test_extreme_scales_give_the_unscaled_solution(data, solver, scale):
    X, y, p = data
    alpha = 0.05 * alpha_max(X, y, p)
    ref = solve_group_lasso(X, y, p, alpha, solver=solver, tol=1e-9)
    y_scale = scale if scale < 1e200 else 1.0  # y * 1e250 would overflow its squared loss
    res = solve_group_lasso(X * scale, y * y_scale, p, alpha * scale * y_scale, solver=solver,
                            tol=1e-9)
    assert res.converged and ref.converged
    assert res.objective / y_scale**2 == pytest.approx(ref.objective, rel=1e-7)
    np.testing.assert_allclose(res.coef * scale / y_scale, ref.coef, atol=1e-5 * np.abs(ref.coef).max())


def test_targets_whose_square_overflows_are_refused(data):
    X, y, p = data
    with pytest.raises(ValueError, match="exceeds the range of float64"):
        solve_group_lasso(X, y * 1e300, p, 1.0)
    with pytest.raises(ValueError, match="Rescale y"):
        GatedReLURegressor().fit(X[:, :-1], y * 1e300)


def test_estimator_on_data_scaled_by_1e100_matches_the_unscaled_fit(data):
    X, y, _ = data
    a = GatedReLURegressor(alpha=1e-2, random_state=0).fit(X[:, :-1], y)
    # the bias column is 1, so scaling the inputs alone changes the problem; scale X, y, alpha
    # consistently with a scaled bias: compare the group-lasso objective instead. alpha is in
    # units of the targets' scale, so only the inputs' factor 1e100 enters it
    b = GatedReLURegressor(alpha=1e-2 * 1e100, random_state=0, fit_intercept=False)
    b.fit(X * 1e100, y * 1e100)
    c = GatedReLURegressor(alpha=1e-2, random_state=0, fit_intercept=False).fit(X, y)
    assert a.dual_gap_ <= 1e-6 * a.objective_
    assert b.objective_ / 1e200 == pytest.approx(c.objective_, rel=1e-6)
    np.testing.assert_allclose(b.predict(X[:5] * 1e100) / 1e100, c.predict(X[:5]), rtol=1e-5)


def test_warning_names_an_alpha_far_below_alpha_max(data):
    X, y, p = data
    with pytest.warns(ConvergenceWarning, match=r"x alpha_max, so the problem is nearly unregularised"):
        solve_group_lasso(X, y, p, 1e-12 * alpha_max(X, y, p), solver="fista", max_iter=5)


def test_far_too_small_lipschitz_is_recovered_by_backtracking(data):
    X, y, p = data
    alpha = 0.05 * alpha_max(X, y, p)
    ref = solve_group_lasso(X, y, p, alpha, solver="fista", tol=1e-8)
    res = solve_group_lasso(X, y, p, alpha, solver="fista", tol=1e-8, lipschitz=1e-300)
    assert res.converged and np.isfinite(res.objective)
    assert res.objective == pytest.approx(ref.objective, rel=1e-7)


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"gates": np.ones((4, 5)) * (1 + 1j)}, ValueError, "gates must be real"),
        ({"gates": np.full((4, 5), "a")}, ValueError, "gates must be numeric"),
        ({"random_state": -1}, ValueError, "random_state must be a non-negative integer"),
        ({"max_iter": 2**40}, ValueError, "max_iter must be <= 2147483647"),
        ({"n_gates": 2**40}, ValueError, "n_gates must be <= 2147483647"),
    ],
    ids=["complex gates", "string gates", "negative seed", "huge max_iter", "huge n_gates"],
)
def test_bad_parameters_name_themselves(data, kwargs, error, message):
    X, y, _ = data
    with pytest.raises(error, match=message):
        GatedReLURegressor(**kwargs).fit(X[:, :-1], y)


def test_sample_gates_refuses_integer_dtypes():
    with pytest.raises(ValueError, match="floating dtype"):
        sample_gates(3, 10, dtype=int)
    assert sample_gates(3, 10, dtype=np.float32, random_state=0).dtype == np.float32


def test_kernels_accept_raw_masks_and_say_what_they_need(data):
    X, _, p = data
    w = np.random.default_rng(0).uniform(size=p.n_patterns)
    np.testing.assert_allclose(masking_kernel(X, p.masks, w), masking_kernel(X, p, w))
    with pytest.raises(ValueError, match="needs the gates"):
        masking_kernel(X, p.masks, w, X2=X[:3])
    with pytest.raises(TypeError, match="boolean mask array"):
        masking_kernel(X, p.masks.astype(float), w)
    with pytest.raises(TypeError, match="needs an ActivationPatterns"):
        finite_ntk_kernel(X, p.masks)


@pytest.mark.parametrize("scale", [1e150, 1e-200])
def test_mkl_estimators_refuse_extreme_scales_clearly(data, scale):
    X, y, _ = data
    with pytest.raises(ValueError, match="root-mean-square"):
        MKLRegressor().fit(X[:, :-1] * scale, y)


# --------------------------------------------------------------------------- invariants


@pytest.mark.slow
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 10_000),
    log_scale=st.floats(-30, 30),
    frac=st.sampled_from([1.0, 1.5, 0.3, 0.01]),
    solver=st.sampled_from([s for s in GL_SOLVERS if s != "cvxpy"]),
    max_iter=st.sampled_from([1, 3, 50, None]),
)
def test_solver_invariants(seed, log_scale, frac, solver, max_iter):
    rng = np.random.default_rng(seed)
    n, d = int(rng.integers(5, 40)), int(rng.integers(1, 5))
    X = rng.standard_normal((n, d)) * 10.0 ** (log_scale * rng.uniform())
    y = rng.standard_normal(n) * 10.0 ** log_scale
    p = activation_patterns(X, sample_gates(d, 8, random_state=seed))
    amax = alpha_max(X, y, p)
    if amax == 0:
        return
    tol = 1e-6
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = solve_group_lasso(X, y, p, frac * amax, solver=solver, tol=tol, max_iter=max_iter)
    F0 = objective(X, y, p, np.zeros_like(res.coef), frac * amax)
    assert res.dual_gap >= -1e-12 * abs(res.objective)
    if res.converged:
        assert np.isfinite(res.objective) and res.dual_gap <= tol * res.objective
    for w in caught:
        if issubclass(w.category, ConvergenceWarning) and "reached max_iter" in str(w.message):
            limit = int(re.search(r"max_iter=(\d+)", str(w.message)).group(1))
            assert res.n_iter >= limit
    assert res.objective <= F0 * (1 + 1e-12)
    if frac >= 1:
        assert not np.any(res.coef)
        assert res.converged


# --------------------------------------------------------------------------- progress


@pytest.mark.parametrize("Estimator, pattern", [
    (MKLRegressor, r"\[irls\] iter +\d+ +F (\S+) +rel gap (\S+)"),
    (GatedReLURegressor, r"rel gap (\S+)"),
])
def test_verbose_reports_the_gap_as_it_falls(data, capsys, Estimator, pattern):
    X, y, _ = data
    model = Estimator(alpha=1e-3, verbose=1, random_state=0).fit(X[:, :-1], y)
    lines = [ln for ln in capsys.readouterr().out.splitlines() if re.search(pattern, ln)]
    assert lines, "verbose=1 printed no progress line"
    gaps = [float(re.search(pattern, ln).groups()[-1]) for ln in lines]
    # the last line is the certified result of the fit
    assert gaps[-1] == pytest.approx(model.dual_gap_ / model.objective_, rel=0.02)
    assert gaps[-1] <= 1e-6 < gaps[0] or len(gaps) == 1


def test_mkl_functions_say_they_need_activation_patterns(data):
    from gatedrelu.mkl import irls, kernel_shape, mkl_objective

    X, y, p = data
    for call in (lambda: kernel_shape(p.masks), lambda: irls(X, y, p.masks, 0.1),
                 lambda: mkl_objective(X, y, p.masks, np.ones(p.n_patterns), 0.1)):
        with pytest.raises(TypeError, match="ActivationPatterns"):
            call()
