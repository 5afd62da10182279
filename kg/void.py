"""A VoID + DCAT description of a build's output (``kg build ... --void``).

The description names the output as a ``void:Dataset``/``dcat:Dataset`` with its size and
class partitions (figures, papers, genes; both counted by reading the output back with
pyoxigraph), source, licence, build time and the ``kg`` version that made it.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pyoxigraph as ox
from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCAT, DCTERMS, PROV, RDF, RDFS, VOID, XSD

from . import __version__
from .pipeline import BuildReport
from .records import RecordSource
from .formats import for_path
from .outputs import open_output
from .vocab import CC0, KG, PFOCR_FIGURES, PREFIXES, SCHEMA

PFOCR_SITE = "https://pfocr.wikipathways.org/"
KG_SOFTWARE = "https://w3id.org/pfocr-kg/software/kg"
MEDIA_TYPES = {"turtle": "text/turtle", "nt": "application/n-triples", "nq": "application/n-quads",
               "jsonld": "application/ld+json"}
FORMAT_FEATURES = {
    "turtle": "http://www.w3.org/ns/formats/Turtle",
    "nt": "http://www.w3.org/ns/formats/N-Triples",
    "nq": "http://www.w3.org/ns/formats/N-Quads",
    "jsonld": "http://www.w3.org/ns/formats/JSON-LD",
}
#: Classes counted as ``void:classPartition``s: (class IRI, label).
COUNTED = ((KG + "PathwayFigure", "figures"), (SCHEMA + "ScholarlyArticle", "papers"), (KG + "Gene", "genes"))
#: Vocabularies the mapping uses (``void:vocabulary``).
VOCABULARIES = ("rdf", "rdfs", "xsd", "skos", "dcterms", "dc", "schema", "fabio", "bibo", "wp", "kg")


def _files(output: Path) -> Iterator[Path]:
    """The RDF files of ``output``: the file itself, or the shards of a folder."""
    if output.is_dir():
        from .sinks.shards import own_files

        yield from (output / name for name in own_files(output))
    else:
        yield output


def _quads(file: Path) -> Iterator[ox.Quad]:
    """The quads of one RDF file (optionally gzipped), streamed."""
    fmt = for_path(file).rdf
    if file.name.lower().endswith(".gz"):
        with gzip.open(file, "rb") as fh:
            yield from ox.parse(fh, format=fmt)
    else:
        yield from ox.parse(path=str(file), format=fmt)


def scan(output: str | Path) -> tuple[int, dict[str, int]]:
    """Statements in ``output`` (triples, or quads for N-Quads) and the distinct subjects
    typed with each :data:`COUNTED` class (in any graph)."""
    subjects: dict[str, set[str]] = {cls: set() for cls, _ in COUNTED}
    rdf_type = ox.NamedNode(str(RDF.type))
    statements = 0
    for file in _files(Path(output)):
        for quad in _quads(file):
            statements += 1
            if quad.predicate == rdf_type and isinstance(quad.object, ox.NamedNode):
                bucket = subjects.get(quad.object.value)
                if bucket is not None:
                    bucket.add(str(quad.subject))
    return statements, {cls: len(found) for cls, found in subjects.items()}


def count_entities(output: str | Path) -> dict[str, int]:
    """Distinct subjects typed with each :data:`COUNTED` class in ``output``."""
    return scan(output)[1]


def void_graph(report: BuildReport, found: Sequence[RecordSource], output: str | Path,
               created: datetime | None = None) -> Graph:
    """The VoID/DCAT description of ``output`` as an rdflib graph."""
    output = Path(output).resolve()
    created = created or datetime.now(timezone.utc).replace(microsecond=0)
    fmt = for_path(next(_files(output), output)).name
    statements, counts = scan(output)
    g = Graph()
    for name, namespace in PREFIXES.items():
        g.bind(name, namespace, replace=True)
    dataset = URIRef(output.as_uri() + "#dataset")
    software = URIRef(KG_SOFTWARE)
    activity = BNode()
    schema = Namespace(SCHEMA)

    add = g.add
    add((dataset, RDF.type, VOID.Dataset))
    add((dataset, RDF.type, DCAT.Dataset))
    add((dataset, DCTERMS.title, Literal("PFOCR pathway figures knowledge graph", lang="en")))
    add((dataset, DCTERMS.description, Literal(
        f"Pathway figures from PFOCR as RDF: {report.converted} of {len(found)} records converted, "
        f"{report.rejected} rejected.", lang="en")))
    add((dataset, DCTERMS.source, URIRef(PFOCR_SITE)))
    add((dataset, DCTERMS.license, URIRef(CC0)))
    add((dataset, DCTERMS.created, Literal(created.isoformat(), datatype=XSD.dateTime)))
    add((dataset, DCTERMS.hasVersion, Literal(__version__)))
    add((dataset, PROV.wasGeneratedBy, activity))
    # What the dump holds (counted from the file itself).
    add((dataset, VOID.triples, Literal(statements, datatype=XSD.integer)))
    add((dataset, VOID.uriSpace, Literal(PFOCR_FIGURES)))
    for prefix in VOCABULARIES:
        add((dataset, VOID.vocabulary, URIRef(PREFIXES[prefix].rstrip("#") if prefix == "kg" else PREFIXES[prefix])))
    add((dataset, VOID.feature, URIRef(FORMAT_FEATURES[fmt])))
    for cls, label in COUNTED:
        part = BNode()
        add((dataset, VOID.classPartition, part))
        add((part, VOID["class"], URIRef(cls)))
        add((part, VOID.entities, Literal(counts[cls], datatype=XSD.integer)))
        add((part, RDFS.label, Literal(label, lang="en")))
    for file in _files(output):  # one dump (or one per shard)
        dump = URIRef(file.as_uri())
        add((dataset, VOID.dataDump, dump))
        add((dataset, DCAT.distribution, dump))
        add((dump, RDF.type, DCAT.Distribution))
        add((dump, DCAT.downloadURL, dump))
        add((dump, DCAT.mediaType, URIRef(f"https://www.iana.org/assignments/media-types/{MEDIA_TYPES[fmt]}")))
        add((dump, DCAT.byteSize, Literal(file.stat().st_size, datatype=XSD.nonNegativeInteger)))
        if file.name.lower().endswith(".gz"):
            add((dump, DCAT.compressFormat, URIRef("https://www.iana.org/assignments/media-types/application/gzip")))

    add((activity, RDF.type, PROV.Activity))
    started = (created - timedelta(seconds=round(report.seconds))).isoformat()
    add((activity, PROV.startedAtTime, Literal(started, datatype=XSD.dateTime)))
    add((activity, PROV.endedAtTime, Literal(created.isoformat(), datatype=XSD.dateTime)))
    add((activity, PROV.wasAssociatedWith, software))
    add((software, RDF.type, PROV.SoftwareAgent))
    add((software, RDF.type, schema.SoftwareApplication))
    add((software, RDFS.label, Literal(f"kg {__version__}")))
    add((software, schema.softwareVersion, Literal(__version__)))
    return g


def write_void(path: str | Path, report: BuildReport, found: Sequence[RecordSource], output: str | Path) -> None:
    """Write the VoID/DCAT description of ``output`` to ``path`` as Turtle, atomically."""
    data = void_graph(report, found, output).serialize(format="turtle", encoding="utf-8")
    with open_output(path) as fh:
        fh.write(data)
