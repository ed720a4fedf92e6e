"""The test bed itself: a real personal HTCondor pool running jobs in real unprivileged Apptainer."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.testbed import Pool, Session

from .conftest import BUSYBOX

MINIMAL_WRAPPER = f"""#!/bin/sh
# A minimal USER_JOB_WRAPPER for the bed's own test (the product's wrapper is tested elsewhere).
exec apptainer exec --userns --pid --ipc --contain --bind "$_CONDOR_SCRATCH_DIR:/srv" --pwd /srv \\
    {BUSYBOX} "$@"
"""


@pytest.fixture(scope="module")
def pool(bed: Session) -> Iterator[Pool]:
    """A personal pool whose startd runs every job through the minimal wrapper."""
    bed.write("/usr/local/libexec/minimal-wrapper", MINIMAL_WRAPPER, mode=0o755)
    pool = Pool(bed, {"50-minimal-wrapper.config": "USER_JOB_WRAPPER = /usr/local/libexec/minimal-wrapper\n"})
    pool.start()
    yield pool
    pool.stop()


def test_job_runs_in_unprivileged_container(pool: Pool) -> None:
    """A job submitted by the test user runs in a user + PID namespace and its exit code is the job's."""
    job = pool.submit(
        "executable = /bin/sh\narguments = \"-c 'cat /proc/self/uid_map; echo PS; ps -o pid,comm; exit 3'\"\n"
        "transfer_executable = false\n"
    )
    ad = pool.wait(job)
    out = pool.output(job)

    assert 4 == ad["JobStatus"], pool.diagnostics()
    assert 3 == ad["ExitCode"]
    uid_map = out.split("PS")[0].split()
    assert ["1000", "1000", "1"] == uid_map  # unprivileged: the job's uid maps to itself, nothing else
    ps_lines = out.split("PS")[1].strip().splitlines()[1:]
    commands = [line.split()[1] for line in ps_lines]
    assert "appinit" == commands[0]  # PID 1 is Apptainer's init: a new PID namespace
    assert {"appinit", "sh", "ps"} == set(commands)  # only the container's own processes are visible
