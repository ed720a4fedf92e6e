"""The startd-cron health probe: re-validate the runtime, images, CVMFS and the black-hole marker.

Run by the startd as cron job ``GS_HEALTH`` (``condor_config.d/70-glidein-singularity-health.config``)::

    gs-health --state-dir DIR [--glidein-config PATH | --node-config PATH] [--timeout SEC]
              [--fs-timeout SEC] [--failure-marker PATH] [--max-failures K] [--failure-hold SEC]
              [--cvmfs-repos LIST] [--image IMAGE]

Each run, within ``--timeout`` seconds in total:

1. reads what the startup script found: ``glidein_config`` in a glidein (``--glidein-config``, else
   ``$GS_GLIDEIN_CONFIG``, else ``glidein_config`` next to the launcher, like the job wrapper), or on a
   plain EP the config.d file ``gs-setup --standalone`` wrote (``--node-config``). When containers are
   not used (``GWMS_SINGULARITY_STATUS`` unset or ``NEVER``, or the startup script advertised
   ``HAS_SINGULARITY`` False) it publishes that and starts nothing;
2. checks that every local/CVMFS image of ``SINGULARITY_IMAGES_DICT`` still exists and that the CVMFS
   repositories (``--cvmfs-repos``, else ``GS_CVMFS_REPOS``, else the repositories of those images)
   can be listed -- in a child ``sh`` killed after ``--fs-timeout``, so a hung autofs/CVMFS mount
   cannot hang the probe;
3. starts ONE validation container (``runtime.validate``: the job-launch options, ``cat
   /proc/self/uid_map``) with the runtime the startup script validated (``SINGULARITY_PATH``; else the
   first one discovery finds), on the first local default image (or ``--image``);
4. reads the black-hole marker the job wrapper keeps (``--failure-marker``, else ``GS_FAILURE_MARKER``
   from glidein_config, never the environment: the setting the wrapper reads, in its order). The wrapper
   writes the number of consecutive node-side launch failures there (one integer; the file is replaced
   at each failure, so its mtime is the time of the last one) and removes the file when a launch gets as
   far as exec'ing the runtime. The probe only reads it.

It prints, in startd-cron format (``Name = ClassAdExpr`` lines)::

    HAS_SINGULARITY = true|false          containers can be used right now
    GS_HEALTHY = true|false               every check passed (true when containers are not used)
    GS_HEALTH_REASON = "..."              what failed, each with its first error line; or what passed
    GS_HEALTH_CHECKED = <epoch>           when this result was computed
    GS_CONSECUTIVE_FAILURES = <int>       pre-start failures counted from the marker

followed by ``- update:true`` when any value other than ``GS_HEALTH_CHECKED`` changed since the last
run, so the collector learns of a broken (or repaired) slot at once.

Black-hole rule: K (``--max-failures``, default 3) counted failures make the slot unhealthy. Once no
new failure has arrived for ``--failure-hold`` seconds (default 600) and the probe's own checks pass,
the probe releases them (it stores the released count in its state directory; the wrapper's file is
never written), so the slot recovers by itself; if the fault is still there, K more failures quarantine
it again.

Guarantees: never two runs at once (``fcntl.flock`` on ``<state-dir>/health.lock``; a second run
prints the last result and exits at once); bounded time (every child is killed at its deadline and an
alarm at ``--timeout`` prints an unhealthy result and exits).

Exit status: 0 whatever the probe finds, 2 usage error. The verdict is in the attributes; the startd
publishes cron output whatever the exit status, so a non-zero status would only add StartLog noise
(with ``STARTD_CRON_LOG_NON_ZERO_EXIT``) and blur "the probe ran" with "the node is healthy".
"""

import argparse
import fcntl
import json
import math
import os
import signal
import sys
import time
from types import FrameType
from typing import Callable, Dict, List, Mapping, NamedTuple, Optional, Sequence, Tuple

from .. import runtime
from ..errors import ConfigError, GlideinSingularityError
from ..glidein_config import read_glidein_config
from ..grammar import truth
from ..images import (
    DEFAULT_OS_LOOKUP,
    cvmfs_translate,
    is_cvmfs_path,
    is_remote_image,
    local_image_path,
    parse_images_dict,
)
from .health_rules import (
    Check,
    HealthFacts,
    Marker,
    Value,
    account_failures,
    cvmfs_repositories,
    evaluate,
    format_cron_output,
    parse_node_config,
    plural,
    verdict_attributes,
)
from .probes import kill_children, probe_paths, run_bounded

__all__ = [
    "DEFAULT_FAILURE_HOLD",
    "DEFAULT_FS_TIMEOUT",
    "DEFAULT_MAX_FAILURES",
    "DEFAULT_TIMEOUT",
    "main",
]

DEFAULT_TIMEOUT = 60.0
DEFAULT_FS_TIMEOUT = 10.0
DEFAULT_MAX_FAILURES = 3
DEFAULT_FAILURE_HOLD = 600.0
_LOCK_FILE = "health.lock"
_STATE_FILE = "health-state.json"


def describe_store(config: Mapping[str, str]) -> str:
    """The image store's state in words ("" when it is off or not created yet)."""
    from ..store import DEFAULT_MAX_MB, store_root
    from . import imagestore

    root = store_root(config.get("GS_IMAGE_STORE", ""), config.get("GLIDEIN_LOCAL_TMP_DIR", ""))
    if root is None or not os.path.lexists(root):
        return ""
    try:
        imagestore._check_dir(root)
        entries = imagestore.entries(root) if os.path.isdir(os.path.join(root, "images")) else []
    except (OSError, imagestore.StoreError) as exc:
        return "image store {} unusable: {}".format(root, exc)
    limit = config.get("GS_IMAGE_STORE_MAX_MB", "").strip()
    return "image store {}: {} ({} MiB of {} MiB)".format(
        root,
        plural(len(entries), "image", "images"),
        sum(size for _key, size, _used in entries) >> 20,
        limit if limit.isdigit() else DEFAULT_MAX_MB,
    )


# --- gathering ------------------------------------------------------------------------------------


class SourcesMissing(ConfigError):
    """Neither a node config nor a glidein_config was given or found next to the probe."""


class Options(NamedTuple):
    """The parsed command line (paths "" when not given)."""

    glidein_config: str
    node_config: str
    #: The launcher's path (argv[0]): ``glidein_config`` next to it is the last resort.
    script: str
    state_dir: str
    timeout: float
    fs_timeout: float
    failure_marker: str
    max_failures: int
    failure_hold: float
    cvmfs_repos: str
    image: str


def read_marker(path: str) -> Marker:
    """Read the wrapper's marker (missing: no failure); raise ConfigError naming it when unusable."""
    try:
        with open(path, encoding="ascii", errors="replace") as handle:
            text = handle.read(64)
            when = os.fstat(handle.fileno()).st_mtime
    except FileNotFoundError:
        return Marker(0, 0.0)
    except OSError as exc:
        msg = "cannot read the failure marker {}: {}".format(path, exc.strerror or exc)
        raise ConfigError(msg) from exc
    text = text.strip()
    if not text.isdigit():
        msg = "failure marker {}: {!r} is not a count of failures (one integer)".format(path, text[:40])
        raise ConfigError(msg)
    return Marker(int(text), when)


def read_sources(options: Options, environ: Mapping[str, str]) -> Dict[str, str]:
    """What the startup script found, from the node config, glidein_config, or nothing (see the docs)."""
    if options.node_config:
        try:
            with open(options.node_config, encoding="utf-8", errors="surrogateescape") as handle:
                return parse_node_config(handle.read())
        except OSError as exc:
            msg = "cannot read the node config {}: {}".format(options.node_config, exc.strerror or exc)
            raise ConfigError(msg) from exc
    path = options.glidein_config or environ.get("GS_GLIDEIN_CONFIG") or ""
    if not path and options.script:
        nearby = os.path.join(os.path.dirname(os.path.abspath(options.script)), "glidein_config")
        path = nearby if os.path.isfile(nearby) else ""
    if not path:
        raise SourcesMissing(
            "cannot find the startup script's results: set GS_GLIDEIN_CONFIG (a glidein's glidein_config) "
            "or GS_NODE_CONFIG (the file gs-setup --standalone wrote) for the health probe"
        )
    return read_glidein_config(path)


def _not_used(config: Mapping[str, str]) -> str:
    status = (config.get("GWMS_SINGULARITY_STATUS") or "").strip().upper()
    has = (config.get("HAS_SINGULARITY") or "").strip()
    if not status:
        return "GWMS_SINGULARITY_STATUS is not set (the startup script disabled containers or did not run)"
    if status in ("NEVER", "DISABLE", "DISABLE_GWMS", "FAIL"):
        return "GWMS_SINGULARITY_STATUS is {}".format(status)
    if has and truth(has) is False:
        return "the startup script found no working runtime (HAS_SINGULARITY is False, status {})".format(
            status
        )
    return ""


def _local_images(config: Mapping[str, str], environ: Mapping[str, str]) -> Tuple[List[str], List[str]]:
    """(host paths of the local/CVMFS images, problems), default-lookup keys first."""
    try:
        images = parse_images_dict(config.get("SINGULARITY_IMAGES_DICT") or "")
    except GlideinSingularityError as exc:
        return [], [str(exc)]
    mount_dir = runtime.settings_from(config, environ).cvmfs_mount_dir
    keys = [key for key in DEFAULT_OS_LOOKUP if images.get(key)]
    keys += [key for key in images if images.get(key) and key not in keys]
    # The startup script publishes the keys it serves (present at start, allowed by the entry): an
    # image that was already missing then is its warning, not an outage that drains the slot.
    served = [key.strip() for key in (config.get("SINGULARITY_OS_LIST") or "").split(",") if key.strip()]
    if served:
        keys = [key for key in keys if key in served]
    paths: List[str] = []
    for key in keys:
        ref = images.get(key) or ""
        if is_remote_image(ref):
            continue
        ref = local_image_path(ref)
        path = cvmfs_translate(ref, mount_dir) if is_cvmfs_path(ref, mount_dir) else ref
        if path not in paths:
            paths.append(path)
    return paths, []


def _runtime_path(
    config: Mapping[str, str], settings: runtime.RuntimeSettings, environ: Mapping[str, str]
) -> str:
    for key in ("SINGULARITY_PATH", "GWMS_SINGULARITY_PATH"):
        value = (config.get(key) or "").strip()
        if value:
            return value
    for candidate in runtime.discover(settings, environ, []):
        return candidate.path
    return ""


def gather(
    options: Options, environ: Mapping[str, str], deadline: float, released: int
) -> Tuple[HealthFacts, int]:
    """Probe everything; return the facts and the released count to store."""
    config: Dict[str, str] = {}
    config_errors: List[str] = []
    try:
        config = read_sources(options, environ)
    except SourcesMissing as exc:
        return HealthFacts("", (str(exc),), None, (), (), 0, 0, False), released
    except GlideinSingularityError as exc:
        config_errors.append(str(exc))
    not_used = "" if config_errors else _not_used(config)
    if not_used:  # no container launches, so the marker cannot grow: nothing to count
        return HealthFacts(not_used, (), None, (), (), 0, 0), released
    marker = Marker(0, 0.0)
    marker_path = options.failure_marker or config.get("GS_FAILURE_MARKER")
    if marker_path:
        try:
            marker = read_marker(marker_path)
        except GlideinSingularityError as exc:
            config_errors.append(str(exc))

    try:
        settings = runtime.settings_from(config, environ)
    except GlideinSingularityError as exc:
        config_errors.append(str(exc))
        settings = runtime.RuntimeSettings(path=environ.get("PATH") or os.defpath)
    images, problems = _local_images(config, environ)
    config_errors.extend(problems)
    repo_text = options.cvmfs_repos or config.get("GS_CVMFS_REPOS") or environ.get("GS_CVMFS_REPOS") or ""
    repo_names = [name.strip() for name in repo_text.split(",") if name.strip()]
    if not repo_names:
        repo_names = cvmfs_repositories(images, settings.cvmfs_mount_dir)
    cvmfs_root = (settings.cvmfs_mount_dir or "/cvmfs").rstrip("/")
    repo_paths = [cvmfs_root + "/" + name for name in repo_names]

    fs_timeout = max(min(options.fs_timeout, deadline - time.monotonic()), 0.1)
    results = probe_paths([("e", path) for path in images] + [("d", path) for path in repo_paths], fs_timeout)
    image_checks = tuple(
        Check("image " + path, word == "ok", "present" if word == "ok" else word)
        for path, word in zip(images, results)
    )
    repo_checks = tuple(
        Check(
            "CVMFS repository " + name,
            word == "ok",
            "reachable" if word == "ok" else ("not reachable at " + path if word == "missing" else word),
        )
        for name, path, word in zip(repo_names, repo_paths, results[len(images) :])
    )

    runtime_check = _check_runtime(options, config, settings, environ, images, image_checks, deadline)
    checks_ok = (
        not config_errors
        and (runtime_check is None or runtime_check.ok)
        and all(check.ok for check in image_checks + repo_checks)
    )
    before = released
    counted, released = account_failures(
        marker, released, time.time(), options.failure_hold, options.max_failures, checks_ok
    )
    newly_released = released - before if released > before and counted == 0 else 0
    facts = HealthFacts(
        "",
        tuple(config_errors),
        runtime_check,
        image_checks,
        repo_checks,
        counted,
        newly_released,
        store=describe_store(config),
    )
    return facts, released


def _check_runtime(
    options: Options,
    config: Mapping[str, str],
    settings: runtime.RuntimeSettings,
    environ: Mapping[str, str],
    images: Sequence[str],
    image_checks: Sequence[Check],
    deadline: float,
) -> Check:
    binary = _runtime_path(config, settings, environ)
    if not binary:
        return Check(
            "runtime", False, "SINGULARITY_PATH is not set and discovery found no apptainer or singularity"
        )
    label = "runtime " + binary
    image = options.image
    if not image:
        present = [path for path, check in zip(images, image_checks) if check.ok]
        if present:
            image = present[0]
        elif images:
            return Check(label, False, "not started: no default image is present")
    remaining = deadline - time.monotonic()
    if remaining < 1:
        return Check(label, False, "not started: no time left within --timeout")
    if not image:
        version, _, problem = runtime.check_version(binary, min(remaining, settings.version_timeout), environ)
        if problem:
            return Check(label, False, problem)
        return Check(label, True, "version {}; no local image to start a container".format(version))
    advertised = (config.get("GS_PID_NAMESPACES") or "").strip()
    pid_known_off = bool(advertised) and truth(advertised) is False
    settings = settings._replace(validation_timeout=float(max(int(remaining), 1)))
    try:
        result = runtime.validate(
            binary, image, settings, options.state_dir, environ, run_bounded, not pid_known_off
        )
    except OSError as exc:
        return Check(
            label, False, "cannot prepare the validation run in {}: {}".format(options.state_dir, exc)
        )
    if not result.ok:
        return Check(label, False, result.error)
    return Check(label, True, result.mode)


# --- state, lock, entry point ---------------------------------------------------------------------


def _read_state(state_dir: str) -> Dict[str, object]:
    try:
        with open(os.path.join(state_dir, _STATE_FILE), encoding="utf-8") as handle:
            state = json.load(handle)
    except (OSError, ValueError):
        return {}
    return state if isinstance(state, dict) else {}


def _write_state(state_dir: str, state: Mapping[str, object]) -> None:
    path = os.path.join(state_dir, _STATE_FILE)
    tmp = "{}.{}".format(path, os.getpid())
    try:
        with open(tmp, "w", encoding="utf-8") as handle:
            json.dump(state, handle, sort_keys=True)
        os.replace(tmp, path)
    except OSError:
        try:
            os.unlink(tmp)
        except OSError:
            pass


def _compared(attributes: Sequence[Tuple[str, Value]]) -> List[List[object]]:
    return [[name, value] for name, value in attributes if name != "GS_HEALTH_CHECKED"]


def _publish(state_dir: str, state: Dict[str, object], attributes: List[Tuple[str, Value]]) -> str:
    changed = state.get("attributes") != _compared(attributes)
    text = format_cron_output(attributes, changed)
    new_state = dict(state)
    new_state.update(attributes=_compared(attributes), output=format_cron_output(attributes, False))
    _write_state(state_dir, new_state)
    return text


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gs-health", description="Startd-cron health probe of glidein-singularity (see the module doc)."
    )
    add = parser.add_argument
    add("--state-dir", required=True, metavar="DIR", help="lock, last result and scratch space (created)")
    add("--glidein-config", default="", metavar="PATH", help="glidein_config of the glidein")
    add("--node-config", default="", metavar="PATH", help="plain EP: the file gs-setup --standalone wrote")
    add("--timeout", type=float, default=DEFAULT_TIMEOUT, metavar="SEC", help="total time limit (60)")
    add("--fs-timeout", type=float, default=DEFAULT_FS_TIMEOUT, metavar="SEC", help="image/CVMFS checks (10)")
    add("--failure-marker", default="", metavar="PATH", help="the job wrapper's black-hole marker")
    add("--max-failures", type=int, default=DEFAULT_MAX_FAILURES, metavar="K", help="failures in a row (3)")
    add("--failure-hold", type=float, default=DEFAULT_FAILURE_HOLD, metavar="SEC", help="quarantine (600)")
    add("--cvmfs-repos", default="", metavar="LIST", help="comma list of CVMFS repositories to list")
    add("--image", default="", metavar="IMAGE", help="image of the validation container")
    return parser


def parse_args(argv: Sequence[str]) -> Options:
    """Parse ``argv`` (argv[0] is the launcher); raise SystemExit(2) on a usage error."""
    parser = _parser()
    args = parser.parse_args(list(argv[1:]))
    for option, value in (("--timeout", args.timeout), ("--fs-timeout", args.fs_timeout)):
        if not value > 0:
            parser.error("{} must be a positive number of seconds, not {:g}".format(option, value))
    if args.max_failures < 1:
        parser.error("--max-failures must be at least 1, not {}".format(args.max_failures))
    if not args.failure_hold >= 0:
        parser.error("--failure-hold must be 0 or more seconds, not {:g}".format(args.failure_hold))
    if args.glidein_config and args.node_config:
        parser.error("give --glidein-config or --node-config, not both")
    return Options(
        args.glidein_config,
        args.node_config,
        argv[0] if argv else "",
        args.state_dir,
        args.timeout,
        args.fs_timeout,
        args.failure_marker,
        args.max_failures,
        args.failure_hold,
        args.cvmfs_repos,
        args.image,
    )


def _on_alarm(state_dir: str, timeout: float, failures: int) -> Callable[[int, Optional[FrameType]], None]:
    def handler(signum: int, frame: Optional[FrameType]) -> None:
        kill_children()
        reason = "the health probe did not finish within {:g} s (a hung runtime or filesystem)".format(
            timeout
        )
        attributes = verdict_attributes(False, False, reason, int(time.time()), failures)
        sys.stdout.write(_publish(state_dir, _read_state(state_dir), attributes))
        sys.stdout.flush()
        os._exit(0)

    return handler


def main(argv: Optional[Sequence[str]] = None, environ: Optional[Mapping[str, str]] = None) -> int:
    """Run one probe and print the attributes; return 0, or 2 for a usage error.

    ``argv`` is the whole command line, argv[0] included (default ``sys.argv``).
    """
    try:
        options = parse_args(sys.argv if argv is None else argv)
    except SystemExit as exc:
        return 2 if exc.code else 0
    env = dict(os.environ if environ is None else environ)
    start = time.monotonic()
    try:
        os.makedirs(options.state_dir, exist_ok=True)
        lock = os.open(os.path.join(options.state_dir, _LOCK_FILE), os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        reason = "cannot use the state directory {}: {}".format(options.state_dir, exc.strerror or exc)
        sys.stdout.write(
            format_cron_output(verdict_attributes(False, False, reason, int(time.time()), 0), True)
        )
        return 0
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        sys.stdout.write(str(_read_state(options.state_dir).get("output") or ""))
        os.close(lock)
        return 0
    try:
        os.ftruncate(lock, 0)
        os.write(lock, "{}\n".format(os.getpid()).encode())
        state = _read_state(options.state_dir)
        released = state.get("released")
        released = released if isinstance(released, int) else 0
        last_failures = state.get("failures")
        previous = signal.signal(
            signal.SIGALRM,
            _on_alarm(
                options.state_dir, options.timeout, last_failures if isinstance(last_failures, int) else 0
            ),
        )
        signal.alarm(max(math.ceil(options.timeout), 1))
        try:
            deadline = start + options.timeout - 1.0
            try:
                facts, released = gather(options, env, deadline, released)
                attributes = evaluate(facts, options.max_failures, int(time.time()))
                state.update(released=released, failures=facts.failures)
            except Exception as exc:  # our own failure: never leave the slot's last verdict standing
                reason = "the health probe failed: {}: {}".format(type(exc).__name__, exc)
                attributes = verdict_attributes(False, False, reason, int(time.time()), 0)
            sys.stdout.write(_publish(options.state_dir, state, attributes))
            sys.stdout.flush()
        finally:
            signal.alarm(0)
            signal.signal(signal.SIGALRM, previous if previous is not None else signal.SIG_DFL)
    finally:
        os.close(lock)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
