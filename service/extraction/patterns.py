"""The sentence shapes news uses to chain attributions, read by their surface, where the tagger is weakest.

PolNeAR annotates one layer only, so the tagger seldom sees a chain. These shapes are read here,
by the words and commas of one sentence, and take precedence over the tagger in that sentence:

- trailing: ``CONTENT, Ryder told reporters, Hina reports, citing Reuters.``: the reporters named
  after the content, the last outermost; "citing", "quoting" relay for the one before them;
- leading: ``Hina reports, citing Reuters, that Ryder told reporters CONTENT``: each reporter
  names the next, the content last; "that" may introduce each;
- ``According to X, CONTENT`` and ``CONTENT, according to X``;
- ``A spokesman ... who declined to be named said CONTENT``: a source that says it goes unnamed.

A shape is read only when it chains (two hops or more), uses "according to", "citing" or
"quoting", or names an unnamed source: a plain "X said Y" is the tagger's.
"""

from __future__ import annotations

from dataclasses import dataclass

from spacy.tokens import Doc, Span, Token

from service.extraction.features import CLOSING_QUOTES, INSIDE, OPENING_QUOTES, STRAIGHT_QUOTES, quote_states
from service.extraction.spans import Grouped, TokenSpan
from service.extraction.words import WORDS

REPORTING = WORDS["reporting"]
INTENTIONS = WORDS["intention_verbs"]
MEANING = WORDS["meaning_verbs"]
CLAUSE_VERBS = REPORTING | WORDS["clause_verbs"] | INTENTIONS
# What a clause verb takes as what its subject says: a clause of its own ("told investigators they were").
CLAUSE_OBJECTS = frozenset({"ccomp"})
# What a verb of intention takes as what its subject wants or means to do: an infinitive ("wants to ...").
INTENDED = frozenset({"xcomp"})
# The words before a verb of intention that PolNeAR's cue holds: "is planning", "also plans", "does not want".
VERB_WORDS = frozenset({"aux", "advmod"})
SUBJECTS = frozenset({"nsubj"})
# Subjects that are things or questions, never speakers.
NO_ONE = frozenset({"it", "this", "that", "these", "those", "which", "what"})
# What makes a verb's clause a question or a condition, which says no one holds it.
CONDITIONS = frozenset({"whether", "if", "unless"})
QUOTE_MARKS = OPENING_QUOTES | CLOSING_QUOTES | STRAIGHT_QUOTES | frozenset("‘’'")
# A clause shorter than this says too little to be a claim.
MIN_CLAUSE_TOKENS = 3
# How sure a layer read from the parse alone is: below the tagger's usual, above its floor for nested layers.
CLAUSE_CONFIDENCE = 0.6
RELAYS = frozenset({"citing", "quoting"})
AUDIENCE = frozenset({"reporters", "journalists", "media", "press", "lawmakers", "parliament", "congress"})
# What may follow a reporting verb as part of its cue: "said in a statement", "told reporters on Tuesday".
CUE_TAILS = (("in", "a", "statement"), ("in", "a", "briefing"), ("on", "twitter"), ("on", "telegram"))
SEPARATORS = frozenset({",", "—", "–", ";", ":"})
MAX_SOURCE_TOKENS = 10
# A source that says it is unnamed ("a spokesman ... who declined to be named") may run longer.
ANONYMITY = (
    "declined to be named", "declined to be identified", "asked not to be named", "asked not to be identified",
    "on condition of anonymity", "not authorized to speak", "not authorised to speak", "requested anonymity",
)  # fmt: skip
MAX_UNNAMED_SOURCE_TOKENS = 25


def _unnamed(tokens: list[Token]) -> bool:
    """Whether the words say their speaker goes unnamed."""
    text = " ".join(t.lower_ for t in tokens)
    return any(phrase in text for phrase in ANONYMITY)


@dataclass(frozen=True)
class Hop:
    """One reporter of a chain read from a sentence: where its source and cue are (paragraph tokens)."""

    source: TokenSpan | None
    cue: TokenSpan
    relay: bool = False


@dataclass(frozen=True)
class Chain:
    """A sentence's chain: hops outermost first, and the content they report."""

    hops: list[Hop]
    content: TokenSpan


def _segments(sentence: Span) -> list[list[Token]]:
    """The sentence cut at its commas and dashes (outside quotation marks), without them and final punctuation."""
    segments: list[list[Token]] = [[]]
    tokens = list(sentence)
    for token, state in zip(tokens, quote_states(tokens), strict=True):
        if token.text in SEPARATORS and state != INSIDE:
            segments.append([])
        else:
            segments[-1].append(token)
    while segments and segments[-1] and segments[-1][-1].is_punct:
        segments[-1] = segments[-1][:-1]
    return [s for s in segments if s]


def _cue_end(tokens: list[Token], at: int) -> int:
    """Where the cue starting at the reporting verb ``tokens[at]`` ends: with its audience and tail."""
    end = at + 1
    if end < len(tokens) and tokens[end].lower_ in AUDIENCE:
        end += 1
    elif end + 1 < len(tokens) and tokens[end].lower_ == "the" and tokens[end + 1].lower_ in AUDIENCE:
        end += 2
    for tail in CUE_TAILS:
        words = tuple(t.lower_ for t in tokens[end : end + len(tail)])
        if words == tail:
            end += len(tail)
            break
    return end


def _reports(token: Token) -> bool:
    """Whether a word is a reporting verb here: "states", but not "the United States"."""
    return token.lower_ in REPORTING and not (token.text[:1].isupper() and token.tag_ in {"NNP", "NNPS"})


def _span(kind: str, tokens: list[Token]) -> TokenSpan:
    return TokenSpan(kind, tokens[0].i, tokens[-1].i + 1)


def _source(tokens: list[Token]) -> bool:
    """Whether tokens can be a source: a short noun phrase with a noun or pronoun in it."""
    limit = MAX_UNNAMED_SOURCE_TOKENS if _unnamed(tokens) else MAX_SOURCE_TOKENS
    return 0 < len(tokens) <= limit and any(t.tag_.startswith(("NN", "PRP")) for t in tokens)


def _reporter(segment: list[Token]) -> Hop | None:
    """A segment that is only "SOURCE CUE" (trailing shape), "citing SOURCE" or "according to SOURCE"."""
    words = [t.lower_ for t in segment]
    if words[0] in RELAYS and _source(segment[1:]):
        return Hop(_span("SRC", segment[1:]), _span("CUE", segment[:1]), relay=True)
    if words[:2] == ["according", "to"] and _source(segment[2:]):
        return Hop(_span("SRC", segment[2:]), _span("CUE", segment[:2]))
    for at in range(1, len(segment)):
        if _reports(segment[at]) and _cue_end(segment, at) == len(segment) and _source(segment[:at]):
            return Hop(_span("SRC", segment[:at]), _span("CUE", segment[at:]))
    return None


def _leading(tokens: list[Token]) -> tuple[Hop, list[Token]] | None:
    """ "SOURCE CUE [that] REST": the hop and the rest, when the tokens open so."""
    for at in range(1, min(len(tokens), MAX_UNNAMED_SOURCE_TOKENS + 1)):
        if _reports(tokens[at]) and _source(tokens[:at]):
            end = _cue_end(tokens, at)
            rest = tokens[end:]
            if rest and rest[0].lower_ == "that":
                rest = rest[1:]
            if len(rest) >= 3:
                return Hop(_span("SRC", tokens[:at]), _span("CUE", tokens[at:end])), rest
            return None
    return None


def _trailing(segments: list[list[Token]]) -> Chain | None:
    first = next((i for i, s in enumerate(segments) if _reporter(s)), None)
    if not first or not all(_reporter(s) for s in segments[first:]):
        return None
    content = [t for s in segments[:first] for t in s]
    reporters = [h for h in (_reporter(s) for s in segments[first:]) if h is not None]
    # Units of a reporter and the relays after it; the last unit is the outermost.
    units: list[list[Hop]] = []
    for hop in reporters:
        if hop.relay and units:
            units[-1].append(hop)
        else:
            units.append([hop])
    hops = [hop for unit in reversed(units) for hop in unit]
    return Chain(hops, _span("CON", content))


def _opening(segments: list[list[Token]]) -> Chain | None:
    hops: list[Hop] = []
    index = 0
    rest: list[Token] = []
    while index < len(segments):
        segment = segments[index]
        words = [t.lower_ for t in segment]
        reporter = _reporter(segment)
        if reporter is not None and (reporter.relay or words[:2] == ["according", "to"] or index + 1 < len(segments)):
            hops.append(reporter)
            index += 1
            continue
        rest = [t for s in segments[index:] for t in s]
        break
    if rest and rest[0].lower_ == "that":
        rest = rest[1:]
    while (found := _leading(rest)) is not None:
        hop, rest = found
        hops.append(hop)
    if not hops or len(rest) < 3:
        return None
    return Chain(hops, _span("CON", rest))


def read(sentence: Span) -> Chain | None:
    """The chain a sentence states in one of the shapes above, or None."""
    segments = _segments(sentence)
    if len(segments) < 1:
        return None
    for chain in (_trailing(segments), _opening(segments)):
        if chain is None:
            continue
        doc = sentence.doc
        marked = any(doc[h.cue.start].lower_ in RELAYS | {"according"} for h in chain.hops)
        unnamed = any(h.source and _unnamed(list(doc[h.source.start : h.source.end])) for h in chain.hops)
        if len(chain.hops) >= 2 or marked or unnamed:
            return chain
    return None


def _infinitive(clause: Token) -> bool:
    """Whether the parse hangs an infinitive with "to" from a verb as its clause ("wants to give away")."""
    return (
        clause.dep_ in INTENDED
        and clause.tag_ == "VB"
        and any(c.lower_ == "to" and c.dep_ == "mark" and c.i < clause.i for c in clause.children)
    )


def clauses(doc: Doc, window: tuple[int, int], *, inside: bool = False) -> list[Grouped]:
    """The attributions the parse states inside ``window`` (paragraph tokens): a clause verb ("told",
    "believes") with its subject and the clause it takes, all three inside the window ("Mills and Clinton
    told investigators they were unaware ..."), or a verb of intention with the infinitive it takes ("Obama
    wanted to admit 250,000 Syrians"). What the tagger, reading a content as a sentence of its own, mostly
    labels content throughout. ``inside`` a content, what one meant too ("Hewitt suggested that Trump simply
    meant that ...")."""
    start, end = window
    found = []
    verbs = CLAUSE_VERBS | MEANING if inside else CLAUSE_VERBS
    for verb in doc[start:end]:
        if verb.lower_ not in verbs or not verb.tag_.startswith("VB"):
            continue
        if any(c.dep_ in {"aux:pass", "nsubj:pass"} for c in verb.children):
            continue  # "was told that ...": its subject heard it
        if any(c.dep_ == "mark" and c.lower_ in CONDITIONS for c in verb.children):
            continue  # "whether or not people want to stay the course": nobody is said to want it
        subjects = [c for c in verb.children if c.dep_ in SUBJECTS and start <= c.left_edge.i]
        objects = [c for c in verb.children if c.dep_ in CLAUSE_OBJECTS and verb.i < c.i < end]
        if verb.lower_ in INTENTIONS and not verb.dep_.startswith("acl"):
            # Not in a relative clause ("who has repeatedly pledged to ...", "the obligations that Patriot
            # Coal was seeking to get rid of"): what describes something, not what one is reported to want.
            objects += [c for c in verb.children if _infinitive(c) and verb.i < c.i < end]
        if len(subjects) != 1 or len(objects) != 1:
            continue
        subject, clause = subjects[0], objects[0]
        if subject.lower_ in NO_ONE:
            continue  # "this means that ...", "it suggests that ...": a thing, which says nothing
        # What the parse hangs from the clause before the verb ("that" of a clause holding it) is not said,
        # nor what it hangs from it beyond the window: a layer inside a content ends with it ("Russians now
        # say they admire Mr. Putin ..., a study ... concluded", parsed with the study in what they say).
        first = max(clause.left_edge.i, verb.i + 1)
        last = min(clause.right_edge.i + 1, end)
        while last > first and doc[last - 1].is_punct and doc[last - 1].text not in QUOTE_MARKS:
            last -= 1
        if last - first < MIN_CLAUSE_TOKENS or subject.right_edge.i >= verb.i:
            continue
        # "told [investigators]", "said [on Tuesday]": the verb alone is the cue, as PolNeAR marks it; but
        # "is planning", "also plans", "does not want" with the words before it that make its tense and sense
        cue = verb.i
        if verb.lower_ in INTENTIONS:
            while cue - 1 > subject.right_edge.i and doc[cue - 1].head.i == verb.i and doc[cue - 1].dep_ in VERB_WORDS:
                cue -= 1
        found.append(
            Grouped(
                TokenSpan("CUE", cue, verb.i + 1, CLAUSE_CONFIDENCE),
                TokenSpan("SRC", subject.left_edge.i, subject.right_edge.i + 1, CLAUSE_CONFIDENCE),
                [TokenSpan("CON", first, last, CLAUSE_CONFIDENCE)],
            )
        )
    return found
