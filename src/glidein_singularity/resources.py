"""Where the package's shipped files are: the HTCondor snippets and the worker-node launchers (stdlib).

An installed wheel carries them as package data in ``glidein_singularity/share/`` (the build copies
them there); a source checkout has them at the top of the tree (``condor_config.d/``,
``glidein_scripts/``). ``shared_dir`` looks in that order, so the tools work from any current
directory, with or without a checkout.
"""

import os

from .errors import GlideinSingularityError

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from typing import List

__all__ = ["CONFIG_D", "LAUNCHERS", "SCRIPTS", "candidates", "shared_dir", "shared_file"]

#: The HTCondor configuration snippets.
CONFIG_D = "condor_config.d"
#: The worker-node launchers.
SCRIPTS = "glidein_scripts"
#: The launchers an execution point or a glidein needs, in the order they are installed.
LAUNCHERS = ("gs-setup", "gs-job-wrapper", "gs_job_wrapper.py", "gs-prepare-job", "gs-health")

_PACKAGE = os.path.dirname(os.path.abspath(__file__))


def candidates(kind: str) -> "List[str]":
    """The directories searched for ``kind`` (``CONFIG_D`` or ``SCRIPTS``), first found wins."""
    return [
        os.path.join(_PACKAGE, "share", kind),  # an installed wheel
        os.path.normpath(os.path.join(_PACKAGE, "..", "..", kind)),  # a source checkout (src layout)
    ]


def shared_dir(kind: str) -> str:
    """The directory holding ``kind``; GlideinSingularityError naming where it looked."""
    for path in candidates(kind):
        if os.path.isdir(path):
            return path
    msg = "the package's {} is missing (looked in {}); reinstall glidein-singularity".format(
        kind, ", ".join(candidates(kind))
    )
    raise GlideinSingularityError(msg)


def shared_file(kind: str, name: str) -> str:
    """The path of one shipped file; GlideinSingularityError when it is missing."""
    path = os.path.join(shared_dir(kind), name)
    if not os.path.isfile(path):
        msg = "the package's {} has no {} ({}); reinstall glidein-singularity".format(kind, name, path)
        raise GlideinSingularityError(msg)
    return path
