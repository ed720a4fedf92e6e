"""A glidein-like startd for integration tests: our startup script's results + our condor_config.d."""

from __future__ import annotations

import shutil
import tempfile
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


#: Where the emulated glidein keeps the files the frontend shipped (GlideinWMS downloads them into the work
#: dir's client directory), and the glidein's own condor_config.d (its LOCAL_CONFIG_DIR).
CLIENT_DIR = f"{g.GLIDEIN_DIR}/client"
INSTALLED_CONFIG = f"{g.GLIDEIN_DIR}/condor_config.d/60-glidein-singularity.config"


def start_shipped_glidein_pool(
    bed: Session, attrs: dict[str, str], overrides: dict[str, str] | None = None
) -> tuple[Pool, g.SetupRun]:
    """A glidein deployed as docs/deploy-factory.md says: ``bundle --ship`` writes the files, the glidein
    gets them, the shipped ``gs-setup`` runs and installs our configuration into the glidein's
    condor_config.d; the startd reads that file as it is (only condor_startup.sh's part is emulated:
    its condor vars, and the concatenated job wrapper at the work dir, the glidein's LOCAL_DIR)."""
    from tests.testbed.real_glidein import cli

    settings = {"SINGULARITY_IMAGES_DICT": g.IMAGES_DICT, "GS_WRAPPER_FAILURE_SLEEP": "0"}
    settings.update(attrs)
    g.make_glidein(bed, settings)
    with tempfile.TemporaryDirectory() as tmp:
        ship = Path(tmp) / "ship"
        cli("bundle", "--ship", str(ship), cwd=Path(tmp))
        bed.run(
            ["install", "-d", "-o", g.PILOT, "-g", g.PILOT, CLIENT_DIR, f"{g.GLIDEIN_DIR}/condor_config.d"]
        )
        for item in sorted(ship.iterdir()):
            shutil.copy(item, bed.path(f"{CLIENT_DIR}/{item.name}"))  # with its mode
        bed.run(["chown", "-R", f"{g.PILOT}:{g.PILOT}", CLIENT_DIR])
    run = g.run_setup(bed, launcher=f"{CLIENT_DIR}/gs-setup")
    configs = {
        "40-glidein.config": g.startd_config(bed),
        "60-glidein-singularity.config": bed.read(INSTALLED_CONFIG),
        # condor_startup.sh's LOCAL_DIR is the work dir, where it writes condor_job_wrapper.sh
        "61-glidein-local-dir.config": glidein_wrapper_config(bed),
    }
    configs.update(overrides or {})
    pool = Pool(bed, configs)
    pool.start()
    return pool, run


def sh_job(script: str, extra: str = "") -> str:
    """A submit description running ``script`` with the image's /bin/sh (no executable transfer)."""
    quoted = script.replace("'", "''").replace('"', '""')
    return f"executable = /bin/sh\narguments = \"-c '{quoted}'\"\ntransfer_executable = false\n{extra}"
