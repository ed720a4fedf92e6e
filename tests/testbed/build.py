"""Build the test bed root filesystem once and cache it outside the clone, keyed by its recipe.

The recipe is ``build-bed.sh`` plus the files it installs; their hash names the cache directory, so a
changed recipe builds a new bed and an unchanged one is reused (also across clones and CI runs).
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
RECIPE_FILES = ("build-bed.sh", "fake-nvidia-smi")
READY = ".gs-testbed-ready"


class TestBedUnavailable(RuntimeError):
    """The test bed cannot be built or entered on this machine (the message says why)."""


def cache_root() -> Path:
    """Where beds are cached: ``$GS_TESTBED_CACHE`` or ``$XDG_CACHE_HOME/glidein-singularity``."""
    explicit = os.environ.get("GS_TESTBED_CACHE")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "glidein-singularity"


def recipe_hash() -> str:
    """The cache key: a hash over every file of the recipe."""
    digest = hashlib.sha256()
    for name in RECIPE_FILES:
        digest.update(name.encode())
        digest.update((HERE / name).read_bytes())
    return digest.hexdigest()[:16]


def host_mirror() -> str:
    """The Debian mirror this host itself uses (never a host name written into the repository)."""
    candidates = sorted(Path("/etc/apt/sources.list.d").glob("*.sources"))
    for path in candidates:
        for line in path.read_text().splitlines():
            match = re.match(r"URIs:\s*(\S+)", line)
            if match and "security" not in match.group(1):
                return match.group(1)
    legacy = Path("/etc/apt/sources.list")
    if legacy.exists():
        for line in legacy.read_text().splitlines():
            match = re.match(r"deb\s+(?:\[[^]]*\]\s+)?(\S+)\s+\S+", line)
            if match and "security" not in match.group(1):
                return match.group(1)
    raise TestBedUnavailable("no Debian mirror found in /etc/apt/sources.list(.d); cannot debootstrap")


def check_host() -> None:
    """Fail early, with the reason, when this host cannot build or enter a bed."""
    if os.geteuid() != 0:
        raise TestBedUnavailable("the test bed needs root (debootstrap, mount namespaces, pivot_root)")
    for tool in ("unshare", "nsenter", "chroot", "mount"):
        if shutil.which(tool) is None:
            raise TestBedUnavailable(f"{tool} is not installed (util-linux/coreutils)")


def ensure_host_tools() -> None:
    """Install debootstrap, gcc and iproute2 on the host when they are missing (Debian host, as root)."""
    tools = (("debootstrap", "debootstrap"), ("gcc", "gcc"), ("ip", "iproute2"))
    missing = [pkg for tool, pkg in tools if not shutil.which(tool)]
    if not missing:
        return
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(["apt-get", "-qq", "update"], check=True, env=env)
    subprocess.run(["apt-get", "-qq", "install", "-y", *missing], check=True, env=env)


def bed_dir() -> Path:
    """The cached bed for the current recipe (it may not exist yet)."""
    return cache_root() / f"testbed-{recipe_hash()}"


#: A bed of another recipe older than this is removed after a build.
STALE_BED_SECONDS = 12 * 3600


def ensure_bed(log=sys.stderr) -> Path:
    """Return the cached bed, building it first when the recipe changed or it was never built."""
    check_host()
    ensure_host_tools()  # sessions need `ip` too, not only the build
    target = bed_dir()
    if (target / READY).exists():
        return target
    root = cache_root()
    root.mkdir(parents=True, exist_ok=True)
    with open(root / ".build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (target / READY).exists():
            return target
        staging = root / f".staging-{recipe_hash()}-{os.getpid()}"
        if staging.exists():
            shutil.rmtree(staging)
        print(f"[testbed] building {target} (about a minute)", file=log, flush=True)
        started = time.monotonic()
        proc = subprocess.run(
            [
                "unshare",
                "--mount",
                "--propagation",
                "private",
                "bash",
                str(HERE / "build-bed.sh"),
                str(staging),
                host_mirror(),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        if proc.returncode != 0:
            tail = "\n".join(proc.stdout.splitlines()[-30:])
            shutil.rmtree(staging, ignore_errors=True)
            raise TestBedUnavailable(f"building the test bed failed (exit {proc.returncode}):\n{tail}")
        (staging / READY).write_text(f"built in {time.monotonic() - started:.0f}s\n")
        if target.exists():
            shutil.rmtree(target)
        staging.rename(target)
        # Other recipes' beds may be in use by a session of another checkout right now: only those
        # left unused (not built) for half a day are removed.
        for old in root.glob("testbed-*"):
            ready = old / READY
            stale = not ready.exists() or time.time() - ready.stat().st_mtime > STALE_BED_SECONDS
            if old != target and stale:
                shutil.rmtree(old, ignore_errors=True)
        print(f"[testbed] built in {time.monotonic() - started:.0f}s", file=log, flush=True)
    return target
