"""Time-bounded probes for worker-node checks: child processes and filesystem paths (stdlib only).

Shared by the health probe and ``doctor``. A hung autofs, NFS or CVMFS mount blocks any process that
touches it, so paths are never checked in this process: a child ``sh`` does it and is killed at its
deadline. A killed child stuck in uninterruptible I/O may not die at once; ``run_bounded`` then gives
up on it after 2 s instead of waiting (``runtime.run_bounded`` waits for it).
"""

import os
import signal
from typing import Callable, Dict, List, Mapping, Optional, Sequence, Tuple

from .. import runtime

__all__ = ["Runner", "kill_children", "probe_paths", "run_bounded"]

#: A function with ``run_bounded``'s signature (tests pass fakes).
Runner = Callable[..., runtime.ProcessResult]

#: Process groups of the children running now (``kill_children`` kills them, e.g. from an alarm).
_CHILDREN: List[int] = []


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except OSError:
        pass


def kill_children() -> None:
    """Kill the process group of every child ``run_bounded`` is waiting for."""
    for pid in list(_CHILDREN):
        _kill_group(pid)


def run_bounded(
    argv: Sequence[str],
    timeout: float,
    env: Optional[Mapping[str, str]] = None,
    cwd: Optional[str] = None,
) -> runtime.ProcessResult:
    """``runtime.run_bounded``, with the child registered for ``kill_children``."""
    return runtime.run_bounded(argv, timeout, env=env, cwd=cwd, children=_CHILDREN)


#: For each "kind:path" argument print its index, then "ok" or "missing".
_PATH_SCRIPT = (
    'i=0; for p in "$@"; do kind=${p%%:*}; path=${p#?:}; printf "%s " "$i"; '
    'if [ "$kind" = d ]; then [ -d "$path/." ] && [ -n "$(ls -A "$path/" 2>/dev/null | head -n 1)" ]; '
    'else [ -e "$path" ]; fi && echo ok || echo missing; i=$((i + 1)); done'
)

#: What ``probe_paths`` says about a path after one that hung.
NOT_CHECKED_AFTER_HANG = "not checked (an earlier path hung)"


def probe_paths(paths: Sequence[Tuple[str, str]], timeout: float, runner: Runner = run_bounded) -> List[str]:
    """Check ``(kind, path)`` pairs in one child ``sh`` bounded by ``timeout``; return one result each.

    Kinds: ``e`` the path exists; ``d`` it is a directory with at least one entry (a CVMFS repository
    whose catalog loads). Results: ``ok``, ``missing``, ``timed out after N s`` for the path the child
    was on when killed, ``not checked (an earlier path hung)`` for the later ones, or
    ``not checked: <why>`` when the child could not run.
    """
    if not paths:
        return []
    argv = ["/bin/sh", "-c", _PATH_SCRIPT, "sh"] + ["{}:{}".format(kind, path) for kind, path in paths]
    result = runner(argv, timeout)
    results: Dict[int, str] = {}
    hung = -1
    for line in result.stdout.splitlines():
        number, _, word = line.partition(" ")
        if not number.isdigit():
            continue
        if word in ("ok", "missing"):
            results[int(number)] = word
        else:
            hung = int(number)
    if result.returncode is None and result.problem.startswith("timed out") and hung < 0:
        hung = len(results)
    out = []
    for index in range(len(paths)):
        if index in results:
            out.append(results[index])
        elif index == hung:
            out.append(result.problem)
        elif 0 <= hung < index:
            out.append(NOT_CHECKED_AFTER_HANG)
        else:
            out.append("not checked: {}".format(result.problem or runtime.first_error_line(result)))
    return out
