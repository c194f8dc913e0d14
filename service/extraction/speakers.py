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

from service.extraction.words import WORDS, is_place, kind_of

PRONOUNS = {
    "he": "person",
    "she": "person",
    "him": "person",
    "her": "person",
    "they": "group",
    "them": "group",
    "it": "organization",
}
# "last week", "this month": with TIME_WORDS, a time, which never speaks.
TIME_MODIFIERS = frozenset({"last", "this", "next", "early", "late", "every", "each", "on", "in"})
FIRST_PERSON = frozenset({"i", "we", "me", "us", "my", "our"})
# "Nobody called him": unnamed, whoever it is.
INDEFINITE = frozenset(
    {"nobody", "no one", "everyone", "everybody", "someone", "somebody", "anyone", "anybody", "many", "most", "some"}
)
# "You say she caused it": anyone at all, no one the text can name.
SECOND_PERSON = frozenset({"you", "your"})
# Words before a name that say what the person is, not who: titles and honorifics.
TITLES = WORDS["titles"]
ORGANIZATION_WORDS = WORDS["organization_words"]
OUTLET_WORDS = WORDS["outlet_words"]
# Nouns that describe one person: "the New York billionaire" refers back to someone named.
PERSON_NOUNS = WORDS["person_nouns"]
# Nouns of one person left unnamed ("the employee"), whom a "he" or "she" right after means.
PERSON_WORDS = WORDS["person_words"] | PERSON_NOUNS | TITLES
# What an organization says through: "a poll from ...", "an FBI summary".
DOCUMENT_WORDS = WORDS["document_words"]
JOINING = frozenset({"of", "and", "&", "for", "on"})
TIME_WORDS = WORDS["time_words"]
NAME_TAGS = frozenset({"NNP", "NNPS"})
QUANTIFIERS = frozenset({"many", "some", "several", "most", "few", "other", "others", "both", "all", "more"})
COMMON_TAGS = frozenset({"NN", "NNS"})
# Words that open a clause, never a noun phrase.
CLAUSE_OPENINGS = ("VB", "MD", "TO", "WP", "WDT")
SUBJECTS = frozenset({"nsubj", "nsubj:pass"})
# How the words of one name hang together in the parse.
NAME_PARTS = frozenset({"flat", "compound", "fixed"})


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


def _clause(tokens: list[Token]) -> bool:
    """Whether words the tagger took for a source are a clause, which names no one: opening on a
    relative or a verb ("whatever he needs to"), or holding a copula ("It's classic Karl Rove", "at
    the event was from a young child") or a pronoun's verb ("He does and")."""
    if not tokens:
        return False
    if tokens[0].tag_.startswith(CLAUSE_OPENINGS):
        return True
    inside = {t.i for t in tokens}
    return any(
        t.dep_ in {"cop", "aux"} or (t.dep_ in SUBJECTS and t.tag_ == "PRP" and t.head.i in inside) for t in tokens
    )


def _after_setting(span: Span) -> Span:
    """A source span without the time or place that opens it before a comma ("This month in Iowa, Hillary
    Clinton"), which is where and when, not who."""
    comma = next((t for t in span if t.text == ","), None)
    if comma is None or comma.i + 1 >= span.end:
        return span
    if not any(t.lower_ in TIME_WORDS for t in span[: comma.i - span.start]):
        return span
    return span.doc[comma.i + 1 : span.end]


def _owned_name(tokens: list[Token], inflected: Container[str]) -> tuple[str, list[Token]] | None:
    """The organization and the name of "The Post's Abby Phillip", "Gallup's Jeffrey M. Jones": a name
    after a possessive is the speaker, the possessor its organization ("Russia's central bank" stays whole)."""
    mark = next((i for i, t in enumerate(tokens) if t.tag_ == "POS"), None)
    if not mark or mark + 1 >= len(tokens) or not _name_run(tokens[mark + 1 :], inflected):
        return None
    if not all(_capitalized(t, inflected) or not t.is_alpha for t in tokens[:mark]):
        return None
    return _text(tokens[:mark]), tokens[mark + 1 :]


def _named_body(token: Token, inflected: Container[str]) -> bool:
    """Whether a word before "for" or "of" heads an organization's name: "Centers (for Disease Control)",
    "Department (of State)", where a person's name ("Susan Collins (of Maine)") is followed by a place."""
    word = token.lower_
    singular = word[:-1] if word.endswith("s") else word
    return _capitalized(token, inflected) and (word in ORGANIZATION_WORDS or singular in ORGANIZATION_WORDS)


def _titled(tokens: list[Token]) -> bool:
    """Whether one name follows a capital "The" inside a sentence ("as The Hill pointed out"): the title of a
    publication, whose "The" is part of its name, and no person."""
    if len(tokens) != 1 or tokens[0].i == 0:
        return False
    before = tokens[0].doc[tokens[0].i - 1]
    return before.text == "The" and not before.is_sent_start


def _leading_name(text: str) -> str:
    """The words of a name that open ``text``, up to the first lower-case word that does not join two of
    them: "Marquette Law School released" is "Marquette Law School"; "Department of State" stays whole."""
    words = text.split()
    end = 1
    while end < len(words) and (words[end][:1].isupper() or (words[end] in JOINING and end + 1 < len(words))):
        end += 1
    return " ".join(words[:end])


def _office_then_person(tokens: list[Token], inflected: Container[str]) -> bool:
    """Whether the words after a title's "of" are an office, then a person's name of two words or more:
    "(secretary of) state Hillary Clinton", not "(spokesman of) the National Security Council"."""
    first = len(tokens)
    while first > 0 and _name_part(tokens[first - 1], inflected):
        first -= 1
    name = _text(tokens[first:])
    return first > 0 and len(tokens) - first >= 2 and not tokens[0].text[:1].isupper() and kind_of(name) == "person"


def _name_run(tokens: list[Token], inflected: Container[str]) -> bool:
    """Whether tokens are a name, perhaps after titles: "Sen. Joe Lieberman", "Future 45"."""
    words = [t for t in tokens if not t.is_punct]
    return (
        bool(words)
        and (_name_part(words[0], inflected) or words[0].lower_ in TITLES)
        and all(_capitalized(t, inflected) or t.like_num or t.lower_ in TITLES for t in words)
        and any(_name_part(t, inflected) for t in words)
    )


def _called(tokens: list[Token], inflected: Container[str]) -> Speaker | None:
    """The speaker a description names outright before any comma: "a super PAC called Future 45"."""
    for i, token in enumerate(tokens[1:-1], start=1):
        if token.text == ",":
            return None
        if token.lower_ in {"called", "named"} and (run := _trim(tokens[i + 1 :])) and _name_run(run, inflected):
            name = _text(run)
            return Speaker(name=name, kind=kind_of(name))
    return None


def _apposed(tokens: list[Token], inflected: Container[str]) -> tuple[list[Token], str | None] | None:
    """The name a description gives after its first comma, and the role the description gives (a title
    heading it): "a Connecticut lawmaker, Sen. Joe Lieberman (I-Conn.),", "the company's chief, Tim Cook"."""
    comma = next((i for i, t in enumerate(tokens[1:-1], start=1) if t.text == ","), None)
    if comma is None:
        return None
    before, after = _trim(tokens[:comma]), _trim(tokens[comma + 1 :])
    if not before or _name_part(before[-1], inflected) or before[-1].tag_ not in COMMON_TAGS:
        return None
    if not _name_run(after, inflected):
        return None
    return after, before[-1].lower_ if before[-1].lower_ in TITLES else None


def read(span: Span, inflected: Container[str] = frozenset()) -> Speaker | str | None:
    """The speaker a source span names; a pronoun's kind (``"person"``, ...) when it only refers; None for "I"
    or a time ("Monday", which a parse can take for the subject of "said").

    ``inflected``: common English words in an inflected form ("officials"), which opening a sentence
    are not names for being capitalized.
    """
    span = _after_setting(span)
    tokens = _trim(list(span))
    if _clause(tokens):
        return None
    # "Pence on Thursday", "a poll released Wednesday": the time is cut off; a time alone never speaks.
    while tokens and tokens[-1].lower_ in TIME_WORDS:
        tokens = tokens[:-1]
        while tokens and tokens[-1].lower_ in TIME_MODIFIERS:
            tokens = tokens[:-1]
    if not tokens:
        return None
    if (called := _called(list(span), inflected)) is not None:
        return called
    described_as = None
    if (apposed := _apposed(list(span), inflected)) is not None:
        tokens, described_as = apposed
    if len(tokens) == 1 and tokens[0].lower_ in FIRST_PERSON | SECOND_PERSON:
        return None
    if " ".join(t.lower_ for t in tokens) in INDEFINITE:
        return Speaker(name=_text(tokens), kind="anonymous", anonymous=True)
    possessor: str | None = None
    if (owned := _owned_name(tokens, inflected)) is not None:
        possessor, tokens = owned
    if len(tokens) == 1 and tokens[0].lower_ in PRONOUNS:
        return PRONOUNS[tokens[0].lower_]
    # "a spokesman for the National Security Council": the organization follows "for", "of", "at".
    # "Sen. Susan Collins of Maine": the speaker before it. But "Former Secretary of State ... Hillary
    # Clinton" names her at its end: a title before "of" and a name at the end keep the span whole.
    organization = None
    for i, token in enumerate(tokens):
        if token.lower_ in {"for", "of", "at", "from", "with"} and i > 0 and not _named_body(tokens[i - 1], inflected):
            after = _trim(tokens[i + 1 :])
            titled = (
                tokens[i - 1].lower_ in TITLES
                and _name_part(tokens[-1], inflected)
                and (
                    tokens[i - 1].is_title or (token.lower_ == "of" and _office_then_person(tokens[i + 1 :], inflected))
                )
            )
            if after and any(_capitalized(t, inflected) for t in after) and not titled:
                organization = _text(after)
                tokens = tokens[:i]
            break
    head = tokens[-1]
    words = {t.lower_.strip(".") for t in tokens} | {t.lower_[:-1] for t in tokens if t.lower_.endswith("s")}
    plain_document = len(span) == 1 and head.lower_ in DOCUMENT_WORDS
    if plain_document or (len(tokens) == 1 and head.tag_ in {"NNPS", "NNS"} and head.lower_ not in OUTLET_WORDS):
        # "Republicans", "Democrats": a group, not someone named; "Polls" opening a sentence: no one's.
        return Speaker(name=head.text, kind="anonymous", anonymous=True)
    joined = [t for t in tokens if t.lower_ in {"for", "of", "and"}]
    if joined and _named_body(tokens[0], inflected) and all(_capitalized(t, inflected) or t in joined for t in tokens):
        # "Centers for Disease Control and Prevention", "Department of State": one organization's name.
        name = _text(tokens)
        return Speaker(name=name, kind="outlet" if kind_of(name) == "outlet" else "organization")
    if _name_part(head, inflected):
        institutional = ORGANIZATION_WORDS | OUTLET_WORDS
        all_names = all(_capitalized(t, inflected) or not t.is_alpha or t.tag_ in {"IN", "CC"} for t in tokens)
        if head.lower_.strip(".") in institutional or (all_names and words & institutional and not words & TITLES):
            # "the Russian Defense Ministry", "The Washington Post": the whole is the name.
            start = next(i for i, t in enumerate(tokens) if _capitalized(t, inflected))
            name = _text(tokens[start:])
            return Speaker(name=name, kind="outlet" if kind_of(name) == "outlet" else "organization")
        # A person (or a one-word outlet): the last run of name words; titles and roles before it.
        first = len(tokens) - 1
        while first > 0 and (_name_part(tokens[first - 1], inflected) or tokens[first - 1].text in {"-", "."}):
            first -= 1
        if tokens[first].text == "-" and first > 0 and not tokens[first - 1].whitespace_:
            first -= 1  # "al-Shabaab": a lower-case particle joined to the name
        name = _text(tokens[first:])
        if name.lower() in FIRST_PERSON:
            return None  # "my husband and I": the writer, never a name
        if _titled(tokens):
            return Speaker(name=f"The {name}", kind="organization" if kind_of(name) == "organization" else "outlet")
        before = [t for t in tokens[:first] if t.tag_ not in {"DT", "PRP$", "POS"} and not t.is_punct]
        # The role: the run of titles and common words just before the name; the organization before it.
        start = len(before)
        while start > 0 and (before[start - 1].lower_ in TITLES or not _capitalized(before[start - 1], inflected)):
            start -= 1
        role_tokens = before[start:]
        org_tokens = [t for t in before[:start] if _capitalized(t, inflected)]
        if organization is None and org_tokens and role_tokens:
            organization = _text(org_tokens)
        role = " ".join(t.text for t in role_tokens if t.tag_ != "IN") or described_as
        organization = organization or possessor
        return Speaker(name=name, kind=kind_of(name), role=role.lower() if role else None, organization=organization)
    if head.lower_ in ORGANIZATION_WORDS and not any(_capitalized(t, inflected) for t in tokens):
        # "the ministry", "the campaign": an organization named before (``Coreference``).
        return Speaker(name=head.lower_, kind="organization", via="descriptor")
    # Unnamed: a common noun ("officials", "sources", "the spokesman"), perhaps of an organization.
    if organization is None:
        named = [t for t in tokens[:-1] if _name_part(t, inflected)]
        if named:
            organization = _text(named)
    if head.lower_ in DOCUMENT_WORDS and organization:
        # "A poll from Marquette Law School released Wednesday", "an FBI summary": the organization speaks.
        name = _leading_name(organization)
        return Speaker(name=name, kind="outlet" if kind_of(name) == "outlet" else "organization", role=head.lower_)
    role = head.lower_ if head.lower_ in TITLES else None
    if head.lower_ in DOCUMENT_WORDS and span[0].lower_ == "the":
        # "the summary": the one named before, whose role it is (``Coreference``).
        role = head.lower_
    text = _text(_trim(list(span)))
    return Speaker(name=text, kind="anonymous", role=role, organization=organization, anonymous=True)


MALE, FEMALE = "he", "she"
_GENDER_OF_PRONOUN = {"he": MALE, "him": MALE, "she": FEMALE, "her": FEMALE}
_MALE_WORDS = frozenset({"mr", "mr.", "sir", "lord", "king", "prince"})
_FEMALE_WORDS = frozenset({"mrs", "mrs.", "ms", "ms.", "dame", "lady", "queen", "princess"})


def _pronoun_gender(span: Span) -> str | None:
    """The gender of a span that is one personal pronoun ("he", "her"), else None."""
    return _GENDER_OF_PRONOUN.get(span[0].lower_) if len(span) == 1 else None


def _gender_in(span: Span) -> str | None:
    """The gender a source span's own words give its speaker: "Mr.", "Ms.", "congresswoman", "spokesman"."""
    for token in span:
        word = token.lower_
        if word in _FEMALE_WORDS or (word.endswith("woman") and word != "woman"):
            return FEMALE
        if word in _MALE_WORDS or (word.endswith("man") and word not in {"man", "human"} and word in TITLES):
            return MALE
    return None


class Coreference:
    """The article's named speakers in the order they were met, for pronouns, roles and surnames to refer to.

    "he" never means a speaker the text has called "she" (or "Ms.", "congresswoman"), nor "she" one
    it has called "he": what the text says of a speaker's gender is kept by name as it is met.
    """

    def __init__(self, inflected: Container[str] = frozenset()) -> None:
        self.seen: list[Speaker] = []
        self.inflected = inflected
        self.gender: dict[str, str] = {}
        # The unnamed speakers that are one person ("the Platte River employee"), by name.
        self.single: set[str] = set()

    def resolve(self, span: Span, *, salient: bool = True) -> Speaker | None:
        """The speaker a source span means, looking back when it only refers; None when nothing fits.

        ``salient`` False: a speaker named inside what another says ("Trump said that Obama wanted to
        admit them"), whom a pronoun after it ("He said ...") does not mean for that; one met before
        stays as salient as it was.
        """
        found = self._resolve(span)
        if found is not None and salient:
            # The speaker met last is the one a pronoun means first, whether named in full or referred to.
            self.seen = [earlier for earlier in self.seen if earlier.name != found.name]
            self.seen.append(found)
        if found is not None and found.anonymous and found.via == "span" and _one_person(span):
            self.single.add(found.name)
        if found is not None and (not found.anonymous or found.name in self.single):
            gender = _pronoun_gender(span) or _gender_in(span)
            if gender is not None:
                self.gender.setdefault(found.name, gender)
        return found

    def _fits(self, earlier: Speaker, span: Span) -> bool:
        """Whether a pronoun's gender, if it has one, leaves ``earlier`` possible."""
        pronoun = _pronoun_gender(span)
        known = self.gender.get(earlier.name)
        return pronoun is None or known is None or known == pronoun

    def _resolve(self, span: Span) -> Speaker | None:
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
                if found == "person" and earlier.name in self.single and self._fits(earlier, span):
                    return replace(earlier, via="coreference")
                if found == earlier.kind and not self._fits(earlier, span):
                    continue
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
        if not found.anonymous and (found.kind == "person" or is_place(found.name)) and " " not in found.name:
            # A surname alone: the last person whose name ends with it ("Jordan" after "Jim Jordan").
            for earlier in reversed(self.seen):
                if earlier.kind == "person" and earlier.name.split()[-1].lower() == found.name.lower():
                    return replace(earlier, via="coreference", role=found.role or earlier.role)
        return found


def _one_person(span: Span) -> bool:
    """Whether an unnamed source is one person: "the Platte River employee", "a spokesman for the
    company", not "officials" nor "a report"."""
    tokens = _trim(list(span))
    cut = next((i for i, t in enumerate(tokens) if t.lower_ in {"for", "of", "at", "from", "with"}), len(tokens))
    head = tokens[cut - 1] if cut else None
    return head is not None and head.tag_ == "NN" and head.lower_ in PERSON_WORDS


# What hangs from a noun before it without being part of its phrase: "[from] a young child", "[was] ...".
OUTSIDE_PHRASE = frozenset({"case", "cop", "nsubj", "nsubj:pass", "aux", "mark", "cc", "punct", "advmod"})


def _antecedent(span: Span) -> Span | None:
    """For a relative pronoun ("who said"), the noun phrase it stands for, as the parse attaches it."""
    if len(span) != 1 or span[0].lower_ not in {"who", "which", "that"}:
        return None
    clause = span[0].head
    if not clause.dep_.startswith("acl") or clause.head.i >= span[0].i:
        return None
    noun = clause.head
    # "Donald Trump, who": the parse may head the name on its first word, the rest hanging from it.
    end = noun.i + 1
    while end < span[0].i and noun.doc[end].head.i == noun.i and noun.doc[end].dep_ in NAME_PARTS:
        end += 1
    # "was from a young child, who": the noun phrase only, not the preposition or the clause it sits in
    start = min([c.left_edge.i for c in noun.children if c.i < noun.i and c.dep_ not in OUTSIDE_PHRASE] + [noun.i])
    return noun.doc[start:end]


def _definite_singular(span: Span) -> bool:
    """Whether a source is a definite description of one person ("the Russian leader")."""
    words = [t for t in span if not t.is_punct]
    return len(words) >= 2 and words[0].lower_ == "the" and words[-1].lower_ in PERSON_NOUNS
