"""The runtime's environment for one launch (pure): what reaches the runtime process on the host and
what is passed inside as ``APPTAINERENV_``/``SINGULARITYENV_``.

``launch_environment`` applies the ``GLIDEIN_CONTAINER_ENV`` policy (GlideinWMS ``singularity_lib.sh``)
with our differences: the job's own ``Environment`` always reaches the job inside; no
``APPTAINER*``/``SINGULARITY*`` variable reaches the runtime (its options come from
``GLIDEIN_SINGULARITY_OPTS`` only); loader and shell start-up variables (``host_unsafe``) never act on
the runtime process on the host; the runtime searches a fixed ``PATH``.
"""

from .grammar import has_control
from .launch_options import INSIDE_DIR
from .settings import NODE_ONLY_VARS

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from typing import Dict, FrozenSet, List, Mapping, Set, Tuple

    from .plan import _Rewriter
    from .settings import NodeSettings

__all__ = [
    "CLEARED_PATHS",
    "GPU_ENV_VARS",
    "INSIDE_ENV_PREFIXES",
    "INSIDE_MARKER",
    "INSIDE_TMP",
    "LOADER_VARS",
    "RUNTIME_PATH",
    "SHELL_VARS",
    "TMP_SUBDIR",
    "host_unsafe",
    "launch_environment",
    "loader_unsafe",
    "runtime_owned",
    "shell_unsafe",
]

#: TMPDIR inside (a sandbox sub-directory: on disk, cleaned with the sandbox, not transferred back).
TMP_SUBDIR = ".gs_tmp"
INSIDE_TMP = INSIDE_DIR + "/" + TMP_SUBDIR
#: Set inside every container we start (for the job's information).
INSIDE_MARKER = "GS_IN_CONTAINER"
NV_LIBS = "/.singularity.d/libs"
RUNTIME_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
GPU_ENV_VARS = (
    "CUDA_VISIBLE_DEVICES",
    "NVIDIA_VISIBLE_DEVICES",
    "GPU_DEVICE_ORDINAL",
    "ROCR_VISIBLE_DEVICES",
    "HIP_VISIBLE_DEVICES",
)
#: Path-valued variables rewritten to their /srv place inside (removed when outside the sandbox).
PATH_VARS = (
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
    "BEARER_TOKEN_FILE",
)
TMP_VARS = ("TMP", "TEMP", "TEMPDIR", "OSG_WN_TMP")
CLEARED_PATHS = ("LD_LIBRARY_PATH", "PYTHONPATH", "LD_PRELOAD")
#: Variables that make the dynamic loader or libc load files (glibc's list of variables it ignores in
#: secure-execution mode, plus every ``LD_*`` and ``MALLOC_*``): see ``loader_unsafe``.
LOADER_PREFIXES = ("LD_", "MALLOC_")
LOADER_VARS = (
    "GCONV_PATH",
    "GETCONF_DIR",
    "GLIBC_TUNABLES",
    "HOSTALIASES",
    "LOCALDOMAIN",
    "LOCPATH",
    "NIS_PATH",
    "NLSPATH",
    "RESOLV_HOST_CONF",
    "RES_OPTIONS",
    "TZDIR",
)
#: Variables that make a shell run code at start-up, before a wrapper's first line: see ``shell_unsafe``.
SHELL_PREFIXES = ("BASH_FUNC_",)
SHELL_VARS = ("BASH_ENV", "ENV", "SHELLOPTS", "BASHOPTS", "PS4", "BASH_XTRACEFD", "CDPATH", "GLOBIGNORE")
#: Apptainer/Singularity configuration variables (``runtime_owned``), and those only passed inside.
RUNTIME_PREFIXES = ("APPTAINER", "SINGULARITY")
INSIDE_ENV_PREFIXES = ("APPTAINERENV_", "SINGULARITYENV_")
#: The starter's own per-job cache directory for the runtime (kept: it is the job's scratch directory).
RUNTIME_CACHE_VARS = ("APPTAINER_CACHEDIR", "SINGULARITY_CACHEDIR")
GWMS_SET = (
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
OSG_SET = (
    "_CHIRP_DELAYED_UPDATE_PREFIX",
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
    "OSG_SINGULARITY_REEXEC",
    "OSG_SITE_NAME",
    "OSGVO_PROJECT_NAME",
    "OSGVO_SUBMITTER",
    "OSG_WN_TMP",
    "POSIXSTASHCACHE",
    "STASHCACHE",
    "STASHCACHE_WRITABLE",
    "TZ",
    "X509_USER_CERT",
    "X509_USER_KEY",
    "X509_USER_PROXY",
)


def loader_unsafe(name: str) -> bool:
    """Whether ``name`` makes the dynamic loader or libc load or run files (glibc's "unsecure" list).

    Such a variable never reaches the runtime process on the host, whoever set it; the job's own value
    reaches the job inside the container.
    """
    return name.startswith(LOADER_PREFIXES) or name in LOADER_VARS


def shell_unsafe(name: str) -> bool:
    """Whether ``name`` makes a POSIX shell or bash run code at start-up (``BASH_ENV``, ``BASH_FUNC_*``)."""
    return name.startswith(SHELL_PREFIXES) or name in SHELL_VARS


def host_unsafe(name: str) -> bool:
    """Whether a job's ``name`` would act on our own programs on the host before any of our code runs.

    The prepare-job hook moves such variables out of the environment the starter gives the job wrapper
    (they still reach the job inside its container); the START term keeps jobs that set them off slots
    without the hook.
    """
    return loader_unsafe(name) or shell_unsafe(name)


def runtime_owned(name: str) -> bool:
    """Whether ``name`` configures Apptainer/Singularity itself (never passed to the runtime from the
    host environment, except the starter's cache directory; ``*ENV_*`` variables only act inside)."""
    return name.startswith(RUNTIME_PREFIXES) and not name.startswith(INSIDE_ENV_PREFIXES)


def _node_preset(name: str, environ: "Mapping[str, str]", job_set: "FrozenSet[str]") -> bool:
    """True when the node (not the job) already set ``APPTAINERENV_name`` or ``SINGULARITYENV_name``."""
    for prefix in ("APPTAINERENV_", "SINGULARITYENV_"):
        if prefix + name in environ and prefix + name not in job_set:
            return True
    return False


def launch_environment(
    environ: "Mapping[str, str]",
    job_env: "Dict[str, str]",
    policy: "FrozenSet[str]",
    cleanenv: bool,
    settings: "NodeSettings",
    rewriter: "_Rewriter",
    gpu_flags: bool,
    reasons: "List[str]",
) -> "Tuple[Dict[str, str], Tuple[str, ...]]":
    env_set: Dict[str, str] = {}
    unset: List[str] = []

    def inside(name: str, value: str) -> None:
        env_set["APPTAINERENV_" + name] = value
        env_set["SINGULARITYENV_" + name] = value

    def remove(name: str) -> None:
        if name in environ and name not in unset:
            unset.append(name)

    # The runtime is configured by its options only: no APPTAINER*/SINGULARITY* variable reaches it,
    # whoever set it (the starter's per-job cache directory excepted), and none the job set reaches
    # even the inside through *ENV_ variables.
    by_job: List[str] = []
    by_node: List[str] = []
    for name in sorted(environ):
        if runtime_owned(name):
            if name in RUNTIME_CACHE_VARS and rewriter.lexical(environ[name]) == INSIDE_DIR:
                continue
            (by_job if name in job_env else by_node).append(name)
        elif name.startswith(INSIDE_ENV_PREFIXES) and name in job_env:
            by_job.append(name)
    for name in by_job + by_node:
        remove(name)
    if by_job:
        reasons.append(
            "removed {} set by the job: jobs may not configure the container runtime".format(
                ", ".join(by_job)
            )
        )
    if by_node:
        reasons.append(
            "removed {} from the runtime's environment: its options come from GLIDEIN_SINGULARITY_OPTS "
            "only".format(", ".join(by_node))
        )
    # The runtime searches PATH on the host (nvidia-smi for --nv): always a fixed one, never a PATH that
    # could be the job's (it would run the job's programs outside the container).
    if environ.get("PATH") != RUNTIME_PATH:
        env_set["PATH"] = RUNTIME_PATH
    # the policy decides (a --cleanenv in GLIDEIN_SINGULARITY_OPTS keeps them from the job, not the runtime)
    clear_paths = bool(policy & {"clearall", "clear"}) or ("clearpaths" in policy and "keepall" not in policy)
    if clear_paths:
        for name in CLEARED_PATHS:
            remove(name)
    # Loader, libc and shell start-up variables act on the runtime process itself: never passed to it.
    # The job's own reach the job inside (below); the node's stay on the host.
    unsafe = sorted(name for name in environ if host_unsafe(name))
    for name in unsafe:
        remove(name)
    if unsafe:
        reasons.append(
            "{} not passed to the runtime on the host{}".format(
                ", ".join(unsafe),
                "; the job's own values are passed into the container" if set(unsafe) & set(job_env) else "",
            )
        )
    for name in NODE_ONLY_VARS:
        if name not in job_env:
            remove(name)  # the wrapper's own settings: they name the glidein's files
    clearlist = [item.strip() for item in settings.container_env_clearlist.split(",") if item.strip()]
    for name in clearlist:
        if name not in job_env:
            remove(name)

    preserved: Set[str] = set()  # names passed explicitly when --cleanenv drops the host environment
    if cleanenv:
        preserved.update(GWMS_SET)
        if policy & {"osgset", "clear"}:
            preserved.update(OSG_SET)
        if policy & {"osgset", "condorset", "clear"}:
            preserved.update(name for name in environ if name.startswith("_CONDOR_"))
        for name in sorted(preserved):
            if name in environ and name not in PATH_VARS and name not in TMP_VARS and name not in clearlist:
                if _node_preset(name, environ, frozenset(job_env)):
                    continue  # the node set the value for inside itself: kept, as GlideinWMS does
                inside(name, environ[name])

    for name in PATH_VARS:
        if name not in environ or name in job_env or (cleanenv and name not in preserved):
            continue
        if not environ[name].startswith("/"):
            inside(name, environ[name])  # empty or relative: the same inside (the job directory is /srv)
            continue
        new = rewriter.path(environ[name])
        if new is None:
            if not cleanenv:
                remove(name)
            reasons.append(
                "{}={} is outside the job directory: not passed into the container".format(
                    name, environ[name]
                )
            )
        else:
            inside(name, new)
    inside("TMPDIR", INSIDE_TMP)
    for name in TMP_VARS:
        if name in environ and (not cleanenv or name in preserved or name in ("TMP", "TEMP", "TEMPDIR")):
            inside(name, INSIDE_TMP)

    skipped = []
    for name, value in job_env.items():
        if name.startswith(RUNTIME_PREFIXES) or name == "HOME" or "=" in name or has_control(name):
            if name == "HOME":
                skipped.append(name)
            continue
        value = environ.get(name, value)
        new = rewriter.lexical(value)
        inside(name, value if new is None else new)
    if skipped:
        reasons.append("the job's HOME is not passed: the container's HOME is {}".format(INSIDE_DIR))
    for name in GPU_ENV_VARS:
        if name in environ:
            inside(name, environ[name])
    if gpu_flags:
        key = "APPTAINERENV_LD_LIBRARY_PATH"
        if key in env_set:
            parts = env_set[key].split(":")
            if NV_LIBS not in parts:
                value = env_set[key] + ":" + NV_LIBS if env_set[key] else NV_LIBS
                inside("LD_LIBRARY_PATH", value)
                reasons.append("{} appended to the job's LD_LIBRARY_PATH".format(NV_LIBS))
        else:
            reasons.append("the runtime puts {} on LD_LIBRARY_PATH".format(NV_LIBS))
    inside(INSIDE_MARKER, "1")
    return env_set, tuple(unset)
