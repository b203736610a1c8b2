"""Benchmarks: `make bench` (python -m bench). They print figures; tests never time anything."""
