"""Estimators: scikit-learn conformance, equivalence with the network, determinism, errors."""

import numpy as np
import pytest
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from gatedrelu import (
    GatedReLUClassifier,
    GatedReLURegressor,
    activation_patterns,
    solve_group_lasso,
)
from gatedrelu.datasets import make_planted


# tol=1e-10: check_sample_weight_equivalence compares weighted and repeated-row fits at rtol 1e-7
@pytest.mark.slow
@parametrize_with_checks([GatedReLURegressor(n_gates=20, tol=1e-10), GatedReLUClassifier(n_gates=20, tol=1e-10)])
def test_sklearn_compatible(estimator, check):
    check(estimator)


@pytest.fixture(scope="module")
def regression():
    X, y, _ = make_planted(150, 4, noise=0.1, random_state=0)
    return X, y


@pytest.mark.slow
def test_regressor_is_the_group_lasso_on_the_biased_data(regression):
    """The default regressor solves (GL) with the unpenalised intercept ("squared_intercept"),
    on the biased data, with the always-on gate first, at ``alpha`` times the targets' scale."""
    X, y = regression
    est = GatedReLURegressor(n_gates=40, alpha=0.01, random_state=0, tol=1e-9).fit(X, y)
    Xb = np.hstack([X, np.ones((len(X), 1))])
    # the gates were sampled from random_state with the bias entry last; the linear part's
    # zero gate comes first
    G = np.hstack([np.zeros((5, 1)), np.random.default_rng(0).standard_normal((5, 40))])
    p = activation_patterns(Xb, G)
    assert est.target_scale_ == pytest.approx(np.std(y), rel=1e-12)
    ref = solve_group_lasso(Xb, y, p, 0.01 * np.std(y), solver="cvxpy", loss="squared_intercept")
    assert est.objective_ == pytest.approx(ref.objective, rel=1e-6)
    # intercepts agree to the accuracy of the fitted values, O(sqrt(gap)) (Clarabel's ~1e-8)
    assert est.intercept_ == pytest.approx(ref.intercept, abs=1e-3 * np.std(y))
    np.testing.assert_array_equal(est.gates_, p.gates)
    assert est.coef_.shape == (p.n_patterns, 5)
    assert est.n_active_neurons_ == np.count_nonzero(np.linalg.norm(est.coef_, axis=1))
    assert est.dual_gap_ <= 1e-9 * est.objective_


@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("kind", ["regressor", "multioutput", "binary", "multiclass"])
def test_network_reproduces_predict(kind, fit_intercept):
    rng = np.random.default_rng(1)
    X = rng.standard_normal((120, 3))
    if kind == "regressor":
        est, y = GatedReLURegressor, np.sin(X[:, 0]) + X[:, 1] ** 2
    elif kind == "multioutput":
        est, y = GatedReLURegressor, np.c_[np.sin(X[:, 0]), X[:, 1] * X[:, 2]]
    elif kind == "binary":
        est, y = GatedReLUClassifier, np.where(X[:, 0] * X[:, 1] > 0, "a", "b")
    else:
        est, y = GatedReLUClassifier, np.digitize(X[:, 0] + X[:, 1] ** 2, [0, 1.5])
    model = est(n_gates=30, alpha=1e-3, fit_intercept=fit_intercept, random_state=2).fit(X, y)
    net = model.to_network()
    X_new = rng.standard_normal((50, 3))
    scores = model.predict(X_new) if kind in ("regressor", "multioutput") else model.decision_function(X_new)
    np.testing.assert_allclose(net.predict(X_new), scores, rtol=1e-10, atol=1e-12)
    assert net.n_neurons == model.n_active_neurons_
    # the weight decay of the balanced network equals the group-lasso penalty
    penalty = model.alpha * np.sum(np.linalg.norm(model.coef_.reshape(len(model.coef_), -1), axis=1))
    assert net.weight_decay(model.alpha) == pytest.approx(penalty, rel=1e-12)
    if kind == "binary":
        assert set(model.predict(X_new)) <= {"a", "b"}
        assert list(model.classes_) == ["a", "b"]
    if kind == "multiclass":
        assert model.decision_function(X_new).shape == (50, 3)


def test_same_random_state_same_model(regression):
    X, y = regression
    a = GatedReLURegressor(n_gates=30, random_state=7).fit(X, y)
    b = GatedReLURegressor(n_gates=30, random_state=7).fit(X, y)
    c = GatedReLURegressor(n_gates=30, random_state=8).fit(X, y)
    np.testing.assert_array_equal(a.coef_, b.coef_)
    np.testing.assert_array_equal(a.predict(X), b.predict(X))
    assert a.gates_.shape != c.gates_.shape or not np.array_equal(a.gates_, c.gates_)


def test_user_gates_and_cvxpy_solver(regression):
    X, y = regression
    G = np.random.default_rng(3).standard_normal((5, 25))
    fista = GatedReLURegressor(gates=G, alpha=0.01, tol=1e-9).fit(X, y)
    exact = GatedReLURegressor(gates=G, alpha=0.01, solver="cvxpy").fit(X, y)
    assert fista.objective_ == pytest.approx(exact.objective_, rel=1e-6)
    np.testing.assert_allclose(fista.predict(X), exact.predict(X), atol=1e-4)
    # user gates are used as given: every representative gate is one of them, or the linear
    # part's zero gate (first)
    assert np.all(fista.gates_[:, 0] == 0)
    assert all(any(np.array_equal(g, G[:, j]) for j in range(25)) for g in fista.gates_[:, 1:].T)


def test_float32_is_honoured(regression):
    X, y = regression
    m32 = GatedReLURegressor(n_gates=30, random_state=0).fit(X.astype(np.float32), y)
    m64 = GatedReLURegressor(n_gates=30, random_state=0).fit(X, y)
    assert m32.coef_.dtype == np.float32
    assert m32.predict(X.astype(np.float32)).dtype == np.float32
    np.testing.assert_allclose(m32.predict(X), m64.predict(X), atol=5e-3 * np.abs(y).max())


@pytest.mark.slow
def test_pipeline_and_grid_search():
    X, y, _ = make_planted(200, 4, task="classification", random_state=1)
    pipe = make_pipeline(StandardScaler(), GatedReLUClassifier(n_gates=30, random_state=0))
    search = GridSearchCV(pipe, {"gatedreluclassifier__alpha": [1e-3, 1e-2]}, cv=3).fit(X, y)
    assert search.best_score_ > 0.85
    assert search.score(X, y) > 0.9


@pytest.mark.parametrize(
    "params, match",
    [
        (dict(alpha=-0.1), "alpha must be > 0"),
        (dict(n_gates=0), "n_gates must be >= 1"),
        (dict(solver="adam"), "Unknown solver 'adam'"),
        (dict(gates=np.ones((3, 4))), r"gates must have shape \(5, n_gates\)"),
        (dict(gates=np.ones((5, 4)), fit_intercept=False), r"gates must have shape \(4, n_gates\)"),
        (dict(tol=-1.0), "tol must be >= 0"),
        (dict(max_iter=0), "max_iter must be >= 1"),
    ],
)
def test_bad_parameters(regression, params, match):
    X, y = regression
    with pytest.raises(ValueError, match=match):
        GatedReLURegressor(**params).fit(X, y)


def test_bad_data(regression):
    X, y = regression
    Xn = X.copy()
    Xn[2, 1] = np.inf
    with pytest.raises(ValueError, match="infinity|NaN"):
        GatedReLURegressor().fit(Xn, y)
    with pytest.raises(ValueError, match="0 sample"):
        GatedReLURegressor().fit(X[:0], y[:0])
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        GatedReLURegressor().fit(X, y[:-1])
    with pytest.raises(ValueError, match="at least 2 classes"):
        GatedReLUClassifier().fit(X, np.zeros(len(X)))
    model = GatedReLURegressor(n_gates=10).fit(X, y)
    with pytest.raises(ValueError, match="features"):
        model.predict(X[:, :2])
