"""The job wrapper in the real pool: every job runs in its own unprivileged container, chosen by policy."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.testbed import Pool, Session
from tests.testbed.scenario import DEBIAN, IMAGES, LAUNCH_MODES, sh_job, start_glidein_pool

PROBE = (
    "head -1 /etc/os-release; echo UIDMAP $(cat /proc/self/uid_map); echo PID1 $(cat /proc/1/comm); "
    "echo HOME=$HOME PWD=$PWD; echo CUDA=${CUDA_VISIBLE_DEVICES-unset}; "
    "echo LIBS $(ls /.singularity.d/libs); "
    "nvidia-smi >/dev/null 2>&1 && echo NVSMI yes || echo NVSMI no"
)


@pytest.fixture(scope="module", params=sorted(LAUNCH_MODES))
def pool(bed: Session, request: pytest.FixtureRequest) -> Iterator[Pool]:
    """A glidein whose frontend REQUIRES containers, with our wrapper and START term; once per mode."""
    attrs = {"GLIDEIN_Singularity_Use": "REQUIRED", "GS_SHARED_FS_ROOTS": "/home/tuser"}
    pool, run = start_glidein_pool(bed, {**attrs, **LAUNCH_MODES[request.param]})
    assert 0 == run.returncode, run.stderr
    pool.mode = request.param  # type: ignore[attr-defined]
    yield pool
    pool.stop()


def probe(pool: Pool, extra: str = "") -> dict[str, str]:
    """Run the probe job and return its output as {key: rest of line} (first line under OS)."""
    job = pool.submit(sh_job(PROBE, extra))
    ad = pool.wait(job)
    assert (4, 0) == (ad["JobStatus"], ad.get("ExitCode")), pool.output(job, "job.err") + pool.diagnostics()
    lines = pool.output(job).splitlines()
    out = {"OS": lines[0]}
    for line in lines[1:]:
        key, _, rest = line.partition(" ") if not line.startswith(("HOME=", "CUDA=")) else line.partition("=")
        out[key] = rest
    return out


def test_default_image_in_unprivileged_container(pool: Pool) -> None:
    """A job with no container attributes runs in the dictionary's default image (busybox, only /bin/sh),
    in a user namespace, with Apptainer's init as PID 1, HOME and cwd at /srv."""
    out = probe(pool)

    assert 'NAME="gs-test busybox"' == out["OS"]
    assert "1000 1000 1" == out["UIDMAP"]
    assert "appinit" == out["PID1"]
    assert "/srv PWD=/srv" == out["HOME"]
    # who launched the container: the starter (HTCondor mode) or our wrapper
    starter_launched = " to exec /usr/bin/apptainer -s exec " in pool.log("StarterLog")
    assert (pool.mode == "htcondor") == starter_launched  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("required_os", "expected_os"),
    [
        pytest.param("rhel9", 'PRETTY_NAME="Debian GNU/Linux 13 (trixie)"', id="rhel9-debian-image"),
        pytest.param("busybox", 'NAME="gs-test busybox"', id="busybox-image"),
        pytest.param(
            "rhel7,rhel9", 'PRETTY_NAME="Debian GNU/Linux 13 (trixie)"', id="first-served-in-job-order"
        ),
    ],
)
def test_required_os_chooses_the_image(pool: Pool, required_os: str, expected_os: str) -> None:
    """+REQUIRED_OS picks the image from SINGULARITY_IMAGES_DICT, in the job's order of preference."""
    out = probe(pool, f'+REQUIRED_OS = "{required_os}"\n')

    assert expected_os == out["OS"]


def test_job_image_wins(pool: Pool) -> None:
    """+SingularityImage names the image, over REQUIRED_OS and the default."""
    out = probe(pool, f'+SingularityImage = "{DEBIAN}"\n+REQUIRED_OS = "busybox"\n')

    assert 'PRETTY_NAME="Debian GNU/Linux 13 (trixie)"' == out["OS"]


def test_gpu_job_sees_its_gpu_and_driver(pool: Pool) -> None:
    """A job with request_gpus gets --nv: the fake driver's libraries and nvidia-smi, and exactly its GPU."""
    out = probe(pool, "request_gpus = 1\n")

    assert out["CUDA"] in ("CUDA0", "CUDA1")
    assert "libcuda.so.1 libnvidia-ml.so.1" == out["LIBS"]
    assert "yes" == out["NVSMI"]


def test_non_gpu_job_sees_no_gpu(pool: Pool) -> None:
    """A job without GPUs on a GPU machine gets no --nv: no driver libraries, no nvidia-smi."""
    out = probe(pool)

    assert "" == out["LIBS"]
    assert "no" == out["NVSMI"]
    assert out["CUDA"] in ("unset", "10000", "-1", "")


def test_exit_code_is_the_jobs(pool: Pool) -> None:
    """The payload's exit code is recorded as the job's, through apptainer."""
    job = pool.submit(sh_job("exit 3"))
    ad = pool.wait(job)

    assert (4, 3, False) == (ad["JobStatus"], ad["ExitCode"], ad["ExitBySignal"])


def test_signal_in_pid_namespace_is_128_plus_n(pool: Pool) -> None:
    """In a PID namespace a payload killed by signal N ends with exit code 128+N: the container's init
    cannot die by a signal, so Apptainer reports the shell convention (HTCondor's native support and
    GlideinWMS do the same). Without PID namespaces the signal itself comes through (test_glidein_states)."""
    job = pool.submit(sh_job("kill -9 $$"))
    ad = pool.wait(job)

    assert (4, False, 137) == (ad["JobStatus"], ad["ExitBySignal"], ad.get("ExitCode"))


def test_condor_rm_leaves_no_process(pool: Pool, bed: Session) -> None:
    """condor_rm of a running containerized job leaves no process of the job's user behind."""
    job = pool.submit(sh_job("echo started; sleep 300"))
    pool.wait_attr(job, lambda ad: ad["JobStatus"] == 2, timeout=60, what="running")
    pool.wait_for(lambda: "sleep" in bed.run(["ps", "-eo", "user,comm"]).stdout, 30, "the payload to start")
    pool.rm(job)
    pool.wait(job, statuses=(3,), timeout=60)

    def gone() -> bool:
        return bed.run(["pgrep", "-u", "tuser"], check=False).returncode == 1

    assert pool.wait_for(gone, 30, "the job's processes to exit")


@pytest.fixture
def dangling_image(bed: Session) -> Iterator[str]:
    """A CVMFS image link whose target the node no longer has."""
    bed.run(["ln", "-sfn", ".images/gone", f"{IMAGES}/dangling:1"])
    yield f"{IMAGES}/dangling:1"
    bed.run(["rm", "-f", f"{IMAGES}/dangling:1"])


@pytest.fixture
def broken_image(bed: Session) -> Iterator[str]:
    """An image directory that exists but cannot start a container (no /bin/sh, no actions)."""
    path = f"{IMAGES}/.images/broken"
    bed.run(["mkdir", "-p", f"{path}/etc", f"{path}/srv", f"{path}/proc", f"{path}/dev", f"{path}/tmp"])
    bed.run(["ln", "-sfn", ".images/broken", f"{IMAGES}/broken:1"])
    yield f"{IMAGES}/broken:1"
    bed.run(["rm", "-rf", path, f"{IMAGES}/broken:1"])


@pytest.mark.parametrize("kind", ["dangling", "broken"])
def test_runtime_failure_requeues_not_completes(
    pool: Pool, kind: str, request: pytest.FixtureRequest
) -> None:
    """A job whose image the node lost (a CVMFS link that points to nothing), or whose container fails
    to start, goes back to Idle with the reason in the StarterLog: never completed with exit code 255.
    (A job's own image that simply does not exist is held instead: test_escapes_pool.)"""
    image = request.getfixturevalue("dangling_image" if kind == "dangling" else "broken_image")
    job = pool.submit(sh_job("echo payload ran", f'+SingularityImage = "{image}"\n'))
    ad = pool.wait_attr(
        job,
        lambda ad: ad.get("NumJobStarts", 0) >= 1 and ad["JobStatus"] == 1,
        timeout=90,
        what="a start and the return to Idle",
    )
    starter_log = pool.log("StarterLog")
    pool.rm(job)
    out = pool.s.path(f"{job.workdir}/job.out")

    assert 1 == ad["JobStatus"]
    assert "ExitCode" not in ad
    assert "The job wrapper failed to execute the job" in starter_log
    assert image in starter_log.split("The job wrapper failed to execute the job")[-1].splitlines()[0]
    assert not out.exists() or "payload ran" not in out.read_text()


def test_several_jobs_at_once(pool: Pool) -> None:
    """Several jobs share the 2 slots; each completes in its own container."""
    jobs = [pool.submit(sh_job("sleep 2; cat /proc/self/uid_map")) for _ in range(4)]
    ads = [pool.wait(job, timeout=120) for job in jobs]

    assert [(4, 0)] * 4 == [(ad["JobStatus"], ad["ExitCode"]) for ad in ads]
    assert all("1000" in pool.output(job) for job in jobs)


def test_condor_chirp_inside_updates_the_job_ad_and_the_user_log(pool: Pool) -> None:
    """A want_io_proxy job finds condor_chirp on its PATH inside (our client, run by the image's python3):
    set_job_attr reaches the schedd's job ad through the starter's I/O proxy, ulog the user log."""
    script = (
        "command -v condor_chirp; condor_chirp set_job_attr GS_Chirped 42 && "
        "condor_chirp ulog gs-chirp-ulog-check && condor_chirp get_job_attr GS_Chirped"
    )
    job = pool.submit(sh_job(script, f'want_io_proxy = true\n+SingularityImage = "{DEBIAN}"\n'))
    ad = pool.wait(job)

    assert (4, 0) == (ad["JobStatus"], ad.get("ExitCode")), pool.output(job, "job.err")
    assert ["/srv/.gs_bin/condor_chirp", "42"] == pool.output(job).split()
    assert 42 == ad.get("GS_Chirped")
    assert "gs-chirp-ulog-check" in pool.userlog(job)


def test_shared_filesystem_job_runs_in_its_own_directory(pool: Pool) -> None:
    """should_transfer_files = NO in a directory under GS_SHARED_FS_ROOTS: the job starts there (bound at
    the same path) in its container, and writes its output there."""
    job = pool.submit(
        sh_job(
            "pwd; ls job.sub; echo UIDMAP $(cat /proc/self/uid_map); touch made-inside",
            "should_transfer_files = NO\n",
        )
    )
    ad = pool.wait(job)

    assert (4, 0) == (ad["JobStatus"], ad.get("ExitCode")), pool.output(job, "job.err")
    assert [job.workdir, "job.sub", "UIDMAP 1000 1000 1"] == pool.output(job).splitlines()
    assert pool.s.path(f"{job.workdir}/made-inside").exists()


def test_shared_filesystem_directory_with_blanks_binds_nothing_else(pool: Pool) -> None:
    """A job directory whose path has a blank before a host directory's path (`/home/tuser/sfs
    /opt/gs-host-secret`): HTCondor splits bind lists at blanks, but the job gets its own directory and
    never the host's /opt/gs-host-secret."""
    secret = "/opt/gs-host-secret"
    pool.s.sh(f"rm -rf {secret} && install -d -m 755 {secret} && echo host-only > {secret}/token")
    iwd = f"/home/tuser/sfs {secret}"
    pool.s.sh(f"rm -rf '/home/tuser/sfs ' && install -d -o tuser -g tuser '{iwd}'")
    job = pool.submit(
        sh_job(
            f"pwd; cat {secret}/token 2>/dev/null || echo no-token; touch made-inside",
            f"should_transfer_files = NO\ninitialdir = {iwd}\n",
        )
    )
    ad = pool.wait(job)
    out = pool.s.read(f"{iwd}/job.out") if pool.s.path(f"{iwd}/job.out").exists() else ""

    assert (4, 0) == (ad["JobStatus"], ad.get("ExitCode")), ad
    assert [iwd, "no-token"] == out.splitlines()
    assert pool.s.path(f"{iwd}/made-inside").exists()


def test_environment_inside_is_the_plans(pool: Pool) -> None:
    """The environment policy, the same in both modes: the job's own variables inside, the starter's
    paths at their /srv place, TMPDIR on disk in the job directory, HOME /srv, our marker set."""
    show = (
        'echo "VAR=$GS_JOB_VAR"; echo "TMPDIR=$TMPDIR"; echo "HOME=$HOME"; echo "MARK=$GS_IN_CONTAINER"; '
        'echo "SCRATCH=$_CONDOR_SCRATCH_DIR"; echo "JOBAD=$_CONDOR_JOB_AD"; '
        'echo "MACHINEAD=$_CONDOR_MACHINE_AD"'
    )
    job = pool.submit(sh_job(show, 'environment = "GS_JOB_VAR=one"\n'))
    ad = pool.wait(job)

    assert (4, 0) == (ad["JobStatus"], ad.get("ExitCode")), pool.output(job, "job.err")
    assert [
        "VAR=one",
        "TMPDIR=/srv/.gs_tmp",
        "HOME=/srv",
        "MARK=1",
        "SCRATCH=/srv",
        "JOBAD=/srv/.job.ad",
        "MACHINEAD=/srv/.machine.ad",
    ] == pool.output(job).splitlines()
