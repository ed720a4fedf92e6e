"""Render the YAML model to GlideinWMS XML: frontend ``<attrs>``/``<files>``, factory entry ``<attrs>``.

The XML flags of every attribute come from ``FRONTEND_FLAGS``/``FACTORY_FLAGS`` (one row per attribute
with the reason for its flags); ``import`` reads the same tables, so what render writes imports back
to the same model. Templates live in ``templates/*.j2`` (Jinja2, StrictUndefined, autoescaped).

Flag choice, in short (docs/deploy-factory.md has the table):

- Frontend attributes GlideinWMS knows get ``glidein_publish="True" job_publish="True"
  parameter="False"``, the flags GlideinWMS's own frontend documentation uses for
  ``GLIDEIN_Singularity_Use`` and ``SINGULARITY_IMAGES_DICT``. glidein-singularity itself reads them from
  ``glidein_config`` (``glidein_publish`` would suffice), but GlideinWMS's scripts read
  ``GLIDEIN_SINGULARITY_BINDPATH``/``_OPTS`` and (per a measurement in a real pool) the images dictionary
  from the job environment, so ``job_publish`` keeps a mixed deployment working.
- Our own ``GS_*`` attributes get ``glidein_publish="True" job_publish="False" parameter="False"``:
  the startup script reads ``glidein_config`` and the job wrapper the machine ad; jobs do not need them.
- Factory attributes get ``const="True" glidein_publish="True" job_publish="False" parameter="True"
  publish="True"`` (GlideinWMS's factory example for ``GLIDEIN_SINGULARITY_REQUIRE``), with
  ``job_publish="True"`` for the three attributes GlideinWMS reads only from the environment, except
  in the factory's global ``<attrs>`` where GlideinWMS refuses it for two of them
  (``GWMS_MAIN_VARS_NOT_JOB_PUBLISHED``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple, Optional

import jinja2

from .. import images
from ..errors import ConfigError
from .config import (
    ENTRY_FIELDS,
    GROUP_FIELDS,
    Config,
    EntrySettings,
    FieldSpec,
    GroupSettings,
)

__all__ = [
    "FACTORY_FLAGS",
    "FACTORY_GLOBAL_FLAGS",
    "FRONTEND_FLAGS",
    "GLIDEIN_FILES",
    "GWMS_MAIN_VARS_NOT_JOB_PUBLISHED",
    "PARTS",
    "GlideinFile",
    "XmlAttr",
    "attr_value",
    "entry_attrs",
    "file_items",
    "files_xml",
    "group_attrs",
    "render",
]

Flags = tuple[tuple[str, str], ...]

_FE_GWMS: Flags = (
    ("glidein_publish", "True"),
    ("job_publish", "True"),
    ("parameter", "False"),
    ("type", "string"),
)
_FE_OURS: Flags = (
    ("glidein_publish", "True"),
    ("job_publish", "False"),
    ("parameter", "False"),
    ("type", "string"),
)
_FA: Flags = (
    ("const", "True"),
    ("glidein_publish", "True"),
    ("job_publish", "False"),
    ("parameter", "True"),
    ("publish", "True"),
    ("type", "string"),
)
_FA_ENV: Flags = tuple((k, "True" if k == "job_publish" else v) for k, v in _FA)

#: Frontend attribute -> XML flags (see the module docstring for why).
FRONTEND_FLAGS: Mapping[str, Flags] = {
    spec.attr: (_FE_OURS if spec.attr.startswith("GS_") else _FE_GWMS) for spec in GROUP_FIELDS
}

#: Factory attribute -> XML flags; job_publish where GlideinWMS reads the value only from the environment.
FACTORY_FLAGS: Mapping[str, Flags] = {
    spec.attr: (
        _FA_ENV
        if spec.attr
        in (
            "GLIDEIN_SINGULARITY_BINDPATH_DEFAULT",
            "GLIDEIN_SINGULARITY_OPTS",
            "GLIDEIN_SINGULARITY_BINARY_OVERRIDE",
        )
        else _FA
    )
    for spec in ENTRY_FIELDS
}

#: Attributes GlideinWMS's factory-wide condor_vars.lst already declares without a job environment name:
#: its factory code refuses ``job_publish="True"`` for them in the global ``<attrs>`` ("Cannot force job
#: publishing"), and accepts it in an entry's ``<attrs>``. tests/unit/test_gwms_config.py checks this
#: list against GlideinWMS's own file and code.
GWMS_MAIN_VARS_NOT_JOB_PUBLISHED = ("GLIDEIN_SINGULARITY_BINDPATH_DEFAULT", "GLIDEIN_SINGULARITY_OPTS")

#: Factory-wide (global ``<attrs>``) flags: the entry flags, but never job-published where GlideinWMS
#: refuses it.
FACTORY_GLOBAL_FLAGS: Mapping[str, Flags] = {
    name: (_FA if name in GWMS_MAIN_VARS_NOT_JOB_PUBLISHED else flags)
    for name, flags in FACTORY_FLAGS.items()
}


class GlideinFile(NamedTuple):
    """A file shipped to every glidein: its name in ``glidein_scripts/`` and its GlideinWMS flags."""

    name: str
    flags: Flags
    why: str


_AFTER = (("after_entry", "True"), ("after_group", "False"), ("const", "True"))

#: In download order: the bundle must be on disk before the startup script runs.
GLIDEIN_FILES: tuple[GlideinFile, ...] = (
    GlideinFile(
        "glidein_singularity.zip",
        (*_AFTER, ("executable", "False"), ("untar", "False"), ("wrapper", "False")),
        "the stdlib-only code, a regular file next to the startup script",
    ),
    GlideinFile(
        "gs_job_wrapper.py",
        (*_AFTER, ("executable", "False"), ("untar", "False"), ("wrapper", "False")),
        "the job wrapper's Python entry, a regular file next to the bundle",
    ),
    GlideinFile(
        "gs-health",
        (*_AFTER, ("executable", "False"), ("untar", "False"), ("wrapper", "False")),
        "the health probe (a startd cron job); gs-setup links it next to glidein_config and makes it "
        "executable",
    ),
    GlideinFile(
        "gs-prepare-job",
        (*_AFTER, ("executable", "False"), ("untar", "False"), ("wrapper", "False")),
        "the starter's prepare-job hook; gs-setup links it next to glidein_config and makes it executable",
    ),
    GlideinFile(
        "50-glidein-singularity-wrapper.config",
        (*_AFTER, ("executable", "False"), ("untar", "False"), ("wrapper", "False")),
        "the prepare-job hook's settings; gs-setup installs them into the glidein's HTCondor "
        "configuration (USER_JOB_WRAPPER stays GlideinWMS's)",
    ),
    GlideinFile(
        "55-glidein-singularity-container.config",
        (*_AFTER, ("executable", "False"), ("untar", "False"), ("wrapper", "False")),
        "container-universe jobs under our policy, in one container, and the Has* attributes that say "
        "what the slot runs; HTCondor's own launch off unless the starter launches from our plan "
        "(GLIDEIN_SINGULARITY_USE_HTCONDOR); gs-setup installs it",
    ),
    GlideinFile(
        "60-glidein-singularity-start.config",
        (*_AFTER, ("executable", "False"), ("untar", "False"), ("wrapper", "False")),
        "the START term; gs-setup installs it into the glidein's HTCondor configuration",
    ),
    GlideinFile(
        "70-glidein-singularity-health.config",
        (*_AFTER, ("executable", "False"), ("untar", "False"), ("wrapper", "False")),
        "the health probe's startd cron settings; gs-setup installs them with the START term",
    ),
    GlideinFile(
        "gs-setup",
        (*_AFTER, ("executable", "True"), ("period", "0"), ("untar", "False"), ("wrapper", "False")),
        "the startup script: after the entry's scripts (CVMFS_MOUNT_DIR is known) and after "
        "GlideinWMS's own singularity_setup.sh, so its result is the one advertised; before the "
        "group scripts, which may test HAS_SINGULARITY",
    ),
    GlideinFile(
        "gs-job-wrapper",
        (*_AFTER, ("executable", "False"), ("untar", "False"), ("wrapper", "True")),
        "the job wrapper snippet concatenated into condor_job_wrapper.sh (GlideinWMS requires a "
        "wrapper file when GLIDEIN_Singularity_Use may use containers)",
    ),
)

#: ``--part`` values and the files each writes.
PARTS: Mapping[str, tuple[str, ...]] = {
    "frontend": ("frontend.xml",),
    "factory": ("factory.xml",),
    "all": ("frontend.xml", "factory.xml"),
}


class XmlAttr(NamedTuple):
    """One ``<attr>`` element: name, the other XML attributes in name order, value."""

    name: str
    flags: Flags
    value: str


class _File(NamedTuple):
    path: str
    flags: Flags


def attr_value(spec: FieldSpec, value: Any) -> str:
    """The GlideinWMS text of a model value: comma lists joined, the images dictionary formatted."""
    if spec.kind == "images":
        return images.format_images_dict(value)
    if spec.kind == "list":
        return ",".join(value)
    if spec.kind == "flag":
        return "1" if value else "0"
    return str(value)


def _attrs(
    settings: GroupSettings | EntrySettings, fields: Sequence[FieldSpec], flags: Mapping[str, Flags]
) -> list[XmlAttr]:
    result = []
    for spec in fields:
        value = getattr(settings, spec.key)
        if value is not None:
            result.append(XmlAttr(spec.attr, flags[spec.attr], attr_value(spec, value)))
    for name, extra in settings.extra_attrs:
        result.append(XmlAttr(name, extra.flags, extra.value))
    return result


def group_attrs(settings: GroupSettings) -> list[XmlAttr]:
    """The frontend ``<attr>`` elements of a group (or of the frontend-wide settings)."""
    return _attrs(settings, GROUP_FIELDS, FRONTEND_FLAGS)


def entry_attrs(settings: EntrySettings, factory_wide: bool = False) -> list[XmlAttr]:
    """The factory ``<attr>`` elements of an entry (or, ``factory_wide``, of the global ``<attrs>``)."""
    return _attrs(settings, ENTRY_FIELDS, FACTORY_GLOBAL_FLAGS if factory_wide else FACTORY_FLAGS)


def file_items(scripts_dir: str, side: str = "frontend") -> list[_File]:
    """The ``<file>`` elements shipping ``GLIDEIN_FILES`` from ``scripts_dir``.

    A factory's files have no ``after_group`` (that flag orders frontend files around group files).
    """
    return [
        _File(
            scripts_dir.rstrip("/") + "/" + f.name,
            tuple(flag for flag in f.flags if side == "frontend" or flag[0] != "after_group"),
        )
        for f in GLIDEIN_FILES
    ]


_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("glidein_singularity.frontend", "templates"),
    undefined=jinja2.StrictUndefined,
    autoescape=True,
    keep_trailing_newline=True,
    trim_blocks=True,
    lstrip_blocks=True,
)


def _comment_safe(text: str) -> str:
    return text.replace("--", "- -")


def _frontend(config: Config, source: str) -> str:
    frontend = config.frontend
    if frontend is None:
        msg = "{}: no 'frontend:' section to render".format(config.filename)
        raise ConfigError(msg)
    ships = config.factory is None or config.factory.scripts_dir is None
    files = file_items(frontend.scripts_dir) if ships else []
    groups = [{"name": g.name, "attrs": group_attrs(g.settings)} for g in frontend.groups]
    template = _ENV.get_template("frontend.xml.j2")
    return template.render(
        source=source, global_attrs=group_attrs(frontend.global_settings), files=files, groups=groups
    )


def _factory(config: Config, source: str) -> str:
    factory = config.factory
    if factory is None:
        msg = "{}: no 'factory:' section to render".format(config.filename)
        raise ConfigError(msg)
    files = file_items(factory.scripts_dir, "factory") if factory.scripts_dir else []
    entries = [{"name": e.name, "attrs": entry_attrs(e.settings)} for e in factory.entries]
    template = _ENV.get_template("factory.xml.j2")
    return template.render(
        source=source,
        global_attrs=entry_attrs(factory.global_settings, factory_wide=True),
        files=files,
        entries=entries,
    )


def files_xml(scripts_dir: str, side: str = "frontend") -> str:
    """The ``<files>`` element shipping ``GLIDEIN_FILES`` from ``scripts_dir`` (``bundle --ship``)."""
    template = _ENV.get_template("files.xml.j2")
    return template.render(
        directory=_comment_safe(scripts_dir), side=side, files=file_items(scripts_dir, side)
    )


def render(config: Config, part: str = "all", source: Optional[str] = None) -> dict[str, str]:
    """Render ``part`` (``frontend``, ``factory`` or ``all``); return file name -> XML text.

    ``all`` renders the sections present (at least one is); ``source`` names the YAML in the header
    comment (default: the base name of ``config.filename``).
    """
    if part not in PARTS:
        msg = "unknown part {!r}; expected one of {}".format(part, ", ".join(PARTS))
        raise ConfigError(msg)
    shown = _comment_safe(source if source is not None else os.path.basename(config.filename))
    result = {}
    if part in ("frontend", "all") and (part == "frontend" or config.frontend is not None):
        result["frontend.xml"] = _frontend(config, shown)
    if part in ("factory", "all") and (part == "factory" or config.factory is not None):
        result["factory.xml"] = _factory(config, shown)
    return result
