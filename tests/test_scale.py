"""Scale-out (issue 10): bit-packed masks, the blocked operator, samples x patterns sharding,
several processes, and a memory bound (``docs/math.md``, "The blocked, bit-packed operator")."""

import json
import os
import socket
import subprocess
import sys
import textwrap

import jax
import numpy as np
import pytest

import gatedrelu as g
from gatedrelu import operator
from gatedrelu.operator import adjoint, forward, pack_masks, unpack_masks
from gatedrelu.patterns import activation_patterns, gate_masks, sample_gates

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _env(devices):
    env = dict(os.environ, JAX_PLATFORMS="cpu", PYTHONPATH=ROOT)
    env["XLA_FLAGS"] = f"--xla_force_host_platform_device_count={devices}"
    return env


def _run(code, devices=4, timeout=300):
    res = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                         text=True, env=_env(devices), cwd=ROOT, timeout=timeout)
    assert res.returncode == 0, res.stderr[-3000:]
    return json.loads(res.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------------- packed == boolean


@pytest.mark.slow
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("c", [None, 3])
def test_packed_operator_equals_boolean_exactly(dtype, c):
    """Packed masks give bit-identical forward and adjoint maps (numpy and compiled), for every
    block size; and the blocked maps agree with the explicit design to rounding."""
    rng = np.random.default_rng(1)
    n, d, P = 1003, 7, 37  # n not a multiple of 8 or of the blocks
    X = rng.standard_normal((n, d)).astype(dtype)
    M = rng.random((n, P)) < 0.5
    Mp = pack_masks(M)
    assert Mp.dtype == np.uint8 and Mp.shape == ((n + 7) // 8, P)
    np.testing.assert_array_equal(unpack_masks(Mp, n), M)
    U = rng.standard_normal((P, d) if c is None else (P, d, c)).astype(dtype)
    r = rng.standard_normal((n,) if c is None else (n, c)).astype(dtype)
    # the explicit design [D_1 X, ..., D_P X] (n, P d), an independent reference
    Phi = (M[:, :, None] * X[:, None, :].astype(np.float64)).reshape(n, P * d)
    Uf = U.astype(np.float64).reshape(P * d, -1)
    ref_f = (Phi @ Uf).reshape((n,) if c is None else (n, c))
    ref_a = (Phi.T @ r.astype(np.float64).reshape(n, -1)).reshape(U.shape)
    rtol = 1e-4 if dtype == np.float32 else 1e-12
    with jax.enable_x64(dtype == np.float64):
        for B in (None, 8, 64, 100, 5000):
            f = jax.jit(lambda X, M, U: forward(X, M, U, block_size=B))
            a = jax.jit(lambda X, M, r: adjoint(X, M, r, block_size=B))
            for fwd, adj in ((f, a), (lambda *z: forward(*z, block_size=B),
                                      lambda *z: adjoint(*z, block_size=B))):
                fb, fp = np.asarray(fwd(X, M, U)), np.asarray(fwd(X, Mp, U))
                ab, ap = np.asarray(adj(X, M, r)), np.asarray(adj(X, Mp, r))
                assert fb.dtype == dtype and ab.shape == U.shape
                np.testing.assert_array_equal(fp, fb)
                np.testing.assert_array_equal(ap, ab)
                scale_f, scale_a = np.abs(ref_f).max(), np.abs(ref_a).max()
                np.testing.assert_allclose(fb, ref_f, rtol=0, atol=rtol * scale_f * 10)
                np.testing.assert_allclose(ab, ref_a, rtol=0, atol=rtol * scale_a * 10)


@pytest.mark.slow
def test_blocked_equals_unblocked_exactly_on_integers():
    """With small integers every sum is exact, whatever the block size and order."""
    rng = np.random.default_rng(2)
    n, d, P = 517, 4, 23
    X = rng.integers(-3, 4, (n, d)).astype(np.float32)
    M = rng.random((n, P)) < 0.4
    U = rng.integers(-3, 4, (P, d)).astype(np.float32)
    r = rng.integers(-3, 4, n).astype(np.float32)
    ref_f = np.einsum("np,nd,pd->n", M, X, U)
    ref_a = np.einsum("np,nd,n->pd", M, X, r)
    for B in (8, 40, 512, None):
        for Mx in (M, pack_masks(M)):
            np.testing.assert_array_equal(np.asarray(jax.jit(
                lambda X, M, U: forward(X, M, U, block_size=B))(X, Mx, U)), ref_f)
            np.testing.assert_array_equal(np.asarray(jax.jit(
                lambda X, M, r: adjoint(X, M, r, block_size=B))(X, Mx, r)), ref_a)
            np.testing.assert_array_equal(adjoint(X, Mx, r, block_size=B), ref_a)


def test_block_rows_from_memory():
    """The automatic block keeps B x P x c temporaries under the budget, in multiples of 8."""
    budget = operator.CPU_BLOCK_BYTES
    B = operator.block_rows(10**7, 2000, 1, 8)
    assert B % 8 == 0 and B * 2000 * 17 <= budget < (B + 8) * 2000 * 17
    assert operator.block_rows(100, 10, 1, 8) == 100  # one block
    assert operator.block_rows(1000, 10, 1, 8, block_size=13) == 16  # rounded up to bytes
    try:
        operator.set_block_size(24)
        assert operator.block_rows(1000, 10, 1, 8) == 24
    finally:
        operator.set_block_size(None)
    assert operator.block_rows(10**7, 2000, 1, 8) == B


@pytest.mark.parametrize("bad", [0, -8, 2.5, True, "64", None])
def test_bad_block_size(bad):
    X, M, U = np.ones((16, 2)), np.ones((16, 3), bool), np.ones((3, 2))
    if bad is None:
        assert forward(X, M, U, block_size=bad).shape == (16,)  # None: automatic
        return
    with pytest.raises(ValueError, match="block_size must be a positive integer"):
        forward(X, M, U, block_size=bad)
    with pytest.raises(ValueError, match="block_size must be a positive integer"):
        operator.set_block_size(bad)


def test_patterns_stay_packed():
    """ActivationPatterns keeps the masks packed: the same patterns as the gates' masks, and
    solves with packed masks equal those with boolean masks exactly."""
    rng = np.random.default_rng(3)
    X = np.hstack([rng.standard_normal((300, 4)), np.ones((300, 1))])
    gates = sample_gates(5, 40, random_state=0)
    p = activation_patterns(X, gates)
    raw = gate_masks(X, gates)
    assert p.packed_masks.shape == ((300 + 7) // 8, p.n_patterns) and p.n_samples == 300
    for j in range(40):
        i = p.gate_pattern[j]
        if i >= 0:
            np.testing.assert_array_equal(p.masks[:, i], raw[:, j])
        else:
            assert not raw[:, j].any()
    np.testing.assert_array_equal(p.subset([2, 0]).masks, p.masks[:, [2, 0]])
    y = np.maximum(X @ rng.standard_normal(5), 0)
    a = 0.05 * g.alpha_max(X, y, p)
    bool_fit = g.solve_group_lasso(X, y, p.masks, a, solver="fista", tol=1e-8)
    old = operator.PACK_MIN_SAMPLES, operator.PACK_MIN_ENTRIES
    operator.PACK_MIN_SAMPLES = operator.PACK_MIN_ENTRIES = 1
    try:
        assert operator.use_packed(p, 300)
        for solver in ("fista", "working_set"):
            packed_fit = g.solve_group_lasso(X, y, p, a, solver=solver, tol=1e-8)
            ref = bool_fit if solver == "fista" else g.solve_group_lasso(X, y, p.masks, a,
                                                                          solver=solver, tol=1e-8)
            np.testing.assert_array_equal(packed_fit.coef, ref.coef)
            assert packed_fit.dual_gap == ref.dual_gap
    finally:
        operator.PACK_MIN_SAMPLES, operator.PACK_MIN_ENTRIES = old


def test_sampling_memory_is_bounded():
    """Sampling evaluates X @ gates in chunks of at most CHUNK_BYTES."""
    import gatedrelu.patterns as pat

    seen = []
    real = pat.gate_masks
    try:
        pat.gate_masks = lambda X, G: (seen.append(X.shape[0] * G.shape[1] * X.dtype.itemsize),
                                       real(X, G))[1]
        X = np.random.default_rng(0).standard_normal((50_000, 3))
        pat.activation_patterns(X, sample_gates(3, 300, random_state=0))
    finally:
        pat.gate_masks = real
    assert max(seen) <= pat.CHUNK_BYTES and sum(seen) == 50_000 * 300 * 8


# --------------------------------------------------------------------------- memory


MEMORY = """
import warnings, numpy as np
import gatedrelu as g
from benchmarks.harness import peak_resident_mib
n, d, m = 100_000, 50, 1000
rng = np.random.default_rng(0)
X = rng.standard_normal((n, d)); X[:, -1] = 1
y = np.maximum(X @ rng.standard_normal(d), 0) + 0.1 * rng.standard_normal(n)
p = g.activation_patterns(X, g.sample_gates(d, m, random_state=0))
a = 0.05 * g.alpha_max(X, y, p)
L = 1.1 * float(np.linalg.norm(X, 2) ** 2 / n * max(1, p.n_patterns))  # a safe step (no power iteration)
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    res = g.solve_group_lasso(X, y, p, a, solver="fista", max_iter=2, lipschitz=L)
print(__import__("json").dumps(dict(P=p.n_patterns, peak=peak_resident_mib(),
                                    F=res.objective, zero=float(0.5 * np.mean(y * y)))))
"""


AUTO_MEMORY = """
import warnings, numpy as np
import gatedrelu as g
from benchmarks.harness import peak_resident_mib
n, d, m = 200_000, 20, 200
rng = np.random.default_rng(0)
X = rng.standard_normal((n, d)) * np.geomspace(1e-2, 1e2, d)  # ill-conditioned: whitening runs
y = np.maximum(X @ rng.standard_normal(d), 0) + 0.1 * rng.standard_normal(n)
p = g.activation_patterns(X, g.sample_gates(d, m, random_state=0))
a = 0.05 * g.alpha_max(X, y, p)
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    res = g.solve_group_lasso(X, y, p, a, max_iter=3)  # the default solver, "auto"
print(__import__("json").dumps(dict(P=p.n_patterns, peak=peak_resident_mib(), solver=res.solver,
                                    F=res.objective, zero=float(0.5 * np.mean(y * y)))))
"""


@pytest.mark.slow
def test_default_solver_at_n_200000_forms_no_n_by_n_array():
    """The default solver end to end at n = 200,000 on ill-conditioned data (the working set's
    whitening once asked for the full SVD of X: an n x n factor, 298 GiB at d = 100): three
    iterations peak under 1,000 MiB in a subprocess."""
    out = _run(AUTO_MEMORY, devices=1)
    assert out["P"] > 150 and out["solver"] == "auto"
    assert out["F"] < out["zero"]  # it did iterate
    assert out["peak"] < 1000, f"peak resident memory {out['peak']:.0f} MiB"


@pytest.mark.slow
def test_peak_memory_is_the_childs_own():
    """A worker's peak excludes its parent's memory (``ru_maxrss`` of a fork/exec child starts at
    the parent's resident size: the cause of a 5.5 GiB reading for a 0.75 GiB solve in CI), and
    counts what the worker itself touches."""
    from benchmarks.harness import peak_resident_mib

    held = np.ones(2**28 // 8)  # 256 MiB resident in this process
    code = ("import json, numpy as np; from benchmarks.harness import peak_resident_mib; "
            "a = peak_resident_mib(); b = np.ones(2**27 // 8); "
            "print(json.dumps(dict(start=a, after=peak_resident_mib())))")
    out = _run(code, devices=1)
    assert peak_resident_mib() > 256 + out["start"] / 2 and held[-1] == 1
    assert out["start"] < 200  # the interpreter and numpy, not the parent's 256 MiB and more
    assert 120 < out["after"] - out["start"] < 140  # its own 128 MiB


@pytest.mark.slow
def test_peak_memory_of_a_large_solve():
    """n = 100,000, d = 50, 1,000 gates: sampling and a FISTA solve peak under 1,000 MiB.

    Before issue 10 the masks alone took n P bytes (95 MiB) and each product an n x P float64
    temporary (760 MiB), several of them live at once; now the masks are n P / 8 bytes (12 MiB)
    and the temporaries B x P (64 MiB). The interpreter, JAX and the compiled code take about
    400 MiB of the bound. The peak is the child's own (``peak_resident_mib``): its ``ru_maxrss``
    would include the pytest process's memory, which it inherits through fork/exec."""
    out = _run(MEMORY, devices=1)
    assert out["P"] > 900
    assert out["F"] < out["zero"]  # it did iterate
    assert out["peak"] < 1000, f"peak resident memory {out['peak']:.0f} MiB"


# --------------------------------------------------------------------------- devices


SHARDED = """
import json, numpy as np, jax
import gatedrelu as g
from gatedrelu.distributed import make_mesh
from gatedrelu.operator import adjoint, forward, pack_masks, sharded
from gatedrelu.solvers._sharding import check_devices, mesh_of, place
from tests.helpers import planted_problem
jax.config.update("jax_enable_x64", True)
assert len(jax.devices()) == 4, jax.devices()
out = {"cases": []}
for c in (None, 2):
    X, y, p = planted_problem(n=96, d=5, m=30, c=c, seed=3)
    a = 0.05 * g.alpha_max(X, y, p)
    ref = {s: g.solve_group_lasso(X, y, p, a, tol=1e-10, solver=s) for s in ("fista", "working_set")}
    for name, dev in (("1-D", "all"), ("2x2", make_mesh((2, 2))), ("4x1", make_mesh((4, 1)))):
        for s in ("fista", "working_set"):
            r = g.solve_group_lasso(X, y, p, a, tol=1e-10, solver=s, devices=dev)
            out["cases"].append(dict(c=c, mesh=name, solver=s, gap=r.relative_gap,
                d_obj=abs(r.objective - ref[s].objective) / ref[s].objective,
                d_pred=float(np.abs(forward(X, p.masks, r.coef) - forward(X, p.masks, ref[s].coef)).max()),
                bound=float(np.sqrt(2 * len(y) * (r.dual_gap + ref[s].dual_gap))),
                shape_ok=r.coef.shape == ref[s].coef.shape))
# the maps themselves, on a 2 x 2 mesh, with packed masks: sharded as asked, equal to one device
X, y, p = planted_problem(n=96, d=5, m=30, seed=4)
U = np.random.default_rng(0).standard_normal((p.n_patterns, 5))
grid = check_devices(make_mesh((2, 2)))
(Xd, Md, yd, Ud), pad = place(X, pack_masks(p.masks), y, U, grid)
with sharded(mesh_of(grid)):
    z = jax.jit(forward)(Xd, Md, Ud)
    G = jax.jit(adjoint)(Xd, Md, yd)
out["z_spec"] = list(z.sharding.spec); out["G_spec"] = list(G.sharding.spec)
out["d_z"] = float(np.abs(np.asarray(z) - forward(X, p.masks, U)).max())
out["d_G"] = float(np.abs(np.asarray(G)[: p.n_patterns] - adjoint(X, p.masks, y)).max())
out["pad_zero"] = bool(np.all(np.asarray(G)[p.n_patterns:] == 0))
errors = []
for bad in (lambda: make_mesh((3, 1)), lambda: make_mesh((2, 3)), lambda: make_mesh((4,))):
    try:
        bad(); errors.append(None)
    except ValueError as e:
        errors.append(str(e))
try:
    X, y, p = planted_problem(n=90, d=5, m=30, seed=3)   # 90 rows on 4 sample shards
    g.solve_group_lasso(X, y, p, 0.01, solver="fista", devices=make_mesh((4, 1)))
    errors.append(None)
except ValueError as e:
    errors.append(str(e))
out["errors"] = errors
print(json.dumps(out))
"""


@pytest.mark.slow
def test_sharded_1d_2d_equal_unsharded():
    """4 virtual CPU devices, patterns only (1-D), samples x patterns (2 x 2) and samples only
    (4 x 1): fista and working_set solves equal the single-device ones (objective, and the
    predictions within what the two certificates allow)."""
    out = _run(SHARDED, devices=4)
    assert len(out["cases"]) == 12
    for case in out["cases"]:
        assert case["shape_ok"], case
        assert case["d_obj"] <= 1e-10, case
        # the predictions are unique (strictly convex loss), the coefficients need not be (P d > n
        # here), and the single-device working set runs another inner solver (metric_fista):
        # ||z - z*||^2 / 2n <= gap bounds the difference of the predictions
        assert case["d_pred"] <= case["bound"] + 1e-8, case  # + rounding (a gap can be 0.0)
        assert case["gap"] <= 1e-10, case
    assert out["z_spec"] == ["samples"]
    assert out["G_spec"] in (["patterns"], ["patterns", None])
    assert out["d_z"] < 1e-12 and out["d_G"] < 1e-12 and out["pad_zero"]
    e = out["errors"]
    assert "mesh shape (3, 1) needs 3 devices but 4 are given" in e[0]
    assert "mesh shape (2, 3) needs 6 devices" in e[1]
    assert "pair of positive integers" in e[2]
    assert "n_samples = 90 is not a multiple of the 4 sample shards" in e[3]


WORKER = """
import sys, json, numpy as np
pid, port, mode = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
RESULT = "RESULT "
import jax
jax.distributed.initialize(f"localhost:{port}", num_processes=2, process_id=pid,
                           initialization_timeout=60)
from gatedrelu.distributed import local_masks, solve_distributed
from tests.helpers import planted_problem
X, y, p = planted_problem(n=96, d=5, m=30, seed=3)
# every process builds only its own rows (here cut from the same planted problem)
Xl, yl, gates = X[48 * pid:48 * (pid + 1)], y[48 * pid:48 * (pid + 1)], p.sampled_gates
if mode == "bad" and pid == 1:
    Xl = np.hstack([Xl, np.ones((48, 1))])
    gates = np.vstack([gates, np.zeros((1, gates.shape[1]))])
if mode == "nan" and pid == 1:
    yl = yl.copy()
    yl[0] = np.nan
try:
    r = solve_distributed(Xl, yl, local_masks(Xl, gates), 0.01, tol=1e-10)
    print(RESULT + json.dumps(dict(pid=pid, devices=len(jax.devices()), F=r.objective,
                                   gap=r.dual_gap, converged=r.converged, coef=r.coef.tolist())))
except ValueError as e:
    print(RESULT + json.dumps(dict(pid=pid, error=str(e))))
"""


def _free_port():
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


def _two_processes(mode):
    port = _free_port()
    procs = [subprocess.Popen([sys.executable, "-c", WORKER, str(i), str(port), mode],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env=_env(2), cwd=ROOT) for i in range(2)]
    outs = []
    try:
        for pr in procs:
            so, se = pr.communicate(timeout=180)  # a hang fails the test instead of blocking it
            assert pr.returncode == 0, se[-3000:]
            # the worker's tagged line: Gloo prints its own lines to stdout too, at times after it
            lines = [ln for ln in so.splitlines() if ln.startswith("RESULT ")]
            assert len(lines) == 1, so[-3000:]
            outs.append(json.loads(lines[0][len("RESULT "):]))
    finally:
        for pr in procs:
            if pr.poll() is None:
                pr.kill()
    return outs


@pytest.mark.slow
def test_two_processes_equal_single_process():
    """2 processes x 2 devices (localhost coordinator), each holding half of the rows: the same
    solution and certified gap as one process holding everything."""
    from gatedrelu.distributed import solve_distributed
    from tests.helpers import planted_problem

    outs = _two_processes("good")
    X, y, p = planted_problem(n=96, d=5, m=30, seed=3)
    M = gate_masks(X, p.sampled_gates)
    one = solve_distributed(X, y, M, 0.01, tol=1e-10)  # one process, one device
    ref = g.solve_group_lasso(X, y, M, 0.01, solver="fista", tol=1e-10)
    for o in outs:
        assert o["devices"] == 4 and o["converged"]
        assert abs(o["F"] - one.objective) <= 1e-10 * one.objective
        assert abs(o["F"] - ref.objective) <= 1e-10 * ref.objective
        assert o["gap"] <= 1e-10 * o["F"] and abs(o["gap"] - one.dual_gap) <= 1e-10 * one.objective
        np.testing.assert_allclose(o["coef"], one.coef, atol=1e-6)
    # the gap each process reports is the full-problem gap of its coefficients
    assert g.duality_gap(X, y, M, np.asarray(outs[0]["coef"]), 0.01) <= 1e-10 * outs[0]["F"]
    assert outs[0]["coef"] == outs[1]["coef"]


@pytest.mark.slow
def test_process_with_wrong_shape_fails_naming_it():
    outs = _two_processes("bad")
    for o in outs:
        assert "process 1: n_features 6 (process 0: 5)" in o["error"]


def test_process_with_nan_targets_fails_on_every_process():
    """Process 1 holds a NaN target: it says so, and process 0 does not wait for it."""
    outs = _two_processes("nan")
    assert "process 1: y contains 1 NaN or infinite value(s)" in outs[1]["error"]
    assert "the targets of process(es) 1 are invalid" in outs[0]["error"]
