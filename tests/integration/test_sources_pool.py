"""The image-source policy in the real pool: a job whose own image the policy refuses stays Idle, with
HTCondor's own explanation, while an allowed image runs; the negotiator evaluates our START term's
canonical form of the image (replace/replaceAll/regexp in the pool's HTCondor version)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from tests.testbed import Pool, Session
from tests.testbed.scenario import BUSYBOX, DEBIAN, IMAGES, LAUNCH_MODES, sh_job, start_glidein_pool

ALLOWED = f"{IMAGES}/busybox*"


@pytest.fixture(scope="module", params=sorted(LAUNCH_MODES))
def pool(bed: Session, request: pytest.FixtureRequest) -> Iterator[Pool]:
    """A glidein whose frontend group allows only the busybox images; once per launch mode."""
    pool, run = start_glidein_pool(
        bed,
        {
            "GLIDEIN_Singularity_Use": "REQUIRED",
            "GS_ALLOWED_IMAGE_SOURCES": ALLOWED,
            **LAUNCH_MODES[request.param],
        },
        snippets=("50", "55", "60"),
    )
    assert 0 == run.returncode, run.stderr
    yield pool
    pool.stop()


def test_policy_is_advertised(pool: Pool) -> None:
    """The slot ad carries the list and its regex, as the setup published them."""
    slot = pool.slots()[0]

    expected = (ALLOWED, "(?s)^(/cvmfs/singularity[.]opensciencegrid[.]org/gs-test/busybox.*)(?!.)")
    assert expected == (slot.get("GS_ALLOWED_IMAGE_SOURCES"), slot.get("GS_IMAGE_ALLOW_REGEX"))


def test_allowed_image_runs_even_spelled_oddly(pool: Pool) -> None:
    """An allowed image written with // and /./ matches (START compares canonical forms) and runs."""
    odd = BUSYBOX.replace("/gs-test/", "//gs-test/./")
    job = pool.submit(sh_job("head -1 /etc/os-release", f'+SingularityImage = "{odd}"\n'))
    ad = pool.wait(job)

    assert (4, 0, 'NAME="gs-test busybox"') == (ad["JobStatus"], ad.get("ExitCode"), pool.output(job).strip())


@pytest.mark.parametrize(
    "naming",
    [
        pytest.param(f'+SingularityImage = "{DEBIAN}"\n', id="singularity-image"),
        pytest.param(f"universe = container\ncontainer_image = {DEBIAN}\n", id="container-universe"),
    ],
)
def test_refused_image_stays_idle_with_explanation(pool: Pool, naming: str) -> None:
    """A job naming an image outside the allowed sources, as +SingularityImage or as a container-universe
    container_image, never starts: it stays Idle through several negotiation cycles, and HTCondor's
    -better-analyze names the slot's image-source term."""
    job = pool.submit(sh_job("echo ran", naming))
    time.sleep(8)
    ad = pool.ad(job)
    analysis = pool.analyze(job)
    pool.rm(job)

    assert (1, 0) == (ad["JobStatus"], ad.get("NumJobStarts", 0))
    assert "GS_IMAGE_ALLOW_REGEX" in analysis, analysis
