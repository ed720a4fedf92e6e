"""Matchmaking of one job against candidate glideins, with the reasons in words (adapter, stdlib only).

A candidate is a machine ad (``condor_status -l`` text, several separated by blank lines, or
``condor_status -json``; or built from the YAML configuration by ``frontend.candidates``). ``match``
evaluates, with HTCondor's ClassAd library (``classad2``, imported when first needed):

1. our ``GS_START`` term (read by ``startexpr`` from ``60-glidein-singularity-start.config``) with the
   candidate as ``MY`` and the job as ``TARGET``; when it is false, its sub-terms say why;
2. the candidate's own ``Requirements`` (its ``START``), when the ad has one (real slot ads do);
3. the job's requirements, clause by clause (top-level ``&&``), with the job as ``MY``.

A clause that is undefined because it names an attribute neither ad has is a mismatch on a real slot
(HTCondor does not match on undefined), and only a note for a candidate built from the configuration,
which cannot know every attribute a glidein advertises (``Memory``, ``Arch`` ...). The slot's own
``START`` being undefined is a note as well: the job ad built from a submit file lacks attributes the
schedd adds (``Owner``, ``QDate`` ...).
"""

import json
import os
import re

from .errors import AdError, GlideinSingularityError
from .resources import CONFIG_D, candidates
from .startexpr import CONFIG_NAME, start_term

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

__all__ = [
    "CONFIG_SEARCH",
    "Candidate",
    "MatchResult",
    "classad_module",
    "find_start_config",
    "load_machine_ads",
    "load_start_terms",
    "match",
    "parse_machine_ads",
    "split_conjuncts",
]

#: Where the START configuration is looked for when ``--start-config`` is not given: the package's own
#: copy (package data of an installed wheel, else ``condor_config.d/`` of a source checkout), then
#: HTCondor's usual configuration directory.
CONFIG_SEARCH = (
    *(os.path.join(directory, CONFIG_NAME) for directory in candidates(CONFIG_D)),
    os.path.join("/etc/condor/config.d", CONFIG_NAME),
)

_EXPR_JSON = re.compile(r"^/Expr\((.*)\)/$", re.DOTALL)


class Candidate:
    """A glidein (or slot) to match: its name, old-ClassAd text, where it came from and notes.

    ``source`` is ``"config"`` (built from the YAML configuration) or ``"ads"`` (a real machine ad).
    ``failure``: when set, the glidein never starts (e.g. its negotiation fails) and ``text`` is empty.
    """

    __slots__ = ("failure", "name", "notes", "source", "text")

    def __init__(
        self, name: str, text: str, source: str, notes: "Sequence[str]" = (), failure: "Optional[str]" = None
    ) -> None:
        self.name = name
        self.text = text
        self.source = source
        self.notes = tuple(notes)
        self.failure = failure

    def __repr__(self) -> str:
        return "Candidate({!r}, source={!r}, failure={!r})".format(self.name, self.source, self.failure)


class MatchResult:
    """Whether the job matches the candidate, why not (sentences), and notes on what was not checked."""

    __slots__ = ("matched", "notes", "why_not")

    def __init__(self, why_not: "Sequence[str]", notes: "Sequence[str]") -> None:
        self.why_not = tuple(why_not)
        self.notes = tuple(notes)
        self.matched = not self.why_not


def classad_module() -> "Any":
    """Import ``classad2``; GlideinSingularityError when it is missing (matchmaking needs it)."""
    try:
        import classad2
    except ImportError:
        msg = (
            "matching a job against glideins needs HTCondor's ClassAd bindings (python module classad2, "
            "pip install htcondor)"
        )
        raise GlideinSingularityError(msg) from None
    return classad2


def find_start_config(given: "Optional[str]" = None) -> str:
    """The START configuration file: ``given``, else the first of ``CONFIG_SEARCH`` that exists."""
    if given:
        return given
    for path in CONFIG_SEARCH:
        if os.path.isfile(path):
            return os.path.normpath(path)
    msg = "cannot find {} (the START term); give its path with --start-config".format(CONFIG_NAME)
    raise GlideinSingularityError(msg)


def load_start_terms(given: "Optional[str]" = None) -> "Tuple[str, Dict[str, str]]":
    """``startexpr.start_term`` of the START configuration file (``find_start_config``)."""
    path = find_start_config(given)
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except OSError as exc:
        msg = "cannot read the START configuration {}: {}".format(path, exc.strerror or exc)
        raise GlideinSingularityError(msg) from exc
    try:
        return start_term(text)
    except ValueError as exc:
        msg = "{}: {}".format(path, exc)
        raise GlideinSingularityError(msg) from exc


# --- machine ads ------------------------------------------------------------------------------------


def _json_ads(text: str, module: "Any", where: str) -> "List[str]":
    try:
        data = json.loads(text)
    except ValueError as exc:
        msg = "{}: not condor_status -json output: {}".format(where, exc)
        raise AdError(msg) from exc
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
        msg = "{}: expected a JSON list of ads (condor_status -json)".format(where)
        raise AdError(msg)
    texts = []
    for item in data:
        ad = module.ClassAd()
        for name, value in item.items():
            found = _EXPR_JSON.match(value) if isinstance(value, str) else None
            try:
                ad[name] = module.ExprTree(found.group(1)) if found else value
            except Exception as exc:  # the bindings raise ValueError/ClassAdException
                msg = "{}: attribute {} = {!r} is not a ClassAd value: {}".format(where, name, value, exc)
                raise AdError(msg) from exc
        texts.append(ad.printOld())
    return texts


def parse_machine_ads(text: str, where: str, module: "Any") -> "List[Candidate]":
    """Split ``condor_status -l`` text (ads separated by blank lines) or ``-json`` output into candidates."""
    if text.lstrip().startswith(("[", "{")):
        texts = _json_ads(text, module, where)
    else:
        texts = []
        for ad in module.parseAds(text, module.ParserType.Old):
            if len(ad):
                texts.append(ad.printOld())
    if not texts:
        msg = "{}: no machine ads found".format(where)
        raise AdError(msg)
    candidates = []
    for number, ad_text in enumerate(texts, 1):
        ad = module.parseOne(ad_text, module.ParserType.Old)
        name = ad.get("Name")
        shown = name if isinstance(name, str) and name else "{} ad {}".format(os.path.basename(where), number)
        candidates.append(Candidate(shown, ad_text, "ads"))
    return candidates


def load_machine_ads(path: str, module: "Any") -> "List[Candidate]":
    """Read a machine ads file (see ``parse_machine_ads``)."""
    try:
        with open(path, encoding="utf-8", errors="surrogateescape") as handle:
            text = handle.read()
    except OSError as exc:
        msg = "cannot read the machine ads {}: {}".format(path, exc.strerror or exc)
        raise AdError(msg) from exc
    return parse_machine_ads(text, path, module)


# --- expressions --------------------------------------------------------------------------------------


def split_conjuncts(expr: str) -> "List[str]":
    """Split an expression at its top-level ``&&`` (outside parentheses, brackets and strings).

    One clause wrapped in parentheses as a whole is unwrapped and split again.
    """
    text = expr.strip()
    while text.startswith("(") and _closing(text, 0) == len(text) - 1:
        text = text[1:-1].strip()
    parts: List[str] = []
    depth = 0
    start = pos = 0
    while pos < len(text):
        char = text[pos]
        if char == '"':
            pos = _string_end(text, pos)
        elif char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif depth == 0 and text.startswith("&&", pos):
            parts.append(text[start:pos].strip())
            start = pos + 2
            pos += 1
        pos += 1
    parts.append(text[start:].strip())
    if len(parts) == 1:
        return parts
    return [clause for part in parts for clause in split_conjuncts(part)]


def _string_end(text: str, pos: int) -> int:
    pos += 1
    while pos < len(text) and text[pos] != '"':
        pos += 2 if text[pos] == "\\" else 1
    return pos


def _closing(text: str, start: int) -> int:
    depth = 0
    pos = start
    while pos < len(text):
        char = text[pos]
        if char == '"':
            pos = _string_end(text, pos)
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                return pos
        pos += 1
    return -1


class _Scope:
    """The two ads of a match, as bindings objects, and evaluation helpers."""

    def __init__(self, module: "Any", job_text: str, machine_text: str) -> None:
        self.module = module
        self.job = module.parseOne(job_text, module.ParserType.Old)
        self.machine = module.parseOne(machine_text, module.ParserType.Old)

    def on_machine(self, expr: str) -> "Any":
        return self._eval(expr, self.machine, self.job)

    def on_job(self, expr: str) -> "Any":
        return self._eval(expr, self.job, self.machine)

    def _eval(self, expr: str, scope: "Any", target: "Any") -> "Any":
        try:
            return self.module.ExprTree(expr).eval(scope, target)
        except Exception:  # a clause the library cannot parse or evaluate counts as an error value
            return self.module.Value.Error

    def missing(self, expr: str, scope: "Any") -> "List[str]":
        """Attribute names ``expr`` refers to that neither ad defines."""
        try:
            refs = scope.externalRefs(self.module.ExprTree(expr))
        except Exception:
            return []
        names = []
        for ref in refs:
            name = ref.split(".", 1)[1] if ref.lower().startswith(("my.", "target.")) else ref
            if name and name not in self.machine and name not in self.job and name not in names:
                names.append(name)
        return names

    def value(self, name: str, ad: "Any") -> str:
        if name not in ad:
            return "absent"
        return str(ad.lookup(name))


def _is_true(value: "Any") -> bool:
    return value is True


def _defined(value: "Any", module: "Any") -> bool:
    return not isinstance(value, module.Value)


def _cannot_run(scope: _Scope) -> str:
    """Why the candidate cannot run containers, in words."""
    machine = scope.machine
    healthy = machine.get("GS_HEALTHY")
    if healthy is False:
        return "its health probe marked it unhealthy (GS_HEALTHY is false)"
    return "HAS_SINGULARITY is {}".format(scope.value("HAS_SINGULARITY", machine))


def _image_why_not(scope: _Scope, terms: "Mapping[str, str]", can_run: bool) -> str:
    image = scope.job.get("SingularityImage")
    if image is None:  # universe = container
        image = scope.job.get("ContainerImage")
    if not can_run:
        return 'the job names the image "{}" but the glidein cannot run containers ({})'.format(
            image, _cannot_run(scope)
        )
    if "GS_JOB_IMAGE_KIND_ALLOWED" in terms and not _is_true(
        scope.on_machine(terms["GS_JOB_IMAGE_KIND_ALLOWED"])
    ):
        restrictions = scope.on_machine(terms.get("GS_SLOT_RESTRICTIONS", "undefined"))
        if _is_true(scope.on_machine(terms.get("GS_JOB_IMAGE_IS_REMOTE", "false"))):
            template = 'the image "{}" is remote but SINGULARITY_IMAGE_RESTRICTIONS is "{}" (no "remote")'
        else:
            template = 'the image "{}" is not under /cvmfs but SINGULARITY_IMAGE_RESTRICTIONS is "{}"'
        return template.format(image, restrictions)
    if "GS_JOB_IMAGE_SOURCE_ALLOWED" in terms and not _is_true(
        scope.on_machine(terms["GS_JOB_IMAGE_SOURCE_ALLOWED"])
    ):
        return (
            'the image "{}" is not an allowed image source here (GS_IMAGE_ALLOW_REGEX {}, '
            "GS_IMAGE_DENY_REGEX {})".format(
                image,
                scope.value("GS_IMAGE_ALLOW_REGEX", scope.machine),
                scope.value("GS_IMAGE_DENY_REGEX", scope.machine),
            )
        )
    return "the START term GS_START_IMAGE is false for the image {!r}".format(image)


def _os_why_not(scope: _Scope, can_run: bool) -> str:
    required_os = scope.job.get("REQUIRED_OS")
    os_list = scope.machine.get("SINGULARITY_OS_LIST")
    if not can_run:
        return 'the job\'s REQUIRED_OS "{}" needs containers but the glidein cannot run them ({})'.format(
            required_os, _cannot_run(scope)
        )
    if not isinstance(os_list, str):
        return (
            'the job\'s REQUIRED_OS "{}" is not served: the glidein advertises no SINGULARITY_OS_LIST'.format(
                required_os
            )
        )
    return 'the job\'s REQUIRED_OS "{}" is not served: SINGULARITY_OS_LIST is "{}"'.format(
        required_os, os_list
    )


def _start_why_not(scope: _Scope, gs_start: str, terms: "Mapping[str, str]") -> "List[str]":
    """The GS_START sub-terms that are false, in words (empty when GS_START is true)."""
    if _is_true(scope.on_machine(gs_start)):
        return []
    can_run = _is_true(scope.on_machine(terms.get("GS_CAN_RUN_CONTAINERS", "false")))
    reasons = []
    for name, expr in terms.items():
        if not name.startswith("GS_START_") or _is_true(scope.on_machine(expr)):
            continue
        if name == "GS_START_IMAGE":
            reasons.append(_image_why_not(scope, terms, can_run))
        elif name == "GS_START_OS":
            reasons.append(_os_why_not(scope, can_run))
        elif name == "GS_START_REQUIRED":
            reasons.append(
                'the glidein requires containers (GWMS_SINGULARITY_STATUS is "REQUIRED") but cannot run '
                "them ({})".format(_cannot_run(scope))
            )
        else:
            reasons.append("the START term {} is false for this job".format(name))
    if not reasons:
        reasons.append("the START term GS_START is false for this job")
    return reasons


def match(
    job_text: str,
    requirements: "Iterable[str]",
    candidate: Candidate,
    start: "Tuple[str, Mapping[str, str]]",
    module: "Any",
) -> MatchResult:
    """Match the job (old-ClassAd text and its requirements clauses) against one candidate.

    ``start``: ``startexpr.start_term`` of the START configuration (``load_start_terms``).
    """
    if candidate.failure is not None:
        return MatchResult(["the glidein does not start: {}".format(candidate.failure)], ())
    scope = _Scope(module, job_text, candidate.text)
    why_not = _start_why_not(scope, start[0], start[1])
    notes: List[str] = []
    if candidate.source == "ads" and "Requirements" in scope.machine:
        own = str(scope.machine.lookup("Requirements"))
        value = scope.on_machine(own)
        if value is False:
            why_not.append("the slot's own START (its Requirements) is false for this job")
        elif not _is_true(value):
            missing = scope.missing(own, scope.machine)
            notes.append(
                "not checked: the slot's own START is undefined for this job{}".format(
                    " (it refers to {}, which the submit file does not set)".format(", ".join(missing))
                    if missing
                    else ""
                )
            )
    for clause in (c for requirement in requirements for c in split_conjuncts(requirement)):
        value = scope.on_job(clause)
        if _is_true(value):
            continue
        if value is False:
            why_not.append("the job's requirement ({}) is false on this glidein".format(clause))
            continue
        missing = scope.missing(clause, scope.job)
        refers = " (it refers to {})".format(", ".join(missing)) if missing else ""
        if candidate.source == "config" and missing:
            notes.append(
                "not checked: the job's requirement ({}) refers to {}, which the configuration does not "
                "determine".format(clause, ", ".join(missing))
            )
        elif _defined(value, module):
            why_not.append(
                "the job's requirement ({}) is {!r}, not true, on this glidein".format(clause, value)
            )
        else:
            why_not.append("the job's requirement ({}) is undefined on this glidein{}".format(clause, refers))
    return MatchResult(why_not, notes)
