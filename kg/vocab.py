"""Namespaces, IRI builders and the bundled organism table.

Every IRI the mapping writes is built here, so that one form is used per prefix: the
forms WikiPathways RDF (GPML2RDF, ``https`` identifiers.org since January 2021) writes, so
that kg's graph and WikiPathways' join on shared nodes:

* genes ``https://identifiers.org/ncbigene/<id>`` (a gene DataNode's own IRI and the object
  of ``wp:bdbEntrezGene``), human symbols ``https://identifiers.org/hgnc.symbol/<SYM>``,
  papers ``https://identifiers.org/pmc/PMC…``, pathways
  ``https://identifiers.org/wikipathways/WPnnn`` (versions ``…/WPnnn_r<rev>``);
* ChEBI as ``wp:bdbChEBI <https://identifiers.org/chebi/CHEBI:<n>>`` and, as the term
  itself, the OBO PURL ``http://purl.obolibrary.org/obo/CHEBI_<n>``; taxa and DOID as OBO
  PURLs; MeSH as NLM's own ``http://id.nlm.nih.gov/mesh/<id>``.

Identifiers are validated before they become IRIs: a value that is not a well-formed
identifier raises :class:`ValueError`, never an IRI.
"""

from __future__ import annotations

import csv
import gzip
import re
from array import array
from functools import lru_cache
from importlib import resources
from urllib.parse import quote

import pyoxigraph as ox

SCHEMA = "http://schema.org/"
RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"
XSD = "http://www.w3.org/2001/XMLSchema#"
OWL = "http://www.w3.org/2002/07/owl#"
SKOS = "http://www.w3.org/2004/02/skos/core#"
DCTERMS = "http://purl.org/dc/terms/"
DC = "http://purl.org/dc/elements/1.1/"
FABIO = "http://purl.org/spar/fabio/"
BIBO = "http://purl.org/ontology/bibo/"
VOID = "http://rdfs.org/ns/void#"
DCAT = "http://www.w3.org/ns/dcat#"
PROV = "http://www.w3.org/ns/prov#"
WP = "http://vocabularies.wikipathways.org/wp#"
KG = "https://w3id.org/pfocr-kg/vocab#"

IDENTIFIERS = "https://identifiers.org/"
NCBIGENE = IDENTIFIERS + "ncbigene/"
HGNC_SYMBOL = IDENTIFIERS + "hgnc.symbol/"
PMC = IDENTIFIERS + "pmc/"
WIKIPATHWAYS = IDENTIFIERS + "wikipathways/"
CHEBI_IDENTIFIERS = IDENTIFIERS + "chebi/CHEBI:"
ENSEMBL = IDENTIFIERS + "ensembl/"
PUBMED = IDENTIFIERS + "pubmed/"
NCBITAXON = "http://purl.obolibrary.org/obo/NCBITaxon_"
CHEBI = "http://purl.obolibrary.org/obo/CHEBI_"
DOID = "http://purl.obolibrary.org/obo/DOID_"
MESH = "http://id.nlm.nih.gov/mesh/"
DOI = "https://doi.org/"
PFOCR_FIGURES = "https://pfocr.wikipathways.org/figures/"
NCBI = "https://www.ncbi.nlm.nih.gov"
CC0 = "https://creativecommons.org/publicdomain/zero/1.0/"

#: Prefixes used when writing Turtle, in the order they are declared.
PREFIXES: dict[str, str] = {
    "rdf": RDF,
    "rdfs": RDFS,
    "xsd": XSD,
    "owl": OWL,
    "skos": SKOS,
    "dcterms": DCTERMS,
    "dc": DC,
    "schema": SCHEMA,
    "fabio": FABIO,
    "bibo": BIBO,
    "void": VOID,
    "dcat": DCAT,
    "prov": PROV,
    "wp": WP,
    "kg": KG,
    "pfocr": PFOCR_FIGURES,
    "pmc": PMC,
    "doi": DOI,
    "ncbigene": NCBIGENE,
    "hgnc.symbol": HGNC_SYMBOL,
    "wikipathways": WIKIPATHWAYS,
    "chebi": CHEBI_IDENTIFIERS,
    "ensembl": ENSEMBL,
    "pubmed": PUBMED,
    "NCBITaxon": NCBITAXON,
    "CHEBI": CHEBI,
    "DOID": DOID,
    "mesh": MESH,
}

HUMAN_TAXON = "9606"

_DIGITS = re.compile(r"[0-9]+")
_WPID = re.compile(r"WP[0-9]+")
_PMCID = re.compile(r"PMC[0-9]+")
_MESH_ID = re.compile(r"[CD][0-9]+")
_FIGID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._~-]*")
# Characters RFC 3987 allows unescaped in an IRI path/fragment besides unreserved ones.
_IRI_SAFE = "/:@!$&'()*+,;=.~-_"
_IRI_FORBIDDEN = re.compile(r'[\x00-\x20<>"{}|^`\\]')


def _need(pattern: re.Pattern[str], value: str, what: str) -> str:
    if not pattern.fullmatch(value):
        raise ValueError(f"not a valid {what}: {value!r}")
    return value


@lru_cache(maxsize=65536)
def check_iri(iri: str) -> str:
    """Return ``iri`` if it is an absolute http(s) IRI that RFC 3987 allows, by the rules
    pyoxigraph's parsers apply (so every output re-parses); else ValueError saying why."""
    if not iri.startswith(("http://", "https://")):
        raise ValueError(f"not an absolute http(s) IRI: {iri!r}")
    if _IRI_FORBIDDEN.search(iri):
        raise ValueError(f"not a valid IRI (it holds a space, quote, bracket or control character): {iri!r}")
    try:
        ox.NamedNode(iri)
    except ValueError as exc:
        raise ValueError(f"not a valid IRI ({exc}): {iri!r}") from None
    return iri


@lru_cache(maxsize=65536)
def iri_segment(text: str) -> str:
    """Percent-encode free text so it can stand in one IRI path segment or fragment."""
    return quote(text, safe="")


def figid(value: str) -> str:
    return _need(_FIGID, value, "figid")


def figure_page_iri(value: str) -> str:
    """A figure IRI given by the record (JSON-LD ``@id``): absolute http(s), no fragment
    (mention IRIs are minted as fragments of it)."""
    check_iri(value)
    if "#" in value:
        raise ValueError(f"figure IRI must not have a fragment ('#'): {value!r}")
    return value


def figure_iri(fig_id: str) -> str:
    """The PFOCR figure page, as the site's JSON-LD ``@id`` names it."""
    return f"{PFOCR_FIGURES}{figid(fig_id)}.html"


def figid_of_figure_iri(iri: str) -> str | None:
    """The figid whose PFOCR page is ``iri`` (the inverse of :func:`figure_iri`), else None."""
    if iri.startswith(PFOCR_FIGURES) and iri.endswith(".html"):
        local = iri[len(PFOCR_FIGURES):-len(".html")]
        return local if _FIGID.fullmatch(local) else None
    return None


def paper_iri(pmcid: str) -> str:
    return PMC + _need(_PMCID, pmcid, "PMC id")


def doi_iri(doi: str) -> str:
    """``https://doi.org/<doi>``, percent-encoding what an IRI cannot hold (``<``, ``>``, ``#``...)."""
    if not doi.startswith("10.") or "/" not in doi:
        raise ValueError(f"not a DOI: {doi!r}")
    return DOI + quote(doi, safe=_IRI_SAFE.replace("#", ""))


def gene_iri(ncbigene_id: str) -> str:
    return NCBIGENE + _need(_DIGITS, ncbigene_id, "NCBI Gene id")


def hgnc_symbol_iri(symbol: str) -> str:
    if not symbol:
        raise ValueError("empty HGNC symbol")
    return HGNC_SYMBOL + quote(symbol, safe="-._~")


def taxon_iri(taxid: str) -> str:
    return NCBITAXON + _need(_DIGITS, taxid, "NCBI taxon id")


def mesh_iri(mesh_id: str) -> str:
    """MeSH descriptor/concept IRI; accepts ``D005227`` or ``mesh:D005227``."""
    local = mesh_id.split(":", 1)[1] if mesh_id.lower().startswith("mesh:") else mesh_id
    return MESH + _need(_MESH_ID, local, "MeSH id")


def _obo_iri(base: str, value: str, prefix: str, what: str) -> str:
    local = value.split(":", 1)[1] if value.lower().startswith(prefix + ":") else value
    return base + _need(_DIGITS, local, what)


def chebi_iri(value: str) -> str:
    """ChEBI IRI; accepts ``35366``, ``chebi:35366`` or ``CHEBI:35366``."""
    return _obo_iri(CHEBI, value, "chebi", "ChEBI id")


def chebi_identifiers_iri(value: str) -> str:
    """ChEBI in WikiPathways' form (the object of ``wp:bdbChEBI``):
    ``https://identifiers.org/chebi/CHEBI:<n>``; accepts what :func:`chebi_iri` accepts."""
    return _obo_iri(CHEBI_IDENTIFIERS, value, "chebi", "ChEBI id")


def wpid(value: str) -> str:
    """A WikiPathways id, ``WP`` and digits (``WP4799``); ``ValueError`` otherwise."""
    return _need(_WPID, value, "WikiPathways id (WP and digits, e.g. WP4799)")


def wikipathways_iri(value: str) -> str:
    """The pathway, in WikiPathways' form: ``https://identifiers.org/wikipathways/WP4799``
    (the object of a pathway version's ``dc:identifier``)."""
    return WIKIPATHWAYS + wpid(value)


def doid_iri(value: str) -> str:
    """Disease Ontology IRI; accepts ``1612``, ``doid:1612`` or ``DOID:1612``."""
    return _obo_iri(DOID, value, "doid", "DOID id")


_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")


def pmc_page_iri(figlink: str) -> str:
    """Absolute PMC figure page from the record's site-relative ``figlink`` (the site
    publishes it with or without the leading ``/``), or an absolute http(s) link."""
    if figlink.startswith(("http://", "https://")):
        return check_iri(figlink)
    if _SCHEME.match(figlink) or figlink.startswith("//"):
        raise ValueError(f"not a site-relative PMC link or an http(s) IRI: {figlink!r}")
    return NCBI + quote(figlink if figlink.startswith("/") else "/" + figlink, safe=_IRI_SAFE)


def pfocr_page_iri(path: str) -> str:
    """Absolute PFOCR page IRI for a site-relative path such as ``/figures/PMC1__F3``."""
    if not path.startswith("/"):
        raise ValueError(f"not a site-relative path: {path!r}")
    return "https://pfocr.wikipathways.org" + quote(path, safe=_IRI_SAFE)


def mention_iri(figure: str, kind: str, entity_id: str, word: str) -> str:
    """A mention node minted under its figure: one per (figure, kind, entity, OCR word).

    A final ``.`` of the word is percent-encoded: Turtle writers abbreviate the IRI to a
    prefixed name, which may not end in ``.`` unescaped, and rdflib's parser rejects the
    escaped form ``\\.``; ``%2E`` reads the same in every parser."""
    segment = iri_segment(word)
    if segment.endswith("."):
        segment = segment[:-1] + "%2E"
    return f"{figure}#{kind}/{iri_segment(entity_id)}/{segment}"


@lru_cache(maxsize=1)
def organism_table() -> dict[str, tuple[str, str]]:
    """Bundled ``scientific name (lower case) -> (NCBI taxon id, scientific name)`` table of
    the model and common organisms (``kg/data/organisms.tsv``, curated)."""
    text = resources.files("kg").joinpath("data/organisms.tsv").read_text("utf-8")
    rows = csv.DictReader(text.splitlines(), delimiter="\t")
    return {row["name"].strip().lower(): (row["taxid"].strip(), row["name"].strip()) for row in rows}


class NcbiTaxa:
    """The bundled NCBI Taxonomy names (``kg/data/ncbi-taxa.tsv.gz``, ~173,000 names: see
    ``kg/data/README.md``), looked up by binary search in the decompressed text (rows are
    sorted by lower-case name): ~6 MB in memory, read on first use (~0.1 s); only records
    naming an organism outside :func:`organism_table` need it."""

    def __init__(self, data: bytes):
        text = gzip.decompress(data).decode("utf-8")
        starts = array("I")
        position = 0
        header_done = False
        while position < len(text):
            end = text.find("\n", position)
            end = len(text) if end < 0 else end
            if header_done:
                starts.append(position)
            elif not text.startswith("#", position):
                header_done = True  # the column names line
            position = end + 1
        self.text = text
        self.starts = starts

    def _row(self, i: int) -> list[str]:
        start = self.starts[i]
        end = self.text.find("\n", start)
        return self.text[start:end if end >= 0 else len(self.text)].split("\t")

    def get(self, key: str) -> tuple[str, str | None] | None:
        """``(taxon id, scientific name or None)`` of the lower-case ``key``, else None."""
        low, high = 0, len(self.starts)
        while low < high:
            mid = (low + high) // 2
            if self._row(mid)[0].lower() < key:
                low = mid + 1
            else:
                high = mid
        if low < len(self.starts):
            name, taxid, kind, scientific = self._row(low)
            if name.lower() == key:
                return taxid, name if kind == "S" else (scientific or None)
        return None

    def __len__(self) -> int:
        return len(self.starts)


@lru_cache(maxsize=1)
def ncbi_taxa() -> NcbiTaxa:
    """The bundled NCBI Taxonomy names, loaded once per process."""
    return NcbiTaxa(resources.files("kg").joinpath("data/ncbi-taxa.tsv.gz").read_bytes())


def organism_for_name(name: str) -> tuple[str, str | None] | None:
    """``(taxon id, scientific name or None)`` for an organism name NCBI Taxonomy gives
    exactly (any case): the curated table first, then the bundled NCBI names; else
    ``None``: unknown names are never guessed (not from a genus, not by similarity)."""
    key = " ".join(name.split()).lower()
    known = organism_table().get(key)
    if known is not None:
        return known
    found = ncbi_taxa().get(key)
    if found is not None and found[1] is None:  # the curated table may know the scientific name
        curated = next((n for t, n in organism_table().values() if t == found[0]), None)
        return found[0], curated
    return found
