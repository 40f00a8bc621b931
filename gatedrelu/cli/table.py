"""Reading a CSV file into a :class:`Table` of text cells (pandas), and the embedded data sets.

The rules (delimiter, header, index column, missing cells) are in :mod:`gatedrelu.cli`."""

from __future__ import annotations

import argparse
from typing import NamedTuple

from ._common import _DELIMITERS, EMBEDDED, MISSING, CliError


class Table(NamedTuple):
    """A CSV file as text cells: header, stripped string cells and where each row came from."""

    frame: object  # pandas DataFrame of str, columns = the header
    lines: list[int]  # file line number of each row (header on its own line), for messages
    source: str  # file name or "embedded <name>", for messages
    delimiter: str  # the delimiter used (given or sniffed)
    notes: tuple[str, ...] = ()  # what the reader did (a dropped index column)

    @property
    def columns(self) -> list[str]:
        return list(self.frame.columns)

    def column(self, name: str) -> list[str]:
        return self.frame[name].tolist()

    def where(self, i: int, name: str | None = None) -> str:
        return f"{self.source}, line {self.lines[i]}" + ("" if name is None else f", column {name!r}")

    def missing(self, names) -> None:
        """CliError naming the first missing cells of columns ``names``, if there are any."""
        import numpy as np

        block = self.frame[list(names)].to_numpy(dtype=str)
        bad = np.isin(np.char.lower(block), list(MISSING))
        if not bad.any():
            return
        rows, cols = np.nonzero(bad)
        cells = [f"line {self.lines[i]} column {names[j]!r}" for i, j in zip(rows[:5], cols[:5])]
        more = f" and {len(rows) - 5} more" if len(rows) > 5 else ""
        raise CliError(
            f"{self.source}: {len(rows)} missing value(s) ({', '.join(cells)}{more}); gatedrelu "
            "does not impute: fill or drop those rows."
        )

    def floats(self, name: str):
        """Column ``name`` as float64 of shape (n_rows,); CliError naming the first bad cell."""
        import numpy as np

        self.missing([name])
        values, numeric = _parse_numbers(self.frame[name].to_numpy(dtype=str))
        if not numeric.all():
            i = int(np.argmin(numeric))
            raise CliError(f"{self.where(i, name)}: {self.frame[name].iat[i]!r} is not a number.")
        finite = np.isfinite(values)
        if not finite.all():
            i = int(np.argmin(finite))
            raise CliError(
                f"{self.where(i, name)}: {self.frame[name].iat[i]!r} is not a finite number."
            )
        return values

    def matrix(self, names):
        """Numeric columns ``names`` as float64 of shape (n_rows, len(names))."""
        import numpy as np

        return np.column_stack([self.floats(name) for name in names])


def _parse_numbers(cells):
    """``(values, is_number)``: float64 values (NaN where not a number) of string cells.

    Each cell goes through Python's ``float`` (exact round trip of ``repr``), not pandas'
    default float parser, which may differ in the last bit.
    """
    import numpy as np

    values = np.full(len(cells), np.nan)
    ok = np.zeros(len(cells), dtype=bool)
    for i, cell in enumerate(cells):
        try:
            values[i] = float(cell)
            ok[i] = True
        except ValueError:
            pass
    return values, ok


def _delimiter(given: str | None, sample: str) -> str:
    import csv

    if given is not None:
        sep = _DELIMITERS.get(given.lower(), given)
        if len(sep) != 1:
            raise CliError(
                f"--delimiter must be one character (or tab, comma, semicolon, space, pipe); "
                f"got {given!r}."
            )
        return sep
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        return ","


def read_csv(path, *, delimiter: str | None = None, index_col: str | None = None) -> Table:
    """Read a CSV file with a header row into a :class:`Table` (see :mod:`gatedrelu.cli`).

    Raises
    ------
    CliError
        For a file that is not UTF-8 text, holds a NUL byte, is empty, without data rows, with
        duplicate or missing column names, or with rows of the wrong length; the message names
        the place.
    """
    try:
        with open(path, encoding="utf-8-sig", newline="") as fh:
            sample = fh.read(1 << 16)
    except UnicodeDecodeError as exc:
        raise CliError(f"{path}: not a UTF-8 text file ({exc.reason}).") from None
    _check_no_nul(path)
    sep = _delimiter(delimiter, sample)
    return _parse_csv(path, str(path), sep, index_col)


def _check_no_nul(path) -> None:
    """CliError at the first NUL byte of the file: the CSV reader would cut its cell there."""
    line = 1
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            k = chunk.find(b"\0")
            if k >= 0:
                line += chunk.count(b"\n", 0, k)
                raise CliError(
                    f"{path}, line {line}: a NUL byte (\\x00) in the data; a CSV cell cannot "
                    "hold one (the reader would cut the cell there). Remove it; a file full of "
                    "NUL bytes is UTF-16 text: save it as UTF-8."
                )
            line += chunk.count(b"\n")


def _parse_csv(source_file, source: str, sep: str, index_col) -> Table:
    import pandas as pd

    try:
        raw = pd.read_csv(
            source_file,
            sep=sep,
            header=None,
            dtype=str,
            keep_default_na=False,
            skip_blank_lines=False,
            encoding="utf-8-sig",
            engine="c" if sep != " " else "python",
        )
    except pd.errors.EmptyDataError:
        raise CliError(f"{source}: the CSV file is empty (a header row is needed).") from None
    except pd.errors.ParserError as exc:
        message = " ".join(str(exc).split())
        raise CliError(f"{source}: malformed CSV ({message}).") from None
    except UnicodeDecodeError as exc:
        raise CliError(f"{source}: not a UTF-8 text file ({exc.reason}).") from None
    raw = raw.fillna("").apply(lambda col: col.str.strip())
    # Row k of the file (header included) is line k + 1; a quoted cell spanning several lines
    # shifts the following numbers (pandas does not report physical lines).
    blank = (raw == "").all(axis=1).to_numpy()
    rows = [k for k in range(len(raw)) if not blank[k]]
    if not rows:
        raise CliError(f"{source}: the CSV file is empty (a header row is needed).")
    header = raw.iloc[rows[0]].tolist()
    while header and header[-1] == "" and (raw.iloc[rows[1:], len(header) - 1] == "").all():
        header.pop()  # trailing delimiter on every line
    data = raw.iloc[rows[1:], : len(header)]
    if raw.shape[1] > len(header):
        extra = raw.iloc[rows[1:], len(header):]
        long_rows = (extra != "").any(axis=1).to_numpy()
        if long_rows.any():
            k = rows[1:][int(long_rows.argmax())]
            n_fields = int((raw.iloc[k] != "").to_numpy().nonzero()[0].max()) + 1
            raise CliError(
                f"{source}, line {k + 1}: {n_fields} fields, but the header has {len(header)}."
            )
    if not len(data):
        raise CliError(f"{source}: the CSV file has a header but no data rows.")
    lines = [k + 1 for k in rows[1:]]
    duplicates = sorted({name for name in header if name and header.count(name) > 1})
    if duplicates:
        raise CliError(f"{source}: duplicate column names {', '.join(map(repr, duplicates))}.")
    frame = data.copy()
    frame.columns = header
    frame.index = range(len(frame))
    notes = []

    if index_col is not None:
        if index_col in header:
            drop = index_col
        elif index_col.isdigit() and int(index_col) < len(header):
            drop = header[int(index_col)]
        else:
            raise CliError(
                f"{source}: --index-col {index_col!r} is neither a column name nor a position "
                f"0..{len(header) - 1}."
            )
        frame = frame.drop(columns=[drop])
        notes.append(f"index column {drop!r} dropped")
    elif header[0] == "" and frame.iloc[:, 0].tolist() == [str(i) for i in range(len(frame))]:
        frame = frame.iloc[:, 1:]
        notes.append("unnamed index column 0..n-1 dropped")
    unnamed = [j for j, name in enumerate(frame.columns) if name == ""]
    if unnamed:
        j = unnamed[0]
        raise CliError(
            f"{source}: column {j + 1} has no name in the header; name it, or pass "
            f"--index-col {j} if it is a row index."
        )
    if not len(frame.columns):
        raise CliError(f"{source}: no columns besides the index column.")
    return Table(frame, lines, source, sep, tuple(notes))


def embedded_table(name: str) -> Table:
    """The embedded data set ``name`` (one of EMBEDDED) as a Table."""
    if name == "planted_regression":
        import importlib.resources

        resource = importlib.resources.files("gatedrelu").joinpath("data/planted_regression.csv")
        with importlib.resources.as_file(resource) as path:
            return _parse_csv(path, "embedded planted_regression", ",", None)
    if name == "iris":
        import pandas as pd
        from sklearn.datasets import load_iris

        iris = load_iris()
        frame = pd.DataFrame(
            [[repr(float(v)) for v in x] for x in iris.data], columns=iris.feature_names
        )
        frame["species"] = [str(iris.target_names[t]) for t in iris.target]
        return Table(frame, list(range(2, len(frame) + 2)), "embedded iris", ",")
    raise ValueError(f"Unknown embedded data set {name!r}; expected one of {EMBEDDED}.")


def _csv_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--delimiter",
        metavar="CHAR",
        default=None,
        help="field delimiter: a character, or tab, comma, semicolon, space, pipe (default: "
        "sniffed from the file, comma when unclear)",
    )
    parser.add_argument(
        "--index-col",
        metavar="COLUMN",
        default=None,
        help="a row-index column to drop, by name or 0-based position (default: an unnamed "
        "first column holding 0..n-1, as pandas writes it, is dropped)",
    )
