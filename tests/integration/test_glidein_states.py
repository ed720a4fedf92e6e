"""The end-to-end matrix: glidein states REQUIRED, PREFERRED, NEVER (and no PID namespaces) x job kinds."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from tests.testbed import Pool, Session
from tests.testbed.scenario import DEBIAN, LAUNCH_MODES, sh_job, start_glidein_pool

IN_CONTAINER = "1000 1000 1"  # uid_map of the job's user namespace
ON_HOST = "0 0 4294967295"
PROBE = "echo UIDMAP $(cat /proc/self/uid_map); head -1 /etc/os-release"

STATES = {
    # frontend GLIDEIN_Singularity_Use x factory GLIDEIN_SINGULARITY_REQUIRE -> advertised status
    "REQUIRED": {"GLIDEIN_Singularity_Use": "REQUIRED", "GLIDEIN_SINGULARITY_REQUIRE": "OPTIONAL"},
    "PREFERRED": {"GLIDEIN_Singularity_Use": "PREFERRED", "GLIDEIN_SINGULARITY_REQUIRE": "OPTIONAL"},
    "NEVER": {"GLIDEIN_Singularity_Use": "NEVER", "GLIDEIN_SINGULARITY_REQUIRE": "OPTIONAL"},
}


@pytest.fixture(
    scope="module", params=[f"{state}-{mode}" for state in STATES for mode in sorted(LAUNCH_MODES)]
)
def state_pool(bed: Session, request: pytest.FixtureRequest) -> Iterator[tuple[str, Pool]]:
    """One glidein per state and launch mode, started from the real startup script's results."""
    state, _, mode = request.param.partition("-")
    pool, run = start_glidein_pool(bed, {**STATES[state], **LAUNCH_MODES[mode]})
    assert 0 == run.returncode, run.stderr
    assert state == run.glidein_config["GWMS_SINGULARITY_STATUS"]
    yield state, pool
    pool.stop()


def run_probe(pool: Pool, extra: str = "") -> tuple[dict, list[str]]:
    job = pool.submit(sh_job(PROBE, extra))
    ad = pool.wait(job)
    return ad, pool.output(job).splitlines()


def idle_with_reason(pool: Pool, extra: str) -> tuple[int, str]:
    """Submit a job that no slot should take; return its status after several negotiation cycles and
    the matchmaking explanation HTCondor gives for it."""
    job = pool.submit(sh_job("echo ran", extra))
    time.sleep(8)
    status = pool.ad(job)["JobStatus"]
    analysis = pool.analyze(job)
    pool.rm(job)
    return status, analysis


def test_plain_job(state_pool: tuple[str, Pool]) -> None:
    """A job without container attributes: in the default image under REQUIRED and PREFERRED, bare under
    NEVER."""
    state, pool = state_pool
    ad, out = run_probe(pool)

    assert (4, 0) == (ad["JobStatus"], ad["ExitCode"])
    if state == "NEVER":
        assert f"UIDMAP {ON_HOST}" == out[0]
    else:
        assert [f"UIDMAP {IN_CONTAINER}", 'NAME="gs-test busybox"'] == out


def test_job_image(state_pool: tuple[str, Pool]) -> None:
    """+SingularityImage runs in that image where containers work; under NEVER it stays Idle (never bare),
    and the START term says why."""
    state, pool = state_pool
    extra = f'+SingularityImage = "{DEBIAN}"\n'
    if state == "NEVER":
        status, analysis = idle_with_reason(pool, extra)

        assert 1 == status
        assert "HAS_SINGULARITY" in analysis
        assert "MY.GS_START_IMAGE" in reduced(analysis), analysis
    else:
        _, out = run_probe(pool, extra)

        assert [f"UIDMAP {IN_CONTAINER}", 'PRETTY_NAME="Debian GNU/Linux 13 (trixie)"'] == out


def test_disallowed_image_stays_idle(state_pool: tuple[str, Pool]) -> None:
    """A remote image on a slot whose restrictions allow only CVMFS never matches: Idle, with the reason."""
    _, pool = state_pool
    status, analysis = idle_with_reason(pool, '+SingularityImage = "docker://busybox:latest"\n')

    assert 1 == status
    assert "SingularityImage" in analysis
    assert "MY.GS_START_IMAGE" in reduced(analysis), analysis


def test_required_os_nobody_serves_stays_idle(state_pool: tuple[str, Pool]) -> None:
    """A REQUIRED_OS no slot serves stays Idle, and the START term names SINGULARITY_OS_LIST."""
    _, pool = state_pool
    status, analysis = idle_with_reason(pool, '+REQUIRED_OS = "rhel6"\n')

    assert 1 == status
    assert "REQUIRED_OS" in analysis
    assert "MY.GS_START_OS" in reduced(analysis), analysis


def reduced(analysis: str) -> str:
    """The conditions -better-analyze says the slot's Requirements reduce to: our terms by name."""
    return analysis.partition("reduces to these conditions")[2]
