"""``glidein-singularity doctor`` through cli.main, in-process: reports, exit status, JSON schema.

Fake runtimes stand in for apptainer only to drive doctor's own logic; the real runtime is checked in
the integration suite.
"""

import json

import pytest

from glidein_singularity import cli
from glidein_singularity.node import doctor
from glidein_singularity.node.doctor import CheckResult
from tests.fake_runtime import make_fake_runtime

FIXED = [
    CheckResult("userns-max", "pass", "user.max_user_namespaces = 15000", "", True),
    CheckResult(
        "runtime", "fail", "no working apptainer or singularity; tried: nothing", "install apptainer", True
    ),
    CheckResult("gpu-amd", "skip", "no /dev/kfd and no rocm-smi", "", False),
]
OPTIONAL_FAILURE = [
    CheckResult("runtime", "pass", "/usr/bin/apptainer (version 1.4.5)", "", True),
    CheckResult("overlay", "fail", "overlay: disabled; underlay: disabled", "enable underlay", False),
]


@pytest.fixture
def fixed(monkeypatch):
    """Make doctor report given results without looking at the node; return the call recorder."""
    calls = []

    def use(results):
        monkeypatch.setattr(doctor, "gather", lambda *args: calls.append(args) or "facts")
        monkeypatch.setattr(doctor, "evaluate", lambda facts: results)
        return calls

    return use


def test_text_report_and_failure_status(fixed, capsys):
    """One line per check, a fix line under a failure, a summary; a required failure exits 1."""
    calls = fixed(FIXED)
    status = cli.main(
        ["doctor", "--runtime", "/opt/apptainer", "--image", "/img.sif", "--cvmfs-repo", "x.org"]
    )
    out = capsys.readouterr().out
    assert (status, out) == (
        1,
        "PASS  userns-max  user.max_user_namespaces = 15000\n"
        "FAIL  runtime     no working apptainer or singularity; tried: nothing\n"
        "                  fix: install apptainer\n"
        "SKIP  gpu-amd     no /dev/kfd and no rocm-smi\n"
        "doctor: 1 passed, 1 failed (1 required), 1 skipped: containers will not run here\n",
    )
    assert calls[0][:4] == ("/opt/apptainer", "/img.sif", "x.org", 30.0)


def test_optional_failure_exits_0(fixed, capsys):
    """A failed check that containers do not need still exits 0."""
    fixed(OPTIONAL_FAILURE)
    assert cli.main(["doctor"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == (
        "doctor: 1 passed, 1 failed (0 required), 0 skipped: containers should run here"
    )


def test_json_report(fixed, capsys):
    """--format json gives ok and every check with its fields."""
    fixed(FIXED)
    assert cli.main(["doctor", "--format", "json"]) == 1
    assert json.loads(capsys.readouterr().out) == {
        "ok": False,
        "checks": [
            {
                "name": "userns-max",
                "status": "pass",
                "detail": "user.max_user_namespaces = 15000",
                "hint": "",
                "required": True,
            },
            {
                "name": "runtime",
                "status": "fail",
                "detail": "no working apptainer or singularity; tried: nothing",
                "hint": "install apptainer",
                "required": True,
            },
            {
                "name": "gpu-amd",
                "status": "skip",
                "detail": "no /dev/kfd and no rocm-smi",
                "hint": "",
                "required": False,
            },
        ],
    }


def run_json(capsys, *argv):
    """Run doctor --format json on this node; return (status, report)."""
    status = cli.main(["doctor", "--format", "json", "--timeout", "10", *argv])
    return status, json.loads(capsys.readouterr().out)


def by_name(report):
    """The report's checks keyed by name."""
    return {check["name"]: check for check in report["checks"]}


def test_json_schema_on_this_node(tmp_path, capsys):
    """The real gathering gives the twelve checks, each with the schema's fields and types."""
    fake = make_fake_runtime(tmp_path / "bin" / "apptainer")
    image = tmp_path / "image"
    image.mkdir()
    status, report = run_json(capsys, "--runtime", str(fake), "--image", str(image))
    assert sorted(report) == ["checks", "ok"]
    assert isinstance(report["ok"], bool)
    assert status == (0 if report["ok"] else 1)
    assert [check["name"] for check in report["checks"]] == [
        "userns-max",
        "userns-clone",
        "userns-apparmor",
        "userns-unshare",
        "runtime",
        "container",
        "pid-namespace",
        "ipc-namespace",
        "overlay",
        "cvmfs",
        "gpu-nvidia",
        "gpu-amd",
        "image-store",
        "sif",
    ]
    for check in report["checks"]:
        assert sorted(check) == ["detail", "hint", "name", "required", "status"]
        assert check["status"] in ("pass", "fail", "skip")
        assert isinstance(check["required"], bool)
        assert bool(check["hint"]) == (check["status"] == "fail")
    checks = by_name(report)
    assert (checks["runtime"], checks["container"], checks["ipc-namespace"]) == (
        {
            "name": "runtime",
            "status": "pass",
            "detail": "{} (version 1.4.5)".format(fake),
            "hint": "",
            "required": True,
        },
        {
            "name": "container",
            "status": "pass",
            "detail": "{} started a container from {}: unprivileged mode (uid_map)".format(fake, image),
            "hint": "",
            "required": True,
        },
        {
            "name": "ipc-namespace",
            "status": "pass",
            "detail": "the container ran with --ipc",
            "hint": "",
            "required": False,
        },
    )


def test_failing_container_on_this_node(tmp_path, capsys):
    """A runtime whose container fails gives a required failure, its first error line and the fix."""
    fake = make_fake_runtime(
        tmp_path / "apptainer", exec_rc=255, exec_err="FATAL:   could not open image /nowhere: no such file"
    )
    image = tmp_path / "image"
    image.mkdir()
    status, report = run_json(capsys, "--runtime", str(fake), "--image", str(image))
    assert status == 1
    assert by_name(report)["container"] == {
        "name": "container",
        "status": "fail",
        "detail": "{}: FATAL:   could not open image /nowhere: no such file".format(image),
        "hint": "run {} -d exec {} true to see why the container does not start".format(fake, image),
        "required": True,
    }


def test_runtime_discovered_on_path(tmp_path, capsys, monkeypatch):
    """Without --runtime, doctor finds apptainer like the startup script does (here: on PATH)."""
    fake = make_fake_runtime(tmp_path / "bin" / "apptainer", version_out="apptainer version 1.3.6")
    monkeypatch.setenv("PATH", "{}:/usr/bin:/bin".format(fake.parent))
    _, report = run_json(capsys)
    assert by_name(report)["runtime"]["detail"] == "{} (version 1.3.6)".format(fake)
    assert by_name(report)["container"]["detail"] == "no --image given: no container started, mode unknown"


def test_broken_runtime_reported(tmp_path, capsys):
    """A --runtime that does not answer --version is a required failure naming it."""
    fake = make_fake_runtime(tmp_path / "apptainer", version_out="", version_rc=1)
    status, report = run_json(capsys, "--runtime", str(fake))
    assert status == 1
    assert by_name(report)["runtime"]["detail"] == (
        "no working apptainer or singularity; tried: {}: "
        "version check failed: exit code 1 and no output".format(fake)
    )


def test_named_cvmfs_repository_missing(tmp_path, capsys, monkeypatch):
    """A named repository that cannot be listed under CVMFS_MOUNT_DIR is a required failure."""
    monkeypatch.setenv("CVMFS_MOUNT_DIR", str(tmp_path))
    status, report = run_json(capsys, "--cvmfs-repo", "gone.org")
    assert status == 1
    assert by_name(report)["cvmfs"] == {
        "name": "cvmfs",
        "status": "fail",
        "detail": "{}/gone.org cannot be listed".format(tmp_path),
        "hint": "cvmfs_config probe gone.org: check CVMFS_REPOSITORIES and that autofs runs "
        "(systemctl status autofs)",
        "required": True,
    }


def test_bad_timeout_is_a_usage_error(capsys):
    """--timeout 0 exits 2 with a one-line error."""
    assert cli.main(["doctor", "--timeout", "0"]) == 2
    assert capsys.readouterr().err == "ERROR: --timeout must be a positive number of seconds, not 0\n"


def test_bad_format_is_a_usage_error(capsys):
    """An unknown --format is rejected by argparse (exit 2)."""
    with pytest.raises(SystemExit) as info:
        cli.main(["doctor", "--format", "xml"])
    assert info.value.code == 2
    assert "invalid choice: 'xml'" in capsys.readouterr().err
