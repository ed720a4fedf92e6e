"""Fake container runtimes for discovery and setup-script tests (never for launch/isolation claims).

A fake is a POSIX sh script that answers ``--version``/``version`` and, for anything else (the
validation ``exec``), logs its argv to ``<script>.log`` and prints a configurable uid_map line.
"""

import os
import pathlib
import shlex
from typing import List

PID_FAILURE = (
    "FATAL:   container creation failed: mount proc->/proc error: while mounting proc: "
    "can't mount proc filesystem to /proc: operation not permitted"
)

_TEMPLATE = """#!/bin/sh
VERSION_OUT={version_out}
VERSION_RC={version_rc}
EXEC_OUT={exec_out}
EXEC_ERR={exec_err}
EXEC_RC={exec_rc}
PID_FAIL={pid_fail}
SLEEP={sleep}
LOG={log}
case "$1" in
    --version|version)
        [ -n "$VERSION_OUT" ] && printf '%s\\n' "$VERSION_OUT"
        exit "$VERSION_RC";;
esac
printf '%s\\n' "$*" >> "$LOG"
if [ "$PID_FAIL" = 1 ]; then
    for arg in "$@"; do
        if [ "$arg" = "--pid" ]; then
            printf '%s\\n' {pid_failure} >&2
            exit 255
        fi
    done
fi
[ "$SLEEP" = 0 ] || sleep "$SLEEP"
[ -z "$EXEC_ERR" ] || printf '%s\\n' "$EXEC_ERR" >&2
[ -z "$EXEC_OUT" ] || printf '%s\\n' "$EXEC_OUT"
exit "$EXEC_RC"
"""


def make_fake_runtime(
    path: pathlib.Path,
    version_out: str = "apptainer version 1.4.5",
    version_rc: int = 0,
    exec_out: str = "      1000       1000          1",
    exec_err: str = "",
    exec_rc: int = 0,
    pid_fail: bool = False,
    sleep: float = 0,
) -> pathlib.Path:
    """Write an executable fake runtime at ``path`` and return it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        _TEMPLATE.format(
            version_out=shlex.quote(version_out),
            version_rc=version_rc,
            exec_out=shlex.quote(exec_out),
            exec_err=shlex.quote(exec_err),
            exec_rc=exec_rc,
            pid_fail=1 if pid_fail else 0,
            sleep=shlex.quote("{:g}".format(sleep)),
            log=shlex.quote(str(path) + ".log"),
            pid_failure=shlex.quote(PID_FAILURE),
        )
    )
    path.chmod(0o755)
    return path


def exec_calls(path: pathlib.Path) -> List[str]:
    """The argv (joined by spaces) of every non-version invocation of the fake at ``path``."""
    log = pathlib.Path(str(path) + ".log")
    return log.read_text().splitlines() if log.exists() else []


def make_module_system(root: pathlib.Path, module: str, bin_dir: pathlib.Path) -> str:
    """Create a MODULESHOME whose ``module load <module>`` puts ``bin_dir`` first on PATH."""
    init = root / "init"
    init.mkdir(parents=True, exist_ok=True)
    (init / "sh").write_text(
        "module() {{\n"
        '    if [ "$1" = load ] && [ "$2" = {module} ]; then\n'
        "        PATH={bin_dir}:$PATH; export PATH; return 0\n"
        "    fi\n"
        "    return 1\n"
        "}}\n".format(module=shlex.quote(module), bin_dir=shlex.quote(str(bin_dir)))
    )
    return os.fspath(root)
