"""When the starter cannot see into the job directory (root EP, job as another user), the wrapper knows."""

import os

import pytest

from glidein_singularity.node import wrapper


@pytest.fixture
def job_dir(tmp_path):
    """A 0700 job directory with the error file's path in it."""
    path = tmp_path / "dir_1"
    path.mkdir(mode=0o700)
    os.chmod(path, 0o700)
    return path


def test_no_error_file_needs_nothing():
    """Without a wrapper-error file there is nothing for the starter to see."""
    assert "" == wrapper.starter_cannot_see(None)


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        pytest.param(0o711, "", id="group-and-other-search"),
        pytest.param(0o701, "0701", id="other-only: a starter with the job's groups is still blind"),
        pytest.param(0o710, "0710", id="group-only"),
        pytest.param(0o700, "0700", id="private"),
    ],
)
def test_search_bits_decide(job_dir, monkeypatch, mode, expected):
    """Only a directory both the group and others may search is visible to any starter."""
    os.chmod(job_dir, mode)
    monkeypatch.setattr(os, "getppid", lambda: 2**22 + 17)  # unknown starter

    assert expected == wrapper.starter_cannot_see(str(job_dir / ".job_wrapper_failure"))


def test_starter_with_our_uid_sees_everything(job_dir, monkeypatch):
    """A glidein: the starter (our parent) runs as the job's user, nothing to change."""
    monkeypatch.setattr(os, "getppid", lambda: os.getpid())

    assert "" == wrapper.starter_cannot_see(str(job_dir / ".job_wrapper_failure"))


def test_starter_with_another_uid_cannot_see(job_dir, monkeypatch):
    """A root-started EP: the starter's euid differs from the job's and the directory is 0700."""
    monkeypatch.setattr(os, "getppid", lambda: os.getpid())
    monkeypatch.setattr(os, "geteuid", lambda: os.getuid() + 4242)

    assert "0700" == wrapper.starter_cannot_see(str(job_dir / ".job_wrapper_failure"))


def test_unknown_starter_is_assumed_blind(job_dir, monkeypatch):
    """When the parent's identity cannot be read, make sure the starter can see the file."""
    monkeypatch.setattr(os, "getppid", lambda: 2**22 + 17)  # no such process

    assert "0700" == wrapper.starter_cannot_see(str(job_dir / ".job_wrapper_failure"))
