"""Render a frontend/factory YAML file to GlideinWMS XML.

``frontend.xml`` holds the frontend's global ``<attrs>`` and ``<files>`` (the glidein-singularity
bundle, startup script and job wrapper) and each group's ``<attrs>``; ``factory.xml`` holds the
factory's global and per-entry ``<attrs>``. Merge them into the real configuration files.
Without ``-o`` the XML goes to standard output.
Exit status: 0 rendered, 1 the YAML has a problem (run ``lint``), 2 usage error.
"""

import argparse
import os
import sys

NAME = "render"
HELP = "render a frontend/factory YAML configuration to GlideinWMS XML"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the render arguments."""
    parser.add_argument("config", metavar="CONFIG", help="the YAML file")
    parser.add_argument(
        "--part",
        choices=("frontend", "factory", "all"),
        default="all",
        help="what to render (default: all sections present in the file)",
    )
    parser.add_argument(
        "-o",
        "--output-dir",
        metavar="DIR",
        help="write frontend.xml/factory.xml into DIR (created if needed)",
    )


def run(args: argparse.Namespace) -> int:
    """Render and write or print the XML."""
    from ..frontend.config import load_config
    from ..frontend.render import render

    try:
        with open(args.config, encoding="utf-8") as stream:
            text = stream.read()
    except OSError as exc:
        print("ERROR: {}: cannot read: {}".format(args.config, exc.strerror or exc), file=sys.stderr)
        return 2
    outputs = render(load_config(text, args.config), args.part)
    if args.output_dir is None:
        sys.stdout.write("\n".join(outputs.values()))
        return 0
    os.makedirs(args.output_dir, exist_ok=True)
    for name, xml_text in outputs.items():
        path = os.path.join(args.output_dir, name)
        with open(path, "w", encoding="utf-8") as stream:
            stream.write(xml_text)
        print("wrote {}".format(path))
    return 0
