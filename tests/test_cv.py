"""Cross-validated estimators: scikit-learn conformance, agreement with a manual GridSearchCV over
the plain estimators, the refit, determinism across n_jobs, model files and clear errors."""

import numpy as np
import pytest
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.utils.estimator_checks import parametrize_with_checks

import gatedrelu
from gatedrelu import (
    GatedReLUClassifier,
    GatedReLUClassifierCV,
    GatedReLURegressor,
    GatedReLURegressorCV,
    load_model,
    save_model,
)
from gatedrelu import cv as cv_module
from gatedrelu.datasets import make_planted

RS = 3
N_GATES = 12
#: Tight tolerance of the GridSearchCV comparisons (see test_regressor_matches_grid_search).
TIGHT = 1e-10


@pytest.mark.slow
@parametrize_with_checks(
    [
        # tiny instances: each fit runs cv paths plus a refit, and every new shape compiles
        # tol=1e-10: check_sample_weight_equivalence compares fits at rtol 1e-7
        GatedReLURegressorCV(n_gates=3, n_alphas=2, cv=2, random_state=0, tol=1e-10),
        GatedReLUClassifierCV(n_gates=3, n_alphas=2, cv=2, random_state=0, tol=1e-10),
    ]
)
def test_sklearn_compatible(estimator, check):
    check(estimator)


@pytest.fixture(scope="module")
def regression():
    X, y, _ = make_planted(90, 3, noise=0.1, random_state=0)
    return X, y


@pytest.fixture(scope="module")
def classification():
    X, y, _ = make_planted(90, 3, task="classification", n_classes=3, random_state=1)
    return X, np.array(["ant", "bee", "cat"])[y]


#: Every fit on the same data uses the same gates and the same folds (KFold(3) for the
#: regressor, StratifiedKFold(3) for the classifier, as cv=3 means in GridSearchCV too), so the
#: solvers compiled for the first fit are reused by the others.
CV_PARAMS = dict(n_gates=N_GATES, cv=3, tol=TIGHT, random_state=RS)


@pytest.fixture(scope="module")
def regressor_cv(regression):
    X, y = regression
    return GatedReLURegressorCV(n_alphas=6, eps=1e-3, **CV_PARAMS).fit(X, y)


@pytest.fixture(scope="module")
def classifier_cv(classification):
    X, y = classification
    return GatedReLUClassifierCV(n_alphas=5, eps=1e-2, **CV_PARAMS).fit(X, y)


def _numpy_alpha_max(Xb, T, gates):
    """max_i ||X^T D_i y||_F / n over the gates, in plain numpy (a repeated or all-zero pattern
    changes nothing)."""
    masks = (Xb @ gates) >= 0
    T2 = T.reshape(len(T), -1)
    return max(np.linalg.norm(Xb.T @ (masks[:, [j]] * T2)) for j in range(masks.shape[1])) / len(Xb)


def test_automatic_grid_starts_at_alpha_max_of_the_full_data(regressor_cv, regression):
    X, y = regression
    Xb = np.hstack([X, np.ones((len(X), 1))])
    gates = np.random.default_rng(RS).standard_normal((Xb.shape[1], N_GATES))
    gates = np.hstack([np.zeros((Xb.shape[1], 1)), gates])  # the linear part's zero gate
    # the intercept centres the targets and the grid is in units of their scale
    amax = _numpy_alpha_max(Xb, (y - y.mean()) / y.std(), gates)
    np.testing.assert_allclose(regressor_cv.alphas_, amax * np.geomspace(1, 1e-3, 6), rtol=1e-12)
    assert regressor_cv.mse_path_.shape == (6, 3)


def test_regressor_matches_grid_search(regressor_cv, regression):
    X, y = regression
    search = GridSearchCV(
        GatedReLURegressor(n_gates=N_GATES, random_state=RS, tol=TIGHT),
        {"alpha": list(regressor_cv.alphas_)},  # decreasing: ties go to the largest alpha
        cv=3,
        scoring="neg_mean_squared_error",
    ).fit(X, y)
    reference = -np.column_stack([search.cv_results_[f"split{k}_test_score"] for k in range(3)])
    # Both sides stop at a relative duality gap <= TIGHT, so their fitted values differ by
    # O(sqrt(TIGHT * F)) (the loss is strongly convex in the fitted values); held-out predictions
    # and the MSE then agree to a relative O(sqrt(TIGHT)) = 1e-5. 1e-4 leaves a factor 10.
    np.testing.assert_allclose(regressor_cv.mse_path_, reference, rtol=1e-4)
    mean = np.sort(regressor_cv.mse_path_.mean(axis=1))
    assert mean[1] - mean[0] > 1e-3 * mean[0]  # the choice is not decided by solver noise
    assert regressor_cv.alpha_ == search.best_params_["alpha"]


def test_classifier_matches_grid_search(classifier_cv, classification):
    X, y = classification
    search = GridSearchCV(
        GatedReLUClassifier(n_gates=N_GATES, random_state=RS, tol=TIGHT),
        {"alpha": list(classifier_cv.alphas_)},
        cv=3,
        scoring="accuracy",
    ).fit(X, y)
    reference = np.column_stack([search.cv_results_[f"split{k}_test_score"] for k in range(3)])
    # accuracies are counts: with both solves certified to TIGHT no held-out prediction flips
    np.testing.assert_array_equal(classifier_cv.score_path_, reference)
    np.testing.assert_array_equal(classifier_cv.scores_path_, reference)
    assert classifier_cv.alpha_ == search.best_params_["alpha"]
    assert list(classifier_cv.classes_) == ["ant", "bee", "cat"]
    assert set(classifier_cv.predict(X)) <= {"ant", "bee", "cat"}
    assert classifier_cv.decision_function(X).shape == (len(X), 3)


@pytest.mark.parametrize("task", ["regression", "classification"])
def test_refit_is_the_plain_estimator_at_alpha_(task, request):
    X, y = request.getfixturevalue(task)
    model = request.getfixturevalue("regressor_cv" if task == "regression" else "classifier_cv")
    cls = GatedReLURegressor if task == "regression" else GatedReLUClassifier
    plain = cls(n_gates=N_GATES, alpha=model.alpha_, random_state=RS).fit(X, y)
    assert model.objective_ == pytest.approx(plain.objective_, rel=1e-6)
    # both are within their certified gaps of the same optimum
    assert abs(model.objective_ - plain.objective_) <= model.dual_gap_ + plain.dual_gap_
    assert model.dual_gap_ <= TIGHT * model.objective_  # certified at the tol it was given
    np.testing.assert_array_equal(model.gates_, plain.gates_)
    np.testing.assert_array_equal(model.patterns_.masks, plain.patterns_.masks)
    assert model.coef_.shape == plain.coef_.shape
    assert model.n_active_neurons_ == np.count_nonzero(
        np.linalg.norm(model.coef_.reshape(len(model.coef_), -1), axis=1)
    )
    scores = model.predict(X) if task == "regression" else model.decision_function(X)
    np.testing.assert_allclose(model.to_network().predict(X), scores, rtol=1e-10, atol=1e-12)
    if task == "classification":
        np.testing.assert_array_equal(model.classes_, plain.classes_)
        np.testing.assert_array_equal(model.predict(X), plain.predict(X))


def test_ties_go_to_the_largest_alpha(regression):
    X, y = regression
    Xb = np.hstack([X, np.ones((len(X), 1))])
    gates = np.random.default_rng(RS).standard_normal((Xb.shape[1], N_GATES))
    gates = np.hstack([np.zeros((Xb.shape[1], 1)), gates])  # the linear part's zero gate
    # the intercept centres the targets and the grid is in units of their scale
    amax = _numpy_alpha_max(Xb, (y - y.mean()) / y.std(), gates)
    # alphas far above alpha_max give U = 0 in every fold (a fold's own alpha_max may exceed
    # that of the full data, hence the margin): identical validation errors, those of the
    # intercept alone, mean((y_test - mean(y_train))^2)
    grid = [4 * amax, 16 * amax, 8 * amax]
    model = GatedReLURegressorCV(n_gates=N_GATES, alphas=grid, cv=3, random_state=RS).fit(X, y)
    np.testing.assert_array_equal(model.alphas_, [16 * amax, 8 * amax, 4 * amax])
    expected = [np.mean((y[test] - y[train].mean()) ** 2) for train, test in KFold(3).split(X)]
    np.testing.assert_allclose(model.mse_path_, np.tile(expected, (3, 1)), rtol=1e-12)
    assert np.all(model.mse_path_ == model.mse_path_[0])
    assert model.alpha_ == 16 * amax
    assert model.n_active_neurons_ == 0


def test_n_jobs_does_not_change_the_result(regression, classification, regressor_cv, classifier_cv):
    X, y = regression
    two = GatedReLURegressorCV(**{**regressor_cv.get_params(), "n_jobs": 2}).fit(X, y)
    np.testing.assert_array_equal(two.alphas_, regressor_cv.alphas_)
    np.testing.assert_array_equal(two.mse_path_, regressor_cv.mse_path_)
    np.testing.assert_array_equal(two.coef_, regressor_cv.coef_)
    assert two.alpha_ == regressor_cv.alpha_
    X, y = classification
    two = GatedReLUClassifierCV(**{**classifier_cv.get_params(), "n_jobs": -1}).fit(X, y)
    np.testing.assert_array_equal(two.score_path_, classifier_cv.score_path_)
    np.testing.assert_array_equal(two.coef_, classifier_cv.coef_)


def test_model_file_round_trip(regression, classification, regressor_cv, classifier_cv, tmp_path):
    for model, (X, _), path_attr in [
        (regressor_cv, regression, "mse_path_"),
        (classifier_cv, classification, "score_path_"),
    ]:
        loaded = load_model(save_model(model, tmp_path / "model.npz"))
        assert type(loaded) is type(model) and loaded.get_params() == model.get_params()
        assert loaded.alpha_ == model.alpha_
        np.testing.assert_array_equal(loaded.alphas_, model.alphas_)
        np.testing.assert_array_equal(getattr(loaded, path_attr), getattr(model, path_attr))
        np.testing.assert_array_equal(loaded.coef_, model.coef_)
        np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
        np.testing.assert_array_equal(loaded.to_network().predict(X), model.to_network().predict(X))


@pytest.mark.parametrize(
    "params, error, match",
    [
        (dict(solver="adam"), ValueError, "Unknown solver 'adam'"),
        (dict(alphas=[0.1, -0.01]), ValueError, "alphas must all be > 0"),
        (dict(alphas=[0.1, 0.0]), ValueError, "alphas must all be > 0"),
        (dict(alphas=[0.1, np.nan]), ValueError, "alphas contains 1 NaN or infinite"),
        (dict(alphas=[np.inf]), ValueError, "alphas contains 1 NaN or infinite"),
        (dict(alphas=[]), ValueError, "alphas is empty"),
        (dict(alphas=0.1), ValueError, "alphas must be 1-dimensional"),
        (dict(n_alphas=0), ValueError, "n_alphas must be >= 1"),
        (dict(n_alphas=2.5), TypeError, "n_alphas must be an integer"),
        (dict(eps=0.0), ValueError, "eps must be > 0"),
        (dict(eps=1.0), ValueError, r"eps must be in \(0, 1\)"),
        (dict(eps=np.nan), ValueError, "eps must be finite"),
        (dict(cv=1), ValueError, r"Invalid cv=1: .*n_splits=2 or more"),
        (dict(cv="five"), ValueError, "Invalid cv='five': Expected `cv` as an integer"),
        (dict(cv=1000), ValueError, "Invalid cv=1000: .*greater than the number of samples"),
        (
            dict(cv=[(np.arange(5), np.arange(5, 5))]),
            ValueError,
            "split 0 has 5 training and 0 test",
        ),
        (dict(n_jobs=0), ValueError, "n_jobs must be None or a non-zero integer"),
        (dict(n_gates=0), ValueError, "n_gates must be >= 1"),
        (dict(tol=-1.0), ValueError, "tol must be >= 0"),
        (dict(max_iter=0), ValueError, "max_iter must be >= 1"),
        (dict(fit_intercept="yes"), TypeError, "fit_intercept must be a bool"),
    ],
)
def test_bad_parameters(regression, params, error, match):
    X, y = regression
    with pytest.raises(error, match=match):
        GatedReLURegressorCV(**{"n_gates": N_GATES, **params}).fit(X, y)


def test_bad_parameters_classifier(classification):
    X, y = classification
    with pytest.raises(ValueError, match="Unknown solver 'adam'"):
        GatedReLUClassifierCV(solver="adam").fit(X, y)
    # stratified folds: some class must have at least as many members as there are folds
    too_many = int(np.unique(y, return_counts=True)[1].max()) + 1
    assert too_many < len(y)
    with pytest.raises(ValueError, match=f"Invalid cv={too_many}: .*members in each class"):
        GatedReLUClassifierCV(cv=too_many).fit(X, y)
    with pytest.raises(ValueError, match="at least 2 classes"):
        GatedReLUClassifierCV().fit(X, np.zeros(len(X)))
