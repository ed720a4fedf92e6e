"""The install story and explain in the real pool: `install-ep` sets up a plain EP in one command, and
`explain JOB_ID` reads the queued job from the schedd and the slots from the collector."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator

import pytest

from glidein_singularity.resources import LAUNCHERS
from tests.testbed import Pool, Session
from tests.testbed import glidein as g
from tests.testbed.scenario import CONFIG_D as REPO_CONFIG_D
from tests.testbed.scenario import sh_job

CONFIG_D = "/etc/condor/config.d"
LIBEXEC = "/usr/libexec/glidein-singularity"
ENV = {"PYTHONPATH": f"{g.REPO}/src"}  # the bed has no pip: the package is the checkout's, on the path
CLI = ["python3", "-m", "glidein_singularity"]


def _install(bed: Session) -> tuple[int, str]:
    run = bed.run(
        [
            *CLI,
            "install-ep",
            "--setup-user",
            "tuser",
            "--set",
            f"SINGULARITY_IMAGES_DICT={g.IMAGES_DICT}",
            "--set",
            "GLIDEIN_Singularity_Use=REQUIRED",
        ],
        env=ENV,
        check=False,
        timeout=180,
    )
    return run.returncode, run.stdout + run.stderr


@pytest.fixture(scope="module")
def ep(bed: Session) -> Iterator[tuple[Pool, str, str]]:
    """install-ep twice (the second run must change no file), then a pool with what it wrote."""
    first_code, first = _install(bed)
    assert 0 == first_code, first
    second_code, second = _install(bed)
    assert 0 == second_code, second
    names = sorted(path.name for path in bed.path(CONFIG_D).glob("*glidein-singularity*"))
    pool = Pool(bed, {name: bed.read(f"{CONFIG_D}/{name}") for name in names})
    pool.start()
    yield pool, first, second
    pool.stop()  # removes those config.d files again
    bed.run(["rm", "-rf", LIBEXEC])


def test_install_ep_writes_everything_and_is_idempotent(ep: tuple[Pool, str, str]) -> None:
    """One command: launchers, bundle, snippets, local settings, node settings; a re-run rewrites only
    the node settings; gs-setup ran as the job user and ended with containers ON."""
    pool, first, second = ep
    snippets = [name for name in os.listdir(REPO_CONFIG_D) if name.endswith(".config")]
    files = len(LAUNCHERS) + 1 + 1 + len(snippets)  # the launchers, the bundle, 49- and the snippets
    assert files == first.count("install-ep: wrote ")
    assert 0 == second.count("install-ep: wrote ")
    assert files == second.count("install-ep: unchanged ")
    assert "gs-setup: containers ON (REQUIRED): /usr/bin/apptainer" in second
    assert second.rstrip().endswith("install-ep: done; run condor_reconfig (or restart HTCondor) to use it")
    slot = pool.wait_for(
        lambda: (pool.slots() or [{}])[0].get("GS_HEALTHY") is not None and pool.slots()[0],
        60,
        "the health probe's first result",
    )
    assert slot["HAS_SINGULARITY"] is True
    assert "unprivileged" == slot["SINGULARITY_MODE"]  # validated as tuser, not as root
    assert slot["GS_HEALTHY"] is True


def test_explain_job_id_from_the_live_pool(ep: tuple[Pool, str, str], bed: Session) -> None:
    """`explain CLUSTER.PROC` as the user: the queued job, the pool's slots, the same words as START."""
    pool, _, _ = ep
    idle = pool.submit(sh_job("true", '+REQUIRED_OS = "rhel6"\n'))
    held = pool.submit(sh_job("true", '+REQUIRED_OS = "rhel9"\nhold = True\n'))

    run = bed.run([*CLI, "explain", f"{idle.cluster}.0"], env=ENV, user="tuser", check=False)
    assert 1 == run.returncode, run.stderr
    assert run.stdout.startswith(f"0 of {len(pool.slots())} glideins would run the job: none")
    assert (
        'why not: the job\'s REQUIRED_OS "rhel6" is not served: '
        'SINGULARITY_OS_LIST is "default,rhel9,busybox"' in (run.stdout)
    )

    run = bed.run(
        [*CLI, "explain", str(held.cluster), "--format", "json"], env=ENV, user="tuser", check=False
    )
    assert 0 == run.returncode, run.stderr
    results = json.loads(run.stdout)
    assert {f"{held.cluster}.0"} == {item["job"] for item in results}
    assert all(item["matched"] and item["plan"]["error"] is None for item in results)
    rhel9 = g.IMAGES_DICT.split("rhel9:")[1].split(",")[0]
    real = bed.run(["readlink", "-f", rhel9]).stdout.strip()  # the wrapper runs the resolved image
    assert {real} == {item["plan"]["image"] for item in results}
    assert f"note: candidates: the {len(pool.slots())} slot(s) of the pool's collector" in run.stderr

    # the same job read from condor_q -l on standard input
    ad = bed.run(["condor_q", "-l", str(held.cluster)], user="tuser").stdout
    run = bed.run(
        [*CLI, "explain", "--job-ad", "-", "--format", "json"], env=ENV, user="tuser", input=ad, check=False
    )
    assert 0 == run.returncode, run.stderr
    assert results == json.loads(run.stdout)
    pool.rm(idle)
    pool.rm(held)
