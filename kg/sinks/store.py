"""The store sink: kg's graph in the embedded Oxigraph store (:mod:`kg.store`), each triple
once in the default graph, with the bookkeeping that makes updates exact (:mod:`kg.ledger`).

A new store is bulk-loaded: the workers render each figure (:class:`StorePrepare`), the
main process streams the lines through a pipe into ``Store.bulk_load`` running in a thread
while it fills the bookkeeping.  An existing store gets a new generation (a hard-link
checkpoint) to which the difference is applied, figure by figure, in batches:

* unchanged records (same digest) are skipped;
* a changed figure's lines are compared with the lines it had: lines it no longer asserts
  are removed unless another figure or a loaded graph still asserts them; new lines are
  added; shared lines (paper, genes, organisms...) are counted per figure in ``refs``;
* figures no longer in the sources (deleted, or now rejected) are removed the same way.

Nothing is visible until :meth:`StoreSink.close` commits the generation; :meth:`abort`
(or a kill at any moment) leaves the store as it was.
"""

from __future__ import annotations

import os
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from hashlib import blake2b
from pathlib import Path

import pyoxigraph as ox

from .. import records, statistics
from ..ledger import hashes, line_hash, pack, scope, unhash, unpack, warnings_from, warnings_json
from ..mapping import FigureGraph
from ..records import TABLE_KINDS, WPID_MAP, RecordSource, content_digest, quick_digest
from ..serialize import Deduplicator
from ..store import Keeper, StoreWriter, add_default, remove_default
from . import Sink, SinkStats

#: Figures per batch of an update (bounded memory, few SQLite round trips).
UPDATE_BATCH = 500
#: Compact the store (``Store.optimize``) once the figures changed since the last compaction
#: reach this share of all figures: updates leave RocksDB fragmented, and queries on a store
#: whose every figure changed twice were measured 2-13x slower (warm / cold cache) until
#: compacted (50 s at 100k records).
COMPACT_SHARE = 0.25
_ROWS = 1000


@dataclass
class StoreFigure:
    """A figure prepared for the store (in a worker): its lines packed for the bookkeeping,
    the hashes of its shared lines and, for a bulk load, its lines to load."""

    figid: str
    figure: str
    source: str
    digest: str
    blob: bytes
    shared: bytes = b""
    own: bytes = b""
    paper_iri: str | None = None
    paper: list[str] = field(default_factory=list)
    entities: list[str] = field(default_factory=list)
    other: list[str] = field(default_factory=list)
    warnings: list = field(default_factory=list)
    facts: dict = field(default_factory=dict)


class StorePrepare:
    """Prepares figures for the store sink where they are mapped (one copy per worker).

    ``fresh`` (bulk load): the figure's own lines as bytes, its shared lines for the main
    process's de-duplication (entity lines this worker already passed on are dropped: the
    main process, seeing figures in order, would drop them too)."""

    def __init__(self, fresh: bool):
        self.fresh = fresh
        self.passed: set[str] = set()

    def __call__(self, figure: FigureGraph) -> StoreFigure:
        lines = list(dict.fromkeys(figure.lines()))
        iri = figure.figure
        prepared = StoreFigure(figure.figid, iri, figure.source, figure.digest, pack(lines),
                               warnings=list(figure.warnings), facts=statistics.facts(iri, lines))
        if not self.fresh:
            return prepared
        own = scope(iri)
        prepared.shared = hashes([line for line in lines if not line.startswith(own)])
        prepared.own = "".join([line for line in figure.own if line.startswith(own)]).encode("utf-8")
        prepared.other = [line for line in figure.own if not line.startswith(own)]
        prepared.paper_iri, prepared.paper = figure.paper_iri, figure.paper
        prepared.entities = [line for line in figure.entities if line not in self.passed]
        self.passed.update(prepared.entities)
        return prepared


#: A file changed less than this (ns) before a build started may change again within the
#: file system's timestamp granularity without changing its stamp: its stamp is not kept.
RACY_NS = 2_000_000_000


class Digests:
    """:func:`kg.records.quick_digest` of many records, with each ``_data`` folder listed
    once instead of a ``stat`` per possible table (the same digests: same files, same bytes),
    and the *stamps* of their files, which tell an unchanged record without reading it."""

    def __init__(self) -> None:
        self.listings: dict[str, dict[str, os.DirEntry]] = {}
        self.started_ns = time.time_ns()

    def _listing(self, data_dir: Path) -> dict[str, os.DirEntry] | None:
        key = str(data_dir)
        listed = self.listings.get(key)
        if listed is None:
            try:
                listed = {entry.name: entry for entry in os.scandir(data_dir) if entry.is_file()}
            except OSError:
                return None
            self.listings[key] = listed
        return listed

    def stamp(self, source: RecordSource) -> int | None:
        """A hash of the size, inode, modification and change times of the record file, its
        tables and the site's ``wpid_map.tsv`` (as git's index does), or None when one of
        them changed too recently to be trusted or cannot be examined.  The change time
        moves with every write, so equal stamps mean the same bytes."""
        try:
            stats = [os.stat(source.path)]
            if source.data_dir is not None:
                listed = self._listing(source.data_dir)
                if listed is None:
                    return None
                fig = os.path.splitext(os.path.basename(source.path))[0]
                for kind in TABLE_KINDS:
                    entry = listed.get(f"{fig}-{kind}.tsv")
                    stats.append(entry.stat() if entry is not None else None)
                entry = listed.get(WPID_MAP)  # one file per site: DirEntry.stat() asks once
                stats.append(entry.stat() if entry is not None else None)
        except OSError:
            return None
        text = [str(records.MAPPING_VERSION)]  # a new mapping: every digest changes
        for st in stats:
            if st is None:
                text.append("-")
                continue
            if max(st.st_mtime_ns, st.st_ctime_ns) >= self.started_ns - RACY_NS:
                return None
            text.append(f"{st.st_dev}:{st.st_ino}:{st.st_size}:{st.st_mtime_ns}:{st.st_ctime_ns}")
        return int.from_bytes(blake2b("|".join(text).encode(), digest_size=8).digest(), "big", signed=True)

    def digest(self, source: RecordSource) -> str | None:
        """The digest :func:`kg.records.quick_digest` gives ``source``."""
        if source.data_dir is None:
            return quick_digest(source)
        listed = self._listing(source.data_dir)
        if listed is None:
            return quick_digest(source)
        key = str(source.data_dir)
        path = str(source.path)
        try:
            with open(path, "rb") as fh:
                raw = fh.read()
        except OSError:
            return None
        fig = os.path.splitext(os.path.basename(path))[0]  # Path.stem
        tables: dict[str, tuple[Path, bytes | OSError]] = {}
        for kind in TABLE_KINDS:
            name = f"{fig}-{kind}.tsv"
            if name in listed:
                table = os.path.join(key, name)
                try:
                    with open(table, "rb") as fh:
                        tables[kind] = (Path(table), fh.read())
                except OSError as exc:
                    tables[kind] = (Path(table), exc)
        return content_digest(raw, fig, tables)


class StoreSink(Sink):
    """Make the store folder ``path`` hold exactly the figures written to it (plus the graphs
    loaded into it).  ``incremental``: records whose digest the store holds are skipped
    (:meth:`skip`) and figures whose digest is unchanged are not re-applied."""

    def __init__(self, path: str | Path, incremental: bool = True):
        self.path = Path(path)
        self.writer = StoreWriter(self.path, "kg build")
        self.fresh = self.writer.fresh
        self._prepare = StorePrepare(self.fresh)
        self.stats = SinkStats()
        self._ledger = self.writer.ledger
        self._rows: list[tuple] = []
        self._facts: Counter[tuple[str, str]] = Counter()  # fresh: counts; update: changes
        self._digests = Digests()
        self._stamp_of: dict[str, int] = {}  # source -> stamp, until its figure is written
        self._stamp_rows: list[tuple[str, int, str]] = []
        self._known_stamps: dict[str, tuple[int, str]] = {}
        if self.fresh:
            self._refs: Counter[int] = Counter()
            self._dedup = Deduplicator()
            self._start_loader()
        else:
            remap = not incremental or not self._ledger.mapped_by_this_kg()
            self._by_digest = {} if remap else self._ledger.digests()
            self._digest_of = {row[0]: digest for digest, row in self._by_digest.items()}
            self._kept: set[str] = set()
            self._values: dict[str, set[str]] | None = {}  # years and journals an update may change (None: all)
            if not remap:
                self._known_stamps = self._ledger.stamps()
            self._ledger.clear_stamps()
            self._moved: list[tuple[str, str]] = []
            self._seen: set[str] = set()
            self._batch: list[StoreFigure] = []
            self._keeper = Keeper(self.writer.store, self._ledger)
            if self._ledger.get_meta("statistics") != statistics.VERSION:
                self._recount()
        self._ledger.set_meta("kg", __import__("kg").__version__)
        self._ledger.set_meta("statistics", statistics.VERSION)

    def _recount(self) -> None:
        """Statistics of another version (an older kg wrote the store): count them again
        from every figure's lines (once)."""
        counts: Counter[tuple[str, str]] = Counter()
        for iri, lines in self._ledger.each_figure():
            counts.update(statistics.facts(iri, lines))
        rows = sorted((kind, key, n) for (kind, key), n in counts.items() if n > 0)
        self._ledger.replace_stats(rows)
        self.writer.store.clear_graph(ox.NamedNode(statistics.GRAPH))
        statistics.write(self.writer.store, rows)
        self._values = None  # every year and journal counted again at the end

    @property
    def prepare(self) -> StorePrepare:
        return self._prepare

    # ------------------------------------------------------------------ skipping
    def skip(self, source: RecordSource) -> tuple[str, str, list] | None:
        """``(figid, figure IRI, warnings)`` of a record the store holds unchanged (not
        re-read: its warnings are those its last build found), else None."""
        path = str(source.path)
        stamp = self._digests.stamp(source)
        if stamp is not None:
            self._stamp_of[path] = stamp
        if self.fresh or not self._by_digest:
            return None
        known = self._known_stamps.get(path)
        digest = known[1] if known is not None and stamp is not None and known[0] == stamp else None
        if digest is None:
            digest = self._digests.digest(source)
        held = self._by_digest.get(digest or "")
        if held is None:
            return None
        if stamp is not None:
            self._stamp(path, digest)
        figid, iri, where, warnings = held
        self._kept.add(figid)
        if where != str(source.path):
            self._moved.append((str(source.path), figid))
        self.stats.unchanged += 1
        return figid, iri, warnings_from(warnings)

    def unskip(self, figid: str) -> None:
        """A skipped record was rejected after all (a duplicate): its figure goes."""
        self._kept.discard(figid)
        self.stats.unchanged -= 1

    # ------------------------------------------------------------------ writing
    def _stamp(self, source: str, digest: str | None) -> None:
        """Keep the stamp ``source`` had when :meth:`skip` saw it, with the digest its bytes give."""
        stamp = self._stamp_of.pop(source, None)
        if stamp is not None and digest:
            self._stamp_rows.append((source, stamp, digest))
            if len(self._stamp_rows) >= _ROWS:
                self._ledger.add_stamps(self._stamp_rows)
                self._stamp_rows = []

    def write(self, figure: StoreFigure | FigureGraph) -> None:
        if isinstance(figure, FigureGraph):
            figure = self._prepare(figure)
        self._stamp(figure.source, figure.digest)
        if self.fresh:
            self._load(figure)
        else:
            self._update(figure)

    def _load(self, figure: StoreFigure) -> None:
        shared = self._dedup.shared(figure)  # type: ignore[arg-type]
        data = figure.own + "".join(shared + figure.other).encode("utf-8")
        try:
            self._pipe.write(data)
        except BrokenPipeError:
            self._loader.join()
            raise self._failure[0] if self._failure else RuntimeError("the bulk loader stopped")
        self._refs.update(unhash(figure.shared))
        self._facts.update(figure.facts)
        self._rows.append((figure.figid, figure.figure, figure.source, figure.digest, figure.blob,
                           warnings_json(figure.warnings)))
        if len(self._rows) >= _ROWS:
            self._ledger.put_figures(self._rows)
            self._rows = []

    def _start_loader(self) -> None:
        read, write = os.pipe()
        self._failure: list[BaseException] = []
        store = self.writer.store

        def run() -> None:
            try:
                # lenient: kg built and validated these IRIs itself (~10% faster)
                store.bulk_load(path=f"/proc/self/fd/{read}", format=ox.RdfFormat.N_TRIPLES, lenient=True)
            except BaseException as exc:  # noqa: BLE001 - re-raised by the writer
                self._failure.append(exc)
            finally:
                os.close(read)

        self._loader = threading.Thread(target=run, name="kg-bulk-load", daemon=True)
        self._loader.start()
        self._pipe = os.fdopen(write, "wb", buffering=1 << 20)

    def _update(self, figure: StoreFigure) -> None:
        self._seen.add(figure.figid)
        if self._digest_of.get(figure.figid) == figure.digest:
            self._kept.add(figure.figid)  # unchanged (a file and the store built together)
            self.stats.unchanged += 1
            return
        self._batch.append(figure)
        if len(self._batch) >= UPDATE_BATCH:
            self._apply(self._batch)
            self._batch = []

    def _apply(self, figures: list[StoreFigure], removed: list[str] = ()) -> None:
        """Apply a batch: ``figures`` (new or changed) replace what the store held for their
        figids; figids ``removed`` go."""
        old = self._ledger.figures([f.figid for f in figures] + list(removed))
        deltas: Counter[int] = Counter()
        added: list[str] = []
        gone: list[str] = []
        pending: dict[str, set[str]] = {}
        rows = []
        for figure in figures:
            new = unpack(figure.blob)
            new_set = set(new)
            before_iri, before = old.pop(figure.figid, (None, []))
            before_set = set(before)
            own = scope(figure.figure)
            now_shared = {line for line in new if not line.startswith(own)}
            was_own = scope(before_iri) if before_iri else None
            was_shared = {line for line in before if not line.startswith(was_own)} if was_own else set()
            for line in now_shared - was_shared:
                deltas[line_hash(line)] += 1
            for line in was_shared - now_shared:
                deltas[line_hash(line)] -= 1
            added.extend(new_set - before_set)
            gone.extend(before_set - new_set)
            self._facts.update(figure.facts)
            if before_iri:
                self._facts.subtract(statistics.facts(before_iri, before))
            pending[figure.figure] = new_set
            rows.append((figure.figid, figure.figure, figure.source, figure.digest, figure.blob,
                         warnings_json(figure.warnings)))
            self.stats.statements += len(new)
        for figid in removed:
            before_iri, before = old.pop(figid, (None, []))
            was_own = scope(before_iri) if before_iri else ("\0",)
            for line in before:
                if not line.startswith(was_own):
                    deltas[line_hash(line)] -= 1
            gone.extend(before)
            if before_iri:
                self._facts.subtract(statistics.facts(before_iri, before))
        if self._values is not None:
            statistics.paper_values(added, self._values)
            statistics.paper_values(gone, self._values)
        self.stats.changed += len(figures) + len(removed)
        self._ledger.drop_figures(removed)
        self._ledger.put_figures(rows)
        self._ledger.change_refs(deltas)
        remove_default(self.writer.store, self._keeper.unasserted(gone, pending))
        add_default(self.writer.store, added)

    # ------------------------------------------------------------------ end
    def close(self) -> SinkStats:
        try:
            self._ledger.add_stamps(self._stamp_rows)
            if self.fresh:
                self._pipe.close()
                self._loader.join()
                if self._failure:
                    raise self._failure[0]
                self._ledger.put_figures(self._rows)
                self._ledger.add_refs(sorted(self._refs.items()))
                counts = sorted((kind, key, n) for (kind, key), n in self._facts.items())
                self._ledger.add_stats(counts)
                statistics.write(self.writer.store, counts)
                statistics.refresh(self.writer.store, self._ledger)
                self.stats.statements = len(self.writer.store)
            else:
                if self._batch:
                    self._apply(self._batch)
                self._ledger.set_sources(self._moved)
                stale = [f for f in self._ledger.figids() if f not in self._kept and f not in self._seen]
                for i in range(0, len(stale), UPDATE_BATCH):
                    self._apply([], stale[i:i + UPDATE_BATCH])
                self.stats.removed = len(stale)
                statistics.change(self.writer.store, self._ledger.change_stats(self._facts))
                if self._values is not None:
                    recounted = [key for (kind, key), delta in self._facts.items() if kind == "paper" and delta]
                    statistics.values_of(self.writer.store, recounted, self._values)
                statistics.refresh(self.writer.store, self._ledger, self._values)
                self._compact_if_fragmented()
                self._keeper = None  # type: ignore[assignment]  # the store must be closed to commit
            self.writer.commit()
        except BaseException:
            self.abort()
            raise
        return self.stats

    def _compact_if_fragmented(self) -> None:
        """Compact the new generation (before it is committed) once enough figures changed."""
        changed = int(self._ledger.get_meta("changed since compaction") or 0) + self.stats.changed
        if changed and changed >= COMPACT_SHARE * max(self._ledger.figure_count(), 1):
            self.writer.store.optimize()
            changed = 0
        self._ledger.set_meta("changed since compaction", str(changed))

    def abort(self) -> None:
        if self.writer.closed:
            return
        self._keeper = None  # type: ignore[assignment]
        if self.fresh and self._loader.is_alive():
            try:
                self._pipe.close()
            except OSError:
                pass
            self._loader.join()
        self.writer.abort()
