"""Every library query, checked against expectations computed straight from the sample
records (YAML front matter and ``_data`` TSV tables), on the embedded store and on a real
``oxigraph serve`` loaded with the Turtle dump (both must give identical answers)."""

from __future__ import annotations

import csv
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import pyoxigraph as ox
import pytest
import yaml

from kg.query import (EXAMPLES_BASE, example_query, examples_turtle, format_results, list_queries, param_example,
                      resolve_query, run_query)
from kg.vocab import PREFIXES

from conftest import SAMPLE

NCBIGENE = "https://identifiers.org/ncbigene/"
TAXON = "http://purl.obolibrary.org/obo/NCBITaxon_"
MESH = "http://id.nlm.nih.gov/mesh/"
CHEBI = "http://purl.obolibrary.org/obo/CHEBI_"
DOID = "http://purl.obolibrary.org/obo/DOID_"
PMC = "https://identifiers.org/pmc/"
MISSING = {"", "NA", ".na.character", "NULL", "null", "None"}

# --------------------------------------------------------------------------- the records, read independently


def val(raw) -> str | None:
    if raw is None or isinstance(raw, (dict, list)):
        return None
    text = str(raw).strip()
    return None if text in MISSING else text


def vals(raw) -> list[str]:
    items = raw if isinstance(raw, list) else [raw]
    return [v for v in (val(x) for x in items) if v is not None]


@dataclass(frozen=True)
class Gene:
    word: str
    match: str | None
    source: str | None
    id: str | None
    symbol: str | None
    taxid: str | None
    organism: str | None


@dataclass(frozen=True)
class Term:
    word: str
    mesh: str | None  # local id, e.g. D005227
    match: str | None
    name: str | None
    xref: str | None  # CHEBI_/DOID_ IRI
    source: str | None


@dataclass
class Fig:
    figid: str
    iri: str
    fields: dict
    genes: list[Gene] = field(default_factory=list)
    chemicals: list[Term] = field(default_factory=list)
    diseases: list[Term] = field(default_factory=list)

    @property
    def gene_ids(self) -> set[str]:
        return {g.id for g in self.genes if g.id}


def _table(path: Path) -> list[dict[str, str | None]]:
    if not path.is_file():
        return []
    with open(path, encoding="utf-8", newline="") as fh:
        return [{k.strip(): val(v) for k, v in row.items()}
                for row in csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE)]


def _local(ident: str | None) -> str | None:
    return ident.split(":", 1)[1] if ident and ":" in ident else ident


@lru_cache(maxsize=1)
def figures() -> tuple[Fig, ...]:
    out = []
    for path in sorted((SAMPLE / "_figures").glob("*.md")):
        text = path.read_text("utf-8")
        fields = yaml.safe_load(text.split("\n---", 1)[0].split("---\n", 1)[1])
        figid = fields["figid"]
        block = fields.get("schema-jsonld") or {}
        fig = Fig(figid, block.get("@id") or f"https://pfocr.wikipathways.org/figures/{figid}.html", fields)
        for item in fields.get("genes") or []:
            if isinstance(item, dict) and val(item.get("word")):
                symbol = val(item.get("hgnc_symbol"))
                fig.genes.append(Gene(val(item["word"]), val(item.get("symbol")), val(item.get("source")),
                                      val(item.get("entrez")), symbol, "9606" if symbol else None,
                                      "Homo sapiens" if symbol else None))
        for kind, target in (("chemicals", fig.chemicals), ("diseases", fig.diseases)):
            for item in fields.get(kind) or []:
                if isinstance(item, dict) and val(item.get("word")):
                    source = val(item.get("source"))
                    mesh = val(item.get("identifier")) if source and source.upper() == "MESH" else None
                    target.append(Term(val(item["word"]), mesh, None, None, None, source))
        data = SAMPLE / "_data"
        for row in _table(data / f"{figid}-genes.tsv"):
            fig.genes.append(Gene(row["word"], row["match"], row["source"], row["ncbigene_id"],
                                  row["ncbigene_symbol"], row["organism_id"], row["organism_name"]))
        for kind, prefix, target in (("chemicals", CHEBI, fig.chemicals), ("diseases", DOID, fig.diseases)):
            xref_col = "chebi" if kind == "chemicals" else "doid"
            for row in _table(data / f"{figid}-{kind}.tsv"):
                xref = _local(row[xref_col])
                target.append(Term(row["word"], _local(row["mesh"]), row["match"], row["name"],
                                   prefix + xref if xref else None, None))
        out.append(fig)
    return tuple(out)


@lru_cache(maxsize=1)
def by_id(figid: str) -> Fig:
    return next(f for f in figures() if f.figid == figid)


def gene_values(attribute: str) -> dict[str, set[str]]:
    """NCBI Gene id -> every value of a gene row ``attribute`` (symbol, taxid) in the sample."""
    out: dict[str, set[str]] = defaultdict(set)
    for f in figures():
        for g in f.genes:
            if g.id and getattr(g, attribute):
                out[g.id].add(getattr(g, attribute))
    return out


def gene_symbols() -> dict[str, set[str]]:
    return gene_values("symbol")


def gene_taxa() -> dict[str, set[str]]:
    return gene_values("taxid")


def term_labels(kind: str) -> tuple[dict[str, set[str]], dict[str, set[str]], dict[str, set[str]]]:
    """MeSH labels (matched text), xrefs, and xref labels (names) over all records."""
    labels, xrefs, names = defaultdict(set), defaultdict(set), defaultdict(set)
    for f in figures():
        for t in (f.chemicals if kind == "chemicals" else f.diseases):
            if t.mesh:
                if t.match:
                    labels[t.mesh].add(t.match)
                if t.xref:
                    xrefs[t.mesh].add(t.xref)
                    if t.name:
                        names[t.xref].add(t.name)
    return labels, xrefs, names


def named_taxa(f: Fig) -> dict[str, tuple[str, str | None]]:
    """The figure's organism names that map to a taxon, as kg maps them: the pairs of its own
    genes table (a name paired with one organism_id), else the bundled NCBI Taxonomy names."""
    from kg.vocab import organism_for_name

    pairs: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for g in f.genes:
        if g.organism and g.taxid and g.taxid.isdigit():
            pairs[g.organism.lower()].add((g.taxid, g.organism))
    own = {k: next(iter(v)) for k, v in pairs.items() if len({t for t, _ in v}) == 1}
    names = vals(f.fields.get("organisms")) + vals(f.fields.get("organisms_ner"))
    found = {n: own.get(n.lower()) or organism_for_name(n) for n in names}
    return {n: t for n, t in found.items() if t is not None}


def figure_taxa(f: Fig) -> set[str]:
    return {t for t, _ in named_taxa(f).values()} | {g.taxid for g in f.genes if g.id and g.taxid}


def taxon_labels() -> dict[str, set[str]]:
    out: dict[str, set[str]] = defaultdict(set)
    for f in figures():
        for taxid, label in named_taxa(f).values():
            if label:
                out[taxid].add(label)
        for g in f.genes:
            if g.id and g.taxid and g.organism:
                out[g.taxid].add(g.organism)
    return out


def genes_matching(spec: str) -> set[str]:
    """Gene ids a ``gene`` parameter selects: IRI, id, or symbol in any case."""
    symbols = gene_symbols()
    ids = {g.id for f in figures() for g in f.genes if g.id}
    if spec.startswith("ncbigene:"):
        return {spec.split(":", 1)[1]} & ids
    return {i for i in ids if i == spec or any(s.lower() == spec.lower() for s in symbols.get(i, ()))}


# --------------------------------------------------------------------------- helpers


def I(iri: str) -> ox.NamedNode:  # noqa: E743 - short on purpose
    return ox.NamedNode(iri)


def L(text: str) -> ox.Literal:
    return ox.Literal(text)


def N(number: int) -> ox.Literal:
    return ox.Literal(str(number), datatype=ox.NamedNode("http://www.w3.org/2001/XMLSchema#integer"))


def run(sample_store, name: str, **params):
    return run_query(resolve_query(name), store=sample_store, params=params)


def tuples(result, *names) -> list[tuple]:
    return [tuple(row.get(n) for n in names) for row in result.rows]


def opt(factory, value):
    return None if value is None else factory(value)


def sort_key(*values):
    """SPARQL ascending order for our columns: unbound first, then by lexical value."""
    return tuple((v is not None, v.value if v is not None else "") for v in values)


GENE_FIGURES = [f.figid for f in figures() if f.gene_ids]

# --------------------------------------------------------------------------- library shape


def test_library_has_documented_queries():
    queries = {q.name: q for q in list_queries()}
    assert len(queries) >= 12
    assert {"genes-of-figure", "figures-of-gene", "figures-with-all-genes", "top-genes", "gene-cooccurrence",
            "figures-per-organism", "figures-per-year", "papers-most-figures", "chemicals-of-figure",
            "figures-gene-disease", "figures-by-journal", "mention-provenance"} <= set(queries)
    for q in queries.values():
        lines = q.text.splitlines()
        assert lines[0].startswith("# ") and lines[0].endswith("?"), q.name
        assert q.description == lines[0][2:]
        params = [line for line in lines if line.startswith("# param:")]
        assert [p.split()[2] for p in params] == q.params
        assert all(" — " in p and p.rstrip().endswith(")") for p in params), q.name
        assert not re.search(r"\bGRAPH\s*[?<$]", q.text, re.IGNORECASE), q.name  # works on the union
        assert q.keywords and all(k == k.strip() and k for k in q.keywords), q.name
        assert [line for line in lines if line.startswith("# keywords:")] == [lines[1 + len(params)]], q.name
        assert all(param_example(q.param_help[p]) for p in q.params), q.name
    assert {"pathways-sharing-genes", "figures-like-pathway", "figures-redrawn"} <= set(queries)


# --------------------------------------------------------------------------- one test per query


@pytest.mark.parametrize("figid", [f.figid for f in figures()])
def test_genes_of_figure(sample_store, figid):
    f = by_id(figid)
    symbols, taxa = gene_symbols(), gene_taxa()
    expected = {(I(NCBIGENE + g), L(g), opt(L, s), opt(I, t and TAXON + t))
                for g in f.gene_ids for s in (symbols[g] or {None}) for t in (taxa[g] or {None})}
    by_figid = run(sample_store, "genes-of-figure", figure=figid)
    assert set(tuples(by_figid, "gene", "id", "symbol", "taxon")) == expected
    assert len(by_figid.rows) == len(expected)
    assert tuples(by_figid, "symbol", "gene") == sorted(tuples(by_figid, "symbol", "gene"), key=lambda t: sort_key(*t))
    assert run(sample_store, "genes-of-figure", figure=f"<{f.iri}>") == by_figid


def _figures_of_gene(spec: str) -> set[tuple]:
    wanted = genes_matching(spec)
    symbols = gene_symbols()
    return {(I(f.iri), L(f.figid), I(NCBIGENE + g), opt(L, s), opt(L, val(f.fields.get("figtitle"))))
            for f in figures() for g in f.gene_ids & wanted for s in (symbols[g] or {None})}


@pytest.mark.parametrize("gene", ["4040", "ncbigene:4040", "lrp6", "LRP6", "SRC", "6714", "cpt2", "Traf6",
                                  "NO-SUCH-GENE"])
def test_figures_of_gene(sample_store, gene):
    result = run(sample_store, "figures-of-gene", gene=gene)
    expected = _figures_of_gene(gene)
    assert set(tuples(result, "figure", "figid", "ncbigene", "symbol", "title")) == expected
    assert len(result.rows) == len(expected)
    assert (gene == "NO-SUCH-GENE") == (not expected)


def test_figures_of_gene_every_gene(sample_store):
    """Every gene of the sample, looked up by its id, finds exactly the figures mentioning it."""
    ids = sorted({g for f in figures() for g in f.gene_ids}, key=int)
    for gene in ids[::7]:
        result = run(sample_store, "figures-of-gene", gene=gene)
        assert {r["figid"].value for r in result.rows} == {f.figid for f in figures() if gene in f.gene_ids}


@pytest.mark.parametrize("symbols", ["LRP6,AKT1", " lrp6 , Akt1 ", "SRC", "CPT2,CPT1A", "CPT2,SRC", "WNT1,SRC,",
                                     "NOPE,LRP6"])
def test_figures_with_all_genes(sample_store, symbols):
    wanted = {s.strip().upper() for s in symbols.split(",") if s.strip()}
    expected = []
    for f in sorted(figures(), key=lambda f: f.figid):
        have = {g.symbol.upper() for g in f.genes if g.id and g.symbol}
        if wanted <= have:
            expected.append((I(f.iri), L(f.figid), N(len(wanted))))
    result = run(sample_store, "figures-with-all-genes", symbols=symbols)
    assert tuples(result, "figure", "figid", "genes") == expected
    if symbols == "LRP6,AKT1":
        assert expected  # the sample really has such a figure


def test_top_genes(sample_store):
    counts = Counter(g for f in figures() for g in f.gene_ids)
    symbols = gene_symbols()
    ranked = sorted(((I(NCBIGENE + g), opt(L, min(symbols[g]) if symbols[g] else None), N(n))
                     for g, n in counts.items()),
                    key=lambda t: (-int(t[2].value),) + sort_key(t[1], t[0]))
    result = run(sample_store, "top-genes")
    assert result.variables == ["gene", "symbol", "figures"]
    assert tuples(result, "gene", "symbol", "figures") == ranked[:25]
    assert int(result.rows[0]["figures"].value) == max(counts.values()) >= 2


@pytest.mark.parametrize("gene", ["SRC", "LRP6", "6714", "cpt2"])
def test_gene_cooccurrence(sample_store, gene):
    wanted = genes_matching(gene)
    partners: dict[str, set[str]] = defaultdict(set)
    for f in figures():
        for g in f.gene_ids & wanted:
            for other in f.gene_ids - {g}:
                partners[other].add(f.figid)
    symbols = gene_symbols()
    expected = sorted(((I(NCBIGENE + o), opt(L, min(symbols[o]) if symbols[o] else None), N(len(fs)))
                       for o, fs in partners.items()),
                      key=lambda t: (-int(t[2].value),) + sort_key(t[1], t[0]))
    result = run(sample_store, "gene-cooccurrence", gene=gene)
    assert tuples(result, "other", "symbol", "figures") == expected
    assert expected


def test_figures_per_organism(sample_store):
    counts = Counter(t for f in figures() for t in figure_taxa(f))
    labels = taxon_labels()
    expected = sorted(((I(TAXON + t), opt(L, min(labels[t]) if labels[t] else None), N(n))
                       for t, n in counts.items()),
                      key=lambda r: (-int(r[2].value),) + sort_key(r[1], r[0]))
    result = run(sample_store, "figures-per-organism")
    assert tuples(result, "organism", "name", "figures") == expected
    assert result.rows[0]["organism"] == I(TAXON + "9606")


def test_figures_per_year(sample_store):
    counts = Counter(val(f.fields.get("year")) for f in figures() if val(f.fields.get("pmcid")))
    result = run(sample_store, "figures-per-year")
    assert [(r["year"].value, int(r["figures"].value)) for r in result.rows] == sorted(counts.items())
    assert result.rows[0]["year"].datatype == I("http://www.w3.org/2001/XMLSchema#gYear")


def test_papers_most_figures(sample_store):
    papers: dict[str, list[Fig]] = defaultdict(list)
    for f in figures():
        papers[val(f.fields["pmcid"])].append(f)
    expected = sorted(((I(PMC + p), L(p), L(min(val(f.fields["papertitle"]) for f in fs)), N(len(fs)))
                       for p, fs in papers.items()),
                      key=lambda t: (-int(t[3].value), t[1].value))
    result = run(sample_store, "papers-most-figures")
    assert tuples(result, "paper", "pmcid", "title", "figures") == expected[:25]


@pytest.mark.parametrize("figid", [f.figid for f in figures()])
def test_chemicals_of_figure(sample_store, figid):
    labels, xrefs, _ = term_labels("chemicals")
    expected = {(I(MESH + t.mesh), opt(L, n), opt(I, x), L(t.word))
                for t in by_id(figid).chemicals if t.mesh
                for n in (labels[t.mesh] or {None}) for x in (xrefs[t.mesh] or {None})}
    result = run(sample_store, "chemicals-of-figure", figure=figid)
    assert set(tuples(result, "chemical", "name", "chebi", "word")) == expected
    assert len(result.rows) == len(expected)


def _disease_matches(t: Term, spec: str, labels, names) -> bool:
    refs = ([MESH + t.mesh] if t.mesh else []) + ([t.xref] if t.mesh and t.xref else [])
    iri = MESH + spec.split(":", 1)[1] if spec.startswith("mesh:") else None
    ref_labels = (labels[t.mesh] if t.mesh else set()) | {n for r in refs for n in names.get(r, ())}
    return iri in refs or t.word.lower() == spec.lower() or any(x.lower() == spec.lower() for x in ref_labels)


@pytest.mark.parametrize("gene,disease", [("LRP6", "mesh:D011488"), ("4040", "obs PROTEINS"), ("AKT1", "OBS proteins"),
                                          ("PLCB1", "cancer"), ("ADCY1", "Cancer"), ("LRP6", "cancer"),
                                          ("SRC", "mesh:D011488")])
def test_figures_gene_disease(sample_store, gene, disease):
    labels, _, names = term_labels("diseases")
    symbols = gene_symbols()
    expected = set()
    for f in figures():
        for g in f.gene_ids & genes_matching(gene):
            for t in f.diseases:
                if _disease_matches(t, disease, labels, names):
                    for s in symbols[g] or {None}:
                        expected.add((I(f.iri), L(f.figid), I(NCBIGENE + g), opt(L, s), L(t.word),
                                      opt(I, t.mesh and MESH + t.mesh)))
    result = run(sample_store, "figures-gene-disease", gene=gene, disease=disease)
    assert set(tuples(result, "figure", "figid", "ncbigene", "symbol", "diseaseWord", "diseaseTerm")) == expected
    assert len(result.rows) == len(expected)
    if (gene, disease) in {("LRP6", "mesh:D011488"), ("ADCY1", "Cancer")}:
        assert expected


def test_figures_by_journal(sample_store):
    figs, papers = Counter(), defaultdict(set)
    for f in figures():
        journal = val(f.fields.get("journal_title"))
        if journal:
            figs[journal] += 1
            papers[journal].add(val(f.fields["pmcid"]))
    expected = sorted(((L(j), N(n), N(len(papers[j]))) for j, n in figs.items()),
                      key=lambda t: (-int(t[1].value), t[0].value))
    result = run(sample_store, "figures-by-journal")
    assert tuples(result, "journal", "figures", "papers") == expected


@pytest.mark.parametrize("gene", ["SRC", "4040", "ncbigene:5331", "Traf6", "cpt2"])
def test_mention_provenance(sample_store, gene):
    wanted = genes_matching(gene)
    symbols = gene_symbols()
    mentions: dict[tuple, tuple[set, set]] = defaultdict(lambda: (set(), set()))
    for f in figures():
        for g in f.genes:
            if g.id in wanted:
                matches, sources = mentions[(f.figid, g.id, g.word)]
                matches.add(g.match)
                sources.add(g.source)
    expected = {(L(figid), L(word), opt(L, m), opt(L, s), I(NCBIGENE + g), opt(L, sym))
                for (figid, g, word), (ms, ss) in mentions.items()
                for m in ({x for x in ms if x} or {None}) for s in ({x for x in ss if x} or {None})
                for sym in symbols[g] or {None}}
    result = run(sample_store, "mention-provenance", gene=gene)
    assert set(tuples(result, "figid", "word", "matched", "source", "ncbigene", "symbol")) == expected
    assert len(result.rows) == len(expected) > 0


@pytest.mark.parametrize("chemical", ["ATP", "mesh:D000255", "CHEBI:15422", "chebi:15422", "glucose", "Fatty Acids",
                                      "aspartyl-aspartic acid", "bombesin", "nothing-like-this"])
def test_figures_of_chemical(sample_store, chemical):
    labels, xrefs, names = term_labels("chemicals")
    iri = None
    if chemical.startswith("mesh:"):
        iri = MESH + chemical[5:]
    elif chemical.lower().startswith("chebi:"):  # the OBO PURL (CHEBI:) or WikiPathways' form (chebi:) of one term
        iri = CHEBI + chemical[6:]
    expected = set()
    for f in figures():
        for t in f.chemicals:
            if not t.mesh:
                continue
            refs = {MESH + t.mesh} | xrefs[t.mesh]
            ref_labels = labels[t.mesh] | {n for r in refs for n in names.get(r, ())}
            if iri in refs or t.word.lower() == chemical.lower() or chemical.lower() in {x.lower() for x in ref_labels}:
                expected.add((I(f.iri), L(f.figid), I(MESH + t.mesh), L(t.word)))
    result = run(sample_store, "figures-of-chemical", chemical=chemical)
    assert set(tuples(result, "figure", "figid", "mesh", "word")) == expected
    assert len(result.rows) == len(expected)
    assert (chemical == "nothing-like-this") == (not expected)


def test_summary(sample_store):
    figs = figures()
    mentions = set()
    for f in figs:
        for kind, rows in (("gene", f.genes), ("chemical", f.chemicals), ("disease", f.diseases)):
            for r in rows:
                mentions.add((f.figid, kind, (r.id if kind == "gene" else r.mesh) or "-", r.word))
    expected = {
        "figures": len(figs),
        "papers": len({val(f.fields["pmcid"]) for f in figs}),
        "genes": len({g for f in figs for g in f.gene_ids}),
        "chemicals": len({t.mesh for f in figs for t in f.chemicals if t.mesh}),
        "diseases": len({t.mesh for f in figs for t in f.diseases if t.mesh}),
        "organisms": len({t for f in figs for t in figure_taxa(f)}),
        "mentions": len(mentions),
    }
    result = run(sample_store, "summary")
    assert {k: int(v.value) for k, v in result.rows[0].items()} == expected


# --------------------------------------------------------------------------- local == remote

PARAMS = {
    "figure": "PMC10003241__ijms-24-04893-g003",
    "gene": "SRC",
    "symbols": "LRP6,AKT1",
    "disease": "mesh:D011488",
    "chemical": "ATP",
}


@pytest.fixture(scope="module")
def endpoint(oxigraph_server, sample_ttl):
    """The real server, holding exactly the sample's Turtle dump in its default graph."""
    oxigraph_server.load_turtle(sample_ttl)
    return oxigraph_server.query_endpoint


#: Queries that need WikiPathways RDF (or records linked to pathways) beside the sample to
#: answer anything; test_wikipathways.py checks them, local and remote, on the sample + WP4799.
WIKIPATHWAYS_QUERIES = {q.name for q in list_queries() if "WikiPathways" in q.keywords}


@pytest.mark.parametrize("query", [q for q in list_queries() if q.name not in WIKIPATHWAYS_QUERIES],
                         ids=lambda q: q.name)
def test_remote_equals_local(sample_store, endpoint, query):
    params = {p: PARAMS[p] for p in query.params}
    if "gene" in params and "disease" in params:
        params["gene"] = "LRP6"
    local = run_query(query.text, store=sample_store, params=params)
    remote = run_query(query.text, endpoint=endpoint, params=params)
    assert local.rows, query.name  # the comparison means something
    assert remote == local
    for fmt in ("table", "csv", "tsv", "json"):
        assert format_results(remote, fmt) == format_results(local, fmt)


@pytest.mark.parametrize("figid", GENE_FIGURES)
def test_remote_equals_local_per_figure(sample_store, endpoint, figid):
    for name in ("genes-of-figure", "chemicals-of-figure"):
        text = resolve_query(name)
        assert run_query(text, endpoint=endpoint, params={"figure": figid}) == \
            run_query(text, store=sample_store, params={"figure": figid})


# --------------------------------------------------------------------------- the library as SPARQL examples

SH = "http://www.w3.org/ns/shacl#"
SDO_HTTPS = "https://schema.org/"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"


def test_examples_file_is_in_sync():
    """queries/examples.ttl is what kg.query.examples_turtle() generates (regenerate it with
    ``kg query --list --format ttl -o queries/examples.ttl``)."""
    packaged = Path(__file__).resolve().parent.parent / "queries" / "examples.ttl"
    assert packaged.read_text("utf-8") == examples_turtle()


def test_examples_describe_every_query_as_sib_sparql_examples(sample_store):
    from rdflib import Graph, Literal, Namespace, URIRef
    from rdflib.namespace import RDF, XSD

    from kg.store import open_store
    from kg.store import query as store_query

    sh, sdo, rdfs = Namespace(SH), Namespace(SDO_HTTPS), Namespace(RDFS)
    g = Graph().parse(data=examples_turtle(), format="turtle")
    assert len(list(ox.parse(examples_turtle().encode(), format=ox.RdfFormat.TURTLE))) == len(g)
    executables = set(g.subjects(RDF.type, sh.SPARQLExecutable))
    queries = list_queries()
    assert executables == {URIRef(EXAMPLES_BASE + q.name) for q in queries}
    store = open_store(sample_store, read_only=True)
    try:
        for q in queries:
            node = URIRef(EXAMPLES_BASE + q.name)
            assert (node, RDF.type, sh.SPARQLSelectExecutable) in g
            [comment] = g.objects(node, rdfs.comment)
            assert comment.language == "en" and str(comment).startswith(q.description)
            assert all(f"?{p}" in comment for p in q.params)
            assert sorted(map(str, g.objects(node, sdo.keywords))) == sorted(q.keywords)
            [text] = g.objects(node, sh.select)
            assert str(text) == example_query(q)
            assert not str(text).lstrip().startswith("#") and "PREFIX kg:" in text
            # the example runs as it stands and answers what the library query answers with
            # its parameters bound to the examples of its '# param:' lines
            params = {p: param_example(q.param_help[p]) for p in q.params}
            expected = run_query(q.text, store=sample_store, params=params)
            answer = store_query(store, str(text))
            rows = [{v.value: s[v.value] for v in answer.variables if s[v.value] is not None} for s in answer]
            assert rows == expected.rows, q.name
            if q.name not in WIKIPATHWAYS_QUERIES:
                assert rows, q.name
    finally:
        del store
    [prefixes] = set(g.objects(None, sh.prefixes))
    declared = {(str(g.value(d, sh.prefix)), g.value(d, sh.namespace)) for d in g.objects(prefixes, sh.declare)}
    assert declared == {(p, Literal(n, datatype=XSD.anyURI)) for p, n in PREFIXES.items()}


def test_cli_lists_the_library_as_turtle(capsys, tmp_path):
    from kg.cli import main

    assert main(["query", "--list", "--format", "ttl"]) == 0
    assert capsys.readouterr().out == examples_turtle()
    out = tmp_path / "examples.ttl"
    assert main(["query", "--list", "--format", "ttl", "-o", str(out)]) == 0
    assert out.read_text("utf-8") == examples_turtle()
    assert main(["query", "top-genes", "--format", "ttl"]) == 2
    assert "use it with --list" in capsys.readouterr().err


@pytest.mark.parametrize("meaning,example", [
    ("the figure's figid or IRI (PMC10003241__ijms-24-04893-g003)", "PMC10003241__ijms-24-04893-g003"),
    ("gene symbol, NCBI Gene id or gene IRI (LRP6, 4040 or ncbigene:4040)", "LRP6"),
    ("comma-separated distinct gene symbols (LRP6,AKT1)", "LRP6,AKT1"),
    ("a name (mesh:D011488 or OBS proteins)", "mesh:D011488"),
    ("no example given", None),
])
def test_param_example(meaning, example):
    assert param_example(meaning) == example
