"""The health probe's pure core: verdicts, black-hole accounting, cron output and its escaping."""

import pytest

from glidein_singularity.node.health_rules import (
    Check,
    HealthFacts,
    Marker,
    account_failures,
    classad_string,
    cvmfs_repositories,
    evaluate,
    format_cron_output,
    parse_node_config,
)
from glidein_singularity.node.probes import probe_paths
from glidein_singularity.runtime import ProcessResult

NOW = 1700000000
RUNTIME_OK = Check("runtime /usr/bin/apptainer", True, "unprivileged")
IMAGES_OK = (
    Check("image /cvmfs/singularity.opensciencegrid.org/el9:latest", True, "present"),
    Check("image /cvmfs/singularity.opensciencegrid.org/el8:latest", True, "present"),
)
REPOS_OK = (Check("CVMFS repository singularity.opensciencegrid.org", True, "reachable"),)


def facts(**changes):
    """Healthy facts with ``changes`` applied."""
    base = HealthFacts("", (), RUNTIME_OK, IMAGES_OK, REPOS_OK, 0, 0)
    return base._replace(**changes)


def attrs(has, healthy, reason, failures=0):
    """The attribute list evaluate returns."""
    return [
        ("HAS_SINGULARITY", has),
        ("GS_HEALTHY", healthy),
        ("GS_HEALTH_REASON", reason),
        ("GS_HEALTH_CHECKED", NOW),
        ("GS_CONSECUTIVE_FAILURES", failures),
    ]


OK_TEXT = "ok: runtime /usr/bin/apptainer (unprivileged), 2 images present, 1 CVMFS repository reachable"


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        pytest.param(facts(), attrs(True, True, OK_TEXT), id="healthy"),
        pytest.param(
            facts(runtime=Check("runtime /usr/bin/apptainer", False, "FATAL: container creation failed")),
            attrs(False, False, "runtime /usr/bin/apptainer failed: FATAL: container creation failed"),
            id="runtime-broken",
        ),
        pytest.param(
            facts(runtime=Check("runtime /usr/bin/apptainer", False, "timed out after 58 s")),
            attrs(False, False, "runtime /usr/bin/apptainer failed: timed out after 58 s"),
            id="runtime-hangs",
        ),
        pytest.param(
            facts(images=(IMAGES_OK[0], Check("image /cvmfs/x.org/el8", False, "missing"))),
            attrs(False, False, "image /cvmfs/x.org/el8: missing"),
            id="image-missing",
        ),
        pytest.param(
            facts(repos=(Check("CVMFS repository x.org", False, "not reachable at /cvmfs/x.org"),)),
            attrs(False, False, "CVMFS repository x.org: not reachable at /cvmfs/x.org"),
            id="cvmfs-gone",
        ),
        pytest.param(
            facts(repos=(Check("CVMFS repository x.org", False, "timed out after 10 s"),)),
            attrs(False, False, "CVMFS repository x.org: timed out after 10 s"),
            id="cvmfs-hangs",
        ),
        pytest.param(
            facts(failures=3),
            attrs(
                False,
                False,
                "the job wrapper reported 3 pre-start failures in a row (limit 3; "
                "its messages are in the StarterLog)",
                3,
            ),
            id="marker-at-limit",
        ),
        pytest.param(
            facts(failures=7),
            attrs(
                False,
                False,
                "the job wrapper reported 7 pre-start failures in a row (limit 3; "
                "its messages are in the StarterLog)",
                7,
            ),
            id="marker-above-limit",
        ),
        pytest.param(
            facts(failures=1),
            attrs(True, True, OK_TEXT + ", 1 pre-start failure in a row (limit 3)", 1),
            id="marker-below-limit",
        ),
        pytest.param(
            facts(released=3),
            attrs(True, True, OK_TEXT + ", released 3 earlier pre-start failures after the hold time"),
            id="recovered-after-hold",
        ),
        pytest.param(
            facts(not_used="GWMS_SINGULARITY_STATUS is NEVER", runtime=None, images=(), repos=()),
            attrs(False, True, "containers not used: GWMS_SINGULARITY_STATUS is NEVER"),
            id="never",
        ),
        pytest.param(
            facts(config_errors=("cannot read glidein_config /g/glidein_config: No such file or directory",)),
            attrs(False, False, "cannot read glidein_config /g/glidein_config: No such file or directory"),
            id="config-unreadable",
        ),
        pytest.param(
            facts(
                failures=4,
                runtime=Check("runtime /a", False, "exit code 1 and no output"),
                repos=(Check("CVMFS repository x.org", False, "timed out after 10 s"),),
            ),
            attrs(
                False,
                False,
                "the job wrapper reported 4 pre-start failures in a row (limit 3; its messages are in the "
                "StarterLog); runtime /a failed: exit code 1 and no output; CVMFS repository x.org: timed "
                "out after 10 s",
                4,
            ),
            id="everything-at-once",
        ),
        pytest.param(
            facts(runtime=Check("runtime /a", True, "version 1.4.5; no local image to start a container")),
            attrs(
                True,
                True,
                "ok: runtime /a (version 1.4.5; no local image to start a container), 2 images present, "
                "1 CVMFS repository reachable",
            ),
            id="version-only",
        ),
    ],
)
def test_evaluate(given, expected):
    """Each situation gives its attributes and a reason naming what failed."""
    assert expected == evaluate(given, 3, NOW)


@pytest.mark.parametrize(
    ("marker", "released", "age", "checks_ok", "expected"),
    [
        pytest.param(Marker(0, 0.0), 0, 0, True, (0, 0), id="no-marker"),
        pytest.param(Marker(2, NOW), 0, 0, True, (2, 0), id="below-limit"),
        pytest.param(Marker(3, NOW), 0, 599, True, (3, 0), id="at-limit-hold-running"),
        pytest.param(Marker(3, NOW), 0, 600, True, (0, 3), id="at-limit-hold-over-released"),
        pytest.param(Marker(3, NOW), 0, 9999, False, (3, 0), id="hold-over-but-own-checks-fail"),
        pytest.param(Marker(4, NOW), 3, 0, True, (1, 3), id="new-failure-after-release"),
        pytest.param(Marker(6, NOW), 3, 0, True, (3, 3), id="quarantined-again"),
        pytest.param(Marker(0, 0.0), 3, 0, True, (0, 0), id="wrapper-reset-forgets-release"),
        pytest.param(Marker(1, NOW), 3, 0, True, (1, 0), id="reset-then-new-failure"),
    ],
)
def test_account_failures(marker, released, age, checks_ok, expected):
    """Failures count until the hold time passes with good checks; a wrapper reset clears the release."""
    assert expected == account_failures(marker, released, marker.when + age, 600, 3, checks_ok)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("plain text", '"plain text"', id="plain"),
        pytest.param('say "hi"', "\"say 'hi'\"", id="double-quotes"),
        pytest.param("C:\\path\\n", '"C:/path/n"', id="backslashes"),
        pytest.param("line one\nline two\ttab", '"line one line two tab"', id="newline-tab"),
        pytest.param("bell\x07 del\x7f nul\x00", '"bell del nul"', id="control-characters"),
        pytest.param("bad \udcff byte", '"bad byte"', id="undecodable-byte"),
        pytest.param("caf\u00e9 \u2713", '"caf\u00e9 \u2713"', id="non-ascii-kept"),
        pytest.param("  padded   ", '"padded"', id="blanks-folded"),
        pytest.param("x" * 1200, '"' + "x" * 997 + '..."', id="cut-to-1000"),
    ],
)
def test_classad_string(text, expected):
    """Strings are quoted so old- and new-syntax ClassAd parsers read the same text."""
    assert expected == classad_string(text)


@pytest.mark.parametrize(
    ("changed", "expected"),
    [
        pytest.param(
            True,
            "HAS_SINGULARITY = false\nGS_HEALTHY = false\nGS_HEALTH_REASON = \"runtime /a failed: 'x'\"\n"
            "GS_HEALTH_CHECKED = 1700000000\nGS_CONSECUTIVE_FAILURES = 2\n- update:true\n",
            id="changed",
        ),
        pytest.param(
            False,
            "HAS_SINGULARITY = false\nGS_HEALTHY = false\nGS_HEALTH_REASON = \"runtime /a failed: 'x'\"\n"
            "GS_HEALTH_CHECKED = 1700000000\nGS_CONSECUTIVE_FAILURES = 2\n",
            id="unchanged",
        ),
    ],
)
def test_format_cron_output(changed, expected):
    """Booleans, integers and strings in startd-cron syntax; the update line only on a change."""
    attributes = attrs(False, False, 'runtime /a failed: "x"', 2)
    assert expected == format_cron_output(attributes, changed)


@pytest.mark.parametrize(
    ("images", "mount_dir", "expected"),
    [
        pytest.param(
            [
                "/cvmfs/singularity.opensciencegrid.org/a",
                "/cvmfs/unpacked.cern.ch/b",
                "/cvmfs/unpacked.cern.ch/c",
            ],
            "",
            ["singularity.opensciencegrid.org", "unpacked.cern.ch"],
            id="once-each-in-order",
        ),
        pytest.param(["/opt/images/el9.sif"], "", [], id="not-cvmfs"),
        pytest.param(["/mnt/cvmfs/atlas.cern.ch/img"], "/mnt/cvmfs", ["atlas.cern.ch"], id="cvmfs-mount-dir"),
        pytest.param(["/cvmfs"], "", [], id="bare-root"),
    ],
)
def test_cvmfs_repositories(images, mount_dir, expected):
    """Repositories are read off the image paths under /cvmfs or CVMFS_MOUNT_DIR."""
    assert expected == cvmfs_repositories(images, mount_dir)


def test_parse_node_config():
    """The standalone setup's config.d file reads back as plain values."""
    text = (
        "# Written by gs-setup --standalone\n"
        "HAS_SINGULARITY = True\n"
        'SINGULARITY_PATH = "/usr/bin/apptainer"\n'
        'SINGULARITY_IMAGES_DICT = "default:/cvmfs/a/$(DOLLAR)x,el9:/b\\\\c"\n'
        'GS_HEALTH_REASON = "say \\"hi\\""\n'
        "STARTD_ATTRS = $(STARTD_ATTRS) HAS_SINGULARITY SINGULARITY_PATH\n"
    )
    assert parse_node_config(text) == {
        "HAS_SINGULARITY": "True",
        "SINGULARITY_PATH": "/usr/bin/apptainer",
        "SINGULARITY_IMAGES_DICT": "default:/cvmfs/a/$x,el9:/b\\c",
        "GS_HEALTH_REASON": 'say "hi"',
    }


def fake_runner(stdout, returncode, problem=""):
    """A runner that returns a fixed result and records the argv it got."""
    calls = []

    def run(argv, timeout, env=None, cwd=None):
        calls.append((list(argv), timeout))
        return ProcessResult(returncode, stdout, "", 0.1, problem)

    run.calls = calls
    return run


PATHS = [("e", "/img/a"), ("e", "/img/b"), ("d", "/cvmfs/x.org"), ("d", "/cvmfs/y.org")]


@pytest.mark.parametrize(
    ("stdout", "returncode", "problem", "expected"),
    [
        pytest.param(
            "0 ok\n1 missing\n2 ok\n3 ok\n", 0, "", ["ok", "missing", "ok", "ok"], id="all-answered"
        ),
        pytest.param(
            "0 ok\n1 ok\n2 ",
            None,
            "timed out after 10 s",
            ["ok", "ok", "timed out after 10 s", "not checked (an earlier path hung)"],
            id="hung-on-a-repository",
        ),
        pytest.param(
            "",
            None,
            "timed out after 10 s",
            [
                "timed out after 10 s",
                "not checked (an earlier path hung)",
                "not checked (an earlier path hung)",
                "not checked (an earlier path hung)",
            ],
            id="hung-before-any-output",
        ),
        pytest.param(
            "",
            None,
            "cannot run: No such file or directory",
            ["not checked: cannot run: No such file or directory"] * 4,
            id="shell-missing",
        ),
    ],
)
def test_probe_paths(stdout, returncode, problem, expected):
    """Each path gets its own answer; a hang names the path it happened on."""
    runner = fake_runner(stdout, returncode, problem)
    assert expected == probe_paths(PATHS, 10, runner)
    argv, timeout = runner.calls[0]
    assert (argv[:2], argv[4:], timeout) == (
        ["/bin/sh", "-c"],
        ["e:/img/a", "e:/img/b", "d:/cvmfs/x.org", "d:/cvmfs/y.org"],
        10,
    )


def test_probe_paths_real_shell(tmp_path):
    """The real child shell tells a file, a non-empty directory, an empty one and a missing path apart."""
    (tmp_path / "file").write_text("x")
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "entry").write_text("x")
    (tmp_path / "empty").mkdir()
    paths = [
        ("e", str(tmp_path / "file")),
        ("d", str(tmp_path / "full")),
        ("d", str(tmp_path / "empty")),
        ("e", str(tmp_path / "gone")),
        ("e", str(tmp_path / "with space:colon")),
    ]
    assert probe_paths(paths, 10) == ["ok", "ok", "missing", "missing", "missing"]


def test_a_failing_probe_publishes_unhealthy(tmp_path, monkeypatch, capsys):
    """An error of the probe itself still ends in its result: the slot is published unhealthy with the
    error, never left with its last verdict (and the cron job exits 0, as documented)."""
    from glidein_singularity.node import health

    def broken(*args):
        raise RuntimeError("something broke")

    monkeypatch.setattr(health, "gather", broken)
    code = health.main(["gs-health", "--state-dir", str(tmp_path / "state")], {})
    out = capsys.readouterr().out
    assert 0 == code
    assert "GS_HEALTHY = false" in out
    assert 'GS_HEALTH_REASON = "the health probe failed: RuntimeError: something broke"' in out
