"""Tables for the image dictionary grammar, OS lists, restrictions and the image choice."""

import pytest

from glidein_singularity.errors import ConfigError, ImageError
from glidein_singularity.images import (
    DEFAULT_OS_LOOKUP,
    ImageChoice,
    ImagesDict,
    check_restrictions,
    cvmfs_translate,
    format_images_dict,
    image_syntax_problem,
    intersect_os,
    is_remote_image,
    merge_legacy,
    normalize_image_ref,
    normalize_path,
    parse_images_dict,
    parse_os_list,
    parse_restrictions,
    select_image,
    validate_entry,
)

EL9 = "/cvmfs/singularity.opensciencegrid.org/opensciencegrid/osgvo-el9:latest"
EL8 = "/cvmfs/singularity.opensciencegrid.org/opensciencegrid/osgvo-el8:latest"


@pytest.mark.parametrize(
    ("text", "entries"),
    [
        pytest.param(None, (), id="none"),
        pytest.param("", (), id="empty"),
        pytest.param("rhel9:" + EL9, (("rhel9", EL9),), id="value-with-colon"),
        pytest.param("a:docker://x:1,b:oras://y:2", (("a", "docker://x:1"), ("b", "oras://y:2")), id="two"),
        pytest.param("key", (("key", ""),), id="key-without-colon"),
        pytest.param("key:", (("key", ""),), id="key-with-empty-value"),
        pytest.param(" rhel9 : x ", (("rhel9", " x "),), id="key-stripped-value-kept"),
        pytest.param("a:1,a:2", (("a", "1"), ("a", "2")), id="duplicates-kept-as-written"),
        pytest.param("a:1,,b:2,", (("a", "1"), ("b", "2")), id="empty-items-skipped"),
        pytest.param(":x", (("", "x"),), id="empty-key-as-written"),
    ],
)
def test_parse_entries(text, entries):
    """Items split on ',' and the key ends at the first ':'."""
    assert entries == parse_images_dict(text).entries


@pytest.mark.parametrize(
    ("text", "key", "expected"),
    [
        pytest.param("a:1,a:2", "a", "2", id="last-wins"),
        pytest.param("a:1,a:", "a", None, id="last-empty-wins"),
        pytest.param("a:", "a", None, id="empty-is-none"),
        pytest.param("a", "a", None, id="bare-key-is-none"),
        pytest.param("a:1", "b", None, id="absent"),
        pytest.param(" a:1", "a", "1", id="blanks-around-key-ignored"),
        pytest.param("a :1", " a", "1", id="blanks-around-lookup-ignored"),
        pytest.param("a b:1", "ab", None, id="inner-blank-kept"),
        pytest.param("a.:1,ab:2", "a.", "1", id="no-regex-meaning"),
        pytest.param("ab:2", "a.", None, id="dot-is-not-a-wildcard"),
    ],
)
def test_get(text, key, expected):
    """get() returns the last non-empty value or None."""
    assert expected == parse_images_dict(text).get(key)


def test_keys_in_last_occurrence_order():
    """keys() lists each key once, where its last occurrence is."""
    assert parse_images_dict("a:1,b:2,a:3,c").keys() == ("b", "a", "c")


def test_len_counts_distinct_keys():
    """len() counts effective keys."""
    assert len(parse_images_dict("a:1,b:2,a:3")) == 2


def test_with_value_removes_and_appends():
    """with_value() behaves like GlideinWMS dict_set_val."""
    images = parse_images_dict("a:1,b:2,a:3")
    assert images.with_value("a", "9").format() == "b:2,a:9"
    assert images.format() == "a:1,b:2,a:3"


def test_images_dict_is_immutable():
    """An ImagesDict cannot be changed in place."""
    images = parse_images_dict("a:1")
    with pytest.raises(AttributeError, match="immutable"):
        images.extra = 1  # type: ignore[attr-defined]


def test_equality_is_by_entries():
    """Two dictionaries are equal when written the same way."""
    assert parse_images_dict("a:1,b:2") == ImagesDict([("a", "1"), ("b", "2")])
    assert parse_images_dict("a:1,b:2") != parse_images_dict("b:2,a:1")


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        pytest.param(
            "", "x", "SINGULARITY_IMAGES_DICT: empty key (value 'x'); a key is required", id="empty"
        ),
        pytest.param(
            "a:b",
            "x",
            "SINGULARITY_IMAGES_DICT: key 'a:b' contains ':'; keys end at the first ':'",
            id="colon",
        ),
        pytest.param(
            "a",
            "x,y",
            "SINGULARITY_IMAGES_DICT: value 'x,y' contains ',', which the dictionary cannot hold "
            "(no escaping exists for ',', newlines or NUL)",
            id="comma-in-value",
        ),
        pytest.param(
            "a,b",
            "x",
            "SINGULARITY_IMAGES_DICT: key 'a,b' contains ',', which the dictionary cannot hold "
            "(no escaping exists for ',', newlines or NUL)",
            id="comma-in-key",
        ),
        pytest.param(
            "a",
            "x\ny",
            "SINGULARITY_IMAGES_DICT: value 'x\\ny' contains '\\n', which the dictionary cannot hold "
            "(no escaping exists for ',', newlines or NUL)",
            id="newline",
        ),
    ],
)
def test_validate_entry_names_the_problem(key, value, message):
    """Unrepresentable entries raise ConfigError naming the key or value."""
    with pytest.raises(ConfigError) as info:
        validate_entry(key, value)
    assert message == str(info.value)


def test_format_pairs_round_trip():
    """format_images_dict() of pairs parses back to the same entries."""
    pairs = [("rhel9", EL9), ("x y", "docker://a/b:c"), ("empty", "")]
    assert tuple(pairs) == parse_images_dict(format_images_dict(pairs)).entries


def test_format_rejects_unrepresentable():
    """format_images_dict() validates every entry."""
    with pytest.raises(ConfigError):
        format_images_dict([("a", "1,2")])


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        pytest.param({}, "default:d,rhel7:7", id="nothing"),
        pytest.param({"default": "D"}, "rhel7:7,default:D", id="default-overrides"),
        pytest.param({"rhel6": "6", "rhel7": ""}, "default:d,rhel7:7,rhel6:6", id="empty-ignored"),
        pytest.param({"default": "D", "rhel6": "6", "rhel7": "7b"}, "default:D,rhel6:6,rhel7:7b", id="all"),
    ],
)
def test_merge_legacy(kwargs, expected):
    """SINGULARITY_IMAGE_DEFAULT{,6,7} override default/rhel6/rhel7."""
    assert expected == merge_legacy(parse_images_dict("default:d,rhel7:7"), **kwargs).format()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(None, ("any",), id="none"),
        pytest.param("", ("any",), id="empty"),
        pytest.param(" , ", ("any",), id="blanks"),
        pytest.param("rhel9", ("rhel9",), id="one"),
        pytest.param("rhel9, rhel8 ,rhel7", ("rhel9", "rhel8", "rhel7"), id="stripped-order-kept"),
        pytest.param("ANY", ("any",), id="any-case-insensitive"),
        pytest.param("RHEL9,rhel9", ("RHEL9", "rhel9"), id="keys-case-sensitive"),
        pytest.param("rhel9,rhel8,rhel9", ("rhel9", "rhel8"), id="duplicates-dropped"),
    ],
)
def test_parse_os_list(text, expected):
    """OS lists are stripped comma lists; empty means any."""
    assert expected == parse_os_list(text)


@pytest.mark.parametrize(
    ("entry", "job", "expected"),
    [
        pytest.param(("any",), ("any",), ("any",), id="both-any"),
        pytest.param(("any",), ("rhel9", "rhel8"), ("rhel9", "rhel8"), id="entry-any"),
        pytest.param(("rhel8", "rhel9"), ("any",), ("rhel8", "rhel9"), id="job-any"),
        pytest.param(
            ("rhel7", "rhel8", "rhel9"), ("rhel9", "rhel8"), ("rhel9", "rhel8"), id="job-order-kept"
        ),
        pytest.param(("rhel8",), ("rhel9", "rhel8"), ("rhel8",), id="subset"),
        pytest.param(("rhel7",), ("rhel9",), (), id="disjoint"),
        pytest.param(("rhel8", "rhel9"), ("rhel9", "any"), ("rhel9", "rhel8"), id="any-in-job-expands-entry"),
        pytest.param(("rhel8", "any"), ("rhel7", "rhel9"), ("rhel7", "rhel9"), id="any-in-entry-accepts"),
    ],
)
def test_intersect_os(entry, job, expected):
    """The intersection keeps the job's order of preference."""
    assert expected == intersect_os(entry, job)


DICT = parse_images_dict("default:D,rhel9:R9,rhel8:R8,rhel7:,custom:C")


@pytest.mark.parametrize(
    ("images", "entry", "job", "key", "image"),
    [
        pytest.param(DICT, ("any",), ("any",), "default", "D", id="any-any-default"),
        pytest.param(
            parse_images_dict("rhel8:R8,rhel9:R9"), ("any",), ("any",), "rhel9", "R9", id="default-order"
        ),
        pytest.param(DICT, ("any",), ("rhel8", "rhel9"), "rhel8", "R8", id="job-preference"),
        pytest.param(DICT, ("rhel9", "rhel8"), ("rhel8", "rhel9"), "rhel8", "R8", id="job-over-entry-order"),
        pytest.param(DICT, ("any",), ("rhel7", "rhel9"), "rhel9", "R9", id="empty-value-skipped"),
        pytest.param(DICT, ("custom",), ("any",), "custom", "C", id="entry-only"),
        pytest.param(DICT, ("any",), ("rhel6", "any"), "default", "D", id="any-item-falls-to-defaults"),
    ],
)
def test_select_image(images, entry, job, key, image):
    """The first key of the ordered intersection with an image wins."""
    choice = select_image(images, entry, job)
    assert (key, image) == (choice.key, choice.image)


def test_select_image_reason():
    """The choice says which key and which lists decided."""
    expected = ImageChoice(
        "rhel9",
        "R9",
        'image from SINGULARITY_IMAGES_DICT key "rhel9" (REQUIRED_OS "rhel7,rhel9", '
        'GLIDEIN_REQUIRED_OS "any", keys tried in order: rhel7, rhel9)',
    )
    assert expected == select_image(DICT, ("any",), ("rhel7", "rhel9"))


@pytest.mark.parametrize(
    ("images", "entry", "job", "message"),
    [
        pytest.param(
            DICT,
            ("rhel8",),
            ("rhel9",),
            'REQUIRED_OS "rhel9" and GLIDEIN_REQUIRED_OS "rhel8" have no intersection',
            id="no-intersection",
        ),
        pytest.param(
            DICT,
            ("any",),
            ("rhel7", "rhel6"),
            'no image for REQUIRED_OS "rhel7,rhel6" and GLIDEIN_REQUIRED_OS "any": '
            "SINGULARITY_IMAGES_DICT has no non-empty value for rhel7, rhel6 "
            "(its keys with images: default, rhel9, rhel8, custom)",
            id="no-key",
        ),
        pytest.param(
            parse_images_dict(""),
            ("any",),
            ("any",),
            'no image for REQUIRED_OS "any" and GLIDEIN_REQUIRED_OS "any": SINGULARITY_IMAGES_DICT has no '
            "non-empty value for default, rhel9, rhel8, rhel7, rhel6 (its keys with images: (none))",
            id="empty-dict",
        ),
        pytest.param(
            parse_images_dict("custom,other:O"),
            ("any",),
            ("any",),
            'no image for REQUIRED_OS "any" and GLIDEIN_REQUIRED_OS "any": SINGULARITY_IMAGES_DICT has no '
            "non-empty value for default, rhel9, rhel8, rhel7, rhel6 (its keys with images: other); its "
            "first entry, 'custom', has no image either",
            id="first-entry-empty",
        ),
    ],
)
def test_select_image_errors(images, entry, job, message):
    """No image raises ImageError naming the OS lists and the dictionary keys."""
    with pytest.raises(ImageError) as info:
        select_image(images, entry, job)
    assert message == str(info.value)


@pytest.mark.parametrize(
    ("text", "entry", "job", "key"),
    [
        pytest.param("custom:C,other:O", ("any",), ("any",), "custom", id="any-alone"),
        pytest.param("custom:C,other:O", ("any",), ("nokey", "any"), "custom", id="any-in-list"),
        pytest.param("other:O,rhel8:R", ("any",), ("nokey", "any"), "rhel8", id="lookup-keys-first"),
        pytest.param("custom:C,custom:D", ("any",), ("any",), "custom", id="first-as-written"),
    ],
)
def test_select_image_any_takes_first_entry(text, entry, job, key):
    """With ``any`` and no key of the lookup order, the first entry is used (GlideinWMS dict_get_first)."""
    images = parse_images_dict(text)
    choice = select_image(images, entry, job)
    assert key == choice.key
    assert (images.entries[0][1] if key == images.entries[0][0] else images.get(key)) == choice.image


def test_select_image_without_any_takes_no_first_entry():
    """Without ``any`` the first entry is never a fallback."""
    with pytest.raises(ImageError):
        select_image(parse_images_dict("custom:C"), ("any",), ("rhel9",))


def test_default_lookup_order():
    """The wrapper's default key order is GlideinWMS's."""
    assert DEFAULT_OS_LOOKUP == ("default", "rhel9", "rhel8", "rhel7", "rhel6")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(None, {"cvmfs"}, id="unset"),
        pytest.param("  ", {"cvmfs"}, id="blank"),
        pytest.param("cvmfs,remote", {"cvmfs", "remote"}, id="two"),
        pytest.param(" Remote , TEST ", {"remote", "test"}, id="case-and-blanks"),
        pytest.param("any", set(), id="any-adds-nothing"),
    ],
)
def test_parse_restrictions(text, expected):
    """Restrictions are a comma list; unset means cvmfs."""
    assert frozenset(expected) == parse_restrictions(text)


def test_parse_restrictions_unknown():
    """An unknown restriction names itself and the accepted values."""
    with pytest.raises(ConfigError) as info:
        parse_restrictions("cvmfs,cmvfs")
    expected = (
        "SINGULARITY_IMAGE_RESTRICTIONS: unknown restriction 'cmvfs' in 'cvmfs,cmvfs'; "
        "expected a comma list of cvmfs, remote, test, any"
    )
    assert expected == str(info.value)


@pytest.mark.parametrize(
    ("ref", "expected"),
    [
        pytest.param("docker://alpine", True, id="docker"),
        pytest.param("oras://ghcr.io/a/b:1", True, id="oras"),
        pytest.param("https://x/y.sif", True, id="https"),
        pytest.param("file:///tmp/x.sif", False, id="file"),
        pytest.param("/cvmfs/x", False, id="path"),
        pytest.param("://x", False, id="no-scheme"),
    ],
)
def test_is_remote_image(ref, expected):
    """Remote means a URI other than file://."""
    assert expected == is_remote_image(ref)


@pytest.mark.parametrize(
    ("path", "mount", "expected"),
    [
        pytest.param("/cvmfs/a/b", None, "/cvmfs/a/b", id="no-mount-dir"),
        pytest.param("/cvmfs/a/b", "/cvmfs", "/cvmfs/a/b", id="standard-mount"),
        pytest.param("/cvmfs/a/b", "/scratch/cvmfs/", "/scratch/cvmfs/a/b", id="cvmfsexec"),
        pytest.param("/cvmfs", "/x", "/x", id="top"),
        pytest.param("/cvmfsx/a", "/x", "/cvmfsx/a", id="prefix-is-not-parent"),
        pytest.param("/srv/a", "/x", "/srv/a", id="other"),
    ],
)
def test_cvmfs_translate(path, mount, expected):
    """/cvmfs paths move to CVMFS_MOUNT_DIR."""
    assert expected == cvmfs_translate(path, mount)


@pytest.mark.parametrize(
    ("ref", "restrictions", "mount", "expected"),
    [
        pytest.param(EL9, "cvmfs", None, None, id="cvmfs-ok"),
        pytest.param(
            "/tmp/x.sif",
            "cvmfs",
            None,
            'image "/tmp/x.sif" is not under /cvmfs but SINGULARITY_IMAGE_RESTRICTIONS is "cvmfs"',
            id="local-not-cvmfs",
        ),
        pytest.param(
            "/cvmfs/../tmp/x",
            "cvmfs",
            None,
            'image "/cvmfs/../tmp/x" is not under /cvmfs but SINGULARITY_IMAGE_RESTRICTIONS is "cvmfs"',
            id="dotdot-escape",
        ),
        pytest.param(
            "file:///tmp/x",
            "cvmfs,remote",
            None,
            'image "file:///tmp/x" is not under /cvmfs but SINGULARITY_IMAGE_RESTRICTIONS is "cvmfs,remote"',
            id="file-uri-is-local",
        ),
        pytest.param("file:///cvmfs/a", "cvmfs", None, None, id="file-uri-cvmfs"),
        pytest.param("/mnt/cvmfs/a", "cvmfs", "/mnt/cvmfs", None, id="mount-dir-ok"),
        pytest.param(
            "/tmp/a",
            "cvmfs",
            "/mnt/cvmfs",
            'image "/tmp/a" is not under /cvmfs or CVMFS_MOUNT_DIR /mnt/cvmfs '
            'but SINGULARITY_IMAGE_RESTRICTIONS is "cvmfs"',
            id="mount-dir-named",
        ),
        pytest.param(
            "docker://alpine",
            "cvmfs",
            None,
            'image "docker://alpine" is remote, but SINGULARITY_IMAGE_RESTRICTIONS is "cvmfs" '
            '(add "remote" to allow it)',
            id="remote-refused",
        ),
        pytest.param("docker://alpine", "cvmfs,remote", None, None, id="remote-allowed"),
        pytest.param("/tmp/x.sif", "any", None, None, id="any-allows-local"),
        pytest.param("relative.sif", "remote", None, None, id="relative-without-cvmfs"),
        pytest.param(
            "docker://alpine",
            "any",
            None,
            'image "docker://alpine" is remote, but SINGULARITY_IMAGE_RESTRICTIONS is "(none)" '
            '(add "remote" to allow it)',
            id="any-refuses-remote",
        ),
    ],
)
def test_check_restrictions(ref, restrictions, mount, expected):
    """Restrictions apply to every image, the job's own included."""
    assert expected == check_restrictions(ref, parse_restrictions(restrictions), mount)


@pytest.mark.parametrize(
    ("ref", "expected"),
    [
        pytest.param(EL9, None, id="ok"),
        pytest.param("docker://a/b:1", None, id="uri-ok"),
        pytest.param("", "the image name is empty", id="empty"),
        pytest.param("-B/:/x", 'image "-B/:/x" starts with "-" and would be read as an option', id="dash"),
        pytest.param("/a\nb", "image '/a\\nb' contains the control character '\\n'", id="newline"),
        pytest.param("/a\x00b", "image '/a\\x00b' contains the control character '\\x00'", id="nul"),
        pytest.param("/a\udcffb", "image '/a\\udcffb' is not valid UTF-8", id="bad-utf8"),
        pytest.param("/a,b", 'image "/a,b" contains a comma', id="comma"),
        pytest.param("/a b", 'image "/a b" contains a space', id="space"),
        pytest.param("/cvmfs/../etc", 'image "/cvmfs/../etc" contains a ".." path component', id="dotdot"),
        pytest.param("/cvmfs/a..b", None, id="dots-in-name-ok"),
    ],
)
def test_image_syntax_problem(ref, expected):
    """Images that could be read as options or split are refused."""
    assert expected == image_syntax_problem(ref)


@pytest.mark.parametrize(
    ("ref", "expected"),
    [
        pytest.param("docker://alpine", "docker://docker.io/library/alpine:latest", id="short"),
        pytest.param("docker://atlas/athena:22", "docker://docker.io/atlas/athena:22", id="user"),
        pytest.param("docker://index.docker.io/atlas/x", "docker://docker.io/atlas/x:latest", id="index"),
        pytest.param("docker://ghcr.io/a/b", "docker://ghcr.io/a/b:latest", id="other-registry"),
        pytest.param("docker://localhost:5000/a", "docker://localhost:5000/a:latest", id="port"),
        pytest.param("docker://alpine@sha256:ab", "docker://docker.io/library/alpine@sha256:ab", id="digest"),
        pytest.param("DOCKER://alpine:3", "docker://docker.io/library/alpine:3", id="scheme-case"),
        pytest.param("oras://ghcr.io/a:1", "oras://ghcr.io/a:1", id="oras-unchanged"),
        pytest.param("file:///cvmfs//a/./b/../c", "/cvmfs/a/c", id="file"),
        pytest.param("file:/cvmfs/a", "/cvmfs/a", id="file-one-slash"),
        pytest.param("FILE://cvmfs/a", "/cvmfs/a", id="file-two-slashes"),
        pytest.param("/cvmfs/a/../b", "/cvmfs/b", id="path"),
    ],
)
def test_normalize_image_ref(ref, expected):
    """References are compared in one canonical form."""
    assert expected == normalize_image_ref(ref)


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        pytest.param("/", "/", id="root"),
        pytest.param("/..", "/", id="above-root"),
        pytest.param("a/../..", "..", id="relative-above"),
        pytest.param("", ".", id="empty"),
        pytest.param("//a//b/", "/a/b", id="slashes"),
    ],
)
def test_normalize_path(path, expected):
    """Paths are normalized as text."""
    assert expected == normalize_path(path)
