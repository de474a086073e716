"""Benchmarks (`make bench`): figures for docs/benchmarks.md, not tests."""
