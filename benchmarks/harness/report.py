"""Reporting the benchmark: the JSON, the markdown tables, the figure and the goals."""

from __future__ import annotations

import json
import os
import platform

import numpy as np

from .problems import DEFAULT_ROW, DEFAULT_TOL, TARGETS, _family


def _write(results, out_dir):
    os.makedirs(out_dir, exist_ok=True)
    name = results.get("name", "solver")
    with open(os.path.join(out_dir, f"{name}.json"), "w") as fh:
        json.dump(results, fh, indent=1, default=_jsonable)
    with open(os.path.join(out_dir, f"{name}.md"), "w") as fh:
        fh.write(markdown(results))
    try:
        plot(results, os.path.join(out_dir, f"{name}.png"))
    except ImportError:  # matplotlib is optional here: the JSON and markdown are the results
        pass


#: Solvers drawn in the figure: gatedrelu's default and the peers (label, marker, colour).
PLOT_SOLVERS = {
    DEFAULT_ROW: ("gatedrelu (auto, certified at the default tol)", "*", "C6"),
    "gatedrelu:auto": ("gatedrelu (auto, tol swept)", "o", "C0"),
    "pyscnn": ("pyscnn (R-FISTA)", "s", "C1"),
    "adelie": ("adelie (grpnet)", "D", "C2"),
    "skglm": ("skglm (GroupBCD)", "^", "C3"),
    "skglm-newton": ("skglm (GroupProxNewton)", ">", "C5"),
    "cvxpy": ("CVXPY + Clarabel", "v", "C4"),
}


def _ratios(rows, st) -> None:
    """Each row's time over the first row's (the default row), per core count; a row killed at
    the cap gets a lower bound (``st.cap``, the harness's Settings)."""
    ours = rows[0]
    for r in rows[1:]:
        for k, c in r.get("by_cores", {}).items():
            o = ours.get("by_cores", {}).get(k, {})
            if o.get("status") != "ok":
                continue
            if c.get("status") == "ok":
                c["warm_ratio"] = c["warm_s"] / o["warm_s"]
                if c.get("cold_s") and o.get("cold_s"):
                    c["cold_ratio"] = c["cold_s"] / o["cold_s"]
            elif c.get("status") == "cap":
                c["warm_ratio_lower_bound"] = st.cap / o["warm_s"]


def plot(results: dict, path: str) -> None:
    """``solver.png``: warm time to the target suboptimality per problem, against the peers.

    One panel per core count; a log time axis labelled with plain numbers (seconds). A solver
    killed at the cap is drawn at the cap with an open marker; one that failed or was not run
    is left out.
    """
    from matplotlib.figure import Figure  # no pyplot: no backend, no global state

    from gatedrelu.experiments.plotting import plain_log_axis

    cores = [str(k) for k in results["settings"]["cores"]]
    names = list(results["problems"])
    cap = float(results["settings"]["cap"])
    fig = Figure(figsize=(6.5 * len(cores), 4.8), layout="constrained")
    axes = fig.subplots(1, len(cores), squeeze=False)
    x = np.arange(len(names))
    width = 0.8 / len(PLOT_SOLVERS)
    for ax, k in zip(axes[0], cores):
        for j, (solver, (label, marker, colour)) in enumerate(PLOT_SOLVERS.items()):
            xs, ts, capped = [], [], []
            for i, name in enumerate(names):
                row = next((r for r in results["problems"][name]["rows"]
                            if r["solver"] == solver), None)
                c = (row or {}).get("by_cores", {}).get(k, {})
                xi = x[i] + (j - (len(PLOT_SOLVERS) - 1) / 2) * width
                if c.get("status") == "ok" and c.get("warm_s"):
                    xs.append(xi)
                    ts.append(c["warm_s"])
                elif c.get("status") == "cap":
                    capped.append(xi)
            ax.plot(xs, ts, marker, color=colour, ms=7, ls="none", label=label)
            if capped:
                ax.plot(capped, [cap] * len(capped), marker, color=colour, ms=7, ls="none",
                        mfc="none")
        ax.set_yscale("log")
        plain_log_axis(ax)
        ax.set_xticks(x, names, rotation=20)
        ax.set_ylabel("warm time to (F - F*)/F* <= "
                      f"{results['target_suboptimality']:g} (seconds)")
        ax.set_title(f"{k} core{'s' if k != '1' else ''} (open marker: killed at the "
                     f"{cap:g} s cap)", fontsize=10)
        ax.grid(True, which="both", axis="y", alpha=0.3)
        ax.legend(fontsize=8, loc="best")
    fig.savefig(path, dpi=110)


def plot_json(json_path: str, png_path: str) -> dict:
    """Draw the figure of an existing ``solver.json`` (nothing is run); returns the results.
    The docs' figure is made this way from the committed results."""
    with open(json_path) as fh:
        results = json.load(fh)
    plot(results, png_path)
    return results


def _jsonable(o):
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    return str(o)


def targets(results) -> list:
    """The speed-up goals (``results["goals"]``, default :data:`TARGETS`), met or missed, per
    core count (warm ratios)."""
    out = []
    for probs, peer, goal in results.get("goals", TARGETS):
        for name in probs:
            pr = results["problems"].get(name)
            if pr is None:
                continue
            row = next((r for r in pr["rows"] if r["solver"] == peer), None)
            ours = pr["rows"][0]
            for k in map(str, results["settings"]["cores"]):
                entry = {"problem": name, "peer": peer, "goal": goal, "cores": int(k)}
                c = (row or {}).get("by_cores", {}).get(k)
                o = ours.get("by_cores", {}).get(k, {})
                if row is None or c is None:
                    entry.update(status="n/a", why=(row or {}).get("status", "peer not run"))
                elif o.get("status") != "ok":
                    entry.update(status="n/a", why=f"gatedrelu auto: {o.get('status')}")
                elif "warm_ratio" in c:
                    entry.update(ratio=c["warm_ratio"],
                                 status="met" if c["warm_ratio"] >= goal else "missed")
                elif "warm_ratio_lower_bound" in c:
                    lb = c["warm_ratio_lower_bound"]
                    entry.update(ratio_lower_bound=lb, status="met (peer capped)" if lb >= goal
                                 else "undecided (peer capped below the goal)")
                elif str(c.get("status", "")).startswith("never reached"):
                    entry.update(status="met (peer never reached the target accuracy)")
                else:
                    entry.update(status="n/a", why=c.get("status"))
                out.append(entry)
    return out


def _machine() -> dict:
    info = {
        "platform": platform.platform(),
        "processor": platform.processor(),
        "python": platform.python_version(),
        "cpu_count": os.cpu_count(),
        "affinity_of_parent": sorted(os.sched_getaffinity(0)),
        "openblas_env_of_parent": {k: v for k, v in os.environ.items() if k.startswith("OPENBLAS")},
    }
    try:
        with open("/proc/cpuinfo") as fh:
            info["cpu_model"] = next(
                (ln.split(":", 1)[1].strip() for ln in fh if ln.startswith("model name")), None
            )
    except OSError:  # pragma: no cover
        pass
    return info


def _versions() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for pkg in ("gatedrelu", "jax", "jaxlib", "numpy", "scipy", "scikit-learn", "cvxpy",
                "clarabel", "pyscnn", "linalg-backends", "torch", "skglm", "numba",
                "threadpoolctl"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            out[pkg] = None
    return out


def _peer_environments(results) -> dict:
    """Per (solver family, cores): interpreter, versions, thread variables and BLAS seen."""
    seen = {}
    for pr in results["problems"].values():
        for row in pr["rows"]:
            for k, c in row.get("by_cores", {}).items():
                env = c.get("environment")
                if not env:
                    continue
                key = f"{_family(row['solver'])} ({k} core{'s' if k != '1' else ''})"
                seen.setdefault(key, {
                    "executable": env.get("executable"),
                    "python": env.get("python"),
                    "affinity": env.get("affinity"),
                    "env": env.get("env"),
                    "blas": env.get("blas"),
                    "versions": c.get("versions"),
                })
    return seen


# ============================================================================ report


def _fmt(v, spec=".3g"):
    return "" if v is None else format(v, spec)


def _tol(v):
    return "None" if v is None else f"{v:g}"


def markdown(results: dict) -> str:
    cores = [str(k) for k in results["settings"]["cores"]]
    st = results["settings"]
    lines = [
        f"# {results.get('title', 'Solver benchmark')}",
        "",
        f"Time to reach relative suboptimality (F - F\\*) / F\\* <= {results['target_suboptimality']:g} "
        "(for a path: the largest over the path) from (X, y, gates), each solver's own tolerance "
        "swept loose to tight and the loosest that reaches the target kept. Every solver runs in "
        "its own process pinned to the cores shown, thread variables set to the core count. "
        "Warm = median of repeated calls in one process; cold = first call in a fresh process "
        "(compilation included, imports excluded). The first row, "
        f"`{DEFAULT_ROW}`, is what a user gets: `solve_group_lasso` at its default tolerance "
        f"({DEFAULT_TOL:g}, a certified relative duality gap), no sweep, no hindsight; "
        "`gatedrelu:auto` below it is swept like the peers. Ratio = peer time (its best "
        f"tolerance, chosen in hindsight) / `{DEFAULT_ROW}` time "
        f"(> 1: gatedrelu faster). Single solves are killed after {st['cap']:g} s."
        + ("" if st.get("cold", True) else " Cold runs were skipped (--no-cold)."),
        "",
    ]
    tg = results.get("targets") or []
    if tg:
        lines += ["## Targets (warm ratios)", "", "| problem | peer | cores | goal | ratio | status |",
                  "|---|---|---|---|---|---|"]
        for t in tg:
            ratio = (_fmt(t.get("ratio"), ".1f") if "ratio" in t else
                     (">= " + _fmt(t["ratio_lower_bound"], ".1f") if "ratio_lower_bound" in t else ""))
            why = f" ({t['why']})" if t.get("why") else ""
            lines.append(f"| {t['problem']} | {t['peer']} | {t['cores']} | >= {t['goal']:g}x | "
                         f"{ratio} | {t['status']}{why} |")
        lines.append("")
    head = "| solver | tolerance | iterations | suboptimality |"
    sep = "|---|---|---|---|"
    for k in cores:
        head += f" {k}c cold (s) | {k}c warm (s) |"
        sep += "---|---|"
    for k in cores:
        head += f" {k}c warm ratio | {k}c cold ratio |"
        sep += "---|---|"
    for name, pr in results["problems"].items():
        ref = pr["reference"]
        if pr["alphas"] is not None:
            what = (f"path of {len(pr['alphas'])} alphas from alpha_max = {pr['alpha_max']:.4g} "
                    f"to {pr['alphas'][-1]:.4g}")
        else:
            sp = pr["spec"]
            rel = f"{sp['alpha_ratio']:g} alpha_max = " if "alpha_ratio" in sp else ""
            what = f"alpha = {rel}{pr['alpha']:.4g}"
        if pr["spec"].get("loss", "squared") != "squared":
            what += f", {pr['spec']['loss']} loss"
        Fs = ref["F_star"]
        Fs_txt = (f"F* from {min(Fs):.6g} to {max(Fs):.6g}" if isinstance(Fs, list)
                  else f"F* = {Fs:.12g}")
        lines += [
            f"## {name}: n = {pr['n']}, d = {pr['d']}, {pr['spec']['n_gates']} gates "
            f"({pr['n_patterns']} patterns), {what}",
            "",
            f"Reference: {Fs_txt}, certified relative gap {ref['certified_rel_gap']:.1e} "
            f"(from {', '.join(sorted({r['solver'] for r in ref['runs'] if r['status'] == 'ok'}))})."
            + (f" **Warning: {ref['warning']}.**" if ref.get("warning") else ""),
            "",
            head,
            sep,
        ]
        for r in pr["rows"]:
            if not r.get("by_cores"):
                lines.append(f"| {r['solver']} | {r.get('status', '')} |" + " |" * (2 + 4 * len(cores)))
                continue
            cs = [r["by_cores"].get(k, {}) for k in cores]
            tols = " / ".join(_tol(c["tol"]) if "tol" in c else "-" for c in cs)
            its = " / ".join(str(c["n_iter"]) if c.get("status") == "ok" else "-" for c in cs)
            subs = " / ".join(_fmt(c.get("suboptimality"), ".1e") or "-" for c in cs)
            cells = []
            for c in cs:
                if c.get("status") == "ok":
                    cells += [_fmt(c.get("cold_s"), ".3f"), _fmt(c.get("warm_s"), ".4f")]
                elif c.get("status") == "cap":
                    cells += ["", f"> {st['cap']:g} (cap at tol {_tol(c.get('capped_tol'))})"]
                else:
                    cells += ["", str(c.get("status", ""))]
            for c in cs:
                if "warm_ratio" in c:
                    cells += [_fmt(c["warm_ratio"], ".1f"), _fmt(c.get("cold_ratio"), ".1f")]
                elif "warm_ratio_lower_bound" in c:
                    cells += [">= " + _fmt(c["warm_ratio_lower_bound"], ".1f"), ""]
                elif r is pr["rows"][0] and c.get("status") == "ok":
                    cells += ["1.0", "1.0"]
                else:
                    cells += ["", ""]
            lines.append(f"| {r['solver']} | {tols} | {its} | {subs} | " + " | ".join(cells) + " |")
        lines.append("")
    lines += ["## Environment", "",
              f"Machine: {results['machine'].get('cpu_model')}, {results['machine']['platform']}, "
              f"{results['machine']['cpu_count']} CPUs, Python {results['machine']['python']}.",
              "",
              "Versions (gatedrelu's environment): "
              + ", ".join(f"{k} {v}" for k, v in results["versions"].items() if v) + ".",
              "",
              f"gatedrelu solvers: {', '.join(results.get('gatedrelu_solvers', []))}.",
              ""]
    for k, env in (results.get("thread_env") or {}).items():
        lines.append(f"Thread variables on {k} core(s): "
                     + ", ".join(f"{a}={b}" for a, b in env.items()) +
                     "; OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset.")
    lines.append("")
    pe = results.get("peer_environments") or {}
    if pe:
        lines += ["| worker | interpreter | affinity | BLAS (threadpoolctl) | versions |",
                  "|---|---|---|---|---|"]
        for key, e in pe.items():
            blas = "; ".join(f"{b.get('prefix')} {b.get('version') or ''} "
                             f"{b.get('architecture') or ''} x{b.get('num_threads')}"
                             for b in e.get("blas") or [])
            v = e.get("versions") or {}
            same = all(results["versions"].get(a) == b for a, b in v.items())
            vers = "as above" if same else ", ".join(f"{a} {b}" for a, b in v.items() if b)
            lines.append(f"| {key} | {e.get('executable')} (Python {e.get('python')}) | "
                         f"{e.get('affinity')} | {blas} | {vers} |")
        lines.append("")
    return "\n".join(lines)


# ============================================================================ command line


