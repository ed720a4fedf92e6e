"""Turn existing GlideinWMS XML into the glidein-singularity YAML.

Give a frontend ``frontend.xml`` and/or a factory ``glideinWMS.xml``; their container attributes
become YAML keys and every other attribute is kept verbatim under ``extra_attrs``. What is not
carried over exactly is reported on standard error as ``WARNING: ...``. Run ``lint`` on the result.
Exit status: 0 imported, 1 the XML cannot be read as a GlideinWMS configuration, 2 usage error.
"""

import argparse
import sys

NAME = "import"
HELP = "import GlideinWMS frontend.xml / glideinWMS.xml into the YAML configuration"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the import arguments."""
    parser.add_argument(
        "xml",
        metavar="XML",
        nargs="+",
        help="a frontend.xml and/or a factory glideinWMS.xml (at most one each)",
    )
    parser.add_argument(
        "-o", "--output", metavar="FILE", help="write the YAML to FILE instead of standard output"
    )


def run(args: argparse.Namespace) -> int:
    """Import the files and write the YAML."""
    from ..frontend.importer import config_to_yaml, import_xml, merge_imports

    configs = []
    for path in args.xml:
        try:
            with open(path, encoding="utf-8") as stream:
                text = stream.read()
        except OSError as exc:
            print("ERROR: {}: cannot read: {}".format(path, exc.strerror or exc), file=sys.stderr)
            return 2
        config, warnings = import_xml(text, path)
        for warning in warnings:
            print("WARNING: {}".format(warning), file=sys.stderr)
        configs.append(config)
    header = (
        "# Imported by glidein-singularity import from {}; check it with glidein-singularity lint.\n".format(
            ", ".join(args.xml)
        )
    )
    text = config_to_yaml(merge_imports(configs), header)
    if args.output is None:
        sys.stdout.write(text)
    else:
        with open(args.output, "w", encoding="utf-8") as stream:
            stream.write(text)
    return 0
