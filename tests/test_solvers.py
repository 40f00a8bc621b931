"""Generic solver tests: every registered solver (``auto`` included) against independent
references. A solver added to :mod:`gatedrelu.solvers` is picked up here automatically.

* the CVXPY/Clarabel optimum (objective to <= 1e-6 relative) on single-output, multi-output,
  intercept and ill-conditioned problems, from 0.5 down to 0.001 x alpha_max;
* the duality gap each solver reports equals an explicit-design gap computed here, and bounds the
  suboptimality;
* gap-safe screening never discards a group that is active at the CVXPY optimum (hypothesis);
* every registered datafit (loss), with targets from its ``example_targets``, one output and
  several where the loss allows it: every solver that supports it reaches the CVXPY optimum at
  several fractions of ``alpha_max(loss=...)``, the objective it reports is the CVXPY
  expression's value at its coefficients and its gap bounds the suboptimality; and each datafit's
  own formulas are checked against autodiff, finite differences and a numerical conjugate
  (Fenchel-Young equality at the dual point, weak duality, strong concavity, the Lipschitz
  constant and the Bregman bound of the step test), in float64 and float32, numpy and JAX. A
  datafit added to :mod:`gatedrelu.problem.datafits` is picked up here automatically;
* every registered penalty (its default parameters) and the ridge mix of every norm penalty
  (``l1_ratio=0.6``), on a single-output and a multi-output problem with a bias column: every
  solver that supports it reaches the CVXPY optimum at two fractions of its ``alpha_max``, the
  objective it reports is the penalty's CVXPY expression at its coefficients, and its gap (also
  an unfinished solve's) bounds the suboptimality. A penalty added to
  :mod:`gatedrelu.problem.penalties` is picked up here automatically;
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
from gatedrelu.problem import DATAFITS, PENALTIES, Problem, certify_numpy, get_datafit, get_penalty
from gatedrelu.problem.penalties import ElasticNet
from gatedrelu.solvers import REGISTRY, SOLVERS
from gatedrelu.solvers.working_set import gap_safe_screen, group_operator_bounds
from tests.helpers import GL_SOLVERS, explicit_objective_and_gap, planted_problem, solvers_for

#: Iterative solvers of the group lasso (solvers of constrained problems only, such as
#: cone_fista, are tested on their problems below and in tests/test_convex_relu.py).
ITERATIVE = [s for s in GL_SOLVERS if s != "cvxpy"]
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


@pytest.mark.slow
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


@pytest.mark.parametrize("solver", GL_SOLVERS)
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


@pytest.mark.slow
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


@pytest.mark.slow
@pytest.mark.parametrize("scaled", [False, True], ids=["raw", "standardised"])
@pytest.mark.parametrize("alpha", [1e-2, 1e-1, 1.0])
def test_default_estimator_fits_diabetes_without_warning(scaled, alpha):
    """The default regressor (free intercept, alpha in units of the targets' scale, linear
    part). Below 1e-2 x the scale the working sets, the solver of the intercept's datafit (the
    Newton solver does not take it), may stop at max_iter with a ConvergenceWarning."""
    X, y = load_diabetes(return_X_y=True)
    if scaled:
        X = StandardScaler().fit_transform(X)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        model = GatedReLURegressor(alpha=alpha, random_state=0).fit(X, y)
    assert model.dual_gap_ <= 1e-6 * model.objective_
    # the certificate is honest: recompute it independently, with the profiled intercept
    Xb = np.hstack([X, np.ones((len(X), 1))])
    a, n = alpha * model.target_scale_, len(y)
    Phi = np.hstack([model.patterns_.masks[:, [i]] * Xb for i in range(model.patterns_.n_patterns)])
    R = y - Phi @ model.coef_.ravel()
    assert model.intercept_ == pytest.approx(R.mean(), rel=1e-9)
    R = R - R.mean()
    F = 0.5 * R @ R / n + a * np.linalg.norm(model.coef_, axis=1).sum()
    corr = np.linalg.norm((Phi.T @ R).reshape(len(model.coef_), -1), axis=1).max() / n
    theta = R / n * min(1.0, a / corr)
    gap = F - (theta @ y - 0.5 * n * theta @ theta)
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


@pytest.mark.slow
def test_working_set_preconditions_unscaled_features():
    X, y, p = ill_conditioned(n=150, seed=5)
    alpha = 0.01 * alpha_max(X, y, p)
    ref = solve_group_lasso(X, y, p, alpha, solver="cvxpy")
    res = solve_group_lasso(X, y, p, alpha, solver="working_set", tol=1e-8, max_iter=100_000)
    assert res.info["preconditioned"]
    assert res.converged and abs(res.objective - ref.objective) <= 1e-6 * ref.objective


# --------------------------------------------------------------------------- every datafit

DATAFIT_FRACTIONS = [0.5, 0.1, 0.01]
DATAFIT_CASES = [(name, multi) for name in sorted(DATAFITS) for multi in (False, True)]


def datafit_problem(name, multi, n=80, seed=21):
    """A planted problem whose targets come from the datafit's ``example_targets`` (teacher
    scores scaled to unit standard deviation times 2): 1 or 3 teacher outputs."""
    X, scores, p = planted_problem(n=n, d=4, m=20, c=3 if multi else None, seed=seed, noise=0.0)
    scores = 2 * (scores - scores.mean(axis=0)) / scores.std(axis=0)
    y = get_datafit(name).example_targets(scores, np.random.default_rng(seed))
    return X, y, p


def cvxpy_objective(datafit, X, y, masks, U, alpha):
    """F(U) evaluated by CVXPY's atoms on the explicit design (independent of our numerics)."""
    import cvxpy as cp

    P, d = U.shape[:2]
    Phi = np.hstack([masks[:, [i]] * X for i in range(P)])
    pred = Phi @ U.reshape(P * d, -1)
    pred = pred[:, 0] if y.ndim == 1 else pred
    loss = datafit.cvxpy_value(cp.Constant(pred), y).value
    return float(loss) + alpha * float(np.sum(np.linalg.norm(U.reshape(P, -1), axis=1)))


@pytest.fixture(scope="module", params=DATAFIT_CASES, ids=lambda c: f"{c[0]}-{'multi' if c[1] else 'single'}")
def datafit_case(request):
    name, multi = request.param
    X, y, p = datafit_problem(name, multi)
    refs = {}
    for frac in DATAFIT_FRACTIONS:
        alpha = frac * alpha_max(X, y, p, loss=name)
        with warnings.catch_warnings():
            # Clarabel's exponential-cone answers are accurate in objective (to ~1e-10 here) but
            # their own dual point is certified only to ~1e-5: the objective is the reference
            warnings.simplefilter("ignore", ConvergenceWarning)
            ref = solve_group_lasso(X, y, p, alpha, solver="cvxpy", loss=name)
        refs[frac] = (alpha, ref.objective)
    return name, X, y, p, refs


def test_registry_lists_every_datafit():
    assert {"squared", "logistic", "multinomial"} <= set(DATAFITS)
    for name, cls in DATAFITS.items():
        assert cls.name == name and get_datafit(name) == cls()


@pytest.mark.slow
@pytest.mark.parametrize("solver", [s for s in SOLVERS if s != "cvxpy"])
def test_every_datafit_reaches_cvxpy_optimum(datafit_case, solver):
    name, X, y, p, refs = datafit_case
    datafit = get_datafit(name)
    ran = 0
    for frac, (alpha, F_ref) in refs.items():
        if REGISTRY[solver].supports(Problem(X, p.masks, y, alpha, datafit)) is not None:
            continue
        ran += 1
        res = solve_group_lasso(X, y, p, alpha, solver=solver, loss=name, tol=1e-8, max_iter=200_000)
        assert res.converged, (name, frac, res.status)
        # the objective it reports is the CVXPY expression's value at its coefficients
        assert res.objective == pytest.approx(cvxpy_objective(datafit, X, y, p.masks, res.coef, alpha),
                                              rel=1e-9)
        # the gap is honest: F - gap is a lower bound on F*, hence below the CVXPY optimum
        assert res.objective - F_ref <= res.dual_gap + 1e-9 * F_ref
        assert res.dual_gap <= 1e-8 * res.objective
        assert abs(res.objective - F_ref) <= 1e-6 * F_ref, (name, frac)
    if solver in ("auto", "fista", "working_set"):
        assert ran == len(refs)  # the generic solvers handle every datafit
    if solver == "prox_newton" and (name == "multinomial" or (name == "logistic" and y.ndim == 1)):
        assert ran == len(refs)  # what it is for (several classes: the majorised model)


def _feasible_duals(datafit, y, rng, k=4):
    """Dual points in the domain: scaled dual points of random predictions."""
    out = []
    for t in np.linspace(0.2, 1.0, k):
        z = 3 * rng.standard_normal(y.shape)
        out.append(t * datafit.dual_point(z, y))
    return out


def _targets(name, multi, rng, weighted, n=40):
    datafit = get_datafit(name)
    S = 2 * rng.standard_normal((n, 3) if multi else n)
    y = datafit.example_targets(S, rng)
    if weighted:
        w = rng.uniform(0, 3, n)
        w[:3] = 0
        w *= n / w.sum()
        _, y = datafit.apply_weights(np.ones((n, 1)), y, w)
    return datafit, y


@pytest.mark.slow
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("name, multi", DATAFIT_CASES)
def test_datafit_formulas(name, multi, weighted):
    """Each datafit against autodiff, finite differences and its own conjugate's definition."""
    import jax
    import jax.numpy as jnp

    rng = np.random.default_rng(5)
    datafit, y = _targets(name, multi, rng, weighted)
    datafit.check_targets(datafit.example_targets(rng.standard_normal(y.shape[0]), rng))
    z = 2 * rng.standard_normal(y.shape)
    F = datafit.value(z, y)
    g = datafit.gradient(z, y)
    with jax.enable_x64(True):
        g_ad = np.asarray(jax.grad(lambda v: datafit.value(v, jnp.asarray(y)))(jnp.asarray(z)))
        # the same formulas traced by JAX
        assert float(datafit.value(jnp.asarray(z), jnp.asarray(y))) == pytest.approx(F, rel=1e-13)
    np.testing.assert_allclose(g, g_ad, rtol=1e-10, atol=1e-15)
    # central finite differences along a random direction
    v = rng.standard_normal(z.shape)
    h = 1e-5
    fd = (datafit.value(z + h * v, y) - datafit.value(z - h * v, y)) / (2 * h)
    assert np.vdot(g, v) == pytest.approx(fd, rel=1e-6, abs=1e-10)
    # Fenchel-Young: D(theta) <= f(z) + <theta, z> for every theta, with equality at -grad f(z)
    theta = datafit.dual_point(z, y)
    np.testing.assert_allclose(theta, -g, rtol=1e-12, atol=1e-16)
    assert datafit.dual_value(theta, y) == pytest.approx(F + np.vdot(theta, z), rel=1e-12, abs=1e-14)
    L = datafit.lipschitz(y)
    mu = datafit.dual_strong_concavity(y)
    duals = _feasible_duals(datafit, y, rng)
    for th in duals:
        D = datafit.dual_value(th, y)
        assert np.isfinite(D)
        for _ in range(3):
            zz = 3 * rng.standard_normal(y.shape)
            assert D <= datafit.value(zz, y) + np.vdot(th, zz) + 1e-12
    # strong concavity of the dual (the gap-safe radius): midpoint inequality
    for a, b in zip(duals, duals[1:] + duals[:1]):
        mid = datafit.dual_value(0.5 * (a + b), y)
        bound = 0.5 * (datafit.dual_value(a, y) + datafit.dual_value(b, y)) + mu / 8 * np.vdot(a - b, a - b)
        assert mid >= bound - 1e-12
    # Lipschitz constant and the step test's Bregman bound: exact <= bound <= L/2 ||dz||^2
    noise = 1e-14 * (abs(F) + 1)  # rounding of the difference of two losses
    for scale in (1e-4, 1e-1, 3.0):
        dz = scale * rng.standard_normal(z.shape)
        exact = datafit.value(z + dz, y) - F - np.vdot(g, dz)
        bound = datafit.bregman(z + dz, z, y)
        assert exact - noise <= bound <= 0.5 * L * np.vdot(dz, dz) * (1 + 1e-9) + 1e-15
        if scale <= 1e-1:
            assert bound <= exact * (1 + 5 * scale) + noise  # tight for short steps


@pytest.mark.parametrize("name, multi", DATAFIT_CASES)
def test_dual_value_is_the_numerical_conjugate(name, multi):
    """D(theta) = inf_z f(z) + <theta, z> (the definition of -f^*(-theta)), minimised by CVXPY."""
    import cvxpy as cp

    rng = np.random.default_rng(8)
    datafit, y = _targets(name, multi, rng, weighted=True, n=25)
    theta = 0.7 * datafit.dual_point(rng.standard_normal(y.shape), y)
    z = cp.Variable(y.shape)
    model = cp.Problem(cp.Minimize(datafit.cvxpy_value(z, y) + cp.sum(cp.multiply(theta, z))))
    model.solve(solver=cp.CLARABEL, tol_gap_abs=1e-10, tol_gap_rel=1e-10, tol_feas=1e-10)
    assert datafit.dual_value(theta, y) == pytest.approx(model.value, rel=1e-7, abs=1e-9)


@pytest.mark.slow
@pytest.mark.parametrize("name, multi", DATAFIT_CASES)
def test_datafit_is_stable_in_float32(name, multi):
    """Large scores neither overflow nor lose the float64 answer, in numpy and in JAX."""
    import jax.numpy as jnp

    rng = np.random.default_rng(9)
    datafit, y = _targets(name, multi, rng, weighted=False)
    z = 60 * np.sign(rng.standard_normal(y.shape)) + rng.standard_normal(y.shape)
    y32, z32 = y.astype(np.float32), z.astype(np.float32)
    theta = datafit.dual_point(z, y)
    for xp_y, xp_z in ((y32, z32), (jnp.asarray(y32), jnp.asarray(z32))):
        F32 = float(datafit.value(xp_z, xp_y))
        g32 = np.asarray(datafit.gradient(xp_z, xp_y))
        th32 = datafit.dual_point(xp_z, xp_y)
        D32 = float(datafit.dual_value(0.9 * th32, xp_y))
        assert np.isfinite([F32, D32]).all() and np.all(np.isfinite(g32))
        assert F32 == pytest.approx(datafit.value(z, y), rel=1e-5)
        np.testing.assert_allclose(g32, datafit.gradient(z, y), rtol=1e-4, atol=1e-7)
        assert D32 == pytest.approx(datafit.dual_value(0.9 * theta, y), rel=1e-4, abs=1e-6)


@pytest.mark.slow
@pytest.mark.parametrize("name, multi", DATAFIT_CASES)
def test_certificate_is_weak_duality_for_every_datafit(name, multi):
    """At random coefficients the gap is >= 0 and F - gap (a dual value) is below the optimum."""
    X, y, p = datafit_problem(name, multi, n=60, seed=4)
    alpha = 0.05 * alpha_max(X, y, p, loss=name)
    datafit = get_datafit(name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        F_star = solve_group_lasso(X, y, p, alpha, solver="cvxpy", loss=name).objective
    best = solve_group_lasso(X, y, p, alpha, loss=name, tol=1e-10)
    assert best.dual_gap <= 1e-10 * best.objective and best.objective <= F_star * (1 + 1e-8)
    rng = np.random.default_rng(4)
    problem = Problem(X, p.masks, y, alpha, datafit)
    for scale in (0.0, 0.01, 0.3, 3.0):
        U = scale * rng.standard_normal(best.coef.shape)
        cert = certify_numpy(problem, U)
        assert cert.finite and cert.dual_gap >= -1e-12 * cert.objective
        assert cert.objective - cert.dual_gap <= best.objective * (1 + 1e-9)


# --------------------------------------------------------------------------- every penalty

PENALTY_FRACTIONS = [0.5, 0.05]


def penalty_cases():
    """Every registered penalty with its default parameters, and the ridge mix of each norm."""
    cases = []
    for name in sorted(PENALTIES):
        penalty = get_penalty(name)
        cases.append((name, penalty))
        if penalty.is_norm:
            cases.append((f"{name}+ridge", ElasticNet(penalty, 0.6)))
    return [(name, penalty, multi) for name, penalty in cases for multi in (False, True)]


def penalty_objective(penalty, X, y, masks, U, alpha):
    """F(U) for the squared loss, the penalty evaluated by its CVXPY expression."""
    import cvxpy as cp

    P, d = U.shape[:2]
    Phi = np.hstack([masks[:, [i]] * X for i in range(P)])
    R = y.reshape(len(y), -1) - Phi @ U.reshape(P * d, -1)
    U3 = U.reshape(P, d, -1)
    omega = penalty.cvxpy_value([cp.Constant(U3[:, :, k].T) for k in range(U3.shape[2])]).value
    return 0.5 * np.sum(R**2) / len(y) + alpha * float(omega)


@pytest.fixture(scope="module", params=penalty_cases(),
                ids=lambda c: f"{c[0]}-{'multi' if c[2] else 'single'}")
def penalty_case(request):
    name, penalty, multi = request.param
    X, y, p = planted_problem(n=70, d=3, m=16, c=2 if multi else None, intercept=True, seed=33)
    refs = {}
    for frac in PENALTY_FRACTIONS:
        alpha = frac * alpha_max(X, y, p, penalty=penalty)
        ref = solve_group_lasso(X, y, p, alpha, solver="cvxpy", penalty=penalty)
        refs[frac] = (alpha, ref.objective)
    return name, penalty, X, y, p, refs


def test_registry_lists_every_penalty():
    assert {"group_l2", "feature", "group_l2+feature"} <= set(PENALTIES)
    for name, cls in PENALTIES.items():
        assert cls.name == name and get_penalty(name) == cls()


@pytest.mark.slow
@pytest.mark.parametrize("solver", ITERATIVE)
def test_every_penalty_reaches_cvxpy_optimum(penalty_case, solver):
    name, penalty, X, y, p, refs = penalty_case
    ran = 0
    for frac, (alpha, F_ref) in refs.items():
        if REGISTRY[solver].supports(Problem(X, p.masks, y, alpha, penalty=penalty)) is not None:
            continue
        ran += 1
        res = solve_group_lasso(X, y, p, alpha, solver=solver, penalty=penalty, tol=1e-8,
                                max_iter=100_000)
        assert res.converged, (name, frac, res.status)
        assert res.objective == pytest.approx(penalty_objective(penalty, X, y, p.masks, res.coef, alpha),
                                              rel=1e-9)
        # the gap is honest: F - gap is a lower bound on F*, hence below the CVXPY optimum
        assert res.objective - F_ref <= res.dual_gap + 1e-9 * F_ref
        assert abs(res.objective - F_ref) <= 1e-6 * F_ref, (name, frac)
        if solver == "fista":  # an unfinished solve's gap too
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                rough = solve_group_lasso(X, y, p, alpha, solver=solver, penalty=penalty, max_iter=5)
            assert rough.objective - F_ref <= rough.dual_gap + 1e-9 * F_ref
    if solver in ("auto", "fista"):
        assert ran == len(refs)  # the generic solvers handle every penalty
    if solver == "working_set":
        assert ran == (len(refs) if penalty.pattern_groups else 0)


def _cone_solvers():
    from gatedrelu.problem.constraints.cone import ConeConstraint

    return [s for s in solvers_for(ConeConstraint()) if s != "cvxpy"]


@pytest.mark.slow
@pytest.mark.parametrize("solver", _cone_solvers())
@pytest.mark.parametrize("intercept", [False, True], ids=["plain", "intercept"])
def test_cone_constrained_problems_reach_cvxpy_optimum(solver, intercept):
    """Every solver that accepts the cone constraints of convex ReLU networks (``supports``)
    reaches the CVXPY optimum of the constrained program with feasible coefficients and a gap,
    computed with its multipliers, that bounds its suboptimality."""
    from gatedrelu import solve_convex_relu

    X, y, p = planted_problem(n=70, d=3, m=16, intercept=intercept, seed=21)
    for frac in (0.2, 0.02):
        alpha = frac * alpha_max(X, y, p)
        ref = solve_convex_relu(X, y, p, alpha, solver="cvxpy")
        res = solve_convex_relu(X, y, p, alpha, solver=solver, tol=1e-8, max_iter=100_000)
        assert ref.converged and res.converged, res.status
        assert abs(res.objective - ref.objective) <= 1e-6 * ref.objective
        assert res.objective - ref.objective <= res.dual_gap + 1e-9 * ref.objective
        assert res.constraint_violation <= 1e-8 * np.sqrt(np.mean(y**2))
