"""Benchmarks (not tests): ``make bench`` runs every ``bench/bench_*.py`` and writes results."""
