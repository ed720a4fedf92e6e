"""A claim that reaches a static slot just after our START terms turned false, in the real startd.

HTCondor 23.9's static slot checks START only after entering Claimed, and if START is false then it
frees the claim it is still accepting and dies with SIGSEGV (HTCONDOR-3033, fixed in 24.9); in a
glidein the master then ends the whole glidein. Our terms do turn false at run time (the health probe
publishes GS_HEALTHY false), and the negotiator matches on the ad the collector last received. This
module makes that window deterministic: a startd cron publishes GS_HEALTHY to the startd only (no
collector update), so the collector keeps the healthy ad while the startd's own START is false for
every job on this REQUIRED slot.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from tests.testbed import Pool, Session
from tests.testbed.scenario import our_snippets

FLAG = "/opt/gs-claim-race/healthy"
CRON = "/opt/gs-claim-race/health.sh"
CONFIG = f"""\
# A static slot, as in a GlideinWMS glidein with one slot (the pool's default is partitionable).
NUM_SLOTS_TYPE_1 = 1
SLOT_TYPE_1_PARTITIONABLE = False
MACHINE_RESOURCE_GPUs =
# As in a glidein: the slot never goes to Owner, so START turning false sends no state-change update.
IS_OWNER = False
# What gs-setup advertises on a REQUIRED slot where containers work.
HAS_SINGULARITY = true
GWMS_SINGULARITY_STATUS = "REQUIRED"
SINGULARITY_MODE = "unprivileged"
STARTD_ATTRS = $(STARTD_ATTRS) HAS_SINGULARITY GWMS_SINGULARITY_STATUS SINGULARITY_MODE
# The probe's verdict, from a file, published to the startd's own ad only: no collector update.
STARTD_CRON_AUTOPUBLISH = Never
UPDATE_INTERVAL = 3600
STARTD_CRON_JOBLIST = $(STARTD_CRON_JOBLIST) FLAG
STARTD_CRON_FLAG_EXECUTABLE = {CRON}
STARTD_CRON_FLAG_PERIOD = 1
STARTD_CRON_FLAG_MODE = Periodic
"""


@pytest.fixture(scope="module")
def pool(bed: Session) -> Iterator[Pool]:
    bed.run(["install", "-d", "-m", "755", "/opt/gs-claim-race"])
    bed.write(FLAG, "true\n")
    bed.write(CRON, f'#!/bin/sh\necho "GS_HEALTHY = $(cat {FLAG})"\n', mode=0o755)
    pool = Pool(bed, {"45-gs-claim-race.config": CONFIG, **our_snippets("60")})
    pool.start()
    yield pool
    pool.stop()


def startd_pid(bed: Session) -> str:
    return bed.run(["pgrep", "-x", "condor_startd"], check=False).stdout.strip()


def startd_own(pool: Pool, bed: Session, *attrs: str) -> list[str]:
    """Attributes of the slot as the startd itself has them now (queried at its address, not the
    collector's copy)."""
    address = pool.slots()[0]["MyAddress"]
    out = bed.run(["condor_status", "-direct", address, "-af", *attrs], check=False)
    return out.stdout.split()


def test_a_claim_the_startd_would_now_refuse_keeps_the_startd_alive_and_loses_no_job(
    pool: Pool, bed: Session
) -> None:
    """The collector still says healthy, the startd already says unhealthy: the claim is accepted (the
    health facts are waived only in that instant), the job runs once, and the startd lives on."""
    pool.wait_for(lambda: pool.slots("GS_HEALTHY =?= true"), 30, "the collector to get GS_HEALTHY = true")
    before = startd_pid(bed)
    bed.write(FLAG, "false\n")

    pool.wait_for(
        lambda: startd_own(pool, bed, "GS_HEALTHY") == ["false"],
        30,
        "the startd's own ad to say GS_HEALTHY = false",
    )
    assert pool.slots("GS_HEALTHY =?= true"), "the collector must still hold the healthy ad"

    job = pool.submit("executable = /bin/echo\narguments = ran\n")
    ad = pool.wait(job, timeout=60)

    crashes = re.findall(r"died due to signal \d+.*", pool.log("MasterLog"))
    assert ([], before) == (crashes, startd_pid(bed)), pool.diagnostics()
    assert (4, 0, 1) == (ad["JobStatus"], ad["ExitCode"], ad["NumJobStarts"])
    assert "ran" == pool.output(job).strip()
    # Once the claim is over, our terms apply again: the startd's START is false for the next job.
    pool.wait_for(lambda: startd_own(pool, bed, "State") == ["Unclaimed"], 60, "the claim to be released")
