"""The paths of the benchmarks, defined once: the repository root (the workers run
``python -m benchmarks.<module>`` from there), the default results folder and the files
of the benchmarks page."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent  # benchmarks/
ROOT = HERE.parent  # the repository root
RESULTS = HERE / "results"  # default output folder of the runs

DOC = ROOT / "docs" / "benchmarks.md"
DOC_IMG = ROOT / "docs" / "img" / "benchmarks.png"
DOC_JSON = ROOT / "docs" / "benchmarks.json"  # the data of the page (tests/docs checks it)


def save_result(result: dict[str, Any], out: str | Path, name: str) -> Path:
    """Write a standalone run's ``result`` as ``out/name`` (the folder made if missing),
    say so on stderr, and return the path (``--out`` of ``benchmarks.host`` and
    ``benchmarks.costmodel``)."""
    path = Path(out) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=1))
    print(f"wrote {path}", file=sys.stderr)
    return path
