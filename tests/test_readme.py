"""CI runs exactly the README's test command, and the docs give the same one."""

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_ci_runs_the_readme_test_command():
    """The quick start's test command appears verbatim in ``.ci/run`` and in the docs' quick
    start and installation pages; the quick tier (-m "not slow") is not that command."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    quick_start = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    commands = re.findall(r"```bash\n(.*?)\n```", quick_start, re.S)
    tests = [c for c in commands if "pytest" in c]
    assert tests == ['pip install ".[test]" && python -m pytest'], commands
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert tests[0] in ci
    for page in ("quickstart.md", "installation.md"):
        text = (REPO / "docs" / page).read_text(encoding="utf-8")
        assert re.search(r"^" + re.escape(tests[0]) + r"(\s|$)", text, re.M), page


def test_quick_start_writes_into_an_ignored_folder(monkeypatch, tmp_path):
    """The quick start's `gatedrelu compare --quick` writes into its default --out folder, and
    .gitignore lists that folder (a run in the checkout leaves `git status` clean)."""
    import shlex

    from gatedrelu.cli import main
    from gatedrelu.experiments import compare

    readme = (REPO / "README.md").read_text(encoding="utf-8")
    quick_start = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    runs = [c.split("&&")[-1].strip() for c in re.findall(r"```bash\n(.*?)\n```", quick_start, re.S)
            if "gatedrelu " in c]
    assert runs == ["gatedrelu compare --quick"]
    seen = {}

    def fake_run(*args, out_dir, **kwargs):
        seen["out"] = out_dir
        raise KeyboardInterrupt  # stop before anything is computed or written

    monkeypatch.setattr(compare, "run", fake_run)
    monkeypatch.chdir(tmp_path)
    assert main(shlex.split(runs[0])[1:]) == 130
    ignored = (REPO / ".gitignore").read_text(encoding="utf-8").splitlines()
    assert f"/{seen['out'].strip('/')}/" in ignored, seen

