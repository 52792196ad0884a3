"""Benchmarks. Each module prints its figures; its last line is one JSON object of them."""
