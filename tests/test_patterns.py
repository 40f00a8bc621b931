import numpy as np
import pytest

from gatedrelu import activation_patterns, sample_gates
from gatedrelu.operator import adjoint, forward, lipschitz_bound, power_lipschitz
from tests.helpers import expanded_design, planted_problem


def test_sample_gates_shape_and_determinism():
    G1 = sample_gates(5, 30, random_state=3)
    G2 = sample_gates(5, 30, random_state=3)
    assert G1.shape == (5, 30)
    np.testing.assert_array_equal(G1, G2)
    assert not np.array_equal(G1, sample_gates(5, 30, random_state=4))
    assert sample_gates(5, 3, dtype=np.float32).dtype == np.float32


def test_patterns_match_naive_deduplication():
    rng = np.random.default_rng(0)
    X = np.hstack([rng.standard_normal((15, 1)), np.ones((15, 1))])  # few distinct patterns
    G = sample_gates(2, 500, random_state=1)
    p = activation_patterns(X, G, chunk_size=37)
    raw = (X @ G >= 0).T
    distinct = {tuple(r) for r in raw if r.any()}
    assert p.n_patterns == len(distinct)
    assert {tuple(c) for c in p.masks.T} == distinct
    # counts: how many gates give each pattern; zero pattern dropped
    for i in range(p.n_patterns):
        assert p.counts[i] == sum(tuple(r) == tuple(p.masks[:, i]) for r in raw)
        # the representative gate produces the pattern it stands for
        np.testing.assert_array_equal(X @ p.gates[:, i] >= 0, p.masks[:, i])
    n_zero = sum(not r.any() for r in raw)
    assert p.counts.sum() + n_zero == 500
    np.testing.assert_allclose(p.ntk_weights, p.counts / 500)
    # every gate maps to the pattern it produces
    for j in range(500):
        k = p.gate_pattern[j]
        if k < 0:
            assert not raw[j].any()
        else:
            np.testing.assert_array_equal(raw[j], p.masks[:, k])


def test_chunking_does_not_change_the_result():
    X, _, _ = planted_problem(n=50, d=3)
    G = sample_gates(3, 3000, random_state=0)
    a = activation_patterns(X, G, chunk_size=64)
    b = activation_patterns(X, G, chunk_size=10_000)
    for f in ("gates", "masks", "counts", "gate_pattern"):
        np.testing.assert_array_equal(getattr(a, f), getattr(b, f))


def test_hundred_thousand_gates_streams():
    rng = np.random.default_rng(1)
    X = np.hstack([rng.standard_normal((200, 1)), np.ones((200, 1))])
    p = activation_patterns(X, sample_gates(2, 100_000, random_state=2))
    # 1-D data with a bias column has at most 2n cells (minus the all-zero one)
    assert p.n_patterns <= 2 * 200
    assert p.masks.shape == (200, p.n_patterns) and p.masks.dtype == bool
    assert p.counts.sum() <= 100_000


def test_all_zero_pattern_is_dropped_and_all_zero_raises():
    X = np.array([[1.0, 0.0], [0.0, 1.0]])
    G = np.array([[-1.0, 1.0], [-1.0, 1.0]])  # first gate: all zero, second: all one
    p = activation_patterns(X, G)
    assert p.n_patterns == 1 and p.masks.all()
    assert list(p.gate_pattern) == [-1, 0]
    with pytest.raises(ValueError, match="all-zero"):
        activation_patterns(X, G[:, :1])


def test_operator_matches_explicit_design_and_adjoint_identity():
    X, y, p = planted_problem(n=40, d=4, m=12)
    rng = np.random.default_rng(5)
    Phi = expanded_design(X, p.masks)
    U = rng.standard_normal((p.n_patterns, 4))
    np.testing.assert_allclose(np.asarray(forward(X, p.masks, U)), Phi @ U.ravel(), rtol=1e-5)
    np.testing.assert_allclose(
        np.asarray(adjoint(X, p.masks, y)).ravel(), Phi.T @ y, rtol=1e-5, atol=1e-5
    )
    # multi-output: column by column
    U3 = rng.standard_normal((p.n_patterns, 4, 3))
    R = rng.standard_normal((40, 3))
    out = np.asarray(forward(X, p.masks, U3))
    back = np.asarray(adjoint(X, p.masks, R))
    for k in range(3):
        np.testing.assert_allclose(out[:, k], Phi @ U3[:, :, k].ravel(), rtol=1e-5)
        np.testing.assert_allclose(back[:, :, k].ravel(), Phi.T @ R[:, k], rtol=1e-4, atol=1e-4)


def test_lipschitz_bounds_bracket_the_true_constant():
    import jax

    X, _, p = planted_problem(n=60, d=5, m=30)
    true = np.linalg.norm(expanded_design(X, p.masks), 2) ** 2 / 60
    with jax.enable_x64(True):
        cert = float(lipschitz_bound(X, p.masks))
        est = float(power_lipschitz(X, p.masks, 200))
    assert cert >= true * (1 - 1e-12)
    assert est <= true * (1 + 1e-10)
    assert est == pytest.approx(true, rel=1e-6)
