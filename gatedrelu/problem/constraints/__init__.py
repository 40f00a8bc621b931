"""Constraints of the convex program: every module here that defines ``CONSTRAINT`` is one.

A ``Problem`` with ``constraint=None`` is unconstrained. ``CONSTRAINTS`` maps names to classes.
"""

from __future__ import annotations

from ..._registry import discover

__all__ = ["CONSTRAINTS"]

#: name -> constraint class
CONSTRAINTS = discover(__name__, __path__, "CONSTRAINT")
