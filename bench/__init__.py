"""The benchmark: a realistic corpus generator (``python -m bench.corpus``) and what measures the service on it."""
