r"""Adapters for the benchmark peers: skglm's GroupBCD and adelie's grpnet.

pyscnn's R-FISTA is in :mod:`benchmarks.harness.peer_pyscnn` (it needs torch).

Every adapter solves exactly the group lasso (GL) of ``docs/math.md``

    F(U) = 1/(2n) ||sum_i D_i X u_i - y||^2 + alpha * sum_i ||u_i||_2,    U of shape (P, d),

with ``D_i = diag(masks[:, i])`` and returns ``U`` in that convention, so that
:func:`gatedrelu.objective` evaluated at the returned ``U`` is the peer's solution value.
The CVXPY + Clarabel reference is gatedrelu's own cvxpy solver (called by the harness).

This module imports only the standard library and numpy at module level: the benchmark worker
(:mod:`benchmarks.harness.worker`) loads it by file path inside adelie's own virtual environment,
where gatedrelu (and JAX) are not installed.

Installed versions this was written and checked against (see ``benchmarks/check_peers.py``):
pyscnn 0.0.10 (import name ``scnn``), linalg-backends 0.0.1b0 (import name ``lab``),
torch 2.13.0+cpu, skglm 0.5 (with numba 0.68.1), cvxpy 1.9.3, clarabel 0.11.1,
numpy 2.4.6, scipy 1.17.1, scikit-learn 1.9.1. No workaround or monkeypatch was needed:
pyscnn only imports torch (its CPU code path runs on the numpy backend of ``lab``), and skglm
0.5 works with these numpy/scipy/scikit-learn versions as installed.

skglm: ``GroupBCD`` with ``QuadraticGroup`` (``1/(2n)||y - Xw||^2``,
``skglm/datafits/group.py:10-69``) and ``WeightedGroupL2`` (``alpha sum_g weights_g
||w_g||``) is exactly what ``skglm.GroupLasso`` builds (``skglm/estimators.py:1572-1697``);
we call the solver directly so that its objective history and stopping value come back.
Its ``tol`` is compared with ``max_g dist(-grad_g, alpha * subdiff ||w_g||)``, the largest
group distance to the subdifferential (not squared; ``skglm/solvers/group_bcd.py:94-120``,
``skglm/penalties/block_separable.py:315-364``); ``max_iter`` counts outer working-set
iterations and ``max_epochs`` BCD epochs per working set.


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

import time

import numpy as np

__all__ = [
    "adelie_grpnet",
    "expanded_design",
    "skglm_group_lasso",
]


def expanded_design(X, masks) -> np.ndarray:
    """``[D_1 X, ..., D_P X]`` of shape (n, P*d): group ``i`` is columns ``i*d:(i+1)*d``."""
    X = np.asarray(X, dtype=float)
    M = np.asarray(masks, dtype=float)
    n, d = X.shape
    return (M[:, :, None] * X[:, None, :]).reshape(n, M.shape[1] * d)




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
