"""Helpers shared by the tests: small random gated-ReLU problems with a planted ReLU teacher,
the explicit design and objective (independent references), and the solvers each test runs.

Tests import them with ``from tests.helpers import ...`` (the repository root is on ``sys.path``
through pytest's ``pythonpath`` setting, and through ``PYTHONPATH`` in subprocess tests).
``conftest.py`` keeps only fixtures.
"""

import numpy as np

from gatedrelu import activation_patterns, sample_gates


def planted_problem(n=120, d=6, m=40, *, c=None, intercept=False, seed=0, noise=0.1):
    """X ~ N(0, I), y from a 4-unit ReLU teacher plus noise, Gaussian gates and their patterns."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    if intercept:
        X = np.hstack([X, np.ones((n, 1))])
    W = rng.standard_normal((X.shape[1], 4))
    V = rng.standard_normal((4,) if c is None else (4, c))
    y = np.maximum(X @ W, 0) @ V + noise * rng.standard_normal((n,) if c is None else (n, c))
    patterns = activation_patterns(X, sample_gates(X.shape[1], m, random_state=seed + 1))
    return X, y, patterns


def expanded_design(X, masks):
    """The n x (P d) matrix [D_1 X, ..., D_P X], built explicitly (reference only)."""
    return np.hstack([masks[:, [i]] * X for i in range(masks.shape[1])])


def explicit_objective_and_gap(X, y, masks, U, alpha):
    """F and the duality gap of docs/math.md from the explicit n x (P d) design."""
    n = len(y)
    Phi = expanded_design(X, masks)
    P, d = U.shape[:2]
    Y = y.reshape(n, -1)
    R = Y - Phi @ U.reshape(P * d, -1)
    F = 0.5 * np.sum(R**2) / n + alpha * np.sum(np.linalg.norm(U.reshape(P, -1), axis=1))
    corr = (Phi.T @ R).reshape(P, -1)
    theta = R / n * min(1.0, alpha / (np.linalg.norm(corr, axis=1).max() / n))
    return F, F - (np.sum(theta * Y) - 0.5 * n * np.sum(theta**2))


def solvers_for(constraint=None) -> list:
    """The registered solvers whose ``supports`` accepts a (GL) problem, or one with the given
    constraint (e.g. the cone constraint of convex ReLU networks): generic tests run each
    solver on the problems it solves."""
    from gatedrelu.problem import Problem
    from gatedrelu.solvers import REGISTRY, SOLVERS

    probe = Problem(np.ones((2, 1)), np.ones((2, 2), bool), np.ones(2), 1.0, constraint=constraint)
    return [s for s in SOLVERS if REGISTRY[s].supports(probe) is None]


#: Solvers of the group lasso (unconstrained), "auto" first.
GL_SOLVERS = solvers_for()
