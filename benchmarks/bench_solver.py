"""Solver benchmark (R0, R1): gatedrelu vs pyscnn R-FISTA, CVXPY/Clarabel and skglm.

    python benchmarks/bench_solver.py            # writes benchmarks/results/solver.{json,md}

Same as ``gatedrelu bench --out benchmarks/results``; see gatedrelu/bench/solver.py.
"""

import argparse
import os
import sys

from gatedrelu.bench import solver

if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    solver.add_arguments(ap)
    ap.set_defaults(out=os.path.join(os.path.dirname(os.path.abspath(__file__)), "results"))
    sys.exit(solver.main(ap.parse_args()))
