"""Import existing GlideinWMS XML into the YAML model, and write the model as YAML.

A frontend ``frontend.xml`` (root ``<frontend>``: global ``<attrs>``, ``<groups><group name=...><attrs>``)
or a factory ``glideinWMS.xml`` (root ``<glidein>``: global ``<attrs>``, ``<entries><entry name=...>
<attrs>``) becomes the ``frontend:``/``factory:`` section. Modelled attributes (``config.GROUP_FIELDS``,
``ENTRY_FIELDS``) become YAML keys; every other attribute is kept verbatim under ``extra_attrs``.
Whatever is not carried over exactly is returned as a warning (the command prints them on stderr).

Values are taken as written: a value GlideinWMS would reject stays in the YAML, where ``lint`` names it.
"""

from __future__ import annotations

import dataclasses
import os
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from typing import Any, Callable, Optional

import yaml

from .. import images
from ..errors import ConfigError
from .config import (
    DEFAULT_SCRIPTS_DIR,
    ENTRY_FIELDS,
    FACTORY_ATTR_DEFAULTS,
    FRONTEND_ATTR_DEFAULTS,
    GROUP_FIELDS,
    Config,
    Entry,
    EntrySettings,
    ExtraAttr,
    FactoryConfig,
    FieldSpec,
    FrontendConfig,
    Group,
    GroupSettings,
)
from .render import FACTORY_FLAGS, FACTORY_GLOBAL_FLAGS, FRONTEND_FLAGS, GLIDEIN_FILES, Flags

__all__ = ["config_to_yaml", "import_xml", "import_xml_split", "merge_imports"]

_SETUP_NAME = GLIDEIN_FILES[1].name
_GWMS_WRAPPER = "default_singularity_wrapper.sh"


class _Importer:
    def __init__(self, filename: str) -> None:
        self.filename = filename
        self.decisions: list[str] = []
        self.notes: list[str] = []

    def warn(self, where: str, message: str) -> None:
        """Something an admin must decide: the import is not exactly what GlideinWMS does today."""
        self.decisions.append("{}: {}: {}".format(self.filename, where, message))

    def note(self, where: str, message: str) -> None:
        """Carried over exactly, only said for the record."""
        self.notes.append("{}: {}: {}".format(self.filename, where, message))

    @property
    def warnings(self) -> list[str]:
        """The decisions first, then the notes."""
        return self.decisions + self.notes

    def settings_values(
        self,
        attrs: Optional[ET.Element],
        where: str,
        fields: Sequence[FieldSpec],
        flags: Any,
        defaults: Flags,
    ) -> dict[str, Any]:
        specs = {spec.attr: spec for spec in fields}
        values: dict[str, Any] = {}
        extra: dict[str, ExtraAttr] = {}
        for element in attrs.findall("attr") if attrs is not None else ():
            name = element.get("name")
            if not name:
                self.warn(where, "an <attr> without a name was skipped")
                continue
            value = element.get("value", "")
            given = tuple(sorted((k, v) for k, v in element.attrib.items() if k not in ("name", "value")))
            spec = specs.get(name)
            if spec is None:
                merged = dict(defaults)
                merged.update(given)
                extra[name] = ExtraAttr(value, tuple(sorted(merged.items())))
                self.note(where, "{} is not modelled; kept verbatim under extra_attrs".format(name))
                continue
            if name in (s.attr for s in fields if s.key in values):
                self.warn(where, "{} is given twice; the last one is kept".format(name))
            if value.strip() == "":
                self.note(
                    where, "{} has an empty value; skipped (GlideinWMS treats it as unset)".format(name)
                )
                continue
            expected = dict(flags[name])
            if dict(given) != expected:
                self.warn(
                    where,
                    "{}: flags {} will be rendered as {}".format(
                        name, _show_flags(given), _show_flags(tuple(expected.items()))
                    ),
                )
            values[spec.key] = self.value(spec, value, where)
        if extra:
            values["extra_attrs"] = tuple(extra.items())
        return values

    def value(self, spec: FieldSpec, text: str, where: str) -> Any:
        if spec.kind == "images":
            table = images.ImagesDict.parse(text)
            if len(table.entries) != len(table.items()):
                self.warn(where, "{}: duplicate keys; only the last of each is kept".format(spec.attr))
            return table.items()
        if spec.kind == "list":
            return tuple(item.strip() for item in text.split(",") if item.strip())
        if spec.kind == "choice" and text.strip().upper() not in spec.choices:
            self.warn(
                where,
                "{}={!r} is not one of {}: a glidein fails with it (VO_Config); imported as written, "
                "fix it (lint reports it as GS101)".format(spec.attr, text, ", ".join(spec.choices)),
            )
        if spec.kind == "flag":
            if text not in ("0", "1"):
                self.warn(
                    where,
                    "{}={!r}: GlideinWMS honours only exactly 1; imported as false".format(spec.attr, text),
                )
            return text == "1"
        return text

    def scripts_dir(self, root: ET.Element, where: str) -> Optional[str]:
        found = None
        for files in [root.find("files"), *root.findall("groups/group/files")]:
            for element in files.findall("file") if files is not None else ():
                path = element.get("absfname", "")
                if os.path.basename(path) == _GWMS_WRAPPER:
                    self.warn(
                        where,
                        "{} ships GlideinWMS's container wrapper: remove it, the rendered <files> "
                        "replace it".format(path),
                    )
                elif os.path.basename(path) == _SETUP_NAME:
                    found = os.path.dirname(path)
        return found

    def sections(
        self,
        root: ET.Element,
        path: str,
        label: str,
        fields: Any,
        flags: Any,
        defaults: Any,
        settings_type: Callable[..., Any],
        item_type: Callable[..., Any],
        global_flags: Any = None,
    ) -> tuple[Any, tuple[Any, ...]]:
        """The global settings and the named items (groups or entries) of a frontend or factory XML."""
        values = self.settings_values(
            root.find("attrs"),
            "global attrs",
            fields,
            flags if global_flags is None else global_flags,
            defaults,
        )
        items = []
        for element in root.findall(path):
            name = element.get("name", "")
            item_values = self.settings_values(
                element.find("attrs"), "{} {!r}".format(label, name), fields, flags, defaults
            )
            items.append(item_type(name, settings_type(**item_values)))
        return settings_type(**values), tuple(items)

    def frontend(self, root: ET.Element) -> FrontendConfig:
        settings, groups = self.sections(
            root,
            "groups/group",
            "group",
            GROUP_FIELDS,
            FRONTEND_FLAGS,
            FRONTEND_ATTR_DEFAULTS,
            GroupSettings,
            Group,
        )
        return FrontendConfig(settings, groups, self.scripts_dir(root, "files") or DEFAULT_SCRIPTS_DIR)

    def factory(self, root: ET.Element) -> FactoryConfig:
        settings, entries = self.sections(
            root,
            "entries/entry",
            "entry",
            ENTRY_FIELDS,
            FACTORY_FLAGS,
            FACTORY_ATTR_DEFAULTS,
            EntrySettings,
            Entry,
            FACTORY_GLOBAL_FLAGS,
        )
        return FactoryConfig(settings, entries, self.scripts_dir(root, "files"))


def _show_flags(flags: Flags) -> str:
    return " ".join('{}="{}"'.format(k, v) for k, v in flags) or "(none)"


def import_xml(text: str, filename: str = "<xml>") -> tuple[Config, list[str]]:
    """Parse a GlideinWMS frontend or factory XML text; return the model and the warnings (decisions
    first, then notes: ``import_xml_split``)."""
    config, decisions, notes = import_xml_split(text, filename)
    return config, decisions + notes


def import_xml_split(text: str, filename: str = "<xml>") -> tuple[Config, list[str], list[str]]:
    """Parse a GlideinWMS frontend or factory XML text; return the model, what needs a decision (a value
    or flag that changes, a file to remove) and the notes (attributes kept verbatim, empty values)."""
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        line = exc.position[0]
        msg = "{}:{}: invalid XML: {}".format(filename, line, exc)
        raise ConfigError(msg) from None
    importer = _Importer(filename)
    if root.tag == "frontend":
        config = Config(frontend=importer.frontend(root), filename=filename)
    elif root.tag == "glidein":
        config = Config(factory=importer.factory(root), filename=filename)
    else:
        msg = (
            "{}: root element <{}> is neither <frontend> (frontend.xml) nor <glidein> (the factory's "
            "glideinWMS.xml)".format(filename, root.tag)
        )
        raise ConfigError(msg)
    return config, importer.decisions, importer.notes


def merge_imports(configs: Sequence[Config]) -> Config:
    """Combine imported files (at most one frontend and one factory) into one model."""
    merged = Config()
    for config in configs:
        for section in ("frontend", "factory"):
            if getattr(config, section) is None:
                continue
            if getattr(merged, section) is not None:
                msg = (
                    "{}: a second {} configuration; import one frontend and one factory file at most".format(
                        config.filename, section
                    )
                )
                raise ConfigError(msg)
            merged = dataclasses.replace(merged, **{section: getattr(config, section)})
    return merged


# ---------------------------------------------------------------------------------------------------
# Model -> YAML


def _settings_dict(
    settings: GroupSettings | EntrySettings, fields: Sequence[FieldSpec], defaults: Flags
) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for spec in fields:
        value = getattr(settings, spec.key)
        if value is None:
            continue
        if spec.kind == "images":
            result[spec.key] = dict(value)
        elif spec.kind == "list":
            result[spec.key] = list(value)
        else:
            result[spec.key] = value
    if settings.extra_attrs:
        extra: dict[str, Any] = {}
        for name, attr in settings.extra_attrs:
            if attr.flags == tuple(sorted(defaults)):
                extra[name] = attr.value
            else:
                long_form: dict[str, Any] = {"value": attr.value}
                for flag, flag_value in attr.flags:
                    if (flag, flag_value) not in defaults:
                        long_form[flag] = {"True": True, "False": False}.get(flag_value, flag_value)
                extra[name] = long_form
        result["extra_attrs"] = extra
    return result


def config_to_yaml(config: Config, header: str = "") -> str:
    """Write the model as YAML that ``load_config`` reads back to an equal model."""
    data: dict[str, Any] = {}
    if config.frontend is not None:
        frontend: dict[str, Any] = {}
        if config.frontend.scripts_dir != DEFAULT_SCRIPTS_DIR:
            frontend["scripts_dir"] = config.frontend.scripts_dir
        fe_global = _settings_dict(config.frontend.global_settings, GROUP_FIELDS, FRONTEND_ATTR_DEFAULTS)
        if fe_global:
            frontend["global"] = fe_global
        frontend["groups"] = {
            g.name: _settings_dict(g.settings, GROUP_FIELDS, FRONTEND_ATTR_DEFAULTS)
            for g in config.frontend.groups
        }
        data["frontend"] = frontend
    if config.factory is not None:
        factory: dict[str, Any] = {}
        if config.factory.scripts_dir is not None:
            factory["scripts_dir"] = config.factory.scripts_dir
        fa_global = _settings_dict(config.factory.global_settings, ENTRY_FIELDS, FACTORY_ATTR_DEFAULTS)
        if fa_global:
            factory["global"] = fa_global
        factory["entries"] = {
            e.name: _settings_dict(e.settings, ENTRY_FIELDS, FACTORY_ATTR_DEFAULTS)
            for e in config.factory.entries
        }
        data["factory"] = factory
    text = yaml.safe_dump(data, sort_keys=False, default_flow_style=False, allow_unicode=True, width=1000)
    return header + text
