"""Convex ReLU networks: gatedrelu's cone_fista against pyscnn's augmented Lagrangian.

    python benchmarks/bench_convex_relu.py            # three problems, 1 and 2 cores (writes
                                                      # benchmarks/results/convex_relu.{json,md})
    python benchmarks/bench_convex_relu.py --quick    # one tiny problem (smoke test; writes to a
                                                      # temporary folder unless --out is given)

Both solve the same cone-constrained program (``docs/math.md``, "Convex ReLU networks"),

    min 1/(2n) ||sum_i D_i X (v_i - w_i) - y||^2 + alpha sum_i (||v_i|| + ||w_i||)
    s.t. (2 D_i - I) X v_i >= 0, (2 D_i - I) X w_i >= 0,

on the same data and the same patterns: the representative gates of gatedrelu's
``activation_patterns`` (distinct, non-zero patterns) are given to pyscnn's ``ConvexReLU(G,
bias=False)`` (the bias is our column of ones, in X for both); pyscnn recomputes ``1[X g > 0]``,
sorts the patterns, and its answer is mapped back to our order by matching the masks (a run where
they differ is refused). pyscnn's loss ``1/(2 n c) ||.||^2`` with ``NeuronGL1(lam)``,
``lam = alpha``, is ours for one output (see ``benchmarks/harness/peers.py``). pyscnn runs as its
``optimize_model`` does, with ``unitize_data=False`` (unitizing changes the problem), float64,
and its ``AL`` solver at its defaults (tolerance 1e-6 on the squared gradient norm and on the
constraint violation, at most 10,000 primal iterations); gatedrelu runs ``cone_fista`` at
``tol=1e-6`` (relative duality gap and relative violation).

Every answer is evaluated by the parent with the same code:

* ``objective``: the convex objective at the returned ``(v, w)``;
* ``violation``: the largest constraint violation ``max(0, -min (2D_i - I) X v_i, ...)``;
* ``feasible objective``: the convex objective after projecting every group that violates its
  constraints onto its cone (``ConeConstraint.project``; unchanged for a feasible answer). This
  is the objective compared: an infeasible answer's convex objective can be below the optimum;
* ``network objective``: the objective of the ReLU network the answer defines,
  ``1/(2n) ||sum_i (X v_i)_+ - (X w_i)_+ - y||^2 + alpha sum_i (||v_i|| + ||w_i||)``, reported
  only: it equals the convex objective for a feasible answer, but an infeasible neuron takes a
  pattern outside the given ones, so it is not the same program (it can be below the optimum);
* the certified relative gap of gatedrelu's answer (with its multipliers).

Each (solver, problem, cores) run is its own subprocess, pinned with ``os.sched_setaffinity`` to
``--cores-1`` (default "0") or ``--cores-2`` (default "0,1") before numpy, JAX or torch are
imported, with the BLAS/OpenMP thread variables and XLA's CPU thread count set to the number of
cores. gatedrelu's time is that of a second, identical solve (JAX compiles the first, whose time
is reported as ``cold``); pyscnn compiles nothing and runs once. Goals: gatedrelu's feasible
objective no worse than pyscnn's (relative 1e-9) and gatedrelu at least ``--target`` (5) times
faster, for every problem and core count.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
DEFAULT_OUT = os.path.join(HERE, "results")
QUICK_OUT = os.path.join(tempfile.gettempdir(), "gatedrelu-convex-relu-quick")
TARGET = 5.0
TOL = 1e-6
#: name -> (n, d, gates, alpha / alpha_max of the group lasso, seed)
PROBLEMS = {
    "R200": (200, 5, 100, 0.1, 0),
    "R500": (500, 10, 200, 0.05, 1),
    "R1000": (1000, 10, 300, 0.05, 2),
}
QUICK_PROBLEMS = {"tiny": (60, 3, 20, 0.1, 0)}
THREAD_ENV = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS",
              "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")


# --------------------------------------------------------------------------- worker


def parse_cores(text: str) -> list[int]:
    cores = set()
    for part in text.split(","):
        if "-" in part:
            lo, hi = (int(v) for v in part.split("-", 1))
            cores.update(range(lo, hi + 1))
        elif part.strip():
            cores.add(int(part))
    return sorted(cores)


def worker(args) -> None:
    """One timed run; pins itself first, then imports the solver's libraries (not timed)."""
    cores = parse_cores(args.cores)
    os.sched_setaffinity(0, cores)
    import numpy as np

    from benchmarks.harness.worker import environment, repin

    with np.load(args.problem) as z:
        X, y, M, G, alpha = z["X"], z["y"], z["masks"], z["gates"], float(z["alpha"])
    out = {"solver": args.solver, "cores": cores}
    if args.solver == "gatedrelu":
        from gatedrelu.convex_relu import solve_convex_relu

        repin(set(cores))
        t0 = time.perf_counter()
        solve_convex_relu(X, y, M, alpha, solver="cone_fista", tol=TOL)
        out["cold_time"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        res = solve_convex_relu(X, y, M, alpha, solver="cone_fista", tol=TOL)
        out["time"] = time.perf_counter() - t0
        P = M.shape[1]
        V, W = res.coef[:P], -res.coef[P:]
        out.update(n_iter=res.n_iter, status=res.status, converged=res.converged)
        np.save(args.multipliers, res.info["multipliers"])
    else:
        import lab  # noqa: F401
        import scnn  # noqa: F401
        import torch  # noqa: F401
        from scnn.metrics import Metrics
        from scnn.models import ConvexReLU
        from scnn.optimize import optimize_model
        from scnn.regularizers import NeuronGL1
        from scnn.solvers import AL

        repin(set(cores))
        model = ConvexReLU(G, c=1, bias=False)
        t0 = time.perf_counter()
        model, _ = optimize_model(model, AL(model), Metrics(), X, y, regularizer=NeuronGL1(alpha),
                                  return_convex=True, unitize_data=False, verbose=False,
                                  device="cpu", dtype="float64")
        out["time"] = time.perf_counter() - t0
        # pyscnn sorted its patterns: map them back to ours by their masks
        Ms = (X @ model.G) > 0
        index = {M[:, i].tobytes(): i for i in range(M.shape[1])}
        order = [index.get(Ms[:, k].tobytes()) for k in range(Ms.shape[1])]
        if None in order or len(set(order)) != M.shape[1]:
            raise RuntimeError("pyscnn's patterns are not ours (a tie at 0?): not comparable")
        V = np.zeros((M.shape[1], X.shape[1]))
        W = np.zeros_like(V)
        V[order], W[order] = model.parameters[0][0], model.parameters[1][0]
    np.save(args.solution, np.stack([V, W]))
    out["environment"] = environment()
    with open(args.result, "w") as f:
        json.dump(out, f)


# --------------------------------------------------------------------------- parent


def make_problem(name, spec, folder):
    import numpy as np

    from gatedrelu import activation_patterns, alpha_max, sample_gates

    n, d, m, frac, seed = spec
    rng = np.random.default_rng(seed)
    X = np.hstack([rng.standard_normal((n, d)), np.ones((n, 1))])
    teacher = rng.standard_normal((d + 1, 4))
    y = np.maximum(X @ teacher, 0) @ rng.standard_normal(4) + 0.1 * rng.standard_normal(n)
    p = activation_patterns(X, sample_gates(d + 1, m, random_state=seed + 1))
    alpha = frac * alpha_max(X, y, p)
    path = os.path.join(folder, f"{name}.npz")
    np.savez(path, X=X, y=y, masks=p.masks, gates=p.gates, alpha=alpha)
    return path, dict(n=n, d=d + 1, gates=m, patterns=p.n_patterns, alpha=alpha,
                      alpha_over_alpha_max=frac, seed=seed)


def evaluate(path, solution, multipliers=None) -> dict:
    import numpy as np

    from gatedrelu.convex_relu import convex_relu_problem
    from gatedrelu.problem import certify_numpy

    with np.load(path) as z:
        X, y, M, alpha = z["X"], z["y"], z["masks"], float(z["alpha"])
    V, W = np.load(solution)
    problem = convex_relu_problem(X, y, M, alpha)
    Lam = None if multipliers is None else np.load(multipliers)
    cert = certify_numpy(problem, np.vstack([V, -W]), Lam)
    net = np.maximum(X @ V.T, 0).sum(1) - np.maximum(X @ W.T, 0).sum(1)
    penalty = alpha * (np.linalg.norm(V, axis=1).sum() + np.linalg.norm(W, axis=1).sum())
    feasible = certify_numpy(problem, problem.constraint.project(X, problem.M, np.vstack([V, -W])))
    out = dict(objective=cert.objective, feasible_objective=feasible.objective,
               violation=cert.constraint_violation,
               relative_violation=cert.relative_violation,
               network_objective=0.5 * float(np.mean((net - y) ** 2)) + penalty,
               active_neurons=int(np.sum(np.linalg.norm(np.vstack([V, W]), axis=1) > 0)))
    if Lam is not None:
        out["relative_gap"] = cert.relative_gap
    return out


def run_worker(solver, path, cores, folder, timeout):
    tag = f"{os.path.basename(path)[:-4]}-{solver}-{len(cores)}"
    files = {k: os.path.join(folder, f"{tag}.{k}") for k in ("json", "npy", "mult.npy")}
    env = dict(os.environ)
    for k in THREAD_ENV:
        env[k] = str(len(cores))
    env["XLA_FLAGS"] = (f"--xla_cpu_multi_thread_eigen={'true' if len(cores) > 1 else 'false'} "
                        f"intra_op_parallelism_threads={len(cores)}")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [ROOT, env.get("PYTHONPATH")]))
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", "--solver", solver,
           "--problem", path, "--cores", ",".join(map(str, cores)), "--result", files["json"],
           "--solution", files["npy"], "--multipliers", files["mult.npy"]]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"{tag} failed:\n{proc.stderr[-3000:]}")
    with open(files["json"]) as f:
        out = json.load(f)
    out.update(evaluate(path, files["npy"], files["mult.npy"] if solver == "gatedrelu" else None))
    return out


def markdown(report) -> str:
    lines = [
        "# Convex ReLU: gatedrelu cone_fista vs pyscnn AL",
        "",
        f"Command: `{report['command']}`  ",
        f"Machine: {report['machine']}; load average before: {report['loadavg']}  ",
        f"gatedrelu tol {TOL} (relative gap and violation); pyscnn AL defaults. Times in seconds "
        "(gatedrelu: warm, second solve; cold = first, with JAX compilation).",
        "",
        "| problem | n | d | P | cores | solver | time | cold | feasible objective | objective | "
        "violation | network objective | certified gap | time ratio | feasible obj. "
        "(ours/pyscnn - 1) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in report["runs"]:
        pb = report["problems"][r["problem"]]
        for s in ("gatedrelu", "pyscnn"):
            x = r[s]
            lines.append(
                f"| {r['problem']} | {pb['n']} | {pb['d']} | {pb['patterns']} | {r['cores']} | {s} | "
                f"{x['time']:.3g} | {x.get('cold_time', float('nan')):.3g} | "
                f"{x['feasible_objective']:.10g} | {x['objective']:.10g} | {x['violation']:.2e} | "
                f"{x['network_objective']:.10g} | {x.get('relative_gap', float('nan')):.1e} | "
                + (f"{r['speedup']:.1f}x | {r['objective_diff']:+.2e} |" if s == "gatedrelu"
                   else " | |"))
    lines += ["", "Feasible objective: the answer with every violating group projected onto its "
              "cone (the objective compared); network objective: the ReLU network of the raw "
              "answer, whose infeasible neurons use patterns outside the given ones.", "",
              f"Goals (feasible objective no worse, >= {report['target']}x faster): "
              + ("met" if report["goals_met"] else "NOT met"), ""]
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="one tiny problem (smoke test)")
    ap.add_argument("--out", default=None, help="output folder (default benchmarks/results)")
    ap.add_argument("--cores-1", default="0", help="the core of the one-core runs")
    ap.add_argument("--cores-2", default="0,1", help="the cores of the two-core runs")
    ap.add_argument("--target", type=float, default=TARGET)
    ap.add_argument("--timeout", type=float, default=3600.0, help="seconds per run")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--solver", help=argparse.SUPPRESS)
    ap.add_argument("--problem", help=argparse.SUPPRESS)
    ap.add_argument("--cores", help=argparse.SUPPRESS)
    ap.add_argument("--result", help=argparse.SUPPRESS)
    ap.add_argument("--solution", help=argparse.SUPPRESS)
    ap.add_argument("--multipliers", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        return worker(args)

    problems = QUICK_PROBLEMS if args.quick else PROBLEMS
    out_dir = args.out or (QUICK_OUT if args.quick else DEFAULT_OUT)
    os.makedirs(out_dir, exist_ok=True)
    report = {
        "command": " ".join([os.path.relpath(__file__, ROOT)] + (argv if argv is not None else sys.argv[1:])),
        "machine": f"{platform.node()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
        "loadavg": open("/proc/loadavg").read().split()[:3] if os.path.exists("/proc/loadavg") else None,
        "tol": TOL, "target": args.target, "problems": {}, "runs": [],
    }
    with tempfile.TemporaryDirectory() as folder:
        for name, spec in problems.items():
            path, info = make_problem(name, spec, folder)
            report["problems"][name] = info
            for cores in (parse_cores(args.cores_1), parse_cores(args.cores_2)):
                run = {"problem": name, "cores": len(cores)}
                for solver in ("gatedrelu", "pyscnn"):
                    print(f"[bench_convex_relu] {name} {solver} on cores {cores}", flush=True)
                    run[solver] = run_worker(solver, path, cores, folder, args.timeout)
                g, s = run["gatedrelu"], run["pyscnn"]
                run["speedup"] = s["time"] / g["time"]
                run["objective_diff"] = g["feasible_objective"] / s["feasible_objective"] - 1
                run["goal_met"] = bool(run["objective_diff"] <= 1e-9
                                       and run["speedup"] >= args.target)
                print(f"  gatedrelu {g['time']:.3g}s F {g['feasible_objective']:.10g} | pyscnn "
                      f"{s['time']:.3g}s F {s['feasible_objective']:.10g} viol "
                      f"{s['violation']:.1e} | {run['speedup']:.1f}x", flush=True)
                report["runs"].append(run)
    report["goals_met"] = all(r["goal_met"] for r in report["runs"])
    with open(os.path.join(out_dir, "convex_relu.json"), "w") as f:
        json.dump(report, f, indent=1)
    with open(os.path.join(out_dir, "convex_relu.md"), "w") as f:
        f.write(markdown(report))
    print(f"[bench_convex_relu] wrote {out_dir}/convex_relu.{{json,md}}; goals "
          + ("met" if report["goals_met"] else "NOT met"))


if __name__ == "__main__":
    main()
