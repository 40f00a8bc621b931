"""Model files: exact round trips, and every kind of corrupt or unsafe file is refused."""

import json
import zipfile

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import Ridge

from gatedrelu import ActivationPatterns, GatedReLUClassifier, GatedReLURegressor
from gatedrelu.datasets import make_planted
from gatedrelu.io import (
    FORMAT,
    FORMAT_VERSION,
    ModelFileError,
    load_model,
    read_metadata,
    save_model,
)


def _data(n=60, d=3, seed=0):
    X, y, _ = make_planted(n_samples=n, n_features=d, noise=0.1, random_state=seed)
    return X, y


def _labels(y_real, names):
    """String labels from a real-valued target, by quantiles into len(names) classes."""
    edges = np.quantile(y_real, np.linspace(0, 1, len(names) + 1)[1:-1])
    return np.asarray(names)[np.searchsorted(edges, y_real)]


def _fitted_models():
    X, y = _data()
    rng = np.random.default_rng(1)
    user_gates = rng.standard_normal((X.shape[1], 15))
    return {
        "regressor": (GatedReLURegressor(n_gates=20, alpha=1e-2, random_state=0).fit(X, y), X),
        "regressor-no-intercept-user-gates": (
            GatedReLURegressor(alpha=1e-2, fit_intercept=False, gates=user_gates).fit(X, y),
            X,
        ),
        "regressor-multioutput-float32": (
            GatedReLURegressor(n_gates=20, alpha=1e-2, random_state=0).fit(
                X.astype(np.float32), np.column_stack([y, -y]).astype(np.float32)
            ),
            X.astype(np.float32),
        ),
        "binary-str-labels": (
            GatedReLUClassifier(n_gates=20, alpha=1e-2, random_state=0).fit(
                X, _labels(y, ["low", "high"])
            ),
            X,
        ),
        "multiclass-object-labels-no-intercept": (
            GatedReLUClassifier(n_gates=20, alpha=1e-2, fit_intercept=False, random_state=0).fit(
                X, _labels(y, ["a", "bb", "ccc"]).astype(object)
            ),
            X,
        ),
        "multiclass-user-gates": (
            GatedReLUClassifier(
                alpha=1e-2, gates=np.vstack([user_gates, rng.standard_normal((1, 15))])
            ).fit(X, _labels(y, ["x", "y", "z"])),
            X,
        ),
    }


@pytest.fixture(scope="module")
def models():
    fitted = _fitted_models()
    assert sorted(fitted) == sorted(CASES)
    return fitted


@pytest.fixture(scope="module")
def saved(models, tmp_path_factory):
    """Path of a saved plain regressor, and the regressor."""
    est, _ = models["regressor"]
    path = tmp_path_factory.mktemp("io") / "model.npz"
    save_model(est, path)
    return path, est


def _assert_same(a, b, name):
    if isinstance(a, ActivationPatterns):
        assert isinstance(b, ActivationPatterns), name
        for field in ("gates", "masks", "counts", "ntk_weights", "sampled_gates", "gate_pattern"):
            _assert_same(getattr(a, field), getattr(b, field), f"{name}.{field}")
    elif isinstance(a, np.ndarray):
        assert isinstance(b, np.ndarray), name
        assert a.dtype == b.dtype and a.shape == b.shape, name
        assert np.array_equal(a, b), name
    else:
        assert type(a) is type(b) and a == b, name


CASES = [
    "regressor",
    "regressor-no-intercept-user-gates",
    "regressor-multioutput-float32",
    "binary-str-labels",
    "multiclass-object-labels-no-intercept",
    "multiclass-user-gates",
]


@pytest.mark.parametrize("case", CASES)
def test_round_trip_is_exact(models, case, tmp_path):
    est, X = models[case]
    path = save_model(est, tmp_path / "m.npz")
    loaded = load_model(path)
    assert type(loaded) is type(est)
    # Every parameter and fitted attribute comes back with the same type, dtype and values.
    params, loaded_params = est.get_params(), loaded.get_params()
    assert params.keys() == loaded_params.keys()
    for key in params:
        if isinstance(params[key], np.ndarray):
            _assert_same(params[key], loaded_params[key], key)
        else:
            assert params[key] == loaded_params[key], key
    fitted = {k: v for k, v in vars(est).items() if k not in params}
    assert fitted.keys() == {k for k in vars(loaded) if k not in params}
    for key, value in fitted.items():
        _assert_same(value, getattr(loaded, key), key)
    # Hence identical predictions (labels keep their dtype: str or object).
    pred, loaded_pred = est.predict(X), loaded.predict(X)
    assert pred.dtype == loaded_pred.dtype
    assert np.array_equal(pred, loaded_pred)
    if hasattr(est, "decision_function"):
        assert np.array_equal(est.decision_function(X), loaded.decision_function(X))


def test_metadata_follows_the_spec(saved):
    path, est = saved
    with np.load(path, allow_pickle=False) as archive:
        raw = archive["metadata"]
        keys = set(archive.files)
    assert raw.dtype == np.uint8
    meta = json.loads(raw.tobytes().decode("utf-8"))
    assert meta["format"] == FORMAT == "gatedrelu-model"
    assert meta["format_version"] == FORMAT_VERSION == 1
    assert meta["estimator"] == "GatedReLURegressor"
    assert meta["params"] == est.get_params()  # no array params here
    assert meta["attributes"]["n_iter_"] == {"kind": "scalar", "value": est.n_iter_}
    assert meta["attributes"]["patterns_"]["kind"] == "activation_patterns"
    assert {"attr.coef_", "attr.gates_", "attr.patterns_.masks"} <= keys
    assert read_metadata(path)["extra"] == {}


def test_user_gates_are_an_array_param(models, tmp_path):
    est, _ = models["regressor-no-intercept-user-gates"]
    meta = read_metadata(save_model(est, tmp_path / "m.npz", extra={"note": [1, "two"]}))
    assert meta["array_params"] == ["gates"] and "gates" not in meta["params"]
    assert meta["extra"] == {"note": [1, "two"]}


def test_dataframe_feature_names_round_trip(tmp_path):
    pd = pytest.importorskip("pandas")
    X, y = _data()
    frame = pd.DataFrame(X, columns=["u", "v", "w"])
    est = GatedReLURegressor(n_gates=20, alpha=1e-2, random_state=0).fit(frame, y)
    loaded = load_model(save_model(est, tmp_path / "m.npz"))
    _assert_same(est.feature_names_in_, loaded.feature_names_in_, "feature_names_in_")
    assert np.array_equal(est.predict(frame), loaded.predict(frame))


def test_save_refuses_what_it_cannot_load(models, tmp_path):
    X, y = _data()
    with pytest.raises(NotFittedError):
        save_model(GatedReLURegressor(), tmp_path / "m.npz")
    with pytest.raises(TypeError, match="Only the gatedrelu estimators"):
        save_model(Ridge().fit(X, y), tmp_path / "m.npz")

    class Sub(GatedReLURegressor):
        pass

    with pytest.raises(TypeError, match="Only the gatedrelu estimators"):
        save_model(Sub(n_gates=5).fit(X, y), tmp_path / "m.npz")
    est = GatedReLURegressor(n_gates=20, alpha=1e-2, random_state=0).fit(X, y)
    est.callback_ = print
    with pytest.raises(TypeError, match="callback_"):
        save_model(est, tmp_path / "m.npz")
    assert not (tmp_path / "m.npz").exists() and not (tmp_path / "m.npz.tmp").exists()


def test_generator_random_state_saved_as_none(tmp_path):
    X, y = _data()
    est = GatedReLURegressor(n_gates=20, alpha=1e-2, random_state=np.random.default_rng(0)).fit(
        X, y
    )
    with pytest.warns(UserWarning, match="random_state"):
        path = save_model(est, tmp_path / "m.npz")
    loaded = load_model(path)
    assert loaded.random_state is None
    assert np.array_equal(loaded.predict(X), est.predict(X))


# ---------------------------------------------------------------------------------------------
# Corrupt and unsafe files
# ---------------------------------------------------------------------------------------------


def _rewrite(src, dst, *, meta=None, arrays=None):
    """Copy the archive ``src`` to ``dst``, editing its metadata dict and/or its arrays dict."""
    with np.load(src, allow_pickle=False) as archive:
        entries = dict(archive)
    metadata = json.loads(entries["metadata"].tobytes())
    if meta is not None:
        meta(metadata)
    entries["metadata"] = np.frombuffer(json.dumps(metadata).encode(), dtype=np.uint8)
    if arrays is not None:
        arrays(entries)
    with open(dst, "wb") as fh:  # numpy pickles object arrays here
        np.savez_compressed(fh, **entries)
    return dst


def test_rejects_truncated_file(saved, tmp_path):
    data = saved[0].read_bytes()
    for cut in (10, len(data) // 2, len(data) - 5):
        bad = tmp_path / f"cut{cut}.npz"
        bad.write_bytes(data[:cut])
        with pytest.raises(ModelFileError, match="corrupt or truncated"):
            load_model(bad)


def test_rejects_random_bytes_and_empty_file(tmp_path):
    bad = tmp_path / "random.npz"
    bad.write_bytes(np.random.default_rng(0).bytes(2000))
    with pytest.raises(ModelFileError, match="not an .npz archive"):
        load_model(bad)
    bad.write_bytes(b"")
    with pytest.raises(ModelFileError, match="empty"):
        load_model(bad)
    np.save(tmp_path / "plain.npy", np.zeros(3))
    with pytest.raises(ModelFileError, match="not an .npz archive"):
        load_model(tmp_path / "plain.npy")
    zipfile.ZipFile(tmp_path / "other.zip", "w").writestr("hello.txt", "hi")
    with pytest.raises(ModelFileError, match="no 'metadata' entry"):
        load_model(tmp_path / "other.zip")
    with pytest.raises(FileNotFoundError):
        load_model(tmp_path / "missing.npz")


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda m: m.update(format_version=FORMAT_VERSION + 1), "newer gatedrelu"),
        (lambda m: m.update(format_version="1"), "invalid format_version"),
        (lambda m: m.update(format="something-else"), "format 'something-else'"),
        (lambda m: m.update(estimator="os.system"), "unknown estimator class 'os.system'"),
        (lambda m: m.update(estimator="Pipeline"), "unknown estimator class 'Pipeline'"),
        (lambda m: m["params"].update(not_a_param=1), "'not_a_param' are not parameters"),
        (lambda m: m["attributes"].update(predict={"kind": "none"}), "'predict' cannot be"),
        (lambda m: m["attributes"].update(__class__={"kind": "none"}), "'__class__' cannot be"),
        (lambda m: m["attributes"].update(x_={"kind": "lambda"}), "unknown kind 'lambda'"),
        (lambda m: m.pop("attributes"), "'attributes' is missing"),
    ],
)
def test_rejects_bad_metadata(saved, tmp_path, edit, message):
    bad = _rewrite(saved[0], tmp_path / "bad.npz", meta=edit)
    with pytest.raises(ModelFileError, match=message):
        load_model(bad)


def test_rejects_bad_json_and_missing_or_extra_entries(saved, tmp_path):
    def bad_json(entries):
        entries["metadata"] = np.frombuffer(b'{"format": "gatedrelu-model", ', dtype=np.uint8)

    with pytest.raises(ModelFileError, match="not valid JSON"):
        load_model(_rewrite(saved[0], tmp_path / "a.npz", arrays=bad_json))
    with pytest.raises(ModelFileError, match="no entry 'attr.coef_'"):
        load_model(_rewrite(saved[0], tmp_path / "b.npz", arrays=lambda e: e.pop("attr.coef_")))
    with pytest.raises(ModelFileError, match="no entry 'attr.patterns_.masks'"):
        load_model(
            _rewrite(saved[0], tmp_path / "c.npz", arrays=lambda e: e.pop("attr.patterns_.masks"))
        )
    with pytest.raises(ModelFileError, match="unexpected entries 'attr.extra_'"):
        load_model(
            _rewrite(
                saved[0], tmp_path / "d.npz", arrays=lambda e: e.update({"attr.extra_": np.ones(2)})
            )
        )


_UNPICKLED = []


def _record_unpickling():
    _UNPICKLED.append(True)
    return "payload"


class _Payload:
    """Unpickling this calls _record_unpickling: a stand-in for arbitrary code execution."""

    def __reduce__(self):
        return (_record_unpickling, ())


def test_rejects_pickled_object_arrays_without_unpickling(saved, tmp_path):
    payload = np.array([_Payload()], dtype=object)
    bad = _rewrite(
        saved[0], tmp_path / "pickle.npz", arrays=lambda e: e.update({"attr.coef_": payload})
    )
    with zipfile.ZipFile(bad) as archive:  # the file really does hold a pickle
        assert b"_record_unpickling" in archive.read("attr.coef_.npy")
    with pytest.raises(ModelFileError, match="pickled or object arrays"):
        load_model(bad)
    with pytest.raises(ModelFileError, match="pickled or object arrays"):
        _rewrite(saved[0], tmp_path / "meta.npz", arrays=lambda e: e.update(metadata=payload))
        load_model(tmp_path / "meta.npz")
    assert _UNPICKLED == []
