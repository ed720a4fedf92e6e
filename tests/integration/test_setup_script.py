"""The glidein startup script in the real bed: real Apptainer found, validated and advertised."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator

import pytest

from tests.testbed import Session
from tests.testbed import glidein as g


def result_status(xml: str) -> tuple[str, dict[str, str], str]:
    """(status, metrics, detail) of an error_gen result."""
    root = ET.fromstring(xml)
    status = root.findtext("result/status") or ""
    metrics = {m.get("name", ""): m.text or "" for m in root.iter("metric")}
    return status, metrics, (root.findtext("detail") or "").strip()


@pytest.fixture
def broken_runtime(bed: Session) -> Iterator[None]:
    """Make the bed's apptainer unusable (it exits 1 for every command); restore it afterwards."""
    with bed.broken_runtime("broken on purpose by the test"):
        yield


def setup(bed: Session, use: str, require: str, **extra: str) -> g.SetupRun:
    g.make_glidein(
        bed,
        {
            "GLIDEIN_Singularity_Use": use,
            "GLIDEIN_SINGULARITY_REQUIRE": require,
            "SINGULARITY_IMAGES_DICT": g.IMAGES_DICT,
            **extra,
        },
    )
    return g.run_setup(bed)


def test_finds_and_validates_real_apptainer(bed: Session) -> None:
    """REQUIRED: finds /usr/bin/apptainer, runs one validation container, reports unprivileged."""
    run = setup(bed, "REQUIRED", "OPTIONAL")
    status, metrics, _ = result_status(run.result_xml)

    assert 0 == run.returncode, run.stderr
    assert ("OK", "True") == (status, metrics["use_singularity"])
    assert "True" == run.glidein_config["HAS_SINGULARITY"]
    assert "REQUIRED" == run.glidein_config["GWMS_SINGULARITY_STATUS"]
    assert "/usr/bin/apptainer" == run.glidein_config["SINGULARITY_PATH"]
    assert "unprivileged" == run.glidein_config["SINGULARITY_MODE"]
    assert "unprivileged" == run.glidein_config["GWMS_CONTAINERSW_MODE"]
    assert run.glidein_config["SINGULARITY_VERSION"].startswith("1.")
    assert "singularity/unprivileged" in run.glidein_config["GLIDEIN_PROVIDES"]
    assert "any" == run.glidein_config.get("GLIDEIN_REQUIRED_OS", "any")


def test_entry_required_os_is_kept(bed: Session) -> None:
    """GLIDEIN_REQUIRED_OS stays as the entry set it, and the served OS list honours it."""
    run = setup(bed, "PREFERRED", "PREFERRED", GLIDEIN_REQUIRED_OS="rhel9")

    assert 0 == run.returncode, run.stderr
    assert "rhel9" == run.glidein_config["GLIDEIN_REQUIRED_OS"]
    assert "rhel9" == run.glidein_config["SINGULARITY_OS_LIST"]


@pytest.mark.usefixtures("broken_runtime")
def test_required_with_broken_runtime_fails_the_glidein(bed: Session) -> None:
    """REQUIRED with an unusable binary: WN_Resource failure naming what was tried, exit 1."""
    run = setup(bed, "REQUIRED", "REQUIRED")
    status, metrics, detail = result_status(run.result_xml)

    assert 1 == run.returncode
    assert ("ERROR", "WN_Resource") == (status, metrics["failure"])
    assert "/usr/bin/apptainer" in detail
    assert "broken on purpose" in detail


@pytest.mark.usefixtures("broken_runtime")
def test_preferred_with_broken_runtime_falls_back(bed: Session) -> None:
    """PREFERRED with an unusable binary: HAS_SINGULARITY=False, status PREFERRED, exit 0."""
    run = setup(bed, "PREFERRED", "OPTIONAL")
    status, metrics, _ = result_status(run.result_xml)

    assert 0 == run.returncode, run.stderr
    assert ("OK", "False") == (status, metrics["use_singularity"])
    assert "False" == run.glidein_config["HAS_SINGULARITY"]
    assert "PREFERRED" == run.glidein_config["GWMS_SINGULARITY_STATUS"]
