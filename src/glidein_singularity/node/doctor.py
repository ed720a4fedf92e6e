"""``doctor``: why containers would or would not run on this worker node (stdlib only, python3 >= 3.6).

Two halves, kept apart so the checks are tested as tables:

- ``gather(...) -> Facts`` looks at the node: kernel knobs under ``/proc/sys``, ``unshare`` attempts,
  runtime discovery (``runtime.discover``), one validation container (``runtime.validate``) when an
  image is given, ``apptainer.conf``, the kernel version, CVMFS (in a child killed at its deadline),
  GPU devices, ``nvidia-smi``/``rocm-smi`` and the ``ldconfig -p`` cache;
- ``evaluate(facts) -> [CheckResult]`` is pure: one result per check, ``pass``/``fail``/``skip``, with a
  detail and, on failure, the fix.

A check is *required* when containers cannot run without it: the user-namespace checks (unless the
runtime runs setuid), the runtime, the test container, and CVMFS when a repository was named.
"""

import glob
import os
import platform
import re
import shutil
import tempfile
from typing import List, Mapping, NamedTuple, Optional, Sequence, Tuple

from .. import runtime
from .probes import probe_paths, run_bounded
from .sif_support import sif_support

__all__ = [
    "DEFAULT_CVMFS_REPO",
    "FAIL",
    "PASS",
    "SKIP",
    "CheckResult",
    "Facts",
    "Probe",
    "check_container",
    "check_cvmfs",
    "check_gpu_amd",
    "check_gpu_nvidia",
    "check_image_store",
    "check_ipc",
    "check_overlay",
    "check_pid",
    "check_runtime",
    "check_sif",
    "check_unshare_user",
    "check_userns_apparmor",
    "check_userns_clone",
    "check_userns_max",
    "evaluate",
    "gather",
    "parse_kernel_version",
]

PASS, FAIL, SKIP = "pass", "fail", "skip"
#: The repository probed when none is named (it also holds the OSG runtime).
DEFAULT_CVMFS_REPO = "oasis.opensciencegrid.org"
NVIDIA_LIBS = ("libcuda.so.1", "libnvidia-ml.so.1")


class CheckResult(NamedTuple):
    """One line of the report; ``hint`` is the fix ("" unless the check failed)."""

    name: str
    status: str
    detail: str
    hint: str
    required: bool


class Probe(NamedTuple):
    """An attempt (``unshare ...``): did it work, and the first error line when not."""

    ok: bool
    error: str


class Facts(NamedTuple):
    """What ``gather`` saw; None means "not present" or "not tried"."""

    euid: int
    max_user_namespaces: Optional[int]
    userns_clone: Optional[int]
    apparmor_restrict: Optional[int]
    #: An AppArmor profile for the runtime ("" none).
    apparmor_profile: str
    unshare_user: Optional[Probe]
    unshare_pid: Optional[Probe]
    unshare_ipc: Optional[Probe]
    runtime_path: str
    runtime_version: str
    #: Why no runtime was found (the discovery trail) when ``runtime_path`` is "".
    runtime_problem: str
    image: str
    validation: Optional[runtime.Validation]
    #: The apptainer.conf read ("" none found) and its overlay/underlay values ("" unset).
    apptainer_conf: str
    enable_overlay: str
    enable_underlay: str
    kernel: Tuple[int, int]
    fuse_overlayfs: str
    cvmfs_root: str
    cvmfs_root_exists: bool
    cvmfs_repo: str
    cvmfs_repo_given: bool
    #: probe_paths' word for the repository ("" not probed).
    cvmfs_result: str
    nvidia_smi: str
    nvidia_libs: Tuple[str, ...]
    nvidia_devices: Tuple[str, ...]
    rocm_smi: str
    kfd: bool
    #: The image store checked (``--image-store``; "" not checked), why it cannot be used ("" it can),
    #: the free space of its file system in MiB, and the images it holds (count, MiB).
    image_store: str = ""
    image_store_problem: str = ""
    image_store_free_mb: int = 0
    image_store_images: Tuple[int, int] = (0, 0)
    #: The squashfuse Apptainer would mount SIF images with ("" none found), and whether /dev/fuse opens.
    squashfuse: str = ""
    dev_fuse: bool = False


# --- pure checks ----------------------------------------------------------------------------------

_ROOT_NOTE = " (run as root: run doctor as the pilot's user for a meaningful answer)"


def _userns_required(mode: str) -> bool:
    return mode != "privileged"


def check_userns_max(value: Optional[int], mode: str) -> CheckResult:
    """``user.max_user_namespaces`` must be positive (0 disables user namespaces; EL7's default)."""
    name, required = "userns-max", _userns_required(mode)
    if value is None:
        return CheckResult(
            name,
            FAIL,
            "/proc/sys/user/max_user_namespaces does not exist",
            "use a kernel built with user namespaces (CONFIG_USER_NS), "
            "or install the setuid apptainer-suid package",
            required,
        )
    if value > 0:
        return CheckResult(name, PASS, "user.max_user_namespaces = {}".format(value), "", required)
    return CheckResult(
        name,
        FAIL,
        "user.max_user_namespaces = {}".format(value),
        "echo 'user.max_user_namespaces = 15000' > /etc/sysctl.d/90-userns.conf && sysctl --system",
        required,
    )


def check_userns_clone(value: Optional[int], mode: str) -> CheckResult:
    """Debian's ``kernel.unprivileged_userns_clone`` must be 1 where it exists."""
    name, required = "userns-clone", _userns_required(mode)
    if value is None:
        return CheckResult(
            name, SKIP, "kernel.unprivileged_userns_clone does not exist (not a Debian kernel)", "", False
        )
    if value == 1:
        return CheckResult(name, PASS, "kernel.unprivileged_userns_clone = 1", "", required)
    return CheckResult(
        name,
        FAIL,
        "kernel.unprivileged_userns_clone = {}".format(value),
        "echo 'kernel.unprivileged_userns_clone = 1' > /etc/sysctl.d/90-userns.conf && sysctl --system",
        required,
    )


def check_userns_apparmor(value: Optional[int], profile: str, mode: str) -> CheckResult:
    """Ubuntu's AppArmor restriction on user namespaces needs the runtime's own AppArmor profile."""
    name, required = "userns-apparmor", _userns_required(mode)
    if value is None:
        return CheckResult(
            name, SKIP, "kernel.apparmor_restrict_unprivileged_userns does not exist", "", False
        )
    if value == 0:
        return CheckResult(name, PASS, "kernel.apparmor_restrict_unprivileged_userns = 0", "", required)
    if profile:
        detail = "kernel.apparmor_restrict_unprivileged_userns = {}, allowed by the profile {}".format(
            value, profile
        )
        return CheckResult(name, PASS, detail, "", required)
    return CheckResult(
        name,
        FAIL,
        "kernel.apparmor_restrict_unprivileged_userns = {} and no apptainer AppArmor profile".format(value),
        "install apptainer >= 1.3.4 from its packages (they ship /etc/apparmor.d/apptainer), "
        "or sysctl -w kernel.apparmor_restrict_unprivileged_userns=0",
        required,
    )


def check_unshare_user(probe: Optional[Probe], mode: str, euid: int) -> CheckResult:
    """An actual ``unshare --user --map-root-user true``: can this user create a user namespace?"""
    name, required = "userns-unshare", _userns_required(mode)
    note = _ROOT_NOTE if euid == 0 else ""
    if probe is None:
        return CheckResult(name, SKIP, "unshare is not installed (util-linux)", "", False)
    if probe.ok:
        return CheckResult(name, PASS, "unshare --user --map-root-user works" + note, "", required)
    return CheckResult(
        name,
        FAIL,
        "unshare --user --map-root-user failed: {}{}".format(probe.error, note),
        "unprivileged user namespaces are blocked: fix the userns-* knobs above; inside a container, "
        "its seccomp profile must allow unshare (e.g. docker --security-opt seccomp=unconfined)",
        required,
    )


def check_runtime(path: str, version: str, problem: str) -> CheckResult:
    """A runtime was found (the GlideinWMS discovery order) and answers ``--version``."""
    if path:
        return CheckResult("runtime", PASS, "{} (version {})".format(path, version), "", True)
    return CheckResult(
        "runtime",
        FAIL,
        problem,
        "install apptainer (dnf install apptainer, or apt install apptainer), "
        "or give its path with --runtime or GLIDEIN_SINGULARITY_BINARY_OVERRIDE",
        True,
    )


_USERNS_ERROR = re.compile(r"user namespace|setgroups|mount namespace requires privileges", re.IGNORECASE)


def check_container(validation: Optional[runtime.Validation], image: str, runtime_path: str) -> CheckResult:
    """One container started like a job; its uid_map gives the mode (unprivileged/privileged/fakeroot)."""
    name = "container"
    if not runtime_path:
        return CheckResult(name, SKIP, "no runtime to start a container with", "", False)
    if validation is None:
        return CheckResult(name, SKIP, "no --image given: no container started, mode unknown", "", False)
    if validation.ok:
        detail = "{} started a container from {}: {} mode (uid_map)".format(
            runtime_path, image, validation.mode
        )
        return CheckResult(name, PASS, detail, "", True)
    if _USERNS_ERROR.search(validation.error):
        hint = "the runtime cannot create user namespaces: fix the failing userns-* checks"
    else:
        hint = "run {} -d exec {} true to see why the container does not start".format(runtime_path, image)
    return CheckResult(name, FAIL, "{}: {}".format(image, validation.error), hint, True)


_PID_HINT = (
    "PID namespaces cannot mount /proc here (usual inside Docker/Kubernetes): set "
    "SINGULARITY_DISABLE_PID_NAMESPACES=1 for the glidein, or run the pilot's container with /proc unmasked"
)
_IPC_HINT = (
    "IPC namespaces are not allowed: the seccomp/AppArmor policy around the pilot must allow "
    "unshare(CLONE_NEWIPC)"
)


def check_pid(validation: Optional[runtime.Validation], probe: Optional[Probe]) -> CheckResult:
    """A PID namespace (``--pid``): from the test container when there is one, else ``unshare --pid``."""
    if validation is not None and validation.ok:
        if validation.pid_namespaces:
            return CheckResult("pid-namespace", PASS, "the container ran with --pid", "", False)
        return CheckResult(
            "pid-namespace", FAIL, "the container failed with --pid and ran without it", _PID_HINT, False
        )
    if probe is None:
        return CheckResult("pid-namespace", SKIP, "no test container and no unshare", "", False)
    if probe.ok:
        return CheckResult("pid-namespace", PASS, "unshare --user --pid --mount-proc works", "", False)
    return CheckResult(
        "pid-namespace", FAIL, "unshare --user --pid --mount-proc failed: " + probe.error, _PID_HINT, False
    )


def check_ipc(validation: Optional[runtime.Validation], probe: Optional[Probe]) -> CheckResult:
    """An IPC namespace (``--ipc``): from the test container when there is one, else ``unshare --ipc``."""
    if validation is not None and validation.ok:
        return CheckResult("ipc-namespace", PASS, "the container ran with --ipc", "", False)
    if probe is None:
        return CheckResult("ipc-namespace", SKIP, "no test container and no unshare", "", False)
    if probe.ok:
        return CheckResult("ipc-namespace", PASS, "unshare --user --ipc works", "", False)
    return CheckResult("ipc-namespace", FAIL, "unshare --user --ipc failed: " + probe.error, _IPC_HINT, False)


def check_overlay(
    conf: str,
    enable_overlay: str,
    enable_underlay: str,
    kernel: Tuple[int, int],
    fuse_overlayfs: str,
    mode: str,
) -> CheckResult:
    """Overlay or underlay, so binds to paths missing in the image work (GlideinWMS binds several)."""
    overlay_value = enable_overlay.lower() or "try"
    underlay_value = enable_underlay.lower() or "yes"
    where = conf or "apptainer.conf not found, defaults assumed"
    if overlay_value == "no":
        overlay = "disabled"
    elif mode == "privileged":
        overlay = "kernel overlayfs (setuid)"
    elif kernel >= (5, 11):
        overlay = "unprivileged kernel overlayfs (kernel {}.{})".format(*kernel)
    elif fuse_overlayfs:
        overlay = "fuse-overlayfs " + fuse_overlayfs
    else:
        overlay = "unavailable (kernel {}.{} < 5.11 and no fuse-overlayfs)".format(*kernel)
    underlay = "enabled" if underlay_value == "yes" else "disabled"
    detail = "overlay: {}; underlay: {} ({})".format(overlay, underlay, where)
    if underlay == "enabled" or not overlay.startswith(("disabled", "unavailable")):
        return CheckResult("overlay", PASS, detail, "", False)
    return CheckResult(
        "overlay",
        FAIL,
        detail,
        "set 'enable underlay = yes' in apptainer.conf, or install fuse-overlayfs (or use a kernel >= 5.11) "
        "with 'enable overlay = try'",
        False,
    )


def check_cvmfs(root: str, root_exists: bool, repo: str, result: str, given: bool) -> CheckResult:
    """A CVMFS repository can be listed (within the time limit) under /cvmfs or CVMFS_MOUNT_DIR."""
    path = root.rstrip("/") + "/" + repo
    if not root_exists:
        if given:
            return CheckResult(
                "cvmfs",
                FAIL,
                "{} does not exist".format(root),
                "install and configure the CVMFS client with autofs (cvmfs_config setup), "
                "or set CVMFS_MOUNT_DIR",
                True,
            )
        return CheckResult("cvmfs", SKIP, "{} does not exist: no CVMFS on this node".format(root), "", False)
    if result == "ok":
        return CheckResult("cvmfs", PASS, "{} can be listed".format(path), "", given)
    if result == "missing":
        detail = "{} cannot be listed".format(path)
        hint = (
            "cvmfs_config probe {}: check CVMFS_REPOSITORIES and that autofs runs "
            "(systemctl status autofs)".format(repo)
        )
    else:
        detail = "{}: {}".format(path, result)
        hint = "cvmfs_config probe {}: the mount hangs; check CVMFS_HTTP_PROXY and the cache space".format(
            repo
        )
    return CheckResult("cvmfs", FAIL, detail, hint, given)


def check_gpu_nvidia(smi: str, libs: Sequence[str], devices: Sequence[str]) -> CheckResult:
    """NVIDIA: GPU device nodes and the driver libraries ``--nv`` binds from the ldconfig cache."""
    cards = [device for device in devices if re.match(r"^/dev/nvidia[0-9]+$", device)]
    missing = [lib for lib in NVIDIA_LIBS if lib not in libs]
    if not cards and not smi and not libs:
        return CheckResult("gpu-nvidia", SKIP, "no NVIDIA device, driver library or nvidia-smi", "", False)
    smi_text = "nvidia-smi at " + smi if smi else "no nvidia-smi"
    if cards and not missing:
        detail = "{} device(s) {}; {} in the ldconfig cache; {}".format(
            len(cards), " ".join(cards), " and ".join(NVIDIA_LIBS), smi_text
        )
        return CheckResult("gpu-nvidia", PASS, detail, "", False)
    if not cards:
        return CheckResult(
            "gpu-nvidia",
            FAIL,
            "driver pieces present ({}) but no /dev/nvidia[0-9]* device".format(smi_text),
            "load the driver (nvidia-modprobe, or modprobe nvidia nvidia_uvm) and check that the pilot's "
            "cgroup or container exposes /dev/nvidia*",
            False,
        )
    return CheckResult(
        "gpu-nvidia",
        FAIL,
        "{} device(s) but {} not in the ldconfig cache".format(len(cards), " and ".join(missing)),
        "install the NVIDIA driver's user-space libraries and run ldconfig: apptainer --nv binds "
        "libcuda.so.1 and libnvidia-ml.so.1 from the ldconfig cache",
        False,
    )


def check_gpu_amd(rocm_smi: str, kfd: bool) -> CheckResult:
    """AMD: ``/dev/kfd`` (what ``--rocm`` binds with ``/dev/dri``)."""
    if not kfd and not rocm_smi:
        return CheckResult("gpu-amd", SKIP, "no /dev/kfd and no rocm-smi", "", False)
    if kfd:
        detail = "/dev/kfd present; " + ("rocm-smi at " + rocm_smi if rocm_smi else "no rocm-smi")
        return CheckResult("gpu-amd", PASS, detail, "", False)
    return CheckResult(
        "gpu-amd",
        FAIL,
        "rocm-smi at {} but no /dev/kfd".format(rocm_smi),
        "load the amdgpu driver (modprobe amdgpu) and give the pilot's user access to /dev/kfd and "
        "/dev/dri (groups render, video)",
        False,
    )


#: Free space below which the image store's disk is reported too small (MiB).
MIN_STORE_FREE_MB = 1024


def check_image_store(path: str, problem: str, free_mb: int, images: Tuple[int, int]) -> CheckResult:
    """The glidein's image store (remote images fetched once per glidein): usable, and room on its disk."""
    name = "image-store"
    if not path:
        return CheckResult(
            name, SKIP, "not checked (give --image-store DIR, the glidein's GS_IMAGE_STORE)", "", False
        )
    if problem:
        hint = "make {} (or its parent) a directory of the pilot's user, mode 0700, not a symlink".format(
            path
        )
        return CheckResult(name, FAIL, problem, hint, False)
    held = "{} image(s), {} MiB".format(*images)
    if free_mb < MIN_STORE_FREE_MB:
        detail = "{}: only {} MiB free on its file system ({})".format(path, free_mb, held)
        hint = "point GS_IMAGE_STORE at a larger disk, or lower GS_IMAGE_STORE_MAX_MB"
        return CheckResult(name, FAIL, detail, hint, False)
    return CheckResult(name, PASS, "{}: usable, {} MiB free ({})".format(path, free_mb, held), "", False)


def check_sif(squashfuse: str, dev_fuse: bool, runtime_path: str) -> CheckResult:
    """SIF images (shipped with jobs, or fetched over http) run unprivileged: mounted with squashfuse and
    /dev/fuse; without squashfuse Apptainer extracts each into a temporary sandbox at every launch
    (works, costs); squashfuse without a usable /dev/fuse fails every .sif launch (Apptainer 1.4 then
    tries the mount, not the extraction)."""
    name = "sif"
    if not runtime_path:
        return CheckResult(name, SKIP, "not checked (no runtime)", "", False)
    if squashfuse and dev_fuse:
        detail = "{} and /dev/fuse: .sif images are mounted".format(squashfuse)
        return CheckResult(name, PASS, detail, "", False)
    if squashfuse:
        detail = "{} but no usable /dev/fuse: .sif images fail to launch".format(squashfuse)
        hint = "give the pilot read-write /dev/fuse, or remove squashfuse (then each .sif is extracted)"
        return CheckResult(name, FAIL, detail, hint, False)
    detail = (
        "no squashfuse: .sif images still run, but Apptainer extracts each into a temporary sandbox at "
        "every launch, which costs time growing with the image's size"
    )
    hint = "install squashfuse (squashfuse_ll) and give the pilot /dev/fuse, or ship sandbox directories"
    return CheckResult(name, FAIL, detail, hint, False)


def _image_store_facts(path: str) -> "Tuple[str, int, Tuple[int, int]]":
    """(problem, free MiB, (images, MiB)) of the store at ``path``, creating nothing."""
    from . import imagestore

    where = path if os.path.lexists(path) else os.path.dirname(path.rstrip("/")) or "/"
    try:
        if where == path:
            imagestore._check_dir(path)
        elif not os.access(where, os.W_OK | os.X_OK):
            return "{} does not exist and its parent {} is not writable".format(path, where), 0, (0, 0)
        usage = shutil.disk_usage(where)
    except (OSError, imagestore.StoreError) as exc:
        return str(exc), 0, (0, 0)
    held = (0, 0)
    if os.path.isdir(os.path.join(path, "images")):
        entries = imagestore.entries(path)
        held = (len(entries), sum(size for _key, size, _used in entries) >> 20)
    return "", int(usage.free >> 20), held


def evaluate(facts: Facts) -> List[CheckResult]:
    """Every check, in report order."""
    validation = facts.validation
    mode = validation.mode if validation is not None and validation.ok else ""
    return [
        check_userns_max(facts.max_user_namespaces, mode),
        check_userns_clone(facts.userns_clone, mode),
        check_userns_apparmor(facts.apparmor_restrict, facts.apparmor_profile, mode),
        check_unshare_user(facts.unshare_user, mode, facts.euid),
        check_runtime(facts.runtime_path, facts.runtime_version, facts.runtime_problem),
        check_container(validation, facts.image, facts.runtime_path),
        check_pid(validation, facts.unshare_pid),
        check_ipc(validation, facts.unshare_ipc),
        check_overlay(
            facts.apptainer_conf,
            facts.enable_overlay,
            facts.enable_underlay,
            facts.kernel,
            facts.fuse_overlayfs,
            mode,
        ),
        check_cvmfs(
            facts.cvmfs_root,
            facts.cvmfs_root_exists,
            facts.cvmfs_repo,
            facts.cvmfs_result,
            facts.cvmfs_repo_given,
        ),
        check_gpu_nvidia(facts.nvidia_smi, facts.nvidia_libs, facts.nvidia_devices),
        check_gpu_amd(facts.rocm_smi, facts.kfd),
        check_image_store(
            facts.image_store, facts.image_store_problem, facts.image_store_free_mb, facts.image_store_images
        ),
        check_sif(facts.squashfuse, facts.dev_fuse, facts.runtime_path),
    ]


def parse_kernel_version(release: str) -> Tuple[int, int]:
    """``(major, minor)`` from ``uname -r`` text like ``5.14.0-362.el9.x86_64`` ((0, 0) if unreadable)."""
    match = re.match(r"(\d+)\.(\d+)", release)
    return (int(match.group(1)), int(match.group(2))) if match else (0, 0)


def parse_conf_value(text: str, key: str) -> str:
    """The value of ``key = value`` in apptainer.conf text (last one wins, comments skipped; "" unset)."""
    value = ""
    for line in text.splitlines():
        name, sep, rest = line.split("#", 1)[0].partition("=")
        if sep and " ".join(name.split()).lower() == key:
            value = rest.strip()
    return value


def parse_ldconfig(text: str, wanted: Sequence[str]) -> Tuple[str, ...]:
    """Which of the ``wanted`` sonames ``ldconfig -p`` lists."""
    names = {line.strip().split(" ", 1)[0] for line in text.splitlines()}
    return tuple(lib for lib in wanted if lib in names)


# --- gathering ------------------------------------------------------------------------------------


def _read_int(path: str) -> Optional[int]:
    try:
        with open(path, encoding="ascii") as handle:
            return int(handle.read().strip())
    except (OSError, ValueError):
        return None


def _attempt(argv: Sequence[str], timeout: float) -> Probe:
    result = run_bounded(argv, timeout)
    if result.returncode == 0:
        return Probe(True, "")
    return Probe(False, runtime.first_error_line(result))


def _find_runtime(explicit: str, environ: Mapping[str, str], timeout: float) -> Tuple[str, str, str]:
    """(path, version, problem): the explicit runtime, else the first discovered one answering --version."""
    trail: List[str] = []
    candidates: List[str] = [explicit] if explicit else []
    if not explicit:
        settings = runtime.settings_from({}, environ)
        candidates = [candidate.path for candidate in runtime.discover(settings, environ, trail)]
    for path in candidates:
        version, _, problem = runtime.check_version(path, timeout, environ)
        if not problem:
            return path, version, ""
        trail.append("{}: {}".format(path, problem))
    return "", "", "no working apptainer or singularity; tried: {}".format("; ".join(trail) or "nothing")


def _apptainer_conf(runtime_path: str) -> str:
    candidates = []
    if runtime_path:
        prefix = os.path.dirname(os.path.dirname(os.path.realpath(runtime_path)))
        candidates.append(
            os.path.join("/etc" if prefix == "/usr" else prefix + "/etc", "apptainer", "apptainer.conf")
        )
    candidates += ["/etc/apptainer/apptainer.conf", "/etc/singularity/singularity.conf"]
    for path in candidates:
        if os.path.isfile(path):
            return path
    return ""


def gather(
    runtime_path: str,
    image: str,
    cvmfs_repo: str,
    timeout: float,
    environ: Mapping[str, str],
    image_store: str = "",
) -> Facts:
    """Look at this node (each child process bounded by ``timeout`` seconds)."""
    unshare = shutil.which("unshare", path=environ.get("PATH") or os.defpath) or ""

    def attempt(*flags: str) -> Optional[Probe]:
        return _attempt([unshare, "--user", "--map-root-user", *flags, "true"], timeout) if unshare else None

    path, version, problem = _find_runtime(runtime_path, environ, timeout)
    validation = None
    if path and image:
        settings = runtime.settings_from({}, environ)._replace(validation_timeout=timeout)
        work = tempfile.mkdtemp(prefix="gs-doctor-")
        try:
            validation = runtime.validate(path, image, settings, work, environ, runner=run_bounded)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    conf = _apptainer_conf(path)
    conf_text = ""
    if conf:
        try:
            with open(conf, encoding="utf-8", errors="replace") as handle:
                conf_text = handle.read()
        except OSError:
            conf = ""
    cvmfs_root = (environ.get("CVMFS_MOUNT_DIR") or "").strip() or "/cvmfs"
    repo = cvmfs_repo or DEFAULT_CVMFS_REPO
    root_exists = probe_paths([("e", cvmfs_root)], timeout)[0] == "ok"
    cvmfs_result = (
        probe_paths([("d", cvmfs_root.rstrip("/") + "/" + repo)], timeout)[0] if root_exists else ""
    )
    ldconfig = shutil.which("ldconfig") or ("/sbin/ldconfig" if os.path.exists("/sbin/ldconfig") else "")
    ldconfig_text = run_bounded([ldconfig, "-p"], timeout).stdout if ldconfig else ""
    search = environ.get("PATH") or os.defpath
    profiles = [
        p for p in ("/etc/apparmor.d/apptainer", "/etc/apparmor.d/singularity-ce") if os.path.exists(p)
    ]
    store = _image_store_facts(image_store) if image_store else ("", 0, (0, 0))
    sif = sif_support(path, search)
    return Facts(
        euid=os.geteuid(),
        max_user_namespaces=_read_int("/proc/sys/user/max_user_namespaces"),
        userns_clone=_read_int("/proc/sys/kernel/unprivileged_userns_clone"),
        apparmor_restrict=_read_int("/proc/sys/kernel/apparmor_restrict_unprivileged_userns"),
        apparmor_profile=profiles[0] if profiles else "",
        unshare_user=attempt(),
        unshare_pid=attempt("--pid", "--fork", "--mount-proc"),
        unshare_ipc=attempt("--ipc"),
        runtime_path=path,
        runtime_version=version,
        runtime_problem=problem,
        image=image,
        validation=validation,
        apptainer_conf=conf,
        enable_overlay=parse_conf_value(conf_text, "enable overlay"),
        enable_underlay=parse_conf_value(conf_text, "enable underlay"),
        kernel=parse_kernel_version(platform.release()),
        fuse_overlayfs=shutil.which("fuse-overlayfs", path=search) or "",
        cvmfs_root=cvmfs_root,
        cvmfs_root_exists=root_exists,
        cvmfs_repo=repo,
        cvmfs_repo_given=bool(cvmfs_repo),
        cvmfs_result=cvmfs_result,
        nvidia_smi=shutil.which("nvidia-smi", path=search) or "",
        nvidia_libs=parse_ldconfig(ldconfig_text, NVIDIA_LIBS),
        nvidia_devices=tuple(sorted(glob.glob("/dev/nvidia*"))),
        rocm_smi=shutil.which("rocm-smi", path=search) or "",
        kfd=os.path.exists("/dev/kfd"),
        image_store=image_store,
        image_store_problem=store[0],
        image_store_free_mb=store[1],
        image_store_images=store[2],
        squashfuse=sif.squashfuse,
        dev_fuse=sif.dev_fuse,
    )
