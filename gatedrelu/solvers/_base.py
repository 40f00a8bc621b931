"""What a solver is: a name, a ``solve`` function, a ``supports`` test and its defaults."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

__all__ = ["Solver", "SolverOutput"]


@dataclass
class SolverOutput:
    """What ``solve`` returns; the public layer certifies ``coef`` with the full-problem gap.

    Attributes
    ----------
    coef : ndarray of shape (P, d) or (P, d, c)
    n_iter : int
        Iterations (inner iterations for working-set solvers).
    status : str
        "converged", "max_iter", "stalled", "not finite", ... in the solver's words.
    lipschitz : float or None
        Final step-size constant (first-order solvers), reusable as a warm start.
    info : dict
        Solver-specific diagnostics (outer iterations, working-set sizes, screened groups...).
    """

    coef: np.ndarray
    n_iter: int
    status: str
    lipschitz: float | None = None
    info: dict = field(default_factory=dict)


def _any_problem(problem) -> None:
    return None


@dataclass(frozen=True)
class Solver:
    """A registered solver.

    ``solve(problem, U0, tol, max_iter, **options) -> SolverOutput`` where ``options`` are among
    ``options``; ``supports(problem)`` returns None or the reason the solver does not apply.
    """

    name: str
    solve: Callable
    default_max_iter: int
    summary: str
    #: None, or the reason the solver does not apply to a problem (default: it applies to all).
    supports: Callable = _any_problem
    options: tuple = ("verbose",)
    #: Whether a warm start ``U0`` is used.
    warm_start: bool = True
