"""Benchmarks run on purpose by `make bench`; not collected by pytest, never timed asserts."""
