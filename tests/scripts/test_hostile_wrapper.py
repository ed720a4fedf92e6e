"""The hostile corpus (tests/data/hostile) through the real job wrapper script on a fake node.

The wrapper is installed as the startup script installs it (``gs-job-wrapper`` with the package next to
the glidein's ``glidein_config``) and run as the starter runs it. The runtime is a recorder of its argv
and environment: these tests check what would be exec'd, the exit status, the wrapper-error file and
that no node file the job names is touched; real containers are the integration suite's business.
"""

from __future__ import annotations

import subprocess

import pytest

from tests.hostile_node import Node, case_names

PREFIX = "glidein-singularity job wrapper failed: "


def without_loader_noise(stderr: str) -> str:
    """stderr without the dynamic loader's complaints about the job's LD_PRELOAD/LD_AUDIT files.

    The loader reads the job's LD_* variables in the wrapper's own processes (sh, python) before any
    wrapper code runs: that is why the START term keeps such jobs off container slots. Here the files
    do not exist, so the loader only complains.
    """
    return "".join(line for line in stderr.splitlines(True) if not line.startswith("ERROR: ld.so: "))


def one_line(text: str) -> str:
    """The wrapper's one-line form of a message."""
    return " ".join(text.split())


@pytest.mark.parametrize("name", case_names())
def test_wrapper_on_hostile_case(name, tmp_path):
    """The wrapper execs exactly the expected command, or refuses with the expected line and requeue flag."""
    node = Node(name, tmp_path)
    expected = node.expected()
    result = subprocess.run(
        [str(node.wrapper), *node.argv()],
        cwd=str(node.sandbox),
        env=node.environ(),
        capture_output=True,
        timeout=120,
        check=False,
    )
    stderr = without_loader_noise(result.stderr.decode("utf-8", "surrogateescape"))
    error_file = node.sandbox / ".job_wrapper_failure"
    if expected["outcome"] == "refusal":
        line = PREFIX + one_line(expected["message"])
        assert (90, "ERROR: " + line + "\n") == (result.returncode, stderr)
        if "marker" in expected:
            assert expected["marker"] == (node.root / "marker").read_text()
        if expected["requeue"]:
            assert line + "\n" == error_file.read_bytes().decode("utf-8", "surrogateescape")
        else:
            assert not error_file.exists()
    else:
        assert (0, "") == (result.returncode, stderr)
        argv, env = node.recorded()
        assert expected["argv"] == argv
        if expected["container"]:
            assert expected["env"] == {name: env.get(name) for name in expected["env"]}
            assert [] == [name for name in expected["env_absent"] if name in env]
            assert error_file.exists() is True  # the launcher inside would remove it
    for path, content in node.untouched():
        assert content == (path.read_text() if path.exists() else None), path
