r"""Exact rescaling of problems whose data are far from unit scale.

For ``X' = X / s_x`` and, when the loss allows it (the squared loss is homogeneous of degree 2 in
``(z, y)``), ``y' = y / s_y``, with ``alpha' = alpha / (s_x s_y)``, the program of ``(X', y')``
solved by ``V`` is the original one solved by ``U = (s_y / s_x) V``, with
``F(U) = s_y^2 F'(V)`` and the same relative gap (``docs/math.md``, "Scale"). ``s_x`` and ``s_y``
are powers of two, so the scaling itself is exact in floating point. A penalty that is not a norm
(a ridge term mixed in) is rescaled by its own ``scaled`` (another ``l1_ratio``), exactly up to
the rounding of that ratio. It is applied only when the
data's scale is extreme (more than ``2**LIMIT`` away from 1): ordinary problems are solved
unchanged, and data scaled by ``1e100`` give the same network as the unscaled data.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

__all__ = ["Scaling", "rescale", "choose_scaling", "root_mean_square", "LIMIT", "check_moderate_scale"]

#: Rescale when the RMS of X or y is outside [2**-LIMIT, 2**LIMIT].
LIMIT = 20


@dataclass(frozen=True)
class Scaling:
    """``s_x`` and ``s_y`` (powers of two; 1.0 when nothing is rescaled)."""

    sx: float = 1.0
    sy: float = 1.0
    #: ``alpha' = alpha * alpha_factor``: ``1 / (s_x s_y)`` for a norm penalty; a penalty that is
    #: not positively homogeneous (a ridge term mixed in) says how it scales (``Penalty.scaled``).
    alpha_factor: float = 1.0

    @property
    def identity(self) -> bool:
        return self.sx == 1.0 and self.sy == 1.0

    def coef_to_scaled(self, U):
        return U if self.identity else U * (self.sx / self.sy)

    def coef_from_scaled(self, V):
        return V if self.identity else V * (self.sy / self.sx)

    @property
    def objective_factor(self) -> float:
        """``F = objective_factor * F'`` (0 when ``F`` is below the smallest float: targets
        near 1e-170; the relative gap is then that of the scaled problem)."""
        return self.sy * self.sy

    @property
    def lipschitz_factor(self) -> float:
        """``L' = L * lipschitz_factor`` (curvature of the loss in the coefficients; ``L`` itself
        may not be representable, the public layer then reports no step-size constant)."""
        return 1.0 / self.sx / self.sx


def _power_of_two(rms: float) -> float:
    if not np.isfinite(rms) or rms <= 0:
        return 1.0
    e = int(np.round(np.log2(rms)))
    return float(2.0 ** e) if abs(e) > LIMIT else 1.0


def root_mean_square(a: np.ndarray) -> float:
    """RMS of the entries of ``a``, without overflow for entries near 1e300."""
    m = float(np.max(np.abs(a))) if a.size else 0.0
    if m == 0 or not np.isfinite(m):
        return m
    return m * float(np.sqrt(np.mean((a / m) ** 2)))


_rms = root_mean_square


def choose_scaling(rms_x: float, rms_y: float, max_y: float, penalty, dtype, scalable: bool):
    """``(Scaling, penalty')`` for data of root-mean-square ``rms_x`` and targets of RMS
    ``rms_y`` and largest magnitude ``max_y`` (computed over all the data, also when it is split
    over processes); raises a ValueError when the objective cannot be represented in ``dtype``
    whatever the scaling (targets near the overflow limit of a loss that squares them)."""
    sx = _power_of_two(rms_x)
    sy = _power_of_two(rms_y) if scalable else 1.0
    if scalable:
        limit = float(np.sqrt(np.finfo(dtype).max / 8))
        if max_y > limit:
            raise ValueError(
                f"y has values up to {max_y:.3g}: the squared loss of such targets (about "
                f"{max_y:.1e}^2) exceeds the range of {np.dtype(dtype)} (max "
                f"{np.finfo(dtype).max:.1e}), so no objective or duality gap can be "
                "computed. Rescale y (e.g. divide it by its standard deviation)."
            )
    if sx == 1.0 and sy == 1.0:
        return Scaling(), penalty
    # U = k V: alpha Omega(k V) = alpha c Omega'(V) = sy^2 alpha' Omega'(V)
    c, penalty = penalty.scaled(sy / sx)
    return Scaling(sx, sy, c / sy / sy), penalty  # sy * sy underflows for targets near 1e-170


def rescale(problem):
    """``(scaled problem, Scaling)``; raises a ValueError when the objective cannot be
    represented in the working precision whatever the scaling (targets near the overflow limit
    of a loss that squares them)."""
    scalable = getattr(problem.datafit, "scalable_targets", False)
    y = problem.y
    scaling, penalty = choose_scaling(
        _rms(problem.X), _rms(y) if scalable else 0.0,
        float(np.max(np.abs(y))) if scalable and y.size else 0.0,
        problem.penalty, problem.X.dtype, scalable)
    if scaling.identity:
        return problem, scaling
    dt = problem.X.dtype
    scaled = replace(
        problem,
        X=(problem.X / dt.type(scaling.sx)).astype(dt),
        y=(problem.y / dt.type(scaling.sy)).astype(dt),
        alpha=problem.alpha * scaling.alpha_factor,
        penalty=penalty,
    )
    return scaled, scaling


#: Kernel methods (which form X X^T and solve with it) accept data whose RMS is within
#: [2**-KERNEL_LIMIT, 2**KERNEL_LIMIT]; squares and kernel solves stay far from over/underflow.
KERNEL_LIMIT = 200


def check_moderate_scale(a: np.ndarray, name: str, what: str) -> None:
    """Raise a ValueError when the RMS of ``a`` (non-zero) is outside the range kernel methods
    can handle (``2**-KERNEL_LIMIT`` to ``2**KERNEL_LIMIT``, about ``1e-60`` to ``1e60``)."""
    rms = _rms(np.asarray(a))
    if rms == 0:
        return
    if not (2.0 ** -KERNEL_LIMIT <= rms <= 2.0 ** KERNEL_LIMIT):
        raise ValueError(
            f"{name} has root-mean-square {rms:.3g}: {what} work with its squares and cannot "
            f"certify a fit of data this far from unit scale (accepted: about 1e-60 to 1e60). "
            f"Standardise {name} (e.g. StandardScaler), or use GatedReLURegressor / "
            "GatedReLUClassifier, which rescale such data exactly."
        )
