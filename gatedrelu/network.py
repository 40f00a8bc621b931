r"""The non-convex two-layer gated ReLU network equivalent to a group-lasso solution.

A (GL) solution ``U`` maps back to a network (``docs/math.md``): for every non-zero group,
``w_i = u_i / sqrt(||u_i||)``, ``v_i = sqrt(||u_i||)`` and gate ``g_i``, so that

.. math::  f(x) = \sum_i 1[g_i \cdot x \ge 0] \, (x \cdot w_i) \, v_i

and ``(alpha/2) sum_i (||w_i||^2 + v_i^2) = alpha sum_i ||u_i||``: predictions and the weight-decay
objective are identical. With ``c`` outputs ``u_i`` is a (d, c) matrix; each neuron then has a
(d, c) first-layer weight ``W_i = U_i / sqrt(||U_i||_F)``, one gate and one scalar output weight
``v_i``, and ``f(x) = sum_i 1[g_i.x >= 0] v_i W_i^T x``. Its weight decay is again
``(alpha/2) sum_i (||W_i||_F^2 + v_i^2) = alpha sum_i ||U_i||_F``.

:class:`ReLUNetwork` is the plain two-layer ReLU network of a convex ReLU solution
(:mod:`gatedrelu.convex_relu`): ``f(x) = sum_i (x.v_i)_+ - (x.w_i)_+`` with the same weight split.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._validation import as_float_array, check_nonnegative

__all__ = ["GatedReLUNetwork", "network_from_coef", "ReLUNetwork", "relu_network_from_coef"]


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
    intercept : float or ndarray of shape (c,)
        The output's unpenalised intercept ``b``, added to the sum over neurons (0.0: none).

    Notes
    -----
    A neuron whose gate is the zero vector is always on (``1[0 >= 0] = 1``): it is the linear
    skip connection ``x -> x.w v`` of the estimators' ``linear=True`` (``docs/math.md``,
    "Linear part"); the property ``linear_part`` gives its weights.
    """

    first_layer: np.ndarray
    output_weights: np.ndarray
    gates: np.ndarray
    fit_intercept: bool
    intercept: float | np.ndarray = 0.0

    @property
    def n_neurons(self) -> int:
        return self.output_weights.shape[0]

    @property
    def linear_part(self) -> np.ndarray:
        """Weights of the linear skip connection, ``sum_i w_i v_i`` over the always-on neurons
        (zero gates): shape (d,) or (d, c) (``d`` includes the bias entry); zeros if none."""
        on = ~np.any(self.gates != 0, axis=0)
        w = self.first_layer[on] * self.output_weights[on].reshape((-1,) + (1,) * (self.first_layer.ndim - 1))
        return w.sum(axis=0)

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
        return np.einsum("nk...,k->n...", self.hidden(X), self.output_weights) + self.intercept

    __call__ = predict

    def weight_decay(self, alpha: float) -> float:
        """``(alpha/2) sum_i (||w_i||^2 + v_i^2)``."""
        alpha = check_nonnegative(alpha, "alpha")
        return 0.5 * alpha * float(np.sum(self.first_layer**2) + np.sum(self.output_weights**2))


def network_from_coef(coef, gates, *, fit_intercept: bool, intercept=0.0) -> GatedReLUNetwork:
    """Network of the non-zero groups of a (GL) solution.

    Parameters
    ----------
    coef : ndarray of shape (P, d) or (P, d, c)
    gates : ndarray of shape (d, P)
    fit_intercept : bool
    intercept : float or ndarray of shape (c,), default 0.0
        The unpenalised output intercept.
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
        intercept=intercept,
    )


@dataclass(frozen=True)
class ReLUNetwork:
    r"""A plain two-layer ReLU network ``f(x) = sum_i a_i (x . w_i)_+``.

    The network of a convex ReLU solution (:mod:`gatedrelu.convex_relu`, ``docs/math.md``,
    "Convex ReLU networks"): every non-zero ``v_i`` gives a neuron with first-layer weight
    ``v_i / sqrt(||v_i||)`` and output weight ``+sqrt(||v_i||)``, every non-zero ``w_i`` one with
    ``w_i / sqrt(||w_i||)`` and ``-sqrt(||w_i||)``, so that ``f(x) = sum_i (x.v_i)_+ - (x.w_i)_+``
    and the weight decay ``(alpha/2) sum_i (||w_i||^2 + a_i^2)`` is ``alpha sum_i (||v_i|| +
    ||w_i||)``. With ``c`` outputs a neuron has a (d, c) first-layer weight ``W_i``, the ReLU acts
    on each of its ``c`` pre-activations and ``f(x) = sum_i a_i (W_i^T x)_+``.

    Attributes
    ----------
    first_layer : ndarray of shape (k, d) or (k, d, c)
        First-layer weights of the ``k`` neurons (``d`` includes the bias entry).
    output_weights : ndarray of shape (k,)
        Second-layer weights ``a_i`` (positive for the ``v`` neurons, negative for the ``w``).
    fit_intercept : bool
        Whether inputs get a trailing column of ones (each neuron's bias) before the first layer.
    intercept : float or ndarray of shape (c,)
        The output's unpenalised intercept ``b``, added to the sum over neurons (0.0: none).
    """

    first_layer: np.ndarray
    output_weights: np.ndarray
    fit_intercept: bool
    intercept: float | np.ndarray = 0.0

    @property
    def n_neurons(self) -> int:
        return self.output_weights.shape[0]

    def _inputs(self, X) -> np.ndarray:
        X = as_float_array(X, "X", dtype=self.first_layer.dtype)
        d = self.first_layer.shape[1]
        if X.shape[1] + int(self.fit_intercept) != d:
            raise ValueError(
                f"X has {X.shape[1]} features, but the network expects "
                f"{d - int(self.fit_intercept)}."
            )
        if self.fit_intercept:
            X = np.hstack([X, np.ones((X.shape[0], 1), X.dtype)])
        return X

    def hidden(self, X) -> np.ndarray:
        """Hidden activations ``(x . w_i)_+``: (n, k) or (n, k, c)."""
        return np.maximum(np.einsum("nd,kd...->nk...", self._inputs(X), self.first_layer), 0)

    def predict(self, X) -> np.ndarray:
        """Network output ``f(x)``: (n,) or (n, c)."""
        return np.einsum("nk...,k->n...", self.hidden(X), self.output_weights) + self.intercept

    __call__ = predict

    def weight_decay(self, alpha: float) -> float:
        """``(alpha/2) sum_i (||w_i||^2 + a_i^2)``."""
        alpha = check_nonnegative(alpha, "alpha")
        return 0.5 * alpha * float(np.sum(self.first_layer**2) + np.sum(self.output_weights**2))


def relu_network_from_coef(coef, *, fit_intercept: bool, intercept=0.0) -> ReLUNetwork:
    """Network of the non-zero groups of a convex ReLU solution.

    Parameters
    ----------
    coef : ndarray of shape (2, P, d) or (2, P, d, c)
        ``coef[0]`` the ``v_i``, ``coef[1]`` the ``w_i`` (``f(x) = sum_i (x.v_i)_+ - (x.w_i)_+``).
    fit_intercept : bool
    intercept : float or ndarray of shape (c,), default 0.0
        The unpenalised output intercept.
    """
    coef = np.asarray(coef)
    if coef.ndim not in (3, 4) or coef.shape[0] != 2:
        raise ValueError(f"coef must have shape (2, P, d[, c]) (v then w); got {coef.shape}.")
    groups = coef.reshape((-1,) + coef.shape[2:])  # v_1..v_P, w_1..w_P
    sign = np.repeat(np.array([1.0, -1.0]), coef.shape[1])
    norms = np.linalg.norm(groups.reshape(groups.shape[0], -1), axis=1)
    active = np.flatnonzero(norms > 0)
    scale = np.sqrt(norms[active])
    first = groups[active] / scale.reshape((-1,) + (1,) * (groups.ndim - 1))
    return ReLUNetwork(
        first_layer=first,
        output_weights=(sign[active] * scale).astype(coef.dtype),
        fit_intercept=bool(fit_intercept),
        intercept=intercept,
    )
