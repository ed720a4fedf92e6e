"""Whether .sif images launch on this node: squashfuse (Apptainer's own, else on PATH) and /dev/fuse."""

import os

import pytest

from glidein_singularity.adverts import container_adverts
from glidein_singularity.node.sif_support import SifSupport, dev_fuse_usable, find_squashfuse, sif_support


def _tool(path, name="squashfuse_ll"):
    path.mkdir(parents=True, exist_ok=True)
    tool = path / name
    tool.write_text("#!/bin/sh\n")
    tool.chmod(0o755)
    return str(tool)


@pytest.mark.parametrize(
    ("squashfuse", "dev_fuse", "usable"),
    [
        pytest.param("/usr/libexec/apptainer/bin/squashfuse_ll", True, True, id="mounted"),
        pytest.param("", False, True, id="extracted-without-squashfuse"),
        pytest.param("", True, True, id="extracted-with-fuse"),
        pytest.param("/usr/bin/squashfuse", False, False, id="squashfuse-without-fuse-fails"),
    ],
)
def test_usable(squashfuse, dev_fuse, usable):
    assert usable == SifSupport(squashfuse, dev_fuse).usable


def test_apptainers_own_squashfuse_comes_before_path(tmp_path):
    runtime = _tool(tmp_path / "prefix" / "bin", "apptainer")
    bundled = _tool(tmp_path / "prefix" / "libexec" / "apptainer" / "bin")
    on_path = _tool(tmp_path / "path", "squashfuse")
    assert bundled == find_squashfuse(runtime, str(tmp_path / "path"))
    assert on_path == find_squashfuse(
        str(tmp_path / "elsewhere" / "bin" / "apptainer"), str(tmp_path / "path")
    )
    assert "" == find_squashfuse("", str(tmp_path / "empty"))


def test_dev_fuse_must_open_read_write(tmp_path):
    device = tmp_path / "fuse"
    device.write_text("")
    assert (True, False) == (dev_fuse_usable(str(device)), dev_fuse_usable(str(tmp_path / "missing")))


def test_squashfuse_without_the_device_is_not_usable(tmp_path):
    runtime = _tool(tmp_path / "prefix" / "bin", "apptainer")
    _tool(tmp_path / "prefix" / "libexec" / "apptainer" / "bin")
    found = sif_support(runtime, os.defpath, device=str(tmp_path / "no-fuse"))
    assert (False, found.squashfuse.endswith("squashfuse_ll")) == (found.usable, True)


@pytest.mark.parametrize(
    ("usable", "advert"), [(True, "True"), (False, "False"), (None, None)], ids=["yes", "no", "unknown"]
)
def test_setup_advertises_it(usable, advert):
    adverts = dict(
        container_adverts(
            "REQUIRED", "/usr/bin/apptainer", "1.4.5", "", "unprivileged", True, "", "", "", "", usable
        )
    )
    assert advert == adverts.get("GS_SIF_USABLE")
