"""The security review's escape classes, in the real pool: a REQUIRED glidein whose pilot proxy lies
world-readable in its directory (the worst case), our wrapper and prepare-job hook as deployed.

- class 1: a V1 ``Env`` with a letter as ``EnvDelim`` (set with condor_qedit, as a job owner can) hides
  ``APPTAINER_BIND``, ``SINGULARITY_DISABLE_PID_NAMESPACES``, ``GS_GLIDEIN_CONFIG`` and ``LD_PRELOAD``;
- class 2: ``initialdir`` = the glidein directory with ``should_transfer_files = NO``;
- class 3 / 3b: ``BASH_ENV`` (under a ``#!/bin/bash``, ``#!/bin/sh`` and bash-as-sh wrapper header) and
  a ``getenv``-style ``LD_LIBRARY_PATH``;
- class 4: a job whose own image does not exist.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.testbed import Pool, Session
from tests.testbed import glidein as g
from tests.testbed.scenario import LAUNCH_MODES, sh_job, start_glidein_pool

SECRET = "PILOT-SECRET-7c1d"
SECRET_RE = "PILOT-SECRE[T]-7c1d"
PILOT_PROXY = f"{g.GLIDEIN_DIR}/x509_pilot"
MARKER = f"{g.GLIDEIN_DIR}/failures"
WRAPPER = f"{g.GLIDEIN_DIR}/condor_job_wrapper.sh"
PROBE = (
    "if [ -e /host/etc ]; then echo HOSTROOT=yes; else echo HOSTROOT=no; fi; "
    f"if grep -rqs {SECRET_RE} /host{g.GLIDEIN_DIR} {g.GLIDEIN_DIR} /srv; "
    "then echo SECRET=yes; else echo SECRET=no; fi; "
    'echo "PID1=`cat /proc/1/comm`"; echo "LDLP=${LD_LIBRARY_PATH-unset}"; echo "PRELOAD=${LD_PRELOAD-unset}"'
)


@pytest.fixture(scope="module", params=sorted(LAUNCH_MODES))
def pool(bed: Session, request: pytest.FixtureRequest) -> Iterator[Pool]:
    """A REQUIRED glidein with a world-readable pilot proxy and a failure marker; once per launch mode."""
    attrs = {
        "GLIDEIN_Singularity_Use": "REQUIRED",
        "GS_FAILURE_MARKER": MARKER,
        **LAUNCH_MODES[request.param],
    }
    pool, run = start_glidein_pool(bed, attrs)
    assert 0 == run.returncode, run.stderr
    bed.write(PILOT_PROXY, f"{SECRET}\n", mode=0o644, owner=g.PILOT)
    yield pool
    pool.stop()


def out_of(pool: Pool, job) -> dict[str, str]:
    return dict(line.partition("=")[::2] for line in pool.output(job).splitlines() if "=" in line)


def test_v1_env_with_a_letter_delimiter_steers_nothing(pool: Pool, bed: Session) -> None:
    """The review's example: Environment = undefined, EnvDelim = "Z" and an Env hiding the runtime's bind
    of the host root, PID namespaces off, a job-written glidein_config and a loader library. The job
    still runs in its container, with --pid, the host root and the pilot proxy out of reach."""
    job = pool.submit(
        sh_job(PROBE, "hold = true\n"), files={"evil_config": "GLIDEIN_SINGULARITY_BINDPATH /:/host\n"}
    )
    hidden = "Z".join(
        [
            "FOOQ=1",
            "APPTAINER_BIND=/:/host",
            "SINGULARITY_BIND=/:/host",
            "SINGULARITY_DISABLE_PID_NAMESPACES=1",
            f"GS_GLIDEIN_CONFIG={job.workdir}/evil_config",
            "LD_PRELOAD=/nonexistent/evil.so",
        ]
    )
    bed.run(
        [
            "condor_qedit",
            str(job.cluster),
            "Environment",
            "undefined",
            "EnvDelim",
            '"Z"',
            "Env",
            f'"{hidden}"',
        ],
        user="tuser",
    )
    bed.run(["condor_release", str(job.cluster)], user="tuser")
    ad = pool.wait(job)
    assert (4, 0) == (ad["JobStatus"], ad.get("ExitCode")), pool.output(job, "job.err") + pool.diagnostics()
    out = out_of(pool, job)
    assert {"HOSTROOT": "no", "SECRET": "no", "PID1": "appinit", "PRELOAD": "/nonexistent/evil.so"} == {
        key: out[key] for key in ("HOSTROOT", "SECRET", "PID1", "PRELOAD")
    }


def test_job_started_in_the_glidein_directory_is_held(pool: Pool, bed: Session) -> None:
    """initialdir = the glidein directory with should_transfer_files = NO: held by the prepare-job hook
    with a reason that says what to do; the job never ran and never saw the pilot's proxy."""
    files = "".join(f"{key} = /tmp/gs-iwd.{key}\n" for key in ("output", "error", "log"))
    job = pool.submit(sh_job(PROBE, f"should_transfer_files = NO\ninitialdir = {g.GLIDEIN_DIR}\n{files}"))
    ad = pool.wait(job, statuses=(5,), timeout=120)
    reason = ad.get("HoldReason", "")
    assert "should_transfer_files = NO" in reason, reason
    assert "GS_SHARED_FS_ROOTS" in reason, reason
    assert (19, 190) == (ad.get("HoldReasonCode"), ad.get("HoldReasonSubCode"))
    assert "" == bed.read("/tmp/gs-iwd.output") if bed.path("/tmp/gs-iwd.output").exists() else True
    pool.rm(job)


def test_jobs_own_missing_image_is_held_without_node_penalty(pool: Pool, bed: Session) -> None:
    """A job naming an image that does not exist in a reachable repository is held at once with the
    image in the reason; the node's failure marker is not touched, and the slot stays healthy."""
    missing = f"{g.CVMFS_IMAGES}/does-not-exist:1"
    job = pool.submit(sh_job("echo ran", f'+SingularityImage = "{missing}"\n'))
    ad = pool.wait(job, statuses=(5,), timeout=120)
    assert missing in ad.get("HoldReason", ""), ad.get("HoldReason")
    assert (19, 190) == (ad.get("HoldReasonCode"), ad.get("HoldReasonSubCode"))
    assert not bed.path(MARKER).exists()
    pool.rm(job)


def test_getenv_loader_path_runs_and_reaches_the_job(pool: Pool) -> None:
    """A cmsenv-style job (LD_LIBRARY_PATH in its environment) runs in its container and sees its own
    LD_LIBRARY_PATH there; the wrapper's own programs never loaded with it (the hook moved it)."""
    job = pool.submit(sh_job(PROBE, 'environment = "LD_LIBRARY_PATH=/opt/cms/lib FOO=1"\n'))
    ad = pool.wait(job)
    assert (4, 0) == (ad["JobStatus"], ad.get("ExitCode")), pool.output(job, "job.err")
    out = out_of(pool, job)
    # Apptainer appends its own library directory
    assert ("/opt/cms/lib", "appinit") == (out["LDLP"].split(":")[0], out["PID1"])


@pytest.mark.parametrize("header", ["#!/bin/bash", "#!/bin/sh", "#!/opt/bash-as-sh/sh"])
def test_shell_start_up_variables_never_run_on_the_host(pool: Pool, bed: Session, header: str) -> None:
    """BASH_ENV, ENV and an exported function in the job's environment: under a bash, dash or
    bash-as-sh header of condor_job_wrapper.sh nothing of them runs on the host; the job runs."""
    bed.run(["mkdir", "-p", "/opt/bash-as-sh"])
    bed.run(["ln", "-sf", "/bin/bash", "/opt/bash-as-sh/sh"])
    text = bed.read(WRAPPER)
    bed.write(WRAPPER, header + "\n" + text.split("\n", 1)[1], mode=0o755, owner=g.PILOT)
    pwned = "/tmp/gs-pwned"
    bed.run(["rm", "-f", pwned])
    evil = f"touch {pwned}\n"
    environment = 'environment = "BASH_ENV=#CoNdOrScRaTcHdIr#/evil.sh ENV=#CoNdOrScRaTcHdIr#/evil.sh"\n'
    job = pool.submit(
        sh_job("echo ran", environment + "transfer_input_files = evil.sh\n"), files={"evil.sh": evil}
    )
    ad = pool.wait(job)
    bed.write(WRAPPER, text, mode=0o755, owner=g.PILOT)
    assert (4, 0) == (ad["JobStatus"], ad.get("ExitCode")), pool.output(job, "job.err")
    assert "ran\n" == pool.output(job)
    assert not bed.path(pwned).exists()
