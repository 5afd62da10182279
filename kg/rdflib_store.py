"""rdflib over the store: :func:`open_graph` returns an ``rdflib.Graph`` backed by the
Oxigraph store itself through ``oxrdflib`` (read-only; nothing is copied into memory).

``g.query(...)`` is answered by Oxigraph (the same engine and the same graph as ``kg
query``, so the same rows), with kg's prefixes (``kg:``, ``ncbigene:``, ``dcterms:`` ...)
declared; ``g.triples(...)``, ``for t in g``, ``len(g)`` and ``g.value(...)`` read the store
lazily (literals typed xsd:string come as rdflib's plain ``Literal("x")``, so they
compare equal to what rdflib parses); a subset is serialized by copying just it into an in-memory graph (or with a
CONSTRUCT query, whose result graph rdflib serializes).  Writes fail: the store is opened
read-only, so a build can replace it while the graph is open.

The store folder is resolved by :func:`kg.store.open_store` (every store layout kg writes);
the graph is the store's default graph, which holds kg's whole graph (the union of the
figure graphs and of the graphs loaded with ``kg load``), or one named graph (``graph=``).
"""

from __future__ import annotations

from pathlib import Path

import pyoxigraph as ox
import rdflib
from oxrdflib import OxigraphStore
from rdflib.graph import DATASET_DEFAULT_GRAPH_ID
from rdflib.namespace import XSD

from . import vocab
from .store import DEFAULT_STORE, open_store


def _plain(term):
    """A literal typed xsd:string as rdflib writes it itself (``Literal("x")``): RDF 1.1 makes
    them one term, but rdflib compares them unequal, so a graph read through oxrdflib would
    not match graphs rdflib parsed (``g.value(...) == Literal("x")`` would fail)."""
    if isinstance(term, rdflib.Literal) and term.datatype == XSD.string and term.language is None:
        return rdflib.Literal(str(term))
    return term


class KgOxigraphStore(OxigraphStore):
    """oxrdflib's store, answering with plain literals where Oxigraph says xsd:string, and
    counting a graph's triples without collecting them (oxrdflib's ``len`` counts DISTINCT
    triples: on 13 M triples that takes minutes and GBs; one graph holds each triple once)."""

    def __len__(self, context=None) -> int:  # type: ignore[override]
        if context is None:
            return super().__len__(context)
        identifier = getattr(context, "identifier", context)
        graph = ox.DefaultGraph() if identifier == DATASET_DEFAULT_GRAPH_ID else (
            ox.BlankNode(str(identifier)) if isinstance(identifier, rdflib.BNode) else ox.NamedNode(str(identifier)))
        answer = self._inner.query("SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }", default_graph=graph)
        return int(next(iter(answer))[0].value)

    def triples(self, triple_pattern, context=None):  # type: ignore[override]
        for (s, p, o), contexts in super().triples(triple_pattern, context):
            yield (s, p, _plain(o)), contexts

    def query(self, query, initNs, initBindings, queryGraph, **kwargs):  # type: ignore[override]  # noqa: N803
        result = super().query(query, initNs, initBindings, queryGraph, **kwargs)
        if result._genbindings is not None:
            rows = result._genbindings
            result._genbindings = ({v: _plain(value) for v, value in row.items()} for row in rows)
        if result.graph is not None:
            plain = rdflib.Graph()
            plain += ((s, p, _plain(o)) for s, p, o in result.graph)
            result.graph = plain
        return result


def open_graph(store: str | Path = DEFAULT_STORE, *, graph: str | None = None) -> rdflib.Graph:
    """An ``rdflib.Graph`` reading the store at ``store`` (read-only, no copy in memory): its
    default graph (kg's graph), or the named graph ``graph`` (an IRI).

    Raises :class:`kg.errors.StoreError` if there is no store there or it cannot be opened."""
    backend = KgOxigraphStore(store=open_store(store, read_only=True))
    identifier = rdflib.URIRef(graph) if graph is not None else DATASET_DEFAULT_GRAPH_ID
    result = rdflib.Graph(store=backend, identifier=identifier, bind_namespaces="core")
    for prefix, namespace in vocab.PREFIXES.items():
        result.bind(prefix, rdflib.Namespace(namespace), override=True, replace=True)
    return result
