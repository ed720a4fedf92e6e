"""HTCondor's quoted words (pure, stdlib only): ``split_args`` of ``src/condor_utils/condor_arglist.cpp``.

The syntax of V2 ``Arguments`` and V2 ``Environment``: blank, tab, CR and LF separate words; a single
quote starts a quoted part in which ``''`` is one quote and blanks are kept; quotes only group, so
``a''b`` is the word ``ab``. A string ends at its first NUL (HTCondor's strings are C strings).

The writing side: ``quote_word`` quotes one word so ``split_args`` gives it back, ``join_args`` writes a
word list as V2 raw text, and ``v2_quoted`` wraps V2 raw text in double quotes (``""`` for a literal
one), the form ``ArgList::AppendArgsV1RawOrV2Quoted`` reads as V2 (a string that does not start with a
double quote would be read as V1, split at blanks with no quoting at all).
"""

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from typing import List

__all__ = ["BLANKS", "WordsError", "join_args", "quote_word", "split_args", "v2_quoted"]

#: What separates words outside quotes.
BLANKS = " \t\n\r"


class WordsError(ValueError):
    """Quoted words HTCondor cannot split (an unbalanced quote)."""


def split_args(text: str) -> "List[str]":
    """The words of ``text`` exactly as HTCondor's ``split_args`` gives them; WordsError where it fails."""
    end = text.find("\x00")
    if end >= 0:
        text = text[:end]
    words: List[str] = []
    word: List[str] = []
    started = False
    pos, end = 0, len(text)
    while pos < end:
        char = text[pos]
        if char == "'":
            started = True
            close = pos + 1
            while True:
                close = text.find("'", close)
                if close < 0:
                    msg = "unbalanced quote starting here: {}".format(text[pos:])
                    raise WordsError(msg)
                if close + 1 < end and text[close + 1] == "'":
                    word.append(text[pos + 1 : close + 1])
                    pos = close + 1
                    close += 2
                    continue
                word.append(text[pos + 1 : close])
                pos = close + 1
                break
            continue
        if char in BLANKS:
            if started:
                words.append("".join(word))
                word, started = [], False
        else:
            word.append(char)
            started = True
        pos += 1
    if started:
        words.append("".join(word))
    return words


def quote_word(word: str) -> str:
    """``word`` as one V2 word: as is when it has no blank and no quote, else in single quotes."""
    if word and not any(char in word for char in BLANKS + "'"):
        return word
    return "'" + word.replace("'", "''") + "'"


def join_args(words: "List[str]") -> str:
    """V2 raw text that ``split_args`` splits back into ``words``; ValueError for a word with a NUL."""
    if any("\x00" in word for word in words):
        msg = "a NUL cannot be written in HTCondor's quoted words: {!r}".format(words)
        raise ValueError(msg)
    return " ".join(quote_word(word) for word in words)


def v2_quoted(words: "List[str]") -> str:
    """The double-quoted V2 form of ``words`` ("" when there are none)."""
    if not words:
        return ""
    return '"' + join_args(words).replace('"', '""') + '"'
