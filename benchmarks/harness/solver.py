"""Solver benchmark: gatedrelu against pyscnn, adelie, skglm and CVXPY/Clarabel, side by side.

Problems (each written once to an ``.npz`` that every solver, subprocess peers included, reads):

* ``R1``, ``R1-0.01``, ``R1-0.001``: n = 5000, d = 50, 500 Gaussian gates, y from a planted ReLU
  network with 4 hidden units plus noise 0.1, ``alpha = 0.05, 0.01, 0.001 x alpha_max``;
* ``R0``: n = 500, d = 20, 100 gates, ``alpha = 0.05 alpha_max``;
* ``diabetes``: scikit-learn's diabetes data, standardised features plus a column of ones,
  100 Gaussian gates, ``alpha = 1e-3`` (absolute, raw y);
* ``R1-path``: 50 alphas on a geometric grid from ``alpha_max`` to ``1e-3 alpha_max`` on R1
  (``R0-path``: 10 alphas down to ``1e-2 alpha_max`` on R0, for smoke tests).

Reference ``F*``: a tight gatedrelu solve (and CVXPY/Clarabel where it fits); the best objective
is kept and a certified lower bound (the dual value at the scaled residual, computed here in
numpy, independently of the solvers) is recorded. For a path, one reference per alpha.

Protocol. Every solver runs in its own worker process (:mod:`benchmarks.harness.worker`, adelie in
its own virtual environment) pinned with ``os.sched_setaffinity`` to core {0} (one-core figures)
or {0, 1} (two-core figures), with ``OMP/OPENBLAS/MKL/NUMBA_NUM_THREADS`` and ``XLA_FLAGS`` set
to the core count and ``OPENBLAS_CORETYPE``/``OPENBLAS_L2_SIZE`` unset. Each solver is timed
from ``(X, y, gates)`` to ``U``. Its own tolerance is swept loose to tight and the loosest
setting whose solution has relative suboptimality ``(F - F*) / F* <= 1e-6`` (for a path: the
largest over the path) is kept; that setting is timed

* warm: median of ``repeats`` further calls in the same process (the sweep's first call
  compiled / loaded everything);
* cold: the first call in a fresh process (imports excluded, compilation included).

A single solve that runs past ``cap`` seconds is killed and the row says so, with the best
suboptimality reached. The first row, ``gatedrelu:auto@default``, solves at the default
tolerance of ``solve_group_lasso`` (certified, no sweep): what a user gets. Ratios are
``peer time / gatedrelu:auto@default time`` (> 1 means gatedrelu
is faster), per core count. Results go to ``solver.json``, ``solver.md`` and ``solver.png``
(warm time per problem against the peers, log axis labelled with plain numbers).
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass

import numpy as np

from .problems import (
    ALL_PEERS,
    DEFAULT_ADELIE_PYTHON,
    DEFAULT_PROBLEMS,
    DEFAULT_ROW,
    DEFAULT_TOL,
    HELP,
    LADDERS,
    PATH_PEERS,
    PEERS,
    PROBLEMS,
    QUICK_PROBLEMS,
    TARGET,
    TARGETS,
    Problem,
    _family,
    certificate,
    gatedrelu_call,
    gatedrelu_solvers,
    make_problem,
    suboptimality,
)
from .process import Worker, WorkerError, thread_env
from .report import (
    PLOT_SOLVERS,
    _machine,
    _peer_environments,
    _ratios,
    _versions,
    _write,
    markdown,
    plot,
    plot_json,
    targets,
)

#: The harness's names in one place (the problems, workers and reports live in sibling modules).
__all__ = [
    "ALL_PEERS", "DEFAULT_ADELIE_PYTHON", "DEFAULT_PROBLEMS", "DEFAULT_ROW", "DEFAULT_TOL", "HELP",
    "LADDERS", "PATH_PEERS", "PEERS", "PLOT_SOLVERS", "PROBLEMS", "QUICK_PROBLEMS", "TARGET",
    "TARGETS", "Problem", "Settings", "Worker", "WorkerError", "add_arguments", "bench_solver",
    "certificate", "gatedrelu_call", "gatedrelu_solvers", "main", "make_problem", "markdown",
    "plot", "plot_json", "reference", "run", "settings_from_args", "suboptimality", "targets",
    "thread_env",
]


@dataclass
class Settings:
    cores: tuple = (1, 2)
    repeats: int = 5
    cap: float = 300.0
    ref_cap: float = 1800.0
    ref_tol: float = 1e-11
    repeat_budget: float = 120.0
    target: float = TARGET
    adelie_python: str | None = DEFAULT_ADELIE_PYTHON
    skglm_max_gb: float = 4.0
    cold: bool = True
    progress: bool = True


def _cpuset(n_cores: int) -> set:
    avail = sorted(os.sched_getaffinity(0))
    if len(avail) < n_cores:
        raise ValueError(f"{n_cores} cores asked for, this process may run on {avail} only.")
    return set(avail[:n_cores])


def _say(st: Settings, msg: str):
    if st.progress:
        print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def _python_for(solver: str, st: Settings) -> str:
    return st.adelie_python if solver == "adelie" else sys.executable




def reference(pb: Problem, npz: str, workdir: str, st: Settings, with_cvxpy: bool) -> dict:
    """High-accuracy optimum: staged tight gatedrelu solves and CVXPY where it fits.

    The "auto" worker solves at relative gaps 1e-8, 1e-10 and ``st.ref_tol`` in turn (fresh
    solves, the whole sequence within ``st.ref_cap`` seconds, a solve past it killed), stopping
    once the certified gap is below ``ref_tol``; every completed solve counts. If the certified
    relative gap is still above 1e-8, gatedrelu's other solvers are tried the same way.
    ``F*`` is the smallest objective found and ``lower_bound`` the largest dual value (computed
    here), so ``lower_bound <= F_min <= F*`` is certified; ``certified_rel_gap`` is
    ``(F* - lower_bound) / F*`` (the largest over a path).
    """
    cores = _cpuset(max(st.cores))
    stages = sorted({t for t in (1e-8, 1e-10, st.ref_tol) if t >= st.ref_tol}, reverse=True)
    names = [f"gatedrelu:{s}" for s in gatedrelu_solvers()
             if s != "cvxpy" and _gatedrelu_skip_reason(f"gatedrelu:{s}", pb) is None]
    todo = [(names[0], stages)] + ([("cvxpy", [1e-9])] if with_cvxpy else [])
    extra = [(s, stages) for s in names[1:]]
    runs = []
    while todo:
        solver, tols = todo.pop(0)
        try:
            w = Worker(solver, npz, cores, workdir, log=os.path.join(workdir, "reference.log"))
        except WorkerError as exc:
            runs.append({"solver": solver, "status": str(exc)})
            tols = []
        deadline = time.monotonic() + st.ref_cap
        for tol in tols:
            _say(st, f"{pb.name}: reference {solver} tol={tol:g}")
            run = {"solver": solver, "tol": tol}
            rep = w.solve(tol, max(deadline - time.monotonic(), 1.0))
            if rep is None:
                runs.append({**run, "status": f"killed: reference budget {st.ref_cap:g} s spent"})
                break
            if not rep["ok"]:
                runs.append({**run, "status": rep["error"]})
                break
            F, D = certificate(pb, rep["U"])
            runs.append({**run, "status": "ok", "time_s": rep["time"], "n_iter": rep["n_iter"],
                         "F": F, "D": D})
            if _ref_rel_gap(runs) <= st.ref_tol:
                break
        if tols:
            w.close()
        if not todo and extra and _ref_rel_gap(runs) > 1e-8:
            todo, extra = extra, []
    ok = [r for r in runs if r["status"] == "ok"]
    if not ok:
        raise RuntimeError(f"{pb.name}: no reference solve succeeded: {runs}")
    if pb.is_path:
        F_star = [min(r["F"][k] for r in ok) for k in range(len(pb.alphas))]
        lower = [max(r["D"][k] for r in ok) for k in range(len(pb.alphas))]
    else:
        F_star = min(r["F"] for r in ok)
        lower = max(r["D"] for r in ok)
    rel = _ref_rel_gap(runs)
    out = {"F_star": F_star, "lower_bound": lower, "certified_rel_gap": rel, "runs": runs,
           "n_patterns": int(pb.patterns.n_patterns)}
    if rel > 0.01 * st.target:
        out["warning"] = (f"reference certified only to a relative gap of {rel:.1e}: "
                          f"suboptimalities are exact to within that")
    return out


def _ref_rel_gap(runs) -> float:
    ok = [r for r in runs if r["status"] == "ok"]
    if not ok:
        return np.inf
    F = np.min([np.atleast_1d(r["F"]) for r in ok], axis=0)
    D = np.max([np.atleast_1d(r["D"]) for r in ok], axis=0)
    return float(np.max((F - D) / F))


def _run_config(solver, pb, npz, workdir, ref, n_cores, ladder, st: Settings) -> dict:
    """Sweep ``ladder`` with ``solver`` on ``n_cores`` cores, then time the chosen tolerance."""
    cores = _cpuset(n_cores)
    log = os.path.join(workdir, f"{solver.replace(':', '-')}.{n_cores}core.log")
    out = {"cores": sorted(cores), "sweep": []}
    F_star = ref["F_star"]
    try:
        w = Worker(solver, npz, cores, workdir, python=_python_for(solver, st), log=log)
    except (WorkerError, OSError) as exc:
        return {**out, "status": f"failed to start: {exc}"}
    out["environment"] = w.ready["environment"]
    out["versions"] = w.ready["versions"]
    chosen = None
    try:
        for tol in ladder:
            rep = w.solve(tol, st.cap)
            if rep is None:
                out.update(status="cap", capped_tol=tol)
                break
            if not rep["ok"]:
                out.update(status=f"error at tol={tol:g}: {rep['error']}")
                break
            F, _ = certificate(pb, rep["U"], dual=False)
            sub = suboptimality(F, F_star)
            step = {"tol": tol, "time_s": rep["time"], "n_iter": rep["n_iter"],
                    "suboptimality": sub}
            if "converged" in rep:
                step["converged"] = rep["converged"]
            out["sweep"].append(step)
            _say(st, f"{pb.name}: {solver} {n_cores} core(s) tol={tol:g}: "
                     f"{rep['time']:.3g} s, suboptimality {sub:.2e}")
            if sub <= st.target:
                chosen = step
                break
            if rep["time"] > st.cap:
                out.update(status="cap", capped_tol=tol)
                break
        else:
            out["status"] = f"never reached {st.target:g}"
        if chosen is None:
            if out["sweep"]:
                best = min(out["sweep"], key=lambda s: s["suboptimality"])
                out["suboptimality"] = best["suboptimality"]
                out["tol"] = best["tol"]
            return out
        n_rep = max(1, min(st.repeats, int(st.repeat_budget // max(chosen["time_s"], 1e-9))))
        warm, subs = [], []
        for _ in range(n_rep):
            rep = w.solve(chosen["tol"], st.cap)
            if rep is None or not rep["ok"]:
                return {**out, "status": "warm repeat failed or passed the cap"}
            warm.append(rep["time"])
            subs.append(suboptimality(certificate(pb, rep["U"], dual=False)[0], F_star))
    finally:
        w.close()
    out.update(
        status="ok",
        tol=chosen["tol"],
        n_iter=int(chosen["n_iter"]),
        suboptimality=float(max(subs + [chosen["suboptimality"]])),
        first_call_s=out["sweep"][0]["time_s"],
        warm_s=float(np.median(warm)),
        warm_all_s=[float(t) for t in warm],
    )
    if not st.cold:
        out["cold_s"] = None
        return out
    try:
        w2 = Worker(solver, npz, cores, workdir, python=_python_for(solver, st), log=log)
        rep = w2.solve(chosen["tol"], st.cap)
        w2.close()
        out["cold_s"] = float(rep["time"]) if rep and rep["ok"] else None
    except WorkerError as exc:
        out["cold_s"] = None
        out["cold_error"] = str(exc)
    return out


def bench_solver(solver, pb, npz, workdir, ref, st: Settings) -> dict:
    """One row: ``solver`` on ``pb``, for each core count of ``st.cores``.

    The second core count starts its sweep at the tolerance the first one settled on (or at
    the last one it completed), so the sweep is not paid twice.
    """
    ladder = LADDERS[_family(solver)]
    row = {"solver": solver, "by_cores": {}}
    start = 0
    for k in st.cores:
        r = _run_config(solver, pb, npz, workdir, ref, k, ladder[start:], st)
        row["by_cores"][str(k)] = r
        done = [s["tol"] for s in r.get("sweep", [])]
        if r["status"] == "ok":
            start = ladder.index(r["tol"])
        elif done:
            start = ladder.index(done[-1])
    return row


def _skip_reason(peer: str, pb: Problem, st: Settings) -> str | None:
    if pb.loss != "squared" and peer == "pyscnn":
        return "squared loss only in this benchmark"
    if pb.loss == "squared" and peer == "skglm-newton":
        return "run for the logistic loss only"
    if peer == "adelie" and not st.adelie_python:
        return ("no adelie interpreter: pass --adelie-python or set GATEDRELU_ADELIE_PYTHON; "
                "see benchmarks/README.md")
    if peer == "adelie" and not os.path.exists(st.adelie_python):
        return f"adelie venv not found ({st.adelie_python}); see benchmarks/README.md"
    mods = {"pyscnn": ["scnn", "lab", "torch"], "skglm": ["skglm"], "skglm-newton": ["skglm"],
            "cvxpy": ["cvxpy", "clarabel"]}
    for mod in mods.get(peer, []):
        try:
            __import__(mod)
        except Exception as exc:  # ImportError, or a broken install
            return f"not installed ({mod}: {type(exc).__name__})"
    if pb.is_path and peer not in PATH_PEERS:
        return "no path mode"
    if peer == "cvxpy":
        from gatedrelu import group_lasso as gl

        limit = int(getattr(gl, "CVXPY_MAX_SIZE", 5_000_000))
        if pb.size > limit:
            return f"too large for CVXPY/Clarabel: n*P*d = {pb.size:,} > {limit:,}"
    if peer in ("skglm", "skglm-newton"):
        gb = pb.size * 8 / 2**30
        if gb > st.skglm_max_gb:
            return f"expanded design {gb:.1f} GiB > --skglm-max-gb {st.skglm_max_gb:g}"
    return None


def _gatedrelu_skip_reason(solver: str, pb: Problem) -> str | None:
    """Why gatedrelu's solver ``gatedrelu:NAME`` does not apply to ``pb`` (its ``supports``)."""
    from gatedrelu.group_lasso import make_problem as problem_of
    from gatedrelu.solvers import REGISTRY

    name = solver.split(":", 1)[1].split("@")[0]
    alpha = pb.alpha if pb.alpha is not None else float(pb.alphas[0])
    return REGISTRY[name].supports(problem_of(pb.X, pb.y, pb.patterns.masks, alpha, pb.loss))




def run(problems=DEFAULT_PROBLEMS, peers=PEERS, *, settings: Settings | None = None, seed=0,
        out_dir=None, name="solver", title="Solver benchmark", goals=TARGETS):
    """Run the benchmark; returns the result dict and writes ``NAME.json`` / ``NAME.md`` /
    ``NAME.png`` (``name``, default "solver"); ``goals`` are the speed-up targets reported,
    ``(problems, peer, minimum warm ratio)``."""
    st = settings or Settings()
    peers = tuple(peers)
    for k in st.cores:  # before any solve: a one-core machine fails now, not after the references
        try:
            _cpuset(k)
        except ValueError as exc:
            raise ValueError(f"{exc} Run with --cores 1 (settings cores=(1,)).") from None
    results = {
        "name": name,
        "title": title,
        "goals": [[list(probs), peer, goal] for probs, peer, goal in goals],
        "target_suboptimality": st.target,
        "settings": {k: v for k, v in st.__dict__.items() if k != "progress"},
        "machine": _machine(),
        "versions": _versions(),
        "thread_env": {str(k): {v: thread_env(k, {}).get(v) for v in
                                ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                                 "NUMBA_NUM_THREADS", "XLA_FLAGS")} for k in st.cores},
        "gatedrelu_solvers": list(gatedrelu_solvers()),
        "problems": {},
    }
    keep = out_dir is not None
    # absolute: the workers run in their own working directories
    base = os.path.abspath(out_dir) if keep else tempfile.mkdtemp(prefix="gatedrelu-bench-")
    try:
        for name in problems:
            pb = make_problem(name, seed)
            pdir = os.path.join(base, "problems")
            wdir = os.path.join(base, "logs", name)
            os.makedirs(pdir, exist_ok=True)
            os.makedirs(wdir, exist_ok=True)
            npz = pb.save(os.path.join(pdir, f"{name}.npz"))
            _say(st, f"{name}: {pb.patterns.n_patterns} patterns, saved to {npz}")
            fits_cvxpy = _skip_reason("cvxpy", pb, st) is None and not pb.is_path
            ref = reference(pb, npz, wdir, st, with_cvxpy=fits_cvxpy)
            _say(st, f"{name}: reference certified relative gap {ref['certified_rel_gap']:.1e}")
            solvers = [DEFAULT_ROW, "gatedrelu:auto"]
            if "gatedrelu" in peers:
                solvers += [f"gatedrelu:{s}" for s in gatedrelu_solvers()[1:] if s != "cvxpy"]
            solvers += [p for p in peers if p != "gatedrelu"]
            rows = []
            for solver in solvers:
                why = (_gatedrelu_skip_reason(solver, pb) if solver.startswith("gatedrelu:")
                       else _skip_reason(solver, pb, st))
                if why:
                    rows.append({"solver": solver, "status": f"skipped: {why}", "by_cores": {}})
                    continue
                _say(st, f"{name}: {solver}")
                rows.append(bench_solver(solver, pb, npz, wdir, ref, st))
            _ratios(rows, st)
            results["problems"][name] = {
                "spec": pb.spec,
                "n": int(pb.X.shape[0]),
                "d": int(pb.X.shape[1]),
                "n_patterns": int(pb.patterns.n_patterns),
                "alpha_max": pb.alpha_max,
                "alpha": pb.alpha,
                "alphas": None if pb.alphas is None else [float(a) for a in pb.alphas],
                "reference": ref,
                "rows": rows,
            }
            results["targets"] = targets(results)
            if keep:
                _write(results, out_dir)
        results["peer_environments"] = _peer_environments(results)
    finally:
        if not keep:
            shutil.rmtree(base, ignore_errors=True)
    results["targets"] = targets(results)
    if keep:
        _write(results, out_dir)
    return results



def add_arguments(parser) -> None:
    parser.add_argument(
        "--problems", nargs="+", default=None, choices=sorted(PROBLEMS), metavar="PROBLEM",
        help=f"problems to run, among {', '.join(PROBLEMS)} "
        f"(default: {' '.join(DEFAULT_PROBLEMS)}; with --quick: {' '.join(QUICK_PROBLEMS)})",
    )
    parser.add_argument(
        "--peers", nargs="+", default=list(PEERS), choices=ALL_PEERS, metavar="PEER",
        help=f"peers to run against gatedrelu's 'auto' solver, among {', '.join(ALL_PEERS)} "
        "('gatedrelu' = gatedrelu's other solvers; default: all)",
    )
    parser.add_argument("--cores", choices=("1", "2", "both"), default="both",
                        help="pin every solver to core {0} (1), cores {0,1} (2) or run both "
                        "(default both)")
    parser.add_argument("--repeats", type=int, default=None,
                        help="warm repetitions per timed setting (default 5; 2 with --quick)")
    parser.add_argument("--cap", type=float, default=None,
                        help="seconds after which a single solve is killed (default 300; 60 "
                        "with --quick)")
    parser.add_argument("--ref-cap", type=float, default=None,
                        help="cap for each reference solve (default 1800; 300 with --quick)")
    parser.add_argument("--ref-tol", type=float, default=1e-11,
                        help="relative-gap tolerance of the reference solves (default 1e-11)")
    parser.add_argument("--repeat-budget", type=float, default=120.0,
                        help="fewer warm repeats when one solve takes longer than "
                        "budget/repeats seconds (default 120)")
    parser.add_argument("--adelie-python", default=DEFAULT_ADELIE_PYTHON,
                        help="python of adelie's own venv (default: $GATEDRELU_ADELIE_PYTHON; "
                        "without either, adelie is skipped; see benchmarks/README.md)")
    parser.add_argument("--skglm-max-gb", type=float, default=4.0,
                        help="skip skglm when its expanded design exceeds this (GiB, default 4)")
    parser.add_argument("--no-cold", dest="cold", action="store_false",
                        help="skip the cold runs (a first call in a fresh process), to save time "
                        "on long problems")
    parser.add_argument("--seed", type=int, default=0, help="problem seed (default 0)")
    parser.add_argument("--quick", action="store_true",
                        help="smoke test: small problems (R0, diabetes, R0-path), 2 repeats, "
                        "60 s cap")
    parser.add_argument("--out", default="gatedrelu-bench", help="output folder")


def settings_from_args(args) -> Settings:
    """The :class:`Settings` of parsed :func:`add_arguments` options."""
    repeats = args.repeats if args.repeats is not None else (2 if args.quick else 5)
    if repeats < 1:
        raise ValueError(f"--repeats must be >= 1, got {repeats}.")
    return Settings(
        cores={"1": (1,), "2": (2,), "both": (1, 2)}[args.cores],
        repeats=repeats,
        cap=args.cap if args.cap is not None else (60.0 if args.quick else 300.0),
        ref_cap=args.ref_cap if args.ref_cap is not None else (300.0 if args.quick else 1800.0),
        ref_tol=args.ref_tol,
        repeat_budget=args.repeat_budget,
        adelie_python=args.adelie_python,
        skglm_max_gb=args.skglm_max_gb,
        cold=args.cold,
    )


def main(args) -> int:
    problems = args.problems or (QUICK_PROBLEMS if args.quick else DEFAULT_PROBLEMS)
    st = settings_from_args(args)
    res = run(problems, args.peers, settings=st, seed=args.seed, out_dir=args.out)
    print(markdown(res))
    print(f"Results written to {os.path.join(args.out, 'solver.json')}, solver.md and solver.png")
    return 0


if __name__ == "__main__":  # pragma: no cover
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_arguments(ap)
    sys.exit(main(ap.parse_args()))
