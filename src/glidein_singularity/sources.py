"""Image-source policy: allowed and denied image sources as glob patterns (pure, worker-node code).

The lists are admin settings, comma-separated glob patterns:

- ``GS_ALLOWED_IMAGE_SOURCES`` / ``GS_DENIED_IMAGE_SOURCES``: the frontend group's;
- ``GS_ENTRY_ALLOWED_IMAGE_SOURCES`` / ``GS_ENTRY_DENIED_IMAGE_SOURCES``: the factory entry's.

The stricter wins: an image must match every allowlist that is set and no denylist (a blank or unset
list is not set). Images and patterns are compared in canonical form (``images.normalize_image_ref``):
``docker://myvo/app`` is ``docker://docker.io/myvo/app:latest``, ``file://`` is dropped and paths have
``//``, ``.`` and ``..`` collapsed; a pattern is normalized the same way with its wildcards kept, so
``docker://myvo/*`` and ``docker://docker.io/myvo/*`` mean the same, and ``docker://*`` is every docker
image of every registry. A docker pattern that names no tag or digest matches every tag and digest.

Wildcards: ``*`` is any text (it also crosses ``/``), ``?`` one character; every other character is
itself (``[`` too: there are no character classes). Matching is case-sensitive.

A local image is checked as written and, when the node resolved it, at its real path (with
``CVMFS_MOUNT_DIR`` mapped back to ``/cvmfs``): a denylist must match neither; an allowlist must match
both, except that a symlink that stays inside one CVMFS repository (``/cvmfs/<repo>/...``, how
``unpacked.cern.ch`` and ``singularity.opensciencegrid.org`` publish images) needs only its written
form allowed. So a symlink cannot lead an allowed name to an image outside the allowed trees.

``allow_regex``/``deny_regex`` compile the lists into the regular expressions the setup advertises as
``GS_IMAGE_ALLOW_REGEX``/``GS_IMAGE_DENY_REGEX``; the START term matches them against the job's image
in the same canonical form (``condor_config.d/60-glidein-singularity-start.config`` computes it). The
regexes hold no backslash, double quote or ``$``, so every quoting layer carries them unchanged.
"""

from ._record import Record
from .images import normalize_image_ref, normalize_path

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from typing import List, Mapping, Optional, Tuple

__all__ = [
    "ALLOW_SETTINGS",
    "DENY_SETTINGS",
    "SETTINGS",
    "SourceList",
    "SourcePolicy",
    "allow_regex",
    "canonical_image",
    "deny_regex",
    "glob_match",
    "normalize_pattern",
    "parse_patterns",
    "pattern_matches",
    "pattern_regex",
]

ALLOW_SETTINGS = ("GS_ALLOWED_IMAGE_SOURCES", "GS_ENTRY_ALLOWED_IMAGE_SOURCES")
DENY_SETTINGS = ("GS_DENIED_IMAGE_SOURCES", "GS_ENTRY_DENIED_IMAGE_SOURCES")
#: Every setting, frontend group first.
SETTINGS = (ALLOW_SETTINGS[0], DENY_SETTINGS[0], ALLOW_SETTINGS[1], DENY_SETTINGS[1])

# Wildcards are swapped for these before normalization so that registry and path rules see plain text.
_STAR = "\x00s"
_QUESTION = "\x00q"
_CVMFS = "/cvmfs"


def parse_patterns(text: "Optional[str]") -> "Tuple[str, ...]":
    """Split a comma list of patterns; blanks around items and empty items are dropped."""
    if not text:
        return ()
    return tuple(item.strip() for item in text.split(",") if item.strip())


def canonical_image(ref: str) -> str:
    """The canonical form images are matched in (``images.normalize_image_ref``)."""
    return normalize_image_ref(ref)


def normalize_pattern(pattern: str) -> "Tuple[str, bool]":
    """Return the pattern in canonical form and whether it names a tag or digest (docker only)."""
    shielded = pattern.replace("*", _STAR).replace("?", _QUESTION)
    normalized = normalize_image_ref(shielded)
    pinned = True
    if normalized.startswith("docker://"):
        rest = shielded.partition("://")[2]
        last = rest.rpartition("/")[2]
        if ":" not in last and "@" not in last:
            pinned = False
            normalized = normalized[: -len(":latest")]
        wild = "/library/" + _STAR
        if wild in normalized and wild not in "docker://" + rest:
            # "docker://*" or "docker://docker.io/*": every repository, not just library/
            normalized = normalized.replace(wild, "/" + _STAR, 1)
        if rest.startswith(_STAR):
            normalized = "docker://" + rest  # any registry
    return normalized.replace(_STAR, "*").replace(_QUESTION, "?"), pinned


def glob_match(text: str, pattern: str) -> bool:
    """True when ``text`` matches the glob ``pattern`` (``*`` any text, ``?`` one character)."""
    t = p = 0
    star_p, star_t = -1, 0
    end_t, end_p = len(text), len(pattern)
    while t < end_t:
        char = pattern[p] if p < end_p else ""
        if char == "*":
            star_p, star_t = p, t
            p += 1
        elif char and (char == "?" or char == text[t]):
            t += 1
            p += 1
        elif star_p >= 0:
            star_t += 1
            t, p = star_t, star_p + 1
        else:
            return False
    while p < end_p and pattern[p] == "*":
        p += 1
    return p == end_p


def pattern_matches(canonical: str, pattern: str) -> bool:
    """True when the canonical image reference ``canonical`` matches the source ``pattern``."""
    target, pinned = normalize_pattern(pattern)
    if glob_match(canonical, target):
        return True
    return not pinned and (glob_match(canonical, target + ":*") or glob_match(canonical, target + "@*"))


class SourceList(Record):
    """One setting's patterns: its name, the patterns, and whether it denies (else it allows)."""

    __slots__ = _fields = ("name", "patterns", "deny")
    name: str
    patterns: "Tuple[str, ...]"
    deny: bool

    def __init__(self, name: str, patterns: "Tuple[str, ...]", deny: bool) -> None:
        Record.__init__(self, name, tuple(patterns), deny)

    def first_match(self, canonical: str) -> "Optional[str]":
        """The first pattern matching ``canonical``, or None."""
        for pattern in self.patterns:
            if pattern_matches(canonical, pattern):
                return pattern
        return None


def _repository(path: str) -> "Optional[str]":
    """``/cvmfs/<repo>`` for a path inside a CVMFS repository, else None."""
    parts = path.split("/")
    if len(parts) > 3 and parts[0] == "" and parts[1] == "cvmfs" and parts[2] not in ("", ".", ".."):
        return "/".join(parts[:3])
    return None


def _from_mount_dir(path: str, cvmfs_mount_dir: "Optional[str]") -> str:
    """Map a host path under ``CVMFS_MOUNT_DIR`` back to its ``/cvmfs`` name."""
    if not cvmfs_mount_dir or not cvmfs_mount_dir.startswith("/"):
        return path
    top = normalize_path(cvmfs_mount_dir)
    if top in ("/", _CVMFS):
        return path
    if path == top:
        return _CVMFS
    if path.startswith(top + "/"):
        return _CVMFS + path[len(top) :]
    return path


class SourcePolicy(Record):
    """The image-source lists that are set, frontend group first; no lists allows every image."""

    __slots__ = _fields = ("lists",)
    lists: "Tuple[SourceList, ...]"

    def __init__(self, lists: "Tuple[SourceList, ...]" = ()) -> None:
        Record.__init__(self, tuple(lists))

    @classmethod
    def from_settings(cls, values: "Mapping[str, str]") -> "SourcePolicy":
        """Build the policy from setting name -> comma list text (missing or blank: not set)."""
        lists = []
        for name in SETTINGS:
            patterns = parse_patterns(values.get(name))
            if patterns:
                lists.append(SourceList(name, patterns, name in DENY_SETTINGS))
        return cls(tuple(lists))

    @property
    def active(self) -> bool:
        """True when at least one list is set."""
        return bool(self.lists)

    def problem(
        self, ref: str, real: "Optional[str]" = None, cvmfs_mount_dir: "Optional[str]" = None
    ) -> "Optional[str]":
        """Why the image ``ref`` (resolved on this node to ``real``, if local) is refused, or None.

        ``real`` is the host path after symlinks; it is mapped back from ``CVMFS_MOUNT_DIR`` to /cvmfs.
        """
        if not self.lists:
            return None
        canonical = canonical_image(ref)
        shown = "" if canonical == ref else " (normalized: {})".format(canonical)
        resolved = None
        if real is not None:
            resolved = _from_mount_dir(normalize_path(real), cvmfs_mount_dir)
            if resolved == canonical:
                resolved = None
        for source in self.lists:
            if source.deny:
                pattern = source.first_match(canonical)
                if pattern is not None:
                    return 'image "{}"{} matches {} pattern "{}"'.format(ref, shown, source.name, pattern)
                pattern = source.first_match(resolved) if resolved is not None else None
                if pattern is not None:
                    return 'image "{}" resolves to {}, which matches {} pattern "{}"'.format(
                        ref, resolved, source.name, pattern
                    )
        for source in self.lists:
            if source.deny:
                continue
            if source.first_match(canonical) is None:
                return 'image "{}"{} matches none of {}: {}'.format(
                    ref, shown, source.name, ", ".join(source.patterns)
                )
            if (
                resolved is not None
                and source.first_match(resolved) is None
                and (_repository(resolved) is None or _repository(resolved) != _repository(canonical))
            ):
                return 'image "{}" resolves to {}, which matches none of {}: {}'.format(
                    ref, resolved, source.name, ", ".join(source.patterns)
                )
        return None


# --- regular expressions for the START term -----------------------------------------------------------

#: End of the text (``$`` would also match before a final newline, and carries a ``$`` into config).
_END = "(?!.)"
#: Characters that stand for themselves in a regex.
_PLAIN = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/:@_-=%,;~!#&'<> ")
#: Regex metacharacters written as one-character classes (no backslash needed).
_IN_CLASS = frozenset(".+()[]{}|*?")


def _regex_char(char: str) -> str:
    if char in _PLAIN:
        return char
    if char in _IN_CLASS:
        return "[]]" if char == "]" else "[" + char + "]"
    if char < " " or char in '\\"$^\x7f' or "\udc80" <= char <= "\udcff":
        # never a backslash, quote or $ in the regex: any one character stands in (a looser match)
        return "."
    return char


def pattern_regex(pattern: str) -> str:
    """The regex (no anchors, for ``(?s)`` mode) matching the canonical images that ``pattern`` matches."""
    target, pinned = normalize_pattern(pattern)
    pieces: List[str] = []
    for char in target:
        if char == "*":
            pieces.append(".*")
        elif char == "?":
            pieces.append(".")
        else:
            pieces.append(_regex_char(char))
    text = "".join(pieces)
    if not pinned:
        text += "([:@].*)?"
    return text


def _alternation(source: SourceList) -> str:
    return "(" + "|".join(pattern_regex(pattern) for pattern in source.patterns) + ")" + _END


def allow_regex(policy: SourcePolicy) -> "Optional[str]":
    """The ClassAd regex a canonical image must match (every allowlist), or None when none is set."""
    allows = [_alternation(source) for source in policy.lists if not source.deny]
    if not allows:
        return None
    return "(?s)^" + "".join("(?=" + text + ")" for text in allows[:-1]) + allows[-1]


def deny_regex(policy: SourcePolicy) -> "Optional[str]":
    """The ClassAd regex a canonical image must not match (any denylist), or None when none is set."""
    denies = [source for source in policy.lists if source.deny]
    if not denies:
        return None
    patterns = [pattern for source in denies for pattern in source.patterns]
    return "(?s)^(" + "|".join(pattern_regex(pattern) for pattern in patterns) + ")" + _END
