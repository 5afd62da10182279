"""Stage 1 (kg.records): discovery, both layouts, the companion tables, missing values.

Expected values are read from the records themselves (YAML front matter, TSV tables)."""

from __future__ import annotations

import csv
import re
import shutil
from pathlib import Path

import pytest
import yaml

from conftest import SAMPLE, VERSIONS
from kg.records import (MISSING, RecordError, RecordSource, data_dir_for, discover, iter_records,
                        read_record, value, values)

FIGURES = SAMPLE / "_figures"
DATA_DIR = SAMPLE / "_data"
NA = {"NA", ".na.character", ""}

TSV_FIGID = "PMC10003241__ijms-24-04893-g003"  # genes, chemicals and diseases tables
GENES_ONLY_FIGID = "PMC10035447__nihms-1878426-f0004"
NO_TABLE_FIGID = "PMC1180554__JCI0525642.f1"  # no tables, no inline lists
INLINE_FIGID = "PMC1323499__pmed.0030057.g001"  # older layout, inline lists
INLINE_CHEM_FIGID = "PMC1052011__JCI0524405.f1"


def yaml_of(path: Path) -> dict:
    text = path.read_text(encoding="utf-8")
    match = re.match(r"---\n(.*?\n)---\n", text, re.S)
    assert match, path
    return yaml.safe_load(match.group(1))


def tsv_rows(path: Path) -> list[dict[str, str]]:
    """The table's rows, a duplicate row counted once (kg collapses them)."""
    with open(path, encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE))
    unique = {tuple(row.values()): row for row in reversed(rows)}  # the first of each
    return [row for row in rows if unique[tuple(row.values())] is row]


def tsv_lines(path: Path) -> list[int]:
    """The file line of each row :func:`tsv_rows` returns."""
    with open(path, encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE))
    seen: set = set()
    lines = []
    for number, row in enumerate(rows, start=2):
        if tuple(row.values()) not in seen:
            seen.add(tuple(row.values()))
            lines.append(number)
    return lines


def na(text):
    return None if text is None or str(text).strip() in NA else str(text).strip()


def source_of(figid: str, root: Path = SAMPLE) -> RecordSource:
    path = root / "_figures" / f"{figid}.md"
    return RecordSource(path, data_dir_for(path))


def copy_of_record(root: Path, figid: str = TSV_FIGID) -> Path:
    """``root`` made a site folder holding a copy of one sample record and its tables."""
    (root / "_figures").mkdir(parents=True)
    (root / "_data").mkdir()
    shutil.copy(FIGURES / f"{figid}.md", root / "_figures")
    for table in DATA_DIR.glob(f"{figid}-*.tsv"):
        shutil.copy(table, root / "_data")
    return root


# --------------------------------------------------------------------------- discovery


def test_discover_sample_finds_every_record_sorted_with_data_dir():
    found = discover([SAMPLE])
    names = sorted(p.name for p in FIGURES.glob("*.md"))
    assert [s.path.name for s in found] == names
    assert len(found) == 35
    assert all(s.data_dir is not None and s.data_dir.resolve() == DATA_DIR.resolve() for s in found)


def test_discover_single_file_and_plain_folder(tmp_path):
    one = FIGURES / f"{TSV_FIGID}.md"
    assert [s.path for s in discover([one])] == [one]
    assert discover([one])[0].data_dir.resolve() == DATA_DIR.resolve()
    plain = tmp_path / "plain"
    plain.mkdir()
    shutil.copy(one, plain / one.name)
    (plain / "notes.txt").write_text("not a record")
    found = discover([plain])
    assert [s.path.name for s in found] == [one.name]
    assert found[0].data_dir is None


def test_discover_same_file_twice_is_one_source():
    one = FIGURES / f"{TSV_FIGID}.md"
    assert len(discover([one, SAMPLE])) == 35


def test_discover_missing_source_raises(tmp_path):
    with pytest.raises(FileNotFoundError):
        discover([tmp_path / "does-not-exist"])


# --------------------------------------------------------------------------- whole sample


@pytest.mark.parametrize("path", sorted(FIGURES.glob("*.md")), ids=lambda p: p.stem)
def test_every_sample_record_reads(path):
    record = read_record(RecordSource(path, data_dir_for(path)))
    fields = yaml_of(path)
    assert record.figid == str(fields["figid"]) == path.stem
    assert re.fullmatch(r"[0-9a-f]{64}", record.digest)
    for key, raw in fields.items():
        assert key in record.fields
        if not isinstance(raw, (list, dict)) and key != "figid":
            assert record.fields[key] == raw
    # every table row (or inline item with a word) became a row
    for kind in ("genes", "chemicals", "diseases"):
        table = DATA_DIR / f"{path.stem}-{kind}.tsv"
        rows = getattr(record, kind)
        expected = len(tsv_rows(table)) if table.is_file() else 0
        inline = fields.get(kind)
        if isinstance(inline, list):
            expected += sum(1 for item in inline if na(item.get("word")) is not None)
        assert len(rows) == expected, kind
    # the sample's only row-level warning: an OCR word "NA" (the fly gene na), kept
    if path.stem == "PMC10030510__fimmu-14-1140749-g002":
        [warning] = record.warnings
        assert (warning.level, warning.line, warning.field) == ("warning", 68, "word")
        assert warning.path.endswith("-genes.tsv") and "45338" in warning.reason
        assert any(g.word is None and g.ncbigene_id == "45338" for g in record.genes)
    else:
        assert record.warnings == []


def test_digest_is_stable_and_covers_tables(tmp_path):
    src = source_of(TSV_FIGID)
    assert read_record(src).digest == read_record(src).digest
    root = copy_of_record(tmp_path / "copy")
    copy = source_of(TSV_FIGID, root)
    assert read_record(copy).digest == read_record(src).digest
    diseases = root / "_data" / f"{TSV_FIGID}-diseases.tsv"
    diseases.write_text(diseases.read_text() + "Osteoporosis\tmesh:D010024\tNA\tNA\tNA\n")
    assert read_record(copy).digest != read_record(src).digest


# --------------------------------------------------------------------------- current layout


def test_current_layout_genes_table():
    record = read_record(source_of(TSV_FIGID))
    rows = tsv_rows(DATA_DIR / f"{TSV_FIGID}-genes.tsv")
    assert len(record.genes) == len(rows)
    for got, want in zip(record.genes, rows):
        assert got.word == na(want["word"])
        assert got.match == na(want["match"])
        assert got.symbol == na(want["ncbigene_symbol"])
        assert got.ncbigene_id == na(want["ncbigene_id"])
        assert got.taxid == na(want["organism_id"])
        assert got.organism_name == na(want["organism_name"])
        assert got.source == na(want["source"])
    assert [g.where.line for g in record.genes] == tsv_lines(DATA_DIR / f"{TSV_FIGID}-genes.tsv")
    assert record.genes[0].where.path.endswith(f"{TSV_FIGID}-genes.tsv")


@pytest.mark.parametrize("kind,xref", [("chemicals", "chebi"), ("diseases", "doid")])
def test_current_layout_term_tables(kind, xref):
    record = read_record(source_of(TSV_FIGID))
    rows = tsv_rows(DATA_DIR / f"{TSV_FIGID}-{kind}.tsv")
    got = getattr(record, kind)
    assert len(got) == len(rows) > 0
    for row, want in zip(got, rows):
        assert row.word == want["word"]
        assert row.mesh == na(want["mesh"])
        assert row.match == na(want["match"])
        assert row.name == na(want["name"])
        assert row.xref == na(want[xref])
    # NA cells are None, never the text "NA"
    for row in got:
        assert "NA" not in (row.match, row.name, row.xref, row.mesh)


def test_current_layout_without_tables():
    assert not list(DATA_DIR.glob(f"{NO_TABLE_FIGID}-*.tsv"))
    record = read_record(source_of(NO_TABLE_FIGID))
    assert record.genes == record.chemicals == record.diseases == []
    assert record.fields["figid"] == NO_TABLE_FIGID


def test_genes_table_only():
    record = read_record(source_of(GENES_ONLY_FIGID))
    assert len(record.genes) == len(tsv_rows(DATA_DIR / f"{GENES_ONLY_FIGID}-genes.tsv"))
    assert record.chemicals == record.diseases == []


def test_table_without_data_dir_is_ignored(tmp_path):
    shutil.copy(FIGURES / f"{TSV_FIGID}.md", tmp_path)
    record = read_record(RecordSource(tmp_path / f"{TSV_FIGID}.md", None))
    assert record.genes == []


def test_tables_beside_record_in_plain_folder(tmp_path):
    shutil.copy(FIGURES / f"{TSV_FIGID}.md", tmp_path)
    (tmp_path / "_data").mkdir()
    shutil.copy(DATA_DIR / f"{TSV_FIGID}-genes.tsv", tmp_path / "_data")
    [src] = discover([tmp_path])
    assert len(read_record(src).genes) == len(tsv_rows(DATA_DIR / f"{TSV_FIGID}-genes.tsv"))


def test_crlf_table_and_record(tmp_path):
    root = tmp_path / "crlf"
    (root / "_figures").mkdir(parents=True)
    (root / "_data").mkdir()
    text = (FIGURES / f"{TSV_FIGID}.md").read_text(encoding="utf-8")
    (root / "_figures" / f"{TSV_FIGID}.md").write_bytes(text.replace("\n", "\r\n").encode())
    table = (DATA_DIR / f"{TSV_FIGID}-genes.tsv").read_text(encoding="utf-8")
    (root / "_data" / f"{TSV_FIGID}-genes.tsv").write_bytes(table.replace("\n", "\r\n").encode())
    record = read_record(source_of(TSV_FIGID, root))
    original = read_record(source_of(TSV_FIGID))
    assert [g[:7] for g in (tuple(vars(x).values()) for x in record.genes)] == \
        [g[:7] for g in (tuple(vars(x).values()) for x in original.genes)]
    assert record.fields["caption"] == original.fields["caption"]


# --------------------------------------------------------------------------- older layout


def test_older_layout_inline_genes():
    path = FIGURES / f"{INLINE_FIGID}.md"
    fields = yaml_of(path)
    record = read_record(source_of(INLINE_FIGID))
    items = [i for i in fields["genes"] if na(i.get("word")) is not None]
    inline = [g for g in record.genes if g.where.key == "genes"]  # the record also has a genes table
    assert len(inline) == len(items) > 0
    assert len(record.genes) == len(inline) + len(tsv_rows(DATA_DIR / f"{INLINE_FIGID}-genes.tsv"))
    for position, (got, item) in enumerate(zip(inline, items), start=1):
        assert got.where.item == position
        assert got.word == item["word"]
        assert got.match == na(item.get("symbol"))
        assert got.source == na(item.get("source"))
        assert got.symbol == na(item.get("hgnc_symbol"))
        assert got.ncbigene_id == na(item.get("entrez"))
        assert got.taxid == ("9606" if got.symbol else None)  # HGNC symbols are human genes
        assert got.where.line == _line_of(path, "genes")


def test_older_layout_inline_chemicals():
    fields = yaml_of(FIGURES / f"{INLINE_CHEM_FIGID}.md")
    record = read_record(source_of(INLINE_CHEM_FIGID))
    items = fields["chemicals"]
    assert len(record.chemicals) == len(items) > 0
    for got, item in zip(record.chemicals, items):
        assert got.word == item["word"]
        assert got.source == item["source"]
        assert got.mesh == (item["identifier"] if item["source"].upper() == "MESH" else None)
    assert record.diseases == []


def test_older_layout_version_of_pmc100005():
    path = VERSIONS / "older-layout" / "_figures" / "PMC100005__mb2410575011.md"
    fields = yaml_of(path)
    [src] = discover([VERSIONS / "older-layout"])
    record = read_record(src)
    assert src.data_dir is None
    assert record.figid == fields["figid"]
    assert isinstance(fields["organisms"], str)
    assert values(record.fields["organisms"]) == [fields["organisms"]]
    assert [g.ncbigene_id for g in record.genes] == [str(i["entrez"]) for i in fields["genes"]]


def test_older_layout_empty_and_missing_inline_items(tmp_path):
    fields = yaml_of(FIGURES / f"{INLINE_FIGID}.md")
    fields["diseases"] = [{"word": "Cancer", "source": "", "identifier": ""}, {"word": "NA", "source": "MESH",
                                                                             "identifier": "D009369"}]
    fields["chemicals"] = "NA"
    path = tmp_path / f"{INLINE_FIGID}.md"
    path.write_text("---\n" + yaml.safe_dump(fields, allow_unicode=True, sort_keys=False) + "---\n", encoding="utf-8")
    record = read_record(RecordSource(path, None))
    assert record.chemicals == []
    # a word with no identifier: a mention; an identifier with no word: still linked (warned)
    assert [(d.word, d.mesh, d.source) for d in record.diseases] == [("Cancer", None, None), (None, "D009369", "MESH")]
    [warning] = record.warnings
    assert (warning.field, warning.line) == ("diseases[2].word", _line_of(path, "diseases"))


def _line_of(path: Path, key: str) -> int:
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.startswith(f"{key}:"):
            return number
    raise AssertionError(key)


def test_line_of_points_at_the_key():
    path = FIGURES / f"{TSV_FIGID}.md"
    record = read_record(source_of(TSV_FIGID))
    for key in ("figid", "year", "doi", "schema-jsonld", "ndex"):
        assert record.line_of(key) == _line_of(path, key)
    assert record.line_of("no-such-key") is None


# --------------------------------------------------------------------------- values


@pytest.mark.parametrize("raw", [None, "NA", ".na.character", "", "  NA  ", " "])
def test_missing_values(raw):
    assert value(raw) is None


def test_values_drop_missing_items():
    assert values(["Homo sapiens", "NA", ".na.character", None, "Mus musculus"]) == ["Homo sapiens", "Mus musculus"]
    assert values("Homo sapiens") == ["Homo sapiens"]
    assert values("NA") == values(None) == values([]) == []
    assert {"NA", ".na.character", ""} <= MISSING


def test_value_keeps_text_and_numbers():
    assert value(" x ") == "x"
    assert value(2023) == "2023"
    assert value("NAT2") == "NAT2"


def test_iter_records_yields_errors_and_records(tmp_path):
    bad = tmp_path / "ZZZ-bad.md"
    bad.write_text("no front matter\n")
    good = FIGURES / f"{NO_TABLE_FIGID}.md"
    results = list(iter_records(discover([bad, good])))
    assert results[0].figid == NO_TABLE_FIGID
    assert isinstance(results[1], RecordError) and results[1].path.endswith("ZZZ-bad.md")


def test_record_error_survives_pickle_and_dict():
    import pickle

    err = RecordError("x.md", "bad year", 12, "year")
    copy = pickle.loads(pickle.dumps(err))
    assert (copy.path, copy.reason, copy.line, copy.field, copy.level) == ("x.md", "bad year", 12, "year", "error")
    assert err.as_dict() == {"file": "x.md", "line": 12, "field": "year", "reason": "bad year", "level": "error"}
    assert str(err) == "x.md:12: [year] bad year"
    warn = RecordError("t.tsv", "row skipped", 3, "word", level="warning")
    copy = pickle.loads(pickle.dumps(warn))
    assert (copy.level, copy.is_warning, copy.as_dict()["level"]) == ("warning", True, "warning")
    assert copy.as_dict() == warn.as_dict()
    with pytest.raises(ValueError):
        RecordError("x.md", "?", level="fatal")


def test_table_cells_with_unicode_line_separators_stay_in_their_row(tmp_path):
    """U+0085, U+2028, \\v, \\f, \\x1c inside a cell do not end the row (only \\n does)."""
    root = copy_of_record(tmp_path / "seps")
    original = (DATA_DIR / f"{TSV_FIGID}-chemicals.tsv").read_text(encoding="utf-8")
    odd = "name\x0bv\x0cw\u2029\x1cz"
    extra = f"X\x85Y\tmesh:D005947\tGlu\u2028cose\t{odd}\tchebi:4167\nlast\tmesh:D000255\tNA\tNA\tNA\n"
    (root / "_data" / f"{TSV_FIGID}-chemicals.tsv").write_text(original + extra, encoding="utf-8")
    record = read_record(source_of(TSV_FIGID, root))
    n = len(tsv_rows(DATA_DIR / f"{TSV_FIGID}-chemicals.tsv"))
    assert len(record.chemicals) == n + 2 and record.warnings == []
    odd_row, last = record.chemicals[-2:]
    assert (odd_row.word, odd_row.match, odd_row.name) == ("X\x85Y", "Glu\u2028cose", odd)
    lines = len(original.split("\n")) - 1
    assert (odd_row.where.line, last.where.line) == (lines + 1, lines + 2)
    assert last.word == "last"


def test_table_cell_with_lone_carriage_return_is_a_warning(tmp_path):
    root = copy_of_record(tmp_path / "cr")
    original = (DATA_DIR / f"{TSV_FIGID}-diseases.tsv").read_text(encoding="utf-8")
    (root / "_data" / f"{TSV_FIGID}-diseases.tsv").write_text(original + "a\rb\tmesh:D1\tNA\tNA\tNA\n")
    record = read_record(source_of(TSV_FIGID, root))
    [warning] = record.warnings
    assert warning.line == len(original.splitlines()) + 1 and warning.level == "warning"
    assert warning.path.endswith("-diseases.tsv") and "carriage return" in warning.reason
    assert len(record.diseases) == len(tsv_rows(DATA_DIR / f"{TSV_FIGID}-diseases.tsv"))


# --------------------------------------------------------------------------- every real table form (issue 8)


def test_every_real_table_schema_reads_without_warnings():
    """The 46 real tables: genes with 11 or 10 columns (no count_synonym), count_* as NA,
    NA symbols, chemicals with NA MeSH ids, duplicate rows; only the OCR word 'NA' warns."""
    headers = {tuple(p.read_text(encoding="utf-8").split("\n", 1)[0].split("\t")) for p in DATA_DIR.glob("*.tsv")}
    assert len([h for h in headers if "ncbigene_id" in h]) == 2  # the 10- and 11-column genes tables
    warnings = []
    for path in sorted(FIGURES.glob("*.md")):
        warnings += read_record(RecordSource(path, data_dir_for(path))).warnings
    assert [(Path(w.path).name, w.line, w.field) for w in warnings] == \
        [("PMC10030510__fimmu-14-1140749-g002-genes.tsv", 68, "word")]


def test_word_source_identifier_tables(tmp_path):
    """The older table schema (as the inline lists): ``source`` or the identifier's prefix
    says what the identifier is; anything else is left out with a warning."""
    root = copy_of_record(tmp_path / "wsi")
    (root / "_data" / f"{TSV_FIGID}-chemicals.tsv").write_text(
        "word\tsource\tidentifier\n"
        "Glucose\tMESH\tD005947\n"
        "ATP\t\tmesh:D000255\n"
        "Heme\tCHEBI\tchebi:30413\n"
        "Mystery\tPUBCHEM\t12345\n"
        "Lonely\tNA\tNA\n", encoding="utf-8")
    (root / "_data" / f"{TSV_FIGID}-diseases.tsv").write_text(
        "word\tsource\tidentifier\nMyeloma\tdoid\t9538\n", encoding="utf-8")
    record = read_record(source_of(TSV_FIGID, root))
    assert [(c.word, c.mesh, c.xref) for c in record.chemicals] == [
        ("Glucose", "D005947", None), ("ATP", "mesh:D000255", None), ("Heme", None, "chebi:30413"),
        ("Mystery", None, None), ("Lonely", None, None)]
    assert [(d.word, d.mesh, d.xref) for d in record.diseases] == [("Myeloma", None, "9538")]
    [warning] = record.warnings
    assert (warning.line, warning.field, warning.level) == (5, "identifier", "warning")
    assert "PUBCHEM" in warning.reason


def test_front_matter_forms_the_site_publishes(tmp_path):
    """``year: ''``, ``genes: []``, ``figlink`` without its leading '/' all convert."""
    from kg.mapping import map_record

    path = tmp_path / f"{TSV_FIGID}.md"
    text = (FIGURES / f"{TSV_FIGID}.md").read_text(encoding="utf-8")
    text = text.replace("year: '2023'", "year: ''").replace("figlink: /pmc/", "figlink: pmc/")
    text = text.replace("figtype: Figure\n", "figtype: Figure\ngenes: []\nchemicals: NA\n")
    path.write_text(text, encoding="utf-8")
    figure = map_record(read_record(RecordSource(path, None)))
    lines = "".join(figure.lines())
    assert "hasPublicationYear" not in lines and figure.warnings == []
    assert "<https://www.ncbi.nlm.nih.gov/pmc/articles/" in lines


def test_duplicate_rows_collapse_and_write_each_triple_once(tmp_path):
    from kg.mapping import map_record

    root = copy_of_record(tmp_path / "dups")
    table = root / "_data" / f"{TSV_FIGID}-genes.tsv"
    text = table.read_text(encoding="utf-8")
    body = text.split("\n", 1)[1]
    table.write_text(text + body + body, encoding="utf-8")  # every row three times
    record = read_record(source_of(TSV_FIGID, root))
    assert len(record.genes) == len(tsv_rows(DATA_DIR / f"{TSV_FIGID}-genes.tsv")) and record.warnings == []
    lines = map_record(record).lines()
    assert len(lines) == len(set(lines))


def test_unreadable_table_is_a_warning(tmp_path):
    import os

    if os.geteuid() == 0:  # root reads anything: use a folder where the table should be
        root = copy_of_record(tmp_path / "unreadable")
        table = root / "_data" / f"{TSV_FIGID}-diseases.tsv"
        table.unlink()
        table.mkdir()
        record = read_record(source_of(TSV_FIGID, root))
        assert record.diseases == [] and record.warnings == []  # a folder is no table
        return
    root = copy_of_record(tmp_path / "unreadable")
    table = root / "_data" / f"{TSV_FIGID}-diseases.tsv"
    table.chmod(0)
    record = read_record(source_of(TSV_FIGID, root))
    [warning] = record.warnings
    assert warning.path.endswith("-diseases.tsv") and "cannot read" in warning.reason


# --------------------------------------------------------------------------- the sample, end to end (CLI)


def test_sample_builds_with_no_rejects_and_reparses_everywhere(tmp_path):
    """`kg build` (a subprocess) on the 35 records with all 46 tables: exit 0, no rejects,
    the one row warning in the rejects report; the Turtle re-parses in rdflib, pyoxigraph
    and rapper to the same count, and `kg validate` passes."""
    import json
    import subprocess
    import sys

    import pyoxigraph as ox
    from rdflib import Graph

    from conftest import rapper_check

    out, rejects = tmp_path / "s.ttl", tmp_path / "r.jsonl"
    kg = [sys.executable, "-m", "kg.cli"]
    run = subprocess.run(kg + ["build", str(SAMPLE), "-o", str(out), "--rejects", str(rejects), "-j", "2"],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert len(list(DATA_DIR.glob("*.tsv"))) == 46
    assert re.search(r"35 records read, 35 converted, 0 rejected, 1 warning, (\d+) triples", run.stderr), run.stderr
    [item] = [json.loads(line) for line in rejects.read_text(encoding="utf-8").splitlines()]
    assert (item["level"], item["line"], item["field"]) == ("warning", 68, "word")
    count = int(re.search(r"(\d+) triples", run.stderr).group(1))
    assert len(Graph().parse(out, format="turtle")) == count
    assert len(list(ox.parse(path=str(out), format=ox.RdfFormat.TURTLE))) == count
    assert rapper_check(out)[0] == count
    check = subprocess.run(kg + ["validate", str(out)], capture_output=True, text=True, timeout=300)
    assert check.returncode == 0, check.stdout + check.stderr


@pytest.mark.parametrize("jobs", [1, 2])
def test_warnings_reach_the_report_through_the_store_too(tmp_path, jobs):
    import json

    from kg.pipeline import build

    rejects = tmp_path / "r.jsonl"
    report = build([SAMPLE], store=tmp_path / "store", rejects=rejects, jobs=jobs)
    assert (report.rejected, report.warnings, report.exit_status) == (0, 1, 0)
    assert "1 warning," in str(report)
    [item] = [json.loads(line) for line in rejects.read_text(encoding="utf-8").splitlines()]
    assert item == report.rejects[0] and item["level"] == "warning"
    plain = build([SAMPLE], tmp_path / "s.nt", jobs=jobs)
    assert plain.rejects == report.rejects
    assert re.search(r" 0 rejected, \d+ triples", str(build([FIGURES / f"{TSV_FIGID}.md"], tmp_path / "two.nt")))
