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

Protocol. Every solver runs in its own worker process (:mod:`gatedrelu.bench.worker`, adelie in
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

import json
import os
import platform
import selectors
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field

import numpy as np

HELP = "Solver benchmark: gatedrelu against pyscnn, adelie, skglm and CVXPY/Clarabel"
TARGET = 1e-6
#: name -> spec. ``alpha_ratio`` is relative to alpha_max, ``alpha`` absolute; ``path`` =
#: (number of alphas, smallest alpha / alpha_max) on a geometric grid from alpha_max.
PROBLEMS = {
    "R1": dict(data="planted", n=5000, d=50, n_gates=500, alpha_ratio=0.05),
    "R1-0.01": dict(data="planted", n=5000, d=50, n_gates=500, alpha_ratio=0.01),
    "R1-0.001": dict(data="planted", n=5000, d=50, n_gates=500, alpha_ratio=0.001),
    "R0": dict(data="planted", n=500, d=20, n_gates=100, alpha_ratio=0.05),
    "diabetes": dict(data="diabetes", n_gates=100, alpha=1e-3),
    "R1-path": dict(data="planted", n=5000, d=50, n_gates=500, path=(50, 1e-3)),
    "R0-path": dict(data="planted", n=500, d=20, n_gates=100, path=(10, 1e-2)),
    # the logistic loss (benchmarks/bench_logistic.py): labels drawn from the planted teacher
    "L1": dict(data="planted", loss="logistic", n=5000, d=50, n_gates=500, alpha_ratio=0.05),
    "L1-0.01": dict(data="planted", loss="logistic", n=5000, d=50, n_gates=500,
                    alpha_ratio=0.01),
    "L0": dict(data="planted", loss="logistic", n=500, d=20, n_gates=100, alpha_ratio=0.05),
}
DEFAULT_PROBLEMS = ("R1", "R1-0.01", "R1-0.001", "R0", "diabetes", "R1-path")
QUICK_PROBLEMS = ("R0", "diabetes", "R0-path")
#: Peers; "gatedrelu" stands for gatedrelu's solvers other than "auto" (auto always runs).
PEERS = ("gatedrelu", "pyscnn", "adelie", "skglm", "cvxpy")
#: Every peer the harness knows: also skglm's proximal Newton solver (GroupProxNewton), which
#: skglm recommends for the logistic loss.
ALL_PEERS = PEERS + ("skglm-newton",)
PATH_PEERS = ("gatedrelu", "pyscnn", "adelie")


def _default_tol() -> float:
    import inspect

    from ..group_lasso import solve_group_lasso

    return float(inspect.signature(solve_group_lasso).parameters["tol"].default)


#: The default tolerance of ``solve_group_lasso``: the row ``gatedrelu:auto@default`` runs at it
#: (the certified answer a user gets), the first row of every table and the base of the ratios.
DEFAULT_TOL = _default_tol()
DEFAULT_ROW = "gatedrelu:auto@default"


def _ladder(hi: float, lo: float) -> list:
    """Half-decade steps (1, 3) from ``hi`` down to ``lo``."""
    out, e = [], int(round(np.log10(hi)))
    while 10.0**e >= lo * 0.999:
        for m in (3.0, 1.0):
            v = float(f"{m}e{e}")
            if lo * 0.999 <= v <= hi * 1.001:
                out.append(v)
        e -= 1
    return sorted(set(out), reverse=True)


#: Tolerance ladders, loose to tight, in each solver's own units (half-decade steps for all).
LADDERS = {
    # gatedrelu: relative duality gap gap / F (certified: rel. suboptimality <= tol)
    "gatedrelu": _ladder(1e-2, 1e-10),
    # what a user gets: solve_group_lasso's default tolerance, certified, no sweep
    "gatedrelu@default": [DEFAULT_TOL],
    # pyscnn: squared norm of the minimum-norm subgradient
    "pyscnn": _ladder(1e-2, 1e-16),
    # skglm: largest distance of a group's gradient to its subdifferential
    "skglm": _ladder(1e-1, 1e-12),
    "skglm-newton": _ladder(1e-1, 1e-12),
    # adelie: coordinate-descent tolerance on y_var-relative weighted squared coefficient changes
    "adelie": _ladder(1e-4, 1e-16),
    # gatedrelu's CVXPY/Clarabel solver
    "cvxpy": [1e-4, 1e-5, 1e-6, 1e-7, 1e-8, 1e-9],
}
#: Speed-up goals printed next to the ratios: (problems, peer, minimum warm ratio).
TARGETS = (
    (("R1", "R1-0.01", "R1-0.001"), "pyscnn", 10.0),
    (("R1", "R1-0.01", "R1-0.001"), "adelie", 10.0),
    (("diabetes",), "cvxpy", 10.0),
    (("R1-path",), "adelie", 5.0),
)
DEFAULT_ADELIE_PYTHON = os.environ.get("GATEDRELU_ADELIE_PYTHON", "/work/venvs/adelie/bin/python")
WORKER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "worker.py")


# ============================================================================ the gatedrelu call


def gatedrelu_call(X, y, patterns, alpha, *, solver="auto", tol, max_iter=None, loss="squared"):
    """THE one call into gatedrelu's solvers: one alpha (float) or a path (1-D array)."""
    from .. import group_lasso as gl

    fn = gl.group_lasso_path if np.ndim(alpha) > 0 else gl.solve_group_lasso
    kw = {"tol": tol, "solver": solver, "loss": loss}
    if max_iter is not None:
        kw["max_iter"] = max_iter
    return fn(X, y, patterns, alpha, **kw)


def gatedrelu_solvers() -> tuple:
    """gatedrelu's solver names, "auto" first (``group_lasso.SOLVERS``)."""
    from ..group_lasso import SOLVERS

    return SOLVERS


# ============================================================================ problems


@dataclass
class Problem:
    name: str
    X: np.ndarray
    y: np.ndarray
    gates: np.ndarray
    alpha: float | None = None
    alphas: np.ndarray | None = None
    spec: dict = field(default_factory=dict)
    alpha_max: float | None = None
    #: "squared" or "logistic" (labels +1/-1 in y)
    loss: str = "squared"

    @property
    def is_path(self) -> bool:
        return self.alphas is not None

    @property
    def patterns(self):
        if not hasattr(self, "_patterns"):
            from ..patterns import activation_patterns

            self._patterns = activation_patterns(self.X, self.gates)
        return self._patterns

    @property
    def size(self) -> int:
        """``n * P * d``: entries of the expanded design."""
        return self.X.shape[0] * self.patterns.n_patterns * self.X.shape[1]

    def save(self, path: str, max_iter: int = 10**6) -> str:
        p = self.patterns
        arrays = dict(X=self.X, y=self.y, gates=self.gates, rep_gates=p.gates, masks=p.masks,
                      max_iter=np.int64(max_iter), loss=np.str_(self.loss))
        if self.is_path:
            arrays["alphas"] = np.asarray(self.alphas, dtype=np.float64)
        else:
            arrays["alpha"] = np.float64(self.alpha)
        np.savez(path, **arrays)
        return path


def make_problem(name: str, seed: int = 0) -> Problem:
    """The benchmark problem ``name`` (see :data:`PROBLEMS`)."""
    from ..group_lasso import alpha_max
    from ..patterns import activation_patterns, sample_gates

    if name not in PROBLEMS:
        raise ValueError(f"Unknown problem {name!r}; expected one of {', '.join(PROBLEMS)}.")
    spec = dict(PROBLEMS[name])
    loss = spec.get("loss", "squared")
    if spec["data"] == "planted":
        from ..datasets import make_planted

        X, y, _ = make_planted(spec["n"], spec["d"], n_hidden=4, noise=0.1, random_state=seed)
        gates = sample_gates(spec["d"], spec["n_gates"], random_state=seed + 1)
        if loss == "logistic":
            # labels +1 with probability sigmoid(3 f / std f): noisy, never separable
            u = np.random.default_rng(seed + 2).random(len(y))
            y = np.where(u < 1 / (1 + np.exp(-3 * (y - y.mean()) / y.std())), 1.0, -1.0)
    elif spec["data"] == "diabetes":
        from sklearn.datasets import load_diabetes
        from sklearn.preprocessing import StandardScaler

        Xr, y = load_diabetes(return_X_y=True)
        Xs = StandardScaler().fit_transform(Xr)
        X = np.hstack([Xs, np.ones((Xs.shape[0], 1))])
        y = np.asarray(y, dtype=np.float64)
        gates = sample_gates(X.shape[1], spec["n_gates"], random_state=seed + 1)
        spec.update(n=X.shape[0], d=X.shape[1])
    else:  # pragma: no cover
        raise ValueError(spec["data"])
    X = np.ascontiguousarray(X, dtype=np.float64)
    amax = alpha_max(X, y, activation_patterns(X, gates), loss=loss)
    pb = Problem(name, X, y, gates, spec=spec, alpha_max=amax, loss=loss)
    if "path" in spec:
        n_alphas, eps = spec["path"]
        pb.alphas = amax * np.geomspace(1.0, eps, n_alphas)
    elif "alpha" in spec:
        pb.alpha = float(spec["alpha"])
    else:
        pb.alpha = spec["alpha_ratio"] * amax
    return pb


# ============================================================================ evaluation


def certificate(pb: Problem, U, dual: bool = True) -> tuple:
    """``(F, D)`` at ``U`` (P, d), or lists over a path (U of shape (L, P, d)); D None if not ``dual``.

    ``F`` is :func:`gatedrelu.objective`; ``D`` the dual value at the scaled residual or at the
    scaled refined dual point, the larger (squared loss), or at the scaled ``-grad f`` (logistic loss, whose dual value is a mean binary entropy;
    ``docs/math.md``), computed here in numpy float64 so that the certified lower bound does not
    depend on the code under test.
    """
    from ..group_lasso import objective

    U = np.asarray(U, dtype=np.float64)
    M = pb.patterns.masks
    if pb.is_path:
        pairs = [_certificate_one(pb, M, U[k], float(a), objective, dual)
                 for k, a in enumerate(pb.alphas)]
        return [p[0] for p in pairs], [p[1] for p in pairs]
    return _certificate_one(pb, M, U, float(pb.alpha), objective, dual)


def _certificate_one(pb, M, U, alpha, objective, dual):
    X, y = pb.X, pb.y
    n = X.shape[0]
    F = float(objective(X, y, M, U, alpha, loss=pb.loss))
    if not dual:
        return F, None
    if pb.loss == "logistic":
        return F, _logistic_dual(X, y, M, U, alpha)
    r = y - ((X @ U.T) * M).sum(axis=1)

    def dual_value(theta):  # at theta scaled into the feasible set
        G = (M * theta[:, None]).T @ X  # (P, d): X^T D_i theta
        gmax = float(np.sqrt((G**2).sum(axis=1)).max())
        theta = theta * (min(1.0, alpha / gmax) if gmax > 0 else 1.0)
        return float(theta @ y - 0.5 * n * (theta @ theta))

    D = dual_value(r / n)
    # the refined dual point (docs/math.md, "Cheap certificates"), written here again with the
    # explicit masked directions: the residual corrected so that the support's groups sit on
    # their constraints along u_i / ||u_i||; the better of the two lower bounds is kept
    norms = np.sqrt((U**2).sum(axis=1))
    S = np.flatnonzero(norms > 0)
    if S.size:
        V = U[S] / norms[S, None]
        B = M[:, S] * (X @ V.T)  # (n, |S|): D_i X v_i
        excess = alpha - B.T @ (r / n)
        c = np.linalg.lstsq(B.T @ B, excess, rcond=None)[0]
        D = max(D, dual_value(r / n + B @ c))
    return F, D


def _logistic_dual(X, y, M, U, alpha) -> float:
    """Dual value of the logistic program at ``t * theta0``, ``theta0 = (y / n) sigmoid(-y z)``
    (``-grad f``), ``t = min(1, alpha / max_i ||X^T D_i theta0||)``: the mean binary entropy
    ``(1/n) sum_k H(t sigmoid(-y_k z_k))`` (labels +1/-1, no weights)."""
    from scipy.special import entr, expit

    n = X.shape[0]
    z = ((X @ U.T) * M).sum(axis=1)
    p = expit(-y * z)
    G = (M * (y * p / n)[:, None]).T @ X
    gmax = float(np.sqrt((G**2).sum(axis=1)).max())
    a = p * (min(1.0, alpha / gmax) if gmax > 0 else 1.0)
    return float(np.sum(entr(a) + entr(1 - a)) / n)


def suboptimality(F, F_star):
    """Relative suboptimality; the largest over a path."""
    if isinstance(F, list):
        return max((f - s) / s for f, s in zip(F, F_star))
    return (F - F_star) / F_star


# ============================================================================ worker processes


class WorkerError(RuntimeError):
    pass


def thread_env(n_cores: int, base=None) -> dict:
    """Environment of a worker on ``n_cores`` cores: thread counts set, OpenBLAS tuning unset."""
    env = dict(os.environ if base is None else base)
    for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
        env.pop(k, None)
    k = str(n_cores)
    env.update(
        OMP_NUM_THREADS=k,
        OPENBLAS_NUM_THREADS=k,
        MKL_NUM_THREADS=k,
        NUMBA_NUM_THREADS=k,
        XLA_FLAGS=(
            f"--xla_cpu_multi_thread_eigen={'true' if n_cores > 1 else 'false'} "
            f"intra_op_parallelism_threads={k}"
        ),
    )
    return env


def _package_root() -> str:
    return os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class Worker:
    """A worker process (see :mod:`gatedrelu.bench.worker`) pinned to ``cores``."""

    def __init__(self, solver, npz, cores, workdir, *, python=None, log=None, timeout=600.0):
        self.solver = solver
        env = thread_env(len(cores))
        python = python or sys.executable
        if solver != "adelie":
            env["PYTHONPATH"] = os.pathsep.join(filter(None, [_package_root(), env.get("PYTHONPATH")]))
        else:
            env.pop("PYTHONPATH", None)
        cmd = [python, WORKER, "--problem", npz, "--solver", solver.split("@")[0], "--workdir", workdir,
               "--cores", ",".join(map(str, sorted(cores)))]
        self._log = open(log, "ab") if log else subprocess.DEVNULL
        self.proc = subprocess.Popen(
            cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._log, env=env,
            cwd=workdir,
        )
        self._buf = b""
        self._id = 0
        msg = self._recv(timeout)
        if msg is None or not msg.get("ready"):
            self.kill()
            why = "no answer" if msg is None else msg.get("error")
            raise WorkerError(f"{solver} worker failed to start: {why}")
        self.ready = msg

    def _recv(self, timeout):
        deadline = time.monotonic() + timeout
        fd = self.proc.stdout.fileno()
        with selectors.DefaultSelector() as sel:
            sel.register(fd, selectors.EVENT_READ)
            while b"\n" not in self._buf:
                left = deadline - time.monotonic()
                if left <= 0 or not sel.select(left):
                    return None
                chunk = os.read(fd, 1 << 16)
                if not chunk:
                    raise WorkerError(f"{self.solver} worker exited (code {self.proc.wait()})")
                self._buf += chunk
        line, self._buf = self._buf.split(b"\n", 1)
        return json.loads(line)

    def solve(self, tol, timeout):
        """``{"ok", "time", "n_iter", "U", ...}``, or None after killing a solve past ``timeout``.

        A worker that dies (a crash, or killed for memory) answers ``{"ok": False, "error"}``.
        """
        self._id += 1
        try:
            self.proc.stdin.write(
                (json.dumps({"cmd": "solve", "id": self._id, "tol": tol}) + "\n").encode()
            )
            self.proc.stdin.flush()
            msg = self._recv(timeout)
        except (WorkerError, OSError) as exc:
            self.kill()
            return {"ok": False, "error": f"worker died: {exc}"}
        if msg is None:
            self.kill()
            return None
        if msg.get("ok"):
            msg["U"] = np.load(msg["file"])
            os.remove(msg["file"])
        return msg

    def close(self):
        if self.proc.poll() is None:
            try:
                self.proc.stdin.write(b'{"cmd": "quit"}\n')
                self.proc.stdin.flush()
                self.proc.wait(30)
            except (OSError, subprocess.TimeoutExpired):
                self.kill()
        self._close_log()

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()  # our own child, by its handle
            self.proc.wait()
        self._close_log()

    def _close_log(self):
        if self._log is not subprocess.DEVNULL and not self._log.closed:
            self._log.close()


# ============================================================================ measurement


@dataclass
class Settings:
    cores: tuple = (1, 2)
    repeats: int = 5
    cap: float = 300.0
    ref_cap: float = 1800.0
    ref_tol: float = 1e-11
    repeat_budget: float = 120.0
    target: float = TARGET
    adelie_python: str = DEFAULT_ADELIE_PYTHON
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


def _family(solver: str) -> str:
    if solver.endswith("@default"):
        return "gatedrelu@default"
    return "gatedrelu" if solver.startswith("gatedrelu:") else solver


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
        from .. import group_lasso as gl

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
    from ..group_lasso import make_problem as problem_of
    from ..solvers import REGISTRY

    name = solver.split(":", 1)[1].split("@")[0]
    alpha = pb.alpha if pb.alpha is not None else float(pb.alphas[0])
    return REGISTRY[name].supports(problem_of(pb.X, pb.y, pb.patterns.masks, alpha, pb.loss))


def _ratios(rows, st: Settings):
    ours = rows[0]
    for r in rows[1:]:
        for k, c in r.get("by_cores", {}).items():
            o = ours.get("by_cores", {}).get(k, {})
            if o.get("status") != "ok":
                continue
            if c.get("status") == "ok":
                c["warm_ratio"] = c["warm_s"] / o["warm_s"]
                if c.get("cold_s") and o.get("cold_s"):
                    c["cold_ratio"] = c["cold_s"] / o["cold_s"]
            elif c.get("status") == "cap":
                c["warm_ratio_lower_bound"] = st.cap / o["warm_s"]


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


def _write(results, out_dir):
    os.makedirs(out_dir, exist_ok=True)
    name = results.get("name", "solver")
    with open(os.path.join(out_dir, f"{name}.json"), "w") as fh:
        json.dump(results, fh, indent=1, default=_jsonable)
    with open(os.path.join(out_dir, f"{name}.md"), "w") as fh:
        fh.write(markdown(results))
    try:
        plot(results, os.path.join(out_dir, f"{name}.png"))
    except ImportError:  # matplotlib is optional here: the JSON and markdown are the results
        pass


#: Solvers drawn in the figure: gatedrelu's default and the peers (label, marker, colour).
PLOT_SOLVERS = {
    DEFAULT_ROW: ("gatedrelu (auto, certified at the default tol)", "*", "C6"),
    "gatedrelu:auto": ("gatedrelu (auto, tol swept)", "o", "C0"),
    "pyscnn": ("pyscnn (R-FISTA)", "s", "C1"),
    "adelie": ("adelie (grpnet)", "D", "C2"),
    "skglm": ("skglm (GroupBCD)", "^", "C3"),
    "skglm-newton": ("skglm (GroupProxNewton)", ">", "C5"),
    "cvxpy": ("CVXPY + Clarabel", "v", "C4"),
}


def plot(results: dict, path: str) -> None:
    """``solver.png``: warm time to the target suboptimality per problem, against the peers.

    One panel per core count; a log time axis labelled with plain numbers (seconds). A solver
    killed at the cap is drawn at the cap with an open marker; one that failed or was not run
    is left out.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..experiments.compare import plain_log_axis

    cores = [str(k) for k in results["settings"]["cores"]]
    names = list(results["problems"])
    cap = float(results["settings"]["cap"])
    fig, axes = plt.subplots(1, len(cores), figsize=(6.5 * len(cores), 4.8), squeeze=False,
                             constrained_layout=True)
    x = np.arange(len(names))
    width = 0.8 / len(PLOT_SOLVERS)
    for ax, k in zip(axes[0], cores):
        for j, (solver, (label, marker, colour)) in enumerate(PLOT_SOLVERS.items()):
            xs, ts, capped = [], [], []
            for i, name in enumerate(names):
                row = next((r for r in results["problems"][name]["rows"]
                            if r["solver"] == solver), None)
                c = (row or {}).get("by_cores", {}).get(k, {})
                xi = x[i] + (j - (len(PLOT_SOLVERS) - 1) / 2) * width
                if c.get("status") == "ok" and c.get("warm_s"):
                    xs.append(xi)
                    ts.append(c["warm_s"])
                elif c.get("status") == "cap":
                    capped.append(xi)
            ax.plot(xs, ts, marker, color=colour, ms=7, ls="none", label=label)
            if capped:
                ax.plot(capped, [cap] * len(capped), marker, color=colour, ms=7, ls="none",
                        mfc="none")
        ax.set_yscale("log")
        plain_log_axis(ax)
        ax.set_xticks(x, names, rotation=20)
        ax.set_ylabel("warm time to (F - F*)/F* <= "
                      f"{results['target_suboptimality']:g} (seconds)")
        ax.set_title(f"{k} core{'s' if k != '1' else ''} (open marker: killed at the "
                     f"{cap:g} s cap)", fontsize=10)
        ax.grid(True, which="both", axis="y", alpha=0.3)
        ax.legend(fontsize=8, loc="best")
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_json(json_path: str, png_path: str) -> dict:
    """Draw the figure of an existing ``solver.json`` (nothing is run); returns the results.
    The docs' figure is made this way from the committed results."""
    with open(json_path) as fh:
        results = json.load(fh)
    plot(results, png_path)
    return results


def _jsonable(o):
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    return str(o)


def targets(results) -> list:
    """The speed-up goals (``results["goals"]``, default :data:`TARGETS`), met or missed, per
    core count (warm ratios)."""
    out = []
    for probs, peer, goal in results.get("goals", TARGETS):
        for name in probs:
            pr = results["problems"].get(name)
            if pr is None:
                continue
            row = next((r for r in pr["rows"] if r["solver"] == peer), None)
            ours = pr["rows"][0]
            for k in map(str, results["settings"]["cores"]):
                entry = {"problem": name, "peer": peer, "goal": goal, "cores": int(k)}
                c = (row or {}).get("by_cores", {}).get(k)
                o = ours.get("by_cores", {}).get(k, {})
                if row is None or c is None:
                    entry.update(status="n/a", why=(row or {}).get("status", "peer not run"))
                elif o.get("status") != "ok":
                    entry.update(status="n/a", why=f"gatedrelu auto: {o.get('status')}")
                elif "warm_ratio" in c:
                    entry.update(ratio=c["warm_ratio"],
                                 status="met" if c["warm_ratio"] >= goal else "missed")
                elif "warm_ratio_lower_bound" in c:
                    lb = c["warm_ratio_lower_bound"]
                    entry.update(ratio_lower_bound=lb, status="met (peer capped)" if lb >= goal
                                 else "undecided (peer capped below the goal)")
                elif str(c.get("status", "")).startswith("never reached"):
                    entry.update(status="met (peer never reached the target accuracy)")
                else:
                    entry.update(status="n/a", why=c.get("status"))
                out.append(entry)
    return out


def _machine() -> dict:
    info = {
        "platform": platform.platform(),
        "processor": platform.processor(),
        "python": platform.python_version(),
        "cpu_count": os.cpu_count(),
        "affinity_of_parent": sorted(os.sched_getaffinity(0)),
        "openblas_env_of_parent": {k: v for k, v in os.environ.items() if k.startswith("OPENBLAS")},
    }
    try:
        with open("/proc/cpuinfo") as fh:
            info["cpu_model"] = next(
                (ln.split(":", 1)[1].strip() for ln in fh if ln.startswith("model name")), None
            )
    except OSError:  # pragma: no cover
        pass
    return info


def _versions() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for pkg in ("gatedrelu", "jax", "jaxlib", "numpy", "scipy", "scikit-learn", "cvxpy",
                "clarabel", "pyscnn", "linalg-backends", "torch", "skglm", "numba",
                "threadpoolctl"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            out[pkg] = None
    return out


def _peer_environments(results) -> dict:
    """Per (solver family, cores): interpreter, versions, thread variables and BLAS seen."""
    seen = {}
    for pr in results["problems"].values():
        for row in pr["rows"]:
            for k, c in row.get("by_cores", {}).items():
                env = c.get("environment")
                if not env:
                    continue
                key = f"{_family(row['solver'])} ({k} core{'s' if k != '1' else ''})"
                seen.setdefault(key, {
                    "executable": env.get("executable"),
                    "python": env.get("python"),
                    "affinity": env.get("affinity"),
                    "env": env.get("env"),
                    "blas": env.get("blas"),
                    "versions": c.get("versions"),
                })
    return seen


# ============================================================================ report


def _fmt(v, spec=".3g"):
    return "" if v is None else format(v, spec)


def _tol(v):
    return "None" if v is None else f"{v:g}"


def markdown(results: dict) -> str:
    cores = [str(k) for k in results["settings"]["cores"]]
    st = results["settings"]
    lines = [
        f"# {results.get('title', 'Solver benchmark')}",
        "",
        f"Time to reach relative suboptimality (F - F\\*) / F\\* <= {results['target_suboptimality']:g} "
        "(for a path: the largest over the path) from (X, y, gates), each solver's own tolerance "
        "swept loose to tight and the loosest that reaches the target kept. Every solver runs in "
        "its own process pinned to the cores shown, thread variables set to the core count. "
        "Warm = median of repeated calls in one process; cold = first call in a fresh process "
        "(compilation included, imports excluded). The first row, "
        f"`{DEFAULT_ROW}`, is what a user gets: `solve_group_lasso` at its default tolerance "
        f"({DEFAULT_TOL:g}, a certified relative duality gap), no sweep, no hindsight; "
        "`gatedrelu:auto` below it is swept like the peers. Ratio = peer time (its best "
        f"tolerance, chosen in hindsight) / `{DEFAULT_ROW}` time "
        f"(> 1: gatedrelu faster). Single solves are killed after {st['cap']:g} s."
        + ("" if st.get("cold", True) else " Cold runs were skipped (--no-cold)."),
        "",
    ]
    tg = results.get("targets") or []
    if tg:
        lines += ["## Targets (warm ratios)", "", "| problem | peer | cores | goal | ratio | status |",
                  "|---|---|---|---|---|---|"]
        for t in tg:
            ratio = (_fmt(t.get("ratio"), ".1f") if "ratio" in t else
                     (">= " + _fmt(t["ratio_lower_bound"], ".1f") if "ratio_lower_bound" in t else ""))
            why = f" ({t['why']})" if t.get("why") else ""
            lines.append(f"| {t['problem']} | {t['peer']} | {t['cores']} | >= {t['goal']:g}x | "
                         f"{ratio} | {t['status']}{why} |")
        lines.append("")
    head = "| solver | tolerance | iterations | suboptimality |"
    sep = "|---|---|---|---|"
    for k in cores:
        head += f" {k}c cold (s) | {k}c warm (s) |"
        sep += "---|---|"
    for k in cores:
        head += f" {k}c warm ratio | {k}c cold ratio |"
        sep += "---|---|"
    for name, pr in results["problems"].items():
        ref = pr["reference"]
        if pr["alphas"] is not None:
            what = (f"path of {len(pr['alphas'])} alphas from alpha_max = {pr['alpha_max']:.4g} "
                    f"to {pr['alphas'][-1]:.4g}")
        else:
            sp = pr["spec"]
            rel = f"{sp['alpha_ratio']:g} alpha_max = " if "alpha_ratio" in sp else ""
            what = f"alpha = {rel}{pr['alpha']:.4g}"
        if pr["spec"].get("loss", "squared") != "squared":
            what += f", {pr['spec']['loss']} loss"
        Fs = ref["F_star"]
        Fs_txt = (f"F* from {min(Fs):.6g} to {max(Fs):.6g}" if isinstance(Fs, list)
                  else f"F* = {Fs:.12g}")
        lines += [
            f"## {name}: n = {pr['n']}, d = {pr['d']}, {pr['spec']['n_gates']} gates "
            f"({pr['n_patterns']} patterns), {what}",
            "",
            f"Reference: {Fs_txt}, certified relative gap {ref['certified_rel_gap']:.1e} "
            f"(from {', '.join(sorted({r['solver'] for r in ref['runs'] if r['status'] == 'ok'}))})."
            + (f" **Warning: {ref['warning']}.**" if ref.get("warning") else ""),
            "",
            head,
            sep,
        ]
        for r in pr["rows"]:
            if not r.get("by_cores"):
                lines.append(f"| {r['solver']} | {r.get('status', '')} |" + " |" * (2 + 4 * len(cores)))
                continue
            cs = [r["by_cores"].get(k, {}) for k in cores]
            tols = " / ".join(_tol(c["tol"]) if "tol" in c else "-" for c in cs)
            its = " / ".join(str(c["n_iter"]) if c.get("status") == "ok" else "-" for c in cs)
            subs = " / ".join(_fmt(c.get("suboptimality"), ".1e") or "-" for c in cs)
            cells = []
            for c in cs:
                if c.get("status") == "ok":
                    cells += [_fmt(c.get("cold_s"), ".3f"), _fmt(c.get("warm_s"), ".4f")]
                elif c.get("status") == "cap":
                    cells += ["", f"> {st['cap']:g} (cap at tol {_tol(c.get('capped_tol'))})"]
                else:
                    cells += ["", str(c.get("status", ""))]
            for c in cs:
                if "warm_ratio" in c:
                    cells += [_fmt(c["warm_ratio"], ".1f"), _fmt(c.get("cold_ratio"), ".1f")]
                elif "warm_ratio_lower_bound" in c:
                    cells += [">= " + _fmt(c["warm_ratio_lower_bound"], ".1f"), ""]
                elif r is pr["rows"][0] and c.get("status") == "ok":
                    cells += ["1.0", "1.0"]
                else:
                    cells += ["", ""]
            lines.append(f"| {r['solver']} | {tols} | {its} | {subs} | " + " | ".join(cells) + " |")
        lines.append("")
    lines += ["## Environment", "",
              f"Machine: {results['machine'].get('cpu_model')}, {results['machine']['platform']}, "
              f"{results['machine']['cpu_count']} CPUs, Python {results['machine']['python']}.",
              "",
              "Versions (gatedrelu's environment): "
              + ", ".join(f"{k} {v}" for k, v in results["versions"].items() if v) + ".",
              "",
              f"gatedrelu solvers: {', '.join(results.get('gatedrelu_solvers', []))}.",
              ""]
    for k, env in (results.get("thread_env") or {}).items():
        lines.append(f"Thread variables on {k} core(s): "
                     + ", ".join(f"{a}={b}" for a, b in env.items()) +
                     "; OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset.")
    lines.append("")
    pe = results.get("peer_environments") or {}
    if pe:
        lines += ["| worker | interpreter | affinity | BLAS (threadpoolctl) | versions |",
                  "|---|---|---|---|---|"]
        for key, e in pe.items():
            blas = "; ".join(f"{b.get('prefix')} {b.get('version') or ''} "
                             f"{b.get('architecture') or ''} x{b.get('num_threads')}"
                             for b in e.get("blas") or [])
            v = e.get("versions") or {}
            same = all(results["versions"].get(a) == b for a, b in v.items())
            vers = "as above" if same else ", ".join(f"{a} {b}" for a, b in v.items() if b)
            lines.append(f"| {key} | {e.get('executable')} (Python {e.get('python')}) | "
                         f"{e.get('affinity')} | {blas} | {vers} |")
        lines.append("")
    return "\n".join(lines)


# ============================================================================ command line


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
                        help="python of adelie's own venv (default $GATEDRELU_ADELIE_PYTHON or "
                        "/work/venvs/adelie/bin/python)")
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
