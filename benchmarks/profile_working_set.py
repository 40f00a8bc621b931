"""Where the time of ``solver="auto"`` goes on the benchmark's R1 problems (one core).

    python benchmarks/profile_working_set.py                 # R1, R1-0.01; writes results/profile.md
    python benchmarks/profile_working_set.py --problems R1

The process pins itself to one core (``os.sched_setaffinity``, thread variables set to 1) before
importing numpy or JAX. For each problem it solves once to compile, then profiles a second,
warm solve at the tolerance the solver benchmark chose (relative gap 1e-3, which reaches a
relative suboptimality of about 4e-7 on R1) with ``cProfile``, and reports

* the per-outer-iteration log of the working-set solver (working-set size, inner iterations,
  relative gap);
* the wall time and number of calls of the parts: the compiled inner FISTA loops
  (``run_numpy``), the full-problem certificates (one forward and one adjoint product over every
  pattern each), the screening bounds, the whitening, and the rest.
"""

from __future__ import annotations

import argparse
import os
import sys

os.environ.update(OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1",
                  XLA_FLAGS="--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1")
os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})

import contextlib  # noqa: E402
import cProfile  # noqa: E402
import io  # noqa: E402
import pstats  # noqa: E402
import time  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from benchmarks.harness.problems import make_problem  # noqa: E402
from gatedrelu.group_lasso import solve_group_lasso  # noqa: E402

PARTS = {
    "inner FISTA loops (fista_run, compiled)": "run_numpy",
    "full-problem certificates (forward + adjoint over every pattern)": "certify_numpy",
    "operator bounds for screening": "group_operator_bounds",
    "whitening (SVD of X)": "whitening",
}


def _cum(stats: pstats.Stats, func: str) -> tuple:
    """(cumulative seconds, calls) of the functions named ``func``."""
    hits = [v for k, v in stats.stats.items() if k[2] == func]
    return sum(v[3] for v in hits), sum(v[1] for v in hits)


def profile(name: str, tol: float) -> str:
    pb = make_problem(name)
    p = pb.patterns
    solve_group_lasso(pb.X, pb.y, p, pb.alpha, tol=tol)  # compile
    log = io.StringIO()
    prof = cProfile.Profile()
    t0 = time.perf_counter()
    with contextlib.redirect_stdout(log):
        prof.enable()
        res = solve_group_lasso(pb.X, pb.y, p, pb.alpha, tol=tol, verbose=1)
        prof.disable()
    wall = time.perf_counter() - t0
    st = pstats.Stats(prof)
    lines = [f"## {name}: alpha = {pb.spec['alpha_ratio']:g} alpha_max, tol = {tol:g}", "",
             f"Warm solve: {wall:.2f} s, {res.n_iter} inner iterations, relative gap "
             f"{res.dual_gap / res.objective:.1e}, {int((abs(res.coef).sum(axis=1) > 0).sum())} "
             f"active groups of {p.n_patterns}.", "", "| part | calls | seconds | share |", "|---|---|---|---|"]
    accounted = 0.0
    for label, func in PARTS.items():
        t, calls = _cum(st, func)
        accounted += t
        lines.append(f"| {label} | {calls} | {t:.2f} | {100 * t / wall:.0f}% |")
    lines.append(f"| other (Python, copies, mask gathers) | | {wall - accounted:.2f} | "
                 f"{100 * (wall - accounted) / wall:.0f}% |")
    lines += ["", "Working-set log:", "", "```"]
    lines += [ln for ln in log.getvalue().splitlines() if ln.startswith("[working_set]")]
    lines += ["```", ""]
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--problems", nargs="+", default=["R1", "R1-0.01"])
    ap.add_argument("--tol", type=float, default=1e-3)
    ap.add_argument("--out", default=os.path.join(HERE, "results", "profile.md"))
    args = ap.parse_args()
    text = ["# Profile of solver='auto' on R1 (one core)", "",
            "Produced by `python benchmarks/profile_working_set.py`.", ""]
    for name in args.problems:
        text.append(profile(name, args.tol))
    with open(args.out, "w") as fh:
        fh.write("\n".join(text))
    print("\n".join(text))
    return 0


if __name__ == "__main__":
    sys.exit(main())
