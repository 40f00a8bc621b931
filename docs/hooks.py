"""MkDocs hook: serve MathJax from the installed ``django-static-mathjax`` package (offline math).

The site loads ``javascripts/mathjax/tex-mml-chtml.js`` (see ``mkdocs.yml``); this hook copies
that component and the CHTML fonts it loads from the package (an optional dependency of the docs
build, the ``docs`` extra) into the built site, so that formulas render without a network.
"""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

#: Files of MathJax's ``es5`` folder that the page needs: the combined TeX/MathML -> CHTML
#: component and the fonts of the CHTML output.
_NEEDED = ("tex-mml-chtml.js", "output/chtml/fonts/woff-v2")


def _mathjax_dir() -> Path:
    spec = importlib.util.find_spec("mathjax")
    if spec is None or spec.origin is None:
        raise RuntimeError(
            'MathJax for the docs comes from the "django-static-mathjax" package: '
            'pip install "gatedrelu[docs]".'
        )
    es5 = Path(spec.origin).parent / "static" / "mathjax" / "es5"
    if not (es5 / "tex-mml-chtml.js").is_file():
        raise RuntimeError(f"{es5} has no tex-mml-chtml.js: reinstall django-static-mathjax.")
    return es5


def on_post_build(config, **kwargs) -> None:
    source = _mathjax_dir()
    target = Path(config["site_dir"]) / "javascripts" / "mathjax"
    for name in _NEEDED:
        src, dst = source / name, target / name
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            shutil.copytree(src, dst, dirs_exist_ok=True)
        else:
            shutil.copy2(src, dst)
