"""Resumable, parallel experiment runs: every finished task is on disk at once.

An experiment is a list of tasks, each with a key (a tuple of strings, e.g. dataset and seed)
and a function that turns the task into result rows. :func:`run_tasks` skips the tasks whose
key is already in the results file, runs the others (in parallel with joblib when
``n_jobs != 1``), and appends each task's rows to the CSV in one write, flushed and synced, as
soon as the task finishes. An interruption therefore loses at most the tasks in flight; a rerun
resumes without duplicating or losing rows. A torn last line (killed mid-write) is detected and
dropped when the file is opened again.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Callable, Iterable, Sequence

__all__ = ["ResultsFile", "run_tasks"]


class ResultsFile:
    """An append-only CSV of result rows keyed by ``key_columns``.

    Parameters
    ----------
    path : str
        CSV file; created with a header row if missing.
    columns : sequence of str
        All columns, in order. An existing file must have exactly this header.
    key_columns : sequence of str
        Columns that identify the task a row came from.
    """

    def __init__(self, path: str, columns: Sequence[str], key_columns: Sequence[str]):
        self.path = path
        self.columns = list(columns)
        self.key_columns = list(key_columns)
        missing = set(self.key_columns) - set(self.columns)
        if missing:
            raise ValueError(f"key columns {sorted(missing)} are not among the columns.")
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        if not os.path.exists(path) or os.path.getsize(path) == 0:
            with open(path, "w", newline="") as fh:
                csv.writer(fh).writerow(self.columns)
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

    def done_keys(self) -> set[tuple]:
        """Keys of the tasks whose rows are on disk."""
        return {tuple(r[k] for k in self.key_columns) for r in self.rows()}

    def append(self, rows: Iterable[dict]) -> None:
        """Append rows in one write, synced to disk."""
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=self.columns, extrasaction="raise")
        for row in rows:
            missing = set(self.columns) - set(row)
            if missing:
                raise ValueError(f"row is missing columns {sorted(missing)}.")
            writer.writerow(row)
        data = buf.getvalue().encode()
        # One write(2) on an O_APPEND descriptor: a killed process leaves all of a task's rows
        # or none of them (a torn tail is only possible on power loss; _repair drops it).
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND)
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
) -> int:
    """Run ``fn`` on every task not yet in ``results``; returns the number of tasks run.

    ``key(task)`` must return the task's values of ``results.key_columns`` as strings; the rows
    ``fn(task)`` returns must carry the same values. A tqdm progress bar on stderr counts tasks.
    """
    done = results.done_keys()
    todo = [t for t in tasks if tuple(str(v) for v in key(t)) not in done]
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(tasks), initial=len(tasks) - len(todo), desc=desc, unit="task")
    try:
        if n_jobs == 1:
            outputs = (fn(t) for t in todo)
        else:
            from joblib import Parallel, delayed

            outputs = Parallel(n_jobs=n_jobs, return_as="generator_unordered")(
                delayed(fn)(t) for t in todo
            )
        for rows in outputs:
            results.append(rows)
            if bar is not None:
                bar.update(1)
    finally:
        if bar is not None:
            bar.close()
    return len(todo)
