"""``kg serve``: the embedded store as a SPARQL 1.1 Protocol endpoint (standard library HTTP).

``GET``/``POST /query`` (``query`` parameter, form, or ``application/sparql-query`` body)
answers with the media type negotiated from ``Accept``: SPARQL results as JSON (default),
XML, CSV or TSV; graphs as Turtle (default), N-Triples, RDF/XML or JSON-LD.  Queries see
the union of all graphs as default graph unless ``default-graph-uri`` is given.
``POST /update`` works only with ``writable`` (else 403).  Every answer carries
``Access-Control-Allow-Origin: *`` so browser clients such as YASGUI can use it.
"""

from __future__ import annotations

import ipaddress
import sys
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pyoxigraph as ox

from .errors import KgError
from .store import LiveStore, StoreLock, is_flat_store, open_store
from .store import query as store_query

RESULT_FORMATS = [ox.QueryResultsFormat.JSON, ox.QueryResultsFormat.XML, ox.QueryResultsFormat.CSV,
                  ox.QueryResultsFormat.TSV]
GRAPH_FORMATS = [ox.RdfFormat.TURTLE, ox.RdfFormat.N_TRIPLES, ox.RdfFormat.RDF_XML, ox.RdfFormat.JSON_LD]
MAX_BODY = 10 << 20
CORS = {"Access-Control-Allow-Origin": "*", "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
        "Access-Control-Allow-Headers": "Content-Type, Accept, Authorization"}


class SparqlServer(ThreadingHTTPServer):
    """A threading HTTP server holding an open store; ``url`` is its query endpoint.

    Given a :class:`~kg.store.LiveStore` it answers each request from the generation that
    is live when the request arrives: a rebuild is picked up without a restart."""

    daemon_threads = True

    def __init__(self, store: ox.Store | LiveStore, address: tuple[str, int], writable: bool,
                 lock: StoreLock | None = None):
        self._store = store
        self.writable = writable
        self.lock = lock
        super().__init__(address, _Handler)
        host, port = self.server_address[:2]
        self.url = f"http://{host if ':' not in str(host) else f'[{host}]'}:{port}/query"

    @property
    def store(self) -> ox.Store:
        return self._store.get() if isinstance(self._store, LiveStore) else self._store

    def server_close(self) -> None:
        super().server_close()
        self._store = None  # type: ignore[assignment]  # releases the store
        if self.lock is not None:
            self.lock.release()


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def make_server(store: str | Path | ox.Store, host: str = "127.0.0.1", port: int = 7878,
                writable: bool = False) -> SparqlServer:
    """Open ``store`` and bind a server on ``host:port`` (port 0: any free port); run it
    with ``serve_forever()``, stop with ``shutdown()``.

    A store folder is served read-only and followed across rebuilds (each request answers
    from the generation live when it arrives).  ``writable`` holds the store's lock while
    the server runs (builds and loads wait or are refused) and writes in place."""
    lock = None
    if isinstance(store, ox.Store):
        st: ox.Store | LiveStore = store
    elif writable:
        del_probe = open_store(store, read_only=True)  # a missing or foreign store: one-line error
        del del_probe
        if is_flat_store(Path(store)):  # an older kg's store: written in place, as that kg did
            return SparqlServer(_flat(store), (host, port), writable)
        lock = StoreLock(Path(store), "kg serve --writable", wait=0)
        lock.acquire()
        try:
            st = open_store(store, create=False, read_only=False)
        except BaseException:
            lock.release()
            raise
    else:
        st = LiveStore(store)
    try:
        return SparqlServer(st, (host, port), writable, lock)
    except OSError as exc:
        if lock is not None:
            lock.release()
        raise KgError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None


def serve(store: str | Path, host: str = "127.0.0.1", port: int = 7878, writable: bool = False) -> None:
    """Serve ``store`` until interrupted, printing the endpoint URL to stderr.

    Binds loopback unless another ``host`` is given explicitly (then it warns: the
    endpoint has no authentication)."""
    server = make_server(store, host, port, writable)
    mode = "read-write" if writable else "read-only"
    print(f"kg: SPARQL endpoint {server.url} ({mode}, store {store}); Ctrl-C to stop", file=sys.stderr)
    if not is_loopback(host):
        print(f"kg: warning: listening on {host}, reachable from other machines, without authentication",
              file=sys.stderr)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


def _flat(path: str | Path) -> ox.Store:
    try:
        return ox.Store(str(path))
    except OSError as exc:
        raise KgError(f"cannot open store {path}: {str(exc).splitlines()[0]}") from None


class _BadRequest(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


def _first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), "")[:300]


def _negotiate(accept: str, formats: list) -> object:
    """The first of ``formats`` best matching an ``Accept`` header (default: the first)."""
    ranges = []
    for i, item in enumerate(accept.split(",")):
        media, *params = [p.strip() for p in item.split(";")]
        q = 1.0
        for p in params:
            if p.startswith("q="):
                try:
                    q = float(p[2:])
                except ValueError:
                    q = 0.0
        if media and q > 0:
            ranges.append((-q, i, media.lower()))
    for _, _, media in sorted(ranges):
        for fmt in formats:
            own = fmt.media_type.split(";")[0]
            if media in (own, "*/*") or (media.endswith("/*") and own.startswith(media[:-1])):
                return fmt
    return formats[0]


class _Handler(BaseHTTPRequestHandler):
    server: SparqlServer
    server_version = "kg-sparql/1"

    def log_message(self, format: str, *args: object) -> None:  # quiet; errors go to the client
        pass

    def do_OPTIONS(self) -> None:
        self._reply(204, b"", None)

    def do_GET(self) -> None:
        self._dispatch(None)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self._reply(413, b"request body too large\n", "text/plain; charset=utf-8")
            self.close_connection = True
            return
        self._dispatch(self.rfile.read(length))

    def _dispatch(self, body: bytes | None) -> None:
        parts = urllib.parse.urlsplit(self.path)
        params = urllib.parse.parse_qs(parts.query)
        kind = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if body is not None and kind == "application/x-www-form-urlencoded":
            params = {**params, **urllib.parse.parse_qs(body.decode("utf-8", "replace"))}
            body = b""
        try:
            if parts.path in ("/query", "/sparql"):
                self._query(params, body, kind)
            elif parts.path == "/update":
                self._update(params, body, kind)
            elif parts.path == "/":
                self._reply(200, f"kg SPARQL endpoint: {self.server.url}\n".encode(), "text/plain; charset=utf-8")
            else:
                raise _BadRequest(404, f"no such endpoint {parts.path} (use /query or /update)")
        except _BadRequest as exc:
            self._reply(exc.status, f"{exc}\n".encode(), "text/plain; charset=utf-8")

    @staticmethod
    def _operation(name: str, media: str, params: dict[str, list[str]], body: bytes | None, kind: str) -> str:
        """The query or update text: a direct ``media`` body, else the ``name`` parameter."""
        if body and kind == media:
            return body.decode("utf-8", "replace")
        if body:
            raise _BadRequest(415, f"send the {name} as {media} or as a form (got {kind or 'no type'})")
        values = params.get(name)
        if not values:
            raise _BadRequest(400, f"missing '{name}' parameter")
        return values[0]

    def _query(self, params: dict[str, list[str]], body: bytes | None, kind: str) -> None:
        text = self._operation("query", "application/sparql-query", params, body, kind)
        try:
            options: dict[str, object] = {}
            if params.get("default-graph-uri"):
                options = {"default_graph": [ox.NamedNode(g) for g in params["default-graph-uri"]]}
            if params.get("named-graph-uri"):
                options["named_graphs"] = [ox.NamedNode(g) for g in params["named-graph-uri"]]
            answer = store_query(self.server.store, text, **options)
            fmt = _negotiate(self.headers.get("Accept") or "",
                             GRAPH_FORMATS if isinstance(answer, ox.QueryTriples) else RESULT_FORMATS)
            # evaluation is lazy: serialize in memory first, so that a failure is still a clean error
            data = answer.serialize(format=fmt)
        except SyntaxError as exc:
            raise _BadRequest(400, f"SPARQL syntax error: {_first_line(str(exc))}") from None
        except ValueError as exc:
            raise _BadRequest(400, f"bad request: {_first_line(str(exc))}") from None
        except (OSError, RuntimeError) as exc:
            raise _BadRequest(500, f"query failed: {_first_line(str(exc))}") from None
        content_type = fmt.media_type
        if content_type.startswith("text/") and "charset" not in content_type:
            content_type += "; charset=utf-8"
        self._reply(200, data, content_type)

    def _update(self, params: dict[str, list[str]], body: bytes | None, kind: str) -> None:
        if body is None:
            raise _BadRequest(405, "send updates with POST")
        if not self.server.writable:
            raise _BadRequest(403, "this endpoint is read-only (start it with kg serve --writable)")
        text = self._operation("update", "application/sparql-update", params, body, kind)
        try:
            self.server.store.update(text)
        except SyntaxError as exc:
            raise _BadRequest(400, f"SPARQL syntax error: {_first_line(str(exc))}") from None
        except (OSError, RuntimeError, ValueError) as exc:
            raise _BadRequest(500, f"update failed: {_first_line(str(exc))}") from None
        self._reply(204, b"", None)

    def _reply(self, status: int, data: bytes, content_type: str | None) -> None:
        self.send_response(status)
        for name, value in CORS.items():
            self.send_header(name, value)
        if content_type:
            self.send_header("Content-Type", content_type)
            self.send_header("Vary", "Accept")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if data and self.command != "HEAD":
            self.wfile.write(data)
