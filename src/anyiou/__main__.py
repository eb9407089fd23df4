"""Command line entry point: ``anyiou`` / ``python -m anyiou`` (see :mod:`anyiou.cli`)."""

from __future__ import annotations

# Ctrl-C handled before anything else is imported (see anyiou._interrupt).
from ._interrupt import install as _install_interrupt

_install_interrupt()

import sys  # noqa: E402

from .cli import main  # noqa: E402

__all__ = ["main"]


if __name__ == "__main__":
    sys.exit(main())
