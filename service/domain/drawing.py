"""The picture of a trace: one self-contained SVG, the origin on top and the statement travelling down.

Pure string building, no I/O. Everything a reader sees is XML-escaped. The drawing uses presentation
attributes only (no ``<style>``, no ``<script>``, no fonts or images to fetch) and defines no ids but
the two its accessible name needs, prefixed with the claim's id, so several drawings can be pasted
into one page without their styles or ids clashing.
"""

from __future__ import annotations

import html
import re
import unicodedata
from typing import NamedTuple

from service.model import PathHop, SourceKind, SourceNetwork, SourceSummary, Trace

WIDTH = 600
MARGIN = 24
BOX_X, BOX_W = 110, 380
CENTRE = BOX_X + BOX_W // 2
FONT = "system-ui, sans-serif"
INK, MUTED, RULE = "#1f2328", "#57606a", "#d0d7de"
ELLIPSIS, OPEN_QUOTE, CLOSE_QUOTE = "\u2026", "\u201c", "\u201d"


class KindStyle(NamedTuple):
    """How a kind of source is drawn: colours, corner radius, dashes."""

    label: str
    fill: str
    stroke: str
    ink: str
    radius: int
    dash: str | None = None


STYLES: dict[SourceKind, KindStyle] = {
    "person": KindStyle("person", "#e7f0fb", "#2563a8", "#1d4f86", radius=30),
    "organization": KindStyle("organization", "#e8f5eb", "#2e7d43", "#22603a", radius=0),
    "outlet": KindStyle("outlet", "#fdf0e1", "#b85c14", "#8f4610", radius=5),
    "anonymous": KindStyle("anonymous", "#f3f3f5", "#6b6f76", "#50545a", radius=12, dash="7 4"),
}

_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def xml(text: str) -> str:
    """``text`` safe inside an element or a quoted attribute; characters XML forbids become U+FFFD."""
    return html.escape(_NOT_XML.sub("\ufffd", text), quote=True)


def _width(text: str, size: float, bold: bool = False) -> float:
    """Rendered width in px, estimated on the generous side (no font metrics at hand)."""
    ems = sum(
        1.0 if unicodedata.east_asian_width(c) in "WF" else 0.68 if c.isupper() or c.isdigit() else 0.58 for c in text
    )
    return ems * size * (1.08 if bold else 1.0)


def wrap(text: str, max_px: float, size: float, max_lines: int, bold: bool = False) -> list[str]:
    """``text`` broken into lines that fit ``max_px``; past ``max_lines`` the last one ends in an ellipsis."""
    lines: list[str] = []
    line = ""
    for word in text.split():
        candidate = f"{line} {word}" if line else word
        if _width(candidate, size, bold) <= max_px:
            line = candidate
            continue
        if line:
            lines.append(line)
        line = ""
        for char in word:  # a word longer than a line is cut where it must be
            if line and _width(line + char, size, bold) > max_px:
                lines.append(line)
                line = ""
            line += char
    if line:
        lines.append(line)
    if len(lines) > max_lines:
        last = lines[max_lines - 1]
        while last and _width(last + ELLIPSIS, size, bold) > max_px:
            last = last[:-1]
        lines = [*lines[: max_lines - 1], last.rstrip() + ELLIPSIS]
    return lines


def _text(lines: list[str], x: float, y: float, size: float, leading: float, **attributes: str) -> str:
    """Lines of text, the first baseline at ``y``; ``font_weight`` and the like become attributes."""
    extra = "".join(f' {name.replace("_", "-")}="{xml(value)}"' for name, value in attributes.items())
    spans = "".join(f'<tspan x="{x:g}" y="{y + i * leading:g}">{xml(line)}</tspan>' for i, line in enumerate(lines))
    return f'<text font-size="{size:g}"{extra}>{spans}</text>'


class Drawing:
    """Elements laid out from the top down; ``y`` is where the next one starts."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.y = float(MARGIN)

    def header(self, trace: Trace) -> None:
        """A kicker line, then the claim's text, quoted, on at most three lines."""
        hops = f"{trace.hops} hop" + ("" if trace.hops == 1 else "s")
        kicker = f"ATTRIBUTION CHAIN \u00b7 {trace.claim.kind.upper()} \u00b7 {hops.upper()}"
        self.parts.append(_text([kicker], MARGIN, self.y + 11, 11, 0, fill=MUTED, letter_spacing="0.06em"))
        quoted = f"{OPEN_QUOTE}{' '.join(trace.claim.text.split())}{CLOSE_QUOTE}"
        lines = wrap(quoted, WIDTH - 2 * MARGIN, 17, 3, bold=True)
        self.parts.append(_text(lines, MARGIN, self.y + 38, 17, 23, fill=INK, font_weight="600"))
        self.y += 38 + 23 * (len(lines) - 1) + 18
        self.parts.append(
            f'<line x1="{MARGIN}" y1="{self.y:g}" x2="{WIDTH - MARGIN}" y2="{self.y:g}" stroke="{RULE}"/>'
        )
        self.y += 22

    def upstream_note(self, depth: int) -> None:
        """Above the top box when the chain goes deeper than the service follows."""
        note = f"the chain goes on upstream: not followed beyond {depth} link" + ("" if depth == 1 else "s")
        self.parts.append(_text([note], CENTRE, self.y + 12, 12, 0, fill=MUTED, text_anchor="middle"))
        self.parts.append(
            f'<line x1="{CENTRE}" y1="{self.y + 20:g}" x2="{CENTRE}" y2="{self.y + 40:g}" '
            f'stroke="{MUTED}" stroke-width="1.5" stroke-dasharray="3 3"/>'
        )
        self.y += 40

    def box(self, hop: PathHop, is_origin: bool, via_claim: str | None) -> None:
        """A source: shape and colour by kind, dashed when anonymous, heavier when it is the origin."""
        style = STYLES[hop.source.kind]
        size = 17 if is_origin else 16
        names = wrap(hop.source.name, BOX_W - 40, size, 2, bold=True)
        top = self.y + (10 if is_origin else 0)
        height = 30 + 21 * len(names) + 16
        radius = min(style.radius, height // 2)
        stroke_width = 3 if is_origin else 1.5
        dash = f' stroke-dasharray="{style.dash}"' if style.dash else ""
        label = style.label.upper() + (f" \u00b7 via claim {via_claim[:8]}" if via_claim else "")
        parts = [
            f"<title>{xml(hop.source.name)} ({style.label}{', the origin' if is_origin else ''})</title>",
            f'<rect x="{BOX_X}" y="{top:g}" width="{BOX_W}" height="{height}" rx="{radius}" '
            f'fill="{style.fill}" stroke="{style.stroke}" stroke-width="{stroke_width}"{dash}/>',
        ]
        if hop.source.kind == "outlet":  # a masthead-like band sets outlets apart without colour
            parts.append(
                f'<path d="M {BOX_X + 9} {top:g} H {BOX_X + radius} A {radius} {radius} 0 0 0 {BOX_X} {top + radius:g} '
                f"V {top + height - radius:g} A {radius} {radius} 0 0 0 {BOX_X + radius} {top + height:g} "
                f'H {BOX_X + 9} Z" fill="{style.stroke}"/>'
            )
        parts.append(
            _text(
                names,
                CENTRE,
                top + 28,
                size,
                21,
                fill=INK,
                font_weight="700" if is_origin else "600",
                text_anchor="middle",
            )
        )
        parts.append(
            _text(
                [label],
                CENTRE,
                top + 28 + 21 * (len(names) - 1) + 20,
                11,
                0,
                fill=style.ink,
                letter_spacing="0.06em",
                text_anchor="middle",
            )
        )
        if is_origin:
            parts.append(
                f'<rect x="{BOX_X + 18}" y="{top - 10:g}" width="62" height="20" rx="10" fill="{INK}"/>'
                + _text(
                    ["ORIGIN"],
                    BOX_X + 49,
                    top + 4,
                    11,
                    0,
                    fill="#ffffff",
                    font_weight="700",
                    letter_spacing="0.08em",
                    text_anchor="middle",
                )
            )
        marks = f'class="provenance-source" data-kind="{hop.source.kind}"' + (
            ' data-origin="true"' if is_origin else ""
        )
        self.parts.append(f"<g {marks}>{''.join(parts)}</g>")
        self.y = top + height

    def speaking_as(self, role: str | None, on_behalf_of: SourceSummary | None) -> None:
        """Under the origin: in which role it spoke, on whose behalf."""
        said = [part for part in (role, f"on behalf of {on_behalf_of.name}" if on_behalf_of else None) if part]
        if not said:
            return
        lines = wrap(" \u00b7 ".join(said), WIDTH - 2 * MARGIN, 13, 2)
        self.parts.append(_text(lines, CENTRE, self.y + 20, 13, 17, fill=INK, text_anchor="middle"))
        self.y += 20 + 17 * (len(lines) - 1) + 2

    def arrow(self, cue: str) -> None:
        """Down the page, the way the statement travelled, labelled with the attribution words."""
        lines = wrap(f"{OPEN_QUOTE}{cue}{CLOSE_QUOTE}", WIDTH - MARGIN - CENTRE - 14, 13, 2)
        length = 52 + 17 * (len(lines) - 1)
        start, end = self.y + 8, self.y + length - 4
        self.parts.append(
            f'<g class="provenance-cue"><line x1="{CENTRE}" y1="{start:g}" x2="{CENTRE}" y2="{end - 9:g}" '
            f'stroke="{MUTED}" stroke-width="2"/>'
            f'<path d="M {CENTRE - 6} {end - 10:g} L {CENTRE + 6} {end - 10:g} L {CENTRE} {end:g} Z" fill="{MUTED}"/>'
            + _text(
                lines,
                CENTRE + 14,
                (start + end) / 2 + 4 - 8.5 * (len(lines) - 1),
                13,
                17,
                fill=INK,
                font_style="italic",
            )
            + "</g>"
        )
        self.y += length

    def published(self, trace: Trace) -> None:
        """Where the outermost hop's words reached the reader: the piece the claim appeared in."""
        piece = trace.claim.appeared_in
        title = f"{OPEN_QUOTE}{piece.title}{CLOSE_QUOTE}" if piece.title else "the published piece"
        byline = [part for part in (piece.outlet, f"by {piece.author}" if piece.author else None) if part]
        if piece.published_at:
            byline.append(piece.published_at.date().isoformat())
        lines = wrap(title, BOX_W - 32, 13, 2) + wrap(" \u00b7 ".join(byline), BOX_W - 32, 12, 1)
        height = 34 + 17 * len(lines)
        self.parts.append(
            f'<g class="provenance-published"><rect x="{BOX_X}" y="{self.y:g}" width="{BOX_W}" height="{height}" '
            f'rx="8" fill="#f6f8fa" stroke="{RULE}"/>'
            + _text(
                ["AS PUBLISHED"], CENTRE, self.y + 20, 11, 0, fill=MUTED, letter_spacing="0.06em", text_anchor="middle"
            )
            + _text(lines, CENTRE, self.y + 40, 13, 17, fill=INK, text_anchor="middle")
            + "</g>"
        )
        self.y += height

    def legend(self) -> None:
        """One line naming what each shape and colour stands for."""
        self.y += 26
        items = []
        for i, style in enumerate(STYLES.values()):
            x = MARGIN + 8 + i * 140
            dash = f' stroke-dasharray="{style.dash}"' if style.dash else ""
            items.append(
                f'<rect x="{x}" y="{self.y:g}" width="22" height="14" rx="{min(style.radius, 7)}" '
                f'fill="{style.fill}" stroke="{style.stroke}" stroke-width="1.5"{dash}/>'
                + _text([style.label], x + 30, self.y + 11, 12, 0, fill=MUTED)
            )
        self.parts.append(f'<g class="provenance-legend">{"".join(items)}</g>')
        self.y += 14 + MARGIN


def _describe(trace: Trace) -> str:
    """The drawing in words, for screen readers: from the origin to the reader."""
    origin = trace.origin
    speaking = [
        part for part in (origin.role, origin.on_behalf_of and f"on behalf of {origin.on_behalf_of.name}") if part
    ]
    steps = [f"Origin: {origin.source.name} ({origin.source.kind}{', ' + ', '.join(speaking) if speaking else ''})."]
    for hop in reversed(trace.path):
        steps.append(f"{hop.source.name} ({hop.source.kind}) {hop.cue}.")
    return " ".join(steps)


def draw_trace(trace: Trace) -> str:
    """The trace as an SVG document 600 px wide, growing downward with the hops."""
    drawing = Drawing()
    drawing.header(trace)
    if trace.truncated:
        drawing.upstream_note(trace.upstream_depth)
    last = len(trace.path) - 1
    for position in range(last, -1, -1):
        hop = trace.path[position]
        via_claim = hop.claim_id if hop.claim_id != trace.claim.id else None
        drawing.box(hop, is_origin=position == last, via_claim=via_claim)
        if position == last:
            drawing.speaking_as(trace.origin.role, trace.origin.on_behalf_of)
        drawing.arrow(hop.cue)
    drawing.published(trace)
    drawing.legend()
    height = round(drawing.y)
    ids = f"trace-{trace.claim.id}"
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}" role="img" aria-labelledby="{ids}-title {ids}-desc" '
        f'font-family="{FONT}">\n'
        f'<title id="{ids}-title">Attribution chain: {xml(trace.claim.text)}</title>\n'
        f'<desc id="{ids}-desc">{xml(_describe(trace))}</desc>\n'
        f'<rect x="0.5" y="0.5" width="{WIDTH - 1}" height="{height - 1}" rx="10" fill="#ffffff" stroke="{RULE}"/>\n'
        + "\n".join(drawing.parts)
        + "\n</svg>\n"
    )


# --- a source's network --------------------------------------------------------------------------

NETWORK_ROW = 50
NETWORK_BOX_W = 140
NO_NETWORK = "no claim chains it with another source yet"


def _network_box(source: SourceSummary, x: float, y: float, width: float, bold: bool = False) -> str:
    style = STYLES[source.kind]
    dash = f' stroke-dasharray="{style.dash}"' if style.dash else ""
    lines = wrap(source.name, width - 16, 13, 2, bold=bold)
    weight = "600" if bold else "400"
    height = NETWORK_ROW - 8
    text_y = y + height / 2 + 5 - (7 if len(lines) == 2 else 0)
    return (
        f"<g><title>{xml(source.name)} ({style.label})</title>"
        f'<rect x="{x:g}" y="{y:g}" width="{width:g}" height="{height}" rx="{min(style.radius, height // 2)}" '
        f'fill="{style.fill}" stroke="{style.stroke}" stroke-width="{2.5 if bold else 1.5}"{dash}/>'
        + _text(lines, x + width / 2, text_y, 13, 14, fill=style.ink, text_anchor="middle", font_weight=weight)
        + "</g>"
    )


def draw_network(network: SourceNetwork) -> str:
    """Who cites the source (left) and whom it cites (right), each link labelled with its claims."""
    rows = max(len(network.cites), len(network.cited_by), 1)
    top = 58
    height = top + rows * NETWORK_ROW + 30
    centre_y = top + (rows * NETWORK_ROW) / 2 - NETWORK_ROW / 2
    left_x, right_x = MARGIN, WIDTH - MARGIN - NETWORK_BOX_W
    middle_x = (WIDTH - NETWORK_BOX_W) / 2
    parts = [
        _text(["CITED BY"], left_x, 36, 11, 0, fill=MUTED, letter_spacing="0.06em"),
        _text(["CITES"], right_x + NETWORK_BOX_W, 36, 11, 0, fill=MUTED, letter_spacing="0.06em", text_anchor="end"),
    ]
    mid_y = centre_y + (NETWORK_ROW - 8) / 2
    for side, links, x in (("left", network.cited_by, left_x), ("right", network.cites, right_x)):
        for i, link in enumerate(links):
            y = top + i * NETWORK_ROW
            box_mid = y + (NETWORK_ROW - 8) / 2
            start = x + NETWORK_BOX_W if side == "left" else middle_x + NETWORK_BOX_W
            end = middle_x if side == "left" else x
            parts.append(
                f'<line x1="{start:g}" y1="{(box_mid if side == "left" else mid_y):g}" x2="{end:g}" '
                f'y2="{(mid_y if side == "left" else box_mid):g}" stroke="{MUTED}" stroke-width="1.2"/>'
            )
            label = f"{link.claims} claim" + ("" if link.claims == 1 else "s")
            parts.append(_network_box(link.source, x, y, NETWORK_BOX_W))
            label_x = (start + end) / 2
            label_y = ((box_mid + mid_y) / 2) - 6
            parts.append(_text([label], label_x, label_y, 11, 0, fill=MUTED, text_anchor="middle"))
    parts.append(_network_box(network.source, middle_x, centre_y, NETWORK_BOX_W, bold=True))
    if not network.cites and not network.cited_by:
        parts.append(_text([NO_NETWORK], WIDTH / 2, height - 14, 12, 0, fill=MUTED, text_anchor="middle"))
    ids = f"network-{network.source.id}"
    description = (
        f"{network.source.name} is cited by {network.cited_by_total} source(s) and cites {network.cites_total}."
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height:g}" viewBox="0 0 {WIDTH} {height:g}" '
        f'role="img" aria-labelledby="{ids}-title {ids}-desc" font-family="{FONT}">\n'
        f'<title id="{ids}-title">Network of {xml(network.source.name)}</title>\n'
        f'<desc id="{ids}-desc">{xml(description)}</desc>\n'
        f'<rect x="0.5" y="0.5" width="{WIDTH - 1}" height="{height - 1:g}" rx="10" fill="#ffffff" stroke="{RULE}"/>\n'
        + "\n".join(parts)
        + "\n</svg>\n"
    )
