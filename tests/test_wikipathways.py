"""kg's graph joins real WikiPathways RDF (GPML2RDF output, examples/wikipathways/WP4799.ttl):
IRI forms, the join queries, and PFOCR's own figure -> pathway links (``wpid:`` front-matter
field and the site table ``_data/wpid_map.tsv``).

Expected values come from the files themselves: the sample's YAML and gene tables and the
WikiPathways Turtle (read with rdflib, ids taken from the ends of its IRIs), never from kg's
output."""

from __future__ import annotations

import csv
import re
import shutil
from collections import defaultdict
from functools import lru_cache
from pathlib import Path

import pyoxigraph as ox
import pytest
import yaml
from rdflib import Graph, Literal, Namespace, URIRef
from rdflib.namespace import DC, DCTERMS, RDF

from conftest import ROOT, SAMPLE
from kg.query import QueryResult, bind_params, declare_prefixes, list_queries, resolve_query, run_query

WIKIPATHWAYS = ROOT / "examples" / "wikipathways"
WP4799 = WIKIPATHWAYS / "WP4799.ttl"
WPID_MAP = WIKIPATHWAYS / "wpid_map.tsv"
WP = Namespace("http://vocabularies.wikipathways.org/wp#")
KG = Namespace("https://w3id.org/pfocr-kg/vocab#")
MISSING = {"", "NA", ".na.character"}
ACE2_FIGURE = "PMC10036296__gr1_lrg"  # the sample figure that shows ACE2, a gene of WP4799
WP_QUERIES = {q.name for q in list_queries() if "WikiPathways" in q.keywords}


# --------------------------------------------------------------------------- the files, read independently


def _val(raw) -> str | None:
    text = None if raw is None or isinstance(raw, (dict, list)) else str(raw).strip()
    return None if text is None or text in MISSING else text


@lru_cache(maxsize=1)
def sample_genes() -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """``figid -> NCBI Gene ids`` of every sample figure (genes tables and inline lists), and
    ``id -> symbols`` over the sample."""
    genes: dict[str, set[str]] = {}
    symbols: dict[str, set[str]] = defaultdict(set)
    for path in sorted((SAMPLE / "_figures").glob("*.md")):
        fields = yaml.safe_load(path.read_text("utf-8").split("\n---", 1)[0].split("---\n", 1)[1])
        figid = fields["figid"]
        found = genes.setdefault(figid, set())
        for item in fields.get("genes") or []:
            if isinstance(item, dict) and _val(item.get("entrez")):
                found.add(_val(item["entrez"]))
                if _val(item.get("hgnc_symbol")):
                    symbols[_val(item["entrez"])].add(_val(item["hgnc_symbol"]))
        table = SAMPLE / "_data" / f"{figid}-genes.tsv"
        if table.is_file():
            with open(table, encoding="utf-8", newline="") as fh:
                for row in csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE):
                    gene = _val(row["ncbigene_id"])
                    if gene and gene.isdigit():
                        found.add(gene)
                        if _val(row["ncbigene_symbol"]):
                            symbols[gene].add(_val(row["ncbigene_symbol"]))
    return genes, dict(symbols)


@lru_cache(maxsize=1)
def wp_graph() -> Graph:
    return Graph().parse(WP4799, format="turtle")


@lru_cache(maxsize=1)
def wp_pathways() -> dict[str, tuple[str, str, set[str]]]:
    """``pathway IRI -> (WPID, title, NCBI Gene ids)`` of the WikiPathways file: the Entrez
    ids (last path segment of each wp:bdbEntrezGene) of the data nodes part of each pathway."""
    g = wp_graph()
    out = {}
    for pathway in set(g.subjects(RDF.type, WP.Pathway)):
        ids = {str(gene).rsplit("/", 1)[1] for node in g.subjects(DCTERMS.isPartOf, pathway)
               for gene in g.objects(node, WP.bdbEntrezGene)}
        if ids:
            out[str(pathway)] = (str(g.value(pathway, DCTERMS.identifier)), str(g.value(pathway, DC.title)), ids)
    return out


def jaccard(shared: int, figure: int, pathway: int) -> float:
    return shared / (figure + pathway - shared)


# --------------------------------------------------------------------------- running the queries


def _load(store: ox.Store, path: Path) -> None:
    store.load(path=str(path), format=ox.RdfFormat.TURTLE)


@pytest.fixture(scope="module")
def joined(sample_ttl) -> ox.Store:
    """An in-memory store holding the sample and WP4799, both in the default graph."""
    store = ox.Store()
    _load(store, sample_ttl)
    _load(store, WP4799)
    return store


def run(store: ox.Store, name: str, **params) -> QueryResult:
    """A library query with its parameters bound, as ``kg query`` runs it, on ``store``."""
    query, _ = declare_prefixes(bind_params(resolve_query(name), params))
    answer = store.query(query)
    names = [v.value for v in answer.variables]
    return QueryResult(names, [{n: s[n] for n in names if s[n] is not None} for s in answer])


def as_int(term) -> int:
    return int(term.value)


# --------------------------------------------------------------------------- IRI forms


def test_the_data_holds_a_join():
    """The sample and WP4799 share a gene: ACE2 (only one; the pathway was drawn from another paper)."""
    genes, symbols = sample_genes()
    [(_, _, wp_genes)] = wp_pathways().values()
    shared = {g for ids in genes.values() for g in ids & wp_genes}
    assert shared == {"59272"} and symbols["59272"] == {"ACE2"}
    assert {f for f, ids in genes.items() if ids & wp_genes} == {ACE2_FIGURE}


def test_every_wp_term_kg_writes_has_wikipathways_form(sample_ttl):
    """For every predicate both write (wp:bdb*, wp:organism) kg's objects are in the namespace
    WikiPathways' own RDF uses for it; kg's genes are named as WikiPathways' wp:bdbEntrezGene."""
    ours = Graph().parse(sample_ttl, format="turtle")
    theirs = wp_graph()

    def namespaces(g: Graph, predicate: URIRef) -> set[str]:
        return {re.sub(r"[^/:_]+$", "", str(o)) for o in g.objects(None, predicate)}

    written = {p for p in set(ours.predicates()) if str(p).startswith(str(WP))
               and (str(p).startswith(str(WP.bdb)) or p == WP.organism)}
    assert {WP.bdbEntrezGene, WP.bdbHgncSymbol, WP.bdbChEBI, WP.organism} <= written
    for predicate in written:
        assert namespaces(ours, predicate) == namespaces(theirs, predicate), predicate
    assert namespaces(ours, WP.bdbChEBI) == {"https://identifiers.org/chebi/CHEBI:"}
    genes = set(ours.subjects(RDF.type, KG.Gene))
    assert {re.sub(r"[0-9]+$", "", str(g)) for g in genes} == namespaces(theirs, WP.bdbEntrezGene) == \
        {"https://identifiers.org/ncbigene/"}
    assert all((g, WP.bdbEntrezGene, g) in ours for g in genes)
    papers = {str(p) for p in ours.objects(None, DCTERMS.isPartOf)}
    assert papers and all(re.fullmatch(r"https://identifiers\.org/pmc/PMC[0-9]+", p) for p in papers)
    assert not [t for t in ours if any(str(x).startswith("http://identifiers.org/") for x in t)]


def test_old_http_gene_iris_would_not_join(sample_ttl):
    """Why the IRIs changed: with kg's former http://identifiers.org genes the join is empty."""
    text = sample_ttl.read_text("utf-8").replace("<https://identifiers.org/ncbigene/>", "<http://identifiers.org/ncbigene/>")
    old = ox.Store()
    old.load(text.encode(), format=ox.RdfFormat.TURTLE)
    _load(old, WP4799)
    assert run(old, "pathways-sharing-genes", figure=ACE2_FIGURE).rows == []


# --------------------------------------------------------------------------- the join queries


@pytest.mark.parametrize("figid", sorted(sample_genes()[0]))
def test_pathways_sharing_genes(joined, figid):
    genes, symbols = sample_genes()
    mine = genes[figid]
    expected = []
    for pathway, (wpid, title, theirs) in wp_pathways().items():
        shared = mine & theirs
        if shared:
            names = {s for g in shared for s in (symbols.get(g) or {g})}
            expected.append((pathway, wpid, title, len(shared), len(mine), len(theirs), names,
                             jaccard(len(shared), len(mine), len(theirs))))
    result = run(joined, "pathways-sharing-genes", figure=figid)
    assert result.variables == ["pathway", "wpid", "title", "shared", "figureGenes", "pathwayGenes", "jaccard", "genes"]
    got = [(r["pathway"].value, r["wpid"].value, r["title"].value, as_int(r["shared"]), as_int(r["figureGenes"]),
            as_int(r["pathwayGenes"]), set(r["genes"].value.split(" ")), float(r["jaccard"].value))
           for r in result.rows]
    assert [g[:7] for g in got] == [e[:7] for e in expected]
    assert all(abs(g[7] - e[7]) <= 0.0005 for g, e in zip(got, expected))
    assert bool(expected) == (figid == ACE2_FIGURE)
    iri = f"<https://pfocr.wikipathways.org/figures/{figid}.html>"
    assert run(joined, "pathways-sharing-genes", figure=iri) == result


@pytest.mark.parametrize("pathway", ["WP4799", "wikipathways:WP4799", "<https://identifiers.org/wikipathways/WP4799>",
                                     "<https://identifiers.org/wikipathways/WP4799_r129018>"])
def test_figures_like_pathway(joined, pathway):
    genes, symbols = sample_genes()
    [(version, (_, _, theirs))] = wp_pathways().items()
    expected = []
    for figid, mine in genes.items():
        shared = mine & theirs
        if shared:
            expected.append((figid, version, len(shared), len(mine), len(theirs),
                             {s for g in shared for s in (symbols.get(g) or {g})},
                             jaccard(len(shared), len(mine), len(theirs))))
    expected.sort(key=lambda e: (-e[6], -e[2], e[0]))
    result = run(joined, "figures-like-pathway", pathway=pathway)
    got = [(r["figid"].value, r["version"].value, as_int(r["shared"]), as_int(r["figureGenes"]),
            as_int(r["pathwayGenes"]), set(r["genes"].value.split(" ")), float(r["jaccard"].value))
           for r in result.rows]
    assert [g[:6] for g in got] == [e[:6] for e in expected[:25]] and expected
    assert all(abs(g[6] - e[6]) <= 0.0005 for g, e in zip(got, expected))
    assert all(r["figure"].value == f"https://pfocr.wikipathways.org/figures/{r['figid'].value}.html" for r in result.rows)


@pytest.mark.parametrize("pathway", ["WP5035", "WP1", "<https://identifiers.org/ncbigene/59272>", "ACE2"])
def test_figures_like_pathway_needs_a_pathway_with_genes(joined, pathway):
    """WP5035 is only a data node of WP4799 (a linked pathway, no genes loaded): nothing."""
    assert run(joined, "figures-like-pathway", pathway=pathway).rows == []


def test_join_queries_answer_alike_on_the_store_and_a_server(tmp_path, sample_ttl, redrawn_ttl, oxigraph_server):
    """Locally (kg store, the dumps loaded into its default graph) and on a real SPARQL server
    holding the same dumps, the WikiPathways queries give identical answers."""
    import urllib.request

    from kg.store import load

    dumps = [sample_ttl, WP4799, redrawn_ttl]
    store = tmp_path / "store"
    load(dumps, store)
    oxigraph_server.clear()
    for dump in dumps:
        request = urllib.request.Request(f"{oxigraph_server.store_endpoint}?default", data=dump.read_bytes(),
                                         method="POST", headers={"Content-Type": "text/turtle"})
        urllib.request.urlopen(request, timeout=30).close()
    params = {"figure": ACE2_FIGURE, "pathway": "WP4799"}
    assert WP_QUERIES == {"pathways-sharing-genes", "figures-like-pathway", "figures-redrawn"}
    for query in list_queries():
        if query.name in WP_QUERIES:
            given = {p: params[p] for p in query.params}
            local = run_query(query.text, store=store, params=given)
            assert local.rows, query.name
            assert run_query(query.text, endpoint=oxigraph_server.query_endpoint, params=given) == local
    oxigraph_server.clear()


def test_cli_loaded_into_the_default_graph_joins_today(tmp_path, capsys):
    """``kg load`` without --graph puts WikiPathways RDF where queries read: the join works now."""
    from kg.cli import main

    store = str(tmp_path / "kg-store")
    assert main(["build", str(SAMPLE), "--store", store, "-q"]) == 0
    assert main(["load", str(WP4799), "--store", store]) == 0
    capsys.readouterr()
    assert main(["query", "pathways-sharing-genes", "--param", f"figure={ACE2_FIGURE}", "--store", store,
                 "--format", "csv"]) == 0
    rows = list(csv.DictReader(capsys.readouterr().out.splitlines()))
    assert [(r["wpid"], r["shared"], r["genes"]) for r in rows] == [("WP4799", "1", "ACE2")]


def test_cli_loaded_into_a_named_graph_joins(tmp_path, capsys):
    from kg.cli import main

    store = str(tmp_path / "kg-store")
    assert main(["build", str(SAMPLE), "--store", store, "-q"]) == 0
    assert main(["load", str(WP4799), "--graph", "https://identifiers.org/wikipathways/WP4799_r129018",
                 "--store", store]) == 0
    capsys.readouterr()
    assert main(["query", "pathways-sharing-genes", "--param", f"figure={ACE2_FIGURE}", "--store", store,
                 "--format", "csv"]) == 0
    rows = list(csv.DictReader(capsys.readouterr().out.splitlines()))
    assert [(r["wpid"], r["shared"], r["genes"]) for r in rows] == [("WP4799", "1", "ACE2")]


# --------------------------------------------------------------------------- PFOCR's figure -> pathway links

#: Rows added to (a copy of) the real map for figures made up for this test: one malformed
#: WPID, one row with one field, one with three, one repeating what a record's front matter says.
BAD_ROWS = ["TEST__bad-wpid\twp12x", "TEST__one-field", "TEST__three-fields\tWP1\tWP2",
            "TEST__front-matter\tWP4799"]
MADE_UP = {"TEST__bad-wpid": {}, "TEST__one-field": {}, "TEST__three-fields": {},
           "TEST__front-matter": {"wpid": "WP4799"}, "TEST__list": {"wpid": ["WP4799", "WP5035", "NA"]}}


def map_rows() -> list[tuple[int, list[str]]]:
    """``(line, cells)`` of the real map, split on tabs or runs of spaces (plain parsing)."""
    lines = WPID_MAP.read_text("utf-8").split("\n")
    return [(n, re.split(r"\t| {2,}", line.strip())) for n, line in enumerate(lines, start=1) if line.strip()]


def map_figids() -> list[str]:
    return [cells[0] for _, cells in map_rows()]


@pytest.fixture(scope="module")
def redrawn_source(tmp_path_factory) -> Path:
    """A site folder: minimal records (figid only) for every figure of the real wpid_map.tsv,
    plus made-up ones, and the real map with BAD_ROWS appended as ``_data/wpid_map.tsv``."""
    root = tmp_path_factory.mktemp("redrawn")
    (root / "_figures").mkdir()
    (root / "_data").mkdir()
    for figid in map_figids():
        (root / "_figures" / f"{figid}.md").write_text(f"---\nfigid: {figid}\n---\n", "utf-8")
    for figid, extra in MADE_UP.items():
        fields = {"figid": figid, **extra}
        (root / "_figures" / f"{figid}.md").write_text("---\n" + yaml.safe_dump(fields) + "---\n", "utf-8")
    text = WPID_MAP.read_text("utf-8")
    (root / "_data" / "wpid_map.tsv").write_text(text + ("" if text.endswith("\n") else "\n") + "\n".join(BAD_ROWS)
                                                 + "\n", "utf-8")
    return root


@pytest.fixture(scope="module")
def redrawn_build(redrawn_source, tmp_path_factory):
    from kg.pipeline import build

    out = tmp_path_factory.mktemp("redrawn-out") / "redrawn.ttl"
    return out, build([redrawn_source], out)


@pytest.fixture(scope="module")
def redrawn_ttl(redrawn_build) -> Path:
    return redrawn_build[0]


def test_the_real_map_has_two_space_rows():
    raw = WPID_MAP.read_text("utf-8").splitlines()
    assert sum("\t" not in line and "  " in line for line in raw) == 2
    assert all(len(cells) == 2 and re.fullmatch(r"WP[0-9]+", cells[1]) for _, cells in map_rows())


def test_map_and_front_matter_become_redrawn_as_links(redrawn_build):
    out, report = redrawn_build
    assert report.rejected == 0 and report.converted == len(map_figids()) + len(MADE_UP)
    g = Graph().parse(out, format="turtle")
    expected = defaultdict(set)
    for _, (figid, wpid) in map_rows():
        expected[figid].add(wpid)
    expected["TEST__front-matter"] = {"WP4799"}  # front matter and a map row say the same: one link
    expected["TEST__list"] = {"WP4799", "WP5035"}
    got = defaultdict(set)
    for figure, pathway in g.subject_objects(KG.redrawnAs):
        figid = str(g.value(figure, DCTERMS.identifier))
        wpid = str(pathway).removeprefix("https://identifiers.org/wikipathways/")
        assert (pathway, DCTERMS.identifier, Literal(wpid)) in g
        got[figid].add(wpid)
    assert dict(got) == dict(expected)
    assert len(list(g.subject_objects(KG.redrawnAs))) == sum(len(v) for v in expected.values())


def test_bad_map_rows_are_row_warnings_naming_file_line_and_field(redrawn_build, redrawn_source):
    _, report = redrawn_build
    table = str(redrawn_source / "_data" / "wpid_map.tsv")
    first = len(WPID_MAP.read_text("utf-8").rstrip("\n").split("\n")) + 1
    warnings = {(w["file"], w["line"], w["field"]): w["reason"] for w in report.rejects if w["level"] == "warning"}
    assert set(warnings) == {(table, first, "WPID"), (table, first + 1, "WPID"), (table, first + 2, None)}
    assert "not a valid WikiPathways id" in warnings[(table, first, "WPID")] and "wp12x" in warnings[(table, first, "WPID")]
    assert "row has 1 fields, expected 2" in warnings[(table, first + 1, "WPID")]
    assert "row has 3 fields, expected 2" in warnings[(table, first + 2, None)]
    assert report.warnings == 3


def test_redrawn_links_validate(redrawn_ttl):
    from kg.validate import validate

    result = validate(redrawn_ttl)
    assert result.conforms, result.text()


@pytest.mark.parametrize("bad,reason", [("wp12", "not a valid WikiPathways id"),
                                        ("{a: 1}", "not a mapping"),
                                        ("WP4799_r129018", "not a valid WikiPathways id")])
def test_malformed_wpid_field_rejects_the_record(tmp_path, bad, reason):
    from kg.pipeline import build

    (tmp_path / "_figures").mkdir()
    (tmp_path / "_figures" / "PMC1__x.md").write_text(f"---\nfigid: PMC1__x\nfigtitle: t\nwpid: {bad}\n---\n", "utf-8")
    report = build([tmp_path], tmp_path / "out.ttl")
    [reject] = report.rejects
    assert (reject["level"], reject["field"], reject["line"]) == ("error", "wpid", 4)
    assert reason in reject["reason"]


def test_map_rows_are_part_of_the_record_digest(tmp_path):
    """An incremental build sees a changed map row; quick_digest agrees with read_record."""
    from kg.records import RecordSource, quick_digest, read_record

    (tmp_path / "_figures").mkdir()
    (tmp_path / "_data").mkdir()
    figid = map_figids()[0]
    record = tmp_path / "_figures" / f"{figid}.md"
    record.write_text(f"---\nfigid: {figid}\n---\n", "utf-8")
    source = RecordSource(record, tmp_path / "_data")
    alone = read_record(source).digest
    table = tmp_path / "_data" / "wpid_map.tsv"
    digests = []
    for text in (f"{figid}\tWP1\n", f"{figid}\tWP1\nPMC2__other\tWP3\n", f"{figid}  WP2\n"):
        table.write_text(text, "utf-8")
        read = read_record(source)
        assert quick_digest(source) == read.digest
        digests.append(read.digest)
    assert [r.wpid for r in read.wpid_rows] == ["WP2"]
    assert digests[0] == digests[1] != digests[2] and alone not in digests
    table.write_text("PMC2__other\tWP3\n", "utf-8")
    assert read_record(source).digest == alone  # no row for this figure: as without a map


def test_pathway_shape_catches_wrong_links(tmp_path):
    from kg.validate import validate

    fig = "https://pfocr.wikipathways.org/figures/PMC1__x.html"
    base = (f"<{fig}> a <{KG}PathwayFigure>, <http://purl.org/spar/fabio/Figure> ; "
            f"<{DCTERMS}identifier> \"PMC1__x\" ; <{KG}recordDigest> \"sha256:{'0' * 64}\" ; ")
    cases = {
        "revision IRI": f"<{KG}redrawnAs> <https://identifiers.org/wikipathways/WP1_r2> . "
                        f"<https://identifiers.org/wikipathways/WP1_r2> <{DCTERMS}identifier> \"WP1\" .",
        "wrong id": f"<{KG}redrawnAs> <https://identifiers.org/wikipathways/WP1> . "
                    f"<https://identifiers.org/wikipathways/WP1> <{DCTERMS}identifier> \"WP2\" .",
        "no id": f"<{KG}redrawnAs> <https://identifiers.org/wikipathways/WP1> .",
    }
    for name, text in cases.items():
        path = tmp_path / f"{name.replace(' ', '-')}.ttl"
        path.write_text(base + text + "\n", "utf-8")
        assert not validate(path).conforms, name
    ok = tmp_path / "ok.ttl"
    ok.write_text(base + f"<{KG}redrawnAs> <https://identifiers.org/wikipathways/WP1> . "
                  f"<https://identifiers.org/wikipathways/WP1> <{DCTERMS}identifier> \"WP1\" .\n", "utf-8")
    assert validate(ok).conforms, validate(ok).text()


def test_figures_redrawn_with_wikipathways_titles(redrawn_ttl):
    store = ox.Store()
    _load(store, redrawn_ttl)
    _load(store, WP4799)
    rows = run(store, "figures-redrawn").rows
    expected = sorted({(figid, wpid) for _, (figid, wpid) in map_rows()}
                      | {("TEST__front-matter", "WP4799"), ("TEST__list", "WP4799"), ("TEST__list", "WP5035")})
    assert [(r["figid"].value, r["wpid"].value) for r in rows] == expected
    titles = {(r["figid"].value, r["wpid"].value): r.get("title") for r in rows}
    [(_, title, _)] = wp_pathways().values()
    assert titles[("TEST__front-matter", "WP4799")] == ox.Literal(title)
    assert {k for k, t in titles.items() if t is not None} == {("TEST__front-matter", "WP4799"), ("TEST__list", "WP4799")}
    assert all(r["pathway"].value == "https://identifiers.org/wikipathways/" + r["wpid"].value for r in rows)


def test_sample_copy_with_map_builds_unchanged_but_linked(tmp_path, sample_ttl):
    """The real map beside the real sample: none of its figures is in the sample, so the graph
    is the sample's own, with no warning (rows naming other figures are not this build's)."""
    from kg.pipeline import build

    root = tmp_path / "site"
    shutil.copytree(SAMPLE, root)
    shutil.copy(WPID_MAP, root / "_data" / "wpid_map.tsv")
    out = tmp_path / "out.ttl"
    report = build([root], out)
    assert report.rejected == 0 and report.warnings == 1  # the sample's own NA-word warning
    a, b = Graph().parse(out, format="turtle"), Graph().parse(sample_ttl, format="turtle")
    assert set(a) == set(b) and not list(a.subject_objects(KG.redrawnAs))


def test_a_new_mapping_version_rebuilds_every_figure(tmp_path, monkeypatch):
    """The mapping version is part of each record digest: after an IRI change, re-running
    ``kg build --store`` re-maps every figure instead of keeping the old triples."""
    from kg import records
    from kg.pipeline import build

    store = tmp_path / "store"
    monkeypatch.setattr(records, "MAPPING_VERSION", records.MAPPING_VERSION - 1)  # a store from before
    assert build([SAMPLE], store=store).figures_unchanged == 0
    assert build([SAMPLE], store=store).figures_unchanged == 35
    monkeypatch.undo()
    assert build([SAMPLE], store=store).figures_unchanged == 0
    assert build([SAMPLE], store=store).figures_unchanged == 35
