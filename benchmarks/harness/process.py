"""Worker processes pinned to cores, with their thread counts set (see :mod:`benchmarks.harness.worker`)."""

from __future__ import annotations

import json
import os
import selectors
import subprocess
import sys
import time

import numpy as np

from .problems import WORKER


class WorkerError(RuntimeError):
    pass


def thread_env(n_cores: int, base=None) -> dict:
    """Environment of a worker on ``n_cores`` cores: thread counts set, OpenBLAS tuning unset."""
    env = dict(os.environ if base is None else base)
    for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
        env.pop(k, None)
    k = str(n_cores)
    env.update(
        OMP_NUM_THREADS=k,
        OPENBLAS_NUM_THREADS=k,
        MKL_NUM_THREADS=k,
        NUMBA_NUM_THREADS=k,
        XLA_FLAGS=(
            f"--xla_cpu_multi_thread_eigen={'true' if n_cores > 1 else 'false'} "
            f"intra_op_parallelism_threads={k}"
        ),
    )
    return env


def _package_root() -> str:
    return os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class Worker:
    """A worker process (see :mod:`benchmarks.harness.worker`) pinned to ``cores``."""

    def __init__(self, solver, npz, cores, workdir, *, python=None, log=None, timeout=600.0):
        self.solver = solver
        env = thread_env(len(cores))
        python = python or sys.executable
        if solver != "adelie":
            env["PYTHONPATH"] = os.pathsep.join(filter(None, [_package_root(), env.get("PYTHONPATH")]))
        else:
            env.pop("PYTHONPATH", None)
        cmd = [python, WORKER, "--problem", npz, "--solver", solver.split("@")[0], "--workdir", workdir,
               "--cores", ",".join(map(str, sorted(cores)))]
        self._log = open(log, "ab") if log else subprocess.DEVNULL
        self.proc = subprocess.Popen(
            cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._log, env=env,
            cwd=workdir,
        )
        self._buf = b""
        self._id = 0
        msg = self._recv(timeout)
        if msg is None or not msg.get("ready"):
            self.kill()
            why = "no answer" if msg is None else msg.get("error")
            raise WorkerError(f"{solver} worker failed to start: {why}")
        self.ready = msg

    def _recv(self, timeout):
        deadline = time.monotonic() + timeout
        fd = self.proc.stdout.fileno()
        with selectors.DefaultSelector() as sel:
            sel.register(fd, selectors.EVENT_READ)
            while b"\n" not in self._buf:
                left = deadline - time.monotonic()
                if left <= 0 or not sel.select(left):
                    return None
                chunk = os.read(fd, 1 << 16)
                if not chunk:
                    raise WorkerError(f"{self.solver} worker exited (code {self.proc.wait()})")
                self._buf += chunk
        line, self._buf = self._buf.split(b"\n", 1)
        return json.loads(line)

    def solve(self, tol, timeout):
        """``{"ok", "time", "n_iter", "U", ...}``, or None after killing a solve past ``timeout``.

        A worker that dies (a crash, or killed for memory) answers ``{"ok": False, "error"}``.
        """
        self._id += 1
        try:
            self.proc.stdin.write(
                (json.dumps({"cmd": "solve", "id": self._id, "tol": tol}) + "\n").encode()
            )
            self.proc.stdin.flush()
            msg = self._recv(timeout)
        except (WorkerError, OSError) as exc:
            self.kill()
            return {"ok": False, "error": f"worker died: {exc}"}
        if msg is None:
            self.kill()
            return None
        if msg.get("ok"):
            msg["U"] = np.load(msg["file"])
            os.remove(msg["file"])
        return msg

    def close(self):
        if self.proc.poll() is None:
            try:
                self.proc.stdin.write(b'{"cmd": "quit"}\n')
                self.proc.stdin.flush()
                self.proc.wait(30)
            except (OSError, subprocess.TimeoutExpired):
                self.kill()
        self._close_log()

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()  # our own child, by its handle
            self.proc.wait()
        self._close_log()

    def _close_log(self):
        if self._log is not subprocess.DEVNULL and not self._log.closed:
            self._log.close()


# ============================================================================ measurement

