"""The embedded persistent store (Oxigraph through pyoxigraph, no server): its folder layout,
opening it for reading, writing a new generation of it, and ``kg load``.

Layout of a store folder ``DIR``::

    DIR/CURRENT        names the live generation ("gen-3"); replaced atomically = the commit
    DIR/gen-3/         an Oxigraph (RocksDB) store: the live generation, never written again
    DIR/gen-3.sqlite   its bookkeeping (:mod:`kg.ledger`): figures, shared-triple counts, graphs
    DIR/gen-2/ ...     the previous generation, kept for readers that opened it just before
    DIR/.lock          held (``flock``) by the one build or load writing a new generation

kg's graph lives once, in the default graph: each triple once.  Graphs loaded with
``kg load`` live in their own named graphs *and* in the default graph, so a query over the
default graph sees kg's graph and every loaded graph as one set, without duplicate rows
(Oxigraph's union default graph would repeat a triple once per graph holding it).

A build or load takes the lock, makes generation N+1 (a hard-link checkpoint of N, cheap,
plus a copy of its bookkeeping; or an empty one), writes it, syncs it to disk and then
replaces ``CURRENT``.  Killed at any moment, the store stays at generation N; the next
writer removes what the killed one left.  Readers open the generation ``CURRENT`` names,
read-only, and never see a generation being written.
"""

from __future__ import annotations

import fcntl
import gc
import gzip
import os
import re
import shutil
import sys
import tempfile
import time
import traceback
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, Iterable, Iterator

import pyoxigraph as ox

from .errors import StoreError
from .formats import for_path
from .ledger import Ledger, line_hash, scope_of
from . import statistics
from .statistics import GRAPH as STATISTICS

DEFAULT_STORE = "kg-store"
CURRENT = "CURRENT"
LOCK = ".lock"
#: Seconds a second writer waits for the lock before it is refused (``KG_LOCK_WAIT``).
LOCK_WAIT = float(os.environ.get("KG_LOCK_WAIT", "3"))
_GENERATION = re.compile(r"gen-([0-9]+)(?:\.sqlite(?:-journal|-wal|-shm)?)?")
_OURS = re.compile(r"gen-[0-9]+(?:\.sqlite(?:-journal|-wal|-shm)?)?|CURRENT(?:\.[0-9]+\.tmp)?|\.lock|\.kg-[0-9]+-.*")


# --------------------------------------------------------------------------- layout


def generation_of(folder: str | Path) -> int | None:
    """The live generation of the store folder (what ``CURRENT`` names), None if none."""
    try:
        text = (Path(folder) / CURRENT).read_text("utf-8").strip()
    except (FileNotFoundError, NotADirectoryError, UnicodeDecodeError):
        return None
    found = re.fullmatch(r"gen-([0-9]+)", text)
    return int(found.group(1)) if found else None


def is_flat_store(folder: Path) -> bool:
    """A store written by kg before generations: one RocksDB folder (its CURRENT names a MANIFEST)."""
    try:
        return (folder / CURRENT).read_text("utf-8", "replace").startswith("MANIFEST-")
    except OSError:
        return False


def _is_ours(folder: Path) -> bool:
    """True if every entry of ``folder`` is one kg's store layout makes (or it is empty)."""
    return all(_OURS.fullmatch(entry.name) for entry in os.scandir(folder))


def _rebuild_hint(folder: Path) -> str:
    return (f"{folder} is a store written by an older kg (one RocksDB folder, no generations); "
            f"it can be read but not updated: remove it and build it again (kg build SOURCES --store {folder})")


def open_store(path: str | Path, *, create: bool = True, read_only: bool = False) -> ox.Store:
    """Open the store at ``path``: the generation ``CURRENT`` names (read-only: the usual way;
    read-write only for ``kg serve --writable``, which holds the lock).  :class:`StoreError`
    if missing (and not ``create``), not a kg store, or not readable."""
    folder = Path(path)
    if folder.exists() and not folder.is_dir():
        raise StoreError(f"{folder} is a file, not a store folder")
    if is_flat_store(folder):
        if not read_only:
            raise StoreError(_rebuild_hint(folder))
        return _open(folder, True)
    for attempt in range(3):
        number = generation_of(folder)
        if number is None:
            break
        try:
            return _open(folder / f"gen-{number}", read_only)
        except StoreError:
            if attempt == 2 or generation_of(folder) == number:
                raise
    # no committed generation
    if not folder.exists() or not any(folder.iterdir()):
        if read_only or not create:
            raise StoreError(f"no store at {folder} (build one: kg build SOURCE --store {folder})")
        with StoreWriter(folder, "kg") as writer:
            writer.commit()
        return open_store(folder, read_only=False)
    if _is_ours(folder):
        raise StoreError(f"no store at {folder} yet: a build is running there or was interrupted "
                         f"(run the build again)")
    raise StoreError(f"{folder} is not a kg store (no CURRENT file); refusing to touch it")


def _open(path: Path, read_only: bool) -> ox.Store:
    try:
        return ox.Store.read_only(str(path)) if read_only else ox.Store(str(path))
    except OSError as exc:
        text = str(exc)
        if "lock" in text.lower():
            raise StoreError(f"store {path} is locked by another process (a running kg serve --writable?)") from None
        raise StoreError(f"cannot open store {path}: {text.splitlines()[0] if text else exc}") from None


class LiveStore:
    """A read-only store that follows rebuilds: :meth:`get` returns the open generation, first
    reopening it when ``CURRENT`` changed (one ``stat`` per call when nothing changed)."""

    def __init__(self, path: str | Path):
        self.folder = Path(path)
        self._stamp = self._current_stamp()
        self.store = open_store(self.folder, read_only=True)

    def _current_stamp(self) -> tuple[int, int, int] | None:
        try:
            st = os.stat(self.folder / CURRENT)
        except OSError:
            return None
        return (st.st_ino, st.st_mtime_ns, st.st_size)

    def get(self) -> ox.Store:
        stamp = self._current_stamp()
        if stamp != self._stamp:
            try:
                store = open_store(self.folder, read_only=True)
            except StoreError:
                return self.store  # keep answering from what we have
            self.store, self._stamp = store, stamp
        return self.store


def query(store: ox.Store, sparql: str, **options):
    """Run SPARQL over the store's graph: the default graph (kg's graph and every loaded
    graph, each triple once) when it holds data, else the union of the named graphs (an
    N-Quads dump opened with :func:`open_source`)."""
    if "default_graph" not in options and "use_default_graph_as_union" not in options:
        empty = next(iter(store.quads_for_pattern(None, None, None, ox.DefaultGraph())), None) is None
        options["use_default_graph_as_union"] = empty
    return store.query(sparql, **options)


def figure_digests(path: str | Path) -> dict[str, str]:
    """``digest -> figid`` of every figure in the store folder ``path``."""
    ledger = _ledger(Path(path))
    try:
        return {digest: row[0] for digest, row in ledger.digests().items()}
    finally:
        ledger.close()


def _ledger(folder: Path) -> Ledger:
    number = generation_of(folder)
    if number is None:
        raise StoreError(f"no kg store at {folder}" if not is_flat_store(folder) else _rebuild_hint(folder))
    return Ledger(folder / f"gen-{number}.sqlite", read_only=True)


def graphs(path: str | Path) -> list[dict]:
    """The graphs of the store folder ``path``, for ``kg stats``: first the default graph
    (what queries read: kg's graph and the loaded graphs, each triple once; ``figures`` kg
    built into it), then each named graph with its triple count (and the files ``kg load``
    read into it)."""
    folder = Path(path)
    store = open_store(folder, read_only=True)
    loaded: dict[str, tuple[str, int]] = {}
    figures = None
    if generation_of(folder) is not None:
        ledger = _ledger(folder)
        try:
            loaded, figures = ledger.graphs(), ledger.figure_count()
        finally:
            ledger.close()
    count = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
    rows = [{"graph": "default", "triples": int(next(iter(store.query(count, use_default_graph_as_union=False)))["n"].value),
             "figures": figures}]
    per = store.query("SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g ORDER BY ?g")
    for row in per:
        name = row["g"].value
        rows.append({"graph": name, "triples": int(row["n"].value), "files": loaded.get(name, ("", 0))[0] or None})
    del store
    return rows


# --------------------------------------------------------------------------- writing


class StoreLock:
    """``DIR/.lock``, held with ``flock`` by the one process writing the store; it names that
    process.  A second writer waits up to ``wait`` seconds, then is refused in one line."""

    def __init__(self, folder: Path, what: str, wait: float | None = None):
        self.folder, self.what = folder, what
        self.wait = LOCK_WAIT if wait is None else wait
        self.fd: int | None = None

    def acquire(self) -> None:
        deadline = time.monotonic() + self.wait
        while True:
            self.folder.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.folder / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        holder = os.pread(fd, 200, 0).decode("utf-8", "replace").strip() or "another process"
                        os.close(fd)
                        raise StoreError(f"store {self.folder} is busy: {holder} is writing it; "
                                         f"try again when it has finished") from None
                    time.sleep(0.05)
            try:  # the holder before us may have removed the lock file (a failed first build)
                if os.stat(self.folder / LOCK).st_ino == os.fstat(fd).st_ino:
                    break
            except FileNotFoundError:
                pass
            os.close(fd)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{self.what} (pid {os.getpid()})\n".encode(), 0)
        self.fd = fd

    def release(self) -> None:
        if self.fd is not None:
            try:
                os.ftruncate(self.fd, 0)
            except OSError:
                pass
            os.close(self.fd)  # closing the descriptor releases the flock
            self.fd = None


class StoreWriter:
    """A new generation of the store at ``folder``, written in private and switched in by
    :meth:`commit` (or thrown away by :meth:`abort`).  Holds the store's lock from creation
    to commit/abort.  ``store`` and ``ledger`` are open read-write; ``fresh`` is True when
    there was no generation before (the store is empty: bulk-load it)."""

    def __init__(self, folder: str | Path, what: str = "kg build", wait: float | None = None):
        self.folder = Path(folder)
        if self.folder.exists() and not self.folder.is_dir():
            raise StoreError(f"{self.folder} is a file, not a store folder")
        if self.folder.is_dir():
            if is_flat_store(self.folder):
                raise StoreError(_rebuild_hint(self.folder))
            if not _is_ours(self.folder):
                raise StoreError(f"{self.folder} is not a kg store (it holds files kg did not write); "
                                 f"refusing to touch it: use a new or empty folder")
        self.lock = StoreLock(self.folder, what, wait)
        self.lock.acquire()
        self.closed = False
        try:
            if not _is_ours(self.folder):  # re-checked under the lock
                raise StoreError(f"{self.folder} is not a kg store; refusing to touch it")
            self.previous = generation_of(self.folder)
            self._remove_generations(keep={self.previous, (self.previous or 0) - 1})
            self.number = (self.previous or 0) + 1
            self.path = self.folder / f"gen-{self.number}"
            self.ledger_path = self.folder / f"gen-{self.number}.sqlite"
            self.fresh = self.previous is None
            if self.fresh:
                self.store = ox.Store(str(self.path))
            else:
                old = ox.Store.read_only(str(self.folder / f"gen-{self.previous}"))
                old.backup(str(self.path))  # hard links: cheap
                del old
                shutil.copyfile(self.folder / f"gen-{self.previous}.sqlite", self.ledger_path)
                self.store = ox.Store(str(self.path))
            self.ledger = Ledger(self.ledger_path)
        except BaseException:
            self._discard()
            self.lock.release()
            raise

    def __enter__(self) -> StoreWriter:
        return self

    def __exit__(self, kind, value, failure) -> None:
        if not self.closed:
            self.abort(failure) if kind is not None else self.commit()

    def temporary(self, name: str) -> Path:
        """A scratch file path in the store folder (removed by the next writer if left)."""
        return self.folder / f".kg-{os.getpid()}-{name}"

    def commit(self) -> None:
        """Make this generation the live one: sync it to disk, then replace ``CURRENT``."""
        try:
            self.store.flush()
            del self.store
            self.ledger.commit()
            _sync_tree(self.path)
            _sync_file(self.ledger_path)
            tmp = self.folder / f"{CURRENT}.{os.getpid()}.tmp"
            with open(tmp, "w", encoding="utf-8") as fh:
                fh.write(f"gen-{self.number}\n")
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.folder / CURRENT)  # the commit point
            _sync_dir(self.folder)
            self.closed = True
            self._remove_generations(keep={self.number, self.previous})
        except BaseException:
            if not self.closed:
                self.abort()
            raise
        finally:
            self.lock.release()

    def abort(self, failure: TracebackType | None = None) -> None:
        """Throw this generation away: the store stays as it was."""
        self.closed = True
        failure = failure or sys.exc_info()[2]
        if failure is not None:  # frames of the failure may still hold the store open
            traceback.clear_frames(failure)
            gc.collect()
        try:
            self._discard()
        finally:
            self.lock.release()

    def _discard(self) -> None:
        if hasattr(self, "ledger"):
            self.ledger.close()
        if hasattr(self, "store"):
            del self.store
        if hasattr(self, "path") and generation_of(self.folder) != self.number:  # never the live one
            shutil.rmtree(self.path, ignore_errors=True)
            self.ledger_path.unlink(missing_ok=True)
        if self.folder.is_dir() and not any(e.name != LOCK for e in os.scandir(self.folder)):
            (self.folder / LOCK).unlink(missing_ok=True)  # a failed first build leaves nothing
            try:
                self.folder.rmdir()
            except OSError:
                pass

    def _remove_generations(self, keep: set[int | None]) -> None:
        """Remove generations not in ``keep`` and scratch files of killed writers (under the lock)."""
        for entry in os.scandir(self.folder):
            found = _GENERATION.fullmatch(entry.name)
            if found and int(found.group(1)) not in keep:
                shutil.rmtree(entry.path, ignore_errors=True) if entry.is_dir() else os.unlink(entry.path)
            elif entry.name.startswith((f"{CURRENT}.", ".kg-")) and entry.name != f".kg-{os.getpid()}":
                if not entry.name.startswith(f".kg-{os.getpid()}-"):
                    shutil.rmtree(entry.path, ignore_errors=True) if entry.is_dir() else os.unlink(entry.path)


def _sync_file(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _sync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _sync_tree(folder: Path) -> None:
    for entry in os.scandir(folder):
        if entry.is_file(follow_symlinks=False):
            _sync_file(Path(entry.path))
    _sync_dir(folder)


# --------------------------------------------------------------------------- keeping triples


class Keeper:
    """Decides which of some candidate triples stay in the default graph of a generation
    being written: those still asserted by a figure (a shared triple some figure counts in
    ``refs``, or an own triple of a figure in the ledger) or held by a loaded named graph.

    ``pending`` maps figure IRIs to the lines of figures changed in the current batch whose
    rows are written already (saves reading them back)."""

    def __init__(self, store: ox.Store, ledger: Ledger):
        self.store, self.ledger = store, ledger
        self.named = any(g.value != STATISTICS for g in store.named_graphs())

    def unasserted(self, lines: Iterable[str], pending: dict[str, set[str]] | None = None) -> list[str]:
        """Those of ``lines`` no figure and no named graph asserts (to remove)."""
        candidates = {line_hash(line): line for line in lines}
        for h in self.ledger.referenced(list(candidates)):
            del candidates[h]
        if not candidates:
            return []
        pending = pending or {}
        by_scope: dict[str, list[int]] = {}
        for h, line in candidates.items():
            scope = scope_of(line)
            if scope is not None:
                if scope in pending:
                    if line in pending[scope]:
                        candidates[h] = ""
                else:
                    by_scope.setdefault(scope, []).append(h)
        if by_scope:
            for iri, owned in self.ledger.owners(list(by_scope)).items():
                owned_set = set(owned)
                for h in by_scope[iri]:
                    if candidates[h] in owned_set:
                        candidates[h] = ""
        left = [line for line in candidates.values() if line]
        if self.named and left:
            left = [line for line, t in zip(left, _triples(left)) if not self.in_named_graph(t)]
        return left

    def in_named_graph(self, t: ox.Triple) -> bool:
        return any(not isinstance(q.graph_name, ox.DefaultGraph) and q.graph_name.value != STATISTICS
                   for q in self.store.quads_for_pattern(t.subject, t.predicate, t.object, None))


def remove_default(store: ox.Store, lines: list[str]) -> None:
    """Remove N-Triples ``lines`` from the default graph (one update per chunk)."""
    for i in range(0, len(lines), 20_000):
        store.update("DELETE DATA {\n" + "".join(lines[i:i + 20_000]) + "}")


def add_default(store: ox.Store, lines: list[str]) -> None:
    """Add N-Triples ``lines`` to the default graph."""
    if lines:
        store.load("".join(lines).encode("utf-8"), format=ox.RdfFormat.N_TRIPLES, lenient=True)


# --------------------------------------------------------------------------- kg load


@dataclass
class LoadReport:
    """What ``kg load`` did."""

    files: int = 0
    triples: int | None = 0
    seconds: float = 0.0
    store: str = ""
    graph: str | None = None
    graphs: tuple[str, ...] = ()
    before: int = 0
    after: int = 0

    def __str__(self) -> str:
        names = self.graphs or ((self.graph,) if self.graph else ())
        target = ", ".join(f"<{g}>" for g in names) or "the store"
        return (f"loaded {self.files} file(s) into graph {target} of {self.store} (and its default graph): "
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


def graph_name_for(path: str | Path) -> str:
    """The named graph ``kg load FILE`` uses without ``--graph``: the file's ``file:`` URI."""
    return Path(path).resolve().as_uri()


def load(dumps: Iterable[str | Path], store: str | Path = DEFAULT_STORE, *, graph: str | None = None,
         replace: bool = False) -> LoadReport:
    """Load RDF files (Turtle, N-Triples, N-Quads, JSON-LD, optionally gzipped) into the store.

    Each file goes to its own named graph, named by its ``file:`` URI, or all of them to
    ``graph``; quads of an N-Quads file keep their named graphs (their default-graph quads
    go to that graph).  Every triple loaded is also added to the default graph, which
    queries read, so loaded data joins kg's graph; builds never remove it.  ``replace``
    empties the target graph(s) first (and removes from the default graph what nothing else
    holds).  All or nothing: the load writes a new generation, switched in only when every
    file loaded.  Loading the same dump twice changes nothing (without blank nodes).
    """
    started = time.perf_counter()
    paths = [Path(d) for d in dumps]
    for p in paths:
        if not p.is_file():
            raise FileNotFoundError(f"no such dump: {p}")
    targets = [graph or graph_name_for(p) for p in paths]
    report = LoadReport(files=len(paths), store=str(store), graph=graph, graphs=tuple(dict.fromkeys(targets)))
    with StoreWriter(store, "kg load") as writer:
        st = writer.store
        keeper = Keeper(st, writer.ledger)
        try:
            report.before = len(st) if not writer.fresh else 0
            old_lines: dict[str, Path] = {}
            if replace:
                for name in report.graphs:
                    old_lines[name] = _save_graph(st, ox.NamedNode(name), writer.temporary(f"old-{len(old_lines)}.nt"))
                    st.clear_graph(ox.NamedNode(name))
            known = {g.value for g in st.named_graphs()}
            triples = 0
            for p, name in zip(paths, targets):
                fmt = for_path(p).rdf
                target = ox.NamedNode(name)
                if fmt in (ox.RdfFormat.N_TRIPLES, ox.RdfFormat.TURTLE) and not _may_have_blank_nodes(p, fmt):
                    _bulk_load(st, p, fmt, target)  # Oxigraph's loader, twice: the fast way
                    _bulk_load(st, p, fmt, ox.DefaultGraph())
                else:
                    _load_twice(st, p, fmt, target)
                if not st.contains_named_graph(target):
                    st.add_graph(target)
            touched = sorted(set(report.graphs) | ({g.value for g in st.named_graphs()} - known))
            for name, saved in old_lines.items():
                _drop_replaced(st, keeper, saved)
                saved.unlink()
            for name in touched:
                count = int(next(iter(st.query(f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{name}> {{ ?s ?p ?o }} }}")))["n"].value)
                files = [str(p) for p, t in zip(paths, targets) if t == name]
                previous = writer.ledger.graphs().get(name, ("", 0))[0]
                if previous and not replace:
                    files = [f for f in previous.split("\n") if f not in files] + files
                writer.ledger.put_graph(name, "\n".join(files), count)
                triples += count
            report.triples = triples
            report.after = len(st)
        finally:
            st = keeper = None  # type: ignore[assignment]  # the store must be closed to commit or abort
    report.seconds = time.perf_counter() - started
    return report


def _bulk_load(st: ox.Store, path: Path, fmt: ox.RdfFormat, target: ox.NamedNode | ox.DefaultGraph) -> None:
    try:
        if path.suffix.lower() == ".gz":
            with _open_dump(path) as fh:
                st.bulk_load(fh, format=fmt, base_iri=path.resolve().as_uri(), to_graph=target)
        else:
            st.bulk_load(path=str(path), format=fmt, base_iri=path.resolve().as_uri(), to_graph=target)
    except SyntaxError as exc:
        raise StoreError(f"{path}: not valid {fmt.name}: {str(exc).splitlines()[0]}; nothing was loaded") from None
    except (OSError, EOFError) as exc:
        raise StoreError(f"{path}: cannot read: {exc}; nothing was loaded") from None


def _may_have_blank_nodes(path: Path, fmt: ox.RdfFormat) -> bool:
    """False if the N-Triples or Turtle file surely has no blank node (no ``_:``, and for
    Turtle no ``[`` or ``(``, anywhere): it can then simply be loaded twice."""
    marks = (b"_:",) if fmt == ox.RdfFormat.N_TRIPLES else (b"_:", b"[", b"(")
    tail = b""
    with _open_dump(path) as fh:
        while chunk := fh.read(1 << 22):
            data = tail + chunk
            if any(mark in data for mark in marks):
                return True
            tail = chunk[-1:]
    return False


def _load_twice(st: ox.Store, path: Path, fmt: ox.RdfFormat, target: ox.NamedNode) -> None:
    """Load a file into ``target`` (quads: their own named graphs) and the default graph,
    parsing it once so that both copies share their blank nodes (renamed apart from any
    other load's)."""
    prefix = os.urandom(6).hex()
    default = ox.DefaultGraph()

    def term(t):
        return ox.BlankNode(prefix + t.value) if isinstance(t, ox.BlankNode) else t

    def quads() -> Iterator[ox.Quad]:
        with _open_dump(path) as fh:
            for q in ox.parse(fh, format=fmt, base_iri=path.resolve().as_uri()):
                s, o = term(q.subject), term(q.object)
                yield ox.Quad(s, q.predicate, o, target if isinstance(q.graph_name, ox.DefaultGraph) else q.graph_name)
                yield ox.Quad(s, q.predicate, o, default)

    try:
        st.bulk_extend(quads())
    except SyntaxError as exc:
        raise StoreError(f"{path}: not valid {fmt.name}: {str(exc).splitlines()[0]}; nothing was loaded") from None
    except (OSError, EOFError) as exc:
        raise StoreError(f"{path}: cannot read: {exc}; nothing was loaded") from None


def _save_graph(st: ox.Store, graph: ox.NamedNode, path: Path) -> Path:
    """Write the triples of ``graph`` to ``path`` as N-Triples (blank nodes as the store names them)."""
    with open(path, "w", encoding="utf-8") as fh:
        for q in st.quads_for_pattern(None, None, None, graph):
            fh.write(f"{q.triple} .\n")
    return path


def _drop_replaced(st: ox.Store, keeper: Keeper, saved: Path) -> None:
    """Remove from the default graph the triples a replaced graph held before (saved in
    ``saved``), unless a named graph (the new content included) holds them or kg's graph
    asserts them."""
    keeper.named = True
    batch: list[str] = []

    def flush() -> None:
        for t in _triples(keeper.unasserted(batch)):
            st.remove(ox.Quad(t.subject, t.predicate, t.object, ox.DefaultGraph()))
        batch.clear()

    with open(saved, encoding="utf-8") as fh:
        for line in fh:
            batch.append(line)
            if len(batch) >= 10_000:
                flush()
    flush()


def _triples(lines: list[str]) -> list[ox.Triple]:
    """N-Triples lines parsed (blank node labels kept, so they match the store's)."""
    if not lines:
        return []
    return [q.triple for q in ox.parse("".join(lines).encode("utf-8"), format=ox.RdfFormat.N_TRIPLES)]
