"""Plug-in discovery: every public module of a package that defines a given attribute.

The solvers (``SOLVER``), datafits (``DATAFIT``), penalties (``PENALTY``) and constraints
(``CONSTRAINT``) are registered this way, so adding one is adding one file to its package.
"""

from __future__ import annotations

import importlib
import pkgutil


def discover(package: str, path, attribute: str, kind=None) -> dict:
    """``{obj.name: obj}`` for the ``attribute`` of every module of ``package`` not starting with ``_``.

    ``kind``: when given, objects that are not instances (or subclasses) of it are skipped.
    """
    found = {}
    for info in sorted(pkgutil.iter_modules(path), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{package}.{info.name}")
        obj = getattr(module, attribute, None)
        if obj is None:
            continue
        if kind is not None and not (isinstance(obj, kind) or (isinstance(obj, type) and issubclass(obj, kind))):
            continue
        if obj.name in found:
            raise RuntimeError(f"two {package} modules register the name {obj.name!r}")
        found[obj.name] = obj
    return found
