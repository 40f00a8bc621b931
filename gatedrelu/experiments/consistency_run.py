"""Running the consistency experiment: the planted teacher, the two fits and one (n, seed) task.

The set-up (:class:`Config`, the grids, the file names) and :func:`run_case`, one CSV row per
method (:mod:`gatedrelu.experiments.consistency`)."""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass

import numpy as np

from .._validation import check_int, check_nonnegative, check_positive

N_VALUES = (100, 200, 400, 800, 1600, 3200, 6400)
N_SEEDS = 8
QUICK_N_VALUES = (100, 200, 400, 800)
QUICK_SEEDS = 2
METHODS = ("group_lasso", "ntk")
CSV_NAME, PNG_NAME, MD_NAME = "consistency.csv", "consistency.png", "consistency.md"

#: Columns of ``consistency.csv``; the task key is (n, seed) plus the set-up parameters.
COLUMNS = [
    "n",
    "seed",
    "method",
    "d",
    "s",
    "sigma",
    "n_gates",
    "alpha_constant",
    "n_test",
    "threshold",
    "alpha",
    "P",
    "n_true_groups",
    "true_norm_sum",
    "prediction_error",
    "out_of_sample_error",
    "support_precision",
    "support_recall",
    "exact_support",
    "n_selected",
    "n_nonzero",
    "objective",
    "fit_seconds",
]
KEY_COLUMNS = ["n", "seed", "d", "s", "sigma", "n_gates", "alpha_constant", "n_test", "threshold"]


@dataclass(frozen=True)
class Config:
    """Set-up of the experiment (everything but ``n`` and the seed)."""

    d: int = 5  # input features; the solver sees d + 1 with the bias column
    s: int = 4  # teacher neurons (active groups)
    sigma: float = 0.5  # noise standard deviation
    n_gates: int = 200  # sampled gates m (the dictionary)
    alpha_constant: float = 0.5  # c in alpha = c sigma sqrt((d + 1 + log P) / n)
    n_test: int = 2000  # fresh inputs for the out-of-sample error
    threshold: float = 0.1  # support: groups with ||u_i|| > threshold
    tol: float = 1e-6  # relative duality gap of the group-lasso solve

    def __post_init__(self):
        check_int(self.d, "d")
        check_int(self.s, "s")
        check_nonnegative(self.sigma, "sigma")
        check_int(self.n_gates, "n_gates")
        if self.s > self.n_gates:
            raise ValueError(
                f"s={self.s} teacher neurons need at least as many gates; got {self.n_gates}."
            )
        check_positive(self.alpha_constant, "alpha_constant")
        check_int(self.n_test, "n_test")
        check_nonnegative(self.threshold, "threshold")
        check_positive(self.tol, "tol")


@dataclass(frozen=True)
class PlantedCase:
    """One planted problem at sample size ``n`` (arrays include the bias column, ``d' = d + 1``)."""

    X: np.ndarray  # (n, d') training inputs
    y: np.ndarray  # (n,) noisy targets
    f_true: np.ndarray  # (n,) noiseless targets A(U_true)
    X_test: np.ndarray  # (n_test, d') fresh inputs
    f_test: np.ndarray  # (n_test,) noiseless teacher outputs there
    patterns: object  # ActivationPatterns of all sampled gates on X
    coef_true: np.ndarray  # (P, d') U_true
    support: np.ndarray  # (P,) bool, groups with u_true_i != 0
    teacher_gates: np.ndarray  # (s,) int, indices of the teacher's gates among the sampled ones
    teacher: object  # PlantedTeacher, acts on inputs without the bias column
    alpha: float


def _with_bias(X: np.ndarray) -> np.ndarray:
    return np.hstack([X, np.ones((X.shape[0], 1))])


def make_case(
    n: int, seed: int, config: Config = Config(), *, alpha: float | None = None
) -> PlantedCase:
    """The planted problem of ``(n, seed)``; ``alpha`` overrides the theory-scaled default.

    The gates and the teacher depend only on ``seed``, the training data on ``(seed, n)`` and the
    test inputs on ``seed``.
    """
    from ..datasets import make_planted
    from ..patterns import activation_patterns, sample_gates

    n = check_int(n, "n", minimum=2)
    seed = check_int(seed, "seed", minimum=0)
    d1 = config.d + 1
    rng = np.random.default_rng([seed, 0])
    gates = sample_gates(d1, config.n_gates, random_state=rng)  # (d', m)
    chosen = np.sort(rng.choice(config.n_gates, config.s, replace=False))
    # make_planted's one sample is discarded: only its teacher (W, v, the given gates) is used.
    _, _, teacher = make_planted(
        1,
        config.d,
        n_hidden=config.s,
        noise=0.0,
        activation="gated",
        fit_intercept=True,
        gates=gates[:, chosen],
        random_state=rng,
    )
    data = np.random.default_rng([seed, 1, n])
    X0 = data.standard_normal((n, config.d))
    f_true = teacher.predict(X0)
    y = f_true + config.sigma * data.standard_normal(n)
    Xt0 = np.random.default_rng([seed, 2]).standard_normal((config.n_test, config.d))

    X = _with_bias(X0)
    patterns = activation_patterns(X, gates)
    P = patterns.n_patterns
    coef_true = np.zeros((P, d1))
    for j, g in enumerate(chosen):
        i = patterns.gate_pattern[g]
        if i >= 0:  # a gate inactive on every training point contributes nothing
            coef_true[i] += teacher.W[:, j] * teacher.v[j]
    support = np.linalg.norm(coef_true, axis=1) > 0
    if alpha is None:
        if config.sigma == 0:
            raise ValueError("sigma = 0 gives alpha = 0: pass alpha explicitly.")
        alpha = config.alpha_constant * config.sigma * math.sqrt((d1 + math.log(P)) / n)
    return PlantedCase(
        X=X,
        y=y,
        f_true=f_true,
        X_test=_with_bias(Xt0),
        f_test=teacher.predict(Xt0),
        patterns=patterns,
        coef_true=coef_true,
        support=support,
        teacher_gates=chosen,
        teacher=teacher,
        alpha=check_positive(alpha, "alpha"),
    )


def masked_predict(X: np.ndarray, masks: np.ndarray, coef: np.ndarray) -> np.ndarray:
    """``sum_i 1[mask_i] (X u_i)``: (n, d'), (n, P) bool, (P, d') -> (n,)."""
    return np.einsum("np,np->n", masks, X @ coef.T)


def fit_group_lasso(case: PlantedCase, tol: float = 1e-6):
    """Group lasso fit: (coef (P, d'), fitted (n,), test predictions (n_test,), objective)."""
    from ..group_lasso import solve_group_lasso

    p = case.patterns
    res = solve_group_lasso(case.X, case.y, p, case.alpha, tol=tol, max_iter=100_000)
    fitted = masked_predict(case.X, p.masks, res.coef)
    test = masked_predict(case.X_test, p.masks_at(case.X_test), res.coef)
    return res.coef, fitted, test, res.objective


#: The NTK's own alpha: multiples 2^k of the theory-scaled alpha of the group lasso, chosen by
#: exact leave-one-out error of the kernel ridge fit on the training data; the grid widens by
#: one factor of 2 while the choice sits on an edge (at most ``NTK_MAX_WIDEN`` times).
NTK_ALPHA_FACTORS = tuple(2.0**k for k in range(-8, 5))
NTK_MAX_WIDEN = 8


def _ntk_loo(lam, V, y, t, nalpha) -> float:
    """Leave-one-out mean squared error of kernel ridge with ``t K`` (``K = V diag(lam) V^T``)
    and ridge ``n alpha``: residuals ``(y_i - f_i) / (1 - H_ii)``, ``H = t K (t K + n alpha
    I)^{-1}``."""
    h = t * lam / (t * lam + nalpha)
    fitted = V @ (h * (V.T @ y))
    leverage = (V * V) @ h
    return float(np.mean(((y - fitted) / (1.0 - leverage)) ** 2))


def tune_ntk_alpha(lam, V, y, base_alpha: float, mu_mass: float = 1.0):
    """The NTK's alpha by exact leave-one-out over ``base_alpha * NTK_ALPHA_FACTORS`` (widened
    at an edge); returns ``(alpha, scale t)``, the scale being ``argmin_t J(t mu)`` at it."""
    from ..mkl import scale_from_spectrum

    n = V.shape[0]
    lam = np.maximum(lam, 0.0)
    factors = list(NTK_ALPHA_FACTORS)
    scores = {}
    for _ in range(NTK_MAX_WIDEN + 1):
        for f in factors:
            if f not in scores:
                t = scale_from_spectrum(lam, V, y, base_alpha * f, mass=mu_mass)
                scores[f] = (_ntk_loo(lam, V, y, t, n * base_alpha * f), t)
        best = min(factors, key=lambda f: scores[f][0])
        if best == factors[0]:
            factors.insert(0, factors[0] / 2)
        elif best == factors[-1]:
            factors.append(factors[-1] * 2)
        else:
            break
    return base_alpha * best, scores[best][1]


def fit_ntk(case: PlantedCase, alpha: float | None = None):
    """NTK kernel ridge at the J-optimal scale, with its own alpha.

    ``alpha`` None: chosen by leave-one-out on the training data (:func:`tune_ntk_alpha`), not
    the group lasso's ``case.alpha``. Returns ``(fitted (n,), test predictions (n_test,),
    J(t mu_NTK) at case.alpha (the training-side comparison with the group lasso's F on the
    same problem), the alpha used)``.
    """
    from ..kernels import finite_ntk_kernel, masking_kernel
    from ..mkl import kernel_shape, scale_from_spectrum

    p, n = case.patterns, case.X.shape[0]
    mu = kernel_shape(p, "ntk")  # ntk_weights / sum(ntk_weights)
    K = masking_kernel(case.X, p, mu)
    lam, V = np.linalg.eigh(0.5 * (K + K.T))
    lam = np.maximum(lam, 0.0)
    # the training objective on the group lasso's problem: J(t* mu) at case.alpha
    t0 = scale_from_spectrum(lam, V, case.y, case.alpha, mass=float(mu.sum()))
    z = V.T @ case.y
    ridge0 = t0 * lam + n * case.alpha
    J = 0.5 * case.alpha * (float(np.sum(z**2 / ridge0)) + t0 * float(mu.sum()))
    if alpha is None:
        alpha, t = tune_ntk_alpha(lam, V, case.y, case.alpha, float(mu.sum()))
    else:
        t = scale_from_spectrum(lam, V, case.y, check_positive(alpha, "alpha"),
                                mass=float(mu.sum()))
    a = V @ (z / (t * lam + n * alpha))  # (t K + n alpha I)^{-1} y
    fitted = t * (K @ a)
    cross = finite_ntk_kernel(case.X, p, case.X_test) * (t / float(np.sum(p.ntk_weights)))
    return fitted, cross @ a, J, float(alpha)


def _support_metrics(coef, case: PlantedCase, threshold: float) -> dict:
    norms = np.linalg.norm(coef, axis=1)
    selected = norms > threshold
    hits = int(np.sum(selected & case.support))
    return dict(
        support_precision=hits / selected.sum() if selected.any() else float("nan"),
        support_recall=hits / case.support.sum(),
        exact_support=int(np.array_equal(selected, case.support)),
        n_selected=int(selected.sum()),
        n_nonzero=int(np.count_nonzero(norms)),
    )


def run_case(n: int, seed: int, config: Config = Config()) -> list[dict]:
    """Rows of ``consistency.csv`` for one (n, seed): one per method."""
    case = make_case(n, seed, config)
    base = dict(
        n=n,
        seed=seed,
        d=config.d,
        s=config.s,
        sigma=config.sigma,
        n_gates=config.n_gates,
        alpha_constant=config.alpha_constant,
        n_test=config.n_test,
        threshold=config.threshold,
        alpha=case.alpha,
        P=case.patterns.n_patterns,
        n_true_groups=int(case.support.sum()),
        true_norm_sum=float(np.linalg.norm(case.coef_true, axis=1).sum()),
    )
    nan = float("nan")
    rows = []
    for method in METHODS:
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            if method == "group_lasso":
                coef, fitted, test, obj = fit_group_lasso(case, config.tol)
                support = _support_metrics(coef, case, config.threshold)
            else:
                fitted, test, obj, ntk_alpha = fit_ntk(case)
                support = dict.fromkeys(
                    (
                        "support_precision",
                        "support_recall",
                        "exact_support",
                        "n_selected",
                        "n_nonzero",
                    ),
                    nan,
                )
        rows.append(
            dict(
                base,
                **({"alpha": ntk_alpha} if method == "ntk" else {}),
                method=method,
                prediction_error=float(np.mean((fitted - case.f_true) ** 2)),
                out_of_sample_error=float(np.mean((test - case.f_test) ** 2)),
                objective=obj,
                fit_seconds=time.perf_counter() - t0,
                **support,
            )
        )
    return rows
