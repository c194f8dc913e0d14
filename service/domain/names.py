"""Name and text keys: the folded forms that matching compares.

PostgreSQL here has no ``unaccent``, so folding happens in Python before anything is stored or
queried: case folded, accents stripped, punctuation and runs of white space turned into one space.
"""

from __future__ import annotations

import re
import unicodedata

_SEPARATORS = re.compile(r"[\W_]+", re.UNICODE)
# Letters that do not decompose into a base letter and a combining mark.
_SPECIAL_LETTERS = str.maketrans(
    {"ß": "ss", "æ": "ae", "œ": "oe", "ø": "o", "đ": "d", "ð": "d", "þ": "th", "ł": "l", "ı": "i"}  # noqa: RUF001
)


def fold(text: str) -> str:
    """Fold ``text`` to lower case ASCII-ish words separated by single spaces."""
    decomposed = unicodedata.normalize("NFKD", text.casefold().translate(_SPECIAL_LETTERS))
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    # Apostrophes join, they do not separate: "Kyiv's" -> "kyivs", "O'Brien" -> "obrien".
    stripped = stripped.replace("'", "").replace("\u2019", "")
    words = _SEPARATORS.sub(" ", stripped).split()
    return " ".join(_join_initials(words))


def _join_initials(words: list[str]) -> list[str]:
    """Runs of single letters are one word: "U.S." and "US", "A.R." and "AR" fold alike."""
    joined: list[str] = []
    run = ""
    for word in words:
        if len(word) == 1 and word.isalpha():
            run += word
            continue
        if run:
            joined.append(run)
            run = ""
        joined.append(word)
    if run:
        joined.append(run)
    return joined


def name_key(name: str) -> str:
    """The key under which a source name or alias is matched."""
    return fold(name)
