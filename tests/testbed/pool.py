"""A personal HTCondor pool inside an entered test bed, with a handle to submit and inspect jobs."""

from __future__ import annotations

import itertools
import json
import re
import time
from dataclasses import dataclass, field
from typing import Any, Iterable

from .session import Session

#: The base configuration of every pool; scenarios add their own config.d files on top.
BASE_CONFIG = """\
# glidein-singularity test bed: a personal pool on 127.0.0.1 (written by tests/testbed/pool.py)
use ROLE:Personal
CONDOR_HOST = 127.0.0.1
NETWORK_INTERFACE = 127.0.0.1
NUM_CPUS = 2
SEC_DEFAULT_AUTHENTICATION_METHODS = FS
ALLOW_WRITE = *
ALLOW_READ = *
ALLOW_ADMINISTRATOR = *
ALLOW_NEGOTIATOR = *
# Fast matchmaking for tests (measured: 2-7 s to first start instead of 16-20 s).
NEGOTIATOR_INTERVAL = 2
NEGOTIATOR_MIN_INTERVAL = 1
NEGOTIATOR_CYCLE_DELAY = 1
SCHEDD_INTERVAL = 2
UPDATE_INTERVAL = 5
STARTER_UPDATE_INTERVAL = 2
SHADOW_QUEUE_UPDATE_INTERVAL = 2
STARTD_CRON_AUTOPUBLISH = If_Changed
# Per-job timing for the benchmarks.
DEFAULT_USERLOG_FORMAT_OPTIONS = ISO_DATE, SUB_SECOND
STARTER_DEBUG = D_PID D_SUB_SECOND
# Two fake NVIDIA GPUs in one partitionable slot: a job gets a GPU only when it asks for one.
MACHINE_RESOURCE_GPUs = CUDA0, CUDA1
NUM_SLOTS_TYPE_1 = 1
SLOT_TYPE_1 = 100%
SLOT_TYPE_1_PARTITIONABLE = True
# A requeued job must be able to start again right away in tests.
SYSTEM_PERIODIC_RELEASE = False
"""

TERMINAL = {3: "removed", 4: "completed", 5: "held"}
_JOB_NUMBERS = itertools.count(1)


@dataclass
class Job:
    """One submitted cluster (single proc) and what the pool says about it."""

    cluster: int
    workdir: str
    ad: dict[str, Any] = field(default_factory=dict)

    @property
    def status(self) -> int:
        return int(self.ad.get("JobStatus", 0))


class Pool:
    """Start, use and stop a personal HTCondor inside ``session``."""

    def __init__(self, session: Session, configs: dict[str, str] | None = None) -> None:
        self.s = session
        self.configs = dict(configs or {})

    # -- lifecycle -------------------------------------------------------------------------------
    def write_config(self, name: str, text: str) -> None:
        """Add or replace one config.d file (takes effect at start or reconfig)."""
        self.configs[name] = text
        self.s.write(f"/etc/condor/config.d/{name}", text)

    def start(self, timeout: float = 90, wait_slots: bool = True) -> None:
        """Start condor_master and wait until the schedd answers and (``wait_slots``) the startd advertises
        slots."""
        self.s.write("/etc/condor/config.d/00-gs-testbed.config", BASE_CONFIG)
        for name, text in self.configs.items():
            self.s.write(f"/etc/condor/config.d/{name}", text)
        # Each pool starts from an empty queue, empty logs and no leftover sandboxes.
        self.s.sh("rm -rf /var/lib/condor/spool /var/lib/condor/execute /var/log/condor")
        self.s.sh(
            "mkdir -p /var/run/condor /var/log/condor /var/lock/condor /var/lib/condor/execute "
            "/var/lib/condor/spool && chown -R condor:condor /var/run/condor /var/log/condor "
            "/var/lock/condor /var/lib/condor && chmod 755 /var/lib/condor/execute"
        )
        self.s.run(["condor_master"])
        self.wait_for(
            lambda: (self.slots() or not wait_slots) and self._schedd_up(), timeout, "the pool to come up"
        )

    def _schedd_up(self) -> bool:
        return self.s.run(["condor_q", "-totals"], check=False, timeout=20).returncode == 0

    def reconfig(self) -> None:
        """Apply changed config.d files to all daemons."""
        self.s.run(["condor_reconfig"], timeout=30)

    def stop(self) -> None:
        """Stop the daemons, wait until they are gone, and remove this pool's config.d files."""
        self.s.run(["condor_off", "-master", "-fast"], check=False, timeout=30)
        try:
            self.wait_for(self._no_daemons, 30, "the condor daemons to exit", interval=0.3)
        except TimeoutError:
            # Whatever is left (a daemon stuck in shutdown, a job's processes) must not leak into the
            # next pool.
            self.s.run(["pkill", "-9", "-f", "condor_"], check=False)
            self.wait_for(self._no_daemons, 30, "the condor daemons to die", interval=0.3)
        for name in self.configs:
            self.s.path(f"/etc/condor/config.d/{name}").unlink(missing_ok=True)

    def _no_daemons(self) -> bool:
        return self.s.run(["pgrep", "-f", "condor_master"], check=False).returncode != 0

    # -- inspection ------------------------------------------------------------------------------
    def slots(self, constraint: str = "true") -> list[dict[str, Any]]:
        """The startd slot ads, as dicts."""
        out = self.s.run(["condor_status", "-json", "-constraint", constraint], check=False, timeout=30)
        if out.returncode != 0 or not out.stdout.strip():
            return []
        return json.loads(out.stdout)

    def log(self, name: str) -> str:
        """A daemon log (e.g. ``StarterLog``) as text, '' when missing."""
        text = ""
        for path in sorted(self.s.path("/var/log/condor").glob(name + "*")):
            text += path.read_text(errors="replace")
        return text

    def diagnostics(self) -> str:
        """The daemon logs' tails, for failure messages."""
        parts = []
        for name in ("MasterLog", "SchedLog", "StartLog", "StarterLog", "ShadowLog", "NegotiatorLog"):
            tail = "\n".join(self.log(name).splitlines()[-25:])
            parts.append(f"--- {name} ---\n{tail}")
        return "\n".join(parts)

    @staticmethod
    def wait_for(predicate, timeout: float, what: str, interval: float = 0.5):
        """Poll ``predicate`` until truthy; raise TimeoutError naming ``what``."""
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() > deadline:
                raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")
            time.sleep(interval)

    # -- jobs ------------------------------------------------------------------------------------
    def submit(
        self, submit: str, user: str = "tuser", files: dict[str, str] | None = None, count: int = 1
    ) -> Job:
        """Submit a job description (``queue`` is added) from a fresh directory owned by ``user``."""
        # Unique in the whole session: pools come and go in one bed, and a reused directory would
        # append to an earlier job's user log.
        workdir = f"/home/{user}/job{next(_JOB_NUMBERS)}"
        self.s.run(["install", "-d", "-o", user, "-g", user, workdir])
        for name, text in (files or {}).items():
            self.s.write(f"{workdir}/{name}", text, mode=0o755, owner=user)
        body = submit.rstrip() + "\n"
        for key in ("output", "error", "log"):
            if not re.search(rf"^\s*{key}\s*=", body, re.M | re.I):
                body += (
                    f"{key} = {'job.' + ('out' if key == 'output' else 'err' if key == 'error' else 'log')}\n"
                )
        if not re.search(r"^\s*should_transfer_files\s*=", body, re.M | re.I):
            # Like a glidein: the job runs in its own scratch sandbox, never in the submit directory.
            body += "should_transfer_files = YES\nwhen_to_transfer_output = ON_EXIT\n"
        body += f"queue {count}\n"
        self.s.write(f"{workdir}/job.sub", body, owner=user)
        out = self.s.run(["condor_submit", "-terse", "job.sub"], user=user, cwd=workdir, timeout=60)
        cluster = int(out.stdout.strip().split(".")[0])
        return Job(cluster=cluster, workdir=workdir)

    def ad(self, job: Job) -> dict[str, Any]:
        """The job's current ad (queue first, then history)."""
        for cmd in (
            ["condor_q", "-json", str(job.cluster)],
            ["condor_history", "-json", "-limit", "1", str(job.cluster)],
        ):
            out = self.s.run(cmd, check=False, timeout=30)
            if out.returncode == 0 and out.stdout.strip():
                ads = json.loads(out.stdout)
                if ads:
                    job.ad = ads[0]
                    return job.ad
        return job.ad

    def wait(self, job: Job, statuses: Iterable[int] = (3, 4), timeout: float = 120) -> dict[str, Any]:
        """Wait until the job reaches one of ``statuses`` (default: left the queue); return its ad."""
        wanted = set(statuses)

        def reached():
            ad = self.ad(job)
            return ad if ad and int(ad.get("JobStatus", 0)) in wanted else None

        try:
            return self.wait_for(reached, timeout, f"job {job.cluster} to reach status {sorted(wanted)}")
        except TimeoutError as exc:
            raise TimeoutError(
                f"{exc}; last ad status={job.ad.get('JobStatus')}\n{self.diagnostics()}"
            ) from None

    def wait_attr(
        self, job: Job, predicate, timeout: float = 120, what: str = "a condition"
    ) -> dict[str, Any]:
        """Wait until ``predicate(ad)`` holds for the job's ad."""

        def check():
            ad = self.ad(job)
            return ad if ad and predicate(ad) else None

        return self.wait_for(check, timeout, f"job {job.cluster}: {what}")

    def output(self, job: Job, name: str = "job.out") -> str:
        """A file from the job's submit directory (its stdout by default)."""
        return self.s.read(f"{job.workdir}/{name}")

    def userlog(self, job: Job) -> str:
        return self.output(job, "job.log")

    def rm(self, job: Job, user: str = "tuser") -> None:
        self.s.run(["condor_rm", str(job.cluster)], user=user, timeout=30)

    def analyze(self, job: Job) -> str:
        """HTCondor's own matchmaking explanation for the job against the pool's first slot (START terms)."""
        slots = self.slots()
        name = slots[0]["Name"] if slots else "slot1"
        return self.q("-better-analyze", "-reverse", "-machine", name, str(job.cluster))

    def q(self, *args: str) -> str:
        return self.s.run(["condor_q", *args], check=False, timeout=30).stdout


def quote_args(argv: Iterable[str]) -> str:
    """Submit-file ``arguments`` in the new syntax."""
    return (
        '"' + " ".join("'" + a.replace("'", "''") + "'" if (" " in a or "'" in a) else a for a in argv) + '"'
    )


__all__ = ["BASE_CONFIG", "Job", "Pool", "quote_args"]
