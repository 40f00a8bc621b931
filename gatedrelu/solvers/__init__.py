"""Solver registry: every module of this package that defines ``SOLVER`` is a solver.

Adding a solver is adding one file here with a module-level ``SOLVER = Solver(...)``
(see :mod:`gatedrelu.solvers._base`); ``SOLVERS`` (the accepted ``solver=`` names, ``"auto"``
first) and the generic solver tests pick it up.
"""

from __future__ import annotations

from .._registry import discover
from ._base import Solver, SolverOutput

__all__ = ["REGISTRY", "SOLVERS", "Solver", "SolverOutput", "get_solver"]


#: name -> Solver
REGISTRY = discover(__name__, __path__, "SOLVER", Solver)
#: The accepted values of ``solver=``: "auto" first, then the rest in alphabetical order.
SOLVERS = ("auto",) + tuple(sorted(n for n in REGISTRY if n != "auto"))


def get_solver(name: str) -> Solver:
    return REGISTRY[name]
