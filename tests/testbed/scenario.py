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


def our_snippets(*names: str) -> dict[str, str]:
    """Our shipped condor_config.d files, by name prefix (e.g. "50", "60")."""
    out = {}
    for path in sorted(CONFIG_D.glob("*.config")):
        if not names or path.name.split("-")[0] in names:
            out[path.name] = path.read_text()
    return out


def local_config(extra: str = "") -> str:
    """Where the bed keeps our scripts, and how the wrapper finds the glidein's config (as GlideinWMS
    exports glidein attributes to the job environment)."""
    return (
        f"GS_LIBEXEC = {g.REPO}/glidein_scripts\n"
        f'STARTER_JOB_ENVIRONMENT = "GS_GLIDEIN_CONFIG={g.GLIDEIN_DIR}/glidein_config"\n' + extra
    )


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
    configs.update(overrides or {})
    pool = Pool(bed, configs)
    pool.start()
    return pool, run


def sh_job(script: str, extra: str = "") -> str:
    """A submit description running ``script`` with the image's /bin/sh (no executable transfer)."""
    quoted = script.replace("'", "''").replace('"', '""')
    return f"executable = /bin/sh\narguments = \"-c '{quoted}'\"\ntransfer_executable = false\n{extra}"
