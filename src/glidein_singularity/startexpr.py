"""The container-aware START term, read from its one source: ``60-glidein-singularity-start.config`` (pure).

The HTCondor configuration file in ``condor_config.d/`` is what execution points and glideins run;
``explain --submit`` and the tests evaluate the same text. ``parse_macros`` reads the file's
``NAME = value`` lines (comments skipped, backslash continuations joined) and ``expand`` replaces
``$(NAME)`` references the way ``condor_config_val`` does, so ``expand("$(GS_START)", table)`` is the
expression a slot appends to its ``START``.

``SUBTERMS`` names the macros ``explain`` evaluates one by one to say in words why a slot refuses a job;
``start_term`` also expands every other ``GS_START_*`` macro, so a term added to the file is reported
by name even before ``explain`` has words for it. (``GS_START_NAMED``, the startd's own form that refers
to the terms published as slot attributes, is not a term: a test keeps it equal to ``GS_START``.)
"""

import re

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from typing import Dict, Mapping, Match, Tuple

__all__ = ["CONFIG_NAME", "SUBTERMS", "expand", "parse_macros", "start_term"]

#: The file's name in ``condor_config.d/`` (and in an HTCondor ``config.d`` directory).
CONFIG_NAME = "60-glidein-singularity-start.config"

#: The macros whose values ``explain`` reports separately, in the order it checks them.
SUBTERMS = (
    "GS_CAN_RUN_CONTAINERS",
    "GS_SLOT_RESTRICTIONS",
    "GS_JOB_IMAGE_IS_REMOTE",
    "GS_JOB_IMAGE_KIND_ALLOWED",
    "GS_JOB_IMAGE_SOURCE_ALLOWED",
    "GS_START_IMAGE",
    "GS_START_OS",
    "GS_START_REQUIRED",
    "GS_START",
)

_CONTINUATION = re.compile(r"\\\n[ \t]*")
_REFERENCE = re.compile(r"\$\((\w+)\)")
_MAX_DEPTH = 20


def parse_macros(text: str) -> "Dict[str, str]":
    """Return the ``NAME = value`` macros of a configuration text (the last one wins, as in HTCondor).

    Raises ``ValueError`` for a line that is neither a comment, blank, nor ``NAME = value``.
    """
    table: Dict[str, str] = {}
    for number, line in enumerate(_CONTINUATION.sub(" ", text).splitlines(), 1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        name, equals, value = stripped.partition("=")
        name = name.strip()
        if not equals or not re.match(r"^[A-Za-z_][A-Za-z0-9_.]*$", name):
            msg = "line {}: {!r} is not NAME = value".format(number, stripped)
            raise ValueError(msg)
        table[name] = value.strip()
    return table


def expand(value: str, table: "Mapping[str, str]") -> str:
    """Expand every ``$(NAME)`` in ``value`` from ``table``; ``ValueError`` for an unknown name or a loop."""

    def lookup(match: "Match[str]") -> str:
        name = match.group(1)
        if name not in table:
            msg = "$({}) is not defined".format(name)
            raise ValueError(msg)
        return table[name]

    for _ in range(_MAX_DEPTH):
        new = _REFERENCE.sub(lookup, value)
        if new == value:
            return new
        value = new
    msg = "macro expansion did not end after {} rounds (a macro refers to itself)".format(_MAX_DEPTH)
    raise ValueError(msg)


def start_term(text: str) -> "Tuple[str, Dict[str, str]]":
    """Return the expanded ``GS_START`` and the expanded ``SUBTERMS`` and ``GS_START_*`` macros (file order).

    A ``SUBTERMS`` name the file does not define is left out; ``GS_START`` itself must be defined.
    """
    table = parse_macros(text)
    names = [
        name
        for name in table
        if (name in SUBTERMS or name.startswith("GS_START_")) and name != "GS_START_NAMED"
    ]
    terms = {name: expand("$({})".format(name), table) for name in names}
    return expand("$(GS_START)", table), terms
