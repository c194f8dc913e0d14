"""``/ui/record``: an article's claims recorded from a form, and ``/ui/key``: the key that lets a person write.

The form holds the article (title, address, date, outlet, text) and one row a claim: its text and
kind, and its chain, a hop a line (the speaker, a picker of stored sources, cue, role, whom they speak
for, anonymous). "Read the claims" fills the rows from the extraction model; rows can also be added
and filled by hand. Every button posts the whole form back and the page comes back with the change,
so the form works without JavaScript.

"Record" stores the accepted rows through ``claims.create``, the rules of ``POST /claims``, all in
one transaction: each row in its own savepoint so that every row's error is found, and any error
rolls the whole article back and shows the errors beside their rows. The article's rows get claim ids
derived from a token of the form, so a form sent twice stores its claims once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Annotated, Any
from uuid import UUID, uuid4, uuid5

import asyncpg
from litestar import Request, get, post
from litestar.datastructures import FormMultiDict
from litestar.params import Parameter
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_303_SEE_OTHER

from service.api.auth import SESSION_KEY
from service.api.connections import Conn
from service.api.strict import validated
from service.domain import claims, extraction, keys, sources, traces
from service.domain.keys import ApiKey
from service.errors import AmbiguousSource, FieldError, InvalidInput, ProvenanceError
from service.extraction.words import kind_of
from service.model import AppearedIn, ClaimIn, ExtractIn, Extraction, Source
from service.pages.common import PAGE_HEADERS
from service.settings import AppSettings

KINDS = ("quote", "paraphrase")
SOURCE_KINDS = ("person", "organization", "outlet")
MAX_ROWS = 200
MAX_HOPS = 16
PICKER_RESULTS = 6
# Claim ids of one form's rows: uuid5 of the form's token and the row's number.
RECORDED = UUID("8b1f7a52-6a1e-4a63-9d55-2f7f1c9b0e11")
_CHAIN_FIELD = re.compile(r"^chain\[(\d+)\]\.?(.*)$")


@dataclass
class HopRow:
    """One hop as the form holds it."""

    name: str = ""
    source_id: str = ""
    """The stored source picked for it; empty: a source named ``name``, reused if stored, else created."""
    offered: list[str] = field(default_factory=list)
    """The stored sources the picker offers (ids)."""
    kind: str = "person"
    anonymous: bool = False
    organization: str = ""
    cue: str = ""
    role: str = ""

    def body(self) -> dict[str, Any]:
        """Its ``HopIn``: the picked source by id, else the named one inline."""
        hop: dict[str, Any] = {"cue": self.cue.strip()}
        if self.role.strip():
            hop["role"] = self.role.strip()
        if self.source_id:
            hop["source_id"] = self.source_id
            return hop
        source: dict[str, Any] = {"name": self.name.strip(), "kind": "anonymous" if self.anonymous else self.kind}
        if self.organization.strip():
            organization = self.organization.strip()
            kind = "outlet" if kind_of(organization) == "outlet" else "organization"
            source["affiliations"] = [
                {"organization": {"name": organization, "kind": kind}, "role": self.role.strip() or None}
            ]
        hop["source"] = source
        return hop


@dataclass
class ClaimRow:
    """One proposed or hand-written claim as the form holds it."""

    accept: bool = True
    text: str = ""
    kind: str = "quote"
    hops: list[HopRow] = field(default_factory=lambda: [HopRow()])
    confidence: str = ""
    extracted_by: str = ""
    problem: str = ""
    errors: dict[str, str] = field(default_factory=dict)
    """Messages by the form field they belong beside (``r0-h1-cue``); ``row`` for the row as a whole."""


@dataclass
class Article:
    """The whole form."""

    title: str = ""
    url: str = ""
    published: str = ""
    outlet: str = ""
    text: str = ""
    token: str = field(default_factory=lambda: str(uuid4()))
    rows: list[ClaimRow] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)

    def appeared_in(self) -> dict[str, Any]:
        """Where the claims appeared, as ``AppearedIn`` reads it."""
        appeared: dict[str, Any] = {}
        for name, value in (("title", self.title), ("url", self.url), ("outlet", self.outlet)):
            if value.strip():
                appeared[name] = value.strip()
        if self.published.strip():
            appeared["published_at"] = f"{self.published.strip()}T00:00:00Z"
        return appeared


def read_form(form: FormMultiDict) -> Article:
    """The article and its rows from the posted form (missing fields are empty)."""

    def text(name: str) -> str:
        value = form.get(name)
        return value if isinstance(value, str) else ""

    article = Article(
        title=text("title"),
        url=text("url"),
        published=text("published"),
        outlet=text("outlet"),
        text=text("text"),
        token=text("token") or str(uuid4()),
    )
    for i in range(min(_count(text("rows")), MAX_ROWS)):
        row = ClaimRow(
            accept=bool(text(f"r{i}-accept")),
            text=text(f"r{i}-text"),
            kind=text(f"r{i}-kind") if text(f"r{i}-kind") in KINDS else "quote",
            hops=[],
            confidence=text(f"r{i}-confidence"),
            extracted_by=text(f"r{i}-extracted"),
        )
        for j in range(min(_count(text(f"r{i}-hops")), MAX_HOPS)):
            p = f"r{i}-h{j}-"
            row.hops.append(
                HopRow(
                    name=text(p + "name"),
                    source_id=text(p + "source"),
                    offered=[value for value in form.getall(p + "offered", []) if isinstance(value, str)],
                    kind=text(p + "kind") if text(p + "kind") in SOURCE_KINDS else "person",
                    anonymous=bool(text(p + "anonymous")),
                    organization=text(p + "organization"),
                    cue=text(p + "cue"),
                    role=text(p + "role"),
                )
            )
        article.rows.append(row)
    return article


def _count(value: str) -> int:
    return int(value) if value.isdigit() else 0


def rows_of(found: Extraction) -> list[ClaimRow]:
    """The extraction's proposals as rows to review."""
    rows = []
    for proposal in found.claims:
        hops = []
        for proposed, hop in zip(proposal.hops, proposal.claim.chain, strict=True):
            speaker, match = proposed.speaker, proposed.source
            new = match.new
            hops.append(
                HopRow(
                    name=new.name if new else speaker.name,
                    source_id=match.id or "",
                    offered=[match.id] if match.id else [c.id for c in match.candidates],
                    kind=new.kind if new and new.kind in SOURCE_KINDS else "person",
                    anonymous=speaker.anonymous,
                    organization=speaker.organization or "",
                    cue=hop.cue,
                    role=hop.role or "",
                )
            )
        rows.append(
            ClaimRow(
                accept=proposal.confidence >= 0.5,
                text=proposal.claim.text,
                kind=proposal.claim.kind,
                hops=hops,
                confidence=f"{proposal.confidence:.2f}",
                extracted_by=found.model,
            )
        )
    return rows


async def key_of(request: Request[Any, Any, Any], conn: asyncpg.Connection) -> ApiKey | None:
    """The key this person entered, if it is still good."""
    secret = request.session.get(SESSION_KEY)
    return await keys.authenticate(conn, secret) if isinstance(secret, str) else None


def _local(target: str | None) -> str:
    """Where to go after entering a key: a page of the workspace, never another site."""
    return target if target and re.fullmatch(r"/ui/[A-Za-z0-9/_.?=&%+-]*", target) else "/ui/record"


@get("/key", name="key", opt={"scope": "public"})
async def key_page(
    request: Request[Any, Any, Any], conn: Conn, next: Annotated[str | None, Parameter(max_length=500)] = None
) -> Template:
    """The form to enter a key, and which key is in use."""
    context = {"current": await key_of(request, conn), "next": _local(next)}
    return Template(template_name="key.html", context=context, headers=PAGE_HEADERS)


@post("/key", name="enter-key", opt={"scope": "public"}, status_code=HTTP_303_SEE_OTHER)
async def enter_key(request: Request[Any, Any, Any], conn: Conn) -> Template | Redirect:
    """Check the key and keep it in the session; back to the page that asked for it."""
    form = await request.form()
    secret = (form.get("key") or "").strip()
    target = _local(form.get("next"))
    key = await keys.authenticate(conn, secret) if secret else None
    if key is None:
        message = "Enter a key." if not secret else "This key is unknown or revoked: check it, or ask for a new one."
        context = {"current": None, "next": target, "error": message}
        return Template(template_name="key.html", context=context, status_code=422, headers=PAGE_HEADERS)
    request.set_session({SESSION_KEY: secret})
    return Redirect(target, status_code=HTTP_303_SEE_OTHER)


@post("/key/forget", name="forget-key", opt={"scope": "public"}, status_code=HTTP_303_SEE_OTHER)
async def forget_key(request: Request[Any, Any, Any]) -> Redirect:
    """Sign out: the session forgets the key."""
    request.clear_session()
    return Redirect("/ui/", status_code=HTTP_303_SEE_OTHER)


@get("/record", name="record", opt={"scope": "write"})
async def record_page() -> Template:
    """An empty form: an article to read, or claims to write by hand."""
    return _form(Article())


@post("/record", name="record-post", opt={"scope": "write"}, status_code=200)
async def record(request: Request[Any, Any, Any], conn: Conn) -> Template | Redirect:
    """The form's buttons: read the claims, add or remove a row or hop, find a source, record."""
    form = await request.form()
    article = read_form(form)
    action = form.get("action") or ""
    if action == "read":
        return await _read(conn, article)
    if action == "add-row":
        article.rows.append(ClaimRow(accept=True))
    elif m := re.fullmatch(r"add-hop-(\d+)", action):
        _row(article, m[1]).hops.append(HopRow())
    elif m := re.fullmatch(r"remove-hop-(\d+)-(\d+)", action):
        row = _row(article, m[1])
        if len(row.hops) > 1:
            del row.hops[min(int(m[2]), len(row.hops) - 1)]
    elif m := re.fullmatch(r"find-(\d+)-(\d+)", action):
        await _find(conn, article, int(m[1]), int(m[2]))
    elif action == "record":
        stored = await _store(conn, article, request.state.api_key)
        if stored:
            query = "&".join(f"claim={claim_id}" for claim_id in stored)
            return Redirect(f"/ui/recorded?{query}", status_code=HTTP_303_SEE_OTHER)
    return await _render(conn, article)


def _row(article: Article, number: str) -> ClaimRow:
    index = int(number)
    if index >= len(article.rows):
        raise InvalidInput.field("action", "that row is not on the form")
    return article.rows[index]


async def _read(conn: asyncpg.Connection, article: Article) -> Template:
    """The extraction's proposals as the form's rows, replacing the rows the form had."""
    if not article.text.strip():
        article.errors["text"] = "Paste the article's text to read its claims."
        return await _render(conn, article)
    try:
        appeared = validated(article.appeared_in(), AppearedIn)
        body = validated({"text": article.text}, ExtractIn)
    except InvalidInput as problem:
        _article_errors(article, problem)
        return await _render(conn, article)
    body.appeared_in = appeared
    article.rows = rows_of(await extraction.extract(conn, body))
    if not article.rows:
        article.errors["text"] = "No attribution was found in this text: add the claims by hand."
    return await _render(conn, article)


def _article_errors(article: Article, problem: InvalidInput) -> None:
    for error in problem.errors or [FieldError("", problem.detail)]:
        name = error["field"].split(".")[0].replace("published_at", "published").replace("appeared_in", "")
        article.errors[name if name in ("title", "url", "published", "outlet", "text") else "text"] = in_words(
            error["message"]
        )


async def _find(conn: asyncpg.Connection, article: Article, i: int, j: int) -> None:
    """The picker: stored sources the hop's name may mean, offered to choose from."""
    row = _row(article, str(i))
    if j >= len(row.hops):
        raise InvalidInput.field("action", "that hop is not on the form")
    hop = row.hops[j]
    name = hop.name.strip()
    if not name:
        row.errors[f"r{i}-h{j}-name"] = "Type a name to find."
        return
    found = await sources.find(conn, name, kind=None, member_of=None, after=None, limit=PICKER_RESULTS)
    hop.offered = list(dict.fromkeys([*([hop.source_id] if hop.source_id else []), *(s.source.id for s in found)]))
    if not found:
        row.errors[f"r{i}-h{j}-name"] = f"No stored source is called {name!r}: it will be created."


async def _store(conn: asyncpg.Connection, article: Article, key: ApiKey) -> list[UUID]:
    """Store every accepted row, all or nothing; the ids stored, or none with each row's errors set."""
    accepted = [(i, row) for i, row in enumerate(article.rows) if row.accept]
    if not accepted:
        article.errors["rows"] = "Tick at least one claim to record."
        return []
    try:
        appeared = validated(article.appeared_in(), AppearedIn)
    except InvalidInput as problem:
        _article_errors(article, problem)
        return []
    ids = [uuid5(RECORDED, f"{article.token}:{i}") for i, _ in accepted]
    if already := await claims.read_many(conn, ids):
        return [UUID(claim.id) for claim in already]  # this form was recorded before: its claims, once
    bodies: list[tuple[int, ClaimRow, ClaimIn]] = []
    for i, row in accepted:
        body: dict[str, Any] = {"text": row.text.strip(), "kind": row.kind, "chain": [h.body() for h in row.hops]}
        if row.extracted_by:
            body["extracted_by"] = row.extracted_by
        try:
            claim = validated(body, ClaimIn)
        except InvalidInput as problem:
            _row_errors(i, row, problem)
            continue
        claim.appeared_in = appeared
        bodies.append((i, row, claim))
    if len(bodies) < len(accepted):
        return []
    transaction = conn.transaction()
    await transaction.start()
    failed = False
    try:
        for (i, row, claim), claim_id in zip(bodies, ids, strict=True):
            try:
                await claims.create(conn, claim, id=claim_id, actor=key.name)
            except ProvenanceError as problem:
                failed = True
                _row_errors(i, row, problem)
    except BaseException:
        await transaction.rollback()
        raise
    if failed:
        await transaction.rollback()
        return []
    await transaction.commit()
    return ids


def in_words(message: str) -> str:
    """A validation message as a person reads it beside a field."""
    if message.startswith("Expected `str` of length >= 1") or message.startswith("Expected `str` matching regex"):
        return "This cannot be left empty."
    if (m := re.match(r"Expected `str` of length <= (\d+)", message)) is not None:
        return f"At most {int(m[1]):,} characters."
    return message[:1].upper() + message[1:]


def _row_errors(i: int, row: ClaimRow, problem: ProvenanceError) -> None:
    """Each of the problem's fields beside the input it names; what names none, on the row."""
    for error in problem.errors:
        path = error["field"]
        name = "row"
        if path in ("text", "kind"):
            name = f"r{i}-{path}"
        elif m := _CHAIN_FIELD.match(path):
            j, rest = m[1], m[2].split(".")
            part = {"cue": "cue", "role": "role"}.get(rest[0], "name")
            if rest[0] == "source" and len(rest) > 1 and rest[1] == "affiliations":
                part = "organization"
            name = f"r{i}-h{j}-{part}"
        row.errors[name] = in_words(error["message"])
    placed = problem.errors and "row" not in row.errors
    row.problem = "Not recorded: correct what is marked below." if placed else in_words(problem.detail)
    if isinstance(problem, AmbiguousSource) and (m := _CHAIN_FIELD.match(problem.errors[0]["field"])):
        j = int(m[1])
        row.errors[f"r{i}-h{j}-name"] = "Several stored sources have this name: pick one below."
        if j < len(row.hops):
            offered = [candidate["id"] for candidate in problem.extra.get("candidates", [])]
            row.hops[j].offered = list(dict.fromkeys([*row.hops[j].offered, *offered]))


def _form(article: Article, sources_by_id: dict[str, Source] | None = None, status: int = 200) -> Template:
    context = {"article": article, "sources": sources_by_id or {}, "kinds": KINDS, "source_kinds": SOURCE_KINDS}
    return Template(template_name="record.html", context=context, status_code=status, headers=PAGE_HEADERS)


async def _render(conn: asyncpg.Connection, article: Article) -> Template:
    """The form again, with the stored sources its pickers offer; 422 while it holds errors."""
    wanted: list[UUID] = []
    for row in article.rows:
        for hop in row.hops:
            for source_id in dict.fromkeys([*hop.offered, *([hop.source_id] if hop.source_id else [])]):
                try:
                    wanted.append(UUID(source_id))
                except ValueError:
                    raise InvalidInput.field("source", "a picked source is not an id") from None
    found = {source.id: source for source in await sources.read_many(conn, wanted)}
    errors = article.errors or any(row.errors or row.problem for row in article.rows)
    return _form(article, found, 422 if errors else 200)


@get("/recorded", name="recorded", opt={"scope": "read"})
async def recorded(
    conn: Conn, settings: AppSettings, claim: Annotated[list[str], Parameter(max_items=MAX_ROWS)]
) -> Template:
    """What an article's form stored: each claim with its chain traced."""
    ids = []
    for value in claim[:MAX_ROWS]:
        try:
            ids.append(UUID(value))
        except ValueError:
            raise InvalidInput.field("claim", f"{value!r} is not a claim id") from None
    found = [await traces.trace(conn, cid, settings.trace_max_depth) for cid in ids]
    return Template(template_name="recorded.html", context={"traces": found}, headers=PAGE_HEADERS)


RECORD_ROUTES = [key_page, enter_key, forget_key, record_page, record, recorded]
