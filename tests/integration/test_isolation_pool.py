"""Isolation as WLCG multi-user pilots expect it, shown in the real pool (reference §6)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.testbed import Pool, Session
from tests.testbed import glidein as g
from tests.testbed.scenario import LAUNCH_MODES, sh_job, start_glidein_pool

PILOT_PROXY = f"{g.GLIDEIN_DIR}/x509_pilot_proxy"


@pytest.fixture(scope="module", params=sorted(LAUNCH_MODES))
def pool(bed: Session, request: pytest.FixtureRequest) -> Iterator[Pool]:
    """A REQUIRED glidein with a pilot proxy in its work dir, readable by anyone on the host; per mode."""
    pool, run = start_glidein_pool(
        bed, {"GLIDEIN_Singularity_Use": "REQUIRED", **LAUNCH_MODES[request.param]}
    )
    assert 0 == run.returncode, run.stderr
    bed.write(PILOT_PROXY, "-----BEGIN PILOT PROXY (test secret)-----\n", mode=0o644, owner=g.PILOT)
    yield pool
    pool.stop()


@pytest.fixture
def neighbour(pool: Pool, bed: Session) -> Iterator[str]:
    """Another job running at the same time, with a secret in its sandbox; yields its host sandbox path."""
    job = pool.submit(sh_job("echo neighbour-secret > secret.txt; sleep 120"))
    pool.wait_attr(job, lambda ad: ad["JobStatus"] == 2, timeout=60, what="running")

    def sandbox() -> str | None:
        out = bed.sh("grep -l neighbour-secret /var/lib/condor/execute/dir_*/secret.txt", check=False).stdout
        return out.strip().rsplit("/", 1)[0] if out.strip() else None

    path = pool.wait_for(sandbox, 30, "the neighbour's secret file")
    yield path
    pool.rm(job)


def test_cannot_see_other_jobs_or_the_pilot(pool: Pool, neighbour: str) -> None:
    """PID namespace: a job sees only its own processes, neither the neighbour's sleep nor the startd,
    starter or master."""
    job = pool.submit(sh_job("ps -o comm"))
    ad = pool.wait(job)
    seen = pool.output(job).split()[1:]

    assert 4 == ad["JobStatus"]
    assert {"appinit", "sh", "ps"} >= set(seen)
    assert not any(name.startswith("condor") or name == "sleep" for name in seen)


def test_cannot_read_other_sandboxes_or_glidein_files(pool: Pool, neighbour: str) -> None:
    """Mount namespace: the neighbour's sandbox, the execute dir and the glidein's own files (its config
    and a world-readable pilot proxy) are not there inside the container."""
    probe = " ; ".join(
        f"cat {path} >/dev/null 2>&1 && echo READ {path} || echo DENIED {path}"
        for path in (f"{neighbour}/secret.txt", PILOT_PROXY, f"{g.GLIDEIN_DIR}/glidein_config")
    )
    job = pool.submit(
        sh_job(probe + "; ls /var/lib/condor/execute >/dev/null 2>&1 && echo LISTED || echo NOEXEC")
    )
    pool.wait(job)
    out = pool.output(job).splitlines()

    assert [
        f"DENIED {neighbour}/secret.txt",
        f"DENIED {PILOT_PROXY}",
        f"DENIED {g.GLIDEIN_DIR}/glidein_config",
        "NOEXEC",
    ] == out


def test_pilot_secrets_not_in_the_environment(pool: Pool) -> None:
    """The pilot's proxy reaches the job neither as a file nor through its environment."""
    job = pool.submit(sh_job("env"))
    pool.wait(job)
    env = pool.output(job)

    assert "x509_pilot_proxy" not in env
    assert "X509_USER_PROXY" not in env


def test_own_ipc_and_pid_namespaces(pool: Pool, bed: Session) -> None:
    """The job's IPC and PID namespaces differ from the starter's (the host side)."""
    job = pool.submit(sh_job("readlink /proc/self/ns/ipc; readlink /proc/self/ns/pid"))
    pool.wait(job)
    inside = pool.output(job).split()
    host = bed.run(["readlink", "/proc/self/ns/ipc", "/proc/self/ns/pid"]).stdout.split()

    assert 2 == len(inside)
    assert inside[0] != host[0]
    assert inside[1] != host[1]
