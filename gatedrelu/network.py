r"""The non-convex two-layer gated ReLU network equivalent to a group-lasso solution.

A (GL) solution ``U`` maps back to a network (``docs/math.md``): for every non-zero group,
``w_i = u_i / sqrt(||u_i||)``, ``v_i = sqrt(||u_i||)`` and gate ``g_i``, so that

.. math::  f(x) = \sum_i 1[g_i \cdot x \ge 0] \, (x \cdot w_i) \, v_i

and ``(alpha/2) sum_i (||w_i||^2 + v_i^2) = alpha sum_i ||u_i||``: predictions and the weight-decay
objective are identical. With ``c`` outputs ``u_i`` is a (d, c) matrix; each neuron then has a
(d, c) first-layer weight ``W_i = U_i / sqrt(||U_i||_F)``, one gate and one scalar output weight
``v_i``, and ``f(x) = sum_i 1[g_i.x >= 0] v_i W_i^T x``. Its weight decay is again
``(alpha/2) sum_i (||W_i||_F^2 + v_i^2) = alpha sum_i ||U_i||_F``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._validation import as_float_array, check_nonnegative

__all__ = ["GatedReLUNetwork", "network_from_coef"]


@dataclass(frozen=True)
class GatedReLUNetwork:
    """A two-layer gated ReLU network with fixed gates.

    Attributes
    ----------
    first_layer : ndarray of shape (k, d) or (k, d, c)
        First-layer weights ``w_i`` of the ``k`` active neurons (``d`` includes the bias entry).
    output_weights : ndarray of shape (k,)
        Second-layer weights ``v_i``.
    gates : ndarray of shape (d, k)
        Gate vectors ``g_i``.
    fit_intercept : bool
        Whether inputs get a trailing column of ones (each neuron's bias) before the first layer.
    """

    first_layer: np.ndarray
    output_weights: np.ndarray
    gates: np.ndarray
    fit_intercept: bool

    @property
    def n_neurons(self) -> int:
        return self.output_weights.shape[0]

    def _inputs(self, X) -> np.ndarray:
        X = as_float_array(X, "X", dtype=self.first_layer.dtype)
        if self.fit_intercept:
            X = np.hstack([X, np.ones((X.shape[0], 1), X.dtype)])
        if X.shape[1] != self.gates.shape[0]:
            raise ValueError(
                f"X has {X.shape[1] - int(self.fit_intercept)} features, but the network "
                f"expects {self.gates.shape[0] - int(self.fit_intercept)}."
            )
        return X

    def hidden(self, X) -> np.ndarray:
        """Gated hidden activations ``1[g_i.x >= 0] (x.w_i)``: (n, k) or (n, k, c)."""
        Xb = self._inputs(X)
        gate = (Xb @ self.gates) >= 0
        pre = np.einsum("nd,kd...->nk...", Xb, self.first_layer)
        return pre * gate.reshape(gate.shape + (1,) * (pre.ndim - 2))

    def predict(self, X) -> np.ndarray:
        """Network output ``f(x)``: (n,) or (n, c)."""
        return np.einsum("nk...,k->n...", self.hidden(X), self.output_weights)

    __call__ = predict

    def weight_decay(self, alpha: float) -> float:
        """``(alpha/2) sum_i (||w_i||^2 + v_i^2)``."""
        alpha = check_nonnegative(alpha, "alpha")
        return 0.5 * alpha * float(np.sum(self.first_layer**2) + np.sum(self.output_weights**2))


def network_from_coef(coef, gates, *, fit_intercept: bool) -> GatedReLUNetwork:
    """Network of the non-zero groups of a (GL) solution.

    Parameters
    ----------
    coef : ndarray of shape (P, d) or (P, d, c)
    gates : ndarray of shape (d, P)
    fit_intercept : bool
    """
    coef = np.asarray(coef)
    norms = np.linalg.norm(coef.reshape(coef.shape[0], -1), axis=1)
    active = np.flatnonzero(norms > 0)
    scale = np.sqrt(norms[active])
    first = coef[active] / scale.reshape((-1,) + (1,) * (coef.ndim - 1))
    return GatedReLUNetwork(
        first_layer=first,
        output_weights=scale.astype(coef.dtype),
        gates=np.asarray(gates)[:, active],
        fit_intercept=bool(fit_intercept),
    )
