"""Push the graph to a remote triplestore (SPARQL 1.1 Graph Store HTTP Protocol or Update).

The source (a dump file or a store folder) is flattened to the distinct triples of all its
graphs and sent in bounded chunks of N-Triples: ``POST`` appends to the target graph
(``?default`` or ``?graph=IRI``; always explicit, since a bare ``POST`` to Oxigraph's
``/store`` creates a new named graph), ``--replace`` clears the target first with a
``PUT`` of the first chunk.  With ``update_endpoint`` chunks go as ``INSERT DATA``.
Each request must end, answer included, within ``timeout`` seconds (:mod:`kg.http`; not
retried once it ran out of time).  Transient failures (refused or reset connections,
429/502/503/504) are retried with backoff; every chunk is idempotent (kg dumps have no
blank nodes).  At the end the
server's triple count of the target graph is checked against what was sent.
"""

from __future__ import annotations

import http.client
import re
import time
import urllib.error
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http import HTTPStatus
from itertools import islice
from pathlib import Path

import pyoxigraph as ox

from .errors import RemoteError, StoreError
from .http import RequestTimeout, request
from .store import open_source
from .store import query as store_query

ATTEMPTS = 5  # tries per request
BACKOFF = 0.5  # seconds before the first retry, doubled each time
TRANSIENT_STATUS = {429, 502, 503, 504}
_DISTINCT = "CONSTRUCT { ?s ?p ?o } WHERE { SELECT DISTINCT ?s ?p ?o WHERE { ?s ?p ?o } }"
# (endpoint suffix, query endpoint suffix) for common Graph Store / update endpoints
_QUERY_SUFFIXES = [("/store", "/query"), ("/update", "/query"), ("/data", "/sparql"),
                   ("/statements", ""), ("/sparql-graph-crud-auth", "/sparql"), ("/sparql-graph-crud", "/sparql")]


@dataclass
class PushReport:
    """What a push sent and what the server holds afterwards."""

    source: str
    endpoint: str
    graph: str | None = None
    triples: int = 0  # distinct triples sent
    chunks: int = 0
    requests: int = 0  # HTTP requests, retries included
    before: int = 0  # server triple count of the target graph before sending (after --replace)
    after: int = 0
    seconds: float = 0.0

    def __str__(self) -> str:
        target = f"graph <{self.graph}>" if self.graph else "the default graph"
        return (f"pushed {self.triples} triples from {self.source} in {self.chunks} chunk(s) to {target} at "
                f"{self.endpoint}: server count {self.before} -> {self.after} in {self.seconds:.2f} s")


def push(source: str | Path, endpoint: str, *, graph: str | None = None, update_endpoint: str | None = None,
         chunk_triples: int = 50_000, replace: bool = False, timeout: float = 120.0,
         query_endpoint: str | None = None) -> PushReport:
    """Send the distinct triples of ``source`` (dump file or store folder) to ``endpoint``.

    ``endpoint`` is a Graph Store Protocol URL (Oxigraph: ``http://HOST:7878/store``); with
    ``update_endpoint`` the data goes as SPARQL ``INSERT DATA`` there instead.  The count
    check queries ``query_endpoint`` (default: derived from the endpoint, ``/store`` ->
    ``/query``).  ``timeout`` bounds each whole request (connect, send, answer), the count
    queries included.  Raises :class:`RemoteError` on HTTP failures, an unreachable server,
    a request that runs out of time, or a count mismatch; :class:`StoreError` when the source does not parse (nothing is sent).
    """
    if chunk_triples < 1:
        raise ValueError("chunk size must be at least one triple")
    check_urls(endpoint, update_endpoint, query_endpoint)
    started = time.perf_counter()
    query_url = query_endpoint or derive_query_endpoint(update_endpoint or endpoint) or endpoint
    report = PushReport(source=str(source), endpoint=update_endpoint or endpoint, graph=graph)
    client = _Client(timeout, report)
    with _triples_of(Path(source)) as triples:
        if replace and update_endpoint:
            clear = "CLEAR SILENT " + (f"GRAPH <{graph}>" if graph else "DEFAULT")
            client.send(update_endpoint, "POST", clear.encode("utf-8"), "application/sparql-update")
        report.before = count_triples(query_url, graph, timeout)  # also checks the query endpoint early
        put_first = replace and not update_endpoint
        if put_first:
            report.before = 0  # the first chunk replaces the graph
        for chunk in _chunks(triples, chunk_triples):
            body = ox.serialize(chunk, format=ox.RdfFormat.N_TRIPLES)
            if update_endpoint:
                client.send(update_endpoint, "POST", _insert_data(body, graph), "application/sparql-update")
            else:
                client.send(_gsp_url(endpoint, graph), "PUT" if put_first else "POST", body, "application/n-triples")
                put_first = False
            report.triples += len(chunk)
            report.chunks += 1
        if put_first:  # --replace with nothing to send: the target must end up empty
            client.send(_gsp_url(endpoint, graph), "DELETE", b"", None, ok_missing=True)
    report.after = count_triples(query_url, graph, timeout)
    report.seconds = time.perf_counter() - started
    _check(report)
    return report


def check_urls(*urls: str | None) -> None:
    """:class:`RemoteError` for a URL that is not http(s)."""
    for url in urls:
        if url is not None and not re.match(r"https?://", url):
            raise RemoteError(f"not an http(s) endpoint URL: {url}")


def _check(report: PushReport) -> None:
    """The server count must be what was sent (exactly, if the target started empty)."""
    low, high = max(report.before, report.triples), report.before + report.triples
    if not low <= report.after <= high:
        expected = str(low) if low == high else f"between {low} and {high}"
        raise RemoteError(f"count check failed: sent {report.triples} distinct triples, the target graph held "
                          f"{report.before} before and {report.after} after (expected {expected})")


def derive_query_endpoint(endpoint: str) -> str | None:
    """The SPARQL query endpoint beside a Graph Store / update endpoint, if it can be guessed."""
    parts = urllib.parse.urlsplit(endpoint)
    path = parts.path.rstrip("/")
    for suffix, replacement in _QUERY_SUFFIXES:
        if path.endswith(suffix):
            return urllib.parse.urlunsplit(parts._replace(path=path[: -len(suffix)] + replacement, query=""))
    return None


def count_triples(query_endpoint: str, graph: str | None, timeout: float = 60.0) -> int:
    """Triple count of the default graph (``graph`` None) or of ``graph`` at ``query_endpoint``."""
    from .query import run_query

    pattern = f"GRAPH <{graph}> {{ ?s ?p ?o }}" if graph else "?s ?p ?o"
    result = run_query(f"SELECT (COUNT(*) AS ?n) WHERE {{ {pattern} }}", endpoint=query_endpoint, timeout=timeout)
    try:
        return int(result.rows[0]["n"].value)
    except (IndexError, KeyError, ValueError, AttributeError):
        raise RemoteError(f"malformed count from {query_endpoint}") from None


# --------------------------------------------------------------------------- source


@contextmanager
def _triples_of(source: Path) -> Iterator[Iterator[ox.Triple]]:
    """The distinct triples of all graphs of a store folder or a dump file, streamed.

    A dump is bulk-loaded into a temporary store first (:func:`kg.store.open_source`): it
    is parsed completely before anything is sent, and de-duplicated there."""
    try:
        with open_source(source) as store:
            yield iter(store_query(store, _DISTINCT))
    except StoreError as exc:
        raise StoreError(f"{exc}; nothing was sent") from None


def _chunks(triples: Iterator[ox.Triple], size: int) -> Iterator[list[ox.Triple]]:
    while chunk := list(islice(triples, size)):
        yield chunk


def _gsp_url(endpoint: str, graph: str | None) -> str:
    param = "default" if graph is None else "graph=" + urllib.parse.quote(graph, safe="")
    return endpoint + ("&" if "?" in endpoint else "?") + param


def _insert_data(ntriples: bytes, graph: str | None) -> bytes:
    if graph:
        return b"INSERT DATA { GRAPH <" + graph.encode("utf-8") + b"> {\n" + ntriples + b"} }"
    return b"INSERT DATA {\n" + ntriples + b"}"


# --------------------------------------------------------------------------- HTTP


class _Client:
    """Sends requests, each bounded as a whole by ``timeout`` (:func:`kg.http.request`),
    with bounded retries on transient failures.  A request that ran out of time is not
    retried: the server is too slow, and retrying would multiply ``--timeout``."""

    def __init__(self, timeout: float, report: PushReport):
        self.timeout = timeout
        self.report = report

    def send(self, url: str, method: str, body: bytes, content_type: str | None, *, ok_missing: bool = False) -> None:
        headers = {"Content-Type": content_type} if content_type else {}
        delay = BACKOFF
        for attempt in range(1, ATTEMPTS + 1):
            self.report.requests += 1
            try:
                response = request(url, method=method, data=body if body or method != "DELETE" else None,
                                   headers=headers, timeout=self.timeout)
            except RequestTimeout:
                raise RemoteError(f"{method} {url}: no complete answer within {self.timeout:g} s "
                                  f"(--timeout; not retried)") from None
            except urllib.error.URLError as exc:
                why = _reason(exc.reason)
                if not _transient(exc.reason) or attempt == ATTEMPTS:
                    raise RemoteError(f"cannot reach {url}: {why} ({attempt} attempt(s))") from None
            except (OSError, http.client.HTTPException) as exc:  # resets, a server breaking off
                why = _reason(exc)
                if not _transient(exc) or attempt == ATTEMPTS:
                    raise RemoteError(f"request to {url} failed: {why} ({attempt} attempt(s))") from None
            else:
                if response.status < 300 or (ok_missing and response.status == 404):
                    return
                if response.status not in TRANSIENT_STATUS or attempt == ATTEMPTS:
                    message = response.first_line() or _phrase(response.status)
                    raise RemoteError(f"{method} {url} answered HTTP {response.status}: {message}")
                why = f"HTTP {response.status}"
            time.sleep(delay)
            delay = min(delay * 2, 30.0)


def _transient(exc: object) -> bool:
    return isinstance(exc, (ConnectionError, http.client.RemoteDisconnected, http.client.IncompleteRead))


def _reason(exc: object) -> str:
    return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "error"
