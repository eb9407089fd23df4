"""The anyiou benchmark; run it from the repository root: ``python -m benchmarks.run``."""
