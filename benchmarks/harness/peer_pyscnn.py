r"""The pyscnn adapter: pyscnn's R-FISTA on exactly the group lasso of ``docs/math.md``.

See :mod:`benchmarks.harness.peers` for the convention (``U`` of shape (P, d), the objective
``F``) and the versions checked. Imported only in gatedrelu's environment (pyscnn needs torch).

pyscnn (``scnn``), what it solves -- references are to files under ``site-packages/scnn``:

* Loss. ``private/models/convex/convex_mlp.py:120`` ``_objective = squared_error(pred, y) /
  (2 * self._scaling(y, scaling))`` with ``squared_error = sum((y - pred)**2)``
  (``private/loss_functions.py:13-22``); ``Model.objective`` calls it with
  ``scaling=y.shape[0]`` (``private/models/model.py:225``) and ``_scaling`` returns
  ``scaling * self.c`` (``model.py:68-69``). So the loss is ``1/(2 n c) ||A(U) - Y||_F^2``:
  ``1/(2n)`` for a single output (c = 1), the same as ours. The gradient is divided by the
  same ``n c`` (``convex_mlp.py:147``).
* Penalty. ``regularizers.NeuronGL1(lam)`` becomes ``GroupL1Regularizer(lam)``
  (``private/interface/models.py:61-62``) with ``penalty = lam * sum(sqrt(sum(w**2, axis=-1)))``
  (``private/loss_functions.py:81-91``) over weights of shape (c, P, d): one group per
  (output, pattern), i.e. ``lam * sum_i ||u_i||_2``. Hence ``lam == alpha`` exactly.
  The prox is block soft-thresholding with threshold ``lam * step``
  (``private/prox/proximal_ops.py:132-149``).
* No bias, no rescaling here: ``ConvexGatedReLU(G, c=1, bias=False)`` and ``unitize_data=False``
  (``process_data`` in ``private/interface/data.py:47-100`` only appends a ones column if
  ``bias`` and only unitizes columns if ``unitize_data``; ``optimize(...)`` defaults to
  ``unitize_data=True``, which changes the problem, so we never use it). y of shape (n,) is
  made (n, 1). Data are converted to ``lab`` tensors of the global dtype, which we set to
  float64 via ``set_device("cpu", "float64", seed)`` (``private/interface/utils.py:38-48``;
  on CPU the ``lab`` backend is numpy).
* Gates. ``build_internal_model`` (``private/interface/models.py:100-107``) calls
  ``activations.compute_activation_patterns(X, G)`` (``activations.py:191-253``), which
  (a) thresholds with a STRICT inequality ``1[X g > 0]`` (ours is ``1[X g >= 0]``; identical
  unless some ``x_j . g == 0`` exactly, e.g. an all-zero row of X), (b) deduplicates the
  patterns with ``np.unique(..., axis=1)`` which also SORTS them (so the order is not ours),
  and (c) drops the all-zero pattern. We pass our representative gates
  ``ActivationPatterns.gates`` (already distinct, non-zero patterns), so nothing is dropped;
  we then map pyscnn's columns back to ours by matching its stored gates (``internal.U``,
  exact copies of our columns) and check that its masks ``internal.D`` equal ours column by
  column; if they differ (a tie at 0) the problem is not identical and we raise.
* Output. ``internal.weights`` has shape (c, P, d) (``convex_mlp.py:43-45``); row ``k`` of
  ``weights[0]`` is ``u`` of pattern ``internal.U[:, k]``; we scatter it to our row.

pyscnn termination (``RFISTA(model, max_iters, tol)``, ``solvers.py:43-82``):
``build_optimizer`` (``private/interface/solvers.py:119-132``) wraps R-FISTA (FISTA with
initial step 10, ``QuadraticBound`` backtracking with factor 0.8, Lassplore step-size
increase 1.25, restart when the step makes an obtuse angle with the gradient mapping; see
``build_fista``, lines 77-97) in ``IterativeOptimizationProcedure`` with
``GradientNorm(tol)``. ``GradientNorm`` (``private/methods/termination_criteria.py:105-150``)
stops when ``sum(grad**2) <= tol`` where ``grad`` is the minimum-norm subgradient of the FULL
objective (loss gradient + ``GroupL1Regularizer.grad``, ``private/models/regularizers/
group_l1.py:55-88``): for ``u_i != 0`` it is ``g_i + alpha u_i/||u_i||``, for ``u_i = 0`` it
is ``g_i (1 - min(alpha/||g_i||, 1))``. So ``tol`` bounds the SQUARED norm of the min-norm
subgradient (not the norm). It is checked at the top of every iteration, before the step
(``private/methods/optimization_procedures/iterative.py:240-253``), and the loop also stops
if the objective exceeds 1000 x its initial value (divergence check). In float64 the squared
min-norm subgradient stalls at roundoff (about 5e-16 on the check problem, objective ~0.66), so
``tol`` below ~1e-15 is never met and the run goes to ``max_iter``; ``tol=1e-14`` gives the
objective to ~1e-14 relative there. Note (faithfully kept,
not fixed): pyscnn's momentum update is ``t_plus = 1 + np.sqrt(1 + 4 t^2) / 2``
(``private/methods/core/proximal_gradient.py:163``), not the textbook ``(1 + sqrt(1+4t^2))/2``.

``scnn.optimize.optimize_model`` discards the solver's ``exit_status`` (iteration count),
so :func:`pyscnn_rfista` runs the same steps as ``optimize_model`` (``optimize.py:195-249``:
``set_device``, ``process_data``, ``build_internal_model``, ``build_optimizer``, the
optimization procedure) and keeps it. It uses its own logger instead of pyscnn's
``get_logger`` (which calls ``logging.basicConfig`` and resets the root logger's level).

pyscnn path: ``scnn.optimize.optimize_path`` keeps ONE internal model and, for each
regularizer of the path, swaps ``internal_model.regularizer`` and runs a fresh optimizer from
the current weights (``optimize.py:339-357``); its ``warm_start`` argument is never read, so the
path is always warm-started (the step size restarts at its initial value for every lambda).
:func:`pyscnn_rfista_path` does exactly that, with ``unitize_data=False`` as above.
"""

from __future__ import annotations

import logging
import time

import numpy as np

__all__ = ["pyscnn_rfista", "pyscnn_rfista_path"]


# --------------------------------------------------------------------------------------------
# pyscnn R-FISTA
# --------------------------------------------------------------------------------------------


def pyscnn_rfista(
    X,
    y,
    gates,
    alpha,
    *,
    tol,
    max_iter=10000,
    metric_freq=25,
    seed=778,
    verbose=False,
):
    """Solve (GL) with pyscnn's R-FISTA (``scnn.solvers.RFISTA``) in float64.

    Parameters
    ----------
    X : (n, d) array; y : (n,) array
    gates : (d, P) array
        The representative gates ``ActivationPatterns.gates`` (distinct, non-zero patterns).
        pyscnn recomputes the masks from them; they must equal ``1[X g >= 0]`` (checked).
    alpha : float
        Our alpha; pyscnn's ``NeuronGL1(lam)`` with ``lam = alpha`` (same 1/(2n) loss).
    tol : float
        pyscnn's termination tolerance: stop when the SQUARED norm of the minimum-norm
        subgradient of the full objective is ``<= tol``.
    max_iter : int
        pyscnn's ``max_iters`` (FISTA steps).
    metric_freq : int
        How often (iterations) pyscnn records its objective / subgradient-norm history.

    Returns
    -------
    U : (P, d) array in our pattern order (columns of ``gates``).
    info : dict
        ``n_iter`` (FISTA steps taken; pyscnn does not say whether a run that used all
        ``max_iter`` loop passes stopped on the criterion in the last one, in which case this
        is one too many), ``iterations`` (pyscnn's own count: steps + 1 when it stopped on the
        criterion), ``converged`` (final squared min-norm subgradient
        <= tol), ``success`` (pyscnn's flag), ``objective`` (pyscnn's value at U),
        ``subgrad_sq_norm`` (final squared min-norm subgradient), ``solve_time`` (seconds in
        the optimisation loop), ``setup_time`` (data conversion and pattern computation),
        ``history`` (pyscnn's metrics: ``objective``, ``grad_norm`` (squared), ``time``,
        recorded every ``metric_freq`` iterations).
    """
    t0 = time.perf_counter()
    ctx = _PyscnnContext(X, y, gates, alpha, max_iter, metric_freq, seed, verbose)
    setup_time = time.perf_counter() - t0
    U, info = ctx.solve(alpha, tol)
    info["setup_time"] = setup_time
    return U, info


def pyscnn_rfista_path(X, y, gates, alphas, *, tol, max_iter=10000, seed=778, verbose=False):
    """pyscnn's regularisation path (``scnn.optimize.optimize_path``, warm-started), float64.

    The same steps as ``optimize_path`` with ``unitize_data=False``: one internal model; for
    each ``alpha`` (in the given order) its regularizer is replaced by ``NeuronGL1(alpha)`` and
    a new R-FISTA procedure runs from the current weights with termination ``tol`` (as in
    :func:`pyscnn_rfista`).

    Returns ``U`` of shape (L, P, d) in our pattern order and ``info`` with ``n_iter`` (FISTA
    steps, all alphas together), ``n_iters`` (per alpha) and ``converged`` (per alpha).
    """
    from scnn.private.interface import build_internal_regularizer
    from scnn.regularizers import NeuronGL1

    alphas = np.asarray(alphas, dtype=np.float64).ravel()
    ctx = _PyscnnContext(X, y, gates, float(alphas[0]), max_iter, 10**9, seed, verbose)
    Us, n_iters, conv = [], [], []
    for a in alphas:
        ctx.internal.regularizer = build_internal_regularizer(NeuronGL1(float(a)))
        U, info = ctx.solve(float(a), tol)
        Us.append(U)
        n_iters.append(info["n_iter"])
        conv.append(info["converged"])
    info = {"n_iter": int(sum(n_iters)), "n_iters": n_iters, "converged": conv}
    return np.stack(Us), info


class _PyscnnContext:
    """pyscnn's data, internal model and pattern map, built once (``optimize_model`` steps)."""

    def __init__(self, X, y, gates, alpha, max_iter, metric_freq, seed, verbose):
        import lab
        from scnn.models import ConvexGatedReLU
        from scnn.private.interface import build_internal_model, process_data, set_device
        from scnn.regularizers import NeuronGL1

        X = np.ascontiguousarray(X, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64).ravel()
        G = np.ascontiguousarray(gates, dtype=np.float64)
        d = X.shape[1]
        if G.ndim != 2 or G.shape[0] != d:
            raise ValueError(f"gates must have shape (d, P) = ({d}, P); got {G.shape}.")
        P = G.shape[1]
        our_masks = (X @ G) >= 0

        self.logger = logging.getLogger("benchmarks.peers.pyscnn")
        self.logger.setLevel(logging.INFO if verbose else logging.ERROR)
        set_device("cpu", "float64", seed)  # numpy backend of `lab`, global dtype float64

        self.model = ConvexGatedReLU(G, c=1, bias=False)
        (self.train, self.test, _) = process_data(X, y, None, None, False, self.model.bias)[:3]
        self.internal = build_internal_model(self.model, NeuronGL1(float(alpha)), self.train[0])
        self.max_iter, self.metric_freq = int(max_iter), int(metric_freq)
        self.P, self.d = P, d

        # Map pyscnn's (sorted, deduplicated) patterns back to our columns.
        G_int = np.asarray(lab.to_np(self.internal.U), dtype=np.float64)  # (d, P')
        D_int = np.asarray(lab.to_np(self.internal.D)) > 0  # (n, P')
        where = {G[:, i].tobytes(): i for i in range(P)}
        idx = np.array([where.get(G_int[:, k].tobytes(), -1) for k in range(G_int.shape[1])])
        if (
            G_int.shape[1] != P
            or np.any(idx < 0)
            or np.unique(idx).size != P
            or not np.array_equal(D_int, our_masks[:, idx])
        ):
            raise ValueError(
                "pyscnn's activation patterns differ from 1[X g >= 0] for these gates (it uses "
                "X g > 0, merges duplicates and drops the all-zero pattern); the problems would "
                "not be identical."
            )
        self.idx = idx

    def solve(self, alpha, tol):
        """One R-FISTA run from the current weights with ``NeuronGL1(alpha)``; returns (U, info)."""
        import lab
        from scnn.metrics import Metrics
        from scnn.private.interface import (
            build_metrics_tuple,
            build_optimizer,
            update_public_metrics,
        )
        from scnn.regularizers import NeuronGL1
        from scnn.solvers import RFISTA

        solver = RFISTA(self.model, max_iters=self.max_iter, tol=float(tol))
        metrics = Metrics(metric_freq=self.metric_freq)
        opt_procedure = build_optimizer(solver, NeuronGL1(float(alpha)), metrics)
        metrics_tuple = build_metrics_tuple(metrics)

        t1 = time.perf_counter()
        exit_status, self.internal, internal_metrics = opt_procedure(
            self.logger, self.internal, lambda m: m, self.train, self.test, metrics_tuple
        )
        solve_time = time.perf_counter() - t1
        metrics = update_public_metrics(metrics, internal_metrics)

        W = np.asarray(lab.to_np(self.internal.weights), dtype=np.float64)  # (c=1, P', d)
        U = np.zeros((self.P, self.d))
        U[self.idx] = W[0]

        X_tr, y_tr = self.train
        grad = np.asarray(lab.to_np(self.internal.grad(X_tr, y_tr)), dtype=np.float64)
        subgrad_sq = float(np.sum(grad**2))
        iterations = int(exit_status.get("iterations", 0))
        stopped = bool(exit_status.get("success", False)) and iterations <= self.max_iter
        n_iter = iterations - 1 if stopped else iterations
        history = {
            k: np.asarray(getattr(metrics, k))
            for k in ("objective", "grad_norm", "time")
            if hasattr(metrics, k)
        }
        info = {
            "n_iter": n_iter,
            "iterations": iterations,
            "success": bool(exit_status.get("success", False)),
            "converged": subgrad_sq <= tol,
            "objective": float(self.internal.objective(X_tr, y_tr)),
            "subgrad_sq_norm": subgrad_sq,
            "tol": float(tol),
            "solve_time": solve_time,
            "history": history,
        }
        return U, info
