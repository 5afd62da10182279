"""Bad records are skipped and reported (file, line, field, reason) in the rejects JSONL and
on stderr, never with a traceback; the good records are still written; exit status 1.
A bad table row (or inline item) never drops its figure: it is reported as a warning
(``"level": "warning"``) and the record converts; exit status 0.

Every bad record is a real sample record copied into tmp_path and altered."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pyoxigraph as ox
import pytest
import yaml

from conftest import SAMPLE
from kg.pipeline import build
from kg.cli import main
from kg.records import RecordError

FIGURES = SAMPLE / "_figures"
DATA_DIR = SAMPLE / "_data"
BAD = "PMC10003241__ijms-24-04893-g003"  # has all three tables
GOOD = ("PMC10299676__ijms-24-10290-g001", "PMC1323499__pmed.0030057.g001", "PMC10017456__fpls-14-1084358-g002")
MARKER = Path("/tmp/kg-test-yaml-tag-was-executed")


def fig_iri(figid: str) -> str:
    return f"https://pfocr.wikipathways.org/figures/{figid}.html"


def line_of(text: str, pattern: str) -> int:
    for number, line in enumerate(text.split("\n"), start=1):
        if re.match(pattern, line):
            return number
    raise AssertionError(pattern)


@pytest.fixture
def corpus(tmp_path) -> Path:
    """Good sample records plus the record ``BAD`` (to be broken by the test), with tables."""
    root = tmp_path / "corpus"
    (root / "_figures").mkdir(parents=True)
    (root / "_data").mkdir()
    for figid in (BAD, *GOOD):
        shutil.copy(FIGURES / f"{figid}.md", root / "_figures")
        for table in DATA_DIR.glob(f"{figid}-*.tsv"):
            shutil.copy(table, root / "_data")
    return root


def record_path(root: Path, figid: str = BAD) -> Path:
    return root / "_figures" / f"{figid}.md"


def edit_text(root: Path, old: str, new: str, figid: str = BAD) -> int:
    """Replace ``old`` (must occur) in the record; return the 1-based line where it starts."""
    path = record_path(root, figid)
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return text[:text.index(old)].count("\n") + 1


def run(root: Path, tmp_path: Path, capsys, jobs: int = 1) -> tuple[int, list[dict], str, Path]:
    out = tmp_path / "out.nt"
    rejects = tmp_path / "rejects.jsonl"
    status = main(["build", str(root), "-o", str(out), "--rejects", str(rejects), "--jobs", str(jobs), "-q"])
    err = capsys.readouterr().err
    assert "Traceback" not in err
    items = [json.loads(line) for line in rejects.read_text(encoding="utf-8").splitlines()]
    return status, items, err, out


def check_one_reject(root, tmp_path, capsys, file: Path, line: int | None, field: str | None, reason: str,
                     good=GOOD, jobs: int = 1) -> dict:
    status, items, err, out = run(root, tmp_path, capsys, jobs)
    assert status == 1
    assert len(items) == 1, items
    [item] = items
    assert set(item) >= {"file", "line", "field", "reason", "level"} and item["level"] == "error"
    assert Path(item["file"]).name == file.name
    assert item["line"] == line
    assert item["field"] == field
    assert re.search(reason, item["reason"], re.I), item["reason"]
    # on stderr: one line naming the file (and line), plus the summary line
    lines = err.strip().splitlines()
    rejected = [l for l in lines if file.name in l]
    assert len(rejected) == 1 and "rejected" in rejected[0]
    if line is not None:
        assert f"{file.name}:{line}" in rejected[0]
    summary = lines[-1]
    assert re.match(rf"{len(good) + 1} records read, {len(good)} converted, 1 rejected, \d+ triples written", summary)
    # the good records are all written, the bad one is not
    subjects = {q.subject.value for q in ox.parse(path=str(out), format=ox.RdfFormat.N_TRIPLES)}
    for figid in good:
        assert fig_iri(figid) in subjects
    if file.suffix == ".md" and file.stem not in good:
        assert fig_iri(file.stem) not in subjects
    return item


def check_one_warning(root, tmp_path, capsys, file: Path, line: int | None, field: str | None, reason: str,
                      jobs: int = 1) -> dict:
    """One row-level warning naming ``file``/``line``/``field``: every record converts (the
    record with the bad row too), exit status 0, one "warning" line on stderr."""
    status, items, err, out = run(root, tmp_path, capsys, jobs)
    assert status == 0, items
    assert len(items) == 1, items
    [item] = items
    assert item["level"] == "warning"
    assert Path(item["file"]).name == file.name
    assert (item["line"], item["field"]) == (line, field), item
    assert re.search(reason, item["reason"], re.I), item["reason"]
    lines = err.strip().splitlines()
    warned = [l for l in lines if file.name in l]
    assert len(warned) == 1 and warned[0].startswith("warning ")
    if line is not None:
        assert f"{file.name}:{line}" in warned[0]
    n = len(GOOD) + 1
    assert re.match(rf"{n} records read, {n} converted, 0 rejected, 1 warning, \d+ triples written", lines[-1])
    subjects = {q.subject.value for q in ox.parse(path=str(out), format=ox.RdfFormat.N_TRIPLES)}
    assert all(fig_iri(f) in subjects for f in (BAD, *GOOD))
    return item


# --------------------------------------------------------------------------- front matter


def test_broken_yaml(corpus, tmp_path, capsys):
    line = edit_text(corpus, "number: F3", "number: [F3")
    path = record_path(corpus)
    assert _yaml_error_line(path) >= line
    check_one_reject(corpus, tmp_path, capsys, path, _yaml_error_line(path), None, "invalid YAML")


def _yaml_error_line(path: Path) -> int:
    text = path.read_text(encoding="utf-8")
    fm = text.split("---\n")[1]
    try:
        yaml.safe_load(fm)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        return mark.line + 2
    raise AssertionError("YAML should be broken")


def test_broken_yaml_bad_indentation(corpus, tmp_path, capsys):
    edit_text(corpus, "pmcid: PMC10003241\n", "pmcid: PMC10003241\n  bad: indent: here\n")
    path = record_path(corpus)
    check_one_reject(corpus, tmp_path, capsys, path, _yaml_error_line(path), None, "invalid YAML")


def test_missing_front_matter(corpus, tmp_path, capsys):
    path = record_path(corpus)
    path.write_text("# A figure page with no front matter\n\nText.\n", encoding="utf-8")
    check_one_reject(corpus, tmp_path, capsys, path, 1, None, "front matter")


def test_unclosed_front_matter(corpus, tmp_path, capsys):
    path = record_path(corpus)
    text = path.read_text(encoding="utf-8")
    path.write_text(text[:text.rindex("---\n")], encoding="utf-8")
    check_one_reject(corpus, tmp_path, capsys, path, 1, None, "not closed")


def test_missing_figid(corpus, tmp_path, capsys):
    edit_text(corpus, f"figid: {BAD}\n", "")
    check_one_reject(corpus, tmp_path, capsys, record_path(corpus), 1, "figid", "figid")


@pytest.mark.parametrize("figid_value", ["NA", "''", ".na.character"])
def test_missing_figid_value(corpus, tmp_path, capsys, figid_value):
    line = edit_text(corpus, f"figid: {BAD}\n", f"figid: {figid_value}\n")
    check_one_reject(corpus, tmp_path, capsys, record_path(corpus), line, "figid", "figid")


def test_figid_that_cannot_be_an_iri(corpus, tmp_path, capsys):
    line = edit_text(corpus, f"figid: {BAD}\n", "figid: PMC1 <bad>/../x\n")
    check_one_reject(corpus, tmp_path, capsys, record_path(corpus), line, "figid", "figid")


def test_invalid_utf8(corpus, tmp_path, capsys):
    path = record_path(corpus)
    raw = path.read_bytes()
    at = raw.index(b"number: F3")
    path.write_bytes(raw[:at] + b"number: F\xff\xfe3" + raw[at + len(b"number: F3"):])
    line = raw[:at].count(b"\n") + 1
    check_one_reject(corpus, tmp_path, capsys, path, line, None, "UTF-8")


def test_yaml_python_tag_is_refused_and_never_runs(corpus, tmp_path, capsys):
    MARKER.unlink(missing_ok=True)
    line = edit_text(corpus, "number: F3\n", f"number: !!python/object/apply:os.system ['touch {MARKER}']\n")
    item = check_one_reject(corpus, tmp_path, capsys, record_path(corpus), line, None, "tag")
    assert "python/object/apply" in item["reason"]
    assert not MARKER.exists()


@pytest.mark.parametrize("tagged", [
    "!!python/object/new:subprocess.Popen [['true']]",
    "!!python/name:os.system",
    "!custom {a: 1}",
])
def test_other_object_tags_are_refused(corpus, tmp_path, capsys, tagged):
    line = edit_text(corpus, "number: F3\n", f"number: {tagged}\n")
    check_one_reject(corpus, tmp_path, capsys, record_path(corpus), line, None, "tag")


def test_alias_bomb(corpus, tmp_path, capsys):
    bomb = ["a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for prev, name in zip("abcdefgh", "bcdefghi"):
        bomb.append(f"{name}: &{name} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]")
    edit_text(corpus, "number: F3\n", "number: F3\n" + "\n".join(bomb) + "\n")
    check_one_reject(corpus, tmp_path, capsys, record_path(corpus), None, None, "alias")


def test_alias_bomb_in_a_known_field(corpus, tmp_path, capsys):
    edit_text(corpus, "organisms:\n- NA\n", "organisms: &x\n- NA\n- &y [*x, *x]\n")
    edit_text(corpus, "number: F3\n", "number: F3\nx2: [*y, *y]\n")
    check_one_reject(corpus, tmp_path, capsys, record_path(corpus), None, None, "alias")


def test_scalar_aliases_are_fine(corpus, tmp_path, capsys):
    edit_text(corpus, "figtype: Figure\n", "figtype: &t Figure\nalias_copy: *t\n")
    status, items, err, out = run(corpus, tmp_path, capsys)
    assert status == 0 and items == []


@pytest.mark.parametrize("body,kind", [("- a\n- b\n", "list"), ("just text\n", "str"), ("", "empty"),
                                       ("42\n", "int")])
def test_front_matter_that_is_not_a_mapping(corpus, tmp_path, capsys, body, kind):
    path = record_path(corpus)
    path.write_text("---\n" + body + "---\nbody\n", encoding="utf-8")
    item = check_one_reject(corpus, tmp_path, capsys, path, 2, None, "mapping")
    assert kind in item["reason"]


# --------------------------------------------------------------------------- bad values


@pytest.mark.parametrize("key,old,new,reason", [
    ("year", "year: '2023'", "year: 20x3", "year"),
    ("year", "year: '2023'", "year: '2023-03'", "year"),
    ("automl_pathway", "automl_pathway: 0.9540216", "automl_pathway: high", "number"),
    ("automl_pathway", "automl_pathway: 0.9540216", "automl_pathway: .nan", "number"),
    ("ndex", "ndex: ''", "ndex: not-a-uuid", "UUID"),
    ("pmcid", "pmcid: PMC10003241", "pmcid: 10003241", "PMC"),
    ("doi", "doi: 10.3390/ijms24054893", "doi: ijms24054893", "DOI"),
    ("figlink", "figlink: /pmc/articles", "figlink: ftp://x.org/pmc/articles", "link"),
    ("figlink", "figlink: /pmc/articles", "figlink: http://x.org/%zz/pmc/articles", "IRI"),
    ("redirect_from", "redirect_from: /figures/PMC10003241__F3", "redirect_from: figures/x", "path"),
    ("caption", "caption: 'An overview", "caption: {a: 1}\nold_caption: 'An overview", "text"),
    ("schema-jsonld", "'@context': https://schema.org/", "'@context': https://evil.example.org/ctx", "context"),
    ("schema-jsonld", "'@id': https://pfocr", "'@id': not-an-iri//pfocr", "IRI"),
])
def test_bad_field_values(corpus, tmp_path, capsys, key, old, new, reason):
    edit_text(corpus, old, new)
    path = record_path(corpus)
    line = line_of(path.read_text(encoding="utf-8"), rf"{re.escape(key)}:")
    check_one_reject(corpus, tmp_path, capsys, path, line, key, reason)


def test_inline_genes_that_are_not_a_list(corpus, tmp_path, capsys):
    figid = "PMC1323499__pmed.0030057.g001"
    path = record_path(corpus, figid)
    fields = yaml.safe_load(path.read_text(encoding="utf-8").split("---\n")[1])
    fields["genes"] = "RELA, IFNB1"
    path.write_text("---\n" + yaml.safe_dump(fields, allow_unicode=True, sort_keys=False) + "---\n", encoding="utf-8")
    line = line_of(path.read_text(encoding="utf-8"), "genes:")
    check_one_warning(corpus, tmp_path, capsys, path, line, "genes", "list")


def test_inline_gene_with_bad_entrez(corpus, tmp_path, capsys):
    figid = "PMC1323499__pmed.0030057.g001"
    edit_text(corpus, "entrez: '5970'", "entrez: five", figid)
    path = record_path(corpus, figid)
    item = check_one_warning(corpus, tmp_path, capsys, path, line_of(path.read_text(encoding="utf-8"), "genes:"),
                             "genes[1].entrez", "NCBI Gene id")
    assert "no gene is linked" in item["reason"]


# --------------------------------------------------------------------------- bad tables


def table(root: Path, kind: str) -> Path:
    return root / "_data" / f"{BAD}-{kind}.tsv"


def append_row(root: Path, kind: str, row: str) -> int:
    path = table(root, kind)
    text = path.read_text(encoding="utf-8")
    path.write_text(text + row + "\n", encoding="utf-8")
    return len(text.splitlines()) + 1


def test_tsv_wrong_field_count(corpus, tmp_path, capsys):
    line = append_row(corpus, "genes", "9606\tHomo sapiens\tPrimates\tTP53\tTP53")
    check_one_warning(corpus, tmp_path, capsys, table(corpus, "genes"), line, None, "5 fields.*11.*row skipped")


def test_tsv_too_many_fields(corpus, tmp_path, capsys):
    line = append_row(corpus, "chemicals", "ATP\tmesh:D000255\tNA\tNA\tNA\textra")
    check_one_warning(corpus, tmp_path, capsys, table(corpus, "chemicals"), line, None, "fields")


def test_tsv_non_numeric_ncbigene_id(corpus, tmp_path, capsys):
    line = append_row(corpus, "genes", "9606\tHomo sapiens\tPrimates\tTP53\tTP53\tTP53\tTP53\tncbigene_symbol\t1\t1\t1")
    check_one_warning(corpus, tmp_path, capsys, table(corpus, "genes"), line, "ncbigene_id", "NCBI Gene")


def test_tsv_non_numeric_organism_id(corpus, tmp_path, capsys):
    line = append_row(corpus, "genes", "human\tHomo sapiens\tPrimates\tTP53\tTP53\tTP53\t7157\tncbigene_symbol\t1\t1\t1")
    check_one_warning(corpus, tmp_path, capsys, table(corpus, "genes"), line, "organism_id", "taxon")
    out = tmp_path / "out.nt"
    triples = out.read_text(encoding="utf-8")  # the gene is still linked, without an organism
    assert f"<{fig_iri(BAD)}> <https://w3id.org/pfocr-kg/vocab#mentionsGene> <https://identifiers.org/ncbigene/7157>" \
        in triples


@pytest.mark.parametrize("kind,row,field", [
    ("chemicals", "ATP\tD-000255\tNA\tNA\tNA", "mesh"),
    ("chemicals", "ATP\tmesh:D000255\tATP\tATP\tchebi:fifteen", "chebi"),
    ("diseases", "Myeloma\tmesh:D009101\tMM\tmultiple myeloma\tDOID:x9538", "doid"),
    ("diseases", "NA\tmesh:D009101\tMM\tmultiple myeloma\tNA", "word"),
    ("diseases", "NA\tNA\tNA\tNA\tNA", "word"),
])
def test_tsv_bad_identifiers(corpus, tmp_path, capsys, kind, row, field):
    line = append_row(corpus, kind, row)
    check_one_warning(corpus, tmp_path, capsys, table(corpus, kind), line, field, ".")


def test_tsv_missing_column(corpus, tmp_path, capsys):
    path = table(corpus, "genes")
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("ncbigene_id", "gene_id", 1), encoding="utf-8")
    check_one_warning(corpus, tmp_path, capsys, path, 1, "ncbigene_id", "column")


def test_tsv_with_no_usable_column_is_skipped(corpus, tmp_path, capsys):
    path = table(corpus, "diseases")
    path.write_text("a\tb\n1\t2\n", encoding="utf-8")
    check_one_warning(corpus, tmp_path, capsys, path, 1, "mesh", "table skipped")


def test_tsv_invalid_utf8(corpus, tmp_path, capsys):
    path = table(corpus, "diseases")
    raw = path.read_bytes()
    path.write_bytes(raw + b"Myel\xc3\x28oma\tmesh:D009101\tNA\tNA\tNA\n")
    check_one_warning(corpus, tmp_path, capsys, path, raw.count(b"\n") + 1, None, "UTF-8.*row skipped")


def test_empty_table_and_blank_lines_are_fine(corpus, tmp_path, capsys):
    table(corpus, "diseases").write_text("")
    path = table(corpus, "chemicals")
    path.write_text(path.read_text(encoding="utf-8") + "\n\t\t\n", encoding="utf-8")
    status, items, err, out = run(corpus, tmp_path, capsys)
    assert (status, items) == (0, [])


# --------------------------------------------------------------------------- duplicates, many rejects, jobs


def test_duplicate_figids_keep_the_first(corpus, tmp_path, capsys):
    other = tmp_path / "other"
    other.mkdir()
    copy = other / "zz-copy-of-record.md"
    shutil.copy(record_path(corpus, GOOD[0]), copy)
    out, rejects = tmp_path / "dup.nt", tmp_path / "dup.jsonl"
    status = main(["build", str(corpus), str(other), "-o", str(out), "--rejects", str(rejects), "-q", "-j", "1"])
    err = capsys.readouterr().err
    assert status == 1
    [item] = [json.loads(l) for l in rejects.read_text().splitlines()]
    assert Path(item["file"]).name == copy.name
    assert item["field"] == "figid" and "duplicate" in item["reason"]
    assert record_path(corpus, GOOD[0]).name in item["reason"]
    assert "zz-copy-of-record.md" in err and "Traceback" not in err
    subjects = [q for q in ox.parse(path=str(out)) if q.subject.value == fig_iri(GOOD[0])
                and q.predicate.value == "http://purl.org/dc/terms/identifier"]
    assert len(subjects) == 1


def _rejected_files(sources) -> tuple[list[str], list[str]]:
    from kg.pipeline import convert

    rejects: list = []
    kept = [Path(f.source).parent.name + "/" + Path(f.source).name for f in convert(sources, on_reject=rejects.append)]
    return kept, [Path(r.path).parent.name + "/" + Path(r.path).name for r in rejects]


@pytest.mark.parametrize("as_list", [False, True])
def test_duplicate_figids_same_file_name_in_two_folders(corpus, tmp_path, as_list):
    """The usual duplicate: one record file copied into two record folders; the first wins,
    whether discovery's compact name index or a plain list of sources is given."""
    from kg.records import discover

    second = tmp_path / "z-second"
    second.mkdir()
    shutil.copy(record_path(corpus, GOOD[0]), second)
    sources = discover([corpus, second])
    kept, rejected = _rejected_files(list(sources) if as_list else sources)
    assert rejected == [f"z-second/{GOOD[0]}.md"] and f"_figures/{GOOD[0]}.md" in kept


def test_duplicate_figid_claimed_by_a_record_named_otherwise(corpus, tmp_path):
    """A record whose file name is not its figid claims that figid before (a-...) or after
    (zz-...) the record named after it; a rejected record claims nothing."""
    from kg.records import discover

    early, late = tmp_path / "early", tmp_path / "late"
    early.mkdir(), late.mkdir()
    text = record_path(corpus, GOOD[1]).read_text(encoding="utf-8")
    (early / "0-alias.md").write_text(text, encoding="utf-8")  # sorts before PMC...: claims first
    (late / "zz-alias.md").write_text(record_path(corpus, GOOD[2]).read_text(encoding="utf-8"), encoding="utf-8")
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / f"{GOOD[0]}.md").write_text(f"---\nfigid: {GOOD[0]}\nyear: 20x3\npmcid: PMC1\n---\n",
                                          encoding="utf-8")  # rejected: the good copy still counts
    kept, rejected = _rejected_files(discover([corpus, early, late, broken]))
    assert sorted(rejected) == sorted([f"_figures/{GOOD[1]}.md", "late/zz-alias.md", f"broken/{GOOD[0]}.md"])
    assert "early/0-alias.md" in kept and f"_figures/{GOOD[0]}.md" in kept and f"_figures/{GOOD[2]}.md" in kept


def test_many_bad_records_at_once_with_jobs(corpus, tmp_path, capsys):
    bad = {
        "a-broken.md": "---\nfigid: [unclosed\n---\n",
        "b-nofront.md": "no front matter\n",
        "c-tag.md": "---\nfigid: !!python/object/apply:os.system ['true']\n---\n",
        "d-list.md": "---\n- figid\n---\n",
        "e-year.md": "---\nfigid: PMC1__x\npmcid: PMC1\nyear: 20x3\n---\n",
    }
    for name, text in bad.items():
        (corpus / "_figures" / name).write_text(text, encoding="utf-8")
    (corpus / "_figures" / "f-utf8.md").write_bytes(b"---\nfigid: PMC2__\xff\n---\n")
    results = []
    for jobs in (1, 2):
        status, items, err, out = run(corpus, tmp_path, capsys, jobs)
        assert status == 1
        assert sorted(Path(i["file"]).name for i in items) == sorted([*bad, "f-utf8.md"])
        assert all(i["reason"] for i in items)
        subjects = {q.subject.value for q in ox.parse(path=str(out))}
        assert all(fig_iri(f) in subjects for f in (BAD, *GOOD))
        results.append((items, out.read_bytes()))
    assert results[0] == results[1]


def test_rejects_also_written_via_api(corpus, tmp_path):
    path = record_path(corpus)
    path.write_text("nothing here\n")
    report = build([corpus], tmp_path / "x.ttl", rejects=tmp_path / "r.jsonl")
    assert report.rejected == 1 and report.converted == len(GOOD) and report.exit_status == 1
    assert [json.loads(l) for l in (tmp_path / "r.jsonl").read_text().splitlines()] == report.rejects


def test_rejects_file_is_empty_when_all_convert(corpus, tmp_path, capsys):
    status, items, err, out = run(corpus, tmp_path, capsys)
    assert status == 0 and items == []
    assert (tmp_path / "rejects.jsonl").read_text() == ""


# --------------------------------------------------------------------------- limits (point 5 of issue 8)


def test_scalar_alias_bomb_in_jsonld_is_refused_quickly_in_little_memory(corpus, tmp_path):
    """A ~180 KB record whose 100 KB scalar anchor is used 20,000 times in the JSON-LD block
    (2 GB once expanded) is rejected by the reader, naming the field; a `kg build`
    subprocess doing it stays small."""
    from kg.records import RecordSource, data_dir_for, read_record

    big = "x" * 100_000
    line = edit_text(corpus, "figtype: Figure\n", f"figtype: Figure\nbig: &a '{big}'\n")
    edit_text(corpus, "  keywords:\n", "  keywords: [" + ", ".join(["*a"] * 20_000) + "]\n  old_keywords:\n")
    path = record_path(corpus)
    assert 150_000 < path.stat().st_size < 200_000
    with pytest.raises(RecordError) as info:
        read_record(RecordSource(path, data_dir_for(path)))
    assert info.value.field == "schema-jsonld" and "alias" in info.value.reason
    assert info.value.line == line_of(path.read_text(encoding="utf-8"), "schema-jsonld:")
    run = subprocess.run([sys.executable, "-c", _MAXRSS_BUILD, str(path), str(tmp_path / "bomb.nt")],
                         capture_output=True, text=True, timeout=120)
    status, peak_kb = (int(x) for x in run.stdout.split())
    assert status == 1, run.stderr
    assert "alias" in run.stderr and "Traceback" not in run.stderr
    assert peak_kb < 300_000, f"peak RSS {peak_kb} KB"


_MAXRSS_BUILD = """
import resource, sys
from kg.cli import main
status = main(["build", sys.argv[1], "-o", sys.argv[2], "-q"])
print(status, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


@pytest.mark.parametrize("key,old,new,reason", [
    ("automl_pathway", "automl_pathway: 0.9540216", "automl_pathway: 1e999999999", "out of range"),
    ("automl_pathway", "automl_pathway: 0.9540216", "automl_pathway: '1" + "0" * 100 + "'", "too long"),
    ("automl_pathway", "automl_pathway: 0.9540216", "automl_pathway: 1.0e+400", "not a finite number"),
    ("figtype", "figtype: Figure", "figtype: " + "9" * 5000, "5000 digits"),
    ("schema-jsonld", "  license: CC0", "  license: CC0\n  dateModified: 2023-13-45", "'2023-13-45' is not a valid date"),
])
def test_values_out_of_range_are_clear_rejects(corpus, tmp_path, capsys, key, old, new, reason):
    """Numbers are range-checked before Decimal/int see them (no billion-digit literal);
    an impossible YAML date is named with its line and field, never 'unexpected error'."""
    line = edit_text(corpus, old, new)
    path = record_path(corpus)
    if key == "schema-jsonld":
        line = line_of(path.read_text(encoding="utf-8"), "  dateModified:")
    item = check_one_reject(corpus, tmp_path, capsys, path, line, key, reason)
    assert "unexpected" not in item["reason"] and "bug" not in item["reason"]


def test_valid_yaml_date_in_jsonld_stays_text(corpus, tmp_path, capsys):
    edit_text(corpus, "  license: CC0", "  license: CC0\n  dateModified: 2023-03-01")
    status, items, err, out = run(corpus, tmp_path, capsys)
    assert (status, items) == (0, [])
    assert '<http://schema.org/dateModified> "2023-03-01"^^<http://schema.org/Date>' in out.read_text(encoding="utf-8")


def test_figid_of_300_characters_is_a_clear_reject(corpus, tmp_path, capsys):
    line = edit_text(corpus, f"figid: {BAD}\n", "figid: PMC1__" + "x" * 300 + "\n")
    item = check_one_reject(corpus, tmp_path, capsys, record_path(corpus), line, "figid", "306 characters")
    assert "at most 200" in item["reason"]


@pytest.mark.parametrize("fmt", ["nt", "nq", "ttl", "jsonld"])
def test_repeated_values_never_write_a_triple_twice(corpus, tmp_path, fmt):
    """keywords: [LRP6, LRP6] in JSON-LD and 'LRP6 | LRP6' in the paper keywords: every
    output format is a set."""
    edit_text(corpus, "  - LRP5\n", "  - LRP6\n  - LRP6\n")
    edit_text(corpus, "keywords: ", "keywords: LRP6 | LRP6 | ")
    out = tmp_path / f"set.{fmt}"
    report = build([corpus], out)
    assert report.rejected == 0
    formats = {"nt": ox.RdfFormat.N_TRIPLES, "nq": ox.RdfFormat.N_QUADS, "ttl": ox.RdfFormat.TURTLE,
               "jsonld": ox.RdfFormat.JSON_LD}
    statements = list(ox.parse(path=str(out), format=formats[fmt]))
    assert len(statements) == len(set(statements)) == report.triples
    lrp6 = [q for q in statements if q.predicate.value == "http://schema.org/keywords" and q.object.value == "LRP6"]
    assert len({(q.subject, q.graph_name) for q in lrp6}) == len(lrp6) >= 2  # the figure's and the paper's


def test_no_unexpected_error_path_left():
    """The one catch-all in the pipeline says it is a bug in kg, never just 'unexpected error'."""
    root = Path(__file__).resolve().parent.parent / "kg"
    for source in root.rglob("*.py"):
        assert "unexpected error" not in source.read_text(encoding="utf-8"), source


def test_character_yaml_refuses_is_a_one_line_reject(corpus, tmp_path, capsys):
    line = edit_text(corpus, "number: F3", "number: F\x003")
    item = check_one_reject(corpus, tmp_path, capsys, record_path(corpus), line, None, "U\\+0000 is not allowed")
    assert "\n" not in item["reason"]
