"""kg's pages for people: the SPARQL query page (YASGUI, vendored) at ``/`` and a page for
every IRI of the graph at ``/resource?iri=IRI`` (HTML, or Turtle / N-Triples / JSON-LD /
RDF/XML by content negotiation).

The server mounts :data:`routes`; the pages read the graph through ``app.state.sparql``, an
object with ``async select(query)`` (SPARQL JSON result bindings) and ``async graph(query,
media_type)`` (serialized RDF): the server's worker pool, or :class:`LocalSparql` (the store
opened read-only in this process)."""

from __future__ import annotations

import json
from pathlib import Path

import anyio.to_thread
import pyoxigraph as ox

from ..errors import KgError, QueryError, first_line
from ..store import LiveStore
from ..store import query as store_query
from ..vocab import PREFIXES

#: RDF media types the resource pages and :meth:`LocalSparql.graph` write.
GRAPH_MEDIA_TYPES: dict[str, ox.RdfFormat] = {
    "text/turtle": ox.RdfFormat.TURTLE,
    "application/n-triples": ox.RdfFormat.N_TRIPLES,
    "application/ld+json": ox.RdfFormat.JSON_LD,
    "application/rdf+xml": ox.RdfFormat.RDF_XML,
}


def serialize_triples(triples: list[ox.Triple], media_type: str) -> bytes:
    """``triples`` in the RDF ``media_type`` (kg's prefixes declared where the syntax has them)."""
    fmt = GRAPH_MEDIA_TYPES.get(media_type)
    if fmt is None:
        raise KgError(f"not an RDF media type kg writes: {media_type}")
    if fmt in (ox.RdfFormat.TURTLE, ox.RdfFormat.RDF_XML):
        return ox.serialize(triples, format=fmt, prefixes=PREFIXES)
    return ox.serialize(triples, format=fmt)


class LocalSparql:
    """The ``app.state.sparql`` protocol over a kg store opened read-only in this process: it
    follows rebuilds (``CURRENT``, :class:`kg.store.LiveStore`); each query runs in a worker
    thread so the event loop keeps serving. No timeout: for tests and ``--workers 0``."""

    def __init__(self, store_path: str | Path):
        self.live = LiveStore(store_path)

    def _run(self, query: str):
        try:
            return store_query(self.live.get(), query)
        except SyntaxError as exc:
            raise QueryError(f"SPARQL syntax error: {first_line(str(exc))}") from None
        except (OSError, RuntimeError, ValueError) as exc:
            raise QueryError(f"query failed: {first_line(str(exc))}") from None

    def _select(self, query: str) -> list[dict[str, dict]]:
        answer = self._run(query)
        if isinstance(answer, ox.QueryBoolean):
            return [{"boolean": {"type": "literal", "value": "true" if bool(answer) else "false"}}]
        if isinstance(answer, ox.QueryTriples):
            del answer  # pyoxigraph results must be dropped in the thread that made them
            raise QueryError("select() got a CONSTRUCT/DESCRIBE query: use graph()")
        return json.loads(answer.serialize(format=ox.QueryResultsFormat.JSON))["results"]["bindings"]

    def _graph(self, query: str, media_type: str) -> bytes:
        if media_type not in GRAPH_MEDIA_TYPES:
            raise KgError(f"not an RDF media type kg writes: {media_type}")
        answer = self._run(query)
        if not isinstance(answer, ox.QueryTriples):
            del answer  # pyoxigraph results must be dropped in the thread that made them
            raise QueryError("graph() needs a CONSTRUCT or DESCRIBE query")
        return serialize_triples(list(answer), media_type)

    async def select(self, query: str) -> list[dict[str, dict]]:
        """SELECT/ASK rows as SPARQL 1.1 JSON result bindings."""
        return await anyio.to_thread.run_sync(self._select, query)

    async def graph(self, query: str, media_type: str) -> bytes:
        """CONSTRUCT/DESCRIBE serialized as ``media_type``."""
        return await anyio.to_thread.run_sync(self._graph, query, media_type)


from .pages import routes  # noqa: E402  (pages use the names above)

__all__ = ["routes", "LocalSparql", "GRAPH_MEDIA_TYPES", "serialize_triples"]
