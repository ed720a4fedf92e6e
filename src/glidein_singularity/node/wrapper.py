"""The ``USER_JOB_WRAPPER``: plan the job's launch and ``exec`` it (entry point, stdlib only, fast).

Invoked by the starter as ``<wrapper> <job executable> <job args...>`` (through
``glidein_scripts/gs-job-wrapper``, which runs python with ``-I -S`` so the job's ``PYTHON*`` variables
cannot touch it). It reads:

- ``_CONDOR_JOB_AD``, ``_CONDOR_MACHINE_AD`` (required), ``_CONDOR_SCRATCH_DIR``, ``_CONDOR_JOB_IWD``,
  ``_CONDOR_WRAPPER_ERROR_FILE``, ``_CONDOR_BIN``, ``_CONDOR_AssignedGPUs``: variables the starter sets
  after the job's own, so the job cannot choose them;
- ``glidein_config`` and the settings (see ``inputs`` for what is trusted and why): never anything from
  the environment, where the job may have set any variable (``jobenv``).

A refusal the job caused (its own image is missing or forbidden...) is requeued without a node penalty
and with a short sleep (``JOB_FAULT_SLEEP``) at most ``GS_JOB_FAULT_RETRIES`` times (its
``NumJobStarts``); after that the wrapper exits without requeueing, so the job ends with exit code 90
and the message in its stderr. With the prepare-job hook (``node.prepare_job``) such jobs are held
before the wrapper ever runs.

Outcome:

- a plan: the stale wrapper-error file is already gone; the plan's message is written to it when the
  container launcher will remove it; the marker file is removed (healthy); then ``os.execve``;
- a refusal, an unreadable ad, or an exec failure: one line ``ERROR: glidein-singularity job wrapper
  failed: <why>`` on stderr, ``condor_chirp set_job_attr JobWrapperFailure`` (10 s limit) when
  ``condor_chirp`` is found (``chirp_path``); for a node-side problem (requeue) also the same line in the
  wrapper-error file (HTCondor puts the job back to Idle), the marker counter incremented and a sleep so
  a broken node does not eat the queue; exit status 90 (as the OSG wrappers).
"""

import os
import sys

from ..grammar import seconds
from ..settings import DEFAULT_FAILURE_SLEEP, DEFAULT_JOB_FAULT_RETRIES

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from typing import List, Mapping, Optional, Sequence, Tuple, Union

    from ..classad import Ad
    from ..inputs import PlanInputs
    from ..plan import LaunchPlan, Refusal

__all__ = [
    "EXIT_WRAPPER_FAILURE",
    "JOB_FAULT_SLEEP",
    "MAX_FAILURE_SLEEP",
    "SAFE_PATH",
    "chirp_path",
    "main",
    "starter_cannot_see",
]

EXIT_WRAPPER_FAILURE = 90
MAX_FAILURE_SLEEP = 3600
_PREFIX = "glidein-singularity job wrapper failed: "


def _one_line(text: str) -> str:
    return " ".join(text.split())


#: Where condor_chirp is looked for besides the starter's own _CONDOR_BIN (never the job's PATH: the
#: program would run outside the container).
SAFE_PATH = "/usr/libexec/condor:/usr/local/bin:/usr/bin:/bin"
#: Longest sleep after a refusal the job caused (the slot is not the one to blame).
JOB_FAULT_SLEEP = 10


def chirp_path(environ: "Mapping[str, str]") -> str:
    """The directories searched for condor_chirp: the starter's ``_CONDOR_BIN`` (which it sets after
    the job's own variables) and its ``libexec`` neighbour, then ``SAFE_PATH``."""
    condor_bin = environ.get("_CONDOR_BIN", "")
    if condor_bin.startswith("/") and ":" not in condor_bin:
        libexec = os.path.join(os.path.dirname(condor_bin.rstrip("/")), "libexec")
        return ":".join((os.path.join(libexec, "condor"), libexec, condor_bin, SAFE_PATH))
    return SAFE_PATH


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
    return seconds(text, DEFAULT_FAILURE_SLEEP, MAX_FAILURE_SLEEP)


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
    launch: "LaunchPlan",
    environ: "Mapping[str, str]",
    error_file: "Optional[str]",
    reveal: str = "",
    verbose: str = "",
) -> None:
    """Prepare and exec the plan; returns only when exec (or the preparation) failed, raising OSError."""
    for directory in launch.make_dirs:
        try:
            os.mkdir(directory, 0o700)
        except FileExistsError:
            pass
    if launch.tools_dir:  # the job wants its I/O proxy: condor_chirp inside (node/tools.py)
        from .tools import install_chirp

        try:
            install_chirp(launch.tools_dir)
        except OSError as exc:  # the job still runs in its container, without our condor_chirp
            print("{}no condor_chirp inside the container: {}".format(_PREFIX, exc), file=sys.stderr)
    if launch.error_file_message and error_file:
        if reveal:
            _reveal(error_file, reveal)
        with open(error_file, "w", encoding="utf-8", errors="replace") as handle:
            handle.write(_PREFIX + _one_line(launch.error_file_message) + "\n")
    if verbose.strip() == "1":
        for reason in launch.reasons:
            print("glidein-singularity: " + reason, file=sys.stderr)
        sys.stderr.flush()
    if "/" in launch.argv[0]:
        os.execve(launch.argv[0], list(launch.argv), launch.environment(environ))
    os.execvpe(launch.argv[0], list(launch.argv), launch.environment(environ))  # a bare relative command


def _bring_image(launch: "LaunchPlan", inputs: "PlanInputs") -> "Tuple[Union[LaunchPlan, Refusal], bool]":
    """The plan's image comes from the glidein's image store: fetch it (once per glidein) and lease it.

    Returns the plan to exec (planned again after a fetch: the plan then sees the entry, e.g. for bind
    targets) or a refusal, and whether the failure is an outage. The image does not exist or is too
    large: the user's, not requeued. The registry or network is down, or the store is full of images in
    use: an outage, requeued without counting against the node or the job. Anything else: the node's.
    """
    from ..inputs import make_probe
    from ..plan import LaunchPlan, Refusal
    from .imagestore import acquire

    fetch = launch.fetch
    assert fetch is not None
    outcome = acquire(fetch, launch.argv[0])
    if not outcome.ok:
        message = "image {}: {}".format(fetch.ref, outcome.message)
        if outcome.kind == "user":
            return Refusal(message, launch.reasons, False, True), False
        return Refusal(message, launch.reasons, True), outcome.kind == "outage"
    if outcome.fetched:
        again = inputs._replace(paths=inputs.paths._replace(probe=make_probe())).plan()
        return (again._replace(fetch=None) if isinstance(again, LaunchPlan) else again), False
    return launch, False


def _job_starts(job_ad: "Optional[Ad]") -> int:
    value = job_ad.get("NumJobStarts") if job_ad is not None else None
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def _retries(text: str) -> int:
    try:
        return max(0, int(text))
    except ValueError:
        return DEFAULT_JOB_FAULT_RETRIES


def _ssh_to_job(args: "List[str]", environ: "Mapping[str, str]") -> int:
    """The starter's condor_ssh_to_job sshd: untouched in HTCondor mode (the starter puts the shell in
    the job's container); in wrapper mode an sshd that only says why not (``starter_launch``).
    Never touches the wrapper-error file: the job itself is running."""
    from .starter_launch import htcondor_mode, is_ssh_to_job, refusing_sshd_argv

    try:
        from ..inputs import from_starter

        here = os.path.dirname(os.path.abspath(args[0]))
        inputs = from_starter(environ, args[1:], here)
        if not is_ssh_to_job(args[1:], inputs.job_ad, environ.get("_CONDOR_SCRATCH_DIR")):
            print(
                "ERROR: " + _PREFIX + "refusing an sshd launch that is the job's own command", file=sys.stderr
            )
            return EXIT_WRAPPER_FAILURE
        argv = args[1:] if htcondor_mode(inputs.machine_ad) else refusing_sshd_argv(args[1:])
        os.execve(argv[0], argv, dict(environ))
    except Exception as exc:  # the session fails; the job goes on
        print("ERROR: {}condor_ssh_to_job: {}: {}".format(_PREFIX, type(exc).__name__, exc), file=sys.stderr)
    return EXIT_WRAPPER_FAILURE


def _starter_launch(inputs: "PlanInputs", launch: "LaunchPlan", starter_argv: "List[str]") -> "LaunchPlan":
    """In HTCondor mode, the starter's own container command with our launcher and runtime environment
    (``starter_launch``); in wrapper mode ``launch`` itself. ValueError: not the planned container."""
    from .starter_launch import htcondor_mode, native_argv, runtime_environment, starter_request

    if not htcondor_mode(inputs.machine_ad):
        return launch
    from ..jobenv import read_job_environment
    from ..launch_env import RUNTIME_PATH

    if not launch.use_container:
        # The hook publishes no image for a plan without a container, so the starter runs the job as is;
        # a runtime command here came from elsewhere (the job's own GS_ContainerImage where the hook
        # did not run) and is never exec'd.
        runtime = inputs.machine_ad.get("SINGULARITY_PATH")
        launched = bool(starter_argv) and starter_argv[0] == runtime and "exec" in starter_argv[1:3]
        if launched and inputs.job_ad.get("Cmd") != runtime:
            msg = (
                "the starter launched {} for a job our plan runs without a container (is the GS "
                "prepare-job hook configured?)"
            )
            raise ValueError(msg.format(runtime))
        return launch
    request = starter_request(launch, len(starter_argv))
    argv = native_argv(starter_argv, launch.argv[0], request, inputs.paths.scratch_dir or "")
    job_env = read_job_environment(inputs.job_ad).expanded(inputs.paths.scratch_dir)
    env = runtime_environment(inputs.environ, job_env, RUNTIME_PATH, launch)
    unset = tuple(name for name in inputs.environ if name not in env)
    return launch._replace(argv=tuple(argv), env_set=env, env_unset=unset, fallback=None)


def main(argv: "Optional[Sequence[str]]" = None) -> int:
    """Run the wrapper; on success this never returns (the process becomes the job)."""
    args: List[str] = list(sys.argv if argv is None else argv)
    environ = dict(os.environ)
    from .starter_launch import is_ssh_to_job

    if is_ssh_to_job(args[1:], None, environ.get("_CONDOR_SCRATCH_DIR")):
        return _ssh_to_job(args, environ)
    error_file = environ.get("_CONDOR_WRAPPER_ERROR_FILE") or None
    if error_file:
        try:
            os.unlink(error_file)
        except OSError:
            pass
    # No setting comes from the environment (the job may have set any variable): until the ads are
    # read, a failure uses the glidein_config next to our own code, else the defaults.
    here = os.path.dirname(os.path.abspath(args[0] if args else "."))
    from ..inputs import read_glidein_config

    early = read_glidein_config(os.path.join(here, "glidein_config"))
    sleep = early.get("GS_WRAPPER_FAILURE_SLEEP", str(DEFAULT_FAILURE_SLEEP))
    marker = early.get("GS_FAILURE_MARKER", "")
    search_path = chirp_path(environ)
    reveal = starter_cannot_see(error_file)
    inputs: Optional[PlanInputs] = None
    try:
        from ..inputs import from_starter
        from ..plan import LaunchPlan

        inputs = from_starter(environ, args[1:], here, reveal)
        sleep, marker = inputs.settings.failure_sleep, inputs.settings.failure_marker
        result = inputs.plan()
        outage = False
        if isinstance(result, LaunchPlan) and result.fetch is not None:  # the image store's one call site
            result, outage = _bring_image(result, inputs)
    except Exception as exc:  # any surprise is a wrapper failure, never a job failure
        text = (
            exc.args[0]
            if isinstance(exc, KeyError) and exc.args
            else "{}: {}".format(type(exc).__name__, exc)
        )
        return _fail(text, True, search_path, error_file, sleep, marker, reveal)
    if not isinstance(result, LaunchPlan) and outage:  # neither the job's fault nor the node's
        sleep = str(min(_sleep_seconds(sleep), JOB_FAULT_SLEEP))
        return _fail(result.message, True, search_path, error_file, sleep, marker, reveal, node_fault=False)
    if isinstance(result, LaunchPlan):
        try:
            result = _starter_launch(inputs, result, args[1:])
        except ValueError as exc:
            return _fail(str(exc), True, search_path, error_file, sleep, marker, reveal)
    if not isinstance(result, LaunchPlan):
        requeue = result.requeue
        if result.job_caused:
            starts = _job_starts(inputs.job_ad)
            limit = _retries(inputs.settings.job_fault_retries)
            if requeue and starts >= limit:
                requeue = False
                note = "not requeued again: the job started {} times; GS_JOB_FAULT_RETRIES is {}"
                result = result._replace(message="{} ({})".format(result.message, note.format(starts, limit)))
            sleep = str(min(_sleep_seconds(sleep), JOB_FAULT_SLEEP))
        return _fail(
            result.message,
            requeue,
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
    environ_out = environ
    try:
        _exec(result, environ_out, error_file, reveal, inputs.settings.verbose)
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
                _exec(result.fallback, environ_out, error_file)
            except OSError as again:
                failure = "cannot exec {}: {}".format(result.fallback.argv[0], again.strerror or again)
        return _fail(failure, True, search_path, error_file, sleep, marker, reveal)
    return EXIT_WRAPPER_FAILURE  # pragma: no cover - execve does not return


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
