"""kg export gmt / kgx on the built sample.

GMT: the files parse with a ten-line GMT reader (and gseapy's, when installed) and every
line equals the figure's gene set (or ChEBI set) computed independently with rdflib from the
sample's Turtle dump; file names and line layout follow PFOCR's release files.
KGX: validated offline against the Biolink Model shipped in the ``biolink-model`` package
with ``bmt`` (every category and predicate a Biolink element, CURIE prefixes from Biolink's
prefix map and the category's id prefixes, enum values, every edge end a node, KGX columns),
and its edges equal the graph's links.
"""

from __future__ import annotations

import json
import os
import re
from collections import defaultdict
from importlib import resources
from pathlib import Path

import pytest
import rdflib

import kg
from kg import vocab
from kg.cli import main, make_parser
from kg.export import MANIFEST

KG = rdflib.Namespace(vocab.KG)
WP = rdflib.Namespace(vocab.WP)
DCT = rdflib.Namespace(vocab.DCTERMS)
RDF_TYPE = rdflib.RDF.type
DATE = "20240110"


# --------------------------------------------------------------------------- the reference


def read_gmt(path: Path) -> list[tuple[str, str, list[str]]]:
    """A plain GMT reader: name, description, members, one line each, tab-separated."""
    lines = []
    for line in path.read_text("utf-8").splitlines():
        name, description, *members = line.split("\t")
        lines.append((name, description, members))
    return lines


@pytest.fixture(scope="module")
def dump(sample_ttl) -> rdflib.Graph:
    return rdflib.Graph().parse(sample_ttl, format="turtle")


class Reference:
    """The sample's figures, gene sets and chemical sets, read with rdflib from the dump."""

    def __init__(self, g: rdflib.Graph):
        self.figures = {}
        for fig in g.subjects(RDF_TYPE, KG.PathwayFigure):
            figid = str(g.value(fig, DCT.identifier))
            alias = str(g.value(fig, KG.figureAlias) or figid)
            title = " ".join(str(g.value(fig, DCT.title) or figid).split())
            self.figures[fig] = (figid, alias, title)
        self.genes: dict = defaultdict(lambda: defaultdict(set))  # figure -> taxid -> gene ids
        for fig, gene in g.subject_objects(KG.mentionsGene):
            taxa = [str(t).rsplit("_", 1)[1] for t in g.objects(gene, WP.organism)] or [None]
            for taxid in taxa:
                self.genes[fig][taxid].add(str(g.value(gene, DCT.identifier)))
        self.chemicals: dict = defaultdict(set)  # figure -> chebi numbers
        for fig, mention in g.subject_objects(KG.hasMention):
            if (mention, RDF_TYPE, KG.ChemicalMention) not in g:
                continue
            for term in g.objects(mention, KG.refersTo):
                for candidate in [term, *g.objects(term, WP.bdbChEBI)]:
                    found = re.search(r"CHEBI[_:](\d+)$", str(candidate))
                    if found:
                        self.chemicals[fig].add(found.group(1))
        self.figure_taxa = {fig: {str(t).rsplit("_", 1)[1] for t in g.objects(fig, WP.organism)}
                            for fig in self.figures}
        self.taxon_names = {str(t).rsplit("_", 1)[1]: str(g.value(t, rdflib.RDFS.label) or "")
                            for t in set(g.objects(None, WP.organism))}

    def gene_lines(self, taxid: str | None = None, min_size: int = 1, figures=None) -> dict:
        """``alias -> (title, ids in numeric order)`` for one organism (None: all genes)."""
        lines = {}
        for fig, by_taxon in self.genes.items():
            if figures is not None and fig not in figures:
                continue
            ids = set().union(*by_taxon.values()) if taxid is None else by_taxon.get(taxid, set())
            if len(ids) >= min_size:
                figid, alias, title = self.figures[fig]
                lines[alias] = (title, sorted(ids, key=int))
        return lines

    def chemical_lines(self, taxid: str | None = None) -> dict:
        lines = {}
        for fig, numbers in self.chemicals.items():
            if taxid is None or taxid in self.figure_taxa[fig]:
                figid, alias, title = self.figures[fig]
                lines[alias] = (title, [f"chebi:{n}" for n in sorted(numbers, key=int)])
        return lines


@pytest.fixture(scope="module")
def ref(dump) -> Reference:
    reference = Reference(dump)
    assert len(reference.genes) > 20 and len(reference.chemicals) > 10  # the comparisons mean something
    return reference


def as_dict(lines) -> dict:
    names = [name for name, _, _ in lines]
    assert len(names) == len(set(names)), "one line per figure"
    return {name: (description, members) for name, description, members in lines}


# --------------------------------------------------------------------------- GMT


def test_gmt_one_file_all_organisms(sample_store, ref, tmp_path):
    out = tmp_path / "pfocr.gmt"
    report = kg.export_gmt(sample_store, out)
    lines = read_gmt(out)
    assert as_dict(lines) == ref.gene_lines()
    assert report.lines == len(lines) == len(ref.genes)
    assert [name for name, _, _ in lines] == sorted(name for name, _, _ in lines)
    for name, description, members in lines:
        assert re.fullmatch(r"PMC\d+__\S+", name)  # figid_alias, e.g. PMC100003__F11
        assert description and description == " ".join(description.split())
        assert members and all(m.isdigit() for m in members) and len(set(members)) == len(members)
    text = out.read_text("utf-8")
    assert text.endswith("\n") and "\r" not in text and "\n\n" not in text


def test_gmt_folder_one_file_per_organism_named_as_pfocr_releases(sample_store, ref, tmp_path):
    folder = tmp_path / "gmt"
    report = kg.export_gmt(sample_store, f"{folder}/", date=DATE)
    taxa = {t for by_taxon in ref.genes.values() for t in by_taxon if t is not None}
    expected = {f"pfocr-{DATE}-gmt-{ref.taxon_names[t].replace(' ', '_')}.gmt": t for t in taxa}
    assert "pfocr-20240110-gmt-Homo_sapiens.gmt" in expected
    assert {p.name for p in folder.iterdir()} == {*expected, MANIFEST}
    for name, taxid in expected.items():
        assert as_dict(read_gmt(folder / name)) == ref.gene_lines(taxid), name
    assert len(report.files) == len(expected)
    manifest = json.loads((folder / MANIFEST).read_text("utf-8"))
    assert {f["name"] for f in manifest["files"]} == set(expected)


@pytest.mark.parametrize("organism", ["9606", "Homo sapiens", "homo_sapiens", "NCBITaxon:9606"])
def test_gmt_one_organism(sample_store, ref, tmp_path, organism):
    out = tmp_path / "human.gmt"
    kg.export_gmt(sample_store, out, organism=organism)
    assert as_dict(read_gmt(out)) == ref.gene_lines("9606")


def test_gmt_min_size(sample_store, ref, tmp_path):
    out = tmp_path / "big.gmt"
    kg.export_gmt(sample_store, out, min_size=15)
    expected = ref.gene_lines(min_size=15)
    assert 0 < len(expected) < len(ref.genes)
    assert as_dict(read_gmt(out)) == expected


def test_gmt_chemicals(sample_store, ref, tmp_path):
    out = tmp_path / "chemicals.gmt"
    kg.export_gmt(sample_store, out, kind="chemicals")
    assert as_dict(read_gmt(out)) == ref.chemical_lines()
    folder = tmp_path / "chem"
    kg.export_gmt(sample_store, f"{folder}/", kind="chemicals", date=DATE)
    human = folder / f"pfocr-{DATE}-chemical-gmt-Homo_sapiens.gmt"
    assert as_dict(read_gmt(human)) == ref.chemical_lines("9606")


def test_gmt_query_selects_the_figures(sample_store, ref, dump, tmp_path):
    """A .rq file's ?figure column restricts the figures: here, figures mentioning a disease
    (IRIs), and the same figures named by figid (literals)."""
    with_disease = set(dump.subjects(KG.mentionsDisease, None))
    assert 0 < len(with_disease & set(ref.genes)) < len(ref.genes)
    expected = ref.gene_lines(figures=with_disease)
    for text in ("SELECT DISTINCT ?figure WHERE { ?figure kg:mentionsDisease ?disease }",
                 "SELECT DISTINCT ?figure WHERE { ?f kg:mentionsDisease ?d ; dcterms:identifier ?figure }"):
        query = tmp_path / "q.rq"
        query.write_text("# figures mentioning a disease\n" + text + "\n", encoding="utf-8")
        out = tmp_path / "disease.gmt"
        report = kg.export_gmt(sample_store, out, query=str(query))
        assert report.figures_selected == len(with_disease)
        assert as_dict(read_gmt(out)) == expected


def test_gmt_reads_with_gseapy(sample_store, ref, tmp_path):
    gseapy = pytest.importorskip("gseapy", reason="gseapy not installed (optional: pip install gseapy)")
    out = tmp_path / "pfocr.gmt"
    kg.export_gmt(sample_store, out)
    sets = gseapy.read_gmt(str(out))
    assert {name: members for name, (_, members) in ref.gene_lines().items()} == sets


def test_gmt_cli(sample_store, ref, tmp_path, capsys):
    assert main(["export", "gmt", "--store", str(sample_store), "-o", "-", "--organism", "9606"]) == 0
    captured = capsys.readouterr()
    lines = [tuple(line.split("\t", 2)) for line in captured.out.splitlines()]
    assert {name: title for name, title, _ in lines} == {k: v[0] for k, v in ref.gene_lines("9606").items()}
    assert "gene sets" in captured.err
    folder = tmp_path / "out"
    assert main(["export", "gmt", "--store", str(sample_store), "-o", f"{folder}/", "--date", DATE,
                 "--kind", "chemicals"]) == 0
    assert (folder / f"pfocr-{DATE}-chemical-gmt-Homo_sapiens.gmt").is_file()


def test_gmt_errors_are_one_line(sample_store, tmp_path, capsys):
    query = tmp_path / "q.rq"
    query.write_text("SELECT ?f WHERE { ?f a kg:PathwayFigure }\n", encoding="utf-8")
    cases = [
        (["--query", str(query), "-o", str(tmp_path / "x.gmt")], "must SELECT ?figure"),
        (["--organism", "Nosuchus organismus", "-o", str(tmp_path / "x.gmt")], "unknown organism"),
        (["--query", str(query), "-o", str(query)], "input"),
        (["-o", str(tmp_path / "x.gmt"), "--date", "2024-01-10"], "YYYYMMDD"),
    ]
    for extra, message in cases:
        assert main(["export", "gmt", "--store", str(sample_store), *extra]) == 2
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err
    assert query.read_text("utf-8").startswith("SELECT ?f")
    assert main(["export", "gmt", "--store", str(tmp_path / "nowhere"), "-o", "-"]) == 2
    assert "no store" in capsys.readouterr().err


def test_folder_exports_never_touch_a_users_file(sample_store, tmp_path, capsys):
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "notes.txt").write_text("keep me", encoding="utf-8")
    for argv in (["gmt", "-o", f"{folder}/"], ["kgx", "-o", str(folder)]):
        assert main(["export", *argv, "--store", str(sample_store)]) == 2
        assert "kg did not write (notes.txt)" in capsys.readouterr().err
    assert [p.name for p in folder.iterdir()] == ["notes.txt"]
    assert (folder / "notes.txt").read_text("utf-8") == "keep me"
    # a folder kg exported to is replaced by the next export there, and only kg's files go
    ours = tmp_path / "ours"
    kg.export_gmt(sample_store, f"{ours}/", date="20240101")
    kg.export_gmt(sample_store, f"{ours}/", date="20240201")
    assert {p.name[:15] for p in ours.iterdir() if p.name != MANIFEST} == {"pfocr-20240201-"}


# --------------------------------------------------------------------------- KGX


@pytest.fixture(scope="module")
def toolkit():
    """bmt over the Biolink Model YAML of the biolink-model package: no network."""
    try:
        import bmt
        import biolink_model
    except ImportError:
        if os.environ.get("CI"):
            pytest.fail("bmt / biolink-model missing: pip install -e '.[test]'")
        pytest.skip("bmt / biolink-model not installed (pip install -e '.[test]')")
    schema = resources.files(biolink_model).joinpath("schema/biolink_model.yaml")
    # bmt reads the predicate map only for mapping lookups; a local, empty one keeps it offline
    return bmt.Toolkit(schema=str(schema), predicate_map={"predicate mappings": []})


@pytest.fixture(scope="module")
def biolink_prefixes() -> dict[str, str]:
    import biolink_model

    path = resources.files(biolink_model).joinpath("prefixmaps/biolink_model_prefix_map.json")
    return json.loads(path.read_text("utf-8"))


def read_tsv(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    header, *rows = path.read_text("utf-8").splitlines()
    columns = header.split("\t")
    records = []
    for row in rows:
        cells = row.split("\t")
        assert len(cells) == len(columns), row
        records.append(dict(zip(columns, cells)))
    return columns, records


@pytest.fixture(scope="module")
def kgx(sample_store, tmp_path_factory):
    folder = tmp_path_factory.mktemp("kgx") / "pfocr-kgx"
    report = kg.export_kgx(sample_store, folder)
    assert not report.skipped
    node_columns, nodes = read_tsv(folder / "nodes.tsv")
    edge_columns, edges = read_tsv(folder / "edges.tsv")
    return folder, node_columns, nodes, edge_columns, edges


def test_kgx_columns_follow_the_kgx_format(kgx, toolkit):
    folder, node_columns, nodes, edge_columns, edges = kgx
    assert node_columns[:2] == ["id", "category"]
    assert {"subject", "predicate", "object", "knowledge_level", "agent_type"} <= set(edge_columns)
    for column in node_columns + edge_columns:
        assert toolkit.get_element(column) is not None, f"{column} is not a Biolink slot"
    ids = [n["id"] for n in nodes]
    assert len(ids) == len(set(ids)) and all(ids)
    edge_ids = [e["id"] for e in edges]
    assert len(edge_ids) == len(set(edge_ids)) and all(i.startswith("urn:uuid:") for i in edge_ids)


def test_kgx_categories_predicates_and_enums_are_biolink(kgx, toolkit):
    _, _, nodes, _, edges = kgx
    for category in {c for n in nodes for c in n["category"].split("|")}:
        assert toolkit.is_category(category), category
        assert not toolkit.get_element(category).abstract, category
    for predicate in {e["predicate"] for e in edges}:
        assert toolkit.is_predicate(predicate), predicate
    for category in {e["category"] for e in edges}:
        assert category in toolkit.get_descendants("biolink:Association", formatted=True), category
    levels = set(toolkit.view.get_enum("KnowledgeLevelEnum").permissible_values)
    agents = set(toolkit.view.get_enum("AgentTypeEnum").permissible_values)
    for edge in edges:
        assert edge["knowledge_level"] in levels and edge["agent_type"] in agents
        assert edge["primary_knowledge_source"].startswith("infores:")
    mentions = [e for e in edges if e["predicate"] == "biolink:mentions"]
    assert mentions and all(e["agent_type"] == "image_processing_agent" for e in mentions)
    # in_taxon's domain is 'thing with taxon': genes are
    assert "thing with taxon" in toolkit.get_ancestors("biolink:Gene", mixin=True)


def test_kgx_curies_come_from_the_biolink_prefix_map(kgx, toolkit, biolink_prefixes):
    _, _, nodes, _, edges = kgx
    patterns = {"NCBIGene": r"\d+", "NCBITaxon": r"\d+", "CHEBI": r"\d+", "MESH": r"[CD]\d+", "DOID": r"\d+",
                "PMC": r"\d+", "PFOCR": r"PMC\d+__\S+"}
    for node in nodes:
        prefix, local = node["id"].split(":", 1)
        assert re.fullmatch(patterns[prefix], local), node["id"]
        if prefix == "PFOCR":  # no Biolink prefix names PFOCR figures: ours, stated in the manifest
            assert node["iri"] == f"{vocab.PFOCR_FIGURES}{local}.html"
            continue
        assert prefix in biolink_prefixes, prefix
        id_prefixes = toolkit.get_element(node["category"]).id_prefixes
        assert prefix in id_prefixes, (node["id"], node["category"])
        expanded = biolink_prefixes[prefix] + local  # Biolink's IRI names the same thing as kg's
        assert expanded.rsplit("/", 1)[-1].replace("CHEBI_", "").replace("NCBITaxon_", "") \
            == node["iri"].rsplit("/", 1)[-1].replace("CHEBI_", "").replace("NCBITaxon_", ""), node
    for edge in edges:
        for value in [edge["primary_knowledge_source"], *filter(None, edge["publications"].split("|"))]:
            assert ":" in value


def test_kgx_every_edge_end_is_a_node(kgx):
    _, _, nodes, _, edges = kgx
    ids = {n["id"] for n in nodes}
    for edge in edges:
        assert edge["subject"] in ids and edge["object"] in ids, edge
    publications = {p for e in edges for p in e["publications"].split("|") if p}
    assert publications and publications <= ids


def test_kgx_holds_the_graph(kgx, ref, dump):
    """Figures, genes and their links equal what the dump says (computed with rdflib)."""
    _, _, nodes, _, edges = kgx
    by_category = defaultdict(set)
    for node in nodes:
        by_category[node["category"]].add(node["id"])
    figures = {f"PFOCR:{figid}" for figid, _, _ in ref.figures.values()}
    papers = {f"PMC:{str(p).rsplit('PMC', 1)[1]}" for p in dump.objects(None, DCT.isPartOf)}
    assert by_category["biolink:Publication"] == figures | papers
    genes = {f"NCBIGene:{g}" for by_taxon in ref.genes.values() for ids in by_taxon.values() for g in ids}
    assert by_category["biolink:Gene"] == genes
    figure_of = {fig: f"PFOCR:{figid}" for fig, (figid, _, _) in ref.figures.items()}
    expected = {(figure_of[fig], f"NCBIGene:{g}") for fig, by_taxon in ref.genes.items()
                for ids in by_taxon.values() for g in ids}
    gene_mentions = {(e["subject"], e["object"]) for e in edges
                     if e["predicate"] == "biolink:mentions" and e["object"].startswith("NCBIGene:")}
    assert gene_mentions == expected
    in_taxon = {(e["subject"], e["object"]) for e in edges if e["predicate"] == "biolink:in_taxon"}
    assert in_taxon == {(f"NCBIGene:{str(g).rsplit('/', 1)[1]}", f"NCBITaxon:{str(t).rsplit('_', 1)[1]}")
                        for g, t in dump.subject_objects(WP.organism) if (None, KG.mentionsGene, g) in dump}
    chemicals = {e["object"] for e in edges if e["predicate"] == "biolink:mentions"
                 and e["object"] in by_category["biolink:ChemicalEntity"]}
    assert chemicals == by_category["biolink:ChemicalEntity"] and chemicals
    assert by_category["biolink:Disease"] and by_category["biolink:OrganismTaxon"]
    chebi_of = {n["id"]: n["xref"] for n in nodes if n["id"].startswith("MESH:") and n["xref"]}
    assert any(x.startswith("CHEBI:") for x in chebi_of.values())


def test_kgx_cli(sample_store, tmp_path, capsys):
    out = tmp_path / "kgx"
    assert main(["export", "kgx", "--store", str(sample_store), "-o", str(out)]) == 0
    assert "nodes" in capsys.readouterr().err
    assert {p.name for p in out.iterdir()} == {"nodes.tsv", "edges.tsv", MANIFEST}
    assert main(["export", "kgx", "--store", str(sample_store), "-o", str(out)]) == 0  # its own folder
    capsys.readouterr()
    assert main(["export", "kgx", "--store", str(sample_store), "-o", "-"]) == 2
    assert "not - (standard output)" in capsys.readouterr().err
    assert main(["export", "kgx", "--store", str(sample_store), "-o", str(out / "nodes.tsv")]) == 2
    assert "is a file" in capsys.readouterr().err


def test_export_help_and_defaults():
    import argparse

    top = next(a for a in make_parser()._actions if isinstance(a, argparse._SubParsersAction))
    export = top.choices["export"]
    formats = next(a for a in export._actions if isinstance(a, argparse._SubParsersAction))
    assert set(formats.choices) == {"gmt", "kgx"}
    for name, parser in formats.choices.items():
        text = " ".join(parser.format_help().split()).replace("- ", "-")  # argparse wraps after hyphens
        store = next(a for a in parser._actions if a.dest == "store")
        assert store.option_strings == ["--store"] and "(default: kg-store)" in text
        for action in parser._actions:
            if isinstance(action, argparse._HelpAction):
                continue
            assert action.help, f"kg export {name} {action.dest}: no help text"
            if action.default not in (None, False):
                assert f"(default: {action.default})" in text, f"kg export {name} {action.dest}"
