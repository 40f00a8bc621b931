"""Resumable, parallel experiment runs with a keyed result cache.

An experiment is a list of tasks, each with a key (a tuple of strings, e.g. dataset and seed)
and a function that turns the task into result rows. :func:`run_tasks` reuses the tasks already
done, runs the others (in parallel with joblib when ``n_jobs != 1``), and appends each task's
rows to the CSV in one write, flushed and synced, as soon as the task finishes.

Done, and reusable, means: the task's completion record is in the journal ``<csv>.done`` (one
JSON line per finished task, written and synced after its rows), the record's stamp (the
gatedrelu version and a fingerprint of the package's code, :func:`code_stamp`) equals the
current one, and all of the task's rows are in the CSV (the record counts them). A task cut
between two of its rows, one stamped by another version or code, or one whose rows are
incomplete is run again, and its old rows are removed first, so that no row is lost or
duplicated. A torn last line (killed mid-write) is dropped when the file is opened again.
``fresh=True`` recomputes every task.

Why our own store instead of ``joblib.Memory``: the CSV is the experiment's product (read by
the summaries and figures, committed with the docs, diffable), and a task's rows must reach it
as soon as the task ends; ``joblib.Memory`` would keep a second, opaque copy of every result
as pickles, and its code check covers only the decorated function, not the solvers it calls
(our stamp covers the whole package).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import sys
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from typing import NamedTuple

__all__ = ["ResultsFile", "TaskCounts", "code_stamp", "run_tasks"]


def code_stamp() -> dict:
    """``{"gatedrelu": version, "code": sha256 of the package's .py files}``.

    The fingerprint hashes every ``.py`` file under the installed ``gatedrelu`` package (paths
    and contents, in sorted order): about 10 ms, and any edit to the code invalidates the cache.
    """
    from .. import __version__

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    digest = hashlib.sha256()
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in sorted(files):
            if name.endswith(".py"):
                path = os.path.join(folder, name)
                digest.update(os.path.relpath(path, root).encode())
                with open(path, "rb") as fh:
                    digest.update(fh.read())
    return {"gatedrelu": __version__, "code": digest.hexdigest()[:16]}


class TaskCounts(NamedTuple):
    """What :func:`run_tasks` did."""

    ran: int  # tasks run now
    reused: int  # tasks whose rows were reused from the results file
    stale: int  # tasks that had rows on disk but were run again (other stamp, incomplete, fresh)


class ResultsFile:
    """An append-only CSV of result rows keyed by ``key_columns``, with a completion journal.

    Parameters
    ----------
    path : str
        CSV file; created with a header row if missing. Its journal is ``path + ".done"``.
    columns : sequence of str
        All columns, in order. An existing file must have exactly this header.
    key_columns : sequence of str
        Columns that identify the task a row came from.
    stamp : dict, optional
        What a reusable result must have been computed with (default :func:`code_stamp`).
    fresh : bool, default False
        Reuse nothing: every task counts as not done (its old rows are replaced when it runs).
    """

    def __init__(self, path: str, columns: Sequence[str], key_columns: Sequence[str], *,
                 stamp: dict | None = None, fresh: bool = False):
        self.path = path
        self.journal = path + ".done"
        self.columns = list(columns)
        self.key_columns = list(key_columns)
        self.stamp = code_stamp() if stamp is None else dict(stamp)
        self.fresh = bool(fresh)
        missing = set(self.key_columns) - set(self.columns)
        if missing:
            raise ValueError(f"key columns {sorted(missing)} are not among the columns.")
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        if not os.path.exists(path) or os.path.getsize(path) == 0:
            with open(path, "w", newline="") as fh:
                csv.writer(fh).writerow(self.columns)
            if os.path.exists(self.journal):
                os.remove(self.journal)  # records of rows that are gone
        else:
            self._repair()

    def _repair(self) -> None:
        """Check the header and drop a torn last line left by an interrupted write."""
        with open(self.path, newline="") as fh:
            text = fh.read()
        lines = text.splitlines(keepends=True)
        header = next(csv.reader([lines[0]])) if lines else []
        if header != self.columns:
            raise ValueError(
                f"{self.path} has columns {header}, expected {self.columns}: it belongs to a "
                "different experiment; choose another --out folder."
            )
        if lines and not lines[-1].endswith("\n"):
            with open(self.path, "w", newline="") as fh:
                fh.write("".join(lines[:-1]))

    def rows(self) -> list[dict]:
        """Every row as a dict of strings."""
        with open(self.path, newline="") as fh:
            return list(csv.DictReader(fh))

    def _key(self, row: dict) -> tuple:
        return tuple(row[k] for k in self.key_columns)

    def records(self) -> dict[tuple, dict]:
        """The newest journal record of every task key (torn or foreign lines are skipped)."""
        out = {}
        if not os.path.exists(self.journal):
            return out
        with open(self.journal, encoding="utf-8") as fh:
            for line in fh:
                try:
                    rec = json.loads(line)
                    key = tuple(str(v) for v in rec["key"])
                    int(rec["rows"])
                except (ValueError, KeyError, TypeError):
                    continue
                out[key] = rec
        return out

    def done_keys(self) -> set[tuple]:
        """Keys of the reusable tasks: recorded with the current stamp, every row on disk."""
        if self.fresh:
            return set()
        counts = Counter(self._key(r) for r in self.rows())
        return {
            key for key, rec in self.records().items()
            if rec.get("stamp") == self.stamp and counts.get(key, 0) == int(rec["rows"])
        }

    def stored_keys(self) -> set[tuple]:
        """Keys with at least one row in the CSV (reusable or not)."""
        return {self._key(r) for r in self.rows()}

    def remove(self, keys: Iterable[tuple]) -> None:
        """Drop every row of the tasks ``keys`` (atomically: a new file renamed over the old)."""
        keys = set(keys)
        if not keys:
            return
        kept = [r for r in self.rows() if self._key(r) not in keys]
        tmp = self.path + ".tmp"
        with open(tmp, "w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=self.columns)
            writer.writeheader()
            writer.writerows(kept)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.path)

    def append(self, rows: Iterable[dict], key: tuple | None = None) -> None:
        """Append a task's rows in one write, synced to disk, then record the task as done.

        ``key``: the task's key; when given, the completion record goes to the journal after
        the rows are on disk, so a task is done only once all of its rows are.
        """
        rows = list(rows)
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=self.columns, extrasaction="raise")
        for row in rows:
            missing = set(self.columns) - set(row)
            if missing:
                raise ValueError(f"row is missing columns {sorted(missing)}.")
            if key is not None and tuple(str(row[k]) for k in self.key_columns) != key:
                raise ValueError(
                    f"a row of task {key} carries the key "
                    f"{tuple(str(row[k]) for k in self.key_columns)}."
                )
            writer.writerow(row)
        _append_synced(self.path, buf.getvalue().encode())
        if key is not None:
            record = {"key": list(key), "rows": len(rows), "stamp": self.stamp}
            _append_synced(self.journal, (json.dumps(record) + "\n").encode())


def _append_synced(path: str, data: bytes) -> None:
    # One write(2) on an O_APPEND descriptor: a killed process leaves all of the data or none
    # of it (a torn tail is only possible on power loss; _repair drops it).
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        written = os.write(fd, data)
        while written < len(data):  # pragma: no cover - regular files write fully
            written += os.write(fd, data[written:])
        os.fsync(fd)
    finally:
        os.close(fd)


def run_tasks(
    tasks: Sequence,
    key: Callable[[object], tuple],
    fn: Callable[[object], list[dict]],
    results: ResultsFile,
    *,
    n_jobs: int = 1,
    desc: str = "",
    progress: bool = True,
    report: bool = True,
) -> TaskCounts:
    """Run ``fn`` on every task of ``tasks`` that ``results`` cannot reuse.

    ``key(task)`` must return the task's values of ``results.key_columns``; the rows
    ``fn(task)`` returns must carry the same values. A tqdm progress bar on stderr counts tasks;
    ``report`` prints one line saying how many results were reused and how many recomputed.
    """
    keys = [tuple(str(v) for v in key(t)) for t in tasks]
    done = results.done_keys()
    todo = [(t, k) for t, k in zip(tasks, keys, strict=True) if k not in done]
    stale = results.stored_keys() & {k for _, k in todo}
    results.remove(stale)  # partial, foreign-stamped or --fresh rows, replaced below
    counts = TaskCounts(ran=len(todo), reused=len(tasks) - len(todo), stale=len(stale))
    if report:
        why = "--fresh" if results.fresh else (
            f"gatedrelu {results.stamp.get('gatedrelu')}, code {results.stamp.get('code')}"
        )
        print(
            f"{desc or 'run'}: {counts.reused} of {len(tasks)} task(s) reused from "
            f"{results.path} ({why}); {counts.ran} to run"
            + (f", {counts.stale} of them recomputed (other version or code, incomplete, or "
               "--fresh)" if counts.stale else "")
            + ".",
            file=sys.stderr,
        )
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(tasks), initial=counts.reused, desc=desc, unit="task")
    try:
        if n_jobs == 1:
            outputs = ((k, fn(t)) for t, k in todo)
        else:
            from joblib import Parallel, delayed

            outputs = Parallel(n_jobs=n_jobs, return_as="generator_unordered")(
                delayed(_keyed)(fn, t, k) for t, k in todo
            )
        for k, rows in outputs:
            results.append(rows, key=k)
            if bar is not None:
                bar.update(1)
    finally:
        if bar is not None:
            bar.close()
    return counts


def _keyed(fn, task, key):
    return key, fn(task)
