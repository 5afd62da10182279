"""The embedded store: build into it, replace figures as units, incremental rebuilds,
atomic loads, locked and missing stores."""

from __future__ import annotations

import shutil
from pathlib import Path

import pyoxigraph as ox
import pytest

from kg.pipeline import build
from kg.cli import main
from kg.errors import StoreError
from kg.store import figure_digests, load, open_store
from kg.vocab import KG

from conftest import SAMPLE, VERSIONS, store_quads





def copy_sample(tmp_path: Path) -> Path:
    target = tmp_path / "records"
    shutil.copytree(SAMPLE, target)
    return target


def full_build(source: Path, tmp_path: Path, name: str) -> set[ox.Quad]:
    store = tmp_path / name
    build([source], store=store, incremental=False)
    return store_quads(store)


def test_each_figure_is_one_named_graph(sample_store, sample_ttl):
    store = open_store(sample_store, read_only=True)
    graphs = {g.value for g in store.named_graphs()}
    digests = figure_digests(store)
    figures = {r["f"].value for r in store.query(
        f"SELECT ?f WHERE {{ ?f a <{KG}PathwayFigure> }}", use_default_graph_as_union=True)}
    assert graphs == set(digests.values()) == figures
    assert len(figures) == len(list((SAMPLE / "_figures").glob("*.md")))
    # the default graph is the de-duplicated union of the figure graphs
    union = {q.triple for q in store.quads_for_pattern(None, None, None, None) if q.graph_name != ox.DefaultGraph()}
    default = {q.triple for q in store.quads_for_pattern(None, None, None, ox.DefaultGraph())}
    assert default == union == {q.triple for q in ox.parse(path=str(sample_ttl))}


def test_rebuild_after_edit_delete_add_equals_full_build(tmp_path):
    records = copy_sample(tmp_path)
    store = tmp_path / "store"
    build([records], store=store)
    before = store_quads(store)

    figures = sorted((records / "_figures").glob("*.md"))
    edited, deleted = figures[4], figures[7]
    edited.write_text(edited.read_text(encoding="utf-8").replace("\nnumber: ", "\nnumber: Edited-", 1), encoding="utf-8")
    deleted.unlink()
    table = records / "_data" / "PMC10003241__ijms-24-04893-g003-genes.tsv"
    table.write_text("\n".join(table.read_text(encoding="utf-8").splitlines()[:-3]) + "\n", encoding="utf-8")
    added = VERSIONS / "older-layout" / "_figures" / "PMC100005__mb2410575011.md"
    (records / "_figures" / "PMC100005__mb2410575011.md").unlink()
    shutil.copy(added, records / "_figures" / "PMC100005__mb2410575011.md")

    report = build([records], store=store)
    after = store_quads(store)
    assert after == full_build(records, tmp_path, "fresh")
    assert after != before
    assert report.rejected == 0
    assert report.figures_unchanged == len(figures) - 4  # edited, deleted, table changed, replaced
    assert any(q.object.value.startswith("Edited-") for q in after if q.predicate.value == KG + "figureNumber")


def test_rebuild_unchanged_writes_nothing(tmp_path, sample_store):
    store = tmp_path / "store"
    shutil.copytree(sample_store, store)
    report = build([SAMPLE], store=store)
    assert report.quads == 0
    assert report.figures_unchanged == report.records_read
    assert store_quads(store) == store_quads(sample_store)


def test_full_rebuild_replaces_every_graph(tmp_path, sample_store):
    store = tmp_path / "store"
    shutil.copytree(sample_store, store)
    report = build([SAMPLE], store=store, incremental=False)
    assert report.figures_unchanged == 0
    assert store_quads(store) == store_quads(sample_store)


def test_build_store_and_file_together(tmp_path):
    out = tmp_path / "both.nq"
    store = tmp_path / "store"
    build([SAMPLE], out, format="nq", store=store)
    from_file = set(ox.parse(path=str(out)))
    assert from_file == {q for q in store_quads(store) if q.graph_name != ox.DefaultGraph()}


def test_load_twice_changes_nothing(tmp_path, sample_ttl):
    store = tmp_path / "store"
    first = load([sample_ttl], store)
    assert first.before == 0 and first.after > 0 and first.triples is None  # a new store: bulk-loaded
    second = load([sample_ttl], store)
    assert second.before == second.after == first.after


def test_load_into_named_graph_and_replace(tmp_path, sample_ttl):
    store = tmp_path / "store"
    load([sample_ttl], store, graph="https://example.org/g")
    st = open_store(store, read_only=True)
    assert {g.value for g in st.named_graphs()} == {"https://example.org/g"}
    del st
    report = load([sample_ttl], store, graph="https://example.org/g", replace=True)
    assert report.after == report.before


def test_failed_load_leaves_store_as_it_was(tmp_path, sample_ttl):
    store = tmp_path / "store"
    load([sample_ttl], store)
    before = store_quads(store)
    broken = tmp_path / "broken.ttl"
    broken.write_text("<http://a> <http://b> .\n", encoding="utf-8")
    with pytest.raises(StoreError, match="broken.ttl"):
        load([sample_ttl, broken], store, graph="https://example.org/other")
    assert store_quads(store) == before


def test_load_into_new_store_uses_bulk_loader_and_equals_transactional_load(tmp_path, sample_ttl):
    """A new store is bulk-loaded (streaming); an existing one gets a transaction: same quads."""
    import gzip

    packed = tmp_path / "sample.ttl.gz"
    packed.write_bytes(gzip.compress(sample_ttl.read_bytes()))
    fresh = load([sample_ttl, packed], tmp_path / "fresh", graph="https://example.org/g")
    assert fresh.before == 0 and fresh.after > 0
    existing = tmp_path / "existing"
    load([sample_ttl], existing, graph="https://example.org/seed")
    load([sample_ttl, packed], existing, graph="https://example.org/g")
    assert store_quads(tmp_path / "fresh") == {q for q in store_quads(existing)
                                                if q.graph_name == ox.NamedNode("https://example.org/g")}


def test_failed_load_into_new_store_creates_nothing(tmp_path, sample_ttl):
    broken = tmp_path / "broken.ttl"
    broken.write_text("<http://a> <http://b> .\n", encoding="utf-8")
    with pytest.raises(StoreError, match="broken.ttl.*nothing was loaded"):
        load([sample_ttl, broken], tmp_path / "new")
    assert not (tmp_path / "new").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_cli_load_errors_are_one_line(tmp_path, sample_ttl, capsys):
    broken = tmp_path / "broken.nt"
    broken.write_text("not n-triples\n", encoding="utf-8")
    assert main(["load", str(broken), "--store", str(tmp_path / "s")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("kg: ") and "\n" not in err and "Traceback" not in err
    assert main(["load", str(tmp_path / "missing.ttl"), "--store", str(tmp_path / "s")]) == 2
    assert "missing.ttl" in capsys.readouterr().err


def test_locked_store_is_reported(tmp_path, sample_ttl, capsys):
    store = tmp_path / "store"
    load([sample_ttl], store)
    holder = ox.Store(str(store))  # another writer holds the lock
    try:
        assert main(["load", str(sample_ttl), "--store", str(store)]) == 2
        err = capsys.readouterr().err
        assert "locked" in err and err.count("\n") == 1
        assert main(["build", str(SAMPLE), "--store", str(store), "-q"]) == 2
        assert "locked" in capsys.readouterr().err
    finally:
        del holder
    assert len(store_quads(store)) == len(set(ox.parse(path=str(sample_ttl))))


def test_missing_store(tmp_path):
    with pytest.raises(StoreError, match="no store"):
        open_store(tmp_path / "nope", read_only=True)


def test_failed_fresh_build_leaves_no_store(tmp_path):
    target = tmp_path / "store"
    with pytest.raises(FileNotFoundError):
        build([tmp_path / "no-such-records"], store=target)
    assert not target.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".store")]
