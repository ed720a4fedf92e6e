"""Tables for the exact old-ClassAd literal parser, the Ad mapping and format_literal."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from glidein_singularity.classad import (
    ERROR,
    UNDEFINED,
    Ad,
    Expr,
    format_literal,
    format_old_literal,
    parse_ad,
    parse_literal,
)
from glidein_singularity.errors import ConfigError


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param('"abc"', "abc", id="string"),
        pytest.param('""', "", id="empty-string"),
        pytest.param('"a\\b"', "a\\b", id="backslash-literal"),
        pytest.param('"a\\nb"', "a\\nb", id="no-new-escapes"),
        pytest.param('"a\\"b"', 'a"b', id="escaped-quote"),
        pytest.param('"a\\"', "a\\", id="backslash-before-final-quote"),
        pytest.param('"\\"', "\\", id="lone-backslash"),
        pytest.param('"a\\"b\\""', 'a"b"', id="escaped-then-final"),
        pytest.param('"a"  ', "a", id="trailing-blanks"),
        pytest.param('"ünï"', "ünï", id="utf8"),
        pytest.param("true", True, id="true"),
        pytest.param("FALSE", False, id="false-upper"),
        pytest.param("TrUe", True, id="mixed-case"),
        pytest.param("undefined", UNDEFINED, id="undefined"),
        pytest.param("ERROR", ERROR, id="error"),
        pytest.param("42", 42, id="int"),
        pytest.param("-3", -3, id="negative"),
        pytest.param("+4", 4, id="plus"),
        pytest.param("0", 0, id="zero"),
        pytest.param("1.5", 1.5, id="real"),
        pytest.param(".5e-1", 0.05, id="real-exp"),
        pytest.param("1e3", 1000.0, id="exp-only"),
        pytest.param("-2.5E-3", -0.0025, id="negative-real"),
        pytest.param('real("INF")', float("inf"), id="inf"),
        pytest.param('-real("INF")', float("-inf"), id="minus-inf"),
        pytest.param("{ }", (), id="empty-list"),
        pytest.param('{ 1, "a", { 2, true }, undefined }', (1, "a", (2, True), UNDEFINED), id="nested-list"),
        pytest.param("  7\r", 7, id="blanks-and-cr"),
    ],
)
def test_literals(text, expected):
    """Literals are read exactly as HTCondor's old-syntax parser reads them."""
    assert expected == parse_literal(text)


@pytest.mark.parametrize(
    "text",
    [
        pytest.param('"a\\"  ', id="escaped-quote-then-blanks-unterminated"),
        pytest.param('"unterminated', id="unterminated"),
        pytest.param('"a" + "b"', id="string-expression"),
        pytest.param('"a"x', id="garbage-after-string"),
        pytest.param("010", id="leading-zero"),
        pytest.param("0x10", id="hex"),
        pytest.param("1.", id="dot-without-fraction"),
        pytest.param("5.E2", id="dot-exp"),
        pytest.param("1.5e", id="empty-exponent"),
        pytest.param("99999999999999999999", id="int-overflow"),
        pytest.param("- 3", id="spaced-sign"),
        pytest.param("1_000", id="underscore"),
        pytest.param("TARGET.x == 1", id="expression"),
        pytest.param("inf", id="attribute-reference"),
        pytest.param("{1,}", id="trailing-comma"),
        pytest.param("{ 1 ", id="unclosed-list"),
        pytest.param("{ x }", id="list-of-reference"),
        pytest.param("", id="empty"),
    ],
)
def test_non_literals_are_expr(text):
    """Anything that is not exactly a literal is kept as an unknown Expr."""
    assert Expr(text.strip()) == parse_literal(text)


def test_parse_ad_case_insensitive_last_wins():
    """Names are case-insensitive and a repeated name keeps its last value, with a warning."""
    ad = parse_ad('HAS_SINGULARITY = true\nSingularityImage = "/a"\nsingularityimage = "/b"\n')
    assert ad["has_singularity"] is True
    assert ad["SINGULARITYIMAGE"] == "/b"
    assert ad.warnings == ("line 3: singularityimage repeated; the last value wins",)
    assert len(ad) == 2


def test_parse_ad_skips_garbage_lines():
    """Lines that are not Name = value are skipped and recorded with their line number."""
    ad = parse_ad('A = 1\ngarbage line\n9x = 2\n= 3\n# comment\n\nB = "x"\n')
    assert dict(ad.items()) == {"A": 1, "B": "x"}
    expected = (
        "line 2: not 'Name = value', skipped: 'garbage line'",
        "line 3: bad attribute name, skipped: '9x = 2'",
        "line 4: bad attribute name, skipped: '= 3'",
    )
    assert expected == ad.warnings


def test_ad_mapping_behaviour():
    """An Ad answers like a read-only mapping."""
    ad = parse_ad('Cpus = 4\nName = "slot1@x"\n')
    assert "cpus" in ad
    assert "Memory" not in ad
    assert ad.get("Memory") is None
    assert ad.get("Memory", 7) == 7
    assert list(ad) == ["Cpus", "Name"]
    assert ad.raw("NAME") == ' "slot1@x"'
    with pytest.raises(KeyError):
        ad["Memory"]


def test_ad_evaluator_only_for_expressions():
    """The evaluator is called for Expr values only, once each."""
    calls = []

    def evaluator(ad, name, expr):
        calls.append((name, expr))
        return 5

    ad = parse_ad("A = 1\nB = A + 4\n", evaluator)
    assert (ad["A"], ad["B"], ad["b"]) == (1, 5, 5)
    assert calls == [("B", Expr("A + 4"))]


def test_ad_equality_by_text():
    """Two ads are equal when their attributes are written alike."""
    assert parse_ad("A = 1\n") == Ad({"a": " 1"})


def test_large_ad_parses_every_value():
    """A 500-attribute ad parses with every value read exactly (its speed is a benchmark's business:
    benchmarks/inbed/scale.py, not a timed test)."""
    text = "".join('Attr{0} = "value {0} \\"q\\""\nNum{0} = {0}\n'.format(i) for i in range(250))
    ad = parse_ad(text)
    assert len(ad) == 500
    assert ('value 7 "q"', 249) == (ad["Attr7"], ad["Num249"])


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("abc", '"abc"', id="string"),
        pytest.param('a"b\\c', '"a\\"b\\\\c"', id="quote-backslash"),
        pytest.param("a\nb\tc\x01", '"a\\nb\\tc\\001"', id="controls"),
        pytest.param("ünï", '"ünï"', id="utf8"),
        pytest.param(True, "true", id="true"),
        pytest.param(False, "false", id="false"),
        pytest.param(3, "3", id="int"),
        pytest.param(0.1, "0.1", id="float"),
        pytest.param(float("inf"), 'real("INF")', id="inf"),
        pytest.param(float("nan"), 'real("NaN")', id="nan"),
        pytest.param(None, "undefined", id="none"),
        pytest.param(UNDEFINED, "undefined", id="undefined"),
        pytest.param(ERROR, "error", id="error"),
        pytest.param((1, "a"), '{ 1, "a" }', id="list"),
        pytest.param((), "{ }", id="empty-list"),
        pytest.param(Expr("a + 1"), "a + 1", id="expr"),
    ],
)
def test_format_literal(value, expected):
    """Values are written with ClassAd escapes."""
    assert expected == format_literal(value)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        pytest.param("a\x00b", "cannot write a ClassAd string containing NUL: 'a\\x00b'", id="nul"),
        pytest.param(object, "cannot write <class 'object'> (type type) as a ClassAd literal", id="type"),
    ],
)
def test_format_literal_refuses(value, message):
    """Unwritable values raise ConfigError naming the value."""
    with pytest.raises(ConfigError) as info:
        format_literal(value)
    assert message == str(info.value)


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("plain", id="plain"),
        pytest.param('with "quotes" inside', id="quotes"),
        pytest.param(-17, id="int"),
        pytest.param(2.5, id="float"),
        pytest.param(True, id="bool"),
        pytest.param(("x", 1, (False,)), id="list"),
    ],
)
def test_format_then_parse_old_syntax(value):
    """Values without backslashes read back the same through the old-syntax parser."""
    assert value == parse_literal(format_literal(value))


# --- the old syntax of hook output -------------------------------------------------------------------

_OLD_TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00\r\n"), max_size=20)


@given(_OLD_TEXT)
def test_old_literal_round_trips_through_htcondors_old_parser(text: str) -> None:
    """What the prepare-job hook writes, HTCondor's old-syntax reader gives back exactly (backslashes,
    quotes, a trailing backslash: the new-syntax escapes would come back doubled)."""
    classad2 = pytest.importorskip("classad2")
    ad = classad2.parseOne("A = {}\nB = 1\n".format(format_old_literal(text)), classad2.ParserType.Old)
    assert (text, 1) == (ad["A"], ad["B"])
    assert text == parse_ad("A = {}\n".format(format_old_literal(text)))["A"]  # ours reads it alike


@pytest.mark.parametrize("text", ["a\nb", "a\rb", "a\x00b"])
def test_old_literal_refuses_what_a_line_cannot_hold(text: str) -> None:
    with pytest.raises(ConfigError, match="NUL, CR or LF"):
        format_old_literal(text)
