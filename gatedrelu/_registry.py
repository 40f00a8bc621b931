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


class Component:
    """Base of the problem layer's plug-ins (datafits, penalties, constraints): small immutable
    objects, equal and hashed by class and ``_params()``, so that they can be static arguments
    of ``jax.jit`` (equal components compile once)."""

    #: Registered name.
    name = ""

    def _params(self) -> tuple:
        """The parameters that distinguish two instances (plain hashable values)."""
        return ()

    def __hash__(self):
        return hash((type(self).__name__,) + self._params())

    def __eq__(self, other):
        return type(other) is type(self) and other._params() == self._params()

    def __repr__(self):
        params = ", ".join(map(repr, self._params()))
        return f"{type(self).__name__}({params})"


def instance(value, registry: dict, base: type, what: str):
    """``value`` if it is a ``base`` instance, else ``registry[value]()`` with a clear error for
    unknown names (``what``: the parameter's name, e.g. "loss")."""
    if isinstance(value, base):
        return value
    if not isinstance(value, str) or value not in registry:
        raise ValueError(f"Unknown {what} {value!r}; expected one of {', '.join(map(repr, registry))}.")
    return registry[value]()
