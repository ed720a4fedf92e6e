"""The machine ads the glideins of a YAML configuration would advertise (one per group x entry).

A glidein of group G on entry E advertises (GlideinWMS ``glidein_publish``) every attribute of E and of
G that ``render`` writes with ``glidein_publish="True"``; where both set one, the frontend's wins, as in
``glidein_config``. Our startup script then adds what it decides (``node/setup.py``):

- the negotiated outcome of ``GLIDEIN_Singularity_Use`` x ``GLIDEIN_SINGULARITY_REQUIRE``
  (``policy.negotiate``): FAIL -> the glidein does not start; DISABLE -> nothing; NEVER ->
  ``HAS_SINGULARITY = False``; PREFERRED/REQUIRED -> ``HAS_SINGULARITY = True``,
  ``GWMS_SINGULARITY_STATUS``, ``SINGULARITY_PATH``, the images dictionary (legacy defaults merged,
  ``images.merge_legacy``) and ``SINGULARITY_OS_LIST``, its keys whose images pass the syntax and
  restriction checks, within ``GLIDEIN_REQUIRED_OS`` (the startup script's own function), and the
  image-source lists with the ``GS_IMAGE_ALLOW_REGEX``/``GS_IMAGE_DENY_REGEX`` the START term reads
  (``adverts.source_adverts``, the startup script's own functions);
- ``GPUs``: the count the entry's (or group's) ``GLIDEIN_Resource_Slots`` names, 0 without GPU slots.

What a config cannot say is assumed and listed in each candidate's notes: the runtime works, at
``ASSUMED_RUNTIME``, and the images exist at the site (the startup script checks both; when they fail,
a REQUIRED glidein does not start and a PREFERRED one advertises ``HAS_SINGULARITY = False``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Optional

from .. import images

# the startup script's own rules for what a glidein advertises
from ..adverts import ImageStatus, container_adverts, servable_os, source_adverts
from ..attributes import BY_NAME
from ..classad import format_literal
from ..errors import ConfigError
from ..matching import Candidate
from ..policy import Outcome, negotiate
from ..sources import SETTINGS as SOURCE_SETTINGS
from ..sources import SourcePolicy
from .config import Config, EntrySettings, GroupSettings, merged
from .render import XmlAttr, entry_attrs, group_attrs

__all__ = ["ASSUMED_RUNTIME", "candidates", "resource_gpus"]

#: The runtime path a config candidate advertises (the real one is found by the startup script).
ASSUMED_RUNTIME = "/usr/bin/apptainer"

_ASSUMED = (
    "assumed: the container runtime works at the site, at {} (the startup script finds the real one)".format(
        ASSUMED_RUNTIME
    ),
    "assumed: the images exist at the site (the startup script checks them)",
)


def _groups(config: Config) -> list[tuple[str, GroupSettings]]:
    frontend = config.frontend
    if frontend is None:
        return [("(no frontend)", GroupSettings())]
    if not frontend.groups:
        return [("(frontend defaults)", frontend.global_settings)]
    return [(g.name, merged(frontend.global_settings, g.settings)) for g in frontend.groups]


def _entries(config: Config) -> list[tuple[str, EntrySettings]]:
    factory = config.factory
    if factory is None:
        return [("(no factory)", EntrySettings())]
    if not factory.entries:
        return [("(factory defaults)", factory.global_settings)]
    return [(e.name, merged(factory.global_settings, e.settings)) for e in factory.entries]


def _published(attrs: Sequence[XmlAttr]) -> dict[str, str]:
    """name -> ClassAd expression text of the attributes a glidein publishes in its startd ad."""
    result = {}
    for attr in attrs:
        flags = dict(attr.flags)
        if flags.get("glidein_publish") != "True":
            continue
        kind = flags.get("type", "string")
        result[attr.name] = attr.value if kind in ("int", "expr") else format_literal(attr.value)
    return result


def resource_gpus(entry: EntrySettings, group: GroupSettings) -> Optional[int]:
    """The glidein's ``GPUs`` from ``GLIDEIN_Resource_Slots`` (``name[,number[,...]]`` items, ';'-separated).

    0 without a GPU resource slot (what the glidein's startd advertises then); None when the GPUs are
    named without a count (the startd discovers them: the config cannot say how many).
    """
    slots = dict(entry.extra_attrs)
    slots.update(group.extra_attrs)
    spec = slots.get("GLIDEIN_Resource_Slots")
    if spec is None:
        return 0
    for item in spec.value.split(";"):
        parts = [part.strip() for part in item.split(",")]
        if parts[0].lower() == "gpus":
            return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None
    return 0


def _source_policy(group: GroupSettings, entry: EntrySettings) -> SourcePolicy:
    """The image-source lists as the glidein's glidein_config gets them (the rendered attributes)."""
    rendered = {attr.name: attr.value for attr in [*entry_attrs(entry), *group_attrs(group)]}
    return SourcePolicy.from_settings({name: rendered.get(name, "") for name in SOURCE_SETTINGS})


def _container_adverts(group: GroupSettings, entry: EntrySettings, outcome: Outcome) -> dict[str, str]:
    sources = _source_policy(group, entry)
    restrictions_text = ",".join(group.image_restrictions or entry.image_restrictions or ()) or None
    restrictions = images.parse_restrictions(restrictions_text)
    dictionary = images.merge_legacy(
        images.ImagesDict(group.images or ()),
        group.image_default,
        group.image_default6,
        group.image_default7,
    )
    statuses = [
        ImageStatus(
            key,
            image,
            image,
            images.image_syntax_problem(image)
            or images.check_restrictions(image, restrictions, entry.cvmfs_mount_dir)
            or (sources.problem(image) if sources.active else None)
            or "",
        )
        for key, image in dictionary.items()
        if image
    ]
    os_list = servable_os(statuses, images.parse_os_list(",".join(entry.required_os or ()) or None))
    rendered = {attr.name: attr.value for attr in [*entry_attrs(entry), *group_attrs(group)]}
    published = container_adverts(  # what gs-setup publishes, by its own function; the runtime's facts
        outcome.value,  # (version, mode, PID namespaces) are unknown here
        ASSUMED_RUNTIME,
        "",
        "",
        "",
        None,
        dictionary.format() if len(dictionary) else "",
        os_list,
        "",
        rendered.get("GS_ALLOW_SANDBOX_IMAGES", ""),
    )
    return {name: _literal(name, value) for name, value in [*published, *source_adverts(sources)]}


def _literal(name: str, value: str) -> str:
    """The advert as the startd shows it: condor-vars type C (an expression) as written, else a string."""
    attribute = BY_NAME.get(name)
    return value if attribute is not None and attribute.type == "C" else format_literal(value)


def _candidate(group_name: str, group: GroupSettings, entry_name: str, entry: EntrySettings) -> Candidate:
    name = "{} @ {}".format(group_name, entry_name)
    negotiation = negotiate(group.singularity_use, entry.singularity_require)
    if negotiation.outcome is Outcome.FAIL:
        return Candidate(name, "", "config", (), negotiation.reason)
    attributes = {"Name": format_literal(name)}
    attributes.update(_published(entry_attrs(entry)))
    attributes.update(_published(group_attrs(group)))  # the frontend's value wins, as in glidein_config
    gpus = resource_gpus(entry, group)
    if gpus is not None:
        attributes["GPUs"] = str(gpus)
    notes = ["negotiation: {} ({})".format(negotiation.outcome.value, negotiation.reason)]
    if negotiation.outcome is Outcome.NEVER:
        attributes.update({"HAS_SINGULARITY": "false", "GWMS_SINGULARITY_STATUS": '"NEVER"'})
    elif negotiation.outcome in (Outcome.PREFERRED, Outcome.REQUIRED):
        try:
            attributes.update(_container_adverts(group, entry, negotiation.outcome))
        except ConfigError as exc:  # lint reports these too: the startup script would fail (VO_Config)
            return Candidate(name, "", "config", notes, str(exc))
        notes.extend(_ASSUMED)
    text = "".join("{} = {}\n".format(key, value) for key, value in attributes.items())
    return Candidate(name, text, "config", notes)


def candidates(config: Config) -> list[Candidate]:
    """One candidate per frontend group x factory entry, in configuration order."""
    return [
        _candidate(group_name, group, entry_name, entry)
        for group_name, group in _groups(config)
        for entry_name, entry in _entries(config)
    ]
