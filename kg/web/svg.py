"""A small gene co-occurrence network as inline SVG, drawn on the server (no JavaScript).

Circular layout: the gene of the page in the middle, its partners on a circle around it,
ordered as given (most shared figures first, clockwise from the top). Edge width grows
with the number of figures two genes share; each node links to its page."""

from __future__ import annotations

import math
from dataclasses import dataclass
from html import escape

WIDTH = 520
HEIGHT = 440
RADIUS = 165
NODE = 24


@dataclass(frozen=True)
class Node:
    iri: str
    label: str
    href: str


def _attr(text: str) -> str:
    return escape(text, quote=True)


def network(nodes: list[Node], edges: list[tuple[str, str, int]]) -> str:
    """SVG markup: ``nodes[0]`` in the centre, the others around it; ``edges`` are
    ``(iri, iri, shared figures)``. Every text and attribute is escaped."""
    cx, cy = WIDTH / 2, HEIGHT / 2
    places: dict[str, tuple[float, float]] = {}
    if nodes:
        places[nodes[0].iri] = (cx, cy)
    ring = nodes[1:]
    for i, node in enumerate(ring):
        angle = -math.pi / 2 + 2 * math.pi * i / max(1, len(ring))
        places[node.iri] = (cx + RADIUS * math.cos(angle), cy + RADIUS * math.sin(angle))
    heaviest = max((n for _, _, n in edges), default=1)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="network" viewBox="0 0 {WIDTH} {HEIGHT}" '
           f'width="{WIDTH}" height="{HEIGHT}" role="img" aria-label="gene co-occurrence network">',
           '<title>Genes that appear in the same figures; line width: number of shared figures</title>']
    centre = nodes[0].iri if nodes else None
    for a, b, count in sorted(edges, key=lambda e: e[2]):
        if a not in places or b not in places:
            continue
        (x1, y1), (x2, y2) = places[a], places[b]
        width = 1 + 5 * count / heaviest
        kind = "edge hub" if centre in (a, b) else "edge"
        out.append(f'<line class="{kind}" x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" '
                   f'stroke-width="{width:.1f}"><title>{count} shared figure{"s" if count != 1 else ""}</title></line>')
    for i, node in enumerate(nodes):
        x, y = places[node.iri]
        label = node.label if len(node.label) <= 12 else node.label[:11] + "…"
        size = NODE + 6 if i == 0 else NODE
        out.append(f'<a href="{_attr(node.href)}"><g class="node{" centre" if i == 0 else ""}">'
                   f'<title>{escape(node.label)}</title>'
                   f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{size}"/>'
                   f'<text x="{x:.1f}" y="{y + 4:.1f}" text-anchor="middle">{escape(label)}</text></g></a>')
    out.append("</svg>")
    return "\n".join(out)
