"""Lint rules: for every rule id a good case, a bad case with its exact message, and the id."""

import textwrap

import pytest

from glidein_singularity.frontend.findings import Finding, Severity
from glidein_singularity.frontend.lint import RULES, exit_status, lint_document
from glidein_singularity.frontend.yamlsource import parse_yaml

EL9 = "/cvmfs/singularity.opensciencegrid.org/opensciencegrid/osgvo-el9:latest"


def run_lint(text, cvmfs_exists=None):
    return lint_document(parse_yaml(textwrap.dedent(text).lstrip(), "fe.yaml"), cvmfs_exists)


def only(findings, rule):
    return [(f.rule, f.severity, str(f)) for f in findings if f.rule == rule]


E, W, N = Severity.ERROR, Severity.WARNING, Severity.NOTE

BAD = [
    pytest.param(
        "GS100",
        "frontend:\n  groups:\n    cms: {singularity_usee: REQUIRED}\n",
        None,
        [
            (
                E,
                "fe.yaml:3: frontend.groups.cms.singularity_usee: unknown key 'singularity_usee' "
                "(did you mean 'singularity_use'?)",
            )
        ],
        id="GS100-unknown-key",
    ),
    pytest.param(
        "GS101",
        "frontend:\n  groups:\n    cms: {singularity_use: REQIRED}\n",
        None,
        [
            (
                E,
                "fe.yaml:3: frontend.groups.cms.singularity_use: 'REQIRED' is not one of DISABLE_GWMS, "
                "NEVER, "
                "OPTIONAL, PREFERRED, REQUIRED (did you mean 'REQUIRED'?)",
            )
        ],
        id="GS101-use",
    ),
    pytest.param(
        "GS101",
        "factory:\n  entries:\n    ce1: {singularity_require: REQUIRED_GMWS}\n",
        None,
        [
            (
                E,
                "fe.yaml:3: factory.entries.ce1.singularity_require: 'REQUIRED_GMWS' is not one of NEVER, "
                "OPTIONAL, PREFERRED, REQUIRED, REQUIRED_GWMS (did you mean 'REQUIRED_GWMS'?)",
            )
        ],
        id="GS101-require",
    ),
    pytest.param(
        "GS102",
        "frontend:\n  global:\n    images:\n      'el:9': /cvmfs/a\n",
        None,
        [
            (
                E,
                "fe.yaml:4: frontend.global.images.el:9: SINGULARITY_IMAGES_DICT: key 'el:9' contains ':'; "
                "keys end at the first ':'",
            )
        ],
        id="GS102-colon-in-key",
    ),
    pytest.param(
        "GS102",
        "frontend:\n  global:\n    images:\n      rhel9: '/cvmfs/a,/cvmfs/b'\n",
        None,
        [
            (
                E,
                "fe.yaml:4: frontend.global.images.rhel9: SINGULARITY_IMAGES_DICT: value '/cvmfs/a,/cvmfs/b' "
                "contains ',', which the dictionary cannot hold (no escaping exists for ',', newlines or "
                "NUL)",
            )
        ],
        id="GS102-comma-in-value",
    ),
    pytest.param(
        "GS103",
        "frontend:\n  global:\n    images:\n      rhel9: /cvmfs/a\n      rhel9: /cvmfs/b\n",
        None,
        [
            (
                E,
                "fe.yaml:5: frontend.global.images.rhel9: duplicate key (first given on line 4); the last "
                "one wins",
            )
        ],
        id="GS103-duplicate-image-key",
    ),
    pytest.param(
        "GS104",
        """
        frontend:
          groups:
            cms:
              images: {default: docker://other/app}
              image_restrictions: [remote]
              allowed_image_sources: ["docker://myvo/*"]
        """,
        None,
        [
            (
                E,
                "fe.yaml:4: frontend.groups.cms.images.default: image 'docker://other/app' (normalized: "
                "docker://docker.io/other/app:latest) matches none of group 'cms' allowed_image_sources: "
                "docker://myvo/*",
            )
        ],
        id="GS104-not-allowed",
    ),
    pytest.param(
        "GS104",
        """
        frontend:
          groups:
            cms:
              images: {default: "docker://myvo/app:devel"}
              image_restrictions: [remote]
              allowed_image_sources: ["docker://myvo/*"]
              denied_image_sources: ["docker://myvo/*:devel"]
        """,
        None,
        [
            (
                E,
                "fe.yaml:4: frontend.groups.cms.images.default: image 'docker://myvo/app:devel' (normalized: "
                "docker://docker.io/myvo/app:devel) matches group 'cms' denied_image_sources pattern "
                "'docker://myvo/*:devel'",
            )
        ],
        id="GS104-denied-wins",
    ),
    pytest.param(
        "GS104",
        f"""
        frontend:
          groups:
            cms:
              singularity_use: PREFERRED
              images: {{default: {EL9}}}
        factory:
          entries:
            ce1:
              singularity_require: OPTIONAL
              allowed_image_sources: ["/cvmfs/unpacked.cern.ch/*"]
        """,
        None,
        [
            (
                E,
                "fe.yaml:5: frontend.groups.cms.images.default: image '"
                + EL9
                + "' matches none of entry 'ce1' "
                "allowed_image_sources: /cvmfs/unpacked.cern.ch/*",
            )
        ],
        id="GS104-entry-list",
    ),
    pytest.param(
        "GS105",
        "frontend:\n  groups:\n    cms:\n      images: {default: 'docker://myvo/app'}\n",
        None,
        [
            (
                E,
                'fe.yaml:4: frontend.groups.cms.images.default: image "docker://myvo/app" is remote, but '
                'SINGULARITY_IMAGE_RESTRICTIONS is "cvmfs" (add "remote" to allow it)',
            )
        ],
        id="GS105-docker-without-remote",
    ),
    pytest.param(
        "GS105",
        """
        frontend:
          groups:
            cms:
              singularity_use: PREFERRED
              images: {default: "docker://myvo/app"}
        factory:
          entries:
            ce1:
              singularity_require: OPTIONAL
              image_restrictions: [cvmfs]
        """,
        None,
        [
            (
                E,
                "fe.yaml:5: frontend.groups.cms.images.default: entry 'ce1': image \"docker://myvo/app\" is "
                "remote, "
                'but SINGULARITY_IMAGE_RESTRICTIONS is "cvmfs" (add "remote" to allow it)',
            )
        ],
        id="GS105-entry-restrictions",
    ),
    pytest.param(
        "GS106",
        f"frontend:\n  groups:\n    cms:\n      images: {{rhel9: {EL9}, rhel8: /cvmfs/x/el8}}\n",
        lambda path: path == EL9,
        [(E, "fe.yaml:4: frontend.groups.cms.images.rhel8: CVMFS image '/cvmfs/x/el8' does not exist")],
        id="GS106-missing",
    ),
    pytest.param(
        "GS106",
        f"frontend:\n  groups:\n    cms:\n      images: {{rhel9: {EL9}, rhel8: /cvmfs/x/el8}}\n",
        None,
        [
            (
                N,
                "fe.yaml:4: frontend.groups.cms.images.rhel9: 2 CVMFS image(s) not checked: /cvmfs is not "
                "mounted "
                "here (use --cvmfs-root DIR)",
            )
        ],
        id="GS106-note-without-cvmfs",
    ),
    pytest.param(
        "GS107",
        """
        frontend:
          groups:
            cms: {singularity_use: DISABLE_GWMS}
        factory:
          entries:
            ce1: {singularity_require: REQUIRED_GWMS}
        """,
        None,
        [
            (
                E,
                "fe.yaml:3: frontend.groups.cms.singularity_use: group 'cms' on entry 'ce1': glideins FAIL: "
                "the "
                "factory entry requires GlideinWMS container support but the frontend disabled it "
                "(GLIDEIN_Singularity_Use=DISABLE_GWMS, GLIDEIN_SINGULARITY_REQUIRE=REQUIRED_GWMS)",
            )
        ],
        id="GS107-disable-vs-required-gwms",
    ),
    pytest.param(
        "GS107",
        f"""
        frontend:
          groups:
            cms: {{singularity_use: REQUIRED, images: {{default: {EL9}}}}}
        factory:
          entries:
            ce1: {{singularity_require: NEVER}}
        """,
        None,
        [
            (
                W,
                "fe.yaml:3: frontend.groups.cms.singularity_use: group 'cms' on entry 'ce1': would FAIL: the "
                "frontend requires containers but the factory entry forbids them "
                "(GLIDEIN_Singularity_Use=REQUIRED, "
                "GLIDEIN_SINGULARITY_REQUIRE=NEVER); GlideinWMS's frontend never provisions this pair, so "
                "the group "
                "cannot use the entry",
            )
        ],
        id="GS107-required-vs-never-filtered",
    ),
    pytest.param(
        "GS108",
        f"""
        frontend:
          groups:
            cms: {{singularity_use: REQUIRED, images: {{default: {EL9}}}}}
        factory:
          entries:
            ce1: {{required_os: any}}
        """,
        None,
        [
            (
                W,
                "fe.yaml:3: frontend.groups.cms.singularity_use: group 'cms' on entry 'ce1': "
                "GLIDEIN_SINGULARITY_REQUIRE is unset on the entry and GlideinWMS's frontend provisions a "
                "REQUIRED "
                "group only where it is defined and not NEVER: set it (e.g. OPTIONAL)",
            )
        ],
        id="GS108-required-needs-defined-require",
    ),
    pytest.param(
        "GS109",
        "frontend:\n  groups:\n    cms: {singularity_use: PREFERRED}\n",
        None,
        [
            (
                W,
                "fe.yaml:3: frontend.groups.cms.singularity_use: group 'cms' has "
                "GLIDEIN_Singularity_Use=PREFERRED "
                "but no image (images, image_default): only jobs with +SingularityImage can run in a "
                "container",
            )
        ],
        id="GS109-no-image",
    ),
    pytest.param(
        "GS110",
        f"""
        frontend:
          groups:
            cms:
              singularity_use: PREFERRED
              images: {{rhel9: {EL9}}}
        factory:
          entries:
            ce1:
              singularity_require: OPTIONAL
              required_os: [rhel8]
        """,
        None,
        [
            (
                W,
                "fe.yaml:10: factory.entries.ce1.required_os: group 'cms' on entry 'ce1': jobs without "
                "their own "
                'REQUIRED_OS get no image: no image for REQUIRED_OS "any" and GLIDEIN_REQUIRED_OS "rhel8": '
                "SINGULARITY_IMAGES_DICT has no non-empty value for rhel8 (its keys with images: rhel9)",
            )
        ],
        id="GS110-os-without-image",
    ),
]


@pytest.mark.parametrize(("rule", "text", "cvmfs", "expected"), BAD)
def test_bad_case_exact_message(rule, text, cvmfs, expected):
    """The bad case yields exactly these findings of the rule, with file, line, key and message."""
    assert only(run_lint(text, cvmfs), rule) == [(rule, severity, message) for severity, message in expected]


GOOD = [
    pytest.param("GS100", "frontend:\n  groups:\n    cms: {singularity_use: REQUIRED}\n", None, id="GS100"),
    pytest.param(
        "GS101", "factory:\n  entries:\n    ce1: {singularity_require: REQUIRED_GWMS}\n", None, id="GS101"
    ),
    pytest.param("GS102", "frontend:\n  global:\n    images: {rhel9: 'docker://x/y:1'}\n", None, id="GS102"),
    pytest.param(
        "GS103", "frontend:\n  global:\n    images: {rhel9: /cvmfs/a, rhel8: /cvmfs/b}\n", None, id="GS103"
    ),
    pytest.param(
        "GS104",
        """
        frontend:
          groups:
            cms:
              images: {default: "docker://docker.io/myvo/app:2", rhel9: /cvmfs/unpacked.cern.ch/x}
              image_restrictions: [cvmfs, remote]
              allowed_image_sources: ["docker://myvo/*", "/cvmfs/unpacked.cern.ch/*"]
              denied_image_sources: ["docker://myvo/*:devel"]
        factory:
          entries:
            ce1: {singularity_require: OPTIONAL, allowed_image_sources: ["docker://*", "/cvmfs/*"]}
        """,
        None,
        id="GS104",
    ),
    pytest.param(
        "GS105",
        """
        frontend:
          groups:
            cms: {images: {default: "docker://myvo/app"}}
        factory:
          entries:
            ce1: {image_restrictions: [cvmfs, remote]}
        """,
        None,
        id="GS105-entry-allows-remote",
    ),
    pytest.param(
        "GS105",
        """
        frontend:
          groups:
            cms: {images: {default: /scratch/cvmfs/sing/el9}}
        factory:
          entries:
            ce1: {cvmfs_mount_dir: /scratch/cvmfs}
        """,
        None,
        id="GS105-cvmfs-mount-dir",
    ),
    pytest.param(
        "GS106",
        f"frontend:\n  groups:\n    cms:\n      images: {{rhel9: {EL9}}}\n",
        lambda p: True,
        id="GS106",
    ),
    pytest.param(
        "GS107",
        """
        frontend:
          groups:
            cms: {singularity_use: DISABLE_GWMS}
        factory:
          entries:
            ce1: {singularity_require: REQUIRED}
        """,
        None,
        id="GS107-disable-vs-required-is-disable",
    ),
    pytest.param(
        "GS108",
        f"""
        frontend:
          groups:
            cms: {{singularity_use: REQUIRED, images: {{default: {EL9}}}}}
        factory:
          entries:
            ce1: {{singularity_require: OPTIONAL}}
        """,
        None,
        id="GS108",
    ),
    pytest.param(
        "GS109",
        "frontend:\n  groups:\n    cms: {singularity_use: PREFERRED, image_default: /cvmfs/a}\n",
        None,
        id="GS109",
    ),
    pytest.param(
        "GS110",
        f"""
        frontend:
          groups:
            cms:
              singularity_use: PREFERRED
              images: {{rhel9: {EL9}, rhel8: /cvmfs/b}}
              required_os: [rhel9]
        factory:
          entries:
            ce1: {{singularity_require: OPTIONAL, required_os: [rhel8, rhel9]}}
        """,
        None,
        id="GS110",
    ),
]


@pytest.mark.parametrize(("rule", "text", "cvmfs"), GOOD)
def test_good_case_has_no_finding_of_the_rule(rule, text, cvmfs):
    """The good case of each rule yields no finding with that id."""
    assert only(run_lint(text, cvmfs), rule) == []


def test_every_rule_has_a_good_and_a_bad_case():
    """The tables above cover every rule id."""
    ids = {rule.id for rule in RULES}
    assert {param.values[0] for param in BAD} == ids
    assert {param.values[0] for param in GOOD} == ids


def test_shipped_example_is_clean():
    """frontend/example.yaml has no finding but the note that CVMFS was not checked."""
    with open("frontend/example.yaml", encoding="utf-8") as stream:
        findings = lint_document(parse_yaml(stream.read(), "frontend/example.yaml"))
    assert [(f.rule, f.severity) for f in findings] == [("GS106", N)]
    assert exit_status(findings) == 0


@pytest.mark.parametrize(
    ("severities", "status"),
    [
        pytest.param([], 0, id="nothing"),
        pytest.param([N], 0, id="note"),
        pytest.param([N, W], 1, id="warning"),
        pytest.param([E], 1, id="error"),
    ],
)
def test_exit_status(severities, status):
    """Only notes keep lint's exit status at 0."""
    findings = [Finding("GS100", "f", 1, "k", "m", severity) for severity in severities]
    assert exit_status(findings) == status


def test_finding_text():
    """A finding prints as file:line: key: message."""
    assert (
        str(Finding("GS101", "fe.yaml", 12, "frontend.groups.cms", "bad"))
        == "fe.yaml:12: frontend.groups.cms: bad"
    )


def test_frontend_global_stands_for_the_group_when_there_are_none():
    """Without groups, the frontend-wide settings are checked as the only group."""
    findings = run_lint(
        """
        frontend:
          global: {singularity_use: REQUIRED}
        factory:
          entries:
            ce1: {singularity_require: NEVER}
        """
    )
    assert [(f.rule, f.key) for f in findings] == [
        ("GS107", "frontend.global.singularity_use"),
        ("GS109", "frontend.global.singularity_use"),
    ]
    assert "the frontend defaults on entry 'ce1'" in findings[0].message
