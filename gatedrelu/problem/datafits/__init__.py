"""Datafits (losses) of the convex program: every module here that defines ``DATAFIT`` is one.

See :mod:`gatedrelu.problem.datafits._base` for what a datafit defines. ``DATAFITS`` maps the
``loss=`` names to the classes.
"""

from __future__ import annotations

from ..._registry import discover, instance
from ._base import Datafit
from .centred import CentredQuadratic
from .logistic import Logistic
from .multinomial import Multinomial
from .quadratic import Quadratic

__all__ = ["CentredQuadratic", "DATAFITS", "Datafit", "Logistic", "Multinomial", "Quadratic", "get_datafit"]

#: name -> datafit class
DATAFITS = discover(__name__, __path__, "DATAFIT", Datafit)


def get_datafit(loss) -> Datafit:
    """A datafit instance from a registered name or an instance."""
    return instance(loss, DATAFITS, Datafit, "loss")
