"""Installing as users expect: the wheel alone, ``python -m``, ``install-ep`` and gs-setup's verdict.

The wheel is built from this tree and unpacked into a directory of its own, and every command runs
from an unrelated current directory, so nothing can be found through the source checkout.
"""

import os
import pathlib
import shutil
import subprocess
import sys
import zipfile

import pytest

from glidein_singularity.commands import install_ep
from glidein_singularity.node import setup

ROOT = pathlib.Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "docs" / "examples"


@pytest.fixture(scope="module")
def wheel_site(tmp_path_factory):
    """The package installed from a freshly built wheel into its own directory (no checkout on the path)."""
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(out),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = out.glob("glidein_singularity-*.whl")
    site = out / "site"
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(site)
        names = archive.namelist()
    # pip keeps the launchers' modes from the archive; extractall does not: restore them as pip would
    for info in zipfile.ZipFile(wheel).infolist():
        mode = info.external_attr >> 16
        if mode & 0o111:
            os.chmod(site / info.filename, mode & 0o777)
    return site, names


def _run(site, cwd, *argv, stdin=None):
    env = dict(os.environ, PYTHONPATH=str(site))
    return subprocess.run(
        [sys.executable, "-m", "glidein_singularity", *argv],
        cwd=cwd,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        check=False,
    )


def test_wheel_carries_the_snippets_and_launchers(wheel_site):
    """The snippets, the START file and the launchers are package data of the wheel."""
    _, names = wheel_site
    for name in sorted(os.listdir(ROOT / "condor_config.d")):
        assert "glidein_singularity/share/condor_config.d/" + name in names
    for name in install_ep.LAUNCHERS:
        assert "glidein_singularity/share/glidein_scripts/" + name in names


def test_wheel_installs_the_man_page_and_completion(wheel_site):
    """glidein-singularity(1) and the bash completion, generated from the parser, are data files."""
    _, names = wheel_site
    data = [name.split(".data/data/", 1)[1] for name in names if ".data/data/" in name]
    assert "share/man/man1/glidein-singularity.1" in data
    assert "share/bash-completion/completions/glidein-singularity" in data


def test_completion_and_man_page_cover_every_command():
    """Every sub-command and its options appear in the generated man page and completion."""
    from glidein_singularity import cli

    man = (ROOT / "docs" / "man" / "glidein-singularity.1").read_text()
    completion = (ROOT / "docs" / "completion" / "glidein-singularity").read_text()
    for name, _, _ in cli.COMMANDS:
        assert ".SS {}".format(name.replace("-", "\\-")) in man
        assert "        {}) opts=".format(name) in completion
    done = subprocess.run(
        [
            "bash",
            "-c",
            'source "$1"; COMP_WORDS=(glidein-singularity lint x --fo); COMP_CWORD=3; '
            '_glidein_singularity; echo "${COMPREPLY[@]}"',
            "-",
            str(ROOT / "docs" / "completion" / "glidein-singularity"),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "--format" == done.stdout.strip()


def test_bundle_scripts_dir_from_the_wheel(wheel_site, tmp_path):
    """`bundle --scripts-dir DIR` writes the zip and the launchers a glidein gets, from the package."""
    site, _ = wheel_site
    done = _run(site, tmp_path, "bundle", "--scripts-dir", "web/gs")
    assert 0 == done.returncode, done.stderr
    names = sorted(os.listdir(tmp_path / "web" / "gs"))
    assert sorted(["glidein_singularity.zip", *install_ep.LAUNCHERS]) == names
    assert os.access(tmp_path / "web" / "gs" / "gs-setup", os.X_OK)


def test_explain_from_the_wheel_in_any_directory(wheel_site, tmp_path):
    """`python -m glidein_singularity explain --submit ... --machine-ads ...` finds the START file."""
    site, _ = wheel_site
    for name in ("job.sub", "slots.ads"):
        shutil.copy(EXAMPLES / name, tmp_path / name)
    done = _run(site, tmp_path, "explain", "--submit", "job.sub", "--machine-ads", "slots.ads")
    assert "cannot find" not in done.stderr
    assert 0 == done.returncode, done.stderr
    assert done.stdout.startswith("1 of 2 glideins would run the job: slot1@el9-node.example.org")


def test_python_dash_m_runs_the_cli(wheel_site, tmp_path):
    """`python -m glidein_singularity --version` is the console script."""
    site, _ = wheel_site
    done = _run(site, tmp_path, "--version")
    assert 0 == done.returncode, done.stderr
    assert done.stdout.startswith("glidein-singularity ")


def test_install_ep_from_the_wheel_is_idempotent(wheel_site, tmp_path):
    """install-ep writes the launchers, bundle, snippets and local settings; a re-run changes nothing."""
    site, _ = wheel_site
    first = _run(site, tmp_path, "install-ep", "--prefix", str(tmp_path / "root"), "--no-setup")
    assert 0 == first.returncode, first.stderr
    libexec = tmp_path / "root" / "usr" / "libexec" / "glidein-singularity"
    config_d = tmp_path / "root" / "etc" / "condor" / "config.d"
    for name in install_ep.LAUNCHERS:
        assert (ROOT / "glidein_scripts" / name).read_bytes() == (libexec / name).read_bytes()
        executable = os.access(libexec / name, os.X_OK)
        assert executable == (not name.endswith(".py")), name
    assert (libexec / "glidein_singularity.zip").is_file()
    for name in os.listdir(ROOT / "condor_config.d"):
        assert (ROOT / "condor_config.d" / name).read_bytes() == (config_d / name).read_bytes()
    local = (config_d / install_ep.LOCAL_CONFIG).read_text()
    assert "GS_LIBEXEC = /usr/libexec/glidein-singularity\n" in local
    assert "GS_NODE_CONFIG = /etc/condor/config.d/55-glidein-singularity-node.config\n" in local
    snippets = len([name for name in os.listdir(ROOT / "condor_config.d") if name.endswith(".config")])
    files = len(install_ep.LAUNCHERS) + 1 + 1 + snippets  # the launchers, the bundle, 49- and the snippets
    assert first.stdout.count("install-ep: wrote ") == files
    second = _run(site, tmp_path, "install-ep", "--prefix", str(tmp_path / "root"), "--no-setup")
    assert 0 == second.returncode, second.stderr
    assert "install-ep: wrote" not in second.stdout
    assert second.stdout.count("install-ep: unchanged ") == files


def test_install_ep_runs_gs_setup_and_says_containers_are_off(wheel_site, tmp_path):
    """Without an image, install-ep writes the node settings, exits 3 and says why containers are off."""
    site, _ = wheel_site
    root = tmp_path / "root"
    done = _run(site, tmp_path, "install-ep", "--prefix", str(root))
    assert setup.EXIT_CONTAINERS_OFF == done.returncode, done.stderr
    node = (root / "etc" / "condor" / "config.d" / install_ep.NODE_CONFIG).read_text()
    assert "HAS_SINGULARITY = False" in node
    lines = done.stdout.splitlines()
    assert lines[-2].startswith("gs-setup: containers OFF: containers are preferred but cannot be used")
    assert lines[-1].startswith("install-ep: done")


def test_install_ep_refuses_relative_paths(capsys):
    """--config-dir and --libexec must be absolute: they are written into the HTCondor configuration."""
    from glidein_singularity.cli import main

    assert 2 == main(["install-ep", "--config-dir", "etc/condor", "--no-setup"])
    assert "ERROR: --config-dir etc/condor: give an absolute path" in capsys.readouterr().err


def test_standalone_fallback_exit_code_and_last_line(tmp_path, capsys):
    """A standalone PREFERRED fallback writes HAS_SINGULARITY = False, exits 3 and says so last."""
    out = tmp_path / "55-node.config"
    code = setup.main(["--standalone", "--config-out", str(out)])
    printed = capsys.readouterr().out.splitlines()
    assert setup.EXIT_CONTAINERS_OFF == code
    assert "HAS_SINGULARITY = False" in out.read_text()
    assert printed[-1].startswith("gs-setup: containers OFF: containers are preferred but cannot be used")


def test_standalone_never_is_success_and_says_off(tmp_path, capsys):
    """NEVER is what the admin asked for: exit 0, and the last line says containers are off and why."""
    out = tmp_path / "55-node.config"
    code = setup.main(["--standalone", "--config-out", str(out), "--set", "GLIDEIN_Singularity_Use=NEVER"])
    printed = capsys.readouterr().out.splitlines()
    assert setup.EXIT_OK == code
    assert printed[-1].startswith("gs-setup: containers OFF: NEVER")


def test_standalone_unwritable_config_dir_fails_before_the_work(tmp_path, capsys, monkeypatch):
    """A --config-out in a directory this user cannot write fails first, naming what to do."""
    target = str(tmp_path / "config.d")
    real_access = os.access
    monkeypatch.setattr(setup.os, "access", lambda path, mode: path != target and real_access(path, mode))
    code = setup.main(["--standalone", "--config-out", target + "/55-node.config"])
    captured = capsys.readouterr()
    assert setup.EXIT_FAILURE == code
    assert "is not writable by this user; run gs-setup as root" in captured.err
    assert "negotiation" not in captured.out  # nothing was run
