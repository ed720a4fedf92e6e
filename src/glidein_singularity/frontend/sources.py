"""Allowed and denied image sources: glob patterns over normalized image references.

An image is compared in its canonical form (``images.normalize_image_ref``: ``docker://ubuntu`` is
``docker://docker.io/library/ubuntu:latest``, paths have ``//``, ``.`` and ``..`` collapsed). A pattern
is normalized the same way, wildcards kept, so ``docker://myvo/*`` and ``docker://docker.io/myvo/*``
mean the same; ``docker://*`` is every docker image of every registry. A docker pattern that names no
tag or digest matches every tag and digest.
Patterns use ``fnmatch`` wildcards (``*`` also crosses ``/``) and are case-sensitive.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from typing import Optional

from ..images import normalize_image_ref

__all__ = ["normalize_pattern", "source_problem"]

# Wildcards are swapped for these before normalization so that registry and path rules see plain text.
_STAR = "\x00s"
_QUESTION = "\x00q"


def normalize_pattern(pattern: str) -> tuple[str, bool]:
    """Return the pattern in canonical form and whether it names a tag or digest (docker only)."""
    shielded = pattern.replace("*", _STAR).replace("?", _QUESTION)
    normalized = normalize_image_ref(shielded)
    pinned = True
    if normalized.startswith("docker://"):
        last = shielded.partition("://")[2].rpartition("/")[2]
        if ":" not in last and "@" not in last:
            pinned = False
            normalized = normalized[: -len(":latest")]
        wild = "/library/" + _STAR
        if wild in normalized and wild not in "docker://" + shielded.partition("://")[2]:
            # "docker://*" or "docker://docker.io/*": every repository, not just library/
            normalized = normalized.replace(wild, "/" + _STAR, 1)
        if shielded.partition("://")[2].startswith(_STAR):
            normalized = "docker://" + shielded.partition("://")[2]  # any registry
    return normalized.replace(_STAR, "*").replace(_QUESTION, "?"), pinned


def _matches(image: str, pattern: str) -> bool:
    target, pinned = normalize_pattern(pattern)
    if fnmatch.fnmatchcase(image, target):
        return True
    return not pinned and (
        fnmatch.fnmatchcase(image, target + ":*") or fnmatch.fnmatchcase(image, target + "@*")
    )


def source_problem(
    image: str, allowed: Optional[Sequence[str]], denied: Optional[Sequence[str]], where: str
) -> Optional[str]:
    """Return why ``image`` is not an allowed source (``where`` names the lists), or None when it is.

    Denied patterns win over allowed ones; ``allowed=None`` allows everything not denied.
    """
    normalized = normalize_image_ref(image)
    shown = "" if normalized == image else " (normalized: {})".format(normalized)
    for pattern in denied or ():
        if _matches(normalized, pattern):
            return "image {!r}{} matches {} denied_image_sources pattern {!r}".format(
                image, shown, where, pattern
            )
    if allowed is not None and not any(_matches(normalized, pattern) for pattern in allowed):
        return "image {!r}{} matches none of {} allowed_image_sources: {}".format(
            image, shown, where, ", ".join(allowed)
        )
    return None
