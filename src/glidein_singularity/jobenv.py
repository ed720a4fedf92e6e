"""The job's own environment, read exactly as HTCondor's starter reads it (pure, stdlib only).

HTCondor 23.9's starter (``Env::MergeFrom(ClassAd)``, ``src/condor_utils/env.cpp``) builds the job's
environment from the job ad:

- ``Environment`` (V2), when it *evaluates to a string*: ``split_args`` words (blank, tab, CR and LF
  separate; single quotes quote, ``''`` inside quotes is one quote), each word split at its first
  ``=``;
- otherwise ``Env`` (V1), when it evaluates to a string: entries separated by the first character of
  ``EnvDelim`` (whatever character it is; ``;`` when ``EnvDelim`` is not a non-empty string) and by LF.
  A leading delimiter is skipped; a leading character from ``!#$%&*+,-/:;<>?@^`|~`` and ``\\x1f``
  *becomes* the delimiter (the "auto delimiter"). Leading blanks (space, tab, CR, LF) of each entry are
  dropped; nothing else is trimmed or unquoted;
- neither: no variables from the job.

In both syntaxes a word without ``=`` that contains ``$$`` is kept verbatim (the process gets the text
without ``=``); any other word without ``=``, or with an empty name, is an error and the starter
refuses to start the job. A later entry of the same name replaces an earlier one. Strings are C
strings: the first NUL ends them. After the job's variables the starter sets its own (``_CONDOR_*``,
``TMPDIR``, ...: ``STARTER_OWNED``), which replace the job's, and expands ``#CoNdOrScRaTcHdIr#`` in
every value to the scratch directory.

``read_job_environment(job_ad)`` returns a ``JobEnvironment``: the variables and which attribute they
came from, or the reason they cannot be known exactly (an expression the bindings could not evaluate,
a syntax the starter refuses). The differential test in the real pool compares this reading with what
real jobs receive.
"""

from ._record import Record
from .classad import ERROR, UNDEFINED, Expr
from .condor_words import WordsError, quote_word, split_args

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from typing import Dict, Iterable, List, Mapping, Optional, Tuple

    from .classad import Ad, Value

__all__ = [
    "AUTO_DELIMITERS",
    "NO_VALUE",
    "SCRATCH_MARKER",
    "STARTER_OWNED",
    "STARTER_OWNED_PREFIXES",
    "EnvSyntaxError",
    "JobEnvironment",
    "format_v2",
    "parse_v1",
    "parse_v2",
    "read_job_environment",
    "starter_owned",
]

#: Characters that, first in ``Env``, are taken as its delimiter (``is_permitted_delim``).
AUTO_DELIMITERS = b"!#$%&*+,-/:;<>?@^`|~\x1f"
#: The value of a verbatim ``$$(...)`` word: the process gets the word alone, without ``=``.
NO_VALUE = None
#: Replaced in every value by the job's scratch directory (``expandScratchDirInEnv``).
SCRATCH_MARKER = "#CoNdOrScRaTcHdIr#"
#: Variables the 23.9 starter sets after the job's own (``Starter::PublishToEnv``, ``build_job_env``):
#: whatever the job wrote for them, the process gets the starter's value.
STARTER_OWNED = frozenset(
    (
        "BATCH_SYSTEM",
        "TMPDIR",
        "TEMP",
        "TMP",
        "APPTAINER_CACHEDIR",
        "SINGULARITY_CACHEDIR",
        "X509_USER_PROXY",
        "KRB5CCNAME",
        "NVIDIA_VISIBLE_DEVICES",
        "CUDA_VISIBLE_DEVICES",
        "GPU_DEVICE_ORDINAL",
        "OMP_NUM_THREADS",
    )
)
#: Name prefixes the starter owns (``_CONDOR_SCRATCH_DIR``, ``_CONDOR_JOB_AD``, ``_CHIRP_...``).
STARTER_OWNED_PREFIXES = ("_CONDOR_", "_CHIRP_")

_V1_BLANKS = b" \t\n\r"


class EnvSyntaxError(ValueError):
    """A job environment the starter refuses (it would not start the job)."""


def starter_owned(name: str) -> bool:
    """Whether the starter may set ``name`` after the job's own variables (so the job's value may lose)."""
    return name in STARTER_OWNED or name.startswith(STARTER_OWNED_PREFIXES)


def _c_string(text: str) -> str:
    end = text.find("\x00")
    return text if end < 0 else text[:end]


def _entry(word: str) -> "Tuple[str, Optional[str]]":
    """``SetEnvWithErrorMessage``: split at the first ``=``; a ``$$`` word without one stays verbatim."""
    name, equals, value = word.partition("=")
    if not equals:
        if "$$" in word:
            return word, NO_VALUE
        msg = "missing '=' after the environment variable {!r}".format(word)
        raise EnvSyntaxError(msg)
    if not name:
        msg = "missing variable name in {!r}".format(word)
        raise EnvSyntaxError(msg)
    return name, value


def parse_v2(text: str) -> "List[Tuple[str, Optional[str]]]":
    """The entries of a V2 (``Environment``) string, in order; EnvSyntaxError where the starter fails."""
    try:
        words = split_args(text)
    except WordsError as exc:
        raise EnvSyntaxError(str(exc)) from exc
    return [_entry(word) for word in words]


def _delimiter(env_delim: "Optional[Value]") -> int:
    if isinstance(env_delim, str):
        first = _c_string(env_delim).encode("utf-8", "surrogateescape")[:1]
        if first:
            return first[0]
    return ord(";")


def parse_v1(text: str, env_delim: "Optional[Value]" = None) -> "List[Tuple[str, Optional[str]]]":
    """The entries of a V1 (``Env``) string with the job's ``EnvDelim``; EnvSyntaxError as the starter.

    Works on bytes like the starter: a non-ASCII ``EnvDelim`` delimits on the first byte of its UTF-8
    encoding.
    """
    data = _c_string(text).encode("utf-8", "surrogateescape")
    delim = _delimiter(env_delim)
    if data:
        if data[0] == delim:
            data = data[1:]
        elif data[0] in AUTO_DELIMITERS:
            delim = data[0]
            data = data[1:]
    entries: List[Tuple[str, Optional[str]]] = []
    pos, end = 0, len(data)
    while pos < end:
        while pos < end and data[pos] in _V1_BLANKS:
            pos += 1
        start = pos
        while pos < end and data[pos] != delim and data[pos] != 0x0A:
            pos += 1
        word = data[start:pos]
        pos += 1  # the delimiter (or past the end)
        if word:
            entries.append(_entry(word.decode("utf-8", "surrogateescape")))
    return entries


def format_v2(entries: "Iterable[Tuple[str, Optional[str]]]") -> str:
    """The V2 string that ``parse_v2`` reads back as ``entries`` (quoting as HTCondor's writer does).

    Raises EnvSyntaxError for what V2 cannot carry: a NUL, or a name with ``=`` or that is empty.
    """
    words = []
    for name, value in entries:
        word = name if value is NO_VALUE else name + "=" + value
        if "\x00" in word or not name or "=" in name or (value is NO_VALUE and "$$" not in name):
            msg = "cannot write {!r} in the V2 environment syntax".format(word)
            raise EnvSyntaxError(msg)
        words.append(quote_word(word))
    return " ".join(words)


class JobEnvironment(Record):
    """What the starter gives the job from its ad.

    ``values``: name -> value (``NO_VALUE`` for a verbatim ``$$`` word), before the starter's own
    variables and the scratch-directory expansion; ``source``: ``"Environment"``, ``"Env"`` or ``""``;
    ``problem``: why the variables cannot be known exactly (then ``values`` is empty), else None.
    """

    __slots__ = _fields = ("values", "source", "problem")
    values: "Dict[str, Optional[str]]"
    source: str
    problem: "Optional[str]"

    def __init__(self, values: "Dict[str, Optional[str]]", source: str, problem: "Optional[str]") -> None:
        Record.__init__(self, values, source, problem)

    def expanded(self, scratch_dir: "Optional[str]") -> "Dict[str, str]":
        """The variables with a value, ``#CoNdOrScRaTcHdIr#`` expanded as the starter does."""
        out = {}
        for name, value in self.values.items():
            if value is NO_VALUE:
                continue
            out[name] = value.replace(SCRATCH_MARKER, scratch_dir) if scratch_dir else value
        return out

    def disagreement(self, environ: "Mapping[str, str]", scratch_dir: "Optional[str]") -> "List[str]":
        """Names whose value in ``environ`` is not this reading's (starter-owned names excepted)."""
        wrong = []
        for name, value in sorted(self.expanded(scratch_dir).items()):
            if not starter_owned(name) and environ.get(name) != value:
                wrong.append(name)
        return wrong


def _describe(value: "Value") -> str:
    return "the expression {}".format(value.text) if isinstance(value, Expr) else repr(value)


def _string_or_problem(job_ad: "Ad", name: str) -> "Tuple[Optional[str], Optional[str]]":
    """(the string the starter's LookupString gives, None) or (None, why it cannot be known)."""
    value = job_ad.get(name)
    if isinstance(value, str):
        return value, None
    if isinstance(value, Expr):
        return None, "the job's {} is {}, which cannot be evaluated here as HTCondor would".format(
            name, _describe(value)
        )
    return None, None  # absent, undefined, error or a non-string: the starter does not use it


def read_job_environment(job_ad: "Ad") -> JobEnvironment:
    """The job's variables as the 23.9 starter builds them from ``job_ad`` (see the module docstring)."""
    text, problem = _string_or_problem(job_ad, "Environment")
    if problem is not None:
        return JobEnvironment({}, "", problem)
    source = "Environment"
    if text is None:
        text, problem = _string_or_problem(job_ad, "Env")
        if problem is None and text is not None:
            delim = job_ad.get("EnvDelim")
            if isinstance(delim, Expr):
                problem = "the job's EnvDelim is {}, which cannot be evaluated here".format(_describe(delim))
        if problem is not None:
            return JobEnvironment({}, "", problem)
        if text is None:
            return JobEnvironment({}, "", None)
        source = "Env"
    try:
        if source == "Environment":
            entries = parse_v2(text)
        else:
            delim_value = job_ad.get("EnvDelim")
            entries = parse_v1(text, delim_value if delim_value not in (UNDEFINED, ERROR) else None)
    except EnvSyntaxError as exc:
        msg = "the job's {} cannot be read: {} (HTCondor would not start the job)".format(source, exc)
        return JobEnvironment({}, source, msg)
    return JobEnvironment(dict(entries), source, None)
