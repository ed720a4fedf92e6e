"""Shared builders for the planner tables: ads from keyword values, a fake host filesystem."""

from glidein_singularity.classad import format_literal, parse_ad
from glidein_singularity.inputs import assemble, starter_environment
from glidein_singularity.plan import LAUNCHER_SCRIPT, PathInfo, plan

SANDBOX = "/exec/dir_1/scratch"
RUNTIME = "/usr/bin/apptainer"
EL9 = "/cvmfs/singularity.opensciencegrid.org/opensciencegrid/osgvo-el9:latest"
EL9_REAL = "/cvmfs/singularity.opensciencegrid.org/.images/9a/osgvo-el9"
EL8 = "/cvmfs/singularity.opensciencegrid.org/opensciencegrid/osgvo-el8:latest"
SIF = "/cvmfs/atlas.cern.ch/images/athena.sif"
ERROR_FILE = SANDBOX + "/.job_wrapper_failure"
LAUNCHER = ("/bin/sh", "-c", LAUNCHER_SCRIPT, "/srv/.job_wrapper_failure")
BASE_OPTIONS = ("exec", "--home", SANDBOX + ":/srv", "--pwd", "/srv", "--contain", "--ipc", "--pid")
BASE_BINDS = ("--bind", "/etc/hosts,/etc/localtime,/cvmfs")
JOB_ARGV = (SANDBOX + "/job.sh", "--flag", "x")
INNER_ARGV = ("/srv/job.sh", "--flag", "x")

MACHINE = {
    "HAS_SINGULARITY": True,
    "SINGULARITY_PATH": RUNTIME,
    "GWMS_SINGULARITY_STATUS": "REQUIRED",
    "SINGULARITY_IMAGES_DICT": "rhel9:{},rhel8:{}".format(EL9, EL8),
    "SINGULARITY_IMAGE_RESTRICTIONS": "cvmfs",
    "GS_OVERLAY": True,
}


def _dir(real=None):
    return ("dir", real)


def _file(real=None):
    return ("file", real)


FILESYSTEM = {
    SANDBOX: _dir(),
    "/etc/hosts": _file(),
    "/etc/localtime": _file(),
    "/cvmfs": _dir(),
    EL9: _dir(EL9_REAL),
    EL9_REAL: _dir(),
    EL8: _dir(),
    SIF: _file(),
}


def _old_syntax(value):
    if isinstance(value, str):  # the starter writes strings raw, only quotes escaped
        return '"' + value.replace('"', '\\"') + '"'
    return format_literal(value)


def make_ad(attrs):
    """An Ad written as the starter writes .job.ad (old syntax); None drops the attribute."""
    return parse_ad("".join("{} = {}\n".format(k, _old_syntax(v)) for k, v in attrs.items() if v is not None))


def make_probe(filesystem):
    """A probe answering from a dict path -> ("dir"|"file"|"link", realpath or None)."""

    def probe(path):
        entry = filesystem.get(path)
        if entry is None:
            return PathInfo(False, False, path)
        kind, real = entry
        if kind == "link":
            return PathInfo(False, False, real or path, True)
        return PathInfo(True, kind == "dir", real or path)

    return probe


def run_plan(
    job=None,
    machine=None,
    settings=None,
    environ=None,
    argv=JOB_ARGV,
    filesystem=None,
    paths=None,
    cwd=SANDBOX,
):
    """Plan with the base machine ad/filesystem updated by the given dicts (None values remove keys)."""
    machine_attrs = dict(MACHINE)
    machine_attrs.update(machine or {})
    files = dict(FILESYSTEM)
    for path, entry in (filesystem or {}).items():
        if entry is None:
            files.pop(path, None)
        else:
            files[path] = entry
    inherited = {"PATH": "/usr/bin:/bin"}
    inherited.update(environ or {})
    inherited = {k: v for k, v in inherited.items() if v is not None}
    machine_ad = make_ad(machine_attrs)
    job_ad = make_ad(job or {})
    env = starter_environment(job_ad, inherited, SANDBOX, ERROR_FILE)
    inputs = assemble(job_ad, machine_ad, True, env, argv, cwd, make_probe(files), None, {})
    node = inputs.settings._replace(**settings) if settings else inputs.settings
    where = paths or inputs.paths
    return plan(job_ad, machine_ad, node, env, argv, where)


def container_argv(
    image=EL9_REAL, options=BASE_OPTIONS, binds=BASE_BINDS, inner=INNER_ARGV, launcher=LAUNCHER
):
    """The argv of a container plan assembled from its parts."""
    return (RUNTIME, *options, *binds, image, *launcher, *inner)
