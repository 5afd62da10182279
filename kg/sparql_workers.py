"""The worker processes ``kg serve`` runs SPARQL in, so that a slow query cannot block others.

Each worker is a separate Python process (``python -m kg.sparql_workers``) that opens the store read-only and
follows ``CURRENT`` (:class:`kg.store.LiveStore`): a rebuild is picked up without a
restart.  The server (one asyncio event loop) hands a query to a free worker over a pipe
and waits for its answer at most ``timeout`` seconds; past that, or when the worker grows
beyond ``max_memory`` MB (its resident size, watched every 0.1 s), the worker is killed,
a fresh one is started in its place, and the request gets a one-line 503.  A worker that
dies on its own (a crash in the query engine) is replaced the same way (500).

Results are serialized in the worker; ``SELECT`` results are cut after ``max_results``
rows, which is flagged in :class:`Reply` (graphs are whole: ``max_memory`` bounds them).

Answers are cached per store generation: a generation is never written again, so an
answer keyed on (generation, query, options, ``Accept``) stays exact until ``CURRENT``
changes (the key's generation is the one the worker answered from).
"""

from __future__ import annotations

import asyncio
import csv
import io
import itertools
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections import OrderedDict
from dataclasses import dataclass, field
import pickle
import struct
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape as xml_escape
from xml.sax.saxutils import quoteattr

import pyoxigraph as ox

from .errors import KgError, QueryError, QueryTimeout, first_line
from .formats import negotiate as negotiate_media
from .query import json_value
from .store import CURRENT

RESULT_FORMATS = [ox.QueryResultsFormat.JSON, ox.QueryResultsFormat.XML, ox.QueryResultsFormat.CSV,
                  ox.QueryResultsFormat.TSV]
GRAPH_FORMATS = [ox.RdfFormat.TURTLE, ox.RdfFormat.N_TRIPLES, ox.RdfFormat.RDF_XML, ox.RdfFormat.JSON_LD]
XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
#: Key of the marker a cut JSON result carries at its top level (next to ``head``/``results``).
TRUNCATED_KEY = "kg:truncated"


class QueryFailed(QueryError):
    """A query or update the store refused or could not run; ``status`` is its HTTP status."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


@dataclass
class Reply:
    """A serialized answer: HTTP status, body, media type, whether results were cut."""

    status: int
    body: bytes = b""
    media_type: str | None = None
    truncated: bool = False
    cached: bool = False


# --------------------------------------------------------------------------- in the worker


def negotiate(accept: str, formats: list) -> Any:
    """The first of ``formats`` best matching an ``Accept`` header (default: the first)."""
    media = [fmt.media_type.split(";")[0] for fmt in formats]
    chosen = negotiate_media(accept, media)
    return formats[media.index(chosen)] if chosen is not None else formats[0]


def _xml_term(term: Any) -> str:
    if isinstance(term, ox.NamedNode):
        return f"<uri>{xml_escape(term.value)}</uri>"
    if isinstance(term, ox.BlankNode):
        return f"<bnode>{xml_escape(term.value)}</bnode>"
    if isinstance(term, ox.Literal):
        if term.language:
            return f"<literal xml:lang={quoteattr(term.language)}>{xml_escape(term.value)}</literal>"
        if term.datatype.value != XSD_STRING:
            return f"<literal datatype={quoteattr(term.datatype.value)}>{xml_escape(term.value)}</literal>"
        return f"<literal>{xml_escape(term.value)}</literal>"
    return (f"<triple><subject>{_xml_term(term.subject)}</subject><predicate>{_xml_term(term.predicate)}"
            f"</predicate><object>{_xml_term(term.object)}</object></triple>")


def _csv_value(term: Any) -> str:
    if term is None:
        return ""
    if isinstance(term, ox.BlankNode):
        return f"_:{term.value}"
    if isinstance(term, (ox.NamedNode, ox.Literal)):
        return term.value
    return str(term)


def serialize_solutions(names: list[str], rows: list[list[Any]], fmt: Any, truncated: bool,
                        limit: int) -> bytes:
    """SELECT rows (terms or None, in ``names`` order) in a SPARQL results format; a cut
    result says so in JSON (``"kg:truncated": true``) and XML (a comment)."""
    if fmt == ox.QueryResultsFormat.JSON:
        doc: dict[str, Any] = {"head": {"vars": names}, "results": {"bindings": [
            {n: json_value(t) for n, t in zip(names, row) if t is not None} for row in rows]}}
        if truncated:
            doc[TRUNCATED_KEY] = True
            doc["kg:maxResults"] = limit
        return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    if fmt == ox.QueryResultsFormat.XML:
        out = ['<?xml version="1.0"?>\n']
        if truncated:
            out.append(f"<!-- kg:truncated: only the first {limit} results (kg serve --max-results) -->\n")
        out.append('<sparql xmlns="http://www.w3.org/2005/sparql-results#"><head>')
        out.extend(f"<variable name={quoteattr(n)}/>" for n in names)
        out.append("</head><results>")
        for row in rows:
            out.append("<result>")
            out.extend(f"<binding name={quoteattr(n)}>{_xml_term(t)}</binding>"
                       for n, t in zip(names, row) if t is not None)
            out.append("</result>")
        out.append("</results></sparql>\n")
        return "".join(out).encode("utf-8")
    if fmt == ox.QueryResultsFormat.CSV:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow(names)
        writer.writerows([_csv_value(t) for t in row] for row in rows)
        return buffer.getvalue().encode("utf-8")
    lines = ["\t".join(f"?{n}" for n in names)]
    lines.extend("\t".join("" if t is None else str(t) for t in row) for row in rows)
    return ("\n".join(lines) + "\n").encode("utf-8")


#: The fewest bytes one more row adds to a serialized result: ``{},`` ``<result></result>``
#: an empty CSV or TSV line.
_MIN_ROW_BYTES = {ox.QueryResultsFormat.JSON: 3, ox.QueryResultsFormat.XML: 17, ox.QueryResultsFormat.CSV: 2,
                  ox.QueryResultsFormat.TSV: 1}


class _Overflow(Exception):
    pass


class _CappedBuffer(io.RawIOBase):
    """A bytes sink that stops the writer (``_Overflow``) once it holds more than ``cap`` bytes."""

    def __init__(self, cap: int):
        super().__init__()
        self.data = bytearray()
        self.cap = cap

    def writable(self) -> bool:
        return True

    def write(self, chunk: Any) -> int:
        self.data += chunk
        if len(self.data) > self.cap:
            raise _Overflow
        return len(chunk)


class _Worker:
    """The state of one worker process: its store (followed across rebuilds, or written)."""

    def __init__(self, path: str, writable: bool, flat: bool):
        from .store import LiveStore, open_store

        self.live: LiveStore | None = None
        if writable:
            self.store = ox.Store(path) if flat else open_store(path, create=False, read_only=False)
        else:
            self.live = LiveStore(path)
            self.store = self.live.store

    def current(self) -> tuple[ox.Store, Any]:
        if self.live is None:
            return self.store, None
        store = self.live.get()
        return store, self.live._stamp  # the generation this answer comes from (cache key)

    def handle(self, request: dict) -> tuple:
        from .store import query as store_query

        kind = request["kind"]
        store, stamp = self.current()
        try:
            if kind == "update":
                store.update(request["text"])
                return ("ok", {"status": 204}, None)
            options: dict[str, Any] = {}
            if request.get("default_graph"):
                options["default_graph"] = [ox.NamedNode(g) for g in request["default_graph"]]
            if request.get("named_graphs"):
                options["named_graphs"] = [ox.NamedNode(g) for g in request["named_graphs"]]
            answer = store_query(store, request["text"], **options)
            limit = request["max_results"]
            if kind == "select":
                return ("ok", self._rows(answer, limit), stamp)
            if isinstance(answer, ox.QueryTriples):
                if kind == "graph":
                    fmt = next((f for f in GRAPH_FORMATS if f.media_type == request["media_type"]), None)
                    if fmt is None:
                        return ("err", 406, f"no RDF serialization for {request['media_type']}")
                else:
                    fmt = negotiate(request.get("accept", ""), GRAPH_FORMATS)
                # graphs are not cut (a description must be whole); --max-memory bounds them
                body = answer.serialize(format=fmt) or b""
                return ("ok", {"status": 200, "body": body, "media_type": fmt.media_type, "truncated": False}, stamp)
            if kind == "graph":
                return ("err", 400, "not a CONSTRUCT or DESCRIBE query")
            fmt = negotiate(request.get("accept", ""), RESULT_FORMATS)
            if isinstance(answer, ox.QueryBoolean):
                return ("ok", {"status": 200, "body": answer.serialize(format=fmt), "media_type": fmt.media_type,
                               "truncated": False}, stamp)
            fast = self._native(answer, fmt, limit)
            if fast is not None:
                return ("ok", {"status": 200, "body": fast, "media_type": fmt.media_type, "truncated": False}, stamp)
            answer = store_query(store, request["text"], **options)  # again, to cut it after `limit` rows
            names = [v.value for v in answer.variables]
            rows = [[solution[n] for n in names] for solution in itertools.islice(answer, limit + 1)]
            cut = len(rows) > limit
            body = serialize_solutions(names, rows[:limit], fmt, cut, limit)
            return ("ok", {"status": 200, "body": body, "media_type": fmt.media_type, "truncated": cut}, stamp)
        except SyntaxError as exc:
            return ("err", 400, f"SPARQL syntax error: {first_line(str(exc))}")
        except ValueError as exc:
            return ("err", 400, f"bad request: {first_line(str(exc))}")
        except (OSError, RuntimeError) as exc:
            return ("err", 500, f"{'update' if kind == 'update' else 'query'} failed: {first_line(str(exc))}")

    @staticmethod
    def _native(answer: Any, fmt: Any, limit: int) -> bytes | None:
        """The results serialized by Oxigraph (fast) if they surely hold at most ``limit`` rows:
        their size stays under ``limit + 1`` times the smallest row the format can write;
        None (serialization stopped early) otherwise."""
        cap = _MIN_ROW_BYTES[fmt] * (limit + 1) - 1
        out = _CappedBuffer(cap)
        try:
            answer.serialize(out, format=fmt)
        except _Overflow:
            return None
        return bytes(out.data)

    @staticmethod
    def _rows(answer: Any, limit: int) -> dict:
        if isinstance(answer, ox.QueryBoolean):
            return {"rows": [{"boolean": {"type": "literal", "value": "true" if bool(answer) else "false"}}],
                    "truncated": False}
        if isinstance(answer, ox.QueryTriples):
            raise ValueError("a CONSTRUCT or DESCRIBE query gives a graph, not rows")
        names = [v.value for v in answer.variables]
        rows = []
        for solution in itertools.islice(answer, limit + 1):
            rows.append({n: json_value(t) for n in names if (t := solution[n]) is not None})
        return {"rows": rows[:limit], "truncated": len(rows) > limit}


_FRAME = struct.Struct("!Q")


class _Channel:
    """Length-prefixed pickles over a blocking socket (the worker's side)."""

    def __init__(self, sock: socket.socket):
        self.sock = sock

    def send(self, message: Any) -> None:
        data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
        self.sock.sendall(_FRAME.pack(len(data)) + data)

    def _exactly(self, size: int) -> bytes:
        parts, left = [], size
        while left:
            chunk = self.sock.recv(min(left, 1 << 20))
            if not chunk:
                raise EOFError
            parts.append(chunk)
            left -= len(chunk)
        return b"".join(parts)

    def recv(self) -> Any:
        (size,) = _FRAME.unpack(self._exactly(_FRAME.size))
        return pickle.loads(self._exactly(size))


def worker_main(conn: _Channel, path: str, writable: bool, flat: bool) -> None:
    """A worker process: open the store, say ``ready``, then answer requests until the pipe closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C stops the server, which stops us
    try:
        worker = _Worker(path, writable, flat)
    except Exception as exc:  # noqa: BLE001 - reported to the server as one line
        conn.send(("fatal", first_line(str(exc)) or type(exc).__name__))
        return
    conn.send(("ready", os.getpid()))
    while True:
        try:
            request = conn.recv()
        except (EOFError, OSError):
            return
        try:
            reply = worker.handle(request)
        except Exception as exc:  # noqa: BLE001 - one line to the client, never a traceback
            reply = ("err", 500, f"query failed: {type(exc).__name__}: {first_line(str(exc))}")
        try:
            conn.send(reply)
        except (BrokenPipeError, OSError):
            return


# --------------------------------------------------------------------------- in the server


@dataclass(eq=False)
class _Proc:
    process: subprocess.Popen
    sock: socket.socket
    buffer: bytearray = field(default_factory=bytearray)
    ready: bool = False
    busy: bool = False
    dead: bool = False
    served: int = 0  # queries answered
    stop_reason: str | None = None  # why the server killed it (timeout, memory)
    future: asyncio.Future | None = None
    started: float = field(default_factory=time.monotonic)


def _store_stamp(folder: Path) -> tuple[int, int, int] | None:
    """What identifies the live generation (as :class:`kg.store.LiveStore` compares it)."""
    try:
        st = os.stat(folder / CURRENT)
    except OSError:
        return None
    return (st.st_ino, st.st_mtime_ns, st.st_size)


class WorkerPool:
    """``workers`` processes answering SPARQL over the store at ``path`` (see module doc).

    Implements the ``app.state.sparql`` protocol (:meth:`select`, :meth:`graph`) for the
    web pages, and :meth:`query` / :meth:`update` for the SPARQL 1.1 Protocol endpoint."""

    def __init__(self, path: str | Path, *, workers: int = 2, timeout: float = 30.0, max_results: int = 10_000,
                 max_memory: int = 2048, writable: bool = False, flat: bool = False, cache_mb: int = 64):
        if workers < 1:
            raise KgError("kg serve needs at least one query worker (--workers 1)")
        self.path = Path(path)
        self.size = 1 if writable else workers  # one writer: updates and queries in order
        self.timeout = timeout
        self.max_results = max_results
        self.max_memory = max_memory
        self.writable = writable
        self.flat = flat
        self.cache_bytes = 0 if writable else cache_mb << 20
        self._cache: OrderedDict[tuple, Reply] = OrderedDict()
        self._cached = 0
        self._procs: list[_Proc] = []
        self._idle: asyncio.Queue[_Proc] | None = None
        self._watch: asyncio.Task | None = None
        self._closing = False
        self._fatal: str | None = None
        self.replaced = 0  # workers killed or dead and started again (for tests and logs)
        self.loop: asyncio.AbstractEventLoop | None = None  # the server's event loop, once started

    # ---------------------------------------------------------------- lifecycle

    async def start(self, wait: float = 120.0) -> None:
        """Start the workers; return when one is ready (:class:`KgError` if none can open the store)."""
        self._idle = asyncio.Queue()
        self.loop = asyncio.get_running_loop()
        for _ in range(self.size):
            self._spawn()
        self._watch = asyncio.get_running_loop().create_task(self._watch_memory())
        deadline = time.monotonic() + wait
        while self._idle.empty():
            if self._fatal:
                raise KgError(f"kg serve: a query worker cannot open the store: {self._fatal}")
            if time.monotonic() > deadline:
                raise KgError(f"kg serve: no query worker ready after {wait:.0f} s")
            await asyncio.sleep(0.02)

    async def close(self) -> None:
        self._closing = True
        if self._watch is not None:
            self._watch.cancel()
        for proc in self._procs:
            self._kill(proc, None)
        self._procs.clear()

    def pids(self, busy: bool = False) -> list[int]:
        """Process ids of the live workers (``busy``: only those running a query)."""
        return [p.process.pid for p in self._procs if not p.dead and (p.busy or not busy)]

    def _spawn(self) -> None:
        ours, theirs = socket.socketpair()
        try:
            process = subprocess.Popen(
                [sys.executable, "-m", "kg.sparql_workers", str(theirs.fileno()), str(self.path),
                 "writable" if self.writable else "read-only", "flat" if self.flat else "generations"],
                pass_fds=[theirs.fileno()], stdin=subprocess.DEVNULL)
        finally:
            theirs.close()
        ours.setblocking(False)
        proc = _Proc(process, ours)
        self._procs.append(proc)
        asyncio.get_running_loop().add_reader(ours.fileno(), self._readable, proc)

    def _readable(self, proc: _Proc) -> None:
        try:
            while True:
                chunk = proc.sock.recv(1 << 20)
                if not chunk:
                    self._died(proc)
                    return
                proc.buffer += chunk
                if len(chunk) < 1 << 20:
                    break
        except (BlockingIOError, InterruptedError):
            pass
        except OSError:
            self._died(proc)
            return
        while len(proc.buffer) >= _FRAME.size:
            (size,) = _FRAME.unpack_from(proc.buffer)
            if len(proc.buffer) < _FRAME.size + size:
                return
            message = pickle.loads(proc.buffer[_FRAME.size:_FRAME.size + size])
            del proc.buffer[:_FRAME.size + size]
            self._message(proc, message)

    def _message(self, proc: _Proc, message: tuple) -> None:
        if message[0] == "ready":
            proc.ready = True
            assert self._idle is not None
            self._idle.put_nowait(proc)
        elif message[0] == "fatal":
            self._fatal = message[1]
            self._died(proc, respawn=False)
        elif proc.future is not None and not proc.future.done():
            proc.future.set_result(message)

    def _died(self, proc: _Proc, respawn: bool = True) -> None:
        if proc.dead:
            return
        proc.dead = True
        loop = asyncio.get_running_loop()
        loop.remove_reader(proc.sock.fileno())
        proc.sock.close()
        if proc.process.poll() is None:
            proc.process.kill()
        try:
            proc.process.wait(2)  # reap it (killed: a few milliseconds)
        except subprocess.TimeoutExpired:
            pass
        if proc in self._procs:
            self._procs.remove(proc)
        if proc.future is not None and not proc.future.done():
            proc.future.set_result(("died", proc.stop_reason, proc.process))
        if respawn and not self._closing:
            self.replaced += 1
            self._spawn()

    def _kill(self, proc: _Proc, reason: str | None) -> None:
        proc.stop_reason = reason
        if not proc.dead:
            try:
                proc.process.kill()
            except (OSError, ValueError):
                pass
            self._died(proc, respawn=reason is not None)

    async def _watch_memory(self) -> None:
        page = os.sysconf("SC_PAGE_SIZE")
        limit = self.max_memory << 20
        while True:
            await asyncio.sleep(0.1)
            for proc in list(self._procs):
                if proc.dead or not (proc.busy or proc.served):
                    continue
                try:
                    with open(f"/proc/{proc.process.pid}/statm", "rb") as fh:
                        rss = int(fh.read().split()[1]) * page
                except (OSError, ValueError, IndexError):
                    continue
                if rss > limit:  # busy: its query gets 503; idle (grown by an earlier query): replaced
                    self._kill(proc, "memory")

    # ---------------------------------------------------------------- running

    async def _run(self, request: dict) -> tuple:
        """Send ``request`` to a free worker; its reply, or QueryTimeout / QueryFailed."""
        if self._idle is None or self._closing:
            raise QueryFailed(503, "the server is starting or stopping; try again")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout
        while True:
            try:
                proc = await asyncio.wait_for(self._idle.get(), max(deadline - loop.time(), 0))
            except (asyncio.TimeoutError, TimeoutError):
                raise QueryTimeout(f"server busy: no query worker was free within {self.timeout:g} s "
                                   f"(kg serve --timeout); try again") from None
            if not proc.dead:
                break
        proc.busy = True
        proc.future = loop.create_future()
        data = pickle.dumps(request, protocol=pickle.HIGHEST_PROTOCOL)
        try:
            await loop.sock_sendall(proc.sock, _FRAME.pack(len(data)) + data)
        except OSError:
            self._died(proc)
        try:
            message = await asyncio.wait_for(asyncio.shield(proc.future), max(deadline - loop.time(), 0.001))
        except (asyncio.TimeoutError, TimeoutError):
            self._kill(proc, "timeout")
            raise QueryTimeout(f"query stopped: it ran longer than {self.timeout:g} s (kg serve --timeout)") from None
        except asyncio.CancelledError:  # the client went away: the worker's answer is not awaited
            self._kill(proc, "cancelled")
            raise
        finally:
            proc.future = None
            proc.busy = False
        if message[0] == "died":
            _, reason, process = message
            if reason == "memory":
                raise QueryTimeout(f"query stopped: it used more than {self.max_memory} MB of memory "
                                   f"(kg serve --max-memory)")
            if reason == "timeout":
                raise QueryTimeout(f"query stopped: it ran longer than {self.timeout:g} s (kg serve --timeout)")
            code = process.poll()
            how = f"signal {-code}" if code is not None and code < 0 else f"exit status {code}"
            raise QueryFailed(500, f"the query worker died ({how}) and was replaced; the query was not answered")
        proc.served += 1
        self._idle.put_nowait(proc)
        if message[0] == "err":
            raise QueryFailed(message[1], message[2])
        return message

    def _cache_get(self, key: tuple) -> Reply | None:
        if not self.cache_bytes:
            return None
        hit = self._cache.get(key)
        if hit is not None:
            self._cache.move_to_end(key)
        return hit

    def _cache_put(self, key: tuple, reply: Reply) -> None:
        size = len(reply.body) + sum(len(str(k)) for k in key)
        if not self.cache_bytes or size > self.cache_bytes // 16:
            return
        self._cache[key] = reply
        self._cached += size
        while self._cached > self.cache_bytes:
            old_key, old = self._cache.popitem(last=False)
            self._cached -= len(old.body) + sum(len(str(k)) for k in old_key)

    async def query(self, text: str, accept: str = "", default_graph: list[str] | None = None,
                    named_graphs: list[str] | None = None) -> Reply:
        """A query's answer serialized in the format negotiated from ``accept``."""
        stamp = _store_stamp(self.path) if self.cache_bytes else None
        key = (stamp, text, accept, tuple(default_graph or ()), tuple(named_graphs or ()))
        if stamp is not None and (hit := self._cache_get(key)) is not None:
            return Reply(hit.status, hit.body, hit.media_type, hit.truncated, cached=True)
        _, answer, answered_from = await self._run({
            "kind": "query", "text": text, "accept": accept, "default_graph": default_graph,
            "named_graphs": named_graphs, "max_results": self.max_results})
        reply = Reply(answer["status"], answer["body"], answer["media_type"], answer["truncated"])
        if stamp is not None and answered_from == stamp:
            self._cache_put(key, reply)
        return reply

    async def update(self, text: str) -> None:
        """Run a SPARQL update (the pool of a ``writable`` server only)."""
        if not self.writable:
            raise QueryFailed(403, "this endpoint is read-only (start it with kg serve --writable)")
        self._cache.clear()
        await self._run({"kind": "update", "text": text})

    async def select(self, query: str) -> list[dict[str, dict]]:
        """SELECT/ASK rows as SPARQL 1.1 JSON bindings (at most ``max_results``)."""
        _, answer, _ = await self._run({"kind": "select", "text": query, "max_results": self.max_results})
        return answer["rows"]

    async def graph(self, query: str, media_type: str) -> bytes:
        """A CONSTRUCT/DESCRIBE answer serialized in ``media_type``."""
        _, answer, _ = await self._run({"kind": "graph", "text": query, "media_type": media_type,
                                        "max_results": self.max_results})
        return answer["body"]


if __name__ == "__main__":  # python -m kg.sparql_workers FD STORE writable|read-only flat|generations
    worker_main(_Channel(socket.socket(fileno=int(sys.argv[1]))), sys.argv[2], sys.argv[3] == "writable", sys.argv[4] == "flat")
