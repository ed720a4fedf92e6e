"""A glidein-like directory inside the bed, and the GlideinWMS glue around our startup script.

GlideinWMS itself is not in the bed. What it does around a custom script is small and documented
(reference/glideinwms-semantics.md §2, §5.1): it writes ``glidein_config`` and the condor vars file,
runs the script as ``<script> glidein_config entry_id`` from the glidein work dir, and then
``condor_startup.sh`` turns every condor-vars line exported to the startd into a startd macro plus
``STARTD_ATTRS``. ``startd_config`` reproduces that last step; everything else is our real code.
"""

from __future__ import annotations

from dataclasses import dataclass

from .session import Session

GLIDEIN_DIR = "/opt/glidein"
PILOT = "tuser2"  # the glidein's own user; jobs are submitted by tuser
CVMFS_IMAGES = "/cvmfs/singularity.opensciencegrid.org/gs-test"
IMAGES_DICT = ",".join(
    [
        f"default:{CVMFS_IMAGES}/busybox:latest",
        f"rhel9:{CVMFS_IMAGES}/el9:latest",
        f"busybox:{CVMFS_IMAGES}/busybox:latest",
    ]
)
REPO = "/opt/glidein-singularity"


#: The lines GlideinWMS's own condor_vars.lst has for container attributes (reference §1):
#: VarName Type Default CondorName Required ExportToStartd JobEnv.
GWMS_CONDOR_VARS = """\
GLIDEIN_Singularity_Use S DISABLE_GWMS + N Y -
GLIDEIN_SINGULARITY_REQUIRE S - + N Y -
GLIDEIN_SINGULARITY_BINDPATH S - + N Y -
GLIDEIN_SINGULARITY_OPTS S - + N Y -
SINGULARITY_IMAGE_RESTRICTIONS S cvmfs + N Y -
GLIDEIN_REQUIRED_OS S any + N Y -
"""


@dataclass
class SetupRun:
    """The startup script's run: exit code, output, and what it left in the glidein dir."""

    returncode: int
    stdout: str
    stderr: str
    glidein_config: dict[str, str]
    result_xml: str


def glidein_config_text(attrs: dict[str, str]) -> str:
    return "".join(f"{key} {value}\n" for key, value in attrs.items())


def read_glidein_config(text: str) -> dict[str, str]:
    """GlideinWMS semantics: ``KEY value`` lines, last occurrence wins."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        key, _, value = line.partition(" ")
        if key:
            out[key] = value
    return out


def make_glidein(bed: Session, attrs: dict[str, str], path: str = GLIDEIN_DIR) -> None:
    """A fresh glidein work dir owned by the pilot user, with glidein_config and an empty condor vars file."""
    bed.run(["rm", "-rf", path])
    bed.run(["install", "-d", "-o", PILOT, "-g", PILOT, "-m", "755", path])
    base = {
        "GLIDEIN_WORK_DIR": path,
        "GLIDEIN_LOCAL_TMP_DIR": f"{path}/tmp",
        "CONDOR_VARS_FILE": f"{path}/condor_vars.lst",
        "GLIDEIN_Site": "TestBed",
        "GLIDEIN_Name": "gs-testbed",
    }
    base.update(attrs)
    bed.write(f"{path}/glidein_config", glidein_config_text(base), owner=PILOT)
    bed.write(f"{path}/condor_vars.lst", GWMS_CONDOR_VARS, owner=PILOT)
    bed.run(["install", "-d", "-o", PILOT, "-g", PILOT, f"{path}/tmp"])


def run_setup(bed: Session, path: str = GLIDEIN_DIR, timeout: float = 120, launcher: str = "") -> SetupRun:
    """Run our startup script (``launcher``, default the checkout's) as the pilot, from the glidein dir,
    like glidein_startup.sh does."""
    proc = bed.run(
        [launcher or f"{REPO}/glidein_scripts/gs-setup", f"{path}/glidein_config", "main"],
        user=PILOT,
        cwd=path,
        check=False,
        timeout=timeout,
    )
    xml_path = bed.path(f"{path}/otrb_output.xml")
    return SetupRun(
        returncode=proc.returncode,
        stdout=proc.stdout,
        stderr=proc.stderr,
        glidein_config=read_glidein_config(bed.read(f"{path}/glidein_config")),
        result_xml=xml_path.read_text() if xml_path.exists() else "",
    )


def condor_value(value: str, vtype: str) -> str:
    """A condor-vars value as condor_startup.sh writes it: strings quoted, others verbatim."""
    if vtype == "S":
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return value


def startd_config(bed: Session, path: str = GLIDEIN_DIR) -> str:
    """condor_startup.sh's step: each condor-vars line -> a macro; exported ones also in STARTD_ATTRS."""
    config = read_glidein_config(bed.read(f"{path}/glidein_config"))
    lines = ["# emulated condor_startup.sh: glidein_config values exported to the startd"]
    names = []
    for raw in bed.read(f"{path}/condor_vars.lst").splitlines():
        parts = raw.split()
        if len(parts) < 7 or raw.lstrip().startswith("#"):
            continue
        var, vtype, default, condor_name, _required, to_startd, _job_env = parts[:7]
        name = var if condor_name == "+" else condor_name
        value = config.get(var, "" if default == "-" else default)
        if value == "" and (vtype != "S" or to_startd != "Y"):
            continue
        lines.append(f"{name} = {condor_value(value, vtype)}")
        if to_startd == "Y":
            names.append(name)
    if names:
        lines.append("STARTD_ATTRS = $(STARTD_ATTRS) " + " ".join(sorted(set(names))))
    return "\n".join(lines) + "\n"


__all__ = [
    "GLIDEIN_DIR",
    "IMAGES_DICT",
    "PILOT",
    "SetupRun",
    "make_glidein",
    "read_glidein_config",
    "run_setup",
    "startd_config",
]
