"""Figure 1: IRLS from the exact infinite-width NTK to the optimal kernel on 1-D data.

:func:`figure1_data` computes it, :func:`plot_figure1` draws it with matplotlib's object-oriented
API (:class:`matplotlib.figure.Figure`; no pyplot, no backend switch) and saves it
(``docs/experiments/irls.md``). Both are re-exported by :mod:`gatedrelu.mkl`.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from .._validation import check_int, check_positive, check_random_state
from ..group_lasso import solve_group_lasso
from ..kernels import enumerate_patterns
from ..mkl import MKLResult, irls, mkl_objective, scale_shape

__all__ = ["Figure1Data", "figure1_data", "plot_figure1"]


@dataclass(frozen=True)
class Figure1Data:
    """Data of Figure 1: IRLS from the exact NTK weights to the optimal kernel, 1-D data.

    Attributes
    ----------
    x : ndarray of shape (n,)
        The 1-D inputs; the solver sees ``X = [x, 1]``.
    y : ndarray of shape (n,)
    alpha : float
    patterns : ActivationPatterns
        Every pattern of the arrangement (:func:`gatedrelu.enumerate_patterns`), with the exact
        infinite-width NTK weights.
    optimum : float
        ``F*`` from CVXPY/Clarabel (``solve_group_lasso(solver="cvxpy")``).
    ntk_start : float
        ``J(t* mu_NTK)``, the best the (infinite-width) NTK can do on the training objective.
    ntk_scale : float
        ``t*``.
    plain : MKLResult
        Textbook IRLS (no acceleration).
    accelerated : MKLResult
        IRLS with the Newton and Anderson candidates (the default of :func:`irls`).
    """

    x: np.ndarray
    y: np.ndarray
    alpha: float
    patterns: object
    optimum: float
    ntk_start: float
    ntk_scale: float
    plain: MKLResult
    accelerated: MKLResult


def figure1_data(
    n: int = 5,
    alpha: float = 0.01,
    *,
    random_state=0,
    tol: float = 1e-10,
    plain_max_iter: int = 300,
) -> Figure1Data:
    """Compute Figure 1: IRLS from the NTK to the optimal kernel on 1-D data.

    ``n`` inputs ``x ~ N(0, 1)`` (sorted) with a bias column and targets ``y ~ N(0, 1)``; every
    activation pattern is enumerated, so the start ``eta_0 = t* mu_NTK`` is the exact
    infinite-width NTK with its optimal scale and the optimum is the global optimum of the
    gated ReLU network over all gates.

    Parameters
    ----------
    n : int, default 5
    alpha : float, default 0.01
    random_state : None, int or numpy Generator, default 0
    tol : float, default 1e-10
        Relative gap at which the accelerated IRLS stops.
    plain_max_iter : int, default 300
        Iterations of textbook IRLS shown (it converges sublinearly; no warning is given).

    Returns
    -------
    Figure1Data
    """
    n = check_int(n, "n", minimum=2)
    alpha = check_positive(alpha, "alpha")
    rng = check_random_state(random_state)
    x = np.sort(rng.standard_normal(n))
    y = rng.standard_normal(n)
    X = np.column_stack([x, np.ones(n)])
    patterns = enumerate_patterns(X)
    optimum = solve_group_lasso(X, y, patterns, alpha, solver="cvxpy").objective
    weights, t = scale_shape(X, y, patterns, alpha, "ntk")
    ntk_start = mkl_objective(X, y, patterns, weights, alpha)
    accelerated = irls(X, y, patterns, alpha, init="ntk", tol=tol)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        plain = irls(
            X,
            y,
            patterns,
            alpha,
            init="ntk",
            tol=tol,
            max_iter=plain_max_iter,
            anderson=0,
            newton=False,
        )
    return Figure1Data(x, y, alpha, patterns, optimum, ntk_start, t, plain, accelerated)


def plot_figure1(data: Figure1Data | None = None, path="docs/figures/figure1_irls.png"):
    """Plot Figure 1 and save it to ``path`` (PNG).

    Left: the MKL objective ``J(eta_k)`` of the IRLS iterates, from the NTK start to the CVXPY
    optimum. Right: relative suboptimality ``(J(eta_k) - F*) / F*`` on a log scale, for
    textbook and accelerated IRLS, with ``F*`` the lowest of the CVXPY optimum and the final
    IRLS objectives (Clarabel is accurate to about 1e-9 relative).

    Parameters
    ----------
    data : Figure1Data, optional
        Default: ``figure1_data()``.
    path : str or path-like, default "docs/figures/figure1_irls.png"

    Returns
    -------
    matplotlib.figure.Figure
        Drawn without pyplot (nothing is registered with a GUI backend).
    """
    from matplotlib.figure import Figure

    data = figure1_data() if data is None else data
    # Clarabel is accurate to about 1e-9 relative, IRLS to its tol: measure against the best.
    F_star = min(data.optimum, data.accelerated.objective, data.plain.objective)
    fig = Figure(figsize=(10, 3.8))
    ax0, ax1 = fig.subplots(1, 2)
    runs = (("IRLS", data.plain, "tab:blue"), ("accelerated IRLS", data.accelerated, "tab:orange"))
    for label, res, color in runs:
        J = res.kernel_objective_history
        ax0.plot(np.arange(J.size), J, color=color, lw=1.5, label=label)
        sub = np.maximum((J - F_star) / F_star, 1e-16)
        ax1.semilogy(np.arange(J.size), sub, color=color, lw=1.5, label=label)
    ax0.axhline(F_star, color="k", ls="--", lw=1, label="optimum (CVXPY)")
    ax0.plot(
        [0], [data.ntk_start], "o", color="tab:red", ms=7, label="NTK, optimal scale", zorder=5
    )
    ax0.set_xscale("symlog", linthresh=1)
    ax0.set_xlabel("iteration")
    ax0.set_ylabel(r"MKL objective $J(\eta_k)$")
    ax0.set_title(f"Kernel path from the NTK (n = {data.x.size}, 1-D + bias)")
    ax0.legend(frameon=False, fontsize=8)
    ax1.axhline(1e-6, color="gray", ls=":", lw=1)
    ax1.plot([0], [(data.ntk_start - F_star) / F_star], "o", color="tab:red", ms=7, zorder=5)
    ax1.set_xlabel("iteration")
    ax1.set_ylabel(r"$(J(\eta_k) - F^\star) / F^\star$ (best $F^\star$ found)")
    ax1.set_title("Relative suboptimality")
    ax1.legend(frameon=False, fontsize=8)
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.fspath(path)) or ".", exist_ok=True)
    fig.savefig(path, dpi=150)
    return fig
