"""The embedded store: each triple once, generations, exact updates after every kind of
change (equal, quad for quad, to a fresh build), loaded graphs, kg load, old stores."""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import pyoxigraph as ox
import pytest
import yaml

from kg.cli import main
from kg.errors import StoreError
from kg.ledger import Ledger
from kg.pipeline import build
from kg.statistics import GRAPH as STATS
from kg.store import figure_digests, generation_of, graph_name_for, graphs, load, open_store, query

from conftest import SAMPLE, VERSIONS, store_quads

G = "https://example.org/loaded"


def copy_sample(tmp_path: Path, name: str = "records") -> Path:
    target = tmp_path / name
    shutil.copytree(SAMPLE, target)
    return target


def fresh(source: Path, tmp_path: Path) -> set[ox.Quad]:
    """The quads of a fresh build of ``source`` (in a new store, removed afterwards)."""
    store = tmp_path / f"fresh-{random.getrandbits(32)}"
    build([source], store=store)
    try:
        return store_quads(store)
    finally:
        shutil.rmtree(store)


def front(path: Path) -> tuple[dict, str]:
    _, fields, body = path.read_text(encoding="utf-8").split("---\n", 2)
    return yaml.safe_load(fields), body


def rewrite(path: Path, fields: dict, body: str) -> None:
    path.write_text("---\n" + yaml.safe_dump(fields, sort_keys=False, allow_unicode=True) + "---\n" + body,
                    encoding="utf-8")


def edit(path: Path, **changes) -> None:
    fields, body = front(path)
    fields.update(changes)
    rewrite(path, fields, body)


def default_of(quads: set[ox.Quad]) -> set[ox.Triple]:
    return {q.triple for q in quads if q.graph_name == ox.DefaultGraph()}


def figures(records: Path) -> list[Path]:
    return sorted((records / "_figures").glob("*.md"))


def entries(store: Path) -> set[str]:
    return {p.name for p in store.iterdir()}


# --------------------------------------------------------------------------- layout


def test_each_triple_once_in_the_default_graph(sample_store, tmp_path):
    nt = tmp_path / "sample.nt"
    build([SAMPLE], nt)
    quads = store_quads(sample_store)
    assert {q.graph_name for q in quads} == {ox.DefaultGraph(), ox.NamedNode(STATS)}
    assert default_of(quads) == {q.triple for q in ox.parse(path=str(nt))}
    assert len(quads) - len(default_of(quads)) < 0.1 * len(quads)  # the statistics
    assert entries(sample_store) == {"CURRENT", ".lock", "gen-1", "gen-1.sqlite"}
    assert generation_of(sample_store) == 1
    digests = figure_digests(sample_store)
    assert len(digests) == len(figures(SAMPLE))
    ledger = Ledger(sample_store / "gen-1.sqlite", read_only=True)
    assert ledger.figure_count() == len(figures(SAMPLE)) and ledger.mapped_by_this_kg()
    ledger.close()


def test_rebuild_after_edit_delete_add_table_change_equals_fresh_build(tmp_path):
    records = copy_sample(tmp_path)
    store = tmp_path / "store"
    build([records], store=store)
    before = store_quads(store)
    files = figures(records)
    edited, deleted = files[4], files[7]
    edited.write_text(edited.read_text(encoding="utf-8").replace("\nnumber: ", "\nnumber: Edited-", 1), encoding="utf-8")
    deleted.unlink()
    table = records / "_data" / "PMC10003241__ijms-24-04893-g003-genes.tsv"
    table.write_text("\n".join(table.read_text(encoding="utf-8").splitlines()[:-3]) + "\n", encoding="utf-8")
    added = VERSIONS / "older-layout" / "_figures" / "PMC100005__mb2410575011.md"
    (records / "_figures" / added.name).unlink()
    shutil.copy(added, records / "_figures" / added.name)

    report = build([records], store=store)
    after = store_quads(store)
    assert after == fresh(records, tmp_path)
    assert after != before
    assert report.rejected == 0
    assert report.figures_unchanged == len(files) - 4  # edited, deleted, table changed, replaced
    assert entries(store) == {"CURRENT", ".lock", "gen-1", "gen-1.sqlite", "gen-2", "gen-2.sqlite"}


def test_unchanged_rebuild_writes_nothing(tmp_path, sample_store):
    store = tmp_path / "store"
    shutil.copytree(sample_store, store)
    report = build([SAMPLE], store=store)
    assert report.quads == 0
    assert report.figures_unchanged == report.records_read == report.converted
    assert store_quads(store) == store_quads(sample_store)


def test_unchanged_records_report_their_warnings_again(tmp_path):
    store = tmp_path / "store"
    first = build([SAMPLE], store=store)
    again = build([SAMPLE], store=store)
    assert first.warnings == again.warnings > 0 and again.figures_unchanged == again.records_read
    assert first.rejects == again.rejects


def test_digests_equal_quick_digest(tmp_path):
    from kg.records import discover, quick_digest
    from kg.sinks.store import Digests

    records = copy_sample(tmp_path)
    (records / "_data" / "stray.tsv").write_text("x\n", encoding="utf-8")
    found = discover([records, VERSIONS / "older-layout"])
    digests = Digests()
    assert [digests.digest(s) for s in found] == [quick_digest(s) for s in found]


def test_full_rebuild_remaps_every_record(tmp_path, sample_store):
    store = tmp_path / "store"
    shutil.copytree(sample_store, store)
    report = build([SAMPLE], store=store, incremental=False)
    assert report.figures_unchanged == 0 and report.converted == report.records_read
    assert store_quads(store) == store_quads(sample_store)


def test_records_that_become_rejected_leave_and_come_back(tmp_path):
    records = copy_sample(tmp_path)
    store = tmp_path / "store"
    build([records], store=store)
    broken = figures(records)[3]
    good = broken.read_text(encoding="utf-8")
    broken.write_text(good.replace("figid: ", "figid: [", 1), encoding="utf-8")
    report = build([records], store=store)
    assert report.rejected == 1
    assert store_quads(store) == fresh(records, tmp_path)
    broken.write_text(good, encoding="utf-8")
    assert build([records], store=store).rejected == 0
    assert store_quads(store) == fresh(records, tmp_path)


def test_figures_of_one_paper_disagreeing_on_its_title(tmp_path):
    """Records written at different times disagree on their paper's title, publisher and
    keywords: each value is asserted by some figures; editing the titles of some of them
    leaves exactly what a fresh build has (no stale paper triples)."""
    records = copy_sample(tmp_path)
    files = figures(records)
    for i, path in enumerate(files[:12]):
        edit(path, pmcid="PMC999999", year="2020", papertitle=f"Title version {i % 3}",
             publisher_name=f"Publisher {i % 2}", keywords=f"alpha | beta{i % 4}")
    store = tmp_path / "store"
    build([records], store=store)
    for path in files[:12:2]:
        edit(path, papertitle="Title version 9")
    build([records], store=store)
    assert store_quads(store) == fresh(records, tmp_path)
    for path in files[1:12:2]:  # now every figure agrees
        edit(path, papertitle="Title version 9")
    build([records], store=store)
    after = store_quads(store)
    assert after == fresh(records, tmp_path)
    titles = {q.object.value for q in after if q.subject.value.endswith("PMC999999")
              and q.predicate.value == "http://purl.org/dc/terms/title"}
    assert titles == {"Title version 9"}


def test_figure_iri_changes_and_moves(tmp_path):
    """A record's JSON-LD @id changes (its figure IRI, and the scope of its own triples)."""
    records = copy_sample(tmp_path)
    store = tmp_path / "store"
    build([records], store=store)
    path = figures(records)[0]
    fields, body = front(path)
    fields["schema-jsonld"]["@id"] = "https://example.org/figures/renamed"
    rewrite(path, fields, body)
    build([records], store=store)
    assert store_quads(store) == fresh(records, tmp_path)


def _random_change(records: Path, rng: random.Random, serial: int) -> str:
    files = figures(records)
    kind = rng.choice(["title", "paper", "delete", "add", "table", "reject", "genes", "organism", "year"])
    path = rng.choice(files)
    if kind == "title":
        edit(path, figtitle=f"Edited title {serial}")
    elif kind == "paper":
        for other in rng.sample(files, 3):
            edit(other, pmcid="PMC424242", papertitle=f"Shared paper v{rng.randrange(3)}", year="2019")
    elif kind == "delete":
        path.unlink()
    elif kind == "add":
        fields, body = front(path)
        figid = f"PMC77{serial:04d}__added{serial}"
        fields["figid"] = figid
        if isinstance(fields.get("schema-jsonld"), dict):
            fields["schema-jsonld"]["@id"] = f"https://pfocr.wikipathways.org/figures/{figid}.html"
        rewrite(records / "_figures" / f"{figid}.md", fields, body)
    elif kind == "table":
        tables = sorted((records / "_data").glob("*.tsv"))
        if tables:
            table = rng.choice(tables)
            lines = table.read_text(encoding="utf-8").splitlines()
            table.write_text("\n".join(lines[:max(1, len(lines) // 2)]) + "\n", encoding="utf-8")
    elif kind == "reject":
        path.write_text(path.read_text(encoding="utf-8").replace("figid:", "figid: [", 1), encoding="utf-8")
    elif kind == "genes":
        edit(path, genes=[{"word": "TP53", "symbol": "TP53", "source": "hgnc_symbol", "hgnc_symbol": "TP53",
                           "entrez": "7157"}])
    elif kind == "year":
        edit(path, year=str(rng.choice([1999, 2005, 2020])))
    else:
        edit(path, organisms="Mus musculus")
    return f"{kind} {path.name}"


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_changes_always_equal_a_fresh_build(tmp_path, seed):
    rng = random.Random(seed)
    records = copy_sample(tmp_path)
    store = tmp_path / "store"
    build([records], store=store)
    for step in range(5):
        done = [_random_change(records, rng, seed * 100 + step * 10 + i) for i in range(rng.randint(1, 4))]
        build([records], store=store)
        assert store_quads(store) == fresh(records, tmp_path), done
        assert len([e for e in entries(store) if e.startswith("gen-")]) == 4  # current and previous


def test_build_store_and_file_together_maps_once(tmp_path):
    out = tmp_path / "both.nt"
    store = tmp_path / "store"
    report = build([SAMPLE], out, store=store)
    assert {q.triple for q in ox.parse(path=str(out))} == default_of(store_quads(store))
    assert report.triples > 0 and report.quads == len(store_quads(store))
    records = copy_sample(tmp_path)
    edit(figures(records)[0], figtitle="changed")
    report = build([records], out, store=store)  # the file gets every figure, the store the change
    assert report.figures_unchanged == report.records_read - 1
    assert {q.triple for q in ox.parse(path=str(out))} == default_of(store_quads(store))
    assert store_quads(store) == fresh(records, tmp_path)


def test_failed_fresh_build_leaves_nothing(tmp_path):
    target = tmp_path / "store"
    with pytest.raises(FileNotFoundError):
        build([tmp_path / "no-such-records"], store=target)
    assert not target.exists()
    assert list(tmp_path.iterdir()) == []


def test_missing_foreign_and_file_stores(tmp_path):
    with pytest.raises(StoreError, match="no store"):
        open_store(tmp_path / "nope", read_only=True)
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(StoreError, match="not a kg store"):
        build([SAMPLE], store=foreign)
    assert entries(foreign) == {"notes.txt"}
    with pytest.raises(StoreError, match="not a kg store"):
        open_store(foreign, read_only=True)
    (tmp_path / "file").write_text("x", encoding="utf-8")
    with pytest.raises(StoreError, match="is a file"):
        build([SAMPLE], store=tmp_path / "file")


def test_older_flat_store_is_read_but_not_updated(tmp_path, sample_ttl):
    flat = tmp_path / "old"
    st = ox.Store(str(flat))
    st.bulk_load(path=str(sample_ttl), format=ox.RdfFormat.TURTLE)
    st.flush()
    del st
    assert len(store_quads(flat)) == len(set(ox.parse(path=str(sample_ttl))))
    assert main(["query", "summary", "--store", str(flat)]) == 0
    with pytest.raises(StoreError, match="older kg.*build it again"):
        build([SAMPLE], store=flat)
    with pytest.raises(StoreError, match="older kg"):
        load([sample_ttl], flat)


# --------------------------------------------------------------------------- loaded graphs


WIKIPATHWAYS = """\
@prefix wp: <http://vocabularies.wikipathways.org/wp#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix dcterms: <http://purl.org/dc/terms/> .
<https://identifiers.org/wikipathways/WP1> a wp:Pathway ; dcterms:title "A pathway" ;
    wp:hasGene <https://identifiers.org/ncbigene/6714> .
<https://identifiers.org/ncbigene/6714> rdfs:label "SRC" .
_:b1 rdfs:label "a blank node" ; rdfs:seeAlso _:b2 .
"""


def _loaded_file(tmp_path: Path, text: str = WIKIPATHWAYS) -> Path:
    path = tmp_path / "wp.ttl"
    path.write_text(text, encoding="utf-8")
    return path


def test_loaded_graph_joins_kg_graph_without_duplicates_and_survives_rebuilds(tmp_path):
    records = copy_sample(tmp_path)
    store = tmp_path / "store"
    build([records], store=store)
    wp = _loaded_file(tmp_path)
    report = load([wp], store, graph=G)
    assert report.triples == 6 and report.graphs == (G,) and G in str(report)
    join = """SELECT ?pathway ?figure WHERE {
        ?pathway <http://vocabularies.wikipathways.org/wp#hasGene> ?gene .
        ?figure <https://w3id.org/pfocr-kg/vocab#mentionsGene> ?gene }"""
    st = open_store(store, read_only=True)
    rows = [(r["pathway"].value, r["figure"].value) for r in query(st, join)]
    assert rows and len(rows) == len(set(rows))
    # SRC's label is in kg's graph and in the loaded graph: one row, not two
    label = 'SELECT ?l WHERE { <https://identifiers.org/ncbigene/6714> <http://www.w3.org/2000/01/rdf-schema#label> ?l }'
    assert [r["l"].value for r in query(st, label)] == ["SRC"]
    del st
    # every figure mentioning SRC goes: the label stays, held by the loaded graph
    for path in figures(records):
        if "6714" in path.read_text(encoding="utf-8") or "SRC" in path.read_text(encoding="utf-8"):
            path.unlink()
    for table in (records / "_data").glob("*genes.tsv"):
        if "\t6714\t" in table.read_text(encoding="utf-8") or "6714" in table.read_text(encoding="utf-8"):
            table.write_text(table.read_text(encoding="utf-8").splitlines()[0] + "\n", encoding="utf-8")
    build([records], store=store)
    st = open_store(store, read_only=True)
    assert [r["l"].value for r in query(st, label)] == ["SRC"]
    loaded = {q.triple for q in st.quads_for_pattern(None, None, None, ox.NamedNode(G))}
    default = {q.triple for q in st.quads_for_pattern(None, None, None, ox.DefaultGraph())}
    assert len(loaded) == 6 and loaded <= default
    del st
    built = fresh(records, tmp_path)
    assert default == default_of(built) | loaded
    assert {q for q in store_quads(store) if q.graph_name == ox.NamedNode(STATS)} == \
        {q for q in built if q.graph_name == ox.NamedNode(STATS)}
    rows = graphs(store)
    assert rows[0]["graph"] == "default" and rows[0]["triples"] == len(default)
    named = {r["graph"]: r for r in rows[1:]}
    assert named[G]["triples"] == 6 and named[G]["files"] == str(wp) and set(named) == {G, STATS}


def test_load_replace_is_exact(tmp_path):
    store = tmp_path / "store"
    build([SAMPLE], store=store)
    kg_triples = default_of(store_quads(store))
    wp = _loaded_file(tmp_path)
    load([wp], store, graph=G)
    wp.write_text('<https://identifiers.org/wikipathways/WP2> <http://purl.org/dc/terms/title> "Another" .\n',
                  encoding="utf-8")
    load([wp], store, graph=G, replace=True)
    quads = store_quads(store)
    assert {q.triple for q in quads if q.graph_name == ox.NamedNode(G)} == {q.triple for q in ox.parse(path=str(wp))}
    # SRC's label (kg's) stays, the loaded graph's own triples went with it
    assert {q.triple for q in quads if q.graph_name == ox.DefaultGraph()} == kg_triples | {q.triple for q in ox.parse(path=str(wp))}


def test_load_without_graph_uses_the_file_uri(tmp_path, sample_ttl):
    store = tmp_path / "store"
    first = load([sample_ttl], store)
    assert first.before == 0 and first.graphs == (graph_name_for(sample_ttl),)
    quads = store_quads(store)
    named = {q.triple for q in quads if q.graph_name == ox.NamedNode(sample_ttl.resolve().as_uri())}
    default = {q.triple for q in quads if q.graph_name == ox.DefaultGraph()}
    assert named == default == {q.triple for q in ox.parse(path=str(sample_ttl))}
    second = load([sample_ttl], store)
    assert second.before == second.after == first.after == 2 * len(default)
    assert generation_of(store) == 2


def test_failed_load_leaves_store_as_it_was(tmp_path, sample_ttl):
    store = tmp_path / "store"
    load([sample_ttl], store)
    before = store_quads(store)
    broken = tmp_path / "broken.ttl"
    broken.write_text("<http://a> <http://b> .\n", encoding="utf-8")
    with pytest.raises(StoreError, match="broken.ttl"):
        load([sample_ttl, broken], store, graph="https://example.org/other")
    assert store_quads(store) == before
    assert entries(store) == {"CURRENT", ".lock", "gen-1", "gen-1.sqlite"}


def test_failed_load_into_new_store_creates_nothing(tmp_path, sample_ttl):
    broken = tmp_path / "broken.ttl"
    broken.write_text("<http://a> <http://b> .\n", encoding="utf-8")
    with pytest.raises(StoreError, match="broken.ttl.*nothing was loaded"):
        load([sample_ttl, broken], tmp_path / "new")
    assert not (tmp_path / "new").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_gzipped_and_plain_loads_agree(tmp_path, sample_ttl):
    import gzip

    packed = tmp_path / "sample.ttl.gz"
    packed.write_bytes(gzip.compress(sample_ttl.read_bytes()))
    load([packed], tmp_path / "a", graph=G)
    load([sample_ttl], tmp_path / "b", graph=G)
    assert store_quads(tmp_path / "a") == store_quads(tmp_path / "b")


def test_cli_load_errors_are_one_line(tmp_path, capsys):
    broken = tmp_path / "broken.nt"
    broken.write_text("not n-triples\n", encoding="utf-8")
    assert main(["load", str(broken), "--store", str(tmp_path / "s")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("kg: ") and "\n" not in err and "Traceback" not in err
    assert main(["load", str(tmp_path / "missing.ttl"), "--store", str(tmp_path / "s")]) == 2
    assert "missing.ttl" in capsys.readouterr().err


STATISTICS = {
    "gene": "SELECT ?k (COUNT(DISTINCT ?f) AS ?n) { ?f kg:mentionsGene ?k } GROUP BY ?k",
    "paper": "SELECT ?k (COUNT(DISTINCT ?f) AS ?n) { ?f a kg:PathwayFigure ; dcterms:isPartOf ?k } GROUP BY ?k",
    "organism": "SELECT ?k (COUNT(DISTINCT ?f) AS ?n) { ?f a kg:PathwayFigure ; wp:organism ?k } GROUP BY ?k",
    "year": "SELECT ?k (COUNT(DISTINCT ?f) AS ?n) { ?f a kg:PathwayFigure ; dcterms:isPartOf ?p . "
            "?p fabio:hasPublicationYear ?k } GROUP BY ?k",
    "journal": "SELECT ?k (COUNT(DISTINCT ?f) AS ?n) { ?f a kg:PathwayFigure ; dcterms:isPartOf ?p . "
               "?p kg:journalTitle ?k } GROUP BY ?k",
}
def test_file_stamps_spare_reading_unchanged_records_and_miss_no_change(tmp_path):
    """Records whose files (record, tables, wpid map) have the stamps of the last build are
    not read again; a change that keeps size and modification time still changes the stamp
    (the change time moves), and a just-written file is never trusted by stamp."""
    import os
    import time

    records = copy_sample(tmp_path)
    time.sleep(2.2)  # older than kg.sinks.store.RACY_NS: stamps are kept
    store = tmp_path / "store"
    build([records], store=store)
    ledger = Ledger(store / f"gen-{generation_of(store)}.sqlite", read_only=True)
    stamps = ledger.stamps()
    ledger.close()
    assert len(stamps) == len(figures(records))
    path = figures(records)[3]
    before = path.stat()
    text = path.read_text(encoding="utf-8")
    same_size = text.replace("figtitle: ", "figtitle: X", 1).replace("\ncaption: ", "\ncaption:", 1)
    assert len(same_size.encode()) == before.st_size
    path.write_text(same_size, encoding="utf-8")
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))  # same size, same mtime
    report = build([records], store=store)
    assert report.figures_unchanged == len(figures(records)) - 1
    assert store_quads(store) == fresh(records, tmp_path)
    ledger = Ledger(store / f"gen-{generation_of(store)}.sqlite", read_only=True)
    after = ledger.stamps()
    ledger.close()
    assert str(path) not in after  # written just now: re-read next time
    assert len(after) == len(stamps) - 1


PREFIXES = ("PREFIX kg: <https://w3id.org/pfocr-kg/vocab#> PREFIX dcterms: <http://purl.org/dc/terms/> "
            "PREFIX wp: <http://vocabularies.wikipathways.org/wp#> PREFIX fabio: <http://purl.org/spar/fabio/> "
            "PREFIX rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#> PREFIX schema: <http://schema.org/> ")


def _statistics_agree(store: Path) -> None:
    """The statistics graph says what aggregates over the default graph say."""
    st = open_store(store, read_only=True)
    try:
        expected = {}
        for kind, sparql in STATISTICS.items():
            expected[kind] = {r["k"]: int(r["n"].value) for r in st.query(PREFIXES + sparql)}
        iris = (f"SELECT ?k ?n {{ GRAPH <{STATS}> {{ ?k kg:figureCount ?n FILTER NOT EXISTS {{ ?k rdf:value ?v }} "
                f"FILTER(?k != <{STATS}#summary>) }} }}")
        found = {r["k"]: int(r["n"].value) for r in st.query(PREFIXES + iris)}
        assert found == {**expected["gene"], **expected["paper"], **expected["organism"]}
        for kind in ("year", "journal"):
            values = (f"SELECT ?k ?n {{ GRAPH <{STATS}> {{ ?s a kg:{kind.capitalize()}Statistic ; rdf:value ?k ; "
                      f"kg:figureCount ?n }} }}")
            assert {r["k"]: int(r["n"].value) for r in st.query(PREFIXES + values)} == expected[kind], kind
        assert expected["gene"] and expected["year"]
        papers = ("SELECT ?k (COUNT(DISTINCT ?p) AS ?n) { ?f a kg:PathwayFigure ; dcterms:isPartOf ?p . "
                  "?p kg:journalTitle ?k } GROUP BY ?k")
        journals = f"SELECT ?k ?n {{ GRAPH <{STATS}> {{ ?s a kg:JournalStatistic ; rdf:value ?k ; kg:paperCount ?n }} }}"
        assert ({r["k"]: int(r["n"].value) for r in st.query(PREFIXES + journals)}
                == {r["k"]: int(r["n"].value) for r in st.query(PREFIXES + papers)})
        totals = ("SELECT * { { SELECT (COUNT(DISTINCT ?f) AS ?figureCount) { ?f a kg:PathwayFigure } } "
                  "{ SELECT (COUNT(DISTINCT ?p) AS ?paperCount) { ?p a schema:ScholarlyArticle } } "
                  "{ SELECT (COUNT(DISTINCT ?g) AS ?geneCount) { ?f kg:mentionsGene ?g } } "
                  "{ SELECT (COUNT(DISTINCT ?c) AS ?chemicalCount) { ?f kg:mentionsChemical ?c } } "
                  "{ SELECT (COUNT(DISTINCT ?d) AS ?diseaseCount) { ?f kg:mentionsDisease ?d } } "
                  "{ SELECT (COUNT(DISTINCT ?o) AS ?organismCount) { ?f a kg:PathwayFigure ; wp:organism ?o } } "
                  "{ SELECT (COUNT(DISTINCT ?m) AS ?mentionCount) { ?f kg:hasMention ?m } } }")
        row = next(iter(st.query(PREFIXES + totals)))
        want = {k: int(row[k].value) for k in ("figureCount", "paperCount", "geneCount", "chemicalCount",
                                               "diseaseCount", "organismCount", "mentionCount")}
        summary = f"SELECT ?p ?n {{ GRAPH <{STATS}> {{ <{STATS}#summary> ?p ?n FILTER(isLiteral(?n)) }} }}"
        found = {r["p"].value.rsplit("#", 1)[1]: int(r["n"].value) for r in st.query(PREFIXES + summary)}
        assert found == want and want["mentionCount"] and want["chemicalCount"]
    finally:
        del st


def test_statistics_are_exact_after_every_change(tmp_path):
    rng = random.Random(5)
    records = copy_sample(tmp_path)
    store = tmp_path / "store"
    build([records], store=store)
    _statistics_agree(store)
    for step in range(4):
        for i in range(3):
            _random_change(records, rng, 900 + step * 10 + i)
        build([records], store=store)
        _statistics_agree(store)


def test_store_is_compacted_once_a_quarter_of_its_figures_changed(tmp_path):
    """Updates leave the store fragmented (slower queries): once the figures changed since
    the last compaction reach COMPACT_SHARE of all figures, the new generation is compacted
    before it is committed; the store still equals a fresh build."""
    from kg.sinks.store import COMPACT_SHARE

    records = copy_sample(tmp_path)
    store = tmp_path / "store"
    build([records], store=store)
    files = figures(records)

    def changed_since_compaction() -> int:
        ledger = Ledger(store / f"gen-{generation_of(store)}.sqlite", read_only=True)
        try:
            return int(ledger.get_meta("changed since compaction"))
        finally:
            ledger.close()

    edit(files[0], figtitle="Edited once")
    build([records], store=store)
    assert changed_since_compaction() == 1
    quarter = int(COMPACT_SHARE * len(files)) + 1
    for i, path in enumerate(files[1:quarter + 1]):
        edit(path, figtitle=f"Edited {i}")
    build([records], store=store)
    assert changed_since_compaction() == 0
    assert store_quads(store) == fresh(records, tmp_path)
