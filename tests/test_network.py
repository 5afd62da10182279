"""kg.network: graphs checked against values derived from the sample records themselves."""

from __future__ import annotations

import csv
import gzip
import itertools
import json
import shutil
from collections import Counter
from pathlib import Path

import networkx as nx
import pytest
import yaml

from kg.cli import main
from kg.errors import StoreError
from kg.network import format_stats, project, stats, write_network

NCBIGENE = "https://identifiers.org/ncbigene/"
MISSING = {"", "NA", ".na.character", "NULL", "null", "None"}


def _present(raw: object) -> str | None:
    text = "" if raw is None else str(raw).strip()
    return None if text in MISSING else text


def record_genes(sample: Path) -> dict[str, set[str]]:
    """figure IRI -> NCBI gene IRIs, read straight from the records (TSV tables and inline lists)."""
    out: dict[str, set[str]] = {}
    for md in sorted((sample / "_figures").glob("*.md")):
        fields = yaml.safe_load(md.read_text(encoding="utf-8").split("\n---", 1)[0].removeprefix("---\n"))
        figid = str(fields["figid"])
        figure = (fields.get("schema-jsonld") or {}).get("@id") or f"https://pfocr.wikipathways.org/figures/{figid}.html"
        genes = {NCBIGENE + e for item in fields.get("genes") or []
                 if _present(item.get("word")) and (e := _present(item.get("entrez")))}
        table = sample / "_data" / f"{figid}-genes.tsv"
        if table.is_file():
            with open(table, encoding="utf-8", newline="") as fh:
                genes |= {NCBIGENE + e for row in csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE)
                          if (e := _present(row["ncbigene_id"]))}
        if genes:
            out[figure] = genes
    return out


def pair_counts(figures: dict[str, set[str]]) -> Counter:
    return Counter(frozenset(p) for genes in figures.values() for p in itertools.combinations(sorted(genes), 2))


@pytest.fixture(scope="module")
def expected(sample_dir) -> dict[str, set[str]]:
    figures = record_genes(sample_dir)
    assert len(figures) >= 5 and sum(map(len, figures.values())) > 100  # the sample has genes in both layouts
    return figures


@pytest.fixture(scope="module")
def cooc(sample_store):
    return project(sample_store)


def _edges(graph: nx.Graph) -> dict[frozenset, int]:
    return {frozenset((a, b)): int(w) for a, b, w in graph.edges(data="weight")}


def test_bipartite_nodes_and_edges_match_records(sample_store, expected):
    graph = project(sample_store, kind="bipartite")
    genes = set().union(*expected.values())
    assert set(graph) == set(expected) | genes
    assert {n for n, d in graph.nodes(data=True) if d["bipartite"] == 0 and d["kind"] == "figure"} == set(expected)
    assert {n for n, d in graph.nodes(data=True) if d["bipartite"] == 1 and d["kind"] == "gene"} == genes
    assert set(map(frozenset, graph.edges())) == {frozenset((f, g)) for f, gs in expected.items() for g in gs}
    assert nx.is_bipartite(graph)
    for figure, gs in expected.items():
        data = graph.nodes[figure]
        assert data["degree"] == len(gs) and data["title"] and 1990 < data["year"] < 2100


def test_cooccurrence_weights_match_records(cooc, expected):
    counts = pair_counts(expected)
    assert set(cooc) == set().union(*expected.values())
    assert _edges(cooc) == dict(counts)
    for pair, n in counts.most_common(3) + list(counts.items())[:3]:
        assert cooc.edges[tuple(pair)]["weight"] == n
    per_gene = Counter(g for gs in expected.values() for g in gs)
    for gene, data in cooc.nodes(data=True):
        assert data["figures"] == per_gene[gene]
        assert data["degree"] == cooc.degree(gene)
        assert data["ncbigene"] == gene.removeprefix(NCBIGENE) and data["label"]
        assert None not in data.values()
    assert cooc.nodes[NCBIGENE + "1376"]["symbol"] == "CPT2"
    assert cooc.nodes[NCBIGENE + "1376"]["taxon"] == "http://purl.obolibrary.org/obo/NCBITaxon_9606"


def test_min_weight_filters_edges(sample_store, expected):
    counts = pair_counts(expected)
    graph = project(sample_store, min_weight=2)
    assert _edges(graph) == {p: n for p, n in counts.items() if n >= 2}
    per_gene = Counter(g for gs in expected.values() for g in gs)
    assert set(graph) == {g for g, n in per_gene.items() if n >= 2}


def test_min_weight_with_shared_figures(tmp_path, sample_dir):
    """A copy of one record under a new figid: every pair of its genes then has weight 2."""
    sample = tmp_path / "sample"
    shutil.copytree(sample_dir, sample)
    old = "PMC1052011__JCI0524405.f1"
    text = (sample / "_figures" / f"{old}.md").read_text(encoding="utf-8")
    (sample / "_figures" / f"{old}x.md").write_text(text.replace(old, old + "x"), encoding="utf-8")
    expected = record_genes(sample)
    counts = pair_counts(expected)
    heavy = {p: n for p, n in counts.items() if n >= 2}
    assert len(heavy) >= 10
    assert main(["build", str(sample), "--store", str(tmp_path / "store"), "-q", "-j", "1"]) == 0
    graph = project(tmp_path / "store", min_weight=2)
    assert _edges(graph) == heavy
    assert _edges(project(tmp_path / "store", min_weight=3)) == {p: n for p, n in counts.items() if n >= 3}
    assert _edges(project(tmp_path / "store")) == dict(counts)


@pytest.mark.parametrize("ext", [".graphml", ".gexf", ".json"])
@pytest.mark.parametrize("kind", ["cooccurrence", "bipartite"])
def test_export_round_trip(tmp_path, sample_store, kind, ext):
    graph = project(sample_store, kind=kind)
    out = write_network(graph, tmp_path / f"net{ext}")
    if ext == ".graphml":
        back = nx.read_graphml(out)
    elif ext == ".gexf":
        back = nx.read_gexf(out)
    else:
        back = nx.node_link_graph(json.loads(out.read_text(encoding="utf-8")))  # networkx's defaults
    assert set(back) == set(graph)
    assert _edges(back) == _edges(graph)
    node = next(iter(graph))
    assert back.nodes[node]["label"] == graph.nodes[node]["label"]
    assert [p.name for p in tmp_path.iterdir()] == [out.name]  # no temporary left behind


def test_unknown_extension(tmp_path, cooc):
    with pytest.raises(ValueError, match=r"\.graphml, \.gexf, \.json"):
        write_network(cooc, tmp_path / "net.csv")
    assert not any(tmp_path.iterdir())


def test_store_and_dumps_give_the_same_graph(tmp_path, sample_store, sample_ttl, cooc):
    gz = tmp_path / "sample.ttl.gz"
    gz.write_bytes(gzip.compress(sample_ttl.read_bytes()))
    for source in (sample_ttl, gz):
        graph = project(source)
        assert set(graph) == set(cooc) and _edges(graph) == _edges(cooc)
        assert dict(graph.nodes(data=True)) == dict(cooc.nodes(data=True))
    a, b = project(sample_store, "bipartite"), project(sample_ttl, "bipartite")
    assert dict(a.nodes(data=True)) == dict(b.nodes(data=True)) and _edges(a) == _edges(b)


def test_stats(sample_store, sample_ttl, sample_dir, expected):
    result = stats(sample_store, top=3)
    counts = result["counts"]
    assert counts["figures"] == len(list((sample_dir / "_figures").glob("*.md")))
    assert counts["genes"] == len(set().union(*expected.values()))
    assert set(counts) == {"figures", "papers", "genes", "chemicals", "diseases", "organisms", "mentions", "triples"}
    assert all(isinstance(n, int) and n > 0 for n in counts.values())
    per_gene = Counter(g for gs in expected.values() for g in gs)
    assert len(result["top_genes"]) == 3
    assert [r["figures"] for r in result["top_genes"]] == sorted(per_gene.values(), reverse=True)[:3]
    assert result["top_organisms"][0]["label"] == "Homo sapiens"
    assert sum(result["figures_per_year"].values()) <= counts["figures"]
    graphs = result.pop("graphs")  # a store lists its graphs; a dump has none to list
    assert stats(sample_ttl, top=3) == result  # the dump holds the same triples, once each
    assert graphs[0]["graph"] == "default" and graphs[0]["triples"] == counts["triples"]
    assert graphs[0]["figures"] == counts["figures"]
    assert [g["graph"] for g in graphs[1:]] == ["https://w3id.org/pfocr-kg/statistics"]
    text = format_stats({**result, "graphs": graphs})
    assert "figures" in text and "top genes" in text and "Homo sapiens" in text
    assert "kg's statistics" in text and "kg's graph" in text


def test_missing_sources(tmp_path):
    with pytest.raises(StoreError, match="no store at"):
        project(tmp_path / "nowhere")
    with pytest.raises(FileNotFoundError):
        project(tmp_path / "nowhere.ttl")
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(StoreError, match="neither a store folder nor an RDF dump"):
        stats(tmp_path / "notes.txt")
    with pytest.raises(ValueError, match="unknown network kind"):
        project(tmp_path, kind="star")


def test_cli(tmp_path, sample_store, capsys):
    out = tmp_path / "x.graphml"
    assert main(["network", "--store", str(sample_store), "-o", str(out), "--kind", "bipartite"]) == 0
    assert "bipartite network" in capsys.readouterr().err
    assert set(nx.read_graphml(out)) == set(project(sample_store, kind="bipartite"))
    assert main(["network", "--store", str(sample_store), "-o", str(tmp_path / "x.json"), "--min-weight", "2"]) == 0
    assert main(["stats", "--store", str(sample_store), "--top", "2"]) == 0
    assert "top genes" in capsys.readouterr().out


def test_json_reads_back_with_networkx_defaults(tmp_path, sample_ttl, cooc):
    """`kg network -o FILE.json` (and `-o - --format json`): node_link_graph(data), no keywords."""
    out = tmp_path / "g.json"
    assert main(["network", str(sample_ttl), "-o", str(out)]) == 0
    back = nx.node_link_graph(json.loads(out.read_text(encoding="utf-8")))
    assert set(back) == set(cooc) and _edges(back) == _edges(cooc) and back.number_of_edges() > 0
    assert dict(back.nodes(data=True)) == dict(cooc.nodes(data=True))


def test_stdout_needs_a_format(tmp_path, cooc, capsysbinary):
    with pytest.raises(ValueError, match="needs a format"):
        write_network(cooc, "-")
    write_network(cooc, "-", format="graphml")
    back = nx.parse_graphml(capsysbinary.readouterr().out.decode("utf-8"))
    assert set(back) == set(cooc) and _edges(back) == _edges(cooc)


@pytest.mark.parametrize("argv", [
    ["stats", "--store", "{tmp}/missing-store"],
    ["network", "--store", "{tmp}/missing-store", "-o", "{tmp}/x.graphml"],
    ["network", "{tmp}/missing.ttl", "-o", "{tmp}/x.gexf"],
    ["network", "{tmp}/missing.ttl", "-o", "-"],
    ["network", "--store", "{tmp}/missing-store", "-o", "{tmp}/x.csv"],
])
def test_cli_errors(tmp_path, capsys, argv):
    assert main([a.format(tmp=tmp_path) for a in argv]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("kg: ") and captured.err.count("\n") == 1
    assert not (tmp_path / "x.graphml").exists() and not (tmp_path / "missing-store").exists()
