"""``kg push`` against a real ``oxigraph serve`` on 127.0.0.1 (no mocks)."""

from __future__ import annotations

import json
import socket
import urllib.parse
import urllib.request

import pyoxigraph as ox
import pytest

import kg.remote
from kg.cli import main
from kg.errors import RemoteError
from kg.remote import derive_query_endpoint, push

GRAPH = "https://example.org/pushed"


@pytest.fixture
def server(oxigraph_server):
    oxigraph_server.clear()
    yield oxigraph_server
    oxigraph_server.clear()


@pytest.fixture(scope="module")
def dump_triples(sample_ttl) -> int:
    return len({q.triple for q in ox.parse(path=str(sample_ttl))})


@pytest.fixture(autouse=True)
def fast_retries(monkeypatch):
    monkeypatch.setattr(kg.remote, "BACKOFF", 0.01)


def count(server, query: str = "SELECT (COUNT(*) AS ?n) { ?s ?p ?o }") -> int:
    url = server.query_endpoint + "?" + urllib.parse.urlencode({"query": query})
    request = urllib.request.Request(url, headers={"Accept": "application/sparql-results+json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return int(json.load(response)["results"]["bindings"][0]["n"]["value"])


def graph_count(server, graph: str) -> int:
    return count(server, f"SELECT (COUNT(*) AS ?n) {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}")


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_push_dump_to_default_graph(server, sample_ttl, dump_triples):
    report = push(sample_ttl, server.store_endpoint)
    assert report.triples == report.after == dump_triples
    assert count(server) == dump_triples  # a plain query (no GRAPH) sees the data
    assert count(server, "SELECT (COUNT(*) AS ?n) { GRAPH ?g { ?s ?p ?o } }") == 0  # no stray named graph
    assert str(report).startswith(f"pushed {dump_triples} triples")


def test_push_store_equals_dump(server, sample_store, dump_triples):
    report = push(sample_store, server.store_endpoint)
    assert report.triples == dump_triples
    assert count(server) == dump_triples


def test_push_twice_changes_nothing(server, sample_ttl, dump_triples):
    push(sample_ttl, server.store_endpoint)
    again = push(sample_ttl, server.store_endpoint)
    assert again.before == again.after == dump_triples
    assert count(server) == dump_triples


def test_push_to_named_graph_only(server, sample_ttl, dump_triples):
    report = push(sample_ttl, server.store_endpoint, graph=GRAPH)
    assert report.after == dump_triples
    assert graph_count(server, GRAPH) == dump_triples
    assert count(server) == 0  # the default graph stays empty
    assert count(server, "SELECT (COUNT(DISTINCT ?g) AS ?n) { GRAPH ?g { } }") == 1


def test_replace_clears_the_target_graph(server, sample_ttl, dump_triples):
    extra = b"<https://example.org/x> <https://example.org/p> <https://example.org/y> .\n"
    request = urllib.request.Request(server.store_endpoint + "?default", data=extra, method="POST",
                                     headers={"Content-Type": "application/n-triples"})
    urllib.request.urlopen(request, timeout=10).close()
    assert push(sample_ttl, server.store_endpoint).after == dump_triples + 1  # append keeps it
    report = push(sample_ttl, server.store_endpoint, replace=True, chunk_triples=1000)
    assert report.chunks > 1
    assert count(server) == dump_triples


def test_update_endpoint(server, sample_store, dump_triples):
    report = push(sample_store, server.query_endpoint, update_endpoint=server.update_endpoint, chunk_triples=2000)
    assert report.chunks == -(-dump_triples // 2000)
    assert count(server) == dump_triples
    named = push(sample_store, server.query_endpoint, update_endpoint=server.update_endpoint, graph=GRAPH,
                 replace=True)
    assert named.after == graph_count(server, GRAPH) == dump_triples
    assert count(server) == dump_triples


def test_small_chunks_same_result(server, sample_ttl, dump_triples):
    report = push(sample_ttl, server.store_endpoint, chunk_triples=500)
    assert report.chunks == -(-dump_triples // 500)
    assert count(server) == dump_triples


def test_gzipped_ntriples_and_nquads(server, sample_store, tmp_path, dump_triples):
    import gzip

    from kg.store import open_store

    store = open_store(sample_store, read_only=True)
    nq = tmp_path / "sample.nq.gz"
    with gzip.open(nq, "wb") as fh:
        store.dump(fh, format=ox.RdfFormat.N_QUADS)
    del store
    report = push(nq, server.store_endpoint)
    assert report.triples == count(server) == dump_triples


def test_derive_query_endpoint():
    assert derive_query_endpoint("http://h:7878/store") == "http://h:7878/query"
    assert derive_query_endpoint("http://h:3030/ds/data") == "http://h:3030/ds/sparql"
    assert derive_query_endpoint("http://h:7200/repositories/kg/statements") == "http://h:7200/repositories/kg"
    assert derive_query_endpoint("http://h/elsewhere") is None


def test_unreachable_endpoint(sample_ttl, capsys):
    url = f"http://127.0.0.1:{closed_port()}/store"
    with pytest.raises(RemoteError, match="cannot reach"):
        push(sample_ttl, url)
    assert main(["push", str(sample_ttl), "--endpoint", url]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("kg: ") and "Traceback" not in err


def test_http_error(server, sample_ttl, capsys):
    url = server.url + "/wrong"
    with pytest.raises(RemoteError, match="HTTP 404: POST /wrong is not supported"):
        push(sample_ttl, url, query_endpoint=server.query_endpoint)
    assert main(["push", str(sample_ttl), "--endpoint", url]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "HTTP 404" in err and "Traceback" not in err


def test_bad_update_is_reported(server, sample_ttl):
    with pytest.raises(RemoteError, match=r"HTTP 4\d\d"):
        push(sample_ttl, server.query_endpoint, update_endpoint=server.query_endpoint)


def test_cli_push(server, sample_store, capsys, dump_triples):
    assert main(["push", "--store", str(sample_store), "--endpoint", server.store_endpoint,
                 "--chunk-triples", "3000"]) == 0
    assert f"pushed {dump_triples} triples" in capsys.readouterr().err
    assert count(server) == dump_triples


class FlakyProxy:
    """A loopback proxy in front of the real server that fails the first requests it gets:
    a dropped connection, then HTTP 503, then forwards everything."""

    def __init__(self, target: str, failures: int = 2):
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        proxy = self
        self.failures = failures
        self.seen = 0

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                proxy.seen += 1
                if proxy.seen == 1 and proxy.failures >= 1:
                    self.close_connection = True  # no answer at all
                    return
                if proxy.seen <= proxy.failures:
                    self.send_response(503)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                request = urllib.request.Request(target + self.path, data=body, method="POST",
                                                 headers={"Content-Type": self.headers["Content-Type"]})
                with urllib.request.urlopen(request, timeout=10) as response:
                    self.send_response(response.status)
                    self.send_header("Content-Length", "0")
                    self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/store"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def test_transient_failures_are_retried(server, sample_ttl, dump_triples):
    proxy = FlakyProxy(server.url, failures=2)
    try:
        report = push(sample_ttl, proxy.url, query_endpoint=server.query_endpoint)
        assert report.requests == 3 and report.chunks == 1
        assert count(server) == dump_triples
        proxy.seen, proxy.failures = 0, kg.remote.ATTEMPTS + 1  # more failures than attempts: give up
        with pytest.raises(RemoteError, match="HTTP 503"):
            push(sample_ttl, proxy.url, query_endpoint=server.query_endpoint)
        assert proxy.seen == kg.remote.ATTEMPTS
    finally:
        proxy.close()


class DripServer:
    """A loopback HTTP server (a real socket) that answers every request one byte a second:
    a status line, headers announcing a large body, then the body, a byte at a time."""

    def __init__(self, interval: float = 1.0):
        import threading

        self.interval = interval
        self.requests: list[bytes] = []
        self.closed = threading.Event()
        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))
        self.socket.listen(8)
        self.url = f"http://127.0.0.1:{self.socket.getsockname()[1]}"
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        import threading

        while True:
            try:
                conn, _ = self.socket.accept()
            except OSError:
                return
            threading.Thread(target=self._drip, args=(conn,), daemon=True).start()

    def _drip(self, conn: socket.socket) -> None:
        import time

        answer = b"HTTP/1.1 200 OK\r\nContent-Type: application/sparql-results+json\r\nContent-Length: 100000\r\n\r\n"
        try:
            self.requests.append(conn.recv(65536).split(b"\r\n", 1)[0])
            for byte in answer + b" " * 100_000:
                conn.sendall(bytes([byte]))
                time.sleep(self.interval)
        except OSError:  # the client hung up: what a bounded request does
            self.closed.set()
        finally:
            conn.close()

    def close(self) -> None:
        self.socket.close()


@pytest.fixture
def drip():
    server = DripServer()
    yield server
    server.close()


def test_timeout_bounds_the_whole_request(drip, sample_ttl, capsys):
    """Each read gets a byte within a second, so a per-read timeout never fires; --timeout 2
    still ends the push after about 2 s (the server would take more than a day)."""
    import time

    started = time.monotonic()
    with pytest.raises(RemoteError, match="did not answer within 2 s"):
        push(sample_ttl, drip.url + "/store", timeout=2)
    assert time.monotonic() - started < 30  # generous: the point is minutes/days vs seconds
    assert drip.closed.wait(10)  # kg hung up on the server
    assert main(["push", str(sample_ttl), "--endpoint", drip.url + "/store", "--timeout", "2"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("kg: ") and "within 2 s" in err and "Traceback" not in err


def test_timeout_bounds_data_requests_and_is_not_retried(drip, server, sample_ttl):
    """The count check answers at once (the real server); the data POST drips: one attempt."""
    import time

    started = time.monotonic()
    with pytest.raises(RemoteError, match=r"POST .*no complete answer within 1\.5 s \(--timeout; not retried\)"):
        push(sample_ttl, drip.url + "/store", query_endpoint=server.query_endpoint, timeout=1.5)
    assert time.monotonic() - started < 30
    assert len(drip.requests) == 1 and drip.requests[0].startswith(b"POST /store?default")
    assert count(server) == 0


# --------------------------------------------------------------------------- kg build --endpoint


def test_build_to_endpoint_sends_what_a_file_build_writes(server, sample_dir, sample_ttl, dump_triples, tmp_path):
    """`kg build SRC --endpoint URL`: the remote sink sends the graph `kg build -o` writes,
    with a store built in the same run; --replace replaces the target graph."""
    from kg.pipeline import build

    report = build([sample_dir], store=tmp_path / "store", endpoint=server.store_endpoint, graph=GRAPH)
    assert report.pushed == dump_triples == graph_count(server, GRAPH)
    assert f"{dump_triples} triples sent to {server.store_endpoint}" in str(report)
    url = server.query_endpoint + "?" + urllib.parse.urlencode({"query": f"CONSTRUCT {{ ?s ?p ?o }} {{ GRAPH <{GRAPH}> {{ ?s ?p ?o }} }}"})
    with urllib.request.urlopen(urllib.request.Request(url, headers={"Accept": "application/n-triples"}), timeout=30) as r:
        sent = {q.triple for q in ox.parse(r.read(), format=ox.RdfFormat.N_TRIPLES)}
    assert sent == {q.triple for q in ox.parse(path=str(sample_ttl))}
    assert main(["build", str(sample_dir), "--endpoint", server.store_endpoint, "--graph", GRAPH, "--replace",
                 "-q"]) == 0
    assert graph_count(server, GRAPH) == dump_triples
    assert not list(tmp_path.glob("kg-push-*"))


def test_build_to_unreachable_endpoint_is_one_line_and_leaves_no_scratch(sample_dir, tmp_path, capsys, monkeypatch):
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    assert main(["build", str(sample_dir), "--endpoint", f"http://127.0.0.1:{closed_port()}/store", "--timeout", "2",
                 "-q"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "cannot reach" in err[0] and "127.0.0.1" in err[0]  # before mapping a record
    assert not list(tmp_path.iterdir())
    assert main(["build", str(sample_dir), "--store", str(tmp_path / "s"), "--graph", GRAPH]) == 2
    assert "--graph goes with --endpoint" in capsys.readouterr().err
    assert main(["build", str(sample_dir), "--endpoint", "ftp://x/store"]) == 2
