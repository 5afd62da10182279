"""Stage 3: write figure graphs as Turtle, N-Triples, N-Quads or JSON-LD, atomically.

Writers stream: a figure's triples are written before the next figure is mapped.  Triple
formats de-duplicate what figures share (entity triples in a set bounded by the
vocabulary; paper triples against recently written papers, since a paper's figures are
adjacent in figid order).  N-Quads keeps each figure's triples in the figure's named graph.
Turtle and JSON-LD are produced by pyoxigraph's serializers (Rust, streaming).
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
from typing import IO, Iterable, Iterator

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


class Deduplicator:
    """Drops triples a triple-format output has already written (see module docstring)."""

    def __init__(self, recent_papers: int = 4096):
        self.entities: set[str] = set()
        self.papers: OrderedDict[str, None] = OrderedDict()
        self.recent_papers = recent_papers

    def lines(self, figure: FigureGraph) -> list[str]:
        out = list(figure.own)
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


@dataclass
class WriteStats:
    """What a write produced: triples (or quads) written and files written."""

    triples: int = 0
    files: int = 0


def write_graphs(figures: Iterable[FigureGraph], path: str | Path, fmt: str = "turtle",
                 shard_lines: int | None = None) -> WriteStats:
    """Stream ``figures`` to ``path`` in ``fmt``, atomically; returns what was written.

    With ``shard_lines`` (N-Triples or N-Quads only) ``path`` is a folder of gzipped shards
    ``part-00000.nt.gz``... of at most that many lines each, ready for bulk loaders.
    """
    fmt = format_name(fmt)
    if shard_lines is not None and fmt not in ("nt", "nq"):
        raise ValueError("sharded output is for N-Triples or N-Quads (--format nt or nq)")
    if shard_lines is not None and shard_lines < 1:
        raise ValueError("shard size must be at least one line")
    stats = WriteStats()
    dedup = Deduplicator() if fmt != "nq" else None

    def line_batches() -> Iterator[list[str]]:
        for figure in figures:
            lines = quad_lines(figure) if dedup is None else dedup.lines(figure)
            stats.triples += len(lines)
            yield lines

    with atomic_path(path) as tmp:
        if shard_lines is not None:
            tmp.mkdir()
            stats.files = _write_shards(line_batches(), tmp, EXTENSIONS[fmt], shard_lines)
        elif fmt in ("nt", "nq"):
            with open(tmp, "wb", buffering=1 << 20) as fh:
                for lines in line_batches():
                    fh.write("".join(lines).encode("utf-8"))
            stats.files = 1
        else:
            with open(tmp, "wb", buffering=1 << 20) as fh:
                if fmt == "turtle":
                    fh.write(prefix_header().encode("utf-8"))
                    sink: IO[bytes] = _SkipPrefixLines(fh)
                else:
                    sink = fh
                ox.serialize(_parsed(line_batches()), sink, format=FORMATS[fmt], prefixes=PREFIXES)
            stats.files = 1
    return stats


def prefix_header() -> str:
    """Turtle ``@prefix`` lines in :data:`~kg.vocab.PREFIXES` order."""
    return "".join(f"@prefix {name}: <{ns}> .\n" for name, ns in PREFIXES.items()) + "\n"


class _SkipPrefixLines(io.RawIOBase):
    """Passes pyoxigraph's Turtle through, minus its leading ``@prefix`` lines (whose order
    varies between runs); :func:`prefix_header` writes them in a fixed order instead."""

    def __init__(self, target: IO[bytes]):
        self.target = target
        self.head = b""
        self.in_header = True

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:  # type: ignore[override]
        size = len(data)
        if self.in_header:
            self.head += bytes(data)
            while self.in_header and b"\n" in self.head:
                line, _, rest = self.head.partition(b"\n")
                if line.startswith(b"@prefix "):
                    self.head = rest
                else:
                    self.in_header = False
            if self.in_header:
                return size
            data, self.head = self.head, b""
        self.target.write(data)
        return size


def _parsed(batches: Iterable[list[str]], chunk: int = 20_000) -> Iterator[ox.Triple]:
    """Triples of N-Triples line batches, parsed by pyoxigraph a chunk at a time."""
    pending: list[str] = []
    for lines in batches:
        pending.extend(lines)
        if len(pending) >= chunk:
            yield from (q.triple for q in ox.parse("".join(pending), format=ox.RdfFormat.N_TRIPLES))
            pending = []
    if pending:
        yield from (q.triple for q in ox.parse("".join(pending), format=ox.RdfFormat.N_TRIPLES))


def _write_shards(batches: Iterable[list[str]], folder: Path, ext: str, shard_lines: int) -> int:
    """Write line batches into gzipped shards; a figure's lines never straddle two shards
    unless the figure alone exceeds a shard."""
    count, used, shard = 0, 0, None
    try:
        for lines in batches:
            if shard is None or (used and used + len(lines) > shard_lines):
                if shard is not None:
                    shard.close()
                shard = gzip.GzipFile(folder / f"part-{count:05d}{ext}.gz", "wb", compresslevel=6, mtime=0)
                count, used = count + 1, 0
            shard.write("".join(lines).encode("utf-8"))
            used += len(lines)
    finally:
        if shard is not None:
            shard.close()
    return count
