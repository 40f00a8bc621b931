"""Solver benchmark: gatedrelu's proximal solver against pyscnn, CVXPY and skglm, side by side.

Reference problems (X ~ N(0, I), y from a planted ReLU network with 4 hidden units plus noise
0.1, Gaussian gates, ``alpha = 0.05 alpha_max``, no bias column):

* R0: n = 500, d = 20, 100 gates -- every peer;
* R1: n = 5000, d = 50, 500 gates -- pyscnn only (CVXPY and skglm's expanded design are too big).

Every solver gets ``X``, ``y`` and the gates and is timed from there (patterns, expanded design
or model construction included). For each, its own tolerance is swept from loose to tight and
the loosest setting whose solution has relative suboptimality ``(F - F*) / F* <= 1e-6`` against
a high-accuracy reference ``F*`` is kept; that setting is timed

* cold: the first call in a fresh Python process (JIT / numba compilation included);
* warm: the median of ``repeats`` further calls in this process.

Ratios are ``peer time / gatedrelu time`` (> 1 means gatedrelu is faster). Results go to
``solver.json`` and ``solver.md`` in the output folder.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
import warnings
from dataclasses import dataclass

import numpy as np

PROBLEMS = {
    "R0": dict(n=500, d=20, n_gates=100, peers=("pyscnn", "cvxpy", "skglm")),
    "R1": dict(n=5000, d=50, n_gates=500, peers=("pyscnn",)),
}
TARGET = 1e-6
#: Tolerance ladders, loose to tight, in each solver's own units.
LADDERS = {
    "gatedrelu": [1e-2, 3e-3, 1e-3, 3e-4, 1e-4, 3e-5, 1e-5, 1e-6, 1e-7, 1e-8],
    # pyscnn: squared norm of the minimum-norm subgradient
    "pyscnn": [1e-6, 1e-7, 1e-8, 1e-9, 1e-10, 1e-11, 1e-12, 1e-13, 1e-14],
    # skglm: largest distance of a group's gradient to its subdifferential
    "skglm": [1e-3, 1e-4, 1e-5, 1e-6, 1e-7, 1e-8, 1e-9, 1e-10],
    # cvxpy: gatedrelu's CVXPY backend at its fixed tight Clarabel tolerances
    "cvxpy": [None],
}


@dataclass
class Problem:
    name: str
    X: np.ndarray
    y: np.ndarray
    gates: np.ndarray
    alpha: float


def make_problem(name: str, seed: int = 0) -> Problem:
    from ..datasets import make_planted
    from ..group_lasso import alpha_max
    from ..patterns import activation_patterns, sample_gates

    spec = PROBLEMS[name]
    X, y, _ = make_planted(spec["n"], spec["d"], n_hidden=4, noise=0.1, random_state=seed)
    gates = sample_gates(spec["d"], spec["n_gates"], random_state=seed + 1)
    alpha = 0.05 * alpha_max(X, y, activation_patterns(X, gates))
    return Problem(name, X, y, gates, alpha)


def _solve(solver: str, pb: Problem, tol):
    """Solve from (X, y, gates) with ``solver`` at its tolerance ``tol``; returns (U, n_iter)."""
    from ..group_lasso import solve_group_lasso
    from ..patterns import activation_patterns

    if solver == "gatedrelu":
        p = activation_patterns(pb.X, pb.gates)
        res = solve_group_lasso(pb.X, pb.y, p, pb.alpha, tol=tol, max_iter=100_000)
        return res.coef, res.n_iter
    if solver == "cvxpy":
        p = activation_patterns(pb.X, pb.gates)
        res = solve_group_lasso(pb.X, pb.y, p, pb.alpha, backend="cvxpy")
        return res.coef, res.n_iter
    if solver == "pyscnn":
        from .peers import pyscnn_rfista

        p = activation_patterns(pb.X, pb.gates)
        U, info = pyscnn_rfista(
            pb.X, pb.y, p.gates, pb.alpha, tol=tol, max_iter=100_000, metric_freq=10**9
        )
        return U, info["n_iter"]
    if solver == "skglm":
        from .peers import skglm_group_lasso

        p = activation_patterns(pb.X, pb.gates)
        U, info = skglm_group_lasso(pb.X, pb.y, p.masks, pb.alpha, tol=tol, return_info=True)
        return U, info["n_iter"]
    raise ValueError(f"Unknown solver {solver!r}; expected one of {', '.join(LADDERS)}.")


def _available(solver: str) -> str | None:
    """None if the peer can run, else why not."""
    mods = {"pyscnn": ["scnn", "lab", "torch"], "skglm": ["skglm"], "cvxpy": ["cvxpy"]}
    for mod in mods.get(solver, []):
        try:
            __import__(mod)
        except Exception as exc:  # ImportError, or a broken install
            return f"not installed ({mod}: {type(exc).__name__})"
    return None


def _timed(solver, pb, tol):
    t0 = time.perf_counter()
    U, n_iter = _solve(solver, pb, tol)
    return time.perf_counter() - t0, U, n_iter


def _suboptimality(pb: Problem, U, F_star: float) -> float:
    from ..group_lasso import objective
    from ..patterns import activation_patterns

    F = objective(pb.X, pb.y, activation_patterns(pb.X, pb.gates), U, pb.alpha)
    return (F - F_star) / F_star


def reference(pb: Problem, with_cvxpy: bool) -> dict:
    """High-accuracy optimum: the best of a 1e-12-gap proximal solve and CVXPY (R0)."""
    from ..group_lasso import solve_group_lasso
    from ..patterns import activation_patterns

    p = activation_patterns(pb.X, pb.gates)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tight = solve_group_lasso(pb.X, pb.y, p, pb.alpha, tol=1e-12, max_iter=200_000)
    best = tight.objective
    out = {"prox_objective": tight.objective, "prox_gap": tight.dual_gap}
    if with_cvxpy:
        cv = solve_group_lasso(pb.X, pb.y, p, pb.alpha, backend="cvxpy")
        out["cvxpy_objective"] = cv.objective
        best = min(best, cv.objective)
    out["F_star"] = best
    out["lower_bound"] = tight.objective - tight.dual_gap
    out["n_patterns"] = p.n_patterns
    return out


def cold_time(solver: str, problem: str, tol, seed: int) -> float:
    """Time of the first call in a fresh interpreter (imports excluded, compilation included)."""
    code = (
        "import json, warnings; warnings.simplefilter('ignore');"
        "from gatedrelu.bench import solver as s;"
        f"pb = s.make_problem({problem!r}, {seed}); s._available({solver!r});"
        f"t, _, _ = s._timed({solver!r}, pb, {tol!r}); print(json.dumps(t))"
    )
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [_package_root(), env.get("PYTHONPATH")]))
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    return float(out.stdout.strip().splitlines()[-1])


def _package_root() -> str:
    return os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def bench_solver(solver: str, pb: Problem, F_star: float, repeats: int, seed: int) -> dict:
    """Loosest tolerance reaching TARGET, with its cold and warm times."""
    why = _available(solver)
    if why:
        return {"solver": solver, "status": why}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _timed(solver, pb, LADDERS[solver][0])  # warm-up: compile / load once
        for tol in LADDERS[solver]:
            _, U, n_iter = _timed(solver, pb, tol)
            sub = _suboptimality(pb, U, F_star)
            if sub <= TARGET:
                break
        else:
            return {"solver": solver, "status": f"never reached {TARGET:g}", "suboptimality": sub}
        warm = [_timed(solver, pb, tol)[0] for _ in range(repeats)]
    return {
        "solver": solver,
        "status": "ok",
        "tol": tol,
        "n_iter": int(n_iter),
        "suboptimality": float(sub),
        "warm_s": float(np.median(warm)),
        "warm_all_s": [float(w) for w in warm],
        "cold_s": cold_time(solver, pb.name, tol, seed),
    }


def run(problems=("R0", "R1"), *, repeats: int = 5, seed: int = 0, out_dir=None, progress=True):
    """Run the benchmark; returns the result dict and writes solver.json / solver.md."""
    from .. import __version__

    results = {
        "target_suboptimality": TARGET,
        "machine": {
            "platform": platform.platform(),
            "python": platform.python_version(),
            "cpu_count": os.cpu_count(),
            "openblas_env": {k: v for k, v in os.environ.items() if k.startswith("OPENBLAS")},
            "blas": _blas_info(),
        },
        "versions": _versions(),
        "gatedrelu": __version__,
        "problems": {},
    }
    for name in problems:
        if name not in PROBLEMS:
            raise ValueError(f"Unknown problem {name!r}; expected one of {', '.join(PROBLEMS)}.")
        pb = make_problem(name, seed)
        ref = reference(pb, with_cvxpy="cvxpy" in PROBLEMS[name]["peers"])
        rows = []
        for solver in ("gatedrelu",) + PROBLEMS[name]["peers"]:
            if progress:
                print(f"[bench] {name}: {solver} ...", file=sys.stderr, flush=True)
            rows.append(bench_solver(solver, pb, ref["F_star"], repeats, seed))
        ours = rows[0]
        for r in rows[1:]:
            if r["status"] == "ok" and ours["status"] == "ok":
                r["warm_ratio"] = r["warm_s"] / ours["warm_s"]
                r["cold_ratio"] = r["cold_s"] / ours["cold_s"]
        spec = {k: v for k, v in PROBLEMS[name].items() if k != "peers"}
        results["problems"][name] = {"spec": spec, "alpha": pb.alpha, "reference": ref, "rows": rows}
    if out_dir is not None:
        os.makedirs(out_dir, exist_ok=True)
        with open(os.path.join(out_dir, "solver.json"), "w") as fh:
            json.dump(results, fh, indent=2)
        with open(os.path.join(out_dir, "solver.md"), "w") as fh:
            fh.write(markdown(results))
    return results


def _blas_info() -> list:
    """Which BLAS kernels numpy runs (the peers compute with numpy)."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:  # pragma: no cover
        return []
    keys = ("internal_api", "version", "architecture", "num_threads")
    return [{k: i.get(k) for k in keys} for i in threadpool_info()]


def _versions() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for pkg in ("jax", "jaxlib", "numpy", "cvxpy", "clarabel", "pyscnn", "skglm", "torch"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            out[pkg] = None
    return out


def markdown(results: dict) -> str:
    lines = [
        "# Solver benchmark",
        "",
        f"Time to reach relative suboptimality <= {results['target_suboptimality']:g} against a "
        "high-accuracy reference, from (X, y, gates). Ratio = peer time / gatedrelu time "
        "(> 1: gatedrelu faster). Cold = first call in a fresh process (compilation included); "
        "warm = median of repeated calls.",
        "",
        f"Machine: {results['machine']['platform']}, {results['machine']['cpu_count']} CPUs, "
        f"Python {results['machine']['python']}. Versions: "
        + ", ".join(f"{k} {v}" for k, v in results["versions"].items() if v),
        "",
    ]
    for name, pr in results["problems"].items():
        s = pr["spec"]
        lines += [
            f"## {name}: n = {s['n']}, d = {s['d']}, {s['n_gates']} gates "
            f"({pr['reference']['n_patterns']} patterns), alpha = {pr['alpha']:.4g}",
            "",
            "| solver | tolerance | iterations | suboptimality | cold (s) | warm (s) | cold ratio | warm ratio |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for r in pr["rows"]:
            if r["status"] != "ok":
                lines.append(f"| {r['solver']} | {r['status']} | | | | | | |")
                continue
            lines.append(
                f"| {r['solver']} | {r['tol']} | {r['n_iter']} | {r['suboptimality']:.1e} | "
                f"{r['cold_s']:.3f} | {r['warm_s']:.4f} | "
                f"{r.get('cold_ratio', 1.0):.1f} | {r.get('warm_ratio', 1.0):.1f} |"
            )
        lines.append("")
    return "\n".join(lines)


def add_arguments(parser) -> None:
    parser.add_argument(
        "--problems", nargs="+", default=["R0", "R1"], choices=sorted(PROBLEMS),
        help="reference problems to run (default: R0 R1)",
    )
    parser.add_argument("--repeats", type=int, default=5, help="warm repetitions (default 5)")
    parser.add_argument("--seed", type=int, default=0, help="problem seed (default 0)")
    parser.add_argument("--quick", action="store_true", help="R0 only, 3 repeats")
    parser.add_argument("--out", default="gatedrelu-bench", help="output folder")


def main(args) -> int:
    problems = ["R0"] if args.quick else args.problems
    repeats = 3 if args.quick else args.repeats
    if repeats < 1:
        raise ValueError(f"--repeats must be >= 1, got {repeats}.")
    res = run(problems, repeats=repeats, seed=args.seed, out_dir=args.out)
    print(markdown(res))
    print(f"Results written to {os.path.join(args.out, 'solver.json')} and solver.md")
    return 0


if __name__ == "__main__":  # pragma: no cover
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_arguments(ap)
    sys.exit(main(ap.parse_args()))
