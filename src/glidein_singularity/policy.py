"""Negotiation of the frontend wish with the factory rule (pure).

The frontend sets ``GLIDEIN_Singularity_Use``, the factory entry sets ``GLIDEIN_SINGULARITY_REQUIRE``;
``negotiate`` combines them with GlideinWMS's decision table (``NEGOTIATION_TABLE``, the single source of
truth that the glidein setup script, the frontend lint and the docs all read).

Defaults as in GlideinWMS: an unset or empty frontend value means ``DISABLE_GWMS``, an unset or empty
factory value means ``OPTIONAL``. Values are compared case-insensitively, surrounding blanks ignored.
"""

import enum
import types
from typing import Mapping, NamedTuple, Optional, Sequence, Tuple

__all__ = [
    "NEGOTIATION_TABLE",
    "REQUIRE_ATTR",
    "REQUIRE_DEFAULT",
    "REQUIRE_VALUES",
    "USE_ATTR",
    "USE_DEFAULT",
    "USE_VALUES",
    "Negotiation",
    "Outcome",
    "negotiate",
]

#: The frontend attribute (VO wish) and its accepted values.
USE_ATTR = "GLIDEIN_Singularity_Use"
USE_VALUES = ("DISABLE_GWMS", "NEVER", "OPTIONAL", "PREFERRED", "REQUIRED")
USE_DEFAULT = "DISABLE_GWMS"

#: The factory entry attribute (site rule) and its accepted values.
REQUIRE_ATTR = "GLIDEIN_SINGULARITY_REQUIRE"
REQUIRE_VALUES = ("NEVER", "OPTIONAL", "PREFERRED", "REQUIRED", "REQUIRED_GWMS")
REQUIRE_DEFAULT = "OPTIONAL"

#: The error_gen failure type of every negotiation failure.
VO_CONFIG = "VO_Config"


class Outcome(enum.Enum):
    """What the glidein does with containers after negotiation."""

    #: Incompatible or invalid settings: the glidein fails (error type VO_Config).
    FAIL = "FAIL"
    #: GlideinWMS container support is off: nothing is advertised, jobs run as usual.
    DISABLE = "DISABLE"
    #: Containers are not used: ``HAS_SINGULARITY=False`` is advertised.
    NEVER = "NEVER"
    #: Containers are used if a runtime and an image work; otherwise jobs run without one.
    PREFERRED = "PREFERRED"
    #: Containers are used; without a working runtime or image the glidein fails.
    REQUIRED = "REQUIRED"


_F = Outcome.FAIL
_D = Outcome.DISABLE
_N = Outcome.NEVER
_P = Outcome.PREFERRED
_R = Outcome.REQUIRED

# Rows: frontend USE_VALUES; columns: factory REQUIRE_VALUES (same order as the tuples above).
_ROWS: Sequence[Tuple[str, Sequence[Outcome]]] = (
    ("DISABLE_GWMS", (_D, _D, _D, _D, _F)),
    ("NEVER", (_N, _N, _N, _F, _F)),
    ("OPTIONAL", (_N, _N, _P, _R, _R)),
    ("PREFERRED", (_N, _P, _P, _R, _R)),
    ("REQUIRED", (_F, _R, _R, _R, _R)),
)

#: (frontend GLIDEIN_Singularity_Use, factory GLIDEIN_SINGULARITY_REQUIRE) -> Outcome, every cell.
NEGOTIATION_TABLE: Mapping[Tuple[str, str], Outcome] = types.MappingProxyType(
    {(use, require): outcome for use, row in _ROWS for require, outcome in zip(REQUIRE_VALUES, row)}
)


class Negotiation(NamedTuple):
    """The result of ``negotiate``: the outcome, the normalized inputs and why."""

    outcome: Outcome
    #: Frontend value after defaults and normalization (the stripped original when invalid).
    use: str
    #: Factory value after defaults and normalization (the stripped original when invalid).
    require: str
    #: One human sentence naming both attributes and their values.
    reason: str
    #: ``None``, or the error_gen failure type (``"VO_Config"``) when the outcome is FAIL.
    error_type: Optional[str]


def _normalize(value: Optional[str], default: str) -> str:
    stripped = (value or "").strip()
    return stripped.upper() if stripped else default


def _invalid_message(attr: str, value: str, accepted: Sequence[str]) -> str:
    import difflib  # only on this error path: it costs a few ms at glidein startup

    message = "{}={!r} is not valid; accepted values: {}".format(attr, value, ", ".join(accepted))
    close = difflib.get_close_matches(value.upper(), accepted, n=1)
    if close:
        message += " (did you mean {}?)".format(close[0])
    return message


def _inputs(use: str, require: str) -> str:
    return "{}={}, {}={}".format(USE_ATTR, use, REQUIRE_ATTR, require)


def _reason(outcome: Outcome, use: str, require: str) -> str:
    inputs = _inputs(use, require)
    if outcome is Outcome.FAIL:
        if use == "REQUIRED":
            conflict = "the frontend requires containers but the factory entry forbids them"
        elif use == "NEVER":
            conflict = "the frontend never wants containers but the factory entry requires them"
        else:
            conflict = "the factory entry requires GlideinWMS container support but the frontend disabled it"
        return "{} ({})".format(conflict, inputs)
    if outcome is Outcome.DISABLE:
        return "GlideinWMS container support is disabled by the frontend ({})".format(inputs)
    if outcome is Outcome.NEVER:
        return "containers are not used ({})".format(inputs)
    if outcome is Outcome.PREFERRED:
        return "containers are used if a runtime and an image work, else jobs run without ({})".format(inputs)
    return "containers are required ({})".format(inputs)


def negotiate(use: Optional[str], require: Optional[str]) -> Negotiation:
    """Combine the frontend ``GLIDEIN_Singularity_Use`` with the factory ``GLIDEIN_SINGULARITY_REQUIRE``."""
    norm_use = _normalize(use, USE_DEFAULT)
    norm_require = _normalize(require, REQUIRE_DEFAULT)
    problems = []
    if norm_use not in USE_VALUES:
        norm_use = (use or "").strip()
        problems.append(_invalid_message(USE_ATTR, norm_use, USE_VALUES))
    if norm_require not in REQUIRE_VALUES:
        norm_require = (require or "").strip()
        problems.append(_invalid_message(REQUIRE_ATTR, norm_require, REQUIRE_VALUES))
    if problems:
        return Negotiation(Outcome.FAIL, norm_use, norm_require, "; ".join(problems), VO_CONFIG)
    outcome = NEGOTIATION_TABLE[(norm_use, norm_require)]
    error_type = VO_CONFIG if outcome is Outcome.FAIL else None
    return Negotiation(outcome, norm_use, norm_require, _reason(outcome, norm_use, norm_require), error_type)
