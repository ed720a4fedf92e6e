"""`explain` prints what is really executed: compared in the real pool, launch by launch, in both launch
modes (wrapper mode: the plan's command line; HTCondor mode: the starter's command as the wrapper execs
it, which explain predicts from the plan and HTCondor 23.9's order)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests.testbed import Pool, Session
from tests.testbed import glidein as g
from tests.testbed.scenario import DEBIAN, LAUNCH_MODES, sh_job, start_glidein_pool

RECORDER = "/usr/local/bin/apptainer-recorder"
LAUNCHES = "/opt/gs-launches"  # not /tmp: the starter gives each job a private /tmp
# A runtime that records each launch's argv (one per line), then runs the real apptainer (the starter
# runs it as `apptainer -s exec ...`).
RECORDER_SCRIPT = f"""#!/bin/sh
if [ "$1" = exec ] || [ "$2" = exec ]; then
    printf '%s\\n' "$@" > {LAUNCHES}/launch.$$
fi
exec /usr/bin/apptainer "$@"
"""


@pytest.fixture(scope="module", params=sorted(LAUNCH_MODES))
def pool(bed: Session, request: pytest.FixtureRequest) -> Iterator[Pool]:
    """A glidein whose runtime is the recorder (found through GLIDEIN_SINGULARITY_BINARY_OVERRIDE); once
    per launch mode."""
    bed.write(RECORDER, RECORDER_SCRIPT, mode=0o755)
    attrs = {"GLIDEIN_Singularity_Use": "REQUIRED", "GLIDEIN_SINGULARITY_BINARY_OVERRIDE": RECORDER}
    pool, run = start_glidein_pool(bed, {**attrs, **LAUNCH_MODES[request.param]}, snippets=("50", "55", "60"))
    assert 0 == run.returncode, run.stderr
    assert RECORDER == run.glidein_config["SINGULARITY_PATH"]
    pool.mode = request.param  # type: ignore[attr-defined]
    yield pool
    pool.stop()


@pytest.mark.parametrize(
    "extra",
    [
        pytest.param("", id="default-image"),
        pytest.param('+REQUIRED_OS = "rhel9"\n', id="required-os"),
        pytest.param("request_gpus = 1\n", id="gpu"),
        pytest.param(f"universe = container\ncontainer_image = {DEBIAN}\n", id="container-universe"),
    ],
)
def test_explain_matches_the_executed_argv(pool: Pool, bed: Session, extra: str) -> None:
    """For the job's own .job.ad/.machine.ad, explain's argv is exactly the argv the runtime received."""
    bed.run(["rm", "-rf", LAUNCHES])
    bed.run(["install", "-d", "-m", "1777", LAUNCHES])
    job = pool.submit(
        sh_job("cp /srv/.job.ad job.ad.copy; cp /srv/.machine.ad machine.ad.copy", extra)
        + "transfer_output_files = job.ad.copy, machine.ad.copy\n"
    )
    ad = pool.wait(job)
    assert 4 == ad["JobStatus"], pool.diagnostics()
    launches = sorted(bed.path(LAUNCHES).glob("launch.*"))
    assert 1 == len(launches)
    executed = launches[0].read_text().splitlines()
    sandbox = executed[executed.index("--home") + 1].rsplit(":", 1)[0]

    result = bed.run(
        [
            "env",
            f"PYTHONPATH={g.REPO}/src",
            "python3",
            "-m",
            "glidein_singularity.cli",
            "explain",
            "--job-ad",
            f"{job.workdir}/job.ad.copy",
            "--machine-ad",
            f"{job.workdir}/machine.ad.copy",
            "--glidein-config",
            f"{g.GLIDEIN_DIR}/glidein_config",
            "--sandbox",
            sandbox,
            "--format",
            "json",
            "--reveal-sandbox",  # the bed's starter runs as condor, the job as tuser, in a 0700 directory
            "0700",
            "--",
            "/bin/sh",
            "-c",
            "cp /srv/.job.ad job.ad.copy; cp /srv/.machine.ad machine.ad.copy",
        ],
        check=False,
    )
    plan = json.loads(result.stdout)

    assert 0 == result.returncode, result.stderr
    assert RECORDER == plan["argv"][0]
    if pool.mode == "htcondor":  # type: ignore[attr-defined]
        assert "htcondor" == plan["launch"]["mode"]
        assert executed == plan["launch"]["starter_argv"][1:]
    else:
        assert executed == plan["argv"][1:]
    if "container_image" in extra:  # the wrapper and explain both ran the container universe's image
        assert f'image "{DEBIAN}" from the job\'s ContainerImage' in plan["reasons"], plan["reasons"]
