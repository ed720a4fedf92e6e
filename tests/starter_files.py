"""What a starter leaves for the job wrapper on a fake node: the wrapper installed as gs-setup installs
it, and ad files the job cannot have written.

The wrapper trusts a ``.machine.ad`` only when another user wrote it (a root-started starter; see
``glidein_singularity.inputs``). Tests run as root in CI and by the README's command: there the ad is
handed to ``nobody``, as a starter running as ``condor`` would leave it. Elsewhere the caller skips.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = ROOT / "glidein_scripts"
PACKAGE = ROOT / "src" / "glidein_singularity"
NOBODY = 65534


def install_wrapper(directory: Path, glidein_config: str) -> Path:
    """Put the wrapper's launchers and the package in ``directory`` with a ``glidein_config`` next to
    them (where the wrapper looks first); return the launcher the starter runs."""
    directory.mkdir(parents=True, exist_ok=True)
    for name in ("gs-job-wrapper", "gs_job_wrapper.py", "gs-prepare-job"):
        shutil.copy2(SCRIPTS / name, directory / name)
    (directory / "lib").mkdir(exist_ok=True)
    if not (directory / "lib" / "glidein_singularity").exists():
        (directory / "lib" / "glidein_singularity").symlink_to(PACKAGE)
    (directory / "glidein_config").write_text(glidein_config)
    return directory / "gs-job-wrapper"


def starter_wrote(path: Path) -> None:
    """Make ``path`` an ad file the job could not have written (owned by another user, 0644)."""
    if os.geteuid() != 0:
        pytest.skip("needs root: the starter's ad files belong to another user than the job's")
    os.chown(path, NOBODY, NOBODY)
    path.chmod(0o644)


__all__ = ["install_wrapper", "starter_wrote"]
