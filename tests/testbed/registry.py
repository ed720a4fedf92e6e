"""A real OCI registry on the bed's loopback (Debian's docker-registry), filled offline with umoci and
skopeo, plus a plain HTTP server for .sif files; requests are counted from their access logs."""

from __future__ import annotations

import re
import subprocess
import time

from .session import Session

ADDR = "127.0.0.1:5000"
CONFIG = "/etc/gs-registry.yml"
LOG = "/var/log/gs-registry.log"
BUSYBOX_DIR = "/cvmfs/singularity.opensciencegrid.org/gs-test/.images/busybox-1"
HTTP_PORT = 8000
HTTP_ROOT = "/srv/gs-http"
HTTP_LOG = "/var/log/gs-http.log"

_CONFIG = f"""\
version: 0.1
log:
  level: info
  accesslog:
    disabled: false
storage:
  filesystem:
    rootdirectory: /var/lib/gs-registry
  delete:
    enabled: true
http:
  addr: {ADDR}
"""


class Registry:
    """Start/stop the registry inside ``bed``; push images; count manifest and blob requests."""

    def __init__(self, bed: Session) -> None:
        self.bed = bed
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.bed.write(CONFIG, _CONFIG)
        self.bed.sh(f"mkdir -p /var/lib/gs-registry && touch {LOG}")
        self.proc = subprocess.Popen(
            self.bed.command(["/bin/sh", "-c", f"exec docker-registry serve {CONFIG} >>{LOG} 2>&1"]),
            stdin=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            probe = self.bed.run(
                ["python3", "-c", f"import urllib.request; urllib.request.urlopen('http://{ADDR}/v2/')"],
                check=False,
            )
            if probe.returncode == 0:
                return
            time.sleep(0.1)
        raise TimeoutError("the registry did not answer on " + ADDR)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None
        self.bed.run(["pkill", "-f", f"docker-registry serve {CONFIG}"], check=False)

    def push_dir(self, source: str, name: str, tag: str) -> None:
        """Push a directory tree as a one-layer image ``<ADDR>/<name>:<tag>`` (umoci + skopeo, offline)."""
        work = f"/tmp/gs-oci-{name.replace('/', '_')}-{tag}"
        self.bed.sh(
            f"""set -e
rm -rf {work} && mkdir -p {work}/rootfs
tar -C {source} --exclude=./.singularity.d --exclude=./singularity --exclude=./environment \
    --exclude=./.exec --exclude=./.run --exclude=./.shell --exclude=./.test \
    -cf - . | tar -C {work}/rootfs -xf -
cd {work}
umoci init --layout oci
umoci new --image oci:{tag}
umoci insert --rootless --image oci:{tag} rootfs /
umoci config --image oci:{tag} --config.cmd /bin/sh
skopeo copy --quiet --dest-tls-verify=false oci:oci:{tag} docker://{ADDR}/{name}:{tag}
rm -rf {work}
""",
            timeout=120,
        )

    def log(self) -> str:
        return self.bed.read(LOG)

    def blob_gets(self, name: str) -> int:
        """GET requests for blobs of repository ``name`` (each is a real download)."""
        return len(re.findall(rf'"GET /v2/{re.escape(name)}/blobs/sha256:', self.log()))

    def manifest_gets(self, name: str) -> int:
        return len(re.findall(rf'"GET /v2/{re.escape(name)}/manifests/', self.log()))


class HttpServer:
    """``python3 -m http.server`` on the bed's loopback, serving HTTP_ROOT, with its request log."""

    def __init__(self, bed: Session) -> None:
        self.bed = bed
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.bed.sh(f"mkdir -p {HTTP_ROOT} && touch {HTTP_LOG}")
        self.proc = subprocess.Popen(
            self.bed.command(
                [
                    "/bin/sh",
                    "-c",
                    f"exec python3 -m http.server --bind 127.0.0.1 --directory {HTTP_ROOT} {HTTP_PORT} "
                    f">>{HTTP_LOG} 2>&1",
                ]
            ),
            stdin=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            probe = self.bed.run(
                [
                    "python3",
                    "-c",
                    f"import urllib.request; urllib.request.urlopen('http://127.0.0.1:{HTTP_PORT}/')",
                ],
                check=False,
            )
            if probe.returncode == 0:
                return
            time.sleep(0.1)
        raise TimeoutError("the HTTP server did not answer")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None
        # nsenter forks into the bed's PID namespace: the server is its child and outlives it; a server
        # left running would answer the next module that binds the port.
        self.bed.run(["pkill", "-f", f"http.server --bind 127.0.0.1 --directory {HTTP_ROOT} "], check=False)

    def gets(self, name: str) -> int:
        return len(re.findall(rf'"GET /{re.escape(name)} ', self.bed.read(HTTP_LOG)))


__all__ = ["ADDR", "BUSYBOX_DIR", "HTTP_PORT", "HTTP_ROOT", "HttpServer", "Registry"]
