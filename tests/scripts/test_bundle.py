"""The one-file bundle factories ship: what it holds, that it is reproducible, and that the shipped
launchers run from it with nothing else next to them."""

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from glidein_singularity.bundle import write_bundle
from glidein_singularity.cli import main

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "src" / "glidein_singularity"


def test_bundle_holds_the_worker_node_code_only(tmp_path):
    """Every worker-node module is in the bundle; the admin-side frontend package is not."""
    out = tmp_path / "glidein_singularity.zip"
    names = write_bundle(str(PACKAGE), str(out))

    assert names == sorted(zipfile.ZipFile(out).namelist())
    assert {
        "glidein_singularity/__init__.py",
        "glidein_singularity/plan.py",
        "glidein_singularity/node/wrapper.py",
        "glidein_singularity/node/setup.py",
        "glidein_singularity/node/health.py",
        "glidein_singularity/cli.py",
    } <= set(names)
    assert not [name for name in names if name.startswith("glidein_singularity/frontend/")]
    assert not [name for name in names if "__pycache__" in name]


def test_bundle_is_reproducible(tmp_path):
    """The same sources give the same bytes."""
    first, second = tmp_path / "a.zip", tmp_path / "b.zip"
    write_bundle(str(PACKAGE), str(first))
    write_bundle(str(PACKAGE), str(second))

    assert first.read_bytes() == second.read_bytes()


def test_bundle_command(tmp_path, capsys):
    """`glidein-singularity bundle -o FILE` writes it and says how many modules it holds."""
    out = tmp_path / "shipped.zip"
    code = main(["bundle", "-o", str(out)])
    count = len(zipfile.ZipFile(out).namelist())

    assert (0, "wrote {} ({} modules)\n".format(out, count)) == (code, capsys.readouterr().out)


def shipped(tmp_path):
    """A directory as a factory ships it: the launchers and the bundle, no package sources."""
    ship = tmp_path / "client"
    ship.mkdir()
    for name in ("gs-setup", "gs-job-wrapper", "gs_job_wrapper.py", "gs-health"):
        shutil.copy2(str(ROOT / "glidein_scripts" / name), str(ship / name))
    write_bundle(str(PACKAGE), str(ship / "glidein_singularity.zip"))
    return ship


def test_job_wrapper_runs_from_the_bundle(tmp_path):
    """gs_job_wrapper.py imports the package from the bundle next to it and execs the planned job."""
    ship = shipped(tmp_path)
    sandbox = tmp_path / "sandbox"
    sandbox.mkdir()
    (sandbox / ".job.ad").write_text('Cmd = "/bin/echo"\n')
    (sandbox / ".machine.ad").write_text("HAS_SINGULARITY = false\n")
    env = {
        "_CONDOR_JOB_AD": str(sandbox / ".job.ad"),
        "_CONDOR_MACHINE_AD": str(sandbox / ".machine.ad"),
        "_CONDOR_SCRATCH_DIR": str(sandbox),
        "PATH": "/usr/bin:/bin",
    }
    proc = subprocess.run(
        [sys.executable, "-I", "-S", str(ship / "gs_job_wrapper.py"), "/bin/echo", "from the bundle"],
        env=env,
        cwd=str(sandbox),
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert (0, "from the bundle\n", "") == (proc.returncode, proc.stdout, proc.stderr)


def test_setup_runs_from_the_bundle(tmp_path):
    """gs-setup finds the bundle next to itself: a NEVER glidein is set up with nothing else shipped."""
    ship = shipped(tmp_path)
    work = tmp_path / "work"
    work.mkdir()
    (work / "condor_vars.lst").write_text("")
    config = work / "glidein_config"
    config.write_text("GLIDEIN_Singularity_Use NEVER\nCONDOR_VARS_FILE {}\n".format(work / "condor_vars.lst"))
    proc = subprocess.run(
        [str(ship / "gs-setup"), str(config), "main"],
        env={"PATH": str(Path(sys.executable).parent) + ":/usr/bin:/bin"},
        cwd=str(work),
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert 0 == proc.returncode, proc.stderr
    assert "<status>OK</status>" in (work / "otrb_output.xml").read_text()
    assert "HAS_SINGULARITY False" in config.read_text()
