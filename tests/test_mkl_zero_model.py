"""One problem, one answer at the top of the alpha range.

At or above ``alpha_max = max_i ||X^T D_i y|| / n`` the group lasso's unique optimum is the zero
network, and the MKL problem's the zero kernel (``eta = 0``). The MKL solvers and estimators
must return exactly that model (coefficients 0, predictions 0: the bias is a penalised column,
so the zero model has no intercept), with a certified gap, while ``0.99 alpha_max`` gives a
non-zero model. Below ``alpha_max`` the NTK alone may fit nothing (its own threshold is lower);
IRLS must still reach the non-zero optimum from there.
"""

import numpy as np
import pytest

from gatedrelu import activation_patterns, sample_gates
from gatedrelu.estimators import add_bias
from gatedrelu.group_lasso import alpha_max, solve_group_lasso
from gatedrelu.kernels import masking_kernel
from gatedrelu.mkl import irls, kernel_shape, optimal_scale
from gatedrelu.mkl_estimators import MKLClassifier, MKLRegressor
from gatedrelu.operator import forward
from gatedrelu.patterns import gate_masks


def _data(seed=0, n=40, d=3, n_gates=30):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    y = np.maximum(X @ rng.standard_normal(d), 0) - 0.5 + 0.1 * rng.standard_normal(n)
    gates = sample_gates(d + 1, n_gates, random_state=seed)
    Xb = add_bias(X, True)
    return X, y, gates, Xb, activation_patterns(Xb, gates)


@pytest.mark.parametrize("kernel", ["ntk", "uniform", "optimal", "irls", "path"])
def test_estimators_return_the_exact_zero_model_at_alpha_max(kernel):
    X, y, gates, Xb, patterns = _data()
    amax = alpha_max(Xb, y, patterns)
    est = MKLRegressor(kernel=kernel, gates=gates, alpha=amax, random_state=0).fit(X, y)
    assert np.all(est.weights_ == 0) and np.all(est.coef_ == 0)
    Xnew = np.random.default_rng(1).standard_normal((15, X.shape[1]))
    assert np.all(est.predict(Xnew) == 0) and np.all(est.predict(X) == 0)
    # its certificate: F(0) = ||y||^2 / (2n), with a gap of (about) zero
    assert est.objective_ == pytest.approx(0.5 * np.mean(y**2), rel=1e-12)
    assert est.dual_gap_ <= 1e-12 * est.objective_


@pytest.mark.parametrize("kernel", ["optimal", "irls"])
def test_just_below_alpha_max_the_model_is_not_zero(kernel):
    X, y, gates, Xb, patterns = _data()
    amax = alpha_max(Xb, y, patterns)
    est = MKLRegressor(kernel=kernel, gates=gates, alpha=0.99 * amax).fit(X, y)
    assert np.any(est.weights_ > 0) and np.any(est.coef_ != 0)
    assert np.any(est.predict(X) != 0)
    if kernel == "optimal":
        # the group lasso (another solver) agrees on the optimum and on the predictions
        gl = solve_group_lasso(Xb, y, patterns, 0.99 * amax, tol=1e-10)
        assert est.objective_ == pytest.approx(gl.objective, rel=1e-7)
        assert est.dual_gap_ <= 1e-6 * est.objective_


def test_irls_reaches_the_optimum_when_the_ntk_alone_fits_nothing():
    """Between the NTK's own zero threshold sqrt(y^T K_mu y) / n and alpha_max, the NTK's
    optimal scale is exactly 0 but the optimum is not zero: IRLS must not stay at the zero
    start (the multiplicative update cannot leave it)."""
    X, y, gates, Xb, patterns = _data(seed=3)
    amax = alpha_max(Xb, y, patterns)
    mu = kernel_shape(patterns, "ntk")
    K = masking_kernel(Xb, patterns, mu)
    ntk_threshold = np.sqrt(y @ K @ y) / len(y)
    assert ntk_threshold < 0.95 * amax
    alpha = 0.5 * (ntk_threshold + amax)
    assert optimal_scale(K, y, alpha) == 0.0
    assert optimal_scale(K, y, 0.99 * ntk_threshold) > 0
    res = irls(Xb, y, patterns, alpha, tol=1e-9)
    gl = solve_group_lasso(Xb, y, patterns, alpha, tol=1e-10)
    assert res.converged and res.objective == pytest.approx(gl.objective, rel=1e-7)
    assert res.objective < 0.5 * np.mean(y**2) * (1 - 1e-6)  # strictly below F(0)


def test_classifier_and_gated_network_agree_at_and_below_alpha_max():
    """The optimal kernel and the gated ReLU network solve the same problem: the same
    predictions at alpha_max (the zero model: every score 0) and at 0.3 alpha_max."""
    rng = np.random.default_rng(5)
    X = rng.standard_normal((60, 3))
    labels = (X[:, 0] * X[:, 1] > 0).astype(int)
    gates = sample_gates(4, 25, random_state=5)
    Xb = add_bias(X, True)
    T = 2.0 * labels - 1
    amax = alpha_max(Xb, T, activation_patterns(Xb, gates))
    Xnew = rng.standard_normal((40, 3))
    for alpha in (amax, 0.3 * amax):
        mkl = MKLClassifier(kernel="optimal", gates=gates, alpha=alpha, tol=1e-9).fit(X, labels)
        # the gated network of that program (GL), solved directly: the estimators now add a
        # free intercept, a linear part and the targets' scale, which the MKL classifier has not
        gl = solve_group_lasso(Xb, T, activation_patterns(Xb, gates), alpha, tol=1e-12)
        Xb_new = add_bias(Xnew, True)
        net = forward(Xb_new, gate_masks(Xb_new, gates), gl.coef)
        scores = mkl.decision_function(Xnew)
        np.testing.assert_allclose(scores, net, atol=1e-5)
        if alpha == amax:
            assert np.all(scores == 0)
        else:
            assert np.any(scores != 0)
