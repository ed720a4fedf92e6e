"""The prepare-job hook (glidein_scripts/gs-prepare-job) run as the starter runs it: the job ad on stdin,
the starter's environment, the node's files. What it prints is the update ad the starter applies."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from glidein_singularity.classad import parse_ad
from glidein_singularity.jobenv import parse_v2
from glidein_singularity.node.prepare_job import decide
from tests.starter_files import install_wrapper, starter_wrote


@pytest.fixture
def node(tmp_path: Path) -> Path:
    """A node with a CVMFS-like repository, a runtime path, and the hook next to glidein_config."""
    (tmp_path / "cvmfs" / "repo" / "img" / "etc").mkdir(parents=True)
    (tmp_path / "cvmfs" / "repo" / "img" / "etc" / "hosts").write_text("")
    (tmp_path / "runtime").write_text("#!/bin/sh\n")
    (tmp_path / "runtime").chmod(0o755)
    install_wrapper(
        tmp_path / "glidein", "GS_WRAPPER_FAILURE_SLEEP 0\nCVMFS_MOUNT_DIR {}\n".format(tmp_path / "cvmfs")
    )
    sandbox = tmp_path / "execute" / "dir_1"
    sandbox.mkdir(parents=True)
    (sandbox / ".machine.ad").write_text(
        "HAS_SINGULARITY = true\n"
        'SINGULARITY_PATH = "{}"\n'
        'GWMS_SINGULARITY_STATUS = "REQUIRED"\n'
        'SINGULARITY_IMAGES_DICT = "default:/cvmfs/repo/img"\n'.format(tmp_path / "runtime")
    )
    starter_wrote(sandbox / ".machine.ad")
    return tmp_path


def starter_environ(node: Path) -> dict[str, str]:
    """The environment the starter gives the hook for the job sandbox of ``node``."""
    sandbox = node / "execute" / "dir_1"
    return {
        "PATH": "/usr/bin:/bin",
        "_CONDOR_MACHINE_AD": str(sandbox / ".machine.ad"),
        "_CONDOR_JOB_AD": str(sandbox / ".job.ad"),
        "_CONDOR_SCRATCH_DIR": str(sandbox),
        "_CONDOR_JOB_IWD": str(sandbox),
        "_CONDOR_WRAPPER_ERROR_FILE": str(sandbox / ".job_wrapper_failure"),
    }


def hook(node: Path, job_ad: str, environ: dict[str, str] | None = None) -> dict[str, object]:
    """Run the hook; return its update ad."""
    sandbox = node / "execute" / "dir_1"
    env = starter_environ(node)
    env.update(environ or {})
    run = subprocess.run(
        [str(node / "glidein" / "gs-prepare-job")],
        input='Cmd = "{}/job.sh"\n{}'.format(sandbox, job_ad),
        env=env,
        cwd=str(sandbox),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (0, "") == (run.returncode, run.stderr)
    ad = parse_ad(run.stdout)
    return {name: ad[name] for name in ad}


#: What the hook sets for every job: the flags that alone would make the starter launch a container.
NO_WANTS = {"WantSIF": False, "WantSandboxImage": False, "WantDockerImage": False}


def test_plain_job_needs_no_update(node):
    """A job with nothing to move and nothing to refuse: only the container flags, off."""
    assert NO_WANTS == hook(node, 'Environment = "A=1"\n')


def test_loader_and_shell_variables_are_moved(node):
    """LD_LIBRARY_PATH (a cmsenv + getenv job) and shell start-up variables leave the environment the
    wrapper starts with; the rest stays, quotes included."""
    update = hook(
        node, "Environment = \"A='x y' LD_LIBRARY_PATH=/opt/lib BASH_ENV=/x 'BASH_FUNC_f%%=() { id; }'\"\n"
    )
    assert [("A", "x y")] == parse_v2(str(update["Environment"]))
    assert "BASH_ENV BASH_FUNC_f%% LD_LIBRARY_PATH" == update["GS_MovedJobEnvironment"]


def test_v1_env_is_rewritten_as_v2(node):
    """A V1 Env with a hostile delimiter comes back as a plain V2 Environment without the loader."""
    update = hook(node, 'Environment = undefined\nEnvDelim = "Z"\nEnv = "FOOQ=1ZLD_PRELOAD=/x.so"\n')
    assert [("FOOQ", "1")] == parse_v2(str(update["Environment"]))


@pytest.mark.parametrize(
    ("job_ad", "message"),
    [
        pytest.param(
            'SingularityImage = "/cvmfs/repo/nope"\n',
            'glidein-singularity: the job\'s image "/cvmfs/repo/nope" does not exist ({node}/cvmfs/repo/nope '
            "is not on this node, while its CVMFS repository is): check the image's name in the submit file",
            id="own-image-missing",
        ),
        pytest.param(
            'Environment = "A=\'x"\n',
            "glidein-singularity: the job's Environment cannot be read: unbalanced quote starting here: 'x "
            "(HTCondor would not start the job); write the job's environment as a plain string (submit file: "
            "environment = ...)",
            id="unreadable-environment",
        ),
        pytest.param(
            'SingularityImage = "-B/:/host"\n',
            'glidein-singularity: the job\'s SingularityImage is unusable: image "-B/:/host" starts with "-" '
            "and would be read as an option",
            id="hostile-image",
        ),
    ],
)
def test_jobs_own_mistakes_are_held(node, job_ad, message):
    """A refusal the job caused holds it at once (HookStatusCode 190) with the plan's message."""
    update = hook(node, job_ad)
    assert {"HookStatusCode": 190, "HookStatusMessage": message.format(node=node)} == update


def test_expression_valued_attributes_are_read_as_the_wrapper_reads_them(node):
    """An expression-valued SingularityImage is not evaluated (the wrapper, under -S, has no ClassAd
    bindings): the hook's plan is the wrapper's, and its refusal holds the job."""
    job_ad = 'SingularityImage = strcat("/cvmfs/", "repo/img")\n'
    update = hook(node, job_ad)
    assert 190 == update.get("HookStatusCode"), update
    assert "SingularityImage" in str(update.get("HookStatusMessage")), update
    # the same in a python that has the ClassAd bindings (a node with python3-htcondor)
    pytest.importorskip("classad2")
    sandbox = node / "execute" / "dir_1"
    job_text = 'Cmd = "{}/job.sh"\n{}'.format(sandbox, job_ad)
    lines = dict(decide(job_text, starter_environ(node), str(node / "glidein")))
    assert (190, update["HookStatusMessage"]) == (lines.get("HookStatusCode"), lines.get("HookStatusMessage"))


def test_node_problem_is_left_to_the_wrapper(node):
    """A missing dictionary image is the node's problem: no hold (the wrapper requeues and counts)."""
    (node / "cvmfs" / "repo" / "img" / "etc" / "hosts").unlink()
    (node / "cvmfs" / "repo" / "img" / "etc").rmdir()
    (node / "cvmfs" / "repo" / "img").rmdir()
    assert NO_WANTS == hook(node, "")


def test_our_failure_never_holds(node):
    """An unreadable machine ad (our side) sends the job back to Idle, never on hold."""
    update = hook(node, "", {"_CONDOR_MACHINE_AD": str(node / "nowhere.ad")})
    assert 300 == update["HookStatusCode"]
    assert "cannot read the machine ad" in str(update["HookStatusMessage"])


def test_shared_file_system_job_is_held(node, tmp_path):
    """A job the starter will start in its own directory (should_transfer_files = NO; the starter's
    _CONDOR_JOB_IWD) is held where GS_SHARED_FS_ROOTS does not list it."""
    iwd = tmp_path / "home" / "user"
    iwd.mkdir(parents=True)
    update = hook(node, "", {"_CONDOR_JOB_IWD": str(iwd)})
    assert 190 == update["HookStatusCode"]
    assert "should_transfer_files = NO" in str(update["HookStatusMessage"])


def test_our_failure_with_a_nan_failure_sleep_still_answers(node):
    """GS_WRAPPER_FAILURE_SLEEP nan (no number of seconds, read with the wrapper's own grammar) leaves the
    hook's failure path answering: the job goes back to Idle with a status."""
    config = node / "glidein" / "glidein_config"
    config.write_text(
        config.read_text().replace("GS_WRAPPER_FAILURE_SLEEP 0", "GS_WRAPPER_FAILURE_SLEEP nan")
    )
    update = hook(node, "", {"_CONDOR_MACHINE_AD": str(node / "nowhere.ad")})
    assert 300 == update["HookStatusCode"]


def _htcondor_mode(node: Path) -> None:
    machine = node / "execute" / "dir_1" / ".machine.ad"
    machine.write_text(machine.read_text() + "GS_USE_HTCONDOR = true\n")
    starter_wrote(machine)


#: A job that names the starter's inputs itself, hoping no hook overwrites them.
SELF_SET = 'GS_ContainerImage = "/evil"\nGS_ContainerArgs = "\\"-B /:/host\\""\n'


def test_htcondor_mode_publishes_the_plans_container_over_the_jobs_own(node):
    """In HTCondor mode the starter's image and options are the plan's, whatever the job set."""
    _htcondor_mode(node)
    update = hook(node, SELF_SET)
    assert str(node / "cvmfs" / "repo" / "img") == update["GS_ContainerImage"]
    assert str(update["GS_ContainerArgs"]).startswith('"--home ')
    assert "/:/host" not in str(update["GS_ContainerArgs"])


def test_htcondor_mode_without_a_planned_container_undoes_the_jobs_own(node):
    """A node problem leaves the job to the wrapper, and the starter launches no container: the job's own
    GS_ContainerImage/GS_ContainerArgs are set to undefined (SINGULARITY_JOB is then false)."""
    from glidein_singularity.classad import UNDEFINED

    _htcondor_mode(node)
    (node / "cvmfs" / "repo" / "img" / "etc" / "hosts").unlink()
    (node / "cvmfs" / "repo" / "img" / "etc").rmdir()
    (node / "cvmfs" / "repo" / "img").rmdir()
    update = hook(node, SELF_SET)
    assert (UNDEFINED, UNDEFINED) == (update["GS_ContainerImage"], update["GS_ContainerArgs"])
    assert "HookStatusCode" not in update
