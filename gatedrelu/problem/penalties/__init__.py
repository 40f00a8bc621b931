"""Penalties of the convex program: every module here that defines ``PENALTY`` is one.

See :mod:`gatedrelu.problem.penalties._base` for what a penalty defines. ``PENALTIES`` maps the
``penalty=`` names to the classes.
"""

from __future__ import annotations

from ..._registry import discover, instance
from ._base import Penalty
from .group_l2 import GroupL2

__all__ = ["PENALTIES", "Penalty", "GroupL2", "get_penalty"]

#: name -> penalty class
PENALTIES = discover(__name__, __path__, "PENALTY", Penalty)


def get_penalty(penalty) -> Penalty:
    """A penalty instance from a registered name or an instance."""
    return instance(penalty, PENALTIES, Penalty, "penalty")
