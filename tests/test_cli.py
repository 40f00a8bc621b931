"""The ``gatedrelu`` command line: fit/predict outputs match the estimators, errors are one line."""

import csv
import os
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest

from gatedrelu import GatedReLUClassifier, GatedReLURegressor, cli
from gatedrelu.cli import embedded_table, main
from gatedrelu.datasets import make_planted
from gatedrelu.io import load_model

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
    # The CLI fits exactly the documented estimator on the feature columns in file order.
    reference = GatedReLURegressor(n_gates=20, alpha=0.02, random_state=4).fit(X, y)
    np.testing.assert_allclose(model.coef_, reference.coef_, rtol=1e-10, atol=1e-12)
    assert f"objective:      {model.objective_:.6g}" in printed
    assert f"dual gap:       {model.dual_gap_:.2e}" in printed
    assert "40 samples, 3 features" in printed
    assert f"active neurons: {model.n_active_neurons_}" in printed
    assert f"training R^2:   {model.score(X, y):.4f}" in printed

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
    reference = GatedReLUClassifier(n_gates=10, alpha=1e-2, random_state=0).fit(X, y)
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
    assert f"objective:      {model.objective_:.6g}" in printed


def test_embedded_planted_csv_is_what_the_docs_say():
    X, y, _ = make_planted(n_samples=300, n_features=5, n_hidden=4, noise=0.1, random_state=0)
    table = embedded_table("planted_regression")
    assert table.columns == ["x0", "x1", "x2", "x3", "x4", "y"]
    np.testing.assert_allclose(
        table.matrix(table.columns), np.column_stack([X, y]), atol=5.1e-7, rtol=0
    )


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
    assert f"objective:         {model.objective_:.6g}" in fit.stdout
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
        ("a,b,y\n1,,3\n", [], "line 2, column 'b': empty value"),
        ("a,b,y\n1,nan,3\n", [], "'nan' is not a finite number"),
        ("a,b,y\n1,2,3\n", ["--target", "z"], "no target column 'z'"),
        ("", [], "the CSV file is empty"),
        ("\n\n", [], "the CSV file is empty"),
        ("a,b,y\n", [], "no data rows"),
        ("a,b,y\n1,2,3\n1,2\n", [], "line 3: 2 fields, but the header has 3"),
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
    assert "n_gates must be >= 1" in capsys.readouterr().err
    assert gr("fit", "--task", "nonsense") == 2  # argparse usage error
    assert "invalid choice" in capsys.readouterr().err
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
    assert "fit" in listing and "predict" in listing
    commands, unavailable = cli.available_commands()
    for name in commands:
        assert name in listing
        assert gr(name, "--help") == 0
        assert "--out" in capsys.readouterr().out
    for name in unavailable:
        assert f"    {name} " not in listing


def test_command_registry(monkeypatch, tmp_path, capsys):
    module = types.ModuleType("fake_gatedrelu_command")
    module.__doc__ = "Say hello.\n\nLonger text."
    module.add_arguments = lambda parser: parser.add_argument("--name", default="world")

    def run(args):
        (args.out / "hello.txt").parent.mkdir(parents=True, exist_ok=True)
        (args.out / "hello.txt").write_text(f"hello {args.name}")
        return 0

    module.run = run
    monkeypatch.setitem(sys.modules, "fake_gatedrelu_command", module)
    broken = types.ModuleType("fake_gatedrelu_bad_options")
    broken.add_arguments = lambda parser: parser.add_argument("--x", type="not callable")
    broken.run = run
    monkeypatch.setitem(sys.modules, "fake_gatedrelu_bad_options", broken)
    monkeypatch.setattr(
        cli,
        "COMMAND_MODULES",
        {
            "hello": "fake_gatedrelu_command:run",
            "missing": "gatedrelu.experiments.does_not_exist:main",
            "no-function": "fake_gatedrelu_command:main",
            "bad-options": "fake_gatedrelu_bad_options:run",
        },
    )
    assert gr("--help") == 0
    listing = capsys.readouterr().out
    assert "hello" in listing and "Say hello." in listing
    assert "missing" not in listing and "no-function" not in listing
    assert "bad-options" not in listing
    assert gr("hello", "--name", "you", "--out", tmp_path) == 0
    assert (tmp_path / "hello.txt").read_text() == "hello you"
    assert gr("missing") == 2
    assert "'missing' command is unavailable" in capsys.readouterr().err
    assert gr("no-function") == 2
    assert "has no attribute 'main'" in capsys.readouterr().err
    # fit still works with a broken command module around.
    assert gr("fit", "--n-gates", "5", "--out", tmp_path) == 0


def test_model_mkl(tmp_path, capsys, regression_csv):
    path, X, y = regression_csv
    code = gr(
        "fit", "--data", path, "--target", "t", "--model", "mkl", "--n-gates", "10", "--out", tmp_path
    )
    assert code == 0, capsys.readouterr().err
    model = load_model(tmp_path / "model.npz")
    assert type(model).__name__ == "MKLRegressor" and model.get_params()["kernel"] == "optimal"
    assert (
        gr("predict", "--model-file", tmp_path / "model.npz", "--data", path, "--out", tmp_path)
        == 0
    )
    written = np.array([float(v) for v in _read_predictions(tmp_path / "predictions.csv")])
    assert np.array_equal(written, model.predict(X))
