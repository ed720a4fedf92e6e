"""Exact parser of old-ClassAd text (``.job.ad``, ``.machine.ad``) for literal values (pure).

The starter writes one ``Name = value`` per line, values in old ClassAd syntax. This module reads
the literals exactly and keeps everything else as ``Expr`` (unknown: never guessed):

- strings: old-syntax escaping, as HTCondor reads it: ``\\"`` is a quote, except when that quote is
  the last character of the line (then the backslash is literal and the quote ends the string); every
  other backslash is literal. Anything after the closing quote makes the value an ``Expr``;
- ``true``/``false``, ``undefined``, ``error`` in any case; ``real("INF")``, ``real("-INF")``,
  ``real("NaN")``;
- integers (optional sign, no leading zeros, 64-bit range) and reals (``1.5``, ``.5``, ``1e3``,
  ``-2.5E-3``; not ``1.`` nor ``5.E2``, which HTCondor rejects);
- lists ``{ ... }`` of those literals, nested lists included, returned as tuples.

``parse_ad`` never raises: a line that is not ``Name = value`` is skipped and recorded in
``Ad.warnings`` (with its line number), so hostile or truncated files cannot crash the wrapper.
Attribute names are case-insensitive; when a name repeats, the last line wins (as in HTCondor) and a
warning is recorded. Values are parsed when first read, so reading a 500-line ad costs little.

An ``Ad`` may carry an evaluator (see ``ads.load_ad``) that the ``Expr`` values are handed to, so the
HTCondor ClassAd library evaluates only what the literal parser cannot.
"""

from .errors import ConfigError

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from typing import Callable, Dict, Iterator, List, Mapping, Optional, Tuple, Union

    Value = Union[str, bool, int, float, Tuple["Value", ...], "Undefined", "ErrorValue", "Expr"]
    Evaluator = Callable[["Ad", str, "Expr"], "Value"]
    _Base = Mapping[str, Value]
else:
    _Base = object

__all__ = [
    "ERROR",
    "UNDEFINED",
    "Ad",
    "ErrorValue",
    "Expr",
    "Undefined",
    "format_literal",
    "format_old_literal",
    "parse_ad",
    "parse_literal",
]


class Undefined:
    """The ClassAd ``undefined`` value (one instance: ``UNDEFINED``); false in a boolean context."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "UNDEFINED"

    def __bool__(self) -> bool:
        return False


class ErrorValue:
    """The ClassAd ``error`` value (one instance: ``ERROR``)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "ERROR"


UNDEFINED = Undefined()
ERROR = ErrorValue()


class Expr:
    """A value that is not a literal, kept as its text: its value is unknown here."""

    __slots__ = ("text",)
    text: str

    def __init__(self, text: str) -> None:
        object.__setattr__(self, "text", text)

    def __setattr__(self, name: str, value: object) -> None:
        msg = "Expr is immutable"
        raise AttributeError(msg)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Expr) and other.text == self.text

    def __ne__(self, other: object) -> bool:
        return not self.__eq__(other)

    def __hash__(self) -> int:
        return hash(("Expr", self.text))

    def __repr__(self) -> str:
        return "Expr({!r})".format(self.text)


_KEYWORDS: "Dict[str, Value]" = {"true": True, "false": False, "undefined": UNDEFINED, "error": ERROR}
_SPECIAL_REALS = {
    'real("inf")': float("inf"),
    'real("-inf")': float("-inf"),
    '-real("inf")': float("-inf"),
    'real("nan")': float("nan"),
}
_DIGITS = "0123456789"
_NUMBER_START = "+-.0123456789"
_NUMBER_CHARS = frozenset("+-.0123456789eE")
_WORD_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_0123456789")
_INT_MIN = -(2**63)
_INT_MAX = 2**63 - 1


class _NotLiteral(Exception):
    """Internal: the text is not a literal."""


def _is_digits(text: str) -> bool:
    return bool(text) and text.strip(_DIGITS) == ""


def _number(token: str) -> "Union[int, float]":
    body = token[1:] if token[:1] in "+-" else token
    if _is_digits(body):
        if len(body) > 1 and body[0] == "0":
            raise _NotLiteral
        value = int(token)
        if not _INT_MIN <= value <= _INT_MAX:
            raise _NotLiteral
        return value
    mantissa, e, exponent = body.partition("e") if "e" in body else body.partition("E")
    if e:
        exp_digits = exponent[1:] if exponent[:1] in "+-" else exponent
        if not _is_digits(exp_digits):
            raise _NotLiteral
    whole, dot, fraction = mantissa.partition(".")
    if dot:
        if not _is_digits(fraction) or (whole and not _is_digits(whole)):
            raise _NotLiteral
    elif not (e and _is_digits(whole)):
        raise _NotLiteral
    return float(token)


class _Scanner:
    """Recursive-descent reader of one value text (a literal or raises _NotLiteral)."""

    __slots__ = ("last", "pos", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.last = len(text) - 1

    def skip_blanks(self) -> None:
        text, pos = self.text, self.pos
        while pos <= self.last and text[pos] in " \t":
            pos += 1
        self.pos = pos

    def string(self) -> str:
        text = self.text
        start = self.pos + 1
        parts: List[str] = []
        while True:
            end = text.find('"', start)
            if end < 0:
                raise _NotLiteral
            if text[end - 1] == "\\" and end - 1 >= start and end != self.last:
                parts.append(text[start : end - 1])
                parts.append('"')
                start = end + 1
                continue
            parts.append(text[start:end])
            self.pos = end + 1
            return "".join(parts)

    def value(self) -> "Value":
        self.skip_blanks()
        if self.pos > self.last:
            raise _NotLiteral
        char = self.text[self.pos]
        if char == '"':
            return self.string()
        if char == "{":
            return self.list_()
        start = self.pos
        chars = _NUMBER_CHARS if char in _NUMBER_START else _WORD_CHARS
        pos = start
        while pos <= self.last and self.text[pos] in chars:
            pos += 1
        token = self.text[start:pos]
        self.pos = pos
        if not token:
            raise _NotLiteral
        if chars is _WORD_CHARS:
            keyword = _KEYWORDS.get(token.lower())
            if keyword is None:
                raise _NotLiteral
            return keyword
        return _number(token)

    def list_(self) -> "Tuple[Value, ...]":
        self.pos += 1
        items: List[Value] = []
        self.skip_blanks()
        if self.pos <= self.last and self.text[self.pos] == "}":
            self.pos += 1
            return ()
        while True:
            items.append(self.value())
            self.skip_blanks()
            if self.pos > self.last:
                raise _NotLiteral
            char = self.text[self.pos]
            self.pos += 1
            if char == "}":
                return tuple(items)
            if char != ",":
                raise _NotLiteral


def parse_literal(text: str) -> "Value":
    """Return the literal ``text`` denotes, or ``Expr(text)`` (stripped) when it is not a literal."""
    text = text.lstrip(" \t")
    if text.endswith("\r"):
        text = text[:-1]
    first = text[:1]
    if first == '"' or first == "{":
        scanner = _Scanner(text)
        try:
            value = scanner.value()
        except _NotLiteral:
            return Expr(text.rstrip())
        if text[scanner.pos :].strip(" \t"):
            return Expr(text.rstrip())
        return value
    stripped = text.rstrip(" \t")
    keyword = _KEYWORDS.get(stripped.lower())
    if keyword is not None:
        return keyword
    if first and first in _NUMBER_START:
        try:
            return _number(stripped)
        except (_NotLiteral, ValueError):
            pass
    special = _SPECIAL_REALS.get(stripped.lower())
    if special is not None:
        return special
    return Expr(stripped)


def _is_name(name: str) -> bool:
    return name.isidentifier() and max(name) < "\x80"


class Ad(_Base):
    """A case-insensitive, read-only mapping of attribute name to value, built by ``parse_ad``.

    Values are parsed on first access. ``warnings`` lists the skipped lines and repeated names.
    With an evaluator, ``Expr`` values are passed to it (once) and its result is returned instead.
    """

    __slots__ = ("_cache", "_evaluator", "_names", "_raw", "warnings")

    _cache: "Dict[str, Value]"
    _evaluator: "Optional[Evaluator]"
    _names: "Dict[str, str]"
    _raw: "Dict[str, str]"
    warnings: "Tuple[str, ...]"

    def __init__(
        self,
        raw: "Optional[Mapping[str, str]]" = None,
        warnings: "Tuple[str, ...]" = (),
        evaluator: "Optional[Evaluator]" = None,
    ) -> None:
        self._raw = {}
        self._names = {}
        for name, text in (raw or {}).items():
            key = name.lower()
            self._raw[key] = text
            self._names[key] = name
        self._cache = {}
        self._evaluator = evaluator
        self.warnings = tuple(warnings)

    def with_evaluator(self, evaluator: "Optional[Evaluator]") -> "Ad":
        """Return the same ad whose ``Expr`` values are handed to ``evaluator``."""
        return Ad({self._names[key]: text for key, text in self._raw.items()}, self.warnings, evaluator)

    def raw(self, name: str) -> "Optional[str]":
        """Return the value text as written in the file, or None when the attribute is absent."""
        return self._raw.get(name.lower())

    def __getitem__(self, name: str) -> "Value":
        key = name.lower()
        try:
            return self._cache[key]
        except KeyError:
            pass
        value = parse_literal(self._raw[key])
        if isinstance(value, Expr) and self._evaluator is not None:
            value = self._evaluator(self, self._names[key], value)
        self._cache[key] = value
        return value

    def get(self, name: str, default: "Optional[Value]" = None) -> "Optional[Value]":  # type: ignore[override]
        """Return the value of ``name``, or ``default`` when the attribute is absent."""
        if name.lower() not in self._raw:
            return default
        return self[name]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._raw

    def __iter__(self) -> "Iterator[str]":
        return iter(self._names.values())

    def __len__(self) -> int:
        return len(self._raw)

    def keys(self) -> "List[str]":  # type: ignore[override]
        """The attribute names, as written (last spelling of a repeated name)."""
        return list(self._names.values())

    def items(self) -> "List[Tuple[str, Value]]":  # type: ignore[override]
        """(name, value) pairs; parses every value."""
        return [(name, self[name]) for name in self._names.values()]

    def values(self) -> "List[Value]":  # type: ignore[override]
        """Every value; parses them all."""
        return [self[name] for name in self._names.values()]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Ad):
            return NotImplemented
        return self._raw == other._raw

    def __ne__(self, other: object) -> bool:
        result = self.__eq__(other)
        return result if result is NotImplemented else not result

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return "Ad({})".format(", ".join("{}={}".format(self._names[k], v) for k, v in self._raw.items()))


def parse_ad(text: str, evaluator: "Optional[Evaluator]" = None) -> Ad:
    """Parse old-ClassAd text (one ``Name = value`` per line); never raises on bad lines."""
    raw: Dict[str, str] = {}
    names: Dict[str, str] = {}
    warnings: List[str] = []
    for number, line in enumerate(text.split("\n"), 1):
        name, equals, value = line.partition("=")
        name = name.strip()
        if not equals:
            if name and not name.startswith("#"):
                warnings.append("line {}: not 'Name = value', skipped: {!r}".format(number, line[:80]))
            continue
        if not name or not _is_name(name):
            warnings.append("line {}: bad attribute name, skipped: {!r}".format(number, line[:80]))
            continue
        key = name.lower()
        if key in raw:
            warnings.append("line {}: {} repeated; the last value wins".format(number, name))
            del names[key]
        raw[key] = value
        names[key] = name
    return Ad({names[key]: raw[key] for key in names}, tuple(warnings), evaluator)


_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t", "\r": "\\r", "\b": "\\b", "\f": "\\f"}


def _quote(text: str) -> str:
    out = []
    for char in text:
        escaped = _ESCAPES.get(char)
        if escaped is not None:
            out.append(escaped)
        elif char == "\x00":
            msg = "cannot write a ClassAd string containing NUL: {!r}".format(text)
            raise ConfigError(msg)
        elif char < " " or char == "\x7f":
            out.append("\\{:03o}".format(ord(char)))
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def format_old_literal(value: "Value") -> str:
    """Return old-syntax ClassAd text for a literal value: what HTCondor reads back exactly from a hook's
    ``Attr = value`` lines (``InsertLongFormAttrValue``, the old lexer).

    In old syntax a backslash is itself except before a double quote, which ``\\"`` keeps in the
    string; a string ending in a backslash ends at its closing quote because the line ends there. So a
    string is written with only ``"`` escaped. Raises ConfigError for a string with NUL, CR or LF (the
    line would end inside it); other values as ``format_literal``.
    """
    if isinstance(value, str):
        if any(char in value for char in "\x00\r\n"):
            msg = "cannot write an old-syntax ClassAd string containing NUL, CR or LF: {!r}".format(value)
            raise ConfigError(msg)
        return '"' + value.replace('"', '\\"') + '"'
    return format_literal(value)


def format_literal(value: "Value") -> str:
    """Return ClassAd (new-syntax) text for a literal value, e.g. for startd cron output or config.

    Strings are quoted with ClassAd escapes (``\\\\``, ``\\"``, ``\\n``, octal for other control
    characters; non-ASCII stays UTF-8); ``None`` and ``UNDEFINED`` give ``undefined``. Raises
    ConfigError for a string with NUL or a value of another type.
    """
    if value is None or value is UNDEFINED:
        return "undefined"
    if value is ERROR:
        return "error"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        return _quote(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value != value:
            return 'real("NaN")'
        if value in (float("inf"), float("-inf")):
            return 'real("INF")' if value > 0 else '-real("INF")'
        return repr(value)
    if isinstance(value, (tuple, list)):
        return "{ " + ", ".join(format_literal(item) for item in value) + " }" if value else "{ }"
    if isinstance(value, Expr):
        return value.text
    msg = "cannot write {!r} (type {}) as a ClassAd literal".format(value, type(value).__name__)
    raise ConfigError(msg)
