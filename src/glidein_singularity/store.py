"""Where a remote image comes from on this glidein: CVMFS-unpacked copy or the image store (pure).

A ``docker://``, ``oras://``, ``https://`` or ``http://`` image the policy allows is never handed to the
runtime to pull for each job. Instead, in this order:

1. **CVMFS as a CDN** (``docker://`` with a tag only): when one of ``GS_CVMFS_UNPACKED_ROOTS`` holds the
   image unpacked (``<root>/<registry>/<repository>:<tag>``, Docker Hub's registry spelled
   ``registry.hub.docker.com`` as ``unpacked.cern.ch`` does), the job runs from that directory and
   nothing is fetched;
2. **the glidein's image store** (``GS_IMAGE_STORE``, by default ``<GLIDEIN_LOCAL_TMP_DIR>/gs-image-store``):
   the image is fetched once per glidein into ``<store>/images/<key>/image`` (an unpacked sandbox
   directory, which Apptainer runs unprivileged without FUSE) and every job runs from that copy. ``key``
   is the canonical reference (``images.normalize_image_ref``) escaped into one file-name component
   (``store_key``), so the reference text chooses no path. ``node.imagestore`` performs the fetch;
   this module only names things.

Without a store (``GS_IMAGE_STORE`` set to ``none``, or no local directory known) remote images go to
the runtime as written, as before.
"""

from ._record import Record
from .images import normalize_image_ref

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from typing import Callable, Optional, Sequence, Tuple

__all__ = [
    "DEFAULT_FETCH_TIMEOUT",
    "DEFAULT_MAX_MB",
    "DEFAULT_UNPACKED_ROOTS",
    "STORE_DISABLED",
    "STORE_SCHEMES",
    "STORE_SUBDIR",
    "ImageFetch",
    "Located",
    "entry_dir",
    "entry_image",
    "fetch_for",
    "locate",
    "parse_roots",
    "registry_of",
    "store_key",
    "store_root",
    "unpacked_candidates",
]

#: Schemes the store fetches; ``library://`` and ``shub://`` still go to the runtime as written.
STORE_SCHEMES = ("docker", "oras", "https", "http")
#: Default store directory under ``GLIDEIN_LOCAL_TMP_DIR``.
STORE_SUBDIR = "gs-image-store"
#: ``GS_IMAGE_STORE`` value that turns the store off.
STORE_DISABLED = "none"
DEFAULT_MAX_MB = 20480
DEFAULT_FETCH_TIMEOUT = 900
DEFAULT_UNPACKED_ROOTS = "/cvmfs/unpacked.cern.ch"
#: How ``unpacked.cern.ch`` spells Docker Hub.
_HUB_DIR = "registry.hub.docker.com"


class ImageFetch(Record):
    """What the wrapper must make present before exec: ``ref`` fetched into ``store``'s entry ``key``.

    ``image`` is the path the plan runs (``entry_image``); ``insecure``: the registry is reached over plain
    HTTP (``GS_INSECURE_REGISTRIES``); ``max_bytes`` and ``timeout`` bound the fetch.
    """

    __slots__ = _fields = (
        "ref",
        "canonical",
        "scheme",
        "key",
        "store",
        "image",
        "insecure",
        "max_bytes",
        "timeout",
    )
    ref: str
    canonical: str
    scheme: str
    key: str
    store: str
    image: str
    insecure: bool
    max_bytes: int
    timeout: float

    def __init__(
        self,
        ref: str,
        canonical: str,
        scheme: str,
        key: str,
        store: str,
        image: str,
        insecure: bool,
        max_bytes: int,
        timeout: float,
    ) -> None:
        Record.__init__(self, ref, canonical, scheme, key, store, image, insecure, max_bytes, timeout)


_KEY_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_")
#: Longest escaped key; longer references are named by a hash (a file name has at most 255 bytes).
_KEY_MAX = 200


def store_key(canonical: str) -> str:
    """The entry name of a canonical reference: the reference escaped into one file-name component.

    Every byte outside ``[A-Za-z0-9_-]`` becomes ``.XX`` (hex), so the mapping is one-to-one, the name
    holds no ``/`` and is never ``.`` or ``..``: the reference's text chooses no path. A reference whose
    escaped form is longer than 200 characters is named ``sha256-<64 hex>`` instead (hashlib is imported
    only then: it costs milliseconds at every launch).
    """
    data = canonical.encode("utf-8", "surrogateescape")
    key = "".join(chr(byte) if chr(byte) in _KEY_CHARS else ".{:02x}".format(byte) for byte in data)
    if len(key) <= _KEY_MAX:
        return key
    import hashlib

    return "sha256-" + hashlib.sha256(data).hexdigest()


def entry_dir(store: str, key: str) -> str:
    return "{}/images/{}".format(store.rstrip("/"), key)


def entry_image(store: str, key: str) -> str:
    """The sandbox directory a job runs from."""
    return entry_dir(store, key) + "/image"


def store_root(setting: str, local_tmp: str) -> "Optional[str]":
    """The store directory from ``GS_IMAGE_STORE`` and ``GLIDEIN_LOCAL_TMP_DIR``; None when off.

    Only absolute paths count: a relative one would be resolved in the job's directory.
    """
    text = setting.strip()
    if text.lower() == STORE_DISABLED:
        return None
    if not text and local_tmp.strip().startswith("/"):
        text = local_tmp.strip().rstrip("/") + "/" + STORE_SUBDIR
    if not text.startswith("/") or any(char < " " for char in text) or "," in text or ":" in text:
        return None
    return text.rstrip("/") or None


def registry_of(canonical: str) -> str:
    """The registry host[:port] of a canonical ``docker://`` or ``oras://`` reference ("" otherwise)."""
    rest = canonical.partition("://")[2]
    return rest.partition("/")[0].lower()


def _int_setting(text: str, default: int) -> int:
    try:
        value = int(text.strip())
    except ValueError:
        return default
    return value if value > 0 else default


def fetch_for(
    ref: str,
    store: str,
    insecure_registries: str,
    max_mb: str,
    timeout: str,
) -> "Optional[ImageFetch]":
    """The fetch that brings ``ref`` into ``store``, or None when the store does not handle its scheme."""
    scheme = ref.partition("://")[0].lower()
    if scheme not in STORE_SCHEMES:
        return None
    canonical = normalize_image_ref(ref)
    key = store_key(canonical)
    insecure = scheme == "http" or (
        scheme in ("docker", "oras") and registry_of(canonical) in parse_roots(insecure_registries)
    )
    return ImageFetch(
        ref,
        canonical,
        scheme,
        key,
        store,
        entry_image(store, key),
        insecure,
        _int_setting(max_mb, DEFAULT_MAX_MB) * 1024 * 1024,
        float(_int_setting(timeout, DEFAULT_FETCH_TIMEOUT)),
    )


def parse_roots(text: str) -> "Tuple[str, ...]":
    """A comma list; blanks and empty items dropped."""
    return tuple(item.strip() for item in text.split(",") if item.strip())


def unpacked_candidates(ref: str, roots: "Sequence[str]") -> "Tuple[str, ...]":
    """Directories where an unpacked CVMFS repository would hold the ``docker://`` image ``ref``.

    Only tagged references map (a digest names content the tag layout cannot show); a path component
    ``.``/``..`` or an empty one never maps, so the reference cannot lead outside a root.
    """
    if ref.partition("://")[0].lower() != "docker":
        return ()
    canonical = normalize_image_ref(ref)
    rest = canonical[len("docker://") :]
    if "@" in rest:
        return ()
    registry, _, path = rest.partition("/")
    parts = path.split("/")
    if any(part in ("", ".", "..") for part in parts):
        return ()
    host = _HUB_DIR if registry == "docker.io" else registry
    return tuple("{}/{}/{}".format(root.rstrip("/"), host, path) for root in roots if root.startswith("/"))


class Located(Record):
    """Where the plan takes a remote image from: ``local`` (a CVMFS-unpacked directory), or ``fetch``
    (the image store; ``cached`` says whether the entry is already there), or neither (the runtime
    fetches it as written); ``reason`` says which, for ``explain``."""

    __slots__ = _fields = ("local", "fetch", "cached", "reason")
    local: "Optional[str]"
    fetch: "Optional[ImageFetch]"
    cached: bool
    reason: str

    def __init__(
        self, local: "Optional[str]", fetch: "Optional[ImageFetch]", cached: bool, reason: str
    ) -> None:
        Record.__init__(self, local, fetch, cached, reason)


def locate(
    ref: str,
    unpacked_roots: str,
    store_setting: str,
    local_tmp: str,
    insecure_registries: str,
    max_mb: str,
    timeout: str,
    exists: "Callable[[str], bool]",
    is_dir: "Callable[[str], bool]",
) -> Located:
    """Decide where the remote image ``ref`` comes from; ``exists``/``is_dir`` are the plan's path probe.

    An unpacked image is a directory: a path that only might exist (``explain`` away from the node
    assumes CVMFS files exist, but not as directories) does not count.
    """
    for candidate in unpacked_candidates(ref, parse_roots(unpacked_roots)):
        if is_dir(candidate):
            reason = 'image "{}" is unpacked in CVMFS at {}: used from there, nothing fetched'.format(
                ref, candidate
            )
            return Located(candidate, None, False, reason)
    root = store_root(store_setting, local_tmp)
    fetch = fetch_for(ref, root, insecure_registries, max_mb, timeout) if root else None
    if fetch is None:
        why = (
            "no image store (GS_IMAGE_STORE)"
            if root is None
            else "the image store does not fetch this scheme"
        )
        return Located(None, None, False, 'image "{}" is fetched by the runtime itself: {}'.format(ref, why))
    meta = entry_dir(fetch.store, fetch.key) + "/meta"
    if exists(meta):
        reason = 'image "{}" from the glidein\'s image store: cached at {}'.format(ref, fetch.image)
        return Located(None, fetch, True, reason)
    reason = (
        'image "{}" is not in the glidein\'s image store yet: the wrapper fetches it once into {} before '
        "the job starts (other jobs wait for that copy)".format(ref, fetch.image)
    )
    return Located(None, fetch, False, reason)
