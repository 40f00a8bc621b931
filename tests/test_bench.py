"""The benchmark's peers solve exactly our problem (skipped where a peer is not installed)."""

import pytest

from gatedrelu.bench import solver as bench


@pytest.fixture(scope="module")
def small():
    from gatedrelu.datasets import make_planted
    from gatedrelu.group_lasso import alpha_max
    from gatedrelu.patterns import activation_patterns, sample_gates

    X, y, _ = make_planted(150, 6, random_state=0)
    gates = sample_gates(6, 30, random_state=1)
    alpha = 0.05 * alpha_max(X, y, activation_patterns(X, gates))
    pb = bench.Problem("small", X, y, gates, alpha)
    return pb, bench.reference(pb, with_cvxpy=True)


def test_reference_is_certified(small):
    pb, ref = small
    assert ref["lower_bound"] <= ref["F_star"] <= ref["prox_objective"]
    assert ref["prox_objective"] - ref["lower_bound"] <= 1e-11 * ref["F_star"]


@pytest.mark.parametrize(
    "solver, module, tol",
    [("gatedrelu", None, 1e-9), ("cvxpy", None, None), ("pyscnn", "scnn", 1e-14), ("skglm", "skglm", 1e-10)],
)
def test_every_solver_reaches_the_same_optimum(small, solver, module, tol):
    if module:
        pytest.importorskip(module)
    pb, ref = small
    U, n_iter = bench._solve(solver, pb, tol)
    assert U.shape == (ref["n_patterns"], 6)
    assert abs(bench._suboptimality(pb, U, ref["F_star"])) <= 1e-6
    assert n_iter >= 1


def test_markdown_reports_ratios():
    res = {
        "target_suboptimality": 1e-6,
        "machine": {"platform": "x", "cpu_count": 2, "python": "3.11"},
        "versions": {"jax": "0"},
        "problems": {
            "R0": {
                "spec": {"n": 1, "d": 1, "n_gates": 1},
                "alpha": 0.1,
                "reference": {"n_patterns": 1},
                "rows": [
                    {"solver": "gatedrelu", "status": "ok", "tol": 1e-3, "n_iter": 5, "suboptimality": 1e-7, "cold_s": 1.0, "warm_s": 0.01},
                    {"solver": "pyscnn", "status": "ok", "tol": 1e-9, "n_iter": 5, "suboptimality": 1e-7, "cold_s": 2.0, "warm_s": 0.05, "cold_ratio": 2.0, "warm_ratio": 5.0},
                ],
            }
        },
    }
    md = bench.markdown(res)
    assert "| pyscnn | 1e-09 | 5 | 1.0e-07 | 2.000 | 0.0500 | 2.0 | 5.0 |" in md


def test_cli_bench_on_a_tiny_problem(tmp_path, monkeypatch):
    """`gatedrelu bench` end to end on a tiny problem: files written, ratios reported."""
    import json

    from gatedrelu.cli import main

    monkeypatch.setitem(bench.PROBLEMS, "R0", dict(n=60, d=3, n_gates=8, peers=("cvxpy",)))
    # a fresh interpreter would not see the tiny problem: time the first call in-process instead
    monkeypatch.setattr(bench, "cold_time", lambda solver, problem, tol, seed: 1.0)
    assert main(["bench", "--quick", "--out", str(tmp_path)]) == 0
    res = json.loads((tmp_path / "solver.json").read_text())
    rows = res["problems"]["R0"]["rows"]
    assert [r["solver"] for r in rows] == ["gatedrelu", "cvxpy"]
    assert all(r["status"] == "ok" and r["suboptimality"] <= 1e-6 for r in rows)
    assert rows[1]["warm_ratio"] == pytest.approx(rows[1]["warm_s"] / rows[0]["warm_s"])
    assert "| cvxpy |" in (tmp_path / "solver.md").read_text()
