"""The explain sub-command, in process: table and JSON output, exit codes."""

import json

import pytest

from glidein_singularity.cli import main

JOB = 'Cmd = "/x/job"\nREQUIRED_OS = "rhel8"\n'
MACHINE = (
    "HAS_SINGULARITY = true\n"
    'SINGULARITY_PATH = "/usr/bin/apptainer"\n'
    'SINGULARITY_IMAGE_RESTRICTIONS = "remote"\n'
    'SINGULARITY_IMAGES_DICT = "rhel8:docker://almalinux:8,rhel9:docker://almalinux:9"\n'
)


@pytest.fixture
def ads(tmp_path, monkeypatch):
    """A job ad and a machine ad on disk, and a clean sandbox."""
    (tmp_path / "job.ad").write_text(JOB)
    (tmp_path / "machine.ad").write_text(MACHINE)
    sandbox = tmp_path / "sandbox"
    sandbox.mkdir()
    for name in ("_CONDOR_SCRATCH_DIR", "_CONDOR_WRAPPER_ERROR_FILE", "_CONDOR_JOB_IWD", "GS_GLIDEIN_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def _args(ads, *extra):
    return [
        "explain", "--job-ad", str(ads / "job.ad"), "--machine-ad", str(ads / "machine.ad"),
        "--sandbox", str(ads / "sandbox"), *extra,
    ]  # fmt: skip


def test_json_schema(ads, capsys):
    """JSON has exactly the documented keys and types."""
    code = main(_args(ads, "--format", "json", "--", str(ads / "sandbox" / "run.sh"), "1"))
    data = json.loads(capsys.readouterr().out)
    assert 0 == code
    assert {"use_container", "image", "argv", "env", "reasons", "error", "launch"} == set(data)
    assert {"mode": "wrapper"} == data["launch"]
    assert data["use_container"] is True
    assert data["image"] == "docker://almalinux:8"
    assert data["error"] is None
    assert data["argv"][0] == "/usr/bin/apptainer"
    assert data["argv"][-2:] == ["/srv/run.sh", "1"]
    assert {"set", "unset"} == set(data["env"])
    assert data["env"]["set"]["APPTAINERENV_TMPDIR"] == "/srv/.gs_tmp"
    assert all(isinstance(reason, str) for reason in data["reasons"])


def test_htcondor_mode_shows_what_the_starter_runs(ads, capsys):
    """With GS_USE_HTCONDOR the plan is split into what the hook tells the starter and the starter's
    own command line (with our launcher after the image)."""
    (ads / "machine.ad").write_text(MACHINE + "GS_USE_HTCONDOR = true\n")
    sandbox = str(ads / "sandbox")

    code = main(_args(ads, "--format", "json", "--", sandbox + "/run.sh", "1"))
    launch = json.loads(capsys.readouterr().out)["launch"]

    assert 0 == code
    assert "htcondor" == launch["mode"]
    assert "docker://almalinux:8" == launch["hook_sets"]["GS_ContainerImage"]
    assert launch["hook_sets"]["GS_ContainerArgs"].startswith('"--home {}:/srv --bind '.format(sandbox))
    argv = launch["starter_argv"]
    assert ["/usr/bin/apptainer", "-s", "exec"] == argv[:3]
    assert ["-C", "--home", sandbox + ":/srv", "--bind"] == argv[argv.index("-C") : argv.index("-C") + 4]
    assert "docker://almalinux:8" == argv[argv.index("-C") + 5]
    assert ["/srv/run.sh", "1"] == argv[-2:]
    main(_args(ads))
    assert "launch:        HTCondor mode" in capsys.readouterr().out


def test_table_output(ads, capsys):
    """The table shows the decision, the argv one per line and the reasons."""
    code = main(_args(ads))
    out = capsys.readouterr().out
    assert 0 == code
    assert "container:     yes\nimage:         docker://almalinux:8\nargv:\n  '/usr/bin/apptainer'\n" in out
    assert 'reasons:\n  - image from SINGULARITY_IMAGES_DICT key "rhel8"' in out


def test_refusal_exit_code_and_error(ads, capsys):
    """A refusal exits 1 and reports the message as error."""
    missing = ads / "missing.sif"
    (ads / "job.ad").write_text(JOB + 'SingularityImage = "{}"\n'.format(missing))
    code = main(_args(ads, "--format", "json"))
    data = json.loads(capsys.readouterr().out)
    assert 1 == code
    expected = (
        "the job's image \"{0}\" does not exist ({0} is not on this node): check the image's name in the "
        "submit file".format(missing)
    )
    assert expected == data["error"]
    assert (False, None, []) == (data["use_container"], data["image"], data["argv"])


def test_bare_plan_table(ads, capsys):
    """A slot without containers explains why the job runs bare."""
    (ads / "machine.ad").write_text("HAS_SINGULARITY = false\n")
    code = main(_args(ads, "--", "/bin/true"))
    out = capsys.readouterr().out
    assert 0 == code
    assert "container:     no\nimage:         -\nargv:\n  '/bin/true'\n" in out
    assert "  - HAS_SINGULARITY is False: running the job without a container" in out


def test_missing_ad_is_an_error(ads, capsys):
    """An unreadable ad prints one ERROR line and exits 1."""
    code = main(["explain", "--job-ad", str(ads / "nope.ad"), "--machine-ad", str(ads / "machine.ad")])
    assert 1 == code
    assert "ERROR: cannot read the job ad {}: No such file or directory\n".format(ads / "nope.ad") == (
        capsys.readouterr().err
    )
