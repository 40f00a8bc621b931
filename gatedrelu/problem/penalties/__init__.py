"""Penalties of the convex program: every module here that defines ``PENALTY`` is one.

See :mod:`gatedrelu.problem.penalties._base` for what a penalty defines. ``PENALTIES`` maps the
``penalty=`` names to the classes; :func:`make_penalty` builds a penalty object from the plain
parameters that estimators store (a name, ``l1_ratio`` and ``feature_weight``).
"""

from __future__ import annotations

import math

import numpy as np

from ..._registry import discover, instance
from ._base import Penalty
from .elastic_net import ElasticNet, check_l1_ratio
from .feature import FeatureL2
from .group_l2 import GroupL2
from .group_l2_feature import NeuronFeatureL2

__all__ = ["PENALTIES", "Penalty", "GroupL2", "FeatureL2", "NeuronFeatureL2", "ElasticNet",
           "get_penalty", "make_penalty"]

#: name -> penalty class
PENALTIES = discover(__name__, __path__, "PENALTY", Penalty)


def get_penalty(penalty) -> Penalty:
    """A penalty instance from a registered name or an instance."""
    return instance(penalty, PENALTIES, Penalty, "penalty")


def make_penalty(penalty="group_l2", *, l1_ratio=1.0, feature_weight=None) -> Penalty:
    """The penalty object of plain parameters (what estimators and model files store).

    Parameters
    ----------
    penalty : str or Penalty, default "group_l2"
        A name of ``PENALTIES`` (``"group_l2"``: neurons; ``"feature"``: input features;
        ``"group_l2+feature"``: both) or a penalty object.
    l1_ratio : float in (0, 1], default 1.0
        Below 1, a ridge term is mixed in: ``l1_ratio * Omega + (1 - l1_ratio)/2 ||U||^2``
        (:class:`ElasticNet`); the penalty must then be a norm.
    feature_weight : float >= 0, optional
        The weight ``beta`` of the feature groups of ``"group_l2+feature"`` (default 1.0; 0 gives
        ``"group_l2"``). Only that penalty uses it: given with another, it is an error.

    Raises
    ------
    ValueError
        For an unknown name, ``l1_ratio`` outside (0, 1], a negative or non-finite
        ``feature_weight``, or a ``feature_weight`` that the penalty does not use.
    """
    rho = check_l1_ratio(l1_ratio)
    if feature_weight is not None:
        if isinstance(feature_weight, (bool, np.bool_)) or not isinstance(
                feature_weight, (int, float, np.integer, np.floating)):
            raise TypeError(f"feature_weight must be a number >= 0, got {feature_weight!r}.")
        feature_weight = float(feature_weight)
        if not (math.isfinite(feature_weight) and feature_weight >= 0):
            raise ValueError(f"feature_weight must be a finite number >= 0, got {feature_weight!r}.")
        if penalty != NeuronFeatureL2.name:
            raise ValueError(
                f"feature_weight is used only by penalty={NeuronFeatureL2.name!r}, not by "
                f"penalty={penalty!r}; leave it as None.")
        base = GroupL2() if feature_weight == 0 else NeuronFeatureL2(feature_weight)
    else:
        base = get_penalty(penalty)
    if rho == 1:
        return base
    if not base.is_norm:
        raise ValueError(f"l1_ratio < 1 mixes a ridge term into a norm penalty; {base!r} is not "
                         "a norm (it may already contain one).")
    return ElasticNet(base, rho)
