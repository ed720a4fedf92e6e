"""Check that every worker-node module parses and runs on python3 3.6 (vermin), admin-side code excepted.

Worker-node code is the whole package except the admin-side tooling listed in ADMIN_SIDE, plus the
python launchers under glidein_scripts/. Exit status is vermin's.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "glidein_singularity"
#: Admin-side modules (may use python 3.9+, PyYAML, Jinja2, htcondor).
ADMIN_SIDE = ("frontend/", "commands/lint.py", "commands/render.py", "commands/import_.py")


def worker_node_files() -> list[str]:
    files = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).as_posix()
        if not any(rel.startswith(prefix) for prefix in ADMIN_SIDE):
            files.append(str(path))
    for path in sorted((ROOT / "glidein_scripts").glob("*")):
        if path.is_file() and path.read_text(errors="replace").startswith("#!/usr/bin/env python3"):
            files.append(str(path))
    return files


def main() -> int:
    files = worker_node_files()
    tool = shutil.which("vermin") or str(Path(sys.executable).with_name("vermin"))
    cmd = [
        tool,
        "--target=3.6-",
        "--no-tips",
        "--violations",
        "--eval-annotations",
        "--backport",
        "typing",
        *files,
    ]
    print(f"vermin: checking {len(files)} worker-node files for python 3.6", flush=True)
    return subprocess.run(cmd, check=False).returncode


if __name__ == "__main__":
    sys.exit(main())
