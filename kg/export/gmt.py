"""Figure gene sets (and chemical sets) as GMT files, in PFOCR's published format.

PFOCR releases one GMT file per organism each month (``pfocr-<YYYYMMDD>-gmt-<Organism_name>.gmt``
for genes, ``pfocr-<YYYYMMDD>-chemical-gmt-<Organism_name>.gmt`` for chemicals), read by
Enrichr, PFOCRummage, clusterProfiler, gseapy and GSEA.  Each line is one figure::

    figid_alias <TAB> figtitle <TAB> NCBI Gene id <TAB> NCBI Gene id ...

(chemicals: ``chebi:<n>`` CURIEs, as PFOCR's chemical tables write them).  kg writes the same
from the store: the figure's alias (``kg:figureAlias``, else its figid), its title
(``dcterms:title`` on one line, else its figid), and the ids of the genes it mentions
(``kg:mentionsGene``) in ascending numeric order, each once.  Lines are sorted by their first
column; a first column two figures share is replaced by each figure's figid, so every line
names one figure.

* ``organism``: only genes of that organism (the gene's ``wp:organism``, from the figure's
  genes table); chemicals of figures of that organism (the figure's ``wp:organism``).
* A folder output writes one file per organism, named as PFOCR names its release files;
  genes without an organism are then left out (they are in the one-file export).
* ``query``: a SPARQL SELECT (a ``.rq`` file, a library query name or text, run like
  ``kg query``) whose ``?figure`` column (figure IRIs or figids) restricts the figures.
"""

from __future__ import annotations

import datetime as _dt
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Iterable, Mapping

import pyoxigraph as ox

from .. import vocab
from ..errors import QueryError
from ..outputs import is_stdout, open_output
from ..store import DEFAULT_STORE, open_store
from ..store import query as store_query
from . import FIGURE_GENES, ExportFolder, clean_text

KINDS = ("genes", "chemicals")
_PREFIXES = (f"PREFIX kg: <{vocab.KG}>\nPREFIX wp: <{vocab.WP}>\nPREFIX dcterms: <{vocab.DCTERMS}>\n"
             f"PREFIX rdfs: <{vocab.RDFS}>\n")
# Few, plain queries: answers are aggregated by Oxigraph (GROUP_CONCAT) where they are
# many, since building Python objects per row costs more than the query itself.
_FIGURES = _PREFIXES + """
SELECT ?figure ?figid ?alias ?title WHERE {
  ?figure a kg:PathwayFigure .
  OPTIONAL { ?figure dcterms:identifier ?figid }
  OPTIONAL { ?figure kg:figureAlias ?alias }
  OPTIONAL { ?figure dcterms:title ?title }
}"""
_GENE_TAXA = _PREFIXES + "SELECT ?gene ?taxon WHERE { ?gene a kg:Gene ; wp:organism ?taxon }"
# a chemical mention refers to its MeSH term and/or its ChEBI term (OBO PURL); a MeSH
# chemical may carry its ChEBI term as wp:bdbChEBI (in whichever IRI form kg writes it)
_CHEMICALS = _PREFIXES + """
SELECT ?figure (GROUP_CONCAT(STR(?term); SEPARATOR=" ") AS ?members) WHERE {
  ?mention a kg:ChemicalMention ; kg:refersTo ?term .
  ?figure kg:hasMention ?mention
} GROUP BY ?figure"""
_CHEBI_OF = _PREFIXES + "SELECT ?term ?chebi WHERE { ?term wp:bdbChEBI ?chebi }"
_FIGURE_TAXA = _PREFIXES + """
SELECT ?figure (GROUP_CONCAT(STR(?taxon); SEPARATOR=" ") AS ?taxa) WHERE {
  ?figure a kg:PathwayFigure ; wp:organism ?taxon
} GROUP BY ?figure"""
_TAXA = _PREFIXES + "SELECT ?taxon ?label WHERE { ?taxon a kg:Organism OPTIONAL { ?taxon rdfs:label ?label } }"

_CHEBI_NUMBER = re.compile(r"CHEBI[_:]([0-9]+)$", re.IGNORECASE)
_DATE = re.compile(r"[0-9]{8}")
_FILE_SAFE = re.compile(r"[^A-Za-z0-9_.-]+")


@dataclass
class GmtFile:
    """One GMT file written: where, for which organism (None: all), and its lines."""

    path: str
    organism: str | None
    lines: int


@dataclass
class GmtReport:
    """What :func:`export_gmt` wrote."""

    kind: str
    files: list[GmtFile] = field(default_factory=list)
    figures_selected: int | None = None  # by the query, when one was given
    renamed: list[str] = field(default_factory=list)  # figids whose alias another figure shares

    @property
    def lines(self) -> int:
        return sum(f.lines for f in self.files)

    def __str__(self) -> str:
        what = "gene sets" if self.kind == "genes" else "chemical sets"
        where = ", ".join(f"{f.path} ({f.lines})" for f in self.files[:6])
        if len(self.files) > 6:
            where += f" and {len(self.files) - 6} more files"
        text = f"{self.lines} {what} (one per figure) in {len(self.files)} GMT file(s): {where}"
        if self.figures_selected is not None:
            text += f"; the query selected {self.figures_selected} figures"
        if self.renamed:
            text += f"; {len(self.renamed)} figures share an alias and are named by figid"
        return text


@dataclass(frozen=True)
class Figure:
    iri: str
    figid: str
    alias: str
    title: str


def _value(term: ox.NamedNode | ox.Literal | ox.BlankNode | None) -> str | None:
    return None if term is None else term.value


def _taxid(iri: str | None) -> str | None:
    if iri is not None and iri.startswith(vocab.NCBITAXON):
        local = iri[len(vocab.NCBITAXON):]
        return local if local.isdigit() else None
    return None


def _member(kind: str, iri: str) -> int | None:
    """The NCBI Gene id or ChEBI number of a gene or ChEBI IRI, None for anything else (kept
    as a number: sets of numbers take a fraction of the memory of strings)."""
    if kind == "genes":
        if iri.startswith(vocab.NCBIGENE):
            local = iri[len(vocab.NCBIGENE):]
            if local.isdigit() and local[0] != "0":
                return int(local)
        return None
    match = _CHEBI_NUMBER.search(iri)
    return int(match.group(1)) if match and match.group(1)[0] != "0" else None


def _gmt_id(kind: str, number: int) -> str:
    return str(number) if kind == "genes" else f"chebi:{number}"


def organism_file_name(kind: str, date: str, organism: str) -> str:
    """PFOCR's release file name: ``pfocr-<date>-gmt-<Organism_name>.gmt`` (genes) or
    ``pfocr-<date>-chemical-gmt-<Organism_name>.gmt`` (chemicals)."""
    infix = "gmt" if kind == "genes" else "chemical-gmt"
    return f"pfocr-{date}-{infix}-{organism}.gmt"


class _Reader:
    """The figures, their members and the organisms, read from an open store."""

    def __init__(self, store: ox.Store, kind: str):
        self.store = store
        self.kind = kind

    def rows(self, sparql: str) -> Iterable[ox.QuerySolution]:
        return store_query(self.store, sparql)

    def figures(self) -> dict[str, Figure]:
        rows: dict[str, tuple[str, str, str]] = {}
        for row in self.rows(_FIGURES):
            iri = row["figure"]
            if not isinstance(iri, ox.NamedNode):
                continue
            figid = _value(row["figid"]) or vocab.figid_of_figure_iri(iri.value) or iri.value
            values = (figid, clean_text(_value(row["alias"]) or "") or figid,
                      clean_text(_value(row["title"]) or "") or figid)
            known = rows.get(iri.value)
            rows[iri.value] = values if known is None else min(known, values)  # several values: the least
        return {iri: Figure(iri, *values) for iri, values in rows.items()}

    def members(self) -> dict[str, dict[str | None, set[int]]]:
        """``figure -> taxid (None: none known) -> members``: for genes the gene's organism,
        for chemicals every organism of the figure (and None: the whole figure)."""
        sets: dict[str, dict[str | None, set[int]]] = {}
        if self.kind == "genes":
            gene_taxa: dict[str, list[str]] = {}
            for row in self.rows(_GENE_TAXA):
                taxid = _taxid(row["taxon"].value)
                if taxid is not None:
                    gene_taxa.setdefault(row["gene"].value, []).append(taxid)
            for row in self.rows(FIGURE_GENES):
                by_taxon = sets.setdefault(row["figure"].value, {})
                for gene in row["genes"].value.split():
                    member = _member("genes", gene)
                    if member is not None:
                        for taxid in gene_taxa.get(gene) or (None,):
                            by_taxon.setdefault(taxid, set()).add(member)
            return sets
        chebi_of = {row["term"].value: row["chebi"].value for row in self.rows(_CHEBI_OF)}
        figure_taxa = {row["figure"].value: [t for t in map(_taxid, row["taxa"].value.split()) if t]
                       for row in self.rows(_FIGURE_TAXA)}
        for row in self.rows(_CHEMICALS):
            figure = row["figure"].value
            found = set()
            for term in row["members"].value.split():
                member = _member("chemicals", term) or (_member("chemicals", chebi_of[term]) if term in chebi_of
                                                        else None)
                if member is not None:
                    found.add(member)
            if found:
                by_taxon = sets.setdefault(figure, {})
                for taxid in figure_taxa.get(figure) or (None,):
                    by_taxon.setdefault(taxid, set()).update(found)
        return sets

    def taxon_names(self) -> dict[str, str]:
        """``taxid -> organism name`` (the taxon's label in the store, else kg's organism table)."""
        curated = {taxid: name for taxid, name in vocab.organism_table().values()}
        labels: dict[str, str] = {}
        for row in self.rows(_TAXA):
            taxid = _taxid(_value(row["taxon"]))
            if taxid is not None:
                label = clean_text(_value(row["label"]) or "")
                if label and (not labels.get(taxid) or label < labels[taxid]):
                    labels[taxid] = label  # several labels: the least
                else:
                    labels.setdefault(taxid, "")
        return {taxid: label or curated.get(taxid) or f"NCBITaxon_{taxid}" for taxid, label in labels.items()}


def resolve_organism(spec: str, names: Mapping[str, str]) -> str:
    """The NCBI taxon id an ``--organism`` value names: a taxon id, ``NCBITaxon:<id>``, or an
    organism name (any case, spaces or underscores) known to the store or to NCBI Taxonomy."""
    text = spec.strip()
    if text.lower().startswith("ncbitaxon:"):
        text = text.split(":", 1)[1]
    if text.isdigit():
        return text
    key = " ".join(text.replace("_", " ").split()).lower()
    for taxid, name in names.items():
        if name.lower() == key:
            return taxid
    found = vocab.organism_for_name(key)
    if found is None:
        raise ValueError(f"unknown organism {spec!r}: give an NCBI taxon id (9606) or a scientific name "
                         f"NCBI Taxonomy knows (Homo sapiens)")
    return found[0]


def selected_figures(query: str, store: str | Path, figures: Mapping[str, Figure]) -> set[str]:
    """The figure IRIs the query's ``?figure`` column names (IRIs or figids)."""
    from ..query import run_query

    result = run_query(query, store=store)
    if "figure" not in result.variables:
        raise QueryError(f"the query must SELECT ?figure (figure IRIs or figids); it selects "
                         f"{', '.join('?' + v for v in result.variables) or 'nothing'}")
    by_figid = {f.figid: iri for iri, f in figures.items()}
    chosen = set()
    for row in result.rows:
        term = row.get("figure")
        if isinstance(term, ox.NamedNode):
            chosen.add(term.value)
        elif isinstance(term, ox.Literal) and term.value in by_figid:
            chosen.add(by_figid[term.value])
    return chosen


def _names(lines: list[tuple[Figure, list[str]]], renamed: set[str]) -> list[tuple[str, Figure, list[str]]]:
    """Each line's first column: the alias, or the figid where figures share an alias."""
    count: dict[str, int] = {}
    for figure, _ in lines:
        count[figure.alias] = count.get(figure.alias, 0) + 1
    named = []
    for figure, ids in lines:
        name = figure.alias
        if count[name] > 1:
            name = figure.figid
            renamed.add(figure.figid)
        named.append((name, figure, ids))
    return sorted(named, key=lambda item: (item[0], item[1].figid))


def write_gmt(fh: IO[str], lines: Iterable[tuple[str, str, list[str]]]) -> int:
    """Write ``(name, description, ids)`` lines; return how many."""
    count = 0
    for name, description, ids in lines:
        fh.write("\t".join([name, description, *ids]) + "\n")
        count += 1
    return count


def export_gmt(store: str | Path = DEFAULT_STORE, output: str | Path = "-", *, organism: str | None = None,
               kind: str = "genes", query: str | None = None, min_size: int = 1,
               date: str | None = None) -> GmtReport:
    """Write the figures' gene sets (``kind="genes"``) or chemical sets (``"chemicals"``) of
    the store as GMT, in PFOCR's release format (see the module docstring).

    ``output`` is a file (``-``: standard output) holding every organism's figures, or only
    ``organism``'s; or a folder (an existing one, or a path ending in ``/``) that gets one
    file per organism named ``pfocr-<date>-gmt-<Organism_name>.gmt`` (``date``: YYYYMMDD,
    default today, UTC).  ``query`` restricts the figures (its ``?figure`` column);
    ``min_size`` leaves out figures with fewer ids."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
    if min_size < 1:
        raise ValueError(f"min_size must be at least 1, got {min_size}")
    date = date or _dt.datetime.now(_dt.timezone.utc).strftime("%Y%m%d")
    if not _DATE.fullmatch(date):
        raise ValueError(f"date must be YYYYMMDD, got {date!r}")
    text = str(output)
    to_folder = not is_stdout(output) and (text.endswith(("/", os.sep)) or Path(text).is_dir())
    folder = ExportFolder(output, "GMT") if to_folder else None  # refuses before any work

    st = open_store(store, read_only=True)
    try:
        reader = _Reader(st, kind)
        figures = reader.figures()
        members = reader.members()
        names = reader.taxon_names()
    finally:
        del st
    report = GmtReport(kind)
    if query is not None:
        chosen = selected_figures(query, store, figures)
        report.figures_selected = len(chosen)
        figures = {iri: f for iri, f in figures.items() if iri in chosen}
    taxid = resolve_organism(organism, names) if organism is not None else None

    def sets_for(taxon: str | None, every: bool) -> list[tuple[Figure, list[str]]]:
        lines = []
        for iri, figure in figures.items():
            by_taxon = members.get(iri)
            if not by_taxon:
                continue
            if every:
                found = set().union(*by_taxon.values())
            else:
                found = by_taxon.get(taxon, set())
            if len(found) >= min_size:
                lines.append((figure, [_gmt_id(kind, member) for member in sorted(found)]))
        return lines

    renamed: set[str] = set()
    if folder is None:
        lines = _names(sets_for(taxid, taxid is None), renamed)
        with open_output(output, "w") as fh:
            count = write_gmt(fh, ((name, f.title, ids) for name, f, ids in lines))
        report.files.append(GmtFile("standard output" if is_stdout(output) else str(output),
                                    names.get(taxid, taxid) if taxid else None, count))
    else:
        taxa = sorted({t for by_taxon in members.values() for t in by_taxon if t is not None},
                      key=lambda t: (names.get(t, ""), int(t)))
        if taxid is not None:
            taxa = [taxid]
        used: dict[str, str] = {}
        for taxon in taxa:
            lines = _names(sets_for(taxon, False), renamed)
            if not lines:
                continue
            name = _FILE_SAFE.sub("_", names.get(taxon, f"NCBITaxon_{taxon}").replace(" ", "_")).strip("_.")
            if used.get(name, taxon) != taxon:  # two taxa, one name: keep both apart
                name = f"{name}_NCBITaxon_{taxon}"
            used[name] = taxon
            file_name = organism_file_name(kind, date, name)
            with folder.open(file_name) as fh:
                count = write_gmt(fh, ((n, f.title, ids) for n, f, ids in lines))
            report.files.append(GmtFile(str(folder.folder / file_name), names.get(taxon, taxon), count))
        folder.finish(kind=kind, date=date, organism=organism, query=query, min_size=min_size)
    report.renamed = sorted(renamed)
    return report
