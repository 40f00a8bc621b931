"""Benchmark harness: solver comparisons against the peers, run from a source checkout.

:mod:`~benchmarks.harness.solver` drives a run (``python benchmarks/bench_solver.py``, or
``gatedrelu bench`` from the checkout); :mod:`~benchmarks.harness.problems` holds the problems and
the independent certificate, :mod:`~benchmarks.harness.process` the pinned worker processes,
:mod:`~benchmarks.harness.worker` the worker script, :mod:`~benchmarks.harness.peers` and
:mod:`~benchmarks.harness.peer_pyscnn` the peers' adapters, :mod:`~benchmarks.harness.report` the
tables and the figure. Configured by flags (``--adelie-python``) or the environment
(``GATEDRELU_ADELIE_PYTHON``); no machine path is built in.
"""


def peak_resident_mib() -> float:
    """This process's peak resident memory in MiB.

    On Linux this is ``VmHWM`` of ``/proc/self/status``: the high-water mark of the process's
    own address space. ``resource.getrusage(RUSAGE_SELF).ru_maxrss`` is not used there because a
    process started by ``subprocess`` (fork or vfork, then exec) inherits its parent's peak in
    ``ru_maxrss``: a worker started from a pytest process of 5 GiB reports at least 5 GiB, whatever
    it allocates itself. Elsewhere ``ru_maxrss`` is the fallback (KiB on Linux, bytes on macOS).
    """
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 2**10  # kB
    except OSError:  # pragma: no cover - not Linux
        pass
    import resource
    import sys

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # pragma: no cover
    return peak / (2**20 if sys.platform == "darwin" else 2**10)  # pragma: no cover
