"""``python -m gatedrelu``: the command-line interface of :mod:`gatedrelu.cli`."""

from .cli import main

if __name__ == "__main__":
    raise SystemExit(main())
