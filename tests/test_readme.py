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
