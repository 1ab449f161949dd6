"""Benchmarks (`make bench`): every figure is printed next to the bare floor measured in the same run."""
