"""Fixtures for the integration suite: the real test bed, entered once per session, and its pool.

Fixtures assert failure (a bed that cannot be built fails the run under CI=true, and is a skip with the
reason elsewhere); tests assert success.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.testbed import Session, TestBedUnavailable, ensure_bed

REPO = Path(__file__).resolve().parents[2]
BUSYBOX = "/cvmfs/singularity.opensciencegrid.org/gs-test/busybox:latest"
DEBIAN = "/cvmfs/singularity.opensciencegrid.org/gs-test/debian:13"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test under tests/integration is an integration test."""
    for item in items:
        if "tests/integration/" in str(item.fspath):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def bed_root() -> Path:
    """The cached bed directory; built on first use."""
    try:
        return ensure_bed()
    except TestBedUnavailable as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true and the test bed is unavailable: {exc}", pytrace=False)
        pytest.skip(f"test bed unavailable: {exc}")


@pytest.fixture(scope="session")
def bed(bed_root: Path) -> Iterator[Session]:
    """One entered bed for the whole session (pools are started per module on top of it)."""
    with Session(bed_root, REPO) as session:
        yield session
