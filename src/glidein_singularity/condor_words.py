"""HTCondor's quoted words (pure, stdlib only): ``split_args`` of ``src/condor_utils/condor_arglist.cpp``.

The syntax of V2 ``Arguments`` and V2 ``Environment``: blank, tab, CR and LF separate words; a single
quote starts a quoted part in which ``''`` is one quote and blanks are kept; quotes only group, so
``a''b`` is the word ``ab``. A string ends at its first NUL (HTCondor's strings are C strings).
"""

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from typing import List

__all__ = ["BLANKS", "WordsError", "split_args"]

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
