"""Library queries read the store's statistics (their ``queries/statistics/`` variants) and
answer exactly what the plain queries answer: on the sample store, after random changes,
with loaded graphs that hold counted triples (then the plain query runs), and on dumps."""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import pyoxigraph as ox
import pytest

from kg.pipeline import build
from kg.query import choose_text, example_query, list_queries, param_example, run_query
from kg.statistics import GRAPH, present, usable
from kg.store import load, open_store

from conftest import SAMPLE
from test_store import _random_change, _statistics_agree, copy_sample

LIBRARY = list_queries()
VARIANTS = [q for q in LIBRARY if q.statistics is not None]


def examples(query) -> dict[str, str]:
    return {p: param_example(query.param_help[p]) for p in query.params}


def both(store: Path, query) -> tuple[list, list]:
    """Rows with the statistics (when the store has them) and of the plain query."""
    params = examples(query)
    fast = run_query(query.name, store=store, params=params)
    plain = run_query(query.name, store=store, params=params, statistics=False)
    return fast.variables, fast.rows, plain.variables, plain.rows


def test_aggregates_have_statistics_variants():
    assert {q.name for q in VARIANTS} == {"top-genes", "papers-most-figures", "figures-per-year",
                                          "figures-per-organism", "figures-by-journal", "summary"}
    for q in VARIANTS:
        assert q.counts, q.name  # each says which triples its statistics count
        assert q.statistics.splitlines()[0].startswith("# ") and "# counts:" in q.statistics


@pytest.mark.parametrize("query", LIBRARY, ids=lambda q: q.name)
def test_every_library_query_same_rows_with_and_without_statistics(sample_store, query):
    fast_vars, fast, plain_vars, plain = both(sample_store, query)
    assert fast_vars == plain_vars
    assert fast == plain  # same rows, same order
    if query.name in ("summary", "top-genes", "figures-per-year"):
        assert plain


def test_variants_are_chosen_on_a_kg_store(sample_store):
    store = open_store(sample_store, read_only=True)
    try:
        assert present(store)
        for q in VARIANTS:
            assert choose_text(q, store) == q.statistics
        plain = next(q for q in LIBRARY if q.statistics is None)
        assert choose_text(plain, store) == plain.text
    finally:
        del store


def test_same_rows_after_random_changes(tmp_path):
    rng = random.Random(11)
    records = copy_sample(tmp_path)
    store = tmp_path / "store"
    build([records], store=store)
    for step in range(3):
        for i in range(3):
            _random_change(records, rng, 700 + step * 10 + i)
        build([records], store=store)
        _statistics_agree(store)
        for q in VARIANTS:
            fast_vars, fast, plain_vars, plain = both(store, q)
            assert (fast_vars, fast) == (plain_vars, plain), (step, q.name)


def test_loaded_graph_with_counted_triples_runs_the_plain_query(tmp_path, sample_store):
    store = tmp_path / "store"
    shutil.copytree(sample_store, store)
    extra = tmp_path / "extra.nt"
    figure = "<https://example.org/figure/loaded>"
    extra.write_text(f"{figure} <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> "
                     f"<https://w3id.org/pfocr-kg/vocab#PathwayFigure> .\n"
                     f"{figure} <https://w3id.org/pfocr-kg/vocab#mentionsGene> <https://identifiers.org/ncbigene/7157> .\n"
                     f"{figure} <http://purl.org/dc/terms/isPartOf> <https://identifiers.org/pmc/PMC1> .\n",
                     encoding="utf-8")
    load([extra], store, graph="https://example.org/extra")
    st = open_store(store, read_only=True)
    try:
        by = {q.name: q for q in VARIANTS}
        assert not usable(st, by["top-genes"].counts) and not usable(st, by["summary"].counts)
        assert usable(st, by["figures-per-year"].counts) is False  # a loaded kg:PathwayFigure
    finally:
        del st
    for q in VARIANTS:
        fast_vars, fast, plain_vars, plain = both(store, q)
        assert (fast_vars, fast) == (plain_vars, plain), q.name
    summary = run_query("summary", store=store).rows[0]
    assert summary["figures"].value == str(int(run_query("summary", store=sample_store).rows[0]["figures"].value) + 1)


def test_loaded_graph_without_counted_triples_keeps_the_statistics(tmp_path, sample_store):
    store = tmp_path / "store"
    shutil.copytree(sample_store, store)
    extra = tmp_path / "labels.nt"
    extra.write_text('<https://identifiers.org/ncbigene/7157> <http://www.w3.org/2000/01/rdf-schema#comment> "p53" .\n',
                     encoding="utf-8")
    load([extra], store, graph="https://example.org/labels")
    st = open_store(store, read_only=True)
    try:
        assert all(usable(st, q.counts) for q in VARIANTS)
    finally:
        del st
    for q in VARIANTS:
        fast_vars, fast, plain_vars, plain = both(store, q)
        assert (fast_vars, fast) == (plain_vars, plain), q.name


def test_store_without_statistics_runs_plain_queries(tmp_path, sample_ttl, sample_store):
    store = tmp_path / "loaded"
    load([sample_ttl], store)  # kg load only: no statistics
    st = open_store(store, read_only=True)
    try:
        assert not present(st)
    finally:
        del st
    for q in VARIANTS:
        assert run_query(q.name, store=store).rows == run_query(q.name, store=sample_store).rows, q.name


def test_older_statistics_are_recounted_on_update(tmp_path, sample_store):
    """A store whose bookkeeping holds statistics of another version gets them recounted."""
    import sqlite3

    store = tmp_path / "store"
    shutil.copytree(sample_store, store)
    ledger = next(store.glob("gen-*.sqlite"))
    db = sqlite3.connect(ledger)
    db.execute("DELETE FROM stats WHERE kind IN ('chemical', 'disease', 'total')")
    db.execute("DELETE FROM meta WHERE key = 'statistics'")
    db.commit()
    db.close()
    build([SAMPLE], store=store)
    _statistics_agree(store)
    for q in VARIANTS:
        fast_vars, fast, plain_vars, plain = both(store, q)
        assert (fast_vars, fast) == (plain_vars, plain), q.name
