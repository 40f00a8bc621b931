"""Kernels checked against independent references: naive sums of masking kernels, JAX autodiff
of the network's NTK, Monte Carlo over Gaussian gates, and sampled activation patterns."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gatedrelu.kernels import enumerate_patterns, finite_ntk_kernel, masking_kernel, ntk_kernel
from gatedrelu.patterns import activation_patterns, sample_gates


def _with_bias(x):
    x = np.asarray(x, dtype=float).reshape(len(x), -1)
    return np.hstack([x, np.ones((x.shape[0], 1))])


@pytest.fixture
def problem():
    rng = np.random.default_rng(0)
    X = _with_bias(rng.standard_normal((9, 2)))  # (9, 3)
    X2 = _with_bias(rng.standard_normal((6, 2)))  # (6, 3)
    G = sample_gates(3, 60, random_state=1)
    pats = activation_patterns(X, G)
    return X, X2, G, pats


def _naive_kernel(X, masks, eta, X2=None, masks2=None):
    """sum_i eta_i D2_i X2 X^T D_i, one explicit matrix per pattern."""
    X2 = X if X2 is None else X2
    masks2 = masks if masks2 is None else masks2
    K = np.zeros((X2.shape[0], X.shape[0]))
    for i in range(masks.shape[1]):
        K += eta[i] * np.diag(masks2[:, i].astype(float)) @ X2 @ X.T @ np.diag(masks[:, i].astype(float))
    return K


# ---------------------------------------------------------------------------------------------
# masking_kernel
# ---------------------------------------------------------------------------------------------


def test_masking_kernel_equals_explicit_sum(problem):
    X, X2, _, pats = problem
    eta = np.random.default_rng(2).uniform(0, 2, pats.n_patterns)
    eta[::3] = 0.0
    K = masking_kernel(X, pats, eta)
    np.testing.assert_allclose(K, _naive_kernel(X, pats.masks, eta), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(K, K.T, rtol=1e-12, atol=1e-12)
    assert np.linalg.eigvalsh(K).min() > -1e-10  # a sum of PSD kernels

    K2 = masking_kernel(X, pats, eta, X2)
    masks2 = (X2 @ pats.gates) >= 0
    assert K2.shape == (X2.shape[0], X.shape[0])
    np.testing.assert_allclose(K2, _naive_kernel(X, pats.masks, eta, X2, masks2), rtol=1e-12, atol=1e-12)
    # At the training points the cross kernel is the training kernel.
    np.testing.assert_allclose(masking_kernel(X, pats, eta, X), K, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("chunk_size", [1, 2, 7, 10_000])
def test_masking_kernel_chunking(problem, chunk_size):
    X, X2, _, pats = problem
    eta = np.random.default_rng(3).uniform(0, 1, pats.n_patterns)
    for Xn in (None, X2):
        ref = masking_kernel(X, pats, eta, Xn, chunk_size=pats.n_patterns)
        K = masking_kernel(X, pats, eta, Xn, chunk_size=chunk_size)
        np.testing.assert_allclose(K, ref, rtol=1e-13, atol=1e-13)
        K = finite_ntk_kernel(X, pats, Xn, chunk_size=chunk_size)
        ref = finite_ntk_kernel(X, pats, Xn, chunk_size=10_000)
        np.testing.assert_allclose(K, ref, rtol=1e-13, atol=1e-13)


def test_float32_stays_float32(problem):
    X, X2, G, _ = problem
    X32 = X.astype(np.float32)
    pats = activation_patterns(X32, G.astype(np.float32))
    eta = np.ones(pats.n_patterns)  # float64 weights do not promote
    for Xn in (None, X2):
        K = masking_kernel(X32, pats, eta, Xn)
        assert K.dtype == np.float32
        np.testing.assert_allclose(K, masking_kernel(X, pats, eta, Xn), rtol=1e-5, atol=1e-5)
        assert finite_ntk_kernel(X32, pats, Xn).dtype == np.float32
        assert ntk_kernel(X32, Xn).dtype == np.float32
    assert enumerate_patterns(X32[:, 1:]).ntk_weights.dtype == np.float32


# ---------------------------------------------------------------------------------------------
# finite-width NTK against JAX autodiff
# ---------------------------------------------------------------------------------------------


def _autodiff_ntk(G, X2, X, seed=0):
    """<df/dW(x2), df/dW(x)> of f(x) = m^{-1/2} sum_j 1[g_j.x >= 0] (x.w_j) v_j."""
    d, m = G.shape
    rng = np.random.default_rng(seed)
    W = rng.standard_normal((d, m))
    v = rng.choice([-1.0, 1.0], size=m)
    with jax.enable_x64(True):
        Gj, vj = jnp.asarray(G), jnp.asarray(v)

        def f(W, x):
            gate = (x @ Gj >= 0).astype(x.dtype)
            return jnp.sum(gate * (x @ W) * vj) / jnp.sqrt(m)

        jac = jax.vmap(jax.grad(f), in_axes=(None, 0))  # (n, d, m)
        J2 = jac(jnp.asarray(W), jnp.asarray(X2))
        J = jac(jnp.asarray(W), jnp.asarray(X))
        return np.asarray(jnp.einsum("adm,bdm->ab", J2, J))


def test_finite_ntk_matches_autodiff(problem):
    X, X2, G, pats = problem
    theta_train = _autodiff_ntk(G, X, X)
    np.testing.assert_allclose(finite_ntk_kernel(X, pats), theta_train, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(
        masking_kernel(X, pats, pats.ntk_weights), theta_train, rtol=1e-10, atol=1e-10
    )
    theta_new = _autodiff_ntk(G, X2, X)
    np.testing.assert_allclose(finite_ntk_kernel(X, pats, X2), theta_new, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(finite_ntk_kernel(X, pats, X), theta_train, rtol=1e-10, atol=1e-10)
    # Gates with the same training pattern disagree at new points: representatives alone are wrong.
    assert not np.allclose(masking_kernel(X, pats, pats.ntk_weights, X2), theta_new, atol=1e-6)


def test_finite_ntk_enumerated_patterns_use_exact_weights():
    rng = np.random.default_rng(4)
    X = _with_bias(rng.standard_normal(7))
    X2 = _with_bias(rng.standard_normal(4))
    pats = enumerate_patterns(X)
    np.testing.assert_allclose(
        finite_ntk_kernel(X, pats, X2), masking_kernel(X, pats, pats.ntk_weights, X2), rtol=1e-13
    )


# ---------------------------------------------------------------------------------------------
# infinite-width NTK: closed form vs Monte Carlo
# ---------------------------------------------------------------------------------------------


def test_ntk_kernel_matches_monte_carlo():
    rng = np.random.default_rng(5)
    X = _with_bias(rng.standard_normal((6, 2)))
    X2 = _with_bias(rng.standard_normal((4, 2)))
    m = 40_000
    G = sample_gates(3, m, random_state=6)
    A2, A = (X2 @ G >= 0).astype(float), (X @ G >= 0).astype(float)
    p_hat = A2 @ A.T / m  # Monte Carlo estimate of P(g.x2 >= 0, g.x >= 0)
    dot = X2 @ X.T
    mc = p_hat * dot
    p = np.clip(p_hat, 1.0 / m, 1 - 1.0 / m)
    se = np.sqrt(p * (1 - p) / m) * np.abs(dot)
    K = ntk_kernel(X, X2)
    assert np.all(np.abs(K - mc) <= 5 * se + 1e-12)
    # The finite-width NTK with these gates is that Monte Carlo estimate, hence converges too.
    K_finite = finite_ntk_kernel(X, activation_patterns(X, G), X2)
    np.testing.assert_allclose(K_finite, mc, rtol=1e-12, atol=1e-12)
    K_small = finite_ntk_kernel(X, activation_patterns(X, G[:, :100]), X2)
    assert np.abs(K_finite - K).max() < np.abs(K_small - K).max()

    # Training kernel: diagonal is ||x||^2 / 2, symmetric, PSD.
    K = ntk_kernel(X)
    np.testing.assert_allclose(np.diag(K), np.sum(X**2, axis=1) / 2, rtol=1e-14)
    np.testing.assert_allclose(K, K.T, rtol=1e-14)
    assert np.linalg.eigvalsh(K).min() > -1e-12


def test_ntk_kernel_zero_rows_and_parallel_points():
    X = np.array([[0.0, 0.0], [1.0, 2.0], [-2.0, -4.0], [3.0, 6.0]])
    K = ntk_kernel(X)
    assert np.all(np.isfinite(K))
    np.testing.assert_array_equal(K[0], 0.0)
    np.testing.assert_array_equal(K[:, 0], 0.0)
    # arccos is accurate to about sqrt(eps) for (anti)parallel pairs.
    assert abs(K[1, 2]) < 1e-6  # antipodal: angle pi
    np.testing.assert_allclose(K[1, 3], 15.0 / 2, rtol=1e-6)  # parallel: angle 0


# ---------------------------------------------------------------------------------------------
# exact enumeration in effective dimension 2
# ---------------------------------------------------------------------------------------------


def _zero_pattern_measure(X):
    """Measure of {g : X g < 0} for rank-2 X: pi minus the angular width of the data, if positive."""
    _, _, Vt = np.linalg.svd(X, full_matrices=False)
    Z = X @ Vt[:2].T
    if np.any(np.linalg.norm(Z, axis=1) == 0):
        return 0.0  # a zero sample is active for every gate
    ang = np.sort(np.mod(np.arctan2(Z[:, 1], Z[:, 0]), 2 * np.pi))
    gaps = np.diff(np.r_[ang, ang[0] + 2 * np.pi])
    width = 2 * np.pi - gaps.max()  # smallest arc holding every sample direction
    return max(0.0, np.pi - width) / (2 * np.pi)


def _rank2_data(n, d, seed):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, 2)) @ rng.standard_normal((2, d))


def _antipodal_data():
    rng = np.random.default_rng(9)
    angles = np.array([0.0, 1.1, 2.3, 4.0])  # well separated, so no cell is too thin to sample
    base = np.stack([np.cos(angles), np.sin(angles)], axis=1) * [[1.0], [2.0], [0.5], [3.0]]
    X = np.vstack([base, base[:2], -base[2:], 2.5 * base[:1], np.zeros((1, 2))])
    return X @ rng.standard_normal((2, 3))  # duplicates, antipodal pairs, a multiple, a zero row


@pytest.mark.parametrize(
    "X",
    [
        _with_bias(np.random.default_rng(7).standard_normal(5)),
        _with_bias(np.random.default_rng(8).standard_normal(20)),
        _rank2_data(12, 5, 10),
        _antipodal_data(),
    ],
    ids=["1d-bias-n5", "1d-bias-n20", "rank2-d5", "duplicates-antipodal"],
)
def test_enumerate_patterns_matches_sampling(X):
    n, d = X.shape
    exact = enumerate_patterns(X)
    P = exact.n_patterns
    assert P <= 2 * n
    assert exact.gates.shape == (d, P) and exact.masks.shape == (n, P)
    np.testing.assert_array_equal(exact.masks, (X @ exact.gates) >= 0)
    assert exact.masks.any(axis=0).all()
    assert len({m.tobytes() for m in exact.masks.T}) == P
    np.testing.assert_allclose(exact.ntk_weights.sum() + _zero_pattern_measure(X), 1.0, rtol=1e-12)

    m = 200_000
    sampled = activation_patterns(X, sample_gates(d, m, random_state=11), chunk_size=50_000)
    # Sampling finds every cell only if none is tiny; guard so that a failure points here.
    assert exact.ntk_weights.min() * m > 30
    assert sampled.n_patterns == P
    index = {m.tobytes(): i for i, m in enumerate(sampled.masks.T)}
    assert set(index) == {m.tobytes() for m in exact.masks.T}
    frac = sampled.counts[[index[mk.tobytes()] for mk in exact.masks.T]] / m
    w = exact.ntk_weights
    assert np.all(np.abs(frac - w) <= 5 * np.sqrt(w * (1 - w) / m))

    # With every cell and exact measures, K_eta is the infinite-width NTK on the data.
    np.testing.assert_allclose(masking_kernel(X, exact, w), ntk_kernel(X), rtol=1e-10, atol=1e-12)


def test_enumerate_patterns_one_dimensional_count():
    # n distinct 1-D points with a bias: n lines, 2n arcs, one of them the all-zero pattern.
    X = _with_bias(np.linspace(-1, 1, 8))
    assert enumerate_patterns(X).n_patterns == 2 * 8 - 1


def test_enumerate_patterns_rank_errors():
    X3 = _with_bias(np.random.default_rng(12).standard_normal((10, 2)))
    with pytest.raises(ValueError, match=r"effective dimension 2.*got rank 3"):
        enumerate_patterns(X3)
    with pytest.raises(ValueError, match="got rank 1"):
        enumerate_patterns(np.outer(np.arange(1.0, 5.0), [1.0, 2.0]))


# ---------------------------------------------------------------------------------------------
# bad inputs
# ---------------------------------------------------------------------------------------------


def test_bad_inputs(problem):
    X, X2, _, pats = problem
    P = pats.n_patterns
    ok = np.ones(P)
    with pytest.raises(ValueError, match="weights must have shape"):
        masking_kernel(X, pats, np.ones(P + 1))
    with pytest.raises(ValueError, match="weights must have shape"):
        masking_kernel(X, pats, np.ones((P, 1)))
    with pytest.raises(ValueError, match="nonnegative"):
        masking_kernel(X, pats, np.r_[-1.0, ok[1:]])
    for bad in (np.nan, np.inf):
        with pytest.raises(ValueError, match="weights contains"):
            masking_kernel(X, pats, np.r_[bad, ok[1:]])
    with pytest.raises(ValueError, match="X2 has 2 features"):
        masking_kernel(X, pats, ok, X2[:, :2])
    with pytest.raises(ValueError, match="X2 contains"):
        masking_kernel(X, pats, ok, np.where(np.arange(X2.size).reshape(X2.shape) == 4, np.nan, X2))
    with pytest.raises(ValueError, match="must be computed on X"):
        masking_kernel(X[:-1], pats, ok)
    with pytest.raises(ValueError, match="X2 has 2 features"):
        finite_ntk_kernel(X, pats, X2[:, :2])
    with pytest.raises(ValueError, match="X2 contains"):
        finite_ntk_kernel(X, pats, np.full_like(X2, np.nan))
    with pytest.raises(ValueError, match="X2 has 2 features"):
        ntk_kernel(X, X2[:, :2])
    with pytest.raises(ValueError, match="X contains"):
        ntk_kernel(np.full_like(X, np.inf))
    with pytest.raises(ValueError, match="2-dimensional"):
        ntk_kernel(X[0])
    with pytest.raises(ValueError, match="X contains"):
        enumerate_patterns(np.full((3, 2), np.nan))
