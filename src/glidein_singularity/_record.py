"""``Record``: an immutable value object with named fields, cheap to import.

The job wrapper must start fast, and ``typing`` alone costs 10-15 ms to import (``collections`` and
``enum`` several ms more). Worker-node value types therefore derive from this small base instead of
``typing.NamedTuple``: fields are declared once in ``_fields`` (which is also ``__slots__``), with
bare class annotations for the type checker. Instances compare by type and field values, have a
readable ``repr``, ``_asdict()`` and ``_replace(**changes)``, and refuse attribute assignment.
"""

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from typing import Any, Dict, Tuple, TypeVar

    _R = TypeVar("_R", bound="Record")

__all__ = ["Record"]


class Record:
    """Base class: subclasses set ``__slots__ = _fields = (...)`` and call ``Record.__init__``."""

    __slots__ = ()
    _fields: "Tuple[str, ...]" = ()

    def __init__(self, *values: "Any") -> None:
        if len(values) != len(self._fields):
            msg = "{} takes {} values ({}), got {}".format(
                type(self).__name__, len(self._fields), ", ".join(self._fields), len(values)
            )
            raise TypeError(msg)
        for name, value in zip(self._fields, values):
            object.__setattr__(self, name, value)

    def __setattr__(self, name: str, value: object) -> None:
        msg = "{} is immutable: cannot set {}".format(type(self).__name__, name)
        raise AttributeError(msg)

    def __delattr__(self, name: str) -> None:
        msg = "{} is immutable: cannot delete {}".format(type(self).__name__, name)
        raise AttributeError(msg)

    def _astuple(self) -> "Tuple[Any, ...]":
        return tuple(getattr(self, name) for name in self._fields)

    def _asdict(self) -> "Dict[str, Any]":
        """Return the fields as a new dict, in declaration order."""
        return {name: getattr(self, name) for name in self._fields}

    def _replace(self: "_R", **changes: "Any") -> "_R":
        """Return a copy with the given fields changed."""
        unknown = sorted(set(changes) - set(self._fields))
        if unknown:
            msg = "{} has no field {}".format(type(self).__name__, ", ".join(unknown))
            raise TypeError(msg)
        values = self._asdict()
        values.update(changes)
        return type(self)(**values)

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        assert isinstance(other, Record)
        return self._astuple() == other._astuple()

    def __ne__(self, other: object) -> bool:
        result = self.__eq__(other)
        return result if result is NotImplemented else not result

    def __hash__(self) -> int:
        return hash((type(self).__name__, self._astuple()))

    def __repr__(self) -> str:
        return "{}({})".format(
            type(self).__name__,
            ", ".join("{}={!r}".format(name, getattr(self, name)) for name in self._fields),
        )
