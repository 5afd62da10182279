"""Crafted inputs found by attacking kg on purpose: two records claiming one figure IRI, and
IRIs that pyoxigraph's parsers would refuse.  Every output must re-parse; every reject is
named (file, field, reason)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pyoxigraph as ox
import pytest
import rdflib

from conftest import SAMPLE
from kg.pipeline import build
from kg.vocab import check_iri

ONE = "PMC10003241__ijms-24-04893-g003"
OTHER = "PMC10299676__ijms-24-10290-g001"


@pytest.fixture
def corpus(tmp_path) -> Path:
    root = tmp_path / "corpus"
    (root / "_figures").mkdir(parents=True)
    (root / "_data").mkdir()
    for figid in (ONE, OTHER):
        shutil.copy(SAMPLE / "_figures" / f"{figid}.md", root / "_figures")
        for table in (SAMPLE / "_data").glob(f"{figid}-*.tsv"):
            shutil.copy(table, root / "_data")
    return root


def rejects_of(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_two_records_claiming_one_jsonld_id_second_is_rejected(corpus, tmp_path):
    text = (corpus / "_figures" / f"{ONE}.md").read_text()
    copy = "PMC10003241__zz-copied-page"  # sorts after ONE: read second
    (corpus / "_figures" / f"{copy}.md").write_text(text.replace(f"figid: {ONE}", f"figid: {copy}"))
    out, rejects = tmp_path / "g.nt", tmp_path / "r.jsonl"
    report = build([corpus], out, rejects=rejects)
    assert report.rejected == 1
    [item] = [r for r in rejects_of(rejects) if r.get("level", "error") == "error"]
    assert Path(item["file"]).name == f"{copy}.md" and item["field"] == "schema-jsonld"
    assert "duplicate figure IRI" in item["reason"] and f"{ONE}.md" in item["reason"]
    figure = f"https://pfocr.wikipathways.org/figures/{ONE}.html"
    ids = [q.object.value for q in ox.parse(path=str(out), format=ox.RdfFormat.N_TRIPLES)
           if q.subject.value == figure and q.predicate.value.endswith("/identifier")]
    assert ids == [ONE]  # never merged into one figure with two identifiers


@pytest.mark.parametrize("iri", ["http://x.org/%zz", "http://[::1/x", "http://x.org:abc/p", "http://x.org/\uFFFF",
                                 "http://x.org/a b", "http://x.org/<x>"])
def test_malformed_iris_are_refused(iri):
    with pytest.raises(ValueError, match="IRI"):
        check_iri(iri)


@pytest.mark.parametrize("figlink", ["'http://x.org/%zz'", "'http://[::1/x'", "'http://x.org:abc/p'",
                                     '"http://x.org/\\uFFFF"'])
@pytest.mark.parametrize("fmt", ["nt", "nq", "ttl"])
def test_malformed_figlink_never_reaches_the_output(corpus, tmp_path, figlink, fmt):
    path = corpus / "_figures" / f"{ONE}.md"
    text = path.read_text()
    path.write_text(text.replace("figlink: /pmc/articles/PMC10003241/figure/ijms-24-04893-f003/",
                                 f"figlink: {figlink}"))
    out, rejects = tmp_path / f"g.{fmt}", tmp_path / "r.jsonl"
    build([corpus], out, rejects=rejects)
    items = rejects_of(rejects)
    assert [i["field"] for i in items] == ["figlink"], items
    assert Path(items[0]["file"]).name == f"{ONE}.md" and items[0]["line"] == 11
    rdf = {"nt": ox.RdfFormat.N_TRIPLES, "nq": ox.RdfFormat.N_QUADS, "ttl": ox.RdfFormat.TURTLE}[fmt]
    quads = list(ox.parse(path=str(out), format=rdf))
    graph = rdflib.Dataset() if fmt == "nq" else rdflib.Graph()
    graph.parse(str(out), format={"nt": "nt", "nq": "nquads", "ttl": "turtle"}[fmt])
    assert len(quads) == len(graph)
    assert "x.org" not in out.read_text()
