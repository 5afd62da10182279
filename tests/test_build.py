"""The build pipeline and ``kg build``: layouts, versions of one record, the CLI's exit
status and one-line summary."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pyoxigraph as ox
import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.compare import graph_diff, to_isomorphic

from conftest import SAMPLE, VERSIONS
from kg.pipeline import build, convert
from kg.cli import main
from kg.records import discover

FIGURES = SAMPLE / "_figures"
DATA_DIR = SAMPLE / "_data"
KG = "https://w3id.org/pfocr-kg/vocab#"
DIGEST = URIRef(KG + "recordDigest")
VARIANT = "PMC10003241__ijms-24-04893-g003"
OLDER = "PMC100005__mb2410575011"
SUMMARY = re.compile(r"^(\d+) records read, (\d+) converted, (\d+) rejected(?:, \d+ warnings?)?, (\d+) triples written to (.+) in "
                     r"[0-9.]+ s \([0-9]+ records/s\)$")


def fig_iri(figid: str) -> URIRef:
    return URIRef(f"https://pfocr.wikipathways.org/figures/{figid}.html")


def cli(argv: list[str]) -> int:
    """``kg.cli.main``'s exit status (argparse usage errors exit via SystemExit)."""
    try:
        return main(argv)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 2


def corpus(tmp_path: Path, record: Path, figid: str, tables: bool = True) -> Path:
    root = tmp_path / record.parent.parent.name / "src"
    (root / "_figures").mkdir(parents=True)
    (root / "_data").mkdir()
    shutil.copy(record, root / "_figures" / f"{figid}.md")
    if tables:
        for table in DATA_DIR.glob(f"{figid}-*.tsv"):
            shutil.copy(table, root / "_data")
    return root


def graph_of(sources, tmp_path: Path, name: str) -> Graph:
    out = tmp_path / f"{name}.nt"
    report = build(sources, out, format="nt")
    assert report.rejected == 0, report.rejects
    return Graph().parse(out, format="nt")


def without_digest(g: Graph) -> Graph:
    out = Graph()
    for t in g:
        if t[1] != DIGEST:
            out.add(t)
    return out


# --------------------------------------------------------------------------- the sample


def test_sample_builds_every_record(tmp_path):
    out = tmp_path / "s.ttl"
    report = build([SAMPLE], out, rejects=tmp_path / "r.jsonl")
    n = len(list(FIGURES.glob("*.md")))
    assert (report.records_read, report.converted, report.rejected) == (n, n, 0)
    assert report.exit_status == 0
    assert report.triples == len(list(ox.parse(path=str(out))))
    g = Graph().parse(out, format="turtle")
    for path in FIGURES.glob("*.md"):
        assert (fig_iri(path.stem), URIRef("http://purl.org/dc/terms/identifier"), Literal(path.stem)) in g
    assert SUMMARY.match(str(report))


def test_convert_yields_figures_in_order():
    figures = list(convert(discover([SAMPLE])))
    assert [f.figid for f in figures] == sorted(p.stem for p in FIGURES.glob("*.md"))
    assert [f.lines() for f in figures] == [f.lines() for f in convert(discover([SAMPLE]), jobs=2)]


def test_worker_results_come_back_in_order_with_few_or_many_workers():
    """Round-robin batches: any number of workers, even more than batches, same order."""
    from kg.serialize import Renderer

    sources = discover([SAMPLE])
    plain = [f.figid for f in convert(sources)]
    for jobs in (2, 3, 5):
        assert [f.figid for f in convert(sources, jobs=jobs, prepare=Renderer("nt"))] == plain


def test_stopping_early_leaves_no_worker_behind(capfd):
    import multiprocessing

    figures = convert(discover([SAMPLE]), jobs=2)
    next(figures)
    figures.close()
    assert multiprocessing.active_children() == []
    assert "Traceback" not in capfd.readouterr().err


def test_layouts_are_all_in_the_sample():
    figs = {p.stem: p.read_text(encoding="utf-8") for p in FIGURES.glob("*.md")}
    with_tables = {p.name.rsplit("-", 1)[0] for p in DATA_DIR.glob("*.tsv")}
    inline = {f for f, t in figs.items() if re.search(r"^genes:", t, re.M)}
    current_no_tables = set(figs) - with_tables - inline
    assert with_tables and inline and current_no_tables


def test_current_layout_with_and_without_its_tables(tmp_path):
    record = FIGURES / f"{VARIANT}.md"
    full = graph_of([corpus(tmp_path / "a", record, VARIANT)], tmp_path, "full")
    bare = graph_of([corpus(tmp_path / "b", record, VARIANT, tables=False)], tmp_path, "bare")
    fig = fig_iri(VARIANT)
    assert set(full.objects(fig, URIRef(KG + "mentionsGene")))
    assert set(full.objects(fig, URIRef(KG + "mentionsChemical")))
    assert set(full.objects(fig, URIRef(KG + "mentionsDisease")))
    for p in ("mentionsGene", "mentionsChemical", "mentionsDisease", "hasMention"):
        assert not set(bare.objects(fig, URIRef(KG + p)))
    # without tables the record still maps fully otherwise (only digest and table triples differ)
    _, _, only_bare = graph_diff(to_isomorphic(without_digest(full)), to_isomorphic(without_digest(bare)))
    assert len(only_bare) == 0


def test_key_order_variant_gives_the_same_graph_apart_from_the_digest(tmp_path):
    variant = VERSIONS / "key-order-variant" / "_figures" / f"{VARIANT}.md"
    current = FIGURES / f"{VARIANT}.md"
    assert variant.read_bytes() != current.read_bytes()
    a = graph_of([corpus(tmp_path / "a", current, VARIANT)], tmp_path, "current")
    b = graph_of([corpus(tmp_path / "b", variant, VARIANT)], tmp_path, "variant")
    assert set(a.objects(fig_iri(VARIANT), DIGEST)) != set(b.objects(fig_iri(VARIANT), DIGEST))
    assert to_isomorphic(without_digest(a)) == to_isomorphic(without_digest(b))
    assert len(a) == len(b)


def test_key_order_variant_alone_builds(tmp_path):
    g = graph_of([VERSIONS / "key-order-variant"], tmp_path, "variant-only")
    assert (fig_iri(VARIANT), URIRef("http://purl.org/dc/terms/identifier"), Literal(VARIANT)) in g


def test_older_layout_version_builds_with_inline_genes(tmp_path):
    import yaml

    path = VERSIONS / "older-layout" / "_figures" / f"{OLDER}.md"
    fields = yaml.safe_load(path.read_text(encoding="utf-8").split("---\n")[1])
    g = graph_of([VERSIONS / "older-layout"], tmp_path, "older")
    fig = fig_iri(OLDER)
    genes = {URIRef(f"https://identifiers.org/ncbigene/{i['entrez']}") for i in fields["genes"]}
    assert set(g.objects(fig, URIRef(KG + "mentionsGene"))) == genes
    assert (fig, URIRef(KG + "pathwayScore"), None) in g
    assert (fig, URIRef(KG + "pmcRankedResultIndex"),
            Literal(int(fields["pmc_ranked_result_index"]))) in g
    human = URIRef("http://purl.obolibrary.org/obo/NCBITaxon_9606")
    assert (fig, URIRef(KG + "metadataOrganism"), human) in g
    # the same figure, current layout: same figure IRI, same paper, different digests
    now = graph_of([corpus(tmp_path / "now", FIGURES / f"{OLDER}.md", OLDER)], tmp_path, "now")
    assert set(now.objects(fig, DIGEST)) != set(g.objects(fig, DIGEST))
    assert set(now.objects(fig, URIRef("http://purl.org/dc/terms/isPartOf"))) == \
        set(g.objects(fig, URIRef("http://purl.org/dc/terms/isPartOf")))


def test_figures_of_one_paper_share_paper_triples_once(tmp_path):
    out = tmp_path / "s.nt"
    build([SAMPLE], out, format="nt")
    lines = out.read_text(encoding="utf-8").splitlines()
    assert len(lines) == len(set(lines))


# --------------------------------------------------------------------------- CLI


def _summary(err: str) -> re.Match:
    lines = [l for l in err.strip().splitlines() if l]
    match = SUMMARY.match(lines[-1])
    assert match, err
    return match


def test_cli_build_success(tmp_path, capsys):
    out = tmp_path / "kg.ttl"
    assert cli(["build", str(SAMPLE), "-o", str(out), "-q", "-j", "1"]) == 0
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    # one row-level warning in the sample (an OCR word 'NA'), then the summary
    assert len(lines) == 2 and lines[0].startswith("warning ") and "genes.tsv:68" in lines[0]
    m = _summary(captured.err)
    n = len(list(FIGURES.glob("*.md")))
    assert (int(m[1]), int(m[2]), int(m[3])) == (n, n, 0)
    assert int(m[4]) == len(list(ox.parse(path=str(out)))) and m[5] == str(out)


@pytest.mark.parametrize("ext,fmt", [("ttl", ox.RdfFormat.TURTLE), ("nt", ox.RdfFormat.N_TRIPLES),
                                     ("nq", ox.RdfFormat.N_QUADS), ("jsonld", ox.RdfFormat.JSON_LD)])
def test_cli_format_from_extension(tmp_path, capsys, ext, fmt):
    out = tmp_path / f"kg.{ext}"
    assert cli(["build", str(FIGURES / f"{VARIANT}.md"), "-o", str(out), "-q"]) == 0
    assert len(list(ox.parse(path=str(out), format=fmt))) == int(_summary(capsys.readouterr().err)[4])


def test_cli_explicit_format_overrides_extension(tmp_path, capsys):
    out = tmp_path / "kg.out"
    assert cli(["build", str(SAMPLE), "-o", str(out), "--format", "nt", "-q"]) == 0
    assert len(list(ox.parse(path=str(out), format=ox.RdfFormat.N_TRIPLES))) > 0


def test_cli_some_rejected_exit_1(tmp_path, capsys):
    src = tmp_path / "src"
    shutil.copytree(SAMPLE, src)
    (src / "_figures" / "broken.md").write_text("---\nfigid: [x\n---\n")
    out, rejects = tmp_path / "kg.ttl", tmp_path / "rejects.jsonl"
    assert cli(["build", str(src), "-o", str(out), "--rejects", str(rejects), "-q"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    m = _summary(err)
    n = len(list(FIGURES.glob("*.md")))
    assert (int(m[1]), int(m[2]), int(m[3])) == (n + 1, n, 1)
    levels = [json.loads(line)["level"] for line in rejects.read_text().splitlines()]
    assert sorted(levels) == ["error", "warning"]


def test_cli_missing_source_exit_2(tmp_path, capsys):
    out = tmp_path / "kg.ttl"
    out.write_text("keep me")
    assert cli(["build", str(tmp_path / "nowhere"), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert "nowhere" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    assert out.read_text() == "keep me"


@pytest.mark.parametrize("argv", [
    ["build", "--no-such-option", "SAMPLE", "-o", "OUT"],
    ["build", "SAMPLE", "-o", "OUT", "--format", "rdfxml"],
    ["build", "SAMPLE", "-o", "OUT", "--jobs", "many"],
    ["build", "SAMPLE"],  # neither -o nor --store
    ["build", "-o", "OUT"],  # no source
    ["build", "SAMPLE", "-o", "OUT", "--split-lines", "0", "--format", "nt"],
    ["build", "SAMPLE", "-o", "OUT", "--split-lines", "10", "--format", "turtle"],
    ["no-such-command"],
])
def test_cli_usage_errors_exit_2(tmp_path, capsys, argv):
    out = tmp_path / "kg.out"
    out.write_text("keep me")
    argv = [str(SAMPLE) if a == "SAMPLE" else str(out) if a == "OUT" else a for a in argv]
    assert cli(argv) == 2
    err = capsys.readouterr().err
    assert err.strip() and "Traceback" not in err
    assert out.read_text() == "keep me"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kg.out"]


def test_cli_rejects_file_written_even_when_all_good(tmp_path, capsys):
    rejects = tmp_path / "r.jsonl"
    assert cli(["build", str(FIGURES / f"{VARIANT}.md"), "-o", str(tmp_path / "o.ttl"), "--rejects", str(rejects),
                "-q"]) == 0
    assert rejects.read_text() == ""


def test_cli_several_sources_and_single_files(tmp_path, capsys):
    out = tmp_path / "o.nt"
    files = [str(FIGURES / f"{VARIANT}.md"), str(FIGURES / f"{OLDER}.md")]
    assert cli(["build", *files, "-o", str(out), "-q"]) == 0
    g = Graph().parse(out, format="nt")
    assert {str(s) for s in g.subjects(URIRef("http://purl.org/dc/terms/identifier"))} >= \
        {str(fig_iri(VARIANT)), str(fig_iri(OLDER))}
    # single files still find their tables in ../_data
    assert set(g.objects(fig_iri(VARIANT), URIRef(KG + "mentionsGene")))
