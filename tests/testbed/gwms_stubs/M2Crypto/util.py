"""Importable only."""


def passphrase_callback(*args, **kwargs):
    return b""
