"""Hypothesis properties of the ClassAd literal parser."""

from hypothesis import given
from hypothesis import strategies as st

from glidein_singularity.classad import ERROR, UNDEFINED, Ad, Expr, format_literal, parse_ad, parse_literal

LEGAL = (str, bool, int, float, tuple, Expr, type(UNDEFINED), type(ERROR))


def _legal(value):
    if isinstance(value, tuple):
        return all(_legal(item) for item in value)
    return isinstance(value, LEGAL)


@given(st.text())
def test_parse_ad_never_crashes(text):
    """Any text gives an Ad whose values are all legal literals or Expr."""
    ad = parse_ad(text)
    assert isinstance(ad, Ad)
    assert all(_legal(value) for value in ad.values())


@given(st.lists(st.sampled_from(['"', "\\", "{", "}", ",", " ", "1", ".", "e", "-", "true", "x", "=", "\n"])))
def test_parse_ad_never_crashes_on_tricky_pieces(pieces):
    """Quote, backslash, brace and number fragments never crash the parser."""
    text = "A = " + "".join(pieces)
    assert all(_legal(value) for value in parse_ad(text).values())


@given(st.text())
def test_parse_literal_is_total(text):
    """parse_literal always answers a legal value."""
    assert _legal(parse_literal(text))


SAFE_TEXT = st.text(st.characters(blacklist_characters="\\\n\r\x00", blacklist_categories=("Cs", "Cc")))
LITERALS = st.recursive(
    st.one_of(
        SAFE_TEXT,
        st.booleans(),
        st.integers(min_value=-(2**63), max_value=2**63 - 1),
        st.floats(allow_nan=False, allow_infinity=False),
    ),
    lambda inner: st.lists(inner, max_size=4).map(tuple),
    max_leaves=8,
)


@given(LITERALS)
def test_format_then_parse_round_trip(value):
    """A literal without backslashes or control characters reads back unchanged."""
    assert value == parse_literal(format_literal(value))
