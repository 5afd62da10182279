"""The record's embedded ``schema-jsonld`` block, parsed as JSON-LD, offline.

The schema.org context is served from a copy bundled in the package
(``kg/data/schemaorg-context.jsonld``, schema.org release 12.0): nothing is ever fetched.
A block whose ``@context`` names any other remote document is refused.  The build parses
with pyoxigraph; rdflib's JSON-LD parser is the reference implementation
(:func:`reference_triples`) the tests compare it with.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from importlib import resources
from typing import Any, Callable

import pyoxigraph as ox

from . import vocab
from .ntriples import iri, literal, triple
from .records import MISSING

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
def _schema_terms() -> tuple[dict[str, Any], dict[str, Any]]:
    """The bundled context's term definitions, and the part every document needs:
    ``@vocab``, keyword aliases (``id``, ``type``) and prefix definitions (``schema:``...)."""
    terms = bundled_context()["@context"]
    always = {k: v for k, v in terms.items()
              if k.startswith("@") or (isinstance(v, str) and (v.startswith("@") or v.endswith(("/", "#"))))}
    return terms, always


def schema_context_for(doc: Any) -> dict[str, Any]:
    """The bundled schema.org context cut down to the terms ``doc`` uses.

    JSON-LD expansion consults a term definition only where the term is a key or an
    ``@type`` value (no schema.org term coerces values with ``@vocab``), besides ``@vocab``
    and the prefixes; so the cut-down context expands ``doc`` exactly as the whole one does
    (the tests check this against rdflib on every sample record) at the cost of a few dozen
    terms instead of 2,700."""
    words: set[str] = set()
    stack = [doc]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            words.update(node)
            for key, item in node.items():
                if key in ("@type", "type"):
                    words.update(item if isinstance(item, list) else [item])
                elif isinstance(item, (dict, list)):
                    stack.append(item)
        elif isinstance(node, list):
            stack.extend(item for item in node if isinstance(item, (dict, list)))
    return _context_for_words(frozenset(w for w in words if isinstance(w, str)))


@lru_cache(maxsize=256)
def _context_for_words(words: frozenset[str]) -> dict[str, Any]:
    terms, always = _schema_terms()
    vocab_coerced = [k for k, v in terms.items() if isinstance(v, dict) and v.get("@type") == "@vocab"]
    if vocab_coerced:  # not so in schema.org 12.0; if a newer copy adds some, be exact anyway
        raise RuntimeError("bundled context coerces values with @vocab: extend schema_context_for")
    used = dict(always)
    used.update((word, terms[word]) for word in words & terms.keys())
    return used


def _inline_contexts(ctx: Any, schema: dict[str, Any]) -> Any:
    """``ctx`` with every schema.org URL (also in nested ``@context``s) replaced by ``schema``."""
    if isinstance(ctx, str):
        return schema if ctx in SCHEMA_ORG_CONTEXTS else ctx
    if isinstance(ctx, list):
        return [_inline_contexts(item, schema) for item in ctx]
    if isinstance(ctx, dict):
        return {k: (_inline_contexts(v, schema) if k == "@context" or isinstance(v, (dict, list)) else v)
                for k, v in ctx.items()}
    return ctx


@lru_cache(maxsize=1)
def _rdflib_schema_context() -> Any:
    from rdflib.plugins.shared.jsonld.context import Context  # the reference path only: a build never imports rdflib

    context = Context()
    for url in SCHEMA_ORG_CONTEXTS:  # rdflib finds these in its cache: it never fetches them
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
            if key == "@import":
                raise JsonLdError("@context uses @import, which would fetch a remote document")
            if key == "@context":
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


def _is_missing(value: Any) -> bool:
    return isinstance(value, str) and value.strip() in MISSING


def _drop_missing(node: Any) -> Any:
    """``node`` without the PFOCR spellings of "no value" (``NA``, ``.na.character``...)."""
    if isinstance(node, dict):
        return {k: _drop_missing(v) for k, v in node.items() if not _is_missing(v)}
    if isinstance(node, list):
        return [_drop_missing(v) for v in node if not _is_missing(v)]
    return node


def normalise(block: dict[str, Any]) -> dict[str, Any]:
    """A copy of the PFOCR block ready for JSON-LD processing: missing values (``NA``...)
    and the placeholder ``name`` dropped, licence word turned into its IRI."""
    doc = _drop_missing(block)
    if doc.get("name") in PLACEHOLDER_NAMES:
        del doc["name"]
    if isinstance(doc.get("license"), str) and doc["license"] in LICENSES:
        doc["license"] = LICENSES[doc["license"]]
    return doc


def _prepared(block: Any) -> dict[str, Any]:
    if not isinstance(block, dict):
        raise JsonLdError("schema-jsonld must be a mapping")
    check_contexts(block)
    return normalise(block)


def jsonld_triples(block: dict[str, Any], subject: str) -> list[str]:
    """N-Triples lines of the block, sorted; blank nodes become ``<subject>#node<n>`` IRIs.

    Parsed by pyoxigraph's JSON-LD 1.1 parser (Rust; ~15x faster than rdflib's here, and
    this is the build's hottest step) with the bundled schema.org context inlined."""
    doc = _prepared(block)
    context = schema_context_for(doc)
    doc = _inline_contexts(doc, context)
    doc.setdefault("@context", context)
    try:
        text = ox.serialize(ox.parse(json.dumps(doc), format=ox.RdfFormat.JSON_LD),
                            format=ox.RdfFormat.N_QUADS).decode("utf-8")
    except SyntaxError as exc:
        raise JsonLdError(f"not valid JSON-LD: {str(exc).splitlines()[0]}") from None
    # N-Quads escapes "\n" in literals but not U+0085, U+2028, \v, \f...: split on "\n" only.
    lines = [line + "\n" for line in text.split("\n") if line]
    if "_:" in text:
        lines = _skolemize_lines(lines, subject)
    return sorted(lines)


_OBJECT_BLANK = re.compile(r" (_:[^ ]+) \.\n$")


def _skolemize_lines(lines: list[str], subject: str) -> list[str]:
    """Rename the blank nodes of N-Triples lines as :func:`_skolem_names` does (only lines
    with a blank node can name one, so the others pass through untouched)."""
    triples = []
    plain = []
    for line in lines:
        if "_:" not in line:
            plain.append(line)
            continue
        s, p, rest = line.split(" ", 2)
        match = _OBJECT_BLANK.search(line)
        triples.append((s, p, match.group(1) if match else rest[:-3]))
    names = _skolem_names(triples, subject, lambda n: n.startswith("_:"))
    return plain + [triple(names.get(s, s), p, names.get(o, o)) for s, p, o in triples]


def reference_triples(block: dict[str, Any], subject: str) -> list[str]:
    """The same lines as :func:`jsonld_triples`, computed by rdflib's JSON-LD parser with
    the whole bundled context: the reference the tests hold the fast path to."""
    doc = _prepared(block)
    ctx = doc.pop("@context", None)
    base = _rdflib_schema_context()
    context = base if ctx is None or (isinstance(ctx, str) and ctx in SCHEMA_ORG_CONTEXTS) else base.subcontext(ctx)
    from rdflib import BNode, Graph
    from rdflib.plugins.parsers.jsonld import Parser

    graph = Graph()
    try:
        Parser()._add_to_graph(graph, graph, context, doc, topcontext=True)
    except (ValueError, TypeError, KeyError) as exc:
        raise JsonLdError(f"not valid JSON-LD: {exc}") from None
    return _skolemized(list(graph), subject, lambda n: isinstance(n, BNode), _rdflib_term)


def _skolem_names(triples: list[tuple[Any, Any, Any]], subject: str,
                  is_blank: Callable[[Any], bool]) -> dict[Any, str]:
    """Blank node -> ``<subject#nodeN>``, numbered in a canonical order (by each node's
    outgoing triples), so every process and both parsers name them alike."""
    outgoing: dict[Any, list[tuple[str, str]]] = {}
    for s, p, o in triples:
        for node in (s, o):
            if is_blank(node):
                outgoing.setdefault(node, [])
        if is_blank(s):
            outgoing[s].append((str(p), str(o)))
    order = sorted(outgoing, key=lambda b: sorted(outgoing[b]))
    return {b: iri(f"{subject}#node{i}") for i, b in enumerate(order, start=1)}


def _skolemized(triples: list[tuple[Any, Any, Any]], subject: str, is_blank: Callable[[Any], bool],
                term: Callable[[Any], str]) -> list[str]:
    """Sorted N-Triples lines with blank nodes named by :func:`_skolem_names`."""
    skolem = _skolem_names(triples, subject, is_blank)

    def fmt(node: Any) -> str:
        return skolem[node] if is_blank(node) else term(node)

    return sorted(triple(fmt(s), fmt(p), fmt(o)) for s, p, o in triples)


def _checked_iri(value: str) -> str:
    try:
        return iri(vocab.check_iri(value))
    except ValueError as exc:
        raise JsonLdError(str(exc)) from None


def _rdflib_term(node: Any) -> str:
    from rdflib import Literal, URIRef

    if isinstance(node, URIRef):
        return _checked_iri(str(node))
    assert isinstance(node, Literal)
    return literal(str(node), str(node.datatype) if node.datatype else None, node.language)
