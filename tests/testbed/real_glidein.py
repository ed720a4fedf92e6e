"""GlideinWMS's real glidein_startup.sh in the bed, deployed as docs/deploy-factory.md says.

The operator's steps, in order (``STEPS``; docs/deploy-factory.md shows the same commands, and
tests/unit/test_docs_real_glidein.py keeps them equal):

1. ``glidein-singularity lint`` and ``render SITE -o rendered/`` check the YAML and write the frontend's
   and the factory's XML;
2. ``glidein-singularity bundle --ship DIR`` writes every file a glidein needs into ``DIR``;
3. the rendered ``<attrs>`` and ``<files>`` go into ``frontend.xml`` and ``glideinWMS.xml``, and
   GlideinWMS's own creation code (what its reconfig runs) builds the staging areas
   (tests/testbed/gwms_staging.py, run in the bed with a M2Crypto stand-in);
4. the staging areas are served over HTTP on 127.0.0.1 and glidein_startup.sh runs as the pilot user
   with the arguments GlideinWMS's factory gives it, against a pool (collector, negotiator, schedd) in
   the bed; jobs are submitted by the test user.

GlideinWMS's source comes from ``GS_GLIDEINWMS_SRC`` (CI: ``../shared/third_party/glideinwms``); it is
copied into the bed, never into the repository.
"""

from __future__ import annotations

import base64
import gzip
import json
import os
import shutil
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from .pool import Pool
from .session import Session

REPO = Path(__file__).resolve().parents[2]
SITE_YAML = REPO / "tests" / "data" / "real_glidein" / "site.yaml"
STUBS = "/opt/glidein-singularity/tests/testbed/gwms_stubs"  # the M2Crypto stand-in, as seen in the bed
STAGING_SCRIPT = "/opt/glidein-singularity/tests/testbed/gwms_staging.py"
GWMS_PARENT = "/opt/gwms"  # the bed's copy of GlideinWMS's source: /opt/gwms/glideinwms
WEB_ROOT = "/srv/gwms"
#: Not the image-store module's HTTP port (registry.HTTP_PORT): each module's server is its own.
PORT = 8010
WEB_URL = f"http://127.0.0.1:{PORT}"
PILOT = "tuser2"
PILOTS_DIR = f"/home/{PILOT}/pilots"
FACTORY_NAME = "gs-factory"
GLIDEIN_NAME = "gs"
FRONTEND_NAME = "gs-frontend"
COLLECTOR = "127.0.0.1:9618"
#: The pilot's credential: an IDTOKEN of the pool, which GlideinWMS's setup_x509.sh finds as
#: ``credential_*.idtoken`` in the start directory (the isolation test looks for it from a job).
PILOT_TOKEN_NAME = "credential_gs.idtoken"

#: The operator's commands (docs/deploy-factory.md shows these lines verbatim).
STEPS = (
    "glidein-singularity lint tests/data/real_glidein/site.yaml",
    "glidein-singularity render tests/data/real_glidein/site.yaml -o rendered/",
    "glidein-singularity bundle --ship /var/lib/gwms-frontend/web-base/glidein-singularity",
)

#: The pool: a collector, a negotiator and a schedd; every startd is a glidein.
POOL_CONFIG = """\
DAEMON_LIST = MASTER, COLLECTOR, NEGOTIATOR, SCHEDD, SHARED_PORT
# A fixed collector address the glideins are given (ROLE:Personal picks a random port).
SHARED_PORT_PORT = 9618
COLLECTOR_HOST = 127.0.0.1:9618
# Glideins authenticate with the pilot's IDTOKEN (GlideinWMS's default methods are TOKEN,GSI).
SEC_DEFAULT_AUTHENTICATION_METHODS = FS, IDTOKENS
ALLOW_ADVERTISE_STARTD = *
ALLOW_ADVERTISE_MASTER = *
ALLOW_DAEMON = *
"""


class GlideinWMSUnavailable(RuntimeError):
    """GS_GLIDEINWMS_SRC is unset or does not hold GlideinWMS's source (the message says why)."""


def glideinwms_source() -> Path:
    """GlideinWMS's source tree from ``GS_GLIDEINWMS_SRC`` (relative paths from the repository root)."""
    value = os.environ.get("GS_GLIDEINWMS_SRC", "")
    if not value:
        raise GlideinWMSUnavailable(
            "GS_GLIDEINWMS_SRC is not set "
            "(point it at GlideinWMS's source, e.g. ../shared/third_party/glideinwms)"
        )
    path = (REPO / value).resolve()
    startup = path / "creation" / "web_base" / "glidein_startup.sh"
    if not startup.is_file():
        raise GlideinWMSUnavailable(f"GS_GLIDEINWMS_SRC={value}: {startup} not found")
    return path


def cli(*args: str, cwd: Path) -> str:
    """Run ``glidein-singularity ARGS`` from this source checkout (what an operator types)."""
    env = dict(os.environ, PYTHONPATH=str(REPO / "src"))
    proc = subprocess.run(
        [sys.executable, "-m", "glidein_singularity.cli", *args],
        cwd=str(cwd),
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"glidein-singularity {' '.join(args)} failed: {proc.stderr}")
    return proc.stdout


# --- complete GlideinWMS configurations around what we rendered ---------------------------------------

_FACTORY_SKELETON = """\
<glidein factory_name="{FACTORY_NAME}" glidein_name="{GLIDEIN_NAME}" schedd_name="schedd_glideins1@localhost"
         factory_collector="127.0.0.1" factory_versioning="False">
   <monitor base_dir="{WEB_ROOT}/factory/monitor" javascriptRRD_dir="{WEB_ROOT}/jslibs"
            flot_dir="{WEB_ROOT}/jslibs"
            jquery_dir="{WEB_ROOT}/jslibs"/>
   <security key_length="2048">
      <frontends>
         <frontend name="{FRONTEND_NAME}" identity="frontend@127.0.0.1">
            <security_classes><security_class name="frontend" username="frontend"/></security_classes>
         </frontend>
      </frontends>
   </security>
   <stage base_dir="{WEB_ROOT}/factory/stage" use_symlink="True" web_base_url="{WEB_URL}/factory/stage"/>
   <submit base_dir="{WEB_ROOT}/factory/submit" base_log_dir="{WEB_ROOT}/factory/log"
           base_client_log_dir="{WEB_ROOT}/factory/client_log"
           base_client_proxies_dir="{WEB_ROOT}/factory/proxies"/>
   <attrs/>
   <entries/>
   <condor_tarballs>
      <condor_tarball arch="default" os="default" version="default" base_dir="{CONDOR_DIR}"/>
   </condor_tarballs>
   <files/>
</glidein>
"""

_FRONTEND_SKELETON = """\
<frontend frontend_name="{FRONTEND_NAME}" frontend_versioning="False">
   <work base_dir="{WEB_ROOT}/frontend/work" base_log_dir="{WEB_ROOT}/frontend/log"/>
   <stage base_dir="{WEB_ROOT}/frontend/stage" use_symlink="True" web_base_url="{WEB_URL}/frontend/stage"/>
   <monitor base_dir="{WEB_ROOT}/frontend/monitor" javascriptRRD_dir="{WEB_ROOT}/jslibs"
            flot_dir="{WEB_ROOT}/jslibs"
            jquery_dir="{WEB_ROOT}/jslibs"/>
   <match>
      <factory>
         <collectors>
            <collector node="127.0.0.1" DN="/CN=factory" factory_identity="factory@127.0.0.1"
                       my_identity="frontend@127.0.0.1"/>
         </collectors>
      </factory>
      <job>
         <schedds><schedd fullname="127.0.0.1" DN="/CN=schedd"/></schedds>
      </job>
   </match>
   <security classad_proxy="{WEB_ROOT}/frontend/proxy" proxy_DN="/CN=frontend"
             security_name="{FRONTEND_NAME}">
      <credentials>
         <credential absfname="{WEB_ROOT}/frontend/proxy" security_class="frontend" trust_domain="grid"
                     type="grid_proxy"/>
      </credentials>
   </security>
   <collectors><collector node="{COLLECTOR}" DN="/CN=collector" secondary="False"/></collectors>
   <attrs/>
   <files/>
   <groups/>
</frontend>
"""


def _replace_child(parent: ET.Element, new: ET.Element) -> None:
    old = parent.find(new.tag)
    if old is not None:
        parent.remove(old)
    parent.append(new)


def _skeleton(template: str, web_root: str, condor_dir: str) -> ET.Element:
    return ET.fromstring(
        template.format(
            FACTORY_NAME=FACTORY_NAME, GLIDEIN_NAME=GLIDEIN_NAME, FRONTEND_NAME=FRONTEND_NAME,
            WEB_ROOT=web_root,
            WEB_URL=WEB_URL, COLLECTOR=COLLECTOR, CONDOR_DIR=condor_dir,
        )
    )  # fmt: skip


def _take_globals(root: ET.Element, rendered: str) -> ET.Element:
    """Put the rendered global ``<attrs>`` and ``<files>`` into ``root``; return the rendered tree."""
    ours = ET.fromstring(rendered)
    for tag in ("attrs", "files"):
        if ours.find(tag) is not None:
            _replace_child(root, ours.find(tag))
    return ours


def merge_factory(rendered: str, web_root: str = WEB_ROOT, condor_dir: str = "/usr") -> str:
    """glideinWMS.xml: the rendered global attrs and files, and each rendered entry, as a CE entry."""
    root = _skeleton(_FACTORY_SKELETON, web_root, condor_dir)
    ours = _take_globals(root, rendered)
    entries = root.find("entries")
    for entry in ours.findall("entries/entry"):
        entry.attrib.update(
            gatekeeper="127.0.0.1", gridtype="condor", trust_domain="grid", auth_method="grid_proxy",
            enabled="True", work_dir=".", verbosity="std",
        )  # fmt: skip
        entries.append(entry)
    return ET.tostring(root, encoding="unicode")


def merge_frontend(rendered: str, web_root: str = WEB_ROOT) -> str:
    """frontend.xml: the rendered global attrs and files, and each rendered group, enabled."""
    root = _skeleton(_FRONTEND_SKELETON, web_root, "")
    ours = _take_globals(root, rendered)
    groups = root.find("groups")
    for group in ours.findall("groups/group"):
        group.set("enabled", "True")
        if group.find("files") is None:
            ET.SubElement(group, "files")
        groups.append(group)
    return ET.tostring(root, encoding="unicode")


# --- the deployment ------------------------------------------------------------------------------------


@dataclass
class Staging:
    """What glidein_startup.sh needs to find the staging areas (gwms_staging.py's output)."""

    data: dict

    def arguments(self, entry: str, group: str, cluster: int) -> list[str]:
        """glidein_startup.sh's argument list, as GlideinWMS's factory builds it for one glidein."""
        factory, frontend = self.data["factory"], self.data["frontend"]
        client = f"{FRONTEND_NAME}.{group}"
        return [
            "-v", "std", "-name", GLIDEIN_NAME, "-entry", entry, "-clientname", client,
            "-schedd", "schedd_glideins1@localhost", "-proxy", "None", "-factory", FACTORY_NAME,
            "-web", f"{WEB_URL}/factory/stage", "-sign", factory["sign"],
            "-signentry", factory["entries"][entry]["sign"], "-signtype", "sha1",
            "-descript", factory["descript"], "-descriptentry", factory["entries"][entry]["descript"],
            "-dir", ".", "-param_GLIDEIN_Client", client, "-submitcredid", "1", "-slotslayout", "fixed",
            "-clientweb", f"{WEB_URL}/frontend/stage", "-clientsign", frontend["sign"],
            "-clientsigntype", "sha1", "-clientdescript", frontend["descript"], "-clientgroup", group,
            "-clientwebgroup", f"{WEB_URL}/frontend/stage/group_{group}",
            "-clientsigngroup", frontend["groups"][group]["sign"],
            "-clientdescriptgroup", frontend["groups"][group]["descript"],
            *self.data["params"],
            "-cluster", str(cluster), "-subcluster", "0",
        ]  # fmt: skip


#: The frontend's parameters for every glidein (what its match step sends the factory), before escaping.
FRONTEND_PARAMS = (
    ("GLIDEIN_Collector", COLLECTOR),
    ("CONDOR_VERSION", "default"),
    ("CONDOR_OS", "default"),
    ("CONDOR_ARCH", "default"),
    ("GLIDEIN_Report_Failed", "NEVER"),
    ("GLIDEIN_DEBUG_OPTIONS", "nocleanup"),
)


def deploy(bed: Session, gwms: Path, work: Path) -> Staging:
    """Steps 1 to 3: render, ship, and build both staging areas with GlideinWMS's code in the bed."""
    rendered = work / "rendered"
    (work / SITE_YAML.relative_to(REPO)).parent.mkdir(parents=True)
    shutil.copy(SITE_YAML, work / SITE_YAML.relative_to(REPO))
    cli(*STEPS[0].split()[1:], cwd=work)
    cli(*STEPS[1].split()[1:], cwd=work)
    # The shipped files live at the same absolute path in the bed (the frontend host), where
    # GlideinWMS's creation code reads each <file absfname=...>.
    ship_dir = STEPS[2].split()[-1]
    host_ship = work / "ship"
    cli("bundle", "--ship", str(host_ship), cwd=work)
    shutil.copytree(host_ship, bed.path(ship_dir), dirs_exist_ok=True)
    shutil.copytree(gwms, bed.path(f"{GWMS_PARENT}/glideinwms"), dirs_exist_ok=True)
    bed.sh(
        f"mkdir -p {WEB_ROOT}/jslibs {WEB_ROOT}/factory/client_log {WEB_ROOT}/factory/proxies "
        f"{WEB_ROOT}/frontend"
        f" && : > {WEB_ROOT}/jslibs/javascriptrrd.wlibs.js && : > {WEB_ROOT}/frontend/proxy"
    )
    bed.write(f"{WEB_ROOT}/glideinWMS.xml", merge_factory((rendered / "factory.xml").read_text()))
    bed.write(f"{WEB_ROOT}/frontend.xml", merge_frontend((rendered / "frontend.xml").read_text()))
    proc = bed.run(
        [
            "python3", STAGING_SCRIPT, GWMS_PARENT, STUBS, f"{WEB_ROOT}/glideinWMS.xml",
            f"{WEB_ROOT}/frontend.xml", json.dumps(FRONTEND_PARAMS),
        ],
        check=False,
        timeout=300,
    )  # fmt: skip
    if proc.returncode != 0:
        raise RuntimeError(
            f"GlideinWMS's creation code failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}"
        )
    return Staging(json.loads(proc.stdout.strip().splitlines()[-1]))


class WebServer:
    """``python3 -m http.server`` on 127.0.0.1 inside the bed, serving the staging areas."""

    def __init__(self, bed: Session) -> None:
        self.bed = bed
        self.proc = subprocess.Popen(
            bed.command(["python3", "-m", "http.server", "--bind", "127.0.0.1", str(PORT)], cwd=WEB_ROOT),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        ready = ["curl", "-sf", "-o", "/dev/null", f"{WEB_URL}/glideinWMS.xml"]  # ours, not any server
        Pool.wait_for(
            lambda: bed.run(ready, check=False).returncode == 0,
            30,
            "the staging web server",
        )

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)
        # nsenter forks into the bed's PID namespace: the server is its child and outlives it.
        self.bed.run(["pkill", "-f", f"http.server --bind 127.0.0.1 {PORT}"], check=False)


@dataclass
class Glidein:
    """One running glidein_startup.sh, started as the pilot user."""

    name: str
    group: str
    entry: str
    proc: subprocess.Popen
    log_dir: str

    def output(self, bed: Session) -> str:
        return bed.read(f"{self.log_dir}/out") + "\n--- stderr ---\n" + bed.read(f"{self.log_dir}/err")

    def work_dir(self, bed: Session) -> str:
        """The glidein's work dir (glide_*), where glidein_config is."""
        found = sorted(bed.path(self.log_dir).glob("glide_*/glidein_config"))
        return "/" + str(found[0].parent.relative_to(bed.path("/"))) if found else ""

    def ended(self, bed: Session) -> str:
        """GlideinWMS's lines on how HTCondor ended (``=== Condor ended ...``, ``Normal DAEMON_SHUTDOWN``)."""
        text = bed.read(f"{self.log_dir}/out") + bed.read(f"{self.log_dir}/err")
        return "\n".join(line for line in text.splitlines() if "Condor " in line or "SHUTDOWN" in line)

    def condor_logs(self, bed: Session, tail: int = 4000) -> str:
        """The tails of the HTCondor logs GlideinWMS's condor_startup.sh prints (gzip | uuencode) into the
        glidein's stderr when HTCondor ends, decoded; the work dir holding them is gone by then."""
        return "\n".join(
            f"--- {name} ---\n{text[-tail:]}" for name, text in decode_logs(bed.read(f"{self.log_dir}/err"))
        )


def decode_logs(err: str) -> list[tuple[str, str]]:
    """(name, text) of each log in a glidein's stderr: a name line, ``======== gzip | uuencode ...``, then
    ``begin-base64 644 -`` ... ``====``."""
    lines = err.splitlines()
    logs = []
    for number, line in enumerate(lines):
        if not line.startswith("======== gzip | uuencode") or number == 0:
            continue
        body = []
        for item in lines[number + 2 :]:
            if item.startswith("===="):
                break
            body.append(item)
        try:
            text = gzip.decompress(base64.b64decode("".join(body))).decode(errors="replace")
        except (ValueError, OSError, EOFError) as exc:
            text = f"(cannot decode: {exc})"
        logs.append((lines[number - 1].strip(), text))
    return logs


def pilot_token(bed: Session) -> str:
    """An IDTOKEN signed by the running pool's collector key, for the pilots."""
    Pool.wait_for(lambda: bed.path("/etc/condor/passwords.d/POOL").exists(), 30, "the pool's signing key")
    return bed.run(["condor_token_create", "-identity", f"{PILOT}@127.0.0.1"], timeout=30).stdout.strip()


def start_glidein(
    bed: Session, staging: Staging, token: str, group: str, entry: str, cluster: int
) -> Glidein:
    """Step 4: run glidein_startup.sh as the pilot, from its own directory, in the background."""
    name = f"{group}-{cluster}"
    log_dir = f"{PILOTS_DIR}/{name}"
    bed.run(["install", "-d", "-o", PILOT, "-g", PILOT, "-m", "700", PILOTS_DIR, log_dir])
    bed.write(f"{log_dir}/{PILOT_TOKEN_NAME}", token + "\n", mode=0o600, owner=PILOT)
    startup = staging.data["factory"]["startup"]
    args = " ".join("'" + a.replace("'", "'\\''") + "'" for a in staging.arguments(entry, group, cluster))
    script = f"cd {log_dir} && exec /bin/bash {startup} {args} >out 2>err"
    proc = subprocess.Popen(
        bed.command(["/bin/sh", "-c", script], user=PILOT),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return Glidein(name, group, entry, proc, log_dir)


def wait_for_startd(pool: Pool, glidein: Glidein, bed: Session, timeout: float = 240) -> dict:
    """The glidein's slot ad, once its startd has joined the pool."""
    deadline = time.monotonic() + timeout
    constraint = f'GLIDECLIENT_Group == "{glidein.group}"'
    while time.monotonic() < deadline:
        slots = pool.slots(constraint)
        if slots:
            return slots[0]
        if glidein.proc.poll() is not None:
            raise RuntimeError(
                f"glidein {glidein.name} exited {glidein.proc.returncode}:\n{glidein.output(bed)}"
            )
        time.sleep(2)
    raise TimeoutError(f"glidein {glidein.name}: no slot after {timeout:.0f}s\n{glidein.output(bed)[-6000:]}")


def stop_glidein(glidein: Glidein) -> None:
    if glidein.proc.poll() is None:
        glidein.proc.terminate()
        try:
            glidein.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            glidein.proc.kill()
            glidein.proc.wait()


__all__ = [
    "FRONTEND_PARAMS",
    "STEPS",
    "Glidein",
    "GlideinWMSUnavailable",
    "Staging",
    "WebServer",
    "deploy",
    "glideinwms_source",
    "merge_factory",
    "merge_frontend",
    "pilot_token",
    "start_glidein",
    "stop_glidein",
    "wait_for_startd",
]
