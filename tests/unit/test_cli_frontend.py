"""The lint, render and import commands, run in-process through cli.main, plus one console-script run."""

import json
import pathlib
import shutil
import subprocess

import pytest

from glidein_singularity.cli import main

EXAMPLE = "frontend/example.yaml"
FRONTEND_XML = "tests/data/gwms/frontend.xml"
FACTORY_XML = "tests/data/gwms/glideinWMS.xml"


@pytest.fixture
def bad_yaml(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("frontend:\n  groups:\n    cms: {singularity_use: REQIRED}\n")
    return str(path)


@pytest.fixture
def broken_xml(tmp_path):
    path = tmp_path / "broken.xml"
    path.write_text("<frontend><attrs>")
    return str(path)


TABLE = [
    pytest.param(
        ["lint", EXAMPLE, "--cvmfs-root", "{empty}"],
        0,
        "0 error(s), 0 warning(s), 1 note(s)",
        "",
        id="lint-clean",
    ),
    pytest.param(
        ["lint", "{bad}", "--cvmfs-root", "{empty}"],
        1,
        "GS101 error: frontend.groups.cms.singularity_use: 'REQIRED' is not one of",
        "",
        id="lint-findings",
    ),
    pytest.param(
        ["lint", "{missing}"], 2, "", "cannot read: No such file or directory", id="lint-missing-file"
    ),
    pytest.param(
        ["lint", EXAMPLE, "--cvmfs-root", "{missing}"], 2, "", "not a directory", id="lint-bad-cvmfs-root"
    ),
    pytest.param(
        ["render", EXAMPLE, "--part", "factory"], 0, '<entry name="OSG_US_Example_CE1">', "", id="render"
    ),
    pytest.param(["render", "{bad}"], 1, "", "ERROR: ", id="render-invalid-yaml"),
    pytest.param(["render", "{missing}"], 2, "", "cannot read", id="render-missing-file"),
    pytest.param(
        ["import", FRONTEND_XML, FACTORY_XML],
        0,
        "singularity_require: REQUIRED_GWMS",
        "WARNING: ",
        id="import",
    ),
    pytest.param(["import", "{broken}"], 1, "", "ERROR: ", id="import-invalid-xml"),
    pytest.param(["import", "{missing}"], 2, "", "cannot read", id="import-missing-file"),
]


@pytest.mark.parametrize(("argv", "status", "stdout", "stderr"), TABLE)
def test_commands(argv, status, stdout, stderr, bad_yaml, broken_xml, tmp_path, capsys):
    """Each command line gives its documented exit status and output."""
    (tmp_path / "empty").mkdir()  # the --cvmfs-root of lint: never the host's /cvmfs
    values = {
        "bad": bad_yaml,
        "broken": broken_xml,
        "missing": str(tmp_path / "missing"),
        "empty": str(tmp_path / "empty"),
    }
    assert main([arg.format(**values) for arg in argv]) == status
    out, err = capsys.readouterr()
    assert stdout in out
    assert stderr in err


USAGE = [
    pytest.param(["lint"], id="lint-without-config"),
    pytest.param(["lint", EXAMPLE, "--format", "xml"], id="lint-bad-format"),
    pytest.param(["render", EXAMPLE, "--part", "groups"], id="render-bad-part"),
    pytest.param(["import"], id="import-without-files"),
]


@pytest.mark.parametrize("argv", USAGE)
def test_usage_errors_exit_2(argv, capsys):
    """Bad arguments are usage errors: argparse exits with status 2."""
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    assert "usage: glidein-singularity" in capsys.readouterr().err


def test_lint_json(bad_yaml, capsys):
    """--format json lists each finding with rule, severity, file, line, key and message."""
    assert main(["lint", bad_yaml, "--format", "json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["counts"] == {"error": 1, "warning": 0, "note": 0}
    (finding,) = report["findings"]
    assert finding == {
        "rule": "GS101",
        "severity": "error",
        "file": bad_yaml,
        "line": 3,
        "key": "frontend.groups.cms.singularity_use",
        "message": "'REQIRED' is not one of DISABLE_GWMS, NEVER, OPTIONAL, PREFERRED, REQUIRED "
        "(did you mean 'REQUIRED'?)",
    }


def test_lint_checks_cvmfs_under_a_root(tmp_path, capsys):
    """With --cvmfs-root, CVMFS images are looked up there and a missing one is an error."""
    image = tmp_path / "cvmfs" / "repo" / "el9"
    image.mkdir(parents=True)
    config = tmp_path / "fe.yaml"
    config.write_text("frontend:\n  global:\n    images: {rhel9: /cvmfs/repo/el9, rhel8: /cvmfs/repo/el8}\n")
    assert main(["lint", str(config), "--cvmfs-root", str(tmp_path / "cvmfs")]) == 1
    out = capsys.readouterr().out
    assert out.splitlines()[0] == "{}:3: GS106 error: frontend.global.images.rhel8: {}".format(
        config, "CVMFS image '/cvmfs/repo/el8' does not exist"
    )
    assert "rhel9" not in out


def test_render_writes_files(tmp_path, capsys):
    """render -o DIR writes frontend.xml and factory.xml, identical to the checked-in rendering."""
    out_dir = tmp_path / "out"
    assert main(["render", EXAMPLE, "-o", str(out_dir)]) == 0
    assert sorted(p.name for p in out_dir.iterdir()) == ["factory.xml", "frontend.xml"]
    for name in ("factory.xml", "frontend.xml"):
        expected = pathlib.Path("frontend/example.rendered", name).read_text(encoding="utf-8")
        assert (out_dir / name).read_text(encoding="utf-8") == expected
    assert "wrote {}".format(out_dir / "frontend.xml") in capsys.readouterr().out


def test_import_writes_yaml_that_lints(tmp_path, capsys):
    """import -o FILE writes YAML that lint reads (its findings are the imported configuration's own)."""
    out = tmp_path / "imported.yaml"
    assert main(["import", FRONTEND_XML, FACTORY_XML, "-o", str(out)]) == 0
    text = out.read_text(encoding="utf-8")
    assert text.startswith("# Imported by glidein-singularity import from " + FRONTEND_XML)
    capsys.readouterr()
    empty = tmp_path / "cvmfs"  # never the host's /cvmfs: its repositories would change the findings
    empty.mkdir()
    assert main(["lint", str(out), "--cvmfs-root", str(empty)]) == 1
    lines = capsys.readouterr().out.splitlines()
    # The itb group asks REQUIRED_OS=rhel9 but its dictionary only has "default": lint says so per entry.
    assert [line.split(": ")[1] for line in lines[:-1]] == ["GS106 note", "GS110 warning", "GS110 warning"]
    assert lines[-1] == "{}: 0 error(s), 2 warning(s), 1 note(s)".format(out)


def test_installed_console_script_renders(tmp_path):
    """The installed glidein-singularity console script runs render end to end."""
    script = shutil.which("glidein-singularity")
    assert script is not None, "the package must be installed (pip install -e .)"
    result = subprocess.run(
        [script, "render", str(pathlib.Path(EXAMPLE).resolve()), "--part", "frontend"],
        capture_output=True,
        text=True,
        cwd=str(tmp_path),
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == pathlib.Path("frontend/example.rendered/frontend.xml").read_text(encoding="utf-8")


def test_lint_repository_not_mounted_is_not_checked(tmp_path, capsys):
    """A host with some CVMFS repositories but not the images' (a frontend host, an autofs /cvmfs that
    mounted another one): their images are "not checked", never "missing"."""
    (tmp_path / "cvmfs" / "cms.cern.ch").mkdir(parents=True)
    config = tmp_path / "fe.yaml"
    config.write_text(
        "frontend:\n  global:\n    images: {rhel9: /cvmfs/singularity.opensciencegrid.org/el9, "
        "rhel8: /cvmfs/cms.cern.ch/el8}\n"
    )
    assert main(["lint", str(config), "--cvmfs-root", str(tmp_path / "cvmfs")]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[:2] == [
        "{}:3: GS106 error: frontend.global.images.rhel8: {}".format(
            config, "CVMFS image '/cvmfs/cms.cern.ch/el8' does not exist"
        ),
        "{}:3: GS106 note: frontend.global.images.rhel9: 1 CVMFS image(s) not checked: repository "
        "/cvmfs/singularity.opensciencegrid.org not mounted here (use --cvmfs-root DIR)".format(config),
    ]
