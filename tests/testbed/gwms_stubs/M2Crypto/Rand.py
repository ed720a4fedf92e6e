"""Importable only."""

from ._unavailable import unavailable

rand_bytes = unavailable("Rand.rand_bytes")
rand_seed = unavailable("Rand.rand_seed")
