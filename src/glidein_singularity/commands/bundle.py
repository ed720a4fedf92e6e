"""Write the one-file bundle of the worker-node code that a factory or frontend ships to glideins.

Put the bundle next to ``gs-setup``, ``gs-job-wrapper``, ``gs_job_wrapper.py`` and ``gs-health``; they
find it there. ``--scripts-dir DIR`` writes the bundle and those launchers (the package's own copies)
into DIR, e.g. the frontend's web area. Exit status 0, or 1 when a file cannot be written.
"""

import argparse
import os
import shutil
import sys

from ..bundle import BUNDLE_NAME, write_bundle
from ..resources import LAUNCHERS, SCRIPTS, shared_dir

NAME = "bundle"
HELP = "write the one-file bundle of the worker-node code a factory ships"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the bundle options."""
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "-o", "--output", metavar="FILE", default=BUNDLE_NAME, help="where to write it (default: %(default)s)"
    )
    where.add_argument(
        "--scripts-dir",
        metavar="DIR",
        help="write the bundle and the launchers into DIR (created if needed), as glideins get them",
    )


def run(args: argparse.Namespace) -> int:
    """Write the bundle of the installed package (and the launchers); print what was written."""
    package_dir = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    output = os.path.join(args.scripts_dir, BUNDLE_NAME) if args.scripts_dir else args.output
    try:
        if args.scripts_dir:
            os.makedirs(args.scripts_dir, exist_ok=True)
        names = write_bundle(package_dir, output)
    except OSError as exc:
        print("ERROR: cannot write {}: {}".format(output, exc.strerror or exc), file=sys.stderr)
        return 1
    print("wrote {} ({} modules)".format(output, len(names)))
    if args.scripts_dir:
        scripts = shared_dir(SCRIPTS)
        for name in LAUNCHERS:
            target = os.path.join(args.scripts_dir, name)
            try:
                shutil.copy2(os.path.join(scripts, name), target)
            except OSError as exc:
                print("ERROR: cannot write {}: {}".format(target, exc.strerror or exc), file=sys.stderr)
                return 1
            print("wrote {}".format(target))
    return 0
