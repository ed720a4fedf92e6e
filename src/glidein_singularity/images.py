"""Image dictionary grammar, OS lists, image restrictions and the image choice (pure).

Grammar of ``SINGULARITY_IMAGES_DICT`` (GlideinWMS, reference §4.2), implemented exactly:

- the text is split on ``,``; each item is ``key:value`` where the key is the text before the first
  ``:`` and the value is everything after it (so values may contain ``:``, e.g. ``docker://x:tag``);
- blanks around a key are stripped, in the dictionary and in the key looked up (``" rhel9"`` is
  ``"rhel9"``), so a key written with blanks is found like GlideinWMS finds it; values are kept as
  written;
- ``key`` and ``key:`` mean the key is present with an empty value; lookups treat an empty value as
  "not found" (``get`` returns ``None``);
- duplicate keys: the last occurrence wins;
- there is no escaping: commas cannot appear anywhere, colons cannot appear in keys.

One deliberate difference: completely empty items (``a:1,,b:2`` or a trailing comma) carry no key and
are skipped; GlideinWMS would look them up as a key named ``""``.

OS lists (``REQUIRED_OS``, ``GLIDEIN_REQUIRED_OS``) are comma lists; items are stripped of blanks,
keys are case-sensitive, and ``any`` is recognised in any case. Their intersection keeps the job's
order of preference (GlideinWMS sorts it alphabetically, reference §9.6). When the OS keys include
``any`` and none of the keys tried has an image, the first dictionary entry's image is used, as
GlideinWMS's ``dict_get_first`` does.

Local images may be written ``file:/path``, ``file://path`` or ``file:///path``: all mean ``/path``
(``local_image_path``), as GlideinWMS's ``uri_is_valid_file_or_remote`` reads them.

Restrictions (``SINGULARITY_IMAGE_RESTRICTIONS``): ``cvmfs`` (local images must be under ``/cvmfs``
or ``CVMFS_MOUNT_DIR``), ``remote`` (``docker://``, ``oras://``... images allowed), ``test`` (accepted
for compatibility: it only matters to the setup script; a job never gets the test image instead of its
own). Unset or blank means ``cvmfs``, like GlideinWMS's code (its docs say ``any``, §9.1). ``any`` adds
no restriction and allows nothing extra (GlideinWMS code behaviour, §9.5). They apply to the job's own
``+SingularityImage`` too (GlideinWMS lets it bypass them).
"""

from ._record import Record
from .errors import ConfigError, ImageError

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from typing import Dict, FrozenSet, Iterable, Iterator, List, Optional, Sequence, Tuple

__all__ = [
    "DEFAULT_OS_LOOKUP",
    "DEFAULT_RESTRICTIONS",
    "RESTRICTION_VALUES",
    "ImageChoice",
    "ImagesDict",
    "check_restrictions",
    "cvmfs_translate",
    "format_images_dict",
    "image_syntax_problem",
    "intersect_os",
    "is_cvmfs_path",
    "is_remote_image",
    "local_image_path",
    "merge_legacy",
    "normalize_image_ref",
    "normalize_path",
    "parse_images_dict",
    "parse_os_list",
    "parse_restrictions",
    "select_image",
    "validate_entry",
]

#: Keys looked up, in order, when the job and the entry accept any OS (the wrapper's order in
#: GlideinWMS; its setup script uses another order, reference §9.8).
DEFAULT_OS_LOOKUP = ("default", "rhel9", "rhel8", "rhel7", "rhel6")

#: Values accepted in ``SINGULARITY_IMAGE_RESTRICTIONS`` (``any`` is accepted too and adds nothing).
RESTRICTION_VALUES = ("cvmfs", "remote", "test")

#: The restrictions when ``SINGULARITY_IMAGE_RESTRICTIONS`` is unset or blank (GlideinWMS code default).
DEFAULT_RESTRICTIONS = frozenset(("cvmfs",))

_ANY = "any"
_FORBIDDEN_EVERYWHERE = (",", "\n", "\r", "\x00")


def validate_entry(key: str, value: str) -> None:
    """Raise ConfigError unless ``key:value`` can be written in the dictionary and read back unchanged."""
    if not key:
        msg = "SINGULARITY_IMAGES_DICT: empty key (value {!r}); a key is required".format(value)
        raise ConfigError(msg)
    if ":" in key:
        msg = "SINGULARITY_IMAGES_DICT: key {!r} contains ':'; keys end at the first ':'".format(key)
        raise ConfigError(msg)
    if key != key.strip():
        msg = "SINGULARITY_IMAGES_DICT: key {!r} has blanks around it, which are not part of a key".format(
            key
        )
        raise ConfigError(msg)
    for what, text in (("key", key), ("value", value)):
        for char in _FORBIDDEN_EVERYWHERE:
            if char in text:
                msg = (
                    "SINGULARITY_IMAGES_DICT: {} {!r} contains {!r}, which the dictionary cannot hold "
                    "(no escaping exists for ',', newlines or NUL)".format(what, text, char)
                )
                raise ConfigError(msg)


class ImagesDict:
    """An immutable ``SINGULARITY_IMAGES_DICT``: entries as written, looked up like GlideinWMS does."""

    __slots__ = ("_effective", "_entries")

    def __init__(self, entries: "Iterable[Tuple[str, str]]" = ()) -> None:
        items = tuple((str(key), str(value)) for key, value in entries)
        effective: Dict[str, str] = {}
        for key, value in items:
            effective.pop(key, None)  # last occurrence wins and takes the last position
            effective[key] = value
        object.__setattr__(self, "_entries", items)
        object.__setattr__(self, "_effective", effective)

    _entries: "Tuple[Tuple[str, str], ...]"
    _effective: "Dict[str, str]"

    def __setattr__(self, name: str, value: object) -> None:
        msg = "ImagesDict is immutable: cannot set {}".format(name)
        raise AttributeError(msg)

    @classmethod
    def parse(cls, text: "Optional[str]") -> "ImagesDict":
        """Parse the dictionary text (``None`` or blank gives an empty dictionary)."""
        if not text:
            return cls()
        entries: List[Tuple[str, str]] = []
        for item in text.split(","):
            if not item:
                continue
            key, _, value = item.partition(":")
            entries.append((key.strip(), value))
        return cls(entries)

    @property
    def entries(self) -> "Tuple[Tuple[str, str], ...]":
        """The (key, value) pairs as written, duplicates and empty values included."""
        return self._entries

    def get(self, key: str) -> "Optional[str]":
        """Return the value of the last occurrence of ``key`` (blanks around it ignored), or None."""
        return self._effective.get(key.strip()) or None

    def first(self) -> "Optional[Tuple[str, str]]":
        """The first (key, value) pair as written (GlideinWMS ``dict_get_first``), or None when empty."""
        return self._entries[0] if self._entries else None

    def keys(self) -> "Tuple[str, ...]":
        """The distinct keys, each at the position of its last occurrence (empty values included)."""
        return tuple(self._effective)

    def items(self) -> "Tuple[Tuple[str, str], ...]":
        """The effective (key, value) pairs, in the order of ``keys()``."""
        return tuple(self._effective.items())

    def with_value(self, key: str, value: str) -> "ImagesDict":
        """Return a copy with every ``key`` entry removed and ``key:value`` appended (``dict_set_val``)."""
        key = key.strip()
        validate_entry(key, value)
        return ImagesDict([entry for entry in self._entries if entry[0] != key] + [(key, value)])

    def format(self) -> str:
        """Return the dictionary text; ``parse(format())`` gives an equal dictionary."""
        return ",".join("{}:{}".format(key, value) for key, value in self._entries)

    def __len__(self) -> int:
        return len(self._effective)

    def __iter__(self) -> "Iterator[str]":
        return iter(self._effective)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key.strip() in self._effective

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ImagesDict):
            return NotImplemented
        return self._entries == other._entries

    def __ne__(self, other: object) -> bool:
        if not isinstance(other, ImagesDict):
            return NotImplemented
        return self._entries != other._entries

    def __hash__(self) -> int:
        return hash(self._entries)

    def __repr__(self) -> str:
        return "ImagesDict.parse({!r})".format(self.format())


def parse_images_dict(text: "Optional[str]") -> ImagesDict:
    """Parse ``SINGULARITY_IMAGES_DICT`` text (see the module docstring for the grammar)."""
    return ImagesDict.parse(text)


def format_images_dict(images: "ImagesDict | Iterable[Tuple[str, str]]") -> str:
    """Format a dictionary (or (key, value) pairs, each validated) as ``SINGULARITY_IMAGES_DICT`` text."""
    if isinstance(images, ImagesDict):
        for key, value in images.entries:
            validate_entry(key, value)
        return images.format()
    pairs = list(images)
    for key, value in pairs:
        validate_entry(key, value)
    return ImagesDict(pairs).format()


def merge_legacy(
    images: ImagesDict,
    default: "Optional[str]" = None,
    rhel6: "Optional[str]" = None,
    rhel7: "Optional[str]" = None,
) -> ImagesDict:
    """Apply ``SINGULARITY_IMAGE_DEFAULT{,6,7}``: non-empty ones override ``default``/``rhel6``/``rhel7``."""
    for key, value in (("default", default), ("rhel6", rhel6), ("rhel7", rhel7)):
        if value:
            images = images.with_value(key, value)
    return images


def parse_os_list(text: "Optional[str]") -> "Tuple[str, ...]":
    """Parse an OS comma list: blanks stripped, duplicates dropped, ``any`` in any case; empty: ``any``."""
    if text is None:
        return (_ANY,)
    result: List[str] = []
    for item in text.split(","):
        item = item.strip()
        if not item:
            continue
        if item.lower() == _ANY:
            item = _ANY
        if item not in result:
            result.append(item)
    return tuple(result) if result else (_ANY,)


def _format_os(os_list: "Sequence[str]") -> str:
    return ",".join(os_list)


def intersect_os(entry_os: "Sequence[str]", job_os: "Sequence[str]") -> "Tuple[str, ...]":
    """Return the OS keys both accept, in the job's order of preference.

    ``any`` on one side gives the other side unchanged; both ``any`` gives ``("any",)``. An ``any``
    item inside the job's list stands for the entry's keys (in the entry's order) at that position.
    """
    entry_any = _ANY in entry_os
    job_any = _ANY in job_os
    if entry_any and job_any and len(entry_os) == 1 and len(job_os) == 1:
        return (_ANY,)
    if len(entry_os) == 1 and entry_any:
        return tuple(job_os)
    if len(job_os) == 1 and job_any:
        return tuple(entry_os)
    result: List[str] = []
    for name in job_os:
        if name == _ANY:
            expansion = [_ANY] if entry_any else [key for key in entry_os if key != _ANY]
        elif entry_any or name in entry_os:
            expansion = [name]
        else:
            expansion = []
        for key in expansion:
            if key not in result:
                result.append(key)
    return tuple(result)


class ImageChoice(Record):
    """The chosen dictionary key (None for the job's own image), the image, and why."""

    __slots__ = _fields = ("key", "image", "reason")
    key: "Optional[str]"
    image: str
    reason: str

    def __init__(self, key: "Optional[str]", image: str, reason: str) -> None:
        Record.__init__(self, key, image, reason)


def _lookup_keys(desired: "Sequence[str]") -> "Tuple[str, ...]":
    keys: List[str] = []
    for name in desired:
        for key in DEFAULT_OS_LOOKUP if name == _ANY else (name,):
            if key not in keys:
                keys.append(key)
    return tuple(keys)


def select_image(images: ImagesDict, entry_os: "Sequence[str]", job_os: "Sequence[str]") -> ImageChoice:
    """Choose the dictionary image for the job's ``REQUIRED_OS`` and the entry's ``GLIDEIN_REQUIRED_OS``.

    The first key of the intersection (job's order) with a non-empty value wins; ``any`` stands for
    ``DEFAULT_OS_LOOKUP``. Raises ImageError naming both OS lists and the dictionary keys when nothing fits.
    """
    job_text, entry_text = _format_os(job_os), _format_os(entry_os)
    desired = intersect_os(entry_os, job_os)
    if not desired:
        msg = 'REQUIRED_OS "{}" and GLIDEIN_REQUIRED_OS "{}" have no intersection'.format(
            job_text, entry_text
        )
        raise ImageError(msg)
    keys = _lookup_keys(desired)
    for key in keys:
        image = images.get(key)
        if image is not None:
            tried = ", ".join(keys[: keys.index(key) + 1])
            reason = (
                'image from SINGULARITY_IMAGES_DICT key "{}" (REQUIRED_OS "{}", GLIDEIN_REQUIRED_OS "{}", '
                "keys tried in order: {})".format(key, job_text, entry_text, tried)
            )
            return ImageChoice(key, image, reason)
    first = images.first()
    if _ANY in desired and first is not None and first[1]:
        reason = (
            'image from the first SINGULARITY_IMAGES_DICT entry "{}": REQUIRED_OS "{}" x GLIDEIN_REQUIRED_OS '
            '"{}" accepts any OS and none of {} has an image'.format(
                first[0], job_text, entry_text, ", ".join(keys)
            )
        )
        return ImageChoice(first[0], first[1], reason)
    have = ", ".join(key for key in images if images.get(key) is not None) or "(none)"
    msg = (
        'no image for REQUIRED_OS "{}" and GLIDEIN_REQUIRED_OS "{}": SINGULARITY_IMAGES_DICT has no '
        "non-empty value for {} (its keys with images: {})"
    ).format(job_text, entry_text, ", ".join(keys), have)
    if _ANY in desired and first is not None:
        msg += "; its first entry, {!r}, has no image either".format(first[0])
    raise ImageError(msg)


def parse_restrictions(text: "Optional[str]") -> "FrozenSet[str]":
    """Parse ``SINGULARITY_IMAGE_RESTRICTIONS`` (unset/blank: ``cvmfs``); unknown words raise ConfigError."""
    if text is None or not text.strip():
        return DEFAULT_RESTRICTIONS
    result = set()
    for item in text.split(","):
        word = item.strip().lower()
        if not word or word == _ANY:
            continue
        if word not in RESTRICTION_VALUES:
            msg = (
                "SINGULARITY_IMAGE_RESTRICTIONS: unknown restriction {!r} in {!r}; "
                "expected a comma list of {}".format(
                    item.strip(), text, ", ".join((*RESTRICTION_VALUES, _ANY))
                )
            )
            raise ConfigError(msg)
        result.add(word)
    return frozenset(result)


def is_remote_image(ref: str) -> bool:
    """True for a URI the runtime fetches (``docker://``, ``oras://``, ``https://``...), not ``file://``."""
    scheme, sep, _ = ref.partition("://")
    return bool(sep) and bool(scheme) and scheme.lower() != "file"


def normalize_path(path: str) -> str:
    """Collapse ``//``, ``.`` and ``..`` in an absolute or relative path, as text (no symlinks followed)."""
    absolute = path.startswith("/")
    parts: List[str] = []
    for part in path.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if parts and parts[-1] != "..":
                parts.pop()
            elif not absolute:
                parts.append(part)
            continue
        parts.append(part)
    text = "/".join(parts)
    if absolute:
        return "/" + text
    return text or "."


def _is_under(path: str, top: str) -> bool:
    top = top.rstrip("/") or "/"
    if top == "/":
        return path.startswith("/")
    return path == top or path.startswith(top + "/")


def cvmfs_translate(path: str, cvmfs_mount_dir: "Optional[str]") -> str:
    """Map a ``/cvmfs/...`` path to ``CVMFS_MOUNT_DIR`` when CVMFS is mounted elsewhere (cvmfsexec)."""
    if not cvmfs_mount_dir or cvmfs_mount_dir.rstrip("/") in ("", "/cvmfs"):
        return path
    if _is_under(path, "/cvmfs"):
        return cvmfs_mount_dir.rstrip("/") + path[len("/cvmfs") :]
    return path


def is_cvmfs_path(path: str, cvmfs_mount_dir: "Optional[str]") -> bool:
    """True when ``path`` (after ``..`` is collapsed) is ``/cvmfs`` or ``CVMFS_MOUNT_DIR`` or below them."""
    if not path.startswith("/"):
        return False
    path = normalize_path(path)
    if _is_under(path, "/cvmfs"):
        return True
    if not cvmfs_mount_dir or not cvmfs_mount_dir.startswith("/"):
        return False
    return _is_under(path, normalize_path(cvmfs_mount_dir))


def local_image_path(ref: str) -> str:
    """The path of a local image: ``file:`` followed by one or more ``/`` means the absolute path.

    ``file:/p``, ``file://p`` and ``file:///p`` are all ``/p`` (GlideinWMS reads ``file://p`` so too,
    rather than as a host name); any other reference is returned unchanged.
    """
    if ref[:5].lower() == "file:" and ref[5:6] == "/":
        return "/" + ref[5:].lstrip("/")
    return ref


def check_restrictions(
    ref: str, restrictions: "FrozenSet[str]", cvmfs_mount_dir: "Optional[str]"
) -> "Optional[str]":
    """Return why ``ref`` is not allowed by ``SINGULARITY_IMAGE_RESTRICTIONS``, or None when it is."""
    shown = ",".join(sorted(restrictions)) or "(none)"
    if is_remote_image(ref):
        if "remote" in restrictions:
            return None
        msg = 'image "{}" is remote, but SINGULARITY_IMAGE_RESTRICTIONS is "{}" (add "remote" to allow it)'
        return msg.format(ref, shown)
    if "cvmfs" in restrictions and not is_cvmfs_path(local_image_path(ref), cvmfs_mount_dir):
        return 'image "{}" is not under /cvmfs{} but SINGULARITY_IMAGE_RESTRICTIONS is "{}"'.format(
            ref, " or CVMFS_MOUNT_DIR {}".format(cvmfs_mount_dir) if cvmfs_mount_dir else "", shown
        )
    return None


def image_syntax_problem(ref: str) -> "Optional[str]":
    """Return why ``ref`` cannot be passed safely as the runtime's image argument, or None when it can."""
    if not ref.strip():
        return "the image name is empty"
    if ref.startswith("-"):
        return 'image "{}" starts with "-" and would be read as an option'.format(ref)
    for char in ref:
        if char < " " or char == "\x7f":
            return "image {!r} contains the control character {!r}".format(ref, char)
        if "\udc80" <= char <= "\udcff":
            return "image {!r} is not valid UTF-8".format(ref)
    for char, what in ((",", "a comma"), (" ", "a space")):
        if char in ref:
            return 'image "{}" contains {}'.format(ref, what)
    if not is_remote_image(ref) and ".." in local_image_path(ref).split("/"):
        return 'image "{}" contains a ".." path component'.format(ref)
    return None


def normalize_image_ref(ref: str) -> str:
    """Return the canonical form of an image reference, for allowlists and comparisons.

    ``docker://`` references get the registry (``docker.io``), the ``library/`` namespace and the
    ``latest`` tag made explicit; ``file://`` and local paths become normalized paths (symlinks are
    not followed: resolve them first); other URIs keep their text with a lower-case scheme.
    """
    local = local_image_path(ref)  # file:/p, file://p and file:///p are /p, as everywhere
    if local != ref:
        return normalize_path(local)
    scheme, sep, rest = ref.partition("://")
    if not sep or not scheme:
        return normalize_path(ref)
    scheme = scheme.lower()
    if scheme == "file":
        return normalize_path(rest)
    if scheme != "docker":
        return scheme + "://" + rest
    name, at, digest = rest.partition("@")
    first, slash, remainder = name.partition("/")
    if slash and ("." in first or ":" in first or first == "localhost"):
        registry, path = first.lower(), remainder
    else:
        registry, path = "docker.io", name
    if registry in ("index.docker.io", "registry-1.docker.io", "registry.hub.docker.com"):
        registry = "docker.io"
    if registry == "docker.io" and "/" not in path:
        path = "library/" + path
    if not at and ":" not in path.rpartition("/")[2]:
        path += ":latest"
    return "docker://" + registry + "/" + path + (at + digest if at else "")
