"""What every part of the command line shares: :class:`CliError`, the command types and the options' values."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import NamedTuple


class CliError(Exception):
    """A user error: printed as one line on stderr, exit status 2."""


class Command(NamedTuple):
    """One subcommand defined in this package (``fit``, ``predict``)."""

    help: str  # one-line description shown in ``gatedrelu --help``
    add_arguments: Callable[[argparse.ArgumentParser], None]  # adds the command's options
    run: Callable[[argparse.Namespace], int]  # does the work, returns the exit status


class ModuleCommand(NamedTuple):
    """One subcommand defined in another module, imported only when it is asked for."""

    target: str  # "module:function"
    help: str  # one-line description shown in ``gatedrelu --help`` (the module's HELP)
    extra: str | None = None  # the pip extra that provides ``requires``
    requires: tuple[str, ...] = ()  # top-level import names the command needs


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
