"""Importable only."""


def get_error():
    return ""
