"""Check a frontend/factory YAML file before deploying it.

Every finding names its rule id (GS100-GS110), the file, line and key. CVMFS images are checked for
existence when /cvmfs is mounted (or under --cvmfs-root); otherwise a note says they were not.
Exit status: 0 nothing but notes, 1 findings (YAML that does not parse is one), 2 usage error (including
an unreadable file, or XML given instead of YAML: ``import`` reads that).
"""

import argparse
import json
import os
import sys
from typing import Callable, Optional

from ._inputs import read_text


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the lint arguments."""
    parser.add_argument("config", metavar="CONFIG", help="the YAML file")
    parser.add_argument(
        "--format", choices=("text", "json"), default="text", help="output format (default: text)"
    )
    parser.add_argument(
        "--cvmfs-root",
        metavar="DIR",
        help="check CVMFS images under DIR instead of /cvmfs (e.g. a cvmfsexec mount)",
    )


def _cvmfs_checker(root: Optional[str]) -> Optional[Callable[[str], Optional[bool]]]:
    if root is None:
        # An automounted /cvmfs lists nothing until a repository is used: any entry means "mounted".
        if not (os.path.ismount("/cvmfs") or (os.path.isdir("/cvmfs") and os.listdir("/cvmfs"))):
            return None
        root = "/cvmfs"
    base = root.rstrip("/")

    def exists(path: str) -> Optional[bool]:
        """True/False for an image in a repository mounted here; None (not checked) otherwise."""
        rest = path[len("/cvmfs") :]
        repository = rest.lstrip("/").split("/")[0]
        if not repository or not os.path.isdir(os.path.join(base, repository)):
            return None  # the repository is not mounted here (autofs mounts it when it exists)
        return os.path.exists(base + rest)

    return exists


def run(args: argparse.Namespace) -> int:
    """Lint the file; print the findings."""
    from ..frontend.findings import Severity
    from ..frontend.lint import exit_status, lint_document
    from ..frontend.yamlsource import parse_yaml

    if args.cvmfs_root is not None and not os.path.isdir(args.cvmfs_root):
        print("ERROR: --cvmfs-root {}: not a directory".format(args.cvmfs_root), file=sys.stderr)
        return 2
    text = read_text(args.config, "yaml")
    if text is None:
        return 2
    findings = lint_document(parse_yaml(text, args.config), _cvmfs_checker(args.cvmfs_root))
    counts = {severity: sum(f.severity is severity for f in findings) for severity in Severity}
    if args.format == "json":
        report = {
            "file": args.config,
            "findings": [
                {
                    "rule": f.rule,
                    "severity": f.severity.value,
                    "file": f.filename,
                    "line": f.line,
                    "key": f.key,
                    "message": f.message,
                }
                for f in findings
            ],
            "counts": {severity.value: count for severity, count in counts.items()},
        }
        print(json.dumps(report, indent=2))
    else:
        for f in findings:
            print(
                "{}:{}: {} {}: {}: {}".format(f.filename, f.line, f.rule, f.severity.value, f.key, f.message)
            )
        print(
            "{}: {} error(s), {} warning(s), {} note(s)".format(
                args.config, counts[Severity.ERROR], counts[Severity.WARNING], counts[Severity.NOTE]
            )
        )
    return exit_status(findings)
