"""The health probe's rules (pure): the verdict from the gathered facts, the black-hole accounting,
the startd-cron output and its escaping, and the text formats it reads (``node/health.py`` gathers the
facts and publishes).
"""

import re
from typing import Dict, List, NamedTuple, Optional, Sequence, Tuple, Union

__all__ = [
    "ATTRIBUTES",
    "Check",
    "HealthFacts",
    "Marker",
    "Value",
    "account_failures",
    "classad_string",
    "cvmfs_repositories",
    "evaluate",
    "format_cron_output",
    "parse_node_config",
    "plural",
    "verdict_attributes",
]

#: Attributes published, in order.
ATTRIBUTES = (
    "HAS_SINGULARITY",
    "GS_HEALTHY",
    "GS_HEALTH_REASON",
    "GS_HEALTH_CHECKED",
    "GS_CONSECUTIVE_FAILURES",
)
_MAX_REASON = 1000

Value = Union[bool, int, str]


# --- pure core ------------------------------------------------------------------------------------


class Marker(NamedTuple):
    """The job wrapper's black-hole marker: consecutive node-side launch failures, and the last one's time."""

    failures: int
    #: Epoch seconds of the last failure (the file's mtime); 0 when there is no file.
    when: float


class Check(NamedTuple):
    """One probed thing: its label (``runtime /usr/bin/apptainer``, ``image /cvmfs/...``), result, detail."""

    label: str
    ok: bool
    #: On success what was seen (e.g. the mode), on failure the first error line.
    detail: str


class HealthFacts(NamedTuple):
    """Everything one run found, already gathered; ``evaluate`` turns it into attributes."""

    #: "" when containers are used; else why not (nothing is probed then).
    not_used: str
    #: Problems reading the configuration (each a one-line message); they make the slot unhealthy.
    config_errors: Tuple[str, ...]
    runtime: Optional[Check]
    images: Tuple[Check, ...]
    repos: Tuple[Check, ...]
    #: Consecutive pre-start failures still counted (after releases).
    failures: int
    #: Failures released this run (quarantine over), for the reason text.
    released: int
    #: False when the startup script's results could not be found: then HAS_SINGULARITY is left as the
    #: startup script advertised it (a misconfigured probe must never switch a PREFERRED node to bare runs).
    sources_found: bool = True
    #: The glidein's image store, in words ("" when there is none yet): reported, never a health verdict
    #: (only jobs naming remote images need it; the wrapper requeues those when it cannot be used).
    store: str = ""


def classad_string(text: str) -> str:
    """Quote ``text`` as a ClassAd string that reads the same in old and new ClassAd syntax.

    The startd parses cron output as old-syntax ClassAds, where a backslash escapes only ``"``; new
    syntax also reads ``\\\\`` and ``\\n``. A string without backslashes, double quotes and control
    characters means the same in both, so those become ``/``, ``'`` and a blank. Cut to 1000 characters.
    """
    out = []
    for char in text:
        if char == "\\":
            out.append("/")
        elif char == '"':
            out.append("'")
        elif char < " " or char == "\x7f" or "\udc80" <= char <= "\udcff":
            out.append(" ")
        else:
            out.append(char)
    folded = " ".join("".join(out).split())
    if len(folded) > _MAX_REASON:
        folded = folded[: _MAX_REASON - 3] + "..."
    return '"' + folded + '"'


def _literal(value: Value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return classad_string(value)


def format_cron_output(attributes: Sequence[Tuple[str, Value]], changed: bool) -> str:
    """Startd-cron output: ``Name = value`` lines, then ``- update:true`` when ``changed``."""
    lines = ["{} = {}".format(name, _literal(value)) for name, value in attributes]
    if changed:
        lines.append("- update:true")
    return "\n".join(lines) + "\n"


def plural(count: int, one: str, many: str) -> str:
    return "{} {}".format(count, one if count == 1 else many)


def account_failures(
    marker: Marker, released: int, now: float, hold: float, limit: int, checks_ok: bool
) -> Tuple[int, int]:
    """Return (failures still counted, released count to store) for one run.

    ``released`` is the marker count the probe already let go. A marker count below it means the wrapper
    reset the count since, so nothing stays released. Counted failures at or above ``limit`` are released
    when the last one is ``hold`` seconds old and the probe's own checks pass: the slot gets another chance.
    """
    if marker.failures < released:
        released = 0
    counted = marker.failures - released
    if counted >= limit and checks_ok and now - marker.when >= hold:
        return 0, marker.failures
    return counted, released


def evaluate(facts: HealthFacts, limit: int, now: int) -> List[Tuple[str, Value]]:
    """Turn the facts into the published attributes (see the module docstring for their meaning)."""
    if not facts.sources_found:
        attributes = verdict_attributes(False, False, "; ".join(facts.config_errors), now, facts.failures)
        return [(name, value) for name, value in attributes if name != "HAS_SINGULARITY"]
    if facts.not_used:
        return verdict_attributes(False, True, "containers not used: " + facts.not_used, now, facts.failures)
    problems = list(facts.config_errors)
    if facts.failures >= limit:
        problems.append(
            "the job wrapper reported {} in a row (limit {}; its messages are in the StarterLog)".format(
                plural(facts.failures, "pre-start failure", "pre-start failures"), limit
            )
        )
    if facts.runtime is not None and not facts.runtime.ok:
        problems.append("{} failed: {}".format(facts.runtime.label, facts.runtime.detail))
    for check in facts.images + facts.repos:
        if not check.ok:
            problems.append("{}: {}".format(check.label, check.detail))
    if problems:
        return verdict_attributes(False, False, "; ".join(problems), now, facts.failures)
    parts = []
    if facts.runtime is not None:
        parts.append("{} ({})".format(facts.runtime.label, facts.runtime.detail))
    parts.append(plural(len(facts.images), "image present", "images present"))
    parts.append(plural(len(facts.repos), "CVMFS repository reachable", "CVMFS repositories reachable"))
    if facts.failures:
        parts.append(
            "{} in a row (limit {})".format(
                plural(facts.failures, "pre-start failure", "pre-start failures"), limit
            )
        )
    if facts.released:
        parts.append(
            "released {} after the hold time".format(
                plural(facts.released, "earlier pre-start failure", "earlier pre-start failures")
            )
        )
    if facts.store:
        parts.append(facts.store)
    return verdict_attributes(True, True, "ok: " + ", ".join(parts), now, facts.failures)


def verdict_attributes(
    has: bool, healthy: bool, reason: str, now: int, failures: int
) -> List[Tuple[str, Value]]:
    return list(zip(ATTRIBUTES, (has, healthy, reason, now, failures)))


def cvmfs_repositories(images: Sequence[str], cvmfs_mount_dir: str) -> List[str]:
    """The CVMFS repository names the image paths live in (``/cvmfs/<repo>/...``), in order, once each."""
    repos: List[str] = []
    root = (cvmfs_mount_dir or "/cvmfs").rstrip("/") or "/"
    for image in images:
        for top in (root, "/cvmfs"):
            if image.startswith(top + "/"):
                repo = image[len(top) + 1 :].split("/", 1)[0]
                if repo and repo not in repos:
                    repos.append(repo)
                break
    return repos


def parse_node_config(text: str) -> Dict[str, str]:
    """The ``NAME = value`` macros of the config.d file ``gs-setup --standalone`` writes, unquoted.

    Quoted values lose their quotes and ``\\``/``\"`` escapes, ``$(DOLLAR)`` becomes ``$``; other
    values are kept as written. Comments, blank lines and ``STARTD_ATTRS`` are skipped.
    """
    values: Dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, value = line.partition("=")
        name, value = name.strip(), value.strip()
        if not sep or not name or name.upper() == "STARTD_ATTRS":
            continue
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = re.sub(r"\\(.)", r"\1", value[1:-1])
        values[name] = value.replace("$(DOLLAR)", "$")
    return values
