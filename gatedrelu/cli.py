"""Command-line interface: ``gatedrelu COMMAND [options]`` (also ``python -m gatedrelu``).

Commands
--------
``fit``
    Fit a gated ReLU network (or the optimal-kernel MKL model) on a CSV file, save it to
    ``DIR/model.npz`` (format: :mod:`gatedrelu.io`) and print a short summary.
``predict``
    Predict with a saved model; writes ``DIR/predictions.csv``.

Every command has ``--help`` and ``--out DIR`` (default: the current directory; created if
needed). Exit status: 0 on success, 2 for a usage or input error (bad option, bad CSV, bad model
file), reported as one line on stderr; ``gatedrelu --debug COMMAND ...`` shows the traceback
instead.

CSV input
---------
Comma-separated text (UTF-8) with a header row of distinct column names. The target is the
column named by ``--target`` (default: the last column); every other column is a feature and
must hold finite numbers. Blank lines are skipped; empty fields are errors (no imputation).
``--task auto`` (the default) means regression when every target value is a number, else
classification. Class labels that are all integers become ints, otherwise they stay strings
(``"setosa"``) and round-trip through the model file. ``predict`` picks the model's feature
columns by name when the CSV has them (so the training CSV, target column included, can be
passed as is), else uses every column when their number matches the model.

Defaults
--------
``fit`` uses ``--n-gates 100 --alpha 1e-2 --random-state 0``: ``alpha`` is ten times the
estimators' default so that the solver converges well within its iteration limit on unscaled
features such as iris's (centimetres); the CLI does not rescale features.

Embedded data
-------------
Without ``--data``, ``fit`` uses data shipped with the package or with scikit-learn (no download):

* regression (the default): ``gatedrelu/data/planted_regression.csv``, 300 rows, features
  ``x0..x4``, target ``y``; written once by
  ``make_planted(n_samples=300, n_features=5, n_hidden=4, noise=0.1, random_state=0)``
  (4-unit ReLU teacher plus Gaussian noise), values rounded to 6 decimals;
* ``--task classification``: iris (:func:`sklearn.datasets.load_iris`), 150 rows, 4 features,
  target ``species`` with the string labels setosa / versicolor / virginica.

``predict`` without ``--data`` predicts on the features of the data set the model was fitted on
when that was embedded, else on iris for a classifier and the planted data for a regressor.

Adding a command
----------------
Add one entry to :data:`COMMAND_MODULES`, ``name -> "module:function"``. The module defines

* ``add_arguments(parser: argparse.ArgumentParser) -> None``: its options. ``--out DIR`` is
  already added (default ``.``, a :class:`~pathlib.Path`); a module may redefine it, e.g. to
  change its default.
* ``function(args: argparse.Namespace) -> int`` (the name after the colon, e.g. ``main``): runs
  the command and returns the exit status. Raise :class:`CliError` (or ``ValueError`` /
  ``OSError``) for a user error: it is printed as one line, exit status 2.
* ``HELP = "one line"`` (optional; else the first line of the module docstring).

Modules are imported when the parser is built. A command whose module cannot be imported (or
lacks those functions) is not listed; asking for it by name prints why it is unavailable (exit
status 2) and never affects the other commands.
"""

from __future__ import annotations

import argparse
import csv
import importlib
import importlib.resources
import math
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import numpy as np
from sklearn.base import is_classifier

from . import __version__
from .estimators import GatedReLUClassifier, GatedReLURegressor
from .io import load_model, read_metadata, save_model

__all__ = ["COMMANDS", "COMMAND_MODULES", "CliError", "Command", "main", "read_csv"]


class CliError(Exception):
    """A user error: printed as one line on stderr, exit status 2."""


class Command(NamedTuple):
    """One subcommand."""

    help: str  # one-line description shown in ``gatedrelu --help``
    add_arguments: Callable[[argparse.ArgumentParser], None]  # adds the command's options
    run: Callable[[argparse.Namespace], int]  # does the work, returns the exit status


#: Commands defined in other modules, ``name -> "module:function"``, imported when the parser is
#: built (see the module docstring).
COMMAND_MODULES = {
    "compare": "gatedrelu.experiments.compare:main",
    "consistency": "gatedrelu.experiments.consistency:main",
    "bench": "gatedrelu.bench.solver:main",
}

TASKS = ("auto", "regression", "classification")
MODELS = ("gated-relu", "mkl")
EMBEDDED = ("planted_regression", "iris")
MODEL_FILE = "model.npz"
PREDICTIONS_FILE = "predictions.csv"


# ---------------------------------------------------------------------------------------------
# CSV tables
# ---------------------------------------------------------------------------------------------


class Table(NamedTuple):
    """A CSV file as text: header, rows of stripped fields, and where each row came from."""

    columns: list[str]  # header, distinct non-empty names
    rows: list[list[str]]  # data rows, each with len(columns) fields
    lines: list[int]  # file line number of each row (header is line 1), for messages
    source: str  # file name or "embedded <name>", for messages

    def column(self, name: str) -> list[str]:
        j = self.columns.index(name)
        return [row[j] for row in self.rows]

    def floats(self, name: str) -> np.ndarray:
        """Column ``name`` as float64 of shape (n_rows,); CliError naming the first bad field."""
        out = np.empty(len(self.rows))
        for i, token in enumerate(self.column(name)):
            where = f"{self.source}, line {self.lines[i]}, column {name!r}"
            if not token:
                raise CliError(f"{where}: empty value (missing values are not supported).")
            try:
                value = float(token)
            except ValueError:
                raise CliError(f"{where}: {token!r} is not a number.") from None
            if not math.isfinite(value):
                raise CliError(f"{where}: {token!r} is not a finite number.")
            out[i] = value
        return out

    def matrix(self, names: list[str]) -> np.ndarray:
        """Columns ``names`` as float64 of shape (n_rows, len(names))."""
        return np.column_stack([self.floats(name) for name in names])


def read_csv(path) -> Table:
    """Read a CSV file with a header row (see the module docstring); CliError if malformed."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            return _parse_csv(fh, str(path))
    except UnicodeDecodeError as exc:
        raise CliError(f"{path}: not a UTF-8 text file ({exc.reason}).") from None


def _parse_csv(fh, source: str) -> Table:
    header, rows, lines = None, [], []
    reader = csv.reader(fh)
    try:
        for row in reader:
            row = [field.strip() for field in row]
            if not any(row):
                continue
            if header is None:
                header = row
                continue
            if len(row) != len(header):
                raise CliError(
                    f"{source}, line {reader.line_num}: {len(row)} fields, but the header has "
                    f"{len(header)}."
                )
            rows.append(row)
            lines.append(reader.line_num)
    except csv.Error as exc:
        raise CliError(f"{source}: malformed CSV ({exc}).") from None
    if header is None:
        raise CliError(f"{source}: the CSV file is empty (a header row is needed).")
    if not all(header):
        raise CliError(f"{source}: the header has an empty column name.")
    duplicates = sorted({name for name in header if header.count(name) > 1})
    if duplicates:
        raise CliError(f"{source}: duplicate column names {', '.join(map(repr, duplicates))}.")
    if not rows:
        raise CliError(f"{source}: the CSV file has a header but no data rows.")
    return Table(header, rows, lines, source)


def embedded_table(name: str) -> Table:
    """The embedded data set ``name`` (one of EMBEDDED) as a Table."""
    if name == "planted_regression":
        resource = importlib.resources.files("gatedrelu").joinpath("data/planted_regression.csv")
        with resource.open("r", encoding="utf-8", newline="") as fh:
            return _parse_csv(fh, "embedded planted_regression")
    if name == "iris":
        from sklearn.datasets import load_iris

        iris = load_iris()
        columns = [*iris.feature_names, "species"]
        rows = [
            [repr(float(v)) for v in x] + [str(iris.target_names[t])]
            for x, t in zip(iris.data, iris.target, strict=True)
        ]
        return Table(columns, rows, list(range(2, len(rows) + 2)), "embedded iris")
    raise ValueError(f"Unknown embedded data set {name!r}; expected one of {EMBEDDED}.")


# ---------------------------------------------------------------------------------------------
# fit
# ---------------------------------------------------------------------------------------------


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
        help="auto: regression if the target is numeric, else classification (default: auto)",
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
        type=int,
        default=100,
        help="number of sampled gates (default: 100)",
    )
    parser.add_argument(
        "--alpha", metavar="A", type=float, default=1e-2, help="weight decay (default: 1e-2)"
    )
    parser.add_argument(
        "--random-state",
        metavar="S",
        type=int,
        default=0,
        help="seed of the gate sampling (default: 0)",
    )


def _run_fit(args: argparse.Namespace) -> int:
    task = args.task
    if args.data is None:
        dataset = "iris" if task == "classification" else "planted_regression"
        table, source = embedded_table(dataset), f"embedded:{dataset}"
    else:
        table, source = read_csv(args.data), str(args.data)
    target = table.columns[-1] if args.target is None else args.target
    if target not in table.columns:
        raise CliError(
            f"{table.source}: no target column {target!r}; columns are "
            f"{', '.join(map(repr, table.columns))}."
        )
    features = [c for c in table.columns if c != target]
    if not features:
        raise CliError(f"{table.source}: no feature columns besides the target {target!r}.")
    X = table.matrix(features)
    task, y = _targets(table, target, task)

    estimator = _make_estimator(args.model, task, args)
    name = type(estimator).__name__
    print(
        f"fitting {name} on {X.shape[0]} samples x {X.shape[1]} features...",
        file=sys.stderr,
        flush=True,
    )
    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        estimator.fit(X, y)
    seconds = time.perf_counter() - start
    for warning in caught:  # one line each, without the source line Python would print
        print(f"warning: {warning.category.__name__}: {warning.message}", file=sys.stderr)
    score = estimator.score(X, y)

    args.out.mkdir(parents=True, exist_ok=True)
    path = save_model(
        estimator,
        args.out / MODEL_FILE,
        extra={"cli": {"task": task, "target": target, "feature_names": features, "data": source}},
    )
    patterns = getattr(estimator, "patterns_", None)
    n_patterns = patterns.n_patterns if patterns is not None else _shape0(estimator, "coef_")
    lines = [
        ("model", f"{name} ({task}, target {target!r})"),
        ("data", f"{table.source} ({X.shape[0]} samples, {X.shape[1]} features)"),
        ("patterns", n_patterns),
        ("active neurons", getattr(estimator, "n_active_neurons_", "n/a")),
        ("objective", _number(getattr(estimator, "objective_", None), ".6g")),
        ("dual gap", _number(getattr(estimator, "dual_gap_", None), ".2e")),
        ("training " + ("accuracy" if task == "classification" else "R^2"), f"{score:.4f}"),
        ("fit time", f"{seconds:.2f} s"),
        ("model file", path),
    ]
    width = max(len(key) for key, _ in lines) + 1
    for key, value in lines:
        print(f"{key + ':':<{width}} {value}")
    return 0


def _targets(table: Table, target: str, task: str):
    """Resolve ``task`` ("auto") and code the target column: floats, int labels or str labels."""
    if task in ("auto", "regression"):
        try:
            return "regression", table.floats(target)
        except CliError as exc:
            if task == "regression":
                raise CliError(
                    f"{exc} Regression needs a numeric target; "
                    "use --task classification for class labels."
                ) from None
    tokens = table.column(target)
    if not all(tokens):
        i = tokens.index("")
        raise CliError(f"{table.source}, line {table.lines[i]}, column {target!r}: empty label.")
    try:
        return "classification", np.array([int(t) for t in tokens], dtype=np.int64)
    except ValueError:
        return "classification", np.array(tokens, dtype=str)


def _make_estimator(model: str, task: str, args: argparse.Namespace):
    kwargs = dict(n_gates=args.n_gates, alpha=args.alpha, random_state=args.random_state)
    classification = task == "classification"
    if model == "gated-relu":
        return (GatedReLUClassifier if classification else GatedReLURegressor)(**kwargs)
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


# ---------------------------------------------------------------------------------------------
# predict
# ---------------------------------------------------------------------------------------------


def _predict_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--model-file",
        metavar="PATH",
        type=Path,
        required=True,
        help="model file written by 'gatedrelu fit' (or gatedrelu.io.save_model)",
    )
    parser.add_argument(
        "--data",
        metavar="CSV",
        type=Path,
        default=None,
        help="CSV with a header row holding the model's feature columns (other columns are "
        "ignored when the names match) (default: the embedded data)",
    )


def _run_predict(args: argparse.Namespace) -> int:
    estimator = load_model(args.model_file)
    info = read_metadata(args.model_file)["extra"].get("cli", {})
    if args.data is None:
        data = str(info.get("data", ""))
        dataset = data.removeprefix("embedded:")
        if not (data.startswith("embedded:") and dataset in EMBEDDED):
            dataset = "iris" if is_classifier(estimator) else "planted_regression"
        table = embedded_table(dataset)
    else:
        table = read_csv(args.data)
    X = table.matrix(_feature_columns(table, estimator, info.get("feature_names")))
    predictions = estimator.predict(X)

    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / PREDICTIONS_FILE
    write_predictions(path, predictions)
    print(f"wrote {len(predictions)} predictions of {type(estimator).__name__} to {path}")
    return 0


def _feature_columns(table: Table, estimator, names) -> list[str]:
    n_features = getattr(estimator, "n_features_in_", None)
    if isinstance(names, list) and names and all(name in table.columns for name in names):
        return names
    if len(table.columns) == n_features:
        return table.columns
    expected = f" named {', '.join(map(repr, names))}" if isinstance(names, list) and names else ""
    hint = " Pass --data with the model's features." if table.source.startswith("embedded") else ""
    raise CliError(
        f"{table.source} has columns {', '.join(map(repr, table.columns))}; the model expects "
        f"{n_features} feature columns{expected}.{hint}"
    )


def write_predictions(path, predictions: np.ndarray) -> None:
    """Write predictions of shape (n,) or (n, k) as CSV; floats in round-trip precision."""
    predictions = np.asarray(predictions)
    if predictions.ndim == 1:
        header, rows = ["prediction"], [[v] for v in predictions.tolist()]
    else:
        header = [f"prediction_{k}" for k in range(predictions.shape[1])]
        rows = predictions.tolist()
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows([[repr(v) if isinstance(v, float) else v for v in row] for row in rows])


# ---------------------------------------------------------------------------------------------
# Registry and entry point
# ---------------------------------------------------------------------------------------------

#: Commands defined in this module.
COMMANDS = {
    "fit": Command("fit a model on a CSV file and save DIR/model.npz", _fit_arguments, _run_fit),
    "predict": Command(
        "predict with a saved model and write DIR/predictions.csv",
        _predict_arguments,
        _run_predict,
    ),
}


def available_commands() -> tuple[dict[str, Command], dict[str, str]]:
    """Usable commands, and the reason each command of COMMAND_MODULES that is not usable isn't."""
    commands, unavailable = dict(COMMANDS), {}
    for name, target in COMMAND_MODULES.items():
        module_name, _, function = target.partition(":")
        try:
            module = importlib.import_module(module_name)
            doc = (module.__doc__ or "").strip().splitlines()
            run, add_arguments = getattr(module, function), module.add_arguments
            if not (callable(run) and callable(add_arguments)):
                raise TypeError(f"{target} or {module_name}:add_arguments is not callable")
            add_arguments(argparse.ArgumentParser(conflict_handler="resolve"))  # trial run
            commands[name] = Command(
                getattr(module, "HELP", None) or (doc[0] if doc else ""), add_arguments, run
            )
        except Exception as exc:  # noqa: BLE001 - a broken command must not break the others
            unavailable[name] = f"{target} cannot be used ({type(exc).__name__}: {exc})"
    return commands, unavailable


def build_parser(commands: dict[str, Command]) -> argparse.ArgumentParser:
    """The argparse parser with one subcommand per entry of ``commands``."""
    parser = argparse.ArgumentParser(
        prog="gatedrelu",
        description="Globally optimal two-layer gated ReLU networks (convex group lasso).",
    )
    parser.add_argument("--version", action="version", version=f"gatedrelu {__version__}")
    parser.add_argument(
        "--debug", action="store_true", help="show tracebacks instead of one-line error messages"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, command in commands.items():
        p = sub.add_parser(
            name, help=command.help, description=command.help, conflict_handler="resolve"
        )
        p.add_argument(
            "--out",
            metavar="DIR",
            type=Path,
            default=Path("."),
            help="output directory, created if needed (default: current directory)",
        )
        command.add_arguments(p)
        p.set_defaults(_gatedrelu_run=command.run)
    return parser


def main(argv=None) -> int:
    """Run the command line ``argv`` (default ``sys.argv[1:]``); returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    commands, unavailable = available_commands()
    name = next((a for a in argv if not a.startswith("-")), None)
    if name in unavailable:
        print(
            f"gatedrelu: the {name!r} command is unavailable: {unavailable[name]}", file=sys.stderr
        )
        return 2
    parser = build_parser(commands)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version and usage errors
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    try:
        return int(args._gatedrelu_run(args) or 0)
    except (CliError, ValueError, OSError) as exc:
        if args.debug:
            raise
        message = " ".join(str(exc).split())
        print(f"gatedrelu {args.command}: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("gatedrelu: interrupted", file=sys.stderr)
        return 130
