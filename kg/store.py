"""Stage 4: the embedded persistent store (Oxigraph through pyoxigraph, no server).

Layout:

* each figure's triples (figure, mentions, JSON-LD, and its own copy of the paper, gene,
  organism, chemical and disease triples) form a named graph named by the figure's IRI,
  holding ``<figure> kg:recordDigest "sha256:..."``: the unit that is replaced;
* the default graph holds the de-duplicated union of all figure graphs, which is what
  queries read: each triple once, so joins do not multiply by the number of figures that
  repeat a gene's label, and answers equal a server loaded with the Turtle dump.

Re-building replaces figure graphs as units and keeps the default graph equal to their
union: changed records are re-mapped, their graphs replaced and triples no figure asserts
any more removed from the default graph; unchanged records (same digest) are skipped; graphs
of records no longer in the sources are dropped.  The store therefore always equals a full
rebuild.  A fresh store is built with Oxigraph's bulk loader into a temporary folder that
replaces the target only when the build succeeded; updates run in transactions.  ``kg load``
parses every dump before writing anything.
"""

from __future__ import annotations

import gzip
import io
import shutil
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, IO, Iterable, Iterator, Sequence

import pyoxigraph as ox

from .pipeline import RejectHandler, convert
from .errors import StoreError
from .mapping import FigureGraph
from .records import RecordSource, quick_digest
from .formats import for_path
from .serialize import Deduplicator, Renderer
from .sinks import write_graphs
from .vocab import KG

DEFAULT_STORE = "kg-store"
DIGEST = KG + "recordDigest"
_BATCH_FIGURES = 500


def open_store(path: str | Path, *, create: bool = True, read_only: bool = False) -> ox.Store:
    """Open the Oxigraph store at ``path``; :class:`StoreError` if missing (and not
    ``create``), locked by another process, or not a store."""
    folder = Path(path)
    if not folder.exists() and (read_only or not create):
        raise StoreError(f"no store at {folder} (build one: kg build SOURCE --store {folder})")
    if folder.exists() and not folder.is_dir():
        raise StoreError(f"{folder} is a file, not a store folder")
    if folder.is_dir() and any(folder.iterdir()) and not (folder / "CURRENT").is_file():
        raise StoreError(f"{folder} is not an Oxigraph store (no CURRENT file); refusing to touch it")
    try:
        return ox.Store.read_only(str(folder)) if read_only else ox.Store(str(folder))
    except OSError as exc:
        text = str(exc)
        if "lock" in text.lower():
            raise StoreError(f"store {folder} is locked by another process (a running kg serve or build?)") from None
        raise StoreError(f"cannot open store {folder}: {text.splitlines()[0] if text else exc}") from None


def query(store: ox.Store, sparql: str, **options):
    """Run SPARQL over the store's merged graph: the default graph when it holds data (a kg
    store keeps the de-duplicated union of the figure graphs there), else the union of the
    named graphs (e.g. a store loaded from N-Quads)."""
    if "default_graph" not in options and "use_default_graph_as_union" not in options:
        empty = next(iter(store.quads_for_pattern(None, None, None, ox.DefaultGraph())), None) is None
        options["use_default_graph_as_union"] = empty
    return store.query(sparql, **options)


def figure_digests(store: ox.Store) -> dict[str, str]:
    """``digest -> figure graph IRI`` of every figure graph in the store."""
    query = f"SELECT ?g ?d WHERE {{ GRAPH ?g {{ ?g <{DIGEST}> ?d }} }}"
    return {row["d"].value: row["g"].value for row in store.query(query)}


def _is_empty(path: Path) -> bool:
    return not path.exists() or (path.is_dir() and not any(path.iterdir()))


@dataclass
class StoreBuildResult:
    """What a build into a store did: quads written, figures skipped as unchanged, figure
    graphs dropped, and triples written to the file built alongside (if any)."""

    quads: int = 0
    unchanged: int = 0
    removed: int = 0
    file_triples: int = 0


class _QuadStream(io.RawIOBase):
    """A read-only binary stream of N-Quads pulled from figure graphs, rendered (by workers:
    ``Renderer("store")``) or not, for bulk_load: each figure's named graph, and the
    de-duplicated union of all figures' triples in the default graph."""

    def __init__(self, figures: Iterable[FigureGraph], counter: StoreBuildResult):
        self._figures = iter(figures)
        self._buffer = b""
        self._counter = counter
        self._dedup = Deduplicator()
        self._render = Renderer("store")

    def readable(self) -> bool:
        return True

    def readinto(self, target) -> int:  # type: ignore[override]
        while len(self._buffer) < len(target):
            figure = next(self._figures, None)
            if figure is None:
                break
            if isinstance(figure, FigureGraph):
                figure = self._render(figure)
            shared = self._dedup.shared(figure)
            self._counter.quads += figure.own_count + len(shared)
            self._buffer += figure.own + "".join(shared).encode("utf-8")
        size = min(len(target), len(self._buffer))
        target[:size] = self._buffer[:size]
        self._buffer = self._buffer[size:]
        return size


def build_into_store(found: Sequence[RecordSource], path: str | Path, *, jobs: int = 1,
                     on_reject: RejectHandler | None = None, on_record: Callable[[], None] | None = None,
                     incremental: bool = True, also_write: str | Path | None = None, format: str = "turtle",
                     shard_lines: int | None = None,
                     counted: Callable[[Iterable[FigureGraph]], Iterator[FigureGraph]] = lambda x: iter(x),
                     on_warning: RejectHandler | None = None) -> StoreBuildResult:
    """Make the store at ``path`` hold exactly the figure graphs of ``found``; the row-level
    warnings of the figures converted go to ``on_warning``."""
    folder = Path(path)
    result = StoreBuildResult()
    if _is_empty(folder):
        _fresh_build(found, folder, jobs, on_reject, on_record, also_write, format, shard_lines, counted, result,
                     on_warning)
        return result
    store = open_store(folder)
    try:
        existing = figure_digests(store)
        known = set(existing) if incremental else set()
        kept: set[str] = set()

        def skip(source: RecordSource) -> bool:
            if not known:
                return False
            digest = f"sha256:{quick_digest(source)}"
            if digest in known:
                kept.add(existing[digest])
                result.unchanged += 1
                if on_record:
                    on_record()
                return True
            return False

        figures = counted(convert(found, jobs, on_reject, on_record, skip=skip, on_warning=on_warning))
        if also_write is not None:
            figures = _tee_to_file(figures, also_write, format, shard_lines, result)
        built: set[str] = set()
        batch: list[FigureGraph] = []
        for figure in figures:
            built.add(figure.graph)
            batch.append(figure)
            if len(batch) >= _BATCH_FIGURES:
                result.quads += _replace(store, batch, [])
                batch = []
        stale = sorted(set(existing.values()) - kept - built)
        result.removed = len(stale)
        result.quads += _replace(store, batch, stale)
        store.flush()
    finally:
        del store
    return result


def _graph_triples(store: ox.Store, graph: str) -> set[str]:
    """The triples of a named graph as N-Triples lines (kg writes them canonically)."""
    return {f"{q.triple} .\n" for q in store.quads_for_pattern(None, None, None, ox.NamedNode(graph))}


def _replace(store: ox.Store, figures: list[FigureGraph], drop: list[str]) -> int:
    """Replace the graphs of ``figures`` and drop the graphs ``drop``, keeping the default
    graph the union of the figure graphs, in one transaction (one SPARQL update)."""
    if not figures and not drop:
        return 0
    new: set[str] = set()
    old: set[str] = set()
    parts = []
    for graph in [f.graph for f in figures] + drop:
        old |= _graph_triples(store, graph)
        parts.append(f"DROP SILENT GRAPH <{graph}> ;\n")
    count = 0
    if figures:
        parts.append("INSERT DATA {\n")
        for figure in figures:
            lines = figure.lines()
            new.update(lines)
            count += len(lines)
            parts.append(f"GRAPH <{figure.graph}> {{\n")
            parts.extend(lines)
            parts.append("}\n")
        parts.extend(sorted(new))  # the default graph: the union
        parts.append("} ;\n")
    gone = old - new  # no longer asserted by these figures: keep only if another graph has it
    if gone:
        parts.append("DELETE { ?s ?p ?o } WHERE {\n  VALUES (?s ?p ?o) {\n")
        parts.extend(f"    ({line[:-3]})\n" for line in sorted(gone))
        parts.append("  }\n  FILTER NOT EXISTS { GRAPH ?g { ?s ?p ?o } }\n}")
    store.update("".join(parts).rstrip(" ;\n"))
    return count + len(new)


def _fresh_build(found, folder: Path, jobs, on_reject, on_record, also_write, format, shard_lines, counted,
                 result: StoreBuildResult, on_warning: RejectHandler | None = None) -> None:
    """Bulk-load a new store in a temporary folder, then move it into place."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", suffix=".tmp", dir=folder.parent))
    try:
        if also_write is None:  # the workers render the quads
            figures = counted(convert(found, jobs, on_reject, on_record, prepare=Renderer("store"), on_warning=on_warning))
        else:
            figures = _tee_to_file(counted(convert(found, jobs, on_reject, on_record, on_warning=on_warning)), also_write, format,
                                   shard_lines, result)
        store = ox.Store(str(tmp))
        # lenient: skip re-validating IRIs that kg built and validated itself (~10% faster)
        store.bulk_load(_QuadStream(figures, result), format=ox.RdfFormat.N_QUADS, lenient=True)
        store.flush()
        del store
        if folder.exists():
            folder.rmdir()  # empty, checked by the caller
        tmp.rename(folder)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def _tee_to_file(figures: Iterable[FigureGraph], output: str | Path, fmt: str,
                 shard_lines: int | None, result: StoreBuildResult) -> Iterator[FigureGraph]:
    """Pass figures through while also writing them to ``output`` (written when exhausted).

    The file writer runs in a thread fed through a small queue, so memory stays bounded."""
    import queue
    import threading

    channel: queue.Queue = queue.Queue(maxsize=64)
    done = object()
    failure: list[BaseException] = []

    finished = threading.Event()

    def drain() -> Iterator[FigureGraph]:
        while (item := channel.get()) is not done:
            yield item
        finished.set()

    def run() -> None:
        try:
            result.file_triples = write_graphs(drain(), output, fmt, shard_lines).statements
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller
            failure.append(exc)
            while not finished.is_set() and channel.get() is not done:
                pass

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    try:
        for figure in figures:
            channel.put(figure)
            yield figure
    finally:
        channel.put(done)
        worker.join()
    if failure:
        raise failure[0]


# --------------------------------------------------------------------------- kg load


@dataclass
class LoadReport:
    """What ``kg load`` did; ``triples`` (statements parsed) is None for a new store, which
    Oxigraph's bulk loader fills without counting them."""

    files: int = 0
    triples: int | None = 0
    seconds: float = 0.0
    store: str = ""
    graph: str | None = None
    before: int = 0
    after: int = 0

    def __str__(self) -> str:
        target = f"graph <{self.graph}>" if self.graph else "the default graph"
        parsed = f", {self.triples} statements parsed," if self.triples is not None else ""
        return (f"loaded {self.files} file(s){parsed} into {target} of {self.store}: "
                f"{self.before} -> {self.after} quads in {self.seconds:.2f} s")



def _open_dump(path: Path) -> IO[bytes]:
    return gzip.open(path, "rb") if path.suffix.lower() == ".gz" else open(path, "rb")


RDF_SUFFIXES = (".ttl", ".nt", ".nq", ".jsonld")
IN_MEMORY_BYTES = 32 << 20  # dumps up to this size are loaded in memory, larger ones on disk


@contextmanager
def open_source(source: str | Path) -> Iterator[ox.Store]:
    """A store to read: a store folder opened read-only, or an RDF dump (.ttl/.nt/.nq/.jsonld,
    optionally .gz) bulk-loaded into a temporary store (in memory when small, else on disk,
    removed afterwards).  FileNotFoundError / StoreError with a one-line message otherwise."""
    path = Path(source)
    is_dump = path.name.lower().removesuffix(".gz").endswith(RDF_SUFFIXES)
    if path.is_dir() or (not path.exists() and not is_dump):
        store = open_store(path, read_only=True)  # StoreError if missing or not a store
        try:
            yield store
        finally:
            del store
        return
    if not path.is_file():
        raise FileNotFoundError(f"no such RDF dump: {path}")
    if not is_dump:
        raise StoreError(f"{path} is neither a store folder nor an RDF dump ({', '.join(RDF_SUFFIXES)}, optionally .gz)")
    fmt = for_path(path).rdf
    size = path.stat().st_size * (8 if path.suffix.lower() == ".gz" else 1)
    tmp = tempfile.mkdtemp(prefix="kg-dump-") if size > IN_MEMORY_BYTES else None
    try:
        store = ox.Store(tmp)
        try:
            with _open_dump(path) as fh:
                store.bulk_load(fh, format=fmt, base_iri=path.resolve().as_uri())
        except SyntaxError as exc:
            raise StoreError(f"{path}: not valid {fmt.name}: {str(exc).splitlines()[0]}") from None
        except (OSError, EOFError) as exc:
            raise StoreError(f"{path}: cannot read: {exc}") from None
        try:
            yield store
        finally:
            del store
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)


def load(dumps: Iterable[str | Path], store: str | Path = DEFAULT_STORE, *, graph: str | None = None,
         replace: bool = False) -> LoadReport:
    """Load RDF files (Turtle, N-Triples, N-Quads, JSON-LD, optionally gzipped) into the store.

    Every file is parsed before anything is written; the load itself runs in one
    transaction, so a failed load leaves the store as it was.  Triples go to the default
    graph unless ``graph`` is given; quads keep their graphs.  Loading the same dump twice
    changes nothing (the dumps kg writes have no blank nodes).
    """
    started = time.perf_counter()
    paths = [Path(d) for d in dumps]
    for p in paths:
        if not p.is_file():
            raise FileNotFoundError(f"no such dump: {p}")
    target = ox.NamedNode(graph) if graph else ox.DefaultGraph()
    report = LoadReport(files=len(paths), store=str(store), graph=graph)
    if _is_empty(Path(store)):
        _bulk_load_new(paths, Path(store), target, report)
        report.seconds = time.perf_counter() - started
        return report
    quads: list[ox.Quad] = []
    for p in paths:
        fmt = for_path(p).rdf
        try:
            with _open_dump(p) as fh:
                for quad in ox.parse(fh, format=fmt, base_iri=p.resolve().as_uri()):
                    g = quad.graph_name if not isinstance(quad.graph_name, ox.DefaultGraph) else target
                    quads.append(ox.Quad(quad.subject, quad.predicate, quad.object, g))
        except SyntaxError as exc:
            raise StoreError(f"{p}: not valid {fmt.name}: {exc}; nothing was loaded") from None
        except (OSError, EOFError) as exc:
            raise StoreError(f"{p}: cannot read: {exc}; nothing was loaded") from None
    report.triples = len(quads)
    st = open_store(store)
    try:
        report.before = len(st)
        updates = []
        if replace:
            updates.append("DROP SILENT DEFAULT" if graph is None else f"DROP SILENT GRAPH <{graph}>")
        if updates:
            st.update(" ;\n".join(updates))
        st.extend(quads)
        st.flush()
        report.after = len(st)
    except OSError as exc:
        raise StoreError(f"load into {store} failed: {exc}") from None
    finally:
        del st
    report.seconds = time.perf_counter() - started
    return report


def _bulk_load_new(paths: list[Path], folder: Path, target: ox.DefaultGraph | ox.NamedNode,
                   report: LoadReport) -> None:
    """A new store from dumps with Oxigraph's bulk loader (streaming, not all in memory),
    built in a temporary folder and moved into place only when every file loaded."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", suffix=".tmp", dir=folder.parent))
    try:
        st = ox.Store(str(tmp))
        for p in paths:
            fmt = for_path(p).rdf
            base = p.resolve().as_uri()
            try:
                if p.suffix.lower() == ".gz":
                    with _open_dump(p) as fh:
                        st.bulk_load(fh, format=fmt, base_iri=base, to_graph=target)
                else:
                    st.bulk_load(path=str(p), format=fmt, base_iri=base, to_graph=target)
            except SyntaxError as exc:
                raise StoreError(f"{p}: not valid {fmt.name}: {str(exc).splitlines()[0]}; nothing was loaded") from None
            except (OSError, EOFError) as exc:
                raise StoreError(f"{p}: cannot read: {exc}; nothing was loaded") from None
        st.flush()
        report.after = len(st)
        report.triples = None  # the bulk loader streams: statements are not counted, quads are
        del st
        if folder.exists():
            folder.rmdir()  # empty: checked by the caller
        tmp.rename(folder)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
