"""``python -m tests.testbed {build,demo,shell}`` from the project root (as root)."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

from .build import TestBedUnavailable, ensure_bed
from .session import Session

REPO = Path(__file__).resolve().parents[2]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.testbed", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("build", help="build the test bed (or report the cached one)")
    sub.add_parser("demo", help="run the demo: the startup script, a pool, one job of each kind")
    shell = sub.add_parser("shell", help="an interactive shell inside the bed (as root, or --user)")
    shell.add_argument("--user", default=None)
    args = parser.parse_args(argv)
    try:
        if args.command == "build":
            print(ensure_bed())
            return 0
        if args.command == "demo":
            from .demo import main as demo

            return demo()
        with Session(ensure_bed(), REPO) as session:
            return subprocess.call(session.command(["/bin/bash"], user=args.user), env=dict(os.environ))
    except TestBedUnavailable as exc:
        print(f"ERROR: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
