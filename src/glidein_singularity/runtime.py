"""Find the container runtime and validate it with one container (adapter + pure helpers).

Discovery follows GlideinWMS's order (reference §3.1): ``GLIDEIN_SINGULARITY_BINARY_OVERRIDE``, the
``SINGULARITY_BIN`` hint, ``apptainer`` then ``singularity`` on PATH, the HTCondor tarball's apptainer,
``module load singularitypro`` / ``singularity``, the OSG CVMFS binary. Candidates are produced lazily,
each one is asked ``--version``, and the first that passes the validation run wins. A file already
tried under another step (``singularity`` is usually a symlink to ``apptainer``) is not tried again.

The validation run starts ONE container launched exactly like a job: its options and binds come from
``launch_options.runtime_options``, the planner's own builder, with the settings a job reads
(glidein_config, ``settings.NodeSettings``) and a fresh directory as the job directory; only the payload
differs: ``cat /proc/self/uid_map`` instead of the launcher and the job. The first line gives the mode.
If ``--pid`` fails because ``/proc`` cannot be mounted (pilots in
Docker/Kubernetes), the run is retried once without it and PID namespaces are reported unavailable.

Pure helpers (no I/O): ``settings_from``, ``parse_uid_map``, ``parse_version``, ``strip_ansi``,
``is_pid_namespace_failure``, ``validation_argv``, ``first_error_line``.
"""

import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from typing import Callable, Dict, Iterator, List, Mapping, NamedTuple, Optional, Sequence, Set, Tuple

from .classad import Ad
from .errors import ConfigError, RuntimeProbeError
from .grammar import SINGULARITY_BIN_KEYWORDS
from .images import cvmfs_translate
from .launch_env import CLEARED_PATHS
from .launch_options import runtime_options
from .plan import PathInfo
from .settings import NodeSettings

__all__ = [
    "MODES",
    "OSG_SINGULARITY_BINARY_DEFAULT",
    "VALIDATION_PAYLOAD",
    "Candidate",
    "ProcessResult",
    "RuntimeInfo",
    "RuntimeSettings",
    "Validation",
    "check_version",
    "discover",
    "find_runtime",
    "first_error_line",
    "is_pid_namespace_failure",
    "parse_uid_map",
    "parse_version",
    "run_bounded",
    "settings_from",
    "strip_ansi",
    "validate",
    "validation_argv",
]

#: The modes the validation run can find (GlideinWMS ``SINGULARITY_MODE`` values).
MODES = ("unprivileged", "privileged", "fakeroot")
#: The OSG CVMFS runtime when ``OSG_SINGULARITY_BINARY`` is unset (``/cvmfs`` follows CVMFS_MOUNT_DIR).
OSG_SINGULARITY_BINARY_DEFAULT = "/cvmfs/oasis.opensciencegrid.org/mis/singularity/bin/singularity"
#: Host files bound like a job launch, after the configured bind paths (GlideinWMS's setup test).
#: Variables removed from the runtime's environment, like GlideinWMS's default ``clearpaths``.
#: Variables never passed to a runtime process (the plan clears them for a job under ``clearpaths``).
CLEARED_VARIABLES = CLEARED_PATHS
DEFAULT_VERSION_TIMEOUT = 10.0
DEFAULT_VALIDATION_TIMEOUT = 120.0
#: What the validation container runs instead of the launcher and the job: its first line gives the mode.
VALIDATION_PAYLOAD = ("cat", "/proc/self/uid_map")

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")
_VERSION_PREFIX = re.compile(r"^(?:apptainer|singularity(?:-ce|-pro)?)\s+version\s+", re.IGNORECASE)
_PID_FAILURE = re.compile(
    r"mount\s+proc\s*->\s*/proc|can'?t mount proc filesystem|failed to mount proc", re.IGNORECASE
)


class RuntimeSettings(NamedTuple):
    """Everything discovery and validation read, already resolved from glidein_config and env."""

    binary_override: str = ""
    #: ``SINGULARITY_BIN``, blanks collapsed; "" means the keyword OSG.
    singularity_bin: str = ""
    #: Host path of the OSG binary (CVMFS-translated).
    osg_binary: str = OSG_SINGULARITY_BINARY_DEFAULT
    condor_dir: str = ""
    cvmfs_mount_dir: str = ""
    #: The PATH searched for apptainer/singularity.
    path: str = ""
    #: The settings a job launch reads (options, binds, environment policy): the validation run's too.
    launch: NodeSettings = NodeSettings()
    local_tmp_dir: str = ""
    version_timeout: float = DEFAULT_VERSION_TIMEOUT
    validation_timeout: float = DEFAULT_VALIDATION_TIMEOUT


class Candidate(NamedTuple):
    """A runtime binary to try and the discovery step that found it."""

    step: str
    path: str


class ProcessResult(NamedTuple):
    """What a bounded subprocess run returned (``returncode`` None: timed out or could not start)."""

    returncode: Optional[int]
    stdout: str
    stderr: str
    seconds: float
    #: Why it did not run to completion ("" when it did).
    problem: str = ""


class Validation(NamedTuple):
    """The outcome of the validation container run(s)."""

    ok: bool
    mode: str
    pid_namespaces: bool
    #: Seconds spent in container runs (all attempts).
    seconds: float
    #: The argv of the last run.
    argv: Tuple[str, ...]
    #: "" on success, else the first error line.
    error: str
    #: Number of containers started (1, or 2 after the --pid retry).
    runs: int


class RuntimeInfo(NamedTuple):
    """A validated runtime, ready to advertise."""

    path: str
    version: str
    full_version: str
    mode: str
    pid_namespaces: bool
    step: str
    trail: Tuple[str, ...]
    validation: Validation


# --- pure helpers ----------------------------------------------------------------------------------


def _first(config: Mapping[str, str], environ: Mapping[str, str], key: str, env_first: bool = True) -> str:
    order = (environ, config) if env_first else (config, environ)
    for source in order:
        value = (source.get(key) or "").strip()
        if value:
            return value
    return ""


def _timeout(config: Mapping[str, str], key: str, default: float) -> float:
    text = (config.get(key) or "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value > 0:
        msg = "{}={!r} is not valid; expected a positive number of seconds".format(key, text)
        raise ConfigError(msg)
    return value


def settings_from(config: Mapping[str, str], environ: Mapping[str, str]) -> RuntimeSettings:
    """Resolve RuntimeSettings from glidein_config values and the environment (GlideinWMS precedence)."""
    cvmfs_mount_dir = _first(config, environ, "CVMFS_MOUNT_DIR")
    osg_binary = _first(config, environ, "OSG_SINGULARITY_BINARY", env_first=False)
    return RuntimeSettings(
        binary_override=_first(config, environ, "GLIDEIN_SINGULARITY_BINARY_OVERRIDE"),
        singularity_bin=" ".join((config.get("SINGULARITY_BIN") or "").split()),
        osg_binary=cvmfs_translate(osg_binary or OSG_SINGULARITY_BINARY_DEFAULT, cvmfs_mount_dir),
        condor_dir=(config.get("CONDOR_DIR") or "").strip(),
        cvmfs_mount_dir=cvmfs_mount_dir,
        path=environ.get("PATH") or os.defpath,
        launch=NodeSettings.from_sources(None, config),
        local_tmp_dir=(config.get("GLIDEIN_LOCAL_TMP_DIR") or "").strip(),
        version_timeout=DEFAULT_VERSION_TIMEOUT,
        validation_timeout=_timeout(config, "GS_VALIDATION_TIMEOUT", DEFAULT_VALIDATION_TIMEOUT),
    )


def strip_ansi(text: str) -> str:
    """Remove ANSI escape sequences (colours) from ``text``."""
    return _ANSI.sub("", text)


def parse_uid_map(text: str) -> str:
    """Return the mode from the first line of ``/proc/self/uid_map`` as printed in the container.

    ``<inside> <outside> <count>``: inside != 0 is ``unprivileged`` (user namespace), ``0 0`` is
    ``privileged`` (setuid), ``0 <n>`` is ``fakeroot``. ANSI codes and leading blanks are ignored.
    Raises RuntimeProbeError quoting the text when it is not a uid_map line.
    """
    lines = strip_ansi(text).strip().splitlines()
    first = lines[0].strip() if lines else ""
    fields = first.split()
    if len(fields) < 2 or not all(field.isdigit() for field in fields[:3]):
        msg = (
            "unexpected validation output {!r}: expected a /proc/self/uid_map line like '1000 1000 1'".format(
                first[:120]
            )
        )
        raise RuntimeProbeError(msg)
    inside, outside = int(fields[0]), int(fields[1])
    if inside != 0:
        return "unprivileged"
    return "privileged" if outside == 0 else "fakeroot"


def parse_version(output: str) -> Tuple[str, str]:
    """Return (version, full version) from ``<bin> --version`` or ``<bin> version`` output.

    The full version is the first non-blank line (``apptainer version 1.4.5``), the version that line
    without its ``apptainer version`` / ``singularity version`` prefix. Empty output gives ("", "").
    """
    for line in strip_ansi(output).splitlines():
        line = line.strip()
        if line:
            return _VERSION_PREFIX.sub("", line), line
    return "", ""


def is_pid_namespace_failure(stderr: str) -> bool:
    """True when the runtime failed because it could not mount /proc for a new PID namespace."""
    return bool(_PID_FAILURE.search(strip_ansi(stderr)))


def first_error_line(result: ProcessResult) -> str:
    """The most telling line of a failed run: a FATAL/ERROR line, else the first non-blank one."""
    if result.problem:
        return result.problem
    lines = [line.strip() for line in strip_ansi(result.stderr + "\n" + result.stdout).splitlines()]
    lines = [line for line in lines if line]
    for line in lines:
        if line.upper().startswith(("FATAL", "ERROR")):
            return line[:300]
    if lines:
        return lines[0][:300]
    return "exit code {} and no output".format(result.returncode)


def validation_argv(
    binary: str,
    image: str,
    settings: RuntimeSettings,
    home_dir: str,
    pid: bool,
    probe: Callable[[str], PathInfo],
) -> List[str]:
    """The validation command: a job launch (``launch_options.runtime_options``) in ``home_dir``, with
    ``VALIDATION_PAYLOAD`` as its payload; ``pid`` False as on a node whose ``GS_PID_NAMESPACES`` is
    false. Raises ConfigError when ``GLIDEIN_SINGULARITY_OPTS`` cannot be split."""
    facts = Ad({} if pid else {"GS_PID_NAMESPACES": "false"})
    info = probe(image)
    image_root = (info.realpath or image) if info.is_dir else None
    parent = (probe(home_dir).realpath or home_dir).rsplit("/", 1)[0] or "/"
    reasons: List[str] = []
    launch = runtime_options(
        settings.launch, facts, home_dir, None, probe, image_root, True, (parent,), reasons
    )
    return [binary, *launch.options, image, *VALIDATION_PAYLOAD]


# --- processes -------------------------------------------------------------------------------------


def run_bounded(
    argv: Sequence[str],
    timeout: float,
    env: Optional[Mapping[str, str]] = None,
    cwd: Optional[str] = None,
    children: Optional[List[int]] = None,
) -> ProcessResult:
    """Run ``argv`` in its own session with a time limit. Never raises OSError.

    At ``timeout`` the whole process group is killed and its output collected for at most 2 s more: a
    child stuck in uninterruptible I/O (a hung CVMFS or NFS mount) is abandoned rather than waited for.
    ``children``, when given, holds the child's pid while it runs (so an alarm can kill it).
    """
    start = time.monotonic()
    try:
        proc = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=dict(env) if env is not None else None,
            cwd=cwd,
            start_new_session=True,
            universal_newlines=True,
            errors="replace",
        )
    except OSError as exc:
        return ProcessResult(
            None, "", "", time.monotonic() - start, "cannot run: {}".format(exc.strerror or exc)
        )
    if children is not None:
        children.append(proc.pid)
    try:
        out, err = proc.communicate(timeout=max(timeout, 0.01))
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except OSError:
            proc.kill()
        out, err = "", ""
        try:
            out, err = proc.communicate(timeout=2)
        except subprocess.TimeoutExpired:
            pass  # unkillable for now (uninterruptible I/O): abandon it rather than hang
        return ProcessResult(
            None, out or "", err or "", time.monotonic() - start, "timed out after {:g} s".format(timeout)
        )
    finally:
        if children is not None:
            children.remove(proc.pid)
    return ProcessResult(proc.returncode, out, err, time.monotonic() - start)


def _is_executable_file(path: str) -> bool:
    return os.path.isfile(path) and os.access(path, os.X_OK)


def _module_lookup(module: str, environ: Mapping[str, str], timeout: float) -> Tuple[str, str]:
    """Return (path, note): the singularity binary after ``module load <module>``, via ``sh -c``."""
    script = (
        'command -v module >/dev/null 2>&1 || { [ -r "$MODULESHOME/init/sh" ] && . "$MODULESHOME/init/sh"; }'
        " >/dev/null 2>&1; command -v module >/dev/null 2>&1 || exit 3;"
        ' module load "$1" >/dev/null 2>&1 || exit 4;'
        " command -v singularity || command -v apptainer || exit 5"
    )
    result = run_bounded(["/bin/sh", "-c", script, "sh", module], timeout, env=environ)
    notes = {3: "no module command", 4: "module load failed", 5: "loaded, but no singularity on PATH"}
    if result.returncode == 0 and result.stdout.strip():
        return result.stdout.strip().splitlines()[-1], ""
    if result.returncode in notes:
        return "", notes[int(result.returncode)]
    return "", first_error_line(result)


def discover(
    settings: RuntimeSettings,
    environ: Mapping[str, str],
    trail: List[str],
) -> Iterator[Candidate]:
    """Yield runtime candidates in GlideinWMS order, lazily; append skipped steps to ``trail``."""
    override = settings.binary_override
    if override:
        if _is_executable_file(override):
            yield Candidate("GLIDEIN_SINGULARITY_BINARY_OVERRIDE", override)
        else:
            found = shutil.which("singularity", path=override) or shutil.which("apptainer", path=override)
            if found:
                yield Candidate("GLIDEIN_SINGULARITY_BINARY_OVERRIDE", found)
            else:
                trail.append(
                    "GLIDEIN_SINGULARITY_BINARY_OVERRIDE {}: no executable file, nor singularity/apptainer "
                    "in it as a PATH list".format(override)
                )

    hint = settings.singularity_bin or "OSG"
    hint_dir = ""
    if hint == "OSG":
        hint_dir = os.path.dirname(settings.osg_binary)
    elif hint == "CONDOR":
        hint_dir = os.path.join(settings.condor_dir, "usr", "libexec") if settings.condor_dir else ""
    elif hint == "NONE":
        trail.append("SINGULARITY_BIN NONE: legacy value, ignored (it no longer disables containers)")
    elif hint not in SINGULARITY_BIN_KEYWORDS:
        hint_dir = hint
        if not os.path.isdir(hint):
            trail.append(
                "SINGULARITY_BIN {}: not a directory nor one of {} (mis-configuration)".format(
                    hint, ", ".join(SINGULARITY_BIN_KEYWORDS)
                )
            )
            hint_dir = ""
    if hint_dir and os.path.isdir(hint_dir):
        for name in ("apptainer", "singularity"):
            path = os.path.join(hint_dir, name)
            if _is_executable_file(path):
                yield Candidate("SINGULARITY_BIN " + hint, path)
                break

    for name in ("apptainer", "singularity"):
        found = shutil.which(name, path=settings.path)
        if found:
            yield Candidate("PATH " + name, found)
        else:
            trail.append("PATH {}: not found".format(name))

    if settings.condor_dir:
        path = os.path.join(settings.condor_dir, "usr", "libexec", "apptainer")
        if _is_executable_file(path):
            yield Candidate("CONDOR", path)
        else:
            trail.append("CONDOR {}: not found".format(path))

    has_modules = any(
        environ.get(key) for key in ("LMOD_CMD", "MODULESHOME", "BASH_FUNC_module%%", "BASH_FUNC_module()")
    )
    for module in ("singularitypro", "singularity"):
        if not has_modules:
            trail.append("module {}: no module system (LMOD_CMD/MODULESHOME unset)".format(module))
            continue
        found, note = _module_lookup(module, environ, settings.version_timeout)
        if found:
            yield Candidate("module " + module, found)
        else:
            trail.append("module {}: {}".format(module, note))

    if _is_executable_file(settings.osg_binary):
        yield Candidate("OSG", settings.osg_binary)
    else:
        trail.append("OSG {}: not found".format(settings.osg_binary))


def check_version(path: str, timeout: float, env: Optional[Mapping[str, str]] = None) -> Tuple[str, str, str]:
    """Return (version, full version, problem) from ``--version`` (``version`` as fallback)."""
    result = run_bounded([path, "--version"], timeout, env=env)
    version, full = parse_version(result.stdout) if result.returncode == 0 else ("", "")
    if version:
        return version, full, ""
    fallback = run_bounded([path, "version"], timeout, env=env)
    if fallback.returncode == 0:
        version, _ = parse_version(fallback.stdout)
        if version:
            return version, full or version, ""
    return "", "", "version check failed: " + first_error_line(result)


def _launch_env(environ: Mapping[str, str], settings: RuntimeSettings) -> Dict[str, str]:
    env = {key: value for key, value in environ.items() if key not in CLEARED_VARIABLES}
    if settings.local_tmp_dir:
        for kind in ("CACHEDIR", "TMPDIR"):
            if "APPTAINER_" + kind not in env:
                path = os.path.join(
                    settings.local_tmp_dir, "apptainer", "cache" if kind == "CACHEDIR" else "tmp"
                )
                try:
                    os.makedirs(path, exist_ok=True)
                except OSError:
                    continue
                env["APPTAINER_" + kind] = path
                env.setdefault("SINGULARITY_" + kind, path)
    return env


def validate(
    binary: str,
    image: str,
    settings: RuntimeSettings,
    work_dir: str,
    environ: Mapping[str, str],
    runner: Callable[..., ProcessResult] = run_bounded,
    pid_namespaces: bool = True,
) -> Validation:
    """Run the validation container (retrying once without --pid only on the /proc mount failure).
    ``pid_namespaces`` False: the node already advertises ``GS_PID_NAMESPACES = false``, so a job gets no
    --pid and neither does the validation run."""
    from .inputs import make_probe

    env = _launch_env(environ, settings)
    try:
        home = tempfile.mkdtemp(prefix=".gs-validate-", dir=work_dir)
    except OSError as exc:
        error = "cannot create the validation home in {}: {}".format(work_dir, exc.strerror or exc)
        return Validation(False, "", False, 0.0, (), error, 0)
    try:
        pid = pid_namespaces and settings.launch.disable_pid_namespaces.strip() != "1"
        try:
            argv = validation_argv(binary, image, settings, home, pid_namespaces, make_probe())
        except ConfigError as exc:
            return Validation(False, "", False, 0.0, (), str(exc), 0)
        result = runner(argv, settings.validation_timeout, env=env, cwd=home)
        seconds, runs = result.seconds, 1
        if pid and result.returncode not in (0, None) and is_pid_namespace_failure(result.stderr):
            pid = False
            argv = validation_argv(binary, image, settings, home, False, make_probe())
            result = runner(argv, settings.validation_timeout, env=env, cwd=home)
            seconds, runs = seconds + result.seconds, 2
    finally:
        shutil.rmtree(home, ignore_errors=True)
    if result.returncode != 0:
        return Validation(False, "", pid, seconds, tuple(argv), first_error_line(result), runs)
    try:
        mode = parse_uid_map(result.stdout)
    except RuntimeProbeError as exc:
        return Validation(False, "", pid, seconds, tuple(argv), str(exc), runs)
    return Validation(True, mode, pid, seconds, tuple(argv), "", runs)


def find_runtime(
    settings: RuntimeSettings,
    image: str,
    work_dir: str,
    environ: Mapping[str, str],
) -> RuntimeInfo:
    """Return the first candidate that passes the version check and the validation run.

    Raises RuntimeProbeError listing every step tried (the trail) when none works.
    """
    trail: List[str] = []
    tried: Set[str] = set()
    env = {key: value for key, value in environ.items() if key not in CLEARED_VARIABLES}
    for candidate in discover(settings, environ, trail):
        label = "{} {}".format(candidate.step, candidate.path)
        real = os.path.realpath(candidate.path)
        if real in tried:
            trail.append("{}: same file as an earlier candidate".format(label))
            continue
        tried.add(real)
        version, full, problem = check_version(candidate.path, settings.version_timeout, env)
        if problem:
            trail.append("{}: {}".format(label, problem))
            continue
        result = validate(candidate.path, image, settings, work_dir, environ)
        if not result.ok:
            trail.append("{}: version {}; validation failed: {}".format(label, version, result.error))
            continue
        trail.append("{}: version {}; validation ok ({})".format(label, version, result.mode))
        return RuntimeInfo(
            candidate.path,
            version,
            full,
            result.mode,
            result.pid_namespaces,
            candidate.step,
            tuple(trail),
            result,
        )
    msg = "no working container runtime; tried: {}".format("; ".join(trail) or "nothing")
    raise RuntimeProbeError(msg)
