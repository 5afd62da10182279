"""Stage 3 (kg.serialize): every format re-parses (rdflib, pyoxigraph, rapper) to the same
graph, hard literals round-trip exactly, output is deterministic and written atomically."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pyoxigraph as ox
import pytest
import yaml
from rdflib import Dataset, Graph, Literal, URIRef
from rdflib.compare import to_isomorphic

from conftest import SAMPLE, rapper_check
from kg.pipeline import build, convert
from kg.records import discover
from kg.formats import format_for_path, format_name
from kg.outputs import open_output
from kg.sinks import write_graphs

FIGURES = SAMPLE / "_figures"
DATA_DIR = SAMPLE / "_data"
FORMATS = {"turtle": ("turtle", ox.RdfFormat.TURTLE, "turtle"), "nt": ("nt", ox.RdfFormat.N_TRIPLES, "ntriples"),
           "nq": ("nquads", ox.RdfFormat.N_QUADS, "nquads"), "jsonld": ("json-ld", ox.RdfFormat.JSON_LD, None)}
EXT = {"turtle": "ttl", "nt": "nt", "nq": "nq", "jsonld": "jsonld"}
BASE = "PMC10003241__ijms-24-04893-g003"

HARD = ('He said "hi" and \'bye\' \\ back\\slash \\n not-a-newline\nreal newline\r\nCRLF\ttab '
        '😀 emoji 𝔘 <a href="x">{}|^`</a> #frag %20 ü ß 中文 """triple""" '
        'controls \x00 \x08 \x0b \x0c \x1f \x7f \x85 \u2028 \u2029 \ufeff \u200b end')
HARD_WORD = 'W"o\\r<d> #1 😀'


def yaml_of(path: Path) -> dict:
    match = re.match(r"---\n(.*?\n)---\n", path.read_text(encoding="utf-8"), re.S)
    return yaml.safe_load(match.group(1))


def rapper_count(path: Path, syntax: str) -> int:
    return rapper_check(path, syntax)[0]


@pytest.fixture(scope="module")
def hard_source(tmp_path_factory) -> Path:
    """A real record (with its tables) whose text fields hold every awkward character."""
    root = tmp_path_factory.mktemp("hard")
    (root / "_figures").mkdir()
    (root / "_data").mkdir()
    fields = yaml_of(FIGURES / f"{BASE}.md")
    fields["caption"] = HARD
    fields["figtitle"] = "Title " + HARD
    fields["papertitle"] = HARD.replace("\n", " ")
    fields["keywords"] = "k1 | " + HARD.replace("|", "/").replace("\n", " ") + " | k3"
    fields["schema-jsonld"]["description"] = HARD
    fields["schema-jsonld"]["keywords"] = ["LRP6", HARD]
    (root / "_figures" / f"{BASE}.md").write_text(
        "---\n" + yaml.safe_dump(fields, allow_unicode=True, sort_keys=False) + "---\n", encoding="utf-8")
    for table in DATA_DIR.glob(f"{BASE}-*.tsv"):
        shutil.copy(table, root / "_data")
    genes = root / "_data" / f"{BASE}-genes.tsv"
    genes.write_text(genes.read_text() + f"9606\tHomo sapiens\tPrimates\t{HARD_WORD}\tLRP6\tLRP6\t4040\tsrc\"q\t1\t1\t1\n",
                     encoding="utf-8")
    chems = root / "_data" / f"{BASE}-chemicals.tsv"
    chems.write_text(chems.read_text() + f"{HARD_WORD}\tmesh:D005947\tGlu\\cose\tname \"q\" 😀\tchebi:4167\n",
                     encoding="utf-8")
    # two more plain records so the output has several figures
    for figid in ("PMC10299676__ijms-24-10290-g001", "PMC1323499__pmed.0030057.g001"):
        shutil.copy(FIGURES / f"{figid}.md", root / "_figures")
    return root


def _expected_literals() -> set[str]:
    return {HARD, "Title " + HARD, HARD_WORD, HARD.replace("\n", " ")}


@pytest.fixture(scope="module")
def hard_outputs(hard_source, tmp_path_factory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("hard-out")
    paths = {}
    for fmt in FORMATS:
        path = out / f"hard.{EXT[fmt]}"
        report = build([hard_source], path, format=fmt)
        assert report.rejected == 0, report.rejects
        paths[fmt] = path
    return paths


def _rdflib_literals(path: Path, fmt: str) -> set[str]:
    if fmt == "nq":
        ds = Dataset()
        ds.parse(path, format="nquads")
        return {str(q[2]) for q in ds.quads() if isinstance(q[2], Literal)}
    g = Graph()
    g.parse(path, format=FORMATS[fmt][0])
    return {str(o) for o in g.objects() if isinstance(o, Literal)}


def _oxigraph_literals(path: Path, fmt: str) -> set[str]:
    return {q.object.value for q in ox.parse(path=str(path), format=FORMATS[fmt][1]) if isinstance(q.object, ox.Literal)}


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_hard_literals_round_trip_rdflib(hard_outputs, fmt):
    literals = _rdflib_literals(hard_outputs[fmt], fmt)
    assert _expected_literals() <= literals
    assert 'name "q" 😀' in literals and "Glu\\cose" in literals and 'src"q' in literals


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_hard_literals_round_trip_pyoxigraph(hard_outputs, fmt):
    literals = _oxigraph_literals(hard_outputs[fmt], fmt)
    assert _expected_literals() <= literals
    assert 'name "q" 😀' in literals and "Glu\\cose" in literals and 'src"q' in literals


def test_hard_literal_on_its_property(hard_outputs):
    g = Graph().parse(hard_outputs["turtle"], format="turtle")
    fig = URIRef(f"https://pfocr.wikipathways.org/figures/{BASE}.html")
    assert (fig, URIRef("http://schema.org/caption"), Literal(HARD)) in g
    assert (fig, URIRef("http://schema.org/description"), Literal(HARD)) in g
    assert (fig, URIRef("http://schema.org/keywords"), Literal(HARD)) in g
    paper = URIRef("https://identifiers.org/pmc/PMC10003241")
    assert (paper, URIRef("http://schema.org/keywords"), Literal(HARD.replace("|", "/").replace("\n", " "))) in g
    [m] = [m for m in g.objects(fig, URIRef("https://w3id.org/pfocr-kg/vocab#hasMention"))
           if (m, URIRef("https://w3id.org/pfocr-kg/vocab#ocrWord"), Literal(HARD_WORD)) in g
           and (m, URIRef("https://w3id.org/pfocr-kg/vocab#refersTo"), URIRef("https://identifiers.org/ncbigene/4040")) in g]
    assert str(m).startswith(str(fig) + "#")
    assert not re.search(r'[<>"{}|^`\\\s]', str(m)[len(str(fig)) + 1:])


@pytest.mark.parametrize("fmt", ["turtle", "nt", "nq"])
def test_hard_output_parses_with_rapper(hard_outputs, fmt):
    path = hard_outputs[fmt]
    expected = len(list(ox.parse(path=str(path), format=FORMATS[fmt][1])))
    assert rapper_count(path, FORMATS[fmt][2]) == expected


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_all_formats_give_the_same_graph(hard_outputs, fmt):
    reference = Graph().parse(hard_outputs["nt"], format="nt")
    if fmt == "nq":
        ds = Dataset()
        ds.parse(hard_outputs[fmt], format="nquads")
        g = Graph()
        for s, p, o, _ in ds.quads():
            g.add((s, p, o))
    else:
        g = Graph().parse(hard_outputs[fmt], format=FORMATS[fmt][0])
    assert to_isomorphic(g) == to_isomorphic(reference)


def test_nquads_puts_each_figure_in_its_named_graph(hard_outputs):
    quads = list(ox.parse(path=str(hard_outputs["nq"]), format=ox.RdfFormat.N_QUADS))
    graphs = {str(q.graph_name.value) for q in quads}
    assert all(g.startswith("https://pfocr.wikipathways.org/figures/") for g in graphs)
    assert len(graphs) == 3
    for q in quads:
        if q.subject.value.startswith("https://pfocr.wikipathways.org/figures/") and "#" not in q.subject.value:
            assert q.subject.value == q.graph_name.value


# --------------------------------------------------------------------------- the sample, three parsers


def test_sample_turtle_same_count_in_rdflib_pyoxigraph_and_rapper(sample_ttl):
    n_ox = len(list(ox.parse(path=str(sample_ttl), format=ox.RdfFormat.TURTLE)))
    n_rdflib = len(Graph().parse(sample_ttl, format="turtle"))
    n_rapper = rapper_count(sample_ttl, "turtle")
    assert n_ox == n_rdflib == n_rapper > 5000


def test_sample_turtle_count_matches_report(tmp_path):
    out = tmp_path / "s.ttl"
    report = build([SAMPLE], out)
    assert report.triples == len(list(ox.parse(path=str(out)))) == len(Graph().parse(out, format="turtle"))


def test_sample_ntriples_and_nquads_parse_with_rapper(tmp_path):
    for fmt in ("nt", "nq"):
        out = tmp_path / f"s.{fmt}"
        report = build([SAMPLE], out, format=fmt)
        assert rapper_count(out, FORMATS[fmt][2]) == report.triples == len(list(ox.parse(path=str(out))))


def test_sample_has_no_blank_nodes(sample_ttl):
    for t in ox.parse(path=str(sample_ttl)):
        assert not isinstance(t.subject, ox.BlankNode) and not isinstance(t.object, ox.BlankNode)


def test_turtle_uses_fixed_prefixes(sample_ttl):
    from kg.vocab import PREFIXES

    head = sample_ttl.read_text(encoding="utf-8").splitlines()[:len(PREFIXES)]
    assert head == [f"@prefix {k}: <{v}> ." for k, v in PREFIXES.items()]


# --------------------------------------------------------------------------- determinism


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_output_is_byte_identical_across_runs_and_jobs(tmp_path, fmt):
    outs = []
    for n, jobs in enumerate((1, 1, 2)):
        out = tmp_path / f"run{n}.{EXT[fmt]}"
        build([SAMPLE], out, format=fmt, jobs=jobs)
        outs.append(out.read_bytes())
    assert outs[0] == outs[1] == outs[2]


def test_cli_jobs_1_and_2_identical(tmp_path):
    from kg.cli import main

    a, b = tmp_path / "a.ttl", tmp_path / "b.ttl"
    assert main(["build", str(SAMPLE), "-o", str(a), "--jobs", "1", "-q"]) == 0
    assert main(["build", str(SAMPLE), "-o", str(b), "--jobs", "2", "-q"]) == 0
    assert a.read_bytes() == b.read_bytes()


def test_sharded_output_is_deterministic(tmp_path):
    import gzip

    build([SAMPLE], tmp_path / "a", format="nt", shard_lines=1000)
    build([SAMPLE], tmp_path / "b", format="nt", shard_lines=1000, jobs=2)
    names = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert names == sorted(p.name for p in (tmp_path / "b").iterdir()) and len(names) > 1
    for name in names:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    text = b"".join(gzip.decompress((tmp_path / "a" / n).read_bytes()) for n in names if n.endswith(".gz"))
    whole = tmp_path / "whole.nt"
    build([SAMPLE], whole, format="nt")
    assert text == whole.read_bytes()


# --------------------------------------------------------------------------- atomic writes


def _figures():
    return list(convert(discover([SAMPLE])))


def test_failed_write_keeps_existing_output(tmp_path):
    out = tmp_path / "out.ttl"
    out.write_bytes(b"previous content\n")
    figures = _figures()

    def failing():
        yield from figures[:5]
        raise RuntimeError("disk on fire")

    for fmt in FORMATS:
        with pytest.raises(RuntimeError):
            write_graphs(failing(), out, fmt)
        assert out.read_bytes() == b"previous content\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.ttl"]


def test_failed_write_leaves_no_file(tmp_path):
    out = tmp_path / "new.nt"

    def failing():
        yield _figures()[0]
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        write_graphs(failing(), out, "nt")
    assert list(tmp_path.iterdir()) == []


def test_failed_sharded_write_keeps_existing_folder(tmp_path):
    out = tmp_path / "shards"
    build([SAMPLE], out, format="nt", shard_lines=500)
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    def failing():
        yield from _figures()[:3]
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        write_graphs(failing(), out, "nt", shard_lines=10)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["shards"]


def test_successful_write_replaces_and_leaves_no_temp(tmp_path):
    out = tmp_path / "out.nt"
    out.write_text("old")
    build([SAMPLE], out, format="nt")
    assert out.read_text(encoding="utf-8") != "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.nt"]


def test_open_output_text_is_atomic(tmp_path):
    out = tmp_path / "x.txt"
    with open_output(out, "w") as fh:
        fh.write("é\n")
    assert out.read_text(encoding="utf-8") == "é\n"
    with pytest.raises(ValueError):
        with open_output(out, "w") as fh:
            fh.write("half")
            raise ValueError("stop")
    assert out.read_text(encoding="utf-8") == "é\n"
    assert [p.name for p in tmp_path.iterdir()] == ["x.txt"]


def test_format_names():
    assert format_name("ttl") == "turtle" and format_name("N-Quads") == "nq" and format_name("json-ld") == "jsonld"
    with pytest.raises(ValueError):
        format_name("rdfxml")
    assert format_for_path("a.nt.gz") == "nt" and format_for_path("a.jsonld") == "jsonld"
    assert format_for_path("a.out") == "turtle"


def test_bad_shard_options(tmp_path):
    with pytest.raises(ValueError):
        write_graphs([], tmp_path / "x", "turtle", shard_lines=10)
    with pytest.raises(ValueError):
        write_graphs([], tmp_path / "x", "nt", shard_lines=0)
    assert list(tmp_path.iterdir()) == []


def test_ntriples_output_is_canonical(hard_outputs):
    """Every line is exactly what pyoxigraph writes for the triple it parses to."""
    data = hard_outputs["nt"].read_bytes()
    triples = list(ox.parse(data, format=ox.RdfFormat.N_TRIPLES))
    assert ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES) == data
    assert b"\x00" not in data and b"\t" not in data.replace(b"\\t", b"")


def test_figures_rendered_for_another_format_are_refused(tmp_path):
    from kg.records import discover
    from kg.pipeline import convert
    from kg.serialize import Renderer

    figures = list(convert(discover([SAMPLE]), prepare=Renderer("nt")))
    with pytest.raises(ValueError, match="rendered as nt, not turtle"):
        write_graphs(figures, tmp_path / "x.ttl", "turtle")
    assert not (tmp_path / "x.ttl").exists()
