"""The paths of the benchmarks, defined once: the repository root (the workers run
``python -m benchmarks.<module>`` from there), the default results folder and the files
of the benchmarks page."""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).resolve().parent  # benchmarks/
ROOT = HERE.parent  # the repository root
RESULTS = HERE / "results"  # default output folder of the runs

DOC = ROOT / "docs" / "benchmarks.md"
DOC_IMG = ROOT / "docs" / "img" / "benchmarks.png"
DOC_JSON = ROOT / "docs" / "benchmarks.json"  # the data of the page (tests/docs checks it)
