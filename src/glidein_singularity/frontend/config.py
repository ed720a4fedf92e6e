"""The frontend/factory YAML model: schema, parsing and validation of single values.

The file has two optional top-level sections (at least one is needed)::

    frontend:
      scripts_dir: DIR                 # optional: where render points the frontend's <file> lines
      global: {<group keys>}           # frontend-wide defaults, GlideinWMS global <attrs>
      groups: {NAME: {<group keys>}}   # GlideinWMS <group name=NAME><attrs>
    factory:
      scripts_dir: DIR                 # optional: ship the glidein files from the factory instead
      global: {<entry keys>}           # factory-wide defaults, GlideinWMS global <attrs>
      entries: {NAME: {<entry keys>}}  # GlideinWMS <entry name=NAME><attrs>

``GROUP_FIELDS`` and ``ENTRY_FIELDS`` list the keys and the GlideinWMS attribute each one becomes:
render, import and lint all read them from here. The image source lists become different attributes
on each side (``GS_ALLOWED_IMAGE_SOURCES`` for the frontend, ``GS_ENTRY_ALLOWED_IMAGE_SOURCES`` for the
factory): in ``glidein_config`` a frontend attribute overrides a factory one of the same name, and a
VO must not be able to lift a site's restriction. ``extra_attrs`` keeps any other GlideinWMS attribute
verbatim. Unknown keys are errors with a "did you mean" hint; every error names file, line and key.

``parse_config`` collects every problem as a :class:`Finding` (rules GS100-GS103) and still returns
the part of the model it could build, so ``lint`` can report them all; ``load_config`` raises
:class:`ConfigError` with the first one.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Callable, NamedTuple, Optional, TypeVar

from .. import images
from ..errors import ConfigError
from ..grammar import SINGULARITY_BIN_KEYWORDS
from ..policy import REQUIRE_VALUES, USE_VALUES
from .findings import Finding
from .yamlsource import Document, YMap, YNode, YScalar, YSeq, parse_yaml

__all__ = [
    "CONTAINER_ENV_VALUES",
    "DEFAULT_SCRIPTS_DIR",
    "ENTRY_FIELDS",
    "FACTORY_ATTR_DEFAULTS",
    "FRONTEND_ATTR_DEFAULTS",
    "GROUP_FIELDS",
    "SINGULARITY_BIN_KEYWORDS",
    "Config",
    "Entry",
    "EntrySettings",
    "ExtraAttr",
    "FactoryConfig",
    "FieldSpec",
    "FrontendConfig",
    "Group",
    "GroupSettings",
    "load_config",
    "load_config_file",
    "merged",
    "parse_config",
    "source_path",
]

#: Where ``render`` points ``<file absfname=...>`` unless ``frontend.scripts_dir`` says otherwise.
DEFAULT_SCRIPTS_DIR = "/var/lib/gwms-frontend/web-base/glidein-singularity"

#: ``GLIDEIN_CONTAINER_ENV`` keywords (GlideinWMS singularity_lib.sh env_process_options).
CONTAINER_ENV_VALUES = ("clear", "clearall", "clearpaths", "condorset", "gwmsset", "keepall", "osgset")

#: ``SINGULARITY_BIN`` keywords; any other value must be an absolute directory.

#: The XML flags an ``extra_attrs`` entry gets when the YAML gives only a value.
FRONTEND_ATTR_DEFAULTS = (
    ("glidein_publish", "False"),
    ("job_publish", "False"),
    ("parameter", "True"),
    ("type", "string"),
)
FACTORY_ATTR_DEFAULTS = (
    ("const", "True"),
    ("glidein_publish", "False"),
    ("job_publish", "False"),
    ("parameter", "True"),
    ("publish", "True"),
    ("type", "string"),
)
_BOOL_FLAGS = ("const", "glidein_publish", "job_publish", "parameter", "publish")
_ATTR_TYPES = ("expr", "int", "string")

_NAME_RE = re.compile(r"^[A-Za-z0-9_.-]+$")
_ATTR_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


# ---------------------------------------------------------------------------------------------------
# The model


@dataclass(frozen=True)
class ExtraAttr:
    """A GlideinWMS attribute this tool does not model, kept verbatim: value and XML flags by name."""

    value: str
    flags: tuple[tuple[str, str], ...]


ExtraAttrs = tuple[tuple[str, ExtraAttr], ...]


@dataclass(frozen=True)
class GroupSettings:
    """Container settings of a frontend group (or the frontend-wide defaults). None means unset."""

    singularity_use: Optional[str] = None
    images: Optional[tuple[tuple[str, str], ...]] = None
    image_default: Optional[str] = None
    image_default6: Optional[str] = None
    image_default7: Optional[str] = None
    required_os: Optional[tuple[str, ...]] = None
    bind_paths: Optional[tuple[str, ...]] = None
    singularity_opts: Optional[str] = None
    container_env: Optional[tuple[str, ...]] = None
    container_env_clearlist: Optional[tuple[str, ...]] = None
    image_restrictions: Optional[tuple[str, ...]] = None
    allowed_image_sources: Optional[tuple[str, ...]] = None
    denied_image_sources: Optional[tuple[str, ...]] = None
    extra_attrs: ExtraAttrs = ()


@dataclass(frozen=True)
class EntrySettings:
    """Container settings of a factory entry (or the factory-wide defaults). None means unset."""

    singularity_require: Optional[str] = None
    required_os: Optional[tuple[str, ...]] = None
    singularity_bin: Optional[str] = None
    binary_override: Optional[str] = None
    bind_path_default: Optional[tuple[str, ...]] = None
    singularity_opts: Optional[str] = None
    disable_pid_namespaces: Optional[bool] = None
    cvmfs_mount_dir: Optional[str] = None
    image_restrictions: Optional[tuple[str, ...]] = None
    allowed_image_sources: Optional[tuple[str, ...]] = None
    denied_image_sources: Optional[tuple[str, ...]] = None
    extra_attrs: ExtraAttrs = ()


@dataclass(frozen=True)
class Group:
    """A frontend group: its name and settings."""

    name: str
    settings: GroupSettings


@dataclass(frozen=True)
class Entry:
    """A factory entry: its name and settings."""

    name: str
    settings: EntrySettings


@dataclass(frozen=True)
class FrontendConfig:
    """The ``frontend:`` section."""

    global_settings: GroupSettings = GroupSettings()
    groups: tuple[Group, ...] = ()
    scripts_dir: str = DEFAULT_SCRIPTS_DIR


@dataclass(frozen=True)
class FactoryConfig:
    """The ``factory:`` section."""

    global_settings: EntrySettings = EntrySettings()
    entries: tuple[Entry, ...] = ()
    #: When set, the factory ships the glidein files (global <files>) instead of the frontend.
    scripts_dir: Optional[str] = None


@dataclass(frozen=True)
class Config:
    """A whole YAML file. ``lines`` maps dotted key paths to lines (not part of equality)."""

    frontend: Optional[FrontendConfig] = None
    factory: Optional[FactoryConfig] = None
    filename: str = field(default="<config>", compare=False)
    lines: Mapping[str, int] = field(default_factory=dict, compare=False, repr=False)

    def line_of(self, path: str) -> int:
        """Return the line of ``path`` or of its nearest recorded parent (1 when none)."""
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path.rpartition(".")[0]
        return 1


# ---------------------------------------------------------------------------------------------------
# The field table


class FieldSpec(NamedTuple):
    """One modelled key: YAML name, the GlideinWMS attribute it becomes, its kind and a short doc.

    Kinds: ``choice`` (one of ``choices``), ``text``, ``list`` (GlideinWMS comma list), ``images``
    (the ``SINGULARITY_IMAGES_DICT`` mapping), ``flag`` (``1``/``0``).
    """

    key: str
    attr: str
    kind: str
    doc: str
    choices: tuple[str, ...] = ()


GROUP_FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("singularity_use", "GLIDEIN_Singularity_Use", "choice", "the VO wish", USE_VALUES),
    FieldSpec("images", "SINGULARITY_IMAGES_DICT", "images", "OS key -> image, in preference order"),
    FieldSpec("image_default", "SINGULARITY_IMAGE_DEFAULT", "text", "legacy: the 'default' image"),
    FieldSpec("image_default6", "SINGULARITY_IMAGE_DEFAULT6", "text", "legacy: the 'rhel6' image"),
    FieldSpec("image_default7", "SINGULARITY_IMAGE_DEFAULT7", "text", "legacy: the 'rhel7' image"),
    FieldSpec("required_os", "REQUIRED_OS", "list", "default OS keys for the group's jobs"),
    FieldSpec("bind_paths", "GLIDEIN_SINGULARITY_BINDPATH", "list", "src[:dst[:ro|rw]] binds"),
    FieldSpec("singularity_opts", "GLIDEIN_SINGULARITY_OPTS", "text", "extra 'exec' options"),
    FieldSpec("container_env", "GLIDEIN_CONTAINER_ENV", "list", "environment policy keywords"),
    FieldSpec("container_env_clearlist", "GLIDEIN_CONTAINER_ENV_CLEARLIST", "list", "variables to unset"),
    FieldSpec("image_restrictions", "SINGULARITY_IMAGE_RESTRICTIONS", "list", "cvmfs, remote, test"),
    FieldSpec("allowed_image_sources", "GS_ALLOWED_IMAGE_SOURCES", "list", "glob patterns images must match"),
    FieldSpec(
        "denied_image_sources", "GS_DENIED_IMAGE_SOURCES", "list", "glob patterns images must not match"
    ),
)

ENTRY_FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec(
        "singularity_require", "GLIDEIN_SINGULARITY_REQUIRE", "choice", "the site rule", REQUIRE_VALUES
    ),
    FieldSpec("required_os", "GLIDEIN_REQUIRED_OS", "list", "OS keys the entry allows"),
    FieldSpec("singularity_bin", "SINGULARITY_BIN", "text", "OSG, CONDOR, PATH or a directory"),
    FieldSpec("binary_override", "GLIDEIN_SINGULARITY_BINARY_OVERRIDE", "text", "binary or PATH-like dirs"),
    FieldSpec("bind_path_default", "GLIDEIN_SINGULARITY_BINDPATH_DEFAULT", "list", "site default binds"),
    FieldSpec("singularity_opts", "GLIDEIN_SINGULARITY_OPTS", "text", "extra 'exec' options"),
    FieldSpec("disable_pid_namespaces", "SINGULARITY_DISABLE_PID_NAMESPACES", "flag", "omit --pid"),
    FieldSpec("cvmfs_mount_dir", "CVMFS_MOUNT_DIR", "text", "where CVMFS is mounted if not /cvmfs"),
    FieldSpec("image_restrictions", "SINGULARITY_IMAGE_RESTRICTIONS", "list", "cvmfs, remote, test"),
    FieldSpec(
        "allowed_image_sources", "GS_ENTRY_ALLOWED_IMAGE_SOURCES", "list", "glob patterns images must match"
    ),
    FieldSpec(
        "denied_image_sources", "GS_ENTRY_DENIED_IMAGE_SOURCES", "list", "glob patterns images must not match"
    ),
)

_GROUP_KEYS = (*tuple(f.key for f in GROUP_FIELDS), "extra_attrs")
_ENTRY_KEYS = (*tuple(f.key for f in ENTRY_FIELDS), "extra_attrs")


# ---------------------------------------------------------------------------------------------------
# Checks of single values: each returns None or a message (rule GS101 unless stated)


def _is_abs(path: str) -> bool:
    return path.startswith("/")


def _check_bind(item: str) -> Optional[str]:
    parts = item.split(":")
    if len(parts) > 3 or not _is_abs(parts[0]) or (len(parts) > 1 and not _is_abs(parts[1])):
        return "{!r} is not a bind 'src[:dst[:ro|rw]]' with absolute paths".format(item)
    if len(parts) == 3 and parts[2] not in ("ro", "rw"):
        return "{!r}: bind option {!r} is not one of ro, rw".format(item, parts[2])
    return None


def _check_env_name(item: str) -> Optional[str]:
    if _ATTR_NAME_RE.match(item):
        return None
    return "{!r} is not an environment variable name".format(item)


def _check_container_env(item: str) -> Optional[str]:
    return None if item in CONTAINER_ENV_VALUES else _not_one_of(item, CONTAINER_ENV_VALUES)


def _check_os_key(item: str) -> Optional[str]:
    if item != item.strip() or ":" in item:
        return "{!r} is not an OS key (no blanks around it, no ':')".format(item)
    return None


def _check_source(item: str) -> Optional[str]:
    if "://" in item or _is_abs(item):
        return None
    return "{!r} is not an image source pattern (a URI like 'docker://myvo/*' or an absolute path)".format(
        item
    )


def _check_restriction(item: str) -> Optional[str]:
    try:
        images.parse_restrictions(item)
    except ConfigError as exc:
        return str(exc)
    return None


def _check_singularity_bin(value: str) -> Optional[str]:
    if value in SINGULARITY_BIN_KEYWORDS or _is_abs(value):
        return None
    return _not_one_of(value, SINGULARITY_BIN_KEYWORDS) + " and is not an absolute directory"


def _check_override(value: str) -> Optional[str]:
    if all(_is_abs(part) for part in value.split(":")):
        return None
    return "{!r} is not an absolute path or a ':'-separated list of absolute directories".format(value)


def _check_abs(value: str) -> Optional[str]:
    return None if _is_abs(value) else "{!r} is not an absolute path".format(value)


_ITEM_CHECKS: dict[str, Callable[[str], Optional[str]]] = {
    "required_os": _check_os_key,
    "bind_paths": _check_bind,
    "bind_path_default": _check_bind,
    "container_env": _check_container_env,
    "container_env_clearlist": _check_env_name,
    "image_restrictions": _check_restriction,
    "allowed_image_sources": _check_source,
    "denied_image_sources": _check_source,
}

_TEXT_CHECKS: dict[str, Callable[[str], Optional[str]]] = {
    "singularity_bin": _check_singularity_bin,
    "binary_override": _check_override,
    "cvmfs_mount_dir": _check_abs,
}


def _not_one_of(value: str, accepted: Sequence[str]) -> str:
    message = "{!r} is not one of {}".format(value, ", ".join(accepted))
    close = difflib.get_close_matches(value, accepted, n=1) or difflib.get_close_matches(
        value.upper(), accepted, n=1
    )
    if close:
        message += " (did you mean {!r}?)".format(close[0])
    return message


def _unknown_key(key: str, accepted: Sequence[str]) -> str:
    close = difflib.get_close_matches(key, accepted, n=1)
    if close:
        return "unknown key {!r} (did you mean {!r}?)".format(key, close[0])
    return "unknown key {!r}; expected one of {}".format(key, ", ".join(accepted))


def _describe(node: YNode) -> str:
    if isinstance(node, YMap):
        return "a mapping"
    if isinstance(node, YSeq):
        return "a list"
    value = node.value
    if value is None:
        return "nothing (null)"
    return "{} {!r}".format(type(value).__name__, value)


# ---------------------------------------------------------------------------------------------------
# The parser


_Config = TypeVar("_Config", FrontendConfig, FactoryConfig)


class _Parser:
    def __init__(self, filename: str) -> None:
        self.filename = filename
        self.findings: list[Finding] = []
        self.lines: dict[str, int] = {}

    def report(self, rule: str, line: int, key: str, message: str) -> None:
        self.findings.append(Finding(rule, self.filename, line, key, message))

    def mapping(self, node: YNode, path: str, what: str = "a mapping") -> Optional[YMap]:
        if isinstance(node, YMap):
            return node
        if isinstance(node, YScalar) and node.value is None:
            return YMap((), (), node.line)  # "groups:" with nothing under it = empty
        self.report("GS100", node.line, path, "expected {}, got {}".format(what, _describe(node)))
        return None

    def known_keys(self, ymap: YMap, path: str, accepted: Sequence[str]) -> list[tuple[str, YNode, str]]:
        """Record the keys' lines; report unknown ones; return (key, node, path) for the known ones."""
        known = []
        for (key, node), line in zip(ymap.items, ymap.key_lines):
            sub = key if not path else path + "." + key
            self.lines[sub] = line
            if key in accepted:
                known.append((key, node, sub))
            else:
                self.report("GS100", line, sub, _unknown_key(key, accepted))
        return known

    def text(self, node: YNode, path: str) -> Optional[str]:
        if isinstance(node, YScalar) and isinstance(node.value, str):
            return node.value
        self.report("GS100", node.line, path, "expected a string, got {}".format(_describe(node)))
        return None

    def text_list(self, node: YNode, path: str) -> Optional[tuple[str, ...]]:
        """A GlideinWMS comma list: a YAML list of strings, or one comma-separated string."""
        if isinstance(node, YScalar) and isinstance(node.value, str):
            items = [(part.strip(), node.line) for part in node.value.split(",")]
        elif isinstance(node, YSeq):
            items = []
            for index, item in enumerate(node.items):
                value = self.text(item, "{}[{}]".format(path, index))
                if value is None:
                    return None
                if "," in value:
                    self.report(
                        "GS102",
                        item.line,
                        path,
                        "{!r} contains ',' which the GlideinWMS comma list cannot carry".format(value),
                    )
                    return None
                items.append((value, item.line))
        else:
            self.report(
                "GS100", node.line, path, "expected a list or a string, got {}".format(_describe(node))
            )
            return None
        for value, line in items:
            if not value:
                self.report("GS101", line, path, "empty item in the list")
                return None
        return tuple(value for value, _ in items)

    def images(self, node: YNode, path: str) -> Optional[tuple[tuple[str, str], ...]]:
        ymap = self.mapping(node, path, "a mapping of OS key to image")
        if ymap is None:
            return None
        pairs = []
        ok = True
        for (key, value_node), line in zip(ymap.items, ymap.key_lines):
            sub = path + "." + key
            self.lines[sub] = line
            if isinstance(value_node, YScalar) and value_node.value is None:
                value = ""  # "rhel6:" -- present with an empty value, as GlideinWMS allows
            else:
                text = self.text(value_node, sub)
                if text is None:
                    ok = False
                    continue
                value = text
            try:
                images.validate_entry(key, value)
            except ConfigError as exc:
                self.report("GS102", line, sub, str(exc))
                ok = False
                continue
            pairs.append((key, value))
        return tuple(pairs) if ok else None

    def flag(self, node: YNode, path: str) -> Optional[bool]:
        if isinstance(node, YScalar) and isinstance(node.value, bool):
            return node.value
        self.report("GS100", node.line, path, "expected true or false, got {}".format(_describe(node)))
        return None

    def settings_values(
        self, ymap: YMap, path: str, fields: Sequence[FieldSpec], accepted: Sequence[str], side: str
    ) -> dict[str, Any]:
        specs = {f.key: f for f in fields}
        values: dict[str, Any] = {}
        for key, node, sub in self.known_keys(ymap, path, accepted):
            if key == "extra_attrs":
                values[key] = self.extra_attrs(node, sub, fields, side)
                continue
            spec = specs[key]
            value: Any
            if spec.kind == "images":
                value = self.images(node, sub)
            elif spec.kind == "flag":
                value = self.flag(node, sub)
            elif spec.kind == "list":
                value = self.text_list(node, sub)
                check = _ITEM_CHECKS.get(key)
                if value is not None and check is not None:
                    value = self._checked_items(value, node, sub, check)
                if value == () and key in ("allowed_image_sources", "denied_image_sources"):
                    self.report(
                        "GS101",
                        node.line,
                        sub,
                        "an empty list renders as an unset {} (no restriction on the glidein): remove the "
                        "key, or list patterns".format(spec.attr),
                    )
                    value = None
            else:
                value = self.text(node, sub)
                problem = None
                if value is not None and spec.kind == "choice":
                    # the glidein reads these case-insensitively (policy.negotiate): so does the YAML
                    if value.strip().upper() in spec.choices:
                        value = value.strip().upper()
                    else:
                        problem = _not_one_of(value, spec.choices)
                elif value is not None and key in _TEXT_CHECKS:
                    problem = _TEXT_CHECKS[key](value)
                elif value is not None and "," in value and spec.attr.startswith("SINGULARITY_IMAGE_DEF"):
                    problem = "{!r} contains ',' which the images dictionary cannot carry".format(value)
                if problem is not None:
                    self.report("GS101", node.line, sub, problem)
                    value = None
            if value is not None:
                values[key] = value
        return values

    def _checked_items(
        self, items: tuple[str, ...], node: YNode, path: str, check: Callable[[str], Optional[str]]
    ) -> Optional[tuple[str, ...]]:
        ok = True
        for index, item in enumerate(items):
            problem = check(item)
            if problem is not None:
                line = node.items[index].line if isinstance(node, YSeq) else node.line
                self.report("GS101", line, path, problem)
                ok = False
        return items if ok else None

    def extra_attrs(self, node: YNode, path: str, fields: Sequence[FieldSpec], side: str) -> ExtraAttrs:
        ymap = self.mapping(node, path)
        if ymap is None:
            return ()
        defaults = FRONTEND_ATTR_DEFAULTS if side == "frontend" else FACTORY_ATTR_DEFAULTS
        modelled = {f.attr: f.key for f in fields}
        result = []
        for (name, attr_node), line in zip(ymap.items, ymap.key_lines):
            sub = path + "." + name
            self.lines[sub] = line
            if not _ATTR_NAME_RE.match(name):
                self.report("GS101", line, sub, "{!r} is not a GlideinWMS attribute name".format(name))
                continue
            if name in modelled:
                self.report(
                    "GS100", line, sub, "{} is modelled: use the key {!r}".format(name, modelled[name])
                )
                continue
            attr = self.extra_attr(attr_node, sub, defaults)
            if attr is not None:
                result.append((name, attr))
        return tuple(result)

    def extra_attr(self, node: YNode, path: str, defaults: Sequence[tuple[str, str]]) -> Optional[ExtraAttr]:
        flags = dict(defaults)
        if isinstance(node, YMap):
            accepted = ("value", *sorted(set(flags) | {"comment"}))
            value = None
            for key, sub_node, sub in self.known_keys(node, path, accepted):
                text = self.attr_text(sub_node, sub, key in _BOOL_FLAGS)
                if text is None:
                    return None
                if key == "value":
                    value = text
                elif key == "type" and text not in _ATTR_TYPES:
                    self.report("GS101", sub_node.line, sub, _not_one_of(text, _ATTR_TYPES))
                    return None
                else:
                    flags[key] = text
            if value is None:
                self.report("GS100", node.line, path, "missing key 'value'")
                return None
        else:
            value = self.attr_text(node, path, False)
            if value is None:
                return None
        return ExtraAttr(value, tuple(sorted(flags.items())))

    def attr_text(self, node: YNode, path: str, boolean: bool) -> Optional[str]:
        if isinstance(node, YScalar):
            value = node.value
            if isinstance(value, bool):
                return "True" if value else "False"
            if boolean and value in ("True", "False"):
                return str(value)
            if not boolean and isinstance(value, (str, int, float)):
                return str(value)
        expected = "true or false" if boolean else "a string or a number"
        self.report("GS100", node.line, path, "expected {}, got {}".format(expected, _describe(node)))
        return None

    def named(
        self, node: YNode, path: str, fields: Sequence[FieldSpec], accepted: Sequence[str], side: str
    ) -> list[tuple[str, dict[str, Any]]]:
        ymap = self.mapping(node, path)
        if ymap is None:
            return []
        result = []
        for (name, sub_node), line in zip(ymap.items, ymap.key_lines):
            sub = path + "." + name
            self.lines[sub] = line
            if not _NAME_RE.match(name):
                self.report(
                    "GS101", line, sub, "{!r} is not a valid name (letters, digits, '_.-')".format(name)
                )
                continue
            settings = self.mapping(sub_node, sub)
            if settings is not None:
                result.append((name, self.settings_values(settings, sub, fields, accepted, side)))
        return result

    def scripts_dir(self, node: YNode, path: str) -> Optional[str]:
        text = self.text(node, path)
        problem = None if text is None else _check_abs(text)
        if problem is not None:
            self.report("GS101", node.line, path, problem)
            return None
        return text

    def section(
        self,
        node: YNode,
        name: str,
        list_key: str,
        fields: Any,
        keys: Any,
        settings_type: Callable[..., Any],
        item_type: Callable[..., Any],
        config: _Config,
    ) -> Optional[_Config]:
        """One top-level section (``frontend`` or ``factory``): scripts_dir, global settings, the list."""
        ymap = self.mapping(node, name)
        if ymap is None:
            return None
        for key, sub_node, sub in self.known_keys(
            ymap, name, tuple(sorted((list_key, "global", "scripts_dir")))
        ):
            if key == "scripts_dir":
                text = self.scripts_dir(sub_node, sub)
                if text is not None:
                    config = dataclasses.replace(config, scripts_dir=text)
            elif key == "global":
                settings = self.mapping(sub_node, sub)
                if settings is not None:
                    values = self.settings_values(settings, sub, fields, keys, name)
                    config = dataclasses.replace(config, global_settings=settings_type(**values))
            else:
                items = tuple(
                    item_type(item, settings_type(**values))
                    for item, values in self.named(sub_node, sub, fields, keys, name)
                )
                changes: dict[str, Any] = {list_key: items}
                config = dataclasses.replace(config, **changes)
        return config

    def frontend(self, node: YNode) -> Optional[FrontendConfig]:
        return self.section(
            node, "frontend", "groups", GROUP_FIELDS, _GROUP_KEYS, GroupSettings, Group, FrontendConfig()
        )

    def factory(self, node: YNode) -> Optional[FactoryConfig]:
        return self.section(
            node, "factory", "entries", ENTRY_FIELDS, _ENTRY_KEYS, EntrySettings, Entry, FactoryConfig()
        )


def parse_config(document: Document) -> tuple[Config, list[Finding]]:
    """Build the model from a parsed document; return it with every problem found (GS100-GS103).

    Values with a problem are left unset in the returned model.
    """
    parser = _Parser(document.filename)
    for dup in document.duplicates:
        parser.report(
            "GS103",
            dup.line,
            dup.path,
            "duplicate key (first given on line {}); the last one wins".format(dup.first_line),
        )
    root = document.root
    frontend = factory = None
    if root is None:
        parser.report("GS100", 1, "(top level)", "the file is empty; expected 'frontend:' and/or 'factory:'")
    else:
        top = parser.mapping(root, "(top level)")
        if top is not None:
            for key, node, _ in parser.known_keys(top, "", ("factory", "frontend")):
                if key == "frontend":
                    frontend = parser.frontend(node)
                else:
                    factory = parser.factory(node)
            if not top.items:
                parser.report("GS100", top.line, "(top level)", "expected 'frontend:' and/or 'factory:'")
    if (
        frontend is not None
        and factory is not None
        and "frontend.scripts_dir" in parser.lines
        and factory.scripts_dir
    ):
        parser.report(
            "GS101",
            parser.lines["factory.scripts_dir"],
            "factory.scripts_dir",
            "both frontend.scripts_dir and factory.scripts_dir are set: ship the glidein files from one side",
        )
    findings = sorted(parser.findings, key=lambda f: (f.line, f.rule))
    return Config(frontend, factory, document.filename, parser.lines), findings


def load_config(text: str, filename: str = "<config>") -> Config:
    """Parse YAML ``text`` into the model; raise ConfigError with the first problem found."""
    config, findings = parse_config(parse_yaml(text, filename))
    if findings:
        raise ConfigError(str(findings[0]))
    return config


def load_config_file(path: str) -> Config:
    """Read and parse a YAML file (the message names the file when it cannot be read)."""
    try:
        with open(path, encoding="utf-8") as stream:
            text = stream.read()
    except OSError as exc:
        msg = "{}: cannot read: {}".format(path, exc.strerror or exc)
        raise ConfigError(msg) from None
    return load_config(text, path)


# ---------------------------------------------------------------------------------------------------
# Effective settings: what a glidein of a group sees (GlideinWMS loads global, then group attributes)

_Settings = TypeVar("_Settings", GroupSettings, EntrySettings)


def merged(defaults: _Settings, own: _Settings) -> _Settings:
    """Return ``own`` with every unset field taken from ``defaults`` (``extra_attrs`` merged by name)."""
    changes: dict[str, Any] = {}
    for spec in dataclasses.fields(own):
        if spec.name == "extra_attrs":
            extra = dict(defaults.extra_attrs)
            extra.update(own.extra_attrs)
            changes[spec.name] = tuple(extra.items())
        elif getattr(own, spec.name) is None:
            changes[spec.name] = getattr(defaults, spec.name)
    return dataclasses.replace(own, **changes)


def source_path(config: Config, side: str, name: Optional[str], key: str) -> str:
    """The dotted path where a group's/entry's effective ``key`` is set (own section, else global)."""
    if side == "frontend":
        section_name, own_name = "frontend", "groups"
        section: Any = config.frontend
        items: Sequence[Any] = config.frontend.groups if config.frontend else ()
    else:
        section_name, own_name = "factory", "entries"
        section = config.factory
        items = config.factory.entries if config.factory else ()
    for item in items:
        if item.name == name and getattr(item.settings, key) not in (None, ()):
            return "{}.{}.{}.{}".format(section_name, own_name, name, key)
    if section is not None and getattr(section.global_settings, key) not in (None, ()):
        return "{}.global.{}".format(section_name, key)
    if name is None:
        return "{}.global".format(section_name)
    return "{}.{}.{}".format(section_name, own_name, name)
