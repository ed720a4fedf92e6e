"""A plain HTCondor execution point, no GlideinWMS: our config.d snippets plus the startup script's
standalone output make it run every job in its container."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.testbed import Pool, Session
from tests.testbed import glidein as g
from tests.testbed.scenario import DEBIAN, our_snippets, sh_job

NODE_CONFIG = "/etc/condor/config.d/45-glidein-singularity-node.config"


@pytest.fixture(scope="module")
def ep(bed: Session) -> Iterator[tuple[Pool, str]]:
    """gs-setup --standalone (run as the job user, so the mode is the jobs' own), then a startd with it."""
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
        **our_snippets("50", "60", "70"),
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
