"""Benchmarks of the project, run from the repository root: ``python -m benchmarks`` (not an installed package)."""
