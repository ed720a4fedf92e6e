"""Hypothesis properties of the image dictionary grammar and the OS intersection."""

from hypothesis import given
from hypothesis import strategies as st

from glidein_singularity.images import format_images_dict, intersect_os, parse_images_dict

KEYS = st.text(st.characters(blacklist_characters=",:\n\r\x00"), min_size=1).filter(
    lambda key: key == key.strip()
)
VALUES = st.text(st.characters(blacklist_characters=",\n\r\x00"))
OS_NAMES = st.sampled_from(["rhel6", "rhel7", "rhel8", "rhel9", "el10", "ubuntu22", "custom"])


@given(st.lists(st.tuples(KEYS, VALUES)))
def test_format_parse_round_trip(pairs):
    """A dictionary that formats and parses again is unchanged."""
    assert tuple(pairs) == parse_images_dict(format_images_dict(pairs)).entries


@given(st.lists(st.tuples(KEYS, VALUES)))
def test_last_value_wins(pairs):
    """get() answers the last value of a key (None when empty)."""
    images = parse_images_dict(format_images_dict(pairs))
    expected = {}
    for key, value in pairs:
        expected[key] = value
    assert {key: value or None for key, value in expected.items()} == {
        key: images.get(key) for key in expected
    }


@given(st.lists(OS_NAMES, unique=True, min_size=1), st.lists(OS_NAMES, unique=True, min_size=1))
def test_intersection_keeps_job_order_and_is_subset(entry, job):
    """The intersection is a subset of both lists, in the job's order of preference."""
    result = intersect_os(tuple(entry), tuple(job))
    assert set(result) <= set(entry) & set(job)
    assert list(result) == [name for name in job if name in entry]


@given(st.lists(OS_NAMES, unique=True, min_size=1))
def test_any_is_neutral(names):
    """'any' on one side gives the other side unchanged."""
    assert tuple(names) == intersect_os(("any",), tuple(names))
    assert tuple(names) == intersect_os(tuple(names), ("any",))
