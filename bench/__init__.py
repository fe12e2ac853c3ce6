"""Benchmarks: generated Wuwei-like databases and timed requests (see bench/README.md)."""
