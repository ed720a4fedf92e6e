"""Turn a condor_submit file into the job ad attributes ``explain --submit`` needs (adapter, stdlib only).

The submit language is read by the HTCondor bindings (``htcondor2.Submit``) when they are importable:
they handle macros (``$(NAME)``, ``$(Process)``, ``$ENV(...)``), ``if``/``else``, ``include`` and the
queue statement; the first job of the queue statement is the one explained (with the first item of a
``queue ... from/in/matching`` list). The bindings of HTCondor 25 do not build job ads from a submit
description (``Submit.jobs()`` is not implemented), so the submit commands that matter here are
turned into job ad attributes below, as condor_submit names them:

=====================  =========================================================================
submit command          job ad attribute
=====================  =========================================================================
``+Name``/``MY.Name``   ``Name``, the value as a ClassAd expression (verbatim)
``executable``          ``Cmd``, made absolute against ``initialdir`` (or the current directory)
``arguments``           ``Arguments`` for the new syntax (the value in double quotes), else ``Args``
``environment``         ``Environment`` for the new syntax (the value in double quotes), else ``Env``
``request_gpus``        ``RequestGPUs``; the requirements also get ``(TARGET.GPUs >= RequestGPUs)``
``request_cpus``        ``RequestCpus``
``requirements``        ``Requirements``
``transfer_executable`` ``TransferExecutable``
``initialdir``          ``Iwd``
=====================  =========================================================================

The requirements clauses condor_submit adds itself (``Arch``, ``OpSys``, ``Disk``, ``Memory``,
``HasFileTransfer``) are not added; ``SubmitJob.notes`` says so.

Without the bindings (a worker node), ``parse_fallback`` reads the same subset exactly: comments,
``NAME = value`` and ``+NAME = value`` lines, backslash continuations, and a ``queue`` line. A macro,
``if``/``include``/``use`` or any other line is an error naming the line, never a guess.
"""

import os
import re

from .classad import format_literal, parse_literal
from .condor_words import WordsError, split_args
from .errors import GlideinSingularityError

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

__all__ = [
    "GPU_CLAUSE",
    "SubmitError",
    "SubmitJob",
    "job_argv",
    "job_from_commands",
    "load_submit",
    "parse_fallback",
    "parse_with_bindings",
    "split_args_v1",
    "split_args_v2",
]

#: The clause condor_submit adds to the requirements of a job that asks for GPUs.
GPU_CLAUSE = "(TARGET.GPUs >= RequestGPUs)"
_NOT_ADDED = (
    "the requirements clauses condor_submit adds itself (Arch, OpSys, Disk, Memory, HasFileTransfer) "
    "are not checked"
)
_FALLBACK_NOTE = "the htcondor2 bindings are not importable: the submit file was read by the built-in parser"
_COMMAND_RE = re.compile(r"^([A-Za-z_][A-Za-z0-9_.]*)\s*=\s*(.*)$")
_ATTR_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_FALLBACK_UNSUPPORTED = ("if", "elif", "else", "endif", "include", "use", "error", "warning")


class SubmitError(GlideinSingularityError, ValueError):
    """The submit file cannot be read or holds something the reader cannot turn into a job ad."""


class SubmitJob:
    """The job ad attributes of the first job of a submit file, in order, with notes on how they were read.

    ``attributes``: (name, ClassAd expression text) pairs; ``requirements``: the clauses of
    ``Requirements`` as written (the user's requirements, then ``GPU_CLAUSE`` when GPUs are requested).
    """

    __slots__ = ("attributes", "notes", "reader", "requirements")

    def __init__(
        self,
        attributes: "Sequence[Tuple[str, str]]",
        requirements: "Sequence[str]",
        notes: "Sequence[str]",
        reader: str,
    ) -> None:
        self.attributes = tuple(attributes)
        self.requirements = tuple(requirements)
        self.notes = tuple(notes)
        self.reader = reader

    def get(self, name: str) -> "Optional[str]":
        """The expression text of ``name`` (case-insensitive), or None."""
        for key, value in self.attributes:
            if key.lower() == name.lower():
                return value
        return None

    def ad_text(self) -> str:
        """The attributes as old-ClassAd ``Name = value`` lines (``condor_q -l`` text)."""
        return "".join("{} = {}\n".format(name, value) for name, value in self.attributes)

    def __repr__(self) -> str:
        return "SubmitJob({!r}, {!r}, {!r}, {!r})".format(
            self.attributes, self.requirements, self.notes, self.reader
        )


def _unquote_v2(value: str) -> "Optional[str]":
    """The inner text of a new-syntax value ``"..."`` (``""`` is a quote), or None for old syntax."""
    if len(value) >= 2 and value.startswith('"') and value.endswith('"'):
        return value[1:-1].replace('""', '"')
    return None


def split_args_v2(text: str) -> "List[str]":
    """Split new-syntax arguments as HTCondor does (``condor_words.split_args``)."""
    try:
        return split_args(text)
    except WordsError as exc:
        msg = "arguments {!r}: {}".format(text, exc)
        raise SubmitError(msg) from exc


def split_args_v1(text: str) -> "List[str]":
    """Split old-syntax arguments (``Args``): blanks separate, nothing is quoted."""
    return text.split()


def job_from_commands(
    commands: "Sequence[Tuple[str, str]]", cwd: str, reader: str, notes: "Sequence[str]" = ()
) -> SubmitJob:
    """Turn (submit command, expanded value) pairs into a ``SubmitJob`` (see the module docstring)."""
    values: Dict[str, str] = {}
    plus: List[Tuple[str, str]] = []
    for key, value in commands:
        if key.lower().startswith("my."):
            name = key[3:]
            if not _ATTR_RE.match(name):
                msg = "+{} is not a job attribute name".format(name)
                raise SubmitError(msg)
            plus = [item for item in plus if item[0].lower() != name.lower()]
            plus.append((name, value))
        else:
            values[key.lower()] = value
    attributes: List[Tuple[str, str]] = []
    all_notes = list(notes)
    iwd = os.path.normpath(os.path.join(cwd, values.get("initialdir") or "."))
    executable = values.get("executable", "")
    if not executable:
        raise SubmitError("the submit file names no executable")
    attributes.append(("Cmd", format_literal(os.path.normpath(os.path.join(iwd, executable)))))
    attributes.append(("Iwd", format_literal(iwd)))
    for command, v2_name, v1_name in (
        ("arguments", "Arguments", "Args"),
        ("environment", "Environment", "Env"),
    ):
        if command in values:
            inner = _unquote_v2(values[command])
            if inner is None:
                attributes.append((v1_name, format_literal(values[command])))
            else:
                attributes.append((v2_name, format_literal(inner)))
    transfer = values.get("transfer_executable", "").strip().lower()
    if transfer:
        attributes.append(("TransferExecutable", "false" if transfer in ("false", "no", "0") else "true"))
    for command, name in (("request_cpus", "RequestCpus"), ("request_gpus", "RequestGPUs")):
        if values.get(command, "").strip():
            attributes.append((name, values[command].strip()))
    requirements: List[str] = []
    if values.get("requirements", "").strip():
        requirements.append(values["requirements"].strip())
    gpus = values.get("request_gpus", "").strip()
    if gpus and gpus != "0":
        requirements.append(GPU_CLAUSE)
    if len(requirements) == 1:
        attributes.append(("Requirements", requirements[0]))
    elif requirements:
        attributes.append(("Requirements", "({}) && {}".format(requirements[0], GPU_CLAUSE)))
    universe = values.get("universe", "vanilla").strip().lower()
    if universe != "vanilla":
        all_notes.append(
            "universe {}: the glidein-singularity wrapper runs vanilla-universe jobs".format(universe)
        )
    known = {name.lower() for name, _ in attributes}
    for name, value in plus:
        if name.lower() in known:
            attributes = [item for item in attributes if item[0].lower() != name.lower()]
        attributes.append((name, value))
    all_notes.append(_NOT_ADDED)
    return SubmitJob(attributes, requirements, all_notes, reader)


def job_argv(job: SubmitJob, sandbox: str) -> "List[str]":
    """The argv the starter hands the wrapper: the executable in the sandbox, then the arguments."""

    def text(name: str) -> "Optional[str]":
        raw = job.get(name)
        value = parse_literal(raw) if raw is not None else None
        return value if isinstance(value, str) else None

    cmd = text("Cmd") or ""
    transfer = job.get("TransferExecutable")
    executable = cmd if transfer == "false" else sandbox.rstrip("/") + "/" + os.path.basename(cmd)
    arguments = text("Arguments")
    if arguments is not None:
        return [executable, *split_args_v2(arguments)]
    return [executable, *split_args_v1(text("Args") or "")]


def parse_with_bindings(text: str, cwd: str, module: "Any") -> SubmitJob:
    """Read the submit text with ``htcondor2.Submit`` (``module``) and build the first job's attributes."""
    try:
        submit = module.Submit(text)
    except Exception as exc:  # the bindings raise ValueError/RuntimeError/HTCondorException
        msg = "the submit file does not parse: {}".format(exc)
        raise SubmitError(msg) from exc
    notes = []
    try:
        items = list(submit.itemdata() or ())  # None for 'queue' and 'queue N'
    except Exception as exc:
        msg = "the queue statement {!r} does not parse: {}".format(submit.getQArgs(), exc)
        raise SubmitError(msg) from exc
    if items:
        first = items[0]
        if isinstance(first, dict):
            for name, value in first.items():
                submit[name] = value
            shown = ", ".join("{}={}".format(name, value) for name, value in first.items())
        else:
            submit["Item"] = first
            shown = "Item={}".format(first)
        notes.append("explained for the first job of the queue statement ({})".format(shown))
    try:
        commands = [(key, submit.expand(key)) for key in submit]
    except Exception as exc:
        msg = "the submit file's macros do not expand: {}".format(exc)
        raise SubmitError(msg) from exc
    return job_from_commands(commands, cwd, "htcondor2", notes)


def _logical_lines(text: str) -> "List[Tuple[int, str]]":
    lines: List[Tuple[int, str]] = []
    pending: List[str] = []
    start = 0
    for number, line in enumerate(text.splitlines(), 1):
        if not pending:
            start = number
            if line.lstrip().startswith("#"):
                continue
        stripped = line.rstrip()
        if stripped.endswith("\\"):
            pending.append(stripped[:-1])
            continue
        pending.append(line)
        lines.append((start, " ".join(part.strip() for part in pending).strip()))
        pending = []
    if pending:
        lines.append((start, " ".join(part.strip() for part in pending).strip()))
    return lines


def parse_fallback(text: str, cwd: str) -> SubmitJob:
    """Read the supported subset of the submit language exactly (see the module docstring)."""
    commands: List[Tuple[str, str]] = []
    for number, line in _logical_lines(text):
        if not line:
            continue
        first = line.split(None, 1)[0].lower()
        if first == "queue":
            if line.split(None, 1)[1:] and not re.match(r"^\d+$", line.split(None, 1)[1].strip()):
                msg = "line {}: 'queue {}' needs the htcondor2 bindings (only 'queue' and 'queue N' are read)"
                raise SubmitError(msg.format(number, line.split(None, 1)[1].strip()))
            break
        if first in _FALLBACK_UNSUPPORTED or first.rstrip(":") in _FALLBACK_UNSUPPORTED:
            msg = "line {}: {!r} needs the htcondor2 bindings".format(number, first)
            raise SubmitError(msg)
        body = line[1:].lstrip() if line.startswith("+") else line
        match = _COMMAND_RE.match(body)
        if not match:
            msg = "line {}: {!r} is not 'name = value'".format(number, line)
            raise SubmitError(msg)
        key, value = match.group(1), match.group(2).strip()
        if re.search(r"(?<!\$)\$(\(|ENV\(|RANDOM_)", value):
            msg = "line {}: the macro in {!r} needs the htcondor2 bindings".format(number, value)
            raise SubmitError(msg)
        commands.append(("MY." + key if line.startswith("+") else key, value))
    return job_from_commands(commands, cwd, "fallback", [_FALLBACK_NOTE])


def _bindings() -> "Optional[Any]":
    try:
        import htcondor2
    except ImportError:
        return None
    return htcondor2


def load_submit(
    path: str, cwd: "Optional[str]" = None, bindings: "Optional[Mapping[str, Any]]" = None
) -> SubmitJob:
    """Read a submit file; the bindings when importable, else ``parse_fallback``.

    ``bindings`` (tests) replaces the import: ``{"htcondor2": module_or_None}``.
    """
    try:
        with open(path, encoding="utf-8", errors="surrogateescape") as handle:
            text = handle.read()
    except OSError as exc:
        msg = "cannot read the submit file {}: {}".format(path, exc.strerror or exc)
        raise SubmitError(msg) from exc
    where = cwd if cwd is not None else os.getcwd()
    module = bindings["htcondor2"] if bindings is not None else _bindings()
    if module is None:
        return parse_fallback(text, where)
    return parse_with_bindings(text, where, module)
