"""Render a frontend/factory YAML file to GlideinWMS XML.

``frontend.xml`` holds the frontend's global ``<attrs>`` and ``<files>`` (the glidein-singularity
bundle, startup script and job wrapper) and each group's ``<attrs>``; ``factory.xml`` holds the
factory's global and per-entry ``<attrs>``. Merge them into the real configuration files.
Without ``-o`` the XML goes to standard output. A file in which ``lint`` finds errors is not rendered
(its errors are printed) unless ``--force`` is given.
Exit status: 0 rendered, 1 the YAML has a problem (lint errors, or YAML that does not parse), 2 usage
error (including an unreadable file, or XML given instead of YAML).
"""

import argparse
import os
import sys

from ._inputs import read_text


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
        "--force",
        action="store_true",
        help="render even when lint finds errors (they are still printed)",
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
    from ..frontend.findings import Severity
    from ..frontend.lint import lint_document
    from ..frontend.render import render
    from ..frontend.yamlsource import parse_yaml

    text = read_text(args.config, "yaml")
    if text is None:
        return 2
    errors = [f for f in lint_document(parse_yaml(text, args.config)) if f.severity is Severity.ERROR]
    for f in errors:
        print(
            "{}:{}: {} {}: {}: {}".format(f.filename, f.line, f.rule, f.severity.value, f.key, f.message),
            file=sys.stderr,
        )
    if errors and not args.force:
        print(
            "ERROR: {}: not rendered: lint found {} error(s); fix them, or give --force".format(
                args.config, len(errors)
            ),
            file=sys.stderr,
        )
        return 1
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
