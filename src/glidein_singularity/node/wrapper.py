"""The ``USER_JOB_WRAPPER``: plan the job's launch and ``exec`` it (entry point, stdlib only, fast).

Invoked by the starter as ``<wrapper> <job executable> <job args...>`` (through
``glidein_scripts/gs-job-wrapper``, which runs python with ``-I -S`` so the job's ``PYTHON*`` variables
cannot touch it). It reads:

- ``_CONDOR_JOB_AD``, ``_CONDOR_MACHINE_AD`` (required), ``_CONDOR_SCRATCH_DIR``, ``_CONDOR_JOB_IWD``,
  ``_CONDOR_WRAPPER_ERROR_FILE`` from the environment the starter built;
- ``glidein_config``: the file named by ``GS_GLIDEIN_CONFIG``, else ``glidein_config`` in the wrapper's
  directory, else none (an EP without GlideinWMS);
- settings (see ``plan.NodeSettings``), among them ``GS_WRAPPER_FAILURE_SLEEP`` (seconds, default 600,
  at most 3600) and ``GS_FAILURE_MARKER`` (a counter file for the health probe).

Environment variables the job set in its own ``Environment`` are never used as settings, nor as the
wrapper's own facts (``GS_GLIDEIN_CONFIG``, ``PATH``): see ``plan.job_set_names``. Until the job ad is
read nothing tells them apart, so a failure that early uses no failure marker and the default search
path for ``condor_chirp``.

Outcome:

- a plan: the stale wrapper-error file is already gone; the plan's message is written to it when the
  container launcher will remove it; the marker file is removed (healthy); then ``os.execve``;
- a refusal, an unreadable ad, or an exec failure: one line ``ERROR: glidein-singularity job wrapper
  failed: <why>`` on stderr, ``condor_chirp set_job_attr JobWrapperFailure`` (10 s limit) when
  ``condor_chirp`` is on PATH; for a node-side problem (requeue) also the same line in the
  wrapper-error file (HTCondor puts the job back to Idle), the marker counter incremented and a sleep so
  a broken node does not eat the queue; exit status 90 (as the OSG wrappers).
"""

import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from typing import Callable, Dict, List, Mapping, Optional, Sequence, Union

    from ..plan import LaunchPlan, PathInfo, Refusal

__all__ = [
    "EXIT_WRAPPER_FAILURE",
    "MAX_FAILURE_SLEEP",
    "find_glidein_config",
    "main",
    "make_probe",
    "read_glidein_config",
    "starter_cannot_see",
]

EXIT_WRAPPER_FAILURE = 90
MAX_FAILURE_SLEEP = 3600
_PREFIX = "glidein-singularity job wrapper failed: "


def make_probe() -> "Callable[[str], PathInfo]":
    from ..plan import PathInfo

    cache: Dict[str, PathInfo] = {}

    def probe(path: str) -> PathInfo:
        info = cache.get(path)
        if info is None:
            try:
                is_dir = os.path.isdir(path)
                exists = is_dir or os.path.exists(path)
                is_link = os.path.islink(path)
                real = os.path.realpath(path)
            except (OSError, ValueError):  # ValueError: NUL in the path
                exists = is_dir = is_link = False
                real = path
            info = PathInfo(exists, is_dir, real, is_link)
            cache[path] = info
        return info

    return probe


def read_glidein_config(path: str) -> "Dict[str, str]":
    """Same reading as ``glidein_config.parse_glidein_config`` (not imported: it is slow to import)."""
    values: Dict[str, str] = {}
    try:
        with open(path, encoding="utf-8", errors="surrogateescape") as handle:
            text = handle.read()
    except OSError:
        return values
    for line in text.splitlines():
        key, _, value = line.partition(" ")
        if key:
            values[key] = value
    return values


def find_glidein_config(
    environ: "Mapping[str, str]", job_set: "Sequence[str]", argv0: str
) -> "Dict[str, str]":
    path = environ.get("GS_GLIDEIN_CONFIG") if "GS_GLIDEIN_CONFIG" not in job_set else None
    if not path:
        path = os.path.join(os.path.dirname(os.path.abspath(argv0)), "glidein_config")
        if not os.path.isfile(path):
            return {}
    return read_glidein_config(path)


def _one_line(text: str) -> str:
    return " ".join(text.split())


#: Where condor_chirp is looked for when the job may have set PATH (it would run outside the container).
SAFE_PATH = "/usr/libexec/condor:/usr/local/bin:/usr/bin:/bin"


def _chirp(message: str, search_path: str) -> None:
    for directory in search_path.split(os.pathsep):
        candidate = os.path.join(directory, "condor_chirp") if directory else ""
        if candidate and os.access(candidate, os.X_OK):
            break
    else:
        return
    import subprocess

    from ..classad import format_literal

    try:
        subprocess.run(
            [candidate, "set_job_attr", "JobWrapperFailure", format_literal(message)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError, ValueError):
        pass


def _bump_marker(path: str) -> None:
    try:
        with open(path, encoding="ascii", errors="replace") as handle:
            count = int(handle.read().strip() or "0")
    except (OSError, ValueError):
        count = 0
    temporary = "{}.{}.tmp".format(path, os.getpid())
    try:
        with open(temporary, "w", encoding="ascii") as handle:
            handle.write("{}\n".format(count + 1))
        os.replace(temporary, path)
    except OSError:
        pass


def _sleep_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        return 600.0
    if value != value or value < 0:
        return 0.0
    return min(value, float(MAX_FAILURE_SLEEP))


_SEARCH_BITS = 0o011  # group and other search: the starter may match either class


def starter_cannot_see(error_file: "Optional[str]") -> str:
    """The job directory's mode (octal text) when the starter would miss the wrapper-error file, else "".

    HTCondor's starter tests the file's existence with its own credentials. On a root-started EP whose
    jobs run as other users it runs with euid ``condor`` (and the job user's groups) and cannot search
    a 0700 job directory, so it would record the wrapper's exit code as the job's instead of requeueing
    (seen with 23.9). Glideins run the starter as the job's own user and need nothing. The starter is
    our parent process.
    """
    if not error_file:
        return ""
    directory = os.path.dirname(error_file) or "."
    try:
        mode = os.stat(directory).st_mode & 0o7777
    except OSError:
        return ""
    if mode & _SEARCH_BITS == _SEARCH_BITS:
        return ""
    try:
        with open("/proc/{}/status".format(os.getppid()), encoding="ascii", errors="replace") as handle:
            for line in handle:
                if line.startswith("Uid:"):
                    if int(line.split()[2]) == os.geteuid():
                        return ""
                    break
    except (OSError, ValueError, IndexError):
        pass  # the starter's identity is unknown: make sure it can see the file
    return "0{:o}".format(mode)


def _reveal(error_file: str, mode: str) -> None:
    """Add the group and other search bits to the job directory (whose ``mode`` starter_cannot_see
    read) so the starter finds the error file."""
    directory = os.path.dirname(error_file) or "."
    try:
        os.chmod(directory, int(mode, 8) | _SEARCH_BITS)
    except OSError as exc:
        print("ERROR: cannot make {} searchable: {}".format(directory, exc.strerror), file=sys.stderr)


def _fail(
    message: str,
    requeue: bool,
    search_path: str,
    error_file: "Optional[str]",
    sleep: str,
    marker: str,
    reveal: str = "",
    node_fault: bool = True,
) -> int:
    line = _PREFIX + _one_line(message)
    print("ERROR: " + line, file=sys.stderr)
    sys.stderr.flush()
    if requeue and error_file:
        if reveal:
            _reveal(error_file, reveal)
        try:
            with open(error_file, "w", encoding="utf-8", errors="replace") as handle:
                handle.write(line + "\n")
        except OSError as exc:
            print("ERROR: cannot write {}: {}".format(error_file, exc.strerror), file=sys.stderr)
    _chirp(line, search_path)
    if requeue:
        if marker and node_fault:
            _bump_marker(marker)
        seconds = _sleep_seconds(sleep)
        if seconds > 0:
            import time

            time.sleep(seconds)
    return EXIT_WRAPPER_FAILURE


def _exec(
    launch: "LaunchPlan", environ: "Mapping[str, str]", error_file: "Optional[str]", reveal: str = ""
) -> None:
    """Prepare and exec the plan; returns only when exec (or the preparation) failed, raising OSError."""
    for directory in launch.make_dirs:
        try:
            os.mkdir(directory, 0o700)
        except FileExistsError:
            pass
    if launch.error_file_message and error_file:
        if reveal:
            _reveal(error_file, reveal)
        with open(error_file, "w", encoding="utf-8", errors="replace") as handle:
            handle.write(_PREFIX + _one_line(launch.error_file_message) + "\n")
    if environ.get("GS_WRAPPER_VERBOSE") == "1":
        for reason in launch.reasons:
            print("glidein-singularity: " + reason, file=sys.stderr)
        sys.stderr.flush()
    if "/" in launch.argv[0]:
        os.execve(launch.argv[0], list(launch.argv), launch.environment(environ))
    os.execvpe(launch.argv[0], list(launch.argv), launch.environment(environ))  # a bare relative command


def _bring_image(
    launch: "LaunchPlan", replan: "Callable[[], Union[LaunchPlan, Refusal]]"
) -> "Union[LaunchPlan, Refusal]":
    """The plan's image comes from the glidein's image store: fetch it (once per glidein) and lease it.

    A fetched image is planned again (the plan then sees the entry, e.g. for bind targets). Failures
    become refusals: the image does not exist or is too large (the user's: not requeued); the registry or
    network is down, or the store busy (requeued, not the node's fault); anything else (the node's).
    """
    from ..plan import LaunchPlan, Refusal
    from .imagestore import acquire

    fetch = launch.fetch
    assert fetch is not None
    outcome = acquire(fetch, launch.argv[0])
    if not outcome.ok:
        kind = outcome.kind
        message = "image {}: {}".format(fetch.ref, outcome.message)
        if kind == "user":
            return Refusal(message, launch.reasons, False)
        return Refusal(message, launch.reasons, True, job_caused=(kind == "outage"))
    if outcome.fetched:
        again = replan()
        return again._replace(fetch=None) if isinstance(again, LaunchPlan) else again
    return launch


def main(argv: "Optional[Sequence[str]]" = None) -> int:
    """Run the wrapper; on success this never returns (the process becomes the job)."""
    args: List[str] = list(sys.argv if argv is None else argv)
    environ = dict(os.environ)
    error_file = environ.get("_CONDOR_WRAPPER_ERROR_FILE") or None
    if error_file:
        try:
            os.unlink(error_file)
        except OSError:
            pass
    # Until the job ad says which variables the job set, the environment is not trusted: the sleep may
    # come from it (at worst the job shortens its own back-off), the marker file and PATH may not.
    sleep = environ.get("GS_WRAPPER_FAILURE_SLEEP", "600")
    marker = ""
    search_path = SAFE_PATH
    reveal = starter_cannot_see(error_file)
    try:
        from ..ads import load_ad
        from ..plan import LaunchPlan, NodeSettings, Paths, job_set_names, plan

        job_path = environ.get("_CONDOR_JOB_AD")
        machine_path = environ.get("_CONDOR_MACHINE_AD")
        if not job_path or not machine_path:
            missing = "_CONDOR_JOB_AD" if not job_path else "_CONDOR_MACHINE_AD"
            return _fail(
                missing + " is not set: cannot read the ads",
                True,
                search_path,
                error_file,
                sleep,
                marker,
                reveal,
            )
        job_ad = load_ad(job_path, "job ad")
        job_set = sorted(job_set_names(job_ad))
        if "GS_FAILURE_MARKER" not in job_set:
            marker = environ.get("GS_FAILURE_MARKER", "")
        if "PATH" not in job_set and environ.get("PATH"):
            search_path = environ["PATH"]
        machine_ad = load_ad(machine_path, "machine ad")
        settings = NodeSettings.from_sources(
            machine_ad, find_glidein_config(environ, job_set, args[0] if args else ""), environ, job_set
        )
        sleep, marker = settings.failure_sleep, settings.failure_marker
        try:
            cwd: Optional[str] = os.getcwd()
        except OSError:
            cwd = None
        paths = Paths(
            cwd,
            environ.get("_CONDOR_SCRATCH_DIR"),
            environ.get("_CONDOR_JOB_IWD"),
            error_file,
            make_probe(),
            reveal,
        )
        result = plan(job_ad, machine_ad, settings, environ, args[1:], paths)
        if isinstance(result, LaunchPlan) and result.fetch is not None:
            result = _bring_image(
                result,
                lambda: plan(
                    job_ad, machine_ad, settings, environ, args[1:], paths._replace(probe=make_probe())
                ),
            )
    except Exception as exc:  # any surprise is a wrapper failure, never a job failure
        return _fail(
            "{}: {}".format(type(exc).__name__, exc), True, search_path, error_file, sleep, marker, reveal
        )
    if not isinstance(result, LaunchPlan):
        return _fail(
            result.message,
            result.requeue,
            search_path,
            error_file,
            sleep,
            marker,
            reveal,
            node_fault=not result.job_caused,
        )
    if marker:
        try:
            os.unlink(marker)
        except OSError:
            pass
    try:
        _exec(result, environ, error_file, reveal)
    except OSError as exc:
        failure = "cannot exec {}: {}".format(result.argv[0], exc.strerror or exc)
        if result.fallback is not None:
            print(
                "glidein-singularity: {}; running the job without a container (PREFERRED)".format(failure),
                file=sys.stderr,
            )
            if error_file:
                try:
                    os.unlink(error_file)
                except OSError:
                    pass
            try:
                _exec(result.fallback, environ, error_file)
            except OSError as again:
                failure = "cannot exec {}: {}".format(result.fallback.argv[0], again.strerror or again)
        return _fail(failure, True, search_path, error_file, sleep, marker, reveal)
    return EXIT_WRAPPER_FAILURE  # pragma: no cover - execve does not return


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
