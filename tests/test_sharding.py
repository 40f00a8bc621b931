"""Sharding the patterns across several (virtual CPU) devices gives the same solution."""

import json
import os
import subprocess
import sys

import pytest

CODE = r"""
import json, numpy as np, jax
import gatedrelu as g
from tests.helpers import planted_problem
assert len(jax.devices()) == 4, jax.devices()
out = {}
for c in (None, 2):
    X, y, p = planted_problem(n=90, d=5, m=30, c=c, seed=3)   # P not a multiple of 4 in general
    a = 0.05 * g.alpha_max(X, y, p)
    one = g.solve_group_lasso(X, y, p, a, tol=1e-10)
    many = g.solve_group_lasso(X, y, p, a, tol=1e-10, devices="all")
    out[str(c)] = dict(P=p.n_patterns, d_obj=abs(one.objective - many.objective) / one.objective,
                       d_coef=float(np.abs(one.coef - many.coef).max()),
                       shape_ok=one.coef.shape == many.coef.shape, gap=many.relative_gap)
print(json.dumps(out))
"""


@pytest.mark.slow
def test_sharded_solve_matches_single_device():
    env = dict(os.environ)
    env["XLA_FLAGS"] = "--xla_force_host_platform_device_count=4"
    env["JAX_PLATFORMS"] = "cpu"
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [root, env.get("PYTHONPATH")]))
    res = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True, env=env, cwd=root)
    assert res.returncode == 0, res.stderr[-2000:]
    out = json.loads(res.stdout.strip().splitlines()[-1])
    for case in out.values():
        assert case["shape_ok"]
        assert case["d_obj"] <= 1e-9
        assert case["d_coef"] <= 1e-5
        assert case["gap"] <= 1e-10


def test_bad_devices():
    import numpy as np

    from gatedrelu import solve_group_lasso
    from tests.helpers import planted_problem

    X, y, p = planted_problem(n=30, d=3, m=10)
    with pytest.raises(ValueError, match="Unknown devices 'gpu'"):
        solve_group_lasso(X, y, p, 0.1, devices="gpu")
    with pytest.raises(ValueError, match="list of jax.Device"):
        solve_group_lasso(X, y, p, 0.1, devices=[0, 1])
    with pytest.raises(ValueError, match="init is not used by solver='cvxpy'"):
        solve_group_lasso(X, y, p, 0.1, solver="cvxpy", init=np.zeros((p.n_patterns, 3)))
