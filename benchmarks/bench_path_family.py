"""Which family of kernels between the NTK and the optimal kernel selects better by CV?

    python benchmarks/bench_path_family.py                 # -> benchmarks/results/path_family.{json,md}
    python benchmarks/bench_path_family.py --quick --out /tmp/pf

Two candidate families joining the same end points, the NTK weights ``eta_0 = t* mu_NTK`` and the
optimal weights ``eta_*`` (IRLS from ``eta_0`` to a relative gap of 1e-6):

* ``irls``: the IRLS iterates ``eta_k``, k in ``DEFAULT_ITERATES`` of
  :mod:`gatedrelu.mkl_path_cv` (0, 1, 2, 4, 8, 16, 32 and the converged end): what
  ``MKLPathClassifierCV`` selects from;
* ``geometric``: ``eta_s = eta_0^(1 - s) eta_*^s`` (interpolation in log space; a weight that is 0
  at the optimum is 0 for every s > 0), s in 0, 1/8, 1/4, 1/2, 3/4, 7/8, 1, each shape at its
  optimal scale (``scale_shape``).

For every data set and seed (the compare experiment's split, scaler, gates and stratified
3-fold CV on the training split), each family picks ``(alpha, candidate)`` by the mean fold
accuracy (first best in grid order, as GridSearchCV), is refitted on the whole training split the
same way, and is scored on the test split. The two families' test accuracies are paired over
(data set, seed) and compared with the Wilcoxon signed-rank test
(:func:`gatedrelu.experiments.stats.paired_comparison`). BLAS is limited to one thread; tasks run
in ``--n-jobs`` processes.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_OUT = os.path.join(HERE, "results")
DATASETS = ("australian", "bupa", "heart", "ionosphere", "iris", "monk-2", "pima", "sonar",
            "vehicle", "wdbc", "wine", "wisconsin")
FRACTIONS = (0.0, 0.125, 0.25, 0.5, 0.75, 0.875, 1.0)


def _candidates(Xb, T, patterns, alpha, options):
    """The candidate weight vectors of both families on (Xb, T) at alpha, from one IRLS path."""
    import numpy as np

    from gatedrelu.mkl import irls, scale_shape
    from gatedrelu.mkl_path_cv import DEFAULT_ITERATES

    path = irls(Xb, T, patterns, alpha, init="ntk", **options)
    hist = path.weights_history
    start, end = hist[0], hist[-1]
    iterates = [hist[min(k, path.n_iter)] if k != "optimal" else end for k in DEFAULT_ITERATES]
    geometric = []
    for s in FRACTIONS:
        if s in (0, 1):
            geometric.append(start if s == 0 else end)
            continue
        with np.errstate(divide="ignore"):
            shape = np.exp((1 - s) * np.log(start) + s * np.log(end))
        geometric.append(scale_shape(Xb, T, patterns, alpha, shape)[0])
    return {"irls": iterates, "geometric": geometric}


def _fit_predict(Xb, T, patterns, alpha, eta, Xb_test):
    from gatedrelu.mkl import irls
    from gatedrelu.mkl_estimators import _network
    from gatedrelu.patterns import gate_masks

    coef = irls(Xb, T, patterns, alpha, init=eta, max_iter=0).coef
    return _network(Xb_test, gate_masks(Xb_test, patterns.gates), coef)


def run_task(dataset: str, seed: int, n_gates: int, alphas, cv: int) -> dict:
    import warnings

    import numpy as np
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.model_selection import StratifiedKFold
    from sklearn.preprocessing import StandardScaler
    from threadpoolctl import threadpool_limits

    from gatedrelu.estimators import add_bias, decode_scores, encode_labels
    from gatedrelu.experiments.compare import split
    from gatedrelu.patterns import activation_patterns, sample_gates

    class Labels:  # what encode_labels writes classes_ to
        pass

    Xtr, Xte, ytr, yte = split(dataset, seed)
    gates = sample_gates(Xtr.shape[1] + 1, n_gates, random_state=seed)
    options = {"tol": 1e-6, "max_iter": 200, "verbose": 0}
    folds = list(StratifiedKFold(cv, shuffle=True, random_state=seed).split(Xtr, ytr))
    out = {"dataset": dataset, "seed": seed}
    t0 = time.perf_counter()
    with threadpool_limits(limits=1, user_api="blas"), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        from gatedrelu.mkl_path_cv import DEFAULT_ITERATES

        sizes = {"irls": len(DEFAULT_ITERATES), "geometric": len(FRACTIONS)}
        scores = {f: np.zeros((len(alphas), k, len(folds))) for f, k in sizes.items()}
        for j, (tr, va) in enumerate(folds):
            sc = StandardScaler().fit(Xtr[tr])
            Xb, Xv = add_bias(sc.transform(Xtr[tr]), True), add_bias(sc.transform(Xtr[va]), True)
            lab = Labels()
            T = encode_labels(lab, ytr[tr]).astype(float)
            patterns = activation_patterns(Xb, gates)
            for a, alpha in enumerate(alphas):
                for family, etas in _candidates(Xb, T, patterns, alpha, options).items():
                    for c, eta in enumerate(etas):
                        pred = _fit_predict(Xb, T, patterns, alpha, eta, Xv)
                        scores[family][a, c, j] = np.mean(decode_scores(lab.classes_, pred) == ytr[va])
        sc = StandardScaler().fit(Xtr)
        Xb, Xt = add_bias(sc.transform(Xtr), True), add_bias(sc.transform(Xte), True)
        lab = Labels()
        T = encode_labels(lab, ytr).astype(float)
        patterns = activation_patterns(Xb, gates)
        refit = {}  # alpha index -> both families' candidates (one IRLS path per chosen alpha)
        for family, s in scores.items():
            mean = s.mean(axis=2)
            a, c = divmod(int(np.argmax(mean.ravel())), mean.shape[1])
            if a not in refit:
                refit[a] = _candidates(Xb, T, patterns, alphas[a], options)
            eta = refit[a][family][c]
            pred = _fit_predict(Xb, T, patterns, alphas[a], eta, Xt)
            out[family] = dict(test_accuracy=float(np.mean(decode_scores(lab.classes_, pred) == yte)),
                               cv_accuracy=float(mean.max()), alpha=float(alphas[a]), candidate=c)
    out["seconds"] = time.perf_counter() - t0
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--datasets", nargs="+", default=list(DATASETS))
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--n-gates", type=int, default=200)
    ap.add_argument("--alphas", type=float, nargs="+", default=[1e-4, 1e-3, 1e-2, 3e-2, 0.1, 0.3, 1.0])
    ap.add_argument("--cv", type=int, default=3)
    ap.add_argument("--n-jobs", type=int, default=2)
    ap.add_argument("--quick", action="store_true", help="iris and wine, 2 seeds, 50 gates")
    ap.add_argument("--out", default=DEFAULT_OUT)
    args = ap.parse_args(argv)
    if args.quick:
        args.datasets, args.seeds, args.n_gates, args.alphas = ["iris", "wine"], 2, 50, [1e-2, 0.1]
    from joblib import Parallel, delayed

    from gatedrelu.experiments.stats import paired_comparison

    t0 = time.perf_counter()
    rows = Parallel(n_jobs=args.n_jobs)(
        delayed(run_task)(ds, s, args.n_gates, tuple(args.alphas), args.cv)
        for ds in args.datasets for s in range(args.seeds))
    wall = time.perf_counter() - t0
    geo = [r["geometric"]["test_accuracy"] for r in rows]
    irl = [r["irls"]["test_accuracy"] for r in rows]
    test = paired_comparison(geo, irl)
    cv_test = paired_comparison([r["geometric"]["cv_accuracy"] for r in rows],
                                [r["irls"]["cv_accuracy"] for r in rows])
    summary = dict(command="python benchmarks/bench_path_family.py " + " ".join(sys.argv[1:] if argv is None else argv),
                   n_tasks=len(rows), wall_seconds=wall, fractions=FRACTIONS,
                   test_geometric_minus_irls=test.__dict__, cv_geometric_minus_irls=cv_test.__dict__)
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "path_family.json"), "w") as fh:
        json.dump(dict(summary, rows=rows), fh, indent=1)
    lines = [
        "# Kernel path families: IRLS iterates against log-space interpolation", "",
        f"Command: `{summary['command']}`; {len(rows)} (data set, seed) tasks, {args.n_gates} gates, "
        f"alpha grid {' '.join(f'{a:g}' for a in args.alphas)}, {args.cv}-fold CV; wall time "
        f"{wall / 60:.1f} min.", "",
        "| data set | IRLS iterates: test accuracy (%) | geometric: test accuracy (%) | geometric - IRLS (pp) |",
        "|---|---|---|---|",
    ]
    for ds in args.datasets:
        mine = [r for r in rows if r["dataset"] == ds]
        a = sum(r["irls"]["test_accuracy"] for r in mine) / len(mine)
        b = sum(r["geometric"]["test_accuracy"] for r in mine) / len(mine)
        lines.append(f"| {ds} | {100 * a:.2f} | {100 * b:.2f} | {100 * (b - a):+.2f} |")
    lines += ["",
              f"Paired over all tasks: test accuracy geometric - IRLS = {100 * test.mean_diff:+.2f} pp "
              f"[{100 * test.ci_low:+.2f}, {100 * test.ci_high:+.2f}], Wilcoxon p = {test.p_value:.2g} "
              f"({test.verdict}); CV accuracy of the selected candidate: {100 * cv_test.mean_diff:+.2f} pp "
              f"[{100 * cv_test.ci_low:+.2f}, {100 * cv_test.ci_high:+.2f}], p = {cv_test.p_value:.2g}.", ""]
    with open(os.path.join(args.out, "path_family.md"), "w") as fh:
        fh.write("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
