"""The sample builds, and the server fixture answers."""

import pytest
import pyoxigraph as ox


def test_sample_builds(sample_ttl):
    triples = list(ox.parse(path=str(sample_ttl)))
    assert len(triples) > 5000


def test_server_answers(oxigraph_server):
    import urllib.request

    with urllib.request.urlopen(oxigraph_server.query_endpoint + "?query=ASK%7B%7D", timeout=5) as r:
        assert b"boolean" in r.read()


def test_api_and_cli_build_the_same(tmp_path, sample_dir):
    """``kg build`` is a thin layer over ``kg.build``: both write the same bytes."""
    import kg
    from kg.cli import main

    api, cli = tmp_path / "api.ttl", tmp_path / "cli.ttl"
    report = kg.build([sample_dir], api)
    assert main(["build", str(sample_dir), "-o", str(cli), "-q", "-j", "1"]) == report.exit_status == 0
    assert api.read_bytes() == cli.read_bytes()
    assert {kg.load, kg.run_query, kg.push, kg.project}  # the documented entry points exist


def test_every_front_matter_field_is_mapped_or_deliberately_dropped(sample_dir):
    """The README promises it: no field of a real record is silently ignored."""
    from conftest import VERSIONS
    from kg.mapping import DROPPED_FIELDS, unmapped_fields
    from kg.records import discover, read_record

    sources = discover([sample_dir, VERSIONS / "older-layout", VERSIONS / "key-order-variant"])
    for source in sources:
        assert unmapped_fields(read_record(source).fields) == [], source.path
    assert set(DROPPED_FIELDS) == {"seo", "annotations"}


def test_progress_bar_only_on_a_terminal(tmp_path, sample_dir):
    """A live bar (records/s, ETA) on an interactive stderr; none when piped or with -q."""
    import fcntl
    import os
    import pty
    import struct
    import subprocess
    import sys
    import termios

    command = [sys.executable, "-m", "kg.cli", "build", str(sample_dir), "-o", str(tmp_path / "x.ttl"), "-j", "1"]
    controller, terminal = pty.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # a 100-column terminal
    run = subprocess.run(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=terminal, timeout=120)
    os.close(terminal)
    shown = b""
    while True:
        try:
            chunk = os.read(controller, 65536)
        except OSError:
            break
        if not chunk:
            break
        shown += chunk
    os.close(controller)
    assert run.returncode == 0
    assert b"rec/s" in shown and b"35/35" in shown
    piped = subprocess.run(command, capture_output=True, timeout=120)
    summary = [line for line in piped.stderr.splitlines() if not line.startswith(b"warning ")]  # row warnings
    assert b"rec/s" not in piped.stderr and len(summary) == 1
    quiet = subprocess.run(command[:-2] + ["-q"], capture_output=True, timeout=120)
    assert b"rec/s" not in quiet.stderr


def test_every_subpackage_is_packaged():
    """A non-editable install must carry every kg subpackage (pyproject lists them by hand)."""
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+

    from conftest import ROOT

    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {"kg." + ".".join(p.parent.relative_to(ROOT / "kg").parts) for p in (ROOT / "kg").rglob("__init__.py")
             if p.parent != ROOT / "kg"}
    assert found <= listed, found - listed
