"""Remote images in the real pool: a loopback OCI registry (docker-registry, filled with umoci and
skopeo), a loopback HTTP server for .sif, and a glidein whose image store holds one busybox image at a
time (GS_IMAGE_STORE_MAX_MB = 3). Pulls are counted from the registry's own access log. The glidein is
deployed as documented: the files ``bundle --ship`` writes, the shipped gs-setup, and the HTCondor
configuration it installs into the glidein's condor_config.d (the container universe's included).

The tests run in order on one pool: one pull for four concurrent jobs; later jobs from the cache; a
missing tag held at once; the registry down requeues and the job runs when it is back (evicting the
idle image); an image in use is never evicted (the next job waits, requeued, until it is free); the
CVMFS-unpacked copy is used without any request; an http:// .sif is fetched once; a .sif shipped with
the job runs (squashfuse) under the cvmfs restriction with GS_ALLOW_SANDBOX_IMAGES; every kind of
container-universe job runs once, in its image. All of it once per launch mode: our wrapper launches the
container, or the starter does from our plan (GLIDEIN_SINGULARITY_USE_HTCONDOR).
"""

from __future__ import annotations

import json
import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.testbed import Pool, Session
from tests.testbed import glidein as g
from tests.testbed.registry import (
    ADDR,
    BUSYBOX_DIR,
    HTTP_LOG,
    HTTP_PORT,
    HTTP_ROOT,
    LOG,
    HttpServer,
    Registry,
)
from tests.testbed.scenario import BUSYBOX, CLIENT_DIR, LAUNCH_MODES, sh_job, start_shipped_glidein_pool

STORE = "/opt/gs-store"
REPO = "gs/busybox"
UNPACKED = "/cvmfs/unpacked.cern.ch"
OS_LINE = 'NAME="gs-test busybox"'
MARKER_DIR = "/opt/gs-marker"
FETCH_TIMEOUT = 30  # a fetch and unpack on two loaded cores can take over 10 s
#: A "registry" that accepts connections and never answers.
BLACK_HOLE = "127.0.0.1:5999"
BLACK_HOLE_SERVER = """import socket
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 5999))
s.listen(16)
held = []
while True:
    held.append(s.accept()[0])
"""
MARKER = f"{MARKER_DIR}/failures"


@pytest.fixture(scope="module", params=sorted(LAUNCH_MODES))
def mode(request: pytest.FixtureRequest) -> str:
    """The launch mode: the whole module runs once per mode, each with fresh services and counts."""
    return str(request.param)


@pytest.fixture(scope="module")
def registry(bed: Session, mode: str) -> Iterator[Registry]:
    bed.sh(f"mkdir -p /var/lib/gs-registry && : > {LOG}")  # requests are counted per mode
    reg = Registry(bed)
    reg.start()
    reg.push_dir(BUSYBOX_DIR, REPO, "1")
    reg.push_dir(BUSYBOX_DIR, REPO, "2")
    yield reg
    reg.stop()


@pytest.fixture(scope="module")
def http(bed: Session, mode: str) -> Iterator[HttpServer]:
    server = HttpServer(bed)
    bed.sh(
        f"mkdir -p {HTTP_ROOT} && apptainer -s build -F {HTTP_ROOT}/busybox.sif {BUSYBOX_DIR}", timeout=120
    )
    bed.sh(f"chmod 644 {HTTP_ROOT}/busybox.sif && : > {HTTP_LOG}")
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def pool(bed: Session, registry: Registry, http: HttpServer, mode: str) -> Iterator[Pool]:
    # In a glidein the jobs run as the pilot; here they run as tuser, so the store is tuser's.
    bed.sh(f"rm -rf {STORE} && install -d -o tuser -g tuser -m 700 {STORE}")
    bed.sh(f"rm -rf {MARKER_DIR} && install -d -o tuser -g tuser -m 755 {MARKER_DIR}")
    pool, run = start_shipped_glidein_pool(
        bed,
        {
            "GLIDEIN_Singularity_Use": "REQUIRED",
            "SINGULARITY_IMAGE_RESTRICTIONS": "cvmfs,remote",
            "GS_IMAGE_STORE": STORE,
            "GS_IMAGE_STORE_MAX_MB": "3",
            "GS_INSECURE_REGISTRIES": ADDR,
            "GS_ALLOW_SANDBOX_IMAGES": "True",
            "GS_FAILURE_MARKER": MARKER,  # the job wrapper's node-failure count, writable by its user
            "GS_IMAGE_FETCH_TIMEOUT": str(FETCH_TIMEOUT),
            **LAUNCH_MODES[mode],
        },
        overrides={"99-four-cpus.config": "NUM_CPUS = 4\n"},
    )
    pool.mode = mode  # type: ignore[attr-defined]
    assert 0 == run.returncode, run.stdout + run.stderr
    assert (
        "installed 50-glidein-singularity-wrapper.config, 55-glidein-singularity-container.config"
        in run.stdout
    )
    yield pool
    pool.stop()


def image(tag: str) -> str:
    return f'+SingularityImage = "docker://{ADDR}/{REPO}:{tag}"\n'


def entries(bed: Session) -> list[str]:
    return sorted(bed.sh(f"ls {STORE}/images", user="tuser").stdout.split())


def test_concurrent_jobs_pull_once(pool: Pool, registry: Registry) -> None:
    """Four jobs start at once on one image: one manifest and one layer download in all."""
    extra = image("1") + "request_cpus = 1\noutput = out.$(Process)\nerror = err.$(Process)\n"
    job = pool.submit(sh_job("head -1 /etc/os-release", extra), count=4)
    pool.wait_for(lambda: _all_done(pool, job.cluster, 4), 180, "four jobs to complete")

    outs = [pool.output(job, f"out.{proc}").strip() for proc in range(4)]
    assert [OS_LINE] * 4 == outs
    assert (1, 1) == (registry.manifest_gets(REPO), len(entries(pool.s)))


def _all_done(pool: Pool, cluster: int, count: int) -> bool:
    out = pool.s.run(["condor_history", str(cluster), "-af", "ExitCode"], check=False).stdout.split()
    return len(out) == count and set(out) == {"0"}


def test_later_job_runs_from_cache(pool: Pool, registry: Registry) -> None:
    before = registry.manifest_gets(REPO), registry.blob_gets(REPO)
    job = pool.submit(sh_job("head -1 /etc/os-release; ls /srv", image("1")))
    ad = pool.wait(job)

    assert (4, 0, OS_LINE) == (ad["JobStatus"], ad.get("ExitCode"), pool.output(job).splitlines()[0])
    assert before == (registry.manifest_gets(REPO), registry.blob_gets(REPO))


def test_missing_tag_is_held_once(pool: Pool, registry: Registry) -> None:
    """A tag the registry does not have is the user's error: the prepare-job hook's fetch holds the job
    at its first start, with the registry's answer; the registry is asked once."""
    job = pool.submit(sh_job("echo ran", image("nope")))
    ad = pool.wait(job, statuses=(5,), timeout=120)
    pool.rm(job)

    assert (19, 190) == (ad.get("HoldReasonCode"), ad.get("HoldReasonSubCode"))
    assert "manifest unknown" in ad["HoldReason"], ad["HoldReason"]
    assert f"{REPO}:nope" in ad["HoldReason"], ad["HoldReason"]
    assert 1 == len(re.findall(rf'"GET /v2/{REPO}/manifests/nope ', registry.log()))


def test_registry_down_requeues_and_loses_nothing(pool: Pool, registry: Registry) -> None:
    """With the registry down the job goes back to Idle (not completed, not held), and the node is not
    blamed (the wrapper's failure count stays empty); once the registry is back it runs, and the idle
    cached image made room for it."""
    registry.stop()
    try:
        job = pool.submit(sh_job("head -1 /etc/os-release", image("2")))
        ad = pool.wait_attr(job, lambda a: int(a.get("NumJobStarts", 0)) >= 2, 120, "two failed starts")
        assert ad["JobStatus"] in (1, 2)
        assert 0 == pool.s.run(["test", "-w", MARKER_DIR], user="tuser", check=False).returncode
        assert 1 == pool.s.run(["test", "-e", MARKER], check=False).returncode, pool.s.read(MARKER)
    finally:
        registry.start()
    ad = pool.wait(job, timeout=180)

    assert (4, 0, OS_LINE) == (ad["JobStatus"], ad.get("ExitCode"), pool.output(job).strip())
    assert 1 == len(entries(pool.s))  # the store's bound held: :1 (unused) was evicted for :2


def test_digest_reference_is_verified(pool: Pool, registry: Registry) -> None:
    """An image named by digest runs when the registry has that content, and is held when it does not
    (the fetch checks the digest; a store entry is keyed by the digest reference, never by the tag)."""
    digest = pool.s.run(
        ["skopeo", "inspect", "--tls-verify=false", "--format", "{{.Digest}}", f"docker://{ADDR}/{REPO}:1"]
    ).stdout.strip()
    assert digest.startswith("sha256:")
    wrong = "sha256:" + ("0" if digest[-1] != "0" else "1") * 64
    good = pool.submit(
        sh_job("head -1 /etc/os-release", f'+SingularityImage = "docker://{ADDR}/{REPO}@{digest}"\n')
    )
    bad = pool.submit(sh_job("echo ran", f'+SingularityImage = "docker://{ADDR}/{REPO}@{wrong}"\n'))
    good_ad = pool.wait(good)
    bad_ad = pool.wait(bad, statuses=(5,), timeout=120)
    pool.rm(bad)

    assert (0, OS_LINE) == (good_ad.get("ExitCode"), pool.output(good).strip())
    assert (19, 190) == (bad_ad.get("HoldReasonCode"), bad_ad.get("HoldReasonSubCode"))
    assert wrong in bad_ad["HoldReason"]


def test_image_in_use_is_never_evicted(pool: Pool) -> None:
    """A job runs on :1 for a while; a job on :2 needs its room: it is requeued until :1 is free, and the
    first job finishes normally in its image."""
    first = pool.submit(sh_job("sleep 15; head -1 /etc/os-release; echo alive", image("1")))
    pool.wait_attr(first, lambda a: a.get("JobStatus") == 2, 120, "the first job to run")
    time.sleep(3)  # the first job's image is fetched and leased
    second = pool.submit(sh_job("head -1 /etc/os-release", image("2")))
    first_ad = pool.wait(first, timeout=120)
    second_ad = pool.wait(second, timeout=180)

    assert (0, [OS_LINE, "alive"]) == (first_ad.get("ExitCode"), pool.output(first).splitlines())
    assert (0, OS_LINE) == (second_ad.get("ExitCode"), pool.output(second).strip())
    assert int(second_ad.get("NumJobStarts", 0)) >= 2  # it waited for the room


def test_cvmfs_unpacked_copy_used(pool: Pool, registry: Registry) -> None:
    """docker://<registry>/gs/busybox:3 exists only unpacked in CVMFS: the job runs from it, no request."""
    target = f"{UNPACKED}/{ADDR}/{REPO}:3"
    pool.s.sh(f"rm -rf '{target}' && mkdir -p '{UNPACKED}/{ADDR}/gs' && cp -a {BUSYBOX_DIR} '{target}'")
    pool.s.sh(f"echo 'NAME=\"unpacked busybox\"' > '{target}/etc/os-release'")
    job = pool.submit(sh_job("head -1 /etc/os-release", image("3")))
    ad = pool.wait(job)

    assert (0, 'NAME="unpacked busybox"') == (ad.get("ExitCode"), pool.output(job).strip())
    assert f"/{REPO}/manifests/3" not in registry.log()


def test_http_sif_fetched_once(pool: Pool, http: HttpServer) -> None:
    extra = f'+SingularityImage = "http://127.0.0.1:{HTTP_PORT}/busybox.sif"\n'
    first = pool.submit(sh_job("head -1 /etc/os-release", extra))
    pool.wait(first)
    second = pool.submit(sh_job("head -1 /etc/os-release", extra))
    ad = pool.wait(second)

    assert (0, OS_LINE, OS_LINE) == (
        ad.get("ExitCode"),
        pool.output(first).strip(),
        pool.output(second).strip(),
    )
    assert 1 == http.gets("busybox.sif")


def test_sif_shipped_with_job(pool: Pool) -> None:
    """OSPool's way: +SingularityImage = "./busybox.sif" with transfer_input_files, under cvmfs,remote."""
    pool.s.sh(f"cp {HTTP_ROOT}/busybox.sif /home/tuser/busybox.sif && chown tuser /home/tuser/busybox.sif")
    job = pool.submit(sh_job("head -1 /etc/os-release", SHIPPED_SIF))
    ad = pool.wait(job)

    assert (0, OS_LINE) == (ad.get("ExitCode"), pool.output(job).strip())
    assert EXTRACTING not in pool.output(job, "job.err")  # mounted with squashfuse


#: What Apptainer says (on the job's stderr) when it extracts a SIF for want of squashfuse.
EXTRACTING = "Converting SIF file to temporary sandbox"
SHIPPED_SIF = '+SingularityImage = "./busybox.sif"\ntransfer_input_files = /home/tuser/busybox.sif\n'


def test_sif_runs_without_squashfuse(pool: Pool) -> None:
    """The stated fallback for .sif: on a node whose Apptainer finds no squashfuse (here its binary path
    hides it), Apptainer extracts the image into a temporary sandbox at launch, and the shipped .sif job
    still runs, extracted (its cost per launch: benchmarks/README.md)."""
    conf = "/etc/apptainer/apptainer.conf"
    pool.s.sh(
        f"cp {conf} /tmp/apptainer.conf.gs && rm -rf /opt/gs-nofuse && mkdir /opt/gs-nofuse && "
        "ln -s $(command -v unsquashfs) $(command -v ldconfig) /opt/gs-nofuse/ && "
        f"echo 'binary path = /opt/gs-nofuse' >> {conf}"
    )
    try:
        job = pool.submit(sh_job("head -1 /etc/os-release", SHIPPED_SIF))
        ad = pool.wait(job)
    finally:
        pool.s.sh(f"cp /tmp/apptainer.conf.gs {conf}")

    assert (0, OS_LINE) == (ad.get("ExitCode"), pool.output(job).strip())
    if pool.mode == "wrapper":  # type: ignore[attr-defined]
        # our launch lets Apptainer's notices through; the starter runs it silent (-s)
        assert EXTRACTING in pool.output(job, "job.err"), pool.output(job, "job.err")


GUIDE = Path(__file__).resolve().parents[2] / "docs" / "guides" / "submit"
#: The user guide's names -> this bed's: the same submit files, pointed at the loopback services.
BED_NAMES = {
    "/cvmfs/singularity.opensciencegrid.org/opensciencegrid/osgvo-el9:latest": BUSYBOX,
    "docker://docker.io/myvo/analysis:1.0": f"docker://{ADDR}/{REPO}:1",
    "https://images.example.org/myvo/analysis-1.0.sif": f"http://127.0.0.1:{HTTP_PORT}/busybox.sif",
    "transfer_input_files = analysis.sif": "transfer_input_files = /home/tuser/analysis.sif",
    "container_image = analysis.sif": "container_image = /home/tuser/analysis.sif",
    "container_image = analysis-sandbox": "container_image = /home/tuser/analysis-sandbox",
}
GUIDE_EXPECTED = {
    "cvmfs-image.sub": OS_LINE,
    "docker-image.sub": OS_LINE,
    "https-sif.sub": OS_LINE,
    "shipped-sif.sub": OS_LINE,
    "required-os.sub": 'PRETTY_NAME="Debian GNU/Linux 13 (trixie)"',
    "container-cvmfs.sub": OS_LINE,
    "container-docker.sub": OS_LINE,
    "container-sif.sub": OS_LINE,
    "container-sandbox.sub": OS_LINE,
}


def test_user_guide_submit_files(pool: Pool) -> None:
    """Each way the user guide shows to name an image, its submit file as written (names mapped to the
    bed's services), runs in the image it names."""
    pool.s.sh(f"cp {HTTP_ROOT}/busybox.sif /home/tuser/analysis.sif && chown tuser /home/tuser/analysis.sif")
    pool.s.sh(
        f"rm -rf /home/tuser/analysis-sandbox && cp -a {BUSYBOX_DIR} /home/tuser/analysis-sandbox && "
        "chown -R tuser:tuser /home/tuser/analysis-sandbox"
    )
    assert sorted(GUIDE_EXPECTED) == sorted(path.name for path in GUIDE.glob("*.sub"))
    seen = {}
    for name in sorted(GUIDE_EXPECTED):
        text = (GUIDE / name).read_text()
        for doc, bed_name in BED_NAMES.items():
            text = text.replace(doc, bed_name)
        body = "\n".join(line for line in text.splitlines() if line.strip() != "queue")
        job = pool.submit(body, files={"run.sh": "#!/bin/sh\nhead -1 /etc/os-release\n"})
        ad = pool.wait(job)
        seen[name] = (ad.get("ExitCode"), pool.output(job).strip())
    assert {name: (0, line) for name, line in GUIDE_EXPECTED.items()} == seen


SHOW = "head -1 /etc/os-release; echo $APPTAINER_CONTAINER"


def _variant(bed: Session, name: str) -> str:
    """A copy of busybox whose os-release names ``name``, in tuser's home."""
    path = f"/home/tuser/{name}"
    bed.sh(f"rm -rf {path} && cp -a {BUSYBOX_DIR} {path} && echo 'NAME=\"{name}\"' > {path}/etc/os-release")
    bed.sh(f"chown -R tuser:tuser {path}")
    return path


def test_container_universe_each_kind_runs_in_its_image(pool: Pool) -> None:
    """universe = container with a CVMFS directory, a sandbox directory and a .sif both transferred by
    HTCondor, and docker://: each runs once, in exactly the image it named (the runtime's
    APPTAINER_CONTAINER is that image: no HTCondor container around or inside ours)."""
    sandbox_dir = _variant(pool.s, "sandboxdir")
    sif_dir = _variant(pool.s, "sifimage")
    pool.s.sh(
        f"apptainer -s build -F /home/tuser/sifimage.sif {sif_dir} && chown tuser /home/tuser/sifimage.sif"
    )
    images = {
        "cvmfs": BUSYBOX,
        "sandbox": sandbox_dir,
        "sif": "/home/tuser/sifimage.sif",
        "docker": f"docker://{ADDR}/{REPO}:1",
    }
    jobs = {
        kind: pool.submit(sh_job(SHOW, f"universe = container\ncontainer_image = {image}\n"))
        for kind, image in images.items()
    }
    seen = {}
    for kind, job in jobs.items():
        ad = pool.wait(job, timeout=120)
        lines = pool.output(job).splitlines()
        seen[kind] = (ad.get("ExitCode"), ad.get("NumJobStarts"), lines[0], lines[1].split("/")[-1])
    assert seen["cvmfs"] == (0, 1, OS_LINE, "busybox-1")
    assert seen["sandbox"] == (0, 1, 'NAME="sandboxdir"', "sandboxdir")
    assert seen["sif"] == (0, 1, 'NAME="sifimage"', "sifimage.sif")
    assert seen["docker"] == (0, 1, OS_LINE, "image"), pool.userlog(
        jobs["docker"]
    )  # <store>/images/<key>/image


def test_container_universe_obeys_the_image_policy(pool: Pool) -> None:
    """A container_image outside /cvmfs that is not shipped with the job never matches (cvmfs
    restriction): -better-analyze shows our START term reading the job's ContainerImage."""
    job = pool.submit(
        sh_job(
            "echo ran", "universe = container\ncontainer_image = /opt/images/x\ntransfer_container = false\n"
        )
    )
    time.sleep(8)
    ad = pool.ad(job)
    analysis = pool.analyze(job)
    pool.rm(job)

    assert (1, 0) == (ad["JobStatus"], ad.get("NumJobStarts", 0))
    assert 'TARGET.ContainerImage = "/opt/images/x"' in analysis, analysis  # HTCondor: our term read it


def test_container_universe_job_cannot_skip_the_hook(pool: Pool) -> None:
    """A job choosing its own hook keyword still runs through our hook and wrapper, in its image."""
    extra = f'universe = container\ncontainer_image = {BUSYBOX}\n+HookKeyword = "NONE"\n'
    job = pool.submit(sh_job(SHOW, extra))
    ad = pool.wait(job, timeout=120)

    assert (0, 1, OS_LINE) == (ad.get("ExitCode"), ad.get("NumJobStarts"), pool.output(job).splitlines()[0])


def test_both_names_singularity_image_wins(pool: Pool) -> None:
    """A container-universe job that also sets +SingularityImage runs in the latter (the documented
    precedence), once, in that one container."""
    other = _variant(pool.s, "containerimage")
    extra = f'universe = container\ncontainer_image = {other}\n+SingularityImage = "{BUSYBOX}"\n'
    job = pool.submit(sh_job(SHOW, extra))
    ad = pool.wait(job, timeout=120)

    lines = pool.output(job).splitlines()
    image_dir = lines[1].split("/")[-1]
    assert (0, 1, OS_LINE, "busybox-1") == (ad.get("ExitCode"), ad.get("NumJobStarts"), lines[0], image_dir)


def test_too_large_image_is_held_naming_it(pool: Pool, registry: Registry) -> None:
    """An image that unpacks larger than the whole store (3 MiB) is the user's error: the
    container-universe job naming it is held at its first start, with a message naming the image and
    the bound; it is never restarted, and no cached image was evicted for it."""
    big = "/opt/gs-big-image"
    pool.s.sh(f"rm -rf {big} && cp -a {BUSYBOX_DIR} {big} && head -c 5000000 /dev/urandom > {big}/ballast")
    registry.push_dir(big, "gs/big", "1")
    before = entries(pool.s)
    job = pool.submit(
        sh_job("echo ran", f"universe = container\ncontainer_image = docker://{ADDR}/gs/big:1\n")
    )
    ad = pool.wait(job, statuses=(5,), timeout=180)
    pool.rm(job)

    assert (19, 190) == (ad.get("HoldReasonCode"), ad.get("HoldReasonSubCode"))
    assert f"image docker://{ADDR}/gs/big:1 unpacks to" in ad["HoldReason"], ad["HoldReason"]
    assert "more than the glidein's image store holds (3 MiB)" in ad["HoldReason"], ad["HoldReason"]
    assert (ad.get("NumJobStarts", 0) <= 1, before) == (True, entries(pool.s))


def test_registry_credentials_stay_out_of_jobs(pool: Pool) -> None:
    """The fetch runs as the glidein's user with its home (here tuser owns the store), where Apptainer
    keeps registry credentials (~/.apptainer/docker-config.json): a job, in its container, reads neither
    them nor the store."""
    secret = "R1NTRUNSRVQ="  # base64 of a made-up user:password
    config = '{"auths": {"registry.example.org": {"auth": "' + secret + '"}}}'
    pool.s.sh("install -d -o tuser -g tuser -m 700 /home/tuser/.apptainer")
    pool.s.write("/home/tuser/.apptainer/docker-config.json", config + "\n", mode=0o600, owner="tuser")
    script = (
        "cat /home/tuser/.apptainer/docker-config.json; ls $HOME/.apptainer; ls /opt/gs-store; "
        "grep -rl R1NTRUNSRVQ /home /opt /srv /tmp 2>/dev/null; echo end"
    )
    job = pool.submit(sh_job(script, image("1") + "error = job.out\n"))
    ad = pool.wait(job, timeout=120)
    out = pool.output(job)
    pool.s.sh("rm -rf /home/tuser/.apptainer")

    assert (4, "end") == (ad["JobStatus"], out.strip().splitlines()[-1]), out
    assert secret not in out.replace(script, "")
    assert 3 == out.count("No such file or directory"), out


def test_health_probe_and_doctor_report_the_store(pool: Pool) -> None:
    """The shipped health probe (as the glidein's user) and doctor report the store: its images and
    size against the bound, its disk's free space, and the tools its image kinds need."""
    state = "/tmp/gs-health-store-test"
    pool.s.sh(f"rm -rf {state}")
    probe = pool.s.run(
        [
            f"{g.GLIDEIN_DIR}/gs-health",
            f"--state-dir={state}",
            f"--glidein-config={g.GLIDEIN_DIR}/glidein_config",
        ],
        user="tuser",
    ).stdout
    count = len(entries(pool.s))
    assert f"image store {STORE}: {count} image" in probe, probe
    assert "of 3 MiB)" in probe, probe

    doctor = pool.s.run(
        ["python3", "-m", "glidein_singularity", "doctor", "--image-store", STORE, "--format", "json"],
        user="tuser",
        check=False,
        env={"PYTHONPATH": f"{CLIENT_DIR}/glidein_singularity.zip"},
    )
    checks = {check["name"]: check for check in json.loads(doctor.stdout)["checks"]}
    store, sif = checks["image-store"], checks["sif"]
    assert ("pass", "pass") == (store["status"], sif["status"]), (store, sif)
    assert f"{STORE}: usable, " in store["detail"], store
    assert f"({count} image(s), " in store["detail"], store
    assert "squashfuse" in sif["detail"], sif


def test_fetch_is_bounded_in_time(pool: Pool) -> None:
    """A registry that never answers: each fetch is killed at GS_IMAGE_FETCH_TIMEOUT, the job goes back
    to Idle (an outage: not held, not completed) with the reason in its log, and no fetch lingers."""
    server = subprocess.Popen(pool.s.command(["python3", "-c", BLACK_HOLE_SERVER]), stdin=subprocess.DEVNULL)
    try:
        job = pool.submit(sh_job("echo ran", f'+SingularityImage = "docker://{BLACK_HOLE}/gs/busybox:1"\n'))
        ad = pool.wait_attr(
            job,
            lambda a: int(a.get("NumJobStarts", 0)) >= 1 and a.get("JobStatus") == 1,
            120,
            "the job back to Idle",
        )
        log = pool.userlog(job)
        pool.rm(job)
    finally:
        server.kill()
        server.wait()
    lingering = pool.s.run(["pgrep", "-f", f"docker://{BLACK_HOLE}"], check=False)

    assert (1, None) == (ad["JobStatus"], ad.get("HoldReason")), ad
    assert f"the fetch timed out after {FETCH_TIMEOUT} s" in log, log
    assert 1 == lingering.returncode, lingering.stdout


def test_slot_advertises_what_it_runs(pool: Pool) -> None:
    """HasContainer, HasSandboxImage, HasSIF and HasDockerURL follow the node and its policy: with the
    restriction cvmfs,remote all are true (HTCondor's own launch is off: no HasSingularity); once the
    restriction is cvmfs alone, HasDockerURL is false and a docker:// container job is never matched;
    nor, without the opt-in GS_ALLOW_SANDBOX_IMAGES, is a .sif shipped with the job; where .sif images
    cannot launch (GS_SIF_USABLE false) HasSIF is false and a .sif container job is never matched. Runs
    last: it reconfigures the pool."""
    names = ("HasContainer", "HasSandboxImage", "HasSIF", "HasDockerURL", "HasSingularity")

    def facts() -> list[str]:
        return pool.s.run(["condor_status", "-af", *names]).stdout.split()

    # HasSingularity is HTCondor's own probe's: none in wrapper mode (its launch is off), true where the
    # starter launches from our plan; the four container facts are ours in both modes.
    native = "true" if pool.mode == "htcondor" else "undefined"  # type: ignore[attr-defined]
    assert ["true", "true", "true", "true", native] == facts()

    pool.write_config(
        "99-cvmfs-only.config", 'SINGULARITY_IMAGE_RESTRICTIONS = "cvmfs"\nGS_ALLOW_SANDBOX_IMAGES = False\n'
    )
    pool.reconfig()
    pool.wait_for(lambda: facts()[3] == "false", 60, "HasDockerURL to become false")
    seen = facts()
    jobs = [
        pool.submit(
            sh_job("echo ran", f"universe = container\ncontainer_image = docker://{ADDR}/{REPO}:1\n")
        ),
        pool.submit(sh_job("echo ran", SHIPPED_SIF)),
    ]
    time.sleep(8)
    states = [(pool.ad(job)["JobStatus"], pool.ad(job).get("NumJobStarts", 0)) for job in jobs]
    for job in jobs:
        pool.rm(job)

    assert ["true", "true", "true", "false", native] == seen
    assert [(1, 0), (1, 0)] == states
    assert ["true"] == pool.s.run(["condor_status", "-af", "GS_SIF_USABLE"]).stdout.split()  # gs-setup's

    # A node whose squashfuse cannot open /dev/fuse: gs-setup publishes GS_SIF_USABLE = False there
    # (tests/unit/test_sif_support.py), and HasSIF turns false, so a .sif container job never matches.
    pool.s.sh(f"cp {HTTP_ROOT}/busybox.sif /home/tuser/busybox.sif && chown tuser /home/tuser/busybox.sif")
    pool.write_config("99-no-fuse.config", "GS_SIF_USABLE = False\nGS_ALLOW_SANDBOX_IMAGES = True\n")
    pool.reconfig()
    pool.wait_for(lambda: facts()[2] == "false", 60, "HasSIF to become false")
    no_fuse = facts()
    sif_job = pool.submit(
        sh_job("echo ran", "universe = container\ncontainer_image = /home/tuser/busybox.sif\n")
    )
    time.sleep(8)
    sif_state = (pool.ad(sif_job)["JobStatus"], pool.ad(sif_job).get("NumJobStarts", 0))
    pool.rm(sif_job)

    assert ["true", "true", "false", "false", native] == no_fuse
    assert (1, 0) == sif_state
