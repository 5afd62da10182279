"""Stage 2 (kg.mapping, kg.vocab, kg.jsonld): every IRI form, mentions, missing values, JSON-LD.

Expected values are derived from the records (YAML, TSV), never copied from output."""

from __future__ import annotations

import csv
import re
import shutil
from pathlib import Path
from urllib.parse import quote

import pytest
import yaml
from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import RDF, RDFS

from conftest import SAMPLE
from kg import jsonld, vocab
from kg.mapping import map_record
from kg.records import RecordError, RecordSource, data_dir_for, read_record

FIGURES = SAMPLE / "_figures"
DATA_DIR = SAMPLE / "_data"
NA = {"NA", ".na.character", ""}
KG = Namespace("https://w3id.org/pfocr-kg/vocab#")
SDO = Namespace("http://schema.org/")
DCT = Namespace("http://purl.org/dc/terms/")
WP = Namespace("http://vocabularies.wikipathways.org/wp#")
BIBO = Namespace("http://purl.org/ontology/bibo/")
SKOS = Namespace("http://www.w3.org/2004/02/skos/core#")

TSV_FIGID = "PMC10003241__ijms-24-04893-g003"
NO_TABLE_FIGID = "PMC10299676__ijms-24-10290-g001"
INLINE_FIGID = "PMC1323499__pmed.0030057.g001"
INLINE_CHEM_FIGID = "PMC1052011__JCI0524405.f1"
FLY_FIGID = "PMC10033567__253_2023_12422_Fig1_HTML"
ALL = sorted(p.stem for p in FIGURES.glob("*.md"))


def yaml_of(path: Path) -> dict:
    match = re.match(r"---\n(.*?\n)---\n", path.read_text(encoding="utf-8"), re.S)
    return yaml.safe_load(match.group(1))


def write_record(path: Path, fields: dict) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("---\n" + yaml.safe_dump(fields, allow_unicode=True, sort_keys=False) + "---\n",
                    encoding="utf-8")
    return path


def tsv_rows(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE))


def na(text):
    return None if text is None or str(text).strip() in NA else str(text).strip()


def figure_graph(path: Path, data_dir: Path | None = "auto"):
    src = RecordSource(path, data_dir_for(path) if data_dir == "auto" else data_dir)
    return map_record(read_record(src))


def graph_of(path: Path, data_dir: Path | None = "auto") -> Graph:
    g = Graph()
    g.parse(data="".join(figure_graph(path, data_dir).lines()), format="nt")
    return g


def sample(figid: str) -> Path:
    return FIGURES / f"{figid}.md"


def fig_iri(figid: str) -> URIRef:
    return URIRef(f"https://pfocr.wikipathways.org/figures/{figid}.html")


@pytest.fixture(scope="module")
def graphs() -> dict[str, Graph]:
    return {figid: graph_of(sample(figid)) for figid in ALL}


# --------------------------------------------------------------------------- figure and paper


@pytest.mark.parametrize("figid", ALL)
def test_figure_and_paper_iris(graphs, figid):
    g, fields = graphs[figid], yaml_of(sample(figid))
    block = fields["schema-jsonld"]
    fig = URIRef(block["@id"])
    assert fig == fig_iri(fields["figid"])
    assert (fig, RDF.type, KG.PathwayFigure) in g
    assert (fig, DCT.identifier, Literal(fields["figid"])) in g
    paper = URIRef(f"https://identifiers.org/pmc/{fields['pmcid']}")
    assert (fig, DCT.isPartOf, paper) in g
    assert (paper, RDF.type, SDO.ScholarlyArticle) in g
    assert (fig, DCT.title, Literal(fields["figtitle"])) in g
    assert (fig, SDO.caption, Literal(fields["caption"].strip())) in g
    year = str(fields["year"])
    assert [str(o) for o in g.objects(paper, URIRef("http://purl.org/spar/fabio/hasPublicationYear"))] == [year]
    doi = na(fields.get("doi"))
    same = set(g.objects(paper, SDO.sameAs))
    if doi is None:
        assert same == set() and set(g.objects(paper, BIBO.doi)) == set()
    else:
        assert same == {URIRef("https://doi.org/" + doi)}
        assert set(g.objects(paper, BIBO.doi)) == {Literal(doi)}
    keywords = na(fields.get("keywords"))
    if keywords is None:
        assert set(g.objects(paper, SDO.keywords)) == set()
    else:
        assert set(g.objects(paper, SDO.keywords)) == {Literal(k.strip()) for k in keywords.split(" | ")}
    for key, prop in (("journal_title", KG.journalTitle), ("publisher_name", URIRef("http://purl.org/dc/elements/1.1/publisher"))):
        expected = {Literal(na(fields.get(key)))} if na(fields.get(key)) else set()
        assert set(g.objects(paper, prop)) == expected
    ndex = na(fields.get("ndex"))
    assert set(g.objects(fig, KG.ndexId)) == ({Literal(ndex)} if ndex else set())


@pytest.mark.parametrize("figid", ALL)
def test_no_missing_value_ever_becomes_a_term(graphs, figid):
    for triple in graphs[figid]:
        for term in triple:
            assert not isinstance(term, BNode), triple
            text = str(term)
            assert text.strip() not in ("NA", ".na.character", ""), triple
            if isinstance(term, URIRef):
                assert not re.search(r"[/#_](NA|\.na\.character)$", text), triple
                assert not re.search(r"%20NA(%20|$)", text) and ".na.character" not in text, triple


def test_figure_iri_built_from_figid_without_jsonld(tmp_path):
    fields = yaml_of(sample(NO_TABLE_FIGID))
    del fields["schema-jsonld"]
    g = graph_of(write_record(tmp_path / "_figures" / f"{NO_TABLE_FIGID}.md", fields), None)
    fig = fig_iri(fields["figid"])
    assert (fig, RDF.type, KG.PathwayFigure) in g
    assert (fig, DCT.identifier, Literal(fields["figid"])) in g


def test_figure_iri_is_jsonld_id(tmp_path):
    fields = yaml_of(sample(NO_TABLE_FIGID))
    fields["schema-jsonld"]["@id"] = "https://pfocr.wikipathways.org/figures/other-name.html"
    g = graph_of(write_record(tmp_path / f"{NO_TABLE_FIGID}.md", fields), None)
    assert (URIRef(fields["schema-jsonld"]["@id"]), RDF.type, KG.PathwayFigure) in g
    assert (fig_iri(NO_TABLE_FIGID), RDF.type, KG.PathwayFigure) not in g


@pytest.mark.parametrize("doi", [
    "10.1002/(SICI)1097-4636(199606)31:2<195::AID-JBM6>3.0.CO;2-H",
    "10.1002/1521-4141(200207)32:7<1891::AID-IMMU1891>3.0.CO;2-#",
    "10.1093/emboj/20.#1.1",
    "10.1000/with space{and}|pipes^`back\\slash\"quote",
])
def test_old_dois_are_percent_encoded(tmp_path, doi):
    fields = yaml_of(sample(NO_TABLE_FIGID))
    fields["doi"] = doi
    g = graph_of(write_record(tmp_path / f"{NO_TABLE_FIGID}.md", fields), None)
    paper = URIRef(f"https://identifiers.org/pmc/{fields['pmcid']}")
    [same] = g.objects(paper, SDO.sameAs)
    assert str(same).startswith("https://doi.org/10.")
    assert not re.search(r'[<>#\s{}|^`\\"]', str(same))
    expected = "https://doi.org/" + "".join(c if c.isalnum() or c in "/:@!$&'()*+,;=.~-_" else quote(c, safe="")
                                           for c in doi)
    assert str(same) == expected
    assert (paper, BIBO.doi, Literal(doi)) in g


# --------------------------------------------------------------------------- organisms


def _organisms_table() -> dict[str, str]:
    path = Path(vocab.__file__).parent / "data" / "organisms.tsv"
    return {r["name"].lower(): r["taxid"] for r in tsv_rows(path)}


@pytest.mark.parametrize("figid", ALL)
def test_organisms(graphs, figid):
    g, fields, table = graphs[figid], yaml_of(sample(figid)), _organisms_table()
    fig = fig_iri(figid)
    for key, prop in (("organisms", KG.metadataOrganism), ("organisms_ner", KG.nerOrganism)):
        raw = fields.get(key) or []
        names = [n for n in (raw if isinstance(raw, list) else [raw]) if na(n)]
        found = {n: vocab.organism_for_name(n) for n in names}
        for n in names:  # the curated table agrees with the bundled NCBI names
            if n.lower() in table:
                assert found[n][0] == table[n.lower()]
        known = {URIRef(vocab.NCBITAXON + found[n][0]) for n in names if found[n]}
        assert set(g.objects(fig, prop)) == known
        for taxon in known:
            assert (taxon, RDF.type, KG.Organism) in g
            assert (fig, WP.organism, taxon) in g
            assert re.fullmatch(r"http://purl\.obolibrary\.org/obo/NCBITaxon_[0-9]+", str(taxon))
        for name in names:
            assert ((fig, KG.organismName, Literal(name)) in g) == (found[name] is None)


def test_unknown_organism_is_a_literal_and_na_is_nothing(tmp_path):
    fields = yaml_of(sample(NO_TABLE_FIGID))
    fields["organisms"] = ["NA", "Drosophila", "Homo sapiens", ".na.character", "Escherichia coli BL21DE3"]
    fields["organisms_ner"] = "NA"
    g = graph_of(write_record(tmp_path / f"{NO_TABLE_FIGID}.md", fields), None)
    fig = fig_iri(NO_TABLE_FIGID)
    # a genus alone, a strain spelled as NCBI does not: literals, never guessed
    assert set(g.objects(fig, KG.organismName)) == {Literal("Drosophila"), Literal("Escherichia coli BL21DE3")}
    assert set(g.objects(fig, KG.metadataOrganism)) == {URIRef(vocab.NCBITAXON + "9606")}
    assert set(g.objects(fig, KG.nerOrganism)) == set()


# --------------------------------------------------------------------------- genes and mentions


GENE_TABLES = sorted(p.name[:-len("-genes.tsv")] for p in DATA_DIR.glob("*-genes.tsv"))


@pytest.mark.parametrize("figid", GENE_TABLES)
def test_genes_from_table(graphs, figid):
    g, fig = graphs[figid], fig_iri(figid)
    rows = tsv_rows(DATA_DIR / f"{figid}-genes.tsv")
    genes = set()
    for row in rows:
        gid = na(row["ncbigene_id"])
        if gid is None:
            continue
        gene = URIRef(f"https://identifiers.org/ncbigene/{gid}")
        genes.add(gene)
        assert (fig, KG.mentionsGene, gene) in g
        symbol = na(row["ncbigene_symbol"])
        assert set(g.objects(gene, RDFS.label)) == ({Literal(symbol)} if symbol else set())  # NA: no label
        taxon = URIRef(f"http://purl.obolibrary.org/obo/NCBITaxon_{row['organism_id']}")
        assert (gene, WP.organism, taxon) in g
        assert (taxon, RDFS.label, Literal(row["organism_name"])) in g
        hgnc = set(g.objects(gene, WP.bdbHgncSymbol))
        if row["organism_id"] == "9606" and symbol:
            assert hgnc == {URIRef(vocab.hgnc_symbol_iri(symbol))}
        else:
            assert hgnc == set()
    inline = yaml_of(sample(figid)).get("genes") or []  # older layout records may also list genes inline
    genes |= {URIRef(vocab.NCBIGENE + str(i["entrez"])) for i in inline if na(i.get("entrez"))}
    assert set(g.objects(fig, KG.mentionsGene)) == genes
    expected = [(na(r["word"]), na(r["ncbigene_id"]), na(r["match"]), na(r["source"])) for r in rows]
    expected += [(na(i.get("word")), na(i.get("entrez")), na(i.get("symbol")), na(i.get("source"))) for i in inline]
    _check_mentions(g, fig, "gene", expected, lambda i: URIRef(f"https://identifiers.org/ncbigene/{i}"))


def test_non_human_genes_have_no_hgnc_symbol(graphs):
    rows = [r for f in GENE_TABLES for r in tsv_rows(DATA_DIR / f"{f}-genes.tsv") if r["organism_id"] != "9606"]
    assert rows, "the sample has fly and rat genes"
    labels = {}
    for f in GENE_TABLES:
        for r in tsv_rows(DATA_DIR / f"{f}-genes.tsv"):
            labels.setdefault(r["ncbigene_id"], set()).add(r["organism_id"])
    for figid in GENE_TABLES:
        g = graphs[figid]
        for r in tsv_rows(DATA_DIR / f"{figid}-genes.tsv"):
            if labels[r["ncbigene_id"]] != {"9606"}:
                assert not set(g.objects(URIRef(vocab.NCBIGENE + r["ncbigene_id"]), WP.bdbHgncSymbol))


def _check_mentions(g: Graph, fig: URIRef, kind: str, rows, entity) -> None:
    """One mention per (word, entity); each an IRI under the figure keeping word, match, source."""
    mentions = set(g.objects(fig, KG.hasMention))
    typed = {m for m in mentions if (m, RDF.type, KG[f"{kind.capitalize()}Mention"]) in g}
    expected = {(word, ident) for word, ident, _, _ in rows}
    assert len(typed) == len(expected)
    by_key = {}
    for m in typed:
        assert isinstance(m, URIRef) and str(m).startswith(str(fig) + "#"), m
        words = [str(w) for w in g.objects(m, KG.ocrWord)]
        assert len(words) <= 1, m
        targets = set(g.objects(m, KG.refersTo))
        by_key[(words[0] if words else None, frozenset(targets))] = m
    for word, ident, match, source in rows:
        targets = {entity(ident)} if ident else set()
        m = next(m for (w, t), m in by_key.items() if w == word and targets <= t and (ident or not t))
        if match:
            assert (m, KG.matchedText, Literal(match)) in g
        if source:
            assert (m, KG.matchSource, Literal(source)) in g


def test_inline_genes_older_layout(graphs):
    figid = INLINE_FIGID
    g, fig = graphs[figid], fig_iri(figid)
    items = [i for i in yaml_of(sample(figid))["genes"] if na(i.get("word"))]
    table = tsv_rows(DATA_DIR / f"{figid}-genes.tsv")  # the record has a genes table too
    for item in items:
        gene = URIRef(vocab.NCBIGENE + str(item["entrez"]))
        assert (fig, KG.mentionsGene, gene) in g
        assert (gene, RDFS.label, Literal(item["hgnc_symbol"])) in g
        assert (gene, WP.organism, URIRef(vocab.NCBITAXON + "9606")) in g
        assert (gene, WP.bdbHgncSymbol, URIRef(vocab.HGNC_SYMBOL + item["hgnc_symbol"])) in g
    _check_mentions(g, fig, "gene", [(i["word"], na(i.get("entrez")), na(i.get("symbol")), na(i.get("source")))
                                     for i in items] +
                    [(na(r["word"]), na(r["ncbigene_id"]), na(r["match"]), na(r["source"])) for r in table],
                    lambda i: URIRef(vocab.NCBIGENE + i))


def test_gene_with_na_id_is_a_mention_only(tmp_path):
    root = _copy(TSV_FIGID, tmp_path)
    table = root / "_data" / f"{TSV_FIGID}-genes.tsv"
    header = table.read_text().splitlines()[0]
    table.write_text(header + "\n" + "NA\tNA\tNA\tUNKNOWNWORD\tNA\tNA\tNA\tNA\t1\t1\t1\n")
    g = graph_of(root / "_figures" / f"{TSV_FIGID}.md")
    fig = fig_iri(TSV_FIGID)
    assert set(g.objects(fig, KG.mentionsGene)) == set()
    [m] = [m for m in g.objects(fig, KG.hasMention) if (m, KG.ocrWord, Literal("UNKNOWNWORD")) in g]
    assert set(g.objects(m, KG.refersTo)) == set()
    assert set(g.objects(m, KG.matchedText)) == set() and set(g.objects(m, KG.matchSource)) == set()


# --------------------------------------------------------------------------- chemicals and diseases


def _copy(figid: str, tmp_path: Path) -> Path:
    root = tmp_path / "src"
    (root / "_figures").mkdir(parents=True, exist_ok=True)
    (root / "_data").mkdir(exist_ok=True)
    shutil.copy(sample(figid), root / "_figures")
    for table in DATA_DIR.glob(f"{figid}-*.tsv"):
        shutil.copy(table, root / "_data")
    return root


def _check_terms(g: Graph, fig: URIRef, kind: str, rows: list[dict], xref_col: str, xref_base: str) -> None:
    link = KG.mentionsChemical if kind == "chemical" else KG.mentionsDisease
    expected = set()
    for row in rows:
        mesh = na(row["mesh"])
        node = URIRef("http://id.nlm.nih.gov/mesh/" + mesh.split(":", 1)[-1])
        expected.add(node)
        assert (fig, link, node) in g
        xref = na(row[xref_col])
        if xref:
            target = URIRef(xref_base + xref.split(":", 1)[-1])
            assert (node, SKOS.closeMatch, target) in g
            # WikiPathways' form of ChEBI, written out here (not from kg.vocab)
            wp_chebi = {URIRef("https://identifiers.org/chebi/CHEBI:" + xref.split(":", 1)[-1])} \
                if kind == "chemical" else set()
            assert set(g.objects(node, WP.bdbChEBI)) >= wp_chebi
            if na(row["name"]):
                assert (target, RDFS.label, Literal(row["name"])) in g
        if na(row["match"]):
            assert (node, RDFS.label, Literal(row["match"])) in g
    assert set(g.objects(fig, link)) == expected
    _check_mentions(g, fig, kind, [(r["word"], na(r["mesh"]), na(r["match"]), None) for r in rows],
                    lambda i: URIRef("http://id.nlm.nih.gov/mesh/" + i.split(":", 1)[-1]))


def test_chemicals_table_mesh_and_chebi(graphs):
    rows = tsv_rows(DATA_DIR / f"{TSV_FIGID}-chemicals.tsv")
    assert any(na(r["chebi"]) for r in rows)
    _check_terms(graphs[TSV_FIGID], fig_iri(TSV_FIGID), "chemical", rows, "chebi", "http://purl.obolibrary.org/obo/CHEBI_")


def test_diseases_table_mesh_and_doid(tmp_path, graphs):
    rows = tsv_rows(DATA_DIR / f"{TSV_FIGID}-diseases.tsv")
    _check_terms(graphs[TSV_FIGID], fig_iri(TSV_FIGID), "disease", rows, "doid", "http://purl.obolibrary.org/obo/DOID_")
    # the sample's disease rows have no DOID: add real-shaped rows that do
    root = _copy(TSV_FIGID, tmp_path)
    table = root / "_data" / f"{TSV_FIGID}-diseases.tsv"
    table.write_text(table.read_text() + "Myeloma\tmesh:D009101\tMultiple Myeloma\tmultiple myeloma\tdoid:9538\n"
                     "bone disease\tmesh:D001847\tBone Diseases\tbone disease\tDOID:0080001\n")
    g = graph_of(root / "_figures" / f"{TSV_FIGID}.md")
    _check_terms(g, fig_iri(TSV_FIGID), "disease", tsv_rows(table), "doid", "http://purl.obolibrary.org/obo/DOID_")
    assert (URIRef(vocab.MESH + "D009101"), RDF.type, KG.Disease) in g


def test_inline_chemicals_older_layout(graphs):
    g, fig = graphs[INLINE_CHEM_FIGID], fig_iri(INLINE_CHEM_FIGID)
    items = yaml_of(sample(INLINE_CHEM_FIGID))["chemicals"]
    expected = {URIRef(vocab.MESH + i["identifier"]) for i in items}
    assert set(g.objects(fig, KG.mentionsChemical)) == expected
    for item in items:
        [m] = [m for m in g.objects(fig, KG.hasMention) if (m, KG.ocrWord, Literal(item["word"])) in g]
        assert (m, KG.refersTo, URIRef(vocab.MESH + item["identifier"])) in g
        assert (m, KG.matchSource, Literal(item["source"])) in g


def test_one_mention_per_word_and_entity_even_when_rows_repeat(graphs):
    rows = tsv_rows(DATA_DIR / f"{TSV_FIGID}-chemicals.tsv")
    pairs = [(r["word"], r["mesh"]) for r in rows]
    assert len(set(pairs)) < len(pairs), "the table repeats rows"
    g, fig = graphs[TSV_FIGID], fig_iri(TSV_FIGID)
    chem = [m for m in g.objects(fig, KG.hasMention) if (m, RDF.type, KG.ChemicalMention) in g]
    assert len(chem) == len(set(pairs))


def test_same_word_two_genes_gives_two_mentions(graphs):
    rows = tsv_rows(DATA_DIR / f"{TSV_FIGID}-genes.tsv")
    word = "AKT"
    ids = {r["ncbigene_id"] for r in rows if r["word"] == word}
    assert len(ids) > 1
    g, fig = graphs[TSV_FIGID], fig_iri(TSV_FIGID)
    ms = [m for m in g.objects(fig, KG.hasMention) if (m, KG.ocrWord, Literal(word)) in g]
    assert {str(t) for m in ms for t in g.objects(m, KG.refersTo)} == {vocab.NCBIGENE + i for i in ids}
    assert len(ms) == len(ids)


# --------------------------------------------------------------------------- vocab


def test_vocab_iri_forms():
    assert vocab.figure_iri("PMC10299676__ijms-24-10290-g001") == \
        "https://pfocr.wikipathways.org/figures/PMC10299676__ijms-24-10290-g001.html"
    assert vocab.paper_iri("PMC100005") == "https://identifiers.org/pmc/PMC100005"
    assert vocab.gene_iri("4040") == "https://identifiers.org/ncbigene/4040"
    assert vocab.hgnc_symbol_iri("LRP6") == "https://identifiers.org/hgnc.symbol/LRP6"
    assert vocab.taxon_iri("9606") == "http://purl.obolibrary.org/obo/NCBITaxon_9606"
    assert vocab.mesh_iri("mesh:D005227") == vocab.mesh_iri("D005227") == "http://id.nlm.nih.gov/mesh/D005227"
    assert vocab.chebi_iri("chebi:35366") == vocab.chebi_iri("CHEBI:35366") == "http://purl.obolibrary.org/obo/CHEBI_35366"
    assert vocab.doid_iri("DOID:1612") == vocab.doid_iri("1612") == "http://purl.obolibrary.org/obo/DOID_1612"
    assert vocab.doi_iri("10.3390/ijms24054893") == "https://doi.org/10.3390/ijms24054893"
    assert vocab.chebi_identifiers_iri("chebi:2719") == vocab.chebi_identifiers_iri("2719") == \
        "https://identifiers.org/chebi/CHEBI:2719"
    assert vocab.wikipathways_iri("WP4799") == "https://identifiers.org/wikipathways/WP4799"


@pytest.mark.parametrize("build,bad", [
    (vocab.gene_iri, "12a"), (vocab.gene_iri, "NA"), (vocab.gene_iri, ""), (vocab.taxon_iri, "human"),
    (vocab.mesh_iri, "X123"), (vocab.chebi_iri, "chebi:abc"), (vocab.doid_iri, "DOID:"), (vocab.paper_iri, "123"),
    (vocab.figid, "a/b"), (vocab.figid, "PMC1 x"), (vocab.doi_iri, "NA"), (vocab.doi_iri, ".na.character"),
    (vocab.check_iri, "ftp://x"), (vocab.check_iri, "http://a b"), (vocab.wikipathways_iri, "wp4799"),
    (vocab.wikipathways_iri, "WP4799_r129018"), (vocab.wikipathways_iri, "WP"), (vocab.chebi_identifiers_iri, "x"),
])
def test_vocab_rejects_bad_identifiers(build, bad):
    with pytest.raises(ValueError):
        build(bad)


# --------------------------------------------------------------------------- JSON-LD


@pytest.mark.parametrize("figid", ALL)
def test_jsonld_fast_path_matches_rdflib_reference(figid):
    block = yaml_of(sample(figid))["schema-jsonld"]
    subject = block["@id"]
    assert jsonld.jsonld_triples(block, subject) == jsonld.reference_triples(block, subject)


@pytest.mark.parametrize("figid", ALL)
def test_jsonld_block_mapped(graphs, figid):
    g = graphs[figid]
    block = yaml_of(sample(figid))["schema-jsonld"]
    fig = URIRef(block["@id"])
    assert (fig, RDF.type, SDO.Dataset) in g
    # the site-template placeholder never becomes a name
    assert (fig, SDO.name, Literal("CreativeWork")) not in g
    assert all(str(o) != "CreativeWork" for o in g.objects(None, SDO.name) if o != Literal("WikiPathways")) \
        or block.get("name") != "CreativeWork"
    assert (fig, SDO.license, URIRef(vocab.CC0)) in g
    words = [k for k in block.get("keywords", []) if na(k)]
    kw = set(g.objects(fig, SDO.keywords))
    assert kw == {Literal(str(k)) for k in words}
    assert all(isinstance(k, Literal) for k in kw)
    gene_iris = {o for o in g.objects(fig, KG.mentionsGene)}
    assert not any(URIRef(str(k)) in gene_iris for k in kw)
    assert (fig, SDO.description, Literal(block["description"])) in g
    creators = set(g.objects(fig, SDO.creator))
    assert creators and all(isinstance(c, URIRef) and str(c).startswith(str(fig) + "#") for c in creators)


def test_jsonld_keywords_stay_literals_even_when_they_look_like_terms(tmp_path):
    fields = yaml_of(sample(NO_TABLE_FIGID))
    words = ["Dataset", "name", "schema:Gene", "https://identifiers.org/ncbigene/7157", "@id", "TP53", "Person"]
    fields["schema-jsonld"]["keywords"] = words
    g = graph_of(write_record(tmp_path / f"{NO_TABLE_FIGID}.md", fields), None)
    fig = fig_iri(NO_TABLE_FIGID)
    assert set(g.objects(fig, SDO.keywords)) == {Literal(w) for w in words}


def test_jsonld_missing_values_are_dropped(tmp_path):
    fields = yaml_of(sample(NO_TABLE_FIGID))
    fields["schema-jsonld"]["keywords"] = ["TP53", "NA", ".na.character", "MDM2"]
    fields["schema-jsonld"]["description"] = "NA"
    g = graph_of(write_record(tmp_path / f"{NO_TABLE_FIGID}.md", fields), None)
    fig = fig_iri(NO_TABLE_FIGID)
    assert set(g.objects(fig, SDO.keywords)) == {Literal("TP53"), Literal("MDM2")}
    assert set(g.objects(fig, SDO.description)) == set()


@pytest.mark.parametrize("context", [
    "https://example.org/evil-context.jsonld",
    ["https://schema.org/", "http://example.org/ctx"],
    {"@import": "https://example.org/ctx.jsonld"},
])
def test_remote_context_other_than_schema_org_is_rejected(tmp_path, context):
    fields = yaml_of(sample(NO_TABLE_FIGID))
    fields["schema-jsonld"]["@context"] = context
    path = write_record(tmp_path / f"{NO_TABLE_FIGID}.md", fields)
    with pytest.raises(RecordError) as info:
        figure_graph(path, None)
    assert info.value.field == "schema-jsonld"
    assert info.value.line == [n for n, l in enumerate(path.read_text().splitlines(), 1)
                               if l.startswith("schema-jsonld:")][0]


def test_nested_remote_context_is_rejected():
    block = {"@context": "https://schema.org/", "@id": "https://x.org/a", "creator": {"@context": "http://evil.org/c",
                                                                                       "name": "x"}}
    with pytest.raises(jsonld.JsonLdError):
        jsonld.jsonld_triples(block, "https://x.org/a")


@pytest.mark.parametrize("ctx", sorted(jsonld.SCHEMA_ORG_CONTEXTS))
def test_schema_org_context_spellings_parse_offline(ctx):
    block = {"@context": ctx, "@id": "https://x.org/a", "@type": "Dataset", "name": "N", "license": "CC0"}
    lines = jsonld.jsonld_triples(block, "https://x.org/a")
    assert '<https://x.org/a> <http://schema.org/name> "N" .\n' in lines
    assert lines == jsonld.reference_triples(block, "https://x.org/a")


def test_inline_context_object_is_allowed():
    block = {"@context": [{"ex": "http://example.org/"}, "https://schema.org/"], "@id": "https://x.org/a",
             "ex:thing": "v", "name": "N"}
    lines = jsonld.jsonld_triples(block, "https://x.org/a")
    assert '<https://x.org/a> <http://example.org/thing> "v" .\n' in lines


def test_mapping_is_deterministic():
    a = figure_graph(sample(TSV_FIGID))
    b = figure_graph(sample(TSV_FIGID))
    assert a.lines() == b.lines()


@pytest.mark.parametrize("with_blank_node", [False, True])
def test_jsonld_lines_survive_unicode_line_separators(with_blank_node):
    """pyoxigraph's N-Quads keeps U+2028, U+0085, \\v, \\f raw in literals: each stays one line."""
    import pyoxigraph as ox

    text = "a\u2028b\x85c\x0bd\x0ce\u2029f"
    block = {"@context": "https://schema.org/", "@id": "https://x.org/a", "@type": "Dataset",
             "description": text, "keywords": ["k\u2028w", "z"]}
    if with_blank_node:
        block["creator"] = {"@type": "Organization", "name": "Org\x85name"}
    lines = jsonld.jsonld_triples(block, "https://x.org/a")
    assert lines == jsonld.reference_triples(block, "https://x.org/a")
    assert all(line.endswith(" .\n") and line.count("\n") == 1 for line in lines)
    parsed = list(ox.parse("".join(lines), format=ox.RdfFormat.N_TRIPLES))
    assert len(parsed) == len(lines)
    values = {t.object.value for t in parsed if isinstance(t.object, ox.Literal)}
    assert {text, "k\u2028w", "z"} <= values


# --------------------------------------------------------------------------- organisms: sources of taxon ids

ISSUE_ORGANISMS = {  # names from real records that used to stay literals, with their NCBI taxon ids
    "Cavia porcellus": "10141", "Capra hircus": "9925", "Meleagris gallopavo": "9103", "Neurospora crassa": "5141",
    "Medicago truncatula": "3880", "Aspergillus nidulans": "162425",
    "Escherichia coli str. K-12 substr. MG1655": "511145",
}


def test_bundled_ncbi_names_map_real_organism_names(tmp_path):
    fields = yaml_of(sample(NO_TABLE_FIGID))
    fields["organisms"] = list(ISSUE_ORGANISMS)
    fields["organisms_ner"] = ["capra HIRCUS", "goat"]  # any case; NCBI's GenBank common name
    g = graph_of(write_record(tmp_path / f"{NO_TABLE_FIGID}.md", fields), None)
    fig = fig_iri(NO_TABLE_FIGID)
    taxa = {URIRef(vocab.NCBITAXON + t) for t in ISSUE_ORGANISMS.values()}
    assert set(g.objects(fig, KG.metadataOrganism)) == taxa
    assert set(g.objects(fig, KG.nerOrganism)) == {URIRef(vocab.NCBITAXON + "9925")}
    assert set(g.objects(fig, KG.organismName)) == set()
    # a scientific name labels its taxon; a name the source does not mark as scientific does not
    assert set(g.objects(URIRef(vocab.NCBITAXON + "9925"), RDFS.label)) == {Literal("Capra hircus")}
    assert set(g.objects(URIRef(vocab.NCBITAXON + "511145"), RDFS.label)) == set()


def test_bundled_ncbi_names_table_is_large_compact_and_never_guesses():
    taxa = vocab.ncbi_taxa()
    assert len(taxa) > 100_000
    assert (SAMPLE.parent.parent / "kg" / "data" / "ncbi-taxa.tsv.gz").stat().st_size < 2_000_000
    for name in ("Drosophila", "Escherichia", "Escherichia coli BL21DE3", "Acidihalobacter sp.", "Homo", ""):
        assert vocab.organism_for_name(name) is None, name
    assert vocab.organism_for_name("  Homo   sapiens ") == ("9606", "Homo sapiens")
    assert vocab.organism_for_name("Severe acute respiratory syndrome coronavirus 2")[0] == "2697049"


def test_genes_table_pairs_organism_names_with_ids(tmp_path):
    """A name the record's own genes table pairs with one organism_id maps to that taxon;
    a name it pairs with two ids is not used (and falls back to the bundled names)."""
    root = _copy(TSV_FIGID, tmp_path)
    table = root / "_data" / f"{TSV_FIGID}-genes.tsv"
    text = table.read_text(encoding="utf-8")
    text += "424242\tTestus organismus\tOther\tABC1\tABC1\tABC1\t123\tncbigene_symbol\t1\t1\t1\n"
    text += "515151\tDubius duplex\tOther\tABC2\tABC2\tABC2\t124\tncbigene_symbol\t1\t1\t1\n"
    text += "525252\tDubius duplex\tOther\tABC3\tABC3\tABC3\t125\tncbigene_symbol\t1\t1\t1\n"
    table.write_text(text, encoding="utf-8")
    path = root / "_figures" / f"{TSV_FIGID}.md"
    fields = yaml_of(path)
    fields["organisms"] = ["testus ORGANISMUS", "Dubius duplex", "Homo sapiens"]
    write_record(path, fields)
    g = graph_of(path)
    fig = fig_iri(TSV_FIGID)
    assert set(g.objects(fig, KG.metadataOrganism)) == {URIRef(vocab.NCBITAXON + "424242"),
                                                         URIRef(vocab.NCBITAXON + "9606")}
    assert set(g.objects(fig, KG.organismName)) == {Literal("Dubius duplex")}
    assert (URIRef(vocab.NCBITAXON + "424242"), RDFS.label, Literal("Testus organismus")) in g
