"""The health probe in the real pool, and faults injected after the pool is up: nothing is lost."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from tests.testbed import Job, Pool, Session
from tests.testbed import glidein as g
from tests.testbed.scenario import IMAGES, LAUNCH_MODES, sh_job, start_glidein_pool

PERIOD = 4  # seconds between probe runs in these tests (GS_HEALTH_PERIOD)
MARKER_DIR = "/opt/gs-state"
MARKER = f"{MARKER_DIR}/wrapper-failures"
HEALTH = f"""\
GS_HEALTH_PERIOD = {PERIOD}
GS_HEALTH_TIMEOUT = 20
GS_GLIDEIN_CONFIG = {g.GLIDEIN_DIR}/glidein_config
GS_FAILURE_MARKER = {MARKER}
GS_HEALTH_MAX_FAILURES = 2
GS_HEALTH_FAILURE_HOLD = 10
"""


@pytest.fixture(scope="module", params=sorted(LAUNCH_MODES))
def pool(bed: Session, request: pytest.FixtureRequest) -> Iterator[Pool]:
    """A REQUIRED glidein with the wrapper, the START term and the health probe every few seconds; once
    per launch mode."""
    bed.run(["install", "-d", "-m", "1777", MARKER_DIR])
    pool, run = start_glidein_pool(
        bed,
        {"GLIDEIN_Singularity_Use": "REQUIRED", "GS_FAILURE_MARKER": MARKER, **LAUNCH_MODES[request.param]},
        snippets=("50", "60", "70"),
        extra_config=HEALTH,
    )
    assert 0 == run.returncode, run.stderr
    yield pool
    pool.stop()


def slot(pool: Pool) -> dict:
    """The partitionable slot's ad."""
    ads = pool.slots("PartitionableSlot =?= true")
    return ads[0] if ads else {}


def wait_health(pool: Pool, healthy: bool, timeout: float) -> tuple[dict, float]:
    """Wait until the slot advertises GS_HEALTHY == healthy; return the ad and the seconds it took."""
    started = time.monotonic()
    ad = pool.wait_for(
        lambda: (lambda a: a if a.get("GS_HEALTHY") is healthy else None)(slot(pool)),
        timeout,
        f"GS_HEALTHY to become {healthy}",
        interval=0.5,
    )
    return ad, time.monotonic() - started


def completed_once(pool: Pool, jobs: list[Job]) -> list[tuple[int, int, int]]:
    """(status, exit code, terminate events in the user log) per job."""
    out = []
    for job in jobs:
        ad = pool.ad(job)
        log = pool.userlog(job).splitlines()
        terminated = sum(line.startswith("005 (") for line in log)  # terminate events
        out.append((ad.get("JobStatus"), ad.get("ExitCode"), terminated))
    return out


def test_probe_publishes_health(pool: Pool) -> None:
    """Every slot ad carries the probe's result: healthy, containers on, a reason and a timestamp."""
    ad, _ = wait_health(pool, True, 60)

    assert ad["HAS_SINGULARITY"] is True
    assert isinstance(ad["GS_HEALTH_CHECKED"], int)
    assert ad["GS_HEALTH_REASON"]
    assert 0 == ad["GS_CONSECUTIVE_FAILURES"]


def test_broken_runtime_stops_matching_loses_nothing_and_recovers(pool: Pool, bed: Session) -> None:
    """Break the runtime: within one period the slot stops taking container jobs; jobs that hit the broken
    runtime go back to Idle; after repair every job completes exactly once."""
    wait_health(pool, True, 60)
    jobs: list[Job] = []
    with bed.broken_runtime():
        jobs = [pool.submit(sh_job("echo ran")) for _ in range(3)]  # some may reach the broken runtime
        ad, took = wait_health(pool, False, 3 * PERIOD + 10)
        time.sleep(2 * PERIOD)  # jobs keep trying to match while the runtime is broken
        during = completed_once(pool, jobs)
        late = pool.submit(sh_job("echo ran"))
        time.sleep(PERIOD)
        late_status = pool.ad(late).get("JobStatus")
    wait_health(pool, True, 3 * PERIOD + 10)
    finals = [pool.wait(job, timeout=120) for job in [*jobs, late]]

    assert ad["HAS_SINGULARITY"] is False
    assert "injected runtime fault" in ad["GS_HEALTH_REASON"]
    assert took <= 2 * PERIOD + 10  # one period, plus the collector update and slack for 2 busy cores
    assert all(status != 4 for status, _, _ in during), during  # nothing completed on the broken node
    assert 1 == late_status  # a new container job stays Idle while the slot is unhealthy
    assert [(4, 0, 1)] * 4 == completed_once(pool, [*jobs, late])
    assert all("ran" == pool.output(job).strip() for job in [*jobs, late])
    assert all(ad["ExitCode"] == 0 for ad in finals)


def test_image_outage_stops_matching_and_recovers(pool: Pool, bed: Session) -> None:
    """The default image disappears (a CVMFS outage stand-in): jobs wait Idle, then all complete once."""
    wait_health(pool, True, 60)
    image = f"{IMAGES}/.images/busybox-1"
    bed.run(["mv", image, image + ".away"])
    try:
        jobs = [pool.submit(sh_job("echo ran")) for _ in range(2)]
        ad, _ = wait_health(pool, False, 3 * PERIOD + 10)
        time.sleep(PERIOD)
        during = completed_once(pool, jobs)
    finally:
        bed.run(["mv", image + ".away", image])
    # Jobs that matched before the probe noticed were refused by the wrapper; those failures may have
    # quarantined the slot for GS_HEALTH_FAILURE_HOLD (10 s here) on top of the probe's own checks.
    wait_health(pool, True, 3 * PERIOD + 20)
    for job in jobs:
        pool.wait(job, timeout=120)

    assert "busybox" in ad["GS_HEALTH_REASON"]
    assert all(status != 4 for status, _, _ in during), during
    assert [(4, 0, 1)] * 2 == completed_once(pool, jobs)


def test_repeated_wrapper_failures_quarantine_the_slot(pool: Pool, bed: Session) -> None:
    """Black-hole protection: after GS_HEALTH_MAX_FAILURES pre-start failures in a row the slot stops
    matching, with the count and the reason published."""
    wait_health(pool, True, 60)
    # the node lost the image (a CVMFS link to nothing): a node-side failure, counted
    bed.run(["ln", "-sfn", ".images/gone", f"{IMAGES}/dangling:1"])
    job = pool.submit(sh_job("echo ran", f'+SingularityImage = "{IMAGES}/dangling:1"\n'))
    try:
        ad, _ = wait_health(pool, False, 60)
    finally:
        pool.rm(job)
        bed.run(["rm", "-f", MARKER, f"{IMAGES}/dangling:1"])

    assert ad["GS_CONSECUTIVE_FAILURES"] >= 2
    assert ad["HAS_SINGULARITY"] is False
    assert "wrapper" in ad["GS_HEALTH_REASON"]
