"""MKL at large n (issue 18 item 3): kernel ridge in the ``P d`` feature space equals the
``n x n`` route; the estimators' networks (``to_network``), ``kernel_objective_`` and input
checks (issue 19 item 14). References: dense n x n solves, the explicit finite-width NTK, the
group-lasso solver's certified optimum, and a peak-memory bound in a subprocess."""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from gatedrelu import linalg
from gatedrelu.group_lasso import alpha_max, solve_group_lasso
from gatedrelu.kernels import finite_ntk_kernel, masking_kernel, ntk_kernel
from gatedrelu.linalg import FeatureRidge, KernelRidge, choose_method, masked_gram, optimal_scale
from gatedrelu.mkl import fixed_kernel, irls, kernel_shape, mkl_objective
from gatedrelu.mkl_estimators import MKLClassifier, MKLRegressor
from gatedrelu.mkl_path_cv import MKLPathClassifierCV, MKLPathRegressorCV
from gatedrelu.patterns import activation_patterns, sample_gates

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _data(seed=0, n=240, d=3, n_outputs=None):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    W = rng.standard_normal((d, 4))
    V = rng.standard_normal((4,) if n_outputs is None else (4, n_outputs))
    y = np.maximum(X @ W + 0.3, 0) @ V
    return X, y + 0.1 * rng.standard_normal(y.shape)


def _problem(seed=0, n=240, d=3, n_gates=15, n_outputs=None, ratio=0.05):
    X, y = _data(seed, n, d, n_outputs)
    Xb = np.hstack([X, np.ones((n, 1))])
    patterns = activation_patterns(Xb, sample_gates(d + 1, n_gates, random_state=seed + 7))
    return Xb, y, patterns, ratio * alpha_max(Xb, y, patterns)


# --------------------------------------------------------------------------- the linear algebra


def test_masked_gram_equals_the_explicit_design(monkeypatch):
    """H = Z^T Z with Z = [D_1 X, ..., D_P X], formed in row blocks of any size."""
    Xb, _, patterns, _ = _problem(n=101)
    M = patterns.masks
    Z = (M[:, :, None] * Xb[:, None, :]).reshape(Xb.shape[0], -1)
    for block_bytes in (1, 8 * 7 * M.shape[1] * Xb.shape[1], linalg.GRAM_BLOCK_BYTES):
        monkeypatch.setattr(linalg, "GRAM_BLOCK_BYTES", block_bytes)
        np.testing.assert_allclose(masked_gram(Xb, M), Z.T @ Z, rtol=1e-13, atol=1e-12)


@pytest.mark.parametrize("n_outputs", [None, 2])
def test_feature_ridge_solves_the_kernel_system(n_outputs):
    """a = (K_eta + n alpha I)^{-1} b, the scale argmin_t J(t mu) and the Newton Hessian of J
    equal the dense n x n ones (numpy solve, eigendecomposition, explicit K_i a)."""
    Xb, y, patterns, alpha = _problem(n_outputs=n_outputs)
    M, n = patterns.masks, Xb.shape[0]
    rng = np.random.default_rng(3)
    eta = rng.random(M.shape[1]) * 3
    eta[::4] = 0.0  # inactive kernels too
    K = masking_kernel(Xb, patterns, eta)
    feat = FeatureRidge(Xb, M, y, alpha)
    dense = KernelRidge(Xb, patterns, M, y, alpha, "cholesky", 1e-10, 100)
    ref = np.linalg.solve(K + n * alpha * np.eye(n), y)
    np.testing.assert_allclose(feat.solve(eta, feat.factor(eta), y), ref, rtol=1e-9,
                               atol=1e-12 * np.abs(ref).max())
    mu = kernel_shape(patterns, "ntk")
    t_ref = optimal_scale(masking_kernel(Xb, patterns, mu), y, alpha)
    assert feat.scale(mu) == pytest.approx(t_ref, rel=1e-9)
    a = ref
    AtA = np.einsum("np,nd,n...->pd...", M, Xb, a)
    S = np.array([0, 2, 5, 6])
    H_ref = dense.newton_hessian(eta, dense.factor(eta), AtA, S)
    H = feat.newton_hessian(eta, feat.factor(eta), AtA, S)
    np.testing.assert_allclose(H, H_ref, rtol=1e-8, atol=1e-10 * np.abs(H_ref).max())


def test_auto_route_rule():
    """features when P d < n (and P d <= FEATURES_MAX), else Cholesky up to 3000, else CG."""
    assert choose_method("auto", n=1000, P=50, d=11) == "features"
    assert choose_method("auto", n=500, P=50, d=11) == "cholesky"  # P d = 550 >= n
    assert choose_method("auto", n=10**5, P=1000, d=11) == "cg"  # P d above FEATURES_MAX
    assert choose_method("cg", n=1000, P=5, d=2) == "cg"  # forced
    Xb, y, patterns, alpha = _problem()
    assert irls(Xb, y, patterns, alpha, max_iter=0).method == "features"
    assert irls(Xb, y, patterns, alpha, max_iter=0, method="cholesky").method == "cholesky"
    with pytest.raises(ValueError, match="method"):
        irls(Xb, y, patterns, alpha, method="qr")


@pytest.mark.parametrize("n_outputs", [None, 3])
def test_irls_in_features_reaches_the_certified_optimum(n_outputs):
    """IRLS on the feature route: its certified F and final J agree with the n x n route and
    with the group-lasso solver's certified optimum, each to the certified gaps."""
    Xb, y, patterns, alpha = _problem(n_outputs=n_outputs, seed=1)
    feat = irls(Xb, y, patterns, alpha, tol=1e-9, method="features")
    dense = irls(Xb, y, patterns, alpha, tol=1e-9, method="cholesky")
    ref = solve_group_lasso(Xb, y, patterns, alpha, tol=1e-10)
    assert feat.method == "features" and feat.converged
    J = feat.kernel_objective_history[-1]
    # F* lies in [F - gap, F] of every certified point; J(eta) >= F(U(eta)) >= F*.
    lo = max(feat.objective - feat.dual_gap, ref.objective - ref.dual_gap)
    assert J >= lo * (1 - 1e-12)
    assert abs(feat.objective - ref.objective) <= feat.dual_gap + ref.dual_gap + 1e-12
    assert abs(J - dense.kernel_objective_history[-1]) <= 2 * (feat.dual_gap + dense.dual_gap) + 1e-12
    assert J - ref.objective <= 2 * feat.dual_gap + ref.dual_gap + 1e-12
    # the kernel weights are the group norms of the optimum (to the certified accuracy)
    norms = np.linalg.norm(ref.coef.reshape(ref.coef.shape[0], -1), axis=1)
    np.testing.assert_allclose(feat.weights, norms, atol=1e-3 * norms.max())


def test_fixed_kernel_in_features_equals_dense():
    """The NTK at its optimal scale: same scale, a, J and certificate on both routes, and J
    equals the dense formula (alpha/2)[y^T (K + n alpha I)^{-1} y + t]."""
    Xb, y, patterns, alpha = _problem(seed=2)
    feat = fixed_kernel(Xb, y, patterns, alpha, "ntk", method="features")
    dense = fixed_kernel(Xb, y, patterns, alpha, "ntk", method="cholesky")
    assert feat.scale == pytest.approx(dense.scale, rel=1e-9)
    np.testing.assert_allclose(feat.dual_coef, dense.dual_coef, rtol=1e-8,
                               atol=1e-11 * np.abs(dense.dual_coef).max())
    J = mkl_objective(Xb, y, patterns, dense.weights, alpha)
    assert feat.kernel_objective_history[-1] == pytest.approx(J, rel=1e-10)
    assert feat.dual_gap == pytest.approx(dense.dual_gap, rel=1e-7)


# --------------------------------------------------------------------------- the estimators


@pytest.mark.parametrize("kernel", ["ntk", "uniform", "optimal", "path", "irls"])
def test_estimators_feature_route_equals_kernel_route(kernel):
    """Predictions at new points, J and the weights agree between method='features' (what
    'auto' picks here, P d < n) and method='cholesky'."""
    X, y = _data(4, n=260)
    Xnew, _ = _data(5, n=50)
    params = dict(kernel=kernel, n_gates=15, alpha=3e-3, tol=1e-9, random_state=0)
    feat = MKLRegressor(**params).fit(X, y)
    dense = MKLRegressor(method="cholesky", **params).fit(X, y)
    assert feat.method_ == "features" and dense.method_ == "cholesky"
    gap = feat.dual_gap_ + dense.dual_gap_ if kernel in ("optimal", "path") else 0.0
    assert abs(feat.kernel_objective_ - dense.kernel_objective_) <= (
        2 * gap + 1e-9 * dense.kernel_objective_)
    scale = np.abs(dense.predict(Xnew)).max()
    tol = 1e-7 if kernel in ("ntk", "uniform", "irls") else 1e-3
    np.testing.assert_allclose(feat.predict(Xnew), dense.predict(Xnew), atol=tol * scale)
    np.testing.assert_allclose(feat.weights_, dense.weights_, atol=tol * dense.weights_.max())


def test_classifier_feature_route_equals_kernel_route():
    X, y = _data(6, n=300)
    labels = np.digitize(y, np.quantile(y, [0.33, 0.66]))  # three classes
    params = dict(kernel="optimal", n_gates=12, alpha=1e-2, tol=1e-9, random_state=1)
    feat = MKLClassifier(**params).fit(X, labels)
    dense = MKLClassifier(method="cholesky", **params).fit(X, labels)
    assert feat.method_ == "features"
    np.testing.assert_allclose(feat.decision_function(X), dense.decision_function(X), atol=1e-4)
    assert abs(feat.objective_ - dense.objective_) <= feat.dual_gap_ + dense.dual_gap_


@pytest.mark.parametrize("kernel", ["ntk", "uniform", "optimal", "path", "irls", "infinite_ntk"])
def test_kernel_objective_is_J_of_the_fitted_weights(kernel):
    """kernel_objective_ = (alpha/2)[y^T (K_eta + n alpha I)^{-1} y + sum(eta)] from a dense
    numpy solve, and J >= objective_ (the network of a kernel is at least as good)."""
    X, y = _data(7, n=120)
    est = MKLRegressor(kernel=kernel, n_gates=10, alpha=1e-2, random_state=0).fit(X, y)
    n, alpha = X.shape[0], 1e-2
    Xb = np.hstack([X, np.ones((n, 1))])
    if kernel == "infinite_ntk":
        K, mass = est.kernel_scale_ * ntk_kernel(Xb), est.kernel_scale_
        assert est.objective_ is None
    else:
        K, mass = masking_kernel(Xb, est.patterns_, est.weights_), est.weights_.sum()
        assert est.kernel_objective_ >= est.objective_ * (1 - 1e-10)
    J = 0.5 * alpha * (y @ np.linalg.solve(K + n * alpha * np.eye(n), y) + mass)
    assert est.kernel_objective_ == pytest.approx(J, rel=1e-8)


@pytest.mark.parametrize("n_outputs", [None, 2])
def test_ntk_network_is_the_finite_ntk(n_outputs):
    """The NTK predicts through its network of every sampled gate (u_j = coef_[i] / c_i); it
    equals kernel ridge with the explicit finite NTK summed over the gates, and to_network()."""
    X, y = _data(8, n=150, n_outputs=n_outputs)
    Xnew, _ = _data(9, n=40)
    est = MKLRegressor(kernel="ntk", n_gates=40, alpha=1e-2, random_state=3).fit(X, y)
    Xb_new = np.hstack([Xnew, np.ones((40, 1))])
    factor = est.kernel_scale_ / est.patterns_.ntk_weights.sum()
    ref = factor * finite_ntk_kernel(est.X_fit_, est.patterns_, Xb_new) @ est.dual_coef_
    pred = est.predict(Xnew)
    np.testing.assert_allclose(pred, ref, rtol=1e-9, atol=1e-12 * np.abs(ref).max())
    net = est.to_network()
    assert net.n_neurons == np.count_nonzero(est.patterns_.gate_pattern >= 0)
    np.testing.assert_allclose(net.predict(Xnew), ref, rtol=1e-9, atol=1e-12 * np.abs(ref).max())


def test_to_network_of_the_optimal_classifier_and_infinite_ntk():
    X, y = _data(10, n=120)
    labels = (y > np.median(y)).astype(int)
    clf = MKLClassifier(kernel="optimal", n_gates=12, alpha=1e-2, random_state=0).fit(X, labels)
    np.testing.assert_allclose(clf.to_network().predict(X), clf.decision_function(X),
                               rtol=1e-10, atol=1e-12)
    inf = MKLClassifier(kernel="infinite_ntk", alpha=1e-2).fit(X, labels)
    with pytest.raises(ValueError, match="infinite_ntk"):
        inf.to_network()


@pytest.mark.parametrize("Estimator", [MKLClassifier, MKLPathClassifierCV])
def test_squared_loss_classifiers_have_no_probabilities(Estimator):
    X, y = _data(11, n=60)
    labels = (y > np.median(y)).astype(int)
    params = dict(n_gates=6, random_state=0)
    if Estimator is MKLPathClassifierCV:
        params.update(n_alphas=2, iterates=(0, 1), cv=2)
    clf = Estimator(**params).fit(X, labels)
    assert not hasattr(clf, "predict_proba")
    with pytest.raises(AttributeError) as err:
        clf.predict_proba(X)
    assert "squared loss" in str(err.value.__cause__)  # available_if's cause says why


@pytest.mark.parametrize("Estimator", [MKLPathRegressorCV, MKLPathClassifierCV])
@pytest.mark.parametrize(
    "params, error, message",
    [
        (dict(method="qr"), ValueError, "method"),
        (dict(n_gates=0), ValueError, "n_gates"),
        (dict(n_gates=2.5), TypeError, "n_gates"),
        (dict(tol=-1.0), ValueError, "tol"),
        (dict(max_iter=-3), ValueError, "max_iter"),
        (dict(fit_intercept="yes"), TypeError, "fit_intercept"),
    ],
)
def test_path_cv_has_the_mkl_estimators_checks(Estimator, params, error, message):
    X, y = _data(12, n=40)
    target = (y > 0).astype(int) if Estimator is MKLPathClassifierCV else y
    with pytest.raises(error, match=message):
        Estimator(**params).fit(X, target)
    # the MKL estimators give the same error for the same value
    Single = MKLClassifier if Estimator is MKLPathClassifierCV else MKLRegressor
    with pytest.raises(error, match=message):
        Single(**params).fit(X, target)


@pytest.mark.parametrize("Estimator", [MKLPathRegressorCV, MKLPathClassifierCV])
def test_path_cv_refuses_extreme_scales(Estimator):
    X, y = _data(13, n=40)
    target = (y > 0).astype(int) if Estimator is MKLPathClassifierCV else y
    with pytest.raises(ValueError, match="X"):
        Estimator(n_gates=5, n_alphas=2, cv=2).fit(X * 1e100, target)


# --------------------------------------------------------------------------- memory


@pytest.mark.slow
def test_large_n_never_forms_an_n_by_n_matrix():
    """n = 200,000 (an n x n float64 kernel would be 320 GB): the NTK and the optimal kernel
    fit through the feature route, certified, with a peak resident memory under 900 MiB."""
    code = textwrap.dedent("""
        import json, warnings
        import numpy as np
        from gatedrelu import MKLRegressor
        from benchmarks.harness import peak_resident_mib
        rng = np.random.default_rng(0)
        n = 200_000
        X = rng.standard_normal((n, 4))
        y = np.maximum(X @ rng.standard_normal(4), 0) + 0.1 * rng.standard_normal(n)
        out = {}
        for kernel in ("ntk", "optimal"):
            with warnings.catch_warnings():
                warnings.simplefilter("error")
                m = MKLRegressor(kernel=kernel, n_gates=30, alpha=1e-3, random_state=0).fit(X, y)
            out[kernel] = dict(method=m.method_, gap=m.dual_gap_ / m.objective_,
                               J=m.kernel_objective_, F=m.objective_)
        out["peak"] = peak_resident_mib()
        print(json.dumps(out))
    """)
    env = dict(os.environ, JAX_PLATFORMS="cpu", PYTHONPATH=ROOT)
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         cwd=ROOT, timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]
    out = json.loads(res.stdout.strip().splitlines()[-1])
    assert out["ntk"]["method"] == out["optimal"]["method"] == "features"
    assert out["optimal"]["gap"] <= 1e-6
    assert out["optimal"]["J"] <= out["ntk"]["J"]
    assert out["peak"] < 900, f"peak resident memory {out['peak']:.0f} MiB"


# --------------------------------------------------------------------------- Figure 1


@pytest.mark.slow
def test_figure1_is_drawn_without_pyplot(tmp_path):
    """Figure 1 lives in gatedrelu.experiments.figure1 (re-exported by gatedrelu.mkl) and is
    drawn with matplotlib's object-oriented API: pyplot is never imported, the backend never
    switched, and the PNG is written."""
    path = tmp_path / "figure1.png"
    code = textwrap.dedent(f"""
        import json, sys
        import matplotlib
        raw = lambda: dict.__getitem__(matplotlib.rcParams, "backend")  # get_backend imports pyplot
        backend = raw()
        import gatedrelu.mkl as mkl
        from gatedrelu.experiments import figure1
        data = figure1.figure1_data(n=5, plain_max_iter=20)
        fig = mkl.plot_figure1(data, {str(path)!r})
        print(json.dumps(dict(pyplot="matplotlib.pyplot" in sys.modules,
                              same=mkl.plot_figure1 is figure1.plot_figure1,
                              backend=raw() == backend,
                              axes=len(fig.axes), J0=float(data.plain.kernel_objective_history[0]),
                              ntk=float(data.ntk_start))))
    """)
    env = dict(os.environ, JAX_PLATFORMS="cpu", PYTHONPATH=ROOT)
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         cwd=ROOT, timeout=300)
    assert res.returncode == 0, res.stderr[-3000:]
    out = json.loads(res.stdout.strip().splitlines()[-1])
    assert not out["pyplot"] and out["same"] and out["backend"] and out["axes"] == 2
    assert out["J0"] == pytest.approx(out["ntk"], rel=1e-10)  # IRLS starts at the scaled NTK
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_mkl_objective_in_features_equals_dense():
    Xb, y, patterns, alpha = _problem(seed=5, n_outputs=2)
    eta = np.random.default_rng(5).random(patterns.n_patterns)
    dense = mkl_objective(Xb, y, patterns, eta, alpha, method="cholesky")
    assert mkl_objective(Xb, y, patterns, eta, alpha) == pytest.approx(dense, rel=1e-11)
    with pytest.raises(ValueError, match="method"):
        mkl_objective(Xb, y, patterns, eta, alpha, method="cg")


def test_feature_route_certifies_small_alpha_as_well_as_cholesky():
    """At alpha = 1e-6 alpha_max (a nearly interpolating fit, where a = (y - Phi w)/(n alpha)
    cancels) the refined feature solves still certify tol = 1e-8, as the n x n route does."""
    rng = np.random.default_rng(0)
    n = 600
    Xb = np.hstack([rng.standard_normal((n, 3)), np.ones((n, 1))])
    y = np.maximum(Xb @ rng.standard_normal(4), 0) + 0.01 * rng.standard_normal(n)
    patterns = activation_patterns(Xb, sample_gates(4, 40, random_state=1))
    alpha = 1e-6 * alpha_max(Xb, y, patterns)
    feat = irls(Xb, y, patterns, alpha, tol=1e-8, method="features")
    dense = irls(Xb, y, patterns, alpha, tol=1e-8, method="cholesky")
    assert feat.converged and dense.converged
    assert abs(feat.objective - dense.objective) <= feat.dual_gap + dense.dual_gap
