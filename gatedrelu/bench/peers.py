r"""Adapters for the benchmark peers: pyscnn's R-FISTA, skglm's GroupBCD, adelie's grpnet.

Every adapter solves exactly the group lasso (GL) of ``docs/math.md``

    F(U) = 1/(2n) ||sum_i D_i X u_i - y||^2 + alpha * sum_i ||u_i||_2,    U of shape (P, d),

with ``D_i = diag(masks[:, i])`` and returns ``U`` in that convention, so that
:func:`gatedrelu.objective` evaluated at the returned ``U`` is the peer's solution value.
The CVXPY + Clarabel reference is gatedrelu's own cvxpy solver (called by the harness).

This module imports only the standard library and numpy at module level: the benchmark worker
(:mod:`gatedrelu.bench.worker`) loads it by file path inside adelie's own virtual environment,
where gatedrelu (and JAX) are not installed.

Installed versions this was written and checked against (see ``benchmarks/check_peers.py``):
pyscnn 0.0.10 (import name ``scnn``), linalg-backends 0.0.1b0 (import name ``lab``),
torch 2.13.0+cpu, skglm 0.5 (with numba 0.68.1), cvxpy 1.9.3, clarabel 0.11.1,
numpy 2.4.6, scipy 1.17.1, scikit-learn 1.9.1. No workaround or monkeypatch was needed:
pyscnn only imports torch (its CPU code path runs on the numpy backend of ``lab``), and skglm
0.5 works with these numpy/scipy/scikit-learn versions as installed.

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

skglm: ``GroupBCD`` with ``QuadraticGroup`` (``1/(2n)||y - Xw||^2``,
``skglm/datafits/group.py:10-69``) and ``WeightedGroupL2`` (``alpha sum_g weights_g
||w_g||``) is exactly what ``skglm.GroupLasso`` builds (``skglm/estimators.py:1572-1697``);
we call the solver directly so that its objective history and stopping value come back.
Its ``tol`` is compared with ``max_g dist(-grad_g, alpha * subdiff ||w_g||)``, the largest
group distance to the subdifferential (not squared; ``skglm/solvers/group_bcd.py:94-120``,
``skglm/penalties/block_separable.py:315-364``); ``max_iter`` counts outer working-set
iterations and ``max_epochs`` BCD epochs per working set.

pyscnn path: ``scnn.optimize.optimize_path`` keeps ONE internal model and, for each
regularizer of the path, swaps ``internal_model.regularizer`` and runs a fresh optimizer from
the current weights (``optimize.py:339-357``); its ``warm_start`` argument is never read, so the
path is always warm-started (the step size restarts at its initial value for every lambda).
:func:`pyscnn_rfista_path` does exactly that, with ``unitize_data=False`` as above.

adelie (checked against adelie 1.1.52, in its own venv since it pins numpy < 2; references are to
files under ``site-packages/adelie``):

* Design. ``adelie.matrix.convex_relu(X, masks, gated=True)`` is the implicit matrix
  ``[D_1 X, ..., D_P X]`` (``matrix.py:390-420``): group ``i`` is columns ``i*d:(i+1)*d``,
  exactly our ``expanded_design``. It prefers F-ordered ``X`` (a C-ordered one only warns).
* Loss. ``adelie.glm.gaussian(y)`` with default weights ``w_i = 1/n`` is
  ``sum_i w_i (-y_i eta_i + eta_i^2/2) = 1/(2n)||y - eta||^2 - ||y||^2/(2n)`` (``glm.py:374-433``):
  our loss up to a constant, so the minimiser is the same.
* Penalty. ``grpnet`` minimises ``loss + lmda sum_g omega_g (a ||b_g|| + (1-a)/2 ||b_g||^2)``
  (``solver.py:388-403``). We pass ``alpha=1`` (pure group lasso), ``penalty=np.ones(P)``
  (the default would be ``sqrt(group size)``; it is not renormalised), ``groups = 0, d, 2d,
  ...``, ``intercept=False`` and ``lmda_path=[our alpha]``: then ``lmda == alpha`` exactly.
  Nothing is standardised (``convex_relu`` is used as is; only ``adelie.matrix.standardize``
  would). adelie's ``lmda_max`` equals our ``alpha_max``.
* Path. With a single lambda the solver still fits ``lmda_max`` first, then screens and solves at
  the requested value (``solver_base.hpp`` ``solve_core``); with a decreasing ``lmda_path`` it
  warm-starts along it (its native path). ``early_exit=False`` so that it never stops the path
  on deviance explained (``adev_tol``/``ddev_tol``).
* Termination. Block coordinate descent stops when ``max_g (sum_j var_gj dbeta_gj^2) / |g| <
  tol * y_var`` over a sweep (``solver_gaussian_pin_naive.hpp:102-110, 195-212``), with
  ``y_var = ||y||^2 / n`` here (no intercept): ``tol`` is relative to the variance of y and
  bounds squared coefficient changes weighted by the group's Gram eigenvalues. Screening adds
  groups until the KKT check ``||grad_g|| <= lmda`` passes for every unscreened group.
  ``max_iters`` (coordinate-descent sweeps, all lambdas together) raises when exceeded.
"""

from __future__ import annotations

import logging
import time

import numpy as np

__all__ = [
    "adelie_grpnet",
    "expanded_design",
    "pyscnn_rfista",
    "pyscnn_rfista_path",
    "skglm_group_lasso",
]


def expanded_design(X, masks) -> np.ndarray:
    """``[D_1 X, ..., D_P X]`` of shape (n, P*d): group ``i`` is columns ``i*d:(i+1)*d``."""
    X = np.asarray(X, dtype=float)
    M = np.asarray(masks, dtype=float)
    n, d = X.shape
    return (M[:, :, None] * X[:, None, :]).reshape(n, M.shape[1] * d)


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


# --------------------------------------------------------------------------------------------
# skglm GroupBCD
# --------------------------------------------------------------------------------------------


def skglm_group_lasso(
    X,
    y,
    masks,
    alpha,
    *,
    tol,
    max_iter=1000,
    max_epochs=10000,
    p0=10,
    return_info=False,
    loss="squared",
    solver="bcd",
):
    """Solve (GL) with skglm's ``GroupBCD`` on the expanded design ``[D_1 X, ..., D_P X]``.

    The datafit is ``QuadraticGroup`` (``1/(2n)||y - Aw||^2``), the penalty
    ``WeightedGroupL2(alpha, weights=1)`` with contiguous groups of size d, no intercept: the
    problem ``skglm.GroupLasso(groups=d, alpha=alpha, fit_intercept=False)`` solves.

    With ``loss="logistic"`` (``y`` = +1/-1) the datafit is ``LogisticGroup``,
    ``(1/n) sum_i log(1 + exp(-y_i (Aw)_i))`` (``skglm/datafits/single_task.py``, ``Logistic``:
    the mean over samples, like ours), so skglm's ``alpha`` is again ours. ``solver="newton"``
    uses ``GroupProxNewton`` (working sets of groups, a proximal Newton step on each, the
    solver skglm recommends for this datafit) instead of ``GroupBCD``; its ``tol`` has the same
    meaning and ``max_iter`` counts its outer iterations.

    ``tol`` is skglm's: stop when ``max_g`` (distance of ``-grad_g`` to the subdifferential of
    ``alpha ||w_g||``) ``<= tol``. ``max_iter`` = outer working-set iterations,
    ``max_epochs`` = BCD epochs per working set.

    Returns ``U`` (P, d), and ``(U, info)`` when ``return_info`` (``n_iter`` outer
    iterations run, ``stop_crit``, ``converged``, ``objective_history``, ``solve_time``).
    """
    from skglm.datafits import LogisticGroup, QuadraticGroup
    from skglm.penalties import WeightedGroupL2
    from skglm.solvers import GroupBCD, GroupProxNewton
    from skglm.utils.data import grp_converter

    X = np.asarray(X, dtype=np.float64)
    y = np.ascontiguousarray(np.asarray(y, dtype=np.float64).ravel())
    masks = np.asarray(masks, dtype=bool)
    d = X.shape[1]
    P = masks.shape[1]
    A = np.asfortranarray(expanded_design(X, masks))  # skglm's estimators use order='F'
    grp_indices, grp_ptr = grp_converter(d, P * d)
    if loss not in ("squared", "logistic"):
        raise ValueError(f"loss must be 'squared' or 'logistic', got {loss!r}")
    Datafit = QuadraticGroup if loss == "squared" else LogisticGroup
    datafit = Datafit(grp_ptr=grp_ptr, grp_indices=grp_indices)
    penalty = WeightedGroupL2(
        alpha=float(alpha), weights=np.ones(P), grp_ptr=grp_ptr, grp_indices=grp_indices
    )
    if solver == "bcd":
        solver = GroupBCD(
            max_iter=int(max_iter),
            max_epochs=int(max_epochs),
            p0=int(p0),
            tol=float(tol),
            fit_intercept=False,
            warm_start=False,
        )
    elif solver == "newton":
        solver = GroupProxNewton(p0=int(p0), max_iter=int(max_iter), tol=float(tol),
                                 fit_intercept=False, warm_start=False)
    else:
        raise ValueError(f"solver must be 'bcd' or 'newton', got {solver!r}")
    t0 = time.perf_counter()
    w, p_objs, stop_crit = solver.solve(A, y, datafit, penalty)
    solve_time = time.perf_counter() - t0
    U = np.asarray(w[: P * d]).reshape(P, d).copy()
    if not return_info:
        return U
    # GroupBCD preallocates p_objs with zeros (length max_iter); GroupProxNewton returns a list
    done = np.flatnonzero(np.asarray(p_objs))
    n_iter = int(done[-1] + 1) if done.size else 0
    info = {
        "n_iter": n_iter,
        "stop_crit": float(stop_crit),
        "converged": float(stop_crit) <= tol,
        "objective_history": np.asarray(p_objs[:n_iter]),
        "solve_time": solve_time,
        "tol": float(tol),
    }
    return U, info


# --------------------------------------------------------------------------------------------
# adelie grpnet (runs in adelie's own virtual environment)
# --------------------------------------------------------------------------------------------


def adelie_grpnet(
    X,
    y,
    gates,
    alphas,
    *,
    tol,
    max_iters=10**7,
    n_threads=1,
    return_info=False,
    loss="squared",
):
    """Solve (GL) at each of ``alphas`` with ``adelie.grpnet`` on ``convex_relu(X, masks, gated=True)``.

    ``loss="logistic"`` (``y`` = +1/-1) uses ``adelie.glm.binomial((y + 1) / 2)`` with its
    default weights ``1/n``: ``sum_i (1/n) (-b_i eta_i + log(1 + e^eta_i))`` with ``b_i`` in {0, 1}
    equals ``(1/n) sum_i log(1 + exp(-y_i eta_i))``, our loss, so ``lmda`` is again our ``alpha``.
    adelie then solves by IRLS (proximal Newton) around its coordinate descent; ``tol`` sets both
    its coordinate-descent ``tol`` and its ``irls_tol``.

    Parameters
    ----------
    X : (n, d) array; y : (n,) array
    gates : (d, P) array
        Representative gates; the masks are ``X @ gates >= 0`` (our convention), column ``i``
        being our pattern ``i``.
    alphas : float or 1-D array
        Our alpha(s), decreasing for a path; adelie's ``lmda`` equals our ``alpha`` (see the
        module docstring: unit penalty factors, ``alpha=1``, no intercept, gaussian weights 1/n).
    tol : float
        adelie's coordinate-descent tolerance (relative to ``y_var = ||y||^2 / n``).
    max_iters, n_threads : passed to ``grpnet`` (``n_threads`` also to ``convex_relu``).

    Returns
    -------
    U : (P, d) array for a scalar ``alphas``, else (L, P, d), in our pattern order.
    info : dict, when ``return_info``: ``n_iter`` (screen-fit-KKT rounds over all lambdas: adelie
        does not expose its coordinate-descent sweep count), ``lmdas`` (the lambdas adelie returned solutions for), ``lmda_max``,
        ``adelie_version``.
    """
    import adelie as ad

    scalar = np.ndim(alphas) == 0
    lmdas = np.atleast_1d(np.asarray(alphas, dtype=np.float64))
    X = np.asfortranarray(X, dtype=np.float64)
    y = np.ascontiguousarray(np.asarray(y, dtype=np.float64).ravel())
    G = np.asarray(gates, dtype=np.float64)
    n, d = X.shape
    masks = np.asfortranarray(X @ G >= 0)
    P = masks.shape[1]
    A = ad.matrix.convex_relu(X, masks, gated=True, n_threads=int(n_threads))
    if loss == "squared":
        glm, extra = ad.glm.gaussian(y), {}
    elif loss == "logistic":
        glm, extra = ad.glm.binomial((y > 0).astype(np.float64)), {"irls_tol": float(tol)}
    else:
        raise ValueError(f"loss must be 'squared' or 'logistic', got {loss!r}")
    state = ad.grpnet(
        A,
        glm,
        groups=np.arange(0, P * d, d),
        alpha=1.0,
        penalty=np.ones(P),
        lmda_path=lmdas,
        intercept=False,
        early_exit=False,
        tol=float(tol),
        max_iters=int(max_iters),
        n_threads=int(n_threads),
        progress_bar=False,
        **extra,
    )
    got = np.asarray(state.lmdas)
    order = np.sort(lmdas)[::-1]  # grpnet solves the path in decreasing order
    error = str(getattr(state, "error", "") or "")
    if error or got.shape != order.shape or not np.allclose(got, order, rtol=1e-12, atol=0):
        # adelie logs solver errors (e.g. max_iters reached) instead of raising them
        raise RuntimeError(
            f"adelie returned solutions for {got.size} of {order.size} lambdas"
            + (f": {error}" if error else "")
        )
    B = np.asarray(state.betas.toarray(), dtype=np.float64).reshape(len(got), P, d)
    # back to the caller's order of alphas
    rank = {float(v): k for k, v in enumerate(order)}
    U = B[[rank[float(a)] for a in lmdas]]
    U = U[0] if scalar else U
    if not return_info:
        return U
    info = {
        # adelie does not expose its coordinate-descent sweep count; this is the number of
        # screen-fit-KKT rounds (BASIL iterations) over all lambdas, lmda_max fit excluded
        "n_iter": int(len(state.benchmark_fit_active)),
        "lmdas": got.tolist(),
        "lmda_max": float(state.lmda_max),
        "adelie_version": getattr(ad, "__version__", None),
    }
    return U, info
