"""Write the one-file bundle of the worker-node code that a factory or frontend ships to glideins.

Put the bundle next to ``gs-setup``, ``gs-job-wrapper``, ``gs_job_wrapper.py`` and ``gs-health``; they
find it there. Exit status 0, or 1 when the file cannot be written.
"""

import argparse
import os
import sys

from ..bundle import BUNDLE_NAME, write_bundle

NAME = "bundle"
HELP = "write the one-file bundle of the worker-node code a factory ships"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the bundle options."""
    parser.add_argument(
        "-o", "--output", metavar="FILE", default=BUNDLE_NAME, help="where to write it (default: %(default)s)"
    )


def run(args: argparse.Namespace) -> int:
    """Write the bundle of the installed package; print what it holds."""
    package_dir = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    try:
        names = write_bundle(package_dir, args.output)
    except OSError as exc:
        print("ERROR: cannot write {}: {}".format(args.output, exc.strerror or exc), file=sys.stderr)
        return 1
    print("wrote {} ({} modules)".format(args.output, len(names)))
    return 0
