"""``gatedrelu fit``: its options, the fit, the saved model and the summary (with its warnings)."""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import sys
import time
from pathlib import Path

from ._common import LOSSES, MODEL_FILE, MODELS, TASKS, CliError
from .encoding import encode_features, guess_task
from .table import _csv_arguments, embedded_table, read_csv


def _count(text: str) -> int:
    """A positive count, also in ``1e3`` notation (argparse type)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value.is_integer() or value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive integer")
    return int(value)


def _folds(text: str) -> int:
    """``--cv``: 0 (off) or a number of folds >= 2."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value.is_integer() or value < 0 or value == 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not 0 or a number of folds >= 2")
    return int(value)




def _fit_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data",
        metavar="CSV",
        type=Path,
        default=None,
        help="training CSV with a header row (default: embedded data, see 'Embedded data')",
    )
    parser.add_argument(
        "--target",
        metavar="COLUMN",
        default=None,
        help="name of the target column (default: the last column)",
    )
    parser.add_argument(
        "--task",
        choices=TASKS,
        default="auto",
        help="auto: guessed with sklearn's type_of_target (text or few integer labels: "
        "classification, else regression) (default: auto)",
    )
    parser.add_argument(
        "--model",
        choices=MODELS,
        default="gated-relu",
        help="gated-relu: GatedReLU{Regressor,Classifier}; mkl: MKL{Regressor,Classifier}"
        " (kernel='optimal') (default: gated-relu)",
    )
    parser.add_argument(
        "--n-gates",
        metavar="N",
        type=_count,
        default=100,
        help="number of sampled gates (default: 100)",
    )
    parser.add_argument(
        "--alpha", metavar="A", type=float, default=1e-2,
        help="weight decay, in units of the target's scale for regression (default: 1e-2); "
        "ignored with --cv, which chooses it",
    )
    parser.add_argument(
        "--cv",
        metavar="K",
        type=_folds,
        default=0,
        help="choose alpha by K-fold cross-validation (GatedReLU{Regressor,Classifier}CV) and "
        "report the held-out score beside the training fit (default: 0, a fit at --alpha)",
    )
    parser.add_argument(
        "--loss",
        choices=LOSSES,
        default="squared",
        help="classification loss: squared (+1/-1 codes), logistic (two classes) or "
        "multinomial (softmax); the last two give probabilities in 'predict --proba' "
        "(default: squared; regression: squared only)",
    )
    parser.add_argument(
        "--random-state",
        metavar="S",
        type=int,
        default=0,
        help="seed of the gate sampling (default: 0)",
    )
    parser.add_argument(
        "--no-scale",
        dest="scale",
        action="store_false",
        help="fit on the raw features (default: standardise them with a StandardScaler saved "
        "in the model)",
    )
    _csv_arguments(parser)


def _run_fit(args: argparse.Namespace) -> int:
    import warnings

    from .._validation import check_gate_count
    from ..io import save_model
    from ..patterns import SinglePatternWarning

    if args.data is None:
        dataset = "iris" if args.task == "classification" else "planted_regression"
        table, source = embedded_table(dataset), f"embedded:{dataset}"
    else:
        table = read_csv(args.data, delimiter=args.delimiter, index_col=args.index_col)
        source = str(args.data)
    target = table.columns[-1] if args.target is None else args.target
    if target not in table.columns:
        raise CliError(
            f"{table.source}: no target column {target!r}; columns are "
            f"{', '.join(map(repr, table.columns))}."
        )
    features = [c for c in table.columns if c != target]
    if not features:
        raise CliError(f"{table.source}: no feature columns besides the target {target!r}.")
    table.missing(table.columns)  # every missing cell of the file in one message
    task, y, reason = guess_task(table, target, args.task)
    X, categories, encoded = encode_features(table, features)
    n_classes = len(set(y.tolist())) if task == "classification" else 0
    n_outputs = n_classes if n_classes > 2 else 1  # one score column per class beyond two
    check_gate_count(args.n_gates, X.shape[0], X.shape[1] + 1, n_outputs=n_outputs)

    estimator = _make_estimator(args.model, task, args)
    name = type(estimator).__name__
    model = estimator
    if args.scale:
        _check_standardisable(X, encoded)
        from sklearn.pipeline import Pipeline
        from sklearn.preprocessing import StandardScaler

        model = Pipeline([("scale", StandardScaler()), ("model", estimator)])
    print(
        f"fitting {name} on {X.shape[0]} samples x {X.shape[1]} features...",
        file=sys.stderr,
        flush=True,
    )
    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.fit(X, y)
    seconds = time.perf_counter() - start
    for warning in caught:  # one line each, without the source line Python would print
        if issubclass(warning.category, SinglePatternWarning):
            continue  # said below (_useless_fit), with the column names
        text = " ".join(str(warning.message).split())
        print(f"warning: {warning.category.__name__}: {text}", file=sys.stderr)
    score = model.score(X, y)
    held_out = _held_out(estimator, task, y, args)

    args.out.mkdir(parents=True, exist_ok=True)
    info = {
        "task": task,
        "target": target,
        "feature_names": features,
        "encoded_features": encoded,
        "categories": categories,
        "scaled": bool(args.scale),
        "delimiter": table.delimiter,
        "data": source,
    }
    path = save_model(model, args.out / MODEL_FILE, extra={"cli": info})
    patterns = getattr(estimator, "patterns_", None)
    n_patterns = patterns.n_patterns if patterns is not None else _shape0(estimator, "coef_")
    one_hot = ", ".join(f"{c!r} ({len(v)} levels)" for c, v in categories.items())
    data_line = f"{table.source} ({X.shape[0]} samples, {X.shape[1]} features)"
    if one_hot:
        data_line += f"; one-hot: {one_hot}"
    if table.notes:
        data_line += f"; {'; '.join(table.notes)}"
    lines = [
        ("model", f"{name} ({task}, target {target!r})"),
        ("task", f"{task} ({reason}; --task overrides)" if reason else f"{task} (--task)"),
        ("data", data_line),
        ("scaling", "StandardScaler (in the model file)" if args.scale else "none (--no-scale)"),
        ("patterns", n_patterns),
        ("active neurons", getattr(estimator, "n_active_neurons_", "n/a")),
        ("objective", _number(getattr(estimator, "objective_", None), ".6g")),
        ("dual gap", _number(getattr(estimator, "dual_gap_", None), ".2e")),
        ("alpha", _alpha_line(estimator, args)),
        ("training " + ("accuracy" if task == "classification" else "R^2"), f"{score:.4f}"),
        held_out,
        ("fit time", f"{seconds:.2f} s"),
        ("model file", path),
    ]
    width = max(len(key) for key, _ in lines) + 1
    for key, value in lines:
        print(f"{key + ':':<{width}} {value}")
    for message in _useless_fit(estimator, task, score, y, X, encoded, args):
        print(f"warning: {message}", file=sys.stderr)
    return 0


def _check_standardisable(X, names) -> None:
    """CliError naming the first column whose standardisation overflows: the scaler sums the
    squared deviations, beyond the range of float64 for values near 1e154 and above."""
    import numpy as np

    limit = np.sqrt(np.finfo(np.float64).max / (4 * X.shape[0]))
    big = np.max(np.abs(X), axis=0)
    if np.all(big <= limit):
        return
    j = int(np.argmax(big > limit))
    raise CliError(
        f"column {names[j]!r} has values up to {big[j]:.3g}: standardising it (StandardScaler) "
        f"squares them beyond the range of float64 (max {np.finfo(np.float64).max:.2g}). Divide "
        "the column by a power of ten, or pass --no-scale (the gated ReLU estimators rescale "
        "such data exactly)."
    )


def _useless_fit(estimator, task, score, y, X, names, args) -> list[str]:
    """Why the fitted model is useless, if it is: one line per reason."""
    import numpy as np

    from ..patterns import single_pattern_message

    out = []
    patterns = getattr(estimator, "patterns_", None)
    if patterns is not None:  # n_gates: the sampled gates (the linear part's zero gate is not one)
        message = single_pattern_message(
            patterns, X, n_gates=args.n_gates, names=names,
            remedy="drop --no-scale to standardise them.",
            far=np.inf if args.scale else 0.0)  # standardised columns are not far from zero
        if message is not None:
            out.append(message)
    if task == "regression" and score <= 0:
        out.append(
            f"training R^2 = {score:.4f} <= 0: the model is no better than predicting the mean "
            "of the target."
        )
    if task == "classification":
        _, counts = np.unique(y, return_counts=True)
        baseline = counts.max() / counts.sum()
        if score <= baseline:
            out.append(
                f"training accuracy {score:.4f} is no better than always predicting the most "
                f"frequent class ({baseline:.4f})."
            )
    return out


def _alpha_line(estimator, args) -> str:
    if args.cv:
        return f"{estimator.alpha_:.4g} (chosen by {args.cv}-fold cross-validation)"
    return f"{args.alpha:.4g} (--alpha; --cv K chooses it)"


def _held_out(estimator, task, y, args) -> tuple[str, str]:
    """The cross-validated score of the chosen alpha (``--cv``), or why there is none."""
    import numpy as np

    if not args.cv:
        return ("held-out score", "not computed (--cv K chooses alpha by K-fold "
                "cross-validation and reports it)")
    best = list(estimator.alphas_).index(estimator.alpha_)
    if task == "classification":
        return (f"{args.cv}-fold CV accuracy", f"{estimator.score_path_[best].mean():.4f}")
    mse = float(estimator.mse_path_[best].mean())
    r2 = 1.0 - mse / float(np.var(np.asarray(y, dtype=float)))
    return (f"{args.cv}-fold CV R^2", f"{r2:.4f} (1 - CV mean squared error {mse:.4g} / Var y)")


def _make_estimator(model: str, task: str, args: argparse.Namespace):
    kwargs = dict(n_gates=args.n_gates, alpha=args.alpha, random_state=args.random_state)
    classification = task == "classification"
    if args.loss != "squared" and not classification:
        raise CliError(f"--loss {args.loss} is for classification; regression uses the "
                       "squared loss.")
    if model == "gated-relu":
        from ..cv import GatedReLUClassifierCV, GatedReLURegressorCV
        from ..estimators import GatedReLUClassifier, GatedReLURegressor

        if classification:
            kwargs["loss"] = args.loss
        if args.cv:
            del kwargs["alpha"]
            return (GatedReLUClassifierCV if classification else GatedReLURegressorCV)(
                cv=args.cv, **kwargs)
        return (GatedReLUClassifier if classification else GatedReLURegressor)(**kwargs)
    if args.cv or args.loss != "squared":
        raise CliError("--cv and --loss are for --model gated-relu.")
    name = "MKLClassifier" if classification else "MKLRegressor"
    try:
        module = importlib.import_module("gatedrelu.mkl_estimators")
        cls = getattr(module, name)
    except (ImportError, AttributeError) as exc:
        raise CliError(
            f"--model mkl needs gatedrelu.{name}, which is not available ({exc})."
        ) from None
    return cls(kernel="optimal", **kwargs)


def _shape0(estimator, attr: str):
    value = getattr(estimator, attr, None)
    return value.shape[0] if hasattr(value, "shape") else "n/a"


def _number(value, fmt: str) -> str:
    return "n/a" if value is None else format(float(value), fmt)
