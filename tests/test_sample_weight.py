"""Sample weights: scikit-learn's semantics, checked against independent references.

* the weighted objective is ``(1/sum w) sum_k w_k l_k + alpha Omega``: compared with a direct
  evaluation and with a weighted CVXPY model written here;
* integer weights give the model of repeated rows, and a zero weight the model without the row,
  for every estimator (gated ReLU, CV, MKL);
* bad weights give clear errors.
"""

import cvxpy as cp
import numpy as np
import pytest

from gatedrelu import (
    GatedReLUClassifier,
    GatedReLUClassifierCV,
    GatedReLURegressor,
    GatedReLURegressorCV,
    MKLClassifier,
    MKLRegressor,
    alpha_max,
    objective,
    solve_group_lasso,
)
from tests.helpers import planted_problem


@pytest.fixture(scope="module")
def weighted():
    X, y, p = planted_problem(n=60, d=4, m=15, seed=3)
    w = np.random.default_rng(3).uniform(0, 3, len(y))
    return X, y, p, w


def test_weighted_objective_is_the_weighted_mean_loss(weighted):
    X, y, p, w = weighted
    U = np.random.default_rng(0).standard_normal((p.n_patterns, X.shape[1]))
    alpha = 0.01
    pred = np.sum(np.where(p.masks, X @ U.T, 0), axis=1)
    expected = 0.5 * np.sum(w * (pred - y) ** 2) / w.sum() + alpha * np.linalg.norm(U, axis=1).sum()
    assert objective(X, y, p, U, alpha, sample_weight=w) == pytest.approx(expected, rel=1e-12)
    # multiplying every weight by a constant changes nothing
    assert objective(X, y, p, U, alpha, sample_weight=7 * w) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("solver", ["auto", "working_set", "fista", "newton"])
def test_weighted_solve_reaches_weighted_cvxpy_optimum(weighted, solver):
    X, y, p, w = weighted
    alpha = 0.05 * alpha_max(X, y, p, sample_weight=w)
    U = cp.Variable((X.shape[1], p.n_patterns))
    pred = cp.sum(cp.multiply(p.masks.astype(float), X @ U), axis=1)
    model = cp.Problem(cp.Minimize(cp.sum(cp.multiply(w, cp.square(pred - y))) / (2 * w.sum())
                                   + alpha * cp.sum(cp.norm(U, 2, axis=0))))
    model.solve(solver=cp.CLARABEL, tol_gap_abs=1e-9, tol_gap_rel=1e-9, tol_feas=1e-9)
    res = solve_group_lasso(X, y, p, alpha, solver=solver, tol=1e-8, sample_weight=w)
    assert res.converged
    assert res.objective == pytest.approx(model.value, rel=1e-6)
    assert res.objective - res.dual_gap <= model.value * (1 + 1e-9)  # the gap is honest


def test_integer_weights_equal_repeated_rows_in_the_solver(weighted):
    X, y, p, _ = weighted
    w = np.random.default_rng(1).integers(1, 4, len(y))
    alpha = 0.05 * alpha_max(X, y, p)
    a = solve_group_lasso(X, y, p, alpha, tol=1e-10, sample_weight=w)
    b = solve_group_lasso(np.repeat(X, w, 0), np.repeat(y, w), np.repeat(p.masks, w, 0), alpha,
                          tol=1e-10)
    assert a.objective == pytest.approx(b.objective, rel=1e-9)
    assert np.allclose(a.coef, b.coef, atol=1e-6)


def _data(classifier, seed=0, n=50):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 3))
    score = np.maximum(X @ rng.standard_normal(3), 0) - 0.5
    if classifier:
        return X, (score > 0).astype(int) + (X[:, 0] > 1)
    return X, score + 0.1 * rng.standard_normal(n)


ESTIMATORS = [
    GatedReLURegressor(n_gates=20, alpha=1e-2, tol=1e-10),
    GatedReLUClassifier(n_gates=20, alpha=1e-2, tol=1e-10),
    GatedReLURegressorCV(n_gates=10, n_alphas=3, cv=3, tol=1e-10),
    GatedReLUClassifierCV(n_gates=10, n_alphas=3, cv=3, tol=1e-10),
    MKLRegressor(kernel="optimal", n_gates=15, alpha=1e-2, tol=1e-10),
    MKLRegressor(kernel="ntk", n_gates=15, alpha=1e-2),
    MKLRegressor(kernel="infinite_ntk", alpha=1e-2),
    MKLClassifier(kernel="uniform", n_gates=15, alpha=1e-2),
]


def _output(est, X):
    return est.decision_function(X) if hasattr(est, "decision_function") else est.predict(X)


@pytest.mark.slow
@pytest.mark.parametrize("estimator", ESTIMATORS, ids=lambda e: repr(e))
def test_integer_weights_and_zeros_equal_repeating_and_removing_rows(estimator):
    from sklearn.base import clone, is_classifier

    X, y = _data(is_classifier(estimator))
    w = np.random.default_rng(5).integers(0, 4, len(y))
    if "cv" in estimator.get_params():
        # the same folds for both fits: fold k holds sample i (and all its copies)
        fold = np.arange(len(y)) % 3
        cv_w = [(np.flatnonzero(fold != k), np.flatnonzero(fold == k)) for k in range(3)]
        rep_fold = np.repeat(fold, w)
        cv_r = [(np.flatnonzero(rep_fold != k), np.flatnonzero(rep_fold == k)) for k in range(3)]
        a = clone(estimator).set_params(cv=cv_w, random_state=0).fit(X, y, sample_weight=w)
        b = clone(estimator).set_params(cv=cv_r, random_state=0).fit(np.repeat(X, w, 0), np.repeat(y, w))
        assert a.alpha_ == pytest.approx(b.alpha_, rel=1e-12)
    else:
        a = clone(estimator).set_params(random_state=0).fit(X, y, sample_weight=w)
        b = clone(estimator).set_params(random_state=0).fit(np.repeat(X, w, 0), np.repeat(y, w))
    Xt = np.random.default_rng(9).standard_normal((30, 3))
    np.testing.assert_allclose(_output(a, Xt), _output(b, Xt), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("Estimator", [GatedReLURegressor, MKLRegressor, GatedReLURegressorCV])
@pytest.mark.parametrize(
    "weights, message",
    [
        (np.full(50, -1.0), "must be >= 0"),
        (np.r_[np.nan, np.ones(49)], "NaN or infinite"),
        (np.ones(49), r"shape \(50,\)"),
        (np.zeros(50), "sums to zero"),
        (np.array(["a"] * 50), "must be numeric"),
    ],
    ids=["negative", "nan", "length", "zeros", "strings"],
)
def test_bad_weights_are_refused(Estimator, weights, message):
    X, y = _data(False)
    with pytest.raises(ValueError, match=message):
        Estimator(n_gates=5).fit(X, y, sample_weight=weights)
