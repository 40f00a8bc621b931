"""Datafits (losses) of the convex program: every module here that defines ``DATAFIT`` is one.

See :mod:`gatedrelu.problem.datafits._base` for what a datafit defines. ``DATAFITS`` maps the
``loss=`` names to the classes.
"""

from __future__ import annotations

from ..._registry import discover
from ._base import Datafit
from .quadratic import Quadratic

__all__ = ["DATAFITS", "Datafit", "Quadratic", "get_datafit"]

#: name -> datafit class
DATAFITS = discover(__name__, __path__, "DATAFIT", Datafit)


def get_datafit(loss) -> Datafit:
    """A datafit instance from a registered name or an instance."""
    if isinstance(loss, Datafit):
        return loss
    if not isinstance(loss, str) or loss not in DATAFITS:
        raise ValueError(f"Unknown loss {loss!r}; expected one of {', '.join(map(repr, DATAFITS))}.")
    return DATAFITS[loss]()
