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
    ran = run_tasks(TASKS, lambda t: t, rows_for, res2, n_jobs=n_jobs, progress=False)
    assert ran == len(TASKS) - 4
    rows = res2.rows()
    keys = [(r["dataset"], r["seed"], r["method"]) for r in rows]
    assert len(keys) == len(set(keys)) == 2 * len(TASKS)
    expected = {(r["dataset"], str(r["seed"]), r["method"], r["value"]) for t in TASKS for r in rows_for(t)}
    assert {(r["dataset"], r["seed"], r["method"], r["value"]) for r in rows} == expected
    # a third run has nothing left to do
    assert run_tasks(TASKS, lambda t: t, rows_for, res2, progress=False) == 0


def test_foreign_file_is_refused(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(ValueError, match="different experiment"):
        ResultsFile(str(path), COLUMNS, ["dataset"])
