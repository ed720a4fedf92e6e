"""The container runtime's options and binds for one launch (pure).

``runtime_options`` is the one place that writes ``exec --home ... --bind ...``: the planner calls it for
every job, and the startup script's (and the health probe's, doctor's) validation run calls it too, so
the validation container is launched exactly like a job, only its payload differs (see ``runtime``).
In HTCondor-launch mode the prepare-job hook publishes the options of the same plan
(``node.starter_launch.starter_request``).

Options, in order: ``exec --home <sandbox>:/srv --pwd <workdir or /srv> --contain --ipc``, ``--pid``
(unless ``SINGULARITY_DISABLE_PID_NAMESPACES=1`` or ``GS_PID_NAMESPACES = false``), ``--nv``/``--rocm``
for assigned GPUs, ``--cleanenv`` (policy ``clearall``/``clear``, not twice when
``GLIDEIN_SINGULARITY_OPTS`` has a clearing option), ``GLIDEIN_SINGULARITY_OPTS`` (split like a POSIX
shell), then one ``--bind`` list: the shared-file-system work directory, ``GLIDEIN_SINGULARITY_BINDPATH``,
``..._DEFAULT``, ``DEFAULT_BINDS``, CVMFS and the OpenCL vendors for GPUs; sources that exist, no
duplicate target, nothing that holds a protected directory, and (a directory image without overlay) only
targets present in the image.
"""

from ._record import Record
from .classad import UNDEFINED
from .errors import ConfigError
from .grammar import ENV_POLICY_WORDS, clears_environment, env_policy, has_control, split_list, truth
from .images import cvmfs_translate, normalize_path

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from typing import Callable, FrozenSet, List, Optional, Tuple

    from .classad import Ad
    from .plan import PathInfo
    from .settings import NodeSettings

__all__ = [
    "CLEANENV_OPTIONS",
    "DEFAULT_BINDS",
    "INSIDE_DIR",
    "OPENCL_VENDORS",
    "LaunchOptions",
    "is_within",
    "runtime_options",
    "split_options",
]

#: Where the job directory is inside the container.
INSIDE_DIR = "/srv"
#: Host paths bound when they exist (GlideinWMS's defaults).
DEFAULT_BINDS = (
    "/etc/hosts",
    "/etc/localtime",
    "/hadoop",
    "/ceph",
    "/hdfs",
    "/lizard",
    "/mnt/hadoop",
    "/mnt/hdfs",
)
OPENCL_VENDORS = "/etc/OpenCL/vendors"
#: Options that clear the runtime's environment (an admin's in GLIDEIN_SINGULARITY_OPTS count as ours).
CLEANENV_OPTIONS = ("--cleanenv", "-e", "--containall", "-C")
#: AssignedGPUs values that mean no GPU.
NO_GPU_IDS = ("", "10000", "-1", "na", "none")


class LaunchOptions(Record):
    """The runtime's options (``exec`` to the last ``--bind``), whether they clear the environment, the
    ``GLIDEIN_CONTAINER_ENV`` words, and whether GPU options were added."""

    __slots__ = _fields = ("options", "cleanenv", "policy", "gpu")
    options: "Tuple[str, ...]"
    cleanenv: bool
    policy: "FrozenSet[str]"
    gpu: bool

    def __init__(self, options: "List[str]", cleanenv: bool, policy: "FrozenSet[str]", gpu: bool) -> None:
        Record.__init__(self, tuple(options), cleanenv, policy, gpu)


def split_options(text: str) -> "List[str]":
    """Split ``GLIDEIN_SINGULARITY_OPTS`` like a POSIX shell (shlex only when quotes are present)."""
    if not any(char in text for char in "'\"\\#"):
        return text.split()
    import shlex  # only here: shlex imports re, which costs milliseconds at wrapper start

    try:
        return shlex.split(text)
    except ValueError as exc:
        msg = "GLIDEIN_SINGULARITY_OPTS {!r} cannot be split: {}".format(text, exc)
        raise ConfigError(msg) from exc


def is_within(path: str, directory: str) -> bool:
    """Whether ``path`` is ``directory`` or below it (both absolute and normalised)."""
    return path == directory or path.startswith(directory.rstrip("/") + "/")


def runtime_options(
    settings: "NodeSettings",
    machine_ad: "Ad",
    sandbox: str,
    workdir: "Optional[str]",
    probe: "Callable[[str], PathInfo]",
    image_root: "Optional[str]",
    bind_cvmfs: bool,
    protected: "Tuple[str, ...]",
    reasons: "List[str]",
) -> LaunchOptions:
    """The options of a launch in ``sandbox`` (see the module docstring); ``reasons`` gets a line for
    each choice. Raises ConfigError when ``GLIDEIN_SINGULARITY_OPTS`` cannot be split."""
    options = [
        "exec",
        "--home",
        sandbox + ":" + INSIDE_DIR,
        "--pwd",
        workdir or INSIDE_DIR,
        "--contain",
        "--ipc",
    ]
    if settings.disable_pid_namespaces.strip() == "1":
        reasons.append("no --pid: SINGULARITY_DISABLE_PID_NAMESPACES=1")
    elif truth(machine_ad.get("GS_PID_NAMESPACES", True)) is False:
        reasons.append("no --pid: GS_PID_NAMESPACES is false (PID namespaces do not work on this node)")
    else:
        options.append("--pid")
    gpu_flags, gpu_assigned = _gpu_flags(machine_ad, reasons)
    options.extend(gpu_flags)
    policy, unknown = env_policy(settings.container_env)
    if unknown:
        reasons.append(
            "GLIDEIN_CONTAINER_ENV: unknown {} ignored (expected a comma list of {})".format(
                ", ".join(repr(word) for word in unknown), ", ".join(ENV_POLICY_WORDS)
            )
        )
    admin = split_options(settings.opts)
    admin_cleans = [option for option in admin if option in CLEANENV_OPTIONS]
    cleanenv = clears_environment(policy)
    if cleanenv and not admin_cleans:
        options.append("--cleanenv")
    elif admin_cleans:
        cleanenv = True
        reasons.append(
            "GLIDEIN_SINGULARITY_OPTS clears the environment ({}): the glidein's variables are passed in "
            "as APPTAINERENV_/SINGULARITYENV_".format(" ".join(admin_cleans))
        )
    if admin:
        options.extend(admin)
        reasons.append("GLIDEIN_SINGULARITY_OPTS added: {}".format(" ".join(admin)))
    if not bind_cvmfs:
        reasons.append("no /cvmfs bind: the job set SingularityBindCVMFS = false")
    overlay = truth(machine_ad.get("GS_OVERLAY", False)) is True
    mount_dir = settings.cvmfs_mount_dir or None
    binds = _binds(
        settings, probe, image_root, overlay, bind_cvmfs, gpu_assigned, mount_dir, workdir, protected, reasons
    )
    if binds:
        options.extend(("--bind", ",".join(binds)))
    return LaunchOptions(options, cleanenv, policy, bool(gpu_flags))


def _gpu_flags(machine_ad: "Ad", reasons: "List[str]") -> "Tuple[List[str], bool]":
    assigned = machine_ad.get("AssignedGPUs")
    if isinstance(assigned, tuple):
        ids = [str(item).strip() for item in assigned]
    elif isinstance(assigned, str):
        ids = [item.strip() for item in assigned.replace(" ", ",").split(",")]
    else:
        ids = []
    ids = [item for item in ids if item.lower() not in NO_GPU_IDS]
    if not ids:
        return [], False
    upper = [item.upper() for item in ids]
    nvidia = any(item.startswith(("CUDA", "GPU-", "MIG-")) for item in upper)
    driver = machine_ad.get("GPUs_NvidiaDriverVersion", machine_ad.get("GPUs_NvidiaDriver"))
    nvidia = nvidia or (driver is not None and driver is not UNDEFINED)
    rocm_count = machine_ad.get("GPUs_Rocm")
    amd = any(item.startswith(("ROCM", "AMD", "HIP")) for item in upper) or (
        isinstance(rocm_count, (int, float)) and not isinstance(rocm_count, bool) and rocm_count > 0
    )
    flags = (["--nv"] if nvidia else []) + (["--rocm"] if amd else [])
    if flags:
        reasons.append("{} for the assigned GPUs {}".format(" ".join(flags), ",".join(ids)))
    else:
        reasons.append(
            "GPUs {} are assigned but their vendor is unknown: no --nv/--rocm".format(",".join(ids))
        )
    return flags, True


def _binds(
    settings: "NodeSettings",
    probe: "Callable[[str], PathInfo]",
    image_root: "Optional[str]",
    overlay: bool,
    bind_cvmfs: bool,
    gpu_assigned: bool,
    mount_dir: "Optional[str]",
    workdir: "Optional[str]",
    protected: "Tuple[str, ...]",
    reasons: "List[str]",
) -> "List[str]":
    items = [(workdir, "shared file system")] if workdir else []
    items += [(item, "GLIDEIN_SINGULARITY_BINDPATH") for item in split_list(settings.bindpath)]
    items += [
        (item, "GLIDEIN_SINGULARITY_BINDPATH_DEFAULT") for item in split_list(settings.bindpath_default)
    ]
    items += [(path, "default") for path in DEFAULT_BINDS]
    if bind_cvmfs:
        translated = cvmfs_translate("/cvmfs", mount_dir)
        items.append(("/cvmfs" if translated == "/cvmfs" else translated + ":/cvmfs", "CVMFS"))
    if gpu_assigned:
        items.append((OPENCL_VENDORS, "GPU"))
    result: List[str] = []
    targets: List[str] = []
    for item, origin in items:
        parts = item.split(":")
        source = parts[0]
        target = parts[1] if len(parts) > 1 and parts[1] else source
        if len(parts) > 3 or not source.startswith("/") or not target.startswith("/") or has_control(item):
            reasons.append(
                "bind {!r} from {} dropped: not src[:dst[:opts]] with absolute paths".format(item, origin)
            )
            continue
        source = cvmfs_translate(source, mount_dir) if origin != "CVMFS" else source
        target = normalize_path(target)
        if target in targets:
            if origin not in ("default", "CVMFS", "GPU"):
                reasons.append("bind {} from {} dropped: {} is already bound".format(item, origin, target))
            continue
        info = probe(source)
        if not info.exists:
            if origin not in ("default", "GPU"):
                reasons.append("bind {} from {} dropped: {} does not exist".format(item, origin, source))
            continue
        real_source = info.realpath or source
        hidden = next((d for d in protected if is_within(d, real_source)), None)
        if hidden is not None and origin != "shared file system":
            reasons.append(
                "bind {} from {} dropped: {} holds {}, which no job may see".format(
                    item, origin, source, hidden
                )
            )
            continue
        if image_root is not None and not overlay:
            inside = probe(image_root.rstrip("/") + target)
            if not (inside.exists or inside.is_link) and origin == "shared file system":
                # the job's working directory: without it the job cannot start at all; Apptainer's
                # underlay makes the mount point (as for the starter's own bind of the Iwd)
                reasons.append("bind {} kept although the directory image has no {}".format(item, target))
            elif not (inside.exists or inside.is_link):
                reasons.append(
                    "bind {} dropped: {} is missing in the directory image and overlay is not known to work "
                    "(GS_OVERLAY)".format(item, target)
                )
                continue
        targets.append(target)
        spec = source if source == target and len(parts) < 3 else "{}:{}".format(source, target)
        if len(parts) == 3:
            spec += ":" + parts[2]
        result.append(spec)
    return result
