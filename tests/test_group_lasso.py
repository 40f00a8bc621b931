"""The group-lasso solvers against independent references: CVXPY, the duality gap, KKT."""

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from gatedrelu import alpha_max, duality_gap, group_lasso_path, objective, solve_group_lasso
from gatedrelu.group_lasso import SOLVERS
from tests.helpers import GL_SOLVERS, expanded_design, explicit_objective_and_gap, planted_problem

PROBLEMS = {
    "single": dict(n=100, d=5, m=30, seed=0),
    "multi": dict(n=90, d=4, m=25, c=3, seed=1),
    "intercept": dict(n=110, d=4, m=30, intercept=True, seed=2),
}


def ref_objective(X, y, masks, U, alpha):
    """(GL) objective from the explicit design (independent of the package's operator)."""
    return explicit_objective_and_gap(X, y, masks, U, alpha)[0]


def ref_gap(X, y, masks, U, alpha):
    """Duality gap of docs/math.md from the explicit design."""
    return explicit_objective_and_gap(X, y, masks, U, alpha)[1]


@pytest.fixture(scope="module", params=list(PROBLEMS))
def case(request):
    return planted_problem(**PROBLEMS[request.param])


@pytest.mark.parametrize("frac", [0.5, 0.1, 0.01])
def test_jax_matches_cvxpy(case, frac):
    X, y, p = case
    alpha = frac * alpha_max(X, y, p)
    jx = solve_group_lasso(X, y, p, alpha, tol=1e-8)
    cv = solve_group_lasso(X, y, p, alpha, solver="cvxpy")
    assert jx.converged and cv.converged
    assert abs(jx.objective - cv.objective) <= 1e-6 * cv.objective
    # both objectives equal the explicit-design formula
    assert jx.objective == pytest.approx(ref_objective(X, y, p.masks, jx.coef, alpha), rel=1e-10)
    assert cv.objective == pytest.approx(ref_objective(X, y, p.masks, cv.coef, alpha), rel=1e-10)


def test_reported_gap_is_independent_gap_and_bounds_suboptimality(case):
    X, y, p = case
    alpha = 0.05 * alpha_max(X, y, p)
    F_star = solve_group_lasso(X, y, p, alpha, solver="cvxpy").objective
    for tol in (1e-2, 1e-4, 1e-6):
        res = solve_group_lasso(X, y, p, alpha, tol=tol)
        gap = ref_gap(X, y, p.masks, res.coef, alpha)
        assert res.dual_gap == pytest.approx(gap, rel=1e-8, abs=1e-13)
        assert duality_gap(X, y, p, res.coef, alpha) == pytest.approx(gap, rel=1e-8, abs=1e-13)
        assert res.objective - F_star <= res.dual_gap + 1e-9 * F_star
        assert res.dual_gap <= tol * res.objective
    # an arbitrary point: the gap still bounds its suboptimality
    U = np.random.default_rng(0).standard_normal(res.coef.shape) * 0.1
    assert objective(X, y, p, U, alpha) - F_star <= ref_gap(X, y, p.masks, U, alpha)


@pytest.mark.slow
def test_alpha_max_gives_exact_zero_and_kkt(case):
    X, y, p = case
    amax = alpha_max(X, y, p)
    # alpha_max from the explicit design
    Phi = expanded_design(X, p.masks)
    corr = (Phi.T @ y.reshape(len(y), -1)).reshape(p.n_patterns, -1)
    assert amax == pytest.approx(np.linalg.norm(corr, axis=1).max() / len(y), rel=1e-12)
    for solver in GL_SOLVERS:
        if solver == "cvxpy":
            continue  # an interior-point solution is never exactly zero
        at = solve_group_lasso(X, y, p, amax, solver=solver)
        above = solve_group_lasso(X, y, p, 1.5 * amax, solver=solver)
        assert np.all(at.coef == 0) and np.all(above.coef == 0), solver
    below = solve_group_lasso(X, y, p, 0.99 * amax, tol=1e-10)
    assert np.any(below.coef != 0)
    # KKT at a small alpha
    alpha = 0.05 * amax
    res = solve_group_lasso(X, y, p, alpha, tol=1e-12, max_iter=100_000)
    n = len(y)
    R = y.reshape(n, -1) - Phi @ res.coef.reshape(p.n_patterns * X.shape[1], -1)
    grad = -(Phi.T @ R).reshape(res.coef.shape) / n
    norms = np.linalg.norm(res.coef.reshape(p.n_patterns, -1), axis=1)
    gnorm = np.linalg.norm(grad.reshape(p.n_patterns, -1), axis=1)
    active = norms > 1e-8
    assert active.any() and (~active).any()
    resid = grad[active] + alpha * res.coef[active] / norms[active].reshape((-1,) + (1,) * (res.coef.ndim - 1))
    assert np.abs(resid).max() <= 1e-5 * alpha
    assert np.all(gnorm[~active] <= alpha * (1 + 1e-5))


@pytest.mark.slow
def test_float32_in_float32_out():
    X, y, p = planted_problem(n=150, d=5, m=40, seed=3)
    alpha = 0.05 * alpha_max(X, y, p)
    r64 = solve_group_lasso(X, y, p, alpha, tol=1e-10)
    r32 = solve_group_lasso(X.astype(np.float32), y.astype(np.float32), p, alpha, tol=1e-5)
    assert r32.coef.dtype == np.float32
    assert r32.converged
    assert r32.objective == pytest.approx(r64.objective, rel=2e-5)
    assert np.abs(r32.coef - r64.coef).max() <= 1e-2 * np.abs(r64.coef).max()
    with pytest.warns(UserWarning, match="below what float32"):
        solve_group_lasso(X.astype(np.float32), y, p, alpha, tol=1e-9)


@pytest.mark.slow
@pytest.mark.parametrize("solver", [s for s in GL_SOLVERS if s != "cvxpy"])
def test_warm_start_and_path(solver):
    X, y, p = planted_problem(n=100, d=5, m=30, seed=4)
    path = group_lasso_path(X, y, p, n_alphas=6, eps=0.02, tol=1e-8, solver=solver)
    alphas = [r.alpha for r in path]
    assert alphas == sorted(alphas, reverse=True)
    assert np.all(path[0].coef == 0)  # starts at alpha_max
    for r in path[1:]:
        cold = solve_group_lasso(X, y, p, r.alpha, solver="cvxpy")
        assert abs(r.objective - cold.objective) <= 1e-6 * cold.objective
    # a warm start at the solution needs (almost) no iterations
    again = solve_group_lasso(X, y, p, path[-1].alpha, tol=1e-8, init=path[-1], solver=solver)
    assert again.n_iter <= 1
    # the active set grows along the path
    assert path[-1].n_active > path[1].n_active


@pytest.mark.parametrize("solver", [s for s in GL_SOLVERS if s != "cvxpy"])
def test_max_iter_warns_with_the_gap(solver):
    X, y, p = planted_problem(n=100, d=5, m=30, seed=5)
    alpha = 0.01 * alpha_max(X, y, p)
    match = rf"solver='{solver}' reached max_iter=3 after 3 iterations with duality gap [0-9.e+-]+ \(relative.*To fix: increase max_iter"
    with pytest.warns(ConvergenceWarning, match=match):
        res = solve_group_lasso(X, y, p, alpha, max_iter=3, tol=1e-10, solver=solver)
    assert not res.converged and res.n_iter == 3
    assert res.dual_gap == pytest.approx(ref_gap(X, y, p.masks, res.coef, alpha), rel=1e-8)


def test_converged_solve_does_not_warn():
    X, y, p = planted_problem(n=80, d=4, m=20, seed=6)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        solve_group_lasso(X, y, p, 0.1 * alpha_max(X, y, p))


def test_cvxpy_refuses_too_large_problems():
    X, y, p = planted_problem(n=100, d=5, m=30, seed=0)
    with pytest.raises(ValueError, match="cvxpy solver refuses"):
        solve_group_lasso(X, y, p, 0.1, solver="cvxpy", cvxpy_max_size=1000)


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        (dict(alpha=-1.0), ValueError, "alpha must be > 0"),
        (dict(alpha=0.0), ValueError, "alpha must be > 0"),
        (dict(alpha=float("nan")), ValueError, "alpha must be finite"),
        (dict(solver="scipy"), ValueError, "Unknown solver 'scipy'"),
        (dict(solver="cvxpy", lipschitz=1.0), ValueError, "lipschitz is not used by solver='cvxpy'"),
        (dict(solver="newton", devices="all"), ValueError, "devices is not used by solver='newton'"),
        (dict(solver="cvxpy", init=np.zeros((2, 2))), ValueError, "init is not used by solver='cvxpy'"),
        (dict(verbose=-1), ValueError, "verbose must be >= 0"),
        (dict(tol=-1e-3), ValueError, "tol must be >= 0"),
        (dict(max_iter=0), ValueError, "max_iter must be >= 1"),
        (dict(init=np.zeros((2, 2))), ValueError, "init must have shape"),
    ],
)
def test_bad_arguments(kwargs, exc, match):
    X, y, p = planted_problem(n=30, d=3, m=10)
    args = dict(alpha=0.1)
    args.update(kwargs)
    alpha = args.pop("alpha")
    with pytest.raises(exc, match=match):
        solve_group_lasso(X, y, p, alpha, **args)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(alphas=[0.1, -1.0]), "every alpha must be > 0"),
        (dict(alphas=[0.1, float("nan")]), "every alpha must be finite"),
        (dict(alphas=[]), "alphas is empty"),
        (dict(n_alphas=0), "n_alphas must be >= 1"),
        (dict(eps=1.5), "eps must be < 1"),
        (dict(eps=-0.1), "eps must be > 0"),
        (dict(solver="lbfgs"), "Unknown solver 'lbfgs'"),
    ],
)
def test_bad_path_arguments(kwargs, match):
    X, y, p = planted_problem(n=30, d=3, m=10)
    with pytest.raises(ValueError, match=match):
        group_lasso_path(X, y, p, **kwargs)


def test_bad_data():
    X, y, p = planted_problem(n=30, d=3, m=10)
    Xn = X.copy()
    Xn[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN or infinite"):
        solve_group_lasso(Xn, y, p, 0.1)
    yi = y.copy()
    yi[3] = np.inf
    with pytest.raises(ValueError, match="y contains 1 NaN or infinite"):
        solve_group_lasso(X, yi, p, 0.1)
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        solve_group_lasso(X, y[:-1], p.masks[:, :], 0.1)
    with pytest.raises(ValueError, match="patterns were computed on 30 samples but X has 29"):
        solve_group_lasso(X[:-1], y[:-1], p, 0.1)
    with pytest.raises(ValueError, match="2-dimensional"):
        solve_group_lasso(X[:, 0], y, p, 0.1)
    with pytest.raises(ValueError, match="empty"):
        solve_group_lasso(np.empty((0, 3)), np.empty(0), np.zeros((0, 2), bool), 0.1)
    with pytest.raises(ValueError, match="y must have shape"):
        solve_group_lasso(X, y.reshape(30, 1, 1), p, 0.1)
