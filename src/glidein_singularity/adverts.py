"""What a glidein advertises about containers (pure): the startup script publishes it, and
``explain --config`` (``frontend.candidates``) builds the machine ads it predicts from the same rules.

- ``ImageStatus`` and ``servable_os``: the ``SINGULARITY_OS_LIST`` keys (images that can be served,
  within ``GLIDEIN_REQUIRED_OS``);
- ``source_adverts``: the image-source lists and the ``GS_IMAGE_ALLOW_REGEX``/``GS_IMAGE_DENY_REGEX``
  the START term reads;
- ``container_adverts``: what a glidein whose runtime passed the validation run publishes, every twin
  name included (``attributes.with_twins``).
"""

from typing import List, NamedTuple, Optional, Sequence, Tuple

from .attributes import with_twins
from .grammar import split_list, truth
from .sources import SourcePolicy, allow_regex, deny_regex

__all__ = ["ImageStatus", "container_adverts", "servable_os", "source_adverts"]


class ImageStatus(NamedTuple):
    """One SINGULARITY_IMAGES_DICT entry checked on this node."""

    key: str
    image: str
    #: The path the runtime is given (CVMFS-translated); the URI itself for remote images.
    host_ref: str
    #: "" when the image can be served, else why not.
    problem: str


def servable_os(statuses: Sequence[ImageStatus], entry_os: Sequence[str]) -> str:
    """``SINGULARITY_OS_LIST``: the keys whose image can be served, within the entry's OS list."""
    keys = [s.key for s in statuses if not s.problem and s.key != "testimage"]
    if "any" not in entry_os:
        keys = [key for key in keys if key in entry_os]
    return ",".join(keys)


def source_adverts(sources: SourcePolicy) -> List[Tuple[str, str]]:
    """The set image-source lists (as given) and their START regexes, to publish to the startd."""
    adverts = [(source.name, ",".join(source.patterns)) for source in sources.lists]
    for name, regex in (
        ("GS_IMAGE_ALLOW_REGEX", allow_regex(sources)),
        ("GS_IMAGE_DENY_REGEX", deny_regex(sources)),
    ):
        if regex is not None:
            adverts.append((name, regex))
    return adverts


def container_adverts(
    status: str,
    path: str,
    version: str,
    full_version: str,
    mode: str,
    pid_namespaces: Optional[bool],
    images_text: str,
    os_list: str,
    provides: str,
    allow_sandbox_images: str,
    sif_usable: Optional[bool] = None,
) -> List[Tuple[str, str]]:
    """The adverts of a glidein that uses containers (``status``: PREFERRED or REQUIRED), as
    ``(name, value)`` texts; empty values and unknown facts (``""``, ``None``) are left out.
    ``provides``: the glidein's ``GLIDEIN_PROVIDES`` before ours (``singularity/<mode>``) is added;
    ``sif_usable``: whether ``.sif`` images launch here (``node.sif_support``; None: not known)."""
    adverts = [("HAS_SINGULARITY", "True"), ("GWMS_SINGULARITY_STATUS", status)]
    adverts += with_twins(
        (
            ("SINGULARITY_PATH", path),
            ("SINGULARITY_VERSION", version),
            ("SINGULARITY_FULL_VERSION", full_version),
            ("SINGULARITY_MODE", mode),
        )
    )
    if images_text:
        adverts.append(("SINGULARITY_IMAGES_DICT", images_text))
    if mode:
        others = [item for item in split_list(provides) if not item.startswith("singularity/")]
        adverts.append(("GLIDEIN_PROVIDES", ",".join([*others, "singularity/" + mode])))
    if os_list:
        adverts.append(("SINGULARITY_OS_LIST", os_list))
    if pid_namespaces is not None:
        adverts.append(("GS_PID_NAMESPACES", "True" if pid_namespaces else "False"))
    if truth(allow_sandbox_images) is True:
        adverts.append(("GS_ALLOW_SANDBOX_IMAGES", "True"))  # START admits images shipped with jobs
    if sif_usable is not None:
        adverts.append(("GS_SIF_USABLE", "True" if sif_usable else "False"))  # HasSIF follows it
    return [(name, value) for name, value in adverts if value]
