"""GlideinWMS's own glidein_startup.sh, deployed as docs/deploy-factory.md says, in the bed's pool.

One deployment per module: the site of tests/data/real_glidein/site.yaml is rendered, shipped with
``bundle --ship``, staged by GlideinWMS's creation code and served on 127.0.0.1; four real glideins
(groups ``required``, ``preferred``, ``never`` and ``htcondor``, the last in HTCondor launch mode, on
entry ``gs_entry``, which allows ``rhel9,debian13``) start in parallel against one pool (collector,
negotiator, schedd). Jobs are submitted by the test user and steered to a glidein by its
``GLIDECLIENT_Group``.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.testbed import Job, Pool, Session
from tests.testbed import real_glidein as rg

IMAGES = "/cvmfs/singularity.opensciencegrid.org/gs-test"
BUSYBOX = f"{IMAGES}/busybox:latest"
GROUPS = ("required", "preferred", "never", "htcondor")
PERIOD = 10  # GS_HEALTH_PERIOD in the site's factory attributes


@dataclass
class Site:
    bed: Session
    pool: Pool
    glideins: dict[str, rg.Glidein]
    slots: dict[str, dict]
    token: str


def _kill_pilots(bed: Session) -> None:
    """Stop every process of the pilot user in the bed (all started by this module), by pid."""
    for sig in ("TERM", "KILL"):
        pids = bed.run(["ps", "-u", rg.PILOT, "-o", "pid="], check=False).stdout.split()
        if not pids:
            return
        bed.run(["kill", f"-{sig}", *pids], check=False)
        time.sleep(2)


@pytest.fixture(scope="module")
def site(bed: Session) -> Iterator[Site]:
    """The deployment and three running glideins (fails under CI=true without GlideinWMS's source)."""
    try:
        gwms = rg.glideinwms_source()
    except rg.GlideinWMSUnavailable as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true and GlideinWMS's source is unavailable: {exc}", pytrace=False)
        pytest.skip(str(exc))
    work = Path(tempfile.mkdtemp(prefix="gs-real-glidein-"))
    staging = rg.deploy(bed, gwms, work)
    web = rg.WebServer(bed)
    pool = Pool(bed, {"10-gs-real-glidein.config": rg.POOL_CONFIG})
    pool.start(wait_slots=False)
    glideins: dict[str, rg.Glidein] = {}
    try:
        token = rg.pilot_token(bed)
        for number, group in enumerate(GROUPS, 1):
            glideins[group] = rg.start_glidein(bed, staging, token, group, "gs_entry", number)
        slots = {group: rg.wait_for_startd(pool, glidein, bed) for group, glidein in glideins.items()}
        yield Site(bed, pool, glideins, slots, token)
    finally:
        _kill_pilots(bed)
        for glidein in glideins.values():
            rg.stop_glidein(glidein)  # reap the nsenter that started it
        pool.stop()
        web.stop()


def sh_job(script: str, group: str, extra: str = "") -> str:
    """A /bin/sh job steered to the glidein of ``group``."""
    quoted = script.replace("'", "''").replace('"', '""')
    return (
        f"executable = /bin/sh\narguments = \"-c '{quoted}'\"\ntransfer_executable = false\n"
        f'requirements = (TARGET.GLIDECLIENT_Group == "{group}")\n{extra}'
    )


def slot(site: Site, group: str) -> dict:
    return site.pool.slots(f'GLIDECLIENT_Group == "{group}"')[0]


def stays_idle(site: Site, job: Job, seconds: float) -> dict:
    """The job's ad after ``seconds`` of negotiation cycles, asserting it never started."""
    time.sleep(seconds)
    ad = site.pool.ad(job)
    assert (1, 0) == (ad["JobStatus"], ad.get("NumJobStarts", 0)), ad
    return ad


# --- what each glidein advertises ------------------------------------------------------------------


def test_required_glidein_keeps_the_entry_os_and_installs_start_and_health(site: Site) -> None:
    """REQUIRED: containers validated; the entry's GLIDEIN_REQUIRED_OS survives GlideinWMS's
    singularity_setup.sh (which writes any) and bounds the OS list; our START term and health probe
    run in the glidein's HTCondor."""
    ad = site.slots["required"]
    assert (True, "REQUIRED", "unprivileged") == (
        ad["HAS_SINGULARITY"],
        ad["GWMS_SINGULARITY_STATUS"],
        ad["SINGULARITY_MODE"],
    )
    assert ("rhel9,debian13", "rhel9,debian13") == (ad["GLIDEIN_REQUIRED_OS"], ad["SINGULARITY_OS_LIST"])
    # START names our terms; each is a slot attribute (the health and OS-list checks among them)
    assert (True, True, True) == (
        "MY.GS_START_OS" in str(ad["START"]),
        "GS_HEALTHY" in str(ad["GS_START_IMAGE"]),
        "SINGULARITY_OS_LIST" in str(ad["GS_START_OS"]),
    )
    health = site.pool.wait_for(
        lambda: slot(site, "required").get("GS_HEALTH_CHECKED") and slot(site, "required"),
        3 * PERIOD + 20,
        "the health probe's first report",
    )
    assert health["GS_HEALTHY"] is True, health.get("GS_HEALTH_REASON")


def test_preferred_and_never_glideins(site: Site) -> None:
    """PREFERRED: containers on, the missing rhel8 image not served (a warning, not a failure); NEVER:
    no containers."""
    preferred, never = site.slots["preferred"], site.slots["never"]
    assert (True, "PREFERRED", "rhel9") == (
        preferred["HAS_SINGULARITY"],
        preferred["GWMS_SINGULARITY_STATUS"],
        preferred.get("SINGULARITY_OS_LIST"),
    ), preferred.get("GS_HEALTH_REASON")
    assert (False, "NEVER") == (never["HAS_SINGULARITY"], never["GWMS_SINGULARITY_STATUS"])
    out = site.glideins["preferred"].output(site.bed)
    assert (True, True) == ("missing-el8:latest" in out, "does not exist on this node" in out)


def test_broken_runtime_drains_the_slot_and_loses_no_job(site: Site) -> None:
    """Break the runtime after start: the probe takes the slot out of matchmaking (HAS_SINGULARITY and
    GS_HEALTHY false); a job that hit it is requeued, not lost; after repair it completes exactly once."""
    bed = site.bed

    def health(value: bool) -> dict:
        last: dict = {}

        def reached() -> dict | None:
            last.update(slot(site, "required"))
            return dict(last) if last.get("GS_HEALTHY") is value else None

        try:
            return site.pool.wait_for(
                reached, 3 * PERIOD + 30, f"GS_HEALTHY == {value} on the required glidein"
            )
        except TimeoutError as exc:
            glidein = site.glideins["required"]
            listing = bed.run(["ls", "-laR", glidein.log_dir], check=False).stdout[-3000:]
            raise TimeoutError(
                f"{exc}: {last.get('GS_HEALTH_REASON')}\nglidein exit: {glidein.proc.poll()}\n"
                f"{glidein.output(bed)[-3000:]}\n{listing}\n{glidein.ended(bed)}\n{glidein.condor_logs(bed)}"
            ) from None

    assert site.glideins["required"].proc.poll() is None, site.glideins["required"].output(bed)[-3000:]
    health(True)
    with bed.broken_runtime():
        job = site.pool.submit(sh_job("echo ran", "required"))
        broken = health(False)
        time.sleep(PERIOD)
        during = site.pool.ad(job)
    health(True)
    final = site.pool.wait(job, timeout=150)

    assert (False, False) == (broken["HAS_SINGULARITY"], broken["GS_HEALTHY"])
    assert "injected runtime fault" in broken["GS_HEALTH_REASON"]
    assert during["JobStatus"] != 4  # never completed on the broken node
    assert (4, 0, "ran") == (final["JobStatus"], final["ExitCode"], site.pool.output(job).strip())


# --- jobs ---------------------------------------------------------------------------------------------


def test_jobs_run_in_containers_where_used_and_plain_on_never(site: Site) -> None:
    """A plain job runs in the default container on the REQUIRED and PREFERRED glideins, unprivileged,
    and without a container on the NEVER glidein."""
    probe = 'echo "container=${APPTAINER_CONTAINER:-none}"; cat /proc/self/uid_map | tr -s " "'
    jobs = {group: site.pool.submit(sh_job(probe, group)) for group in GROUPS}
    ads = {group: site.pool.wait(job, timeout=120) for group, job in jobs.items()}
    outs = {group: site.pool.output(job) for group, job in jobs.items()}

    assert all((4, 0) == (ad["JobStatus"], ad["ExitCode"]) for ad in ads.values()), ads
    assert "container=/cvmfs/singularity.opensciencegrid.org/gs-test/.images/debian-13" in outs["required"]
    # The entry allows rhel9,debian13 only: the group's "default" (busybox) is not used, rhel9 is.
    assert "container=/cvmfs/singularity.opensciencegrid.org/gs-test/.images/debian-13" in outs["preferred"]
    assert "container=none" in outs["never"]
    assert "1001 1001 1" in outs["required"]  # unprivileged: the pilot's uid, not root


def test_required_os_meets_the_entry_os(site: Site) -> None:
    """+REQUIRED_OS is intersected with the entry's GLIDEIN_REQUIRED_OS: rhel8,debian13 runs in the
    debian13 image; rhel8 alone, which the entry does not allow, is kept Idle by START."""
    both = site.pool.submit(
        sh_job('echo "container=$APPTAINER_CONTAINER"', "required", '+REQUIRED_OS = "rhel8,debian13"\n')
    )
    refused = site.pool.submit(sh_job("echo ran", "required", '+REQUIRED_OS = "rhel8"\n'))
    ad = site.pool.wait(both, timeout=120)
    stays_idle(site, refused, 10)
    analysis = site.pool.q(
        "-better-analyze", "-reverse", "-machine", slot(site, "required")["Name"], str(refused.cluster)
    )
    site.pool.rm(refused)

    assert (4, 0) == (ad["JobStatus"], ad["ExitCode"])
    assert "container=/cvmfs/singularity.opensciencegrid.org/gs-test/.images/debian-13" in site.pool.output(
        both
    )
    assert "START" in analysis


def test_image_job_kept_idle_where_containers_cannot_run(site: Site) -> None:
    """A +SingularityImage job steered to the NEVER glidein never starts there (START), and runs on the
    PREFERRED one in that image."""
    image = f'+SingularityImage = "{BUSYBOX}"\n'
    idle = site.pool.submit(sh_job("echo ran", "never", image))
    ran = site.pool.submit(sh_job('echo "container=$APPTAINER_CONTAINER"', "preferred", image))
    ad = site.pool.wait(ran, timeout=120)
    stays_idle(site, idle, 10)
    site.pool.rm(idle)

    assert (4, 0) == (ad["JobStatus"], ad["ExitCode"])
    assert ".images/busybox-1" in site.pool.output(ran)


def test_container_universe_job_runs_once_in_the_image_it_names(site: Site) -> None:
    """The shipped container-universe snippet is installed: the REQUIRED glidein advertises HasContainer
    (as condor_status evaluates it) but no HasDockerURL under the cvmfs restriction, and a
    ``universe = container`` job with a CVMFS image runs once, in that image, without nesting."""
    facts = site.bed.run(
        [
            "condor_status", "-constraint", 'GLIDECLIENT_Group == "required"',
            "-af", "HasContainer", "HasSandboxImage", "HasDockerURL", "HasSingularity",
        ],
        timeout=30,
    ).stdout.split()  # fmt: skip
    assert ["true", "true", "false", "undefined"] == facts
    job = site.pool.submit(
        sh_job(
            'echo "container=$APPTAINER_CONTAINER"; ls -d /.singularity.d',
            "required",
            f"universe = container\ncontainer_image = {BUSYBOX}\n",
        )
    )
    ad = site.pool.wait(job, timeout=120)
    out = site.pool.output(job)

    assert (4, 0, 1) == (ad["JobStatus"], ad["ExitCode"], ad["NumJobStarts"]), out
    # the runtime names the image it resolved: the tag's link target
    image = site.bed.run(["readlink", "-f", BUSYBOX]).stdout.strip()
    assert f"container={image}" in out, out


def test_missing_image_is_held_never_run(site: Site) -> None:
    """A job naming an image that does not exist is held by the prepare-job hook (the job's own mistake:
    hold subcode 190, the reason names the image), never run without it and never Completed."""
    image = f"{IMAGES}/missing:1"
    job = site.pool.submit(sh_job("echo payload ran", "required", f'+SingularityImage = "{image}"\n'))
    ad = site.pool.wait_attr(job, lambda a: a["JobStatus"] in (4, 5), timeout=120, what="held")
    site.pool.rm(job)
    out = site.bed.path(f"{job.workdir}/job.out")

    assert (5, 190) == (ad["JobStatus"], ad.get("HoldReasonSubCode")), ad.get("HoldReason")
    assert image in ad["HoldReason"]
    assert not out.exists() or "payload ran" not in out.read_text()


def test_pilot_credential_and_glidein_dir_unreachable(site: Site) -> None:
    """The job runs as the pilot's uid, but in its container: the glidein's work dir, the pilot's start
    dir and its IDTOKEN are not there."""
    glidein = site.glideins["required"]
    work_dir = glidein.work_dir(site.bed)
    assert work_dir.startswith(f"{glidein.log_dir}/glide_"), work_dir
    token = rg.PILOT_TOKEN_NAME
    script = (
        f"ls {work_dir} 2>&1; ls {glidein.log_dir} 2>&1; cat {glidein.log_dir}/{token} 2>&1; "
        f"cat {work_dir}/cred.d/idtokens/{token} 2>&1; "
        "cat /proc/1/environ 2>&1 | tr '\\0' '\\n' | grep -c TOKEN; "
        "echo done"
    )
    job = site.pool.submit(sh_job(script, "required"))
    ad = site.pool.wait(job, timeout=120)
    out = site.pool.output(job)

    assert (4, 0) == (ad["JobStatus"], ad["ExitCode"]), out
    assert out.count("No such file or directory") >= 4, out
    assert (False, False) == (site.token in out, site.token.split(".")[0] in out)
    assert out.rstrip().endswith("done")


def test_htcondor_launch_mode_in_a_real_glidein(site: Site) -> None:
    """GLIDEIN_SINGULARITY_USE_HTCONDOR from the frontend group: the knobs reach the glidein's HTCondor
    through GlideinWMS's condor vars, the starter launches the job's container from our plan (our container
    facts win over what HTCondor's own probe says), and condor_ssh_to_job's shell lands in that container,
    beside the job's own processes."""
    from .test_standalone_ep import SSH_ON_PTY

    ad = site.slots["htcondor"]
    assert (True, True, "REQUIRED") == (
        ad["GS_USE_HTCONDOR"],
        ad["HAS_SINGULARITY"],
        ad["GWMS_SINGULARITY_STATUS"],
    )
    facts = site.pool.s.run(
        [
            "condor_status",
            "-af",
            "HasContainer",
            "HasDockerURL",
            "-constraint",
            'GLIDECLIENT_Group == "htcondor"',
        ]
    ).stdout.split()
    assert ["true", "false"] == facts  # ours, not HTCondor's probe's (its HasDockerURL is true)
    job = site.pool.submit(sh_job("sleep 120", "htcondor", 'environment = "GS_SSH_MARK=in-glidein"\n'))
    site.pool.wait(job, statuses=(2,), timeout=120)
    script = (
        'echo GS-BEGIN; echo "$APPTAINER_CONTAINER"; pwd; echo mark=$GS_SSH_MARK; '
        "cat /proc/self/uid_map | tr -s ' '; cat /proc/[0-9]*/comm; echo GS-END"
    ).replace("GS-", 'GS""-')
    session = site.bed.run(
        ["python3", "-c", SSH_ON_PTY, f"{job.cluster}.0", script], user="tuser", check=False, timeout=90
    )
    site.pool.rm(job)
    text = session.stdout.replace("\r", "")
    inside = text.split("GS-BEGIN\n")[-1].split("GS-END")[0].splitlines()

    assert [f"{IMAGES}/.images/debian-13", "/srv", "mark=in-glidein"] == inside[:3], text
    assert inside[3].strip().startswith("1001 1001 1"), text  # unprivileged: the pilot's uid
    assert "sleep" in " ".join(inside[4:]), text
