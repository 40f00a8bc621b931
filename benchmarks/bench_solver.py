"""Solver benchmark (R0, R1): gatedrelu vs pyscnn R-FISTA, CVXPY/Clarabel and skglm.

    python benchmarks/bench_solver.py            # writes benchmarks/results/solver.{json,md}

Same as ``gatedrelu bench --out benchmarks/results`` from a source checkout; the harness is
``benchmarks/harness/`` (``solver.py`` the driver, see its docstring and benchmarks/README.md).
adelie runs in its own virtual environment: ``--adelie-python PATH`` or
``GATEDRELU_ADELIE_PYTHON=PATH`` (without either, adelie is skipped).
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # the checkout

from benchmarks.harness import solver  # noqa: E402

if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    solver.add_arguments(ap)
    ap.set_defaults(out=os.path.join(os.path.dirname(os.path.abspath(__file__)), "results"))
    sys.exit(solver.main(ap.parse_args()))
