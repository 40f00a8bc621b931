"""Reading a model file safely: its zip directory, entry sizes and ratios, one entry at a time.

Nothing is inflated before its declared size, its compression ratio and its place in the
metadata are checked (see "Loading checks" in :mod:`gatedrelu.io`)."""

from __future__ import annotations

import zipfile
import zlib

import numpy as np

from .format import (
    _ARRAY_DTYPE_KINDS,
    _METADATA_KEY,
    FREE_BYTES,
    MAX_METADATA_BYTES,
    MAX_RATIO,
    ModelFileError,
    _parse_metadata,
)


class _Archive:
    """A model file's zip directory; entries are read one at a time, after their checks."""

    def __init__(self, path):
        self.path = path
        self.fh = open(path, "rb")  # a missing file raises FileNotFoundError as usual
        try:
            magic = self.fh.read(4)
            if not magic:
                raise ModelFileError(f"{path}: not a gatedrelu model file (the file is empty).")
            if magic != b"PK\x03\x04":
                raise ModelFileError(
                    f"{path}: not a gatedrelu model file (not an .npz archive: no zip signature)."
                )
            self.fh.seek(0)
            try:
                self.zip = zipfile.ZipFile(self.fh)
            except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError) as exc:
                raise self._corrupt(exc) from exc
            self.infos = {}
            for info in self.zip.infolist():
                if info.filename in self.infos:
                    raise ModelFileError(f"{path}: duplicate archive entry {info.filename!r}.")
                self.infos[info.filename] = info
        except BaseException:
            self.fh.close()
            raise

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.zip.close()
        self.fh.close()

    def _corrupt(self, exc) -> ModelFileError:
        return ModelFileError(
            f"{self.path}: not a readable gatedrelu model file (corrupt or truncated .npz: {exc})."
        )

    def metadata(self) -> dict:
        info = self.infos.get(_METADATA_KEY + ".npy")
        if info is None:
            raise ModelFileError(
                f"{self.path}: not a gatedrelu model file (no {_METADATA_KEY!r} entry)."
            )
        if info.file_size > MAX_METADATA_BYTES:
            raise ModelFileError(
                f"{self.path}: the metadata entry declares {info.file_size} bytes (more than "
                f"{MAX_METADATA_BYTES}); refused without inflating it."
            )
        raw = self.read(_METADATA_KEY, None)
        return _parse_metadata(raw, self.path)

    def check_entries(self, expected: set) -> None:
        """Refuse, before reading any, entries the metadata does not describe, or lacks."""
        present = {name[:-4] for name in self.infos if name.endswith(".npy")}
        odd = [name for name in self.infos if not name.endswith(".npy")]
        unexpected = sorted((present - expected - {_METADATA_KEY}) | set(odd))
        if unexpected:
            raise ModelFileError(
                f"{self.path}: unexpected entries {', '.join(map(repr, unexpected))} not "
                "described by the metadata (refused unread)."
            )
        missing = sorted(expected - present)
        if missing:
            raise ModelFileError(f"{self.path}: the model file has no entry {missing[0]!r}.")

    def read(self, key: str, described: dict | None) -> np.ndarray:
        """Entry ``key``: sizes and header checked first, then inflated without pickle."""
        info = self.infos[key + ".npy"]
        where = f"{self.path}: entry {key!r}"
        if info.file_size > FREE_BYTES and info.file_size > MAX_RATIO * max(info.compress_size, 1):
            raise ModelFileError(
                f"{where} declares {info.file_size} bytes uncompressed from "
                f"{info.compress_size} compressed (ratio above {MAX_RATIO}: a zip bomb?); "
                "refused without inflating it."
            )
        from .._validation import available_memory

        avail = available_memory()
        if avail is not None and info.file_size > avail:
            raise ModelFileError(
                f"{where} declares {info.file_size} bytes, more than the {avail} bytes of "
                "available memory; refused without inflating it."
            )
        try:
            with self.zip.open(info) as fp:
                version = np.lib.format.read_magic(fp)
                if version == (1, 0):
                    shape, fortran, dtype = np.lib.format.read_array_header_1_0(fp)
                elif version in ((2, 0), (3, 0)):
                    shape, fortran, dtype = np.lib.format.read_array_header_2_0(fp)
                else:  # pragma: no cover - read_magic refuses other versions
                    raise ValueError(f"unsupported .npy version {version}")
                header_size = fp.tell()
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
            raise self._corrupt(exc) from exc
        except ValueError as exc:
            raise ModelFileError(f"{where} has an invalid .npy header ({exc}).") from exc
        if dtype.hasobject or dtype.fields is not None:
            raise ModelFileError(
                f"{self.path}: the file holds pickled or object arrays, which are never loaded "
                "(a gatedrelu model file has only plain arrays)."
            )
        if dtype.kind not in _ARRAY_DTYPE_KINDS:
            raise ModelFileError(f"{where} has dtype {dtype}, which model files do not use.")
        count = 1
        for dim in shape:
            count *= int(dim)
        nbytes = count * dtype.itemsize
        if header_size + nbytes != info.file_size:
            raise ModelFileError(
                f"{where}: its .npy header describes an array of shape {tuple(shape)} "
                f"({nbytes} bytes), but the entry holds {info.file_size - header_size} bytes; "
                "refused without allocating it."
            )
        if described is not None and (
            described.get("dtype") != dtype.str or described.get("shape") != list(shape)
        ):
            raise ModelFileError(
                f"{where} has dtype {dtype.str} and shape {list(shape)}, but the metadata "
                f"records dtype {described.get('dtype')} and shape {described.get('shape')}."
            )
        try:
            with self.zip.open(info) as fp:
                return np.lib.format.read_array(fp, allow_pickle=False)
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
            raise self._corrupt(exc) from exc
        except ValueError as exc:
            if "pickle" in str(exc) or "Object arrays" in str(exc):
                raise ModelFileError(
                    f"{self.path}: the file holds pickled or object arrays, which are never "
                    "loaded (a gatedrelu model file has only plain arrays)."
                ) from exc
            raise self._corrupt(exc) from exc
