"""Logistic benchmark: gatedrelu's logistic group lasso against skglm and adelie's binomial grpnet.

    python benchmarks/bench_logistic.py              # writes benchmarks/results/logistic.{json,md,png}
    python benchmarks/bench_logistic.py --quick --cores 1 --out /tmp/logistic-smoke   # minutes

The same harness as the solver benchmark (``benchmarks/harness/solver.py``: every solver in its own
worker process pinned to core {0} and then {0, 1}, adelie in its own virtual environment, the same
saved ``.npz`` problem for all, a certified reference optimum, each solver's own tolerance swept
loose to tight and the time to relative suboptimality ``(F - F*) / F* <= 1e-6`` kept, warm and
cold), on the problems of ``loss="logistic"``:

* ``L1``, ``L1-0.01``: n = 5000, d = 50, 500 Gaussian gates, labels ``+1`` with probability
  ``sigmoid(3 f(x) / std f)`` for a planted ReLU teacher ``f`` (noisy, so never separable), at
  ``alpha = 0.05`` and ``0.01 x alpha_max``;
* ``L0`` (``--quick``): n = 500, d = 20, 100 gates, ``0.05 alpha_max``.

The objective, for every package, is gatedrelu's

    F(U) = (1/n) sum_k log(1 + exp(-y_k f_k)) + alpha * sum_i ||u_i||_2,   f = sum_i D_i X u_i,

(``docs/math.md``, "Logistic and multinomial losses"), evaluated by :func:`gatedrelu.objective` at
each solver's coefficients; the reference's lower bound is the dual value at the scaled
``-grad f`` (a mean binary entropy), computed by the harness in numpy. How each package's
regularisation maps onto our ``alpha`` (all average the loss over the samples, so no factor of n):

* **skglm** (``LogisticGroup`` + ``WeightedGroupL2(alpha, weights=1)`` on the expanded design
  ``[D_1 X, ..., D_P X]``, no intercept): its datafit is ``(1/n) sum log(1 + exp(-y Xw))`` and
  its penalty ``alpha sum_g ||w_g||``, so skglm's ``alpha`` = ours. Two solvers: ``GroupBCD``
  ("skglm") and ``GroupProxNewton`` ("skglm-newton", the one skglm recommends for this datafit).
* **adelie** (``grpnet(convex_relu(X, masks, gated=True), glm.binomial((y + 1) / 2),
  groups = 0, d, 2d, ..., alpha=1, penalty=ones, intercept=False)``): the binomial loss with
  adelie's default weights ``1/n`` is ``(1/n) sum (-b eta + log(1 + e^eta))`` with ``b`` in
  {0, 1}, which is our loss, and its penalty is ``lmda sum_g ||b_g||``: ``lmda`` = our ``alpha``.
  Its ``tol`` and ``irls_tol`` are swept together.
* gatedrelu: ``solve_group_lasso(X, y, patterns, alpha, loss="logistic")`` (default solver
  "auto"), its tolerance the certified relative duality gap.

Goal: gatedrelu at least as fast as the faster peer (warm ratio >= 1 against each). Run it on an
otherwise idle machine (the lead runs the timed version; see benchmarks/README.md).
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # the checkout

from benchmarks.harness import solver  # noqa: E402

PROBLEMS = ("L1", "L1-0.01")
QUICK = ("L0",)
PEERS = ("gatedrelu", "adelie", "skglm", "skglm-newton", "cvxpy")
GOALS = tuple((PROBLEMS + QUICK, peer, 1.0) for peer in ("adelie", "skglm", "skglm-newton"))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    solver.add_arguments(ap)
    ap.set_defaults(out=os.path.join(os.path.dirname(os.path.abspath(__file__)), "results"),
                    peers=list(PEERS))
    args = ap.parse_args(argv)
    problems = args.problems or (QUICK if args.quick else PROBLEMS)
    bad = [p for p in problems if solver.PROBLEMS[p].get("loss") != "logistic"]
    if bad:
        ap.error(f"not logistic problems: {', '.join(bad)} (choose among L1, L1-0.01, L0)")
    st = solver.settings_from_args(args)
    res = solver.run(problems, args.peers, settings=st, seed=args.seed, out_dir=args.out,
                     name="logistic", title="Logistic benchmark", goals=GOALS)
    print(solver.markdown(res))
    print(f"Results written to {os.path.join(args.out, 'logistic.json')}, logistic.md and "
          "logistic.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
