"""GlideinWMS's own Singularity tests, as our compatibility table.

GlideinWMS tests its ``singularity_lib.sh`` with bats (``test/bats/creation_web_base_singularity_lib.bats``
and ``test/bats/fixtures/`` in the glideinWMS/glideinwms repository, read at commit ``efdc530a``). Each
row of ``ROWS`` is one of its assertions rewritten as a decision of ours, in our own words: a job
decision through ``plan()`` (the function ``explain`` prints and the wrapper executes), or, where the
bats test is about a pure helper (dictionary parsing, list intersection), the ``images`` function that
plays its part. Every row names the bats test it comes from.

A row holds GlideinWMS's result (``gwms``) and, when we differ on purpose, ours (``ours``) with the
topic of its row on ``docs/explanation/differences.md`` (``difference``). There are no skips: a row
that stops agreeing fails, an intended difference is an explicit expected value, and a test checks that
the differences page lists every intended difference of the table.

The GlideinWMS column is not taken on trust: ``test_gwms_column_is_what_glideinwms_does`` sources
GlideinWMS's own ``singularity_lib.sh`` in bash (from ``shared/third_party/glideinwms`` beside the
repository, or ``GS_GLIDEINWMS_LIB``; it is used, never copied here) and runs each row's snippet on the
same inputs. Without the library the oracle is skipped, except under ``CI``, where it fails.

Paths: rows about the job directory, symbolic links and ``file:`` URIs run on a real directory tree
(``Tree``) with the wrapper's own probe, so GlideinWMS's ``realpath`` and our probe see the same files;
the bats test's mocked ``robust_realpath`` (``/condor/execute/dir_29865`` is
``/export/data1/condor/execute/dir_29865``) is a real symbolic link here.

Inputs follow the wrapper's model (``inputs.assemble``): the node's settings a bats test exports come
from ``glidein_config`` (never from the environment, which the job can set), the job's own variables
are in the environment as the starter sets them, and the sandbox bound at ``/srv`` is the starter's
``_CONDOR_SCRATCH_DIR``. Where the bats inputs cannot be given otherwise (a job started in the
glidein directory), the row keeps them and states our refusal as an intended difference.

Assertions that cannot be expressed as a decision of ours (``NOT_EXPRESSIBLE``):

- "Test that bats is working with basic shell commands": tests bats itself.
- "Verify mocked robust_realpath": tests the bats file's own mock (here a real link replaces it).
- "Verify singularity_check_paths": the ``c`` (in CVMFS) and ``v`` (check the destination) bind checks
  it tests are used by no GlideinWMS code path (the wrapper uses only ``e``, existence); our binds are
  checked for existence, and for an existing target in a directory image.
- "Verify singularity_locate_bin": runtime discovery at glidein start with a mocked
  ``singularity_test_bin`` and call counting; not a job decision (our discovery order is tested on
  fake runtimes in ``tests/unit/test_runtime.py`` and ``tests/scripts/test_setup_script.py``).
- "Verify gwms_from_config", its processing-function assertions: our reader has no callback; the value,
  default and missing-file assertions are rows.
- "Verify singularity_make_outside_pwd_list", its ``:``-prefixed seed lists (``":/srv/sub1"``): the
  caller-supplied seed list has no counterpart (our job directory's aliases come from the starter's
  directories); the realpath, alias and empty-value assertions are rows.
- "Verify env_clear_one" and "Verify env_clearlist", the ``GWMS_OLDENV_*`` copies: we keep no copies,
  the ``PREFERRED`` fallback plan runs with the untouched environment (rows for env_restore and
  env_restorelist check that).
"""

import os
import pathlib
import re
import shlex
import shutil
import subprocess
from typing import Callable, Dict, List, NamedTuple, Optional, Sequence, Tuple, Union

import pytest

from glidein_singularity.grammar import ENV_POLICY_WORDS
from glidein_singularity.images import intersect_os, parse_images_dict, parse_os_list
from glidein_singularity.inputs import assemble, read_glidein_config
from glidein_singularity.inputs import make_probe as real_probe
from glidein_singularity.jobenv import read_job_environment
from glidein_singularity.launch_env import RUNTIME_PATH
from glidein_singularity.plan import LAUNCHER_SCRIPT, LaunchPlan
from glidein_singularity.settings import SETTING_NAMES, NodeSettings
from tests.unit.plan_fixtures import make_ad, make_probe

ROOT = pathlib.Path(__file__).resolve().parents[2]
DIFFERENCES = ROOT / "docs" / "explanation" / "differences.md"
GWMS_LIB_RELATIVE = "shared/third_party/glideinwms/creation/web_base/singularity_lib.sh"

#: Every @test of creation_web_base_singularity_lib.bats (the skipped set-name banner excepted).
BATS_TESTS = (
    "Test that bats is working with basic shell commands",
    "Test dictionary values",
    "Test dictionary keys",
    "Test dictionary set",
    "Test dictionary iterator",
    "Test dictionary iterator bash",
    "Test dictionary key iterator bash",
    "Test dictionary dict_get_first",
    "Test dictionary dict_get_keys",
    "Test list intersection",
    "Verify uri_is_valid_file_or_remote",
    "Verify env_clear_one",
    "Verify env_process_options",
    "Verify env_gets_cleared",
    "Verify env_clearlist",
    "Verify env_restorelist",
    "Verify env_restore",
    "Verify env_preserve",
    "Verify mocked robust_realpath",
    "Verify gwms_from_config",
    "Verify cvmfs_path_in_cvmfs_literal",
    "Verify cvmfs_path_in_cvmfs",
    "Verify cvmfs_resolve_path",
    "Verify singularity_check_paths",
    "Verify singularity_make_outside_pwd_list",
    "Verify singularity_update_path",
    "Verify singularity_setup_inside_env",
    "Verify singularity_locate_bin",
)

#: Bats tests with no row at all (the module docstring says why).
NOT_EXPRESSIBLE = (
    "Test that bats is working with basic shell commands",
    "Verify mocked robust_realpath",
    "Verify singularity_check_paths",
    "Verify singularity_locate_bin",
)

# --- inputs ----------------------------------------------------------------------------------------------

#: The bats dictionary, with ``docker://`` before each value so that every value is a usable image.
BATS_DICT = (
    " key 1:docker://val1:opt1,key2:docker://val2,key3:docker://val3:opt3,key4,key5:,key6 :docker://val6"
)
#: The bats dictionary as written in the helper tests.
PLAIN_DICT = " key 1:val1:opt1,key2:val2,key3:val3:opt3,key4,key5:,key6 :val6"
LIST1 = "val1,val2,val3,val4,val5"
LIST2 = "val2,val5,val6"
OS_DICT = ",".join("val{0}:docker://image{0}".format(n) for n in range(1, 7))

#: The node environment of the env_preserve fixture: its names, grouped as there (values are ours).
GWMS_NAMES = (
    "GWMS_SINGULARITY_REEXEC",
    "GLIDEIN_Proxy_URL",
    "MODULE_USE",
    "InitializeModulesEnv",
    "XRD_PLUGINCONFDIR",
    "POSIXSTASHCACHE",
    "STASHCACHE",
    "STASHCACHE_WRITABLE",
    "LoadModules",
    "GWMS_AUX_SUBDIR",
    "GWMS_BASE_SUBDIR",
    "GWMS_SUBDIR",
    "GWMS_DIR",
)
CONDOR_NAMES = ("_CONDOR_CONDOR_CONFIG", "_CONDOR_HTCVAR1", "_CONDOR_HTCVAR2", "_CONDOR_JOB_AD")
OSG_NAMES = (
    "OSG_SINGULARITY_REEXEC",
    "_CHIRP_DELAYED_UPDATE_PREFIX",
    "APPTAINER_WORKDIR",
    "CONDOR_PARENT_ID",
    "GLIDEIN_ResourceName",
    "GLIDEIN_Site",
    "HAS_SINGULARITY",
    "http_proxy",
    "InitializeModulesEnv",
    "LIGO_DATAFIND_SERVER",
    "OSG_MACHINE_GPUS",
    "OSG_SINGULARITY_AUTOLOAD",
    "OSG_SINGULARITY_BIND_CVMFS",
    "OSG_SINGULARITY_CLEAN_ENV",
    "OSG_SINGULARITY_IMAGE",
    "OSG_SINGULARITY_IMAGE_DEFAULT",
    "OSG_SINGULARITY_IMAGE_HUMAN",
    "OSG_SINGULARITY_OUTSIDE_PWD",
    "OSG_SINGULARITY_PATH",
    "OSG_SITE_NAME",
    "OSGVO_PROJECT_NAME",
    "OSGVO_SUBMITTER",
    "OSG_WN_TMP",
    "POSIXSTASHCACHE",
    "SINGULARITY_WORKDIR",
    "STASHCACHE",
    "STASHCACHE_WRITABLE",
    "TZ",
    "X509_USER_CERT",
    "X509_USER_KEY",
    "X509_USER_PROXY",
)
_EMPTY = ("GWMS_BASE_SUBDIR", "GWMS_SUBDIR", "GWMS_DIR", "OSG_SINGULARITY_IMAGE", "OSG_SINGULARITY_PATH")
FIXTURE_ENV = {name: ("" if name in _EMPTY else "v_" + name.lower()) for name in GWMS_NAMES + OSG_NAMES}
FIXTURE_ENV.update(
    {
        "BATS_TEST_DIR": "./",
        "_CONDOR_CONDOR_CONFIG": "condor_config",
        "_CONDOR_HTCVAR1": "val_htcvar1",
        "_CONDOR_HTCVAR2": "val_htcvar2",
        "_CONDOR_JOB_AD": "fixtures/condor_job_ad",
        "APPTAINER_WORKDIR": "/srv",
        "SINGULARITY_WORKDIR": "/srv",
        "OSG_WN_TMP": "/tmp",
        "X509_USER_CERT": "x509_user_cert",
        "X509_USER_KEY": "x509_user_key",
        "X509_USER_PROXY": "x509_user_proxy",
    }
)
FIXTURE_NAMES = tuple(sorted(FIXTURE_ENV))
#: What the env rows add to the node environment, to see the PATH variables cleared.
HOST_PATHS = {"LD_LIBRARY_PATH": "/host/lib", "PYTHONPATH": "/host/py"}

# --- a real directory tree for the path rows ------------------------------------------------------------

GLIDE = "condor/execute/dir_29865/glide_8QOQl2"
GLIDE_REAL = "export/data1/" + GLIDE


class Tree:
    """The real files both sides look at; ``{base}`` in a row's texts is this directory."""

    def __init__(self, base: pathlib.Path) -> None:
        self.base = str(base)
        for folder in ("fixtures", "test1", "plain", "other", "link/dir1/sub1", "link/dir1/sub2", GLIDE_REAL):
            (base / folder).mkdir(parents=True, exist_ok=True)
        (base / "fixtures" / "glidein_config").write_text("GLIDEIN_CONTAINER_ENV_CLEARLIST test\n")
        (base / "fixtures" / "condor_job_ad").write_text("# no job ad attributes\n")
        (base / "test2").symlink_to("test1")
        (base / "link" / "dir2").symlink_to("dir1")
        (base / "condor").mkdir()
        (base / "condor" / "execute").mkdir()
        (base / "condor" / "execute" / "dir_29865").symlink_to(
            str(base / "export" / "data1" / "condor" / "execute" / "dir_29865")
        )

    def fill(self, text: str) -> str:
        return text.replace("{base}", self.base)


# --- our side: the decision -----------------------------------------------------------------------------

SANDBOX = "/exec/dir_1/scratch"
BASE_MACHINE = {
    "HAS_SINGULARITY": True,
    "SINGULARITY_PATH": "/usr/bin/apptainer",
    "GWMS_SINGULARITY_STATUS": "REQUIRED",
    "GS_OVERLAY": True,
    "SINGULARITY_IMAGES_DICT": "default:docker://img",
    "SINGULARITY_IMAGE_RESTRICTIONS": "remote",
}
VIRTUAL_FILES = {
    SANDBOX: ("dir", None),
    "/cvmfs": ("dir", None),
    "/cvmfs/dir/file": ("file", None),
    "/cvmfs_dir/file": ("file", None),
    "/altcvmfs": ("dir", None),
    "/altcvmfs/dir/file": ("file", None),
}


def decide(
    job: "Optional[Dict[str, object]]" = None,
    machine: "Optional[Dict[str, object]]" = None,
    config: "Optional[Dict[str, str]]" = None,
    environ: "Optional[Dict[str, str]]" = None,
    argv: "Sequence[str]" = ("./job",),
    cwd: str = SANDBOX,
    job_iwd: "Optional[str]" = None,
    real: bool = False,
):
    """Our decision for these inputs, built as ``explain`` builds it; returns (plan or refusal, environ)."""
    attrs = dict(BASE_MACHINE)
    attrs.update(machine or {})
    machine_ad = make_ad(attrs)
    job_ad = make_ad(job or {})
    env = {
        "PATH": "/usr/bin:/bin",
        "_CONDOR_SCRATCH_DIR": cwd,
        "_CONDOR_JOB_IWD": cwd if job_iwd is None else job_iwd,
        "_CONDOR_WRAPPER_ERROR_FILE": cwd + "/.job_wrapper_failure",
    }
    # GlideinWMS reads its settings from the wrapper's environment; ours come from glidein_config
    # only (a job can set any variable): the rows' node settings are given to both as such.
    node_config = dict(config or {})
    for name, value in (environ or {}).items():
        if name in SETTING_NAMES:
            node_config[name] = value
        else:
            env[name] = value
    env.update(read_job_environment(job_ad).expanded(cwd))  # the starter puts the job's own there
    probe = real_probe() if real else make_probe(VIRTUAL_FILES)
    inputs = assemble(job_ad, machine_ad, True, env, tuple(argv), cwd, probe, None, node_config)
    return inputs.plan(), env


def inner_args(result) -> "List[str]":
    """The job's arguments inside the container (after the launcher and the executable)."""
    assert isinstance(result, LaunchPlan), result
    argv = list(result.argv)
    return argv[argv.index(LAUNCHER_SCRIPT) + 3 :]


def image_of(**inputs) -> str:
    """The image the runtime is given, or REFUSED."""
    result, _ = decide(**inputs)
    return result.image if isinstance(result, LaunchPlan) else "REFUSED"


def dict_image(required_os: "Optional[str]", images: str = BATS_DICT, entry_os: str = "any") -> str:
    job = {} if required_os is None else {"REQUIRED_OS": required_os}
    machine = {
        "SINGULARITY_IMAGES_DICT": images,
        "SINGULARITY_IMAGE_RESTRICTIONS": "remote",
        "GLIDEIN_REQUIRED_OS": entry_os,
    }
    return image_of(job=job, machine=machine)


def uri_validity(tree: Tree, image: str) -> str:
    machine = {"SINGULARITY_IMAGE_RESTRICTIONS": "remote"}
    result, _ = decide(job={"SingularityImage": tree.fill(image)}, machine=machine, cwd=tree.base, real=True)
    return "VALID" if isinstance(result, LaunchPlan) else "INVALID"


def cvmfs_verdict(path: str, mount_dir: str) -> str:
    machine = {"SINGULARITY_IMAGES_DICT": "default:" + path, "SINGULARITY_IMAGE_RESTRICTIONS": "cvmfs"}
    result, _ = decide(machine=machine, config={"CVMFS_MOUNT_DIR": mount_dir})
    return "in" if isinstance(result, LaunchPlan) else "out"


def cvmfs_image_argument(path: str, mount_dir: str) -> str:
    machine = {"SINGULARITY_IMAGES_DICT": "default:" + path, "SINGULARITY_IMAGE_RESTRICTIONS": "any"}
    return image_of(machine=machine, config={"CVMFS_MOUNT_DIR": mount_dir})


def _runtime_env(result, environ: "Dict[str, str]") -> "Dict[str, str]":
    assert isinstance(result, LaunchPlan), result
    return result.environment(environ)


def _clears(argv: "Sequence[str]") -> bool:
    return any(option in ("--cleanenv", "-e", "--containall", "-C") for option in argv)


def env_effect(policy: str, opts: str, environ: "Optional[Dict[str, str]]" = None, job=None) -> str:
    """What a policy does: runtime told to clean, host PATH variables cleared, fixture names passed in."""
    env = dict(FIXTURE_ENV)
    env.update(HOST_PATHS)
    env.update(environ or {})
    env = {name: value for name, value in env.items() if value is not None}
    config = {"GLIDEIN_CONTAINER_ENV": policy, "GLIDEIN_SINGULARITY_OPTS": opts}
    result, env = decide(job=job, config=config, environ=env)
    final = _runtime_env(result, env)
    options = list(result.argv[: result.argv.index(result.image)])
    cleanenv = _clears(options)
    cleared = ",".join(name for name in HOST_PATHS if name not in final)
    return _effect_text(cleanenv, cleared, final)


def _effect_text(cleanenv: bool, cleared: str, final: "Dict[str, str]") -> str:
    if not cleanenv:
        return "cleanenv=no; cleared={}; passed=inherited".format(cleared or "-")
    passed = [name for name in FIXTURE_NAMES if "SINGULARITYENV_" + name in final]
    appt = [name for name in FIXTURE_NAMES if "APPTAINERENV_" + name in final]
    return "cleanenv=yes; cleared={}; passed={}:{}; appt={}".format(
        cleared or "-", len(passed), ",".join(passed), "same" if appt == passed else "differs"
    )


def equivalent(policy_a: str, policy_b: str) -> str:
    first, second = env_effect(policy_a, "--cleanenv"), env_effect(policy_b, "--cleanenv")
    return "equivalent" if first == second else "differs: {} / {}".format(first, second)


def passed_names(*groups: "Sequence[str]", without: "Sequence[str]" = ()) -> str:
    names = sorted({name for group in groups for name in group} - set(without))
    return "{}:{}".format(len(names), ",".join(names))


def preserve_effect(policy: str, without: "Sequence[str]" = ()) -> str:
    return env_effect(policy, "--cleanenv", environ=dict.fromkeys(without))  # type: ignore[arg-type]


def gwms_preserve_text(names: str, cleared: str = "LD_LIBRARY_PATH,PYTHONPATH") -> str:
    return "cleanenv=yes; cleared={}; passed={}; appt=same".format(cleared, names)


def preset_value(job_set: bool) -> str:
    environ = {"SINGULARITYENV_STASHCACHE": "val_notfromfile"}
    job = {"Environment": "SINGULARITYENV_STASHCACHE=val_notfromfile"} if job_set else None
    env = dict(FIXTURE_ENV)
    env.update(environ)
    config = {"GLIDEIN_CONTAINER_ENV": "gwmsset", "GLIDEIN_SINGULARITY_OPTS": "--cleanenv"}
    result, env = decide(job=job, config=config, environ=env)
    final = _runtime_env(result, env)
    return "SINGULARITYENV_STASHCACHE={}".format(final.get("SINGULARITYENV_STASHCACHE", "<unset>"))


def cleanenv_count(policy: str, opts: str) -> str:
    result, _ = decide(config={"GLIDEIN_CONTAINER_ENV": policy, "GLIDEIN_SINGULARITY_OPTS": opts})
    return str(list(result.argv).count("--cleanenv"))


def runs_with_policy(policy: str) -> str:
    result, _ = decide(config={"GLIDEIN_CONTAINER_ENV": policy})
    return "runs" if isinstance(result, LaunchPlan) else "refused: " + result.message


def clearlist_effect(names: str, environ: "Dict[str, str]") -> str:
    config = {"GLIDEIN_CONTAINER_ENV_CLEARLIST": names}
    result, env = decide(config=config, environ=environ)
    final = _runtime_env(result, env)
    return " ".join("{}={}".format(name, final.get(name, "<unset>")) for name in names.split(","))


def fallback_env(policy: str, names: "Sequence[str]", environ: "Dict[str, str]", clearlist: str = "") -> str:
    """The environment the PREFERRED fallback (runtime exec failed) runs the job with."""
    config = {"GLIDEIN_CONTAINER_ENV": policy, "GLIDEIN_CONTAINER_ENV_CLEARLIST": clearlist}
    machine = {"GWMS_SINGULARITY_STATUS": "PREFERRED"}
    result, env = decide(machine=machine, config=config, environ=environ)
    assert isinstance(result, LaunchPlan), result
    assert result.fallback is not None, result
    final = result.fallback.environment(env)
    return " ".join("{}={}".format(name, final.get(name, "<unset>")) for name in names)


def runtime_env(policy: str, names: "Sequence[str]", environ: "Dict[str, str]") -> str:
    result, env = decide(config={"GLIDEIN_CONTAINER_ENV": policy}, environ=environ)
    final = _runtime_env(result, env)
    return " ".join("{}={}".format(name, final.get(name, "<unset>")) for name in names)


def setting_from_glidein_config(tree: Tree, config_file: str) -> str:
    config = read_glidein_config(tree.fill(config_file))
    return NodeSettings.from_sources(make_ad({}), config).container_env_clearlist


def rewritten(tree: Tree, cwd: str, args: "Sequence[str]", job_iwd: "Optional[str]" = None) -> str:
    """The job's arguments as the job sees them inside ('|'-separated)."""
    result, _ = decide(
        argv=("./job", *(tree.fill(arg) for arg in args)),
        cwd=tree.fill(cwd),
        job_iwd=None if job_iwd is None else tree.fill(job_iwd),
        real=True,
    )
    return "|".join(inner_args(result))


def job_dir_aliases(
    tree: Tree, cwd: str, candidates: "Sequence[str]", job_iwd: "Optional[str]" = None
) -> str:
    """Which of ``candidates`` count as the job directory (an argument naming one becomes /srv)."""
    result, _ = decide(
        argv=("./job", *(tree.fill(path) for path in candidates)),
        cwd=tree.fill(cwd),
        job_iwd=None if job_iwd is None else tree.fill(job_iwd),
        real=True,
    )
    inside = inner_args(result)
    return ":".join(tree.fill(path) for path, new in zip(candidates, inside) if new == "/srv")


INSIDE_ENV_NAMES = (
    "X509_USER_PROXY",
    "X509_USER_CERT",
    "X509_USER_KEY",
    "_CONDOR_CREDS",
    "_CONDOR_MACHINE_AD",
    "_CONDOR_EXECUTE",
    "_CONDOR_JOB_AD",
    "_CONDOR_SCRATCH_DIR",
    "_CONDOR_CHIRP_CONFIG",
    "_CONDOR_JOB_IWD",
)
INSIDE_ENV = {
    "X509_USER_PROXY": "{base}/" + GLIDE + "/execute/dir_9182/602e17194771641967ee6db7e7b3ffe358a54c59",
    "X509_USER_CERT": "{base}/" + GLIDE + "/hostcert.pem",
    "X509_USER_KEY": "{base}/" + GLIDE + "/hostkey.pem",
    "_CONDOR_CREDS": "",
    "_CONDOR_MACHINE_AD": "{base}/" + GLIDE + "/execute/dir_9182/.machine.ad",
    "_CONDOR_EXECUTE": "{base}/" + GLIDE + "/execute",
    "_CONDOR_JOB_AD": "{base}/" + GLIDE + "/execute/dir_9182/.job.ad",
    "_CONDOR_SCRATCH_DIR": "{base}/" + GLIDE + "/execute/dir_9182",
    "_CONDOR_CHIRP_CONFIG": "{base}/" + GLIDE + "/execute/dir_9182/.chirp.config",
    "_CONDOR_JOB_IWD": "{base}/" + GLIDE + "/execute/dir_9182",
    "OSG_WN_TMP": "/osg/tmp",
}


def inside_values(tree: Tree, names: "Sequence[str]", cwd: str = "{base}/" + GLIDE) -> str:
    """Values the job sees inside for ``names`` (the bats test's environment), started in ``cwd`` (the
    bats test's: the glidein's directory, which holds the scratch directory), or the refusal."""
    environ = {name: tree.fill(value) for name, value in INSIDE_ENV.items()}
    result, env = decide(environ=environ, cwd=tree.fill(cwd), real=True)
    if not isinstance(result, LaunchPlan):
        return "REFUSED: " + result.message
    final = result.environment(env)
    values = []
    for name in names:
        value = final.get("APPTAINERENV_" + name, final.get(name, "<unset>"))
        values.append("{}={}".format(name, value))
    return " ".join(values)


# --- the GlideinWMS side: bash snippets run with singularity_lib.sh sourced ----------------------------

GWMS_HELPERS = r"""
preset_env() {
    local name
    for name in $(env | sed -n 's/^\(\(SINGULARITY\|APPTAINER\)ENV_[A-Za-z0-9_]*\)=.*/\1/p'); do
        unset "$name"
    done
    %(exports)s
}
gwms_image() {  # GLIDEIN_REQUIRED_OS REQUIRED_OS restrictions: the wrapper's image choice
    local desired image rc
    desired=$(list_get_intersection "${1:-any}" "${2:-any}") || { echo REFUSED; return; }
    if [[ "$desired" = any ]]; then
        image=$(singularity_get_image default,rhel9,rhel8,rhel7,rhel6 "${3:+$3,}any"); rc=$?
    else
        image=$(singularity_get_image "$desired" "$3"); rc=$?
    fi
    [[ $rc -eq 0 && -n "$image" ]] && echo "$image" || echo REFUSED
}
gwms_effect() {  # GLIDEIN_CONTAINER_ENV GLIDEIN_SINGULARITY_OPTS: singularity_exec's environment steps
    local policy="$1" extra="$2" opts option cleanenv=no cleared= passed= appt= count=0 name
    export LD_LIBRARY_PATH=/host/lib PYTHONPATH=/host/py
    opts=$(env_get_singularity_opts "$policy" "--ipc --contain $extra")
    for option in $opts; do [[ "$option" = --cleanenv ]] && cleanenv=yes; done
    env_clear "$policy"
    env_clearlist "$GLIDEIN_CONTAINER_ENV_CLEARLIST"
    env_gets_cleared "$extra" && env_preserve "$policy"
    for name in LD_LIBRARY_PATH PYTHONPATH; do [[ -z "${!name+x}" ]] && cleared="$cleared,$name"; done
    cleared=${cleared#,}
    if [[ $cleanenv = no ]]; then echo "cleanenv=no; cleared=${cleared:--}; passed=inherited"; return; fi
    for name in %(names)s; do
        option="SINGULARITYENV_$name"
        [[ -n "${!option+x}" ]] && { passed="$passed,$name"; count=$((count+1)); }
        option="APPTAINERENV_$name"; [[ -n "${!option+x}" ]] && appt="$appt,$name"
    done
    [[ "$appt" = "$passed" ]] && appt=same || appt=differs
    echo "cleanenv=yes; cleared=${cleared:--}; passed=$count:${passed#,}; appt=$appt"
}
gwms_equivalent() {
    local first second
    first=$(preset_env; gwms_effect "$1" --cleanenv); second=$(preset_env; gwms_effect "$2" --cleanenv)
    [[ "$first" = "$second" ]] && echo equivalent || echo "differs: $first / $second"
}
"""


def _gwms_helpers() -> str:
    exports = " ".join(
        "export {}={};".format(name, shlex.quote(value)) for name, value in FIXTURE_ENV.items()
    )
    return GWMS_HELPERS % {"exports": exports, "names": " ".join(FIXTURE_NAMES)}


# --- the table ------------------------------------------------------------------------------------------


class Row(NamedTuple):
    id: str
    bats: str
    what: str
    ours: Callable[[Tree], str]
    gwms: str
    oracle: str
    expected_ours: "Optional[str]" = None
    difference: "Optional[Union[str, Tuple[str, ...]]]" = None

    def topics(self) -> "Tuple[str, ...]":
        """The differences page's topics this row's intended difference falls under."""
        if self.difference is None:
            return ()
        return (self.difference,) if isinstance(self.difference, str) else self.difference


ROWS: "List[Row]" = []


def slug(text: str) -> str:
    """A row id part: lower-case letters, digits and '-' (a trailing '/' is kept as '-slash')."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower().replace("_", "")).strip("-") + (
        "-slash" if text.endswith("/") else ""
    )


def row(
    id_: str,
    bats: str,
    what: str,
    ours: Callable[[Tree], str],
    gwms: str,
    oracle: str,
    expected_ours: "Optional[str]" = None,
    difference: "Optional[Union[str, Tuple[str, ...]]]" = None,
) -> None:
    assert id_ not in [r.id for r in ROWS], id_
    ROWS.append(Row(id_, bats, what, ours, gwms, oracle, expected_ours, difference))


KEY_BLANKS = "blanks around an image dictionary key"
URI_SCHEMES = "image URI schemes"
FILE_ONE_SLASH = "`file:/path` (one slash)"
RUNTIME_NAMES = "`APPTAINER_WORKDIR`, `SINGULARITY_WORKDIR` under `osgset`"
JOB_SET = "job-set `APPTAINER_*`/`SINGULARITY_*` variables"
CLEANENV_TWICE = "`--cleanenv` with `clearall`"
LONE_UNKNOWN = "unknown `GLIDEIN_CONTAINER_ENV` word"
OSG_WN_TMP = "`OSG_WN_TMP` inside"
ANY_ALONE = "`REQUIRED_OS` `any`, no `default`...`rhel6` key"
RUNTIME_HOST_ENV = "`PATH` and loader variables of the runtime process"
OUTSIDE_SCRATCH = "job started outside its scratch directory"
OUTSIDE_PATH_VARS = "`X509_*`, `_CONDOR_*` paths outside the job directory"
D = "test_dict={}; ".format(shlex.quote(PLAIN_DICT))
IMAGES_SH = "SINGULARITY_IMAGES_DICT={}; ".format(shlex.quote(BATS_DICT))

# Test dictionary values: REQUIRED_OS names a key of the dictionary (GLIDEIN_REQUIRED_OS any).
for key, value in (
    (" key 1", "docker://val1:opt1"),
    ("key2", "docker://val2"),
    ("key3", "docker://val3:opt3"),
    ("key4", "REFUSED"),
    ("key5", "REFUSED"),
    ("key6 ", "docker://val6"),
):
    row(
        "dict-value-" + slug(key),
        "Test dictionary values",
        "REQUIRED_OS {!r} picks its dictionary value (an empty value is no image)".format(key),
        lambda tree, key=key: dict_image(key),
        value,
        IMAGES_SH + "gwms_image any {} remote".format(shlex.quote(key)),
    )

# Test dictionary keys: every key, blanks included, is present.
for key in (" key 1", "key2", "key3", "key4", "key5", "key6 "):
    row(
        "dict-key-" + slug(key),
        "Test dictionary keys",
        "key {!r} is in the dictionary".format(key),
        lambda tree, key=key: "yes" if key in parse_images_dict(PLAIN_DICT) else "no",
        "yes",
        D + "dict_check_key test_dict {} && echo yes || echo no".format(shlex.quote(key)),
    )

# Test dictionary set: whether the key was there, and its value afterwards.
for key, value, existed in (("key2", "new2", "yes"), (" key 1", "", "yes"), ("key7", "new7 sp", "no")):
    row(
        "dict-set-" + slug(key),
        "Test dictionary set",
        "setting {!r} to {!r}: found before, value after".format(key, value),
        lambda tree, key=key, value=value: "{}|{}".format(
            "yes" if key in parse_images_dict(PLAIN_DICT) else "no",
            parse_images_dict(PLAIN_DICT).with_value(key, value).get(key) or "",
        ),
        "{}|{}".format(existed, value),
        D
        + "new=$(dict_set_val test_dict {0} {1}) && found=yes || found=no; "
        'echo "$found|$(dict_get_val new {0})"'.format(shlex.quote(key), shlex.quote(value)),
    )


def _items(tree: Tree) -> str:
    return "|".join("<{}><{}>".format(key, value) for key, value in parse_images_dict(PLAIN_DICT).entries)


def _keys(tree: Tree) -> str:
    return "|".join("<{}>".format(key) for key, _ in parse_images_dict(PLAIN_DICT).entries)


ITEMS_GWMS = "< key 1><val1:opt1>|<key2><val2>|<key3><val3:opt3>|<key4><>|<key5><>|<key6 ><val6>"
ITEMS_OURS = "<key 1><val1:opt1>|<key2><val2>|<key3><val3:opt3>|<key4><>|<key5><>|<key6><val6>"
DIT = 'dit() { printf "|<%s><%s>" "$1" "$2"; }; '
row(
    "dict-items",
    "Test dictionary iterator",
    "the items in order, keys as read",
    _items,
    ITEMS_GWMS,
    D + DIT + 'out=$(dict_items_iterator test_dict dit); echo "${out#|}"',
    ITEMS_OURS,
    KEY_BLANKS,
)
row(
    "dict-items-bash",
    "Test dictionary iterator bash",
    "the items in order, keys as read",
    _items,
    ITEMS_GWMS,
    D + DIT + 'out=$(dict_items_iterator_bash test_dict dit); echo "${out#|}"',
    ITEMS_OURS,
    KEY_BLANKS,
)
row(
    "dict-keys-iterator",
    "Test dictionary key iterator bash",
    "the keys in order, as read",
    _keys,
    "< key 1>|<key2>|<key3>|<key4>|<key5>|<key6 >",
    D + 'dik() { printf "|<%s>" "$1"; }; out=$(dict_keys_iterator_bash test_dict dik); echo "${out#|}"',
    "<key 1>|<key2>|<key3>|<key4>|<key5>|<key6>",
    KEY_BLANKS,
)
row(
    "dict-first-key",
    "Test dictionary dict_get_first",
    "the first key",
    lambda tree: parse_images_dict(PLAIN_DICT).first()[0],  # type: ignore[index]
    " key 1",
    D + "dict_get_first test_dict key",
    "key 1",
    KEY_BLANKS,
)
row(
    "dict-first-value",
    "Test dictionary dict_get_first",
    "the first value",
    lambda tree: parse_images_dict(PLAIN_DICT).first()[1],  # type: ignore[index]
    "val1:opt1",
    D + "dict_get_first test_dict",
)
row(
    "dict-first-any",
    "Test dictionary dict_get_first",
    "job decision: REQUIRED_OS 'nokey,any' and no default key take the first dictionary value",
    lambda tree: dict_image("nokey,any"),
    "docker://val1:opt1",
    IMAGES_SH + "gwms_image any nokey,any remote",
)
row(
    "dict-first-any-alone",
    "Test dictionary dict_get_first",
    "job decision: REQUIRED_OS 'any' and none of default, rhel9..rhel6: the first dictionary value",
    lambda tree: dict_image(None),
    "REFUSED",
    IMAGES_SH + "gwms_image any any remote",
    "docker://val1:opt1",
    ANY_ALONE,
)
row(
    "dict-keys",
    "Test dictionary dict_get_keys",
    "the keys, comma-separated",
    lambda tree: ",".join(key for key, _ in parse_images_dict(PLAIN_DICT).entries),
    " key 1,key2,key3,key4,key5,key6 ",
    D + "dict_get_keys test_dict",
    "key 1,key2,key3,key4,key5,key6",
    KEY_BLANKS,
)

# Test list intersection: the helper, then the job decision it feeds.
for name, entry, job, result, image in (
    ("both", LIST1, LIST2, "val2,val5", "docker://image2"),
    ("job-any", LIST1, "any", LIST1, "docker://image1"),
    ("entry-any", "any", LIST2, LIST2, "docker://image2"),
):
    row(
        "intersection-" + name,
        "Test list intersection",
        "GLIDEIN_REQUIRED_OS {} x REQUIRED_OS {}".format(entry, job),
        lambda tree, entry=entry, job=job: ",".join(intersect_os(parse_os_list(entry), parse_os_list(job))),
        result,
        "list_get_intersection {} {}".format(entry, job),
    )
    row(
        "intersection-image-" + name,
        "Test list intersection",
        "job decision: the image for GLIDEIN_REQUIRED_OS {} x REQUIRED_OS {}".format(entry, job),
        lambda tree, entry=entry, job=job: dict_image(job, OS_DICT, entry),
        image,
        "SINGULARITY_IMAGES_DICT={}; gwms_image {} {} remote".format(OS_DICT, entry, job),
    )

# Verify uri_is_valid_file_or_remote: +SingularityImage under SINGULARITY_IMAGE_RESTRICTIONS=remote.
for name, image, valid, ours, difference in (
    ("http", "http://user@host:port/path/to/file", "VALID", None, None),
    ("ftp", "ftp://host/path/to/file", "VALID", "INVALID", URI_SCHEMES),
    ("relative", "fixtures/glidein_config", "VALID", None, None),
    ("absolute", "{base}/fixtures/glidein_config", "VALID", None, None),
    ("file-two-slashes", "file:/{base}/fixtures/glidein_config", "VALID", None, None),
    ("file-three-slashes", "file://{base}/fixtures/glidein_config", "VALID", None, None),
    ("file-one-slash", "file:{base}/fixtures/glidein_config", "INVALID", "VALID", FILE_ONE_SLASH),
    ("missing-relative", "fixtures/this_file_is_not_there", "INVALID", None, None),
    ("missing-absolute", "{base}/fixtures/this_file_is_not_there", "INVALID", None, None),
    ("missing-file-two-slashes", "file:/{base}/fixtures/this_file_is_not_there", "INVALID", None, None),
    ("missing-file-three-slashes", "file://{base}/fixtures/this_file_is_not_there", "INVALID", None, None),
):
    row(
        "uri-" + name,
        "Verify uri_is_valid_file_or_remote",
        "job decision: +SingularityImage = {!r}".format(image),
        lambda tree, image=image: uri_validity(tree, image),
        valid,
        'cd "{{base}}" && uri_is_valid_file_or_remote "{}" && echo VALID || echo INVALID'.format(image),
        ours,
        difference,
    )

# Verify env_clear_one / env_clearlist / env_restorelist / env_restore.
row(
    "clear-one",
    "Verify env_clear_one",
    "job decision: GLIDEIN_CONTAINER_ENV_CLEARLIST=TEST_VAR keeps it from the runtime",
    lambda tree: clearlist_effect("TEST_VAR", {"TEST_VAR": "testvalue"}),
    "TEST_VAR=<unset>",
    'export TEST_VAR=testvalue; env_clear_one TEST_VAR; echo "TEST_VAR=${TEST_VAR-<unset>}"',
)
row(
    "clearlist",
    "Verify env_clearlist",
    "job decision: GLIDEIN_CONTAINER_ENV_CLEARLIST=VAR1,VAR2,VAR3 (VAR3 unset)",
    lambda tree: clearlist_effect("VAR1,VAR2,VAR3", {"VAR1": "value1", "VAR2": "complex var, with_spaces"}),
    "VAR1=<unset> VAR2=<unset> VAR3=<unset>",
    "export VAR1=value1 VAR2='complex var, with_spaces'; unset VAR3; env_clearlist VAR1,VAR2,VAR3; "
    'echo "VAR1=${VAR1-<unset>} VAR2=${VAR2-<unset>} VAR3=${VAR3-<unset>}"',
)
row(
    "restorelist",
    "Verify env_restorelist",
    "job decision: the PREFERRED fallback (runtime exec failed) has the cleared variables back",
    lambda tree: fallback_env(
        "",
        ("VAR1", "VAR2", "VAR3"),
        {"VAR1": "simplevar", "VAR2": "complex var, with_spaces"},
        "VAR1,VAR2,VAR3",
    ),
    "VAR1=simplevar VAR2=complex var, with_spaces VAR3=<unset>",
    "export VAR1=simplevar VAR2='complex var, with_spaces'; unset VAR3; env_clearlist VAR1,VAR2,VAR3; "
    'env_restorelist VAR1,VAR2,VAR3; echo "VAR1=${VAR1-<unset>} VAR2=${VAR2-<unset>} VAR3=${VAR3-<unset>}"',
)
OLD_PATHS = {
    "PATH": "/bin:/usr/bin:path with:spaces",
    "LD_LIBRARY_PATH": "oldldlib",
    "PYTHONPATH": "waspythonpath",
}
OLD_PATHS_SH = (
    "export LD_LIBRARY_PATH=oldldlib PYTHONPATH=waspythonpath; PATH='/bin:/usr/bin:path with:spaces'; "
)
ECHO_PATHS = 'echo "PATH=$PATH LD_LIBRARY_PATH=${LD_LIBRARY_PATH-<unset>} PYTHONPATH=${PYTHONPATH-<unset>}"'
row(
    "restore-keepall",
    "Verify env_restore",
    "job decision: keepall clears nothing, so the runtime keeps PATH, LD_LIBRARY_PATH, PYTHONPATH",
    lambda tree: runtime_env("keepall", ("PATH", "LD_LIBRARY_PATH", "PYTHONPATH"), OLD_PATHS),
    "PATH=/bin:/usr/bin:path with:spaces LD_LIBRARY_PATH=oldldlib PYTHONPATH=waspythonpath",
    OLD_PATHS_SH + "env_clear keepall; " + ECHO_PATHS,
    # keepall still keeps PYTHONPATH; the runtime process never gets a loader variable or a PATH but
    # its fixed one, whatever the policy (#12)
    "PATH={} LD_LIBRARY_PATH=<unset> PYTHONPATH=waspythonpath".format(RUNTIME_PATH),
    RUNTIME_HOST_ENV,
)
row(
    "restore-clear",
    "Verify env_restore",
    "job decision: after clear, the PREFERRED fallback has PATH, LD_LIBRARY_PATH, PYTHONPATH back",
    lambda tree: fallback_env("clear", ("PATH", "LD_LIBRARY_PATH", "PYTHONPATH"), OLD_PATHS),
    "PATH=/bin:/usr/bin:path with:spaces LD_LIBRARY_PATH=oldldlib PYTHONPATH=waspythonpath",
    OLD_PATHS_SH + "env_clear clear; env_restore clear; " + ECHO_PATHS,
)

# Verify env_process_options: the default, and the normalisations, as equal decisions.
row(
    "policy-default",
    "Verify env_process_options",
    "job decision: no GLIDEIN_CONTAINER_ENV means clearpaths",
    lambda tree: env_effect("", ""),
    "cleanenv=no; cleared=LD_LIBRARY_PATH,PYTHONPATH; passed=inherited",
    'preset_env; gwms_effect "" ""',
)
for name, first, second in (
    ("clear", "clear", "clear,clearall,gwmsset,osgset,condorset"),
    ("osgset-condorset", "aaa,osgset", "aaa,osgset,condorset"),
    ("osgset-gwmsset", "aaa,osgset", "aaa,osgset,gwmsset"),
    ("same", "aaa,osgset,condorset", "aaa,osgset,condorset,gwmsset"),
    ("keepall-ignored", "clear,osgset,condorset,keepall", "clear,osgset,condorset"),
):
    row(
        "policy-" + name,
        "Verify env_process_options",
        "job decision: {!r} decides as {!r}".format(first, second),
        lambda tree, first=first, second=second: equivalent(first, second),
        "equivalent",
        "gwms_equivalent {} {}".format(first, second),
    )
row(
    "policy-unknown-word-runs",
    "Verify env_process_options",
    "job decision: the unknown word 'aaa' in 'aaa,osgset' does not stop the job",
    lambda tree: runs_with_policy("aaa,osgset"),
    "runs",
    "env_process_options aaa,osgset >/dev/null && echo runs || echo refused",
)
row(
    "policy-unknown-word-alone",
    "Verify env_process_options",
    "job decision: a lone unknown word ('aaa') leaves which host PATH variables reach the runtime",
    lambda tree: env_effect("aaa", ""),
    "cleanenv=no; cleared=-; passed=inherited",
    'preset_env; gwms_effect aaa ""',
    "cleanenv=no; cleared=LD_LIBRARY_PATH,PYTHONPATH; passed=inherited",
    LONE_UNKNOWN,
)

# Verify env_gets_cleared: a cleaning option in GLIDEIN_SINGULARITY_OPTS protects the glidein variables.
for name, opts, cleans in (
    ("inside", "command --other --cleanenv --other2", True),
    ("alone", "--cleanenv", True),
    ("lookalike", "testvalue --cleanenvnot", False),
):
    row(
        "gets-cleared-" + name,
        "Verify env_gets_cleared",
        "job decision: GLIDEIN_SINGULARITY_OPTS {!r}".format(opts),
        lambda tree, opts=opts: env_effect("", opts),
        gwms_preserve_text(passed_names(GWMS_NAMES))
        if cleans
        else "cleanenv=no; cleared=LD_LIBRARY_PATH,PYTHONPATH; passed=inherited",
        "preset_env; gwms_effect '' {}".format(shlex.quote(opts)),
    )
row(
    "gets-cleared-once",
    "Verify env_gets_cleared",
    "job decision: clearall with --cleanenv in GLIDEIN_SINGULARITY_OPTS: how often the runtime gets it",
    lambda tree: cleanenv_count("clearall", "--cleanenv"),
    "2",
    "opts=$(env_get_singularity_opts clearall '--ipc --contain --cleanenv'); n=0; "
    'for o in $opts; do [[ "$o" = --cleanenv ]] && n=$((n+1)); done; echo $n',
    "1",
    CLEANENV_TWICE,
)

# Verify env_preserve: what reaches the container when the environment is cleaned (--cleanenv).
STASH = ("STASHCACHE", "STASHCACHE_WRITABLE")
WORKDIRS = ("APPTAINER_WORKDIR", "SINGULARITY_WORKDIR")
for name, policy, groups, without, ours_without, difference in (
    ("default", "", (GWMS_NAMES,), (), (), None),
    ("gwmsset", "gwmsset", (GWMS_NAMES,), (), (), RUNTIME_HOST_ENV),
    ("condorset", "condorset", (GWMS_NAMES, CONDOR_NAMES), (), (), RUNTIME_HOST_ENV),
    (
        "osgset",
        "osgset",
        (GWMS_NAMES, CONDOR_NAMES, OSG_NAMES),
        (),
        WORKDIRS,
        (RUNTIME_NAMES, RUNTIME_HOST_ENV),
    ),
    ("clear", "clear", (GWMS_NAMES, CONDOR_NAMES, OSG_NAMES), (), WORKDIRS, RUNTIME_NAMES),
    ("gwmsset-unset", "gwmsset", (GWMS_NAMES,), STASH, (), RUNTIME_HOST_ENV),
):
    keeps_paths = policy in ("gwmsset", "condorset", "osgset")  # no clearing word: GlideinWMS keeps them
    cleared = "-" if keeps_paths else "LD_LIBRARY_PATH,PYTHONPATH"
    # ours: LD_LIBRARY_PATH never reaches the runtime process, whatever the policy (#12)
    ours_cleared = "LD_LIBRARY_PATH" if keeps_paths else cleared
    row(
        "preserve-" + name,
        "Verify env_preserve",
        "job decision: GLIDEIN_CONTAINER_ENV {!r} with --cleanenv{}".format(
            policy, ", {} unset".format(" and ".join(without)) if without else ""
        ),
        lambda tree, policy=policy, without=without: preserve_effect(policy, without),
        gwms_preserve_text(passed_names(*groups, without=without), cleared),
        "preset_env; {} gwms_effect {} --cleanenv".format(
            "".join("unset {};".format(n) for n in without), shlex.quote(policy)
        ),
        gwms_preserve_text(passed_names(*groups, without=(*without, *ours_without)), ours_cleared)
        if difference
        else None,
        difference,
    )
row(
    "preserve-node-preset",
    "Verify env_preserve",
    "job decision: a SINGULARITYENV_STASHCACHE the node set is kept",
    lambda tree: preset_value(False),
    "SINGULARITYENV_STASHCACHE=val_notfromfile",
    "preset_env; export SINGULARITYENV_STASHCACHE=val_notfromfile; env_preserve gwmsset; "
    'echo "SINGULARITYENV_STASHCACHE=$SINGULARITYENV_STASHCACHE"',
)
row(
    "preserve-job-set",
    "Verify env_preserve",
    "job decision: the same value set by the job's Environment (the bats file's 'add a test' note)",
    lambda tree: preset_value(True),
    "SINGULARITYENV_STASHCACHE=val_notfromfile",
    "preset_env; export SINGULARITYENV_STASHCACHE=val_notfromfile; env_preserve gwmsset; "
    'echo "SINGULARITYENV_STASHCACHE=$SINGULARITYENV_STASHCACHE"',
    "SINGULARITYENV_STASHCACHE=v_stashcache",
    JOB_SET,
)

# Verify gwms_from_config: a node setting read from glidein_config.
for name, config_file, value in (
    ("value", "{base}/fixtures/glidein_config", "test"),
    ("missing-key", "{base}/fixtures/condor_job_ad", ""),
    ("missing-file", "{base}/fixtures/missing_file_glidein_config", ""),
):
    row(
        "from-config-" + name,
        "Verify gwms_from_config",
        "GLIDEIN_CONTAINER_ENV_CLEARLIST from {} (default: empty)".format(config_file.replace("{base}/", "")),
        lambda tree, config_file=config_file: setting_from_glidein_config(tree, config_file),
        value,
        'glidein_config="{}"; gwms_from_config GLIDEIN_CONTAINER_ENV_CLEARLIST ""'.format(config_file),
    )

# Verify cvmfs_path_in_cvmfs(_literal): the dictionary image under SINGULARITY_IMAGE_RESTRICTIONS=cvmfs.
for bats, mount_dir, path, verdict in (
    ("Verify cvmfs_path_in_cvmfs_literal", "", "/cvmfs", "in"),
    ("Verify cvmfs_path_in_cvmfs_literal", "", "/cvmfs/dir/file", "in"),
    ("Verify cvmfs_path_in_cvmfs_literal", "", "/cvmfs_dir/file", "out"),
    ("Verify cvmfs_path_in_cvmfs", "", "/cvmfs", "in"),
    ("Verify cvmfs_path_in_cvmfs", "", "/cvmfs/dir/file", "in"),
    ("Verify cvmfs_path_in_cvmfs", "", "/cvmfs_dir/file", "out"),
    ("Verify cvmfs_path_in_cvmfs", "", "/altcvmfs/dir/file", "out"),
    ("Verify cvmfs_path_in_cvmfs", "/altcvmfs", "/altcvmfs/dir/file", "in"),
    ("Verify cvmfs_path_in_cvmfs", "/altcvmfs", "/cvmfs_dir/file", "out"),
    ("Verify cvmfs_path_in_cvmfs", "/altcvmfs/", "/altcvmfs", "in"),
    ("Verify cvmfs_path_in_cvmfs", "/altcvmfs/", "/altcvmfs/dir/file", "in"),
    ("Verify cvmfs_path_in_cvmfs", "/altcvmfs/", "/cvmfs_dir/file", "out"),
):
    function = "cvmfs_path_in_cvmfs_literal" if bats.endswith("literal") else "cvmfs_path_in_cvmfs"
    row(
        "{}-{}-{}".format(slug(function), slug(mount_dir) or "nomount", slug(path)),
        bats,
        "job decision: dictionary image {} with CVMFS_MOUNT_DIR {!r}, restriction cvmfs".format(
            path, mount_dir
        ),
        lambda tree, path=path, mount_dir=mount_dir: cvmfs_verdict(path, mount_dir),
        verdict,
        "CVMFS_MOUNT_DIR={}; {} {} && echo in || echo out".format(mount_dir, function, path),
    )

# Verify cvmfs_resolve_path: the path the runtime is given for a dictionary image.
for mount_dir, path, resolved in (
    ("", "/cvmfs_dir/file", "/cvmfs_dir/file"),
    ("", "/cvmfs/dir/file", "/cvmfs/dir/file"),
    ("", "/cvmfs", "/cvmfs"),
    ("/altcvmfs/", "/cvmfs_dir/file", "/cvmfs_dir/file"),
    ("/altcvmfs/", "/cvmfs/dir/file", "/altcvmfs/dir/file"),
    ("/altcvmfs/", "/cvmfs", "/altcvmfs"),
):
    row(
        "cvmfs-resolve-{}-{}".format(slug(mount_dir) or "nomount", slug(path)),
        "Verify cvmfs_resolve_path",
        "job decision: the image argument for {} with CVMFS_MOUNT_DIR {!r}".format(path, mount_dir),
        lambda tree, path=path, mount_dir=mount_dir: cvmfs_image_argument(path, mount_dir),
        resolved,
        "CVMFS_MOUNT_DIR={}; cvmfs_resolve_path {}".format(mount_dir, path),
    )

# Verify singularity_make_outside_pwd_list: which directories count as the job directory.
C, E = "{base}/" + GLIDE, "{base}/" + GLIDE_REAL
row(
    "outside-other-realpath",
    "Verify singularity_make_outside_pwd_list",
    "job decision: a directory with another real path is not the job directory",
    lambda tree: job_dir_aliases(tree, "{base}/plain", ("{base}/plain", "{base}/other")),
    "{base}/plain",
    'singularity_make_outside_pwd_list "{base}/plain" "{base}/other"',
)
row(
    "outside-same-realpath",
    "Verify singularity_make_outside_pwd_list",
    "job decision: the job directory and its real path (a link) are both the job directory",
    lambda tree: job_dir_aliases(tree, C, (C, E)),
    C + ":" + E,
    'singularity_make_outside_pwd_list "{}" "{}"'.format(C, E),
)
row(
    "outside-empty-ignored",
    "Verify singularity_make_outside_pwd_list",
    "job decision: an empty _CONDOR_JOB_IWD is ignored",
    lambda tree: job_dir_aliases(tree, C, (C, E), job_iwd=""),
    C + ":" + E,
    'singularity_make_outside_pwd_list "" "{}" "" "{}"'.format(C, E),
)

# Verify singularity_update_path: the job's arguments inside.
T1 = "{base}/test1"
row(
    "update-path-pwd",
    "Verify singularity_update_path",
    "job decision: arguments under the job directory become /srv, lookalikes stay",
    lambda tree: rewritten(
        tree, T1, (T1, T1 + "1", T1 + "/dir1", "/root" + T1 + "/dir2", "notexist/test1/dir2")
    ),
    "/srv|{base}/test11|/srv/dir1|/root{base}/test1/dir2|notexist/test1/dir2",
    'GWMS_SINGULARITY_OUTSIDE_PWD="{0}"; '
    'singularity_update_path /srv "{0}" "{0}1" "{0}/dir1" "/root{0}/dir2" notexist/test1/dir2; '.format(T1)
    + 'IFS="|"; echo "${GWMS_RETURN[*]}"',
)
row(
    "update-path-alias",
    "Verify singularity_update_path",
    "job decision: arguments under an alias of the job directory (_CONDOR_JOB_IWD, a link) become /srv",
    lambda tree: rewritten(
        tree, T1, ("{base}/test1", "{base}/test2", "{base}/test2/dir1"), job_iwd="{base}/test2"
    ),
    "/srv|/srv|/srv/dir1",
    'GWMS_SINGULARITY_OUTSIDE_PWD=; GWMS_SINGULARITY_OUTSIDE_PWD_LIST="{base}/test1:{base}/test2"; '
    'singularity_update_path /srv "{base}/test1" "{base}/test2" "{base}/test2/dir1"; '
    '(IFS="|"; echo "${GWMS_RETURN[*]}")',
)
LINK_ARGS = (
    "../dir1",
    "sub1/fout",
    "output",
    "{base}/link/dir1",
    "{base}/link/dir2/fout",
    "sub1",
    "sub2",
    "{base}/link/dir1/sub1",
    "{base}/link/dir1/sub2",
    "-n",
    "-e",
    "a:b",
)
row(
    "update-path-link",
    "Verify singularity_update_path",
    "job decision: started in a linked directory: its real path is the job directory too, other args stay",
    lambda tree: rewritten(tree, "{base}/link/dir2", LINK_ARGS),
    "../dir1|sub1/fout|output|/srv|/srv/fout|sub1|sub2|/srv/sub1|/srv/sub2|-n|-e|a:b",
    'cd "{base}/link/dir2" && GWMS_SINGULARITY_OUTSIDE_PWD= GWMS_SINGULARITY_OUTSIDE_PWD_LIST=:/srv/sub1 && '
    "singularity_update_path /srv " + " ".join('"{}"'.format(arg) for arg in LINK_ARGS) + "; "
    '(IFS="|"; echo "${GWMS_RETURN[*]}")',
)

# Verify singularity_setup_inside_env: path variables inside. The bats test starts the job in the glidein
# directory, which holds its scratch directory (_CONDOR_SCRATCH_DIR): GlideinWMS binds it at /srv.
SCRATCH, SCRATCH_REAL = INSIDE_ENV["_CONDOR_SCRATCH_DIR"], E + "/execute/dir_9182"
EXPORT_INSIDE_SH = "".join(
    "export {}={}; ".format(name, shlex.quote(value)) for name, value in INSIDE_ENV.items()
)
SETUP_INSIDE_SH = EXPORT_INSIDE_SH + 'singularity_setup_inside_env "{}:{}"; '.format(C, E)
SETUP_INSIDE_SCRATCH_SH = EXPORT_INSIDE_SH + 'singularity_setup_inside_env "{}:{}"; '.format(
    SCRATCH, SCRATCH_REAL
)
ECHO_INSIDE = 'echo "' + " ".join("{0}=${0}".format(name) for name in INSIDE_ENV_NAMES) + '"'


def _under(value: str, directory: str) -> str:
    """``value`` as GlideinWMS rewrites it for the job directory ``directory`` (else unchanged)."""
    if value == directory or value.startswith(directory + "/"):
        return "/srv" + value[len(directory) :]
    return value


row(
    "inside-env-paths",
    "Verify singularity_setup_inside_env",
    "job decision: started in the glidein directory, X509_* and _CONDOR_* under it point under /srv",
    lambda tree: inside_values(tree, INSIDE_ENV_NAMES),
    " ".join("{}={}".format(name, _under(INSIDE_ENV[name], C)) for name in INSIDE_ENV_NAMES),
    SETUP_INSIDE_SH + ECHO_INSIDE,
    "REFUSED: the job runs in {} instead of its scratch directory (should_transfer_files = NO): this node "
    "runs jobs only in their scratch directory (GS_SHARED_FS_ROOTS does not list it); submit with "
    "should_transfer_files = YES".format(E),
    OUTSIDE_SCRATCH,
)
row(
    "inside-env-paths-scratch",
    "Verify singularity_setup_inside_env",
    "job decision: the same variables for a job started in its scratch directory (the only /srv we bind)",
    lambda tree: inside_values(tree, INSIDE_ENV_NAMES, SCRATCH),
    " ".join("{}={}".format(name, _under(INSIDE_ENV[name], SCRATCH)) for name in INSIDE_ENV_NAMES),
    SETUP_INSIDE_SCRATCH_SH + ECHO_INSIDE,
    # ours: the same, except that a host path outside the job directory is not passed in at all
    " ".join(
        "{}={}".format(name, "<unset>" if value == INSIDE_ENV[name] and value else value)
        for name, value in ((name, _under(INSIDE_ENV[name], SCRATCH)) for name in INSIDE_ENV_NAMES)
    ),
    OUTSIDE_PATH_VARS,
)
row(
    "inside-env-osg-wn-tmp",
    "Verify singularity_setup_inside_env",
    "job decision: OSG_WN_TMP outside the job directory",
    lambda tree: inside_values(tree, ("OSG_WN_TMP",), SCRATCH),
    "OSG_WN_TMP=/osg/tmp",
    SETUP_INSIDE_SCRATCH_SH + 'echo "OSG_WN_TMP=$OSG_WN_TMP"',
    "OSG_WN_TMP=/srv/.gs_tmp",
    OSG_WN_TMP,
)


# --- the tests --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    """The real directory tree of the path rows (shared by both sides)."""
    return Tree(tmp_path_factory.mktemp("bats"))


@pytest.mark.parametrize("case", ROWS, ids=[r.id for r in ROWS])
def test_our_decision(case, tree):
    """Our decision is GlideinWMS's, or the intended difference the row states."""
    expected = case.expected_ours if case.difference else case.gwms
    assert tree.fill(expected or "") == case.ours(tree)


def test_rows_are_consistent():
    """An intended difference has its own expected value; an agreeing row has none."""
    for case in ROWS:
        assert (case.difference is None) == (case.expected_ours is None), case.id
        assert case.expected_ours != case.gwms, case.id
        assert case.bats in BATS_TESTS, case.id


def test_every_bats_test_has_rows_or_a_reason():
    """Each bats test is either ported or listed, with why, in the module docstring."""
    cited = {case.bats for case in ROWS}
    assert set(BATS_TESTS) == cited | set(NOT_EXPRESSIBLE)
    assert not cited & set(NOT_EXPRESSIBLE)
    for name in NOT_EXPRESSIBLE:
        assert '"{}"'.format(name) in (__doc__ or ""), name


def _differences_topics() -> "List[str]":
    text = DIFFERENCES.read_text(encoding="utf-8")
    section = text.split("## From GlideinWMS's scripts", 1)[1].split("\n## ", 1)[0]
    topics = []
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if line.startswith("|") and len(cells) >= 3 and not set(cells[0]) <= set("-"):
            topics.append(cells[0])
    return topics


def test_differences_page_lists_every_intended_difference():
    """Every intended difference of the table has its row on the differences page."""
    topics = _differences_topics()
    missing = sorted({topic for case in ROWS for topic in case.topics()} - set(topics))
    assert [] == missing


def test_env_policy_words_are_the_lints():
    """The wrapper ignores, and the frontend lint flags, the same words: one list of valid ones."""
    from glidein_singularity.frontend.config import CONTAINER_ENV_VALUES

    assert sorted(ENV_POLICY_WORDS) == sorted(CONTAINER_ENV_VALUES)


def test_unknown_policy_word_is_a_reason_not_a_refusal():
    """A typo in the node's policy is said in the plan's reasons; the job runs."""
    result, _ = decide(config={"GLIDEIN_CONTAINER_ENV": "aaa,osgset"})
    assert isinstance(result, LaunchPlan)
    assert (
        "GLIDEIN_CONTAINER_ENV: unknown 'aaa' ignored (expected a comma list of clearpaths, clearall, "
        "keepall, osgset, condorset, gwmsset, clear)" in result.reasons
    )


@pytest.mark.parametrize(
    ("image", "argument"),
    [
        pytest.param(
            "file:/{base}/fixtures/glidein_config", "{base}/fixtures/glidein_config", id="two-slashes"
        ),
        pytest.param(
            "file://{base}/fixtures/glidein_config", "{base}/fixtures/glidein_config", id="three-slashes"
        ),
        pytest.param("file:{base}/fixtures/glidein_config", "{base}/fixtures/glidein_config", id="one-slash"),
        pytest.param("fixtures/glidein_config", "{base}/fixtures/glidein_config", id="relative"),
    ],
)
def test_local_image_argument(tree, image, argument):
    """A valid local image reaches the runtime as its absolute path."""
    machine = {"SINGULARITY_IMAGE_RESTRICTIONS": "remote"}
    result, _ = decide(job={"SingularityImage": tree.fill(image)}, machine=machine, cwd=tree.base, real=True)
    assert tree.fill(argument) == result.image


# --- the oracle: GlideinWMS's own functions ---------------------------------------------------------------


def _gwms_library() -> "Optional[str]":
    candidates = [os.environ.get("GS_GLIDEINWMS_LIB", "")]
    candidates += [str(parent / GWMS_LIB_RELATIVE) for parent in ROOT.parents]
    for candidate in candidates:
        if candidate and os.path.isfile(candidate):
            return candidate
    return None


@pytest.fixture(scope="module")
def gwms_results(tree):
    """Every row's snippet run in one bash process with singularity_lib.sh sourced: id -> output."""
    library = _gwms_library()
    bash = shutil.which("bash")
    if library is None or bash is None:
        message = (
            "GlideinWMS's singularity_lib.sh (shared/third_party/glideinwms, or GS_GLIDEINWMS_LIB) or bash"
        )
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail("the compatibility oracle needs " + message)
        pytest.skip("the compatibility oracle needs " + message)
    parts = ["source {} >/dev/null 2>&1".format(shlex.quote(library)), _gwms_helpers()]
    for case in ROWS:
        parts.append('echo "@@{}"; ( {} ) 2>/dev/null'.format(case.id, tree.fill(case.oracle)))
    environ = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": tree.base, "GLIDEIN_QUIET": "1"}
    proc = subprocess.run(
        [bash, "-c", "\n".join(parts)],
        cwd=tree.base,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    results: Dict[str, str] = {}
    for chunk in proc.stdout.split("@@")[1:]:
        name, _, output = chunk.partition("\n")
        results[name] = output.rstrip("\n")
    return results


@pytest.mark.parametrize("case", ROWS, ids=[r.id for r in ROWS])
def test_gwms_column_is_what_glideinwms_does(case, tree, gwms_results):
    """GlideinWMS's functions, run on the row's inputs, give the row's GlideinWMS value."""
    assert tree.fill(case.gwms) == gwms_results[case.id]


def test_gwms_wrapper_resets_osg_wn_tmp(tree, gwms_results):
    """GlideinWMS's inner stage finally sets OSG_WN_TMP=/tmp: the helper's unchanged value is not the end."""
    library = _gwms_library()
    assert library is not None  # gwms_results failed or skipped otherwise
    script = (
        "source {} >/dev/null 2>&1; export OSG_WN_TMP=/osg/tmp; singularity_setup_inside >/dev/null 2>&1; "
        'echo "$OSG_WN_TMP"'.format(shlex.quote(library))
    )
    proc = subprocess.run(
        ["bash", "-c", script],
        cwd=tree.base,
        env={"PATH": os.environ.get("PATH", ""), "GLIDEIN_QUIET": "1"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert "/tmp" == proc.stdout.strip()


def test_ids_are_unique():
    """Row ids name one row each."""
    ids = [case.id for case in ROWS]
    assert len(ids) == len(set(ids))
    assert all(re.match(r"^[a-z0-9-]+$", i) for i in ids), ids
