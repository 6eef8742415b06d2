"""Benchmarks of jobgate against its peers on one shared Valkey: `python -m bench`."""
