"""Scale benchmark (issue 10): memory and time per iteration of the blocked, bit-packed operator.

(a) ``--sizes`` problem (default n 200,000, d 100, 2,000 gates): peak resident memory of pattern
    sampling and of a FISTA solve, and time per FISTA iteration, "before" (boolean masks, the
    whole n x P product at once, gates in chunks of 4096: the operator before issue 10) and
    "after" (packed masks, row blocks, bounded sampling chunks), in one run.
(b) scaling in n (``--ns``): time per iteration and peak memory against n, with the exponents
    fitted on a log-log scale (``scipy.stats.linregress``) and a log-log figure.

Every measurement runs in its own subprocess pinned with ``os.sched_setaffinity`` to 1 core and
then 2 cores (``--cores``); the peak is that process's own high-water mark
(``benchmarks.harness.peak_resident_mib``: ``VmHWM``; ``ru_maxrss`` would include the parent's).
Time per iteration is ``(t(1 + k iterations) - t(1 iteration)) / k`` of the compiled FISTA loop
(compilation excluded), with a fixed step size (no backtracking: two products per iteration).

    python benchmarks/bench_scale.py                    # the full run -> benchmarks/results/scale.*
    python benchmarks/bench_scale.py --quick --out /tmp/scale   # minutes, small sizes
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def worker(spec: dict) -> dict:
    """One measurement (run in a pinned subprocess)."""
    os.sched_setaffinity(0, set(spec["cores"]))
    import jax
    import jax.numpy as jnp
    import numpy as np

    jax.config.update("jax_enable_x64", True)
    import gatedrelu.patterns as pat
    from benchmarks.harness import peak_resident_mib
    from gatedrelu import operator
    from gatedrelu.problem import get_datafit, make_penalty
    from gatedrelu.solvers.fista import fista_run

    def rss():
        return peak_resident_mib() / 2**10  # GiB

    n, d, m, before = spec["n"], spec["d"], spec["m"], spec["mode"] == "before"
    rng = np.random.default_rng(0)
    X = rng.standard_normal((n, d))
    X[:, -1] = 1.0
    y = np.maximum(X @ rng.standard_normal(d), 0) + 0.1 * rng.standard_normal(n)
    base = rss()
    if before:
        pat.CHUNK_BYTES = 2**62  # sampling as before: 4096 gates at a time
    t0 = time.perf_counter()
    p = pat.activation_patterns(X, pat.sample_gates(d, m, random_state=1))
    t_sample = time.perf_counter() - t0
    M = p.masks if before else p.packed_masks  # before: one byte per entry
    after_sampling = rss()
    if before:
        operator.set_block_size(n)  # one block: the whole n x P product, as before
    P = p.n_patterns
    datafit, penalty = get_datafit("squared"), make_penalty("group_l2")
    Xd, Md, yd = jnp.asarray(X), jnp.asarray(M), jnp.asarray(y)
    U0 = jnp.zeros((P, d))
    L = float(jax.jit(operator.lipschitz_bound)(Xd, Md)) * 1.0  # f = ||.||^2 / 2n: L of A / n
    alpha = 0.05 * float(jnp.max(jnp.linalg.norm(operator.adjoint(Xd, Md, yd / n), axis=1)))

    def run(iters):
        t = time.perf_counter()
        s = fista_run(datafit, penalty, Xd, Md, yd, U0, jnp.asarray(alpha), jnp.asarray(0.0),
                      jnp.asarray(iters, jnp.int32), jnp.asarray(L), None)
        s.U.block_until_ready()
        return time.perf_counter() - t, int(s.n_iter)

    run(1)  # compile
    k = spec["iters"]
    t1, _ = run(1)
    tk, its = run(1 + k)
    return dict(spec, P=P, per_iter_s=(tk - t1) / (its - 1), iters_done=its,
                sampling_s=t_sample, base_gib=base, sampling_peak_gib=after_sampling,
                peak_gib=rss(), block_rows=operator.block_rows(n, P, 1, 8))


def measure(spec: dict) -> dict:
    env = dict(os.environ, JAX_PLATFORMS="cpu", PYTHONPATH=ROOT)
    # one XLA thread per pinned core
    env["XLA_FLAGS"] = f"--xla_cpu_multi_thread_eigen={'true' if len(spec['cores']) > 1 else 'false'}"
    env["OMP_NUM_THREADS"] = env["OPENBLAS_NUM_THREADS"] = str(len(spec["cores"]))
    res = subprocess.run([sys.executable, __file__, "--worker", json.dumps(spec)],
                         capture_output=True, text=True, env=env, cwd=ROOT)
    if res.returncode != 0:
        return dict(spec, error=res.stderr[-1500:])
    return json.loads(res.stdout.strip().splitlines()[-1])


def fit(xs, ys):
    import numpy as np
    from scipy.stats import linregress

    r = linregress(np.log(xs), np.log(ys))
    return dict(exponent=float(r.slope), stderr=float(r.stderr), r2=float(r.rvalue**2))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--sizes", type=int, nargs=3, default=[200_000, 100, 2000], metavar=("N", "D", "GATES"))
    ap.add_argument("--ns", type=int, nargs="+",
                    default=[10_000, 30_000, 100_000, 300_000, 1_000_000, 2_000_000])
    ap.add_argument("--scaling-d", type=int, default=100)
    ap.add_argument("--scaling-gates", type=int, default=1000)
    ap.add_argument("--cores", choices=("1", "2", "both"), default="both")
    ap.add_argument("--iters", type=int, default=5, help="timed iterations per measurement")
    ap.add_argument("--skip-before", action="store_true", help="only the new operator in (a)")
    ap.add_argument("--quick", action="store_true", help="small sizes (checks the script)")
    ap.add_argument("--out", default=os.path.join(ROOT, "benchmarks", "results"))
    args = ap.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(json.loads(args.worker))))
        return
    if args.quick:
        args.sizes, args.ns, args.scaling_d, args.scaling_gates, args.iters = (
            [20_000, 20, 200], [2_000, 6_000, 20_000], 20, 100, 3)
    cores = {"1": [[0]], "2": [[0, 1]], "both": [[0], [0, 1]]}[args.cores]
    n, d, m = args.sizes
    out = dict(machine=dict(platform=platform.platform(), cpus=os.cpu_count(),
                            python=sys.version.split()[0],
                            gpu="none: no GPU was available to this benchmark (CPU only)"),
               command=" ".join([os.path.basename(sys.executable), "benchmarks/bench_scale.py"]
                                + (sys.argv[1:] if argv is None else list(argv))),
               compare=[], scaling=[])
    for cs in cores:
        for mode in (["before"] if not args.skip_before else []) + ["after"]:
            r = measure(dict(n=n, d=d, m=m, mode=mode, cores=cs, iters=args.iters))
            print(json.dumps(r), flush=True)
            out["compare"].append(r)
    for cs in cores:
        for nn in args.ns:
            r = measure(dict(n=nn, d=args.scaling_d, m=args.scaling_gates, mode="after", cores=cs,
                             iters=args.iters))
            print(json.dumps(r), flush=True)
            out["scaling"].append(r)
    out["fits"] = {}
    for cs in cores:
        rows = [r for r in out["scaling"] if r["cores"] == cs and "error" not in r]
        if len(rows) >= 2:
            ns = [r["n"] for r in rows]
            out["fits"][f"{len(cs)} core(s)"] = dict(
                time=fit(ns, [r["per_iter_s"] for r in rows]),
                memory_above_base=fit(ns, [max(r["peak_gib"] - r["base_gib"], 1e-6) for r in rows]))
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "scale.json"), "w") as f:
        json.dump(out, f, indent=1)
    write_md(out, os.path.join(args.out, "scale.md"))
    plot(out, os.path.join(args.out, "scale.png"))


def write_md(out, path):
    # the figure right under the title: docs/benchmarks.md includes this file from line 3 on
    # (its own copy of the figure), so the tables end the file whatever their length
    L = ["# Scale benchmark (issue 10)", "![scaling](scale.png)", "",
         f"Command: `{out['command']}`. Machine: {out['machine']['platform']}, "
         f"{out['machine']['cpus']} CPUs. GPU: {out['machine']['gpu']}.", "",
         "## (a) before / after", "",
         "| cores | operator | n | d | gates | P | sampling peak (GiB) | solve peak (GiB) | s / iteration | block rows |",
         "|---|---|---|---|---|---|---|---|---|---|"]
    for r in out["compare"]:
        if "error" in r:
            L.append(f"| {len(r['cores'])} | {r['mode']} | {r['n']} | | | | error | | | |")
            continue
        L.append(f"| {len(r['cores'])} | {r['mode']} | {r['n']} | {r['d']} | {r['m']} | {r['P']} | "
                 f"{r['sampling_peak_gib']:.3f} | {r['peak_gib']:.3f} | {r['per_iter_s']:.4f} | {r['block_rows']} |")
    L += ["", "## (b) scaling in n (packed, blocked)", "",
          "| cores | n | P | peak (GiB) | above start (GiB) | s / iteration |", "|---|---|---|---|---|---|"]
    for r in out["scaling"]:
        if "error" in r:
            L.append(f"| {len(r['cores'])} | {r['n']} | error | | | |")
            continue
        L.append(f"| {len(r['cores'])} | {r['n']} | {r['P']} | {r['peak_gib']:.3f} | "
                 f"{r['peak_gib'] - r['base_gib']:.3f} | {r['per_iter_s']:.4f} |")
    L += ["", "Fitted exponents (log-log least squares, `scipy.stats.linregress`):", ""]
    for k, v in out.get("fits", {}).items():
        L.append(f"- {k}: time ~ n^{v['time']['exponent']:.2f} (+- {v['time']['stderr']:.2f}, "
                 f"R^2 {v['time']['r2']:.3f}); memory above start ~ n^{v['memory_above_base']['exponent']:.2f}")
    L.append("")
    with open(path, "w") as f:
        f.write("\n".join(L))


def plot(out, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(9, 3.6))
    for cs in sorted({tuple(r["cores"]) for r in out["scaling"]}):
        rows = [r for r in out["scaling"] if tuple(r["cores"]) == cs and "error" not in r]
        if not rows:
            continue
        ns = [r["n"] for r in rows]
        axes[0].loglog(ns, [r["per_iter_s"] for r in rows], "o-", label=f"{len(cs)} core(s)")
        axes[1].loglog(ns, [r["peak_gib"] for r in rows], "o-", label=f"{len(cs)} core(s)")
    axes[0].set(xlabel="n", ylabel="seconds per FISTA iteration", title="time")
    axes[1].set(xlabel="n", ylabel="peak resident memory (GiB)", title="memory")
    for a in axes:
        a.legend()
        a.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


if __name__ == "__main__":
    main()
