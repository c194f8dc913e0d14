"""Drawing a trace: a self-contained SVG per claim, that headless Chromium renders to a picture."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import struct
import subprocess
import time
import zlib
from pathlib import Path
from xml.etree import ElementTree

import httpx
import pytest

from service.domain.drawing import STYLES, WIDTH, wrap
from tests.helpers import assert_problem, claim_body, create_claim, hop, inline, relayed_ryder_story

SVG = "{http://www.w3.org/2000/svg}"
CHROMIUM = Path("/usr/bin/chromium")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PNG_END = b"\x00\x00\x00\x00IEND\xaeB`\x82"


async def draw(client: httpx.AsyncClient, claim_id: str) -> tuple[str, ElementTree.Element]:
    """The drawing of a claim as text and parsed; fails the test unless it is an SVG document."""
    response = await client.get(f"/claims/{claim_id}/trace.svg")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("image/svg+xml")
    root = ElementTree.fromstring(response.content)
    assert root.tag == f"{SVG}svg"
    return response.text, root


def sources(root: ElementTree.Element) -> list[ElementTree.Element]:
    """The source boxes, top to bottom."""
    return [g for g in root.iter(f"{SVG}g") if g.get("class") == "provenance-source"]


def cues(root: ElementTree.Element) -> list[str]:
    """The labels of the arrows, top to bottom, lines joined."""
    return [" ".join(words(g)) for g in root.iter(f"{SVG}g") if g.get("class") == "provenance-cue"]


def words(element: ElementTree.Element) -> list[str]:
    """Every drawn line of text under ``element``."""
    return ["".join(span.itertext()) for span in element.iter(f"{SVG}tspan")]


def frame(box: ElementTree.Element) -> ElementTree.Element:
    """The outline of a source box."""
    rect = box.find(f"{SVG}rect")
    assert rect is not None
    return rect


class TestDrawing:
    async def test_a_box_per_hop_from_the_origin_down_to_the_outermost_reporter(
        self, client: httpx.AsyncClient
    ) -> None:
        hina, _ = await relayed_ryder_story(client)
        _, root = await draw(client, hina["id"])
        boxes = sources(root)
        assert [words(box)[0] for box in boxes] == ["Patrick Ryder", "Reuters", "Hina"]
        assert [box.get("data-kind") for box in boxes] == ["person", "outlet", "outlet"]
        assert "OUTLET" in words(boxes[2])

    async def test_each_arrow_is_labelled_with_the_cue_of_the_source_it_comes_from(
        self, client: httpx.AsyncClient
    ) -> None:
        hina, _ = await relayed_ryder_story(client)
        _, root = await draw(client, hina["id"])
        assert cues(root) == ["\u201ctold reporters\u201d", "\u201cciting\u201d", "\u201creports\u201d"]

    async def test_the_origin_is_emphasised_with_its_role_and_organization_under_it(
        self, client: httpx.AsyncClient
    ) -> None:
        hina, _ = await relayed_ryder_story(client)
        _, root = await draw(client, hina["id"])
        origin, *relays = sources(root)
        assert origin.get("data-origin") == "true"
        assert not any(box.get("data-origin") for box in relays)
        assert "ORIGIN" in words(origin)
        widths = [float(frame(box).get("stroke-width", "1")) for box in (origin, *relays)]
        assert widths[0] > max(widths[1:])
        assert "spokesman \u00b7 on behalf of Pentagon" in words(root)

    async def test_anonymous_sources_are_dashed_and_others_are_not(self, client: httpx.AsyncClient) -> None:
        claim = await create_claim(
            client,
            claim_body(
                "Ukraine is targeting itself",
                hop(inline("CNN", "outlet"), "reports"),
                hop(inline("Pentagon sources", "anonymous"), "said"),
            ),
        )
        _, root = await draw(client, claim["id"])
        anonymous, outlet = sources(root)
        assert anonymous.get("data-kind") == "anonymous"
        assert frame(anonymous).get("stroke-dasharray")
        assert frame(outlet).get("stroke-dasharray") is None

    async def test_each_kind_has_its_own_colours(self, client: httpx.AsyncClient) -> None:
        claim = await create_claim(
            client,
            claim_body(
                "x",
                hop(inline("Hina", "outlet"), "reports"),
                hop(inline("Pentagon", "organization"), "said in a statement"),
                hop(inline("Pentagon sources", "anonymous"), "according to"),
                hop(inline("Patrick Ryder"), "told reporters"),
            ),
        )
        _, root = await draw(client, claim["id"])
        fills = {box.get("data-kind"): frame(box).get("fill") for box in sources(root)}
        assert len(fills) == 4
        assert len(set(fills.values())) == 4

    async def test_hops_recorded_in_an_upstream_claim_say_which(self, client: httpx.AsyncClient) -> None:
        hina, wire = await relayed_ryder_story(client)
        _, root = await draw(client, hina["id"])
        # Hina's own second hop names Reuters; only Ryder's words come from the wire story
        via = [any(f"via claim {wire['id'][:8]}" in line for line in words(box)) for box in sources(root)]
        assert via == [True, False, False]

    async def test_names_and_cues_are_escaped(self, client: httpx.AsyncClient) -> None:
        claim = await create_claim(
            client,
            claim_body(
                'Said "it" & <b>bold</b>',
                hop(inline("A & B <Media>", "outlet"), 'writes "quote" & <script>alert(1)</script>'),
                hop(inline("O'Brien & <Sons>"), "said"),
            ),
        )
        text, root = await draw(client, claim["id"])
        assert "A &amp; B &lt;Media&gt;" in text
        assert "<Media>" not in text
        assert "<script" not in text
        assert [words(box)[0] for box in sources(root)] == ["O'Brien & <Sons>", "A & B <Media>"]
        assert '\u201cwrites "quote" & <script>alert(1)</script>\u201d' in " ".join(cues(root))
        assert root.find(f".//{SVG}script") is None

    async def test_the_drawing_fetches_nothing_and_runs_nothing(self, client: httpx.AsyncClient) -> None:
        hina, _ = await relayed_ryder_story(client)
        text, root = await draw(client, hina["id"])
        assert not [e.tag for e in root.iter() if e.tag in {f"{SVG}script", f"{SVG}style", f"{SVG}image"}]
        attributes = [(name, value) for e in root.iter() for name, value in e.attrib.items()]
        assert not [a for a in attributes if a[0].endswith("href") or a[0].startswith("on")]
        assert not [a for a in attributes if "url(" in a[1]]
        assert "@import" not in text
        assert text.count("http") == 1  # the SVG namespace, nothing to fetch
        assert root.get("font-family") == "system-ui, sans-serif"

    async def test_it_has_an_accessible_title_and_description(self, client: httpx.AsyncClient) -> None:
        hina, _ = await relayed_ryder_story(client)
        _, root = await draw(client, hina["id"])
        title, desc = root.find(f"{SVG}title"), root.find(f"{SVG}desc")
        assert title is not None
        assert desc is not None
        assert root.get("role") == "img"
        assert root.get("aria-labelledby") == f"{title.get('id')} {desc.get('id')}"
        assert title.text == "Attribution chain: Austin initiated the conversation"
        assert desc.text is not None
        assert desc.text.startswith("Origin: Patrick Ryder (person, spokesman, on behalf of Pentagon).")

    async def test_sixteen_hops_stay_600_wide_and_the_drawing_grows_down(self, client: httpx.AsyncClient) -> None:
        chain = [hop(inline(f"Outlet number {i} with a rather long name", "outlet"), "citing") for i in range(16)]
        claim = await create_claim(client, claim_body("x", *chain))
        _, root = await draw(client, claim["id"])
        assert len(sources(root)) == 16
        height = float(root.get("height", "0"))
        assert root.get("width") == str(WIDTH)
        assert root.get("viewBox") == f"0 0 {WIDTH} {height:g}"
        assert height > 16 * 100
        for rect in root.iter(f"{SVG}rect"):
            assert 0 <= float(rect.get("x", "0")) + float(rect.get("width", "0")) <= WIDTH
            assert float(rect.get("y", "0")) + float(rect.get("height", "0")) <= height

    async def test_unknown_or_malformed_claim_is_404(self, client: httpx.AsyncClient) -> None:
        for claim_id in ("00000000-0000-0000-0000-000000000000", "not-an-id"):
            response = await client.get(f"/claims/{claim_id}/trace.svg")
            assert_problem(response, 404)

    async def test_the_json_trace_beside_it_still_answers(self, client: httpx.AsyncClient) -> None:
        hina, _ = await relayed_ryder_story(client)
        response = await client.get(f"/claims/{hina['id']}/trace")
        assert response.status_code == 200
        assert response.json()["hops"] == 3


class TestWrap:
    def test_short_text_is_one_line(self) -> None:
        assert wrap("Patrick Ryder", 300, 16, 2) == ["Patrick Ryder"]

    def test_text_past_its_lines_ends_in_an_ellipsis(self) -> None:
        lines = wrap("word " * 200, 300, 16, 2)
        assert len(lines) == 2
        assert lines[-1].endswith("\u2026")

    def test_a_word_longer_than_a_line_is_cut(self) -> None:
        lines = wrap("x" * 200, 300, 16, 3)
        assert len(lines) == 3
        assert all(len(line) < 200 for line in lines)


def decode_png(data: bytes) -> tuple[int, int, list[bytes]]:
    """Width, height and RGB rows of an 8-bit RGB or RGBA PNG, decoded with the standard library alone."""
    assert data.startswith(PNG_SIGNATURE)
    chunks: dict[bytes, list[bytes]] = {}
    position = len(PNG_SIGNATURE)
    while position < len(data):
        length, kind = struct.unpack(">I4s", data[position : position + 8])
        chunks.setdefault(kind, []).append(data[position + 8 : position + 8 + length])
        position += 12 + length
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", chunks[b"IHDR"][0])
    assert (depth, interlace) == (8, 0) and colour in {2, 6}, "an 8-bit, non-interlaced RGB(A) PNG"
    step = 3 if colour == 2 else 4
    stride = width * step
    raw = zlib.decompress(b"".join(chunks[b"IDAT"]))
    rows: list[bytes] = []
    above = bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        line = unfilter(raw[start], bytearray(raw[start + 1 : start + 1 + stride]), above, step)
        rows.append(b"".join(line[i : i + 3] for i in range(0, stride, step)))
        above = line
    return width, height, rows


def unfilter(kind: int, line: bytearray, above: bytearray, step: int) -> bytearray:
    """Undo one row's PNG filter (none, sub, up, average or Paeth) in place."""
    for i in range(len(line)) if kind else ():
        left = line[i - step] if i >= step else 0
        up, up_left = above[i], (above[i - step] if i >= step else 0)
        if kind == 1:
            predicted = left
        elif kind == 2:
            predicted = up
        elif kind == 3:
            predicted = (left + up) // 2
        else:
            estimate = left + up - up_left
            pa, pb, pc = abs(estimate - left), abs(estimate - up), abs(estimate - up_left)
            predicted = left if pa <= pb and pa <= pc else up if pb <= pc else up_left
        line[i] = (line[i] + predicted) & 0xFF
    return line


def screenshot(svg: Path, png: Path, height: int, profile: Path) -> bytes:
    """Render ``svg`` with headless Chromium into ``png``; polls for a complete file, up to a deadline."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make test-deps` (installs Debian's chromium)")
    command = [
        str(CHROMIUM),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        f"--user-data-dir={profile}",
        f"--window-size={WIDTH},{height}",
        f"--screenshot={png}",
        svg.as_uri(),
    ]
    deadline = time.monotonic() + 90
    log = profile.parent / "chromium.log"
    with (
        log.open("wb") as errors,
        subprocess.Popen(command, stdout=errors, stderr=errors, start_new_session=True) as chromium,
    ):
        try:
            while not (png.exists() and png.read_bytes().endswith(PNG_END)):
                if time.monotonic() > deadline:
                    pytest.fail(f"no screenshot from chromium in 90 s:\n{log.read_text(errors='replace')[-2000:]}")
                try:
                    chromium.wait(timeout=0.25)
                except subprocess.TimeoutExpired:
                    continue
                if not png.exists():
                    pytest.fail(f"chromium exited {chromium.returncode}:\n{log.read_text(errors='replace')[-2000:]}")
        finally:
            with contextlib.suppress(ProcessLookupError):  # its helpers too, the whole session it leads
                os.killpg(chromium.pid, signal.SIGKILL)
    return png.read_bytes()


class TestRendering:
    async def test_headless_chromium_renders_the_drawing_not_blank(
        self, client: httpx.AsyncClient, tmp_path: Path
    ) -> None:
        hina, _ = await relayed_ryder_story(client)
        text, root = await draw(client, hina["id"])
        svg = tmp_path / "trace.svg"
        svg.write_text(text, encoding="utf-8")
        height = int(float(root.get("height", "0")))
        png = tmp_path / "trace.png"
        data = await asyncio.to_thread(screenshot, svg, png, height, tmp_path / "profile")
        width, rendered_height, rows = decode_png(data)
        assert (width, rendered_height) == (WIDTH, height)
        pixels = [row[i : i + 3] for row in rows for i in range(0, len(row), 3)]
        inked = sum(pixel != b"\xff\xff\xff" for pixel in pixels)
        colours = set(pixels)
        assert inked > len(pixels) // 20, f"only {inked} of {len(pixels)} pixels are not white"
        assert len(colours) > 2
        outlet_fill = bytes.fromhex(STYLES["outlet"].fill.removeprefix("#"))
        assert outlet_fill in colours, "the outlet boxes are filled with their colour"
