"""Titles and roles around a person's name, as the news writes them ("President Muhammadu Buhari",
"Pentagon spokesman Patrick Ryder", "the governor of Sevastopol, Mikhail Razvozhayev"): the name
without them, the role they give and the organization they name.

The words are data (``titles.json``: English, Russian and Ukrainian in Cyrillic and transliterated,
French, German, Spanish). A title is recognised only as a run of those words that holds at least one
title (not only modifiers such as "foreign" or "former") at the start of a name, possibly after the
organization it belongs to, or after a comma; and only where a name is left. A name that is only a
title ("the spokesman") is left whole.
"""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path
from typing import NamedTuple

from service.domain.names import fold

_DATA = json.loads(Path(__file__).with_name("titles.json").read_text(encoding="utf-8"))
LANGUAGES = tuple(language for language in _DATA if language != "about")
ENGLISH_WORDS = frozenset(_DATA["en"]["titles"] + _DATA["en"]["modifiers"])
"""The English titles and modifiers as written (lower case): what the extraction model reads speakers with."""


def _folded(kind: str) -> frozenset[str]:
    return frozenset(fold(word).replace(" ", "") for language in LANGUAGES for word in _DATA[language][kind])


TITLES = _folded("titles")
MODIFIERS = _folded("modifiers")
HONORIFICS = _folded("honorifics")
# Words joining a role to its organization: "governor of Sevastopol", "spokesman for the NSC".
_LINKS = frozenset({"of", "for", "at", "the", "de", "du", "des", "la", "le", "del", "der"})
_LEADING_ARTICLES = frozenset({"the", "le", "la", "el", "der", "die"})
# How many words of an organization may stand before its role ("Pentagon", "Russian Defence Ministry").
_MOST_ORGANIZATION_WORDS = 3


class Titled(NamedTuple):
    """A name as written, split: the name alone ("" when only titles were written), the role, the organization."""

    name: str
    role: str | None
    organization: str | None


def _key(word: str) -> str:
    return fold(word).replace(" ", "")


def _title_run(words: list[str], start: int) -> int:
    """The end of the run of title words from ``start`` (``start`` itself when there is none, or when
    the run holds only modifiers)."""
    end = start
    while end < len(words) and (_key(words[end]) in TITLES or _key(words[end]) in MODIFIERS):
        end += 1
    if not any(_key(word) in TITLES for word in words[start:end]):
        return start
    return end


def _first_title_run(words: list[str]) -> tuple[list[str], int, int] | None:
    """``words`` without a leading article, and where in them the first run of titles starts and ends
    (after at most a few words of its organization); None without one."""
    if words and _key(words[0]) in _LEADING_ARTICLES:
        words = words[1:]
    for start in range(min(len(words), _MOST_ORGANIZATION_WORDS + 1)):
        end = _title_run(words, start)
        if end > start:
            return words, start, end
    return None


def _role(words: list[str]) -> tuple[str | None, str | None] | None:
    """A phrase that is only a role: "[organization] title..." or "title... of|for|at organization"."""
    if (found := _first_title_run(words)) is None:
        return None
    words, start, end = found
    role = _as_role(words[start:end])
    before, after = words[:start], words[end:]
    if before and after:
        return None
    if after:
        if _key(after[0]) not in _LINKS or len(after) < 2:
            return None
        organization = " ".join(w for w in after[1:] if _key(w) not in _LEADING_ARTICLES or w[:1].isupper())
        return role, organization.strip(" ,") or None
    return role, " ".join(before) or None


def _as_role(run: list[str]) -> str | None:
    """A run of titles as a role: lower case, without honorifics (Mr., Dr. are no role)."""
    role = " ".join(word.lower() for word in run if _key(word) not in HONORIFICS)
    return role or None


@functools.lru_cache(maxsize=1 << 14)
def split(written: str) -> Titled:
    """``written`` as a name, a role and an organization; the name is ``written`` itself when no title is found."""
    text = re.sub(r"\s+", " ", written).strip()
    head, comma, tail = text.partition(",")
    if comma:
        head, tail = head.strip(), tail.strip()
        if tail and (found := _role(head.split())) is not None:  # "the governor of Sevastopol, Mikhail Razvozhayev"
            return Titled(tail, found[0], found[1])
        if head and (found := _role(tail.split())) is not None:  # "Patrick Ryder, Pentagon spokesman"
            return Titled(head, found[0], found[1])
        return Titled(text, None, None)
    if (run := _first_title_run(text.split())) is None:
        return Titled(text, None, None)
    words, start, end = run
    if end == len(words):
        return Titled("", _as_role(words[start:end]), " ".join(words[:start]) or None)  # only a title
    name = words[end:]
    if not all(word[:1].isupper() or not word[:1].isalpha() for word in name):
        return Titled(text, None, None)  # what follows is not a name
    return Titled(" ".join(name), _as_role(words[start:end]), " ".join(words[:start]) or None)
