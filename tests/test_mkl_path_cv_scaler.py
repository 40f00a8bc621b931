"""The path CV estimator fits its scaler inside each fold.

A scaler in a Pipeline in front of a cross-validating estimator is fitted once on all of its
training data, so every fold's validation rows take part in the statistics the fold's model
is trained with. With ``scaler=`` the estimator clones and fits it on each fold's training
rows only (checked by a transformer that records the rows it is fitted on), and the whole
procedure becomes invariant to affine changes of the features (a standardiser undoes them
fold by fold), which a scaler fitted outside the folds would not make it.
"""

import numpy as np
import pytest
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.model_selection import StratifiedKFold
from sklearn.preprocessing import StandardScaler

from gatedrelu import sample_gates
from gatedrelu.mkl_path_cv import MKLPathClassifierCV

FITTED = []


class RecordingScaler(TransformerMixin, BaseEstimator):
    """StandardScaler that records the first column of the rows it is fitted on."""

    def fit(self, X, y=None):
        FITTED.append(np.sort(np.asarray(X)[:, 0]))
        self.inner_ = StandardScaler().fit(X)
        return self

    def transform(self, X):
        return self.inner_.transform(X)


def _data(seed=0, n=60):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 3)) * np.array([1.0, 5.0, 0.2]) + np.array([0.0, 3.0, -1.0])
    y = (X[:, 0] + 0.2 * X[:, 1] > 0.5).astype(int)
    return X, y


def _estimator(scaler, seed=0):
    return MKLPathClassifierCV(gates=sample_gates(4, 15, random_state=seed), alphas=(0.01, 0.1),
                               iterates=(0, 2, "optimal"), scaler=scaler,
                               cv=StratifiedKFold(3, shuffle=True, random_state=seed))


def test_the_scaler_is_fitted_on_each_folds_training_rows_and_on_all_rows():
    X, y = _data()
    FITTED.clear()
    est = _estimator(RecordingScaler()).fit(X, y)
    folds = list(StratifiedKFold(3, shuffle=True, random_state=0).split(X, y))
    expected = [np.sort(X[:, 0])] + [np.sort(X[train, 0]) for train, _ in folds]
    assert len(FITTED) == len(expected)
    for got, want in zip(FITTED, expected):
        np.testing.assert_array_equal(got, want)
    assert est.scaler_ is not None and est.predict(X).shape == (len(y),)


def test_per_fold_standardisation_makes_the_search_invariant_to_affine_features():
    X, y = _data(seed=1)
    Z = 3.0 * X + np.array([5.0, -2.0, 10.0])
    a = _estimator(StandardScaler()).fit(X, y)
    b = _estimator(StandardScaler()).fit(Z, y)
    np.testing.assert_allclose(a.path_scores_, b.path_scores_)
    assert (a.alpha_, a.iterate_) == (b.alpha_, b.iterate_)
    Xnew = np.random.default_rng(2).standard_normal((20, 3))
    np.testing.assert_allclose(a.decision_function(Xnew),
                               b.decision_function(3.0 * Xnew + np.array([5.0, -2.0, 10.0])),
                               rtol=1e-6, atol=1e-8)


def test_without_a_scaler_the_inputs_are_used_as_given():
    X, y = _data(seed=1)
    est = _estimator(None).fit(X, y)
    assert est.scaler_ is None
    with pytest.raises(ValueError, match="features"):
        est.predict(X[:, :2])
