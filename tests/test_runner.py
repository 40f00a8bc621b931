"""An interrupted experiment resumes without duplicated or lost rows."""

import pytest

from gatedrelu.experiments._runner import ResultsFile, run_tasks

COLUMNS = ["dataset", "seed", "method", "value"]


def rows_for(task):
    ds, seed = task
    return [dict(dataset=ds, seed=seed, method=m, value=f"{len(ds) * 10 + seed}{m}") for m in "ab"]


TASKS = [(ds, s) for ds in ("iris", "wine", "sonar") for s in range(3)]


class Interrupt(Exception):
    pass


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_interrupted_run_resumes_without_duplicates_or_losses(tmp_path, n_jobs):
    path = tmp_path / "out.csv"
    calls = []

    def flaky(task):
        calls.append(task)
        if len(calls) == 5:
            raise Interrupt  # the 5th task dies, as if the run were killed
        return rows_for(task)

    res = ResultsFile(str(path), COLUMNS, ["dataset", "seed"])
    with pytest.raises(Interrupt):
        run_tasks(TASKS, lambda t: t, flaky, res, progress=False)
    first = res.rows()
    assert len(first) == 2 * 4  # the four finished tasks are on disk
    # simulate a torn write: half a line at the end of the file
    with open(path, "a") as fh:
        fh.write("sonar,2,a,12")
    res2 = ResultsFile(str(path), COLUMNS, ["dataset", "seed"])
    counts = run_tasks(TASKS, lambda t: t, rows_for, res2, n_jobs=n_jobs, progress=False)
    assert counts.ran == len(TASKS) - 4 and counts.reused == 4
    rows = res2.rows()
    keys = [(r["dataset"], r["seed"], r["method"]) for r in rows]
    assert len(keys) == len(set(keys)) == 2 * len(TASKS)
    expected = {(r["dataset"], str(r["seed"]), r["method"], r["value"]) for t in TASKS for r in rows_for(t)}
    assert {(r["dataset"], r["seed"], r["method"], r["value"]) for r in rows} == expected
    # a third run has nothing left to do
    assert run_tasks(TASKS, lambda t: t, rows_for, res2, progress=False).ran == 0


def test_foreign_file_is_refused(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(ValueError, match="different experiment"):
        ResultsFile(str(path), COLUMNS, ["dataset"])


STAMP = {"gatedrelu": "0.1.0", "code": "abc"}


def _run(path, tasks=TASKS, *, stamp=STAMP, fresh=False, fn=rows_for, n_jobs=1):
    calls = []

    def counting(task):
        calls.append(task)
        return fn(task)

    res = ResultsFile(str(path), COLUMNS, ["dataset", "seed"], stamp=stamp, fresh=fresh)
    counts = run_tasks(tasks, lambda t: t, counting, res, progress=False, n_jobs=n_jobs)
    return res, counts, calls


def _expected(tasks=TASKS):
    return sorted((r["dataset"], str(r["seed"]), r["method"], r["value"])
                  for t in tasks for r in rows_for(t))


def _on_disk(res):
    return sorted((r["dataset"], r["seed"], r["method"], r["value"]) for r in res.rows())


@pytest.mark.parametrize("journal_written", [True, False])
def test_write_cut_between_a_tasks_two_rows_loses_no_row(tmp_path, journal_written):
    """Simulated truncation: the file ends after the first of the last task's two rows.

    Before the journal, the task counted as done as soon as one of its rows was on disk, so
    its second row was lost for good.
    """
    path = tmp_path / "out.csv"
    res, counts, _ = _run(path)
    assert counts.ran == len(TASKS)
    lines = path.read_text().splitlines(keepends=True)
    assert lines[-2].startswith("sonar,2,a") and lines[-1].startswith("sonar,2,b")
    path.write_text("".join(lines[:-1]))  # cut between the task's two rows
    if not journal_written:  # the cut came before the completion record, as it would
        journal = (tmp_path / "out.csv.done").read_text().splitlines(keepends=True)
        (tmp_path / "out.csv.done").write_text("".join(journal[:-1]))
    res, counts, calls = _run(path)
    assert calls == [("sonar", 2)]  # only the cut task runs again
    assert counts == (1, len(TASKS) - 1, 1)
    assert _on_disk(res) == _expected()  # every row once, the second row back


def test_rows_without_a_record_are_replaced_not_duplicated(tmp_path):
    """A legacy file (no journal) or a kill between the rows and their record: rerun, no
    duplicates."""
    path = tmp_path / "out.csv"
    _run(path)
    (tmp_path / "out.csv.done").unlink()
    res, counts, calls = _run(path)
    assert len(calls) == len(TASKS) and counts.stale == len(TASKS)
    assert _on_disk(res) == _expected()


def test_cache_is_keyed_by_version_and_code(tmp_path, capsys):
    path = tmp_path / "out.csv"
    _run(path, stamp=STAMP)
    capsys.readouterr()
    # same version and code: everything reused, and said so
    res, counts, calls = _run(path, stamp=STAMP)
    res2 = ResultsFile(str(path), COLUMNS, ["dataset", "seed"], stamp=STAMP)
    run_tasks(TASKS, lambda t: t, rows_for, res2, progress=False, desc="demo")
    err = capsys.readouterr().err
    assert calls == [] and counts == (0, len(TASKS), 0)
    assert f"demo: {len(TASKS)} of {len(TASKS)} task(s) reused from {path}" in err
    assert "gatedrelu 0.1.0, code abc" in err
    # another version or code: recomputed, old rows replaced
    for stamp in ({"gatedrelu": "0.2.0", "code": "abc"}, {"gatedrelu": "0.1.0", "code": "xyz"}):
        changed = {t: [dict(r, value=r["value"] + stamp["gatedrelu"] + stamp["code"])
                       for r in rows_for(t)] for t in TASKS}
        res, counts, calls = _run(path, stamp=stamp, fn=lambda t: changed[t])
        assert len(calls) == len(TASKS) and counts == (len(TASKS), 0, len(TASKS))
        assert sorted(r["value"] for r in res.rows()) == sorted(
            r["value"] for t in TASKS for r in changed[t])


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_fresh_recomputes_everything(tmp_path, n_jobs):
    path = tmp_path / "out.csv"
    _run(path)
    res, counts, calls = _run(path, fresh=True, n_jobs=n_jobs)
    assert counts == (len(TASKS), 0, len(TASKS))
    assert sorted(calls) == sorted(TASKS) or n_jobs == 2  # workers' calls are not seen here
    assert _on_disk(res) == _expected()
    res, counts, calls = _run(path)  # and the fresh results are reusable
    assert counts.reused == len(TASKS) and calls == []


def test_code_stamp_tracks_the_package():
    from gatedrelu import __version__
    from gatedrelu.experiments._runner import code_stamp

    stamp = code_stamp()
    assert stamp["gatedrelu"] == __version__
    assert len(stamp["code"]) == 16 and stamp == code_stamp()


def test_rows_must_carry_their_task_key(tmp_path):
    res = ResultsFile(str(tmp_path / "x.csv"), COLUMNS, ["dataset", "seed"], stamp=STAMP)
    with pytest.raises(ValueError, match="carries the key"):
        res.append(rows_for(("iris", 0)), key=("iris", "1"))
