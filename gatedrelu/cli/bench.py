"""``gatedrelu bench``: the solver benchmark moved to ``benchmarks/`` of the source repository.

The benchmark harness (gatedrelu against pyscnn, adelie, skglm and CVXPY/Clarabel) is research
tooling, not part of the installed package: it lives in ``benchmarks/harness/`` of a source
checkout and runs as ``python benchmarks/bench_solver.py`` (see ``benchmarks/README.md``).

For one release ``gatedrelu bench`` keeps working where the harness can be found, that is when
gatedrelu is imported from a source checkout (the folder above the package holds
``benchmarks/harness/solver.py``): it warns (:class:`FutureWarning`) that the command moved and
runs the harness with the harness's own options. Elsewhere (an installed wheel) it says where the
harness lives and exits with status 2, before writing anything (``--help`` too).
"""

from __future__ import annotations

import argparse
import importlib
import sys
import warnings
from pathlib import Path

from ._common import CliError

HELP = "Solver benchmark (moved to benchmarks/ of a source checkout; this command is deprecated)"
#: Where the harness lives, for the messages.
REPOSITORY = "https://github.com/gatedrelu/gatedrelu"
MOVED = (
    "'gatedrelu bench' is deprecated and will be removed in the next release: the solver "
    "benchmark moved to benchmarks/ of the source repository; run "
    "'python benchmarks/bench_solver.py' from a checkout instead (same options)."
)


def harness_root() -> Path | None:
    """The source checkout holding ``benchmarks/harness/solver.py`` next to this package, or
    None (an installed package has no ``benchmarks/``)."""
    root = Path(__file__).resolve().parents[2]
    return root if (root / "benchmarks" / "harness" / "solver.py").is_file() else None


def _harness(root: Path):
    """``benchmarks.harness.solver`` of the checkout ``root`` (put on ``sys.path`` if needed)."""
    if str(root) not in sys.path:
        sys.path.append(str(root))
    module = importlib.import_module("benchmarks.harness.solver")
    found = Path(module.__file__).resolve()
    if root not in found.parents:
        raise ImportError(f"another 'benchmarks' package was imported ({found}), not {root}")
    return module


def _not_here() -> str:
    return (
        "the solver benchmark is not part of the installed package: it lives in benchmarks/ "
        f"of the source repository ({REPOSITORY}); clone it and run "
        "'python benchmarks/bench_solver.py --help' (see benchmarks/README.md)."
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The harness's options, from a source checkout; elsewhere :class:`CliError` saying where
    the harness lives (so ``gatedrelu bench ...``, ``--help`` included, exits with status 2)."""
    root = harness_root()
    if root is None:
        raise CliError(_not_here())
    parser.description = f"{HELP}. {MOVED}"
    _harness(root).add_arguments(parser)


def main(args: argparse.Namespace) -> int:
    """Run the harness of the checkout (:func:`add_arguments` found it), after the warning."""
    warnings.warn(MOVED, FutureWarning, stacklevel=2)
    return _harness(harness_root()).main(args)
