"""Benchmarks of glidein-singularity in the test bed: see README.md; run with ``python benchmarks/run.py``."""
