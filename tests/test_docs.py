"""The documentation: the MkDocs site builds without warnings, and its code examples run.

The examples in ``docs/quickstart.md`` and ``docs/guide/*.md`` assert their own results (e.g.
``assert np.allclose(net.predict(X), model.predict(X))``), so running them checks that the docs
say what the code does. Each ```python block runs on its own, in a fresh namespace.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
from sklearn.exceptions import ConvergenceWarning

# The docs build and the examples run whole workflows (fits, CV, experiments): the slow tier.
pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs"
EXAMPLE_PAGES = [DOCS / "quickstart.md", *sorted((DOCS / "guide").glob("*.md"))]

_FENCE = re.compile(
    r"^(?P<indent>[ ]*)```python[^\n]*\n(?P<body>.*?)^(?P=indent)```[ ]*$", re.M | re.S
)


def python_blocks(path: Path) -> list[tuple[int, str]]:
    """``(line number, code)`` of every ```python block of a Markdown page."""
    text = path.read_text(encoding="utf-8")
    blocks = []
    for match in _FENCE.finditer(text):
        indent = len(match["indent"])
        code = "\n".join(line[indent:] for line in match["body"].splitlines())
        blocks.append((text.count("\n", 0, match.start()) + 1, code))
    return blocks


EXAMPLES = [
    pytest.param(code, id=f"{page.relative_to(DOCS).as_posix()}:{line}")
    for page in EXAMPLE_PAGES
    for line, code in python_blocks(page)
]


def test_example_pages_have_examples():
    assert (DOCS / "quickstart.md").is_file()
    assert len(EXAMPLES) >= 10, [p.relative_to(DOCS) for p in EXAMPLE_PAGES]


@pytest.mark.parametrize("code", EXAMPLES)
def test_example_runs(code, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # examples that write files write them here
    namespace = {"__name__": "__docs_example__"}
    with warnings.catch_warnings():
        # An example must not hit a ConvergenceWarning or any other warning of ours.
        warnings.filterwarnings("error", category=ConvergenceWarning)
        warnings.filterwarnings("error", module=r"(gatedrelu(\..*)?|__docs_example__)$")
        exec(compile(code, "<docs example>", "exec"), namespace)


def test_mkdocs_build_strict(tmp_path):
    pytest.importorskip("mkdocs")
    pytest.importorskip("mkdocstrings_handlers.python")
    pytest.importorskip("material")
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "WARNING" not in output, output
    site = tmp_path / "site"
    assert (site / "index.html").is_file()
    assert (site / "api" / "group_lasso" / "index.html").is_file()
    # what strict mode does not catch: references and reST left unrendered, and math from a CDN
    leftovers = re.compile(r"&lt;autoref|<autoref|:(?:func|class|mod|meth|attr|param|math):`|"
                           r"^\s*:param\b|\.\. (?:math|code-block)::", re.M)
    bad = {}
    for page in site.rglob("*.html"):
        found = leftovers.findall(page.read_text(encoding="utf-8"))
        if found:
            bad[page.relative_to(site).as_posix()] = sorted(set(found))
    assert not bad, f"unrendered markup in the built site: {bad}"
    for page in site.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        assert "unpkg.com" not in text and "cdn.jsdelivr" not in text, page
    assert (site / "javascripts" / "mathjax" / "tex-mml-chtml.js").is_file()
    assert any((site / "javascripts" / "mathjax" / "output" / "chtml" / "fonts" / "woff-v2").iterdir())
