"""Project the graph into networkx (gene co-occurrence or figure–gene) and summarise it.

The rows come from SPARQL over a store folder or an RDF dump, with the default graph as
the union of all figure graphs.  Node ids are IRIs; attribute values are never ``None``
(a missing value is left out), so every graph can be written as GraphML, GEXF or JSON.
"""

from __future__ import annotations

import inspect
import json
from pathlib import Path
from typing import Any

import networkx as nx
import pyoxigraph as ox

from .outputs import is_stdout, open_output
from .statistics import GRAPH as STATISTICS_GRAPH
from .store import open_source
from .store import query as store_query
from .vocab import DCTERMS, FABIO, KG, RDF, RDFS, SCHEMA, WP

KINDS = ("cooccurrence", "bipartite")
NETWORK_FORMATS = (".graphml", ".gexf", ".json")
_RDF_SUFFIXES = (".ttl", ".nt", ".nq", ".jsonld")
PREFIXES = (f"PREFIX kg: <{KG}> PREFIX rdf: <{RDF}> PREFIX rdfs: <{RDFS}> PREFIX wp: <{WP}> "
            f"PREFIX dcterms: <{DCTERMS}> PREFIX fabio: <{FABIO}> PREFIX schema: <{SCHEMA}>\n")

_GENES = PREFIXES + """
SELECT ?gene (MIN(?l) AS ?label) (MIN(?t) AS ?taxon) (MIN(?i) AS ?id) (COUNT(DISTINCT ?f) AS ?figures) WHERE {
  ?f kg:mentionsGene ?gene .
  OPTIONAL { ?gene rdfs:label ?l } OPTIONAL { ?gene wp:organism ?t } OPTIONAL { ?gene dcterms:identifier ?i }
} GROUP BY ?gene HAVING (COUNT(DISTINCT ?f) >= %d)"""

_PAIRS = PREFIXES + """
SELECT ?a ?b (COUNT(DISTINCT ?f) AS ?weight) WHERE {
  ?f kg:mentionsGene ?a, ?b . FILTER(STR(?a) < STR(?b))
} GROUP BY ?a ?b HAVING (COUNT(DISTINCT ?f) >= %d)"""

_FIGURES = PREFIXES + """
SELECT ?f (MIN(?i) AS ?figid) (MIN(?t) AS ?title) (MIN(?y) AS ?year) WHERE {
  ?f kg:mentionsGene [] .
  OPTIONAL { ?f dcterms:identifier ?i } OPTIONAL { ?f dcterms:title ?t }
  OPTIONAL { ?f dcterms:isPartOf ?p . ?p fabio:hasPublicationYear ?y }
} GROUP BY ?f"""

_LINKS = PREFIXES + "SELECT DISTINCT ?f ?gene WHERE { ?f kg:mentionsGene ?gene }"


# --------------------------------------------------------------------------- sources


def _rows(store: ox.Store, query: str) -> list[dict[str, Any]]:
    """Query results as dicts of plain Python values (IRIs and literals as text, numbers as int)."""
    out = []
    solutions = store_query(store, query)
    names = [v.value for v in solutions.variables]  # type: ignore[union-attr]
    for row in solutions:  # type: ignore[union-attr]
        item: dict[str, Any] = {}
        for name in names:
            term = row[name]
            if term is None:
                continue
            dt = getattr(term, "datatype", None)
            item[name] = int(term.value) if dt is not None and dt.value.endswith("#integer") else term.value
        out.append(item)
    return out


def _clean(attrs: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in attrs.items() if v is not None}


def _year(text: str | None) -> int | None:
    return int(text[:4]) if text and text[:4].isdigit() else None


# --------------------------------------------------------------------------- projections


def _add_genes(graph: nx.Graph, store: ox.Store, min_figures: int, **extra: Any) -> None:
    for r in _rows(store, _GENES % min_figures):
        graph.add_node(r["gene"], **_clean({
            "kind": "gene", "label": r.get("label", r.get("id", r["gene"].rsplit("/", 1)[-1])),
            "symbol": r.get("label"), "taxon": r.get("taxon"), "ncbigene": r.get("id"),
            "figures": r["figures"], **extra}))


def _set_degree(graph: nx.Graph) -> nx.Graph:
    nx.set_node_attributes(graph, dict(graph.degree()), "degree")
    return graph


def cooccurrence_graph(store: ox.Store, min_weight: int = 1) -> nx.Graph:
    """Gene–gene graph; edge ``weight`` = figures showing both genes (kept if >= ``min_weight``).

    Nodes are the genes shown in at least ``min_weight`` figures (isolated ones included)."""
    graph = nx.Graph(kind="cooccurrence", min_weight=min_weight)
    _add_genes(graph, store, min_weight)
    for r in _rows(store, _PAIRS % min_weight):
        graph.add_edge(r["a"], r["b"], weight=r["weight"])
    return _set_degree(graph)


def bipartite_graph(store: ox.Store, min_weight: int = 1) -> nx.Graph:
    """Figure–gene graph (``bipartite`` 0 = figure, 1 = gene); genes shown in fewer than
    ``min_weight`` figures, and figures left without genes, are dropped."""
    graph = nx.Graph(kind="bipartite", min_weight=min_weight)
    _add_genes(graph, store, min_weight, bipartite=1)
    for r in _rows(store, _FIGURES):
        graph.add_node(r["f"], **_clean({"kind": "figure", "bipartite": 0, "label": r.get("figid", r["f"]),
                                         "figid": r.get("figid"), "title": r.get("title"),
                                         "year": _year(r.get("year"))}))
    for r in _rows(store, _LINKS):
        if r["gene"] in graph:
            graph.add_edge(r["f"], r["gene"], weight=1)
    graph.remove_nodes_from([n for n, d in graph.nodes(data=True) if d["kind"] == "figure" and not graph.degree(n)])
    return _set_degree(graph)


def project(source: str | Path, kind: str = "cooccurrence", min_weight: int = 1) -> nx.Graph:
    """The networkx graph of ``kind`` ("cooccurrence" or "bipartite") from a store folder or dump."""
    if kind not in KINDS:
        raise ValueError(f"unknown network kind {kind!r} (choose from {', '.join(KINDS)})")
    if min_weight < 1:
        raise ValueError(f"min_weight must be at least 1, got {min_weight}")
    with open_source(source) as store:
        return (cooccurrence_graph if kind == "cooccurrence" else bipartite_graph)(store, min_weight)


def network_format(path: str | Path, format: str | None = None) -> str:
    """``graphml``, ``gexf`` or ``json``: ``format`` if given, else what ``path``'s extension says
    (``-``, standard output, needs ``format``)."""
    names = [ext[1:] for ext in NETWORK_FORMATS]
    if format is not None:
        if format.lower().lstrip(".") not in names:
            raise ValueError(f"unknown network format {format!r} (choose from {', '.join(names)})")
        return format.lower().lstrip(".")
    if is_stdout(path):
        raise ValueError(f"writing a network to standard output (-) needs a format: {', '.join(names)}")
    ext = Path(path).suffix.lower()
    if ext not in NETWORK_FORMATS:
        raise ValueError(f"cannot write a network as {Path(path).name!r}: use one of {', '.join(NETWORK_FORMATS)} "
                         f"(or give the format)")
    return ext[1:]


def write_network(graph: nx.Graph, path: str | Path, format: str | None = None) -> Path:
    """Write ``graph`` as GraphML, GEXF or node-link JSON (``format``, else by extension) to
    ``path``: atomically, ``-`` for standard output, a special file in place
    (:func:`kg.outputs.open_output`).  The JSON is what ``networkx.node_link_graph(data)``
    of the installed networkx reads with its defaults (:func:`node_link`)."""
    fmt = network_format(path, format)
    if fmt == "json":
        with open_output(path, "w") as fh:
            json.dump(node_link(graph), fh, ensure_ascii=False, indent=1)
            fh.write("\n")
    else:
        with open_output(path, "wb") as fh:
            (nx.write_graphml if fmt == "graphml" else nx.write_gexf)(graph, fh)
    return Path(path)


def export_network(source: str | Path, output: str | Path, *, kind: str = "cooccurrence", min_weight: int = 1,
                   format: str | None = None) -> nx.Graph:
    """``kg network``: :func:`project` ``source`` (a store folder or an RDF dump) and
    :func:`write_network` the graph to ``output``; returns the graph.  The output format is
    checked before the (slow) projection."""
    network_format(output, format)
    graph = project(source, kind=kind, min_weight=min_weight)
    write_network(graph, output, format)
    return graph


def node_link_edges_key() -> str:
    """The key ``networkx.node_link_graph`` of the installed networkx reads edges from by
    default: ``edges`` since networkx 3.4's change of default took effect, ``links`` before."""
    parameter = inspect.signature(nx.node_link_graph).parameters.get("edges")
    default = parameter.default if parameter is not None else None
    return default if isinstance(default, str) else "links"


def node_link(graph: nx.Graph) -> dict[str, Any]:
    """``graph`` as node-link data, its edges under :func:`node_link_edges_key`."""
    if "edges" in inspect.signature(nx.node_link_data).parameters:
        return nx.node_link_data(graph, edges=node_link_edges_key())
    return nx.node_link_data(graph)  # networkx < 3.4: "links", which its node_link_graph reads


# --------------------------------------------------------------------------- stats

_COUNTS = {
    "figures": "?x a kg:PathwayFigure",
    "papers": "?x a schema:ScholarlyArticle",
    "genes": "?x a kg:Gene",
    "chemicals": "?x a kg:Chemical",
    "diseases": "?x a kg:Disease",
    "organisms": "?x a kg:Organism",
    "mentions": "[] kg:hasMention ?x",
}
_TOP_GENES = PREFIXES + """
SELECT ?gene (MIN(?l) AS ?label) (COUNT(DISTINCT ?f) AS ?figures) WHERE {
  ?f kg:mentionsGene ?gene . OPTIONAL { ?gene rdfs:label ?l }
} GROUP BY ?gene ORDER BY DESC(?figures) ?label ?gene LIMIT %d"""
_TOP_ORGANISMS = PREFIXES + """
SELECT ?taxon (MIN(?l) AS ?label) (COUNT(DISTINCT ?f) AS ?figures) WHERE {
  ?f a kg:PathwayFigure ; wp:organism ?taxon . OPTIONAL { ?taxon rdfs:label ?l }
} GROUP BY ?taxon ORDER BY DESC(?figures) ?label ?taxon LIMIT %d"""
_YEARS = PREFIXES + """
SELECT ?year (COUNT(DISTINCT ?f) AS ?figures) WHERE {
  ?f a kg:PathwayFigure ; dcterms:isPartOf/fabio:hasPublicationYear ?y . BIND(STR(?y) AS ?year)
} GROUP BY ?year ORDER BY ?year"""


def stats(source: str | Path, top: int = 10) -> dict[str, Any]:
    """Headline counts, the ``top`` genes and organisms by figures, and figures per year;
    for a store folder also its graphs (:func:`kg.store.graphs`: the default graph queries
    read, then each named graph, loaded or kg's statistics, with its triple count)."""
    extra: dict[str, Any] = {}
    if Path(source).is_dir():
        from .store import graphs

        extra["graphs"] = graphs(source)
    with open_source(source) as store:
        counts = {name: _rows(store, f"{PREFIXES}SELECT (COUNT(DISTINCT ?x) AS ?n) WHERE {{ {pattern} }}")[0]["n"]
                  for name, pattern in _COUNTS.items()}
        counts["triples"] = _rows(store, "SELECT (COUNT(*) AS ?n) WHERE { SELECT DISTINCT ?s ?p ?o "
                                         "WHERE { ?s ?p ?o } }")[0]["n"]
        return {
            "counts": counts,
            "top_genes": _rows(store, _TOP_GENES % max(top, 0)),
            "top_organisms": _rows(store, _TOP_ORGANISMS % max(top, 0)),
            "figures_per_year": {r["year"]: r["figures"] for r in _rows(store, _YEARS)},
            **extra,
        }


def format_stats(result: dict[str, Any]) -> str:
    """``stats()`` as aligned text for the terminal."""
    lines = [f"{name:<10} {n:>9,}" for name, n in result["counts"].items()]
    for title, key, ident in (("top genes (figures)", "top_genes", "gene"),
                              ("top organisms (figures)", "top_organisms", "taxon")):
        lines += ["", title]
        lines += [f"  {r['figures']:>6,}  {r.get('label', ''):<24} {r[ident]}" for r in result[key]] or ["  (none)"]
    lines += ["", "figures per year"]
    lines += [f"  {year}  {n:>6,}" for year, n in result["figures_per_year"].items()] or ["  (none)"]
    if "graphs" in result:
        lines += ["", "graphs (triples)"]
        for g in result["graphs"]:
            what = (f"kg's graph of {g['figures']:,} figures, and every loaded graph" if g["graph"] == "default"
                    and g.get("figures") is not None else "")
            if g.get("files"):
                what = "loaded from " + ", ".join(g["files"].split("\n"))
            elif g["graph"] == STATISTICS_GRAPH:
                what = "kg's statistics"
            lines.append(f"  {g['triples']:>9,}  {g['graph']}" + (f": {what}" if what else ""))
    return "\n".join(lines)
