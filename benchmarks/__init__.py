"""gatedrelu's benchmarks: scripts (``bench_*.py``) and the solver harness (:mod:`benchmarks.harness`).

Not part of the installed package: run them from a source checkout (see ``benchmarks/README.md``).
"""
