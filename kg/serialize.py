"""Stage 3: render figure graphs as the bytes of Turtle, N-Triples or N-Quads output (the
sinks in :mod:`kg.sinks` write them to files, shards or a store).

Writers stream: a figure's triples are written before the next figure is mapped.  Triple
formats de-duplicate what figures share (entity triples in a set bounded by the
vocabulary; paper triples against recently written papers, since a paper's figures are
adjacent in figid order).  N-Quads keeps each figure's triples in the figure's named graph.
Turtle and JSON-LD are produced by pyoxigraph's serializers (Rust, streaming).

The bulk of a figure's triples are its own (figure, mentions, JSON-LD block); they need no
de-duplication, so :class:`Renderer` turns them into output bytes where the figure was mapped
(in a worker process with ``--jobs N``).  The writer then only de-duplicates and renders
the shared paper/entity triples, which keeps the main process from being the bottleneck.
"""

from __future__ import annotations

import io
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Union

import pyoxigraph as ox

from .mapping import FigureGraph
from .vocab import PREFIXES

@dataclass
class RenderedFigure:
    """A figure ready for a file writer: its own triples already rendered as output bytes
    (N-Quads: all its triples), its shared paper/entity triples still as N-Triples lines."""

    figid: str
    figure: str
    source: str
    fmt: str
    own: bytes
    own_count: int
    paper_iri: str | None
    paper: list[str]
    entities: list[str]
    warnings: list = field(default_factory=list)  # the figure's row-level RecordError warnings


#: What :class:`Renderer` renders for: file formats, and ``store`` (N-Quads for a kg store:
#: each figure's named graph, and its triples in the default graph).
RENDERED = ("turtle", "nt", "nq", "store")


class Renderer:
    """Renders figures for a ``fmt`` writer (see :data:`RENDERED`) where they are mapped:
    in the worker process with ``--jobs N``, so give each worker its own copy.

    Own triples become output bytes.  Entity lines this renderer has already passed on are
    dropped: the writer's :class:`Deduplicator` sees figures in the same order and would drop
    them too, so the output is unchanged, with less to send between processes."""

    def __init__(self, fmt: str):
        if fmt not in RENDERED:
            raise ValueError(f"figures are not pre-rendered for {fmt!r}")
        self.fmt = fmt
        self.passed: set[str] = set()

    def __call__(self, figure: FigureGraph) -> RenderedFigure:
        if self.fmt == "nq":
            lines = quad_lines(figure)
            return RenderedFigure(figure.figid, figure.figure, figure.source, self.fmt, "".join(lines).encode("utf-8"), len(lines),
                                  None, [], [], figure.warnings)
        if self.fmt == "turtle":
            own, count = turtle_body(figure.own), len(figure.own)
        elif self.fmt == "nt":
            own, count = "".join(figure.own).encode("utf-8"), len(figure.own)
        else:  # "store": the figure's named graph, plus its own triples in the default graph
            quads = quad_lines(figure)
            own, count = "".join(quads + figure.own).encode("utf-8"), len(quads) + len(figure.own)
        entities = [line for line in figure.entities if line not in self.passed]
        self.passed.update(entities)
        return RenderedFigure(figure.figid, figure.figure, figure.source, self.fmt, own, count, figure.paper_iri, figure.paper,
                              entities, figure.warnings)


def turtle_body(lines: list[str]) -> bytes:
    """N-Triples ``lines`` as Turtle statements using :data:`~kg.vocab.PREFIXES`, without
    the ``@prefix`` header (the file has one :func:`prefix_header`)."""
    if not lines:
        return b""
    out = io.BytesIO()
    ox.serialize(ox.parse("".join(lines), format=ox.RdfFormat.N_TRIPLES), out, format=ox.RdfFormat.TURTLE,
                 prefixes=PREFIXES)
    data = out.getvalue()
    start = 0
    while data.startswith(b"@prefix ", start):
        start = data.index(b"\n", start) + 1
    return data[start:]


class Deduplicator:
    """Drops triples a triple-format output has already written (see module docstring).

    Every figure's paper triples count, not only the first figure's: records of one paper
    written at different times may disagree (on its title, keywords...), and the output is
    then the union of what they say, whatever the order (as in a store, which kg updates
    figure by figure).  Papers are remembered with the lines written for them while recent."""

    def __init__(self, recent_papers: int = 4096):
        self.entities: set[str] = set()
        self.papers: OrderedDict[str, set[str]] = OrderedDict()
        self.recent_papers = recent_papers

    def lines(self, figure: FigureGraph) -> list[str]:
        """The figure's own triples and whichever shared ones are new."""
        return list(figure.own) + self.shared(figure)

    def shared(self, figure: FigureGraph | RenderedFigure) -> list[str]:
        """The figure's paper and entity triples not written before."""
        out: list[str] = []
        if figure.paper_iri is not None:
            written = self.papers.get(figure.paper_iri)
            if written is not None:
                self.papers.move_to_end(figure.paper_iri)
                new = [line for line in figure.paper if line not in written]
                written.update(new)
                out.extend(new)
            else:
                self.papers[figure.paper_iri] = set(figure.paper)
                if len(self.papers) > self.recent_papers:
                    self.papers.popitem(last=False)
                out.extend(figure.paper)
        for line in figure.entities:
            if line not in self.entities:
                self.entities.add(line)
                out.append(line)
        return out


def quad_lines(figure: FigureGraph) -> list[str]:
    """The figure's triples as N-Quads lines in its own named graph."""
    graph = f" <{figure.graph}> .\n"
    return [line[:-3] + graph for line in figure.lines()]


Figure = Union[FigureGraph, RenderedFigure]


class OutputPieces:
    """Turns figures, in order, into the pieces of one triple-format output (``turtle``,
    ``nt``, ``nq``): each figure's own statements, then the shared ones not written before
    (N-Triples: right after; Turtle: every ``shared_batch`` lines, so that a gene's triples
    stay grouped).  A piece is ``(bytes, statement count)``; ``statements`` adds them up."""

    def __init__(self, fmt: str, shared_batch: int = 20_000):
        self.fmt = fmt
        self.shared_batch = shared_batch
        self.statements = 0
        self._dedup = Deduplicator()
        self._renderer = Renderer(fmt)
        self._pending: list[str] = []

    def add(self, figure: Figure) -> list[tuple[bytes, int]]:
        if isinstance(figure, FigureGraph):
            figure = self._renderer(figure)
        elif figure.fmt != self.fmt:
            raise ValueError(f"figure {figure.figid} was rendered as {figure.fmt}, not {self.fmt}")
        pieces = [(figure.own, figure.own_count)]
        shared = self._dedup.shared(figure)
        if self.fmt == "turtle":
            self._pending.extend(shared)
            if len(self._pending) >= self.shared_batch:
                pieces += self._flush()
        else:
            pieces.append(("".join(shared).encode("utf-8"), len(shared)))
        return self._counted(pieces)

    def finish(self) -> list[tuple[bytes, int]]:
        """The pieces still pending (Turtle's last shared triples)."""
        return self._counted(self._flush())

    def _flush(self) -> list[tuple[bytes, int]]:
        if not self._pending:
            return []
        piece = (turtle_body(self._pending), len(self._pending))
        self._pending = []
        return [piece]

    def _counted(self, pieces: list[tuple[bytes, int]]) -> list[tuple[bytes, int]]:
        self.statements += sum(count for _, count in pieces)
        return pieces


def prefix_header() -> str:
    """Turtle ``@prefix`` lines in :data:`~kg.vocab.PREFIXES` order."""
    return "".join(f"@prefix {name}: <{ns}> .\n" for name, ns in PREFIXES.items()) + "\n"
