"""A glidein-like startd for integration tests: our startup script's results + our condor_config.d."""

from __future__ import annotations

from pathlib import Path

from tests.testbed import Pool, Session
from tests.testbed import glidein as g

REPO = Path(__file__).resolve().parents[2]
CONFIG_D = REPO / "condor_config.d"
IMAGES = g.CVMFS_IMAGES
BUSYBOX = f"{IMAGES}/busybox:latest"
DEBIAN = f"{IMAGES}/debian:13"
#: The launch modes a glidein test pool runs in (its attributes): our wrapper starts the container, or
#: HTCondor's starter does from our plan (GLIDEIN_SINGULARITY_USE_HTCONDOR).
LAUNCH_MODES = {"wrapper": {}, "htcondor": {"GLIDEIN_SINGULARITY_USE_HTCONDOR": "True"}}


def our_snippets(*names: str) -> dict[str, str]:
    """Our shipped condor_config.d files, by name prefix (e.g. "50", "60")."""
    out = {}
    for path in sorted(CONFIG_D.glob("*.config")):
        if not names or path.name.split("-")[0] in names:
            out[path.name] = path.read_text()
    return out


def local_config(extra: str = "") -> str:
    """The glidein's own config: our scripts are in its work dir (gs-setup linked the wrapper entry, the
    package and the health probe there, next to glidein_config, where each finds the setup's results)."""
    return f"GS_LIBEXEC = {g.GLIDEIN_DIR}\n" + extra


def glidein_wrapper_config(bed: Session) -> str:
    """condor_startup.sh's job wrapper: the frontend's wrapper files (ours: gs-job-wrapper) concatenated
    into <work dir>/condor_job_wrapper.sh after a /bin/sh header, ending with exec "$@"."""
    snippet = (REPO / "glidein_scripts" / "gs-job-wrapper").read_text()
    path = f"{g.GLIDEIN_DIR}/condor_job_wrapper.sh"
    bed.write(path, "#!/bin/sh\n" + snippet + '\nexec "$@"\n', mode=0o755, owner=g.PILOT)
    return f"USER_JOB_WRAPPER = {path}\n"


def start_glidein_pool(
    bed: Session,
    attrs: dict[str, str],
    snippets: tuple[str, ...] = ("50", "60"),
    extra_config: str = "",
    overrides: dict[str, str] | None = None,
) -> tuple[Pool, g.SetupRun]:
    """Run the startup script on a fresh glidein dir, then start a startd configured from its results.

    ``extra_config`` goes before our snippets (49-), ``overrides`` (file name -> text) after them."""
    settings = {"SINGULARITY_IMAGES_DICT": g.IMAGES_DICT, "GS_WRAPPER_FAILURE_SLEEP": "0"}
    settings.update(attrs)
    g.make_glidein(bed, settings)
    run = g.run_setup(bed)
    configs = {"40-glidein.config": g.startd_config(bed), "49-gs-local.config": local_config(extra_config)}
    configs.update(our_snippets(*snippets))
    if "50" in snippets:  # a glidein runs condor_startup.sh's concatenated wrapper, which execs ours
        configs["59-glidein-job-wrapper.config"] = glidein_wrapper_config(bed)
    configs.update(overrides or {})
    pool = Pool(bed, configs)
    pool.start()
    return pool, run


def sh_job(script: str, extra: str = "") -> str:
    """A submit description running ``script`` with the image's /bin/sh (no executable transfer)."""
    quoted = script.replace("'", "''").replace('"', '""')
    return f"executable = /bin/sh\narguments = \"-c '{quoted}'\"\ntransfer_executable = false\n{extra}"
