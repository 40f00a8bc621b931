"""Griffe extension: render the reStructuredText bits of gatedrelu's numpydoc docstrings.

The package's docstrings are numpydoc, with a few reStructuredText constructs that Markdown does
not know. mkdocstrings renders docstrings as Markdown, so this extension rewrites them (in the
documentation build only; the source is untouched):

* ``.. math::`` blocks and ``:math:`x``` roles become arithmatex ``$$ ... $$`` and ``$x$``;
* ``.. code-block:: LANG`` blocks become fenced code blocks;
* ``:func:`x```, ``:class:`x```, ``:mod:`x``` (and ``meth``, ``attr``, ``data``, ``exc``,
  ``obj``) become optional cross-references (a link when the target is documented, else code);
  a ``~`` shows only the last component, relative names are looked up next to the object;
* definition lists whose terms are ``literals`` become Markdown definition lists;
* parameter lines such as ``X, y : as in :func:`irls``` (prose in numpydoc's type slot, which is
  rendered as code) get the prose as their description;
* ``docs/math.md`` (the repository's page on the mathematics) links to the Mathematics
  page of this site;
* a ``Methods`` section in a module docstring is titled "Methods compared" (numpydoc reserves
  ``Methods`` for the methods of a class, and would render it as a table of functions);
* classes whose docstring is assigned at import time (``__doc__ = ...``, as the estimators
  do) get that docstring, which static analysis cannot see.

Loaded from ``mkdocs.yml`` (``extensions: [docs/griffe_rst.py]``).
"""

from __future__ import annotations

import importlib
import inspect
import re
import sys
import textwrap
from pathlib import Path

import griffe

_ROLE = re.compile(r":(func|class|mod|meth|attr|data|exc|obj):`(~?)([^`]+)`")
_MATH_ROLE = re.compile(r":math:`([^`]+)`")
_DIRECTIVE = re.compile(r"^(?P<indent>\s*)\.\. (?P<name>math|code-block|code)::\s*(?P<arg>.*)$")
_LITERAL_TERM = re.compile(r"^(?P<indent>\s*)``[^`]+``.*$")
_MATH_REF = re.compile(r"``docs/math\.md``")
_MODULE_METHODS = re.compile(r"^([ \t]*)Methods\n[ \t]*-{7,}[ \t]*\n", re.M)
# "name : as in :func:`x`" puts prose in numpydoc's type slot, which is rendered as code (any link
# in it then shows as escaped HTML): such prose moves to the description.
_PROSE_TYPE = re.compile(r"^(?P<indent>[ \t]*)(?P<names>[\w*][\w*, ]*?) : (?P<prose>(?:[Aa]s in|[Oo]bjects? of|[Ss]ee) .*)$")
_ROOT = Path(__file__).resolve().parents[1]


def _indent_of(line: str) -> int:
    return len(line) - len(line.lstrip())


def _directives(lines: list[str]) -> list[str]:
    """``.. math::`` and ``.. code-block::`` blocks -> ``$$`` / fenced blocks."""
    out: list[str] = []
    i = 0
    while i < len(lines):
        match = _DIRECTIVE.match(lines[i])
        if match is None:
            out.append(lines[i])
            i += 1
            continue
        indent, name, arg = match["indent"], match["name"], match["arg"].strip()
        base = len(indent)
        body: list[str] = []
        j = i + 1
        while j < len(lines) and (not lines[j].strip() or _indent_of(lines[j]) > base):
            body.append(lines[j])
            j += 1
        while body and not body[-1].strip():  # trailing blank lines belong to what follows
            body.pop()
            j -= 1
        content = textwrap.dedent("\n".join(body)).strip("\n").splitlines()
        if name == "math":
            content = ([arg] if arg else []) + content
            block = ["$$", *content, "$$"]
        else:
            block = [f"```{arg}", *content, "```"]
        if out and out[-1].strip():
            out.append("")
        out.extend(indent + line if line.strip() else "" for line in block)
        out.append("")
        i = j
    return out


def _definition_lists(lines: list[str]) -> list[str]:
    """RST definition lists with ``literal`` terms -> Markdown definition lists (def_list)."""
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        if _LITERAL_TERM.match(line) and nxt.strip() and _indent_of(nxt) > _indent_of(line):
            if out and out[-1].strip():
                out.append("")
            out.append(line)
            out.append(" " * _indent_of(line) + ":   " + nxt.strip())
            i += 2
            continue
        out.append(line)
        i += 1
    return out


def _prose_types(lines: list[str]) -> list[str]:
    """``name : as in ...`` parameter lines -> ``name`` with the prose as its description."""
    out: list[str] = []
    for i, line in enumerate(lines):
        match = _PROSE_TYPE.match(line)
        if match is None:
            out.append(line)
            continue
        indent, prose = match["indent"], match["prose"]
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        deeper = nxt.strip() and _indent_of(nxt) > _indent_of(line)
        out.append(indent + match["names"])
        sentence = prose[0].upper() + prose[1:]
        out.append(indent + "    " + sentence + ("" if sentence.endswith(".") or deeper else "."))
    return out


class RstToMarkdown(griffe.Extension):
    """Rewrite reStructuredText constructs in docstrings to Markdown (see the module docstring)."""

    def on_object(self, *, obj: griffe.Object, loader: griffe.GriffeLoader, **kwargs) -> None:
        if obj.is_alias:
            return
        if obj.docstring is None and obj.is_class and "__doc__" in obj.members:
            runtime = _runtime_docstring(obj)
            if runtime:
                obj.docstring = griffe.Docstring(
                    runtime,
                    parent=obj,
                    parser=loader.docstring_parser,
                    parser_options=loader.docstring_options,
                )
        if obj.docstring is None:
            return
        obj.docstring.value = self.convert(obj.docstring.value, obj, loader)

    def convert(self, text: str, obj: griffe.Object, loader: griffe.GriffeLoader) -> str:
        if obj.is_module:
            # numpydoc reserves "Methods" for the methods of a class; a module docstring section
            # of that name (the compared methods of an experiment) is not a list of functions.
            text = _MODULE_METHODS.sub(r"\1Methods compared\n\1----------------\n", text)
        lines = _prose_types(_definition_lists(_directives(text.splitlines())))
        text = "\n".join(lines)
        text = _MATH_ROLE.sub(lambda m: f"${m[1]}$", text)
        text = _ROLE.sub(lambda m: _reference(m[2], m[3], obj, loader), text)
        text = _MATH_REF.sub(
            '<autoref identifier="mathematics">the Mathematics page</autoref>', text
        )
        return text


def _runtime_docstring(obj: griffe.Object) -> str | None:
    """``__doc__`` of the imported class (for docstrings built at import time)."""
    if str(_ROOT) not in sys.path:
        sys.path.insert(0, str(_ROOT))  # document the working tree, installed or not
    try:
        value = getattr(importlib.import_module(obj.module.path), obj.name)
    except Exception:  # noqa: BLE001 - no runtime docstring is not an error
        return None
    doc = value.__dict__.get("__doc__") if isinstance(value, type) else None
    return inspect.cleandoc(doc) if isinstance(doc, str) and doc.strip() else None


def _reference(tilde: str, target: str, obj: griffe.Object, loader: griffe.GriffeLoader) -> str:
    target = target.strip()
    title = target.rsplit(".", 1)[-1] if tilde else target
    identifier = target
    if not target.startswith("gatedrelu"):
        for scope in (obj if obj.is_module else obj.parent, obj.module):
            if scope is not None and target.split(".")[0] in scope.members:
                identifier = f"{scope.path}.{target}"
                break
    try:  # a re-export (gatedrelu.solve_group_lasso) links to where it is documented
        found = loader.modules_collection[identifier]
        identifier = found.target_path if found.is_alias else found.path
    except Exception:  # noqa: BLE001 - unknown targets stay optional references
        pass
    return f'<autoref identifier="{identifier}" optional><code>{title}</code></autoref>'
