"""``/ui/``: find who said it, a claim, a source. Pages render the domain's own answers (the Structs the
JSON API returns), never the API over HTTP; they work without JavaScript.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any
from uuid import UUID

from litestar import Request, Router, get
from litestar.exceptions import HTTPException, NotFoundException
from litestar.params import Parameter
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Redirect, Template
from litestar.static_files import create_static_files_router
from litestar.status_codes import HTTP_303_SEE_OTHER
from litestar.template.config import TemplateConfig
from markupsafe import Markup

from service.api.connections import Conn
from service.api.params import ClaimIdPath, SourceIdPath
from service.domain import claims, history, propagation, relations, reviews, sources, traces
from service.domain.claims import ClaimFilters
from service.domain.drawing import draw_network, draw_trace
from service.domain.ids import path_id
from service.errors import Forbidden, InvalidInput, Moved, ProvenanceError, Unauthorized
from service.model import Claim, Trace
from service.pages.common import PAGE_HEADERS
from service.pages.record import RECORD_ROUTES
from service.pages.safety import page_middleware
from service.settings import AppSettings, Settings

HERE = Path(__file__).parent
PAGE_SIZE = 10
MAX_MATCHES = 50
# The sources drawn on each side of a source's network.
NETWORK_LIMIT = 8


def template_config() -> TemplateConfig[JinjaTemplateEngine]:
    """Jinja2 over ``templates/``, autoescaping everything."""

    def configure(engine: JinjaTemplateEngine) -> None:
        engine.engine.autoescape = True
        engine.engine.filters["drawing"] = drawing

    return TemplateConfig(directory=HERE / "templates", engine=JinjaTemplateEngine, engine_callback=configure)


def drawing(trace: Trace) -> str:
    """The trace's SVG without its XML declaration, to sit inside the page (it escapes its own text)."""
    svg = draw_trace(trace)
    return Markup(svg.split("?>", 1)[1] if svg.startswith("<?xml") else svg)


@get("/", include_in_schema=False, opt={"scope": "public"})
async def root(request: Request[Any, Any, Any]) -> Redirect:
    """A browser asking for ``/`` gets the workspace; anything else, a 404 pointing at the API's docs."""
    if request.accept.best_match(["text/html", "application/json"]) == "text/html":
        return Redirect("/ui/", status_code=HTTP_303_SEE_OTHER)
    raise NotFoundException("nothing here: the API is described at /schema, the workspace is at /ui/")


@get("/", name="find")
async def find(
    conn: Conn,
    settings: AppSettings,
    statement: Annotated[str | None, Parameter(max_length=2000)] = None,
    page: Annotated[int, Parameter(ge=1, le=MAX_MATCHES // PAGE_SIZE)] = 1,
    include_retracted: Annotated[bool, Parameter(description="Also match retracted claims.")] = False,
) -> Template:
    """The search page: a statement in, its best matches out, each with its chain drawn."""
    context: dict[str, Any] = {"statement": statement or "", "page": page, "include_retracted": include_retracted}
    if statement and statement.strip():
        try:
            matches = await traces.trace_statement(
                conn, statement, page * PAGE_SIZE + 1, settings.trace_max_depth, include_retracted=include_retracted
            )
        except InvalidInput as problem:
            context["error"] = problem.detail
            matches = []
        context["matches"] = matches[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
        context["more"] = len(matches) > page * PAGE_SIZE and page < MAX_MATCHES // PAGE_SIZE
        context["first_rank"] = (page - 1) * PAGE_SIZE + 1
    return Template(template_name="find.html", context=context, headers=PAGE_HEADERS)


@get("/claims/{claim_id:str}", name="claim")
async def claim(conn: Conn, settings: AppSettings, claim_id: ClaimIdPath) -> Template:
    """A claim: where it appeared, its chain, origin, upstream claims, relations, reviews and revisions."""
    cid = _id(claim_id)
    stored: Claim = (await claims.read(conn, cid)).claim
    trace = await traces.trace(conn, cid, settings.trace_max_depth)
    upstream_ids = list(dict.fromkeys(UUID(hop.claim_id) for hop in trace.path if hop.claim_id != stored.id))
    upstream = await claims.read_many(conn, upstream_ids)
    context = {
        "claim": stored,
        "trace": trace,
        "upstream": upstream,
        "relations": await relations.of_claim(conn, cid),
        "reviews": await reviews.of_claim(conn, cid),
        "revisions": await history.revisions(conn, cid),
    }
    return Template(template_name="claim.html", context=context, headers=PAGE_HEADERS)


@get("/sources/{source_id:str}", name="source")
async def source(
    conn: Conn,
    source_id: SourceIdPath,
    originated_page: Annotated[int, Parameter(ge=1, le=100)] = 1,
    relayed_page: Annotated[int, Parameter(ge=1, le=100)] = 1,
) -> Template | Redirect:
    """A source: its names, affiliations, the claims it originated and relayed (paged)."""
    sid = _id(source_id)
    try:
        stored = await sources.read(conn, sid)
    except Moved as moved:
        return Redirect(f"/ui/sources/{moved.survivor}", status_code=HTTP_303_SEE_OTHER)
    context = {
        "source": stored.source,
        "network": Markup(draw_network(await propagation.network(conn, sid, NETWORK_LIMIT))),
        "originated": await _claims(conn, ClaimFilters(origin=sid), originated_page),
        "relayed": await _claims(conn, ClaimFilters(via=sid), relayed_page),
        "originated_page": originated_page,
        "relayed_page": relayed_page,
    }
    return Template(template_name="source.html", context=context, headers=PAGE_HEADERS)


async def _claims(conn: Conn, filters: ClaimFilters, page: int) -> dict[str, Any]:
    """One page of a source's claims, newest first (keyset pages walked from the newest), and whether more follow."""
    before: int | None = None
    for _ in range(page - 1):
        found = await claims.page(conn, filters, before, PAGE_SIZE + 1)
        if len(found) <= PAGE_SIZE:
            return {"items": [], "more": False}
        before = found[PAGE_SIZE - 1].seq
    found = await claims.page(conn, filters, before, PAGE_SIZE + 1)
    return {"items": [stored.claim for stored in found[:PAGE_SIZE]], "more": len(found) > PAGE_SIZE}


def _id(value: str) -> UUID:
    return path_id(value, "id")


def error_page(request: Request[Any, Any, Any], exc: Exception) -> Template:
    """A page's problem as a page: what went wrong, in words, with the status it is. A page that needs
    a key (or a better one) answers with the form to enter it, and comes back once it is entered."""
    if isinstance(exc, Unauthorized | Forbidden):
        target = request.url.path if request.method == "GET" else "/ui/record"
        return Template(
            template_name="key.html",
            context={"current": None, "next": target, "error": _key_needed(exc)},
            status_code=exc.status,
            headers=PAGE_HEADERS,
        )
    if isinstance(exc, ProvenanceError):
        status, detail = exc.status, exc.detail
    elif isinstance(exc, HTTPException):
        status, detail = exc.status_code, exc.detail
    else:
        raise exc
    return Template(
        template_name="error.html",
        context={"status": status, "detail": detail},
        status_code=status,
        headers=PAGE_HEADERS,
    )


def _key_needed(exc: Unauthorized | Forbidden) -> str:
    if isinstance(exc, Forbidden):
        return f"This page needs a key with the {exc.extra.get('needed', 'write')} scope; the key in use has less."
    if "invalid_token" in (exc.headers or {}).get("WWW-Authenticate", ""):
        return "The key in use is unknown or revoked: enter another one."
    return "This page needs an API key: enter it once and it is kept until you sign out."


def ui_router(settings: Settings) -> Router:
    """Every page under ``/ui/``, and its stylesheet under ``/ui/static/``, outside the API's document.
    Pages take the key from the session a person entered it in (``/ui/key``); every form is CSRF-checked."""
    static = create_static_files_router(path="/ui/static", directories=[HERE / "static"], opt={"scope": "public"})
    pages = Router(
        "/ui",
        route_handlers=[find, claim, source, *RECORD_ROUTES],
        include_in_schema=False,
        opt={"scope": "read", "session_key": True},
        middleware=page_middleware(settings),
        exception_handlers={ProvenanceError: error_page, HTTPException: error_page},
    )
    return Router("/", route_handlers=[pages, static, root], include_in_schema=False)
