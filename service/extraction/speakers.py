"""Who a source span names: its name, the role and organization around it, or an unnamed speaker.

"Pentagon spokesman Patrick Ryder" is the name Patrick Ryder, the role spokesman and the
organization Pentagon; "a spokesman for the National Security Council who declined to be named" is
an unnamed speaker, role spokesman, of the National Security Council; "Pentagon sources" unnamed
speakers of the Pentagon. A pronoun ("he"), a role alone ("the minister") or a surname alone
("Ryder") refers to a speaker named before: ``Coreference`` keeps the article's speakers in order
and answers with the last one that fits.

The split reads the parse: the span's head (the token whose own head lies outside it) is a proper
noun for a named speaker, a common noun for an unnamed one; proper nouns in front of a role noun
are the organization.
"""

from __future__ import annotations

from collections.abc import Container
from dataclasses import dataclass, replace

from spacy.tokens import Span, Token

from service.extraction.words import WORDS, kind_of

PRONOUNS = {
    "he": "person",
    "she": "person",
    "him": "person",
    "her": "person",
    "they": "group",
    "them": "group",
    "it": "organization",
}
FIRST_PERSON = frozenset({"i", "we", "me", "us", "my", "our"})
# Words before a name that say what the person is, not who: titles and honorifics.
TITLES = WORDS["titles"]
ORGANIZATION_WORDS = WORDS["organization_words"]
OUTLET_WORDS = WORDS["outlet_words"]
# Nouns that describe one person: "the New York billionaire" refers back to someone named.
PERSON_NOUNS = WORDS["person_nouns"]
NAME_TAGS = frozenset({"NNP", "NNPS"})
QUANTIFIERS = frozenset({"many", "some", "several", "most", "few", "other", "others", "both", "all", "more"})
COMMON_TAGS = frozenset({"NN", "NNS"})


@dataclass(frozen=True)
class Speaker:
    """Who a source span names (``name``), or describes when ``anonymous``, and what more it says."""

    name: str
    kind: str  # person, organization, outlet, anonymous
    role: str | None = None
    organization: str | None = None
    anonymous: bool = False
    # How it was found: in the span itself, or from an earlier mention ("coreference").
    via: str = "span"


def _trim(tokens: list[Token]) -> list[Token]:
    """Without leading determiners and possessives, trailing punctuation, or a relative clause."""
    cut: list[Token] = []
    for token in tokens:
        if token.lower_ in {"who", "which", "that", ",", "("} and cut:
            break
        cut.append(token)
    while cut and (cut[0].tag_ in {"DT", "PRP$", "POS"} or cut[0].is_punct):
        cut = cut[1:]
    while cut and (cut[-1].is_punct or cut[-1].tag_ == "POS"):
        cut = cut[:-1]
    return cut


def _text(tokens: list[Token]) -> str:
    if not tokens:
        return ""
    doc = tokens[0].doc
    return doc[tokens[0].i : tokens[-1].i + 1].text


def _capitalized(token: Token, inflected: Container[str]) -> bool:
    """Whether a token is written as part of a name: capitalized, and not a common word opening the sentence."""
    if not (token.text[:1].isupper() and any(c.isalpha() for c in token.text)):
        return False
    if token.is_sent_start and token.tag_ not in NAME_TAGS:
        # Opening a sentence, a capital says nothing: a noun the tagger did not call proper is a name only
        # if it is no common word ("Hina" may be tagged NN; "Officials", "Many", "Fifty" are not names),
        # an adjective only before a name ("Russian Foreign Ministry").
        if token.tag_ == "JJ" and token.lower_ not in QUANTIFIERS and token.i + 1 < len(token.doc):
            return token.nbor().text[:1].isupper()
        return token.tag_ in COMMON_TAGS and token.lower_ not in inflected and token.lower_ not in TITLES
    return True


def _name_part(token: Token, inflected: Container[str]) -> bool:
    return _capitalized(token, inflected) and token.lower_ not in TITLES


def read(span: Span, inflected: Container[str] = frozenset()) -> Speaker | str | None:
    """The speaker a source span names; a pronoun's kind (``"person"``, ...) when it only refers; None for "I".

    ``inflected``: common English words in an inflected form ("officials"), which opening a sentence
    are not names for being capitalized.
    """
    tokens = _trim(list(span))
    if not tokens:
        return None
    if len(tokens) == 1 and tokens[0].lower_ in FIRST_PERSON:
        return None
    if len(tokens) == 1 and tokens[0].lower_ in PRONOUNS:
        return PRONOUNS[tokens[0].lower_]
    # "a spokesman for the National Security Council": the organization follows "for", "of", "at".
    # "Sen. Susan Collins of Maine": the speaker before it. But "Former Secretary of State ... Hillary
    # Clinton" names her at its end: a title before "of" and a name at the end keep the span whole.
    organization = None
    for i, token in enumerate(tokens):
        if token.lower_ in {"for", "of", "at", "from", "with"} and i > 0:
            after = _trim(tokens[i + 1 :])
            titled = tokens[i - 1].lower_ in TITLES and tokens[i - 1].is_title and _name_part(tokens[-1], inflected)
            if after and any(_capitalized(t, inflected) for t in after) and not titled:
                organization = _text(after)
                tokens = tokens[:i]
            break
    head = tokens[-1]
    words = {t.lower_.strip(".") for t in tokens}
    if len(tokens) == 1 and head.tag_ in {"NNPS", "NNS"} and head.lower_ not in OUTLET_WORDS:
        # "Republicans", "Democrats": a group, not someone named.
        return Speaker(name=head.text, kind="anonymous", anonymous=True)
    if _name_part(head, inflected):
        institutional = ORGANIZATION_WORDS | OUTLET_WORDS
        all_names = all(_capitalized(t, inflected) or not t.is_alpha or t.tag_ in {"IN", "CC"} for t in tokens)
        if head.lower_.strip(".") in institutional or (all_names and words & institutional and not words & TITLES):
            # "the Russian Defense Ministry", "The Washington Post": the whole is the name.
            start = next(i for i, t in enumerate(tokens) if _capitalized(t, inflected))
            name = _text(tokens[start:])
            return Speaker(name=name, kind=kind_of(name))
        # A person (or a one-word outlet): the last run of name words; titles and roles before it.
        first = len(tokens) - 1
        while first > 0 and (_name_part(tokens[first - 1], inflected) or tokens[first - 1].text in {"-", "."}):
            first -= 1
        name = _text(tokens[first:])
        before = [t for t in tokens[:first] if t.tag_ not in {"DT", "PRP$", "POS"} and not t.is_punct]
        # The role: the run of titles and common words just before the name; the organization before it.
        start = len(before)
        while start > 0 and (before[start - 1].lower_ in TITLES or not _capitalized(before[start - 1], inflected)):
            start -= 1
        role_tokens = before[start:]
        org_tokens = [t for t in before[:start] if _capitalized(t, inflected)]
        if organization is None and org_tokens and role_tokens:
            organization = _text(org_tokens)
        role = " ".join(t.text for t in role_tokens if t.tag_ != "IN") or None
        return Speaker(name=name, kind=kind_of(name), role=role.lower() if role else None, organization=organization)
    if head.lower_ in ORGANIZATION_WORDS and not any(_capitalized(t, inflected) for t in tokens):
        # "the ministry", "the campaign": an organization named before (``Coreference``).
        return Speaker(name=head.lower_, kind="organization", via="descriptor")
    # Unnamed: a common noun ("officials", "sources", "the spokesman"), perhaps of an organization.
    if organization is None:
        named = [t for t in tokens[:-1] if _name_part(t, inflected)]
        if named:
            organization = _text(named)
    role = head.lower_ if head.lower_ in TITLES else None
    text = _text(_trim(list(span)))
    return Speaker(name=text, kind="anonymous", role=role, organization=organization, anonymous=True)


class Coreference:
    """The article's named speakers in the order they were met, for pronouns, roles and surnames to refer to."""

    def __init__(self, inflected: Container[str] = frozenset()) -> None:
        self.seen: list[Speaker] = []
        self.inflected = inflected

    def resolve(self, span: Span) -> Speaker | None:
        """The speaker a source span means, looking back when it only refers; None when nothing fits."""
        antecedent = _antecedent(span)
        if antecedent is not None:
            return self.resolve(antecedent)
        found = read(span, self.inflected)
        if found is None:
            return None
        if isinstance(found, str):
            for earlier in reversed(self.seen):
                if found == "group" and earlier.anonymous:
                    return replace(earlier, via="coreference")
                if found == earlier.kind or (found == "organization" and earlier.kind == "outlet"):
                    return replace(earlier, via="coreference")
            return None
        if found.via == "descriptor":
            for earlier in reversed(self.seen):
                if earlier.kind in {"organization", "outlet"} and found.name in earlier.name.lower():
                    return replace(earlier, via="coreference")
            return Speaker(name=found.name, kind="anonymous", anonymous=True)
        if found.anonymous and found.role and not found.organization:
            # "the minister", "the spokesman": the last named speaker who holds that role.
            for earlier in reversed(self.seen):
                if not earlier.anonymous and earlier.role and found.role.split()[-1] in earlier.role.split():
                    return replace(earlier, via="coreference")
        if found.anonymous and _definite_singular(span):
            # "the Russian leader", "the New York billionaire": news names a person, then describes them.
            for earlier in reversed(self.seen):
                if earlier.kind == "person" and not earlier.anonymous:
                    return replace(earlier, via="coreference")
        if not found.anonymous and found.kind == "person" and " " not in found.name:
            # A surname alone: the last person whose name ends with it.
            for earlier in reversed(self.seen):
                if earlier.kind == "person" and earlier.name.split()[-1].lower() == found.name.lower():
                    return replace(earlier, via="coreference", role=found.role or earlier.role)
        self.seen.append(found)
        return found


def _antecedent(span: Span) -> Span | None:
    """For a relative pronoun ("who said"), the noun phrase it stands for, as the parse attaches it."""
    if len(span) != 1 or span[0].lower_ not in {"who", "which", "that"}:
        return None
    clause = span[0].head
    if not clause.dep_.startswith("acl") or clause.head.i >= span[0].i:
        return None
    noun = clause.head
    return noun.doc[noun.left_edge.i : noun.i + 1]


def _definite_singular(span: Span) -> bool:
    """Whether a source is a definite description of one person ("the Russian leader")."""
    words = [t for t in span if not t.is_punct]
    return len(words) >= 2 and words[0].lower_ == "the" and words[-1].lower_ in PERSON_NOUNS
