"""The exact convex ReLU model (cone-constrained program, ``docs/math.md``, "Convex ReLU
networks") against independent references:

* the CVXPY/Clarabel optimum (cone_fista to <= 1e-6 relative, several alphas, with and without
  intercept, multi-output), with constraints holding to 1e-8 and an honest certificate: the gap
  recomputed here from explicit constraint matrices, with the solver's multipliers, bounds the
  suboptimality against CVXPY;
* the cone projections against scipy's NNLS, and the prox of ``tau ||.|| + iota_K`` against its
  optimality conditions;
* the exported ReLU network reproduces the predictions and the objective; on 1-D data with every
  pattern enumerated, the convex optimum is below plain gradient descent (jax.grad) on the
  non-convex ReLU network with weight decay from several random starts;
* scikit-learn's estimator checks; clear errors for bad input.
"""

import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.optimize import nnls
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.estimator_checks import parametrize_with_checks

from gatedrelu import (
    ConvexReLUClassifier,
    ConvexReLURegressor,
    ReLUNetwork,
    activation_patterns,
    alpha_max,
    enumerate_patterns,
    sample_gates,
    solve_convex_relu,
)
from gatedrelu.convex_relu import convex_relu_problem, split_coef
from gatedrelu.problem import Problem, certify_numpy
from gatedrelu.problem.constraints.cone import ConeConstraint
from gatedrelu.solvers import REGISTRY
from gatedrelu.solvers.cone_fista import Active, project_cones


def relu_data(n=60, d=3, m=16, *, c=None, intercept=True, seed=0):
    """Inputs, targets from a 3-neuron ReLU teacher plus noise, and sampled patterns."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    if intercept:
        X = np.hstack([X, np.ones((n, 1))])
    W = rng.standard_normal((X.shape[1], 3))
    a = rng.standard_normal((3,) if c is None else (3, c))
    y = np.maximum(X @ W, 0) @ a + 0.1 * rng.standard_normal((n,) if c is None else (n, c))
    return X, y, activation_patterns(X, sample_gates(X.shape[1], m, random_state=seed + 1))


def explicit_certificate(X, y, masks, coef, alpha, Lam, centred=False):
    """F, the dual value and the violation of (CR) from explicit constraint matrices.

    The dual value is the better of two dual points, each with the multipliers ``Lam`` and
    scaled jointly with them into the feasible set: the residual ``theta = r / n``, and the
    refined point ``theta + B c`` (``docs/math.md``, "The certificate") with ``B`` the directions
    ``D_j X v_j`` of the non-zero groups (``v_j = u_j / ||u_j||``) and ``(B^T B) c = alpha -
    <v_j, G_j>``; ``centred``: the program has a free intercept, the correction is centred
    (``P B``) so that the point stays on ``sum theta = 0``."""
    n = len(y)
    P = masks.shape[1]
    Y = y.reshape(n, -1)
    U = coef.reshape(2 * P, X.shape[1], -1)
    V, W = U[:P], -U[P:]
    pred = sum(masks[:, [i]] * (X @ (V[i] - W[i])) for i in range(P))
    R = Y - pred
    F = 0.5 * np.sum(R**2) / n + alpha * sum(np.linalg.norm(V[i]) + np.linalg.norm(W[i]) for i in range(P))
    L = np.maximum(Lam, 0).reshape(n, 2 * P, -1)
    E = [np.diag(2.0 * masks[:, j % P] - 1) * (1 if j < P else -1) for j in range(2 * P)]
    viol = max(0.0, max(float(np.max(-(E[j] @ X @ U[j]))) for j in range(2 * P)))

    def dual_value(theta):
        norms = [np.linalg.norm(X.T @ (masks[:, [j % P]] * theta + E[j] @ L[:, j]))
                 for j in range(2 * P)]
        t = min(1.0, alpha / max(norms))
        return np.sum(t * theta * Y) - 0.5 * n * np.sum((t * theta) ** 2)

    theta = R / n
    support = [j for j in range(2 * P) if np.linalg.norm(U[j]) > 0]
    dual = dual_value(theta)
    if 0 < len(support) <= n:
        dirs, excess = [], []
        for j in support:
            v = U[j] / np.linalg.norm(U[j])
            b = masks[:, [j % P]] * (X @ v)
            dirs.append((b - b.mean(axis=0) if centred else b).ravel())
            excess.append(alpha - np.sum(v * (X.T @ (masks[:, [j % P]] * theta + E[j] @ L[:, j]))))
        B = np.stack(dirs, axis=1)
        c = np.linalg.lstsq(B.T @ B, np.array(excess), rcond=None)[0]
        dual = max(dual, dual_value(theta + (B @ c).reshape(theta.shape)))
    return F, dual, viol


# --------------------------------------------------------------------------- solver vs CVXPY


@pytest.fixture(scope="module", params=[True, False], ids=["intercept", "no-intercept"])
def data(request):
    X, y, p = relu_data(intercept=request.param, seed=3 if request.param else 4)
    refs = {}
    for frac in (0.5, 0.1, 0.02):
        alpha = frac * alpha_max(X, y, p)
        refs[frac] = (alpha, solve_convex_relu(X, y, p, alpha, solver="cvxpy"))
    return X, y, p, refs


@pytest.fixture(params=["numpy", "jax"])
def cone_path(request, monkeypatch):
    """cone_fista's two implementations of one method: numpy (small problems, no compilation)
    and the compiled JAX loop (forced by a numpy size bound of 0)."""
    from gatedrelu.solvers import cone_fista

    if request.param == "jax":
        monkeypatch.setattr(cone_fista, "NUMPY_SIZE", 0)
    return request.param


@pytest.mark.slow
@pytest.mark.parametrize("frac", [0.5, 0.1, 0.02])
def test_cone_fista_reaches_the_cvxpy_optimum_with_an_honest_certificate(data, frac, cone_path):
    X, y, p, refs = data
    alpha, ref = refs[frac]
    assert ref.converged
    res = solve_convex_relu(X, y, p, alpha, solver="cone_fista", tol=1e-8, max_iter=50_000)
    assert res.converged, res.status
    assert abs(res.objective - ref.objective) <= 1e-6 * ref.objective
    # constraints hold at the returned solution (feasible iterates: rounding only)
    assert res.constraint_violation <= 1e-8
    # the certificate recomputed from explicit matrices with the returned multipliers
    F, dual, viol = explicit_certificate(X, y, p.masks, res.coef, alpha, res.info["multipliers"])
    assert res.objective == pytest.approx(F, rel=1e-10)
    assert res.dual_gap == pytest.approx(F - dual, rel=1e-6, abs=1e-12 * F)
    assert viol == pytest.approx(res.constraint_violation, abs=1e-12)
    # weak duality: the dual value is below the CVXPY optimum, so the gap bounds F - F*
    assert dual <= ref.objective * (1 + 1e-9)
    assert res.objective - ref.objective <= res.dual_gap + 1e-9 * ref.objective
    # the network is a ReLU network: the neurons follow their patterns on the data
    V, W = split_coef(res.coef)
    act = (X @ V.T > 1e-12 * np.abs(X @ V.T).max())
    assert np.all(~act | p.masks)


@pytest.mark.slow
def test_multi_output_reaches_the_cvxpy_optimum(cone_path):
    X, y, p = relu_data(n=50, m=12, c=2, seed=5)
    alpha = 0.05 * alpha_max(X, y, p)
    ref = solve_convex_relu(X, y, p, alpha, solver="cvxpy")
    res = solve_convex_relu(X, y, p, alpha, solver="cone_fista", tol=1e-8, max_iter=50_000)
    assert res.converged and res.coef.shape == (2 * p.n_patterns, X.shape[1], 2)
    assert abs(res.objective - ref.objective) <= 1e-6 * ref.objective
    assert res.constraint_violation <= 1e-8
    F, dual, _ = explicit_certificate(X, y, p.masks, res.coef, alpha, res.info["multipliers"])
    assert res.dual_gap == pytest.approx(F - dual, rel=1e-6, abs=1e-12 * F)


@pytest.mark.parametrize("loss", ["squared_intercept", "logistic"])
def test_cone_fista_numpy_and_jax_agree_and_meet_cvxpy(loss, monkeypatch):
    """The numpy path (no compilation) and the JAX loop run the same method: both certify, and
    their objectives meet the CVXPY optimum within their certified gaps (a datafit with a free
    intercept, and the logistic loss, whose gradient is not affine)."""
    from gatedrelu.solvers import cone_fista

    X, y, p = relu_data(n=40, m=8, seed=6)
    if loss == "logistic":
        y = np.where(y > np.median(y), 1.0, -1.0)
    alpha = 0.05
    ref = solve_convex_relu(X, y, p, alpha, solver="cvxpy", loss=loss)
    assert ref.converged
    out = {}
    for path, bound in (("numpy", cone_fista.NUMPY_SIZE), ("jax", 0)):
        monkeypatch.setattr(cone_fista, "NUMPY_SIZE", bound)
        res = solve_convex_relu(X, y, p, alpha, solver="cone_fista", loss=loss, tol=1e-7)
        assert res.converged and res.constraint_violation <= 1e-8, (path, res.status)
        # both gaps are true bounds: F* lies in [F - gap, F] for each answer
        slack = 1e-12 * ref.objective
        assert -ref.dual_gap - slack <= res.objective - ref.objective <= res.dual_gap + slack, path
        out[path] = res
    assert out["numpy"].objective == pytest.approx(out["jax"].objective, rel=2e-7)


def test_auto_certifies_and_the_cvxpy_multipliers_are_a_certificate(data):
    X, y, p, refs = data
    alpha, ref = refs[0.1]
    F, dual, viol = explicit_certificate(X, y, p.masks, ref.coef, alpha, ref.info["multipliers"])
    assert ref.dual_gap == pytest.approx(F - dual, rel=1e-6, abs=1e-12 * F)
    assert viol <= 1e-12  # the interior-point answer is projected onto the cones
    res = solve_convex_relu(X, y, p, alpha)
    assert res.converged and abs(res.objective - ref.objective) <= 1e-6 * ref.objective


def test_convex_relu_is_above_the_gated_relu_optimum(data):
    """The cone constraints shrink each group's feasible set: F*(CR) >= F*(GL) on the same
    patterns, and both are certified."""
    from gatedrelu import solve_group_lasso

    X, y, p, refs = data
    for alpha, ref in refs.values():
        gl = solve_group_lasso(X, y, p, alpha, tol=1e-10)
        assert ref.objective >= gl.objective - gl.dual_gap


def test_alpha_large_gives_zero():
    X, y, p = relu_data(seed=6)
    res = solve_convex_relu(X, y, p, 1.01 * alpha_max(X, y, p), solver="cone_fista")
    assert res.converged and not np.any(res.coef)


# --------------------------------------------------------------------------- projections


@pytest.mark.slow
def test_projections_match_scipy_nnls_and_the_prox_conditions():
    X, y, p = relu_data(n=40, seed=7)
    M2 = np.hstack([p.masks, p.masks])
    S = ConeConstraint.orthant(M2, np.float64)
    rng = np.random.default_rng(0)
    V = rng.standard_normal((M2.shape[1], X.shape[1]))
    B, d = V.shape
    with jax.enable_x64(True):
        U, UX, act, zero, done, _ = project_cones(
            jnp.asarray(X), jnp.asarray(S.T), jnp.asarray(V),
            Active(jnp.full((B, d), -1, jnp.int32), jnp.zeros((B, d))), 0.0, 1, 3 * d + 10, B)
    U, act_idx, act_mu = np.asarray(U), np.asarray(act.idx), np.asarray(act.mu)
    assert np.all(np.asarray(done))
    for b in range(B):
        C = S[:, [b]] * X
        mu, _ = nnls(C.T, -V[b])
        ref = V[b] + C.T @ mu
        np.testing.assert_allclose(U[b], ref, atol=1e-10 * max(1.0, np.linalg.norm(V[b])))
        # KKT of the projection: feasible, mu >= 0, complementary
        assert np.min(C @ U[b]) >= -1e-12
        assert np.all(act_mu[b] >= 0)
        used = act_idx[b][act_idx[b] >= 0]
        np.testing.assert_allclose(C[used] @ U[b], 0, atol=1e-10)
    np.testing.assert_allclose(UX, U @ X.T, atol=1e-12)
    # prox of tau ||.|| + iota_K: shrink the projection; the residual is in the normal cone
    tau = 0.3 * np.median(np.linalg.norm(U, axis=1))
    for b in range(B):
        nu = np.linalg.norm(U[b])
        u = max(0.0, 1 - tau / nu) * U[b] if nu > 0 else U[b]
        C = S[:, [b]] * X
        # u minimises 1/2 ||u - v||^2 + tau ||u|| over the cone: compare with a perturbation
        for _ in range(5):
            z = u + 1e-3 * rng.standard_normal(d)
            if np.min(C @ z) >= 0:
                assert 0.5 * np.sum((u - V[b]) ** 2) + tau * np.linalg.norm(u) <= \
                    0.5 * np.sum((z - V[b]) ** 2) + tau * np.linalg.norm(z) + 1e-12


def test_certificate_with_and_without_multipliers():
    X, y, p = relu_data(n=40, seed=8)
    alpha = 0.1 * alpha_max(X, y, p)
    problem = convex_relu_problem(X, y, p.masks, alpha)
    res = solve_convex_relu(X, y, p, alpha, solver="cvxpy")
    with_mult = certify_numpy(problem, res.coef, res.info["multipliers"])
    without = certify_numpy(problem, res.coef)  # Lambda = 0: the (GL) certificate, looser
    assert with_mult.relative_gap <= 1e-6 < without.relative_gap
    # an infeasible point: the violation is reported, absolute and relative to rms(y)
    U = res.coef.copy()
    U[0] = -sample_gates(X.shape[1], 1, random_state=0)[:, 0]
    bad = certify_numpy(problem, U)
    expected = float(np.max(-(ConeConstraint.values(X, problem.M, U))))
    assert bad.constraint_violation == pytest.approx(expected, rel=1e-12) and expected > 0
    assert bad.relative_violation == pytest.approx(expected / np.sqrt(np.mean(y**2)), rel=1e-12)
    with pytest.raises(ValueError, match="multipliers must have shape"):
        certify_numpy(problem, res.coef, np.zeros((3, 3)))
    with pytest.raises(ValueError, match=r"masks \[M, M\]"):
        ConeConstraint.check(np.ones((4, 3), bool))
    with pytest.raises(ValueError, match="repeat the patterns"):
        ConeConstraint.check(np.eye(4, dtype=bool))


# --------------------------------------------------------------------------- network


@pytest.fixture(scope="module")
def fitted():
    X, y, _ = relu_data(n=80, d=2, intercept=False, seed=9)
    model = ConvexReLURegressor(n_gates=30, alpha=1e-2, random_state=0).fit(X, y)
    return X, y, model


def test_network_reproduces_predictions_and_objective(fitted):
    X, y, model = fitted
    net = model.to_network()
    assert isinstance(net, ReLUNetwork) and net.n_neurons == model.n_active_neurons_
    np.testing.assert_allclose(net.predict(X), model.predict(X), rtol=1e-12, atol=1e-12)
    # an independent evaluation of the ReLU network
    Xb = np.hstack([X, np.ones((len(X), 1))])
    manual = np.maximum(Xb @ net.first_layer.T, 0) @ net.output_weights + model.intercept_
    np.testing.assert_allclose(manual, model.predict(X), rtol=1e-12, atol=1e-12)
    # alpha is in units of the targets' scale: the user-units weight decay is alpha * sigma
    sigma = model.target_scale_
    assert sigma == pytest.approx(np.std(y), rel=1e-12)
    F_net = 0.5 * np.mean((net.predict(X) - y) ** 2) + net.weight_decay(1e-2 * sigma)
    assert F_net == pytest.approx(model.objective_, rel=1e-9)
    # and the objective is the CVXPY optimum of the same patterns, with a free intercept
    ref = solve_convex_relu(Xb, y, model.patterns_, 1e-2 * sigma, solver="cvxpy",
                            loss="squared_intercept")
    assert model.objective_ == pytest.approx(ref.objective, rel=1e-6)
    assert model.intercept_ == pytest.approx(ref.intercept, abs=1e-3 * sigma)
    assert model.dual_gap_ <= 1e-6 * model.objective_ and model.constraint_violation_ <= 1e-10
    # weight split: v_i / sqrt(||v_i||) and +-sqrt(||v_i||)
    V, W = model.coef_
    norms = np.linalg.norm(np.vstack([V, W]), axis=1)
    assert sorted(np.abs(net.output_weights)) == pytest.approx(sorted(np.sqrt(norms[norms > 0])))


def test_convex_optimum_is_below_gradient_descent_on_the_relu_network():
    """1-D data with a bias: every pattern is enumerated, so (CR) is the global optimum of ReLU
    training; gradient descent on the non-convex network never gets below it."""
    rng = np.random.default_rng(10)
    n = 24
    x = np.sort(rng.uniform(-2, 2, n))
    y = np.sin(2 * x) + 0.1 * rng.standard_normal(n)
    Xb = np.column_stack([x, np.ones(n)])
    alpha = 1e-3
    p = enumerate_patterns(Xb)
    res = solve_convex_relu(Xb, y, p, alpha, tol=1e-8)
    assert res.converged
    F_cvx = res.objective

    def objective(params):
        W, a = params
        f = jnp.maximum(jnp.asarray(Xb) @ W.T, 0) @ a
        return 0.5 * jnp.mean((f - y) ** 2) + 0.5 * alpha * (jnp.sum(W**2) + jnp.sum(a**2))

    grad = jax.jit(jax.grad(objective))

    @jax.jit
    def descend(params):
        return jax.lax.fori_loop(
            0, 20_000, lambda _, q: jax.tree.map(lambda u, g: u - 0.05 * g, q, grad(q)), params)

    with jax.enable_x64(True):
        finals = []
        for seed in range(5):
            k = np.random.default_rng(seed)
            params = (jnp.asarray(k.standard_normal((20, 2))), jnp.asarray(k.standard_normal(20) / 4))
            finals.append(float(objective(descend(params))))
    assert all(F_cvx <= F * (1 + 1e-9) for F in finals), (F_cvx, finals)
    # gradient descent does make progress towards it (the comparison is not vacuous)
    assert min(finals) <= 3 * F_cvx


# --------------------------------------------------------------------------- estimators


@pytest.mark.slow
@parametrize_with_checks([ConvexReLURegressor(n_gates=10), ConvexReLUClassifier(n_gates=10)])
def test_sklearn_compatible(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        check(estimator)


def test_classifier_predicts_labels_and_multiclass():
    X, y, _ = relu_data(n=90, d=2, intercept=False, seed=11)
    labels = np.digitize(y, np.quantile(y, [1 / 3, 2 / 3]))
    clf = ConvexReLUClassifier(n_gates=20, alpha=1e-3, random_state=0).fit(X, labels)
    assert clf.coef_.shape[-1] == 3 and clf.score(X, labels) > 0.8
    net = clf.to_network()
    np.testing.assert_allclose(net.predict(X), clf.decision_function(X), rtol=1e-12, atol=1e-12)
    assert set(clf.predict(X)) <= set(labels)


# --------------------------------------------------------------------------- bad input


def test_bad_input_gives_clear_errors():
    X, y, p = relu_data(n=30, seed=12)
    with pytest.raises(ValueError, match="expected one of 'auto', 'cone_fista', 'cvxpy'"):
        solve_convex_relu(X, y, p, 0.1, solver="fista")
    with pytest.raises(ValueError, match="Unknown solver 'newton'"):
        ConvexReLURegressor(solver="newton").fit(X, y)
    Xn = X.copy()
    Xn[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        solve_convex_relu(Xn, y, p, 0.1)
    with pytest.raises(ValueError, match="NaN"):
        ConvexReLURegressor().fit(Xn, y)
    with pytest.raises(ValueError, match="30"):
        solve_convex_relu(X, y[:-1], p, 0.1)
    with pytest.raises(ValueError, match="alpha"):
        solve_convex_relu(X, y, p, -1.0)
    with pytest.raises(ValueError, match="init must have shape"):
        solve_convex_relu(X, y, p, 0.1, init=np.zeros((p.n_patterns, X.shape[1])))
    with pytest.raises(ValueError, match="cannot solve this problem"):
        from gatedrelu import solve_group_lasso

        solve_group_lasso(X, y, p, 0.1, solver="cone_fista")
    with pytest.raises(ValueError, match="expects 3"):
        ConvexReLURegressor(n_gates=10, random_state=0).fit(X[:, :3], y).to_network().predict(X)
    with pytest.raises(ValueError, match=r"shape \(2, P, d"):
        from gatedrelu.network import relu_network_from_coef

        relu_network_from_coef(np.zeros((3, 2, 2)), fit_intercept=False)


@pytest.mark.slow
def test_unconverged_solve_warns_with_gap_and_violation():
    X, y, p = relu_data(n=40, seed=13)
    alpha = 0.01 * alpha_max(X, y, p)
    with pytest.warns(ConvergenceWarning, match=r"duality gap .* and constraint violation .*relative"):
        res = solve_convex_relu(X, y, p, alpha, solver="cone_fista", max_iter=2, tol=1e-10)
    assert not res.converged


def test_solvers_refuse_or_accept_the_cone_problem():
    X, y, p = relu_data(n=30, seed=14)
    problem = convex_relu_problem(X, y, p.masks, 0.1)
    plain = Problem(X, p.masks, y, 0.1)
    for name, spec in REGISTRY.items():
        accepts = spec.supports(problem) is None
        assert accepts == (name in ("auto", "cone_fista", "cvxpy")), name
        if name == "cone_fista":
            assert spec.supports(plain) is not None


def test_scaled_data_give_the_unscaled_solution():
    X, y, p = relu_data(n=40, seed=15)
    alpha = 0.05 * alpha_max(X, y, p)
    ref = solve_convex_relu(X, y, p, alpha, solver="cone_fista", tol=1e-9)
    res = solve_convex_relu(X * 1e100, y * 1e100, p, alpha * 1e200, solver="cone_fista", tol=1e-9)
    assert res.converged
    assert res.objective / 1e200 == pytest.approx(ref.objective, rel=1e-7)
    assert res.constraint_violation / 1e100 <= 1e-10


def test_integer_sample_weights_equal_repeated_rows():
    X, y, _ = relu_data(n=30, d=2, intercept=False, seed=16)
    w = np.random.default_rng(0).integers(0, 3, len(y))
    gates = sample_gates(3, 15, random_state=1)
    a = ConvexReLURegressor(alpha=1e-2, gates=gates).fit(X, y, sample_weight=w)
    b = ConvexReLURegressor(alpha=1e-2, gates=gates).fit(np.repeat(X, w, 0), np.repeat(y, w))
    assert a.objective_ == pytest.approx(b.objective_, rel=1e-6)
    np.testing.assert_allclose(a.predict(X), b.predict(X), rtol=1e-4, atol=1e-4)


def test_numpy_cone_projection_kkt_and_feasible_points_stay():
    from gatedrelu.problem.constraints.cone import cone_projection

    X, y, p = relu_data(n=50, seed=17)
    M2 = np.hstack([p.masks, p.masks])
    S = ConeConstraint.orthant(M2, np.float64)
    rng = np.random.default_rng(1)
    for t in range(60):
        C = S[:, [t % M2.shape[1]]] * X
        v = 3 * rng.standard_normal(X.shape[1])
        u, mu = cone_projection(C, v)
        # KKT of min ||u - v||^2 over C u >= 0: u = v + C^T mu, mu >= 0, C u >= 0, mu . C u = 0
        np.testing.assert_allclose(u, v + C.T @ mu, atol=1e-12)
        assert np.all(mu >= 0) and np.min(C @ u) >= -1e-12 and abs(mu @ (C @ u)) <= 1e-10
        # a point of the cone (up to rounding) is its own projection
        again, _ = cone_projection(C, u)
        np.testing.assert_allclose(again, u, atol=1e-12)
    # ConeConstraint.project: feasible groups untouched, the others projected
    U = 0.1 * rng.standard_normal((M2.shape[1], X.shape[1]))
    P_U = ConeConstraint.project(X, M2, U)
    assert np.max(-ConeConstraint.values(X, M2, P_U)) <= 1e-12
    ok = np.all(ConeConstraint.values(X, M2, U) >= 0, axis=0)
    np.testing.assert_array_equal(P_U[ok], U[ok])


@pytest.mark.slow
def test_default_fit_on_raw_diabetes_is_certified():
    """The estimator's defaults on raw, unscaled data (alpha 0.1 in units of the targets' scale,
    a free intercept, 100 gates) reach a certified optimum: no ConvergenceWarning, and the
    solve's gap, recomputed from explicit constraint matrices with its multipliers, is within tol
    with the constraints met."""
    from sklearn.datasets import load_diabetes

    X, y = load_diabetes(return_X_y=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        model = ConvexReLURegressor(random_state=0).fit(X, y)
    assert model.dual_gap_ <= 1e-6 * model.objective_
    assert model.constraint_violation_ <= 1e-8 * model.target_scale_
    Xb = np.hstack([X, np.ones((len(X), 1))])
    # in the user's units: the intercept program at alpha * sigma
    alpha = model.alpha * model.target_scale_
    res = solve_convex_relu(Xb, y, model.patterns_, alpha, loss="squared_intercept")
    assert res.objective == pytest.approx(model.objective_, rel=1e-6)
    # the intercept program at (U, b) is the plain one of the targets y - b, and its dual points
    # are centred residuals, whose plain dual value is the intercept program's
    F, dual, viol = explicit_certificate(Xb, y - res.intercept, model.patterns_.masks, res.coef,
                                         alpha, res.info["multipliers"], centred=True)
    assert F == pytest.approx(res.objective, rel=1e-10)
    assert F - dual <= 1e-6 * F and viol <= 1e-8 * model.target_scale_


def test_numpy_cone_projection_ends_on_rank_deficient_constraints(monkeypatch):
    """Duplicate samples (rows of C repeated, as in iris) and targets in the polar cone
    (projection 0): the projection meets the KKT conditions in a few active-set steps (it used
    to add and drop the same rows for ~900 steps per projection under rounding)."""
    from gatedrelu.problem.constraints.cone import cone_projection

    rng = np.random.default_rng(5)
    X = np.hstack([rng.standard_normal((30, 4)), np.ones((30, 1))])
    X = np.vstack([X, X, X[:10]])  # duplicates
    masks = X @ rng.standard_normal((5, 12)) >= 0
    S = ConeConstraint.orthant(np.hstack([masks, masks]), np.float64)
    calls = []
    real = np.linalg.lstsq
    monkeypatch.setattr(np.linalg, "lstsq", lambda *a, **k: (calls.append(1), real(*a, **k))[1])
    for j in range(S.shape[1]):
        C = S[:, [j]] * X
        for v in (-C.T @ rng.random(len(C)), rng.standard_normal(5)):  # polar cone, and any
            calls.clear()
            u, mu = cone_projection(C, v)
            assert len(calls) <= 20 * X.shape[1], len(calls)
            scale = np.linalg.norm(v) * np.abs(C).max()
            assert np.all(mu >= 0) and np.min(C @ u) >= -1e-12 * scale
            assert abs(mu @ (C @ u)) <= 1e-10 * scale * max(1.0, mu.sum())
            np.testing.assert_allclose(u, v + C.T @ mu, atol=1e-12 * np.linalg.norm(v))


# --------------------------------------------------------------------------- defaults, losses


def test_classifier_probabilities_are_the_link_of_the_decision_function():
    """``loss="logistic"``: P(classes_[1]) is the sigmoid of the score; ``"multinomial"``: the
    softmax of the scores; both fits are the CVXPY optimum of their cone-constrained program."""
    X, y, _ = relu_data(n=60, d=2, intercept=False, seed=12)
    Xt = np.random.default_rng(3).standard_normal((20, 2))
    labels = np.array(["a", "b"])[(y > np.median(y)).astype(int)]
    clf = ConvexReLUClassifier(n_gates=10, alpha=0.05, loss="logistic", random_state=0)
    clf.fit(X, labels)
    proba = clf.predict_proba(Xt)
    score = clf.decision_function(Xt)
    np.testing.assert_allclose(proba[:, 1], 1 / (1 + np.exp(-score)), rtol=1e-12)
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-12)
    np.testing.assert_allclose(clf.predict_log_proba(Xt), np.log(proba), rtol=1e-10)
    np.testing.assert_array_equal(clf.predict(Xt), clf.classes_[np.argmax(proba, axis=1)])
    Xb = np.hstack([X, np.ones((len(X), 1))])
    ref = solve_convex_relu(Xb, np.where(labels == "b", 1.0, -1.0), clf.patterns_, 0.05,
                            solver="cvxpy", loss="logistic")
    assert abs(clf.objective_ - ref.objective) <= clf.dual_gap_ + ref.dual_gap
    three = np.digitize(y, np.quantile(y, [1 / 3, 2 / 3]))
    multi = ConvexReLUClassifier(n_gates=10, alpha=0.05, loss="multinomial", random_state=0)
    multi.fit(X, three)
    scores = multi.decision_function(Xt)
    expected = np.exp(scores - scores.max(axis=1, keepdims=True))
    np.testing.assert_allclose(multi.predict_proba(Xt), expected / expected.sum(axis=1,
                                                                                keepdims=True),
                               rtol=1e-10)


def test_squared_loss_classifier_says_why_it_has_no_probabilities():
    X, y, _ = relu_data(n=40, d=2, intercept=False, seed=12)
    clf = ConvexReLUClassifier(n_gates=10, random_state=0).fit(X, y > np.median(y))
    assert not hasattr(clf, "predict_proba")
    with pytest.raises(AttributeError, match=r"ConvexReLUClassifier with loss='squared' has no "
                                             r"predict_proba.*Use loss='logistic'"):
        clf.predict_proba(X)
    with pytest.raises(ValueError, match="loss"):
        ConvexReLUClassifier(loss="hinge").fit(X, y > 0)


def test_regressor_predictions_follow_the_targets_offset_and_scale():
    """Targets standardised inside, a free intercept: ``y -> c y + k`` gives ``c f + k``, and the
    intercept is what the CVXPY intercept program at ``alpha * target_scale_`` finds."""
    X, y, _ = relu_data(n=50, d=2, intercept=False, seed=13)
    Xt = np.random.default_rng(4).standard_normal((15, 2))
    base = ConvexReLURegressor(n_gates=10, random_state=0, tol=1e-9).fit(X, y)
    moved = ConvexReLURegressor(n_gates=10, random_state=0, tol=1e-9).fit(X, -300 * y + 1e4)
    np.testing.assert_allclose(moved.predict(Xt), -300 * base.predict(Xt) + 1e4,
                               rtol=1e-6, atol=1e-5 * 300 * np.std(y))
    Xb = np.hstack([X, np.ones((len(X), 1))])
    ref = solve_convex_relu(Xb, y, base.patterns_, base.alpha * base.target_scale_,
                            solver="cvxpy", loss="squared_intercept", tol=1e-9)
    assert base.objective_ == pytest.approx(ref.objective, rel=1e-7)
    assert base.intercept_ == pytest.approx(ref.intercept, abs=1e-5 * np.std(y))


def test_intercept_and_loss_survive_the_model_file(tmp_path):
    """The new fitted attributes (intercept_, target_scale_) and the classifier's loss go
    through the model files: the loaded models predict what the fitted ones do."""
    from gatedrelu.io import load_model, save_model

    X, y, _ = relu_data(n=40, d=2, intercept=False, seed=14)
    reg = ConvexReLURegressor(n_gates=10, random_state=0).fit(X, y + 50)
    clf = ConvexReLUClassifier(n_gates=10, loss="logistic", random_state=0).fit(X, y > 0)
    for name, model, method in (("reg", reg, "predict"), ("clf", clf, "predict_proba")):
        save_model(model, tmp_path / f"{name}.npz")
        loaded = load_model(tmp_path / f"{name}.npz")
        np.testing.assert_array_equal(getattr(loaded, method)(X), getattr(model, method)(X))
    assert loaded.loss == "logistic" and reg.intercept_ != 0
