"""The defaults that give a good model: the unpenalised intercept, the scale-free alpha and the
linear part (``docs/math.md``, "Intercept, scale and linear part")."""

from __future__ import annotations

import numpy as np
import pytest

from gatedrelu import (
    GatedReLUClassifier,
    GatedReLURegressor,
    GatedReLURegressorCV,
    alpha_max,
    solve_group_lasso,
)
from gatedrelu.patterns import activation_patterns, sample_gates


def _data(n=40, d=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    y = np.sin(2 * X[:, 0]) + X[:, 1] * X[:, 2] + 0.1 * rng.standard_normal(n) + 40.0
    return X, y


def _cvxpy_with_intercept(Xb, y, masks, alpha, w):
    """min_{U, b} (1 / (2 sum w)) sum_k w_k (A(U)_k + b - y_k)^2 + alpha sum_i ||u_i||, with an
    explicit free intercept variable b (independent of the profiled formulation)."""
    import cvxpy as cp

    n, d = Xb.shape
    P = masks.shape[1]
    U, b = cp.Variable((P, d)), cp.Variable()
    pred = sum(cp.multiply(masks[:, i].astype(float), Xb @ U[i]) for i in range(P)) + b
    w = np.ones(n) if w is None else np.asarray(w, float)
    loss = cp.sum(cp.multiply(w / w.sum(), cp.square(pred - y))) / 2
    model = cp.Problem(cp.Minimize(loss + alpha * cp.sum(cp.norm(U, 2, axis=1))))
    model.solve(solver=cp.CLARABEL)
    return model.value, float(b.value)


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("fraction", [0.3, 0.03])
def test_intercept_gap_is_a_true_bound(weighted, fraction):
    """squared_intercept: the reported gap bounds F(U) - F* where F* is CVXPY's optimum of the
    problem with an explicit free intercept, and the profiled intercept is CVXPY's."""
    X, y = _data()
    Xb = np.hstack([X, np.ones((len(X), 1))])
    p = activation_patterns(Xb, sample_gates(4, 12, random_state=1))
    w = np.random.default_rng(3).uniform(0.2, 3.0, len(y)) if weighted else None
    alpha = fraction * alpha_max(Xb, y, p, loss="squared_intercept", sample_weight=w)
    F_ref, b_ref = _cvxpy_with_intercept(Xb, y, p.masks, alpha, w)
    # a loose solve: its gap must still bound its suboptimality
    loose = solve_group_lasso(Xb, y, p, alpha, loss="squared_intercept", sample_weight=w,
                              tol=1e-3, solver="fista")
    assert 0 <= loose.objective - F_ref <= loose.dual_gap + 1e-10
    res = solve_group_lasso(Xb, y, p, alpha, loss="squared_intercept", sample_weight=w, tol=1e-10)
    assert res.converged
    assert res.objective - F_ref <= res.dual_gap + 1e-10
    assert res.objective == pytest.approx(F_ref, rel=1e-6)
    assert res.intercept == pytest.approx(b_ref, abs=1e-4)
    # the intercept is the weighted mean residual of the reported coefficients
    from gatedrelu.operator import forward

    resid = y - np.asarray(forward(Xb, p.masks, res.coef))
    assert res.intercept == pytest.approx(np.average(resid, weights=w), rel=1e-12)


def test_alpha_max_with_intercept_is_exact():
    """At alpha_max the certified solution is U = 0 with b = weighted mean(y); just below, not."""
    X, y = _data(seed=4)
    Xb = np.hstack([X, np.ones((len(X), 1))])
    p = activation_patterns(Xb, sample_gates(4, 10, random_state=0))
    w = np.random.default_rng(1).uniform(0.5, 2.0, len(y))
    amax = alpha_max(Xb, y, p, loss="squared_intercept", sample_weight=w)
    at = solve_group_lasso(Xb, y, p, amax, loss="squared_intercept", sample_weight=w, tol=1e-10)
    assert np.all(at.coef == 0) and at.intercept == pytest.approx(np.average(y, weights=w))
    below = solve_group_lasso(Xb, y, p, 0.99 * amax, loss="squared_intercept", sample_weight=w,
                              tol=1e-10)
    assert np.any(below.coef != 0)


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_regressor_predictions_follow_the_targets(weighted):
    """Default regressor: y + c gives predictions + c, c y gives c predictions (to the solver's
    tolerance), with or without sample weights."""
    X, y = _data(n=60, seed=2)
    w = np.random.default_rng(0).uniform(0.2, 3.0, len(y)) if weighted else None
    X_new = np.random.default_rng(9).standard_normal((30, X.shape[1]))
    kw = dict(n_gates=30, random_state=0, tol=1e-9)
    base = GatedReLURegressor(**kw).fit(X, y, sample_weight=w)
    ref = base.predict(X_new)
    spread = np.ptp(ref)
    for shift, scale in ((1000.0, 1.0), (0.0, 1e-3), (3.0, -40.0)):
        m = GatedReLURegressor(**kw).fit(X, scale * y + shift, sample_weight=w)
        np.testing.assert_allclose(m.predict(X_new), scale * ref + shift,
                                   rtol=0, atol=1e-5 * abs(scale) * spread)
        assert m.target_scale_ == pytest.approx(abs(scale) * base.target_scale_, rel=1e-12)
        assert m.objective_ == pytest.approx(scale**2 * base.objective_, rel=1e-6)


def test_regressor_cv_predictions_follow_the_targets():
    X, y = _data(n=50, seed=5)
    kw = dict(n_gates=20, random_state=0, n_alphas=5, eps=1e-2, cv=3, tol=1e-9)
    base = GatedReLURegressorCV(**kw).fit(X, y)
    moved = GatedReLURegressorCV(**kw).fit(X, 25.0 * y - 300.0)
    assert moved.alpha_ == pytest.approx(base.alpha_, rel=1e-12)  # the grid is in units of the targets' scale
    np.testing.assert_allclose(moved.predict(X), 25.0 * base.predict(X) - 300.0,
                               rtol=0, atol=1e-4 * 25.0 * np.ptp(base.predict(X)))


def test_regressor_objective_is_the_group_lasso_in_user_units():
    """objective_, dual_gap_ and coef_ are those of (GL) with the intercept at alpha *
    target_scale_ on the user's targets, recomputed independently."""
    from gatedrelu import duality_gap, objective

    X, y = _data(n=50, seed=6)
    est = GatedReLURegressor(n_gates=15, alpha=0.05, random_state=0, tol=1e-9).fit(X, 30 * y)
    Xb = np.hstack([X, np.ones((len(X), 1))])
    a = 0.05 * est.target_scale_
    F = objective(Xb, 30 * y, est.patterns_, est.coef_, a, loss="squared_intercept")
    assert est.objective_ == pytest.approx(F, rel=1e-9)
    gap = duality_gap(Xb, 30 * y, est.patterns_, est.coef_, a, loss="squared_intercept")
    assert gap <= 1e-8 * F


@pytest.mark.parametrize("kind", ["regressor", "multioutput", "classifier"])
def test_linear_part_is_the_always_on_neuron(kind):
    """linear=True adds the zero gate (always on): its pattern is all ones, it is exported as a
    neuron of the network, and the network (with its intercept) predicts as the estimator."""
    rng = np.random.default_rng(1)
    X = rng.standard_normal((80, 3))
    if kind == "classifier":
        est = GatedReLUClassifier(n_gates=10, alpha=1e-2, random_state=0)
        y = np.digitize(X[:, 0] + X[:, 1] ** 2, [0, 1.5])
    else:
        est = GatedReLURegressor(n_gates=10, alpha=1e-2, random_state=0)
        y = X @ [1.0, -2.0, 0.5] + 3 + 0.1 * rng.standard_normal(80)
        if kind == "multioutput":
            y = np.c_[y, -y + X[:, 0] ** 2]
    est.fit(X, y)
    assert np.all(est.gates_[:, 0] == 0) and est.patterns_.masks[:, 0].all()
    net = est.to_network()
    X_new = 5 * rng.standard_normal((40, 3))  # far from the data: the gate stays on
    scores = est.decision_function(X_new) if kind == "classifier" else est.predict(X_new)
    out = net.predict(X_new)
    if kind == "classifier":
        out = out  # three classes: one score per class
    np.testing.assert_allclose(out, scores, rtol=1e-10, atol=1e-10)
    if kind == "regressor":
        # nearly linear data: the linear part carries the fit
        w = net.linear_part
        assert w.shape == (4,)
        np.testing.assert_allclose(w[:3], [1.0, -2.0, 0.5], atol=0.15)


def test_linear_model_is_in_the_model_class():
    """On exactly linear targets and a small alpha, linear=True fits them almost exactly with
    the linear group alone; without it, a sum of gated neurons is needed."""
    rng = np.random.default_rng(3)
    X = rng.standard_normal((60, 4))
    y = X @ [2.0, -1.0, 0.5, 1.5] - 4.0
    on = GatedReLURegressor(n_gates=20, alpha=1e-3, random_state=0, tol=1e-9).fit(X, y)
    off = GatedReLURegressor(n_gates=20, alpha=1e-3, random_state=0, tol=1e-9,
                             linear=False).fit(X, y)
    assert on.n_active_neurons_ == 1 and np.linalg.norm(on.coef_[0]) > 0
    assert on.objective_ < off.objective_
    assert on.score(X, y) > 0.999


def test_linear_must_be_a_bool():
    X, y = _data()
    with pytest.raises(TypeError, match="linear must be a bool"):
        GatedReLURegressor(linear="yes").fit(X, y)


def test_models_without_intercept_attribute_still_load_and_predict(tmp_path):
    """Model files written before the intercept existed have no intercept_: they load and
    predict as they did (b = 0), through save_model / load_model."""
    from gatedrelu.io import load_model, save_model
    from gatedrelu.operator import forward

    X, y = _data(n=40, seed=7)
    est = GatedReLURegressor(n_gates=8, random_state=0).fit(X, y)
    del est.intercept_, est.target_scale_  # the attributes of an older version
    save_model(est, tmp_path / "old.npz")
    loaded = load_model(tmp_path / "old.npz")
    Xb = np.hstack([X, np.ones((len(X), 1))])
    masks = (Xb @ est.gates_) >= 0
    np.testing.assert_allclose(loaded.predict(X), np.asarray(forward(Xb, masks, est.coef_)),
                               rtol=1e-12, atol=1e-12)
    assert loaded.to_network().intercept == 0.0
