"""The real job-wrapper launcher run as a subprocess, with fake ads and a fake runtime.

The fake runtime records its argv and environment, or plays the container: it maps /srv to the job
directory and runs the launcher tail with the host's /bin/sh. These tests check the exec'd command
line, the environment, the wrapper-error-file protocol and the refusal outputs; they say nothing about
real containers (the integration suite runs the same wrapper with the real Apptainer and HTCondor).
"""

import json
import os
import pathlib
import shlex
import subprocess
import sys

import pytest

from glidein_singularity.cli import main as cli_main
from glidein_singularity.glidein_config import parse_glidein_config
from glidein_singularity.inputs import read_glidein_config
from tests.starter_files import install_wrapper, starter_wrote

ROOT = pathlib.Path(__file__).resolve().parents[2]
LAUNCHER = ROOT / "glidein_scripts" / "gs-job-wrapper"
PYTHONS = [
    p
    for p in (os.path.expanduser("~/.pyenv/versions/3.6.15/bin/python3.6"), sys.executable)
    if os.path.exists(p)
]

RECORDER = """#!/bin/sh
{ for a in "$@"; do printf 'A %s\\n' "$a"; done; env | sed 's/^/E /'; } > "$GS_TEST_RECORD"
exit "${GS_TEST_RUNTIME_EXIT:-0}"
"""

# Plays the container: finds the image position (the argument after the last option), maps /srv to
# the --home source and runs the rest (the sh launcher and the job) on the host.
PLAYER = """#!/bin/sh
home=""
while [ $# -gt 0 ]; do
    case "$1" in
        exec|--contain|--ipc|--pid|--nv|--rocm|--cleanenv) shift ;;
        --home) home=${2%%:*}; shift 2 ;;
        --pwd|--bind) shift 2 ;;
        *) break ;;
    esac
done
shift  # the image
cd "$home" || exit 255
first=1
for a in "$@"; do
    if [ $first = 1 ]; then set --; first=0; fi
    case "$a" in /srv/*) a="$home/${a#/srv/}" ;; /srv) a="$home" ;; esac
    set -- "$@" "$a"
done
exec "$@"
"""


@pytest.fixture
def node(tmp_path):
    """A fake slot: sandbox with ads, a CVMFS-like image dir, recorder and player runtimes."""
    sandbox = tmp_path / "execute" / "dir_1"
    sandbox.mkdir(parents=True)
    image = tmp_path / "cvmfs" / "img"
    (image / "etc").mkdir(parents=True)
    (image / "etc" / "hosts").write_text("")
    for name, text in (("recorder", RECORDER), ("player", PLAYER)):
        path = tmp_path / name
        path.write_text(text)
        path.chmod(0o755)
    job = sandbox / "job.sh"
    job.write_text('#!/bin/sh\necho "job ran in $PWD with $*" > job.out\nexit 3\n')
    job.chmod(0o755)
    config = "GS_WRAPPER_FAILURE_SLEEP 0\nGS_FAILURE_MARKER {}\n".format(tmp_path / "marker")
    install_wrapper(tmp_path / "glidein", config)
    return tmp_path


def write_ads(node, job_attrs="", machine_attrs="", runtime="recorder"):
    """Write .job.ad and .machine.ad into the sandbox; return the sandbox."""
    sandbox = node / "execute" / "dir_1"
    (sandbox / ".job.ad").write_text('Cmd = "{}/job.sh"\n{}'.format(sandbox, job_attrs))
    (sandbox / ".machine.ad").write_text(
        "HAS_SINGULARITY = true\n"
        'SINGULARITY_PATH = "{}"\n'
        'SINGULARITY_IMAGE_RESTRICTIONS = "any"\n'
        'SINGULARITY_IMAGES_DICT = "default:{}"\n'
        "{}".format(node / runtime, node / "cvmfs" / "img", machine_attrs)
    )
    starter_wrote(sandbox / ".machine.ad")
    return sandbox


def run_wrapper(node, sandbox, args=None, extra_env=None, python=None):
    """Run the wrapper as the starter would; return the CompletedProcess."""
    env = {
        "PATH": "/usr/bin:/bin",
        "_CONDOR_JOB_AD": str(sandbox / ".job.ad"),
        "_CONDOR_MACHINE_AD": str(sandbox / ".machine.ad"),
        "_CONDOR_SCRATCH_DIR": str(sandbox),
        "_CONDOR_JOB_IWD": str(sandbox),
        "_CONDOR_WRAPPER_ERROR_FILE": str(sandbox / ".job_wrapper_failure"),
        "GS_TEST_RECORD": str(node / "record"),
    }
    env.update(extra_env or {})
    argv = list(args or [str(sandbox / "job.sh"), "a b", str(sandbox / "in.txt")])
    glidein = node / "glidein"
    command = (
        [python, "-I", "-S", str(glidein / "gs_job_wrapper.py")]
        if python
        else [str(glidein / "gs-job-wrapper")]
    )
    return subprocess.run(
        command + argv, cwd=str(sandbox), env=env, capture_output=True, text=True, timeout=60
    )


def recorded(node):
    """The recorder's argv (after argv[0]) and environment."""
    args, env = [], {}
    for line in (node / "record").read_text().splitlines():
        if line.startswith("A "):
            args.append(line[2:])
        elif line.startswith("E ") and "=" in line:
            name, _, value = line[2:].partition("=")
            env[name] = value
    return args, env


@pytest.mark.parametrize("python", PYTHONS)
def test_container_argv_and_environment(node, python):
    """The wrapper execs the runtime with the planned argv and environment (any python >= 3.6)."""
    sandbox = write_ads(node, 'Environment = "FOO=bar APPTAINER_BINDPATH=/"\n')
    result = run_wrapper(node, sandbox, python=python, extra_env={"FOO": "bar", "APPTAINER_BINDPATH": "/"})
    assert (0, "") == (result.returncode, result.stderr)
    args, env = recorded(node)
    image = str(node / "cvmfs" / "img")
    expected = [
        "exec", "--home", "{}:/srv".format(sandbox), "--pwd", "/srv", "--contain", "--ipc", "--pid",
        "--bind", "/etc/hosts", image,
        "/bin/sh", "-c", 'rm -f -- "$0" && exec "$@"', "/srv/.job_wrapper_failure",
        "/srv/job.sh", "a b", "/srv/in.txt",
    ]  # fmt: skip
    assert expected == args
    assert env["APPTAINERENV_FOO"] == "bar"
    assert env["APPTAINERENV__CONDOR_SCRATCH_DIR"] == "/srv"
    assert env["APPTAINERENV_TMPDIR"] == "/srv/.gs_tmp"
    assert "APPTAINER_BINDPATH" not in env
    assert (sandbox / ".gs_tmp").is_dir()


def test_explain_agrees_with_wrapper(node, capsys, monkeypatch):
    """explain --format json prints the argv the wrapper exec'd for the same ads."""
    sandbox = write_ads(node)
    run_wrapper(node, sandbox)
    args, _ = recorded(node)
    monkeypatch.chdir(sandbox)
    monkeypatch.setenv("_CONDOR_SCRATCH_DIR", str(sandbox))
    monkeypatch.setenv("_CONDOR_WRAPPER_ERROR_FILE", str(sandbox / ".job_wrapper_failure"))
    code = cli_main(
        ["explain", "--job-ad", str(sandbox / ".job.ad"), "--machine-ad", str(sandbox / ".machine.ad"),
         "--format", "json", "--", str(sandbox / "job.sh"), "a b", str(sandbox / "in.txt")]
    )  # fmt: skip
    data = json.loads(capsys.readouterr().out)
    assert 0 == code
    assert [str(node / "recorder"), *args] == data["argv"]


def test_runtime_failure_before_job_leaves_error_file(node):
    """A runtime that dies before the launcher runs leaves the error file: HTCondor requeues the job."""
    sandbox = write_ads(node)
    result = run_wrapper(node, sandbox, extra_env={"GS_TEST_RUNTIME_EXIT": "255"})
    assert 255 == result.returncode
    message = (sandbox / ".job_wrapper_failure").read_text()
    expected = (
        "glidein-singularity job wrapper failed: the container runtime {} failed before the job started "
        '(image "{}"); its message is in the job\'s stderr\n'
    )
    assert expected.format(node / "recorder", node / "cvmfs" / "img") == message


def test_job_exit_code_and_error_file_removed(node):
    """When the job starts, the launcher removes the error file and the job's exit code is its own."""
    sandbox = write_ads(node, runtime="player")
    (sandbox / ".job_wrapper_failure").write_text("stale\n")
    result = run_wrapper(node, sandbox)
    assert 3 == result.returncode
    assert not (sandbox / ".job_wrapper_failure").exists()
    assert "job ran in {} with a b {}/in.txt\n".format(sandbox, sandbox) == (sandbox / "job.out").read_text()


def test_bare_plan_execs_job_and_removes_stale_error_file(node):
    """Without HAS_SINGULARITY the job itself is exec'd and a stale error file is gone."""
    sandbox = write_ads(node, machine_attrs="HAS_SINGULARITY = false\n")
    (sandbox / ".job_wrapper_failure").write_text("stale\n")
    result = run_wrapper(node, sandbox)
    assert 3 == result.returncode
    assert not (sandbox / ".job_wrapper_failure").exists()
    assert "job ran in {} with a b {}/in.txt\n".format(sandbox, sandbox) == (sandbox / "job.out").read_text()


def test_requeue_refusal_outputs(node):
    """A node-side refusal: one line in the error file and stderr, chirp, marker counted, exit 90."""
    sandbox = write_ads(node, machine_attrs='SINGULARITY_IMAGES_DICT = "default:/nowhere/x.sif"\n')
    chirp_dir = node / "condor" / "bin"
    chirp_dir.mkdir(parents=True)
    chirp = chirp_dir / "condor_chirp"
    chirp.write_text('#!/bin/sh\nprintf "%s\\n" "$@" > "{}"\n'.format(node / "chirp"))
    chirp.chmod(0o755)
    (node / "marker").write_text("2\n")
    result = run_wrapper(node, sandbox, extra_env={"_CONDOR_BIN": str(chirp_dir)})
    line = (
        'glidein-singularity job wrapper failed: Unable to access the image "/nowhere/x.sif" (/nowhere/x.sif '
        "does not exist on this node)"
    )
    assert 90 == result.returncode
    assert "ERROR: " + line + "\n" == result.stderr
    assert line + "\n" == (sandbox / ".job_wrapper_failure").read_text()
    assert "set_job_attr\nJobWrapperFailure\n{}\n".format(json.dumps(line)) == (node / "chirp").read_text()
    assert "3\n" == (node / "marker").read_text()


def test_chirp_is_never_taken_from_the_jobs_path(node):
    """condor_chirp runs outside the container: never one the job's PATH names."""
    sandbox = write_ads(node, machine_attrs='SINGULARITY_IMAGES_DICT = "default:/nowhere/x.sif"\n')
    evil = node / "evil"
    evil.mkdir()
    (evil / "condor_chirp").write_text('#!/bin/sh\necho pwned > "{}"\n'.format(node / "pwned"))
    (evil / "condor_chirp").chmod(0o755)
    assert 90 == run_wrapper(node, sandbox, extra_env={"PATH": "{}:/usr/bin:/bin".format(evil)}).returncode
    assert not (node / "pwned").exists()


def test_job_image_missing_is_requeued_without_node_penalty(node):
    """The job's own missing image: requeued (other tries may differ), the node's marker untouched,
    and after GS_JOB_FAULT_RETRIES starts no longer requeued (the job ends, never loops)."""
    sandbox = write_ads(node, 'SingularityImage = "/nowhere/x.sif"\n')
    (node / "marker").write_text("2\n")
    result = run_wrapper(node, sandbox)
    line = (
        'glidein-singularity job wrapper failed: the job\'s image "/nowhere/x.sif" does not exist '
        "(/nowhere/x.sif is not on this node): check the image's name in the submit file"
    )
    assert (90, "ERROR: " + line + "\n") == (result.returncode, result.stderr)
    assert line + "\n" == (sandbox / ".job_wrapper_failure").read_text()
    assert "2\n" == (node / "marker").read_text()
    sandbox = write_ads(node, 'SingularityImage = "/nowhere/x.sif"\nNumJobStarts = 2\n')
    result = run_wrapper(node, sandbox)
    assert 90 == result.returncode
    assert "(not requeued again: the job started 2 times; GS_JOB_FAULT_RETRIES is 2)" in result.stderr
    assert not (sandbox / ".job_wrapper_failure").exists()
    assert "2\n" == (node / "marker").read_text()


def test_job_fault_refusal_is_not_requeued(node):
    """A refusal caused by the job itself writes no error file: the job fails with exit 90."""
    sandbox = write_ads(node, 'SingularityImage = "-B/:/host"\n')
    result = run_wrapper(node, sandbox)
    assert 90 == result.returncode
    expected = (
        "ERROR: glidein-singularity job wrapper failed: the job's SingularityImage is unusable: "
        'image "-B/:/host" '
        'starts with "-" and would be read as an option\n'
    )
    assert expected == result.stderr
    assert not (sandbox / ".job_wrapper_failure").exists()
    assert not (node / "marker").exists()


def test_missing_machine_ad_is_a_wrapper_failure(node):
    """An unreadable machine ad requeues the job with the reason."""
    sandbox = write_ads(node)
    (sandbox / ".machine.ad").unlink()
    result = run_wrapper(node, sandbox)
    assert 90 == result.returncode
    expected = (
        "glidein-singularity job wrapper failed: AdError: cannot read the machine ad {}: No such file or "
        "directory\n"
    )
    assert expected.format(sandbox / ".machine.ad") == (sandbox / ".job_wrapper_failure").read_text()


def test_success_resets_marker(node):
    """A successful plan removes the black-hole marker."""
    sandbox = write_ads(node)
    (node / "marker").write_text("4\n")
    assert 0 == run_wrapper(node, sandbox).returncode
    assert not (node / "marker").exists()


def test_preferred_falls_back_when_runtime_cannot_exec(node):
    """Under PREFERRED a job without its own image runs bare when the runtime cannot be exec'd."""
    sandbox = write_ads(
        node, machine_attrs='GWMS_SINGULARITY_STATUS = "PREFERRED"\n', runtime="missing-runtime"
    )
    result = run_wrapper(node, sandbox)
    assert 3 == result.returncode
    assert "cannot exec {}".format(node / "missing-runtime") in result.stderr
    assert not (sandbox / ".job_wrapper_failure").exists()


def test_job_pythonpath_cannot_hijack_wrapper(node):
    """python runs isolated: a package on the job's PYTHONPATH is not imported by the wrapper."""
    sandbox = write_ads(node)
    evil = node / "evil" / "glidein_singularity"
    evil.mkdir(parents=True)
    (evil / "__init__.py").write_text("raise SystemExit(77)\n")
    result = run_wrapper(node, sandbox, extra_env={"PYTHONPATH": str(evil.parent)})
    assert 0 == result.returncode


def test_glidein_config_next_to_entry_is_read_like_setup(tmp_path):
    """The wrapper reads glidein_config exactly as the glidein_config module does."""
    text = "A 1\nB two words\nA 3\n\nC\n"
    path = tmp_path / "glidein_config"
    path.write_text(text)
    assert parse_glidein_config(text) == read_glidein_config(str(path))


def test_glidein_config_settings_used(node):
    """Settings in the glidein_config next to the wrapper reach the plan (here: no --pid); the same in
    the environment (where the job could have put it) change nothing."""
    sandbox = write_ads(node)
    config = node / "glidein" / "glidein_config"
    assert 0 == run_wrapper(node, sandbox, extra_env={"SINGULARITY_DISABLE_PID_NAMESPACES": "1"}).returncode
    assert "--pid" in recorded(node)[0]
    config.write_text(config.read_text() + "SINGULARITY_DISABLE_PID_NAMESPACES 1\n")
    assert 0 == run_wrapper(node, sandbox).returncode
    assert "--pid" not in recorded(node)[0]


def test_forged_machine_ad_is_not_the_nodes(node):
    """In a glidein the job's transferred .machine.ad replaces the starter's: its facts and settings are
    ignored for glidein_config's, and a forged HAS_SINGULARITY = false never runs the job bare."""
    sandbox = write_ads(node)
    config = node / "glidein" / "glidein_config"
    config.write_text(
        config.read_text()
        + "HAS_SINGULARITY True\nSINGULARITY_PATH {}\nGWMS_SINGULARITY_STATUS REQUIRED\n".format(
            node / "recorder"
        )
        + "SINGULARITY_IMAGE_RESTRICTIONS any\nSINGULARITY_IMAGES_DICT default:{}\n".format(
            node / "cvmfs" / "img"
        )
    )
    (sandbox / ".machine.ad").unlink()
    (sandbox / ".machine.ad").write_text(  # written by the job's user
        'HAS_SINGULARITY = false\nGLIDEIN_SINGULARITY_BINDPATH = "/:/host"\nSINGULARITY_PATH = "/bin/sh"\n'
    )
    assert 0 == run_wrapper(node, sandbox).returncode
    args, _ = recorded(node)
    assert str(node / "cvmfs" / "img") in args
    assert "/:/host" not in " ".join(args)


def test_shell_launcher_passes_shellcheck_style():
    """The launcher is POSIX sh and finds python at fixed paths only."""
    text = LAUNCHER.read_text()
    assert text.startswith("#!/bin/sh\n")
    assert "/usr/bin/env" not in text
    assert shlex.split('exec "$py" -I -S "$here/gs_job_wrapper.py" "$@"')[2:4] == ["-I", "-S"]
    assert 'exec "$py" -I -S "$here/gs_job_wrapper.py" "$@"' in text
