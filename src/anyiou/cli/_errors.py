"""The one exception type of the command line."""

from __future__ import annotations

__all__ = ["EvaluationError"]


class EvaluationError(Exception):
    """Bad input met while evaluating (files, shapes, labels, options).

    ``anyiou evaluate`` prints its message to stderr and exits with status 1, writing
    nothing else.
    """
