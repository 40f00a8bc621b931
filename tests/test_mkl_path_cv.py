"""The kernel path chosen by cross-validation (MKLPathRegressorCV, MKLPathClassifierCV).

Reference: scikit-learn's GridSearchCV over ``MKL*(kernel="irls")`` with parameters ``alpha``
and ``n_irls`` on the same folds must score every candidate identically and choose the same
``(alpha, iterate)``; both ends of the path (the NTK and the optimal kernel) are candidates.
"""

import numpy as np
import pytest
from sklearn.model_selection import GridSearchCV, KFold, StratifiedKFold
from sklearn.utils.estimator_checks import parametrize_with_checks

from gatedrelu import MKLClassifier, MKLPathClassifierCV, MKLPathRegressorCV, MKLRegressor
from gatedrelu.mkl import DEFAULT_MAX_ITER


def _data(classifier, n=120, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 3))
    score = np.maximum(X @ np.array([1.0, -2.0, 0.5]), 0) - 0.3 + 0.3 * rng.standard_normal(n)
    return X, ((score > 0).astype(int) if classifier else score)


@pytest.mark.slow
@pytest.mark.parametrize("classifier", [True, False], ids=["classifier", "regressor"])
def test_choice_equals_grid_search_with_the_same_folds(classifier):
    X, y = _data(classifier)
    splitter = StratifiedKFold if classifier else KFold
    cv = list(splitter(3, shuffle=True, random_state=0).split(X, y))
    PathCV, Base = (MKLPathClassifierCV, MKLClassifier) if classifier else (MKLPathRegressorCV, MKLRegressor)
    model = PathCV(n_gates=20, n_alphas=3, eps=1e-2, iterates=(0, 1, 4, "optimal"), cv=cv,
                   random_state=0).fit(X, y)
    grid = GridSearchCV(Base(kernel="irls", n_gates=20, random_state=0),
                        {"alpha": model.alphas_, "n_irls": list(model.iterates_)}, cv=cv).fit(X, y)
    np.testing.assert_allclose(model.path_scores_.mean(axis=2).ravel(),
                               grid.cv_results_["mean_test_score"], rtol=1e-10, atol=1e-12)
    assert model.alpha_ == grid.best_params_["alpha"]
    assert model.iterate_ == grid.best_params_["n_irls"]
    # the refit is the grid search's refit
    np.testing.assert_allclose(
        model.predict(X[:10]) if not classifier else model.decision_function(X[:10]),
        grid.best_estimator_.predict(X[:10]) if not classifier
        else grid.best_estimator_.decision_function(X[:10]), rtol=1e-10)


@pytest.mark.slow
def test_both_ends_of_the_path_are_candidates():
    X, y = _data(True)
    model = MKLPathClassifierCV(n_gates=15, n_alphas=2, cv=3, random_state=0).fit(X, y)
    assert model.iterates_[0] == 0 and model.iterates_[-1] == DEFAULT_MAX_ITER
    # the best mean score is at least that of either end at the chosen alpha
    mean = model.path_scores_.mean(axis=2)
    assert mean.max() >= max(mean[:, 0].max(), mean[:, -1].max())
    # iterate 0 is the NTK shape with its optimal scale: IRLS stopped before any step
    ntk = MKLClassifier(kernel="irls", n_irls=0, n_gates=15, alpha=model.alpha_, random_state=0).fit(X, y)
    opt = MKLClassifier(kernel="optimal", n_gates=15, alpha=model.alpha_, random_state=0).fit(X, y)
    irls_end = MKLClassifier(kernel="irls", n_irls=DEFAULT_MAX_ITER, n_gates=15, alpha=model.alpha_,
                             random_state=0).fit(X, y)
    np.testing.assert_allclose(irls_end.decision_function(X), opt.decision_function(X), rtol=1e-10)
    assert ntk.objective_ >= opt.objective_ * (1 - 1e-9)


@pytest.mark.parametrize(
    "params, message",
    [
        ({"iterates": ()}, "iterates is empty"),
        ({"iterates": (0, 0)}, "duplicates"),
        ({"iterates": (-1,)}, "every iterate must be >= 0"),
        ({"eps": 2.0}, "eps must be in"),
        ({"alphas": [-1.0]}, "every alpha must be > 0"),
    ],
)
def test_bad_parameters(params, message):
    X, y = _data(False, n=30)
    with pytest.raises(ValueError, match=message):
        MKLPathRegressorCV(n_gates=5, cv=2, **params).fit(X, y)


@pytest.mark.slow
@parametrize_with_checks(
    [
        MKLPathRegressorCV(n_gates=5, n_alphas=2, iterates=(0, 2), cv=2, random_state=0, tol=1e-10),
        MKLPathClassifierCV(n_gates=5, n_alphas=2, iterates=(0, 2), cv=2, random_state=0, tol=1e-10),
    ]
)
def test_sklearn_compatible(estimator, check):
    check(estimator)
