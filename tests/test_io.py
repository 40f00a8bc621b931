"""Model files: exact round trips, and every kind of corrupt or unsafe file is refused."""

import json
import zipfile
import zlib

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import Ridge

from gatedrelu import (
    ActivationPatterns,
    GatedReLUClassifier,
    GatedReLURegressor,
    GatedReLURegressorCV,
    MKLClassifier,
)
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
        "mkl-path-classifier": (
            MKLClassifier(n_gates=10, kernel="path", random_state=0).fit(
                X, _labels(y, ["p", "q", "r"])
            ),
            X,
        ),
        "regressor-cv": (GatedReLURegressorCV(n_gates=10, n_alphas=3, random_state=0).fit(X, y), X),
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
    "mkl-path-classifier",
    "regressor-cv",
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
    assert meta["format_version"] == 1 and FORMAT_VERSION == 2  # 2 only for pipelines
    assert meta["estimator"] == "GatedReLURegressor"
    assert meta["params"] == est.get_params()  # no array params here
    assert meta["attributes"]["n_iter_"] == {"kind": "scalar", "value": est.n_iter_}
    assert meta["attributes"]["patterns_"]["kind"] == "activation_patterns"
    assert {"attr.coef_", "attr.gates_", "attr.patterns_.masks"} <= keys
    # every array entry is described with its dtype and shape
    assert set(meta["arrays"]) == keys - {"metadata"}
    assert meta["arrays"]["attr.coef_"] == {"dtype": "<f8", "shape": list(est.coef_.shape)}
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


def _rewrite(src, dst, *, meta=None, arrays=None, describe=False):
    """Copy the archive ``src`` to ``dst``, editing its metadata dict and/or its arrays dict.

    ``describe``: rewrite the metadata's record of every array's dtype and shape to match the
    edited arrays, as a careful forger would (so that the semantic checks are what refuses).
    """
    with np.load(src, allow_pickle=False) as archive:
        entries = dict(archive)
    metadata = json.loads(entries["metadata"].tobytes())
    if meta is not None:
        meta(metadata)
    entries["metadata"] = np.frombuffer(json.dumps(metadata).encode(), dtype=np.uint8)
    if arrays is not None:
        arrays(entries)
    if describe:
        metadata["arrays"] = {
            k: {"dtype": v.dtype.str, "shape": list(v.shape)}
            for k, v in entries.items() if k != "metadata"
        }
        entries["metadata"] = np.frombuffer(json.dumps(metadata).encode(), dtype=np.uint8)
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
        (lambda m: m.update(estimator="Pipeline"), "a pipeline needs format_version 2"),
        (lambda m: m.update(estimator=["GatedReLURegressor"]), "must be a class name .*list"),
        (lambda m: m.update(estimator={"a": 1}), "must be a class name .*dict"),
        (lambda m: m["params"].update(alpha=-1), "invalid parameter .*alpha must be > 0"),
        (lambda m: m["params"].update(n_gates=0), "invalid parameter .*n_gates must be >= 1"),
        (lambda m: m["params"].update(solver="magic"), "invalid parameter .*solver 'magic'"),
        (lambda m: m["params"].update(fit_intercept="yes"), "invalid parameter .*fit_intercept"),
        (lambda m: m["attributes"]["n_features_in_"].update(value=4), "n_features_in_ = 4"),
        (lambda m: m["attributes"]["n_features_in_"].update(value="3"), "n_features_in_ must be"),
        (lambda m: m.update(arrays=[]), "'arrays' is not a JSON object"),
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


# ---------------------------------------------------------------------------------------------
# Crafted files whose arrays disagree with the model, zip bombs and huge headers
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "edit, message",
    [
        # coef_ of the wrong shape: one pattern short; one feature short
        (lambda e: e.update({"attr.coef_": e["attr.coef_"][:-1]}), "coef_ has shape"),
        (lambda e: e.update({"attr.coef_": e["attr.coef_"][:, :-1]}), "coef_ has shape"),
        # coef_ of the wrong dtype
        (lambda e: e.update({"attr.coef_": e["attr.coef_"].astype(np.complex128)}),
         "coef_ (must be a floating-point array|holds)"),
        (lambda e: e.update({"attr.coef_": e["attr.coef_"].astype(str)}),
         "coef_ must be a floating-point array; got <U"),
        (lambda e: e.update({"attr.coef_": (e["attr.coef_"] > 0)}),
         "coef_ must be a floating-point array; got bool"),
        # NaN and inf
        (lambda e: e["attr.coef_"].__setitem__((0, 0), np.nan), "coef_ holds NaN or infinite"),
        (lambda e: e["attr.gates_"].__setitem__((0, 0), np.inf), "gates_ holds NaN or infinite"),
        # inconsistent activation patterns
        (lambda e: e.update({"attr.patterns_.masks": e["attr.patterns_.masks"][:, :-1]}),
         "patterns_.masks has shape|'patterns_' is inconsistent: gates must have shape"),
        (lambda e: e.update({"attr.patterns_.gate_pattern": e["attr.patterns_.gate_pattern"] + 99}),
         "gate_pattern must be integers"),
        (lambda e: e.update({"attr.gates_": e["attr.gates_"][:, :-1]}), "gates_ has shape"),
    ],
)
def test_rejects_arrays_that_disagree_with_the_model(saved, tmp_path, edit, message):
    """A forger who also rewrites the metadata's array records is stopped by the model checks."""

    def copy_then_edit(entries):
        for key in list(entries):
            if key != "metadata":
                entries[key] = entries[key].copy()
        edit(entries)

    bad = _rewrite(saved[0], tmp_path / "bad.npz", arrays=copy_then_edit, describe=True)
    with pytest.raises(ModelFileError, match=message):
        load_model(bad)
    # and without the forged records the recorded dtype/shape disagree first
    bad2 = _rewrite(saved[0], tmp_path / "bad2.npz", arrays=copy_then_edit)
    with pytest.raises(ModelFileError):
        load_model(bad2)


def test_array_records_must_match_the_entries(saved, tmp_path):
    def retype(meta):
        meta["arrays"]["attr.coef_"]["dtype"] = "<f4"

    with pytest.raises(ModelFileError, match="metadata records dtype <f4"):
        load_model(_rewrite(saved[0], tmp_path / "a.npz", meta=retype))


def _deflate(data: bytes, level: int = 6) -> bytes:
    c = zlib.compressobj(level, zlib.DEFLATED, -15)
    return c.compress(data) + c.flush()


def _write_zip(path, entries):
    """A zip archive from ``(name, deflated bytes, crc32, uncompressed size)``, written by hand
    so that an entry can be a pre-built deflate stream (a bomb)."""
    import struct

    out, central = bytearray(), bytearray()
    for name, data, crc, size in entries:
        raw = name.encode()
        offset = len(out)
        out += struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0x21, crc, len(data), size,
                           len(raw), 0) + raw + data
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 8, 0, 0x21, crc,
                               len(data), size, len(raw), 0, 0, 0, 0, 0, offset) + raw
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(entries), len(entries), len(central),
                      len(out), 0)
    path.write_bytes(bytes(out + central + end))
    return path


def _npy_bytes(arr) -> bytes:
    import io

    buf = io.BytesIO()
    np.save(buf, arr, allow_pickle=False)
    return buf.getvalue()


def _entries_of(src):
    """The archive's entries as ``(name, deflated, crc, size)``, metadata included."""
    out = []
    with zipfile.ZipFile(src) as z:
        for info in z.infolist():
            data = z.read(info)
            out.append((info.filename, _deflate(data), zlib.crc32(data), len(data)))
    return out


def _count_opens(monkeypatch):
    opened = []
    real = zipfile.ZipFile.open

    def spy(self, name, *args, **kwargs):
        opened.append(name.filename if isinstance(name, zipfile.ZipInfo) else name)
        return real(self, name, *args, **kwargs)

    monkeypatch.setattr(zipfile.ZipFile, "open", spy)
    return opened


def test_zip_bomb_is_refused_before_inflating(saved, tmp_path, monkeypatch):
    """0.8 MB of deflate data that inflates to 800 MB of zeros, as attr.coef_.npy."""
    import io

    n = 100 * 2**20  # float64 entries: 800 MiB

    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": "<f8", "fortran_order": False,
                                               "shape": (n,)})
    header = buf.getvalue()
    head = zlib.compressobj(9, zlib.DEFLATED, -15)
    stream = head.compress(header) + head.flush(zlib.Z_FULL_FLUSH)
    # a full flush makes each 1 MiB block independent, so one compressed block repeated 800
    # times is a valid deflate stream of 800 MiB of zeros (built in milliseconds)
    zeros = zlib.compressobj(9, zlib.DEFLATED, -15)
    chunk = zeros.compress(bytes(2**20)) + zeros.flush(zlib.Z_FULL_FLUSH)
    stream += chunk * 800 + zlib.compressobj(9, zlib.DEFLATED, -15).flush()
    crc = zlib.crc32(header)
    block = bytes(2**20)
    for _ in range(800):
        crc = zlib.crc32(block, crc)
    size = len(header) + 8 * n
    assert len(stream) < 10**6 and size > 8 * 10**8  # 0.8 MB -> 800 MB
    entries = [e for e in _entries_of(saved[0]) if e[0] != "attr.coef_.npy"]
    entries.append(("attr.coef_.npy", stream, crc, size))
    bomb = _write_zip(tmp_path / "bomb.npz", entries)
    with zipfile.ZipFile(bomb) as z:  # the archive really is a valid zip holding the bomb
        assert z.getinfo("attr.coef_.npy").file_size == size
    opened = _count_opens(monkeypatch)
    with pytest.raises(ModelFileError, match="attr.coef_.*ratio above .*refused without inflating"):
        load_model(bomb)
    assert "attr.coef_.npy" not in opened


def test_huge_npy_header_is_a_model_file_error_not_memory_error(saved, tmp_path):
    import io

    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        buf, {"descr": "<f8", "fortran_order": False, "shape": (10**12,)}
    )
    data = buf.getvalue() + bytes(16)
    entries = [e for e in _entries_of(saved[0]) if e[0] != "attr.coef_.npy"]
    entries.append(("attr.coef_.npy", _deflate(data), zlib.crc32(data), len(data)))
    bad = _write_zip(tmp_path / "huge.npz", entries)
    with pytest.raises(ModelFileError, match=r"shape \(1000000000000,\).*refused without allocat"):
        load_model(bad)


def test_unknown_entries_are_refused_unread(saved, tmp_path, monkeypatch):
    entries = _entries_of(saved[0])
    payload = _npy_bytes(np.ones(3))
    entries.append(("attr.surprise_.npy", _deflate(payload), zlib.crc32(payload), len(payload)))
    entries.append(("readme.txt", _deflate(b"hi"), zlib.crc32(b"hi"), 2))
    bad = _write_zip(tmp_path / "extra.npz", entries)
    opened = _count_opens(monkeypatch)
    with pytest.raises(ModelFileError, match="unexpected entries 'attr.surprise_', 'readme.txt'"):
        load_model(bad)
    assert set(opened) == {"metadata.npy"}  # only the metadata was read
    # and a file written by hand with the right entries loads (the writer above is sound)
    assert np.array_equal(load_model(_write_zip(tmp_path / "ok.npz", _entries_of(saved[0])))
                          .predict(_data()[0]), saved[1].predict(_data()[0]))


# ---------------------------------------------------------------------------------------------
# Pipelines (what `gatedrelu fit` saves)
# ---------------------------------------------------------------------------------------------


def _pipelines():
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = _data()
    X = X * np.array([1.0, 1e3, 1.0]) + np.array([0.0, 1.7e5, -3.0])  # raw, unscaled features
    labels = _labels(y, ["a", "b", "c"])
    reg = Pipeline([("scale", StandardScaler()),
                    ("model", GatedReLURegressor(n_gates=20, alpha=1e-2, random_state=0))])
    clf = Pipeline([("scale", StandardScaler()),
                    ("model", GatedReLUClassifier(n_gates=20, alpha=1e-2, random_state=0))])
    return {"regressor": (reg.fit(X, y), X), "classifier": (clf.fit(X, labels), X)}


@pytest.mark.parametrize("case", ["regressor", "classifier"])
def test_pipeline_round_trip_is_exact(case, tmp_path):
    from sklearn.pipeline import Pipeline

    pipe, X = _pipelines()[case]
    path = save_model(pipe, tmp_path / "p.npz", extra={"cli": {"scaled": True}})
    meta = read_metadata(path)
    assert meta["format_version"] == 2 and meta["estimator"] == "Pipeline"
    assert [s["estimator"] for s in meta["steps"]] == ["StandardScaler", type(pipe[-1]).__name__]
    assert meta["extra"] == {"cli": {"scaled": True}}
    loaded = load_model(path)
    assert isinstance(loaded, Pipeline) and [n for n, _ in loaded.steps] == ["scale", "model"]
    for attr in ("mean_", "scale_", "var_"):
        _assert_same(getattr(pipe[0], attr), getattr(loaded[0], attr), attr)
    _assert_same(pipe[-1].coef_, loaded[-1].coef_, "coef_")
    assert np.array_equal(pipe.predict(X), loaded.predict(X))
    # the scaler is really applied: the raw column offset by 1.7e5 is centred
    assert abs(loaded[0].mean_[1] - 1.7e5) < 1e3


def test_pipeline_that_cannot_be_saved(tmp_path):
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import MinMaxScaler, StandardScaler

    X, y = _data()
    bad = Pipeline([("mm", MinMaxScaler()), ("model", GatedReLURegressor(n_gates=5))]).fit(X, y)
    with pytest.raises(TypeError, match="Only the transformers StandardScaler"):
        save_model(bad, tmp_path / "p.npz")
    ridge = Pipeline([("scale", StandardScaler()), ("model", Ridge())]).fit(X, y)
    with pytest.raises(TypeError, match="Only the gatedrelu estimators"):
        save_model(ridge, tmp_path / "p.npz")
    assert not (tmp_path / "p.npz").exists()


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda m: m["steps"][0].update(estimator="MinMaxScaler"), "class 'MinMaxScaler'"),
        (lambda m: m["steps"][1].update(estimator="StandardScaler"), "class 'StandardScaler'"),
        (lambda m: m["steps"][0].update(name="a b"), "invalid name 'a b'"),
        (lambda m: m["steps"][1].update(name="scale"), "not distinct"),
        (lambda m: m.update(steps=[]), "no steps"),
        (lambda m: m["params"].update(memory="/tmp/cache"), "memory=None"),
        (lambda m: m["steps"][0]["params"].update(with_mean="yes"), "invalid parameter of St"),
        (lambda m: m["steps"][1]["params"].update(alpha=-1), "alpha must be > 0"),
    ],
)
def test_rejects_bad_pipeline_metadata(tmp_path, edit, message):
    pipe, _ = _pipelines()["regressor"]
    path = save_model(pipe, tmp_path / "p.npz")
    with pytest.raises(ModelFileError, match=message):
        load_model(_rewrite(path, tmp_path / "bad.npz", meta=edit))


def test_rejects_a_scaler_that_disagrees_with_the_model(tmp_path):
    pipe, _ = _pipelines()["regressor"]
    path = save_model(pipe, tmp_path / "p.npz")

    def shorter(entries):
        for key in ("step0.attr.mean_", "step0.attr.scale_", "step0.attr.var_"):
            entries[key] = entries[key][:-1]

    def meta(m):
        m["steps"][0]["attributes"]["n_features_in_"]["value"] = 2

    bad = _rewrite(path, tmp_path / "bad.npz", meta=meta, arrays=shorter, describe=True)
    with pytest.raises(ModelFileError, match="outputs 2 features, but step 'model' expects 3"):
        load_model(bad)

    def zero_scale(entries):
        entries["step0.attr.scale_"] = np.zeros_like(entries["step0.attr.scale_"]) * np.nan

    with pytest.raises(ModelFileError, match="scale_ holds NaN"):
        load_model(_rewrite(path, tmp_path / "bad2.npz", arrays=zero_scale))
