"""The solver benchmark: its peers solve exactly our problem, its measurements mean what they say.

Peers that are not installed are skipped (pyscnn, skglm in gatedrelu's environment; adelie in its
own virtual environment, see benchmarks/README.md).
"""

import json
import os
import warnings
from pathlib import Path

import numpy as np
import pytest

from benchmarks.harness import solver as bench
from benchmarks.harness import worker


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """A tiny problem, saved as the workers read it, with its CVXPY and tight proximal optima."""
    from gatedrelu.datasets import make_planted
    from gatedrelu.group_lasso import alpha_max
    from gatedrelu.patterns import activation_patterns, sample_gates

    X, y, _ = make_planted(150, 6, random_state=0)
    gates = sample_gates(6, 30, random_state=1)
    p = activation_patterns(X, gates)
    alpha = 0.05 * alpha_max(X, y, p)
    pb = bench.Problem("small", X, y, gates, alpha=alpha)
    npz = pb.save(str(tmp_path_factory.mktemp("pb") / "small.npz"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Clarabel's gap may end a hair above tol
        cv = bench.gatedrelu_call(X, y, p, alpha, solver="cvxpy", tol=1e-9)
        tight = bench.gatedrelu_call(X, y, p, alpha, solver="auto", tol=1e-12, max_iter=10**6)
    F_cv, D_cv = bench.certificate(pb, cv.coef)
    F_tt, D_tt = bench.certificate(pb, tight.coef)
    return pb, npz, {"F_star": min(F_cv, F_tt), "lower_bound": max(D_cv, D_tt), "cvxpy": F_cv}


@pytest.fixture(scope="module")
def small_path(tmp_path_factory):
    from gatedrelu.datasets import make_planted
    from gatedrelu.group_lasso import alpha_max
    from gatedrelu.patterns import activation_patterns, sample_gates

    X, y, _ = make_planted(120, 5, random_state=3)
    gates = sample_gates(5, 20, random_state=4)
    p = activation_patterns(X, gates)
    alphas = alpha_max(X, y, p) * np.geomspace(1, 1e-2, 6)
    pb = bench.Problem("small-path", X, y, gates, alphas=alphas)
    npz = pb.save(str(tmp_path_factory.mktemp("pb") / "small_path.npz"))
    res = bench.gatedrelu_call(X, y, p, alphas, solver="auto", tol=1e-12, max_iter=10**6)
    F, D = bench.certificate(pb, np.stack([r.coef for r in res]))
    return pb, npz, {"F_star": F, "lower_bound": D}


def test_certificate_brackets_the_optimum(small):
    """The harness's own numpy dual value is a lower bound, tight at the CVXPY optimum."""
    pb, _, ref = small
    assert ref["lower_bound"] <= ref["F_star"] <= ref["cvxpy"]
    assert ref["F_star"] - ref["lower_bound"] <= 1e-9 * ref["F_star"]
    F0, D0 = bench.certificate(pb, np.zeros((pb.patterns.n_patterns, 6)))
    assert D0 <= ref["F_star"] <= F0 and F0 - ref["F_star"] > 1e-3


def test_certificate_refined_dual_is_about_the_suboptimality(small):
    """Near the optimum the harness's lower bound (the better of the scaled residual and the
    refined point) bounds F*, and its gap is within a small factor of the suboptimality, where
    the scaled residual alone is far above it."""
    from gatedrelu.problem import Problem, certify_numpy

    pb, _, ref = small
    M = pb.patterns.masks
    prob = Problem(pb.X, M, pb.y, pb.alpha)
    from gatedrelu.solvers import fista

    U = fista.fista_numpy(prob.datafit, prob.penalty, pb.X, M, pb.y, np.zeros((M.shape[1], 6)),
                          pb.alpha, 0.0, 60, -1.0)[0]
    F, D = bench.certificate(pb, U)
    sub = F - ref["F_star"]
    plain = certify_numpy(prob, U, refine=False).dual_gap
    assert D <= ref["F_star"] and sub > 0
    assert F - D <= 10 * sub < plain / 5, (F - D, sub, plain)


@pytest.mark.parametrize(
    "solver, module, tol",
    [
        ("gatedrelu:auto", None, 1e-9),
        ("cvxpy", None, 1e-9),
        # the peers' tight solves take tens of seconds: the slow tier (skipped if not installed)
        pytest.param("pyscnn", "scnn", 1e-14, marks=pytest.mark.slow),
        pytest.param("skglm", "skglm", 1e-10, marks=pytest.mark.slow),
    ],
)
def test_every_solver_reaches_the_same_optimum(small, solver, module, tol):
    """A worker's solution, in our convention, has our objective within 1e-6 of CVXPY's optimum."""
    if module:
        pytest.importorskip(module)
    pb, npz, ref = small
    job = worker.Job(npz, solver, n_threads=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        U, n_iter, _ = job.solve(tol)
    assert U.shape == (pb.patterns.n_patterns, 6)
    F, _ = bench.certificate(pb, U)
    assert F >= ref["lower_bound"] - 1e-12
    assert bench.suboptimality(F, ref["F_star"]) <= 1e-6
    assert n_iter >= 1


def test_our_tolerance_certifies_the_suboptimality(small):
    """gatedrelu's ladder is in relative-gap units: each tolerance bounds the suboptimality."""
    pb, npz, ref = small
    job = worker.Job(npz, "gatedrelu:auto", n_threads=1)
    subs = [bench.suboptimality(bench.certificate(pb, job.solve(t)[0])[0], ref["F_star"])
            for t in bench.LADDERS["gatedrelu"][:8]]
    # a relative-gap tolerance certifies the suboptimality
    for t, s in zip(bench.LADDERS["gatedrelu"], subs):
        assert s <= t * (1 + 1e-9)


@pytest.mark.slow
def test_pyscnn_path_is_warm_started_on_the_same_problems(small_path):
    pytest.importorskip("scnn")
    pb, npz, ref = small_path
    job = worker.Job(npz, "pyscnn", n_threads=1)
    U, n_iter, _ = job.solve(1e-14)
    assert U.shape == (6, pb.patterns.n_patterns, 5)
    F, _ = bench.certificate(pb, U)
    assert bench.suboptimality(F, ref["F_star"]) <= 1e-6
    assert np.allclose(U[0], 0)  # alpha_max: the zero solution


def _adelie_python():
    py = bench.DEFAULT_ADELIE_PYTHON  # $GATEDRELU_ADELIE_PYTHON
    if not py or not os.path.exists(py):
        pytest.skip(f"no adelie venv (GATEDRELU_ADELIE_PYTHON={py!r}; see benchmarks/README.md)")
    return py


@pytest.mark.slow
@pytest.mark.parametrize("which", ["single", "path"])
def test_adelie_solves_our_problem(small, small_path, tmp_path, which):
    """adelie in its own venv (subprocess): gatedrelu.objective at its coefficients = our optimum.

    Checks the scaling map (lmda = alpha, unit penalty factors, no intercept, gaussian loss 1/n).
    """
    py = _adelie_python()
    pb, npz, ref = small if which == "single" else small_path
    w = bench.Worker("adelie", npz, {0}, str(tmp_path), python=py)
    try:
        assert w.ready["environment"]["affinity"] == [0]
        assert w.ready["versions"]["adelie"]
        rep = w.solve(1e-13, timeout=120)
    finally:
        w.close()
    assert rep["ok"], rep.get("error")
    F, _ = bench.certificate(pb, rep["U"])
    assert bench.suboptimality(F, ref["F_star"]) <= 1e-7
    # looser adelie tolerances give worse, not different, problems: never below the bound
    assert np.all(np.asarray(F) >= np.asarray(ref["lower_bound"]) - 1e-12)


@pytest.mark.slow
def test_worker_pins_cores_sets_threads_and_is_killed_at_the_cap(small, tmp_path):
    """Affinity and thread variables as recorded; a solve past the cap is killed and reported."""
    pb, npz, ref = small
    st = bench.Settings(cores=(1,), repeats=1, cap=1e-4, progress=False)
    out = bench._run_config("gatedrelu:auto", pb, npz, str(tmp_path), ref, 1,
                            bench.LADDERS["gatedrelu"], st)
    assert out["status"] == "cap" and out["capped_tol"] == bench.LADDERS["gatedrelu"][0]
    env = out["environment"]
    assert env["affinity"] == [0]
    assert env["env"]["OMP_NUM_THREADS"] == "1" and env["env"]["OPENBLAS_NUM_THREADS"] == "1"
    assert "xla_cpu_multi_thread_eigen=false" in env["env"]["XLA_FLAGS"]
    assert env["env"]["OPENBLAS_CORETYPE"] is None and env["env"]["OPENBLAS_L2_SIZE"] is None


def test_thread_env():
    e = bench.thread_env(2, {"OPENBLAS_CORETYPE": "Haswell", "OPENBLAS_L2_SIZE": "1", "X": "y"})
    assert "OPENBLAS_CORETYPE" not in e and "OPENBLAS_L2_SIZE" not in e and e["X"] == "y"
    assert e["OMP_NUM_THREADS"] == e["MKL_NUM_THREADS"] == e["NUMBA_NUM_THREADS"] == "2"
    assert "xla_cpu_multi_thread_eigen=true" in e["XLA_FLAGS"]


def test_problems_are_the_specified_ones():
    pb = bench.make_problem("diabetes")
    assert pb.X.shape == (442, 11) and np.all(pb.X[:, -1] == 1)
    assert np.allclose(pb.X[:, :-1].mean(0), 0) and np.allclose(pb.X[:, :-1].std(0), 1)
    assert pb.alpha == 1e-3 and pb.gates.shape == (11, 100)
    r0 = bench.make_problem("R0-path")
    assert r0.alphas[0] == pytest.approx(r0.alpha_max) and len(r0.alphas) == 10
    assert r0.alphas[-1] == pytest.approx(1e-2 * r0.alpha_max)
    assert bench.PROBLEMS["R1-path"]["path"] == (50, 1e-3)
    assert [bench.PROBLEMS[p]["alpha_ratio"] for p in ("R1", "R1-0.01", "R1-0.001")] == [
        0.05, 0.01, 0.001]


def _results(ours, peer):
    return {
        "target_suboptimality": 1e-6,
        "settings": {"cores": [1, 2], "cap": 300.0},
        "machine": {"platform": "x", "cpu_count": 2, "python": "3.11"},
        "versions": {"jax": "0"},
        "problems": {
            "R1": {
                "spec": {"n_gates": 500, "alpha_ratio": 0.05},
                "n": 5000, "d": 50, "n_patterns": 500, "alpha": 0.03, "alphas": None,
                "alpha_max": 0.6,
                "reference": {"F_star": 0.1, "certified_rel_gap": 1e-12,
                              "runs": [{"solver": "gatedrelu:auto", "status": "ok"}]},
                "rows": [{"solver": "gatedrelu:auto", "by_cores": ours},
                         {"solver": "pyscnn", "by_cores": peer}],
            }
        },
    }


def test_ratios_targets_and_markdown():
    ok = dict(status="ok", tol=1e-3, n_iter=5, suboptimality=1e-7)
    ours = {"1": {**ok, "cold_s": 1.0, "warm_s": 0.01}, "2": {**ok, "cold_s": 1.0, "warm_s": 0.02}}
    peer = {"1": {**ok, "tol": 1e-9, "cold_s": 2.0, "warm_s": 0.2},
            "2": {"status": "cap", "capped_tol": 1e-9, "suboptimality": 3e-5}}
    res = _results(ours, peer)
    bench._ratios(res["problems"]["R1"]["rows"], bench.Settings(cap=300.0))
    c = res["problems"]["R1"]["rows"][1]["by_cores"]
    assert c["1"]["warm_ratio"] == pytest.approx(20.0) and c["1"]["cold_ratio"] == 2.0
    assert c["2"]["warm_ratio_lower_bound"] == pytest.approx(300.0 / 0.02)
    res["targets"] = bench.targets(res)
    got = {(t["peer"], t["cores"]): t["status"] for t in res["targets"] if t["problem"] == "R1"}
    assert got[("pyscnn", 1)] == "met" and got[("pyscnn", 2)] == "met (peer capped)"
    assert got[("adelie", 1)] == "n/a"
    md = bench.markdown(res)
    assert "| pyscnn | 1e-09 / - | 5 / - | 1.0e-07 / 3.0e-05 | 2.000 | 0.2000 |" in md
    assert "| R1 | pyscnn | 1 | >= 10x | 20.0 | met |" in md
    peer["1"]["warm_s"] = 0.05
    bench._ratios(res["problems"]["R1"]["rows"], bench.Settings(cap=300.0))
    assert [t["status"] for t in bench.targets(res)][0] == "missed"


@pytest.mark.slow
@pytest.mark.parametrize("cold", [True, False])
def test_cli_bench_end_to_end_on_a_tiny_problem(tmp_path, monkeypatch, cold):
    """`gatedrelu bench`: pinned worker processes, a certified reference, ratios, both files
    (the run without cold starts writes into a relative --out folder, which crashed the
    workers: they run in their own working directories)."""
    from gatedrelu.cli import main

    monkeypatch.setitem(bench.PROBLEMS, "R0", dict(data="planted", n=60, d=3, n_gates=8,
                                                   alpha_ratio=0.05))
    out = str(tmp_path)
    if not cold:
        monkeypatch.chdir(tmp_path.parent)
        out = tmp_path.name
    argv = ["bench", "--quick", "--problems", "R0", "--peers", "cvxpy", "--cores", "1",
            "--repeats", "1", "--out", out] + ([] if cold else ["--no-cold"])
    with pytest.warns(FutureWarning, match="benchmarks/bench_solver.py"):
        assert main(argv) == 0
    res = json.loads((tmp_path / "solver.json").read_text())
    pr = res["problems"]["R0"]
    assert pr["reference"]["certified_rel_gap"] <= 1e-9
    rows = pr["rows"]
    # first the certified answer at the default tol (the base of the ratios), then the sweep
    assert [r["solver"] for r in rows] == [bench.DEFAULT_ROW, "gatedrelu:auto", "cvxpy"]
    assert rows[0]["by_cores"]["1"]["tol"] == bench.DEFAULT_TOL == 1e-6
    for r in rows:
        c = r["by_cores"]["1"]
        assert c["status"] == "ok" and c["suboptimality"] <= 1e-6
        assert c["environment"]["affinity"] == [0]
        assert c["environment"]["thread_affinities"] == [[0]]  # every thread of the worker
        assert (c["cold_s"] > 0) if cold else (c["cold_s"] is None)
    c = rows[2]["by_cores"]["1"]
    assert c["warm_ratio"] == pytest.approx(c["warm_s"] / rows[0]["by_cores"]["1"]["warm_s"])
    assert os.path.exists(tmp_path / "problems" / "R0.npz")
    md = (tmp_path / "solver.md").read_text()
    assert "| cvxpy |" in md and ("Cold runs were skipped" in md) != cold


def test_figure_from_the_committed_results(tmp_path):
    """solver.png: one panel per core count, every ok solver at its warm time, plain labels."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = os.path.join(os.path.dirname(__file__), "..", "benchmarks", "results", "solver.json")
    captured = {}
    real = plt.Figure.savefig

    def keep(fig, *args, **kwargs):
        captured["fig"] = fig
        return real(fig, *args, **kwargs)

    mp = pytest.MonkeyPatch()
    mp.setattr(plt.Figure, "savefig", keep)
    try:
        results = bench.plot_json(path, str(tmp_path / "solver.png"))
    finally:
        mp.undo()
    assert (tmp_path / "solver.png").read_bytes()[:4] == b"\x89PNG"
    axes = captured["fig"].axes
    assert len(axes) == len(results["settings"]["cores"])
    for ax, k in zip(axes, map(str, results["settings"]["cores"])):
        drawn = sorted(y for line in ax.get_lines() for y in line.get_ydata()
                       if line.get_mfc() != "none")
        expected = sorted(
            c["warm_s"] for pr in results["problems"].values() for r in pr["rows"]
            if r["solver"] in bench.PLOT_SOLVERS
            for c in [r.get("by_cores", {}).get(k, {})] if c.get("status") == "ok"
        )
        assert drawn == pytest.approx(expected)
        labels = [t.get_text() for t in ax.get_yticklabels()]
        assert labels and all(t.replace(".", "").isdigit() for t in labels), labels


# --------------------------------------------------------------------------- the logistic loss


@pytest.fixture(scope="module")
def small_logistic(tmp_path_factory):
    """A tiny logistic problem (labels drawn from a planted teacher), saved for the workers."""
    from gatedrelu.datasets import make_planted
    from gatedrelu.group_lasso import alpha_max
    from gatedrelu.patterns import activation_patterns, sample_gates

    X, f, _ = make_planted(150, 6, random_state=2)
    y = np.where(np.random.default_rng(2).random(150) < 1 / (1 + np.exp(-3 * f / f.std())), 1.0, -1.0)
    gates = sample_gates(6, 30, random_state=3)
    p = activation_patterns(X, gates)
    alpha = 0.05 * alpha_max(X, y, p, loss="logistic")
    pb = bench.Problem("small-logistic", X, y, gates, alpha=alpha, loss="logistic")
    npz = pb.save(str(tmp_path_factory.mktemp("pb") / "small_logistic.npz"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Clarabel's exponential cones: certified ~1e-6 only
        cv = bench.gatedrelu_call(X, y, p, alpha, solver="cvxpy", tol=1e-9, loss="logistic")
    tight = bench.gatedrelu_call(X, y, p, alpha, solver="auto", tol=1e-12, loss="logistic")
    F_cv, D_cv = bench.certificate(pb, cv.coef)
    F_tt, D_tt = bench.certificate(pb, tight.coef)
    return pb, npz, {"F_star": min(F_cv, F_tt), "lower_bound": max(D_cv, D_tt), "cvxpy": F_cv,
                     "tight": tight}


def test_logistic_certificate_is_the_mean_binary_entropy(small_logistic):
    """The harness's own dual value (scipy's entr) equals F - gap of gatedrelu's certificate,
    brackets the optimum and is tight there."""
    from gatedrelu.group_lasso import duality_gap

    pb, _, ref = small_logistic
    assert ref["lower_bound"] <= ref["F_star"] <= ref["cvxpy"] * (1 + 1e-9)
    assert ref["F_star"] - ref["lower_bound"] <= 1e-10 * ref["F_star"]
    rng = np.random.default_rng(0)
    for scale in (0.0, 0.1, 1.0):
        U = scale * rng.standard_normal(ref["tight"].coef.shape)
        F, D = bench.certificate(pb, U)
        gap = duality_gap(pb.X, pb.y, pb.patterns.masks, U, pb.alpha, loss="logistic")
        assert D == pytest.approx(F - gap, rel=1e-10, abs=1e-13)
        assert D <= ref["F_star"] <= F


@pytest.mark.parametrize(
    "solver, module, tol",
    [("gatedrelu:auto", None, 1e-9), ("cvxpy", None, 1e-9),
     pytest.param("skglm", "skglm", 1e-10, marks=pytest.mark.slow),
     pytest.param("skglm-newton", "skglm", 1e-10, marks=pytest.mark.slow)],
)
def test_every_solver_reaches_the_logistic_optimum(small_logistic, solver, module, tol):
    """skglm's LogisticGroup + WeightedGroupL2(alpha) is our program: the same optimum."""
    if module:
        pytest.importorskip(module)
    pb, npz, ref = small_logistic
    job = worker.Job(npz, solver, n_threads=1)
    assert job.loss == "logistic"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        U, n_iter, _ = job.solve(tol)
    F, _ = bench.certificate(pb, U)
    assert F >= ref["lower_bound"] - 1e-12
    assert bench.suboptimality(F, ref["F_star"]) <= 1e-6


@pytest.mark.slow
def test_adelie_binomial_solves_our_logistic_problem(small_logistic, tmp_path):
    """adelie's binomial grpnet with lmda = alpha (weights 1/n, b = (y + 1)/2): our optimum."""
    py = _adelie_python()
    pb, npz, ref = small_logistic
    w = bench.Worker("adelie", npz, {0}, str(tmp_path), python=py)
    try:
        rep = w.solve(1e-12, timeout=120)
    finally:
        w.close()
    assert rep["ok"], rep.get("error")
    F, _ = bench.certificate(pb, rep["U"])
    assert bench.suboptimality(F, ref["F_star"]) <= 1e-7


def test_logistic_problems_and_solver_rows():
    pb = bench.make_problem("L0")
    assert pb.loss == "logistic" and set(np.unique(pb.y)) == {-1.0, 1.0}
    assert 0.2 < np.mean(pb.y > 0) < 0.8  # both labels, not separable by construction
    from gatedrelu.group_lasso import alpha_max

    assert pb.alpha_max == pytest.approx(alpha_max(pb.X, pb.y, pb.patterns, loss="logistic"))
    assert pb.alpha == pytest.approx(0.05 * pb.alpha_max)
    # gatedrelu's solvers that do not apply are skipped with their reason, not run
    assert "squared loss" in bench._gatedrelu_skip_reason("gatedrelu:newton", pb)
    assert bench._gatedrelu_skip_reason("gatedrelu:working_set", pb) is None
    assert "squared loss only" in bench._skip_reason("pyscnn", pb, bench.Settings())


def test_adelie_interpreter_comes_from_the_flag_or_the_environment(tmp_path):
    """No machine path is built in: adelie's python is ``--adelie-python``, else
    ``$GATEDRELU_ADELIE_PYTHON``; with neither, adelie is skipped with a reason naming both."""
    import argparse
    import pathlib
    import subprocess
    import sys

    pb = bench.make_problem("R0")
    why = bench._skip_reason("adelie", pb, bench.Settings(adelie_python=None))
    assert "--adelie-python" in why and "GATEDRELU_ADELIE_PYTHON" in why
    missing = str(tmp_path / "no-python")
    assert missing in bench._skip_reason("adelie", pb, bench.Settings(adelie_python=missing))
    ap = argparse.ArgumentParser()
    bench.add_arguments(ap)
    args = ap.parse_args(["--adelie-python", missing])
    assert bench.settings_from_args(args).adelie_python == missing
    root = pathlib.Path(__file__).resolve().parents[1]
    code = "from benchmarks.harness import problems; print(repr(problems.DEFAULT_ADELIE_PYTHON))"
    env = {k: v for k, v in os.environ.items() if k != "GATEDRELU_ADELIE_PYTHON"}
    unset = subprocess.run([sys.executable, "-c", code], cwd=root, env=env, capture_output=True,
                           text=True, check=True).stdout.strip()
    given = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True,
                           env={**env, "GATEDRELU_ADELIE_PYTHON": missing}, check=True)
    assert unset == "None" and given.stdout.strip() == repr(missing)
    for path in (root / "benchmarks").rglob("*.py"):  # no interpreter of one machine
        text = path.read_text()
        assert "/work/" not in text and "/root/" not in text, path


@pytest.mark.slow
def test_bench_logistic_script_end_to_end(tmp_path, monkeypatch):
    """benchmarks/bench_logistic.py on a tiny problem: logistic.{json,md}, goals, certified F*."""
    import importlib.util

    monkeypatch.setitem(bench.PROBLEMS, "L0", dict(data="planted", loss="logistic", n=60, d=3,
                                                   n_gates=8, alpha_ratio=0.05))
    path = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                        "benchmarks", "bench_logistic.py")
    spec = importlib.util.spec_from_file_location("bench_logistic", path)
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    argv = ["--quick", "--peers", "cvxpy", "--cores", "1", "--repeats", "1", "--no-cold",
            "--out", str(tmp_path)]
    assert script.main(argv) == 0
    res = json.loads((tmp_path / "logistic.json").read_text())
    pr = res["problems"]["L0"]
    assert pr["spec"]["loss"] == "logistic"
    assert pr["reference"]["certified_rel_gap"] <= 1e-9
    assert [r["solver"] for r in pr["rows"]] == [bench.DEFAULT_ROW, "gatedrelu:auto", "cvxpy"]
    assert all(r["by_cores"]["1"]["status"] == "ok" for r in pr["rows"])
    assert {t["peer"] for t in res["targets"]} == {"adelie", "skglm", "skglm-newton"}
    md = (tmp_path / "logistic.md").read_text()
    assert md.startswith("# Logistic benchmark") and "logistic loss" in md


# --------------------------------------------------------------------------- `gatedrelu bench`


def test_cli_bench_runs_the_harness_of_a_checkout_with_a_futurewarning(tmp_path, monkeypatch):
    """From a source checkout, `gatedrelu bench` parses the harness's own options (a relative
    --out stays the given string, --quick its flag) and runs the harness's main, warning that the
    command moved; its exit status is the harness's."""
    from gatedrelu.cli import bench as command
    from gatedrelu.cli import main

    assert command.harness_root() == Path(__file__).resolve().parents[1]
    seen = []
    monkeypatch.setattr(bench, "main", lambda args: seen.append(args) or 7)
    monkeypatch.chdir(tmp_path)
    with pytest.warns(FutureWarning, match="moved to benchmarks/ of the source repository"):
        assert main(["bench", "--quick", "--cores", "1", "--out", "rel/out"]) == 7
    (args,) = seen
    assert args.out == "rel/out" and args.quick and args.cores == "1"
    assert bench.settings_from_args(args).cap == 60.0  # the harness's --quick defaults


def test_cli_bench_outside_a_checkout_says_where_the_harness_lives(tmp_path, monkeypatch,
                                                                    capsys):
    """Installed without benchmarks/: one line naming the repository and the script, exit
    status 2, nothing written, also for `--help`; `gatedrelu --help` still lists the command."""
    from gatedrelu.cli import bench as command
    from gatedrelu.cli import main

    monkeypatch.setattr(command, "harness_root", lambda: None)
    monkeypatch.setattr(bench, "main", lambda args: pytest.fail("the harness must not run"))
    out = tmp_path / "out"
    assert main(["bench", "--quick", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("gatedrelu bench: error:")
    assert command.REPOSITORY in err and "benchmarks/bench_solver.py" in err
    assert not out.exists()
    assert main(["bench", "--help"]) == 2
    assert "benchmarks/bench_solver.py" in capsys.readouterr().err
    assert main(["--help"]) == 0
    assert "moved to benchmarks/" in capsys.readouterr().out
