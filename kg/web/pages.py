"""The query page (``/``) and the resource pages (``/resource?iri=IRI``).

Every page reads the graph through ``request.app.state.sparql`` with SPARQL that starts
from the page's IRI (index lookups, no scan of the graph). HTML comes from Jinja2 templates
with autoescaping; links between pages are relative (``resource?iri=…``), so the pages work
behind any host, port or path prefix, and a page loads nothing from outside the server."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any
from urllib.parse import quote

import pyoxigraph as ox
from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from .. import __version__, formats
from ..errors import KgError, QueryTimeout
from ..query import bind_params, example_query, list_queries
from ..vocab import (BIBO, DC, DCTERMS, FABIO, KG, NCBI, PREFIXES, RDF, RDFS, SCHEMA, SKOS, WP)
from . import svg

PAGE_SIZE = 20
TOP_GENES = 15
NETWORK_GENES = 12
TRIPLE_LIMIT = 1000
MAX_IRI = 4096

env = Environment(loader=PackageLoader("kg.web", "templates"), autoescape=select_autoescape(default=True),
                  trim_blocks=True, lstrip_blocks=True)

# --------------------------------------------------------------------------- terms


@dataclass(frozen=True)
class Term:
    """One RDF term of a SPARQL JSON result, with what a page shows for it."""

    kind: str  # "uri", "literal" or "bnode"
    value: str
    datatype: str | None = None
    lang: str | None = None

    @property
    def is_iri(self) -> bool:
        return self.kind == "uri"

    @property
    def href(self) -> str:
        """The term's page inside this server (IRIs only)."""
        return resource_href(self.value)

    @property
    def short(self) -> str:
        """The IRI compacted with kg's prefixes (``ncbigene:4040``), or the literal's text."""
        return compact(self.value) if self.kind == "uri" else self.value

    @property
    def note(self) -> str:
        """``@lang`` or ``^^datatype`` of a literal (empty for plain strings and IRIs)."""
        if self.lang:
            return "@" + self.lang
        if self.datatype and self.datatype != "http://www.w3.org/2001/XMLSchema#string":
            return "^^" + compact(self.datatype)
        return ""

    def __str__(self) -> str:
        return self.value


_NAMESPACES = sorted(PREFIXES.items(), key=lambda item: -len(item[1]))
_LOCAL_NAME = re.compile(r"[A-Za-z0-9_.\-]*")


def compact(iri: str) -> str:
    """``iri`` as ``prefix:local`` with kg's prefixes when the local part is plain, else itself."""
    for prefix, namespace in _NAMESPACES:
        if iri.startswith(namespace) and _LOCAL_NAME.fullmatch(iri[len(namespace):]):
            return f"{prefix}:{iri[len(namespace):]}"
    return iri


def resource_href(iri: str) -> str:
    """The relative link to the page of ``iri`` (``resource?iri=…``)."""
    return "resource?iri=" + quote(iri, safe="")


def term(binding: dict | None) -> Term | None:
    if binding is None:
        return None
    return Term(binding["type"] if binding["type"] != "typed-literal" else "literal", binding["value"],
                binding.get("datatype"), binding.get("xml:lang"))


def sparql_iri(iri: str) -> str:
    """``<iri>`` for a query: ``iri`` was checked with pyoxigraph, so it holds no ``>``."""
    return str(ox.NamedNode(iri))


async def select(request: Request, query: str) -> list[dict[str, Term]]:
    """Rows of a SELECT as ``{variable: Term}``."""
    rows = await request.app.state.sparql.select(query)
    return [{name: term(value) for name, value in row.items()} for row in rows]


def _prologue() -> str:
    return "".join(f"PREFIX {p}: <{PREFIXES[p]}>\n" for p in
                   ("rdf", "rdfs", "dcterms", "dc", "schema", "fabio", "bibo", "skos", "wp", "kg"))


# --------------------------------------------------------------------------- content negotiation

#: What /resource answers, in order of preference when the client takes anything.
OFFERS = ["text/html", "text/turtle", "application/n-triples", "application/ld+json", "application/rdf+xml"]
_ALIASES = {"application/xhtml+xml": "text/html", "application/x-turtle": "text/turtle",
            "text/n-triples": "application/n-triples", "application/json": "application/ld+json"}
#: ``?format=`` values, for links and clients that cannot set Accept.
FORMATS = {"html": "text/html", "ttl": "text/turtle", "turtle": "text/turtle", "nt": "application/n-triples",
           "ntriples": "application/n-triples", "jsonld": "application/ld+json", "json-ld": "application/ld+json",
           "rdf": "application/rdf+xml", "rdfxml": "application/rdf+xml", "xml": "application/rdf+xml"}


def negotiate(accept: str | None) -> str | None:
    """The offer of :data:`OFFERS` that ``accept`` (an HTTP Accept header) prefers; HTML when
    there is no header; ``None`` when it accepts none of them."""
    return formats.negotiate(accept, OFFERS, _ALIASES)


# --------------------------------------------------------------------------- responses


def render(template: str, status: int = 200, **context: Any) -> HTMLResponse:
    context.setdefault("version", __version__)
    return HTMLResponse(env.get_template(template).render(**context), status_code=status,
                        headers={"Vary": "Accept"})


def problem(request: Request, status: int, title: str, message: str) -> Response:
    """An error page (HTML for browsers, one line of text for the others)."""
    asked = FORMATS.get((request.query_params.get("format") or "html").lower(), "text/html")
    if negotiate(request.headers.get("accept")) == "text/html" and asked == "text/html":
        return render("error.html", status, title=title, message=message)
    return PlainTextResponse(message + "\n", status_code=status, headers={"Vary": "Accept"})


# --------------------------------------------------------------------------- the query page


@lru_cache(maxsize=1)
def _examples() -> list[dict[str, Any]]:
    examples = []
    for query in list_queries():
        try:
            text = example_query(query)
        except KgError:
            continue
        examples.append({"name": query.name, "description": query.description, "keywords": query.keywords,
                         "params": [{"name": p, "help": query.param_help.get(p, "")} for p in query.params],
                         "query": text})
    return examples


DEFAULT_QUERY = """\
# Figures and their titles. Pick a library query on the left, or write your own:
# kg's prefixes are declared below.
SELECT ?figure ?title WHERE {
  ?figure a kg:PathwayFigure ;
          dcterms:title ?title .
}
ORDER BY ?title
LIMIT 20
"""


async def query_page(request: Request) -> Response:
    prefixes = "".join(f"PREFIX {p}: <{iri}>\n" for p, iri in PREFIXES.items())
    return render("query.html", examples=_examples(), prefixes=PREFIXES,
                  default_query=prefixes + "\n" + DEFAULT_QUERY)


# --------------------------------------------------------------------------- the resource pages

_TYPES = [(KG + "PathwayFigure", "figure"), (KG + "Gene", "gene"), (SCHEMA + "ScholarlyArticle", "paper"),
          (KG + "Organism", "organism"), (KG + "Chemical", "chemical"), (KG + "Disease", "disease")]


async def resource(request: Request) -> Response:
    """``GET /resource?iri=IRI``: the IRI's page, or its description as RDF."""
    iri = request.query_params.get("iri")
    if iri is None or not iri.strip():
        return problem(request, 400, "Bad request", "missing parameter: iri (the IRI of a resource of the graph)")
    iri = iri.strip()
    if len(iri) > MAX_IRI:
        return problem(request, 400, "Bad request", f"iri is longer than {MAX_IRI} characters")
    try:
        node = ox.NamedNode(iri)
    except ValueError as exc:
        return problem(request, 400, "Bad request", f"not a valid IRI: {iri!r} ({exc})")
    fmt = request.query_params.get("format")
    if fmt is not None:
        media = FORMATS.get(fmt.lower())
        if media is None:
            return problem(request, 400, "Bad request",
                           f"unknown format {fmt!r}: use one of {', '.join(sorted(set(FORMATS)))}")
    else:
        media = negotiate(request.headers.get("accept"))
        if media is None:
            return PlainTextResponse(f"none of the media types accepted is served here; /resource answers "
                                     f"{', '.join(OFFERS)}\n", status_code=406, headers={"Vary": "Accept"})
    page = request.query_params.get("page", "1")
    if not page.isdigit() or int(page) < 1 or int(page) > 1_000_000:
        return problem(request, 400, "Bad request", f"page must be a positive whole number, not {page!r}")
    try:
        return await _resource(request, str(node)[1:-1], media, int(page))
    except QueryTimeout as exc:
        return problem(request, 503, "Too slow", f"the page's query ran out of time: {exc}")
    except KgError as exc:
        return problem(request, 500, "Query failed", f"the page's query failed: {exc}")


async def _resource(request: Request, iri: str, media: str, page: int) -> Response:
    ref = sparql_iri(iri)
    types = [row["type"].value for row in await select(request, f"SELECT DISTINCT ?type WHERE {{ {ref} a ?type }}")
             if row.get("type") is not None]
    if not types:
        found = await select(request, f"ASK {{ {{ {ref} ?p ?o }} UNION {{ ?s ?p {ref} }} }}")
        if not found or found[0].get("boolean", Term("literal", "false")).value != "true":
            return problem(request, 404, "Not found", f"the graph says nothing about <{iri}>")
    if media != "text/html":
        body = await request.app.state.sparql.graph(
            f"CONSTRUCT {{ {ref} ?p ?o . ?s ?q {ref} }} WHERE {{ {{ {ref} ?p ?o }} UNION {{ ?s ?q {ref} }} }}", media)
        return Response(body, media_type=media, headers={"Vary": "Accept"})
    kind = next((name for type_iri, name in _TYPES if type_iri in types), "other")
    context = {"iri": iri, "types": [Term("uri", t) for t in types], "kind": kind, "page": page,
               "formats": [("Turtle", "ttl"), ("N-Triples", "nt"), ("JSON-LD", "jsonld"), ("RDF/XML", "rdf")],
               "href": resource_href(iri)}
    builder = _BUILDERS.get(kind, _other)
    context.update(await builder(request, iri, page))
    if kind in _TERM_KINDS:
        context["kind_label"] = _TERM_KINDS[kind]
        return render("term.html", **context)
    return render(f"{kind}.html", **context)


async def _outgoing(request: Request, iri: str) -> dict[str, list[Term]]:
    """``predicate IRI -> objects`` of ``iri``."""
    found: dict[str, list[Term]] = {}
    for row in await select(request, f"SELECT ?p ?o WHERE {{ {sparql_iri(iri)} ?p ?o }} LIMIT {TRIPLE_LIMIT}"):
        found.setdefault(row["p"].value, []).append(row["o"])
    return found


def _first(values: dict[str, list[Term]], predicate: str) -> Term | None:
    found = values.get(predicate)
    return found[0] if found else None


def _statements(values: dict[str, list[Term]]) -> list[tuple[Term, Term]]:
    return [(Term("uri", p), o) for p, objects in values.items() for o in objects]


# ---- figure

_ORGANISM_SOURCES = {WP + "organism": None, KG + "metadataOrganism": "paper metadata",
                     KG + "tableOrganism": "gene table", KG + "nerOrganism": "text mining"}


async def _figure(request: Request, iri: str, page: int) -> dict[str, Any]:
    ref = sparql_iri(iri)
    values = await _outgoing(request, iri)
    paper_ref = _first(values, DCTERMS + "isPartOf")
    paper: dict[str, Any] | None = None
    if paper_ref is not None and paper_ref.is_iri:
        paper = _paper_fields(paper_ref, await _outgoing(request, paper_ref.value))
    pre = _prologue()
    genes = await select(request, pre + f"""
SELECT ?gene (SAMPLE(?s) AS ?symbol) (SAMPLE(?i) AS ?id) (SAMPLE(?org) AS ?organism) (SAMPLE(?ol) AS ?organismLabel)
       (GROUP_CONCAT(DISTINCT ?word; separator=" | ") AS ?words) WHERE {{
  {ref} kg:mentionsGene ?gene .
  OPTIONAL {{ {ref} kg:hasMention ?m . ?m kg:refersTo ?gene ; kg:ocrWord ?word }}
  OPTIONAL {{ ?gene kg:symbol ?s }}
  OPTIONAL {{ ?gene dcterms:identifier ?i }}
  OPTIONAL {{ ?gene wp:organism ?org OPTIONAL {{ ?org rdfs:label ?ol }} }}
}} GROUP BY ?gene ORDER BY LCASE(?symbol) ?gene""")
    chemicals = await _mentioned(request, ref, "kg:mentionsChemical")
    diseases = await _mentioned(request, ref, "kg:mentionsDisease")
    organisms: dict[str, dict[str, Any]] = {}
    for row in await select(request, pre + f"""
SELECT ?p ?org ?label WHERE {{
  VALUES ?p {{ wp:organism kg:metadataOrganism kg:tableOrganism kg:nerOrganism }}
  {ref} ?p ?org . OPTIONAL {{ ?org rdfs:label ?label }}
}}"""):
        entry = organisms.setdefault(row["org"].value, {"term": row["org"], "label": row.get("label"), "sources": []})
        source = _ORGANISM_SOURCES.get(row["p"].value)
        if source and source not in entry["sources"]:
            entry["sources"].append(source)
    redrawn = await select(request, pre + f"""
SELECT ?pathway (SAMPLE(?t) AS ?title) (SAMPLE(?i) AS ?wpid) WHERE {{
  {ref} kg:redrawnAs ?pathway . OPTIONAL {{ ?pathway dc:title ?t }} OPTIONAL {{ ?pathway dcterms:identifier ?i }}
}} GROUP BY ?pathway ORDER BY ?pathway""")
    pathways = await select(request, _library("pathways-sharing-genes", figure=iri))
    number = _first(values, KG + "figureNumber")
    return {
        "title": _first(values, DCTERMS + "title") or _first(values, RDFS + "label"),
        "caption": _first(values, SCHEMA + "caption"),
        "figid": _first(values, DCTERMS + "identifier"),
        "number": number, "figure_type": _first(values, KG + "figureType"),
        "pmc_page": _first(values, KG + "pmcFigurePage"),
        "pfocr_page": iri if iri.startswith(PREFIXES["pfocr"]) else None,
        "paper": paper, "genes": genes, "chemicals": chemicals, "diseases": diseases,
        "organisms": list(organisms.values()), "redrawn": redrawn, "pathways": pathways[:25],
        "pathway_count": len(pathways), "triples": _statements(values),
    }


async def _mentioned(request: Request, ref: str, predicate: str) -> list[dict[str, Term]]:
    """Chemicals or diseases of a figure: label, closest ChEBI term, OCR words."""
    return await select(request, _prologue() + f"""
SELECT ?term (SAMPLE(?l) AS ?label) (SAMPLE(?c) AS ?match) (SAMPLE(?cl) AS ?matchLabel)
       (SAMPLE(?mt) AS ?matched) (GROUP_CONCAT(DISTINCT ?word; separator=" | ") AS ?words) WHERE {{
  {ref} {predicate} ?term .
  OPTIONAL {{ {ref} kg:hasMention ?m . ?m kg:refersTo ?term ; kg:ocrWord ?word OPTIONAL {{ ?m kg:matchedText ?mt }} }}
  OPTIONAL {{ ?term rdfs:label ?l }}
  OPTIONAL {{ ?term skos:closeMatch ?c OPTIONAL {{ ?c rdfs:label ?cl }} }}
}} GROUP BY ?term ORDER BY LCASE(COALESCE(?label, ?matched, ?words)) ?term""")


def _library(name: str, **params: str) -> str:
    query = next(q for q in list_queries() if q.name == name)
    return bind_params(query.text, params)


def _paper_fields(ref: Term, values: dict[str, list[Term]]) -> dict[str, Any]:
    pmcid = _first(values, FABIO + "hasPubMedCentralId")
    doi = _first(values, BIBO + "doi")
    return {
        "term": ref, "title": _first(values, DCTERMS + "title"),
        "journal": _first(values, KG + "journalTitle") or _first(values, FABIO + "hasNLMJournalTitleAbbreviation"),
        "year": _first(values, FABIO + "hasPublicationYear"),
        "citation": _first(values, DCTERMS + "bibliographicCitation"),
        "publisher": _first(values, DC + "publisher"),
        "doi": doi, "doi_url": f"https://doi.org/{doi.value}" if doi else None,
        "pmcid": pmcid, "pmc_url": f"{NCBI}/pmc/articles/{pmcid.value}/" if pmcid else None,
        "keywords": values.get(SCHEMA + "keywords", []),
    }


# ---- figure lists (gene, paper, organism, chemical, disease)


async def _figures(request: Request, pattern: str, page: int) -> dict[str, Any]:
    """One page of the figures matching ``pattern`` (over ``?fig``), newest paper first."""
    pre = _prologue()
    count = await select(request, pre + f"SELECT (COUNT(DISTINCT ?fig) AS ?n) WHERE {{ {pattern} }}")
    total = int(count[0]["n"].value) if count and count[0].get("n") else 0
    offset = (page - 1) * PAGE_SIZE
    # order the figures by their paper's year (and figid) first, then read the page's rows only
    rows = await select(request, pre + f"""
SELECT ?fig ?figid ?year ?title ?paperIri ?paperTitle WHERE {{
  {{ SELECT ?fig ?year WHERE {{
      {{ SELECT DISTINCT ?fig WHERE {{ {pattern} }} }}
      OPTIONAL {{ ?fig dcterms:isPartOf ?p . ?p fabio:hasPublicationYear ?year }}
  }} ORDER BY DESC(?year) DESC(?fig) LIMIT {PAGE_SIZE} OFFSET {offset} }}
  OPTIONAL {{ ?fig dcterms:identifier ?figid }}
  OPTIONAL {{ ?fig dcterms:title ?title }}
  OPTIONAL {{ ?fig dcterms:isPartOf ?paperIri OPTIONAL {{ ?paperIri dcterms:title ?paperTitle }} }}
}} ORDER BY DESC(?year) DESC(?fig)""")
    seen: set[str] = set()
    rows = [row for row in rows if not (row["fig"].value in seen or seen.add(row["fig"].value))]
    pages = max(1, -(-total // PAGE_SIZE))
    return {"figures": rows, "total": total, "pages": pages, "first": offset + 1, "last": offset + len(rows)}


async def _gene(request: Request, iri: str, page: int) -> dict[str, Any]:
    ref = sparql_iri(iri)
    values = await _outgoing(request, iri)
    pre = _prologue()
    organism = _first(values, WP + "organism")
    organism_label = None
    if organism is not None and organism.is_iri:
        found = await select(request, pre + f"SELECT ?l WHERE {{ {sparql_iri(organism.value)} rdfs:label ?l }} LIMIT 1")
        organism_label = found[0]["l"] if found else None
    identifier = _first(values, DCTERMS + "identifier")
    top = await select(request, pre + f"""
SELECT ?other (SAMPLE(?s) AS ?symbol) (COUNT(DISTINCT ?fig) AS ?figures) WHERE {{
  ?fig kg:mentionsGene {ref} , ?other .
  FILTER(?other != {ref})
  OPTIONAL {{ ?other kg:symbol ?s }}
}} GROUP BY ?other ORDER BY DESC(?figures) LCASE(?symbol) ?other LIMIT {TOP_GENES}""")
    symbol = _first(values, KG + "symbol") or _first(values, RDFS + "label")
    network = await _network(request, iri, symbol.value if symbol else compact(iri), top[:NETWORK_GENES])
    context = {"symbol": symbol, "identifier": identifier,
               "ncbi_url": f"{NCBI}/gene/{identifier.value}" if identifier and identifier.value.isdigit() else None,
               "organism": organism, "organism_label": organism_label, "top": top, "network": network,
               "triples": [s for s in _statements(values)]}
    context.update(await _figures(request, f"?fig kg:mentionsGene {ref}", page))
    return context


async def _network(request: Request, iri: str, label: str, top: list[dict[str, Term]]) -> Markup | None:
    """The co-occurrence network of a gene and its top partners (inline SVG)."""
    if not top:
        return None
    nodes = [svg.Node(iri, label, resource_href(iri))] + [
        svg.Node(row["other"].value, row["symbol"].value if row.get("symbol") else compact(row["other"].value),
                 row["other"].href) for row in top]
    members = " ".join(sparql_iri(n.iri) for n in nodes)
    rows = await select(request, _prologue() + f"""
SELECT ?a ?b (COUNT(DISTINCT ?fig) AS ?n) WHERE {{
  VALUES ?a {{ {members} }} VALUES ?b {{ {members} }}
  ?fig kg:mentionsGene ?a , ?b .
  FILTER(STR(?a) < STR(?b))
}} GROUP BY ?a ?b""")
    edges = [(row["a"].value, row["b"].value, int(row["n"].value)) for row in rows]
    return Markup(svg.network(nodes, edges))


async def _paper(request: Request, iri: str, page: int) -> dict[str, Any]:
    values = await _outgoing(request, iri)
    context = {"paper": _paper_fields(Term("uri", iri), values), "triples": _statements(values)}
    context.update(await _figures(request, f"?fig dcterms:isPartOf {sparql_iri(iri)}", page))
    return context


_TAXON = re.compile(r"http://purl\.obolibrary\.org/obo/NCBITaxon_([0-9]+)")
_CHEBI = re.compile(r"http://purl\.obolibrary\.org/obo/CHEBI_([0-9]+)")


async def _term_page(request: Request, iri: str, page: int, predicate: str) -> dict[str, Any]:
    values = await _outgoing(request, iri)
    links = []
    taxon = _TAXON.fullmatch(iri)
    if taxon:
        links.append(("NCBI Taxonomy", f"{NCBI}/Taxonomy/Browser/wwwtax.cgi?id={taxon.group(1)}"))
    if iri.startswith(PREFIXES["mesh"]):
        links.append(("MeSH", iri))
    if iri.startswith(PREFIXES["DOID"]):
        links.append(("Disease Ontology", iri))
    for match in values.get(SKOS + "closeMatch", []):
        chebi = _CHEBI.fullmatch(match.value)
        if chebi:
            links.append((f"ChEBI {chebi.group(1)}", f"https://www.ebi.ac.uk/chebi/searchId.do?chebiId=CHEBI:{chebi.group(1)}"))
    label = _first(values, RDFS + "label")
    if label is None:  # a chemical or disease named only by the words it was read from
        found = await select(request, _prologue() + f"""
SELECT ?word WHERE {{ ?m kg:refersTo {sparql_iri(iri)} ; kg:matchedText ?word }} LIMIT 1""")
        label = found[0]["word"] if found else None
    context = {"label": label, "links": links, "triples": _statements(values),
               "matches": values.get(SKOS + "closeMatch", [])}
    context.update(await _figures(request, f"?fig {predicate} {sparql_iri(iri)}", page))
    return context


async def _organism(request: Request, iri: str, page: int) -> dict[str, Any]:
    return await _term_page(request, iri, page, "wp:organism")


async def _chemical(request: Request, iri: str, page: int) -> dict[str, Any]:
    return await _term_page(request, iri, page, "kg:mentionsChemical")


async def _disease(request: Request, iri: str, page: int) -> dict[str, Any]:
    return await _term_page(request, iri, page, "kg:mentionsDisease")


async def _other(request: Request, iri: str, page: int) -> dict[str, Any]:
    ref = sparql_iri(iri)
    outgoing = await select(request, f"SELECT ?p ?o WHERE {{ {ref} ?p ?o }} ORDER BY ?p ?o LIMIT {TRIPLE_LIMIT + 1}")
    incoming = await select(request, f"SELECT ?s ?p WHERE {{ ?s ?p {ref} }} ORDER BY ?p ?s LIMIT {TRIPLE_LIMIT + 1}")
    label = next((row["o"] for row in outgoing if row["p"].value in (RDFS + "label", DCTERMS + "title")), None)
    return {"label": label, "outgoing": outgoing[:TRIPLE_LIMIT], "incoming": incoming[:TRIPLE_LIMIT],
            "limit": TRIPLE_LIMIT, "more_out": len(outgoing) > TRIPLE_LIMIT, "more_in": len(incoming) > TRIPLE_LIMIT}


_TERM_KINDS = {"organism": "Organism", "chemical": "Chemical", "disease": "Disease"}
_BUILDERS = {"figure": _figure, "gene": _gene, "paper": _paper, "organism": _organism, "chemical": _chemical,
             "disease": _disease}

env.globals["compact"] = compact
env.globals["resource_href"] = resource_href
env.globals["RDF_TYPE"] = RDF + "type"


async def not_found(request: Request, exc: Exception) -> Response:
    return problem(request, 404, "Not found", f"no page at {request.url.path}")


_STATIC = resources.files("kg.web") / "static"

routes = [
    Route("/", query_page, methods=["GET", "HEAD"], name="query_page"),
    Route("/resource", resource, methods=["GET", "HEAD"], name="resource"),
    Mount("/static", app=StaticFiles(directory=str(_STATIC)), name="static"),
]
