"""The Gram solver (tall problems): its Gram matrix against the explicit design (centred, weighted,
packed masks, row blocks), its answers against CVXPY and the explicit duality gap, and where
``auto`` and proximal Newton use it."""

import numpy as np
import pytest

from gatedrelu import solve_group_lasso
from gatedrelu.operator import pack_masks
from gatedrelu.problem import Problem
from gatedrelu.problem.datafits import get_datafit
from gatedrelu.solvers import auto, gram, prox_newton
from tests.helpers import expanded_design, explicit_objective_and_gap, planted_problem


def _tall(n=400, d=4, m=15, c=None, seed=0):
    return planted_problem(n=n, d=d, m=m, c=c, intercept=True, seed=seed)


@pytest.mark.parametrize("packed", [False, True])
@pytest.mark.parametrize("weighted", [False, True])
def test_gram_equals_the_explicit_centred_design(monkeypatch, packed, weighted):
    X, y, p = _tall(c=2)
    n = X.shape[0]
    rng = np.random.default_rng(3)
    w = rng.uniform(0.2, 3.0, n) if weighted else np.ones(n)
    w = w / w.mean()
    s = np.sqrt(w)
    datafit = get_datafit("squared_intercept")
    datafit = type(datafit)(s if weighted else None)
    Xs, ys = X * s[:, None], y * s[:, None]  # weights folded into the rows
    M = pack_masks(p.masks) if packed else p.masks
    monkeypatch.setattr(gram, "GRAM_BLOCK_BYTES", 8 * 8 * p.masks.shape[1] * X.shape[1])
    Q, B = gram.gram(Problem(Xs, M, ys, 0.1, datafit))
    Phi = expanded_design(Xs, p.masks)
    proj = np.eye(n) - np.outer(s, s) / (s @ s)  # the weighted centring projector
    np.testing.assert_allclose(Q, (proj @ Phi).T @ (proj @ Phi) / n, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(B, (proj @ Phi).T @ (proj @ ys) / n, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("c", [None, 3])
@pytest.mark.parametrize("alpha", [1e-1, 1e-2, 1e-4])
def test_gram_reaches_the_cvxpy_optimum_with_an_explicit_gap(c, alpha):
    X, y, p = _tall(c=c)
    res = solve_group_lasso(X, y, p, alpha, solver="gram", tol=1e-9)
    ref = solve_group_lasso(X, y, p, alpha, solver="cvxpy")
    F, gap = explicit_objective_and_gap(X, y, p.masks, res.coef, alpha)
    assert res.converged
    assert gap <= 1e-8 * F + 1e-14
    assert F <= ref.objective * (1 + 1e-7)
    assert res.dual_gap >= gap * (1 - 1e-6) - 1e-15  # the reported gap bounds the explicit one


def test_gram_with_intercept_and_sample_weights_equals_repeated_rows():
    X, y, p = _tall(n=200)
    rng = np.random.default_rng(5)
    k = rng.integers(1, 4, X.shape[0])
    weighted = solve_group_lasso(X, y, p, 1e-2, solver="gram", tol=1e-12, sample_weight=k,
                                 loss="squared_intercept")
    rep = np.repeat(np.arange(X.shape[0]), k)
    from gatedrelu import activation_patterns
    pr = activation_patterns(X[rep], p.gates)
    repeated = solve_group_lasso(X[rep], y[rep], pr, 1e-2, solver="cvxpy",
                                 loss="squared_intercept")
    assert weighted.converged
    np.testing.assert_allclose(weighted.objective, repeated.objective, rtol=1e-6)
    np.testing.assert_allclose(weighted.intercept, repeated.intercept, rtol=1e-4, atol=1e-6)


def test_auto_uses_gram_on_tall_problems_only():
    X, y, p = _tall()
    tall = Problem(X, p.masks, y, 0.01, get_datafit("squared_intercept"))
    assert auto.plan(tall)[0] == "gram"
    Xw, yw, pw = planted_problem(n=60, d=6, m=40, intercept=True)  # n < P d: wide
    wide = Problem(Xw, pw.masks, yw, 0.01, get_datafit("squared_intercept"))
    assert "gram" not in auto.plan(wide)
    assert gram.supports(wide) is None and not gram.pays(wide)  # it applies when asked
    res = solve_group_lasso(Xw, yw, pw, 0.01, solver="gram", tol=1e-9)
    F, g = explicit_objective_and_gap(Xw, yw, pw.masks, res.coef, 0.01)
    assert res.converged and g <= 1e-8 * F


def test_prox_newton_solves_tall_logistic_models_with_gram():
    X, y, p = _tall(n=500)
    labels = np.where(y > np.median(y), 1.0, -1.0)
    problem = Problem(X, p.masks, labels, 1e-3, get_datafit("logistic"))
    assert prox_newton.inner_solver(problem) == "gram"
    assert auto.plan(problem)[0] == "prox_newton"
    res = solve_group_lasso(X, labels, p, 1e-3, loss="logistic", tol=1e-8)
    ref = solve_group_lasso(X, labels, p, 1e-3, loss="logistic", solver="cvxpy")
    assert res.converged
    assert res.objective <= ref.objective * (1 + 1e-6)


def test_gram_refuses_what_it_cannot_solve():
    X, y, p = _tall()
    assert "group-L2" in gram.supports(Problem(X, p.masks, y, 0.1, penalty=_feature_penalty()))
    big = Problem(np.ones((10, 50)), np.ones((10, 100), bool), np.ones(10), 0.1)
    assert "P d c <= 4000" in gram.supports(big)
    with pytest.raises(ValueError, match="solver='gram' cannot solve"):
        solve_group_lasso(X, np.sign(y - np.median(y)) + (y == np.median(y)), p, 0.1, solver="gram",
                          loss="logistic")


def _feature_penalty():
    from gatedrelu.problem import make_penalty

    return make_penalty("feature")


def test_auto_runs_prox_newton_for_two_classes_and_working_sets_beyond():
    """Proximal Newton's model is Newton's for one logistic output and for two classes; with more
    classes its majorised steps were slower than the working sets (docstring of prox_newton)."""
    from gatedrelu.problem.datafits import get_datafit as gd

    X, y, p = _tall(n=200)
    rng = np.random.default_rng(0)
    for c, first in ((2, "prox_newton"), (3, "working_set")):
        Y = np.eye(c)[rng.integers(0, c, X.shape[0])]
        assert auto.plan(Problem(X, p.masks, Y, 1e-2, gd("multinomial")))[0] == first


def test_two_class_multinomial_prox_newton_is_newton():
    """Two classes: the model's curvature is the Hessian's on the directions that change the loss,
    so proximal Newton converges in a few steps, to the CVXPY optimum."""
    X, y, p = _tall(n=300)
    Y = np.eye(2)[(y > np.median(y)).astype(int)]
    res = solve_group_lasso(X, Y, p, 1e-3, loss="multinomial", solver="prox_newton", tol=1e-9)
    ref = solve_group_lasso(X, Y, p, 1e-3, loss="multinomial", solver="cvxpy")
    assert res.converged and res.n_iter <= 15
    assert res.objective <= ref.objective * (1 + 1e-7)
    assert res.objective - res.dual_gap <= ref.objective * (1 + 1e-9)
