"""The image-source policy: glob semantics, refusals with their exact words, and the START term's regexes
evaluated by HTCondor's own ClassAd library against the same tables as the Python matcher."""

from __future__ import annotations

import fnmatch
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from glidein_singularity import settings as node_settings
from glidein_singularity.images import normalize_image_ref
from glidein_singularity.sources import (
    SETTINGS,
    SourceList,
    SourcePolicy,
    allow_regex,
    deny_regex,
    glob_match,
    normalize_pattern,
    parse_patterns,
    pattern_matches,
    pattern_regex,
)
from glidein_singularity.startexpr import CONFIG_NAME, expand, parse_macros

classad = pytest.importorskip("classad2", reason="the HTCondor ClassAd bindings (pip install htcondor)")

CONFIG = Path(__file__).resolve().parents[2] / "condor_config.d" / CONFIG_NAME
TABLE = parse_macros(CONFIG.read_text())
SOURCE_TERM = expand("$(GS_JOB_IMAGE_SOURCE_ALLOWED)", TABLE)
CANONICAL_TERM = expand("$(GS_JOB_IMAGE_CANONICAL)", TABLE).replace("TARGET.", "")

EL9 = "/cvmfs/singularity.opensciencegrid.org/opensciencegrid/osgvo-el9:latest"
ATLAS = "/cvmfs/unpacked.cern.ch/registry.hub.docker.com/atlas/athena:22.0"


def policy(**lists: str) -> SourcePolicy:
    """A policy from keyword settings: allowed, denied, entry_allowed, entry_denied."""
    names = {
        "allowed": "GS_ALLOWED_IMAGE_SOURCES",
        "denied": "GS_DENIED_IMAGE_SOURCES",
        "entry_allowed": "GS_ENTRY_ALLOWED_IMAGE_SOURCES",
        "entry_denied": "GS_ENTRY_DENIED_IMAGE_SOURCES",
    }
    return SourcePolicy.from_settings({names[key]: value for key, value in lists.items()})


def start_admits(source_policy: SourcePolicy, image: str) -> object:
    """Evaluate the START term's source check with the slot advertising the policy's regexes."""
    machine = classad.ClassAd()
    for name, regex in (
        ("GS_IMAGE_ALLOW_REGEX", allow_regex(source_policy)),
        ("GS_IMAGE_DENY_REGEX", deny_regex(source_policy)),
    ):
        if regex is not None:
            machine[name] = regex
    machine["Requirements"] = classad.ExprTree(SOURCE_TERM)
    job = classad.ClassAd()
    job["SingularityImage"] = image
    return job.matches(machine)


def classad_canonical(image: str) -> object:
    """The START term's canonical form of ``image``, computed by the ClassAd library."""
    ad = classad.ClassAd()
    ad["SingularityImage"] = image
    ad["Canonical"] = classad.ExprTree(CANONICAL_TERM)
    return ad.eval("Canonical")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(None, (), id="unset"),
        pytest.param("", (), id="empty"),
        pytest.param(" , ,", (), id="only-blanks"),
        pytest.param(" docker://a/* ,/cvmfs/*", ("docker://a/*", "/cvmfs/*"), id="stripped"),
    ],
)
def test_parse_patterns(text, expected):
    """Comma lists are stripped; blank lists are not set."""
    assert expected == parse_patterns(text)


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        pytest.param("docker://myvo/*", ("docker://docker.io/myvo/*", False), id="docker-hub-namespace"),
        pytest.param("docker://ubuntu", ("docker://docker.io/library/ubuntu", False), id="library-unpinned"),
        pytest.param("docker://ubuntu:22.04", ("docker://docker.io/library/ubuntu:22.04", True), id="pinned"),
        pytest.param("docker://*", ("docker://*", False), id="every-docker-image"),
        pytest.param("docker://docker.io/*", ("docker://docker.io/*", False), id="every-hub-repository"),
        pytest.param("docker://*/atlas/*", ("docker://*/atlas/*", False), id="any-registry"),
        pytest.param("file:///cvmfs//x/./*", ("/cvmfs/x/*", True), id="path"),
        pytest.param("oras://ghcr.io/a/*", ("oras://ghcr.io/a/*", True), id="oras"),
    ],
)
def test_normalize_pattern(pattern, expected):
    """Patterns are normalized like images, wildcards kept; a docker pattern without a tag is unpinned."""
    assert expected == normalize_pattern(pattern)


@pytest.mark.parametrize(
    ("image", "pattern", "expected"),
    [
        pytest.param("docker://myvo/app", "docker://myvo/*", True, id="namespace"),
        pytest.param("docker://docker.io/myvo/app:1", "docker://myvo/*", True, id="namespace-explicit"),
        pytest.param("docker://myvo2/app", "docker://myvo/*", False, id="other-namespace"),
        pytest.param("docker://ubuntu:22.04", "docker://ubuntu", True, id="unpinned-any-tag"),
        pytest.param("docker://ubuntu@sha256:ab", "docker://ubuntu", True, id="unpinned-any-digest"),
        pytest.param("docker://ubuntu2", "docker://ubuntu", False, id="unpinned-not-prefix"),
        pytest.param("docker://ubuntu", "docker://ubuntu:latest", True, id="latest-implicit"),
        pytest.param("docker://ubuntu:22.04", "docker://ubuntu:latest", False, id="pinned-other-tag"),
        pytest.param("docker://ghcr.io/atlas/x", "docker://*/atlas/*", True, id="any-registry"),
        pytest.param("docker://atlas/x", "docker://*/atlas/*", True, id="any-registry-hub"),
        pytest.param("docker://ubuntu", "docker://*", True, id="all-docker"),
        pytest.param("oras://ghcr.io/x", "docker://*", False, id="oras-is-not-docker"),
        pytest.param(EL9, "/cvmfs/singularity.opensciencegrid.org/*", True, id="cvmfs-tree"),
        pytest.param("file://" + EL9, "/cvmfs/singularity.opensciencegrid.org/*", True, id="file-uri"),
        pytest.param(
            "/cvmfs/singularity.opensciencegrid.org.evil/x",
            "/cvmfs/singularity.opensciencegrid.org/*",
            False,
            id="tree-boundary",
        ),
        pytest.param("/cvmfs/a/../b/x", "/cvmfs/a/*", False, id="dotdot-collapsed"),
        pytest.param("/cvmfs/a/x[1]", "/cvmfs/a/x[1]", True, id="bracket-is-literal"),
        pytest.param("/cvmfs/a/x1", "/cvmfs/a/x[1]", False, id="no-character-classes"),
        pytest.param("/cvmfs/A/x", "/cvmfs/a/*", False, id="case-sensitive"),
    ],
)
def test_pattern_matches(image, pattern, expected):
    """Images match patterns in canonical form."""
    assert expected == pattern_matches(normalize_image_ref(image), pattern)


SOURCE_CASES = [
    # (id, policy settings, image, real path or None, expected problem or None)
    ("no-policy", {}, "docker://evil/x", None, None),
    ("allowed", {"allowed": "docker://atlas/*"}, "docker://atlas/athena:22", None, None),
    (
        "not-allowed",
        {"allowed": "docker://atlas/*"},
        "docker://unknownuser/x",
        None,
        'image "docker://unknownuser/x" (normalized: docker://docker.io/unknownuser/x:latest) matches none '
        "of GS_ALLOWED_IMAGE_SOURCES: docker://atlas/*",
    ),
    (
        "denied-wins",
        {"allowed": "docker://atlas/*", "denied": "docker://atlas/*:devel"},
        "docker://atlas/x:devel",
        None,
        'image "docker://atlas/x:devel" (normalized: docker://docker.io/atlas/x:devel) matches '
        'GS_DENIED_IMAGE_SOURCES pattern "docker://atlas/*:devel"',
    ),
    (
        "entry-stricter",
        {"allowed": "docker://*", "entry_allowed": "/cvmfs/*"},
        "docker://atlas/x",
        None,
        'image "docker://atlas/x" (normalized: docker://docker.io/atlas/x:latest) matches none of '
        "GS_ENTRY_ALLOWED_IMAGE_SOURCES: /cvmfs/*",
    ),
    (
        "frontend-stricter",
        {"allowed": "/cvmfs/unpacked.cern.ch/*", "entry_allowed": "/cvmfs/*"},
        EL9,
        None,
        'image "{}" matches none of GS_ALLOWED_IMAGE_SOURCES: /cvmfs/unpacked.cern.ch/*'.format(EL9),
    ),
    ("both-allow", {"allowed": "/cvmfs/unpacked.cern.ch/*", "entry_allowed": "/cvmfs/*"}, ATLAS, None, None),
    (
        "entry-deny",
        {"allowed": "docker://*", "entry_denied": "docker://*:devel"},
        "docker://ghcr.io/a/b:devel",
        None,
        'image "docker://ghcr.io/a/b:devel" matches GS_ENTRY_DENIED_IMAGE_SOURCES pattern "docker://*:devel"',
    ),
    (
        "symlink-inside-repository",
        {"allowed": "/cvmfs/unpacked.cern.ch/registry.hub.docker.com/atlas/*"},
        ATLAS,
        "/cvmfs/unpacked.cern.ch/.flat/3f/3f2a",
        None,
    ),
    (
        "symlink-out-of-cvmfs",
        {"allowed": "/cvmfs/*"},
        "/cvmfs/evil.example.org/img",
        "/tmp/evil/img",
        'image "/cvmfs/evil.example.org/img" resolves to /tmp/evil/img, which matches none of '
        "GS_ALLOWED_IMAGE_SOURCES: /cvmfs/*",
    ),
    (
        "symlink-other-repository",
        {"allowed": "/cvmfs/unpacked.cern.ch/*"},
        "/cvmfs/unpacked.cern.ch/x",
        "/cvmfs/evil.example.org/x",
        'image "/cvmfs/unpacked.cern.ch/x" resolves to /cvmfs/evil.example.org/x, which matches none of '
        "GS_ALLOWED_IMAGE_SOURCES: /cvmfs/unpacked.cern.ch/*",
    ),
    (
        "symlink-into-denied",
        {"denied": "/cvmfs/unpacked.cern.ch/.flat/bad*"},
        "/cvmfs/unpacked.cern.ch/good",
        "/cvmfs/unpacked.cern.ch/.flat/bad1",
        'image "/cvmfs/unpacked.cern.ch/good" resolves to /cvmfs/unpacked.cern.ch/.flat/bad1, which matches '
        'GS_DENIED_IMAGE_SOURCES pattern "/cvmfs/unpacked.cern.ch/.flat/bad*"',
    ),
    (
        "local-symlink-checked",
        {"allowed": "/opt/images/*"},
        "/opt/images/a.sif",
        "/home/user/a.sif",
        'image "/opt/images/a.sif" resolves to /home/user/a.sif, which matches none of '
        "GS_ALLOWED_IMAGE_SOURCES: /opt/images/*",
    ),
    (
        "relative-in-sandbox",
        {"allowed": "*.sif"},
        "img.sif",
        "/exec/dir_1/img.sif",
        None,
    ),
]


@pytest.mark.parametrize(
    ("lists", "image", "real", "expected"),
    [pytest.param(*case[1:], id=case[0]) for case in SOURCE_CASES],
)
def test_source_policy_problem(lists, image, real, expected):
    """Every allowlist set must allow the image (as written and as resolved); no denylist may match."""
    assert expected == policy(**lists).problem(image, real)


def test_mount_dir_is_mapped_back_to_cvmfs():
    """With cvmfsexec the real path is under CVMFS_MOUNT_DIR; patterns are written for /cvmfs."""
    rules = policy(allowed="/cvmfs/unpacked.cern.ch/*")
    assert (
        rules.problem(
            "/cvmfs/unpacked.cern.ch/x", "/home/pilot/cvmfs/unpacked.cern.ch/.flat/x", "/home/pilot/cvmfs/"
        )
        is None
    )


def test_policy_lists_in_order():
    """Blank lists are not set; the lists keep the frontend group's first."""
    rules = policy(entry_denied="docker://*:devel", allowed=" ", denied="/tmp/*")
    assert (
        SourceList("GS_DENIED_IMAGE_SOURCES", ("/tmp/*",), True),
        SourceList("GS_ENTRY_DENIED_IMAGE_SOURCES", ("docker://*:devel",), True),
    ) == rules.lists
    assert rules.active
    assert not policy().active


@pytest.mark.parametrize(
    ("lists", "allow", "deny"),
    [
        pytest.param({}, None, None, id="none"),
        pytest.param(
            {"allowed": "docker://myvo/*"},
            "(?s)^(docker://docker[.]io/myvo/.*([:@].*)?)(?!.)",
            None,
            id="one-allowlist",
        ),
        pytest.param(
            {"allowed": "/cvmfs/a/*,/cvmfs/b+c/x?", "entry_allowed": "/cvmfs/*"},
            "(?s)^(?=(/cvmfs/a/.*|/cvmfs/b[+]c/x.)(?!.))(/cvmfs/.*)(?!.)",
            None,
            id="both-allowlists-lookahead",
        ),
        pytest.param(
            {"denied": "docker://*:devel", "entry_denied": '/cvmfs/$x"y\\z^'},
            None,
            "(?s)^(docker://.*:devel|/cvmfs/.x.y.z.)(?!.)",
            id="denylists-union-no-quoting-hazards",
        ),
    ],
)
def test_advertised_regexes(lists, allow, deny):
    """The regexes are anchored, escape metacharacters as classes, and hold no backslash, quote or $."""
    rules = policy(**lists)
    assert (allow, deny) == (allow_regex(rules), deny_regex(rules))


AGREEMENT_POLICIES = {
    "atlas": {
        "allowed": "docker://atlas/*,/cvmfs/atlas.cern.ch/repo/containers/*",
        "denied": "docker://atlas/*:devel",
    },
    "cvmfs-and-hub": {"allowed": "/cvmfs/*,docker://*", "entry_allowed": "/cvmfs/*,docker://docker.io/*"},
    "deny-only": {"entry_denied": "docker://*/evil/*,/cvmfs/bad.example.org/*,oras://*"},
    "library": {"allowed": "docker://ubuntu,docker://library/debian:1?"},
    "relative": {"allowed": "*.sif"},
}
AGREEMENT_IMAGES = [
    "docker://atlas/athena",
    "docker://atlas/athena:22.0",
    "docker://docker.io/atlas/athena@sha256:0123",
    "docker://index.docker.io/atlas/athena",
    "docker://Registry-1.Docker.IO/atlas/athena",
    "DOCKER://atlas/athena:devel",
    "docker://atlas/athena:devel",
    "docker://unknownuser/x",
    "docker://ghcr.io/atlas/x",
    "docker://ghcr.io/evil/x",
    "docker://localhost:5000/evil/x",
    "docker://ubuntu",
    "docker://ubuntu:24.04",
    "docker://library/ubuntu",
    "docker://ubuntu2",
    "docker://debian:12",
    "docker://debian:123",
    "oras://ghcr.io/atlas/x:1",
    "https://example.org/x.sif",
    "/cvmfs/atlas.cern.ch/repo/containers/fs/singularity/x86_64-el9",
    "/cvmfs//atlas.cern.ch/./repo/containers/img/",
    "file:///cvmfs/atlas.cern.ch/repo/containers/img",
    "FILE:///cvmfs/bad.example.org/img",
    "/cvmfs/bad.example.org/img",
    "/cvmfs/atlas.cern.ch/repo/../../bad.example.org/img",
    "/cvmfs/atlas.cern.ch/repo/containers/..",
    "../x.sif",
    "/home/user/x.sif",
    "x.sif",
    "./x.sif",
    "sub/x.sif",
    EL9,
]


@pytest.mark.parametrize("image", AGREEMENT_IMAGES)
@pytest.mark.parametrize("name", sorted(AGREEMENT_POLICIES))
def test_start_term_agrees_with_the_wrapper(name, image):
    """START admits exactly the images the job wrapper's matcher allows (a '..' path: neither)."""
    rules = policy(**AGREEMENT_POLICIES[name])
    local = "://" not in image or image.lower().startswith("file://")
    dotdot = local and ".." in image.partition("://")[2 if "://" in image else 0].split("/")
    wrapper_allows = rules.problem(image) is None and not dotdot
    assert wrapper_allows == start_admits(rules, image)


def test_start_term_without_policy_admits_everything():
    """A slot that advertises no regex puts no source condition on START."""
    assert start_admits(SourcePolicy(), "/cvmfs/x/../y") is True


# --- properties --------------------------------------------------------------------------------------

SEGMENT = st.text(st.sampled_from("abcXY09._-:@+"), min_size=1, max_size=6).filter(
    lambda s: s not in (".", "..")
)
PATHS = st.lists(st.sampled_from(["", ".", "a", "b.c", "x:y", "sif"]) | SEGMENT, min_size=1, max_size=5).map(
    "/".join
)
REFS = st.one_of(
    st.builds(
        lambda scheme, rest: scheme + "://" + rest,
        st.sampled_from(["docker", "DOCKER", "oras", "https", "file", "File"]),
        PATHS,
    ),
    st.builds(
        lambda registry, rest: "docker://" + registry + rest,
        st.sampled_from(["", "docker.io/", "Index.Docker.io/", "ghcr.io/", "localhost/", "localhost:5000/"]),
        PATHS,
    ),
    PATHS,
    PATHS.map(lambda p: "/" + p),
    st.builds(lambda prefix, rest: prefix + rest, st.sampled_from(["file:/", "FILE:/", "file:///"]), PATHS),
)


@settings(max_examples=300, deadline=None)
@given(REFS)
def test_classad_canonical_form_is_pythons(image):
    """The START term computes the same canonical form as the Python code (paths without '..')."""
    assert normalize_image_ref(image) == classad_canonical(image)


GLOB_TEXT = st.text(st.sampled_from("ab/:.*?x\n"), max_size=10)


@given(GLOB_TEXT.filter(lambda s: "*" not in s and "?" not in s), GLOB_TEXT)
def test_glob_match_is_fnmatch_without_classes(text, pattern):
    """glob_match answers as fnmatch.fnmatchcase for patterns without '[' (no character classes)."""
    assert fnmatch.fnmatchcase(text, pattern) == glob_match(text, pattern)


PATTERNS = st.one_of(
    st.builds(
        lambda scheme, rest: scheme + "://" + rest,
        st.sampled_from(["docker", "oras"]),
        st.text(st.sampled_from("ab/:.*?@+("), min_size=1, max_size=8),
    ),
    st.text(st.sampled_from("ab/:.*?+(["), max_size=8).map(lambda p: "/" + p),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(PATTERNS, min_size=1, max_size=3), st.lists(PATTERNS, max_size=2), REFS)
def test_regexes_agree_with_matcher(allowed, denied, image):
    """For any lists and image, the ClassAd regexes decide as the Python matcher (paths without '..')."""
    rules = SourcePolicy(
        (SourceList("GS_ALLOWED_IMAGE_SOURCES", tuple(allowed), False),)
        + ((SourceList("GS_DENIED_IMAGE_SOURCES", tuple(denied), True),) if denied else ())
    )
    assert (rules.problem(image) is None) == start_admits(rules, image)


@given(st.text(max_size=20))
def test_pattern_regex_has_no_quoting_hazards(pattern):
    """No backslash, double quote or $ ever reaches the advertised regex."""
    text = pattern_regex(pattern)
    assert not set(text) & set('\\"$')


def test_planner_spells_the_same_setting_names():
    """settings.py names the lists itself (to import this module only when they are set): the same names."""
    assert SETTINGS == node_settings.SOURCE_SETTINGS


@pytest.mark.parametrize("image", ["file:/evil/x.sif", "FILE://evil/x.sif", "file:///evil/x.sif"])
def test_file_uri_forms_are_the_path_the_runtime_gets(image):
    """Every file: form of a local image is checked as the path the runtime is given (``/evil/x.sif``),
    by the Python policy and by the START term alike (on 44bb779 both kept ``file:/evil/x.sif`` as a
    path of its own: START admitted a job the wrapper then refused on the resolved path)."""
    assert "/evil/x.sif" == normalize_image_ref(image)
    assert policy(denied="/evil/*").problem(image) is not None
    assert "/evil/x.sif" == classad_canonical(image)
