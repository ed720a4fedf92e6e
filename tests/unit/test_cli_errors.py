"""The command line's errors: no tracebacks, one --format vocabulary, exit codes as documented, and
the frontend commands telling the user what they were given (issue #17's findings, one test each)."""

import json
import os
import pathlib
import subprocess
import sys

import pytest

from glidein_singularity import cli
from glidein_singularity.cli import main

ROOT = pathlib.Path(__file__).resolve().parents[2]
EXAMPLE = str(ROOT / "frontend" / "example.yaml")
FRONTEND_XML = str(ROOT / "tests" / "data" / "gwms" / "frontend.xml")
EL9 = "/cvmfs/singularity.opensciencegrid.org/opensciencegrid/osgvo-el9:latest"
EL8 = "/cvmfs/singularity.opensciencegrid.org/opensciencegrid/osgvo-el8:latest"


def _cli(*argv, stdout=subprocess.PIPE):
    return subprocess.run(
        [sys.executable, "-m", "glidein_singularity.cli", *argv],
        stdout=stdout,
        stderr=subprocess.PIPE,
        text=True,
        check=False,
    )


def test_broken_pipe_is_quiet():
    """`lint ... --format json | head`: a reader that went away gives no traceback."""
    read, write = os.pipe()
    os.close(read)  # every write of the command now fails with EPIPE
    try:
        done = _cli("lint", EXAMPLE, "--format", "json", stdout=write)
    finally:
        os.close(write)
    assert "Traceback" not in done.stderr
    assert "BrokenPipeError" not in done.stderr
    assert 1 == done.returncode


def test_bundle_to_a_missing_directory_names_the_file(tmp_path):
    """`bundle -o /nonexistent/x.zip` is an error naming the file, not a traceback."""
    target = str(tmp_path / "nonexistent" / "x.zip")
    done = _cli("bundle", "-o", target)
    assert 1 == done.returncode
    assert "Traceback" not in done.stderr
    assert "ERROR: cannot write {}: No such file or directory\n".format(target) == done.stderr


def _yaml(tmp_path, text):
    path = tmp_path / "site.yaml"
    path.write_text(text)
    return str(path)


BAD_KEY = """\
frontend:
  groups:
    main:
      singularity_use: REQUIRED
      images:
        "rhel:9": {el9}
        rhel8: {el8}
""".format(el9=EL9, el8=EL8)


def test_render_refuses_lint_errors_unless_forced(tmp_path, capsys):
    """render prints the lint errors and writes nothing (exit 1); --force renders what it can."""
    path = _yaml(
        tmp_path,
        "frontend:\n  groups:\n    main:\n      singularity_use: REQUIRED\n"
        "      images:\n        default: {}\n"
        "      allowed_image_sources: [docker://myvo/*]\n".format(EL9),
    )
    out = tmp_path / "out"
    assert 1 == main(["render", path, "-o", str(out)])
    err = capsys.readouterr().err
    assert "GS104 error" in err
    assert "not rendered: lint found 1 error(s); fix them, or give --force" in err
    assert not out.exists()
    assert 0 == main(["render", path, "-o", str(out), "--force"])
    assert (out / "frontend.xml").is_file()


def test_lint_does_not_cascade(tmp_path, capsys):
    """A bad image key is one GS102, not also a false "no image at all" (GS109)."""
    assert 1 == main(["lint", _yaml(tmp_path, BAD_KEY)])
    out = capsys.readouterr().out
    assert "GS102 error" in out
    assert "GS109" not in out
    assert out.rstrip().endswith("1 error(s), 0 warning(s), 0 note(s)")


def test_lint_reports_every_section_in_one_pass(tmp_path, capsys):
    """Findings in different sections all come in one run, and the issue's `required` case no longer
    hides the pair finding (GS108) that used to appear only once it was fixed."""
    text = (
        BAD_KEY + "    other:\n      singularity_use: REQIRED\n    third:\n      singularity_use: PREFERRED\n"
    )
    assert 1 == main(["lint", _yaml(tmp_path, text)])
    out = capsys.readouterr().out
    assert "GS102 error: frontend.groups.main.images" in out
    assert "GS101 error: frontend.groups.other.singularity_use" in out
    assert "GS109 warning: frontend.groups.third.singularity_use" in out
    pair = (
        "frontend:\n  groups:\n    main:\n      singularity_use: required\n      images:\n"
        "        default: {}\nfactory:\n  entries:\n    site: {{}}\n".format(EL9)
    )
    assert 1 == main(["lint", _yaml(tmp_path, pair)])
    out = capsys.readouterr().out
    assert "GS101" not in out
    assert "GS108 warning: frontend.groups.main.singularity_use: group 'main' on entry 'site'" in out


@pytest.mark.parametrize("value", ["required", "Required", " REQUIRED "])
def test_choices_are_read_case_insensitively_as_the_glidein_does(tmp_path, capsys, value):
    """`singularity_use: required` is accepted (policy.negotiate upper-cases it) and rendered canonically."""
    path = _yaml(
        tmp_path,
        "frontend:\n  groups:\n    main:\n      singularity_use: '{}'\n"
        "      images:\n        default: {}\n".format(value, EL9),
    )
    assert 0 == main(["lint", path])
    capsys.readouterr()
    assert 0 == main(["render", path])
    (line,) = [line for line in capsys.readouterr().out.splitlines() if "GLIDEIN_Singularity_Use" in line]
    assert 'value="REQUIRED"' in line


@pytest.mark.parametrize("command", ["lint", "render"])
def test_xml_given_to_a_yaml_command_is_named(command, capsys):
    """lint/render of a GlideinWMS XML file says it is XML and to use import (exit 2), not a YAML echo."""
    assert 2 == main([command, FRONTEND_XML])
    captured = capsys.readouterr()
    assert "is XML, not the YAML configuration" in captured.err
    assert "glidein-singularity import " + FRONTEND_XML in captured.err
    assert "<frontend" not in captured.err + captured.out


def test_yaml_given_to_import_is_named(capsys):
    """import of the YAML configuration says it is not XML and which commands take it (exit 2)."""
    assert 2 == main(["import", EXAMPLE])
    assert "is not XML (is it the YAML configuration?" in capsys.readouterr().err


def test_import_shows_decisions_first_and_quiet_drops_notes(tmp_path, capsys):
    """WARNING lines (decisions) come before the notes; --quiet keeps only the decisions."""
    assert 0 == main(["import", FRONTEND_XML, "-o", str(tmp_path / "a.yaml")])
    lines = capsys.readouterr().err.splitlines()
    kinds = [line.split(":", 1)[0] for line in lines]
    assert kinds == sorted(kinds, key=lambda kind: kind != "WARNING")
    assert "note" in kinds
    assert all("not modelled" not in line for line in lines if line.startswith("WARNING"))
    assert 0 == main(["import", FRONTEND_XML, "-o", str(tmp_path / "b.yaml"), "--quiet"])
    quiet = capsys.readouterr().err.splitlines()
    assert quiet == [line for line in lines if line.startswith("WARNING")]


def test_import_does_not_accept_a_misspelt_choice(tmp_path, capsys):
    """GLIDEIN_Singularity_Use="REQUIRD" is a WARNING naming the value; lint then reports GS101."""
    xml = tmp_path / "frontend.xml"
    xml.write_text(
        '<frontend><attrs><attr name="GLIDEIN_Singularity_Use" value="REQUIRD" glidein_publish="True" '
        'job_publish="True" parameter="False" type="string"/></attrs><groups/></frontend>\n'
    )
    out = tmp_path / "site.yaml"
    assert 0 == main(["import", str(xml), "-o", str(out)])
    err = capsys.readouterr().err
    assert "WARNING: {}: global attrs: GLIDEIN_Singularity_Use='REQUIRD' is not one of".format(xml) in err
    assert 1 == main(["lint", str(out)])
    assert "GS101 error" in capsys.readouterr().out


def test_one_format_vocabulary():
    """Every --format takes text and json (explain still accepts its old name, table)."""
    parser = cli.build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    for name, command in sub.choices.items():
        for action in command._actions:
            if "--format" in action.option_strings:
                assert {"text", "json"} <= set(action.choices), name
                assert "text" == action.default, name


def test_invalid_yaml_exit_code_matches_the_guide(tmp_path, capsys):
    """YAML that does not parse is a finding (exit 1); an unreadable file is a usage error (exit 2)."""
    bad = tmp_path / "bad.yaml"
    bad.write_text("a: [\n")
    assert 1 == main(["lint", str(bad)])
    assert 2 == main(["lint", str(tmp_path / "missing.yaml")])
    capsys.readouterr()
    guide = (ROOT / "docs" / "guides" / "frontend-admin.md").read_text(encoding="utf-8")
    assert "YAML that does not parse is a finding (exit 1)" in " ".join(guide.split())
    assert "an unreadable file is a usage error (exit 2)" in " ".join(guide.split())


def test_json_output_is_json(capsys):
    """lint --format json prints one JSON document."""
    main(["lint", EXAMPLE, "--format", "json"])
    assert "findings" in json.loads(capsys.readouterr().out)
