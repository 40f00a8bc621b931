"""R1 path (50 alphas, alpha_max to 1e-3 alpha_max): gatedrelu against adelie's path, by certificate.

    python benchmarks/bench_path_gap.py          # writes benchmarks/results/solver_path.{json,md}

The solver benchmark (``bench_solver.py``) needs a reference certified to 1e-8 at every alpha of
the path; on one core that reference (a tight gatedrelu path solve) took more than 500 s. This
script compares at equal *certified* accuracy instead: each solver runs in a worker process of
the benchmark harness pinned to core 0 (adelie from its own virtual environment) on the same
saved problem, its tolerance is swept from loose to tight, and for every solution the harness's
own numpy dual value ``D_k`` (a lower bound on the optimum, independent of the solvers) gives the
certified relative gap ``max_k (F_k - D_k) / F_k`` over the path, an upper bound on its
suboptimality. Reported: the time and certified gap of every setting, each one solve (warm:
the worker has run the loosest setting first), a solve past ``--cap`` seconds killed.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from benchmarks.harness import report  # noqa: E402
from benchmarks.harness import solver as bench  # noqa: E402

SWEEPS = {
    "gatedrelu:auto": [1e-2, 1e-3, 1e-4, 1e-5],
    "adelie": [1e-6, 1e-8, 1e-10, 1e-12],
}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cap", type=float, default=240.0)
    ap.add_argument("--out", default=os.path.join(HERE, "results"))
    ap.add_argument("--adelie-python", default=bench.DEFAULT_ADELIE_PYTHON)
    args = ap.parse_args()
    pb = bench.make_problem("R1-path")
    work = tempfile.mkdtemp(prefix="gatedrelu-path-")
    npz = pb.save(os.path.join(work, "R1-path.npz"))
    rows = []
    for solver, tols in SWEEPS.items():
        py = args.adelie_python if solver == "adelie" else None
        w = bench.Worker(solver, npz, {0}, work, python=py, log=os.path.join(work, "log"))
        try:
            w.solve(tols[0], args.cap)  # warm-up: imports, compilation
            for tol in tols:
                rep = w.solve(tol, args.cap)
                if rep is None:
                    rows.append({"solver": solver, "tol": tol, "status": f"killed after {args.cap:g} s"})
                    print(rows[-1], flush=True)
                    break
                F, D = bench.certificate(pb, rep["U"])
                gap = max((f - d) / f for f, d in zip(F, D))
                rows.append({"solver": solver, "tol": tol, "status": "ok", "time_s": rep["time"],
                             "certified_rel_gap": gap, "F": F, "D": D})
                print({k: rows[-1][k] for k in ("solver", "tol", "time_s", "certified_rel_gap")},
                      flush=True)
        finally:
            w.close()
    res = {"problem": "R1-path", "n": 5000, "d": 50, "n_patterns": int(pb.patterns.n_patterns),
           "alphas": [float(a) for a in pb.alphas], "cap_s": args.cap, "rows": rows,
           "machine": report._machine(), "versions": report._versions()}
    lines = ["# R1 path: certified accuracy against time (one core)", "",
             f"50 alphas from alpha_max = {pb.alpha_max:.4g} to {pb.alphas[-1]:.4g} on R1 (n 5000, d 50, "
             f"{pb.patterns.n_patterns} patterns); each solver pinned to core 0, one solve per setting "
             "after a warm-up solve. Certified gap = max over the path of (F - D) / F with the "
             "harness's numpy dual value D, an upper bound on the relative suboptimality. Produced by "
             "`python benchmarks/bench_path_gap.py`.", "",
             "| solver | tolerance | time (s) | certified relative gap (max over the path) |",
             "|---|---|---|---|"]
    for r in rows:
        if r["status"] == "ok":
            lines.append(f"| {r['solver']} | {r['tol']:g} | {r['time_s']:.1f} | {r['certified_rel_gap']:.1e} |")
        else:
            lines.append(f"| {r['solver']} | {r['tol']:g} | {r['status']} | |")
    lines.append("")
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "solver_path.json"), "w") as fh:
        json.dump(res, fh, indent=1, default=report._jsonable)
    with open(os.path.join(args.out, "solver_path.md"), "w") as fh:
        fh.write("\n".join(lines))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
