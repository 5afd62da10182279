"""``kg serve``: the store as a SPARQL 1.1 Protocol endpoint, queried over loopback HTTP."""

from __future__ import annotations

import csv
import io
import json
import shutil
import threading
import urllib.error
import urllib.parse
import urllib.request

import pyoxigraph as ox

from kg.store import query as store_query
import pytest
from SPARQLWrapper import JSON, POST, SPARQLWrapper

from kg.server import make_server
from kg.store import open_store

PER_PREDICATE = "SELECT ?p (COUNT(*) AS ?n) WHERE { ?s ?p ?o } GROUP BY ?p ORDER BY ?p"


def run(server):
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture(scope="module")
def endpoint(sample_store):
    yield from run(make_server(sample_store, "127.0.0.1", 0))


@pytest.fixture(scope="module")
def expected(sample_store) -> dict[str, int]:
    store = open_store(sample_store, read_only=True)
    answer = {r["p"].value: int(r["n"].value) for r in store_query(store, PER_PREDICATE)}
    del store
    return answer


def request(url: str, *, data: bytes | None = None, headers: dict[str, str] | None = None, method: str | None = None):
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data=data, headers=headers or {}, method=method),
                                    timeout=10) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, exc.read()


def get(server, query: str, accept: str | None = None):
    url = server.url + "?" + urllib.parse.urlencode({"query": query})
    return request(url, headers={"Accept": accept} if accept else {})


def test_sparqlwrapper_select_equals_embedded(endpoint, expected):
    for method in (None, POST):
        wrapper = SPARQLWrapper(endpoint.url)
        wrapper.setQuery(PER_PREDICATE)
        wrapper.setReturnFormat(JSON)
        if method:
            wrapper.setMethod(method)
        rows = wrapper.query().convert()["results"]["bindings"]
        assert {r["p"]["value"]: int(r["n"]["value"]) for r in rows} == expected


def test_json_is_the_default(endpoint, expected):
    status, headers, body = get(endpoint, PER_PREDICATE)
    assert status == 200
    assert headers["Content-Type"].startswith("application/sparql-results+json")
    assert headers["Access-Control-Allow-Origin"] == "*"
    rows = json.loads(body)["results"]["bindings"]
    assert {r["p"]["value"]: int(r["n"]["value"]) for r in rows} == expected


def test_csv_tsv_xml(endpoint, expected):
    status, headers, body = get(endpoint, PER_PREDICATE, "text/csv")
    assert status == 200 and headers["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(body.decode("utf-8"))))
    assert {r["p"]: int(r["n"]) for r in rows} == expected
    status, headers, body = get(endpoint, PER_PREDICATE, "text/tab-separated-values")
    assert headers["Content-Type"].startswith("text/tab-separated-values") and body.startswith(b"?p\t?n")
    status, headers, body = get(endpoint, "ASK { ?s ?p ?o }", "application/sparql-results+xml, */*;q=0.1")
    assert headers["Content-Type"].startswith("application/sparql-results+xml") and b"<boolean>true" in body


def test_post_forms_and_direct_body(endpoint, expected):
    form = urllib.parse.urlencode({"query": PER_PREDICATE}).encode()
    for data, kind in ((form, "application/x-www-form-urlencoded"),
                       (PER_PREDICATE.encode(), "application/sparql-query")):
        status, _, body = request(endpoint.url, data=data, headers={"Content-Type": kind, "Accept": "text/csv"})
        assert status == 200
        assert {r["p"]: int(r["n"]) for r in csv.DictReader(io.StringIO(body.decode()))} == expected


def test_construct_as_turtle_and_ntriples(endpoint, sample_store):
    store = open_store(sample_store, read_only=True)
    union = set(store.query("CONSTRUCT WHERE { ?s ?p ?o }"))  # the default graph: kg's graph
    del store
    query = "CONSTRUCT WHERE { ?s ?p ?o }"
    for accept, fmt in ((None, ox.RdfFormat.TURTLE), ("application/n-triples", ox.RdfFormat.N_TRIPLES)):
        status, headers, body = get(endpoint, query, accept)
        assert status == 200 and headers["Content-Type"].startswith(fmt.media_type)
        assert {q.triple for q in ox.parse(body, format=fmt)} == union


def test_bad_query_is_400_one_line(endpoint):
    status, _headers, body = get(endpoint, "SELECT WHERE {")
    assert status == 400
    assert body.decode().count("\n") == 1 and body.startswith(b"SPARQL syntax error")
    assert get(endpoint, "")[0] == 400
    assert request(endpoint.url)[0] == 400  # no query at all
    assert request(endpoint.url.replace("/query", "/nowhere"))[0] == 404


def test_update_refused_when_read_only(endpoint, expected):
    update = b"INSERT DATA { <https://example.org/a> <https://example.org/b> <https://example.org/c> }"
    url = endpoint.url.replace("/query", "/update")
    status, _, body = request(url, data=update, headers={"Content-Type": "application/sparql-update"})
    assert status == 403 and b"read-only" in body
    assert get(endpoint, "ASK { <https://example.org/a> ?p ?o }", "text/csv")[2].strip().endswith(b"false")
    assert request(endpoint.url, method="OPTIONS")[1]["Access-Control-Allow-Origin"] == "*"


def test_writable_server_accepts_updates(sample_store, tmp_path):
    copy = tmp_path / "store"
    shutil.copytree(sample_store, copy)
    for server in run(make_server(copy, "127.0.0.1", 0, writable=True)):
        update = urllib.parse.urlencode({"update": "INSERT DATA { <https://example.org/a> "
                                                   "<https://example.org/b> 'c' }"}).encode()
        status, _, _ = request(server.url.replace("/query", "/update"), data=update)
        assert status == 204
        _, _, body = get(server, "ASK { <https://example.org/a> ?p 'c' }", "text/csv")
        assert body.strip().endswith(b"true")
