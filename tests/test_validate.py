"""SHACL validation (kg.validate, `kg validate`) and the vocabulary in ontologies/kg.ttl."""

from __future__ import annotations

import subprocess
import sys
from importlib import resources
from pathlib import Path
from typing import Callable

import pytest
from rdflib import Graph, Literal, Namespace, URIRef
from rdflib.namespace import OWL, RDF, RDFS, XSD

import kg
from conftest import rapper_check
from kg import mapping
from kg.pipeline import build
from kg.cli import main
from kg.errors import KgError
from kg.validate import ValidationResult, default_shapes, load_graph, validate
from kg.vocab import CC0, KG as KG_NS

KG = Namespace(KG_NS)
DCTERMS = Namespace("http://purl.org/dc/terms/")
SCHEMA = Namespace("http://schema.org/")
FABIO = Namespace("http://purl.org/spar/fabio/")
WP = Namespace("http://vocabularies.wikipathways.org/wp#")
SKOS = Namespace("http://www.w3.org/2004/02/skos/core#")
NCBIGENE = Namespace("https://identifiers.org/ncbigene/")
ONTOLOGIES = Path(str(resources.files("kg.ontologies")))
#: A record with genes, chemicals (one with a ChEBI match) and a disease.
RICH_RECORD = "PMC10003241__ijms-24-04893-g003.md"
FIGURE = URIRef("https://pfocr.wikipathways.org/figures/PMC10003241__ijms-24-04893-g003.html")
PAPER = URIRef("https://identifiers.org/pmc/PMC10003241")
NOT_A_PURL = URIRef("http://identifiers.org/taxonomy/9606")


@pytest.fixture(scope="module")
def one_figure(sample_dir, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("one") / "one.ttl"
    report = build([sample_dir / "_figures" / RICH_RECORD], out)
    assert report.rejected == 0
    return out


@pytest.fixture(scope="module")
def one_graph(one_figure) -> Graph:
    return Graph().parse(one_figure)


# --------------------------------------------------------------------------- conforming data


def test_sample_conforms(sample_ttl):
    result = validate(sample_ttl)
    assert isinstance(result, ValidationResult)
    assert result.conforms, result.text()
    assert result.violations == []
    triples = len(Graph().parse(sample_ttl))
    assert result.text() == f"conforms: {triples} triples, 0 violations"


@pytest.mark.parametrize("fmt", ["nt", "nq", "jsonld"])
def test_every_format_conforms(sample_dir, one_figure, tmp_path, fmt):
    out = tmp_path / f"one.{fmt}"
    build([sample_dir / "_figures" / RICH_RECORD], out, format=fmt)
    result = validate(out)
    assert result.conforms, result.text()
    assert result.triples == len(Graph().parse(one_figure))  # N-Quads: the figure's graph merged


def test_cli_validate_sample(sample_ttl, capsys):
    assert main(["validate", str(sample_ttl)]) == 0
    assert capsys.readouterr().out.strip().startswith("conforms: ")


def test_cli_validate_subprocess(one_figure, tmp_path, one_graph):
    run = subprocess.run([sys.executable, "-m", "kg.cli", "validate", str(one_figure)],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip().endswith(" 0 violations")
    broken = _write(_edited(one_graph, lambda g: g.remove((FIGURE, KG.recordDigest, None))), tmp_path)
    run = subprocess.run([sys.executable, "-m", "kg.cli", "validate", str(broken)],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 1
    assert "kg:recordDigest" in run.stdout
    assert run.stdout.strip().splitlines()[-1].startswith("does not conform: 1 violation ")


def test_explicit_shapes_argument(one_figure):
    assert validate(one_figure, shapes=ONTOLOGIES / "shapes.ttl").conforms
    assert default_shapes().is_file()


# --------------------------------------------------------------------------- broken data

Edit = Callable[[Graph], None]


def _edited(graph: Graph, edit: Edit) -> Graph:
    copy = Graph()
    for t in graph:
        copy.add(t)
    edit(copy)
    return copy


def _write(graph: Graph, folder: Path, name: str = "broken.ttl") -> Path:
    path = folder / name
    graph.serialize(path, format="turtle")
    return path


def _mentions(g: Graph, cls: URIRef) -> list[URIRef]:
    return sorted(g.subjects(RDF.type, cls))


def _rename(g: Graph, old: URIRef, new: URIRef) -> None:
    for s, p, o in list(g):
        if old in (s, o):
            g.remove((s, p, o))
            g.add((new if s == old else s, p, new if o == old else o))


def _a_gene(g: Graph) -> URIRef:
    return sorted(g.subjects(RDF.type, KG.Gene))[0]


def _a_chemical(g: Graph) -> URIRef:
    return sorted(g.subjects(RDF.type, KG.Chemical))[0]


def _set(g: Graph, s, p, o) -> None:
    g.set((s, p, o))


BROKEN: dict[str, tuple[Edit, str]] = {
    # figure
    "figure IRI with a fragment": (lambda g: _rename(g, FIGURE, URIRef(f"{FIGURE}#fig")),
                                   "a figure must be an http(s) IRI without '#'"),
    "figure not a fabio:Figure": (lambda g: g.remove((FIGURE, RDF.type, FABIO.Figure)), "typed fabio:Figure"),
    "no record digest": (lambda g: g.remove((FIGURE, KG.recordDigest, None)), "path kg:recordDigest: a figure needs"),
    "bad record digest": (lambda g: _set(g, FIGURE, KG.recordDigest, Literal("md5:abc")), "kg:recordDigest"),
    "two identifiers": (lambda g: g.add((FIGURE, DCTERMS.identifier, Literal("other"))), "path dcterms:identifier"),
    "no identifier": (lambda g: g.remove((FIGURE, DCTERMS.identifier, None)), "exactly one dcterms:identifier"),
    "score not decimal": (lambda g: _set(g, FIGURE, KG.automlPathwayScore, Literal("high")),
                          "kg:automlPathwayScore must be at most one xsd:decimal"),
    "two scores": (lambda g: g.add((FIGURE, KG.automlPathwayScore, Literal("0.5", datatype=XSD.decimal))),
                   "path kg:automlPathwayScore"),
    "paper untyped": (lambda g: g.remove((PAPER, RDF.type, SCHEMA.ScholarlyArticle)), "path dcterms:isPartOf"),
    "two papers": (lambda g: (g.add((FIGURE, DCTERMS.isPartOf, URIRef("https://identifiers.org/pmc/PMC1"))),
                              g.add((URIRef("https://identifiers.org/pmc/PMC1"), RDF.type, SCHEMA.ScholarlyArticle)),
                              g.add((URIRef("https://identifiers.org/pmc/PMC1"), DCTERMS.identifier, Literal("PMC1")))),
                   "dcterms:isPartOf must be at most one paper"),
    "gene link to non-gene": (lambda g: g.add((FIGURE, KG.mentionsGene, URIRef("http://example.org/x"))),
                              "kg:mentionsGene values must be kg:Gene"),
    "organism not a taxon PURL": (lambda g: (g.add((FIGURE, KG.nerOrganism, NOT_A_PURL)),
                                             g.add((NOT_A_PURL, RDF.type, KG.Organism))),
                                  "kg:nerOrganism values must be kg:Organism"),
    "bad ndex id": (lambda g: g.add((FIGURE, KG.ndexId, Literal("not-a-uuid"))), "kg:ndexId"),
    "gene link without mention": (lambda g: g.remove((None, KG.refersTo, _a_gene(g))),
                                  "path kg:mentionsGene: the figure links to an entity that none of its mention"),
    # paper
    "year not a gYear": (lambda g: _set(g, PAPER, FABIO.hasPublicationYear, Literal("2023")),
                         "path fabio:hasPublicationYear"),
    "year ill-formed": (lambda g: _set(g, PAPER, FABIO.hasPublicationYear, Literal("20x3", datatype=XSD.gYear)),
                        "four digits"),
    "two years": (lambda g: g.add((PAPER, FABIO.hasPublicationYear, Literal("1999", datatype=XSD.gYear))),
                  "path fabio:hasPublicationYear"),
    "sameAs not a DOI IRI": (lambda g: _set(g, PAPER, SCHEMA.sameAs, URIRef("http://dx.doi.org/10.3390/x")),
                             "schema:sameAs of a paper must be a DOI IRI"),
    "paper IRI not PMC": (lambda g: _rename(g, PAPER, URIRef("https://doi.org/10.3390/ijms24054893")),
                          "a paper IRI must be"),
    # gene
    "gene IRI not numeric": (lambda g: _rename(g, _a_gene(g), NCBIGENE["GNAQ"]), "a gene IRI must be"),
    "gene label with language": (lambda g: _set(g, _a_gene(g), RDFS.label, Literal("X", lang="en")),
                                 "a gene's rdfs:label must be a plain string"),
    "gene organism not a PURL": (lambda g: _set(g, _a_gene(g), WP.organism, NOT_A_PURL),
                                 "a gene's wp:organism must be"),
    # organism, chemical, disease
    "organism IRI": (lambda g: g.add((NOT_A_PURL, RDF.type, KG.Organism)),
                     "an organism IRI must be"),
    "chemical IRI": (lambda g: _rename(g, _a_chemical(g), URIRef("http://purl.obolibrary.org/obo/CHEBI_1")),
                     "a chemical IRI must be"),
    "chemical xref": (lambda g: g.add((_a_chemical(g), SKOS.closeMatch, URIRef("http://example.org/c"))),
                      "a chemical's skos:closeMatch must be a ChEBI PURL"),
    "disease xref": (lambda g: g.add((sorted(g.subjects(RDF.type, KG.Disease))[0], SKOS.closeMatch,
                                      URIRef("http://purl.obolibrary.org/obo/CHEBI_1"))),
                     "Disease Ontology PURL"),
    # mentions
    "mention with an empty word": (lambda g: _set(g, _mentions(g, KG.GeneMention)[0], KG.ocrWord, Literal("")),
                                   "a mention has at most one kg:ocrWord, never empty"),
    "mention with two words": (lambda g: g.add((_mentions(g, KG.GeneMention)[0], KG.ocrWord, Literal("other"))),
                               "path kg:ocrWord"),
    "mention refers to a literal": (lambda g: g.add((_mentions(g, KG.ChemicalMention)[0], KG.refersTo, Literal("x"))),
                                    "kg:refersTo values must be IRIs"),
    "gene mention refers to a non-gene": (lambda g: g.add((_mentions(g, KG.GeneMention)[0], KG.refersTo,
                                                            URIRef("http://example.org/x"))),
                                          "a gene mention refers to at most one kg:Gene"),
    "mention IRI without #": (lambda g: _rename(g, _mentions(g, KG.GeneMention)[0], URIRef("http://example.org/m")),
                              "a mention IRI must be its figure's IRI"),
    "mention IRI with two #": (lambda g: _rename(g, _mentions(g, KG.GeneMention)[0], URIRef(f"{FIGURE}#a#b")),
                               "(one '#')"),
    "mention under another figure": (lambda g: _rename(g, _mentions(g, KG.GeneMention)[0],
                                                       URIRef("https://pfocr.wikipathways.org/figures/X.html#gene/1/x")),
                                     "path kg:hasMention: a mention of the figure is not minted under"),
    "orphan mention": (lambda g: g.remove((FIGURE, KG.hasMention, _mentions(g, KG.DiseaseMention)[0])),
                       "path ^kg:hasMention: a mention must belong to exactly one figure"),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_broken_data_fails(case, one_graph, tmp_path):
    edit, expected = BROKEN[case]
    result = validate(_write(_edited(one_graph, edit), tmp_path))
    text = result.text()
    assert not result.conforms
    assert result.violations
    assert expected in text, text
    lines = text.splitlines()
    assert lines[-1].startswith(f"does not conform: {len(result.violations)} violation")
    assert all(line.startswith("focus ") for line in lines[:-1])
    assert all(v.severity == "Violation" and v.constraint.endswith("Component") for v in result.violations)


def test_violation_fields(one_graph, tmp_path):
    broken = _edited(one_graph, lambda g: _set(g, FIGURE, KG.automlPathwayScore, Literal("high")))
    (violation,) = validate(_write(broken, tmp_path)).violations
    assert violation.focus == f"<{FIGURE}>"
    assert violation.path == "kg:automlPathwayScore"
    assert violation.constraint == "DatatypeConstraintComponent"
    assert violation.value == '"high"'
    assert violation.line().startswith(f"focus <{FIGURE}> path kg:automlPathwayScore: ")


def test_cli_broken_data_exit_1(one_graph, tmp_path, capsys):
    broken = _write(_edited(one_graph, lambda g: g.remove((FIGURE, KG.recordDigest, None))), tmp_path)
    assert main(["validate", str(broken)]) == 1
    assert "does not conform: 1 violation" in capsys.readouterr().out


# --------------------------------------------------------------------------- bad input


def test_missing_file(tmp_path, capsys):
    with pytest.raises(FileNotFoundError, match="no such RDF file"):
        validate(tmp_path / "nope.ttl")
    assert main(["validate", str(tmp_path / "nope.ttl")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("kg: no such RDF file") and err.count("\n") == 1


@pytest.mark.parametrize("name, text", [("bad.ttl", "<a> <b> ."), ("bad.nt", "<http://x/a> <http://x/b> \"c .\n"),
                                        ("bad.nq", "nonsense\n"), ("bad.jsonld", "{not json")])
def test_unparsable_file(tmp_path, capsys, name, text):
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(KgError, match=f"cannot parse .*{name}"):
        validate(path)
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("kg: cannot parse") and err.count("\n") == 1


def test_jsonld_remote_context_is_not_fetched(tmp_path):
    path = tmp_path / "remote.jsonld"
    path.write_text('{"@context": "https://example.org/context.jsonld", "@id": "http://x/a", "name": "n"}')
    with pytest.raises(KgError, match="cannot parse"):
        validate(path)  # the loopback guard fails the test if anything is fetched


# --------------------------------------------------------------------------- the vocabulary and the shapes


@pytest.fixture(scope="module")
def vocabulary() -> Graph:
    return Graph().parse(ONTOLOGIES / "kg.ttl")


def _kg_terms(graph: Graph) -> set[URIRef]:
    return {node for triple in graph for node in triple if isinstance(node, URIRef) and str(node).startswith(KG_NS)}


def _mapping_terms() -> set[URIRef]:
    classes = [*mapping.T_FIGURE, *mapping.T_GENE, *mapping.T_CHEMICAL, mapping.T_DISEASE, mapping.T_ORGANISM,
               *mapping.T_MENTION.values(), *mapping.K.values()]
    return {URIRef(t.strip("<>")) for t in classes if t.strip("<>").startswith(KG_NS)}


def _assert_defined(vocabulary: Graph, term: URIRef) -> None:
    assert vocabulary.value(term, RDFS.label) is not None, f"{term} has no rdfs:label"
    assert vocabulary.value(term, RDFS.comment) is not None, f"{term} has no rdfs:comment"
    kinds = set(vocabulary.objects(term, RDF.type))
    if OWL.Class in kinds:
        return
    assert kinds & {OWL.ObjectProperty, OWL.DatatypeProperty}, f"{term} is neither a class nor a property"
    assert (vocabulary.value(term, RDFS.domain) is not None) or (vocabulary.value(term, RDFS.range) is not None), \
        f"{term} has neither rdfs:domain nor rdfs:range"


def test_every_kg_term_of_the_sample_is_defined(sample_ttl, vocabulary):
    used = _kg_terms(Graph().parse(sample_ttl))
    assert len(used) > 30
    for term in sorted(used):
        _assert_defined(vocabulary, term)


def test_vocabulary_matches_the_mapping(vocabulary):
    emitted = _mapping_terms() | {KG.Mention}
    defined = {s for s in vocabulary.subjects(RDFS.label, None) if str(s).startswith(KG_NS)}
    assert emitted == defined
    for term in emitted:
        _assert_defined(vocabulary, term)


def test_vocabulary_properties_have_domain_and_range(vocabulary):
    for kind in (OWL.ObjectProperty, OWL.DatatypeProperty):
        for prop in vocabulary.subjects(RDF.type, kind):
            assert vocabulary.value(prop, RDFS.domain) is not None, prop
            rng = vocabulary.value(prop, RDFS.range)
            assert rng is not None, prop
            if kind == OWL.DatatypeProperty:
                assert str(rng).startswith(str(XSD)), prop


def test_vocabulary_links_to_reused_vocabularies(vocabulary):
    assert (KG.PathwayFigure, RDFS.subClassOf, FABIO.Figure) in vocabulary
    assert (KG.Gene, RDFS.subClassOf, WP.GeneProduct) in vocabulary
    for mention in (KG.GeneMention, KG.ChemicalMention, KG.DiseaseMention):
        assert (mention, RDFS.subClassOf, KG.Mention) in vocabulary
    for prop in (KG.metadataOrganism, KG.nerOrganism, KG.tableOrganism):
        assert (prop, RDFS.subPropertyOf, WP.organism) in vocabulary
    assert vocabulary.value(KG.automlPathwayScore, RDFS.range) == XSD.decimal
    assert vocabulary.value(KG.pmcRankedResultIndex, RDFS.range) == XSD.integer


def test_ontology_header(vocabulary):
    (onto,) = vocabulary.subjects(RDF.type, OWL.Ontology)
    assert str(onto) == KG_NS.rstrip("#")
    assert vocabulary.value(onto, DCTERMS.title) is not None
    assert str(vocabulary.value(onto, OWL.versionInfo)) == "0.1.0" == kg.__version__
    assert vocabulary.value(onto, DCTERMS.license) == URIRef(CC0)


@pytest.mark.parametrize("name", ["kg.ttl", "shapes.ttl"])
def test_ontology_files_parse(name):
    path = ONTOLOGIES / name
    assert len(Graph().parse(path, format="turtle")) > 100
    assert len(load_graph(path)) > 100
    messages = rapper_check(path)[1]
    assert "Error" not in messages and "Warning" not in messages, messages


def test_shapes_are_valid_shacl(one_figure):
    from pyshacl import validate as shacl_validate

    shapes = Graph().parse(ONTOLOGIES / "shapes.ttl")
    conforms, _, text = shacl_validate(Graph().parse(one_figure), shacl_graph=shapes, meta_shacl=True,
                                       inference="none")
    assert conforms, text


def test_nquads_graphs_are_merged(tmp_path):
    path = tmp_path / "two-graphs.nq"
    path.write_text('<http://x/a> <http://x/p> "v" <http://x/g1> .\n<http://x/a> <http://x/p> "v" <http://x/g2> .\n'
                    '<http://x/a> <http://x/q> "w" .\n')
    result = validate(path)
    assert result.conforms and result.triples == 2


def test_bad_shapes_file(one_figure, tmp_path):
    with pytest.raises(FileNotFoundError):
        validate(one_figure, shapes=tmp_path / "none.ttl")
    shapes = tmp_path / "shapes.ttl"
    shapes.write_text('@prefix sh: <http://www.w3.org/ns/shacl#> .\n'
                      '<http://x/S> a sh:NodeShape ; sh:targetNode <http://x/a> ;\n'
                      '  sh:sparql [ sh:select "SELECT $this WHERE { VALUES ?x { 1 } }" ] .\n')
    with pytest.raises(KgError, match="cannot validate with"):
        validate(one_figure, shapes=shapes)
