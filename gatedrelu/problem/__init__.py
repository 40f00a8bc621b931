"""The problem layer: a datafit times a penalty, and the certificate that every solver reports.

A solver sees a :class:`Problem` (data, masks, ``alpha`` and the datafit and penalty objects) and
asks the datafit and the penalty for the few quantities it needs; the objective, the dual point
and the duality gap are computed in one place, :mod:`gatedrelu.problem.certificate`. The math is
in ``docs/math.md``.
"""

from .certificate import Problem, alpha_max_of, certify, certify_numpy
from .datafits import DATAFITS, Datafit, Quadratic, get_datafit
from .penalties import PENALTIES, GroupL2, Penalty, get_penalty, make_penalty

__all__ = [
    "DATAFITS",
    "Datafit",
    "GroupL2",
    "PENALTIES",
    "Penalty",
    "get_datafit",
    "get_penalty",
    "make_penalty",
    "Problem",
    "Quadratic",
    "alpha_max_of",
    "certify",
    "certify_numpy",
]
