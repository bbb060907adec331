"""Benchmarks (`make bench`): scripts that print figures; bench/run.py runs them all."""
