"""Lint a frontend/factory YAML file: every rule has a stable id (see ``RULES``).

The checks are pure: they take the parsed document and, for GS106, a function that says whether a
CVMFS path exists (``None`` when CVMFS is not mounted: the check becomes a note). The command line
(``commands/lint.py``) reads the file and builds that function.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Callable, NamedTuple, Optional

from .. import images
from ..errors import ImageError
from ..policy import Outcome, negotiate
from .config import Config, EntrySettings, GroupSettings, merged, parse_config, source_path
from .findings import Finding, Severity
from .sources import source_problem
from .yamlsource import Document

__all__ = ["RULES", "Rule", "lint", "lint_document"]


class Rule(NamedTuple):
    """A lint rule: stable id, default severity and what it checks."""

    id: str
    severity: Severity
    title: str


RULES: tuple[Rule, ...] = (
    Rule("GS100", Severity.ERROR, "schema: unknown key, wrong type, empty file"),
    Rule("GS101", Severity.ERROR, "value outside the allowed set or malformed"),
    Rule("GS102", Severity.ERROR, "dictionary key/value or list item the GlideinWMS grammar cannot carry"),
    Rule("GS103", Severity.ERROR, "duplicate key"),
    Rule("GS104", Severity.ERROR, "image outside the allowed sources, or denied"),
    Rule("GS105", Severity.ERROR, "image violates SINGULARITY_IMAGE_RESTRICTIONS"),
    Rule("GS106", Severity.ERROR, "CVMFS image missing (a note when CVMFS is not mounted)"),
    Rule(
        "GS107",
        Severity.ERROR,
        "group x entry negotiates to FAIL (a warning when GlideinWMS never provisions it)",
    ),
    Rule(
        "GS108",
        Severity.WARNING,
        "REQUIRED group never provisioned on an entry without GLIDEIN_SINGULARITY_REQUIRE",
    ),
    Rule("GS109", Severity.WARNING, "group may use containers but has no image at all"),
    Rule("GS110", Severity.WARNING, "group's default REQUIRED_OS finds no image on an entry"),
)

_SEVERITY = {rule.id: rule.severity for rule in RULES}

#: Receives a /cvmfs/... path; says whether it exists. None: CVMFS is not available to check.
#: Whether a CVMFS image exists on this host: True, False, or None when its repository is not mounted
#: here (a frontend host usually has no CVMFS: then the image is "not checked", never "missing").
CvmfsExists = Optional[Callable[[str], Optional[bool]]]


class _Group(NamedTuple):
    name: Optional[str]  # None: the frontend-wide settings stand for the only group
    settings: GroupSettings
    path: str


class _Entry(NamedTuple):
    name: Optional[str]
    settings: EntrySettings
    path: str


def _groups(config: Config) -> list[_Group]:
    frontend = config.frontend
    if frontend is None:
        return []
    if not frontend.groups:
        return [_Group(None, frontend.global_settings, "frontend.global")]
    return [
        _Group(g.name, merged(frontend.global_settings, g.settings), "frontend.groups." + g.name)
        for g in frontend.groups
    ]


def _entries(config: Config) -> list[_Entry]:
    factory = config.factory
    if factory is None:
        return []
    if not factory.entries:
        return [_Entry(None, factory.global_settings, "factory.global")]
    return [
        _Entry(e.name, merged(factory.global_settings, e.settings), "factory.entries." + e.name)
        for e in factory.entries
    ]


def _label(kind: str, name: Optional[str]) -> str:
    if name is not None:
        return "{} {!r}".format(kind, name)
    return "the frontend defaults" if kind == "group" else "the factory defaults"


def _group_images(config: Config, group: _Group) -> Iterator[tuple[str, str]]:
    """(dotted path, image) for every non-empty image a group's glideins get."""
    settings = group.settings
    if settings.images:
        base = source_path(config, "frontend", group.name, "images")
        for key, value in settings.images:
            if value:
                yield base + "." + key, value
    for key in ("image_default", "image_default6", "image_default7"):
        value = getattr(settings, key)
        if value:
            yield source_path(config, "frontend", group.name, key), value


#: Rules that conclude from a whole group or entry: not reported for a section with a schema error,
#: whose dropped value would make them false (a bad image key is not "no image at all").
DERIVED = ("GS107", "GS108", "GS109", "GS110")


class _Linter:
    def __init__(self, config: Config, cvmfs_exists: CvmfsExists, unparsed: Sequence[str] = ()) -> None:
        self.config = config
        self.cvmfs_exists = cvmfs_exists
        self.unparsed = tuple(unparsed)
        self.findings: list[Finding] = []
        self.seen: set[tuple[str, str, str]] = set()
        self.unmounted: set[str] = set()

    def damaged(self, path: str) -> bool:
        """True when a schema error (GS100-GS103) lies in the section that holds ``path``."""
        section = path.rsplit(".", 1)[0] + "."
        return any(bad.startswith(section) for bad in self.unparsed)

    def add(self, rule: str, path: str, message: str, severity: Optional[Severity] = None) -> None:
        if (rule, path, message) in self.seen or (rule in DERIVED and self.damaged(path)):
            return
        self.seen.add((rule, path, message))
        finding = Finding(
            rule, self.config.filename, self.config.line_of(path), path, message, severity or _SEVERITY[rule]
        )
        self.findings.append(finding)

    def run(self) -> list[Finding]:
        groups, entries = _groups(self.config), _entries(self.config)
        unchecked: list[str] = []
        for group in groups:
            self.check_group(group, unchecked)
            for entry in entries:
                self.check_pair(group, entry)
        if unchecked:
            where = (
                "/cvmfs is not mounted here"
                if self.cvmfs_exists is None
                else "repository {} not mounted here".format(", ".join(sorted(self.unmounted)))
            )
            self.add(
                "GS106",
                unchecked[0],
                "{} CVMFS image(s) not checked: {} (use --cvmfs-root DIR)".format(len(unchecked), where),
                Severity.NOTE,
            )
        return self.findings

    def check_group(self, group: _Group, unchecked: list[str]) -> None:
        settings = group.settings
        label = _label("group", group.name)
        group_images = list(_group_images(self.config, group))
        for path, image in group_images:
            problem = source_problem(
                image, settings.allowed_image_sources, settings.denied_image_sources, label
            )
            if problem is not None:
                self.add("GS104", path, problem)
            if images.is_cvmfs_path(image, None):
                exists = None if self.cvmfs_exists is None else self.cvmfs_exists(image)
                if exists is None:
                    if path not in unchecked:
                        unchecked.append(path)
                    if self.cvmfs_exists is not None:
                        self.unmounted.add("/cvmfs/" + image[len("/cvmfs/") :].split("/")[0])
                elif not exists:
                    self.add("GS106", path, "CVMFS image {!r} does not exist".format(image))
        if self.config.factory is None:  # no entries to pair with: the group's own restrictions
            allowed = images.parse_restrictions(
                ",".join(settings.image_restrictions) if settings.image_restrictions is not None else None
            )
            for path, image in group_images:
                problem = images.check_restrictions(image, allowed, None)
                if problem is not None:
                    self.add("GS105", path, problem)
        use = negotiate(settings.singularity_use, "OPTIONAL").use
        if use in ("OPTIONAL", "PREFERRED", "REQUIRED") and not group_images:
            self.add(
                "GS109",
                source_path(self.config, "frontend", group.name, "singularity_use"),
                "{} has GLIDEIN_Singularity_Use={} but no image (images, image_default): only jobs with "
                "+SingularityImage can run in a container".format(label, use),
            )

    def check_pair(self, group: _Group, entry: _Entry) -> None:
        gset, eset = group.settings, entry.settings
        pair = "{} on {}".format(_label("group", group.name), _label("entry", entry.name))
        use_path = source_path(self.config, "frontend", group.name, "singularity_use")
        result = negotiate(gset.singularity_use, eset.singularity_require)
        if result.outcome is Outcome.FAIL:
            filtered = (result.use == "REQUIRED" and result.require == "NEVER") or (
                result.use == "NEVER" and result.require.startswith("REQUIRED")
            )
            if filtered:
                self.add(
                    "GS107",
                    use_path,
                    "{}: would FAIL: {}; GlideinWMS's frontend never provisions this pair, so the group "
                    "cannot use the entry".format(pair, result.reason),
                    Severity.WARNING,
                )
            else:
                self.add("GS107", use_path, "{}: glideins FAIL: {}".format(pair, result.reason))
            return
        if result.use == "REQUIRED" and eset.singularity_require is None:
            self.add(
                "GS108",
                use_path,
                "{}: GLIDEIN_SINGULARITY_REQUIRE is unset on the entry and GlideinWMS's frontend "
                "provisions a REQUIRED group only where it is defined and not NEVER: set it "
                "(e.g. OPTIONAL)".format(pair),
            )
        restrictions = (
            gset.image_restrictions if gset.image_restrictions is not None else eset.image_restrictions
        )
        allowed = images.parse_restrictions(",".join(restrictions) if restrictions is not None else None)
        from_frontend = gset.image_restrictions is not None
        for path, image in _group_images(self.config, group):
            problem = images.check_restrictions(image, allowed, eset.cvmfs_mount_dir)
            if problem is not None:
                where = "" if from_frontend else "{}: ".format(_label("entry", entry.name))
                self.add("GS105", path, where + problem)
            problem = source_problem(
                image, eset.allowed_image_sources, eset.denied_image_sources, _label("entry", entry.name)
            )
            if problem is not None:
                self.add("GS104", path, problem)
        if result.outcome in (Outcome.PREFERRED, Outcome.REQUIRED) and gset.images:
            self.check_os(group, entry, pair)

    def check_os(self, group: _Group, entry: _Entry, pair: str) -> None:
        gset, eset = group.settings, entry.settings
        job_os = images.parse_os_list(",".join(gset.required_os) if gset.required_os else None)
        entry_os = images.parse_os_list(",".join(eset.required_os) if eset.required_os else None)
        table = images.merge_legacy(
            images.ImagesDict(gset.images or ()), gset.image_default, gset.image_default6, gset.image_default7
        )
        try:
            images.select_image(table, entry_os, job_os)
        except ImageError as exc:
            path = source_path(self.config, "factory", entry.name, "required_os")
            if gset.required_os:
                path = source_path(self.config, "frontend", group.name, "required_os")
            self.add(
                "GS110", path, "{}: jobs without their own REQUIRED_OS get no image: {}".format(pair, exc)
            )


def lint(config: Config, cvmfs_exists: CvmfsExists = None, unparsed: Sequence[str] = ()) -> list[Finding]:
    """Run the semantic rules (GS104-GS110) on a model; ``unparsed``: keys with schema errors."""
    return _Linter(config, cvmfs_exists, unparsed).run()


def lint_document(document: Document, cvmfs_exists: CvmfsExists = None) -> list[Finding]:
    """Parse a document (GS100-GS103) and lint the model; return every finding, in line order."""
    config, findings = parse_config(document)
    unparsed = [f.key for f in findings if f.severity is Severity.ERROR]
    findings = findings + lint(config, cvmfs_exists, unparsed)
    return sorted(findings, key=lambda f: (f.line, f.rule, f.key))


def exit_status(findings: Sequence[Finding]) -> int:
    """0 when nothing but notes was found, else 1."""
    return 1 if any(f.severity is not Severity.NOTE for f in findings) else 0
