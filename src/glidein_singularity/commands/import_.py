"""Turn existing GlideinWMS XML into the glidein-singularity YAML.

Give a frontend ``frontend.xml`` and/or a factory ``glideinWMS.xml``; their container attributes
become YAML keys and every other attribute is kept verbatim under ``extra_attrs``. What is not
carried over exactly is reported on standard error as ``WARNING: ...`` (a decision for you), first;
then ``note: ...`` lines say what was kept verbatim (``--quiet`` leaves them out). Run ``lint`` on the
result.
Exit status: 0 imported, 1 the XML cannot be read as a GlideinWMS configuration, 2 usage error.
"""

import argparse
import sys

from ._inputs import read_text


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
    parser.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        help="print only what needs a decision (WARNING), not the notes on what was carried over verbatim",
    )


def run(args: argparse.Namespace) -> int:
    """Import the files and write the YAML."""
    from ..frontend.importer import config_to_yaml, import_xml_split, merge_imports

    configs = []
    decisions: list[str] = []
    notes: list[str] = []
    for path in args.xml:
        text = read_text(path, "xml")
        if text is None:
            return 2
        config, file_decisions, file_notes = import_xml_split(text, path)
        decisions.extend(file_decisions)
        notes.extend(file_notes)
        configs.append(config)
    for decision in decisions:
        print("WARNING: {}".format(decision), file=sys.stderr)
    if not args.quiet:
        for note in notes:
            print("note: {}".format(note), file=sys.stderr)
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
