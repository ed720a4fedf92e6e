"""Allowed and denied image sources in the frontend lint: the node's own matcher, admin-side messages.

The semantics (canonical forms, glob wildcards, pinned and unpinned docker patterns) live in
``glidein_singularity.sources``, which the job wrapper and the setup script use too; this module only
words the lint's findings. ``*`` is any text (it also crosses ``/``), ``?`` one character; there are no
character classes. Matching is case-sensitive.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Optional

from ..images import normalize_image_ref
from ..sources import normalize_pattern, pattern_matches

__all__ = ["normalize_pattern", "source_problem"]


def source_problem(
    image: str, allowed: Optional[Sequence[str]], denied: Optional[Sequence[str]], where: str
) -> Optional[str]:
    """Return why ``image`` is not an allowed source (``where`` names the lists), or None when it is.

    Denied patterns win over allowed ones; ``allowed=None`` allows everything not denied.
    """
    normalized = normalize_image_ref(image)
    shown = "" if normalized == image else " (normalized: {})".format(normalized)
    for pattern in denied or ():
        if pattern_matches(normalized, pattern):
            return "image {!r}{} matches {} denied_image_sources pattern {!r}".format(
                image, shown, where, pattern
            )
    if allowed is not None and not any(pattern_matches(normalized, pattern) for pattern in allowed):
        return "image {!r}{} matches none of {} allowed_image_sources: {}".format(
            image, shown, where, ", ".join(allowed)
        )
    return None
