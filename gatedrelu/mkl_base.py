"""The shared fitting code of the MKL estimators (:mod:`gatedrelu.mkl_estimators`): kernel
choice, the fits of every kernel, the path's validation split, predictions through the
equivalent network and ``to_network``."""

from __future__ import annotations

import warnings

import jax
import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.validation import check_is_fitted, validate_data

from ._validation import check_int, check_nonnegative, check_option, check_random_state
from .estimators import (
    GatedBase,
    default_tol,
    drop_unweighted,
)
from .kernels import ntk_kernel
from .linalg import METHODS, kernel_objective, ridge_solve
from .mkl import DEFAULT_MAX_ITER, fixed_kernel, irls, kernel_fits, optimal_scale
from .network import GatedReLUNetwork, network_from_coef
from .operator import forward
from .patterns import activation_patterns, gate_masks
from .problem.scaling import check_moderate_scale

__all__ = ["KERNELS", "ACCEPTED_KERNELS", "irls_iterate"]

KERNELS = ("ntk", "infinite_ntk", "uniform", "optimal", "path")
#: Also accepted: "irls", the ``n_irls``-th iterate of the path from the NTK (one point of the
#: lazy-to-rich path, chosen by :class:`gatedrelu.MKLPathRegressorCV` and its classifier).
ACCEPTED_KERNELS = KERNELS + ("irls",)
#: "path" needs this many samples to hold some out; with fewer it uses the optimal kernel.
PATH_MIN_SAMPLES = 4


def _path_candidates(n_iter: int, n_path: int) -> np.ndarray:
    """At most ``n_path`` iterate indices in 0..n_iter, geometrically spaced, ends included."""
    idx = np.unique(np.round(np.geomspace(1, n_iter + 1, n_path)).astype(int) - 1)
    return np.union1d(idx, [0, n_iter])


class _MKLMixin(GatedBase):

    def __init__(
        self,
        kernel="optimal",
        n_gates=100,
        alpha=1e-3,
        *,
        fit_intercept=True,
        gates=None,
        tol=None,
        max_iter=None,
        random_state=None,
        validation_fraction=0.2,
        n_path=10,
        verbose=0,
        n_irls=10,
        method="auto",
    ):
        self.kernel = kernel
        self.n_gates = n_gates
        self.alpha = alpha
        self.fit_intercept = fit_intercept
        self.gates = gates
        self.tol = tol
        self.max_iter = max_iter
        self.random_state = random_state
        self.validation_fraction = validation_fraction
        self.n_path = n_path
        self.verbose = verbose
        self.n_irls = n_irls
        self.method = method

    def _validate_mkl_params(self):
        kernel = check_option(self.kernel, "kernel", ACCEPTED_KERNELS)
        self._validate_gate_params()
        if self.tol is not None:
            check_nonnegative(self.tol, "tol")
        if self.max_iter is not None:
            check_int(self.max_iter, "max_iter")
        frac = self.validation_fraction
        if (
            isinstance(frac, bool)
            or not isinstance(frac, (int, float, np.floating))
            or not 0 < frac < 1
        ):
            raise ValueError(f"validation_fraction must be in (0, 1); got {frac!r}.")
        check_int(self.n_path, "n_path", minimum=2)
        check_int(self.verbose, "verbose", minimum=0)
        check_int(self.n_irls, "n_irls", minimum=0)
        check_option(self.method, "method", METHODS)
        return kernel

    def _irls_options(self, dtype):
        tol = default_tol(dtype) if self.tol is None else float(self.tol)
        max_iter = DEFAULT_MAX_ITER if self.max_iter is None else int(self.max_iter)
        return {"tol": tol, "max_iter": max_iter, "verbose": self.verbose, "method": self.method}

    def _fit_targets(self, X, T, scores, sample_weight=None):
        kernel = self._validate_mkl_params()
        self.kernel_ = kernel
        self.path_index_ = self.path_scores_ = self.path_candidates_ = None
        X, T, w = drop_unweighted(X, T, sample_weight)
        check_moderate_scale(X, "X", "the MKL estimators")
        check_moderate_scale(T, "y", "the MKL estimators")
        if kernel == "infinite_ntk":
            return self._fit_infinite_ntk(*_weigh(self._bias(X), T, w))
        Xb, patterns = self._patterns(X)
        # Weighted kernel ridge is kernel ridge on rows scaled by sqrt(w) (the masking kernels
        # are positively homogeneous in each argument and the masks do not change), see
        # docs/math.md, "Sample weights"; X_fit_ then holds the scaled rows.
        Xb, T = _weigh(Xb, T, w)
        path_iter = None
        if kernel in ("ntk", "uniform"):
            res = fixed_kernel(Xb, T, patterns, self.alpha, kernel, method=self.method)
        elif kernel == "optimal":
            res = irls(Xb, T, patterns, self.alpha, init="ntk", **self._irls_options(Xb.dtype))
        elif kernel == "irls":
            res = irls_iterate(Xb, T, patterns, self.alpha, self.n_irls,
                               **self._irls_options(Xb.dtype))
        else:
            patterns, res, path_iter = self._fit_path(Xb, T, patterns, scores)
        self.X_fit_ = Xb
        self.patterns_ = patterns
        self.gates_ = patterns.gates
        self.weights_ = res.weights
        self.kernel_scale_ = float(res.weights.sum())
        self.coef_ = res.coef
        self.dual_coef_ = res.dual_coef
        self.n_iter_ = res.n_iter + 1 if path_iter is None else path_iter
        self.objective_ = res.objective
        self.dual_gap_ = res.dual_gap
        self.kernel_objective_ = float(res.kernel_objective_history[-1])
        self.method_ = res.method
        return self

    def _fit_infinite_ntk(self, Xb, T):
        # The closed-form kernel has no finite features: always n x n (O(n^2) memory).
        n = Xb.shape[0]
        K = ntk_kernel(Xb)
        t = optimal_scale(K, T, self.alpha)
        self.dual_coef_ = ridge_solve(t * K, T, n * self.alpha)
        self.X_fit_ = Xb
        self.kernel_scale_ = float(t)
        self.patterns_ = self.gates_ = self.weights_ = self.coef_ = None
        self.n_iter_ = 1
        self.objective_ = self.dual_gap_ = None
        self.kernel_objective_ = float(kernel_objective(T, self.dual_coef_, np.float64(t),
                                                        self.alpha))
        self.method_ = "cholesky"
        return self

    def _fit_path(self, Xb, T, patterns, scores):
        """IRLS on a training part, choose the iterate by validation, refit its shape on all."""
        n = Xb.shape[0]
        options = self._irls_options(Xb.dtype)
        if n < PATH_MIN_SAMPLES:
            res = irls(Xb, T, patterns, self.alpha, init="ntk", **options)
            self.path_index_ = res.n_iter
            return patterns, res, res.n_iter + 1
        rng = check_random_state(self.random_state)
        perm = rng.permutation(n)
        n_val = min(max(1, int(round(self.validation_fraction * n))), n - 2)
        val, train = perm[:n_val], perm[n_val:]
        sub_patterns = activation_patterns(Xb[train], patterns.sampled_gates)
        path = irls(Xb[train], T[train], sub_patterns, self.alpha, init="ntk", **options)
        candidates = _path_candidates(path.n_iter, self.n_path)
        masks_val = sub_patterns.masks_at(Xb[val])
        fits = kernel_fits(Xb[train], T[train], sub_patterns, self.alpha,
                           path.weights_history[candidates], method=self.method)
        results = [scores(T[val], _network(Xb[val], masks_val, fit.coef)) for fit in fits]
        best = min(range(len(candidates)), key=lambda j: results[j])
        self.path_index_ = int(candidates[best])
        self.path_scores_ = np.array([r[0] for r in results])
        self.path_candidates_ = candidates
        # The representative gates of the training part have distinct, non-zero patterns on all
        # the data too (in the same order), so the chosen weights carry over one to one.
        full_patterns = activation_patterns(Xb, sub_patterns.gates)
        if full_patterns.n_patterns != sub_patterns.n_patterns:  # pragma: no cover - invariant
            raise RuntimeError("patterns of the training part do not carry over to all the data.")
        shape = path.weights_history[self.path_index_]
        if np.any(shape):
            refit = fixed_kernel(Xb, T, full_patterns, self.alpha, shape, method=self.method)
        else:  # the zero model (alpha at or above alpha_max of the training part)
            refit = kernel_fits(Xb, T, full_patterns, self.alpha, [shape], method=self.method)[0]
        return full_patterns, refit, path.n_iter + 1

    def _decision(self, X) -> np.ndarray:
        check_is_fitted(self, "dual_coef_")
        X = validate_data(self, X, reset=False, dtype=[np.float64, np.float32])
        Xb = self._bias(X).astype(self.X_fit_.dtype, copy=False)
        if self.kernel_ == "infinite_ntk":
            return self.kernel_scale_ * ntk_kernel(self.X_fit_, Xb) @ self.dual_coef_
        # K(x, X) a equals the equivalent network: of every sampled gate for "ntk" (the finite
        # NTK of the sampled network), of the representative gates for the other kernels.
        coef, gates = self._network_coef()
        return _network(Xb, gate_masks(Xb, gates), coef)

    def _network_coef(self):
        """``(coef, gates)`` of the gated network whose outputs are the kernel's predictions.

        For ``"ntk"`` the finite NTK at a new point weighs pattern ``i`` by the fraction of its
        ``c_i`` sampled gates active there (:func:`gatedrelu.finite_ntk_kernel`), so each sampled
        gate ``j`` of pattern ``i`` is a neuron with ``u_j = coef_[i] / c_i``; a pattern without
        sampled gates keeps its representative gate and ``coef_[i]``. Otherwise ``coef_`` and
        ``gates_``.
        """
        if self.kernel_ != "ntk":
            return self.coef_, self.gates_
        pattern = np.asarray(self.patterns_.gate_pattern)
        gated = np.flatnonzero(pattern >= 0)
        P = self.coef_.shape[0]
        count = np.bincount(pattern[gated], minlength=P)
        own = np.flatnonzero(count == 0)
        coef = self.coef_[pattern[gated]] / count[pattern[gated]].reshape(
            (-1,) + (1,) * (self.coef_.ndim - 1)).astype(self.coef_.dtype)
        coef = np.concatenate([coef, self.coef_[own]])
        gates = np.hstack([np.asarray(self.patterns_.sampled_gates)[:, gated],
                           np.asarray(self.gates_)[:, own]])
        return coef, gates

    def to_network(self) -> GatedReLUNetwork:
        """The gated ReLU network whose outputs are this estimator's (``predict`` of the
        regressor, ``decision_function`` of the classifier), for the kernels that have one.

        Kernel ridge with masking kernels of weights ``eta`` predicts ``sum_i 1[g_i.x >= 0]
        x.u_i`` with ``u_i = eta_i (D_i X)^T a`` (``coef_``), so the network of the
        representative gates is exact for ``"optimal"``, ``"uniform"``, ``"path"`` and ``"irls"``.
        With ``"optimal"`` it is the globally optimal gated ReLU network of these gates (its
        weight decay is the group-lasso penalty, ``docs/math.md``, "The MKL view"). For
        ``"ntk"`` the network has one neuron per sampled gate (a gate ``j`` of pattern ``i``,
        shared by ``c_i`` gates, gets ``u_i / c_i``): the finite NTK at new points weighs each
        pattern by the share of its gates that are active there.

        Raises
        ------
        ValueError
            For ``"infinite_ntk"`` (a kernel of infinitely many gates).
        """
        check_is_fitted(self, "dual_coef_")
        if self.kernel_ == "infinite_ntk":
            raise ValueError(
                "kernel='infinite_ntk' has no equivalent finite network: it is the kernel of "
                "infinitely many gates. Fit with kernel='ntk' (the NTK of n_gates sampled "
                "gates) or kernel='optimal' (the globally optimal gated ReLU network)."
            )
        coef, gates = self._network_coef()
        return network_from_coef(coef, gates, fit_intercept=self.fit_intercept)


def irls_iterate(Xb, T, patterns, alpha, k, **options):
    """IRLS from the NTK weights stopped after ``k`` steps (or at convergence, if earlier).

    Stopping early is the point (a kernel between the NTK and the optimal one), so no
    ConvergenceWarning is raised for it. ``options`` are those of :func:`gatedrelu.mkl.irls`.
    """
    options = dict(options, max_iter=int(k))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return irls(Xb, T, patterns, alpha, init="ntk", **options)


def _weigh(Xb, T, w):
    """Rows of ``Xb`` and ``T`` scaled by ``sqrt(w)`` (``w`` of mean 1, or None)."""
    if w is None:
        return Xb, T
    s = np.sqrt(w).astype(Xb.dtype)
    return Xb * s[:, None], T * s.reshape((-1,) + (1,) * (T.ndim - 1))


def _network(Xb, masks, coef) -> np.ndarray:
    """``sum_i 1[g_i.x >= 0] x.u_i`` at the rows of ``Xb``."""
    with jax.enable_x64(True):
        return np.asarray(forward(Xb, masks, coef.astype(Xb.dtype, copy=False)))


def _regression_score(T, pred):
    return (float(np.mean((pred - T) ** 2)),)


def _classification_score(T, pred):
    if T.ndim == 1:
        accuracy = np.mean(np.sign(pred) == np.sign(T))
    else:
        accuracy = np.mean(np.argmax(pred, axis=1) == np.argmax(T, axis=1))
    return (-float(accuracy), float(np.mean((pred - T) ** 2)))
