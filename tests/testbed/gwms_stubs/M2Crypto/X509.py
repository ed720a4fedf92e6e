"""Importable only."""

from ._unavailable import unavailable

load_cert = unavailable("X509.load_cert")
load_cert_string = unavailable("X509.load_cert_string")
