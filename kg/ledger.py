"""The bookkeeping beside a store generation: one SQLite file (standard library ``sqlite3``).

kg's graph lives once in the store's default graph; what makes updates exact lives here:

* ``figures``: one row per figure in the store: figid, figure IRI, source path, record
  digest, ``triples`` (the zlib-compressed N-Triples lines of the figure's graph) and the
  row-level warnings its record gave (JSON), repeated when the record is skipped unchanged;
* ``refs``: for each *shared* triple (one whose subject is not the figure or a fragment of
  it: paper, gene, organism... triples), how many figures assert it, keyed by a 64-bit hash
  of its line.  A figure's *own* triples are asserted by that figure alone;
* ``graphs``: the named graphs loaded with ``kg load`` (name, files, triples);
* ``stats``: how many figures count for each key of :mod:`kg.statistics` (a gene, a paper...);
* ``meta``: layout version and the kg version that wrote the figures.
"""

from __future__ import annotations

import json
import sqlite3
import sys
import zlib
from array import array
from hashlib import blake2b
from pathlib import Path
from typing import Iterable, Iterator, Sequence

from . import __version__

#: Version of the generation layout (CURRENT, gen-N/, gen-N.sqlite).
LAYOUT = "2"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS figures (figid TEXT PRIMARY KEY, iri TEXT NOT NULL, source TEXT, digest TEXT,
                                    triples BLOB, warnings TEXT);
CREATE TABLE IF NOT EXISTS refs (h INTEGER PRIMARY KEY, n INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS graphs (name TEXT PRIMARY KEY, files TEXT, triples INTEGER);
CREATE TABLE IF NOT EXISTS stats (kind TEXT, key TEXT, n INTEGER NOT NULL, PRIMARY KEY (kind, key)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS stamps (source TEXT PRIMARY KEY, stamp INTEGER NOT NULL, digest TEXT NOT NULL) WITHOUT ROWID;
"""
_INDEXES = """
CREATE INDEX IF NOT EXISTS figures_iri ON figures(iri);
CREATE INDEX IF NOT EXISTS figures_digest ON figures(digest);
"""
_CHUNK = 500  # SQLite host parameters per IN (...) list


def line_hash(line: str) -> int:
    """The 64-bit (signed, for SQLite) hash of an N-Triples line: BLAKE2b, 8 bytes, read
    little-endian (as :func:`hashes` packs them)."""
    return int.from_bytes(blake2b(line.encode("utf-8"), digest_size=8).digest(), "little", signed=True)


def pack(lines: Iterable[str]) -> bytes:
    """Lines as one compressed blob (zlib level 1: fast, ~6x smaller for kg's lines)."""
    return zlib.compress("".join(lines).encode("utf-8"), 1)


def unpack(blob: bytes | None) -> list[str]:
    """The lines of a :func:`pack` blob."""
    if not blob:
        return []
    text = zlib.decompress(blob).decode("utf-8")
    return [line + "\n" for line in text.split("\n")[:-1]]


def hashes(lines: Iterable[str]) -> bytes:
    """The :func:`line_hash` of each line, packed (8 bytes each, little-endian)."""
    return b"".join([blake2b(line.encode("utf-8"), digest_size=8).digest() for line in lines])


def unhash(packed: bytes) -> array:
    """The hashes :func:`hashes` packed, as 64-bit integers."""
    values = array("q")
    values.frombytes(packed)
    if sys.byteorder == "big":
        values.byteswap()
    return values


def scope(figure: str) -> tuple[str, str]:
    """The line prefixes of ``figure``'s own triples: its subject is the figure IRI or a
    fragment of it, a triple only that figure asserts (figure IRIs have no fragment, so
    scopes never overlap).  Use as ``line.startswith(scope(iri))``."""
    return (f"<{figure}>", f"<{figure}#")


def in_scope(line: str, figure: str) -> bool:
    return line.startswith(scope(figure))


def scope_of(line: str) -> str | None:
    """The IRI whose scope the line's subject is in (the subject without its fragment), or
    None for a blank-node subject."""
    if not line.startswith("<"):
        return None
    subject = line[1:line.index(">")]
    return subject.split("#", 1)[0]


class Ledger:
    """One generation's SQLite bookkeeping (see the module docstring)."""

    def __init__(self, path: str | Path, *, read_only: bool = False):
        self.path = Path(path)
        if read_only:
            self.db = sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=ro", uri=True)
        else:
            self.db = sqlite3.connect(str(self.path), isolation_level=None)
            # A generation is private until committed (CURRENT names it), then never written
            # again: no journal needed; the file is fsync'ed before the commit.
            self.db.executescript("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;" + _SCHEMA + _INDEXES)
            self.db.execute("BEGIN")
            self.db.execute("INSERT OR IGNORE INTO meta VALUES ('layout', ?)", (LAYOUT,))

    # ------------------------------------------------------------------ meta
    def get_meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    def mapped_by_this_kg(self) -> bool:
        """True when the figures were mapped by this kg version (else every record is re-mapped)."""
        return self.get_meta("kg") == __version__

    # ------------------------------------------------------------------ figures
    def figure_count(self) -> int:
        return self.db.execute("SELECT COUNT(*) FROM figures").fetchone()[0]

    def digests(self) -> dict[str, tuple[str, str, str, str | None]]:
        """``digest -> (figid, figure IRI, source, warnings JSON)`` of every figure."""
        return {d: (f, i, s, w) for f, i, s, d, w in
                self.db.execute("SELECT figid, iri, source, digest, warnings FROM figures")}

    def figids(self) -> Iterator[str]:
        return (row[0] for row in self.db.execute("SELECT figid FROM figures"))

    def figures(self, figids: Sequence[str]) -> dict[str, tuple[str, list[str]]]:
        """``figid -> (IRI, lines)`` of those of ``figids`` in the store."""
        out: dict[str, tuple[str, list[str]]] = {}
        for chunk in _chunks(figids):
            marks = ",".join("?" * len(chunk))
            for figid, iri, blob in self.db.execute(f"SELECT figid, iri, triples FROM figures WHERE figid IN ({marks})",
                                                    chunk):
                out[figid] = (iri, unpack(blob))
        return out

    def owners(self, iris: Sequence[str]) -> dict[str, list[str]]:
        """``IRI -> lines`` of the figures (in the store) whose IRI is one of ``iris``."""
        out: dict[str, list[str]] = {}
        for chunk in _chunks(iris):
            marks = ",".join("?" * len(chunk))
            for iri, blob in self.db.execute(f"SELECT iri, triples FROM figures WHERE iri IN ({marks})", chunk):
                out[iri] = unpack(blob)
        return out

    def put_figures(self, rows: Iterable[tuple[str, str, str, str, bytes, str | None]]) -> None:
        """Insert or replace ``(figid, iri, source, digest, blob, warnings JSON)`` rows."""
        self.db.executemany("INSERT OR REPLACE INTO figures VALUES (?, ?, ?, ?, ?, ?)", rows)

    def drop_figures(self, figids: Iterable[str]) -> None:
        self.db.executemany("DELETE FROM figures WHERE figid = ?", ((f,) for f in figids))

    def set_sources(self, rows: Iterable[tuple[str, str]]) -> None:
        """``(source, figid)``: an unchanged record read from another path."""
        self.db.executemany("UPDATE figures SET source = ? WHERE figid = ?", rows)

    # ------------------------------------------------------------------ file stamps
    def stamps(self) -> dict[str, tuple[int, str]]:
        """``source path -> (stamp, digest)``: the digest a record had when its files had
        that stamp (:func:`kg.sinks.store.file_stamp`)."""
        return {s: (t, d) for s, t, d in self.db.execute("SELECT source, stamp, digest FROM stamps")}

    def clear_stamps(self) -> None:
        self.db.execute("DELETE FROM stamps")

    def add_stamps(self, rows: Iterable[tuple[str, int, str]]) -> None:
        """Add ``(source, stamp, digest)`` rows."""
        self.db.executemany("INSERT OR REPLACE INTO stamps VALUES (?, ?, ?)", rows)

    # ------------------------------------------------------------------ refs
    def add_refs(self, counts: Iterable[tuple[int, int]]) -> None:
        """Add ``(hash, n)`` counts (fresh tables: plain inserts)."""
        self.db.executemany("INSERT INTO refs VALUES (?, ?) ON CONFLICT(h) DO UPDATE SET n = n + excluded.n", counts)

    def change_refs(self, deltas: dict[int, int]) -> None:
        """Apply ``hash -> delta``; rows reaching 0 are removed."""
        items = [(h, d) for h, d in deltas.items() if d]
        self.db.executemany("INSERT INTO refs VALUES (?, ?) ON CONFLICT(h) DO UPDATE SET n = n + excluded.n", items)
        self.db.executemany("DELETE FROM refs WHERE h = ? AND n <= 0", ((h,) for h, d in items if d < 0))

    def referenced(self, keys: Sequence[int]) -> set[int]:
        """Those of ``keys`` that some figure asserts as a shared triple."""
        found: set[int] = set()
        for chunk in _chunks(keys):
            marks = ",".join("?" * len(chunk))
            found.update(row[0] for row in self.db.execute(f"SELECT h FROM refs WHERE h IN ({marks})", chunk))
        return found

    # ------------------------------------------------------------------ statistics
    def add_stats(self, counts: Iterable[tuple[str, str, int]]) -> None:
        self.db.executemany("INSERT INTO stats VALUES (?, ?, ?)", counts)

    def stat_totals(self) -> dict[tuple[str, str | None], int]:
        """The number of keys of each kind, ``(kind, None) -> n``, and the sums of kind
        ``total``, ``("total", key) -> n``."""
        out: dict[tuple[str, str | None], int] = {
            (kind, None): n for kind, n in self.db.execute("SELECT kind, COUNT(*) FROM stats WHERE kind != 'total' "
                                                            "GROUP BY kind")}
        out.update({("total", key): n for key, n in self.db.execute("SELECT key, n FROM stats WHERE kind = 'total'")})
        return out

    def replace_stats(self, counts: Iterable[tuple[str, str, int]]) -> None:
        """Make the statistics exactly ``counts``."""
        self.db.execute("DELETE FROM stats")
        self.add_stats(counts)

    def each_figure(self) -> Iterator[tuple[str, list[str]]]:
        """``(IRI, lines)`` of every figure."""
        for iri, blob in self.db.execute("SELECT iri, triples FROM figures"):
            yield iri, unpack(blob)

    def change_stats(self, deltas: dict[tuple[str, str], int]) -> list[tuple[str, str, int, int]]:
        """Apply ``(kind, key) -> delta``; returns ``(kind, key, old, new)`` of the keys changed."""
        out = []
        for (kind, key), delta in deltas.items():
            if not delta:
                continue
            row = self.db.execute("SELECT n FROM stats WHERE kind = ? AND key = ?", (kind, key)).fetchone()
            old = row[0] if row else 0
            out.append((kind, key, old, old + delta))
        self.db.executemany("INSERT OR REPLACE INTO stats VALUES (?, ?, ?)", [(k, v, n) for k, v, _, n in out if n > 0])
        self.db.executemany("DELETE FROM stats WHERE kind = ? AND key = ?", [(k, v) for k, v, _, n in out if n <= 0])
        return out

    # ------------------------------------------------------------------ loaded graphs
    def graphs(self) -> dict[str, tuple[str, int]]:
        """``graph name -> (files, triples)`` of the graphs loaded with ``kg load``."""
        return {n: (f, t) for n, f, t in self.db.execute("SELECT name, files, triples FROM graphs")}

    def put_graph(self, name: str, files: str, triples: int) -> None:
        self.db.execute("INSERT OR REPLACE INTO graphs VALUES (?, ?, ?)", (name, files, triples))

    # ------------------------------------------------------------------ end
    def commit(self) -> None:
        """End the transaction and close (the caller then fsyncs the file)."""
        self.set_meta("layout", LAYOUT)
        self.db.execute("COMMIT")
        self.db.close()

    def close(self) -> None:
        try:
            self.db.close()
        except sqlite3.Error:
            pass


def warnings_json(warnings: Sequence) -> str | None:
    """A figure's row-level warnings (:class:`~kg.records.RecordError`) as stored."""
    return json.dumps([[w.path, w.reason, w.line, w.field] for w in warnings], ensure_ascii=False) if warnings else None


def warnings_from(text: str | None) -> list:
    """The warnings :func:`warnings_json` stored."""
    from .records import RecordError

    return [RecordError(path, reason, line, field, "warning") for path, reason, line, field in json.loads(text)] if text else []


def _chunks(items: Sequence) -> Iterator[list]:
    items = list(items)
    for i in range(0, len(items), _CHUNK):
        yield items[i:i + _CHUNK]
