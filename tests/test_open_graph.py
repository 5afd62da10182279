"""kg.open_graph: an rdflib.Graph over the Oxigraph store (oxrdflib), read-only, no copy:
the same rows as ``kg query`` for every library query, triples that iterate as the Turtle
dump says, subsets that serialize, writes refused."""

from __future__ import annotations

import pyoxigraph as ox
import pytest
import rdflib
from rdflib.compare import isomorphic

import kg
from kg import vocab
from kg.errors import StoreError
from kg.query import bind_params, list_queries, run_query

from test_query_library import PARAMS  # one set of example parameters for the library
FIGURE = rdflib.URIRef(vocab.figure_iri("PMC10003241__ijms-24-04893-g003"))
MENTIONS_GENE = rdflib.URIRef(vocab.KG + "mentionsGene")


@pytest.fixture(scope="module")
def graph(sample_store):
    return kg.open_graph(sample_store)


@pytest.fixture(scope="module")
def dump(sample_ttl) -> rdflib.Graph:
    """The sample's Turtle dump parsed by rdflib itself: the reference."""
    return rdflib.Graph().parse(sample_ttl, format="turtle")


def as_ox(term) -> ox.NamedNode | ox.Literal | ox.BlankNode | None:
    """An rdflib term as the pyoxigraph term kg query returns."""
    if term is None:
        return None
    if isinstance(term, rdflib.URIRef):
        return ox.NamedNode(str(term))
    if isinstance(term, rdflib.BNode):
        return ox.BlankNode(str(term))
    if term.language:
        return ox.Literal(str(term), language=term.language)
    return ox.Literal(str(term), datatype=ox.NamedNode(str(term.datatype)) if term.datatype else None)


def test_open_graph_is_an_rdflib_graph_backed_by_the_store(graph, dump):
    from oxrdflib import OxigraphStore

    assert isinstance(graph, rdflib.Graph) and isinstance(graph.store, OxigraphStore)
    assert len(graph) == len(dump)  # the default graph: kg's whole graph, each triple once


# the WikiPathways queries need WikiPathways RDF beside the sample: tests/test_wikipathways.py
@pytest.mark.parametrize("query", [q for q in list_queries() if "WikiPathways" not in q.keywords], ids=lambda q: q.name)
def test_library_query_gives_the_rows_of_kg_query(graph, sample_store, query):
    params = {p: PARAMS[p] for p in query.params}
    if "gene" in params and "disease" in params:
        params["gene"] = "LRP6"
    expected = run_query(query.text, store=sample_store, params=params)
    assert expected.rows, query.name  # the comparison means something
    result = graph.query(bind_params(query.text, params))
    assert [str(v) for v in result.vars] == expected.variables
    rows = [{str(v): as_ox(value) for v, value in zip(result.vars, row) if value is not None} for row in result]
    assert rows == expected.rows  # same rows, same order (ORDER BY) and same terms


def test_kg_prefixes_need_no_declaration(graph, sample_store):
    text = "SELECT ?g (COUNT(?f) AS ?n) { ?f kg:mentionsGene ?g } GROUP BY ?g ORDER BY DESC(?n) ?g LIMIT 5"
    rows = [(as_ox(r[0]), as_ox(r[1])) for r in graph.query(text)]
    expected = run_query(text, store=sample_store)
    assert rows == [(r["g"], r["n"]) for r in expected.rows] and len(rows) == 5
    assert dict(graph.namespaces())["ncbigene"] == rdflib.URIRef(vocab.NCBIGENE)


def test_triples_iterate_as_the_dump_says(graph, dump):
    for pattern in ((FIGURE, None, None), (None, MENTIONS_GENE, None), (None, None, FIGURE)):
        assert set(graph.triples(pattern)) == set(dump.triples(pattern))
    assert set(graph.triples((FIGURE, None, None)))  # not vacuous
    assert graph.value(FIGURE, rdflib.URIRef(vocab.DCTERMS + "identifier")) == \
        rdflib.Literal("PMC10003241__ijms-24-04893-g003")


def test_a_subset_serializes(graph, dump, tmp_path):
    subset = rdflib.Graph()
    subset += graph.triples((FIGURE, None, None))
    text = subset.serialize(format="turtle")
    expected = rdflib.Graph()
    expected += dump.triples((FIGURE, None, None))
    assert isomorphic(rdflib.Graph().parse(data=text, format="turtle"), expected)
    construct = graph.query("CONSTRUCT { ?f kg:mentionsGene ?g } WHERE { ?f kg:mentionsGene ?g }")
    out = tmp_path / "genes.nt"
    construct.serialize(destination=str(out), format="nt")
    assert set(rdflib.Graph().parse(out, format="nt")) == set(dump.triples((None, MENTIONS_GENE, None)))


def test_read_only(graph, sample_store):
    before = len(graph)
    with pytest.raises(Exception):
        graph.add((FIGURE, MENTIONS_GENE, rdflib.URIRef(vocab.gene_iri("1"))))
    assert len(graph) == before
    assert len(kg.open_graph(sample_store)) == before


def test_missing_store_is_a_store_error(tmp_path):
    with pytest.raises(StoreError, match="no store"):
        kg.open_graph(tmp_path / "nowhere")


def test_named_graph(tmp_path):
    """``graph=IRI`` reads one named graph, e.g. one loaded with ``kg load --graph``."""
    dump = tmp_path / "extra.ttl"
    dump.write_text("<http://example.org/a> <http://example.org/b> \"c\" .\n", encoding="utf-8")
    store = tmp_path / "store"
    kg.load([dump], store, graph="http://example.org/g")
    named = kg.open_graph(store, graph="http://example.org/g")
    assert set(named) == {(rdflib.URIRef("http://example.org/a"), rdflib.URIRef("http://example.org/b"),
                           rdflib.Literal("c"))}
