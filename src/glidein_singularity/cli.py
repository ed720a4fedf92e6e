"""``glidein-singularity``: the command-line entry point.

Each sub-command lives in its own module under ``glidein_singularity.commands`` and exposes
``NAME``, ``HELP``, ``add_arguments(parser)`` and ``run(args) -> int``. Modules are imported only
when their command runs, so worker-node commands never import admin-side libraries.

Exit status: 0 success; 1 a failure or a refusal the command reports; 2 usage error.
"""

import argparse
import importlib
import os
import sys
from typing import List, Optional, Tuple

from . import __version__
from .errors import GlideinSingularityError

__all__ = ["COMMANDS", "EXIT_FAILURE", "EXIT_OK", "EXIT_USAGE", "build_parser", "main"]

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2

#: (command name, module under glidein_singularity.commands, one-line help)
COMMANDS: Tuple[Tuple[str, str, str], ...] = (
    ("lint", "lint", "check a frontend/factory YAML configuration (rule ids GS100-GS110)"),
    ("render", "render", "render a frontend/factory YAML configuration to GlideinWMS XML"),
    ("import", "import_", "import GlideinWMS frontend.xml / glideinWMS.xml into the YAML configuration"),
    ("explain", "explain", "show what the wrapper would do for a job on a slot"),
    ("bundle", "bundle", "write the one-file bundle of the worker-node code a factory ships"),
    ("doctor", "doctor", "check why containers would or would not run on this node"),
    ("install-ep", "install_ep", "install or update glidein-singularity on a plain HTCondor execution point"),
)


def build_parser() -> argparse.ArgumentParser:
    """Return the full argument parser (also used to generate the CLI reference)."""
    parser = argparse.ArgumentParser(
        prog="glidein-singularity",
        description="Run every HTCondor/GlideinWMS glidein job in an unprivileged Apptainer container.",
    )
    parser.add_argument("--version", action="version", version="%(prog)s " + __version__)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module_name, help_text in COMMANDS:
        module = importlib.import_module("glidein_singularity.commands." + module_name)
        cmd = sub.add_parser(name, help=help_text, description=module.__doc__)
        module.add_arguments(cmd)
        cmd.set_defaults(_module=module)
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    """Run the command line; return the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    module = getattr(args, "_module", None)
    if module is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        status = int(module.run(args))
        sys.stdout.flush()
    except BrokenPipeError:
        # The reader went away (`... | head`): nothing more to say to it, and no traceback.
        _silence_stdout()
        return EXIT_FAILURE
    except GlideinSingularityError as exc:
        print("ERROR: {}".format(exc), file=sys.stderr)
        return EXIT_FAILURE
    except OSError as exc:
        # A path the user gave cannot be read or written: name it, without a traceback.
        where = " {}".format(exc.filename) if exc.filename else ""
        print("ERROR: cannot use{}: {}".format(where, exc.strerror or exc), file=sys.stderr)
        return EXIT_FAILURE
    return status


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush does not raise again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
