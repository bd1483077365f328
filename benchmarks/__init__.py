"""Benchmarks of xlkpi; run them as modules, e.g. ``python -m benchmarks.bench_functions``."""
