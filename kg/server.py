"""``kg serve``: the store as a SPARQL 1.1 Protocol endpoint (Starlette on uvicorn).

``GET``/``POST /sparql`` (and ``/query``, the older path; ``query`` parameter, form, or
``application/sparql-query`` body) answers with the media type negotiated from ``Accept``:
SPARQL results as JSON (default), XML, CSV or TSV; graphs as Turtle (default), N-Triples,
RDF/XML or JSON-LD.  Queries see the union of all graphs as default graph unless
``default-graph-uri`` is given.  ``POST /update`` works only when ``writable`` (else 403).
Every answer carries ``Access-Control-Allow-Origin: *`` so browser clients such as YASGUI
can use it.  The rest of the site (query page, resource pages) comes from :mod:`kg.web`.

Queries run in worker processes (:mod:`kg.sparql_workers`): ``timeout`` stops a query for
good (503), ``max_results`` cuts results (``X-KG-Truncated: true``), ``SERVICE`` and ``LOAD``
are refused unless allowed (the server makes no outbound request by default), and a query
nested deeper than :data:`kg.query.MAX_NESTING` is refused before it reaches the parser.
Every malformed request gets a 4xx status and one line of text, never a traceback.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import re
import socket
import sys
import threading
import urllib.parse
from pathlib import Path
from typing import Any, AsyncIterator

from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import BaseRoute, Route

from .errors import KgError, QueryTimeout, first_line
from .query import SPARQL_SKIP, check_nesting
from .sparql_workers import QueryFailed, WorkerPool
from .store import StoreLock, is_flat_store, open_store

#: Largest request body (a query, form or update), bytes.
MAX_BODY = 10 << 20
#: Seconds a client has to send a request's headers, and its body.
HEADER_TIMEOUT = 10.0
BODY_TIMEOUT = 30.0
#: Listen backlog: connections the kernel queues while every worker is busy.
BACKLOG = 1024
#: Seconds an idle keep-alive connection stays open.
KEEP_ALIVE = 5
CORS = [(b"access-control-allow-origin", b"*"), (b"access-control-allow-methods", b"GET, POST, OPTIONS"),
        (b"access-control-allow-headers", b"Content-Type, Accept, Authorization"),
        (b"access-control-expose-headers", b"X-KG-Truncated")]
_BAD_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
_OPERATION_TOKEN = re.compile(
    SPARQL_SKIP +
    r"""|<[^<>"{}|^`\\\x00-\x20]*>"""
    r"""|(?P<word>[?$]?[A-Za-z_][A-Za-z0-9_.-]*(?::[A-Za-z0-9_.:%-]*)?)""",
    re.DOTALL,
)


class BadRequest(Exception):
    """A request answered with ``status`` and one line of text."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


def keywords_used(text: str) -> set[str]:
    """Which of ``SERVICE`` / ``LOAD`` the operation uses as keywords (strings, IRIs,
    comments, variables and prefixed names skipped)."""
    found = set()
    for token in _OPERATION_TOKEN.finditer(text):
        word = token.group("word")
        if word and word.upper() in ("SERVICE", "LOAD"):
            found.add(word.upper())
    return found


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


# --------------------------------------------------------------------------- the endpoint


def _parse_qs(text: str, where: str) -> dict[str, list[str]]:
    bad = _BAD_PERCENT.search(text)
    if bad:
        raise BadRequest(400, f"bad percent-encoding in the {where} at character {bad.start() + 1}")
    try:
        pairs = urllib.parse.parse_qsl(text, keep_blank_values=True, errors="strict")
    except UnicodeDecodeError:
        raise BadRequest(400, f"the {where} is not UTF-8 once percent-decoded") from None
    except ValueError as exc:
        raise BadRequest(400, f"bad {where}: {exc}") from None
    params: dict[str, list[str]] = {}
    for name, value in pairs:
        params.setdefault(name, []).append(value)
    return params


async def _read_body(scope: dict, receive: Any) -> bytes:
    declared = None
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                declared = int(value)
            except ValueError:
                raise BadRequest(400, "bad Content-Length header") from None
    if declared is not None and declared > MAX_BODY:
        raise BadRequest(413, f"request body too large (at most {MAX_BODY >> 20} MB)")
    chunks: list[bytes] = []
    size = 0
    try:
        async with asyncio.timeout(BODY_TIMEOUT) if hasattr(asyncio, "timeout") else _deadline(BODY_TIMEOUT):
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    raise BadRequest(400, "the client went away before sending its request body")
                chunk = message.get("body", b"")
                size += len(chunk)
                if size > MAX_BODY:
                    raise BadRequest(413, f"request body too large (at most {MAX_BODY >> 20} MB)")
                chunks.append(chunk)
                if not message.get("more_body"):
                    break
    except (asyncio.TimeoutError, TimeoutError):
        raise BadRequest(408, f"request body not received within {BODY_TIMEOUT:g} s") from None
    return b"".join(chunks)


@contextlib.asynccontextmanager
async def _deadline(seconds: float) -> AsyncIterator[None]:  # asyncio.timeout before Python 3.11
    task = asyncio.current_task()
    assert task is not None
    handle = asyncio.get_running_loop().call_later(seconds, task.cancel)
    try:
        yield
    except asyncio.CancelledError:
        raise TimeoutError from None
    finally:
        handle.cancel()


class SparqlEndpoint:
    """The ASGI app behind ``/sparql``, ``/query`` and ``/update`` (kept lean: it is the hot path)."""

    def __init__(self, pool: WorkerPool, *, update: bool, allow_service: bool, allow_load: bool):
        self.pool = pool
        self.is_update = update
        self.allow_service = allow_service
        self.allow_load = allow_load

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        method = scope["method"]
        status, body, media, extra = 200, b"", None, []
        try:
            if method == "OPTIONS":
                status = 204
            elif method not in ("GET", "HEAD", "POST"):
                raise BadRequest(405, f"method {method} not allowed (use GET or POST)")
            else:
                status, body, media, extra = await self._answer(scope, receive, method)
        except BadRequest as exc:
            status, body, media = exc.status, f"{exc}\n".encode(), "text/plain; charset=utf-8"
        except QueryTimeout as exc:
            status, body, media = 503, f"{exc}\n".encode(), "text/plain; charset=utf-8"
            extra = [(b"retry-after", b"1")]
        except QueryFailed as exc:
            status, body, media = exc.status, f"{exc}\n".encode(), "text/plain; charset=utf-8"
        except KgError as exc:
            status, body, media = 400, f"{first_line(str(exc)) or type(exc).__name__}\n".encode(), \
                "text/plain; charset=utf-8"
        except Exception as exc:  # noqa: BLE001 - a bug of ours: still one line, never a traceback
            status, body, media = 500, f"internal error: {type(exc).__name__}: {first_line(str(exc))}\n".encode(), \
                "text/plain; charset=utf-8"
        headers = [*CORS, (b"content-length", str(len(body)).encode())]
        if media:
            headers += [(b"content-type", media.encode()), (b"vary", b"Accept")]
        headers += extra
        if status == 405:
            headers.append((b"allow", b"GET, POST, OPTIONS"))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": b"" if method == "HEAD" else body})

    async def _answer(self, scope: dict, receive: Any, method: str) -> tuple[int, bytes, str | None, list]:
        params = _parse_qs(scope["query_string"].decode("latin-1"), "query string")
        kind = accept = ""
        for name, value in scope["headers"]:
            if name == b"content-type":
                kind = value.decode("latin-1").split(";")[0].strip().lower()
            elif name == b"accept":
                accept = value.decode("latin-1")
        name, direct = ("update", "application/sparql-update") if self.is_update else \
            ("query", "application/sparql-query")
        text = None
        if method == "POST":
            body = await _read_body(scope, receive)
            if kind == "application/x-www-form-urlencoded":
                try:
                    form = body.decode("ascii")
                except UnicodeDecodeError:
                    raise BadRequest(400, "a form body must be ASCII (percent-encoded)") from None
                for key, values in _parse_qs(form, "form body").items():
                    params.setdefault(key, []).extend(values)
            elif kind == direct:
                try:
                    text = body.decode("utf-8")
                except UnicodeDecodeError as exc:
                    raise BadRequest(400, f"the {name} is not UTF-8 (byte {exc.start + 1})") from None
            elif body:
                raise BadRequest(415, f"send the {name} as {direct} or as a form (got {kind or 'no type'})")
        elif self.is_update:
            raise BadRequest(405, "send updates with POST")
        if text is None:
            values = params.get(name)
            if not values:
                raise BadRequest(400, f"missing '{name}' parameter")
            text = values[0]
        if not text.strip():
            raise BadRequest(400, f"empty {name}")
        check_nesting(text)
        used = keywords_used(text)
        if "SERVICE" in used and not self.allow_service:
            raise BadRequest(400, "SERVICE (federated query) is disabled: this endpoint makes no outbound "
                                  "request (start kg serve with --allow-service)")
        if self.is_update:
            if not self.pool.writable:
                raise BadRequest(403, "this endpoint is read-only (start it with kg serve --writable)")
            if "LOAD" in used and not self.allow_load:
                raise BadRequest(400, "LOAD is disabled: this endpoint makes no outbound request "
                                      "(start kg serve with --writable --allow-load)")
            await self.pool.update(text)
            return 204, b"", None, []
        reply = await self.pool.query(text, accept, params.get("default-graph-uri"), params.get("named-graph-uri"))
        media = reply.media_type or "application/octet-stream"
        if media.startswith("text/") and "charset" not in media:
            media += "; charset=utf-8"
        extra = [(b"x-kg-truncated", b"true"), (b"x-kg-max-results", str(self.pool.max_results).encode())] \
            if reply.truncated else []
        if reply.cached:
            extra.append((b"x-kg-cache", b"hit"))
        return reply.status, reply.body, media, extra


async def _home(request: Any) -> PlainTextResponse:
    return PlainTextResponse("kg SPARQL endpoint: /sparql (SPARQL 1.1 Protocol)\n")


def _site_routes() -> list[BaseRoute]:
    """The web pages of :mod:`kg.web` (query page, resources), or a one-line home page."""
    try:
        from .web import routes  # type: ignore[attr-defined]
    except ImportError:
        return [Route("/", _home)]
    return list(routes)


def create_app(store_path: str | Path, *, timeout: float = 30.0, max_results: int = 10_000, workers: int = 2,
               writable: bool = False, allow_service: bool = False, allow_load: bool = False,
               max_memory: int = 2048, cache_mb: int = 64) -> Starlette:
    """The Starlette app serving the store at ``store_path`` (see the module doc).

    The worker pool starts with the app (lifespan) and is ``app.state.sparql`` (the
    ``select``/``graph`` protocol the web pages use); ``writable`` holds the store's lock
    from here until the app stops (builds and loads wait or are refused)."""
    folder = Path(store_path)
    probe = open_store(folder, read_only=True)  # a missing or foreign store: one-line error now
    del probe
    flat = is_flat_store(folder)
    lock = None
    if writable and not flat:
        lock = StoreLock(folder, "kg serve --writable", wait=0)
        lock.acquire()
    if allow_load and not writable:
        raise KgError("--allow-load needs --writable (LOAD is an update)")
    pool = WorkerPool(folder, workers=workers, timeout=timeout, max_results=max_results, max_memory=max_memory,
                      writable=writable, flat=flat, cache_mb=cache_mb)
    query = SparqlEndpoint(pool, update=False, allow_service=allow_service, allow_load=allow_load)
    update = SparqlEndpoint(pool, update=True, allow_service=allow_service, allow_load=allow_load)
    methods = ["GET", "HEAD", "POST", "OPTIONS"]

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            try:
                await pool.start()
            except KgError as exc:  # reported by SparqlServer.serve_forever as one line
                app.state.startup_error = str(exc)
                server = getattr(app.state, "server", None)
                if server is None:
                    raise
                server.should_exit = True
            yield
        finally:
            await pool.close()
            if lock is not None:
                lock.release()

    routes: list[BaseRoute] = [Route("/sparql", query, methods=methods), Route("/query", query, methods=methods),
                               Route("/update", update, methods=methods), *_site_routes()]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.sparql = pool
    app.state.pool = pool
    app.state.store = folder
    app.state.lock = lock
    app.state.startup_error = None
    return app


# --------------------------------------------------------------------------- the server


def _protocol_class() -> type:
    """uvicorn's httptools protocol with a deadline on each request's headers (uvicorn has
    none: a client sending its headers byte by byte would hold the connection forever)."""
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    class Protocol(HttpToolsProtocol):  # type: ignore[misc]
        _header_timer: asyncio.TimerHandle | None = None

        def _arm(self) -> None:
            self._disarm()
            self._header_timer = self.loop.call_later(HEADER_TIMEOUT, self._header_timeout)

        def _disarm(self) -> None:
            if self._header_timer is not None:
                self._header_timer.cancel()
                self._header_timer = None

        def _header_timeout(self) -> None:
            self._header_timer = None
            if self.transport is not None and not self.transport.is_closing():
                self.transport.close()

        def connection_made(self, transport: Any) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._arm()

        def on_headers_complete(self) -> None:
            self._disarm()
            super().on_headers_complete()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            if self.transport is not None and not self.transport.is_closing():
                self._arm()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

    return Protocol


class SparqlServer:
    """A bound server: ``url`` is its query endpoint; run :meth:`serve_forever` (in a thread
    for tests), stop with :meth:`shutdown` then :meth:`server_close` — or use ``with``."""

    def __init__(self, app: Starlette, host: str, port: int):
        import uvicorn

        self.app = app
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.socket = socket.socket(family, socket.SOCK_STREAM)
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            self.socket.bind((host, port))
            self.socket.listen(BACKLOG)
        except OSError as exc:
            self.socket.close()
            raise KgError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
        self.host, self.port = self.socket.getsockname()[:2]
        name = f"[{self.host}]" if ":" in self.host else self.host
        self.base = f"http://{name}:{self.port}"
        self.url = f"{self.base}/query"  # the path older clients use; /sparql answers the same
        try:
            http = _protocol_class()
        except ImportError:  # no httptools: uvicorn's pure-Python parser (no header deadline)
            http = "auto"
        self.config = uvicorn.Config(app, backlog=BACKLOG, timeout_keep_alive=KEEP_ALIVE, http=http,
                                     log_level="warning", access_log=False, lifespan="on",
                                     limit_concurrency=4096, server_header=False)
        self.server = uvicorn.Server(self.config)
        app.state.server = self.server
        self._done = threading.Event()

    @property
    def pool(self) -> WorkerPool:
        return self.app.state.pool

    def serve_forever(self) -> None:
        """Serve until :meth:`shutdown` (or Ctrl-C in the main thread)."""
        self._done.clear()
        try:
            self.server.run(sockets=[self.socket])
        finally:
            self._done.set()
        if self.app.state.startup_error:
            raise KgError(self.app.state.startup_error)

    def shutdown(self) -> None:
        self.server.should_exit = True
        self._done.wait(30)

    def server_close(self) -> None:
        self.socket.close()

    def __enter__(self) -> "SparqlServer":
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)
        self._thread.start()
        while not self.server.started and self._thread.is_alive():
            self._done.wait(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
        self.server_close()
        self._thread.join(30)


def make_server(store: str | Path, host: str = "127.0.0.1", port: int = 7878, writable: bool = False,
                **options: Any) -> SparqlServer:
    """Open ``store`` and bind a server on ``host:port`` (port 0: any free port); run it
    with ``serve_forever()``, stop with ``shutdown()``.  ``options``: those of :func:`create_app`.

    A store folder is served read-only and followed across rebuilds (each query answers
    from the generation live when a worker takes it).  ``writable`` holds the store's
    lock while the server runs (builds and loads wait or are refused) and writes in place."""
    app = create_app(store, writable=writable, **options)
    try:
        return SparqlServer(app, host, port)
    except KgError:
        if app.state.lock is not None:
            app.state.lock.release()
        raise


def serve(store: str | Path, host: str = "127.0.0.1", port: int = 7878, writable: bool = False,
          **options: Any) -> None:
    """Serve ``store`` until interrupted, printing the endpoint URL to stderr.

    Binds loopback unless another ``host`` is given explicitly (then it warns: the
    endpoint has no authentication)."""
    server = make_server(store, host, port, writable, **options)
    mode = "read-write" if writable else "read-only"
    print(f"kg: SPARQL endpoint {server.base}/sparql, query page {server.base}/ ({mode}, store {store}); Ctrl-C to stop",
          file=sys.stderr)
    if not is_loopback(host):
        print(f"kg: warning: listening on {host}, reachable from other machines, without authentication",
              file=sys.stderr)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
