"""Rendering to GlideinWMS XML: every template variant parses as XML and carries the right flags."""

import os
import pathlib
import textwrap
import xml.etree.ElementTree as ET

import pytest

from glidein_singularity.errors import ConfigError
from glidein_singularity.frontend.config import load_config
from glidein_singularity.frontend.render import (
    FACTORY_FLAGS,
    FRONTEND_FLAGS,
    GLIDEIN_FILES,
    render,
)

EXAMPLES = pathlib.Path("frontend")


def rendered(text, part="all"):
    config = load_config(textwrap.dedent(text).lstrip(), "fe.yaml")
    return {name: ET.fromstring(xml_text) for name, xml_text in render(config, part).items()}


def attrs_of(element):
    return {a.get("name"): dict(a.attrib) for a in element.findall("attr")}


VARIANTS = [
    pytest.param(
        "frontend:\n  global: {singularity_use: PREFERRED}\n"
        "  groups:\n    cms: {singularity_use: REQUIRED}\n",
        {"frontend.xml": ("frontend", 1, len(GLIDEIN_FILES), 1)},
        id="frontend-global-files-groups",
    ),
    pytest.param(
        "frontend:\n  groups:\n    cms: {}\n",
        {"frontend.xml": ("frontend", 0, len(GLIDEIN_FILES), 1)},
        id="frontend-empty-global-and-group",
    ),
    pytest.param(
        "frontend:\n  global: {singularity_use: NEVER}\n",
        {"frontend.xml": ("frontend", 1, len(GLIDEIN_FILES), 0)},
        id="frontend-without-groups",
    ),
    pytest.param(
        "frontend:\n  groups:\n    cms: {}\nfactory:\n  scripts_dir: /srv/gs\n  entries:\n    ce1: {}\n",
        {"frontend.xml": ("frontend", 0, 0, 1), "factory.xml": ("glidein", 0, len(GLIDEIN_FILES), 1)},
        id="factory-ships-files",
    ),
    pytest.param(
        "factory:\n  global: {singularity_bin: OSG}\n  entries:\n    ce1: {singularity_require: NEVER}\n",
        {"factory.xml": ("glidein", 1, 0, 1)},
        id="factory-global-entries",
    ),
    pytest.param(
        "factory:\n  global: {singularity_bin: OSG}\n",
        {"factory.xml": ("glidein", 1, 0, 0)},
        id="factory-without-entries",
    ),
]


@pytest.mark.parametrize(("text", "expected"), VARIANTS)
def test_template_variants_parse_as_xml(text, expected):
    """Each variant renders to XML with the expected root, global attrs, files and groups/entries."""
    outputs = rendered(text)
    shape = {}
    for name, root in outputs.items():
        children = root.findall("groups/group") + root.findall("entries/entry")
        attrs = root.find("attrs")
        assert attrs is not None
        shape[name] = (root.tag, len(attrs.findall("attr")), len(root.findall("files/file")), len(children))
    assert shape == expected


def test_frontend_attrs_and_flags():
    """Group attributes carry GlideinWMS's documented frontend flags; our GS_ ones stay out of the job env."""
    outputs = rendered(
        """
        frontend:
          groups:
            cms:
              singularity_use: REQUIRED
              images: {rhel9: /cvmfs/a/el9, default: "docker://x/y:1"}
              bind_paths: [/etc/cvmfs/SITECONF, "/data:/data:ro"]
              allowed_image_sources: ["/cvmfs/*"]
        """
    )
    attrs = attrs_of(outputs["frontend.xml"].find("groups/group[@name='cms']/attrs"))
    assert attrs == {
        "GLIDEIN_Singularity_Use": {
            "name": "GLIDEIN_Singularity_Use",
            "glidein_publish": "True",
            "job_publish": "True",
            "parameter": "False",
            "type": "string",
            "value": "REQUIRED",
        },
        "SINGULARITY_IMAGES_DICT": {
            "name": "SINGULARITY_IMAGES_DICT",
            "glidein_publish": "True",
            "job_publish": "True",
            "parameter": "False",
            "type": "string",
            "value": "rhel9:/cvmfs/a/el9,default:docker://x/y:1",
        },
        "GLIDEIN_SINGULARITY_BINDPATH": {
            "name": "GLIDEIN_SINGULARITY_BINDPATH",
            "glidein_publish": "True",
            "job_publish": "True",
            "parameter": "False",
            "type": "string",
            "value": "/etc/cvmfs/SITECONF,/data:/data:ro",
        },
        "GS_ALLOWED_IMAGE_SOURCES": {
            "name": "GS_ALLOWED_IMAGE_SOURCES",
            "glidein_publish": "True",
            "job_publish": "False",
            "parameter": "False",
            "type": "string",
            "value": "/cvmfs/*",
        },
    }


def test_frontend_files_flags():
    """The bundle, the startup script and the wrapper are shipped in that order with their GlideinWMS "
    "flags."""
    outputs = rendered("frontend:\n  scripts_dir: /web/gs/\n  groups:\n    cms: {}\n")
    files = [dict(f.attrib) for f in outputs["frontend.xml"].findall("files/file")]
    common = {"after_entry": "True", "after_group": "False", "const": "True", "untar": "False"}
    assert files == [
        {"absfname": "/web/gs/glidein_singularity.zip", **common, "executable": "False", "wrapper": "False"},
        {"absfname": "/web/gs/gs_job_wrapper.py", **common, "executable": "False", "wrapper": "False"},
        {"absfname": "/web/gs/gs-health", **common, "executable": "False", "wrapper": "False"},
        {"absfname": "/web/gs/gs-prepare-job", **common, "executable": "False", "wrapper": "False"},
        {
            "absfname": "/web/gs/50-glidein-singularity-wrapper.config",
            **common,
            "executable": "False",
            "wrapper": "False",
        },
        {
            "absfname": "/web/gs/55-glidein-singularity-container.config",
            **common,
            "executable": "False",
            "wrapper": "False",
        },
        {
            "absfname": "/web/gs/60-glidein-singularity-start.config",
            **common,
            "executable": "False",
            "wrapper": "False",
        },
        {
            "absfname": "/web/gs/70-glidein-singularity-health.config",
            **common,
            "executable": "False",
            "wrapper": "False",
        },
        {"absfname": "/web/gs/gs-setup", **common, "executable": "True", "period": "0", "wrapper": "False"},
        {"absfname": "/web/gs/gs-job-wrapper", **common, "executable": "False", "wrapper": "True"},
    ]
    assert [f.name for f in GLIDEIN_FILES] == [
        "glidein_singularity.zip",
        "gs_job_wrapper.py",
        "gs-health",
        "gs-prepare-job",
        "50-glidein-singularity-wrapper.config",
        "55-glidein-singularity-container.config",
        "60-glidein-singularity-start.config",
        "70-glidein-singularity-health.config",
        "gs-setup",
        "gs-job-wrapper",
    ]


def test_factory_attrs_and_flags():
    """Entry attributes carry the factory flags; environment-only GlideinWMS attributes are job-published."""
    outputs = rendered(
        """
        factory:
          entries:
            ce1:
              singularity_require: REQUIRED_GWMS
              required_os: [rhel9, rhel8]
              bind_path_default: [/hadoop]
              disable_pid_namespaces: false
        """
    )
    attrs = attrs_of(outputs["factory.xml"].find("entries/entry[@name='ce1']/attrs"))
    base = {
        "const": "True",
        "glidein_publish": "True",
        "parameter": "True",
        "publish": "True",
        "type": "string",
    }
    assert attrs == {
        "GLIDEIN_SINGULARITY_REQUIRE": {
            "name": "GLIDEIN_SINGULARITY_REQUIRE",
            **base,
            "job_publish": "False",
            "value": "REQUIRED_GWMS",
        },
        "GLIDEIN_REQUIRED_OS": {
            "name": "GLIDEIN_REQUIRED_OS",
            **base,
            "job_publish": "False",
            "value": "rhel9,rhel8",
        },
        "GLIDEIN_SINGULARITY_BINDPATH_DEFAULT": {
            "name": "GLIDEIN_SINGULARITY_BINDPATH_DEFAULT",
            **base,
            "job_publish": "True",
            "value": "/hadoop",
        },
        "SINGULARITY_DISABLE_PID_NAMESPACES": {
            "name": "SINGULARITY_DISABLE_PID_NAMESPACES",
            **base,
            "job_publish": "False",
            "value": "0",
        },
    }


def test_values_are_escaped():
    """Values with XML special characters survive rendering and parsing unchanged."""
    outputs = rendered(
        """
        frontend:
          global:
            singularity_opts: --env 'A="x&y<z>"'
            extra_attrs:
              X_Expr: {value: 'a && b', type: expr, comment: "it's <fine>"}
        """
    )
    attrs = attrs_of(outputs["frontend.xml"].find("attrs"))
    assert attrs["GLIDEIN_SINGULARITY_OPTS"]["value"] == "--env 'A=\"x&y<z>\"'"
    assert attrs["X_Expr"] == {
        "name": "X_Expr",
        "comment": "it's <fine>",
        "glidein_publish": "False",
        "job_publish": "False",
        "parameter": "True",
        "type": "expr",
        "value": "a && b",
    }


def test_every_modelled_attribute_has_flags():
    """The flag tables cover every field, with GlideinWMS's flag names only."""
    allowed = {"const", "glidein_publish", "job_publish", "parameter", "publish", "type"}
    for table in (FRONTEND_FLAGS, FACTORY_FLAGS):
        for flags in table.values():
            assert {name for name, _ in flags} <= allowed


@pytest.mark.parametrize(
    ("text", "part", "message"),
    [
        pytest.param(
            "factory: {}\n", "frontend", "fe.yaml: no 'frontend:' section to render", id="no-frontend"
        ),
        pytest.param(
            "frontend: {}\n", "factory", "fe.yaml: no 'factory:' section to render", id="no-factory"
        ),
        pytest.param(
            "frontend: {}\n",
            "groups",
            "unknown part 'groups'; expected one of frontend, factory, all",
            id="part",
        ),
    ],
)
def test_render_errors(text, part, message):
    """Asking for a section the file lacks, or an unknown part, is a ConfigError."""
    with pytest.raises(ConfigError) as info:
        render(load_config(text, "fe.yaml"), part)
    assert str(info.value) == message


def test_header_comment_stays_valid_xml():
    """A source name with '--' cannot break the XML comment."""
    config = load_config("frontend: {}\n", "a--b.yaml")
    ET.fromstring(render(config, "frontend")["frontend.xml"])
    assert "a- -b.yaml" in render(config, "frontend")["frontend.xml"]


@pytest.mark.parametrize("example", sorted(p.name for p in EXAMPLES.glob("*.yaml")))
def test_checked_in_rendering_matches_a_fresh_render(example):
    """frontend/NAME.rendered/ is exactly what render writes today, so it cannot drift."""
    source = EXAMPLES / example
    config = load_config(source.read_text(encoding="utf-8"), str(source))
    fresh = render(config)
    directory = EXAMPLES / (source.stem + ".rendered")
    checked_in = {p.name: p.read_text(encoding="utf-8") for p in sorted(directory.iterdir())}
    assert checked_in == fresh, "run: glidein-singularity render {} -o {}".format(source, directory)


def test_factory_files_have_no_after_group():
    """Shipped from the factory, the files keep their flags except the frontend-only after_group."""
    outputs = rendered("factory:\n  scripts_dir: /srv/gs\n")
    files = outputs["factory.xml"].findall("files/file")
    assert [f.get("absfname") for f in files] == ["/srv/gs/" + f.name for f in GLIDEIN_FILES]
    assert all("after_group" not in f.attrib and f.get("after_entry") == "True" for f in files)


def test_deployment_doc_shows_what_render_writes():
    """docs/deploy-factory.md quotes the <files> block render writes today (frontend default directory)."""
    doc = pathlib.Path("docs/deploy-factory.md").read_text(encoding="utf-8")
    xml_text = render(load_config("frontend:\n  groups: {}\n", "fe.yaml"), "frontend")["frontend.xml"]
    start = xml_text.index("   <files>")
    block = xml_text[start : xml_text.index("</files>", start) + len("</files>")]
    assert block in doc


def test_factory_global_attrs_never_force_job_publishing():
    """In the factory's global <attrs>, GlideinWMS refuses job_publish for attributes its own
    condor_vars.lst declares without a job environment name: render leaves it off there, and keeps it
    on at entry level, where GlideinWMS accepts it (tests/unit/test_gwms_config.py runs GlideinWMS's code)."""
    outputs = rendered(
        """
        factory:
          global:
            bind_path_default: [/hadoop]
            singularity_opts: --no-eval
          entries:
            ce1:
              bind_path_default: [/data]
        """
    )
    glob = attrs_of(outputs["factory.xml"].find("attrs"))
    entry = attrs_of(outputs["factory.xml"].find("entries/entry[@name='ce1']/attrs"))
    assert ("False", "False", "True") == (
        glob["GLIDEIN_SINGULARITY_BINDPATH_DEFAULT"]["job_publish"],
        glob["GLIDEIN_SINGULARITY_OPTS"]["job_publish"],
        entry["GLIDEIN_SINGULARITY_BINDPATH_DEFAULT"]["job_publish"],
    )


def test_bundle_ship_writes_exactly_the_rendered_files(tmp_path):
    """`bundle --ship DIR` writes every file render lists, nothing else (no __pycache__), and a files.xml
    equal to render's <files> block for the same directory."""
    from glidein_singularity.commands.bundle import ship

    ship_dir = tmp_path / "ship"
    written = ship(str(pathlib.Path("src/glidein_singularity").resolve()), str(ship_dir), "frontend")
    assert sorted(written) == sorted([f.name for f in GLIDEIN_FILES] + ["files.xml"])
    assert sorted(p.name for p in ship_dir.iterdir()) == sorted(written)
    text = render(load_config("frontend:\n  scripts_dir: {}\n  groups: {{}}\n".format(ship_dir), "fe.yaml"))
    frontend = ET.fromstring(text["frontend.xml"].split("\n", 1)[1])
    shipped = ET.fromstring((ship_dir / "files.xml").read_text().split("\n", 1)[1])
    assert [f.attrib for f in frontend.findall("files/file")] == [f.attrib for f in shipped.findall("file")]
    assert all(os.access(str(ship_dir / name), os.X_OK) for name in ("gs-setup", "gs-health"))
