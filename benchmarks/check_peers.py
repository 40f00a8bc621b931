"""Self-check: the three benchmark peers solve the same group lasso to ~1e-6 relative.

Run:  PYTHONPATH=. .venv/bin/python benchmarks/check_peers.py

Problem: n=200, d=10, X ~ N(0, I), y from a planted ReLU net with 4 hidden units plus 0.1
Gaussian noise, 50 sampled gates (their distinct non-zero patterns), alpha = 0.05 alpha_max
with alpha_max = max_i ||X^T D_i y|| / n. Exits with status 1 if a relative difference of
objectives exceeds 1e-6 (or a peer's U does not reproduce its own reported value).
"""

from __future__ import annotations

import os
import sys
import warnings

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from _peers import (
    cvxpy_clarabel,
    gl_duality_gap,
    gl_objective,
    pyscnn_rfista,
    skglm_group_lasso,
)

from gatedrelu.patterns import activation_patterns, sample_gates

RTOL = 1e-6


def make_problem(seed=0, n=200, d=10, n_gates=50, hidden=4, noise=0.1):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    W = rng.standard_normal((d, hidden))
    v = rng.standard_normal(hidden)
    y = np.maximum(X @ W, 0.0) @ v + noise * rng.standard_normal(n)
    pat = activation_patterns(X, sample_gates(d, n_gates, random_state=seed + 1))
    masks = pat.masks
    alpha_max = np.max(np.linalg.norm(X.T @ (masks * y[:, None]), axis=0)) / n
    return X, y, pat, 0.05 * alpha_max, alpha_max


def main() -> int:
    X, y, pat, alpha, alpha_max = make_problem()
    masks, gates = pat.masks, pat.gates
    n, d = X.shape
    print(
        f"n={n} d={d} gates=50 patterns P={pat.n_patterns} "
        f"alpha_max={alpha_max:.6g} alpha={alpha:.6g}"
    )

    results = {}

    U, info = cvxpy_clarabel(X, y, masks, alpha, return_info=True)
    results["cvxpy+clarabel"] = U
    print(
        f"cvxpy+clarabel: status={info['status']} iters={info['n_iter']} "
        f"solver objective={info['objective']:.12g} time={info['solve_time']:.3f}s"
    )

    U, info = pyscnn_rfista(X, y, gates, alpha, tol=1e-14, max_iter=100000)
    results["pyscnn R-FISTA"] = U
    own = gl_objective(X, y, masks, U, alpha)
    print(
        f"pyscnn R-FISTA: steps={info['n_iter']} converged={info['converged']} "
        f"|min-norm subgrad|^2={info['subgrad_sq_norm']:.3g} "
        f"pyscnn objective={info['objective']:.12g} time={info['solve_time']:.3f}s"
    )
    ok = abs(own - info["objective"]) <= 1e-12 * max(1.0, abs(own))
    print(
        f"  pyscnn's own objective == gl_objective(U): {ok} "
        f"(diff {abs(own - info['objective']):.2e})"
    )

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        U, info = skglm_group_lasso(X, y, masks, alpha, tol=1e-12, return_info=True)
    results["skglm GroupBCD"] = U
    print(
        f"skglm GroupBCD: outer iters={info['n_iter']} stop_crit={info['stop_crit']:.3g} "
        f"converged={info['converged']} last objective={info['objective_history'][-1]:.12g} "
        f"time={info['solve_time']:.3f}s"
    )
    ok_sk = (
        abs(gl_objective(X, y, masks, U, alpha) - info["objective_history"][-1])
        <= 1e-12
    )
    ok = ok and ok_sk
    print(f"  skglm's own objective == gl_objective(U): {ok_sk}")

    objs = {k: gl_objective(X, y, masks, U, alpha) for k, U in results.items()}
    best = min(objs.values())
    print("\nobjective F(U) by our formula, duality gap, active groups:")
    for k, U in results.items():
        gap = gl_duality_gap(X, y, masks, U, alpha)
        active = int(np.sum(np.linalg.norm(U, axis=1) > 1e-6 * np.abs(U).max()))
        print(
            f"  {k:16s} F={objs[k]:.15f}  (F-Fbest)/Fbest={(objs[k] - best) / best:.2e}  "
            f"gap={gap:.2e}  active={active}"
        )

    print("\npairwise relative differences |F_a - F_b| / |F_b|:")
    names = list(objs)
    worst = 0.0
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            rel = abs(objs[a] - objs[b]) / abs(objs[b])
            worst = max(worst, rel)
            print(f"  {a:16s} vs {b:16s}: {rel:.2e}")
    U_ref = results["cvxpy+clarabel"]
    for k in names[1:]:
        du = np.linalg.norm(results[k] - U_ref) / np.linalg.norm(U_ref)
        print(f"  ||U_{k} - U_cvxpy|| / ||U_cvxpy|| = {du:.2e}")

    passed = ok and worst <= RTOL
    print(
        f"\nmax relative difference {worst:.2e} (tolerance {RTOL:g}): "
        f"{'PASS' if passed else 'FAIL'}"
    )
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
