"""HTCondor launch mode: what the starter is told from the plan, and what the wrapper makes of its command."""

import re

import pytest

from glidein_singularity.node.starter_launch import (
    SSH_REFUSAL,
    is_ssh_to_job,
    native_argv,
    refusing_sshd_argv,
    request_attributes,
    runtime_environment,
    starter_knobs,
    starter_request,
)
from glidein_singularity.plan import LaunchPlan

from .plan_fixtures import EL9_REAL, JOB_ARGV, LAUNCHER, RUNTIME, SANDBOX, make_ad, run_plan


def test_request_splits_the_plan_between_the_starter_and_its_expressions():
    """--home, GPU/admin options and the binds go to the extra arguments in the plan's order; what the
    starter sets itself (-C or --contain --ipc --cleanenv, --pwd) is dropped; the launcher is kept."""
    launch = run_plan(machine={"AssignedGPUs": "CUDA0"}, settings={"opts": "--no-mount tmp"}, argv=JOB_ARGV)
    assert isinstance(launch, LaunchPlan)

    request = starter_request(launch, len(JOB_ARGV))

    assert EL9_REAL == request.image
    binds = launch.argv[launch.argv.index("--bind") + 1]
    assert binds.startswith("/etc/hosts,/etc/localtime,/cvmfs")
    assert ["--home", SANDBOX + ":/srv", "--nv", "--no-mount", "tmp", "--bind", binds] == request.extra
    assert ["--pwd", "/srv", "--contain", "--ipc", "--pid"] == request.dropped
    assert list(LAUNCHER) == request.launcher
    assert [
        ("GS_ContainerImage", EL9_REAL),
        ("GS_ContainerArgs", '"--home {}:/srv --nv --no-mount tmp --bind {}"'.format(SANDBOX, binds)),
    ] == request_attributes(request)


@pytest.mark.parametrize(
    "directory",
    ["/shared/a /opt/host-secret", "/shared/it's", '/shared/say "hi"', "/shared/tab\there"],
)
def test_the_starter_splits_the_extra_arguments_back_into_the_plans_words(directory):
    """HTCondor splits SINGULARITY_EXTRA_ARGUMENTS as ArgList::AppendArgsV1RawOrV2Quoted does: the
    double-quoted V2 form gives back every word, blanks and quotes included (a bind list given to the
    starter's bind expression would be split at blanks: /opt/host-secret would be bound)."""
    from glidein_singularity.condor_words import split_args

    words = ["--home", SANDBOX + ":/srv", "--bind", "/etc/hosts," + directory]
    request = starter_request(_launch_with(words), len(JOB_ARGV))
    value = dict(request_attributes(request))["GS_ContainerArgs"]

    assert value.startswith('"')
    assert value.endswith('"')
    assert words == split_args(value[1:-1].replace('""', '"'))


def _launch_with(options):
    """A container plan whose options are ``options`` (the shape starter_request reads)."""
    launch = run_plan(argv=JOB_ARGV)
    argv = list(launch.argv)
    image_at = argv.index(EL9_REAL)
    return launch._replace(argv=(argv[0], "exec", *options, *argv[image_at:]))


def test_the_knobs_keep_the_job_out_of_the_starters_binds():
    """The starter's bind expression is the empty string: no job's SingularityBind, no list to split."""
    knobs = dict(starter_knobs(RUNTIME, True))
    assert '""' == knobs["SINGULARITY_BIND_EXPR"]
    assert "TARGET.GS_ContainerArgs" == knobs["SINGULARITY_EXTRA_ARGUMENTS"]


def test_request_refuses_a_plan_of_another_shape():
    launch = run_plan(argv=JOB_ARGV)

    with pytest.raises(ValueError, match="no image at the expected place"):
        starter_request(launch, len(JOB_ARGV) + 1)


def test_native_argv_inserts_our_launcher_after_the_image_only():
    launch = run_plan(argv=JOB_ARGV)
    request = starter_request(launch, len(JOB_ARGV))
    starter = [RUNTIME, "-s", "exec", "-S", "/tmp", "-W", SANDBOX, "--pwd", "/srv", "-B", SANDBOX + ":/srv"]
    starter += ["--home", SANDBOX, "-C", *request.extra, EL9_REAL, "/srv/job.sh", "--flag", EL9_REAL]

    argv = native_argv(starter, RUNTIME, request, SANDBOX, _same)

    assert (
        starter[: starter.index(EL9_REAL) + 1] + list(LAUNCHER) + ["/srv/job.sh", "--flag", EL9_REAL] == argv
    )


@pytest.mark.parametrize(
    ("starter", "why"),
    [
        (["/tmp/job.sh", "exec", EL9_REAL], "did not launch the planned runtime"),
        ([RUNTIME, "-s", "exec", "-C", "/other/image", "/srv/job.sh"], "does not run the planned image"),
        ([RUNTIME, "-s", "exec", "-C", EL9_REAL, "/srv/job.sh"], "with the planned options"),
    ],
)
def test_native_argv_refuses_what_the_plan_did_not_ask_for(starter, why):
    """A job never runs in another container, or in none, than its plan's."""
    request = starter_request(run_plan(argv=JOB_ARGV), len(JOB_ARGV))

    with pytest.raises(ValueError, match=why):
        native_argv(starter, RUNTIME, request, SANDBOX, _same)


def _same(path):
    """A realpath for paths that are already real (the unit tests' file system has no links)."""
    return path


def _starter(request, *head):
    """23.9's command for the plan with ``head`` as the starter's own options."""
    return [RUNTIME, "-s", "exec", *head, *request.extra, EL9_REAL, "/srv/job.sh"]


@pytest.mark.parametrize(
    ("head", "word"),
    [
        pytest.param(["-B", "/:/host"], "-B '/:/host'", id="a job's own extra argument"),
        pytest.param(["--writable-tmpfs"], "'--writable-tmpfs'", id="an unknown flag"),
        pytest.param(
            ["-B", "/shared/u/a,/opt/secret"], "-B '/shared/u/a,/opt/secret'", id="iwd with a comma"
        ),
        pytest.param(["-B", "/opt/secret"], "-B '/opt/secret'", id="a directory outside the job's"),
        pytest.param(["-W", "/elsewhere"], "-W '/elsewhere'", id="another work dir"),
        pytest.param(["--home", "/root"], "--home '/root'", id="another home"),
        pytest.param(["-S", "/tmp,/etc"], "-S '/tmp,/etc'", id="a scratch mount list"),
    ],
)
def test_native_argv_refuses_a_starter_word_the_plan_does_not_explain(head, word):
    """Before our options the starter may only write what Singularity::setup writes for this job: a job
    that set GS_ContainerArgs itself where no hook ran, or a job directory that Apptainer would split
    into a second bind, never reaches the runtime."""
    request = starter_request(run_plan(argv=JOB_ARGV), len(JOB_ARGV))
    starter = _starter(request, "-W", SANDBOX, "--pwd", "/srv", "-B", SANDBOX + ":/srv", *head, "-C")

    with pytest.raises(ValueError, match="has " + re.escape(word) + ", which the plan does not explain"):
        native_argv(starter, RUNTIME, request, SANDBOX, _same)


def test_native_argv_accepts_every_word_23_9_writes():
    """Scratch mounts, the sandbox, --nv and the OpenCL drivers (a slot with GPUs), the job's directory
    inside the sandbox (RemoteIwd), and either containment form."""
    request = starter_request(run_plan(argv=JOB_ARGV), len(JOB_ARGV))
    for head in (
        ["-S", "/tmp", "-S", "/var/tmp", "-W", SANDBOX, "--pwd", "/srv", "-B", SANDBOX + ":/srv"],
        ["--nv", "-B", "/etc/OpenCL/vendors", "--home", SANDBOX, "-C"],
        ["-B", SANDBOX + "/sub", "-W", SANDBOX, "-B", SANDBOX + ":/srv", "--contain", "--ipc", "--cleanenv"],
    ):
        assert EL9_REAL in native_argv(_starter(request, *head), RUNTIME, request, SANDBOX, _same)


def test_runtime_environment_keeps_the_job_from_configuring_the_runtime():
    environ = {
        "PATH": "/job/bin",
        "APPTAINER_BINDPATH": "/etc",
        "APPTAINERENV_GOOD": "1",
        "APPTAINERENV_SNEAKY": "x",
        "SNEAKY": "x",
        "LD_PRELOAD": "/srv/evil.so",
        "_CONDOR_SCRATCH_DIR": SANDBOX,
        "GOOD": "1",
    }
    job_env = {
        "APPTAINER_BINDPATH": "/etc",
        "APPTAINERENV_SNEAKY": "x",
        "GOOD": "1",
        "LD_LIBRARY_PATH": "/srv/l",
    }

    env = runtime_environment(environ, job_env, "/usr/bin:/bin")

    assert {
        "PATH": "/usr/bin:/bin",
        "APPTAINERENV_GOOD": "1",
        "SNEAKY": "x",
        "_CONDOR_SCRATCH_DIR": SANDBOX,
        "GOOD": "1",
        "APPTAINERENV_LD_LIBRARY_PATH": "/srv/l",
    } == env


def test_runtime_environment_applies_the_plans_inside_decisions():
    """What the plan keeps from the inside in wrapper mode (the pilot's proxy path outside the job
    directory) is kept out in HTCondor mode too; what it passes inside wins over the starter's copy."""
    pilot = {"X509_USER_PROXY": "/glidein/x509", "GS_GLIDEIN_CONFIG": "/glidein/glidein_config"}
    launch = run_plan(environ=pilot, argv=JOB_ARGV)
    environ = {"PATH": "/usr/bin:/bin", "_CONDOR_SCRATCH_DIR": SANDBOX, "TMPDIR": SANDBOX}
    for name, value in (*pilot.items(), ("TMPDIR", "/srv")):
        environ[name] = environ["APPTAINERENV_" + name] = value

    env = runtime_environment(environ, {}, "/usr/bin:/bin", launch)

    assert [] == sorted(name for name in env if "X509" in name or "GLIDEIN_CONFIG" in name)
    assert "/srv/.gs_tmp" == env["APPTAINERENV_TMPDIR"]


def test_starter_knobs_follow_the_validation():
    knobs = dict(starter_knobs(RUNTIME, False))

    assert RUNTIME == knobs["SINGULARITY"]
    assert "false" == knobs["SINGULARITY_USE_PID_NAMESPACES"]
    assert "false" == knobs["SINGULARITY_RUN_TEST_BEFORE_JOB"]
    assert "/srv" == knobs["SINGULARITY_TARGET_DIR"]
    assert "TARGET.GS_ContainerImage" == knobs["SINGULARITY_IMAGE_EXPR"]
    assert "true" == dict(starter_knobs(RUNTIME, True))["SINGULARITY_USE_PID_NAMESPACES"]


SSHD_ARGV = ["/usr/sbin/sshd", "-i", "-e", "-f", SANDBOX + "/.condor_ssh_to_job_1/sshd_config"]


@pytest.mark.parametrize(
    "argv",
    [
        ["/usr/sbin/sshd", "-i", "-e", "-f", "/tmp/.condor_ssh_to_job_1/sshd_config"],
        ["/usr/sbin/sshd", "-i", "-e", "-f", SANDBOX + "/.condor_ssh_to_job_1/../x/sshd_config"],
        ["/usr/sbin/sshd", "-i", "-f", SANDBOX + "/.condor_ssh_to_job_1/sshd_config", "-e"],
        [SANDBOX + "/sshd", "-i", "-e", "-f", SANDBOX + "/.condor_ssh_to_job_1/sshd_config"],
        ["sshd", "-i", "-e", "-f", SANDBOX + "/.condor_ssh_to_job_1/sshd_config"],
    ],
)
def test_only_the_starters_sshd_is_recognised(argv):
    assert not is_ssh_to_job(argv, None, SANDBOX)


def test_the_jobs_own_sshd_is_the_job():
    """A job whose executable is the sshd is launched as a job (in its container), never passed through."""
    assert not is_ssh_to_job(SSHD_ARGV, make_ad({"Cmd": "/usr/sbin/sshd"}), SANDBOX)


def test_wrapper_mode_sshd_only_says_why():
    argv = refusing_sshd_argv(SSHD_ARGV)

    assert SSHD_ARGV[0] == argv[0]
    assert SSHD_ARGV[1:] == argv[-4:]
    assert "-o" == argv[1]
    assert argv[2].startswith("ForceCommand=echo '" + SSH_REFUSAL.replace("'", ""))
    assert ["-o", "DisableForwarding=yes"] == argv[3:5]


def test_native_argv_starts_a_shared_filesystem_job_in_its_own_directory():
    """The starter says --pwd /srv; the plan of a job in its shared-file-system Iwd says that directory
    (bound at the same path by the plan's --bind, in the extra arguments): the plan's wins."""
    iwd = "/shared/user/run1"
    launch = run_plan(
        settings={"shared_fs_roots": "/shared"},
        filesystem={iwd: ("dir", None)},
        environ={"_CONDOR_JOB_IWD": iwd},
        argv=JOB_ARGV,
        cwd=iwd,
    )
    request = starter_request(launch, len(JOB_ARGV))
    starter = [RUNTIME, "-s", "exec", "-W", SANDBOX, "--pwd", "/srv", "-B", SANDBOX + ":/srv"]
    starter += ["-C", *request.extra, EL9_REAL, "/srv/job.sh", "--flag", "x"]

    argv = native_argv(starter, RUNTIME, request, SANDBOX, _same)

    assert iwd in request.extra[request.extra.index("--bind") + 1].split(",")
    assert [*starter[:5], "--pwd", iwd, *starter[7:]] == [a for a in argv if a not in LAUNCHER]


def _plan_without(job, names):
    """Plan with the environment a starter gives the wrapper, minus ``names`` (deleted by the starter)."""
    from glidein_singularity.inputs import assemble, starter_environment

    from .plan_fixtures import ERROR_FILE, FILESYSTEM, MACHINE, make_probe

    job_ad, machine_ad = make_ad(job), make_ad({**MACHINE, "GS_USE_HTCONDOR": True})
    env = starter_environment(job_ad, {"PATH": "/usr/bin:/bin"}, SANDBOX, ERROR_FILE)
    for name in names:
        env.pop(name)
    return assemble(job_ad, machine_ad, True, env, JOB_ARGV, SANDBOX, make_probe(FILESYSTEM), None, {}).plan()


def test_the_bind_variables_the_starter_deletes_may_be_missing():
    """HTCondor's starter deletes HOME and the runtime's bind variables from the environment of a job it
    launches in a container: their absence is not a misread environment (the plan never passes them);
    any other variable missing still is."""
    job = {"Environment": "APPTAINER_BIND=/:/host SINGULARITY_BIND=/:/host HOME=/home/x FOO=1"}

    launch = _plan_without(job, ["APPTAINER_BIND", "SINGULARITY_BIND", "HOME"])
    refused = _plan_without(job, ["FOO"])

    assert isinstance(launch, LaunchPlan)
    assert not any("/host" in value for value in launch.env_set.values())
    assert "differs from the job's Environment for FOO" in refused.message


def test_a_shared_filesystem_directory_is_bound_even_where_the_image_lacks_it():
    """Without overlay the plan drops binds whose target a directory image lacks, but never the job's own
    working directory: the job could not start without it (Apptainer's underlay makes the mount point)."""
    iwd = "/shared/user/run1"
    launch = run_plan(
        machine={"GS_OVERLAY": False},
        settings={"shared_fs_roots": "/shared"},
        filesystem={iwd: ("dir", None)},
        environ={"_CONDOR_JOB_IWD": iwd},
        cwd=iwd,
    )

    binds = launch.argv[launch.argv.index("--bind") + 1].split(",")
    assert iwd in binds
    assert ["--pwd", iwd] == list(launch.argv[4:6])


def test_the_wrapper_never_execs_a_container_its_plan_does_not_run():
    """HTCondor mode, a plan without a container (PREFERRED, the job asked for none, SingularityAutoLoad
    false): if the starter launched the runtime anyway (the job's own GS_ContainerImage where no hook ran),
    the wrapper refuses; the job's own command passes as it is."""
    from glidein_singularity.inputs import assemble, starter_environment
    from glidein_singularity.node.wrapper import _starter_launch

    from .plan_fixtures import ERROR_FILE, FILESYSTEM, MACHINE, make_probe

    job = {"SingularityAutoLoad": False}
    job_ad = make_ad(job)
    machine_ad = make_ad({**MACHINE, "GS_USE_HTCONDOR": True, "GWMS_SINGULARITY_STATUS": "PREFERRED"})
    env = starter_environment(job_ad, {"PATH": "/usr/bin:/bin"}, SANDBOX, ERROR_FILE)
    inputs = assemble(job_ad, machine_ad, True, env, JOB_ARGV, SANDBOX, make_probe(FILESYSTEM), None, {})
    bare = inputs.plan()
    assert isinstance(bare, LaunchPlan)
    assert not bare.use_container

    assert bare == _starter_launch(inputs, bare, list(JOB_ARGV))
    with pytest.raises(ValueError, match="for a job our plan runs without a container"):
        _starter_launch(inputs, bare, [RUNTIME, "-s", "exec", "-B", "/:/host", "/evil", *JOB_ARGV])
