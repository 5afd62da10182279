"""Gzipped N-Triples shards (``kg build --format nt --split-lines N``) for bulk loaders."""

from __future__ import annotations

import gzip
import urllib.request

import pyoxigraph as ox
import pytest

from kg.cli import main
from kg.remote import count_triples, push

SHARD_LINES = 1000


@pytest.fixture(scope="module")
def shards(sample_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("shards") / "nt"
    assert main(["build", str(sample_dir), "--format", "nt", "--split-lines", str(SHARD_LINES), "-o", str(out),
                 "--quiet", "--jobs", "1"]) == 0
    return sorted(out.glob("part-*.gz"))


@pytest.fixture(scope="module")
def turtle_triples(sample_ttl) -> set[ox.Triple]:
    return {q.triple for q in ox.parse(path=str(sample_ttl))}


def test_shards_are_gzipped_ntriples_of_bounded_size(shards):
    """At most SHARD_LINES lines each, unless a single figure is bigger than that."""
    assert len(shards) > 1
    assert [p.name for p in shards] == [f"part-{i:05d}.nt.gz" for i in range(len(shards))]
    for path in shards:
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            lines = fh.read().splitlines()
        assert lines and all(line.endswith(" .") for line in lines)
        figures = {line.split(" ", 1)[0] for line in lines if line.split(" ", 1)[0].endswith(".html>")}
        # a figure never straddles two shards, so a figure bigger than a shard gets one alone
        assert len(lines) <= SHARD_LINES or len(figures) == 1, (path.name, len(lines), len(figures))


def test_union_of_shards_equals_turtle_build(shards, turtle_triples):
    union: set[ox.Triple] = set()
    for path in shards:
        with gzip.open(path, "rb") as fh:
            union.update(q.triple for q in ox.parse(fh, format=ox.RdfFormat.N_TRIPLES))
    assert union == turtle_triples


def test_shards_loaded_by_gsp_post_give_the_same_count(oxigraph_server, shards, turtle_triples):
    oxigraph_server.clear()
    try:
        for path in shards:
            request = urllib.request.Request(oxigraph_server.store_endpoint + "?default",
                                             data=gzip.decompress(path.read_bytes()), method="POST",
                                             headers={"Content-Type": "application/n-triples"})
            urllib.request.urlopen(request, timeout=30).close()
        assert count_triples(oxigraph_server.query_endpoint, None) == len(turtle_triples)
        oxigraph_server.clear()
        for path in shards:  # kg push reads gzipped shards too, one append after another
            report = push(path, oxigraph_server.store_endpoint)
        assert report.after == len(turtle_triples)
    finally:
        oxigraph_server.clear()
