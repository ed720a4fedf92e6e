"""The plan's image step for images that are not plain node paths: remote images (CVMFS-unpacked copy,
image store hit and miss, no store), and images shipped with the job (GS_ALLOW_SANDBOX_IMAGES)."""

import pytest

from glidein_singularity.plan import LaunchPlan, Refusal
from glidein_singularity.store import entry_dir, fetch_for
from tests.unit.plan_fixtures import EL9, EL9_REAL, SANDBOX, run_plan

REMOTE = {"SINGULARITY_IMAGE_RESTRICTIONS": "cvmfs,remote"}
STORE = "/glidein/tmp/gs-image-store"
REF = "docker://reg.example:5000/vo/app:1"
UNPACKED = "/cvmfs/unpacked.cern.ch/reg.example:5000/vo/app:1"


def _fetch():
    fetch = fetch_for(REF, STORE, "", "", "")
    assert fetch is not None
    return fetch


def test_remote_image_from_store_miss_carries_the_fetch():
    result = run_plan(
        job={"SingularityImage": REF}, machine=REMOTE, settings={"local_tmp_dir": "/glidein/tmp"}
    )
    assert isinstance(result, LaunchPlan)
    assert (_fetch().image, _fetch()) == (result.image, result.fetch)
    assert _fetch().image in result.argv
    assert REF not in result.argv
    assert any("fetches it once" in reason for reason in result.reasons)


def test_remote_image_from_store_hit():
    fetch = _fetch()
    files = {entry_dir(STORE, fetch.key) + "/meta": ("file", None), fetch.image: ("dir", None)}
    result = run_plan(
        job={"SingularityImage": REF},
        machine=REMOTE,
        settings={"image_store": STORE},
        filesystem=files,
    )
    assert isinstance(result, LaunchPlan)
    assert (fetch.image, fetch) == (result.image, result.fetch)
    assert any("cached at" in reason for reason in result.reasons)


def test_cvmfs_unpacked_copy_wins_and_fetches_nothing():
    result = run_plan(
        job={"SingularityImage": REF},
        machine=REMOTE,
        settings={"image_store": STORE},
        filesystem={UNPACKED: ("dir", None)},
    )
    assert isinstance(result, LaunchPlan)
    assert (UNPACKED, None) == (result.image, result.fetch)
    assert any("unpacked in CVMFS" in reason for reason in result.reasons)


def test_no_store_leaves_the_reference_to_the_runtime():
    result = run_plan(job={"SingularityImage": REF}, machine=REMOTE, settings={"image_store": "none"})
    assert isinstance(result, LaunchPlan)
    assert (REF, None) == (result.image, result.fetch)


def test_remote_still_needs_the_remote_restriction():
    result = run_plan(job={"SingularityImage": REF}, settings={"image_store": STORE})
    assert isinstance(result, Refusal)
    assert "remote" in result.message


@pytest.mark.parametrize(
    ("allow", "restrictions", "outcome"),
    [
        ("False", "cvmfs", "refused"),
        ("True", "cvmfs", "runs"),
        ("False", "remote", "runs"),  # no cvmfs restriction: a local path as before
    ],
)
def test_image_shipped_with_job(allow, restrictions, outcome):
    result = run_plan(
        job={"SingularityImage": "./my.sif"},
        machine={"SINGULARITY_IMAGE_RESTRICTIONS": restrictions, "GS_ALLOW_SANDBOX_IMAGES": allow},
        filesystem={SANDBOX + "/my.sif": ("file", None)},
    )
    if outcome == "runs":
        assert isinstance(result, LaunchPlan)
        assert result.image == SANDBOX + "/my.sif"
    else:
        assert isinstance(result, Refusal)
        assert "cvmfs" in result.message


def test_shipped_image_may_not_leave_the_job_directory():
    """A symlink the job ships cannot point the runtime at a host path."""
    result = run_plan(
        job={"SingularityImage": "my.sif"},
        machine={"GS_ALLOW_SANDBOX_IMAGES": True},
        filesystem={SANDBOX + "/my.sif": ("file", "/opt/site/secret-image")},
    )
    assert isinstance(result, Refusal)
    expected = 'image "my.sif" is a relative path that leads out of the job directory (to {})'.format(
        "/opt/site/secret-image"
    )
    assert (False, expected) == (result.requeue, result.message)


def test_missing_shipped_image_is_the_users_error():
    result = run_plan(job={"SingularityImage": "./gone.sif"}, machine={"GS_ALLOW_SANDBOX_IMAGES": True})
    assert isinstance(result, Refusal)
    assert result.job_caused  # the prepare-job hook holds it; the wrapper never counts it against the node
    assert "does not exist" in result.message


def test_container_universe_image_is_the_jobs_image():
    result = run_plan(job={"WantContainer": True, "ContainerImage": EL9, "WantSandboxImage": True})
    assert isinstance(result, LaunchPlan)
    assert result.image == EL9_REAL
    assert 'image "{}" from the job\'s ContainerImage'.format(EL9) in result.reasons


def test_singularity_image_wins_over_container_image():
    result = run_plan(job={"SingularityImage": EL9, "WantContainer": True, "ContainerImage": "docker://x:1"})
    assert isinstance(result, LaunchPlan)
    assert result.image == EL9_REAL


def test_container_universe_without_image_is_refused():
    result = run_plan(job={"WantContainer": True})
    assert isinstance(result, Refusal)
    assert (False, "the job wants a container (universe = container) but names no container_image") == (
        result.requeue,
        result.message,
    )


def test_container_universe_never_runs_bare():
    """A slot without containers refuses a container-universe job instead of running it bare."""
    result = run_plan(job={"WantContainer": True, "ContainerImage": EL9}, machine={"HAS_SINGULARITY": False})
    assert isinstance(result, Refusal)
    assert result.requeue
