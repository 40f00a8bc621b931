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
    """F and the duality gap of docs/math.md from the explicit n x (P d) design.

    The gap is the smaller one of two dual points, each scaled into the dual feasible set and
    checked feasible here: the residual over n, and the refined point (the residual plus the
    smallest correction that puts <v_i, X^T D_i theta> at alpha on the support, v_i = u_i/||u_i||;
    docs/math.md, "Cheap certificates"), computed with the explicit design and a least-squares
    solve."""
    n = len(y)
    Phi = expanded_design(X, masks)
    P, d = U.shape[:2]
    Y = y.reshape(n, -1)
    c = Y.shape[1]
    R = Y - Phi @ U.reshape(P * d, -1)
    F = 0.5 * np.sum(R**2) / n + alpha * np.sum(np.linalg.norm(U.reshape(P, -1), axis=1))

    def gap_at(theta):
        corr = np.linalg.norm((Phi.T @ theta).reshape(P, -1), axis=1)
        theta = theta * min(1.0, alpha / corr.max())
        assert np.linalg.norm((Phi.T @ theta).reshape(P, -1), axis=1).max() <= alpha * (1 + 1e-9)
        return F - (np.sum(theta * Y) - 0.5 * n * np.sum(theta**2))

    theta0 = R / n
    gaps = [gap_at(theta0)]
    norms = np.linalg.norm(U.reshape(P, -1), axis=1)
    support = np.flatnonzero(norms > 0)
    if support.size:
        V = U.reshape(P, d, c)[support] / norms[support, None, None]
        B = np.stack([(Phi[:, i * d:(i + 1) * d] @ V[j]).ravel() for j, i in enumerate(support)],
                     axis=1)  # (n c, s): the masked directions D_i X v_i
        G = (Phi.T @ theta0).reshape(P, d, c)[support]
        excess = alpha - np.einsum("sdc,sdc->s", V, G)
        delta = B @ np.linalg.lstsq(B.T @ B, excess, rcond=None)[0]
        gaps.append(gap_at(theta0 + delta.reshape(n, c)))
    return F, min(gaps)


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
