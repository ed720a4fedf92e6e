"""What the startup script installs in a glidein (worker node): the job wrapper's entry, the package
(byte-compiled) and the launchers next to glidein_config (``install_wrapper_code``), and the glidein's
HTCondor configuration: our snippets, the START term and the health probe (``install_glidein_condor_config``).
"""

import compileall
import os
import shutil
import subprocess
import sys
import zipfile
from typing import List, Mapping, Sequence

from ..bundle import ADMIN_SIDE
from ..errors import ConfigError
from ..glidein_config import (
    add_config_lines,
)
from .setup_publish import write_atomically

__all__ = [
    "GLIDEIN_CONFIG_DIR",
    "GLIDEIN_CONFIG_FILE",
    "GLIDEIN_SNIPPETS",
    "HEALTH_ENTRY",
    "HOOK_ENTRY",
    "WRAPPER_ENTRY",
    "glidein_condor_config",
    "install_glidein_condor_config",
    "install_wrapper_code",
    "package_location",
]

#: The job wrapper's python entry, which GlideinWMS's condor_job_wrapper.sh (gs-job-wrapper) expects
#: next to itself, i.e. in the glidein work dir.
WRAPPER_ENTRY = "gs_job_wrapper.py"
#: The health probe's and the prepare-job hook's launchers, linked next to glidein_config when shipped
#: with gs-setup (each finds the startup script's results there).
HEALTH_ENTRY = "gs-health"
HOOK_ENTRY = "gs-prepare-job"


def package_location() -> str:
    """The sys.path entry this package was imported from: a bundle (.zip) or a directory."""
    package_dir = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    return os.path.dirname(package_dir)


def _link(target: str, link: str) -> bool:
    """Point ``link`` at ``target`` (atomically replacing an old link); False if already the same file."""
    if os.path.lexists(link) and os.path.exists(link) and os.path.samefile(target, link):
        return False
    tmp = "{}.gs-tmp-{}".format(link, os.getpid())
    os.symlink(target, tmp)
    try:
        os.replace(tmp, link)
    except OSError:
        os.unlink(tmp)
        raise
    return True


#: Interpreters the job wrapper's launcher (gs-job-wrapper) tries, in its order.
WRAPPER_PYTHONS = ("/usr/libexec/platform-python", "/usr/bin/python3", "/usr/local/bin/python3")


def _copy_package(package_location: str, staging: str) -> None:
    """Copy the worker-node package (from a bundle or a directory) to ``staging``."""
    if os.path.isfile(package_location):  # a bundle: extract its package
        with zipfile.ZipFile(package_location) as bundle:
            for name in bundle.namelist():
                if not name.startswith("glidein_singularity/") or name.endswith("/") or ".." in name:
                    continue
                path = os.path.join(staging, *name.split("/")[1:])
                os.makedirs(os.path.dirname(path), exist_ok=True)
                with bundle.open(name) as source, open(path, "wb") as handle:
                    shutil.copyfileobj(source, handle)
        return
    shutil.copytree(
        os.path.join(package_location, "glidein_singularity"),
        staging,
        ignore=shutil.ignore_patterns("__pycache__", *ADMIN_SIDE),
    )


def _byte_compile(directory: str) -> List[str]:
    """Byte-compile the copy for this python and for the one the job wrapper will use; return notes.

    The job wrapper imports the package on every job launch; without cached bytecode each launch would
    compile it again (about 17 ms). The pilot can write here, the job user may not.
    """
    compileall.compile_dir(directory, quiet=1, workers=1)
    notes = ["byte-compiled {} for {}".format(directory, sys.executable)]
    for python in WRAPPER_PYTHONS:
        if not os.access(python, os.X_OK):
            continue
        if os.path.realpath(python) != os.path.realpath(sys.executable):
            run = subprocess.run(
                [python, "-I", "-m", "compileall", "-q", directory],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                timeout=120,
                check=False,
            )
            if run.returncode == 0:
                notes.append("byte-compiled {} for {}".format(directory, python))
        break
    return notes


def install_wrapper_code(work_dir: str, scripts_dir: str, package_location: str) -> List[str]:
    """Install the job wrapper's entry, the package and the health probe (when shipped) in the glidein
    work dir; return what was done.

    GlideinWMS puts the frontend's files in a sub-directory (``client/``...), but concatenates the
    ``gs-job-wrapper`` snippet into ``condor_job_wrapper.sh`` in the work dir, which looks for
    ``gs_job_wrapper.py`` (and that one for the package) next to itself. The entry and the probe are
    linked; the package (from the bundle or a directory) is copied to ``lib/glidein_singularity`` and
    byte-compiled, so job launches import cached bytecode. Only ``work_dir`` is written. Raises OSError
    or ConfigError naming what is missing.
    """
    entry = os.path.join(scripts_dir, WRAPPER_ENTRY)
    if not os.path.isfile(entry):
        msg = "{} not found (ship it next to gs-setup)".format(entry)
        raise ConfigError(msg)
    done = []
    if _link(os.path.abspath(entry), os.path.join(work_dir, WRAPPER_ENTRY)):
        done.append("linked {} -> {}".format(os.path.join(work_dir, WRAPPER_ENTRY), entry))
    lib = os.path.join(work_dir, "lib")
    os.makedirs(lib, exist_ok=True)
    target = os.path.join(lib, "glidein_singularity")
    staging = "{}.gs-tmp-{}".format(target, os.getpid())
    shutil.rmtree(staging, ignore_errors=True)
    _copy_package(package_location, staging)
    done.extend(note.replace(staging, target) for note in _byte_compile(staging))
    if os.path.islink(target) or os.path.isfile(target):
        os.unlink(target)
    elif os.path.isdir(target):
        shutil.rmtree(target)
    os.rename(staging, target)
    done.append("copied {} to {}".format(package_location, target))
    for name in (HEALTH_ENTRY, HOOK_ENTRY):
        launcher = os.path.join(scripts_dir, name)
        if os.path.isfile(launcher) and not os.access(launcher, os.X_OK):
            # GlideinWMS downloads a regular file without the executable bit; HTCondor runs this one.
            os.chmod(launcher, os.stat(launcher).st_mode | 0o555)
            done.append("made {} executable".format(launcher))
        if os.path.isfile(launcher) and _link(os.path.abspath(launcher), os.path.join(work_dir, name)):
            # next to glidein_config, where each looks for the startup script's results
            done.append("linked {} -> {}".format(os.path.join(work_dir, name), launcher))
    return done


#: The glidein's HTCondor reads every file of ``<work dir>/condor_config.d`` (GlideinWMS's
#: condor_config: ``LOCAL_CONFIG_DIR = $(WORK_DIR)/condor_config.d``) after the main configuration,
#: condor_startup.sh's START included: ours is written there.
GLIDEIN_CONFIG_DIR = "condor_config.d"
GLIDEIN_CONFIG_FILE = "60-glidein-singularity.config"
#: Our snippets installed into a glidein, in both launch modes: the wrapper's (the prepare-job hook and
#: the attributes it publishes), the container universe's (which turns HTCondor's own launch off unless
#: the setup set GS_USE_HTCONDOR true), the START term and the health probe.
GLIDEIN_SNIPPETS = (
    "50-glidein-singularity-wrapper.config",
    "55-glidein-singularity-container.config",
    "60-glidein-singularity-start.config",
    "70-glidein-singularity-health.config",
)
#: In a glidein, USER_JOB_WRAPPER stays GlideinWMS's: condor_startup.sh concatenates the wrapper files
#: (ours: gs-job-wrapper) into this file in the work dir and sets the same line before our file.
GLIDEIN_JOB_WRAPPER = "USER_JOB_WRAPPER = $(LOCAL_DIR)/condor_job_wrapper.sh"
#: The job wrapper's failure counter in a glidein (relative to the work dir), read by the health probe.
GLIDEIN_FAILURE_MARKER = "gs-failures"


def _find_snippet(scripts_dir: str, name: str) -> str:
    """A shipped snippet: next to gs-setup, or in a source checkout's condor_config.d/."""
    for directory in (scripts_dir, os.path.join(os.path.dirname(scripts_dir), "condor_config.d")):
        path = os.path.join(directory, name)
        if os.path.isfile(path):
            return path
    msg = "{} not found next to gs-setup in {} (ship it: glidein-singularity bundle --ship DIR)".format(
        name, scripts_dir
    )
    raise ConfigError(msg)


def _config_path(path: str) -> str:
    """A path as an HTCondor config value (``$`` kept literal); refuses what a config line cannot hold."""
    if any(c in path for c in "\n\r\\") or path != path.strip():
        msg = "path {!r} cannot be written into the glidein's HTCondor configuration".format(path)
        raise ConfigError(msg)
    return path.replace("$", "$(DOLLAR)")


def glidein_condor_config(work_dir: str, glidein_config: str, marker: str, snippets: Sequence[str]) -> str:
    """The text of the glidein's config.d file: our locations, our snippets, GlideinWMS's job wrapper."""
    lines = [
        "# Written by gs-setup: glidein-singularity's START term and health probe for this glidein.",
        "# HTCondor reads it after condor_startup.sh's configuration (LOCAL_CONFIG_DIR).",
        "GS_LIBEXEC = " + _config_path(work_dir),
        "GS_GLIDEIN_CONFIG = " + _config_path(glidein_config),
        "GS_FAILURE_MARKER = " + _config_path(marker),
        "",
    ]
    tail = "# GlideinWMS's job wrapper, which runs gs-job-wrapper (50- above names it directly).\n"
    body = "\n".join(text.rstrip("\n") + "\n" for text in snippets)
    return "\n".join(lines) + "\n" + body + "\n" + tail + GLIDEIN_JOB_WRAPPER + "\n"


def install_glidein_condor_config(
    work_dir: str, scripts_dir: str, glidein_config: str, config: Mapping[str, str]
) -> List[str]:
    """Install our hook, container universe, START term and health probe into the glidein's HTCondor
    configuration; return notes.

    Writes ``<work dir>/condor_config.d/60-glidein-singularity.config`` and, unless set, the failure
    marker's path (``GS_FAILURE_MARKER``) into glidein_config, where the job wrapper reads it. Without
    that directory (not a GlideinWMS glidein, or one older than 3.9) nothing is written. Raises
    ConfigError naming a snippet that was not shipped, OSError when a file cannot be written.
    """
    directory = os.path.join(work_dir, GLIDEIN_CONFIG_DIR)
    if not os.path.isdir(directory):
        return ["warning: {} does not exist: START term and health probe not installed".format(directory)]
    texts = []
    names = GLIDEIN_SNIPPETS
    for name in names:
        with open(_find_snippet(scripts_dir, name), encoding="utf-8") as handle:
            texts.append(handle.read())
    marker = (config.get("GS_FAILURE_MARKER") or "").strip()
    if not marker:
        marker = os.path.join(work_dir, GLIDEIN_FAILURE_MARKER)
        add_config_lines(glidein_config, [("GS_FAILURE_MARKER", marker)])
    target = os.path.join(directory, GLIDEIN_CONFIG_FILE)
    write_atomically(target, glidein_condor_config(work_dir, glidein_config, marker, texts))
    return ["installed {} in {}".format(", ".join(names), target)]
