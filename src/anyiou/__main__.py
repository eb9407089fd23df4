"""Command line entry point: ``anyiou`` / ``python -m anyiou``."""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="anyiou",
        description="IoU losses and metrics on every array library.",
    )
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("demo", help="compute each loss and its gradient on every installed backend")
    args = parser.parse_args(argv)
    if args.command in (None, "demo"):
        from ._demo import run

        return run()
    parser.error(f"unknown command {args.command!r}")  # pragma: no cover
    return 2


if __name__ == "__main__":
    sys.exit(main())
