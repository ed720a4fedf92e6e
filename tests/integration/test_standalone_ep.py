"""A plain HTCondor execution point, no GlideinWMS: our config.d snippets plus the startup script's
standalone output make it run every job in its container."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.testbed import Pool, Session
from tests.testbed import glidein as g
from tests.testbed.scenario import DEBIAN, our_snippets, sh_job

NODE_CONFIG = "/etc/condor/config.d/45-glidein-singularity-node.config"


#: Launch modes: the job wrapper starts the container, or HTCondor's starter does from our plan.
MODES = {"wrapper": [], "htcondor": ["--set", "GLIDEIN_SINGULARITY_USE_HTCONDOR=True"]}

#: Runs condor_ssh_to_job on a pty (without a terminal the session ends at once), types a script, and
#: prints what the session printed.
SSH_ON_PTY = r"""
import os, pty, select, signal, sys, time
pid, fd = pty.fork()
if pid == 0:
    os.execvp("condor_ssh_to_job", ["condor_ssh_to_job", "-auto-retry", sys.argv[1]])
out, sent, left, probed, heard, start = b"", False, False, 0.0, 0.0, time.monotonic()
while time.monotonic() - start < 60:
    if select.select([fd], [], [], 0.3)[0]:
        try:
            data = os.read(fd, 4096)
        except OSError:
            break
        if not data:
            break
        out += data
        heard = time.monotonic()
        # busybox's line editor asks the terminal where the cursor is; answer as a terminal does, or it
        # takes the next typed characters for the answer
        for _ in range(data.count(b"\x1b[6n")):
            os.write(fd, b"\x1b[1;1R")
    now = time.monotonic()
    if sent:
        # Leave only once the script's last line has come back: HTCondor 23.9 relays the container's
        # shell through condor_docker_enter, and output still in flight when the shell exits is lost.
        if not left and b"GS-END" in out:
            os.write(fd, b"exit\n")
            left = True
        continue
    if b"GS-READY" in out:
        # A shell answers. Probes typed while the session was connecting may still be queued: wait
        # until the shell has been quiet for a second (each queued probe prints, and its prompt's
        # cursor question has been answered), so nothing ahead of the script can be taken for a
        # cursor answer by the line editor; then type the script.
        if now - heard > 1.0:
            os.write(fd, sys.argv[2].encode() + b"\n")
            sent = True
    elif now - probed > 2:  # until a shell answers (the session may still be connecting)
        os.write(fd, b"echo GS''-READY\n")
        probed = now
else:
    os.kill(pid, signal.SIGKILL)
os.waitpid(pid, 0)
sys.stdout.write(out.decode(errors="replace"))
"""


@pytest.fixture(scope="module", params=sorted(MODES))
def ep(bed: Session, request: pytest.FixtureRequest) -> Iterator[tuple[Pool, str]]:
    """gs-setup --standalone (run as the job user, so the mode is the jobs' own), then a startd with it;
    once per launch mode."""
    bed.run(["install", "-d", "-o", "tuser", "/opt/ep"])
    run = bed.run(
        [
            f"{g.REPO}/glidein_scripts/gs-setup",
            "--standalone",
            "--config-out",
            "/opt/ep/node.config",
            "--set",
            f"SINGULARITY_IMAGES_DICT={g.IMAGES_DICT}",
            "--set",
            "GLIDEIN_Singularity_Use=REQUIRED",
            *MODES[request.param],
        ],
        user="tuser",
        cwd="/opt/ep",
        check=False,
    )
    assert 0 == run.returncode, run.stderr
    node_config = bed.read("/opt/ep/node.config")
    configs = {
        "45-glidein-singularity-node.config": node_config,
        "49-gs-local.config": f"GS_LIBEXEC = {g.REPO}/glidein_scripts\nGS_NODE_CONFIG = {NODE_CONFIG}\n",
        **our_snippets("50", "55", "60", "70"),
    }
    pool = Pool(bed, configs)
    pool.start()
    yield pool, node_config
    pool.stop()


def test_standalone_config_advertises_the_glideinwms_set(ep: tuple[Pool, str]) -> None:
    """The config.d file sets the same attributes a glidein advertises, and the slot ad carries them."""
    pool, node_config = ep
    slot = pool.wait_for(
        lambda: (pool.slots() or [{}])[0].get("GS_HEALTHY") is not None and pool.slots()[0],
        60,
        "the health probe's first result",
    )

    assert "STARTD_ATTRS = $(STARTD_ATTRS)" in node_config
    assert slot["HAS_SINGULARITY"] is True
    assert "REQUIRED" == slot["GWMS_SINGULARITY_STATUS"]
    assert "unprivileged" == slot["SINGULARITY_MODE"]
    assert "default,rhel9,busybox" == slot["SINGULARITY_OS_LIST"]
    assert slot["GS_HEALTHY"] is True


def test_standalone_ep_runs_jobs_in_containers(ep: tuple[Pool, str]) -> None:
    """Plain, REQUIRED_OS and image jobs run in their containers on the plain EP."""
    pool, _ = ep
    probe = "echo $(cat /proc/self/uid_map); head -1 /etc/os-release"
    jobs = {
        "plain": pool.submit(sh_job(probe)),
        "rhel9": pool.submit(sh_job(probe, '+REQUIRED_OS = "rhel9"\n')),
        "image": pool.submit(sh_job(probe, f'+SingularityImage = "{DEBIAN}"\n')),
    }
    outputs = {
        name: (pool.wait(job)["ExitCode"], pool.output(job).splitlines()) for name, job in jobs.items()
    }

    assert {
        "plain": (0, ["1000 1000 1", 'NAME="gs-test busybox"']),
        "rhel9": (0, ["1000 1000 1", 'PRETTY_NAME="Debian GNU/Linux 13 (trixie)"']),
        "image": (0, ["1000 1000 1", 'PRETTY_NAME="Debian GNU/Linux 13 (trixie)"']),
    } == outputs


def _mode(node_config: str) -> str:
    return "htcondor" if "GS_USE_HTCONDOR = True" in node_config else "wrapper"


def test_standalone_mode_is_configured(ep: tuple[Pool, str]) -> None:
    """HTCondor mode writes the starter's SINGULARITY_* configuration; wrapper mode writes none."""
    pool, node_config = ep
    slot = pool.slots()[0]
    starter = "SINGULARITY_IMAGE_EXPR = TARGET.GS_ContainerImage" in node_config
    if _mode(node_config) == "htcondor":
        assert (True, True) == (starter, slot.get("GS_USE_HTCONDOR"))
        assert "SINGULARITY = /usr/bin/apptainer" in node_config
        assert "SINGULARITY_RUN_TEST_BEFORE_JOB = false" in node_config
    else:
        assert (False, None) == (starter, slot.get("GS_USE_HTCONDOR"))


def test_standalone_bad_image_is_held(ep: tuple[Pool, str]) -> None:
    """A job naming an image the node does not have is held with a reason that names the image."""
    pool, _ = ep
    missing = f"{g.CVMFS_IMAGES}/does-not-exist:1"
    job = pool.submit(sh_job("true", f'+SingularityImage = "{missing}"\n'))
    ad = pool.wait(job, statuses=(5,), timeout=90)
    pool.rm(job)

    assert (19, 190) == (ad["HoldReasonCode"], ad["HoldReasonSubCode"])
    assert missing in ad["HoldReason"]


def test_standalone_ssh_to_job(ep: tuple[Pool, str]) -> None:
    """HTCondor mode: condor_ssh_to_job's shell is in the job's container (its image, its processes
    only, /srv, its environment). Wrapper mode: the user is told which mode supports it."""
    pool, node_config = ep
    job = pool.submit(sh_job("sleep 300", 'environment = "GS_SSH_MARK=from-the-job"\n'))
    pool.wait(job, statuses=(2,), timeout=90)
    script = (
        "echo GS-BEGIN; head -1 /etc/os-release; pwd; echo mark=$GS_SSH_MARK; "
        "ps -o comm= 2>/dev/null || ps; echo GS-END"
    ).replace("GS-", 'GS""-')
    session = bed_of(pool).run(
        ["python3", "-c", SSH_ON_PTY, f"{job.cluster}.0", script], user="tuser", check=False, timeout=90
    )
    pool.rm(job)
    text = session.stdout.replace("\r", "")

    if _mode(node_config) == "htcondor":
        inside = text.split("GS-BEGIN\n")[-1].split("GS-END")[0].splitlines()
        assert ['NAME="gs-test busybox"', "/srv", "mark=from-the-job"] == inside[:3], text
        processes = " ".join(inside[3:])
        assert "sleep" in processes, text
        assert "condor_" not in processes, text
        assert "sshd" not in processes, text
    else:
        assert "condor_ssh_to_job cannot enter the container of this job in wrapper mode" in text, text
        assert "GLIDEIN_SINGULARITY_USE_HTCONDOR=True" in text, text


def bed_of(pool: Pool) -> Session:
    return pool.s
