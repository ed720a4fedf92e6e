"""HTCondor's quoted words, both ways: what ``join_args``/``v2_quoted`` write, ``split_args`` (HTCondor's
reading, differentially tested against the real starter in tests/integration/test_jobenv_differential.py)
reads back word for word."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from glidein_singularity.condor_words import join_args, quote_word, split_args, v2_quoted


def v2_unquote(text: str) -> str:
    """``ArgList::V2QuotedToV2Raw``: drop the enclosing double quotes, "" is one double quote."""
    assert text.startswith('"')
    assert text.endswith('"')
    return text[1:-1].replace('""', '"')


WORDS = st.lists(st.text(st.characters(blacklist_characters="\x00"), max_size=12), max_size=6)


@given(WORDS)
def test_join_args_round_trips(words: list[str]) -> None:
    assert words == split_args(join_args(words))


@given(WORDS.filter(bool))
def test_v2_quoted_round_trips(words: list[str]) -> None:
    assert words == split_args(v2_unquote(v2_quoted(words)))


@pytest.mark.parametrize(
    ("word", "written"),
    [
        ("plain", "plain"),
        ("", "''"),
        ("a b", "'a b'"),
        ("it's", "'it''s'"),
        ('say "hi"', "'say \"hi\"'"),
        ("tab\there", "'tab\there'"),
    ],
)
def test_quote_word(word: str, written: str) -> None:
    assert written == quote_word(word)


def test_no_words_is_the_empty_string_and_a_nul_cannot_be_written() -> None:
    assert "" == v2_quoted([])
    with pytest.raises(ValueError, match="NUL"):
        join_args(["a\x00b"])
