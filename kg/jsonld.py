"""The record's embedded ``schema-jsonld`` block, parsed as JSON-LD by rdflib, offline.

The schema.org context is served from a copy bundled in the package
(``kg/data/schemaorg-context.jsonld``, schema.org release 12.0): nothing is ever fetched.
A block whose ``@context`` names any other remote document is refused.  The context is
processed once per process and reused for every record.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import Any

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.plugins.parsers.jsonld import Parser
from rdflib.plugins.shared.jsonld.context import Context

from . import vocab
from .ntriples import iri, literal, triple

#: The spellings of the schema.org context URL that the bundled copy stands for.
SCHEMA_ORG_CONTEXTS = frozenset(
    {"https://schema.org/", "http://schema.org/", "https://schema.org", "http://schema.org",
     "https://schema.org/docs/jsonldcontext.jsonld", "http://schema.org/docs/jsonldcontext.jsonld"}
)
#: Site-template placeholder the PFOCR pages put in ``name``: not a title.
PLACEHOLDER_NAMES = frozenset({"CreativeWork"})
#: Licence words the pages use, as the licence IRIs they stand for.
LICENSES = {"CC0": vocab.CC0, "CC0-1.0": vocab.CC0, "CC0 1.0": vocab.CC0}


class JsonLdError(ValueError):
    """The block cannot be used; the message says why."""


@lru_cache(maxsize=1)
def bundled_context() -> dict[str, Any]:
    """The bundled schema.org JSON-LD context document."""
    text = resources.files("kg").joinpath("data/schemaorg-context.jsonld").read_text("utf-8")
    return json.loads(text)


@lru_cache(maxsize=1)
def _schema_context() -> Context:
    context = Context()
    for url in SCHEMA_ORG_CONTEXTS:  # belt and braces: rdflib finds these without a fetch
        context._context_cache[url] = bundled_context()
    context.load(bundled_context())
    return context


def check_contexts(node: Any, where: str = "@context") -> None:
    """Refuse any ``@context``/``@import`` that would make a JSON-LD processor fetch a document."""
    if isinstance(node, list):
        for item in node:
            check_contexts(item, where)
    elif isinstance(node, dict):
        for key, item in node.items():
            if key in ("@context", "@import"):
                _check_context_value(item)
            elif isinstance(item, (dict, list)):
                check_contexts(item, where)


def _check_context_value(ctx: Any) -> None:
    if isinstance(ctx, str):
        if ctx not in SCHEMA_ORG_CONTEXTS:
            raise JsonLdError(f"@context names a remote document other than schema.org: {ctx!r}")
    elif isinstance(ctx, list):
        for item in ctx:
            _check_context_value(item)
    elif isinstance(ctx, dict):
        check_contexts(ctx)
    elif ctx is not None:
        raise JsonLdError(f"@context must be a URL, a mapping or a list, not {type(ctx).__name__}")


def normalise(block: dict[str, Any]) -> dict[str, Any]:
    """A copy of the PFOCR block ready for JSON-LD processing: placeholder ``name`` dropped,
    licence word turned into its IRI."""
    doc = dict(block)
    if doc.get("name") in PLACEHOLDER_NAMES:
        del doc["name"]
    if isinstance(doc.get("license"), str) and doc["license"] in LICENSES:
        doc["license"] = LICENSES[doc["license"]]
    return doc


def jsonld_triples(block: dict[str, Any], subject: str) -> list[str]:
    """N-Triples lines of the block; blank nodes become ``<subject>#node<n>`` IRIs."""
    if not isinstance(block, dict):
        raise JsonLdError("schema-jsonld must be a mapping")
    check_contexts(block)
    doc = normalise(block)
    ctx = doc.pop("@context", None)
    context = _schema_context() if ctx is None or ctx in SCHEMA_ORG_CONTEXTS else _schema_context().subcontext(ctx)
    graph = Graph()
    try:
        Parser()._add_to_graph(graph, graph, context, doc, topcontext=True)
    except (ValueError, TypeError, KeyError) as exc:
        raise JsonLdError(f"not valid JSON-LD: {exc}") from None
    # Blank nodes become IRIs under the figure, numbered in a canonical order (by their
    # outgoing triples), so the output is the same in every process.
    bnodes = sorted({n for t in graph for n in t if isinstance(n, BNode)},
                    key=lambda b: sorted((str(p), str(o)) for p, o in graph.predicate_objects(b)))
    skolem = {b: iri(f"{subject}#node{i}") for i, b in enumerate(bnodes, start=1)}

    def term(node: Any) -> str:
        if isinstance(node, BNode):
            return skolem[node]
        if isinstance(node, URIRef):
            try:
                return iri(vocab.check_iri(str(node)))
            except ValueError as exc:
                raise JsonLdError(str(exc)) from None
        assert isinstance(node, Literal)
        datatype = str(node.datatype) if node.datatype else None
        return literal(str(node), datatype, node.language)

    return sorted(triple(term(s), term(p), term(o)) for s, p, o in graph)
