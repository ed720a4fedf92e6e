"""Enter the test bed: a private mount + PID namespace rooted (pivot_root, not chroot) in the bed.

A small init process holds the namespaces; every command runs in them through ``nsenter``. The bed's
cached root filesystem is the lower layer of an overlay, so a session never changes the cache, and
killing the init kills every process started inside (condor daemons included): nothing outlives the
session, whatever happens to the test.

From the host, the bed's files are reachable as ``/proc/<init pid>/root/...`` (see ``Session.path``).
"""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Mapping, Sequence

# Runs on the host as PID 1 of the new PID namespace, before and after pivot_root.
# It prepares the root, pivots, reports readiness on fd 1 and then reaps orphans until killed.
_INIT = r"""
set -eu
bed=$1 upper=$2 repo=$3
root=$upper/merged
mkdir -p "$upper/upper" "$upper/work" "$root"
mount -t proc proc /proc
# Own network namespace: only a loopback, so pools of concurrent sessions never meet (nor the host's).
ip link set lo up
mount -t overlay overlay -o "lowerdir=$bed,upperdir=$upper/upper,workdir=$upper/work" "$root"
mount -t proc proc "$root/proc"
# No resolver is reachable from the private network namespace: names resolve from /etc/hosts only.
printf '127.0.0.1 localhost %s\n::1 localhost ip6-localhost\n' "$(hostname)" >"$root/etc/hosts"
: >"$root/etc/resolv.conf"
mount --rbind /sys "$root/sys"
# A private /dev: the host's basic nodes bound in, fake GPU nodes created here (never in the host's /dev).
mount -t tmpfs -o mode=755,nosuid devtmp "$root/dev"
for n in null zero full random urandom tty; do
    touch "$root/dev/$n"; mount --bind "/dev/$n" "$root/dev/$n"
done
mkdir -p "$root/dev/pts" "$root/dev/shm" "$root/dev/mqueue"
# gid=5 (tty): sshd (condor_ssh_to_job) chowns its pty to that group.
mount -t devpts -o newinstance,ptmxmode=0666,mode=620,gid=5 devpts "$root/dev/pts"
ln -s pts/ptmx "$root/dev/ptmx"
mount -t tmpfs -o mode=1777 shm "$root/dev/shm"
ln -s /proc/self/fd "$root/dev/fd"
for i in 0:stdin 1:stdout 2:stderr; do ln -s "/proc/self/fd/${i%%:*}" "$root/dev/${i#*:}"; done
mknod -m 666 "$root/dev/nvidia0" c 195 0
mknod -m 666 "$root/dev/nvidia1" c 195 1
mknod -m 666 "$root/dev/nvidiactl" c 195 255
# FUSE for SIF images (squashfuse), in this private /dev only: never the host's.
mknod -m 666 "$root/dev/fuse" c 10 229
mount -t tmpfs -o mode=1777 tmp "$root/tmp"
mkdir -p "$root/opt/glidein-singularity"
mount --bind "$repo" "$root/opt/glidein-singularity"
mount -o remount,bind,ro "$root/opt/glidein-singularity"
cd "$root"
mkdir -p .oldroot
pivot_root . .oldroot
umount -l /.oldroot
rmdir /.oldroot
cd /
echo ready
exec /usr/bin/python3 -c '
import os, signal, time
signal.signal(signal.SIGTERM, lambda *a: os._exit(0))
while True:
    try:
        os.waitpid(-1, 0)
    except ChildProcessError:
        time.sleep(0.2)
'
"""

_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """Make the namespace holder die when the process that started it dies (no stray beds)."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


class Session:
    """A running, entered test bed. Use as a context manager; ``close()`` kills everything inside."""

    def __init__(self, bed: Path, repo: Path) -> None:
        self.bed = bed
        self.repo = repo
        self.scratch = Path(tempfile.mkdtemp(prefix="gs-bed-"))
        self._proc: subprocess.Popen[str] | None = None
        self._init_log = Path(tempfile.mkdtemp(prefix="gs-bed-log-")) / "init.err"
        self.pid = 0

    # -- lifecycle -------------------------------------------------------------------------------
    def start(self) -> Session:
        errlog = self._init_log.open("w")
        self._proc = subprocess.Popen(
            [
                "unshare",
                "--mount",
                "--pid",
                "--net",
                "--fork",
                "--kill-child",
                "--propagation",
                "private",
                "sh",
                "-c",
                _INIT,
                "init",
                str(self.bed),
                str(self.scratch),
                str(self.repo),
            ],
            stdout=subprocess.PIPE,
            stderr=errlog,
            text=True,
            preexec_fn=_die_with_parent,
        )
        errlog.close()
        assert self._proc.stdout is not None
        line = self._proc.stdout.readline().strip()
        self._proc.stdout.close()
        if line != "ready":
            err = self._init_log.read_text()
            self.close()
            raise RuntimeError(f"entering the test bed failed: {line!r} {err.strip()}")
        self.pid = self._find_init()
        return self

    def _find_init(self) -> int:
        assert self._proc is not None
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            children = Path(f"/proc/{self._proc.pid}/task/{self._proc.pid}/children").read_text().split()
            if children:
                return int(children[0])
            time.sleep(0.01)
        raise RuntimeError("the test bed's init process did not appear")

    def close(self) -> None:
        """Kill the init (and so every process in the bed's PID namespace) and drop the overlay."""
        if self._proc is not None:
            if self._proc.poll() is None:
                self._proc.send_signal(signal.SIGTERM)
                try:
                    self._proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    self._proc.kill()
                    self._proc.wait()
            self._proc = None
        shutil.rmtree(self.scratch, ignore_errors=True)
        shutil.rmtree(self._init_log.parent, ignore_errors=True)

    def __enter__(self) -> Session:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- using it --------------------------------------------------------------------------------
    def path(self, inside: str) -> Path:
        """The host path of a file inside the bed (through /proc/<init>/root)."""
        return Path(f"/proc/{self.pid}/root") / inside.lstrip("/")

    def command(self, argv: Sequence[str], user: str | None = None, cwd: str = "/") -> list[str]:
        """The host argv that runs ``argv`` inside the bed (as ``user`` when given)."""
        inner = list(argv)
        if user:
            inner = [
                "setpriv",
                f"--reuid={user}",
                f"--regid={user}",
                "--init-groups",
                "--reset-env",
                "--",
                *inner,
            ]
        return [
            "nsenter",
            f"--target={self.pid}",
            "--mount",
            "--pid",
            "--net",
            "--root",
            f"--wdns={cwd}",
            "--",
            "/usr/bin/env",
            "-i",
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "LANG=C.UTF-8",
            *(["HOME=/home/" + user, "USER=" + user] if user else ["HOME=/root"]),
            *inner,
        ]

    def run(
        self,
        argv: Sequence[str],
        user: str | None = None,
        check: bool = True,
        timeout: float = 120,
        env: Mapping[str, str] | None = None,
        input: str | None = None,
        cwd: str = "/",
    ) -> subprocess.CompletedProcess[str]:
        """Run a command inside the bed and return its result (stdout/stderr as text)."""
        full = list(argv)
        if env:
            full = ["env", *[f"{k}={v}" for k, v in env.items()], *full]
        proc = subprocess.run(
            self.command(full, user=user, cwd=cwd),
            capture_output=True,
            text=True,
            timeout=timeout,
            input=input,
        )
        if check and proc.returncode != 0:
            raise subprocess.CalledProcessError(proc.returncode, list(argv), proc.stdout, proc.stderr)
        return proc

    def sh(self, script: str, user: str | None = None, check: bool = True, timeout: float = 120):
        """Run a POSIX sh script inside the bed."""
        return self.run(["/bin/sh", "-c", script], user=user, check=check, timeout=timeout)

    def write(self, inside: str, text: str, mode: int = 0o644, owner: str | None = None) -> None:
        """Write a file inside the bed."""
        host = self.path(inside)
        host.parent.mkdir(parents=True, exist_ok=True)
        host.write_text(text)
        os.chmod(host, mode)
        if owner:
            self.run(["chown", owner, inside])

    def read(self, inside: str) -> str:
        """Read a file inside the bed."""
        return self.path(inside).read_text(errors="replace")

    @contextmanager
    def broken_runtime(self, message: str = "injected runtime fault") -> Iterator[None]:
        """The bed's apptainer fails every command (``FATAL:   <message>``, exit 1) until the block ends."""
        self.run(["cp", "-p", "/usr/bin/apptainer", "/usr/bin/apptainer.real"])
        try:
            self.write(
                "/usr/bin/apptainer", f"#!/bin/sh\necho 'FATAL:   {message}' >&2\nexit 1\n", mode=0o755
            )
            yield
        finally:
            self.run(["mv", "-f", "/usr/bin/apptainer.real", "/usr/bin/apptainer"])
