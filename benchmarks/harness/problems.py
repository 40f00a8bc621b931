"""The benchmark problems, the one call into gatedrelu, and the independent certificate."""

from __future__ import annotations

import os
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

    from gatedrelu.group_lasso import solve_group_lasso

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
#: The python of adelie's own virtual environment (adelie pins numpy < 2): ``--adelie-python``,
#: else ``$GATEDRELU_ADELIE_PYTHON``; None (unset) skips adelie.
DEFAULT_ADELIE_PYTHON = os.environ.get("GATEDRELU_ADELIE_PYTHON") or None
WORKER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "worker.py")


# ============================================================================ the gatedrelu call


def gatedrelu_call(X, y, patterns, alpha, *, solver="auto", tol, max_iter=None, loss="squared"):
    """THE one call into gatedrelu's solvers: one alpha (float) or a path (1-D array)."""
    from gatedrelu import group_lasso as gl

    fn = gl.group_lasso_path if np.ndim(alpha) > 0 else gl.solve_group_lasso
    kw = {"tol": tol, "solver": solver, "loss": loss}
    if max_iter is not None:
        kw["max_iter"] = max_iter
    return fn(X, y, patterns, alpha, **kw)


def gatedrelu_solvers() -> tuple:
    """gatedrelu's solver names, "auto" first (``group_lasso.SOLVERS``)."""
    from gatedrelu.group_lasso import SOLVERS

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
            from gatedrelu.patterns import activation_patterns

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
    from gatedrelu.group_lasso import alpha_max
    from gatedrelu.patterns import activation_patterns, sample_gates

    if name not in PROBLEMS:
        raise ValueError(f"Unknown problem {name!r}; expected one of {', '.join(PROBLEMS)}.")
    spec = dict(PROBLEMS[name])
    loss = spec.get("loss", "squared")
    if spec["data"] == "planted":
        from gatedrelu.datasets import make_planted

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
    from gatedrelu.group_lasso import objective

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

def _family(solver: str) -> str:
    if solver.endswith("@default"):
        return "gatedrelu@default"
    return "gatedrelu" if solver.startswith("gatedrelu:") else solver
