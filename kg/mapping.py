"""Stage 2: map one :class:`~kg.records.Record` to RDF (canonical N-Triples lines).

The vocabulary is documented in the README ("The mapping") and defined in
``ontologies/kg.ttl``.  A figure's triples come in three groups so that writers can
de-duplicate what several figures share without holding the graph in memory:

* ``own``: the figure, its mention nodes and its JSON-LD block (unique to the figure);
* ``paper``: the paper's triples (shared by the figures of one paper, which are adjacent
  when records are read in figid order);
* ``entities``: genes, organisms, chemicals and diseases (a bounded vocabulary).

Each figure's three groups together form a self-contained named graph (see
:attr:`FigureGraph.graph`), so a figure can be replaced as a unit in a store.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any, Callable

from . import vocab
from .jsonld import JsonLdError, jsonld_triples
from .ntriples import iri, literal, triple
from .records import GeneRow, Record, RecordError, TermRow, WpidRow, value, values, warning
from .vocab import BIBO, DC, DCTERMS, FABIO, KG, RDF, RDFS, SCHEMA, SKOS, WP, XSD


def _p(namespace: str, local: str) -> str:
    return iri(namespace + local)


A = _p(RDF, "type")
LABEL = _p(RDFS, "label")
IDENTIFIER = _p(DCTERMS, "identifier")
TITLE = _p(DCTERMS, "title")
IS_PART_OF = _p(DCTERMS, "isPartOf")
CITATION = _p(DCTERMS, "bibliographicCitation")
PUBLISHER = _p(DC, "publisher")
KEYWORDS = _p(SCHEMA, "keywords")
CAPTION = _p(SCHEMA, "caption")
SAME_AS = _p(SCHEMA, "sameAs")
DOI_LITERAL = _p(BIBO, "doi")
PUB_YEAR = _p(FABIO, "hasPublicationYear")
PMCID = _p(FABIO, "hasPubMedCentralId")
NLM_TA = _p(FABIO, "hasNLMJournalTitleAbbreviation")
CLOSE_MATCH = _p(SKOS, "closeMatch")
WP_ORGANISM = _p(WP, "organism")
WP_ENTREZ = _p(WP, "bdbEntrezGene")
WP_HGNC = _p(WP, "bdbHgncSymbol")
WP_CHEBI = _p(WP, "bdbChEBI")

K = {name: _p(KG, name) for name in (
    "figureNumber", "figureType", "imageFileName", "pmcFigurePage", "automlPathwayScore", "pathwayScore",
    "pmcRankedResultIndex", "figureAlias", "redirectFrom", "ndexId", "recordDigest", "organismName",
    "metadataOrganism", "nerOrganism", "tableOrganism", "journalTitle",
    "mentionsGene", "mentionsChemical", "mentionsDisease", "hasMention", "refersTo",
    "ocrWord", "matchedText", "matchSource", "symbol", "redrawnAs",
)}
T_FIGURE = (iri(KG + "PathwayFigure"), iri(FABIO + "Figure"))
T_PAPER = iri(SCHEMA + "ScholarlyArticle")
T_GENE = (iri(WP + "GeneProduct"), iri(KG + "Gene"))
T_CHEMICAL = (iri(WP + "Metabolite"), iri(KG + "Chemical"))
T_DISEASE = iri(KG + "Disease")
T_ORGANISM = iri(KG + "Organism")
T_MENTION = {kind: iri(KG + f"{kind.capitalize()}Mention") for kind in ("gene", "chemical", "disease")}

_YEAR = re.compile(r"[0-9]{4}")
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")

#: Front-matter keys deliberately not mapped, with the reason (also in the README).
DROPPED_FIELDS = {
    "seo": "site-template setting ('CreativeWork'), says nothing about the figure",
    "annotations": "always empty in the published records (older layout)",
}
MAPPED_FIELDS = frozenset({
    "figid", "figtitle", "caption", "number", "figtype", "filename", "figlink", "pmcid", "papertitle",
    "reftext", "year", "doi", "journal_title", "journal_nlm_ta", "publisher_name", "keywords",
    "automl_pathway", "pathway_score", "pmc_ranked_result_index", "figid_alias", "redirect_from", "ndex",
    "organisms", "organisms_ner", "genes", "chemicals", "diseases", "schema-jsonld", "wpid",
})


@dataclass
class FigureGraph:
    """The triples of one figure record, grouped for de-duplication (see module docstring)."""

    figid: str
    figure: str
    digest: str
    own: list[str] = field(default_factory=list)
    paper: list[str] = field(default_factory=list)
    entities: list[str] = field(default_factory=list)
    paper_iri: str | None = None
    source: str = ""
    warnings: list[RecordError] = field(default_factory=list)  # row-level: left out, the figure converts

    @property
    def graph(self) -> str:
        """The named graph holding this figure's triples: the figure's own IRI."""
        return self.figure

    def lines(self) -> list[str]:
        return self.own + self.paper + self.entities

    def __len__(self) -> int:
        return len(self.own) + len(self.paper) + len(self.entities)


def map_record(record: Record) -> FigureGraph:
    """All triples of one record; raises :class:`RecordError` naming the field at fault."""
    return _Mapper(record).run()


class _Mapper:
    def __init__(self, record: Record):
        self.record = record
        self.f = record.fields

    # ------------------------------------------------------------------ helpers
    def text(self, key: str) -> str | None:
        raw = self.f.get(key)
        if isinstance(raw, (dict, list)):
            raise self.record.error(key, f"'{key}' must be text, not a {'list' if isinstance(raw, list) else 'mapping'}")
        return value(raw)

    def checked(self, key: str, build: Callable[[str], str], text: str | None = None) -> str | None:
        """``build(value)`` for field ``key``; a ``ValueError`` becomes a RecordError on that field."""
        raw = self.text(key) if text is None else text
        if raw is None:
            return None
        try:
            return build(raw)
        except ValueError as exc:
            raise self.record.error(key, str(exc)) from None

    def row_checked(self, row: GeneRow | TermRow | WpidRow, column: str, build: Callable[[str], str], raw: str,
                    consequence: str) -> str | None:
        """``build(raw)`` for a table cell; a ``ValueError`` becomes a row-level warning
        (``consequence`` says what is left out) and ``None``."""
        try:
            return build(raw)
        except ValueError as exc:
            self.out.warnings.append(warning(row.where.path, f"{exc}; {consequence}", row.where.line,
                                             row.where.field(column)))
            return None

    # ------------------------------------------------------------------ mapping
    def run(self) -> FigureGraph:
        fig_id = self.checked("figid", vocab.figid)
        assert fig_id is not None
        block = self.f.get("schema-jsonld")
        figure = vocab.figure_iri(fig_id)
        if isinstance(block, dict) and block.get("@id") is not None:
            figure = self.checked("schema-jsonld", vocab.figure_page_iri, str(block["@id"])) or figure
        out = FigureGraph(fig_id, figure, self.record.digest, source=str(self.record.path),
                          warnings=list(self.record.warnings))
        self.fig = iri(figure)
        self.out = out
        self.entity_seen: set[str] = set()
        self.own_seen: set[str] = set()
        self.paper_seen: set[str] = set()
        self.figure_fields()
        self.paper_fields()
        self.organisms()
        self.genes()
        self.terms("chemical", self.record.chemicals)
        self.terms("disease", self.record.diseases)
        self.redrawn()
        if block is not None:
            try:
                lines = jsonld_triples(block, figure)
            except JsonLdError as exc:
                raise self.record.error("schema-jsonld", str(exc)) from None
            # the figure's own statements stay its own; any other subject the block describes
            # is shared (written once per output, like the entities)
            mine = (self.fig, f"<{figure}#")
            for line in lines:
                if line.startswith(mine):
                    self.add_own(line)
                else:
                    self.add_entity(line)
        if self.entity_seen & self.own_seen or self.paper_seen & self.own_seen:  # only a crafted @id gets here
            shared = self.entity_seen | self.paper_seen
            out.own = [line for line in out.own if line not in shared]
        return out

    def own(self, p: str, o: str, s: str | None = None) -> None:
        self.add_own(triple(s or self.fig, p, o))

    def add_own(self, line: str) -> None:
        if line not in self.own_seen:
            self.own_seen.add(line)
            self.out.own.append(line)

    def figure_fields(self) -> None:
        own, f = self.own, self.record
        for t in T_FIGURE:
            own(A, t)
        own(IDENTIFIER, literal(self.out.figid))
        own(K["recordDigest"], literal("sha256:" + f.digest))
        for key, prop in (("figtitle", TITLE), ("caption", CAPTION), ("number", K["figureNumber"]),
                          ("figtype", K["figureType"]), ("filename", K["imageFileName"]),
                          ("figid_alias", K["figureAlias"])):
            text = self.text(key)
            if text is not None:
                own(prop, literal(text))
        title = self.text("figtitle")
        if title is not None:
            own(LABEL, literal(title))
        page = self.checked("figlink", vocab.pmc_page_iri)
        if page:
            own(K["pmcFigurePage"], iri(page))
        for alias in values(self.f.get("redirect_from")):
            own(K["redirectFrom"], iri(self.checked("redirect_from", vocab.pfocr_page_iri, alias) or ""))
        for key, prop in (("automl_pathway", K["automlPathwayScore"]), ("pathway_score", K["pathwayScore"])):
            score = self.checked(key, _decimal)
            if score is not None:
                own(prop, literal(score, XSD + "decimal"))
        rank = self.checked("pmc_ranked_result_index", _integer)
        if rank is not None:
            own(K["pmcRankedResultIndex"], literal(rank, XSD + "integer"))
        ndex = self.checked("ndex", _uuid)
        if ndex is not None:
            own(K["ndexId"], literal(ndex))

    def paper_fields(self) -> None:
        pmcid = self.checked("pmcid", vocab.paper_iri)
        year = self.checked("year", _year)
        doi = self.checked("doi", vocab.doi_iri)
        if pmcid is None:
            return  # no paper to hang the paper fields on (their values were still checked)
        paper = iri(pmcid)
        self.out.paper_iri = pmcid
        self.own(IS_PART_OF, paper)

        def add(p: str, o: str) -> None:
            line = triple(paper, p, o)
            if line not in self.paper_seen:  # "A | A" keywords: one triple
                self.paper_seen.add(line)
                self.out.paper.append(line)

        add(A, T_PAPER)
        pmc = self.text("pmcid") or ""
        add(IDENTIFIER, literal(pmc))
        add(PMCID, literal(pmc))
        for key, prop in (("papertitle", TITLE), ("reftext", CITATION), ("journal_title", K["journalTitle"]),
                          ("journal_nlm_ta", NLM_TA), ("publisher_name", PUBLISHER)):
            text = self.text(key)
            if text is not None:
                add(prop, literal(text))
        if year is not None:
            add(PUB_YEAR, literal(year, XSD + "gYear"))
        if doi is not None:
            add(DOI_LITERAL, literal(self.text("doi") or ""))
            add(SAME_AS, iri(doi))
        for keyword in _keywords(self.text("keywords")):
            add(KEYWORDS, literal(keyword))

    def redrawn(self) -> None:
        """The WikiPathways pathways the figure was redrawn as: the ``wpid`` field (one id or a
        list; a malformed one rejects the record, as any malformed field) and the rows of the
        site's ``wpid_map.tsv`` naming the figure (a malformed one is a row warning)."""
        pathways: list[str] = []
        if isinstance(self.f.get("wpid"), dict):
            raise self.record.error("wpid", "'wpid' must be a WikiPathways id or a list of them, not a mapping")
        for text in values(self.f.get("wpid")):
            built = self.checked("wpid", vocab.wikipathways_iri, text)
            assert built is not None
            pathways.append(built)
        for row in self.record.wpid_rows:
            built = self.row_checked(row, "WPID", vocab.wikipathways_iri, row.wpid, "no kg:redrawnAs link from this row")
            if built is not None:
                pathways.append(built)
        for pathway in dict.fromkeys(pathways):
            node = iri(pathway)
            self.own(K["redrawnAs"], node)
            self.entity(node, IDENTIFIER, literal(pathway[len(vocab.WIKIPATHWAYS):]))

    # ------------------------------------------------------------------ entities
    def entity(self, s: str, p: str, o: str) -> None:
        self.add_entity(triple(s, p, o))

    def add_entity(self, line: str) -> None:
        if line not in self.entity_seen:
            self.entity_seen.add(line)
            self.out.entities.append(line)

    def taxon(self, taxid: str, name: str | None) -> str:
        taxon = iri(vocab.taxon_iri(taxid))
        self.entity(taxon, A, T_ORGANISM)
        if name:
            self.entity(taxon, LABEL, literal(name))
        return taxon

    def table_taxa(self) -> dict[str, tuple[str, str]]:
        """``name (lower case) -> (taxid, name)`` as this record's genes table pairs
        ``organism_name`` with ``organism_id`` (names paired with two ids are left out)."""
        pairs: dict[str, set[tuple[str, str]]] = {}
        for row in self.record.genes:
            if row.organism_name and row.taxid and row.taxid.isdigit():
                pairs.setdefault(row.organism_name.lower(), set()).add((row.taxid, row.organism_name))
        return {name: next(iter(found)) for name, found in pairs.items() if len({t for t, _ in found}) == 1}

    def organisms(self) -> None:
        """Organism names become taxa when this record's genes table or the bundled NCBI
        Taxonomy names say which taxon the exact name is; else a kg:organismName literal."""
        table = None
        for key, prop in (("organisms", K["metadataOrganism"]), ("organisms_ner", K["nerOrganism"])):
            for name in values(self.f.get(key)):
                if table is None:
                    table = self.table_taxa()
                known = table.get(name.strip().lower()) or vocab.organism_for_name(name)
                if known is None:
                    self.own(K["organismName"], literal(name))
                    continue
                taxon = self.taxon(*known)
                self.own(prop, taxon)
                self.own(WP_ORGANISM, taxon)

    def mention(self, kind: str, entity_id: str, word: str | None, refers: list[str], match: str | None,
                source: str | None) -> None:
        """One mention node; without an OCR word (``NA`` in the table) it has no kg:ocrWord."""
        m = iri(vocab.mention_iri(self.out.figure, kind, entity_id, word or ""))
        self.own(K["hasMention"], m)
        self.own(A, T_MENTION[kind], m)
        if word is not None:
            self.own(K["ocrWord"], literal(word), m)
        if match is not None:
            self.own(K["matchedText"], literal(match), m)
        if source is not None:
            self.own(K["matchSource"], literal(source), m)
        for target in refers:
            self.own(K["refersTo"], target, m)

    def genes(self) -> None:
        for row in self.record.genes:
            gene_iri = None
            if row.ncbigene_id is not None:
                gene_iri = self.row_checked(row, "ncbigene_id", vocab.gene_iri, row.ncbigene_id,
                                            "no gene is linked" + (", the OCR word is kept" if row.word else ""))
            if gene_iri is None:
                if row.word is not None:
                    self.mention("gene", "-", row.word, [], row.match, row.source)
                continue
            gene = iri(gene_iri)
            assert row.ncbigene_id is not None
            self.own(K["mentionsGene"], gene)
            self.mention("gene", row.ncbigene_id, row.word, [gene], row.match, row.source)
            taxid = None
            if row.taxid and self.row_checked(row, "organism_id", vocab.taxon_iri, row.taxid,
                                              "the gene is linked without an organism"):
                taxid = row.taxid
                taxon = self.taxon(taxid, row.organism_name)
                self.own(K["tableOrganism"], taxon)
                self.own(WP_ORGANISM, taxon)
            for line in _gene_lines(gene, row.ncbigene_id, row.symbol, taxid):
                self.add_entity(line)

    def terms(self, kind: str, rows: list[TermRow]) -> None:
        link = K["mentionsChemical"] if kind == "chemical" else K["mentionsDisease"]
        xref_iri = vocab.chebi_iri if kind == "chemical" else vocab.doid_iri
        xref_column = "chebi" if kind == "chemical" else "doid"
        for row in rows:
            mesh = None
            if row.mesh is not None:
                mesh = self.row_checked(row, "mesh", vocab.mesh_iri, row.mesh, "the MeSH term is left out")
            xref = None
            if row.xref:
                xref = self.row_checked(row, xref_column, xref_iri, row.xref, f"the {xref_column.upper()} term is left out")
            if mesh is None:  # no MeSH term: the mention refers to the ChEBI/DOID term if there is one
                refers = []
                if xref is not None:
                    refers.append(iri(xref))
                    if row.name:
                        self.entity(iri(xref), LABEL, literal(row.name))
                if row.word is not None or refers:
                    self.mention(kind, xref[xref.rindex("_") + 1:] if xref else "-", row.word, refers, row.match,
                                 row.source)
                continue
            node = iri(mesh)
            entity_id = node[len(vocab.MESH) + 1:-1]
            self.own(link, node)
            refers = [node]
            if kind == "chemical":
                for t in T_CHEMICAL:
                    self.entity(node, A, t)
            else:
                self.entity(node, A, T_DISEASE)
            if row.match:
                self.entity(node, LABEL, literal(row.match))
            if xref is not None:
                if kind == "chemical":  # WikiPathways' own form of the ChEBI id
                    self.entity(node, WP_CHEBI, iri(vocab.chebi_identifiers_iri(xref[len(vocab.CHEBI):])))
                xref = iri(xref)
                self.entity(node, CLOSE_MATCH, xref)
                if row.name:
                    self.entity(xref, LABEL, literal(row.name))
                refers.append(xref)
            self.mention(kind, entity_id, row.word, refers, row.match, row.source)


@lru_cache(maxsize=65536)
def _gene_lines(gene: str, ncbigene_id: str, symbol: str | None, taxid: str | None) -> tuple[str, ...]:
    """The triples about one gene (cached: genes recur across figures)."""
    lines = [triple(gene, A, t) for t in T_GENE]
    lines += [triple(gene, IDENTIFIER, literal(ncbigene_id)), triple(gene, WP_ENTREZ, gene)]
    if symbol:
        lines += [triple(gene, LABEL, literal(symbol)), triple(gene, K["symbol"], literal(symbol))]
    if taxid:
        lines.append(triple(gene, WP_ORGANISM, iri(vocab.taxon_iri(taxid))))
        if taxid == vocab.HUMAN_TAXON and symbol:
            lines.append(triple(gene, WP_HGNC, iri(vocab.hgnc_symbol_iri(symbol))))
    return tuple(lines)


def _keywords(text: str | None) -> list[str]:
    if text is None:
        return []
    return [k for k in (part.strip() for part in text.split(" | ")) if k and k not in ("NA", ".na.character")]


def _year(text: str) -> str:
    if not _YEAR.fullmatch(text):
        raise ValueError(f"year must be four digits, got {text!r}")
    return text


#: Scores are probabilities; a decimal is refused past this many characters or this exponent,
#: before ``Decimal`` formats it (``1e999999999`` would be a billion-digit literal).
MAX_DECIMAL_CHARS = 40
MAX_DECIMAL_EXPONENT = 30
MAX_INTEGER_DIGITS = 18
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def _short(text: str, limit: int = 60) -> str:
    return repr(text) if len(text) <= limit else repr(text[:limit]) + f"... ({len(text)} characters)"


def _decimal(text: str) -> str:
    if len(text) > MAX_DECIMAL_CHARS:
        raise ValueError(f"number too long (more than {MAX_DECIMAL_CHARS} characters): {_short(text)}")
    if not _DECIMAL.fullmatch(text):
        infinite = text.lower().lstrip("+-.") in ("inf", "infinity", "nan")
        raise ValueError(f"not a {'finite ' if infinite else ''}number: {_short(text)}")
    mantissa, _, exponent = text.lower().partition("e")
    if exponent and abs(int(exponent)) > MAX_DECIMAL_EXPONENT + MAX_DECIMAL_CHARS:
        raise ValueError(f"number out of range (exponent beyond ±{MAX_DECIMAL_EXPONENT}): {_short(text)}")
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"not a number: {_short(text)}") from None
    if number and abs(number.adjusted()) > MAX_DECIMAL_EXPONENT:
        raise ValueError(f"number out of range (exponent beyond ±{MAX_DECIMAL_EXPONENT}): {_short(text)}")
    return format(number, "f")


def _integer(text: str) -> str:
    if not (text.isascii() and text.isdigit()):
        raise ValueError(f"not a whole number: {_short(text)}")
    if len(text.lstrip("0")) > MAX_INTEGER_DIGITS:
        raise ValueError(f"number out of range (more than {MAX_INTEGER_DIGITS} digits): {_short(text)}")
    return str(int(text))


def _uuid(text: str) -> str:
    if not _UUID.fullmatch(text):
        raise ValueError(f"not an NDEx network UUID: {text!r}")
    return text.lower()


def unmapped_fields(fields: dict[str, Any]) -> list[str]:
    """Front-matter keys that are neither mapped nor deliberately dropped."""
    return sorted(set(fields) - MAPPED_FIELDS - set(DROPPED_FIELDS))
