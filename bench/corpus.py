"""A realistic corpus of claims, any size, seeded and repeatable, as NDJSON that ``provenance import`` reads.

    python -m bench.corpus [--claims 1000000] [--seed 42] [--output -] [--samples PATH]

Each line is a ``POST /claims`` body with the claim's ``id`` (import keeps it), exactly as
``provenance export`` writes one. The same ``--claims`` and ``--seed`` give the same bytes.

- **Sources.** A few agencies and outlets (Reuters, AP, AFP, Hina, ...) carry a large share of the
  hops, Zipf-like; behind them a tail of local outlets, organizations (ministries, police, the
  Pentagon), anonymous sources affiliated to an organization ("Pentagon sources"), and a long tail
  of people, about one for every eight claims, most of them affiliated with a role. Every name and
  alias folds to a key of its own, so no inline source is ever ambiguous. A source is named inline
  whole (aliases, description, identifiers, affiliations by organization name) the first time a hop
  names it; later hops name it by its name or, one time in five, by an alias (a transliteration, a
  spelling without diacritics, initials), which resolves to it like the name. An organization first
  created by an affiliation keeps its bare name (it was created without aliases).
- **Chains.** 1 to 8 hops: the outlet that published it, agencies and outlets relaying it, and the
  origin (a person, an organization, an anonymous source, now and then an outlet). About a third
  link an earlier claim of the corpus upstream (half among the last 2,000, half from anywhere
  before) on their last hop, which names no source (it takes the upstream claim's first one); no
  claim is more than 6 upstream links from the claim that has none.
- **Texts.** 8 to 60 words drawn Zipf-like from a mixed vocabulary: common news English, words with
  diacritics and in Cyrillic, and a long tail of made-up words.

``--samples PATH`` (or ``--phrases PATH``) also writes, as JSON, what a benchmark needs to ask for
things that exist: ``claims`` (how many), ``claim_ids`` (500 ids spread over the corpus),
``deep_claim_ids`` (up to 200 ids of claims at least 3 upstream links deep), ``phrases`` (300
objects ``{"text", "claim_id"}``: 3 to 6 consecutive words of that claim's text, the window with
most words beyond the 100 commonest of a few tried) and ``sources`` (300 objects ``{"name", "kind"}``
of sources the corpus stores, the agencies and popular ones first, then a spread over the tail).
Asking for samples changes nothing in the corpus.
"""

from __future__ import annotations

import argparse
import random
import sys
from bisect import bisect
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from itertools import accumulate
from typing import IO, Any

import msgspec

from bench import pools
from service.domain.names import fold

HOP_COUNT_WEIGHTS = [12, 24, 22, 16, 11, 7, 5, 3]  # chains of 1..8 hops
UPSTREAM_SHARE = 1 / 3
MAX_UPSTREAM_DEPTH = 6
RECENT_WINDOW = 2_000
START = datetime(2020, 1, 1, tzinfo=UTC)
SPAN = timedelta(days=5 * 365)
LANGUAGES = ["en"] * 85 + ["hr"] * 5 + ["de"] * 4 + ["fr"] * 3 + ["uk"] * 3

SAMPLE_IDS = 500
SAMPLE_PHRASES = 300
SAMPLE_DEEP = 200
SAMPLE_SOURCES = 300
COMMONEST = frozenset(w.lower() for w in pools.COMMON_WORDS[:100])

# --- sources -------------------------------------------------------------------------------------


class Source:
    """A source of the corpus: how it is named inline the first time, and how afterwards."""

    __slots__ = ("affiliations", "aliases", "description", "identifiers", "kind", "name", "state")

    NEW, BARE, WHOLE = 0, 1, 2  # not stored yet; stored by an affiliation, without aliases; stored whole

    def __init__(self, name: str, kind: str, aliases: list[str], description: str | None = None) -> None:
        self.name = name
        self.kind = kind
        self.aliases = aliases
        self.description = description
        self.identifiers: dict[str, str] = {}
        self.affiliations: list[tuple[Source, str | None, str | None]] = []  # (organization, role, since)
        self.state = Source.NEW

    def plain(self) -> dict[str, Any]:
        """The source named by its name alone."""
        return {"name": self.name, "kind": self.kind}

    def whole(self) -> dict[str, Any]:
        """The source named inline with everything it has; its organizations get stored (bare) too."""
        inline: dict[str, Any] = {"name": self.name, "kind": self.kind}
        if self.aliases:
            inline["aliases"] = self.aliases
        if self.description:
            inline["description"] = self.description
        if self.identifiers:
            inline["identifiers"] = self.identifiers
        if self.affiliations:
            inline["affiliations"] = [_affiliation(org, role, since) for org, role, since in self.affiliations]
            for org, _, _ in self.affiliations:
                if org.state == Source.NEW:
                    org.state = Source.BARE
        return inline


def _affiliation(org: Source, role: str | None, since: str | None) -> dict[str, Any]:
    affiliation: dict[str, Any] = {"organization": {"name": org.name, "kind": org.kind}}
    if role:
        affiliation["role"] = role
    if since:
        affiliation["since"] = since
    return affiliation


class Names:
    """Keeps every name and alias folding to a key no other source has."""

    def __init__(self) -> None:
        self.keys: set[str] = set()

    def take(self, name: str) -> bool:
        """Claim ``name``'s key; False if it is taken (or empty)."""
        key = fold(name)
        if not key or key in self.keys:
            return False
        self.keys.add(key)
        return True

    def source(self, name: str, kind: str, aliases: list[str], description: str | None = None) -> Source | None:
        """A source under ``name`` with the aliases whose keys are free, or None if the name's key is taken."""
        if not self.take(name):
            return None
        return Source(name, kind, [a for a in aliases if self.take(a)], description)


def _outlets(names: Names, rng: random.Random, claims: int) -> tuple[list[Source], list[Source]]:
    """The agencies (popular first), and every outlet: agencies, known outlets, then a tail of local ones."""
    agencies = [s for name, aliases in pools.AGENCIES if (s := names.source(name, "outlet", aliases, "news agency"))]
    known = [s for name, aliases in pools.OUTLETS if (s := names.source(name, "outlet", aliases))]
    local: list[Source] = []
    wanted = min(len(pools.TOWNS) * len(pools.OUTLET_WORDS), max(20, claims // 500))
    while len(local) < wanted:
        town, word = rng.choice(pools.TOWNS), rng.choice(pools.OUTLET_WORDS)
        name = f"{town} {word}" if rng.random() < 0.6 else f"The {town} {word}"
        if source := names.source(name, "outlet", []):
            local.append(source)
    for i, source in enumerate([*agencies, *known]):
        source.identifiers = {"wikidata": f"Q{9_000_000 + i}"}
    for source in local:
        source.identifiers = {"homepage": f"https://{fold(source.name).replace(' ', '')}.example"}
    return agencies, [*agencies, *known, *local]


def _organizations(names: Names) -> list[Source]:
    """Known bodies first, then ministries and public bodies of many countries."""
    organizations = [s for name, aliases in pools.ORGANIZATIONS if (s := names.source(name, "organization", aliases))]
    for country in pools.COUNTRIES:
        for ministry in pools.MINISTRIES:
            name = f"Ministry of {ministry} of {country}"
            if source := names.source(name, "organization", [f"{country} {ministry} Ministry"]):
                organizations.append(source)
        for body in pools.BODIES:
            if source := names.source(f"{country} {body}", "organization", [f"{body} of {country}"]):
                organizations.append(source)
    return organizations


def _anonymous(names: Names, rng: random.Random, organizations: list[Source]) -> list[Source]:
    """Anonymous sources of the likelier organizations, each affiliated to its organization."""
    anonymous = []
    for org in organizations[:400]:
        for form in rng.sample(pools.ANONYMOUS_FORMS, 2):
            if source := names.source(form.format(org.name), "anonymous", []):
                source.affiliations = [(org, None, None)]
                anonymous.append(source)
    return anonymous


def _slavic_name(rng: random.Random) -> tuple[str, list[str]]:
    cyr_first, first, first_alt = rng.choice(pools.SLAVIC_FIRST)
    parts = [rng.choice(pools.SLAVIC_SYLLABLES) for _ in range(rng.randint(1, 3))] + [rng.choice(pools.SLAVIC_ENDINGS)]
    cyr, lat, alt = ("".join(p[i] for p in parts) for i in range(3))
    return f"{first} {lat.capitalize()}", [
        f"{first_alt} {alt.capitalize()}",
        f"{cyr_first} {cyr.capitalize()}",
        f"{first[0]}. {lat.capitalize()}",
    ]


def _western_name(rng: random.Random) -> tuple[str, list[str]]:
    first, last = rng.choice(pools.WESTERN_FIRST), rng.choice(pools.WESTERN_LAST)
    if rng.random() < 0.3:
        first = f"{first} {rng.choice('ABCDEFGHJKLMNPRSTW')}."
    name = f"{first} {last}"
    aliases = [f"{first[0]}. {last}"]
    if (plain := name.translate(pools.ASCII_LETTERS)) != name:
        aliases.append(plain)
    return name, aliases


def _arabic_name(rng: random.Random) -> tuple[str, list[str]]:
    (first, others), last = rng.choice(pools.ARABIC_FIRST), rng.choice(pools.ARABIC_LAST)
    return f"{first} {last}", [f"{other} {last}" for other in others]


def _chinese_name(rng: random.Random) -> tuple[str, list[str]]:
    family, given = rng.choice(pools.CHINESE_FAMILY), rng.choice(pools.CHINESE_GIVEN)
    if rng.random() < 0.5:
        given += rng.choice(pools.CHINESE_GIVEN).lower()
    return f"{family} {given}", [f"{given} {family}"]


PERSON_NAMES: Sequence[Callable[[random.Random], tuple[str, list[str]]]] = (
    [_slavic_name] * 4 + [_western_name] * 4 + [_arabic_name] + [_chinese_name]
)


def _people(
    names: Names, rng: random.Random, count: int, organizations: list[Source], outlets: list[Source]
) -> list[Source]:
    """A long tail of people; most belong to an organization (the likelier ones more often) or an outlet."""
    org_cum = _zipf(len(organizations), 1.0)
    outlet_cum = _zipf(len(outlets), 1.0)
    people: list[Source] = []
    misses = 0
    while len(people) < count and misses < 50 * count:
        name, aliases = rng.choice(PERSON_NAMES)(rng)
        source = names.source(name, "person", aliases)
        if source is None:
            misses += 1
            continue
        draw = rng.random()
        since = f"{rng.randint(2005, 2023)}-{rng.randint(1, 12):02d}-01" if rng.random() < 0.3 else None
        if draw < 0.7:
            org = organizations[_draw(rng, org_cum)]
            role = rng.choice(pools.PERSON_ROLES)
            source.affiliations = [(org, role, since)]
            source.description = f"{role} of {org.name}"
        elif draw < 0.8:
            outlet = outlets[_draw(rng, outlet_cum)]
            source.affiliations = [(outlet, rng.choice(pools.JOURNALIST_ROLES), since)]
        people.append(source)
    return people


# --- drawing -------------------------------------------------------------------------------------


def _zipf(n: int, s: float) -> list[float]:
    """Cumulative weights of ranks 1..n under Zipf's law with exponent ``s``."""
    return list(accumulate(1 / (rank**s) for rank in range(1, n + 1)))


def _draw(rng: random.Random, cum: list[float]) -> int:
    """An index drawn by the cumulative weights ``cum``."""
    return bisect(cum, rng.random() * cum[-1])


def _vocabulary(rng: random.Random) -> list[str]:
    """Common words first, then a long tail of made-up words, with foreign words spread through it."""
    made_up: list[str] = []
    seen = set(pools.COMMON_WORDS)
    while len(made_up) < 10_000:
        word = "".join(rng.choice(pools.WORD_SYLLABLES) for _ in range(rng.randint(2, 4)))
        if word not in seen:
            seen.add(word)
            made_up.append(word)
    words = list(dict.fromkeys(pools.COMMON_WORDS)) + made_up
    for i, word in enumerate(pools.FOREIGN_WORDS):
        words.insert(300 + 40 * i, word)
    return words


def _word_table(words: list[str], s: float, size: int = 1 << 16) -> list[str]:
    """``size`` slots, each word in about as many as its Zipf weight earns (at least one)."""
    weights = [1 / (rank**s) for rank in range(1, len(words) + 1)]
    total = sum(weights)
    counts = [max(1, int(size * w / total)) for w in weights]
    excess = sum(counts) - size
    rank = 0
    while excess > 0:  # the commonest words give up the slots the rare ones took
        give = min(excess, counts[rank] - 1)
        counts[rank] -= give
        excess -= give
        rank += 1
    counts[0] -= excess  # fewer slots than size: the commonest word fills them
    return [word for word, count in zip(words, counts, strict=True) for _ in range(count)]


class Corpus:
    """Draws claim after claim; the same seed and size give the same claims."""

    def __init__(self, claims: int, seed: int) -> None:
        self.claims = claims
        self.rng = rng = random.Random(seed)
        names = Names()
        self.agencies, self.outlets = _outlets(names, rng, claims)
        self.organizations = _organizations(names)
        self.anonymous = _anonymous(names, rng, self.organizations)
        self.people = _people(names, rng, max(100, claims // 8), self.organizations, self.outlets)
        rng.shuffle(self.people)  # who is famous owes nothing to how the name was made
        self.relays = self.agencies + self.outlets[len(self.agencies) : len(self.agencies) + len(pools.OUTLETS)]
        self.outlet_cum = _zipf(len(self.outlets), 1.05)
        self.relay_cum = _zipf(len(self.relays), 1.1)
        self.org_cum = _zipf(len(self.organizations), 1.0)
        self.anonymous_cum = _zipf(len(self.anonymous), 1.0)
        self.people_cum = _zipf(len(self.people), 0.9)
        self.word_table = _word_table(_vocabulary(rng), 1.1)
        self.slugs: dict[str, str] = {}
        self.hop_cum = list(accumulate(HOP_COUNT_WEIGHTS))
        self.ids: list[str] = []
        self.depths = bytearray(claims)
        self.first_sources: list[Source] = []

    def _id(self) -> str:
        """A random (version 4) UUID, from the seeded generator."""
        bits = self.rng.getrandbits(128) & ~(0xF000 << 64 | 0xC000 << 48) | (0x4000 << 64 | 0x8000 << 48)
        h = f"{bits:032x}"
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"

    def _slug(self, outlet: Source) -> str:
        slug = self.slugs.get(outlet.name)
        if slug is None:
            slug = self.slugs[outlet.name] = fold(outlet.name).replace(" ", "-")
        return slug

    def _name(self, source: Source) -> dict[str, Any]:
        """How a hop names ``source``: whole the first time, by name (or an alias) afterwards."""
        if source.state == Source.NEW:
            inline = source.whole()
            source.state = Source.WHOLE
            return inline
        if source.state == Source.WHOLE and source.aliases and self.rng.random() < 0.2:
            return {"name": self.rng.choice(source.aliases), "kind": source.kind}
        return source.plain()

    def _origin(self) -> Source:
        rng, draw = self.rng, self.rng.random()
        if draw < 0.6:
            return self.people[_draw(rng, self.people_cum)]
        if draw < 0.8:
            return self.organizations[_draw(rng, self.org_cum)]
        if draw < 0.92:
            return self.anonymous[_draw(rng, self.anonymous_cum)]
        return self.outlets[_draw(rng, self.outlet_cum)]

    def _relay(self) -> Source:
        rng = self.rng
        if rng.random() < 0.85:
            return self.relays[_draw(rng, self.relay_cum)]
        return self.people[_draw(rng, self.people_cum)]

    def _upstream(self, index: int) -> int | None:
        """An earlier claim to link, no deeper than allowed, or None."""
        rng = self.rng
        for _ in range(4):
            if rng.random() < 0.5:
                candidate = rng.randrange(max(0, index - RECENT_WINDOW), index)
            else:
                candidate = rng.randrange(index)
            if self.depths[candidate] < MAX_UPSTREAM_DEPTH:
                return candidate
        return None

    def _chain_sources(self, own: int, linked: Source | None) -> list[Source]:
        """The sources of a chain's own hops: the publisher, relays, and the origin unless it links upstream."""
        rng = self.rng
        chosen: list[Source] = []
        for position in range(own):
            for _ in range(8):
                if position == 0 and (own > 1 or linked is not None or rng.random() < 0.5):
                    source = self.outlets[_draw(rng, self.outlet_cum)]
                elif position == own - 1 and linked is None:
                    source = self._origin()
                else:
                    source = self._relay()
                if source is not linked and source not in chosen:
                    break
            else:
                continue  # nothing new drawn: a shorter chain
            chosen.append(source)
        return chosen

    def _hop(self, source: Source, position: int, last: bool) -> dict[str, Any]:
        rng = self.rng
        if position == 0 and not last:
            cue = rng.choice(pools.PUBLISH_CUES)
        elif last:
            cue = rng.choice(pools.ORIGIN_CUES)
        else:
            cue = rng.choice(pools.RELAY_CUES)
        hop: dict[str, Any] = {"cue": cue, "source": self._name(source)}
        if last and source.affiliations and source.affiliations[0][1] and rng.random() < 0.5:
            hop["role"] = source.affiliations[0][1]
        return hop

    def _words(self, low: int, high: int) -> str:
        # Two random bytes a word, looked up in the Zipf table: drawn in C, not word by word in Python.
        draws = memoryview(self.rng.randbytes(2 * self.rng.randint(low, high))).cast("H")
        return " ".join(map(self.word_table.__getitem__, draws))

    def _text(self) -> str:
        text = self._words(8, 60)
        return text[:1].upper() + text[1:] + "."

    def claim(self, index: int) -> dict[str, Any]:
        """Claim ``index`` (claims must be drawn in order, each once)."""
        rng = self.rng
        hops = bisect(self.hop_cum, rng.random() * self.hop_cum[-1]) + 1
        upstream = self._upstream(index) if index > 0 and rng.random() < UPSTREAM_SHARE else None
        linked = self.first_sources[upstream] if upstream is not None else None
        sources = self._chain_sources(hops - 1 if upstream is not None else hops, linked)
        chain = [self._hop(s, i, i == len(sources) - 1 and upstream is None) for i, s in enumerate(sources)]
        if upstream is not None:
            chain.append({"cue": rng.choice(pools.RELAY_CUES), "upstream_claim_id": self.ids[upstream]})
            self.depths[index] = self.depths[upstream] + 1
        claim_id = self._id()
        self.ids.append(claim_id)
        first = sources[0] if sources else linked
        assert first is not None  # a chain of no own hop links upstream
        self.first_sources.append(first)
        publisher = sources[0] if sources and sources[0].kind == "outlet" else self.outlets[_draw(rng, self.outlet_cum)]
        published = START + SPAN * ((index + rng.random()) / self.claims)
        appeared: dict[str, Any] = {
            "url": f"https://{self._slug(publisher)}.example/{published.year}/{published.month:02d}/story-{index}",
            "title": f"{rng.choice(pools.TITLE_WORDS)}: {self._words(4, 10)}",
            "outlet": publisher.name,
            "published_at": published,
        }
        if rng.random() < 0.5:
            appeared["author"] = self.people[rng.randrange(len(self.people))].name
        claim: dict[str, Any] = {
            "id": claim_id,
            "text": self._text(),
            "kind": "quote" if rng.random() < 0.4 else "paraphrase",
            "language": rng.choice(LANGUAGES),
            "appeared_in": appeared,
            "chain": chain,
        }
        if rng.random() < 0.3:
            claim["stated_at"] = published - timedelta(minutes=rng.randint(5, 72 * 60))
        return claim

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for index in range(self.claims):
            yield self.claim(index)


# --- samples for the benchmark -----------------------------------------------------------------


class Samples:
    """What the benchmark may ask for: ids, deep ids, phrases of texts, source names."""

    def __init__(self, claims: int, seed: int) -> None:
        # A generator of its own, so asking for samples leaves the corpus as it is.
        self.rng = random.Random(f"samples-{seed}")
        self.wanted = set(self.rng.sample(range(claims), min(claims, SAMPLE_IDS + SAMPLE_PHRASES)))
        self.claim_ids: list[str] = []
        self.deep_claim_ids: list[str] = []
        self.phrases: list[dict[str, str]] = []

    def see(self, index: int, claim: dict[str, Any], depth: int) -> None:
        """Keep what the benchmark needs of claim ``index``."""
        if depth >= 3 and len(self.deep_claim_ids) < SAMPLE_DEEP and self.rng.random() < 0.05:
            self.deep_claim_ids.append(claim["id"])
        if index not in self.wanted:
            return
        if len(self.claim_ids) < SAMPLE_IDS and (len(self.phrases) >= SAMPLE_PHRASES or self.rng.random() < 0.6):
            self.claim_ids.append(claim["id"])
            return
        words = claim["text"].rstrip(".").split()
        size = self.rng.randint(3, 6)
        # Of a few windows, the one with most words beyond the commonest: a statement worth searching.
        starts = [self.rng.randrange(len(words) - size + 1) for _ in range(8)]
        start = max(starts, key=lambda at: sum(w.lower() not in COMMONEST for w in words[at : at + size]))
        self.phrases.append({"text": " ".join(words[start : start + size]), "claim_id": claim["id"]})

    def document(self, corpus: Corpus) -> dict[str, Any]:
        """The samples as one JSON object."""
        stored = [s for s in corpus.relays + corpus.organizations[:20] + corpus.people[:50] if s.state != Source.NEW]
        tail = [s for s in corpus.people[50:] if s.state != Source.NEW]
        stored += self.rng.sample(tail, min(len(tail), max(0, SAMPLE_SOURCES - len(stored))))
        return {
            "claims": corpus.claims,
            "claim_ids": self.claim_ids,
            "deep_claim_ids": self.deep_claim_ids,
            "phrases": self.phrases,
            "sources": [{"name": s.name, "kind": s.kind} for s in stored],
        }


def write(claims: int, seed: int, out: IO[bytes], samples: Samples | None = None, chunk: int = 4096) -> Corpus:
    """Write ``claims`` claims drawn with ``seed`` to ``out``, one JSON line each; returns the corpus drawn."""
    corpus = Corpus(claims, seed)
    encode = msgspec.json.Encoder().encode
    lines: list[bytes] = []
    for index, claim in enumerate(corpus):
        lines.append(encode(claim))
        if samples is not None:
            samples.see(index, claim, corpus.depths[index])
        if len(lines) == chunk:
            out.write(b"\n".join(lines) + b"\n")
            lines.clear()
    if lines:
        out.write(b"\n".join(lines) + b"\n")
    return corpus


def main(argv: list[str] | None = None) -> None:
    """``python -m bench.corpus``: write a corpus, and samples of it if asked."""
    parser = argparse.ArgumentParser(prog="python -m bench.corpus", description=__doc__.splitlines()[0])
    parser.add_argument("--claims", type=int, default=1_000_000, help="how many claims (default 1000000)")
    parser.add_argument("--seed", type=int, default=42, help="the seed: the same seed gives the same bytes")
    parser.add_argument("--output", default="-", help="the NDJSON file, - for stdout (default)")
    parser.add_argument(
        "--samples", "--phrases", dest="samples", help="also write sample ids, phrases and source names as JSON here"
    )
    args = parser.parse_args(argv)
    if args.claims < 1:
        parser.error("--claims must be at least 1")
    samples = Samples(args.claims, args.seed) if args.samples else None
    if args.output == "-":
        corpus = write(args.claims, args.seed, sys.stdout.buffer, samples)
        sys.stdout.buffer.flush()
    else:
        with open(args.output, "wb", buffering=1 << 22) as out:
            corpus = write(args.claims, args.seed, out, samples)
    if samples is not None:
        with open(args.samples, "wb") as file:
            file.write(msgspec.json.format(msgspec.json.encode(samples.document(corpus)), indent=1))


if __name__ == "__main__":
    main()
