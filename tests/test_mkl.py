"""MKL view, iterative reweighting and the MKL estimators, checked against independent references:
the proximal solver and CVXPY optima, naive numpy kernels and solves, the explicit finite-width
NTK summed over every gate, and the gated ReLU estimators."""

import warnings

import numpy as np
import pytest
import scipy.optimize
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.estimator_checks import parametrize_with_checks

from gatedrelu.group_lasso import alpha_max, duality_gap, objective, solve_group_lasso
from gatedrelu.kernels import enumerate_patterns, ntk_kernel
from gatedrelu.mkl import (
    figure1_data,
    irls,
    kernel_shape,
    mkl_objective,
    optimal_scale,
    plot_figure1,
    scale_shape,
)
from gatedrelu.mkl_estimators import KERNELS, MKLClassifier, MKLRegressor
from gatedrelu.network import network_from_coef
from gatedrelu.patterns import activation_patterns, sample_gates


@pytest.fixture(autouse=True, scope="module")
def _single_threaded_blas():
    """Threaded BLAS makes the many small dense factorisations here several times slower when
    the cores are shared (e.g. by a parallel test run); one thread keeps the file fast."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        yield


def _with_bias(x):
    x = np.asarray(x, dtype=float).reshape(len(x), -1)
    return np.hstack([x, np.ones((x.shape[0], 1))])


def _problem(seed, n=30, d=2, n_gates=60, n_outputs=None, ratio=0.1):
    """Inputs with a bias column, targets from a planted ReLU network, sampled patterns."""
    rng = np.random.default_rng(seed)
    X = _with_bias(rng.standard_normal((n, d)))
    W = rng.standard_normal((d + 1, 3))
    V = rng.standard_normal((3,) if n_outputs is None else (3, n_outputs))
    y = np.maximum(X @ W, 0) @ V
    y = y + 0.1 * rng.standard_normal(y.shape)
    patterns = activation_patterns(X, sample_gates(d + 1, n_gates, random_state=seed + 100))
    alpha = ratio * alpha_max(X, y, patterns)
    return X, y, patterns, alpha


PROBLEMS = {
    "single": dict(seed=0),
    "single-3d": dict(seed=1, d=3, n=40, n_gates=100, ratio=0.05),
    "multi-output": dict(seed=2, n_outputs=3),
    "1d-exact": dict(seed=3),  # replaced below by every pattern of a 1-D problem
}


def _get_problem(name):
    if name == "1d-exact":
        rng = np.random.default_rng(3)
        x = np.sort(rng.standard_normal(12))
        X = _with_bias(x)
        y = np.sin(2 * x) + 0.1 * rng.standard_normal(12)
        patterns = enumerate_patterns(X)
        return X, y, patterns, 0.05 * alpha_max(X, y, patterns)
    return _problem(**PROBLEMS[name])


def _naive_kernel(X, masks, eta):
    """sum_i eta_i D_i X X^T D_i with one explicit matrix per pattern."""
    K = np.zeros((X.shape[0], X.shape[0]))
    for i in range(masks.shape[1]):
        D = np.diag(masks[:, i].astype(float))
        K += eta[i] * D @ X @ X.T @ D
    return K


def _naive_J(X, y, masks, eta, alpha):
    n = X.shape[0]
    A = _naive_kernel(X, masks, eta) + n * alpha * np.eye(n)
    return 0.5 * alpha * (np.sum(y * np.linalg.solve(A, y)) + np.sum(eta))


@pytest.fixture(scope="module")
def references():
    """FISTA (tol 1e-11) and CVXPY optima of every problem."""
    out = {}
    for name in PROBLEMS:
        X, y, patterns, alpha = _get_problem(name)
        fista = solve_group_lasso(X, y, patterns, alpha, tol=1e-11, max_iter=500_000)
        cvx = solve_group_lasso(X, y, patterns, alpha, solver="cvxpy")
        out[name] = (fista, cvx)
    return out


# ---------------------------------------------------------------------------------------------
# The MKL objective
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["single", "multi-output", "1d-exact"])
def test_mkl_objective_equals_naive_formula(name):
    X, y, patterns, alpha = _get_problem(name)
    eta = np.random.default_rng(5).uniform(0, 1, patterns.n_patterns)
    eta[::4] = 0.0
    expected = _naive_J(X, y, patterns.masks, eta, alpha)
    assert mkl_objective(X, y, patterns, eta, alpha) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("name", list(PROBLEMS))
def test_variational_identity_at_the_optimum(name, references):
    """J(eta*) = F* at eta*_i = ||u*_i|| (docs/math.md, the MKL view)."""
    X, y, patterns, alpha = _get_problem(name)
    fista, _ = references[name]
    U = fista.coef.reshape(fista.coef.shape[0], -1)
    eta_star = np.linalg.norm(U, axis=1)
    assert mkl_objective(X, y, patterns, eta_star, alpha) == pytest.approx(
        fista.objective, rel=1e-8
    )


@pytest.mark.parametrize("name", list(PROBLEMS))
def test_ntk_never_beats_the_optimal_kernel(name, references):
    """J(t * mu_NTK) >= F* for every scale t, and optimal_scale minimises J on the ray."""
    X, y, patterns, alpha = _get_problem(name)
    fista, cvx = references[name]
    F_star = min(fista.objective, cvx.objective)
    mu = kernel_shape(patterns, "ntk")
    weights, t_star = scale_shape(X, y, patterns, alpha, "ntk")
    np.testing.assert_allclose(weights, t_star * mu, rtol=1e-12)
    J_star = mkl_objective(X, y, patterns, weights, alpha)
    for t in t_star * np.geomspace(1e-3, 1e3, 25):
        J = mkl_objective(X, y, patterns, t * mu, alpha)
        assert J >= F_star * (1 - 1e-9)
        assert J >= J_star * (1 - 1e-12)  # t* is the best scale
    assert J_star > F_star  # strictly: the NTK weights are not the optimal ones here
    # The scale of the uniform shape minimises its ray too (derivative zero by brentq).
    mu_u = kernel_shape(patterns, "uniform")
    _, t_u = scale_shape(X, y, patterns, alpha, "uniform")
    J_u = mkl_objective(X, y, patterns, t_u * mu_u, alpha)
    for t in t_u * np.array([0.99, 1.01]):
        assert mkl_objective(X, y, patterns, t * mu_u, alpha) >= J_u * (1 - 1e-12)


def test_optimal_scale_matches_dense_minimisation():
    X, y, patterns, alpha = _get_problem("single")
    K = ntk_kernel(X)
    t = optimal_scale(K, y, alpha)
    n = X.shape[0]

    def J(log_t):
        A = np.exp(log_t) * K + n * alpha * np.eye(n)
        return 0.5 * alpha * (y @ np.linalg.solve(A, y) + np.exp(log_t))

    best = scipy.optimize.minimize_scalar(
        J, bounds=(-20, 20), method="bounded", options={"xatol": 1e-10}
    )
    assert np.log(t) == pytest.approx(best.x, abs=1e-4)
    assert J(np.log(t)) <= best.fun * (1 + 1e-12)
    assert optimal_scale(K, np.zeros(n), alpha) == 0.0


# ---------------------------------------------------------------------------------------------
# IRLS
# ---------------------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("init", ["ntk", "uniform"])
@pytest.mark.parametrize("name", list(PROBLEMS))
def test_irls_reaches_the_group_lasso_optimum(name, init, references):
    X, y, patterns, alpha = _get_problem(name)
    fista, cvx = references[name]
    res = irls(X, y, patterns, alpha, init=init, tol=1e-8)
    assert res.converged and res.relative_gap <= 1e-8
    assert abs(res.objective - fista.objective) <= 1e-6 * fista.objective
    assert abs(res.objective - cvx.objective) <= 1e-6 * cvx.objective
    # Independent recomputation of the objective and of the certificate.
    assert objective(X, y, patterns, res.coef, alpha) == pytest.approx(res.objective, rel=1e-12)
    assert duality_gap(X, y, patterns, res.coef, alpha) == pytest.approx(
        res.dual_gap, rel=1e-6, abs=1e-15
    )
    # coef and dual_coef are the kernel ridge solution of the returned weights.
    n = X.shape[0]
    A = _naive_kernel(X, patterns.masks, res.weights) + n * alpha * np.eye(n)
    np.testing.assert_allclose(res.dual_coef, np.linalg.solve(A, y), rtol=1e-9, atol=1e-12)
    XtDa = np.einsum("np,nd,n...->pd...", patterns.masks.astype(float), X, res.dual_coef)
    np.testing.assert_allclose(
        res.coef, res.weights.reshape((-1,) + (1,) * (XtDa.ndim - 1)) * XtDa, rtol=1e-10, atol=1e-14
    )
    # The optimal weights are the group norms of the solution.
    norms = np.linalg.norm(res.coef.reshape(res.coef.shape[0], -1), axis=1)
    np.testing.assert_allclose(res.weights, norms, atol=1e-3 * res.weights.max())
    # Shapes of the histories.
    assert res.weights_history.shape == (res.n_iter + 1, patterns.n_patterns)
    assert res.objective_history.shape == (res.n_iter + 1,)
    assert res.objective_history[-1] == res.objective
    if init == "ntk":
        np.testing.assert_allclose(res.weights_history[0].sum(), res.scale, rtol=1e-12)


@pytest.mark.parametrize("accelerated", [False, True])
@pytest.mark.parametrize("name", ["single", "multi-output"])
def test_objective_histories_are_monotone(name, accelerated, references):
    X, y, patterns, alpha = _get_problem(name)
    F_star = min(r.objective for r in references[name])
    kwargs = {} if accelerated else dict(anderson=0, newton=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        res = irls(X, y, patterns, alpha, tol=1e-9, max_iter=300, **kwargs)
    Jeps = res.smoothed_objective_history
    J = res.kernel_objective_history
    F = res.objective_history
    P = patterns.n_patterns
    rounding = 1e-12 * F[0]
    # The smoothed kernel objective never increases.
    assert np.all(np.diff(Jeps) <= rounding)
    # F can only increase by the smoothing: F_{k+1} <= F_eps_k(U_k) <= F_k + alpha P sqrt(eps_k).
    assert np.all(np.diff(F) <= alpha * P * np.sqrt(res.eps_history[:-1]) + rounding)
    # J(eta) >= F(U(eta)) >= F*, and eps is non-increasing.
    assert np.all(J >= F - rounding)
    assert np.all(F >= F_star - 1e-9 * F_star)
    assert np.all(np.diff(res.eps_history) <= 0)
    # The gap certificate bounds the suboptimality.
    assert np.all(F - F_star <= res.gap_history + 1e-9 * F_star)


@pytest.mark.slow
def test_cholesky_and_cg_agree():
    X, y, patterns, alpha = _get_problem("single")
    chol = irls(X, y, patterns, alpha, tol=1e-9, method="cholesky")
    cg = irls(X, y, patterns, alpha, tol=1e-9, method="cg")
    assert chol.method == "cholesky" and cg.method == "cg"
    assert cg.converged
    assert cg.objective == pytest.approx(chol.objective, rel=1e-8)
    np.testing.assert_allclose(cg.weights, chol.weights, atol=1e-4 * chol.weights.max())
    # One fixed kernel: same scale and same solve.
    fixed_chol = irls(X, y, patterns, alpha, max_iter=0, method="cholesky")
    fixed_cg = irls(X, y, patterns, alpha, max_iter=0, method="cg")
    assert fixed_cg.scale == pytest.approx(fixed_chol.scale, rel=1e-7)
    np.testing.assert_allclose(fixed_cg.dual_coef, fixed_chol.dual_coef, rtol=1e-7, atol=1e-10)
    # "auto" switches on the sample count.
    assert irls(X, y, patterns, alpha, max_iter=0, cholesky_max_n=10).method == "cg"


@pytest.mark.slow
def test_irls_multi_output_cg():
    X, y, patterns, alpha = _get_problem("multi-output")
    chol = irls(X, y, patterns, alpha, tol=1e-8)
    cg = irls(X, y, patterns, alpha, tol=1e-8, method="cg")
    assert cg.objective == pytest.approx(chol.objective, rel=1e-7)


def test_irls_warns_at_max_iter_and_max_iter_zero_is_the_start():
    X, y, patterns, alpha = _get_problem("single")
    with pytest.warns(ConvergenceWarning, match="duality gap"):
        res = irls(X, y, patterns, alpha, tol=1e-12, max_iter=2)
    assert res.n_iter == 2 and not res.converged
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        start = irls(X, y, patterns, alpha, max_iter=0)
    assert start.n_iter == 0
    weights, t = scale_shape(X, y, patterns, alpha, "ntk")
    np.testing.assert_allclose(start.weights, weights, rtol=1e-12)
    assert start.kernel_objective_history[0] == pytest.approx(
        mkl_objective(X, y, patterns, weights, alpha), rel=1e-12
    )


def test_irls_warm_start_and_float32():
    X, y, patterns, alpha = _get_problem("single")
    res = irls(X, y, patterns, alpha, tol=1e-8)
    warm = irls(X, y, patterns, alpha, init=res.weights, tol=1e-8)
    assert warm.n_iter <= 1
    res32 = irls(X.astype(np.float32), y.astype(np.float32), patterns, alpha, tol=1e-6)
    assert res32.converged
    assert res32.coef.dtype == np.float32 and res32.weights.dtype == np.float32
    assert res32.objective == pytest.approx(res.objective, rel=1e-5)


def test_irls_above_alpha_max_returns_zero():
    X, y, patterns, _ = _get_problem("single")
    amax = alpha_max(X, y, patterns)
    res = irls(X, y, patterns, 1.01 * amax)
    assert res.converged
    assert res.objective == pytest.approx(0.5 * np.mean(y**2), rel=1e-9)
    assert np.abs(res.coef).max() < 1e-9 * np.abs(y).max()


def test_irls_bad_input():
    X, y, patterns, alpha = _get_problem("single")
    P = patterns.n_patterns
    with pytest.raises(ValueError, match="init must have shape"):
        irls(X, y, patterns, alpha, init=np.ones(P + 1))
    with pytest.raises(ValueError, match="nonnegative"):
        irls(X, y, patterns, alpha, init=-np.ones(P))
    with pytest.raises(ValueError, match="Unknown init"):
        irls(X, y, patterns, alpha, init="ntk2")
    with pytest.raises(ValueError, match="alpha must be > 0"):
        irls(X, y, patterns, -1.0)
    with pytest.raises(ValueError, match="alpha must be > 0"):
        mkl_objective(X, y, patterns, np.ones(P), 0.0)
    with pytest.raises(ValueError, match="Unknown method"):
        irls(X, y, patterns, alpha, method="lu")
    with pytest.raises(ValueError, match="eps_decay"):
        irls(X, y, patterns, alpha, eps_decay=2.0)
    with pytest.raises(ValueError, match="weights must have shape"):
        mkl_objective(X, y, patterns, np.ones(P - 1), alpha)
    with pytest.raises(ValueError, match="samples"):
        irls(X[:-1], y, patterns, alpha)
    with pytest.raises(TypeError, match="ActivationPatterns"):
        irls(X, y, patterns.masks, alpha)


# ---------------------------------------------------------------------------------------------
# Figure 1
# ---------------------------------------------------------------------------------------------


def test_figure1_irls_reaches_the_cvxpy_optimum(tmp_path):
    data = figure1_data()
    assert data.x.size == 5 and data.patterns.gates.shape[0] == 2
    res = data.accelerated
    assert res.converged
    assert abs(res.objective - data.optimum) <= 1e-6 * data.optimum
    assert data.ntk_start >= data.optimum
    assert res.kernel_objective_history[0] == pytest.approx(data.ntk_start, rel=1e-12)
    assert data.plain.kernel_objective_history[-1] == pytest.approx(data.optimum, rel=1e-6)
    path = tmp_path / "figure1.png"
    plot_figure1(data, path)
    assert path.stat().st_size > 10_000


# ---------------------------------------------------------------------------------------------
# Estimators
# ---------------------------------------------------------------------------------------------


def _regression_data(n=60, n_new=25, seed=0, n_outputs=None):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 2))
    X2 = rng.standard_normal((n_new, 2))

    def f(Z):
        out = np.maximum(Z[:, 0] - 0.3, 0) - 0.5 * np.abs(Z[:, 1])
        return (
            out if n_outputs is None else np.column_stack([out * (k + 1) for k in range(n_outputs)])
        )

    return X, f(X) + 0.05 * rng.standard_normal(f(X).shape), X2


@pytest.mark.parametrize("n_outputs", [None, 2])
def test_optimal_kernel_regressor_equals_gated_relu(n_outputs):
    X, y, X2 = _regression_data(n_outputs=n_outputs)
    common = dict(n_gates=40, alpha=1e-3, random_state=0, tol=1e-12)
    mkl = MKLRegressor(kernel="optimal", **common).fit(X, y)
    # (GL) on the biased data and the MKL estimator's patterns (GatedReLURegressor now adds a
    # free intercept, a linear part and the targets' scale, which the MKL estimators do not)
    Xb = np.hstack([X, np.ones((len(X), 1))])
    res = solve_group_lasso(Xb, y, mkl.patterns_, 1e-3, tol=1e-12, max_iter=1_000_000)
    net = network_from_coef(res.coef, mkl.patterns_.gates, fit_intercept=True)
    np.testing.assert_allclose(mkl.predict(X2), net.predict(X2), rtol=0, atol=1e-6)
    np.testing.assert_allclose(mkl.predict(X), net.predict(X), rtol=0, atol=1e-6)
    assert mkl.objective_ == pytest.approx(res.objective, rel=1e-10)
    assert mkl.kernel_scale_ == pytest.approx(mkl.weights_.sum())


def test_optimal_kernel_classifier_equals_gated_relu():
    X, y, X2 = _regression_data()
    labels = np.digitize(y, np.quantile(y, [0.33, 0.66]))
    common = dict(n_gates=30, alpha=1e-3, random_state=1)
    # 1e-10 is about the floor the 60 x 60 kernel solves can certify here.
    mkl = MKLClassifier(kernel="optimal", tol=1e-10, **common).fit(X, labels)
    # (GL) on the biased data, +1/-1 one-hot codes and the MKL estimator's patterns
    Xb = np.hstack([X, np.ones((len(X), 1))])
    T = np.where(labels[:, None] == mkl.classes_[None, :], 1.0, -1.0)
    res = solve_group_lasso(Xb, T, mkl.patterns_, 1e-3, tol=1e-12, max_iter=1_000_000)
    net = network_from_coef(res.coef, mkl.patterns_.gates, fit_intercept=True)
    np.testing.assert_allclose(mkl.decision_function(X2), net.predict(X2), atol=1e-6)
    np.testing.assert_array_equal(mkl.predict(X2), mkl.classes_[np.argmax(net.predict(X2), axis=1)])


def _explicit_ntk(Xb, X2b, G):
    """(1/m) sum_j 1[g_j.x >= 0] 1[g_j.x' >= 0] x.x', one gate at a time."""
    K = np.zeros((X2b.shape[0], Xb.shape[0]))
    for g in G.T:
        K += np.outer(X2b @ g >= 0, Xb @ g >= 0) * (X2b @ Xb.T)
    return K / G.shape[1]


def test_ntk_regressor_is_kernel_ridge_with_the_explicit_ntk():
    X, y, X2 = _regression_data()
    G = sample_gates(3, 50, random_state=7)
    alpha = 1e-2
    model = MKLRegressor(kernel="ntk", gates=G, alpha=alpha).fit(X, y)
    Xb, X2b = _with_bias(X), _with_bias(X2)
    n = X.shape[0]
    theta = _explicit_ntk(Xb, Xb, G)
    theta_new = _explicit_ntk(Xb, X2b, G)
    mass = np.mean(np.any(Xb @ G >= 0, axis=0))  # fraction of gates active somewhere on X

    def slope(log_c):  # derivative of J(c) = (alpha/2)[y^T (c theta + n alpha I)^{-1} y + c mass]
        a = np.linalg.solve(np.exp(log_c) * theta + n * alpha * np.eye(n), y)
        return mass - a @ theta @ a

    c = np.exp(scipy.optimize.brentq(slope, -30, 30, xtol=1e-14))
    a = np.linalg.solve(c * theta + n * alpha * np.eye(n), y)
    np.testing.assert_allclose(model.predict(X2), c * theta_new @ a, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(model.predict(X), c * theta @ a, rtol=1e-7, atol=1e-9)
    assert model.kernel_scale_ == pytest.approx(c * mass, rel=1e-7)
    # The equivalent network of the representative gates reproduces the training fit.
    np.testing.assert_allclose(model.dual_coef_, a, rtol=1e-7, atol=1e-10)


def test_infinite_ntk_regressor():
    X, y, X2 = _regression_data()
    alpha = 1e-2
    model = MKLRegressor(kernel="infinite_ntk", alpha=alpha).fit(X, y)
    Xb, X2b = _with_bias(X), _with_bias(X2)
    K, n = ntk_kernel(Xb), X.shape[0]
    t = model.kernel_scale_
    a = np.linalg.solve(t * K + n * alpha * np.eye(n), y)
    assert a @ (t * K) @ a / t == pytest.approx(1.0, rel=1e-8)  # dJ/dt = 0 at the chosen scale
    np.testing.assert_allclose(
        model.predict(X2), t * ntk_kernel(Xb, X2b) @ a, rtol=1e-9, atol=1e-12
    )
    assert model.coef_ is None and model.weights_ is None and model.patterns_ is None


def test_kernels_are_ordered_on_the_training_objective():
    """Every fixed kernel with its best scale has J >= F* = the optimal kernel's objective."""
    X, y, _ = _regression_data()
    fits = {
        k: MKLRegressor(kernel=k, n_gates=40, alpha=1e-3, random_state=3).fit(X, y) for k in KERNELS
    }
    opt = fits["optimal"]
    Xb = _with_bias(X)
    for k in ("ntk", "uniform", "path"):
        m = fits[k]
        J = mkl_objective(Xb, y, m.patterns_, m.weights_, 1e-3)
        assert J >= opt.objective_ * (1 - 1e-8)
        if k != "path":  # same patterns as the optimal kernel
            assert m.objective_ >= opt.objective_ * (1 - 1e-8)


def test_path_regressor():
    X, y, X2 = _regression_data(n=80)
    kw = dict(kernel="path", n_gates=40, alpha=1e-3, random_state=0, n_path=6)
    model = MKLRegressor(**kw).fit(X, y)
    again = MKLRegressor(**kw).fit(X, y)
    np.testing.assert_array_equal(model.predict(X2), again.predict(X2))
    assert model.path_index_ in model.path_candidates_
    assert model.path_candidates_[0] == 0 and len(model.path_candidates_) <= 6
    assert model.path_scores_.shape == model.path_candidates_.shape
    assert (
        model.path_scores_[list(model.path_candidates_).index(model.path_index_)]
        == model.path_scores_.min()
    )
    assert model.kernel_scale_ == pytest.approx(model.weights_.sum())
    assert model.weights_.shape == (model.patterns_.n_patterns,)
    # Tiny data: nothing to validate on, the optimal kernel is used.
    tiny = MKLRegressor(**kw).fit(X[:3], y[:3])
    assert tiny.path_candidates_ is None and tiny.path_index_ == tiny.n_iter_ - 1


@pytest.mark.parametrize("Estimator", [MKLRegressor, MKLClassifier])
def test_estimator_bad_input(Estimator):
    X, y, _ = _regression_data(n=20)
    y = y if Estimator is MKLRegressor else (y > 0).astype(int)
    with pytest.raises(ValueError, match="Unknown kernel 'rbf'"):
        Estimator(kernel="rbf").fit(X, y)
    with pytest.raises(ValueError, match="alpha must be > 0"):
        Estimator(alpha=-1.0).fit(X, y)
    with pytest.raises(ValueError, match="validation_fraction"):
        Estimator(kernel="path", validation_fraction=1.5).fit(X, y)
    with pytest.raises(ValueError, match="gates must have shape"):
        Estimator(gates=np.ones((5, 4))).fit(X, y)


def _expected_failures(estimator):
    if estimator.kernel == "path":
        # "path" holds out a random share of the rows to choose its kernel: copies of a
        # repeated row can land on both sides of that split, a weighted row cannot, so the two
        # fits choose on different validation sets (the kernels with fixed weights pass).
        return {"check_sample_weight_equivalence_on_dense_data":
                "the validation split of kernel='path' draws rows, not weight"}
    return {}


@pytest.mark.slow
@parametrize_with_checks(
    [MKLRegressor(kernel=k, n_gates=12, random_state=0) for k in KERNELS]
    + [MKLClassifier(kernel=k, n_gates=12, random_state=0) for k in KERNELS],
    expected_failed_checks=_expected_failures,
)
def test_sklearn_compatible(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        check(estimator)
