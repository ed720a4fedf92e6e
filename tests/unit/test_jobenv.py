"""The job's environment as HTCondor 23.9's starter reads it (jobenv): V2, V1 with any delimiter, the
precedence between them. Rows follow ``src/condor_utils/env.cpp`` and ``condor_arglist.cpp``; the
differential test in the real pool (tests/integration/test_jobenv_differential.py) checks the same
reading against the starter itself."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from glidein_singularity.classad import parse_ad
from glidein_singularity.jobenv import (
    NO_VALUE,
    EnvSyntaxError,
    format_v2,
    parse_v1,
    parse_v2,
    read_job_environment,
    starter_owned,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("", [], id="empty"),
        pytest.param("A=1 B=2", [("A", "1"), ("B", "2")], id="blanks"),
        pytest.param(" \tA=1\r\nB=2 ", [("A", "1"), ("B", "2")], id="all-blank-kinds"),
        pytest.param("A='x y' B='it''s'", [("A", "x y"), ("B", "it's")], id="quotes"),
        pytest.param("LD_PRE''LOAD=x", [("LD_PRELOAD", "x")], id="empty-quotes-join"),
        pytest.param("'A B=1'", [("A B", "1")], id="quoted-name"),
        pytest.param("A=1=2", [("A", "1=2")], id="first-equals"),
        pytest.param("A=", [("A", "")], id="empty-value"),
        pytest.param('A="x"', [("A", '"x"')], id="double-quotes-are-text"),
        pytest.param("$$(X) Y=1", [("$$(X)", NO_VALUE), ("Y", "1")], id="dollar-dollar-verbatim"),
        pytest.param("A=1 A=2", [("A", "1"), ("A", "2")], id="repeated"),
        pytest.param("A=1\x00B=2", [("A", "1")], id="nul-ends"),
        pytest.param("A=''''", [("A", "'")], id="quote-of-quote"),
    ],
)
def test_v2(text, expected):
    """V2 words: split_args quoting, each word split at its first '='."""
    assert expected == parse_v2(text)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("A='x", "unbalanced quote starting here: 'x", id="unbalanced"),
        pytest.param("NOVALUE", "missing '=' after the environment variable 'NOVALUE'", id="no-equals"),
        pytest.param("=1", "missing variable name in '=1'", id="no-name"),
    ],
)
def test_v2_errors(text, message):
    """What the starter refuses (it would not start the job)."""
    with pytest.raises(EnvSyntaxError) as info:
        parse_v2(text)
    assert message == str(info.value)


@pytest.mark.parametrize(
    ("text", "delim", "expected"),
    [
        pytest.param("A=1;B=2", None, [("A", "1"), ("B", "2")], id="default-semicolon"),
        pytest.param(
            "FOOQ=1ZAPPTAINER_BIND=/:/host", "Z", [("FOOQ", "1"), ("APPTAINER_BIND", "/:/host")], id="letter"
        ),
        pytest.param("X=17PATH=/e", "7", [("X", "1"), ("PATH", "/e")], id="digit"),
        pytest.param("|A=1|B=2", None, [("A", "1"), ("B", "2")], id="auto-delimiter"),
        pytest.param("|A=1;B=2", ";", [("A", "1;B=2")], id="auto-delimiter-wins-over-envdelim"),
        pytest.param(";A=1;B=2", ";", [("A", "1"), ("B", "2")], id="leading-delimiter"),
        pytest.param("ZA=1ZB=2", "Z", [("A", "1"), ("B", "2")], id="leading-letter-delimiter"),
        pytest.param("  A=1 ; B = 2 ;;", None, [("A", "1 "), ("B ", " 2 ")], id="leading-blanks-only"),
        pytest.param("A=1\nB=2", "Z", [("A", "1"), ("B", "2")], id="newline-always"),
        pytest.param("A=1éB=2", "é", [("A", "1"), ("\udca9B", "2")], id="multibyte-first-byte"),
        pytest.param("A=1", "", [("A", "1")], id="empty-delim-default"),
        pytest.param("A=1;$$(X)", None, [("A", "1"), ("$$(X)", NO_VALUE)], id="dollar-dollar"),
        pytest.param("A=1 B=2", " ", [("A", "1"), ("B", "2")], id="blank-delimiter"),
    ],
)
def test_v1(text, delim, expected):
    """V1 entries: the first byte of EnvDelim (whatever it is) or a leading permitted delimiter."""
    assert expected == parse_v1(text, delim)


def test_v1_equals_delimiter_is_an_error():
    """With '=' as delimiter no entry has a '=': the starter refuses the job."""
    with pytest.raises(EnvSyntaxError, match="missing '=' after the environment variable 'A'"):
        parse_v1("A=1", "=")


@pytest.mark.parametrize(
    ("ad", "values", "source", "problem"),
    [
        pytest.param('Environment = "A=1"\nEnv = "B=2"\n', {"A": "1"}, "Environment", None, id="v2-wins"),
        pytest.param('Environment = ""\nEnv = "B=2"\n', {}, "Environment", None, id="empty-v2-wins"),
        pytest.param('Environment = undefined\nEnv = "B=2"\n', {"B": "2"}, "Env", None, id="undefined-v2"),
        pytest.param('Environment = 5\nEnv = "B=2"\n', {"B": "2"}, "Env", None, id="non-string-v2"),
        pytest.param('Env = "B=2"\nEnvDelim = 7\n', {"B": "2"}, "Env", None, id="non-string-delim"),
        pytest.param("", {}, "", None, id="none"),
        pytest.param(
            'Environment = strcat("A=", "1")\n',
            {},
            "",
            'the job\'s Environment is the expression strcat("A=", "1"), which cannot be evaluated here as '
            "HTCondor would",
            id="expression",
        ),
        pytest.param(
            'Env = "A=1"\nEnvDelim = strcat("Z")\n',
            {},
            "",
            'the job\'s EnvDelim is the expression strcat("Z"), which cannot be evaluated here',
            id="expression-delim",
        ),
        pytest.param(
            'Environment = "A=\'x"\n',
            {},
            "Environment",
            "the job's Environment cannot be read: unbalanced quote starting here: 'x (HTCondor would not "
            "start the job)",
            id="unreadable",
        ),
    ],
)
def test_read_job_environment(ad, values, source, problem):
    """Precedence: Environment when it is a string, else Env; expressions cannot be read without the
    bindings (the wrapper refuses such jobs)."""
    reading = read_job_environment(parse_ad(ad))
    assert (values, source, problem) == (reading.values, reading.source, reading.problem)


def test_expanded_and_disagreement():
    """The scratch-directory marker is expanded; starter-owned names may differ, others may not."""
    reading = read_job_environment(parse_ad('Environment = "D=#CoNdOrScRaTcHdIr#/in TMPDIR=/x F=1"\n'))
    assert {"D": "/s/in", "TMPDIR": "/x", "F": "1"} == reading.expanded("/s")
    assert ["F"] == reading.disagreement({"D": "/s/in", "TMPDIR": "/s", "F": "2"}, "/s")
    assert starter_owned("_CONDOR_JOB_AD")
    assert starter_owned("TMPDIR")
    assert not starter_owned("PATH")


NAMES = st.text(st.characters(blacklist_characters="=\x00", blacklist_categories=("Cs",)), min_size=1)
VALUES = st.text(st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(NAMES, VALUES), max_size=6))
def test_format_v2_round_trips(entries):
    """What the prepare-job hook writes, the starter (parse_v2) reads back exactly."""
    assert entries == parse_v2(format_v2(entries))


def test_format_v2_refuses_what_v2_cannot_carry():
    """A NUL, or a name with '=', cannot be written."""
    for entries in ([("A", "x\x00")], [("A=B", "1")], [("", "1")]):
        with pytest.raises(EnvSyntaxError):
            format_v2(entries)
