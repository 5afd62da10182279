"""Child processes for ``benchmarks/run.py``; each prints one JSON line with its counts.

``floor CORPUS``        read every record, YAML-parse its front matter (C loader), read its TSVs
``naive CORPUS OUT``    map records into an in-memory rdflib Graph, serialize it as Turtle
``bulk NT STORE``       Oxigraph's own bulk loader on an N-Triples file
``queries STORE CORPUS [NAME...]``  run library queries (default: all) on a store, timing each
"""

from __future__ import annotations

import csv
import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

KINDS = ("genes", "chemicals", "diseases")


def records(corpus: Path) -> Iterator[tuple[Path, dict[str, Any], dict[str, list[list[str]]]]]:
    """(path, front matter, {kind: TSV rows without header}) of every record, in name order."""
    data = corpus / "_data"
    for path in sorted((corpus / "_figures").glob("*.md")):
        text = path.read_text("utf-8")
        fields = yaml.load(text.split("\n---", 1)[0][4:], Loader=yaml.CSafeLoader)
        tables = {}
        for kind in KINDS:
            table = data / f"{path.stem}-{kind}.tsv"
            if table.is_file():
                with open(table, encoding="utf-8", newline="") as fh:
                    tables[kind] = list(csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE))[1:]
        yield path, fields, tables


def floor(corpus: Path) -> dict[str, Any]:
    count = rows = 0
    for _, _, tables in records(corpus):
        count += 1
        rows += sum(len(t) for t in tables.values())
    return {"records": count, "rows": rows}


def naive(corpus: Path, out: Path) -> dict[str, Any]:
    """The straightforward rdflib way: roughly the triples kg makes, as rdflib terms in a Graph.

    Mention IRIs share one flat namespace: kg's ``<figure>#gene/<id>/<word>`` hash IRIs make
    rdflib's Turtle writer mint a prefix per figure and its namespace lookup goes quadratic
    (300 records: ~160 s, nearly all in ``NamespaceManager.get_longest_namespace``)."""
    from urllib.parse import quote

    from rdflib import RDF, RDFS, XSD, Graph, Literal, Namespace, URIRef
    from rdflib.namespace import DCTERMS

    KG, SCHEMA, WP = Namespace("https://w3id.org/pfocr-kg/vocab#"), Namespace("http://schema.org/"), \
        Namespace("http://vocabularies.wikipathways.org/wp#")
    GENE, TAXON, MESH = Namespace("https://identifiers.org/ncbigene/"), \
        Namespace("http://purl.obolibrary.org/obo/NCBITaxon_"), Namespace("http://id.nlm.nih.gov/mesh/")
    na = {None, "", "NA", ".na.character"}
    g = Graph()
    for prefix, ns in (("kg", KG), ("schema", SCHEMA), ("wp", WP), ("ncbigene", GENE), ("mesh", MESH)):
        g.bind(prefix, ns)
    count = 0
    for _, f, tables in records(corpus):
        count += 1
        fig = URIRef(f"https://pfocr.wikipathways.org/figures/{f['figid']}.html")
        mentions = f"https://pfocr.wikipathways.org/mentions/{f['figid']}"
        paper = URIRef(f"https://identifiers.org/pmc/{f['pmcid']}")
        g.add((fig, RDF.type, KG.PathwayFigure))
        g.add((fig, RDF.type, URIRef("http://purl.org/spar/fabio/Figure")))
        g.add((fig, RDFS.label, Literal(str(f["figtitle"]))))
        g.add((fig, DCTERMS.identifier, Literal(f["figid"])))
        g.add((fig, DCTERMS.isPartOf, paper))
        for key, prop in (("figtitle", DCTERMS.title), ("caption", SCHEMA.caption), ("number", KG.figureNumber),
                          ("figtype", KG.figureType), ("filename", KG.imageFileName)):
            if f.get(key) not in na:
                g.add((fig, prop, Literal(str(f[key]))))
        g.add((paper, RDF.type, SCHEMA.ScholarlyArticle))
        for key, prop in (("papertitle", DCTERMS.title), ("reftext", DCTERMS.bibliographicCitation),
                          ("journal_title", KG.journalTitle), ("doi", URIRef("http://purl.org/ontology/bibo/doi"))):
            if f.get(key) not in na:
                g.add((paper, prop, Literal(str(f[key]))))
        g.add((paper, URIRef("http://purl.org/spar/fabio/hasPublicationYear"), Literal(f["year"], datatype=XSD.gYear)))
        block = f.get("schema-jsonld") or {}
        g.add((fig, SCHEMA.description, Literal(str(block.get("description", "")))))
        for word in block.get("keywords") or []:
            g.add((fig, SCHEMA.keywords, Literal(str(word))))
        rows = [(r[3], r[6], r[5], r[0], r[4], r[7]) for r in tables.get("genes", [])]
        rows += [(x["word"], x["entrez"], x["hgnc_symbol"], "9606", x["symbol"], x["source"])
                 for x in f.get("genes") or []]
        for word, gid, symbol, taxid, match, source in rows:
            gene = GENE[str(gid)]
            mention = URIRef(f"{mentions}-gene-{gid}-{quote(str(word), safe='')}")
            g.add((fig, KG.mentionsGene, gene))
            g.add((fig, KG.hasMention, mention))
            g.add((mention, RDF.type, KG.GeneMention))
            g.add((mention, KG.ocrWord, Literal(str(word))))
            g.add((mention, KG.matchedText, Literal(str(match))))
            g.add((mention, KG.matchSource, Literal(str(source))))
            g.add((mention, KG.refersTo, gene))
            g.add((gene, RDF.type, KG.Gene))
            g.add((gene, RDF.type, WP.GeneProduct))
            g.add((gene, WP.bdbEntrezGene, gene))
            g.add((fig, WP.organism, TAXON[str(taxid)]))
            g.add((gene, DCTERMS.identifier, Literal(str(gid))))
            g.add((gene, RDFS.label, Literal(str(symbol))))
            g.add((gene, KG.symbol, Literal(str(symbol))))
            g.add((gene, WP.organism, TAXON[str(taxid)]))
        for kind in ("chemicals", "diseases"):
            terms = [(r[0], r[1][5:]) for r in tables.get(kind, [])]
            terms += [(x["word"], x["identifier"]) for x in f.get(kind) or []]
            for word, mesh in terms:
                node = MESH[mesh]
                mention = URIRef(f"{mentions}-{kind[:-1]}-{mesh}-{quote(str(word), safe='')}")
                g.add((fig, KG.mentionsChemical if kind == "chemicals" else KG.mentionsDisease, node))
                g.add((fig, KG.hasMention, mention))
                g.add((mention, KG.ocrWord, Literal(str(word))))
                g.add((mention, KG.refersTo, node))
    with open(out, "wb") as fh:
        g.serialize(fh, format="turtle")
    return {"records": count, "triples": len(g)}


def bulk(nt: Path, store: Path) -> dict[str, Any]:
    import pyoxigraph as ox

    s = ox.Store(str(store))
    s.bulk_load(path=str(nt), format=ox.RdfFormat.N_TRIPLES)
    s.flush()
    return {}


def queries(store: Path, corpus: Path, *names: Path) -> dict[str, Any]:
    """Time library queries (parameters bound to values that occur in ``corpus``)."""
    from kg.query import declared_params, list_queries, run_query

    params = sample_params(corpus)
    timings: dict[str, Any] = {}
    for q in list_queries():
        if names and Path(q.name) not in names:
            continue
        bound = {p: params[p] for p in declared_params(q.text) if p in params}
        started = time.perf_counter()
        try:
            result = run_query(q.name, store=store, params=bound)  # by name: its statistics variant if any
            rows: Any = len(result.rows) if result.boolean is None else result.boolean
        except Exception as exc:  # noqa: BLE001 - report, keep timing the others
            rows = f"error: {exc}"
        timings[q.name] = {"seconds": round(time.perf_counter() - started, 4), "rows": rows}
    return {"queries": timings}


def sample_params(corpus: Path) -> dict[str, str]:
    """Query parameters taken from the first record that has gene, chemical and disease tables."""
    data = corpus / "_data"
    for genes in sorted(data.glob("*-genes.tsv")):
        figid = genes.name[: -len("-genes.tsv")]
        chem, dis = data / f"{figid}-chemicals.tsv", data / f"{figid}-diseases.tsv"
        if chem.is_file() and dis.is_file():
            symbols = [r.split("\t")[5] for r in genes.read_text("utf-8").splitlines()[1:]]
            return {"figure": figid, "gene": symbols[0], "symbols": ",".join(dict.fromkeys(symbols[:2])),
                    "chemical": chem.read_text("utf-8").splitlines()[1].split("\t")[1],
                    "disease": dis.read_text("utf-8").splitlines()[1].split("\t")[1]}
    return {}


def main(argv: list[str]) -> None:
    command, *args = argv
    started = time.perf_counter()
    result = {"floor": floor, "naive": naive, "bulk": bulk, "queries": queries}[command](*map(Path, args))
    result["inner_seconds"] = round(time.perf_counter() - started, 3)
    print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1:])
