"""Read YAML into a tree that remembers line numbers and duplicate keys.

``yaml.safe_load`` forgets where a value came from and silently keeps the last of two equal keys.
Here the text is composed into nodes with the safe loader (same tags, same scalar resolution as
``safe_load``) and turned into :class:`YMap`/:class:`YSeq`/:class:`YScalar` values that carry their
1-based line, so every later error can name the file, the line and the key. Duplicate keys are
recorded (the last one wins, as in ``safe_load``) for the lint rule that reports them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Union

import yaml

from ..errors import ConfigError

__all__ = ["Document", "Duplicate", "YMap", "YNode", "YScalar", "YSeq", "parse_yaml"]


@dataclass(frozen=True)
class YScalar:
    """A scalar as ``safe_load`` would build it (str, int, float, bool, None, date...)."""

    value: object
    line: int


@dataclass(frozen=True)
class YSeq:
    """A sequence of nodes."""

    items: tuple[YNode, ...]
    line: int


@dataclass(frozen=True)
class YMap:
    """A mapping with string keys, in document order; ``key_lines`` holds each key's line."""

    items: tuple[tuple[str, YNode], ...]
    key_lines: tuple[int, ...]
    line: int

    def get(self, key: str) -> YNode | None:
        """Return the node under ``key`` or None."""
        for name, node in self.items:
            if name == key:
                return node
        return None

    def key_line(self, key: str) -> int:
        """Return the line of ``key`` (the mapping's own line when absent)."""
        for (name, _), line in zip(self.items, self.key_lines):
            if name == key:
                return line
        return self.line


YNode = Union[YScalar, YSeq, YMap]


@dataclass(frozen=True)
class Duplicate:
    """A key given twice in one mapping; ``path`` is the dotted path of the key."""

    path: str
    line: int
    first_line: int


@dataclass(frozen=True)
class Document:
    """A parsed YAML file: its root node (None when empty) and the duplicate keys found."""

    filename: str
    root: YNode | None
    duplicates: tuple[Duplicate, ...]


def _join(path: str, key: str) -> str:
    return key if not path else path + "." + key


class _Builder:
    def __init__(self, loader: yaml.SafeLoader, filename: str) -> None:
        self.loader = loader
        self.filename = filename
        self.duplicates: list[Duplicate] = []

    def build(self, node: yaml.Node, path: str) -> YNode:
        line = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path, line)
        if isinstance(node, yaml.SequenceNode):
            items = tuple(self.build(item, path + "[{}]".format(i)) for i, item in enumerate(node.value))
            return YSeq(items, line)
        return YScalar(self.loader.construct_object(node, deep=True), line)

    def _mapping(self, node: yaml.MappingNode, path: str, line: int) -> YMap:
        # Duplicates are looked for among the keys written here: values merged in with "<<" may be
        # overridden on purpose.
        written: dict[str, int] = {}
        for key_node, _ in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.tag != "tag:yaml.org,2002:merge":
                key_line = key_node.start_mark.line + 1
                key = str(key_node.value)
                if key in written:
                    self.duplicates.append(Duplicate(_join(path, key), key_line, written[key]))
                written[key] = key_line
        self.loader.flatten_mapping(node)  # resolve "<<" merge keys as safe_load does
        items: dict[str, YNode] = {}
        lines: dict[str, int] = {}
        for key_node, value_node in node.value:
            key_line = key_node.start_mark.line + 1
            if not isinstance(key_node, yaml.ScalarNode):
                msg = "{}:{}: {}: a key must be a plain string, not a {}".format(
                    self.filename, key_line, path or "(top level)", key_node.id
                )
                raise ConfigError(msg)
            # The key's source text: "yes", "010" or "1.0" stay the strings the admin wrote.
            key = str(key_node.value)
            items.pop(key, None)  # the last one wins and takes the last position
            items[key] = self.build(value_node, _join(path, key))
            lines[key] = key_line
        return YMap(tuple(items.items()), tuple(lines[k] for k in items), line)


def parse_yaml(text: str, filename: str) -> Document:
    """Parse YAML ``text``; raise ConfigError naming the file and line on a syntax error."""
    loader = yaml.SafeLoader(text)
    builder = _Builder(loader, filename)
    try:
        try:
            node = loader.get_single_node()
            root = None if node is None else builder.build(node, "")
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = "{}:{}".format(filename, mark.line + 1) if mark is not None else filename
        msg = "{}: invalid YAML: {}".format(where, exc.problem or exc.context)
        raise ConfigError(msg) from None
    except yaml.YAMLError as exc:
        msg = "{}: invalid YAML: {}".format(filename, exc)
        raise ConfigError(msg) from None
    return Document(filename, root, tuple(builder.duplicates))
