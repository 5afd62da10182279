"""``kg serve`` under abuse: timeouts, memory, result cap, SERVICE/LOAD, nesting, malformed
requests, dead workers — a real server on 127.0.0.1 over the real sample store."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.parse

import pytest

import kg.server
from kg.errors import QueryError
from kg.query import MAX_NESTING, check_nesting, run_query
from kg.server import keywords_used, make_server
from test_serve import get, request

CARTESIAN = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }"
CHEAP = "ASK { ?s ?p ?o }"
DEEP = "SELECT * WHERE " + "{" * 2218 + " ?s ?p ?o " + "}" * 2218


@pytest.fixture(scope="module")
def limited(sample_store):
    """A server with a short timeout and a small result cap."""
    with make_server(sample_store, "127.0.0.1", 0, timeout=3, max_results=5, workers=2) as server:
        yield server


def one_line(body: bytes) -> str:
    text = body.decode()
    assert text.count("\n") == 1 and text.endswith("\n") and "Traceback" not in text, text
    return text.strip()


def raw(server, data: bytes, wait: float = 10) -> bytes:
    """Send ``data`` on a fresh connection; everything the server answers until it closes or idles."""
    with socket.create_connection((server.host, server.port), timeout=wait) as sock:
        sock.sendall(data)
        chunks = []
        try:
            while chunk := sock.recv(65536):
                chunks.append(chunk)
                if b"\r\n\r\n" in b"".join(chunks):
                    head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
                    length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                                   if line.lower().startswith(b"content-length:")), None)
                    if length is not None and len(body) >= length:
                        break
        except socket.timeout:
            pass
    return b"".join(chunks)


def test_timeout_stops_the_query_and_the_server_still_answers(limited):
    start = time.monotonic()
    status, headers, body = get(limited, CARTESIAN)
    elapsed = time.monotonic() - start
    assert status == 503, body
    assert "ran longer than 3 s" in one_line(body) and elapsed < 3 + 20
    assert get(limited, CHEAP)[0] == 200
    assert limited.pool.replaced >= 1


def test_cheap_queries_answer_while_a_slow_one_runs(limited):
    async def both() -> tuple[int, list[int]]:
        loop = asyncio.get_running_loop()
        slow = loop.run_in_executor(None, get, limited, CARTESIAN)
        await asyncio.sleep(0.5)
        cheap = [await loop.run_in_executor(None, get, limited, f"ASK {{ ?s ?p {i} }}") for i in range(5)]
        return (await slow)[0], [c[0] for c in cheap]

    slow_status, cheap = asyncio.run(both())
    assert slow_status == 503 and cheap == [200] * 5


def test_result_cap_is_marked(limited):
    query = "SELECT ?s ?p ?o WHERE { ?s ?p ?o } LIMIT 50"
    status, headers, body = get(limited, query)
    assert status == 200 and headers["X-KG-Truncated"] == "true" and headers["X-KG-Max-Results"] == "5"
    doc = json.loads(body)
    assert len(doc["results"]["bindings"]) == 5 and doc["kg:truncated"] is True
    status, headers, body = get(limited, query, "text/csv")
    assert headers["X-KG-Truncated"] == "true" and body.decode().count("\r\n") == 6  # header + 5 rows
    _, _, body = get(limited, query, "application/sparql-results+xml")
    assert b"<!-- kg:truncated" in body and body.count(b"<result>") == 5
    status, headers, body = get(limited, "SELECT ?s WHERE { ?s ?p ?o } LIMIT 5")
    assert status == 200 and "X-KG-Truncated" not in headers and "kg:truncated" not in json.loads(body)


def test_service_refused_unless_allowed(limited, sample_store):
    status, _, body = get(limited, "SELECT * WHERE { SERVICE <http://127.0.0.1:9/sparql> { ?s ?p ?o } }")
    assert status == 400 and "SERVICE" in one_line(body) and "--allow-service" in body.decode()
    # the word as a variable, in a string, an IRI or a comment is no SERVICE clause
    assert get(limited, "SELECT ?service WHERE { ?service ?p 'SERVICE' } LIMIT 1 # SERVICE")[0] == 200
    assert get(limited, "ASK { <http://example.org/SERVICE> ?p ?o }")[0] == 200
    assert keywords_used("SELECT * { service <x:y> { ?s ?p ?o } }") == {"SERVICE"}
    assert keywords_used("SELECT ?load { ?load <x:LOAD> 'LOAD' } # LOAD") == set()


def test_load_refused_unless_allowed(sample_store, tmp_path):
    copy = tmp_path / "store"
    shutil.copytree(sample_store, copy)
    with make_server(copy, "127.0.0.1", 0, writable=True) as server:
        url = server.base + "/update"
        status, _, body = request(url, data=b"LOAD <http://127.0.0.1:9/data.ttl>",
                                  headers={"Content-Type": "application/sparql-update"})
        assert status == 400 and "LOAD is disabled" in one_line(body)
        assert get(server, CHEAP)[0] == 200
    with make_server(sample_store, "127.0.0.1", 0) as server:  # read-only: no update at all
        status, _, body = request(server.base + "/update", data=b"LOAD <http://127.0.0.1:9/x>",
                                  headers={"Content-Type": "application/sparql-update"})
        assert status == 403 and "read-only" in one_line(body)
    with pytest.raises(kg.errors.KgError, match="--allow-load needs --writable"):
        kg.server.create_app(sample_store, allow_load=True)


def test_nesting_limit_before_the_parser(limited, sample_store):
    status, _, body = get(limited, DEEP)
    assert status == 400 and "nested deeper than" in one_line(body)
    form = urllib.parse.urlencode({"query": "SELECT * WHERE { FILTER(" + "(" * 3000 + "1" + ")" * 3000 + ") }"})
    status, _, body = request(limited.url, data=form.encode(),
                              headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 400 and "nested deeper than" in one_line(body)
    assert get(limited, CHEAP)[0] == 200  # no crash
    ok = "SELECT * WHERE " + "{" * MAX_NESTING + " ?s ?p ?o " + "}" * MAX_NESTING
    check_nesting(ok)
    check_nesting("SELECT * { ?s ?p '" + "{" * 500 + "' } # " + "(" * 500)  # strings, comments skipped
    with pytest.raises(QueryError, match="nested deeper"):
        check_nesting("SELECT * { ?s ?p ex:a\\#" + "{" * 100)  # an escaped '#' in a name is no comment
    with pytest.raises(QueryError, match="nested deeper"):
        run_query(DEEP, store=sample_store)
    run = subprocess.run([sys.executable, "-m", "kg.cli", "query", DEEP, "--store", str(sample_store)],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 2 and run.stderr.count("\n") == 1 and "nested deeper than" in run.stderr


def test_malformed_requests_get_400(limited):
    for target in ("/sparql?query=%zz", "/sparql?query=%FF%FE", "/sparql?query=ASK%"):
        status, _, body = request(limited.base + target)
        assert status == 400 and one_line(body)
    bad_form = b"query=ASK%7B%7D%"
    status, _, body = request(limited.url, data=bad_form, headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 400 and "percent-encoding" in one_line(body)
    status, _, body = request(limited.url, data=b"\xff\xfe", headers={"Content-Type": "application/sparql-query"})
    assert status == 400 and "UTF-8" in one_line(body)
    status, _, body = request(limited.url, data=b"x", headers={"Content-Type": "image/png"})
    assert status == 415 and one_line(body)
    # a bad Content-Length, a body announced too large: an answer, never a dropped connection
    answer = raw(limited, b"POST /sparql HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\nASK {}")
    assert answer.startswith(b"HTTP/1.1 400")
    answer = raw(limited, b"POST /sparql HTTP/1.1\r\nHost: x\r\nContent-Type: application/sparql-query\r\n"
                          b"Content-Length: 99999999\r\n\r\nASK {}")
    assert answer.startswith(b"HTTP/1.1 413") and b"too large" in answer
    answer = raw(limited, b"GARBAGE\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 400")
    assert get(limited, CHEAP)[0] == 200


def test_slow_headers_are_cut(sample_store, monkeypatch):
    monkeypatch.setattr(kg.server, "HEADER_TIMEOUT", 1.0)
    with make_server(sample_store, "127.0.0.1", 0) as server:
        with socket.create_connection((server.host, server.port), timeout=15) as sock:
            sock.sendall(b"GET /sparql?query=ASK%7B%7D HTTP/1.1\r\nHost: x\r\n")  # never finished
            start = time.monotonic()
            assert sock.recv(100) == b""  # closed by the server
            assert time.monotonic() - start < 10


def test_content_negotiation(limited):
    query = "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o } LIMIT 3"
    for accept, media in (("application/ld+json", "application/ld+json"),
                          ("application/rdf+xml", "application/rdf+xml"),
                          ("text/turtle;q=0.5, application/n-triples", "application/n-triples"),
                          ("text/*", "text/turtle")):
        status, headers, _ = get(limited, query, accept)
        assert status == 200 and headers["Content-Type"].startswith(media), accept
    status, headers, _ = get(limited, "SELECT * { ?s ?p ?o } LIMIT 1", "text/csv;q=0.2, text/tab-separated-values")
    assert headers["Content-Type"].startswith("text/tab-separated-values") and headers["Vary"] == "Accept"
    assert request(limited.base + "/sparql?" + urllib.parse.urlencode({"query": CHEAP}))[0] == 200
    status, headers, _ = request(limited.base + "/sparql", method="OPTIONS")
    assert status == 204 and headers["Access-Control-Allow-Origin"] == "*"
    status, headers, body = request(limited.base + "/sparql?" + urllib.parse.urlencode({"query": CHEAP}),
                                    method="HEAD")
    assert status == 200 and body == b""


def test_worker_death_is_answered_and_recovered(sample_store):
    with make_server(sample_store, "127.0.0.1", 0, timeout=60, workers=1) as server:
        async def killed() -> tuple:
            loop = asyncio.get_running_loop()
            slow = loop.run_in_executor(None, get, server, CARTESIAN)
            deadline = time.monotonic() + 30
            while not server.pool.pids(busy=True):
                assert time.monotonic() < deadline
                await asyncio.sleep(0.1)
            os.kill(server.pool.pids(busy=True)[0], signal.SIGKILL)
            return await slow

        status, _, body = asyncio.run(killed())
        assert status == 500 and "worker died (signal 9)" in one_line(body)
        assert get(server, CHEAP)[0] == 200
        assert server.pool.replaced == 1


def test_memory_cap_stops_a_growing_query(sample_store):
    growing = "SELECT * WHERE { ?a ?b ?c . ?d ?e ?f } ORDER BY ?a ?f"
    with make_server(sample_store, "127.0.0.1", 0, timeout=120, max_memory=400, workers=1) as server:
        status, _, body = get(server, growing)
        assert status == 503 and "more than 400 MB" in one_line(body)
        assert get(server, CHEAP)[0] == 200


def test_sparql_protocol_object_for_the_web_pages(limited):
    """``app.state.sparql``: select (rows as JSON bindings, ASK as one row) and graph (bytes)."""
    sparql = limited.app.state.sparql

    def call(coroutine):
        return asyncio.run_coroutine_threadsafe(coroutine, limited.pool.loop).result(30)

    rows = call(sparql.select("SELECT ?s WHERE { ?s a ?t } LIMIT 2"))
    assert len(rows) == 2 and rows[0]["s"]["type"] == "uri"
    assert call(sparql.select("ASK { ?s ?p ?o }")) == [{"boolean": {"type": "literal", "value": "true"}}]
    body = call(sparql.graph("CONSTRUCT WHERE { ?s ?p ?o } LIMIT 2", "application/n-triples"))
    assert body.count(b" .\n") == 2
    with pytest.raises(kg.errors.QueryTimeout):
        call(sparql.select(CARTESIAN))
    with pytest.raises(kg.errors.KgError, match="syntax error"):
        call(sparql.select("SELECT WHERE {"))
