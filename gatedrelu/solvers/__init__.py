"""Solver registry: every module of this package that defines ``SOLVER`` is a solver.

Adding a solver is adding one file here with a module-level ``SOLVER = Solver(...)``
(see :mod:`gatedrelu.solvers._base`); ``SOLVERS`` (the accepted ``solver=`` names, ``"auto"``
first) and the generic solver tests pick it up.
"""

from __future__ import annotations

import importlib
import pkgutil

from ._base import Solver, SolverOutput

__all__ = ["REGISTRY", "SOLVERS", "Solver", "SolverOutput", "get_solver"]


def _discover() -> dict:
    found = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        solver = getattr(module, "SOLVER", None)
        if isinstance(solver, Solver):
            found[solver.name] = solver
    return found


#: name -> Solver
REGISTRY = _discover()
#: The accepted values of ``solver=``: "auto" first, then the rest in alphabetical order.
SOLVERS = ("auto",) + tuple(sorted(n for n in REGISTRY if n != "auto"))


def get_solver(name: str) -> Solver:
    return REGISTRY[name]
