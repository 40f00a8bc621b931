"""Logistic and multinomial losses: the programs, their certificates and the classifiers.

Checked against independent references:

* the CVXPY/Clarabel optimum (the classifiers' objectives, weighted problems written here);
* closed forms: the objective at U = 0 (log 2, log K), alpha_max, and the identity between
  two-class multinomial at alpha and logistic at alpha / sqrt(2) (docs/math.md);
* probabilities: the sigmoid / softmax of ``decision_function``, rows summing to 1, finite
  logarithms for confident predictions;
* scikit-learn: ``check_estimator`` for both classifiers with both losses, ``roc_auc_ovr``
  cross-validation, calibration of the squared loss;
* sample weights: integer weights equal repeated rows and zero weights removed rows;
* bad input: clear errors.

The generic solver and dual checks of every datafit are in ``tests/test_solvers.py``.
"""

import warnings

import cvxpy as cp
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_iris
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import cross_val_score
from sklearn.utils.estimator_checks import parametrize_with_checks

from gatedrelu import (
    GatedReLUClassifier,
    GatedReLUClassifierCV,
    activation_patterns,
    alpha_max,
    objective,
    sample_gates,
    solve_group_lasso,
)
from gatedrelu.problem.datafits import DATAFITS, Logistic, Multinomial
from tests.helpers import planted_problem

LOSSES = ("logistic", "multinomial")


@pytest.fixture(scope="module")
def binary():
    """Two noisy classes from a ReLU teacher (never separable)."""
    X, scores, p = planted_problem(n=90, d=3, m=20, seed=3, noise=0.0)
    rng = np.random.default_rng(3)
    s = np.where(rng.random(90) < 1 / (1 + np.exp(-2 * scores / scores.std())), 1.0, -1.0)
    return X, s, p


def test_registered():
    assert DATAFITS["logistic"] is Logistic and DATAFITS["multinomial"] is Multinomial


# --------------------------------------------------------------------------- the programs


def test_closed_forms_at_zero(binary):
    X, s, p = binary
    n = len(s)
    Y = np.stack([s < 0, s > 0, np.zeros(n, bool)], axis=1).astype(float)
    Y[::7] = [0, 0, 1]
    U1, U3 = np.zeros((p.n_patterns, 3)), np.zeros((p.n_patterns, 3, 3))
    assert objective(X, s, p, U1, 1.0, loss="logistic") == pytest.approx(np.log(2), rel=1e-15)
    assert objective(X, Y, p, U3, 1.0, loss="multinomial") == pytest.approx(np.log(3), rel=1e-15)
    # alpha_max = max_i ||X^T D_i theta0(0)||: y/(2n) for logistic, (Y - 1/K)/n for multinomial
    M = p.masks
    logistic_max = max(np.linalg.norm(X.T @ (M[:, i] * s)) for i in range(p.n_patterns)) / (2 * n)
    R = Y - 1 / 3
    multi_max = max(np.linalg.norm(X.T @ (M[:, [i]] * R)) for i in range(p.n_patterns)) / n
    assert alpha_max(X, s, p, loss="logistic") == pytest.approx(logistic_max, rel=1e-12)
    assert alpha_max(X, Y, p, loss="multinomial") == pytest.approx(multi_max, rel=1e-12)
    # at alpha_max the solution is zero, just below it is not
    a = alpha_max(X, s, p, loss="logistic")
    assert solve_group_lasso(X, s, p, a, loss="logistic").n_active == 0
    assert solve_group_lasso(X, s, p, 0.99 * a, loss="logistic").n_active > 0


def test_two_class_multinomial_is_logistic_at_alpha_over_sqrt2(binary):
    """docs/math.md: with K = 2 only a_i - b_i matters and ||(a, b)|| >= ||a - b|| / sqrt(2)."""
    X, s, p = binary
    Y = np.stack([s < 0, s > 0], axis=1).astype(float)  # class 2 <-> s = +1
    alpha = 0.05 * alpha_max(X, Y, p, loss="multinomial")
    assert alpha_max(X, Y, p, loss="multinomial") == pytest.approx(
        np.sqrt(2) * alpha_max(X, s, p, loss="logistic"), rel=1e-12)
    multi = solve_group_lasso(X, Y, p, alpha, loss="multinomial", tol=1e-10)
    logi = solve_group_lasso(X, s, p, alpha / np.sqrt(2), loss="logistic", tol=1e-10)
    assert multi.objective == pytest.approx(logi.objective, rel=1e-8)
    # the optimal groups are (v/2, -v/2) up to a common shift, v the logistic groups
    np.testing.assert_allclose(multi.coef[..., 1] - multi.coef[..., 0], logi.coef, atol=1e-5)
    np.testing.assert_allclose(multi.coef[..., 1], -multi.coef[..., 0], atol=1e-5)


def test_dual_domains():
    """The conjugates are -inf outside their domains and finite on the scaled dual points."""
    rng = np.random.default_rng(0)
    n = 6
    s = np.array([1.0, -1, 1, -1, 1, -1])
    w = np.array([1.0, 2, 0, 1, 0.5, 1.5])
    y = s * w  # weighted logistic targets (a zero weight in the middle)
    theta = Logistic.dual_point(rng.standard_normal(n), y)
    for t in (1.0, 0.5, 1e-3):
        assert np.isfinite(Logistic.dual_value(t * theta, y))
    assert theta[2] == 0  # a zero target fixes theta_k = 0
    bad = theta.copy()
    bad[2] = 1e-3
    assert Logistic.dual_value(bad, y) == -np.inf
    assert Logistic.dual_value(-theta, y) == -np.inf  # wrong sign: a_k < 0
    over = theta.copy()
    over[0] = 1.01 * w[0] / n  # a_k > c_k
    assert Logistic.dual_value(over, y) == -np.inf
    Y = np.eye(3)[[0, 1, 2, 0, 1, 2]] * w[:, None]
    Theta = Multinomial.dual_point(rng.standard_normal((n, 3)), Y)
    np.testing.assert_allclose(Theta.sum(axis=1), 0, atol=1e-16)
    for t in (1.0, 0.5, 1e-3):
        assert np.isfinite(Multinomial.dual_value(t * Theta, Y))
    assert Multinomial.dual_value(Theta + 1e-3, Y) == -np.inf  # rows must sum to zero
    big = Theta.copy()
    big[0] = [-1.0, 0.5, 0.5]  # q = y - n theta < 0 somewhere
    assert Multinomial.dual_value(big, Y) == -np.inf


@pytest.mark.parametrize("loss", LOSSES)
def test_weighted_solve_reaches_a_weighted_cvxpy_model(binary, loss):
    """The weighted loss is (1/sum w) sum_k w_k l_k: a CVXPY model written here, not ours."""
    X, s, p = binary
    w = np.random.default_rng(1).uniform(0, 3, len(s))
    w[:5] = 0
    if loss == "logistic":
        y = s
        def data_term(pred):
            return cp.sum(cp.multiply(w, cp.logistic(cp.multiply(-s, pred)))) / w.sum()
    else:
        y = np.stack([s < 0, s > 0, np.zeros(len(s), bool)], axis=1).astype(float)
        y[1::6] = [0, 0, 1]
        def data_term(pred):
            return (cp.sum(cp.multiply(w, cp.log_sum_exp(pred, axis=1)))
                    - cp.sum(cp.multiply(w[:, None] * y, pred))) / w.sum()
    alpha = 0.05 * alpha_max(X, y, p, loss=loss, sample_weight=w)
    c = 1 if y.ndim == 1 else y.shape[1]
    Us = [cp.Variable((X.shape[1], p.n_patterns)) for _ in range(c)]
    Mf = p.masks.astype(float)
    cols = [cp.sum(cp.multiply(Mf, X @ U), axis=1) for U in Us]
    pred = cols[0] if c == 1 else cp.vstack(cols).T
    stacked = Us[0] if c == 1 else cp.vstack(Us)
    model = cp.Problem(cp.Minimize(data_term(pred) + alpha * cp.sum(cp.norm(stacked, 2, axis=0))))
    model.solve(solver=cp.CLARABEL, tol_gap_abs=1e-10, tol_gap_rel=1e-10, tol_feas=1e-10)
    res = solve_group_lasso(X, y, p, alpha, loss=loss, tol=1e-9, sample_weight=w)
    assert res.converged
    assert res.objective == pytest.approx(model.value, rel=1e-6)
    assert res.objective - res.dual_gap <= model.value * (1 + 1e-9)  # the gap is honest
    # integer weights: the model of repeated rows
    k = np.random.default_rng(2).integers(0, 4, len(s))
    a = solve_group_lasso(X, y, p, alpha, loss=loss, tol=1e-11, sample_weight=k)
    b = solve_group_lasso(np.repeat(X, k, 0), np.repeat(y, k, 0), np.repeat(p.masks, k, 0), alpha,
                          loss=loss, tol=1e-11)
    assert a.objective == pytest.approx(b.objective, rel=1e-9)
    np.testing.assert_allclose(a.coef, b.coef, atol=1e-6)


@pytest.mark.parametrize("loss", LOSSES)
def test_float32_matches_float64(binary, loss):
    X, s, p = binary
    y = s if loss == "logistic" else np.stack([s < 0, s > 0], axis=1).astype(float)
    alpha = 0.02 * alpha_max(X, y, p, loss=loss)
    r64 = solve_group_lasso(X, y, p, alpha, loss=loss, tol=1e-9)
    r32 = solve_group_lasso(X.astype(np.float32), y.astype(np.float32), p, alpha, loss=loss, tol=1e-5)
    assert r32.coef.dtype == np.float32 and r32.converged
    assert r32.objective == pytest.approx(r64.objective, rel=2e-5)


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "loss, y, match",
    [
        ("logistic", lambda s: (s > 0).astype(float), r"targets in \{-1, \+1\}.*2 \* y - 1"),
        ("logistic", lambda s: 0.5 * s, r"targets in \{-1, \+1\}"),
        ("multinomial", lambda s: s, r"shape \(n_samples, n_classes\)"),
        ("multinomial", lambda s: (s > 0).astype(float)[:, None], "n_classes >= 2"),
        ("multinomial", lambda s: np.stack([s, -s], axis=1), "one-hot rows"),
        ("multinomial", lambda s: 2 * np.stack([s > 0, s < 0], axis=1).astype(float), "one-hot rows"),
    ],
)
def test_bad_targets_are_refused(binary, loss, y, match):
    X, s, p = binary
    with pytest.raises(ValueError, match=match):
        solve_group_lasso(X, y(s), p, 0.1, loss=loss)


def test_bad_loss_parameters():
    X, y = load_iris(return_X_y=True)
    with pytest.raises(ValueError, match="Only binary classification.*loss='multinomial'"):
        GatedReLUClassifier(loss="logistic", n_gates=5).fit(X, y)
    with pytest.raises(ValueError, match="Only binary classification.*loss='multinomial'"):
        GatedReLUClassifierCV(loss="logistic", n_gates=5, n_alphas=2, cv=2).fit(X, y)
    for Est in (GatedReLUClassifier, GatedReLUClassifierCV):
        with pytest.raises(ValueError, match="Unknown loss 'hinge'; expected one of 'squared', 'logistic', 'multinomial'"):
            Est(loss="hinge", n_gates=5).fit(X, y)
    with pytest.raises(ValueError, match="Unknown loss 'hinge'"):
        solve_group_lasso(X, y, np.ones((150, 1), bool), 0.1, loss="hinge")


@pytest.mark.parametrize("Est", [GatedReLUClassifier, GatedReLUClassifierCV])
def test_no_probabilities_with_the_squared_loss(Est):
    X, y = noisy_labels(40, 3, seed=1)
    kw = dict(n_gates=5) if Est is GatedReLUClassifier else dict(n_gates=5, n_alphas=2, eps=0.1, cv=2)
    for clf in (Est(**kw), Est(**kw).fit(X, y)):  # unfitted and fitted
        for name in ("predict_proba", "predict_log_proba"):
            assert not hasattr(clf, name)
            with pytest.raises(AttributeError, match=f"loss='squared' has no {name}.*CalibratedClassifierCV"):
                getattr(clf, name)(X)
    assert hasattr(Est(loss="multinomial"), "predict_proba")
    assert hasattr(Est(loss="logistic"), "predict_log_proba")
    assert not hasattr(Est(loss="hinge"), "predict_proba")


# --------------------------------------------------------------------------- classifiers


@pytest.mark.parametrize("loss", LOSSES)
def test_classifier_solves_the_program_and_gives_probabilities(loss):
    X, y = load_iris(return_X_y=True)
    X = (X - X.mean(0)) / X.std(0)
    if loss == "logistic":
        y = np.where(y == 2, "virginica", "other")  # string labels, two classes
    clf = GatedReLUClassifier(n_gates=30, alpha=1e-2, loss=loss, random_state=0, tol=1e-9).fit(X, y)
    Xb = np.hstack([X, np.ones((len(X), 1))])
    # the linear part's zero gate first (linear=True)
    p = activation_patterns(Xb, np.hstack([np.zeros((5, 1)), sample_gates(5, 30, random_state=0)]))
    T = (y == clf.classes_[1]) * 2.0 - 1 if loss == "logistic" else np.eye(3)[y]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ref = solve_group_lasso(Xb, T, p, 1e-2, loss=loss, solver="cvxpy")
    assert clf.objective_ == pytest.approx(ref.objective, rel=1e-6)
    assert clf.dual_gap_ <= 1e-9 * clf.objective_
    scores = clf.decision_function(X)
    proba = clf.predict_proba(X)
    log_proba = clf.predict_log_proba(X)
    assert proba.shape == (150, len(clf.classes_))
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-14)
    np.testing.assert_allclose(np.exp(log_proba), proba, rtol=1e-14)
    if loss == "logistic":
        assert scores.shape == (150,)
        np.testing.assert_allclose(proba[:, 1], 1 / (1 + np.exp(-scores)), rtol=1e-12)
    else:
        e = np.exp(scores - scores.max(axis=1, keepdims=True))
        np.testing.assert_allclose(proba, e / e.sum(axis=1, keepdims=True), rtol=1e-12)
    np.testing.assert_array_equal(clf.predict(X), clf.classes_[np.argmax(proba, axis=1)])
    assert clf.score(X, y) > 0.9
    # the equivalent network computes the same scores
    np.testing.assert_allclose(clf.to_network().predict(X), scores, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("loss", LOSSES)
def test_model_files_keep_the_loss(tmp_path, loss):
    from gatedrelu import load_model, save_model

    X, y = noisy_labels(60, 2 if loss == "logistic" else 3, seed=4)
    clf = GatedReLUClassifier(n_gates=10, alpha=1e-2, loss=loss, random_state=0).fit(X, y)
    back = load_model(save_model(clf, tmp_path / "m.npz"))
    assert back.loss == loss
    np.testing.assert_array_equal(back.predict_proba(X), clf.predict_proba(X))


def test_two_class_multinomial_scores_are_log_odds():
    X, y = load_iris(return_X_y=True)
    y = y == 0
    clf = GatedReLUClassifier(n_gates=20, alpha=1e-2, loss="multinomial", random_state=1).fit(X, y)
    assert clf.coef_.shape[-1] == 2  # two outputs
    raw = clf.to_network().predict(X)
    d = clf.decision_function(X)
    np.testing.assert_allclose(d, raw[:, 1] - raw[:, 0], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(clf.predict_proba(X)[:, 1], 1 / (1 + np.exp(-d)), rtol=1e-12)
    # confident predictions keep finite, exact log-probabilities
    far = clf.predict_log_proba(100 * X)
    assert np.all(np.isfinite(far)) and np.all(far <= 0)


@pytest.mark.slow
def test_roc_auc_ovr_cross_validation():
    X, y = load_iris(return_X_y=True)
    scores = cross_val_score(GatedReLUClassifier(n_gates=20, alpha=1e-2, loss="multinomial",
                                                 random_state=0), X, y, scoring="roc_auc_ovr", cv=3)
    assert np.all(np.isfinite(scores)) and scores.mean() > 0.95


def noisy_labels(n, n_classes, seed):
    """Inputs N(0, I_3) and labels drawn from the softmax of a random ReLU teacher's scores
    (every class present, never separable)."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 3))
    S = 3 * np.maximum(X @ rng.standard_normal((3, 4)), 0) @ rng.standard_normal((4, n_classes))
    P = np.exp(S - S.max(axis=1, keepdims=True))
    y = (rng.random((n, 1)) > np.cumsum(P / P.sum(axis=1, keepdims=True), axis=1)).sum(axis=1)
    assert np.all(np.bincount(y, minlength=n_classes) > 0)
    return X, y


@pytest.mark.slow
@pytest.mark.parametrize("loss", LOSSES)
def test_cv_classifier_uses_its_loss(loss):
    X, y = noisy_labels(120, 2 if loss == "logistic" else 3, seed=2)
    cv = GatedReLUClassifierCV(n_gates=15, n_alphas=4, eps=0.05, cv=3, loss=loss, random_state=0,
                               tol=1e-9).fit(X, y)
    # the grid starts at alpha_max of this loss, and the refit is the plain classifier at alpha_
    Xb = np.hstack([X, np.ones((len(X), 1))])
    T = 2.0 * y - 1 if loss == "logistic" else np.eye(3)[y]
    p = activation_patterns(Xb, cv.gates_)
    assert cv.alphas_[0] == pytest.approx(alpha_max(Xb, T, p, loss=loss), rel=1e-9)
    refit = GatedReLUClassifier(alpha=cv.alpha_, gates=cv.gates_, loss=loss, tol=1e-9).fit(X, y)
    assert cv.objective_ == pytest.approx(refit.objective_, rel=1e-9)
    np.testing.assert_allclose(cv.predict_proba(X), refit.predict_proba(X), rtol=1e-6, atol=1e-9)
    assert cv.score_path_.shape == (4, 3)


@pytest.mark.slow
@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("Est", [GatedReLUClassifier, GatedReLUClassifierCV])
def test_integer_weights_and_zeros_equal_repeating_and_removing_rows(Est, loss):
    X, y = noisy_labels(50, 2 if loss == "logistic" else 3, seed=5)
    w = np.random.default_rng(5).integers(0, 4, len(y))
    if Est is GatedReLUClassifierCV:
        est = Est(n_gates=8, n_alphas=3, eps=0.05, loss=loss, tol=1e-10, random_state=0)
        fold = np.arange(len(y)) % 3  # the same folds for both fits
        rep = np.repeat(fold, w)
        a = clone(est).set_params(cv=[(np.flatnonzero(fold != k), np.flatnonzero(fold == k))
                                      for k in range(3)]).fit(X, y, sample_weight=w)
        b = clone(est).set_params(cv=[(np.flatnonzero(rep != k), np.flatnonzero(rep == k))
                                      for k in range(3)]).fit(np.repeat(X, w, 0), np.repeat(y, w))
        assert a.alpha_ == pytest.approx(b.alpha_, rel=1e-12)
    else:
        est = Est(n_gates=15, alpha=1e-2, loss=loss, tol=1e-10, random_state=0)
        a = clone(est).fit(X, y, sample_weight=w)
        b = clone(est).fit(np.repeat(X, w, 0), np.repeat(y, w))
    Xt = np.random.default_rng(9).standard_normal((30, 3))
    np.testing.assert_allclose(a.predict_proba(Xt), b.predict_proba(Xt), rtol=1e-6, atol=1e-8)
    assert a.objective_ == pytest.approx(b.objective_, rel=1e-8)


# tiny instances, tol=1e-10: check_sample_weight_equivalence compares fits at rtol 1e-7; alpha
# (and the CV grid) not far below alpha_max, so that these tight solves stay short
@pytest.mark.slow
@parametrize_with_checks(
    [GatedReLUClassifier(n_gates=10, alpha=0.05, tol=1e-8, loss=loss) for loss in LOSSES]
    + [GatedReLUClassifierCV(n_gates=3, n_alphas=2, eps=0.2, cv=2, random_state=0, tol=1e-8,
                             loss=loss) for loss in LOSSES]
)
def test_sklearn_compatible(estimator, check):
    check(estimator)


@pytest.mark.parametrize("weighted", [False, True])
def test_centred_kernel_is_the_projector_on_both_sides(weighted):
    """``centre_kernel(K) = P K P`` with the explicit projector ``I - s s^T / s^T s`` (newton's
    centred kernel), in place."""
    from gatedrelu.problem.datafits.centred import CentredQuadratic

    rng = np.random.default_rng(4)
    n = 9
    A = rng.standard_normal((n, n))
    K = A @ A.T
    s = rng.uniform(0.3, 2.0, n) if weighted else np.ones(n)
    proj = np.eye(n) - np.outer(s, s) / (s @ s)
    work = K.copy()
    out = CentredQuadratic(s if weighted else None).centre_kernel(work)
    assert out is work
    np.testing.assert_allclose(out, proj @ K @ proj, atol=1e-12)
