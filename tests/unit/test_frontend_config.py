"""The frontend/factory YAML model: what parses to what, and the exact message of every error."""

import textwrap

import pytest

from glidein_singularity.errors import ConfigError
from glidein_singularity.frontend.config import (
    DEFAULT_SCRIPTS_DIR,
    ENTRY_FIELDS,
    GROUP_FIELDS,
    Config,
    Entry,
    EntrySettings,
    ExtraAttr,
    FactoryConfig,
    FrontendConfig,
    Group,
    GroupSettings,
    load_config,
    load_config_file,
    merged,
    parse_config,
    source_path,
)
from glidein_singularity.frontend.yamlsource import YMap, YScalar, YSeq, parse_yaml

EL9 = "/cvmfs/singularity.opensciencegrid.org/opensciencegrid/osgvo-el9:latest"


def load(text: str) -> Config:
    return load_config(textwrap.dedent(text), "fe.yaml")


def error_of(text: str) -> str:
    with pytest.raises(ConfigError) as info:
        load(text)
    return str(info.value)


def test_minimal_group():
    """A group with only singularity_use parses; everything else stays unset."""
    config = load(
        """
        frontend:
          groups:
            cms: {singularity_use: REQUIRED}
        """
    )
    assert config.frontend == FrontendConfig(
        groups=(Group("cms", GroupSettings(singularity_use="REQUIRED")),)
    )
    assert config.factory is None
    assert config.frontend.scripts_dir == DEFAULT_SCRIPTS_DIR


def test_images_keep_order_and_empty_values():
    """The images mapping keeps the YAML order; a key without a value is kept with an empty value."""
    config = load(
        f"""
        frontend:
          global:
            images:
              rhel9: {EL9}
              default: docker://myvo/app:1
              rhel6:
        """
    )
    assert config.frontend is not None
    assert config.frontend.global_settings.images == (
        ("rhel9", EL9),
        ("default", "docker://myvo/app:1"),
        ("rhel6", ""),
    )


@pytest.mark.parametrize(
    ("yaml_value", "expected"),
    [
        pytest.param("[rhel9, rhel8]", ("rhel9", "rhel8"), id="yaml-list"),
        pytest.param("rhel9,rhel8", ("rhel9", "rhel8"), id="comma-string"),
        pytest.param("' rhel9 , rhel8 '", ("rhel9", "rhel8"), id="comma-string-blanks-stripped"),
        pytest.param("any", ("any",), id="any"),
        pytest.param("[]", (), id="empty-list"),
    ],
)
def test_lists_accept_yaml_lists_and_comma_strings(yaml_value, expected):
    """GlideinWMS comma lists may be written as YAML lists or as one comma-separated string."""
    config = load(f"factory:\n  entries:\n    ce1:\n      required_os: {yaml_value}\n")
    assert config.factory is not None
    assert config.factory.entries[0].settings.required_os == expected


def test_entry_fields():
    """Every entry key lands in its field."""
    config = load(
        """
        factory:
          scripts_dir: /srv/gs
          global: {singularity_bin: OSG}
          entries:
            ce1:
              singularity_require: REQUIRED_GWMS
              singularity_bin: /opt/apptainer/bin
              binary_override: /a/bin:/b/bin
              bind_path_default: [/hadoop, "/data:/data:ro"]
              singularity_opts: --no-eval
              disable_pid_namespaces: true
              cvmfs_mount_dir: /scratch/cvmfs
              image_restrictions: cvmfs,remote
              allowed_image_sources: ["docker://myvo/*"]
              denied_image_sources: ["docker://myvo/*:devel"]
        """
    )
    assert config.factory == FactoryConfig(
        EntrySettings(singularity_bin="OSG"),
        (
            Entry(
                "ce1",
                EntrySettings(
                    singularity_require="REQUIRED_GWMS",
                    singularity_bin="/opt/apptainer/bin",
                    binary_override="/a/bin:/b/bin",
                    bind_path_default=("/hadoop", "/data:/data:ro"),
                    singularity_opts="--no-eval",
                    disable_pid_namespaces=True,
                    cvmfs_mount_dir="/scratch/cvmfs",
                    image_restrictions=("cvmfs", "remote"),
                    allowed_image_sources=("docker://myvo/*",),
                    denied_image_sources=("docker://myvo/*:devel",),
                ),
            ),
        ),
        "/srv/gs",
    )


@pytest.mark.parametrize(
    ("yaml_attr", "expected"),
    [
        pytest.param(
            "X_Site: T2_US",
            ExtraAttr(
                "T2_US",
                (
                    ("glidein_publish", "False"),
                    ("job_publish", "False"),
                    ("parameter", "True"),
                    ("type", "string"),
                ),
            ),
            id="short-form-default-flags",
        ),
        pytest.param(
            "X_Max: 34800",
            ExtraAttr(
                "34800",
                (
                    ("glidein_publish", "False"),
                    ("job_publish", "False"),
                    ("parameter", "True"),
                    ("type", "string"),
                ),
            ),
            id="number-kept-as-text",
        ),
        pytest.param(
            "X_Max: {value: 5, type: int, job_publish: true, comment: why}",
            ExtraAttr(
                "5",
                (
                    ("comment", "why"),
                    ("glidein_publish", "False"),
                    ("job_publish", "True"),
                    ("parameter", "True"),
                    ("type", "int"),
                ),
            ),
            id="long-form-overrides-flags",
        ),
    ],
)
def test_extra_attrs_frontend(yaml_attr, expected):
    """Unmodelled attributes keep their value and get GlideinWMS's frontend flags unless given."""
    config = load(f"frontend:\n  global:\n    extra_attrs:\n      {yaml_attr}\n")
    assert config.frontend is not None
    ((_, attr),) = config.frontend.global_settings.extra_attrs
    assert attr == expected


def test_extra_attrs_factory_defaults():
    """Factory extra attributes get the factory's flags (const and publish too)."""
    config = load("factory:\n  global:\n    extra_attrs:\n      GLIDEIN_CPUS: '8'\n")
    assert config.factory is not None
    assert config.factory.global_settings.extra_attrs == (
        (
            "GLIDEIN_CPUS",
            ExtraAttr(
                "8",
                (
                    ("const", "True"),
                    ("glidein_publish", "False"),
                    ("job_publish", "False"),
                    ("parameter", "True"),
                    ("publish", "True"),
                    ("type", "string"),
                ),
            ),
        ),
    )


BAD = [
    pytest.param(
        "frontend:\n  groups:\n    cms:\n      singularity_use: REQIRED\n",
        "fe.yaml:4: frontend.groups.cms.singularity_use: 'REQIRED' is not one of DISABLE_GWMS, NEVER, "
        "OPTIONAL, "
        "PREFERRED, REQUIRED (did you mean 'REQUIRED'?)",
        id="use-typo",
    ),
    pytest.param(
        "frontend:\n  groups:\n    cms:\n      singularity_usee: REQUIRED\n",
        "fe.yaml:4: frontend.groups.cms.singularity_usee: unknown key 'singularity_usee' "
        "(did you mean 'singularity_use'?)",
        id="unknown-key-hint",
    ),
    pytest.param(
        "frontend:\n  colour: red\n",
        "fe.yaml:2: frontend.colour: unknown key 'colour'; expected one of global, groups, scripts_dir",
        id="unknown-key-list",
    ),
    pytest.param(
        "frontends: {}\n",
        "fe.yaml:1: frontends: unknown key 'frontends' (did you mean 'frontend'?)",
        id="unknown-top-level",
    ),
    pytest.param(
        "", "fe.yaml:1: (top level): the file is empty; expected 'frontend:' and/or 'factory:'", id="empty"
    ),
    pytest.param("- a\n", "fe.yaml:1: (top level): expected a mapping, got a list", id="top-level-list"),
    pytest.param(
        "frontend:\n  groups: [cms]\n",
        "fe.yaml:2: frontend.groups: expected a mapping, got a list",
        id="groups-list",
    ),
    pytest.param(
        "frontend:\n  global:\n    singularity_opts: 5\n",
        "fe.yaml:3: frontend.global.singularity_opts: expected a string, got int 5",
        id="text-is-int",
    ),
    pytest.param(
        "factory:\n  global:\n    disable_pid_namespaces: 1\n",
        "fe.yaml:3: factory.global.disable_pid_namespaces: expected true or false, got int 1",
        id="flag-is-int",
    ),
    pytest.param(
        "frontend:\n  global:\n    required_os: {a: b}\n",
        "fe.yaml:3: frontend.global.required_os: expected a list or a string, got a mapping",
        id="list-is-mapping",
    ),
    pytest.param(
        "frontend:\n  global:\n    required_os: 'rhel9,,rhel8'\n",
        "fe.yaml:3: frontend.global.required_os: empty item in the list",
        id="list-empty-item",
    ),
    pytest.param(
        "frontend:\n  global:\n    bind_paths: ['/a,/b']\n",
        "fe.yaml:3: frontend.global.bind_paths: '/a,/b' contains ',' which the GlideinWMS comma list cannot "
        "carry",
        id="list-item-comma",
    ),
    pytest.param(
        "frontend:\n  global:\n    bind_paths: [data]\n",
        "fe.yaml:3: frontend.global.bind_paths: 'data' is not a bind 'src[:dst[:ro|rw]]' with absolute paths",
        id="bind-relative",
    ),
    pytest.param(
        "frontend:\n  global:\n    bind_paths: ['/a:/b:rx']\n",
        "fe.yaml:3: frontend.global.bind_paths: '/a:/b:rx': bind option 'rx' is not one of ro, rw",
        id="bind-option",
    ),
    pytest.param(
        "frontend:\n  global:\n    container_env: [clearal]\n",
        "fe.yaml:3: frontend.global.container_env: 'clearal' is not one of clear, clearall, clearpaths, "
        "condorset, "
        "gwmsset, keepall, osgset (did you mean 'clearall'?)",
        id="container-env",
    ),
    pytest.param(
        "frontend:\n  global:\n    container_env_clearlist: [GFAL-DIR]\n",
        "fe.yaml:3: frontend.global.container_env_clearlist: 'GFAL-DIR' is not an environment variable name",
        id="clearlist-name",
    ),
    pytest.param(
        "frontend:\n  global:\n    image_restrictions: [cvmfs, remot]\n",
        "fe.yaml:3: frontend.global.image_restrictions: SINGULARITY_IMAGE_RESTRICTIONS: unknown restriction "
        "'remot' in 'remot'; expected a comma list of cvmfs, remote, test, any",
        id="restriction",
    ),
    pytest.param(
        "frontend:\n  global:\n    required_os: ['rhel9:x']\n",
        "fe.yaml:3: frontend.global.required_os: 'rhel9:x' is not an OS key (no blanks around it, no ':')",
        id="os-key-colon",
    ),
    pytest.param(
        "frontend:\n  global:\n    allowed_image_sources: ['myvo/*']\n",
        "fe.yaml:3: frontend.global.allowed_image_sources: 'myvo/*' is not an image source pattern "
        "(a URI like 'docker://myvo/*' or an absolute path)",
        id="source-pattern",
    ),
    pytest.param(
        "frontend:\n  global:\n    denied_image_sources: ['docker://a/*,docker://b/*']\n",
        "fe.yaml:3: frontend.global.denied_image_sources: 'docker://a/*,docker://b/*' contains ',' which the "
        "GlideinWMS comma list cannot carry",
        id="source-pattern-comma",
    ),
    pytest.param(
        "frontend:\n  global:\n    allowed_image_sources: []\n",
        "fe.yaml:3: frontend.global.allowed_image_sources: an empty list renders as an unset "
        "GS_ALLOWED_IMAGE_SOURCES (no restriction on the glidein): remove the key, or list patterns",
        id="source-list-empty",
    ),
    pytest.param(
        "factory:\n  global:\n    singularity_bin: osg\n",
        "fe.yaml:3: factory.global.singularity_bin: 'osg' is not one of OSG, CONDOR, PATH, PASS "
        "(did you mean 'OSG'?) "
        "and is not an absolute directory",
        id="singularity-bin",
    ),
    pytest.param(
        "factory:\n  global:\n    binary_override: 'bin:/usr/bin'\n",
        "fe.yaml:3: factory.global.binary_override: 'bin:/usr/bin' is not an absolute path or a "
        "':'-separated "
        "list of absolute directories",
        id="binary-override",
    ),
    pytest.param(
        "factory:\n  global:\n    cvmfs_mount_dir: cvmfs\n",
        "fe.yaml:3: factory.global.cvmfs_mount_dir: 'cvmfs' is not an absolute path",
        id="cvmfs-mount-dir",
    ),
    pytest.param(
        "frontend:\n  scripts_dir: web\n",
        "fe.yaml:2: frontend.scripts_dir: 'web' is not an absolute path",
        id="scripts-dir",
    ),
    pytest.param(
        "frontend:\n  scripts_dir: /a\nfactory:\n  scripts_dir: /b\n",
        "fe.yaml:4: factory.scripts_dir: both frontend.scripts_dir and factory.scripts_dir are set: ship the "
        "glidein files from one side",
        id="scripts-dir-both-sides",
    ),
    pytest.param(
        "frontend:\n  global:\n    image_default: 'a,b'\n",
        "fe.yaml:3: frontend.global.image_default: 'a,b' contains ',' which the images dictionary cannot "
        "carry",
        id="legacy-image-comma",
    ),
    pytest.param(
        "frontend:\n  global:\n    images: {rhel9: 'a,b'}\n",
        "fe.yaml:3: frontend.global.images.rhel9: SINGULARITY_IMAGES_DICT: value 'a,b' contains ',', which "
        "the "
        "dictionary cannot hold (no escaping exists for ',', newlines or NUL)",
        id="images-value-comma",
    ),
    pytest.param(
        "frontend:\n  global:\n    images: {'el:9': /cvmfs/x}\n",
        "fe.yaml:3: frontend.global.images.el:9: SINGULARITY_IMAGES_DICT: key 'el:9' contains ':'; keys end "
        "at "
        "the first ':'",
        id="images-key-colon",
    ),
    pytest.param(
        "frontend:\n  groups:\n    'cms prod': {}\n",
        "fe.yaml:3: frontend.groups.cms prod: 'cms prod' is not a valid name (letters, digits, '_.-')",
        id="group-name",
    ),
    pytest.param(
        "frontend:\n  global:\n    extra_attrs: {GLIDEIN_Singularity_Use: REQUIRED}\n",
        "fe.yaml:3: frontend.global.extra_attrs.GLIDEIN_Singularity_Use: GLIDEIN_Singularity_Use is "
        "modelled: "
        "use the key 'singularity_use'",
        id="extra-attr-modelled",
    ),
    pytest.param(
        "frontend:\n  global:\n    extra_attrs: {'1X': a}\n",
        "fe.yaml:3: frontend.global.extra_attrs.1X: '1X' is not a GlideinWMS attribute name",
        id="extra-attr-name",
    ),
    pytest.param(
        "frontend:\n  global:\n    extra_attrs:\n      X: {type: int}\n",
        "fe.yaml:4: frontend.global.extra_attrs.X: missing key 'value'",
        id="extra-attr-no-value",
    ),
    pytest.param(
        "frontend:\n  global:\n    extra_attrs:\n      X: {value: 1, type: integer}\n",
        "fe.yaml:4: frontend.global.extra_attrs.X.type: 'integer' is not one of expr, int, string "
        "(did you mean 'int'?)",
        id="extra-attr-type",
    ),
    pytest.param(
        "frontend:\n  global:\n    extra_attrs:\n      X: {value: 1, job_publsh: true}\n",
        "fe.yaml:4: frontend.global.extra_attrs.X.job_publsh: unknown key 'job_publsh' (did you mean "
        "'job_publish'?)",
        id="extra-attr-flag-typo",
    ),
    pytest.param(
        "frontend:\n  global:\n    extra_attrs:\n      X: {value: 1, job_publish: maybe}\n",
        "fe.yaml:4: frontend.global.extra_attrs.X.job_publish: expected true or false, got str 'maybe'",
        id="extra-attr-flag-value",
    ),
    pytest.param(
        "frontend:\n  global:\n    extra_attrs:\n      X: [a]\n",
        "fe.yaml:4: frontend.global.extra_attrs.X: expected a string or a number, got a list",
        id="extra-attr-list",
    ),
    pytest.param(
        "frontend:\n  global:\n    singularity_use: NEVER\n    singularity_use: REQUIRED\n",
        "fe.yaml:4: frontend.global.singularity_use: duplicate key (first given on line 3); the last one "
        "wins",
        id="duplicate",
    ),
    pytest.param(
        "frontend: [\n",
        "fe.yaml:2: invalid YAML: expected the node content, but found '<stream end>'",
        id="yaml",
    ),
    pytest.param(
        "frontend:\n  ? [a]\n  : b\n",
        "fe.yaml:2: frontend: a key must be a plain string, not a sequence",
        id="list-key",
    ),
]


@pytest.mark.parametrize(("text", "message"), BAD)
def test_errors_name_file_line_key(text, message):
    """Each invalid file raises ConfigError naming the file, the line, the dotted key and what was "
    "expected."""
    assert error_of(text) == message


def test_parse_config_collects_every_problem():
    """parse_config reports all problems in line order and keeps the valid values."""
    document = parse_yaml(
        "frontend:\n  groups:\n    cms:\n      singularity_use: REQIRED\n      bind_paths: [data]\n"
        "      singularity_opts: --nv\n",
        "fe.yaml",
    )
    config, findings = parse_config(document)
    assert [(f.rule, f.line, f.key) for f in findings] == [
        ("GS101", 4, "frontend.groups.cms.singularity_use"),
        ("GS101", 5, "frontend.groups.cms.bind_paths"),
    ]
    assert config.frontend is not None
    assert config.frontend.groups[0].settings == GroupSettings(singularity_opts="--nv")


def test_yaml_keys_keep_their_source_text():
    """A key YAML would read as a boolean or number stays the text the admin wrote."""
    config = load("frontend:\n  global:\n    images:\n      yes: /cvmfs/a\n      010: /cvmfs/b\n")
    assert config.frontend is not None
    assert config.frontend.global_settings.images == (("yes", "/cvmfs/a"), ("010", "/cvmfs/b"))


def test_yaml_merge_keys_are_resolved():
    """YAML anchors and '<<' merge keys work as with yaml.safe_load."""
    config = load(
        """
        frontend:
          groups:
            a: &base {singularity_use: PREFERRED, singularity_opts: --nv}
            b:
              <<: *base
              singularity_use: REQUIRED
        """
    )
    assert config.frontend is not None
    assert config.frontend.groups[1].settings == GroupSettings(
        singularity_use="REQUIRED", singularity_opts="--nv"
    )


def test_parse_yaml_tree_has_lines():
    """The YAML tree records lines of mappings, keys, lists and scalars."""
    document = parse_yaml("a:\n  - 1\n  - b: x\n", "f.yaml")
    assert document.root == YMap(
        (("a", YSeq((YScalar(1, 2), YMap((("b", YScalar("x", 3)),), (3,), 3)), 2)),), (1,), 1
    )
    assert document.duplicates == ()


def test_line_of_walks_up_to_a_known_parent():
    """Config.line_of gives the line of the nearest recorded key."""
    config = load("frontend:\n  groups:\n    cms:\n      singularity_use: REQUIRED\n")
    assert config.line_of("frontend.groups.cms.singularity_use") == 4
    assert config.line_of("frontend.groups.cms.images.rhel9") == 3
    assert config.line_of("nowhere") == 1


def test_merged_takes_unset_fields_from_defaults():
    """A group's own values win; unset ones come from the global settings; extra_attrs merge by name."""
    a = ExtraAttr("1", ())
    b = ExtraAttr("2", ())
    defaults = GroupSettings(
        singularity_use="PREFERRED", singularity_opts="--nv", extra_attrs=(("A", a), ("B", a))
    )
    own = GroupSettings(singularity_use="REQUIRED", extra_attrs=(("B", b),))
    assert merged(defaults, own) == GroupSettings(
        singularity_use="REQUIRED", singularity_opts="--nv", extra_attrs=(("A", a), ("B", b))
    )


def test_source_path_names_where_a_value_is_set():
    """source_path points at the group's own key, else the global key, else the group."""
    config = load(
        "frontend:\n  global: {singularity_opts: --nv}\n  groups:\n    cms: {singularity_use: REQUIRED}\n"
    )
    assert source_path(config, "frontend", "cms", "singularity_use") == "frontend.groups.cms.singularity_use"
    assert source_path(config, "frontend", "cms", "singularity_opts") == "frontend.global.singularity_opts"
    assert source_path(config, "frontend", "cms", "images") == "frontend.groups.cms"
    assert source_path(config, "factory", None, "required_os") == "factory.global"


def test_field_tables_name_distinct_attributes():
    """Each side's keys become distinct GlideinWMS attributes, and the source lists differ per side."""
    for fields in (GROUP_FIELDS, ENTRY_FIELDS):
        assert len({f.attr for f in fields}) == len(fields)
        assert len({f.key for f in fields}) == len(fields)
    group_attrs = {f.attr for f in GROUP_FIELDS if "IMAGE_SOURCES" in f.attr}
    entry_attrs = {f.attr for f in ENTRY_FIELDS if "IMAGE_SOURCES" in f.attr}
    assert group_attrs.isdisjoint(entry_attrs)


def test_load_config_file_names_unreadable_file(tmp_path):
    """A missing file is a ConfigError naming it."""
    path = tmp_path / "missing.yaml"
    with pytest.raises(ConfigError, match=r"missing\.yaml: cannot read: No such file or directory"):
        load_config_file(str(path))


def test_load_config_file_reads(tmp_path):
    """load_config_file parses a file and remembers its name."""
    path = tmp_path / "fe.yaml"
    path.write_text("frontend:\n  groups: {}\n")
    config = load_config_file(str(path))
    assert config.filename == str(path)
    assert config.frontend == FrontendConfig()
