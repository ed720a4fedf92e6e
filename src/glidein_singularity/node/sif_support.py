"""Whether this node can launch ``.sif`` images unprivileged (stdlib only, python3 >= 3.6).

Apptainer mounts a SIF's squashfs with squashfuse through ``/dev/fuse``; with no squashfuse it extracts the
image into a temporary sandbox at every launch instead (slower, but it runs). With a squashfuse and no
usable ``/dev/fuse``, Apptainer 1.4 tries the mount and every ``.sif`` launch fails. ``gs-setup``
advertises the answer as ``GS_SIF_USABLE`` (``HasSIF`` follows it) and ``doctor`` explains it.
"""

import os
import shutil
from typing import NamedTuple

__all__ = ["SQUASHFUSE_NAMES", "SifSupport", "dev_fuse_usable", "find_squashfuse", "sif_support"]

#: What Apptainer mounts SIF images with, in its order of preference.
SQUASHFUSE_NAMES = ("squashfuse_ll", "squashfuse")
DEV_FUSE = "/dev/fuse"


class SifSupport(NamedTuple):
    """``squashfuse``: the one Apptainer would use ("" none); ``dev_fuse``: ``/dev/fuse`` opens read-write."""

    squashfuse: str
    dev_fuse: bool

    @property
    def usable(self) -> bool:
        """``.sif`` images launch: mounted (squashfuse and /dev/fuse) or extracted (no squashfuse)."""
        return self.dev_fuse or not self.squashfuse


def find_squashfuse(runtime_path: str, search: str) -> str:
    """squashfuse_ll or squashfuse: Apptainer's own copy (libexec next to the runtime), else on ``search``."""
    if runtime_path:
        prefix = os.path.dirname(os.path.dirname(os.path.realpath(runtime_path)))
        for name in SQUASHFUSE_NAMES:
            bundled = os.path.join(prefix, "libexec", "apptainer", "bin", name)
            if os.access(bundled, os.X_OK):
                return bundled
    for name in SQUASHFUSE_NAMES:
        found = shutil.which(name, path=search)
        if found:
            return found
    return ""


def dev_fuse_usable(path: str = DEV_FUSE) -> bool:
    """``path`` (the FUSE device) opens read-write for this user."""
    try:
        os.close(os.open(path, os.O_RDWR | os.O_CLOEXEC))
    except OSError:
        return False
    return True


def sif_support(runtime_path: str, search: str, device: str = DEV_FUSE) -> SifSupport:
    """What this node offers ``.sif`` images, for the runtime at ``runtime_path``."""
    return SifSupport(find_squashfuse(runtime_path, search), dev_fuse_usable(device))
