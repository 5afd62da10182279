"""Shared fixtures: the bundled sample, a built sample graph and store, a real Oxigraph
SPARQL server on 127.0.0.1, and a guard that fails any test reaching beyond loopback."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "examples" / "pfocr-sample"
DATA = Path(__file__).resolve().parent / "data"
VERSIONS = DATA / "pfocr-versions"


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch):
    """No network beyond loopback, ever: a connection elsewhere fails the test."""
    real_connect = socket.socket.connect

    def guarded(self, address):
        host = address[0] if isinstance(address, tuple) else address
        if isinstance(host, str) and not (host.startswith("127.") or host in ("localhost", "::1")) \
                and self.family in (socket.AF_INET, socket.AF_INET6):
            raise AssertionError(f"test tried to reach the network: {address}")
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)


def rapper_check(path: Path, syntax: str = "turtle") -> tuple[int, str]:
    """Parse ``path`` with ``rapper`` (Debian raptor2-utils), an RDF parser independent of
    rdflib and pyoxigraph; returns (triple count, rapper's messages). In CI rapper must be
    there (.ci/run installs it); elsewhere its absence skips the check with a notice."""
    binary = shutil.which("rapper")
    if binary is None:
        if os.environ.get("CI"):
            pytest.fail("rapper is not installed: apt-get install raptor2-utils (see .ci/run)")
        pytest.skip("rapper not installed (apt-get install raptor2-utils); .ci/run installs it")
    run = subprocess.run([binary, "-i", syntax, "-c", str(path)], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    match = re.search(r"Parsing returned (\d+) (?:triples|statements)", run.stderr)
    assert match, run.stderr
    return int(match.group(1)), run.stderr


def store_quads(path: Path) -> set:
    """Every quad of the store at ``path`` (opened read-only, released afterwards)."""
    from kg.store import open_store

    store = open_store(path, read_only=True)
    try:
        return set(store)
    finally:
        del store


@pytest.fixture(scope="session")
def sample_dir() -> Path:
    return SAMPLE


@pytest.fixture(scope="session")
def sample_ttl(tmp_path_factory) -> Path:
    """The bundled sample built once as Turtle."""
    from kg.pipeline import build

    out = tmp_path_factory.mktemp("sample") / "sample.ttl"
    report = build([SAMPLE], out)
    assert report.rejected == 0, report.rejects
    return out


@pytest.fixture(scope="session")
def sample_store(tmp_path_factory) -> Path:
    """The bundled sample built once into an Oxigraph store (read it, don't change it)."""
    from kg.pipeline import build

    store = tmp_path_factory.mktemp("store") / "kg-store"
    report = build([SAMPLE], store=store)
    assert report.rejected == 0, report.rejects
    return store


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class OxigraphServer:
    """``oxigraph serve`` (PyPI package ``oxigraph``) on 127.0.0.1, in-memory."""

    def __init__(self, port: int, process: subprocess.Popen):
        self.port = port
        self.process = process
        self.url = f"http://127.0.0.1:{port}"
        self.query_endpoint = f"{self.url}/query"
        self.update_endpoint = f"{self.url}/update"
        self.store_endpoint = f"{self.url}/store"

    def load_turtle(self, path: Path) -> None:
        """Replace the server's data by a Turtle file, in its default graph."""
        self.clear()
        request = urllib.request.Request(f"{self.store_endpoint}?default", data=path.read_bytes(), method="POST",
                                         headers={"Content-Type": "text/turtle"})
        urllib.request.urlopen(request, timeout=30).close()

    def clear(self) -> None:
        request = urllib.request.Request(self.update_endpoint, data=b"update=CLEAR%20ALL", method="POST",
                                         headers={"Content-Type": "application/x-www-form-urlencoded"})
        urllib.request.urlopen(request, timeout=10).close()


@pytest.fixture(scope="session")
def oxigraph_server(tmp_path_factory):
    """A real SPARQL 1.1 server started for the test session and stopped after it."""
    binary = shutil.which("oxigraph")
    if binary is None:
        pytest.fail("the 'oxigraph' server is not installed: pip install oxigraph (see .ci/run)")
    port = _free_port()
    location = tmp_path_factory.mktemp("oxigraph-server")
    log_path = location.parent / f"{location.name}.log"
    log = open(log_path, "wb")
    process = subprocess.Popen([binary, "serve", "--location", str(location), "--bind", f"127.0.0.1:{port}"],
                               stdout=log, stderr=subprocess.STDOUT)
    server = OxigraphServer(port, process)
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(f"{server.query_endpoint}?query=ASK%7B%7D", timeout=2).close()
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                log.close()
                raise RuntimeError(f"oxigraph serve did not start: {log_path.read_text(errors='replace')[-2000:]}")
            time.sleep(0.2)
    yield server
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
    log.close()
