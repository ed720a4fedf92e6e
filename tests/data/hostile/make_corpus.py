# ruff: noqa: E501  (the corpus: expected messages are kept whole, one per line)
"""Write the hostile corpus: one directory per case under ``cases/`` (run: python make_corpus.py [DIR]).

Each case is what a starter hands the job wrapper, written as files:

- ``job.ad``, ``machine.ad``: ad text as the starter writes it (absent when the case says so; bytes
  that are not UTF-8 are kept);
- ``glidein_config``: lines added to the node's glidein_config (which sets ``CVMFS_MOUNT_DIR``);
- ``environ.json``: variables added to (or, with null, removed from) the starter's environment; the
  job's own ``Environment`` variables appear here too, as HTCondor puts them there;
- ``argv.json``: the job command after the wrapper's own name;
- ``pad.json`` (huge ads only, to keep the repository small): ``{"attributes": K, "bytes": N}`` adds K
  attributes ``Pad0 = "xxx..."`` of N characters each to ``job.ad`` when the tests build the node;
- ``expected.json``: the outcome, written by hand from the specification (never computed by the code
  under test): ``{"outcome": "plan", "container": true, "argv": [...], "env": {...}, "env_absent":
  [...]}``, a bare plan ``{"outcome": "plan", "container": false, "argv": [...]}`` or ``{"outcome":
  "refusal", "message": "...", "requeue": bool}``; ``untouched`` lists node files the wrapper must
  leave as they were.

Placeholders, replaced by the tests: ``@NODE@`` the fake node's root, ``@SANDBOX@`` the job directory,
``@HOSTBINDS@`` the default bind sources that exist on the host (``launch_options.DEFAULT_BINDS``). The node (see
``tests/hostile_node.py``) has a CVMFS tree at ``@NODE@/cvmfs`` with ``repo.example.org/img`` (a
directory image), ``repo.example.org/link`` (a symlink to ``.flat/aa`` in the same repository),
``repo.example.org/escape`` (a symlink to ``@NODE@/outside/img``), ``repo.example.org/x.sif`` and
``other.example.org/img``; a recording runtime ``@NODE@/runtime``; the job's ``job.sh`` (records its
argv when run bare), ``in.txt``, ``my.sif`` and ``evil/`` (a job-written glidein_config, a fake
``condor_chirp``, a python package) in the sandbox; and ``@NODE@/victim``, a file no job may touch.
"""

import json
import os
import shutil
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
RUNTIME = "@NODE@/runtime"
CVMFS = "@NODE@/cvmfs"
IMG = "/cvmfs/repo.example.org/img"
IMG_HOST = CVMFS + "/repo.example.org/img"
LINK = "/cvmfs/repo.example.org/link"
LINK_REAL = CVMFS + "/repo.example.org/.flat/aa"
SIF = "/cvmfs/repo.example.org/x.sif"
OTHER = "/cvmfs/other.example.org/img"
ESCAPE = "/cvmfs/repo.example.org/escape"
ERROR_FILE = "/srv/.job_wrapper_failure"
LAUNCHER = ["/bin/sh", "-c", 'rm -f -- "$0" && exec "$@"', ERROR_FILE]
ARGV = ["@SANDBOX@/job.sh", "a b", "--bind=/", "@SANDBOX@/in.txt"]
INNER = ["/srv/job.sh", "a b", "--bind=/", "/srv/in.txt"]
BINDS = "@HOSTBINDS@," + CVMFS + ":/cvmfs"
MACHINE = (
    "HAS_SINGULARITY = true\n"
    'SINGULARITY_PATH = "' + RUNTIME + '"\n'
    'GWMS_SINGULARITY_STATUS = "REQUIRED"\n'
    'SINGULARITY_IMAGE_RESTRICTIONS = "cvmfs,remote"\n'
    'SINGULARITY_IMAGES_DICT = "default:' + IMG + ",rhel9:" + LINK + '"\n'
    "GS_OVERLAY = true\n"
)
JOB = 'Cmd = "@SANDBOX@/job.sh"\n'


def options(pid=True, extra=(), binds=BINDS):
    """The runtime's options before the image, as the specification lists them."""
    opts = ["exec", "--home", "@SANDBOX@:/srv", "--pwd", "/srv", "--contain", "--ipc"]
    if pid:
        opts.append("--pid")
    opts.extend(extra)
    if binds:
        opts.extend(["--bind", binds])
    return opts


def container(image=IMG_HOST, inner=INNER, env=None, env_absent=(), untouched=(), **option_args):
    """Expect a container plan."""
    expected = {
        "outcome": "plan",
        "container": True,
        "argv": [RUNTIME, *options(**option_args), image, *LAUNCHER, *inner],
        "env": dict(env or {}),
        "env_absent": list(env_absent),
    }
    if untouched:
        expected["untouched"] = list(untouched)
    return expected


def bare(argv=ARGV, untouched=()):
    """Expect the job itself to be exec'd (no container)."""
    expected = {"outcome": "plan", "container": False, "argv": list(argv)}
    if untouched:
        expected["untouched"] = list(untouched)
    return expected


def refusal(message, requeue, untouched=(), marker=None):
    """Expect a refusal with this exact message (``marker``: the node's failure counter afterwards)."""
    expected = {"outcome": "refusal", "message": message, "requeue": requeue}
    if untouched:
        expected["untouched"] = list(untouched)
    if marker is not None:
        expected["marker"] = marker
    return expected


def job_image_missing(image, host, in_cvmfs=True):
    """Expect the refusal of a job's own image that is not there (requeued, the job's fault)."""
    where = ", while its CVMFS repository is" if in_cvmfs else ""
    return refusal(
        "the job's image \"{}\" does not exist ({} is not on this node{}): check the image's name in the "
        "submit file".format(image, host, where),
        True,
    )


def quote(value):
    """A ClassAd string literal as the starter writes it (old syntax: only quotes escaped)."""
    return '"' + value.replace('"', '\\"') + '"'


CASES = []
UNREADABLE = "the job's Environment cannot be read: unbalanced quote starting here: 'unterminated (HTCondor would not start the job); write the job's environment as a plain string (submit file: environment = ...)"


def case(
    name,
    expect,
    job=JOB,
    job_extra="",
    machine=MACHINE,
    machine_extra="",
    config="",
    environ=None,
    argv=ARGV,
    pad=None,
    machine_by_job=False,
):
    """Register one case; ``job``/``machine`` None leaves the file out; ``pad`` makes the job ad huge;
    ``machine_by_job``: the machine ad file is the job user's (a glidein, where a transferred
    ``.machine.ad`` replaces the starter's), else another user's (the starter's on a root EP)."""
    assert name not in [c["name"] for c in CASES], name
    CASES.append(
        {
            "name": name,
            "job": None if job is None else job + job_extra,
            "machine": None if machine is None else machine + machine_extra,
            "config": config,
            "environ": environ or {},
            "argv": argv,
            "expected": expect,
            "pad": pad,
            "machine_by_job": machine_by_job,
        }
    )


def image_unusable(why):
    return refusal("the job's SingularityImage is unusable: " + why, False)


# --- 1. hostile image names: refused before anything else, never requeued ------------------------------
for name, image, why in [
    ("dash", "-B/:/host", 'image "-B/:/host" starts with "-" and would be read as an option'),
    (
        "double-dash",
        "--bind=/:/host",
        'image "--bind=/:/host" starts with "-" and would be read as an option',
    ),
    ("dash-writable", "--writable", 'image "--writable" starts with "-" and would be read as an option'),
    ("space", IMG + " --bind /", 'image "' + IMG + ' --bind /" contains a space'),
    ("space-only", " ", "the image name is empty"),
    ("comma", IMG + ",/etc", 'image "' + IMG + ',/etc" contains a comma'),
    ("carriage-return", IMG + "\r", "image '" + IMG + "\\r' contains the control character '\\r'"),
    ("tab", IMG + "\t-B", "image '" + IMG + "\\t-B' contains the control character '\\t'"),
    ("nul", IMG + "\x00-B/", "image '" + IMG + "\\x00-B/' contains the control character '\\x00'"),
    ("escape-char", IMG + "\x1b[2J", "image '" + IMG + "\\x1b[2J' contains the control character '\\x1b'"),
    ("del-char", IMG + "\x7f", "image '" + IMG + "\\x7f' contains the control character '\\x7f'"),
    ("non-utf8", IMG + "\udcff", "image '" + IMG + "\\udcff' is not valid UTF-8"),
    (
        "dotdot",
        "/cvmfs/repo.example.org/../../etc",
        'image "/cvmfs/repo.example.org/../../etc" contains a ".." path component',
    ),
    ("dotdot-relative", "../../victim", 'image "../../victim" contains a ".." path component'),
    (
        "dotdot-file-uri",
        "file:///cvmfs/../etc",
        'image "file:///cvmfs/../etc" contains a ".." path component',
    ),
    ("dotdot-file-upper", "FILE:///cvmfs/x/..", 'image "FILE:///cvmfs/x/.." contains a ".." path component'),
    (
        "instance-uri",
        "instance://other-job",
        'image "instance://other-job" has the URI scheme "instance"; images are local paths or docker, oras, library, shub, http, https URIs',
    ),
    (
        "unknown-scheme",
        "ssh://host/img",
        'image "ssh://host/img" has the URI scheme "ssh"; images are local paths or docker, oras, library, shub, http, https URIs',
    ),
    ("scheme-with-dash", "-x://y", 'image "-x://y" starts with "-" and would be read as an option'),
]:
    case("image-" + name, image_unusable(why), job_extra="SingularityImage = " + quote(image) + "\n")

case(
    "image-newline",  # a newline ends the ad line: the value is an unterminated string, not a literal
    refusal("the job's SingularityImage must be a string, got the expression \"" + IMG, False),
    job_extra='SingularityImage = "' + IMG + '\n--bind=/"\n',
)
case(
    "image-not-a-string",
    refusal("the job's SingularityImage must be a string, got 42", False),
    job_extra="SingularityImage = 42\n",
)
case(
    "image-expression",
    refusal('the job\'s SingularityImage must be a string, got the expression strcat("/cvmfs/", "x")', False),
    job_extra='SingularityImage = strcat("/cvmfs/", "x")\n',
)
case(
    "image-list",
    refusal("the job's SingularityImage must be a string, got ('/a', '/b')", False),
    job_extra='SingularityImage = { "/a", "/b" }\n',
)
case("image-empty-string", container(), job_extra='SingularityImage = ""\n')
case("image-undefined", container(), job_extra="SingularityImage = undefined\n")

# images that are odd but harmless: they stay one argument in the image position
case(
    "image-quote-inside",
    job_image_missing('/cvmfs/repo.example.org/a\\"b', '@NODE@/cvmfs/repo.example.org/a\\"b'),
    job_extra='SingularityImage = "/cvmfs/repo.example.org/a\\\\"b"\n',
)
for name, image in [
    ("dollar", "/cvmfs/repo.example.org/$(id)"),
    ("backtick", "/cvmfs/repo.example.org/`id`"),
    ("semicolon", "/cvmfs/repo.example.org/x;id"),
    ("glob", "/cvmfs/repo.example.org/*"),
    ("colon-bind-like", "/cvmfs/repo.example.org/img:/host:rw"),
    ("unicode", "/cvmfs/repo.example.org/\u00e9t\u00e9"),
]:
    host = CVMFS + image[len("/cvmfs") :]
    case(
        "image-" + name,
        job_image_missing(image, host),
        job_extra="SingularityImage = " + quote(image) + "\n",
    )
case(
    "image-long",
    job_image_missing(
        "/cvmfs/repo.example.org/{}".format("x" * 5000), "@NODE@/cvmfs/repo.example.org/{}".format("x" * 5000)
    ),
    job_extra="SingularityImage = " + quote("/cvmfs/repo.example.org/" + "x" * 5000) + "\n",
)
case("image-cvmfs-dir", container(), job_extra="SingularityImage = " + quote(IMG) + "\n")
case(
    "image-cvmfs-dir-slashes",
    container(image=CVMFS + "/repo.example.org/img"),
    job_extra='SingularityImage = "/cvmfs//repo.example.org/./img/"\n',
)
case(
    "image-cvmfs-link-pinned",
    container(image=LINK_REAL),
    job_extra="SingularityImage = " + quote(LINK) + "\n",
)
case(
    "image-cvmfs-sif",
    container(image=CVMFS + "/repo.example.org/x.sif"),
    job_extra="SingularityImage = " + quote(SIF) + "\n",
)
case("image-file-uri", container(), job_extra='SingularityImage = "file:///cvmfs/repo.example.org/img"\n')
case(
    "image-file-uri-upper", container(), job_extra='SingularityImage = "FILE:///cvmfs/repo.example.org/img"\n'
)
case(
    "image-file-uri-relative",
    refusal(
        'image "file://my.sif" is not under /cvmfs or CVMFS_MOUNT_DIR @NODE@/cvmfs but SINGULARITY_IMAGE_RESTRICTIONS is "cvmfs,remote"',
        True,
    ),
    job_extra='SingularityImage = "file://my.sif"\n',
)
case(
    "image-file-uri-host",
    refusal(
        'image "file://localhost/cvmfs/repo.example.org/img" is not under /cvmfs or CVMFS_MOUNT_DIR @NODE@/cvmfs but SINGULARITY_IMAGE_RESTRICTIONS is "cvmfs,remote"',
        True,
    ),
    job_extra='SingularityImage = "file://localhost/cvmfs/repo.example.org/img"\n',
)
case(
    "image-single-slash-scheme",
    refusal(
        'image "docker:/ubuntu" is not under /cvmfs or CVMFS_MOUNT_DIR @NODE@/cvmfs but SINGULARITY_IMAGE_RESTRICTIONS is "cvmfs,remote"',
        True,
    ),
    job_extra='SingularityImage = "docker:/ubuntu"\n',
)
case(
    "image-oci-archive-is-a-path",
    job_image_missing("oci-archive:my.sif", "@SANDBOX@/oci-archive:my.sif", in_cvmfs=False),
    job_extra='SingularityImage = "oci-archive:my.sif"\n',
    machine_extra='SINGULARITY_IMAGE_RESTRICTIONS = "remote"\n',
)
case(
    "image-sandbox-relative",
    container(image="@SANDBOX@/my.sif"),
    job_extra='SingularityImage = "my.sif"\n',
    machine_extra='SINGULARITY_IMAGE_RESTRICTIONS = "remote"\n',
)
case(
    "image-sandbox-when-cvmfs-only",
    refusal(
        'image "my.sif" is not under /cvmfs or CVMFS_MOUNT_DIR @NODE@/cvmfs but SINGULARITY_IMAGE_RESTRICTIONS is "cvmfs,remote"',
        True,
    ),
    job_extra='SingularityImage = "my.sif"\n',
)
case(
    "image-symlink-escapes-cvmfs",
    refusal(
        'image "/cvmfs/repo.example.org/escape" resolves to @NODE@/outside/img, which is not under /cvmfs; SINGULARITY_IMAGE_RESTRICTIONS is "cvmfs,remote"',
        True,
    ),
    job_extra="SingularityImage = " + quote(ESCAPE) + "\n",
)
case(
    "image-docker",
    container(image="docker://ubuntu:24.04"),
    job_extra='SingularityImage = "docker://ubuntu:24.04"\n',
)
case(
    "image-docker-dash-tag",
    container(image="docker://ubuntu:-x"),
    job_extra='SingularityImage = "docker://ubuntu:-x"\n',
)
case(
    "image-oras",
    container(image="oras://ghcr.io/x/y:1"),
    job_extra='SingularityImage = "oras://ghcr.io/x/y:1"\n',
)
case(
    "image-remote-not-allowed",
    refusal(
        'image "docker://ubuntu" is remote, but SINGULARITY_IMAGE_RESTRICTIONS is "cvmfs" (add "remote" to allow it)',
        True,
    ),
    job_extra='SingularityImage = "docker://ubuntu"\n',
    machine_extra='SINGULARITY_IMAGE_RESTRICTIONS = "cvmfs"\n',
)
case(
    "image-missing",
    job_image_missing("/cvmfs/repo.example.org/nope", "@NODE@/cvmfs/repo.example.org/nope"),
    job_extra='SingularityImage = "/cvmfs/repo.example.org/nope"\n',
)

# --- 2. the image-source policy -------------------------------------------------------------------------
ATLAS_POLICY = 'GS_ALLOWED_IMAGE_SOURCES = "docker://atlas/*,/cvmfs/repo.example.org/*"\nGS_DENIED_IMAGE_SOURCES = "docker://atlas/*:devel"\n'
POLICY_PREFIX = "the job's SingularityImage is not an allowed image source: "
for name, image, expect in [
    ("allowed-docker", "docker://atlas/athena:22", container(image="docker://atlas/athena:22")),
    (
        "allowed-docker-explicit",
        "docker://docker.io/atlas/athena",
        container(image="docker://docker.io/atlas/athena"),
    ),
    ("allowed-cvmfs", IMG, container()),
    ("allowed-cvmfs-symlink-in-repo", LINK, container(image=LINK_REAL)),
    (
        "denied-tag",
        "docker://atlas/athena:devel",
        refusal(
            POLICY_PREFIX
            + 'image "docker://atlas/athena:devel" (normalized: docker://docker.io/atlas/athena:devel) matches GS_DENIED_IMAGE_SOURCES pattern "docker://atlas/*:devel"',
            True,
        ),
    ),
    (
        "unknown-user",
        "docker://unknownuser/x",
        refusal(
            POLICY_PREFIX
            + 'image "docker://unknownuser/x" (normalized: docker://docker.io/unknownuser/x:latest) matches none of GS_ALLOWED_IMAGE_SOURCES: docker://atlas/*, /cvmfs/repo.example.org/*',
            True,
            untouched=["marker"],  # the job's choice, not a broken node: not counted
        ),
    ),
    (
        "other-registry",
        "docker://ghcr.io/atlas/x",
        refusal(
            POLICY_PREFIX
            + 'image "docker://ghcr.io/atlas/x" (normalized: docker://ghcr.io/atlas/x:latest) matches none of GS_ALLOWED_IMAGE_SOURCES: docker://atlas/*, /cvmfs/repo.example.org/*',
            True,
        ),
    ),
    (
        "other-repository",
        OTHER,
        refusal(
            POLICY_PREFIX
            + 'image "/cvmfs/other.example.org/img" matches none of GS_ALLOWED_IMAGE_SOURCES: docker://atlas/*, /cvmfs/repo.example.org/*',
            True,
        ),
    ),
    (
        "prefix-trick",
        "/cvmfs/repo.example.org.evil/img",
        refusal(
            POLICY_PREFIX
            + 'image "/cvmfs/repo.example.org.evil/img" matches none of GS_ALLOWED_IMAGE_SOURCES: docker://atlas/*, /cvmfs/repo.example.org/*',
            True,
        ),
    ),
    (
        "oras-not-listed",
        "oras://ghcr.io/atlas/x",
        refusal(
            POLICY_PREFIX
            + 'image "oras://ghcr.io/atlas/x" matches none of GS_ALLOWED_IMAGE_SOURCES: docker://atlas/*, /cvmfs/repo.example.org/*',
            True,
        ),
    ),
]:
    case(
        "policy-" + name,
        expect,
        job_extra="SingularityImage = " + quote(image) + "\n",
        machine_extra=ATLAS_POLICY + 'SINGULARITY_IMAGE_RESTRICTIONS = "cvmfs,remote"\n',
    )

case(
    "policy-sandbox-image",
    refusal(
        POLICY_PREFIX
        + 'image "my.sif" matches none of GS_ALLOWED_IMAGE_SOURCES: docker://atlas/*, /cvmfs/repo.example.org/*',
        True,
    ),
    job_extra='SingularityImage = "my.sif"\n',
    machine_extra=ATLAS_POLICY + 'SINGULARITY_IMAGE_RESTRICTIONS = "remote"\n',
)
case(
    "policy-sandbox-image-allowed",
    container(image="@SANDBOX@/my.sif"),
    job_extra='SingularityImage = "my.sif"\n',
    machine_extra='GS_ALLOWED_IMAGE_SOURCES = "*.sif"\nSINGULARITY_IMAGE_RESTRICTIONS = "remote"\n',
)
case(
    "policy-symlink-leaves-allowed-tree",
    refusal(
        POLICY_PREFIX
        + 'image "/cvmfs/repo.example.org/escape" resolves to @NODE@/outside/img, which matches none of GS_ALLOWED_IMAGE_SOURCES: /cvmfs/repo.example.org/*',
        True,
    ),
    job_extra="SingularityImage = " + quote(ESCAPE) + "\n",
    machine_extra='GS_ALLOWED_IMAGE_SOURCES = "/cvmfs/repo.example.org/*"\nSINGULARITY_IMAGE_RESTRICTIONS = "remote"\n',
)
case(
    "policy-dictionary-image",
    refusal(
        'the SINGULARITY_IMAGES_DICT image is not an allowed image source: image "/cvmfs/repo.example.org/img" matches none of GS_ENTRY_ALLOWED_IMAGE_SOURCES: /cvmfs/other.example.org/*',
        True,
        marker="1\n",  # the node's own configuration: counted towards the black-hole limit
    ),
    config="GS_ENTRY_ALLOWED_IMAGE_SOURCES /cvmfs/other.example.org/*\n",
)
case(
    "policy-dictionary-image-preferred-not-bare",
    refusal(
        'the SINGULARITY_IMAGES_DICT image is not an allowed image source: image "/cvmfs/repo.example.org/img" matches GS_DENIED_IMAGE_SOURCES pattern "/cvmfs/repo.example.org/i*"',
        True,
    ),
    machine_extra='GWMS_SINGULARITY_STATUS = "PREFERRED"\nGS_DENIED_IMAGE_SOURCES = "/cvmfs/repo.example.org/i*"\n',
)
case(
    "policy-dictionary-rhel9-allowed",
    container(image=LINK_REAL),
    job_extra='REQUIRED_OS = "rhel9"\n',
    config="GS_ENTRY_ALLOWED_IMAGE_SOURCES /cvmfs/repo.example.org/link\n",
)
case(
    "policy-entry-stricter-than-frontend",
    refusal(
        POLICY_PREFIX
        + 'image "docker://atlas/x" (normalized: docker://docker.io/atlas/x:latest) matches none of GS_ENTRY_ALLOWED_IMAGE_SOURCES: /cvmfs/*',
        True,
    ),
    job_extra='SingularityImage = "docker://atlas/x"\n',
    machine_extra='GS_ALLOWED_IMAGE_SOURCES = "docker://*,/cvmfs/*"\n',
    config="GS_ENTRY_ALLOWED_IMAGE_SOURCES /cvmfs/*\n",
)
case(
    "policy-frontend-stricter-than-entry",
    refusal(
        POLICY_PREFIX
        + 'image "/cvmfs/other.example.org/img" matches none of GS_ALLOWED_IMAGE_SOURCES: /cvmfs/repo.example.org/*',
        True,
    ),
    job_extra="SingularityImage = " + quote(OTHER) + "\n",
    config="GS_ALLOWED_IMAGE_SOURCES /cvmfs/repo.example.org/*\nGS_ENTRY_ALLOWED_IMAGE_SOURCES /cvmfs/*\n",
)
case(
    "policy-entry-deny",
    refusal(
        POLICY_PREFIX
        + 'image "docker://ghcr.io/x/y:devel" matches GS_ENTRY_DENIED_IMAGE_SOURCES pattern "docker://*:devel"',
        True,
    ),
    job_extra='SingularityImage = "docker://ghcr.io/x/y:devel"\n',
    config="GS_ENTRY_DENIED_IMAGE_SOURCES docker://*:devel\n",
)
case(
    "policy-machine-ad-wins-over-config",
    container(image="docker://atlas/x"),
    job_extra='SingularityImage = "docker://atlas/x"\n',
    machine_extra='GS_ALLOWED_IMAGE_SOURCES = "docker://atlas/*"\n',
    config="GS_ALLOWED_IMAGE_SOURCES /cvmfs/*\n",
)
case(
    "policy-blank-list-is-unset",
    container(image="docker://anyone/x"),
    job_extra='SingularityImage = "docker://anyone/x"\n',
    machine_extra='GS_ALLOWED_IMAGE_SOURCES = " , "\n',
)
for name in ("GS_ALLOWED_IMAGE_SOURCES", "GS_DENIED_IMAGE_SOURCES", "GS_ENTRY_ALLOWED_IMAGE_SOURCES"):
    # the job cannot lift a list by setting it in its environment: the lists are read from the ads only
    case(
        "policy-job-env-cannot-set-" + name.lower().replace("_", "-"),
        refusal(
            POLICY_PREFIX
            + 'image "docker://evil/x" (normalized: docker://docker.io/evil/x:latest) matches none of GS_ENTRY_ALLOWED_IMAGE_SOURCES: /cvmfs/*',
            True,
        ),
        job_extra='SingularityImage = "docker://evil/x"\nEnvironment = "' + name + '=docker://*"\n',
        config="GS_ENTRY_ALLOWED_IMAGE_SOURCES /cvmfs/*\n",
        environ={name: "docker://*"},
    )
case(
    "policy-node-env-is-not-a-source",
    container(image="docker://evil/x"),
    job_extra='SingularityImage = "docker://evil/x"\n',
    environ={"GS_ENTRY_DENIED_IMAGE_SOURCES": "docker://*"},
)


# --- 3. the job's environment trying to steer the runtime or the wrapper ---------------------------------
def env_case(name, job_env, environ, expect, **kwargs):
    case(
        "env-" + name,
        expect,
        job_extra="Environment = " + quote(job_env) + "\n" + kwargs.pop("job_extra", ""),
        environ=environ,
        **kwargs,
    )


env_case(
    "apptainer-bindpath",
    "APPTAINER_BINDPATH=/:/host",
    {"APPTAINER_BINDPATH": "/:/host"},
    container(env_absent=["APPTAINER_BINDPATH", "APPTAINERENV_APPTAINER_BINDPATH"]),
)
env_case(
    "singularity-bind",
    "SINGULARITY_BIND=/etc:/x SINGULARITY_BINDPATH=/ APPTAINER_BIND=/",
    {"SINGULARITY_BIND": "/etc:/x", "SINGULARITY_BINDPATH": "/", "APPTAINER_BIND": "/"},
    container(env_absent=["SINGULARITY_BIND", "SINGULARITY_BINDPATH", "APPTAINER_BIND"]),
)
env_case(
    "apptainerenv-injection",
    "APPTAINERENV_LD_PRELOAD=/srv/x.so SINGULARITYENV_PATH=/srv",
    {"APPTAINERENV_LD_PRELOAD": "/srv/x.so", "SINGULARITYENV_PATH": "/srv"},
    container(env_absent=["APPTAINERENV_LD_PRELOAD", "SINGULARITYENV_PATH"]),
)
env_case(
    "apptainer-options",
    "APPTAINER_NO_MOUNT=tmp APPTAINER_CONTAIN=0 APPTAINER_WRITABLE=1 APPTAINER_CONFIGDIR=/srv",
    {
        "APPTAINER_NO_MOUNT": "tmp",
        "APPTAINER_CONTAIN": "0",
        "APPTAINER_WRITABLE": "1",
        "APPTAINER_CONFIGDIR": "/srv",
    },
    container(
        env_absent=["APPTAINER_NO_MOUNT", "APPTAINER_CONTAIN", "APPTAINER_WRITABLE", "APPTAINER_CONFIGDIR"]
    ),
)
env_case(
    "ld-preload-default-policy",
    "LD_PRELOAD=./evil.so",
    {"LD_PRELOAD": "./evil.so"},
    container(env={"APPTAINERENV_LD_PRELOAD": "./evil.so"}, env_absent=["LD_PRELOAD"]),
)
for policy_word in ("keepall", "clearall", "osgset", "condorset"):
    env_case(
        "ld-preload-" + policy_word,
        "LD_PRELOAD=./evil.so LD_LIBRARY_PATH=. LD_AUDIT=./a.so",
        {"LD_PRELOAD": "./evil.so", "LD_LIBRARY_PATH": ".", "LD_AUDIT": "./a.so"},
        container(
            env={
                "APPTAINERENV_LD_PRELOAD": "./evil.so",
                "APPTAINERENV_LD_LIBRARY_PATH": ".",
                "APPTAINERENV_LD_AUDIT": "./a.so",
            },
            env_absent=["LD_PRELOAD", "LD_LIBRARY_PATH", "LD_AUDIT"],
            extra=["--cleanenv"] if policy_word == "clearall" else [],
        ),
        config="GLIDEIN_CONTAINER_ENV " + policy_word + "\n",
    )
case(
    "env-ld-preload-keepall-unparsable-environment",  # found by a property test: the starter refuses it too
    refusal(UNREADABLE, False),
    job_extra='Environment = "LD_PRELOAD=./evil.so X=\'unterminated"\n',
    environ={"LD_PRELOAD": "./evil.so"},
    config="GLIDEIN_CONTAINER_ENV keepall\n",
)
env_case(
    "locpath-gconv",
    "LOCPATH=/srv/loc GCONV_PATH=/srv/gconv",
    {"LOCPATH": "/srv/loc", "GCONV_PATH": "/srv/gconv"},
    container(env={"APPTAINERENV_LOCPATH": "/srv/loc"}, env_absent=["LOCPATH", "GCONV_PATH"]),
)
env_case(  # no prepare-job hook moved them: the shell already read them, so the job is refused
    "bash-env",
    "BASH_ENV=@SANDBOX@/evil.sh ENV=@SANDBOX@/evil.sh",
    {"BASH_ENV": "@SANDBOX@/evil.sh", "ENV": "@SANDBOX@/evil.sh"},
    refusal(
        "the job sets BASH_ENV, ENV in its environment, which makes a shell run code before the job wrapper: set it inside the job instead (this node has no prepare-job hook to move it into the container)",
        False,
    ),
)
env_case(  # the prepare-job hook moved them out of the wrapper's environment: they reach the job inside
    "bash-env-moved-by-hook",
    "BASH_ENV=@SANDBOX@/evil.sh SHELLOPTS=xtrace LD_PRELOAD=@SANDBOX@/evil.so",
    {},
    container(
        env={
            "APPTAINERENV_BASH_ENV": "/srv/evil.sh",
            "APPTAINERENV_SHELLOPTS": "xtrace",
            "APPTAINERENV_LD_PRELOAD": "/srv/evil.so",
        },
        env_absent=["BASH_ENV", "LD_PRELOAD", "SHELLOPTS"],
    ),
)
env_case(
    "pythonpath",
    "PYTHONPATH=@SANDBOX@/evil PYTHONHOME=@SANDBOX@/evil PYTHONSTARTUP=@SANDBOX@/evil/x.py",
    {"PYTHONPATH": "@SANDBOX@/evil", "PYTHONHOME": "@SANDBOX@/evil", "PYTHONSTARTUP": "@SANDBOX@/evil/x.py"},
    container(env={"APPTAINERENV_PYTHONPATH": "/srv/evil"}, env_absent=["PYTHONPATH"]),
)
env_case(
    "path-keepall",
    "PATH=@SANDBOX@/evil:/usr/bin",
    {"PATH": "@SANDBOX@/evil:/usr/bin"},
    container(
        env={
            "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "APPTAINERENV_PATH": "/srv/evil:/usr/bin",
        }
    ),
    config="GLIDEIN_CONTAINER_ENV keepall\n",
)
env_case(
    "glidein-config-redirect",
    "GS_GLIDEIN_CONFIG=@SANDBOX@/evil/glidein_config",
    {"GS_GLIDEIN_CONFIG": "@SANDBOX@/evil/glidein_config"},
    container(untouched=["victim"]),
)
env_case(
    "glidein-config-redirect-job-image",
    "GS_GLIDEIN_CONFIG=@SANDBOX@/evil/glidein_config",
    {"GS_GLIDEIN_CONFIG": "@SANDBOX@/evil/glidein_config"},
    refusal(
        POLICY_PREFIX
        + 'image "docker://evil/x" (normalized: docker://docker.io/evil/x:latest) matches none of '
        + "GS_ENTRY_ALLOWED_IMAGE_SOURCES: /cvmfs/*",
        True,
    ),
    job_extra='SingularityImage = "docker://evil/x"\n',
    config="GS_ENTRY_ALLOWED_IMAGE_SOURCES /cvmfs/*\n",
)
env_case(
    "bindpath-from-job",
    "GLIDEIN_SINGULARITY_BINDPATH=/:/host GLIDEIN_SINGULARITY_BINDPATH_DEFAULT=@NODE@:/node",
    {"GLIDEIN_SINGULARITY_BINDPATH": "/:/host", "GLIDEIN_SINGULARITY_BINDPATH_DEFAULT": "@NODE@:/node"},
    container(),
)
env_case(
    "opts-from-job",
    "GLIDEIN_SINGULARITY_OPTS='--bind /:/host'",
    {"GLIDEIN_SINGULARITY_OPTS": "--bind /:/host"},
    container(),
)
env_case(
    "pid-off-from-job",
    "SINGULARITY_DISABLE_PID_NAMESPACES=1 GLIDEIN_CONTAINER_ENV=keepall",
    {"SINGULARITY_DISABLE_PID_NAMESPACES": "1", "GLIDEIN_CONTAINER_ENV": "keepall"},
    container(env_absent=["SINGULARITY_DISABLE_PID_NAMESPACES"]),
)
env_case(
    "cvmfs-mount-dir-from-job",
    "CVMFS_MOUNT_DIR=@NODE@/outside",
    {"CVMFS_MOUNT_DIR": "@NODE@/outside"},
    container(),
)
env_case(
    "failure-sleep-and-marker",
    "GS_WRAPPER_FAILURE_SLEEP=0 GS_FAILURE_MARKER=@NODE@/victim",
    {"GS_WRAPPER_FAILURE_SLEEP": "0", "GS_FAILURE_MARKER": "@NODE@/victim"},
    dict(
        job_image_missing("/cvmfs/repo.example.org/nope", "@NODE@/cvmfs/repo.example.org/nope"),
        untouched=["victim", "marker"],
    ),
    job_extra='SingularityImage = "/cvmfs/repo.example.org/nope"\n',
)
env_case(
    "marker-delete-on-success",
    "GS_FAILURE_MARKER=@NODE@/victim",
    {"GS_FAILURE_MARKER": "@NODE@/victim"},
    container(untouched=["victim"]),
)
env_case(
    "chirp-on-job-path",
    "PATH=@SANDBOX@/evil",
    {"PATH": "@SANDBOX@/evil"},
    image_unusable('image "-B/" starts with "-" and would be read as an option'),
    job_extra='SingularityImage = "-B/"\n',
)
for marker in ("APPTAINER_CONTAINER", "SINGULARITY_CONTAINER", "GS_IN_CONTAINER"):
    env_case(
        "fake-inside-" + marker.lower().replace("_", "-"),
        marker + "=1",
        {marker: "1"},
        container(
            env_absent=[] if marker == "GS_IN_CONTAINER" else [marker],
            env={"APPTAINERENV_GS_IN_CONTAINER": "1"},
        ),
    )
case(
    "env-fake-inside-unparsable-environment",
    refusal(UNREADABLE, False),
    job_extra='Environment = "APPTAINER_CONTAINER=1 X=\'unterminated"\n',
    environ={"APPTAINER_CONTAINER": "1"},
)
case(
    "env-fake-inside-old-env",
    container(env_absent=["SINGULARITY_CONTAINER"]),
    job_extra='Env = "A=1;SINGULARITY_CONTAINER=/x"\n',
    environ={"SINGULARITY_CONTAINER": "/x", "A": "1"},
)
case(  # the wrapper's python has no ClassAd bindings: an expression cannot be read as HTCondor reads it
    "env-fake-inside-expression",
    refusal(
        'the job\'s Environment is the expression strcat("GS_IN_", "CONTAINER=1"), which cannot be evaluated here as HTCondor would; write the job\'s environment as a plain string (submit file: environment = ...)',
        False,
    ),
    job_extra='Environment = strcat("GS_IN_", "CONTAINER=1")\n',
    environ={"GS_IN_CONTAINER": "1"},
)
case(
    "env-name-hidden-in-value",
    container(),
    job_extra="Environment = \"X='a GS_IN_CONTAINER=1'\"\n",
    environ={"X": "a GS_IN_CONTAINER=1", "GS_IN_CONTAINER": "1"},
)
case(  # only /.singularity.d at the root says "inside a container"; a variable may be the job's
    "env-nesting-variable-is-no-proof",
    container(env_absent=["APPTAINER_CONTAINER"]),
    environ={"APPTAINER_CONTAINER": "/cvmfs/x"},
)
case(
    "env-nesting-variable-is-no-proof-job-image",
    container(env_absent=["APPTAINER_CONTAINER"]),
    job_extra="SingularityImage = " + quote(IMG) + "\n",
    environ={"APPTAINER_CONTAINER": "/cvmfs/x"},
)
case(
    "env-home-not-passed",
    container(env_absent=["APPTAINERENV_HOME"]),
    job_extra='Environment = "HOME=/root"\n',
    environ={"HOME": "/root"},
)
case(
    "env-x509-outside-sandbox",
    container(env_absent=["X509_USER_PROXY", "APPTAINERENV_X509_USER_PROXY"]),
    environ={"X509_USER_PROXY": "@NODE@/victim"},
)
case(
    "env-bearer-token-outside-sandbox",
    container(env_absent=["BEARER_TOKEN_FILE", "APPTAINERENV_BEARER_TOKEN_FILE"]),
    environ={"BEARER_TOKEN_FILE": "@NODE@/victim"},
)
case(
    "env-bearer-token-in-sandbox",
    container(env={"APPTAINERENV_BEARER_TOKEN_FILE": "/srv/token"}),
    environ={"BEARER_TOKEN_FILE": "@SANDBOX@/token"},
)
case(
    "env-node-settings-not-passed-on",
    container(env_absent=["GS_FAILURE_MARKER", "GS_WRAPPER_FAILURE_SLEEP", "GS_GLIDEIN_CONFIG"]),
    environ={"GS_GLIDEIN_CONFIG": "@NODE@/glidein/glidein_config"},
)
case(
    "env-x509-in-sandbox",
    container(env={"APPTAINERENV_X509_USER_PROXY": "/srv/x509up"}),
    environ={"X509_USER_PROXY": "@SANDBOX@/x509up"},
)
case(
    "env-quoted-blank-in-name",
    container(env={"APPTAINERENV_A": "1"}),
    job_extra="Environment = \"A=1 'B C=2'\"\n",
    environ={"A": "1", "B C": "2"},
)

# --- 4. job attributes that ask for binds or options ------------------------------------------------------
case(
    "attr-singularity-bind",
    container(),
    job_extra='SingularityBind = "/:/host"\n+SingularityBind = "/etc"\nContainerMounts = "/:/x"\n',
)
case("attr-bind-cvmfs-false-cvmfs-image", container(), job_extra="SingularityBindCVMFS = false\n")
case(
    "attr-bind-cvmfs-false",
    container(image="docker://ubuntu", binds="@HOSTBINDS@"),
    job_extra='SingularityBindCVMFS = false\nSingularityImage = "docker://ubuntu"\n',
)
case("attr-bind-cvmfs-string", container(), job_extra='SingularityBindCVMFS = "no way"\n')
case(
    "attr-extra-options",
    container(),
    job_extra='SingularityExtraArguments = "--writable -B /"\nGLIDEIN_SINGULARITY_OPTS = "-B /"\n',
)
case(
    "attr-required-os-not-string",
    refusal("the job's REQUIRED_OS must be a string, got 9", False),
    job_extra="REQUIRED_OS = 9\n",
)
case(
    "attr-required-os-hostile",
    refusal(
        'no image for REQUIRED_OS "-B/:/x" and GLIDEIN_REQUIRED_OS "any": SINGULARITY_IMAGES_DICT has no non-empty value for -B/:/x (its keys with images: default, rhel9)',
        True,
    ),
    job_extra='REQUIRED_OS = "-B/:/x"\n',
)
case("attr-required-os-rhel9", container(image=LINK_REAL), job_extra='REQUIRED_OS = " rhel9 , default"\n')
case("attr-required-os-any-upper", container(), job_extra='REQUIRED_OS = "ANY"\n')
case("attr-gpus-none", container(), machine_extra='AssignedGPUs = "10000"\n')

# --- 5. the job's own argv: passed on as is, after the image --------------------------------------------
for name, argv in [
    ("options", ["@SANDBOX@/job.sh", "--bind", "/:/host", "-B", "/", "--writable"]),
    ("newline", ["@SANDBOX@/job.sh", "a\nb", "c\td"]),
    ("empty-args", ["@SANDBOX@/job.sh", "", ""]),
    ("shell-meta", ["@SANDBOX@/job.sh", "$(id)", "`id`", ";id", "|id", "&&", "'\""]),
    ("unicode", ["@SANDBOX@/job.sh", "\u00e9\u00e0", "\u2603"]),
]:
    inner = ["/srv/job.sh", *argv[1:]]
    case("argv-" + name, container(inner=inner), argv=argv)
case("argv-relative-executable", container(inner=["job.sh", "x"]), argv=["job.sh", "x"])
case(
    "argv-outside-path-kept",
    container(inner=["/srv/job.sh", "@NODE@/victim"]),
    argv=["@SANDBOX@/job.sh", "@NODE@/victim"],
)
case(
    "argv-sandbox-dotdot",
    container(inner=["/srv/job.sh", "/srv/../x"]),
    argv=["@SANDBOX@/job.sh", "@SANDBOX@/../x"],
)
case(
    "argv-dash-executable",
    refusal("the job executable '-c' starts with '-'", False),
    argv=["-c", "id"],
)
case("argv-empty", refusal("the wrapper got no job command (empty argv)", True), argv=[])

# --- 6. ads: missing, empty, unparsable, huge, duplicated ---------------------------------------------------
case(
    "ads-missing-job-ad",
    refusal(
        "AdError: cannot read the job ad @SANDBOX@/.job.ad: No such file or directory",
        True,
        untouched=["victim"],
        marker="1\n",  # a node problem, counted in the node's own marker (from glidein_config)
    ),
    job=None,
    environ={"GS_FAILURE_MARKER": "@NODE@/victim"},
)
case(
    "ads-missing-machine-ad",
    refusal("AdError: cannot read the machine ad @SANDBOX@/.machine.ad: No such file or directory", True),
    machine=None,
)
case("ads-empty-job-ad", container(), job="")
case("ads-empty-machine-ad", bare(), machine="")
case("ads-garbage-job-ad", container(), job='\x00\udcff garbage {{{ \n = = =\n"\n')
case("ads-garbage-machine-ad", bare(), machine='HAS_SINGULARITY\n= true\n"SINGULARITY_PATH" = 1\n')
case("ads-binary-machine-ad", bare(), machine="\udcff\udcfe\x00\x01" * 100)
case(
    "ads-duplicate-last-wins",
    refusal(
        "containers are required on this slot (GWMS_SINGULARITY_STATUS is REQUIRED) but HAS_SINGULARITY is "
        "False",
        True,
    ),
    machine_extra="HAS_SINGULARITY = false\n",
)
case(
    "ads-duplicate-last-wins-preferred",
    bare(),
    machine_extra='HAS_SINGULARITY = false\nGWMS_SINGULARITY_STATUS = "PREFERRED"\n',
)
case(
    "ads-duplicate-last-wins-true",
    container(),
    machine=MACHINE.replace("HAS_SINGULARITY = true", "HAS_SINGULARITY = false") + "has_singularity = TRUE\n",
)
case(
    "ads-has-singularity-string",
    container(),
    machine=MACHINE.replace("HAS_SINGULARITY = true", 'HAS_SINGULARITY = "yes"'),
)
case(
    "ads-has-singularity-expression",
    refusal(
        "containers are required on this slot (GWMS_SINGULARITY_STATUS is REQUIRED) but HAS_SINGULARITY is "
        "the expression TotalCpus > 0",
        True,
    ),
    machine=MACHINE.replace("HAS_SINGULARITY = true", "HAS_SINGULARITY = TotalCpus > 0"),
)
case(
    "ads-runtime-relative",
    refusal("SINGULARITY_PATH 'apptainer' is not an absolute path", True),
    machine_extra='SINGULARITY_PATH = "apptainer"\n',
)
case(
    "ads-runtime-unterminated",
    refusal(
        "containers are required on this slot (GWMS_SINGULARITY_STATUS is REQUIRED) but SINGULARITY_PATH is empty",
        True,
    ),
    machine_extra='SINGULARITY_PATH = "/usr/bin/apptainer\n-B"\n',
)
case("ads-huge-job-ad", container(), pad={"attributes": 3000, "bytes": 1000})
case("ads-huge-attribute", container(), pad={"attributes": 1, "bytes": 4 * 1024 * 1024})
case(
    "ads-too-large",
    refusal(
        "AdError: the job ad @SANDBOX@/.job.ad is larger than 16777216 bytes", True, untouched=["victim"]
    ),
    pad={"attributes": 1, "bytes": 17 * 1024 * 1024},
    environ={"GS_FAILURE_MARKER": "@NODE@/victim"},
)
case("ads-deep-list", container(), job_extra="L = " + "{" * 5000 + "}" * 5000 + "\n")
case(
    "ads-unterminated-string",
    refusal(
        "the job's SingularityImage must be a string, got the expression \"/cvmfs/repo.example.org/img", False
    ),
    job_extra='SingularityImage = "/cvmfs/repo.example.org/img\n',
)
case(
    "ads-escaped-quote-at-end",
    job_image_missing("/cvmfs/repo.example.org/img\\", "@NODE@/cvmfs/repo.example.org/img\\"),
    job_extra='SingularityImage = "/cvmfs/repo.example.org/img\\"\n',
)
case("ads-crlf", container(image=LINK_REAL), job=JOB.replace("\n", "\r\n") + 'REQUIRED_OS = "rhel9"\r\n')

# --- 7. node settings that are the admin's, read from machine ad and glidein_config ---------------------------
case("node-pid-off", container(pid=False), config="SINGULARITY_DISABLE_PID_NAMESPACES 1\n")
case("node-pid-namespaces-false", container(pid=False), machine_extra="GS_PID_NAMESPACES = false\n")
case(
    "node-bindpath-admin",
    container(binds="@NODE@/outside:/data,@HOSTBINDS@," + CVMFS + ":/cvmfs"),
    config="GLIDEIN_SINGULARITY_BINDPATH @NODE@/outside:/data\n",
)
case(
    "node-opts-admin",
    container(extra=["--no-mount", "tmp"]),
    config="GLIDEIN_SINGULARITY_OPTS --no-mount tmp\n",
)
case(
    "node-opts-unsplittable",
    refusal('GLIDEIN_SINGULARITY_OPTS "--x \'y" cannot be split: No closing quotation', True),
    config="GLIDEIN_SINGULARITY_OPTS --x 'y\n",
)
case(
    "node-env-policy-unknown",  # a typo in the node's policy must not refuse every job: ignored, default applies
    container(env_absent=["LD_LIBRARY_PATH"]),
    config="GLIDEIN_CONTAINER_ENV keepsome\n",
    environ={"LD_LIBRARY_PATH": "/opt/host/lib"},
)
case(
    "node-restrictions-unknown",
    refusal(
        "SINGULARITY_IMAGE_RESTRICTIONS: unknown restriction 'none' in 'none'; expected a comma list of cvmfs, remote, test, any",
        True,
    ),
    machine_extra='SINGULARITY_IMAGE_RESTRICTIONS = "none"\n',
)
case("node-never", bare(), machine_extra='HAS_SINGULARITY = false\nGWMS_SINGULARITY_STATUS = "NEVER"\n')
case(
    "node-preferred-autoload-off",
    bare(),
    job_extra="SingularityAutoLoad = false\n",
    machine_extra='GWMS_SINGULARITY_STATUS = "PREFERRED"\n',
)
case(
    "node-preferred-missing-default-runs-bare",
    bare(),
    machine_extra='GWMS_SINGULARITY_STATUS = "PREFERRED"\nSINGULARITY_IMAGES_DICT = "default:/cvmfs/repo.example.org/nope"\n',
)
case(
    "node-dict-image-dash",
    refusal(
        'SINGULARITY_IMAGES_DICT key default: image "-B/" starts with "-" and would be read as an option',
        True,
    ),
    machine_extra='SINGULARITY_IMAGES_DICT = "default:-B/"\n',
)
case(
    "node-dict-instance",
    refusal(
        'SINGULARITY_IMAGES_DICT key default: image "instance://x" has the URI scheme "instance"; images are local paths or docker, oras, library, shub, http, https URIs',
        True,
    ),
    machine_extra='SINGULARITY_IMAGES_DICT = "default:instance://x"\n',
)

# Combined: every trick at once must still give the plain plan.
case(
    "all-at-once",
    container(
        env={"APPTAINERENV_LD_PRELOAD": "./e.so"},
        env_absent=["LD_PRELOAD", "APPTAINER_BINDPATH"],
        untouched=["victim"],
    ),
    job_extra='Environment = "LD_PRELOAD=./e.so APPTAINER_BINDPATH=/ GLIDEIN_SINGULARITY_BINDPATH=/:/h GS_GLIDEIN_CONFIG=@SANDBOX@/evil/glidein_config GS_FAILURE_MARKER=@NODE@/victim PATH=@SANDBOX@/evil"\nSingularityBind = "/"\n',
    environ={
        "LD_PRELOAD": "./e.so",
        "APPTAINER_BINDPATH": "/",
        "GLIDEIN_SINGULARITY_BINDPATH": "/:/h",
        "GS_GLIDEIN_CONFIG": "@SANDBOX@/evil/glidein_config",
        "GS_FAILURE_MARKER": "@NODE@/victim",
        "PATH": "@SANDBOX@/evil",
    },
)

# --- 10. the job's environment, read exactly as HTCondor's starter reads it ----------------------------------
# V1 Env with any delimiter (the review's example): nothing it hides may steer the runtime or be trusted.
case(
    "envv1-delimiter-letter",
    container(
        env={"APPTAINERENV_LD_PRELOAD": "/srv/evil.so", "APPTAINERENV_FOOQ": "1"},
        env_absent=["APPTAINER_BIND", "LD_PRELOAD", "APPTAINERENV_APPTAINER_BIND"],
    ),
    job_extra='Environment = undefined\nEnvDelim = "Z"\nEnv = "FOOQ=1ZAPPTAINER_BIND=/:/hostZLD_PRELOAD=@SANDBOX@/evil.so"\n',
    environ={"FOOQ": "1", "APPTAINER_BIND": "/:/host", "LD_PRELOAD": "@SANDBOX@/evil.so"},
)
case(
    "envv1-auto-delimiter",
    container(env_absent=["SINGULARITY_DISABLE_PID_NAMESPACES"], untouched=["victim"]),
    job_extra='Env = "|A=1|GS_GLIDEIN_CONFIG=@SANDBOX@/evil/glidein_config|SINGULARITY_DISABLE_PID_NAMESPACES=1|GS_FAILURE_MARKER=@NODE@/victim"\n',
    environ={
        "A": "1",
        "GS_GLIDEIN_CONFIG": "@SANDBOX@/evil/glidein_config",
        "SINGULARITY_DISABLE_PID_NAMESPACES": "1",
        "GS_FAILURE_MARKER": "@NODE@/victim",
    },
)
case(
    "envv1-delimiter-digit-hides-path",
    container(
        env={"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}, untouched=["victim"]
    ),
    job_extra='EnvDelim = "7"\nEnv = "X=17PATH=/opt/evil:/usr/bin"\n',
    environ={"X": "1", "PATH": "/opt/evil:/usr/bin"},
)
case(
    "envv1-delimiter-equals",
    refusal(
        "the job's Env cannot be read: missing '=' after the environment variable 'A' (HTCondor would not start the job); write the job's environment as a plain string (submit file: environment = ...)",
        False,
    ),
    job_extra='EnvDelim = "="\nEnv = "A=1"\n',
)
case(
    "envv2-doubled-quotes-join-a-name",
    container(env={"APPTAINERENV_LD_PRELOAD": "x"}, env_absent=["LD_PRELOAD"]),
    job_extra="Environment = \"LD_PRE''LOAD=x\"\n",
    environ={"LD_PRELOAD": "x"},
)
case(
    "envv2-scratch-marker-expanded",
    container(env={"APPTAINERENV_DATA": "/srv/in"}),
    job_extra='Environment = "DATA=#CoNdOrScRaTcHdIr#/in"\n',
    environ={"DATA": "@SANDBOX@/in"},
)
case(
    "env-differs-from-htcondors-reading",
    refusal(
        "the job's environment as HTCondor set it differs from the job's Environment for FOO: refused, because the variables the job set cannot be told from the node's",
        False,
    ),
    job_extra='Environment = "FOO=1"\n',
    environ={"FOO": "2"},
)

# --- 11. the machine ad the job wrote (a glidein: the starter and the job share a uid) -------------------------
GLIDEIN_FACTS = (
    "HAS_SINGULARITY True\nSINGULARITY_PATH " + RUNTIME + "\nGWMS_SINGULARITY_STATUS REQUIRED\n"
    "SINGULARITY_IMAGE_RESTRICTIONS cvmfs,remote\nSINGULARITY_IMAGES_DICT default:"
    + IMG
    + ",rhel9:"
    + LINK
    + "\n"
    "GS_OVERLAY True\n"
)
case(
    "machine-ad-forged-by-job",
    container(),
    machine='HAS_SINGULARITY = false\nGLIDEIN_SINGULARITY_BINDPATH = "/:/host"\nSINGULARITY_PATH = "/bin/sh"\nGLIDEIN_SINGULARITY_OPTS = "--writable"\n',
    config=GLIDEIN_FACTS,
    machine_by_job=True,
)
case(
    "machine-ad-forged-by-job-gpus",
    container(),
    machine_extra='AssignedGPUs = "CUDA0"\n',
    config=GLIDEIN_FACTS,
    machine_by_job=True,
)

# --- 12. the glidein's directory and the execute directory never enter a container -----------------------------
case(
    "node-bind-never-glidein-or-parent",
    container(binds="@NODE@/outside:/data,@HOSTBINDS@," + CVMFS + ":/cvmfs"),
    config="GLIDEIN_SINGULARITY_BINDPATH @NODE@/glidein,@NODE@,@NODE@/execute:/x,/:/host,@NODE@/outside:/data\n",
)


def _write(path, text):
    with open(path, "w", encoding="utf-8", errors="surrogateescape", newline="") as handle:
        handle.write(text)


def write_corpus(root):
    """Write every case under ``root`` (replacing what is there)."""
    if os.path.isdir(root):
        shutil.rmtree(root)
    os.makedirs(root)
    for item in CASES:
        directory = os.path.join(root, item["name"])
        os.mkdir(directory)
        if item["job"] is not None:
            _write(os.path.join(directory, "job.ad"), item["job"])
        if item["machine"] is not None:
            _write(os.path.join(directory, "machine.ad"), item["machine"])
        if item["config"]:
            _write(os.path.join(directory, "glidein_config"), item["config"])
        if item["pad"]:
            _write(os.path.join(directory, "pad.json"), json.dumps(item["pad"], sort_keys=True) + "\n")
        if item["machine_by_job"]:
            _write(os.path.join(directory, "machine_by_job"), "")
        for name in ("environ", "argv", "expected"):
            _write(
                os.path.join(directory, name + ".json"),
                json.dumps(item[name], indent=1, sort_keys=True) + "\n",
            )


if __name__ == "__main__":
    write_corpus(sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "cases"))
