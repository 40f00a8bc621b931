"""What a user waits for: default and CV estimators on real data, cold and warm, against
scikit-learn's baselines in the same run, on the same pinned cores.

Each case runs in its own fresh Python process pinned to the given cores (``os.sched_setaffinity``
before numpy is imported; BLAS limited to that many threads): the first fit in the process is the
cold time (imports excluded, compilation included), a second identical fit the warm time. The
baseline of a case (``RidgeCV``, ``LogisticRegressionCV``, ``SVC``) runs in the same process the
same way, so ratios compare like with like. Data: scikit-learn's breast_cancer, diabetes and
digits (a 75/25 split, ``random_state=0``, standardised on the training part) and KEEL magic
(``gatedrelu.datasets.load_keel``; a random subset of n rows, standardised), as the solver issue
measured them. Every result reports the certified relative gap of the fit and its held-out score.

    python benchmarks/bench_user_fits.py --cores 1 2 --out benchmarks/results/user_fits

writes ``user_fits.json`` and ``user_fits.md``. Run it on an idle machine.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

#: name -> (data, estimator expression, baseline expression or None)
CASES = {
    "GatedReLUClassifierCV breast_cancer": (
        "breast_cancer", "GatedReLUClassifierCV(random_state=0)", "LogisticRegressionCV()"),
    "GatedReLURegressorCV diabetes": (
        "diabetes", "GatedReLURegressorCV(random_state=0)", "RidgeCV()"),
    "GatedReLUClassifier breast_cancer": (
        "breast_cancer", "GatedReLUClassifier(random_state=0)", "LogisticRegression()"),
    "GatedReLUClassifier(loss='multinomial') breast_cancer": (
        "breast_cancer", "GatedReLUClassifier(loss='multinomial', random_state=0)", None),
    "GatedReLUClassifier(loss='multinomial') digits": (
        "digits", "GatedReLUClassifier(loss='multinomial', random_state=0)",
        "LogisticRegression(max_iter=1000)"),
    "ConvexReLUClassifier breast_cancer": (
        "breast_cancer", "ConvexReLUClassifier(random_state=0)", "SVC()"),
    "ConvexReLURegressor diabetes": (
        "diabetes", "ConvexReLURegressor(random_state=0)", "RidgeCV()"),
    "GatedReLUClassifier(alpha=1e-3, 200 gates) magic n 4000": (
        "magic:4000", "GatedReLUClassifier(alpha=1e-3, n_gates=200, random_state=0)", None),
    "GatedReLUClassifier(alpha=1e-3, 200 gates) magic n 16000": (
        "magic:16000", "GatedReLUClassifier(alpha=1e-3, n_gates=200, random_state=0)", None),
    "GatedReLUClassifier(alpha=1e-3, 200 gates, logistic) magic n 16000": (
        "magic:16000",
        "GatedReLUClassifier(alpha=1e-3, n_gates=200, loss='logistic', random_state=0)", None),
}

_WORKER = r"""
import json, os, sys, time, warnings
spec = json.loads(sys.argv[1])
os.sched_setaffinity(0, set(spec["cores"]))
import numpy as np
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler
from sklearn.linear_model import LogisticRegression, LogisticRegressionCV, RidgeCV
from sklearn.svm import SVC
from gatedrelu import (ConvexReLUClassifier, ConvexReLURegressor, GatedReLUClassifier,
                       GatedReLUClassifierCV, GatedReLURegressor, GatedReLURegressorCV)

def data(name):
    if name.startswith("magic:"):
        from gatedrelu.datasets import load_keel
        n = int(name.split(":")[1])
        d = load_keel("magic")
        X, y = (d.data, d.target) if hasattr(d, "data") else d
        idx = np.random.default_rng(0).permutation(len(y))[:n]
        X = StandardScaler().fit_transform(X[idx])
        return X, X, y[idx], y[idx]
    from sklearn import datasets
    X, y = getattr(datasets, "load_" + name)(return_X_y=True)
    Xtr, Xte, ytr, yte = train_test_split(X, y, random_state=0)
    sc = StandardScaler().fit(Xtr)
    return sc.transform(Xtr), sc.transform(Xte), ytr, yte

def timed(expr, Xtr, Xte, ytr, yte):
    out = {}
    for run in ("cold", "warm"):
        est = eval(expr)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            t = time.perf_counter()
            est.fit(Xtr, ytr)
            out[run] = time.perf_counter() - t
        out["warnings"] = sorted({type(w.message).__name__ for w in caught
                                  if not issubclass(w.category, FutureWarning)})
    out["score"] = float(est.score(Xte, yte))
    if hasattr(est, "dual_gap_") and getattr(est, "objective_", None):
        out["relative_gap"] = float(est.dual_gap_ / est.objective_)
    return out

Xtr, Xte, ytr, yte = data(spec["data"])
res = {"ours": timed(spec["estimator"], Xtr, Xte, ytr, yte)}
if spec["baseline"]:
    res["baseline"] = timed(spec["baseline"], Xtr, Xte, ytr, yte)
print("RESULT " + json.dumps(res))
"""


def run_case(name: str, cores: list[int]) -> dict:
    data, estimator, baseline = CASES[name]
    spec = dict(data=data, estimator=estimator, baseline=baseline, cores=cores)
    threads = str(len(cores))
    env = dict(os.environ, OPENBLAS_NUM_THREADS=threads, OMP_NUM_THREADS=threads,
               MKL_NUM_THREADS=threads,
               XLA_FLAGS=f"--xla_cpu_multi_thread_eigen={'true' if len(cores) > 1 else 'false'}")
    proc = subprocess.run([sys.executable, "-c", _WORKER, json.dumps(spec)], capture_output=True,
                          text=True, env=env, timeout=3600)
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT "):])
    raise RuntimeError(f"{name} on cores {cores} failed:\n{proc.stderr[-3000:]}")


def table(results: dict) -> str:
    lines = ["| case | cores | ours cold (s) | ours warm (s) | baseline | baseline cold (s) | "
             "baseline warm (s) | ratio cold | ratio warm | certified rel. gap | score (ours / "
             "baseline) |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for key, r in results.items():
        name, cores = key.rsplit(" @", 1)
        o, b = r["ours"], r.get("baseline")
        base = CASES[name][2] or "-"
        if b:
            cells = [f"{b['cold']:.3f}", f"{b['warm']:.3f}", f"{o['cold'] / b['cold']:.1f}x",
                     f"{o['warm'] / b['warm']:.1f}x"]
            score = f"{o['score']:.4f} / {b['score']:.4f}"
        else:
            cells = ["-"] * 4
            score = f"{o['score']:.4f}"
        gap = f"{o['relative_gap']:.1e}" if "relative_gap" in o else "-"
        warn = f" ({', '.join(o['warnings'])})" if o["warnings"] else ""
        lines.append(f"| {name}{warn} | {cores} | {o['cold']:.2f} | {o['warm']:.2f} | {base} | "
                     + " | ".join(cells) + f" | {gap} | {score} |")
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cores", nargs="+", type=int, default=[1, 2],
                    help="numbers of pinned cores to run each case on (cores 0..k-1)")
    ap.add_argument("--cases", nargs="+", default=list(CASES), choices=list(CASES),
                    metavar="CASE")
    ap.add_argument("--out", default="benchmarks/results/user_fits",
                    help="path prefix of the .json and .md results")
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    path = out.with_suffix(".json")
    results = json.loads(path.read_text()) if path.exists() else {}
    for k in args.cores:
        for name in args.cases:
            key = f"{name} @{k}"
            results[key] = run_case(name, list(range(k)))
            print(key, json.dumps(results[key]), flush=True)
            path.write_text(json.dumps(results, indent=1))
    out.with_suffix(".md").write_text(
        "# User fits: cold and warm, against scikit-learn in the same process\n\n"
        "`python benchmarks/bench_user_fits.py` (see its docstring). Times in seconds on pinned "
        "cores; ratio = ours / baseline.\n\n" + table(results) + "\n")


if __name__ == "__main__":
    main()
