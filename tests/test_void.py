"""The VoID/DCAT description a build writes with --void (kg.void)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from rdflib import Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCAT, DCTERMS, PROV, RDF, VOID, XSD

import kg
from conftest import rapper_check
from kg.pipeline import BuildReport, build, void_path
from kg.cli import main
from kg.records import discover
from kg.void import count_entities, write_void
from kg.vocab import CC0, KG as KG_NS, SCHEMA as SCHEMA_NS

KG = Namespace(KG_NS)
SCHEMA = Namespace(SCHEMA_NS)
COUNT_QUERY = """SELECT (COUNT(DISTINCT ?s) AS ?n) WHERE { ?s a ?cls }"""


def _dataset(g: Graph) -> URIRef:
    (dataset,) = set(g.subjects(RDF.type, VOID.Dataset))
    assert (dataset, RDF.type, DCAT.Dataset) in g
    return dataset


def _partitions(g: Graph, dataset: URIRef) -> dict[URIRef, int]:
    return {g.value(p, VOID["class"]): int(g.value(p, VOID.entities)) for p in g.objects(dataset, VOID.classPartition)}


def _expected_counts(rdf_file: Path) -> dict[URIRef, int]:
    data = Graph().parse(rdf_file)
    return {cls: int(next(iter(data.query(COUNT_QUERY, initBindings={"cls": cls})))[0])
            for cls in (KG.PathwayFigure, SCHEMA.ScholarlyArticle, KG.Gene)}


@pytest.fixture(scope="module")
def built(sample_dir, tmp_path_factory) -> tuple[Path, BuildReport, Graph]:
    out = tmp_path_factory.mktemp("void") / "sample.ttl"
    before = datetime.now(timezone.utc).replace(microsecond=0)
    report = build([sample_dir], out, void=True)
    assert report.rejected == 0
    void = Graph().parse(void_path(out), format="turtle")
    assert before <= datetime.fromisoformat(str(void.value(_dataset(void), DCTERMS.created))) <= \
        datetime.now(timezone.utc) + timedelta(seconds=1)
    return out, report, void


def test_void_describes_the_output(built):
    out, report, void = built
    dataset = _dataset(void)
    assert void_path(out) == Path(f"{out}.void.ttl")
    assert void.value(dataset, VOID.triples) == Literal(report.triples, datatype=XSD.integer)
    assert void.value(dataset, DCTERMS.source) == URIRef("https://pfocr.wikipathways.org/")
    assert void.value(dataset, DCTERMS.license) == URIRef(CC0)
    assert void.value(dataset, DCTERMS.created).datatype == XSD.dateTime
    assert str(void.value(dataset, DCTERMS.hasVersion)) == kg.__version__
    assert str(void.value(dataset, VOID.uriSpace)) == "https://pfocr.wikipathways.org/figures/"
    vocabularies = set(void.objects(dataset, VOID.vocabulary))
    assert {URIRef("https://w3id.org/pfocr-kg/vocab"), URIRef(SCHEMA_NS), URIRef("http://purl.org/dc/terms/")} \
        <= vocabularies
    assert void.value(dataset, VOID.dataDump) == URIRef(out.resolve().as_uri())
    dump = void.value(dataset, DCAT.distribution)
    assert (dump, RDF.type, DCAT.Distribution) in void
    assert int(void.value(dump, DCAT.byteSize)) == out.stat().st_size
    assert str(void.value(dump, DCAT.mediaType)).endswith("/text/turtle")


def test_void_provenance_names_the_kg_version(built):
    _, _, void = built
    activity = void.value(_dataset(void), PROV.wasGeneratedBy)
    assert (activity, RDF.type, PROV.Activity) in void
    software = void.value(activity, PROV.wasAssociatedWith)
    assert (software, RDF.type, PROV.SoftwareAgent) in void
    assert str(void.value(software, SCHEMA.softwareVersion)) == kg.__version__
    assert void.value(activity, PROV.startedAtTime) <= void.value(activity, PROV.endedAtTime)


def test_void_counts_figures_papers_genes(built):
    out, report, void = built
    counts = _partitions(void, _dataset(void))
    assert counts == _expected_counts(out)
    assert counts[KG.PathwayFigure] == report.converted == 35


@pytest.mark.parametrize("fmt", ["nt", "nq", "jsonld"])
def test_void_counts_in_every_format(built, sample_dir, tmp_path, fmt):
    out = tmp_path / f"sample.{fmt}"
    build([sample_dir], out, format=fmt, void=True)
    void = Graph().parse(void_path(out))
    assert _partitions(void, _dataset(void)) == _partitions(built[2], _dataset(built[2]))


def test_void_for_shards(built, sample_dir, tmp_path):
    out = tmp_path / "shards"
    build([sample_dir], out, format="nt", shard_lines=1000, void=True)
    void = Graph().parse(void_path(out))
    dataset = _dataset(void)
    shards = sorted(out.glob("part-*.nt.gz"))
    assert len(shards) > 1
    assert set(void.objects(dataset, VOID.dataDump)) == {URIRef(p.resolve().as_uri()) for p in shards}
    assert _partitions(void, dataset) == _partitions(built[2], _dataset(built[2]))


def test_cli_build_void(sample_dir, tmp_path):
    out = tmp_path / "cli.ttl"
    assert main(["build", str(sample_dir), "-o", str(out), "--void", "-q", "-j", "1"]) == 0
    void = Graph().parse(void_path(out))
    assert int(void.value(_dataset(void), VOID.triples)) > 5000


def test_void_parses_with_rapper(built):
    assert rapper_check(void_path(built[0]))[0] > 0


def test_count_entities(built):
    counts = count_entities(built[0])
    assert counts[str(KG.Gene)] == _expected_counts(built[0])[KG.Gene]


def test_failed_write_void_leaves_the_old_file(sample_dir, tmp_path):
    target = tmp_path / "out.void.ttl"
    target.write_text("old")
    with pytest.raises(OSError):
        write_void(target, BuildReport(), discover([sample_dir]), tmp_path / "missing.ttl")
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.void.ttl"]


def test_void_triples_count_the_file_when_a_store_is_built_too(sample_dir, tmp_path):
    out = tmp_path / "with-store.ttl"
    build([sample_dir], out, store=tmp_path / "store", void=True)
    void = Graph().parse(void_path(out))
    assert int(void.value(_dataset(void), VOID.triples)) == len(Graph().parse(out))
