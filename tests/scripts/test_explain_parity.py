"""What ``explain`` shows is what the wrapper does: one table of jobs, run through both.

Each case is planned twice in process (``inputs.from_starter``, as the wrapper builds its inputs, and
``inputs.for_explain``, as ``explain`` does) and must give identical inputs and plans. Then the real
wrapper launcher runs the job with a runtime that records its argv and environment, and ``explain``
(the CLI, in a shell holding variables of its own) must print that argv and that environment.
"""

import json
import os

import pytest

from glidein_singularity.ads import load_ad
from glidein_singularity.cli import main as cli_main
from glidein_singularity.inputs import for_explain, from_starter, starter_environment
from tests.scripts.test_wrapper_script import node, recorded, run_wrapper, write_ads

__all__ = ["node"]  # the fixture, imported for the tests below

#: (id, job ad lines, machine ad lines, the explain caller's own shell variables)
CASES = [
    (
        "expression-valued-environment",
        'Environment = strcat("GLIDEIN_CONTAINER_ENV=", "keepall")\n',
        "",
        {},
    ),
    (
        "caller-shell-shadowed",
        'Environment = "FOO=from_job BAR=job"\n',
        "",
        {"FOO": "from_shell", "LD_LIBRARY_PATH": "/shell/lib"},
    ),
    (
        "job-set-settings",
        'Environment = "GLIDEIN_CONTAINER_ENV=keepall GLIDEIN_SINGULARITY_OPTS=--writable '
        'APPTAINERENV_X=1 SINGULARITYENV_PATH=/evil LD_LIBRARY_PATH=/job/lib"\n',
        'GLIDEIN_CONTAINER_ENV = "clearall"\n',
        {"APPTAINERENV_Y": "shell"},
    ),
    (
        "job-set-node-only-and-tmp",
        'Environment = "GS_FAILURE_MARKER=/tmp/x TMPDIR=/elsewhere PYTHONPATH=/job/py"\n',
        'GLIDEIN_CONTAINER_ENV = "osgset,condorset"\n',
        {"TMPDIR": "/shell/tmp"},
    ),
    (
        "v1-environment",
        'Env = "A=1;B=two words"\n',
        "",
        {"A": "shell"},
    ),
]
IDS = [case[0] for case in CASES]

#: What the starter itself gives the wrapper (besides the job's variables and its own).
INHERITED = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}  # LANG: python coerces no locale


def _starter_env(node, sandbox):
    job_ad = load_ad(str(sandbox / ".job.ad"), "job ad", False)
    inherited = dict(INHERITED, GS_TEST_RECORD=str(node / "record"))
    return starter_environment(job_ad, inherited, str(sandbox), str(sandbox / ".job_wrapper_failure"))


@pytest.mark.parametrize(("case", "job", "machine", "shell"), CASES, ids=IDS)
def test_explain_inputs_and_plan_equal_the_wrappers(node, case, job, machine, shell):
    """The wrapper's inputs (from the starter's environment) and explain's (from the caller's shell,
    which must not win over the job's variables) are identical, and so are their plans."""
    sandbox = write_ads(node, job, machine)
    argv = [str(sandbox / "job.sh"), "a b"]
    environ = _starter_env(node, sandbox)
    wrapper = from_starter(environ, argv, str(node / "glidein"), cwd=str(sandbox), bindings=False)
    job_ad = load_ad(str(sandbox / ".job.ad"), "job ad", False)
    machine_ad = load_ad(str(sandbox / ".machine.ad"), "machine ad", False)
    config_path = str(node / "glidein" / "glidein_config")
    from glidein_singularity.inputs import read_glidein_config

    shell_env = dict(INHERITED, GS_TEST_RECORD=str(node / "record"), **shell)
    explain = for_explain(
        job_ad,
        machine_ad,
        read_glidein_config(config_path),
        config_path,
        shell_env,
        str(sandbox),
        argv,
        wrapper.paths.probe,
    )
    for name in shell:  # the caller's own variables the starter never had are the only difference
        if name not in environ:
            explain.environ.pop(name)
    assert wrapper.environ == explain.environ
    assert wrapper.settings == explain.settings
    assert wrapper.paths == explain.paths
    assert wrapper.plan() == explain.plan()


@pytest.mark.parametrize(("case", "job", "machine", "shell"), CASES, ids=IDS)
def test_explain_prints_what_the_wrapper_runs(node, capsys, monkeypatch, case, job, machine, shell):
    """The real wrapper execs a recording runtime; explain --format json, run from a shell with its own
    variables, prints the same argv and the same runtime environment."""
    sandbox = write_ads(node, job, machine)
    argv = [str(sandbox / "job.sh"), "a b", str(sandbox / "in.txt")]
    environ = _starter_env(node, sandbox)
    result = run_wrapper(node, sandbox, args=argv, extra_env=environ)
    for name in list(os.environ):
        monkeypatch.delenv(name)
    for name, value in dict(INHERITED, GS_TEST_RECORD=str(node / "record"), **shell).items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(sandbox)
    code = cli_main(
        ["explain", "--job-ad", str(sandbox / ".job.ad"), "--machine-ad", str(sandbox / ".machine.ad"),
         "--glidein-config", str(node / "glidein" / "glidein_config"), "--sandbox", str(sandbox),
         "--format", "json", "--", *argv]
    )  # fmt: skip
    data = json.loads(capsys.readouterr().out)
    if result.returncode == 90:  # the wrapper refused: explain shows the same refusal
        assert 1 == code
        assert "ERROR: glidein-singularity job wrapper failed: {}\n".format(data["error"]) == result.stderr
        return
    assert (0, "", 0) == (result.returncode, result.stderr, code)
    args, env = recorded(node)
    assert [str(node / "recorder"), *args] == data["argv"]
    shown = {name: value for name, value in environ.items() if name not in data["env"]["unset"]}
    shown.update(data["env"]["set"])
    recorded_env = {name: value for name, value in env.items() if name not in ("PWD", "SHLVL", "_")}
    assert shown == recorded_env
