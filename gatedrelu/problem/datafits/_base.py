r"""What a datafit is: ``f(z)`` on the predictions ``z = A(U)``, with its Fenchel dual.

A datafit is a small immutable object, hashable so that it can be a static argument of
``jax.jit`` (two datafits with the same class and parameters compile once). Shapes: ``z`` and
``y`` are (n,) or (n, c); the dual variable ``theta`` has ``y``'s shape. The Fenchel dual of

    min_U f(A(U)) + alpha * Omega(U)

is ``max_theta dual_value(theta, y) - (alpha Omega)^*(A^T theta)`` with
``dual_value(theta, y) = -f^*(-theta)`` (``docs/math.md``). The natural dual point of a primal
iterate is ``dual_point(z, y) = -grad f(z)``.

Sample weights are folded into the data by ``apply_weights`` (each datafit knows how), so that no
solver needs to know about them; weights are normalised to mean 1, and the weighted datafit
is ``(1/sum w) sum_k w_k l(z_k, y_k)``: integer weights equal repeated rows.

Adding a loss is adding one module to this package that defines ``DATAFIT = TheClass``; the
registry :data:`gatedrelu.problem.datafits.DATAFITS` and the generic solver tests pick it up.
"""

from __future__ import annotations

from ..._registry import Component
from ...operator import xp_of

__all__ = ["Datafit"]


class Datafit(Component):
    """Base class: equality and hash by class and parameters, and generic defaults."""

    #: Registered name (``loss=`` value).
    name = ""
    #: Whether the gradient is affine in ``z`` (FISTA then needs one adjoint per iteration).
    affine_gradient = False
    #: Whether the targets are class codes (the estimators encode labels for it).
    classification = False
    #: Whether ``f(s z; s y) = s^2 f(z; y)``, so that the targets can be rescaled exactly
    #: (:mod:`gatedrelu.problem.scaling`).
    scalable_targets = False
    #: Whether the model has an unpenalised intercept, profiled out of the datafit (then
    #: ``intercept(z, y)`` gives its value at the predictions ``z``).
    has_intercept = False

    # -- what every datafit defines -------------------------------------------------------
    def value(self, z, y):  # pragma: no cover - interface
        raise NotImplementedError

    def gradient(self, z, y):  # pragma: no cover - interface
        raise NotImplementedError

    def lipschitz(self, y) -> float:  # pragma: no cover - interface
        """Lipschitz constant of the gradient in ``z`` (Euclidean)."""
        raise NotImplementedError

    def dual_value(self, theta, y):  # pragma: no cover - interface
        raise NotImplementedError

    def dual_strong_concavity(self, y) -> float:  # pragma: no cover - interface
        """``mu`` with ``D(theta*) - D(theta) >= mu/2 ||theta - theta*||^2`` (gap-safe rules)."""
        raise NotImplementedError

    def cvxpy_value(self, pred, y):  # pragma: no cover - interface
        """CVXPY expression of the datafit; ``pred`` a CVXPY expression of ``y``'s shape."""
        raise NotImplementedError

    def check_targets(self, y) -> None:  # pragma: no cover - interface
        """Raise a ValueError when ``y`` is not a valid target array for this datafit."""
        raise NotImplementedError

    def example_targets(self, scores, rng):  # pragma: no cover - interface
        """Valid targets from teacher scores of shape (n,) or (n, c) (used by generic tests)."""
        raise NotImplementedError

    #: Optional ``hessian(z, y)`` (numpy): the Hessian of ``f`` in ``z``, either diagonal (an
    #: array of ``y``'s shape) or one (c, c) block per sample (shape (n, c, c)). Datafits that
    #: define it get a Newton polish on the support of their solutions in ``solver="auto"``
    #: (:mod:`gatedrelu.solvers._polish`).
    hessian = None

    # -- generic defaults -----------------------------------------------------------------
    def dual_point(self, z, y):
        return -self.gradient(z, y)

    def bregman(self, z_new, z, y):
        """``f(z_new) - f(z) - <grad f(z), z_new - z>`` (the step-size test of FISTA)."""
        xp = xp_of(z_new, z)
        return self.value(z_new, y) - self.value(z, y) - xp.vdot(self.gradient(z, y), z_new - z)

    def apply_weights(self, X, y, w):
        """``(X, y)`` of the problem whose datafit is the ``w``-weighted one (``w`` has mean 1)."""
        raise NotImplementedError  # pragma: no cover - interface

    def weighted(self, w):
        """The datafit of the ``w``-weighted problem, used with ``apply_weights``'s data. The
        default is this datafit: the weights live in the data alone. (The intercept's centring
        needs to know them.)"""
        return self

    def intercept(self, z, y):
        """The profiled intercept at predictions ``z`` (0 for datafits without one)."""
        return 0.0


def xlogx(x):
    """``x log x`` with ``0 log 0 = 0`` (numpy or JAX)."""
    xp = xp_of(x)
    pos = x > 0
    return xp.where(pos, x * xp.log(xp.where(pos, x, 1)), 0)
