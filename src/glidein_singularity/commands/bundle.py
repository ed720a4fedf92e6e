"""Write the one-file bundle of the worker-node code, or every file a glidein needs with its XML.

``bundle -o FILE`` writes the bundle alone. ``--scripts-dir DIR`` writes the bundle and the launchers
(``gs-setup``, ``gs-job-wrapper``, ``gs_job_wrapper.py``, ``gs-prepare-job``, ``gs-health``; the
package's own copies) into DIR. ``bundle --ship DIR`` writes into ``DIR`` exactly the files a frontend
(or, with ``--side factory``, a factory) ships to every glidein: the bundle, ``gs_job_wrapper.py``,
``gs-health``, ``gs-prepare-job``, the configuration snippets, ``gs-setup`` and ``gs-job-wrapper``, and
``DIR/files.xml``, the ``<files>`` element that lists them with their GlideinWMS flags in download
order. The launchers and snippets are the package's own (a wheel or a checkout). Exit status 0, or 1
when a file cannot be read or written.
"""

import argparse
import os
import shutil
import sys
from typing import List

from ..bundle import BUNDLE_NAME, write_bundle
from ..errors import ConfigError, GlideinSingularityError
from ..resources import CONFIG_D, LAUNCHERS, SCRIPTS, shared_dir, shared_file

#: The name of the <files> element written by --ship.
FILES_XML = "files.xml"
_EXECUTABLE = ("gs-setup", "gs-health", "gs-prepare-job", "gs-job-wrapper")


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
    where.add_argument(
        "--ship",
        metavar="DIR",
        help="write every file a glidein needs into DIR (an absolute path on the frontend or factory host) "
        "and DIR/files.xml, the <files> element listing them",
    )
    parser.add_argument(
        "--side",
        choices=("frontend", "factory"),
        default="frontend",
        help="who ships the files, for the flags in files.xml (default: %(default)s)",
    )


def _source_file(name: str) -> str:
    """The package's own launcher or snippet ``name`` (from the wheel's data or the checkout)."""
    for kind in (SCRIPTS, CONFIG_D):
        try:
            return shared_file(kind, name)
        except GlideinSingularityError:
            continue
    msg = "{} is not among the package's launchers or configuration snippets".format(name)
    raise ConfigError(msg)


def ship(package_dir: str, directory: str, side: str) -> List[str]:
    """Write the glidein's files and files.xml into ``directory``; return the names written."""
    from ..frontend.render import GLIDEIN_FILES, files_xml

    if not os.path.isabs(directory):
        msg = "--ship {}: give an absolute path (GlideinWMS's absfname)".format(directory)
        raise ConfigError(msg)
    sources = {f.name: _source_file(f.name) for f in GLIDEIN_FILES if f.name != BUNDLE_NAME}
    os.makedirs(directory, exist_ok=True)
    written = []
    for item in GLIDEIN_FILES:
        target = os.path.join(directory, item.name)
        if item.name == BUNDLE_NAME:
            write_bundle(package_dir, target)
        else:
            shutil.copyfile(sources[item.name], target + ".tmp")
            os.chmod(target + ".tmp", 0o755 if item.name in _EXECUTABLE else 0o644)
            os.replace(target + ".tmp", target)
        written.append(item.name)
    with open(os.path.join(directory, FILES_XML + ".tmp"), "w", encoding="utf-8") as handle:
        handle.write(files_xml(directory, side))
    os.replace(os.path.join(directory, FILES_XML + ".tmp"), os.path.join(directory, FILES_XML))
    return [*written, FILES_XML]


def _scripts_dir(package_dir: str, directory: str) -> List[str]:
    os.makedirs(directory, exist_ok=True)
    output = os.path.join(directory, BUNDLE_NAME)
    names = write_bundle(package_dir, output)
    written = ["{} ({} modules)".format(output, len(names))]
    scripts = shared_dir(SCRIPTS)
    for name in LAUNCHERS:
        target = os.path.join(directory, name)
        shutil.copy2(os.path.join(scripts, name), target)
        written.append(target)
    return written


def run(args: argparse.Namespace) -> int:
    """Write the bundle (with the launchers, or every file a glidein needs); print what was written."""
    package_dir = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    try:
        if args.ship:
            lines = [os.path.join(args.ship, name) for name in ship(package_dir, args.ship, args.side)]
        elif args.scripts_dir:
            lines = _scripts_dir(package_dir, args.scripts_dir)
        else:
            names = write_bundle(package_dir, args.output)
            lines = ["{} ({} modules)".format(args.output, len(names))]
    except OSError as exc:
        name = str(exc.filename or args.output)
        name = name[: -len(".tmp")] if name.endswith(".tmp") else name  # the file written atomically
        print("ERROR: cannot write {}: {}".format(name, exc.strerror or exc), file=sys.stderr)
        return 1
    except GlideinSingularityError as exc:
        print("ERROR: {}".format(exc), file=sys.stderr)
        return 1
    for line in lines:
        print("wrote {}".format(line))
    return 0
