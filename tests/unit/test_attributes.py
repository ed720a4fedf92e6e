"""The attribute registry: complete, consistent, and pure."""

import ast
import pathlib

import pytest

from glidein_singularity import attributes, policy, store
from glidein_singularity.attributes import ADVERTISED_PLACES, ATTRIBUTES, BY_NAME, CONDOR_TYPES, WHO, get

#: Every attribute the issue names, spelled as GlideinWMS users write it.
REQUIRED_NAMES = [
    "GLIDEIN_Singularity_Use",
    "GLIDEIN_SINGULARITY_REQUIRE",
    "HAS_SINGULARITY",
    "GWMS_SINGULARITY_STATUS",
    "SINGULARITY_PATH",
    "GWMS_SINGULARITY_PATH",
    "SINGULARITY_VERSION",
    "GWMS_SINGULARITY_VERSION",
    "SINGULARITY_FULL_VERSION",
    "SINGULARITY_MODE",
    "GWMS_SINGULARITY_MODE",
    "CONTAINERSW_PATH",
    "GWMS_CONTAINERSW_PATH",
    "CONTAINERSW_VERSION",
    "GWMS_CONTAINERSW_VERSION",
    "CONTAINERSW_FULL_VERSION",
    "GWMS_CONTAINERSW_FULL_VERSION",
    "CONTAINERSW_MODE",
    "GWMS_CONTAINERSW_MODE",
    "SINGULARITY_IMAGES_DICT",
    "SINGULARITY_IMAGE_DEFAULT",
    "SINGULARITY_IMAGE_DEFAULT6",
    "SINGULARITY_IMAGE_DEFAULT7",
    "SINGULARITY_IMAGE_RESTRICTIONS",
    "SINGULARITY_IMAGE_REQUIRED",
    "GLIDEIN_REQUIRED_OS",
    "REQUIRED_OS",
    "SingularityImage",
    "GLIDEIN_SINGULARITY_BINARY_OVERRIDE",
    "SINGULARITY_BIN",
    "OSG_SINGULARITY_BINARY",
    "CVMFS_MOUNT_DIR",
    "APPTAINER_TEST_IMAGE",
    "GLIDEIN_SINGULARITY_BINDPATH",
    "GLIDEIN_SINGULARITY_BINDPATH_DEFAULT",
    "GLIDEIN_SINGULARITY_OPTS",
    "SINGULARITY_DISABLE_PID_NAMESPACES",
    "GLIDEIN_CONTAINER_ENV",
    "GLIDEIN_CONTAINER_ENV_CLEARLIST",
    "GLIDEIN_PROVIDES",
    "SINGULARITY_OS_LIST",
    "GS_PID_NAMESPACES",
]


@pytest.mark.parametrize("name", [pytest.param(n, id=n) for n in REQUIRED_NAMES])
def test_registered(name):
    """Each attribute of the issue is in the registry under its exact name."""
    assert name == get(name).name


def test_names_unique():
    """No attribute is registered twice."""
    names = [a.name for a in ATTRIBUTES]
    assert sorted(set(names)) == sorted(names)


@pytest.mark.parametrize("attribute", [pytest.param(a, id=a.name) for a in ATTRIBUTES])
def test_fields_valid(attribute):
    """Every entry uses the known vocabularies and has a description."""
    problems = []
    if attribute.who not in WHO:
        problems.append("who")
    if not set(attribute.advertised) <= set(ADVERTISED_PLACES):
        problems.append("advertised")
    if ("startd" in attribute.advertised) != (attribute.type in CONDOR_TYPES):
        problems.append("type must be S/C/I exactly when published to the startd")
    if not attribute.description or not attribute.values:
        problems.append("text")
    expected = []
    assert expected == problems


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        pytest.param("HAS_SINGULARITY", ("C", ("startd", "job_env", "glidein_config")), id="has"),
        pytest.param("GWMS_SINGULARITY_STATUS", ("S", ("startd", "job_env", "glidein_config")), id="status"),
        pytest.param("SINGULARITY_IMAGES_DICT", ("S", ("startd", "job_env", "glidein_config")), id="dict"),
        pytest.param("GS_PID_NAMESPACES", ("C", ("startd", "glidein_config")), id="pid"),
        pytest.param("SINGULARITY_OS_LIST", ("S", ("startd", "glidein_config")), id="os-list"),
        pytest.param("SINGULARITY_IMAGE_DEFAULT", ("", ()), id="legacy-read-only"),
    ],
)
def test_publication(name, expected):
    """GlideinWMS's advertise() set goes to startd + job env; our additions to the startd only."""
    attribute = get(name)
    assert expected == (attribute.type, attribute.advertised)


def test_negotiation_values_come_from_policy():
    """The negotiation attributes list policy's accepted values and defaults."""
    expected = (
        (", ".join(policy.USE_VALUES), "DISABLE_GWMS"),
        (", ".join(policy.REQUIRE_VALUES), "OPTIONAL"),
    )
    use, require = get("GLIDEIN_Singularity_Use"), get("GLIDEIN_SINGULARITY_REQUIRE")
    assert expected == ((use.values, use.default), (require.values, require.default))


def test_fixed_gwms_bugs_documented():
    """Known GlideinWMS bugs we fix are stated on the attribute they concern."""
    expected = {
        "GLIDEIN_REQUIRED_OS": "Kept as the entry set it (GlideinWMS's setup overwrites it with `any`).",
        "SINGULARITY_IMAGE_RESTRICTIONS": (
            "The default is `cvmfs` as in GlideinWMS's code (its docs say `any`)."
        ),
    }
    assert expected == {name: get(name).gwms_difference for name in expected}


def test_get_unknown_names_registry():
    """An unknown name raises KeyError naming it and the registry."""
    with pytest.raises(KeyError) as info:
        get("HAS_SINGULARIT")
    expected = "\"attribute 'HAS_SINGULARIT' is not in the registry (glidein_singularity.attributes)\""
    assert expected == str(info.value)


def test_by_name_is_read_only():
    """BY_NAME cannot be modified by a caller."""
    with pytest.raises(TypeError):
        BY_NAME["X"] = ATTRIBUTES[0]  # type: ignore[index]


def test_module_is_pure():
    """attributes.py imports nothing but typing, types and the pure policy module."""
    tree = ast.parse(pathlib.Path(attributes.__file__).read_text())
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            imported.add(node.module or ".")
    expected = {"types", "typing", "."}
    assert expected == imported


# --- the registry is the one source: every copy that must stay is checked against it -----------------

#: Settings whose empty value in the planner means a default computed where it is used (the registry
#: shows the computed value): name -> that value.
COMPUTED_DEFAULTS = {
    "GS_IMAGE_STORE": "<GLIDEIN_LOCAL_TMP_DIR>/" + store.STORE_SUBDIR,
    "GS_IMAGE_STORE_MAX_MB": str(store.DEFAULT_MAX_MB),
    "GS_IMAGE_FETCH_TIMEOUT": str(store.DEFAULT_FETCH_TIMEOUT),
}


def test_plan_settings_are_registered_with_their_defaults():
    """Every setting the planner reads is registered, with the planner's default (failed on 44bb779:
    SINGULARITY_IMAGE_RESTRICTIONS, GLIDEIN_CONTAINER_ENV and CVMFS_MOUNT_DIR disagreed)."""
    from glidein_singularity.settings import _SETTINGS

    wrong = []
    for _field, name, _sources, default in _SETTINGS:
        expected = COMPUTED_DEFAULTS.get(name, default) if default == "" else default
        if name not in BY_NAME or BY_NAME[name].default != expected:
            wrong.append((name, default, BY_NAME[name].default if name in BY_NAME else "unregistered"))
    assert [] == wrong


def test_node_facts_and_wrapper_variables_are_registered():
    """The machine-ad facts the planner reads and the wrapper's own variables are registered
    (AssignedGPUs is HTCondor's own attribute)."""
    from glidein_singularity.inputs import NODE_FACTS
    from glidein_singularity.settings import NODE_ONLY_VARS

    names = [name for name in (*NODE_FACTS, *NODE_ONLY_VARS) if name != "AssignedGPUs"]
    assert [] == [name for name in names if name not in BY_NAME]


def test_frontend_fields_are_registered():
    """Every attribute the frontend YAML model renders is a registered name."""
    from glidein_singularity.frontend.config import ENTRY_FIELDS, GROUP_FIELDS

    assert [] == [spec.attr for spec in (*GROUP_FIELDS, *ENTRY_FIELDS) if spec.attr not in BY_NAME]


def test_setup_publishes_every_twin_from_the_registry():
    """What a validated glidein publishes holds every twin name the registry lists, with its primary's
    value and type (failed on 44bb779: the startup script listed the twins by hand)."""
    from glidein_singularity.adverts import container_adverts

    adverts = dict(
        container_adverts("REQUIRED", "/a", "1.4", "apptainer 1.4", "privileged", True, "", "", "", "")
    )
    primaries = {"SINGULARITY_PATH": "/a", "SINGULARITY_VERSION": "1.4", "SINGULARITY_MODE": "privileged"}
    primaries["SINGULARITY_FULL_VERSION"] = "apptainer 1.4"
    for primary, value in primaries.items():
        for twin in attributes.TWINS[primary]:
            assert (value, BY_NAME[primary].type) == (adverts.get(twin), BY_NAME[twin].type)
    assert [] == [name for name in adverts if name not in BY_NAME]


def test_wrapper_failure_sleep_default_is_the_registrys():
    """An unreadable GS_WRAPPER_FAILURE_SLEEP falls back to the registry's default (one number)."""
    from glidein_singularity.node.wrapper import _sleep_seconds

    assert float(get("GS_WRAPPER_FAILURE_SLEEP").default) == _sleep_seconds("soon")
