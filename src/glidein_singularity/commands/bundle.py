"""Write the one-file bundle of the worker-node code, or every file a glidein needs with its XML.

``bundle -o FILE`` writes the bundle alone. ``bundle --ship DIR`` writes into ``DIR`` exactly the
files a frontend (or, with ``--side factory``, a factory) ships to every glidein: the bundle,
``gs_job_wrapper.py``, ``gs-health``, ``gs-prepare-job``, the configuration snippets, ``gs-setup`` and
``gs-job-wrapper`` (from this source checkout's ``glidein_scripts/`` and ``condor_config.d/``), and
``DIR/files.xml``, the ``<files>`` element that lists them with their GlideinWMS flags in download
order. Exit status 0, or 1 when a file cannot be read or written.
"""

import argparse
import os
import shutil
from typing import List

from ..bundle import BUNDLE_NAME, write_bundle
from ..errors import ConfigError

NAME = "bundle"
HELP = "write the one-file bundle of the worker-node code a factory ships"
#: The name of the <files> element written by --ship.
FILES_XML = "files.xml"
_EXECUTABLE = ("gs-setup", "gs-health", "gs-prepare-job", "gs-job-wrapper")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the bundle options."""
    parser.add_argument(
        "-o", "--output", metavar="FILE", default=BUNDLE_NAME, help="where to write it (default: %(default)s)"
    )
    parser.add_argument(
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


def _source_file(root: str, name: str) -> str:
    for directory in ("glidein_scripts", "condor_config.d"):
        path = os.path.join(root, directory, name)
        if os.path.isfile(path):
            return path
    msg = (
        "{} not found under {}/glidein_scripts or condor_config.d: run --ship from a source checkout".format(
            name, root
        )
    )
    raise ConfigError(msg)


def ship(package_dir: str, directory: str, side: str) -> List[str]:
    """Write the glidein's files and files.xml into ``directory``; return the names written."""
    from ..frontend.render import GLIDEIN_FILES, files_xml

    if not os.path.isabs(directory):
        msg = "--ship {}: give an absolute path (GlideinWMS's absfname)".format(directory)
        raise ConfigError(msg)
    root = os.path.dirname(os.path.dirname(package_dir))
    sources = {f.name: _source_file(root, f.name) for f in GLIDEIN_FILES if f.name != BUNDLE_NAME}
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


def run(args: argparse.Namespace) -> int:
    """Write the bundle (or, with --ship, every file a glidein needs); print what was written."""
    package_dir = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    if args.ship:
        for name in ship(package_dir, args.ship, args.side):
            print("wrote {}".format(os.path.join(args.ship, name)))
        return 0
    names = write_bundle(package_dir, args.output)
    print("wrote {} ({} modules)".format(args.output, len(names)))
    return 0
