"""One benchmark solver in its own process: pinned cores, fixed thread counts, timed solves.

Run as a script by :mod:`benchmarks.harness.solver` (never imported by it), in gatedrelu's
environment or in a peer's own virtual environment (adelie)::

    python worker.py --problem PROBLEM.npz --solver SOLVER --workdir DIR --cores 0,1

The worker pins itself to ``--cores`` (``os.sched_setaffinity``) before importing anything that
starts threads; the parent sets the thread variables; the worker records what it actually got. It loads the problem (``X``, ``y``,
``gates``, ``rep_gates``, ``masks`` and ``alpha`` or ``alphas``), imports the solver's libraries
(imports are not timed), says ``ready`` with its environment as one JSON line, then answers
requests, one JSON line each, on stdin::

    {"cmd": "solve", "id": 3, "tol": 1e-6}  ->  {"id": 3, "ok": true, "time": ..., "n_iter": ...,
                                                 "file": "DIR/U_3.npy"}
    {"cmd": "quit"}

Each solve is timed from ``(X, y, gates)`` (activation patterns, expanded design or model
construction included) to ``U`` in gatedrelu's convention, shape (P, d), or (L, P, d) for a path;
the solution goes to a ``.npy`` file so that the parent evaluates every solver with the same
objective. Anything the libraries print goes to stderr: stdout carries the protocol only.

This file imports nothing from gatedrelu at module level: in a peer's environment it loads
``peers.py`` from its own folder by path.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import sys
import time
import traceback
import warnings

HERE = os.path.dirname(os.path.abspath(__file__))
#: Solvers run by this worker: "gatedrelu:<name>" (any name of gatedrelu.group_lasso.SOLVERS),
#: "cvxpy" (gatedrelu's CVXPY/Clarabel solver), "pyscnn", "skglm" (GroupBCD), "skglm-newton"
#: (GroupProxNewton), "adelie".
PEER_SOLVERS = ("cvxpy", "pyscnn", "skglm", "skglm-newton", "adelie")
THREAD_VARS = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "NUMBA_NUM_THREADS",
    "XLA_FLAGS",
    "OPENBLAS_CORETYPE",
    "OPENBLAS_L2_SIZE",
)


def _peers_module():
    """benchmarks.harness.peers, or the same file loaded by path where gatedrelu is absent."""
    try:
        from benchmarks.harness import peers

        return peers
    except ImportError:
        spec = importlib.util.spec_from_file_location(
            "_gatedrelu_bench_peers", os.path.join(HERE, "peers.py")
        )
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        return mod


class Job:
    """The problem and the solver; ``solve(tol)`` returns (U, n_iter, info)."""

    def __init__(self, problem: str, solver: str, n_threads: int):
        import numpy as np

        self.np = np
        with np.load(problem) as z:
            data = {k: z[k] for k in z.files}
        self.X, self.y = data["X"], data["y"]
        self.gates, self.rep_gates = data["gates"], data["rep_gates"]
        self.path = "alphas" in data
        self.alpha = data["alphas"] if self.path else float(data["alpha"])
        self.solver = solver
        self.n_threads = n_threads
        self.max_iter = int(data["max_iter"]) if "max_iter" in data else 10**6
        #: "squared" (y real) or "logistic" (y = +1/-1); files without it are squared-loss ones
        self.loss = str(data["loss"]) if "loss" in data else "squared"
        self._imports()

    def _imports(self):
        """Import (and so exclude from the timings) everything the solver needs."""
        if self.solver == "adelie":
            import adelie  # noqa: F401

            self.peers = _peers_module()
            return
        from benchmarks.harness import (
            peer_pyscnn,
            peers,
            problems,  # noqa: F401 (gatedrelu_call)
        )
        from gatedrelu.patterns import activation_patterns  # noqa: F401

        self.peers = peer_pyscnn if self.solver == "pyscnn" else peers
        if self.solver == "pyscnn":
            import lab  # noqa: F401
            import scnn  # noqa: F401
            import torch  # noqa: F401
        elif self.solver in ("skglm", "skglm-newton"):
            import skglm  # noqa: F401
        elif self.solver == "cvxpy":
            import clarabel  # noqa: F401
            import cvxpy  # noqa: F401
        elif not self.solver.startswith("gatedrelu:"):
            raise ValueError(f"unknown solver {self.solver!r}")

    def solve(self, tol):
        np = self.np
        X, y, a = self.X, self.y, self.alpha
        if self.solver == "adelie":
            U, info = self.peers.adelie_grpnet(
                X, y, self.rep_gates, a, tol=tol, n_threads=self.n_threads, return_info=True,
                loss=self.loss,
            )
            return U, info["n_iter"], {}
        from benchmarks.harness.problems import gatedrelu_call
        from gatedrelu.patterns import activation_patterns

        p = activation_patterns(X, self.gates)
        if self.solver.startswith("gatedrelu:") or self.solver == "cvxpy":
            name = "cvxpy" if self.solver == "cvxpy" else self.solver.split(":", 1)[1]
            max_iter = None if name == "cvxpy" else self.max_iter
            res = gatedrelu_call(X, y, p, a, solver=name, tol=tol, max_iter=max_iter,
                                 loss=self.loss)
            if self.path:
                U = np.stack([r.coef for r in res])
                return U, sum(int(r.n_iter) for r in res), {
                    "converged": all(bool(r.converged) for r in res)
                }
            return res.coef, int(res.n_iter), {"converged": bool(res.converged)}
        if self.solver == "pyscnn":
            if self.loss != "squared":
                raise ValueError("pyscnn runs the squared loss only in this benchmark")
            if self.path:
                U, info = self.peers.pyscnn_rfista_path(
                    X, y, p.gates, a, tol=tol, max_iter=self.max_iter
                )
            else:
                U, info = self.peers.pyscnn_rfista(
                    X, y, p.gates, a, tol=tol, max_iter=self.max_iter, metric_freq=10**9
                )
            return U, info["n_iter"], {}
        if self.solver in ("skglm", "skglm-newton"):
            if self.path:
                raise ValueError("skglm has no path mode in this benchmark")
            U, info = self.peers.skglm_group_lasso(
                X, y, p.masks, a, tol=tol, max_iter=1000, max_epochs=10**6, return_info=True,
                loss=self.loss, solver="newton" if self.solver == "skglm-newton" else "bcd",
            )
            return U, info["n_iter"], {"converged": bool(info["converged"])}
        raise ValueError(f"unknown solver {self.solver!r}")


def _threads() -> list:
    try:
        return [int(t) for t in os.listdir("/proc/self/task")]
    except OSError:  # pragma: no cover - not Linux
        return [0]


def repin(cores: set) -> None:
    """Pin every thread of this process to ``cores``."""
    for tid in _threads():
        try:
            os.sched_setaffinity(tid, cores)
        except OSError:  # pragma: no cover - the thread ended meanwhile
            pass


def environment() -> dict:
    masks = set()
    for tid in _threads():
        try:
            masks.add(tuple(sorted(os.sched_getaffinity(tid))))
        except OSError:  # pragma: no cover
            pass
    out = {
        "pid": os.getpid(),
        "affinity": sorted(os.sched_getaffinity(0)),
        "thread_affinities": sorted(masks),
        "python": platform.python_version(),
        "executable": sys.executable,
        "env": {k: os.environ.get(k) for k in THREAD_VARS},
    }
    try:
        from threadpoolctl import threadpool_info

        keys = ("internal_api", "prefix", "version", "architecture", "num_threads", "filepath")
        out["blas"] = [{k: i.get(k) for k in keys} for i in threadpool_info()]
    except ImportError:  # pragma: no cover
        out["blas"] = []
    return out


def versions(solver: str) -> dict:
    from importlib.metadata import PackageNotFoundError, version

    pkgs = ("adelie", "numpy", "scipy", "threadpoolctl")
    if solver != "adelie":
        pkgs = ("gatedrelu", "jax", "jaxlib", "numpy", "scipy", "scikit-learn", "cvxpy",
                "clarabel", "pyscnn", "linalg-backends", "torch", "skglm", "numba",
                "threadpoolctl")
    out = {}
    for pkg in pkgs:
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            out[pkg] = None
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--problem", required=True)
    ap.add_argument("--solver", required=True)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--cores", default=None, help="comma-separated CPU ids to pin to")
    ap.add_argument("--threads", type=int, default=None, help="default: number of pinned cores")
    args = ap.parse_args(argv)
    if args.cores:
        # pin before numpy, BLAS, OpenMP or XLA start any thread
        os.sched_setaffinity(0, {int(c) for c in args.cores.split(",")})

    # stdout carries the protocol only; whatever the libraries print goes to stderr
    proto = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    warnings.simplefilter("ignore")

    def send(obj):
        proto.write(json.dumps(obj) + "\n")
        proto.flush()

    n_threads = args.threads or len(os.sched_getaffinity(0))
    try:
        job = Job(args.problem, args.solver, n_threads)
    except Exception as exc:
        send({"ready": False, "error": f"{type(exc).__name__}: {exc}",
              "traceback": traceback.format_exc()})
        return 1
    if args.cores:
        # importing adelie 1.1 pins the calling thread to the first core of its mask: pin every
        # thread of the process back to the cores asked for (threads started later inherit it)
        repin({int(c) for c in args.cores.split(",")})
    send({"ready": True, "environment": environment(), "versions": versions(args.solver)})

    import numpy as np

    for line in sys.stdin:
        req = json.loads(line)
        if req.get("cmd") == "quit":
            break
        rid = req["id"]
        try:
            t0 = time.perf_counter()
            U, n_iter, extra = job.solve(req["tol"])
            elapsed = time.perf_counter() - t0
        except Exception as exc:
            send({"id": rid, "ok": False, "error": f"{type(exc).__name__}: {exc}",
                  "traceback": traceback.format_exc()})
            continue
        path = os.path.join(args.workdir, f"U_{os.getpid()}_{rid}.npy")
        np.save(path, np.asarray(U, dtype=np.float64))
        send({"id": rid, "ok": True, "time": elapsed, "n_iter": int(n_iter), "file": path,
              **extra})
    return 0


if __name__ == "__main__":
    if sys.path and os.path.abspath(sys.path[0] or ".") == HERE:
        sys.path.pop(0)  # this folder holds solver.py and peers.py: keep them off the top level
    sys.exit(main())
