"""Command line entry point: ``anyiou`` / ``python -m anyiou`` (see :mod:`anyiou.cli`)."""

from __future__ import annotations

import sys

from .cli import main

__all__ = ["main"]

if __name__ == "__main__":
    sys.exit(main())
