"""The word lists of ``words.json``: reporting verbs, titles and roles, words of organizations and outlets."""

from __future__ import annotations

import json
from pathlib import Path

from service.domain.titles import ENGLISH_WORDS

_LISTS = json.loads(Path(__file__).with_name("words.json").read_text(encoding="utf-8"))
WORDS: dict[str, frozenset[str]] = {name: frozenset(words) for name, words in _LISTS.items() if name != "about"}
# Titles and roles are the service's own, so that extraction and the claim rules know the same ones.
WORDS["titles"] = ENGLISH_WORDS


def is_place(name: str) -> bool:
    """Whether a name is a country, a US state or a capital standing for its government ("Russia")."""
    return name.lower().removeprefix("the ") in WORDS["places"]


def kind_of(name: str) -> str:
    """Person, organization or outlet, guessed from the words of a name; a place speaks as an organization."""
    words = {w.lower().strip(".,") for w in name.split()}
    if words & WORDS["outlet_words"]:
        return "outlet"
    if words & WORDS["organization_words"] or is_place(name):
        return "organization"
    return "person"
