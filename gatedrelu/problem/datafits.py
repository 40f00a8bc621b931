r"""Datafits ``f(A(U))`` of the convex program, written on the predictions ``z = A(U)``.

A datafit is a small stateless object (hashable, so it can be a static argument of ``jax.jit``)
with the named methods every solver and the certificate use. Shapes: ``z`` and ``y`` are (n,) or
(n, c). With ``theta`` the dual variable (same shape as ``y``), the Fenchel dual of

    min_U f(A(U)) + alpha * Omega(U)

is ``max_theta  dual_value(theta, y)  s.t.  Omega^*(A^T theta) <= alpha`` with
``dual_value(theta, y) = -f^*(-theta)`` (``docs/math.md``, "Optimality, alpha_max and the duality
gap"). The natural dual point of a primal iterate is ``dual_point(z, y) = -grad f(z)``.

Adding a loss means adding a class here with the same methods, and its name to ``DATAFITS``.
"""

from __future__ import annotations

from ..operator import xp_of

__all__ = ["Quadratic", "DATAFITS"]


class Quadratic:
    r"""Squared loss averaged over samples: ``f(z) = 1/(2n) ||z - y||^2`` (Frobenius for (n, c)).

    * gradient ``(z - y) / n``, Lipschitz constant ``1/n`` in ``z``;
    * dual value ``<theta, y> - (n/2) ||theta||^2``, which is ``n``-strongly concave;
    * dual point ``(y - z) / n``, the residual over ``n``.
    """

    name = "squared"
    #: The gradient is affine in the predictions, so an extrapolated point's gradient is the
    #: same combination of the gradients (FISTA then needs one adjoint per iteration).
    affine_gradient = True

    def __hash__(self):
        return hash(self.name)

    def __eq__(self, other):
        return type(other) is type(self)

    @staticmethod
    def value(z, y):
        n = y.shape[0]
        r = z - y
        return 0.5 * xp_of(r).vdot(r, r) / n

    @staticmethod
    def gradient(z, y):
        return (z - y) / y.shape[0]

    @staticmethod
    def bregman(z_new, z, y):
        """``f(z_new) - f(z) - <grad f(z), z_new - z>``, computed without cancellation."""
        dz = z_new - z
        return 0.5 * xp_of(dz).vdot(dz, dz) / y.shape[0]

    @staticmethod
    def lipschitz(n):
        """Lipschitz constant of the gradient in ``z``."""
        return 1.0 / n

    @staticmethod
    def dual_point(z, y):
        return (y - z) / y.shape[0]

    @staticmethod
    def dual_value(theta, y):
        n = y.shape[0]
        xp = xp_of(theta, y)
        return xp.vdot(theta, y) - 0.5 * n * xp.vdot(theta, theta)

    @staticmethod
    def dual_strong_concavity(n):
        """``mu`` with ``D(theta*) - D(theta) >= mu/2 ||theta - theta*||^2`` (for gap-safe rules)."""
        return float(n)

    @staticmethod
    def cvxpy_value(pred, y):
        """CVXPY expression of the datafit; ``pred`` a CVXPY expression of shape (n,) or (n, c)."""
        import cvxpy as cp

        return cp.sum_squares(pred - y) / (2 * y.shape[0])


#: Registered datafits by name.
DATAFITS = {"squared": Quadratic}
