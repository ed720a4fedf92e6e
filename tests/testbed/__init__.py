"""The real HTCondor + Apptainer test bed (Debian trixie root filesystem, entered with pivot_root).

- ``build.ensure_bed()`` builds it once and caches it outside the clone, keyed by its recipe;
- ``session.Session`` enters it (private mount + PID namespaces; everything dies with the session);
- ``pool.Pool`` runs a personal HTCondor inside and submits jobs as the unprivileged ``tuser``.

Run ``python -m tests.testbed --help`` from the project root for the command line (build, shell, demo).
"""

from .build import TestBedUnavailable, bed_dir, ensure_bed, recipe_hash
from .pool import BASE_CONFIG, Job, Pool
from .session import Session

__all__ = [
    "BASE_CONFIG",
    "Job",
    "Pool",
    "Session",
    "TestBedUnavailable",
    "bed_dir",
    "ensure_bed",
    "recipe_hash",
]
