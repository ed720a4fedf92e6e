"""Runtime discovery order, version and uid_map parsing, and the validation run (with fake runtimes)."""

import os
import time

import pytest

from glidein_singularity.errors import ConfigError, RuntimeProbeError
from glidein_singularity.launch_options import DEFAULT_BINDS
from glidein_singularity.plan import NodeSettings, PathInfo
from glidein_singularity.runtime import (
    OSG_SINGULARITY_BINARY_DEFAULT,
    VALIDATION_PAYLOAD,
    ProcessResult,
    RuntimeSettings,
    check_version,
    discover,
    find_runtime,
    first_error_line,
    is_pid_namespace_failure,
    parse_uid_map,
    parse_version,
    run_bounded,
    settings_from,
    strip_ansi,
    validate,
    validation_argv,
)
from tests.fake_runtime import PID_FAILURE, exec_calls, make_fake_runtime, make_module_system

# --- uid_map ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("      1000       1000          1\n", "unprivileged", id="unprivileged-leading-blanks"),
        pytest.param("1000 1000 1\n", "unprivileged", id="unprivileged-no-leading-blank"),
        pytest.param("         0          0 4294967295\n", "privileged", id="privileged"),
        pytest.param("0 0 4294967295", "privileged", id="privileged-no-newline"),
        pytest.param("         0       1000          1\n", "fakeroot", id="fakeroot"),
        pytest.param("\x1b[0m\x1b[1;32m      1000       1000          1\x1b[0m\n", "unprivileged", id="ansi"),
        pytest.param("\n\n   2000 2000 1\n   0 0 1\n", "unprivileged", id="first-nonblank-line"),
        pytest.param("\t1000\t1000\t1", "unprivileged", id="tabs"),
    ],
)
def test_parse_uid_map(text, expected):
    """The first uid_map line gives the mode, whatever the blanks and colours."""
    assert expected == parse_uid_map(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            "hello world\n",
            "unexpected validation output 'hello world': "
            "expected a /proc/self/uid_map line like '1000 1000 1'",
            id="garbage",
        ),
        pytest.param(
            "",
            "unexpected validation output '': expected a /proc/self/uid_map line like '1000 1000 1'",
            id="empty",
        ),
        pytest.param(
            "1000\n",
            "unexpected validation output '1000': expected a /proc/self/uid_map line like '1000 1000 1'",
            id="one-field",
        ),
        pytest.param(
            "1000 x 1\n",
            "unexpected validation output '1000 x 1': expected a /proc/self/uid_map line like '1000 1000 1'",
            id="non-numeric",
        ),
        pytest.param(
            "\x1b[31mFATAL:   oops\x1b[0m\n",
            "unexpected validation output 'FATAL:   oops': "
            "expected a /proc/self/uid_map line like '1000 1000 1'",
            id="ansi-garbage",
        ),
    ],
)
def test_parse_uid_map_garbage(text, expected):
    """Output that is not a uid_map line is a RuntimeProbeError quoting it."""
    with pytest.raises(RuntimeProbeError) as info:
        parse_uid_map(text)
    assert expected == str(info.value)


def test_strip_ansi():
    """Colour and OSC sequences are removed."""
    expected = "FATAL: x"
    assert expected == strip_ansi("\x1b[31mFATAL:\x1b[0m \x1b]0;title\x07x")


# --- versions ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("output", "expected"),
    [
        pytest.param(
            "apptainer version 1.4.5-1.el9\n",
            ("1.4.5-1.el9", "apptainer version 1.4.5-1.el9"),
            id="apptainer",
        ),
        pytest.param(
            "singularity version 3.8.7-1.el7\n",
            ("3.8.7-1.el7", "singularity version 3.8.7-1.el7"),
            id="singularity",
        ),
        pytest.param(
            "singularity-ce version 4.1.0\n", ("4.1.0", "singularity-ce version 4.1.0"), id="sylabs-ce"
        ),
        pytest.param("1.3.0\n", ("1.3.0", "1.3.0"), id="bare"),
        pytest.param(
            "\n  apptainer version 1.2.5\nextra\n", ("1.2.5", "apptainer version 1.2.5"), id="blank-first"
        ),
        pytest.param("", ("", ""), id="empty"),
    ],
)
def test_parse_version(output, expected):
    """The version is the first line without its program prefix; the full version is the line."""
    assert expected == parse_version(output)


def test_check_version_uses_version_subcommand_as_fallback(tmp_path):
    """When --version fails, `<bin> version` still gives the version."""
    fake = tmp_path / "singularity"
    fake.write_text('#!/bin/sh\n[ "$1" = version ] && { echo 2.6.1-dist; exit 0; }\nexit 1\n')
    fake.chmod(0o755)
    expected = ("2.6.1-dist", "2.6.1-dist", "")
    assert expected == check_version(str(fake), 5)


def test_check_version_failure(tmp_path):
    """A binary that answers nothing fails the version check with its error line."""
    fake = make_fake_runtime(tmp_path / "apptainer", version_out="", version_rc=3)
    expected = ("", "", "version check failed: exit code 3 and no output")
    assert expected == check_version(str(fake), 5)


# --- pure option building -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(PID_FAILURE, True, id="apptainer-kubernetes"),
        pytest.param(
            "\x1b[31mFATAL:   container creation failed: mount proc->/proc error: x\x1b[0m", True, id="ansi"
        ),
        pytest.param(
            "failed to mount proc filesystem: operation not permitted", True, id="fakeroot-build-text"
        ),
        pytest.param(
            "FATAL:   could not open image /x: no such file or directory", False, id="missing-image"
        ),
        pytest.param("", False, id="empty"),
    ],
)
def test_is_pid_namespace_failure(text, expected):
    """Only the /proc mount failure of nested deployments triggers the retry without --pid."""
    assert expected == is_pid_namespace_failure(text)


#: glidein_config cases for the validation-vs-job comparison (the host has /data, /scratch, /hadoop).
LAUNCH_CONFIGS = [
    pytest.param({}, id="defaults"),
    pytest.param({"GLIDEIN_SINGULARITY_OPTS": "--nv --env 'A=b c'"}, id="opts-quoted"),
    pytest.param({"GLIDEIN_CONTAINER_ENV": "clearall"}, id="clearall"),
    pytest.param(
        {"GLIDEIN_CONTAINER_ENV": "Clear,osgset", "GLIDEIN_SINGULARITY_OPTS": "-e"}, id="opts-clean"
    ),
    pytest.param(
        {
            "GLIDEIN_SINGULARITY_BINDPATH": "/data, /scratch:/s:ro,relative",
            "GLIDEIN_SINGULARITY_BINDPATH_DEFAULT": "/hadoop,/missing",
        },
        id="bind-lists",
    ),
    pytest.param({"CVMFS_MOUNT_DIR": "/tmp/cvmfsexec/dist/cvmfs"}, id="cvmfs-mount-dir"),
    pytest.param({"SINGULARITY_DISABLE_PID_NAMESPACES": "1"}, id="no-pid"),
]


def _job_and_validation(config, pid=True):
    """The argv of a job planned on a node with ``config`` (a SIF image, no GPU) and the validation
    argv of the same node (``pid`` False: after the retry without --pid)."""
    from glidein_singularity.plan import NodeSettings
    from tests.unit.plan_fixtures import FILESYSTEM, RUNTIME, SANDBOX, SIF, make_probe, run_plan

    mount = config.get("CVMFS_MOUNT_DIR", "")
    files = dict(FILESYSTEM, **dict.fromkeys(("/data", "/scratch", "/hadoop"), ("dir", None)))
    if mount:
        files.update({mount: ("dir", None), mount + SIF[len("/cvmfs") :]: ("file", None)})
    node = NodeSettings.from_sources(None, dict(config, SINGULARITY_IMAGES_DICT="default:" + SIF))
    fields = {name: getattr(node, name) for name in node._fields if name != "reasons"}
    machine = {"GS_OVERLAY": None, "GS_PID_NAMESPACES": None if pid else False}
    job = run_plan(machine=machine, settings=fields, filesystem=files)
    image = job.image
    settings = settings_from(dict(config, SINGULARITY_IMAGES_DICT="default:" + SIF), {})
    validation = validation_argv(RUNTIME, image, settings, SANDBOX, pid, make_probe(files))
    return list(job.argv), validation


@pytest.mark.parametrize("pid", [True, False])
@pytest.mark.parametrize("config", LAUNCH_CONFIGS)
def test_validation_is_a_job_launch(config, pid):
    """The validation container is launched exactly like a job on the same node: the argv are equal up
    to the image; after it the validation runs its payload where the job runs the launcher and itself."""
    job, validation = _job_and_validation(config, pid)
    position = job.index(validation[-len(VALIDATION_PAYLOAD) - 1]) + 1
    assert job[:position] == validation[:position]
    assert list(VALIDATION_PAYLOAD) == validation[position:]


def test_validation_argv_without_binds():
    """No --bind option when no bind source exists; no --pid after the retry."""
    expected = [
        "a",
        "exec",
        "--home",
        "/h:/srv",
        "--pwd",
        "/srv",
        "--contain",
        "--ipc",
        "i",
        "cat",
        "/proc/self/uid_map",
    ]
    assert expected == validation_argv(
        "a", "i", RuntimeSettings(), "/h", False, lambda path: PathInfo(False, False, path)
    )


# --- settings ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("config", "environ", "field", "expected"),
    [
        pytest.param(
            {"GLIDEIN_SINGULARITY_BINARY_OVERRIDE": "/c"},
            {"GLIDEIN_SINGULARITY_BINARY_OVERRIDE": "/e"},
            "binary_override",
            "/e",
            id="override-env-wins",
        ),
        pytest.param(
            {"GLIDEIN_SINGULARITY_BINARY_OVERRIDE": "/c"}, {}, "binary_override", "/c", id="override-config"
        ),
        pytest.param({"SINGULARITY_BIN": "  /opt/a  "}, {}, "singularity_bin", "/opt/a", id="bin-blanks"),
        pytest.param(
            {"OSG_SINGULARITY_BINARY": "/c/s"},
            {"OSG_SINGULARITY_BINARY": "/e/s"},
            "osg_binary",
            "/c/s",
            id="osg-config-wins",
        ),
        pytest.param({}, {"OSG_SINGULARITY_BINARY": "/e/s"}, "osg_binary", "/e/s", id="osg-env"),
        pytest.param({}, {}, "osg_binary", OSG_SINGULARITY_BINARY_DEFAULT, id="osg-default"),
        pytest.param(
            {"CVMFS_MOUNT_DIR": "/m"},
            {},
            "osg_binary",
            "/m/oasis.opensciencegrid.org/mis/singularity/bin/singularity",
            id="osg-default-translated",
        ),
        pytest.param(
            {"CVMFS_MOUNT_DIR": "/c"}, {"CVMFS_MOUNT_DIR": "/e"}, "cvmfs_mount_dir", "/e", id="cvmfs-env"
        ),
        pytest.param({"GS_VALIDATION_TIMEOUT": "30"}, {}, "validation_timeout", 30.0, id="timeout"),
        pytest.param({}, {}, "validation_timeout", 120.0, id="timeout-default"),
    ],
)
def test_settings_from(config, environ, field, expected):
    """Settings come from the environment or glidein_config with GlideinWMS precedence."""
    assert expected == getattr(settings_from(config, environ), field)


def test_launch_settings_are_a_jobs():
    """The validation run's launch settings are the ones a job reads: glidein_config, never the
    environment (a job could set any variable there)."""
    config = {"GLIDEIN_SINGULARITY_OPTS": "--nv", "GLIDEIN_CONTAINER_ENV": "clearall"}
    environ = {"GLIDEIN_SINGULARITY_OPTS": "--writable", "SINGULARITY_DISABLE_PID_NAMESPACES": "1"}
    launch = settings_from(config, environ).launch
    assert ("--nv", "clearall", "") == (launch.opts, launch.container_env, launch.disable_pid_namespaces)


@pytest.mark.parametrize("value", [pytest.param("soon", id="word"), pytest.param("-5", id="negative")])
def test_settings_bad_timeout(value):
    """An invalid GS_VALIDATION_TIMEOUT is a ConfigError naming it."""
    with pytest.raises(ConfigError) as info:
        settings_from({"GS_VALIDATION_TIMEOUT": value}, {})
    expected = "GS_VALIDATION_TIMEOUT={!r} is not valid; expected a positive number of seconds".format(value)
    assert expected == str(info.value)


# --- discovery order -----------------------------------------------------------------------------------


@pytest.fixture
def every_step(tmp_path):
    """A fake runtime for every discovery step, in separate directories."""
    dirs = {}
    for name in ("override", "hint", "path_a", "path_s", "condor/usr/libexec", "module", "osg"):
        dirs[name] = tmp_path / name
        dirs[name].mkdir(parents=True)
    make_fake_runtime(dirs["override"] / "apptainer")
    make_fake_runtime(dirs["hint"] / "singularity")
    make_fake_runtime(dirs["path_a"] / "apptainer")
    make_fake_runtime(dirs["path_s"] / "singularity")
    make_fake_runtime(dirs["condor/usr/libexec"] / "apptainer")
    make_fake_runtime(dirs["module"] / "singularity")
    make_fake_runtime(dirs["osg"] / "singularity")
    environ = {
        "PATH": "{}:{}:/usr/bin:/bin".format(dirs["path_a"], dirs["path_s"]),
        "MODULESHOME": make_module_system(tmp_path / "modules", "singularitypro", dirs["module"]),
    }
    settings = RuntimeSettings(
        binary_override=str(dirs["override"] / "apptainer"),
        singularity_bin=str(dirs["hint"]),
        osg_binary=str(dirs["osg"] / "singularity"),
        condor_dir=str(tmp_path / "condor"),
        path=environ["PATH"],
    )
    return tmp_path, settings, environ


def test_discovery_order(every_step):
    """Candidates come in GlideinWMS order: override, hint, PATH, CONDOR, module, OSG."""
    root, settings, environ = every_step
    trail = []
    found = [(c.step, os.path.relpath(c.path, str(root))) for c in discover(settings, environ, trail)]
    expected = [
        ("GLIDEIN_SINGULARITY_BINARY_OVERRIDE", "override/apptainer"),
        ("SINGULARITY_BIN " + settings.singularity_bin, "hint/singularity"),
        ("PATH apptainer", "path_a/apptainer"),
        ("PATH singularity", "path_s/singularity"),
        ("CONDOR", "condor/usr/libexec/apptainer"),
        ("module singularitypro", "module/singularity"),
        ("OSG", "osg/singularity"),
    ]
    assert (expected, ["module singularity: module load failed"]) == (found, trail)


def test_discovery_is_lazy(every_step):
    """Only the first candidate is looked up when it is taken (no module load, no PATH search)."""
    _, settings, environ = every_step
    trail = []
    first = next(iter(discover(settings, environ, trail)))
    expected = ("GLIDEIN_SINGULARITY_BINARY_OVERRIDE", [])
    assert expected == (first.step, trail)


@pytest.mark.parametrize(
    ("override_kind", "expected"),
    [
        pytest.param("pathlist", "singularity", id="pathlist-singularity-first"),
        pytest.param("missing", None, id="missing"),
    ],
)
def test_override_as_path_list(tmp_path, override_kind, expected):
    """An override that is a directory list is searched for singularity, then apptainer."""
    both = tmp_path / "both"
    make_fake_runtime(both / "apptainer")
    make_fake_runtime(both / "singularity")
    value = (
        "{}:{}".format(tmp_path / "empty", both) if override_kind == "pathlist" else str(tmp_path / "nope")
    )
    settings = RuntimeSettings(
        binary_override=value, singularity_bin="PATH", path="", osg_binary="/nonexistent/s"
    )
    trail = []
    found = [os.path.basename(c.path) for c in discover(settings, {}, trail) if c.step.startswith("GLIDEIN")]
    expected = [expected] if expected else []
    assert expected == found


@pytest.mark.parametrize(
    ("hint", "expected_step", "expected_trail"),
    [
        pytest.param("OSG", "SINGULARITY_BIN OSG", [], id="osg-keyword"),
        pytest.param("", "SINGULARITY_BIN OSG", [], id="empty-is-osg"),
        pytest.param("CONDOR", "SINGULARITY_BIN CONDOR", [], id="condor-keyword"),
        pytest.param("PATH", None, [], id="path-skips"),
        pytest.param("PASS", None, [], id="pass-skips"),
        pytest.param(
            "NONE",
            None,
            ["SINGULARITY_BIN NONE: legacy value, ignored (it no longer disables containers)"],
            id="none",
        ),
        pytest.param(
            "/no/such/dir",
            None,
            [
                "SINGULARITY_BIN /no/such/dir: not a directory nor one of OSG, CONDOR, PATH, PASS "
                "(mis-configuration)"
            ],
            id="bad-dir",
        ),
    ],
)
def test_singularity_bin_hint(tmp_path, hint, expected_step, expected_trail):
    """SINGULARITY_BIN keywords map to the OSG or HTCondor directory, PATH/PASS skip, NONE warns."""
    osg = make_fake_runtime(tmp_path / "osg" / "singularity")
    make_fake_runtime(tmp_path / "condor" / "usr" / "libexec" / "apptainer")
    settings = RuntimeSettings(
        singularity_bin=hint, osg_binary=str(osg), condor_dir=str(tmp_path / "condor"), path=""
    )
    trail = []
    steps = [c.step for c in discover(settings, {}, trail) if c.step.startswith("SINGULARITY_BIN")]
    hint_trail = [line for line in trail if line.startswith("SINGULARITY_BIN")]
    expected = ([expected_step] if expected_step else [], expected_trail)
    assert expected == (steps, hint_trail)


def test_no_module_system_is_skipped_cleanly(tmp_path):
    """Without LMOD_CMD/MODULESHOME the module steps are skipped with a note, nothing is run."""
    settings = RuntimeSettings(singularity_bin="PATH", path="", osg_binary=str(tmp_path / "none"))
    trail = []
    found = list(discover(settings, {}, trail))
    expected = (
        [],
        [
            "PATH apptainer: not found",
            "PATH singularity: not found",
            "module singularitypro: no module system (LMOD_CMD/MODULESHOME unset)",
            "module singularity: no module system (LMOD_CMD/MODULESHOME unset)",
            "OSG {}: not found".format(tmp_path / "none"),
        ],
    )
    assert expected == (found, trail)


# --- validation and find_runtime --------------------------------------------------------------------------


def _settings(tmp_path, **changes):
    base = RuntimeSettings(
        singularity_bin="PATH", path=str(tmp_path / "bin"), osg_binary="/nonexistent/singularity"
    )
    return base._replace(**changes)


def test_find_runtime_first_good_wins_with_one_container(tmp_path):
    """A broken first candidate is skipped; the winner needs exactly one validation container."""
    make_fake_runtime(tmp_path / "bin" / "apptainer", version_out="", version_rc=1)
    good = make_fake_runtime(tmp_path / "bin" / "singularity", version_out="singularity version 3.8.7")
    info = find_runtime(_settings(tmp_path), "/img", str(tmp_path), {"PATH": str(tmp_path / "bin")})
    expected_trail = (
        "PATH apptainer {}: version check failed: exit code 1 and no output".format(
            tmp_path / "bin" / "apptainer"
        ),
        "PATH singularity {}: version 3.8.7; validation ok (unprivileged)".format(good),
    )
    expected = (str(good), "3.8.7", "singularity version 3.8.7", "unprivileged", True, expected_trail, 1)
    assert expected == (
        info.path,
        info.version,
        info.full_version,
        info.mode,
        info.pid_namespaces,
        info.trail,
        len(exec_calls(good)),
    )


def test_find_runtime_skips_same_file(tmp_path):
    """singularity symlinked to apptainer is not validated twice."""
    real = make_fake_runtime(tmp_path / "bin" / "apptainer", exec_rc=1, exec_err="FATAL:   broken")
    (tmp_path / "bin" / "singularity").symlink_to(real)
    with pytest.raises(RuntimeProbeError) as info:
        find_runtime(_settings(tmp_path), "/img", str(tmp_path), {})
    expected = (
        "no working container runtime; tried: "
        "PATH apptainer {}: version 1.4.5; validation failed: FATAL:   broken; "
        "PATH singularity {}: same file as an earlier candidate; "
        "module singularitypro: no module system (LMOD_CMD/MODULESHOME unset); "
        "module singularity: no module system (LMOD_CMD/MODULESHOME unset); "
        "OSG /nonexistent/singularity: not found"
    ).format(real, tmp_path / "bin" / "singularity")
    assert (expected, 1) == (str(info.value), len(exec_calls(real)))


def test_validate_garbage_with_exit_zero_fails(tmp_path):
    """Exit 0 with output that is not a uid_map line is a validation failure."""
    fake = make_fake_runtime(tmp_path / "apptainer", exec_out="Welcome to the container")
    result = validate(str(fake), "/img", _settings(tmp_path), str(tmp_path), {})
    expected = (
        False,
        "unexpected validation output 'Welcome to the container': expected a /proc/self/uid_map line like "
        "'1000 1000 1'",
    )
    assert expected == (result.ok, result.error)


def test_validate_pid_failure_retries_once_without_pid(tmp_path):
    """The /proc mount failure with --pid is retried once without --pid; PID namespaces are off."""
    fake = make_fake_runtime(tmp_path / "apptainer", pid_fail=True)
    result = validate(str(fake), "/img", _settings(tmp_path), str(tmp_path), {})
    calls = exec_calls(fake)
    expected = (True, "unprivileged", False, 2, [True, False])
    assert expected == (
        result.ok,
        result.mode,
        result.pid_namespaces,
        result.runs,
        ["--pid" in call.split() for call in calls],
    )


def test_validate_other_failure_is_not_retried(tmp_path):
    """Any other failure is reported after a single container run."""
    fake = make_fake_runtime(
        tmp_path / "apptainer", exec_rc=255, exec_err="FATAL:   could not open image /img"
    )
    result = validate(str(fake), "/img", _settings(tmp_path), str(tmp_path), {})
    expected = (False, "FATAL:   could not open image /img", 1, 1)
    assert expected == (result.ok, result.error, result.runs, len(exec_calls(fake)))


def test_validate_disabled_pid_never_tries_it(tmp_path):
    """SINGULARITY_DISABLE_PID_NAMESPACES=1 leaves --pid out without trying it."""
    fake = make_fake_runtime(tmp_path / "apptainer", pid_fail=True)
    result = validate(
        str(fake),
        "/img",
        _settings(tmp_path, launch=NodeSettings(disable_pid_namespaces="1")),
        str(tmp_path),
        {},
    )
    expected = (True, False, 1, False)
    assert expected == (
        result.ok,
        result.pid_namespaces,
        result.runs,
        "--pid" in exec_calls(fake)[0].split(),
    )


def test_validate_unwritable_work_dir(tmp_path):
    """A work dir where the scratch home cannot be created is a failure naming it, not a crash."""
    fake = make_fake_runtime(tmp_path / "apptainer")
    missing = tmp_path / "gone"
    result = validate(str(fake), "/img", _settings(tmp_path), str(missing), {})
    expected = (
        False,
        "cannot create the validation home in {}: No such file or directory".format(missing),
        0,
    )
    assert expected == (result.ok, result.error, len(exec_calls(fake)))


def test_validate_timeout(tmp_path):
    """A hanging container is killed at the time limit and reported as such."""
    fake = make_fake_runtime(tmp_path / "apptainer", sleep=30)
    start = time.monotonic()
    result = validate(str(fake), "/img", _settings(tmp_path, validation_timeout=0.5), str(tmp_path), {})
    elapsed = time.monotonic() - start
    expected = (False, "timed out after 0.5 s", True)
    assert expected == (result.ok, result.error, elapsed < 10)


def test_validate_binds_only_existing_sources_and_cleans_up(tmp_path):
    """Missing bind sources are dropped and the scratch home is removed afterwards."""
    fake = make_fake_runtime(tmp_path / "apptainer")
    existing = tmp_path / "data"
    existing.mkdir()
    launch = NodeSettings(
        bindpath="{},/does/not/exist".format(existing), cvmfs_mount_dir=str(tmp_path / "nocvmfs")
    )
    settings = _settings(tmp_path, launch=launch)
    validate(str(fake), "/img", settings, str(tmp_path), {})
    argv = exec_calls(fake)[0].split()
    binds = argv[argv.index("--bind") + 1].split(",")
    leftovers = [name for name in os.listdir(str(tmp_path)) if name.startswith(".gs-validate-")]
    present = [path for path in DEFAULT_BINDS if os.path.exists(path)]
    assert ([str(existing), *present], []) == (binds, leftovers)


def test_validate_sets_apptainer_dirs_under_local_tmp(tmp_path):
    """APPTAINER_CACHEDIR/TMPDIR default to GLIDEIN_LOCAL_TMP_DIR/apptainer/{cache,tmp} and are created."""
    seen = {}

    def runner(argv, timeout, env=None, cwd=None):
        seen.update(env)
        return ProcessResult(0, "1000 1000 1\n", "", 0.01)

    settings = _settings(tmp_path, local_tmp_dir=str(tmp_path / "ltmp"))
    validate(
        "/bin/apptainer", "/img", settings, str(tmp_path), {"LD_PRELOAD": "x.so", "KEEP": "1"}, runner=runner
    )
    expected = (
        str(tmp_path / "ltmp" / "apptainer" / "cache"),
        str(tmp_path / "ltmp" / "apptainer" / "tmp"),
        None,
        "1",
        True,
    )
    assert expected == (
        seen["APPTAINER_CACHEDIR"],
        seen["APPTAINER_TMPDIR"],
        seen.get("LD_PRELOAD"),
        seen["KEEP"],
        (tmp_path / "ltmp" / "apptainer" / "tmp").is_dir(),
    )


def test_run_bounded_kills_process_group(tmp_path):
    """On timeout the whole process group (children too) is killed."""
    marker = tmp_path / "child-survived"
    script = "sleep 3 && touch {} & sleep 30".format(marker)
    result = run_bounded(["/bin/sh", "-c", script], 0.3)
    time.sleep(3.5)
    expected = ("timed out after 0.3 s", False)
    assert expected == (result.problem, marker.exists())


def test_run_bounded_missing_binary(tmp_path):
    """A binary that cannot be started is reported, not raised."""
    result = run_bounded([str(tmp_path / "nope")], 1)
    expected = (None, "cannot run: No such file or directory")
    assert expected == (result.returncode, result.problem)


@pytest.mark.parametrize(
    ("result", "expected"),
    [
        pytest.param(
            ProcessResult(1, "", "INFO: x\nFATAL:   bad thing\n", 0), "FATAL:   bad thing", id="fatal"
        ),
        pytest.param(ProcessResult(1, "", "ERROR  : userns\n", 0), "ERROR  : userns", id="error"),
        pytest.param(ProcessResult(2, "", "\n  first\nsecond\n", 0), "first", id="first-line"),
        pytest.param(ProcessResult(2, "", "", 0), "exit code 2 and no output", id="silent"),
        pytest.param(
            ProcessResult(None, "", "", 0, "timed out after 1 s"), "timed out after 1 s", id="problem"
        ),
    ],
)
def test_first_error_line(result, expected):
    """The message quotes the runtime's FATAL/ERROR line when there is one."""
    assert expected == first_error_line(result)
