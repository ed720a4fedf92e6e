"""Everything ``render`` writes goes through GlideinWMS's own configuration code (its reconfig).

GlideinWMS's factory (``factoryXmlConfig`` + ``cgWParamDict.glideinDicts.populate``) and frontend
(``cvWParams`` + ``cvWParamDict.frontendDicts.populate``: attribute flags, file lists,
``validate_singularity``) process complete configurations built around our rendered XML, with the files
``bundle --ship`` writes. GlideinWMS's source comes from ``GS_GLIDEINWMS_SRC`` (CI sets it; without it
these tests skip, or fail under CI=true), the M2Crypto stand-in from tests/testbed/gwms_stubs.
"""

import os
import pathlib
import sys

import pytest

from glidein_singularity.commands.bundle import ship
from glidein_singularity.frontend.config import DEFAULT_SCRIPTS_DIR, load_config
from glidein_singularity.frontend.render import GWMS_MAIN_VARS_NOT_JOB_PUBLISHED, render
from tests.testbed import real_glidein as rg

# GlideinWMS's creation code leaves files open (its own business): not a failure of ours.
pytestmark = [
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
]

ROOT = pathlib.Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "src" / "glidein_singularity"
SITES = {
    "example": (ROOT / "frontend" / "example.yaml").read_text(),
    "real-glidein": rg.SITE_YAML.read_text(),
    "factory-ships": """
frontend:
  groups:
    vo: {singularity_use: REQUIRED, images: {default: /cvmfs/x/el9}}
factory:
  scripts_dir: /var/lib/gwms-factory/web-base/glidein-singularity
  global:
    bind_path_default: [/hadoop]
    singularity_opts: --no-eval
    binary_override: /opt/apptainer/bin/apptainer
  entries:
    ce1:
      singularity_require: OPTIONAL
      required_os: [rhel9]
      bind_path_default: [/data]
      singularity_opts: --no-home
""",
}


@pytest.fixture(scope="module")
def gwms(tmp_path_factory):
    """GlideinWMS's creation modules, importable as ``glideinwms.*`` for this module only."""
    try:
        source = rg.glideinwms_source()
    except rg.GlideinWMSUnavailable as exc:
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true and GlideinWMS's source is unavailable: {}".format(exc), pytrace=False)
        pytest.skip(str(exc))
    parent = tmp_path_factory.mktemp("gwms")
    (parent / "glideinwms").symlink_to(source)
    paths = [str(parent), str(ROOT / "tests" / "testbed" / "gwms_stubs")]
    sys.path[:0] = paths
    try:
        from glideinwms.creation.lib import cgWParamDict, cvWParamDict, cvWParams, factoryXmlConfig

        yield {
            "source": source,
            "cgWParamDict": cgWParamDict,
            "cvWParamDict": cvWParamDict,
            "cvWParams": cvWParams,
            "factoryXmlConfig": factoryXmlConfig,
        }
    finally:
        for path in paths:
            sys.path.remove(path)
        for name in [n for n in sys.modules if n.split(".")[0] in ("glideinwms", "M2Crypto")]:
            del sys.modules[name]


def _process(gwms, tmp_path, text):
    """Render ``text``, ship its files, and run GlideinWMS's factory and frontend reconfig code on the
    result; return the populated dicts (factory, frontend)."""
    config = load_config(text, "site.yaml")
    shipped = tmp_path / "ship"
    ship(str(PACKAGE), str(shipped), "frontend")
    scripts_dirs = [DEFAULT_SCRIPTS_DIR]
    if config.frontend is not None and config.frontend.scripts_dir:
        scripts_dirs.append(config.frontend.scripts_dir)
    if config.factory is not None and config.factory.scripts_dir:
        scripts_dirs.append(config.factory.scripts_dir)
    rendered = {}
    for name, xml_text in render(config).items():
        for directory in scripts_dirs:  # the files as shipped on this host
            xml_text = xml_text.replace(directory.rstrip("/") + "/", str(shipped) + "/")
        rendered[name] = xml_text
    web = tmp_path / "web"
    (web / "jslibs").mkdir(parents=True)
    (web / "jslibs" / "javascriptrrd.wlibs.js").write_text("")
    (web / "frontend").mkdir()
    (web / "frontend" / "proxy").write_text("")
    condor = tmp_path / "condor"
    for binary in ("sbin/condor_master", "sbin/condor_startd", "sbin/condor_starter"):
        (condor / binary).parent.mkdir(parents=True, exist_ok=True)
        (condor / binary).write_text("")
    factory_xml = tmp_path / "glideinWMS.xml"
    factory_xml.write_text(rg.merge_factory(rendered["factory.xml"], str(web), str(condor)))
    frontend_xml = tmp_path / "frontend.xml"
    frontend_xml.write_text(rg.merge_frontend(rendered["frontend.xml"], str(web)))

    factory = gwms["cgWParamDict"].glideinDicts(gwms["factoryXmlConfig"].parse(str(factory_xml)))
    factory.populate()
    if config.factory is not None and config.factory.scripts_dir:
        # GlideinWMS's frontend refuses a container group without a wrapper file of its own, so a
        # frontend working with a factory that ships our files is not checked here (docs say so).
        return factory, None
    web_base = os.path.join(os.path.dirname(gwms["cvWParams"].__file__), "..", "web_base")
    params = gwms["cvWParams"].VOFrontendParams("", web_base, ["create_frontend", str(frontend_xml)])
    frontend = gwms["cvWParamDict"].frontendDicts(params)
    frontend.populate()
    return factory, frontend


@pytest.mark.parametrize("site", sorted(SITES))
def test_rendered_configuration_passes_glideinwms_reconfig(gwms, tmp_path, site):
    """GlideinWMS accepts every attribute and file render writes (no "Cannot force job publishing", no
    missing wrapper for a container group), and ships gs-setup after its own singularity_setup.sh."""
    factory, frontend = _process(gwms, tmp_path, SITES[site])
    main = factory.main_dicts.dicts
    if "scripts_dir: /var/lib/gwms-factory" in SITES[site]:
        # A factory's after_entry="True" file lands in the main "after" list: after the frontend's
        # client, group and after-group lists (docs/deploy-factory.md says so).
        assert "gs-setup" in main["after_file_list"].keys
        assert "gs-setup" not in main["file_list"].keys
    else:
        # A frontend's after_entry="True" after_group="False" file: the client list, which runs after the
        # main "at" list (singularity_setup.sh) and before the group's lists.
        client = frontend.main_dicts.dicts
        assert "gs-setup" in client["file_list"].keys
        assert "gs-setup" not in client["preentry_file_list"].keys
        assert "singularity_setup.sh" in main["at_file_list"].keys


def test_main_vars_not_job_published_match_glideinwms(gwms):
    """Our list of factory-wide attributes GlideinWMS refuses to job-publish is its condor_vars.lst's."""
    lines = (gwms["source"] / "creation" / "web_base" / "condor_vars.lst").read_text().splitlines()
    declared = {}
    for line in lines:
        fields = line.split()
        if fields and not line.startswith("#") and len(fields) >= 7:
            declared[fields[0]] = fields[6]
    candidates = (
        "GLIDEIN_SINGULARITY_BINDPATH_DEFAULT",
        "GLIDEIN_SINGULARITY_OPTS",
        "GLIDEIN_SINGULARITY_BINARY_OVERRIDE",
    )
    ours = [name for name in candidates if declared.get(name) == "-"]
    assert tuple(ours) == GWMS_MAIN_VARS_NOT_JOB_PUBLISHED


def test_docs_describe_the_factory_after_list():
    """docs/deploy-factory.md says where a factory-shipped gs-setup runs (checked above in GlideinWMS)."""
    doc = (ROOT / "docs" / "deploy-factory.md").read_text()
    assert 'main\n"after" list, the last one' in doc or 'main "after" list, the last one' in doc.replace(
        "\n", " "
    )
