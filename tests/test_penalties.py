"""The penalties (``docs/math.md``, "Penalties") against independent references.

* prox: the closed form of column soft-thresholding, the KKT conditions of Dykstra's answer for
  the crossing groups, and a CVXPY prox for every registered penalty and its ridge mix;
* dual norm: a CVXPY maximisation of ``<G, U>`` over the penalty's own unit ball for every norm
  penalty, and the inf-convolution (a CVXPY minimisation over splits) for the crossing groups,
  whose bound must be an upper bound within 1e-12;
* alpha_max: ``U = 0`` is certified optimal just above it and CVXPY's solution is non-zero below;
* the ridge term: its conjugate by weak duality (Fenchel-Young, equality at the maximiser, CVXPY),
  its prox and ``alpha_max`` scaling, gap-safe screening that never discards an active group
  (hypothesis), exact rescaling of extreme data;
* feature sparsity zeroes whole input columns of the exported network;
* estimators, CV, model files and bad parameters.
"""

import cvxpy as cp
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gatedrelu import (
    GatedReLUClassifier,
    GatedReLURegressor,
    GatedReLURegressorCV,
    activation_patterns,
    alpha_max,
    sample_gates,
    solve_group_lasso,
)
from gatedrelu.group_lasso import make_problem
from gatedrelu.io import load_model, save_model
from gatedrelu.problem import PENALTIES, certify_numpy, get_penalty, make_penalty
from gatedrelu.problem.penalties import ElasticNet, FeatureL2, GroupL2, NeuronFeatureL2
from gatedrelu.problem.penalties.group_l2_feature import dykstra, inf_convolution_bounds
from gatedrelu.solvers.working_set import gap_safe_screen, group_operator_bounds
from tests.helpers import planted_problem


def all_penalties():
    """Every registered penalty (defaults), a second feature weight, and every ridge mix."""
    found = [(name, get_penalty(name)) for name in sorted(PENALTIES)]
    found.append(("group_l2+feature(0.3)", NeuronFeatureL2(0.3)))
    found += [(f"{name}+ridge", ElasticNet(p, 0.6)) for name, p in list(found) if p.is_norm]
    return found


PENALTY_LIST = all_penalties()
NORMS = [(n, p) for n, p in PENALTY_LIST if p.is_norm]
IDS = [n for n, _ in PENALTY_LIST]


def cvxpy_vars(shape):
    """CVXPY variables in the layout of ``Penalty.cvxpy_value``: c of shape (d, P)."""
    c = 1 if len(shape) == 2 else shape[2]
    return [cp.Variable((shape[1], shape[0])) for _ in range(c)]


def stack(Us, shape):
    """(P, d[, c]) array from the values of the CVXPY variables."""
    out = np.stack([U.value.T for U in Us], axis=-1)
    return out[..., 0] if len(shape) == 2 else out


def as_terms(A, shape):
    """The (d, P) slices of an array of shape (P, d[, c]), one per output."""
    A3 = A.reshape(shape[0], shape[1], -1)
    return [A3[:, :, k].T for k in range(A3.shape[2])]


def solve_cvx(objective, constraints=()):
    cp.Problem(objective, list(constraints)).solve(
        solver=cp.CLARABEL, tol_gap_abs=1e-11, tol_gap_rel=1e-11, tol_feas=1e-11)


def run64(fn, *args):
    """A traceable function of the penalty modules, called in JAX's 64-bit mode; numpy out."""
    with jax.enable_x64(True):
        out = fn(*(jnp.asarray(a) if isinstance(a, np.ndarray) else a for a in args))
        return [np.asarray(a) for a in out]


def random_G(rng, shape, spread=True):
    G = rng.standard_normal(shape)
    if spread:  # rows and columns of different sizes, one zero column
        G = G * np.exp(rng.normal(0, 1, (shape[0], 1) + (1,) * (len(shape) - 2)))
        G = G * np.exp(rng.normal(0, 1, (1, shape[1]) + (1,) * (len(shape) - 2)))
        G[:, 1] = 0
    return G


# --------------------------------------------------------------------------- registry, prox


def test_registry():
    assert {"group_l2", "feature", "group_l2+feature"} <= set(PENALTIES)
    for name, cls in PENALTIES.items():
        assert cls.name == name and get_penalty(name) == cls()
    assert "elastic_net" not in PENALTIES  # a modifier (l1_ratio), not a penalty of its own
    assert make_penalty("group_l2") == GroupL2()
    assert make_penalty("group_l2+feature", feature_weight=0) == GroupL2()
    assert make_penalty("feature", l1_ratio=0.5) == ElasticNet(FeatureL2(), 0.5)
    assert hash(NeuronFeatureL2(0.5)) == hash(NeuronFeatureL2(0.5)) != hash(NeuronFeatureL2(0.6))


def test_feature_prox_is_column_soft_thresholding():
    rng = np.random.default_rng(0)
    for shape in [(7, 5), (6, 4, 3)]:
        V = random_G(rng, shape)
        norms = np.sqrt(np.sum(V**2, axis=(0,) + tuple(range(2, V.ndim))))
        t = float(np.median(norms[norms > 0]))
        U = FeatureL2.prox(V, t)
        for j in range(shape[1]):
            expected = 0 * V[:, j] if norms[j] <= t else V[:, j] * (1 - t / norms[j])
            np.testing.assert_allclose(U[:, j], expected, rtol=1e-14, atol=0)
        assert np.sum(norms <= t) >= 1 and np.all(U[:, norms <= t] == 0)  # exact zeros


@pytest.mark.slow
@pytest.mark.parametrize("shape", [(9, 4), (8, 3, 2)], ids=["single", "multi"])
def test_crossing_prox_satisfies_its_kkt_conditions(shape):
    """Dykstra's answer Y with V = Y + P + Q: P and Q are the subgradient parts of the two norms."""
    rng = np.random.default_rng(1)
    V = random_G(rng, shape)
    scale = float(np.median(np.linalg.norm(V.reshape(shape[0], -1), axis=1)))
    partial = []
    for t, beta in [(0.2 * scale, 0.5), (0.5 * scale, 0.3), (0.8 * scale, 0.1), (0.3 * scale, 2.0)]:
        Y, P, Q, k = run64(dykstra, V, t, t * beta)
        np.testing.assert_allclose(Y + P + Q, V, atol=1e-13)
        tol = 1e-10 * np.max(np.abs(V))
        rows = np.linalg.norm(Y.reshape(shape[0], -1), axis=1)
        cols = np.sqrt(np.sum(Y**2, axis=(0,) + tuple(range(2, Y.ndim))))
        assert np.all(np.linalg.norm(P.reshape(shape[0], -1), axis=1) <= t * (1 + 1e-12))
        assert np.all(np.sqrt(np.sum(Q**2, axis=(0,) + tuple(range(2, Q.ndim)))) <= t * beta * (1 + 1e-12))
        for i in np.flatnonzero(rows > 0):  # P_i = t y_i / ||y_i|| on non-zero rows
            np.testing.assert_allclose(P[i], t * Y[i] / rows[i], atol=tol)
        for j in np.flatnonzero(cols > 0):  # Q_j = t beta Y_j / ||Y_j|| on non-zero columns
            np.testing.assert_allclose(Q[:, j], t * beta * Y[:, j] / cols[j], atol=tol)
        assert k < 2000  # converged before the cap
        partial.append(0 < np.sum(rows > 0) < shape[0] and 0 < np.sum(cols > 0) < shape[1])
    assert any(partial)  # some cases zero some rows and some columns exactly, not all


@pytest.mark.parametrize("name, penalty", PENALTY_LIST, ids=IDS)
def test_prox_equals_cvxpy_prox(name, penalty):
    rng = np.random.default_rng(2)
    shape = (6, 4, 2) if "ridge" in name else (6, 4)
    V = random_G(rng, shape)
    for t in (0.2, 1.5):
        U = penalty.prox(V, t)
        Us = cvxpy_vars(shape)
        fit = sum(cp.sum_squares(Uk - Vk) for Uk, Vk in zip(Us, as_terms(V, shape)))
        cp.Problem(cp.Minimize(0.5 * fit + t * penalty.cvxpy_value(Us))).solve(
            solver=cp.CLARABEL, tol_gap_abs=1e-10, tol_gap_rel=1e-10, tol_feas=1e-10)
        ref = stack(Us, shape)

        def objective(W):
            return 0.5 * np.sum((W - V) ** 2) + t * float(penalty.value(W))

        # ours is at least as good as Clarabel's answer, and (the objective being 1-strongly
        # convex) their distance is what Clarabel's excess objective allows
        excess = objective(ref) - objective(U)
        assert excess >= -1e-12 * max(1.0, objective(ref))
        assert np.linalg.norm(U - ref) <= np.sqrt(2 * max(excess, 0)) + 1e-6 * np.max(np.abs(V))


# --------------------------------------------------------------------------- dual norms


@pytest.mark.slow
@pytest.mark.parametrize("name, penalty", NORMS, ids=[n for n, _ in NORMS])
def test_dual_norm_is_the_support_function_of_the_unit_ball(name, penalty):
    """``Omega^*(G) = max <G, U> subject to Omega(U) <= 1``, by CVXPY on the penalty's own
    expression (for the crossing groups: a certified upper bound within 1e-12)."""
    rng = np.random.default_rng(3)
    for shape in [(7, 4), (5, 3, 2)]:
        G = random_G(rng, shape)
        Us = cvxpy_vars(shape)
        inner = sum(cp.sum(cp.multiply(Gk, Uk)) for Gk, Uk in zip(as_terms(G, shape), Us))
        problem = cp.Problem(cp.Maximize(inner), [penalty.cvxpy_value(Us) <= 1])
        problem.solve(solver=cp.CLARABEL, tol_gap_abs=1e-11, tol_gap_rel=1e-11, tol_feas=1e-11)
        value = float(penalty.dual_norm(G))
        assert value == pytest.approx(problem.value, rel=1e-8)
        assert value >= problem.value * (1 - 1e-9)  # an upper bound (the certificate's side)


@pytest.mark.slow
def test_inf_convolution_bounds_are_certified_and_tight():
    """The barrier method's two bounds bracket the CVXPY inf-convolution and agree to 1e-12."""
    rng = np.random.default_rng(4)
    for shape, beta in [((4, 9, 2), 3.0), ((20, 1), 10.0)]:
        G = random_G(rng, shape, spread=min(shape[:2]) > 1)
        up, lo, k = (float(a) for a in run64(inf_convolution_bounds, G, beta))
        G1 = [cp.Variable((shape[0], shape[1])) for _ in range(G.reshape(*shape[:2], -1).shape[2])]
        t = cp.Variable()
        G3 = G.reshape(shape[0], shape[1], -1)
        rows = cp.hstack(G1) if len(G1) > 1 else G1[0]
        cols = cp.vstack([G3[:, :, c] - G1[c] for c in range(len(G1))])
        solve_cvx(cp.Minimize(t), [cp.norm(rows, 2, axis=1) <= t, cp.norm(cols, 2, axis=0) <= beta * t])
        assert lo <= up <= lo * (1 + 1e-12)
        assert up == pytest.approx(t.value, rel=1e-8)
        assert k <= 100


REGISTERED = [(n, p) for n, p in PENALTY_LIST if "(" not in n]


@pytest.mark.slow
@pytest.mark.parametrize("name, penalty", REGISTERED, ids=[n for n, _ in REGISTERED])
def test_alpha_max_is_where_zero_stops_being_optimal(name, penalty):
    X, y, p = planted_problem(n=40, d=3, m=8, intercept=True, seed=5)
    amax = alpha_max(X, y, p, penalty=penalty)
    above = certify_numpy(make_problem(X, y, p.masks, amax * (1 + 1e-9), penalty=penalty),
                          np.zeros((p.n_patterns, X.shape[1])))
    assert above.dual_gap <= 1e-12 * above.objective  # U = 0 is certified optimal
    below = solve_group_lasso(X, y, p, amax * 0.9, solver="cvxpy", penalty=penalty)
    assert np.max(np.abs(below.coef)) > 1e-6  # and is not below


# --------------------------------------------------------------------------- the ridge term


@pytest.mark.parametrize("base", [GroupL2(), FeatureL2(), NeuronFeatureL2(0.7)], ids=str)
def test_ridge_conjugate_by_weak_duality(base):
    """``(alpha h)^*(G) >= <G, U> - alpha h(U)`` for every U, with equality at the maximiser
    ``U* = prox_{alpha rho Omega}(G) / (alpha (1 - rho))``, and the CVXPY maximum."""
    rng = np.random.default_rng(6)
    rho, alpha = 0.4, 0.7
    pen = ElasticNet(base, rho)
    shape = (6, 4)
    for _ in range(3):
        G = random_G(rng, shape)
        conj = float(pen.conjugate(G, alpha))
        for U in rng.standard_normal((20,) + shape):
            assert conj >= np.vdot(G, U) - alpha * float(pen.value(U)) - 1e-12
        U_star = base.prox(G, alpha * rho) / (alpha * (1 - rho))
        assert conj == pytest.approx(np.vdot(G, U_star) - alpha * float(pen.value(U_star)), rel=1e-9)
        Us = cvxpy_vars(shape)
        solve_cvx(cp.Maximize(cp.sum(cp.multiply(as_terms(G, shape)[0], Us[0]))
                              - alpha * pen.cvxpy_value(Us)))
        value = float(np.vdot(G, stack(Us, shape)) - alpha * pen.value(stack(Us, shape)))
        assert conj == pytest.approx(value, rel=1e-7)


def test_ridge_prox_and_alpha_max_scale_the_base():
    rng = np.random.default_rng(7)
    V = rng.standard_normal((5, 3))
    pen = ElasticNet(GroupL2(), 0.25)
    t = 0.8
    U = pen.prox(V, t)
    # stationarity of 1/2||U - V||^2 + t (rho sum ||u_i|| + (1 - rho)/2 ||U||^2) on non-zero rows
    for u, v in zip(U, V):
        if np.linalg.norm(u) > 0:
            grad = u - v + t * 0.25 * u / np.linalg.norm(u) + t * 0.75 * u
            assert np.linalg.norm(grad) <= 1e-12
        else:
            assert np.linalg.norm(v) <= t * 0.25
    X, y, p = planted_problem(n=50, d=3, m=10, seed=8)
    assert alpha_max(X, y, p, l1_ratio=0.25) == pytest.approx(4 * alpha_max(X, y, p), rel=1e-14)


@pytest.mark.slow
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), n=st.integers(20, 50), d=st.integers(2, 4),
       m=st.integers(3, 15), frac=st.sampled_from([0.9, 0.5, 0.2, 0.05]),
       rho=st.sampled_from([0.2, 0.5, 0.9]), shrink=st.floats(0.0, 1.0))
def test_ridge_screening_never_discards_an_active_group(seed, n, d, m, frac, rho, shrink):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)) * rng.uniform(0.1, 10, d)
    y = np.maximum(X @ rng.standard_normal(d), 0) + 0.3 * rng.standard_normal(n)
    p = activation_patterns(X, sample_gates(d, m, random_state=seed))
    pen = make_penalty("group_l2", l1_ratio=rho)
    alpha = frac * alpha_max(X, y, p, penalty=pen)
    ref = solve_group_lasso(X, y, p, alpha, solver="cvxpy", penalty=pen)
    norms = np.linalg.norm(ref.coef, axis=1)
    active = norms > 1e-4 * max(norms.max(), 1e-300)
    problem = make_problem(X, y, p.masks, alpha, penalty=pen)
    bounds = group_operator_bounds(X, p.masks)
    for U in (shrink * ref.coef + (1 - shrink) * rng.standard_normal(ref.coef.shape) * 0.1,
              np.zeros_like(ref.coef), ref.coef):
        cert = certify_numpy(problem, U)
        screened = gap_safe_screen(cert.dual_norms, cert.dual_gap, bounds, alpha, float(n), pen)
        assert not np.any(screened & active)
    # at the optimum the test is sharp: every group strictly inside its constraint goes
    cert = certify_numpy(problem, ref.coef)
    inside = cert.dual_norms < alpha * (1 - 1e-3)
    if cert.dual_gap <= 1e-12 * cert.objective:
        screened = gap_safe_screen(cert.dual_norms, cert.dual_gap, bounds, alpha, float(n), pen)
        assert np.all(screened[inside])


def test_ridge_working_set_screens_and_reaches_cvxpy():
    X, y, p = planted_problem(n=200, d=4, m=120, seed=9)
    pen = make_penalty("group_l2", l1_ratio=0.5)
    alpha = 0.2 * alpha_max(X, y, p, penalty=pen)
    res = solve_group_lasso(X, y, p, alpha, solver="working_set", penalty=pen, tol=1e-9)
    ref = solve_group_lasso(X, y, p, alpha, solver="cvxpy", penalty=pen)
    assert res.converged and abs(res.objective - ref.objective) <= 1e-7 * ref.objective
    assert res.info["n_screened"] > 0


@pytest.mark.slow
def test_ridge_rescales_extreme_data_exactly():
    """X * a and y * b far from unit scale: with U = (b / a) W the program is the unit-scale one
    at alpha' rho' = alpha rho / (a b) and alpha' (1 - rho') = alpha (1 - rho) / a^2."""
    X, y, p = planted_problem(n=60, d=3, m=12, seed=10)
    a, b, rho = 2.0**25, 2.0**24, 0.7
    alpha0 = 0.1 * alpha_max(X, y, p, penalty="group_l2+feature", feature_weight=0.5)
    alpha_big = alpha0 * a * b
    alpha_unit = alpha0 * (rho + (1 - rho) * b / a)
    rho_unit = rho / (rho + (1 - rho) * b / a)
    kw = dict(penalty="group_l2+feature", feature_weight=0.5, tol=1e-10, solver="fista")
    big = solve_group_lasso(X * a, y * b, p, alpha_big, l1_ratio=rho, **kw)
    unit = solve_group_lasso(X, y, p, alpha_unit, l1_ratio=rho_unit, **kw)
    assert big.converged and unit.converged
    np.testing.assert_allclose(big.coef * (a / b), unit.coef, atol=1e-7 * np.abs(unit.coef).max())
    assert big.objective == pytest.approx(unit.objective * b * b, rel=1e-9)


# --------------------------------------------------------------------------- estimators


def feature_data(n=150, seed=11):
    """Three informative inputs and four pure-noise inputs."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 7))
    y = np.maximum(X[:, :3] @ np.array([1.5, -2.0, 1.0]), 0) + 0.5 * X[:, 0]
    return X, y + 0.05 * rng.standard_normal(n)


@pytest.mark.parametrize("penalty, extra, alpha", [("feature", {}, 0.2),
                                                   ("group_l2+feature", {"feature_weight": 3.0}, 0.1)])
def test_feature_sparsity_zeroes_whole_inputs_of_the_network(penalty, extra, alpha):
    X, y = feature_data()
    model = GatedReLURegressor(n_gates=30, alpha=alpha, random_state=0, penalty=penalty,
                               **extra).fit(X, y)
    net = model.to_network()
    used = np.any(net.first_layer != 0, axis=0)  # (d + 1,): the inputs, then the bias
    assert np.all(used[:3]) and not np.any(used[3:7])  # the noise inputs are cut exactly
    np.testing.assert_allclose(net.predict(X), model.predict(X), rtol=1e-10, atol=1e-10)
    # the columns CVXPY's optimum leaves at zero are the ones cut
    pen = make_penalty(penalty, **extra)
    Xb = np.hstack([X, np.ones((len(X), 1))])
    # the estimator's program: free intercept, targets divided by their scale
    sigma = model.target_scale_
    ref = solve_group_lasso(Xb, (y - y.mean()) / sigma, model.patterns_, model.alpha,
                            solver="cvxpy", penalty=pen, loss="squared_intercept")
    assert model.objective_ == pytest.approx(sigma**2 * ref.objective, rel=1e-6)
    ref_norms = np.linalg.norm(ref.coef, axis=0)
    assert np.all(ref_norms[3:7] <= 1e-6 * ref_norms.max())


@pytest.mark.slow
@pytest.mark.parametrize("kw", [dict(penalty="feature", l1_ratio=0.6),
                                dict(penalty="group_l2+feature", feature_weight=0.5, l1_ratio=0.8),
                                dict(penalty="group_l2", l1_ratio=0.3)], ids=["feature", "both", "group_l2"])
def test_estimators_certify_the_penalised_objective(kw):
    X, y = feature_data(n=80)
    model = GatedReLURegressor(n_gates=15, alpha=0.05, random_state=1, **kw).fit(X, y)
    assert model.dual_gap_ <= 1e-6 * model.objective_
    # the objective, recomputed by hand from the network's coefficients
    U = model.coef_
    Xb = np.hstack([X, np.ones((len(X), 1))])
    pred = np.sum(model.patterns_.masks * (Xb @ U.T), axis=1) + model.intercept_
    rho, sigma = kw["l1_ratio"], model.target_scale_
    neurons = np.sum(np.linalg.norm(U, axis=1))
    features = np.sum(np.linalg.norm(U, axis=0))
    omega = {"feature": features, "group_l2": neurons,
             "group_l2+feature": neurons + kw.get("feature_weight", 1.0) * features}[kw["penalty"]]
    # in the user's units the norm part is scaled by the targets' scale, the ridge part not
    # (docs/math.md, "Intercept, scale-free regularisation and linear part")
    F = 0.5 * np.mean((pred - y) ** 2) + 0.05 * (sigma * rho * omega
                                                 + 0.5 * (1 - rho) * np.sum(U**2))
    assert model.objective_ == pytest.approx(F, rel=1e-10)
    ref = solve_group_lasso(Xb, (y - y.mean()) / sigma, model.patterns_, 0.05, solver="cvxpy",
                            penalty=make_penalty(kw["penalty"], l1_ratio=rho,
                                                 feature_weight=kw.get("feature_weight")),
                            loss="squared_intercept")
    ref_F = sigma**2 * ref.objective
    assert model.objective_ - ref_F <= model.dual_gap_ + 1e-9 * ref_F
    # classifiers take the same parameters
    clf = GatedReLUClassifier(n_gates=10, alpha=0.05, random_state=1, **kw).fit(X, y > np.median(y))
    assert clf.dual_gap_ <= 1e-6 * clf.objective_ and clf.score(X, y > np.median(y)) > 0.7


@pytest.mark.slow
def test_cv_uses_the_penalty_for_its_grid_and_refit(tmp_path):
    X, y = feature_data(n=80)
    kw = dict(penalty="group_l2+feature", feature_weight=0.5, l1_ratio=0.8)
    cv = GatedReLURegressorCV(n_gates=10, n_alphas=3, eps=0.1, cv=2, random_state=0, **kw).fit(X, y)
    Xb = np.hstack([X, np.ones((len(X), 1))])
    amax = alpha_max(Xb, (y - y.mean()) / y.std(), activation_patterns(Xb, cv.patterns_.gates),
                     loss="squared_intercept", **kw)
    # the grid starts at this penalty's alpha_max (full-data patterns of the same gates)
    assert cv.alphas_[0] == pytest.approx(amax, rel=1e-9)
    direct = GatedReLURegressor(n_gates=10, alpha=cv.alpha_, random_state=0, **kw).fit(X, y)
    np.testing.assert_allclose(cv.coef_, direct.coef_, atol=1e-8)
    # model files keep the plain parameters
    path = tmp_path / "cv.npz"
    save_model(cv, path)
    loaded = load_model(path)
    assert {k: loaded.get_params()[k] for k in kw} == kw
    np.testing.assert_array_equal(loaded.predict(X), cv.predict(X))


def test_model_files_round_trip_penalty_parameters(tmp_path):
    X, y = feature_data(n=60)
    model = GatedReLURegressor(n_gates=8, alpha=0.05, random_state=2, penalty="feature",
                               l1_ratio=0.5).fit(X, y)
    save_model(model, tmp_path / "m.npz")
    loaded = load_model(tmp_path / "m.npz")
    assert loaded.get_params() == model.get_params()
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))


@pytest.mark.parametrize("kw, match", [
    (dict(l1_ratio=0.0), "l1_ratio must be in"),
    (dict(l1_ratio=1.5), "l1_ratio must be in"),
    (dict(l1_ratio=float("nan")), "l1_ratio must be in"),
    (dict(l1_ratio="0.5"), "l1_ratio must be a number"),
    (dict(l1_ratio=True), "l1_ratio must be a number"),
    (dict(penalty="lasso"), "Unknown penalty 'lasso'"),
    (dict(penalty="group_l2+feature", feature_weight=-1.0), "feature_weight must be a finite number >= 0"),
    (dict(penalty="group_l2+feature", feature_weight=float("inf")), "feature_weight must be a finite"),
    (dict(penalty="group_l2+feature", feature_weight="1"), "feature_weight must be a number"),
    (dict(penalty="feature", feature_weight=1.0), "feature_weight is used only by penalty='group_l2\\+feature'"),
    (dict(penalty=ElasticNet(GroupL2(), 0.5), l1_ratio=0.5), "mixes a ridge term into a norm penalty"),
])
def test_bad_penalty_parameters_name_themselves(kw, match):
    X, y = feature_data(n=30)
    error = TypeError if "must be a number" in match else ValueError
    with pytest.raises(error, match=match):
        GatedReLURegressor(n_gates=4, **kw).fit(X, y)
    with pytest.raises(error, match=match):
        make_penalty(**kw)
    p = activation_patterns(X, sample_gates(7, 4, random_state=0))
    with pytest.raises(error, match=match):
        solve_group_lasso(X, y, p, 0.1, **kw)
    with pytest.raises(error, match=match):
        alpha_max(X, y, p, **kw)


def test_unsupported_solvers_say_why():
    X, y, p = planted_problem(n=30, d=3, m=6, seed=12)
    for solver in ("working_set", "newton"):
        with pytest.raises(ValueError, match="cannot solve this problem: .*(not separable|group-L2)"):
            solve_group_lasso(X, y, p, 0.1, solver=solver, penalty="feature")
    with pytest.raises(ValueError, match="newton solves .* group-L2 penalty only"):
        solve_group_lasso(X, y, p, 0.1, solver="newton", l1_ratio=0.5)
    with pytest.raises(ValueError, match="feature_weight must be a finite number > 0"):
        NeuronFeatureL2(0.0)
    res = solve_group_lasso(X, y, p, 0.1, solver="auto", penalty="feature")
    assert res.converged and res.status.startswith("fista")
