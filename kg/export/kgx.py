"""The store as a KGX TSV knowledge graph (``nodes.tsv``, ``edges.tsv``) in the Biolink Model,
the form KG-Hub and Monarch pipelines merge.

Nodes (``id``: a CURIE with a prefix of the Biolink Model's prefix map, except figures)::

    figure    PFOCR:<figid>         biolink:Publication   (Biolink's information content entity
                                                            is abstract; a publication includes "a
                                                            part of a publication of significant
                                                            knowledge scope")
    paper     PMC:<digits>          biolink:Publication   (Biolink: PMC -> europepmc.org/articles/PMC)
    gene      NCBIGene:<id>         biolink:Gene          (in_taxon: its organism)
    chemical  MESH:<id> | CHEBI:<n> biolink:ChemicalEntity (xref: its ChEBI term)
    disease   MESH:<id> | DOID:<n>  biolink:Disease       (xref: its DOID term)
    organism  NCBITaxon:<id>        biolink:OrganismTaxon

A chemical or disease is its MeSH term when the figure's table names one (as in kg's RDF),
else its ChEBI/DOID term.  ``PFOCR:`` is not in Biolink's prefix map (it has no prefix for
PFOCR figures): it expands to ``https://pfocr.wikipathways.org/figures/``.  Every node's
``iri`` column holds its IRI in kg's RDF, so the export joins back to the graph.

Edges::

    figure  biolink:mentions  gene | chemical | disease   image_processing_agent (OCR + NER
                                                          over the figure), publications: its paper
    figure  biolink:part_of   paper
    gene    biolink:in_taxon  organism                    primary source NCBI Gene (the
                                                          gene table's organism_id)

Every edge has ``knowledge_level`` and ``agent_type`` (Biolink 4) and
``primary_knowledge_source`` (``infores:pfocr``, ``infores:ncbi-gene``); multivalued
columns are ``|``-separated, as the KGX format says.
"""

from __future__ import annotations

import re
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator, Sequence

import pyoxigraph as ox

from .. import vocab
from ..store import DEFAULT_STORE, open_store
from ..store import query as store_query
from . import FIGURE_GENES, ExportFolder, clean_text

PFOCR_PREFIX = "PFOCR"
INFORES_PFOCR = "infores:pfocr"
INFORES_NCBI_GENE = "infores:ncbi-gene"

NODE_COLUMNS = ("id", "category", "name", "description", "xref", "in_taxon", "iri", "provided_by")
EDGE_COLUMNS = ("id", "subject", "predicate", "object", "category", "knowledge_level", "agent_type",
                "primary_knowledge_source", "aggregator_knowledge_source", "publications")

FIGURE = "biolink:Publication"
PAPER = "biolink:Publication"
GENE = "biolink:Gene"
CHEMICAL = "biolink:ChemicalEntity"
DISEASE = "biolink:Disease"
ORGANISM = "biolink:OrganismTaxon"
MENTIONS = "biolink:mentions"
PART_OF = "biolink:part_of"
IN_TAXON = "biolink:in_taxon"
MENTION_ASSOCIATION = "biolink:InformationContentEntityToNamedThingAssociation"
ASSOCIATION = "biolink:Association"

#: kg namespace -> Biolink prefix, for the IRIs kg writes (the namespaces come from kg.vocab,
#: so the CURIEs follow whatever IRI form kg uses).
CURIE_PREFIXES: tuple[tuple[str, str], ...] = (
    (vocab.NCBIGENE, "NCBIGene"),
    (vocab.NCBITAXON, "NCBITaxon"),
    (vocab.CHEBI, "CHEBI"),
    (vocab.MESH, "MESH"),
    (vocab.DOID, "DOID"),
    (vocab.PMC + "PMC", "PMC"),  # Biolink expands PMC: to http://europepmc.org/articles/PMC
)
_CHEBI_ANY = re.compile(r"CHEBI[_:]([0-9]+)$", re.IGNORECASE)  # also wp:bdbChEBI's identifiers.org form
_DOID_ANY = re.compile(r"DOID[_:]([0-9]+)$", re.IGNORECASE)


def curie(iri: str) -> str | None:
    """The Biolink CURIE of an IRI kg writes (gene, taxon, ChEBI, MeSH, DOID, PMC), else None."""
    for namespace, prefix in CURIE_PREFIXES:
        if iri.startswith(namespace):
            local = iri[len(namespace):]
            return f"{prefix}:{local}" if local and "/" not in local and "#" not in local else None
    return None


def _chebi_or_doid(iri: str) -> str | None:
    """The CHEBI:/DOID: CURIE of a ChEBI or DOID IRI in any form (OBO PURL, identifiers.org)."""
    found = curie(iri)
    if found and found.startswith(("CHEBI:", "DOID:")):
        return found
    for pattern, prefix in ((_CHEBI_ANY, "CHEBI"), (_DOID_ANY, "DOID")):
        match = pattern.search(iri)
        if match:
            return f"{prefix}:{match.group(1)}"
    return None


_PREFIXES = (f"PREFIX kg: <{vocab.KG}>\nPREFIX wp: <{vocab.WP}>\nPREFIX dcterms: <{vocab.DCTERMS}>\n"
             f"PREFIX rdfs: <{vocab.RDFS}>\nPREFIX schema: <{vocab.SCHEMA}>\nPREFIX skos: <{vocab.SKOS}>\n"
             f"PREFIX bibo: <{vocab.BIBO}>\n")
# Few, plain queries; many answers are aggregated by Oxigraph (GROUP_CONCAT), since building
# Python objects per row costs more than the query itself.
_FIGURES = _PREFIXES + """
SELECT ?figure ?figid ?title ?caption ?paper WHERE {
  ?figure a kg:PathwayFigure ; dcterms:identifier ?figid .
  OPTIONAL { ?figure dcterms:title ?title }
  OPTIONAL { ?figure schema:caption ?caption }
  OPTIONAL { ?figure dcterms:isPartOf ?paper }
}"""
_PAPERS = _PREFIXES + """
SELECT ?paper ?title ?doi WHERE {
  { SELECT DISTINCT ?paper { [] a kg:PathwayFigure ; dcterms:isPartOf ?paper } }
  OPTIONAL { ?paper dcterms:title ?title }
  OPTIONAL { ?paper bibo:doi ?doi }
}"""
_GENES = _PREFIXES + """
SELECT ?gene ?symbol ?taxon WHERE {
  ?gene a kg:Gene .
  OPTIONAL { ?gene kg:symbol ?symbol }
  OPTIONAL { ?gene wp:organism ?taxon }
}"""
_TAXA = _PREFIXES + "SELECT ?taxon ?label WHERE { ?taxon a kg:Organism OPTIONAL { ?taxon rdfs:label ?label } }"


def _mention_queries(mention: str) -> tuple[str, str]:
    """The terms each chemical (disease) mention refers to, and the figure of each mention."""
    terms = _PREFIXES + f"""
SELECT ?mention (GROUP_CONCAT(STR(?term); SEPARATOR=" ") AS ?terms) WHERE {{
  ?mention a kg:{mention} ; kg:refersTo ?term
}} GROUP BY ?mention"""
    figures = _PREFIXES + f"SELECT ?figure ?mention WHERE {{ ?mention a kg:{mention} . ?figure kg:hasMention ?mention }}"
    return terms, figures


def _term_details(terms: Iterable[str]) -> tuple[str, str]:
    """Labels of the terms, and the ChEBI/DOID terms of the MeSH terms (skos:closeMatch, wp:bdbChEBI)."""
    values = " ".join(f"<{t}>" for t in sorted(terms))
    labels = _PREFIXES + f"SELECT ?term ?label WHERE {{ VALUES ?term {{ {values} }} ?term rdfs:label ?label }}"
    xrefs = _PREFIXES + f"SELECT ?term ?xref WHERE {{ VALUES ?term {{ {values} }} ?term skos:closeMatch|wp:bdbChEBI ?xref }}"
    return labels, xrefs


_KINDS = (
    ("chemical", CHEMICAL, "ChemicalMention", vocab.CHEBI),
    ("disease", DISEASE, "DiseaseMention", vocab.DOID),
)


@dataclass
class Node:
    id: str
    category: str
    iri: str
    kind: str
    name: str = ""
    description: str = ""
    xref: list[str] = field(default_factory=list)
    in_taxon: list[str] = field(default_factory=list)

    def row(self) -> list[str]:
        return [self.id, self.category, clean_text(self.name), clean_text(self.description),
                "|".join(self.xref), "|".join(self.in_taxon), self.iri, INFORES_PFOCR]


#: predicate -> (category, knowledge_level, agent_type, primary and aggregator knowledge source)
EDGE_KINDS: dict[str, tuple[str, str, str, str, str]] = {
    MENTIONS: (MENTION_ASSOCIATION, "knowledge_assertion", "image_processing_agent", INFORES_PFOCR, ""),
    PART_OF: (ASSOCIATION, "knowledge_assertion", "manual_agent", INFORES_PFOCR, ""),
    IN_TAXON: (ASSOCIATION, "knowledge_assertion", "manual_agent", INFORES_NCBI_GENE, INFORES_PFOCR),
}


def edge_row(subject: str, predicate: str, object: str, publications: str = "") -> list[str]:
    """One edges.tsv row; its id is a UUID derived from subject, predicate and object (stable)."""
    key = f"{subject} {predicate} {object}"
    return [f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, key)}", subject, predicate, object,
            *EDGE_KINDS[predicate], publications]


@dataclass
class KgxReport:
    """What :func:`export_kgx` wrote: nodes per kind, edges per predicate, and the terms
    left out because their IRI has no Biolink CURIE."""

    folder: str
    nodes: dict[str, int] = field(default_factory=dict)
    edges: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def __str__(self) -> str:
        nodes = ", ".join(f"{n} {kind}" for kind, n in sorted(self.nodes.items()))
        edges = ", ".join(f"{n} {p}" for p, n in sorted(self.edges.items()))
        text = (f"KGX: {sum(self.nodes.values())} nodes ({nodes}), {sum(self.edges.values())} edges ({edges}) "
                f"-> {self.folder}/nodes.tsv, edges.tsv in {self.seconds:.2f} s")
        if self.skipped:
            text += "; left out (no Biolink CURIE): " + ", ".join(f"{n} {k}" for k, n in sorted(self.skipped.items()))
        return text


def _text(term: ox.NamedNode | ox.Literal | ox.BlankNode | None) -> str:
    return "" if term is None else term.value


class _Graph:
    """Nodes and edges collected from the store."""

    def __init__(self, store: ox.Store):
        self.store = store
        self.nodes: dict[str, Node] = {}
        self.edges: set[tuple[str, str, str]] = set()  # (subject, predicate, object): few objects
        self.skipped: dict[str, int] = {}
        self.figure_ids: dict[str, str] = {}  # figure IRI -> CURIE
        self.figure_paper: dict[str, str] = {}  # figure CURIE -> paper CURIE

    def rows(self, sparql: str) -> Iterator[ox.QuerySolution]:
        return iter(store_query(self.store, sparql))

    def skip(self, what: str) -> None:
        self.skipped[what] = self.skipped.get(what, 0) + 1

    def node(self, iri: str, category: str, kind: str) -> Node | None:
        identifier = curie(iri) if category not in (CHEMICAL, DISEASE) else curie(iri) or _chebi_or_doid(iri)
        if identifier is None:
            self.skip(kind)
            return None
        node = self.nodes.get(identifier)
        if node is None:
            node = self.nodes[identifier] = Node(identifier, category, iri, kind)
        return node

    def mention(self, figure_iri: str, target: str) -> None:
        figure = self.figure_ids.get(figure_iri)
        if figure is None:
            return
        self.edges.add((figure, MENTIONS, target))

    def collect(self) -> None:
        papers: dict[str, Node] = {}
        for row in self.rows(_PAPERS):
            iri = row["paper"].value
            node = papers.get(iri) or self.node(iri, PAPER, "papers")
            if node is not None:
                node.name = _least(node.name, _text(row["title"]))
                doi = _text(row["doi"]).strip()
                if doi.startswith("10.") and "|" not in doi and not node.xref:
                    node.xref = [f"doi:{doi}"]
                papers[iri] = node
        for row in self.rows(_FIGURES):
            figure_iri, figid = row["figure"].value, _text(row["figid"])
            known = self.figure_ids.get(figure_iri)
            identifier = _least(known or "", f"{PFOCR_PREFIX}:{figid}")
            if known is not None and known != identifier:  # several figids: the least
                self.nodes.pop(known, None)
                self.figure_paper.pop(known, None)
            self.figure_ids[figure_iri] = identifier
            node = self.nodes.get(identifier)
            if node is None:
                node = self.nodes[identifier] = Node(identifier, FIGURE, figure_iri, "figures")
            node.name = _least(node.name, _text(row["title"]))
            node.description = _least(node.description, _text(row["caption"]))
            paper = papers.get(_text(row["paper"]))
            if paper is not None:
                self.figure_paper[identifier] = _least(self.figure_paper.get(identifier, ""), paper.id)
        for figure, paper in self.figure_paper.items():
            self.edges.add((figure, PART_OF, paper))
        taxon_labels: dict[str, str] = {}
        for row in self.rows(_TAXA):
            iri = row["taxon"].value
            taxon_labels[iri] = _least(taxon_labels.get(iri, ""), _text(row["label"]))
        genes: dict[str, Node] = {}
        gene_rows = list(self.rows(_GENES))
        mentioned: dict[str, list[str]] = {row["figure"].value: row["genes"].value.split()
                                           for row in self.rows(FIGURE_GENES)}
        wanted = {gene for found in mentioned.values() for gene in found}
        for row in gene_rows:
            iri = row["gene"].value
            if iri not in wanted:
                continue
            node = genes.get(iri) or self.node(iri, GENE, "genes")
            if node is None:
                continue
            genes[iri] = node
            node.name = _least(node.name, _text(row["symbol"]))
            taxon = _text(row["taxon"])
            if taxon and taxon in taxon_labels:
                organism = self.node(taxon, ORGANISM, "organisms")
                if organism is not None:
                    organism.name = taxon_labels[taxon]
                    if organism.id not in node.in_taxon:
                        node.in_taxon = sorted([*node.in_taxon, organism.id])
                    self.edges.add((node.id, IN_TAXON, organism.id))
        for figure, found in mentioned.items():
            for gene in found:
                if gene in genes:
                    self.mention(figure, genes[gene].id)
        for kind, category, mention, xref_namespace in _KINDS:
            self.collect_terms(kind, category, mention, xref_namespace)

    def collect_terms(self, kind: str, category: str, mention: str, xref_namespace: str) -> None:
        """Chemicals (diseases): each mention's MeSH term, else its ChEBI (DOID) term."""
        terms_query, figures_query = _mention_queries(mention)
        chosen: dict[str, str] = {}  # mention -> term
        for row in self.rows(terms_query):
            terms = row["terms"].value.split()
            mesh = sorted(t for t in terms if t.startswith(vocab.MESH))
            xref = sorted(t for t in terms if t.startswith(xref_namespace))
            if mesh or xref:
                chosen[row["mention"].value] = (mesh or xref)[0]
        if not chosen:
            return
        labels_query, xrefs_query = _term_details(set(chosen.values()))
        labels: dict[str, str] = {}
        for row in self.rows(labels_query):
            labels[row["term"].value] = _least(labels.get(row["term"].value, ""), _text(row["label"]))
        xrefs: dict[str, set[str]] = {}
        for row in self.rows(xrefs_query):
            found = _chebi_or_doid(row["xref"].value)
            if found and found.startswith(("CHEBI:" if kind == "chemical" else "DOID:")):
                xrefs.setdefault(row["term"].value, set()).add(found)
        nodes: dict[str, Node] = {}
        for term in set(chosen.values()):
            node = self.node(term, category, kind + "s")
            if node is not None:
                node.name = node.name or labels.get(term, "")
                if term.startswith(vocab.MESH):
                    node.xref = sorted(set(node.xref) | xrefs.get(term, set()))
                nodes[term] = node
        for row in self.rows(figures_query):
            node = nodes.get(chosen.get(row["mention"].value, ""))
            if node is not None:
                self.mention(row["figure"].value, node.id)


def _least(known: str, new: str) -> str:
    """Of two values, the least non-empty one (a property given twice gives one, stable answer)."""
    return min(known, new) if known and new else known or new


def _write(fh, columns: Sequence[str], rows: Iterable[list[str]]) -> int:
    fh.write("\t".join(columns) + "\n")
    count = 0
    for row in rows:
        fh.write("\t".join(row) + "\n")
        count += 1
    return count


def export_kgx(store: str | Path = DEFAULT_STORE, output: str | Path = "kgx") -> KgxReport:
    """Write the store's figures, papers, genes, chemicals, diseases and organisms, and the
    links between them, as KGX TSV (``output/nodes.tsv``, ``output/edges.tsv``) with
    Biolink categories and predicates (see the module docstring)."""
    started = time.perf_counter()
    folder = ExportFolder(output, "KGX")  # refuses before any work
    st = open_store(store, read_only=True)
    try:
        graph = _Graph(st)
        graph.collect()
    finally:
        del st
    report = KgxReport(str(output), skipped=dict(graph.skipped))
    nodes = sorted(graph.nodes.values(), key=lambda n: n.id)
    for node in nodes:
        report.nodes[node.kind] = report.nodes.get(node.kind, 0) + 1
    edges = sorted(graph.edges)
    graph.edges = set()
    for _, predicate, _ in edges:
        report.edges[predicate] = report.edges.get(predicate, 0) + 1
    with folder.open("nodes.tsv") as fh:
        _write(fh, NODE_COLUMNS, (n.row() for n in nodes))
    with folder.open("edges.tsv") as fh:
        papers = graph.figure_paper
        _write(fh, EDGE_COLUMNS, (edge_row(s, p, o, papers.get(s, "") if p == MENTIONS else "") for s, p, o in edges))
    folder.finish(curie_prefixes_not_in_biolink={PFOCR_PREFIX: vocab.PFOCR_FIGURES})
    report.seconds = time.perf_counter() - started
    return report
