"""Reading the file a frontend command was given, and telling the user when it is the other kind.

``lint`` and ``render`` take the YAML configuration, ``import`` takes GlideinWMS XML; each one that is
handed the other kind says which command takes it instead of failing on the first line.
"""

import sys
from typing import Optional

__all__ = ["looks_like_xml", "read_text"]


def looks_like_xml(text: str) -> bool:
    """True for XML (a document starting with ``<``, after an optional byte order mark and blanks)."""
    return text.lstrip("\ufeff \t\r\n").startswith("<")


def read_text(path: str, want: str) -> Optional[str]:
    """The file's text, or None after printing why not (unreadable, or XML/YAML when ``want`` is the
    other kind)."""
    try:
        with open(path, encoding="utf-8") as stream:
            text = stream.read()
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or exc
        print("ERROR: {}: cannot read: {}".format(path, reason), file=sys.stderr)
        return None
    if want == "yaml" and looks_like_xml(text):
        print(
            "ERROR: {} is XML, not the YAML configuration: turn a GlideinWMS frontend.xml/glideinWMS.xml "
            "into YAML with `glidein-singularity import {}`".format(path, path),
            file=sys.stderr,
        )
        return None
    if want == "xml" and text.strip() and not looks_like_xml(text):
        print(
            "ERROR: {} is not XML (is it the YAML configuration? then use `glidein-singularity lint {}` or "
            "`render`); import reads GlideinWMS frontend.xml/glideinWMS.xml".format(path, path),
            file=sys.stderr,
        )
        return None
    return text
