"""Importable only: GlideinWMS's staging code does not use BIO objects."""

from ._unavailable import unavailable

BIO = unavailable("BIO.BIO")
MemoryBuffer = unavailable("BIO.MemoryBuffer")
CipherStream = unavailable("BIO.CipherStream")
