"""Reproducible benchmarks: each prints its figures and, last, its ratio against a baseline."""
