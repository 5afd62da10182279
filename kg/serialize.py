"""Stage 3: write figure graphs as Turtle, N-Triples, N-Quads or JSON-LD, atomically.

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

import gzip
import io
import os
import shutil
import tempfile
from collections import OrderedDict
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Iterable, Iterator, Union

import pyoxigraph as ox

from .mapping import FigureGraph
from .vocab import PREFIXES

FORMATS: dict[str, ox.RdfFormat] = {
    "turtle": ox.RdfFormat.TURTLE,
    "nt": ox.RdfFormat.N_TRIPLES,
    "nq": ox.RdfFormat.N_QUADS,
    "jsonld": ox.RdfFormat.JSON_LD,
}
EXTENSIONS = {"turtle": ".ttl", "nt": ".nt", "nq": ".nq", "jsonld": ".jsonld"}
FORMAT_ALIASES = {"ttl": "turtle", "ntriples": "nt", "n-triples": "nt", "nquads": "nq", "n-quads": "nq",
                  "json-ld": "jsonld"}


def format_name(name: str) -> str:
    """Canonical format name for ``name`` (``ttl`` -> ``turtle``); ValueError if unknown."""
    key = FORMAT_ALIASES.get(name.lower(), name.lower())
    if key not in FORMATS:
        raise ValueError(f"unknown format {name!r} (choose from {', '.join(FORMATS)})")
    return key


def format_for_path(path: str | Path) -> str:
    """Guess the format from a file name (``.ttl``, ``.nt``, ``.nq``, ``.jsonld``, optionally ``.gz``)."""
    name = str(path).lower().removesuffix(".gz")
    for fmt, ext in EXTENSIONS.items():
        if name.endswith(ext):
            return fmt
    return "turtle"


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it replaces ``path`` (file or
    folder), on error it is removed, so a failed run never leaves a half-written output."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    tmp_path.unlink()
    try:
        yield tmp_path
        if tmp_path.is_file():
            with open(tmp_path, "rb") as fh:
                os.fsync(fh.fileno())
        if target.is_dir() and tmp_path.is_dir():
            old = target.with_name(f".{target.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            target.rename(old)
            tmp_path.rename(target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp_path, target)
    finally:
        if tmp_path.is_dir():
            shutil.rmtree(tmp_path, ignore_errors=True)
        elif tmp_path.exists():
            tmp_path.unlink()


@contextmanager
def atomic_write(path: str | Path, mode: str = "wb") -> Iterator[IO]:
    """Open a temporary file beside ``path`` that replaces it only when the block succeeds."""
    with atomic_path(path) as tmp:
        with open(tmp, mode, **({} if "b" in mode else {"encoding": "utf-8"})) as fh:
            yield fh


@dataclass
class RenderedFigure:
    """A figure ready for a file writer: its own triples already rendered as output bytes
    (N-Quads: all its triples), its shared paper/entity triples still as N-Triples lines."""

    figid: str
    source: str
    fmt: str
    own: bytes
    own_count: int
    paper_iri: str | None
    paper: list[str]
    entities: list[str]


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
            return RenderedFigure(figure.figid, figure.source, self.fmt, "".join(lines).encode("utf-8"), len(lines),
                                  None, [], [])
        if self.fmt == "turtle":
            own, count = turtle_body(figure.own), len(figure.own)
        elif self.fmt == "nt":
            own, count = "".join(figure.own).encode("utf-8"), len(figure.own)
        else:  # "store": the figure's named graph, plus its own triples in the default graph
            quads = quad_lines(figure)
            own, count = "".join(quads + figure.own).encode("utf-8"), len(quads) + len(figure.own)
        entities = [line for line in figure.entities if line not in self.passed]
        self.passed.update(entities)
        return RenderedFigure(figure.figid, figure.source, self.fmt, own, count, figure.paper_iri, figure.paper,
                              entities)


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
    """Drops triples a triple-format output has already written (see module docstring)."""

    def __init__(self, recent_papers: int = 4096):
        self.entities: set[str] = set()
        self.papers: OrderedDict[str, None] = OrderedDict()
        self.recent_papers = recent_papers

    def lines(self, figure: FigureGraph) -> list[str]:
        """The figure's own triples and whichever shared ones are new."""
        return list(figure.own) + self.shared(figure)

    def shared(self, figure: FigureGraph | RenderedFigure) -> list[str]:
        """The figure's paper and entity triples not written before."""
        out: list[str] = []
        if figure.paper_iri is not None:
            if figure.paper_iri in self.papers:
                self.papers.move_to_end(figure.paper_iri)
            else:
                self.papers[figure.paper_iri] = None
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


@dataclass
class WriteStats:
    """What a write produced: triples (or quads) written and files written."""

    triples: int = 0
    files: int = 0


def write_graphs(figures: Iterable[Figure], path: str | Path, fmt: str = "turtle",
                 shard_lines: int | None = None) -> WriteStats:
    """Stream ``figures`` to ``path`` in ``fmt``, atomically; returns what was written.

    ``figures`` may come already rendered (:class:`Renderer`, in worker processes) or as
    plain :class:`~kg.mapping.FigureGraph` (rendered here); the bytes are the same.
    With ``shard_lines`` (N-Triples or N-Quads only) ``path`` is a folder of gzipped shards
    ``part-00000.nt.gz``... of at most that many lines each, ready for bulk loaders.
    """
    fmt = format_name(fmt)
    if shard_lines is not None and fmt not in ("nt", "nq"):
        raise ValueError("sharded output is for N-Triples or N-Quads (--format nt or nq)")
    if shard_lines is not None and shard_lines < 1:
        raise ValueError("shard size must be at least one line")
    stats = WriteStats()
    with atomic_path(path) as tmp:
        if fmt == "jsonld":
            with open(tmp, "wb", buffering=1 << 20) as fh:
                dedup = Deduplicator()
                ox.serialize(_parsed(_counted(map(dedup.lines, figures), stats)), fh, format=FORMATS[fmt],
                             prefixes=PREFIXES)
        elif shard_lines is not None:
            tmp.mkdir()
            stats.files = _write_shards(_chunks(figures, fmt, stats), tmp, EXTENSIONS[fmt], shard_lines)
        else:
            with open(tmp, "wb", buffering=1 << 20) as fh:
                if fmt == "turtle":
                    fh.write(prefix_header().encode("utf-8"))
                for data, _ in _chunks(figures, fmt, stats):
                    fh.write(data)
        stats.files = stats.files or 1
    return stats


def _counted(batches: Iterable[list[str]], stats: WriteStats) -> Iterator[list[str]]:
    for lines in batches:
        stats.triples += len(lines)
        yield lines


def _chunks(figures: Iterable[Figure], fmt: str, stats: WriteStats,
            shared_batch: int = 20_000) -> Iterator[tuple[bytes, int]]:
    """(bytes, statement count) pieces of the output, in order: each figure's own triples,
    then (N-Triples: right after; Turtle: every ``shared_batch`` lines, so that a gene's
    triples are grouped) the shared triples not written before."""
    dedup = Deduplicator()
    renderer = Renderer(fmt)
    pending: list[str] = []
    for figure in figures:
        if isinstance(figure, FigureGraph):
            figure = renderer(figure)
        elif figure.fmt != fmt:
            raise ValueError(f"figure {figure.figid} was rendered as {figure.fmt}, not {fmt}")
        stats.triples += figure.own_count
        yield figure.own, figure.own_count
        shared = dedup.shared(figure)
        stats.triples += len(shared)
        if fmt != "turtle":
            yield "".join(shared).encode("utf-8"), len(shared)
            continue
        pending.extend(shared)
        if len(pending) >= shared_batch:
            yield turtle_body(pending), len(pending)
            pending = []
    if pending:
        yield turtle_body(pending), len(pending)


def prefix_header() -> str:
    """Turtle ``@prefix`` lines in :data:`~kg.vocab.PREFIXES` order."""
    return "".join(f"@prefix {name}: <{ns}> .\n" for name, ns in PREFIXES.items()) + "\n"


def _parsed(batches: Iterable[list[str]], chunk: int = 20_000) -> Iterator[ox.Quad]:
    """Default-graph quads of N-Triples line batches, parsed by pyoxigraph a chunk at a time."""
    pending: list[str] = []
    for lines in batches:
        pending.extend(lines)
        if len(pending) >= chunk:
            yield from ox.parse("".join(pending), format=ox.RdfFormat.N_TRIPLES)
            pending = []
    if pending:
        yield from ox.parse("".join(pending), format=ox.RdfFormat.N_TRIPLES)


def _write_shards(pieces: Iterable[tuple[bytes, int]], folder: Path, ext: str, shard_lines: int) -> int:
    """Write (bytes, line count) pieces into gzipped shards; a piece (a figure's own lines,
    or its new shared lines) never straddles two shards unless it alone exceeds a shard."""
    count, used, shard = 0, 0, None
    try:
        for data, lines in pieces:
            if not lines:
                continue
            if shard is None or (used and used + lines > shard_lines):
                if shard is not None:
                    shard.close()
                shard = gzip.GzipFile(folder / f"part-{count:05d}{ext}.gz", "wb", compresslevel=6, mtime=0)
                count, used = count + 1, 0
            shard.write(data)
            used += lines
    finally:
        if shard is not None:
            shard.close()
    return count
