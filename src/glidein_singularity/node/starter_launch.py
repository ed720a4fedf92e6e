"""HTCondor launch mode: the starter starts the container, from our plan (stdlib only, python >= 3.6).

With ``GLIDEIN_SINGULARITY_USE_HTCONDOR=True`` (GlideinWMS PR #677's name) the setup script writes the
starter's own ``SINGULARITY_*`` configuration (``starter_knobs``) and advertises ``GS_USE_HTCONDOR``.
Then, per job, with one ``plan()``:

- the prepare-job hook publishes the plan's image and its options (binds included) in the starter's copy
  of the job ad (``request_attributes``), which ``SINGULARITY_IMAGE_EXPR`` and
  ``SINGULARITY_EXTRA_ARGUMENTS`` read (HTCondor 23.9: the hook's ``Attr = value`` lines update that
  copy; ``SINGULARITY_JOB`` is true only when the hook published an image). The options travel as one
  double-quoted V2 argument string, which the starter splits exactly back into the plan's words;
  ``SINGULARITY_BIND_EXPR`` is the empty string, because the starter splits a bind list at commas *and
  blanks* (a job directory ``/shared/a /opt/x`` would bind the host's ``/opt/x``) and would otherwise
  read the job's own ``SingularityBind``;
- the job wrapper then gets the starter's command line ``<runtime> -s exec ... <image> <job argv>``:
  it never wraps a second container (``native_argv``). It inserts our launcher after the image (23.9
  has no ``SINGULARITY_USE_LAUNCHER``: a runtime that dies before the payload would otherwise end as
  Completed with exit code 255) and scrubs the runtime's own environment (``runtime_environment``).

``condor_ssh_to_job``: the starter launches ``sshd -i -e -f <sandbox>/.condor_ssh_to_job_N/sshd_config``
through the job wrapper too (``is_ssh_to_job``). In HTCondor mode it is passed through untouched: the
starter puts the shell into the job's container (``condor_nsenter``). In wrapper mode the starter knows
no container, so the shell would land on the host, next to the glidein's credentials: the sshd gets a
forced command that prints why and names the mode that supports it (``refusing_sshd_argv``).
"""

import os

from ..condor_words import v2_quoted
from ..grammar import truth

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from typing import Callable, Dict, List, Mapping, Optional, Sequence, Tuple

    from ..classad import Ad
    from ..plan import LaunchPlan

__all__ = [
    "ARGS_ATTR",
    "IMAGE_ATTR",
    "MODE_ATTR",
    "SSH_REFUSAL",
    "SWITCH",
    "StarterRequest",
    "htcondor_mode",
    "is_ssh_to_job",
    "native_argv",
    "refusing_sshd_argv",
    "request_attributes",
    "runtime_environment",
    "starter_command",
    "starter_knobs",
    "starter_request",
]

#: The factory/frontend attribute (and standalone setting) that turns the mode on.
SWITCH = "GLIDEIN_SINGULARITY_USE_HTCONDOR"
#: The machine ad fact the setup advertises when the starter launches containers.
MODE_ATTR = "GS_USE_HTCONDOR"
#: Job ad attributes the prepare-job hook sets in the starter's copy of the job ad.
IMAGE_ATTR = "GS_ContainerImage"
ARGS_ATTR = "GS_ContainerArgs"
#: Plan options the starter sets itself (``-C``, or ``--contain --ipc --cleanenv``; ``--pwd``).
_STARTER_FLAGS = ("--contain", "--ipc", "--pid", "--cleanenv")
_STARTER_VALUED = ("--pwd",)
#: Plan options with a value that stay (the value is never mistaken for an option).
_VALUED = ("--home", "--bind")
#: What a condor_ssh_to_job user sees in wrapper mode.
SSH_REFUSAL = (
    "glidein-singularity: condor_ssh_to_job cannot enter the container of this job in wrapper mode "
    "(the shell would run on the host, outside the container); it works on nodes that run with "
    "GLIDEIN_SINGULARITY_USE_HTCONDOR=True (HTCondor launch mode)."
)


def htcondor_mode(machine_ad: "Ad") -> bool:
    """Whether the node's starter launches the containers (``GS_USE_HTCONDOR`` true in the trusted ad)."""
    return truth(machine_ad.get(MODE_ATTR)) is True


def starter_knobs(runtime: str, pid_namespaces: bool) -> "List[Tuple[str, str]]":
    """The HTCondor configuration (macro, right-hand side) the starter needs to launch from our plan.

    Minimum versions: ``SINGULARITY_IMAGE_EXPR``/``SINGULARITY_BIND_EXPR``/``SINGULARITY_EXTRA_ARGUMENTS``
    and the prepare-job hook predate 9.0; ``SINGULARITY_TARGET_DIR`` 9.x; ``SINGULARITY_USE_PID_NAMESPACES``
    10.x; ``SINGULARITY_RUN_TEST_BEFORE_JOB`` 10.x (all in 23.9, the test bed's).
    """
    return [
        ("SINGULARITY", runtime),
        ("SINGULARITY_JOB", "(TARGET.{} isnt undefined)".format(IMAGE_ATTR)),
        ("SINGULARITY_IMAGE_EXPR", "TARGET.{}".format(IMAGE_ATTR)),
        # no bind list: ours is in the extra arguments (see the module docstring)
        ("SINGULARITY_BIND_EXPR", '""'),
        ("SINGULARITY_EXTRA_ARGUMENTS", "TARGET.{}".format(ARGS_ATTR)),
        ("SINGULARITY_TARGET_DIR", "/srv"),
        ("SINGULARITY_USE_PID_NAMESPACES", "true" if pid_namespaces else "false"),
        # Our health probe replaces the per-job test (about 70 ms per job on 23.9).
        ("SINGULARITY_RUN_TEST_BEFORE_JOB", "false"),
    ]


class StarterRequest:
    """What the starter must run for a container plan: image, extra options, our launcher."""

    __slots__ = ("dropped", "extra", "image", "launcher", "pwd")

    def __init__(
        self,
        image: str,
        extra: "List[str]",
        launcher: "List[str]",
        dropped: "List[str]",
        pwd: "Optional[str]" = None,
    ) -> None:
        self.image = image
        self.extra = extra
        self.launcher = launcher
        self.dropped = dropped
        #: The plan's working directory inside (a shared-file-system job's own directory, else /srv).
        self.pwd = pwd


def starter_request(launch: "LaunchPlan", argv_len: int) -> StarterRequest:
    """Split a container plan made for ``argv_len`` job arguments into what the starter is told.

    The plan's argv is ``runtime exec <options> image [launcher] <job argv>``. Options the starter sets
    itself are dropped (``dropped`` says which, for ``explain``); the rest (``--home <sandbox>:/srv``,
    GPU flags, ``GLIDEIN_SINGULARITY_OPTS``, ``--bind <list>``) become extra arguments, in the plan's
    order. Raises ValueError when the plan does not have that shape.
    """
    argv = list(launch.argv)
    launcher_len = 0
    if launch.error_file_message is not None:
        launcher_len = 5 if argv[-argv_len - 5 : -argv_len - 3] == ["/bin/sh", "-c"] else 4
    index = len(argv) - argv_len - launcher_len - 1
    if not launch.use_container or index < 2 or argv[index] != launch.image or argv[1] != "exec":
        msg = "the plan's command line has no image at the expected place: {!r}".format(argv)
        raise ValueError(msg)
    options = argv[2:index]
    extra: List[str] = []
    dropped: List[str] = []
    pwd: Optional[str] = None
    position = 0
    while position < len(options):
        option = options[position]
        if option in _STARTER_VALUED and position + 1 < len(options):
            dropped.extend(options[position : position + 2])
            if option == "--pwd":
                pwd = options[position + 1]
            position += 2
        elif option in _VALUED and position + 1 < len(options):
            extra.extend(options[position : position + 2])
            position += 2
        elif option in _STARTER_FLAGS:
            dropped.append(option)
            position += 1
        else:
            extra.append(option)
            position += 1
    launcher = argv[index + 1 : index + 1 + launcher_len]
    return StarterRequest(str(launch.image), extra, launcher, dropped, pwd)


def request_attributes(request: StarterRequest) -> "List[Tuple[str, object]]":
    """The prepare-job hook's lines for the starter's job ad: the image, and the extra options as the
    double-quoted V2 string the starter splits back into exactly these words."""
    return [(IMAGE_ATTR, request.image), (ARGS_ATTR, v2_quoted(request.extra))]


#: Where HTCondor 23.9 binds OpenCL drivers when the slot has GPUs (if the node has the directory).
OPENCL_VENDORS = "/etc/OpenCL/vendors"
#: HTCondor's default MOUNT_UNDER_SCRATCH (each becomes ``-S <dir>``).
MOUNT_UNDER_SCRATCH = ("/tmp", "/var/tmp")


def starter_command(
    runtime: str,
    sandbox: str,
    request: StarterRequest,
    job_argv: "Sequence[str]",
    pid_namespaces: bool,
    gpus: bool,
    opencl: bool,
    iwd: "Optional[str]" = None,
    scratch: "Sequence[str]" = MOUNT_UNDER_SCRATCH,
) -> "List[str]":
    """The command HTCondor 23.9's starter builds from ``starter_knobs`` and the hook's attributes
    (``Singularity::setup``, in its order): ``-s exec``, ``-S`` for each scratch mount, the job's own
    directory when it is not the sandbox, ``-W``, ``--pwd /srv`` (sandbox jobs), the sandbox at /srv,
    ``--nv`` and the OpenCL drivers when the slot has GPUs (``gpus``: ``AssignedGPUs`` is set;
    ``opencl``: the node has ``OPENCL_VENDORS``), ``--home`` (sandbox jobs), the containment options,
    our extra options, the image and the job's command."""
    in_sandbox = iwd is None or iwd == sandbox
    command = [runtime, "-s", "exec"]
    for directory in scratch:
        command += ["-S", directory]
    if not in_sandbox:
        command += ["-B", str(iwd)]
    command += ["-W", sandbox]
    if in_sandbox:
        command += ["--pwd", "/srv"]
    command += ["-B", sandbox + ":/srv"]
    if gpus:
        command.append("--nv")
        if opencl:
            command += ["-B", OPENCL_VENDORS]
    if in_sandbox:
        command += ["--home", sandbox]
    command += ["-C"] if pid_namespaces else ["--contain", "--ipc", "--cleanenv"]
    image = request.image
    if not in_sandbox and not image.startswith("/"):
        image = str(iwd) + "/" + image
    return [*command, *request.extra, image, *job_argv]


def native_argv(
    starter_argv: "Sequence[str]",
    runtime: str,
    request: StarterRequest,
    sandbox: str,
    realpath: "Callable[[str], str]" = os.path.realpath,
) -> "List[str]":
    """The starter's command line with our launcher after the image; ValueError if it is not the
    container the plan asked for (then the job must not run: it would run in another container or none).

    The starter starts every job in ``SINGULARITY_TARGET_DIR`` (``--pwd /srv``); a shared-file-system
    job's plan starts it in its own directory (bound at the same path by the plan's --bind), so the
    plan's ``--pwd`` replaces the starter's.

    Every word the starter put before our options must be one 23.9 writes for this job
    (``_check_head``): a word that came from anywhere else (the job's own ``GS_ContainerArgs`` where no
    hook ran, a job directory with a comma that Apptainer would split into a second bind) refuses.
    """
    argv = list(starter_argv)
    if not argv or argv[0] != runtime or "exec" not in argv[1:3]:
        msg = "the starter did not launch the planned runtime {} (its command starts {!r})".format(
            runtime, argv[:3]
        )
        raise ValueError(msg)
    width = len(request.extra)
    for index in range(2, len(argv)):
        if argv[index] == request.image and argv[index - width : index] == request.extra:
            _check_head(argv[: index - width], sandbox, request.pwd, realpath)
            head = argv[:index]
            if request.pwd is not None:
                where = [at for at in range(2, index - width - 1) if head[at] == "--pwd"]
                if where:
                    head[where[-1] + 1] = request.pwd
                else:
                    head[argv.index("exec") + 1 : argv.index("exec") + 1] = ["--pwd", request.pwd]
            return [*head, argv[index], *request.launcher, *argv[index + 1 :]]
    msg = 'the starter\'s command does not run the planned image "{}" with the planned options {}'.format(
        request.image, " ".join(request.extra)
    )
    raise ValueError(msg)


#: The runtime's verbosity words (``SINGULARITY_VERBOSITY``, ``-s`` by default) before ``exec``.
_VERBOSITY = ("-s", "--silent", "-q", "--quiet", "-v", "--verbose", "-d", "--debug")
#: Flags 23.9's starter writes: containment, and ``--nv`` for a slot with GPUs.
_HEAD_FLAGS = ("-C", "--contain", "--ipc", "--cleanenv", "--nv")


def _check_head(
    head: "Sequence[str]", sandbox: str, workdir: "Optional[str]", realpath: "Callable[[str], str]"
) -> None:
    """ValueError unless ``head`` (runtime, verbosity, ``exec``, options) holds only what
    ``Singularity::setup`` writes for a job in ``sandbox``: ``-S`` scratch mounts, ``-W`` and ``--home``
    the sandbox, ``--pwd`` (replaced by the plan's), ``-B`` the sandbox at /srv, the OpenCL drivers, or
    the job's own directory (no comma or colon, and the plan's working directory or inside the sandbox),
    and the flags of ``_HEAD_FLAGS``."""
    words = list(head[1:])
    while words and words[0] in _VERBOSITY:
        words.pop(0)
    if not words or words.pop(0) != "exec":
        msg = "the starter's command is not '<runtime> [verbosity] exec ...': {!r}".format(head)
        raise ValueError(msg)
    real_sandbox = realpath(sandbox)
    while words:
        word = words.pop(0)
        if word in _HEAD_FLAGS:
            continue
        if word not in ("-S", "-W", "--pwd", "-B", "--home") or not words:
            msg = "the starter's command has {!r}, which the plan does not explain".format(word)
            raise ValueError(msg)
        value = words.pop(0)
        if word == "-S":
            ok = value.startswith("/") and "," not in value and ":" not in value
        elif word in ("-W", "--home"):
            ok = value == sandbox
        elif word == "--pwd":
            ok = value in ("/srv", workdir)
        elif value in (sandbox + ":/srv", OPENCL_VENDORS):
            ok = True
        else:
            real = realpath(value) if value.startswith("/") else ""
            ok = (
                "," not in value
                and ":" not in value
                and bool(real)
                and (real in (workdir, real_sandbox) or real.startswith(real_sandbox.rstrip("/") + "/"))
            )
        if not ok:
            msg = "the starter's command has {} {!r}, which the plan does not explain".format(word, value)
            raise ValueError(msg)


def runtime_environment(
    environ: "Mapping[str, str]",
    job_env: "Mapping[str, str]",
    runtime_path: str,
    launch: "Optional[LaunchPlan]" = None,
) -> "Dict[str, str]":
    """The environment of the starter's runtime process.

    The starter passes the variables of the job's environment (its own and the starter's, e.g.
    ``STARTER_JOB_ENVIRONMENT``) inside as ``APPTAINERENV_*`` and cleans the rest (``-C``/``--cleanenv``).
    Kept out of the runtime process itself: ``APPTAINER*``/``SINGULARITY*`` variables the job set
    (``APPTAINER_BINDPATH`` would mount host paths), the job's loader and shell start-up variables
    (``host_unsafe``: they would act on the runtime on the host; the job's values are passed inside
    instead), and the job's ``PATH`` (the runtime searches it on the host). The plan's own decisions
    about the inside (``launch``) apply as in wrapper mode: a variable it drops (a path outside the job
    directory such as the pilot's ``X509_USER_PROXY``, the node's own settings) is not passed inside,
    and what it passes inside (rewritten paths, ``TMPDIR``) wins.
    """
    from ..launch_env import INSIDE_ENV_PREFIXES, host_unsafe, runtime_owned

    env: Dict[str, str] = {}
    for name, value in environ.items():
        job_set = name in job_env
        if job_set and (runtime_owned(name) or name.startswith(INSIDE_ENV_PREFIXES)):
            continue
        if host_unsafe(name):
            continue
        env[name] = value
    for name, value in job_env.items():
        if host_unsafe(name) and not runtime_owned(name):
            env["APPTAINERENV_" + name] = value
    env["PATH"] = runtime_path
    if launch is not None:
        for name in launch.env_unset:
            if not runtime_owned(name) and name != "PATH":
                for prefix in ("", *INSIDE_ENV_PREFIXES):
                    env.pop(prefix + name, None)
        for name, value in launch.env_set.items():
            if name.startswith(INSIDE_ENV_PREFIXES):
                env[name] = value
    return env


def _under(path: str, directory: str) -> bool:
    return path.startswith(directory.rstrip("/") + "/")


def is_ssh_to_job(argv: "Sequence[str]", job_ad: "Optional[Ad]", sandbox: "Optional[str]") -> bool:
    """Whether the starter (not the job) is launching condor_ssh_to_job's sshd through the wrapper.

    ``argv`` is the wrapper's argv without itself. A job cannot be mistaken for it: the program must be a
    root-owned ``sshd`` no one else may write (a job cannot plant one), different from the job's own
    executable, started as ``-i -e -f <sandbox>/.condor_ssh_to_job_N/sshd_config``.
    """
    if len(argv) < 5 or not sandbox or list(argv[1:4]) != ["-i", "-e", "-f"]:
        return False
    program, config = argv[0], argv[4]
    if not program.startswith("/") or os.path.basename(program) != "sshd":
        return False
    relative = config[len(sandbox.rstrip("/")) + 1 :] if _under(config, sandbox) else ""
    parts = relative.split("/")
    if len(parts) != 2 or not parts[0].startswith(".condor_ssh_to_job_") or ".." in parts:
        return False
    cmd = job_ad.get("Cmd") if job_ad is not None else None
    if isinstance(cmd, str) and program in (cmd, os.path.join(sandbox, cmd)):
        return False
    try:
        info = os.stat(program)
    except OSError:
        return False
    return info.st_uid == 0 and not info.st_mode & 0o022


def refusing_sshd_argv(argv: "Sequence[str]") -> "List[str]":
    """The starter's sshd with a forced command that prints ``SSH_REFUSAL`` (and no forwarding)."""
    message = SSH_REFUSAL.replace("'", "")
    return [
        argv[0],
        "-o",
        "ForceCommand=echo '{}' >&2; exit 1".format(message),
        "-o",
        "DisableForwarding=yes",
        *argv[1:],
    ]
