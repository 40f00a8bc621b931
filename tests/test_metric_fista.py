"""The metric solver (spike-deflated variable-metric FISTA) and the refined dual point, checked
against explicit matrices: the metric and its inverse, the exact small Gram, the prox in the
metric (its optimality conditions), the deflated spectrum, the refined certificate (feasible,
and about the suboptimality where the plain one is about its square root), the masked GEMM
operator against the reference operator, and the whitening of tall data."""

import numpy as np
import pytest

from gatedrelu.operator import adjoint, forward, pack_masks
from gatedrelu.problem import Problem, certify_numpy
from gatedrelu.problem.datafits import get_datafit
from gatedrelu.problem.penalties import GroupL2
from gatedrelu.solvers import fista, metric_fista
from gatedrelu.solvers.metric_fista import MaskedMaps, build_metric
from gatedrelu.solvers.working_set import whitening
from tests.helpers import expanded_design, explicit_objective_and_gap, planted_problem


def _dense_case(n=300, d=5, m=60, seed=0, c=None):
    X, y, p = planted_problem(n=n, d=d, m=m, c=c, seed=seed)
    return X, y, p.masks


def _explicit_Z(metric, c):
    """The (k d c, m c) matrix of Z, column by column through ``metric.z``."""
    cols = []
    for j in range(metric.m * c):
        G = np.zeros((metric.m, c))
        G.flat[j] = 1.0
        cols.append(metric.z(G).ravel())
    return np.stack(cols, axis=1)


@pytest.mark.parametrize("c", [1, 3])
def test_masked_maps_equal_the_operator(c):
    X, _, M = _dense_case()
    rng = np.random.default_rng(1)
    U = rng.standard_normal((M.shape[1], X.shape[1], c))
    R = rng.standard_normal((X.shape[0], c))
    ref_f = forward(X, M, U)
    ref_a = adjoint(X, M, R)
    for maps in (MaskedMaps(X, M), MaskedMaps(X, pack_masks(M), block_bytes=64 * 8 * M.shape[1])):
        assert len(maps.blocks) >= 1
        np.testing.assert_allclose(maps.forward(U), ref_f, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(maps.adjoint(R), ref_a, rtol=1e-12, atol=1e-12)
        np.testing.assert_array_equal(maps.counts, M.sum(axis=1))
    assert len(MaskedMaps(X, pack_masks(M), block_bytes=64 * 8 * M.shape[1]).blocks) > 1


@pytest.mark.parametrize("c", [1, 2])
def test_metric_gram_inverse_and_norm_are_exact(c):
    X, _, M = _dense_case()
    maps = MaskedMaps(X, M)
    h = np.full(X.shape[0], 1 / X.shape[0])
    metric = build_metric(maps, h, c)
    k, d = M.shape[1], X.shape[1]
    Z = _explicit_Z(metric, c)
    np.testing.assert_allclose(Z.T @ Z, np.eye(metric.m * c), atol=1e-12)  # orthonormal basis
    Phi = expanded_design(X, M)  # (n, k d)
    A = np.kron(Phi, np.eye(c))  # acts on vec(U) with U (k, d, c)
    np.testing.assert_allclose(np.kron(metric.S, np.eye(c)), Z.T @ A.T @ A @ Z / X.shape[0],
                               rtol=1e-10, atol=1e-12)
    L = 0.7
    Q = L * np.eye(k * d * c) + Z @ np.kron(metric.S, np.eye(c)) @ Z.T
    G = np.random.default_rng(2).standard_normal((k, d, c))
    np.testing.assert_allclose(metric.inv(G, L).ravel(), np.linalg.solve(Q, G.ravel()),
                               rtol=1e-9, atol=1e-12)
    assert metric.dot(G, G, L) == pytest.approx(G.ravel() @ Q @ G.ravel(), rel=1e-12)


@pytest.mark.parametrize("c", [1, 2])
def test_prox_in_the_metric_meets_its_optimality_conditions(c):
    """``U = argmin ||U - V||_Q^2 / 2 + lam sum ||u_i||``: ``Q (V - U)`` is ``lam u_i / ||u_i||``
    on the non-zero groups and has norm at most ``lam`` on the others."""
    X, _, M = _dense_case()
    maps = MaskedMaps(X, M)
    metric = build_metric(maps, np.full(X.shape[0], 1 / X.shape[0]), c)
    k, d = M.shape[1], X.shape[1]
    L = 0.5
    Q = L * np.eye(k * d * c) + _explicit_Z(metric, c) @ np.kron(metric.S, np.eye(c)) @ \
        _explicit_Z(metric, c).T
    V = np.random.default_rng(3).standard_normal((k, d, c))
    lam = 0.6 * np.median(np.linalg.norm((Q @ V.ravel()).reshape(k, -1), axis=1))
    U, gamma = metric_fista._prox_metric(GroupL2(), metric, V, lam / L, L,
                                         np.zeros((metric.m, c)), 1e-13)
    sub = (Q @ (V - U).ravel()).reshape(k, -1)
    norms = np.linalg.norm(U.reshape(k, -1), axis=1)
    on = norms > 0
    assert 0 < on.sum() < k  # both kinds of groups are checked
    np.testing.assert_allclose(sub[on], lam * U.reshape(k, -1)[on] / norms[on, None], atol=1e-8)
    assert np.linalg.norm(sub[~on], axis=1).max() <= lam * (1 + 1e-8)


def test_deflation_removes_the_outlier_eigenvalues():
    """The top eigenvalues of ``A^T A / n`` (dense masks) are the mean and ReLU modes: with them
    projected out, the largest eigenvalue drops several-fold (the FISTA step grows by as much)."""
    X, _, M = _dense_case(n=400, d=6, m=80)
    maps = MaskedMaps(X, M)
    metric = build_metric(maps, np.full(X.shape[0], 1 / X.shape[0]), 1)
    Phi = expanded_design(X, M)
    H = Phi.T @ Phi / X.shape[0]
    Z = _explicit_Z(metric, 1)
    P = np.eye(H.shape[0]) - Z @ Z.T
    top, bulk = np.linalg.eigvalsh(H)[-1], np.linalg.eigvalsh(P @ H @ P)[-1]
    assert top / bulk > 4, (top, bulk)
    # and the small Gram holds the outliers: its largest eigenvalue is H's largest
    assert np.linalg.eigvalsh(metric.S)[-1] == pytest.approx(top, rel=0.05)


def test_refined_dual_is_feasible_and_about_the_suboptimality():
    X, y, p = planted_problem(n=200, d=5, m=40, seed=4)
    M = p.masks
    from gatedrelu import alpha_max

    prob = Problem(X, M, y, 0.05 * alpha_max(X, y, p))
    ref = metric_fista.run(prob, np.zeros((M.shape[1], X.shape[1])), 1e-13, 20_000)
    F_star = ref[4]
    assert ref[3] == 1  # certified to 1e-13
    plain, refined = [], []
    for its in (30, 40, 50):
        U = metric_fista.run(prob, np.zeros_like(ref[0]), 1e-16, its, refine=False)[0]
        a, b = certify_numpy(prob, U, refine=False), certify_numpy(prob, U)
        sub = a.objective - F_star
        assert sub > 0
        F_explicit, gap_explicit = explicit_objective_and_gap(X, y, M, U, prob.alpha)
        assert b.dual_gap == pytest.approx(gap_explicit, rel=1e-6, abs=1e-13)  # independent
        assert sub <= b.dual_gap * (1 + 1e-9) <= a.dual_gap * (1 + 1e-9)  # valid and no worse
        plain.append(a.dual_gap / sub)
        refined.append(b.dual_gap / sub)
    # the plain gap is far above the suboptimality; the refined one within a small factor
    assert min(plain) > 20 and max(refined) < 10, (plain, refined)


@pytest.mark.parametrize("loss", ["squared", "logistic", "multinomial"])
def test_fewer_iterations_than_fista(loss):
    """Dense masks, every group: the metric method needs at least 1.5 times fewer iterations
    than plain FISTA to the same certified gap (both start from zero)."""
    X, y, p = planted_problem(n=400, d=8, m=80, seed=5, c=3 if loss == "multinomial" else None)
    datafit = get_datafit(loss)
    rng = np.random.default_rng(0)
    y = datafit.example_targets(y, rng)
    from gatedrelu.problem.certificate import alpha_max_of

    alpha = 0.02 * alpha_max_of(X, p.masks, y, datafit)
    prob = Problem(X, p.masks, y, alpha, datafit)
    U0 = np.zeros(prob.coef_shape)
    met = metric_fista.run(prob, U0, 1e-6, 20_000)
    plain = fista.fista_numpy(datafit, prob.penalty, X, p.masks, y, U0, alpha, 1e-6, 20_000, -1.0)
    assert met[3] == 1 and plain[3] == 1
    assert met[1] * 1.5 <= plain[1], (met[1], plain[1])
    assert abs(met[4] - plain[4]) <= met[5] + plain[5]


def test_anderson_tail_reaches_the_same_certified_optimum():
    X, y, p = planted_problem(n=300, d=6, m=50, seed=7)
    prob = Problem(X, p.masks, y, 0.02)
    U0 = np.zeros((p.n_patterns, 6))
    a = metric_fista.run(prob, U0, 1e-8, 20_000)
    b = metric_fista.run(prob, U0, 1e-8, 20_000, anderson_tail=True)
    assert a[3] == b[3] == 1
    assert abs(a[4] - b[4]) <= a[5] + b[5]
    assert explicit_objective_and_gap(X, y, p.masks, b[0], 0.02)[1] <= 1e-8 * b[4] * (1 + 1e-6)


def test_float32_is_honoured():
    X, y, p = planted_problem(n=300, d=6, m=50, seed=6)
    prob = Problem(X.astype(np.float32), p.masks, y.astype(np.float32), 0.05)
    U, its, L, code, F, gap = metric_fista.run(prob, np.zeros((p.n_patterns, 6), np.float32),
                                               1e-4, 5000)
    assert U.dtype == np.float32 and code == 1 and gap <= 1e-4 * F
    F64, gap64 = explicit_objective_and_gap(X, y, p.masks, U.astype(np.float64), 0.05)
    assert gap64 <= 2e-4 * F64  # the float32 certificate holds in float64


def test_whitening_of_tall_data_forms_no_n_by_n_matrix():
    """``n = 300,000``: the whitening comes from the R factor of X (the full SVD asked for an
    ``n x n`` matrix: 670 GiB here); it equals the inverse square root of the covariance."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((300_000, 4)) * np.array([1e-3, 1.0, 1e2, 1.0])
    X[:, 3] = 1.0 + 1e-3 * X[:, 3]
    Q, sig = whitening(X)
    T = Q @ np.diag(sig) @ Q.T
    C = X.T @ X / X.shape[0]
    np.testing.assert_allclose(T @ C @ T, np.eye(4), atol=1e-8)
