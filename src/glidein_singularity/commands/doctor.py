"""Check why containers would or would not run on this worker node.

Run it on the node, as the user the pilot (or the jobs) run as. Each check prints one line, PASS, FAIL
or SKIP, and a failed check a ``fix:`` line: unprivileged user namespaces (kernel knobs, AppArmor, an
``unshare --user`` attempt), the runtime and its mode (one test container when ``--image`` is given),
PID and IPC namespaces, overlay/underlay, CVMFS, and NVIDIA/AMD GPU driver visibility.

``--format json`` prints ``{"ok": bool, "checks": [{"name", "status", "required", "detail", "hint"}]}``.
Exit status: 0 every required check passed, 1 one failed, 2 usage error.
"""

import argparse
import json
import os
import sys
from typing import List, Sequence

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from ..node.doctor import CheckResult


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the doctor arguments."""
    parser.add_argument(
        "--runtime", metavar="PATH", default="", help="the runtime to check (default: discover it)"
    )
    parser.add_argument(
        "--image",
        metavar="IMAGE",
        default="",
        help="start one test container from IMAGE (a .sif, sandbox or /cvmfs path)",
    )
    parser.add_argument(
        "--cvmfs-repo",
        metavar="REPO",
        default="",
        help="CVMFS repository to probe (default: oasis.opensciencegrid.org)",
    )
    parser.add_argument(
        "--image-store",
        metavar="DIR",
        default="",
        help="check the glidein's image store (GS_IMAGE_STORE): ownership, mode, free space",
    )
    parser.add_argument(
        "--timeout", type=float, default=30.0, metavar="SEC", help="limit for each probe (default 30)"
    )
    parser.add_argument(
        "--format", choices=("text", "json"), default="text", help="output format (default text)"
    )


def report_json(results: "Sequence[CheckResult]") -> str:
    """The JSON report: overall ``ok`` and one object per check."""
    checks = [result._asdict() for result in results]
    return json.dumps({"ok": passed(results), "checks": checks}, indent=2)


def report_text(results: "Sequence[CheckResult]") -> str:
    """The text report: one line per check, a ``fix:`` line under each failure, then a summary."""
    width = max(len(result.name) for result in results)
    lines: List[str] = []
    for result in results:
        lines.append("{}  {}  {}".format(result.status.upper(), result.name.ljust(width), result.detail))
        if result.hint:
            lines.append("{}  fix: {}".format(" " * (6 + width), result.hint))
    counts = {status: sum(1 for r in results if r.status == status) for status in ("pass", "fail", "skip")}
    required = sum(1 for r in results if r.status == "fail" and r.required)
    lines.append(
        "doctor: {} passed, {} failed ({} required), {} skipped: {}".format(
            counts["pass"],
            counts["fail"],
            required,
            counts["skip"],
            "containers should run here" if passed(results) else "containers will not run here",
        )
    )
    return "\n".join(lines)


def passed(results: "Sequence[CheckResult]") -> bool:
    """True when no required check failed."""
    return not any(result.status == "fail" and result.required for result in results)


def run(args: argparse.Namespace) -> int:
    """Gather, evaluate, print; 0 when every required check passed."""
    from ..node.doctor import evaluate, gather

    if not args.timeout > 0:
        print(
            "ERROR: --timeout must be a positive number of seconds, not {:g}".format(args.timeout),
            file=sys.stderr,
        )
        return 2
    results = evaluate(
        gather(args.runtime, args.image, args.cvmfs_repo, args.timeout, os.environ, args.image_store)
    )
    print(report_json(results) if args.format == "json" else report_text(results))
    return 0 if passed(results) else 1
