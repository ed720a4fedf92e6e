"""explain believes no bad input, explains every queued job, and its candidates are what the pool has
(issue #17's findings on explain, one test each; the live pool is tests/integration/test_explain_live.py)."""

import io
import json
import pathlib

import pytest

from glidein_singularity.cli import main

ROOT = pathlib.Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "docs" / "examples"
JOB_AD = str(EXAMPLES / "job.ad")
MACHINE_AD = str(EXAMPLES / "machine.ad")
SLOTS = str(EXAMPLES / "slots.ads")
#: The job directory explain shows when none is given (commands.explain.SANDBOX).
SANDBOX = "/var/lib/condor/execute/dir_1"
START_CONFIG = str(ROOT / "condor_config.d" / "60-glidein-singularity-start.config")
EL9 = "/cvmfs/singularity.opensciencegrid.org/opensciencegrid/osgvo-el9:latest"


def test_garbage_job_ad_is_an_error(tmp_path, capsys):
    """`garbage ==== x` is not a job ad: exit 1 with a message, never `container: yes`."""
    bad = tmp_path / "job.ad"
    bad.write_text("garbage ==== x\n")
    assert 1 == main(["explain", "--job-ad", str(bad), "--machine-ad", MACHINE_AD])
    captured = capsys.readouterr()
    assert "container:" not in captured.out
    assert "does not parse as a ClassAd: garbage = === x is not a ClassAd expression" in captured.err


def test_line_that_is_not_an_attribute_is_an_error(tmp_path, capsys):
    """A line that is not `Name = value` is refused, naming the line."""
    bad = tmp_path / "job.ad"
    bad.write_text('ClusterId = 1\nthis is not an ad\nCmd = "/bin/true"\n')
    assert 1 == main(["explain", "--job-ad", str(bad), "--machine-ad", MACHINE_AD])
    assert "line 2: not 'Name = value'" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        pytest.param(
            ["--job-ad", MACHINE_AD, "--machine-ad", JOB_AD],
            "is a machine ad (by its MyType or attributes): give it with --machine-ad",
            id="swapped",
        ),
        pytest.param(
            ["--job-ad", JOB_AD, "--machine-ad", JOB_AD],
            "the machine ad {} is a job ad (by its MyType or attributes): give it with --job-ad".format(
                JOB_AD
            ),
            id="job-as-machine",
        ),
    ],
)
def test_ads_of_the_wrong_kind_are_errors(argv, message, capsys):
    """A machine ad given as the job ad (or the reverse) is an error that says so."""
    assert 1 == main(["explain", *argv])
    assert message in capsys.readouterr().err


def test_machine_ads_file_is_validated(tmp_path, capsys):
    """--machine-ads with a job ad among the slots, or garbage, is an error naming the file."""
    bad = tmp_path / "slots.ads"
    bad.write_text(pathlib.Path(SLOTS).read_text() + "\n" + pathlib.Path(JOB_AD).read_text())
    assert 1 == main(
        ["explain", "--job-ad", JOB_AD, "--machine-ads", str(bad), "--start-config", START_CONFIG]
    )
    assert "the machine ad {} is a job ad".format(bad) in capsys.readouterr().err
    bad.write_text('Name = "slot1@x"\nSlotID = 1\nStart = ((\n')
    assert 1 == main(
        ["explain", "--job-ad", JOB_AD, "--machine-ads", str(bad), "--start-config", START_CONFIG]
    )
    assert "does not parse as a ClassAd: Start = (( is not a ClassAd expression" in capsys.readouterr().err


def test_mytype_decides_the_kind(tmp_path, capsys):
    """An ad with MyType = "Machine" is a machine ad whatever else it holds."""
    ad = tmp_path / "x.ad"
    ad.write_text('MyType = "Machine"\nCmd = "/bin/true"\n')
    assert 1 == main(["explain", "--job-ad", str(ad), "--machine-ad", MACHINE_AD])
    assert "is a machine ad" in capsys.readouterr().err


def test_job_ad_from_stdin(monkeypatch, capsys):
    """`condor_q -l 123 | glidein-singularity explain --job-ad - ...` reads the ad from standard input."""
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(pathlib.Path(JOB_AD).read_bytes())))
    assert 0 == main(["explain", "--job-ad", "-", "--machine-ad", MACHINE_AD, "--format", "json"])
    assert json.loads(capsys.readouterr().out)["use_container"] is True


def test_several_job_ads_from_stdin_are_each_explained(monkeypatch, capsys):
    """condor_q -l of a cluster (ads separated by blank lines): every proc is explained."""
    text = pathlib.Path(JOB_AD).read_text()
    two = text + "\n" + text.replace("ProcId = 0", "ProcId = 1")
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(two.encode())))
    argv = ["explain", "--job-ad", "-", "--machine-ads", SLOTS, "--start-config", START_CONFIG]
    assert 0 == main([*argv, "--format", "json"])
    results = json.loads(capsys.readouterr().out)
    assert ["42.0", "42.0", "42.1", "42.1"] == [item["job"] for item in results]


def test_every_queued_job_of_a_submit_file_is_explained(tmp_path, capsys):
    """`queue 3` explains three jobs, each with its own $(Process); --proc picks one."""
    sub = tmp_path / "job.sub"
    sub.write_text(
        'executable = /bin/echo\narguments = $(Process)\n+SingularityImage = "{}"\nqueue 3\n'.format(EL9)
    )
    argv = ["explain", "--submit", str(sub), "--machine-ads", SLOTS, "--start-config", START_CONFIG]
    assert 0 == main([*argv, "--format", "json"])
    results = json.loads(capsys.readouterr().out)
    assert ["job 0", "job 0", "job 1", "job 1", "job 2", "job 2"] == [item["job"] for item in results]
    planned = [item["plan"]["argv"][-1] for item in results if item["plan"] and not item["plan"]["error"]]
    assert ["0", "1", "2"] == planned
    assert 0 == main([*argv, "--format", "json", "--proc", "2"])
    results = json.loads(capsys.readouterr().out)
    assert {"job 2"} == {item["job"] for item in results}
    assert 0 == main([*argv])
    text = capsys.readouterr().out
    assert "=== job 0: " in text
    assert "=== job 2: " in text


def test_sandbox_does_not_default_to_the_current_directory(tmp_path, monkeypatch, capsys):
    """Without --sandbox or _CONDOR_SCRATCH_DIR, the job directory is the documented one, said in a note."""
    from glidein_singularity.commands import explain

    assert SANDBOX == explain.SANDBOX
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("_CONDOR_SCRATCH_DIR", raising=False)
    assert 0 == main(["explain", "--job-ad", JOB_AD, "--machine-ad", MACHINE_AD, "--format", "json"])
    captured = capsys.readouterr()
    data = json.loads(captured.out)
    assert str(tmp_path) not in json.dumps(data)
    assert any(arg.startswith(SANDBOX) for arg in data["argv"])
    assert (
        "note: the job directory is shown as {} (give --sandbox to change it)".format(SANDBOX) in captured.err
    )


def test_job_argv_after_double_dash_with_a_job_ad(capsys):
    """`--job-ad FILE --machine-ad FILE -- cmd args`: the command is the job's, not a job id."""
    argv = [
        "explain",
        "--job-ad",
        JOB_AD,
        "--machine-ad",
        MACHINE_AD,
        "--format",
        "json",
        "--",
        "/bin/x",
        "a",
    ]
    assert 0 == main(argv)
    assert ["/bin/x", "a"] == json.loads(capsys.readouterr().out)["argv"][-2:]


CONFIG = """\
frontend:
  groups:
    main:
      singularity_use: PREFERRED
      image_restrictions: [cvmfs, remote]
      images:
        default: {el9}
      denied_image_sources: [docker://evil/*]
factory:
  entries:
    cpu_site: {{}}
    gpu_site:
      extra_attrs:
        GLIDEIN_Resource_Slots: GPUs,2
""".format(el9=EL9)


def _explain_config(tmp_path, capsys, submit_text):
    (tmp_path / "site.yaml").write_text(CONFIG)
    (tmp_path / "job.sub").write_text(submit_text)
    argv = ["explain", "--submit", str(tmp_path / "job.sub"), "--config", str(tmp_path / "site.yaml")]
    code = main([*argv, "--start-config", START_CONFIG, "--format", "json"])
    return code, {item["glidein"]: item for item in json.loads(capsys.readouterr().out)}


def test_config_candidates_carry_the_image_source_regexes(tmp_path, capsys):
    """A denied image does not match (START keeps the job idle); it is not "refused by the wrapper"."""
    code, results = _explain_config(
        tmp_path, capsys, 'executable = /bin/true\n+SingularityImage = "docker://evil/miner:1"\nqueue\n'
    )
    assert 1 == code
    for item in results.values():
        assert not item["matched"]
        assert item["plan"] is None
        assert any(
            "is not an allowed image source here" in r and 'GS_IMAGE_DENY_REGEX "' in r
            for r in item["why_not"]
        )


def test_yaml_entries_declare_gpus(tmp_path, capsys):
    """request_gpus = 1 matches the entry whose GLIDEIN_Resource_Slots has GPUs; the others say how."""
    code, results = _explain_config(tmp_path, capsys, "executable = /bin/true\nrequest_gpus = 1\nqueue\n")
    assert 0 == code
    assert results["main @ gpu_site"]["plan"]["error"] is None
    assert "--nv" in results["main @ gpu_site"]["plan"]["argv"]
    assert not results["main @ cpu_site"]["matched"]
    assert any("GLIDEIN_Resource_Slots: GPUs,N" in note for note in results["main @ cpu_site"]["notes"])


def test_job_id_needs_the_pool(monkeypatch, capsys):
    """`explain 123.0` asks the schedd; without a reachable one the error says which job it looked for."""
    monkeypatch.setenv("CONDOR_CONFIG", "/nonexistent/condor_config")
    assert 1 == main(["explain", "123.0"])
    err = capsys.readouterr().err
    assert err.startswith("ERROR: ")
    assert "123.0" in err or "HTCondor" in err
