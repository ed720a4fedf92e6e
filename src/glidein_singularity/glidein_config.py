"""Read and write the files of GlideinWMS's custom-script protocol (adapter, stdlib only).

* ``glidein_config``: one ``KEY value`` per line (key, one space, the rest of the line is the value);
  the last line of a key wins. ``add_config_lines`` replaces a key's lines and appends the new one,
  atomically (temporary file in the same directory + rename), and logs to ``glidein_config.history``
  as GlideinWMS's ``gconfig_add`` does.
* the condor vars file (path in glidein_config key ``CONDOR_VARS_FILE``): whitespace-separated
  ``VarName Type Default CondorName Required ExportToStartd JobEnv``; ``add_condor_vars_lines``
  replaces the line of the same VarName.
* the ``error_gen`` result: ``otrb_output.xml`` in the current directory, in ``error_gen.sh``'s
  layout. Unlike ``error_gen.sh`` the text is XML-escaped, so the file is always well-formed.
"""

import datetime
import os
import tempfile
import time
from typing import Dict, Iterable, List, Mapping, NamedTuple, Optional, Sequence, Tuple

from .errors import ConfigError

__all__ = [
    "CONDOR_VARS_FILE_KEY",
    "FAILURE_TYPES",
    "RESULT_FILE",
    "CondorVar",
    "add_condor_vars_line",
    "add_condor_vars_lines",
    "add_config_line",
    "add_config_lines",
    "format_condor_vars_line",
    "format_result",
    "parse_condor_vars",
    "parse_glidein_config",
    "read_glidein_config",
    "write_result_error",
    "write_result_ok",
]

#: The glidein_config key holding the path of the condor vars file.
CONDOR_VARS_FILE_KEY = "CONDOR_VARS_FILE"
#: The error_gen result file, written in the current directory.
RESULT_FILE = "otrb_output.xml"
#: error_gen failure types (GlideinWMS doc/factory/validation_xml_output.html).
FAILURE_TYPES = ("WN_Resource", "Network", "Config", "VO_Config", "Corruption", "VO_Proxy")

_RESULT_VERSION = "4.3.1"


def escape(text: str) -> str:
    """XML-escape element text (xml.sax.saxutils would import urllib and http: 20 ms at startup)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def quoteattr(text: str) -> str:
    """Return ``text`` XML-escaped in double quotes, for an attribute value."""
    return '"' + escape(text).replace('"', "&quot;").replace("\n", "&#10;") + '"'


# --- glidein_config ------------------------------------------------------------------------------


def parse_glidein_config(text: str) -> Dict[str, str]:
    """Return ``{key: value}`` from glidein_config text; the last line of a key wins.

    The key is everything before the first space and the value everything after it, kept verbatim
    (GlideinWMS ``gconfig_get``). A line that is only a key gives an empty value; blank lines are
    skipped. Keys are case-sensitive.
    """
    values = {}  # type: Dict[str, str]
    for line in text.splitlines():
        if not line:
            continue
        key, _, value = line.partition(" ")
        if key:
            values[key] = value
    return values


def read_glidein_config(path: str) -> Dict[str, str]:
    """Read glidein_config at ``path``; raise ConfigError naming the file if it cannot be read."""
    try:
        with open(path, encoding="utf-8", errors="surrogateescape") as handle:
            return parse_glidein_config(handle.read())
    except OSError as exc:
        msg = "cannot read glidein_config {}: {}".format(path, exc.strerror or exc)
        raise ConfigError(msg) from exc


def _check_key_value(key: str, value: str, what: str) -> None:
    if not key or any(c.isspace() for c in key):
        msg = "{}: invalid key {!r}: keys must be non-empty and contain no blanks".format(what, key)
        raise ConfigError(msg)
    if "\n" in value or "\r" in value:
        msg = "{}: value of {} must be one line, got {!r}".format(what, key, value)
        raise ConfigError(msg)


def _replace_atomically(path: str, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file in the same directory and a rename."""
    directory = os.path.dirname(os.path.abspath(path))
    try:
        fd, tmp_path = tempfile.mkstemp(prefix=os.path.basename(path) + ".", suffix=".tmp", dir=directory)
    except OSError as exc:  # name the file being written, not the temporary one
        raise OSError(exc.errno, exc.strerror, path) from exc
    try:
        with os.fdopen(fd, "w", encoding="utf-8", errors="surrogateescape") as handle:
            handle.write(text)
        try:
            os.chmod(tmp_path, os.stat(path).st_mode & 0o7777)
        except OSError:
            pass  # a new file keeps mkstemp's private mode
        os.replace(tmp_path, path)
    except BaseException as exc:
        try:
            os.unlink(tmp_path)
        except OSError:
            pass
        if isinstance(exc, OSError):
            raise OSError(exc.errno, exc.strerror, path) from exc
        raise


def _read_lines(path: str, what: str) -> List[str]:
    try:
        with open(path, encoding="utf-8", errors="surrogateescape") as handle:
            return handle.read().splitlines()
    except FileNotFoundError:
        return []
    except OSError as exc:
        msg = "cannot read {} {}: {}".format(what, path, exc.strerror or exc)
        raise ConfigError(msg) from exc


def add_config_lines(path: str, items: Iterable[Tuple[str, str]]) -> None:
    """Set several glidein_config keys in one atomic rewrite (GlideinWMS ``add_config_line`` each)."""
    pairs = [(key, "" if value is None else str(value)) for key, value in items]
    for key, value in pairs:
        _check_key_value(key, value, "glidein_config " + path)
    if not pairs:
        return
    lines = _read_lines(path, "glidein_config")
    new = dict(pairs)  # last value of a repeated key wins, as with successive calls
    kept = [line for line in lines if line.partition(" ")[0] not in new]
    kept.extend("{} {}".format(key, value) for key, value in new.items())
    _replace_atomically(path, "".join(line + "\n" for line in kept))
    history = "".join("REG{} {} {}\n".format(os.getpid(), key, value) for key, value in pairs)
    try:
        with open(path + ".history", "a", encoding="utf-8", errors="surrogateescape") as handle:
            handle.write(history)
    except OSError:
        pass  # the history is a troubleshooting aid only; glidein_config itself was written


def add_config_line(path: str, key: str, value: str) -> None:
    """Set ``key`` to ``value`` in glidein_config: drop its lines, append ``key value``, atomically."""
    add_config_lines(path, [(key, value)])


# --- condor vars file ----------------------------------------------------------------------------


class CondorVar(NamedTuple):
    """One line of the condor vars file (``condor_vars.lst`` format)."""

    name: str
    #: ``S`` (string, quoted in the ad), ``C`` (ClassAd expression, e.g. a boolean) or ``I`` (integer).
    type: str
    #: ``-`` for no default.
    default: str = "-"
    #: ``+`` for the same name as ``name``.
    condor_name: str = "+"
    #: ``Y``/``N``: whether glidein_config must define it.
    required: str = "N"
    #: ``Y``/``N``: publish in the startd (machine) ad.
    export_to_startd: str = "Y"
    #: ``-`` (not in the job environment), ``+`` (same name) or an environment variable name.
    job_env: str = "-"


def format_condor_vars_line(var: CondorVar) -> str:
    """Return the condor vars line for ``var``; raise ConfigError if a field is empty or has blanks."""
    for field, value in zip(CondorVar._fields, var):
        if not value or any(c.isspace() for c in value):
            msg = "condor vars line for {}: field {} must be one non-empty word, got {!r}".format(
                var.name, field, value
            )
            raise ConfigError(msg)
    if var.type not in ("S", "C", "I"):
        msg = "condor vars line for {}: type must be S, C or I, got {!r}".format(var.name, var.type)
        raise ConfigError(msg)
    return " ".join(var)


def parse_condor_vars(text: str) -> Dict[str, CondorVar]:
    """Return ``{name: CondorVar}`` from condor vars text, skipping blank and ``#`` comment lines."""
    result = {}  # type: Dict[str, CondorVar]
    for line in text.splitlines():
        words = line.split()
        if not words or words[0].startswith("#"):
            continue
        if len(words) != len(CondorVar._fields):
            msg = "condor vars line must have 7 fields, got {}: {!r}".format(len(words), line)
            raise ConfigError(msg)
        result[words[0]] = CondorVar(*words)
    return result


def add_condor_vars_lines(path: str, variables: Sequence[CondorVar]) -> None:
    """Replace (or add) the condor vars lines of ``variables`` in one atomic rewrite."""
    new_lines = [format_condor_vars_line(var) for var in variables]
    if not new_lines:
        return
    names = {var.name for var in variables}
    lines = _read_lines(path, "condor vars file")
    kept = [line for line in lines if not line.split() or line.split()[0] not in names]
    kept.extend(new_lines)
    _replace_atomically(path, "".join(line + "\n" for line in kept))


def add_condor_vars_line(path: str, var: CondorVar) -> None:
    """Replace (or add) the condor vars line of ``var.name`` (GlideinWMS ``add_condor_vars_line``)."""
    add_condor_vars_lines(path, [var])


# --- error_gen result ----------------------------------------------------------------------------


def _timestamp(now: Optional[float] = None) -> str:
    moment = datetime.datetime.fromtimestamp(time.time() if now is None else now).astimezone()
    return moment.isoformat(timespec="seconds")


def format_result(
    script_id: str,
    status: str,
    metrics: Sequence[Tuple[str, str]] = (),
    detail: Optional[str] = None,
    timestamp: str = "",
) -> str:
    """Return the error_gen XML text (``status`` OK or ERROR; ``detail`` only for ERROR)."""
    if status not in ("OK", "ERROR"):
        msg = "error_gen status must be OK or ERROR, got {!r}".format(status)
        raise ConfigError(msg)
    stamp = timestamp or _timestamp()
    lines = [
        '<?xml version="1.0"?>',
        "<OSGTestResult id={} version={}>".format(quoteattr(script_id), quoteattr(_RESULT_VERSION)),
        "  <result>",
        "    <status>{}</status>".format(status),
    ]
    for name, value in metrics:
        lines.append(
            '    <metric name={} ts={} uri="local">{}</metric>'.format(
                quoteattr(name), quoteattr(stamp), escape(str(value))
            )
        )
    lines.append("  </result>")
    if detail is not None:
        lines.append("  <detail>")
        lines.extend("    " + escape(line) for line in (detail.splitlines() or [""]))
        lines.append("  </detail>")
    lines.append("</OSGTestResult>")
    return "".join(line + "\n" for line in lines)


def _write_result(text: str, directory: str) -> str:
    path = os.path.join(directory, RESULT_FILE)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text)
    return path


def write_result_ok(script_id: str, metrics: Mapping[str, str], directory: str = ".") -> str:
    """Write an OK result (``error_gen -ok id k v...``) to ``otrb_output.xml``; return its path."""
    return _write_result(format_result(script_id, "OK", list(metrics.items())), directory)


def write_result_error(
    script_id: str,
    fail_type: str,
    detail: str,
    metrics: Mapping[str, str],
    directory: str = ".",
) -> str:
    """Write an ERROR result (``error_gen -error id type detail k v...``); return its path."""
    if fail_type not in FAILURE_TYPES:
        msg = "error_gen failure type {!r} is not one of {}".format(fail_type, ", ".join(FAILURE_TYPES))
        raise ConfigError(msg)
    pairs = [("failure", fail_type), *list(metrics.items())]
    return _write_result(format_result(script_id, "ERROR", pairs, detail), directory)
