"""Generic solver tests: every registered solver (``auto`` included) against independent
references. A solver added to :mod:`gatedrelu.solvers` is picked up here automatically.

* the CVXPY/Clarabel optimum (objective to <= 1e-6 relative) on single-output, multi-output,
  intercept and ill-conditioned problems, from 0.5 down to 0.001 x alpha_max;
* the duality gap each solver reports equals an explicit-design gap computed here, and bounds the
  suboptimality;
* gap-safe screening never discards a group that is active at the CVXPY optimum (hypothesis);
* the default estimator fits scikit-learn's diabetes data, raw and standardised, at every alpha
  of the issue's grid without a ConvergenceWarning.
"""

import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.datasets import load_diabetes
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import StandardScaler

from gatedrelu import GatedReLURegressor, activation_patterns, alpha_max, sample_gates, solve_group_lasso
from gatedrelu.problem import Problem, certify_numpy
from gatedrelu.solvers import REGISTRY, SOLVERS
from gatedrelu.solvers.working_set import gap_safe_screen, group_operator_bounds
from tests.conftest import explicit_objective_and_gap, planted_problem

ITERATIVE = [s for s in SOLVERS if s != "cvxpy"]
FRACTIONS = [0.5, 0.1, 0.01, 0.001]


def ill_conditioned(n=100, d=5, m=30, seed=7):
    """Features on scales 1e-2 .. 1e2 with two nearly collinear columns, plus a bias column."""
    rng = np.random.default_rng(seed)
    Z = rng.standard_normal((n, d))
    Z[:, 1] = Z[:, 0] + 1e-3 * Z[:, 1]
    X = Z * np.logspace(-2, 2, d)
    X = np.hstack([X, np.ones((n, 1))])
    y = np.maximum(Z @ rng.standard_normal(d), 0) + 0.1 * rng.standard_normal(n)
    p = activation_patterns(X, sample_gates(X.shape[1], m, random_state=seed))
    return X, y, p


CASES = {
    "single": lambda: planted_problem(n=100, d=5, m=30, seed=0),
    "multi": lambda: planted_problem(n=90, d=4, m=25, c=3, seed=1),
    "intercept": lambda: planted_problem(n=110, d=4, m=30, intercept=True, seed=2),
    "ill_conditioned": ill_conditioned,
}


@pytest.fixture(scope="module", params=list(CASES))
def case(request):
    X, y, p = CASES[request.param]()
    refs = {}
    for frac in FRACTIONS:
        alpha = frac * alpha_max(X, y, p)
        refs[frac] = (alpha, solve_group_lasso(X, y, p, alpha, solver="cvxpy"))
    return request.param, X, y, p, refs


def test_registry_lists_every_solver():
    assert SOLVERS[0] == "auto"
    assert set(SOLVERS) == set(REGISTRY)
    assert {"auto", "cvxpy", "fista", "newton", "working_set"} <= set(SOLVERS)


@pytest.mark.parametrize("solver", ITERATIVE)
def test_reaches_cvxpy_optimum(case, solver):
    name, X, y, p, refs = case
    for frac in FRACTIONS:
        alpha, ref = refs[frac]
        assert ref.converged
        if REGISTRY[solver].supports(Problem(X, p.masks, y, alpha)) is not None:
            continue
        res = solve_group_lasso(X, y, p, alpha, solver=solver, tol=1e-8, max_iter=200_000)
        assert res.converged, (name, frac, res.status)
        # the objective each reports is the explicit-design objective at its coefficients
        F, gap = explicit_objective_and_gap(X, y, p.masks, res.coef, alpha)
        assert res.objective == pytest.approx(F, rel=1e-10)
        assert res.dual_gap == pytest.approx(gap, rel=1e-6, abs=1e-12 * F)
        # the certified gap bounds the suboptimality against the CVXPY optimum
        assert res.objective - ref.objective <= res.dual_gap + 1e-9 * ref.objective
        assert abs(res.objective - ref.objective) <= 1e-6 * ref.objective, (name, frac)


@pytest.mark.parametrize("solver", SOLVERS)
def test_reported_gap_is_independent_gap(solver):
    X, y, p = planted_problem(n=80, d=4, m=20, seed=11)
    alpha = 0.05 * alpha_max(X, y, p)
    F_star = solve_group_lasso(X, y, p, alpha, solver="cvxpy").objective
    for tol in ((1e-2, 1e-5) if solver != "cvxpy" else (1e-6,)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            res = solve_group_lasso(X, y, p, alpha, solver=solver, tol=tol)
        F, gap = explicit_objective_and_gap(X, y, p.masks, res.coef, alpha)
        assert res.dual_gap == pytest.approx(gap, rel=1e-6, abs=1e-13)
        assert res.objective - F_star <= res.dual_gap + 1e-10 * F_star
        assert res.converged == (res.dual_gap <= tol * res.objective)


@pytest.mark.parametrize("solver", ITERATIVE)
def test_float32_stays_float32(solver):
    X, y, p = planted_problem(n=100, d=4, m=20, seed=12)
    alpha = 0.05 * alpha_max(X, y, p)
    r64 = solve_group_lasso(X, y, p, alpha, solver=solver, tol=1e-9)
    r32 = solve_group_lasso(X.astype(np.float32), y.astype(np.float32), p, alpha, solver=solver, tol=1e-5)
    assert r32.coef.dtype == np.float32 and r32.converged
    assert r32.objective == pytest.approx(r64.objective, rel=2e-5)


@pytest.mark.parametrize("solver", ITERATIVE)
def test_warm_start_at_the_optimum_is_immediate(solver):
    X, y, p = planted_problem(n=90, d=4, m=25, seed=13)
    alpha = 0.02 * alpha_max(X, y, p)
    res = solve_group_lasso(X, y, p, alpha, solver=solver, tol=1e-9)
    again = solve_group_lasso(X, y, p, alpha, solver=solver, tol=1e-8, init=res)
    assert again.converged and again.n_iter <= 1


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 10_000),
    n=st.integers(20, 60),
    d=st.integers(2, 5),
    m=st.integers(3, 20),
    frac=st.sampled_from([0.9, 0.5, 0.2, 0.05]),
    shrink=st.floats(0.0, 1.0),
)
def test_screening_never_discards_an_active_group(seed, n, d, m, frac, shrink):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)) * rng.uniform(0.1, 10, d)
    y = np.maximum(X @ rng.standard_normal(d), 0) + 0.3 * rng.standard_normal(n)
    p = activation_patterns(X, sample_gates(d, m, random_state=seed))
    alpha = frac * alpha_max(X, y, p)
    ref = solve_group_lasso(X, y, p, alpha, solver="cvxpy")
    # active at the optimum: a norm well above the interior-point solution's noise (a group on
    # the boundary of its dual constraint may carry ~1e-6 in Clarabel's answer and 0 exactly)
    norms = np.linalg.norm(ref.coef, axis=1)
    active = norms > 1e-4 * norms.max()
    problem = Problem(X, p.masks, y, alpha)
    bounds = group_operator_bounds(X, p.masks)
    # exact spectral norms are below the bounds used by the rule
    exact = np.array([np.linalg.norm(p.masks[:, [i]] * X, 2) for i in range(p.n_patterns)])
    assert np.all(exact <= bounds * (1 + 1e-9))
    # points at every distance from the optimum: shrunk optimum plus noise, and zero
    for U in (shrink * ref.coef + (1 - shrink) * rng.standard_normal(ref.coef.shape) * 0.1,
              np.zeros_like(ref.coef), ref.coef):
        cert = certify_numpy(problem, U)
        screened = gap_safe_screen(cert.dual_norms, cert.dual_gap, bounds, alpha, float(n))
        assert not np.any(screened & active)


def test_working_set_screens_and_reports():
    X, y, p = planted_problem(n=300, d=5, m=200, seed=14)
    alpha = 0.2 * alpha_max(X, y, p)
    res = solve_group_lasso(X, y, p, alpha, solver="working_set", tol=1e-9)
    ref = solve_group_lasso(X, y, p, alpha, solver="cvxpy")
    assert res.converged and abs(res.objective - ref.objective) <= 1e-7 * ref.objective
    assert res.info["n_screened"] > 0  # most of the 200 groups are provably zero here


def test_auto_switches_when_the_first_solver_fails():
    X, y, p = ill_conditioned(n=120, seed=3)
    alpha = 1e-3 * alpha_max(X, y, p)
    res = solve_group_lasso(X, y, p, alpha, solver="auto", tol=1e-8)
    assert res.converged and res.status.startswith("newton")


@pytest.mark.parametrize("scaled", [False, True], ids=["raw", "standardised"])
@pytest.mark.parametrize("alpha", [1e-4, 1e-3, 1e-2, 1e-1, 1.0])
def test_default_estimator_fits_diabetes_without_warning(scaled, alpha):
    X, y = load_diabetes(return_X_y=True)
    if scaled:
        X = StandardScaler().fit_transform(X)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        model = GatedReLURegressor(alpha=alpha, random_state=0).fit(X, y)
    assert model.dual_gap_ <= 1e-6 * model.objective_
    # the certificate is honest: recompute it independently
    Xb = np.hstack([X, np.ones((len(X), 1))])
    F, gap = explicit_objective_and_gap(Xb, y, model.patterns_.masks, model.coef_, alpha)
    assert model.objective_ == pytest.approx(F, rel=1e-10)
    assert gap <= 1.01e-6 * F


def test_metric_prox_satisfies_its_optimality_conditions():
    """prox of thresh * ||T v|| (the preconditioned penalty) against its closed-form KKT."""
    import jax
    import jax.numpy as jnp

    from gatedrelu.problem import GroupL2

    rng = np.random.default_rng(3)
    d = 5
    A = rng.standard_normal((d, d)) * np.logspace(-2, 2, d)
    lam, Q = np.linalg.eigh(A @ A.T + 1e-3 * np.eye(d))
    sig = 1 / np.sqrt(lam)
    T = Q @ np.diag(sig) @ Q.T
    Z = rng.standard_normal((40, d)) * rng.uniform(0.01, 100, (40, 1))
    for thresh in (1e-3, 0.3, 10.0):
        with jax.enable_x64(True):
            W = np.asarray(GroupL2.prox(jnp.asarray(Z), thresh, (jnp.asarray(Q), jnp.asarray(sig))))
        for z, w in zip(Z, W):
            if np.linalg.norm(np.linalg.solve(T, z)) <= thresh:  # dual-norm test: prox is zero
                assert np.all(w == 0)
                continue
            Tw = T @ w
            residual = w - z + thresh * T @ Tw / np.linalg.norm(Tw)
            assert np.linalg.norm(residual) <= 1e-9 * max(np.linalg.norm(z), 1.0)


def test_working_set_preconditions_unscaled_features():
    X, y, p = ill_conditioned(n=150, seed=5)
    alpha = 0.01 * alpha_max(X, y, p)
    ref = solve_group_lasso(X, y, p, alpha, solver="cvxpy")
    res = solve_group_lasso(X, y, p, alpha, solver="working_set", tol=1e-8, max_iter=100_000)
    assert res.info["preconditioned"]
    assert res.converged and abs(res.objective - ref.objective) <= 1e-6 * ref.objective
