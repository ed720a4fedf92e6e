"""The launch plan: what the job wrapper does for one job on one slot (pure).

``plan(job_ad, machine_ad, settings, environ, argv, paths)`` returns a ``LaunchPlan`` (the exact argv to
exec, the environment changes, the reasons) or a ``Refusal``. It performs no I/O: facts about host paths
come from ``paths.probe`` (the wrapper passes a memoised ``os``-based probe; tests pass a table), and it is
the same function ``glidein-singularity explain`` prints.

Decisions, in order (reference: GlideinWMS ``singularity_lib.sh``; differences are marked *):

1. No job command -> refusal. A ``SingularityImage`` that is not a clean string -> refusal (no requeue).
2. Already inside a container (``APPTAINER_CONTAINER``, ``SINGULARITY_CONTAINER`` or our marker
   ``GS_IN_CONTAINER`` in the environment, *unless the job set it itself*) -> run bare, never wrap twice;
   a job that names an image is refused instead (*never run bare*).
3. ``HAS_SINGULARITY`` not true or no ``SINGULARITY_PATH`` -> bare; a job naming an image, or any job on a
   ``REQUIRED`` slot, is refused* (requeued).
4. Image: ``+SingularityImage``, else ``REQUIRED_OS`` x ``GLIDEIN_REQUIRED_OS`` in the job's order* looked
   up in ``SINGULARITY_IMAGES_DICT``, else the default keys. ``SINGULARITY_IMAGE_RESTRICTIONS`` apply to
   every image*, also after symlinks are resolved*; a CVMFS directory image is pinned to its real path.
   The image-source lists (``sources``; machine ad or glidein_config only, never the environment) apply
   to every image, as written and resolved*: a refused image is requeued (``job_caused`` when the job
   named it), never run bare. URIs other than docker, oras, library, shub, http(s) are refused*.
5. Options (``launch_options.runtime_options``, also the validation run's): ``exec --home <sandbox>:/srv
   --pwd /srv --contain --ipc`` + ``--pid`` (unless
   ``SINGULARITY_DISABLE_PID_NAMESPACES=1`` or the machine ad has ``GS_PID_NAMESPACES = false``) +
   ``--nv``/``--rocm`` for assigned GPUs* + ``--cleanenv`` (``clearall``; not twice when
   ``GLIDEIN_SINGULARITY_OPTS`` has it, which counts as clearing the environment) +
   ``GLIDEIN_SINGULARITY_OPTS``;
   one ``--bind`` with existing sources, no duplicate targets*, and (directory image without overlay,
   ``GS_OVERLAY`` not true) only targets present in the image*.
6. Environment (``launch_env.launch_environment``): policy ``GLIDEIN_CONTAINER_ENV`` (unknown words
   ignored with a reason); the job's own ``Environment`` is always preserved*; an
   ``APPTAINERENV_``/``SINGULARITYENV_`` value the node set is kept;
   ``APPTAINER*``/``SINGULARITY*`` variables the job set are removed*, and the job's ``PATH`` and loader
   variables (``host_unsafe``) reach the job inside only, never the runtime process*; no
   ``APPTAINER*``/``SINGULARITY*`` variable of the host reaches the runtime*. What the job set is read
   exactly as HTCondor's starter reads it (``jobenv``), and no setting comes from the environment*.
7. When the wrapper-error file is in the sandbox, the container starts ``/bin/sh -c 'rm -f -- "$0" &&
   exec "$@"' /srv/<error file> <job argv>``: the wrapper writes the file before exec, so if the runtime
   dies before the job starts HTCondor finds it and requeues the job*.

Under ``GWMS_SINGULARITY_STATUS = "PREFERRED"`` a job that names no image runs bare when the container
path fails (and ``LaunchPlan.fallback`` holds that bare plan for a failed runtime exec).
"""

from ._record import Record
from .classad import UNDEFINED
from .errors import ConfigError, ImageError
from .grammar import has_control, truth
from .images import (
    check_restrictions,
    cvmfs_translate,
    image_syntax_problem,
    is_cvmfs_path,
    is_remote_image,
    local_image_path,
    normalize_path,
    parse_images_dict,
    parse_os_list,
    parse_restrictions,
    select_image,
)
from .jobenv import read_job_environment
from .launch_env import TMP_SUBDIR, host_unsafe, launch_environment, shell_unsafe
from .launch_options import (
    INSIDE_DIR,
    is_within,
    runtime_options,
)
from .settings import NodeSettings, describe_value, literal_text
from .store import ImageFetch, locate

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from typing import (
        Callable,
        Dict,
        FrozenSet,
        List,
        Mapping,
        Optional,
        Sequence,
        Tuple,
        Union,
    )

    from .classad import Ad
    from .sources import SourcePolicy

__all__ = [
    "INSIDE_DIR",
    "LAUNCHER_SCRIPT",
    "LAUNCHER_SCRIPT_REVEALED",
    "LaunchPlan",
    "NodeSettings",
    "PathInfo",
    "Paths",
    "Refusal",
    "plan",
]

#: Where the wrapper puts condor_chirp for a job whose starter runs its I/O proxy (``LaunchPlan.tools_dir``;
#: first on PATH inside, as GlideinWMS puts its own condor_chirp on the job's PATH).
TOOLS_SUBDIR = ".gs_bin"
#: What HTCondor's starter deletes from the job's environment when it launches the container itself
#: (23.9: the runtime's bind variables, and HOME, which the runtime sets).
STARTER_CONTAINER_DELETES = (
    "HOME",
    "APPTAINER_BIND",
    "APPTAINER_BINDDIR",
    "SINGULARITY_BIND",
    "SINGULARITY_BINDDIR",
)
LAUNCHER_SCRIPT = 'rm -f -- "$0" && exec "$@"'
#: The same, when the wrapper had to make the job directory searchable for the starter (see
#: ``Paths.reveal_sandbox``): ``$1`` is the directory's original mode, restored before the job starts.
LAUNCHER_SCRIPT_REVEALED = 'rm -f -- "$0" && { chmod "$1" /srv 2>/dev/null; shift; exec "$@"; }'
#: A directory every Apptainer/Singularity container has at its root and a host does not: seeing it
#: means the wrapper already runs inside a container (the job cannot create it; an environment
#: variable such as APPTAINER_CONTAINER could come from the job).
CONTAINER_ROOT_MARK = "/.singularity.d"
#: URI schemes of images the runtime fetches; anything else (``instance://`` joins a running container
#: of the same user) is refused.
IMAGE_SCHEMES = ("docker", "oras", "library", "shub", "http", "https")


class PathInfo(Record):
    """What the wrapper found at a host path: exists (links followed), is a dir, real path, is a link."""

    __slots__ = _fields = ("exists", "is_dir", "realpath", "is_link")
    exists: bool
    is_dir: bool
    realpath: str
    is_link: bool

    def __init__(self, exists: bool, is_dir: bool, realpath: str, is_link: bool = False) -> None:
        Record.__init__(self, exists, is_dir, realpath, is_link)


class Paths(Record):
    """Where the job is: the starter's directories and a probe for host paths (the only facts source).

    ``scratch_dir`` is the starter's job sandbox (``_CONDOR_SCRATCH_DIR``): the only directory mounted at
    /srv. ``cwd`` is where the starter started the wrapper (the sandbox, or the job's ``Iwd`` with
    ``should_transfer_files = NO``). ``protected``: directories no bind may hold (the glidein's own
    directory); the execute directory that holds every job's sandbox is always added.

    ``reveal_sandbox``: "" normally; else the job directory's original mode (octal text, e.g. "0700").
    The starter checks the wrapper-error file with credentials that cannot search the job directory (a
    root-started EP whose jobs run as other users: HTCondor 23.9's starter looks with euid ``condor`` and
    the job user's groups into a 0700 directory), so the wrapper adds the group and other search bits
    before it relies on the file, and the container launcher restores this mode before the job starts.
    """

    __slots__ = _fields = (
        "cwd",
        "scratch_dir",
        "job_iwd",
        "error_file",
        "probe",
        "reveal_sandbox",
        "protected",
    )
    cwd: "Optional[str]"
    scratch_dir: "Optional[str]"
    job_iwd: "Optional[str]"
    error_file: "Optional[str]"
    probe: "Callable[[str], PathInfo]"
    reveal_sandbox: str
    protected: "Tuple[str, ...]"

    def __init__(
        self,
        cwd: "Optional[str]",
        scratch_dir: "Optional[str]",
        job_iwd: "Optional[str]",
        error_file: "Optional[str]",
        probe: "Callable[[str], PathInfo]",
        reveal_sandbox: str = "",
        protected: "Tuple[str, ...]" = (),
    ) -> None:
        Record.__init__(self, cwd, scratch_dir, job_iwd, error_file, probe, reveal_sandbox, tuple(protected))


class LaunchPlan(Record):
    """What to exec: argv, environment changes, reasons; ``fallback`` is the bare plan (PREFERRED)."""

    __slots__ = _fields = (
        "use_container",
        "image",
        "argv",
        "env_set",
        "env_unset",
        "reasons",
        "error_file_message",
        "make_dirs",
        "fallback",
        "fetch",
        "tools_dir",
    )
    use_container: bool
    image: "Optional[str]"
    argv: "Tuple[str, ...]"
    env_set: "Dict[str, str]"
    env_unset: "Tuple[str, ...]"
    reasons: "Tuple[str, ...]"
    error_file_message: "Optional[str]"
    make_dirs: "Tuple[str, ...]"
    fallback: "Optional[LaunchPlan]"
    #: The image the wrapper must bring into the glidein's image store before exec (None: nothing).
    fetch: "Optional[ImageFetch]"
    #: The job directory's ``TOOLS_SUBDIR``, where the wrapper installs condor_chirp (None: not wanted).
    tools_dir: "Optional[str]"

    def __init__(
        self,
        use_container: bool,
        image: "Optional[str]",
        argv: "Tuple[str, ...]",
        env_set: "Dict[str, str]",
        env_unset: "Tuple[str, ...]",
        reasons: "Tuple[str, ...]",
        error_file_message: "Optional[str]" = None,
        make_dirs: "Tuple[str, ...]" = (),
        fallback: "Optional[LaunchPlan]" = None,
        fetch: "Optional[ImageFetch]" = None,
        tools_dir: "Optional[str]" = None,
    ) -> None:
        Record.__init__(
            self,
            use_container,
            image,
            argv,
            env_set,
            env_unset,
            reasons,
            error_file_message,
            make_dirs,
            fallback,
            fetch,
            tools_dir,
        )

    def environment(self, environ: "Mapping[str, str]") -> "Dict[str, str]":
        """Return the environment to exec with: ``environ`` minus ``env_unset``, plus ``env_set``."""
        env = dict(environ)
        for name in self.env_unset:
            env.pop(name, None)
        env.update(self.env_set)
        return env


class Refusal(Record):
    """The job cannot run here: one-line message, reasons, and whether HTCondor should requeue it.

    ``job_caused``: requeued, but because of what the job asked for (an image this glidein's source
    policy forbids), not because the node is broken: the wrapper does not count it as a node failure.
    """

    __slots__ = _fields = ("message", "reasons", "requeue", "job_caused")
    message: str
    reasons: "Tuple[str, ...]"
    requeue: bool
    job_caused: bool

    def __init__(
        self, message: str, reasons: "Tuple[str, ...]", requeue: bool, job_caused: bool = False
    ) -> None:
        Record.__init__(self, message, reasons, requeue, job_caused)


class _Fail(Exception):
    def __init__(
        self, message: str, requeue: bool = True, job_caused: bool = False, bare_ok: bool = True
    ) -> None:
        Exception.__init__(self, message)
        self.message = message
        self.requeue = requeue
        self.job_caused = job_caused
        self.bare_ok = bare_ok  # PREFERRED may run the job bare instead


# --- small helpers ---------------------------------------------------------------------------------


_IDENTIFIER_START = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_")
_IDENTIFIER_CHARS = _IDENTIFIER_START | frozenset("0123456789")


def _is_identifier(name: str) -> bool:
    """A POSIX shell variable name (others are dropped from the environment by /bin/sh)."""
    return bool(name) and name[0] in _IDENTIFIER_START and all(char in _IDENTIFIER_CHARS for char in name)


class _Rewriter:
    """Maps outside sandbox paths (and their aliases) to /srv, as GlideinWMS ``singularity_update_path``."""

    def __init__(
        self, outside: "Sequence[str]", real_sandbox: str, probe: "Callable[[str], PathInfo]"
    ) -> None:
        self.outside = tuple(outside)
        self.real_sandbox = real_sandbox
        self.probe = probe

    def lexical(self, text: str) -> "Optional[str]":
        for prefix in self.outside:
            if text == prefix:
                return INSIDE_DIR
            if text.startswith(prefix + "/"):
                return INSIDE_DIR + text[len(prefix) :]
        return None

    def path(self, text: str) -> "Optional[str]":
        found = self.lexical(text)
        if found is not None or not text.startswith("/"):
            return found
        real = self.probe(text).realpath
        if real == self.real_sandbox:
            return INSIDE_DIR
        if real.startswith(self.real_sandbox + "/"):
            return INSIDE_DIR + real[len(self.real_sandbox) :]
        return None


# --- the plan ---------------------------------------------------------------------------------------


def _bare(argv: "Tuple[str, ...]", reasons: "List[str]") -> LaunchPlan:
    return LaunchPlan(False, None, argv, {}, (), tuple(reasons))


def plan(
    job_ad: "Ad",
    machine_ad: "Ad",
    settings: NodeSettings,
    environ: "Mapping[str, str]",
    argv: "Sequence[str]",
    paths: Paths,
) -> "Union[LaunchPlan, Refusal]":
    """Decide how to launch the job (see the module docstring); never performs I/O itself."""
    argv = tuple(argv)
    reasons = list(settings.reasons)
    if not argv:
        return Refusal("the wrapper got no job command (empty argv)", tuple(reasons), True)
    reading = read_job_environment(job_ad)
    if reading.problem is not None:
        message = "{}; write the job's environment as a plain string (submit file: environment = ...)"
        return Refusal(message.format(reading.problem), tuple(reasons), False, True)
    job_env = reading.expanded(paths.scratch_dir)
    # What HTCondor gave the process must be what we read (the differential test shows the reading is
    # exact): a difference means the job reached the starter in a way we do not understand. A variable
    # may only be absent: one the prepare-job hook moved out (host_unsafe), one whose name is no
    # shell identifier (the wrapper's /bin/sh drops those), or one the starter deletes when it launches
    # the container itself (HTCondor launch mode).
    wrong = [
        name
        for name in reading.disagreement(environ, paths.scratch_dir)
        if name in environ
        or not (host_unsafe(name) or not _is_identifier(name) or name in STARTER_CONTAINER_DELETES)
    ]
    if wrong:
        message = (
            "the job's environment as HTCondor set it differs from the job's {} for {}: refused, because "
            "the variables the job set cannot be told from the node's"
        ).format(reading.source or "ad", ", ".join(wrong))
        return Refusal(message, tuple(reasons), False, True)
    startup = sorted(name for name in job_env if shell_unsafe(name) and name in environ)
    if startup:
        message = (
            "the job sets {} in its environment, which makes a shell run code before the job wrapper: set "
            "it inside the job instead (this node has no prepare-job hook to move it into the container)"
        ).format(", ".join(startup))
        return Refusal(message, tuple(reasons), False, True)

    image_attr = _image_attribute(job_ad)
    raw_image = job_ad.get(image_attr)
    job_image: Optional[str] = None
    if isinstance(raw_image, str):
        if raw_image:
            problem = image_syntax_problem(raw_image) or _scheme_problem(raw_image)
            if problem is not None:
                message = "the job's {} is unusable: {}".format(image_attr, problem)
                return Refusal(message, tuple(reasons), False, True)
            job_image = raw_image
    elif raw_image is not None and raw_image is not UNDEFINED:
        message = "the job's {} must be a string, got {}".format(image_attr, describe_value(raw_image))
        return Refusal(message, tuple(reasons), False, True)
    if job_image is None and image_attr == "ContainerImage":
        message = "the job wants a container (universe = container) but names no container_image"
        return Refusal(message, tuple(reasons), False, True)

    if paths.probe(CONTAINER_ROOT_MARK).is_dir:
        if job_image is not None:
            message = (
                'the job names the image "{}" but this wrapper already runs inside a container ({} exists)'
            )
            return Refusal(message.format(job_image, CONTAINER_ROOT_MARK), tuple(reasons), True)
        reasons.append(
            "already inside a container ({} exists): running the job as is, never wrapping twice".format(
                CONTAINER_ROOT_MARK
            )
        )
        return _bare(argv, reasons)

    has_raw = machine_ad.get("HAS_SINGULARITY")
    has = truth(has_raw) if has_raw is not None else None
    runtime = literal_text(machine_ad.get("SINGULARITY_PATH")) or ""
    status = (literal_text(machine_ad.get("GWMS_SINGULARITY_STATUS")) or "").upper()
    if not has or not runtime:
        why = (
            "HAS_SINGULARITY is {}".format("absent" if has_raw is None else describe_value(has_raw))
            if not has
            else "SINGULARITY_PATH is empty"
        )
        if job_image is not None:
            message = 'this slot cannot run container images ({}) but the job names the image "{}"'
            return Refusal(message.format(why, job_image), tuple(reasons), True)
        if status == "REQUIRED":
            # The health probe turns HAS_SINGULARITY false on a REQUIRED slot whose runtime broke; START
            # keeps jobs off it, but one matched a moment before may still arrive: it never runs bare.
            message = "containers are required on this slot (GWMS_SINGULARITY_STATUS is REQUIRED) but {}"
            return Refusal(message.format(why), tuple(reasons), True)
        reasons.append("{}: running the job without a container".format(why))
        return _bare(argv, reasons)

    preferred = status == "PREFERRED" and job_image is None
    if preferred and truth(job_ad.get("SingularityAutoLoad")) is False:
        reasons.append("SingularityAutoLoad is false and GWMS_SINGULARITY_STATUS is PREFERRED: no container")
        return _bare(argv, reasons)

    container_reasons = list(reasons)
    try:
        result = _container(
            job_ad, machine_ad, settings, environ, argv, paths, job_image, job_env, runtime, container_reasons
        )
    except _Fail as fail:
        if preferred and fail.bare_ok:
            reasons.append(
                "{}; GWMS_SINGULARITY_STATUS is PREFERRED and the job names no image: running without a "
                "container".format(fail.message)
            )
            return _bare(argv, reasons)
        return Refusal(fail.message, tuple(container_reasons), fail.requeue, fail.job_caused)
    if preferred:
        fallback = _bare(argv, [*reasons, "fallback if the runtime cannot be executed (PREFERRED)"])
        result = result._replace(fallback=fallback)
    return result


def _image_attribute(job_ad: "Ad") -> str:
    """Which job attribute names the job's image: ``SingularityImage`` when set (it wins), else
    ``ContainerImage`` when the job wants a container (``universe = container``: ``WantContainer`` or
    ``ContainerImage`` set); HTCondor's own launch is kept out of such jobs (gs-prepare-job)."""
    single = job_ad.get("SingularityImage")
    if single is not None and single is not UNDEFINED:
        return "SingularityImage"
    container = job_ad.get("ContainerImage")
    wants = truth(job_ad.get("WantContainer")) is True
    if wants or (container is not None and container is not UNDEFINED):
        return "ContainerImage"
    return "SingularityImage"


def _choose_image(
    job_ad: "Ad", settings: NodeSettings, job_image: "Optional[str]", reasons: "List[str]"
) -> str:
    if job_image is not None:
        reasons.append('image "{}" from the job\'s {}'.format(job_image, _image_attribute(job_ad)))
        return job_image
    required = job_ad.get("REQUIRED_OS")
    if required is not None and required is not UNDEFINED and not isinstance(required, str):
        msg = "the job's REQUIRED_OS must be a string, got {}".format(describe_value(required))
        raise _Fail(msg, requeue=False, job_caused=True)
    try:
        choice = select_image(
            parse_images_dict(settings.images_dict),
            parse_os_list(settings.glidein_required_os),
            parse_os_list(required if isinstance(required, str) else None),
        )
    except ImageError as exc:
        raise _Fail(str(exc)) from exc
    problem = image_syntax_problem(choice.image) or _scheme_problem(choice.image)
    if problem is not None:
        msg = "SINGULARITY_IMAGES_DICT key {}: {}".format(choice.key, problem)
        raise _Fail(msg)
    reasons.append(choice.reason)
    return choice.image


def _container(
    job_ad: "Ad",
    machine_ad: "Ad",
    settings: NodeSettings,
    environ: "Mapping[str, str]",
    argv: "Tuple[str, ...]",
    paths: Paths,
    job_image: "Optional[str]",
    job_env: "Dict[str, str]",
    runtime: str,
    reasons: "List[str]",
) -> LaunchPlan:
    probe = paths.probe
    if not runtime.startswith("/") or has_control(runtime):
        msg = "SINGULARITY_PATH {!r} is not an absolute path".format(runtime)
        raise _Fail(msg)
    sandbox = paths.scratch_dir
    if not sandbox or not sandbox.startswith("/"):
        raise _Fail("no absolute job directory (_CONDOR_SCRATCH_DIR is unset)")
    if "," in sandbox or ":" in sandbox or has_control(sandbox):
        msg = "the job directory {!r} cannot be given to --home (it contains ',' or ':')".format(sandbox)
        raise _Fail(msg)
    real_sandbox = probe(sandbox).realpath or sandbox
    # Other jobs' sandboxes (the execute directory) and the glidein's own directory never enter.
    protected = (*paths.protected, real_sandbox.rsplit("/", 1)[0] or "/")
    workdir = _shared_fs_workdir(paths, real_sandbox, settings, protected, reasons)
    try:
        restrictions = parse_restrictions(settings.image_restrictions or None)
    except ConfigError as exc:
        raise _Fail(str(exc)) from exc
    mount_dir = settings.cvmfs_mount_dir or None

    ref = _choose_image(job_ad, settings, job_image, reasons)
    shipped = _shipped_image(ref, settings)
    problem = None if shipped else check_restrictions(ref, restrictions, mount_dir)
    if problem is not None:
        raise _Fail(problem, job_caused=job_image is not None)
    sources = settings.source_policy()
    _check_source(sources, ref, None, mount_dir, job_image is not None)
    image, image_root, in_cvmfs, fetch = _image_source(
        ref,
        sandbox,
        restrictions,
        sources,
        mount_dir,
        probe,
        job_image is not None,
        shipped,
        settings,
        reasons,
    )

    bind_cvmfs = in_cvmfs or truth(job_ad.get("SingularityBindCVMFS", True)) is not False
    try:
        launch = runtime_options(
            settings, machine_ad, sandbox, workdir, probe, image_root, bind_cvmfs, protected, reasons
        )
    except ConfigError as exc:
        raise _Fail(str(exc)) from exc

    outside = [sandbox]
    for candidate in (real_sandbox, paths.cwd, paths.job_iwd):
        if (
            candidate
            and candidate not in outside
            and (probe(candidate).realpath or candidate) == real_sandbox
        ):
            outside.append(candidate)
    rewriter = _Rewriter(outside, real_sandbox, probe)
    job_argv = []
    for arg in argv:
        new = rewriter.path(arg)
        job_argv.append(arg if new is None else new)
    if job_argv != list(argv):
        reasons.append("job arguments under the job directory rewritten to {}".format(INSIDE_DIR))
    if job_argv[0].startswith("-"):
        msg = "the job executable {!r} starts with '-'".format(job_argv[0])
        raise _Fail(msg, requeue=False, job_caused=True)

    tail: List[str] = [image]
    message: Optional[str] = None
    inner_error = rewriter.lexical(paths.error_file) if paths.error_file else None
    if inner_error is not None and inner_error != INSIDE_DIR:
        if paths.reveal_sandbox:
            tail.extend(("/bin/sh", "-c", LAUNCHER_SCRIPT_REVEALED, inner_error, paths.reveal_sandbox))
            reasons.append(
                "the starter cannot see into the job directory: it is made searchable until the job starts"
            )
        else:
            tail.extend(("/bin/sh", "-c", LAUNCHER_SCRIPT, inner_error))
        shown = image if image == ref else "{} -> {}".format(ref, image)
        message = (
            'the container runtime {} failed before the job started (image "{}"); its message is in the '
            "job's stderr".format(runtime, shown)
        )
    else:
        reasons.append(
            "_CONDOR_WRAPPER_ERROR_FILE {} is not in the job directory: a runtime failure will look like "
            "a job failure".format(paths.error_file or "is unset and")
        )
    tail.extend(job_argv)

    env_set, env_unset = launch_environment(
        environ,
        job_env,
        launch.policy,
        launch.cleanenv,
        settings,
        rewriter,
        launch.gpu,
        reasons,
    )
    tools_dir = _chirp_inside(job_ad, environ, sandbox, rewriter, env_set, reasons)
    return LaunchPlan(
        True,
        image,
        (runtime, *launch.options, *tail),
        env_set,
        env_unset,
        tuple(reasons),
        message,
        (sandbox + "/" + TMP_SUBDIR,),
        fetch=fetch,
        tools_dir=tools_dir,
    )


def _chirp_inside(
    job_ad: "Ad",
    environ: "Mapping[str, str]",
    sandbox: str,
    rewriter: "_Rewriter",
    env_set: "Dict[str, str]",
    reasons: "List[str]",
) -> "Optional[str]":
    """condor_chirp inside, for a job whose starter runs its I/O proxy (``want_io_proxy``): the directory
    the wrapper fills (``TOOLS_SUBDIR``), first on PATH inside, and the proxy's config file named there."""
    config = environ.get("_CONDOR_CHIRP_CONFIG", "")
    if truth(job_ad.get("WantIOProxy")) is not True or not config:
        return None
    inside_config = rewriter.path(config) if config.startswith("/") else None
    if inside_config is None:
        reasons.append(
            "no condor_chirp inside: the I/O proxy's config {} is outside the job directory".format(config)
        )
        return None
    inside_tools = INSIDE_DIR + "/" + TOOLS_SUBDIR
    for prefix in ("APPTAINERENV_", "SINGULARITYENV_"):
        env_set[prefix + "_CONDOR_CHIRP_CONFIG"] = inside_config
        job_prepend = env_set.get(prefix + "PREPEND_PATH")
        env_set[prefix + "PREPEND_PATH"] = inside_tools + (":" + job_prepend if job_prepend else "")
    reasons.append(
        "want_io_proxy: condor_chirp (glidein-singularity's) is {}/condor_chirp, first on PATH inside".format(
            inside_tools
        )
    )
    return sandbox + "/" + TOOLS_SUBDIR


def _shared_fs_workdir(
    paths: Paths,
    real_sandbox: str,
    settings: NodeSettings,
    protected: "Tuple[str, ...]",
    reasons: "List[str]",
) -> "Optional[str]":
    """The job's own working directory to bind, when the starter started it outside its sandbox.

    With ``should_transfer_files = NO`` the starter runs the job in its ``Iwd`` on a shared file system.
    Only directories under the admin's ``GS_SHARED_FS_ROOTS`` are bound (at the same path, as the job's
    working directory); never one that holds or is inside the glidein directory or the execute
    directory. Else the job is refused (its own choice: no node penalty).
    """
    probe = paths.probe
    if not paths.cwd:
        return None
    real_cwd = probe(paths.cwd).realpath or paths.cwd
    if is_within(real_cwd, real_sandbox):
        return None
    roots = [normalize_path(item.strip()) for item in settings.shared_fs_roots.split(",") if item.strip()]
    root = next((item for item in roots if item.startswith("/") and is_within(real_cwd, item)), None)
    clash = next((d for d in protected if is_within(d, real_cwd) or is_within(real_cwd, d)), None)
    if root is None or clash is not None or "," in real_cwd or ":" in real_cwd or has_control(real_cwd):
        why = (
            "it holds or is inside {}, which no job may see".format(clash)
            if clash is not None and root is not None
            else "this node runs jobs only in their scratch directory (GS_SHARED_FS_ROOTS does not list it)"
        )
        msg = (
            "the job runs in {} instead of its scratch directory (should_transfer_files = NO): {}; submit "
            "with should_transfer_files = YES".format(real_cwd, why)
        )
        raise _Fail(msg, job_caused=True, bare_ok=False)
    reasons.append(
        "the job runs in its shared-file-system directory {} (under GS_SHARED_FS_ROOTS {}): bound at the "
        "same path".format(real_cwd, root)
    )
    return real_cwd


def _scheme_problem(ref: str) -> "Optional[str]":
    scheme, sep, _ = ref.partition("://")
    if not sep or not scheme or scheme.lower() == "file" or scheme.lower() in IMAGE_SCHEMES:
        return None
    return 'image "{}" has the URI scheme "{}"; images are local paths or {} URIs'.format(
        ref, scheme, ", ".join(IMAGE_SCHEMES)
    )


def _check_source(
    sources: "Optional[SourcePolicy]",
    ref: str,
    real: "Optional[str]",
    mount_dir: "Optional[str]",
    job_named: bool,
) -> None:
    """Raise _Fail when the image-source policy refuses the image (requeued: other glideins may allow it)."""
    if sources is None:
        return
    problem = sources.problem(ref, real, mount_dir)
    if problem is not None:
        where = "the job's SingularityImage" if job_named else "the SINGULARITY_IMAGES_DICT image"
        msg = "{} is not an allowed image source: {}".format(where, problem)
        raise _Fail(msg, job_caused=job_named, bare_ok=False)


def _missing_image(
    ref: str,
    local: str,
    in_cvmfs: bool,
    mount_dir: "Optional[str]",
    probe: "Callable[[str], PathInfo]",
    job_named: bool,
) -> None:
    """Raise _Fail for an image path that does not exist: the node's fault or the job's.

    A dictionary or default image that is missing, any image in a CVMFS repository whose root cannot
    be reached (CVMFS itself is down), or a link that points to nothing (the node's copy of the image
    is gone: CVMFS images are links into the repository's own store) is the node's problem (requeued
    and counted). A job's own image that is missing where its repository (or the job's sandbox) is fine
    is the job's mistake: refused without a node penalty, and held by the prepare-job hook.
    """
    if probe(local).is_link:
        msg = 'Unable to access the image "{}": {} is a link to something that is not on this node'
        raise _Fail(msg.format(ref, local))
    if in_cvmfs:
        root = cvmfs_translate("/cvmfs", mount_dir).rstrip("/")
        repository = root + "/" + local[len(root) + 1 :].split("/", 1)[0]
        if not probe(repository).is_dir:
            msg = 'Unable to access the image "{}": the CVMFS repository {} is not reachable on this node'
            raise _Fail(msg.format(ref, repository))
    if job_named:
        msg = (
            "the job's image \"{}\" does not exist ({} is not on this node{}): check the image's name in the "
            "submit file"
        ).format(ref, local, ", while its CVMFS repository is" if in_cvmfs else "")
        raise _Fail(msg, job_caused=True, bare_ok=False)
    msg = 'Unable to access the image "{}" ({} does not exist on this node)'.format(ref, local)
    raise _Fail(msg)


def _resolve_image(
    ref: str,
    sandbox: str,
    restrictions: "FrozenSet[str]",
    sources: "Optional[SourcePolicy]",
    mount_dir: "Optional[str]",
    probe: "Callable[[str], PathInfo]",
    job_named: bool,
    reasons: "List[str]",
    shipped: bool = False,
) -> "Tuple[str, Optional[str], bool]":
    """Return (image argument, directory image root or None, whether it is in CVMFS)."""
    if is_remote_image(ref):
        return ref, None, False
    local = local_image_path(ref)
    relative = not local.startswith("/")
    if relative:
        local = sandbox + "/" + local
    local = cvmfs_translate(normalize_path(local), mount_dir)
    info = probe(local)
    in_cvmfs = is_cvmfs_path(local, mount_dir)
    if not info.exists:
        _missing_image(ref, local, in_cvmfs, mount_dir, probe, job_named)
    real = info.realpath or local
    if relative:
        real_sandbox = probe(sandbox).realpath or sandbox
        if real != real_sandbox and not real.startswith(real_sandbox + "/"):
            msg = 'image "{}" is a relative path that leads out of the job directory (to {})'.format(
                ref, real
            )
            raise _Fail(msg, requeue=False, job_caused=True, bare_ok=False)
        if shipped:
            reasons.append('image "{}" shipped with the job: {} (GS_ALLOW_SANDBOX_IMAGES)'.format(ref, real))
    if "cvmfs" in restrictions and not shipped and not is_cvmfs_path(real, mount_dir):
        msg = 'image "{}" resolves to {}, which is not under /cvmfs; SINGULARITY_IMAGE_RESTRICTIONS is "{}"'
        raise _Fail(msg.format(ref, real, ",".join(sorted(restrictions))), job_caused=job_named)
    _check_source(sources, ref, real, mount_dir, job_named)
    image = local
    if in_cvmfs and info.is_dir and real != local:
        image = real
        reasons.append("CVMFS image directory {} pinned to {} for the job's lifetime".format(local, real))
    problem = image_syntax_problem(image)
    if problem is not None:
        raise _Fail(problem)
    return image, (real if info.is_dir else None), in_cvmfs


def _shipped_image(ref: str, settings: NodeSettings) -> bool:
    """A relative image path (shipped with the job) that ``GS_ALLOW_SANDBOX_IMAGES`` lets past ``cvmfs``."""
    if is_remote_image(ref):
        return False
    return not local_image_path(ref).startswith("/") and truth(settings.allow_sandbox_images) is True


def _image_source(
    ref: str,
    sandbox: str,
    restrictions: "FrozenSet[str]",
    sources: "Optional[SourcePolicy]",
    mount_dir: "Optional[str]",
    probe: "Callable[[str], PathInfo]",
    job_named: bool,
    shipped: bool,
    settings: NodeSettings,
    reasons: "List[str]",
) -> "Tuple[str, Optional[str], bool, Optional[ImageFetch]]":
    """The image step: a local path as it is; a remote one from CVMFS-unpacked, the store, or the runtime.

    Returns (image argument, directory image root or None, whether it is in CVMFS, the fetch the wrapper
    performs before exec or None). The only place remote images meet ``store.locate``.
    """
    if not is_remote_image(ref):
        image, root, in_cvmfs = _resolve_image(
            ref, sandbox, restrictions, sources, mount_dir, probe, job_named, reasons, shipped
        )
        return image, root, in_cvmfs, None
    located = locate(
        ref,
        settings.unpacked_roots,
        settings.image_store,
        settings.local_tmp_dir,
        settings.insecure_registries,
        settings.image_store_max_mb,
        settings.image_fetch_timeout,
        lambda path: probe(path).exists,
        lambda path: probe(cvmfs_translate(path, mount_dir)).is_dir,
    )
    reasons.append(located.reason)
    if located.local is not None:
        # the reference passed the source policy as written; the CVMFS copy is checked as a local path
        image, root, in_cvmfs = _resolve_image(
            located.local, sandbox, restrictions, None, mount_dir, probe, job_named, reasons
        )
        return image, root, in_cvmfs, None
    if located.fetch is None:
        return ref, None, False, None
    return located.fetch.image, (located.fetch.image if located.cached else None), False, located.fetch
